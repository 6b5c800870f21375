//! `sockctl rx`: open AF_XDP sockets the way DPDK's net_af_xdp does with the
//! same `--vdev` arguments, and forward (rxdrop, macswap, txonly).

use std::time::{Duration, Instant};

use af_xdp::fwd::{Forwarder, FwdMode};
use af_xdp::vdev::{MapSource, Vdev};
use af_xdp::{Counters, Port, PortOptions, WaitPolicy, XdpMode};
use afxdp_sys::signal::{self, SigSet, SIGHUP, SIGINT, SIGTERM};

use crate::args::{flag, opt, parse, Usage};
use crate::json::Object;
use crate::Failure;

const HELP: &str = "\
usage: sockctl rx --vdev 'iface=IF[,start_queue=N][,queue_count=N][,use_cni=1|use_pinned_map=1]
                         [,dp_path=PATH][,force_copy=1][,busy_budget=N][,shared_umem=1]
                         [,mode=drv|skb]'
                  [--fwd rxdrop|macswap|txonly] [--duration SECS] [--count N] [--json]
                  [--mode auto|native|skb] [--batch N] [--wait spin|adaptive|block]
                  [--rate PPS] [--pod-name NAME]

Open AF_XDP sockets on queues start_queue..start_queue+queue_count of IF, as DPDK's
net_af_xdp PMD does with the same arguments (same names, meanings and defaults):
  iface          the interface (required)
  start_queue    first queue (default 0)
  queue_count    number of queues (default 1)
  use_pinned_map open the XSKMAP a device plugin pinned (default path
                 /tmp/afxdp_dp/IF/xsks_map); needs no BPF privilege
  use_cni        get the XSKMAP from a device plugin's socket by the handshake
                 (default /tmp/afxdp_dp/IF/afxdp.sock); needs no BPF privilege
  dp_path        the path for use_pinned_map or use_cni
  force_copy     force copy mode
  busy_budget    preferred busy polling budget (default 64; 0 disables; needs
                 CAP_NET_ADMIN, so a failure is a warning). As in DPDK, a receive
                 that finds nothing then calls recvfrom to drive the kernel: worth
                 it on a NIC set up for it (napi_defer_hard_irqs, gro_flush_timeout),
                 a cost on a veth (see benches/README.md)
  shared_umem    one UMEM for all queues
  mode           XDP attach mode when sockctl attaches the program: drv or skb
                 (sockctl's addition; DPDK has no such argument)
Without use_pinned_map or use_cni, sockctl creates the XSKMAP, loads the redirect program
and attaches it itself (as a BPF link: it is gone when sockctl exits), which needs
CAP_BPF and CAP_NET_ADMIN.

  --fwd       rxdrop (count and recycle, default), macswap (swap MACs and send back),
              txonly (send 64-byte UDP frames)
  --count N   stop after N frames (received; sent for txonly)
  --duration  stop after SECS seconds (a plain decimal: 10, 0.5)
  --json      print the totals as one JSON object on the last line of stdout
              (also tx_kicks: the sendto calls spent making the kernel send, and
              rx_wakeups: the recvfrom calls made on the receiving side)
  --mode      XDP attach mode when sockctl attaches the program (default auto)
  --batch     frames per ring operation (default 64)
  --pod-name  the name sent in the handshake's /connect (default: this host's name)
  --rate PPS  txonly: send at most PPS frames per second, a plain decimal (default: as
              fast as it can)
  --wait      what a round that moved nothing does: spin (keep polling the rings;
              a core busy), block (sleep in poll up to 10 ms), or adaptive (the
              default: spin for 20 ms after the last frame, then block)
Live stats go to stderr every second; SIGINT/SIGTERM stop cleanly. The totals are
rx_packets, rx_bytes, tx_packets, tx_bytes, rx_dropped, rx_ring_full, fill_ring_empty,
seconds, pps.

examples:
  sockctl rx --vdev iface=eth0 --count 100000 --json
  sockctl rx --vdev iface=eth0,queue_count=2 --fwd macswap --duration 10
  sockctl rx --vdev iface=eth0,use_pinned_map=1 --fwd rxdrop
  sockctl rx --vdev iface=eth0,use_cni=1 --count 1000 --json
";

