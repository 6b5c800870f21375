//! [`Umem`]: the packet memory shared with the kernel, and [`Frame`], the
//! token that says who owns a piece of it.
//!
//! A frame is owned either by the kernel (it sits in the fill or TX ring) or
//! by the application (it came out of the RX or completion ring, or was never
//! handed over). The application holds its frames as [`Frame`] values, which
//! cannot be copied: to give a frame back to the kernel it must be moved into
//! a ring, and the borrow checker then forbids any slice into it that is
//! still alive. That is what makes [`Umem::data`] and [`Umem::data_mut`]
//! safe.
//!
//! [`FrameBuf`] holds frames between the rings without allocating on the
//! data path: its capacity is fixed when it is created.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use afxdp_core::abi::if_xdp::{XdpDesc, XdpUmemReg, XDP_UMEM_UNALIGNED_CHUNK_FLAG};
use afxdp_core::abi::mman::{MAP_HUGETLB, MAP_HUGE_2MB, MAP_POPULATE};
use afxdp_core::umem::{UmemError, UmemLayout};
use afxdp_core::Errno;
use afxdp_sys::mm::Mmap;
use afxdp_sys::{xsk, BorrowedFd, OwnedFd};

use crate::error::{Error, Result};

/// How to build a [`Umem`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UmemConfig {
    /// Number of frames.
    pub frame_count: u32,
    /// Bytes per frame: a power of two from 2048 to 4096 (aligned mode), or
    /// any size from 2048 (unaligned mode).
    pub frame_size: u32,
    /// Bytes the kernel leaves free before each received packet.
    pub headroom: u32,
    /// Back the UMEM with 2 MiB huge pages (needs them reserved:
    /// `/proc/sys/vm/nr_hugepages`).
    pub hugepages: bool,
    /// Unaligned chunk mode: packets may start anywhere.
    pub unaligned: bool,
}

impl Default for UmemConfig {
    /// 4096 frames of 2048 bytes, no headroom, normal pages, aligned: what
    /// DPDK's AF_XDP PMD and libxdp use by default.
    fn default() -> Self {
        UmemConfig {
            frame_count: 4096,
            frame_size: 2048,
            headroom: 0,
            hugepages: false,
            unaligned: false,
        }
    }
}

static NEXT_UMEM_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) struct UmemInner {
    /// The AF_XDP socket the UMEM is registered on; the first socket bound
    /// with this UMEM uses it, the others share it. (Declared first: it is
    /// closed before the memory is unmapped.)
    pub(crate) fd: OwnedFd,
    mem: Mmap,
    layout: UmemLayout,
    id: u64,
    /// Who owns `fd`: one lock-protected state, so that of two sockets
    /// built at once, the one that shares the UMEM cannot bind before the
    /// one that owns it.
    pub(crate) owner: Mutex<OwnerState>,
    /// Whether `take_frames` has handed the frames out.
    frames_taken: AtomicBool,
}

/// The state of a UMEM's own socket (`fd`), which the first socket built
/// with the UMEM becomes and which later sockets share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OwnerState {
    /// No socket built yet: the next one becomes the owner.
    Unbound,
    /// The owner is bound here, with these modes (sockets that share the
    /// UMEM inherit them).
    Bound {
        /// Its interface.
        ifindex: u32,
        /// Its queue.
        queue: u32,
        /// Whether it was bound with need-wakeup.
        need_wakeup: bool,
    },
    /// Setting up the owner failed half-way (rings sized, bind refused):
    /// the fd cannot be set up again, nor shared.
    Spoiled,
}

/// Packet memory registered with the kernel (`XDP_UMEM_REG`).
///
/// Cloning is cheap and shares the same memory; sockets keep it alive.
///
/// The UMEM is registered on an AF_XDP socket of its own, which becomes the
/// first socket built with it: that socket stays bound (and in an XSKMAP)
/// for as long as any clone of the UMEM lives, even after its
/// [`XskSocket`](crate::XskSocket) and queues are dropped. Frames that sit
/// in dropped rings are not recovered.
///
/// The frame tokens' safety rests on the kernel returning each frame at
/// most once from the RX and completion rings (as every AF_XDP library
/// assumes); descriptors outside the UMEM and broken ring indices are
/// refused.
#[derive(Clone)]
pub struct Umem {
    pub(crate) inner: Arc<UmemInner>,
}

impl fmt::Debug for Umem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Umem")
            .field("id", &self.inner.id)
            .field("layout", &self.inner.layout)
            .field("fd", &self.inner.fd.as_raw())
            .finish()
    }
}

