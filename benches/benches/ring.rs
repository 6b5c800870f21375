//! Per-descriptor cost of the ring protocol: `afxdp_core::ring` against
//! libxdp's inline ring functions (`<xdp/xsk.h>`, compiled by the build
//! script from `c/ring_libxdp.c`) and the `xdpilone` crate, in the same
//! run, on the same workloads (see `benches/src/ring.rs`):
//!
//! - fill: reserve + write address + submit, the kernel side consuming;
//! - RX: the kernel side producing, peek + read descriptor + release;
//!
//! at batch 1, 16 and 64, with the kernel side simulated in the same thread
//! (one thread) or on a second thread (two threads). Samples alternate
//! between the peers round by round; each row gives the median ns per
//! descriptor with [min-max] over the rounds, and the ratio ours / peer
//! (below 1: we are cheaper) as the ratio of medians with [min-max] of the
//! per-round ratios.
//!
//! Run: `cargo bench -p afxdp-benches --bench ring`
//! Environment:
//!   RING_DESCS    descriptors per sample (default 100000000)
//!   RING_ROUNDS   rounds (samples per peer) (default 5)
//!   RING_MEM      `socket` (default when an AF_XDP socket can be made:
//!                 every peer's rings are the kernel's mapping of a never
//!                 bound AF_XDP socket) or `plain` (ours and libxdp over
//!                 plain memory with the kernel's layout; xdpilone, which
//!                 can only map a socket, keeps its socket)
//!   RING_THREADS  `1`, `2` or `both` (default)
//!   RING_BATCHES  comma list of batch sizes (default 1,16,64)
//!   RING_DIRS     `fill`, `rx` or both (default)

use std::hint::black_box;
use std::time::Instant;

use afxdp_benches::ring::{
    libxdp, ours, run_two_threads, Dir, RingMem, Xdpilone, KERNEL_SIDE_IN_C,
};
use afxdp_benches::{load_average, Samples};

const RING: u32 = 2048;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Peer {
    Ours,
    Libxdp,
    Xdpilone,
}

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Ours => "afxdp",
            Peer::Libxdp => "libxdp",
            Peer::Xdpilone => "xdpilone",
        }
    }

    /// Index into `Rings::mem` for the peers over a `RingMem` of their own.
    fn slot(self) -> usize {
        match self {
            Peer::Ours => 0,
            Peer::Libxdp => 1,
            Peer::Xdpilone => usize::MAX,
        }
    }
}

/// Everything the peers run on, made once.
struct Rings {
    /// (fill, RX) of each peer but xdpilone, by `Peer::slot`.
    mem: Vec<(RingMem, RingMem)>,
    xdpilone: Option<Xdpilone>,
}

impl Rings {
    fn mem(&self, peer: Peer, dir: Dir) -> &RingMem {
        if peer == Peer::Xdpilone {
            let x = self.xdpilone.as_ref().unwrap();
            return match dir {
                Dir::Fill => x.fill_mem(),
                Dir::Rx => x.rx_mem(),
            };
        }
        let (f, r) = &self.mem[peer.slot()];
        match dir {
            Dir::Fill => f,
            Dir::Rx => r,
        }
    }

    /// One sample: moves `descs` descriptors; returns the ns per
    /// descriptor and a checksum every peer must agree on.
    fn run(&mut self, peer: Peer, dir: Dir, threads: u32, batch: u32, descs: u64) -> (f64, u64) {
        let batch = black_box(batch);
        let rounds = black_box(descs / u64::from(batch));
        let n = rounds * u64::from(batch);
        let t = Instant::now();
        let sum = if threads == 1 {
            if peer == Peer::Xdpilone {
                let x = self.xdpilone.as_mut().unwrap();
                match dir {
                    Dir::Fill => x.fill_one(batch, rounds),
                    Dir::Rx => x.rx_one(batch, rounds),
                }
            } else {
                let m = self.mem(peer, dir);
                match (peer, dir) {
                    (Peer::Ours, Dir::Fill) => ours::fill_one(m, batch, rounds),
                    (Peer::Ours, Dir::Rx) => ours::rx_one(m, batch, rounds),
                    (_, Dir::Fill) => libxdp::fill_one(m, batch, rounds),
                    (_, Dir::Rx) => libxdp::rx_one(m, batch, rounds),
                }
            }
        } else {
            let (u, k) = match peer {
                Peer::Xdpilone => self.xdpilone.as_mut().unwrap().two_threads(dir, batch, n),
                _ => {
                    let m = self.mem(peer, dir);
                    let user = || match (peer, dir) {
                        (Peer::Ours, Dir::Fill) => ours::fill_user(m, batch, n),
                        (Peer::Ours, Dir::Rx) => ours::rx_user(m, batch, n),
                        (_, Dir::Fill) => libxdp::fill_user(m, batch, n),
                        (_, Dir::Rx) => libxdp::rx_user(m, batch, n),
                    };
                    run_two_threads(m, dir, n, user)
                }
            };
            assert_eq!(
                u,
                k,
                "{} {}: user and kernel sides disagree",
                peer.name(),
                dir.name()
            );
            u
        };
        let ns = t.elapsed().as_nanos() as f64 / n as f64;
        (ns, black_box(sum))
    }
}

