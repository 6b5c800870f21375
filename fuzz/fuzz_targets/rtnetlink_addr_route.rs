//! The CNI side of the rtnetlink codec: addresses (`AddrRequest`,
//! `GetAddrs`, `IfAddr`, `ipv4_broadcast`), routes (`RouteRequest`) and
//! link configuration (`SetLink`, a `Link`'s MAC and flags).
//!
//! The first byte picks a mode; the rest is its input.
//! - 0: raw bytes, as a datagram and as a bare payload. Nothing panics,
//!   every slice handed back lies inside the input, and whatever a request
//!   parser accepts re-emits (or is refused for the one reason its fields
//!   allow) and parses back to the same request.
//! - 1 to 4: one request whose fields are read from the bytes in a fixed
//!   layout (see the `*_case` functions), emitted into a buffer of the
//!   size and stale contents the input chooses. The encoder fails exactly
//!   when its documentation says, with that error; otherwise it writes
//!   `buffer_len` bytes, the same whatever the buffer held before, which
//!   frame as one message that parses back to the request.
#![no_main]

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use afxdp_core::abi::rtnetlink::{
    IFF_LOWER_UP, IFF_RUNNING, IFF_UP, IFLA_IFNAME, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP,
    NLM_F_EXCL, NLM_F_REQUEST, RTM_DELADDR, RTM_DELROUTE, RTM_GETADDR, RTM_NEWADDR, RTM_NEWROUTE,
    RTM_SETLINK,
};
use afxdp_core::rtnetlink::{
    ipv4_broadcast, AddrOp, AddrRequest, Body, EncodeError, GetAddrs, IfAddr, Link, Message,
    Messages, RouteOp, RouteRequest, SetLink,
};
use libfuzzer_sys::fuzz_target;

/// `nlmsghdr`'s size.
const HDR: usize = 16;

/// Reads fields off the front of the input; past its end, zeros.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for b in &mut out {
            *b = self.u8();
        }
        out
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.bytes())
    }

    /// 16 bytes: an IPv6 address, or an IPv4 one from the first 4.
    fn ip(&mut self, v6: bool) -> IpAddr {
        let b: [u8; 16] = self.bytes();
        if v6 {
            IpAddr::V6(Ipv6Addr::from(b))
        } else {
            IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
        }
    }

    /// Two bytes: the size (bit 7 clear: `max` plus up to 7; set: 0 to
    /// `max`, so mostly too small) and the stale byte filling it.
    fn buffer(&mut self, max: usize) -> Vec<u8> {
        let size = self.u8();
        let fill = self.u8();
        let len = if size & 0x80 == 0 {
            max + usize::from(size % 8)
        } else {
            usize::from(size & 0x7f) % (max + 1)
        };
        vec![fill; len]
    }
}

/// Whether `inner` lies inside `outer` (an empty slice always does: it
/// holds no bytes, wherever it points).
fn within(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    inner.is_empty() || (i >= o && i + inner.len() <= o + outer.len())
}

fn max_prefix(addr: &IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

/// What emitting an address or route request must give, in the order the
/// encoder checks: a prefix past the family's, then mixed families, then a
/// buffer shorter than the message's `len`.
fn expected_ip_request(
    prefix: u8,
    addr: &IpAddr,
    mixed: bool,
    available: usize,
    len: usize,
) -> Result<usize, EncodeError> {
    let max = max_prefix(addr);
    if prefix > max {
        Err(EncodeError::InvalidPrefix { len: prefix, max })
    } else if mixed {
        Err(EncodeError::MixedFamilies)
    } else if available < len {
        Err(EncodeError::BufferTooSmall {
            needed: len,
            available,
        })
    } else {
        Ok(len)
    }
}

/// `emit` wrote `n` bytes of `buf`: checks they frame as one message of
/// `kind`, `flags` and `seq`, and that emitting into a zeroed buffer writes
/// the same bytes. Returns the message.
fn check_frame<'b>(
    buf: &'b [u8],
    n: usize,
    want_len: usize,
    (kind, flags, seq): (u16, u16, u32),
    emit_zeroed: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>,
) -> Message<'b> {
    assert_eq!(n, want_len);
    assert!(n <= buf.len());
    assert_eq!(n % 4, 0);
    let mut clean = vec![0u8; buf.len()];
    assert_eq!(emit_zeroed(&mut clean), Ok(n));
    assert_eq!(clean[..n], buf[..n], "the output depends on stale bytes");
    let mut all = Messages::new(&buf[..n]);
    let msg = all.next().expect("one message").expect("it frames");
    assert!(all.next().is_none());
    let h = msg.header();
    assert_eq!(
        (
            h.nlmsg_len as usize,
            h.nlmsg_type,
            h.nlmsg_flags,
            h.nlmsg_seq,
            h.nlmsg_pid
        ),
        (n, kind, flags, seq, 0)
    );
    assert_eq!(Message::parse(&buf[..n]), Ok(msg));
    msg
}

