/* The ring benchmark's libxdp peer: the same workloads as benches/ring.rs
 * runs over afxdp_core::ring, written with libxdp's inline ring functions
 * from <xdp/xsk.h> (reserve/fill_addr/submit, peek/rx_desc/release).
 *
 * The rings are `struct xsk_ring_prod` / `struct xsk_ring_cons` set up by
 * hand over memory the caller gives (plain memory laid out as the kernel
 * lays out a ring, or the mapping of an unbound AF_XDP socket's ring),
 * initialised the way xsk_umem__create and xsk_socket__create do.
 *
 * The "kernel side" of the one-thread workloads is c/kernel_sim.c, called
 * out of line once per batch by every peer alike.
 */
#include <stdint.h>
#include <stdlib.h>
#include <xdp/xsk.h>

#include "bench_ring.h"

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

/* As xsk_umem__create sets up the fill ring: our producer index as it is,
 * the cached consumer index `size` ahead (libxdp's free-space trick). */
static void prod_init(struct xsk_ring_prod *r, const struct bench_ring *m)
{
	r->mask = m->size - 1;
	r->size = m->size;
	r->producer = m->producer;
	r->consumer = m->consumer;
	r->flags = m->flags;
	r->ring = m->desc;
	r->cached_prod = __atomic_load_n(m->producer, __ATOMIC_RELAXED);
	r->cached_cons = __atomic_load_n(m->consumer, __ATOMIC_ACQUIRE) + m->size;
}

/* As xsk_socket__create sets up the RX ring. */
static void cons_init(struct xsk_ring_cons *r, const struct bench_ring *m)
{
	r->mask = m->size - 1;
	r->size = m->size;
	r->producer = m->producer;
	r->consumer = m->consumer;
	r->flags = m->flags;
	r->ring = m->desc;
	r->cached_prod = __atomic_load_n(m->producer, __ATOMIC_ACQUIRE);
	r->cached_cons = __atomic_load_n(m->consumer, __ATOMIC_RELAXED);
}

/* One thread, fill ring: `rounds` times reserve `batch`, write the
 * addresses, submit; then the kernel side consumes them, through its own
 * mapping `km` of the ring (the same as `m` on plain memory). Returns the
 * sum of the addresses the kernel saw (checked by the caller). */
uint64_t afxdp_bench_libxdp_fill_one(const struct bench_ring *m, const struct bench_ring *km,
				     uint32_t batch, uint64_t rounds)
{
	struct xsk_ring_prod fq;
	struct bench_kernel k = {__atomic_load_n(km->consumer, __ATOMIC_RELAXED), 0};
	uint64_t sum = 0, r;

	prod_init(&fq, m);
	for (r = 0; r < rounds; r++) {
		uint32_t idx, i;

		if (xsk_ring_prod__reserve(&fq, batch, &idx) != batch)
			abort();
		for (i = 0; i < batch; i++)
			*xsk_ring_prod__fill_addr(&fq, idx + i) = (r + i) << 11;
		xsk_ring_prod__submit(&fq, batch);
		sum += afxdp_bench_kernel_fill_fn(km, &k);
	}
	return sum;
}

/* One thread, RX ring: the kernel side produces `batch` descriptors through
 * its mapping `km`, then peek, read each descriptor, release. Returns the
 * sum of addr + len read. */
uint64_t afxdp_bench_libxdp_rx_one(const struct bench_ring *m, const struct bench_ring *km,
				   uint32_t batch, uint64_t rounds)
{
	struct xsk_ring_cons rx;
	struct bench_kernel k = {__atomic_load_n(km->producer, __ATOMIC_RELAXED),
				 __atomic_load_n(km->consumer, __ATOMIC_ACQUIRE)};
	uint64_t sum = 0, r;

	cons_init(&rx, m);
	for (r = 0; r < rounds; r++) {
		uint32_t idx, i, n;

		afxdp_bench_kernel_rx_fn(km, &k, batch, r);
		n = xsk_ring_cons__peek(&rx, batch, &idx);
		if (n != batch)
			abort();
		for (i = 0; i < n; i++) {
			const struct xdp_desc *d = xsk_ring_cons__rx_desc(&rx, idx + i);

			sum += d->addr + d->len;
		}
		xsk_ring_cons__release(&rx, n);
	}
	return sum;
}

/* Two threads, fill ring, the user side: produce `total` addresses in
 * batches of up to `batch` while another thread consumes. libxdp's reserve
 * is all or nothing: spin until the whole batch fits. */
uint64_t afxdp_bench_libxdp_fill_user(const struct bench_ring *m, uint32_t batch, uint64_t total)
{
	struct xsk_ring_prod fq;
	uint64_t sent = 0, sum = 0;

	prod_init(&fq, m);
	while (sent < total) {
		uint32_t want = total - sent < batch ? (uint32_t)(total - sent) : batch;
		uint32_t idx, i;

		if (xsk_ring_prod__reserve(&fq, want, &idx) != want) {
			cpu_relax();
			continue;
		}
		for (i = 0; i < want; i++) {
			uint64_t a = (sent + i) << 11;

			*xsk_ring_prod__fill_addr(&fq, idx + i) = a;
			sum += a;
		}
		xsk_ring_prod__submit(&fq, want);
		sent += want;
	}
	return sum;
}

/* Two threads, RX ring, the user side: receive `total` descriptors in
 * batches of up to `batch` while another thread produces them. */
uint64_t afxdp_bench_libxdp_rx_user(const struct bench_ring *m, uint32_t batch, uint64_t total)
{
	struct xsk_ring_cons rx;
	uint64_t got = 0, sum = 0;

	cons_init(&rx, m);
	while (got < total) {
		uint32_t idx, i, n;

		n = xsk_ring_cons__peek(&rx, batch, &idx);
		if (!n) {
			cpu_relax();
			continue;
		}
		for (i = 0; i < n; i++) {
			const struct xdp_desc *d = xsk_ring_cons__rx_desc(&rx, idx + i);

			sum += d->addr + d->len;
		}
		xsk_ring_cons__release(&rx, n);
		got += n;
	}
	return sum;
}
