//! Attaching XDP programs to netdevs: over rtnetlink (the attachment
//! outlives the process) or as a BPF link (it ends with the link fd, so a
//! crash cannot leave a program behind); querying and detaching; and
//! [`Attachment`], which can detach on drop.

use std::fmt;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use afxdp_core::abi::bpf::BPF_LINK_TYPE_XDP;
use afxdp_core::abi::rtnetlink::{
    XDP_FLAGS_DRV_MODE, XDP_FLAGS_REPLACE, XDP_FLAGS_SKB_MODE, XDP_FLAGS_UPDATE_IF_NOEXIST,
};
pub use afxdp_core::rtnetlink::XdpMode as AttachedMode;
use afxdp_core::rtnetlink::XdpSetLink;
use afxdp_core::Errno;
use afxdp_sys::netlink::{NetlinkError, RouteSocket};
use afxdp_sys::{bpf, OwnedFd};

use crate::error::{privilege_hint, Error, Result};
use crate::netdev::Netdev;
use crate::program::XdpProgram;

/// How to attach: let the kernel choose, or force a mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum XdpMode {
    /// Native if the driver supports it, generic otherwise.
    #[default]
    Auto,
    /// Native (driver) mode: fails if the driver has no XDP support.
    Native,
    /// Generic (skb) mode: works everywhere, slower.
    Skb,
}

impl XdpMode {
    /// The `XDP_FLAGS_*` mode bits.
    pub const fn flags(self) -> u32 {
        match self {
            XdpMode::Auto => 0,
            XdpMode::Native => XDP_FLAGS_DRV_MODE,
            XdpMode::Skb => XDP_FLAGS_SKB_MODE,
        }
    }

    /// `"auto"`, `"native"` or `"skb"`.
    pub const fn name(self) -> &'static str {
        match self {
            XdpMode::Auto => "auto",
            XdpMode::Native => "native",
            XdpMode::Skb => "skb",
        }
    }
}

impl FromStr for XdpMode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(XdpMode::Auto),
            "native" | "drv" => Ok(XdpMode::Native),
            "skb" | "generic" => Ok(XdpMode::Skb),
            _ => Err(format!("unknown XDP mode {s:?} (auto, native or skb)")),
        }
    }
}

impl fmt::Display for XdpMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What is attached to a netdev.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XdpStatus {
    /// The mode of what is attached ([`AttachedMode::None`] for nothing).
    pub mode: AttachedMode,
    /// The program id (for several modes, the first the kernel lists).
    pub prog_id: Option<u32>,
    /// The native-mode program, if any.
    pub drv_prog_id: Option<u32>,
    /// The generic-mode program, if any.
    pub skb_prog_id: Option<u32>,
}

impl XdpStatus {
    /// Whether any program is attached.
    pub fn is_attached(&self) -> bool {
        self.mode != AttachedMode::None
    }
}

/// The name this crate uses for an attached mode: `"native"`, `"skb"`,
/// `"offload"`, `"multi"` or `"none"`.
pub fn mode_name(mode: AttachedMode) -> &'static str {
    match mode {
        AttachedMode::None => "none",
        AttachedMode::Driver => "native",
        AttachedMode::Generic => "skb",
        AttachedMode::Offload => "offload",
        AttachedMode::Multi => "multi",
        AttachedMode::Unknown(_) => "unknown",
    }
}

/// Asks the kernel what is attached to `netdev` (`RTM_GETLINK`).
pub fn query(netdev: &Netdev) -> Result<XdpStatus> {
    let state = netdev.link_info(|link| link.xdp)?;
    Ok(match state {
        None => XdpStatus {
            mode: AttachedMode::None,
            prog_id: None,
            drv_prog_id: None,
            skb_prog_id: None,
        },
        Some(s) => XdpStatus {
            mode: s.mode(),
            prog_id: s.attached_prog_id(),
            drv_prog_id: s.drv_prog_id.or(if s.mode() == AttachedMode::Driver {
                s.prog_id
            } else {
                None
            }),
            skb_prog_id: s.skb_prog_id.or(if s.mode() == AttachedMode::Generic {
                s.prog_id
            } else {
                None
            }),
        },
    })
}

