//! [`diagnose`]: every prerequisite of the unprivileged AF_XDP story, one
//! [`Check`] each, with what to do about the ones that fail. Works without
//! `/proc` or `/sys` (an empty root, a distroless container), as any uid:
//! what cannot be read is said, not guessed.

use std::fmt;
use std::path::PathBuf;

use rustix::process::{getrlimit, Resource};
use rustix::thread::{capabilities, capability_is_in_bounding_set, CapabilitySet};

use crate::handshake::{default_socket_path, xskmap_by_handshake, HandshakeOptions};
use crate::map::{on_bpffs, XskMap};
use crate::netdev::Netdev;
use crate::umem::{Umem, UmemConfig};
use crate::vdev::{DP_BASE_PATH, DP_MAP_NAME};

/// How a check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Fine.
    Ok,
    /// Works, with a caveat, or could not be checked.
    Warn,
    /// Something the unprivileged story needs is missing.
    Fail,
}

impl Status {
    /// `"ok"`, `"warn"` or `"fail"`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// One prerequisite, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What was checked (`kernel`, `capabilities`, `memlock`, ...).
    pub name: &'static str,
    /// How it came out.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do, when it is not fine.
    pub fix: Option<String>,
}

impl Check {
    fn new(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
        Check {
            name,
            status,
            detail: detail.into(),
            fix: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<4} {}: {}", self.status, self.name, self.detail)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n     fix: {fix}")?;
        }
        Ok(())
    }
}

/// What [`diagnose`] looks at besides the machine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DoctorOptions {
    /// The interface a client will use: its device-plugin files and what is
    /// attached to it are checked too.
    pub iface: Option<String>,
    /// Where the device plugin's socket or pinned map is (default
    /// `/tmp/afxdp_dp/<iface>/afxdp.sock` and `.../xsks_map`).
    pub dp_path: Option<PathBuf>,
    /// Do not connect to the handshake socket (the reference device plugin
    /// serves one connection per socket: a check would use it up).
    pub no_connect: bool,
    /// Pod name for the handshake check (default: the host name).
    pub pod_name: Option<String>,
    /// UMEM frames to check registration with (default 4096, DPDK's).
    pub frames: Option<u32>,
}

/// Runs every check. Never fails: a check that cannot be made says so.
///
/// ```no_run
/// use af_xdp::doctor::{diagnose, DoctorOptions, Status};
/// let checks = diagnose(&DoctorOptions { iface: Some("eth0".into()), ..Default::default() });
/// for c in &checks {
///     println!("{c}");
/// }
/// let healthy = checks.iter().all(|c| c.status != Status::Fail);
/// ```
pub fn diagnose(opts: &DoctorOptions) -> Vec<Check> {
    let mut out = vec![kernel(), af_xdp_socket()];
    let caps = capabilities(None).ok();
    out.push(capability_check(caps.map(|c| c.effective)));
    out.push(bounding_check());
    out.push(memlock(
        caps.map(|c| c.effective),
        opts.frames.unwrap_or(4096),
    ));
    out.push(unprivileged_bpf(caps.map(|c| c.effective)));
    out.push(bpf_syscall());
    out.push(bpffs());
    out.push(hugepages());
    if let Some(iface) = &opts.iface {
        out.extend(device_plugin(iface, opts));
        out.push(interface(iface));
    } else if opts.dp_path.is_some() {
        out.extend(device_plugin("", opts));
    }
    out
}

/// The running kernel's release string and (major, minor).
fn kernel_version() -> (String, (u32, u32)) {
    let uname = rustix::system::uname();
    let release = uname.release().to_string_lossy().into_owned();
    let mut nums = release
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u32>().unwrap_or(0));
    let v = (nums.next().unwrap_or(0), nums.next().unwrap_or(0));
    (release, v)
}

fn kernel() -> Check {
    let (release, v) = kernel_version();
    let detail = format!("Linux {release}");
    if v < (5, 3) {
        Check::new("kernel", Status::Fail, format!("{detail}: older than 5.3"))
            .fix("the redirect program needs 5.3 or later (bpf_redirect_map fallback flags, XSKMAP lookups)")
    } else if v < (5, 11) {
        Check::new(
            "kernel",
            Status::Warn,
            format!(
                "{detail}: AF_XDP and the redirect program work; {}",
                if v < (5, 9) {
                    "no XDP links (5.9) nor preferred busy polling (5.11)"
                } else {
                    "no preferred busy polling (5.11)"
                }
            ),
        )
        .fix("5.11 or later for busy_budget; 5.9 or later so that no client can detach the program")
    } else {
        Check::new(
            "kernel",
            Status::Ok,
            format!("{detail}: AF_XDP, the redirect program, XDP links and busy polling"),
        )
    }
}

