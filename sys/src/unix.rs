//! `AF_UNIX` `SOCK_SEQPACKET` sockets, the transport of the device-plugin
//! handshake: create, bind/listen/accept/connect on a filesystem path,
//! socketpair, send and receive one message with file descriptors
//! (`SCM_RIGHTS`), and the peer's credentials.
//!
//! Every socket here is close-on-exec, and so is every fd received
//! (`MSG_CMSG_CLOEXEC`). [`recv_msg`] wraps each fd the kernel installs as
//! an [`OwnedFd`] before it looks at anything else, so no control data, however
//! odd, can leak one.
//!
//! ```
//! use afxdp_sys::unix;
//!
//! let (a, b) = unix::socketpair()?;
//! // Send a message carrying one fd (here: `a` itself).
//! unix::send_msg(a.as_fd(), b"/fd_ack", &[a.as_fd()])?;
//! let mut buf = [0u8; 128];
//! let mut fds = [None];
//! let got = unix::recv_msg(b.as_fd(), &mut buf, &mut fds)?;
//! assert_eq!(&buf[..got.len], b"/fd_ack");
//! assert_eq!(got.fds, 1);
//! assert!(fds[0].is_some());
//! # Ok::<(), afxdp_sys::Errno>(())
//! ```

use core::mem::{offset_of, size_of};

use afxdp_core::abi::socket::{
    cmsg_align, cmsg_len, cmsg_space, CmsgHdr, IoVec, MsgHdr, SockaddrUn, UCred, AF_UNIX,
    MSG_CMSG_CLOEXEC, MSG_CTRUNC, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_TRUNC, SCM_MAX_FD, SCM_PIDFD,
    SCM_RIGHTS, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_SEQPACKET, SOL_SOCKET, SO_PEERCRED,
    UNIX_PATH_MAX,
};

use crate::arch::{nr, syscall3, syscall4};
use crate::{check, socket, BorrowedFd, Errno, OwnedFd, Result};

/// A filesystem `AF_UNIX` address: a `sockaddr_un` and the length to give
/// the kernel (the path and its NUL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnixAddr {
    addr: SockaddrUn,
    len: usize,
}

impl UnixAddr {
    /// The address of the socket file at `path`: `EINVAL` for an empty path
    /// or one with a NUL byte, `ENAMETOOLONG` for more than 107 bytes (the
    /// path and its NUL must fit in `sun_path`).
    ///
    /// ```
    /// use afxdp_sys::{unix::UnixAddr, Errno};
    /// assert!(UnixAddr::from_path(b"/tmp/afxdp_dp/eth0/afxdp.sock").is_ok());
    /// assert_eq!(UnixAddr::from_path(&[b'a'; 108]).unwrap_err(), Errno::ENAMETOOLONG);
    /// assert_eq!(UnixAddr::from_path(b"a\0b").unwrap_err(), Errno::EINVAL);
    /// ```
    pub fn from_path(path: &[u8]) -> Result<UnixAddr> {
        if path.is_empty() || path.contains(&0) {
            return Err(Errno::EINVAL);
        }
        if path.len() >= UNIX_PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let mut addr = SockaddrUn::default();
        addr.sun_path[..path.len()].copy_from_slice(path);
        Ok(UnixAddr {
            addr,
            len: offset_of!(SockaddrUn, sun_path) + path.len() + 1,
        })
    }

    /// The path, without its NUL.
    pub fn path(&self) -> &[u8] {
        let n = self.len - offset_of!(SockaddrUn, sun_path) - 1;
        &self.addr.sun_path[..n]
    }

    /// The address as the kernel reads it: the first `len` bytes of the
    /// `sockaddr_un`.
    fn as_bytes(&self) -> &[u8] {
        let all: &[u8; size_of::<SockaddrUn>()] =
            // SAFETY: `SockaddrUn` is `#[repr(C)]`, 110 bytes of integers with
            // no padding (asserted in afxdp-core), so every byte is initialised
            // and the reference has the struct's lifetime.
            unsafe { &*(&self.addr as *const SockaddrUn).cast() };
        &all[..self.len]
    }
}

