//! The AF_XDP ring protocol: single producer, single consumer, the kernel as
//! the peer.
//!
//! A ring is a power-of-two array of entries plus three shared `u32` words:
//! the producer index, the consumer index and a flags word. Indices run
//! freely and wrap at 2^32; an index's slot is `index & (size - 1)`. The
//! producer owns the entries from the producer index up to
//! `consumer + size`; the consumer owns those from the consumer index up to
//! the producer index.
//!
//! Each side caches the peer's index and reloads it (Acquire) only when the
//! cached view cannot satisfy a request; it publishes its own index with a
//! Release store. There are no other fences.
//!
//! [`Producer`] and [`Consumer`] work over raw pointers, so they run on a
//! kernel mapping (in `sockctl`) and on plain memory ([`LocalRing`]) in tests,
//! benchmarks and fuzzing alike.
//!
//! ```
//! use afxdp_core::ring::LocalRing;
//!
//! let mut ring = LocalRing::<u64, 8>::new();
//! let (mut prod, mut cons) = ring.split();
//! let mut batch = prod.reserve(3);
//! for i in 0..batch.len() {
//!     batch.write(i, 100 + u64::from(i));
//! }
//! batch.submit();
//! let got = cons.peek(8);
//! assert_eq!(got.len(), 3);
//! assert_eq!(got.read(2), 102);
//! got.release();
//! ```

mod check;
mod local;
mod queue;

pub use check::{RingCheck, RingOp, Violation};
pub use local::{split_slices, LocalRing, RingIndices};
pub use queue::{Consumer, Peeked, Producer, Reserved, RingParts};
