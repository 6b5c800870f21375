//! Configuring a link, as a CNI plugin does: [`SetLink`] (`RTM_SETLINK`)
//! moves a link to another network namespace, renames it, sets it up or
//! down, in one request; and what a [`Link`] answer says about its MAC
//! address, flags and kind.

use super::attr::{AttrWriter, Attrs};
use super::compose::{emit_request, request_parts};
use super::error::{EncodeError, ParseError};
use super::link::Link;
use super::message::Message;
use super::wire::{self, IFINFO_LEN, NLA_HDRLEN};
use crate::abi::rtnetlink::{
    IfInfoMsg, IFF_LOWER_UP, IFF_RUNNING, IFF_UP, IFLA_ADDRESS, IFLA_IFNAME, IFLA_INFO_KIND,
    IFLA_LINKINFO, IFLA_NET_NS_FD, IFLA_PERM_ADDRESS, NLM_F_ACK, NLM_F_REQUEST, RTM_SETLINK,
};

/// `IFNAMSIZ` (`linux/if.h`): an interface name and its NUL fit in 16 bytes.
const IFNAMSIZ: usize = 16;

/// `RTM_SETLINK` that moves a link to the network namespace of an fd,
/// renames it, and sets it up or down: any combination, in one request.
///
/// Wire form: `nlmsghdr` (`NLM_F_REQUEST | NLM_F_ACK`, pid 0), `ifinfomsg`
/// (`AF_UNSPEC`, `ifindex`; for [`up`](Self::up) `Some(on)`: `ifi_change`
/// `IFF_UP` and `ifi_flags` `IFF_UP` or 0, else both 0), then
/// `IFLA_NET_NS_FD` (`u32`) and `IFLA_IFNAME` when given, in that order.
///
/// The kernel moves the link first and gives it the new name in the
/// target namespace in the same step, so a name taken in the source
/// namespace does not matter; a name taken in the target fails the
/// request with `EEXIST`. A moved link arrives down, without addresses.
///
/// ```
/// use afxdp_core::rtnetlink::{Message, SetLink};
/// // Move ifindex 7 to the namespace of fd 5, as "eth0".
/// let req = SetLink::new(7).move_to_netns(5).rename(b"eth0");
/// let mut buf = [0u8; SetLink::MAX_LEN];
/// let n = req.emit(1, &mut buf).unwrap();
/// assert_eq!(n, req.buffer_len());
/// assert_eq!(n, 52);
/// let msg = Message::parse(&buf[..n]).unwrap();
/// assert_eq!(SetLink::parse(&msg), Ok(req));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SetLink<'n> {
    /// The link.
    pub ifindex: i32,
    /// `IFLA_NET_NS_FD`: move the link to the network namespace of this fd.
    pub netns_fd: Option<i32>,
    /// `IFLA_IFNAME`: the new name (1 to 15 bytes, no NUL).
    pub name: Option<&'n [u8]>,
    /// Set the link up (`Some(true)`) or down (`Some(false)`).
    pub up: Option<bool>,
}

impl<'n> SetLink<'n> {
    /// The longest message [`emit`](Self::emit) writes (a move and a
    /// 15-byte name).
    pub const MAX_LEN: usize =
        wire::NLMSG_HDRLEN + IFINFO_LEN + NLA_HDRLEN + 4 + NLA_HDRLEN + IFNAMSIZ;

    /// A request that changes nothing yet on `ifindex`.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::SetLink;
    /// assert_eq!(SetLink::new(3).buffer_len(), 32);
    /// ```
    pub const fn new(ifindex: i32) -> Self {
        Self {
            ifindex,
            netns_fd: None,
            name: None,
            up: None,
        }
    }

    /// Also move the link to the network namespace `fd` refers to.
    pub const fn move_to_netns(mut self, fd: i32) -> Self {
        self.netns_fd = Some(fd);
        self
    }

    /// Also rename the link to `name`.
    pub const fn rename(mut self, name: &'n [u8]) -> Self {
        self.name = Some(name);
        self
    }

