//! [`XskSocket`]: a bound AF_XDP socket, apart from its rings: what it is
//! bound to, its kernel counters, its pending error, and what `poll` needs.

use std::fmt;
use std::sync::Arc;

use afxdp_core::abi::if_xdp::{XdpStatistics, XDP_OPTIONS_ZEROCOPY};
use afxdp_core::abi::socket::{PollFd, POLLIN, SOL_SOCKET, SO_ERROR};
use afxdp_core::Errno;
use afxdp_sys::xsk;
use afxdp_sys::{BorrowedFd, OwnedFd};

use crate::busy_poll::{set_busy_poll_raw, BusyPoll};
use crate::error::{Error, ErrorKind, Result};
use crate::netdev::Netdev;
use crate::umem::Umem;

/// The socket's fd: the UMEM's own (first socket) or one of its own.
pub(crate) enum SockFd {
    Umem(Umem),
    Own(OwnedFd),
}

impl SockFd {
    pub(crate) fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            SockFd::Umem(u) => u.as_fd(),
            SockFd::Own(fd) => fd.as_fd(),
        }
    }
}

/// A bound AF_XDP socket (its rings are separate, see
/// [`Queues`](crate::Queues)).
pub struct XskSocket {
    pub(crate) fd: Arc<SockFd>,
    pub(crate) netdev: Netdev,
    pub(crate) queue: u32,
    pub(crate) umem: Umem,
    pub(crate) shared: bool,
    pub(crate) need_wakeup: bool,
}

impl XskSocket {
    /// The socket's fd (for an XSKMAP, or `poll`).
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The netdev it is bound to.
    pub fn netdev(&self) -> &Netdev {
        &self.netdev
    }

    /// The queue it is bound to.
    pub fn queue(&self) -> u32 {
        self.queue
    }

    /// The UMEM it uses.
    pub fn umem(&self) -> &Umem {
        &self.umem
    }

    /// Whether it shares its UMEM with an earlier socket.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// Whether it was bound with need-wakeup.
    pub fn uses_need_wakeup(&self) -> bool {
        self.need_wakeup
    }

    fn subject(&self) -> String {
        format!("{} queue {}", self.netdev, self.queue)
    }

    /// What to give `poll` to wait for received frames on this socket.
    pub fn poll_fd(&self) -> PollFd {
        PollFd {
            fd: self.as_fd().as_raw(),
            events: POLLIN,
            revents: 0,
        }
    }

    /// The kernel's counters for this socket (`XDP_STATISTICS`).
    pub fn statistics(&self) -> Result<XdpStatistics> {
        xsk::statistics(self.as_fd()).map_err(|e| Error::sys("XDP_STATISTICS", self.subject(), e))
    }

    /// Whether the socket is still bound: `Err` once the interface it was
    /// bound to is gone. The kernel unbinds the socket when its interface is
    /// deleted and leaves `ENETDOWN` in `SO_ERROR` (once: reading clears
    /// it); an unbound socket then receives and sends nothing, silently,
    /// and its wakeups fail with `ENXIO`. Both are checked here. The error
    /// names the interface and queue, kind
    /// [`ErrorKind::NetworkDown`]. An interface merely set down is not an
    /// error: the socket stays bound.
    ///
    /// One or two system calls: for the idle path, not for every frame.
    pub fn take_error(&self) -> Result<()> {
        let (errno, _) = afxdp_sys::socket::getsockopt::<i32>(self.as_fd(), SOL_SOCKET, SO_ERROR)
            .map_err(|e| Error::sys("SO_ERROR", self.subject(), e))?;
        let gone = || {
            Error::sys("AF_XDP socket", self.subject(), Errno::ENETDOWN)
                .with_kind(ErrorKind::NetworkDown)
                .with_detail("the interface is gone; the socket is unbound")
        };
        match errno {
            0 => {}
            e if e == Errno::ENETDOWN.raw() => return Err(gone()),
            e => {
                return Err(Error::sys(
                    "AF_XDP socket",
                    self.subject(),
                    Errno::from_raw(e),
                ))
            }
        }
        // The pending error may have been read already: ask the socket.
        match xsk::wakeup_rx(self.as_fd()) {
            Err(Errno::ENXIO) => Err(gone()),
            _ => Ok(()),
        }
    }

    /// Turns on preferred busy polling for this socket, as DPDK does with
    /// `busy_budget` (see [`set_busy_poll`](crate::busy_poll::set_busy_poll)). Needs `CAP_NET_ADMIN` (that is
    /// why a device plugin offers `/config_busy_poll`).
    pub fn set_busy_poll(&self, cfg: BusyPoll) -> Result<()> {
        set_busy_poll_raw(self.as_fd(), cfg).map_err(|(op, e)| {
            let err = Error::sys(op, self.subject(), e);
            match e {
                Errno::EPERM => err.with_hint(
                    "busy polling needs CAP_NET_ADMIN; run without it, or have the device-plugin side set it (/config_busy_poll)",
                ),
                Errno::ENOPROTOOPT | Errno::EINVAL => {
                    err.with_hint("preferred busy polling needs kernel 5.11 or later")
                }
                _ => err,
            }
        })
    }

    /// Whether the socket runs in zero-copy mode (`XDP_OPTIONS`).
    pub fn is_zero_copy(&self) -> Result<bool> {
        xsk::options(self.as_fd())
            .map(|o| o.flags & XDP_OPTIONS_ZEROCOPY != 0)
            .map_err(|e| Error::sys("XDP_OPTIONS", self.subject(), e))
    }
}

impl fmt::Debug for XskSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XskSocket")
            .field("fd", &self.as_fd().as_raw())
            .field("netdev", &self.netdev.name())
            .field("queue", &self.queue)
            .field("shared", &self.shared)
            .finish()
    }
}

/// Waits until one of `sockets` has received frames, or `timeout_ms` passes
/// (negative: no limit). Returns whether any is readable; `EINTR` counts as
/// not readable.
pub fn wait_readable(sockets: &[&XskSocket], timeout_ms: i32) -> Result<bool> {
    let mut fds: Vec<PollFd> = sockets.iter().map(|s| s.poll_fd()).collect();
    match afxdp_sys::poll::poll(&mut fds, timeout_ms) {
        Ok(n) => Ok(n > 0),
        Err(Errno::EINTR) => Ok(false),
        Err(e) => Err(Error::sys(
            "poll AF_XDP sockets",
            sockets
                .iter()
                .map(|s| s.subject())
                .collect::<Vec<_>>()
                .join(", "),
            e,
        )),
    }
}
