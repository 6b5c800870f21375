//! The rtnetlink requests a CNI plugin sends (move a link to a network
//! namespace, rename it, set it up; add addresses and routes) and the
//! answers it reads (a link's MAC and flags, a link's addresses):
//! constants and layouts against `libc`, golden bytes built field by
//! field, round trips, and parsers that never panic on any bytes.

mod common;

use core::mem::{offset_of, size_of};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use afxdp_core::abi::rtnetlink::*;
use afxdp_core::abi::socket::{AF_INET, AF_INET6};
use afxdp_core::rtnetlink::{
    ipv4_broadcast, AddrOp, AddrRequest, Attrs, Body, EncodeError, GetAddrs, IfAddr, Link, Message,
    Messages, ParseError, RouteOp, RouteRequest, SetLink, IFLA_PERM_ADDRESS,
};
use common::Bytes;
use proptest::prelude::*;

// ---- constants and layouts ----

#[test]
fn constants_match_libc() {
    assert_eq!(i32::from(AF_INET6), libc::AF_INET6);
    assert_eq!(RTM_NEWADDR, libc::RTM_NEWADDR);
    assert_eq!(RTM_DELADDR, libc::RTM_DELADDR);
    assert_eq!(RTM_GETADDR, libc::RTM_GETADDR);
    assert_eq!(RTM_NEWROUTE, libc::RTM_NEWROUTE);
    assert_eq!(RTM_DELROUTE, libc::RTM_DELROUTE);
    assert_eq!(RTM_GETROUTE, libc::RTM_GETROUTE);
    assert_eq!(i32::from(NLM_F_REPLACE), libc::NLM_F_REPLACE);
    assert_eq!(i32::from(NLM_F_EXCL), libc::NLM_F_EXCL);
    assert_eq!(i32::from(NLM_F_CREATE), libc::NLM_F_CREATE);
    assert_eq!(i32::from(NLM_F_APPEND), libc::NLM_F_APPEND);
    assert_eq!(IFLA_ADDRESS, libc::IFLA_ADDRESS);
    assert_eq!(IFLA_BROADCAST, libc::IFLA_BROADCAST);
    assert_eq!(IFLA_OPERSTATE, libc::IFLA_OPERSTATE);
    assert_eq!(IFLA_NET_NS_PID, libc::IFLA_NET_NS_PID);
    assert_eq!(IFLA_NET_NS_FD, libc::IFLA_NET_NS_FD);
    assert_eq!(IFF_UP as i32, libc::IFF_UP);
    assert_eq!(IFF_BROADCAST as i32, libc::IFF_BROADCAST);
    assert_eq!(IFF_LOOPBACK as i32, libc::IFF_LOOPBACK);
    assert_eq!(IFF_RUNNING as i32, libc::IFF_RUNNING);
    assert_eq!(IFF_LOWER_UP as i32, libc::IFF_LOWER_UP);
    assert_eq!(IFA_ADDRESS, libc::IFA_ADDRESS);
    assert_eq!(IFA_LOCAL, libc::IFA_LOCAL);
    assert_eq!(IFA_LABEL, libc::IFA_LABEL);
    assert_eq!(IFA_BROADCAST, libc::IFA_BROADCAST);
    assert_eq!(IFA_FLAGS, libc::IFA_FLAGS);
    assert_eq!(u32::from(IFA_F_NODAD), libc::IFA_F_NODAD);
    assert_eq!(u32::from(IFA_F_PERMANENT), libc::IFA_F_PERMANENT);
    assert_eq!(RTA_DST, libc::RTA_DST);
    assert_eq!(RTA_SRC, libc::RTA_SRC);
    assert_eq!(RTA_OIF, libc::RTA_OIF);
    assert_eq!(RTA_GATEWAY, libc::RTA_GATEWAY);
    assert_eq!(RTA_PRIORITY, libc::RTA_PRIORITY);
    assert_eq!(RTA_PREFSRC, libc::RTA_PREFSRC);
    assert_eq!(RTA_METRICS, libc::RTA_METRICS);
    assert_eq!(RTA_TABLE, libc::RTA_TABLE);
    assert_eq!(RT_TABLE_UNSPEC, libc::RT_TABLE_UNSPEC);
    assert_eq!(RT_TABLE_MAIN, libc::RT_TABLE_MAIN);
    assert_eq!(RTPROT_BOOT, libc::RTPROT_BOOT);
    assert_eq!(RTPROT_STATIC, libc::RTPROT_STATIC);
    assert_eq!(RT_SCOPE_UNIVERSE, libc::RT_SCOPE_UNIVERSE);
    assert_eq!(RT_SCOPE_LINK, libc::RT_SCOPE_LINK);
    assert_eq!(RT_SCOPE_HOST, libc::RT_SCOPE_HOST);
    assert_eq!(RTN_UNICAST, libc::RTN_UNICAST);
    // libc has no RTAX_*: linux/rtnetlink.h, enum { RTAX_UNSPEC, RTAX_LOCK,
    // RTAX_MTU, RTAX_WINDOW, RTAX_RTT, RTAX_RTTVAR, RTAX_SSTHRESH, RTAX_CWND,
    // RTAX_ADVMSS, ... }.
    assert_eq!((RTAX_MTU, RTAX_ADVMSS), (2, 8));
}