fn af_xdp_socket() -> Check {
    match afxdp_sys::xsk::socket() {
        Ok(_) => Check::new("af_xdp", Status::Ok, "socket(AF_XDP) works"),
        Err(e) if e == afxdp_core::Errno::EAFNOSUPPORT => {
            Check::new("af_xdp", Status::Fail, format!("socket(AF_XDP): {e}"))
                .fix("the kernel lacks CONFIG_XDP_SOCKETS")
        }
        Err(e) if e == afxdp_core::Errno::EPERM || e == afxdp_core::Errno::EACCES => {
            Check::new("af_xdp", Status::Fail, format!("socket(AF_XDP): {e}"))
                .fix("grant CAP_NET_RAW (Kubernetes: securityContext.capabilities.add: [NET_RAW])")
        }
        Err(e) => Check::new("af_xdp", Status::Fail, format!("socket(AF_XDP): {e}")),
    }
}

const CAPS: [(CapabilitySet, &str); 5] = [
    (CapabilitySet::NET_RAW, "NET_RAW"),
    (CapabilitySet::IPC_LOCK, "IPC_LOCK"),
    (CapabilitySet::BPF, "BPF"),
    (CapabilitySet::NET_ADMIN, "NET_ADMIN"),
    (CapabilitySet::SYS_ADMIN, "SYS_ADMIN"),
];

fn names(set: CapabilitySet) -> String {
    let v: Vec<&str> = CAPS
        .iter()
        .filter(|(c, _)| set.contains(*c))
        .map(|(_, n)| *n)
        .collect();
    if v.is_empty() {
        "none of NET_RAW, IPC_LOCK, BPF, NET_ADMIN, SYS_ADMIN".into()
    } else {
        v.join(" ")
    }
}

fn capability_check(eff: Option<CapabilitySet>) -> Check {
    let Some(eff) = eff else {
        return Check::new("capabilities", Status::Warn, "capget failed: cannot tell");
    };
    let role = if eff.contains(CapabilitySet::BPF | CapabilitySet::NET_ADMIN)
        || eff.contains(CapabilitySet::SYS_ADMIN | CapabilitySet::NET_ADMIN)
        || eff.contains(CapabilitySet::BPF | CapabilitySet::SYS_ADMIN)
    {
        "can be the device-plugin side too (load and attach the program)"
    } else {
        "client only: the XSKMAP must come from a device-plugin side (use_cni=1 or use_pinned_map=1)"
    };
    let detail = format!("effective: {}; {role}", names(eff));
    if !eff.contains(CapabilitySet::NET_RAW) {
        Check::new("capabilities", Status::Fail, detail).fix(
            "an AF_XDP socket needs CAP_NET_RAW; a non-root process gets it from ambient capabilities (setpriv --ambient-caps, an OCI runtime's ambient set) or from file capabilities on the binary (setcap cap_net_raw,cap_ipc_lock+ep), since Kubernetes' capabilities.add alone does not reach a non-root uid",
        )
    } else if !eff.contains(CapabilitySet::IPC_LOCK) {
        Check::new("capabilities", Status::Warn, detail).fix(
            "without CAP_IPC_LOCK the UMEM is charged to RLIMIT_MEMLOCK (see memlock); add IPC_LOCK",
        )
    } else {
        Check::new("capabilities", Status::Ok, detail)
    }
}

fn bounding_check() -> Check {
    let mut missing = Vec::new();
    let mut present = Vec::new();
    for (cap, name) in CAPS {
        match capability_is_in_bounding_set(cap) {
            Ok(true) => present.push(name),
            Ok(false) => missing.push(name),
            Err(_) => return Check::new("bounding set", Status::Warn, "cannot read it"),
        }
    }
    let detail = format!(
        "bounding: {}{}",
        if present.is_empty() {
            "none".into()
        } else {
            present.join(" ")
        },
        if missing.is_empty() {
            String::new()
        } else {
            format!(" (dropped: {})", missing.join(" "))
        }
    );
    if missing.contains(&"NET_RAW") {
        Check::new("bounding set", Status::Fail, detail)
            .fix("NET_RAW was dropped from the bounding set: the container runtime must keep it")
    } else {
        Check::new("bounding set", Status::Ok, detail)
    }
}

