//! Which netdevs each pool holds (from sysfs, at start and at health polls
//! after, and from kubelet's allocations at start or once kubelet answers),
//! and whether each one is healthy now (by ioctl, every poll).
//!
//! Discovery reads `/sys/class/net`: a device's driver is the link
//! `device/driver`, its PCI address the link `device`, its port
//! `dev_port`, its MAC `address`.
//! Health asks the kernel directly (`SIOCGIFINDEX`, `SIOCGIFFLAGS`), which
//! answers for the daemon's network namespace whatever sysfs shows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use afxdp_core::abi::ethtool::is_fallback_ifname;

use crate::config::{
    parse_mac, valid_ifname, Config, DeviceSelector, DriverSelector, PROHIBITED_PREFIXES,
};
use crate::{debug, info, warn};

/// Whether `name` is one of the interfaces that are never pooled.
pub fn prohibited(name: &str) -> bool {
    PROHIBITED_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// What discovery needs to know of the host's netdevs.
pub trait HostNetdevs {
    /// Names of all netdevs.
    fn names(&self) -> Vec<String>;
    /// The driver of `name`, if it has a device with a driver.
    fn driver(&self, name: &str) -> Option<String>;
    /// The PCI address of `name`, if it is a PCI device.
    fn pci(&self, name: &str) -> Option<String>;
    /// The MAC address of `name`.
    fn mac(&self, name: &str) -> Option<[u8; 6]>;
    /// Where the device behind `name` is in the kernel's device tree, if it
    /// has one (a virtio or other bus device; `None` for a virtual link).
    fn device_path(&self, _name: &str) -> Option<String> {
        None
    }
    /// Which port of its device `name` is (`dev_port`: several netdevs
    /// can share one PCI function); 0 if it does not say.
    fn dev_port(&self, _name: &str) -> u32 {
        0
    }
}

/// The netdevs under a sysfs `class/net` directory.
#[derive(Clone, Debug)]
pub struct Sysfs {
    root: PathBuf,
}

impl Sysfs {
    /// `/sys/class/net`.
    pub fn system() -> Sysfs {
        Sysfs::at("/sys/class/net")
    }

    /// Another `class/net` directory (for tests).
    pub fn at(root: impl Into<PathBuf>) -> Sysfs {
        Sysfs { root: root.into() }
    }

    fn link_name(path: &Path) -> Option<String> {
        let target = std::fs::read_link(path).ok()?;
        Some(target.file_name()?.to_string_lossy().into_owned())
    }
}

impl HostNetdevs for Sysfs {
    fn names(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        let mut names: Vec<String> = dir
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn driver(&self, name: &str) -> Option<String> {
        Self::link_name(&self.root.join(name).join("device/driver"))
    }

    fn pci(&self, name: &str) -> Option<String> {
        let dev = self.root.join(name).join("device");
        let subsystem = Self::link_name(&dev.join("subsystem"))?;
        (subsystem == "pci")
            .then(|| Self::link_name(&dev))
            .flatten()
    }

    fn mac(&self, name: &str) -> Option<[u8; 6]> {
        let s = std::fs::read_to_string(self.root.join(name).join("address")).ok()?;
        parse_mac(s.trim())
    }

    fn device_path(&self, name: &str) -> Option<String> {
        let p = std::fs::canonicalize(self.root.join(name).join("device")).ok()?;
        Some(p.to_string_lossy().into_owned())
    }

    fn dev_port(&self, name: &str) -> u32 {
        std::fs::read_to_string(self.root.join(name).join("dev_port"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }
}

/// What identifies a device's hardware whatever its name: its PCI address
/// and port; for a device on another bus (virtio), its place in the device
/// tree and port; for a virtual link, its MAC. Not always unique (a VLAN
/// has its parent's MAC): [`pick`] takes two netdevs there at once for two
/// devices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hw {
    /// A PCI function's address (`0000:18:00.0`) and the netdev's port on
    /// it.
    Pci(String, u32),
    /// The device's path under `/sys/devices`, for one not on PCI, and the
    /// port.
    Device(String, u32),
    /// The hardware address of a link with no device.
    Mac([u8; 6]),
}

impl Hw {
    /// The identity of netdev `name` now, if it is there.
    pub fn of(host: &dyn HostNetdevs, name: &str) -> Option<Hw> {
        let port = || host.dev_port(name);
        host.pci(name)
            .map(|p| Hw::Pci(p, port()))
            .or_else(|| host.device_path(name).map(|d| Hw::Device(d, port())))
            .or_else(|| host.mac(name).map(Hw::Mac))
    }
}

impl std::fmt::Display for Hw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hw::Pci(p, 0) => write!(f, "PCI address {p}"),
            Hw::Pci(p, n) => write!(f, "PCI address {p} port {n}"),
            Hw::Device(p, 0) => write!(f, "device {p}"),
            Hw::Device(p, n) => write!(f, "device {p} port {n}"),
            Hw::Mac(m) => write!(f, "MAC {}", fmt_mac(m)),
        }
    }
}

