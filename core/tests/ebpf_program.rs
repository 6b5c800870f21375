//! The embedded redirect programs, slot by slot against the spec
//! (`xdp-redirect-program.md`), and their control flow.

use afxdp_core::abi::bpf::{BpfInsn, XDP_PASS};
use afxdp_core::ebpf::opcode::{BPF_CALL, BPF_EXIT, BPF_JMP, BPF_JMP32, BPF_PSEUDO_MAP_FD};
use afxdp_core::ebpf::{decode, RedirectProgram, RedirectVariant, LD_IMM64_CODE};
use proptest::prelude::*;

/// A slot from the spec's columns.
fn slot(code: u8, regs: u8, off: i16, imm: i32) -> BpfInsn {
    BpfInsn {
        code,
        regs,
        off,
        imm,
    }
}

#[test]
fn the_fallback_program_is_the_spec_table() {
    let fd = 7;
    let prog = RedirectProgram::new(RedirectVariant::Fallback, fd);
    let spec = [
        slot(0x61, 0x12, 16, 0), // r2 = *(u32 *)(r1 + 16)
        slot(0x18, 0x11, 0, fd), // r1 = map fd, src PSEUDO_MAP_FD
        slot(0x00, 0x00, 0, 0),  // upper 32 bits
        slot(0xb7, 0x03, 0, 2),  // r3 = XDP_PASS
        slot(0x85, 0x00, 0, 51), // call bpf_redirect_map
        slot(0x95, 0x00, 0, 0),  // exit
    ];
    assert_eq!(prog.insns().len(), spec.len());
    for (i, (got, want)) in prog.insns().iter().zip(&spec).enumerate() {
        assert_eq!(got, want, "slot {i}");
        assert_eq!(got.to_bytes(), want.to_bytes(), "slot {i}");
    }
    assert_eq!(prog.map_fd_slots(), &[1]);
    assert_eq!(prog.insns()[1].imm, fd);
    assert_eq!(prog.insns()[2].to_bytes(), [0; 8]);
}

#[test]
fn the_fallback_program_is_these_48_bytes() {
    let prog = RedirectProgram::new(RedirectVariant::Fallback, 0x0403_0201);
    let bytes: Vec<u8> = prog.insns().iter().flat_map(|i| i.to_bytes()).collect();
    assert_eq!(
        bytes,
        [
            0x61, 0x12, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, //
            0x18, 0x11, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, //
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
            0xb7, 0x03, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, //
            0x85, 0x00, 0x00, 0x00, 0x33, 0x00, 0x00, 0x00, //
            0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
        ]
    );
}

#[test]
fn the_lookup_program_looks_up_then_redirects_or_passes() {
    let fd = 9;
    let prog = RedirectProgram::new(RedirectVariant::Lookup, fd);
    let spec = [
        slot(0x61, 0x12, 16, 0),       //  0: r2 = ctx->rx_queue_index
        slot(0x63, 0x2a, -4, 0),       //  1: *(u32 *)(r10 - 4) = r2
        slot(0xbf, 0xa2, 0, 0),        //  2: r2 = r10
        slot(0x07, 0x02, 0, -4),       //  3: r2 += -4       (r2 = &key)
        slot(0x18, 0x11, 0, fd),       //  4: r1 = map
        slot(0x00, 0x00, 0, 0),        //  5:   (upper half)
        slot(0x85, 0x00, 0, 1),        //  6: call bpf_map_lookup_elem
        slot(0x15, 0x00, 6, 0),        //  7: if r0 == 0 goto 14
        slot(0x61, 0xa2, -4, 0),       //  8: r2 = *(u32 *)(r10 - 4)  (key)
        slot(0x18, 0x11, 0, fd),       //  9: r1 = map
        slot(0x00, 0x00, 0, 0),        // 10:   (upper half)
        slot(0xb7, 0x03, 0, 0),        // 11: r3 = 0         (flags)
        slot(0x85, 0x00, 0, 51),       // 12: call bpf_redirect_map
        slot(0x95, 0x00, 0, 0),        // 13: exit           (its verdict)
        slot(0xb7, 0x00, 0, XDP_PASS), // 14: r0 = XDP_PASS
        slot(0x95, 0x00, 0, 0),        // 15: exit
    ];
    assert_eq!(prog.insns().len(), spec.len());
    for (i, (got, want)) in prog.insns().iter().zip(&spec).enumerate() {
        assert_eq!(got, want, "slot {i}");
    }
    assert_eq!(prog.map_fd_slots(), &[4, 9]);
}

/// Every instruction start in `insns`, as a bitmap.
fn instruction_starts(insns: &[BpfInsn]) -> Vec<bool> {
    let mut starts = vec![false; insns.len()];
    let mut i = 0;
    while let Some(d) = decode(insns, i) {
        starts[i] = true;
        i += d.slots_consumed();
    }
    starts
}

#[test]
fn every_jump_lands_on_an_instruction_and_every_path_exits() {
    for v in RedirectVariant::ALL {
        let prog = RedirectProgram::new(v, 3);
        let insns = prog.insns();
        let starts = instruction_starts(insns);
        for (i, insn) in insns.iter().enumerate() {
            if !starts[i] {
                continue;
            }
            let class = insn.code & 0x07;
            let op = insn.code & 0xf0;
            let is_jump =
                (class == BPF_JMP || class == BPF_JMP32) && op != BPF_CALL && op != BPF_EXIT;
            if is_jump {
                let target = i as isize + 1 + insn.off as isize;
                assert!(
                    (0..insns.len() as isize).contains(&target) && starts[target as usize],
                    "{v}: jump at {i} to {target}"
                );
                assert!(target > i as isize, "{v}: jump at {i} goes backwards");
            }
        }
        // No fall-through off the end: the last instruction is `exit`.
        assert_eq!(
            insns.last().map(|i| i.code),
            Some(BPF_JMP | BPF_EXIT),
            "{v}"
        );
    }
}

#[test]
fn variants_have_names_and_a_minimum_kernel() {
    assert_eq!(
        RedirectVariant::from_name("fallback"),
        Some(RedirectVariant::Fallback)
    );
    assert_eq!(
        RedirectVariant::from_name("lookup"),
        Some(RedirectVariant::Lookup)
    );
    assert_eq!(RedirectVariant::from_name("classic"), None);
    for v in RedirectVariant::ALL {
        assert_eq!(v.to_string(), v.name());
        assert!(v.min_kernel() >= (4, 18), "XSKMAP itself is 4.18");
    }
}

proptest! {
    #[test]
    fn the_map_fd_goes_into_exactly_the_map_fd_slots(fd in any::<i32>()) {
        for v in RedirectVariant::ALL {
            let zero = RedirectProgram::new(v, 0);
            let prog = RedirectProgram::new(v, fd);
            prop_assert_eq!(prog.map_fd(), fd);
            prop_assert_eq!(prog.variant(), v);
            for (i, (a, b)) in zero.insns().iter().zip(prog.insns()).enumerate() {
                if prog.map_fd_slots().contains(&i) {
                    prop_assert_eq!(b.code, LD_IMM64_CODE);
                    prop_assert_eq!(b.src(), BPF_PSEUDO_MAP_FD);
                    prop_assert_eq!(b.imm, fd);
                    prop_assert_eq!(BpfInsn { imm: 0, ..*b }, *a);
                } else {
                    prop_assert_eq!(a, b);
                }
            }
        }
    }
}