fn memlock(eff: Option<CapabilitySet>, frames: u32) -> Check {
    let lim = getrlimit(Resource::Memlock);
    let limit = match lim.current {
        None => "unlimited".to_string(),
        Some(n) => format!("{} KiB", n / 1024),
    };
    let need = u64::from(frames) * 2048;
    let ipc_lock = eff.is_some_and(|e| e.contains(CapabilitySet::IPC_LOCK));
    let probe = Umem::new(UmemConfig {
        frame_count: frames,
        ..Default::default()
    });
    let detail = format!(
        "RLIMIT_MEMLOCK {limit}; a UMEM of {frames} frames is {} KiB{}",
        need / 1024,
        if ipc_lock {
            ", not charged (CAP_IPC_LOCK)"
        } else {
            ", charged to the limit"
        }
    );
    let room = match (ipc_lock, lim.current) {
        (false, Some(n)) => format!(" (room for {} such UMEMs, one per queue)", n / need.max(1)),
        _ => String::new(),
    };
    match probe {
        Ok(_) if !room.is_empty() && lim.current.is_some_and(|n| n / need.max(1) < 2) => Check::new(
            "memlock",
            Status::Warn,
            format!("{detail}: registered one{room}"),
        )
        .fix("a second queue's UMEM would fail with ENOBUFS: grant CAP_IPC_LOCK or raise RLIMIT_MEMLOCK"),
        Ok(_) => Check::new("memlock", Status::Ok, format!("{detail}: registered one{room}")),
        Err(e) if e.errno() == Some(afxdp_core::Errno::EPERM) && e.op() == "socket(AF_XDP)" => {
            Check::new("memlock", Status::Warn, format!("{detail}: cannot try without an AF_XDP socket"))
        }
        Err(e) => Check::new("memlock", Status::Fail, format!("{detail}: {e}")).fix(
            "grant CAP_IPC_LOCK, or raise RLIMIT_MEMLOCK above the UMEM size (ulimit -l; Kubernetes: IPC_LOCK), or use fewer frames",
        ),
    }
}

fn unprivileged_bpf(eff: Option<CapabilitySet>) -> Check {
    let (_, v) = kernel_version();
    let bpf_cap = eff.is_some_and(|e| e.intersects(CapabilitySet::BPF | CapabilitySet::SYS_ADMIN));
    match std::fs::read_to_string("/proc/sys/kernel/unprivileged_bpf_disabled") {
        // Before 5.19 the sysctl gates every bpf() command, even the map
        // update a client makes on the map it was handed.
        Ok(val) if v < (5, 19) && val.trim() != "0" && !bpf_cap => Check::new(
            "unprivileged_bpf",
            Status::Fail,
            format!(
                "kernel.unprivileged_bpf_disabled = {} on a kernel before 5.19: a client without CAP_BPF cannot even insert its socket into the map",
                val.trim()
            ),
        )
        .fix("set kernel.unprivileged_bpf_disabled=0, grant CAP_BPF, or use kernel 5.19 or later"),
        Ok(val) => Check::new(
            "unprivileged_bpf",
            Status::Ok,
            format!(
                "kernel.unprivileged_bpf_disabled = {}: {}",
                val.trim(),
                if v >= (5, 19) {
                    "a client needs no bpf() privilege to use the map it is handed (5.19+)"
                } else {
                    "a client may use bpf() on the map it is handed"
                }
            ),
        ),
        Err(_) => Check::new(
            "unprivileged_bpf",
            Status::Ok,
            "kernel.unprivileged_bpf_disabled: cannot read /proc/sys (matters only before 5.19)",
        ),
    }
}