/// Mode 1: `[op+family+broadcast][ifindex:4][addr:16][prefix][ifa_flags]
/// [broadcast:4][seq:4][buffer size][fill]`.
fn addr_case(f: &mut Fields<'_>) {
    let bits = f.u8();
    let ifindex = f.u32();
    let addr = f.ip(bits & 2 != 0);
    let prefix = f.u8();
    let ifa_flags = f.u8();
    let bcast = Ipv4Addr::from(f.bytes::<4>());
    let seq = f.u32();
    let mut req = if bits & 1 == 0 {
        AddrRequest::add(ifindex, addr, prefix)
    } else {
        AddrRequest::delete(ifindex, addr, prefix)
    }
    .with_flags(ifa_flags);
    if bits & 4 != 0 {
        req = req.with_broadcast(bcast);
    }
    let len = req.buffer_len();
    assert!(len <= AddrRequest::MAX_LEN || req.addr.is_ipv6() && req.broadcast.is_some());
    let mut buf = f.buffer(AddrRequest::MAX_LEN);
    let mixed = req.broadcast.is_some() && addr.is_ipv6();
    let expected = expected_ip_request(prefix, &addr, mixed, buf.len(), len);
    let got = req.emit(seq, &mut buf);
    assert_eq!(got, expected, "{req:?}");
    let Ok(n) = got else { return };
    let (kind, flags) = match req.op {
        AddrOp::Add => (
            RTM_NEWADDR,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        ),
        AddrOp::Delete => (RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK),
    };
    let msg = check_frame(&buf, n, len, (kind, flags, seq), |b| req.emit(seq, b));
    assert_eq!(AddrRequest::parse(&msg), Ok(req));
    // What the kernel would say about it has the same layout.
    let a = IfAddr::parse(msg.payload()).expect("the payload parses");
    assert_eq!(
        (a.ifindex(), a.ip(), a.local, a.address, a.prefix_len()),
        (ifindex, Some(addr), Some(addr), Some(addr), prefix)
    );
    assert_eq!(
        (a.broadcast, a.label, a.flags),
        (req.broadcast, None, u32::from(ifa_flags))
    );
    assert_eq!(IfAddr::parse_message(&msg).is_ok(), req.op == AddrOp::Add);

    // The broadcast address of the same prefix.
    if let IpAddr::V4(a4) = addr {
        match ipv4_broadcast(a4, prefix) {
            None => assert!(prefix >= 31),
            Some(b) => {
                assert!(prefix < 31);
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                assert_eq!(b.to_bits() & mask, a4.to_bits() & mask);
                assert_eq!(b.to_bits() | mask, u32::MAX);
            }
        }
    }
}

/// Mode 2: `[bits][dst:16][dst_len][gw:16][oif:4][priority:4][table:4]
/// [protocol][scope][mtu:4][advmss:4][seq:4][buffer size][fill]`; `bits`:
/// 1 IPv6, 2 a gateway, 4 of the other family, 8 oif, 16 priority, 32 mtu,
/// 64 advmss, 128 delete.
fn route_case(f: &mut Fields<'_>) {
    let bits = f.u8();
    let v6 = bits & 1 != 0;
    let dst = f.ip(v6);
    let dst_len = f.u8();
    let gw = f.ip(v6 != (bits & 4 != 0));
    let (oif, priority, table) = (f.u32(), f.u32(), f.u32());
    let (protocol, scope) = (f.u8(), f.u8());
    let (mtu, advmss, seq) = (f.u32(), f.u32(), f.u32());
    let mut req = if bits & 128 == 0 {
        RouteRequest::add(dst, dst_len)
    } else {
        RouteRequest::delete(dst, dst_len)
    }
    .table(table)
    .scope(scope);
    req.protocol = protocol;
    if bits & 2 != 0 {
        req = req.via(gw);
    }
    if bits & 8 != 0 {
        req = req.dev(oif);
    }
    if bits & 16 != 0 {
        req = req.priority(priority);
    }
    if bits & 32 != 0 {
        req = req.mtu(mtu);
    }
    if bits & 64 != 0 {
        req = req.advmss(advmss);
    }
    let len = req.buffer_len();
    let mut buf = f.buffer(RouteRequest::MAX_LEN);
    let mixed = req.gateway.is_some_and(|g| g.is_ipv4() != dst.is_ipv4());
    let expected = expected_ip_request(dst_len, &dst, mixed, buf.len(), len);
    let got = req.emit(seq, &mut buf);
    assert_eq!(got, expected, "{req:?}");
    let Ok(n) = got else { return };
    assert!(n <= RouteRequest::MAX_LEN);
    let (kind, flags) = match req.op {
        RouteOp::Add => (
            RTM_NEWROUTE,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        ),
        RouteOp::Delete => (RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK),
    };
    let msg = check_frame(&buf, n, len, (kind, flags, seq), |b| req.emit(seq, b));
    assert_eq!(RouteRequest::parse(&msg), Ok(req));
}

