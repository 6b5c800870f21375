//! `linux/bpf.h`: the bpf(2) commands, map and program types, flags, the
//! per-command `union bpf_attr` layouts, the info structs, the helper ids
//! and XDP context the redirect program uses, and `struct bpf_insn`, the
//! instruction slot.
//!
//! How an instruction's opcode is composed (classes, sizes, operations,
//! pseudo source registers) is the encoder's business: see
//! [`ebpf::opcode`](crate::ebpf::opcode).
//!
//! Only the values this workspace uses are defined here (and every map type,
//! so that [`map_type_name`] can name any map the kernel reports); add others
//! from `linux/bpf.h` beside them when something needs them.
//!
//! `union bpf_attr` is given as one struct per command. The kernel copies
//! `min(size, sizeof(union bpf_attr))` bytes and zero-fills the rest, and
//! rejects non-zero bytes past the fields it knows, so passing the smaller
//! per-command struct (zeroed, then filled in) is exactly what it expects,
//! on old kernels and new.

use super::assert_layout;

// ---- commands (`enum bpf_cmd`) ----

/// Create a map; returns its fd.
pub const BPF_MAP_CREATE: u32 = 0;
/// Look up an element by key.
pub const BPF_MAP_LOOKUP_ELEM: u32 = 1;
/// Create or update an element.
pub const BPF_MAP_UPDATE_ELEM: u32 = 2;
/// Delete an element by key.
pub const BPF_MAP_DELETE_ELEM: u32 = 3;
/// Iterate over keys.
pub const BPF_MAP_GET_NEXT_KEY: u32 = 4;
/// Load (verify) a program; returns its fd.
pub const BPF_PROG_LOAD: u32 = 5;
/// Pin an object in a bpffs.
pub const BPF_OBJ_PIN: u32 = 6;
/// Open a pinned object; returns its fd.
pub const BPF_OBJ_GET: u32 = 7;
/// Run a program on test input.
pub const BPF_PROG_TEST_RUN: u32 = 10;
/// Open a program by id.
pub const BPF_PROG_GET_FD_BY_ID: u32 = 13;
/// Open a map by id.
pub const BPF_MAP_GET_FD_BY_ID: u32 = 14;
/// Describe an object: [`BpfMapInfo`], [`BpfProgInfo`], ...
pub const BPF_OBJ_GET_INFO_BY_FD: u32 = 15;
/// Create a link (an attachment held by an fd); returns its fd. Kernel 5.7+.
pub const BPF_LINK_CREATE: u32 = 28;
/// Detach a link from its hook without closing it.
pub const BPF_LINK_DETACH: u32 = 34;

// ---- map types (`enum bpf_map_type`) ----

