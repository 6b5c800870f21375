//! Signals without handlers: block them, then ask which are pending or wait
//! for one. A program that blocks `SIGINT` and `SIGTERM` in its main thread
//! before starting others can shut down cleanly by polling for them; no
//! signal handler, no restorer trampoline, no libc.

use afxdp_core::abi::socket::Timespec;

use crate::arch::{nr, syscall2, syscall4};
use crate::{check, Errno, Result};

/// Interrupt (Ctrl-C).
pub const SIGINT: u32 = 2;
/// Termination request.
pub const SIGTERM: u32 = 15;
/// Hang up.
pub const SIGHUP: u32 = 1;

/// Bytes of the kernel's signal set.
const SIGSET_SIZE: usize = 8;

/// A set of signals (1 to 64), as the kernel's `rt_sig*` calls take it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigSet(u64);

impl SigSet {
    /// The empty set.
    pub const EMPTY: SigSet = SigSet(0);

    /// The set of `signals` (numbers outside 1..=64 are ignored).
    pub const fn of(signals: &[u32]) -> SigSet {
        let mut bits = 0u64;
        let mut i = 0;
        while i < signals.len() {
            let s = signals[i];
            if s >= 1 && s <= 64 {
                bits |= 1 << (s - 1);
            }
            i += 1;
        }
        SigSet(bits)
    }

    /// Whether `signal` is in the set.
    pub const fn contains(self, signal: u32) -> bool {
        signal >= 1 && signal <= 64 && self.0 & (1 << (signal - 1)) != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

const SIG_BLOCK: usize = 0;
const SIG_SETMASK: usize = 2;

/// Blocks `set` for the calling thread (threads started later inherit the
/// mask); returns the previous mask.
pub fn block(set: SigSet) -> Result<SigSet> {
    let mut old = 0u64;
    // SAFETY: both pointers are valid u64 signal sets of SIGSET_SIZE bytes.
    check(unsafe {
        syscall4(
            nr::RT_SIGPROCMASK,
            SIG_BLOCK,
            &set.0 as *const u64 as usize,
            &mut old as *mut u64 as usize,
            SIGSET_SIZE,
        )
    })?;
    Ok(SigSet(old))
}

/// Sets the calling thread's mask to `set` (to undo [`block`]).
pub fn set_mask(set: SigSet) -> Result<()> {
    // SAFETY: a valid signal set; no old mask asked for.
    check(unsafe {
        syscall4(
            nr::RT_SIGPROCMASK,
            SIG_SETMASK,
            &set.0 as *const u64 as usize,
            0,
            SIGSET_SIZE,
        )
    })
    .map(drop)
}

/// The blocked signals that are pending for this thread or the process.
pub fn pending() -> Result<SigSet> {
    let mut set = 0u64;
    // SAFETY: a valid u64 signal set of SIGSET_SIZE bytes.
    check(unsafe {
        syscall2(
            nr::RT_SIGPENDING,
            &mut set as *mut u64 as usize,
            SIGSET_SIZE,
        )
    })?;
    Ok(SigSet(set))
}

/// Waits up to `timeout_ms` for one of the (blocked) signals in `set` and
/// takes it; `None` on timeout.
pub fn wait_timeout(set: SigSet, timeout_ms: u32) -> Result<Option<u32>> {
    let ts = Timespec {
        tv_sec: i64::from(timeout_ms / 1000),
        tv_nsec: i64::from(timeout_ms % 1000) * 1_000_000,
    };
    // SAFETY: a valid signal set and timespec; no siginfo asked for.
    let ret = unsafe {
        syscall4(
            nr::RT_SIGTIMEDWAIT,
            &set.0 as *const u64 as usize,
            0,
            &ts as *const Timespec as usize,
            SIGSET_SIZE,
        )
    };
    match check(ret) {
        Ok(sig) => Ok(Some(sig as u32)),
        Err(Errno::EAGAIN) | Err(Errno::EINTR) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Sends `signal` to the process `pid` (`kill(2)`).
pub fn kill(pid: i32, signal: u32) -> Result<()> {
    // SAFETY: kill takes no pointers.
    check(unsafe { syscall2(nr::KILL, pid as usize, signal as usize) }).map(drop)
}

/// This process's id.
pub fn getpid() -> i32 {
    // SAFETY: getpid takes nothing and cannot fail.
    unsafe { crate::arch::syscall0(nr::GETPID) as i32 }
}