/// Whether bpf(2) reaches the kernel at all: a seccomp filter (Kubernetes'
/// default profile) answers EPERM before the kernel looks at the command.
fn bpf_syscall() -> Check {
    // BPF_OBJ_GET_INFO_BY_FD on fd 0, which is not a BPF object: the
    // kernel answers EINVAL (or EBADF if it is closed); a filter, EPERM.
    // SAFETY: fd 0 is only borrowed for the call; nothing is written
    // through it.
    let fd0 = unsafe { afxdp_sys::BorrowedFd::borrow_raw(0) };
    match afxdp_sys::bpf::map_info(fd0) {
        Err(afxdp_core::Errno::EPERM) => Check::new(
            "bpf syscall",
            Status::Fail,
            "bpf(2) answers EPERM before looking at its arguments: a seccomp filter blocks it",
        )
        .fix("a client needs bpf() for the map it is handed: allow bpf in the seccomp profile (Kubernetes: seccompProfile Unconfined or a custom profile)"),
        _ => Check::new("bpf syscall", Status::Ok, "bpf(2) reaches the kernel (no seccomp filter blocks it)"),
    }
}

fn bpffs() -> Check {
    match on_bpffs("/sys/fs/bpf".as_ref()) {
        Some(true) => Check::new("bpffs", Status::Ok, "mounted at /sys/fs/bpf"),
        Some(false) => Check::new("bpffs", Status::Warn, "/sys/fs/bpf is not a bpffs")
            .fix("the device-plugin side needs one for pins and --state-dir: mount -t bpf bpf /sys/fs/bpf (a client does not)"),
        None => Check::new("bpffs", Status::Warn, "no /sys/fs/bpf here")
            .fix("only the device-plugin side needs a bpffs; a client gets its map by handshake or a mounted pin"),
    }
}

fn hugepages() -> Check {
    match std::fs::read_to_string("/proc/sys/vm/nr_hugepages") {
        Ok(v) => {
            let size = std::fs::read_to_string("/proc/meminfo")
                .ok()
                .and_then(|m| {
                    m.lines()
                        .find(|l| l.starts_with("Hugepagesize:"))
                        .map(|l| l.trim_start_matches("Hugepagesize:").trim().to_string())
                })
                .unwrap_or_else(|| "the default size".into());
            Check::new(
                "hugepages",
                Status::Ok,
                format!(
                    "{} huge pages of {size} reserved (optional: UmemConfig::hugepages uses 2 MiB pages)",
                    v.trim()
                ),
            )
        }
        Err(_) => Check::new(
            "hugepages",
            Status::Ok,
            "cannot read /proc/sys/vm (optional)",
        ),
    }
}

fn device_plugin(iface: &str, opts: &DoctorOptions) -> Vec<Check> {
    let mut out = Vec::new();
    let (sock, pin) = match &opts.dp_path {
        Some(p) => (p.clone(), p.clone()),
        None => (
            default_socket_path(iface),
            PathBuf::from(format!("{DP_BASE_PATH}/{iface}/{DP_MAP_NAME}")),
        ),
    };
    use std::os::unix::fs::FileTypeExt;
    let sock_meta = std::fs::metadata(&sock).ok();
    let is_socket = sock_meta
        .as_ref()
        .is_some_and(|m| m.file_type().is_socket());
    if is_socket {
        if opts.no_connect {
            out.push(Check::new(
                "handshake",
                Status::Ok,
                format!(
                    "{} is a socket (not connected: --no-connect)",
                    sock.display()
                ),
            ));
        } else {
            let hs = HandshakeOptions {
                hostname: opts.pod_name.clone(),
                step_timeout: std::time::Duration::from_secs(2),
                ..Default::default()
            };
            out.push(
                match (
                    iface.is_empty(),
                    xskmap_by_handshake_or_probe(&sock, iface, &hs),
                ) {
                    (true, Ok(_)) => Check::new(
                        "handshake",
                        Status::Ok,
                        format!(
                            "{} answers the handshake (no interface asked for)",
                            sock.display()
                        ),
                    ),
                    (_, Ok(None)) => unreachable!("a map is asked for with an interface"),
                    (_, Ok(Some(m))) => Check::new(
                        "handshake",
                        Status::Ok,
                        format!(
                            "{} answers: XSKMAP id {} with {} entries",
                            sock.display(),
                            m.id(),
                            m.max_entries()
                        ),
                    ),
                    (_, Err(e)) => {
                        let c = Check::new("handshake", Status::Fail, e.to_string());
                        match e.hint() {
                            Some(h) => c.fix(h),
                            None => c,
                        }
                    }
                },
            );
        }
    }
    let pin_exists = std::fs::symlink_metadata(&pin).is_ok() && !is_socket_path(&pin);
    if pin_exists {
        out.push(match XskMap::open_pinned(&pin) {
            Ok(m) => Check::new(
                "pinned map",
                Status::Ok,
                format!(
                    "{}: XSKMAP id {} with {} entries, readable and writable by uid {}",
                    pin.display(),
                    m.id(),
                    m.max_entries(),
                    rustix::process::geteuid().as_raw()
                ),
            ),
            Err(e) => {
                let c = Check::new("pinned map", Status::Fail, e.to_string());
                match e.errno() {
                    Some(afxdp_core::Errno::EACCES | afxdp_core::Errno::EPERM) => c.fix(format!(
                        "BPF_OBJ_GET needs read AND write permission for uid {}: pin it 0600 owned by that uid (sockctl serve --pin-owner UID) or 0666",
                        rustix::process::geteuid().as_raw()
                    )),
                    _ => match e.hint() {
                        Some(h) => c.fix(h),
                        None => c,
                    },
                }
            }
        });
    }
    if !is_socket && !pin_exists {
        out.push(
            Check::new(
                "device plugin",
                Status::Fail,
                format!("nothing at {} nor {}", sock.display(), pin.display()),
            )
            .fix("start the device-plugin side (sockctl serve --iface IF ...), and mount its directory here"),
        );
    }
    out
}

