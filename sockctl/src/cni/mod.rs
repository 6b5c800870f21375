//! The AF_XDP CNI plugin (`type: afxdp`): gives a pod the netdev the
//! device plugin allocated to it, the way the AF_XDP CNI of DPDK's
//! "AF_XDP in Kubernetes" guide does, inside the static `sockctl` binary
//! (run under the name `afxdp`, or as `sockctl cni`).
//!
//! It speaks the CNI spec, versions 0.3.0 to 1.1.0: the runtime sets
//! `CNI_COMMAND`, `CNI_CONTAINERID`, `CNI_NETNS`, `CNI_IFNAME`, `CNI_ARGS`
//! and `CNI_PATH`, writes the network configuration on stdin, and reads a
//! result or an error (JSON) on stdout; an error also exits non-zero.
//!
//! - `ADD`: find the device (`deviceID`) in the host's namespace, get
//!   addresses from the IPAM plugin if the configuration names one, run
//!   the `ethtoolCmds` (`-device-` and `-ip-` substituted), move the device
//!   into `CNI_NETNS` (renamed to `CNI_IFNAME` with `renameDevice`), set it
//!   up, give it the addresses and routes, and print the result with the
//!   device's MAC address (in a chain, `prevResult` with this interface,
//!   its addresses and routes appended). A failure part-way undoes what was
//!   done, the device back in the host as it was. What the device is known
//!   by is recorded for `DEL` first (`/var/lib/cni/afxdp/<network>/<container
//!   id>/<CNI_IFNAME>`: its name, its index in the pod, its permanent
//!   hardware address or else its MAC, its name in the pod).
//! - `DEL`: move the device back under its own name, up again (as the pool
//!   had it), and release the addresses; the record goes. The device is
//!   the record's, by its kind and hardware address (its permanent one,
//!   else its MAC): in the pod, at its index there, whatever the pod named
//!   it; without a record, by `prevResult`'s MAC.
//!   Idempotent: a namespace that is gone (a node reboot) or a device
//!   already back is success, not "Link not found"; a device the kernel
//!   returned to the host from a namespace that went, under its name in
//!   the pod (whatever the pod renamed it) or `dev<N>`, gets its name back,
//!   found among the host's links by its kind and hardware address (never
//!   by its name alone: `CNI_IFNAME` is the same in every pod; two such
//!   links, or its name another link's, are an error naming both, not a
//!   guess), waited for up to 2 s (the kernel returns it asynchronously);
//!   the same without `CNI_NETNS`, when there is a record. A recorded
//!   device that comes back by itself (no link kind: a NIC, a VF) and is
//!   not back by then is error 11, try again later, the record kept, for
//!   up to 60 s after the first `DEL` that missed it (then success: it was
//!   unplugged, say); a link of a kind (a veth) went with the namespace. In a chain, ours
//!   is the interface of `prevResult` with our name, not another plugin's.
//! - `CHECK`: the device is in the namespace, up, with the MAC and the
//!   addresses of `prevResult`; the IPAM plugin checks its side.
//! - `VERSION`, and `STATUS` and `GC` (1.1.0), which defer to the IPAM
//!   plugin; `GC` first undoes this network's attachments not in
//!   `cni.dev/valid-attachments`, as `DEL` does once a namespace is gone
//!   (a device the kernel returned gets its name back, up; only the host's
//!   links are looked at), and removes their records (but those of a NIC
//!   not back yet, as `DEL` waits for it) and directories left empty.
//!
//! [`run`] is the whole plugin as a function of its input (testable
//! without a process); [`main_from_process`] reads the real environment
//! and stdin.
//!
//! ```
//! use af_xdp::cni::{run, CniEnv};
//! let env = CniEnv {
//!     command: Some("VERSION".into()),
//!     ..CniEnv::default()
//! };
//! let out = run(&env, br#"{"cniVersion":"1.0.0"}"#);
//! assert_eq!(out.exit_code, 0);
//! assert!(out.stdout.contains("0.3.0"));
//! ```

pub mod config;
pub mod ethtool;
pub mod ipam;
pub mod json;
pub mod link;
mod log;
pub mod netns;
mod plugin;
pub mod result;
mod state;

use std::ffi::OsString;
use std::fmt;
use std::io::{Read, Write};
use std::path::PathBuf;

use json::{Json, ObjectBuilder};

pub use config::{NetConf, Version};
pub use result::CniResult;

/// The plugin's type, the name it is installed under.
pub const PLUGIN_TYPE: &str = "afxdp";