/// Sends one `RTM_SETLINK` for XDP and waits for the kernel's ack.
fn setlink(netdev: &Netdev, op: &'static str, req: &XdpSetLink) -> Result<()> {
    let mut sock =
        RouteSocket::open().map_err(|e| Error::sys("open rtnetlink socket", netdev.name(), e))?;
    let seq = sock.next_seq();
    let mut msg = [0u8; XdpSetLink::MAX_LEN];
    let len = req
        .emit(seq, &mut msg)
        .map_err(|e| Error::invalid(op, netdev.name(), e.to_string()))?;
    let mut buf = vec![0u8; 8192];
    sock.exchange(&msg[..len], seq, &mut buf, |_| ControlFlow::Continue(()))
        .map_err(|e| netlink_error(op, netdev, req.flags, e))
}

fn netlink_error(op: &'static str, netdev: &Netdev, flags: u32, e: NetlinkError) -> Error {
    let errno = e.errno();
    let mut err = Error::sys(op, netdev.name(), errno);
    if let Some(m) = e.ext_msg() {
        err = err.with_detail(m);
    }
    if let Some(h) = privilege_hint(errno, "attaching an XDP program") {
        return err.with_hint(h);
    }
    let ext = e.ext_msg().unwrap_or("");
    let hint = match errno {
        Errno::EBUSY if ext.contains("link") => Some(
            "the program there is held by a BPF link (another process owns it); stop that process instead".to_string(),
        ),
        Errno::EBUSY if flags & XDP_FLAGS_UPDATE_IF_NOEXIST != 0 => Some(format!(
            "a program is already attached to {netdev}: replace it, or detach it first"
        )),
        Errno::EEXIST if flags & XDP_FLAGS_REPLACE != 0 => Some(
            "the attached program changed under us; query again and retry".to_string(),
        ),
        Errno::EEXIST => Some(format!(
            "a program is attached to {netdev} in the other mode; detach it first"
        )),
        Errno::EOPNOTSUPP if flags & XDP_FLAGS_DRV_MODE != 0 => Some(format!(
            "the driver of {netdev} has no native XDP: use skb (generic) mode, or let the kernel choose"
        )),
        Errno::ERANGE | Errno::EINVAL if ext.contains("MTU") => Some(format!(
            "lower the MTU of {netdev} for native XDP, or use skb (generic) mode"
        )),
        _ => None,
    };
    match hint {
        Some(h) => err.with_hint(h),
        None => err,
    }
}

/// Attaches `prog` to `netdev` over rtnetlink. Without `replace`, fails if
/// any program is attached; with it, replaces what is there (detaching first
/// a program in the other mode, which the kernel would refuse to replace).
/// Returns the mode the kernel chose.
pub fn attach(
    netdev: &Netdev,
    prog: &XdpProgram,
    mode: XdpMode,
    replace: bool,
) -> Result<AttachedMode> {
    let mut flags = mode.flags();
    if replace {
        let now = query(netdev)?;
        // Auto replaces in place: in the mode of what is there (the kernel
        // would otherwise pick native and refuse to run both).
        if mode == XdpMode::Auto {
            flags = match now.mode {
                AttachedMode::Driver => XDP_FLAGS_DRV_MODE,
                AttachedMode::Generic => XDP_FLAGS_SKB_MODE,
                _ => flags,
            };
        }
        let other_mode = matches!(
            (mode, now.mode),
            (XdpMode::Native, AttachedMode::Generic)
                | (XdpMode::Skb, AttachedMode::Driver)
                | (_, AttachedMode::Multi)
        );
        if other_mode {
            detach(netdev)?;
        }
    } else {
        flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
    }
    let req = XdpSetLink::attach(netdev.ifindex() as i32, prog.as_fd().as_raw(), flags);
    setlink(netdev, "attach XDP program", &req)?;
    let now = query(netdev).inspect_err(|_| detach_if_ours(netdev, prog, flags))?;
    if now.prog_id != Some(prog.id()) {
        detach_if_ours(netdev, prog, flags);
        return Err(Error::new(
            crate::ErrorKind::Busy,
            "attach XDP program",
            netdev.name(),
            format!(
                "the kernel acked, but prog id {:?} is attached instead of {}",
                now.prog_id,
                prog.id()
            ),
        ));
    }
    Ok(now.mode)
}