/// How long a netdev that looks like a pooled device under a transient
/// name (see [`pick`]) is not taken: a while for the CNI to give a returned
/// device its name back (its `DEL` is retried for up to 60 s, its `GC`
/// runs); past it, the name is the device's own (an administrator renamed
/// it, a VF was made again under another name), and it is taken.
pub const TRANSIENT_GRACE: Duration = Duration::from_secs(120);

/// What [`pick`] keeps from one look to the next (the netdevs it refuses
/// as transient names, and since when), and what it is told of devices
/// that may be away.
#[derive(Debug)]
pub struct Transient {
    since: BTreeMap<String, Instant>,
    refused: Vec<String>,
    grace: Duration,
    /// Devices an earlier daemon pooled, by name and hardware, that are
    /// neither pooled now nor in the host: perhaps in pods. A netdev with
    /// one's hardware is taken for it under a transient name.
    pub known_away: Vec<(Hw, String)>,
    /// Whether a netdev with the hardware of one of `known_away` is refused
    /// with no grace (while kubelet has not said which devices pods hold,
    /// the device may be its pod's yet).
    pub strict: bool,
}

impl Default for Transient {
    fn default() -> Transient {
        Transient {
            since: BTreeMap::new(),
            refused: Vec::new(),
            grace: TRANSIENT_GRACE,
            known_away: Vec::new(),
            strict: false,
        }
    }
}

impl Transient {
    /// Whether `dev`, taken for a transient name now, is still within its
    /// grace (counted from the first of an unbroken run of refusals);
    /// `forever`: refused whatever the time, and the grace starts again
    /// from now (it runs once such refusals end).
    fn refuse(&mut self, dev: &str, now: Instant, forever: bool) -> bool {
        if forever {
            self.since.insert(dev.to_string(), now);
        }
        let since = *self.since.entry(dev.to_string()).or_insert(now);
        let refused = forever || now.duration_since(since) < self.grace;
        if refused {
            self.refused.push(dev.to_string());
        }
        refused
    }

    /// After a pick: forgets the netdevs it did not refuse.
    fn settle(&mut self) {
        let refused = std::mem::take(&mut self.refused);
        self.since.retain(|d, _| refused.contains(d));
    }
}

/// What took a device into its pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum By {
    /// The pool's `devices` entry of this index (of the node's entries
    /// where the node has its own): its name, PCI address or MAC. Once it
    /// has taken a device it is satisfied: a returned device under another
    /// name is not taken again.
    Selector(usize),
    /// A `drivers` entry of this driver (it counts toward its `primary`).
    Driver(String),
    /// Kubelet's pod-resources: allocated to a pod under the pool's
    /// resource, and not in the daemon's namespace at start (a CNI moved it
    /// into the pod), so no selector could see it.
    Allocation,
}

/// A device's pool, and what took it there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pick {
    /// The pool's name.
    pub pool: String,
    /// What took it.
    pub by: By,
    /// Its hardware, as last seen (none while it has not been seen):
    /// another netdev with the same is this device under another name.
    pub hw: Option<Hw>,
}

/// A device [`pick`] took, and why (for the log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picked {
    /// The netdev's name.
    pub dev: String,
    /// Its pool and what took it.
    pub pick: Pick,
    /// The selector, in words.
    pub why: String,
}

