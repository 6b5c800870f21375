//! A disassembler for eBPF instruction slots, printing in the style of
//! `bpftool prog dump xlated` and of the verifier log, so that a program
//! and a verifier complaint about it can be read side by side.
//!
//! Each instruction takes two lines: its index, opcode and text, then its
//! bytes in hex (both slots for a 64-bit immediate load):
//!
//! ```text
//!    0: (61) r2 = *(u32 *)(r1 +16)
//!       61 12 10 00 00 00 00 00
//! ```
//!
//! It takes any slots, including garbage: an opcode it does not know prints
//! as `(xx) unknown`, a 64-bit load cut short prints as invalid, and it never
//! panics.

use core::fmt;

use super::insn::LD_IMM64_CODE;
use super::opcode::{
    bpf_class, bpf_mode, bpf_op, bpf_size, bpf_src, BPF_ABS, BPF_ADD, BPF_ALU, BPF_ALU64, BPF_AND,
    BPF_ARSH, BPF_ATOMIC, BPF_B, BPF_CALL, BPF_DIV, BPF_DW, BPF_END, BPF_EXIT, BPF_H, BPF_IND,
    BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JLE, BPF_JLT, BPF_JMP, BPF_JMP32, BPF_JNE, BPF_JSET,
    BPF_JSGE, BPF_JSGT, BPF_JSLE, BPF_JSLT, BPF_LD, BPF_LDX, BPF_LSH, BPF_MEM, BPF_MEMSX, BPF_MOD,
    BPF_MOV, BPF_MUL, BPF_NEG, BPF_OR, BPF_PSEUDO_CALL, BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_FD,
    BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_VALUE, BPF_RSH, BPF_ST, BPF_STX, BPF_SUB, BPF_W, BPF_X,
    BPF_XOR,
};
use crate::abi::bpf::{BpfInsn, BPF_FUNC_MAP_LOOKUP_ELEM, BPF_FUNC_REDIRECT_MAP};

/// One instruction picked out of a slot array: one slot, or two for a
/// complete 64-bit immediate load. Its [`Display`](fmt::Display) is the
/// opcode and text, e.g. `(b7) r3 = 2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded<'a> {
    slots: &'a [BpfInsn],
}

/// The instruction that starts at slot `i` of `insns`, or `None` past the
/// end. A 64-bit immediate load takes the following slot too, when there is
/// one; the next instruction starts [`slots_consumed`](Decoded::slots_consumed)
/// slots further on.
///
/// ```
/// use afxdp_core::ebpf::{decode, exit, mov64_imm, Reg};
/// let insns = [mov64_imm(Reg::R0, 2), exit()];
/// let d = decode(&insns, 0).unwrap();
/// assert_eq!(d.slots_consumed(), 1);
/// assert_eq!(format!("{d}"), "(b7) r0 = 2");
/// assert!(decode(&insns, 2).is_none());
/// ```
pub fn decode(insns: &[BpfInsn], i: usize) -> Option<Decoded<'_>> {
    let first = insns.get(i)?;
    let n = if first.code == LD_IMM64_CODE && i + 1 < insns.len() {
        2
    } else {
        1
    };
    insns.get(i..i + n).map(|slots| Decoded { slots })
}

impl<'a> Decoded<'a> {
    /// The slots the instruction occupies (one or two).
    ///
    /// ```
    /// use afxdp_core::ebpf::{decode, ld_map_fd, Reg};
    /// let insns = ld_map_fd(Reg::R1, 7);
    /// assert_eq!(decode(&insns, 0).unwrap().slots(), &insns);
    /// ```
    pub fn slots(&self) -> &'a [BpfInsn] {
        self.slots
    }

    /// How many slots the instruction occupies: 2 for a complete 64-bit
    /// immediate load, else 1.
    ///
    /// ```
    /// use afxdp_core::ebpf::{decode, ld_imm64, Reg};
    /// let insns = ld_imm64(Reg::R1, 1);
    /// assert_eq!(decode(&insns, 0).unwrap().slots_consumed(), 2);
    /// assert_eq!(decode(&insns[..1], 0).unwrap().slots_consumed(), 1);
    /// ```
    pub fn slots_consumed(&self) -> usize {
        self.slots.len()
    }

    /// The instruction's bytes as hex pairs separated by spaces.
    ///
    /// ```
    /// use afxdp_core::ebpf::{decode, exit};
    /// let insns = [exit()];
    /// let d = decode(&insns, 0).unwrap();
    /// assert_eq!(format!("{}", d.hex()), "95 00 00 00 00 00 00 00");
    /// ```
    pub fn hex(&self) -> Hex<'a> {
        Hex(self.slots)
    }
}

