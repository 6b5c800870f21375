//! Routes: [`RouteRequest`] adds or deletes one (`RTM_NEWROUTE`,
//! `RTM_DELROUTE`): a destination prefix, through a gateway or directly on
//! a link, with the metric, table, MTU and MSS a CNI result can carry.

use core::net::IpAddr;

use super::attr::AttrWriter;
use super::compose::{
    attr_ip, emit_request, family_of, max_prefix, put_ip, request_parts, unspecified,
};
use super::error::{EncodeError, ParseError};
use super::message::Message;
use super::wire::{self, NLA_HDRLEN, NLMSG_HDRLEN};
use crate::abi::rtnetlink::{
    RtMsg, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, RTAX_ADVMSS, RTAX_MTU, RTA_DST,
    RTA_GATEWAY, RTA_METRICS, RTA_OIF, RTA_PRIORITY, RTA_TABLE, RTM_DELROUTE, RTM_NEWROUTE,
    RTN_UNICAST, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, RT_TABLE_UNSPEC,
};

/// Size of `struct rtmsg`.
const RTMSG_LEN: usize = core::mem::size_of::<RtMsg>();

fn write_rtmsg(m: &RtMsg) -> [u8; RTMSG_LEN] {
    let mut raw = [0u8; RTMSG_LEN];
    raw[..8].copy_from_slice(&[
        m.rtm_family,
        m.rtm_dst_len,
        m.rtm_src_len,
        m.rtm_tos,
        m.rtm_table,
        m.rtm_protocol,
        m.rtm_scope,
        m.rtm_type,
    ]);
    raw[8..].copy_from_slice(&m.rtm_flags.to_ne_bytes());
    raw
}

fn read_rtmsg(b: &[u8]) -> Option<RtMsg> {
    let h: [u8; 8] = b.get(..8)?.try_into().ok()?;
    Some(RtMsg {
        rtm_family: h[0],
        rtm_dst_len: h[1],
        rtm_src_len: h[2],
        rtm_tos: h[3],
        rtm_table: h[4],
        rtm_protocol: h[5],
        rtm_scope: h[6],
        rtm_type: h[7],
        rtm_flags: wire::u32_at(b, 8)?,
    })
}

/// Add or delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RouteOp {
    /// `RTM_NEWROUTE` with `NLM_F_CREATE | NLM_F_EXCL`: fails with `EEXIST`
    /// if the route is there already.
    Add,
    /// `RTM_DELROUTE`: fails with `ESRCH` if it is not.
    Delete,
}

/// `RTM_NEWROUTE` / `RTM_DELROUTE`: a unicast route to `dst/dst_len`.
///
/// Wire form: `nlmsghdr` (`NLM_F_REQUEST | NLM_F_ACK`, plus
/// `NLM_F_CREATE | NLM_F_EXCL` to add), `rtmsg` (family, `dst_len`,
/// `table` when below 256 else `RT_TABLE_UNSPEC`, `protocol`, `scope`,
/// `RTN_UNICAST`), then in this order: `RTA_DST` (left out for a default
/// route, `dst` unspecified and `dst_len` 0), `RTA_GATEWAY`, `RTA_OIF`,
/// `RTA_PRIORITY`, `RTA_TABLE` (tables from 256), and `RTA_METRICS`
/// holding `RTAX_MTU` and `RTAX_ADVMSS` when either is given.
///
/// ```
/// use afxdp_core::rtnetlink::{Message, RouteRequest};
/// use core::net::Ipv4Addr;
/// // default via 192.168.1.1 dev 3
/// let req = RouteRequest::add(Ipv4Addr::UNSPECIFIED.into(), 0)
///     .via(Ipv4Addr::new(192, 168, 1, 1).into())
///     .dev(3);
/// let mut buf = [0u8; RouteRequest::MAX_LEN];
/// let n = req.emit(1, &mut buf).unwrap();
/// assert_eq!(n, 44);
/// assert_eq!(RouteRequest::parse(&Message::parse(&buf[..n]).unwrap()), Ok(req));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RouteRequest {
    /// Add or delete.
    pub op: RouteOp,
    /// The destination prefix's address.
    pub dst: IpAddr,
    /// The destination prefix's length (0 for a default route).
    pub dst_len: u8,
    /// `RTA_GATEWAY`: the next hop, of the same family as `dst`.
    pub gateway: Option<IpAddr>,
    /// `RTA_OIF`: the output link.
    pub oif: Option<u32>,
    /// `RTA_PRIORITY`: the metric.
    pub priority: Option<u32>,
    /// The table (`RT_TABLE_MAIN`, 254, by default).
    pub table: u32,
    /// `rtm_protocol`: who installs the route (`RTPROT_BOOT` by default, as
    /// `ip route add` does).
    pub protocol: u8,
    /// `rtm_scope` (`RT_SCOPE_UNIVERSE` by default; `RT_SCOPE_LINK` for a
    /// route on the link, without gateway).
    pub scope: u8,
    /// `RTAX_MTU`: the path MTU.
    pub mtu: Option<u32>,
    /// `RTAX_ADVMSS`: the MSS to advertise.
    pub advmss: Option<u32>,
}

