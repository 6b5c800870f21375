//! An L2 forwarder: every frame received goes back out of the same
//! interface with its Ethernet addresses swapped, zero-copy within the
//! UMEM (the received frame is the one sent). Privileged here (it attaches
//! the program); give it `use_pinned_map=1,dp_path=...` to run
//! unprivileged against a device-plugin side.
//!
//! ```text
//! ip netns add demo && ip -n demo link add xa type veth peer name xb
//! ip -n demo link set xa up && ip -n demo link set xb up
//! ip netns exec demo cargo run --example l2fwd -- iface=xa 1000
//! # frames sent into xb come back out of xb, MACs swapped
//! ```

use std::time::{Duration, Instant};

use af_xdp::{FrameBuf, Port, Vdev};

/// Forwards until `count` frames went back out, or nothing moved for
/// `idle`; returns the frames sent back.
pub fn run(vdev: &Vdev, count: u64, idle: Duration) -> af_xdp::Result<u64> {
    let mut port = Port::open(vdev)?;
    let mut burst = FrameBuf::with_capacity(64);
    let mut last = Instant::now();
    while port.counters().tx_packets < count && last.elapsed() < idle {
        for q in port.queues_mut() {
            let n = q.receive(&mut burst);
            let umem = q.umem().clone();
            for frame in burst.iter_mut() {
                let data = umem.data_mut(frame);
                if data.len() >= 12 {
                    let (dst, src) = data.split_at_mut(6);
                    dst.swap_with_slice(&mut src[..6]);
                }
            }
            // What the TX ring cannot take now stays in `burst` for the
            // next round; an empty frame (never received) would be refused.
            let sent = q.transmit(&mut burst).unwrap_or_else(|e| e.sent);
            q.complete();
            if n + sent > 0 {
                last = Instant::now();
            }
        }
        if burst.is_empty() {
            port.wait(Duration::from_millis(10))?;
        }
    }
    Ok(port.counters().tx_packets)
}

#[allow(dead_code)] // when included by the tests
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(vdev) = args.first().and_then(|a| a.parse::<Vdev>().ok()) else {
        eprintln!("usage: l2fwd VDEV_ARGS [COUNT]   e.g. l2fwd iface=eth0,queue_count=2 1000");
        std::process::exit(2);
    };
    let count = args.get(1).and_then(|c| c.parse().ok()).unwrap_or(u64::MAX);
    match run(&vdev, count, Duration::from_secs(3600)) {
        Ok(n) => println!("forwarded {n} frames"),
        Err(e) => {
            eprintln!("l2fwd: {e}");
            if let Some(h) = e.hint() {
                eprintln!("hint: {h}");
            }
            std::process::exit(1);
        }
    }
}
