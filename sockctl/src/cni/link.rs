//! The netlink side of the plugin, in the calling thread's network
//! namespace: [`Rtnl`] finds a link by name or index, moves, renames and sets it up
//! or down ([`SetLink`]), adds and lists its addresses, adds routes, all
//! through `afxdp_core`'s codec over one [`RouteSocket`].

use std::net::IpAddr;
use std::ops::ControlFlow;

use afxdp_core::abi::rtnetlink::{IFA_F_NODAD, RTM_NEWADDR, RT_SCOPE_LINK};
use afxdp_core::rtnetlink::{
    ipv4_broadcast, AddrRequest, Body, GetAddrs, GetLink, IfAddr, RouteRequest, SetLink,
};
use afxdp_core::Errno;
use afxdp_sys::netlink::{NetlinkError, RouteSocket};

use super::result::{format_mac, IpNet, Route};
use crate::error::{Error, Result};

/// The [`LinkState::kind`] of a link the kernel gives no kind (a device
/// with a driver of its own: a NIC, a VF).
pub const PHYSICAL: &str = "physical";

/// What the plugin needs to know of a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkState {
    /// Its index.
    pub ifindex: i32,
    /// Its name.
    pub name: String,
    /// Its MAC address (`aa:bb:...`), empty if it has no Ethernet address.
    pub mac: String,
    /// Its permanent hardware address (`IFLA_PERM_ADDRESS`, `aa:bb:...`),
    /// which setting the MAC does not change; empty if it has none (a
    /// veth).
    pub perm: String,
    /// Its kind: `IFLA_INFO_KIND` (`veth`, `bridge`, ...), or `physical`
    /// when the kernel gives none (a device with a driver of its own).
    pub kind: String,
    /// Administratively up.
    pub up: bool,
    /// Its MTU.
    pub mtu: Option<u32>,
}

/// A route-netlink socket of the calling thread's namespace, with a
/// receive buffer.
#[derive(Debug)]
pub struct Rtnl {
    sock: RouteSocket,
    buf: Vec<u8>,
}

fn nl_error(op: &'static str, subject: &str, e: NetlinkError) -> Error {
    let err = Error::sys(op, subject, e.errno());
    match e.ext_msg() {
        Some(m) => err.with_detail(m),
        None => err,
    }
}

impl Rtnl {
    /// Opens the socket (in the calling thread's network namespace).
    pub fn open() -> Result<Rtnl> {
        let sock = RouteSocket::open().map_err(|e| Error::sys("open rtnetlink socket", "", e))?;
        Ok(Rtnl {
            sock,
            buf: vec![0u8; 32 * 1024],
        })
    }

