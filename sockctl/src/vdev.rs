//! [`Vdev`]: the device arguments of DPDK's `net_af_xdp` PMD
//! (`--vdev net_af_xdp0,iface=eth0,start_queue=0,queue_count=2,...`), with
//! the same names, meanings and defaults, so that a DPDK user can point
//! `sockctl rx` at the same setup.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::attach::XdpMode;

/// Where a device plugin keeps its per-interface files (DPDK's `DP_BASE_PATH`).
pub const DP_BASE_PATH: &str = "/tmp/afxdp_dp";
/// The handshake socket's name inside `DP_BASE_PATH/<iface>/`.
pub const DP_SOCKET_NAME: &str = "afxdp.sock";
/// The pinned XSKMAP's name inside `DP_BASE_PATH/<iface>/`.
pub const DP_MAP_NAME: &str = "xsks_map";
pub use crate::busy_poll::{BUSY_POLL_TIMEOUT_US, DEFAULT_BUSY_BUDGET};

/// How the XSKMAP is obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapSource {
    /// Create the map, load and attach the program here (needs privileges).
    Load,
    /// Ask a device plugin over its Unix socket (`use_cni=1`).
    Handshake(PathBuf),
    /// Open the map pinned by a device plugin (`use_pinned_map=1`).
    Pinned(PathBuf),
}

/// Parsed `net_af_xdp` device arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vdev {
    /// `iface`: the netdev (required).
    pub iface: String,
    /// `start_queue`: first queue (default 0).
    pub start_queue: u32,
    /// `queue_count`: number of queues (default 1).
    pub queue_count: u32,
    /// `shared_umem`: one UMEM for all queues (default 0).
    pub shared_umem: bool,
    /// `busy_budget`: busy-poll budget, 0 to disable (default 64; 0 with
    /// `use_cni` or `use_pinned_map`, where it cannot be set).
    pub busy_budget: u32,
    /// `force_copy`: force copy mode (default 0).
    pub force_copy: bool,
    /// `mode`: XDP attach mode when the program is attached here (`drv` or
    /// `skb`; default: let the kernel choose).
    pub xdp_mode: Option<XdpMode>,
    /// Where the XSKMAP comes from (`use_cni`, `use_pinned_map`, `dp_path`).
    pub map: MapSource,
}

/// A bad `--vdev` string: says which argument and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VdevError(pub String);

impl fmt::Display for VdevError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for VdevError {}

fn flag(key: &str, v: &str) -> Result<bool, VdevError> {
    match v {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(VdevError(format!("{key}={v}: expected 0 or 1"))),
    }
}

fn number(key: &str, v: &str) -> Result<u32, VdevError> {
    v.parse()
        .map_err(|_| VdevError(format!("{key}={v}: expected a non-negative integer")))
}

impl FromStr for Vdev {
    type Err = VdevError;

