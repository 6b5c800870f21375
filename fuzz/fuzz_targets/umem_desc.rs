//! UMEM descriptor validation on arbitrary geometries and descriptors: a
//! range that passes is inside the UMEM (and, aligned, inside one chunk;
//! unaligned, inside one page).
#![no_main]

use afxdp_core::abi::if_xdp::XdpDesc;
use afxdp_core::umem::{UmemLayout, HUGE_PAGE_SIZE, PAGE_SIZE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<9>() else {
        return;
    };
    let count = u32::from_le_bytes([head[0], head[1], head[2], 0]).max(1);
    let size = 2048u32 << (head[3] % 2);
    let unaligned = head[4] & 1 == 1;
    let layout = if unaligned {
        let page = if head[7] & 1 == 1 {
            HUGE_PAGE_SIZE
        } else {
            PAGE_SIZE
        };
        UmemLayout::unaligned(
            count,
            2048 + u32::from(head[5]) * 16,
            u32::from(head[6]),
            page,
        )
    } else {
        UmemLayout::aligned(count, size, u32::from(head[6]))
    };
    let Ok(l) = layout else { return };
    // Frames lie inside the UMEM and inside one page, and map back to their
    // index.
    for i in [0, u32::from(head[8]) % l.frame_count(), l.frame_count() - 1] {
        let (a, fs) = (l.frame_addr(i), u64::from(l.frame_size()));
        let page = u64::from(l.page_size());
        assert!(a + fs <= l.len());
        assert_eq!(a / page, (a + fs - 1) / page);
        assert_eq!(l.frame_index(a), Some(i));
    }
    for c in rest.chunks_exact(16) {
        let d = XdpDesc {
            addr: u64::from_le_bytes(c[0..8].try_into().unwrap()),
            len: u32::from_le_bytes(c[8..12].try_into().unwrap()),
            options: u32::from_le_bytes(c[12..16].try_into().unwrap()),
        };
        if let Ok(r) = l.check_desc(&d) {
            assert!(r.offset + u64::from(r.len) <= l.len());
            assert!(r.len <= l.frame_size());
            if r.len > 0 {
                let last = r.offset + u64::from(r.len) - 1;
                if l.is_unaligned() {
                    let page = u64::from(l.page_size());
                    assert_eq!(r.offset / page, last / page);
                } else {
                    let fs = u64::from(l.frame_size());
                    assert_eq!(r.offset / fs, last / fs);
                }
            }
        }
        // An RX descriptor that is accepted stays inside the one frame it
        // names, so two frame tokens never overlap.
        if let Ok(r) = l.check_rx_desc(&d) {
            let i = l
                .frame_index(d.addr)
                .expect("an accepted RX descriptor names a frame");
            let start = l.frame_addr(i);
            assert!(r.offset >= start);
            assert!(r.offset + u64::from(r.len) <= start + u64::from(l.frame_size()));
        }
        if let Ok(base) = l.check_completion_addr(d.addr) {
            assert_eq!(l.frame_addr(l.frame_index(base).unwrap()), base);
        }
        let _ = l.check_fill_addr(d.addr);
    }
});
