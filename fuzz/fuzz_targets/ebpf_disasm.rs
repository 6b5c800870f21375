//! The eBPF disassembler on arbitrary instruction slots: never panics, and
//! covers every slot once.
#![no_main]

use afxdp_core::abi::bpf::BpfInsn;
use afxdp_core::ebpf::{decode, disassemble};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let insns: Vec<BpfInsn> = data
        .chunks_exact(8)
        .map(|c| BpfInsn::from_bytes(c.try_into().unwrap()))
        .collect();
    let mut out = String::new();
    disassemble(&insns, &mut out).unwrap();
    let mut i = 0;
    while let Some(d) = decode(&insns, i) {
        assert!(d.slots_consumed() >= 1);
        i += d.slots_consumed();
    }
    assert_eq!(i, insns.len());
});
