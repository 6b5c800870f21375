//! `linux/netlink.h`, `linux/rtnetlink.h` and the XDP part of
//! `linux/if_link.h`: the route-netlink messages that attach, detach and
//! query XDP programs; and the link, address and route messages a CNI
//! plugin sends (move a link to a namespace, rename it, set it up, give it
//! addresses and routes).

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

// ---- links, addresses and routes (what a CNI plugin configures) ----

/// A new address, or one in the answer to `RTM_GETADDR`.
pub const RTM_NEWADDR: u16 = 20;
/// Delete an address.
pub const RTM_DELADDR: u16 = 21;
/// Get addresses (a dump).
pub const RTM_GETADDR: u16 = 22;
/// A new route, or one in the answer to `RTM_GETROUTE`.
pub const RTM_NEWROUTE: u16 = 24;
/// Delete a route.
pub const RTM_DELROUTE: u16 = 25;
/// Get routes (a dump).
pub const RTM_GETROUTE: u16 = 26;

/// NEW: replace what exists.
pub const NLM_F_REPLACE: u16 = 0x100;
/// NEW: fail if it exists.
pub const NLM_F_EXCL: u16 = 0x200;
/// NEW: create if it does not exist.
pub const NLM_F_CREATE: u16 = 0x400;
/// NEW: add to the end of the list.
pub const NLM_F_APPEND: u16 = 0x800;

/// `IFLA_ADDRESS`: the link-layer (MAC) address.
pub const IFLA_ADDRESS: u16 = 1;
/// `IFLA_BROADCAST`: the link-layer broadcast address.
pub const IFLA_BROADCAST: u16 = 2;
/// `IFLA_PERM_ADDRESS` (Linux 5.6): the hardware address the device came
/// with (`perm_addr`), which setting the MAC does not change; sent only for
/// a device that has one (not all zeros), so a physical NIC, not a veth.
pub const IFLA_PERM_ADDRESS: u16 = 54;
/// `IFLA_LINKINFO`: nested, what kind of link it is (`IFLA_INFO_*`); absent
/// for a device with a driver of its own (a NIC), present for one made with
/// `RTM_NEWLINK` (`veth`, `bridge`, ...).
pub const IFLA_LINKINFO: u16 = 18;
/// `IFLA_INFO_KIND`, in `IFLA_LINKINFO`: the kind's name (NUL-terminated).
pub const IFLA_INFO_KIND: u16 = 1;
/// `IFLA_OPERSTATE`: `u8`, RFC 2863 operational state (`IF_OPER_*`).
pub const IFLA_OPERSTATE: u16 = 16;
/// `IFLA_NET_NS_PID`: `u32`, move the link to the network namespace of
/// this process.
pub const IFLA_NET_NS_PID: u16 = 19;
/// `IFLA_NET_NS_FD`: `u32`, move the link to the network namespace this
/// fd refers to (a `/proc/PID/ns/net` or `/run/netns/NAME` file).
pub const IFLA_NET_NS_FD: u16 = 28;

/// `ifi_flags`: administratively up.
pub const IFF_UP: u32 = 0x1;
/// `ifi_flags`: broadcast address valid.
pub const IFF_BROADCAST: u32 = 0x2;
/// `ifi_flags`: a loopback device.
pub const IFF_LOOPBACK: u32 = 0x8;
/// `ifi_flags`: operationally up (RFC 2863 `up`).
pub const IFF_RUNNING: u32 = 0x40;
/// `ifi_flags`: the carrier is on (layer 1 up).
pub const IFF_LOWER_UP: u32 = 0x1_0000;

/// `IFA_ADDRESS`: the address (the peer's on a point-to-point link, else
/// the same as `IFA_LOCAL`).
pub const IFA_ADDRESS: u16 = 1;
/// `IFA_LOCAL`: the local address.
pub const IFA_LOCAL: u16 = 2;
/// `IFA_LABEL`: the address label (IPv4), a string.
pub const IFA_LABEL: u16 = 3;
/// `IFA_BROADCAST`: the IPv4 broadcast address.
pub const IFA_BROADCAST: u16 = 4;
/// `IFA_FLAGS`: `u32`, all the `IFA_F_*` flags (`ifa_flags` holds the low 8).
pub const IFA_FLAGS: u16 = 8;

