//! The ring benchmark's pieces: where a ring lives ([`RingMem`]: plain
//! memory laid out as the kernel lays out a ring, or the mapping of an
//! unbound AF_XDP socket's ring), the simulated kernel side
//! ([`KernelFill`], [`KernelRx`]), and the same workloads written against
//! each peer: `afxdp_core::ring` ([`ours`]), libxdp's inline functions
//! ([`libxdp`], in `c/ring_libxdp.c`) and the `xdpilone` crate
//! ([`Xdpilone`]).
//!
//! Workloads, per descriptor:
//! - fill: the user side reserves, writes an address, submits; the kernel
//!   side consumes;
//! - RX: the kernel side produces a descriptor; the user side peeks, reads
//!   it (address and length), releases.
//!
//! One thread runs both sides in turn, a batch at a time (`*_one`); two
//! threads run the user side on the caller's thread (CPU 0) and the kernel
//! side on another (CPU 1), which moves up to 64 entries per "poll" as the
//! kernel's NAPI does, whatever the user's batch (`*_user` with
//! [`run_two_threads`]).
//!
//! The one-thread kernel side is one C function per batch
//! (`c/kernel_sim.c`), called out of line by every peer alike; the
//! two-thread kernel side is this file's Rust, on its own thread, the same
//! for every peer.

use std::ffi::c_void;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use afxdp_core::abi::if_xdp::{
    XdpDesc, XdpMmapOffsets, XdpRingOffset, XdpUmemReg, XDP_MMAP_OFFSETS, XDP_PGOFF_RX_RING,
    XDP_RX_RING, XDP_UMEM_COMPLETION_RING, XDP_UMEM_FILL_RING, XDP_UMEM_PGOFF_FILL_RING,
    XDP_UMEM_REG,
};
use afxdp_core::ring::RingParts;

/// `SOL_XDP`.
const SOL_XDP: i32 = 283;

/// The ring's direction as seen from user space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Fill ring: 8-byte addresses, user space produces.
    Fill,
    /// RX ring: 16-byte descriptors, user space consumes.
    Rx,
}

impl Dir {
    /// Bytes per entry.
    pub fn entry_size(self) -> usize {
        match self {
            Dir::Fill => 8,
            Dir::Rx => 16,
        }
    }

    /// The name used in tables.
    pub fn name(self) -> &'static str {
        match self {
            Dir::Fill => "fill",
            Dir::Rx => "RX",
        }
    }
}

/// Where one ring lives, as `c/ring_libxdp.c` takes it.
#[repr(C)]
#[derive(Debug)]
pub struct BenchRing {
    producer: *mut u32,
    consumer: *mut u32,
    flags: *mut u32,
    desc: *mut c_void,
    size: u32,
}

/// How the ring memory came to be.
#[derive(Debug)]
enum Backing {
    /// `std::alloc` with this layout.
    Plain(std::alloc::Layout),
    /// An `mmap` of this length (of `socket`'s ring), unmapped on drop.
    Mapped { len: usize },
}

/// The memory of one ring: three shared words and the entries.
#[derive(Debug)]
pub struct RingMem {
    ring: BenchRing,
    base: NonNull<u8>,
    backing: Backing,
    /// The socket whose ring this maps (kept open while mapped), when this
    /// mapping made it.
    _socket: Option<Xsk>,
    /// A second mapping of the same ring, through which the simulated kernel
    /// side works (see [`RingMem::kernel`]); `None` for plain memory.
    kernel_view: Option<Box<RingMem>>,
}

// SAFETY: the memory is owned by the `RingMem` (or by its socket) and
// outlives it; the user side and the kernel side touch it from two threads
// only through the ring protocol: the shared words atomically, each entry by
// one side at a time as the indices hand it over.
unsafe impl Send for RingMem {}
// SAFETY: as above.
unsafe impl Sync for RingMem {}

/// The layout this kernel (6.18, x86_64) gives every ring's mapping
/// (`XDP_MMAP_OFFSETS`): producer at 0, consumer at 128, flags at 196,
/// entries at 320. Plain rings copy it.
pub const KERNEL_LAYOUT: XdpRingOffset = XdpRingOffset {
    producer: 0,
    consumer: 128,
    flags: 196,
    desc: 320,
};

