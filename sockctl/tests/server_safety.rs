//! The device-plugin side against a hostile or careless neighbour: a pod
//! cannot make root change a file of its choosing, a second server cannot
//! take over a live one, a failed restart leaves running clients alone, one
//! pod's socket cannot lock out another's, what the server is asked to
//! do on a pod's behalf is bounded, and out of fds it rests instead of
//! spinning.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use af_xdp::handshake::server::{PodPolicy, Server, ServerConfig};
use af_xdp::handshake::{busy_poll_by_handshake, xskmap_by_handshake, HandshakeOptions};
use af_xdp::{
    prepare_netdev, BusyPoll, ErrorKind, Netdev, PrepareOptions, SocketBuilder, Umem, UmemConfig,
};
use afxdp_core::Errno;
use afxdp_testkit::process::start_server;
use afxdp_testkit::{privileged, serial, with_bpffs, ChildGuard, NetNs, TempDir, Veth};

const SOCKCTL: &str = env!("CARGO_BIN_EXE_sockctl");

/// `sockctl serve ARGS` in `ns`, once it has made `socket`.
fn serve(ns: &NetNs, args: &[&str], socket: &Path) -> ChildGuard {
    let mut c = ns.command(SOCKCTL);
    c.arg("serve")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    start_server(&mut c, socket)
}

fn run(ns: &NetNs, args: &[&str]) -> (i32, String) {
    let out = ns.command(SOCKCTL).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout),
    )
}

fn attached(ns: &NetNs) -> bool {
    ns.ip(&["-d", "link", "show", "xa"]).contains("prog/xdp")
}

fn opts(host: &str) -> HandshakeOptions {
    HandshakeOptions {
        hostname: Some(host.into()),
        step_timeout: Duration::from_secs(2),
        ..Default::default()
    }
}

