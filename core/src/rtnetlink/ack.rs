//! The payload of `NLMSG_ERROR` (`struct nlmsgerr` and the extended-ack
//! attributes after it): an [`Ack`] when the request succeeded, an
//! [`NlError`] when it did not.
//!
//! Layout: `i32 error`, the echoed request's `nlmsghdr`, then
//! - without `NLM_F_CAPPED`: the rest of the echoed request
//!   (`msg.nlmsg_len - 16` bytes, padded to 4);
//! - with `NLM_F_ACK_TLVS`: extended-ack attributes (`NLMSGERR_ATTR_*`).

use core::fmt;

use super::attr::Attrs;
use super::error::{AttrError, ParseError};
use super::text::{self, ByteStr};
use super::wire::{self, NLMSGERR_ERROR_LEN, NLMSG_HDRLEN};
use crate::abi::rtnetlink::{
    NlMsgHdr, NLMSGERR_ATTR_MISS_NEST, NLMSGERR_ATTR_MISS_TYPE, NLMSGERR_ATTR_MSG,
    NLMSGERR_ATTR_OFFS, NLMSG_ERROR, NLM_F_ACK_TLVS, NLM_F_CAPPED,
};
use crate::errno::Errno;

/// The extended-ack attributes of an ack or error (`NETLINK_EXT_ACK`).
///
/// All empty unless the socket asked for extended acks and the kernel had
/// something to say.
///
/// ```
/// use afxdp_core::rtnetlink::ExtAck;
/// let ext = ExtAck { msg: Some(b"XDP program already attached"), ..ExtAck::default() };
/// assert_eq!(ext.msg_str(), Some("XDP program already attached"));
/// assert!(!ext.is_empty());
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtAck<'a> {
    /// `NLMSGERR_ATTR_MSG`: the kernel's message, without its NUL.
    pub msg: Option<&'a [u8]>,
    /// `NLMSGERR_ATTR_OFFS`: offset of the offending attribute from the
    /// start of the request's `nlmsghdr`.
    pub offset: Option<u32>,
    /// `NLMSGERR_ATTR_MISS_TYPE`: type of a required attribute that was
    /// missing.
    pub missing_type: Option<u32>,
    /// `NLMSGERR_ATTR_MISS_NEST`: offset of the nest it was missing from.
    pub missing_nest: Option<u32>,
}

impl fmt::Debug for ExtAck<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExtAck")
            .field("msg", &text::debug_opt(self.msg))
            .field("offset", &self.offset)
            .field("missing_type", &self.missing_type)
            .field("missing_nest", &self.missing_nest)
            .finish()
    }
}

impl<'a> ExtAck<'a> {
    /// Reads the extended-ack attributes in `tlvs`; unknown ones (cookie,
    /// policy) are skipped.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::{AttrWriter, ExtAck};
    /// use afxdp_core::abi::rtnetlink::{NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS};
    /// let mut buf = [0u8; 32];
    /// let mut w = AttrWriter::new(&mut buf);
    /// w.put_cstr(NLMSGERR_ATTR_MSG, b"bad fd").unwrap();
    /// w.put_u32(NLMSGERR_ATTR_OFFS, 36).unwrap();
    /// let n = w.len();
    /// let ext = ExtAck::parse(&buf[..n]).unwrap();
    /// assert_eq!((ext.msg, ext.offset), (Some(&b"bad fd"[..]), Some(36)));
    /// ```
    pub fn parse(tlvs: &'a [u8]) -> Result<Self, AttrError> {
        let mut ext = Self::default();
        for attr in Attrs::new(tlvs) {
            let attr = attr?;
            match attr.kind {
                NLMSGERR_ATTR_MSG => ext.msg = Some(attr.as_cstr()?),
                NLMSGERR_ATTR_OFFS => ext.offset = Some(attr.as_u32()?),
                NLMSGERR_ATTR_MISS_TYPE => ext.missing_type = Some(attr.as_u32()?),
                NLMSGERR_ATTR_MISS_NEST => ext.missing_nest = Some(attr.as_u32()?),
                _ => {}
            }
        }
        Ok(ext)
    }

    /// Whether there is nothing in it.
    pub const fn is_empty(&self) -> bool {
        self.msg.is_none()
            && self.offset.is_none()
            && self.missing_type.is_none()
            && self.missing_nest.is_none()
    }

