//! `afxdp-sys`: raw Linux system calls for AF_XDP and BPF, and thin typed
//! wrappers over them. `no_std`, no dependencies but `afxdp-core`, no libc.
//!
//! One function per kernel operation: typed arguments in,
//! `Result<T, Errno>` out. No retries (beyond `EINTR` where a call is
//! restartable) and no policy: deciding what to do with an error is the
//! caller's job (`sockctl` adds context and hints).
//!
//! - [`fd`]: [`OwnedFd`] (closes on drop) and [`BorrowedFd`].
//! - [`bpf`]: maps, pinning, program load with the verifier log, links, info.
//! - [`xsk`]: AF_XDP sockets: UMEM registration, ring sizes and mappings,
//!   bind, statistics, wakeups.
//! - [`mm`]: [`mm::Mmap`], an owned memory mapping.
//! - [`netlink`]: a route-netlink socket.
//! - [`netdev`]: interface index and name, flags, ethtool channels.
//! - [`socket`], [`poll`]: the generic socket calls and `ppoll`.
//! - [`signal`]: block signals and poll for them, without handlers.
//!
//! Every fd this crate opens is close-on-exec.
//!
//! ```no_run
//! use afxdp_sys::bpf;
//! use afxdp_core::abi::bpf::{MapCreateAttr, BPF_MAP_TYPE_XSKMAP};
//!
//! let map = bpf::map_create(&MapCreateAttr {
//!     map_type: BPF_MAP_TYPE_XSKMAP,
//!     key_size: 4,
//!     value_size: 4,
//!     max_entries: 1,
//!     ..Default::default()
//! })?;
//! let info = bpf::map_info(map.as_fd())?;
//! assert_eq!(info.map_type, BPF_MAP_TYPE_XSKMAP);
//! # Ok::<(), afxdp_sys::Errno>(())
//! ```
#![no_std]

#[cfg(feature = "std")]
extern crate std;

mod arch;
pub mod bpf;
pub mod fd;
pub mod mm;
pub mod netdev;
pub mod netlink;
pub mod poll;
pub mod signal;
pub mod socket;
pub mod unix;
pub mod xsk;

pub use afxdp_core::Errno;
pub use fd::{BorrowedFd, OwnedFd};

/// The result of a system call.
pub type Result<T> = core::result::Result<T, Errno>;

/// Turns a raw syscall return value into a result: the kernel returns
/// `-errno` in `-4095..=-1`.
#[inline]
pub(crate) fn check(ret: isize) -> Result<usize> {
    if (-4095..0).contains(&ret) {
        Err(Errno::from_raw(ret as i32))
    } else {
        Ok(ret as usize)
    }
}

/// Like [`check`], for calls that return a new fd.
#[inline]
pub(crate) fn check_fd(ret: isize) -> Result<OwnedFd> {
    let fd = check(ret)?;
    // SAFETY: the kernel just returned this fd to us and nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw(fd as i32) })
}

/// Converts an [`Errno`] into the `std` error type.
#[cfg(feature = "std")]
pub fn to_io_error(e: Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e.raw())
}
