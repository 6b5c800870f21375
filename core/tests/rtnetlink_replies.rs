//! Replies built by hand, the way the kernel lays them out, parse into what
//! they say; truncated and garbage datagrams parse into errors.

mod common;

use afxdp_core::abi::rtnetlink::*;
use afxdp_core::rtnetlink::{
    AttrError, Body, ExtAck, Link, Message, Messages, ParseError, Pending, XdpLinkState, XdpMode,
    XdpSetLink,
};
use afxdp_core::Errno;
use common::{nla, pad};

const KERNEL_MSG: &[u8] = b"XDP program already attached";
const PORT: u32 = 4242;

/// One message from the kernel's port [`PORT`], padded.
fn nlmsg(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    common::nlmsg(kind, flags, seq, PORT, payload)
}

/// The request the acks below answer: attach fd 5 to ifindex 7.
fn request(seq: u32) -> Vec<u8> {
    let mut buf = [0u8; 64];
    let n = XdpSetLink::attach(7, 5, XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST)
        .emit(seq, &mut buf)
        .unwrap();
    buf[..n].to_vec()
}

/// `NLMSG_ERROR`: `error`, the echoed request (whole, or only its header if
/// `capped`), then `tlvs` (with `NLM_F_ACK_TLVS` if any).
fn error_msg(seq: u32, error: i32, capped: bool, tlvs: &[u8]) -> Vec<u8> {
    let req = request(seq);
    let mut payload = error.to_ne_bytes().to_vec();
    payload.extend_from_slice(if capped { &req[..16] } else { &req });
    payload.extend_from_slice(tlvs);
    let mut flags = 0;
    if capped {
        flags |= NLM_F_CAPPED;
    }
    if !tlvs.is_empty() {
        flags |= NLM_F_ACK_TLVS;
    }
    nlmsg(NLMSG_ERROR, flags, seq, &payload)
}

fn ext_ack_tlvs() -> Vec<u8> {
    let mut msg = KERNEL_MSG.to_vec();
    msg.push(0);
    [
        nla(NLMSGERR_ATTR_MSG, &msg),
        nla(NLMSGERR_ATTR_OFFS, &36u32.to_ne_bytes()),
    ]
    .concat()
}

fn only(datagram: &[u8]) -> Message<'_> {
    let mut it = Messages::new(datagram);
    let msg = it.next().expect("one message").expect("well-formed");
    assert!(it.next().is_none());
    msg
}

/// `RTM_NEWLINK` for ifindex `ifindex` named `name`, with `xdp` as the
/// children of an `IFLA_XDP` nest sent without `NLA_F_NESTED`, as the
/// kernel does.
fn newlink(seq: u32, flags: u16, ifindex: i32, name: &[u8], xdp: &[u8]) -> Vec<u8> {
    let mut payload = vec![0u8, 0];
    payload.extend_from_slice(&1u16.to_ne_bytes()); // ARPHRD_ETHER
    payload.extend_from_slice(&ifindex.to_ne_bytes());
    payload.extend_from_slice(&0x1_1043u32.to_ne_bytes()); // UP|BROADCAST|RUNNING|MULTICAST|LOWER_UP
    payload.extend_from_slice(&0u32.to_ne_bytes());
    let mut ifname = name.to_vec();
    ifname.push(0);
    payload.extend(nla(IFLA_IFNAME, &ifname));
    payload.extend(nla(IFLA_MTU, &1500u32.to_ne_bytes()));
    payload.extend(nla(IFLA_NUM_TX_QUEUES, &4u32.to_ne_bytes()));
    payload.extend(nla(IFLA_NUM_RX_QUEUES, &8u32.to_ne_bytes()));
    payload.extend(nla(23, &[0xee; 37])); // IFLA_STATS64-like blob: skipped
    payload.extend(nla(IFLA_XDP, xdp));
    payload.extend(nla(26 | NLA_F_NESTED, &nla(1, &[1, 2, 3]))); // IFLA_AF_SPEC-like nest: skipped
    nlmsg(RTM_NEWLINK, flags, seq, &payload)
}

