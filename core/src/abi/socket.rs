//! `linux/socket.h`, `asm-generic/socket.h`, `linux/poll.h`: the socket
//! constants used here, with their x86_64/aarch64 (asm-generic) values.

use super::assert_layout;

/// Unspecified family.
pub const AF_UNSPEC: u16 = 0;
/// Unix domain sockets.
pub const AF_UNIX: u16 = 1;
/// IPv4.
pub const AF_INET: u16 = 2;
/// IPv6.
pub const AF_INET6: u16 = 10;
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

impl Timeval {
    /// `secs` seconds and `usecs` microseconds; `usecs` of a million or more
    /// carry into the seconds, and seconds saturate at `i64::MAX`.
    ///
    /// ```
    /// use afxdp_core::abi::socket::Timeval;
    /// assert_eq!(Timeval::new(1, 2_500_000), Timeval { tv_sec: 3, tv_usec: 500_000 });
    /// ```
    pub const fn new(secs: u64, usecs: u32) -> Timeval {
        let carry = (usecs / 1_000_000) as u64;
        let secs = secs.saturating_add(carry);
        Timeval {
            tv_sec: if secs > i64::MAX as u64 {
                i64::MAX
            } else {
                secs as i64
            },
            tv_usec: (usecs % 1_000_000) as i64,
        }
    }

    /// `ms` milliseconds.
    ///
    /// ```
    /// use afxdp_core::abi::socket::Timeval;
    /// assert_eq!(Timeval::from_millis(1_250), Timeval { tv_sec: 1, tv_usec: 250_000 });
    /// ```
    pub const fn from_millis(ms: u64) -> Timeval {
        Timeval::new(ms / 1000, ((ms % 1000) * 1000) as u32)
    }

    /// A duration, rounded *up* to whole microseconds (so that a short,
    /// non-zero timeout never becomes zero, which the kernel reads as "no
    /// timeout"); seconds saturate at `i64::MAX`.
    ///
    /// ```
    /// use afxdp_core::abi::socket::Timeval;
    /// use core::time::Duration;
    /// assert_eq!(Timeval::from_duration(Duration::from_nanos(1)), Timeval { tv_sec: 0, tv_usec: 1 });
    /// ```
    pub const fn from_duration(d: core::time::Duration) -> Timeval {
        let nanos = d.subsec_nanos();
        Timeval::new(d.as_secs(), nanos.div_ceil(1000))
    }

    /// Whether this is the zero value, which `SO_RCVTIMEO`/`SO_SNDTIMEO`
    /// read as "block forever".
    pub const fn is_zero(&self) -> bool {
        self.tv_sec == 0 && self.tv_usec == 0
    }
}

/// Socket option: the socket's protocol, read-only.
pub const SO_PROTOCOL: i32 = 38;
/// Socket option: receive `SCM_CREDENTIALS` with every message.
pub const SO_PASSCRED: i32 = 16;
/// Socket option: receive `SCM_PIDFD` (a pidfd of the sender) with every
/// message (kernel 6.5+).
pub const SO_PASSPIDFD: i32 = 76;

/// Control message: a pidfd of the sender (`SO_PASSPIDFD`); like
/// `SCM_RIGHTS`, it installs an fd in the receiver.
pub const SCM_PIDFD: i32 = 4;
/// Most fds one `SCM_RIGHTS` message may carry (`include/net/scm.h`).
pub const SCM_MAX_FD: usize = 253;

/// Bytes of `sun_path` in `struct sockaddr_un`: a path and its NUL.
pub const UNIX_PATH_MAX: usize = 108;

/// `struct sockaddr_un`: an `AF_UNIX` address. A filesystem path is
/// NUL-terminated in `sun_path` (at most 107 bytes then); an abstract name
/// starts with a NUL.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockaddrUn {
    /// `AF_UNIX`.
    pub sun_family: u16,
    /// The path.
    pub sun_path: [u8; UNIX_PATH_MAX],
}
assert_layout!(SockaddrUn, size = 110, sun_family @ 0, sun_path @ 2);

