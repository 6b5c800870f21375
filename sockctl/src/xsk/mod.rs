//! AF_XDP sockets, one concept a module:
//!
//! - [`config`]: ring sizes and copy mode;
//! - [`builder`]: [`SocketBuilder`] creates, sizes, maps and binds a socket;
//! - [`queues`]: the four rings as typed queues that move [`Frame`]s
//!   ([`FillQueue`], [`RxQueue`], [`TxQueue`], [`CompletionQueue`]);
//! - [`socket`]: [`XskSocket`], the bound socket apart from its rings.
//!
//! The data-path calls allocate nothing and make a system call only when
//! the kernel asked for a wakeup (or, bound without need-wakeup, on every
//! transmit).
//!
//! [`Frame`]: crate::Frame

pub mod builder;
pub mod config;
mod mapped;
pub mod queues;
pub mod socket;

pub use builder::SocketBuilder;
pub use config::{CopyMode, RingSizes, DEFAULT_BIND_RETRY};
pub use queues::{
    CompletionQueue, EmptyFrame, FillQueue, Queues, RxQueue, TxQueue, MAX_KICKS_PER_FLUSH,
};
pub use socket::{wait_readable, XskSocket};