fn layout_error(config: &UmemConfig, e: UmemError) -> Error {
    Error::invalid(
        "configure UMEM",
        format!(
            "{} frames of {} bytes",
            config.frame_count, config.frame_size
        ),
        e.to_string(),
    )
}

impl Umem {
    /// Maps the memory and registers it on a new AF_XDP socket.
    ///
    /// ```no_run
    /// use af_xdp::{Umem, UmemConfig};
    /// let umem = Umem::new(UmemConfig { frame_count: 1024, ..Default::default() })?;
    /// assert_eq!(umem.layout().len(), 1024 * 2048);
    /// # Ok::<(), af_xdp::Error>(())
    /// ```
    pub fn new(config: UmemConfig) -> Result<Umem> {
        let layout = if config.unaligned {
            UmemLayout::unaligned(
                config.frame_count,
                config.frame_size,
                config.headroom,
                if config.hugepages {
                    afxdp_core::umem::HUGE_PAGE_SIZE
                } else {
                    afxdp_core::umem::PAGE_SIZE
                },
            )
        } else {
            UmemLayout::aligned(config.frame_count, config.frame_size, config.headroom)
        }
        .map_err(|e| layout_error(&config, e))?;
        let len = usize::try_from(layout.len())
            .map_err(|_| layout_error(&config, UmemError::FrameCount(config.frame_count)))?;
        let mem = if config.hugepages {
            let rounded = len.next_multiple_of(2 << 20);
            Mmap::anonymous_private(rounded, MAP_POPULATE | MAP_HUGETLB | MAP_HUGE_2MB).map_err(|e| {
                Error::sys("mmap UMEM on huge pages", format!("{rounded} bytes"), e).with_hint(
                    "reserve 2 MiB huge pages first (echo N > /proc/sys/vm/nr_hugepages), or drop the hugepage option",
                )
            })?
        } else {
            Mmap::anonymous_private(len, MAP_POPULATE)
                .map_err(|e| Error::sys("mmap UMEM", format!("{len} bytes"), e))?
        };
        let fd = xsk::socket().map_err(|e| {
            let err = Error::sys("socket(AF_XDP)", "", e);
            match e {
                Errno::EAFNOSUPPORT => {
                    err.with_hint("this kernel has no AF_XDP (CONFIG_XDP_SOCKETS)")
                }
                Errno::EPERM | Errno::EACCES => {
                    err.with_hint("creating an AF_XDP socket needs CAP_NET_RAW")
                }
                _ => err,
            }
        })?;
        let reg = XdpUmemReg {
            addr: mem.as_ptr() as u64,
            len: layout.len(),
            chunk_size: layout.frame_size(),
            headroom: layout.headroom(),
            flags: if config.unaligned {
                XDP_UMEM_UNALIGNED_CHUNK_FLAG
            } else {
                0
            },
            tx_metadata_len: 0,
        };
        xsk::umem_reg(fd.as_fd(), &reg).map_err(|e| {
            let err = Error::sys("XDP_UMEM_REG", format!("{} bytes", layout.len()), e);
            match e {
                Errno::ENOMEM | Errno::ENOBUFS | Errno::EPERM => err.with_hint(
                    "the UMEM is locked memory: grant CAP_IPC_LOCK or raise RLIMIT_MEMLOCK (ulimit -l), or use fewer frames",
                ),
                _ => err,
            }
        })?;
        Ok(Umem {
            inner: Arc::new(UmemInner {
                mem,
                layout,
                id: NEXT_UMEM_ID.fetch_add(1, Ordering::Relaxed),
                fd,
                owner: Mutex::new(OwnerState::Unbound),
                frames_taken: AtomicBool::new(false),
            }),
        })
    }

    /// The UMEM's geometry.
    pub fn layout(&self) -> &UmemLayout {
        &self.inner.layout
    }