/// `struct ifaddrmsg` and `struct rtmsg` as `linux/if_addr.h` and
/// `linux/rtnetlink.h` declare them (libc has neither).
#[test]
fn address_and_route_headers_have_the_kernel_layout() {
    #[repr(C)]
    struct KernelIfaddrmsg {
        ifa_family: u8,
        ifa_prefixlen: u8,
        ifa_flags: u8,
        ifa_scope: u8,
        ifa_index: u32,
    }
    #[repr(C)]
    struct KernelRtmsg {
        rtm_family: u8,
        rtm_dst_len: u8,
        rtm_src_len: u8,
        rtm_tos: u8,
        rtm_table: u8,
        rtm_protocol: u8,
        rtm_scope: u8,
        rtm_type: u8,
        rtm_flags: u32,
    }
    assert_eq!(size_of::<IfAddrMsg>(), size_of::<KernelIfaddrmsg>());
    assert_eq!(
        offset_of!(IfAddrMsg, ifa_index),
        offset_of!(KernelIfaddrmsg, ifa_index)
    );
    assert_eq!(
        offset_of!(IfAddrMsg, ifa_scope),
        offset_of!(KernelIfaddrmsg, ifa_scope)
    );
    assert_eq!(size_of::<RtMsg>(), size_of::<KernelRtmsg>());
    assert_eq!(
        offset_of!(RtMsg, rtm_flags),
        offset_of!(KernelRtmsg, rtm_flags)
    );
    assert_eq!(
        offset_of!(RtMsg, rtm_type),
        offset_of!(KernelRtmsg, rtm_type)
    );
    // Read them so that the mirror structs are not dead code.
    let k = KernelRtmsg {
        rtm_family: 0,
        rtm_dst_len: 0,
        rtm_src_len: 0,
        rtm_tos: 0,
        rtm_table: 0,
        rtm_protocol: 0,
        rtm_scope: 0,
        rtm_type: 0,
        rtm_flags: 0,
    };
    let a = KernelIfaddrmsg {
        ifa_family: 0,
        ifa_prefixlen: 0,
        ifa_flags: 0,
        ifa_scope: 0,
        ifa_index: 0,
    };
    assert_eq!(
        k.rtm_family
            + k.rtm_dst_len
            + k.rtm_src_len
            + k.rtm_tos
            + k.rtm_table
            + k.rtm_protocol
            + k.rtm_scope
            + k.rtm_type
            + a.ifa_family
            + a.ifa_prefixlen
            + a.ifa_flags
            + a.ifa_scope,
        0
    );
    assert_eq!(k.rtm_flags + a.ifa_index, 0);
}

// ---- golden bytes ----

/// Emits into a dirty buffer (every byte of the message must be written).
fn emit_with(n_max: usize, f: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>) -> Vec<u8> {
    let mut buf = vec![0xa5u8; n_max + 16];
    let n = f(&mut buf).expect("emit");
    assert!(n <= n_max, "{n} > MAX_LEN {n_max}");
    buf.truncate(n);
    buf
}

