//! The UMEM as data: its geometry ([`UmemLayout`]), descriptor validation
//! in aligned and unaligned chunk modes, and a frame allocator over
//! caller-provided storage ([`FrameStack`]).
//!
//! # Chunks never cross a page
//!
//! In zero-copy mode the driver DMAs into the UMEM page by page, and the
//! kernel's buffer pool drops as invalid any buffer that runs from one page
//! into a page that is not physically next to it
//! (`xp_desc_crosses_non_contig_pg` in `net/xdp/xsk_buff_pool.c`). Aligned
//! chunks are a power of two no larger than a page, so they never cross. An
//! unaligned chunk could: 3000-byte chunks packed end to end put the second
//! one across the first 4 KiB boundary. So an unaligned layout is told the
//! size of the pages backing the UMEM (4 KiB, or the huge page size for a
//! huge-page mapping, whose small pages are contiguous) and places
//! `page_size / frame_size` chunks at the start of each page, leaving the
//! rest of the page unused:
//!
//! ```
//! use afxdp_core::umem::{UmemLayout, PAGE_SIZE};
//! let l = UmemLayout::unaligned(4, 3000, 0, PAGE_SIZE).unwrap();
//! assert_eq!(l.frame_addr(1), 4096); // not 3000: that chunk would cross
//! assert_eq!(l.len(), 3 * 4096 + 3000);
//! ```
//!
//! A chunk larger than the page size cannot avoid a crossing, so it is
//! refused ([`UmemError::ChunkExceedsPage`]); huge pages allow chunks up to
//! the huge page size. Descriptors that cross a page boundary are refused
//! too ([`UmemError::CrossesPage`]). The layout assumes the UMEM starts on
//! a page boundary, which every mmap gives.
//!
//! ```
//! use afxdp_core::umem::{FrameStack, UmemLayout};
//! use afxdp_core::abi::if_xdp::XdpDesc;
//!
//! let layout = UmemLayout::aligned(4096, 2048, 0).unwrap();
//! let mut storage = [0u64; 4096];
//! let mut frames = FrameStack::new(&mut storage);
//! frames.push_all_frames(&layout);
//! let addr = frames.pop().unwrap();
//! let range = layout.check_desc(&XdpDesc { addr, len: 60, options: 0 }).unwrap();
//! assert_eq!(range.len, 60);
//! ```

use core::fmt;

use crate::abi::if_xdp::{
    XdpDesc, XDP_PKT_CONTD, XDP_TX_METADATA, XSK_UNALIGNED_BUF_ADDR_MASK,
    XSK_UNALIGNED_BUF_OFFSET_SHIFT,
};

/// Smallest chunk the kernel accepts.
pub const MIN_CHUNK_SIZE: u32 = 2048;

/// Bytes of each chunk the kernel reserves in front of a packet
/// (`XDP_PACKET_HEADROOM`): a UMEM's headroom must leave room after it.
pub const XDP_PACKET_HEADROOM: u32 = 256;

/// The geometry of a UMEM: `frame_count` chunks of `frame_size` bytes,
/// `page_size / frame_size` of them at the start of each page (see the
/// [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UmemLayout {
    frame_count: u32,
    frame_size: u32,
    headroom: u32,
    unaligned: bool,
    /// Size of the pages no chunk may cross: [`PAGE_SIZE`] in aligned mode.
    page_size: u32,
    /// `page_size / frame_size`, at least 1.
    frames_per_page: u32,
}

/// Why a UMEM geometry or a descriptor is not acceptable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UmemError {
    /// Frame size below 2048 or above the page size in aligned mode, or not
    /// a power of two in aligned mode.
    FrameSize(u32),
    /// No frames, or a UMEM larger than the address space allows.
    FrameCount(u32),
    /// Headroom leaves no room for a packet.
    Headroom(u32),
    /// A page size that is not a power of two of at least [`PAGE_SIZE`].
    PageSize(u32),
    /// In unaligned mode, a frame larger than a page: it would cross a page
    /// boundary, which zero-copy drivers cannot take.
    ChunkExceedsPage {
        /// The frame (chunk) size asked for.
        frame_size: u32,
        /// The page size the UMEM is backed by.
        page_size: u32,
    },
    /// The descriptor's address (after the unaligned offset) is outside the
    /// UMEM.
    AddrOutOfRange(u64),
    /// Address plus length runs past the end of the UMEM.
    LenOutOfRange {
        /// Resolved address.
        addr: u64,
        /// Length.
        len: u32,
    },
    /// In aligned mode, the data crosses into the next chunk; in both modes,
    /// it is longer than a chunk.
    CrossesChunk {
        /// Resolved address.
        addr: u64,
        /// Length.
        len: u32,
    },
    /// In unaligned mode, the data crosses a page boundary (see the
    /// [module docs](self)).
    CrossesPage {
        /// Resolved address.
        addr: u64,
        /// Length.
        len: u32,
        /// The layout's page size.
        page_size: u32,
    },
    /// Option bits the kernel does not define.
    Options(u32),
    /// An address the kernel gave back whose frame (its chunk, or in
    /// unaligned mode its base address) is not one of the layout's frames.
    NotAFrame(u64),
}

