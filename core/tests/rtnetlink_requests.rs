//! Golden bytes: the requests the rtnetlink codec emits are exactly the
//! bytes built here by hand, field by field, as the kernel headers lay them
//! out.

mod common;

use afxdp_core::abi::rtnetlink::*;
use afxdp_core::rtnetlink::{EncodeError, GetLink, Message, XdpSetLink};
use common::Bytes;

fn emit(req: &XdpSetLink, seq: u32) -> Vec<u8> {
    // A dirty buffer: every byte of the message must be written.
    let mut buf = [0xa5u8; 128];
    let n = req.emit(seq, &mut buf).expect("emit");
    assert_eq!(n, req.buffer_len());
    assert!(n <= XdpSetLink::MAX_LEN);
    buf[..n].to_vec()
}

fn emit_get(req: &GetLink<'_>, seq: u32) -> Vec<u8> {
    let mut buf = [0xa5u8; 128];
    let n = req.emit(seq, &mut buf).expect("emit");
    assert_eq!(n, req.buffer_len());
    assert!(n <= GetLink::MAX_LEN);
    buf[..n].to_vec()
}

#[test]
fn setlink_attach_in_driver_mode_is_the_golden_message() {
    let req = XdpSetLink::attach(7, 5, XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST);
    let want = Bytes::default()
        .nlmsghdr(52, 19, 5, 0x0102_0304, 0)
        .ifinfomsg(7, 0, 0)
        .nlattr(20, 43 | 0x8000)
        .nlattr(8, 1)
        .i32(5)
        .nlattr(8, 3)
        .u32(4 | 1);
    assert_eq!(emit(&req, 0x0102_0304), want.0);
}

#[cfg(target_endian = "little")]
#[test]
fn setlink_attach_matches_literal_little_endian_bytes() {
    let req = XdpSetLink::attach(7, 5, XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST);
    #[rustfmt::skip]
    let want: [u8; 52] = [
        52, 0, 0, 0,   19, 0,   5, 0,   1, 0, 0, 0,   0, 0, 0, 0, // nlmsghdr
        0, 0, 0, 0,   7, 0, 0, 0,   0, 0, 0, 0,   0, 0, 0, 0,     // ifinfomsg
        20, 0, 43, 0x80,                                          // IFLA_XDP | NLA_F_NESTED
        8, 0, 1, 0,   5, 0, 0, 0,                                 // IFLA_XDP_FD 5
        8, 0, 3, 0,   5, 0, 0, 0,                                 // IFLA_XDP_FLAGS 5
    ];
    assert_eq!(emit(&req, 1), want);
}

#[test]
fn setlink_detach_in_skb_mode_sends_fd_minus_one() {
    let req = XdpSetLink::detach(7, XDP_FLAGS_SKB_MODE);
    let want = Bytes::default()
        .nlmsghdr(52, RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, 2, 0)
        .ifinfomsg(7, 0, 0)
        .nlattr(20, IFLA_XDP | NLA_F_NESTED)
        .nlattr(8, IFLA_XDP_FD)
        .i32(-1)
        .nlattr(8, IFLA_XDP_FLAGS)
        .u32(XDP_FLAGS_SKB_MODE);
    assert_eq!(emit(&req, 2), want.0);
}

#[test]
fn setlink_without_flags_omits_the_flags_attribute() {
    let req = XdpSetLink::detach(3, 0);
    let want = Bytes::default()
        .nlmsghdr(44, RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, 3, 0)
        .ifinfomsg(3, 0, 0)
        .nlattr(12, IFLA_XDP | NLA_F_NESTED)
        .nlattr(8, IFLA_XDP_FD)
        .i32(-1);
    assert_eq!(emit(&req, 3), want.0);
}

#[test]
fn setlink_replace_sends_the_expected_fd_last() {
    let req = XdpSetLink::replace(7, 9, 5, XDP_FLAGS_DRV_MODE);
    assert_eq!(req.flags, XDP_FLAGS_DRV_MODE | XDP_FLAGS_REPLACE);
    let want = Bytes::default()
        .nlmsghdr(60, RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, 4, 0)
        .ifinfomsg(7, 0, 0)
        .nlattr(28, IFLA_XDP | NLA_F_NESTED)
        .nlattr(8, IFLA_XDP_FD)
        .i32(9)
        .nlattr(8, IFLA_XDP_FLAGS)
        .u32(XDP_FLAGS_DRV_MODE | XDP_FLAGS_REPLACE)
        .nlattr(8, IFLA_XDP_EXPECTED_FD)
        .i32(5);
    assert_eq!(emit(&req, 4), want.0);
    assert_eq!(want.0.len(), XdpSetLink::MAX_LEN);
}