    /// Parses `key=value` pairs separated by commas; a leading device name
    /// (`net_af_xdp0`) is accepted and ignored.
    ///
    /// ```
    /// use af_xdp::vdev::{MapSource, Vdev};
    /// let v: Vdev = "net_af_xdp0,iface=eth0,queue_count=2,use_cni=1".parse().unwrap();
    /// assert_eq!(v.queue_count, 2);
    /// assert_eq!(v.map, MapSource::Handshake("/tmp/afxdp_dp/eth0/afxdp.sock".into()));
    /// assert_eq!(v.busy_budget, 0);
    /// ```
    fn from_str(s: &str) -> Result<Vdev, VdevError> {
        let mut iface = None;
        let mut start_queue = 0;
        let mut queue_count = 1;
        let mut shared_umem = false;
        let mut busy_budget = None;
        let mut force_copy = false;
        let mut use_cni = false;
        let mut use_pinned_map = false;
        let mut dp_path = None;
        let mut xdp_mode = None;
        for (i, item) in s.split(',').enumerate() {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let Some((key, value)) = item.split_once('=') else {
                if i == 0 && item.starts_with("net_af_xdp") {
                    continue;
                }
                return Err(VdevError(format!("{item:?}: expected key=value")));
            };
            match key {
                "iface" => iface = Some(value.to_string()),
                "start_queue" => start_queue = number(key, value)?,
                "queue_count" => queue_count = number(key, value)?,
                "shared_umem" => shared_umem = flag(key, value)?,
                "busy_budget" => {
                    let b = number(key, value)?;
                    if b > 65535 {
                        return Err(VdevError(format!("busy_budget={b}: must be 0 to 65535")));
                    }
                    busy_budget = Some(b);
                }
                "mode" => {
                    xdp_mode = Some(match value {
                        "drv" => XdpMode::Native,
                        "skb" => XdpMode::Skb,
                        "hw" => return Err(VdevError("mode=hw: offloaded XDP is not supported".into())),
                        _ => return Err(VdevError(format!("mode={value}: expected drv or skb"))),
                    })
                }
                "force_copy" => force_copy = flag(key, value)?,
                "use_cni" => use_cni = flag(key, value)?,
                "use_pinned_map" => use_pinned_map = flag(key, value)?,
                "dp_path" => dp_path = Some(PathBuf::from(value)),
                "xdp_prog" => {
                    return Err(VdevError(
                        "xdp_prog: custom programs from ELF files are not supported; the embedded redirect program is used".into(),
                    ))
                }
                _ => return Err(VdevError(format!("unknown argument {key:?}"))),
            }
        }
        let iface = iface.ok_or_else(|| VdevError("iface=<interface> is required".into()))?;
        if iface.is_empty() || iface.len() > 15 {
            return Err(VdevError(format!(
                "iface={iface}: not a valid interface name"
            )));
        }
        if queue_count == 0 {
            return Err(VdevError("queue_count=0: at least one queue".into()));
        }
        if start_queue.checked_add(queue_count).is_none() {
            return Err(VdevError("start_queue + queue_count overflows".into()));
        }
        if use_cni && use_pinned_map {
            return Err(VdevError(
                "use_cni and use_pinned_map cannot be used together".into(),
            ));
        }
        let external = use_cni || use_pinned_map;
        if external && busy_budget.is_some_and(|b| b > 0) {
            return Err(VdevError(
                "busy_budget cannot be set with use_cni or use_pinned_map (an unprivileged process may not raise it)".into(),
            ));
        }
        if !external && dp_path.is_some() {
            return Err(VdevError(
                "dp_path needs use_cni=1 or use_pinned_map=1".into(),
            ));
        }
        let default_path = |name: &str| PathBuf::from(format!("{DP_BASE_PATH}/{iface}/{name}"));
        let map = if use_cni {
            MapSource::Handshake(dp_path.unwrap_or_else(|| default_path(DP_SOCKET_NAME)))
        } else if use_pinned_map {
            MapSource::Pinned(dp_path.unwrap_or_else(|| default_path(DP_MAP_NAME)))
        } else {
            MapSource::Load
        };
        Ok(Vdev {
            iface,
            start_queue,
            queue_count,
            shared_umem,
            busy_budget: busy_budget.unwrap_or(if external { 0 } else { DEFAULT_BUSY_BUDGET }),
            force_copy,
            xdp_mode,
            map,
        })
    }
}

