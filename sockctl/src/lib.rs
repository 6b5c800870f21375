//! `sockctl`: unprivileged AF_XDP, done right, as a library and a tool.
//!
//! The safe, convenient layer over `afxdp-core` (ABI, ring protocol, codecs)
//! and `afxdp-sys` (system calls):
//!
//! - [`map`]: BPF maps, and [`XskMap`], the map of AF_XDP sockets.
//! - [`netdev`]: [`Netdev`], an interface by name, with its queue count.
//! - [`program`]: [`XdpProgram`], the embedded redirect program loaded for
//!   an XSKMAP (variant probed), or any XDP program, with the verifier log.
//! - [`attach`]: attach over rtnetlink or as a BPF link, query, detach;
//!   [`Attachment`] detaches on drop.
//! - [`umem`]: [`Umem`], the packet memory, and [`Frame`], the token that
//!   says the application owns a piece of it.
//! - [`xsk`]: [`SocketBuilder`], [`XskSocket`] and its four queues; the
//!   data path allocates nothing.
//! - [`fwd`]: rxdrop, macswap and txonly over a socket ([`fwd::Port`]).
//! - [`vdev`]: DPDK's `net_af_xdp` device arguments ([`vdev::Vdev`]).
//! - [`Error`]: every failure names the operation, the interface or path,
//!   and the errno, with a hint where one helps.
//!
//! ```no_run
//! use sockctl::XskMap;
//! // What a DPDK PMD with use_pinned_map=1 does first:
//! let map = XskMap::open_pinned("/tmp/afxdp_dp/eth0/xsks_map".as_ref())?;
//! println!("XSKMAP {} with {} entries", map.id(), map.max_entries());
//! # Ok::<(), sockctl::Error>(())
//! ```

pub mod attach;
pub mod error;
pub mod fwd;
pub mod map;
pub mod netdev;
pub mod program;
pub mod umem;
pub mod vdev;
pub mod xsk;

pub use attach::{Attachment, XdpMode, XdpStatus};
pub use error::{Error, Result};
pub use map::{Map, MapSpec, XskMap};
pub use netdev::{Netdev, QueueCount};
pub use program::{RedirectVariant, XdpProgram};
pub use umem::{Frame, FrameBuf, Umem, UmemConfig};
pub use xsk::{
    CompletionQueue, CopyMode, FillQueue, Queues, RingSizes, RxQueue, SocketBuilder, TxQueue,
    XskSocket,
};