/// Unspecified.
pub const BPF_MAP_TYPE_UNSPEC: u32 = 0;
/// Hash table.
pub const BPF_MAP_TYPE_HASH: u32 = 1;
/// Array indexed by `u32`.
pub const BPF_MAP_TYPE_ARRAY: u32 = 2;
/// Array of program fds for tail calls.
pub const BPF_MAP_TYPE_PROG_ARRAY: u32 = 3;
/// Perf event array.
pub const BPF_MAP_TYPE_PERF_EVENT_ARRAY: u32 = 4;
/// Per-CPU hash table.
pub const BPF_MAP_TYPE_PERCPU_HASH: u32 = 5;
/// Per-CPU array.
pub const BPF_MAP_TYPE_PERCPU_ARRAY: u32 = 6;
/// Stack traces.
pub const BPF_MAP_TYPE_STACK_TRACE: u32 = 7;
/// Cgroup array.
pub const BPF_MAP_TYPE_CGROUP_ARRAY: u32 = 8;
/// LRU hash table.
pub const BPF_MAP_TYPE_LRU_HASH: u32 = 9;
/// Per-CPU LRU hash table.
pub const BPF_MAP_TYPE_LRU_PERCPU_HASH: u32 = 10;
/// Longest-prefix-match trie.
pub const BPF_MAP_TYPE_LPM_TRIE: u32 = 11;
/// Array of maps.
pub const BPF_MAP_TYPE_ARRAY_OF_MAPS: u32 = 12;
/// Hash of maps.
pub const BPF_MAP_TYPE_HASH_OF_MAPS: u32 = 13;
/// Netdevs for `bpf_redirect_map`.
pub const BPF_MAP_TYPE_DEVMAP: u32 = 14;
/// Sockets for sockmap redirection.
pub const BPF_MAP_TYPE_SOCKMAP: u32 = 15;
/// CPUs for `bpf_redirect_map`.
pub const BPF_MAP_TYPE_CPUMAP: u32 = 16;
/// AF_XDP sockets for `bpf_redirect_map`: key = queue, value = socket fd.
pub const BPF_MAP_TYPE_XSKMAP: u32 = 17;
/// Socket hash.
pub const BPF_MAP_TYPE_SOCKHASH: u32 = 18;
/// Cgroup storage.
pub const BPF_MAP_TYPE_CGROUP_STORAGE: u32 = 19;
/// Reuseport socket array.
pub const BPF_MAP_TYPE_REUSEPORT_SOCKARRAY: u32 = 20;
/// Per-CPU cgroup storage.
pub const BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE: u32 = 21;
/// Queue.
pub const BPF_MAP_TYPE_QUEUE: u32 = 22;
/// Stack.
pub const BPF_MAP_TYPE_STACK: u32 = 23;
/// Socket-local storage.
pub const BPF_MAP_TYPE_SK_STORAGE: u32 = 24;
/// Netdevs by hash.
pub const BPF_MAP_TYPE_DEVMAP_HASH: u32 = 25;
/// Struct ops.
pub const BPF_MAP_TYPE_STRUCT_OPS: u32 = 26;
/// Ring buffer.
pub const BPF_MAP_TYPE_RINGBUF: u32 = 27;
/// Inode-local storage.
pub const BPF_MAP_TYPE_INODE_STORAGE: u32 = 28;
/// Task-local storage.
pub const BPF_MAP_TYPE_TASK_STORAGE: u32 = 29;
/// Bloom filter.
pub const BPF_MAP_TYPE_BLOOM_FILTER: u32 = 30;
/// User ring buffer.
pub const BPF_MAP_TYPE_USER_RINGBUF: u32 = 31;
/// Cgroup-local storage.
pub const BPF_MAP_TYPE_CGRP_STORAGE: u32 = 32;
/// Arena.
pub const BPF_MAP_TYPE_ARENA: u32 = 33;

/// The short name `bpftool` uses for a map type, if it is known here.
pub const fn map_type_name(map_type: u32) -> Option<&'static str> {
    Some(match map_type {
        BPF_MAP_TYPE_UNSPEC => "unspec",
        BPF_MAP_TYPE_HASH => "hash",
        BPF_MAP_TYPE_ARRAY => "array",
        BPF_MAP_TYPE_PROG_ARRAY => "prog_array",
        BPF_MAP_TYPE_PERF_EVENT_ARRAY => "perf_event_array",
        BPF_MAP_TYPE_PERCPU_HASH => "percpu_hash",
        BPF_MAP_TYPE_PERCPU_ARRAY => "percpu_array",
        BPF_MAP_TYPE_STACK_TRACE => "stack_trace",
        BPF_MAP_TYPE_CGROUP_ARRAY => "cgroup_array",
        BPF_MAP_TYPE_LRU_HASH => "lru_hash",
        BPF_MAP_TYPE_LRU_PERCPU_HASH => "lru_percpu_hash",
        BPF_MAP_TYPE_LPM_TRIE => "lpm_trie",
        BPF_MAP_TYPE_ARRAY_OF_MAPS => "array_of_maps",
        BPF_MAP_TYPE_HASH_OF_MAPS => "hash_of_maps",
        BPF_MAP_TYPE_DEVMAP => "devmap",
        BPF_MAP_TYPE_SOCKMAP => "sockmap",
        BPF_MAP_TYPE_CPUMAP => "cpumap",
        BPF_MAP_TYPE_XSKMAP => "xskmap",
        BPF_MAP_TYPE_SOCKHASH => "sockhash",
        BPF_MAP_TYPE_CGROUP_STORAGE => "cgroup_storage",
        BPF_MAP_TYPE_REUSEPORT_SOCKARRAY => "reuseport_sockarray",
        BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE => "percpu_cgroup_storage",
        BPF_MAP_TYPE_QUEUE => "queue",
        BPF_MAP_TYPE_STACK => "stack",
        BPF_MAP_TYPE_SK_STORAGE => "sk_storage",
        BPF_MAP_TYPE_DEVMAP_HASH => "devmap_hash",
        BPF_MAP_TYPE_STRUCT_OPS => "struct_ops",
        BPF_MAP_TYPE_RINGBUF => "ringbuf",
        BPF_MAP_TYPE_INODE_STORAGE => "inode_storage",
        BPF_MAP_TYPE_TASK_STORAGE => "task_storage",
        BPF_MAP_TYPE_BLOOM_FILTER => "bloom_filter",
        BPF_MAP_TYPE_USER_RINGBUF => "user_ringbuf",
        BPF_MAP_TYPE_CGRP_STORAGE => "cgrp_storage",
        BPF_MAP_TYPE_ARENA => "arena",
        _ => return None,
    })
}