#[cfg(test)]
impl Pick {
    /// A device of pool `a` from kubelet's allocations, with `hw` (tests).
    pub(crate) fn allocated(hw: Option<Hw>) -> Pick {
        Pick {
            pool: "a".into(),
            by: By::Allocation,
            hw,
        }
    }
}

/// Every pooled device, shared by discovery, health, Allocate and the pod
/// check. It only grows: a device that goes away stays in its pool,
/// unhealthy, as kubelet may have given it to a pod.
#[derive(Clone, Debug, Default)]
pub struct Pooled(Arc<RwLock<BTreeMap<String, Pick>>>);

impl Pooled {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Pick>> {
        // Every change is one insert: consistent after a panic too.
        self.0.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The pool of `dev`, if it is pooled.
    pub fn pool_of(&self, dev: &str) -> Option<String> {
        self.read().get(dev).map(|p| p.pool.clone())
    }

    /// Whether `pool` has a device.
    pub fn has_devices(&self, pool: &str) -> bool {
        self.read().values().any(|p| p.pool == pool)
    }

    /// Every device and its pick, as of now.
    pub fn snapshot(&self) -> BTreeMap<String, Pick> {
        self.read().clone()
    }

    /// Notes `hw` as `dev`'s identity if it has none yet (what an earlier
    /// daemon saw of a device pooled while away).
    pub fn learn(&self, dev: &str, hw: Hw) {
        let mut m = self.0.write().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = m.get_mut(dev).filter(|p| p.hw.is_none()) {
            p.hw = Some(hw);
        }
    }

    /// Notes `hw` as `dev`'s identity: what `dev`, there under its name,
    /// shows now (another device may have that name now).
    pub fn see(&self, dev: &str, hw: Hw) {
        let mut m = self.0.write().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = m.get_mut(dev) {
            p.hw = Some(hw);
        }
    }

