//! IP addresses on links: [`AddrRequest`] adds or deletes one
//! (`RTM_NEWADDR`, `RTM_DELADDR`), [`GetAddrs`] asks for them
//! (`RTM_GETADDR` dump), [`IfAddr`] reads one from the answer.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr};

use super::attr::{AttrWriter, Attrs};
use super::compose::{
    attr_ip, emit_request, family_of, max_prefix, payload_parts, put_ip, request_parts, FAMILY_INET,
};
use super::error::{EncodeError, ParseError};
use super::message::Message;
use super::text;
use super::wire::{self, NLA_HDRLEN, NLMSG_HDRLEN};
use crate::abi::rtnetlink::{
    IfAddrMsg, IFA_ADDRESS, IFA_BROADCAST, IFA_FLAGS, IFA_LABEL, IFA_LOCAL, NLM_F_ACK,
    NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, RTM_DELADDR, RTM_GETADDR, RTM_NEWADDR,
};

/// Size of `struct ifaddrmsg`.
const IFADDR_LEN: usize = core::mem::size_of::<IfAddrMsg>();

fn write_ifaddrmsg(m: &IfAddrMsg) -> [u8; IFADDR_LEN] {
    let mut raw = [0u8; IFADDR_LEN];
    raw[0] = m.ifa_family;
    raw[1] = m.ifa_prefixlen;
    raw[2] = m.ifa_flags;
    raw[3] = m.ifa_scope;
    raw[4..8].copy_from_slice(&m.ifa_index.to_ne_bytes());
    raw
}

fn read_ifaddrmsg(b: &[u8]) -> Option<IfAddrMsg> {
    Some(IfAddrMsg {
        ifa_family: *b.first()?,
        ifa_prefixlen: *b.get(1)?,
        ifa_flags: *b.get(2)?,
        ifa_scope: *b.get(3)?,
        ifa_index: wire::u32_at(b, 4)?,
    })
}

/// Add or delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddrOp {
    /// `RTM_NEWADDR` with `NLM_F_CREATE | NLM_F_EXCL`: fails with `EEXIST`
    /// if the link has the address already.
    Add,
    /// `RTM_DELADDR`: fails with `EADDRNOTAVAIL` if it does not.
    Delete,
}

/// `RTM_NEWADDR` / `RTM_DELADDR`: one IPv4 or IPv6 address with its
/// prefix length on one link.
///
/// Wire form: `nlmsghdr` (`NLM_F_REQUEST | NLM_F_ACK`, plus
/// `NLM_F_CREATE | NLM_F_EXCL` to add), `ifaddrmsg` (family, prefix length,
/// `flags`, scope 0: universe, ifindex), `IFA_LOCAL` and `IFA_ADDRESS` both
/// the address (as `ip addr add` sends on a link that is not
/// point-to-point), then `IFA_BROADCAST` when given. Addresses are in
/// network byte order.
///
/// ```
/// use afxdp_core::rtnetlink::{AddrRequest, Message};
/// use core::net::Ipv4Addr;
/// let ip = Ipv4Addr::new(192, 168, 1, 200);
/// let req = AddrRequest::add(3, ip.into(), 24).with_broadcast(Ipv4Addr::new(192, 168, 1, 255));
/// let mut buf = [0u8; AddrRequest::MAX_LEN];
/// let n = req.emit(1, &mut buf).unwrap();
/// assert_eq!(n, 48);
/// assert_eq!(AddrRequest::parse(&Message::parse(&buf[..n]).unwrap()), Ok(req));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AddrRequest {
    /// Add or delete.
    pub op: AddrOp,
    /// The link.
    pub ifindex: u32,
    /// The address.
    pub addr: IpAddr,
    /// Its prefix length (at most 32 for IPv4, 128 for IPv6).
    pub prefix_len: u8,
    /// `ifa_flags` (`IFA_F_NODAD` to skip IPv6 duplicate address detection).
    pub flags: u8,
    /// `IFA_BROADCAST` (IPv4 only).
    pub broadcast: Option<Ipv4Addr>,
}

