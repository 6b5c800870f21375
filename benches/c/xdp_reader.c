/* The end-to-end benchmark's libxdp peer: a minimal AF_XDP reader written
 * with libxdp's socket API the way libxdp's and the kernel's samples
 * (xdpsock) write one.
 *
 *   afxdp-bench-xdp-reader IFNAME QUEUE XSKMAP_PIN rxdrop|macswap COUNT [IDLE_SECS]
 *
 * xsk_umem__create + xsk_socket__create with XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD
 * (the program and its XSKMAP are ours, pinned at XSKMAP_PIN), then
 * bpf_obj_get + xsk_socket__update_xskmap. The loop spins; the only system
 * calls are the wakeups the rings ask for (recvfrom when the fill ring has
 * XDP_RING_NEED_WAKEUP set and a round found nothing; sendto to kick TX
 * when the TX ring has it). It stops after COUNT frames, after IDLE_SECS
 * (default 2) without a frame, or on SIGINT/SIGTERM.
 *
 * Writes "ready" on stderr once the socket is in the map, and one JSON
 * object on stdout at the end:
 *   {"rx_packets":N,"tx_packets":N,"rx_dropped":N,"rx_ring_full":N,
 *    "fill_ring_empty":N,"wakeups":N,"seconds":S}
 *
 * Sizes as sockctl's defaults: 4096 frames of 2048 bytes, rings of 2048,
 * bursts of 64.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <xdp/xsk.h>

#define NUM_FRAMES 4096
#define FRAME_SIZE 2048
#define RING_SIZE 2048
#define BATCH 64

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct reader {
	struct xsk_ring_prod fq;
	struct xsk_ring_cons cq;
	struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	uint8_t *area;
	int fd;
	uint64_t rx_packets;
	uint64_t tx_packets;
	uint64_t outstanding;
	uint64_t wakeups;
};

static void wake_rx(struct reader *r)
{
	r->wakeups++;
	recvfrom(r->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

/* Reserves n entries on the fill ring, waking the kernel while it asks. */
static uint32_t reserve_fill(struct reader *r, uint32_t n)
{
	uint32_t idx;

	while (xsk_ring_prod__reserve(&r->fq, n, &idx) != n) {
		if (xsk_ring_prod__needs_wakeup(&r->fq))
			wake_rx(r);
		if (stop)
			exit(1);
	}
	return idx;
}

/* TX completions back to the fill ring; kicks TX when it asks. */
static void complete_tx(struct reader *r)
{
	uint32_t idx_cq, idx_fq, n, i;

	if (!r->outstanding)
		return;
	if (xsk_ring_prod__needs_wakeup(&r->tx)) {
		r->wakeups++;
		sendto(r->fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
	}
	n = xsk_ring_cons__peek(&r->cq, BATCH, &idx_cq);
	if (!n)
		return;
	idx_fq = reserve_fill(r, n);
	for (i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&r->fq, idx_fq + i) =
			*xsk_ring_cons__comp_addr(&r->cq, idx_cq + i);
	xsk_ring_prod__submit(&r->fq, n);
	xsk_ring_cons__release(&r->cq, n);
	r->outstanding -= n;
	r->tx_packets += n;
}

/* One round of rxdrop: what arrived goes straight back to the fill ring. */
static uint32_t rxdrop(struct reader *r)
{
	uint32_t idx_rx, idx_fq, n, i;

	n = xsk_ring_cons__peek(&r->rx, BATCH, &idx_rx);
	if (!n) {
		if (xsk_ring_prod__needs_wakeup(&r->fq))
			wake_rx(r);
		return 0;
	}
	idx_fq = reserve_fill(r, n);
	for (i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&r->fq, idx_fq + i) =
			xsk_ring_cons__rx_desc(&r->rx, idx_rx + i)->addr;
	xsk_ring_prod__submit(&r->fq, n);
	xsk_ring_cons__release(&r->rx, n);
	r->rx_packets += n;
	return n;
}

static void swap_macs(uint8_t *p)
{
	uint8_t t[6];

	memcpy(t, p, 6);
	memcpy(p, p + 6, 6);
	memcpy(p + 6, t, 6);
}

/* One round of macswap: what arrived goes out again with its MACs swapped. */
static uint32_t macswap(struct reader *r)
{
	uint32_t idx_rx, idx_tx, n, i;

	complete_tx(r);
	n = xsk_ring_cons__peek(&r->rx, BATCH, &idx_rx);
	if (!n) {
		if (xsk_ring_prod__needs_wakeup(&r->fq))
			wake_rx(r);
		return 0;
	}
	while (xsk_ring_prod__reserve(&r->tx, n, &idx_tx) != n) {
		complete_tx(r);
		if (stop)
			exit(1);
	}
	for (i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&r->rx, idx_rx + i);
		struct xdp_desc *t = xsk_ring_prod__tx_desc(&r->tx, idx_tx + i);

		swap_macs(xsk_umem__get_data(r->area, d->addr));
		t->addr = d->addr;
		t->len = d->len;
		t->options = 0;
	}
	xsk_ring_prod__submit(&r->tx, n);
	xsk_ring_cons__release(&r->rx, n);
	r->outstanding += n;
	r->rx_packets += n;
	complete_tx(r);
	return n;
}