    /// Adds `dev` with `pick` (replacing nothing: a pooled device keeps its
    /// pool); returns whether it was new.
    pub fn insert(&self, dev: &str, pick: Pick) -> bool {
        let mut m = self.0.write().unwrap_or_else(|p| p.into_inner());
        if m.contains_key(dev) {
            return false;
        }
        m.insert(dev.to_string(), pick);
        true
    }
}

/// The devices the config's selectors take now that are not in `pooled`
/// yet, pool by pool in config order, each device in at most one pool.
/// `node` is this node's name, for `nodes` entries. A device in `pooled`
/// is taken already (by its pool) and counts toward the `primary` limit of
/// the driver entry that took it; one kubelet allocated ([`By::Allocation`])
/// counts toward every limited driver entry of its pool whose driver it
/// has, or could have (absent, its driver is unknown): a limit is never
/// exceeded, at worst a device waits until that one is back.
///
/// Transient names, taken by no selector but an explicit name: a netdev
/// with the hardware ([`Hw`]) of a pooled device that is absent, or of one
/// of [`Transient::known_away`] (the same device back from a pod under the
/// pod's name for it, after a lost CNI `DEL`), and the kernel's `dev<N>`;
/// each for [`TRANSIENT_GRACE`] from the first pick that saw it
/// (`transient_names` keeps when), then taken; with
/// [`Transient::strict`], one like a `known_away` device is not taken at
/// all. A `devices` entry that has taken a device takes no other.
///
/// `quiet`: log nothing (the periodic look for new devices, which would
/// repeat the same words every time); else say what is taken and skipped.
pub fn pick(
    config: &Config,
    host: &dyn HostNetdevs,
    node: &str,
    pooled: &BTreeMap<String, Pick>,
    transient_names: &mut Transient,
    quiet: bool,
) -> Vec<Picked> {
    let names = host.names();
    let now = Instant::now();
    let mut taken: BTreeMap<String, String> = pooled
        .iter()
        .map(|(d, p)| (d.clone(), p.pool.clone()))
        .collect();
    let mut hws: Vec<(Hw, String)> = pooled
        .iter()
        .filter_map(|(d, p)| Some((p.hw.clone()?, d.clone())))
        .collect();
    // After the pooled devices: a match with one of them is said first.
    let known_from = hws.len();
    hws.extend(transient_names.known_away.iter().cloned());
    let mut out = Vec::new();
    for pool in &config.pools {
        let (devices, drivers) = match pool.nodes.iter().find(|n| n.hostname == node) {
            Some(n) => {
                if !quiet {
                    debug!(
                        "pool {}: using the devices configured for node {node}",
                        pool.name
                    );
                }
                (&n.devices, &n.drivers)
            }
            None => (&pool.devices, &pool.drivers),
        };
        let mut take = |dev: String, why: String, by: By, out: &mut Vec<Picked>| {
            if prohibited(&dev) {
                if !quiet {
                    warn!("pool {}: {dev} ({why}) is never pooled (its name starts with one of {PROHIBITED_PREFIXES:?})", pool.name);
                }
                return false;
            }
            if let Some(other) = taken.get(&dev) {
                if other != &pool.name && !quiet {
                    warn!(
                        "pool {}: {dev} ({why}) is already in pool {other}",
                        pool.name
                    );
                }
                return false;
            }
            let by_name =
                matches!(by, By::Selector(i) if matches!(devices[i], DeviceSelector::Name(_)));
            let hw = Hw::of(host, &dev);
            let away = hws
                .iter()
                .position(|(h, d)| Some(h) == hw.as_ref() && *d != dev && !names.contains(d));
            let forever = away.is_some_and(|i| i >= known_from) && transient_names.strict;
            let transient = match away.map(|i| &hws[i]) {
                _ if by_name => None,
                Some((h, other)) => Some(format!(
                    "{other} under another name (the same {h}), back from a pod"
                )),
                None if is_fallback_ifname(dev.as_bytes()) => Some(
                    "the kernel's name for a device returned from a pod's namespace".to_string(),
                ),
                None => None,
            };
            if let Some(what) = transient {
                if transient_names.refuse(&dev, now, forever) {
                    if !quiet {
                        info!(
                            "pool {}: {dev} ({why}) is {what}: not pooled under this name for now",
                            pool.name
                        );
                    }
                    return false;
                }
                info!("pool {}: {dev} ({why}) has looked like {what} for {:?}: taken as a device of its own", pool.name, transient_names.grace);
            }
            if !quiet {
                info!("pool {}: {dev} ({why})", pool.name);
            }
            taken.insert(dev.clone(), pool.name.clone());
            if let Some(h) = &hw {
                hws.push((h.clone(), dev.clone()));
            }
            out.push(Picked {
                dev,
                pick: Pick {
                    pool: pool.name.clone(),
                    by,
                    hw,
                },
                why,
            });
            true
        };
        for (i, sel) in devices.iter().enumerate() {
            if pooled
                .values()
                .any(|p| p.pool == pool.name && p.by == By::Selector(i))
            {
                continue;
            }
            match resolve(sel, host, &names) {
                // A device named explicitly is pooled even while absent: it
                // is reported unhealthy until it appears.
                Some(dev) => {
                    take(dev, describe(sel), By::Selector(i), &mut out);
                }
                None if !quiet => warn!("pool {}: no netdev has {}", pool.name, describe(sel)),
                None => {}
            }
        }
        for drv in drivers {
            let mut n = pooled
                .iter()
                .filter(|(d, p)| {
                    p.pool == pool.name
                        && match &p.by {
                            By::Driver(name) => *name == drv.name,
                            By::Allocation => host.driver(d).is_none_or(|name| name == drv.name),
                            By::Selector(_) => false,
                        }
                })
                .count() as u64;
            for dev in &names {
                if drv.primary.is_some_and(|max| n >= u64::from(max)) {
                    break;
                }
                if host.driver(dev).as_deref() != Some(drv.name.as_str())
                    || excluded(drv, dev, host)
                {
                    continue;
                }
                let why = format!("driver {}", drv.name);
                if take(dev.clone(), why, By::Driver(drv.name.clone()), &mut out) {
                    n += 1;
                }
            }
        }
    }
    transient_names.settle();
    out
}

fn describe(sel: &DeviceSelector) -> String {
    match sel {
        DeviceSelector::Name(n) => format!("name {n}"),
        DeviceSelector::Pci(p) => format!("pci {p}"),
        DeviceSelector::Mac(m) => format!("mac {}", fmt_mac(m)),
    }
}

fn fmt_mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn resolve(sel: &DeviceSelector, host: &dyn HostNetdevs, names: &[String]) -> Option<String> {
    match sel {
        DeviceSelector::Name(n) => valid_ifname(n).then(|| n.clone()),
        DeviceSelector::Pci(p) => names
            .iter()
            .find(|n| host.pci(n).as_deref() == Some(p.as_str()))
            .cloned(),
        DeviceSelector::Mac(m) => names.iter().find(|n| host.mac(n) == Some(*m)).cloned(),
    }
}

fn excluded(drv: &DriverSelector, dev: &str, host: &dyn HostNetdevs) -> bool {
    drv.exclude.iter().any(|sel| match sel {
        DeviceSelector::Name(n) => n == dev,
        DeviceSelector::Pci(p) => host.pci(dev).as_deref() == Some(p.as_str()),
        DeviceSelector::Mac(m) => host.mac(dev) == Some(*m),
    })
}

/// A netdev's state as health sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetdevState {
    /// No netdev of that name.
    Gone,
    /// There, with this index, but not administratively up.
    Down(u32),
    /// There and up, with this index.
    Up(u32),
}