impl AddrRequest {
    /// The longest message [`emit`](Self::emit) writes (IPv6: two 16-byte
    /// addresses).
    pub const MAX_LEN: usize = NLMSG_HDRLEN + IFADDR_LEN + 2 * (NLA_HDRLEN + 16);

    /// Add `addr/prefix_len` to `ifindex`.
    pub const fn add(ifindex: u32, addr: IpAddr, prefix_len: u8) -> Self {
        Self {
            op: AddrOp::Add,
            ifindex,
            addr,
            prefix_len,
            flags: 0,
            broadcast: None,
        }
    }

    /// Delete `addr/prefix_len` from `ifindex`.
    pub const fn delete(ifindex: u32, addr: IpAddr, prefix_len: u8) -> Self {
        Self {
            op: AddrOp::Delete,
            ..Self::add(ifindex, addr, prefix_len)
        }
    }

    /// With `IFA_BROADCAST` (see [`ipv4_broadcast`]).
    pub const fn with_broadcast(mut self, broadcast: Ipv4Addr) -> Self {
        self.broadcast = Some(broadcast);
        self
    }

    /// With these `ifa_flags`.
    pub const fn with_flags(mut self, flags: u8) -> Self {
        self.flags = flags;
        self
    }

    const fn addr_len(&self) -> usize {
        match self.addr {
            IpAddr::V4(_) => 4,
            IpAddr::V6(_) => 16,
        }
    }

    /// The exact length [`emit`](Self::emit) writes.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::AddrRequest;
    /// let v6 = AddrRequest::add(1, "fd00::1".parse().unwrap(), 64);
    /// assert_eq!(v6.buffer_len(), AddrRequest::MAX_LEN);
    /// ```
    pub const fn buffer_len(&self) -> usize {
        let one = NLA_HDRLEN + self.addr_len();
        let bcast = if self.broadcast.is_some() {
            NLA_HDRLEN + 4
        } else {
            0
        };
        NLMSG_HDRLEN + IFADDR_LEN + 2 * one + bcast
    }

    /// Writes the request with sequence number `seq` at the start of `buf`
    /// and returns its length. Fails if `buf` is too short, the prefix is
    /// longer than the address, or an IPv6 address has a broadcast.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::{AddrRequest, EncodeError};
    /// let mut buf = [0u8; AddrRequest::MAX_LEN];
    /// let bad = AddrRequest::add(1, "10.0.0.1".parse().unwrap(), 33);
    /// assert_eq!(bad.emit(1, &mut buf), Err(EncodeError::InvalidPrefix { len: 33, max: 32 }));
    /// ```
    pub fn emit(&self, seq: u32, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let family = family_of(&self.addr);
        let max = max_prefix(family);
        if self.prefix_len > max {
            return Err(EncodeError::InvalidPrefix {
                len: self.prefix_len,
                max,
            });
        }
        if self.broadcast.is_some() && family != FAMILY_INET {
            return Err(EncodeError::MixedFamilies);
        }
        let (kind, flags) = match self.op {
            AddrOp::Add => (
                RTM_NEWADDR,
                NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            ),
            AddrOp::Delete => (RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK),
        };
        let fixed = write_ifaddrmsg(&IfAddrMsg {
            ifa_family: family,
            ifa_prefixlen: self.prefix_len,
            ifa_flags: self.flags,
            ifa_scope: 0,
            ifa_index: self.ifindex,
        });
        let len = self.buffer_len();
        emit_request(
            buf,
            kind,
            flags,
            seq,
            &fixed,
            len,
            |w: &mut AttrWriter<'_>| {
                put_ip(w, IFA_LOCAL, &self.addr)?;
                put_ip(w, IFA_ADDRESS, &self.addr)?;
                if let Some(b) = self.broadcast {
                    w.put(IFA_BROADCAST, &b.octets())?;
                }
                Ok(())
            },
        )
    }

    /// Reads an `RTM_NEWADDR` or `RTM_DELADDR` request back: the address is
    /// `IFA_LOCAL`, else `IFA_ADDRESS`.
    pub fn parse(msg: &Message<'_>) -> Result<Self, ParseError> {
        let (fixed, attrs) = request_parts(msg, &[RTM_NEWADDR, RTM_DELADDR], IFADDR_LEN)?;
        let op = if msg.kind() == RTM_NEWADDR {
            AddrOp::Add
        } else {
            AddrOp::Delete
        };
        let a = IfAddr::from_parts(msg.kind(), fixed, attrs)?;
        Ok(Self {
            op,
            ifindex: a.ifindex(),
            addr: a.ip().ok_or(ParseError::MissingAttr { kind: IFA_LOCAL })?,
            prefix_len: a.prefix_len(),
            flags: a.info.ifa_flags,
            broadcast: a.broadcast,
        })
    }
}

