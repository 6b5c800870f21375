//! The raw entry into the kernel: one file per architecture with
//! `syscall0` ... `syscall6` and the syscall numbers used here. Everything
//! above this module is architecture-free.
//!
//! Only x86_64 and aarch64 (64-bit, little-endian) are supported. Another
//! architecture is a compile error rather than a silent fallback to libc: the
//! whole point of this crate is to need no C library, and an untested
//! syscall table is worse than none.

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub(crate) use x86_64::*;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub(crate) use aarch64::*;

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!(
    "afxdp-sys supports x86_64 and aarch64 only: add src/arch/<arch>.rs with syscall0..6 and the syscall numbers"
);

#[cfg(not(target_pointer_width = "64"))]
compile_error!("afxdp-sys needs a 64-bit target (x32 and ILP32 ABIs are not supported)");

#[cfg(test)]
mod tests {
    use super::nr;

    /// Our syscall numbers are the ones the C library uses.
    #[test]
    fn syscall_numbers_match_libc() {
        let pairs: &[(usize, libc::c_long)] = &[
            (nr::CLOSE, libc::SYS_close),
            (nr::MMAP, libc::SYS_mmap),
            (nr::MUNMAP, libc::SYS_munmap),
            (nr::IOCTL, libc::SYS_ioctl),
            (nr::SOCKET, libc::SYS_socket),
            (nr::CONNECT, libc::SYS_connect),
            (nr::SENDTO, libc::SYS_sendto),
            (nr::RECVFROM, libc::SYS_recvfrom),
            (nr::BIND, libc::SYS_bind),
            (nr::LISTEN, libc::SYS_listen),
            (nr::GETSOCKNAME, libc::SYS_getsockname),
            (nr::SETSOCKOPT, libc::SYS_setsockopt),
            (nr::GETSOCKOPT, libc::SYS_getsockopt),
            (nr::GETDENTS64, libc::SYS_getdents64),
            (nr::OPENAT, libc::SYS_openat),
            (nr::PPOLL, libc::SYS_ppoll),
            (nr::ACCEPT4, libc::SYS_accept4),
            (nr::BPF, libc::SYS_bpf),
            (nr::RT_SIGPROCMASK, libc::SYS_rt_sigprocmask),
            (nr::RT_SIGPENDING, libc::SYS_rt_sigpending),
            (nr::RT_SIGTIMEDWAIT, libc::SYS_rt_sigtimedwait),
            (nr::GETPID, libc::SYS_getpid),
            (nr::KILL, libc::SYS_kill),
            (nr::SOCKETPAIR, libc::SYS_socketpair),
            (nr::SENDMSG, libc::SYS_sendmsg),
            (nr::RECVMSG, libc::SYS_recvmsg),
        ];
        for &(ours, theirs) in pairs {
            assert_eq!(ours as libc::c_long, theirs);
        }
        assert_eq!(super::O_DIRECTORY as i32, libc::O_DIRECTORY);
    }
}
