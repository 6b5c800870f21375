/* The end-to-end benchmark's traffic generator: N copies of one 60-byte
 * Ethernet/IPv4/UDP frame sent on an interface through an AF_PACKET socket,
 * 64 frames per sendmmsg call, as fast as the interface takes them
 * (ENOBUFS/EAGAIN: yield and retry the rest of the batch), or paced at
 * PPS frames per second (a batch of 64 every 64/PPS s; the wait sleeps when
 * it is long and spins the last 50 us).
 *
 *   afxdp-bench-gen IFNAME COUNT DST_MAC SRC_MAC [PPS]
 *
 * Prints one JSON object on stdout:
 *   {"sent":N,"seconds":S,"pps":P,"retries":R}
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_LEN 60
#define BATCH 64

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -1;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* 60 bytes: Ethernet, IPv4 10.0.0.2 -> 10.0.0.1, UDP 1024 -> 9, payload. */
static void build_frame(uint8_t f[FRAME_LEN], const uint8_t dst[6], const uint8_t src[6])
{
	uint8_t *ip = f + 14, *udp = f + 34;
	uint16_t csum;
	int i;

	memset(f, 0, FRAME_LEN);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	ip[0] = 0x45;
	ip[2] = 0;
	ip[3] = FRAME_LEN - 14;
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = 10, ip[13] = 0, ip[14] = 0, ip[15] = 2;
	ip[16] = 10, ip[17] = 0, ip[18] = 0, ip[19] = 1;
	csum = ip_checksum(ip, 20);
	ip[10] = csum >> 8;
	ip[11] = csum & 0xff;
	udp[0] = 1024 >> 8;
	udp[1] = 1024 & 0xff;
	udp[3] = 9;
	udp[5] = FRAME_LEN - 34;
	for (i = 42; i < FRAME_LEN; i++)
		f[i] = (uint8_t)i;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint8_t frame[FRAME_LEN], dst[6], src[6];
	struct mmsghdr msgs[BATCH];
	struct iovec iov;
	struct sockaddr_ll addr;
	unsigned long long count, sent = 0, retries = 0;
	unsigned int ifindex;
	double t0, secs, pps = 0, next;
	int fd, i;

	if ((argc != 5 && argc != 6) || parse_mac(argv[3], dst) || parse_mac(argv[4], src)) {
		fprintf(stderr, "usage: %s IFNAME COUNT DST_MAC SRC_MAC [PPS]\n", argv[0]);
		return 2;
	}
	if (argc == 6) {
		pps = strtod(argv[5], NULL);
		if (!(pps > 0)) {
			fprintf(stderr, "PPS must be a positive number: %s\n", argv[5]);
			return 2;
		}
	}
	count = strtoull(argv[2], NULL, 10);
	ifindex = if_nametoindex(argv[1]);
	if (!ifindex) {
		perror(argv[1]);
		return 1;
	}
	/* Protocol 0: this socket sends and receives nothing. */
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		perror("socket(AF_PACKET)");
		return 1;
	}
	memset(&addr, 0, sizeof(addr));
	addr.sll_family = AF_PACKET;
	addr.sll_ifindex = (int)ifindex;
	addr.sll_halen = 6;
	memcpy(addr.sll_addr, dst, 6);

	build_frame(frame, dst, src);
	iov.iov_base = frame;
	iov.iov_len = FRAME_LEN;
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_name = &addr;
		msgs[i].msg_hdr.msg_namelen = sizeof(addr);
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	t0 = now();
	next = t0;
	while (sent < count) {
		unsigned int want = count - sent < BATCH ? (unsigned int)(count - sent) : BATCH;
		int n;

		if (pps > 0) {
			/* The batch that starts at frame `sent` is due at t0 + sent / pps. */
			next = t0 + sent / pps;
			for (;;) {
				double left = next - now();

				if (left <= 0)
					break;
				if (left > 60e-6) {
					struct timespec ts = {0, (long)((left - 50e-6) * 1e9)};

					nanosleep(&ts, NULL);
				}
			}
		}
		n = sendmmsg(fd, msgs, want, 0);

		if (n < 0) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
				retries++;
				sched_yield();
				continue;
			}
			perror("sendmmsg");
			return 1;
		}
		sent += (unsigned int)n;
	}
	secs = now() - t0;
	printf("{\"sent\":%llu,\"seconds\":%.6f,\"pps\":%.0f,\"retries\":%llu}\n", sent, secs,
	       secs > 0 ? sent / secs : 0.0, retries);
	return 0;
}