impl RingMem {
    /// A ring of `size` entries in plain (page-aligned, zeroed) memory,
    /// laid out as [`KERNEL_LAYOUT`].
    pub fn plain(dir: Dir, size: u32) -> RingMem {
        let len = KERNEL_LAYOUT.desc as usize + size as usize * dir.entry_size();
        let layout = std::alloc::Layout::from_size_align(len, 4096).expect("ring layout");
        // SAFETY: the layout has a non-zero size.
        let base = NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) })
            .unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        // SAFETY: the offsets are inside the allocation of `len` bytes.
        unsafe { Self::from_parts(base, &KERNEL_LAYOUT, size, Backing::Plain(layout), None) }
    }

    /// A ring of `size` entries that is the kernel's own mapping of a fresh,
    /// never bound AF_XDP socket (so nothing but this process touches it),
    /// mapped twice: once for the user side, once for the simulated kernel
    /// side ([`RingMem::kernel`]). Needs `CAP_NET_RAW`.
    pub fn socket(dir: Dir, size: u32) -> io::Result<RingMem> {
        let sock = Xsk::new(size)?;
        let mut m = Self::map(sock.fd.as_raw_fd(), dir, size)?;
        m.kernel_view = Some(Box::new(Self::map(sock.fd.as_raw_fd(), dir, size)?));
        m._socket = Some(sock);
        Ok(m)
    }

    /// The mapping the simulated kernel side uses: a second mapping of the
    /// same pages when the ring is a socket's, as the real kernel writes
    /// the ring through its own address, not the user's (a store through
    /// one address and a load through another cannot be forwarded inside
    /// the core: at batch 1 that is most of the cost, measured 3.2 -> 8.6
    /// ns per RX descriptor for this project's ring on one Intel Xeon);
    /// plain memory has only the one.
    pub fn kernel(&self) -> &RingMem {
        self.kernel_view.as_deref().unwrap_or(self)
    }

    /// Maps (again) the `dir` ring of `size` entries of the AF_XDP socket
    /// `fd`, which must have that ring; the mapping shares the ring with
    /// whoever else maps it.
    pub fn map(fd: RawFd, dir: Dir, size: u32) -> io::Result<RingMem> {
        let mut off = XdpMmapOffsets::default();
        let mut optlen = std::mem::size_of::<XdpMmapOffsets>() as libc::socklen_t;
        // SAFETY: `off` is writable for `optlen` bytes.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                SOL_XDP,
                XDP_MMAP_OFFSETS,
                (&mut off as *mut XdpMmapOffsets).cast(),
                &mut optlen,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        let (ro, pgoff) = match dir {
            Dir::Fill => (off.fr, XDP_UMEM_PGOFF_FILL_RING),
            Dir::Rx => (off.rx, XDP_PGOFF_RX_RING),
        };
        let len = ro.desc as usize + size as usize * dir.entry_size();
        // SAFETY: a shared mapping of the socket's ring, as the kernel offers.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd,
                pgoff as libc::off_t,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(p.cast::<u8>()).expect("mmap returned null");
        // SAFETY: the kernel's offsets are inside its mapping of `len` bytes.
        Ok(unsafe { Self::from_parts(base, &ro, size, Backing::Mapped { len }, None) })
    }

    /// # Safety
    /// `base` + the offsets, and `size` entries after `off.desc`, are inside
    /// the memory `backing` describes.
    unsafe fn from_parts(
        base: NonNull<u8>,
        off: &XdpRingOffset,
        size: u32,
        backing: Backing,
        socket: Option<Xsk>,
    ) -> RingMem {
        let b = base.as_ptr();
        let at = |o: u64| b.wrapping_add(o as usize);
        RingMem {
            ring: BenchRing {
                producer: at(off.producer).cast(),
                consumer: at(off.consumer).cast(),
                flags: at(off.flags).cast(),
                desc: at(off.desc).cast(),
                size,
            },
            base,
            backing,
            _socket: socket,
            kernel_view: None,
        }
    }

    /// The ring as the C peer takes it.
    pub fn as_c(&self) -> &BenchRing {
        &self.ring
    }

    /// The ring's parts for `afxdp_core::ring`.
    pub fn parts<T>(&self) -> RingParts<T> {
        RingParts::new(
            self.ring.producer,
            self.ring.consumer,
            self.ring.flags,
            self.ring.desc.cast(),
            self.ring.size,
        )
        .expect("ring memory is aligned and its size a power of two")
    }

    /// Number of entries.
    pub fn size(&self) -> u32 {
        self.ring.size
    }

    /// The producer index.
    #[inline(always)]
    pub(crate) fn producer(&self) -> &AtomicU32 {
        // SAFETY: an aligned u32 inside the ring memory, alive as `self`;
        // shared with the other side only through atomics.
        unsafe { AtomicU32::from_ptr(self.ring.producer) }
    }

    /// The consumer index.
    #[inline(always)]
    pub(crate) fn consumer(&self) -> &AtomicU32 {
        // SAFETY: as for `producer`.
        unsafe { AtomicU32::from_ptr(self.ring.consumer) }
    }

    #[inline(always)]
    fn addrs(&self) -> *mut u64 {
        self.ring.desc.cast()
    }

    #[inline(always)]
    fn descs(&self) -> *mut XdpDesc {
        self.ring.desc.cast()
    }
}

