//! Memory mappings: [`Mmap`] owns a mapping and unmaps it on drop.

use core::ptr::NonNull;

use afxdp_core::abi::mman::{MAP_ANONYMOUS, MAP_PRIVATE};

use crate::arch::{nr, syscall2, syscall6};
use crate::{check, BorrowedFd, Result};

/// A memory mapping, unmapped when dropped.
///
/// It hands out raw pointers only: whoever reads or writes through them
/// decides how the memory is shared (with the kernel, for AF_XDP rings and
/// UMEMs).
#[derive(Debug)]
pub struct Mmap {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: a mapping is plain memory owned by the process; the handle only
// carries its address and length and has no thread affinity.
unsafe impl Send for Mmap {}
// SAFETY: `&Mmap` only exposes the address and length.
unsafe impl Sync for Mmap {}

impl Mmap {
    /// An anonymous mapping of `len` bytes, zero-filled. `flags` are added to
    /// `MAP_ANONYMOUS` (give `MAP_PRIVATE` or `MAP_SHARED`, and optionally
    /// `MAP_POPULATE`, `MAP_HUGETLB | MAP_HUGE_2MB`, ...).
    pub fn anonymous(len: usize, prot: u32, flags: u32) -> Result<Mmap> {
        // SAFETY: a new anonymous mapping at an address the kernel chooses
        // cannot alias anything we own.
        let ret = unsafe {
            syscall6(
                nr::MMAP,
                0,
                len,
                prot as usize,
                (flags | MAP_ANONYMOUS) as usize,
                usize::MAX, // fd -1
                0,
            )
        };
        Self::from_ret(ret, len)
    }

    /// An anonymous private read-write mapping (the common UMEM case).
    pub fn anonymous_private(len: usize, extra_flags: u32) -> Result<Mmap> {
        use afxdp_core::abi::mman::{PROT_READ, PROT_WRITE};
        Self::anonymous(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | extra_flags)
    }

    /// A mapping of `len` bytes of `fd` at `offset`.
    pub fn map_fd(
        fd: BorrowedFd<'_>,
        len: usize,
        prot: u32,
        flags: u32,
        offset: u64,
    ) -> Result<Mmap> {
        // SAFETY: a new mapping at an address the kernel chooses cannot alias
        // anything we own; the fd is borrowed for the call.
        let ret = unsafe {
            syscall6(
                nr::MMAP,
                0,
                len,
                prot as usize,
                flags as usize,
                fd.as_raw() as usize,
                offset as usize,
            )
        };
        Self::from_ret(ret, len)
    }

    fn from_ret(ret: isize, len: usize) -> Result<Mmap> {
        let addr = check(ret)?;
        // mmap never returns address 0 for a mapping it chose itself.
        let ptr = NonNull::new(addr as *mut u8).ok_or(afxdp_core::Errno::ENOMEM)?;
        Ok(Mmap { ptr, len })
    }

    /// Start of the mapping.
    #[inline]
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty (never, for a successful mmap).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // SAFETY: we own the mapping; nothing borrows it past our lifetime
        // (users hold raw pointers under their own contracts).
        unsafe {
            syscall2(nr::MUNMAP, self.ptr.as_ptr() as usize, self.len);
        }
    }
}