impl fmt::Display for UmemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UmemError::FrameSize(s) => write!(
                f,
                "frame size {s} is not a power of two between {MIN_CHUNK_SIZE} and the page size"
            ),
            UmemError::FrameCount(n) => write!(f, "frame count {n} is not usable"),
            UmemError::Headroom(h) => write!(
                f,
                "headroom {h} leaves no room for packet data (it must be below the frame size minus {XDP_PACKET_HEADROOM})"
            ),
            UmemError::PageSize(p) => write!(
                f,
                "page size {p} is not a power of two of at least {PAGE_SIZE}"
            ),
            UmemError::ChunkExceedsPage {
                frame_size,
                page_size,
            } => write!(
                f,
                "frame size {frame_size} is larger than the page size {page_size}: an unaligned chunk must fit in one page (back the UMEM with huge pages to allow chunks up to the huge page size)"
            ),
            UmemError::AddrOutOfRange(a) => write!(f, "address {a:#x} is outside the UMEM"),
            UmemError::LenOutOfRange { addr, len } => {
                write!(f, "{len} bytes at {addr:#x} run past the end of the UMEM")
            }
            UmemError::CrossesChunk { addr, len } => {
                write!(f, "{len} bytes at {addr:#x} do not fit in one chunk")
            }
            UmemError::CrossesPage {
                addr,
                len,
                page_size,
            } => write!(
                f,
                "{len} bytes at {addr:#x} cross a {page_size}-byte page boundary"
            ),
            UmemError::Options(o) => write!(f, "unknown descriptor options {o:#x}"),
            UmemError::NotAFrame(a) => {
                write!(f, "address {a:#x} is not in one of the UMEM's frames")
            }
        }
    }
}

impl core::error::Error for UmemError {}

/// A validated byte range of the UMEM: `len` bytes at offset `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRange {
    /// Offset from the start of the UMEM.
    pub offset: u64,
    /// Length in bytes.
    pub len: u32,
}

/// Page size the aligned-mode check assumes (the kernel's limit on chunk
/// size is `PAGE_SIZE`; 4 KiB on the supported targets by default), and the
/// page size to give [`UmemLayout::unaligned`] for a UMEM on ordinary pages.
pub const PAGE_SIZE: u32 = 4096;

/// The default huge page size on x86_64 and aarch64 (2 MiB, `MAP_HUGE_2MB`):
/// the page size to give [`UmemLayout::unaligned`] for a UMEM mapped on such
/// huge pages.
pub const HUGE_PAGE_SIZE: u32 = 2 << 20;

impl UmemLayout {
    /// An aligned-mode UMEM: `frame_count` chunks of `frame_size` bytes
    /// (a power of two from 2048 to the page size), the kernel leaving
    /// `headroom` bytes before each received packet.
    pub const fn aligned(
        frame_count: u32,
        frame_size: u32,
        headroom: u32,
    ) -> Result<Self, UmemError> {
        if !frame_size.is_power_of_two() || frame_size < MIN_CHUNK_SIZE || frame_size > PAGE_SIZE {
            return Err(UmemError::FrameSize(frame_size));
        }
        Self::checked(frame_count, frame_size, headroom, false, PAGE_SIZE)
    }