fn emit_setlink(req: &SetLink<'_>, seq: u32) -> Vec<u8> {
    let v = emit_with(SetLink::MAX_LEN, |b| req.emit(seq, b));
    assert_eq!(v.len(), req.buffer_len());
    v
}

fn emit_addr(req: &AddrRequest, seq: u32) -> Vec<u8> {
    let v = emit_with(AddrRequest::MAX_LEN, |b| req.emit(seq, b));
    assert_eq!(v.len(), req.buffer_len());
    v
}

fn emit_route(req: &RouteRequest, seq: u32) -> Vec<u8> {
    let v = emit_with(RouteRequest::MAX_LEN, |b| req.emit(seq, b));
    assert_eq!(v.len(), req.buffer_len());
    v
}

const ACK: u16 = NLM_F_REQUEST | NLM_F_ACK;
const CREATE: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;

#[test]
fn move_to_a_namespace_and_rename_is_one_setlink() {
    let req = SetLink::new(7).move_to_netns(5).rename(b"eth0");
    let want = Bytes::default()
        .nlmsghdr(52, RTM_SETLINK, ACK, 11, 0)
        .ifinfomsg(7, 0, 0)
        .nlattr(8, IFLA_NET_NS_FD)
        .i32(5)
        .nlattr(9, IFLA_IFNAME)
        .raw(b"eth0\0\0\0\0");
    assert_eq!(emit_setlink(&req, 11), want.0);
}

#[test]
fn set_up_and_down_change_only_iff_up() {
    let up = Bytes::default()
        .nlmsghdr(32, RTM_SETLINK, ACK, 1, 0)
        .ifinfomsg(3, IFF_UP, IFF_UP);
    assert_eq!(emit_setlink(&SetLink::new(3).set_up(true), 1), up.0);
    let down = Bytes::default()
        .nlmsghdr(32, RTM_SETLINK, ACK, 2, 0)
        .ifinfomsg(3, 0, IFF_UP);
    assert_eq!(emit_setlink(&SetLink::new(3).set_up(false), 2), down.0);
}

#[test]
fn the_longest_setlink_fits_max_len() {
    let req = SetLink::new(1).move_to_netns(3).rename(b"fifteen-bytes-x");
    assert_eq!(emit_setlink(&req, 1).len(), SetLink::MAX_LEN);
    let mut buf = [0u8; SetLink::MAX_LEN];
    assert_eq!(
        SetLink::new(1)
            .rename(b"sixteen-bytes-xx")
            .emit(1, &mut buf),
        Err(EncodeError::InvalidIfName { len: 16 })
    );
    assert_eq!(
        SetLink::new(1).rename(b"a\0b").emit(1, &mut buf),
        Err(EncodeError::InteriorNul { kind: IFLA_IFNAME })
    );
    assert!(matches!(
        req.emit(1, &mut buf[..40]),
        Err(EncodeError::BufferTooSmall { needed, available: 40 }) if needed == SetLink::MAX_LEN
    ));
}

#[test]
fn ipv4_address_with_broadcast_is_the_golden_message() {
    let ip = Ipv4Addr::new(192, 168, 1, 200);
    let req = AddrRequest::add(3, ip.into(), 24).with_broadcast(ipv4_broadcast(ip, 24).unwrap());
    let want = Bytes::default()
        .nlmsghdr(48, RTM_NEWADDR, CREATE, 5, 0)
        .ifaddrmsg(AF_INET, 24, 0, 3)
        .nlattr(8, IFA_LOCAL)
        .raw(&[192, 168, 1, 200])
        .nlattr(8, IFA_ADDRESS)
        .raw(&[192, 168, 1, 200])
        .nlattr(8, IFA_BROADCAST)
        .raw(&[192, 168, 1, 255]);
    assert_eq!(emit_addr(&req, 5), want.0);
}

