//! AF_XDP sockets: [`SocketBuilder`] creates, sizes, maps and binds one, and
//! hands back its four rings as typed queues that move [`Frame`]s:
//!
//! - [`FillQueue`]: frames given to the kernel to receive into;
//! - [`RxQueue`]: frames the kernel received into;
//! - [`TxQueue`]: frames given to the kernel to send;
//! - [`CompletionQueue`]: frames the kernel has sent.
//!
//! The data-path calls allocate nothing and make a system call only when
//! the kernel asked for a wakeup (or, bound without need-wakeup, on every
//! transmit, which is then the only way to make the kernel send).

use std::fmt;
use std::sync::Arc;

use afxdp_core::abi::if_xdp::{
    SockaddrXdp, XdpDesc, XdpMmapOffsets, XdpStatistics, XDP_COPY, XDP_OPTIONS_ZEROCOPY,
    XDP_SHARED_UMEM, XDP_USE_NEED_WAKEUP, XDP_ZEROCOPY,
};
use afxdp_core::abi::socket::{PollFd, AF_XDP, POLLIN};
use afxdp_core::ring::{Consumer, Producer, RingParts};
use afxdp_core::Errno;
use afxdp_sys::mm::Mmap;
use afxdp_sys::xsk::{self, RingKind};
use afxdp_sys::{BorrowedFd, OwnedFd};

use crate::error::{Error, Result};
use crate::netdev::Netdev;
use crate::umem::{Frame, FrameBuf, Umem};

/// Entries of each ring (each a power of two).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingSizes {
    /// RX ring entries (0: no RX ring).
    pub rx: u32,
    /// TX ring entries (0: no TX ring).
    pub tx: u32,
    /// Fill ring entries.
    pub fill: u32,
    /// Completion ring entries.
    pub completion: u32,
}

impl Default for RingSizes {
    /// 2048 entries each, as DPDK's AF_XDP PMD and libxdp use.
    fn default() -> Self {
        RingSizes {
            rx: 2048,
            tx: 2048,
            fill: 2048,
            completion: 2048,
        }
    }
}

/// Copy or zero-copy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CopyMode {
    /// Zero-copy if the driver can, copy otherwise.
    #[default]
    Auto,
    /// Force copy mode (DPDK's `force_copy=1`).
    Copy,
    /// Force zero-copy; bind fails if the driver cannot.
    ZeroCopy,
}

/// The socket's fd: the UMEM's own (first socket) or one of its own.
enum SockFd {
    Umem(Umem),
    Own(OwnedFd),
}

impl SockFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            SockFd::Umem(u) => u.as_fd(),
            SockFd::Own(fd) => fd.as_fd(),
        }
    }
}

/// Builds an AF_XDP socket bound to one queue of a netdev.
#[derive(Clone, Debug)]
pub struct SocketBuilder {
    umem: Umem,
    netdev: Netdev,
    queue: u32,
    sizes: RingSizes,
    copy: CopyMode,
    need_wakeup: bool,
}

/// A bound AF_XDP socket (its queues are separate, see [`Queues`]).
pub struct XskSocket {
    fd: Arc<SockFd>,
    netdev: Netdev,
    queue: u32,
    umem: Umem,
    shared: bool,
    need_wakeup: bool,
}

/// The rings of a socket, ready to move frames.
pub struct Queues {
    /// Frames for the kernel to receive into.
    pub fill: FillQueue,
    /// Frames the kernel has sent.
    pub completion: CompletionQueue,
    /// Received frames (absent if the RX ring size was 0).
    pub rx: Option<RxQueue>,
    /// Frames to send (absent if the TX ring size was 0).
    pub tx: Option<TxQueue>,
}

impl SocketBuilder {
    /// A socket on `queue` of `netdev`, using `umem`, with default ring
    /// sizes, automatic copy mode and need-wakeup on.
    pub fn new(umem: &Umem, netdev: &Netdev, queue: u32) -> Self {
        SocketBuilder {
            umem: umem.clone(),
            netdev: netdev.clone(),
            queue,
            sizes: RingSizes::default(),
            copy: CopyMode::Auto,
            need_wakeup: true,
        }
    }

