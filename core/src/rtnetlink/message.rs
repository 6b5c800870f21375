//! Received netlink messages: [`Messages`] frames a datagram into messages,
//! [`Message`] classifies one into a [`Body`].
//!
//! A datagram holds one or more messages, each a 16-byte `nlmsghdr` whose
//! `nlmsg_len` covers header and payload, padded to 4 before the next.

use core::iter::FusedIterator;

use super::ack::{self, Ack, NlError};
use super::error::ParseError;
use super::link::Link;
use super::wire::{self, NLMSG_HDRLEN};
use crate::abi::rtnetlink::{
    NlMsgHdr, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_MULTI, RTM_NEWLINK,
};
use crate::errno::Errno;

/// What a message says, by type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    /// `NLMSG_ERROR` with `error == 0`: the request succeeded.
    Ack(Ack<'a>),
    /// `NLMSG_ERROR` with `error != 0`: the request failed.
    Error(NlError<'a>),
    /// `NLMSG_DONE`: the end of a multipart answer, with the dump's error if
    /// its payload carries a non-zero one.
    Done {
        /// The error the dump ended with, if any.
        errno: Option<Errno>,
    },
    /// `NLMSG_NOOP`: to be ignored.
    Noop,
    /// `NLMSG_OVERRUN`: data was lost.
    Overrun,
    /// `RTM_NEWLINK`: a link's description.
    NewLink(Link<'a>),
    /// Any other type; its payload is [`Message::payload`].
    Other {
        /// The message type.
        kind: u16,
        /// The message's sequence number.
        seq: u32,
    },
}

/// One received netlink message: its header, its raw payload and what it
/// says.
///
/// ```
/// use afxdp_core::rtnetlink::{Body, Message};
/// // An NLMSG_DONE for sequence 3.
/// let raw = [&20u32.to_ne_bytes()[..], &3u16.to_ne_bytes(), &2u16.to_ne_bytes(),
///            &3u32.to_ne_bytes(), &0u32.to_ne_bytes(), &0i32.to_ne_bytes()].concat();
/// let msg = Message::parse(&raw).unwrap();
/// assert_eq!((msg.kind(), msg.seq(), msg.flags()), (3, 3, 2));
/// assert!(msg.answers(3));
/// assert_eq!(msg.body(), Body::Done { errno: None });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    header: NlMsgHdr,
    payload: &'a [u8],
    body: Body<'a>,
}

impl<'a> Message<'a> {
    /// Parses the message at the start of `buf` (bytes after its
    /// `nlmsg_len` are ignored). Use [`Messages`] for a whole datagram.
    pub fn parse(buf: &'a [u8]) -> Result<Self, ParseError> {
        let (header, payload) = frame(buf, 0)?;
        Self::classify(header, payload)
    }

    fn classify(header: NlMsgHdr, payload: &'a [u8]) -> Result<Self, ParseError> {
        let body = match header.nlmsg_type {
            NLMSG_ERROR => {
                let p = ack::parse_error_payload(header.nlmsg_flags, payload)?;
                if p.error == 0 {
                    Body::Ack(Ack {
                        request: p.request,
                        ext: p.ext,
                    })
                } else {
                    Body::Error(NlError {
                        errno: Errno::from_raw(p.error),
                        request: p.request,
                        ext: p.ext,
                    })
                }
            }
            NLMSG_DONE => Body::Done {
                errno: wire::i32_at(payload, 0)
                    .filter(|&e| e != 0)
                    .map(Errno::from_raw),
            },
            NLMSG_NOOP => Body::Noop,
            NLMSG_OVERRUN => Body::Overrun,
            RTM_NEWLINK => Body::NewLink(Link::parse(payload)?),
            kind => Body::Other {
                kind,
                seq: header.nlmsg_seq,
            },
        };
        Ok(Self {
            header,
            payload,
            body,
        })
    }

    /// The header.
    pub const fn header(&self) -> NlMsgHdr {
        self.header
    }

    /// `nlmsg_type`.
    pub const fn kind(&self) -> u16 {
        self.header.nlmsg_type
    }

    /// `nlmsg_flags`.
    pub const fn flags(&self) -> u16 {
        self.header.nlmsg_flags
    }

    /// `nlmsg_seq`: for an answer, the sequence number of the request.
    pub const fn seq(&self) -> u32 {
        self.header.nlmsg_seq
    }

    /// `nlmsg_pid`: for an answer from the kernel, the requester's port id.
    pub const fn pid(&self) -> u32 {
        self.header.nlmsg_pid
    }

    /// Whether `NLM_F_MULTI` is set (more messages of the answer follow,
    /// until `NLMSG_DONE`).
    pub const fn is_multipart(&self) -> bool {
        self.header.nlmsg_flags & NLM_F_MULTI != 0
    }

    /// The payload: everything after the header, up to `nlmsg_len`.
    pub const fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// What the message says.
    pub const fn body(&self) -> Body<'a> {
        self.body
    }

    /// Whether this message answers the request sent with sequence number
    /// `seq` (see [`Pending`](super::Pending) to check the port id too).
    pub const fn answers(&self, seq: u32) -> bool {
        self.header.nlmsg_seq == seq
    }
}

