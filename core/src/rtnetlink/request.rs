//! The requests this crate sends: [`XdpSetLink`] (`RTM_SETLINK` with a nested
//! `IFLA_XDP`) attaches, replaces and detaches an XDP program; [`GetLink`]
//! (`RTM_GETLINK`) asks for one link, whose answer carries its XDP state.
//!
//! Each is a plain value with `emit` (into a caller buffer, returning the
//! message length) and `parse` (the inverse, for tests and mocks).

use super::attr::{AttrWriter, Attrs};
use super::compose::emit_request;
use super::error::{EncodeError, ParseError};
use super::message::Message;
use super::wire::{self, IFINFO_LEN, NLA_HDRLEN, NLMSG_HDRLEN};
use crate::abi::rtnetlink::{
    IfInfoMsg, IFLA_IFNAME, IFLA_XDP, IFLA_XDP_EXPECTED_FD, IFLA_XDP_FD, IFLA_XDP_FLAGS, NLM_F_ACK,
    NLM_F_REQUEST, RTM_GETLINK, RTM_SETLINK, XDP_FLAGS_REPLACE,
};

/// `IFNAMSIZ` (`linux/if.h`): an interface name and its NUL fit in 16 bytes.
const IFNAMSIZ: usize = 16;

/// Length of the `nlmsghdr` and `ifinfomsg` every link request starts with.
const FIXED_LEN: usize = NLMSG_HDRLEN + IFINFO_LEN;

/// Length of an attribute holding a 4-byte value.
const U32_ATTR_LEN: usize = NLA_HDRLEN + 4;

/// Writes a link request: `nlmsghdr` (type `kind`, `flags`, `seq`, pid 0),
/// `ifinfomsg` (`AF_UNSPEC`, `ifindex`), then the attributes `attrs` writes;
/// a buffer too small is reported as needing at least `len` (see
/// [`emit_request`]).
fn emit_link_request(
    buf: &mut [u8],
    kind: u16,
    flags: u16,
    seq: u32,
    ifindex: i32,
    len: usize,
    attrs: impl FnOnce(&mut AttrWriter<'_>) -> Result<(), EncodeError>,
) -> Result<usize, EncodeError> {
    let info = IfInfoMsg {
        ifi_index: ifindex,
        ..IfInfoMsg::default()
    };
    let mut fixed = [0u8; IFINFO_LEN];
    wire::write_ifinfomsg(&info, &mut fixed);
    emit_request(buf, kind, flags, seq, &fixed, len, attrs)
}

/// The `ifinfomsg` and attributes of a link request in `msg`, after checking
/// its type.
fn link_request<'a>(msg: &Message<'a>, kind: u16) -> Result<(IfInfoMsg, Attrs<'a>), ParseError> {
    if msg.kind() != kind {
        return Err(ParseError::UnexpectedType { kind: msg.kind() });
    }
    let payload = msg.payload();
    let info = wire::read_ifinfomsg(payload).ok_or(ParseError::ShortPayload {
        kind,
        needed: IFINFO_LEN,
        available: payload.len(),
    })?;
    let attrs = Attrs::new(payload.get(IFINFO_LEN..).unwrap_or_default());
    attrs.validate()?;
    Ok((info, attrs))
}

