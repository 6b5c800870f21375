//! The `AF_UNIX` and `sendmsg`/`recvmsg` part of `afxdp_core::abi::socket`
//! agrees with the `libc` crate: struct layouts, constants, and the
//! `CMSG_*` arithmetic.

mod common;

use afxdp_core::abi::socket::{self, cmsg_align, cmsg_len, cmsg_space, Timeval};
use common::same_layout;

#[test]
fn unix_structs_match_libc() {
    same_layout!(
        socket::SockaddrUn,
        libc::sockaddr_un,
        sun_family = sun_family,
        sun_path = sun_path
    );
    let un: libc::sockaddr_un = unsafe_zeroed_sockaddr_un();
    assert_eq!(un.sun_path.len(), socket::UNIX_PATH_MAX);
    same_layout!(
        socket::IoVec,
        libc::iovec,
        iov_base = iov_base,
        iov_len = iov_len
    );
    same_layout!(
        socket::MsgHdr,
        libc::msghdr,
        msg_name = msg_name,
        msg_namelen = msg_namelen,
        msg_iov = msg_iov,
        msg_iovlen = msg_iovlen,
        msg_control = msg_control,
        msg_controllen = msg_controllen,
        msg_flags = msg_flags
    );
    same_layout!(
        socket::CmsgHdr,
        libc::cmsghdr,
        cmsg_len = cmsg_len,
        cmsg_level = cmsg_level,
        cmsg_type = cmsg_type
    );
}

fn unsafe_zeroed_sockaddr_un() -> libc::sockaddr_un {
    // SAFETY: sockaddr_un is plain integers; all-zero is a valid value.
    unsafe { core::mem::zeroed() }
}

#[test]
fn unix_constants_match_libc() {
    assert_eq!(socket::SO_PROTOCOL, libc::SO_PROTOCOL);
    assert_eq!(socket::SO_PASSCRED, libc::SO_PASSCRED);
    assert_eq!(socket::SO_PASSPIDFD, libc::SO_PASSPIDFD);
    assert_eq!(socket::SCM_RIGHTS, libc::SCM_RIGHTS);
    assert_eq!(socket::AF_UNIX as i32, libc::AF_UNIX);
    assert_eq!(socket::SOCK_SEQPACKET as i32, libc::SOCK_SEQPACKET);
    // libc has no SCM_PIDFD or SCM_MAX_FD: the kernel's
    // include/linux/socket.h and include/net/scm.h say 4 and 253.
    assert_eq!(socket::SCM_PIDFD, 4);
    assert_eq!(socket::SCM_MAX_FD, 253);
}

#[test]
fn cmsg_arithmetic_matches_libc() {
    for data_len in [0usize, 1, 3, 4, 7, 8, 12, 16, 4 * 253, 1000] {
        let n = data_len as u32;
        // SAFETY: CMSG_SPACE only computes.
        let space = unsafe { libc::CMSG_SPACE(n) };
        // SAFETY: CMSG_LEN only computes.
        let len = unsafe { libc::CMSG_LEN(n) };
        assert_eq!(
            cmsg_space(data_len),
            space as usize,
            "CMSG_SPACE({data_len})"
        );
        assert_eq!(cmsg_len(data_len), len as usize, "CMSG_LEN({data_len})");
    }
    assert_eq!(cmsg_align(0), 0);
    assert_eq!(cmsg_align(1), 8);
    assert_eq!(cmsg_align(usize::MAX), usize::MAX & !7, "saturates");
}

#[test]
fn timeval_conversions_round_up_and_carry() {
    use core::time::Duration;
    assert_eq!(
        Timeval::from_millis(0),
        Timeval {
            tv_sec: 0,
            tv_usec: 0
        }
    );
    assert_eq!(
        Timeval::from_millis(999),
        Timeval {
            tv_sec: 0,
            tv_usec: 999_000
        }
    );
    assert_eq!(
        Timeval::from_duration(Duration::new(2, 999_999_999)),
        Timeval {
            tv_sec: 3,
            tv_usec: 0
        },
        "999_999_999 ns rounds up to a whole second"
    );
    assert_eq!(
        Timeval::from_duration(Duration::new(u64::MAX, 0)).tv_sec,
        i64::MAX
    );
    assert!(Timeval::from_duration(Duration::ZERO).is_zero());
    assert!(!Timeval::from_duration(Duration::from_nanos(1)).is_zero());
    same_layout!(Timeval, libc::timeval, tv_sec = tv_sec, tv_usec = tv_usec);
}
