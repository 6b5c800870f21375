//! UMEM geometry, descriptor validation in both chunk modes, and the frame
//! stack.

use afxdp_core::abi::if_xdp::{XdpDesc, XDP_PKT_CONTD};
use afxdp_core::umem::{FrameStack, UmemError, UmemLayout, HUGE_PAGE_SIZE, PAGE_SIZE};
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
    assert!(UmemLayout::unaligned(16, 3000, 0, PAGE_SIZE).is_ok());
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
    // One 3000-byte chunk per 4 KiB page: frames at 0, 4096, 8192, 12288.
    let l = UmemLayout::unaligned(4, 3000, 0, PAGE_SIZE).unwrap();
    assert_eq!(l.len(), 12288 + 3000);
    let addr = (100u64 << 48) | 4096; // base 4096, offset 100
    assert_eq!(l.resolve(addr), 4196);
    assert_eq!(l.chunk_of(addr), 4096);
    assert_eq!(l.frame_index(addr), Some(1));
    // Data may start anywhere and run past a chunk's end within a page...
    assert!(l.check_desc(&desc(2900, 200)).is_ok());
    // ...but not across a page boundary, off the end, or longer than a chunk.
    assert_eq!(
        l.check_desc(&desc(4000, 200)),
        Err(UmemError::CrossesPage {
            addr: 4000,
            len: 200,
            page_size: 4096
        })
    );
    // The check is on the resolved address (base plus offset).
    assert_eq!(
        l.check_desc(&desc((100u64 << 48) | 3900, 200)),
        Err(UmemError::CrossesPage {
            addr: 4000,
            len: 200,
            page_size: 4096
        })
    );
    assert_eq!(
        l.check_desc(&desc((196u64 << 48) | 3900, 200))
            .unwrap()
            .offset,
        4096
    );
    assert_eq!(
        l.check_desc(&desc(15_250, 100)),
        Err(UmemError::LenOutOfRange {
            addr: 15_250,
            len: 100
        })
    );
    assert_eq!(
        l.check_desc(&desc(0, 3001)),
        Err(UmemError::CrossesChunk { addr: 0, len: 3001 })
    );
    // A fill address needs its whole chunk inside one page.
    assert_eq!(l.check_fill_addr(8192).unwrap().len, 3000);
    assert_eq!(
        l.check_fill_addr(3000),
        Err(UmemError::CrossesPage {
            addr: 3000,
            len: 3000,
            page_size: 4096
        })
    );
}

/// Checks every frame of `l`: inside one page, inside `len`, in increasing
/// (so distinct) order, and mapped back to its index by `frame_index`.
fn assert_frames_stay_in_their_pages(l: &UmemLayout) {
    let page = u64::from(l.page_size());
    let size = u64::from(l.frame_size());
    let mut prev_end = 0;
    for i in 0..l.frame_count() {
        let a = l.frame_addr(i);
        assert_eq!(
            a / page,
            (a + size - 1) / page,
            "frame {i} at {a:#x}+{size} crosses a {page}-byte page"
        );
        assert!(
            a >= prev_end,
            "frame {i} at {a:#x} overlaps frame {}",
            i - 1
        );
        assert!(a + size <= l.len(), "frame {i} ends past len {}", l.len());
        assert_eq!(l.frame_index(a), Some(i));
        assert_eq!(l.frame_index((7u64 << 48) | a), Some(i));
        assert!(
            l.check_fill_addr(a).is_ok(),
            "frame {i} is a valid fill address"
        );
        prev_end = a + size;
    }
    assert_eq!(prev_end, l.len(), "len ends with the last frame");
}

#[test]
fn unaligned_3000_byte_chunks_never_cross_a_4k_page() {
    let l = UmemLayout::unaligned(2048, 3000, 128, PAGE_SIZE).unwrap();
    assert_eq!(l.frame_count(), 2048, "every frame asked for is there");
    assert_eq!(l.frames_per_page(), 1);
    // Packed end to end, frame 1 (3000..6000) would straddle 4096.
    assert_eq!(l.frame_addr(1), 4096);
    assert_eq!(l.len(), 2047 * 4096 + 3000);
    assert_frames_stay_in_their_pages(&l);
    // The unused tail of a page is no frame.
    assert_eq!(l.frame_index(3000), None);
    assert_eq!(l.frame_index(l.len()), None);

    let mut storage = vec![0u64; 2048];
    let mut s = FrameStack::new(&mut storage);
    assert_eq!(s.push_all_frames(&l), 2048);
    let mut got: Vec<u64> = std::iter::from_fn(|| s.pop()).collect();
    got.sort();
    assert_eq!(got, (0..2048u64).map(|i| i * 4096).collect::<Vec<_>>());
}

