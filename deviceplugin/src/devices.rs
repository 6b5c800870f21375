//! Which netdevs each pool holds (from sysfs, once, at start), and whether
//! each one is healthy now (by ioctl, every poll).
//!
//! Discovery reads `/sys/class/net`: a device's driver is the link
//! `device/driver`, its PCI address the link `device`, its MAC `address`.
//! Health asks the kernel directly (`SIOCGIFINDEX`, `SIOCGIFFLAGS`), which
//! answers for the daemon's network namespace whatever sysfs shows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::{
    parse_mac, valid_ifname, Config, DeviceSelector, DriverSelector, PoolConfig,
    PROHIBITED_PREFIXES,
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
}

/// The devices of each pool (by pool name, in config order), each device in
/// at most one pool. `node` is this node's name, for `nodes` entries.
pub fn discover(
    config: &Config,
    host: &dyn HostNetdevs,
    node: &str,
) -> Vec<(PoolConfig, Vec<String>)> {
    let names = host.names();
    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    for pool in &config.pools {
        let (devices, drivers) = match pool.nodes.iter().find(|n| n.hostname == node) {
            Some(n) => {
                debug!(
                    "pool {}: using the devices configured for node {node}",
                    pool.name
                );
                (&n.devices, &n.drivers)
            }
            None => (&pool.devices, &pool.drivers),
        };
        let mut picked: Vec<String> = Vec::new();
        let mut take = |dev: String, why: &str, picked: &mut Vec<String>| {
            if prohibited(&dev) {
                warn!("pool {}: {dev} ({why}) is never pooled (its name starts with one of {PROHIBITED_PREFIXES:?})", pool.name);
                return false;
            }
            if let Some(other) = taken.get(&dev) {
                if other != &pool.name {
                    warn!(
                        "pool {}: {dev} ({why}) is already in pool {other}",
                        pool.name
                    );
                }
                return false;
            }
            info!("pool {}: {dev} ({why})", pool.name);
            taken.insert(dev.clone(), pool.name.clone());
            picked.push(dev);
            true
        };
        for sel in devices {
            match resolve(sel, host, &names) {
                // A device named explicitly is pooled even while absent: it
                // is reported unhealthy until it appears.
                Some(dev) => {
                    take(dev, &describe(sel), &mut picked);
                }
                None => warn!("pool {}: no netdev has {}", pool.name, describe(sel)),
            }
        }
        for drv in drivers {
            let mut n = 0;
            for dev in &names {
                if drv.primary.is_some_and(|max| n >= max) {
                    break;
                }
                if host.driver(dev).as_deref() != Some(drv.name.as_str())
                    || excluded(drv, dev, host)
                {
                    continue;
                }
                if take(dev.clone(), &format!("driver {}", drv.name), &mut picked) {
                    n += 1;
                }
            }
        }
        if picked.is_empty() {
            warn!(
                "pool {}: no devices on this node: not registered",
                pool.name
            );
            continue;
        }
        out.push((pool.clone(), picked));
    }
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
            .map(|(p, d)| (p.name.as_str(), d.iter().map(String::as_str).collect()))
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
}
