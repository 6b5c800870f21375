//! Gating tests on what they need (root, tools, CNI plugins): without it a
//! test is skipped loudly, and under `AFXDP_REQUIRE_PRIVILEGED=1` (as
//! `.ci/run` sets) a skip is a failure.

use std::path::Path;
use std::process::{Command, Stdio};

/// Whether this test may touch the kernel as root. When not root it prints a
/// loud SKIPPED line and returns `false`, unless `AFXDP_REQUIRE_PRIVILEGED=1`,
/// in which case a skip is a failure (panic).
pub fn privileged(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    skip(
        test,
        "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN); run as root to exercise the kernel",
    );
    false
}

/// Skips `test` for `why` (what it needs and how to get it): prints a loud
/// SKIPPED line, or panics under `AFXDP_REQUIRE_PRIVILEGED=1`. The test
/// returns after calling it.
pub fn skip(test: &str, why: &str) {
    let required = std::env::var("AFXDP_REQUIRE_PRIVILEGED").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{test}: {why} (AFXDP_REQUIRE_PRIVILEGED=1 forbids skipping)"
    );
    eprintln!("!!! SKIPPED {test}: {why} (AFXDP_REQUIRE_PRIVILEGED=1 makes this a failure)");
}

/// Whether `tool` is a command on `PATH` (`command -v`).
pub fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The directory holding the host-local IPAM plugin (Debian's
/// containernetworking-plugins, or the upstream layout), if installed.
pub fn host_local_dir() -> Option<&'static str> {
    ["/usr/lib/cni", "/opt/cni/bin"]
        .into_iter()
        .find(|d| Path::new(d).join("host-local").is_file())
}