impl Drop for RingMem {
    fn drop(&mut self) {
        match self.backing {
            // SAFETY: allocated in `plain` with this layout.
            Backing::Plain(layout) => unsafe { std::alloc::dealloc(self.base.as_ptr(), layout) },
            Backing::Mapped { len } => {
                // SAFETY: mapped in `map` with this length; nothing uses it now.
                unsafe { libc::munmap(self.base.as_ptr().cast(), len) };
            }
        }
    }
}

/// A fresh AF_XDP socket with a small UMEM and a fill and an RX ring, never
/// bound: its rings are shared memory that only this process touches.
#[derive(Debug)]
struct Xsk {
    fd: OwnedFd,
    area: NonNull<u8>,
    area_len: usize,
}

impl Xsk {
    fn new(size: u32) -> io::Result<Xsk> {
        // SAFETY: plain socket creation.
        let raw = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a new fd nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let area_len = 64 * 2048;
        // SAFETY: an anonymous private mapping.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                area_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let area = NonNull::new(p.cast::<u8>()).expect("mmap returned null");
        let xsk = Xsk { fd, area, area_len };
        let reg = XdpUmemReg {
            addr: area.as_ptr() as u64,
            len: area_len as u64,
            chunk_size: 2048,
            ..Default::default()
        };
        xsk.setsockopt(XDP_UMEM_REG, &reg)?;
        xsk.setsockopt(XDP_UMEM_FILL_RING, &size)?;
        xsk.setsockopt(XDP_UMEM_COMPLETION_RING, &size)?;
        xsk.setsockopt(XDP_RX_RING, &size)?;
        Ok(xsk)
    }

