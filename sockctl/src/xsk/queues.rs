//! The four rings of an AF_XDP socket as typed queues that move
//! [`Frame`]s between the application and the kernel:
//!
//! - [`FillQueue`]: frames given to the kernel to receive into;
//! - [`RxQueue`]: frames the kernel received into;
//! - [`TxQueue`]: frames given to the kernel to send;
//! - [`CompletionQueue`]: frames the kernel has sent.
//!
//! Every call here allocates nothing and makes a system call only when the
//! kernel asked for a wakeup (or, bound without need-wakeup, on every
//! transmit, which is then the only way to make the kernel send).

use std::fmt;
use std::sync::Arc;

use afxdp_core::abi::if_xdp::XdpDesc;
use afxdp_core::ring::{Consumer, Producer};
use afxdp_sys::xsk;

use super::mapped::MappedRing;
use super::socket::SockFd;
use crate::umem::{Frame, FrameBuf, Umem};

/// Frames given to the kernel to receive into.
pub struct FillQueue {
    pub(crate) ring: MappedRing<Producer<'static, u64>>,
    pub(crate) fd: Arc<SockFd>,
    pub(crate) umem: Umem,
    /// `recvfrom` calls made by [`wakeup`](FillQueue::wakeup).
    pub(crate) wakeups: u64,
}

/// Frames the kernel has finished sending.
pub struct CompletionQueue {
    pub(crate) ring: MappedRing<Consumer<'static, u64>>,
    pub(crate) umem: Umem,
    pub(crate) invalid: u64,
}

/// Frames the kernel has received into.
pub struct RxQueue {
    pub(crate) ring: MappedRing<Consumer<'static, XdpDesc>>,
    pub(crate) umem: Umem,
    pub(crate) invalid: u64,
}

/// Kicks one [`TxQueue::flush`] may spend: 128 frames in copy mode, which
/// sends at most 32 per kick by default.
pub const MAX_KICKS_PER_FLUSH: u32 = 4;

/// Frames to send.
pub struct TxQueue {
    pub(crate) ring: MappedRing<Producer<'static, XdpDesc>>,
    pub(crate) fd: Arc<SockFd>,
    pub(crate) umem: Umem,
    pub(crate) always_kick: bool,
    /// Bound in zero-copy mode (see [`TxQueue::kick_for_completions`]).
    pub(crate) zero_copy: bool,
    pub(crate) kicks: u64,
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

/// [`TxQueue::transmit`] stopped at a frame holding no packet.
///
/// The kernel refuses an empty descriptor (`tx_invalid_descs`), sends
/// nothing, yet returns the frame on the completion ring as if it had been
/// sent (measured in copy mode on 6.18; a zero-copy driver may not return it
/// at all). So it never reaches the ring: it stays at the front of the
/// caller's buffer, after the `sent` frames that did go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmptyFrame {
    /// Frames submitted before the empty one.
    pub sent: usize,
}

impl fmt::Display for EmptyFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "frame {} of the batch holds no packet (length 0): the kernel would drop it yet report it sent; it was not submitted",
            self.sent
        )
    }
}

