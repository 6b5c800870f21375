//! `sockctl rx`: open AF_XDP sockets the way DPDK's net_af_xdp does with the
//! same `--vdev` arguments, and forward (rxdrop, macswap, txonly).

use std::time::{Duration, Instant};

use afxdp_core::abi::socket::PollFd;
use afxdp_sys::signal::{self, SigSet, SIGHUP, SIGINT, SIGTERM};
use sockctl::fwd::{Counters, FwdMode, Port};
use sockctl::vdev::{MapSource, Vdev, BUSY_POLL_TIMEOUT_US};
use sockctl::{
    Attachment, CopyMode, Error, FrameBuf, Netdev, RingSizes, SocketBuilder, Umem, UmemConfig,
    XdpMode, XdpProgram, XskMap,
};

use crate::args::{flag, opt, parse, Usage};
use crate::json::Object;
use crate::Failure;

const HELP: &str = "\
usage: sockctl rx --vdev 'iface=IF[,start_queue=N][,queue_count=N][,use_cni=1|use_pinned_map=1]
                         [,dp_path=PATH][,force_copy=1][,busy_budget=N][,shared_umem=1]'
                  [--fwd rxdrop|macswap|txonly] [--duration SECS] [--count N] [--json]
                  [--mode auto|native|skb] [--batch N]

Open AF_XDP sockets on queues start_queue..start_queue+queue_count of IF, as DPDK's
net_af_xdp PMD does with the same arguments (same names, meanings and defaults):
  iface          the interface (required)
  start_queue    first queue (default 0)
  queue_count    number of queues (default 1)
  use_pinned_map open the XSKMAP a device plugin pinned (default path
                 /tmp/afxdp_dp/IF/xsks_map); needs no BPF privilege
  use_cni        get the XSKMAP from a device plugin's socket (default
                 /tmp/afxdp_dp/IF/afxdp.sock) [not supported yet]
  dp_path        the path for use_pinned_map or use_cni
  force_copy     force copy mode
  busy_budget    preferred busy polling budget (default 64; 0 disables; needs
                 CAP_NET_ADMIN, so a failure is a warning)
  shared_umem    one UMEM for all queues
  mode           XDP attach mode when sockctl attaches the program: drv or skb
Without use_pinned_map or use_cni, sockctl creates the XSKMAP, loads the redirect program
and attaches it itself (as a BPF link: it is gone when sockctl exits), which needs
CAP_BPF and CAP_NET_ADMIN.

  --fwd       rxdrop (count and recycle, default), macswap (swap MACs and send back),
              txonly (send 64-byte UDP frames)
  --count N   stop after N frames (received; sent for txonly)
  --duration  stop after SECS seconds
  --json      print the totals as one JSON object on the last line of stdout
  --mode      XDP attach mode when sockctl attaches the program (default auto)
  --batch     frames per ring operation (default 64)
Live stats go to stderr every second; SIGINT/SIGTERM stop cleanly. The totals are
rx_packets, rx_bytes, tx_packets, tx_bytes, rx_dropped, rx_ring_full, fill_ring_empty,
seconds, pps.

examples:
  sockctl rx --vdev iface=eth0 --count 100000 --json
  sockctl rx --vdev iface=eth0,queue_count=2 --fwd macswap --duration 10
  sockctl rx --vdev iface=eth0,use_pinned_map=1 --fwd rxdrop
";