#[test]
fn ipv6_address_without_dad_is_the_golden_message() {
    let ip: Ipv6Addr = "fd00:1::c8".parse().unwrap();
    let req = AddrRequest::add(9, ip.into(), 64).with_flags(IFA_F_NODAD);
    let want = Bytes::default()
        .nlmsghdr(64, RTM_NEWADDR, CREATE, 6, 0)
        .ifaddrmsg(AF_INET6, 64, IFA_F_NODAD, 9)
        .nlattr(20, IFA_LOCAL)
        .raw(&ip.octets())
        .nlattr(20, IFA_ADDRESS)
        .raw(&ip.octets());
    assert_eq!(emit_addr(&req, 6), want.0);
    assert_eq!(want.0.len(), AddrRequest::MAX_LEN);
}

#[test]
fn address_delete_has_no_create_flags() {
    let req = AddrRequest::delete(2, Ipv4Addr::new(10, 0, 0, 1).into(), 8);
    let want = Bytes::default()
        .nlmsghdr(40, RTM_DELADDR, ACK, 7, 0)
        .ifaddrmsg(AF_INET, 8, 0, 2)
        .nlattr(8, IFA_LOCAL)
        .raw(&[10, 0, 0, 1])
        .nlattr(8, IFA_ADDRESS)
        .raw(&[10, 0, 0, 1]);
    assert_eq!(emit_addr(&req, 7), want.0);
}

#[test]
fn bad_addresses_are_refused_before_encoding() {
    let mut buf = [0u8; AddrRequest::MAX_LEN];
    let v6 = AddrRequest::add(1, Ipv6Addr::LOCALHOST.into(), 129);
    assert_eq!(
        v6.emit(1, &mut buf),
        Err(EncodeError::InvalidPrefix { len: 129, max: 128 })
    );
    let bcast6 =
        AddrRequest::add(1, Ipv6Addr::LOCALHOST.into(), 64).with_broadcast(Ipv4Addr::BROADCAST);
    assert_eq!(bcast6.emit(1, &mut buf), Err(EncodeError::MixedFamilies));
    assert_eq!(
        ipv4_broadcast(Ipv4Addr::new(10, 9, 8, 7), 0),
        Some(Ipv4Addr::BROADCAST)
    );
    assert_eq!(ipv4_broadcast(Ipv4Addr::new(10, 9, 8, 7), 32), None);
}

#[test]
fn address_dump_request_is_the_golden_message() {
    let want = Bytes::default()
        .nlmsghdr(24, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 8, 0)
        .ifaddrmsg(AF_INET6, 0, 0, 4);
    let req = GetAddrs {
        family: AF_INET6 as u8,
        ifindex: 4,
    };
    assert_eq!(emit_with(GetAddrs::LEN, |b| req.emit(8, b)), want.0);
}

#[test]
fn default_route_via_gateway_leaves_out_the_destination() {
    let req = RouteRequest::add(Ipv4Addr::UNSPECIFIED.into(), 0)
        .via(Ipv4Addr::new(192, 168, 1, 1).into())
        .dev(3);
    let want = Bytes::default()
        .nlmsghdr(44, RTM_NEWROUTE, CREATE, 9, 0)
        .rtmsg(AF_INET, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE)
        .nlattr(8, RTA_GATEWAY)
        .raw(&[192, 168, 1, 1])
        .nlattr(8, RTA_OIF)
        .u32(3);
    assert_eq!(emit_route(&req, 9), want.0);
}

#[test]
fn link_route_with_every_option_is_the_golden_message() {
    let dst: Ipv6Addr = "fd00:2::".parse().unwrap();
    let req = RouteRequest::add(dst.into(), 48)
        .dev(5)
        .priority(100)
        .table(1000)
        .scope(RT_SCOPE_LINK)
        .mtu(1400)
        .advmss(1360);
    let want = Bytes::default()
        .nlmsghdr(92, RTM_NEWROUTE, CREATE, 10, 0)
        .rtmsg(AF_INET6, 48, RT_TABLE_UNSPEC, RTPROT_BOOT, RT_SCOPE_LINK)
        .nlattr(20, RTA_DST)
        .raw(&dst.octets())
        .nlattr(8, RTA_OIF)
        .u32(5)
        .nlattr(8, RTA_PRIORITY)
        .u32(100)
        .nlattr(8, RTA_TABLE)
        .u32(1000)
        .nlattr(20, RTA_METRICS | NLA_F_NESTED)
        .nlattr(8, RTAX_MTU)
        .u32(1400)
        .nlattr(8, RTAX_ADVMSS)
        .u32(1360);
    assert_eq!(emit_route(&req, 10), want.0);
}

