//! The device-plugin handshake end to end, with real processes in a network
//! namespace: `sockctl serve` (root) prepares a veth end and serves its
//! XSKMAP; clients running as uid 65534 with only `CAP_NET_RAW` and
//! `CAP_IPC_LOCK` receive every frame the peer sends, by handshake
//! (`use_cni=1`) or through a pinned map (`use_pinned_map=1`), on one or two
//! queues, across a `kill -9` of the server and its restart (which adopts
//! the attachment); the server restricts peers by uid and logs them, and
//! refuses to make its files through symlinks or over a non-socket.
//!
//! Every child process is killed and reaped when its guard drops (also when
//! a test panics); every directory a test makes is removed.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use af_xdp::handshake::{xskmap_by_handshake, HandshakeOptions};
use af_xdp::{FrameBuf, Port};
use afxdp_sys::signal::SIGTERM;
use afxdp_testkit::frames::udp_frame;
use afxdp_testkit::packet::send_paced;
use afxdp_testkit::process::lines;
use afxdp_testkit::{privileged, serial, with_bpffs, ChildGuard, NetNs, TempDir, Veth};
use serde_json::Value;

const SOCKCTL: &str = env!("CARGO_BIN_EXE_sockctl");
/// The unprivileged client's uid (and gid).
const NOBODY: u32 = 65534;
/// How long a process may take to say it is ready.
const READY: Duration = Duration::from_secs(20);

/// A child process, killed and reaped on drop unless it was waited for;
/// its stdout and stderr are collected line by line.
struct Proc {
    what: String,
    child: ChildGuard,
    out: Receiver<String>,
    err: Receiver<String>,
    stdout: Vec<String>,
    stderr: Vec<String>,
    status: Option<ExitStatus>,
}

impl Proc {
    fn spawn(what: &str, mut cmd: Command) -> Proc {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child =
            ChildGuard::new(cmd.spawn().unwrap_or_else(|e| panic!("spawn {what}: {e}")));
        let out = lines(child.stdout.take().unwrap());
        let err = lines(child.stderr.take().unwrap());
        Proc {
            what: what.to_string(),
            child,
            out,
            err,
            stdout: Vec::new(),
            stderr: Vec::new(),
            status: None,
        }
    }

    /// The pid (`ip netns exec` and `setpriv` exec, so it is sockctl's).
    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn pump(&mut self) {
        while let Ok(l) = self.out.try_recv() {
            self.stdout.push(l);
        }
        while let Ok(l) = self.err.try_recv() {
            self.stderr.push(l);
        }
    }

    fn report(&mut self) -> String {
        self.pump();
        format!(
            "{} (status {:?})\n--- stdout\n{}\n--- stderr\n{}",
            self.what,
            self.status.or_else(|| self.child.try_wait().ok().flatten()),
            self.stdout.join("\n"),
            self.stderr.join("\n")
        )
    }