#[test]
fn unaligned_chunks_on_2m_huge_pages_pack_each_page() {
    // 2 MiB / 3000 = 699 chunks per page, then 152 unused bytes.
    let l = UmemLayout::unaligned(4096, 3000, 0, HUGE_PAGE_SIZE).unwrap();
    assert_eq!(l.frames_per_page(), 699);
    assert_eq!(
        l.frame_addr(1),
        3000,
        "4 KiB crossings inside a huge page are fine"
    );
    assert_eq!(l.frame_addr(698), 698 * 3000);
    assert_eq!(l.frame_addr(699), 2 << 20);
    assert_eq!(l.len(), 5 * (2 << 20) + (4096 - 5 * 699) * 3000);
    assert_frames_stay_in_their_pages(&l);

    // Jumbo chunks need huge pages.
    let l = UmemLayout::unaligned(512, 9018, 0, HUGE_PAGE_SIZE).unwrap();
    assert_eq!(l.frames_per_page(), 232);
    assert_frames_stay_in_their_pages(&l);
}

#[test]
fn unaligned_chunks_larger_than_a_page_are_refused() {
    let err = UmemLayout::unaligned(16, 9000, 0, PAGE_SIZE).unwrap_err();
    assert_eq!(
        err,
        UmemError::ChunkExceedsPage {
            frame_size: 9000,
            page_size: 4096
        }
    );
    let text = err.to_string();
    assert!(text.contains("frame size 9000"), "{text}");
    assert!(text.contains("page size 4096"), "{text}");
    assert!(text.contains("huge pages"), "{text}");
    assert!(UmemLayout::unaligned(16, 4096, 0, PAGE_SIZE).is_ok());
    assert!(UmemLayout::unaligned(16, 9000, 0, HUGE_PAGE_SIZE).is_ok());
    assert!(matches!(
        UmemLayout::unaligned(16, (2 << 20) + 1, 0, HUGE_PAGE_SIZE),
        Err(UmemError::ChunkExceedsPage { .. })
    ));
    for bad in [0, 2048, 3000, 4095, 6144, u32::MAX] {
        assert_eq!(
            UmemLayout::unaligned(16, 2048, 0, bad),
            Err(UmemError::PageSize(bad))
        );
    }
    assert_eq!(
        UmemLayout::unaligned(16, 2047, 0, PAGE_SIZE),
        Err(UmemError::FrameSize(2047))
    );
}

