//! A typed encoder for eBPF instructions: registers, access sizes, ALU
//! operations and jump conditions as enums, and one `const fn` per
//! instruction form that returns the kernel's [`BpfInsn`] slot (two slots
//! for the 64-bit immediate load).
//!
//! The encoding is the kernel's `struct bpf_insn`: `code` is class | size or
//! operation | mode or source (the bits are in [`opcode`](super::opcode)), `regs` holds the destination register in its
//! low nibble and the source register in its high nibble.

use super::opcode::{
    BPF_ADD, BPF_ALU64, BPF_AND, BPF_ARSH, BPF_B, BPF_CALL, BPF_DIV, BPF_DW, BPF_EXIT, BPF_H,
    BPF_IMM, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JLE, BPF_JLT, BPF_JMP, BPF_JNE, BPF_JSET,
    BPF_JSGE, BPF_JSGT, BPF_JSLE, BPF_JSLT, BPF_K, BPF_LD, BPF_LDX, BPF_LSH, BPF_MEM, BPF_MOD,
    BPF_MOV, BPF_MUL, BPF_OR, BPF_PSEUDO_MAP_FD, BPF_RSH, BPF_ST, BPF_STX, BPF_SUB, BPF_W, BPF_X,
    BPF_XOR,
};
use crate::abi::bpf::BpfInsn;

/// An eBPF register.
///
/// `R0` holds return values, `R1`..`R5` carry call arguments (and are
/// clobbered by calls), `R6`..`R9` survive calls, `R10` is the read-only
/// frame pointer.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reg {
    /// Return value of calls and of the program.
    R0 = 0,
    /// First argument; the context pointer on entry.
    R1 = 1,
    /// Second argument.
    R2 = 2,
    /// Third argument.
    R3 = 3,
    /// Fourth argument.
    R4 = 4,
    /// Fifth argument.
    R5 = 5,
    /// Callee-saved.
    R6 = 6,
    /// Callee-saved.
    R7 = 7,
    /// Callee-saved.
    R8 = 8,
    /// Callee-saved.
    R9 = 9,
    /// Frame pointer (read only); the stack is below it.
    R10 = 10,
}

impl Reg {
    /// The register's number, as it goes into a `regs` nibble.
    ///
    /// ```
    /// use afxdp_core::ebpf::Reg;
    /// assert_eq!(Reg::R10.number(), 10);
    /// ```
    pub const fn number(self) -> u8 {
        self as u8
    }

    /// The register with number `n`, if `n` names one (0..=10).
    ///
    /// ```
    /// use afxdp_core::ebpf::Reg;
    /// assert_eq!(Reg::from_number(3), Some(Reg::R3));
    /// assert_eq!(Reg::from_number(11), None);
    /// ```
    pub const fn from_number(n: u8) -> Option<Reg> {
        Some(match n {
            0 => Reg::R0,
            1 => Reg::R1,
            2 => Reg::R2,
            3 => Reg::R3,
            4 => Reg::R4,
            5 => Reg::R5,
            6 => Reg::R6,
            7 => Reg::R7,
            8 => Reg::R8,
            9 => Reg::R9,
            10 => Reg::R10,
            _ => return None,
        })
    }
}

/// The width of a memory access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Size {
    /// One byte (`u8`).
    B,
    /// Two bytes (`u16`).
    H,
    /// Four bytes (`u32`).
    W,
    /// Eight bytes (`u64`).
    DW,
}

impl Size {
    /// The size bits of the opcode (`BPF_B`, `BPF_H`, `BPF_W`, `BPF_DW`).
    ///
    /// ```
    /// use afxdp_core::ebpf::Size;
    /// assert_eq!(Size::W.code(), afxdp_core::ebpf::opcode::BPF_W);
    /// ```
    pub const fn code(self) -> u8 {
        match self {
            Size::B => BPF_B,
            Size::H => BPF_H,
            Size::W => BPF_W,
            Size::DW => BPF_DW,
        }
    }

    /// The access width in bytes.
    ///
    /// ```
    /// use afxdp_core::ebpf::Size;
    /// assert_eq!(Size::DW.bytes(), 8);
    /// ```
    pub const fn bytes(self) -> usize {
        match self {
            Size::B => 1,
            Size::H => 2,
            Size::W => 4,
            Size::DW => 8,
        }
    }
}