    /// The message as UTF-8, if there is one and it is.
    pub fn msg_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.msg?).ok()
    }
}

/// A successful ack: `NLMSG_ERROR` with `error == 0`.
///
/// The message's own `nlmsg_seq` is the request's; so is `request.nlmsg_seq`.
///
/// ```
/// use afxdp_core::rtnetlink::{Body, Message};
/// # let ack = [36u32.to_ne_bytes(), [2, 0, 0, 0], 9u32.to_ne_bytes(), 0u32.to_ne_bytes(),
/// #            0i32.to_ne_bytes(), 36u32.to_ne_bytes(), [19, 0, 5, 0],
/// #            9u32.to_ne_bytes(), 0u32.to_ne_bytes()].concat();
/// let msg = Message::parse(&ack).unwrap();
/// let Body::Ack(a) = msg.body() else { panic!() };
/// assert_eq!(a.request.nlmsg_type, 19);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ack<'a> {
    /// The header of the request acknowledged.
    pub request: NlMsgHdr,
    /// Extended-ack attributes: on success at most a warning.
    pub ext: ExtAck<'a>,
}

/// A failed request: `NLMSG_ERROR` with `error != 0`.
///
/// Displays as the errno and the kernel's message, e.g.
/// `EBUSY (Device or resource busy): XDP program already attached`.
///
/// ```
/// use afxdp_core::{Errno, rtnetlink::{ExtAck, NlError}};
/// use afxdp_core::abi::rtnetlink::NlMsgHdr;
/// let e = NlError {
///     errno: Errno::EBUSY,
///     request: NlMsgHdr::default(),
///     ext: ExtAck { msg: Some(b"XDP program already attached"), ..ExtAck::default() },
/// };
/// assert_eq!(
///     e.to_string(),
///     "EBUSY (Device or resource busy): XDP program already attached"
/// );
/// assert_eq!(Errno::from(e), Errno::EBUSY);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NlError<'a> {
    /// The error. The kernel sends it negated; this is the positive number.
    pub errno: Errno,
    /// The header of the request that failed.
    pub request: NlMsgHdr,
    /// Extended-ack attributes: the kernel's explanation, if any.
    pub ext: ExtAck<'a>,
}

impl fmt::Display for NlError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.errno)?;
        if let Some(msg) = self.ext.msg {
            write!(f, ": {}", ByteStr(msg))?;
        }
        Ok(())
    }
}

impl core::error::Error for NlError<'_> {}

impl From<NlError<'_>> for Errno {
    fn from(e: NlError<'_>) -> Self {
        e.errno
    }
}

/// A parsed `NLMSG_ERROR` payload: the raw error and what follows it.
pub(crate) struct ErrorPayload<'a> {
    pub(crate) error: i32,
    pub(crate) request: NlMsgHdr,
    pub(crate) ext: ExtAck<'a>,
}

/// Parses the payload of an `NLMSG_ERROR` message whose header has `flags`.
pub(crate) fn parse_error_payload(
    flags: u16,
    payload: &[u8],
) -> Result<ErrorPayload<'_>, ParseError> {
    let fixed = NLMSGERR_ERROR_LEN + NLMSG_HDRLEN;
    let short = ParseError::ShortPayload {
        kind: NLMSG_ERROR,
        needed: fixed,
        available: payload.len(),
    };
    let error = wire::i32_at(payload, 0).ok_or(short)?;
    let request = payload
        .get(NLMSGERR_ERROR_LEN..)
        .and_then(wire::read_nlmsghdr)
        .ok_or(short)?;
    let mut ext = ExtAck::default();
    if flags & NLM_F_ACK_TLVS != 0 {
        let bad_echo = ParseError::BadEcho {
            len: request.nlmsg_len,
        };
        let tlv_start = if flags & NLM_F_CAPPED != 0 {
            fixed
        } else {
            // The whole request is echoed: its header (already read) and its
            // payload, padded to 4.
            let echoed = usize::try_from(request.nlmsg_len).map_err(|_| bad_echo)?;
            if echoed < NLMSG_HDRLEN {
                return Err(bad_echo);
            }
            NLMSGERR_ERROR_LEN.saturating_add(wire::align(echoed))
        };
        let tlvs = payload.get(tlv_start..).ok_or(bad_echo)?;
        ext = ExtAck::parse(tlvs)?;
    }
    Ok(ErrorPayload {
        error,
        request,
        ext,
    })
}
