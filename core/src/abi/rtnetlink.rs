//! `linux/netlink.h`, `linux/rtnetlink.h` and the XDP part of
//! `linux/if_link.h`: the route-netlink messages that attach, detach and
//! query XDP programs.

use super::assert_layout;

/// Netlink protocol of the routing family (`socket(AF_NETLINK, .., NETLINK_ROUTE)`).
pub const NETLINK_ROUTE: i32 = 0;

// ---- socket options, level `SOL_NETLINK` ----

/// Do not echo the request in error acks.
pub const NETLINK_CAP_ACK: i32 = 10;
/// Ask for extended acks (an error message and offset in the ack).
pub const NETLINK_EXT_ACK: i32 = 11;
/// Ask for strict checking of requests.
pub const NETLINK_GET_STRICT_CHK: i32 = 12;

// ---- message types ----

/// Nothing.
pub const NLMSG_NOOP: u16 = 1;
/// An error, or with `error == 0` an ack.
pub const NLMSG_ERROR: u16 = 2;
/// End of a multipart message.
pub const NLMSG_DONE: u16 = 3;
/// Data lost.
pub const NLMSG_OVERRUN: u16 = 4;
/// Types below this are control messages.
pub const NLMSG_MIN_TYPE: u16 = 0x10;

/// A link was created, or the answer to `RTM_GETLINK`.
pub const RTM_NEWLINK: u16 = 16;
/// Delete a link.
pub const RTM_DELLINK: u16 = 17;
/// Get one link (or dump all).
pub const RTM_GETLINK: u16 = 18;
/// Change a link's attributes (attach XDP here).
pub const RTM_SETLINK: u16 = 19;

// ---- header flags ----

/// A request.
pub const NLM_F_REQUEST: u16 = 0x1;
/// Part of a multipart message.
pub const NLM_F_MULTI: u16 = 0x2;
/// Ask for an ack.
pub const NLM_F_ACK: u16 = 0x4;
/// Echo this request.
pub const NLM_F_ECHO: u16 = 0x8;
/// A dump was inconsistent.
pub const NLM_F_DUMP_INTR: u16 = 0x10;
/// GET: the whole table.
pub const NLM_F_ROOT: u16 = 0x100;
/// GET: every match.
pub const NLM_F_MATCH: u16 = 0x200;
/// GET: dump.
pub const NLM_F_DUMP: u16 = NLM_F_ROOT | NLM_F_MATCH;
/// Ack flag: the request was not echoed.
pub const NLM_F_CAPPED: u16 = 0x100;
/// Ack flag: extended-ack attributes follow.
pub const NLM_F_ACK_TLVS: u16 = 0x200;

/// Alignment of messages and attributes.
pub const NLMSG_ALIGNTO: usize = 4;
/// Alignment of attributes.
pub const NLA_ALIGNTO: usize = 4;
/// Attribute type flag: nested attributes.
pub const NLA_F_NESTED: u16 = 1 << 15;
/// Attribute type flag: payload in network byte order.
pub const NLA_F_NET_BYTEORDER: u16 = 1 << 14;
/// The type bits of an attribute's `nla_type`.
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

// ---- extended-ack attributes (`enum nlmsgerr_attrs`) ----

/// NUL-terminated error message.
pub const NLMSGERR_ATTR_MSG: u16 = 1;
/// `u32` offset of the offending attribute in the request.
pub const NLMSGERR_ATTR_OFFS: u16 = 2;
/// Cookie.
pub const NLMSGERR_ATTR_COOKIE: u16 = 3;
/// Policy of the offending attribute.
pub const NLMSGERR_ATTR_POLICY: u16 = 4;
/// Type of a missing attribute.
pub const NLMSGERR_ATTR_MISS_TYPE: u16 = 5;
/// Offset of the nest where an attribute is missing.
pub const NLMSGERR_ATTR_MISS_NEST: u16 = 6;

// ---- link attributes (`IFLA_*`) used here ----

/// Interface name (NUL-terminated string).
pub const IFLA_IFNAME: u16 = 3;
/// MTU.
pub const IFLA_MTU: u16 = 4;
/// Number of TX queues.
pub const IFLA_NUM_TX_QUEUES: u16 = 31;
/// Number of RX queues.
pub const IFLA_NUM_RX_QUEUES: u16 = 32;
/// Extended info mask for GET requests.
pub const IFLA_EXT_MASK: u16 = 29;
/// Nested XDP attributes (`IFLA_XDP_*`).
pub const IFLA_XDP: u16 = 43;