    /// Waits for a line on stdout (`stdout`) or stderr matching `pred`;
    /// lines seen before also count.
    fn wait_line(&mut self, stdout: bool, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + READY;
        let mut checked = 0;
        loop {
            self.pump();
            let seen = if stdout { &self.stdout } else { &self.stderr };
            if let Some(l) = seen[checked..].iter().find(|l| pred(l)) {
                return l.clone();
            }
            checked = seen.len();
            if let Ok(Some(st)) = self.child.try_wait() {
                self.status = Some(st);
                self.drain();
                let seen = if stdout { &self.stdout } else { &self.stderr };
                if let Some(l) = seen.iter().find(|l| pred(l)) {
                    return l.clone();
                }
                panic!("exited before the line expected: {}", self.report());
            }
            if Instant::now() > deadline {
                panic!("the line expected did not come: {}", self.report());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn wait_stderr(&mut self, pred: impl Fn(&str) -> bool) -> String {
        self.wait_line(false, pred)
    }

    fn wait_stdout(&mut self, pred: impl Fn(&str) -> bool) -> String {
        self.wait_line(true, pred)
    }

    /// Waits until `n` stdout lines match `pred`.
    fn wait_stdout_count(&mut self, n: usize, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + READY;
        while self.stdout.iter().filter(|l| pred(l)).count() < n {
            assert!(
                Instant::now() < deadline,
                "{n} lines expected: {}",
                self.report()
            );
            std::thread::sleep(Duration::from_millis(10));
            self.pump();
        }
    }

    /// Collects what is left of the output of an exited process.
    fn drain(&mut self) {
        for (rx, into) in [(&self.out, &mut self.stdout), (&self.err, &mut self.stderr)] {
            loop {
                match rx.recv_timeout(Duration::from_secs(5)) {
                    Ok(l) => into.push(l),
                    Err(RecvTimeoutError::Disconnected) => break,
                    Err(RecvTimeoutError::Timeout) => panic!("output not closed"),
                }
            }
        }
    }

    /// Waits (at most `timeout`) for the process to exit.
    fn wait(&mut self, timeout: Duration) -> ExitStatus {
        if let Some(st) = self.status {
            return st;
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                self.status = Some(st);
                self.drain();
                return st;
            }
            if Instant::now() > deadline {
                panic!("did not exit in {timeout:?}: {}", self.report());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn signal(&self, sig: u32) {
        afxdp_sys::signal::kill(self.pid(), sig).expect("kill");
    }

    /// `kill -9`, and reap.
    fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.status = Some(self.child.wait().unwrap());
        self.drain();
    }

    fn stdout_text(&self) -> String {
        self.stdout.join("\n")
    }

    fn stderr_text(&self) -> String {
        self.stderr.join("\n")
    }
}

/// `sockctl ARGS` as root inside `ns`.
fn root(ns: &NetNs, args: &[&str]) -> Command {
    let mut c = ns.command(SOCKCTL);
    c.args(args);
    c
}

/// `sockctl ARGS` inside `ns` as uid/gid 65534 with only `CAP_NET_RAW` and
/// `CAP_IPC_LOCK`.
fn nobody(ns: &NetNs, args: &[&str]) -> Command {
    let mut c = ns.command("setpriv");
    c.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all,+net_raw,+ipc_lock",
        "--ambient-caps=+net_raw,+ipc_lock",
        SOCKCTL,
    ])
    .args(args)
    .current_dir("/");
    c
}

/// Runs a command to its end (at most 30 s): (exit code, stdout, stderr).
fn run(what: &str, cmd: Command) -> (Option<i32>, String, String) {
    let mut p = Proc::spawn(what, cmd);
    let st = p.wait(Duration::from_secs(30));
    (st.code(), p.stdout_text(), p.stderr_text())
}

/// The number after `key` in `line` (`"prog id 12,"` -> 12).
fn number_after(line: &str, key: &str) -> u32 {
    let at = line
        .find(key)
        .unwrap_or_else(|| panic!("no {key:?} in {line:?}"))
        + key.len();
    line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no number after {key:?} in {line:?}"))
}

/// A running `sockctl serve` on `xa`, with what it said it attached.
struct Serve {
    p: Proc,
    prog_id: u32,
    map_id: u32,
    line: String,
}

impl Serve {
    fn start(ns: &NetNs, args: &[&str]) -> Serve {
        let mut all = vec!["serve", "--iface", "xa"];
        all.extend_from_slice(args);
        let mut p = Proc::spawn("sockctl serve", root(ns, &all));
        let line = p.wait_stderr(|l| l.starts_with("sockctl serve: xa: "));
        Serve {
            prog_id: number_after(&line, "prog id "),
            map_id: number_after(&line, "XSKMAP id "),
            line,
            p,
        }
    }

    /// SIGTERM, and a clean exit.
    fn stop(&mut self) {
        self.p.signal(SIGTERM);
        let st = self.p.wait(Duration::from_secs(10));
        assert!(st.success(), "{}", self.p.report());
        assert!(
            self.p.stderr_text().contains("stopped by SIGTERM"),
            "{}",
            self.p.report()
        );
    }
}

/// Starts `sockctl rx` and waits until its sockets are in the map (it says
/// so on stderr only after opening the port).
fn start_rx(cmd: Command) -> Proc {
    let mut p = Proc::spawn("sockctl rx", cmd);
    p.wait_stderr(|l| l.starts_with("sockctl rx: "));
    p
}

/// The `--json` totals of a `sockctl rx` that must exit successfully.
fn rx_totals(p: &mut Proc) -> Value {
    let st = p.wait(Duration::from_secs(60));
    assert!(st.success(), "{}", p.report());
    let line = p.stdout.last().cloned().unwrap_or_default();
    let v: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"));
    v
}

fn field(v: &Value, k: &str) -> u64 {
    v[k].as_u64()
        .unwrap_or_else(|| panic!("no unsigned integer {k} in {v}"))
}

/// `n` test frames from `xb` to `xa`, starting at sequence `first`, over
/// `flows` UDP source ports, of varied lengths.
fn frames(first: u32, n: u32, flows: u16) -> Vec<Vec<u8>> {
    (first..first + n)
        .map(|i| {
            udp_frame(
                Veth::MAC_B,
                Veth::MAC_A,
                i,
                (i % u32::from(flows)) as u16,
                60 + (i as usize * 7) % 400,
            )
        })
        .collect()
}

fn bytes(frames: &[Vec<u8>]) -> u64 {
    frames.iter().map(|f| f.len() as u64).sum()
}

fn send(ns: &NetNs, frames: &[Vec<u8>]) {
    ns.run(|| send_paced("xb", frames, 32, Duration::from_micros(400)).unwrap());
}

fn xdp_attached(ns: &NetNs) -> bool {
    ns.ip(&["-d", "link", "show", "xa"]).contains("prog/xdp")
}

fn mode_uid(path: &Path) -> (u32, u32) {
    let m = std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (m.mode() & 0o7777, m.uid())
}

/// (1) The whole story: a root `sockctl serve` and a client with no BPF
/// privilege at all that receives exactly what the peer sends.
#[test]
fn an_unprivileged_client_receives_every_frame_through_the_handshake() {
    if !privileged("an_unprivileged_client_receives_every_frame_through_the_handshake") {
        return;
    }
    let _serial = serial();
    const N: u32 = 5000;
    let ns = NetNs::new("hsfull");
    let _veth = Veth::new(&ns, 1);
    let dir = TempDir::uncreated("hsdir");
    let mut server = Serve::start(
        &ns,
        &[
            "--allow-any-pod",
            "--dir",
            dir.to_str(),
            "--socket-owner",
            "65534",
        ],
    );
    assert!(server.line.contains("attached prog id"), "{}", server.line);
    // The files are as the contract says: <dir>/xa 0700 and the socket
    // 0600, both the client's.
    let sock = dir.path().join("xa/afxdp.sock");
    // The directory stays root's, searchable by the pod's group only; the
    // socket is the pod's.
    assert_eq!(mode_uid(&dir.path().join("xa")), (0o710, 0));
    assert_eq!(
        std::fs::metadata(dir.path().join("xa")).unwrap().gid(),
        NOBODY,
        "group: the pod's"
    );
    assert_eq!(mode_uid(&sock), (0o600, NOBODY));
    assert!(std::fs::metadata(&sock).unwrap().file_type().is_socket());

    // The client really has no BPF privilege: it cannot attach anything.
    let (code, _, err) = run(
        "prog attach as nobody",
        nobody(&ns, &["prog", "attach", "--iface", "xb"]),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("BPF_MAP_CREATE") && err.contains("EPERM"),
        "{err}"
    );
    assert!(!ns.ip(&["-d", "link", "show", "xb"]).contains("prog/xdp"));

    let vdev = format!("iface=xa,use_cni=1,dp_path={}", sock.display());
    let mut rx = start_rx(nobody(
        &ns,
        &["rx", "--vdev", &vdev, "--count", "5000", "--json"],
    ));
    // The server logged who connected and what it got.
    let logged = server.p.wait_stdout(|l| l.contains("uid 65534"));
    assert!(
        logged.starts_with(&format!(
            "xa: peer pid {} uid 65534 gid 65534, pod ",
            rx.pid()
        )) && logged.ends_with(": host_ok, map xa; fin"),
        "{logged}"
    );
    let out = frames(0, N, 1);
    send(&ns, &out);
    let totals = rx_totals(&mut rx);
    assert_eq!(field(&totals, "rx_packets"), u64::from(N), "{totals}");
    assert_eq!(field(&totals, "rx_bytes"), bytes(&out), "{totals}");
    assert_eq!(field(&totals, "rx_dropped"), 0, "{totals}");
    // The client closed its sockets; the server's program stays.
    let link = ns.ip(&["-d", "link", "show", "xa"]);
    assert!(
        link.contains(&format!("prog/xdp id {} ", server.prog_id)),
        "{link}"
    );
    server.stop();
    assert!(server
        .p
        .stderr_text()
        .contains("sockets removed, programs detached"));
    assert!(!dir.path().join("xa").exists(), "socket directory removed");
    assert!(!xdp_attached(&ns), "detached on SIGTERM");
}

/// (2) `use_pinned_map=1`: the pin is the client's uid's, 0600, and serves an
/// unprivileged client; a pin left 0600 root is refused with EACCES and
/// a hint, not a crash.
#[test]
fn an_unprivileged_client_receives_through_a_pin_it_owns() {
    if !privileged("an_unprivileged_client_receives_through_a_pin_it_owns") {
        return;
    }
    let _serial = serial();
    const N: u32 = 3000;
    let ns = NetNs::new("hspin");
    let _veth = Veth::new(&ns, 1);
    let dir = TempDir::uncreated("hsdir");
    with_bpffs(|bpf| {
        let pins = bpf.join("pins");
        let pin = pins.join("xa/xsks_map");
        let mut server = Serve::start(
            &ns,
            &[
                "--allow-any-pod",
                "--dir",
                dir.to_str(),
                "--pin-dir",
                pins.to_str().unwrap(),
                "--pin-owner",
                "65534",
            ],
        );
        assert!(
            server
                .line
                .ends_with(&format!(", pinned at {}", pin.display())),
            "{}",
            server.line
        );
        assert_eq!(mode_uid(&pin), (0o600, NOBODY), "the pin is the client's");
        // The client's own look at it: the very map the server attached.
        let (code, out, err) = run(
            "get-map --pinned as nobody",
            nobody(
                &ns,
                &[
                    "get-map",
                    "--iface",
                    "xa",
                    "--pinned",
                    pin.to_str().unwrap(),
                    "--json",
                ],
            ),
        );
        assert_eq!(code, Some(0), "{err}");
        assert!(
            out.contains(&format!("\"map_id\":{}", server.map_id)),
            "{out}"
        );
        let vdev = format!("iface=xa,use_pinned_map=1,dp_path={}", pin.display());
        let mut rx = start_rx(nobody(
            &ns,
            &["rx", "--vdev", &vdev, "--count", "3000", "--json"],
        ));
        let out = frames(0, N, 1);
        send(&ns, &out);
        let totals = rx_totals(&mut rx);
        assert_eq!(field(&totals, "rx_packets"), u64::from(N), "{totals}");
        assert_eq!(field(&totals, "rx_bytes"), bytes(&out), "{totals}");
        server.stop();
        assert!(!pin.exists(), "unpinned on SIGTERM");
        assert!(!xdp_attached(&ns));

        // A pin the client may not open read-write.
        let mut server = Serve::start(
            &ns,
            &[
                "--allow-any-pod",
                "--dir",
                dir.to_str(),
                "--pin-dir",
                pins.to_str().unwrap(),
                "--pin-owner",
                "0",
                "--pin-mode",
                "600",
            ],
        );
        assert_eq!(mode_uid(&pin), (0o600, 0));
        let (code, _, err) = run(
            "rx through a root pin as nobody",
            nobody(&ns, &["rx", "--vdev", &vdev, "--count", "1"]),
        );
        assert_eq!(code, Some(1), "{err}");
        assert!(
            err.contains(&format!("BPF_OBJ_GET: {}: EACCES", pin.display())),
            "{err}"
        );
        assert!(
            err.contains("hint: ") && err.contains("both read and write permission"),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        server.stop();
    });
}

/// (3) Two queues: an unprivileged client on both receives every frame; two
/// in-process connections get the same map; the frames really spread
/// over both queues (counted per queue in-process).
#[test]
fn two_queues_and_many_connections_share_one_map() {
    if !privileged("two_queues_and_many_connections_share_one_map") {
        return;
    }
    let _serial = serial();
    const N: u32 = 4000;
    let ns = NetNs::new("hs2q");
    let _veth = Veth::new(&ns, 2);
    let dir = TempDir::uncreated("hsdir");
    let mut server = Serve::start(
        &ns,
        &[
            "--allow-any-pod",
            "--dir",
            dir.to_str(),
            "--socket-owner",
            "65534",
        ],
    );
    assert!(server.line.contains("(2 entries)"), "{}", server.line);
    let sock = dir.path().join("xa/afxdp.sock");
    let opts = HandshakeOptions {
        hostname: Some("pod-a".into()),
        step_timeout: Duration::from_secs(5),
        ..Default::default()
    };
    let m1 = xskmap_by_handshake(&sock, "xa", &opts).expect("first connection");
    let m2 = xskmap_by_handshake(&sock, "xa", &opts).expect("second connection");
    assert_eq!(m1.id(), server.map_id);
    assert_eq!(m2.id(), server.map_id);
    assert_eq!(m1.max_entries(), 2);
    drop((m1, m2));
    server.p.wait_stdout_count(2, |l| {
        l.ends_with(" uid 0 gid 0, pod pod-a: host_ok, map xa; fin")
    });

    let vdev = format!(
        "iface=xa,use_cni=1,queue_count=2,dp_path={}",
        sock.display()
    );
    let mut rx = start_rx(nobody(
        &ns,
        &["rx", "--vdev", &vdev, "--count", "4000", "--json"],
    ));
    let out = frames(0, N, 64);
    send(&ns, &out);
    let totals = rx_totals(&mut rx);
    assert_eq!(field(&totals, "rx_packets"), u64::from(N), "{totals}");
    assert_eq!(field(&totals, "rx_bytes"), bytes(&out), "{totals}");
    let logged = server.p.wait_stdout(|l| l.contains(" uid 65534 "));
    assert!(logged.ends_with(": host_ok, map xa; fin"), "{logged}");

    // The same port in-process, counted per queue: both queues carry
    // frames (the JSON of `rx` has totals only).
    let per_queue = ns.run(|| {
        let mut port = Port::open(&vdev.parse().unwrap()).expect("open the port by handshake");
        assert_eq!(port.map().id(), server.map_id);
        let sender = {
            let out = frames(N, N, 64);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(200));
                send_paced("xb", &out, 32, Duration::from_micros(400)).unwrap();
            })
        };
        let mut burst = FrameBuf::with_capacity(64);
        let deadline = Instant::now() + Duration::from_secs(20);
        while port.counters().rx_packets < u64::from(N) && Instant::now() < deadline {
            for q in port.queues_mut() {
                q.receive(&mut burst);
                q.release(&mut burst);
            }
            port.wait(Duration::from_millis(10)).unwrap();
        }
        sender.join().unwrap();
        port.queues()
            .iter()
            .map(|q| q.counters().rx_packets)
            .collect::<Vec<_>>()
    });
    assert_eq!(per_queue.iter().sum::<u64>(), u64::from(N), "{per_queue:?}");
    assert!(
        per_queue.iter().all(|&n| n > 0),
        "both queues: {per_queue:?}"
    );
    server.stop();
}

