//! The reference AF_XDP device plugin's `config.json`, read strictly.
//!
//! Keys are matched without regard to case, as the reference plugin's Go
//! decoder does (`"pools"`, `"Pools"`). Everything it validates is validated
//! the same way (pool names, `udsTimeout`, `uid`, device selectors), and
//! whatever this plugin does not do is refused rather than ignored: `cdq`
//! mode, a `secondary` count, `udsFuzz`, `kindCluster`, bpfd, unknown keys.
//! Every error names the field, as a path: `pools[0].mode: ...`.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::log::Level;

/// The resource prefix: pools are `afxdp/<pool>`.
pub const RESOURCE_PREFIX: &str = "afxdp";
/// Prefix of the environment variable that lists a container's devices.
pub const ENV_PREFIX: &str = "AFXDP_DEVICES_";
/// Interfaces whose names start with one of these are never pooled.
pub const PROHIBITED_PREFIXES: [&str; 6] = ["eno", "eth", "lo", "docker", "flannel", "cni"];

/// A config field that is wrong, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The field, as a path (`pools[1].udsTimeout`); empty for the file as
    /// a whole.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

fn err<T>(field: impl Into<String>, message: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError {
        field: field.into(),
        message: message.into(),
    })
}

/// The whole config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The device pools, one resource each.
    pub pools: Vec<PoolConfig>,
    /// `logLevel` (default `info`).
    pub log_level: Level,
    /// `logFile`: accepted for compatibility; this plugin logs to stderr.
    pub log_file: Option<String>,
}

/// One pool: a resource `afxdp/<name>` and the devices in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    /// The pool's name (letters and digits, 1 to 20).
    pub name: String,
    /// Devices named one by one.
    pub devices: Vec<DeviceSelector>,
    /// Devices selected by driver.
    pub drivers: Vec<DriverSelector>,
    /// Per-node replacements of `devices` and `drivers`.
    pub nodes: Vec<NodeConfig>,
    /// The handshake's idle timeout (`udsTimeout`; `None`: off).
    pub uds_timeout: Option<Duration>,
    /// `udsServerDisable`: no handshake socket is mounted into the pod
    /// (pinned-map pools only).
    pub uds_server_disable: bool,
    /// `bpfMapPinningEnable`: the XSKMAP is pinned and the pin mounted.
    pub bpf_map_pinning: bool,
    /// `uid`: owner of the socket and pin the pod gets (0: root).
    pub uid: u32,
}

impl PoolConfig {
    /// `afxdp/<name>`.
    pub fn resource_name(&self) -> String {
        format!("{RESOURCE_PREFIX}/{}", self.name)
    }

    /// The device plugin's socket file name, `afxdp-<name>.sock`.
    pub fn endpoint(&self) -> String {
        format!("{RESOURCE_PREFIX}-{}.sock", self.name)
    }

    /// The environment variable listing a container's devices,
    /// `AFXDP_DEVICES_<NAME>`.
    pub fn env_name(&self) -> String {
        format!("{ENV_PREFIX}{}", self.name.to_ascii_uppercase())
    }
}

/// A device, by one of its names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceSelector {
    /// The netdev's name.
    Name(String),
    /// Its PCI address (`0000:18:00.0`).
    Pci(String),
    /// Its MAC address.
    Mac([u8; 6]),
}

/// Devices of one driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverSelector {
    /// The driver's name (`i40e`, `ice`, ...).
    pub name: String,
    /// At most this many devices (`primary`; `None`: all).
    pub primary: Option<u32>,
    /// Devices of that driver left out.
    pub exclude: Vec<DeviceSelector>,
}

/// What a pool holds on one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    /// The node's host name.
    pub hostname: String,
    /// Devices named one by one.
    pub devices: Vec<DeviceSelector>,
    /// Devices selected by driver.
    pub drivers: Vec<DriverSelector>,
}

/// Reads and checks the config file at `path`; the error names the file
/// and the field.
pub fn load(path: &Path) -> Result<Config, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("read config {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("config {}: {e}", path.display()))
}

