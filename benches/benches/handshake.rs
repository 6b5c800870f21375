//! The device-plugin handshake, timed (reported against the targets,
//! not a peer: connect-to-fd under 50 µs, `serve` ready under 5 ms per
//! interface).
//!
//! Privileged (root): a namespace with a veth pair; `xa` is served.
//! - `serve` start: `Server::new(&["xa"])` (XSKMAP + program + attach +
//!   listening socket), and the same steps one by one
//!   (`XskMap::create`, `XdpProgram::load_redirect`, `Attachment::link`,
//!   `prepare_netdev`); each timed N times, dropped (detached) in between.
//! - `serve` restart: `Server::new` adopting the attachment a previous
//!   server pinned in a state directory; with `HS_RCU_EXPEDITED=1`, also
//!   `Server::new` with `/sys/kernel/rcu_expedited` set to 1 for the run
//!   (then restored): the attach waits for an RCU grace period.
//! - connect-to-fd: `xskmap_by_handshake` against an in-process `Server`
//!   (on its own thread) over a real Unix socket, the whole exchange,
//!   pipelined (the default) and lockstep; and
//!   the same exchange driven step by step here (`ClientMachine` over
//!   `afxdp_sys::unix`), timing connect, `/connect`, `/version`,
//!   `/xsk_map_fd`, `/fin` and the XSKMAP check; once with the server and
//!   the client free to run on any CPU, once with both on CPU 0 (no
//!   cross-CPU wakeup: on a VM, waking an idle vCPU costs tens of µs).
//!
//! Run: `cargo bench -p afxdp-benches --bench handshake`
//! Environment: HS_CONNECTS (default 2000), HS_STARTS (default 50),
//! HS_RCU_EXPEDITED (1: also time the start with expedited RCU), HS_GAP_US
//! (the pause before each exchange in the second set of runs, default
//! 1000; the first set runs back to back). Connect-to-fd on any CPU runs
//! twice in each set: with the server's `answer_spin` (the default) and
//! without it, for the ratio.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use af_xdp::handshake::server::{PodPolicy, Server, ServerConfig, DEFAULT_ANSWER_SPIN};
use af_xdp::handshake::{xskmap_by_handshake, HandshakeOptions};
use af_xdp::{
    prepare_netdev, Attachment, Netdev, OwnedFd, PrepareOptions, XdpMode, XdpProgram, XskMap,
};
use afxdp_benches::ring::{pin_thread, unpin_thread};
use afxdp_benches::{load_average, Samples};
use afxdp_core::handshake::{
    ClientConfig, ClientEvent, ClientMachine, MAX_REQUEST_LEN, MAX_RESPONSE_LEN,
};
use afxdp_sys::unix::{self, UnixAddr};
use afxdp_testkit::{privileged, unique_path, with_bpffs, NetNs, Veth};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn row(name: &str, s: &Samples, unit: &str, target: Option<f64>) {
    let verdict = match target {
        Some(t) if s.median() <= t => format!("  (target {t} {unit}: met)"),
        Some(t) => format!("  (target {t} {unit}: MISSED)"),
        None => String::new(),
    };
    println!(
        "{name:<34} median {:>9.1}  p99 {:>9.1}  min {:>9.1}  max {:>9.1} {unit}{verdict}",
        s.median(),
        s.quantile(0.99),
        s.min(),
        s.max()
    );
}

/// `/sys/kernel/rcu_expedited` set to 1 while this lives, restored on drop
/// (also when a measurement panics): a machine-wide setting.
struct RcuExpedited(String);

impl RcuExpedited {
    const KNOB: &'static str = "/sys/kernel/rcu_expedited";

    fn set() -> RcuExpedited {
        let before = std::fs::read_to_string(Self::KNOB).expect(Self::KNOB);
        std::fs::write(Self::KNOB, "1").expect(Self::KNOB);
        RcuExpedited(before.trim().to_string())
    }
}

