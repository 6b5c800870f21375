//! A privileged receiver: creates the XSKMAP, loads the embedded redirect
//! program and attaches it (as a BPF link: it is gone when the program
//! exits, even if killed), opens one AF_XDP socket per queue and counts
//! what arrives on each. What DPDK's `net_af_xdp` does without
//! `use_cni`/`use_pinned_map`. Needs `CAP_BPF` + `CAP_NET_ADMIN` (root).
//!
//! ```text
//! ip netns add demo && ip -n demo link add xa numrxqueues 2 type veth peer name xb numtxqueues 2
//! ip -n demo link set xa up && ip -n demo link set xb up
//! ip netns exec demo cargo run --example privileged_rx -- xa 2 1000
//! # and send frames into xb from another shell
//! ```

use std::time::{Duration, Instant};

use af_xdp::{FrameBuf, Port, Vdev};

/// Receives on queues `0..queues` of `iface` until `count` frames arrived
/// (in all) or nothing came for `idle`; returns the frames per queue.
pub fn run(iface: &str, queues: u32, count: u64, idle: Duration) -> af_xdp::Result<Vec<u64>> {
    let vdev = Vdev {
        queue_count: queues,
        busy_budget: 0,
        ..Vdev::new(iface)
    };
    let mut port = Port::open(&vdev)?;
    println!(
        "prog id {} attached, XSKMAP id {}",
        port.attachment().map_or(0, |a| a.program().id()),
        port.map().id()
    );
    let mut burst = FrameBuf::with_capacity(64);
    let mut per_queue = vec![0u64; port.queues().len()];
    let mut last = Instant::now();
    while per_queue.iter().sum::<u64>() < count && last.elapsed() < idle {
        for (n, q) in per_queue.iter_mut().zip(port.queues_mut()) {
            let k = q.receive(&mut burst) as u64;
            if k > 0 {
                *n += k;
                last = Instant::now();
            }
            q.release(&mut burst);
        }
        port.wait(Duration::from_millis(100))?;
    }
    Ok(per_queue)
}

#[allow(dead_code)] // when included by the tests
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args[0].starts_with('-') {
        eprintln!("usage: privileged_rx IFACE [QUEUES] [COUNT]  (as root; see the source)");
        std::process::exit(2);
    }
    let queues = args.get(1).and_then(|c| c.parse().ok()).unwrap_or(1);
    let count = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(u64::MAX);
    match run(&args[0], queues, count, Duration::from_secs(3600)) {
        Ok(per_queue) => println!("received per queue: {per_queue:?}"),
        Err(e) => {
            eprintln!("privileged_rx: {e}");
            if let Some(h) = e.hint() {
                eprintln!("hint: {h}");
            }
            std::process::exit(1);
        }
    }
}