/// The CNI spec versions this plugin speaks, oldest first.
pub const SUPPORTED_VERSIONS: &[&str] = &["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

/// The newest of [`SUPPORTED_VERSIONS`]: what an error or `VERSION` answer
/// says when the configuration names no version it knows.
pub const LATEST_VERSION: &str = "1.1.0";

/// The error codes of the CNI spec, and this plugin's own (100 and up).
pub mod codes {
    /// The configuration's `cniVersion` is not one this plugin speaks.
    pub const INCOMPATIBLE_VERSION: u32 = 1;
    /// A field of the configuration is not supported.
    pub const UNSUPPORTED_FIELD: u32 = 2;
    /// The container (its network namespace) does not exist.
    pub const UNKNOWN_CONTAINER: u32 = 3;
    /// A required `CNI_*` variable is missing or invalid.
    pub const INVALID_ENV: u32 = 4;
    /// Reading stdin or running a helper failed.
    pub const IO_FAILURE: u32 = 5;
    /// The configuration is not valid JSON of the expected shape.
    pub const DECODE_FAILURE: u32 = 6;
    /// The configuration is invalid (a missing or bad value).
    pub const INVALID_CONFIG: u32 = 7;
    /// Transient: try again later.
    pub const TRY_AGAIN_LATER: u32 = 11;
    /// The device is not in the host's network namespace.
    pub const DEVICE_NOT_FOUND: u32 = 100;
    /// A netlink request failed (move, rename, up, address, route).
    pub const NETLINK: u32 = 101;
    /// An `ethtoolCmds` command failed.
    pub const ETHTOOL: u32 = 102;
    /// The IPAM plugin failed or gave an unusable result.
    pub const IPAM: u32 = 103;
    /// `CHECK` found the attachment not as `ADD` left it.
    pub const CHECK_FAILED: u32 = 104;
}

/// A CNI error: what the plugin prints on stdout when it fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CniError {
    /// The spec's code (1 to 99) or this plugin's ([`codes`]).
    pub code: u32,
    /// A short message.
    pub msg: String,
    /// More about it (the device, the command, the kernel's words).
    pub details: String,
}

impl CniError {
    /// An error with code `code`.
    pub fn new(code: u32, msg: impl Into<String>, details: impl Into<String>) -> Self {
        CniError {
            code,
            msg: msg.into(),
            details: details.into(),
        }
    }

    /// The error as the spec's JSON object, for configuration version
    /// `version`.
    pub fn to_json(&self, version: &str) -> String {
        ObjectBuilder::new()
            .put("cniVersion", Json::str(version))
            .put("code", Json::num(self.code))
            .put("msg", Json::str(&self.msg))
            .str_nonempty("details", &self.details)
            .build()
            .to_pretty()
    }
}

impl fmt::Display for CniError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.msg, self.code)?;
        if !self.details.is_empty() {
            write!(f, ": {}", self.details)?;
        }
        Ok(())
    }
}

impl std::error::Error for CniError {}

/// The `CNI_*` environment of one invocation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CniEnv {
    /// `CNI_COMMAND`: `ADD`, `DEL`, `CHECK`, `VERSION`, `STATUS`, `GC`.
    pub command: Option<String>,
    /// `CNI_CONTAINERID`.
    pub container_id: Option<String>,
    /// `CNI_NETNS`: the path of the container's network namespace.
    pub netns: Option<PathBuf>,
    /// `CNI_IFNAME`: the interface name the runtime asks for.
    pub ifname: Option<String>,
    /// `CNI_ARGS`: `K=V;K=V` extra arguments (passed on to IPAM).
    pub args: Option<String>,
    /// `CNI_PATH`: where to look for plugins (IPAM), `:`-separated.
    pub path: Option<OsString>,
}

impl CniEnv {
    /// The `CNI_*` variables of this process; empty ones count as unset.
    pub fn from_process() -> CniEnv {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let string = |k: &str| var(k).map(|v| v.to_string_lossy().into_owned());
        CniEnv {
            command: string("CNI_COMMAND"),
            container_id: string("CNI_CONTAINERID"),
            netns: var("CNI_NETNS").map(PathBuf::from),
            ifname: string("CNI_IFNAME"),
            args: string("CNI_ARGS"),
            path: var("CNI_PATH"),
        }
    }
}

/// What one invocation prints and exits with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Everything for stdout: a result, a version answer, an error, or
    /// nothing.
    pub stdout: String,
    /// 0 on success, 1 on error.
    pub exit_code: u8,
    /// The error, when there was one (already in `stdout` as JSON).
    pub error: Option<CniError>,
}

/// Runs one CNI invocation: `env` and the configuration `stdin` in, what
/// to print and the exit status out. Changes the system (namespaces,
/// links, IPAM state) as the command says.
pub fn run(env: &CniEnv, stdin: &[u8]) -> Outcome {
    let (version, result) = plugin::dispatch(env, stdin);
    match result {
        Ok(stdout) => Outcome {
            stdout,
            exit_code: 0,
            error: None,
        },
        Err(e) => Outcome {
            stdout: e.to_json(&version),
            exit_code: 1,
            error: Some(e),
        },
    }
}

/// The plugin as a process: reads `CNI_*` and stdin, prints the outcome
/// on stdout (and an error's one-line summary on stderr), returns the exit
/// status.
pub fn main_from_process() -> u8 {
    let env = CniEnv::from_process();
    let mut stdin = Vec::new();
    // VERSION may come with nothing on stdin; any other command without
    // a configuration fails to decode it, and says so.
    let read = std::io::stdin().read_to_end(&mut stdin);
    let out = match read {
        Err(e) => {
            let err = CniError::new(codes::IO_FAILURE, "cannot read stdin", e.to_string());
            Outcome {
                stdout: err.to_json(LATEST_VERSION),
                exit_code: 1,
                error: Some(err),
            }
        }
        Ok(_) => run(&env, &stdin),
    };
    {
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(out.stdout.as_bytes());
        if !out.stdout.is_empty() && !out.stdout.ends_with('\n') {
            let _ = o.write_all(b"\n");
        }
        let _ = o.flush();
    }
    if let Some(e) = &out.error {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{PLUGIN_TYPE}: {e}");
        if e.code == codes::INVALID_ENV && env.command.is_none() {
            let _ = writeln!(
                err,
                "hint: this is a CNI plugin: a container runtime runs it with CNI_COMMAND and the other CNI_* variables set and the network configuration on stdin (see `sockctl cni --help`)"
            );
        }
    }
    out.exit_code
}