/// Mode 3: `[bits][ifindex:4][netns fd:4][name length][name:19][seq:4]
/// [buffer size][fill]`; `bits`: 1 move, 2 rename, 4 set up or down, 8 up.
fn setlink_case(f: &mut Fields<'_>) {
    let bits = f.u8();
    let ifindex = f.u32() as i32;
    let fd = f.u32() as i32;
    let name_len = usize::from(f.u8() % 20);
    let name_buf: [u8; 19] = f.bytes();
    let name = &name_buf[..name_len];
    let seq = f.u32();
    let mut req = SetLink::new(ifindex);
    if bits & 1 != 0 {
        req = req.move_to_netns(fd);
    }
    if bits & 2 != 0 {
        req = req.rename(name);
    }
    if bits & 4 != 0 {
        req = req.set_up(bits & 8 != 0);
    }
    let len = req.buffer_len();
    let mut buf = f.buffer(SetLink::MAX_LEN);
    // Where the name would start: the headers, then IFLA_NET_NS_FD.
    let before_name = HDR + 16 + if req.netns_fd.is_some() { 8 } else { 0 };
    let too_small = EncodeError::BufferTooSmall {
        needed: len,
        available: buf.len(),
    };
    let expected = match req.name {
        Some(n) if n.is_empty() || n.len() > 15 => Err(EncodeError::InvalidIfName { len: n.len() }),
        Some(n) if n.contains(&0) && buf.len() < before_name => Err(too_small),
        Some(n) if n.contains(&0) => Err(EncodeError::InteriorNul { kind: IFLA_IFNAME }),
        _ if buf.len() < len => Err(too_small),
        _ => Ok(len),
    };
    let got = req.emit(seq, &mut buf);
    assert_eq!(got, expected, "{req:?}");
    let Ok(n) = got else { return };
    assert!(n <= SetLink::MAX_LEN);
    let msg = check_frame(
        &buf,
        n,
        len,
        (RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, seq),
        |b| req.emit(seq, b),
    );
    assert_eq!(SetLink::parse(&msg), Ok(req));
}

/// Mode 4: `[family][ifindex:4][seq:4][buffer size][fill]`.
fn getaddrs_case(f: &mut Fields<'_>) {
    let req = GetAddrs {
        family: f.u8(),
        ifindex: f.u32(),
    };
    let seq = f.u32();
    let mut buf = f.buffer(GetAddrs::LEN);
    let expected = if buf.len() < GetAddrs::LEN {
        Err(EncodeError::BufferTooSmall {
            needed: GetAddrs::LEN,
            available: buf.len(),
        })
    } else {
        Ok(GetAddrs::LEN)
    };
    let got = req.emit(seq, &mut buf);
    assert_eq!(got, expected);
    let Ok(n) = got else { return };
    let msg = check_frame(
        &buf,
        n,
        GetAddrs::LEN,
        (RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq),
        |b| req.emit(seq, b),
    );
    assert_eq!(GetAddrs::parse(&msg), Ok(req));
}

/// A `Link`'s accessors agree with its header and stay inside `raw`.
fn check_link(raw: &[u8], link: &Link<'_>) {
    let addr = link.address();
    assert!(addr.is_none_or(|a| within(raw, a)));
    assert!(link.name.is_none_or(|n| within(raw, n)));
    assert_eq!(link.mac(), addr.and_then(|a| <[u8; 6]>::try_from(a).ok()));
    let fl = link.flags();
    assert_eq!(fl, link.info.ifi_flags);
    assert_eq!(
        (link.is_up(), link.is_running(), link.has_carrier()),
        (
            fl & IFF_UP != 0,
            fl & IFF_RUNNING != 0,
            fl & IFF_LOWER_UP != 0
        )
    );
    let _ = (link.name_str(), format!("{link:?}"));
}

