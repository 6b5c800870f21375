//! Netdev lookups by ioctl and sysfs: name to index, index to name, flags,
//! ethtool channel counts, and RX queues listed in sysfs.
//!
//! The ioctls go through a throw-away `AF_UNIX` datagram socket, which exists
//! in every network namespace and needs no privilege; they answer for the
//! network namespace of the calling thread.

use afxdp_core::abi::ethtool::{
    EthtoolChannels, IfReq, ETHTOOL_GCHANNELS, IFNAMSIZ, SIOCETHTOOL, SIOCGIFFLAGS, SIOCGIFINDEX,
    SIOCGIFNAME,
};
use afxdp_core::abi::socket::{AF_UNIX, SOCK_DGRAM};

use crate::arch::{nr, syscall3, syscall4, O_DIRECTORY};
use crate::{check, check_fd, socket, BorrowedFd, Errno, Result};

/// Issues `ioctl(fd, cmd, req)` on an `ifreq`.
fn ioctl_ifreq(fd: BorrowedFd<'_>, cmd: u32, req: &mut IfReq) -> Result<()> {
    // SAFETY: `req` is a writable `struct ifreq`; for SIOCETHTOOL the caller
    // has pointed `ifr_data` at a live command struct.
    check(unsafe {
        syscall3(
            nr::IOCTL,
            fd.as_raw() as usize,
            cmd as usize,
            req as *mut IfReq as usize,
        )
    })
    .map(drop)
}

fn with_ioctl_socket<T>(f: impl FnOnce(BorrowedFd<'_>) -> Result<T>) -> Result<T> {
    let sock = socket::socket(AF_UNIX, SOCK_DGRAM, 0)?;
    f(sock.as_fd())
}

/// The index of the netdev `name` (`SIOCGIFINDEX`). `ENODEV` if there is no
/// such netdev, `EINVAL` if the name cannot be a netdev name.
pub fn ifindex(name: &str) -> Result<u32> {
    let mut req = IfReq::with_name(name).ok_or(Errno::EINVAL)?;
    with_ioctl_socket(|s| ioctl_ifreq(s, SIOCGIFINDEX, &mut req))?;
    Ok(req.ifindex() as u32)
}

/// The name of the netdev with index `ifindex` (`SIOCGIFNAME`), NUL-padded.
/// `ENODEV` if there is none.
pub fn ifname(ifindex: u32) -> Result<[u8; IFNAMSIZ]> {
    let mut req = IfReq::default();
    req.ifr_ifru[0] = u64::from(ifindex);
    with_ioctl_socket(|s| ioctl_ifreq(s, SIOCGIFNAME, &mut req))?;
    let mut name = req.ifr_name;
    name[IFNAMSIZ - 1] = 0;
    Ok(name)
}

/// The `IFF_*` flags of the netdev `name` (`SIOCGIFFLAGS`).
pub fn flags(name: &str) -> Result<u16> {
    let mut req = IfReq::with_name(name).ok_or(Errno::EINVAL)?;
    with_ioctl_socket(|s| ioctl_ifreq(s, SIOCGIFFLAGS, &mut req))?;
    Ok(req.flags())
}

/// The channel counts of the netdev `name` (`ETHTOOL_GCHANNELS`).
/// `EOPNOTSUPP` when its driver does not report channels.
pub fn channels(name: &str) -> Result<EthtoolChannels> {
    let mut req = IfReq::with_name(name).ok_or(Errno::EINVAL)?;
    let mut ch = EthtoolChannels {
        cmd: ETHTOOL_GCHANNELS,
        ..Default::default()
    };
    req.set_data(&mut ch as *mut EthtoolChannels as u64);
    with_ioctl_socket(|s| ioctl_ifreq(s, SIOCETHTOOL, &mut req))?;
    Ok(ch)
}

/// Counts the `rx-N` entries of `/sys/class/net/<name>/queues`.
///
/// sysfs shows the network namespace of whoever mounted it, not of the
/// calling thread: prefer [`channels`], and use this as the fallback.
pub fn sysfs_rx_queues(name: &str) -> Result<u32> {
    const PREFIX: &[u8] = b"/sys/class/net/";
    const SUFFIX: &[u8] = b"/queues\0";
    if IfReq::with_name(name).is_none() {
        return Err(Errno::EINVAL);
    }
    let mut path = [0u8; PREFIX.len() + IFNAMSIZ + SUFFIX.len()];
    let n = name.len();
    path[..PREFIX.len()].copy_from_slice(PREFIX);
    path[PREFIX.len()..PREFIX.len() + n].copy_from_slice(name.as_bytes());
    path[PREFIX.len() + n..PREFIX.len() + n + SUFFIX.len()].copy_from_slice(SUFFIX);

    const AT_FDCWD: isize = -100;
    const O_CLOEXEC: u32 = 0o2000000;
    // SAFETY: `path` is NUL-terminated and outlives the call.
    let dir = check_fd(unsafe {
        syscall4(
            nr::OPENAT,
            AT_FDCWD as usize,
            path.as_ptr() as usize,
            (O_DIRECTORY | O_CLOEXEC) as usize,
            0,
        )
    })?;
    let mut count = 0u32;
    let mut buf = [0u8; 1024];
    loop {
        // SAFETY: `buf` is writable for its length.
        let n = check(unsafe {
            syscall3(
                nr::GETDENTS64,
                dir.as_raw() as usize,
                buf.as_mut_ptr() as usize,
                buf.len(),
            )
        })?;
        if n == 0 {
            return Ok(count);
        }
        // struct linux_dirent64 { u64 d_ino; i64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
        let mut at = 0usize;
        while at + 19 <= n {
            let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
            if reclen < 19 || at + reclen > n {
                return Err(Errno::EIO);
            }
            if buf[at + 19..at + reclen].starts_with(b"rx-") {
                count += 1;
            }
            at += reclen;
        }
    }
}
