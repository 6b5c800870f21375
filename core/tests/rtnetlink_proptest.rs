//! Property tests: the rtnetlink parsers never panic and always end, on any
//! bytes; every request emitted parses back to itself.

mod common;

use afxdp_core::abi::rtnetlink::*;
use afxdp_core::rtnetlink::{
    Attr, AttrWriter, Attrs, Body, EncodeError, ExtAck, GetLink, Link, Message, Messages, Pending,
    XdpLinkState, XdpMode, XdpSetLink,
};
use common::nla;
use proptest::prelude::*;

/// Touches every accessor of an attribute, and walks its children down to
/// `depth` levels. Returns how many attributes were seen.
fn poke_attr(attr: &Attr<'_>, depth: u32) -> usize {
    let _ = (attr.as_u8(), attr.as_u16(), attr.as_u32(), attr.as_i32());
    let _ = (attr.as_cstr(), attr.as_str());
    let _ = XdpLinkState::parse(attr.payload).map(|s| (s.mode(), s.attached_prog_id()));
    let _ = ExtAck::parse(attr.payload).map(|e| e.msg_str());
    1 + if depth > 0 {
        poke_attrs(attr.children(), depth - 1)
    } else {
        0
    }
}

/// Iterates over `attrs` (bounded: an attribute is at least 4 bytes, so
/// more than `len / 4 + 1` items means a loop), touching everything.
fn poke_attrs(attrs: Attrs<'_>, depth: u32) -> usize {
    let bytes = attrs.as_bytes();
    let limit = bytes.len() / 4 + 1;
    let _ = attrs.validate();
    let _ = attrs.find(IFLA_XDP);
    let mut seen = 0;
    let mut items = 0;
    let mut failed = false;
    for item in attrs.take(limit + 1) {
        items += 1;
        assert!(!failed, "an item after an error");
        match item {
            Ok(a) => seen += poke_attr(&a, depth),
            Err(e) => {
                let _ = e.to_string();
                failed = true;
            }
        }
    }
    assert!(items <= limit, "attribute iterator did not end");
    seen
}

/// Touches every accessor of a message.
fn poke_message(m: &Message<'_>) {
    let _ = (
        m.header(),
        m.kind(),
        m.flags(),
        m.seq(),
        m.pid(),
        m.payload(),
    );
    let _ = (
        m.is_multipart(),
        m.answers(1),
        Pending::new(1).with_port(2).answers(m),
    );
    let _ = (XdpSetLink::parse(m), GetLink::parse(m));
    let _ = Link::parse(m.payload());
    poke_attrs(Attrs::new(m.payload()), 3);
    poke_attrs(Attrs::new(m.payload().get(16..).unwrap_or_default()), 3);
    match m.body() {
        Body::Ack(a) => {
            let _ = (a.request, a.ext.msg_str(), a.ext.is_empty());
        }
        Body::Error(e) => {
            let _ = (e.to_string(), e.ext.msg_str());
        }
        Body::NewLink(l) => {
            let _ = (
                l.ifindex(),
                l.name_str(),
                l.mtu,
                l.num_rx_queues,
                l.num_tx_queues,
            );
            if let Some(x) = l.xdp {
                let _ = (x.mode(), x.is_attached(), x.attached_prog_id());
                for mode in [XdpMode::Driver, XdpMode::Generic, XdpMode::Offload] {
                    let _ = x.prog_id_in(mode);
                }
            }
            poke_attrs(l.attrs(), 3);
        }
        Body::Done { .. } | Body::Noop | Body::Overrun | Body::Other { .. } => {}
    }
}

