//! AF_PACKET send and capture on one netdev of the calling thread's network
//! namespace.

use std::io;
use std::time::{Duration, Instant};

/// `ETH_P_ALL` in network byte order.
const ETH_P_ALL_BE: u16 = (libc::ETH_P_ALL as u16).to_be();
/// `PACKET_IGNORE_OUTGOING` (kernel 4.20+).
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;

/// A raw packet socket bound to one netdev.
#[derive(Debug)]
pub struct PacketSocket {
    fd: libc::c_int,
}

impl PacketSocket {
    /// Opens a socket on `ifname` that sees incoming frames only.
    pub fn bind(ifname: &str) -> io::Result<PacketSocket> {
        let name = std::ffi::CString::new(ifname).unwrap();
        // SAFETY: `name` is a valid C string.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if ifindex == 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: plain socket creation.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                i32::from(ETH_P_ALL_BE),
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let sock = PacketSocket { fd };
        // SAFETY: zeroed sockaddr_ll is valid; fields set below.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = ETH_P_ALL_BE;
        addr.sll_ifindex = ifindex as i32;
        // SAFETY: `addr` is a valid sockaddr_ll of the given size.
        let rc = unsafe {
            libc::bind(
                fd,
                &addr as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        let one: libc::c_int = 1;
        // SAFETY: the option value is a valid int.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_PACKET,
                PACKET_IGNORE_OUTGOING,
                &one as *const libc::c_int as *const libc::c_void,
                4,
            )
        };
        let big: libc::c_int = 8 << 20;
        // SAFETY: the option value is a valid int.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                &big as *const libc::c_int as *const libc::c_void,
                4,
            )
        };
        Ok(sock)
    }

    /// Sends one frame, waiting and retrying while the netdev pushes back
    /// (`ENOBUFS`, `EAGAIN`).
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        loop {
            // SAFETY: `frame` is readable for its length.
            let n = unsafe { libc::send(self.fd, frame.as_ptr().cast(), frame.len(), 0) };
            if n == frame.len() as isize {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::ENOBUFS) | Some(libc::EAGAIN) | Some(libc::EINTR) => {
                    std::thread::sleep(Duration::from_micros(200))
                }
                _ => return Err(err),
            }
        }
    }

    /// Receives one frame, waiting at most `timeout`; `None` on timeout.
    pub fn recv(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<usize>> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut pfd = libc::pollfd {
                fd: self.fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let rc = unsafe { libc::poll(&mut pfd, 1, left.as_millis() as i32) };
            if rc == 0 {
                return Ok(None);
            }
            if rc < 0 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return Err(e);
            }
            // SAFETY: `buf` is writable for its length.
            let n = unsafe {
                libc::recv(
                    self.fd,
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n >= 0 {
                return Ok(Some(n as usize));
            }
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EAGAIN) {
                return Err(e);
            }
        }
    }

    /// Receives frames until `timeout` passes with none arriving; returns them.
    pub fn drain(&self, idle: Duration) -> io::Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 16384];
        while let Some(n) = self.recv(&mut buf, idle)? {
            out.push(buf[..n].to_vec());
        }
        Ok(out)
    }
}

impl Drop for PacketSocket {
    fn drop(&mut self) {
        // SAFETY: we own the fd.
        unsafe { libc::close(self.fd) };
    }
}

/// Sends `frames` from `ifname` at a modest pace: bursts of `burst` frames,
/// then a pause of `gap`. Returns how long it took.
pub fn send_paced(
    ifname: &str,
    frames: &[Vec<u8>],
    burst: usize,
    gap: Duration,
) -> io::Result<Duration> {
    let sock = PacketSocket::bind(ifname)?;
    let start = Instant::now();
    for (i, f) in frames.iter().enumerate() {
        sock.send(f)?;
        if (i + 1) % burst.max(1) == 0 {
            std::thread::sleep(gap);
        }
    }
    Ok(start.elapsed())
}
