//! A route-netlink socket: open, send a request to the kernel, receive
//! replies. Encoding and parsing live in `afxdp_core::rtnetlink`.

use afxdp_core::abi::rtnetlink::{SockaddrNl, NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_ROUTE};
use afxdp_core::abi::socket::{AF_NETLINK, MSG_TRUNC, SOCK_RAW, SOL_NETLINK};

use crate::{socket, BorrowedFd, Errno, OwnedFd, Result};

/// An `AF_NETLINK`/`NETLINK_ROUTE` socket bound to a kernel-chosen port, with
/// extended acks on and request echo in error acks capped.
#[derive(Debug)]
pub struct RouteSocket {
    fd: OwnedFd,
    port_id: u32,
}

impl RouteSocket {
    /// Opens and binds the socket.
    pub fn open() -> Result<RouteSocket> {
        let fd = socket::socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)?;
        // Both options are optional comforts (kernel 4.3+ and 4.12+): an old
        // kernel that lacks them still attaches programs.
        let _ = socket::setsockopt(fd.as_fd(), SOL_NETLINK, NETLINK_EXT_ACK, &1i32);
        let _ = socket::setsockopt(fd.as_fd(), SOL_NETLINK, NETLINK_CAP_ACK, &1i32);
        socket::bind(
            fd.as_fd(),
            &SockaddrNl {
                nl_family: AF_NETLINK,
                ..Default::default()
            },
        )?;
        let mut addr = [0u8; core::mem::size_of::<SockaddrNl>()];
        socket::getsockname_bytes(fd.as_fd(), &mut addr)?;
        let port_id = u32::from_ne_bytes([addr[4], addr[5], addr[6], addr[7]]);
        Ok(RouteSocket { fd, port_id })
    }

    /// The port id the kernel gave this socket (replies carry it in `nlmsg_pid`).
    pub fn port_id(&self) -> u32 {
        self.port_id
    }

    /// The socket's fd.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Sends one request (a whole netlink message) to the kernel.
    pub fn send(&self, msg: &[u8]) -> Result<()> {
        let kernel = SockaddrNl {
            nl_family: AF_NETLINK,
            ..Default::default()
        };
        loop {
            match socket::send_to(self.fd.as_fd(), msg, 0, &kernel) {
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e),
                Ok(n) if n == msg.len() => return Ok(()),
                Ok(_) => return Err(Errno::EMSGSIZE),
            }
        }
    }

    /// Receives one datagram into `buf` (blocking); returns its length.
    /// `EMSGSIZE` if it did not fit: the rest is lost, as netlink does.
    pub fn recv(&self, buf: &mut [u8]) -> Result<usize> {
        loop {
            match socket::recv(self.fd.as_fd(), buf, MSG_TRUNC) {
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e),
                Ok(n) if n > buf.len() => return Err(Errno::EMSGSIZE),
                Ok(n) => return Ok(n),
            }
        }
    }
}
