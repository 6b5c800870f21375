//! The errors of the codec: [`EncodeError`] when a request does not fit,
//! [`AttrError`] for a malformed attribute, [`ParseError`] for a malformed
//! message.
//!
//! These describe the bytes, never the kernel's answer: a well-formed
//! `NLMSG_ERROR` is a [`NlError`](super::NlError), not a [`ParseError`].

use core::fmt;

/// Why a request or attribute could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The buffer is too small: at least `needed` bytes are required.
    BufferTooSmall {
        /// Bytes needed up to the end of the item that did not fit.
        needed: usize,
        /// Bytes in the buffer.
        available: usize,
    },
    /// An attribute (or a nest) would be longer than `nla_len` can say
    /// (65535 bytes, header included).
    AttrTooLong {
        /// The attribute type, flags masked.
        kind: u16,
        /// Its length, header included.
        len: usize,
    },
    /// A string attribute contains a NUL byte before its end.
    InteriorNul {
        /// The attribute type.
        kind: u16,
    },
    /// An interface name is empty or longer than 15 bytes (`IFNAMSIZ - 1`).
    InvalidIfName {
        /// The length of the name given.
        len: usize,
    },
    /// [`AttrWriter::end_nest`](super::AttrWriter::end_nest) was given a
    /// [`Nest`](super::Nest) that does not belong to the bytes written.
    BadNest,
    /// A prefix length longer than the address (32 for IPv4, 128 for IPv6).
    InvalidPrefix {
        /// The prefix length given.
        len: u8,
        /// The longest the family allows.
        max: u8,
    },
    /// Addresses of different families in one request (an IPv4 route via an
    /// IPv6 gateway, an IPv6 address with an IPv4 broadcast).
    MixedFamilies,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::BufferTooSmall { needed, available } => write!(
                f,
                "netlink buffer too small: need at least {needed} bytes, have {available}"
            ),
            Self::AttrTooLong { kind, len } => {
                write!(f, "netlink attribute {kind} too long: {len} bytes")
            }
            Self::InteriorNul { kind } => {
                write!(f, "netlink string attribute {kind} contains a NUL byte")
            }
            Self::InvalidIfName { len } => {
                write!(f, "interface name of {len} bytes: must be 1 to 15 bytes")
            }
            Self::BadNest => f.write_str("netlink nest ended out of order"),
            Self::InvalidPrefix { len, max } => {
                write!(
                    f,
                    "prefix length {len} is longer than the address ({max} bits)"
                )
            }
            Self::MixedFamilies => f.write_str("IPv4 and IPv6 addresses mixed in one request"),
        }
    }
}

impl core::error::Error for EncodeError {}

/// Why a run of attributes, or one attribute's payload, is malformed.
///
/// Offsets are relative to the start of the run being iterated (for a nest:
/// its payload).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttrError {
    /// Between 1 and 3 bytes are left where an attribute header should start.
    TruncatedHeader {
        /// Offset of the leftover bytes.
        offset: usize,
        /// How many are left.
        available: usize,
    },
    /// `nla_len` is smaller than the 4-byte header.
    BadLength {
        /// Offset of the attribute.
        offset: usize,
        /// Its `nla_len`.
        len: u16,
    },
    /// `nla_len` runs past the end of the run.
    Overrun {
        /// Offset of the attribute.
        offset: usize,
        /// Its `nla_len`.
        len: u16,
        /// Bytes left from its start.
        available: usize,
    },
    /// The payload does not have the size the attribute's type needs.
    PayloadSize {
        /// The attribute type, flags masked.
        kind: u16,
        /// Size the type needs.
        expected: usize,
        /// Size found.
        actual: usize,
    },
    /// A string attribute has no terminating NUL.
    MissingNul {
        /// The attribute type.
        kind: u16,
    },
    /// A string attribute is not UTF-8.
    NotUtf8 {
        /// The attribute type.
        kind: u16,
    },
}

impl fmt::Display for AttrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TruncatedHeader { offset, available } => write!(
                f,
                "netlink attribute header truncated at offset {offset}: {available} bytes left"
            ),
            Self::BadLength { offset, len } => {
                write!(f, "netlink attribute at offset {offset} has length {len} < 4")
            }
            Self::Overrun {
                offset,
                len,
                available,
            } => write!(
                f,
                "netlink attribute at offset {offset} has length {len} but only {available} bytes are left"
            ),
            Self::PayloadSize {
                kind,
                expected,
                actual,
            } => write!(
                f,
                "netlink attribute {kind} has a {actual}-byte payload, expected {expected}"
            ),
            Self::MissingNul { kind } => {
                write!(f, "netlink string attribute {kind} is not NUL-terminated")
            }
            Self::NotUtf8 { kind } => write!(f, "netlink string attribute {kind} is not UTF-8"),
        }
    }
}

impl core::error::Error for AttrError {}

/// Why a received netlink message (or a request being parsed back) is
/// malformed.
///
/// Offsets are relative to the start of the datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// Fewer than 16 bytes are left where a message header should start.
    TruncatedHeader {
        /// Offset of the leftover bytes.
        offset: usize,
        /// How many are left.
        available: usize,
    },
    /// `nlmsg_len` is smaller than the 16-byte header.
    BadLength {
        /// Offset of the message.
        offset: usize,
        /// Its `nlmsg_len`.
        len: u32,
    },
    /// `nlmsg_len` runs past the end of the datagram.
    Truncated {
        /// Offset of the message.
        offset: usize,
        /// Its `nlmsg_len`.
        len: u32,
        /// Bytes left from its start.
        available: usize,
    },
    /// The payload is shorter than the fixed struct its type starts with
    /// (`struct nlmsgerr`, `struct ifinfomsg`).
    ShortPayload {
        /// The message type.
        kind: u16,
        /// Bytes the fixed struct needs.
        needed: usize,
        /// Bytes in the payload.
        available: usize,
    },
    /// An error ack echoes a request whose `nlmsg_len` is smaller than a
    /// header or runs past the ack.
    BadEcho {
        /// The echoed `nlmsg_len`.
        len: u32,
    },
    /// A malformed attribute.
    Attr(AttrError),
    /// The message is not of the type the parser reads.
    UnexpectedType {
        /// Its type.
        kind: u16,
    },
    /// A required attribute is missing.
    MissingAttr {
        /// The attribute type.
        kind: u16,
    },
}

impl From<AttrError> for ParseError {
    fn from(e: AttrError) -> Self {
        Self::Attr(e)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TruncatedHeader { offset, available } => write!(
                f,
                "netlink message header truncated at offset {offset}: {available} bytes left"
            ),
            Self::BadLength { offset, len } => {
                write!(f, "netlink message at offset {offset} has length {len} < 16")
            }
            Self::Truncated {
                offset,
                len,
                available,
            } => write!(
                f,
                "netlink message at offset {offset} has length {len} but only {available} bytes are left"
            ),
            Self::ShortPayload {
                kind,
                needed,
                available,
            } => write!(
                f,
                "netlink message of type {kind} has a {available}-byte payload, need {needed}"
            ),
            Self::BadEcho { len } => {
                write!(f, "netlink error ack echoes a request of impossible length {len}")
            }
            Self::Attr(e) => e.fmt(f),
            Self::UnexpectedType { kind } => write!(f, "unexpected netlink message type {kind}"),
            Self::MissingAttr { kind } => write!(f, "netlink attribute {kind} missing"),
        }
    }
}

impl core::error::Error for ParseError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Attr(e) => Some(e),
            _ => None,
        }
    }
}
