//! The glue between a ring's mapping and the ring protocol of
//! `afxdp_core::ring`: [`MappedRing`] keeps both together so that the ring
//! handle can never outlive the memory it points into.

use afxdp_core::abi::if_xdp::XdpMmapOffsets;
use afxdp_core::ring::{Consumer, Producer, RingParts};
use afxdp_core::Errno;
use afxdp_sys::mm::Mmap;
use afxdp_sys::xsk::{self, RingKind};
use afxdp_sys::BorrowedFd;

/// A ring's mapping and its protocol state; the mapping outlives the ring
/// handle because both live (and die) in this struct, and the handle never
/// leaves it (only `&mut` access is lent out).
pub(crate) struct MappedRing<R> {
    // Declared first: dropped before the mapping.
    ring: R,
    _map: Mmap,
}

impl<R> MappedRing<R> {
    /// The ring end, borrowed for as long as the mapping is.
    #[inline]
    pub(crate) fn ring(&mut self) -> &mut R {
        &mut self.ring
    }

    /// The ring end, shared.
    #[inline]
    pub(crate) fn get(&self) -> &R {
        &self.ring
    }
}

/// A ring end that can be built over raw ring parts.
pub(crate) trait RingEnd<T>: Sized {
    /// # Safety
    /// As `Producer::new` / `Consumer::new`.
    unsafe fn make(parts: RingParts<T>) -> Self;
}

impl<T: Copy> RingEnd<T> for Producer<'static, T> {
    unsafe fn make(parts: RingParts<T>) -> Self {
        // SAFETY: the caller upholds `Producer::new`'s contract (forwarded).
        unsafe { Producer::new(parts) }
    }
}

impl<T: Copy> RingEnd<T> for Consumer<'static, T> {
    unsafe fn make(parts: RingParts<T>) -> Self {
        // SAFETY: the caller upholds `Consumer::new`'s contract (forwarded).
        unsafe { Consumer::new(parts) }
    }
}

/// Maps ring `kind` of the socket `fd` (sized to `entries` already) and
/// builds its ring end.
pub(crate) fn map_ring<T, R: RingEnd<T>>(
    fd: BorrowedFd<'_>,
    kind: RingKind,
    off: &XdpMmapOffsets,
    entries: u32,
) -> Result<MappedRing<R>, Errno> {
    let map = xsk::mmap_ring(fd, kind, off, entries)?;
    let parts = RingParts::<T>::from_mmap(map.as_ptr(), &kind.offsets(off), entries)
        .ok_or(Errno::EINVAL)?;
    // SAFETY: the parts point into `map`, a shared mapping of this ring that
    // lives as long as the handle (both are kept in `MappedRing`, the handle
    // never leaves it); the kernel is the only peer and follows the ring
    // protocol; this process has no other handle on this end of the ring.
    let ring = unsafe { R::make(parts) };
    Ok(MappedRing { ring, _map: map })
}
