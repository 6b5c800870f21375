//! eBPF instruction encoder, the embedded XDP redirect programs, and a disassembler.
//!
//! - [`opcode`]: the bits of an opcode (class, size, mode, operation,
//!   source) and the pseudo source registers, as the kernel defines them.
//! - [`insn`]: typed registers, sizes, operations and conditions, and one
//!   `const fn` per instruction form, returning the kernel's
//!   [`BpfInsn`](crate::abi::bpf::BpfInsn) slots.
//! - [`program`]: the redirect program that sends frames to AF_XDP sockets
//!   through an XSKMAP, in its two [`RedirectVariant`]s, as data.
//! - [`disasm`]: a listing of any slots in the verifier log's notation,
//!   with their bytes.
//!
//! ```
//! use afxdp_core::ebpf::{Listing, RedirectProgram, RedirectVariant};
//! let prog = RedirectProgram::new(RedirectVariant::Fallback, 7);
//! let text = Listing(prog.insns()).to_string();
//! assert!(text.contains("   1: (18) r1 = map[fd:7]\n"));
//! ```

pub mod disasm;
pub mod insn;
pub mod opcode;
pub mod program;

pub use disasm::{decode, disassemble, Decoded, Hex, Listing};
pub use insn::{
    alu64_imm, alu64_reg, call, exit, ja, jmp_imm, jmp_reg, ld_imm64, ld_map_fd, ldx_mem,
    mov64_imm, mov64_reg, st_mem, stx_mem, AluOp, JmpCond, Reg, Size, LD_IMM64_CODE,
};
pub use program::{RedirectProgram, RedirectVariant, LICENSE, MAX_SLOTS, PROG_NAME};
