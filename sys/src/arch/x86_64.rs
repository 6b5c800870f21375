//! x86_64: `syscall` with the number in `rax`, arguments in `rdi`, `rsi`,
//! `rdx`, `r10`, `r8`, `r9`; the kernel clobbers `rcx` and `r11`.

use core::arch::asm;

/// Syscall numbers (`arch/x86/entry/syscalls/syscall_64.tbl`).
pub(crate) mod nr {
    pub const CLOSE: usize = 3;
    pub const MMAP: usize = 9;
    pub const MUNMAP: usize = 11;
    pub const IOCTL: usize = 16;
    pub const SOCKET: usize = 41;
    pub const CONNECT: usize = 42;
    pub const SENDTO: usize = 44;
    pub const RECVFROM: usize = 45;
    pub const BIND: usize = 49;
    pub const LISTEN: usize = 50;
    pub const GETSOCKNAME: usize = 51;
    pub const SETSOCKOPT: usize = 54;
    pub const GETSOCKOPT: usize = 55;
    pub const GETDENTS64: usize = 217;
    pub const OPENAT: usize = 257;
    pub const PPOLL: usize = 271;
    pub const ACCEPT4: usize = 288;
    pub const RT_SIGPROCMASK: usize = 14;
    pub const RT_SIGPENDING: usize = 127;
    pub const RT_SIGTIMEDWAIT: usize = 128;
    pub const GETPID: usize = 39;
    pub const KILL: usize = 62;
    pub const BPF: usize = 321;
    pub const SOCKETPAIR: usize = 53;
    pub const SENDMSG: usize = 46;
    pub const RECVMSG: usize = 47;
}

/// `O_DIRECTORY` differs between architectures.
pub(crate) const O_DIRECTORY: u32 = 0o200000;

/// # Safety
/// The caller upholds the contract of syscall `n` with these arguments.
#[inline]
pub(crate) unsafe fn syscall0(n: usize) -> isize {
    let ret: isize;
    // SAFETY: the caller upholds the syscall's contract; `syscall` clobbers
    // only rax (the result), rcx and r11, all declared.
    unsafe {
        asm!("syscall", inlateout("rax") n as isize => ret,
             lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
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
        asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a1,
             lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
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
        asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a1, in("rsi") a2,
             lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
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
        asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a1, in("rsi") a2,
             in("rdx") a3, lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
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
        asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a1, in("rsi") a2,
             in("rdx") a3, in("r10") a4, lateout("rcx") _, lateout("r11") _,
             options(nostack, preserves_flags));
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
        asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a1, in("rsi") a2,
             in("rdx") a3, in("r10") a4, in("r8") a5, lateout("rcx") _, lateout("r11") _,
             options(nostack, preserves_flags));
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
        asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a1, in("rsi") a2,
             in("rdx") a3, in("r10") a4, in("r8") a5, in("r9") a6,
             lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
    }
    ret
}
