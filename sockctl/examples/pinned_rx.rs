//! An unprivileged receiver: opens the XSKMAP a device-plugin side pinned
//! (what DPDK's `use_pinned_map=1` does), puts its socket in it and counts
//! what arrives. It needs no BPF privilege: only `CAP_NET_RAW` for the
//! AF_XDP socket (and `CAP_IPC_LOCK`, or enough `RLIMIT_MEMLOCK`, for the
//! UMEM).
//!
//! Try it in a namespace (as root, to set things up):
//!
//! ```text
//! ip netns add demo && ip -n demo link add xa type veth peer name xb
//! ip -n demo link set xa up && ip -n demo link set xb up
//! ip netns exec demo sh -c 'mount -t bpf bpf /sys/fs/bpf &&
//!     sockctl prog attach --iface xa --pin /sys/fs/bpf/xa_xsks --json &&
//!     chmod 666 /sys/fs/bpf/xa_xsks &&
//!     setpriv --reuid=65534 --regid=65534 --clear-groups \
//!         --inh-caps=-all,+net_raw,+ipc_lock --ambient-caps=+net_raw,+ipc_lock \
//!         cargo run --example pinned_rx -- xa /sys/fs/bpf/xa_xsks 1000'
//! # and from another shell, send frames into xb (ping -I xb, a packet generator, ...)
//! ```

use std::time::{Duration, Instant};

use af_xdp::{FrameBuf, MapSource, Port, Vdev};

/// What a run received.
#[derive(Debug, Default)]
pub struct Received {
    /// Frames.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
}

/// Receives on queue 0 of `iface` through the XSKMAP pinned at `pin` until
/// `count` frames arrived or nothing came for `idle`.
pub fn run(iface: &str, pin: &str, count: u64, idle: Duration) -> af_xdp::Result<Received> {
    let vdev = Vdev {
        map: MapSource::Pinned(pin.into()),
        busy_budget: 0, // raising it would need CAP_NET_ADMIN
        ..Vdev::new(iface)
    };
    let mut port = Port::open(&vdev)?;
    let mut burst = FrameBuf::with_capacity(64);
    let mut got = Received::default();
    let mut last = Instant::now();
    while got.packets < count && last.elapsed() < idle {
        for q in port.queues_mut() {
            if q.receive(&mut burst) > 0 {
                last = Instant::now();
            }
            for frame in burst.iter() {
                got.packets += 1;
                got.bytes += u64::from(frame.len());
            }
            q.release(&mut burst);
        }
        port.wait(Duration::from_millis(100))?;
    }
    Ok(got)
}

#[allow(dead_code)] // when included by the tests
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 || args[0].starts_with('-') {
        eprintln!("usage: pinned_rx IFACE PINNED_XSKMAP [COUNT]  (see the source for a recipe)");
        std::process::exit(2);
    }
    let count = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(u64::MAX);
    match run(&args[0], &args[1], count, Duration::from_secs(3600)) {
        Ok(r) => println!("received {} frames, {} bytes", r.packets, r.bytes),
        Err(e) => {
            eprintln!("pinned_rx: {e}");
            if let Some(h) = e.hint() {
                eprintln!("hint: {h}");
            }
            std::process::exit(1);
        }
    }
}