    fn setsockopt<T>(&self, name: i32, v: &T) -> io::Result<()> {
        // SAFETY: `v` is readable for its size.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                SOL_XDP,
                name,
                (v as *const T).cast(),
                std::mem::size_of::<T>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

impl Drop for Xsk {
    fn drop(&mut self) {
        // The socket (closed after this, as a field) still has the area
        // registered; the kernel holds its own pin on the pages.
        // SAFETY: mapped in `new` with this length.
        unsafe { libc::munmap(self.area.as_ptr().cast(), self.area_len) };
    }
}

#[cfg(kernel_sim_c)]
extern "C" {
    fn afxdp_bench_kernel_fill(m: *const BenchRing, k: *mut KernelFill) -> u64;
    fn afxdp_bench_kernel_rx(m: *const BenchRing, k: *mut KernelRx, n: u32, first: u64);
}

/// Whether the one-thread kernel side is the shared C function
/// (`c/kernel_sim.c`, the same machine code for every peer) rather than
/// this file's Rust copy (when no C compiler was found).
pub const KERNEL_SIDE_IN_C: bool = cfg!(kernel_sim_c);

/// The kernel's side of the fill ring: it consumes addresses. (Same layout
/// as `struct bench_kernel`: its consumer index, and an unused word.)
#[repr(C)]
#[derive(Debug)]
pub struct KernelFill {
    cons: u32,
    _cached: u32,
}

impl KernelFill {
    /// Starts at the ring's consumer index.
    pub fn new(m: &RingMem) -> Self {
        KernelFill {
            cons: m.consumer().load(Ordering::Relaxed),
            _cached: 0,
        }
    }

    /// Consumes everything published; returns the sum of the addresses.
    /// Out of line, the same code for every peer (`c/kernel_sim.c`).
    #[inline(always)]
    pub fn consume(&mut self, m: &RingMem) -> u64 {
        #[cfg(kernel_sim_c)]
        {
            // SAFETY: `m` is a live ring and `self` its kernel side's state;
            // the C function follows the ring protocol.
            unsafe { afxdp_bench_kernel_fill(m.as_c(), self) }
        }
        #[cfg(not(kernel_sim_c))]
        {
            let (_, sum) = self.consume_up_to(m, u32::MAX);
            sum
        }
    }

    /// Consumes up to `max` published addresses; returns how many and their
    /// sum (the Rust copy of the one-thread kernel side).
    #[inline(always)]
    #[cfg_attr(kernel_sim_c, allow(dead_code))]
    fn consume_up_to(&mut self, m: &RingMem, max: u32) -> (u32, u64) {
        let prod = m.producer().load(Ordering::Acquire);
        let n = prod.wrapping_sub(self.cons).min(max);
        let ring = m.addrs();
        let mask = m.size() - 1;
        let mut sum = 0u64;
        for i in 0..n {
            // SAFETY: the slot is inside the entries; the producer published
            // it (Acquire above) and will not touch it until the consumer
            // index below passes it.
            let a = unsafe {
                ring.wrapping_add((self.cons.wrapping_add(i) & mask) as usize)
                    .read()
            };
            sum = sum.wrapping_add(a);
        }
        if n > 0 {
            self.cons = self.cons.wrapping_add(n);
            m.consumer().store(self.cons, Ordering::Release);
        }
        (n, sum)
    }
}

/// The kernel's side of the RX ring: it produces descriptors. (Same layout
/// as `struct bench_kernel`.)
#[repr(C)]
#[derive(Debug)]
pub struct KernelRx {
    prod: u32,
    cached_cons: u32,
}

impl KernelRx {
    /// Starts at the ring's indices.
    pub fn new(m: &RingMem) -> Self {
        KernelRx {
            prod: m.producer().load(Ordering::Relaxed),
            cached_cons: m.consumer().load(Ordering::Acquire),
        }
    }

    /// Free entries as last seen; reloads the consumer index when short of
    /// `n`.
    #[inline(always)]
    fn room(&mut self, m: &RingMem, n: u32) -> u32 {
        let free = m.size() - self.prod.wrapping_sub(self.cached_cons);
        if free >= n {
            return free;
        }
        self.cached_cons = m.consumer().load(Ordering::Acquire);
        m.size() - self.prod.wrapping_sub(self.cached_cons)
    }

    #[inline(always)]
    fn write(&mut self, m: &RingMem, n: u32, first: u64) {
        let ring = m.descs();
        let mask = m.size() - 1;
        for i in 0..n {
            let d = XdpDesc {
                addr: (first + u64::from(i)) << 11,
                len: 60,
                options: 0,
            };
            // SAFETY: the slot is inside the entries and free: the consumer
            // released it (checked by `room`).
            unsafe {
                ring.wrapping_add((self.prod.wrapping_add(i) & mask) as usize)
                    .write(d)
            };
        }
        self.prod = self.prod.wrapping_add(n);
        m.producer().store(self.prod, Ordering::Release);
    }

    /// Produces `n` descriptors (addresses `first..first+n` << 11, length
    /// 60) into room the one-thread workload always has. Out of line, the
    /// same code for every peer (`c/kernel_sim.c`).
    #[inline(always)]
    pub fn produce(&mut self, m: &RingMem, n: u32, first: u64) {
        #[cfg(kernel_sim_c)]
        {
            // SAFETY: as in `KernelFill::consume`.
            unsafe { afxdp_bench_kernel_rx(m.as_c(), self, n, first) }
        }
        #[cfg(not(kernel_sim_c))]
        {
            self.room(m, n);
            self.write(m, n, first);
        }
    }

    /// The sum the user side reads from `first..first+n` (`addr + len`).
    pub fn expected_sum(first: u64, n: u64) -> u64 {
        (first..first + n).fold(0u64, |s, i| s.wrapping_add((i << 11) + 60))
    }
}

/// Frames per NAPI poll: how much the kernel thread moves before it
/// publishes its index (RX) or looks again (fill).
pub const NAPI_BUDGET: u32 = 64;

/// The kernel thread on the fill ring, modelled on the kernel's
/// `xsk_queue.h`: it takes up to [`NAPI_BUDGET`] entries per poll from its
/// cached view, and only when that view is empty does it publish its
/// consumer index and reload the producer index.
fn kernel_fill_thread(m: &RingMem, total: u64) -> u64 {
    let ring = m.addrs();
    let mask = m.size() - 1;
    let mut own = m.consumer().load(Ordering::Relaxed);
    let mut cached_prod = m.producer().load(Ordering::Acquire);
    let (mut got, mut sum) = (0u64, 0u64);
    while got < total {
        if own == cached_prod {
            m.consumer().store(own, Ordering::Release);
            cached_prod = m.producer().load(Ordering::Acquire);
            if own == cached_prod {
                std::hint::spin_loop();
                continue;
            }
        }
        let n = cached_prod.wrapping_sub(own).min(NAPI_BUDGET);
        for i in 0..n {
            // SAFETY: published (Acquire above), not released yet.
            let a = unsafe {
                ring.wrapping_add((own.wrapping_add(i) & mask) as usize)
                    .read()
            };
            sum = sum.wrapping_add(a);
        }
        own = own.wrapping_add(n);
        got += u64::from(n);
    }
    m.consumer().store(own, Ordering::Release);
    sum
}

/// The kernel thread on the RX ring, modelled on the kernel's
/// `xsk_queue.h`: per poll it writes up to [`NAPI_BUDGET`] descriptors into
/// the room its cached consumer index shows (reloaded only when that shows
/// none), then publishes its producer index once.
fn kernel_rx_thread(m: &RingMem, total: u64) -> u64 {
    let mut k = KernelRx::new(m);
    let (mut sent, mut sum) = (0u64, 0u64);
    while sent < total {
        let want = (total - sent).min(u64::from(NAPI_BUDGET)) as u32;
        let room = k.room(m, 1);
        if room == 0 {
            std::hint::spin_loop();
            continue;
        }
        let n = want.min(room);
        k.write(m, n, sent);
        sum = sum.wrapping_add(KernelRx::expected_sum(sent, u64::from(n)));
        sent += u64::from(n);
    }
    sum
}

/// Sets the calling thread's CPU affinity to `cpus` (best effort: a CPU
/// that does not exist is ignored by the kernel, an empty result refused).
fn set_affinity(cpus: impl IntoIterator<Item = usize>) {
    // SAFETY: an all-zero cpu_set_t is a valid, empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for cpu in cpus {
        // SAFETY: CPU_SET checks `cpu` against the set's size.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: `set` is a valid cpu_set_t of the size given; this only
    // affects the calling thread.
    unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
}

/// Pins the calling thread to `cpu`.
pub fn pin_thread(cpu: usize) {
    set_affinity([cpu]);
}

/// Unpins the calling thread (any CPU).
pub fn unpin_thread() {
    set_affinity(0..libc::CPU_SETSIZE as usize);
}

/// `total` descriptors through `m` with the kernel thread
/// (`kernel_fill_thread` or `kernel_rx_thread`) on CPU 1 and `user`
/// (the peer's user side) on this thread, pinned to CPU 0 for the call.
/// Returns the user side's and the kernel side's sums (equal when both did
/// their job).
pub fn run_two_threads(
    m: &RingMem,
    dir: Dir,
    total: u64,
    user: impl FnOnce() -> u64,
) -> (u64, u64) {
    pin_thread(0);
    let r = std::thread::scope(|s| {
        let kernel = s.spawn(move || {
            pin_thread(1);
            match dir {
                Dir::Fill => kernel_fill_thread(m.kernel(), total),
                Dir::Rx => kernel_rx_thread(m.kernel(), total),
            }
        });
        let u = user();
        let k = kernel.join().expect("kernel-side thread");
        (u, k)
    });
    unpin_thread();
    r
}

/// The workloads over `afxdp_core::ring`.
pub mod ours {
    use super::*;
    use afxdp_core::ring::{Consumer, Producer};

    /// One thread, fill ring; returns the sum of addresses the kernel saw.
    #[inline(never)]
    pub fn fill_one(m: &RingMem, batch: u32, rounds: u64) -> u64 {
        // SAFETY: for this call only this handle writes the producer index
        // and the entries; the kernel side below writes only the consumer
        // index.
        let mut prod = unsafe { Producer::<u64>::new(m.parts()) };
        let km = m.kernel();
        let mut k = KernelFill::new(km);
        let mut sum = 0u64;
        for r in 0..rounds {
            let mut b = prod.reserve(batch);
            if b.len() != batch {
                std::process::abort();
            }
            for i in 0..b.len() {
                b.write(i, (r + u64::from(i)) << 11);
            }
            b.submit();
            sum = sum.wrapping_add(k.consume(km));
        }
        sum
    }

    /// One thread, RX ring; returns the sum of `addr + len` read.
    #[inline(never)]
    pub fn rx_one(m: &RingMem, batch: u32, rounds: u64) -> u64 {
        // SAFETY: for this call only this handle writes the consumer index;
        // the kernel side below writes the producer index and entries it has
        // not published.
        let mut cons = unsafe { Consumer::<XdpDesc>::new(m.parts()) };
        let km = m.kernel();
        let mut k = KernelRx::new(km);
        let mut sum = 0u64;
        for r in 0..rounds {
            k.produce(km, batch, r);
            let p = cons.peek(batch);
            if p.len() != batch {
                std::process::abort();
            }
            for i in 0..p.len() {
                let d = p.read(i);
                sum = sum.wrapping_add(d.addr + u64::from(d.len));
            }
            p.release();
        }
        sum
    }

    /// Two threads, fill ring, the user side; returns the sum written.
    #[inline(never)]
    pub fn fill_user(m: &RingMem, batch: u32, total: u64) -> u64 {
        // SAFETY: only this handle writes the producer index and entries.
        let mut prod = unsafe { Producer::<u64>::new(m.parts()) };
        let (mut sent, mut sum) = (0u64, 0u64);
        while sent < total {
            let want = (total - sent).min(u64::from(batch)) as u32;
            // Whole batches, as libxdp's all-or-nothing reserve gives them:
            // wait until `want` entries are free.
            if prod.free(want) < want {
                std::hint::spin_loop();
                continue;
            }
            let mut b = prod.reserve(want);
            for i in 0..b.len() {
                let a = (sent + u64::from(i)) << 11;
                b.write(i, a);
                sum = sum.wrapping_add(a);
            }
            sent += u64::from(b.len());
            b.submit();
        }
        sum
    }

    /// Two threads, RX ring, the user side; returns the sum read.
    #[inline(never)]
    pub fn rx_user(m: &RingMem, batch: u32, total: u64) -> u64 {
        // SAFETY: only this handle writes the consumer index.
        let mut cons = unsafe { Consumer::<XdpDesc>::new(m.parts()) };
        let (mut got, mut sum) = (0u64, 0u64);
        while got < total {
            let p = cons.peek(batch);
            if p.is_empty() {
                std::hint::spin_loop();
                continue;
            }
            for i in 0..p.len() {
                let d = p.read(i);
                sum = sum.wrapping_add(d.addr + u64::from(d.len));
            }
            got += u64::from(p.len());
            p.release();
        }
        sum
    }
}

/// The workloads written with libxdp's inline ring functions
/// (`c/ring_libxdp.c`), when the build found `<xdp/xsk.h>`.
pub mod libxdp {
    #[cfg(libxdp_ring)]
    use super::BenchRing;

    /// Whether the C peer was built.
    pub const AVAILABLE: bool = cfg!(libxdp_ring);

    #[cfg(libxdp_ring)]
    extern "C" {
        fn afxdp_bench_libxdp_fill_one(
            m: *const BenchRing,
            kernel: *const BenchRing,
            batch: u32,
            rounds: u64,
        ) -> u64;
        fn afxdp_bench_libxdp_rx_one(
            m: *const BenchRing,
            kernel: *const BenchRing,
            batch: u32,
            rounds: u64,
        ) -> u64;
        fn afxdp_bench_libxdp_fill_user(m: *const BenchRing, batch: u32, total: u64) -> u64;
        fn afxdp_bench_libxdp_rx_user(m: *const BenchRing, batch: u32, total: u64) -> u64;
    }

    macro_rules! peer {
        ($(#[$doc:meta])* $name:ident => $c:ident $(, $kernel:ident)?) => {
            $(#[$doc])*
            pub fn $name(m: &super::RingMem, batch: u32, n: u64) -> u64 {
                #[cfg(libxdp_ring)]
                {
                    // SAFETY: the C side follows the same protocol as
                    // `super::ours` over memory `m` keeps alive for the call
                    // (and its kernel-side mapping, `m.kernel()`).
                    unsafe { $c(m.as_c(), $(m.$kernel().as_c(),)? batch, n) }
                }
                #[cfg(not(libxdp_ring))]
                {
                    let _ = (m, batch, n);
                    unreachable!("the libxdp ring peer was not built; check AVAILABLE")
                }
            }
        };
    }

    peer!(
        /// One thread, fill ring (see `ours::fill_one`).
        fill_one => afxdp_bench_libxdp_fill_one, kernel
    );
    peer!(
        /// One thread, RX ring (see `ours::rx_one`).
        rx_one => afxdp_bench_libxdp_rx_one, kernel
    );
    peer!(
        /// Two threads, fill ring, the user side.
        fill_user => afxdp_bench_libxdp_fill_user
    );
    peer!(
        /// Two threads, RX ring, the user side.
        rx_user => afxdp_bench_libxdp_rx_user
    );
}

/// The `xdpilone` crate's fill and RX rings.
///
/// Its rings can only be had from an AF_XDP socket (`Umem::fq_cq`,
/// `User::map_rx`: the constructors over raw memory are crate-private), so
/// this peer lives on a real, never bound socket: the kernel's mapping of
/// its rings, which the simulated kernel side maps a second time
/// ([`RingMem::map`]). Needs `CAP_NET_RAW`.
pub struct Xdpilone {
    // Declared first: unmapped before the socket and the UMEM go.
    fill: xdpilone::DeviceQueue,
    rx: xdpilone::RingRx,
    fill_mem: RingMem,
    rx_mem: RingMem,
    _user: xdpilone::User,
    _umem: xdpilone::Umem,
    area: NonNull<[u8]>,
}

impl std::fmt::Debug for Xdpilone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Xdpilone").finish_non_exhaustive()
    }
}

impl Xdpilone {
    /// A socket with a fill and an RX ring of `size` entries each.
    pub fn new(size: u32) -> Result<Xdpilone, String> {
        let err = |what: &str, e: xdpilone::Errno| format!("xdpilone {what}: {e}");
        let len = 64 * 2048;
        // SAFETY: an anonymous private mapping.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(format!("mmap: {}", io::Error::last_os_error()));
        }
        let area = NonNull::slice_from_raw_parts(
            NonNull::new(p.cast::<u8>()).expect("mmap returned null"),
            len,
        );
        let config = xdpilone::UmemConfig {
            fill_size: size,
            complete_size: size,
            frame_size: 2048,
            headroom: 0,
            flags: 0,
        };
        // SAFETY: `area` is page aligned, `len` bytes, and outlives the UMEM
        // (unmapped in Drop, after the fields).
        let umem = unsafe { xdpilone::Umem::new(config, area) }.map_err(|e| err("Umem::new", e))?;
        let mut info = xdpilone::IfInfo::invalid();
        info.from_name(c"lo").map_err(|e| err("IfInfo", e))?;
        let sock = xdpilone::Socket::with_shared(&info, &umem).map_err(|e| err("Socket", e))?;
        let fill = umem.fq_cq(&sock).map_err(|e| err("fq_cq", e))?;
        let user = umem
            .rx_tx(
                &sock,
                &xdpilone::SocketConfig {
                    rx_size: std::num::NonZeroU32::new(size),
                    tx_size: None,
                    bind_flags: 0,
                },
            )
            .map_err(|e| err("rx_tx", e))?;
        let rx = user.map_rx().map_err(|e| err("map_rx", e))?;
        let fd = fill.as_raw_fd();
        let fill_mem = RingMem::map(fd, Dir::Fill, size).map_err(|e| format!("map fill: {e}"))?;
        let rx_mem = RingMem::map(fd, Dir::Rx, size).map_err(|e| format!("map RX: {e}"))?;
        Ok(Xdpilone {
            fill,
            rx,
            fill_mem,
            rx_mem,
            _user: user,
            _umem: umem,
            area,
        })
    }

    /// The fill ring's memory (the kernel side's view).
    pub fn fill_mem(&self) -> &RingMem {
        &self.fill_mem
    }

    /// The RX ring's memory (the kernel side's view).
    pub fn rx_mem(&self) -> &RingMem {
        &self.rx_mem
    }

    /// One thread, fill ring (see `ours::fill_one`).
    #[inline(never)]
    pub fn fill_one(&mut self, batch: u32, rounds: u64) -> u64 {
        let m = &self.fill_mem;
        let mut k = KernelFill::new(m);
        let mut sum = 0u64;
        for r in 0..rounds {
            let mut w = self.fill.fill(batch);
            if w.capacity() != batch {
                std::process::abort();
            }
            w.insert((0..u64::from(batch)).map(|i| (r + i) << 11));
            w.commit();
            drop(w);
            sum = sum.wrapping_add(k.consume(m));
        }
        sum
    }

    /// One thread, RX ring (see `ours::rx_one`).
    #[inline(never)]
    pub fn rx_one(&mut self, batch: u32, rounds: u64) -> u64 {
        let m = &self.rx_mem;
        let mut k = KernelRx::new(m);
        let mut sum = 0u64;
        for r in 0..rounds {
            k.produce(m, batch, r);
            let mut rd = self.rx.receive(batch);
            if rd.capacity() != batch {
                std::process::abort();
            }
            while let Some(d) = rd.read() {
                sum = sum.wrapping_add(d.addr + u64::from(d.len));
            }
            rd.release();
        }
        sum
    }

    /// Two threads: the user side (this thread) against the kernel side on
    /// another; returns both sums (see [`run_two_threads`]).
    pub fn two_threads(&mut self, dir: Dir, batch: u32, total: u64) -> (u64, u64) {
        let Xdpilone {
            fill,
            rx,
            fill_mem,
            rx_mem,
            ..
        } = self;
        match dir {
            Dir::Fill => run_two_threads(fill_mem, dir, total, || {
                xdpilone_fill_user(fill, batch, total)
            }),
            Dir::Rx => run_two_threads(rx_mem, dir, total, || xdpilone_rx_user(rx, batch, total)),
        }
    }
}

/// Two threads, fill ring, xdpilone's user side.
#[inline(never)]
fn xdpilone_fill_user(fill: &mut xdpilone::DeviceQueue, batch: u32, total: u64) -> u64 {
    let (mut sent, mut sum) = (0u64, 0u64);
    while sent < total {
        let want = (total - sent).min(u64::from(batch)) as u32;
        // Not whole batches: xdpilone's `fill(n)` reserves 1..=n and looks
        // at the kernel's index only when it knows of no free entry, so
        // waiting for `want` could wait forever on a stale view. Its
        // batches are what it reserves.
        let mut w = fill.fill(want);
        let n = w.capacity();
        if n == 0 {
            std::hint::spin_loop();
            continue;
        }
        let base = sent;
        w.insert((0..u64::from(n)).map(|i| {
            let a = (base + i) << 11;
            sum = sum.wrapping_add(a);
            a
        }));
        w.commit();
        drop(w);
        sent += u64::from(n);
    }
    sum
}

/// Two threads, RX ring, xdpilone's user side.
#[inline(never)]
fn xdpilone_rx_user(rx: &mut xdpilone::RingRx, batch: u32, total: u64) -> u64 {
    let (mut got, mut sum) = (0u64, 0u64);
    while got < total {
        let mut rd = rx.receive(batch);
        let n = rd.capacity();
        if n == 0 {
            std::hint::spin_loop();
            continue;
        }
        while let Some(d) = rd.read() {
            sum = sum.wrapping_add(d.addr + u64::from(d.len));
        }
        rd.release();
        got += u64::from(n);
    }
    sum
}

impl Drop for Xdpilone {
    fn drop(&mut self) {
        // The fields (rings, socket, UMEM registration) go after this; the
        // kernel keeps its own pin on the pages until the socket closes.
        // SAFETY: mapped in `new` with this length; xdpilone never touches
        // the UMEM area itself.
        unsafe { libc::munmap(self.area.cast::<c_void>().as_ptr(), self.area.len()) };
    }
}