// ---- program types (`enum bpf_prog_type`) ----

/// XDP: runs on each received frame, before the kernel allocates an skb.
pub const BPF_PROG_TYPE_XDP: u32 = 6;

// ---- attach types (`enum bpf_attach_type`) ----

/// XDP on a netdev, for `BPF_LINK_CREATE` (kernel 5.9+).
pub const BPF_XDP: u32 = 37;

// ---- flags ----

/// `BPF_MAP_UPDATE_ELEM`: create or update.
pub const BPF_ANY: u64 = 0;
/// `BPF_MAP_UPDATE_ELEM`: create only.
pub const BPF_NOEXIST: u64 = 1;
/// `BPF_MAP_UPDATE_ELEM`: update only.
pub const BPF_EXIST: u64 = 2;

/// Map or `BPF_OBJ_GET` flag: read-only from user space.
pub const BPF_F_RDONLY: u32 = 1 << 3;
/// Map or `BPF_OBJ_GET` flag: write-only from user space.
pub const BPF_F_WRONLY: u32 = 1 << 4;

/// Length of a map or program name, including the NUL.
pub const BPF_OBJ_NAME_LEN: usize = 16;
/// Length of a program tag.
pub const BPF_TAG_SIZE: usize = 8;

/// `log_level` bit: log the verifier's work.
pub const BPF_LOG_LEVEL1: u32 = 1;

// ---- helper functions (`enum bpf_func_id`) ----

/// Helper `bpf_map_lookup_elem(map, key)`.
pub const BPF_FUNC_MAP_LOOKUP_ELEM: i32 = 1;
/// Helper `bpf_redirect_map(map, key, flags)`.
pub const BPF_FUNC_REDIRECT_MAP: i32 = 51;

// ---- XDP program context (`struct xdp_md`) and verdicts (`enum xdp_action`) ----

/// XDP verdict: pass to the network stack.
pub const XDP_PASS: i32 = 2;

/// Offset of `xdp_md.rx_queue_index`.
pub const XDP_MD_RX_QUEUE_INDEX: i16 = 16;

/// `struct bpf_insn`: one eBPF instruction slot, as the kernel reads it.
///
/// Build slots with the typed encoder in [`ebpf::insn`](crate::ebpf::insn);
/// the opcode bits are in [`ebpf::opcode`](crate::ebpf::opcode).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpfInsn {
    /// Opcode: class | size/op | mode/source.
    pub code: u8,
    /// Destination register in the low nibble, source in the high nibble.
    pub regs: u8,
    /// Signed offset (memory access, jump).
    pub off: i16,
    /// Signed immediate.
    pub imm: i32,
}
assert_layout!(BpfInsn, size = 8, code @ 0, regs @ 1, off @ 2, imm @ 4);