    /// Also set the link up (`true`) or down (`false`).
    ///
    /// ```
    /// use afxdp_core::rtnetlink::SetLink;
    /// assert_eq!(SetLink::new(3).set_up(true).up, Some(true));
    /// ```
    pub const fn set_up(mut self, up: bool) -> Self {
        self.up = Some(up);
        self
    }

    /// The exact length [`emit`](Self::emit) writes for a valid request.
    pub const fn buffer_len(&self) -> usize {
        let mut len = wire::NLMSG_HDRLEN + IFINFO_LEN;
        if self.netns_fd.is_some() {
            len += NLA_HDRLEN + 4;
        }
        if let Some(name) = self.name {
            len += wire::align(NLA_HDRLEN + name.len() + 1);
        }
        len
    }

    /// Writes the request with sequence number `seq` at the start of `buf`
    /// and returns its length. Fails if `buf` is shorter than
    /// [`buffer_len`](Self::buffer_len), or if a new name is empty, longer
    /// than 15 bytes or contains a NUL.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::{EncodeError, SetLink};
    /// let mut buf = [0u8; SetLink::MAX_LEN];
    /// assert_eq!(SetLink::new(2).set_up(false).emit(1, &mut buf), Ok(32));
    /// assert_eq!(
    ///     SetLink::new(2).rename(b"").emit(1, &mut buf),
    ///     Err(EncodeError::InvalidIfName { len: 0 })
    /// );
    /// ```
    pub fn emit(&self, seq: u32, buf: &mut [u8]) -> Result<usize, EncodeError> {
        if let Some(name) = self.name {
            if name.is_empty() || name.len() >= IFNAMSIZ {
                return Err(EncodeError::InvalidIfName { len: name.len() });
            }
        }
        let (flags, change) = match self.up {
            None => (0, 0),
            Some(true) => (IFF_UP, IFF_UP),
            Some(false) => (0, IFF_UP),
        };
        let info = IfInfoMsg {
            ifi_index: self.ifindex,
            ifi_flags: flags,
            ifi_change: change,
            ..IfInfoMsg::default()
        };
        let mut fixed = [0u8; IFINFO_LEN];
        wire::write_ifinfomsg(&info, &mut fixed);
        emit_request(
            buf,
            RTM_SETLINK,
            NLM_F_REQUEST | NLM_F_ACK,
            seq,
            &fixed,
            self.buffer_len(),
            |w: &mut AttrWriter<'_>| {
                if let Some(fd) = self.netns_fd {
                    w.put_i32(IFLA_NET_NS_FD, fd)?;
                }
                if let Some(name) = self.name {
                    w.put_cstr(IFLA_IFNAME, name)?;
                }
                Ok(())
            },
        )
    }

    /// Reads an `RTM_SETLINK` message back. `up` is `None` unless
    /// `ifi_change` has `IFF_UP`; other attributes (an `IFLA_XDP`) are
    /// ignored.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::{Message, SetLink};
    /// let req = SetLink::new(4).set_up(true);
    /// let mut buf = [0u8; SetLink::MAX_LEN];
    /// let n = req.emit(9, &mut buf).unwrap();
    /// assert_eq!(SetLink::parse(&Message::parse(&buf[..n]).unwrap()), Ok(req));
    /// ```
    pub fn parse<'a>(msg: &Message<'a>) -> Result<SetLink<'a>, ParseError> {
        let (fixed, attrs) = request_parts(msg, &[RTM_SETLINK], IFINFO_LEN)?;
        let info = wire::read_ifinfomsg(fixed).ok_or(ParseError::ShortPayload {
            kind: RTM_SETLINK,
            needed: IFINFO_LEN,
            available: fixed.len(),
        })?;
        let up = (info.ifi_change & IFF_UP != 0).then_some(info.ifi_flags & IFF_UP != 0);
        let mut req = SetLink {
            ifindex: info.ifi_index,
            netns_fd: None,
            name: None,
            up,
        };
        for attr in attrs {
            let attr = attr?;
            match attr.kind {
                IFLA_NET_NS_FD => req.netns_fd = Some(attr.as_i32()?),
                IFLA_IFNAME => req.name = Some(attr.as_cstr()?),
                _ => {}
            }
        }
        Ok(req)
    }
}

