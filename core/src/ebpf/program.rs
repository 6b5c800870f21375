//! The embedded XDP redirect program: it sends each received frame to the
//! AF_XDP socket that an XSKMAP holds for the frame's receive queue, and
//! passes the frame to the network stack when that queue has no socket.
//!
//! Two variants, as data built by the [`insn`](super::insn) encoder, with
//! the XSKMAP's fd patched in: see [`RedirectVariant`].

use core::ffi::CStr;
use core::fmt;

use super::insn::{
    alu64_imm, call, exit, jmp_imm, ld_map_fd, ldx_mem, mov64_imm, mov64_reg, stx_mem, AluOp,
    JmpCond, Reg, Size,
};
use crate::abi::bpf::{
    object_name, BpfInsn, BPF_FUNC_MAP_LOOKUP_ELEM, BPF_FUNC_REDIRECT_MAP, BPF_OBJ_NAME_LEN,
    XDP_MD_RX_QUEUE_INDEX, XDP_PASS,
};

/// The license string to load the program with. Its helpers are not
/// GPL-only; the string is GPL-compatible all the same.
pub const LICENSE: &CStr = c"Dual MIT/GPL";

/// The program's name for `BPF_PROG_LOAD` (`prog_name`): `afxdp_redirect`,
/// NUL-padded to 16 bytes.
pub const PROG_NAME: [u8; BPF_OBJ_NAME_LEN] = object_name("afxdp_redirect");

/// The most instruction slots any variant has.
pub const MAX_SLOTS: usize = 16;

/// Which form of the redirect program to build.
///
/// Both need kernel 5.3 or later to redirect correctly (see
/// [`min_kernel`](RedirectVariant::min_kernel)); they differ in how a queue
/// without a socket is handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RedirectVariant {
    /// Six slots, the spec's program: `bpf_redirect_map(map, queue,
    /// XDP_PASS)`, where the low bits of the flags are the action the
    /// helper returns when the queue has no socket.
    ///
    /// Needs kernel 5.3+. Older kernels still *load* it, but their helper
    /// rejects any non-zero flags and returns `XDP_ABORTED`, dropping every
    /// frame; a loader that must tell the difference runs it once with
    /// `BPF_PROG_TEST_RUN` on an empty map and expects `XDP_PASS`.
    Fallback,
    /// The classic form: the queue index is stored on the stack and looked
    /// up with `bpf_map_lookup_elem`; on a hit `bpf_redirect_map(map,
    /// queue, 0)`, else `XDP_PASS`.
    ///
    /// It does not rely on the flags' fallback action, but the verifier
    /// accepts `bpf_map_lookup_elem` on an XSKMAP only since 5.3 too
    /// (before, it fails to load with "cannot pass map_type 17 into func
    /// bpf_map_lookup_elem#1"). Kernels older than 5.3 need a second,
    /// plain array map to track the bound queues, which is not offered here.
    Lookup,
}

impl RedirectVariant {
    /// Every variant, the preferred one first.
    pub const ALL: [RedirectVariant; 2] = [RedirectVariant::Fallback, RedirectVariant::Lookup];

    /// The variant's name: `"fallback"` or `"lookup"`.
    ///
    /// ```
    /// use afxdp_core::ebpf::RedirectVariant;
    /// assert_eq!(RedirectVariant::Lookup.name(), "lookup");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            RedirectVariant::Fallback => "fallback",
            RedirectVariant::Lookup => "lookup",
        }
    }

    /// The variant named `name` (as [`name`](Self::name) spells it).
    ///
    /// ```
    /// use afxdp_core::ebpf::RedirectVariant;
    /// assert_eq!(RedirectVariant::from_name("fallback"), Some(RedirectVariant::Fallback));
    /// assert_eq!(RedirectVariant::from_name("Fallback"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<RedirectVariant> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The oldest mainline kernel, as `(major, minor)`, on which the variant
    /// loads and redirects: 5.3 for both. [`Fallback`](Self::Fallback)
    /// needs the flags' fallback action of `bpf_redirect_map`, and
    /// [`Lookup`](Self::Lookup) needs `bpf_map_lookup_elem` on an XSKMAP;
    /// both arrived in 5.3 (a distribution kernel may have backported one
    /// without the other, which is what the choice is for).
    ///
    /// ```
    /// use afxdp_core::ebpf::RedirectVariant;
    /// assert_eq!(RedirectVariant::Fallback.min_kernel(), (5, 3));
    /// ```
    pub const fn min_kernel(self) -> (u32, u32) {
        match self {
            RedirectVariant::Fallback | RedirectVariant::Lookup => (5, 3),
        }
    }

    /// The variant's slots with `map_fd` in its map loads, padded to
    /// [`MAX_SLOTS`], and its length.
    const fn template(self, map_fd: i32) -> ([BpfInsn; MAX_SLOTS], usize) {
        match self {
            RedirectVariant::Fallback => padded(fallback(map_fd)),
            RedirectVariant::Lookup => padded(lookup(map_fd)),
        }
    }
}

