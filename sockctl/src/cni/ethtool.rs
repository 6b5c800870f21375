//! The configuration's `ethtoolCmds`: each an ethtool argument string in
//! which `-device-` stands for the device and `-ip-` for its address (the
//! IPAM plugin's first), run on the host before the device moves, as the
//! reference CNI does (`"-N -device- flow-type udp4 dst-ip -ip- action 3"`).
//! They run without a shell; a failure is a CNI error that says the
//! command and what ethtool said.
//!
//! They run as root on the host, from a configuration that whoever may
//! write a NetworkAttachmentDefinition writes, so [`check`] allows only
//! what they are for: the option first, one of [`ALLOWED_OPTIONS`], and
//! `-device-` as its device, so that no command reaches another NIC or
//! changes its link, EEPROM or firmware.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{codes, CniError};

/// The ethtool options an `ethtoolCmds` command may use, with their long
/// spellings: what DPDK's AF_XDP guide and the reference AF_XDP plugins
/// use them for. `-N` (`-U`): n-tuple rules that steer a flow to a queue,
/// and the RX flow hash; `-X`: the RSS indirection table; `-L`: the
/// channel count; `-K`: offload features, such as `ntuple on` that the
/// rules need. Not `-G` (ring sizes) nor `-C` (coalescing): `DEL` does not
/// restore them, so they would carry over to the device's next pod (nor
/// does it restore `-L`, see [`reset`]).
pub const ALLOWED_OPTIONS: &[&str] = &[
    "-N",
    "-U",
    "--config-nfc",
    "--config-ntuple",
    "-X",
    "--set-rxfh-indir",
    "--rxfh",
    "-L",
    "--set-channels",
    "-K",
    "--features",
    "--offload",
];

/// Checks one of `ethtoolCmds`: its first word is one of
/// [`ALLOWED_OPTIONS`] and its second `-device-` (where ethtool takes the
/// device). Anything else is [`codes::INVALID_CONFIG`] naming the command.
///
/// ```
/// use af_xdp::cni::ethtool::check;
/// assert!(check("-N -device- flow-type udp4 dst-port 2152 action 22").is_ok());
/// assert!(check("-s eno1 speed 10").is_err());
/// assert!(check("-K eno1 ntuple on").is_err());
/// ```
pub fn check(cmd: &str) -> Result<(), CniError> {
    let bad = |why: String| {
        Err(CniError::new(
            codes::INVALID_CONFIG,
            "invalid ethtoolCmds",
            format!("ethtool command {cmd:?}: {why}"),
        ))
    };
    let mut args = cmd.split_whitespace();
    match args.next() {
        None => return bad("is empty".into()),
        Some(o) if !ALLOWED_OPTIONS.contains(&o) => {
            return bad(format!(
                "option {o:?} is not allowed: it must start with one of {}",
                ALLOWED_OPTIONS.join(", ")
            ))
        }
        Some(_) => {}
    }
    if args.next() != Some("-device-") {
        return bad(
            "the device must be -device- (right after the option): a command acts on the device being attached only"
                .into(),
        );
    }
    Ok(())
}

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

/// Runs each of `cmds` in order, stopping at the first failure; none runs
/// unless all pass [`check`].
pub fn run_all(cmds: &[String], device: &str, ip: Option<&str>) -> Result<(), CniError> {
    if cmds.is_empty() {
        return Ok(());
    }
    for cmd in cmds {
        check(cmd)?;
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
/// off, which drops the flow rules); not the channel count (`-L`) nor
/// other `-K` features. Returns what failed, for the log.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_allowed_options_on_the_device_pass() {
        for good in [
            "-N -device- rx-flow-hash udp4 fn",
            "-N -device- flow-type udp4 dst-port 2152 action 22",
            "--config-ntuple -device- flow-type udp4 dst-ip -ip- action 3",
            "-U -device- delete 1023",
            "-X -device- equal 5 start 3",
            "-L -device- combined 1",
            "-K -device- ntuple on",
            "  --features   -device-  tx off ",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "   ",
            "-s eno1 speed 10",
            "-s -device- speed 10",
            "-E -device- magic 0 offset 0 value 0",
            "-f -device- fw.bin",
            "--flash -device- fw.bin",
            "-e -device- raw on",
            "-N eno1 flow-type udp4 action 1",
            "-K xb -device- tx off",
            "-K -device-x tx off",
            "-device- -K tx off",
            "--debug 255 -K -device- tx off",
            "-Q -device- queue_mask 1 -K tx off",
            "-N",
            "-G -device- rx 4096 tx 4096",
            "--set-ring -device- rx 2048",
            "-C -device- adaptive-rx off rx-usecs 0",
            "--coalesce -device- rx-frames 1",
            "-g -device-",
            "--set-coalesce -device- rx-usecs 0",
        ] {
            let e = check(bad).unwrap_err();
            assert_eq!(e.code, codes::INVALID_CONFIG, "{bad}");
            assert_eq!(e.msg, "invalid ethtoolCmds", "{bad}");
            assert!(e.details.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
    }
}