#[test]
fn setlink_expected_fd_is_encoded_as_given_even_without_replace() {
    // The codec does not second-guess the caller; the kernel rejects this.
    let req = XdpSetLink {
        ifindex: 1,
        prog_fd: 2,
        flags: 0,
        expected_fd: Some(3),
    };
    let want = Bytes::default()
        .nlmsghdr(52, RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, 5, 0)
        .ifinfomsg(1, 0, 0)
        .nlattr(20, IFLA_XDP | NLA_F_NESTED)
        .nlattr(8, IFLA_XDP_FD)
        .i32(2)
        .nlattr(8, IFLA_XDP_EXPECTED_FD)
        .i32(3);
    assert_eq!(emit(&req, 5), want.0);
}

#[test]
fn getlink_by_index_is_a_bare_ifinfomsg() {
    let want = Bytes::default()
        .nlmsghdr(32, 18, 1, 6, 0)
        .ifinfomsg(7, 0, 0);
    assert_eq!(emit_get(&GetLink::Index(7), 6), want.0);
}

#[test]
fn getlink_by_name_sends_ifla_ifname_with_nul_and_padding() {
    let want = Bytes::default()
        .nlmsghdr(44, RTM_GETLINK, NLM_F_REQUEST, 7, 0)
        .ifinfomsg(0, 0, 0)
        .nlattr(9, IFLA_IFNAME)
        .raw(b"eth0\0\0\0\0");
    assert_eq!(emit_get(&GetLink::Name(b"eth0"), 7), want.0);

    // A 15-byte name: 4 + 16 = 20, already aligned.
    let want = Bytes::default()
        .nlmsghdr(52, RTM_GETLINK, NLM_F_REQUEST, 8, 0)
        .ifinfomsg(0, 0, 0)
        .nlattr(20, IFLA_IFNAME)
        .raw(b"abcdefghijklmno\0");
    assert_eq!(emit_get(&GetLink::Name(b"abcdefghijklmno"), 8), want.0);
    assert_eq!(want.0.len(), GetLink::MAX_LEN);
}

#[test]
fn getlink_rejects_names_linux_cannot_hold() {
    let mut buf = [0u8; 128];
    for (name, err) in [
        (&b""[..], EncodeError::InvalidIfName { len: 0 }),
        (b"abcdefghijklmnop", EncodeError::InvalidIfName { len: 16 }),
        (b"et\0h0", EncodeError::InteriorNul { kind: IFLA_IFNAME }),
    ] {
        assert_eq!(GetLink::Name(name).emit(1, &mut buf), Err(err));
    }
}

#[test]
fn every_too_small_buffer_is_an_error_not_a_panic() {
    let reqs = [
        XdpSetLink::attach(7, 5, XDP_FLAGS_DRV_MODE),
        XdpSetLink::detach(7, 0),
        XdpSetLink::replace(7, 9, 5, XDP_FLAGS_SKB_MODE),
    ];
    for req in reqs {
        let need = req.buffer_len();
        for size in 0..need {
            let mut buf = vec![0u8; size];
            assert_eq!(
                req.emit(1, &mut buf),
                Err(EncodeError::BufferTooSmall {
                    needed: need,
                    available: size
                }),
                "{req:?} into {size} bytes"
            );
        }
        let mut buf = vec![0u8; need];
        assert_eq!(req.emit(1, &mut buf), Ok(need));
    }
    for req in [GetLink::Index(1), GetLink::Name(b"veth-xdp0")] {
        let need = req.buffer_len();
        for size in 0..need {
            let mut buf = vec![0u8; size];
            assert!(matches!(
                req.emit(1, &mut buf),
                Err(EncodeError::BufferTooSmall { .. })
            ));
        }
    }
}

#[test]
fn requests_parse_back_through_the_reply_parser() {
    let mut buf = [0u8; 128];
    let req = XdpSetLink::replace(12, 40, 41, XDP_FLAGS_DRV_MODE);
    let n = req.emit(77, &mut buf).unwrap();
    let msg = Message::parse(&buf[..n]).unwrap();
    assert_eq!((msg.kind(), msg.seq(), msg.pid()), (RTM_SETLINK, 77, 0));
    assert_eq!(msg.flags(), NLM_F_REQUEST | NLM_F_ACK);
    assert_eq!(XdpSetLink::parse(&msg), Ok(req));
    assert!(GetLink::parse(&msg).is_err());

    let n = GetLink::Name(b"lo").emit(78, &mut buf).unwrap();
    let msg = Message::parse(&buf[..n]).unwrap();
    assert_eq!(GetLink::parse(&msg), Ok(GetLink::Name(b"lo")));
    assert!(XdpSetLink::parse(&msg).is_err());
}