/// How long frames may sit in the TX ring without one completing before
/// txonly gives up (a down interface or peer never completes them).
const TX_STALL: Duration = Duration::from_secs(2);

pub fn main(args: &[String]) -> Result<(), Failure> {
    let p = parse(
        args,
        &[
            opt("vdev"),
            opt("fwd"),
            opt("duration"),
            opt("count"),
            flag("json"),
            opt("mode"),
            opt("batch"),
            opt("pod-name"),
            opt("rate"),
            opt("wait"),
        ],
    )?;
    if p.help {
        out!("{HELP}");
        return Ok(());
    }
    let vdev: Vdev = p
        .required("vdev")?
        .parse()
        .map_err(|e| Usage(format!("--vdev: {e}")))?;
    let fwd: FwdMode = p.get("fwd").unwrap_or("rxdrop").parse().map_err(Usage)?;
    let duration = p.seconds("duration")?;
    if let Some(d) = duration.filter(|d| Instant::now().checked_add(*d).is_none()) {
        return Err(Usage(format!("--duration {}: too long to wait for", d.as_secs())).into());
    }
    let count: Option<u64> = p.number("count")?;
    let mode: XdpMode = p.get("mode").unwrap_or("auto").parse().map_err(Usage)?;
    let batch: usize = p.number("batch")?.unwrap_or(64);
    if batch == 0 || batch > 4096 {
        return Err(Usage("--batch must be between 1 and 4096".into()).into());
    }

    // Block the stop signals before anything else, so that they wait for the
    // loop to see them instead of killing the process mid-way (which would
    // leave nothing behind anyway: the program is held by a link).
    let stop_signals = SigSet::of(&[SIGINT, SIGTERM, SIGHUP]);
    let old_mask = signal::block(stop_signals).ok();
    let rate = p.positive("rate")?;
    if rate.is_some() && fwd != FwdMode::TxOnly {
        return Err(Usage("--rate applies to --fwd txonly".into()).into());
    }
    let wait: WaitPolicy = p.get("wait").unwrap_or("adaptive").parse().map_err(Usage)?;
    let opts = RxOptions {
        wait,
        rate,
        pod_name: p.get("pod-name").map(str::to_string),
        vdev,
        fwd,
        mode,
        batch,
        duration,
        count,
        json: p.flag("json"),
    };
    let result = run(&opts, stop_signals);
    // Take any stop signal that arrived late (during the drain): restoring
    // the mask with one pending would kill the process after its totals.
    while let Ok(Some(_)) = signal::wait_timeout(stop_signals, 0) {}
    if let Some(m) = old_mask {
        let _ = signal::set_mask(m);
    }
    result
}

#[derive(Default)]
struct Totals {
    c: Counters,
    rx_dropped: u64,
    rx_ring_full: u64,
    fill_ring_empty: u64,
    /// System calls spent kicking TX, all queues.
    tx_kicks: u64,
    /// `recvfrom` calls on the receiving side, all queues.
    rx_wakeups: u64,
}

fn totals(port: &Port) -> Totals {
    let mut t = Totals {
        c: port.counters(),
        tx_kicks: port.queues().iter().map(|q| q.tx_kicks()).sum(),
        rx_wakeups: port.queues().iter().map(|q| q.rx_wakeups()).sum(),
        ..Totals::default()
    };
    if let Ok(s) = port.statistics() {
        t.rx_dropped = s.rx_dropped;
        t.rx_ring_full = s.rx_ring_full;
        t.fill_ring_empty = s.rx_fill_ring_empty_descs;
    }
    t
}

/// What `sockctl rx` was asked to do.
struct RxOptions {
    wait: WaitPolicy,
    rate: Option<f64>,
    pod_name: Option<String>,
    vdev: Vdev,
    fwd: FwdMode,
    mode: XdpMode,
    batch: usize,
    duration: Option<Duration>,
    count: Option<u64>,
    json: bool,
}

