//! Generic socket calls: socket, bind, connect, listen, accept4, socket
//! options, sendto/recvfrom. Family-specific wrappers (AF_XDP, netlink,
//! AF_UNIX) build on these.

use core::mem::{size_of, MaybeUninit};

use afxdp_core::abi::socket::{
    Timeval, SOCK_CLOEXEC, SOL_SOCKET, SO_DOMAIN, SO_PROTOCOL, SO_RCVTIMEO, SO_SNDTIMEO, SO_TYPE,
};

use crate::arch::{nr, syscall2, syscall3, syscall4, syscall5, syscall6};
use crate::{check, check_fd, BorrowedFd, Errno, OwnedFd, Result};

/// A plain-data type that may be passed to and filled by the kernel as a
/// socket option or address: every bit pattern is a valid value and it has
/// no padding the kernel could leave uninitialised.
///
/// # Safety
/// Implement only for `#[repr(C)]` integer-only types without implicit
/// padding.
pub unsafe trait Pod: Copy {}

// SAFETY: integers have no padding and accept every bit pattern.
unsafe impl Pod for i32 {}
// SAFETY: as above.
unsafe impl Pod for u32 {}
// SAFETY: as above.
unsafe impl Pod for u64 {}
// SAFETY: every type below is `#[repr(C)]`, integers only, with explicit
// padding fields (checked by the layout assertions in `afxdp-core`).
unsafe impl Pod for afxdp_core::abi::if_xdp::SockaddrXdp {}
// SAFETY: as above.
unsafe impl Pod for afxdp_core::abi::if_xdp::XdpUmemReg {}
// SAFETY: as above.
unsafe impl Pod for afxdp_core::abi::if_xdp::XdpUmemRegV1 {}
// SAFETY: as above.
unsafe impl Pod for afxdp_core::abi::if_xdp::XdpMmapOffsets {}
// SAFETY: as above.
unsafe impl Pod for afxdp_core::abi::if_xdp::XdpMmapOffsetsV1 {}
// SAFETY: as above.
unsafe impl Pod for afxdp_core::abi::if_xdp::XdpStatistics {}
// SAFETY: as above.
unsafe impl Pod for afxdp_core::abi::if_xdp::XdpStatisticsV1 {}
// SAFETY: as above.
unsafe impl Pod for afxdp_core::abi::if_xdp::XdpOptions {}
// SAFETY: as above.
unsafe impl Pod for afxdp_core::abi::rtnetlink::SockaddrNl {}
// SAFETY: as above.
unsafe impl Pod for afxdp_core::abi::socket::UCred {}
// SAFETY: as above.
unsafe impl Pod for afxdp_core::abi::socket::Timeval {}
// SAFETY: as above (a `u16` and a byte array: no padding, size 110).
unsafe impl Pod for afxdp_core::abi::socket::SockaddrUn {}

/// `socket(domain, type | SOCK_CLOEXEC, protocol)`.
pub fn socket(domain: u16, ty: u32, protocol: i32) -> Result<OwnedFd> {
    // SAFETY: socket takes no pointers.
    check_fd(unsafe {
        syscall3(
            nr::SOCKET,
            domain as usize,
            (ty | SOCK_CLOEXEC) as usize,
            protocol as usize,
        )
    })
}

/// `bind(fd, addr, sizeof(*addr))`.
pub fn bind<A: Pod>(fd: BorrowedFd<'_>, addr: &A) -> Result<()> {
    // SAFETY: `addr` is readable for `size_of::<A>()` bytes.
    check(unsafe {
        syscall3(
            nr::BIND,
            fd.as_raw() as usize,
            addr as *const A as usize,
            size_of::<A>(),
        )
    })
    .map(drop)
}

/// `bind` with an address given as raw bytes (for variable-length
/// addresses such as `sockaddr_un`).
pub fn bind_bytes(fd: BorrowedFd<'_>, addr: &[u8]) -> Result<()> {
    // SAFETY: `addr` is readable for its length.
    check(unsafe {
        syscall3(
            nr::BIND,
            fd.as_raw() as usize,
            addr.as_ptr() as usize,
            addr.len(),
        )
    })
    .map(drop)
}

/// `connect` with an address given as raw bytes. Restarted on `EINTR` is
/// not possible for connect (it would report `EALREADY`), so `EINTR` is
/// returned to the caller.
pub fn connect_bytes(fd: BorrowedFd<'_>, addr: &[u8]) -> Result<()> {
    // SAFETY: `addr` is readable for its length.
    check(unsafe {
        syscall3(
            nr::CONNECT,
            fd.as_raw() as usize,
            addr.as_ptr() as usize,
            addr.len(),
        )
    })
    .map(drop)
}