impl NetdevState {
    /// Looks `name` up in the calling thread's network namespace.
    pub fn of(name: &str) -> NetdevState {
        let Ok(index) = afxdp_sys::netdev::ifindex(name) else {
            return NetdevState::Gone;
        };
        match afxdp_sys::netdev::flags(name) {
            Ok(f) if f & afxdp_core::abi::ethtool::IFF_UP != 0 => NetdevState::Up(index),
            Ok(_) => NetdevState::Down(index),
            Err(_) => NetdevState::Gone,
        }
    }

    /// Healthy: there and up.
    pub fn healthy(self) -> bool {
        matches!(self, NetdevState::Up(_))
    }

    /// The interface index, while there.
    pub fn index(self) -> Option<u32> {
        match self {
            NetdevState::Gone => None,
            NetdevState::Down(i) | NetdevState::Up(i) => Some(i),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;
    use std::collections::HashMap;

    #[derive(Default)]
    struct FakeHost(HashMap<&'static str, (&'static str, &'static str, [u8; 6])>);

    impl HostNetdevs for FakeHost {
        fn names(&self) -> Vec<String> {
            let mut v: Vec<String> = self.0.keys().map(|s| s.to_string()).collect();
            v.sort();
            v
        }
        fn driver(&self, name: &str) -> Option<String> {
            self.0
                .get(name)
                .map(|d| d.0.to_string())
                .filter(|s| !s.is_empty())
        }
        fn pci(&self, name: &str) -> Option<String> {
            self.0
                .get(name)
                .map(|d| d.1.to_string())
                .filter(|s| !s.is_empty())
        }
        fn mac(&self, name: &str) -> Option<[u8; 6]> {
            self.0.get(name).map(|d| d.2)
        }
    }

    /// The picks on node1 with `pooled` pooled already, from a fresh
    /// [`Transient`].
    fn pick_again(c: &Config, host: &FakeHost, pooled: &BTreeMap<String, Pick>) -> Vec<Picked> {
        pick(c, host, "node1", pooled, &mut Transient::default(), false)
    }

    /// The picks on node1 from nothing pooled yet.
    fn first_pick(c: &Config, host: &FakeHost) -> Vec<Picked> {
        pick_again(c, host, &BTreeMap::new())
    }

    /// Each pool's picks from nothing pooled yet, in order.
    fn discover(c: &Config, host: &FakeHost, node: &str) -> Vec<(String, Vec<String>)> {
        group(pick(
            c,
            host,
            node,
            &BTreeMap::new(),
            &mut Transient::default(),
            false,
        ))
    }

    fn group(picks: Vec<Picked>) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for p in picks {
            match out.iter_mut().find(|(name, _)| *name == p.pick.pool) {
                Some((_, devs)) => devs.push(p.dev),
                None => out.push((p.pick.pool, vec![p.dev])),
            }
        }
        out
    }

    fn host() -> FakeHost {
        let mut h = FakeHost::default();
        h.0.insert("ens1f0", ("i40e", "0000:18:00.0", [2, 0, 0, 0, 0, 1]));
        h.0.insert("ens1f1", ("i40e", "0000:18:00.1", [2, 0, 0, 0, 0, 2]));
        h.0.insert("ens2", ("ice", "0000:3b:00.0", [2, 0, 0, 0, 0, 3]));
        h.0.insert("eth0", ("i40e", "0000:01:00.0", [2, 0, 0, 0, 0, 4]));
        h.0.insert("veth9", ("", "", [2, 0, 0, 0, 0, 5]));
        h
    }

    #[test]
    fn selects_by_driver_pci_mac_and_name_once_each() {
        let c = parse(
            r#"{"pools":[
                {"name":"a","mode":"primary","devices":[{"pci":"0000:3b:00.0"},{"mac":"02:00:00:00:00:05"},{"name":"eth0"}]},
                {"name":"b","mode":"primary","drivers":[{"name":"i40e","excludeDevices":[{"name":"ens1f1"}]},{"name":"ice"}]},
                {"name":"c","mode":"primary","drivers":[{"name":"i40e","primary":1}],
                 "nodes":[{"hostname":"other","devices":[{"name":"ens1f1"}]}]}
            ]}"#,
        )
        .unwrap();
        let got = discover(&c, &host(), "node1");
        let pools: Vec<(&str, Vec<&str>)> = got
            .iter()
            .map(|(p, d)| (p.as_str(), d.iter().map(String::as_str).collect()))
            .collect();
        // eth0 is never pooled; a takes ens2 (pci) and veth9 (mac); b takes
        // the i40e devices but excluded ens1f1, and not ens2 (already in a);
        // c takes one i40e device still free: ens1f1.
        assert_eq!(
            pools,
            vec![
                ("a", vec!["ens2", "veth9"]),
                ("b", vec!["ens1f0"]),
                ("c", vec!["ens1f1"])
            ]
        );
    }