/// What an `RTM_NEWLINK` answer says about the link's state and hardware
/// address.
///
/// ```
/// use afxdp_core::rtnetlink::{AttrWriter, Link};
/// use afxdp_core::abi::rtnetlink::*;
/// let mut buf = [0u8; 48];
/// buf[4..8].copy_from_slice(&3i32.to_ne_bytes()); // ifi_index
/// buf[8..12].copy_from_slice(&(IFF_UP | IFF_RUNNING | IFF_LOWER_UP).to_ne_bytes());
/// let mut w = AttrWriter::new(&mut buf[16..]);
/// w.put(IFLA_ADDRESS, &[2, 0, 0, 0, 0, 0x0a]).unwrap();
/// let n = 16 + w.len();
/// let link = Link::parse(&buf[..n]).unwrap();
/// assert_eq!(link.mac(), Some([2, 0, 0, 0, 0, 0x0a]));
/// assert!(link.is_up() && link.is_running() && link.has_carrier());
/// ```
impl<'a> Link<'a> {
    /// `IFLA_ADDRESS`: the hardware address, of whatever length the link
    /// type has (6 bytes for Ethernet); `None` if the kernel sent none.
    pub fn address(&self) -> Option<&'a [u8]> {
        let attr = self.attrs().find(IFLA_ADDRESS).ok().flatten()?;
        Some(attr.payload)
    }

    /// The hardware address as an Ethernet MAC: `None` unless it is 6 bytes.
    pub fn mac(&self) -> Option<[u8; 6]> {
        self.address()?.try_into().ok()
    }

    /// [`IFLA_PERM_ADDRESS`]: the permanent hardware address, the device's
    /// own whatever its MAC is set to now; `None` if the kernel sent none
    /// (a virtual device, or a kernel before 5.6) or sent all zeros.
    pub fn perm_address(&self) -> Option<&'a [u8]> {
        let attr = self.attrs().find(IFLA_PERM_ADDRESS).ok().flatten()?;
        Some(attr.payload).filter(|a| a.iter().any(|b| *b != 0))
    }

    /// `IFLA_INFO_KIND` in [`IFLA_LINKINFO`]: the link's kind (`veth`,
    /// `bridge`, ...), without its NUL; `None` if the kernel sent none (a
    /// device with a driver of its own, such as a NIC) or it does not parse.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::{AttrWriter, Link};
    /// use afxdp_core::abi::rtnetlink::*;
    /// let mut buf = [0u8; 48];
    /// let mut w = AttrWriter::new(&mut buf[16..]);
    /// let info = w.begin_nest(IFLA_LINKINFO).unwrap();
    /// w.put_cstr(IFLA_INFO_KIND, b"veth").unwrap();
    /// w.end_nest(info).unwrap();
    /// let n = 16 + w.len();
    /// assert_eq!(Link::parse(&buf[..n]).unwrap().kind(), Some(&b"veth"[..]));
    /// assert_eq!(Link::parse(&buf[..16]).unwrap().kind(), None);
    /// ```
    pub fn kind(&self) -> Option<&'a [u8]> {
        let info = self.attrs().find(IFLA_LINKINFO).ok().flatten()?;
        let kind = Attrs::new(info.payload)
            .find(IFLA_INFO_KIND)
            .ok()
            .flatten()?;
        kind.as_cstr().ok()
    }

    /// `ifi_flags` (`IFF_*`).
    pub const fn flags(&self) -> u32 {
        self.info.ifi_flags
    }

    /// Administratively up (`IFF_UP`).
    pub const fn is_up(&self) -> bool {
        self.info.ifi_flags & IFF_UP != 0
    }

    /// Operationally up (`IFF_RUNNING`).
    pub const fn is_running(&self) -> bool {
        self.info.ifi_flags & IFF_RUNNING != 0
    }

    /// The carrier is on (`IFF_LOWER_UP`).
    pub const fn has_carrier(&self) -> bool {
        self.info.ifi_flags & IFF_LOWER_UP != 0
    }
}