/// Frames per socket: DPDK's `ETH_AF_XDP_NUM_BUFFERS` (copy mode), 8 MiB
/// of 2048-byte frames; the fill ring takes half, the rest wait for it or
/// for TX.
const FRAMES_PER_QUEUE: u32 = 4096;

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
    let duration = match p.number::<f64>("duration")? {
        None => None,
        Some(secs) => {
            let d = Duration::try_from_secs_f64(secs)
                .ok()
                .filter(|d| !d.is_zero() && Instant::now().checked_add(*d).is_some())
                .ok_or_else(|| {
                    Usage(format!("--duration {secs}: not a usable number of seconds"))
                })?;
            Some(d)
        }
    };
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
    let opts = RxOptions {
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

struct Setup {
    ports: Vec<Port>,
    /// Keeps the program attached (privileged mode) while the ports run.
    _attachment: Option<Attachment>,
    _map: XskMap,
}

fn setup(vdev: &Vdev, fwd: FwdMode, mode: XdpMode, batch: usize) -> Result<Setup, Error> {
    let dev = Netdev::by_name(&vdev.iface)?;
    let (map, attachment) = match &vdev.map {
        MapSource::Load => {
            let queues = dev.queue_count();
            if vdev.queues().end > queues.count {
                return Err(Error::other(
                    "check queues",
                    &vdev.iface,
                    format!(
                        "queues {}..{} asked for, but the interface has {} (from {})",
                        vdev.start_queue,
                        vdev.queues().end,
                        queues.count,
                        queues.source
                    ),
                ));
            }
            let map = XskMap::create(queues.count, "xsks_map")?;
            let prog = XdpProgram::load_redirect(&map, None)?;
            let att = Attachment::link(dev.clone(), prog, vdev.xdp_mode.unwrap_or(mode))?;
            (map, Some(att))
        }
        MapSource::Pinned(path) => (XskMap::open_pinned(path)?, None),
        MapSource::Handshake(path) => {
            return Err(Error::other(
                "get XSKMAP by handshake",
                path.display(),
                "use_cni=1 is not supported yet",
            )
            .with_hint(
                "use use_pinned_map=1 with a pinned XSKMAP, or run privileged without either",
            ))
        }
    };
    if vdev.queues().end > map.max_entries() {
        return Err(Error::other(
            "check XSKMAP",
            &vdev.iface,
            format!(
                "queues {}..{} do not fit a map of {} entries",
                vdev.start_queue,
                vdev.queues().end,
                map.max_entries()
            ),
        ));
    }
    let sizes = RingSizes {
        rx: if fwd == FwdMode::TxOnly { 0 } else { 2048 },
        ..RingSizes::default()
    };
    let per_queue = FRAMES_PER_QUEUE;
    let copy = if vdev.force_copy {
        CopyMode::Copy
    } else {
        CopyMode::Auto
    };
    let umem_for = |n: u32| {
        let frame_count = per_queue.checked_mul(n).ok_or_else(|| {
            Error::other(
                "configure UMEM",
                &vdev.iface,
                format!("{n} queues of {per_queue} frames do not fit"),
            )
        })?;
        Umem::new(UmemConfig {
            frame_count,
            ..Default::default()
        })
    };
    let shared = if vdev.shared_umem {
        Some(umem_for(vdev.queue_count)?)
    } else {
        None
    };
    let mut shared_frames = shared.as_ref().and_then(Umem::take_frames);

    let mut ports = Vec::new();
    for q in vdev.queues() {
        let umem = match &shared {
            Some(u) => u.clone(),
            None => umem_for(1)?,
        };
        let frames = match shared_frames.as_mut() {
            Some(all) => {
                let mut mine = FrameBuf::with_capacity(per_queue as usize);
                mine.take_from(all, per_queue as usize);
                mine
            }
            None => umem.take_frames().unwrap_or_default(),
        };
        let (sock, queues) = SocketBuilder::new(&umem, &dev, q)
            .ring_sizes(sizes)
            .copy_mode(copy)
            .build()?;
        if vdev.busy_budget > 0 {
            if let Err(e) = sock.set_busy_poll(BUSY_POLL_TIMEOUT_US, vdev.busy_budget) {
                errln!("sockctl: warning: {e}; continuing without busy polling");
            }
        }
        let port = Port::new(sock, queues, frames, fwd, batch);
        // In the map only once its fill ring is filled, and only if it
        // receives: frames redirected to a socket without an RX ring would
        // be lost instead of reaching the stack.
        if fwd != FwdMode::TxOnly {
            map.insert(q, port.socket().as_fd())?;
        }
        ports.push(port);
    }
    Ok(Setup {
        ports,
        _attachment: attachment,
        _map: map,
    })
}

#[derive(Default)]
struct Totals {
    c: Counters,
    rx_dropped: u64,
    rx_ring_full: u64,
    fill_ring_empty: u64,
}

fn totals(ports: &[Port]) -> Totals {
    let mut t = Totals::default();
    for p in ports {
        t.c += p.counters();
        if let Ok(s) = p.statistics() {
            t.rx_dropped += s.rx_dropped;
            t.rx_ring_full += s.rx_ring_full;
            t.fill_ring_empty += s.rx_fill_ring_empty_descs;
        }
    }
    t
}

/// What `sockctl rx` was asked to do.
struct RxOptions {
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
    let mut s = setup(vdev, fwd, o.mode, o.batch)?;
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
            let k = s.ports.len() as u64;
            for (i, p) in s.ports.iter_mut().enumerate() {
                p.set_tx_budget(n / k + u64::from((i as u64) < n % k));
            }
        }
    }

    let start = Instant::now();
    // Checked when parsed: `start + d` does not overflow.
    let deadline = duration.and_then(|d| start.checked_add(d));
    let mut poll_fds: Vec<PollFd> = s.ports.iter().map(|p| p.socket().poll_fd()).collect();
    let mut next_report = start + Duration::from_secs(1);
    let mut last_report = (start, Counters::default());
    let mut rounds = 0u64;
    let done = |c: &Counters| match count {
        Some(n) if fwd == FwdMode::TxOnly => c.tx_packets >= n,
        Some(n) => c.rx_packets >= n,
        None => false,
    };
    let stopped_by;
    loop {
        let mut moved = 0;
        for p in &mut s.ports {
            moved += p.poll();
        }
        rounds += 1;
        let now_counters = s.ports.iter().fold(Counters::default(), |mut a, p| {
            a += p.counters();
            a
        });
        if done(&now_counters) {
            stopped_by = "count";
            break;
        }
        if moved == 0 || rounds.is_multiple_of(1024) {
            let now = Instant::now();
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
                let t = totals(&s.ports);
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
        if moved == 0 {
            if fwd == FwdMode::TxOnly {
                // Nothing completed and nothing fitted: the TX ring is full.
                // In copy mode the kernel sends only inside a kick (and asks
                // for every one); kick again if it asks, then let it run.
                let mut pending = false;
                for p in &mut s.ports {
                    p.drain_tx();
                    pending |= p.in_tx() > 0;
                }
                if pending {
                    std::thread::yield_now();
                } else {
                    std::thread::sleep(Duration::from_micros(50));
                }
            } else {
                // ppoll on the prebuilt list: no allocation, and waking the
                // kernel's RX side is part of what poll does.
                match afxdp_sys::poll::poll(&mut poll_fds, 10) {
                    Ok(_) | Err(afxdp_core::Errno::EINTR) => {}
                    Err(e) => return Err(Error::sys("poll AF_XDP sockets", &vdev.iface, e).into()),
                }
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    // Let frames already handed to TX finish (bounded), without receiving
    // or sending anything new: the totals are those of the run.
    for p in &mut s.ports {
        p.stop_tx();
    }
    let drain_until = Instant::now() + Duration::from_secs(1);
    while s.ports.iter().any(|p| p.in_tx() > 0) && Instant::now() < drain_until {
        let mut done = 0;
        for p in &mut s.ports {
            done += p.drain_tx();
        }
        if done == 0 {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    let t = totals(&s.ports);
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
    Ok(())
}