impl Default for SockaddrUn {
    fn default() -> Self {
        SockaddrUn {
            sun_family: AF_UNIX,
            sun_path: [0; UNIX_PATH_MAX],
        }
    }
}

/// `struct iovec`: one buffer of a scatter/gather list.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoVec {
    /// Start of the buffer.
    pub iov_base: *mut u8,
    /// Its length in bytes.
    pub iov_len: usize,
}
assert_layout!(IoVec, size = 16, iov_base @ 0, iov_len @ 8);

/// `struct msghdr` (64-bit), the argument of `sendmsg` and `recvmsg`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsgHdr {
    /// Peer address, or null.
    pub msg_name: *mut u8,
    /// Bytes at `msg_name`.
    pub msg_namelen: u32,
    /// Padding.
    pub _pad0: u32,
    /// The data buffers.
    pub msg_iov: *mut IoVec,
    /// How many buffers `msg_iov` has.
    pub msg_iovlen: usize,
    /// Control data (a run of [`CmsgHdr`]s, each [`cmsg_align`]ed), or null.
    pub msg_control: *mut u8,
    /// Bytes of control data; `recvmsg` sets it to the bytes written.
    pub msg_controllen: usize,
    /// `MSG_*` flags `recvmsg` sets on return (`MSG_TRUNC`, `MSG_CTRUNC`).
    pub msg_flags: i32,
    /// Padding.
    pub _pad1: u32,
}
assert_layout!(
    MsgHdr,
    size = 56,
    msg_name @ 0,
    msg_namelen @ 8,
    msg_iov @ 16,
    msg_iovlen @ 24,
    msg_control @ 32,
    msg_controllen @ 40,
    msg_flags @ 48,
);

impl MsgHdr {
    /// A header with every pointer null and every length zero.
    pub const fn empty() -> Self {
        MsgHdr {
            msg_name: core::ptr::null_mut(),
            msg_namelen: 0,
            _pad0: 0,
            msg_iov: core::ptr::null_mut(),
            msg_iovlen: 0,
            msg_control: core::ptr::null_mut(),
            msg_controllen: 0,
            msg_flags: 0,
            _pad1: 0,
        }
    }
}

/// `struct cmsghdr` (64-bit): the header of one control message; its data
/// follows at [`cmsg_align`]`(size_of::<CmsgHdr>())`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CmsgHdr {
    /// Header and data, without the padding after the data.
    pub cmsg_len: usize,
    /// Level (`SOL_SOCKET`).
    pub cmsg_level: i32,
    /// Type (`SCM_RIGHTS`, ...).
    pub cmsg_type: i32,
}
assert_layout!(CmsgHdr, size = 16, cmsg_len @ 0, cmsg_level @ 8, cmsg_type @ 12);

/// `CMSG_ALIGN`: rounds `len` up to the alignment of control messages
/// (that of `size_t`); saturates instead of overflowing.
///
/// ```
/// use afxdp_core::abi::socket::cmsg_align;
/// assert_eq!(cmsg_align(13), 16);
/// ```
pub const fn cmsg_align(len: usize) -> usize {
    const A: usize = core::mem::size_of::<usize>();
    match len.checked_add(A - 1) {
        Some(n) => n & !(A - 1),
        None => usize::MAX & !(A - 1),
    }
}

/// `CMSG_LEN`: the `cmsg_len` of a control message with `data_len` bytes of
/// data.
///
/// ```
/// use afxdp_core::abi::socket::cmsg_len;
/// assert_eq!(cmsg_len(4), 20); // one fd
/// ```
pub const fn cmsg_len(data_len: usize) -> usize {
    cmsg_align(core::mem::size_of::<CmsgHdr>()).saturating_add(data_len)
}

/// `CMSG_SPACE`: the bytes a control message with `data_len` bytes of data
/// takes in a control buffer, padding included.
///
/// ```
/// use afxdp_core::abi::socket::cmsg_space;
/// assert_eq!(cmsg_space(4), 24); // one fd
/// ```
pub const fn cmsg_space(data_len: usize) -> usize {
    cmsg_align(core::mem::size_of::<CmsgHdr>()).saturating_add(cmsg_align(data_len))
}
