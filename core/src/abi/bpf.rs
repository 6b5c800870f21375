//! `linux/bpf.h` and `linux/bpf_common.h`: the bpf(2) commands, object
//! types, flags, the per-command `union bpf_attr` layouts, the info structs,
//! and the eBPF instruction encoding.
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
/// Attach a program to a cgroup or other legacy hook.
pub const BPF_PROG_ATTACH: u32 = 8;
/// Detach a program from a legacy hook.
pub const BPF_PROG_DETACH: u32 = 9;
/// Run a program on test input.
pub const BPF_PROG_TEST_RUN: u32 = 10;
/// Iterate over program ids.
pub const BPF_PROG_GET_NEXT_ID: u32 = 11;
/// Iterate over map ids.
pub const BPF_MAP_GET_NEXT_ID: u32 = 12;
/// Open a program by id.
pub const BPF_PROG_GET_FD_BY_ID: u32 = 13;
/// Open a map by id.
pub const BPF_MAP_GET_FD_BY_ID: u32 = 14;
/// Describe an object: [`BpfMapInfo`], [`BpfProgInfo`], ...
pub const BPF_OBJ_GET_INFO_BY_FD: u32 = 15;
/// List programs attached to a hook.
pub const BPF_PROG_QUERY: u32 = 16;
/// Attach to a raw tracepoint.
pub const BPF_RAW_TRACEPOINT_OPEN: u32 = 17;
/// Load BTF.
pub const BPF_BTF_LOAD: u32 = 18;
/// Open BTF by id.
pub const BPF_BTF_GET_FD_BY_ID: u32 = 19;
/// Query a task's fd for its program.
pub const BPF_TASK_FD_QUERY: u32 = 20;
/// Look up and delete an element.
pub const BPF_MAP_LOOKUP_AND_DELETE_ELEM: u32 = 21;
/// Make a map read-only for user space.
pub const BPF_MAP_FREEZE: u32 = 22;
/// Iterate over BTF ids.
pub const BPF_BTF_GET_NEXT_ID: u32 = 23;
/// Batched lookup.
pub const BPF_MAP_LOOKUP_BATCH: u32 = 24;
/// Batched lookup and delete.
pub const BPF_MAP_LOOKUP_AND_DELETE_BATCH: u32 = 25;
/// Batched update.
pub const BPF_MAP_UPDATE_BATCH: u32 = 26;
/// Batched delete.
pub const BPF_MAP_DELETE_BATCH: u32 = 27;
/// Create a link (an attachment held by an fd); returns its fd. Kernel 5.7+.
pub const BPF_LINK_CREATE: u32 = 28;
/// Replace a link's program.
pub const BPF_LINK_UPDATE: u32 = 29;
/// Open a link by id.
pub const BPF_LINK_GET_FD_BY_ID: u32 = 30;
/// Iterate over link ids.
pub const BPF_LINK_GET_NEXT_ID: u32 = 31;
/// Enable run-time statistics.
pub const BPF_ENABLE_STATS: u32 = 32;
/// Create an iterator.
pub const BPF_ITER_CREATE: u32 = 33;
/// Detach a link from its hook without closing it.
pub const BPF_LINK_DETACH: u32 = 34;
/// Bind a map to a program.
pub const BPF_PROG_BIND_MAP: u32 = 35;
/// Create a BPF token from a bpffs (kernel 6.9+).
pub const BPF_TOKEN_CREATE: u32 = 36;

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