/// (4a) `kill -9` the server (its link and map pinned in a state directory)
///  while an unprivileged client receives: frames sent after the kill
///  still arrive, every one; the pin is what holds the program.
#[test]
fn a_killed_server_leaves_its_client_receiving() {
    if !privileged("a_killed_server_leaves_its_client_receiving") {
        return;
    }
    let _serial = serial();
    killed_server(false);
}

/// (4b) A restart no client notices: after the `kill -9`, a new server with
///  the same state directory adopts the attachment (same program, same
///  map), replaces the stale socket and serves new clients, while the
///  old client keeps receiving; stopped without `--keep-attached`, it
///  detaches and unpins.
#[test]
fn a_restarted_server_adopts_the_attachment() {
    if !privileged("a_restarted_server_adopts_the_attachment") {
        return;
    }
    let _serial = serial();
    killed_server(true);
}

fn killed_server(restart: bool) {
    const PART: u32 = 1500;
    let ns = NetNs::new("hsrestart");
    let _veth = Veth::new(&ns, 1);
    let dir = TempDir::uncreated("hsdir");
    with_bpffs(|bpf| {
        let state = bpf.join("state");
        let (link_pin, map_pin) = (state.join("xa/link"), state.join("xa/xsks_map"));
        let args = [
            "--allow-any-pod",
            "--dir",
            dir.to_str(),
            "--socket-owner",
            "65534",
            "--state-dir",
            state.to_str().unwrap(),
        ];
        let mut keep = args.to_vec();
        keep.push("--keep-attached");
        let mut first = Serve::start(&ns, &keep);
        assert!(first.line.contains("attached prog id"), "{}", first.line);
        assert!(link_pin.exists() && map_pin.exists());
        let sock = dir.path().join("xa/afxdp.sock");
        let vdev = format!("iface=xa,use_cni=1,dp_path={}", sock.display());
        let parts = if restart { 3 } else { 2 };
        let count = (parts * PART).to_string();
        let mut rx = start_rx(nobody(
            &ns,
            &["rx", "--vdev", &vdev, "--count", &count, "--json"],
        ));
        let mut sent = frames(0, PART, 1);
        send(&ns, &sent);
        first.p.kill9();
        assert!(
            ns.ip(&["-d", "link", "show", "xa"])
                .contains(&format!("prog/xdp id {} ", first.prog_id)),
            "the pinned link outlives the killed server"
        );
        assert!(
            std::fs::symlink_metadata(&sock)
                .unwrap()
                .file_type()
                .is_socket(),
            "a stale socket is left behind"
        );
        let after = frames(PART, PART, 1);
        send(&ns, &after);
        sent.extend(after);
        if !restart {
            let totals = rx_totals(&mut rx);
            assert_eq!(
                field(&totals, "rx_packets"),
                u64::from(2 * PART),
                "{totals}"
            );
            assert_eq!(field(&totals, "rx_bytes"), bytes(&sent), "{totals}");
            // The pin held the program: unpinned, it is gone.
            std::fs::remove_file(&link_pin).unwrap();
            assert!(!xdp_attached(&ns), "detached once unpinned");
            return;
        }

        // The successor adopts the attachment and replaces the stale socket.
        let mut second = Serve::start(&ns, &args);
        assert!(second.line.contains("adopted prog id"), "{}", second.line);
        assert_eq!(second.prog_id, first.prog_id, "{}", second.line);
        assert_eq!(second.map_id, first.map_id, "{}", second.line);
        let more = frames(2 * PART, PART, 1);
        send(&ns, &more);
        sent.extend(more);
        let totals = rx_totals(&mut rx);
        assert_eq!(
            field(&totals, "rx_packets"),
            u64::from(3 * PART),
            "{totals}"
        );
        assert_eq!(field(&totals, "rx_bytes"), bytes(&sent), "{totals}");
        let (code, out, err) = run(
            "get-map as nobody",
            nobody(
                &ns,
                &[
                    "get-map",
                    "--iface",
                    "xa",
                    "--dp-path",
                    sock.to_str().unwrap(),
                    "--json",
                ],
            ),
        );
        assert_eq!(code, Some(0), "{err}");
        assert!(
            out.contains(&format!("\"map_id\":{}", first.map_id)),
            "{out}"
        );
        // A new client is served through the adopted map.
        let mut rx = start_rx(nobody(
            &ns,
            &["rx", "--vdev", &vdev, "--count", "500", "--json"],
        ));
        let last = frames(0, 500, 1);
        send(&ns, &last);
        let totals = rx_totals(&mut rx);
        assert_eq!(field(&totals, "rx_packets"), 500, "{totals}");
        assert_eq!(field(&totals, "rx_bytes"), bytes(&last), "{totals}");

        second.stop();
        assert!(!xdp_attached(&ns), "detached: {}", second.p.report());
        assert!(!link_pin.exists(), "link unpinned");
        assert!(!map_pin.exists(), "map unpinned");
        assert!(!sock.exists());
    });
}