#[test]
fn an_ack_answers_its_request() {
    let datagram = error_msg(9, 0, true, &[]);
    let msg = only(&datagram);
    assert_eq!((msg.kind(), msg.seq(), msg.pid()), (NLMSG_ERROR, 9, PORT));
    assert!(msg.answers(9));
    assert!(Pending::new(9).with_port(PORT).answers(&msg));
    assert!(!Pending::new(10).answers(&msg));
    let Body::Ack(ack) = msg.body() else {
        panic!("{:?}", msg.body())
    };
    assert_eq!(ack.request.nlmsg_type, RTM_SETLINK);
    assert_eq!(ack.request.nlmsg_seq, 9);
    assert_eq!(ack.request.nlmsg_len, 52);
    assert!(ack.ext.is_empty());
}

#[test]
fn an_ack_can_carry_a_warning() {
    let datagram = error_msg(3, 0, true, &ext_ack_tlvs());
    let Body::Ack(ack) = only(&datagram).body() else {
        panic!()
    };
    assert_eq!(ack.ext.msg, Some(KERNEL_MSG));
}

#[test]
fn ebusy_with_extended_ack_capped() {
    let datagram = error_msg(11, -16, true, &ext_ack_tlvs());
    let msg = only(&datagram);
    let Body::Error(e) = msg.body() else {
        panic!("{:?}", msg.body())
    };
    assert_eq!(e.errno, Errno::EBUSY);
    assert_eq!(e.ext.msg, Some(KERNEL_MSG));
    assert_eq!(e.ext.msg_str(), Some("XDP program already attached"));
    assert_eq!(e.ext.offset, Some(36));
    assert_eq!(e.request.nlmsg_seq, 11);
    assert_eq!(
        e.to_string(),
        "EBUSY (Device or resource busy): XDP program already attached"
    );
    assert_eq!(Errno::from(e), Errno::EBUSY);
}

#[test]
fn ebusy_with_extended_ack_uncapped_skips_the_echoed_request() {
    let datagram = error_msg(12, -16, false, &ext_ack_tlvs());
    // error + the whole 52-byte request + the attributes.
    assert_eq!(datagram.len(), 16 + 4 + 52 + ext_ack_tlvs().len());
    let msg = only(&datagram);
    let Body::Error(e) = msg.body() else {
        panic!("{:?}", msg.body())
    };
    assert_eq!(e.errno, Errno::EBUSY);
    assert_eq!(e.ext.msg, Some(KERNEL_MSG));
    assert_eq!(e.ext.offset, Some(36));
    assert_eq!(e.request.nlmsg_len, 52);
}

#[test]
fn uncapped_error_without_tlvs_has_no_extended_ack() {
    let datagram = error_msg(13, -22, false, &[]);
    let Body::Error(e) = only(&datagram).body() else {
        panic!()
    };
    assert_eq!(e.errno, Errno::EINVAL);
    assert_eq!(e.ext, ExtAck::default());
    assert_eq!(e.to_string(), "EINVAL (Invalid argument)");
}

#[test]
fn uncapped_echo_of_an_unaligned_request_is_padded() {
    // A request whose nlmsg_len is 41: the kernel echoes 25 payload bytes
    // and pads them to 28 before the attributes.
    let mut req = request(5);
    req.truncate(41);
    req[0..4].copy_from_slice(&41u32.to_ne_bytes());
    let mut payload = (-95i32).to_ne_bytes().to_vec();
    payload.extend_from_slice(&pad(req));
    payload.extend(ext_ack_tlvs());
    let datagram = nlmsg(NLMSG_ERROR, NLM_F_ACK_TLVS, 5, &payload);
    let Body::Error(e) = only(&datagram).body() else {
        panic!()
    };
    assert_eq!(e.errno, Errno::EOPNOTSUPP);
    assert_eq!(e.ext.msg, Some(KERNEL_MSG));
}