/// `listen(fd, backlog)`.
pub fn listen(fd: BorrowedFd<'_>, backlog: i32) -> Result<()> {
    // SAFETY: listen takes no pointers.
    check(unsafe { syscall2(nr::LISTEN, fd.as_raw() as usize, backlog as usize) }).map(drop)
}

/// `accept4(fd, NULL, NULL, SOCK_CLOEXEC | flags)`, restarted on `EINTR`.
pub fn accept(fd: BorrowedFd<'_>, flags: u32) -> Result<OwnedFd> {
    loop {
        // SAFETY: null address pointers ask the kernel for no peer address.
        let ret = unsafe {
            syscall4(
                nr::ACCEPT4,
                fd.as_raw() as usize,
                0,
                0,
                (flags | SOCK_CLOEXEC) as usize,
            )
        };
        match check_fd(ret) {
            Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

/// `getsockname` into a raw buffer; returns the address length.
pub fn getsockname_bytes(fd: BorrowedFd<'_>, addr: &mut [u8]) -> Result<usize> {
    let mut len = addr.len() as u32;
    // SAFETY: `addr` is writable for `len` bytes and `len` is a valid u32.
    check(unsafe {
        syscall3(
            nr::GETSOCKNAME,
            fd.as_raw() as usize,
            addr.as_mut_ptr() as usize,
            &mut len as *mut u32 as usize,
        )
    })?;
    Ok(len as usize)
}

/// `setsockopt(fd, level, name, value, sizeof(*value))`.
pub fn setsockopt<T: Pod>(fd: BorrowedFd<'_>, level: i32, name: i32, value: &T) -> Result<()> {
    // SAFETY: `value` is readable for `size_of::<T>()` bytes.
    check(unsafe {
        syscall5(
            nr::SETSOCKOPT,
            fd.as_raw() as usize,
            level as usize,
            name as usize,
            value as *const T as usize,
            size_of::<T>(),
        )
    })
    .map(drop)
}

/// `getsockopt(fd, level, name, &value, &len)`: returns the value (zero-filled
/// past what the kernel wrote) and the length the kernel reported, which
/// tells which version of a struct an older kernel returned.
pub fn getsockopt<T: Pod>(fd: BorrowedFd<'_>, level: i32, name: i32) -> Result<(T, usize)> {
    let mut value = MaybeUninit::<T>::zeroed();
    let mut len = size_of::<T>() as u32;
    // SAFETY: `value` is writable for `len` bytes and `len` is a valid u32.
    check(unsafe {
        syscall5(
            nr::GETSOCKOPT,
            fd.as_raw() as usize,
            level as usize,
            name as usize,
            value.as_mut_ptr() as usize,
            &mut len as *mut u32 as usize,
        )
    })?;
    // SAFETY: zeroed is a valid `T` (Pod), and the kernel only wrote bytes.
    Ok((unsafe { value.assume_init() }, len as usize))
}

/// `sendto(fd, buf, len, flags, NULL, 0)`: returns the bytes sent.
pub fn send(fd: BorrowedFd<'_>, buf: &[u8], flags: u32) -> Result<usize> {
    // SAFETY: `buf` is readable for its length; no address.
    check(unsafe {
        syscall6(
            nr::SENDTO,
            fd.as_raw() as usize,
            buf.as_ptr() as usize,
            buf.len(),
            flags as usize,
            0,
            0,
        )
    })
}

/// `sendto(fd, buf, len, flags, addr, sizeof(*addr))`.
pub fn send_to<A: Pod>(fd: BorrowedFd<'_>, buf: &[u8], flags: u32, addr: &A) -> Result<usize> {
    // SAFETY: `buf` and `addr` are readable for their sizes.
    check(unsafe {
        syscall6(
            nr::SENDTO,
            fd.as_raw() as usize,
            buf.as_ptr() as usize,
            buf.len(),
            flags as usize,
            addr as *const A as usize,
            size_of::<A>(),
        )
    })
}

/// `recvfrom(fd, buf, len, flags, NULL, NULL)`: returns the bytes received
/// (with `MSG_TRUNC`, the full length of the datagram).
pub fn recv(fd: BorrowedFd<'_>, buf: &mut [u8], flags: u32) -> Result<usize> {
    // SAFETY: `buf` is writable for its length; no address.
    check(unsafe {
        syscall6(
            nr::RECVFROM,
            fd.as_raw() as usize,
            buf.as_mut_ptr() as usize,
            buf.len(),
            flags as usize,
            0,
            0,
        )
    })
}

/// The family a socket was created with (`SO_DOMAIN`: `AF_XDP`, `AF_UNIX`,
/// ...); `ENOTSOCK` if `fd` is not a socket.
///
/// ```
/// use afxdp_core::abi::socket::AF_UNIX;
/// let (a, _b) = afxdp_sys::unix::socketpair()?;
/// assert_eq!(afxdp_sys::socket::domain(a.as_fd())?, AF_UNIX);
/// # Ok::<(), afxdp_sys::Errno>(())
/// ```
pub fn domain(fd: BorrowedFd<'_>) -> Result<u16> {
    let (v, _) = getsockopt::<i32>(fd, SOL_SOCKET, SO_DOMAIN)?;
    u16::try_from(v).map_err(|_| Errno::EINVAL)
}

/// The type a socket was created with (`SO_TYPE`: `SOCK_RAW`,
/// `SOCK_SEQPACKET`, ..., without the `SOCK_CLOEXEC`/`SOCK_NONBLOCK`
/// flags); `ENOTSOCK` if `fd` is not a socket.
///
/// ```
/// use afxdp_core::abi::socket::SOCK_SEQPACKET;
/// let (a, _b) = afxdp_sys::unix::socketpair()?;
/// assert_eq!(afxdp_sys::socket::socket_type(a.as_fd())?, SOCK_SEQPACKET);
/// # Ok::<(), afxdp_sys::Errno>(())
/// ```
pub fn socket_type(fd: BorrowedFd<'_>) -> Result<u32> {
    let (v, _) = getsockopt::<i32>(fd, SOL_SOCKET, SO_TYPE)?;
    u32::try_from(v).map_err(|_| Errno::EINVAL)
}

/// The protocol a socket was created with (`SO_PROTOCOL`; 0 for AF_XDP and
/// AF_UNIX); `ENOTSOCK` if `fd` is not a socket.
///
/// ```
/// let (a, _b) = afxdp_sys::unix::socketpair()?;
/// assert_eq!(afxdp_sys::socket::protocol(a.as_fd())?, 0);
/// # Ok::<(), afxdp_sys::Errno>(())
/// ```
pub fn protocol(fd: BorrowedFd<'_>) -> Result<i32> {
    getsockopt::<i32>(fd, SOL_SOCKET, SO_PROTOCOL).map(|(v, _)| v)
}

/// Sets `SO_RCVTIMEO`: a blocking receive fails with `EAGAIN` after
/// `timeout`; `None` blocks forever. A zero timeout is sent as 1 µs,
/// because the kernel reads zero as "forever".
///
/// ```
/// use core::time::Duration;
/// let (a, _b) = afxdp_sys::unix::socketpair()?;
/// afxdp_sys::socket::set_recv_timeout(a.as_fd(), Some(Duration::from_millis(20)))?;
/// let mut buf = [0u8; 8];
/// let mut fds = [];
/// assert_eq!(afxdp_sys::unix::recv_msg(a.as_fd(), &mut buf, &mut fds).unwrap_err(),
///            afxdp_sys::Errno::EAGAIN);
/// # Ok::<(), afxdp_sys::Errno>(())
/// ```
pub fn set_recv_timeout(fd: BorrowedFd<'_>, timeout: Option<core::time::Duration>) -> Result<()> {
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout_value(timeout))
}

/// Sets `SO_SNDTIMEO`: a blocking send fails with `EAGAIN` after `timeout`;
/// `None` blocks forever. A zero timeout is sent as 1 µs, as in
/// [`set_recv_timeout`].
///
/// ```
/// use core::time::Duration;
/// let (a, _b) = afxdp_sys::unix::socketpair()?;
/// afxdp_sys::socket::set_send_timeout(a.as_fd(), Some(Duration::from_secs(1)))?;
/// # Ok::<(), afxdp_sys::Errno>(())
/// ```
pub fn set_send_timeout(fd: BorrowedFd<'_>, timeout: Option<core::time::Duration>) -> Result<()> {
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout_value(timeout))
}

/// The `struct timeval` for a socket timeout: zero (forever) for `None`, at
/// least 1 µs otherwise.
fn timeout_value(timeout: Option<core::time::Duration>) -> Timeval {
    match timeout {
        None => Timeval::default(),
        Some(d) => {
            let tv = Timeval::from_duration(d);
            if tv.is_zero() {
                Timeval {
                    tv_sec: 0,
                    tv_usec: 1,
                }
            } else {
                tv
            }
        }
    }
}