impl RouteRequest {
    /// The longest message [`emit`](Self::emit) writes (IPv6, every
    /// attribute).
    pub const MAX_LEN: usize = NLMSG_HDRLEN
        + RTMSG_LEN
        + 2 * (NLA_HDRLEN + 16)
        + 3 * (NLA_HDRLEN + 4)
        + NLA_HDRLEN
        + 2 * (NLA_HDRLEN + 4);

    /// Add a route to `dst/dst_len`, in the main table, universe scope,
    /// protocol `RTPROT_BOOT`, nothing else set.
    pub const fn add(dst: IpAddr, dst_len: u8) -> Self {
        Self {
            op: RouteOp::Add,
            dst,
            dst_len,
            gateway: None,
            oif: None,
            priority: None,
            table: RT_TABLE_MAIN as u32,
            protocol: RTPROT_BOOT,
            scope: RT_SCOPE_UNIVERSE,
            mtu: None,
            advmss: None,
        }
    }

    /// Delete the route to `dst/dst_len` (the other fields, when set, must
    /// match the route's).
    pub const fn delete(dst: IpAddr, dst_len: u8) -> Self {
        Self {
            op: RouteOp::Delete,
            ..Self::add(dst, dst_len)
        }
    }

    /// Through the gateway `gw`.
    pub const fn via(mut self, gw: IpAddr) -> Self {
        self.gateway = Some(gw);
        self
    }

    /// Out of link `ifindex`.
    pub const fn dev(mut self, ifindex: u32) -> Self {
        self.oif = Some(ifindex);
        self
    }

    /// With metric `priority`.
    pub const fn priority(mut self, priority: u32) -> Self {
        self.priority = Some(priority);
        self
    }

    /// In table `table`.
    pub const fn table(mut self, table: u32) -> Self {
        self.table = table;
        self
    }

    /// With scope `scope` (`RT_SCOPE_*`).
    pub const fn scope(mut self, scope: u8) -> Self {
        self.scope = scope;
        self
    }

    /// With path MTU `mtu`.
    pub const fn mtu(mut self, mtu: u32) -> Self {
        self.mtu = Some(mtu);
        self
    }

    /// With advertised MSS `advmss`.
    pub const fn advmss(mut self, advmss: u32) -> Self {
        self.advmss = Some(advmss);
        self
    }

    const fn addr_len(&self) -> usize {
        match self.dst {
            IpAddr::V4(_) => 4,
            IpAddr::V6(_) => 16,
        }
    }

    /// Whether `RTA_DST` is sent: not for a default route.
    fn has_dst(&self) -> bool {
        self.dst_len != 0 || !self.dst.is_unspecified()
    }

    /// The exact length [`emit`](Self::emit) writes.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::RouteRequest;
    /// let r = RouteRequest::add("10.0.0.0".parse().unwrap(), 8);
    /// assert_eq!(r.buffer_len(), 36);
    /// ```
    pub fn buffer_len(&self) -> usize {
        let ip = NLA_HDRLEN + self.addr_len();
        let u32_attr = NLA_HDRLEN + 4;
        let mut len = NLMSG_HDRLEN + RTMSG_LEN;
        if self.has_dst() {
            len += ip;
        }
        if self.gateway.is_some() {
            len += ip;
        }
        len += u32_attr * usize::from(self.oif.is_some());
        len += u32_attr * usize::from(self.priority.is_some());
        len += u32_attr * usize::from(self.table > 255);
        if self.mtu.is_some() || self.advmss.is_some() {
            len += NLA_HDRLEN;
            len += u32_attr * usize::from(self.mtu.is_some());
            len += u32_attr * usize::from(self.advmss.is_some());
        }
        len
    }

