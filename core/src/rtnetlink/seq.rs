//! Matching answers to requests: [`SeqCounter`] hands out sequence numbers,
//! [`Pending`] tells whether a received message answers the request sent.
//!
//! A netlink socket can receive messages that answer nothing it is waiting
//! for (a late answer to an earlier, abandoned request; a notification), so
//! whoever drives the socket must check each message's `nlmsg_seq` (and,
//! once bound, `nlmsg_pid`) before acting on it.

use super::message::Message;

/// Hands out sequence numbers: increasing, wrapping, never 0 (the number
/// kernel notifications carry).
///
/// ```
/// use afxdp_core::rtnetlink::SeqCounter;
/// let mut seq = SeqCounter::new(u32::MAX);
/// assert_eq!(seq.next_seq(), u32::MAX);
/// assert_eq!(seq.next_seq(), 1);
/// assert_eq!(seq.next_seq(), 2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqCounter {
    next: u32,
}

impl SeqCounter {
    /// A counter whose first number is `start` (1 if `start` is 0). Starting
    /// from something that varies per socket, such as the time, makes a
    /// stale answer from a previous socket user unlikely to match.
    pub const fn new(start: u32) -> Self {
        Self {
            next: if start == 0 { 1 } else { start },
        }
    }

    /// The next sequence number.
    pub fn next_seq(&mut self) -> u32 {
        let seq = self.next;
        self.next = match seq.wrapping_add(1) {
            0 => 1,
            n => n,
        };
        seq
    }
}

impl Default for SeqCounter {
    fn default() -> Self {
        Self::new(1)
    }
}

/// A request in flight: tells whether a received message answers it.
///
/// ```
/// use afxdp_core::rtnetlink::{Body, Messages, Pending};
/// # let raw = [&36u32.to_ne_bytes()[..], &2u16.to_ne_bytes(), &0x100u16.to_ne_bytes(),
/// #            &9u32.to_ne_bytes(), &4242u32.to_ne_bytes(), &0i32.to_ne_bytes(),
/// #            &32u32.to_ne_bytes(), &19u16.to_ne_bytes(), &5u16.to_ne_bytes(),
/// #            &9u32.to_ne_bytes(), &0u32.to_ne_bytes()].concat();
/// // `raw` is an ack for sequence 9, sent to port 4242.
/// let pending = Pending::new(9).with_port(4242);
/// let msg = Messages::new(&raw).next().unwrap().unwrap();
/// assert!(pending.answers(&msg));
/// assert!(matches!(msg.body(), Body::Ack(_)));
/// assert!(!Pending::new(8).answers(&msg));
/// assert!(!Pending::new(9).with_port(1).answers(&msg));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pending {
    seq: u32,
    port: Option<u32>,
}

impl Pending {
    /// The request sent with sequence number `seq`; any port id accepted.
    pub const fn new(seq: u32) -> Self {
        Self { seq, port: None }
    }

    /// Also require `nlmsg_pid == port`: the kernel addresses its answers to
    /// the requesting socket's port id (from `getsockname` after the first
    /// send or an explicit bind).
    pub const fn with_port(self, port: u32) -> Self {
        Self {
            seq: self.seq,
            port: Some(port),
        }
    }

    /// The sequence number waited for.
    pub const fn seq(&self) -> u32 {
        self.seq
    }

    /// Whether `msg` answers this request: same sequence number, and same
    /// port id if one was given.
    pub const fn answers(&self, msg: &Message<'_>) -> bool {
        msg.seq() == self.seq
            && match self.port {
                Some(port) => msg.pid() == port,
                None => true,
            }
    }
}