#[test]
fn the_longest_route_fits_max_len() {
    let req = RouteRequest::add(Ipv6Addr::LOCALHOST.into(), 128)
        .via(Ipv6Addr::LOCALHOST.into())
        .dev(1)
        .priority(1)
        .table(300)
        .mtu(1)
        .advmss(1);
    assert_eq!(emit_route(&req, 1).len(), RouteRequest::MAX_LEN);
    let del = RouteRequest::delete(Ipv4Addr::new(10, 0, 0, 0).into(), 8);
    assert_eq!(
        &emit_route(&del, 1)[4..8],
        &Bytes::default().u16(RTM_DELROUTE).u16(ACK).0[..]
    );
    let mut buf = [0u8; RouteRequest::MAX_LEN];
    assert_eq!(
        RouteRequest::add(Ipv4Addr::UNSPECIFIED.into(), 33).emit(1, &mut buf),
        Err(EncodeError::InvalidPrefix { len: 33, max: 32 })
    );
}

// ---- answers ----

/// An `RTM_NEWLINK` answer as the kernel sends one for a veth end.
fn newlink(flags: u32, mac: &[u8]) -> Vec<u8> {
    let body = Bytes::default()
        .ifinfomsg(12, flags, 0)
        .nlattr(8, IFLA_IFNAME)
        .raw(b"xa\0\0")
        .nlattr(8, IFLA_MTU)
        .u32(1500)
        .nlattr(4 + mac.len() as u16, IFLA_ADDRESS)
        .raw(mac)
        .raw(&vec![0; (4 - mac.len() % 4) % 4]);
    let len = 16 + body.0.len() as u32;
    Bytes::default()
        .nlmsghdr(len, RTM_NEWLINK, 0, 1, 0)
        .raw(&body.0)
        .0
}

#[test]
fn a_link_answer_gives_its_mac_flags_and_name() {
    let raw = newlink(
        IFF_UP | IFF_BROADCAST | IFF_LOWER_UP,
        &[2, 0, 0, 0, 0, 0x0a],
    );
    let Body::NewLink(link) = Message::parse(&raw).unwrap().body() else {
        panic!("not a link")
    };
    assert_eq!(link.name_str(), Some("xa"));
    assert_eq!(link.address(), Some(&[2u8, 0, 0, 0, 0, 0x0a][..]));
    assert_eq!(link.mac(), Some([2, 0, 0, 0, 0, 0x0a]));
    assert!(link.is_up() && link.has_carrier() && !link.is_running());
    assert_eq!(link.flags(), IFF_UP | IFF_BROADCAST | IFF_LOWER_UP);
    // A link without an Ethernet address (a tunnel: 4 bytes) has no MAC.
    let raw = newlink(0, &[10, 0, 0, 1]);
    let Body::NewLink(link) = Message::parse(&raw).unwrap().body() else {
        panic!("not a link")
    };
    assert_eq!(
        (link.address().map(<[u8]>::len), link.mac()),
        (Some(4), None)
    );
    assert!(!link.is_up());
}

/// `raw` (one message) with an attribute `kind` appended (padded), its
/// length updated.
fn with_attr(raw: Vec<u8>, kind: u16, payload: &[u8]) -> Vec<u8> {
    let mut raw = Bytes(raw)
        .nlattr(4 + payload.len() as u16, kind)
        .raw(payload)
        .raw(&vec![0; (4 - payload.len() % 4) % 4])
        .0;
    let len = raw.len() as u32;
    raw[..4].copy_from_slice(&len.to_ne_bytes());
    raw
}

