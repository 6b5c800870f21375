//! Shared measurement helpers for the benchmarks in `benches/` (see
//! `benches/README.md`): run a closure over many samples and report the
//! median cost per item.

use std::time::Instant;

/// Runs `f` (which processes `items` items) `samples` times after a warm-up
/// and returns the median nanoseconds per item.
pub fn ns_per_item(samples: usize, items: u64, mut f: impl FnMut()) -> f64 {
    f();
    let mut v: Vec<f64> = (0..samples.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_nanos() as f64 / items as f64
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