impl BpfInsn {
    /// The destination register (low nibble of `regs`).
    pub const fn dst(&self) -> u8 {
        self.regs & 0x0f
    }
    /// The source register (high nibble of `regs`).
    pub const fn src(&self) -> u8 {
        self.regs >> 4
    }
    /// The slot's eight bytes in the kernel's (little-endian) order.
    pub const fn to_bytes(&self) -> [u8; 8] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [
            self.code, self.regs, off[0], off[1], imm[0], imm[1], imm[2], imm[3],
        ]
    }
    /// The slot read back from eight little-endian bytes.
    pub const fn from_bytes(b: [u8; 8]) -> Self {
        BpfInsn {
            code: b[0],
            regs: b[1],
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

// ---- `union bpf_attr`, one struct per command ----

/// `bpf_attr` for `BPF_MAP_CREATE`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MapCreateAttr {
    /// `BPF_MAP_TYPE_*`.
    pub map_type: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Capacity.
    pub max_entries: u32,
    /// `BPF_F_*` map flags.
    pub map_flags: u32,
    /// Inner map fd for map-in-map types.
    pub inner_map_fd: u32,
    /// NUMA node (with `BPF_F_NUMA_NODE`).
    pub numa_node: u32,
    /// NUL-padded name (kernel 4.15+).
    pub map_name: [u8; BPF_OBJ_NAME_LEN],
    /// Offload target.
    pub map_ifindex: u32,
    /// BTF fd.
    pub btf_fd: u32,
    /// BTF type of the key.
    pub btf_key_type_id: u32,
    /// BTF type of the value.
    pub btf_value_type_id: u32,
    /// BTF type in vmlinux of the value (struct ops).
    pub btf_vmlinux_value_type_id: u32,
    /// Type-specific extra (bloom filter hashes, arena address).
    pub map_extra: u64,
    /// BTF object fd of the value type.
    pub value_type_btf_obj_fd: i32,
    /// BPF token fd (kernel 6.9+).
    pub map_token_fd: i32,
}
assert_layout!(MapCreateAttr, size = 80,
    map_type @ 0, key_size @ 4, value_size @ 8, max_entries @ 12, map_flags @ 16,
    inner_map_fd @ 20, numa_node @ 24, map_name @ 28, map_ifindex @ 44, btf_fd @ 48,
    btf_key_type_id @ 52, btf_value_type_id @ 56, btf_vmlinux_value_type_id @ 60,
    map_extra @ 64, value_type_btf_obj_fd @ 72, map_token_fd @ 76);

/// `bpf_attr` for `BPF_MAP_LOOKUP_ELEM`, `BPF_MAP_UPDATE_ELEM`,
/// `BPF_MAP_DELETE_ELEM` and `BPF_MAP_GET_NEXT_KEY`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MapElemAttr {
    /// The map.
    pub map_fd: u32,
    /// Padding (zero).
    pub _pad0: u32,
    /// Address of the key.
    pub key: u64,
    /// Address of the value (lookup, update) or of the next key (get-next).
    pub value_or_next_key: u64,
    /// `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`, `BPF_F_LOCK`.
    pub flags: u64,
}
assert_layout!(MapElemAttr, size = 32, map_fd @ 0, key @ 8, value_or_next_key @ 16, flags @ 24);

/// `bpf_attr` for `BPF_OBJ_PIN` and `BPF_OBJ_GET`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObjAttr {
    /// Address of a NUL-terminated path in a bpffs.
    pub pathname: u64,
    /// `BPF_OBJ_PIN`: the object to pin.
    pub bpf_fd: u32,
    /// `BPF_OBJ_GET`: `BPF_F_RDONLY`, `BPF_F_WRONLY`, `BPF_F_PATH_FD`.
    pub file_flags: u32,
    /// Directory fd for a relative path (with `BPF_F_PATH_FD`, kernel 6.5+).
    pub path_fd: i32,
    /// Padding (zero).
    pub _pad0: u32,
}
assert_layout!(ObjAttr, size = 24, pathname @ 0, bpf_fd @ 8, file_flags @ 12, path_fd @ 16);