/// `prog` copied into a [`MAX_SLOTS`] array (the rest zero), and its length.
/// Both variants fit: the `const` below evaluates this for each at compile time.
const fn padded<const N: usize>(prog: [BpfInsn; N]) -> ([BpfInsn; MAX_SLOTS], usize) {
    const ZERO: BpfInsn = BpfInsn {
        code: 0,
        regs: 0,
        off: 0,
        imm: 0,
    };
    let mut out = [ZERO; MAX_SLOTS];
    let mut i = 0;
    while i < N {
        out[i] = prog[i];
        i += 1;
    }
    (out, N)
}
const _: () = {
    padded(fallback(0));
    padded(lookup(0));
};

impl fmt::Display for RedirectVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The map-fd slots of [`fallback`].
const FALLBACK_MAP_SLOTS: [usize; 1] = [1];

/// The spec's six slots: redirect to `map[rx_queue_index]`, with
/// `XDP_PASS` as the action when the entry is empty.
const fn fallback(map_fd: i32) -> [BpfInsn; 6] {
    let map = ld_map_fd(Reg::R1, map_fd);
    [
        // r2 = ctx->rx_queue_index
        ldx_mem(Size::W, Reg::R2, Reg::R1, XDP_MD_RX_QUEUE_INDEX),
        // r1 = the XSKMAP
        map[0],
        map[1],
        // r3 = flags: XDP_PASS when the queue has no socket
        mov64_imm(Reg::R3, XDP_PASS),
        // r0 = bpf_redirect_map(r1, r2, r3)
        call(BPF_FUNC_REDIRECT_MAP),
        exit(),
    ]
}

/// The map-fd slots of [`lookup`].
const LOOKUP_MAP_SLOTS: [usize; 2] = [4, 9];

/// Where [`lookup`] keeps the queue index: a `u32` just below the frame.
const KEY_SLOT: i16 = -4;

/// The slot of [`lookup`]'s conditional jump, and its target (`r0 =
/// XDP_PASS`).
const LOOKUP_JUMP_AT: usize = 7;
/// See [`LOOKUP_JUMP_AT`].
const LOOKUP_PASS_AT: usize = 14;

/// The classic sixteen slots: look the queue up first, redirect on a hit,
/// pass on a miss.
const fn lookup(map_fd: i32) -> [BpfInsn; 16] {
    let map = ld_map_fd(Reg::R1, map_fd);
    // The jump skips from the slot after it to the `r0 = XDP_PASS` slot.
    let to_pass = (LOOKUP_PASS_AT - (LOOKUP_JUMP_AT + 1)) as i16;
    [
        // key = ctx->rx_queue_index, on the stack
        ldx_mem(Size::W, Reg::R2, Reg::R1, XDP_MD_RX_QUEUE_INDEX),
        stx_mem(Size::W, Reg::R10, Reg::R2, KEY_SLOT),
        // r2 = &key
        mov64_reg(Reg::R2, Reg::R10),
        alu64_imm(AluOp::Add, Reg::R2, KEY_SLOT as i32),
        // r1 = the XSKMAP (slots 4 and 5)
        map[0],
        map[1],
        // r0 = bpf_map_lookup_elem(r1, r2)
        call(BPF_FUNC_MAP_LOOKUP_ELEM),
        // no socket for this queue: pass
        jmp_imm(JmpCond::Eq, Reg::R0, 0, to_pass),
        // r2 = key again (the call clobbered r1..r5)
        ldx_mem(Size::W, Reg::R2, Reg::R10, KEY_SLOT),
        // r1 = the XSKMAP (slots 9 and 10)
        map[0],
        map[1],
        // r0 = bpf_redirect_map(r1, r2, 0)
        mov64_imm(Reg::R3, 0),
        call(BPF_FUNC_REDIRECT_MAP),
        exit(),
        // pass: r0 = XDP_PASS
        mov64_imm(Reg::R0, XDP_PASS),
        exit(),
    ]
}

/// A redirect program ready for `BPF_PROG_LOAD` (`prog_type` XDP): the
/// chosen variant's instruction slots with the XSKMAP's fd patched into
/// every map load. Fixed size, no allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RedirectProgram {
    variant: RedirectVariant,
    map_fd: i32,
    slots: [BpfInsn; MAX_SLOTS],
    len: usize,
}