    /// Sets the ring sizes.
    pub fn ring_sizes(mut self, sizes: RingSizes) -> Self {
        self.sizes = sizes;
        self
    }

    /// Sets copy or zero-copy mode.
    pub fn copy_mode(mut self, mode: CopyMode) -> Self {
        self.copy = mode;
        self
    }

    /// Whether the kernel may ask for wakeups (`XDP_USE_NEED_WAKEUP`, on by
    /// default; without it the kernel polls the fill ring itself and every
    /// transmit costs a system call).
    pub fn need_wakeup(mut self, on: bool) -> Self {
        self.need_wakeup = on;
        self
    }

    fn err(&self, op: &'static str, e: Errno) -> Error {
        Error::sys(op, format!("{} queue {}", self.netdev, self.queue), e)
    }

    /// Creates the socket, sizes and maps its rings, and binds it.
    ///
    /// The first socket of a UMEM is the UMEM's own; later ones share the
    /// UMEM (`XDP_SHARED_UMEM`, which needs kernel 5.10 for different
    /// queues) and inherit its copy and need-wakeup modes. One socket per
    /// queue: each gets its own fill and completion rings.
    ///
    /// ```no_run
    /// use sockctl::{Netdev, SocketBuilder, Umem, UmemConfig};
    /// let dev = Netdev::by_name("eth0")?;
    /// let umem = Umem::new(UmemConfig::default())?;
    /// let (sock, mut queues) = SocketBuilder::new(&umem, &dev, 0).build()?;
    /// let mut frames = umem.take_frames().unwrap();
    /// queues.fill.fill(&mut frames);
    /// # Ok::<(), sockctl::Error>(())
    /// ```
    pub fn build(self) -> Result<(XskSocket, Queues)> {
        use std::sync::atomic::Ordering;
        if self.umem.inner.spoiled.load(Ordering::Acquire) {
            return Err(Error::other(
                "create AF_XDP socket",
                format!("{} queue {}", self.netdev, self.queue),
                "the first socket of this UMEM failed to set up, which leaves the UMEM unusable",
            )
            .with_hint("create a new Umem"));
        }
        self.check_sizes()?;
        let shared = self.umem.inner.fd_taken.swap(true, Ordering::AcqRel);
        let umem = self.umem.clone();
        let result = self.build_inner(shared);
        match &result {
            Err(_) if !shared => umem.inner.spoiled.store(true, Ordering::Release),
            Ok((sock, _)) if !shared => umem
                .inner
                .owner_need_wakeup
                .store(if sock.need_wakeup { 2 } else { 1 }, Ordering::Release),
            _ => {}
        }
        result
    }

    /// Checks the ring sizes before anything touches a socket.
    fn check_sizes(&self) -> Result<()> {
        let subject = format!("{} queue {}", self.netdev, self.queue);
        if self.sizes.rx == 0 && self.sizes.tx == 0 {
            return Err(Error::other(
                "create AF_XDP socket",
                subject,
                "needs an RX or a TX ring",
            ));
        }
        let rings = [
            ("rx", self.sizes.rx, true),
            ("tx", self.sizes.tx, true),
            ("fill", self.sizes.fill, false),
            ("completion", self.sizes.completion, false),
        ];
        for (name, n, may_be_zero) in rings {
            if (n == 0 && !may_be_zero) || (n != 0 && !n.is_power_of_two()) {
                return Err(Error::other(
                    "size AF_XDP ring",
                    subject,
                    format!("{name} ring size {n} is not a power of two"),
                ));
            }
        }
        Ok(())
    }