/// `bpf_attr` for `BPF_PROG_LOAD`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProgLoadAttr {
    /// `BPF_PROG_TYPE_*`.
    pub prog_type: u32,
    /// Number of instruction slots.
    pub insn_cnt: u32,
    /// Address of the [`BpfInsn`] array.
    pub insns: u64,
    /// Address of a NUL-terminated license string.
    pub license: u64,
    /// Verifier log level (0: no log).
    pub log_level: u32,
    /// Size of the log buffer.
    pub log_size: u32,
    /// Address of the log buffer.
    pub log_buf: u64,
    /// Kernel version (kprobes on old kernels).
    pub kern_version: u32,
    /// `BPF_F_*` program flags.
    pub prog_flags: u32,
    /// NUL-padded name.
    pub prog_name: [u8; BPF_OBJ_NAME_LEN],
    /// Offload or device-bound target.
    pub prog_ifindex: u32,
    /// Attach type the program is verified for.
    pub expected_attach_type: u32,
    /// BTF fd.
    pub prog_btf_fd: u32,
    /// BTF func info record size.
    pub func_info_rec_size: u32,
    /// BTF func info.
    pub func_info: u64,
    /// BTF func info count.
    pub func_info_cnt: u32,
    /// BTF line info record size.
    pub line_info_rec_size: u32,
    /// BTF line info.
    pub line_info: u64,
    /// BTF line info count.
    pub line_info_cnt: u32,
    /// BTF id of the attach target.
    pub attach_btf_id: u32,
    /// Program or BTF object fd of the attach target.
    pub attach_prog_fd: u32,
    /// CO-RE relocation count.
    pub core_relo_cnt: u32,
    /// Address of an fd array for `BPF_PSEUDO_MAP_IDX`.
    pub fd_array: u64,
    /// CO-RE relocations.
    pub core_relos: u64,
    /// CO-RE relocation record size.
    pub core_relo_rec_size: u32,
    /// Out: the log size the verifier needed (kernel 6.4+).
    pub log_true_size: u32,
    /// BPF token fd (kernel 6.9+).
    pub prog_token_fd: i32,
    /// Length of `fd_array` (kernel 6.14+).
    pub fd_array_cnt: u32,
}
assert_layout!(ProgLoadAttr, size = 152,
    prog_type @ 0, insn_cnt @ 4, insns @ 8, license @ 16, log_level @ 24, log_size @ 28,
    log_buf @ 32, kern_version @ 40, prog_flags @ 44, prog_name @ 48, prog_ifindex @ 64,
    expected_attach_type @ 68, prog_btf_fd @ 72, func_info_rec_size @ 76, func_info @ 80,
    func_info_cnt @ 88, line_info_rec_size @ 92, line_info @ 96, line_info_cnt @ 104,
    attach_btf_id @ 108, attach_prog_fd @ 112, core_relo_cnt @ 116, fd_array @ 120,
    core_relos @ 128, core_relo_rec_size @ 136, log_true_size @ 140, prog_token_fd @ 144,
    fd_array_cnt @ 148);

/// `bpf_attr` for `BPF_PROG_TEST_RUN`: run a program once (or `repeat`
/// times) on given input and report its return value.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TestRunAttr {
    /// The program.
    pub prog_fd: u32,
    /// Out: the program's return value.
    pub retval: u32,
    /// Bytes of input packet.
    pub data_size_in: u32,
    /// In: size of `data_out`; out: bytes written.
    pub data_size_out: u32,
    /// Address of the input packet.
    pub data_in: u64,
    /// Address of the output buffer (0 for none).
    pub data_out: u64,
    /// Runs (0 means 1).
    pub repeat: u32,
    /// Out: average run time in ns.
    pub duration: u32,
    /// Bytes of input context.
    pub ctx_size_in: u32,
    /// In: size of `ctx_out`; out: bytes written.
    pub ctx_size_out: u32,
    /// Address of the input context (`struct xdp_md` for XDP).
    pub ctx_in: u64,
    /// Address of the output context buffer.
    pub ctx_out: u64,
    /// `BPF_F_TEST_*` flags.
    pub flags: u32,
    /// CPU to run on (with `BPF_F_TEST_RUN_ON_CPU`).
    pub cpu: u32,
    /// Batch size (XDP live frames mode).
    pub batch_size: u32,
    /// Padding (zero).
    pub _pad0: u32,
}
assert_layout!(TestRunAttr, size = 80,
    prog_fd @ 0, retval @ 4, data_size_in @ 8, data_size_out @ 12, data_in @ 16, data_out @ 24,
    repeat @ 32, duration @ 36, ctx_size_in @ 40, ctx_size_out @ 44, ctx_in @ 48, ctx_out @ 56,
    flags @ 64, cpu @ 68, batch_size @ 72);

/// `bpf_attr` for `BPF_LINK_CREATE`: the fields common to every link type.
///
/// The kernel's attribute continues with a union of target-specific fields;
/// an XDP link (`attach_type = BPF_XDP`) uses none of them, and the kernel
/// zero-fills what is not passed.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkCreateAttr {
    /// The program (or map, for struct ops).
    pub prog_fd: u32,
    /// Target fd, or for XDP the target ifindex.
    pub target_ifindex: u32,
    /// `BPF_*` attach type; `BPF_XDP` for a netdev.
    pub attach_type: u32,
    /// For XDP: `XDP_FLAGS_SKB_MODE`, `XDP_FLAGS_DRV_MODE`, ...
    pub flags: u32,
}
assert_layout!(LinkCreateAttr, size = 16, prog_fd @ 0, target_ifindex @ 4, attach_type @ 8, flags @ 12);