#[test]
fn error_message_with_invalid_utf8_displays_lossily() {
    let tlvs = nla(NLMSGERR_ATTR_MSG, b"bad \xff byte\0");
    let datagram = error_msg(1, -1, true, &tlvs);
    let Body::Error(e) = only(&datagram).body() else {
        panic!()
    };
    assert_eq!(e.ext.msg_str(), None);
    assert_eq!(
        e.to_string(),
        "EPERM (Operation not permitted): bad \u{fffd} byte"
    );
}

#[test]
fn missing_attribute_details_are_read() {
    let tlvs = [
        nla(NLMSGERR_ATTR_MISS_TYPE, &1u32.to_ne_bytes()),
        nla(NLMSGERR_ATTR_MISS_NEST, &32u32.to_ne_bytes()),
        nla(NLMSGERR_ATTR_COOKIE, &[1, 2, 3, 4, 5, 6, 7, 8]),
    ]
    .concat();
    let datagram = error_msg(1, -22, true, &tlvs);
    let Body::Error(e) = only(&datagram).body() else {
        panic!()
    };
    assert_eq!(
        (e.ext.missing_type, e.ext.missing_nest),
        (Some(1), Some(32))
    );
    assert_eq!((e.ext.msg, e.ext.offset), (None, None));
}

#[test]
fn newlink_with_a_driver_mode_program() {
    let xdp = [
        nla(IFLA_XDP_ATTACHED, &[XDP_ATTACHED_DRV]),
        nla(IFLA_XDP_PROG_ID, &42u32.to_ne_bytes()),
        nla(IFLA_XDP_DRV_PROG_ID, &42u32.to_ne_bytes()),
    ]
    .concat();
    let datagram = newlink(20, 0, 7, b"veth0", &xdp);
    let msg = only(&datagram);
    assert_eq!((msg.kind(), msg.seq()), (RTM_NEWLINK, 20));
    let Body::NewLink(link) = msg.body() else {
        panic!("{:?}", msg.body())
    };
    assert_eq!(link.ifindex(), 7);
    assert_eq!(link.info.ifi_type, 1);
    assert_eq!(link.info.ifi_flags, 0x1_1043);
    assert_eq!(link.name, Some(&b"veth0"[..]));
    assert_eq!(link.name_str(), Some("veth0"));
    assert_eq!(link.mtu, Some(1500));
    assert_eq!(link.num_rx_queues, Some(8));
    assert_eq!(link.num_tx_queues, Some(4));
    let state = link.xdp.unwrap();
    assert_eq!(
        state,
        XdpLinkState {
            attached: XDP_ATTACHED_DRV,
            prog_id: Some(42),
            drv_prog_id: Some(42),
            skb_prog_id: None,
            hw_prog_id: None,
        }
    );
    assert_eq!(state.mode(), XdpMode::Driver);
    assert!(state.is_attached());
    assert_eq!(state.attached_prog_id(), Some(42));
    assert_eq!(state.prog_id_in(XdpMode::Driver), Some(42));
    assert_eq!(state.prog_id_in(XdpMode::Generic), None);
    // Unknown attributes are still there to read.
    assert_eq!(link.attrs().count(), 7);
    assert!(link.attrs().any(|a| a.unwrap().kind == 23));
}

#[test]
fn newlink_with_only_attached_and_prog_id() {
    let xdp = [
        nla(IFLA_XDP_ATTACHED, &[1]),
        nla(IFLA_XDP_PROG_ID, &42u32.to_ne_bytes()),
    ]
    .concat();
    let datagram = newlink(1, 0, 2, b"eth0", &xdp);
    let Body::NewLink(link) = only(&datagram).body() else {
        panic!()
    };
    let state = link.xdp.unwrap();
    assert_eq!((state.attached, state.prog_id), (1, Some(42)));
    assert_eq!(state.attached_prog_id(), Some(42));
    // The single mode's id falls back to IFLA_XDP_PROG_ID.
    assert_eq!(state.prog_id_in(XdpMode::Driver), Some(42));
}