    /// An unaligned-mode UMEM (`XDP_UMEM_UNALIGNED_CHUNK_FLAG`): chunks of any
    /// size from 2048 bytes up to `page_size`, packets may start anywhere.
    ///
    /// `page_size` is the size of the pages the UMEM's memory is mapped on:
    /// [`PAGE_SIZE`] for ordinary memory, [`HUGE_PAGE_SIZE`] for a mapping
    /// on 2 MiB huge pages. No chunk is placed across a page boundary: each
    /// page holds `page_size / frame_size` chunks from its start and the
    /// rest of it stays unused (see the [module docs](self)), so
    /// [`len`](Self::len) can exceed `frame_count * frame_size`.
    ///
    /// ```
    /// use afxdp_core::umem::{UmemError, UmemLayout, HUGE_PAGE_SIZE, PAGE_SIZE};
    /// let l = UmemLayout::unaligned(1024, 9000, 0, HUGE_PAGE_SIZE).unwrap();
    /// assert_eq!(l.frame_addr(233), HUGE_PAGE_SIZE as u64); // 233 per page
    /// assert!(matches!(
    ///     UmemLayout::unaligned(1024, 9000, 0, PAGE_SIZE),
    ///     Err(UmemError::ChunkExceedsPage { frame_size: 9000, page_size: 4096 })
    /// ));
    /// ```
    pub const fn unaligned(
        frame_count: u32,
        frame_size: u32,
        headroom: u32,
        page_size: u32,
    ) -> Result<Self, UmemError> {
        if !page_size.is_power_of_two() || page_size < PAGE_SIZE {
            return Err(UmemError::PageSize(page_size));
        }
        if frame_size < MIN_CHUNK_SIZE {
            return Err(UmemError::FrameSize(frame_size));
        }
        if frame_size > page_size {
            return Err(UmemError::ChunkExceedsPage {
                frame_size,
                page_size,
            });
        }
        Self::checked(frame_count, frame_size, headroom, true, page_size)
    }

    /// Callers ensure `MIN_CHUNK_SIZE <= frame_size <= page_size`.
    const fn checked(
        frame_count: u32,
        frame_size: u32,
        headroom: u32,
        unaligned: bool,
        page_size: u32,
    ) -> Result<Self, UmemError> {
        let layout = UmemLayout {
            frame_count,
            frame_size,
            headroom,
            unaligned,
            page_size,
            frames_per_page: page_size / frame_size,
        };
        // The whole UMEM must be addressable in 48 bits (unaligned addresses
        // keep an offset in the top 16). `len` cannot overflow: at most
        // 2^32 pages of at most 2^31 bytes.
        if frame_count == 0 || layout.len() > XSK_UNALIGNED_BUF_ADDR_MASK {
            return Err(UmemError::FrameCount(frame_count));
        }
        // The kernel keeps XDP_PACKET_HEADROOM (256) of each chunk for itself.
        if headroom >= frame_size - XDP_PACKET_HEADROOM {
            return Err(UmemError::Headroom(headroom));
        }
        Ok(layout)
    }

    /// Number of frames.
    pub const fn frame_count(&self) -> u32 {
        self.frame_count
    }
    /// Bytes per frame (chunk).
    pub const fn frame_size(&self) -> u32 {
        self.frame_size
    }
    /// Headroom the kernel leaves before received data.
    pub const fn headroom(&self) -> u32 {
        self.headroom
    }
    /// Whether this is an unaligned-chunk UMEM.
    pub const fn is_unaligned(&self) -> bool {
        self.unaligned
    }
    /// The page size no chunk crosses ([`PAGE_SIZE`] in aligned mode).
    pub const fn page_size(&self) -> u32 {
        self.page_size
    }
    /// How many chunks each page holds (`page_size / frame_size`).
    pub const fn frames_per_page(&self) -> u32 {
        self.frames_per_page
    }
    /// Total bytes: up to the end of the last frame. In aligned mode
    /// `frame_count * frame_size`; in unaligned mode it also counts the
    /// unused tails of the pages before the last one.
    pub const fn len(&self) -> u64 {
        if self.frame_count == 0 {
            return 0;
        }
        self.frame_addr(self.frame_count - 1) + self.frame_size as u64
    }
    /// Whether the UMEM has no bytes (never, for a valid layout).
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The address of frame `i`: chunk `i % frames_per_page` of page
    /// `i / frames_per_page`. In aligned mode that is `i * frame_size`.
    /// Meaningful for `i < frame_count`.
    pub const fn frame_addr(&self, i: u32) -> u64 {
        let page = (i / self.frames_per_page) as u64;
        let slot = (i % self.frames_per_page) as u64;
        page * self.page_size as u64 + slot * self.frame_size as u64
    }

