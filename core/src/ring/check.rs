//! [`RingCheck`]: a model of a ring that drives both ends with arbitrary
//! operations and reports the first divergence. Property tests and fuzz
//! targets share it, so the model is written once.
//!
//! The model needs no queue: the producer writes consecutive sequence
//! numbers, so the ring's whole state is two counters, and every value the
//! consumer reads must be the next number.

use core::fmt;
use core::sync::atomic::{AtomicU32, Ordering};

use super::{Consumer, Producer};
use crate::abi::if_xdp::XDP_RING_NEED_WAKEUP;

/// One step applied to a ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingOp {
    /// Reserve `n` entries, write them, submit the first `submit`.
    Produce {
        /// Entries asked for.
        n: u32,
        /// Entries submitted of those reserved (clamped to the reservation).
        submit: u32,
    },
    /// Peek `n` entries, read them, release the first `release`.
    Consume {
        /// Entries asked for.
        n: u32,
        /// Entries released of those peeked (clamped to the batch).
        release: u32,
    },
    /// The peer sets or clears `XDP_RING_NEED_WAKEUP`.
    SetNeedWakeup(bool),
}

/// How the ring diverged from the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// `reserve` gave a batch of the wrong length.
    ReserveLen {
        /// What the model expects.
        expected: u32,
        /// What the ring gave.
        got: u32,
    },
    /// `peek` gave a batch of the wrong length.
    PeekLen {
        /// What the model expects.
        expected: u32,
        /// What the ring gave.
        got: u32,
    },
    /// The consumer read a value out of order.
    Value {
        /// The sequence number expected.
        expected: u64,
        /// The value read.
        got: u64,
    },
    /// `needs_wakeup` disagrees with the flags word.
    NeedWakeup {
        /// The flag as set.
        expected: bool,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::ReserveLen { expected, got } => {
                write!(f, "reserve gave {got} entries, expected {expected}")
            }
            Violation::PeekLen { expected, got } => {
                write!(f, "peek gave {got} entries, expected {expected}")
            }
            Violation::Value { expected, got } => {
                write!(f, "read {got}, expected sequence number {expected}")
            }
            Violation::NeedWakeup { expected } => {
                write!(f, "needs_wakeup() disagrees with the flag ({expected})")
            }
        }
    }
}

/// The model: sequence numbers produced and consumed so far.
#[derive(Clone, Debug, Default)]
pub struct RingCheck {
    produced: u64,
    consumed: u64,
    need_wakeup: bool,
}

impl RingCheck {
    /// A model of an empty ring.
    pub const fn new() -> Self {
        RingCheck {
            produced: 0,
            consumed: 0,
            need_wakeup: false,
        }
    }

    /// Entries produced and not yet consumed.
    pub fn in_flight(&self) -> u64 {
        self.produced - self.consumed
    }

    /// Entries produced so far.
    pub fn produced(&self) -> u64 {
        self.produced
    }

    /// Applies `op` to both ends of one ring (and its flags word) and to the
    /// model, and checks that they agree.
    ///
    /// ```
    /// use afxdp_core::ring::{LocalRing, RingCheck, RingOp};
    /// let mut ring = LocalRing::<u64, 4>::new();
    /// let (mut p, mut c, flags) = ring.split_with_flags();
    /// let mut model = RingCheck::new();
    /// model.apply(RingOp::Produce { n: 9, submit: 9 }, &mut p, &mut c, flags).unwrap();
    /// assert_eq!(model.in_flight(), 4);
    /// ```
    pub fn apply(
        &mut self,
        op: RingOp,
        prod: &mut Producer<'_, u64>,
        cons: &mut Consumer<'_, u64>,
        flags: &AtomicU32,
    ) -> Result<(), Violation> {
        let size = u64::from(prod.size());
        match op {
            RingOp::Produce { n, submit } => {
                let expected = u64::from(n).min(size - self.in_flight()) as u32;
                let mut batch = prod.reserve(n);
                if batch.len() != expected {
                    return Err(Violation::ReserveLen {
                        expected,
                        got: batch.len(),
                    });
                }
                for i in 0..batch.len() {
                    batch.write(i, self.produced + u64::from(i));
                }
                let submitted = submit.min(batch.len());
                batch.submit_first(submitted);
                self.produced += u64::from(submitted);
            }
            RingOp::Consume { n, release } => {
                let expected = u64::from(n).min(self.in_flight()) as u32;
                let batch = cons.peek(n);
                if batch.len() != expected {
                    return Err(Violation::PeekLen {
                        expected,
                        got: batch.len(),
                    });
                }
                for (i, got) in batch.iter().enumerate() {
                    let want = self.consumed + i as u64;
                    if got != want {
                        return Err(Violation::Value {
                            expected: want,
                            got,
                        });
                    }
                }
                let released = release.min(batch.len());
                batch.release_first(released);
                self.consumed += u64::from(released);
            }
            RingOp::SetNeedWakeup(on) => {
                flags.store(if on { XDP_RING_NEED_WAKEUP } else { 0 }, Ordering::Relaxed);
                self.need_wakeup = on;
            }
        }
        if prod.needs_wakeup() != self.need_wakeup {
            return Err(Violation::NeedWakeup {
                expected: self.need_wakeup,
            });
        }
        Ok(())
    }
}