impl RedirectProgram {
    /// Builds `variant` for the XSKMAP whose fd is `map_fd`.
    ///
    /// ```
    /// use afxdp_core::ebpf::{RedirectProgram, RedirectVariant};
    /// let prog = RedirectProgram::new(RedirectVariant::Fallback, 7);
    /// assert_eq!(prog.insns().len(), 6);
    /// assert_eq!(prog.insns()[1].imm, 7);
    /// ```
    pub const fn new(variant: RedirectVariant, map_fd: i32) -> RedirectProgram {
        let (slots, len) = variant.template(map_fd);
        RedirectProgram {
            variant,
            map_fd,
            slots,
            len,
        }
    }

    /// The variant this program is.
    ///
    /// ```
    /// use afxdp_core::ebpf::{RedirectProgram, RedirectVariant};
    /// let prog = RedirectProgram::new(RedirectVariant::Lookup, 3);
    /// assert_eq!(prog.variant(), RedirectVariant::Lookup);
    /// ```
    pub const fn variant(&self) -> RedirectVariant {
        self.variant
    }

    /// The map fd patched into the program.
    ///
    /// ```
    /// use afxdp_core::ebpf::{RedirectProgram, RedirectVariant};
    /// assert_eq!(RedirectProgram::new(RedirectVariant::Lookup, 3).map_fd(), 3);
    /// ```
    pub const fn map_fd(&self) -> i32 {
        self.map_fd
    }

    /// The instruction slots, to pass to `BPF_PROG_LOAD` as they are.
    ///
    /// ```
    /// use afxdp_core::ebpf::{RedirectProgram, RedirectVariant};
    /// let prog = RedirectProgram::new(RedirectVariant::Fallback, 7);
    /// assert_eq!(prog.insns()[0].to_bytes(), [0x61, 0x12, 16, 0, 0, 0, 0, 0]);
    /// ```
    pub const fn insns(&self) -> &[BpfInsn] {
        // `len` comes from `padded`, which holds it to at most `MAX_SLOTS`.
        self.slots.split_at(self.len).0
    }

    /// The indices of the slots that carry the map fd (the first slot of
    /// each `ld_imm64` with source `BPF_PSEUDO_MAP_FD`).
    ///
    /// ```
    /// use afxdp_core::ebpf::{RedirectProgram, RedirectVariant};
    /// let prog = RedirectProgram::new(RedirectVariant::Fallback, 7);
    /// assert_eq!(prog.map_fd_slots(), &[1]);
    /// ```
    pub const fn map_fd_slots(&self) -> &'static [usize] {
        match self.variant {
            RedirectVariant::Fallback => &FALLBACK_MAP_SLOTS,
            RedirectVariant::Lookup => &LOOKUP_MAP_SLOTS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::bpf::BPF_OBJ_NAME_LEN;
    use crate::ebpf::insn::LD_IMM64_CODE;
    use crate::ebpf::opcode::BPF_PSEUDO_MAP_FD;

    #[test]
    fn names_round_trip() {
        for v in RedirectVariant::ALL {
            assert_eq!(RedirectVariant::from_name(v.name()), Some(v));
        }
        assert_eq!(RedirectVariant::from_name(""), None);
        assert_eq!(RedirectVariant::from_name("lookup "), None);
    }

    #[test]
    fn map_fd_slots_are_exactly_the_pseudo_map_fd_loads() {
        for v in RedirectVariant::ALL {
            let prog = RedirectProgram::new(v, 42);
            let insns = prog.insns();
            let mut found = [0usize; MAX_SLOTS];
            let mut n = 0;
            let mut i = 0;
            while i < insns.len() {
                if insns[i].code == LD_IMM64_CODE {
                    if insns[i].src() == BPF_PSEUDO_MAP_FD {
                        found[n] = i;
                        n += 1;
                    }
                    i += 2;
                } else {
                    i += 1;
                }
            }
            assert_eq!(&found[..n], prog.map_fd_slots(), "{v}");
            for &s in prog.map_fd_slots() {
                assert_eq!(insns[s].imm, 42);
                assert_eq!(insns[s + 1], BpfInsn::default());
            }
        }
    }

    #[test]
    fn jump_constants_match_the_lookup_layout() {
        let p = lookup(1);
        assert_eq!(p[LOOKUP_JUMP_AT].code, 0x15);
        assert_eq!(p[LOOKUP_PASS_AT], mov64_imm(Reg::R0, XDP_PASS));
    }

    #[test]
    fn program_name_is_a_valid_object_name() {
        let end = PROG_NAME.iter().position(|&b| b == 0).unwrap();
        assert!(end < BPF_OBJ_NAME_LEN);
        assert_eq!(&PROG_NAME[..end], b"afxdp_redirect");
        assert!(PROG_NAME[..end]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_'));
        assert!(PROG_NAME[end..].iter().all(|&b| b == 0));
    }

    #[test]
    fn license_is_the_spec_string() {
        assert_eq!(LICENSE.to_bytes(), b"Dual MIT/GPL");
    }
}