/// Best effort, after a failed check: detach `prog` if it is the one
/// attached (the kernel compares, so another program is left alone).
fn detach_if_ours(netdev: &Netdev, prog: &XdpProgram, flags: u32) {
    let modes = flags & afxdp_core::abi::rtnetlink::XDP_FLAGS_MODES;
    let req = XdpSetLink::replace(netdev.ifindex() as i32, -1, prog.as_fd().as_raw(), modes);
    let _ = setlink(netdev, "detach XDP program", &req);
}

/// Detaches whatever XDP program `netdev` has (in every mode), returning
/// what was attached; `Ok(None)` if nothing was.
pub fn detach(netdev: &Netdev) -> Result<Option<XdpStatus>> {
    let now = query(netdev)?;
    if !now.is_attached() {
        return Ok(None);
    }
    let mut modes = vec![];
    if now.drv_prog_id.is_some() || now.mode == AttachedMode::Driver {
        modes.push(XDP_FLAGS_DRV_MODE);
    }
    if now.skb_prog_id.is_some() || now.mode == AttachedMode::Generic {
        modes.push(XDP_FLAGS_SKB_MODE);
    }
    if now.mode == AttachedMode::Offload {
        modes.push(afxdp_core::abi::rtnetlink::XDP_FLAGS_HW_MODE);
    }
    if modes.is_empty() {
        modes.push(0);
    }
    for flags in modes {
        setlink(
            netdev,
            "detach XDP program",
            &XdpSetLink::detach(netdev.ifindex() as i32, flags),
        )?;
    }
    Ok(Some(now))
}

/// How an [`Attachment`] holds its program on the netdev.
#[derive(Debug)]
enum Hold {
    /// Attached over rtnetlink with these flags; detached on drop only if it
    /// is still our program (`XDP_FLAGS_REPLACE` with our fd as expected).
    Netlink { flags: u32, detach_on_drop: bool },
    /// A BPF link: the attachment ends when this fd closes, unless the link
    /// is pinned (then when the pin is removed too).
    Link {
        fd: OwnedFd,
        pinned: Option<PathBuf>,
    },
    /// Left in place on purpose (a pinned link): nothing to do on drop.
    Persisted,
}

/// A program attached to a netdev, owning the program.
///
/// Dropping it detaches the program, unless [`persist`](Self::persist) was
/// called (netlink attachments only), and only if the program there is
/// still this one.
#[derive(Debug)]
pub struct Attachment {
    netdev: Netdev,
    prog: XdpProgram,
    mode: AttachedMode,
    hold: Hold,
}

impl Attachment {
    /// Attaches over rtnetlink (see [`attach`]).
    ///
    /// ```no_run
    /// use af_xdp::{Attachment, Netdev, XdpMode, XdpProgram, XskMap};
    /// let dev = Netdev::by_name("eth0")?;
    /// let map = XskMap::create(dev.queue_count().count, "xsks_map")?;
    /// let prog = XdpProgram::load_redirect(&map, None)?;
    /// let att = Attachment::netlink(dev, prog, XdpMode::Auto, false)?;
    /// println!("attached in {} mode", af_xdp::attach::mode_name(att.mode()));
    /// // dropped here: detached again
    /// # Ok::<(), af_xdp::Error>(())
    /// ```
    pub fn netlink(
        netdev: Netdev,
        prog: XdpProgram,
        mode: XdpMode,
        replace: bool,
    ) -> Result<Attachment> {
        let actual = attach(&netdev, &prog, mode, replace)?;
        let flags = match actual {
            AttachedMode::Driver => XDP_FLAGS_DRV_MODE,
            AttachedMode::Generic => XDP_FLAGS_SKB_MODE,
            _ => mode.flags(),
        };
        Ok(Attachment {
            netdev,
            prog,
            mode: actual,
            hold: Hold::Netlink {
                flags,
                detach_on_drop: true,
            },
        })
    }

