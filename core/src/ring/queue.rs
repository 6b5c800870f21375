//! [`Producer`] and [`Consumer`]: the two ends of a ring, with batch
//! reserve/submit and peek/release over shared memory.

use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::abi::if_xdp::{XdpRingOffset, XDP_RING_NEED_WAKEUP};

/// Where one ring lives: its three shared words and its entries.
#[derive(Debug)]
pub struct RingParts<T> {
    producer: NonNull<AtomicU32>,
    consumer: NonNull<AtomicU32>,
    flags: NonNull<AtomicU32>,
    entries: NonNull<T>,
    size: u32,
}

impl<T> Clone for RingParts<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for RingParts<T> {}

impl<T> RingParts<T> {
    /// The parts of a ring from its pointers. `None` unless `size` is a
    /// power of two and every pointer is non-null and aligned.
    pub fn new(
        producer: *mut u32,
        consumer: *mut u32,
        flags: *mut u32,
        entries: *mut T,
        size: u32,
    ) -> Option<Self> {
        let word = |p: *mut u32| {
            if p.is_null() || !(p as usize).is_multiple_of(core::mem::align_of::<AtomicU32>()) {
                None
            } else {
                NonNull::new(p.cast::<AtomicU32>())
            }
        };
        if !size.is_power_of_two() || !(entries as usize).is_multiple_of(core::mem::align_of::<T>())
        {
            return None;
        }
        Some(RingParts {
            producer: word(producer)?,
            consumer: word(consumer)?,
            flags: word(flags)?,
            entries: NonNull::new(entries)?,
            size,
        })
    }

    /// The parts of a ring mapped at `base` with the kernel's offsets for it.
    /// `None` on a bad size or misaligned offsets.
    ///
    /// Computing the pointers is safe; using them is what
    /// [`Producer::new`] and [`Consumer::new`] ask the caller to vouch for.
    pub fn from_mmap(base: *mut u8, off: &XdpRingOffset, size: u32) -> Option<Self> {
        let at = |o: u64| base.wrapping_add(o as usize);
        Self::new(
            at(off.producer).cast(),
            at(off.consumer).cast(),
            at(off.flags).cast(),
            at(off.desc).cast(),
            size,
        )
    }

    /// Number of entries.
    pub fn size(&self) -> u32 {
        self.size
    }
}

/// The producing end of a ring: user space for the fill and TX rings.
///
/// `'r` is the lifetime of the ring memory: [`LocalRing::split`] ties it to
/// a borrow; over a kernel mapping, the owner of the mapping picks it.
///
/// [`LocalRing::split`]: super::LocalRing::split
pub struct Producer<'r, T> {
    parts: RingParts<T>,
    mask: u32,
    /// Our producer index: we are its only writer, so this is its value.
    prod: u32,
    /// The consumer index as last loaded, plus `size`: the index up to
    /// which we may write (libxdp keeps the same sum), so the free count
    /// is one subtraction.
    cached_end: u32,
    _mem: PhantomData<&'r mut [T]>,
}

/// The consuming end of a ring: user space for the RX and completion rings.
pub struct Consumer<'r, T> {
    parts: RingParts<T>,
    mask: u32,
    /// Our consumer index: we are its only writer.
    cons: u32,
    /// The producer index as last loaded.
    cached_prod: u32,
    _mem: PhantomData<&'r mut [T]>,
}

// SAFETY: a handle is the only user of its end of the ring; moving it to
// another thread moves that role with it. Entries are `T` values copied in
// and out, hence `T: Send`.
unsafe impl<T: Send> Send for Producer<'_, T> {}
// SAFETY: as for `Producer`.
unsafe impl<T: Send> Send for Consumer<'_, T> {}

/// A shared word of a ring.
///
/// Private on purpose: every `p` passed here comes from the `RingParts` of a
/// handle being built or alive, whose constructor's contract keeps the word
/// valid for the handle's life.
#[inline(always)]
fn word<'a>(p: NonNull<AtomicU32>) -> &'a AtomicU32 {
    // SAFETY: see above.
    unsafe { p.as_ref() }
}

