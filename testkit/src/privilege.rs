//! Gating privileged tests.

/// Whether this test may touch the kernel as root. When not root it prints a
/// loud SKIPPED line and returns `false`, unless `AFXDP_REQUIRE_PRIVILEGED=1`,
/// in which case a skip is a failure (panic).
pub fn privileged(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    let required = std::env::var("AFXDP_REQUIRE_PRIVILEGED").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{test}: needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN) and AFXDP_REQUIRE_PRIVILEGED=1 forbids skipping"
    );
    eprintln!("!!! SKIPPED {test}: not root; run as root to exercise the kernel (AFXDP_REQUIRE_PRIVILEGED=1 makes this a failure)");
    false
}