/// A two-operand arithmetic operation (`dst op= src`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AluOp {
    /// `dst += src`.
    Add,
    /// `dst -= src`.
    Sub,
    /// `dst *= src`.
    Mul,
    /// `dst /= src` (unsigned).
    Div,
    /// `dst |= src`.
    Or,
    /// `dst &= src`.
    And,
    /// `dst <<= src`.
    Lsh,
    /// `dst >>= src` (logical).
    Rsh,
    /// `dst %= src` (unsigned).
    Mod,
    /// `dst ^= src`.
    Xor,
    /// `dst = src`.
    Mov,
    /// `dst s>>= src` (arithmetic).
    Arsh,
}

impl AluOp {
    /// The operation bits of the opcode (`BPF_ADD`, ...).
    ///
    /// ```
    /// use afxdp_core::ebpf::AluOp;
    /// assert_eq!(AluOp::Mov.code(), afxdp_core::ebpf::opcode::BPF_MOV);
    /// ```
    pub const fn code(self) -> u8 {
        match self {
            AluOp::Add => BPF_ADD,
            AluOp::Sub => BPF_SUB,
            AluOp::Mul => BPF_MUL,
            AluOp::Div => BPF_DIV,
            AluOp::Or => BPF_OR,
            AluOp::And => BPF_AND,
            AluOp::Lsh => BPF_LSH,
            AluOp::Rsh => BPF_RSH,
            AluOp::Mod => BPF_MOD,
            AluOp::Xor => BPF_XOR,
            AluOp::Mov => BPF_MOV,
            AluOp::Arsh => BPF_ARSH,
        }
    }
}

/// The condition of a conditional jump (`if dst <cond> src goto ...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JmpCond {
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `>` (unsigned).
    Gt,
    /// `>=` (unsigned).
    Ge,
    /// `<` (unsigned).
    Lt,
    /// `<=` (unsigned).
    Le,
    /// `s>` (signed).
    Sgt,
    /// `s>=` (signed).
    Sge,
    /// `s<` (signed).
    Slt,
    /// `s<=` (signed).
    Sle,
    /// `&` (any bit in common).
    Set,
}

impl JmpCond {
    /// The operation bits of the opcode (`BPF_JEQ`, ...).
    ///
    /// ```
    /// use afxdp_core::ebpf::JmpCond;
    /// assert_eq!(JmpCond::Eq.code(), afxdp_core::ebpf::opcode::BPF_JEQ);
    /// ```
    pub const fn code(self) -> u8 {
        match self {
            JmpCond::Eq => BPF_JEQ,
            JmpCond::Ne => BPF_JNE,
            JmpCond::Gt => BPF_JGT,
            JmpCond::Ge => BPF_JGE,
            JmpCond::Lt => BPF_JLT,
            JmpCond::Le => BPF_JLE,
            JmpCond::Sgt => BPF_JSGT,
            JmpCond::Sge => BPF_JSGE,
            JmpCond::Slt => BPF_JSLT,
            JmpCond::Sle => BPF_JSLE,
            JmpCond::Set => BPF_JSET,
        }
    }
}

/// The opcode of the 64-bit immediate load, the only two-slot instruction.
pub const LD_IMM64_CODE: u8 = BPF_LD | BPF_IMM | BPF_DW;