/// Unspecified.
pub const BPF_PROG_TYPE_UNSPEC: u32 = 0;
/// Socket filter.
pub const BPF_PROG_TYPE_SOCKET_FILTER: u32 = 1;
/// Kprobe.
pub const BPF_PROG_TYPE_KPROBE: u32 = 2;
/// tc classifier.
pub const BPF_PROG_TYPE_SCHED_CLS: u32 = 3;
/// tc action.
pub const BPF_PROG_TYPE_SCHED_ACT: u32 = 4;
/// Tracepoint.
pub const BPF_PROG_TYPE_TRACEPOINT: u32 = 5;
/// XDP: runs on each received frame, before the kernel allocates an skb.
pub const BPF_PROG_TYPE_XDP: u32 = 6;
/// Perf event.
pub const BPF_PROG_TYPE_PERF_EVENT: u32 = 7;
/// Cgroup skb.
pub const BPF_PROG_TYPE_CGROUP_SKB: u32 = 8;
/// Cgroup socket.
pub const BPF_PROG_TYPE_CGROUP_SOCK: u32 = 9;
/// LWT input.
pub const BPF_PROG_TYPE_LWT_IN: u32 = 10;
/// LWT output.
pub const BPF_PROG_TYPE_LWT_OUT: u32 = 11;
/// LWT xmit.
pub const BPF_PROG_TYPE_LWT_XMIT: u32 = 12;
/// Socket ops.
pub const BPF_PROG_TYPE_SOCK_OPS: u32 = 13;
/// SK_SKB.
pub const BPF_PROG_TYPE_SK_SKB: u32 = 14;
/// Cgroup device.
pub const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
/// SK_MSG.
pub const BPF_PROG_TYPE_SK_MSG: u32 = 16;
/// Raw tracepoint.
pub const BPF_PROG_TYPE_RAW_TRACEPOINT: u32 = 17;
/// Cgroup socket address.
pub const BPF_PROG_TYPE_CGROUP_SOCK_ADDR: u32 = 18;
/// LWT seg6local.
pub const BPF_PROG_TYPE_LWT_SEG6LOCAL: u32 = 19;
/// LIRC mode2.
pub const BPF_PROG_TYPE_LIRC_MODE2: u32 = 20;
/// SK reuseport.
pub const BPF_PROG_TYPE_SK_REUSEPORT: u32 = 21;
/// Flow dissector.
pub const BPF_PROG_TYPE_FLOW_DISSECTOR: u32 = 22;
/// Cgroup sysctl.
pub const BPF_PROG_TYPE_CGROUP_SYSCTL: u32 = 23;
/// Writable raw tracepoint.
pub const BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE: u32 = 24;
/// Cgroup sockopt.
pub const BPF_PROG_TYPE_CGROUP_SOCKOPT: u32 = 25;
/// Tracing (fentry/fexit).
pub const BPF_PROG_TYPE_TRACING: u32 = 26;
/// Struct ops.
pub const BPF_PROG_TYPE_STRUCT_OPS: u32 = 27;
/// Extension (freplace).
pub const BPF_PROG_TYPE_EXT: u32 = 28;
/// LSM.
pub const BPF_PROG_TYPE_LSM: u32 = 29;
/// SK lookup.
pub const BPF_PROG_TYPE_SK_LOOKUP: u32 = 30;
/// Syscall.
pub const BPF_PROG_TYPE_SYSCALL: u32 = 31;
/// Netfilter.
pub const BPF_PROG_TYPE_NETFILTER: u32 = 32;

// ---- attach types (`enum bpf_attach_type`), the ones up to kernel 6.1 ----

