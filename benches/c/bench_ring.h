/* Shared by the C sides of the ring benchmark: where one ring lives, and the
 * simulated kernel's own indices. Mirrors `BenchRing` and `BenchKernel` in
 * benches/src/ring.rs. */
#ifndef AFXDP_BENCH_RING_H
#define AFXDP_BENCH_RING_H

#include <stdint.h>

struct bench_ring {
	uint32_t *producer;
	uint32_t *consumer;
	uint32_t *flags;
	void *desc;
	uint32_t size;
};

/* The kernel's side of one ring: its own index (consumer of the fill ring,
 * producer of the RX ring) and its cached view of the other side's. */
struct bench_kernel {
	uint32_t own;
	uint32_t cached;
};

uint64_t afxdp_bench_kernel_fill(const struct bench_ring *m, struct bench_kernel *k);
void afxdp_bench_kernel_rx(const struct bench_ring *m, struct bench_kernel *k, uint32_t n,
			   uint64_t first);

/* The same two functions as the C peer calls them. Rust calls an extern
 * function through the GOT (its address loaded from memory, then an
 * indirect call); the C peer calls through these pointers, which the
 * compiler must load again after every call, so that the call costs every
 * peer the same. */
extern uint64_t (*afxdp_bench_kernel_fill_fn)(const struct bench_ring *m,
					      struct bench_kernel *k);
extern void (*afxdp_bench_kernel_rx_fn)(const struct bench_ring *m, struct bench_kernel *k,
					uint32_t n, uint64_t first);

#endif
