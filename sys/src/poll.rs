//! Waiting for fds: `ppoll`.

use afxdp_core::abi::socket::{PollFd, Timespec};

use crate::arch::{nr, syscall5};
use crate::{check, Errno, Result};

/// Waits until one of `fds` is ready or `timeout_ms` passes (negative: no
/// limit). Returns how many fds have events; `revents` tells which.
/// `EINTR` is returned to the caller, who knows whether to wait again.
pub fn poll(fds: &mut [PollFd], timeout_ms: i32) -> Result<usize> {
    let ts;
    let ts_ptr = if timeout_ms < 0 {
        core::ptr::null()
    } else {
        ts = Timespec {
            tv_sec: i64::from(timeout_ms / 1000),
            tv_nsec: i64::from(timeout_ms % 1000) * 1_000_000,
        };
        &ts as *const Timespec
    };
    if fds.len() > u32::MAX as usize {
        return Err(Errno::EINVAL);
    }
    // SAFETY: `fds` is writable for its length and `ts_ptr` is null or
    // points at a timespec that outlives the call; no signal mask (its size
    // argument is the kernel's sigset size, 8, for form's sake).
    check(unsafe {
        syscall5(
            nr::PPOLL,
            fds.as_mut_ptr() as usize,
            fds.len(),
            ts_ptr as usize,
            0,
            8,
        )
    })
}