#[test]
fn a_pod_owns_its_socket_not_the_directory_root_works_in() {
    if !privileged("a_pod_owns_its_socket_not_the_directory_root_works_in") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("safe1");
    let _veth = Veth::new(&ns, 1);
    let dir = TempDir::with_mode("safe1-dp", 0o755);
    // A directory that existed keeps its mode: --dir on a sticky 1777 dir.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let d = dir.to_str();
    let sock = dir.path().join("xa/afxdp.sock");
    let _s = serve(
        &ns,
        &[
            "--iface",
            "xa",
            "--allow-any-pod",
            "--dir",
            d,
            "--socket-owner",
            "65534:65534",
        ],
        &sock,
    );
    let m = std::fs::metadata(dir.path()).unwrap();
    assert_eq!(
        m.mode() & 0o7777,
        0o1777,
        "the existing --dir keeps its mode"
    );
    let xa = std::fs::metadata(dir.path().join("xa")).unwrap();
    assert_eq!((xa.uid(), xa.gid(), xa.mode() & 0o7777), (0, 65534, 0o710));
    let s = std::fs::symlink_metadata(&sock).unwrap();
    assert_eq!((s.uid(), s.gid(), s.mode() & 0o777), (65534, 65534, 0o600));
    // The pod cannot put anything in the directory (no write permission).
    let (code, out) = run(
        &ns,
        &[
            "get-map",
            "--iface",
            "xa",
            "--dp-path",
            sock.to_str().unwrap(),
            "--pod-name",
            "p",
        ],
    );
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_second_server_does_not_take_over_a_live_one() {
    if !privileged("a_second_server_does_not_take_over_a_live_one") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("safe2");
    let _veth = Veth::new(&ns, 1);
    ns.ip(&["link", "add", "xc", "type", "veth", "peer", "name", "xd"]);
    ns.ip(&["link", "set", "xc", "up"]);
    let dir = TempDir::with_mode("safe2-dp", 0o755);
    let dir2 = TempDir::with_mode("safe2-dp2", 0o755);
    let legacy = dir.path().join("afxdp.sock");
    let l = legacy.to_str().unwrap();
    let _first = serve(
        &ns,
        &[
            "--iface",
            "xa",
            "--allow-any-pod",
            "--dir",
            dir.to_str(),
            "--legacy-socket",
            l,
        ],
        &legacy,
    );
    // Another interface, the same legacy socket: the live socket is not
    // unlinked from under the first server.
    let (code, out) = run(
        &ns,
        &[
            "serve",
            "--iface",
            "xc",
            "--allow-any-pod",
            "--dir",
            dir2.to_str(),
            "--legacy-socket",
            l,
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("EADDRINUSE") && out.contains("another server is listening"),
        "{out}"
    );
    // The first still answers there, and the second left nothing attached.
    let got = ns.run(|| xskmap_by_handshake(&legacy, "xa", &opts("p")));
    assert!(got.is_ok(), "{:?}", got.err());
    assert!(!ns.ip(&["-d", "link", "show", "xc"]).contains("prog/xdp"));
}

#[test]
fn a_second_server_on_the_same_state_directory_is_refused_and_a_failed_restart_keeps_the_attachment(
) {
    if !privileged("a_second_server_on_the_same_state_directory_is_refused_and_a_failed_restart_keeps_the_attachment") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("safe3");
    let _veth = Veth::new(&ns, 1);
    with_bpffs(|bpf| {
        let state = bpf.join("state");
        let st = state.to_str().unwrap();
        let dir = TempDir::with_mode("safe3-dp", 0o755);
        let dir2 = TempDir::with_mode("safe3-dp2", 0o755);
        let d = dir.to_str();
        let mut first = serve(
            &ns,
            &[
                "--iface",
                "xa",
                "--allow-any-pod",
                "--dir",
                d,
                "--state-dir",
                st,
                "--keep-attached",
            ],
            &dir.path().join("xa/afxdp.sock"),
        );
        // Another server, another socket directory, the same state: refused.
        let (code, out) = run(
            &ns,
            &[
                "serve",
                "--iface",
                "xa",
                "--allow-any-pod",
                "--dir",
                dir2.to_str(),
                "--state-dir",
                st,
            ],
        );
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("another device-plugin side"), "{out}");
        assert!(attached(&ns), "the refusal detached nothing");
        // Stop the first, leaving everything for the next.
        first.signal(libc::SIGINT);
        assert!(first.wait().unwrap().success());
        assert!(attached(&ns));
        // A restart that fails after adopting (a regular file where its
        // socket goes) leaves the attachment and its pins as they were.
        std::fs::create_dir_all(dir.path().join("xa")).unwrap();
        std::fs::write(dir.path().join("xa/afxdp.sock"), b"not a socket").unwrap();
        let (code, out) = run(
            &ns,
            &[
                "serve",
                "--iface",
                "xa",
                "--allow-any-pod",
                "--dir",
                d,
                "--state-dir",
                st,
            ],
        );
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("not a socket"), "{out}");
        assert!(
            attached(&ns),
            "a failed restart cut running clients off: {out}"
        );
        for pin in ["link", "xsks_map", "prog"] {
            assert!(state.join("xa").join(pin).exists(), "{pin} pinned");
        }
        // A good restart adopts it, and a default stop cleans everything.
        std::fs::remove_file(dir.path().join("xa/afxdp.sock")).unwrap();
        let mut again = serve(
            &ns,
            &[
                "--iface",
                "xa",
                "--allow-any-pod",
                "--dir",
                d,
                "--state-dir",
                st,
            ],
            &dir.path().join("xa/afxdp.sock"),
        );
        again.signal(libc::SIGTERM);
        assert!(again.wait().unwrap().success());
        assert!(!attached(&ns));
        for pin in ["link", "xsks_map", "prog"] {
            assert!(!state.join("xa").join(pin).exists(), "{pin} unpinned");
        }
    });
}

