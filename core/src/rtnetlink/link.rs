//! A link as the kernel describes it in `RTM_NEWLINK` (the answer to
//! `RTM_GETLINK`): [`Link`], with its XDP state in [`XdpLinkState`].

use core::fmt;

use super::attr::{Attr, Attrs};
use super::error::{AttrError, ParseError};
use super::text;
use super::wire::{self, IFINFO_LEN};
use crate::abi::rtnetlink::{
    IfInfoMsg, IFLA_IFNAME, IFLA_MTU, IFLA_NUM_RX_QUEUES, IFLA_NUM_TX_QUEUES, IFLA_XDP,
    IFLA_XDP_ATTACHED, IFLA_XDP_DRV_PROG_ID, IFLA_XDP_HW_PROG_ID, IFLA_XDP_PROG_ID,
    IFLA_XDP_SKB_PROG_ID, RTM_NEWLINK, XDP_ATTACHED_DRV, XDP_ATTACHED_HW, XDP_ATTACHED_MULTI,
    XDP_ATTACHED_NONE, XDP_ATTACHED_SKB, XDP_FLAGS_DRV_MODE, XDP_FLAGS_HW_MODE, XDP_FLAGS_SKB_MODE,
};

/// How an XDP program is attached to a link (`IFLA_XDP_ATTACHED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum XdpMode {
    /// Nothing attached (`XDP_ATTACHED_NONE`).
    None,
    /// Native, in the driver (`XDP_ATTACHED_DRV`).
    Driver,
    /// Generic, on the skb (`XDP_ATTACHED_SKB`).
    Generic,
    /// Offloaded to the NIC (`XDP_ATTACHED_HW`).
    Offload,
    /// Programs in more than one mode (`XDP_ATTACHED_MULTI`).
    Multi,
    /// A value this code does not know.
    Unknown(u8),
}

impl XdpMode {
    /// The mode for an `IFLA_XDP_ATTACHED` value.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::XdpMode;
    /// assert_eq!(XdpMode::from_attached(1), XdpMode::Driver);
    /// assert_eq!(XdpMode::from_attached(9), XdpMode::Unknown(9));
    /// ```
    pub const fn from_attached(attached: u8) -> Self {
        match attached {
            XDP_ATTACHED_NONE => Self::None,
            XDP_ATTACHED_DRV => Self::Driver,
            XDP_ATTACHED_SKB => Self::Generic,
            XDP_ATTACHED_HW => Self::Offload,
            XDP_ATTACHED_MULTI => Self::Multi,
            other => Self::Unknown(other),
        }
    }

    /// The `IFLA_XDP_ATTACHED` value of this mode.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::XdpMode;
    /// assert_eq!(XdpMode::Generic.attached(), 2);
    /// ```
    pub const fn attached(self) -> u8 {
        match self {
            Self::None => XDP_ATTACHED_NONE,
            Self::Driver => XDP_ATTACHED_DRV,
            Self::Generic => XDP_ATTACHED_SKB,
            Self::Offload => XDP_ATTACHED_HW,
            Self::Multi => XDP_ATTACHED_MULTI,
            Self::Unknown(v) => v,
        }
    }

    /// The `XDP_FLAGS_*_MODE` flag that attaches in this mode; 0 for
    /// [`None`](Self::None), [`Multi`](Self::Multi) and unknown modes.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::XdpMode;
    /// use afxdp_core::abi::rtnetlink::XDP_FLAGS_DRV_MODE;
    /// assert_eq!(XdpMode::Driver.flag(), XDP_FLAGS_DRV_MODE);
    /// ```
    pub const fn flag(self) -> u32 {
        match self {
            Self::Driver => XDP_FLAGS_DRV_MODE,
            Self::Generic => XDP_FLAGS_SKB_MODE,
            Self::Offload => XDP_FLAGS_HW_MODE,
            Self::None | Self::Multi | Self::Unknown(_) => 0,
        }
    }
}

