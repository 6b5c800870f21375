//! The network configuration on stdin (a NetworkAttachmentDefinition's
//! `config`, or one plugin of a `.conflist`): [`NetConf`], and the spec
//! [`Version`] it names.
//!
//! The fields are the reference AF_XDP CNI's: `deviceID` (set by Multus
//! from the device plugin's allocation; also read from
//! `runtimeConfig.deviceID`), `mode`, `logFile`, `logLevel`, `ethtoolCmds`,
//! `ipam`, `dns`; plus `renameDevice` (this plugin's: name the device
//! `CNI_IFNAME` in the pod) and the runtime's `prevResult`. Unknown fields
//! are ignored, as the spec asks.
//!
//! ```
//! use af_xdp::cni::NetConf;
//! let conf = NetConf::parse(br#"{
//!     "cniVersion": "0.3.0", "name": "afxdp-network", "type": "afxdp",
//!     "mode": "primary", "deviceID": "ens785f0",
//!     "ethtoolCmds": ["-N -device- rx-flow-hash udp4 fn"],
//!     "ipam": { "type": "host-local", "subnet": "192.168.1.0/24" }
//! }"#).unwrap();
//! assert_eq!(conf.device().unwrap(), "ens785f0");
//! assert_eq!(conf.ipam_type(), Some("host-local"));
//! assert_eq!(conf.version().unwrap().to_string(), "0.3.0");
//! ```

use std::fmt;
use std::str::FromStr;

use afxdp_core::abi::ethtool::is_valid_ifname;

use super::json::Json;
use super::result::Dns;
use super::{codes, CniError, SUPPORTED_VERSIONS};

/// A CNI spec version, `major.minor.patch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    /// 0.4.0: the first with `CHECK`.
    pub const V0_4_0: Version = Version(0, 4, 0);
    /// 1.0.0: IP configurations lose their `version` field.
    pub const V1_0_0: Version = Version(1, 0, 0);
    /// 1.1.0: `STATUS`, `GC`; interface `mtu`, route `mtu`/`table`/...
    pub const V1_1_0: Version = Version(1, 1, 0);

    /// Whether this plugin speaks it.
    pub fn is_supported(self) -> bool {
        SUPPORTED_VERSIONS.contains(&self.to_string().as_str())
    }
}

impl FromStr for Version {
    type Err = ();

    fn from_str(s: &str) -> Result<Version, ()> {
        let mut it = s.split('.').map(|p| p.parse::<u32>().map_err(drop));
        let v = Version(
            it.next().ok_or(())??,
            it.next().ok_or(())??,
            it.next().unwrap_or(Ok(0))?,
        );
        if it.next().is_some() {
            return Err(());
        }
        Ok(v)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// The `ipam` section: its `type` names the IPAM plugin; the plugin reads
/// the rest itself from the same configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpamConf {
    /// The IPAM plugin (`host-local`, `static`, `dhcp`, ...).
    pub plugin: String,
}

/// The network configuration, as far as this plugin reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetConf {
    /// `cniVersion`.
    pub cni_version: String,
    /// `name`: the network's name.
    pub name: String,
    /// `type`: `afxdp`.
    pub plugin_type: String,
    /// `deviceID`: the netdev to give the pod (the device plugin's choice,
    /// filled in by Multus); else `runtimeConfig.deviceID`.
    pub device_id: String,
    /// `mode`: `primary` (a whole netdev; the default). The reference's
    /// `cdq` (subfunctions) is not supported.
    pub mode: String,
    /// `logFile`: a file name, `NAME.log` or `NAME.txt` (NAME of letters,
    /// digits, `-` and `_`), in `/var/log/afxdp-k8s-plugins/`, or the
    /// absolute path of one there; anything else is said on stderr and
    /// nothing is logged (the invocation goes on).
    pub log_file: String,
    /// `logLevel`: `error`, `warning`, `info` or `debug`.
    pub log_level: String,
    /// `ethtoolCmds`: ethtool arguments run on `ADD` before the move, with
    /// `-device-` and `-ip-` substituted; each must be one of
    /// [`ALLOWED_OPTIONS`](super::ethtool::ALLOWED_OPTIONS) with
    /// `-device-` as its device ([`check`](super::ethtool::check)).
    pub ethtool_cmds: Vec<String>,
    /// `renameDevice`: name the device `CNI_IFNAME` in the pod (and give
    /// it its name back on `DEL`). Off by default: DPDK's `--vdev
    /// iface=...` names the device as the device plugin knows it.
    pub rename_device: bool,
    /// `ipam`.
    pub ipam: Option<IpamConf>,
    /// `dns`: given to the result (over the IPAM plugin's).
    pub dns: Option<Dns>,
    /// `prevResult`: `ADD`'s result, given to `CHECK` and `DEL`.
    pub prev_result: Option<Json>,
}