#[test]
fn newlink_without_a_program() {
    let datagram = newlink(1, 0, 1, b"lo", &nla(IFLA_XDP_ATTACHED, &[0]));
    let Body::NewLink(link) = only(&datagram).body() else {
        panic!()
    };
    let state = link.xdp.unwrap();
    assert_eq!(state.mode(), XdpMode::None);
    assert!(!state.is_attached());
    assert_eq!(state.attached_prog_id(), None);
}

#[test]
fn newlink_with_programs_in_two_modes() {
    let xdp = [
        nla(IFLA_XDP_ATTACHED, &[XDP_ATTACHED_MULTI]),
        nla(IFLA_XDP_SKB_PROG_ID, &7u32.to_ne_bytes()),
        nla(IFLA_XDP_HW_PROG_ID, &9u32.to_ne_bytes()),
    ]
    .concat();
    let datagram = newlink(1, 0, 3, b"nfp0", &xdp);
    let Body::NewLink(link) = only(&datagram).body() else {
        panic!()
    };
    let state = link.xdp.unwrap();
    assert_eq!(state.mode(), XdpMode::Multi);
    assert_eq!(state.attached_prog_id(), None);
    assert_eq!(state.prog_id_in(XdpMode::Generic), Some(7));
    assert_eq!(state.prog_id_in(XdpMode::Offload), Some(9));
    assert_eq!(state.prog_id_in(XdpMode::Driver), None);
    assert_eq!(state.prog_id_in(XdpMode::Multi), None);
}

#[test]
fn xdp_modes_round_trip_through_attached_values() {
    for v in 0..=255u8 {
        assert_eq!(XdpMode::from_attached(v).attached(), v);
    }
    assert_eq!(XdpMode::Generic.flag(), XDP_FLAGS_SKB_MODE);
    assert_eq!(XdpMode::Offload.flag(), XDP_FLAGS_HW_MODE);
    assert_eq!(XdpMode::Multi.flag(), 0);
}