/// Parses and checks a config.
pub fn parse(text: &str) -> Result<Config, ConfigError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ConfigError {
        field: String::new(),
        message: format!("not valid JSON: {e}"),
    })?;
    let top = Obj::new(
        "",
        &value,
        &[
            "pools",
            "logFile",
            "logLevel",
            "kindCluster",
            "bpfdClientEnable",
        ],
    )?;
    top.refuse_true("kindCluster", "Kind secondary networks are not supported")?;
    top.refuse_true(
        "bpfdClientEnable",
        "loading through bpfd is not supported: this plugin loads its own program",
    )?;
    let log_level = match top.string("logLevel")? {
        None => Level::Info,
        Some(s) if s.is_empty() => Level::Info,
        Some(s) => Level::parse(&s).ok_or_else(|| ConfigError {
            field: top.path("logLevel"),
            message: format!("{s:?}: must be one of debug, info, warning, error"),
        })?,
    };
    let log_file = top.string("logFile")?.filter(|s| !s.is_empty());
    if let Some(f) = &log_file {
        let ok = f
            .strip_suffix(".log")
            .or_else(|| f.strip_suffix(".txt"))
            .is_some_and(|stem| !stem.is_empty() && stem.bytes().all(name_byte));
        if !ok {
            return err(
                top.path("logFile"),
                format!("{f:?}: must be a valid .log or .txt file name"),
            );
        }
    }
    let mut pools = Vec::new();
    for (path, v) in top.array("pools")? {
        let pool = parse_pool(&path, v)?;
        if pools.iter().any(|p: &PoolConfig| p.name == pool.name) {
            return err(
                format!("{path}.name"),
                format!("{:?}: a pool of that name is already configured", pool.name),
            );
        }
        pools.push(pool);
    }
    if pools.is_empty() {
        return err(top.path("pools"), "no pools configured: nothing to serve");
    }
    Ok(Config {
        pools,
        log_level,
        log_file,
    })
}