/// The XDP state of a link: the nested `IFLA_XDP` attribute of
/// `RTM_NEWLINK`.
///
/// The kernel sends `IFLA_XDP_PROG_ID` only when exactly one mode is in use,
/// and the per-mode ids whenever that mode has a program.
///
/// ```
/// use afxdp_core::rtnetlink::{XdpLinkState, XdpMode};
/// let s = XdpLinkState { attached: 1, prog_id: Some(42), drv_prog_id: Some(42),
///                        ..XdpLinkState::default() };
/// assert_eq!(s.mode(), XdpMode::Driver);
/// assert_eq!(s.attached_prog_id(), Some(42));
/// assert_eq!(s.prog_id_in(XdpMode::Generic), None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpLinkState {
    /// `IFLA_XDP_ATTACHED`: one of `XDP_ATTACHED_*` (`XDP_ATTACHED_NONE` if
    /// absent).
    pub attached: u8,
    /// `IFLA_XDP_PROG_ID`: the program's id when a single mode is in use.
    pub prog_id: Option<u32>,
    /// `IFLA_XDP_DRV_PROG_ID`: the native-mode program.
    pub drv_prog_id: Option<u32>,
    /// `IFLA_XDP_SKB_PROG_ID`: the generic-mode program.
    pub skb_prog_id: Option<u32>,
    /// `IFLA_XDP_HW_PROG_ID`: the offloaded program.
    pub hw_prog_id: Option<u32>,
}

impl XdpLinkState {
    /// Reads the children of an `IFLA_XDP` nest; unknown attributes are
    /// skipped, a later duplicate wins.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::{AttrWriter, XdpLinkState};
    /// use afxdp_core::abi::rtnetlink::{IFLA_XDP_ATTACHED, IFLA_XDP_PROG_ID};
    /// let mut buf = [0u8; 16];
    /// let mut w = AttrWriter::new(&mut buf);
    /// w.put_u8(IFLA_XDP_ATTACHED, 2).unwrap();
    /// w.put_u32(IFLA_XDP_PROG_ID, 7).unwrap();
    /// let s = XdpLinkState::parse(&buf).unwrap();
    /// assert_eq!((s.attached, s.prog_id), (2, Some(7)));
    /// ```
    pub fn parse(nest_payload: &[u8]) -> Result<Self, AttrError> {
        let mut s = Self::default();
        for attr in Attrs::new(nest_payload) {
            let attr = attr?;
            match attr.kind {
                IFLA_XDP_ATTACHED => s.attached = attr.as_u8()?,
                IFLA_XDP_PROG_ID => s.prog_id = Some(attr.as_u32()?),
                IFLA_XDP_DRV_PROG_ID => s.drv_prog_id = Some(attr.as_u32()?),
                IFLA_XDP_SKB_PROG_ID => s.skb_prog_id = Some(attr.as_u32()?),
                IFLA_XDP_HW_PROG_ID => s.hw_prog_id = Some(attr.as_u32()?),
                _ => {}
            }
        }
        Ok(s)
    }

    /// The attach mode.
    pub const fn mode(&self) -> XdpMode {
        XdpMode::from_attached(self.attached)
    }

    /// Whether any program is attached.
    pub const fn is_attached(&self) -> bool {
        self.attached != XDP_ATTACHED_NONE
    }

    /// The id of the attached program when exactly one mode is in use:
    /// `IFLA_XDP_PROG_ID`, else that mode's own id. `None` when nothing is
    /// attached, and for [`XdpMode::Multi`] (ask
    /// [`prog_id_in`](Self::prog_id_in) for the mode you care about).
    pub const fn attached_prog_id(&self) -> Option<u32> {
        match self.mode() {
            XdpMode::None | XdpMode::Multi | XdpMode::Unknown(_) => None,
            mode => match self.prog_id {
                Some(id) => Some(id),
                None => self.prog_id_in(mode),
            },
        }
    }

    /// The id of the program attached in `mode` (one of
    /// [`Driver`](XdpMode::Driver), [`Generic`](XdpMode::Generic),
    /// [`Offload`](XdpMode::Offload)): that mode's own id, else
    /// `IFLA_XDP_PROG_ID` if `mode` is the single mode in use.
    pub const fn prog_id_in(&self, mode: XdpMode) -> Option<u32> {
        let own = match mode {
            XdpMode::Driver => self.drv_prog_id,
            XdpMode::Generic => self.skb_prog_id,
            XdpMode::Offload => self.hw_prog_id,
            XdpMode::None | XdpMode::Multi | XdpMode::Unknown(_) => return None,
        };
        match own {
            Some(id) => Some(id),
            None if self.attached == mode.attached() => self.prog_id,
            None => None,
        }
    }
}