#[cfg(feature = "std")]
impl TryFrom<&std::path::Path> for UnixAddr {
    type Error = Errno;

    /// See [`UnixAddr::from_path`].
    fn try_from(path: &std::path::Path) -> Result<UnixAddr> {
        use std::os::unix::ffi::OsStrExt;
        UnixAddr::from_path(path.as_os_str().as_bytes())
    }
}

/// `socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)`.
///
/// ```
/// let fd = afxdp_sys::unix::seqpacket()?;
/// # Ok::<(), afxdp_sys::Errno>(())
/// ```
pub fn seqpacket() -> Result<OwnedFd> {
    socket::socket(AF_UNIX, SOCK_SEQPACKET, 0)
}

/// Binds `fd` to `addr` (creates the socket file: `EADDRINUSE` if the path
/// exists, even as a stale socket). [`listen_at`] shows the whole server
/// side.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("afxdp-doc-bind-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// use std::os::unix::ffi::OsStrExt;
/// use afxdp_sys::unix::{self, UnixAddr};
/// let path = dir.join("b.sock");
/// let addr = UnixAddr::from_path(path.as_os_str().as_bytes())?;
/// let fd = unix::seqpacket()?;
/// unix::bind(fd.as_fd(), &addr)?;
/// assert_eq!(unix::bind(unix::seqpacket()?.as_fd(), &addr), Err(afxdp_sys::Errno::EADDRINUSE));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), afxdp_sys::Errno>(())
/// ```
pub fn bind(fd: BorrowedFd<'_>, addr: &UnixAddr) -> Result<()> {
    socket::bind_bytes(fd, addr.as_bytes())
}

/// Connects `fd` to the socket at `addr` (`ENOENT` if there is none,
/// `ECONNREFUSED` if nobody listens there).
pub fn connect(fd: BorrowedFd<'_>, addr: &UnixAddr) -> Result<()> {
    socket::connect_bytes(fd, addr.as_bytes())
}

/// A new `SOCK_SEQPACKET` socket bound to `path` and listening with
/// `backlog`.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("afxdp-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # let path = dir.join("listen.sock");
/// # let _ = std::fs::remove_file(&path);
/// use std::os::unix::ffi::OsStrExt;
/// use afxdp_sys::unix::{self, UnixAddr};
/// let addr = UnixAddr::from_path(path.as_os_str().as_bytes())?;
/// let server = unix::listen_at(&addr, 16)?;
/// let client = unix::connect_to(&addr)?;
/// let conn = unix::accept(server.as_fd(), false)?;
/// # drop((client, conn));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), afxdp_sys::Errno>(())
/// ```
pub fn listen_at(addr: &UnixAddr, backlog: i32) -> Result<OwnedFd> {
    let fd = seqpacket()?;
    bind(fd.as_fd(), addr)?;
    socket::listen(fd.as_fd(), backlog)?;
    Ok(fd)
}

/// A new `SOCK_SEQPACKET` socket connected to `addr` (see [`listen_at`]).
///
/// ```
/// use afxdp_sys::{unix::{self, UnixAddr}, Errno};
/// let addr = UnixAddr::from_path(b"/nonexistent/afxdp.sock")?;
/// assert_eq!(unix::connect_to(&addr).unwrap_err(), Errno::ENOENT);
/// # Ok::<(), afxdp_sys::Errno>(())
/// ```
pub fn connect_to(addr: &UnixAddr) -> Result<OwnedFd> {
    let fd = seqpacket()?;
    connect(fd.as_fd(), addr)?;
    Ok(fd)
}

/// Accepts a connection on the listening socket `fd`: the new socket is
/// close-on-exec, and non-blocking if `nonblock`. Restarted on `EINTR`.
pub fn accept(fd: BorrowedFd<'_>, nonblock: bool) -> Result<OwnedFd> {
    socket::accept(fd, if nonblock { SOCK_NONBLOCK } else { 0 })
}

