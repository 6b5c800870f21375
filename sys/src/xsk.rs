//! AF_XDP sockets: create, register a UMEM, size and map the rings, bind,
//! read statistics and options, and wake the kernel.

use core::mem::size_of;

use afxdp_core::abi::if_xdp::{
    SockaddrXdp, XdpMmapOffsets, XdpMmapOffsetsV1, XdpOptions, XdpStatistics, XdpStatisticsV1,
    XdpUmemReg, XdpUmemRegV1, XDP_MMAP_OFFSETS, XDP_OPTIONS, XDP_RX_RING, XDP_STATISTICS,
    XDP_TX_RING, XDP_UMEM_COMPLETION_RING, XDP_UMEM_FILL_RING, XDP_UMEM_REG,
};
use afxdp_core::abi::mman::{MAP_POPULATE, MAP_SHARED, PROT_READ, PROT_WRITE};
use afxdp_core::abi::socket::{AF_XDP, MSG_DONTWAIT, SOCK_RAW, SOL_XDP};

use crate::mm::Mmap;
use crate::socket;
use crate::{BorrowedFd, Errno, OwnedFd, Result};

/// `socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0)`.
///
/// Needs no capability (only `CAP_NET_RAW` on kernels before 5.x that
/// checked it at bind time).
pub fn socket() -> Result<OwnedFd> {
    socket::socket(AF_XDP, SOCK_RAW, 0)
}

/// `XDP_UMEM_REG` with the 32-byte struct (flags, `tx_metadata_len`):
/// kernel 5.4+.
pub fn umem_reg(fd: BorrowedFd<'_>, reg: &XdpUmemReg) -> Result<()> {
    socket::setsockopt(fd, SOL_XDP, XDP_UMEM_REG, reg)
}

/// `XDP_UMEM_REG` with the 24-byte struct every AF_XDP kernel accepts.
pub fn umem_reg_v1(fd: BorrowedFd<'_>, reg: &XdpUmemRegV1) -> Result<()> {
    socket::setsockopt(fd, SOL_XDP, XDP_UMEM_REG, reg)
}

/// Which ring a size or mapping is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RingKind {
    /// Kernel to user: received descriptors.
    Rx,
    /// User to kernel: descriptors to send.
    Tx,
    /// User to kernel: free frames for reception.
    Fill,
    /// Kernel to user: frames whose transmission is complete.
    Completion,
}

impl RingKind {
    /// The setsockopt that sizes this ring.
    pub const fn sockopt(self) -> i32 {
        match self {
            RingKind::Rx => XDP_RX_RING,
            RingKind::Tx => XDP_TX_RING,
            RingKind::Fill => XDP_UMEM_FILL_RING,
            RingKind::Completion => XDP_UMEM_COMPLETION_RING,
        }
    }
    /// The mmap page offset of this ring.
    pub const fn pgoff(self) -> u64 {
        use afxdp_core::abi::if_xdp::*;
        match self {
            RingKind::Rx => XDP_PGOFF_RX_RING,
            RingKind::Tx => XDP_PGOFF_TX_RING,
            RingKind::Fill => XDP_UMEM_PGOFF_FILL_RING,
            RingKind::Completion => XDP_UMEM_PGOFF_COMPLETION_RING,
        }
    }
    /// Bytes of one entry: a descriptor for RX/TX, an address for fill and
    /// completion.
    pub const fn entry_size(self) -> usize {
        match self {
            RingKind::Rx | RingKind::Tx => size_of::<afxdp_core::abi::if_xdp::XdpDesc>(),
            RingKind::Fill | RingKind::Completion => size_of::<u64>(),
        }
    }
    /// This ring's part of the mmap offsets.
    pub const fn offsets(self, off: &XdpMmapOffsets) -> afxdp_core::abi::if_xdp::XdpRingOffset {
        match self {
            RingKind::Rx => off.rx,
            RingKind::Tx => off.tx,
            RingKind::Fill => off.fr,
            RingKind::Completion => off.cr,
        }
    }
    /// A short lower-case name (`"fill"`).
    pub const fn name(self) -> &'static str {
        match self {
            RingKind::Rx => "rx",
            RingKind::Tx => "tx",
            RingKind::Fill => "fill",
            RingKind::Completion => "completion",
        }
    }
}