impl Drop for RcuExpedited {
    fn drop(&mut self) {
        if let Err(e) = std::fs::write(Self::KNOB, &self.0) {
            eprintln!("!!! could not restore {} to {}: {e}", Self::KNOB, self.0);
        }
    }
}

/// The start of `serve` for one interface, whole and by steps (ms).
fn starts(n: u64, dir: &Path) {
    let mut whole = Samples::new();
    let mut prep = Samples::new();
    let mut map = Samples::new();
    let mut prog = Samples::new();
    let mut link = Samples::new();
    let mut link_skb = Samples::new();
    let config = || ServerConfig {
        dir: dir.to_path_buf(),
        pods: PodPolicy::Any,
        prepare: PrepareOptions {
            mode: XdpMode::Native,
            ..Default::default()
        },
        ..Default::default()
    };
    drop(Server::new(&["xa"], config()).expect("Server::new (warm-up)"));
    for _ in 0..n {
        let t = Instant::now();
        let server = Server::new(&["xa"], config()).expect("Server::new");
        whole.push(us(t.elapsed()) / 1e3);
        drop(server);

        let t = Instant::now();
        let p = prepare_netdev(
            "xa",
            &PrepareOptions {
                mode: XdpMode::Native,
                ..Default::default()
            },
        )
        .expect("prepare_netdev");
        prep.push(us(t.elapsed()) / 1e3);
        drop(p);

        let t0 = Instant::now();
        let m = XskMap::create(1, "xsks_map").expect("XskMap::create");
        let t1 = Instant::now();
        let pr = XdpProgram::load_redirect(&m, None).expect("load_redirect");
        let t2 = Instant::now();
        let netdev = Netdev::by_name("xa").expect("xa");
        let a = Attachment::link(netdev, pr, XdpMode::Native).expect("Attachment::link");
        let t3 = Instant::now();
        map.push(us(t1 - t0) / 1e3);
        prog.push(us(t2 - t1) / 1e3);
        link.push(us(t3 - t2) / 1e3);
        drop(a);
        // The same attach in generic (skb) mode, for comparison: what the
        // driver's native XDP setup costs.
        let pr = XdpProgram::load_redirect(&m, None).expect("load_redirect");
        let netdev = Netdev::by_name("xa").expect("xa");
        let t = Instant::now();
        let a = Attachment::link(netdev, pr, XdpMode::Skb).expect("Attachment::link (skb)");
        link_skb.push(us(t.elapsed()) / 1e3);
        drop(a);
        drop(m);
    }
    // A restart: the attachment pinned in a state directory by the server
    // before, adopted (`--state-dir`), not attached again.
    let mut adopt = Samples::new();
    with_bpffs(|state| {
        let config = || ServerConfig {
            prepare: PrepareOptions {
                state_dir: Some(state.to_path_buf()),
                ..config().prepare
            },
            ..config()
        };
        let first = Server::new(&["xa"], config()).expect("Server::new (state dir)");
        first.shutdown(true, &mut |_| {}).expect("shutdown, kept");
        for _ in 0..n {
            let t = Instant::now();
            let server = Server::new(&["xa"], config()).expect("Server::new (adopting)");
            adopt.push(us(t.elapsed()) / 1e3);
            server.shutdown(true, &mut |_| {}).expect("shutdown, kept");
        }
        // The last one lets go: detached, unpinned.
        let last = Server::new(&["xa"], config()).expect("Server::new (adopting)");
        last.shutdown(false, &mut |_| {}).expect("shutdown");
    });
    // What the attach waits for: with rcu_expedited, the grace period is
    // expedited (a system-wide setting, so only when asked; restored).
    let mut expedited = Samples::new();
    if std::env::var("HS_RCU_EXPEDITED").is_ok_and(|v| v == "1") {
        let _knob = RcuExpedited::set();
        for _ in 0..n {
            let t = Instant::now();
            let server = Server::new(&["xa"], config()).expect("Server::new");
            expedited.push(us(t.elapsed()) / 1e3);
            drop(server);
        }
    }
    println!("serve start, one interface ({n} times, ms):");
    row(
        "  Server::new (map+prog+attach+listen)",
        &whole,
        "ms",
        Some(5.0),
    );
    row("  prepare_netdev (map+prog+attach)", &prep, "ms", None);
    row("    XskMap::create", &map, "ms", None);
    row("    XdpProgram::load_redirect", &prog, "ms", None);
    row("    Netdev::by_name + Attachment::link", &link, "ms", None);
    row("    (Attachment::link in skb mode)", &link_skb, "ms", None);
    row("  Server::new adopting (restart)", &adopt, "ms", Some(5.0));
    if !expedited.is_empty() {
        row(
            "  Server::new, rcu_expedited=1",
            &expedited,
            "ms",
            Some(5.0),
        );
    }
}