/// `socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)`: two connected
/// sockets.
///
/// ```
/// let (a, b) = afxdp_sys::unix::socketpair()?;
/// assert_ne!(a.as_raw(), b.as_raw());
/// # Ok::<(), afxdp_sys::Errno>(())
/// ```
pub fn socketpair() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1i32; 2];
    // SAFETY: `fds` is writable for two ints.
    check(unsafe {
        syscall4(
            nr::SOCKETPAIR,
            usize::from(AF_UNIX),
            (SOCK_SEQPACKET | SOCK_CLOEXEC) as usize,
            0,
            fds.as_mut_ptr() as usize,
        )
    })?;
    // SAFETY: on success the kernel installed both fds for us alone.
    let first = unsafe { OwnedFd::from_raw(fds[0]) };
    // SAFETY: as above.
    let second = unsafe { OwnedFd::from_raw(fds[1]) };
    Ok((first, second))
}

/// The credentials of the peer of a connected `AF_UNIX` socket, as they
/// were when it connected (`SO_PEERCRED`).
///
/// ```
/// let (a, _b) = afxdp_sys::unix::socketpair()?;
/// let cred = afxdp_sys::unix::peer_cred(a.as_fd())?;
/// assert_eq!(cred.pid as u32, std::process::id());
/// # Ok::<(), afxdp_sys::Errno>(())
/// ```
pub fn peer_cred(fd: BorrowedFd<'_>) -> Result<UCred> {
    let (cred, len) = socket::getsockopt::<UCred>(fd, SOL_SOCKET, SO_PEERCRED)?;
    if len != size_of::<UCred>() {
        return Err(Errno::EINVAL);
    }
    Ok(cred)
}

/// Words (8 bytes, the alignment of `cmsghdr`) of the control buffer that
/// [`send_msg`] builds: one `SCM_RIGHTS` message of up to `SCM_MAX_FD` fds.
const SEND_CONTROL_WORDS: usize = cmsg_space(SCM_MAX_FD * size_of::<i32>()) / 8;

