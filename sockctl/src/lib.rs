//! `af_xdp`: unprivileged AF_XDP, done right, with no libbpf, no libxdp and
//! no C toolchain.
//!
//! An application opens AF_XDP sockets the way DPDK's `net_af_xdp` PMD
//! does, from the same device arguments: with no BPF privilege at all when
//! a device-plugin side has prepared the interface (a pinned XSKMAP, or the
//! device-plugin handshake), or privileged, loading the embedded six-
//! instruction redirect program itself. The device-plugin side is here too:
//! [`prepare_netdev`] gives an interface its XSKMAP and program in one call.
//!
//! # A complete receiver
//!
//! ```no_run
//! use af_xdp::{FrameBuf, Port};
//! use std::time::Duration;
//!
//! // What `--vdev net_af_xdp0,iface=eth0,use_pinned_map=1` opens in DPDK.
//! let mut port = Port::open(&"iface=eth0,use_pinned_map=1".parse()?)?;
//! let mut burst = FrameBuf::with_capacity(64);
//! loop {
//!     for q in port.queues_mut() {
//!         q.receive(&mut burst);
//!         for frame in burst.iter() {
//!             let bytes = q.umem().data(frame);
//!             println!("{} bytes from {:02x?}", bytes.len(), &bytes[6..12.min(bytes.len())]);
//!         }
//!         q.release(&mut burst);
//!     }
//!     port.wait(Duration::from_millis(100))?; // or spin
//! }
//! # #[allow(unreachable_code)]
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! More in `examples/`: `pinned_rx` (the unprivileged receiver above, with
//! counts), `privileged_rx` (loads and attaches the program itself),
//! `l2fwd` (sends every frame back with its MACs swapped) and `tx` (a
//! transmitter). `cargo run --example NAME -- --help` says how to run each.
//!
//! # Layers
//!
//! - [`Port`] / [`PortQueue`]: a port from device arguments ([`Vdev`]),
//!   bursts in and out; [`prepare_netdev`]: the device-plugin side.
//! - Underneath, each public for the uncommon case: [`Umem`] and [`Frame`]
//!   (packet memory), [`SocketBuilder`] and the four queues ([`xsk`]),
//!   [`XskMap`] and [`Map`] (BPF maps), [`XdpProgram`] (the embedded
//!   program, or any other), [`Attachment`] (rtnetlink or BPF link),
//!   [`Netdev`], [`busy_poll`], [`fwd`] (the forwarding modes of
//!   `sockctl rx`, written with the public API).
//! - `afxdp-sys` (system calls) and `afxdp-core` (kernel ABI, ring protocol,
//!   codecs), both `no_std`; the types of theirs that appear here are
//!   re-exported ([`XdpStatistics`], [`PollFd`], [`Errno`], ...), so one
//!   dependency is enough.
//!
//! # Safety model
//!
//! The packet memory is shared with the kernel. A frame is owned either by
//! the kernel (it sits in the fill or TX ring) or by the application, which
//! holds it as a [`Frame`] token that cannot be copied: handing a frame to
//! the kernel moves the token into a ring, and the borrow checker forbids
//! any slice into it that is still alive. The kernel's descriptors are
//! checked against the UMEM before they become tokens, ring indices from a
//! broken peer are refused, and the data path allocates nothing.
//! The crate's `unsafe` is confined to the ring mappings and the UMEM
//! slices, each with the invariant it relies on written next to it.
//!
//! # Errors
//!
//! Every [`Error`] names the operation, the interface or path, and the
//! errno (`bind AF_XDP socket: eth0 queue 0: EBUSY (Device or resource
//! busy)`), carries an [`ErrorKind`] to match on, and a hint where one helps.

pub mod attach;
pub mod busy_poll;
pub mod cni;
pub mod doctor;
pub mod error;
pub mod fwd;
pub mod handshake;
pub mod map;
pub mod netdev;
pub mod port;
pub mod prepare;
pub mod program;
pub mod umem;
pub mod vdev;
pub mod xsk;

pub use attach::{AttachedMode, Attachment, XdpMode, XdpStatus};
pub use busy_poll::BusyPoll;
pub use error::{Error, ErrorKind, Result};
pub use map::{Map, MapSpec, XskMap};
pub use netdev::{Netdev, QueueCount};
pub use port::{Counters, Port, PortOptions, PortQueue, WaitPolicy};
pub use prepare::{prepare_netdev, AttachKind, PrepareOptions, PreparedNetdev};
pub use program::{RedirectVariant, XdpProgram};
pub use umem::{Frame, FrameBuf, Umem, UmemConfig};
pub use vdev::{MapSource, Vdev};
pub use xsk::{
    CompletionQueue, CopyMode, EmptyFrame, FillQueue, Queues, RingSizes, RxQueue, SocketBuilder,
    TxQueue, XskSocket,
};

/// Types of the lower layers that appear in this crate's API.
pub use afxdp_core::abi::bpf::{BpfMapInfo, BpfProgInfo};
pub use afxdp_core::abi::if_xdp::{XdpDesc, XdpStatistics};
pub use afxdp_core::abi::socket::PollFd;
pub use afxdp_core::umem::UmemLayout;
pub use afxdp_core::Errno;
pub use afxdp_sys::{BorrowedFd, OwnedFd};