impl std::error::Error for EmptyFrame {}

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
    ///
    /// # Panics
    /// If a frame belongs to another UMEM.
    #[inline]
    pub fn fill(&mut self, frames: &mut FrameBuf) -> usize {
        self.fill_at_most(frames, usize::MAX)
    }

    /// [`fill`](Self::fill), moving no more than `max` frames.
    ///
    /// # Panics
    /// If a frame belongs to another UMEM.
    #[inline]
    pub fn fill_at_most(&mut self, frames: &mut FrameBuf, max: usize) -> usize {
        let n = self.fill_quietly(frames, max);
        // Also when nothing new went in: a wakeup the kernel asked for and
        // that failed (busy) is retried here.
        if self.ring.get().needs_wakeup() {
            self.wakeup();
        }
        n
    }

    /// [`fill_at_most`](Self::fill_at_most) without the wakeup: for a
    /// caller that makes the system call anyway (a receive driving busy
    /// polling: its `recvfrom` serves the fill ring's wakeup too).
    #[inline]
    pub(crate) fn fill_quietly(&mut self, frames: &mut FrameBuf, max: usize) -> usize {
        let want = frames.len().min(max).min(u32::MAX as usize) as u32;
        let mut batch = self.ring.ring().reserve(want);
        let layout = *self.umem.layout();
        // The last frames go in the order they were given back (completion
        // or release order) rather than reversed: within a batch the kernel
        // takes frames in the order they came back.
        let n = batch.len();
        for (i, mut f) in frames.drain_back(n as usize).enumerate() {
            check_umem(&self.umem, &f);
            f.reset(&layout);
            batch.write(i as u32, f.addr());
        }
        batch.submit_first(n);
        n as usize
    }

    /// Whether the kernel asked for a wakeup before it takes more frames.
    #[inline]
    pub fn needs_wakeup(&self) -> bool {
        self.ring.get().needs_wakeup()
    }

    /// Wakes the kernel's RX processing (`recvfrom` with `MSG_DONTWAIT`);
    /// with busy polling on the socket, runs the driver's receive.
    #[inline]
    pub fn wakeup(&mut self) {
        self.wakeups += 1;
        // Errors here mean "busy, try later" (the next fill tries again) or
        // "unbound" (the interface went away), which the socket's pending
        // error reports (`XskSocket::take_error`).
        let _ = xsk::wakeup_rx(self.fd.as_fd());
    }

    /// `recvfrom` calls made so far by [`wakeup`](Self::wakeup) (and the
    /// fills that call it).
    pub fn wakeups(&self) -> u64 {
        self.wakeups
    }

    /// Entries the ring can take now.
    pub fn free(&mut self) -> u32 {
        self.ring.ring().free(u32::MAX)
    }

    /// Number of entries.
    pub fn size(&self) -> u32 {
        self.ring.get().size()
    }
}

impl CompletionQueue {
    /// Moves up to `out.spare()` completed frames into `out`; returns how
    /// many.
    #[inline]
    pub fn complete(&mut self, out: &mut FrameBuf) -> usize {
        let umem = &self.umem;
        consume_frames(self.ring.ring(), out, &mut self.invalid, |a| {
            umem.frame_from_completion(a)
        })
    }

    /// Addresses skipped because they were outside the UMEM.
    pub fn invalid(&self) -> u64 {
        self.invalid
    }

    /// Number of entries.
    pub fn size(&self) -> u32 {
        self.ring.get().size()
    }
}

impl RxQueue {
    /// Moves up to `out.spare()` received frames into `out`; returns how
    /// many ring entries it took. A descriptor outside the UMEM, or not
    /// naming one of its frames (a kernel bug), is skipped and counted in
    /// [`invalid`](Self::invalid): then fewer frames than entries arrive.
    #[inline]
    pub fn receive(&mut self, out: &mut FrameBuf) -> usize {
        let umem = &self.umem;
        consume_frames(self.ring.ring(), out, &mut self.invalid, |d| {
            umem.frame_from_rx(&d)
        })
    }

    /// Descriptors skipped because they were outside the UMEM.
    pub fn invalid(&self) -> u64 {
        self.invalid
    }

    /// Number of entries.
    pub fn size(&self) -> u32 {
        self.ring.get().size()
    }
}

impl TxQueue {
    /// Moves as many frames as fit from the front of `frames` into the TX
    /// ring, in order, and kicks the kernel when it needs it. Returns how
    /// many moved. A frame's length is clamped to its room in the UMEM.
    ///
    /// A frame of length 0 is never submitted (see [`EmptyFrame`]): the
    /// frames before it go, it and the rest stay in `frames`, and the error
    /// says how many went. Set its length, or take it back
    /// ([`FrameBuf::pop_front`]).
    ///
    /// # Panics
    /// If a frame belongs to another UMEM.
    #[inline]
    pub fn transmit(&mut self, frames: &mut FrameBuf) -> Result<usize, EmptyFrame> {
        let result = self.submit(frames);
        // Also when nothing new went in: descriptors may still wait from
        // before.
        self.flush();
        result
    }