impl<'r, T: Copy> Producer<'r, T> {
    /// The producing end of the ring at `parts`.
    ///
    /// # Safety
    /// For `'r`: the pointers stay valid for reads and writes; the peer writes
    /// only the consumer index and the flags word, and reads only entries
    /// published by a producer-index store; nothing else on this side uses
    /// the producer index or the entries.
    pub unsafe fn new(parts: RingParts<T>) -> Self {
        // The caller vouches for the pointers, as `word` requires.
        let prod = word(parts.producer).load(Ordering::Relaxed);
        let cons = word(parts.consumer).load(Ordering::Acquire);
        Producer {
            mask: parts.size - 1,
            // A broken peer's index is never taken (see `reload`): then the
            // ring counts as full until the peer makes sense again.
            cached_end: if prod.wrapping_sub(cons) <= parts.size {
                cons.wrapping_add(parts.size)
            } else {
                prod
            },
            parts,
            prod,
            _mem: PhantomData,
        }
    }

    /// Number of entries in the ring.
    #[inline]
    pub fn size(&self) -> u32 {
        self.parts.size
    }

    /// Entries known free without looking at the peer. The invariant
    /// `cached_end - prod <= size` holds: `cached_end` is set only from a
    /// checked index (`reload`, `new`), and `prod` advances only over
    /// entries it showed free.
    #[inline]
    fn cached_free(&self) -> u32 {
        self.cached_end.wrapping_sub(self.prod)
    }

    /// Loads the consumer index, checked once here: a consumer index ahead
    /// of our producer index, or more than `size` behind it, is a broken
    /// peer and is not taken (nothing more is free; writing over entries
    /// the kernel may still read could hand one frame to two owners).
    #[inline]
    fn reload(&mut self) {
        let cons = word(self.parts.consumer).load(Ordering::Acquire);
        if self.prod.wrapping_sub(cons) <= self.parts.size {
            self.cached_end = cons.wrapping_add(self.parts.size);
        }
    }

    /// How many entries are free; the consumer index is reloaded only when
    /// the cached view shows fewer than `wanted`.
    #[inline]
    pub fn free(&mut self, wanted: u32) -> u32 {
        let free = self.cached_free();
        if free >= wanted {
            return free;
        }
        self.reload();
        self.cached_free()
    }

    /// Reserves up to `n` entries to write; the batch is shorter (even empty)
    /// when the ring has less room. Nothing is visible to the peer until the
    /// batch is submitted; dropping it unsubmitted gives the entries back.
    #[inline]
    pub fn reserve(&mut self, n: u32) -> Reserved<'_, 'r, T> {
        // The common case on a branch: the cached view already has room.
        if self.cached_free() >= n {
            return Reserved { ring: self, len: n };
        }
        self.reload();
        let len = n.min(self.cached_free());
        Reserved { ring: self, len }
    }

    /// Writes as many values from `values` as fit, submits them, and returns
    /// how many were taken.
    #[inline]
    pub fn produce_from(&mut self, values: &[T]) -> usize {
        let want = values.len().min(u32::MAX as usize) as u32;
        let mut batch = self.reserve(want);
        let n = batch.len();
        for (i, v) in values[..n as usize].iter().enumerate() {
            batch.write(i as u32, *v);
        }
        batch.submit();
        n as usize
    }

    /// Whether the kernel asked for a wakeup (`XDP_RING_NEED_WAKEUP`) before it
    /// looks at this ring again. Only meaningful with `XDP_USE_NEED_WAKEUP`.
    #[inline]
    pub fn needs_wakeup(&self) -> bool {
        // The flag guards no data: a relaxed atomic load of the word the kernel
        // writes, re-read after every submit, is all the protocol needs.
        word(self.parts.flags).load(Ordering::Relaxed) & XDP_RING_NEED_WAKEUP != 0
    }

