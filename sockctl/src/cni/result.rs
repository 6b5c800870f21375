//! The CNI result: [`CniResult`] (interfaces, IP configurations, routes,
//! DNS), read from an IPAM plugin or a `prevResult` in any version this
//! plugin speaks, and written in the version the configuration asks for.
//!
//! The shapes are those of the spec's `types/100` (1.0.0 and 1.1.0) and
//! `types/040` (0.3.0 to 0.4.0): the older ones give each IP
//! configuration a `version` (`"4"` or `"6"`); 1.1.0 adds an interface's
//! `mtu`, `socketPath` and `pciID`, and a route's `mtu`, `advmss`,
//! `priority`, `table` and `scope`, which older versions leave out.
//!
//! ```
//! use af_xdp::cni::{CniResult, Version};
//! let ipam = CniResult::parse(br#"{
//!     "cniVersion": "0.3.0",
//!     "ips": [{ "version": "4", "address": "192.168.1.200/24", "gateway": "192.168.1.1" }],
//!     "routes": [{ "dst": "0.0.0.0/0" }]
//! }"#).unwrap();
//! assert_eq!(ipam.ips[0].address.to_string(), "192.168.1.200/24");
//! let v1 = ipam.to_json(Version::V1_0_0);
//! assert!(v1.contains(r#""address": "192.168.1.200/24""#) && !v1.contains(r#""version""#));
//! ```

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::config::{member, object_member, str_member, strings_member, wrong_type, Version};
use super::json::{Json, ObjectBuilder};
use super::CniError;

/// An address with its prefix length: `192.168.1.200/24`, `fd00::1/64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpNet {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix: u8,
}

impl IpNet {
    /// The network: the address with the host bits cleared.
    ///
    /// ```
    /// use af_xdp::cni::result::IpNet;
    /// let n: IpNet = "192.168.1.200/24".parse().unwrap();
    /// assert_eq!(n.network().to_string(), "192.168.1.0");
    /// ```
    pub fn network(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4((a.to_bits() & mask).into())
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6((a.to_bits() & mask).into())
            }
        }
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<IpNet, String> {
        let (a, p) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not ADDRESS/PREFIX"))?;
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("{a:?} is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = p
            .parse::<u8>()
            .ok()
            .filter(|&p| p <= max)
            .ok_or_else(|| format!("{p:?} is not a prefix length of 0 to {max}"))?;
        Ok(IpNet { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// An interface the plugin created or moved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Interface {
    /// Its name.
    pub name: String,
    /// Its MAC address, `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
    /// Its MTU (1.1.0).
    pub mtu: Option<u32>,
    /// The network namespace it is in (`CNI_NETNS`), empty on the host.
    pub sandbox: String,
    /// A vhost-user or similar socket (1.1.0).
    pub socket_path: String,
    /// The PCI address of the device (1.1.0).
    pub pci_id: String,
}

/// An IP configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpConfig {
    /// `"4"` or `"6"`: versions before 1.0.0 only.
    pub version: Option<String>,
    /// Index into the result's `interfaces`.
    pub interface: Option<usize>,
    /// The address and prefix.
    pub address: IpNet,
    /// The default gateway of this subnet.
    pub gateway: Option<IpAddr>,
}

/// A route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The destination.
    pub dst: IpNet,
    /// The next hop; without one, the gateway of the first address of the
    /// same family.
    pub gw: Option<IpAddr>,
    /// Path MTU (1.1.0).
    pub mtu: Option<u32>,
    /// Advertised MSS (1.1.0).
    pub advmss: Option<u32>,
    /// Metric (1.1.0).
    pub priority: Option<u32>,
    /// Routing table (1.1.0).
    pub table: Option<u32>,
    /// Scope, `RT_SCOPE_*` (1.1.0).
    pub scope: Option<u8>,
}

/// DNS settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dns {
    /// Name servers.
    pub nameservers: Vec<String>,
    /// The local domain.
    pub domain: String,
    /// Search domains.
    pub search: Vec<String>,
    /// Resolver options.
    pub options: Vec<String>,
}

impl Dns {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == Dns::default()
    }
}

/// A CNI result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CniResult {
    /// The version it is written in.
    pub cni_version: String,
    /// Interfaces.
    pub interfaces: Vec<Interface>,
    /// IP configurations.
    pub ips: Vec<IpConfig>,
    /// Routes.
    pub routes: Vec<Route>,
    /// DNS.
    pub dns: Dns,
}