fn run(o: &RxOptions, stop_signals: SigSet) -> Result<(), Failure> {
    let (vdev, fwd, duration, count) = (&o.vdev, o.fwd, o.duration, o.count);
    let mut port = Port::open_with(
        vdev,
        &PortOptions {
            receive: fwd.receives(),
            attach_mode: o.mode,
            handshake: af_xdp::handshake::HandshakeOptions {
                hostname: o.pod_name.clone(),
                ..Default::default()
            },
            ..PortOptions::default()
        },
    )?;
    if let Some(e) = port.busy_poll_error() {
        errln!("sockctl: warning: {e}; continuing without busy polling");
        if e.kind() == af_xdp::ErrorKind::PermissionDenied {
            errln!("hint: run with CAP_NET_ADMIN, or pass busy_budget=0 to skip it");
        }
    }
    let mut fwds: Vec<Forwarder> = port
        .queues_mut()
        .iter_mut()
        .map(|q| Forwarder::new(q, fwd, o.batch))
        .collect();
    let queues: Vec<String> = vdev.queues().map(|q| q.to_string()).collect();
    errln!(
        "sockctl rx: {} queue{} {} ({}), {fwd}{}{}",
        vdev.iface,
        if queues.len() > 1 { "s" } else { "" },
        queues.join(","),
        match vdev.map {
            MapSource::Load => "program attached by sockctl",
            MapSource::Pinned(_) => "pinned XSKMAP",
            MapSource::Handshake(_) => "device plugin",
        },
        count.map_or(String::new(), |n| format!(", until {n} frames")),
        duration.map_or(String::new(), |d| format!(", for {} s", d.as_secs_f64())),
    );
    if fwd == FwdMode::TxOnly {
        if let Some(n) = count {
            let k = fwds.len() as u64;
            for (i, f) in fwds.iter_mut().enumerate() {
                f.set_tx_budget(n / k + u64::from((i as u64) < n % k));
            }
        }
    }

    let start = Instant::now();
    // Checked when parsed: `start + d` does not overflow.
    let deadline = duration.and_then(|d| start.checked_add(d));
    let mut next_report = start + Duration::from_secs(1);
    let mut last_report = (start, Counters::default());
    let mut rounds = 0u64;
    let mut last_progress = start;
    let mut next_housekeeping = start;
    let done = |c: &Counters| match count {
        Some(n) if fwd == FwdMode::TxOnly => c.tx_packets >= n,
        Some(n) => c.rx_packets >= n,
        None => false,
    };
    let stopped_by;
    let mut failure = None;
    let shares: Vec<u64> = (0..fwds.len() as u64)
        .map(|i| {
            let k = fwds.len() as u64;
            count.map_or(u64::MAX, |n| n / k + u64::from(i < n % k))
        })
        .collect();
    loop {
        if let Some(r) = o.rate {
            // Pace: each queue may have submitted its share of what the
            // rate allows by now.
            let allowed = (r * start.elapsed().as_secs_f64() / fwds.len() as f64) as u64 + 1;
            for (f, share) in fwds.iter_mut().zip(&shares) {
                let target = allowed.min(*share);
                f.set_tx_budget(target.saturating_sub(f.submitted()));
            }
        }
        let mut moved = 0;
        for (f, q) in fwds.iter_mut().zip(port.queues_mut()) {
            moved += f.poll(q);
        }
        rounds += 1;
        if moved > 0 {
            last_progress = Instant::now();
        }
        let now_counters = port.counters();
        if done(&now_counters) {
            stopped_by = "count";
            break;
        }
        // Housekeeping (deadline, signals, stats) at most every millisecond:
        // a spinning loop's idle rounds make no system call of their own.
        let housekeeping = (moved == 0 || rounds.is_multiple_of(1024))
            .then(Instant::now)
            .filter(|now| *now >= next_housekeeping);
        if let Some(now) = housekeeping {
            next_housekeeping = now + Duration::from_millis(1);
            if deadline.is_some_and(|d| now >= d) {
                stopped_by = "duration";
                break;
            }
            // Take (not just look at) a stop signal: one left pending would
            // kill the process when the mask is restored.
            if let Ok(Some(sig)) = signal::wait_timeout(stop_signals, 0) {
                stopped_by = match sig {
                    SIGINT => "SIGINT",
                    SIGTERM => "SIGTERM",
                    _ => "SIGHUP",
                };
                break;
            }
            if now >= next_report {
                let secs = now.duration_since(last_report.0).as_secs_f64();
                let rx_pps = (now_counters.rx_packets - last_report.1.rx_packets) as f64 / secs;
                let tx_pps = (now_counters.tx_packets - last_report.1.tx_packets) as f64 / secs;
                let t = totals(&port);
                errln!(
                    "{:>7.1}s  rx {:>10.0} pps  tx {:>10.0} pps  total rx {}  tx {}  dropped {}  ring_full {}  fill_empty {}",
                    now.duration_since(start).as_secs_f64(),
                    rx_pps,
                    tx_pps,
                    now_counters.rx_packets,
                    now_counters.tx_packets,
                    t.rx_dropped,
                    t.rx_ring_full,
                    t.fill_ring_empty
                );
                last_report = (now, now_counters);
                next_report = now + Duration::from_secs(1);
            }
        }
        if moved == 0 && fwd == FwdMode::TxOnly {
            // Nothing completed and nothing fitted: the TX ring is full.
            // In copy mode the kernel sends only inside a kick (and asks
            // for every one); kick again if it asks, then let it run.
            let mut pending = false;
            for (f, q) in fwds.iter_mut().zip(port.queues_mut()) {
                f.drain_tx(q);
                pending |= q.in_flight_tx() > 0;
            }
            if pending && last_progress.elapsed() > TX_STALL {
                failure = Some(
                    af_xdp::Error::new(
                        af_xdp::ErrorKind::NetworkDown,
                        "transmit",
                        &vdev.iface,
                        format!(
                            "no frame completed for {} s with frames in flight",
                            TX_STALL.as_secs()
                        ),
                    )
                    .with_hint(format!(
                        "is {} up, and is its peer up? (ip link show {})",
                        vdev.iface, vdev.iface
                    )),
                );
                stopped_by = "error";
                break;
            }
            if pending {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_micros(50));
                if let Err(e) = port.check() {
                    failure = Some(e);
                    stopped_by = "error";
                    break;
                }
            }
        }
        if fwd != FwdMode::TxOnly {
            // The waiting policy (allocation-free); it also reports an
            // interface that went away.
            if let Err(e) = port.idle(moved, o.wait) {
                failure = Some(e);
                stopped_by = "error";
                break;
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    // Let frames already handed to TX finish (bounded), without receiving
    // or sending anything new: the totals are those of the run.
    for f in &mut fwds {
        f.stop_tx();
    }
    let drain_until = Instant::now() + Duration::from_secs(1);
    while port.queues().iter().any(|q| q.in_flight_tx() > 0) && Instant::now() < drain_until {
        let mut done = 0;
        for (f, q) in fwds.iter_mut().zip(port.queues_mut()) {
            done += f.drain_tx(q);
        }
        if done == 0 {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    let t = totals(&port);
    let pkts = if fwd == FwdMode::TxOnly {
        t.c.tx_packets
    } else {
        t.c.rx_packets
    };
    let pps = if seconds > 0.0 {
        pkts as f64 / seconds
    } else {
        0.0
    };
    errln!("sockctl rx: stopped by {stopped_by} after {seconds:.3} s");
    if o.json {
        outln!(
            "{}",
            Object::new()
                .str("iface", &vdev.iface)
                .str("fwd", fwd.name())
                .int("rx_packets", t.c.rx_packets)
                .int("rx_bytes", t.c.rx_bytes)
                .int("tx_packets", t.c.tx_packets)
                .int("tx_bytes", t.c.tx_bytes)
                .int("rx_dropped", t.rx_dropped)
                .int("rx_ring_full", t.rx_ring_full)
                .int("fill_ring_empty", t.fill_ring_empty)
                .num("seconds", (seconds * 1000.0).round() / 1000.0)
                .num("pps", pps.round())
                .int("tx_kicks", t.tx_kicks)
                .int("rx_wakeups", t.rx_wakeups)
                .finish()
        );
    } else {
        outln!(
            "rx_packets {} rx_bytes {} tx_packets {} tx_bytes {} rx_dropped {} rx_ring_full {} fill_ring_empty {} seconds {:.3} pps {:.0}",
            t.c.rx_packets,
            t.c.rx_bytes,
            t.c.tx_packets,
            t.c.tx_bytes,
            t.rx_dropped,
            t.rx_ring_full,
            t.fill_ring_empty,
            seconds,
            pps
        );
    }
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}