/// The XSKMAP of `iface` by handshake, or (no interface) just a handshake.
fn xskmap_by_handshake_or_probe(
    sock: &std::path::Path,
    iface: &str,
    hs: &HandshakeOptions,
) -> crate::Result<Option<XskMap>> {
    if iface.is_empty() {
        crate::handshake::probe_handshake(sock, hs).map(|()| None)
    } else {
        xskmap_by_handshake(sock, iface, hs).map(Some)
    }
}

fn is_socket_path(p: &std::path::Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(p).is_ok_and(|m| m.file_type().is_socket())
}

fn interface(iface: &str) -> Check {
    let dev = match Netdev::by_name(iface) {
        Ok(d) => d,
        Err(e) => {
            return Check::new("interface", Status::Fail, e.to_string())
                .fix("check the name; in a pod, the CNI moves the interface into its namespace")
        }
    };
    let q = dev.queue_count();
    match crate::attach::query(&dev) {
        Ok(st) => match st.prog_id {
            Some(id) => Check::new(
                "interface",
                Status::Ok,
                format!(
                    "{iface}: {} queues (from {}), XDP prog id {id} attached ({} mode)",
                    q.count,
                    q.source,
                    crate::attach::mode_name(st.mode)
                ),
            ),
            None => Check::new(
                "interface",
                Status::Warn,
                format!(
                    "{iface}: {} queues (from {}), no XDP program attached",
                    q.count, q.source
                ),
            )
            .fix(
                "nothing is redirected to AF_XDP until the device-plugin side attaches its program",
            ),
        },
        Err(e) => Check::new("interface", Status::Warn, format!("{iface}: {e}")),
    }
}

/// The checks as one JSON object: `{"checks":[{"name","status","detail","fix"}],"ok":N,"warn":N,"fail":N}`.
pub fn to_json(checks: &[Check]) -> String {
    let esc = |s: &str| {
        let mut o = String::with_capacity(s.len() + 2);
        o.push('"');
        for c in s.chars() {
            match c {
                '"' => o.push_str("\\\""),
                '\\' => o.push_str("\\\\"),
                c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
                c => o.push(c),
            }
        }
        o.push('"');
        o
    };
    let items: Vec<String> = checks
        .iter()
        .map(|c| {
            format!(
                "{{\"name\":{},\"status\":{},\"detail\":{},\"fix\":{}}}",
                esc(c.name),
                esc(c.status.name()),
                esc(&c.detail),
                c.fix.as_deref().map_or("null".to_string(), esc)
            )
        })
        .collect();
    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    format!(
        "{{\"checks\":[{}],\"ok\":{},\"warn\":{},\"fail\":{}}}",
        items.join(","),
        count(Status::Ok),
        count(Status::Warn),
        count(Status::Fail)
    )
}