/// Sends `bytes` as one message, with `fds` (at most `SCM_MAX_FD`, else
/// `EINVAL`) in one `SCM_RIGHTS` control message when there are any.
/// `MSG_NOSIGNAL`: a closed peer gives `EPIPE`, not a signal. Restarted on
/// `EINTR`. Returns the bytes sent (all of them, on a `SOCK_SEQPACKET`
/// socket).
///
/// ```
/// let (a, b) = afxdp_sys::unix::socketpair()?;
/// assert_eq!(afxdp_sys::unix::send_msg(a.as_fd(), b"/version", &[])?, 8);
/// # Ok::<(), afxdp_sys::Errno>(())
/// ```
pub fn send_msg(fd: BorrowedFd<'_>, bytes: &[u8], fds: &[BorrowedFd<'_>]) -> Result<usize> {
    if fds.len() > SCM_MAX_FD {
        return Err(Errno::EINVAL);
    }
    let mut control = [0u64; SEND_CONTROL_WORDS];
    let control_len = if fds.is_empty() {
        0
    } else {
        let data_len = fds.len() * size_of::<i32>();
        let header = CmsgHdr {
            cmsg_len: cmsg_len(data_len),
            cmsg_level: SOL_SOCKET,
            cmsg_type: SCM_RIGHTS,
        };
        let bytes = words_as_bytes_mut(&mut control);
        write_cmsghdr(bytes, &header);
        let data = cmsg_align(size_of::<CmsgHdr>());
        for (i, f) in fds.iter().enumerate() {
            let at = data + i * size_of::<i32>();
            bytes[at..at + 4].copy_from_slice(&f.as_raw().to_ne_bytes());
        }
        cmsg_space(data_len)
    };
    let mut iov = IoVec {
        iov_base: bytes.as_ptr().cast_mut(),
        iov_len: bytes.len(),
    };
    let msg = MsgHdr {
        msg_iov: &mut iov,
        msg_iovlen: 1,
        msg_control: if control_len == 0 {
            core::ptr::null_mut()
        } else {
            control.as_mut_ptr().cast()
        },
        msg_controllen: control_len,
        ..MsgHdr::empty()
    };
    loop {
        // SAFETY: `msg` points at one iovec over `bytes` (which the kernel
        // only reads) and at `control_len` initialised bytes of `control`;
        // all outlive the call.
        let ret = unsafe {
            syscall3(
                nr::SENDMSG,
                fd.as_raw() as usize,
                &msg as *const MsgHdr as usize,
                MSG_NOSIGNAL as usize,
            )
        };
        match check(ret) {
            Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

/// What [`recv_msg`] received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecvMsg {
    /// Bytes of the message, at the start of the buffer. 0 with no fds is
    /// either an empty message or, more likely, the peer's close.
    pub len: usize,
    /// Fds stored in the caller's slots, from slot 0.
    pub fds: usize,
    /// Fds that came beyond the caller's slots, already closed.
    pub dropped_fds: usize,
}

impl RecvMsg {
    /// Every fd the message carried: kept and closed.
    pub fn fds_received(&self) -> usize {
        self.fds + self.dropped_fds
    }
}

/// Fds the control buffer of [`recv_msg`] always has room for, even beside
/// the credentials of a socket with `SO_PASSCRED` (without them, a few more
/// fit). More in one message is `MSG_CTRUNC`, an error.
pub const RECV_MAX_FDS: usize = 8;

/// Words of the control buffer of [`recv_msg`]: [`RECV_MAX_FDS`] fds, plus
/// room for the credentials and pidfd messages a socket with `SO_PASSCRED`
/// or `SO_PASSPIDFD` also gets.
const RECV_CONTROL_WORDS: usize = (cmsg_space(RECV_MAX_FDS * size_of::<i32>())
    + cmsg_space(size_of::<UCred>())
    + cmsg_space(size_of::<i32>()))
    / 8;

/// Receives one message into `buf` and its fds into `fds_out`, with room
/// for [`RECV_MAX_FDS`] fds; see [`recv_msg_with_control`].
///
/// ```
/// let (a, b) = afxdp_sys::unix::socketpair()?;
/// afxdp_sys::unix::send_msg(a.as_fd(), b"/fin", &[])?;
/// let mut buf = [0u8; 64];
/// let got = afxdp_sys::unix::recv_msg(b.as_fd(), &mut buf, &mut [])?;
/// assert_eq!(&buf[..got.len], b"/fin");
/// # Ok::<(), afxdp_sys::Errno>(())
/// ```
pub fn recv_msg(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    fds_out: &mut [Option<OwnedFd>],
) -> Result<RecvMsg> {
    let mut control = [0u64; RECV_CONTROL_WORDS];
    recv_msg_with_control(fd, buf, fds_out, &mut control)
}

/// [`recv_msg`] that never waits (`MSG_DONTWAIT`, also on a blocking
/// socket): `EAGAIN` when no message is queued.
///
/// ```
/// let (a, b) = afxdp_sys::unix::socketpair()?;
/// let mut buf = [0u8; 64];
/// let nothing = afxdp_sys::unix::recv_msg_nowait(b.as_fd(), &mut buf, &mut []);
/// assert_eq!(nothing.unwrap_err(), afxdp_sys::Errno::EAGAIN);
/// afxdp_sys::unix::send_msg(a.as_fd(), b"/fin_ack", &[])?;
/// let got = afxdp_sys::unix::recv_msg_nowait(b.as_fd(), &mut buf, &mut [])?;
/// assert_eq!(&buf[..got.len], b"/fin_ack");
/// # Ok::<(), afxdp_sys::Errno>(())
/// ```
pub fn recv_msg_nowait(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    fds_out: &mut [Option<OwnedFd>],
) -> Result<RecvMsg> {
    let mut control = [0u64; RECV_CONTROL_WORDS];
    recv_msg_flags(fd, buf, fds_out, &mut control, MSG_DONTWAIT)
}

/// Receives one message into `buf`, with `control` (8-byte words, for the
/// alignment of `cmsghdr`) as the control buffer, `MSG_CMSG_CLOEXEC`.
/// Restarted on `EINTR`.
///
/// Every fd the kernel installed (from `SCM_RIGHTS`, or `SCM_PIDFD` which
/// is never given to the caller) is owned at once: the first ones go to
/// `fds_out[0..]`, the rest are closed. Every slot is reset first (an fd the
/// caller left in one is closed). Then:
/// - control data truncated (`MSG_CTRUNC`: more fds than `control` holds,
///   the surplus already discarded by the kernel): `ENOBUFS`, every fd of
///   the message closed;
/// - data truncated (`MSG_TRUNC`: the message was longer than `buf`):
///   `EMSGSIZE`, every fd of the message closed.
///
/// A control buffer too small for even one header makes the kernel discard
/// all fds (and set `MSG_CTRUNC`).
///
/// ```
/// let (a, b) = afxdp_sys::unix::socketpair()?;
/// afxdp_sys::unix::send_msg(a.as_fd(), b"x", &[a.as_fd(), a.as_fd(), a.as_fd()])?;
/// let mut buf = [0u8; 8];
/// let mut fds = [None, None, None];
/// // A 16-byte header and room for two fds: the kernel truncates the
/// // control data.
/// let mut control = [0u64; 3];
/// let err = afxdp_sys::unix::recv_msg_with_control(b.as_fd(), &mut buf, &mut fds, &mut control);
/// assert_eq!(err.unwrap_err(), afxdp_sys::Errno::ENOBUFS);
/// assert!(fds.iter().all(Option::is_none)); // the two installed were closed
/// # Ok::<(), afxdp_sys::Errno>(())
/// ```
pub fn recv_msg_with_control(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    fds_out: &mut [Option<OwnedFd>],
    control: &mut [u64],
) -> Result<RecvMsg> {
    recv_msg_flags(fd, buf, fds_out, control, 0)
}

/// [`recv_msg_with_control`] with `extra_flags` added to `MSG_CMSG_CLOEXEC`.
fn recv_msg_flags(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    fds_out: &mut [Option<OwnedFd>],
    control: &mut [u64],
    extra_flags: u32,
) -> Result<RecvMsg> {
    for slot in fds_out.iter_mut() {
        *slot = None;
    }
    let control_bytes = words_as_bytes_mut(control);
    let mut iov = IoVec {
        iov_base: buf.as_mut_ptr(),
        iov_len: buf.len(),
    };
    let mut msg = MsgHdr {
        msg_iov: &mut iov,
        msg_iovlen: 1,
        msg_control: control_bytes.as_mut_ptr(),
        msg_controllen: control_bytes.len(),
        ..MsgHdr::empty()
    };
    let len = loop {
        // Zero the control buffer, so that a byte the kernel did not write
        // can never be read as an fd.
        control_bytes.fill(0);
        msg.msg_controllen = control_bytes.len();
        msg.msg_flags = 0;
        // SAFETY: `msg` points at one iovec over `buf` and at the control
        // buffer, both writable for the lengths given and outliving the
        // call.
        let ret = unsafe {
            syscall3(
                nr::RECVMSG,
                fd.as_raw() as usize,
                &mut msg as *mut MsgHdr as usize,
                (MSG_CMSG_CLOEXEC | extra_flags) as usize,
            )
        };
        match check(ret) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(n) => break n,
        }
    };
    // Take ownership of every installed fd before looking at anything else.
    let written = msg.msg_controllen.min(control_bytes.len());
    let mut got = RecvMsg {
        len,
        ..RecvMsg::default()
    };
    for_each_received_fd(&control_bytes[..written], |owned, for_caller| match fds_out
        .get_mut(got.fds)
    {
        Some(slot) if for_caller => {
            *slot = Some(owned);
            got.fds += 1;
        }
        _ => {
            drop(owned);
            got.dropped_fds += 1;
        }
    });
    let flags = msg.msg_flags as u32;
    let failure = if flags & MSG_CTRUNC != 0 {
        Some(Errno::ENOBUFS)
    } else if flags & MSG_TRUNC != 0 || len > buf.len() {
        Some(Errno::EMSGSIZE)
    } else {
        None
    };
    if let Some(e) = failure {
        for slot in fds_out.iter_mut() {
            *slot = None;
        }
        return Err(e);
    }
    Ok(got)
}

/// Calls `f` with every fd installed by the control messages in `control`
/// (the bytes the kernel wrote), wrapped as an [`OwnedFd`], and whether it
/// is one the caller asked for (`SCM_RIGHTS`) or not (`SCM_PIDFD`). Copes
/// with any content: a header that does not fit ends the walk, a
/// `cmsg_len` past the end is cut to what is there, a trailing partial int
/// is skipped, and so is a negative one.
fn for_each_received_fd(control: &[u8], mut f: impl FnMut(OwnedFd, bool)) {
    let hdr_len = size_of::<CmsgHdr>();
    let data_start = cmsg_align(hdr_len);
    let mut at = 0usize;
    while let Some(header) = control.get(at..).and_then(read_cmsghdr) {
        if header.cmsg_len < hdr_len {
            break;
        }
        let end = at.saturating_add(header.cmsg_len).min(control.len());
        let data = control
            .get(at.saturating_add(data_start)..end)
            .unwrap_or_default();
        let installs_fds = header.cmsg_level == SOL_SOCKET
            && (header.cmsg_type == SCM_RIGHTS || header.cmsg_type == SCM_PIDFD);
        if installs_fds {
            for chunk in data.chunks_exact(size_of::<i32>()) {
                let raw = i32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                if raw >= 0 {
                    // SAFETY: the kernel wrote this int into an SCM_RIGHTS or
                    // SCM_PIDFD message it delivered to us: it installed the
                    // fd in our table for this message alone, and nothing
                    // else knows its number yet.
                    let owned = unsafe { OwnedFd::from_raw(raw) };
                    f(owned, header.cmsg_type == SCM_RIGHTS);
                }
            }
        }
        // Any other message (SCM_CREDENTIALS, SCM_SECURITY, ...) carries no fd.
        match at.checked_add(cmsg_align(header.cmsg_len)) {
            Some(next) if next > at => at = next,
            _ => break,
        }
    }
}

/// Reads a `cmsghdr` from the start of `bytes`, if one fits.
fn read_cmsghdr(bytes: &[u8]) -> Option<CmsgHdr> {
    let b = bytes.get(..size_of::<CmsgHdr>())?;
    let mut len = [0u8; size_of::<usize>()];
    len.copy_from_slice(&b[0..8]);
    Some(CmsgHdr {
        cmsg_len: usize::from_ne_bytes(len),
        cmsg_level: i32::from_ne_bytes([b[8], b[9], b[10], b[11]]),
        cmsg_type: i32::from_ne_bytes([b[12], b[13], b[14], b[15]]),
    })
}

/// Writes a `cmsghdr` at the start of `bytes` (at least 16 bytes long).
fn write_cmsghdr(bytes: &mut [u8], h: &CmsgHdr) {
    if let Some(b) = bytes.get_mut(..size_of::<CmsgHdr>()) {
        b[0..8].copy_from_slice(&h.cmsg_len.to_ne_bytes());
        b[8..12].copy_from_slice(&h.cmsg_level.to_ne_bytes());
        b[12..16].copy_from_slice(&h.cmsg_type.to_ne_bytes());
    }
}

/// Views 8-byte words as bytes (the words give the alignment `cmsghdr`
/// needs).
fn words_as_bytes_mut(words: &mut [u64]) -> &mut [u8] {
    let len = core::mem::size_of_val(words);
    // SAFETY: a `[u64]` is `len` initialised bytes with no padding, any byte
    // pattern is a valid `u64`, and the returned slice borrows `words`
    // mutably for its whole lifetime.
    unsafe { core::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), len) }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;

    /// A fresh fd: the read end of a new pipe.
    fn fresh_fd() -> i32 {
        let mut fds = [0i32; 2];
        // SAFETY: `fds` is writable for two ints.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: we own the write end and close it at once.
        unsafe { libc::close(fds[1]) };
        fds[0]
    }

    fn is_open(fd: i32) -> bool {
        // SAFETY: F_GETFD only reads the flags of an fd number.
        unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
    }

    fn push_cmsg(buf: &mut Vec<u8>, len: usize, level: i32, ty: i32, data: &[u8]) {
        buf.extend_from_slice(&len.to_ne_bytes());
        buf.extend_from_slice(&level.to_ne_bytes());
        buf.extend_from_slice(&ty.to_ne_bytes());
        buf.extend_from_slice(data);
        while !buf.len().is_multiple_of(8) {
            buf.push(0);
        }
    }

    /// Odd control data: only ints inside well-delimited `SOL_SOCKET`
    /// `SCM_RIGHTS`/`SCM_PIDFD` messages are taken (and closed); a foreign
    /// level, a partial int, a negative value, a header cut short or a
    /// length past the end never make it close anything else.
    #[test]
    fn the_control_walk_takes_exactly_the_delivered_fds() {
        let [rights, partial, foreign, pidfd, cut] = [(); 5].map(|_| fresh_fd());
        let mut ctl = Vec::new();
        // A credentials message first: no fd.
        push_cmsg(&mut ctl, cmsg_len(12), SOL_SOCKET, 2, &[0xff; 12]);
        // SCM_RIGHTS with one fd, one negative int, and 2 stray bytes.
        let mut data = rights.to_ne_bytes().to_vec();
        data.extend_from_slice(&(-1i32).to_ne_bytes());
        data.extend_from_slice(&partial.to_ne_bytes()[..2]);
        push_cmsg(
            &mut ctl,
            cmsg_len(data.len()),
            SOL_SOCKET,
            SCM_RIGHTS,
            &data,
        );
        // Another level, same type number: not ours.
        push_cmsg(
            &mut ctl,
            cmsg_len(4),
            41,
            SCM_RIGHTS,
            &foreign.to_ne_bytes(),
        );
        // A pidfd: taken and closed, not given to the caller.
        push_cmsg(
            &mut ctl,
            cmsg_len(4),
            SOL_SOCKET,
            SCM_PIDFD,
            &pidfd.to_ne_bytes(),
        );
        // A message whose length runs past the end: cut to what is there.
        // (The kernel writes only the bytes it has, no padding after them.)
        push_cmsg(&mut ctl, 4096, SOL_SOCKET, SCM_RIGHTS, &cut.to_ne_bytes());
        ctl.truncate(ctl.len() - 4);
        let mut seen = Vec::new();
        for_each_received_fd(&ctl, |fd, for_caller| seen.push((fd.as_raw(), for_caller)));
        assert_eq!(seen, [(rights, true), (pidfd, false), (cut, true)]);
        assert!(!is_open(rights) && !is_open(pidfd) && !is_open(cut));
        assert!(
            is_open(partial) && is_open(foreign),
            "not delivered: left alone"
        );

        // A header with cmsg_len < 16, then a real message: the walk stops.
        let after = fresh_fd();
        let mut ctl = Vec::new();
        push_cmsg(&mut ctl, 8, SOL_SOCKET, SCM_RIGHTS, &[]);
        push_cmsg(
            &mut ctl,
            cmsg_len(4),
            SOL_SOCKET,
            SCM_RIGHTS,
            &after.to_ne_bytes(),
        );
        let mut n = 0;
        for_each_received_fd(&ctl, |_, _| n += 1);
        assert_eq!(n, 0);
        // A header cut short: nothing.
        for_each_received_fd(&ctl[..12], |_, _| n += 1);
        assert_eq!(n, 0);
        for fd in [partial, foreign, after] {
            // SAFETY: these fds are ours and still open.
            unsafe { libc::close(fd) };
        }
    }
}
