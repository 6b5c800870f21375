//! Network namespaces, veth pairs (in a namespace or on the host) and a private
//! bpffs, all cleaned up.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;

use crate::run;

static COUNTER: AtomicU32 = AtomicU32::new(0);
static SWEEP: Once = Once::new();

/// A unique name for a kernel object or path of this test process.
fn unique(tag: &str) -> String {
    format!(
        "afxdp-{tag}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Deletes namespaces left behind by test processes that no longer exist
/// (killed before their `Drop` ran).
fn sweep_stale_namespaces() {
    let Ok(dir) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("afxdp-") {
            continue;
        }
        // afxdp-<tag>-<pid>-<n>
        let mut parts = name.rsplitn(3, '-');
        let (_n, pid) = (parts.next(), parts.next());
        let Some(pid) = pid.and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("ip").args(["netns", "del", &name]).status();
        }
    }
}

/// A network namespace named `afxdp-<tag>-<pid>-<n>`, deleted on drop.
#[derive(Debug)]
pub struct NetNs {
    name: String,
}

impl NetNs {
    /// Creates the namespace, brings up its loopback and turns IPv6 off in
    /// it, so that no router solicitation or MLD frame adds to what a test
    /// counts.
    pub fn new(tag: &str) -> NetNs {
        SWEEP.call_once(sweep_stale_namespaces);
        let name = unique(tag);
        run("ip", &["netns", "add", &name]);
        let ns = NetNs { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns.exec(&[
            "sysctl",
            "-q",
            "-w",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ]);
        ns
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n <ns> args...`.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// Runs `ip netns exec <ns> args...`, panicking on failure.
    pub fn exec(&self, args: &[&str]) -> String {
        let mut all = vec!["netns", "exec", &self.name];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// A command that runs `program` inside the namespace (through
    /// `ip netns exec`, which also remounts /sys for it).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).arg(program);
        cmd
    }

    /// Runs `f` on a thread that has entered the namespace; sockets and
    /// netlink requests made there belong to it. A panic in `f` is passed on.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = CString::new(format!("/run/netns/{}", self.name)).unwrap();
        std::thread::scope(|s| {
            let handle = s.spawn(move || {
                // SAFETY: `path` is a valid C string.
                let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
                assert!(
                    fd >= 0,
                    "open {path:?}: {}",
                    std::io::Error::last_os_error()
                );
                // SAFETY: `fd` is a namespace fd we own; setns changes only
                // this thread's network namespace.
                let rc = unsafe { libc::setns(fd, libc::CLONE_NEWNET) };
                let err = std::io::Error::last_os_error();
                // SAFETY: we own `fd`.
                unsafe { libc::close(fd) };
                assert_eq!(rc, 0, "setns {path:?}: {err}");
                f()
            });
            match handle.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let out = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "ip netns del {}: {}",
                self.name,
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("ip netns del {}: {e}", self.name),
        }
    }
}

/// A veth pair `a` <-> `b` inside a namespace, both ends up.
#[derive(Debug, Clone)]
pub struct Veth {
    /// The end a test attaches to (XDP, AF_XDP).
    pub a: String,
    /// The peer, where frames are sent from and captured.
    pub b: String,
}

impl Veth {
    /// Creates `xa`/`xb` in `ns` with `queues` RX and TX queues on each end.
    pub fn new(ns: &NetNs, queues: u32) -> Veth {
        let q = queues.to_string();
        ns.ip(&[
            "link",
            "add",
            "xa",
            "numtxqueues",
            &q,
            "numrxqueues",
            &q,
            "type",
            "veth",
            "peer",
            "name",
            "xb",
            "numtxqueues",
            &q,
            "numrxqueues",
            &q,
        ]);
        ns.ip(&["link", "set", "xa", "address", "02:00:00:00:00:0a", "up"]);
        ns.ip(&["link", "set", "xb", "address", "02:00:00:00:00:0b", "up"]);
        Veth {
            a: "xa".into(),
            b: "xb".into(),
        }
    }

    /// The MAC address of `a`.
    pub const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 0x0a];
    /// The MAC address of `b`.
    pub const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 0x0b];
}

/// A veth pair `dev` <-> `peer` in the host's network namespace, where a
/// CNI plugin finds the device it moves into a container; both ends are
/// deleted on drop. Name them after the test process (the pid), with a
/// prefix no other test uses.
#[derive(Debug)]
pub struct HostVeth {
    /// The end handed to the device plugin and the CNI.
    pub dev: String,
    /// The end that stays on the host, where frames are sent from.
    pub peer: String,
}

impl HostVeth {
    /// Creates the pair (first deleting one of these names that a killed
    /// test process left), with IPv6 off on `peer` (no router solicitation
    /// or MLD that a receiver would count) and `peer` up; `dev` is set up
    /// too when `dev_up`.
    pub fn new(dev: &str, peer: &str, dev_up: bool) -> HostVeth {
        let v = HostVeth {
            dev: dev.into(),
            peer: peer.into(),
        };
        v.delete();
        run(
            "ip",
            &["link", "add", dev, "type", "veth", "peer", "name", peer],
        );
        let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{peer}/disable_ipv6"), "1");
        run("ip", &["link", "set", peer, "up"]);
        if dev_up {
            run("ip", &["link", "set", dev, "up"]);
        }
        v
    }

    /// Whether `dev` is in the host's namespace now (`ip link show dev`).
    pub fn dev_on_host(&self) -> bool {
        Command::new("ip")
            .args(["link", "show", &self.dev])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn delete(&self) {
        for n in [&self.dev, &self.peer] {
            let _ = Command::new("ip")
                .args(["link", "del", n])
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Drop for HostVeth {
    fn drop(&mut self) {
        self.delete();
    }
}

/// Runs `f` with a fresh bpffs mounted at a unique directory, in a private
/// mount namespace of its own thread: the mount (and everything pinned in it)
/// disappears when `f` returns, even if the process is killed.
pub fn with_bpffs<T: Send>(f: impl FnOnce(&Path) -> T + Send) -> T {
    // The mount point; outside the private mount namespace it stays an
    // empty directory, removed on drop.
    let mount_point = crate::TempDir::new("bpffs");
    let result = std::thread::scope(|s| {
        let dir = mount_point.path();
        s.spawn(move || {
            // SAFETY: unshare affects only this thread's mount namespace (and
            // its fs attributes, CLONE_FS being implied).
            let rc = unsafe { libc::unshare(libc::CLONE_NEWNS) };
            assert_eq!(
                rc,
                0,
                "unshare(CLONE_NEWNS): {}",
                std::io::Error::last_os_error()
            );
            mount(None, Path::new("/"), None, libc::MS_REC | libc::MS_PRIVATE);
            mount(Some("bpf"), dir, Some("bpf"), 0);
            f(dir)
        })
        .join()
    });
    drop(mount_point);
    match result {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

fn mount(src: Option<&str>, target: &Path, fstype: Option<&str>, flags: libc::c_ulong) {
    let c = |s: &str| CString::new(s).unwrap();
    let src = src.map(c);
    let fstype = fstype.map(c);
    let target_c = c(target.to_str().unwrap());
    let ptr = |o: &Option<CString>| o.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    // SAFETY: every pointer is null or a valid C string for the call.
    let rc = unsafe {
        libc::mount(
            ptr(&src),
            target_c.as_ptr(),
            ptr(&fstype),
            flags,
            std::ptr::null(),
        )
    };
    assert_eq!(
        rc,
        0,
        "mount {target:?}: {}",
        std::io::Error::last_os_error()
    );
}

/// A unique path under the temp directory (not created).
pub fn unique_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(unique(tag))
}