/// `IFLA_XDP_FD`: `i32` program fd to attach, or -1 to detach.
pub const IFLA_XDP_FD: u16 = 1;
/// `IFLA_XDP_ATTACHED`: `u8`, one of `XDP_ATTACHED_*`.
pub const IFLA_XDP_ATTACHED: u16 = 2;
/// `IFLA_XDP_FLAGS`: `u32`, `XDP_FLAGS_*`.
pub const IFLA_XDP_FLAGS: u16 = 3;
/// `IFLA_XDP_PROG_ID`: `u32` id of the attached program (single mode).
pub const IFLA_XDP_PROG_ID: u16 = 4;
/// `IFLA_XDP_DRV_PROG_ID`: `u32` id of the native-mode program.
pub const IFLA_XDP_DRV_PROG_ID: u16 = 5;
/// `IFLA_XDP_SKB_PROG_ID`: `u32` id of the generic-mode program.
pub const IFLA_XDP_SKB_PROG_ID: u16 = 6;
/// `IFLA_XDP_HW_PROG_ID`: `u32` id of the offloaded program.
pub const IFLA_XDP_HW_PROG_ID: u16 = 7;
/// `IFLA_XDP_EXPECTED_FD`: `i32` fd of the program expected to be attached
/// now (with `XDP_FLAGS_REPLACE`).
pub const IFLA_XDP_EXPECTED_FD: u16 = 8;

/// `IFLA_XDP_ATTACHED`: nothing attached.
pub const XDP_ATTACHED_NONE: u8 = 0;
/// `IFLA_XDP_ATTACHED`: a native (driver) program.
pub const XDP_ATTACHED_DRV: u8 = 1;
/// `IFLA_XDP_ATTACHED`: a generic (skb) program.
pub const XDP_ATTACHED_SKB: u8 = 2;
/// `IFLA_XDP_ATTACHED`: an offloaded program.
pub const XDP_ATTACHED_HW: u8 = 3;
/// `IFLA_XDP_ATTACHED`: programs in more than one mode.
pub const XDP_ATTACHED_MULTI: u8 = 4;

/// Fail if a program is already attached.
pub const XDP_FLAGS_UPDATE_IF_NOEXIST: u32 = 1 << 0;
/// Generic mode: runs on the skb, works on every netdev.
pub const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
/// Native mode: runs in the driver.
pub const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;
/// Offloaded to the NIC.
pub const XDP_FLAGS_HW_MODE: u32 = 1 << 3;
/// Replace only the program given in `IFLA_XDP_EXPECTED_FD` (kernel 5.7+).
pub const XDP_FLAGS_REPLACE: u32 = 1 << 4;
/// The mode bits.
pub const XDP_FLAGS_MODES: u32 = XDP_FLAGS_SKB_MODE | XDP_FLAGS_DRV_MODE | XDP_FLAGS_HW_MODE;
/// Every flag the kernel knows.
pub const XDP_FLAGS_MASK: u32 = XDP_FLAGS_UPDATE_IF_NOEXIST | XDP_FLAGS_MODES | XDP_FLAGS_REPLACE;

/// `struct nlmsghdr`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NlMsgHdr {
    /// Length of the message, header included.
    pub nlmsg_len: u32,
    /// `NLMSG_*` or `RTM_*`.
    pub nlmsg_type: u16,
    /// `NLM_F_*`.
    pub nlmsg_flags: u16,
    /// Sequence number, echoed in the answer.
    pub nlmsg_seq: u32,
    /// Port id of the sender (0: the kernel).
    pub nlmsg_pid: u32,
}
assert_layout!(NlMsgHdr, size = 16, nlmsg_len @ 0, nlmsg_type @ 4, nlmsg_flags @ 6, nlmsg_seq @ 8, nlmsg_pid @ 12);

/// `struct nlmsgerr`: the payload of `NLMSG_ERROR`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NlMsgErr {
    /// Negative errno, or 0 for an ack.
    pub error: i32,
    /// Header of the request this answers.
    pub msg: NlMsgHdr,
}
assert_layout!(NlMsgErr, size = 20, error @ 0, msg @ 4);

/// `struct nlattr`: an attribute header.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NlAttr {
    /// Length of the attribute, header included, padding excluded.
    pub nla_len: u16,
    /// Type, with `NLA_F_NESTED` for a nest.
    pub nla_type: u16,
}
assert_layout!(NlAttr, size = 4, nla_len @ 0, nla_type @ 2);

/// `struct ifinfomsg`: the fixed header of link messages.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfInfoMsg {
    /// `AF_UNSPEC`.
    pub ifi_family: u8,
    /// Padding (zero).
    pub _ifi_pad: u8,
    /// `ARPHRD_*`.
    pub ifi_type: u16,
    /// Interface index.
    pub ifi_index: i32,
    /// `IFF_*` flags.
    pub ifi_flags: u32,
    /// Which flags to change.
    pub ifi_change: u32,
}
assert_layout!(IfInfoMsg, size = 16, ifi_family @ 0, ifi_type @ 2, ifi_index @ 4, ifi_flags @ 8, ifi_change @ 12);

/// `struct sockaddr_nl`: a netlink socket address.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockaddrNl {
    /// `AF_NETLINK`.
    pub nl_family: u16,
    /// Padding (zero).
    pub nl_pad: u16,
    /// Port id (0: let the kernel choose, or the kernel itself).
    pub nl_pid: u32,
    /// Multicast groups.
    pub nl_groups: u32,
}
assert_layout!(SockaddrNl, size = 12, nl_family @ 0, nl_pad @ 2, nl_pid @ 4, nl_groups @ 8);