/// A field of the wrong type: [`codes::DECODE_FAILURE`].
pub(crate) fn wrong_type(field: &str, want: &str, got: &Json) -> CniError {
    CniError::new(
        codes::DECODE_FAILURE,
        "cannot decode the network configuration",
        format!("{field}: expected {want}, found {}", got.kind()),
    )
}

/// The member `key` of `obj`, `null` counting as absent (as Go reads it).
pub(crate) fn member<'a>(obj: &'a Json, key: &str) -> Option<&'a Json> {
    obj.get(key).filter(|v| **v != Json::Null)
}

/// The string member `key` of `obj` (`""` if absent).
pub(crate) fn str_member(obj: &Json, key: &str, path: &str) -> Result<String, CniError> {
    match member(obj, key) {
        None => Ok(String::new()),
        Some(Json::String(s)) => Ok(s.clone()),
        Some(v) => Err(wrong_type(&format!("{path}{key}"), "a string", v)),
    }
}

/// The array-of-strings member `key` of `obj` (empty if absent).
pub(crate) fn strings_member(obj: &Json, key: &str, path: &str) -> Result<Vec<String>, CniError> {
    let field = format!("{path}{key}");
    match member(obj, key) {
        None => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| wrong_type(&field, "an array of strings", i))
            })
            .collect(),
        Some(v) => Err(wrong_type(&field, "an array of strings", v)),
    }
}

/// The object member `key` of `obj`, if present.
pub(crate) fn object_member<'a>(
    obj: &'a Json,
    key: &str,
    path: &str,
) -> Result<Option<&'a Json>, CniError> {
    match member(obj, key) {
        None => Ok(None),
        Some(v @ Json::Object(_)) => Ok(Some(v)),
        Some(v) => Err(wrong_type(&format!("{path}{key}"), "an object", v)),
    }
}

