//! The opcode fields of an eBPF instruction (`linux/bpf_common.h` and
//! `linux/bpf.h`): what goes into [`BpfInsn::code`](crate::abi::bpf::BpfInsn)
//! and, for the 64-bit immediate load and `call`, the meaning of the source
//! register.
//!
//! A `code` byte is composed as class | size | mode for loads and stores, and
//! as class | operation | source for arithmetic and jumps:
//!
//! ```
//! use afxdp_core::ebpf::opcode::{BPF_LDX, BPF_MEM, BPF_W};
//! // r2 = *(u32 *)(r1 + 16)
//! assert_eq!(BPF_LDX | BPF_W | BPF_MEM, 0x61);
//! ```
//!
//! The typed encoder in [`insn`](super::insn) builds whole instructions from
//! these; the [`disasm`](super::disasm) module takes them apart.

// ---- classes (the low three bits) ----

/// Class: load from immediate (`ld_imm64`).
pub const BPF_LD: u8 = 0x00;
/// Class: load from memory into a register.
pub const BPF_LDX: u8 = 0x01;
/// Class: store an immediate to memory.
pub const BPF_ST: u8 = 0x02;
/// Class: store a register to memory.
pub const BPF_STX: u8 = 0x03;
/// Class: 32-bit arithmetic.
pub const BPF_ALU: u8 = 0x04;
/// Class: 64-bit jumps, call, exit.
pub const BPF_JMP: u8 = 0x05;
/// Class: 32-bit jumps.
pub const BPF_JMP32: u8 = 0x06;
/// Class: 64-bit arithmetic.
pub const BPF_ALU64: u8 = 0x07;

// ---- sizes, for loads and stores ----

/// Size: 32-bit word.
pub const BPF_W: u8 = 0x00;
/// Size: 16-bit half word.
pub const BPF_H: u8 = 0x08;
/// Size: byte.
pub const BPF_B: u8 = 0x10;
/// Size: 64-bit double word.
pub const BPF_DW: u8 = 0x18;

// ---- modes, for loads and stores ----

/// Mode: immediate.
pub const BPF_IMM: u8 = 0x00;
/// Mode: legacy packet access, absolute.
pub const BPF_ABS: u8 = 0x20;
/// Mode: legacy packet access, indirect.
pub const BPF_IND: u8 = 0x40;
/// Mode: memory at register + offset.
pub const BPF_MEM: u8 = 0x60;
/// Mode: sign-extending memory load.
pub const BPF_MEMSX: u8 = 0x80;
/// Mode: atomic operation.
pub const BPF_ATOMIC: u8 = 0xc0;

// ---- sources, for arithmetic and jumps ----

/// Source: the immediate.
pub const BPF_K: u8 = 0x00;
/// Source: the source register.
pub const BPF_X: u8 = 0x08;

// ---- arithmetic operations ----

/// ALU op: add.
pub const BPF_ADD: u8 = 0x00;
/// ALU op: subtract.
pub const BPF_SUB: u8 = 0x10;
/// ALU op: multiply.
pub const BPF_MUL: u8 = 0x20;
/// ALU op: divide.
pub const BPF_DIV: u8 = 0x30;
/// ALU op: or.
pub const BPF_OR: u8 = 0x40;
/// ALU op: and.
pub const BPF_AND: u8 = 0x50;
/// ALU op: shift left.
pub const BPF_LSH: u8 = 0x60;
/// ALU op: logical shift right.
pub const BPF_RSH: u8 = 0x70;
/// ALU op: negate.
pub const BPF_NEG: u8 = 0x80;
/// ALU op: modulo.
pub const BPF_MOD: u8 = 0x90;
/// ALU op: exclusive or.
pub const BPF_XOR: u8 = 0xa0;
/// ALU op: move.
pub const BPF_MOV: u8 = 0xb0;
/// ALU op: arithmetic shift right.
pub const BPF_ARSH: u8 = 0xc0;
/// ALU op: byte swap.
pub const BPF_END: u8 = 0xd0;

// ---- jump operations ----

