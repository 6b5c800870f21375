//! The ring protocol against its model (`afxdp_core::ring::RingCheck`, the
//! same model the property tests use), under arbitrary operation sequences,
//! ring sizes and starting indices (to cross the 2^32 wrap).
#![no_main]

use afxdp_core::ring::{split_slices, RingCheck, RingIndices, RingOp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&size_log2, rest)) = data.split_first() else {
        return;
    };
    let Some((start, ops)) = rest.split_first_chunk::<4>() else {
        return;
    };
    let mut idx = RingIndices::starting_at(u32::from_le_bytes(*start));
    let mut slots = vec![0u64; 1 << (size_log2 % 8)];
    let (mut prod, mut cons, flags) = split_slices(&mut idx, &mut slots).unwrap();
    let mut model = RingCheck::new();
    for op in ops.chunks_exact(3) {
        let (a, b) = (u32::from(op[1]), u32::from(op[2]));
        let op = match op[0] % 3 {
            0 => RingOp::Produce { n: a, submit: b },
            1 => RingOp::Consume { n: a, release: b },
            _ => RingOp::SetNeedWakeup(a & 1 == 1),
        };
        if let Err(v) = model.apply(op, &mut prod, &mut cons, flags) {
            panic!("{op:?}: {v}");
        }
    }
});