/// Whether `name` may be a `logFile`: a plain file name `NAME.log` or
/// `NAME.txt`, NAME one or more letters, digits, `-` or `_` (the device
/// plugin's rule): no `/`, no `..`, no path.
///
/// ```
/// use af_xdp::cni::config::is_valid_log_file;
/// assert!(is_valid_log_file("afxdp-cni.log"));
/// assert!(!is_valid_log_file("../../../etc/x.log"));
/// assert!(!is_valid_log_file("/var/log/x.log"));
/// assert!(!is_valid_log_file("x.conf"));
/// ```
pub fn is_valid_log_file(name: &str) -> bool {
    name.len() <= 255
        && name
            .strip_suffix(".log")
            .or_else(|| name.strip_suffix(".txt"))
            .is_some_and(|stem| {
                !stem.is_empty()
                    && stem
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
}

impl NetConf {
    /// Parses the configuration: not JSON, not an object, or fields of the
    /// wrong type, is [`codes::DECODE_FAILURE`].
    pub fn parse(stdin: &[u8]) -> Result<NetConf, CniError> {
        let doc = Json::parse(stdin).map_err(|e| {
            CniError::new(
                codes::DECODE_FAILURE,
                "cannot decode the network configuration",
                e.to_string(),
            )
        })?;
        if !matches!(doc, Json::Object(_)) {
            return Err(wrong_type("the configuration", "an object", &doc));
        }
        let mut device_id = str_member(&doc, "deviceID", "")?;
        if device_id.is_empty() {
            if let Some(rc) = object_member(&doc, "runtimeConfig", "")? {
                device_id = str_member(rc, "deviceID", "runtimeConfig.")?;
            }
        }
        let rename_device = match member(&doc, "renameDevice") {
            None => false,
            Some(Json::Bool(b)) => *b,
            Some(v) => return Err(wrong_type("renameDevice", "a boolean", v)),
        };
        let ipam = object_member(&doc, "ipam", "")?
            .map(|i| {
                Ok::<_, CniError>(IpamConf {
                    plugin: str_member(i, "type", "ipam.")?,
                })
            })
            .transpose()?;
        let dns = object_member(&doc, "dns", "")?
            .map(|d| Dns::from_json(d, "dns."))
            .transpose()?;
        Ok(NetConf {
            cni_version: str_member(&doc, "cniVersion", "")?,
            name: str_member(&doc, "name", "")?,
            plugin_type: str_member(&doc, "type", "")?,
            device_id,
            mode: str_member(&doc, "mode", "")?,
            log_file: str_member(&doc, "logFile", "")?,
            log_level: str_member(&doc, "logLevel", "")?,
            ethtool_cmds: strings_member(&doc, "ethtoolCmds", "")?,
            rename_device,
            ipam,
            dns,
            prev_result: member(&doc, "prevResult").cloned(),
        })
    }

    /// The `cniVersion`, if this plugin speaks it; else
    /// [`codes::INCOMPATIBLE_VERSION`].
    pub fn version(&self) -> Result<Version, CniError> {
        match self.cni_version.parse::<Version>() {
            Ok(v) if v.is_supported() => Ok(v),
            _ => Err(CniError::new(
                codes::INCOMPATIBLE_VERSION,
                "incompatible CNI versions",
                format!(
                    "config is {:?}, plugin supports [{}]",
                    self.cni_version,
                    SUPPORTED_VERSIONS.join(", ")
                ),
            )),
        }
    }

    /// The device (`deviceID`); it must be a valid interface name.
    pub fn device(&self) -> Result<&str, CniError> {
        let dev = self.device_id.as_str();
        if dev.is_empty() {
            return Err(CniError::new(
                codes::INVALID_CONFIG,
                "no device specified",
                "the configuration has no deviceID (Multus sets it from the device plugin's allocation)",
            ));
        }
        if !is_valid_ifname(dev.as_bytes()) {
            return Err(CniError::new(
                codes::INVALID_CONFIG,
                "invalid deviceID",
                format!(
                    "{dev:?} is not an interface name (1 to 15 bytes, no '/', ':', '%' or spaces)"
                ),
            ));
        }
        Ok(dev)
    }

    /// The IPAM plugin's type, if the configuration has one.
    pub fn ipam_type(&self) -> Option<&str> {
        self.ipam
            .as_ref()
            .map(|i| i.plugin.as_str())
            .filter(|t| !t.is_empty())
    }

    /// Checks what `ADD` relies on beyond [`device`](Self::device): the
    /// mode, the log level, the ethtool commands. (Not `logFile`: a log
    /// that cannot be written does not fail an invocation.)
    pub fn validate(&self) -> Result<(), CniError> {
        let invalid =
            |msg: &str, details: String| Err(CniError::new(codes::INVALID_CONFIG, msg, details));
        match self.mode.as_str() {
            "" | "primary" => {}
            "cdq" => {
                return invalid(
                    "unsupported mode",
                    "mode \"cdq\" (subfunctions) is not supported by this plugin; use \"primary\""
                        .into(),
                )
            }
            other => {
                return invalid(
                    "invalid mode",
                    format!("mode {other:?}: must be \"primary\""),
                )
            }
        }
        if !matches!(
            self.log_level.as_str(),
            "" | "error" | "warning" | "info" | "debug"
        ) {
            return invalid(
                "invalid logLevel",
                format!(
                    "logLevel {:?}: must be error, warning, info or debug",
                    self.log_level
                ),
            );
        }
        for cmd in &self.ethtool_cmds {
            super::ethtool::check(cmd)?;
        }
        if self.ipam.as_ref().is_some_and(|i| {
            i.plugin.is_empty() || i.plugin.contains('/') || i.plugin.starts_with('.')
        }) {
            return invalid(
                "invalid ipam",
                "ipam.type must name a plugin on CNI_PATH (a file name)".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        assert_eq!("0.3.1".parse(), Ok(Version(0, 3, 1)));
        assert_eq!("1.0".parse(), Ok(Version(1, 0, 0)));
        assert!("1.x.0".parse::<Version>().is_err());
        assert!("1.0.0.0".parse::<Version>().is_err());
        assert!(Version(0, 3, 1) < Version::V0_4_0);
        assert!(Version(1, 1, 0).is_supported());
        assert!(!Version(0, 2, 0).is_supported());
    }

    #[test]
    fn device_comes_from_runtime_config_when_not_top_level() {
        let c = NetConf::parse(br#"{"runtimeConfig":{"deviceID":"eth3"}}"#).unwrap();
        assert_eq!(c.device(), Ok("eth3"));
        let c = NetConf::parse(br#"{"deviceID":"a/b"}"#).unwrap();
        assert_eq!(c.device().unwrap_err().code, codes::INVALID_CONFIG);
    }

    #[test]
    fn validation_names_the_bad_field() {
        let c = NetConf::parse(br#"{"mode":"cdq"}"#).unwrap();
        assert!(c.validate().unwrap_err().details.contains("cdq"));
        let c = NetConf::parse(br#"{"ethtoolCmds":["-K -device- tso off", " "]}"#).unwrap();
        assert_eq!(c.validate().unwrap_err().msg, "invalid ethtoolCmds");
        let c = NetConf::parse(br#"{"ipam":{"type":"../x"}}"#).unwrap();
        assert_eq!(c.validate().unwrap_err().msg, "invalid ipam");
        let c = NetConf::parse(br#"{"logLevel":"loud"}"#).unwrap();
        assert_eq!(c.validate().unwrap_err().msg, "invalid logLevel");
        // A logFile the log will not open does not make the configuration
        // invalid: the log says so on stderr and the invocation goes on.
        for any in ["../../../etc/x", "/tmp/x.log", "x", "afxdp-cni.log"] {
            let conf = format!(r#"{{"logFile":{any:?}}}"#);
            let c = NetConf::parse(conf.as_bytes()).unwrap();
            assert_eq!(c.validate(), Ok(()), "{any}");
        }
    }

    #[test]
    fn bad_json_is_a_decode_failure() {
        assert_eq!(
            NetConf::parse(b"{not json").unwrap_err().code,
            codes::DECODE_FAILURE
        );
        let e = NetConf::parse(br#"{"ethtoolCmds": "not a list"}"#).unwrap_err();
        assert_eq!(e.code, codes::DECODE_FAILURE);
        assert_eq!(
            e.details,
            "ethtoolCmds: expected an array of strings, found a string"
        );
        let e = NetConf::parse(br#"{"ipam": {"type": 7}}"#).unwrap_err();
        assert_eq!(e.details, "ipam.type: expected a string, found a number");
        assert_eq!(
            NetConf::parse(b"[]").unwrap_err().code,
            codes::DECODE_FAILURE
        );
        // null is absent, as Go reads it.
        let c = NetConf::parse(br#"{"ipam": null, "deviceID": null}"#).unwrap();
        assert_eq!((c.ipam, c.device_id), (None, String::new()));
    }
}
