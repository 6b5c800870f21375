//! `linux/if_xdp.h`: the AF_XDP socket ABI (address, socket options, ring
//! layout, descriptors and statistics).

use super::assert_layout;

// ---- bind flags (`sockaddr_xdp.sxdp_flags`) ----

/// Bind to a UMEM registered on another socket (`sxdp_shared_umem_fd`).
pub const XDP_SHARED_UMEM: u16 = 1 << 0;
/// Force copy mode.
pub const XDP_COPY: u16 = 1 << 1;
/// Force zero-copy mode; bind fails if the driver cannot do it.
pub const XDP_ZEROCOPY: u16 = 1 << 2;
/// Let the kernel set [`XDP_RING_NEED_WAKEUP`] instead of polling the rings
/// itself; user space must then kick it with a syscall when the flag is set.
pub const XDP_USE_NEED_WAKEUP: u16 = 1 << 3;
/// Accept multi-buffer (scatter-gather) frames, see [`XDP_PKT_CONTD`].
pub const XDP_USE_SG: u16 = 1 << 4;

// ---- UMEM registration flags (`xdp_umem_reg.flags`) ----

/// Frames may start anywhere in the UMEM, not only at chunk boundaries.
pub const XDP_UMEM_UNALIGNED_CHUNK_FLAG: u32 = 1 << 0;
/// Compute TX checksums in software when the metadata asks for it.
pub const XDP_UMEM_TX_SW_CSUM: u32 = 1 << 1;
/// `xdp_umem_reg.tx_metadata_len` is valid (kernel 6.8+).
pub const XDP_UMEM_TX_METADATA_LEN: u32 = 1 << 2;

// ---- ring flags (the `flags` word of each mapped ring) ----

/// The kernel waits for a syscall before it touches this ring again.
pub const XDP_RING_NEED_WAKEUP: u32 = 1 << 0;

// ---- socket options, level `SOL_XDP` ----

/// getsockopt: [`XdpMmapOffsets`] (or [`XdpMmapOffsetsV1`] before 5.4).
pub const XDP_MMAP_OFFSETS: i32 = 1;
/// setsockopt: number of RX ring entries (a power of two).
pub const XDP_RX_RING: i32 = 2;
/// setsockopt: number of TX ring entries (a power of two).
pub const XDP_TX_RING: i32 = 3;
/// setsockopt: register a UMEM ([`XdpUmemReg`] or [`XdpUmemRegV1`]).
pub const XDP_UMEM_REG: i32 = 4;
/// setsockopt: number of fill ring entries (a power of two).
pub const XDP_UMEM_FILL_RING: i32 = 5;
/// setsockopt: number of completion ring entries (a power of two).
pub const XDP_UMEM_COMPLETION_RING: i32 = 6;
/// getsockopt: [`XdpStatistics`] (or [`XdpStatisticsV1`] before 5.9).
pub const XDP_STATISTICS: i32 = 7;
/// getsockopt: [`XdpOptions`].
pub const XDP_OPTIONS: i32 = 8;

/// `xdp_options.flags`: the socket is bound in zero-copy mode.
pub const XDP_OPTIONS_ZEROCOPY: u32 = 1 << 0;

// ---- mmap page offsets of the four rings ----

/// mmap offset of the RX ring (on the socket fd).
pub const XDP_PGOFF_RX_RING: u64 = 0;
/// mmap offset of the TX ring (on the socket fd).
pub const XDP_PGOFF_TX_RING: u64 = 0x8000_0000;
/// mmap offset of the fill ring (on the socket that owns it).
pub const XDP_UMEM_PGOFF_FILL_RING: u64 = 0x1_0000_0000;
/// mmap offset of the completion ring (on the socket that owns it).
pub const XDP_UMEM_PGOFF_COMPLETION_RING: u64 = 0x1_8000_0000;

// ---- unaligned-chunk addresses ----

/// In unaligned mode a descriptor address carries an offset in its top bits.
pub const XSK_UNALIGNED_BUF_OFFSET_SHIFT: u32 = 48;
/// In unaligned mode, the bits of an address that hold the base address.
pub const XSK_UNALIGNED_BUF_ADDR_MASK: u64 = (1 << XSK_UNALIGNED_BUF_OFFSET_SHIFT) - 1;

// ---- descriptor options (`xdp_desc.options`) ----

