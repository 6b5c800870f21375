//! Memory mappings: [`Mmap`] owns a mapping and unmaps it on drop.
//!
//! The constructors are safe because the kernel always chooses the address:
//! the flags that let a caller name or replace an address
//! ([`ADDRESS_CHOOSING_FLAGS`]) are removed before the call, so a new mapping
//! can never land on memory the process already uses.

use core::ptr::NonNull;

use afxdp_core::abi::mman::{MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE};

use crate::arch::{nr, syscall2, syscall6};
use crate::{check, BorrowedFd, Result};

/// The mmap flags that place a mapping at a caller-chosen address
/// (`MAP_FIXED`, which also unmaps whatever was there, and
/// `MAP_FIXED_NOREPLACE`). [`Mmap`]'s constructors clear them: a safe
/// function must not be able to map over memory that Rust code owns.
pub const ADDRESS_CHOOSING_FLAGS: u32 = MAP_FIXED | MAP_FIXED_NOREPLACE;

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
    /// An anonymous mapping of `len` bytes, zero-filled, at an address the
    /// kernel chooses. `flags` are added to `MAP_ANONYMOUS` (give
    /// `MAP_PRIVATE` or `MAP_SHARED`, and optionally `MAP_POPULATE`,
    /// `MAP_HUGETLB | MAP_HUGE_2MB`, ...).
    ///
    /// `MAP_FIXED` and `MAP_FIXED_NOREPLACE` ([`ADDRESS_CHOOSING_FLAGS`]) are
    /// ignored: the address is always the kernel's choice.
    pub fn anonymous(len: usize, prot: u32, flags: u32) -> Result<Mmap> {
        let flags = (flags & !ADDRESS_CHOOSING_FLAGS) | MAP_ANONYMOUS;
        // SAFETY: address hint 0 and no MAP_FIXED / MAP_FIXED_NOREPLACE (just
        // cleared), so the kernel picks an unused range: the new mapping
        // cannot alias or replace anything the process owns. The fd is -1
        // (anonymous); no pointer is passed.
        let ret = unsafe {
            syscall6(
                nr::MMAP,
                0,
                len,
                prot as usize,
                flags as usize,
                usize::MAX, // fd -1
                0,
            )
        };
        Self::from_ret(ret, len)
    }

    /// An anonymous private read-write mapping (the common UMEM case).
    /// `extra_flags` are added as in [`anonymous`](Self::anonymous), and
    /// `MAP_FIXED` and `MAP_FIXED_NOREPLACE` are ignored the same way.
    pub fn anonymous_private(len: usize, extra_flags: u32) -> Result<Mmap> {
        use afxdp_core::abi::mman::{PROT_READ, PROT_WRITE};
        Self::anonymous(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | extra_flags)
    }

    /// A mapping of `len` bytes of `fd` at `offset`, at an address the kernel
    /// chooses.
    ///
    /// `MAP_FIXED` and `MAP_FIXED_NOREPLACE` ([`ADDRESS_CHOOSING_FLAGS`]) are
    /// ignored: the address is always the kernel's choice.
    pub fn map_fd(
        fd: BorrowedFd<'_>,
        len: usize,
        prot: u32,
        flags: u32,
        offset: u64,
    ) -> Result<Mmap> {
        let flags = flags & !ADDRESS_CHOOSING_FLAGS;
        // SAFETY: address hint 0 and no MAP_FIXED / MAP_FIXED_NOREPLACE (just
        // cleared), so the kernel picks an unused range: the new mapping
        // cannot alias or replace anything the process owns. The fd is
        // borrowed, so open, for the call.
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

    /// Takes ownership of what mmap returned. Every successful return becomes
    /// an owner that unmaps it, or is unmapped here: no mapping leaks.
    fn from_ret(ret: isize, len: usize) -> Result<Mmap> {
        let addr = check(ret)?;
        match NonNull::new(addr as *mut u8) {
            Some(ptr) => Ok(Mmap { ptr, len }),
            None => {
                // The kernel never places a mapping it chose at address 0
                // (its search starts above `mmap_min_addr`), and the
                // constructors never let the caller choose; but a mapping at
                // 0 cannot be held in a `NonNull`, so undo it rather than
                // leak it.
                // SAFETY: the kernel has just created this mapping of `len`
                // bytes at 0 for this call; no pointer to it was handed out,
                // so unmapping it invalidates nothing.
                unsafe {
                    syscall2(nr::MUNMAP, 0, len);
                }
                Err(afxdp_core::Errno::ENOMEM)
            }
        }
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
