//! `sockctl demo`: the whole unprivileged story on this machine, with the
//! library doing the work: a namespace and a veth pair; the device-plugin
//! side (`Server`) on one end; an unprivileged client (this binary's `rx`,
//! as uid 65534 with only NET_RAW and IPC_LOCK) receiving by the
//! handshake; frames sent from the peer end with an AF_XDP socket; a
//! summary; and full cleanup, also on SIGINT or when a step fails.

use std::io::{BufRead, BufReader};
use std::os::fd::{AsFd, OwnedFd as StdOwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use af_xdp::handshake::server::{PodPolicy, Server, ServerConfig};
use af_xdp::handshake::Owner;
use af_xdp::{FrameBuf, Netdev, PortQueue, RingSizes, SocketBuilder, Umem, UmemConfig};
use afxdp_sys::signal::{self, SigSet, SIGINT, SIGTERM};
use rustix::thread::{CapabilitySet, CapabilitySets};

use crate::args::{flag, opt, parse, Usage};
use crate::Failure;

const HELP: &str = "\
usage: sockctl demo [--packets N] [--keep-going]

The whole unprivileged AF_XDP story on this machine (needs root and iproute2):
  1. a network namespace and a veth pair dxa <-> dxb in it;
  2. the device-plugin side on dxa: XSKMAP, redirect program (a BPF link), and the
     handshake socket, as `sockctl serve` runs them;
  3. an unprivileged client: `sockctl rx --vdev iface=dxa,use_cni=1` as uid 65534
     with only CAP_NET_RAW and CAP_IPC_LOCK, which gets the XSKMAP by the handshake;
  4. N frames (default 10000) sent from dxb with an AF_XDP socket;
  5. a summary: frames sent = frames received;
  6. cleanup: client, server (program detached), socket directory, namespace,
     also on Ctrl-C or when a step fails.
Exit status 0 when every frame arrived.

examples:
  sockctl demo
  sockctl demo --packets 100000
";

const UID: u32 = 65534;
const POD: &str = "afxdp-demo";

pub fn main(args: &[String]) -> Result<(), Failure> {
    let p = parse(args, &[opt("packets"), flag("keep-going")])?;
    if p.help {
        out!("{HELP}");
        return Ok(());
    }
    let n: u64 = p.number("packets")?.unwrap_or(10_000);
    if n == 0 || n > 100_000_000 {
        return Err(Usage("--packets must be between 1 and 100000000".into()).into());
    }
    if !rustix::process::geteuid().is_root() {
        return Err(af_xdp::Error::new(
            af_xdp::ErrorKind::PermissionDenied,
            "demo",
            "",
            "needs root: it creates a namespace, attaches a program and drops a client to uid 65534",
        )
        .into());
    }
    let stop = SigSet::of(&[SIGINT, SIGTERM]);
    let old = signal::block(stop).ok();
    let result = {
        let mut demo = Demo::new();
        let r = demo.run(n, stop);
        demo.cleanup();
        r
    };
    while let Ok(Some(_)) = signal::wait_timeout(stop, 0) {}
    if let Some(m) = old {
        let _ = signal::set_mask(m);
    }
    result
}

/// Everything the demo made, undone by `cleanup` (also on drop).
struct Demo {
    ns: String,
    dir: PathBuf,
    ns_made: bool,
    client: Option<Child>,
    server_stop: Arc<AtomicBool>,
    server: Option<JoinHandle<()>>,
}

fn ip(args: &[&str]) -> Result<(), af_xdp::Error> {
    let out = Command::new("ip").args(args).output().map_err(|e| {
        af_xdp::Error::new(
            af_xdp::ErrorKind::NotFound,
            "run ip",
            args.join(" "),
            e.to_string(),
        )
        .with_hint("the demo needs iproute2 (apt-get install iproute2)")
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(af_xdp::Error::new(
            af_xdp::ErrorKind::Other,
            "ip",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

fn step(msg: &str) {
    errln!("sockctl demo: {msg}");
}

fn enter_netns(fd: &StdOwnedFd) -> Result<(), af_xdp::Error> {
    rustix::thread::move_into_link_name_space(
        fd.as_fd(),
        Some(rustix::thread::LinkNameSpaceType::Network),
    )
    .map_err(|e| {
        af_xdp::Error::sys(
            "setns",
            "network namespace",
            afxdp_core::Errno::from_raw(e.raw_os_error()),
        )
    })
}

fn open_netns(name: &str) -> Result<StdOwnedFd, af_xdp::Error> {
    let path = format!("/run/netns/{name}");
    rustix::fs::open(
        path.as_str(),
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| af_xdp::Error::sys("open", &path, afxdp_core::Errno::from_raw(e.raw_os_error())))
}

impl Demo {
    fn new() -> Demo {
        let pid = std::process::id();
        Demo {
            ns: format!("afxdp-demo-{pid}"),
            dir: PathBuf::from(format!("/tmp/afxdp-demo-{pid}")),
            ns_made: false,
            client: None,
            server_stop: Arc::new(AtomicBool::new(false)),
            server: None,
        }
    }

    fn run(&mut self, n: u64, stop: SigSet) -> Result<(), Failure> {
        let interrupted = |what: &str| -> Result<(), Failure> {
            if let Ok(Some(_)) = signal::wait_timeout(stop, 0) {
                return Err(af_xdp::Error::new(
                    af_xdp::ErrorKind::Other,
                    "demo",
                    what,
                    "interrupted",
                )
                .into());
            }
            Ok(())
        };
        step(&format!("namespace {}, veth dxa <-> dxb", self.ns));
        ip(&["netns", "add", &self.ns])?;
        self.ns_made = true;
        // No IPv6 in the namespace: no router solicitation or MLD frame
        // reaches the client besides the demo's own frames.
        let ns_fd = open_netns(&self.ns)?;
        let quiet = ns_fd
            .try_clone()
            .map_err(|e| af_xdp::Error::from_io("dup", "netns", &e))?;
        let _ = std::thread::spawn(move || {
            if enter_netns(&quiet).is_ok() {
                for which in ["all", "default"] {
                    let _ = std::fs::write(
                        format!("/proc/sys/net/ipv6/conf/{which}/disable_ipv6"),
                        "1",
                    );
                }
            }
        })
        .join();
        ip(&[
            "-n", &self.ns, "link", "add", "dxa", "type", "veth", "peer", "name", "dxb",
        ])?;
        ip(&["-n", &self.ns, "link", "set", "dxa", "up"])?;
        ip(&["-n", &self.ns, "link", "set", "dxb", "up"])?;
        interrupted("setup")?;

        // The device-plugin side, on a thread in the namespace.
        let (ready_tx, ready_rx) = mpsc::channel();
        let dir = self.dir.clone();
        let stop_flag = self.server_stop.clone();
        let server_ns = ns_fd
            .try_clone()
            .map_err(|e| af_xdp::Error::from_io("dup", "netns", &e))?;
        self.server = Some(std::thread::spawn(move || {
            let result = (|| {
                enter_netns(&server_ns)?;
                Server::new(
                    &["dxa"],
                    ServerConfig {
                        dir,
                        socket_owner: Owner {
                            uid: Some(UID),
                            gid: Some(UID),
                        },
                        pods: PodPolicy::Only(vec![POD.to_string()]),
                        ..Default::default()
                    },
                )
            })();
            let mut server = match result {
                Ok(s) => s,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let (_, prep) = server.interfaces().next().expect("one interface");
            let _ = ready_tx.send(Ok(format!(
                "prog id {}, XSKMAP id {}, {} mode",
                prep.attachment().program().id(),
                prep.map().id(),
                af_xdp::attach::mode_name(prep.mode())
            )));
            let mut log = |l: &af_xdp::handshake::server::ConnectionLog| errln!("  server: {l}");
            while !stop_flag.load(Ordering::Relaxed) {
                if let Err(e) = server.serve(Duration::from_millis(50), &mut log) {
                    errln!("  server: {e}");
                    break;
                }
            }
            let _ = server.shutdown(false, &mut log);
        }));
        let what = ready_rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| {
                af_xdp::Error::new(
                    af_xdp::ErrorKind::TimedOut,
                    "start the device-plugin side",
                    "dxa",
                    "no answer in 10 s",
                )
            })??;
        let sock = self.dir.join("dxa").join("afxdp.sock");
        step(&format!(
            "device-plugin side on dxa: {what}; handshake socket {}",
            sock.display()
        ));
        interrupted("device-plugin side")?;

        // The unprivileged client: this binary's `rx`, dropped to uid 65534.
        let exe = std::env::current_exe()
            .map_err(|e| af_xdp::Error::from_io("find this executable", "/proc/self/exe", &e))?;
        let vdev = format!("iface=dxa,use_cni=1,dp_path={}", sock.display());
        let count = n.to_string();
        step(&format!(
            "client: sockctl rx --vdev {vdev} --count {n}, as uid {UID} with only CAP_NET_RAW and CAP_IPC_LOCK"
        ));
        let client_ns = ns_fd;
        let mut cmd = Command::new(exe);
        cmd.args([
            "rx",
            "--vdev",
            &vdev,
            "--count",
            &count,
            "--duration",
            "60",
            "--json",
            "--pod-name",
            POD,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        // SAFETY: between fork and exec only raw system calls run (setns,
        // prctl, setgroups, setres[ug]id, capset, sigprocmask), no
        // allocation and no lock; the fd is owned by the parent and outlives
        // the spawn.
        unsafe {
            cmd.pre_exec(move || drop_privileges(&client_ns));
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| af_xdp::Error::from_io("start the client", "sockctl rx", &e))?;
        let stderr = child.stderr.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        self.client = Some(child);
        let (line_tx, line_rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let out_reader = std::thread::spawn(move || {
            let mut last = String::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                last = line;
            }
            last
        });
        // Ready once it says what it opened (after the XSKMAP insert).
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            interrupted("client")?;
            match line_rx.recv_timeout(Duration::from_millis(50)) {
                Ok(line) => {
                    errln!("  client: {line}");
                    if line.starts_with("sockctl rx:") {
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                _ => {
                    return Err(af_xdp::Error::new(
                        af_xdp::ErrorKind::Other,
                        "start the client",
                        "sockctl rx",
                        "it did not open its port (see its output above)",
                    )
                    .into())
                }
            }
        }

        // The traffic, from the peer end, with an AF_XDP socket of its own.
        let sender_ns = open_netns(&self.ns)?;
        let sent = std::thread::spawn(move || -> Result<u64, af_xdp::Error> {
            enter_netns(&sender_ns)?;
            send_frames("dxb", n)
        })
        .join()
        .map_err(|_| {
            af_xdp::Error::new(
                af_xdp::ErrorKind::Other,
                "send frames",
                "dxb",
                "the sender panicked",
            )
        })??;
        step(&format!("sent {sent} frames from dxb"));

        // Wait for the client to count them (or give up).
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            while let Ok(line) = line_rx.try_recv() {
                errln!("  client: {line}");
            }
            interrupted("client")?;
            let child = self.client.as_mut().expect("spawned");
            if let Some(st) = child
                .try_wait()
                .map_err(|e| af_xdp::Error::from_io("wait for the client", "sockctl rx", &e))?
            {
                break Some(st);
            }
            if Instant::now() > deadline {
                let _ = rustix::process::kill_process(
                    rustix::process::Pid::from_child(child),
                    rustix::process::Signal::INT,
                );
                break child.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.client = None;
        while let Ok(line) = line_rx.recv_timeout(Duration::from_millis(100)) {
            errln!("  client: {line}");
        }
        let json = out_reader.join().unwrap_or_default();
        let received = json_u64(&json, "rx_packets").unwrap_or(0);
        outln!("frames sent     {sent}");
        outln!("frames received {received}  (by uid {UID}, by handshake, with only NET_RAW and IPC_LOCK)");
        if sent == received && status.is_some_and(|s| s.success()) {
            outln!("frames sent = frames received");
            Ok(())
        } else {
            outln!("frames sent != frames received");
            Err(Failure::Silent(1))
        }
    }

    /// Undoes everything, in order; safe to call twice.
    fn cleanup(&mut self) {
        if let Some(mut c) = self.client.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.server_stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.server.take() {
            let _ = h.join();
        }
        if self.ns_made {
            self.ns_made = false;
            match ip(&["netns", "del", &self.ns]) {
                Ok(()) => step(&format!(
                    "cleaned up: client stopped, program detached, namespace {} deleted",
                    self.ns
                )),
                Err(e) => errln!("sockctl demo: cleanup: {e}"),
            }
        }
        remove_dir_quietly(&self.dir);
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.cleanup();
    }
}

fn remove_dir_quietly(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

/// Reads `"key":<number>` from a flat JSON object.
fn json_u64(json: &str, key: &str) -> Option<u64> {
    let pat = format!("\"{key}\":");
    let at = json.find(&pat)? + pat.len();
    json[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

/// In the child, before exec: enter the namespace, become uid/gid 65534
/// keeping only NET_RAW and IPC_LOCK (effective, permitted, inheritable
/// and ambient, so that they survive the exec), and unblock the signals
/// the parent blocked.
fn drop_privileges(ns: &StdOwnedFd) -> std::io::Result<()> {
    let io = |e: rustix::io::Errno| std::io::Error::from_raw_os_error(e.raw_os_error());
    rustix::thread::move_into_link_name_space(
        ns.as_fd(),
        Some(rustix::thread::LinkNameSpaceType::Network),
    )
    .map_err(io)?;
    rustix::thread::set_keep_capabilities(true).map_err(io)?;
    rustix::thread::set_thread_groups(&[]).map_err(io)?;
    let gid = rustix::process::Gid::from_raw(UID);
    let uid = rustix::process::Uid::from_raw(UID);
    rustix::thread::set_thread_res_gid(gid, gid, gid).map_err(io)?;
    rustix::thread::set_thread_res_uid(uid, uid, uid).map_err(io)?;
    let keep = CapabilitySet::NET_RAW | CapabilitySet::IPC_LOCK;
    rustix::thread::set_capabilities(
        None,
        CapabilitySets {
            effective: keep,
            permitted: keep,
            inheritable: keep,
        },
    )
    .map_err(io)?;
    rustix::thread::configure_capability_in_ambient_set(CapabilitySet::NET_RAW, true)
        .map_err(io)?;
    rustix::thread::configure_capability_in_ambient_set(CapabilitySet::IPC_LOCK, true)
        .map_err(io)?;
    signal::set_mask(SigSet::of(&[])).map_err(|e| std::io::Error::from_raw_os_error(e.raw()))?;
    Ok(())
}

/// Sends `n` 64-byte UDP frames from `iface` with a transmit-only AF_XDP
/// socket (no program needed on this end), paced so that a copy-mode
/// receiver keeps up. Returns the frames the kernel completed.
fn send_frames(iface: &str, n: u64) -> Result<u64, af_xdp::Error> {
    let dev = Netdev::by_name(iface)?;
    let umem = Umem::new(UmemConfig {
        frame_count: 1024,
        ..Default::default()
    })?;
    let (sock, rings) = SocketBuilder::new(&umem, &dev, 0)
        .ring_sizes(RingSizes {
            rx: 0,
            tx: 512,
            fill: 512,
            completion: 512,
        })
        .build()?;
    let mut q = PortQueue::new(sock, rings, umem.take_frames().unwrap_or_default());
    let tmpl = af_xdp::fwd::txonly_frame();
    // 16 frames every 100 µs at most (~160k frames/s): a rate a copy-mode
    // receiver keeps up with even on a busy two-core machine.
    let mut burst = FrameBuf::with_capacity(16);
    let mut queued = 0u64;
    let deadline = Instant::now() + Duration::from_secs(60);
    while q.counters().tx_packets < n && Instant::now() < deadline {
        if (queued & 0xfff) == 0 && signal::pending().is_ok_and(|p| !p.is_empty()) {
            break; // Ctrl-C: the main thread takes the signal and cleans up
        }
        let want = (n - queued).min(burst.spare() as u64) as usize;
        let got = q.alloc(&mut burst, want);
        for f in burst.iter_mut().rev().take(got) {
            q.umem().room_mut(f)[..tmpl.len()].copy_from_slice(&tmpl);
            f.set_len(tmpl.len() as u32);
        }
        queued += got as u64;
        let _ = q.transmit(&mut burst);
        std::thread::sleep(Duration::from_micros(100));
    }
    Ok(q.counters().tx_packets)
}