/// This descriptor is not the last buffer of its packet (multi-buffer).
pub const XDP_PKT_CONTD: u32 = 1 << 0;
/// A TX descriptor carries `xsk_tx_metadata` in the headroom before it.
pub const XDP_TX_METADATA: u32 = 1 << 1;

/// TX metadata flag: request a TX timestamp.
pub const XDP_TXMD_FLAGS_TIMESTAMP: u64 = 1 << 0;
/// TX metadata flag: request checksum offload.
pub const XDP_TXMD_FLAGS_CHECKSUM: u64 = 1 << 1;

/// `struct sockaddr_xdp`: the address an AF_XDP socket binds to.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockaddrXdp {
    /// Always `AF_XDP` (44).
    pub sxdp_family: u16,
    /// Bind flags (`XDP_SHARED_UMEM`, `XDP_COPY`, ...).
    pub sxdp_flags: u16,
    /// Interface index of the netdev.
    pub sxdp_ifindex: u32,
    /// Queue of that netdev.
    pub sxdp_queue_id: u32,
    /// With `XDP_SHARED_UMEM`: the fd of the socket that registered the UMEM.
    pub sxdp_shared_umem_fd: u32,
}
assert_layout!(SockaddrXdp, size = 16,
    sxdp_family @ 0, sxdp_flags @ 2, sxdp_ifindex @ 4, sxdp_queue_id @ 8,
    sxdp_shared_umem_fd @ 12);

/// `struct xdp_ring_offset`: where a ring's parts sit in its mapping.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpRingOffset {
    /// Offset of the producer index (`u32`).
    pub producer: u64,
    /// Offset of the consumer index (`u32`).
    pub consumer: u64,
    /// Offset of the first descriptor.
    pub desc: u64,
    /// Offset of the flags word (`u32`).
    pub flags: u64,
}
assert_layout!(XdpRingOffset, size = 32, producer @ 0, consumer @ 8, desc @ 16, flags @ 24);

/// `struct xdp_mmap_offsets`: the layout of all four rings.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpMmapOffsets {
    /// RX ring.
    pub rx: XdpRingOffset,
    /// TX ring.
    pub tx: XdpRingOffset,
    /// Fill ring.
    pub fr: XdpRingOffset,
    /// Completion ring.
    pub cr: XdpRingOffset,
}
assert_layout!(XdpMmapOffsets, size = 128, rx @ 0, tx @ 32, fr @ 64, cr @ 96);

/// The ring offsets of kernels before 5.4, which had no flags word.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpRingOffsetV1 {
    /// Offset of the producer index.
    pub producer: u64,
    /// Offset of the consumer index.
    pub consumer: u64,
    /// Offset of the first descriptor.
    pub desc: u64,
}
assert_layout!(XdpRingOffsetV1, size = 24, producer @ 0, consumer @ 8, desc @ 16);

/// The mmap offsets of kernels before 5.4 (what `XDP_MMAP_OFFSETS` returns
/// when its `optlen` comes back as 96).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpMmapOffsetsV1 {
    /// RX ring.
    pub rx: XdpRingOffsetV1,
    /// TX ring.
    pub tx: XdpRingOffsetV1,
    /// Fill ring.
    pub fr: XdpRingOffsetV1,
    /// Completion ring.
    pub cr: XdpRingOffsetV1,
}
assert_layout!(XdpMmapOffsetsV1, size = 96, rx @ 0, tx @ 24, fr @ 48, cr @ 72);

impl XdpRingOffsetV1 {
    /// The current form of these offsets. Kernels of this era have no flags
    /// word and never set need-wakeup, so `flags` points at the padding just
    /// after the consumer index, which stays zero.
    pub const fn upgrade(self) -> XdpRingOffset {
        XdpRingOffset {
            producer: self.producer,
            consumer: self.consumer,
            desc: self.desc,
            flags: self.consumer + core::mem::size_of::<u32>() as u64,
        }
    }
}

impl XdpMmapOffsetsV1 {
    /// The current form of these offsets (see [`XdpRingOffsetV1::upgrade`]).
    pub const fn upgrade(self) -> XdpMmapOffsets {
        XdpMmapOffsets {
            rx: self.rx.upgrade(),
            tx: self.tx.upgrade(),
            fr: self.fr.upgrade(),
            cr: self.cr.upgrade(),
        }
    }
}