#[test]
fn a_link_answer_gives_its_permanent_address_apart_from_its_mac() {
    assert_eq!(IFLA_PERM_ADDRESS, libc::IFLA_PERM_ADDRESS);
    // A NIC whose MAC was changed: IFLA_ADDRESS is the new one,
    // IFLA_PERM_ADDRESS the one it came with.
    let raw = with_attr(
        newlink(IFF_UP, &[2, 0, 0, 0, 0, 0x99]),
        IFLA_PERM_ADDRESS,
        &[0x3c, 0xfd, 0xfe, 0, 0, 1],
    );
    let Body::NewLink(link) = Message::parse(&raw).unwrap().body() else {
        panic!("not a link")
    };
    assert_eq!(link.mac(), Some([2, 0, 0, 0, 0, 0x99]));
    assert_eq!(link.perm_address(), Some(&[0x3c, 0xfd, 0xfe, 0, 0, 1][..]));
    assert_eq!(link.name_str(), Some("xa"));
    // A veth has none; all zeros (as an old driver might send) is none.
    let raw = newlink(IFF_UP, &[2, 0, 0, 0, 0, 0x0a]);
    let Body::NewLink(link) = Message::parse(&raw).unwrap().body() else {
        panic!("not a link")
    };
    assert_eq!(link.perm_address(), None);
    let raw = with_attr(raw, IFLA_PERM_ADDRESS, &[0; 6]);
    let Body::NewLink(link) = Message::parse(&raw).unwrap().body() else {
        panic!("not a link")
    };
    assert_eq!(link.perm_address(), None);
    // Another length (an InfiniBand GUID-sized address) is given as is.
    let raw = with_attr(
        newlink(0, &[2, 0, 0, 0, 0, 0x0a]),
        IFLA_PERM_ADDRESS,
        &[1; 20],
    );
    let Body::NewLink(link) = Message::parse(&raw).unwrap().body() else {
        panic!("not a link")
    };
    assert_eq!(link.perm_address().map(<[u8]>::len), Some(20));
}

#[test]
fn a_link_answer_gives_its_kind() {
    assert_eq!(IFLA_LINKINFO, libc::IFLA_LINKINFO);
    assert_eq!(IFLA_INFO_KIND, libc::IFLA_INFO_KIND);
    // A veth: IFLA_LINKINFO { IFLA_INFO_KIND "veth\0", IFLA_INFO_DATA {} },
    // the nest flagged NLA_F_NESTED as the kernel sends it.
    let info = Bytes::default()
        .nlattr(9, IFLA_INFO_KIND)
        .raw(b"veth\0\0\0\0")
        .nlattr(4, 2)
        .0;
    let raw = with_attr(
        newlink(IFF_UP, &[2, 0, 0, 0, 0, 0x0a]),
        IFLA_LINKINFO | 0x8000,
        &info,
    );
    let Body::NewLink(link) = Message::parse(&raw).unwrap().body() else {
        panic!("not a link")
    };
    assert_eq!(link.kind(), Some(&b"veth"[..]));
    assert_eq!(link.mac(), Some([2, 0, 0, 0, 0, 0x0a]));
    // A NIC: none. A nest without a kind, or a kind that does not frame:
    // none, not a panic.
    let raw = newlink(IFF_UP, &[2, 0, 0, 0, 0, 0x0a]);
    let Body::NewLink(link) = Message::parse(&raw).unwrap().body() else {
        panic!("not a link")
    };
    assert_eq!(link.kind(), None);
    for nest in [
        &[8u8, 0, 2, 0, 0, 0, 0, 0][..],
        &[40, 0, 1, 0, b'v', 0, 0, 0],
    ] {
        let raw = with_attr(newlink(0, &[2, 0, 0, 0, 0, 0x0a]), IFLA_LINKINFO, nest);
        let Body::NewLink(link) = Message::parse(&raw).unwrap().body() else {
            panic!("not a link")
        };
        assert_eq!(link.kind(), None, "{nest:?}");
    }
}