fn check_ifaddr(raw: &[u8], a: &IfAddr<'_>) {
    assert!(a.label.is_none_or(|l| within(raw, l) && !l.contains(&0)));
    assert_eq!(a.ip(), a.local.or(a.address));
    assert!(a.broadcast.is_none() || a.info.ifa_family == 2);
    let _ = format!("{a:?}");
}

/// Every request parser on one message: what parses re-emits and parses
/// back the same; the only refusal is the one the fields allow.
fn check_message(raw: &[u8], msg: &Message<'_>) {
    assert!(within(raw, msg.payload()));
    assert_eq!(msg.payload().len() + HDR, msg.header().nlmsg_len as usize);

    if let Ok(req) = AddrRequest::parse(msg) {
        assert!(req.broadcast.is_none() || req.addr.is_ipv4());
        let mut buf = [0u8; AddrRequest::MAX_LEN];
        match req.emit(msg.seq(), &mut buf) {
            Ok(n) => {
                let again = Message::parse(&buf[..n]).expect("re-emitted");
                assert_eq!(AddrRequest::parse(&again), Ok(req));
            }
            Err(e) => assert_eq!(
                e,
                EncodeError::InvalidPrefix {
                    len: req.prefix_len,
                    max: max_prefix(&req.addr)
                }
            ),
        }
    }
    match IfAddr::parse_message(msg) {
        Ok(a) => {
            check_ifaddr(raw, &a);
            assert_eq!(IfAddr::parse(msg.payload()), Ok(a));
        }
        Err(_) if msg.kind() == RTM_NEWADDR => {
            assert!(IfAddr::parse(msg.payload()).is_err());
        }
        Err(_) => {}
    }
    if let Ok(req) = RouteRequest::parse(msg) {
        assert!(req.gateway.is_none_or(|g| g.is_ipv4() == req.dst.is_ipv4()));
        let mut buf = [0u8; RouteRequest::MAX_LEN];
        match req.emit(msg.seq(), &mut buf) {
            Ok(n) => {
                let again = Message::parse(&buf[..n]).expect("re-emitted");
                assert_eq!(RouteRequest::parse(&again), Ok(req));
            }
            Err(e) => assert_eq!(
                e,
                EncodeError::InvalidPrefix {
                    len: req.dst_len,
                    max: max_prefix(&req.dst)
                }
            ),
        }
    }
    if let Ok(req) = SetLink::parse(msg) {
        assert!(req.name.is_none_or(|n| within(raw, n) && !n.contains(&0)));
        let mut buf = [0u8; SetLink::MAX_LEN];
        match req.emit(msg.seq(), &mut buf) {
            Ok(n) => {
                let again = Message::parse(&buf[..n]).expect("re-emitted");
                assert_eq!(SetLink::parse(&again), Ok(req));
            }
            Err(e) => {
                let len = req.name.map_or(0, <[u8]>::len);
                assert!(len == 0 || len > 15);
                assert_eq!(e, EncodeError::InvalidIfName { len });
            }
        }
    }
    if let Ok(req) = GetAddrs::parse(msg) {
        let mut buf = [0u8; GetAddrs::LEN];
        let n = req.emit(msg.seq(), &mut buf).expect("fits");
        let again = Message::parse(&buf[..n]).expect("re-emitted");
        assert_eq!(GetAddrs::parse(&again), Ok(req));
    }
    if let Body::NewLink(link) = msg.body() {
        check_link(raw, &link);
    }
}

fn raw_case(raw: &[u8]) {
    let mut all = Messages::new(raw);
    for _ in 0..1024 {
        let Some(item) = all.next() else { break };
        assert!(all.offset() <= raw.len());
        if let Ok(msg) = item {
            check_message(raw, &msg);
        }
    }
    // The same bytes as a bare payload.
    if let Ok(a) = IfAddr::parse(raw) {
        check_ifaddr(raw, &a);
    }
    if let Ok(link) = Link::parse(raw) {
        check_link(raw, &link);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut f = Fields(rest);
    match mode % 5 {
        0 => raw_case(rest),
        1 => addr_case(&mut f),
        2 => route_case(&mut f),
        3 => setlink_case(&mut f),
        _ => getaddrs_case(&mut f),
    }
});
