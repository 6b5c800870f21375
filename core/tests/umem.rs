//! UMEM geometry, descriptor validation in both chunk modes, and the frame
//! stack.

use afxdp_core::abi::if_xdp::{XdpDesc, XDP_PKT_CONTD};
use afxdp_core::umem::{FrameStack, UmemError, UmemLayout};
use proptest::prelude::*;

fn desc(addr: u64, len: u32) -> XdpDesc {
    XdpDesc {
        addr,
        len,
        options: 0,
    }
}

#[test]
fn aligned_layout_rejects_bad_geometry() {
    assert_eq!(
        UmemLayout::aligned(16, 3000, 0),
        Err(UmemError::FrameSize(3000))
    );
    assert_eq!(
        UmemLayout::aligned(16, 1024, 0),
        Err(UmemError::FrameSize(1024))
    );
    assert_eq!(
        UmemLayout::aligned(16, 8192, 0),
        Err(UmemError::FrameSize(8192))
    );
    assert_eq!(
        UmemLayout::aligned(0, 2048, 0),
        Err(UmemError::FrameCount(0))
    );
    assert_eq!(
        UmemLayout::aligned(16, 2048, 2048),
        Err(UmemError::Headroom(2048))
    );
    assert_eq!(
        UmemLayout::aligned(16, 2048, 1792),
        Err(UmemError::Headroom(1792)),
        "the kernel keeps 256 bytes of each chunk"
    );
    assert!(UmemLayout::aligned(16, 2048, 1791).is_ok());
    let l = UmemLayout::aligned(16, 4096, 256).unwrap();
    assert_eq!(l.len(), 65536);
    assert_eq!(l.frame_addr(3), 12288);
    assert!(UmemLayout::unaligned(16, 3000, 0).is_ok());
}

#[test]
fn aligned_descriptors_must_stay_in_their_chunk() {
    let l = UmemLayout::aligned(4, 2048, 0).unwrap();
    assert_eq!(l.check_desc(&desc(0, 2048)).unwrap().len, 2048);
    assert_eq!(l.check_desc(&desc(2048 + 100, 60)).unwrap().offset, 2148);
    assert_eq!(
        l.check_desc(&desc(2000, 100)),
        Err(UmemError::CrossesChunk {
            addr: 2000,
            len: 100
        })
    );
    assert_eq!(
        l.check_desc(&desc(8192, 1)),
        Err(UmemError::AddrOutOfRange(8192))
    );
    assert_eq!(
        l.check_desc(&XdpDesc {
            addr: 0,
            len: 1,
            options: 0x80
        }),
        Err(UmemError::Options(0x80))
    );
    assert!(l
        .check_desc(&XdpDesc {
            addr: 0,
            len: 1,
            options: XDP_PKT_CONTD
        })
        .is_ok());
    assert_eq!(l.chunk_of(2048 + 777), 2048);
}

#[test]
fn unaligned_addresses_carry_an_offset_in_the_top_bits() {
    let l = UmemLayout::unaligned(4, 3000, 0).unwrap();
    let addr = (100u64 << 48) | 3000; // base 3000, offset 100
    assert_eq!(l.resolve(addr), 3100);
    assert_eq!(l.chunk_of(addr), 3000);
    // Crossing a chunk boundary is fine in unaligned mode...
    assert!(l.check_desc(&desc(2900, 200)).is_ok());
    // ...but not running off the end or being longer than a chunk.
    assert_eq!(
        l.check_desc(&desc(11_950, 100)),
        Err(UmemError::LenOutOfRange {
            addr: 11_950,
            len: 100
        })
    );
    assert_eq!(
        l.check_desc(&desc(0, 3001)),
        Err(UmemError::CrossesChunk { addr: 0, len: 3001 })
    );
}

#[test]
fn fill_addresses_need_room_in_their_chunk() {
    let l = UmemLayout::aligned(4, 2048, 0).unwrap();
    assert_eq!(l.check_fill_addr(2048).unwrap().len, 2048);
    assert_eq!(l.check_fill_addr(2048 + 48).unwrap().len, 2000);
    assert!(l.check_fill_addr(4 * 2048).is_err());
}

#[test]
fn frame_stack_hands_out_each_frame_once() {
    let l = UmemLayout::aligned(8, 2048, 0).unwrap();
    let mut storage = [0u64; 8];
    let mut s = FrameStack::new(&mut storage);
    assert_eq!(s.push_all_frames(&l), 8);
    assert!(!s.push(0), "a full stack refuses a ninth frame");
    let mut seen: Vec<u64> = std::iter::from_fn(|| s.pop()).collect();
    assert_eq!(seen[0], 0, "frame 0 is on top");
    seen.sort();
    assert_eq!(seen, (0..8).map(|i| i * 2048).collect::<Vec<_>>());
    assert!(s.is_empty());
    assert_eq!(s.pop(), None);
}

proptest! {
    /// Whatever the descriptor, a range that passes the check is inside the
    /// UMEM, and in aligned mode inside one chunk.
    #[test]
    fn checked_ranges_are_always_inside(
        unaligned in any::<bool>(),
        count in 1u32..64,
        size_pow in 11u32..=12,
        addr in any::<u64>(),
        len in any::<u32>(),
    ) {
        let size = 1u32 << size_pow;
        let l = if unaligned {
            UmemLayout::unaligned(count, size, 0).unwrap()
        } else {
            UmemLayout::aligned(count, size, 0).unwrap()
        };
        for a in [addr, addr % (l.len() + 10), (addr % 8) << 48 | (addr % l.len())] {
            if let Ok(r) = l.check_desc(&desc(a, len)) {
                prop_assert!(r.offset + u64::from(r.len) <= l.len());
                prop_assert!(r.len <= size);
                if !unaligned {
                    prop_assert_eq!(r.offset / u64::from(size), (r.offset + u64::from(r.len.max(1)) - 1) / u64::from(size));
                }
            }
        }
    }
}
