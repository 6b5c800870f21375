//! A transmitter: builds `count` UDP frames in the UMEM and sends them from
//! queue 0 of an interface, counting what the kernel completed. A
//! transmit-only port has no RX ring and stays out of the XSKMAP, so frames
//! arriving on the interface still reach the kernel's stack.
//!
//! ```text
//! ip netns add demo && ip -n demo link add xa type veth peer name xb
//! ip -n demo link set xa up && ip -n demo link set xb up
//! ip netns exec demo cargo run --example tx -- xa 1000
//! # ip netns exec demo tcpdump -ni xb udp   shows them arrive
//! ```

use std::time::{Duration, Instant};

use af_xdp::{FrameBuf, Port, PortOptions, Vdev};

/// A 64-byte broadcast UDP frame (198.18.0.1:9 -> 198.18.0.2:9) carrying
/// `seq` in its payload.
pub fn udp_frame(seq: u32) -> [u8; 64] {
    let mut f = af_xdp::fwd::txonly_frame();
    f[42..46].copy_from_slice(&seq.to_be_bytes());
    f
}

/// Sends `count` frames from `iface` (loading the program as root, which a
/// transmit-only port does not need but `Port::open` does without a
/// device-plugin side); returns frames and bytes the kernel completed.
pub fn run(iface: &str, count: u64, timeout: Duration) -> af_xdp::Result<(u64, u64)> {
    let vdev = Vdev {
        busy_budget: 0,
        ..Vdev::new(iface)
    };
    let opts = PortOptions {
        receive: false,
        ..PortOptions::default()
    };
    let mut port = Port::open_with(&vdev, &opts)?;
    let q = &mut port.queues_mut()[0];
    let mut burst = FrameBuf::with_capacity(64);
    let mut next = 0u64;
    let deadline = Instant::now() + timeout;
    while q.counters().tx_packets < count && Instant::now() < deadline {
        let want = (count - next).min(burst.spare() as u64) as usize;
        let got = q.alloc(&mut burst, want);
        let umem = q.umem().clone();
        for frame in burst.iter_mut().rev().take(got) {
            let bytes = udp_frame(next as u32);
            umem.room_mut(frame)[..bytes.len()].copy_from_slice(&bytes);
            frame.set_len(bytes.len() as u32);
            next += 1;
        }
        let sent = q.transmit(&mut burst).unwrap_or_else(|e| e.sent);
        if sent == 0 {
            std::thread::yield_now(); // the TX ring is full: let the kernel send
        }
    }
    let c = q.counters();
    Ok((c.tx_packets, c.tx_bytes))
}

#[allow(dead_code)] // when included by the tests
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args[0].starts_with('-') {
        eprintln!("usage: tx IFACE [COUNT]   (as root; see the source)");
        std::process::exit(2);
    }
    let count = args.get(1).and_then(|c| c.parse().ok()).unwrap_or(1000);
    match run(&args[0], count, Duration::from_secs(30)) {
        Ok((n, bytes)) => println!("sent {n} frames, {bytes} bytes"),
        Err(e) => {
            eprintln!("tx: {e}");
            if let Some(h) = e.hint() {
                eprintln!("hint: {h}");
            }
            std::process::exit(1);
        }
    }
}