impl fmt::Display for Decoded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(first) = self.slots.first() else {
            return Ok(());
        };
        write!(f, "({:02x}) ", first.code)?;
        match bpf_class(first.code) {
            BPF_ALU | BPF_ALU64 => alu(f, first),
            BPF_LDX => ldx(f, first),
            BPF_ST | BPF_STX => store(f, first),
            BPF_LD => ld(f, first, self.slots.get(1)),
            BPF_JMP | BPF_JMP32 => jmp(f, first),
            // The class is three bits and every class is matched above.
            _ => unknown(f),
        }
    }
}

/// Slots' bytes as space-separated hex pairs, in the kernel's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hex<'a>(pub &'a [BpfInsn]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        for insn in self.0 {
            for b in insn.to_bytes() {
                write!(f, "{sep}{b:02x}")?;
                sep = " ";
            }
        }
        Ok(())
    }
}

/// Writes the listing of `insns` to `out`: for each instruction, a line with
/// its index (right-aligned in four columns), opcode and text, then a line
/// with its bytes.
///
/// ```
/// use afxdp_core::ebpf::{disassemble, exit, mov64_imm, Reg};
/// let mut s = String::new();
/// disassemble(&[mov64_imm(Reg::R0, 2), exit()], &mut s).unwrap();
/// assert_eq!(s, "   0: (b7) r0 = 2\n      b7 00 00 00 02 00 00 00\n   \
///                   1: (95) exit\n      95 00 00 00 00 00 00 00\n");
/// ```
pub fn disassemble<W: fmt::Write + ?Sized>(insns: &[BpfInsn], out: &mut W) -> fmt::Result {
    let mut i = 0;
    while let Some(d) = decode(insns, i) {
        writeln!(out, "{i:>4}: {d}")?;
        writeln!(out, "      {}", d.hex())?;
        i += d.slots_consumed();
    }
    Ok(())
}

/// A slot array that displays as its [`disassemble`] listing.
///
/// ```
/// use afxdp_core::ebpf::{exit, Listing};
/// assert_eq!(Listing(&[exit()]).to_string(), "   0: (95) exit\n      95 00 00 00 00 00 00 00\n");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Listing<'a>(pub &'a [BpfInsn]);

impl fmt::Display for Listing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        disassemble(self.0, f)
    }
}

/// The name of helper `id`, for the helpers this project calls.
fn helper_name(id: i32) -> Option<&'static str> {
    match id {
        BPF_FUNC_MAP_LOOKUP_ELEM => Some("bpf_map_lookup_elem"),
        BPF_FUNC_REDIRECT_MAP => Some("bpf_redirect_map"),
        _ => None,
    }
}

/// The C type of a memory access: `u8` ... `u64`, or `s8` ... `s64` for a
/// sign-extending load.
fn mem_type(code: u8, signed: bool) -> &'static str {
    match (bpf_size(code), signed) {
        (BPF_B, false) => "u8",
        (BPF_H, false) => "u16",
        (BPF_W, false) => "u32",
        (BPF_DW, false) => "u64",
        (BPF_B, true) => "s8",
        (BPF_H, true) => "s16",
        (BPF_W, true) => "s32",
        _ => "s64",
    }
}

fn unknown(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("unknown")
}

/// `r` for 64-bit classes, `w` for 32-bit ones.
fn reg_prefix(code: u8) -> char {
    match bpf_class(code) {
        BPF_ALU | BPF_JMP32 => 'w',
        _ => 'r',
    }
}