#[test]
fn aligned_frames_are_packed_and_indexed() {
    let l = UmemLayout::aligned(64, 2048, 0).unwrap();
    assert_eq!(l.page_size(), PAGE_SIZE);
    assert_eq!(l.frames_per_page(), 2);
    for i in 0..64 {
        assert_eq!(l.frame_addr(i), u64::from(i) * 2048);
        assert_eq!(l.frame_index(u64::from(i) * 2048 + 100), Some(i));
    }
    assert_eq!(l.len(), 64 * 2048);
    assert_eq!(l.frame_index(64 * 2048), None);
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

#[test]
fn rx_descriptors_must_name_a_whole_frame_of_their_own() {
    // Two 2048-byte frames per 4 KiB page, 256 bytes of headroom.
    let l = UmemLayout::unaligned(4, 2048, 256, PAGE_SIZE).unwrap();
    // What a correct kernel returns for fill address 0: base 0, the data at
    // an offset within the frame.
    let good = desc(512u64 << 48, 1000);
    assert_eq!(l.check_rx_desc(&good).unwrap().offset, 512);
    // Kernels 6.10-6.14 before the fix returned base = fill address +
    // headroom: 1536 bytes of room from 768 would reach into frame 1.
    let moved = desc((512u64 << 48) | 256, 60);
    assert!(
        l.check_desc(&moved).is_ok(),
        "the plain check lets it through"
    );
    assert_eq!(
        l.check_rx_desc(&moved),
        Err(UmemError::NotAFrame((512u64 << 48) | 256))
    );
    // Repaired: the headroom taken off the base, the offset kept (the data
    // is at frame 0 + 512 on those kernels).
    assert_eq!(l.repair_rx_addr((512u64 << 48) | 256), 512u64 << 48);
    assert_eq!(
        l.check_rx_desc(&desc(l.repair_rx_addr((512u64 << 48) | 256), 60))
            .unwrap()
            .offset,
        512
    );
    // A correct kernel's addresses are left alone, and so is what no
    // headroom explains.
    assert_eq!(
        l.repair_rx_addr((512u64 << 48) | 2048),
        (512u64 << 48) | 2048
    );
    assert_eq!(l.repair_rx_addr((512u64 << 48) | 100), (512u64 << 48) | 100);
    let no_headroom = UmemLayout::unaligned(4, 2048, 0, PAGE_SIZE).unwrap();
    assert_eq!(no_headroom.repair_rx_addr(256), 256);
    // Data running past the frame's end, though inside the page.
    assert_eq!(
        l.check_rx_desc(&desc(1900u64 << 48, 200)),
        Err(UmemError::CrossesChunk {
            addr: 1900,
            len: 200
        })
    );
    // Aligned mode: the chunk is the frame; any offset inside it is fine.
    let a = UmemLayout::aligned(4, 2048, 0).unwrap();
    assert_eq!(
        a.check_rx_desc(&desc(2048 + 256, 100)).unwrap().offset,
        2304
    );
    assert!(a.check_rx_desc(&desc(4 * 2048, 1)).is_err());
}

#[test]
fn completions_give_back_the_frame_they_name() {
    let l = UmemLayout::unaligned(4, 2048, 0, PAGE_SIZE).unwrap();
    assert_eq!(l.check_completion_addr(2048), Ok(2048));
    assert_eq!(l.check_completion_addr((100u64 << 48) | 2048), Ok(2048));
    assert_eq!(
        l.check_completion_addr(2048 + 64),
        Err(UmemError::NotAFrame(2048 + 64))
    );
    assert_eq!(
        l.check_completion_addr(4 * 4096),
        Err(UmemError::AddrOutOfRange(4 * 4096))
    );
    let a = UmemLayout::aligned(4, 2048, 0).unwrap();
    assert_eq!(a.check_completion_addr(2048 + 64), Ok(2048));
}

proptest! {
    /// A descriptor that passes the RX check names one frame of the
    /// layout and its bytes stay inside that frame: two accepted
    /// descriptors of different frames can never overlap.
    #[test]
    fn accepted_rx_descriptors_stay_in_their_frame(
        unaligned in any::<bool>(),
        count in 1u32..64,
        odd_size in 2048u32..=4096,
        base in any::<u64>(),
        offset in 0u64..4096,
        len in 0u32..4200,
    ) {
        let l = if unaligned {
            UmemLayout::unaligned(count, odd_size, 0, PAGE_SIZE).unwrap()
        } else {
            UmemLayout::aligned(count, 2048, 0).unwrap()
        };
        let base = base % (l.len() + 4096);
        let addr = if unaligned { (offset << 48) | base } else { base };
        if let Ok(r) = l.check_rx_desc(&desc(addr, len)) {
            let i = l.frame_index(addr).expect("an accepted descriptor names a frame");
            let start = l.frame_addr(i);
            prop_assert!(r.offset >= start);
            prop_assert!(r.offset + u64::from(r.len) <= start + u64::from(l.frame_size()));
        }
    }

    /// Whatever the descriptor, a range that passes the check is inside the
    /// UMEM, in aligned mode inside one chunk, and in unaligned mode inside
    /// one page.
    #[test]
    fn checked_ranges_are_always_inside(
        unaligned in any::<bool>(),
        count in 1u32..64,
        size_pow in 11u32..=12,
        odd_size in 2048u32..=4096,
        addr in any::<u64>(),
        len in any::<u32>(),
    ) {
        let l = if unaligned {
            UmemLayout::unaligned(count, odd_size, 0, PAGE_SIZE).unwrap()
        } else {
            UmemLayout::aligned(count, 1 << size_pow, 0).unwrap()
        };
        let size = l.frame_size();
        for a in [addr, addr % (l.len() + 10), (addr % 8) << 48 | (addr % l.len())] {
            if let Ok(r) = l.check_desc(&desc(a, len)) {
                prop_assert!(r.offset + u64::from(r.len) <= l.len());
                prop_assert!(r.len <= size);
                let last = r.offset + u64::from(r.len.max(1)) - 1;
                if unaligned {
                    prop_assert_eq!(r.offset / 4096, last / 4096);
                } else {
                    prop_assert_eq!(r.offset / u64::from(size), last / u64::from(size));
                }
            }
        }
    }

    /// For any unaligned geometry, every frame lies within one page and
    /// inside `len`, no two frames overlap, all `count` frames exist, and
    /// no more room than needed is taken: only each page's tail, too short
    /// for another chunk, is skipped.
    #[test]
    fn unaligned_frames_never_cross_a_page(
        count in 1u32..3000,
        size in 2048u32..=20_000,
        page_pow in prop::sample::select(vec![12u32, 14, 16, 21]),
    ) {
        let page = 1u32 << page_pow;
        let l = match UmemLayout::unaligned(count, size, 0, page) {
            Ok(l) => l,
            Err(e) => {
                prop_assert!(size > page);
                prop_assert_eq!(e, UmemError::ChunkExceedsPage { frame_size: size, page_size: page });
                return Ok(());
            }
        };
        prop_assert!(size <= page);
        prop_assert_eq!(l.frame_count(), count);
        prop_assert_eq!(l.frames_per_page(), page / size);
        let (page, size) = (u64::from(page), u64::from(size));
        let mut prev_end = 0u64;
        for i in 0..count {
            let a = l.frame_addr(i);
            prop_assert_eq!(a / page, (a + size - 1) / page, "frame {} at {:#x}", i, a);
            prop_assert!(a >= prev_end);
            // A frame starts a new page only when the last page is full.
            if a > prev_end {
                prop_assert_eq!(a % page, 0);
                prop_assert!(prev_end % page + size > page);
            }
            prop_assert_eq!(l.frame_index(a), Some(i));
            prop_assert!(l.check_fill_addr(a).is_ok());
            prev_end = a + size;
        }
        prop_assert_eq!(l.len(), prev_end);
    }
}
