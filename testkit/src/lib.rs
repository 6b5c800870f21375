//! Test support for the workspace, dev-only: real kernel objects, cleaned up.
//!
//! - [`privileged`]: gate a test on root; [`skip`] for anything else it
//!   needs ([`on_path`], [`host_local_dir`]). A skip is loud, and a failure
//!   when `AFXDP_REQUIRE_PRIVILEGED=1` (as `.ci/run` sets).
//! - [`NetNs`]: a uniquely named network namespace, deleted on drop (also
//!   when the test panics); [`NetNs::run`] runs a closure inside it.
//! - [`Veth`]: a veth pair inside a namespace, both ends up; [`HostVeth`]:
//!   one in the host's namespace, for a CNI to move.
//! - [`with_bpffs`]: a bpffs in a private mount namespace that dies with the
//!   closure.
//! - [`TempDir`]: a uniquely named directory, removed on drop.
//! - [`process`]: [`ChildGuard`] (a child process stopped and reaped on
//!   drop), [`process::start_server`], a child's output line by line.
//! - [`podman`]: podman, hermetic, running a container on our CNI.
//! - [`frames`] and [`packet`]: Ethernet/IPv4/UDP test frames, and AF_PACKET
//!   send and capture.
//! - [`open_fds`]: the fds open in this process, from `/proc/self/fd`.

pub mod frames;
mod gate;
mod netns;
pub mod packet;
pub mod podman;
pub mod process;
mod tempdir;

pub use gate::{host_local_dir, on_path, privileged, skip};
pub use netns::{unique_path, with_bpffs, HostVeth, NetNs, Veth};
pub use process::ChildGuard;
pub use tempdir::TempDir;

/// Number of open fds of this process (entries of `/proc/self/fd`, minus the
/// one used to list them).
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
        .saturating_sub(1)
}

/// Runs `cmd args...`, panicking with its stderr when it fails.
pub fn run(cmd: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("spawn {cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {}: {}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Serialises the tests of one test binary that take it: hold the guard for
/// the whole test. Needed where a test counts the process's fds (which other
/// tests running in parallel would change) or needs the CPUs to itself to
/// move traffic without loss. A test that panicked while holding it does not
/// block the others.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