/// `RTM_SETLINK` with a nested `IFLA_XDP`: attach, replace or detach the XDP
/// program of one interface.
///
/// Wire form: `nlmsghdr` (`NLM_F_REQUEST | NLM_F_ACK`, pid 0), `ifinfomsg`
/// (`AF_UNSPEC`, `ifindex`), then `IFLA_XDP | NLA_F_NESTED` holding
/// `IFLA_XDP_FD`, `IFLA_XDP_FLAGS` (only when non-zero) and
/// `IFLA_XDP_EXPECTED_FD` (only when given), in that order. The kernel
/// answers with an ack or an error ([`Body::Ack`](super::Body::Ack),
/// [`Body::Error`](super::Body::Error)).
///
/// The fields are encoded exactly as given. The kernel's rules, which this
/// type does not enforce: `expected_fd` must be given if and only if
/// `flags` has `XDP_FLAGS_REPLACE` (kernel 5.7+), and `XDP_FLAGS_REPLACE`
/// cannot be combined with `XDP_FLAGS_UPDATE_IF_NOEXIST`; at most one
/// `XDP_FLAGS_*_MODE` may be set; a detach must name the mode the program
/// was attached in.
///
/// ```
/// use afxdp_core::rtnetlink::{Body, Messages, XdpSetLink};
/// use afxdp_core::abi::rtnetlink::*;
/// let req = XdpSetLink::attach(7, 5, XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST);
/// let mut buf = [0u8; XdpSetLink::MAX_LEN];
/// let n = req.emit(1, &mut buf).unwrap();
/// assert_eq!(n, req.buffer_len());
/// assert_eq!(n, 52);
///
/// // It parses back.
/// let msg = Messages::new(&buf[..n]).next().unwrap().unwrap();
/// assert_eq!(XdpSetLink::parse(&msg), Ok(req));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct XdpSetLink {
    /// The interface.
    pub ifindex: i32,
    /// `IFLA_XDP_FD`: the program to attach, or -1 to detach.
    pub prog_fd: i32,
    /// `IFLA_XDP_FLAGS` (`XDP_FLAGS_*`); not sent when 0.
    pub flags: u32,
    /// `IFLA_XDP_EXPECTED_FD`: the program that must be attached now for the
    /// replace to happen; requires `XDP_FLAGS_REPLACE` in `flags`.
    pub expected_fd: Option<i32>,
}

impl XdpSetLink {
    /// The longest message [`emit`](Self::emit) writes (flags and expected
    /// fd both present).
    pub const MAX_LEN: usize = FIXED_LEN + NLA_HDRLEN + 3 * U32_ATTR_LEN;

    /// Attach `prog_fd` to `ifindex` with `flags` (a mode flag, and
    /// `XDP_FLAGS_UPDATE_IF_NOEXIST` not to replace another program).
    ///
    /// ```
    /// use afxdp_core::rtnetlink::XdpSetLink;
    /// use afxdp_core::abi::rtnetlink::XDP_FLAGS_SKB_MODE;
    /// let req = XdpSetLink::attach(2, 9, XDP_FLAGS_SKB_MODE);
    /// assert_eq!(req.expected_fd, None);
    /// ```
    pub const fn attach(ifindex: i32, prog_fd: i32, flags: u32) -> Self {
        Self {
            ifindex,
            prog_fd,
            flags,
            expected_fd: None,
        }
    }

    /// Detach the program attached to `ifindex` in the mode `flags` names
    /// (`IFLA_XDP_FD` -1).
    ///
    /// ```
    /// use afxdp_core::rtnetlink::XdpSetLink;
    /// use afxdp_core::abi::rtnetlink::XDP_FLAGS_SKB_MODE;
    /// assert_eq!(XdpSetLink::detach(2, XDP_FLAGS_SKB_MODE).prog_fd, -1);
    /// ```
    pub const fn detach(ifindex: i32, flags: u32) -> Self {
        Self::attach(ifindex, -1, flags)
    }

    /// Atomically replace the program `expected_fd` refers to with `prog_fd`
    /// (kernel 5.7+). Adds `XDP_FLAGS_REPLACE` to `flags`; fails with
    /// `EEXIST` if another program is attached now.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::XdpSetLink;
    /// use afxdp_core::abi::rtnetlink::{XDP_FLAGS_DRV_MODE, XDP_FLAGS_REPLACE};
    /// let req = XdpSetLink::replace(2, 9, 8, XDP_FLAGS_DRV_MODE);
    /// assert_eq!(req.flags, XDP_FLAGS_DRV_MODE | XDP_FLAGS_REPLACE);
    /// assert_eq!(req.expected_fd, Some(8));
    /// ```
    pub const fn replace(ifindex: i32, prog_fd: i32, expected_fd: i32, flags: u32) -> Self {
        Self {
            ifindex,
            prog_fd,
            flags: flags | XDP_FLAGS_REPLACE,
            expected_fd: Some(expected_fd),
        }
    }