/// The exchange by hand, one step at a time; returns the time of each
/// step (µs) in the order connect, /connect, /version, /xsk_map_fd, /fin,
/// XSKMAP check.
fn exchange_by_steps(sock: &Path) -> [f64; 6] {
    let mut t = [0.0; 6];
    let start = Instant::now();
    let addr = UnixAddr::try_from(sock).expect("socket path");
    let fd = unix::seqpacket().expect("socket");
    unix::connect(fd.as_fd(), &addr).expect("connect");
    t[0] = us(start.elapsed());
    let mut machine =
        ClientMachine::new(ClientConfig::new("bench").map_fd("xa")).expect("client config");
    let mut out = [0u8; MAX_REQUEST_LEN];
    let mut inbuf = [0u8; MAX_RESPONSE_LEN + 1];
    let mut map_fd: Option<OwnedFd> = None;
    let mut step = 1;
    loop {
        let s = Instant::now();
        let Some(req) = machine.next_request(&mut out).expect("request") else {
            break;
        };
        unix::send_msg(fd.as_fd(), &out[..req.len], &[]).expect("send");
        let mut slots: [Option<OwnedFd>; 1] = [None];
        let got = unix::recv_msg(fd.as_fd(), &mut inbuf, &mut slots).expect("receive");
        let ev = machine
            .on_response(&inbuf[..got.len], got.fds_received())
            .expect("answer");
        if ev == ClientEvent::MapReceived {
            map_fd = slots[0].take();
        }
        t[step.min(4)] = us(s.elapsed());
        step += 1;
    }
    let s = Instant::now();
    let map = XskMap::from_fd(map_fd.expect("map fd")).expect("an XSKMAP");
    t[5] = us(s.elapsed());
    drop(map);
    t
}