/// Feeds `datagram` to every parser; checks the message iterator ends.
fn poke_datagram(datagram: &[u8]) {
    let limit = datagram.len() / 16 + 1;
    let mut items = 0;
    let mut it = Messages::new(datagram);
    for item in it.by_ref().take(limit + 1) {
        items += 1;
        match item {
            Ok(m) => poke_message(&m),
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    assert!(items <= limit, "message iterator did not end");
    assert!(it.next().is_none(), "not fused");
    assert!(it.offset() <= datagram.len());
    let _ = Message::parse(datagram).map(|m| poke_message(&m));
    poke_attrs(Attrs::new(datagram), 3);
}

/// One message from port 7, padded.
fn nlmsg(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    common::nlmsg(kind, flags, seq, 7, payload)
}

/// A valid datagram with one of each reply this crate reads.
fn valid_datagram() -> Vec<u8> {
    let mut req = [0u8; 64];
    let n = XdpSetLink::replace(7, 5, 4, XDP_FLAGS_DRV_MODE)
        .emit(1, &mut req)
        .unwrap();
    let req = &req[..n];
    let tlvs = [
        nla(NLMSGERR_ATTR_MSG, b"XDP program already attached\0"),
        nla(NLMSGERR_ATTR_OFFS, &36u32.to_ne_bytes()),
    ]
    .concat();
    let uncapped = [&(-16i32).to_ne_bytes()[..], req, &tlvs].concat();
    let capped = [&(-16i32).to_ne_bytes()[..], &req[..16], &tlvs].concat();
    let ack = [&0i32.to_ne_bytes()[..], &req[..16]].concat();
    let xdp = [
        nla(IFLA_XDP_ATTACHED, &[1]),
        nla(IFLA_XDP_PROG_ID, &42u32.to_ne_bytes()),
        nla(IFLA_XDP_DRV_PROG_ID, &42u32.to_ne_bytes()),
    ]
    .concat();
    let link = [
        &[0u8; 4][..],
        &7i32.to_ne_bytes(),
        &[0u8; 8],
        &nla(IFLA_IFNAME, b"eth0\0"),
        &nla(IFLA_NUM_RX_QUEUES, &4u32.to_ne_bytes()),
        &nla(IFLA_NUM_TX_QUEUES, &4u32.to_ne_bytes()),
        &nla(IFLA_XDP, &xdp),
    ]
    .concat();
    [
        nlmsg(NLMSG_ERROR, NLM_F_ACK_TLVS, 1, &uncapped),
        nlmsg(NLMSG_ERROR, NLM_F_ACK_TLVS | NLM_F_CAPPED, 1, &capped),
        nlmsg(NLMSG_ERROR, NLM_F_CAPPED, 1, &ack),
        nlmsg(RTM_NEWLINK, NLM_F_MULTI, 2, &link),
        nlmsg(NLMSG_DONE, NLM_F_MULTI, 2, &0i32.to_ne_bytes()),
        req.to_vec(),
    ]
    .concat()
}

#[test]
fn the_datagram_mutations_start_from_is_valid() {
    let datagram = valid_datagram();
    let bodies: Vec<Body<'_>> = Messages::new(&datagram)
        .map(|m| m.unwrap().body())
        .collect();
    assert_eq!(bodies.len(), 6);
    assert!(matches!(bodies[0], Body::Error(e) if e.ext.offset == Some(36)));
    assert!(matches!(bodies[1], Body::Error(e) if e.ext.msg.is_some()));
    assert!(matches!(bodies[2], Body::Ack(_)));
    assert!(
        matches!(bodies[3], Body::NewLink(l) if l.xdp.and_then(|x| x.attached_prog_id()) == Some(42))
    );
    assert_eq!(bodies[4], Body::Done { errno: None });
    assert!(matches!(
        bodies[5],
        Body::Other {
            kind: RTM_SETLINK,
            ..
        }
    ));
}

/// A change to a valid datagram: overwrite a byte, a `u16` or a `u32`
/// (lengths live there) with a tricky value, or cut it short.
#[derive(Clone, Debug)]
enum Mutation {
    Byte(usize, u8),
    U16(usize, u16),
    U32(usize, u32),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let tricky16 = prop_oneof![
        Just(0u16),
        Just(3),
        Just(4),
        Just(5),
        Just(0xffff),
        Just(NLA_F_NESTED | 43),
        any::<u16>()
    ];
    let tricky32 = prop_oneof![
        Just(0u32),
        Just(15),
        Just(16),
        Just(17),
        Just(20),
        Just(u32::MAX),
        Just(0x8000_0000),
        any::<u32>()
    ];
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Byte(i, b)),
        (any::<usize>(), tricky16).prop_map(|(i, v)| Mutation::U16(i, v)),
        (any::<usize>(), tricky32).prop_map(|(i, v)| Mutation::U32(i, v)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(buf: &mut Vec<u8>, m: &Mutation) {
    if buf.is_empty() {
        return;
    }
    let at = |i: usize, w: usize, len: usize| (i % len) & !(w - 1);
    match *m {
        Mutation::Byte(i, b) => {
            let i = i % buf.len();
            buf[i] = b;
        }
        Mutation::U16(i, v) if buf.len() >= 2 => {
            let i = at(i, 2, buf.len() - 1);
            buf[i..i + 2].copy_from_slice(&v.to_ne_bytes());
        }
        Mutation::U32(i, v) if buf.len() >= 4 => {
            let i = at(i, 4, buf.len() - 3);
            buf[i..i + 4].copy_from_slice(&v.to_ne_bytes());
        }
        Mutation::Truncate(n) => buf.truncate(n % (buf.len() + 1)),
        _ => {}
    }
}

fn xdp_set_link() -> impl Strategy<Value = XdpSetLink> {
    (
        any::<i32>(),
        any::<i32>(),
        any::<u32>(),
        proptest::option::of(any::<i32>()),
    )
        .prop_map(|(ifindex, prog_fd, flags, expected_fd)| XdpSetLink {
            ifindex,
            prog_fd,
            flags,
            expected_fd,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        poke_datagram(&bytes);
    }

    #[test]
    fn arbitrary_headers_with_arbitrary_payloads_never_panic(
        kind in prop_oneof![Just(NLMSG_ERROR), Just(RTM_NEWLINK), Just(NLMSG_DONE), any::<u16>()],
        flags in prop_oneof![
            Just(NLM_F_ACK_TLVS), Just(NLM_F_ACK_TLVS | NLM_F_CAPPED), Just(NLM_F_CAPPED), any::<u16>()
        ],
        payload in proptest::collection::vec(any::<u8>(), 0..300),
        extra in 0u32..8,
    ) {
        let mut msg = nlmsg(kind, flags, 1, &payload);
        // Sometimes claim a little more than is there.
        let len = u32::from_ne_bytes(msg[0..4].try_into().unwrap()) + extra;
        msg[0..4].copy_from_slice(&len.to_ne_bytes());
        poke_datagram(&msg);
    }

    #[test]
    fn mutated_valid_replies_never_panic(mutations in proptest::collection::vec(mutation(), 1..8)) {
        let mut datagram = valid_datagram();
        for m in &mutations {
            apply(&mut datagram, m);
        }
        poke_datagram(&datagram);
    }

    #[test]
    fn xdp_set_link_round_trips(req in xdp_set_link(), seq in any::<u32>()) {
        let mut buf = [0u8; XdpSetLink::MAX_LEN];
        let n = req.emit(seq, &mut buf).unwrap();
        prop_assert_eq!(n, req.buffer_len());
        prop_assert_eq!(n % 4, 0);
        let bytes = &buf[..n];

        // Through the public parsers.
        let msg = Messages::new(bytes).next().unwrap().unwrap();
        prop_assert_eq!(msg.header(), NlMsgHdr {
            nlmsg_len: n as u32,
            nlmsg_type: RTM_SETLINK,
            nlmsg_flags: NLM_F_REQUEST | NLM_F_ACK,
            nlmsg_seq: seq,
            nlmsg_pid: 0,
        });
        prop_assert_eq!(XdpSetLink::parse(&msg), Ok(req));

        // And by hand with the attribute iterator.
        prop_assert_eq!(&msg.payload()[..4], &[0u8; 4]);
        prop_assert_eq!(&msg.payload()[4..8], &req.ifindex.to_ne_bytes());
        prop_assert_eq!(&msg.payload()[8..16], &[0u8; 8]);
        let top: Vec<Attr<'_>> = Attrs::new(&msg.payload()[16..]).map(Result::unwrap).collect();
        prop_assert_eq!(top.len(), 1);
        prop_assert_eq!(top[0].kind, IFLA_XDP);
        prop_assert!(top[0].nested);
        let inner: Vec<(u16, [u8; 4])> = top[0]
            .children()
            .map(|a| {
                let a = a.unwrap();
                (a.kind, a.payload.try_into().unwrap())
            })
            .collect();
        let mut want = vec![(IFLA_XDP_FD, req.prog_fd.to_ne_bytes())];
        if req.flags != 0 {
            want.push((IFLA_XDP_FLAGS, req.flags.to_ne_bytes()));
        }
        if let Some(fd) = req.expected_fd {
            want.push((IFLA_XDP_EXPECTED_FD, fd.to_ne_bytes()));
        }
        prop_assert_eq!(inner, want);
    }

    #[test]
    fn xdp_set_link_into_any_buffer_fits_or_errs(req in xdp_set_link(), size in 0usize..80) {
        let mut buf = vec![0u8; size];
        match req.emit(1, &mut buf) {
            Ok(n) => prop_assert!(n == req.buffer_len() && n <= size),
            Err(e) => prop_assert_eq!(e, EncodeError::BufferTooSmall {
                needed: req.buffer_len(),
                available: size,
            }),
        }
    }

    #[test]
    fn get_link_round_trips(
        ifindex in any::<i32>(),
        name in proptest::collection::vec(1u8..=255, 1..16),
        by_name in any::<bool>(),
        seq in any::<u32>(),
    ) {
        let req = if by_name { GetLink::Name(&name) } else { GetLink::Index(ifindex) };
        let mut buf = [0u8; GetLink::MAX_LEN];
        let n = req.emit(seq, &mut buf).unwrap();
        prop_assert_eq!(n, req.buffer_len());
        let msg = Message::parse(&buf[..n]).unwrap();
        prop_assert_eq!((msg.kind(), msg.flags(), msg.seq()), (RTM_GETLINK, NLM_F_REQUEST, seq));
        prop_assert_eq!(GetLink::parse(&msg), Ok(req));
    }

    #[test]
    fn written_attributes_read_back(
        attrs in proptest::collection::vec(
            (0u16..0x3fff, proptest::collection::vec(any::<u8>(), 0..40)),
            0..12,
        ),
        size in 0usize..400,
    ) {
        let mut buf = vec![0xa5u8; size];
        let mut w = AttrWriter::new(&mut buf);
        let mut written = 0;
        for (kind, payload) in &attrs {
            let before = w.len();
            match w.put(*kind, payload) {
                Ok(()) => {
                    prop_assert_eq!(w.len(), before + (4 + payload.len()).next_multiple_of(4));
                    written += 1;
                }
                Err(_) => {
                    prop_assert_eq!(w.len(), before);
                    break;
                }
            }
        }
        let n = w.len();
        let back: Vec<(u16, Vec<u8>)> = Attrs::new(&buf[..n])
            .map(|a| {
                let a = a.unwrap();
                (a.kind, a.payload.to_vec())
            })
            .collect();
        prop_assert_eq!(&back[..], &attrs[..written]);
    }
}
