//! The device-plugin side in one call: [`prepare_netdev`] gives an
//! interface an XSKMAP sized to its queues, the embedded redirect program
//! for it, the attachment, and (after the attach succeeded) the map's pin.
//! Nothing is left half done: when a step fails, what the earlier steps
//! made is undone before the error returns.

use std::path::{Path, PathBuf};

use crate::attach::{AttachedMode, Attachment, XdpMode};
use crate::error::{Error, Result};
use crate::handshake::paths::{io_err, Owner};
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
    /// Mode of that pin (default 0600). `BPF_OBJ_GET` needs read *and*
    /// write permission: an unprivileged client's uid must be able to do
    /// both (owner with 0600, or 0666).
    pub pin_mode: Option<u32>,
    /// Owner of that pin (default: left to this process).
    pub pin_owner: Owner,
    /// A directory on a bpffs where the link, the map and the program are
    /// pinned (`<state_dir>/<iface>/link`, `.../xsks_map`, `.../prog`), so
    /// that the attachment outlives this process and a later one adopts it
    /// (a device-plugin restart that no running client notices; adopting
    /// needs no `CAP_SYS_ADMIN`, except for a state directory without the
    /// program's pin, made before it was pinned too). Needs
    /// [`AttachKind::Link`].
    pub state_dir: Option<PathBuf>,
}

/// Name of the pinned link in a state directory.
pub const STATE_LINK_NAME: &str = "link";
/// Name of the pinned map in a state directory.
pub const STATE_MAP_NAME: &str = "xsks_map";
/// Name of the pinned program in a state directory.
pub const STATE_PROG_NAME: &str = "prog";

/// An interface prepared for AF_XDP clients: its XSKMAP, the redirect
/// program attached, and the map's pin if one was asked for.
///
/// Dropping it undoes everything (the pin is removed, the program
/// detached), unless [`persist`](Self::persist) was called, or it was
/// adopted from a state directory (then only [`teardown`](Self::teardown)
/// undoes it).
#[derive(Debug)]
pub struct PreparedNetdev {
    // Declared in the order of teardown: unpin, then detach.
    pin: Option<PathBuf>,
    state_map_pin: Option<PathBuf>,
    state_prog_pin: Option<PathBuf>,
    attachment: Attachment,
    map: XskMap,
    queues: QueueCount,
    adopted: bool,
    /// Whether an adopted attachment is undone on drop (only by
    /// [`PreparedNetdev::teardown`]).
    teardown: bool,
    /// The state directory's lock, held while this lives.
    _lock: Option<std::os::fd::OwnedFd>,
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
    if let Some(state) = &opts.state_dir {
        if opts.attach != AttachKind::Link {
            return Err(Error::invalid(
                "prepare interface",
                iface,
                "a state directory holds a pinned BPF link: use a link attachment",
            ));
        }
        let dir = state.join(iface);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            return Err(Error::from_io("create state directory", dir.display(), &e));
        }
        // One device-plugin side per state directory: a second one would
        // adopt the same link and detach it under the first when it exits.
        let lock = lock_dir(&dir)?;
        let (link_pin, map_pin) = (dir.join(STATE_LINK_NAME), dir.join(STATE_MAP_NAME));
        match (link_pin.exists(), map_pin.exists()) {
            (true, true) => {
                let prog_pin = dir.join(STATE_PROG_NAME);
                let mut p = adopt(netdev, queues, &link_pin, &map_pin, &prog_pin, opts)?;
                p._lock = Some(lock);
                return Ok(p);
            }
            (false, false) => {
                // A program pin without its link and map is left by a
                // start that failed between the pins: it holds a program
                // nothing runs. Out of the way of the fresh pins.
                let prog_pin = dir.join(STATE_PROG_NAME);
                if let Err(e) = std::fs::remove_file(&prog_pin) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        return Err(Error::from_io("remove stale pin", prog_pin.display(), &e));
                    }
                }
            }
            (link, _) => {
                let (there, missing) = if link {
                    (&link_pin, &map_pin)
                } else {
                    (&map_pin, &link_pin)
                };
                return Err(Error::new(
                    crate::ErrorKind::Busy,
                    "adopt attachment",
                    dir.display(),
                    format!(
                        "half a state: {} is pinned, {} is not (a predecessor stopped between the two)",
                        there.display(),
                        missing.display()
                    ),
                )
                .with_hint(format!(
                    "remove {} to start afresh (a pinned link keeps its program attached until its pin is removed)",
                    there.display()
                )));
            }
        }
        return prepare_fresh(netdev, queues, iface, opts, Some(lock));
    }
    prepare_fresh(netdev, queues, iface, opts, None)
}

