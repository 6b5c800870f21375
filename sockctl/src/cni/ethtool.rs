//! The configuration's `ethtoolCmds`: each an ethtool argument string in
//! which `-device-` stands for the device and `-ip-` for its address (the
//! IPAM plugin's first), run on the host before the device moves, as the
//! reference CNI does (`"-N -device- flow-type udp4 dst-ip -ip- action 3"`).
//! They run without a shell; a failure is a CNI error that says the
//! command and what ethtool said.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{codes, CniError};

/// The arguments of `cmd` with the placeholders replaced, split on
/// whitespace. `-ip-` without an address is [`codes::INVALID_CONFIG`].
///
/// ```
/// use af_xdp::cni::ethtool::substitute;
/// let args = substitute("-N -device- flow-type udp4 dst-ip -ip- action 3", "eth1",
///                       Some("192.168.1.200")).unwrap();
/// assert_eq!(args.join(" "), "-N eth1 flow-type udp4 dst-ip 192.168.1.200 action 3");
/// assert!(substitute("-N -device- dst-ip -ip-", "eth1", None).is_err());
/// ```
pub fn substitute(cmd: &str, device: &str, ip: Option<&str>) -> Result<Vec<String>, CniError> {
    if cmd.contains("-ip-") && ip.is_none() {
        return Err(CniError::new(
            codes::INVALID_CONFIG,
            "ethtool command needs an IP address",
            format!("{cmd:?} uses -ip-, but there is no IPAM result to take it from"),
        ));
    }
    Ok(cmd
        .split_whitespace()
        .map(|a| {
            let a = a.replace("-device-", device);
            match ip {
                Some(ip) => a.replace("-ip-", ip),
                None => a,
            }
        })
        .collect())
}

/// The ethtool executable: on `PATH`, else in the usual sbin directories
/// (a runtime may run plugins with a short `PATH`).
pub fn find_ethtool() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join("ethtool"))
        .find(|p| p.is_file())
}

/// Runs each of `cmds` in order, stopping at the first failure.
pub fn run_all(cmds: &[String], device: &str, ip: Option<&str>) -> Result<(), CniError> {
    if cmds.is_empty() {
        return Ok(());
    }
    let exe = find_ethtool().ok_or_else(|| {
        CniError::new(
            codes::ETHTOOL,
            "ethtool not found",
            "ethtoolCmds are configured but there is no ethtool on PATH or in /usr/sbin, /sbin",
        )
    })?;
    for cmd in cmds {
        let args = substitute(cmd, device, ip)?;
        run_one(&exe, &args)?;
    }
    Ok(())
}

/// Runs ethtool once; the error names the command line and ethtool's
/// exit status and output.
pub fn run_one(exe: &Path, args: &[String]) -> Result<(), CniError> {
    let line = format!("ethtool {}", args.join(" "));
    let out = Command::new(exe).args(args).output().map_err(|e| {
        CniError::new(
            codes::ETHTOOL,
            format!("{line}: could not run"),
            format!("{}: {e}", exe.display()),
        )
    })?;
    if out.status.success() {
        return Ok(());
    }
    let said = [&out.stderr[..], &out.stdout[..]]
        .map(|b| String::from_utf8_lossy(b).trim().to_string())
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    Err(CniError::new(
        codes::ETHTOOL,
        format!("{line}: failed"),
        format!("{}: {said}", out.status),
    ))
}

/// After `DEL`, best effort, when `ethtoolCmds` were run: what the
/// reference CNI resets (the RSS table to its default, n-tuple filters
/// off, which drops the flow rules). Returns what failed, for the log.
pub fn reset(device: &str) -> Vec<String> {
    let Some(exe) = find_ethtool() else {
        return vec!["ethtool not found".into()];
    };
    [
        vec!["-X".to_string(), device.to_string(), "default".to_string()],
        vec![
            "-K".to_string(),
            device.to_string(),
            "ntuple".to_string(),
            "off".to_string(),
        ],
    ]
    .iter()
    .filter_map(|args| run_one(&exe, args).err().map(|e| e.to_string()))
    .collect()
}