    #[test]
    fn node_entries_replace_the_pools_devices() {
        let c = parse(
            r#"{"pools":[{"name":"a","mode":"primary","drivers":[{"name":"i40e"}],
                "nodes":[{"hostname":"node1","devices":[{"name":"ens2"},{"name":"absent0"}]}]}]}"#,
        )
        .unwrap();
        let got = discover(&c, &host(), "node1");
        assert_eq!(got[0].1, vec!["ens2".to_string(), "absent0".to_string()]);
    }

    fn pooled(entries: &[(&str, &str, By)]) -> BTreeMap<String, Pick> {
        entries
            .iter()
            .map(|(d, p, by)| {
                (
                    d.to_string(),
                    Pick {
                        pool: p.to_string(),
                        by: by.clone(),
                        hw: None,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn a_later_look_takes_only_new_devices_within_the_limits() {
        let c = parse(
            r#"{"pools":[
                {"name":"a","mode":"primary","drivers":[{"name":"i40e","primary":2}]},
                {"name":"b","mode":"primary","devices":[{"mac":"02:00:00:00:00:03"}]}
            ]}"#,
        )
        .unwrap();
        let mut h = host();
        // At start ens1f0 was in a pod (away), ens2 too: a took ens1f1,
        // b nothing.
        h.0.remove("ens1f0");
        h.0.remove("ens2");
        let start = first_pick(&c, &h);
        assert_eq!(
            group(start.clone()),
            [("a".to_string(), vec!["ens1f1".to_string()])]
        );
        let now = pooled(&[("ens1f1", "a", By::Driver("i40e".into()))]);
        // Nothing new: nothing taken twice.
        assert!(pick(&c, &h, "node1", &now, &mut Transient::default(), true).is_empty());
        // Both come back: a takes ens1f0 (its second of two), b ens2.
        let h = host();
        let later = pick(&c, &h, "node1", &now, &mut Transient::default(), true);
        assert_eq!(
            group(later.clone()),
            [
                ("a".to_string(), vec!["ens1f0".to_string()]),
                ("b".to_string(), vec!["ens2".to_string()])
            ]
        );
        assert_eq!(later[0].pick.by, By::Driver("i40e".into()));
        assert_eq!(later[0].why, "driver i40e");
        assert_eq!(later[1].pick.by, By::Selector(0));
    }

    #[test]
    fn a_device_kubelet_allocated_counts_toward_the_limit_while_away() {
        let c = parse(
            r#"{"pools":[{"name":"a","mode":"primary","drivers":[{"name":"i40e","primary":2}]}]}"#,
        )
        .unwrap();
        let mut h = host();
        h.0.remove("ens1f0");
        // ens1f0 is in a pod (kubelet says so), away: with it, a has room
        // for one more i40e device, not two.
        let now = pooled(&[("ens1f0", "a", By::Allocation)]);
        assert_eq!(
            group(pick_again(&c, &h, &now)),
            [("a".to_string(), vec!["ens1f1".to_string()])]
        );
        // Back, and of another driver: it does not count toward i40e's.
        h.0.insert("ens1f0", ("ixgbe", "0000:18:00.0", [2, 0, 0, 0, 0, 1]));
        h.0.insert("ens9", ("i40e", "0000:19:00.0", [2, 0, 0, 0, 0, 9]));
        assert_eq!(
            group(pick_again(&c, &h, &now)),
            [(
                "a".to_string(),
                vec!["ens1f1".to_string(), "ens9".to_string()]
            )]
        );
    }

    #[test]
    fn a_device_back_from_a_pod_under_another_name_is_not_pooled_again() {
        let c = parse(
            r#"{"pools":[
                {"name":"a","mode":"primary","drivers":[{"name":"i40e"}]},
                {"name":"b","mode":"primary","devices":[{"pci":"0000:3b:00.0"},{"name":"dev40"}]}
            ]}"#,
        )
        .unwrap();
        let h = host();
        let start = first_pick(&c, &h);
        assert_eq!(
            group(start.clone()),
            [
                (
                    "a".to_string(),
                    vec!["ens1f0".to_string(), "ens1f1".to_string()]
                ),
                (
                    "b".to_string(),
                    vec!["ens2".to_string(), "dev40".to_string()]
                )
            ]
        );
        assert_eq!(start[0].pick.hw, Some(Hw::Pci("0000:18:00.0".into(), 0)));
        let mut now: BTreeMap<String, Pick> = start.into_iter().map(|p| (p.dev, p.pick)).collect();
        // ens1f1 and ens2 came back from pods that went without a DEL, as
        // net1 (the pod's name) and dev17 (the kernel's): they are the
        // pooled devices, not new ones, whatever selector sees them; an
        // i40e device kubelet allocated, never seen, back as dev18 is not
        // taken either.
        let mut h = host();
        let ens1f1 = h.0.remove("ens1f1").unwrap();
        let ens2 = h.0.remove("ens2").unwrap();
        h.0.insert("net1", ens1f1);
        h.0.insert("dev17", ens2);
        h.0.insert("dev18", ("i40e", "0000:18:00.3", [2, 0, 0, 0, 0, 8]));
        now.extend(pooled(&[("ens1f3", "a", By::Allocation)]));
        let mut t = Transient::default();
        assert_eq!(group(pick(&c, &h, "node1", &now, &mut t, true)), []);
        // A new i40e VF is taken; the PCI selector that took ens2 takes
        // no other device with that address.
        h.0.insert("ens1f0v0", ("i40e", "0000:18:02.0", [2, 0, 0, 0, 0, 9]));
        assert_eq!(
            group(pick(&c, &h, "node1", &now, &mut t, true)),
            [("a".to_string(), vec!["ens1f0v0".to_string()])]
        );
        now.extend(pooled(&[("ens1f0v0", "a", By::Driver("i40e".into()))]));
        // Still transient after a while, net1 and dev18 are refused until
        // their grace is over (an administrator's rename, a VF made again
        // under another name), then taken.
        assert_eq!(group(pick(&c, &h, "node1", &now, &mut t, true)), []);
        t.grace = Duration::from_secs(1);
        t.since
            .insert("net1".into(), Instant::now() - Duration::from_secs(2));
        assert_eq!(
            group(pick(&c, &h, "node1", &now, &mut t, true)),
            [("a".to_string(), vec!["net1".to_string()])]
        );
        // What was not refused is forgotten: a later transient name gets
        // its whole grace.
        assert_eq!(t.since.keys().collect::<Vec<_>>(), ["dev18"]);
    }

    #[test]
    fn netdevs_that_share_an_identity_at_once_are_two_devices() {
        let c = parse(
            r#"{"pools":[{"name":"a","mode":"primary","drivers":[{"name":"mlx4_en"}],
                "devices":[{"mac":"02:00:00:00:00:0c"},{"name":"vlan100"},{"name":"vlan200"}]}]}"#,
        )
        .unwrap();
        let mut h = FakeHost::default();
        // Two ports of one PCI function (mlx4: dev_port tells them apart,
        // FakeHost has none: the same identity), and two VLANs with their
        // parent's MAC (no device: identified by MAC).
        h.0.insert("enp3s0", ("mlx4_en", "0000:03:00.0", [2, 0, 0, 0, 0, 0xa]));
        h.0.insert(
            "enp3s0d1",
            ("mlx4_en", "0000:03:00.0", [2, 0, 0, 0, 0, 0xb]),
        );
        h.0.insert("vlan100", ("", "", [2, 0, 0, 0, 0, 0xc]));
        h.0.insert("vlan200", ("", "", [2, 0, 0, 0, 0, 0xc]));
        let mut t = Transient::default();
        let got = pick(&c, &h, "node1", &BTreeMap::new(), &mut t, true);
        let mut devs: Vec<_> = got.iter().map(|p| p.dev.as_str()).collect();
        devs.sort();
        assert_eq!(devs, ["enp3s0", "enp3s0d1", "vlan100", "vlan200"]);
        // With vlan100 in a pod, a VLAN that takes the same MAC later is
        // named explicitly: taken at once.
        let mut now: BTreeMap<String, Pick> = got.into_iter().map(|p| (p.dev, p.pick)).collect();
        now.remove("vlan200");
        h.0.remove("vlan100");
        let got = pick(&c, &h, "node1", &now, &mut t, true);
        assert_eq!(group(got), [("a".to_string(), vec!["vlan200".to_string()])]);
    }

    #[test]
    fn a_device_an_earlier_daemon_pooled_is_known_under_another_name() {
        let c = parse(r#"{"pools":[{"name":"a","mode":"primary","drivers":[{"name":"i40e"}]}]}"#)
            .unwrap();
        // ens1f1, which an earlier daemon pooled, is net1 now (back from a
        // pod whose DEL was lost); nothing is pooled yet.
        let mut h = host();
        let ens1f1 = h.0.remove("ens1f1").unwrap();
        h.0.insert("net1", ens1f1);
        let mut t = Transient {
            known_away: vec![(Hw::Pci("0000:18:00.1".into(), 0), "ens1f1".into())],
            strict: true,
            grace: Duration::ZERO,
            ..Transient::default()
        };
        let none = BTreeMap::new();
        // While kubelet has not answered: not taken, whatever the grace.
        assert_eq!(
            group(pick(&c, &h, "node1", &none, &mut t, true)),
            [("a".to_string(), vec!["ens1f0".to_string()])]
        );
        // After: as any transient name, its grace counted from the last
        // strict refusal, not the first.
        t.grace = Duration::from_secs(1);
        t.since
            .insert("net1".into(), Instant::now() - Duration::from_secs(2));
        t.strict = true;
        pick(&c, &h, "node1", &none, &mut t, true);
        t.strict = false;
        assert_eq!(
            group(pick(&c, &h, "node1", &none, &mut t, true)),
            [("a".to_string(), vec!["ens1f0".to_string()])]
        );
        t.grace = Duration::ZERO;
        let got = group(pick(&c, &h, "node1", &none, &mut t, true));
        assert_eq!(
            got,
            [(
                "a".to_string(),
                vec!["ens1f0".to_string(), "net1".to_string()]
            )]
        );
    }
}
