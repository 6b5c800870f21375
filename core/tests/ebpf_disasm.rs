//! The disassembler: the embedded programs' listings, word for word, and a
//! property test that no input makes it panic.

use core::fmt;

use afxdp_core::abi::bpf::BpfInsn;
use afxdp_core::ebpf::{decode, disassemble, Listing, RedirectProgram, RedirectVariant};
use proptest::prelude::*;

const FALLBACK_FD7: &str = "   0: (61) r2 = *(u32 *)(r1 +16)
      61 12 10 00 00 00 00 00
   1: (18) r1 = map[fd:7]
      18 11 00 00 07 00 00 00 00 00 00 00 00 00 00 00
   3: (b7) r3 = 2
      b7 03 00 00 02 00 00 00
   4: (85) call bpf_redirect_map#51
      85 00 00 00 33 00 00 00
   5: (95) exit
      95 00 00 00 00 00 00 00
";

const LOOKUP_FD7: &str = "   0: (61) r2 = *(u32 *)(r1 +16)
      61 12 10 00 00 00 00 00
   1: (63) *(u32 *)(r10 -4) = r2
      63 2a fc ff 00 00 00 00
   2: (bf) r2 = r10
      bf a2 00 00 00 00 00 00
   3: (07) r2 += -4
      07 02 00 00 fc ff ff ff
   4: (18) r1 = map[fd:7]
      18 11 00 00 07 00 00 00 00 00 00 00 00 00 00 00
   6: (85) call bpf_map_lookup_elem#1
      85 00 00 00 01 00 00 00
   7: (15) if r0 == 0x0 goto pc+6
      15 00 06 00 00 00 00 00
   8: (61) r2 = *(u32 *)(r10 -4)
      61 a2 fc ff 00 00 00 00
   9: (18) r1 = map[fd:7]
      18 11 00 00 07 00 00 00 00 00 00 00 00 00 00 00
  11: (b7) r3 = 0
      b7 03 00 00 00 00 00 00
  12: (85) call bpf_redirect_map#51
      85 00 00 00 33 00 00 00
  13: (95) exit
      95 00 00 00 00 00 00 00
  14: (b7) r0 = 2
      b7 00 00 00 02 00 00 00
  15: (95) exit
      95 00 00 00 00 00 00 00
";

#[test]
fn the_fallback_program_with_map_fd_7_disassembles_to_the_expected_listing() {
    let prog = RedirectProgram::new(RedirectVariant::Fallback, 7);
    assert_eq!(Listing(prog.insns()).to_string(), FALLBACK_FD7);
}

#[test]
fn the_lookup_program_with_map_fd_7_disassembles_to_the_expected_listing() {
    let prog = RedirectProgram::new(RedirectVariant::Lookup, 7);
    let mut text = String::new();
    disassemble(prog.insns(), &mut text).unwrap();
    assert_eq!(text, LOOKUP_FD7);
}

#[test]
fn a_program_cut_inside_its_map_load_ends_with_an_invalid_ld_imm64() {
    let prog = RedirectProgram::new(RedirectVariant::Fallback, 7);
    let cut = &prog.insns()[..2];
    assert_eq!(
        Listing(cut).to_string(),
        "   0: (61) r2 = *(u32 *)(r1 +16)\n      61 12 10 00 00 00 00 00\n   \
            1: (18) invalid ld_imm64: missing second slot\n      18 11 00 00 07 00 00 00\n"
    );
}

#[test]
fn a_negative_map_fd_prints_as_is() {
    let prog = RedirectProgram::new(RedirectVariant::Fallback, -1);
    let d = decode(prog.insns(), 1).unwrap();
    assert_eq!(d.to_string(), "(18) r1 = map[fd:-1]");
    assert_eq!(
        d.hex().to_string(),
        "18 11 00 00 ff ff ff ff 00 00 00 00 00 00 00 00"
    );
}

/// A writer that keeps nothing, counting lines.
struct Sink {
    lines: usize,
}

impl fmt::Write for Sink {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.lines += s.bytes().filter(|&b| b == b'\n').count();
        Ok(())
    }
}

/// Any slot, with opcodes drawn half the time from the ones the
/// disassembler treats specially, so that `ld_imm64` pairs, atomics and
/// jumps come up often.
fn any_slot() -> impl Strategy<Value = BpfInsn> {
    let code = prop_oneof![
        any::<u8>(),
        prop::sample::select(vec![
            0x18, 0x18, 0x00, 0x07, 0x0f, 0x04, 0x84, 0x87, 0xb4, 0xbf, 0xbc, 0xd4, 0xdc, 0xd7,
            0x3f, 0x9f, 0x61, 0x81, 0x79, 0x62, 0x63, 0xc3, 0xdb, 0x20, 0x40, 0x05, 0x06, 0x15,
            0x1d, 0x16, 0x85, 0x95, 0x96, 0xe5,
        ]),
    ];
    let imm = prop_oneof![
        any::<i32>(),
        prop::sample::select(vec![0, 1, 8, 16, 32, 51, 0x01, 0x41, 0xe1, 0xf1]),
    ];
    (code, any::<u8>(), any::<i16>(), imm).prop_map(|(code, regs, off, imm)| BpfInsn {
        code,
        regs,
        off,
        imm,
    })
}

proptest! {
    #[test]
    fn any_slots_disassemble_without_panicking(
        insns in prop::collection::vec(any_slot(), 0..64),
    ) {
        let mut sink = Sink { lines: 0 };
        disassemble(&insns, &mut sink).unwrap();

        // Walking with `decode` covers every slot exactly once, and the
        // listing has two lines per instruction.
        let (mut i, mut count) = (0, 0);
        while let Some(d) = decode(&insns, i) {
            prop_assert!(matches!(d.slots_consumed(), 1 | 2));
            prop_assert_eq!(d.slots(), &insns[i..i + d.slots_consumed()]);
            let text = d.to_string();
            let prefix = format!("({:02x}) ", insns[i].code);
            prop_assert!(text.starts_with(&prefix));
            prop_assert!(!text.contains('\n'));
            prop_assert_eq!(d.hex().to_string().len(), 24 * d.slots_consumed() - 1);
            i += d.slots_consumed();
            count += 1;
        }
        prop_assert_eq!(i, insns.len());
        prop_assert_eq!(sink.lines, 2 * count);
        prop_assert!(decode(&insns, insns.len() + 1).is_none());
    }

    #[test]
    fn any_bytes_disassemble_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let insns: Vec<BpfInsn> = bytes
            .chunks_exact(8)
            .map(|c| BpfInsn::from_bytes(c.try_into().unwrap()))
            .collect();
        let text = Listing(&insns).to_string();
        prop_assert_eq!(text.is_empty(), insns.is_empty());
    }
}
