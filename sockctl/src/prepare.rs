//! The device-plugin side in one call: [`prepare_netdev`] gives an
//! interface an XSKMAP sized to its queues, the embedded redirect program
//! for it, the attachment, and (after the attach succeeded) the map's pin.
//! Nothing is left half done: when a step fails, what the earlier steps
//! made is undone before the error returns.

use std::path::{Path, PathBuf};

use crate::attach::{AttachedMode, Attachment, XdpMode};
use crate::error::Result;
use crate::map::XskMap;
use crate::netdev::{Netdev, QueueCount};
use crate::program::{RedirectVariant, XdpProgram};

/// How the program is held on the interface.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AttachKind {
    /// A BPF link (kernel 5.9+): attached exactly as long as the
    /// [`PreparedNetdev`] (or its process) lives, and no other process,
    /// not even root, can detach or replace it over netlink (DPDK's PMD
    /// tries on close). The default.
    #[default]
    Link,
    /// An rtnetlink attachment: can be left behind on purpose
    /// ([`PreparedNetdev::persist`]), for a tool that attaches and exits.
    Netlink {
        /// Replace whatever program is attached (otherwise: fail with
        /// [`ErrorKind::Busy`](crate::ErrorKind::Busy)).
        replace: bool,
    },
}

/// What [`prepare_netdev`] does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrepareOptions {
    /// XDP attach mode (default: let the kernel choose).
    pub mode: XdpMode,
    /// How the program is held (default: a BPF link).
    pub attach: AttachKind,
    /// The program variant (default: probed from the kernel).
    pub variant: Option<RedirectVariant>,
    /// Pin the XSKMAP here (on a bpffs) once the program is attached, for
    /// `use_pinned_map=1` clients.
    pub pin: Option<PathBuf>,
}

/// An interface prepared for AF_XDP clients: its XSKMAP, the redirect
/// program attached, and the map's pin if one was asked for.
///
/// Dropping it undoes everything (the pin is removed, the program
/// detached), unless [`persist`](Self::persist) was called.
#[derive(Debug)]
pub struct PreparedNetdev {
    // Declared in the order of teardown: unpin, then detach.
    pin: Option<PathBuf>,
    attachment: Attachment,
    map: XskMap,
    queues: QueueCount,
}

/// Prepares `iface` for AF_XDP clients: creates an XSKMAP with one entry
/// per queue, loads the redirect program for it, attaches it, and pins the
/// map if asked. Needs `CAP_BPF`, `CAP_NET_ADMIN` (and `CAP_SYS_ADMIN` for
/// some pin locations), or root.
///
/// ```no_run
/// use af_xdp::prepare::{prepare_netdev, PrepareOptions};
/// let prepared = prepare_netdev("eth0", &PrepareOptions {
///     pin: Some("/sys/fs/bpf/eth0_xsks_map".into()),
///     ..Default::default()
/// })?;
/// println!("XSKMAP id {} attached in {:?} mode", prepared.map().id(), prepared.mode());
/// // Clients now open the pin; dropping `prepared` unpins and detaches.
/// # Ok::<(), af_xdp::Error>(())
/// ```
pub fn prepare_netdev(iface: &str, opts: &PrepareOptions) -> Result<PreparedNetdev> {
    let netdev = Netdev::by_name(iface)?;
    let queues = netdev.queue_count();
    let map = XskMap::create(queues.count, "xsks_map")?;
    let prog = XdpProgram::load_redirect(&map, opts.variant)?;
    let attachment = match opts.attach {
        AttachKind::Link => Attachment::link(netdev, prog, opts.mode)?,
        AttachKind::Netlink { replace } => Attachment::netlink(netdev, prog, opts.mode, replace)?,
    };
    // Pin only once attached; if pinning fails, `attachment` is dropped
    // (detached) with the error.
    if let Some(path) = &opts.pin {
        map.pin(path)?;
    }
    Ok(PreparedNetdev {
        pin: opts.pin.clone(),
        attachment,
        map,
        queues,
    })
}

impl PreparedNetdev {
    /// The interface.
    pub fn netdev(&self) -> &Netdev {
        self.attachment.netdev()
    }

    /// The XSKMAP clients insert their sockets into.
    pub fn map(&self) -> &XskMap {
        &self.map
    }

    /// The attachment (program, mode).
    pub fn attachment(&self) -> &Attachment {
        &self.attachment
    }

    /// The mode the kernel attached the program in.
    pub fn mode(&self) -> AttachedMode {
        self.attachment.mode()
    }

    /// The interface's queue count, and where it came from (the map's size).
    pub fn queues(&self) -> QueueCount {
        self.queues
    }

    /// Where the map is pinned, if it is.
    pub fn pin_path(&self) -> Option<&Path> {
        self.pin.as_deref()
    }

    /// Leaves everything in place when this value goes away: the program
    /// attached, the map pinned. Only for a netlink attachment: a BPF link
    /// cannot outlive its fd, so for one this is an error (and the value is
    /// dropped as usual, undoing everything).
    pub fn persist(mut self) -> Result<()> {
        self.attachment.keep_on_drop()?;
        self.pin = None;
        Ok(())
    }
}

impl Drop for PreparedNetdev {
    fn drop(&mut self) {
        if let Some(path) = self.pin.take() {
            // Ours: pinned by `prepare_netdev`. Gone already is fine.
            if let Err(e) = std::fs::remove_file(&path) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    eprintln!("af_xdp: unpin {}: {e}", path.display());
                }
            }
        }
        // Then `attachment` drops: detached.
    }
}