#[test]
fn an_address_dump_answer_parses() {
    // 10.1.2.3/24 on ifindex 4 with a label, then fd00::3/64 (IPv6 sends
    // only IFA_ADDRESS), then the end of the dump.
    let v4 = Bytes::default()
        .ifaddrmsg(AF_INET, 24, IFA_F_PERMANENT, 4)
        .nlattr(8, IFA_ADDRESS)
        .raw(&[10, 1, 2, 3])
        .nlattr(8, IFA_LOCAL)
        .raw(&[10, 1, 2, 3])
        .nlattr(8, IFA_BROADCAST)
        .raw(&[10, 1, 2, 255])
        .nlattr(7, IFA_LABEL)
        .raw(b"xa\0\0")
        .nlattr(8, IFA_FLAGS)
        .u32(0x480);
    let v6ip: Ipv6Addr = "fd00::3".parse().unwrap();
    let v6 = Bytes::default()
        .ifaddrmsg(AF_INET6, 64, 0, 4)
        .nlattr(20, IFA_ADDRESS)
        .raw(&v6ip.octets());
    let datagram = Bytes::default()
        .nlmsghdr(16 + v4.0.len() as u32, RTM_NEWADDR, NLM_F_MULTI, 3, 0)
        .raw(&v4.0)
        .nlmsghdr(16 + v6.0.len() as u32, RTM_NEWADDR, NLM_F_MULTI, 3, 0)
        .raw(&v6.0)
        .nlmsghdr(20, NLMSG_DONE, NLM_F_MULTI, 3, 0)
        .i32(0)
        .0;
    let addrs: Vec<IfAddr<'_>> = Messages::new(&datagram)
        .map(Result::unwrap)
        .filter(|m| m.kind() == RTM_NEWADDR)
        .map(|m| IfAddr::parse_message(&m).unwrap())
        .collect();
    assert_eq!(addrs.len(), 2);
    assert_eq!(addrs[0].ip(), Some(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))));
    assert_eq!(
        (addrs[0].prefix_len(), addrs[0].ifindex(), addrs[0].flags),
        (24, 4, 0x480)
    );
    assert_eq!(addrs[0].broadcast, Some(Ipv4Addr::new(10, 1, 2, 255)));
    assert_eq!(addrs[0].label, Some(&b"xa"[..]));
    assert_eq!(addrs[1].ip(), Some(IpAddr::V6(v6ip)));
    assert_eq!((addrs[1].local, addrs[1].prefix_len()), (None, 64));
    // A wrong-size address is an error, not a panic or a wrong address.
    let bad = Bytes::default()
        .ifaddrmsg(AF_INET, 24, 0, 4)
        .nlattr(20, IFA_ADDRESS)
        .raw(&v6ip.octets());
    assert!(matches!(IfAddr::parse(&bad.0), Err(ParseError::Attr(_))));
    assert!(matches!(
        IfAddr::parse(&[2, 24, 0]),
        Err(ParseError::ShortPayload {
            kind: RTM_NEWADDR,
            needed: 8,
            available: 3
        })
    ));
}

// ---- round trips and never-panic ----

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|b| IpAddr::V4(Ipv4Addr::from_bits(b))),
        any::<u128>().prop_map(|b| IpAddr::V6(Ipv6Addr::from_bits(b))),
    ]
}

fn ifname() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(1u8..=255, 1..16)
}