/// Connect-to-fd, with the server and the client on any CPU (`pin` None)
/// or both on one CPU, the server looking for a connection's next request
/// for `answer_spin` after each answer. Each exchange starts `gap` after the
/// last one ended, against a server asleep in `poll` (as a pod's first
/// connection finds it): without the gap, an exchange would find the
/// server still looking for the previous one's next request.
fn connects(
    n: u64,
    dir: &Path,
    ns: &NetNs,
    pin: Option<usize>,
    answer_spin: Duration,
    gap: Duration,
) {
    let stop = AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        let stop = &stop;
        s.spawn(move || {
            ns.run(move || {
                if let Some(cpu) = pin {
                    pin_thread(cpu);
                }
                let mut server = Server::new(
                    &["xa"],
                    ServerConfig {
                        dir: dir.to_path_buf(),
                        pods: PodPolicy::Any,
                        answer_spin,
                        ..Default::default()
                    },
                )
                .expect("Server::new");
                tx.send(server.socket_path("xa").expect("socket path"))
                    .expect("main thread");
                while !stop.load(Ordering::Relaxed) {
                    server
                        .serve(Duration::from_millis(20), &mut |_| {})
                        .expect("serve");
                }
            })
        });
        let sock = rx.recv().expect("server up");
        if let Some(cpu) = pin {
            pin_thread(cpu);
        }
        let opts = HandshakeOptions {
            hostname: Some("bench".into()),
            ..Default::default()
        };
        let lockstep = HandshakeOptions {
            pipeline: false,
            ..opts.clone()
        };
        for _ in 0..n / 10 {
            xskmap_by_handshake(&sock, "xa", &opts).expect("warm-up");
        }
        let mut whole = Samples::new();
        let mut whole_lockstep = Samples::new();
        let mut by_step: [Samples; 6] = Default::default();
        let mut stepped_total = Samples::new();
        for _ in 0..n {
            std::thread::sleep(gap);
            let t = Instant::now();
            let map = xskmap_by_handshake(&sock, "xa", &opts).expect("handshake");
            whole.push(us(t.elapsed()));
            drop(map);
            std::thread::sleep(gap);
            let t = Instant::now();
            let map = xskmap_by_handshake(&sock, "xa", &lockstep).expect("handshake");
            whole_lockstep.push(us(t.elapsed()));
            drop(map);
            std::thread::sleep(gap);
            let t = Instant::now();
            let steps = exchange_by_steps(&sock);
            stepped_total.push(us(t.elapsed()));
            for (s, v) in by_step.iter_mut().zip(steps) {
                s.push(v);
            }
        }
        stop.store(true, Ordering::Relaxed);
        unpin_thread();
        let spin = answer_spin.as_micros();
        let gap = gap.as_micros();
        match pin {
            None => println!(
                "connect-to-fd over a real Unix socket, server and client on any CPU, server answer_spin {spin} µs ({n} exchanges each, {gap} µs apart, µs):"
            ),
            Some(c) => println!(
                "connect-to-fd over a real Unix socket, server and client both on CPU {c} ({n} exchanges each, {gap} µs apart, µs):"
            ),
        }
        row("  xskmap_by_handshake, pipelined", &whole, "µs", Some(50.0));
        row(
            "  xskmap_by_handshake, lockstep",
            &whole_lockstep,
            "µs",
            Some(50.0),
        );
        row("  lockstep by steps (whole)", &stepped_total, "µs", None);
        let names = [
            "    socket + connect",
            "    /connect -> /host_ok",
            "    /version -> 0.1",
            "    /xsk_map_fd -> /fd_ack + fd",
            "    /fin -> /fin_ack",
            "    XSKMAP check (OBJ_GET_INFO)",
        ];
        for (name, s) in names.iter().zip(&by_step) {
            row(name, s, "µs", None);
        }
    });
}

fn main() {
    if !privileged("handshake benchmark") {
        return;
    }
    let n_conn = env_u64("HS_CONNECTS", 2000).max(1);
    let n_start = env_u64("HS_STARTS", 50).max(1);
    let ns = NetNs::new("hs");
    let _veth = Veth::new(&ns, 1);
    let dir = unique_path("hs-dp");
    println!(
        "handshake: interface xa (veth, 1 queue) in a namespace; load average at start {:.2}",
        load_average()
    );
    ns.run(|| starts(n_start, &dir));
    let spin = DEFAULT_ANSWER_SPIN;
    // Back to back (as DPDK opens one connection per queue, one after
    // another), then each after a pause (a pod's first connection, to a
    // server long asleep: the scheduler then tends to run both on one CPU).
    let gaps = [
        Duration::ZERO,
        Duration::from_micros(env_u64("HS_GAP_US", 1000)),
    ];
    for gap in gaps {
        connects(n_conn, &dir, &ns, None, spin, gap);
        // The same without the server's look for the next request (what
        // it did before `answer_spin`), for the ratio.
        connects(n_conn, &dir, &ns, None, Duration::ZERO, gap);
        // Held to one CPU the server does not spin (it would take turns
        // from the client).
        connects(n_conn, &dir, &ns, Some(0), spin, gap);
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("load average at end {:.2}", load_average());
}
