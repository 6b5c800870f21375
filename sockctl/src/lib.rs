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
pub mod map;
pub mod netdev;
pub mod program;

pub use attach::{Attachment, XdpMode, XdpStatus};
pub use error::{Error, Result};
pub use map::{Map, MapSpec, XskMap};
pub use netdev::{Netdev, QueueCount};
pub use program::{RedirectVariant, XdpProgram};