    /// Entries submitted and not yet consumed, as of the last look at the
    /// consumer index.
    #[inline]
    pub fn pending(&self) -> u32 {
        self.parts.size - self.cached_free()
    }

    #[inline]
    fn slot(&self, index: u32) -> *mut T {
        // SAFETY: `index & mask < size`, so the slot is inside the entries.
        unsafe {
            self.parts
                .entries
                .as_ptr()
                .add((index & self.mask) as usize)
        }
    }

    /// Advances the producer index by `n` for the peer to see. The word is
    /// ours alone (the contract of [`Producer::new`]), so it holds
    /// `self.prod` before the add; it is read and added to, as libxdp's and
    /// xdpilone's producers do, rather than our copy stored: in the ring
    /// benchmark on a 2-vCPU AMD EPYC that is 0.93-1.01 of libxdp's time at
    /// batch 1 (fill) against 1.07-1.21 with the store, the same elsewhere.
    /// (Unlike the store, it would carry on from a value someone else wrote
    /// there, which the contract rules out and debug builds check.)
    #[inline]
    fn publish(&mut self, n: u32) {
        let w = word(self.parts.producer);
        let now = w.load(Ordering::Relaxed);
        debug_assert_eq!(now, self.prod, "the producer index is ours alone");
        self.prod = self.prod.wrapping_add(n);
        w.store(now.wrapping_add(n), Ordering::Release);
    }
}

/// Entries reserved on a [`Producer`]: write them, then [`submit`].
///
/// [`submit`]: Reserved::submit
pub struct Reserved<'a, 'r, T: Copy> {
    ring: &'a mut Producer<'r, T>,
    len: u32,
}

impl<T: Copy> Reserved<'_, '_, T> {
    /// Number of entries reserved.
    #[inline]
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether nothing could be reserved.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes entry `i` of the batch.
    ///
    /// # Panics
    /// If `i >= len()`: writing past the reservation could overwrite entries
    /// the kernel has not consumed yet.
    #[inline]
    pub fn write(&mut self, i: u32, value: T) {
        assert!(
            i < self.len,
            "ring write {i} outside a reservation of {}",
            self.len
        );
        let slot = self.ring.slot(self.ring.prod.wrapping_add(i));
        // SAFETY: the slot is inside the entries and reserved: the consumer
        // has released it and will not read it before we publish it.
        unsafe { slot.write(value) }
    }

    /// Publishes all reserved entries to the peer.
    #[inline]
    pub fn submit(self) {
        let n = self.len;
        self.ring.publish(n);
    }

    /// Publishes the first `n` entries (at most `len()`) and gives the rest
    /// back.
    #[inline]
    pub fn submit_first(self, n: u32) {
        let n = n.min(self.len);
        self.ring.publish(n);
    }
}

impl<'r, T: Copy> Consumer<'r, T> {
    /// The consuming end of the ring at `parts`.
    ///
    /// # Safety
    /// For `'r`: the pointers stay valid for reads and writes; the peer writes
    /// only the producer index, the flags word, and entries it has not
    /// published yet; nothing else on this side uses the consumer index.
    pub unsafe fn new(parts: RingParts<T>) -> Self {
        // The caller vouches for the pointers, as `word` requires.
        let cons = word(parts.consumer).load(Ordering::Relaxed);
        let prod = word(parts.producer).load(Ordering::Acquire);
        Consumer {
            mask: parts.size - 1,
            // A broken peer's index is never taken (see `reload`).
            cached_prod: if prod.wrapping_sub(cons) <= parts.size {
                prod
            } else {
                cons
            },
            parts,
            cons,
            _mem: PhantomData,
        }
    }

    /// Number of entries in the ring.
    #[inline]
    pub fn size(&self) -> u32 {
        self.parts.size
    }

    /// How many entries are ready; the producer index is reloaded only when
    /// the cached view shows fewer than `wanted`.
    #[inline]
    pub fn available(&mut self, wanted: u32) -> u32 {
        let ready = self.cached_ready();
        if ready >= wanted {
            return ready;
        }
        self.reload();
        self.cached_ready()
    }