#[test]
fn a_multi_message_datagram_is_read_in_order() {
    let xdp = nla(IFLA_XDP_ATTACHED, &[0]);
    let datagram = [
        newlink(30, NLM_F_MULTI, 1, b"lo", &xdp),
        newlink(30, NLM_F_MULTI, 2, b"eth0", &xdp),
        nlmsg(NLMSG_NOOP, 0, 30, &[]),
        nlmsg(RTM_DELLINK, 0, 0, &[0; 16]),
        nlmsg(NLMSG_OVERRUN, 0, 30, &[]),
        error_msg(31, 0, true, &[]),
        nlmsg(NLMSG_DONE, NLM_F_MULTI, 30, &0i32.to_ne_bytes()),
    ]
    .concat();
    let msgs: Vec<Message<'_>> = Messages::new(&datagram).map(Result::unwrap).collect();
    assert_eq!(msgs.len(), 7);
    let names: Vec<_> = msgs
        .iter()
        .filter_map(|m| match m.body() {
            Body::NewLink(l) => l.name_str(),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["lo", "eth0"]);
    assert!(msgs[0].is_multipart());
    assert_eq!(msgs[2].body(), Body::Noop);
    assert_eq!(
        msgs[3].body(),
        Body::Other {
            kind: RTM_DELLINK,
            seq: 0
        }
    );
    assert_eq!(msgs[3].payload(), &[0; 16]);
    assert_eq!(msgs[4].body(), Body::Overrun);
    assert!(matches!(msgs[5].body(), Body::Ack(_)));
    assert_eq!(msgs[6].body(), Body::Done { errno: None });
    let pending = Pending::new(31).with_port(PORT);
    assert_eq!(
        msgs.iter().filter(|m| pending.answers(m)).count(),
        1,
        "only the ack answers seq 31"
    );
}

#[test]
fn done_with_an_error_reports_it() {
    let datagram = nlmsg(NLMSG_DONE, NLM_F_MULTI, 1, &(-4i32).to_ne_bytes());
    assert_eq!(
        only(&datagram).body(),
        Body::Done {
            errno: Some(Errno::EINTR)
        }
    );
    // A DONE without payload is accepted.
    assert_eq!(
        only(&nlmsg(NLMSG_DONE, 0, 1, &[])).body(),
        Body::Done { errno: None }
    );
}

#[test]
fn framing_errors_end_the_iteration() {
    // Nothing at all.
    assert!(Messages::new(&[]).next().is_none());

    let ack = error_msg(1, 0, true, &[]);
    let cases: Vec<(Vec<u8>, ParseError)> = vec![
        (
            ack[..10].to_vec(),
            ParseError::TruncatedHeader {
                offset: 0,
                available: 10,
            },
        ),
        (
            {
                let mut v = ack.clone();
                v[0..4].copy_from_slice(&8u32.to_ne_bytes());
                v
            },
            ParseError::BadLength { offset: 0, len: 8 },
        ),
        (
            {
                let mut v = ack.clone();
                v[0..4].copy_from_slice(&u32::MAX.to_ne_bytes());
                v
            },
            ParseError::Truncated {
                offset: 0,
                len: u32::MAX,
                available: 36,
            },
        ),
        (
            ack[..30].to_vec(),
            ParseError::Truncated {
                offset: 0,
                len: 36,
                available: 30,
            },
        ),
        (
            [ack.clone(), vec![0; 5]].concat(),
            ParseError::TruncatedHeader {
                offset: 36,
                available: 5,
            },
        ),
    ];
    for (datagram, want) in cases {
        let errors: Vec<_> = Messages::new(&datagram).filter_map(Result::err).collect();
        assert_eq!(errors, [want]);
        let mut it = Messages::new(&datagram);
        while it.next().is_some() {}
        assert!(it.next().is_none(), "fused");
    }
}

#[test]
fn a_zero_length_message_does_not_loop_forever() {
    let datagram = [0u8; 64];
    let items: Vec<_> = Messages::new(&datagram).take(100).collect();
    assert_eq!(items, [Err(ParseError::BadLength { offset: 0, len: 0 })]);
}

#[test]
fn a_malformed_payload_is_an_error_item_and_iteration_goes_on() {
    let datagram = [
        nlmsg(NLMSG_ERROR, 0, 1, &[0xff; 3]),
        nlmsg(NLMSG_ERROR, 0, 2, &[0; 19]),
        error_msg(3, 0, true, &[]),
    ]
    .concat();
    let items: Vec<_> = Messages::new(&datagram).collect();
    assert_eq!(items.len(), 3);
    assert_eq!(
        items[0],
        Err(ParseError::ShortPayload {
            kind: NLMSG_ERROR,
            needed: 20,
            available: 3
        })
    );
    assert_eq!(
        items[1],
        Err(ParseError::ShortPayload {
            kind: NLMSG_ERROR,
            needed: 20,
            available: 19
        })
    );
    assert!(matches!(items[2].unwrap().body(), Body::Ack(_)));
}

#[test]
fn an_impossible_echo_is_an_error() {
    for echoed_len in [0u32, 15, 1000, u32::MAX] {
        let mut payload = (-16i32).to_ne_bytes().to_vec();
        let mut req = request(1);
        req[0..4].copy_from_slice(&echoed_len.to_ne_bytes());
        payload.extend_from_slice(&req);
        let datagram = nlmsg(NLMSG_ERROR, NLM_F_ACK_TLVS, 1, &payload);
        assert_eq!(
            Message::parse(&datagram),
            Err(ParseError::BadEcho { len: echoed_len }),
            "echoed nlmsg_len {echoed_len}"
        );
    }
}

#[test]
fn malformed_extended_ack_attributes_are_errors() {
    let cases = [
        (
            nla(NLMSGERR_ATTR_MSG, b"no nul"),
            AttrError::MissingNul {
                kind: NLMSGERR_ATTR_MSG,
            },
        ),
        (
            nla(NLMSGERR_ATTR_OFFS, &[1, 2]),
            AttrError::PayloadSize {
                kind: NLMSGERR_ATTR_OFFS,
                expected: 4,
                actual: 2,
            },
        ),
        (
            vec![200, 0, 1, 0],
            AttrError::Overrun {
                offset: 0,
                len: 200,
                available: 4,
            },
        ),
    ];
    for (tlvs, want) in cases {
        let datagram = error_msg(1, -16, true, &tlvs);
        assert_eq!(Message::parse(&datagram), Err(ParseError::Attr(want)));
    }
}

#[test]
fn malformed_newlinks_are_errors() {
    // ifinfomsg cut short.
    let datagram = nlmsg(RTM_NEWLINK, 0, 1, &[0; 12]);
    assert_eq!(
        Message::parse(&datagram),
        Err(ParseError::ShortPayload {
            kind: RTM_NEWLINK,
            needed: 16,
            available: 12
        })
    );
    // IFLA_XDP_ATTACHED as a u32.
    let datagram = newlink(1, 0, 1, b"x", &nla(IFLA_XDP_ATTACHED, &[0; 4]));
    assert_eq!(
        Message::parse(&datagram),
        Err(ParseError::Attr(AttrError::PayloadSize {
            kind: IFLA_XDP_ATTACHED,
            expected: 1,
            actual: 4
        }))
    );
    // An attribute running past the message.
    let mut payload = vec![0u8; 16];
    payload.extend_from_slice(&[64, 0, 3, 0, b'e', b't', b'h', 0]);
    assert!(matches!(
        Link::parse(&payload),
        Err(ParseError::Attr(AttrError::Overrun { .. }))
    ));
    // A name without NUL.
    let mut payload = vec![0u8; 16];
    payload.extend(nla(IFLA_IFNAME, b"eth0"));
    assert_eq!(
        Link::parse(&payload),
        Err(ParseError::Attr(AttrError::MissingNul {
            kind: IFLA_IFNAME
        }))
    );
}

#[test]
fn every_prefix_of_a_valid_datagram_parses_without_panicking() {
    let xdp = [
        nla(IFLA_XDP_ATTACHED, &[2]),
        nla(IFLA_XDP_PROG_ID, &1u32.to_ne_bytes()),
    ]
    .concat();
    let datagram = [
        error_msg(1, -16, false, &ext_ack_tlvs()),
        newlink(2, 0, 5, b"enp1s0f0", &xdp),
        error_msg(3, 0, true, &[]),
    ]
    .concat();
    let ends: Vec<usize> = {
        let mut ends = Vec::new();
        let mut it = Messages::new(&datagram);
        while let Some(m) = it.next() {
            m.unwrap();
            ends.push(it.offset());
        }
        ends
    };
    assert_eq!(ends.last(), Some(&datagram.len()));
    for cut in 0..=datagram.len() {
        let items: Vec<_> = Messages::new(&datagram[..cut]).collect();
        let whole = ends.iter().filter(|&&e| e <= cut).count();
        assert!(items.iter().take(whole).all(Result::is_ok), "cut {cut}");
        let partial = usize::from(!ends.contains(&cut) && cut != 0);
        assert_eq!(items.len(), whole + partial, "cut {cut}");
        if partial == 1 {
            assert!(items.last().unwrap().is_err(), "cut {cut}");
        }
    }
}
