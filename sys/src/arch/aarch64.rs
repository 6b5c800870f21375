//! aarch64: `svc 0` with the number in `x8`, arguments in `x0` ... `x5`, the
//! result in `x0`.

use core::arch::asm;

/// Syscall numbers (`include/uapi/asm-generic/unistd.h`).
pub(crate) mod nr {
    pub const CLOSE: usize = 57;
    pub const MMAP: usize = 222;
    pub const MUNMAP: usize = 215;
    pub const IOCTL: usize = 29;
    pub const SOCKET: usize = 198;
    pub const CONNECT: usize = 203;
    pub const SENDTO: usize = 206;
    pub const RECVFROM: usize = 207;
    pub const BIND: usize = 200;
    pub const LISTEN: usize = 201;
    pub const GETSOCKNAME: usize = 204;
    pub const SETSOCKOPT: usize = 208;
    pub const GETSOCKOPT: usize = 209;
    pub const GETDENTS64: usize = 61;
    pub const OPENAT: usize = 56;
    pub const PPOLL: usize = 73;
    pub const ACCEPT4: usize = 242;
    pub const RT_SIGPROCMASK: usize = 135;
    pub const RT_SIGPENDING: usize = 136;
    pub const RT_SIGTIMEDWAIT: usize = 137;
    pub const GETPID: usize = 172;
    pub const KILL: usize = 129;
    pub const BPF: usize = 280;
    pub const SOCKETPAIR: usize = 199;
    pub const SENDMSG: usize = 211;
    pub const RECVMSG: usize = 212;
}

/// `O_DIRECTORY` differs between architectures.
pub(crate) const O_DIRECTORY: u32 = 0o40000;

/// # Safety
/// The caller upholds the contract of syscall `n` with these arguments.
#[inline]
pub(crate) unsafe fn syscall0(n: usize) -> isize {
    let ret: isize;
    // SAFETY: the caller upholds the syscall's contract; `svc 0` clobbers
    // only x0 (the result), declared.
    unsafe {
        asm!("svc 0", in("x8") n, lateout("x0") ret, options(nostack, preserves_flags));
    }
    ret
}

/// # Safety
/// The caller upholds the contract of syscall `n` with these arguments.
#[inline]
pub(crate) unsafe fn syscall1(n: usize, a1: usize) -> isize {
    let ret: isize;
    // SAFETY: as in `syscall0`.
    unsafe {
        asm!("svc 0", in("x8") n, inlateout("x0") a1 as isize => ret,
             options(nostack, preserves_flags));
    }
    ret
}

/// # Safety
/// The caller upholds the contract of syscall `n` with these arguments.
#[inline]
pub(crate) unsafe fn syscall2(n: usize, a1: usize, a2: usize) -> isize {
    let ret: isize;
    // SAFETY: as in `syscall0`.
    unsafe {
        asm!("svc 0", in("x8") n, inlateout("x0") a1 as isize => ret, in("x1") a2,
             options(nostack, preserves_flags));
    }
    ret
}

/// # Safety
/// The caller upholds the contract of syscall `n` with these arguments.
#[inline]
pub(crate) unsafe fn syscall3(n: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret: isize;
    // SAFETY: as in `syscall0`.
    unsafe {
        asm!("svc 0", in("x8") n, inlateout("x0") a1 as isize => ret, in("x1") a2,
             in("x2") a3, options(nostack, preserves_flags));
    }
    ret
}

/// # Safety
/// The caller upholds the contract of syscall `n` with these arguments.
#[inline]
pub(crate) unsafe fn syscall4(n: usize, a1: usize, a2: usize, a3: usize, a4: usize) -> isize {
    let ret: isize;
    // SAFETY: as in `syscall0`.
    unsafe {
        asm!("svc 0", in("x8") n, inlateout("x0") a1 as isize => ret, in("x1") a2,
             in("x2") a3, in("x3") a4, options(nostack, preserves_flags));
    }
    ret
}

/// # Safety
/// The caller upholds the contract of syscall `n` with these arguments.
#[inline]
pub(crate) unsafe fn syscall5(
    n: usize,
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
) -> isize {
    let ret: isize;
    // SAFETY: as in `syscall0`.
    unsafe {
        asm!("svc 0", in("x8") n, inlateout("x0") a1 as isize => ret, in("x1") a2,
             in("x2") a3, in("x3") a4, in("x4") a5, options(nostack, preserves_flags));
    }
    ret
}

/// # Safety
/// The caller upholds the contract of syscall `n` with these arguments.
#[inline]
pub(crate) unsafe fn syscall6(
    n: usize,
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
    a6: usize,
) -> isize {
    let ret: isize;
    // SAFETY: as in `syscall0`.
    unsafe {
        asm!("svc 0", in("x8") n, inlateout("x0") a1 as isize => ret, in("x1") a2,
             in("x2") a3, in("x3") a4, in("x4") a5, in("x5") a6,
             options(nostack, preserves_flags));
    }
    ret
}
