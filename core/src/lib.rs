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
//!
//! The system calls that use these types live in `afxdp-sys`; the convenient,
//! safe API and the `sockctl` tool live in `sockctl`.
//!
//! ```
//! use afxdp_core::abi::if_xdp::XdpDesc;
//! // A descriptor as the kernel lays it out: 16 bytes.
//! assert_eq!(core::mem::size_of::<XdpDesc>(), 16);
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