/// One slot from its fields; `dst` and `src` are register numbers (0..=15).
const fn slot(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> BpfInsn {
    BpfInsn {
        code,
        regs: (src << 4) | (dst & 0x0f),
        off,
        imm,
    }
}

/// `dst = *(size *)(src + off)`.
///
/// ```
/// use afxdp_core::ebpf::{ldx_mem, Reg, Size};
/// let i = ldx_mem(Size::W, Reg::R2, Reg::R1, 16);
/// assert_eq!(i.to_bytes(), [0x61, 0x12, 16, 0, 0, 0, 0, 0]);
/// ```
pub const fn ldx_mem(size: Size, dst: Reg, src: Reg, off: i16) -> BpfInsn {
    slot(
        BPF_LDX | size.code() | BPF_MEM,
        dst.number(),
        src.number(),
        off,
        0,
    )
}

/// `*(size *)(dst + off) = src`.
///
/// ```
/// use afxdp_core::ebpf::{stx_mem, Reg, Size};
/// let i = stx_mem(Size::W, Reg::R10, Reg::R2, -4);
/// assert_eq!(i.to_bytes(), [0x63, 0x2a, 0xfc, 0xff, 0, 0, 0, 0]);
/// ```
pub const fn stx_mem(size: Size, dst: Reg, src: Reg, off: i16) -> BpfInsn {
    slot(
        BPF_STX | size.code() | BPF_MEM,
        dst.number(),
        src.number(),
        off,
        0,
    )
}

/// `*(size *)(dst + off) = imm`.
///
/// ```
/// use afxdp_core::ebpf::{st_mem, Reg, Size};
/// let i = st_mem(Size::DW, Reg::R10, -8, 0);
/// assert_eq!(i.to_bytes(), [0x7a, 0x0a, 0xf8, 0xff, 0, 0, 0, 0]);
/// ```
pub const fn st_mem(size: Size, dst: Reg, off: i16, imm: i32) -> BpfInsn {
    slot(BPF_ST | size.code() | BPF_MEM, dst.number(), 0, off, imm)
}

/// `dst = imm` (64-bit, `imm` sign-extended).
///
/// ```
/// use afxdp_core::ebpf::{mov64_imm, Reg};
/// assert_eq!(mov64_imm(Reg::R3, 2).to_bytes(), [0xb7, 0x03, 0, 0, 2, 0, 0, 0]);
/// ```
pub const fn mov64_imm(dst: Reg, imm: i32) -> BpfInsn {
    alu64_imm(AluOp::Mov, dst, imm)
}

/// `dst = src` (64-bit).
///
/// ```
/// use afxdp_core::ebpf::{mov64_reg, Reg};
/// assert_eq!(mov64_reg(Reg::R2, Reg::R10).to_bytes(), [0xbf, 0xa2, 0, 0, 0, 0, 0, 0]);
/// ```
pub const fn mov64_reg(dst: Reg, src: Reg) -> BpfInsn {
    alu64_reg(AluOp::Mov, dst, src)
}

/// `dst op= imm` (64-bit, `imm` sign-extended).
///
/// ```
/// use afxdp_core::ebpf::{alu64_imm, AluOp, Reg};
/// let i = alu64_imm(AluOp::Add, Reg::R2, -4);
/// assert_eq!(i.to_bytes(), [0x07, 0x02, 0, 0, 0xfc, 0xff, 0xff, 0xff]);
/// ```
pub const fn alu64_imm(op: AluOp, dst: Reg, imm: i32) -> BpfInsn {
    slot(BPF_ALU64 | op.code() | BPF_K, dst.number(), 0, 0, imm)
}

/// `dst op= src` (64-bit).
///
/// ```
/// use afxdp_core::ebpf::{alu64_reg, AluOp, Reg};
/// let i = alu64_reg(AluOp::Add, Reg::R1, Reg::R2);
/// assert_eq!(i.to_bytes(), [0x0f, 0x21, 0, 0, 0, 0, 0, 0]);
/// ```
pub const fn alu64_reg(op: AluOp, dst: Reg, src: Reg) -> BpfInsn {
    slot(
        BPF_ALU64 | op.code() | BPF_X,
        dst.number(),
        src.number(),
        0,
        0,
    )
}

/// `dst = imm` (a full 64-bit constant): two slots, the low 32 bits in the
/// first slot's `imm`, the high 32 bits in the second's.
///
/// ```
/// use afxdp_core::ebpf::{ld_imm64, Reg};
/// let [lo, hi] = ld_imm64(Reg::R1, 0x1122_3344_5566_7788);
/// assert_eq!(lo.to_bytes(), [0x18, 0x01, 0, 0, 0x88, 0x77, 0x66, 0x55]);
/// assert_eq!(hi.to_bytes(), [0, 0, 0, 0, 0x44, 0x33, 0x22, 0x11]);
/// ```
pub const fn ld_imm64(dst: Reg, imm: u64) -> [BpfInsn; 2] {
    [
        slot(LD_IMM64_CODE, dst.number(), 0, 0, imm as u32 as i32),
        slot(0, 0, 0, 0, (imm >> 32) as u32 as i32),
    ]
}

/// `dst = map` for the map whose fd is `fd`: a 64-bit immediate load with
/// source `BPF_PSEUDO_MAP_FD`, which the verifier replaces by the map's
/// address. The second slot is all zero.
///
/// ```
/// use afxdp_core::ebpf::{ld_map_fd, Reg};
/// let [lo, hi] = ld_map_fd(Reg::R1, 7);
/// assert_eq!(lo.to_bytes(), [0x18, 0x11, 0, 0, 7, 0, 0, 0]);
/// assert_eq!(hi.to_bytes(), [0; 8]);
/// ```
pub const fn ld_map_fd(dst: Reg, fd: i32) -> [BpfInsn; 2] {
    [
        slot(LD_IMM64_CODE, dst.number(), BPF_PSEUDO_MAP_FD, 0, fd),
        slot(0, 0, 0, 0, 0),
    ]
}

/// `if dst <cond> imm goto pc+off` (64-bit compare, `imm` sign-extended).
/// `off` counts slots from the next instruction.
///
/// ```
/// use afxdp_core::ebpf::{jmp_imm, JmpCond, Reg};
/// let i = jmp_imm(JmpCond::Eq, Reg::R0, 0, 3);
/// assert_eq!(i.to_bytes(), [0x15, 0x00, 3, 0, 0, 0, 0, 0]);
/// ```
pub const fn jmp_imm(cond: JmpCond, dst: Reg, imm: i32, off: i16) -> BpfInsn {
    slot(BPF_JMP | cond.code() | BPF_K, dst.number(), 0, off, imm)
}

/// `if dst <cond> src goto pc+off` (64-bit compare).
///
/// ```
/// use afxdp_core::ebpf::{jmp_reg, JmpCond, Reg};
/// let i = jmp_reg(JmpCond::Gt, Reg::R2, Reg::R3, -2);
/// assert_eq!(i.to_bytes(), [0x2d, 0x32, 0xfe, 0xff, 0, 0, 0, 0]);
/// ```
pub const fn jmp_reg(cond: JmpCond, dst: Reg, src: Reg, off: i16) -> BpfInsn {
    slot(
        BPF_JMP | cond.code() | BPF_X,
        dst.number(),
        src.number(),
        off,
        0,
    )
}

/// `goto pc+off`.
///
/// ```
/// use afxdp_core::ebpf::ja;
/// assert_eq!(ja(-1).to_bytes(), [0x05, 0, 0xff, 0xff, 0, 0, 0, 0]);
/// ```
pub const fn ja(off: i16) -> BpfInsn {
    slot(BPF_JMP | BPF_JA, 0, 0, off, 0)
}

/// `call helper`: calls the kernel helper numbered `helper`
/// (`BPF_FUNC_*`); arguments in `r1`..`r5`, result in `r0`.
///
/// ```
/// use afxdp_core::abi::bpf::BPF_FUNC_REDIRECT_MAP;
/// use afxdp_core::ebpf::call;
/// assert_eq!(call(BPF_FUNC_REDIRECT_MAP).to_bytes(), [0x85, 0, 0, 0, 51, 0, 0, 0]);
/// ```
pub const fn call(helper: i32) -> BpfInsn {
    slot(BPF_JMP | BPF_CALL, 0, 0, 0, helper)
}

/// `exit`: returns `r0`.
///
/// ```
/// use afxdp_core::ebpf::exit;
/// assert_eq!(exit().to_bytes(), [0x95, 0, 0, 0, 0, 0, 0, 0]);
/// ```
pub const fn exit() -> BpfInsn {
    slot(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_REGS: [Reg; 11] = [
        Reg::R0,
        Reg::R1,
        Reg::R2,
        Reg::R3,
        Reg::R4,
        Reg::R5,
        Reg::R6,
        Reg::R7,
        Reg::R8,
        Reg::R9,
        Reg::R10,
    ];

    #[test]
    fn register_numbers_round_trip() {
        for (n, r) in ALL_REGS.iter().enumerate() {
            assert_eq!(r.number() as usize, n);
            assert_eq!(Reg::from_number(n as u8), Some(*r));
        }
        for n in 11..=u8::MAX {
            assert_eq!(Reg::from_number(n), None);
        }
    }

    #[test]
    fn dst_is_the_low_nibble_and_src_the_high_nibble() {
        for d in ALL_REGS {
            for s in ALL_REGS {
                let i = ldx_mem(Size::DW, d, s, 0);
                assert_eq!(i.dst(), d.number());
                assert_eq!(i.src(), s.number());
                assert_eq!(i.regs, s.number() << 4 | d.number());
                let i = jmp_reg(JmpCond::Ne, d, s, 0);
                assert_eq!((i.dst(), i.src()), (d.number(), s.number()));
            }
        }
    }

    #[test]
    fn opcodes_are_the_kernels() {
        assert_eq!(ldx_mem(Size::B, Reg::R0, Reg::R1, 0).code, 0x71);
        assert_eq!(ldx_mem(Size::H, Reg::R0, Reg::R1, 0).code, 0x69);
        assert_eq!(ldx_mem(Size::W, Reg::R0, Reg::R1, 0).code, 0x61);
        assert_eq!(ldx_mem(Size::DW, Reg::R0, Reg::R1, 0).code, 0x79);
        assert_eq!(stx_mem(Size::B, Reg::R10, Reg::R1, 0).code, 0x73);
        assert_eq!(stx_mem(Size::W, Reg::R10, Reg::R1, 0).code, 0x63);
        assert_eq!(stx_mem(Size::DW, Reg::R10, Reg::R1, 0).code, 0x7b);
        assert_eq!(st_mem(Size::W, Reg::R10, 0, 0).code, 0x62);
        assert_eq!(mov64_imm(Reg::R0, 0).code, 0xb7);
        assert_eq!(mov64_reg(Reg::R0, Reg::R1).code, 0xbf);
        assert_eq!(alu64_imm(AluOp::Add, Reg::R0, 0).code, 0x07);
        assert_eq!(alu64_imm(AluOp::And, Reg::R0, 0).code, 0x57);
        assert_eq!(alu64_reg(AluOp::Sub, Reg::R0, Reg::R1).code, 0x1f);
        assert_eq!(ld_imm64(Reg::R0, 0)[0].code, 0x18);
        assert_eq!(jmp_imm(JmpCond::Eq, Reg::R0, 0, 0).code, 0x15);
        assert_eq!(jmp_imm(JmpCond::Ne, Reg::R0, 0, 0).code, 0x55);
        assert_eq!(jmp_imm(JmpCond::Sgt, Reg::R0, 0, 0).code, 0x65);
        assert_eq!(jmp_reg(JmpCond::Eq, Reg::R0, Reg::R1, 0).code, 0x1d);
        assert_eq!(ja(0).code, 0x05);
        assert_eq!(call(1).code, 0x85);
        assert_eq!(exit().code, 0x95);
    }

    #[test]
    fn negative_offsets_and_immediates_are_twos_complement_little_endian() {
        let i = stx_mem(Size::W, Reg::R10, Reg::R2, -4);
        assert_eq!(i.off, -4);
        assert_eq!(&i.to_bytes()[2..4], &[0xfc, 0xff]);
        let i = ja(i16::MIN);
        assert_eq!(&i.to_bytes()[2..4], &[0x00, 0x80]);
        let i = mov64_imm(Reg::R0, i32::MIN);
        assert_eq!(&i.to_bytes()[4..], &[0, 0, 0, 0x80]);
    }

    #[test]
    fn ld_imm64_splits_the_constant_across_two_slots() {
        let [lo, hi] = ld_imm64(Reg::R5, 0xdead_beef_0000_0001);
        assert_eq!((lo.imm as u32, hi.imm as u32), (1, 0xdead_beef));
        assert_eq!((hi.code, hi.regs, hi.off), (0, 0, 0));
        assert_eq!((lo.dst(), lo.src()), (5, 0));
        let [lo, hi] = ld_map_fd(Reg::R1, -1);
        assert_eq!((lo.dst(), lo.src(), lo.imm), (1, BPF_PSEUDO_MAP_FD, -1));
        assert_eq!(hi, BpfInsn::default());
    }

    #[test]
    fn every_form_round_trips_through_bytes() {
        let forms = [
            ldx_mem(Size::H, Reg::R3, Reg::R9, -300),
            stx_mem(Size::DW, Reg::R10, Reg::R6, -8),
            st_mem(Size::B, Reg::R1, 7, -1),
            mov64_imm(Reg::R0, 2),
            mov64_reg(Reg::R6, Reg::R1),
            alu64_imm(AluOp::Arsh, Reg::R4, 63),
            alu64_reg(AluOp::Xor, Reg::R4, Reg::R5),
            ld_imm64(Reg::R2, u64::MAX)[0],
            ld_imm64(Reg::R2, u64::MAX)[1],
            ld_map_fd(Reg::R1, 1234)[0],
            jmp_imm(JmpCond::Sle, Reg::R7, -5, -10),
            jmp_reg(JmpCond::Set, Reg::R8, Reg::R9, 32767),
            ja(-32768),
            call(51),
            exit(),
        ];
        for i in forms {
            assert_eq!(BpfInsn::from_bytes(i.to_bytes()), i);
        }
    }

    #[test]
    fn constructors_are_usable_in_const_context() {
        const PROG: [BpfInsn; 2] = [mov64_imm(Reg::R0, 2), exit()];
        assert_eq!(PROG[0].imm, 2);
    }
}