/// `bpf_attr` for `BPF_OBJ_GET_INFO_BY_FD`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InfoByFdAttr {
    /// The object.
    pub bpf_fd: u32,
    /// In: size of the info buffer; out: bytes the kernel filled.
    pub info_len: u32,
    /// Address of the info buffer.
    pub info: u64,
}
assert_layout!(InfoByFdAttr, size = 16, bpf_fd @ 0, info_len @ 4, info @ 8);

/// `struct bpf_map_info`: what `BPF_OBJ_GET_INFO_BY_FD` says about a map.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpfMapInfo {
    /// `BPF_MAP_TYPE_*`.
    pub map_type: u32,
    /// Kernel-wide id.
    pub id: u32,
    /// Key size.
    pub key_size: u32,
    /// Value size.
    pub value_size: u32,
    /// Capacity.
    pub max_entries: u32,
    /// Map flags.
    pub map_flags: u32,
    /// NUL-padded name.
    pub name: [u8; BPF_OBJ_NAME_LEN],
    /// Offload target.
    pub ifindex: u32,
    /// BTF type in vmlinux of the value.
    pub btf_vmlinux_value_type_id: u32,
    /// Network namespace device (offload).
    pub netns_dev: u64,
    /// Network namespace inode (offload).
    pub netns_ino: u64,
    /// BTF id.
    pub btf_id: u32,
    /// BTF key type.
    pub btf_key_type_id: u32,
    /// BTF value type.
    pub btf_value_type_id: u32,
    /// BTF vmlinux id.
    pub btf_vmlinux_id: u32,
    /// Type-specific extra.
    pub map_extra: u64,
}
assert_layout!(BpfMapInfo, size = 88,
    map_type @ 0, id @ 4, key_size @ 8, value_size @ 12, max_entries @ 16, map_flags @ 20,
    name @ 24, ifindex @ 40, btf_vmlinux_value_type_id @ 44, netns_dev @ 48, netns_ino @ 56,
    btf_id @ 64, btf_key_type_id @ 68, btf_value_type_id @ 72, btf_vmlinux_id @ 76,
    map_extra @ 80);

/// `BPF_LINK_TYPE_XDP`: a link holding an XDP program on a netdev.
pub const BPF_LINK_TYPE_XDP: u32 = 6;

/// The head of `struct bpf_link_info`: what `BPF_OBJ_GET_INFO_BY_FD` says
/// about a link, with the first 32 bytes of its per-type union (for an XDP
/// link, `detail[0]` is the netdev's ifindex). The kernel fills as much as
/// the length given allows.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpfLinkInfo {
    /// `BPF_LINK_TYPE_*`.
    pub link_type: u32,
    /// Kernel-wide link id.
    pub id: u32,
    /// The program it holds.
    pub prog_id: u32,
    /// Padding before the 8-aligned union.
    pub _pad: u32,
    /// The per-type union's first words (`xdp.ifindex` is `detail[0]`).
    pub detail: [u32; 8],
}
assert_layout!(BpfLinkInfo, size = 48, link_type @ 0, id @ 4, prog_id @ 8, _pad @ 12, detail @ 16);

