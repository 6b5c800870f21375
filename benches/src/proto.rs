//! A prototype of a change to `afxdp_core::ring` (core/src/ring/queue.rs),
//! measured beside it by the ring benchmark (`RING_PROTO=1`); not a peer.
//!
//! The change: check the peer's index once, when it is loaded, instead of
//! on every look at the cached view. `afxdp_core::ring` today recomputes
//! "is the peer broken?" on every `reserve`/`peek` (a `saturating_sub` on
//! the producer side, a `> size` test on the consumer side), although the
//! cached index only changes on a reload. Here a reload that would put the
//! peer's index outside `[own, own + size]` (consumer side) or
//! `[own - size, own]` (producer side) is refused (the cached view stays
//! as it was, so a broken peer still gets nothing), and the fast path is a
//! plain subtraction, as libxdp's.
//!
//! `RELOAD_WHEN_EMPTY` selects the other difference from libxdp: reload
//! the producer index only when nothing is cached (libxdp) instead of when
//! fewer than asked are (afxdp_core today).

use core::marker::PhantomData;
use core::sync::atomic::{AtomicU32, Ordering};

use afxdp_core::abi::if_xdp::XdpDesc;

use crate::ring::{KernelFill, KernelRx, RingMem};

/// The producing end (fill ring), prototype.
pub struct Producer<'r, T, const F: u8> {
    producer: &'r AtomicU32,
    consumer: &'r AtomicU32,
    entries: *mut T,
    size: u32,
    mask: u32,
    prod: u32,
    /// Always within `[prod - size, prod]`: checked when loaded.
    cached_cons: u32,
    _t: PhantomData<&'r mut [T]>,
}

/// The consuming end (RX ring), prototype.
pub struct Consumer<'r, T, const RELOAD_WHEN_EMPTY: bool, const F: u8> {
    producer: &'r AtomicU32,
    consumer: &'r AtomicU32,
    entries: *const T,
    size: u32,
    mask: u32,
    cons: u32,
    /// Always within `[cons, cons + size]`: checked when loaded.
    cached_prod: u32,
    _t: PhantomData<&'r [T]>,
}

fn words(m: &RingMem) -> (&AtomicU32, &AtomicU32, *mut u8) {
    (m.producer(), m.consumer(), m.entries())
}

impl<'r, T: Copy, const F: u8> Producer<'r, T, F> {
    /// The producing end over `m`.
    ///
    /// # Safety
    /// As `afxdp_core::ring::Producer::new`: nothing else on this side uses
    /// the producer index or the entries while it lives.
    pub unsafe fn new(m: &'r RingMem) -> Self {
        let (producer, consumer, entries) = words(m);
        let prod = producer.load(Ordering::Relaxed);
        let cons = consumer.load(Ordering::Acquire);
        Producer {
            producer,
            consumer,
            entries: entries.cast(),
            size: m.size(),
            mask: m.size() - 1,
            prod,
            cached_cons: if prod.wrapping_sub(cons) <= m.size() {
                cons
            } else {
                prod.wrapping_sub(m.size())
            },
            _t: PhantomData,
        }
    }

    /// Free entries; reloads the consumer index when fewer than `wanted`
    /// are known free. A consumer index outside `[prod - size, prod]` is
    /// ignored.
    #[inline]
    pub fn free(&mut self, wanted: u32) -> u32 {
        let free = self.size - self.prod.wrapping_sub(self.cached_cons);
        if free >= wanted {
            return free;
        }
        let c = self.consumer.load(Ordering::Acquire);
        if self.prod.wrapping_sub(c) <= self.size {
            self.cached_cons = c;
        }
        self.size - self.prod.wrapping_sub(self.cached_cons)
    }

    /// Reserves up to `n`; returns how many. With `F > 0`, the common case
    /// (the cached view has room) returns `n` on a branch, so that the
    /// producer index does not depend on the free-space arithmetic; with
    /// `F == 1` the reload is out of line, with `F == 2` inline.
    #[inline]
    pub fn reserve(&mut self, n: u32) -> u32 {
        if F > 0 && self.size - self.prod.wrapping_sub(self.cached_cons) >= n {
            return n;
        }
        if F == 1 {
            return self.reserve_slow(n);
        }
        n.min(self.free(n))
    }

    #[cold]
    #[inline(never)]
    fn reserve_slow(&mut self, n: u32) -> u32 {
        n.min(self.free(n))
    }

    /// Writes entry `i` of a reservation of `len`.
    #[inline]
    pub fn write(&mut self, len: u32, i: u32, v: T) {
        assert!(i < len);
        let slot = (self.prod.wrapping_add(i) & self.mask) as usize;
        // SAFETY: inside the entries, reserved.
        unsafe { self.entries.wrapping_add(slot).write(v) }
    }

    /// Publishes `n` entries.
    #[inline]
    pub fn submit(&mut self, n: u32) {
        self.prod = self.prod.wrapping_add(n);
        self.producer.store(self.prod, Ordering::Release);
    }
}