    /// Attaches as a BPF link (`BPF_LINK_CREATE`, kernel 5.9+): the program
    /// stays attached exactly as long as this value (or the process) lives.
    pub fn link(netdev: Netdev, prog: XdpProgram, mode: XdpMode) -> Result<Attachment> {
        let link =
            bpf::link_create_xdp(prog.as_fd(), netdev.ifindex(), mode.flags()).map_err(|e| {
                let err = Error::sys("BPF_LINK_CREATE", netdev.name(), e);
                match e {
                    Errno::EBUSY | Errno::EEXIST => err.with_hint(format!(
                        "a program is already attached to {netdev}: detach it first"
                    )),
                    Errno::EINVAL | Errno::ENOTSUPP | Errno::EOPNOTSUPP
                        if mode == XdpMode::Native =>
                    {
                        err.with_hint(format!(
                            "the driver of {netdev} may lack native XDP: try skb mode"
                        ))
                    }
                    Errno::EINVAL => err.with_hint(
                        "BPF links for XDP need kernel 5.9 or later; attach over netlink instead",
                    ),
                    _ => match privilege_hint(e, "attaching an XDP program") {
                        Some(h) => err.with_hint(h),
                        None => err,
                    },
                }
            })?;
        let actual = query(&netdev)?.mode;
        Ok(Attachment {
            netdev,
            prog,
            mode: actual,
            hold: Hold::Link {
                fd: link,
                pinned: None,
            },
        })
    }

    /// Adopts a BPF link pinned at `link_pin` by an earlier process (see
    /// [`pin_link`](Self::pin_link)), after checking that the program it
    /// holds is the one attached to `netdev` now. The adopted attachment
    /// stays pinned: dropping it detaches and unpins, unless
    /// [`persist`](Self::persist) is called.
    ///
    /// Opening the link's program by its id needs `CAP_SYS_ADMIN`; with the
    /// program pinned too, [`adopt_pinned`](Self::adopt_pinned) does not.
    pub fn adopt_pinned_link(netdev: Netdev, link_pin: &Path) -> Result<Attachment> {
        Self::adopt_pinned(netdev, link_pin, None)
    }

    /// [`adopt_pinned_link`](Self::adopt_pinned_link), taking the link's
    /// program from its pin at `prog_pin` (checked to be the link's) rather
    /// than by its id: no `CAP_SYS_ADMIN` needed.
    pub fn adopt_pinned(
        netdev: Netdev,
        link_pin: &Path,
        prog_pin: Option<&Path>,
    ) -> Result<Attachment> {
        let c = crate::map::c_path("BPF_OBJ_GET", link_pin)?;
        let fd =
            bpf::obj_get(&c, 0).map_err(|e| Error::sys("BPF_OBJ_GET", link_pin.display(), e))?;
        // What the kernel says the link is: an XDP link on this netdev.
        let info = bpf::link_info(fd.as_fd()).map_err(|e| {
            Error::sys("BPF_OBJ_GET_INFO_BY_FD", link_pin.display(), e)
                .with_detail("what is pinned there is not a BPF link")
        })?;
        if info.link_type != BPF_LINK_TYPE_XDP || info.detail[0] != netdev.ifindex() {
            return Err(Error::invalid(
                "adopt XDP link",
                link_pin.display(),
                format!(
                    "the link pinned there (id {}, type {}) is not an XDP link on {netdev} (ifindex {})",
                    info.id,
                    info.link_type,
                    netdev.ifindex()
                ),
            ));
        }
        let status = query(&netdev)?;
        let prog_id = info.prog_id;
        let prog = match prog_pin {
            Some(path) => {
                let prog = XdpProgram::open_pinned(path)?;
                if prog.id() != prog_id {
                    return Err(Error::invalid(
                        "adopt XDP link",
                        path.display(),
                        format!(
                            "the program pinned there (id {}) is not the link's (id {prog_id})",
                            prog.id()
                        ),
                    ));
                }
                prog
            }
            None => XdpProgram::from_id(prog_id)?,
        };
        Ok(Attachment {
            netdev,
            prog,
            mode: status.mode,
            hold: Hold::Link {
                fd,
                pinned: Some(link_pin.to_path_buf()),
            },
        })
    }

