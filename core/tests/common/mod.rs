//! What core's test binaries share: a layout check against `libc`, and
//! netlink bytes built by hand, field by field, as the kernel headers lay
//! them out. Each binary uses part of it.

#![allow(dead_code, unused_macros)]

/// Asserts that two structs have the same size and the listed fields the
/// same offsets.
macro_rules! same_layout {
    ($ours:ty, $theirs:ty $(, $ofield:ident = $tfield:ident)* $(,)?) => {{
        assert_eq!(::core::mem::size_of::<$ours>(), ::core::mem::size_of::<$theirs>(),
            "size of {} vs libc::{}", stringify!($ours), stringify!($theirs));
        $(assert_eq!(::core::mem::offset_of!($ours, $ofield),
            ::core::mem::offset_of!($theirs, $tfield),
            "offset of {}.{}", stringify!($ours), stringify!($ofield));)*
    }};
}
// Unused, like the rest, in the binaries that need other parts.
#[allow(unused_imports)]
pub(crate) use same_layout;

/// A byte sequence built field by field, in host byte order.
#[derive(Default)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    /// Appends a `u8`.
    pub fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    /// Appends a `u16`.
    pub fn u16(mut self, v: u16) -> Self {
        self.0.extend_from_slice(&v.to_ne_bytes());
        self
    }
    /// Appends a `u32`.
    pub fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_ne_bytes());
        self
    }
    /// Appends a `i32`.
    pub fn i32(mut self, v: i32) -> Self {
        self.0.extend_from_slice(&v.to_ne_bytes());
        self
    }
    /// Appends bytes as they are.
    pub fn raw(mut self, v: &[u8]) -> Self {
        self.0.extend_from_slice(v);
        self
    }
    /// `struct nlmsghdr`.
    pub fn nlmsghdr(self, len: u32, kind: u16, flags: u16, seq: u32, pid: u32) -> Self {
        self.u32(len).u16(kind).u16(flags).u32(seq).u32(pid)
    }
    /// `struct ifinfomsg` with family `AF_UNSPEC` and type 0.
    pub fn ifinfomsg(self, ifindex: i32, flags: u32, change: u32) -> Self {
        self.u8(0).u8(0).u16(0).i32(ifindex).u32(flags).u32(change)
    }
    /// `struct ifaddrmsg` with scope 0.
    pub fn ifaddrmsg(self, family: u16, prefix: u8, flags: u8, ifindex: u32) -> Self {
        self.u8(family as u8)
            .u8(prefix)
            .u8(flags)
            .u8(0)
            .u32(ifindex)
    }
    /// `struct rtmsg` of type `RTN_UNICAST`, no source, TOS or flags.
    pub fn rtmsg(self, family: u16, dst_len: u8, table: u8, proto: u8, scope: u8) -> Self {
        self.u8(family as u8)
            .u8(dst_len)
            .u8(0)
            .u8(0)
            .u8(table)
            .u8(proto)
            .u8(scope)
            .u8(afxdp_core::abi::rtnetlink::RTN_UNICAST)
            .u32(0)
    }
    /// `struct nlattr`.
    pub fn nlattr(self, len: u16, kind: u16) -> Self {
        self.u16(len).u16(kind)
    }
}

/// Pads `v` with zeros to a multiple of 4 bytes (`NLMSG_ALIGN`, `NLA_ALIGN`).
pub fn pad(mut v: Vec<u8>) -> Vec<u8> {
    v.resize(v.len().next_multiple_of(4), 0);
    v
}

/// One attribute, padded.
pub fn nla(kind: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&((4 + payload.len()) as u16).to_ne_bytes());
    v.extend_from_slice(&kind.to_ne_bytes());
    v.extend_from_slice(payload);
    pad(v)
}

/// One message from port `pid`, padded.
pub fn nlmsg(kind: u16, flags: u16, seq: u32, pid: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&((16 + payload.len()) as u32).to_ne_bytes());
    v.extend_from_slice(&kind.to_ne_bytes());
    v.extend_from_slice(&flags.to_ne_bytes());
    v.extend_from_slice(&seq.to_ne_bytes());
    v.extend_from_slice(&pid.to_ne_bytes());
    v.extend_from_slice(payload);
    pad(v)
}