/// Jump op: always.
pub const BPF_JA: u8 = 0x00;
/// Jump op: equal.
pub const BPF_JEQ: u8 = 0x10;
/// Jump op: unsigned greater.
pub const BPF_JGT: u8 = 0x20;
/// Jump op: unsigned greater or equal.
pub const BPF_JGE: u8 = 0x30;
/// Jump op: bits set.
pub const BPF_JSET: u8 = 0x40;
/// Jump op: not equal.
pub const BPF_JNE: u8 = 0x50;
/// Jump op: signed greater.
pub const BPF_JSGT: u8 = 0x60;
/// Jump op: signed greater or equal.
pub const BPF_JSGE: u8 = 0x70;
/// Jump op: call a helper.
pub const BPF_CALL: u8 = 0x80;
/// Jump op: return `r0`.
pub const BPF_EXIT: u8 = 0x90;
/// Jump op: unsigned less.
pub const BPF_JLT: u8 = 0xa0;
/// Jump op: unsigned less or equal.
pub const BPF_JLE: u8 = 0xb0;
/// Jump op: signed less.
pub const BPF_JSLT: u8 = 0xc0;
/// Jump op: signed less or equal.
pub const BPF_JSLE: u8 = 0xd0;

// ---- pseudo source registers ----

/// `ld_imm64` source register: the immediate is a map fd.
pub const BPF_PSEUDO_MAP_FD: u8 = 1;
/// `ld_imm64` source register: the immediate is a map fd plus value offset.
pub const BPF_PSEUDO_MAP_VALUE: u8 = 2;
/// `ld_imm64` source register: the immediate is a map index into `fd_array`.
pub const BPF_PSEUDO_MAP_IDX: u8 = 5;
/// `call` source register: a BPF-to-BPF call.
pub const BPF_PSEUDO_CALL: u8 = 1;
/// `call` source register: a kernel function call.
pub const BPF_PSEUDO_KFUNC_CALL: u8 = 2;

// ---- taking a `code` byte apart (the kernel's `BPF_CLASS`, `BPF_SIZE`, ...) ----

/// The class bits of `code` (`BPF_CLASS`): [`BPF_LD`] ... [`BPF_ALU64`].
pub const fn bpf_class(code: u8) -> u8 {
    code & 0x07
}

/// The size bits of a load or store `code` (`BPF_SIZE`): [`BPF_W`],
/// [`BPF_H`], [`BPF_B`] or [`BPF_DW`].
pub const fn bpf_size(code: u8) -> u8 {
    code & 0x18
}

/// The mode bits of a load or store `code` (`BPF_MODE`): [`BPF_IMM`] ...
/// [`BPF_ATOMIC`].
pub const fn bpf_mode(code: u8) -> u8 {
    code & 0xe0
}

/// The operation bits of an arithmetic or jump `code` (`BPF_OP`):
/// [`BPF_ADD`] ... [`BPF_END`], or [`BPF_JA`] ... [`BPF_JSLE`].
pub const fn bpf_op(code: u8) -> u8 {
    code & 0xf0
}

/// The source bit of an arithmetic or jump `code` (`BPF_SRC`): [`BPF_K`]
/// or [`BPF_X`].
pub const fn bpf_src(code: u8) -> u8 {
    code & 0x08
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_come_apart_as_they_were_put_together() {
        // r2 = *(u32 *)(r1 + 16)
        let ldx = BPF_LDX | BPF_W | BPF_MEM;
        assert_eq!(ldx, 0x61);
        assert_eq!(
            (bpf_class(ldx), bpf_size(ldx), bpf_mode(ldx)),
            (BPF_LDX, BPF_W, BPF_MEM)
        );
        // if r1 > r2 goto ...
        let jgt = BPF_JMP | BPF_JGT | BPF_X;
        assert_eq!(jgt, 0x2d);
        assert_eq!(
            (bpf_class(jgt), bpf_op(jgt), bpf_src(jgt)),
            (BPF_JMP, BPF_JGT, BPF_X)
        );
        // Every byte is the sum of its fields, in both readings.
        for code in 0..=u8::MAX {
            assert_eq!(bpf_class(code) | bpf_size(code) | bpf_mode(code), code);
            assert_eq!(bpf_class(code) | bpf_op(code) | bpf_src(code), code);
        }
    }
}