fn parse_pool(path: &str, v: &Value) -> Result<PoolConfig, ConfigError> {
    let o = Obj::new(
        path,
        v,
        &[
            "name",
            "mode",
            "drivers",
            "devices",
            "nodes",
            "udsServerDisable",
            "bpfMapPinningEnable",
            "bpfdClientEnable",
            "udsTimeout",
            "udsFuzz",
            "requiresUnprivilegedBpf",
            "uid",
            "bpfByteCodeImage",
            "bpfByteCodeSection",
        ],
    )?;
    let name = o.string("name")?.unwrap_or_default();
    if name.is_empty() {
        return err(o.path("name"), "a pool must have a name");
    }
    if name.len() > 20 || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return err(
            o.path("name"),
            format!("{name:?}: must be 1 to 20 letters and digits"),
        );
    }
    match o.string("mode")?.as_deref() {
        Some("primary") => {}
        Some("cdq") => {
            return err(
                o.path("mode"),
                "\"cdq\" is not supported: CDQ subfunctions are specific to one NIC family (Intel E810, ice); use \"primary\", which serves whole netdevs",
            )
        }
        None | Some("") => return err(o.path("mode"), "a pool must have a mode (\"primary\")"),
        Some(m) => return err(o.path("mode"), format!("{m:?}: must be \"primary\"")),
    }
    o.refuse_true("udsFuzz", "fuzzing inside the handshake server is a development aid of the reference plugin, not supported")?;
    o.refuse_true(
        "bpfdClientEnable",
        "loading through bpfd is not supported: this plugin loads its own program",
    )?;
    for key in ["bpfByteCodeImage", "bpfByteCodeSection"] {
        if o.string(key)?.is_some_and(|s| !s.is_empty()) {
            return err(
                o.path(key),
                "bpfd bytecode images are not supported: this plugin loads its own program",
            );
        }
    }
    // Unprivileged BPF is never needed here: accepted, nothing to do.
    let _ = o.boolean("requiresUnprivilegedBpf")?;
    let uds_timeout = match o.int("udsTimeout")? {
        None => af_xdp::handshake::server::DEFAULT_IDLE_TIMEOUT.into(),
        Some(secs) => {
            af_xdp::handshake::server::idle_timeout_from_secs(secs).map_err(|_| ConfigError {
                field: o.path("udsTimeout"),
                message: format!(
                    "{secs}: must be -1 (off), 0 (the default, 30 s) or 30 to 300 seconds"
                ),
            })?
        }
    };
    let uid = match o.int("uid")? {
        None | Some(0) => 0,
        Some(u @ 1000..=256_000) => u as u32,
        Some(u) => {
            return err(
                o.path("uid"),
                format!("{u}: must be 0 (root) or 1000 to 256000"),
            )
        }
    };
    let bpf_map_pinning = o.boolean("bpfMapPinningEnable")?.unwrap_or(false);
    let uds_server_disable = o.boolean("udsServerDisable")?.unwrap_or(false);
    if uds_server_disable && !bpf_map_pinning {
        return err(
            o.path("udsServerDisable"),
            "without the handshake socket and without bpfMapPinningEnable a pod gets no way to the XSKMAP",
        );
    }
    let devices = parse_devices(&o, "devices")?;
    let drivers = parse_drivers(&o, "drivers")?;
    let mut nodes = Vec::new();
    for (npath, nv) in o.array("nodes")? {
        let n = Obj::new(&npath, nv, &["hostname", "drivers", "devices"])?;
        let hostname = n.string("hostname")?.unwrap_or_default();
        if hostname.is_empty()
            || hostname.len() > 63
            || !hostname
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return err(
                n.path("hostname"),
                format!("{hostname:?}: must be a host name of 1 to 63 letters, digits and '-'"),
            );
        }
        let devices = parse_devices(&n, "devices")?;
        let drivers = parse_drivers(&n, "drivers")?;
        if devices.is_empty() && drivers.is_empty() {
            return err(npath, "a node must list devices or drivers");
        }
        nodes.push(NodeConfig {
            hostname,
            devices,
            drivers,
        });
    }
    if devices.is_empty() && drivers.is_empty() && nodes.is_empty() {
        return err(path, "a pool must list devices, drivers or nodes");
    }
    Ok(PoolConfig {
        name,
        devices,
        drivers,
        nodes,
        uds_timeout,
        uds_server_disable,
        bpf_map_pinning,
        uid,
    })
}

fn parse_devices(o: &Obj<'_>, key: &'static str) -> Result<Vec<DeviceSelector>, ConfigError> {
    o.array(key)?
        .into_iter()
        .map(|(path, v)| parse_device(&path, v))
        .collect()
}

