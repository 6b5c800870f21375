//! Per-descriptor cost of the ring protocol (`afxdp_core::ring`) at batch
//! sizes 1, 16 and 64, against `std::sync::mpsc::sync_channel` (the standard
//! library's bounded channel) measured in the same run.
//!
//! Two measurements:
//! - one thread plays both ends: reserve+write+submit a batch, then
//!   peek+read+release it; this is the cost of the operations themselves;
//! - two threads, a producer and a consumer, move 4M descriptors through a
//!   ring of 2048: this adds the cross-core traffic a real kernel peer
//!   causes.
//!
//! Run: `cargo bench -p afxdp-benches --bench ring`

use std::hint::black_box;
use std::sync::mpsc::sync_channel;

use afxdp_benches::ns_per_item;
use afxdp_core::abi::if_xdp::XdpDesc;
use afxdp_core::ring::{split_slices, RingIndices};

const RING: usize = 2048;
const SAMPLES: usize = 15;

fn desc(i: u64) -> XdpDesc {
    XdpDesc {
        addr: i << 11,
        len: 64,
        options: 0,
    }
}

/// One thread: `rounds` times, produce a batch then consume it.
fn ours_single(batch: u32, rounds: u64) -> f64 {
    let mut idx = RingIndices::new();
    let mut slots = vec![XdpDesc::default(); RING];
    let (mut prod, mut cons, _) = split_slices(&mut idx, &mut slots).unwrap();
    ns_per_item(SAMPLES, rounds * u64::from(batch), || {
        let mut sum = 0u64;
        for r in 0..rounds {
            let mut b = prod.reserve(batch);
            for i in 0..b.len() {
                b.write(i, desc(r + u64::from(i)));
            }
            b.submit();
            let p = cons.peek(batch);
            for i in 0..p.len() {
                sum = sum.wrapping_add(p.read(i).addr);
            }
            p.release();
        }
        black_box(sum);
    })
}

fn mpsc_single(batch: u32, rounds: u64) -> f64 {
    let (tx, rx) = sync_channel::<XdpDesc>(RING);
    ns_per_item(SAMPLES, rounds * u64::from(batch), || {
        let mut sum = 0u64;
        for r in 0..rounds {
            for i in 0..u64::from(batch) {
                tx.try_send(desc(r + i)).unwrap();
            }
            for _ in 0..batch {
                sum = sum.wrapping_add(rx.try_recv().unwrap().addr);
            }
        }
        black_box(sum);
    })
}

/// Two threads move `total` descriptors in batches of `batch`.
fn ours_threads(batch: u32, total: u64) -> f64 {
    ns_per_item(5, total, || {
        let mut idx = RingIndices::new();
        let mut slots = vec![XdpDesc::default(); RING];
        let (mut prod, mut cons, _) = split_slices(&mut idx, &mut slots).unwrap();
        std::thread::scope(|s| {
            s.spawn(move || {
                let mut sent = 0u64;
                while sent < total {
                    let want = (total - sent).min(u64::from(batch)) as u32;
                    let mut b = prod.reserve(want);
                    for i in 0..b.len() {
                        b.write(i, desc(sent + u64::from(i)));
                    }
                    sent += u64::from(b.len());
                    b.submit();
                }
            });
            let mut got = 0u64;
            let mut sum = 0u64;
            while got < total {
                let p = cons.peek(batch);
                for i in 0..p.len() {
                    sum = sum.wrapping_add(p.read(i).addr);
                }
                got += u64::from(p.len());
                p.release();
            }
            black_box(sum);
        });
    })
}

fn mpsc_threads(batch: u32, total: u64) -> f64 {
    ns_per_item(5, total, || {
        let (tx, rx) = sync_channel::<XdpDesc>(RING);
        std::thread::scope(|s| {
            s.spawn(move || {
                for i in 0..total {
                    tx.send(desc(i)).unwrap();
                }
            });
            let mut sum = 0u64;
            let mut got = 0u64;
            while got < total {
                // Receive in the same batch pattern: block for one, then
                // take what is there up to the batch.
                sum = sum.wrapping_add(rx.recv().unwrap().addr);
                got += 1;
                for _ in 1..batch {
                    match rx.try_recv() {
                        Ok(d) => {
                            sum = sum.wrapping_add(d.addr);
                            got += 1;
                        }
                        Err(_) => break,
                    }
                }
            }
            black_box(sum);
        });
    })
}

fn main() {
    println!("ring protocol: ns per descriptor (median of samples); peer: std::sync::mpsc::sync_channel({RING})");
    println!();
    println!("one thread (reserve+write+submit, then peek+read+release):");
    println!(
        "{:>6} {:>12} {:>12} {:>14}",
        "batch", "afxdp ring", "mpsc", "ring / mpsc"
    );
    for batch in [1u32, 16, 64] {
        let rounds = 2_000_000 / u64::from(batch);
        let ours = ours_single(batch, rounds);
        let peer = mpsc_single(batch, rounds);
        println!("{batch:>6} {ours:>12.2} {peer:>12.2} {:>14.3}", ours / peer);
    }
    println!();
    println!("two threads (producer and consumer on different cores, 4M descriptors):");
    println!(
        "{:>6} {:>12} {:>12} {:>14}",
        "batch", "afxdp ring", "mpsc", "ring / mpsc"
    );
    for batch in [1u32, 16, 64] {
        let total = 4_000_000;
        let ours = ours_threads(batch, total);
        let peer = mpsc_threads(batch, total);
        println!("{batch:>6} {ours:>12.2} {peer:>12.2} {:>14.3}", ours / peer);
    }
}