/// A link from an `RTM_NEWLINK` message: its `ifinfomsg` and the attributes
/// this crate needs. Every other attribute is in [`attrs`](Self::attrs).
///
/// ```
/// use afxdp_core::rtnetlink::{AttrWriter, Link, XdpMode};
/// use afxdp_core::abi::rtnetlink::*;
/// let mut buf = [0u8; 64];
/// buf[4..8].copy_from_slice(&7i32.to_ne_bytes()); // ifinfomsg.ifi_index
/// let mut w = AttrWriter::new(&mut buf[16..]);
/// w.put_cstr(IFLA_IFNAME, b"veth0").unwrap();
/// let xdp = w.begin_nest(IFLA_XDP).unwrap();
/// w.put_u8(IFLA_XDP_ATTACHED, XDP_ATTACHED_DRV).unwrap();
/// w.put_u32(IFLA_XDP_PROG_ID, 42).unwrap();
/// w.end_nest(xdp).unwrap();
/// let n = 16 + w.len();
///
/// let link = Link::parse(&buf[..n]).unwrap();
/// assert_eq!(link.ifindex(), 7);
/// assert_eq!(link.name_str(), Some("veth0"));
/// let xdp = link.xdp.unwrap();
/// assert_eq!((xdp.mode(), xdp.attached_prog_id()), (XdpMode::Driver, Some(42)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Link<'a> {
    /// The fixed header: index, type, `IFF_*` flags.
    pub info: IfInfoMsg,
    /// `IFLA_IFNAME`, without its NUL.
    pub name: Option<&'a [u8]>,
    /// `IFLA_MTU`.
    pub mtu: Option<u32>,
    /// `IFLA_NUM_RX_QUEUES`.
    pub num_rx_queues: Option<u32>,
    /// `IFLA_NUM_TX_QUEUES`.
    pub num_tx_queues: Option<u32>,
    /// `IFLA_XDP`; the kernel always sends it in answer to `RTM_GETLINK`.
    pub xdp: Option<XdpLinkState>,
    attrs: &'a [u8],
}

impl fmt::Debug for Link<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("info", &self.info)
            .field("name", &text::debug_opt(self.name))
            .field("mtu", &self.mtu)
            .field("num_rx_queues", &self.num_rx_queues)
            .field("num_tx_queues", &self.num_tx_queues)
            .field("xdp", &self.xdp)
            .field("attrs_len", &self.attrs.len())
            .finish()
    }
}

impl<'a> Link<'a> {
    /// Parses the payload of an `RTM_NEWLINK` message: an `ifinfomsg` and
    /// attributes. Every attribute must frame; the ones read here must have
    /// the right size. A later duplicate wins.
    pub fn parse(payload: &'a [u8]) -> Result<Self, ParseError> {
        let info = wire::read_ifinfomsg(payload).ok_or(ParseError::ShortPayload {
            kind: RTM_NEWLINK,
            needed: IFINFO_LEN,
            available: payload.len(),
        })?;
        let attrs = payload.get(IFINFO_LEN..).unwrap_or_default();
        let mut link = Self {
            info,
            name: None,
            mtu: None,
            num_rx_queues: None,
            num_tx_queues: None,
            xdp: None,
            attrs,
        };
        for attr in Attrs::new(attrs) {
            let attr: Attr<'a> = attr?;
            match attr.kind {
                IFLA_IFNAME => link.name = Some(attr.as_cstr()?),
                IFLA_MTU => link.mtu = Some(attr.as_u32()?),
                IFLA_NUM_RX_QUEUES => link.num_rx_queues = Some(attr.as_u32()?),
                IFLA_NUM_TX_QUEUES => link.num_tx_queues = Some(attr.as_u32()?),
                IFLA_XDP => link.xdp = Some(XdpLinkState::parse(attr.payload)?),
                _ => {}
            }
        }
        Ok(link)
    }

    /// The interface index (`ifinfomsg.ifi_index`).
    pub const fn ifindex(&self) -> i32 {
        self.info.ifi_index
    }

    /// The name as UTF-8, if there is one and it is.
    pub fn name_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.name?).ok()
    }

    /// All the link's attributes (after the `ifinfomsg`), already checked to
    /// frame.
    pub const fn attrs(&self) -> Attrs<'a> {
        Attrs::new(self.attrs)
    }
}
