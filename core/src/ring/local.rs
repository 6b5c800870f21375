//! Rings in plain memory: [`LocalRing`] and [`RingIndices`], for tests,
//! benchmarks, fuzzing, and any user that wants an SPSC queue with the
//! kernel's protocol between two threads.

use core::ptr::addr_of_mut;
use core::sync::atomic::AtomicU32;

use super::queue::{Consumer, Producer, RingParts};

/// A `u32` alone on its cache line, as the kernel lays out ring indices.
#[repr(C, align(64))]
#[derive(Debug, Default)]
struct CacheLine(AtomicU32);

/// The three shared words of a ring, each on its own cache line.
#[repr(C)]
#[derive(Debug, Default)]
pub struct RingIndices {
    producer: CacheLine,
    consumer: CacheLine,
    flags: CacheLine,
}

impl RingIndices {
    /// Indices starting at 0, flags clear.
    pub const fn new() -> Self {
        Self::starting_at(0)
    }

    /// Indices starting at `index` (to exercise the 2^32 wrap), flags clear.
    pub const fn starting_at(index: u32) -> Self {
        RingIndices {
            producer: CacheLine(AtomicU32::new(index)),
            consumer: CacheLine(AtomicU32::new(index)),
            flags: CacheLine(AtomicU32::new(0)),
        }
    }
}

/// Splits `entries` and `indices` into the two ends of a ring, plus the flags
/// word (which the kernel would write). `None` unless `entries.len()` is a
/// power of two that fits in a `u32`.
///
/// ```
/// use afxdp_core::ring::{split_slices, RingIndices};
/// let mut idx = RingIndices::new();
/// let mut slots = [0u64; 4];
/// let (mut prod, mut cons, _flags) = split_slices(&mut idx, &mut slots).unwrap();
/// assert_eq!(prod.produce_from(&[1, 2, 3, 4, 5]), 4);
/// let mut out = [0u64; 8];
/// assert_eq!(cons.consume_into(&mut out), 4);
/// assert_eq!(out[..4], [1, 2, 3, 4]);
/// ```
pub fn split_slices<'a, T: Copy>(
    indices: &'a mut RingIndices,
    entries: &'a mut [T],
) -> Option<(Producer<'a, T>, Consumer<'a, T>, &'a AtomicU32)> {
    let size = u32::try_from(entries.len()).ok()?;
    let idx: *mut RingIndices = indices;
    // SAFETY: `idx` comes from a live exclusive borrow, and `addr_of_mut!`
    // makes field pointers without intermediate references.
    let p = unsafe { addr_of_mut!((*idx).producer.0) }.cast::<u32>();
    // SAFETY: as above.
    let c = unsafe { addr_of_mut!((*idx).consumer.0) }.cast::<u32>();
    // SAFETY: as above.
    let f = unsafe { addr_of_mut!((*idx).flags.0) };
    let parts = RingParts::new(p, c, f.cast::<u32>(), entries.as_mut_ptr(), size)?;
    // SAFETY: the exclusive borrows of `indices` and `entries` last for 'a, so
    // nothing but these two handles touches the ring for 'a; each handle
    // writes only its own index; the handles follow the protocol.
    let prod = unsafe { Producer::new(parts) };
    // SAFETY: as above.
    let cons = unsafe { Consumer::new(parts) };
    // SAFETY: `f` points at an `AtomicU32` inside the borrow, valid for 'a;
    // shared access to an atomic from several places is what atomics are for.
    let flags = unsafe { &*f };
    Some((prod, cons, flags))
}

/// A ring of `N` entries in plain memory (`N` a power of two).
///
/// ```
/// use afxdp_core::ring::LocalRing;
/// let mut ring = LocalRing::<u32, 8>::starting_at(u32::MAX - 1);
/// let (mut prod, mut cons) = ring.split();
/// assert_eq!(prod.produce_from(&[7, 8, 9]), 3);  // crosses the 2^32 wrap
/// let mut out = [0; 3];
/// assert_eq!(cons.consume_into(&mut out), 3);
/// assert_eq!(out, [7, 8, 9]);
/// ```
pub struct LocalRing<T, const N: usize> {
    indices: RingIndices,
    entries: [T; N],
}

impl<T: Copy + Default, const N: usize> LocalRing<T, N> {
    const SIZE_OK: () = assert!(
        N.is_power_of_two() && N <= 1 << 31,
        "ring size must be a power of two"
    );

    /// An empty ring with indices at 0.
    pub fn new() -> Self {
        Self::starting_at(0)
    }

    /// An empty ring with both indices at `index`.
    pub fn starting_at(index: u32) -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::SIZE_OK;
        LocalRing {
            indices: RingIndices::starting_at(index),
            entries: [T::default(); N],
        }
    }

    /// The two ends of the ring, borrowing it.
    pub fn split(&mut self) -> (Producer<'_, T>, Consumer<'_, T>) {
        let (p, c, _) = self.split_with_flags();
        (p, c)
    }

    /// The two ends of the ring and its flags word (which the kernel would
    /// write: set `XDP_RING_NEED_WAKEUP` there to play the kernel's part).
    pub fn split_with_flags(&mut self) -> (Producer<'_, T>, Consumer<'_, T>, &AtomicU32) {
        match split_slices(&mut self.indices, &mut self.entries) {
            Some(split) => split,
            // SIZE_OK has checked N at compile time.
            None => unreachable!("LocalRing size is a checked power of two"),
        }
    }
}

impl<T: Copy + Default, const N: usize> Default for LocalRing<T, N> {
    fn default() -> Self {
        Self::new()
    }
}