/// (7) `--allow-uid`: a peer whose `SO_PEERCRED` uid is not allowed is
/// closed before anything is served, and the log says who and why.
#[test]
fn peers_are_logged_and_restricted_by_uid() {
    if !privileged("peers_are_logged_and_restricted_by_uid") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("hsuid");
    let _veth = Veth::new(&ns, 1);
    let dir = TempDir::uncreated("hsdir");
    let mut server = Serve::start(
        &ns,
        &[
            "--allow-any-pod",
            "--dir",
            dir.to_str(),
            "--socket-owner",
            "65534",
            "--allow-uid",
            "0",
        ],
    );
    let sock = dir.path().join("xa/afxdp.sock");
    let get_map = [
        "get-map",
        "--iface",
        "xa",
        "--dp-path",
        sock.to_str().unwrap(),
    ];
    let mut p = Proc::spawn("get-map as nobody", nobody(&ns, &get_map));
    let pid = p.pid();
    let st = p.wait(Duration::from_secs(30));
    let err = p.stderr_text();
    assert_eq!(st.code(), Some(1), "{}", p.report());
    assert!(
        err.starts_with("sockctl: device-plugin handshake") && err.contains("/connect"),
        "{err}"
    );
    let logged = server.p.wait_stdout(|l| l.contains("uid 65534"));
    assert_eq!(
        logged,
        format!("xa: peer pid {pid} uid 65534 gid 65534, pod -: nothing served; uid not allowed")
    );
    // Root (uid 0) is served, and logged as such.
    let (code, out, err) = run("get-map as root", root(&ns, &get_map));
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains(&format!("XSKMAP id {}", server.map_id)),
        "{out}"
    );
    let logged = server.p.wait_stdout(|l| l.contains(" uid 0 "));
    assert!(logged.ends_with("host_ok, map xa; fin"), "{logged}");
    server.stop();
}