fn alu(f: &mut fmt::Formatter<'_>, insn: &BpfInsn) -> fmt::Result {
    let p = reg_prefix(insn.code);
    let (dst, src) = (insn.dst(), insn.src());
    let from_reg = bpf_src(insn.code) == BPF_X;
    let op = match bpf_op(insn.code) {
        BPF_MOV => {
            return match (from_reg, insn.off) {
                (false, _) => write!(f, "{p}{dst} = {}", insn.imm),
                (true, 0) => write!(f, "{p}{dst} = {p}{src}"),
                (true, bits @ (8 | 16 | 32)) => write!(f, "{p}{dst} = (s{bits}){p}{src}"),
                (true, _) => unknown(f),
            };
        }
        BPF_NEG => return write!(f, "{p}{dst} = -{p}{dst}"),
        BPF_END => {
            let how = match (bpf_class(insn.code), from_reg) {
                (BPF_ALU64, _) => "bswap",
                (_, false) => "le",
                (_, true) => "be",
            };
            return write!(f, "r{dst} = {how}{} r{dst}", insn.imm);
        }
        BPF_ADD => "+=",
        BPF_SUB => "-=",
        BPF_MUL => "*=",
        BPF_DIV if insn.off == 1 => "s/=",
        BPF_DIV => "/=",
        BPF_OR => "|=",
        BPF_AND => "&=",
        BPF_LSH => "<<=",
        BPF_RSH => ">>=",
        BPF_MOD if insn.off == 1 => "s%=",
        BPF_MOD => "%=",
        BPF_XOR => "^=",
        BPF_ARSH => "s>>=",
        _ => return unknown(f),
    };
    if from_reg {
        write!(f, "{p}{dst} {op} {p}{src}")
    } else {
        write!(f, "{p}{dst} {op} {}", insn.imm)
    }
}

fn ldx(f: &mut fmt::Formatter<'_>, insn: &BpfInsn) -> fmt::Result {
    let signed = match bpf_mode(insn.code) {
        BPF_MEM => false,
        BPF_MEMSX => true,
        _ => return unknown(f),
    };
    write!(
        f,
        "r{} = *({} *)(r{} {:+})",
        insn.dst(),
        mem_type(insn.code, signed),
        insn.src(),
        insn.off
    )
}

/// `BPF_ST` and `BPF_STX`: stores, and (`BPF_STX | BPF_ATOMIC`) atomics.
fn store(f: &mut fmt::Formatter<'_>, insn: &BpfInsn) -> fmt::Result {
    let ty = mem_type(insn.code, false);
    let (dst, src, off) = (insn.dst(), insn.src(), insn.off);
    match (bpf_class(insn.code), bpf_mode(insn.code)) {
        (BPF_ST, BPF_MEM) => write!(f, "*({ty} *)(r{dst} {off:+}) = {}", insn.imm),
        (BPF_STX, BPF_MEM) => write!(f, "*({ty} *)(r{dst} {off:+}) = r{src}"),
        (BPF_STX, BPF_ATOMIC) => atomic(f, insn),
        _ => unknown(f),
    }
}

/// `BPF_STX | BPF_ATOMIC`: the operation is in `imm`.
fn atomic(f: &mut fmt::Formatter<'_>, insn: &BpfInsn) -> fmt::Result {
    /// `imm` flag: the old value is returned in the source register.
    const FETCH: i32 = 0x01;
    /// `imm`: exchange.
    const XCHG: i32 = 0xe0 | FETCH;
    /// `imm`: compare with `r0` and exchange.
    const CMPXCHG: i32 = 0xf0 | FETCH;

    let ty = mem_type(insn.code, false);
    let (dst, src, off) = (insn.dst(), insn.src(), insn.off);
    let name = |op: i32| match op {
        0x00 => Some(("+=", "add")),
        0x40 => Some(("|=", "or")),
        0x50 => Some(("&=", "and")),
        0xa0 => Some(("^=", "xor")),
        _ => None,
    };
    match insn.imm {
        XCHG => write!(f, "r{src} = xchg(({ty} *)(r{dst} {off:+}), r{src})"),
        CMPXCHG => write!(f, "r0 = cmpxchg(({ty} *)(r{dst} {off:+}), r0, r{src})"),
        imm => match (name(imm & !FETCH), imm & FETCH != 0) {
            (Some((sym, _)), false) => write!(f, "lock *({ty} *)(r{dst} {off:+}) {sym} r{src}"),
            (Some((_, word)), true) => write!(
                f,
                "r{src} = atomic_fetch_{word}(({ty} *)(r{dst} {off:+}), r{src})"
            ),
            (None, _) => unknown(f),
        },
    }
}