/// Takes an exclusive lock on the directory `dir` (held by the fd).
fn lock_dir(dir: &Path) -> Result<std::os::fd::OwnedFd> {
    let fd = rustix::fs::open(
        dir,
        rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| io_err("open state directory", dir, e))?;
    rustix::fs::flock(&fd, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(|e| {
        if e == rustix::io::Errno::WOULDBLOCK {
            Error::new(
                crate::ErrorKind::Busy,
                "lock state directory",
                dir.display(),
                "another device-plugin side is using it",
            )
        } else {
            io_err("lock state directory", dir, e)
        }
    })?;
    Ok(fd)
}

/// Creates the map and program, attaches, and pins as asked.
fn prepare_fresh(
    netdev: Netdev,
    queues: QueueCount,
    iface: &str,
    opts: &PrepareOptions,
    lock: Option<std::os::fd::OwnedFd>,
) -> Result<PreparedNetdev> {
    let map = XskMap::create(queues.count, "xsks_map")?;
    let prog = XdpProgram::load_redirect(&map, opts.variant)?;
    let mut attachment = match opts.attach {
        AttachKind::Link => Attachment::link(netdev, prog, opts.mode)?,
        AttachKind::Netlink { replace } => Attachment::netlink(netdev, prog, opts.mode, replace)?,
    };
    // Pin only once attached; if a pin fails, what is made so far is
    // dropped (unpinned, detached) with the error.
    let mut prepared = PreparedNetdev {
        _lock: lock,
        teardown: false,
        pin: None,
        state_map_pin: None,
        state_prog_pin: None,
        attachment: {
            if let Some(state) = &opts.state_dir {
                attachment.pin_link(&state.join(iface).join(STATE_LINK_NAME))?;
            }
            attachment
        },
        map,
        queues,
        adopted: false,
    };
    if let Some(state) = &opts.state_dir {
        // The program first: a half state left by a crash between the two
        // is a link without its map, which the next start reports.
        let path = state.join(iface).join(STATE_PROG_NAME);
        prepared.attachment.program().pin(&path)?;
        prepared.state_prog_pin = Some(path);
        let path = state.join(iface).join(STATE_MAP_NAME);
        prepared.map.pin(&path)?;
        prepared.state_map_pin = Some(path);
    }
    prepared.pin_for_clients(opts)?;
    Ok(prepared)
}

/// Adopts the link and map an earlier process pinned in a state directory.
fn adopt(
    netdev: Netdev,
    queues: QueueCount,
    link_pin: &Path,
    map_pin: &Path,
    prog_pin: &Path,
    opts: &PrepareOptions,
) -> Result<PreparedNetdev> {
    let map = XskMap::open_pinned(map_pin)?;
    let pinned = prog_pin.exists();
    let mut attachment = Attachment::adopt_pinned(netdev, link_pin, pinned.then_some(prog_pin))?;
    let ids = match attachment.program().map_ids() {
        Ok(ids) => ids,
        Err(e) => {
            let _ = attachment.keep_on_drop();
            return Err(e);
        }
    };
    if !ids.contains(&map.id()) {
        // Not ours to undo: leave it exactly as found.
        let _ = attachment.keep_on_drop();
        return Err(Error::invalid(
            "adopt attachment",
            link_pin.display(),
            format!(
                "the program attached to {} uses maps {ids:?}, not the pinned XSKMAP {}",
                attachment.netdev(),
                map.id()
            ),
        )
        .with_hint("remove the state directory's pins for this interface to start afresh"));
    }
    let mut prepared = PreparedNetdev {
        _lock: None,
        teardown: false,
        pin: None,
        state_map_pin: Some(map_pin.to_path_buf()),
        state_prog_pin: pinned.then(|| prog_pin.to_path_buf()),
        attachment,
        map,
        queues,
        adopted: true,
    };
    if !pinned {
        // A state directory from before the program was pinned there (it
        // was adopted by id, with CAP_SYS_ADMIN): pinned now, so that the
        // next start needs no CAP_SYS_ADMIN. Best effort: the attachment
        // serves as it is either way.
        match prepared.attachment.program().pin(prog_pin) {
            Ok(()) => prepared.state_prog_pin = Some(prog_pin.to_path_buf()),
            Err(e) => eprintln!("af_xdp: {e} (the next adoption will need CAP_SYS_ADMIN again)"),
        }
    }
    // On failure the adopted attachment is dropped, which leaves it as it
    // was found (see `Drop`): running clients depend on it.
    prepared.pin_for_clients(opts)?;
    Ok(prepared)
}

impl PreparedNetdev {
    /// Pins the map where clients open it (`opts.pin`), with its mode and
    /// owner; a pin of this same map already there (left by a predecessor)
    /// is kept, anything else there is refused.
    fn pin_for_clients(&mut self, opts: &PrepareOptions) -> Result<()> {
        let Some(path) = &opts.pin else {
            return Ok(());
        };
        match crate::map::Map::open_pinned(path) {
            Ok(there) if there.id() == self.map.id() => {}
            // A map pinned by a predecessor that died without cleaning up
            // (kill -9 without a state directory): replaced.
            Ok(_) => {
                std::fs::remove_file(path)
                    .map_err(|e| Error::from_io("remove stale pin", path.display(), &e))?;
                self.map.pin(path)?;
            }
            Err(_) => self.map.pin(path)?,
        }
        self.pin = Some(path.clone());
        let mode = opts.pin_mode.unwrap_or(0o600);
        rustix::fs::chmod(path, rustix::fs::Mode::from_raw_mode(mode))
            .map_err(|e| io_err("chmod", path, e))?;
        if opts.pin_owner.is_set() {
            rustix::fs::chown(
                path,
                opts.pin_owner.uid.map(rustix::process::Uid::from_raw),
                opts.pin_owner.gid.map(rustix::process::Gid::from_raw),
            )
            .map_err(|e| io_err("chown", path, e))?;
        }
        Ok(())
    }

    /// Leaves everything in place if it was adopted (see
    /// [`is_adopted`](Self::is_adopted)), undoes it otherwise: what a
    /// device-plugin side does with an interface it failed to finish
    /// setting up. The same as dropping it.
    pub fn abandon(self) {}

    /// Undoes everything, adopted or not: unpins (the state directory's
    /// pins too) and detaches. What a device-plugin side's clean shutdown
    /// does.
    pub fn teardown(mut self) {
        self.teardown = true;
    }

    /// Whether the attachment was adopted from a state directory (an
    /// earlier process's) rather than made now.
    pub fn is_adopted(&self) -> bool {
        self.adopted
    }

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
    /// attached, the map pinned. For a netlink attachment, or a BPF link
    /// pinned in a state directory; an unpinned link cannot outlive its fd,
    /// so for one this is an error (and the value is dropped as usual,
    /// undoing everything).
    pub fn persist(mut self) -> Result<()> {
        self.attachment.keep_on_drop()?;
        self.pin = None;
        self.state_map_pin = None;
        self.state_prog_pin = None;
        Ok(())
    }
}

impl Drop for PreparedNetdev {
    /// Unpins and detaches, except an adopted attachment (made by another
    /// process, which clients may be using), which is left as it was found
    /// unless [`teardown`](PreparedNetdev::teardown) asked otherwise.
    fn drop(&mut self) {
        if self.adopted && !self.teardown {
            let _ = self.attachment.keep_on_drop();
            self.pin = None;
            self.state_map_pin = None;
            self.state_prog_pin = None;
            return;
        }
        for path in [
            self.pin.take(),
            self.state_map_pin.take(),
            self.state_prog_pin.take(),
        ]
        .into_iter()
        .flatten()
        {
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
