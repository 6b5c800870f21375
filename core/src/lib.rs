//! `afxdp-core`: the pure half of an AF_XDP stack that needs no libbpf.
//!
//! Everything here is `no_std`, allocation-free and makes no system call:
//!
//! - [`abi`]: the kernel's user-space ABI (structs with compile-time layout
//!   checks, and constants), one module per header family.
//! - [`errno`]: [`Errno`], a kernel error number that prints its name and text.
//! - [`ring`]: the AF_XDP ring protocol (single producer, single consumer,
//!   the kernel as peer), over raw pointers or plain memory.
//! - [`umem`]: UMEM geometry, descriptor validation, a frame allocator.
//! - [`ebpf`]: the instruction encoder, the embedded six-instruction
//!   redirect program, a disassembler.
//! - [`rtnetlink`]: the rtnetlink messages for XDP attach, detach and query.
//! - [`handshake`]: the device-plugin handshake (DPDK's `use_cni=1`): codec
//!   and both state machines.
//!
//! The system calls that use these types live in `afxdp-sys`; the convenient,
//! safe API and the `sockctl` tool live in `af-xdp`.
//!
//! ```
//! use afxdp_core::ebpf::{disassemble, RedirectProgram, RedirectVariant};
//! use afxdp_core::handshake::{Request, Response};
//!
//! // The redirect program, as the kernel will get it (map fd 3 patched in).
//! let prog = RedirectProgram::new(RedirectVariant::Fallback, 3);
//! assert_eq!(prog.insns().len(), 6);
//! let mut text = String::new();
//! disassemble(prog.insns(), &mut text).unwrap();
//! assert!(text.contains("call bpf_redirect_map"));
//!
//! // What DPDK's PMD asks a device plugin, parsed without allocating.
//! assert_eq!(Request::parse(b"/xsk_map_fd,eth0"), Ok(Request::XskMapFd { iface: "eth0" }));
//! assert_eq!(Response::parse(b"/fd_ack"), Ok(Response::FdAck));
//! ```
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod abi;
pub mod ebpf;
pub mod errno;
pub mod handshake;
pub mod ring;
pub mod rtnetlink;
pub mod umem;

pub use errno::Errno;
