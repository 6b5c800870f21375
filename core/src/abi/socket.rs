//! `linux/socket.h`, `asm-generic/socket.h`, `linux/poll.h`: the socket
//! constants used here, with their x86_64/aarch64 (asm-generic) values.

use super::assert_layout;

/// Unspecified family.
pub const AF_UNSPEC: u16 = 0;
/// Unix domain sockets.
pub const AF_UNIX: u16 = 1;
/// IPv4.
pub const AF_INET: u16 = 2;
/// Netlink.
pub const AF_NETLINK: u16 = 16;
/// Packet sockets.
pub const AF_PACKET: u16 = 17;
/// AF_XDP sockets.
pub const AF_XDP: u16 = 44;

/// Stream socket.
pub const SOCK_STREAM: u32 = 1;
/// Datagram socket.
pub const SOCK_DGRAM: u32 = 2;
/// Raw socket (AF_XDP, netlink).
pub const SOCK_RAW: u32 = 3;
/// Sequenced-packet socket (the device-plugin handshake).
pub const SOCK_SEQPACKET: u32 = 5;
/// `socket()` type flag: non-blocking.
pub const SOCK_NONBLOCK: u32 = 0o4000;
/// `socket()` type flag: close on exec.
pub const SOCK_CLOEXEC: u32 = 0o2000000;

/// Level of the generic socket options.
pub const SOL_SOCKET: i32 = 1;
/// Level of the netlink socket options.
pub const SOL_NETLINK: i32 = 270;
/// Level of the AF_XDP socket options.
pub const SOL_XDP: i32 = 283;

/// The socket's type (`SOCK_*`), read-only.
pub const SO_TYPE: i32 = 3;
/// Pending error, read and cleared.
pub const SO_ERROR: i32 = 4;
/// Send buffer size.
pub const SO_SNDBUF: i32 = 7;
/// Receive buffer size.
pub const SO_RCVBUF: i32 = 8;
/// Peer credentials of a Unix socket (`struct ucred`).
pub const SO_PEERCRED: i32 = 17;
/// Receive timeout (`struct timeval`, 64-bit `time_t`).
pub const SO_RCVTIMEO: i32 = 20;
/// Send timeout (`struct timeval`, 64-bit `time_t`).
pub const SO_SNDTIMEO: i32 = 21;
/// The socket's domain (`AF_*`), read-only.
pub const SO_DOMAIN: i32 = 39;
/// Busy-poll time in microseconds.
pub const SO_BUSY_POLL: i32 = 46;
/// Prefer busy polling over interrupts (needs `CAP_NET_ADMIN`).
pub const SO_PREFER_BUSY_POLL: i32 = 69;
/// Packets handled per busy-poll (raising it needs `CAP_NET_ADMIN`).
pub const SO_BUSY_POLL_BUDGET: i32 = 70;

/// Peek without consuming.
pub const MSG_PEEK: u32 = 0x2;
/// Control data was truncated.
pub const MSG_CTRUNC: u32 = 0x8;
/// The datagram was truncated.
pub const MSG_TRUNC: u32 = 0x20;
/// Do not block.
pub const MSG_DONTWAIT: u32 = 0x40;
/// Do not raise SIGPIPE.
pub const MSG_NOSIGNAL: u32 = 0x4000;
/// Received fds are close-on-exec.
pub const MSG_CMSG_CLOEXEC: u32 = 0x4000_0000;

/// Control message: file descriptors.
pub const SCM_RIGHTS: i32 = 1;
/// Control message: credentials.
pub const SCM_CREDENTIALS: i32 = 2;

/// `poll`: data to read.
pub const POLLIN: i16 = 0x001;
/// `poll`: writing will not block.
pub const POLLOUT: i16 = 0x004;
/// `poll`: error.
pub const POLLERR: i16 = 0x008;
/// `poll`: hang up.
pub const POLLHUP: i16 = 0x010;
/// `poll`: invalid fd.
pub const POLLNVAL: i16 = 0x020;

/// `struct pollfd`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollFd {
    /// The fd.
    pub fd: i32,
    /// Events of interest.
    pub events: i16,
    /// Events that happened.
    pub revents: i16,
}
assert_layout!(PollFd, size = 8, fd @ 0, events @ 4, revents @ 6);

/// `struct ucred`: what `SO_PEERCRED` returns.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UCred {
    /// Process id.
    pub pid: i32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}
assert_layout!(UCred, size = 12, pid @ 0, uid @ 4, gid @ 8);

/// `struct timespec` (64-bit).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timespec {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds.
    pub tv_nsec: i64,
}
assert_layout!(Timespec, size = 16, tv_sec @ 0, tv_nsec @ 8);

/// `struct timeval` (64-bit), as `SO_RCVTIMEO`/`SO_SNDTIMEO` take it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeval {
    /// Seconds.
    pub tv_sec: i64,
    /// Microseconds.
    pub tv_usec: i64,
}
assert_layout!(Timeval, size = 16, tv_sec @ 0, tv_usec @ 8);
