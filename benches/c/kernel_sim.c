/* The simulated kernel side of the one-thread ring workloads, shared by
 * every peer (afxdp_core::ring, libxdp, xdpilone): one out-of-line function
 * per batch, so that all of them pay the same machine code and the same
 * call for it, and only their own ring operations differ.
 *
 * noipa: the callers' compilers may assume nothing about it (GCC would
 * otherwise look into it across the call). */
#include <linux/if_xdp.h>

#include "bench_ring.h"

#if defined(__GNUC__) && !defined(__clang__)
#define BENCH_OPAQUE __attribute__((noipa, noinline))
#else
#define BENCH_OPAQUE __attribute__((noinline))
#endif

/* The kernel consuming the fill ring: everything published (Acquire), the
 * sum of the addresses, its consumer index stored (Release). */
BENCH_OPAQUE uint64_t afxdp_bench_kernel_fill(const struct bench_ring *m, struct bench_kernel *k)
{
	uint32_t prod = __atomic_load_n(m->producer, __ATOMIC_ACQUIRE);
	const uint64_t *ring = m->desc;
	uint32_t mask = m->size - 1;
	uint32_t c = k->own;
	uint64_t sum = 0;

	for (; c != prod; c++)
		sum += ring[c & mask];
	k->own = c;
	__atomic_store_n(m->consumer, c, __ATOMIC_RELEASE);
	return sum;
}

/* The kernel producing n RX descriptors (addresses (first + i) << 11,
 * length 60) into room the one-thread workload always has; it reloads the
 * consumer index (Acquire) only when its cached view is short. */
BENCH_OPAQUE void afxdp_bench_kernel_rx(const struct bench_ring *m, struct bench_kernel *k,
					uint32_t n, uint64_t first)
{
	struct xdp_desc *ring = m->desc;
	uint32_t mask = m->size - 1;
	uint32_t p = k->own;
	uint32_t i;

	if (m->size - (p - k->cached) < n)
		k->cached = __atomic_load_n(m->consumer, __ATOMIC_ACQUIRE);
	for (i = 0; i < n; i++) {
		struct xdp_desc *d = &ring[(p + i) & mask];

		d->addr = (first + i) << 11;
		d->len = 60;
		d->options = 0;
	}
	k->own = p + n;
	__atomic_store_n(m->producer, p + n, __ATOMIC_RELEASE);
}

uint64_t (*afxdp_bench_kernel_fill_fn)(const struct bench_ring *m,
				       struct bench_kernel *k) = afxdp_bench_kernel_fill;
void (*afxdp_bench_kernel_rx_fn)(const struct bench_ring *m, struct bench_kernel *k, uint32_t n,
				 uint64_t first) = afxdp_bench_kernel_rx;