    /// The socket the UMEM is registered on.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.fd.as_fd()
    }

    /// Every frame of the UMEM, as tokens owned by the caller. Call this once
    /// and hand the frames to the fill ring (and a TX pool): a frame given to
    /// the kernel twice would be corrupted.
    ///
    /// Returns `None` if called a second time.
    pub fn take_frames(&self) -> Option<FrameBuf> {
        if self.inner.frames_taken.swap(true, Ordering::AcqRel) {
            return None;
        }
        let layout = self.inner.layout;
        let mut buf = FrameBuf::with_capacity(layout.frame_count() as usize);
        for i in 0..layout.frame_count() {
            let _ = buf.push(Frame {
                addr: layout.frame_addr(i),
                len: 0,
                options: 0,
                umem: self.inner.id,
            });
        }
        Some(buf)
    }

    /// The bytes of a frame's packet: `frame.len()` bytes at its address,
    /// cut at the end of its chunk.
    ///
    /// # Panics
    /// If `frame` belongs to another UMEM.
    pub fn data<'a>(&'a self, frame: &'a Frame) -> &'a [u8] {
        let (ptr, len) = self.range(frame, (frame.len as usize).min(self.room(frame)));
        // SAFETY: `range` checked the bytes are inside the mapping; the
        // frame token proves the application owns them (the kernel does not
        // write them until the token is moved into a ring, which the borrow
        // of `frame` prevents while the slice lives; tokens are unique
        // because the kernel returns each frame once, see the type's docs).
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }

    /// The bytes of a frame's packet, writable (cut as in [`data`](Self::data)).
    ///
    /// # Panics
    /// If `frame` belongs to another UMEM.
    pub fn data_mut<'a>(&'a self, frame: &'a mut Frame) -> &'a mut [u8] {
        let (ptr, len) = self.range(frame, (frame.len as usize).min(self.room(frame)));
        // SAFETY: as in `data`; the exclusive borrow of the token makes this
        // the only slice into the frame.
        unsafe { std::slice::from_raw_parts_mut(ptr, len) }
    }

    /// The whole room of a frame, from its address to the end of its chunk,
    /// writable: for building a packet to send (then `frame.set_len`).
    ///
    /// # Panics
    /// If `frame` belongs to another UMEM.
    pub fn room_mut<'a>(&'a self, frame: &'a mut Frame) -> &'a mut [u8] {
        let room = self.room(frame);
        let (ptr, len) = self.range(frame, room);
        // SAFETY: as in `data_mut`.
        unsafe { std::slice::from_raw_parts_mut(ptr, len) }
    }

    /// Bytes from a frame's address to the end of its chunk.
    pub fn room(&self, frame: &Frame) -> usize {
        let l = &self.inner.layout;
        let offset = l.resolve(frame.addr);
        let chunk_end = if l.is_unaligned() {
            l.chunk_of(frame.addr) + u64::from(l.frame_size())
        } else {
            (offset | (u64::from(l.frame_size()) - 1)) + 1
        };
        (chunk_end.min(l.len()) - offset.min(chunk_end)) as usize
    }

    /// Pointer and length of `len` bytes of `frame`, checked to be inside the
    /// mapping.
    fn range(&self, frame: &Frame, len: usize) -> (*mut u8, usize) {
        assert_eq!(
            frame.umem, self.inner.id,
            "frame of UMEM {} used with UMEM {}",
            frame.umem, self.inner.id
        );
        let l = &self.inner.layout;
        let offset = l.resolve(frame.addr);
        let end = offset.checked_add(len as u64).filter(|&e| e <= l.len());
        let Some(_) = end else {
            // Frames are made by this module from validated descriptors, so
            // this cannot happen; refuse rather than read out of bounds.
            panic!("frame {:#x}+{len} outside the UMEM", frame.addr);
        };
        // SAFETY: `offset + len <= layout.len() <= mapping length`.
        (unsafe { self.inner.mem.as_ptr().add(offset as usize) }, len)
    }

    pub(crate) fn id(&self) -> u64 {
        self.inner.id
    }

    /// A frame token for a descriptor the kernel gave back (RX), checked
    /// against the UMEM; `None` for a descriptor outside it or whose frame
    /// is not one of the UMEM's (`UmemLayout::check_rx_desc`): tokens are
    /// unique only if each names a whole frame of its own.
    pub(crate) fn frame_from_rx(&self, desc: &XdpDesc) -> Option<Frame> {
        let l = &self.inner.layout;
        let desc = match l.check_rx_desc(desc) {
            Ok(_) => *desc,
            // What kernels 6.10-6.14 got wrong in unaligned mode, put right
            // (looked at only then: a correct kernel's descriptors pass, and
            // are never changed by the repair).
            Err(_) => {
                let repaired = XdpDesc {
                    addr: l.repair_rx_addr(desc.addr),
                    ..*desc
                };
                if repaired.addr == desc.addr {
                    return None;
                }
                l.check_rx_desc(&repaired).ok()?;
                repaired
            }
        };
        Some(Frame {
            addr: desc.addr,
            len: desc.len,
            options: desc.options,
            umem: self.inner.id,
        })
    }

    /// A frame token for an address the kernel gave back (completion):
    /// the start of its chunk, length 0.
    pub(crate) fn frame_from_completion(&self, addr: u64) -> Option<Frame> {
        let chunk = self.inner.layout.check_completion_addr(addr).ok()?;
        Some(Frame {
            addr: chunk,
            len: 0,
            options: 0,
            umem: self.inner.id,
        })
    }
}