    /// Kicks the kernel while descriptors wait in the ring and it asks for
    /// kicks, as long as each kick makes progress: in copy mode one
    /// `sendto` sends at most 32 frames, so a larger batch takes several;
    /// in zero-copy mode the kick only wakes the driver, so one does. No
    /// kick at all when the kernel has taken every descriptor already
    /// (frames merely waiting for completion need none in copy mode; see
    /// [`kick_for_completions`](Self::kick_for_completions)). At most
    /// [`MAX_KICKS_PER_FLUSH`] kicks; returns whether it kicked.
    #[inline]
    pub fn flush(&mut self) -> bool {
        if self.ring.get().pending() == 0 {
            // Taken already as of the last look (the kernel never gives a
            // descriptor back): nothing to kick for, and no need to look.
            return false;
        }
        if !(self.always_kick || self.ring.get().needs_wakeup()) {
            return false;
        }
        let mut waiting = self.unsent();
        let mut kicked = false;
        for _ in 0..MAX_KICKS_PER_FLUSH {
            if waiting == 0 || !(self.always_kick || self.ring.get().needs_wakeup()) {
                break;
            }
            self.kick();
            kicked = true;
            let now = self.unsent();
            if now >= waiting {
                // No progress (the driver sends later, or the kernel is
                // out of room): the next flush tries again.
                break;
            }
            waiting = now;
        }
        kicked
    }

    /// In zero-copy mode, kicks the kernel if the driver asks: a driver that
    /// sets the need-wakeup flag may not run, and so not complete the
    /// frames it has taken, until woken (the call is for frames in flight
    /// that do not complete). In copy mode, and without need-wakeup, frames
    /// the kernel has taken complete without a kick: nothing.
    /// Returns whether it kicked and the kernel took the kick.
    #[inline]
    pub fn kick_for_completions(&mut self) -> bool {
        self.zero_copy && self.ring.get().needs_wakeup() && self.kick()
    }

    /// Descriptors submitted and not yet taken by the kernel, as of now
    /// (the consumer index is read afresh).
    #[inline]
    pub fn unsent(&mut self) -> u32 {
        let size = self.ring.get().size();
        size - self.ring.ring().free(size.saturating_add(1))
    }

    /// [`transmit`](Self::transmit) without the kick: for a caller that
    /// kicks once for several things ([`flush`](Self::flush)).
    ///
    /// # Panics
    /// If a frame belongs to another UMEM.
    #[inline]
    pub fn submit(&mut self, frames: &mut FrameBuf) -> Result<usize, EmptyFrame> {
        let want = frames.len().min(u32::MAX as usize) as u32;
        let mut batch = self.ring.ring().reserve(want);
        let room = batch.len() as usize;
        let mut n = 0;
        let mut empty = false;
        for f in &frames.frames()[..room] {
            check_umem(&self.umem, f);
            let mut d = f.desc();
            d.len = d.len.min(self.umem.room(f) as u32);
            if d.len == 0 {
                empty = true;
                break;
            }
            batch.write(n as u32, d);
            n += 1;
        }
        batch.submit_first(n as u32);
        frames.drop_front(n);
        if empty {
            Err(EmptyFrame { sent: n })
        } else {
            Ok(n)
        }
    }

    /// Kicks the kernel if it asked for it (or always, when bound without
    /// need-wakeup).
    #[inline]
    pub fn kick_if_needed(&mut self) {
        if self.always_kick || self.ring.get().needs_wakeup() {
            self.kick();
        }
    }

    /// Tells the kernel to send (`sendto` with `MSG_DONTWAIT`); returns
    /// whether it took the kick. Transient refusals (`EAGAIN`, `EBUSY`,
    /// `ENOBUFS`) are retried by the next kick.
    #[inline]
    pub fn kick(&mut self) -> bool {
        self.kicks += 1;
        xsk::wakeup_tx(self.fd.as_fd()).is_ok()
    }

    /// How many system calls the kicks have cost.
    pub fn kicks(&self) -> u64 {
        self.kicks
    }

    /// Descriptors submitted and not yet taken by the kernel, as of the
    /// last look at the consumer index ([`unsent`](Self::unsent) looks
    /// again).
    pub fn pending(&self) -> u32 {
        self.ring.get().pending()
    }

    /// Entries the ring can take now.
    pub fn free(&mut self) -> u32 {
        self.ring.ring().free(u32::MAX)
    }

    /// Number of entries.
    pub fn size(&self) -> u32 {
        self.ring.get().size()
    }
}