/// `ifa_flags`: do not run duplicate address detection (IPv6).
pub const IFA_F_NODAD: u8 = 0x02;
/// `ifa_flags`: a permanent (configured, not autoconf) address.
pub const IFA_F_PERMANENT: u8 = 0x80;

/// `RTA_DST`: the destination prefix.
pub const RTA_DST: u16 = 1;
/// `RTA_SRC`: the source prefix.
pub const RTA_SRC: u16 = 2;
/// `RTA_OIF`: `u32`, the output interface index.
pub const RTA_OIF: u16 = 4;
/// `RTA_GATEWAY`: the next hop.
pub const RTA_GATEWAY: u16 = 5;
/// `RTA_PRIORITY`: `u32`, the metric.
pub const RTA_PRIORITY: u16 = 6;
/// `RTA_PREFSRC`: the preferred source address.
pub const RTA_PREFSRC: u16 = 7;
/// `RTA_METRICS`: nested `RTAX_*` values.
pub const RTA_METRICS: u16 = 8;
/// `RTA_TABLE`: `u32`, the table (any id; `rtm_table` holds ids below 256).
pub const RTA_TABLE: u16 = 15;

/// `RTAX_MTU`: `u32`, the path MTU of the route.
pub const RTAX_MTU: u16 = 2;
/// `RTAX_ADVMSS`: `u32`, the MSS to advertise.
pub const RTAX_ADVMSS: u16 = 8;

/// `rtm_table`: no table given (use `RTA_TABLE`).
pub const RT_TABLE_UNSPEC: u8 = 0;
/// `rtm_table`: the main table.
pub const RT_TABLE_MAIN: u8 = 254;
/// `rtm_protocol`: installed at boot or by an administrator's tool.
pub const RTPROT_BOOT: u8 = 3;
/// `rtm_protocol`: installed by the administrator.
pub const RTPROT_STATIC: u8 = 4;
/// `rtm_scope`: global.
pub const RT_SCOPE_UNIVERSE: u8 = 0;
/// `rtm_scope`: on this link (no gateway).
pub const RT_SCOPE_LINK: u8 = 253;
/// `rtm_scope`: on this host.
pub const RT_SCOPE_HOST: u8 = 254;
/// `rtm_type`: a unicast route.
pub const RTN_UNICAST: u8 = 1;

/// `struct ifaddrmsg`: the fixed header of address messages.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfAddrMsg {
    /// `AF_INET` or `AF_INET6`.
    pub ifa_family: u8,
    /// Prefix length.
    pub ifa_prefixlen: u8,
    /// The low 8 bits of the `IFA_F_*` flags.
    pub ifa_flags: u8,
    /// `RT_SCOPE_*`.
    pub ifa_scope: u8,
    /// Interface index.
    pub ifa_index: u32,
}
assert_layout!(IfAddrMsg, size = 8, ifa_family @ 0, ifa_prefixlen @ 1, ifa_flags @ 2, ifa_scope @ 3, ifa_index @ 4);

/// `struct rtmsg`: the fixed header of route messages.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RtMsg {
    /// `AF_INET` or `AF_INET6`.
    pub rtm_family: u8,
    /// Destination prefix length.
    pub rtm_dst_len: u8,
    /// Source prefix length.
    pub rtm_src_len: u8,
    /// TOS filter.
    pub rtm_tos: u8,
    /// `RT_TABLE_*` (ids of 256 and up go in `RTA_TABLE`).
    pub rtm_table: u8,
    /// `RTPROT_*`: who installed the route.
    pub rtm_protocol: u8,
    /// `RT_SCOPE_*`.
    pub rtm_scope: u8,
    /// `RTN_*`.
    pub rtm_type: u8,
    /// `RTM_F_*`.
    pub rtm_flags: u32,
}
assert_layout!(RtMsg, size = 12, rtm_family @ 0, rtm_dst_len @ 1, rtm_src_len @ 2, rtm_tos @ 3, rtm_table @ 4, rtm_protocol @ 5, rtm_scope @ 6, rtm_type @ 7, rtm_flags @ 8);