/// Cgroup ingress.
pub const BPF_CGROUP_INET_INGRESS: u32 = 0;
/// Cgroup egress.
pub const BPF_CGROUP_INET_EGRESS: u32 = 1;
/// Cgroup socket creation.
pub const BPF_CGROUP_INET_SOCK_CREATE: u32 = 2;
/// Cgroup socket ops.
pub const BPF_CGROUP_SOCK_OPS: u32 = 3;
/// SK_SKB stream parser.
pub const BPF_SK_SKB_STREAM_PARSER: u32 = 4;
/// SK_SKB stream verdict.
pub const BPF_SK_SKB_STREAM_VERDICT: u32 = 5;
/// Cgroup device.
pub const BPF_CGROUP_DEVICE: u32 = 6;
/// SK_MSG verdict.
pub const BPF_SK_MSG_VERDICT: u32 = 7;
/// Cgroup IPv4 bind.
pub const BPF_CGROUP_INET4_BIND: u32 = 8;
/// Cgroup IPv6 bind.
pub const BPF_CGROUP_INET6_BIND: u32 = 9;
/// Cgroup IPv4 connect.
pub const BPF_CGROUP_INET4_CONNECT: u32 = 10;
/// Cgroup IPv6 connect.
pub const BPF_CGROUP_INET6_CONNECT: u32 = 11;
/// Cgroup IPv4 post-bind.
pub const BPF_CGROUP_INET4_POST_BIND: u32 = 12;
/// Cgroup IPv6 post-bind.
pub const BPF_CGROUP_INET6_POST_BIND: u32 = 13;
/// Cgroup UDPv4 sendmsg.
pub const BPF_CGROUP_UDP4_SENDMSG: u32 = 14;
/// Cgroup UDPv6 sendmsg.
pub const BPF_CGROUP_UDP6_SENDMSG: u32 = 15;
/// LIRC mode2.
pub const BPF_LIRC_MODE2: u32 = 16;
/// Flow dissector.
pub const BPF_FLOW_DISSECTOR: u32 = 17;
/// Cgroup sysctl.
pub const BPF_CGROUP_SYSCTL: u32 = 18;
/// Cgroup UDPv4 recvmsg.
pub const BPF_CGROUP_UDP4_RECVMSG: u32 = 19;
/// Cgroup UDPv6 recvmsg.
pub const BPF_CGROUP_UDP6_RECVMSG: u32 = 20;
/// Cgroup getsockopt.
pub const BPF_CGROUP_GETSOCKOPT: u32 = 21;
/// Cgroup setsockopt.
pub const BPF_CGROUP_SETSOCKOPT: u32 = 22;
/// Raw tracepoint.
pub const BPF_TRACE_RAW_TP: u32 = 23;
/// fentry.
pub const BPF_TRACE_FENTRY: u32 = 24;
/// fexit.
pub const BPF_TRACE_FEXIT: u32 = 25;
/// fmod_ret.
pub const BPF_MODIFY_RETURN: u32 = 26;
/// LSM MAC.
pub const BPF_LSM_MAC: u32 = 27;
/// Iterator.
pub const BPF_TRACE_ITER: u32 = 28;
/// Cgroup IPv4 getpeername.
pub const BPF_CGROUP_INET4_GETPEERNAME: u32 = 29;
/// Cgroup IPv6 getpeername.
pub const BPF_CGROUP_INET6_GETPEERNAME: u32 = 30;
/// Cgroup IPv4 getsockname.
pub const BPF_CGROUP_INET4_GETSOCKNAME: u32 = 31;
/// Cgroup IPv6 getsockname.
pub const BPF_CGROUP_INET6_GETSOCKNAME: u32 = 32;
/// XDP program in a devmap entry.
pub const BPF_XDP_DEVMAP: u32 = 33;
/// Cgroup socket release.
pub const BPF_CGROUP_INET_SOCK_RELEASE: u32 = 34;
/// XDP program in a cpumap entry.
pub const BPF_XDP_CPUMAP: u32 = 35;
/// SK lookup.
pub const BPF_SK_LOOKUP: u32 = 36;
/// XDP on a netdev, for `BPF_LINK_CREATE` (kernel 5.9+).
pub const BPF_XDP: u32 = 37;
/// SK_SKB verdict.
pub const BPF_SK_SKB_VERDICT: u32 = 38;
/// Reuseport select.
pub const BPF_SK_REUSEPORT_SELECT: u32 = 39;
/// Reuseport select or migrate.
pub const BPF_SK_REUSEPORT_SELECT_OR_MIGRATE: u32 = 40;
/// Perf event.
pub const BPF_PERF_EVENT: u32 = 41;
/// Kprobe multi.
pub const BPF_TRACE_KPROBE_MULTI: u32 = 42;
/// LSM cgroup.
pub const BPF_LSM_CGROUP: u32 = 43;

/// `enum bpf_link_type`: an XDP link.
pub const BPF_LINK_TYPE_XDP: u32 = 6;

// ---- flags ----

/// `BPF_MAP_UPDATE_ELEM`: create or update.
pub const BPF_ANY: u64 = 0;
/// `BPF_MAP_UPDATE_ELEM`: create only.
pub const BPF_NOEXIST: u64 = 1;
/// `BPF_MAP_UPDATE_ELEM`: update only.
pub const BPF_EXIST: u64 = 2;
/// `BPF_MAP_*_ELEM`: take the element's spin lock.
pub const BPF_F_LOCK: u64 = 4;

