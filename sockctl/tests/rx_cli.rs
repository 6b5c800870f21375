//! `sockctl rx` end to end, in a namespace with a veth pair: rxdrop counts
//! exactly what the peer sent, macswap sends it back with swapped MACs,
//! txonly sends what it was asked to, a pinned XSKMAP works without loading
//! anything, SIGTERM stops cleanly, and bad `--vdev` strings are usage errors.

use std::process::{Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use afxdp_testkit::frames::udp_frame;
use afxdp_testkit::packet::{send_paced, PacketSocket};
use afxdp_testkit::process::lines;
use afxdp_testkit::{privileged, serial, with_bpffs, ChildGuard, NetNs, Veth};
use serde_json::Value;

const SOCKCTL: &str = env!("CARGO_BIN_EXE_sockctl");

/// A running `sockctl rx` (killed and reaped on drop), with its stderr
/// watched for the line that says the sockets are set up.
struct Rx {
    child: ChildGuard,
    stderr: mpsc::Receiver<String>,
}

impl Rx {
    fn start(ns: &NetNs, args: &[&str]) -> Rx {
        let mut child = ChildGuard::new(
            ns.command(SOCKCTL)
                .arg("rx")
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn sockctl rx"),
        );
        let stderr = lines(child.stderr.take().unwrap());
        let mut me = Rx { child, stderr };
        me.wait_ready();
        me
    }

    fn wait_ready(&mut self) {
        let mut seen = Vec::new();
        loop {
            match self.stderr.recv_timeout(Duration::from_secs(20)) {
                Ok(l) if l.starts_with("sockctl rx: ") => return,
                Ok(l) => seen.push(l),
                Err(_) => panic!("sockctl rx did not start; stderr:\n{}", seen.join("\n")),
            }
        }
    }

    /// Waits for exit (at most 60 s) and returns (status, last stdout line).
    fn finish(mut self) -> (std::process::ExitStatus, String) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                let mut out = String::new();
                use std::io::Read;
                self.child
                    .stdout
                    .take()
                    .unwrap()
                    .read_to_string(&mut out)
                    .unwrap();
                return (st, out.lines().last().unwrap_or("").to_string());
            }
            if std::time::Instant::now() > deadline {
                panic!("sockctl rx did not stop");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Parses the `--json` line: one JSON object.
fn json(line: &str) -> Value {
    let v: Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"));
    assert!(v.is_object(), "not a JSON object: {line}");
    v
}

/// An unsigned integer field of the `--json` object.
fn field(v: &Value, k: &str) -> u64 {
    v[k].as_u64()
        .unwrap_or_else(|| panic!("no unsigned integer {k} in {v}"))
}

fn frames(n: u32, len: impl Fn(u32) -> usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| udp_frame(Veth::MAC_B, Veth::MAC_A, i, (i % 64) as u16, len(i)))
        .collect()
}

fn sockctl(ns: &NetNs, args: &[&str]) -> Output {
    ns.command(SOCKCTL).args(args).output().unwrap()
}

#[test]
fn rxdrop_receives_exactly_the_frames_the_peer_sent() {
    if !privileged("rxdrop_receives_exactly_the_frames_the_peer_sent") {
        return;
    }
    let _serial = serial();
    const N: u32 = 100_000;
    let ns = NetNs::new("rxcli");
    let veth = Veth::new(&ns, 1);
    let rx = Rx::start(
        &ns,
        &[
            "--vdev", "iface=xa", "--fwd", "rxdrop", "--count", "100000", "--json",
        ],
    );
    let link = ns.ip(&["link", "show", "xa"]);
    assert!(
        link.contains("prog/xdp"),
        "the program is attached while rx runs: {link}"
    );
    let out = frames(N, |i| 60 + (i as usize % 200));
    let bytes: u64 = out.iter().map(|f| f.len() as u64).sum();
    ns.run(|| send_paced(&veth.b, &out, 32, Duration::from_micros(400)).unwrap());
    let (status, line) = rx.finish();
    assert!(status.success(), "{status}");
    let json = json(&line);
    assert_eq!(field(&json, "rx_packets"), u64::from(N), "{json}");
    assert_eq!(field(&json, "rx_bytes"), bytes);
    assert_eq!(field(&json, "tx_packets"), 0);
    assert_eq!(field(&json, "tx_bytes"), 0);
    assert_eq!(field(&json, "rx_dropped"), 0);
    assert_eq!(field(&json, "rx_ring_full"), 0);
    field(&json, "fill_ring_empty");
    assert_eq!(field(&json, "tx_kicks"), 0, "rxdrop sends nothing: {json}");
    // busy_budget is 64 by default when sockctl attaches the program
    // itself: receives that found nothing drove the kernel's busy polling.
    assert!(field(&json, "rx_wakeups") > 0, "{json}");
    assert_eq!(json["iface"].as_str(), Some("xa"), "{json}");
    assert_eq!(json["fwd"].as_str(), Some("rxdrop"), "{json}");
    let seconds = json["seconds"].as_f64().expect("seconds is a number");
    let pps = json["pps"].as_f64().expect("pps is a number");
    assert!(seconds > 0.0 && pps > 0.0, "{json}");
    // pps is rx_packets over the run's seconds (both rounded when printed).
    let expect = N as f64 / seconds;
    assert!(
        (pps - expect).abs() <= expect * 0.01 + 1.0,
        "pps {pps} vs {expect}: {json}"
    );
    assert!(
        !ns.ip(&["link", "show", "xa"]).contains("prog/xdp"),
        "nothing left attached"
    );
}

#[test]
fn macswap_sends_every_frame_back_with_swapped_macs() {
    if !privileged("macswap_sends_every_frame_back_with_swapped_macs") {
        return;
    }
    let _serial = serial();
    const N: u32 = 5_000;
    let ns = NetNs::new("macswap");
    let veth = Veth::new(&ns, 1);
    let rx = Rx::start(
        &ns,
        &[
            "--vdev", "iface=xa", "--fwd", "macswap", "--count", "5000", "--json",
        ],
    );
    let out = frames(N, |i| 64 + (i as usize % 900));
    let back = ns.run(|| {
        let capture = PacketSocket::bind(&veth.b).unwrap();
        send_paced(&veth.b, &out, 32, Duration::from_micros(500)).unwrap();
        capture.drain(Duration::from_millis(500)).unwrap()
    });
    let (status, line) = rx.finish();
    assert!(status.success());
    let json = json(&line);
    let bytes: u64 = out.iter().map(|f| f.len() as u64).sum();
    assert_eq!(json["fwd"].as_str(), Some("macswap"), "{json}");
    assert_eq!(field(&json, "rx_packets"), u64::from(N), "{json}");
    assert_eq!(field(&json, "tx_packets"), u64::from(N), "{json}");
    assert_eq!(field(&json, "rx_bytes"), bytes, "{json}");
    assert_eq!(field(&json, "tx_bytes"), bytes, "{json}");
    // Copy mode sends at most 32 frames a kick; no kick goes without
    // something waiting in the TX ring (idle rounds do not kick).
    let kicks = field(&json, "tx_kicks");
    assert!(
        kicks >= u64::from(N).div_ceil(32) && kicks <= 2 * u64::from(N),
        "tx_kicks {kicks} for {N} frames: {json}"
    );
    assert_eq!(back.len(), N as usize, "the peer got every frame back");
    for (i, f) in back.iter().enumerate() {
        let mut want = out[i].clone();
        let (d, s) = want.split_at_mut(6);
        d.swap_with_slice(&mut s[..6]);
        assert_eq!(f, &want, "frame {i}: MACs swapped, the rest untouched");
    }
}

#[test]
fn txonly_sends_the_frames_it_was_asked_for() {
    if !privileged("txonly_sends_the_frames_it_was_asked_for") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("txonly");
    let veth = Veth::new(&ns, 1);
    let capture = ns.run(|| PacketSocket::bind(&veth.b).unwrap());
    let rx = Rx::start(
        &ns,
        &[
            "--vdev", "iface=xa", "--fwd", "txonly", "--count", "3000", "--json",
        ],
    );
    let (status, line) = rx.finish();
    assert!(status.success());
    let json = json(&line);
    assert_eq!(json["fwd"].as_str(), Some("txonly"), "{json}");
    assert_eq!(field(&json, "tx_packets"), 3000, "{json}");
    assert_eq!(field(&json, "tx_bytes"), 3000 * 64);
    assert_eq!(field(&json, "rx_packets"), 0, "{json}");
    let got = capture.drain(Duration::from_millis(300)).unwrap();
    assert_eq!(got.len(), 3000);
    assert!(
        got.iter().all(|f| f.len() == 64 && f[23] == 17),
        "64-byte UDP frames"
    );
}

#[test]
fn a_pinned_xskmap_serves_a_client_that_loads_nothing() {
    if !privileged("a_pinned_xskmap_serves_a_client_that_loads_nothing") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("pinned");
    let veth = Veth::new(&ns, 1);
    with_bpffs(|dir| {
        // Processes started from this thread see its private bpffs.
        let pin = dir.join("xsks_map");
        let pin = pin.to_str().unwrap();
        let out = sockctl(
            &ns,
            &["prog", "attach", "--iface", "xa", "--pin", pin, "--json"],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let attached = json(String::from_utf8_lossy(&out.stdout).lines().last().unwrap());
        let prog_before = field(&attached, "prog_id");
        assert_eq!(field(&attached, "map_entries"), 1, "{attached}");
        let vdev = format!("iface=xa,use_pinned_map=1,dp_path={pin}");
        let rx = Rx::start(&ns, &["--vdev", &vdev, "--count", "1000", "--json"]);
        let out = frames(1000, |_| 64);
        ns.run(|| send_paced(&veth.b, &out, 32, Duration::from_micros(500)).unwrap());
        let (status, line) = rx.finish();
        assert!(status.success());
        let json = json(&line);
        assert_eq!(field(&json, "rx_packets"), 1000, "{json}");
        assert_eq!(field(&json, "rx_bytes"), 1000 * 64, "{json}");
        // The client attached nothing of its own: the program is the one the
        // device-plugin side attached, and it stays.
        let link = ns.ip(&["link", "show", "xa"]);
        assert!(
            link.contains(&format!("prog/xdp id {prog_before} ")),
            "{link}"
        );
        assert!(sockctl(&ns, &["prog", "detach", "--iface", "xa"])
            .status
            .success());
    });
}

#[test]
fn sigterm_stops_cleanly_with_totals() {
    if !privileged("sigterm_stops_cleanly_with_totals") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("sigterm");
    let veth = Veth::new(&ns, 1);
    let rx = Rx::start(&ns, &["--vdev", "iface=xa", "--json"]);
    let out = frames(500, |_| 100);
    ns.run(|| send_paced(&veth.b, &out, 32, Duration::from_micros(500)).unwrap());
    std::thread::sleep(Duration::from_millis(200));
    // `ip netns exec` runs sockctl as its child with the same pid (it execs).
    let pid = rx.child.id() as i32;
    afxdp_sys::signal::kill(pid, afxdp_sys::signal::SIGTERM).unwrap();
    let (status, line) = rx.finish();
    assert!(status.success(), "{status}");
    let json = json(&line);
    assert_eq!(field(&json, "rx_packets"), 500, "{json}");
    assert_eq!(field(&json, "rx_bytes"), 500 * 100, "{json}");
    assert!(!ns.ip(&["link", "show", "xa"]).contains("prog/xdp"));
}

#[test]
fn bad_vdev_arguments_are_usage_errors() {
    if !privileged("bad_vdev_arguments_are_usage_errors") {
        return;
    }
    let ns = NetNs::new("vdeverr");
    let _veth = Veth::new(&ns, 1);
    for (vdev, msg) in [
        ("queue_count=2", "iface=<interface> is required"),
        (
            "iface=xa,use_cni=1,use_pinned_map=1",
            "cannot be used together",
        ),
        (
            "iface=xa,use_pinned_map=1,busy_budget=10",
            "busy_budget cannot be set",
        ),
        (
            "iface=xa,dp_path=/tmp/x",
            "dp_path needs use_cni=1 or use_pinned_map=1",
        ),
        ("iface=xa,frobnicate=1", "unknown argument \"frobnicate\""),
        ("iface=xa,queue_count=0", "at least one queue"),
        ("iface=xa,force_copy=yes", "force_copy=yes: expected 0 or 1"),
    ] {
        let out = sockctl(&ns, &["rx", "--vdev", vdev]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{vdev}: {err}");
        assert!(err.contains(msg), "{vdev}: {err}");
    }
    for secs in ["1e20", "-1", "0", "nan"] {
        let out = sockctl(&ns, &["rx", "--vdev", "iface=xa", "--duration", secs]);
        assert_eq!(out.status.code(), Some(2), "--duration {secs}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--duration"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // Operational errors name the interface and exit 1.
    let out = sockctl(&ns, &["rx", "--vdev", "iface=nosuch0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("look up interface: nosuch0: ENODEV"));
    let out = sockctl(&ns, &["rx", "--vdev", "iface=xa,start_queue=4"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("check queues: xa: queues 4..5 asked for")
    );
    let out = sockctl(
        &ns,
        &[
            "rx",
            "--vdev",
            "iface=xa,use_pinned_map=1,dp_path=/nonexistent/xsks_map",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("BPF_OBJ_GET: /nonexistent/xsks_map: ENOENT")
    );
}
