//! A route-netlink socket: open, send a request to the kernel, receive
//! replies, and run a whole request/answer exchange with sequence checks.
//! Encoding and parsing live in `afxdp_core::rtnetlink`.

use core::fmt;
use core::ops::ControlFlow;

use afxdp_core::abi::rtnetlink::{SockaddrNl, NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_ROUTE};
use afxdp_core::abi::socket::{AF_NETLINK, MSG_TRUNC, SOCK_RAW, SOL_NETLINK};
use afxdp_core::rtnetlink::{Body, Message, Messages, ParseError, Pending, SeqCounter};

use crate::{socket, BorrowedFd, Errno, OwnedFd, Result};

/// The kernel's extended-ack message, copied out of the receive buffer
/// (cut at 112 bytes: the kernel's messages are short).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ExtAckMsg {
    buf: [u8; 112],
    len: u8,
}

impl ExtAckMsg {
    fn new(msg: &[u8]) -> Self {
        let mut buf = [0u8; 112];
        let mut len = msg.len().min(buf.len());
        // Cut on a character boundary.
        while len > 0 && core::str::from_utf8(&msg[..len]).is_err() {
            len -= 1;
        }
        buf[..len].copy_from_slice(&msg[..len]);
        ExtAckMsg {
            buf,
            len: len as u8,
        }
    }

    /// The message (empty if the kernel gave none).
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("")
    }
}

impl fmt::Debug for ExtAckMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// What went wrong in a netlink exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetlinkError {
    /// A system call on the socket failed.
    Sys(Errno),
    /// The kernel refused the request with an `NLMSG_ERROR`; `msg` is its
    /// extended-ack text, if it sent one.
    Refused {
        /// The kernel's errno.
        errno: Errno,
        /// The extended-ack message.
        msg: ExtAckMsg,
    },
    /// An answer could not be parsed.
    Malformed(ParseError),
}

impl NetlinkError {
    /// The errno behind the failure (`EBADMSG` for a malformed answer).
    pub fn errno(&self) -> Errno {
        match self {
            NetlinkError::Sys(e) | NetlinkError::Refused { errno: e, .. } => *e,
            NetlinkError::Malformed(_) => Errno::EBADMSG,
        }
    }

    /// The kernel's extended-ack message, if it gave one.
    pub fn ext_msg(&self) -> Option<&str> {
        match self {
            NetlinkError::Refused { msg, .. } if !msg.as_str().is_empty() => Some(msg.as_str()),
            _ => None,
        }
    }
}

impl From<Errno> for NetlinkError {
    fn from(e: Errno) -> Self {
        NetlinkError::Sys(e)
    }
}

/// How long [`RouteSocket::recv`] waits for the kernel before `EAGAIN`.
pub const RECV_TIMEOUT_SECS: i64 = 5;

/// An `AF_NETLINK`/`NETLINK_ROUTE` socket bound to a kernel-chosen port, with
/// extended acks on, request echo in error acks capped, and a receive
/// timeout of [`RECV_TIMEOUT_SECS`].
#[derive(Debug)]
pub struct RouteSocket {
    fd: OwnedFd,
    port_id: u32,
    seq: SeqCounter,
}

impl RouteSocket {
    /// Opens and binds the socket.
    pub fn open() -> Result<RouteSocket> {
        let fd = socket::socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)?;
        // Both options are optional comforts (kernel 4.3+ and 4.12+): an old
        // kernel that lacks them still attaches programs.
        let _ = socket::setsockopt(fd.as_fd(), SOL_NETLINK, NETLINK_EXT_ACK, &1i32);
        let _ = socket::setsockopt(fd.as_fd(), SOL_NETLINK, NETLINK_CAP_ACK, &1i32);
        // The kernel answers at once; a reply that never comes is a bug we
        // report (EAGAIN) rather than wait for forever.
        socket::setsockopt(
            fd.as_fd(),
            afxdp_core::abi::socket::SOL_SOCKET,
            afxdp_core::abi::socket::SO_RCVTIMEO,
            &afxdp_core::abi::socket::Timeval {
                tv_sec: RECV_TIMEOUT_SECS,
                tv_usec: 0,
            },
        )?;
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
        Ok(RouteSocket {
            fd,
            port_id,
            // Vary the first number per socket, so that a stale answer meant
            // for another socket with the same port id is unlikely to match.
            seq: SeqCounter::new(port_id.rotate_left(16) ^ 0x5eed),
        })
    }

    /// The sequence number for the next request.
    pub fn next_seq(&mut self) -> u32 {
        self.seq.next_seq()
    }

    /// Sends `request` (a whole message whose header carries `seq`) and hands
    /// each answer to it to `on_reply`, until the kernel's ack (`Ok`), its
    /// error ([`NetlinkError::Refused`]), the end of a dump, or `on_reply`
    /// returning `Break`. Messages that answer something else (another
    /// sequence number or port) are skipped. `buf` receives the datagrams;
    /// 8 KiB holds any answer about one link.
    pub fn exchange(
        &mut self,
        request: &[u8],
        seq: u32,
        buf: &mut [u8],
        mut on_reply: impl FnMut(&Message<'_>) -> ControlFlow<()>,
    ) -> core::result::Result<(), NetlinkError> {
        let pending = Pending::new(seq).with_port(self.port_id);
        self.send(request)?;
        loop {
            let n = self.recv(buf)?;
            for msg in Messages::new(&buf[..n]) {
                let msg = msg.map_err(NetlinkError::Malformed)?;
                if !pending.answers(&msg) {
                    continue;
                }
                match msg.body() {
                    Body::Ack(_) => return Ok(()),
                    Body::Error(e) => {
                        return Err(NetlinkError::Refused {
                            errno: e.errno,
                            msg: ExtAckMsg::new(e.ext.msg.unwrap_or(&[])),
                        })
                    }
                    Body::Done { errno: None } => return Ok(()),
                    Body::Done { errno: Some(errno) } => {
                        return Err(NetlinkError::Refused {
                            errno,
                            msg: ExtAckMsg::new(&[]),
                        })
                    }
                    _ => {
                        if on_reply(&msg).is_break() {
                            return Ok(());
                        }
                    }
                }
            }
        }
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
