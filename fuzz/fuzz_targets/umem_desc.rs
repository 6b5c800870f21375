//! UMEM descriptor validation on arbitrary geometries and descriptors: a
//! range that passes is inside the UMEM (and, aligned, inside one chunk).
#![no_main]

use afxdp_core::abi::if_xdp::XdpDesc;
use afxdp_core::umem::UmemLayout;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<9>() else {
        return;
    };
    let count = u32::from_le_bytes([head[0], head[1], head[2], 0]).max(1);
    let size = 2048u32 << (head[3] % 2);
    let unaligned = head[4] & 1 == 1;
    let layout = if unaligned {
        UmemLayout::unaligned(count, 2048 + u32::from(head[5]) * 16, u32::from(head[6]))
    } else {
        UmemLayout::aligned(count, size, u32::from(head[6]))
    };
    let Ok(l) = layout else { return };
    for c in rest.chunks_exact(16) {
        let d = XdpDesc {
            addr: u64::from_le_bytes(c[0..8].try_into().unwrap()),
            len: u32::from_le_bytes(c[8..12].try_into().unwrap()),
            options: u32::from_le_bytes(c[12..16].try_into().unwrap()),
        };
        if let Ok(r) = l.check_desc(&d) {
            assert!(r.offset + u64::from(r.len) <= l.len());
            assert!(r.len <= l.frame_size());
            if !l.is_unaligned() && r.len > 0 {
                let fs = u64::from(l.frame_size());
                assert_eq!(r.offset / fs, (r.offset + u64::from(r.len) - 1) / fs);
            }
        }
        let _ = l.check_fill_addr(d.addr);
    }
});