/// The IPv4 broadcast address of `addr/prefix_len` (all host bits set);
/// `None` for /31 and /32, which have none.
///
/// ```
/// use afxdp_core::rtnetlink::ipv4_broadcast;
/// use core::net::Ipv4Addr;
/// assert_eq!(ipv4_broadcast(Ipv4Addr::new(10, 1, 2, 3), 16), Some(Ipv4Addr::new(10, 1, 255, 255)));
/// assert_eq!(ipv4_broadcast(Ipv4Addr::new(10, 1, 2, 3), 31), None);
/// ```
pub const fn ipv4_broadcast(addr: Ipv4Addr, prefix_len: u8) -> Option<Ipv4Addr> {
    if prefix_len >= 31 {
        return None;
    }
    let host_bits = u32::MAX >> prefix_len;
    Some(Ipv4Addr::from_bits(addr.to_bits() | host_bits))
}

/// `RTM_GETADDR` dump: every address of one family (`AF_UNSPEC`: all).
///
/// Wire form: `nlmsghdr` (`NLM_F_REQUEST | NLM_F_DUMP`), `ifaddrmsg` with
/// the family and `ifindex`. The kernel filters by index only on a socket
/// with `NETLINK_GET_STRICT_CHK`; filter the answers with
/// [`IfAddr::ifindex`] either way. The answer is [`IfAddr`]s, then
/// `NLMSG_DONE`.
///
/// ```
/// use afxdp_core::rtnetlink::{GetAddrs, Message};
/// let mut buf = [0u8; GetAddrs::LEN];
/// let n = GetAddrs { family: 0, ifindex: 4 }.emit(3, &mut buf).unwrap();
/// assert_eq!(n, 24);
/// let msg = Message::parse(&buf[..n]).unwrap();
/// assert_eq!(GetAddrs::parse(&msg), Ok(GetAddrs { family: 0, ifindex: 4 }));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GetAddrs {
    /// `AF_INET`, `AF_INET6`, or 0 for both.
    pub family: u8,
    /// The link asked about (0: all).
    pub ifindex: u32,
}

impl GetAddrs {
    /// The length of the request.
    pub const LEN: usize = NLMSG_HDRLEN + IFADDR_LEN;

    /// Writes the request at the start of `buf`; returns its length.
    pub fn emit(&self, seq: u32, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let fixed = write_ifaddrmsg(&IfAddrMsg {
            ifa_family: self.family,
            ifa_index: self.ifindex,
            ..IfAddrMsg::default()
        });
        emit_request(
            buf,
            RTM_GETADDR,
            NLM_F_REQUEST | NLM_F_DUMP,
            seq,
            &fixed,
            Self::LEN,
            |_| Ok(()),
        )
    }

    /// Reads an `RTM_GETADDR` request back.
    pub fn parse(msg: &Message<'_>) -> Result<Self, ParseError> {
        let (fixed, _) = request_parts(msg, &[RTM_GETADDR], IFADDR_LEN)?;
        let m = read_ifaddrmsg(fixed).unwrap_or_default();
        Ok(Self {
            family: m.ifa_family,
            ifindex: m.ifa_index,
        })
    }
}