    fn build_inner(mut self, shared: bool) -> Result<(XskSocket, Queues)> {
        if shared {
            // The kernel gives a shared socket the first socket's modes.
            match self
                .umem
                .inner
                .owner_need_wakeup
                .load(std::sync::atomic::Ordering::Acquire)
            {
                1 => self.need_wakeup = false,
                2 => self.need_wakeup = true,
                _ => {}
            }
        }
        let fd = if shared {
            SockFd::Own(xsk::socket().map_err(|e| self.err("socket(AF_XDP)", e))?)
        } else {
            SockFd::Umem(self.umem.clone())
        };
        let fd = Arc::new(fd);
        let raw = fd.as_fd();

        let sized = [
            (RingKind::Rx, self.sizes.rx),
            (RingKind::Tx, self.sizes.tx),
            (RingKind::Fill, self.sizes.fill),
            (RingKind::Completion, self.sizes.completion),
        ];
        for (kind, n) in sized {
            if n == 0 {
                continue;
            }
            xsk::set_ring_size(raw, kind, n).map_err(|e| self.err(ring_op(kind), e))?;
        }
        let off = xsk::mmap_offsets(raw).map_err(|e| self.err("XDP_MMAP_OFFSETS", e))?;

        let fill = FillQueue {
            ring: map_ring(raw, RingKind::Fill, &off, self.sizes.fill)
                .map_err(|e| self.err("mmap fill ring", e))?,
            fd: fd.clone(),
            umem: self.umem.clone(),
        };
        let completion = CompletionQueue {
            ring: map_ring(raw, RingKind::Completion, &off, self.sizes.completion)
                .map_err(|e| self.err("mmap completion ring", e))?,
            umem: self.umem.clone(),
            invalid: 0,
        };
        let rx = if self.sizes.rx > 0 {
            Some(RxQueue {
                ring: map_ring(raw, RingKind::Rx, &off, self.sizes.rx)
                    .map_err(|e| self.err("mmap RX ring", e))?,
                umem: self.umem.clone(),
                invalid: 0,
            })
        } else {
            None
        };
        let tx = if self.sizes.tx > 0 {
            Some(TxQueue {
                ring: map_ring(raw, RingKind::Tx, &off, self.sizes.tx)
                    .map_err(|e| self.err("mmap TX ring", e))?,
                fd: fd.clone(),
                umem: self.umem.clone(),
                always_kick: !self.need_wakeup,
                kicks: 0,
            })
        } else {
            None
        };

        let mut flags = 0u16;
        let mut shared_fd = 0u32;
        if shared {
            flags |= XDP_SHARED_UMEM;
            shared_fd = self.umem.as_fd().as_raw() as u32;
        } else {
            flags |= match self.copy {
                CopyMode::Auto => 0,
                CopyMode::Copy => XDP_COPY,
                CopyMode::ZeroCopy => XDP_ZEROCOPY,
            };
            if self.need_wakeup {
                flags |= XDP_USE_NEED_WAKEUP;
            }
        }
        let addr = SockaddrXdp {
            sxdp_family: AF_XDP,
            sxdp_flags: flags,
            sxdp_ifindex: self.netdev.ifindex(),
            sxdp_queue_id: self.queue,
            sxdp_shared_umem_fd: shared_fd,
        };
        xsk::bind(raw, &addr).map_err(|e| {
            let err = self.err("bind AF_XDP socket", e);
            match e {
                Errno::EBUSY => err.with_hint("another AF_XDP socket is bound to this queue"),
                Errno::EINVAL => err.with_hint(format!(
                    "is queue {} within the queues of {}? (sockctl prog status; ethtool -l)",
                    self.queue, self.netdev
                )),
                Errno::EOPNOTSUPP if self.copy == CopyMode::ZeroCopy => err
                    .with_hint("the driver has no zero-copy AF_XDP: use copy mode (force_copy=1)"),
                Errno::ENETDOWN => err.with_hint(format!(
                    "bring {} up first (ip link set {} up)",
                    self.netdev, self.netdev
                )),
                _ => err,
            }
        })?;
        let sock = XskSocket {
            fd,
            netdev: self.netdev,
            queue: self.queue,
            umem: self.umem,
            shared,
            need_wakeup: self.need_wakeup,
        };
        Ok((
            sock,
            Queues {
                fill,
                completion,
                rx,
                tx,
            },
        ))
    }
}

fn ring_op(kind: RingKind) -> &'static str {
    match kind {
        RingKind::Rx => "XDP_RX_RING",
        RingKind::Tx => "XDP_TX_RING",
        RingKind::Fill => "XDP_UMEM_FILL_RING",
        RingKind::Completion => "XDP_UMEM_COMPLETION_RING",
    }
}