    /// The exact length [`emit`](Self::emit) writes.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::XdpSetLink;
    /// assert_eq!(XdpSetLink::detach(1, 0).buffer_len(), 44);
    /// ```
    pub const fn buffer_len(&self) -> usize {
        let flags = if self.flags != 0 { U32_ATTR_LEN } else { 0 };
        let expected = if self.expected_fd.is_some() {
            U32_ATTR_LEN
        } else {
            0
        };
        FIXED_LEN + NLA_HDRLEN + U32_ATTR_LEN + flags + expected
    }

    /// Writes the request with sequence number `seq` at the start of `buf`
    /// and returns its length. Fails only if `buf` is shorter than
    /// [`buffer_len`](Self::buffer_len).
    ///
    /// ```
    /// use afxdp_core::rtnetlink::{EncodeError, XdpSetLink};
    /// let req = XdpSetLink::detach(3, 0);
    /// let mut buf = [0u8; 64];
    /// assert_eq!(req.emit(42, &mut buf), Ok(44));
    /// assert!(matches!(req.emit(42, &mut buf[..40]), Err(EncodeError::BufferTooSmall { .. })));
    /// ```
    pub fn emit(&self, seq: u32, buf: &mut [u8]) -> Result<usize, EncodeError> {
        emit_link_request(
            buf,
            RTM_SETLINK,
            NLM_F_REQUEST | NLM_F_ACK,
            seq,
            self.ifindex,
            self.buffer_len(),
            |w| {
                let xdp = w.begin_nest(IFLA_XDP)?;
                w.put_i32(IFLA_XDP_FD, self.prog_fd)?;
                if self.flags != 0 {
                    w.put_u32(IFLA_XDP_FLAGS, self.flags)?;
                }
                if let Some(fd) = self.expected_fd {
                    w.put_i32(IFLA_XDP_EXPECTED_FD, fd)?;
                }
                w.end_nest(xdp)
            },
        )
    }

    /// Reads an `RTM_SETLINK` message back: its ifindex and the `IFLA_XDP`
    /// nest (flags absent: 0). Other attributes are ignored.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::{Message, XdpSetLink};
    /// let req = XdpSetLink::replace(4, 10, 11, 0);
    /// let mut buf = [0u8; XdpSetLink::MAX_LEN];
    /// let n = req.emit(9, &mut buf).unwrap();
    /// let msg = Message::parse(&buf[..n]).unwrap();
    /// assert_eq!(XdpSetLink::parse(&msg), Ok(req));
    /// ```
    pub fn parse(msg: &Message<'_>) -> Result<Self, ParseError> {
        let (info, attrs) = link_request(msg, RTM_SETLINK)?;
        let xdp = attrs
            .find(IFLA_XDP)?
            .ok_or(ParseError::MissingAttr { kind: IFLA_XDP })?;
        let mut prog_fd = None;
        let mut flags = 0;
        let mut expected_fd = None;
        for attr in xdp.children() {
            let attr = attr?;
            match attr.kind {
                IFLA_XDP_FD => prog_fd = Some(attr.as_i32()?),
                IFLA_XDP_FLAGS => flags = attr.as_u32()?,
                IFLA_XDP_EXPECTED_FD => expected_fd = Some(attr.as_i32()?),
                _ => {}
            }
        }
        Ok(Self {
            ifindex: info.ifi_index,
            prog_fd: prog_fd.ok_or(ParseError::MissingAttr { kind: IFLA_XDP_FD })?,
            flags,
            expected_fd,
        })
    }
}

