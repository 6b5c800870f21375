//! Byte-level reads and writes of the fixed kernel structs (`nlmsghdr`,
//! `nlattr`, `ifinfomsg`) in host byte order.
//!
//! Every read goes through `slice::get` and returns `None` when the bytes are
//! not there; every write reports whether the destination was large enough.
//! Nothing here can panic, whatever the input.

use core::mem::size_of;

use crate::abi::rtnetlink::{IfInfoMsg, NlAttr, NlMsgHdr, NLMSG_ALIGNTO};

/// Size of `struct nlmsghdr`.
pub(crate) const NLMSG_HDRLEN: usize = size_of::<NlMsgHdr>();
/// Size of `struct nlattr`.
pub(crate) const NLA_HDRLEN: usize = size_of::<NlAttr>();
/// Size of `struct ifinfomsg`.
pub(crate) const IFINFO_LEN: usize = size_of::<IfInfoMsg>();
/// Size of the `error` field of `struct nlmsgerr` (before the echoed header).
pub(crate) const NLMSGERR_ERROR_LEN: usize = size_of::<i32>();

/// Rounds `n` up to the netlink alignment (4). Saturates instead of wrapping;
/// callers clamp the result to their buffer.
pub(crate) const fn align(n: usize) -> usize {
    n.saturating_add(NLMSG_ALIGNTO - 1) & !(NLMSG_ALIGNTO - 1)
}

/// `N` bytes at `off`, if they are all inside `b`.
fn array_at<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    b.get(off..off.checked_add(N)?)?.try_into().ok()
}

/// A native-endian `u16` at `off`.
pub(crate) fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    array_at(b, off).map(u16::from_ne_bytes)
}

/// A native-endian `u32` at `off`.
pub(crate) fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    array_at(b, off).map(u32::from_ne_bytes)
}

/// A native-endian `i32` at `off`.
pub(crate) fn i32_at(b: &[u8], off: usize) -> Option<i32> {
    array_at(b, off).map(i32::from_ne_bytes)
}

/// Copies `src` into `b` at `off`; `None` (and nothing written) if it does
/// not fit.
pub(crate) fn put_at(b: &mut [u8], off: usize, src: &[u8]) -> Option<()> {
    b.get_mut(off..off.checked_add(src.len())?)?
        .copy_from_slice(src);
    Some(())
}

/// Reads a `struct nlmsghdr` from the start of `b`.
pub(crate) fn read_nlmsghdr(b: &[u8]) -> Option<NlMsgHdr> {
    Some(NlMsgHdr {
        nlmsg_len: u32_at(b, 0)?,
        nlmsg_type: u16_at(b, 4)?,
        nlmsg_flags: u16_at(b, 6)?,
        nlmsg_seq: u32_at(b, 8)?,
        nlmsg_pid: u32_at(b, 12)?,
    })
}

/// Writes a `struct nlmsghdr` at the start of `b`.
pub(crate) fn write_nlmsghdr(h: &NlMsgHdr, b: &mut [u8]) -> Option<()> {
    let mut raw = [0u8; NLMSG_HDRLEN];
    raw[0..4].copy_from_slice(&h.nlmsg_len.to_ne_bytes());
    raw[4..6].copy_from_slice(&h.nlmsg_type.to_ne_bytes());
    raw[6..8].copy_from_slice(&h.nlmsg_flags.to_ne_bytes());
    raw[8..12].copy_from_slice(&h.nlmsg_seq.to_ne_bytes());
    raw[12..16].copy_from_slice(&h.nlmsg_pid.to_ne_bytes());
    put_at(b, 0, &raw)
}

/// Reads a `struct nlattr` from the start of `b`.
pub(crate) fn read_nlattr(b: &[u8]) -> Option<NlAttr> {
    Some(NlAttr {
        nla_len: u16_at(b, 0)?,
        nla_type: u16_at(b, 2)?,
    })
}

/// Writes a `struct nlattr` at `off` in `b`.
pub(crate) fn write_nlattr(h: &NlAttr, b: &mut [u8], off: usize) -> Option<()> {
    let mut raw = [0u8; NLA_HDRLEN];
    raw[0..2].copy_from_slice(&h.nla_len.to_ne_bytes());
    raw[2..4].copy_from_slice(&h.nla_type.to_ne_bytes());
    put_at(b, off, &raw)
}

/// Reads a `struct ifinfomsg` from the start of `b`.
pub(crate) fn read_ifinfomsg(b: &[u8]) -> Option<IfInfoMsg> {
    let [ifi_family, _ifi_pad] = array_at(b, 0)?;
    Some(IfInfoMsg {
        ifi_family,
        _ifi_pad,
        ifi_type: u16_at(b, 2)?,
        ifi_index: i32_at(b, 4)?,
        ifi_flags: u32_at(b, 8)?,
        ifi_change: u32_at(b, 12)?,
    })
}

/// Writes a `struct ifinfomsg` at the start of `b`.
pub(crate) fn write_ifinfomsg(m: &IfInfoMsg, b: &mut [u8]) -> Option<()> {
    let mut raw = [0u8; IFINFO_LEN];
    raw[0] = m.ifi_family;
    raw[1] = m._ifi_pad;
    raw[2..4].copy_from_slice(&m.ifi_type.to_ne_bytes());
    raw[4..8].copy_from_slice(&m.ifi_index.to_ne_bytes());
    raw[8..12].copy_from_slice(&m.ifi_flags.to_ne_bytes());
    raw[12..16].copy_from_slice(&m.ifi_change.to_ne_bytes());
    put_at(b, 0, &raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_rounds_up_and_saturates() {
        assert_eq!(align(0), 0);
        assert_eq!(align(1), 4);
        assert_eq!(align(4), 4);
        assert_eq!(align(5), 8);
        assert_eq!(align(usize::MAX), usize::MAX & !3);
    }

    #[test]
    fn reads_out_of_range_are_none() {
        assert_eq!(u32_at(&[1, 2, 3], 0), None);
        assert_eq!(u32_at(&[1, 2, 3, 4], usize::MAX), None);
        assert_eq!(read_nlmsghdr(&[0; 15]), None);
        assert_eq!(read_ifinfomsg(&[0; 15]), None);
        assert_eq!(put_at(&mut [0; 3], 2, &[1, 2]), None);
    }

    #[test]
    fn header_round_trips() {
        let h = NlMsgHdr {
            nlmsg_len: 36,
            nlmsg_type: 19,
            nlmsg_flags: 5,
            nlmsg_seq: 0xdead_beef,
            nlmsg_pid: 77,
        };
        let mut b = [0u8; 16];
        write_nlmsghdr(&h, &mut b).unwrap();
        assert_eq!(read_nlmsghdr(&b), Some(h));
        let i = IfInfoMsg {
            ifi_family: 1,
            _ifi_pad: 0,
            ifi_type: 772,
            ifi_index: -3,
            ifi_flags: 0x1_0043,
            ifi_change: 9,
        };
        write_ifinfomsg(&i, &mut b).unwrap();
        assert_eq!(read_ifinfomsg(&b), Some(i));
    }
}
