//! `asm-generic/mman.h`: memory-mapping constants (the same values on x86_64
//! and aarch64).

/// Pages may be read.
pub const PROT_READ: u32 = 0x1;
/// Pages may be written.
pub const PROT_WRITE: u32 = 0x2;

/// Share the mapping (ring mappings must be shared).
pub const MAP_SHARED: u32 = 0x01;
/// Private copy-on-write mapping.
pub const MAP_PRIVATE: u32 = 0x02;
/// Place the mapping exactly at the given address, replacing whatever was
/// mapped there.
pub const MAP_FIXED: u32 = 0x10;
/// Not backed by a file.
pub const MAP_ANONYMOUS: u32 = 0x20;
/// Do not reserve swap.
pub const MAP_NORESERVE: u32 = 0x4000;
/// Prefault the pages.
pub const MAP_POPULATE: u32 = 0x8000;
/// Back with huge pages.
pub const MAP_HUGETLB: u32 = 0x40000;
/// Place the mapping exactly at the given address, failing with `EEXIST`
/// if something is mapped there (kernel 4.17+).
pub const MAP_FIXED_NOREPLACE: u32 = 0x100000;
/// Shift of the huge page size (log2) in the flags, with `MAP_HUGETLB`.
pub const MAP_HUGE_SHIFT: u32 = 26;
/// 2 MiB huge pages.
pub const MAP_HUGE_2MB: u32 = 21 << MAP_HUGE_SHIFT;
/// 1 GiB huge pages.
pub const MAP_HUGE_1GB: u32 = 30 << MAP_HUGE_SHIFT;