/// `RTM_GETLINK` for one interface, by index or by name (no dump).
///
/// Wire form: `nlmsghdr` (`NLM_F_REQUEST`, pid 0), `ifinfomsg` (`AF_UNSPEC`,
/// the index, or 0 by name), and for a name an `IFLA_IFNAME` attribute. The
/// kernel answers with one `RTM_NEWLINK` ([`Body::NewLink`](super::Body::NewLink))
/// or an error.
///
/// ```
/// use afxdp_core::rtnetlink::{GetLink, Message};
/// let mut buf = [0u8; GetLink::MAX_LEN];
/// let n = GetLink::Name(b"eth0").emit(7, &mut buf).unwrap();
/// assert_eq!(n, 44);
/// let msg = Message::parse(&buf[..n]).unwrap();
/// assert_eq!(GetLink::parse(&msg), Ok(GetLink::Name(b"eth0")));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GetLink<'n> {
    /// The interface with this index.
    Index(i32),
    /// The interface with this name (1 to 15 bytes, no NUL).
    Name(&'n [u8]),
}

impl<'n> GetLink<'n> {
    /// The longest message [`emit`](Self::emit) writes (a 15-byte name).
    pub const MAX_LEN: usize = FIXED_LEN + NLA_HDRLEN + IFNAMSIZ;

    /// The exact length [`emit`](Self::emit) writes for a valid request.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::GetLink;
    /// assert_eq!(GetLink::Index(1).buffer_len(), 32);
    /// assert_eq!(GetLink::Name(b"lo").buffer_len(), 40);
    /// ```
    pub const fn buffer_len(&self) -> usize {
        match self {
            Self::Index(_) => FIXED_LEN,
            Self::Name(name) => FIXED_LEN + wire::align(NLA_HDRLEN + name.len() + 1),
        }
    }

    /// Writes the request with sequence number `seq` at the start of `buf`
    /// and returns its length. Fails if `buf` is shorter than
    /// [`buffer_len`](Self::buffer_len), or if a name is empty, longer than
    /// 15 bytes or contains a NUL.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::{EncodeError, GetLink};
    /// let mut buf = [0u8; GetLink::MAX_LEN];
    /// assert_eq!(GetLink::Index(3).emit(1, &mut buf), Ok(32));
    /// assert_eq!(
    ///     GetLink::Name(b"a-name-too-long-for-linux").emit(1, &mut buf),
    ///     Err(EncodeError::InvalidIfName { len: 25 })
    /// );
    /// ```
    pub fn emit(&self, seq: u32, buf: &mut [u8]) -> Result<usize, EncodeError> {
        match *self {
            Self::Index(ifindex) => emit_link_request(
                buf,
                RTM_GETLINK,
                NLM_F_REQUEST,
                seq,
                ifindex,
                FIXED_LEN,
                |_| Ok(()),
            ),
            Self::Name(name) => {
                if name.is_empty() || name.len() >= IFNAMSIZ {
                    return Err(EncodeError::InvalidIfName { len: name.len() });
                }
                emit_link_request(buf, RTM_GETLINK, NLM_F_REQUEST, seq, 0, FIXED_LEN, |w| {
                    w.put_cstr(IFLA_IFNAME, name)
                })
            }
        }
    }

    /// Reads an `RTM_GETLINK` message back: by name if it has
    /// `IFLA_IFNAME` and index 0, else by index.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::{GetLink, Message};
    /// let mut buf = [0u8; GetLink::MAX_LEN];
    /// let n = GetLink::Index(5).emit(1, &mut buf).unwrap();
    /// let msg = Message::parse(&buf[..n]).unwrap();
    /// assert_eq!(GetLink::parse(&msg), Ok(GetLink::Index(5)));
    /// ```
    pub fn parse<'a>(msg: &Message<'a>) -> Result<GetLink<'a>, ParseError> {
        let (info, attrs) = link_request(msg, RTM_GETLINK)?;
        match attrs.find(IFLA_IFNAME)? {
            Some(name) if info.ifi_index == 0 => Ok(GetLink::Name(name.as_cstr()?)),
            _ => Ok(GetLink::Index(info.ifi_index)),
        }
    }
}