    /// Loads the producer index, checked once here: a producer index more
    /// than `size` ahead of ours, or behind it, is a broken peer and is not
    /// taken (nothing new is ready, as the producer side treats a consumer
    /// that runs ahead; handing out old entries again could give one frame
    /// to two owners).
    #[inline]
    fn reload(&mut self) {
        let prod = word(self.parts.producer).load(Ordering::Acquire);
        if prod.wrapping_sub(self.cons) <= self.parts.size {
            self.cached_prod = prod;
        }
    }

    /// Entries known ready without looking at the peer. The invariant
    /// `cached_prod - cons <= size` holds: `cached_prod` is taken only when
    /// checked (`reload`, `new`), and `cons` advances only over entries it
    /// showed ready.
    #[inline]
    fn cached_ready(&self) -> u32 {
        self.cached_prod.wrapping_sub(self.cons)
    }

    /// Looks at up to `n` ready entries (fewer, or none, if fewer are ready).
    /// They stay in the ring until the batch is released; dropping it
    /// unreleased leaves them for the next peek.
    #[inline]
    pub fn peek(&mut self, n: u32) -> Peeked<'_, 'r, T> {
        // The common case on a branch: the cached view already has `n`.
        if self.cached_ready() >= n {
            return Peeked { ring: self, len: n };
        }
        self.reload();
        let len = n.min(self.cached_ready());
        Peeked { ring: self, len }
    }

    /// Reads as many ready entries as fit into `out`, releases them, and
    /// returns how many were read.
    #[inline]
    pub fn consume_into(&mut self, out: &mut [T]) -> usize {
        let want = out.len().min(u32::MAX as usize) as u32;
        let batch = self.peek(want);
        let n = batch.len() as usize;
        for (i, o) in out[..n].iter_mut().enumerate() {
            *o = batch.read(i as u32);
        }
        batch.release();
        n
    }

    #[inline]
    fn slot(&self, index: u32) -> *const T {
        // SAFETY: `index & mask < size`, so the slot is inside the entries.
        unsafe {
            self.parts
                .entries
                .as_ptr()
                .add((index & self.mask) as usize)
        }
    }

    #[inline]
    fn release_n(&mut self, n: u32) {
        self.cons = self.cons.wrapping_add(n);
        word(self.parts.consumer).store(self.cons, Ordering::Release);
    }
}

/// Entries peeked on a [`Consumer`]: read them, then [`release`].
///
/// [`release`]: Peeked::release
pub struct Peeked<'a, 'r, T: Copy> {
    ring: &'a mut Consumer<'r, T>,
    len: u32,
}

impl<'a, 'r, T: Copy> Peeked<'a, 'r, T> {
    /// Number of entries in the batch.
    #[inline]
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether nothing was ready.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads entry `i` of the batch.
    ///
    /// # Panics
    /// If `i >= len()`: past the batch the producer may be writing.
    #[inline]
    pub fn read(&self, i: u32) -> T {
        assert!(
            i < self.len,
            "ring read {i} outside a batch of {}",
            self.len
        );
        let slot = self.ring.slot(self.ring.cons.wrapping_add(i));
        // SAFETY: the slot is inside the entries and was published to us by
        // an Acquire load of the producer index; the producer will not write
        // it again before we release it.
        unsafe { slot.read() }
    }

    /// The entries of the batch, in order.
    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = T> + use<'_, 'a, 'r, T> {
        (0..self.len).map(move |i| self.read(i))
    }

    /// Gives all entries of the batch back to the producer.
    #[inline]
    pub fn release(self) {
        let n = self.len;
        self.ring.release_n(n);
    }

    /// Gives the first `n` entries (at most `len()`) back to the producer;
    /// the rest stay for the next peek.
    #[inline]
    pub fn release_first(self, n: u32) {
        let n = n.min(self.len);
        self.ring.release_n(n);
    }
}