    /// Writes the request with sequence number `seq` at the start of `buf`
    /// and returns its length. Fails if `buf` is too short, `dst_len` is
    /// longer than the address, or the gateway's family is not `dst`'s.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::{EncodeError, RouteRequest};
    /// let mut buf = [0u8; RouteRequest::MAX_LEN];
    /// let mixed = RouteRequest::add("10.0.0.0".parse().unwrap(), 8).via("fe80::1".parse().unwrap());
    /// assert_eq!(mixed.emit(1, &mut buf), Err(EncodeError::MixedFamilies));
    /// ```
    pub fn emit(&self, seq: u32, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let family = family_of(&self.dst);
        let max = max_prefix(family);
        if self.dst_len > max {
            return Err(EncodeError::InvalidPrefix {
                len: self.dst_len,
                max,
            });
        }
        if self.gateway.is_some_and(|gw| family_of(&gw) != family) {
            return Err(EncodeError::MixedFamilies);
        }
        let (kind, flags) = match self.op {
            RouteOp::Add => (
                RTM_NEWROUTE,
                NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            ),
            RouteOp::Delete => (RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK),
        };
        let fixed = write_rtmsg(&RtMsg {
            rtm_family: family,
            rtm_dst_len: self.dst_len,
            rtm_table: u8::try_from(self.table).unwrap_or(RT_TABLE_UNSPEC),
            rtm_protocol: self.protocol,
            rtm_scope: self.scope,
            rtm_type: RTN_UNICAST,
            ..RtMsg::default()
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
                if self.has_dst() {
                    put_ip(w, RTA_DST, &self.dst)?;
                }
                if let Some(gw) = &self.gateway {
                    put_ip(w, RTA_GATEWAY, gw)?;
                }
                if let Some(oif) = self.oif {
                    w.put_u32(RTA_OIF, oif)?;
                }
                if let Some(p) = self.priority {
                    w.put_u32(RTA_PRIORITY, p)?;
                }
                if self.table > 255 {
                    w.put_u32(RTA_TABLE, self.table)?;
                }
                if self.mtu.is_some() || self.advmss.is_some() {
                    let metrics = w.begin_nest(RTA_METRICS)?;
                    if let Some(mtu) = self.mtu {
                        w.put_u32(RTAX_MTU, mtu)?;
                    }
                    if let Some(mss) = self.advmss {
                        w.put_u32(RTAX_ADVMSS, mss)?;
                    }
                    w.end_nest(metrics)?;
                }
                Ok(())
            },
        )
    }

    /// Reads an `RTM_NEWROUTE` or `RTM_DELROUTE` message back (a request,
    /// or the kernel's description of a route). Without `RTA_DST` the
    /// destination is the unspecified address of the family; a family
    /// other than IPv4 and IPv6 is an error.
    pub fn parse(msg: &Message<'_>) -> Result<Self, ParseError> {
        let (fixed, attrs) = request_parts(msg, &[RTM_NEWROUTE, RTM_DELROUTE], RTMSG_LEN)?;
        let kind = msg.kind();
        let m = read_rtmsg(fixed).ok_or(ParseError::ShortPayload {
            kind,
            needed: RTMSG_LEN,
            available: fixed.len(),
        })?;
        let family = m.rtm_family;
        let dst = unspecified(family).ok_or(ParseError::MissingAttr { kind: RTA_DST })?;
        let mut r = Self {
            op: if kind == RTM_NEWROUTE {
                RouteOp::Add
            } else {
                RouteOp::Delete
            },
            dst,
            dst_len: m.rtm_dst_len,
            gateway: None,
            oif: None,
            priority: None,
            table: u32::from(m.rtm_table),
            protocol: m.rtm_protocol,
            scope: m.rtm_scope,
            mtu: None,
            advmss: None,
        };
        for attr in attrs {
            let attr = attr?;
            match attr.kind {
                RTA_DST => r.dst = attr_ip(&attr, family)?.unwrap_or(dst),
                RTA_GATEWAY => r.gateway = attr_ip(&attr, family)?,
                RTA_OIF => r.oif = Some(attr.as_u32()?),
                RTA_PRIORITY => r.priority = Some(attr.as_u32()?),
                RTA_TABLE => r.table = attr.as_u32()?,
                RTA_METRICS => {
                    for m in attr.children() {
                        let m = m?;
                        match m.kind {
                            RTAX_MTU => r.mtu = Some(m.as_u32()?),
                            RTAX_ADVMSS => r.advmss = Some(m.as_u32()?),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(r)
    }
}