    /// The index of the frame an address belongs to (the inverse of
    /// [`frame_addr`](Self::frame_addr) on [`chunk_of`](Self::chunk_of) the
    /// address), or `None` if its chunk is not one of the layout's frames
    /// (past the end, in the unused tail of a page, or, in unaligned mode, a
    /// base address that is not a frame start).
    pub const fn frame_index(&self, addr: u64) -> Option<u32> {
        let chunk = self.chunk_of(addr);
        let page = chunk / self.page_size as u64;
        let within = chunk % self.page_size as u64;
        if !within.is_multiple_of(self.frame_size as u64) {
            return None;
        }
        let slot = within / self.frame_size as u64;
        if slot >= self.frames_per_page as u64 {
            return None;
        }
        let i = page * self.frames_per_page as u64 + slot;
        if i >= self.frame_count as u64 {
            return None;
        }
        Some(i as u32)
    }

    /// The UMEM offset an address stands for: in unaligned mode the top 16
    /// bits are an offset added to the low 48; in aligned mode the address is
    /// the offset.
    pub const fn resolve(&self, addr: u64) -> u64 {
        if self.unaligned {
            (addr & XSK_UNALIGNED_BUF_ADDR_MASK) + (addr >> XSK_UNALIGNED_BUF_OFFSET_SHIFT)
        } else {
            addr
        }
    }

    /// The start of the chunk an address belongs to, which is what goes back
    /// into the fill ring. In aligned mode, the address rounded down to the
    /// chunk; in unaligned mode, the base address (the offset bits dropped).
    pub const fn chunk_of(&self, addr: u64) -> u64 {
        if self.unaligned {
            addr & XSK_UNALIGNED_BUF_ADDR_MASK
        } else {
            addr & !(self.frame_size as u64 - 1)
        }
    }

    /// Checks a descriptor the way the kernel checks TX descriptors, and
    /// returns the bytes it covers: the address inside the UMEM, the data
    /// within one chunk (aligned mode) or no longer than a chunk and within
    /// one page (unaligned mode, as zero-copy requires), and only known
    /// option bits.
    pub const fn check_desc(&self, desc: &XdpDesc) -> Result<FrameRange, UmemError> {
        if desc.options & !(XDP_PKT_CONTD | XDP_TX_METADATA) != 0 {
            return Err(UmemError::Options(desc.options));
        }
        self.check_range(desc.addr, desc.len)
    }

    /// Checks a descriptor the kernel returned on an RX ring, before the
    /// frame it names is handed to the application: [`check_desc`], and
    /// the frame is one of the layout's (in unaligned mode its base address
    /// is a frame start, as the fill ring was given) with the data inside
    /// it. A frame's identity is its chunk in aligned mode and its base
    /// address in unaligned mode, so a base that moved would let two
    /// frames overlap: kernels 6.10 to 6.14 returned the fill address plus
    /// the headroom as the base until "xsk: fix offset calculation in
    /// unaligned mode".
    ///
    /// [`check_desc`]: Self::check_desc
    pub const fn check_rx_desc(&self, desc: &XdpDesc) -> Result<FrameRange, UmemError> {
        let range = match self.check_desc(desc) {
            Ok(r) => r,
            Err(e) => return Err(e),
        };
        // Aligned: `check_desc` kept the data in one chunk inside the UMEM,
        // and every such chunk is a frame (the UMEM is its frames, end to
        // end): nothing more to look up on the hot path.
        if !self.unaligned {
            return Ok(range);
        }
        // Unaligned: the base must be a frame's start, and the data (at or
        // after it) must end in that frame.
        let base = self.chunk_of(desc.addr);
        if self.frame_index(base).is_none() {
            return Err(UmemError::NotAFrame(desc.addr));
        }
        if range.offset + range.len as u64 > base + self.frame_size as u64 {
            return Err(UmemError::CrossesChunk {
                addr: range.offset,
                len: range.len,
            });
        }
        Ok(range)
    }

    /// An RX descriptor's address as a correct kernel gives it. Kernels 6.10
    /// to 6.14 before "xsk: fix offset calculation in unaligned mode" added
    /// the headroom to the base address in unaligned mode as well as to the
    /// offset: the base is then a frame start plus the headroom, and the
    /// data is at that frame start plus the offset. Such an address comes
    /// back with the headroom taken off its base; any other address (every
    /// address of a correct kernel: its base is the frame start the fill
    /// ring was given) comes back unchanged.
    pub const fn repair_rx_addr(&self, addr: u64) -> u64 {
        if !self.unaligned || self.headroom == 0 {
            return addr;
        }
        let base = addr & XSK_UNALIGNED_BUF_ADDR_MASK;
        if self.frame_index(base).is_some() || base < self.headroom as u64 {
            return addr;
        }
        let start = base - self.headroom as u64;
        if self.frame_index(start).is_none() {
            return addr;
        }
        (addr & !XSK_UNALIGNED_BUF_ADDR_MASK) | start
    }