/// Map flag: do not preallocate hash elements.
pub const BPF_F_NO_PREALLOC: u32 = 1 << 0;
/// Map flag: per-CPU LRU lists.
pub const BPF_F_NO_COMMON_LRU: u32 = 1 << 1;
/// Map flag: `numa_node` is valid.
pub const BPF_F_NUMA_NODE: u32 = 1 << 2;
/// Map or `BPF_OBJ_GET` flag: read-only from user space.
pub const BPF_F_RDONLY: u32 = 1 << 3;
/// Map or `BPF_OBJ_GET` flag: write-only from user space.
pub const BPF_F_WRONLY: u32 = 1 << 4;
/// Map flag: read-only from programs.
pub const BPF_F_RDONLY_PROG: u32 = 1 << 7;
/// Map flag: write-only from programs.
pub const BPF_F_WRONLY_PROG: u32 = 1 << 8;
/// Map flag: the map can be mmapped.
pub const BPF_F_MMAPABLE: u32 = 1 << 10;
/// Map flag: usable as an inner map with dynamic max entries.
pub const BPF_F_INNER_MAP: u32 = 1 << 12;
/// `BPF_OBJ_PIN`/`BPF_OBJ_GET`: `path_fd` is valid (kernel 6.5+).
pub const BPF_F_PATH_FD: u32 = 1 << 14;

/// Program flag: verify with strict alignment.
pub const BPF_F_STRICT_ALIGNMENT: u32 = 1 << 0;
/// Program flag: allow any alignment.
pub const BPF_F_ANY_ALIGNMENT: u32 = 1 << 1;
/// Program flag: sleepable program.
pub const BPF_F_SLEEPABLE: u32 = 1 << 4;
/// Program flag: the XDP program handles multi-buffer frames.
pub const BPF_F_XDP_HAS_FRAGS: u32 = 1 << 5;

/// `BPF_LINK_CREATE`/`BPF_PROG_ATTACH` flag: replace a given program.
pub const BPF_F_REPLACE: u32 = 1 << 2;

/// Length of a map or program name, including the NUL.
pub const BPF_OBJ_NAME_LEN: usize = 16;
/// Length of a program tag.
pub const BPF_TAG_SIZE: usize = 8;

/// `log_level` bit: log the verifier's work.
pub const BPF_LOG_LEVEL1: u32 = 1;
/// `log_level` bit: log more of the verifier's work.
pub const BPF_LOG_LEVEL2: u32 = 2;
/// `log_level` bit: log statistics only.
pub const BPF_LOG_STATS: u32 = 4;

// ---- instruction encoding (`linux/bpf_common.h`, `linux/bpf.h`) ----

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

/// Size: 32-bit word.
pub const BPF_W: u8 = 0x00;
/// Size: 16-bit half word.
pub const BPF_H: u8 = 0x08;
/// Size: byte.
pub const BPF_B: u8 = 0x10;
/// Size: 64-bit double word.
pub const BPF_DW: u8 = 0x18;

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

/// Source: the immediate.
pub const BPF_K: u8 = 0x00;
/// Source: the source register.
pub const BPF_X: u8 = 0x08;

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

/// Most instructions a program may have (for unprivileged loaders).
pub const BPF_MAXINSNS: u32 = 4096;

/// Helper `bpf_map_lookup_elem(map, key)`.
pub const BPF_FUNC_MAP_LOOKUP_ELEM: i32 = 1;
/// Helper `bpf_redirect_map(map, key, flags)`.
pub const BPF_FUNC_REDIRECT_MAP: i32 = 51;

// ---- XDP program context and verdicts ----

/// XDP verdict: error, drop and trace.
pub const XDP_ABORTED: i32 = 0;
/// XDP verdict: drop.
pub const XDP_DROP: i32 = 1;
/// XDP verdict: pass to the network stack.
pub const XDP_PASS: i32 = 2;
/// XDP verdict: bounce out of the same netdev.
pub const XDP_TX: i32 = 3;
/// XDP verdict: redirect (to an AF_XDP socket, here).
pub const XDP_REDIRECT: i32 = 4;

/// Offset of `xdp_md.data`.
pub const XDP_MD_DATA: i16 = 0;
/// Offset of `xdp_md.data_end`.
pub const XDP_MD_DATA_END: i16 = 4;
/// Offset of `xdp_md.data_meta`.
pub const XDP_MD_DATA_META: i16 = 8;
/// Offset of `xdp_md.ingress_ifindex`.
pub const XDP_MD_INGRESS_IFINDEX: i16 = 12;
/// Offset of `xdp_md.rx_queue_index`.
pub const XDP_MD_RX_QUEUE_INDEX: i16 = 16;
/// Offset of `xdp_md.egress_ifindex`.
pub const XDP_MD_EGRESS_IFINDEX: i16 = 20;

/// `struct bpf_insn`: one eBPF instruction slot, as the kernel reads it.
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