/// A ring's mapping and its protocol state; the mapping outlives the ring
/// handle because both live (and die) in this struct, and the handle never
/// leaves it.
struct MappedRing<R> {
    ring: R,
    _map: Mmap,
}

trait RingEnd<T>: Sized {
    /// # Safety
    /// As `Producer::new` / `Consumer::new`.
    unsafe fn make(parts: RingParts<T>) -> Self;
}
impl<T: Copy> RingEnd<T> for Producer<'static, T> {
    unsafe fn make(parts: RingParts<T>) -> Self {
        // SAFETY: forwarded.
        unsafe { Producer::new(parts) }
    }
}
impl<T: Copy> RingEnd<T> for Consumer<'static, T> {
    unsafe fn make(parts: RingParts<T>) -> Self {
        // SAFETY: forwarded.
        unsafe { Consumer::new(parts) }
    }
}

fn map_ring<T, R: RingEnd<T>>(
    fd: BorrowedFd<'_>,
    kind: RingKind,
    off: &XdpMmapOffsets,
    entries: u32,
) -> std::result::Result<MappedRing<R>, Errno> {
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

/// Frames given to the kernel to receive into.
pub struct FillQueue {
    ring: MappedRing<Producer<'static, u64>>,
    fd: Arc<SockFd>,
    umem: Umem,
}

/// Frames the kernel has finished sending.
pub struct CompletionQueue {
    ring: MappedRing<Consumer<'static, u64>>,
    umem: Umem,
    invalid: u64,
}

/// Frames the kernel has received into.
pub struct RxQueue {
    ring: MappedRing<Consumer<'static, XdpDesc>>,
    umem: Umem,
    invalid: u64,
}

/// Frames to send.
pub struct TxQueue {
    ring: MappedRing<Producer<'static, XdpDesc>>,
    fd: Arc<SockFd>,
    umem: Umem,
    always_kick: bool,
    kicks: u64,
}

fn check_umem(umem: &Umem, frame: &Frame) {
    assert_eq!(
        frame.umem(),
        umem.id(),
        "a frame of another UMEM cannot enter this ring"
    );
}

/// Moves up to `out.spare()` entries of a kernel-to-user ring into `out` as
/// frame tokens (`to_frame` refuses entries outside the UMEM, which are
/// counted in `invalid`); returns how many entries were consumed.
#[inline]
fn consume_frames<T: Copy>(
    ring: &mut Consumer<'static, T>,
    out: &mut FrameBuf,
    invalid: &mut u64,
    to_frame: impl Fn(T) -> Option<Frame>,
) -> usize {
    let want = out.spare().min(u32::MAX as usize) as u32;
    let batch = ring.peek(want);
    let n = batch.len();
    for i in 0..n {
        match to_frame(batch.read(i)) {
            Some(f) => out.push_unchecked_capacity(f),
            None => *invalid += 1,
        }
    }
    batch.release();
    n as usize
}

impl FillQueue {
    /// Moves as many frames as fit from the end of `frames` into the fill
    /// ring (reset to the start of their chunks), and wakes the kernel if it
    /// asked (also when no frame moved). Returns how many moved.
    #[inline]
    pub fn fill(&mut self, frames: &mut FrameBuf) -> usize {
        let want = frames.len().min(u32::MAX as usize) as u32;
        let mut batch = self.ring.ring.reserve(want);
        let layout = *self.umem.layout();
        let mut written = 0;
        while written < batch.len() {
            let Some(mut f) = frames.pop() else { break };
            check_umem(&self.umem, &f);
            f.reset(&layout);
            batch.write(written, f.addr());
            written += 1;
        }
        batch.submit_first(written);
        // Also when nothing new went in: a wakeup the kernel asked for and
        // that failed (busy) is retried here.
        if self.ring.ring.needs_wakeup() {
            self.wakeup();
        }
        written as usize
    }

    /// Whether the kernel asked for a wakeup before it takes more frames.
    #[inline]
    pub fn needs_wakeup(&self) -> bool {
        self.ring.ring.needs_wakeup()
    }

    /// Wakes the kernel's RX processing (`recvfrom` with `MSG_DONTWAIT`).
    #[inline]
    pub fn wakeup(&self) {
        // Errors here mean "busy, try later": the next fill tries again.
        let _ = xsk::wakeup_rx(self.fd.as_fd());
    }

    /// Entries the ring can take now.
    pub fn free(&mut self) -> u32 {
        self.ring.ring.free(u32::MAX)
    }

    /// Number of entries.
    pub fn size(&self) -> u32 {
        self.ring.ring.size()
    }
}

impl CompletionQueue {
    /// Moves up to `out.spare()` completed frames into `out`; returns how
    /// many.
    #[inline]
    pub fn complete(&mut self, out: &mut FrameBuf) -> usize {
        let umem = &self.umem;
        consume_frames(&mut self.ring.ring, out, &mut self.invalid, |a| {
            umem.frame_from_completion(a)
        })
    }

    /// Addresses skipped because they were outside the UMEM.
    pub fn invalid(&self) -> u64 {
        self.invalid
    }

    /// Number of entries.
    pub fn size(&self) -> u32 {
        self.ring.ring.size()
    }
}

impl RxQueue {
    /// Moves up to `out.spare()` received frames into `out`; returns how
    /// many. A descriptor outside the UMEM (a kernel bug) is skipped and
    /// counted in [`invalid`](Self::invalid).
    #[inline]
    pub fn receive(&mut self, out: &mut FrameBuf) -> usize {
        let umem = &self.umem;
        consume_frames(&mut self.ring.ring, out, &mut self.invalid, |d| {
            umem.frame_from_rx(&d)
        })
    }

    /// Descriptors skipped because they were outside the UMEM.
    pub fn invalid(&self) -> u64 {
        self.invalid
    }

    /// Number of entries.
    pub fn size(&self) -> u32 {
        self.ring.ring.size()
    }
}

impl TxQueue {
    /// Moves as many frames as fit from the front of `frames` into the TX
    /// ring, in order, and kicks the kernel when it needs it. Returns how
    /// many moved. A frame's length is clamped to its room in the UMEM.
    #[inline]
    pub fn transmit(&mut self, frames: &mut FrameBuf) -> usize {
        let want = frames.len().min(u32::MAX as usize) as u32;
        let mut batch = self.ring.ring.reserve(want);
        let n = batch.len() as usize;
        for (i, f) in frames.frames()[..n].iter().enumerate() {
            check_umem(&self.umem, f);
            let mut d = f.desc();
            d.len = d.len.min(self.umem.room(f) as u32);
            batch.write(i as u32, d);
        }
        batch.submit();
        frames.drop_front(n);
        // Also when nothing new went in: descriptors may still wait for a
        // kick (copy mode sends a few dozen per kick).
        if n > 0 || self.ring.ring.pending() > 0 {
            self.kick_if_needed();
        }
        n
    }

    /// Kicks the kernel if it asked for it (or always, when bound without
    /// need-wakeup).
    #[inline]
    pub fn kick_if_needed(&mut self) {
        if self.always_kick || self.ring.ring.needs_wakeup() {
            self.kick();
        }
    }

    /// Tells the kernel to send (`sendto` with `MSG_DONTWAIT`). Transient
    /// refusals (`EAGAIN`, `EBUSY`, `ENOBUFS`) are retried by the next kick.
    #[inline]
    pub fn kick(&mut self) {
        self.kicks += 1;
        let _ = xsk::wakeup_tx(self.fd.as_fd());
    }

    /// How many system calls the kicks have cost.
    pub fn kicks(&self) -> u64 {
        self.kicks
    }

    /// Descriptors submitted and not yet taken by the kernel.
    pub fn pending(&self) -> u32 {
        self.ring.ring.pending()
    }

    /// Entries the ring can take now.
    pub fn free(&mut self) -> u32 {
        self.ring.ring.free(u32::MAX)
    }

    /// Number of entries.
    pub fn size(&self) -> u32 {
        self.ring.ring.size()
    }
}

impl XskSocket {
    /// The socket's fd (for an XSKMAP, or `poll`).
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The netdev it is bound to.
    pub fn netdev(&self) -> &Netdev {
        &self.netdev
    }

    /// The queue it is bound to.
    pub fn queue(&self) -> u32 {
        self.queue
    }

    /// The UMEM it uses.
    pub fn umem(&self) -> &Umem {
        &self.umem
    }

    /// Whether it shares its UMEM with an earlier socket.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// Whether it was bound with need-wakeup.
    pub fn uses_need_wakeup(&self) -> bool {
        self.need_wakeup
    }

    /// What to give `poll` to wait for received frames on this socket.
    pub fn poll_fd(&self) -> PollFd {
        PollFd {
            fd: self.as_fd().as_raw(),
            events: POLLIN,
            revents: 0,
        }
    }

    /// The kernel's counters for this socket (`XDP_STATISTICS`).
    pub fn statistics(&self) -> Result<XdpStatistics> {
        xsk::statistics(self.as_fd()).map_err(|e| {
            Error::sys(
                "XDP_STATISTICS",
                format!("{} queue {}", self.netdev, self.queue),
                e,
            )
        })
    }

    /// Turns on preferred busy polling: `SO_PREFER_BUSY_POLL=1`,
    /// `SO_BUSY_POLL=timeout_us`, `SO_BUSY_POLL_BUDGET=budget`, as DPDK does
    /// with `busy_budget`. Needs `CAP_NET_ADMIN` (that is why a device plugin
    /// offers `/config_busy_poll`).
    pub fn set_busy_poll(&self, timeout_us: u32, budget: u32) -> Result<()> {
        use afxdp_core::abi::socket::{
            SOL_SOCKET, SO_BUSY_POLL, SO_BUSY_POLL_BUDGET, SO_PREFER_BUSY_POLL,
        };
        let fd = self.as_fd();
        let subject = format!("{} queue {}", self.netdev, self.queue);
        let set = |name: i32, opname: &'static str, v: i32| {
            afxdp_sys::socket::setsockopt(fd, SOL_SOCKET, name, &v).map_err(|e| {
                let err = Error::sys(opname, &subject, e);
                if e == Errno::EPERM {
                    err.with_hint("busy polling needs CAP_NET_ADMIN; run without it (busy_budget=0) or ask the device plugin")
                } else {
                    err
                }
            })
        };
        set(SO_PREFER_BUSY_POLL, "SO_PREFER_BUSY_POLL", 1)?;
        set(SO_BUSY_POLL, "SO_BUSY_POLL", timeout_us as i32)?;
        set(SO_BUSY_POLL_BUDGET, "SO_BUSY_POLL_BUDGET", budget as i32)
    }

    /// Whether the socket runs in zero-copy mode (`XDP_OPTIONS`).
    pub fn is_zero_copy(&self) -> Result<bool> {
        xsk::options(self.as_fd())
            .map(|o| o.flags & XDP_OPTIONS_ZEROCOPY != 0)
            .map_err(|e| {
                Error::sys(
                    "XDP_OPTIONS",
                    format!("{} queue {}", self.netdev, self.queue),
                    e,
                )
            })
    }
}

impl fmt::Debug for XskSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XskSocket")
            .field("fd", &self.as_fd().as_raw())
            .field("netdev", &self.netdev.name())
            .field("queue", &self.queue)
            .field("shared", &self.shared)
            .finish()
    }
}

/// Waits until one of `sockets` has received frames, or `timeout_ms` passes
/// (negative: no limit). Returns whether any is readable; `EINTR` counts as
/// not readable.
pub fn wait_readable(sockets: &[&XskSocket], timeout_ms: i32) -> Result<bool> {
    let mut fds: Vec<PollFd> = sockets
        .iter()
        .map(|s| PollFd {
            fd: s.as_fd().as_raw(),
            events: POLLIN,
            revents: 0,
        })
        .collect();
    match afxdp_sys::poll::poll(&mut fds, timeout_ms) {
        Ok(n) => Ok(n > 0),
        Err(Errno::EINTR) => Ok(false),
        Err(e) => Err(Error::sys(
            "poll AF_XDP sockets",
            sockets
                .iter()
                .map(|s| format!("{} queue {}", s.netdev, s.queue))
                .collect::<Vec<_>>()
                .join(", "),
            e,
        )),
    }
}