impl<'r, T: Copy, const RELOAD_WHEN_EMPTY: bool, const F: u8>
    Consumer<'r, T, RELOAD_WHEN_EMPTY, F>
{
    /// The consuming end over `m`.
    ///
    /// # Safety
    /// As `afxdp_core::ring::Consumer::new`.
    pub unsafe fn new(m: &'r RingMem) -> Self {
        let (producer, consumer, entries) = words(m);
        let cons = consumer.load(Ordering::Relaxed);
        let prod = producer.load(Ordering::Acquire);
        Consumer {
            producer,
            consumer,
            entries: entries.cast_const().cast(),
            size: m.size(),
            mask: m.size() - 1,
            cons,
            cached_prod: if prod.wrapping_sub(cons) <= m.size() {
                prod
            } else {
                cons
            },
            _t: PhantomData,
        }
    }

    /// Ready entries; reloads the producer index when fewer than `wanted`
    /// (or, with `RELOAD_WHEN_EMPTY`, none) are known ready. A producer
    /// index outside `[cons, cons + size]` is ignored.
    #[inline]
    pub fn available(&mut self, wanted: u32) -> u32 {
        let ready = self.cached_prod.wrapping_sub(self.cons);
        let short = if RELOAD_WHEN_EMPTY {
            ready == 0
        } else {
            ready < wanted
        };
        if !short {
            return ready;
        }
        let p = self.producer.load(Ordering::Acquire);
        if p.wrapping_sub(self.cons) <= self.size {
            self.cached_prod = p;
        }
        self.cached_prod.wrapping_sub(self.cons)
    }

    /// Peeks up to `n`; returns how many. With `F == 1`, the common case
    /// (the cached view has `n`) returns `n` on a branch and the reload is
    /// out of line; with `F == 2`, the same with the reload inline.
    #[inline]
    pub fn peek(&mut self, n: u32) -> u32 {
        if F > 0 && self.cached_prod.wrapping_sub(self.cons) >= n {
            return n;
        }
        if F == 1 {
            return self.peek_slow(n);
        }
        n.min(self.available(n))
    }

    #[inline(never)]
    fn peek_slow(&mut self, n: u32) -> u32 {
        n.min(self.available(n))
    }

    /// Reads entry `i` of a batch of `len`.
    #[inline]
    pub fn read(&self, len: u32, i: u32) -> T {
        assert!(i < len);
        let slot = (self.cons.wrapping_add(i) & self.mask) as usize;
        // SAFETY: inside the entries, published.
        unsafe { self.entries.wrapping_add(slot).read() }
    }

    /// Releases `n` entries.
    #[inline]
    pub fn release(&mut self, n: u32) {
        self.cons = self.cons.wrapping_add(n);
        self.consumer.store(self.cons, Ordering::Release);
    }
}

/// One thread, fill ring (as `ring::ours::fill_one`).
#[inline(never)]
pub fn fill_one<const F: u8>(m: &RingMem, batch: u32, rounds: u64) -> u64 {
    // SAFETY: only this handle writes the producer index and the entries.
    let mut prod = unsafe { Producer::<u64, F>::new(m) };
    let mut k = KernelFill::new(m);
    let mut sum = 0u64;
    for r in 0..rounds {
        let n = prod.reserve(batch);
        if n != batch {
            std::process::abort();
        }
        for i in 0..n {
            prod.write(n, i, (r + u64::from(i)) << 11);
        }
        prod.submit(n);
        sum = sum.wrapping_add(k.consume(m));
    }
    sum
}

/// One thread, RX ring (as `ring::ours::rx_one`).
#[inline(never)]
pub fn rx_one<const E: bool, const F: u8>(m: &RingMem, batch: u32, rounds: u64) -> u64 {
    // SAFETY: only this handle writes the consumer index.
    let mut cons = unsafe { Consumer::<XdpDesc, E, F>::new(m) };
    let mut k = KernelRx::new(m);
    let mut sum = 0u64;
    for r in 0..rounds {
        k.produce(m, batch, r);
        let n = cons.peek(batch);
        if n != batch {
            std::process::abort();
        }
        for i in 0..n {
            let d = cons.read(n, i);
            sum = sum.wrapping_add(d.addr + u64::from(d.len));
        }
        cons.release(n);
    }
    sum
}

/// Two threads, fill ring, the user side.
#[inline(never)]
pub fn fill_user<const F: u8>(m: &RingMem, batch: u32, total: u64) -> u64 {
    // SAFETY: only this handle writes the producer index and the entries.
    let mut prod = unsafe { Producer::<u64, F>::new(m) };
    let (mut sent, mut sum) = (0u64, 0u64);
    while sent < total {
        let want = (total - sent).min(u64::from(batch)) as u32;
        let n = prod.reserve(want);
        if n == 0 {
            std::hint::spin_loop();
            continue;
        }
        for i in 0..n {
            let a = (sent + u64::from(i)) << 11;
            prod.write(n, i, a);
            sum = sum.wrapping_add(a);
        }
        sent += u64::from(n);
        prod.submit(n);
    }
    sum
}

/// Two threads, RX ring, the user side.
#[inline(never)]
pub fn rx_user<const E: bool, const F: u8>(m: &RingMem, batch: u32, total: u64) -> u64 {
    // SAFETY: only this handle writes the consumer index.
    let mut cons = unsafe { Consumer::<XdpDesc, E, F>::new(m) };
    let (mut got, mut sum) = (0u64, 0u64);
    while got < total {
        let n = cons.peek(batch);
        if n == 0 {
            std::hint::spin_loop();
            continue;
        }
        for i in 0..n {
            let d = cons.read(n, i);
            sum = sum.wrapping_add(d.addr + u64::from(d.len));
        }
        got += u64::from(n);
        cons.release(n);
    }
    sum
}