/// One address from an `RTM_NEWADDR` message (an answer to [`GetAddrs`],
/// or a notification).
///
/// ```
/// use afxdp_core::rtnetlink::{AddrRequest, IfAddr, Message};
/// // The kernel's answer has the layout of the request that adds it.
/// let req = AddrRequest::add(5, "fd00::7".parse().unwrap(), 64);
/// let mut buf = [0u8; AddrRequest::MAX_LEN];
/// let n = req.emit(1, &mut buf).unwrap();
/// let a = IfAddr::parse_message(&Message::parse(&buf[..n]).unwrap()).unwrap();
/// assert_eq!((a.ifindex(), a.ip(), a.prefix_len()), (5, Some(req.addr), 64));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct IfAddr<'a> {
    /// The fixed header: family, prefix length, flags, scope, index.
    pub info: IfAddrMsg,
    /// `IFA_ADDRESS`.
    pub address: Option<IpAddr>,
    /// `IFA_LOCAL`.
    pub local: Option<IpAddr>,
    /// `IFA_BROADCAST`.
    pub broadcast: Option<Ipv4Addr>,
    /// `IFA_LABEL`, without its NUL.
    pub label: Option<&'a [u8]>,
    /// `IFA_FLAGS` (all the flags), else `ifa_flags`.
    pub flags: u32,
}

impl fmt::Debug for IfAddr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IfAddr")
            .field("info", &self.info)
            .field("address", &self.address)
            .field("local", &self.local)
            .field("broadcast", &self.broadcast)
            .field("label", &text::debug_opt(self.label))
            .field("flags", &self.flags)
            .finish()
    }
}

impl<'a> IfAddr<'a> {
    /// Parses the payload of an `RTM_NEWADDR` message: an `ifaddrmsg` and
    /// attributes, which must all frame; the ones read here must have the
    /// right size for the family. Addresses of families other than IPv4 and
    /// IPv6 are left out.
    pub fn parse(payload: &'a [u8]) -> Result<Self, ParseError> {
        let (fixed, attrs) = payload_parts(RTM_NEWADDR, payload, IFADDR_LEN)?;
        Self::from_parts(RTM_NEWADDR, fixed, attrs)
    }

    /// [`parse`](Self::parse) for a whole message, which must be an
    /// `RTM_NEWADDR`.
    pub fn parse_message(msg: &Message<'a>) -> Result<Self, ParseError> {
        let (fixed, attrs) = request_parts(msg, &[RTM_NEWADDR], IFADDR_LEN)?;
        Self::from_parts(RTM_NEWADDR, fixed, attrs)
    }

    fn from_parts(kind: u16, fixed: &[u8], attrs: Attrs<'a>) -> Result<Self, ParseError> {
        let info = read_ifaddrmsg(fixed).ok_or(ParseError::ShortPayload {
            kind,
            needed: IFADDR_LEN,
            available: fixed.len(),
        })?;
        let family = info.ifa_family;
        let mut a = Self {
            info,
            address: None,
            local: None,
            broadcast: None,
            label: None,
            flags: u32::from(info.ifa_flags),
        };
        for attr in attrs {
            let attr = attr?;
            match attr.kind {
                IFA_ADDRESS => a.address = attr_ip(&attr, family)?,
                IFA_LOCAL => a.local = attr_ip(&attr, family)?,
                IFA_BROADCAST => {
                    a.broadcast = match attr_ip(&attr, family)? {
                        Some(IpAddr::V4(b)) => Some(b),
                        _ => None,
                    }
                }
                IFA_LABEL => a.label = Some(attr.as_cstr()?),
                IFA_FLAGS => a.flags = attr.as_u32()?,
                _ => {}
            }
        }
        Ok(a)
    }

    /// The link's index.
    pub const fn ifindex(&self) -> u32 {
        self.info.ifa_index
    }

    /// The prefix length.
    pub const fn prefix_len(&self) -> u8 {
        self.info.ifa_prefixlen
    }

    /// The link's own address: `IFA_LOCAL`, else `IFA_ADDRESS` (IPv6 sends
    /// only `IFA_ADDRESS`).
    pub fn ip(&self) -> Option<IpAddr> {
        self.local.or(self.address)
    }
}