fn main() {
    let descs = env_u64("RING_DESCS", 100_000_000);
    let rounds = env_u64("RING_ROUNDS", 5).max(1) as usize;
    let threads: Vec<u32> = match std::env::var("RING_THREADS").as_deref() {
        Ok("1") => vec![1],
        Ok("2") => vec![2],
        _ => vec![1, 2],
    };
    let want_plain = std::env::var("RING_MEM").is_ok_and(|v| v == "plain");
    let batches: Vec<u32> = std::env::var("RING_BATCHES")
        .ok()
        .map(|v| v.split(',').filter_map(|b| b.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 16, 64]);
    let dirs: Vec<Dir> = match std::env::var("RING_DIRS").as_deref() {
        Ok("fill") => vec![Dir::Fill],
        Ok("rx") => vec![Dir::Rx],
        _ => vec![Dir::Fill, Dir::Rx],
    };

    let xdpilone = match Xdpilone::new(RING) {
        Ok(x) => Some(x),
        Err(e) => {
            eprintln!(
                "!!! SKIPPED peer xdpilone: its rings exist only as an AF_XDP socket's mappings, and none could be made ({e}); run as root (CAP_NET_RAW)"
            );
            None
        }
    };
    let socket_mem = |dir| {
        if want_plain {
            return None;
        }
        RingMem::socket(dir, RING).ok()
    };
    let pair = || match (socket_mem(Dir::Fill), socket_mem(Dir::Rx)) {
        (Some(f), Some(r)) => (f, r, true),
        _ => (
            RingMem::plain(Dir::Fill, RING),
            RingMem::plain(Dir::Rx, RING),
            false,
        ),
    };
    let mut mem = Vec::new();
    let mut all_socket = true;
    for _ in 0..2 {
        let (f, r, sock) = pair();
        all_socket &= sock;
        mem.push((f, r));
    }
    let mem_kind = if all_socket {
        "the kernel's mappings of never bound AF_XDP sockets (one per peer and ring)"
    } else {
        "plain memory with the kernel's ring layout (xdpilone: its socket's mappings)"
    };
    let mut rings = Rings { mem, xdpilone };
    let mut peers = vec![Peer::Ours];
    if libxdp::AVAILABLE {
        peers.push(Peer::Libxdp);
    } else {
        eprintln!("!!! SKIPPED peer libxdp: the build script found no <xdp/xsk.h> (install libxdp-dev); see the build warning");
    }
    if rings.xdpilone.is_some() {
        peers.push(Peer::Xdpilone);
    }

    println!("ring protocol: ns per descriptor, median [min-max] over {rounds} alternating rounds of {descs} descriptors");
    println!(
        "ring of {RING} entries in {mem_kind}; load average at start {:.2}",
        load_average()
    );
    println!("ratio = afxdp / peer (below 1: afxdp is cheaper); ratio of medians [min-max of per-round ratios]");
    for &th in &threads {
        println!();
        match th {
            1 => println!(
                "one thread (the kernel side simulated in the same thread, a batch at a time, by {}):",
                if KERNEL_SIDE_IN_C {
                    "one out-of-line C function shared by every peer (c/kernel_sim.c)"
                } else {
                    "the Rust copy in benches/src/ring.rs (no C compiler)"
                }
            ),
            _ => println!("two threads (user side on CPU 0; the kernel side on CPU 1, 64 entries per poll as NAPI):"),
        }
        print!("{:<5} {:>5}", "ring", "batch");
        for p in &peers {
            print!(" {:>22}", p.name());
        }
        for p in &peers[1..] {
            print!(" {:>24}", format!("afxdp/{}", p.name()));
        }
        println!();
        for &dir in &dirs {
            for &batch in &batches {
                // Warm-up: every peer once, a tenth of the work.
                let mut check = None;
                for &p in &peers {
                    let (_, sum) = rings.run(p, dir, th, batch, descs / 10);
                    if th == 1 {
                        assert_eq!(
                            *check.get_or_insert(sum),
                            sum,
                            "{} computed another sum",
                            p.name()
                        );
                    }
                }
                let mut samples = vec![Samples::new(); peers.len()];
                let mut ratios = vec![Samples::new(); peers.len()];
                for round in 0..rounds {
                    let mut this = vec![0.0; peers.len()];
                    for k in 0..peers.len() {
                        let i = (round + k) % peers.len();
                        let (ns, _) = rings.run(peers[i], dir, th, batch, descs);
                        this[i] = ns;
                        samples[i].push(ns);
                    }
                    for i in 1..peers.len() {
                        ratios[i].push(this[0] / this[i]);
                    }
                }
                print!("{:<5} {batch:>5}", dir.name());
                for s in &samples {
                    print!(" {:>22}", s.range(3));
                }
                for i in 1..peers.len() {
                    print!(
                        " {:>24}",
                        format!(
                            "{:.2} [{:.2}-{:.2}]",
                            samples[0].median() / samples[i].median(),
                            ratios[i].min(),
                            ratios[i].max()
                        )
                    );
                }
                println!();
            }
        }
    }
    println!();
    println!("load average at end {:.2}", load_average());
}