/// `struct bpf_prog_info`: what `BPF_OBJ_GET_INFO_BY_FD` says about a program.
///
/// The pointer fields (`jited_prog_insns`, `map_ids`, ...) are inputs: leave
/// them zero (with their counts zero) unless you pass buffers to fill.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpfProgInfo {
    /// `BPF_PROG_TYPE_*`.
    pub prog_type: u32,
    /// Kernel-wide id.
    pub id: u32,
    /// Hash of the translated instructions.
    pub tag: [u8; BPF_TAG_SIZE],
    /// Bytes of JITed code.
    pub jited_prog_len: u32,
    /// Bytes of translated instructions.
    pub xlated_prog_len: u32,
    /// Buffer for JITed code.
    pub jited_prog_insns: u64,
    /// Buffer for translated instructions.
    pub xlated_prog_insns: u64,
    /// Load time, ns since boot.
    pub load_time: u64,
    /// Uid of the loader.
    pub created_by_uid: u32,
    /// Number of maps used (and capacity of `map_ids`).
    pub nr_map_ids: u32,
    /// Buffer for the map ids.
    pub map_ids: u64,
    /// NUL-padded name.
    pub name: [u8; BPF_OBJ_NAME_LEN],
    /// Offload target.
    pub ifindex: u32,
    /// Bit 0: `gpl_compatible`.
    pub gpl_compatible: u32,
    /// Network namespace device (offload).
    pub netns_dev: u64,
    /// Network namespace inode (offload).
    pub netns_ino: u64,
    /// Number of JITed kernel symbols.
    pub nr_jited_ksyms: u32,
    /// Number of JITed function lengths.
    pub nr_jited_func_lens: u32,
    /// Buffer for JITed symbols.
    pub jited_ksyms: u64,
    /// Buffer for JITed function lengths.
    pub jited_func_lens: u64,
    /// BTF id.
    pub btf_id: u32,
    /// Func info record size.
    pub func_info_rec_size: u32,
    /// Buffer for func info.
    pub func_info: u64,
    /// Number of func info records.
    pub nr_func_info: u32,
    /// Number of line info records.
    pub nr_line_info: u32,
    /// Buffer for line info.
    pub line_info: u64,
    /// Buffer for JITed line info.
    pub jited_line_info: u64,
    /// Number of JITed line info records.
    pub nr_jited_line_info: u32,
    /// Line info record size.
    pub line_info_rec_size: u32,
    /// JITed line info record size.
    pub jited_line_info_rec_size: u32,
    /// Number of program tags.
    pub nr_prog_tags: u32,
    /// Buffer for program tags.
    pub prog_tags: u64,
    /// Total run time (with stats enabled).
    pub run_time_ns: u64,
    /// Run count (with stats enabled).
    pub run_cnt: u64,
    /// Recursion misses.
    pub recursion_misses: u64,
    /// Instructions the verifier processed.
    pub verified_insns: u32,
    /// BTF object id of the attach target.
    pub attach_btf_obj_id: u32,
    /// BTF id of the attach target.
    pub attach_btf_id: u32,
    /// Padding (zero).
    pub _pad0: u32,
}
assert_layout!(BpfProgInfo, size = 232,
    prog_type @ 0, id @ 4, tag @ 8, jited_prog_len @ 16, xlated_prog_len @ 20,
    jited_prog_insns @ 24, xlated_prog_insns @ 32, load_time @ 40, created_by_uid @ 48,
    nr_map_ids @ 52, map_ids @ 56, name @ 64, ifindex @ 80, gpl_compatible @ 84,
    netns_dev @ 88, netns_ino @ 96, nr_jited_ksyms @ 104, nr_jited_func_lens @ 108,
    jited_ksyms @ 112, jited_func_lens @ 120, btf_id @ 128, func_info_rec_size @ 132,
    func_info @ 136, nr_func_info @ 144, nr_line_info @ 148, line_info @ 152,
    jited_line_info @ 160, nr_jited_line_info @ 168, line_info_rec_size @ 172,
    jited_line_info_rec_size @ 176, nr_prog_tags @ 180, prog_tags @ 184, run_time_ns @ 192,
    run_cnt @ 200, recursion_misses @ 208, verified_insns @ 216, attach_btf_obj_id @ 220,
    attach_btf_id @ 224);

/// The bytes of a NUL-padded object name, up to the first NUL.
pub fn name_bytes(name: &[u8; BPF_OBJ_NAME_LEN]) -> &[u8] {
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    &name[..end]
}

/// A NUL-padded object name from `s`: the kernel accepts letters, digits,
/// `_` and `.`; other bytes become `_`, and the name is cut at 15 bytes.
pub const fn object_name(s: &str) -> [u8; BPF_OBJ_NAME_LEN] {
    let mut out = [0u8; BPF_OBJ_NAME_LEN];
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && i < BPF_OBJ_NAME_LEN - 1 {
        let c = b[i];
        out[i] = if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' {
            c
        } else {
            b'_'
        };
        i += 1;
    }
    out
}