proptest! {
    #[test]
    fn setlink_round_trips(
        ifindex in any::<i32>(),
        fd in proptest::option::of(any::<i32>()),
        name in proptest::option::of(ifname()),
        up in proptest::option::of(any::<bool>()),
        seq in any::<u32>(),
    ) {
        let req = SetLink { ifindex, netns_fd: fd, name: name.as_deref(), up };
        let bytes = emit_setlink(&req, seq);
        let msg = Message::parse(&bytes).unwrap();
        prop_assert_eq!(msg.seq(), seq);
        prop_assert_eq!(SetLink::parse(&msg), Ok(req));
    }

    #[test]
    fn address_requests_round_trip(
        ifindex in any::<u32>(),
        addr in ip(),
        prefix in 0u8..=128,
        flags in any::<u8>(),
        bcast in proptest::option::of(any::<u32>()),
        delete in any::<bool>(),
    ) {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix % (max + 1);
        let mut req = AddrRequest::add(ifindex, addr, prefix).with_flags(flags);
        if delete {
            req.op = AddrOp::Delete;
        }
        if addr.is_ipv4() {
            req.broadcast = bcast.map(Ipv4Addr::from_bits);
        }
        let bytes = emit_addr(&req, 1);
        prop_assert_eq!(AddrRequest::parse(&Message::parse(&bytes).unwrap()), Ok(req));
    }

    #[test]
    fn route_requests_round_trip(
        dst in ip(),
        len in 0u8..=128,
        gw in proptest::option::of(any::<u128>()),
        oif in proptest::option::of(any::<u32>()),
        prio in proptest::option::of(any::<u32>()),
        table in any::<u32>(),
        proto in any::<u8>(),
        scope in any::<u8>(),
        mtu in proptest::option::of(any::<u32>()),
        advmss in proptest::option::of(any::<u32>()),
        delete in any::<bool>(),
    ) {
        let max = if dst.is_ipv4() { 32 } else { 128 };
        let gateway = gw.map(|g| match dst {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from_bits(g as u32)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from_bits(g)),
        });
        // RT_TABLE_UNSPEC in rtm_table means "see RTA_TABLE", which is only
        // sent from 256 up: table 0 does not round-trip, and is no table.
        let table = if table == 0 { 254 } else { table };
        let req = RouteRequest {
            op: if delete { RouteOp::Delete } else { RouteOp::Add },
            dst,
            dst_len: len % (max + 1),
            gateway,
            oif,
            priority: prio,
            table,
            protocol: proto,
            scope,
            mtu,
            advmss,
        };
        let bytes = emit_route(&req, 1);
        prop_assert_eq!(RouteRequest::parse(&Message::parse(&bytes).unwrap()), Ok(req));
    }

    #[test]
    fn parsers_never_panic_on_any_payload(
        kind in prop_oneof![Just(RTM_SETLINK), Just(RTM_NEWADDR), Just(RTM_DELADDR),
                            Just(RTM_GETADDR), Just(RTM_NEWROUTE), Just(RTM_DELROUTE),
                            Just(RTM_NEWLINK), any::<u16>()],
        payload in proptest::collection::vec(any::<u8>(), 0..160),
    ) {
        let mut raw = Bytes::default()
            .nlmsghdr(16 + payload.len() as u32, kind, 0, 1, 0)
            .raw(&payload)
            .0;
        raw.resize(raw.len().next_multiple_of(4), 0);
        for msg in Messages::new(&raw) {
            let Ok(msg) = msg else { continue };
            let _ = SetLink::parse(&msg);
            let _ = AddrRequest::parse(&msg).map(|r| r.buffer_len());
            let _ = GetAddrs::parse(&msg);
            let _ = RouteRequest::parse(&msg).map(|r| r.buffer_len());
            if let Ok(a) = IfAddr::parse_message(&msg) {
                let _ = (a.ip(), a.ifindex(), a.prefix_len(), format!("{a:?}"));
            }
            if let Body::NewLink(l) = msg.body() {
                let _ = (l.address(), l.mac(), l.perm_address(), l.is_up(), l.is_running(), l.has_carrier());
            }
        }
        let _ = IfAddr::parse(&payload);
        if let Ok(l) = Link::parse(&payload) {
            let _ = (l.address(), l.mac(), l.flags());
        }
        let _ = Attrs::new(&payload).validate();
    }

    #[test]
    fn mutated_requests_never_panic(
        which in 0usize..3,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let mut bytes = match which {
            0 => emit_setlink(&SetLink::new(7).move_to_netns(5).rename(b"eth0").set_up(true), 1),
            1 => emit_addr(&AddrRequest::add(3, Ipv4Addr::new(10, 0, 0, 1).into(), 24)
                .with_broadcast(Ipv4Addr::new(10, 0, 0, 255)), 1),
            _ => emit_route(&RouteRequest::add(Ipv4Addr::new(10, 0, 0, 0).into(), 8)
                .via(Ipv4Addr::new(10, 0, 0, 1).into()).dev(3).mtu(1400), 1),
        };
        for (at, b) in flips {
            let n = bytes.len();
            bytes[at % n] ^= b;
        }
        bytes.truncate(cut % (bytes.len() + 1));
        for msg in Messages::new(&bytes).flatten() {
            let _ = (SetLink::parse(&msg), AddrRequest::parse(&msg), RouteRequest::parse(&msg));
            let _ = IfAddr::parse_message(&msg);
        }
    }
}