impl Vdev {
    /// DPDK's defaults for `iface`: queue 0 only, its own UMEM, busy budget
    /// 64, copy mode chosen by the driver, the program loaded and attached
    /// here. Adjust the public fields from there:
    ///
    /// ```
    /// use af_xdp::vdev::{MapSource, Vdev};
    /// let v = Vdev { queue_count: 2, ..Vdev::new("eth0") };
    /// assert_eq!(v, "iface=eth0,queue_count=2".parse().unwrap());
    /// let pinned = Vdev { map: MapSource::Pinned("/sys/fs/bpf/x".into()), busy_budget: 0, ..Vdev::new("eth0") };
    /// assert_eq!(pinned, "iface=eth0,use_pinned_map=1,dp_path=/sys/fs/bpf/x".parse().unwrap());
    /// ```
    pub fn new(iface: &str) -> Vdev {
        Vdev {
            iface: iface.to_string(),
            start_queue: 0,
            queue_count: 1,
            shared_umem: false,
            busy_budget: DEFAULT_BUSY_BUDGET,
            force_copy: false,
            xdp_mode: None,
            map: MapSource::Load,
        }
    }

    /// The queues this device uses: `start_queue .. start_queue + queue_count`.
    pub fn queues(&self) -> std::ops::Range<u32> {
        self.start_queue..self.start_queue + self.queue_count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vdev, String> {
        s.parse::<Vdev>().map_err(|e| e.0)
    }

    #[test]
    fn defaults_are_dpdks() {
        let v = parse("iface=eth0").unwrap();
        assert_eq!(v.start_queue, 0);
        assert_eq!(v.queue_count, 1);
        assert_eq!(v.busy_budget, 64);
        assert!(!v.force_copy && !v.shared_umem);
        assert_eq!(v.map, MapSource::Load);
        assert_eq!(v.xdp_mode, None);
        assert_eq!(v.queues(), 0..1);
    }

    #[test]
    fn device_name_and_all_keys() {
        let v = parse("net_af_xdp0,iface=ens1,start_queue=2,queue_count=3,force_copy=1,shared_umem=1,busy_budget=0,mode=skb").unwrap();
        assert_eq!(v.iface, "ens1");
        assert_eq!(v.queues(), 2..5);
        assert!(v.force_copy && v.shared_umem);
        assert_eq!(v.busy_budget, 0);
        assert_eq!(v.xdp_mode, Some(XdpMode::Skb));
    }

    #[test]
    fn device_plugin_paths_default_like_dpdk() {
        assert_eq!(
            parse("iface=eth0,use_cni=1").unwrap().map,
            MapSource::Handshake("/tmp/afxdp_dp/eth0/afxdp.sock".into())
        );
        assert_eq!(
            parse("iface=eth0,use_pinned_map=1").unwrap().map,
            MapSource::Pinned("/tmp/afxdp_dp/eth0/xsks_map".into())
        );
        assert_eq!(
            parse("iface=eth0,use_cni=1,dp_path=/tmp/afxdp.sock")
                .unwrap()
                .map,
            MapSource::Handshake("/tmp/afxdp.sock".into())
        );
        // busy polling is off with a device plugin (explicit 0 is allowed).
        assert_eq!(
            parse("iface=eth0,use_pinned_map=1,busy_budget=0")
                .unwrap()
                .busy_budget,
            0
        );
    }

    #[test]
    fn bad_strings_say_what_is_wrong() {
        for (s, msg) in [
            ("", "iface=<interface> is required"),
            ("iface=", "not a valid interface name"),
            ("iface=averyveryverylongname", "not a valid interface name"),
            (
                "iface=a,queue_count=x",
                "queue_count=x: expected a non-negative integer",
            ),
            ("iface=a,start_queue=-1", "start_queue=-1"),
            ("iface=a,start_queue=4294967295,queue_count=2", "overflows"),
            ("iface=a,busy_budget=70000", "must be 0 to 65535"),
            ("iface=a,mode=hw", "not supported"),
            ("iface=a,mode=fast", "expected drv or skb"),
            ("iface=a,xdp_prog=/x.o", "xdp_prog"),
            ("iface=a,use_cni=2", "expected 0 or 1"),
            ("eth0", "expected key=value"),
            (
                "iface=a,use_cni=1,busy_budget=5",
                "busy_budget cannot be set",
            ),
        ] {
            let err = parse(s).unwrap_err();
            assert!(err.contains(msg), "{s:?}: {err}");
        }
    }
}