#[test]
fn one_sockets_silent_connections_cannot_lock_out_another_or_a_real_client() {
    if !privileged("one_sockets_silent_connections_cannot_lock_out_another_or_a_real_client") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("safe4");
    let _veth = Veth::new(&ns, 1);
    ns.ip(&["link", "add", "xc", "type", "veth", "peer", "name", "xd"]);
    ns.ip(&["link", "set", "xc", "up"]);
    ns.ip(&["link", "set", "xd", "up"]);
    let dir = TempDir::with_mode("safe4-dp", 0o755);
    ns.run(|| {
        let stop = Arc::new(AtomicBool::new(false));
        let cfg = ServerConfig {
            dir: dir.path().to_path_buf(),
            pods: PodPolicy::Any,
            max_connections: 4,
            ..Default::default()
        };
        let mut server = Server::new(&["xa", "xc"], cfg).unwrap();
        let flag = stop.clone();
        let t = std::thread::spawn(move || {
            let mut logs = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                server
                    .serve(Duration::from_millis(20), &mut |l| logs.push(l.clone()))
                    .unwrap();
            }
            logs
        });
        let xa = dir.path().join("xa/afxdp.sock");
        let xc = dir.path().join("xc/afxdp.sock");
        // Eight silent connections on xa: more than the four it allows.
        let addr = afxdp_sys::unix::UnixAddr::try_from(xa.as_path()).unwrap();
        let silent: Vec<_> = (0..8)
            .map(|_| {
                let c = afxdp_sys::unix::connect_to(&addr).unwrap();
                std::thread::sleep(Duration::from_millis(30));
                c
            })
            .collect();
        // xc is not affected, and a real client on xa gets through.
        assert!(xskmap_by_handshake(&xc, "xc", &opts("p")).is_ok());
        assert!(xskmap_by_handshake(&xa, "xa", &opts("p")).is_ok());
        drop(silent);
        stop.store(true, Ordering::Relaxed);
        let logs = t.join().unwrap();
        let evicted = logs
            .iter()
            .filter(|l| l.to_string().contains("too many connections"))
            .count();
        assert!(evicted >= 4, "silent connections made room: {evicted}");
    });
}

#[test]
fn what_a_pod_may_ask_is_bounded() {
    if !privileged("what_a_pod_may_ask_is_bounded") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("safe5");
    let veth = Veth::new(&ns, 1);
    let dir = TempDir::with_mode("safe5-dp", 0o755);
    ns.run(|| {
        let stop = Arc::new(AtomicBool::new(false));
        let cfg = ServerConfig {
            dir: dir.path().to_path_buf(),
            pods: PodPolicy::Any,
            ..Default::default()
        };
        let mut server = Server::new(&["xa"], cfg).unwrap();
        let flag = stop.clone();
        let t = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                server
                    .serve(Duration::from_millis(20), &mut |_| {})
                    .unwrap();
            }
        });
        let sock = dir.path().join("xa/afxdp.sock");
        let dev = Netdev::by_name(&veth.a).unwrap();
        let umem = Umem::new(UmemConfig {
            frame_count: 64,
            ..Default::default()
        })
        .unwrap();
        let (xsk, _q) = SocketBuilder::new(&umem, &dev, 0).build().unwrap();
        // DPDK's 20 µs / 64 is fine; 35 minutes of busy polling is not.
        busy_poll_by_handshake(
            &sock,
            &[xsk.as_fd()],
            BusyPoll {
                timeout_us: 20,
                budget: 64,
            },
            &opts("p"),
        )
        .unwrap();
        let e = busy_poll_by_handshake(
            &sock,
            &[xsk.as_fd()],
            BusyPoll {
                timeout_us: 2_000_000_000,
                budget: 64,
            },
            &opts("p"),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Refused, "{e}");
        let e = busy_poll_by_handshake(
            &sock,
            &[xsk.as_fd()],
            BusyPoll {
                timeout_us: 20,
                budget: 65535,
            },
            &opts("p"),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Refused, "{e}");
        // A pod name too long for /connect is a clear client error.
        let long = "p".repeat(60);
        let e = xskmap_by_handshake(&sock, "xa", &opts(&long)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        assert!(e.to_string().contains("at most 55"), "{e}");
        stop.store(true, Ordering::Relaxed);
        t.join().unwrap();
    });
}

#[test]
fn doctor_probes_a_dp_path_without_an_interface_and_queue_counts_are_checked() {
    if !privileged("doctor_probes_a_dp_path_without_an_interface_and_queue_counts_are_checked") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("safe6");
    let _veth = Veth::new(&ns, 1);
    let dir = TempDir::with_mode("safe6-dp", 0o755);
    let d = dir.to_str();
    let sock = dir.path().join("xa/afxdp.sock");
    let _s = serve(
        &ns,
        &["--iface", "xa", "--allow-any-pod", "--dir", d],
        &sock,
    );
    let (code, out) = run(
        &ns,
        &["doctor", "--dp-path", sock.to_str().unwrap(), "--json"],
    );
    let v: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let hs = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "handshake")
        .unwrap();
    assert_eq!(hs["status"], "ok", "{out}");
    assert!(code == 0 || code == 1, "{out}");
    // One queue on this veth: asking for two says so before anything binds.
    let (code, out) = run(
        &ns,
        &[
            "rx",
            "--vdev",
            &format!(
                "iface=xa,use_cni=1,queue_count=2,dp_path={}",
                sock.display()
            ),
            "--count",
            "1",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("has 1 now"), "{out}");
}