impl CniResult {
    /// This result in the shape of version `v`: IP configurations get
    /// their `version` below 1.0.0, the 1.1.0 fields are dropped below
    /// 1.1.0.
    pub fn for_version(&self, v: Version) -> CniResult {
        let mut r = self.clone();
        r.cni_version = v.to_string();
        for ip in &mut r.ips {
            ip.version = (v < Version::V1_0_0).then(|| {
                if ip.address.addr.is_ipv4() {
                    "4".to_string()
                } else {
                    "6".to_string()
                }
            });
        }
        if v < Version::V1_1_0 {
            for i in &mut r.interfaces {
                i.mtu = None;
                i.socket_path.clear();
                i.pci_id.clear();
            }
            for route in &mut r.routes {
                route.mtu = None;
                route.advmss = None;
                route.priority = None;
                route.table = None;
                route.scope = None;
            }
        }
        r
    }

    /// The result as pretty JSON in the shape of version `v`.
    pub fn to_json(&self, v: Version) -> String {
        self.for_version(v).to_value().to_pretty()
    }

    /// Parses a result document (an IPAM plugin's stdout).
    pub fn parse(doc: &[u8]) -> Result<CniResult, CniError> {
        let v = Json::parse(doc).map_err(|e| {
            CniError::new(
                super::codes::DECODE_FAILURE,
                "cannot decode the result",
                e.to_string(),
            )
        })?;
        CniResult::from_value(&v)
    }

    /// Reads a result of any supported version from a JSON value (a
    /// `prevResult`).
    pub fn from_value(v: &Json) -> Result<CniResult, CniError> {
        if !matches!(v, Json::Object(_)) {
            return Err(wrong_type("the result", "an object", v));
        }
        Ok(CniResult {
            cni_version: str_member(v, "cniVersion", "")?,
            interfaces: list(v, "interfaces", Interface::from_value)?,
            ips: list(v, "ips", IpConfig::from_value)?,
            routes: list(v, "routes", Route::from_value)?,
            dns: match object_member(v, "dns", "")? {
                Some(d) => Dns::from_json(d, "dns.")?,
                None => Dns::default(),
            },
        })
    }

    /// The result as a JSON value, fields in the spec's order.
    pub fn to_value(&self) -> Json {
        ObjectBuilder::new()
            .put("cniVersion", Json::str(&self.cni_version))
            .array_nonempty(
                "interfaces",
                self.interfaces.iter().map(Interface::to_value).collect(),
            )
            .array_nonempty("ips", self.ips.iter().map(IpConfig::to_value).collect())
            .array_nonempty("routes", self.routes.iter().map(Route::to_value).collect())
            .put("dns", self.dns.to_value())
            .build()
    }

    /// The first IPv4 address, else the first IPv6 one (what `-ip-` in an
    /// ethtool command stands for).
    pub fn first_ip(&self) -> Option<IpAddr> {
        let ips = || self.ips.iter().map(|i| i.address.addr);
        ips().find(IpAddr::is_ipv4).or_else(|| ips().next())
    }

    /// The gateway of the first IP configuration of `addr`'s family.
    pub fn gateway_for(&self, addr: &IpAddr) -> Option<IpAddr> {
        self.ips
            .iter()
            .filter(|i| i.address.addr.is_ipv4() == addr.is_ipv4())
            .find_map(|i| i.gateway)
    }
}

/// The array member `key` of `obj`, each element read by `read` (given
/// the element and its path for error messages); empty if absent.
fn list<T>(
    obj: &Json,
    key: &str,
    read: impl Fn(&Json, &str) -> Result<T, CniError>,
) -> Result<Vec<T>, CniError> {
    match member(obj, key) {
        None => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let path = format!("{key}[{i}].");
                if !matches!(item, Json::Object(_)) {
                    return Err(wrong_type(&format!("{key}[{i}]"), "an object", item));
                }
                read(item, &path)
            })
            .collect(),
        Some(v) => Err(wrong_type(key, "an array", v)),
    }
}

/// A number member that fits `T`, if present.
fn num_member<T: TryFrom<u64>>(obj: &Json, key: &str, path: &str) -> Result<Option<T>, CniError> {
    match member(obj, key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| T::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| wrong_type(&format!("{path}{key}"), "a small non-negative integer", v)),
    }
}