/// A frame of the UMEM owned by the application: its address and the
/// length of the packet in it. It cannot be copied; moving it into a ring
/// hands it to the kernel.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    addr: u64,
    len: u32,
    options: u32,
    umem: u64,
}

impl Frame {
    /// The frame's address in the UMEM (what descriptors carry).
    pub fn addr(&self) -> u64 {
        self.addr
    }

    /// Length of the packet in the frame.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether the frame holds no packet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Descriptor options (`XDP_PKT_CONTD` on a multi-buffer packet).
    pub fn options(&self) -> u32 {
        self.options
    }

    /// Sets the packet length (clamped to the frame's room when sent).
    pub fn set_len(&mut self, len: u32) {
        self.len = len;
    }

    /// The descriptor for this frame.
    pub(crate) fn desc(&self) -> XdpDesc {
        XdpDesc {
            addr: self.addr,
            len: self.len,
            options: self.options,
        }
    }

    /// Resets the frame to the start of its chunk, empty (before putting it
    /// in the fill ring).
    pub(crate) fn reset(&mut self, layout: &UmemLayout) {
        self.addr = layout.chunk_of(self.addr);
        self.len = 0;
        self.options = 0;
    }

    pub(crate) fn umem(&self) -> u64 {
        self.umem
    }
}

/// A fixed-capacity buffer of frames: the data path moves frames between
/// rings through these without allocating.
#[derive(Debug, Default)]
pub struct FrameBuf {
    frames: Vec<Frame>,
    cap: usize,
}

impl FrameBuf {
    /// A buffer that holds up to `cap` frames (allocated now, never again).
    pub fn with_capacity(cap: usize) -> FrameBuf {
        FrameBuf {
            frames: Vec::with_capacity(cap),
            cap,
        }
    }

    /// Number of frames held.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether no frame is held.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// How many frames it can hold.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Room left.
    pub fn spare(&self) -> usize {
        self.cap - self.frames.len()
    }

    /// Adds a frame; gives it back if the buffer is full.
    pub fn push(&mut self, frame: Frame) -> std::result::Result<(), Frame> {
        if self.frames.len() == self.cap {
            return Err(frame);
        }
        self.frames.push(frame);
        Ok(())
    }

    /// Takes the last frame.
    pub fn pop(&mut self) -> Option<Frame> {
        self.frames.pop()
    }

    /// Takes the first frame (for example the one a transmit refused).
    pub fn pop_front(&mut self) -> Option<Frame> {
        (!self.frames.is_empty()).then(|| self.frames.remove(0))
    }

    /// The first frame.
    pub fn first(&self) -> Option<&Frame> {
        self.frames.first()
    }

    /// The first frame, writable.
    pub fn first_mut(&mut self) -> Option<&mut Frame> {
        self.frames.first_mut()
    }

    /// The frames, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Frame> {
        self.frames.iter()
    }

    /// The frames, in order, writable (to set lengths).
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, Frame> {
        self.frames.iter_mut()
    }

    /// Moves up to `n` frames from the end of `other` to this buffer.
    pub fn take_from(&mut self, other: &mut FrameBuf, n: usize) -> usize {
        let n = n.min(self.spare()).min(other.len());
        self.frames.extend(other.drain_back(n));
        n
    }

    /// Removes the last `n` frames (at most all), yielding them in order.
    pub(crate) fn drain_back(&mut self, n: usize) -> std::vec::Drain<'_, Frame> {
        let at = self.frames.len() - n.min(self.frames.len());
        self.frames.drain(at..)
    }

    pub(crate) fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// Removes the first `n` frames (those a ring has taken).
    pub(crate) fn drop_front(&mut self, n: usize) {
        self.frames.drain(..n.min(self.frames.len()));
    }

    pub(crate) fn push_unchecked_capacity(&mut self, frame: Frame) {
        debug_assert!(self.frames.len() < self.cap);
        self.frames.push(frame);
    }
}