/// User and system CPU time of `pid` so far, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // After the command name (in parentheses): state is field 3, utime 14.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// `serve` limited to 64 fds with 80 connections waiting: `accept` fails
/// with `EMFILE` and the waiting connections keep the socket readable. The
/// server rests between tries instead of spinning on it, and serves again
/// once the connections close.
#[test]
fn out_of_fds_the_server_rests_instead_of_spinning() {
    if !privileged("out_of_fds_the_server_rests_instead_of_spinning") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("safefd");
    let _veth = Veth::new(&ns, 1);
    let dir = TempDir::with_mode("safefd-dp", 0o755);
    let sock = dir.path().join("xa/afxdp.sock");
    let mut c = ns.command("prlimit");
    c.args([
        "--nofile=64:64",
        SOCKCTL,
        "serve",
        "--iface",
        "xa",
        "--allow-any-pod",
    ])
    .args(["--dir", dir.to_str()])
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let server = start_server(&mut c, &sock).stop_with(libc::SIGTERM);
    let addr = afxdp_sys::unix::UnixAddr::try_from(sock.as_path()).unwrap();
    let clients: Vec<_> = (0..80)
        .map(|_| afxdp_sys::unix::connect_to(&addr).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let before = cpu_ticks(server.id());
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks(server.id()) - before;
    // A spinning loop takes the whole second (about 100 ticks).
    assert!(
        used < 20,
        "serve used {used} ticks of CPU in 1 s, out of fds"
    );
    drop(clients);
    let opts = HandshakeOptions {
        hostname: Some("pod".into()),
        ..Default::default()
    };
    let map = ns.run(|| xskmap_by_handshake(&sock, "xa", &opts));
    assert!(map.is_ok(), "not served after the clients closed: {map:?}");
    drop(server);
}

/// The server looks for a connection's next request for a while before it
/// sleeps (`answer_spin`), but a client cannot turn that into a spinning
/// CPU: one that keeps talking (`/version` every 150 µs, each answered
/// within the spin of the one before), or one that keeps connecting and
/// says nothing. Each had `serve` spin the whole second (about 100 ticks)
/// before the spin was bounded per connection and to a tenth of the time.
#[test]
fn a_client_cannot_make_the_answer_spin_take_a_cpu() {
    if !privileged("a_client_cannot_make_the_answer_spin_take_a_cpu") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("safespin");
    let _veth = Veth::new(&ns, 1);
    let dir = TempDir::with_mode("safespin-dp", 0o755);
    let sock = dir.path().join("xa/afxdp.sock");
    let server = serve(
        &ns,
        &["--iface", "xa", "--allow-any-pod", "--dir", dir.to_str()],
        &sock,
    );
    let addr = afxdp_sys::unix::UnixAddr::try_from(sock.as_path()).unwrap();
    let second = Duration::from_secs(1);
    // A chatty client.
    let chatty = afxdp_sys::unix::connect_to(&addr).expect("connect");
    let mut buf = [0u8; 256];
    afxdp_sys::unix::send_msg(chatty.as_fd(), b"/connect,pod", &[]).unwrap();
    afxdp_sys::unix::recv_msg(chatty.as_fd(), &mut buf, &mut []).unwrap();
    let before = cpu_ticks(server.id());
    let start = std::time::Instant::now();
    let mut answered = 0u32;
    while start.elapsed() < second {
        afxdp_sys::unix::send_msg(chatty.as_fd(), b"/version", &[]).unwrap();
        let m = afxdp_sys::unix::recv_msg(chatty.as_fd(), &mut buf, &mut []).unwrap();
        assert_eq!(&buf[..m.len], b"0.1");
        answered += 1;
        std::thread::sleep(Duration::from_micros(150));
    }
    let used = cpu_ticks(server.id()) - before;
    assert!(answered > 1000, "only {answered} answers in 1 s");
    assert!(
        used < 30,
        "serve used {used} ticks of CPU in 1 s answering {answered} /version"
    );
    drop(chatty);
    // Connections that say nothing, one every 200 µs.
    let before = cpu_ticks(server.id());
    let start = std::time::Instant::now();
    let mut silent = Vec::new();
    while start.elapsed() < second {
        silent.push(afxdp_sys::unix::connect_to(&addr).expect("connect"));
        if silent.len() > 200 {
            silent.remove(0);
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let used = cpu_ticks(server.id()) - before;
    // Accepting 5,000 connections a second costs about a third of a CPU by
    // itself here; spinning for each would take the rest.
    assert!(
        used < 70,
        "serve used {used} ticks of CPU in 1 s of silent connections"
    );
    drop(silent);
    // And it still serves.
    let map = ns.run(|| xskmap_by_handshake(&sock, "xa", &opts("pod")));
    assert!(map.is_ok(), "{map:?}");
    drop(server);
}

/// Runs `f` on a thread of its own without `CAP_SYS_ADMIN` (capabilities
/// are per thread; it keeps this thread's namespaces).
fn without_cap_sys_admin<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            #[repr(C)]
            struct Header {
                version: u32,
                pid: i32,
            }
            #[repr(C)]
            #[derive(Clone, Copy, Default)]
            struct Data {
                effective: u32,
                permitted: u32,
                inheritable: u32,
            }
            const VERSION_3: u32 = 0x2008_0522;
            let mut hdr = Header {
                version: VERSION_3,
                pid: 0,
            };
            let mut data = [Data::default(); 2];
            // SAFETY: capget writes two `Data` for version 3, as given.
            let rc = unsafe { libc::syscall(libc::SYS_capget, &mut hdr, data.as_mut_ptr()) };
            assert_eq!(rc, 0, "capget: {}", std::io::Error::last_os_error());
            const CAP_SYS_ADMIN: u32 = 21;
            let bit = 1u32 << CAP_SYS_ADMIN;
            data[0].effective &= !bit;
            data[0].permitted &= !bit;
            // SAFETY: capset reads the header and two `Data`; it changes
            // only this thread's capabilities.
            let rc = unsafe { libc::syscall(libc::SYS_capset, &mut hdr, data.as_ptr()) };
            assert_eq!(rc, 0, "capset: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .unwrap()
    })
}

/// A state directory written before the program was pinned there (link and
/// map only) is adopted by the program's id, which needs `CAP_SYS_ADMIN`;
/// adopting it pins the program, and from then on a device-plugin side
/// without `CAP_SYS_ADMIN` adopts it. Before, it stayed unpinned, and a
/// deployment that dropped the capability could never adopt again.
#[test]
fn an_old_state_directory_is_upgraded_when_adopted_and_then_needs_no_cap_sys_admin() {
    if !privileged(
        "an_old_state_directory_is_upgraded_when_adopted_and_then_needs_no_cap_sys_admin",
    ) {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("stateup");
    let _veth = Veth::new(&ns, 1);
    with_bpffs(|bpf| {
        ns.run(|| {
            let state = bpf.join("state");
            let opts = PrepareOptions {
                state_dir: Some(state.clone()),
                ..Default::default()
            };
            let prog_pin = state.join("xa/prog");
            let first = prepare_netdev("xa", &opts).unwrap();
            let prog = first.attachment().program().id();
            first.persist().unwrap();
            assert!(prog_pin.exists());
            // What an older version left: the link and the map only.
            std::fs::remove_file(&prog_pin).unwrap();
            let err = without_cap_sys_admin(|| prepare_netdev("xa", &opts)).unwrap_err();
            assert_eq!(err.errno(), Some(Errno::EPERM), "{err}");
            assert!(err.to_string().contains("BPF_PROG_GET_FD_BY_ID"), "{err}");
            assert!(!prog_pin.exists());
            // With it: adopted, and the program pinned now.
            let again = prepare_netdev("xa", &opts).unwrap();
            assert!(again.is_adopted());
            assert_eq!(again.attachment().program().id(), prog);
            assert!(prog_pin.exists(), "the program is pinned when adopted");
            drop(again);
            assert!(
                prog_pin.exists(),
                "an adopted state is left as it was found"
            );
            // And now without it.
            let third = without_cap_sys_admin(|| prepare_netdev("xa", &opts)).unwrap();
            assert!(third.is_adopted());
            assert_eq!(third.attachment().program().id(), prog);
            third.teardown();
            for pin in ["link", "xsks_map", "prog"] {
                assert!(!state.join("xa").join(pin).exists(), "{pin} unpinned");
            }
        })
    });
}