/// A member parsed from its string form, if present.
fn parsed_member<T: FromStr>(
    obj: &Json,
    key: &str,
    path: &str,
    want: &str,
) -> Result<Option<T>, CniError> {
    match member(obj, key) {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .and_then(|s| s.parse().ok())
            .map(Some)
            .ok_or_else(|| match v.as_str() {
                Some(s) => CniError::new(
                    super::codes::DECODE_FAILURE,
                    "cannot decode the result",
                    format!("{path}{key}: {s:?} is not {want}"),
                ),
                None => wrong_type(&format!("{path}{key}"), want, v),
            }),
    }
}

/// A required member parsed from its string form.
fn required_parsed<T: FromStr>(
    obj: &Json,
    key: &str,
    path: &str,
    want: &str,
) -> Result<T, CniError> {
    parsed_member(obj, key, path, want)?.ok_or_else(|| {
        CniError::new(
            super::codes::DECODE_FAILURE,
            "cannot decode the result",
            format!("{path}{key}: missing"),
        )
    })
}

impl Interface {
    fn from_value(v: &Json, path: &str) -> Result<Interface, CniError> {
        Ok(Interface {
            name: str_member(v, "name", path)?,
            mac: str_member(v, "mac", path)?,
            mtu: num_member(v, "mtu", path)?,
            sandbox: str_member(v, "sandbox", path)?,
            socket_path: str_member(v, "socketPath", path)?,
            pci_id: str_member(v, "pciID", path)?,
        })
    }

    fn to_value(&self) -> Json {
        ObjectBuilder::new()
            .put("name", Json::str(&self.name))
            .str_nonempty("mac", &self.mac)
            .opt("mtu", self.mtu.map(Json::num))
            .str_nonempty("sandbox", &self.sandbox)
            .str_nonempty("socketPath", &self.socket_path)
            .str_nonempty("pciID", &self.pci_id)
            .build()
    }
}

impl IpConfig {
    fn from_value(v: &Json, path: &str) -> Result<IpConfig, CniError> {
        let version = str_member(v, "version", path)?;
        Ok(IpConfig {
            version: (!version.is_empty()).then_some(version),
            interface: num_member(v, "interface", path)?,
            address: required_parsed(v, "address", path, "an ADDRESS/PREFIX")?,
            gateway: parsed_member(v, "gateway", path, "an IP address")?,
        })
    }

    fn to_value(&self) -> Json {
        ObjectBuilder::new()
            .opt("version", self.version.as_deref().map(Json::str))
            .opt("interface", self.interface.map(Json::num))
            .put("address", Json::str(self.address.to_string()))
            .opt("gateway", self.gateway.map(Json::str_of))
            .build()
    }
}

impl Route {
    fn from_value(v: &Json, path: &str) -> Result<Route, CniError> {
        Ok(Route {
            dst: required_parsed(v, "dst", path, "an ADDRESS/PREFIX")?,
            gw: parsed_member(v, "gw", path, "an IP address")?,
            mtu: num_member(v, "mtu", path)?,
            advmss: num_member(v, "advmss", path)?,
            priority: num_member(v, "priority", path)?,
            table: num_member(v, "table", path)?,
            scope: num_member(v, "scope", path)?,
        })
    }

    fn to_value(&self) -> Json {
        ObjectBuilder::new()
            .put("dst", Json::str(self.dst.to_string()))
            .opt("gw", self.gw.map(Json::str_of))
            .opt("mtu", self.mtu.map(Json::num))
            .opt("advmss", self.advmss.map(Json::num))
            .opt("priority", self.priority.map(Json::num))
            .opt("table", self.table.map(Json::num))
            .opt("scope", self.scope.map(Json::num))
            .build()
    }
}

impl Dns {
    /// Reads a `dns` object (`path` prefixes the field names in errors).
    pub fn from_json(v: &Json, path: &str) -> Result<Dns, CniError> {
        Ok(Dns {
            nameservers: strings_member(v, "nameservers", path)?,
            domain: str_member(v, "domain", path)?,
            search: strings_member(v, "search", path)?,
            options: strings_member(v, "options", path)?,
        })
    }

