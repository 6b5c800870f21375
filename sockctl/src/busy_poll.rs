//! Preferred busy polling on an AF_XDP socket: [`set_busy_poll`] over a
//! borrowed fd, so that a device-plugin side can configure a socket a
//! client handed it (`/config_busy_poll`) as well as its own.

use afxdp_core::abi::socket::{
    AF_XDP, SOL_SOCKET, SO_BUSY_POLL, SO_BUSY_POLL_BUDGET, SO_DOMAIN, SO_PREFER_BUSY_POLL,
};
use afxdp_core::Errno;
use afxdp_sys::BorrowedFd;

use crate::error::{Error, Result};

/// DPDK's busy-poll timeout in microseconds (`SO_BUSY_POLL`).
pub const BUSY_POLL_TIMEOUT_US: u32 = 20;
/// DPDK's default busy-poll budget (`busy_budget`).
pub const DEFAULT_BUSY_BUDGET: u32 = 64;

/// Busy-poll settings: `SO_BUSY_POLL` (microseconds) and
/// `SO_BUSY_POLL_BUDGET` (packets per poll).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BusyPoll {
    /// Microseconds to busy-poll (`SO_BUSY_POLL`).
    pub timeout_us: u32,
    /// Packets per busy poll (`SO_BUSY_POLL_BUDGET`).
    pub budget: u32,
}

impl Default for BusyPoll {
    /// DPDK's: 20 µs, budget 64.
    fn default() -> Self {
        BusyPoll {
            timeout_us: BUSY_POLL_TIMEOUT_US,
            budget: DEFAULT_BUSY_BUDGET,
        }
    }
}

/// Sets `SO_PREFER_BUSY_POLL=1`, `SO_BUSY_POLL` and `SO_BUSY_POLL_BUDGET` on
/// the AF_XDP socket `fd`, after checking (`SO_DOMAIN`) that it is one: an
/// fd that is not a socket fails with `ENOTSOCK`, another kind of socket
/// with `EAFNOSUPPORT`. Raising the budget needs `CAP_NET_ADMIN` (`EPERM`);
/// a budget above 65535 is `EINVAL`. Nothing is left half set: on a
/// failure the options that did apply are turned off again.
///
/// ```no_run
/// use af_xdp::busy_poll::{set_busy_poll, BusyPoll};
/// # fn f(sock: &af_xdp::XskSocket) -> af_xdp::Result<()> {
/// set_busy_poll(sock.as_fd(), BusyPoll { timeout_us: 20, budget: 64 })?;
/// # Ok(()) }
/// ```
pub fn set_busy_poll(fd: BorrowedFd<'_>, cfg: BusyPoll) -> Result<()> {
    set_busy_poll_raw(fd, cfg).map_err(|(op, e)| {
        let err = Error::sys(op, format_args!("fd {}", fd.as_raw()), e);
        match e {
            Errno::EAFNOSUPPORT => err.with_detail("not an AF_XDP socket"),
            Errno::EPERM => {
                err.with_hint("busy polling with a budget above the default needs CAP_NET_ADMIN")
            }
            _ => err,
        }
    })
}

/// [`set_busy_poll`], returning the option that failed and its errno.
pub(crate) fn set_busy_poll_raw(
    fd: BorrowedFd<'_>,
    cfg: BusyPoll,
) -> std::result::Result<(), (&'static str, Errno)> {
    let (domain, _) = afxdp_sys::socket::getsockopt::<i32>(fd, SOL_SOCKET, SO_DOMAIN)
        .map_err(|e| ("SO_DOMAIN", e))?;
    if domain != i32::from(AF_XDP) {
        return Err(("SO_DOMAIN", Errno::EAFNOSUPPORT));
    }
    // Both values checked before anything is set: the kernel refuses a
    // budget above u16::MAX with EINVAL, and half a configuration (busy
    // polling preferred, with the old budget) must not stay behind.
    let timeout = i32::try_from(cfg.timeout_us).map_err(|_| ("SO_BUSY_POLL", Errno::EINVAL))?;
    let budget = match u16::try_from(cfg.budget) {
        Ok(b) => i32::from(b),
        Err(_) => return Err(("SO_BUSY_POLL_BUDGET", Errno::EINVAL)),
    };
    let set = |name: i32, opname: &'static str, v: i32| {
        afxdp_sys::socket::setsockopt(fd, SOL_SOCKET, name, &v).map_err(|e| (opname, e))
    };
    let result = set(SO_PREFER_BUSY_POLL, "SO_PREFER_BUSY_POLL", 1)
        .and_then(|()| set(SO_BUSY_POLL, "SO_BUSY_POLL", timeout))
        .and_then(|()| set(SO_BUSY_POLL_BUDGET, "SO_BUSY_POLL_BUDGET", budget));
    if result.is_err() {
        // Undo what did apply, as DPDK does: lowering needs no privilege.
        let _ = set(SO_PREFER_BUSY_POLL, "SO_PREFER_BUSY_POLL", 0);
        let _ = set(SO_BUSY_POLL, "SO_BUSY_POLL", 0);
    }
    result
}