/// `BPF_LD`: the 64-bit immediate load (two slots), and the legacy packet
/// loads.
fn ld(f: &mut fmt::Formatter<'_>, insn: &BpfInsn, next: Option<&BpfInsn>) -> fmt::Result {
    let ty = mem_type(insn.code, false);
    match bpf_mode(insn.code) {
        BPF_ABS => return write!(f, "r0 = *({ty} *)skb[{}]", insn.imm),
        BPF_IND => return write!(f, "r0 = *({ty} *)skb[r{} + {}]", insn.src(), insn.imm),
        _ => {}
    }
    if insn.code != LD_IMM64_CODE {
        return unknown(f);
    }
    let Some(next) = next else {
        return f.write_str("invalid ld_imm64: missing second slot");
    };
    if next.code != 0 || next.regs != 0 || next.off != 0 {
        return f.write_str("invalid ld_imm64: second slot not zero");
    }
    let dst = insn.dst();
    let (lo, hi) = (insn.imm, next.imm);
    match insn.src() {
        0 => {
            let value = (u64::from(hi as u32) << 32) | u64::from(lo as u32);
            write!(f, "r{dst} = {value:#x} ll")
        }
        BPF_PSEUDO_MAP_FD if hi == 0 => write!(f, "r{dst} = map[fd:{lo}]"),
        BPF_PSEUDO_MAP_VALUE => write!(f, "r{dst} = map[fd:{lo}]+{hi}"),
        BPF_PSEUDO_MAP_IDX if hi == 0 => write!(f, "r{dst} = map[idx:{lo}]"),
        src => write!(
            f,
            "r{dst} = {:#x}:{:#x} ll (src {src})",
            lo as u32, hi as u32
        ),
    }
}