/// Sets the number of entries of one ring (a power of two; `EINVAL`
/// otherwise, `EBUSY` once bound or already set).
pub fn set_ring_size(fd: BorrowedFd<'_>, ring: RingKind, entries: u32) -> Result<()> {
    socket::setsockopt(fd, SOL_XDP, ring.sockopt(), &entries)
}

/// `XDP_MMAP_OFFSETS`, upgraded from the pre-5.4 form when the kernel
/// returns that.
pub fn mmap_offsets(fd: BorrowedFd<'_>) -> Result<XdpMmapOffsets> {
    let (off, len) = socket::getsockopt::<XdpMmapOffsets>(fd, SOL_XDP, XDP_MMAP_OFFSETS)?;
    if len == size_of::<XdpMmapOffsets>() {
        Ok(off)
    } else if len == size_of::<XdpMmapOffsetsV1>() {
        let (v1, _) = socket::getsockopt::<XdpMmapOffsetsV1>(fd, SOL_XDP, XDP_MMAP_OFFSETS)?;
        Ok(v1.upgrade())
    } else {
        Err(Errno::EINVAL)
    }
}

/// Maps one ring of `entries` entries: `MAP_SHARED | MAP_POPULATE`,
/// read-write, at the ring's page offset on `fd` (the socket that owns the
/// ring: for fill and completion, the one they were sized on). `EINVAL` if
/// the kernel's offsets put a shared word anywhere but before the
/// descriptors.
pub fn mmap_ring(
    fd: BorrowedFd<'_>,
    ring: RingKind,
    off: &XdpMmapOffsets,
    entries: u32,
) -> Result<Mmap> {
    let o = ring.offsets(off);
    // The three shared words sit before the descriptors; offsets that say
    // otherwise (an emulated or broken AF_XDP) would point outside the
    // mapping.
    let word_ok = |w: u64| w.is_multiple_of(4) && w.checked_add(4).is_some_and(|end| end <= o.desc);
    if !(word_ok(o.producer) && word_ok(o.consumer) && word_ok(o.flags)) {
        return Err(Errno::EINVAL);
    }
    let desc = o.desc as usize;
    let len = (entries as usize)
        .checked_mul(ring.entry_size())
        .and_then(|n| n.checked_add(desc))
        .ok_or(Errno::EINVAL)?;
    Mmap::map_fd(
        fd,
        len,
        PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_POPULATE,
        ring.pgoff(),
    )
}

/// `bind` to a netdev queue.
pub fn bind(fd: BorrowedFd<'_>, addr: &SockaddrXdp) -> Result<()> {
    socket::bind(fd, addr)
}

/// `XDP_STATISTICS`; kernels before 5.9 fill only the first three counters.
pub fn statistics(fd: BorrowedFd<'_>) -> Result<XdpStatistics> {
    let (stats, len) = socket::getsockopt::<XdpStatistics>(fd, SOL_XDP, XDP_STATISTICS)?;
    if len == size_of::<XdpStatistics>() {
        Ok(stats)
    } else if len == size_of::<XdpStatisticsV1>() {
        let (v1, _) = socket::getsockopt::<XdpStatisticsV1>(fd, SOL_XDP, XDP_STATISTICS)?;
        Ok(v1.into())
    } else {
        Err(Errno::EINVAL)
    }
}

/// `XDP_OPTIONS` (kernel 5.3+): whether the socket is in zero-copy mode.
pub fn options(fd: BorrowedFd<'_>) -> Result<XdpOptions> {
    socket::getsockopt::<XdpOptions>(fd, SOL_XDP, XDP_OPTIONS).map(|(o, _)| o)
}

/// Kicks TX processing: `sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0)`.
///
/// `EAGAIN`, `EBUSY` and `ENOBUFS` mean the kernel is busy and will be kicked
/// again; `ENETDOWN` means the netdev went down.
pub fn wakeup_tx(fd: BorrowedFd<'_>) -> Result<()> {
    socket::send(fd, &[], MSG_DONTWAIT).map(drop)
}

/// Kicks RX (fill ring) processing: `recvfrom(fd, NULL, 0, MSG_DONTWAIT, ..)`.
pub fn wakeup_rx(fd: BorrowedFd<'_>) -> Result<()> {
    socket::recv(fd, &mut [], MSG_DONTWAIT).map(drop)
}