/// `struct xdp_umem_reg` as kernels before 5.4 accept it (24 bytes: no flags).
///
/// Every kernel with AF_XDP accepts this size; the unaligned-chunk flag needs
/// the longer [`XdpUmemReg`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpUmemRegV1 {
    /// Start of the UMEM in this process.
    pub addr: u64,
    /// Length of the UMEM in bytes.
    pub len: u64,
    /// Size of one chunk (frame).
    pub chunk_size: u32,
    /// Headroom the kernel leaves before each received packet.
    pub headroom: u32,
}
assert_layout!(XdpUmemRegV1, size = 24, addr @ 0, len @ 8, chunk_size @ 16, headroom @ 20);

/// `struct xdp_umem_reg` (32 bytes): with `flags` (kernel 5.4+) and
/// `tx_metadata_len` (kernel 6.8+).
///
/// Kernels 5.4 to 6.7 read the same 32 bytes with the last four as padding,
/// so leave `tx_metadata_len` zero unless `flags` has
/// [`XDP_UMEM_TX_METADATA_LEN`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpUmemReg {
    /// Start of the UMEM in this process.
    pub addr: u64,
    /// Length of the UMEM in bytes.
    pub len: u64,
    /// Size of one chunk (frame).
    pub chunk_size: u32,
    /// Headroom the kernel leaves before each received packet.
    pub headroom: u32,
    /// `XDP_UMEM_*` flags.
    pub flags: u32,
    /// Bytes of TX metadata before each TX frame (with `XDP_UMEM_TX_METADATA_LEN`).
    pub tx_metadata_len: u32,
}
assert_layout!(XdpUmemReg, size = 32,
    addr @ 0, len @ 8, chunk_size @ 16, headroom @ 20, flags @ 24, tx_metadata_len @ 28);

/// `struct xdp_statistics` as kernels before 5.9 return it (three counters).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpStatisticsV1 {
    /// Frames dropped for reasons other than an invalid descriptor.
    pub rx_dropped: u64,
    /// Frames dropped because of an invalid fill descriptor.
    pub rx_invalid_descs: u64,
    /// TX descriptors the kernel rejected as invalid.
    pub tx_invalid_descs: u64,
}
assert_layout!(XdpStatisticsV1, size = 24, rx_dropped @ 0, rx_invalid_descs @ 8, tx_invalid_descs @ 16);

/// `struct xdp_statistics`: the socket's drop and starvation counters.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpStatistics {
    /// Frames dropped for reasons other than an invalid descriptor.
    pub rx_dropped: u64,
    /// Frames dropped because of an invalid fill descriptor.
    pub rx_invalid_descs: u64,
    /// TX descriptors the kernel rejected as invalid.
    pub tx_invalid_descs: u64,
    /// Frames dropped because the RX ring was full.
    pub rx_ring_full: u64,
    /// Times the kernel found the fill ring empty.
    pub rx_fill_ring_empty_descs: u64,
    /// Times the kernel found the TX ring empty when woken.
    pub tx_ring_empty_descs: u64,
}
assert_layout!(XdpStatistics, size = 48,
    rx_dropped @ 0, rx_invalid_descs @ 8, tx_invalid_descs @ 16, rx_ring_full @ 24,
    rx_fill_ring_empty_descs @ 32, tx_ring_empty_descs @ 40);

impl From<XdpStatisticsV1> for XdpStatistics {
    fn from(v1: XdpStatisticsV1) -> Self {
        XdpStatistics {
            rx_dropped: v1.rx_dropped,
            rx_invalid_descs: v1.rx_invalid_descs,
            tx_invalid_descs: v1.tx_invalid_descs,
            ..XdpStatistics::default()
        }
    }
}

/// `struct xdp_options`: what `XDP_OPTIONS` reports about a bound socket.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpOptions {
    /// `XDP_OPTIONS_*` flags.
    pub flags: u32,
}
assert_layout!(XdpOptions, size = 4, flags @ 0);

/// `struct xdp_desc`: one RX or TX descriptor.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpDesc {
    /// Address of the packet data, as an offset into the UMEM.
    pub addr: u64,
    /// Length of the packet data.
    pub len: u32,
    /// `XDP_PKT_CONTD`, `XDP_TX_METADATA`.
    pub options: u32,
}
assert_layout!(XdpDesc, size = 16, addr @ 0, len @ 8, options @ 12);
