//! The UMEM as data: its geometry ([`UmemLayout`]), descriptor validation
//! in aligned and unaligned chunk modes, and a frame allocator over
//! caller-provided storage ([`FrameStack`]).
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

/// The geometry of a UMEM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UmemLayout {
    frame_count: u32,
    frame_size: u32,
    headroom: u32,
    unaligned: bool,
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
    /// Option bits the kernel does not define.
    Options(u32),
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
            UmemError::AddrOutOfRange(a) => write!(f, "address {a:#x} is outside the UMEM"),
            UmemError::LenOutOfRange { addr, len } => {
                write!(f, "{len} bytes at {addr:#x} run past the end of the UMEM")
            }
            UmemError::CrossesChunk { addr, len } => {
                write!(f, "{len} bytes at {addr:#x} do not fit in one chunk")
            }
            UmemError::Options(o) => write!(f, "unknown descriptor options {o:#x}"),
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
/// size is `PAGE_SIZE`; 4 KiB on the supported targets by default).
pub const PAGE_SIZE: u32 = 4096;

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
        Self::checked(frame_count, frame_size, headroom, false)
    }

    /// An unaligned-mode UMEM (`XDP_UMEM_UNALIGNED_CHUNK_FLAG`): chunks of any
    /// size from 2048 bytes up, packets may start anywhere.
    pub const fn unaligned(
        frame_count: u32,
        frame_size: u32,
        headroom: u32,
    ) -> Result<Self, UmemError> {
        if frame_size < MIN_CHUNK_SIZE {
            return Err(UmemError::FrameSize(frame_size));
        }
        Self::checked(frame_count, frame_size, headroom, true)
    }

    const fn checked(
        frame_count: u32,
        frame_size: u32,
        headroom: u32,
        unaligned: bool,
    ) -> Result<Self, UmemError> {
        // The whole UMEM must be addressable in 48 bits (unaligned addresses
        // keep an offset in the top 16).
        if frame_count == 0
            || (frame_count as u64) * (frame_size as u64) > XSK_UNALIGNED_BUF_ADDR_MASK
        {
            return Err(UmemError::FrameCount(frame_count));
        }
        // The kernel keeps XDP_PACKET_HEADROOM (256) of each chunk for itself.
        if headroom >= frame_size - XDP_PACKET_HEADROOM {
            return Err(UmemError::Headroom(headroom));
        }
        Ok(UmemLayout {
            frame_count,
            frame_size,
            headroom,
            unaligned,
        })
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
    /// Total bytes.
    pub const fn len(&self) -> u64 {
        self.frame_count as u64 * self.frame_size as u64
    }
    /// Whether the UMEM has no bytes (never, for a valid layout).
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The address of frame `i` (`i * frame_size`).
    pub const fn frame_addr(&self, i: u32) -> u64 {
        i as u64 * self.frame_size as u64
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
    /// within one chunk (aligned mode) or no longer than a chunk (unaligned
    /// mode), and only known option bits.
    pub const fn check_desc(&self, desc: &XdpDesc) -> Result<FrameRange, UmemError> {
        if desc.options & !(XDP_PKT_CONTD | XDP_TX_METADATA) != 0 {
            return Err(UmemError::Options(desc.options));
        }
        self.check_range(desc.addr, desc.len)
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
        Ok(FrameRange { offset, len })
    }

    /// Checks a fill-ring address: inside the UMEM, with room for the
    /// headroom and at least one byte in its chunk.
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