    /// Pins a BPF link attachment at `path` (on a bpffs): the program then
    /// stays attached after this process exits, even if killed, until the
    /// pin is removed; a later process can adopt it
    /// ([`adopt_pinned_link`](Self::adopt_pinned_link)). Dropping the
    /// attachment still detaches and unpins, unless
    /// [`persist`](Self::persist) is called.
    pub fn pin_link(&mut self, path: &Path) -> Result<()> {
        let Hold::Link { fd, pinned } = &mut self.hold else {
            return Err(Error::invalid(
                "pin XDP link",
                self.netdev.name(),
                "only a BPF link attachment can be pinned",
            ));
        };
        let c = crate::map::c_path("BPF_OBJ_PIN", path)?;
        bpf::obj_pin(fd.as_fd(), &c).map_err(|e| {
            let err = Error::sys("BPF_OBJ_PIN", path.display(), e);
            if e == Errno::EPERM
                && crate::map::on_bpffs(path.parent().unwrap_or(path)) == Some(false)
            {
                err.with_kind(crate::ErrorKind::InvalidArgument)
                    .with_detail("not on a bpffs")
            } else {
                err
            }
        })?;
        *pinned = Some(path.to_path_buf());
        Ok(())
    }

    /// Where the link is pinned, if it is.
    pub fn link_pin(&self) -> Option<&Path> {
        match &self.hold {
            Hold::Link { pinned, .. } => pinned.as_deref(),
            Hold::Netlink { .. } | Hold::Persisted => None,
        }
    }

    /// Leaves a netlink attachment in place when this value is dropped (for a
    /// tool that attaches and exits). A link attachment cannot outlive its
    /// fd, so this returns an error for it.
    pub fn persist(mut self) -> Result<()> {
        self.keep_on_drop()
    }

    /// [`persist`](Self::persist) without giving the value up.
    pub(crate) fn keep_on_drop(&mut self) -> Result<()> {
        match &mut self.hold {
            Hold::Netlink { detach_on_drop, .. } => {
                *detach_on_drop = false;
                Ok(())
            }
            Hold::Link { pinned: Some(_), .. } => {
                self.hold = Hold::Persisted;
                Ok(())
            }
            Hold::Link { pinned: None, .. } => Err(Error::invalid(
                "persist attachment",
                self.netdev.name(),
                "a BPF link attachment ends with its fd unless pinned; pin it, or attach over netlink to leave it behind",
            )),
            Hold::Persisted => Ok(()),
        }
    }

    /// Detaches now, if the program there is still ours.
    pub fn detach(mut self) -> Result<()> {
        self.detach_now()
    }

    fn detach_now(&mut self) -> Result<()> {
        match &mut self.hold {
            Hold::Netlink {
                flags,
                detach_on_drop,
            } => {
                if !std::mem::replace(detach_on_drop, false) {
                    return Ok(());
                }
                // Detach only if our program is still the one attached.
                let req = XdpSetLink::replace(
                    self.netdev.ifindex() as i32,
                    -1,
                    self.prog.as_fd().as_raw(),
                    *flags,
                );
                match setlink(&self.netdev, "detach XDP program", &req) {
                    // The program there is not ours any more: leave it.
                    Err(e) if e.errno() == Some(Errno::EEXIST) => Ok(()),
                    // The netdev is gone, and our program with it.
                    Err(e) if e.errno() == Some(Errno::ENODEV) => Ok(()),
                    other => other,
                }
            }
            Hold::Link { fd, pinned } => {
                if let Some(path) = pinned.take() {
                    if let Err(e) = std::fs::remove_file(&path) {
                        if e.kind() != std::io::ErrorKind::NotFound {
                            eprintln!("af_xdp: unpin {}: {e}", path.display());
                        }
                    }
                }
                bpf::link_detach(fd.as_fd())
                    .or_else(|e| if e == Errno::ENOLINK { Ok(()) } else { Err(e) })
                    .map_err(|e| Error::sys("BPF_LINK_DETACH", self.netdev.name(), e))
            }
            Hold::Persisted => Ok(()),
        }
    }

    /// The netdev.
    pub fn netdev(&self) -> &Netdev {
        &self.netdev
    }

    /// The attached program.
    pub fn program(&self) -> &XdpProgram {
        &self.prog
    }

    /// The mode the kernel attached it in.
    pub fn mode(&self) -> AttachedMode {
        self.mode
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        if let Err(e) = self.detach_now() {
            // Nobody to return it to: say it rather than lose it.
            eprintln!("af_xdp: detach on drop: {e}");
        }
    }
}
