//! What the link, address and route requests share: writing a request
//! (`nlmsghdr`, the message type's fixed header, attributes) into a
//! caller's buffer, reading one back, and IP addresses as attribute
//! payloads.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::attr::{Attr, AttrWriter, Attrs};
use super::error::{AttrError, EncodeError, ParseError};
use super::message::Message;
use super::wire::{self, NLMSG_HDRLEN};
use crate::abi::rtnetlink::NlMsgHdr;
use crate::abi::socket::{AF_INET, AF_INET6};

/// `AF_INET` as the one byte the address and route headers hold.
pub(crate) const FAMILY_INET: u8 = AF_INET as u8;
/// `AF_INET6` as the one byte the address and route headers hold.
pub(crate) const FAMILY_INET6: u8 = AF_INET6 as u8;

/// Writes a request at the start of `buf`: `nlmsghdr` (type `kind`,
/// `flags`, `seq`, pid 0), the fixed header `fixed` (4-byte aligned
/// length), then the attributes `attrs` writes. Returns the length.
///
/// `len` is the message's whole length as the request computes it up front
/// (its `buffer_len`): a buffer too small is reported as needing at least
/// that, not just as far as writing got.
pub(crate) fn emit_request(
    buf: &mut [u8],
    kind: u16,
    flags: u16,
    seq: u32,
    fixed: &[u8],
    len: usize,
    attrs: impl FnOnce(&mut AttrWriter<'_>) -> Result<(), EncodeError>,
) -> Result<usize, EncodeError> {
    write_request(buf, kind, flags, seq, fixed, attrs).map_err(|e| match e {
        EncodeError::BufferTooSmall { needed, available } => EncodeError::BufferTooSmall {
            needed: needed.max(len),
            available,
        },
        e => e,
    })
}

/// [`emit_request`], with a too-small buffer reported as far as writing got.
fn write_request(
    buf: &mut [u8],
    kind: u16,
    flags: u16,
    seq: u32,
    fixed: &[u8],
    attrs: impl FnOnce(&mut AttrWriter<'_>) -> Result<(), EncodeError>,
) -> Result<usize, EncodeError> {
    let available = buf.len();
    let head = NLMSG_HDRLEN + wire::align(fixed.len());
    let too_small = EncodeError::BufferTooSmall {
        needed: head,
        available,
    };
    if available < head {
        return Err(too_small);
    }
    wire::put_at(buf, NLMSG_HDRLEN, fixed).ok_or(too_small)?;
    if let Some(pad) = buf.get_mut(NLMSG_HDRLEN + fixed.len()..head) {
        pad.fill(0);
    }
    let mut w = AttrWriter::at(buf, head);
    attrs(&mut w)?;
    let len = w.len();
    let header = NlMsgHdr {
        // Requests here are at most a few hundred bytes.
        nlmsg_len: u32::try_from(len).unwrap_or(u32::MAX),
        nlmsg_type: kind,
        nlmsg_flags: flags,
        nlmsg_seq: seq,
        nlmsg_pid: 0,
    };
    wire::write_nlmsghdr(&header, buf).ok_or(too_small)?;
    Ok(len)
}

/// The fixed header (`fixed_len` bytes) and the attributes of `msg`, whose
/// type must be one of `kinds`; every attribute must frame.
pub(crate) fn request_parts<'a>(
    msg: &Message<'a>,
    kinds: &[u16],
    fixed_len: usize,
) -> Result<(&'a [u8], Attrs<'a>), ParseError> {
    if !kinds.contains(&msg.kind()) {
        return Err(ParseError::UnexpectedType { kind: msg.kind() });
    }
    payload_parts(msg.kind(), msg.payload(), fixed_len)
}

/// Splits `payload` (of a message of type `kind`) into its fixed header and
/// its attributes, which must all frame.
pub(crate) fn payload_parts(
    kind: u16,
    payload: &[u8],
    fixed_len: usize,
) -> Result<(&[u8], Attrs<'_>), ParseError> {
    let fixed = payload.get(..fixed_len).ok_or(ParseError::ShortPayload {
        kind,
        needed: fixed_len,
        available: payload.len(),
    })?;
    let attrs = Attrs::new(payload.get(wire::align(fixed_len)..).unwrap_or_default());
    attrs.validate()?;
    Ok((fixed, attrs))
}

/// The address family byte of `addr`.
pub(crate) const fn family_of(addr: &IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => FAMILY_INET,
        IpAddr::V6(_) => FAMILY_INET6,
    }
}

/// The longest prefix of `family` (32 or 128; 0 for another family).
pub(crate) const fn max_prefix(family: u8) -> u8 {
    match family {
        FAMILY_INET => 32,
        FAMILY_INET6 => 128,
        _ => 0,
    }
}

/// Appends `addr` as an attribute of type `kind` (4 or 16 bytes, network
/// byte order, as the kernel keeps addresses).
pub(crate) fn put_ip(w: &mut AttrWriter<'_>, kind: u16, addr: &IpAddr) -> Result<(), EncodeError> {
    match addr {
        IpAddr::V4(a) => w.put(kind, &a.octets()),
        IpAddr::V6(a) => w.put(kind, &a.octets()),
    }
}

/// The payload of `attr` as an address of `family`: exactly 4 bytes for
/// `AF_INET`, 16 for `AF_INET6`. `None` for another family.
pub(crate) fn attr_ip(attr: &Attr<'_>, family: u8) -> Result<Option<IpAddr>, AttrError> {
    let size = |expected| AttrError::PayloadSize {
        kind: attr.kind,
        expected,
        actual: attr.payload.len(),
    };
    match family {
        FAMILY_INET => {
            let b: [u8; 4] = attr.payload.try_into().map_err(|_| size(4))?;
            Ok(Some(IpAddr::V4(Ipv4Addr::from(b))))
        }
        FAMILY_INET6 => {
            let b: [u8; 16] = attr.payload.try_into().map_err(|_| size(16))?;
            Ok(Some(IpAddr::V6(Ipv6Addr::from(b))))
        }
        _ => Ok(None),
    }
}

/// The unspecified address (`0.0.0.0` or `::`) of `family`, if it is IPv4
/// or IPv6.
pub(crate) const fn unspecified(family: u8) -> Option<IpAddr> {
    match family {
        FAMILY_INET => Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        FAMILY_INET6 => Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
        _ => None,
    }
}