    /// Sends `req` (a whole message with sequence `seq`) and waits for the
    /// ack, handing any other answer to `on_reply`.
    fn exchange(
        &mut self,
        op: &'static str,
        subject: &str,
        req: &[u8],
        seq: u32,
        on_reply: impl FnMut(&afxdp_core::rtnetlink::Message<'_>) -> ControlFlow<()>,
    ) -> Result<()> {
        self.sock
            .exchange(req, seq, &mut self.buf, on_reply)
            .map_err(|e| nl_error(op, subject, e))
    }

    /// The link named `name`; `None` if there is none (`ENODEV`).
    pub fn link_by_name(&mut self, name: &str) -> Result<Option<LinkState>> {
        self.link(GetLink::Name(name.as_bytes()), name)
    }

    /// The link with index `ifindex`; `None` if there is none (`ENODEV`).
    pub fn link_by_index(&mut self, ifindex: i32) -> Result<Option<LinkState>> {
        self.link(GetLink::Index(ifindex), &format!("ifindex {ifindex}"))
    }

    fn link(&mut self, get: GetLink<'_>, subject: &str) -> Result<Option<LinkState>> {
        let seq = self.sock.next_seq();
        let mut req = [0u8; GetLink::MAX_LEN];
        let n = get
            .emit(seq, &mut req)
            .map_err(|e| Error::invalid("RTM_GETLINK", subject, e.to_string()))?;
        let mut found = None;
        let r = self.exchange("RTM_GETLINK", subject, &req[..n], seq, |msg| {
            if let Body::NewLink(l) = msg.body() {
                found = Some(LinkState {
                    ifindex: l.ifindex(),
                    name: l.name_str().unwrap_or_default().to_string(),
                    mac: l.mac().map(|m| format_mac(&m)).unwrap_or_default(),
                    perm: l.perm_address().map(format_mac).unwrap_or_default(),
                    kind: String::from_utf8_lossy(l.kind().unwrap_or(PHYSICAL.as_bytes())).into(),
                    up: l.is_up(),
                    mtu: l.mtu,
                });
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        match r {
            Err(e) if e.errno() == Some(Errno::ENODEV) => Ok(None),
            Err(e) => Err(e),
            Ok(()) => Ok(found),
        }
    }

    /// Sends one `RTM_SETLINK`; `op` and `subject` name it in an error.
    pub fn set_link(&mut self, op: &'static str, subject: &str, req: &SetLink<'_>) -> Result<()> {
        let seq = self.sock.next_seq();
        let mut msg = [0u8; SetLink::MAX_LEN];
        let n = req
            .emit(seq, &mut msg)
            .map_err(|e| Error::invalid(op, subject, e.to_string()))?;
        self.exchange(op, subject, &msg[..n], seq, |_| ControlFlow::Continue(()))
    }

    /// Adds `net` to link `ifindex` (named `name`): with its broadcast for
    /// IPv4, without duplicate address detection for IPv6 (the address is
    /// the IPAM plugin's to give). An address already there is fine.
    pub fn add_addr(&mut self, ifindex: i32, name: &str, net: &IpNet) -> Result<()> {
        let mut req = AddrRequest::add(ifindex as u32, net.addr, net.prefix);
        match net.addr {
            IpAddr::V4(a) => {
                if let Some(b) = ipv4_broadcast(a, net.prefix) {
                    req = req.with_broadcast(b);
                }
            }
            IpAddr::V6(_) => req = req.with_flags(IFA_F_NODAD),
        }
        let seq = self.sock.next_seq();
        let mut msg = [0u8; AddrRequest::MAX_LEN];
        let n = req
            .emit(seq, &mut msg)
            .map_err(|e| Error::invalid("add address", name, e.to_string()))?;
        let subject = format!("{net} on {name}");
        match self.exchange("add address", &subject, &msg[..n], seq, |_| {
            ControlFlow::Continue(())
        }) {
            Err(e) if e.errno() == Some(Errno::EEXIST) => Ok(()),
            other => other,
        }
    }

    /// The addresses of link `ifindex`, with their prefix lengths.
    pub fn addrs(&mut self, ifindex: i32) -> Result<Vec<IpNet>> {
        let seq = self.sock.next_seq();
        let mut msg = [0u8; GetAddrs::LEN];
        let n = GetAddrs {
            family: 0,
            ifindex: ifindex as u32,
        }
        .emit(seq, &mut msg)
        .map_err(|e| Error::invalid("RTM_GETADDR", "", e.to_string()))?;
        let mut out = Vec::new();
        let mut bad = None;
        self.exchange("RTM_GETADDR", "", &msg[..n], seq, |m| {
            if m.kind() == RTM_NEWADDR {
                match IfAddr::parse_message(m) {
                    Ok(a) if a.ifindex() == ifindex as u32 => {
                        if let Some(addr) = a.ip() {
                            out.push(IpNet {
                                addr,
                                prefix: a.prefix_len(),
                            });
                        }
                    }
                    Ok(_) => {}
                    Err(e) => bad = Some(e),
                }
            }
            ControlFlow::Continue(())
        })?;
        match bad {
            Some(e) => Err(Error::new(
                crate::ErrorKind::Protocol,
                "RTM_GETADDR",
                "",
                e.to_string(),
            )),
            None => Ok(out),
        }
    }

    /// Adds `route` out of link `ifindex` (named `name`), through its
    /// gateway, else `default_gw`, else directly on the link (scope link).
    /// A route already there is fine.
    pub fn add_route(
        &mut self,
        ifindex: i32,
        name: &str,
        route: &Route,
        default_gw: Option<IpAddr>,
    ) -> Result<()> {
        let mut req = RouteRequest::add(route.dst.network(), route.dst.prefix).dev(ifindex as u32);
        match route.gw.or(default_gw) {
            Some(gw) => req = req.via(gw),
            None => req = req.scope(RT_SCOPE_LINK),
        }
        if let Some(scope) = route.scope {
            req = req.scope(scope);
        }
        if let Some(p) = route.priority {
            req = req.priority(p);
        }
        if let Some(t) = route.table {
            req = req.table(t);
        }
        if let Some(m) = route.mtu {
            req = req.mtu(m);
        }
        if let Some(m) = route.advmss {
            req = req.advmss(m);
        }
        let subject = match req.gateway {
            Some(gw) => format!("{} via {gw} dev {name}", route.dst),
            None => format!("{} dev {name}", route.dst),
        };
        let seq = self.sock.next_seq();
        let mut msg = [0u8; RouteRequest::MAX_LEN];
        let n = req
            .emit(seq, &mut msg)
            .map_err(|e| Error::invalid("add route", &subject, e.to_string()))?;
        match self.exchange("add route", &subject, &msg[..n], seq, |_| {
            ControlFlow::Continue(())
        }) {
            Err(e) if e.errno() == Some(Errno::EEXIST) => Ok(()),
            other => other,
        }
    }
}

/// Turns IPv6 on for link `name` in the calling thread's namespace (a
/// namespace may start with it off); a kernel without IPv6 is left as it
/// is, and adding the address says so.
pub fn enable_ipv6(name: &str) {
    // /proc/sys/net is the calling thread's namespace's.
    let path = format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6");
    if std::fs::read_to_string(&path).is_ok_and(|v| v.trim() != "0") {
        let _ = std::fs::write(&path, "0");
    }
}