int main(int argc, char **argv)
{
	struct xsk_umem_config ucfg = {
		.fill_size = RING_SIZE,
		.comp_size = RING_SIZE,
		.frame_size = FRAME_SIZE,
		.frame_headroom = 0,
		.flags = 0,
	};
	struct xsk_socket_config scfg;
	struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
	struct xdp_statistics st;
	socklen_t stlen = sizeof(st);
	struct reader r;
	unsigned long long count;
	double idle_secs = 2.0, start, last, end;
	unsigned int queue;
	uint64_t empty = 0;
	uint32_t idx, i;
	int macswap_mode, map_fd, err;

	if (argc < 6 || argc > 7) {
		fprintf(stderr, "usage: %s IFNAME QUEUE XSKMAP_PIN rxdrop|macswap COUNT [IDLE_SECS]\n",
			argv[0]);
		return 2;
	}
	queue = (unsigned int)strtoul(argv[2], NULL, 10);
	macswap_mode = strcmp(argv[4], "macswap") == 0;
	if (!macswap_mode && strcmp(argv[4], "rxdrop") != 0) {
		fprintf(stderr, "mode %s: rxdrop or macswap\n", argv[4]);
		return 2;
	}
	count = strtoull(argv[5], NULL, 10);
	if (argc == 7)
		idle_secs = strtod(argv[6], NULL);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	setrlimit(RLIMIT_MEMLOCK, &unlimited);

	memset(&r, 0, sizeof(r));
	r.area = mmap(NULL, (size_t)NUM_FRAMES * FRAME_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (r.area == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	err = xsk_umem__create(&r.umem, r.area, (uint64_t)NUM_FRAMES * FRAME_SIZE, &r.fq, &r.cq,
			       &ucfg);
	if (err) {
		fprintf(stderr, "xsk_umem__create: %s\n", strerror(-err));
		return 1;
	}
	memset(&scfg, 0, sizeof(scfg));
	scfg.rx_size = RING_SIZE;
	scfg.tx_size = macswap_mode ? RING_SIZE : 0;
	scfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
	scfg.bind_flags = XDP_USE_NEED_WAKEUP;
	err = xsk_socket__create(&r.xsk, argv[1], queue, r.umem, &r.rx,
				 macswap_mode ? &r.tx : NULL, &scfg);
	if (err) {
		fprintf(stderr, "xsk_socket__create %s queue %u: %s\n", argv[1], queue,
			strerror(-err));
		return 1;
	}
	r.fd = xsk_socket__fd(r.xsk);

	/* Fill the fill ring before the socket goes into the map. */
	if (xsk_ring_prod__reserve(&r.fq, RING_SIZE, &idx) != RING_SIZE) {
		fprintf(stderr, "fill ring: cannot reserve %d\n", RING_SIZE);
		return 1;
	}
	for (i = 0; i < RING_SIZE; i++)
		*xsk_ring_prod__fill_addr(&r.fq, idx + i) = (uint64_t)i * FRAME_SIZE;
	xsk_ring_prod__submit(&r.fq, RING_SIZE);

	map_fd = bpf_obj_get(argv[3]);
	if (map_fd < 0) {
		fprintf(stderr, "bpf_obj_get %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	err = xsk_socket__update_xskmap(r.xsk, map_fd);
	if (err) {
		fprintf(stderr, "xsk_socket__update_xskmap: %s\n", strerror(-err));
		return 1;
	}
	fprintf(stderr, "ready\n");
	fflush(stderr);

	start = last = now();
	while (r.rx_packets < count && !stop) {
		uint32_t n = macswap_mode ? macswap(&r) : rxdrop(&r);

		if (n) {
			empty = 0;
			continue;
		}
		/* Look at the clock only now and then while idle. */
		if (++empty % 1024 == 0) {
			double t = now();

			if (empty == 1024)
				last = t;
			if (t - last > idle_secs)
				break;
		}
	}
	end = now();
	/* Let frames handed to TX finish (bounded), receiving nothing new. */
	while (r.outstanding && now() - end < 1.0)
		complete_tx(&r);

	memset(&st, 0, sizeof(st));
	getsockopt(r.fd, SOL_XDP, XDP_STATISTICS, &st, &stlen);
	printf("{\"rx_packets\":%llu,\"tx_packets\":%llu,\"rx_dropped\":%llu,"
	       "\"rx_ring_full\":%llu,\"fill_ring_empty\":%llu,\"wakeups\":%llu,"
	       "\"seconds\":%.6f}\n",
	       (unsigned long long)r.rx_packets, (unsigned long long)r.tx_packets,
	       (unsigned long long)st.rx_dropped, (unsigned long long)st.rx_ring_full,
	       (unsigned long long)st.rx_fill_ring_empty_descs, (unsigned long long)r.wakeups,
	       end - start);
	fflush(stdout);
	xsk_socket__delete(r.xsk);
	xsk_umem__delete(r.umem);
	return 0;
}