/// (8) The server's files: no symlink is followed where it makes its
/// directory or socket, a stale socket is replaced, anything else in the
/// socket's place is left alone and refused; a refused start leaves
/// nothing attached.
#[test]
fn the_server_makes_its_files_safely() {
    if !privileged("the_server_makes_its_files_safely") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("hspaths");
    let _veth = Veth::new(&ns, 1);
    let serve = |dir: &Path| {
        run(
            "serve",
            root(
                &ns,
                &[
                    "serve",
                    "--iface",
                    "xa",
                    "--allow-any-pod",
                    "--dir",
                    dir.to_str().unwrap(),
                ],
            ),
        )
    };

    // <dir>/xa planted as a symlink to another directory.
    let dir = TempDir::uncreated("hsdir");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.path().join("xa")).unwrap();
    let (code, _, err) = serve(dir.path());
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!("{}/xa", dir.to_str()))
            && (err.contains("ELOOP") || err.contains("symlink")),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        std::fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "nothing made there"
    );
    assert!(std::fs::symlink_metadata(dir.path().join("xa"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(
        !xdp_attached(&ns),
        "a refused start leaves nothing attached"
    );

    // The base directory itself a symlink.
    let real = TempDir::new("hsreal");
    let link = TempDir::uncreated("hslink");
    std::os::unix::fs::symlink(real.path(), link.path()).unwrap();
    let (code, _, err) = serve(link.path());
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(link.to_str()) && (err.contains("ELOOP") || err.contains("symlink")),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(real.path()).unwrap().count(), 0);
    assert!(!xdp_attached(&ns));

    // A stale socket left by a killed server is replaced.
    let dir = TempDir::uncreated("hsdir");
    let sock = dir.path().join("xa/afxdp.sock");
    let mut first = Serve::start(&ns, &["--allow-any-pod", "--dir", dir.to_str()]);
    first.p.kill9();
    assert!(std::fs::symlink_metadata(&sock)
        .unwrap()
        .file_type()
        .is_socket());
    let mut second = Serve::start(&ns, &["--allow-any-pod", "--dir", dir.to_str()]);
    let (code, out, err) = run(
        "get-map",
        root(
            &ns,
            &[
                "get-map",
                "--iface",
                "xa",
                "--dp-path",
                sock.to_str().unwrap(),
            ],
        ),
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains(&format!("XSKMAP id {}", second.map_id)),
        "{out}"
    );
    second.stop();
    assert!(!sock.exists());

    // A regular file where the socket goes: refused, left as it was.
    std::fs::create_dir_all(dir.path().join("xa")).unwrap();
    std::fs::write(&sock, "precious").unwrap();
    let (code, _, err) = serve(dir.path());
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(sock.to_str().unwrap()) && err.contains("not a socket"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&sock).unwrap(), "precious");
    assert!(!xdp_attached(&ns));

    // A symlink there (to a file elsewhere): refused, neither touched.
    std::fs::remove_file(&sock).unwrap();
    let target = dir.path().join("target");
    std::fs::write(&target, "precious").unwrap();
    std::os::unix::fs::symlink(&target, &sock).unwrap();
    let (code, _, err) = serve(dir.path());
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(sock.to_str().unwrap()) && err.contains("symlink"),
        "{err}"
    );
    assert!(std::fs::symlink_metadata(&sock)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
    assert!(!xdp_attached(&ns));
}
