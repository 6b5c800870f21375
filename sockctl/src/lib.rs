//! `sockctl`: unprivileged AF_XDP, done right, as a library and a tool.
//!
//! The safe, convenient layer over `afxdp-core` (ABI, ring protocol, codecs)
//! and `afxdp-sys` (system calls):
//!
//! - [`map`]: BPF maps, and [`XskMap`], the map of AF_XDP sockets.
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

pub mod error;
pub mod map;

pub use error::{Error, Result};
pub use map::{Map, MapSpec, XskMap};
