//! Network namespaces by path: [`NetNs`] holds one open (its fd is what
//! `IFLA_NET_NS_FD` takes), and [`NetNs::run`] does work inside it on a
//! thread of its own, leaving the calling thread where it is.
//!
//! Netlink sockets belong to the namespace of the thread that opens them,
//! so the work opens its own.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};

use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};

use crate::error::{Error, Result};

/// The operation an [`Error`] from failing to enter a namespace names.
pub const ENTER_OP: &str = "enter network namespace";

/// An open network namespace.
#[derive(Debug)]
pub struct NetNs {
    file: File,
    path: PathBuf,
}

impl NetNs {
    /// Opens the namespace at `path` (`/run/netns/NAME`,
    /// `/proc/PID/ns/net`, a runtime's bind mount). Whether it really is a
    /// network namespace shows when it is used (`EINVAL`).
    pub fn open(path: &Path) -> io::Result<NetNs> {
        Ok(NetNs {
            file: File::open(path)?,
            path: path.to_path_buf(),
        })
    }

    /// The namespace of the calling thread.
    pub fn current() -> io::Result<NetNs> {
        NetNs::open(Path::new("/proc/thread-self/ns/net"))
    }

    /// The path it was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The fd, for `IFLA_NET_NS_FD`.
    pub fn as_raw_fd(&self) -> i32 {
        self.file.as_raw_fd()
    }

    /// The fd, borrowed.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// Runs `f` on a new thread that has entered this namespace; returns
    /// what `f` returns. Fails (without running `f`) if the thread cannot
    /// enter it: not a network namespace (`EINVAL`), or no `CAP_SYS_ADMIN`
    /// (`EPERM`). A panic in `f` is passed on.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
        let mut f = Some(f);
        let mut out = None;
        self.run_dyn(&mut || {
            if let Some(f) = f.take() {
                out = Some(f());
            }
        })?;
        out.unwrap_or_else(|| {
            Err(Error::new(
                crate::ErrorKind::Other,
                "run in network namespace",
                self.path.display(),
                "the work did not run",
            ))
        })
    }

    /// [`run`](Self::run) without the type parameter: one thread-spawning
    /// function in the binary, however many closures use it.
    fn run_dyn(&self, work: &mut (dyn FnMut() + Send)) -> Result<()> {
        let fd = self.as_fd();
        std::thread::scope(|s| {
            let handle = s.spawn(move || {
                move_into_link_name_space(fd, Some(LinkNameSpaceType::Network)).map_err(|e| {
                    Error::sys(
                        ENTER_OP,
                        self.path.display(),
                        afxdp_core::Errno::from_raw(e.raw_os_error()),
                    )
                })?;
                work();
                Ok(())
            });
            match handle.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// Whether this is the namespace `other` is (same inode on nsfs).
    pub fn same_as(&self, other: &NetNs) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (self.file.metadata(), other.file.metadata()) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
}