fn jmp(f: &mut fmt::Formatter<'_>, insn: &BpfInsn) -> fmt::Result {
    let jmp64 = bpf_class(insn.code) == BPF_JMP;
    let p = reg_prefix(insn.code);
    let (dst, src, off) = (insn.dst(), insn.src(), insn.off);
    let op = match bpf_op(insn.code) {
        BPF_JA if jmp64 => return write!(f, "goto pc{off:+}"),
        BPF_JA => return write!(f, "gotol pc{:+}", insn.imm),
        BPF_CALL if jmp64 => {
            return match (src, helper_name(insn.imm)) {
                (0, Some(name)) => write!(f, "call {name}#{}", insn.imm),
                (0, None) => write!(f, "call #{}", insn.imm),
                (BPF_PSEUDO_CALL, _) => write!(f, "call pc{:+}", insn.imm),
                (BPF_PSEUDO_KFUNC_CALL, _) => write!(f, "call kfunc#{}", insn.imm),
                _ => unknown(f),
            };
        }
        BPF_EXIT if jmp64 => return f.write_str("exit"),
        BPF_JEQ => "==",
        BPF_JGT => ">",
        BPF_JGE => ">=",
        BPF_JSET => "&",
        BPF_JNE => "!=",
        BPF_JSGT => "s>",
        BPF_JSGE => "s>=",
        BPF_JLT => "<",
        BPF_JLE => "<=",
        BPF_JSLT => "s<",
        BPF_JSLE => "s<=",
        _ => return unknown(f),
    };
    if insn.code & BPF_X != 0 {
        write!(f, "if {p}{dst} {op} {p}{src} goto pc{off:+}")
    } else {
        write!(f, "if {p}{dst} {op} {:#x} goto pc{off:+}", insn.imm as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ebpf::insn::{
        alu64_imm, call, exit, ja, jmp_imm, jmp_reg, ld_imm64, ld_map_fd, ldx_mem, mov64_imm,
        mov64_reg, st_mem, stx_mem, AluOp, JmpCond, Reg, Size,
    };

    /// A `fmt::Write` into a fixed buffer.
    struct Buf {
        bytes: [u8; 256],
        len: usize,
    }

    impl Buf {
        fn new() -> Self {
            Buf {
                bytes: [0; 256],
                len: 0,
            }
        }
        fn as_str(&self) -> &str {
            core::str::from_utf8(&self.bytes[..self.len]).unwrap()
        }
    }

    impl fmt::Write for Buf {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let end = self.len + s.len();
            self.bytes
                .get_mut(self.len..end)
                .ok_or(fmt::Error)?
                .copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }

    /// The text of the instruction at slot 0 of `insns`.
    fn text(insns: &[BpfInsn]) -> Buf {
        use fmt::Write;
        let mut b = Buf::new();
        write!(b, "{}", decode(insns, 0).unwrap()).unwrap();
        b
    }

    #[test]
    fn each_form_prints_like_the_verifier_log() {
        let cases: [(&[BpfInsn], &str); 16] = [
            (
                &[ldx_mem(Size::W, Reg::R2, Reg::R1, 16)],
                "(61) r2 = *(u32 *)(r1 +16)",
            ),
            (
                &[stx_mem(Size::W, Reg::R10, Reg::R2, -4)],
                "(63) *(u32 *)(r10 -4) = r2",
            ),
            (
                &[st_mem(Size::DW, Reg::R10, -8, -1)],
                "(7a) *(u64 *)(r10 -8) = -1",
            ),
            (&[mov64_reg(Reg::R2, Reg::R10)], "(bf) r2 = r10"),
            (&[alu64_imm(AluOp::Add, Reg::R2, -4)], "(07) r2 += -4"),
            (&[mov64_imm(Reg::R3, 2)], "(b7) r3 = 2"),
            (&ld_map_fd(Reg::R1, 7), "(18) r1 = map[fd:7]"),
            (
                &ld_imm64(Reg::R4, 0x1_0000_0002),
                "(18) r4 = 0x100000002 ll",
            ),
            (&[call(51)], "(85) call bpf_redirect_map#51"),
            (&[call(1)], "(85) call bpf_map_lookup_elem#1"),
            (&[call(6)], "(85) call #6"),
            (&[exit()], "(95) exit"),
            (
                &[jmp_imm(JmpCond::Eq, Reg::R0, 0, 3)],
                "(15) if r0 == 0x0 goto pc+3",
            ),
            (
                &[jmp_imm(JmpCond::Sgt, Reg::R0, -1, -2)],
                "(65) if r0 s> 0xffffffff goto pc-2",
            ),
            (
                &[jmp_reg(JmpCond::Le, Reg::R1, Reg::R2, 0)],
                "(bd) if r1 <= r2 goto pc+0",
            ),
            (&[ja(-1)], "(05) goto pc-1"),
        ];
        for (insns, want) in cases {
            assert_eq!(text(insns).as_str(), want);
        }
    }

    #[test]
    fn a_truncated_ld_imm64_is_reported_and_takes_one_slot() {
        let [first, _] = ld_map_fd(Reg::R1, 7);
        let insns = [first];
        let d = decode(&insns, 0).unwrap();
        assert_eq!(d.slots_consumed(), 1);
        assert_eq!(
            text(&insns).as_str(),
            "(18) invalid ld_imm64: missing second slot"
        );
        let mut b = Buf::new();
        disassemble(&insns, &mut b).unwrap();
        assert_eq!(
            b.as_str(),
            "   0: (18) invalid ld_imm64: missing second slot\n      18 11 00 00 07 00 00 00\n"
        );
    }

    #[test]
    fn a_dirty_second_slot_is_reported() {
        let [first, _] = ld_imm64(Reg::R1, 7);
        assert_eq!(
            text(&[first, exit()]).as_str(),
            "(18) invalid ld_imm64: second slot not zero"
        );
    }

    #[test]
    fn unknown_opcodes_print_unknown_and_the_listing_goes_on() {
        let insns = [
            BpfInsn {
                code: 0xff,
                ..Default::default()
            },
            BpfInsn {
                code: 0xe5, // BPF_JMP | 0xe0: no such jump
                ..Default::default()
            },
            exit(),
        ];
        assert_eq!(text(&insns).as_str(), "(ff) unknown");
        assert_eq!(text(&insns[1..]).as_str(), "(e5) unknown");
        let mut b = Buf::new();
        disassemble(&insns, &mut b).unwrap();
        assert!(b
            .as_str()
            .ends_with("   2: (95) exit\n      95 00 00 00 00 00 00 00\n"));
    }

    #[test]
    fn a_writer_error_is_passed_on() {
        let insns = [exit(); 10];
        // 10 instructions take 10 * 48 bytes; the buffer holds 256.
        assert_eq!(disassemble(&insns, &mut Buf::new()), Err(fmt::Error));
    }
}