/// Frames the message at `offset` of `buf`: its header and its payload.
fn frame(buf: &[u8], offset: usize) -> Result<(NlMsgHdr, &[u8]), ParseError> {
    let rest = buf.get(offset..).unwrap_or_default();
    let header = wire::read_nlmsghdr(rest).ok_or(ParseError::TruncatedHeader {
        offset,
        available: rest.len(),
    })?;
    let len = header.nlmsg_len;
    let bad_len = ParseError::BadLength { offset, len };
    let truncated = ParseError::Truncated {
        offset,
        len,
        available: rest.len(),
    };
    let ulen = usize::try_from(len).map_err(|_| truncated)?;
    if ulen < NLMSG_HDRLEN {
        return Err(bad_len);
    }
    let payload = rest.get(NLMSG_HDRLEN..ulen).ok_or(truncated)?;
    Ok((header, payload))
}

/// An iterator over the messages of one received datagram.
///
/// Yields one item per message: `Ok(Message)`, or `Err` when the message
/// frames but its payload is malformed (iteration then goes on with the
/// next). When framing itself fails (fewer than 16 bytes left, `nlmsg_len`
/// below 16 or past the end) it yields one `Err` and ends. It never panics
/// and always ends, whatever the bytes.
///
/// ```
/// use afxdp_core::rtnetlink::{Body, Messages};
/// fn done(seq: u32) -> Vec<u8> {
///     [&20u32.to_ne_bytes()[..], &3u16.to_ne_bytes(), &2u16.to_ne_bytes(),
///      &seq.to_ne_bytes(), &0u32.to_ne_bytes(), &0i32.to_ne_bytes()].concat()
/// }
/// let datagram = [done(1), done(2)].concat();
/// let seqs: Vec<u32> = Messages::new(&datagram).map(|m| m.unwrap().seq()).collect();
/// assert_eq!(seqs, [1, 2]);
///
/// // Truncated: one error, then the end.
/// let mut it = Messages::new(&datagram[..30]);
/// assert!(it.next().unwrap().is_ok());
/// assert!(it.next().unwrap().is_err());
/// assert!(it.next().is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Messages<'a> {
    buf: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> Messages<'a> {
    /// Iterates over the messages in `datagram` (the bytes one `recv`
    /// returned).
    ///
    /// ```
    /// use afxdp_core::rtnetlink::Messages;
    /// assert!(Messages::new(&[]).next().is_none());
    /// ```
    pub const fn new(datagram: &'a [u8]) -> Self {
        Self {
            buf: datagram,
            offset: 0,
            failed: false,
        }
    }

    /// Offset of the next message in the datagram.
    pub const fn offset(&self) -> usize {
        self.offset
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.offset >= self.buf.len() {
            return None;
        }
        match frame(self.buf, self.offset) {
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
            Ok((header, payload)) => {
                // `frame` checked nlmsg_len >= 16, so this always advances.
                let len = usize::try_from(header.nlmsg_len).unwrap_or(usize::MAX);
                self.offset = self
                    .offset
                    .saturating_add(wire::align(len))
                    .min(self.buf.len());
                Some(Message::classify(header, payload))
            }
        }
    }
}

impl FusedIterator for Messages<'_> {}