    fn to_value(&self) -> Json {
        let strings = |v: &[String]| v.iter().map(Json::str).collect();
        ObjectBuilder::new()
            .array_nonempty("nameservers", strings(&self.nameservers))
            .str_nonempty("domain", &self.domain)
            .array_nonempty("search", strings(&self.search))
            .array_nonempty("options", strings(&self.options))
            .build()
    }
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CniResult {
        CniResult::parse(
            br#"{
            "cniVersion": "1.1.0",
            "interfaces": [{"name": "xa", "mac": "02:00:00:00:00:0a", "mtu": 1500,
                            "sandbox": "/run/netns/p"}],
            "ips": [{"interface": 0, "address": "fd00::5/64"},
                    {"interface": 0, "address": "10.1.0.5/16", "gateway": "10.1.0.1"}],
            "routes": [{"dst": "0.0.0.0/0", "mtu": 1400, "table": 100}],
            "dns": {"nameservers": ["10.1.0.2"]}
        }"#,
        )
        .unwrap()
    }

    fn value(r: &CniResult, v: Version) -> Json {
        Json::parse(r.to_json(v).as_bytes()).unwrap()
    }

    fn at<'a>(v: &'a Json, path: &[&str]) -> Option<&'a Json> {
        path.iter().try_fold(v, |v, k| match k.parse::<usize>() {
            Ok(i) => v.as_array()?.get(i),
            Err(_) => v.get(k),
        })
    }

    #[test]
    fn old_versions_get_ip_versions_and_lose_new_fields() {
        let r = value(&sample(), Version(0, 3, 1));
        assert_eq!(at(&r, &["cniVersion"]), Some(&Json::str("0.3.1")));
        assert_eq!(at(&r, &["ips", "0", "version"]), Some(&Json::str("6")));
        assert_eq!(at(&r, &["ips", "1", "version"]), Some(&Json::str("4")));
        assert_eq!(at(&r, &["ips", "1", "interface"]), Some(&Json::num(0)));
        assert_eq!(at(&r, &["interfaces", "0", "mtu"]), None);
        assert_eq!(at(&r, &["routes", "0", "mtu"]), None);
        assert_eq!(
            at(&r, &["routes", "0", "dst"]),
            Some(&Json::str("0.0.0.0/0"))
        );
        assert_eq!(
            at(&r, &["dns", "nameservers", "0"]),
            Some(&Json::str("10.1.0.2"))
        );
    }

    #[test]
    fn the_newest_version_keeps_everything() {
        let r = value(&sample(), Version::V1_1_0);
        assert_eq!(at(&r, &["ips", "0", "version"]), None);
        assert_eq!(at(&r, &["interfaces", "0", "mtu"]), Some(&Json::num(1500)));
        assert_eq!(at(&r, &["routes", "0", "table"]), Some(&Json::num(100)));
        // And it reads back to what it was.
        assert_eq!(CniResult::from_value(&r).unwrap(), sample());
    }

    #[test]
    fn bad_results_name_the_field() {
        let e = CniResult::parse(br#"{"ips": [{"address": "10.0.0.1"}]}"#).unwrap_err();
        assert!(
            e.details.starts_with("ips[0].address: \"10.0.0.1\" is not"),
            "{e}"
        );
        let e = CniResult::parse(br#"{"ips": [{"gateway": "10.0.0.1"}]}"#).unwrap_err();
        assert_eq!(e.details, "ips[0].address: missing");
        let e = CniResult::parse(br#"{"routes": [{"dst": "0.0.0.0/0", "mtu": -1}]}"#).unwrap_err();
        assert!(e.details.starts_with("routes[0].mtu: expected"), "{e}");
        let e = CniResult::parse(br#"{"interfaces": {}}"#).unwrap_err();
        assert_eq!(e.details, "interfaces: expected an array, found an object");
    }

    #[test]
    fn helpers() {
        let r = sample();
        assert_eq!(r.first_ip(), Some("10.1.0.5".parse().unwrap()));
        assert_eq!(
            r.gateway_for(&"0.0.0.0".parse().unwrap()),
            Some("10.1.0.1".parse().unwrap())
        );
        assert_eq!(r.gateway_for(&"::".parse().unwrap()), None);
        assert_eq!(format_mac(&[2, 0, 0xab, 0, 0, 0x0a]), "02:00:ab:00:00:0a");
        let n: IpNet = "fd00::1234/120".parse().unwrap();
        assert_eq!(n.network().to_string(), "fd00::1200");
        let n: IpNet = "10.9.8.7/0".parse().unwrap();
        assert_eq!(n.network().to_string(), "0.0.0.0");
        assert!("10.0.0.1/33".parse::<IpNet>().is_err());
        assert!("10.0.0.1".parse::<IpNet>().is_err());
    }
}
