//! Delegating to the IPAM plugin (`ipam.type`: `host-local`, `static`,
//! ...), as the spec prescribes: the plugin found on `CNI_PATH`, run with
//! the same `CNI_*` environment but its own `CNI_COMMAND`, and the same
//! network configuration on stdin. Its result (for `ADD`) or its error is
//! read back from its stdout.

use std::ffi::OsStr;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::result::CniResult;
use super::{codes, CniEnv, CniError};

/// Where `plugin` is on `CNI_PATH`: the first directory that has an
/// executable file of that name.
pub fn find_plugin(plugin: &str, cni_path: Option<&OsStr>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = cni_path?;
    std::env::split_paths(path)
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join(plugin))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Runs IPAM plugin `plugin` for `command` (`ADD`, `DEL`, `CHECK`,
/// `STATUS`, `GC`) with `config` on stdin. Returns its stdout on success.
/// Its error JSON comes back as that error (its code, its message
/// prefixed with the plugin's name); a plugin that is missing, cannot run
/// or fails without one is [`codes::IPAM`].
pub fn exec(plugin: &str, command: &str, env: &CniEnv, config: &[u8]) -> Result<Vec<u8>, CniError> {
    let exe = find_plugin(plugin, env.path.as_deref()).ok_or_else(|| {
        CniError::new(
            codes::IPAM,
            format!("failed to find IPAM plugin {plugin:?}"),
            format!(
                "no executable {plugin} in CNI_PATH {:?}",
                env.path.as_deref().unwrap_or_default()
            ),
        )
    })?;
    let mut cmd = Command::new(&exe);
    cmd.env("CNI_COMMAND", command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let vars: [(&str, Option<&OsStr>); 5] = [
        (
            "CNI_CONTAINERID",
            env.container_id.as_deref().map(OsStr::new),
        ),
        ("CNI_NETNS", env.netns.as_deref().map(|p| p.as_os_str())),
        ("CNI_IFNAME", env.ifname.as_deref().map(OsStr::new)),
        ("CNI_ARGS", env.args.as_deref().map(OsStr::new)),
        ("CNI_PATH", env.path.as_deref()),
    ];
    for (k, v) in vars {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let failed = |what: &str, e: std::io::Error| {
        CniError::new(
            codes::IPAM,
            format!("IPAM plugin {plugin} {what}"),
            format!("{}: {e}", exe.display()),
        )
    };
    let mut child = cmd.spawn().map_err(|e| failed("could not be run", e))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A plugin that exits without reading all of it is judged by its
        // exit status and output, not by this write.
        let _ = stdin.write_all(config);
    }
    let out = child
        .wait_with_output()
        .map_err(|e| failed("could not be waited for", e))?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let error = super::json::Json::parse(&out.stdout).ok().and_then(|v| {
        let code = v
            .get("code")?
            .as_u64()
            .and_then(|c| u32::try_from(c).ok())?;
        let text = |k: &str| v.get(k).and_then(|m| m.as_str()).unwrap_or("").to_string();
        Some((code, text("msg"), text("details")))
    });
    match error {
        Some((code, msg, details)) => Err(CniError::new(
            code,
            format!("IPAM plugin {plugin}: {msg}"),
            details,
        )),
        None => Err(CniError::new(
            codes::IPAM,
            format!("IPAM plugin {plugin} failed ({})", out.status),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout).trim(),
                stderr.trim()
            ),
        )),
    }
}

/// `ADD` through the IPAM plugin: its result, which must hold at least one
/// address.
pub fn add(plugin: &str, env: &CniEnv, config: &[u8]) -> Result<CniResult, CniError> {
    let out = exec(plugin, "ADD", env, config)?;
    let result = CniResult::parse(&out).map_err(|e| {
        CniError::new(
            codes::IPAM,
            format!("IPAM plugin {plugin} gave a result that cannot be decoded"),
            e.details,
        )
    })?;
    if result.ips.is_empty() {
        return Err(CniError::new(
            codes::IPAM,
            format!("IPAM plugin {plugin} returned no IPs"),
            String::from_utf8_lossy(&out).into_owned(),
        ));
    }
    Ok(result)
}