fn parse_device(path: &str, v: &Value) -> Result<DeviceSelector, ConfigError> {
    let d = Obj::new(path, v, &["name", "pci", "mac", "secondary"])?;
    if d.int("secondary")?.is_some_and(|n| n != 0) {
        return err(
            d.path("secondary"),
            "secondary devices exist only in cdq mode, which is not supported",
        );
    }
    let given: Vec<(&str, String)> = ["name", "pci", "mac"]
        .into_iter()
        .filter_map(|k| match d.string(k) {
            Ok(Some(s)) if !s.is_empty() => Some(Ok((k, s))),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_, _>>()?;
    let [(key, value)] = given.as_slice() else {
        return err(
            path,
            "a device must be named by exactly one of name, pci or mac",
        );
    };
    match *key {
        "name" => {
            if !valid_ifname(value) {
                return err(d.path("name"), format!("{value:?}: not a network interface name (1 to 15 letters, digits, '-' and '_')"));
            }
            Ok(DeviceSelector::Name(value.clone()))
        }
        "pci" => {
            if !valid_pci(value) {
                return err(
                    d.path("pci"),
                    format!("{value:?}: not a PCI address (dddd:bb:dd.f, lowercase hex)"),
                );
            }
            Ok(DeviceSelector::Pci(value.clone()))
        }
        _ => match parse_mac(value) {
            Some(mac) => Ok(DeviceSelector::Mac(mac)),
            None => err(d.path("mac"), format!("{value:?}: not a MAC address")),
        },
    }
}

fn parse_drivers(o: &Obj<'_>, key: &'static str) -> Result<Vec<DriverSelector>, ConfigError> {
    let mut out = Vec::new();
    for (path, v) in o.array(key)? {
        let d = Obj::new(
            &path,
            v,
            &[
                "name",
                "primary",
                "secondary",
                "excludeDevices",
                "excludeAddressed",
            ],
        )?;
        let name = d.string("name")?.unwrap_or_default();
        if name.is_empty() || name.len() > 50 || !name.bytes().all(name_byte) {
            return err(
                d.path("name"),
                format!("{name:?}: must be a driver name of 1 to 50 letters, digits, '-' and '_'"),
            );
        }
        let primary = match d.int("primary")? {
            None | Some(0) => None,
            Some(n @ 1..=10) => Some(n as u32),
            Some(n) => {
                return err(
                    d.path("primary"),
                    format!("{n}: must be 1 to 10 (or 0: no limit)"),
                )
            }
        };
        if d.int("secondary")?.is_some_and(|n| n != 0) {
            return err(
                d.path("secondary"),
                "secondary devices exist only in cdq mode, which is not supported",
            );
        }
        d.refuse_true("excludeAddressed", "leaving out devices that have an IP address is not supported: list them in excludeDevices")?;
        let exclude = parse_devices(&d, "excludeDevices")?;
        out.push(DriverSelector {
            name,
            primary,
            exclude,
        });
    }
    Ok(out)
}

fn name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Whether `s` can be a netdev name this plugin pools (the reference
/// plugin's characters, the kernel's length).
pub fn valid_ifname(s: &str) -> bool {
    !s.is_empty() && s.len() <= 15 && s.bytes().all(name_byte)
}

fn valid_pci(s: &str) -> bool {
    let hex = |p: &str, lens: std::ops::RangeInclusive<usize>| {
        lens.contains(&p.len())
            && p.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let Some((domain, rest)) = s.split_once(':') else {
        return false;
    };
    let Some((bus, rest)) = rest.split_once(':') else {
        return false;
    };
    let Some((dev, func)) = rest.split_once('.') else {
        return false;
    };
    hex(domain, 4..=4) && hex(bus, 2..=4) && hex(dev, 2..=2) && hex(func, 1..=1)
}

/// Parses `aa:bb:cc:dd:ee:ff` (or with `-`), any case.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let sep = if s.contains('-') { '-' } else { ':' };
    let parts: Vec<&str> = s.split(sep).collect();
    if parts.len() != 6 {
        return None;
    }
    let mut mac = [0u8; 6];
    for (m, p) in mac.iter_mut().zip(parts) {
        if p.len() != 2 {
            return None;
        }
        *m = u8::from_str_radix(p, 16).ok()?;
    }
    Some(mac)
}

/// A JSON object read with case-insensitive keys, each checked against the
/// keys it may have.
struct Obj<'a> {
    path: String,
    fields: HashMap<&'static str, (&'a str, &'a Value)>,
}

impl<'a> Obj<'a> {
    fn new(path: &str, v: &'a Value, known: &[&'static str]) -> Result<Obj<'a>, ConfigError> {
        let where_ = if path.is_empty() { "the file" } else { path };
        let map: &Map<String, Value> = match v {
            Value::Object(m) => m,
            _ => return err(path, format!("{where_} must be a JSON object")),
        };
        let mut fields = HashMap::new();
        for (k, v) in map {
            let Some(&canon) = known.iter().find(|c| c.eq_ignore_ascii_case(k)) else {
                return err(
                    join(path, k),
                    format!("unknown field (known here: {})", known.join(", ")),
                );
            };
            if fields.insert(canon, (k.as_str(), v)).is_some() {
                return err(join(path, k), "given twice (keys are not case-sensitive)");
            }
        }
        Ok(Obj {
            path: path.to_string(),
            fields,
        })
    }

    /// The path of field `key`, spelled as in the file when it is there.
    fn path(&self, key: &'static str) -> String {
        let spelled = self.fields.get(key).map_or(key, |(k, _)| k);
        join(&self.path, spelled)
    }

    fn get(&self, key: &'static str) -> Option<&'a Value> {
        self.fields
            .get(key)
            .map(|(_, v)| *v)
            .filter(|v| !v.is_null())
    }

    fn string(&self, key: &'static str) -> Result<Option<String>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => err(self.path(key), "must be a string"),
        }
    }

    fn boolean(&self, key: &'static str) -> Result<Option<bool>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => err(self.path(key), "must be true or false"),
        }
    }

    fn int(&self, key: &'static str) -> Result<Option<i64>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) => Ok(Some(i)),
                None => err(self.path(key), format!("{n}: must be a whole number")),
            },
            Some(_) => err(self.path(key), "must be a number"),
        }
    }

    fn array(&self, key: &'static str) -> Result<Vec<(String, &'a Value)>, ConfigError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => {
                let base = self.path(key);
                Ok(items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("{base}[{i}]"), v))
                    .collect())
            }
            Some(_) => err(self.path(key), "must be a list"),
        }
    }

    fn refuse_true(&self, key: &'static str, why: &str) -> Result<(), ConfigError> {
        match self.boolean(key)? {
            Some(true) => err(self.path(key), why.to_string()),
            _ => Ok(()),
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(text: &str) -> String {
        match parse(text) {
            Ok(c) => panic!("accepted: {c:?}"),
            Err(e) => {
                assert!(!e.message.is_empty());
                e.field
            }
        }
    }

    #[test]
    fn reads_the_reference_plugins_example() {
        // As in the reference plugin's daemonset.yml, with its key spellings.
        let c = parse(
            r#"{"logLevel":"debug","logFile":"afxdp-dp.log",
                "pools":[{"name":"myPool","mode":"primary","drivers":[{"name":"i40e"},{"name":"ice"}]}]}"#,
        )
        .unwrap();
        assert_eq!(c.log_level, Level::Debug);
        let p = &c.pools[0];
        assert_eq!(p.resource_name(), "afxdp/myPool");
        assert_eq!(p.endpoint(), "afxdp-myPool.sock");
        assert_eq!(p.env_name(), "AFXDP_DEVICES_MYPOOL");
        assert_eq!(p.drivers.len(), 2);
        assert_eq!(p.uds_timeout, Some(Duration::from_secs(30)));
    }

    #[test]
    fn keys_are_case_insensitive_as_in_go() {
        let c = parse(
            r#"{"Pools":[{"Name":"p1","Mode":"primary","Devices":[{"Name":"ens1"},{"Pci":"0000:18:00.1"},{"MAC":"02:00:00:00:00:0A"}],
                "UdsTimeout":-1,"BpfMapPinningEnable":true,"uid":1500}]}"#,
        )
        .unwrap();
        let p = &c.pools[0];
        assert_eq!(
            p.devices,
            vec![
                DeviceSelector::Name("ens1".into()),
                DeviceSelector::Pci("0000:18:00.1".into()),
                DeviceSelector::Mac([2, 0, 0, 0, 0, 0x0a]),
            ]
        );
        assert_eq!(p.uds_timeout, None);
        assert!(p.bpf_map_pinning);
        assert_eq!(p.uid, 1500);
    }

    #[test]
    fn refuses_cdq_naming_the_field() {
        let e = parse(r#"{"pools":[{"name":"a","mode":"primary","devices":[{"name":"x"}]},{"name":"b","mode":"cdq","drivers":[{"name":"ice"}]}]}"#)
            .unwrap_err();
        assert_eq!(e.field, "pools[1].mode");
        assert!(e.to_string().contains("cdq"), "{e}");
    }

    #[test]
    fn names_each_bad_field() {
        let pool = |extra: &str| {
            format!(
                r#"{{"pools":[{{"name":"p","mode":"primary","devices":[{{"name":"x"}}]{extra}}}]}}"#
            )
        };
        assert_eq!(
            field_of(&pool(r#","udsTimeout":10"#)),
            "pools[0].udsTimeout"
        );
        assert_eq!(
            field_of(&pool(r#","udsTimeout":301"#)),
            "pools[0].udsTimeout"
        );
        assert_eq!(field_of(&pool(r#","uid":12"#)), "pools[0].uid");
        assert_eq!(field_of(&pool(r#","udsFuzz":true"#)), "pools[0].udsFuzz");
        assert_eq!(field_of(&pool(r#","colour":"blue""#)), "pools[0].colour");
        assert_eq!(field_of(&pool(r#","uid":"1000""#)), "pools[0].uid");
        assert_eq!(
            field_of(&pool(r#","udsServerDisable":true"#)),
            "pools[0].udsServerDisable"
        );
        assert_eq!(
            field_of(r#"{"pools":[{"name":"p-1","mode":"primary","devices":[{"name":"x"}]}]}"#),
            "pools[0].name"
        );
        assert_eq!(
            field_of(r#"{"pools":[{"name":"p","devices":[{"name":"x"}]}]}"#),
            "pools[0].mode"
        );
        assert_eq!(
            field_of(r#"{"pools":[{"name":"p","mode":"secondary","devices":[{"name":"x"}]}]}"#),
            "pools[0].mode"
        );
        assert_eq!(
            field_of(r#"{"pools":[{"name":"p","mode":"primary"}]}"#),
            "pools[0]"
        );
        assert_eq!(
            field_of(
                r#"{"pools":[{"name":"p","mode":"primary","devices":[{"name":"x","mac":"02:00:00:00:00:01"}]}]}"#
            ),
            "pools[0].devices[0]"
        );
        assert_eq!(
            field_of(r#"{"pools":[{"name":"p","mode":"primary","devices":[{"pci":"18:00.0"}]}]}"#),
            "pools[0].devices[0].pci"
        );
        assert_eq!(
            field_of(r#"{"pools":[{"name":"p","mode":"primary","devices":[{"mac":"02:00:00"}]}]}"#),
            "pools[0].devices[0].mac"
        );
        assert_eq!(
            field_of(
                r#"{"pools":[{"name":"p","mode":"primary","devices":[{"name":"a-very-long-interface"}]}]}"#
            ),
            "pools[0].devices[0].name"
        );
        assert_eq!(
            field_of(
                r#"{"pools":[{"name":"p","mode":"primary","drivers":[{"name":"ice","secondary":4}]}]}"#
            ),
            "pools[0].drivers[0].secondary"
        );
        assert_eq!(
            field_of(
                r#"{"pools":[{"name":"p","mode":"primary","drivers":[{"name":"ice","primary":11}]}]}"#
            ),
            "pools[0].drivers[0].primary"
        );
        assert_eq!(
            field_of(r#"{"pools":[{"name":"p","mode":"primary","nodes":[{"hostname":"n1"}]}]}"#),
            "pools[0].nodes[0]"
        );
        assert_eq!(field_of(r#"{"logLevel":"loud","pools":[]}"#), "logLevel");
        assert_eq!(
            field_of(r#"{"logFile":"/var/log/x.log","pools":[]}"#),
            "logFile"
        );
        assert_eq!(
            field_of(r#"{"kindCluster":true,"pools":[]}"#),
            "kindCluster"
        );
        assert_eq!(field_of(r#"{"pools":[]}"#), "pools");
        assert_eq!(
            field_of(
                r#"{"pools":[{"name":"p","Name":"q","mode":"primary","devices":[{"name":"x"}]}]}"#
            ),
            "pools[0].name"
        );
        assert_eq!(
            field_of(
                r#"{"pools":[{"name":"p","mode":"primary","devices":[{"name":"x"}]},{"name":"p","mode":"primary","devices":[{"name":"y"}]}]}"#
            ),
            "pools[1].name"
        );
        assert_eq!(field_of("{\"pools\": [}"), "");
    }

    #[test]
    fn mac_and_pci_forms() {
        assert_eq!(parse_mac("02-00-00-00-00-ff"), Some([2, 0, 0, 0, 0, 0xff]));
        assert_eq!(parse_mac("2:0:0:0:0:ff"), None);
        assert!(valid_pci("0000:18:00.1"));
        assert!(valid_pci("0000:0018:00.1"));
        assert!(!valid_pci("0000:18:00.10"));
        assert!(!valid_pci("0000:18:00:1"));
    }
}