    /// Checks an address the kernel returned on a completion ring and gives
    /// the frame it names (its chunk, or in unaligned mode its base
    /// address): `NotAFrame` unless that is one of the layout's frames.
    pub const fn check_completion_addr(&self, addr: u64) -> Result<u64, UmemError> {
        let base = self.chunk_of(addr);
        if base >= self.len() {
            return Err(UmemError::AddrOutOfRange(base));
        }
        // Aligned, every chunk inside the UMEM is a frame (see
        // `check_rx_desc`): no lookup on the completion path.
        if !self.unaligned {
            return Ok(base);
        }
        match self.frame_index(base) {
            Some(_) => Ok(base),
            None => Err(UmemError::NotAFrame(addr)),
        }
    }

    /// Checks `len` bytes at `addr` as [`check_desc`](Self::check_desc) does.
    pub const fn check_range(&self, addr: u64, len: u32) -> Result<FrameRange, UmemError> {
        let offset = self.resolve(addr);
        if offset >= self.len() {
            return Err(UmemError::AddrOutOfRange(offset));
        }
        if offset + len as u64 > self.len() {
            return Err(UmemError::LenOutOfRange { addr: offset, len });
        }
        let within = if self.unaligned {
            len <= self.frame_size
        } else {
            (offset & (self.frame_size as u64 - 1)) + len as u64 <= self.frame_size as u64
        };
        if !within {
            return Err(UmemError::CrossesChunk { addr: offset, len });
        }
        // Aligned chunks never cross a page; unaligned data must not either.
        if self.unaligned && offset % self.page_size as u64 + len as u64 > self.page_size as u64 {
            return Err(UmemError::CrossesPage {
                addr: offset,
                len,
                page_size: self.page_size,
            });
        }
        Ok(FrameRange { offset, len })
    }

    /// Checks a fill-ring address: inside the UMEM, with room for the
    /// headroom and at least one byte in its chunk. In unaligned mode the
    /// whole chunk (`frame_size` bytes from the resolved address) must be
    /// inside the UMEM and within one page, as the kernel requires of fill
    /// addresses in zero-copy mode.
    pub const fn check_fill_addr(&self, addr: u64) -> Result<FrameRange, UmemError> {
        let chunk = self.chunk_of(addr);
        if chunk >= self.len() {
            return Err(UmemError::AddrOutOfRange(chunk));
        }
        let room = if self.unaligned {
            self.frame_size
        } else {
            self.frame_size - (addr & (self.frame_size as u64 - 1)) as u32
        };
        self.check_range(addr, room)
    }
}

/// A LIFO stack of free frame addresses over caller-provided storage: the
/// frame allocator of the data path. It never allocates; pushing onto a full
/// stack reports failure.
#[derive(Debug)]
pub struct FrameStack<'s> {
    slots: &'s mut [u64],
    len: usize,
}

impl<'s> FrameStack<'s> {
    /// An empty stack that can hold `storage.len()` addresses.
    pub fn new(storage: &'s mut [u64]) -> Self {
        FrameStack {
            slots: storage,
            len: 0,
        }
    }

    /// Pushes every frame of `layout` (frame 0 on top), as far as there is
    /// room; returns how many were pushed.
    pub fn push_all_frames(&mut self, layout: &UmemLayout) -> usize {
        let mut pushed = 0;
        for i in (0..layout.frame_count()).rev() {
            if !self.push(layout.frame_addr(i)) {
                break;
            }
            pushed += 1;
        }
        pushed
    }

    /// Number of free frames held.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no frame is free.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many addresses it can hold.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Puts a frame back; `false` if the stack is full (a frame freed twice,
    /// or more frames than the UMEM has).
    #[inline]
    pub fn push(&mut self, addr: u64) -> bool {
        match self.slots.get_mut(self.len) {
            Some(slot) => {
                *slot = addr;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// Takes a free frame.
    #[inline]
    pub fn pop(&mut self) -> Option<u64> {
        self.len = self.len.checked_sub(1)?;
        Some(self.slots[self.len])
    }
}
