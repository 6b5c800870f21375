//! [`SocketBuilder`]: creates an AF_XDP socket, sizes and maps its rings,
//! and binds it to one queue of a netdev, with errors that say what to do.

use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use afxdp_core::abi::if_xdp::{
    SockaddrXdp, XDP_COPY, XDP_SHARED_UMEM, XDP_USE_NEED_WAKEUP, XDP_ZEROCOPY,
};
use afxdp_core::abi::socket::AF_XDP;
use afxdp_core::Errno;
use afxdp_sys::xsk::{self, RingKind};

use super::config::{CopyMode, RingSizes, DEFAULT_BIND_RETRY};
use super::mapped::map_ring;
use super::queues::{CompletionQueue, FillQueue, Queues, RxQueue, TxQueue};
use super::socket::{SockFd, XskSocket};
use crate::error::{Error, ErrorKind, Result};
use crate::netdev::Netdev;
use crate::umem::{OwnerState, Umem};

/// Builds an AF_XDP socket bound to one queue of a netdev.
#[derive(Clone, Debug)]
pub struct SocketBuilder {
    umem: Umem,
    netdev: Netdev,
    queue: u32,
    sizes: RingSizes,
    copy: CopyMode,
    need_wakeup: bool,
    bind_retry: Duration,
}

/// The owner socket's modes, which a socket sharing its UMEM inherits.
#[derive(Clone, Copy)]
struct Owner {
    ifindex: u32,
    queue: u32,
    need_wakeup: bool,
}

impl SocketBuilder {
    /// A socket on `queue` of `netdev`, using `umem`, with default ring
    /// sizes, automatic copy mode, need-wakeup on, and `EBUSY` from bind
    /// retried for [`DEFAULT_BIND_RETRY`].
    pub fn new(umem: &Umem, netdev: &Netdev, queue: u32) -> Self {
        SocketBuilder {
            umem: umem.clone(),
            netdev: netdev.clone(),
            queue,
            sizes: RingSizes::default(),
            copy: CopyMode::Auto,
            need_wakeup: true,
            bind_retry: DEFAULT_BIND_RETRY,
        }
    }

    /// Sets the ring sizes.
    pub fn ring_sizes(mut self, sizes: RingSizes) -> Self {
        self.sizes = sizes;
        self
    }

    /// Sets copy or zero-copy mode.
    pub fn copy_mode(mut self, mode: CopyMode) -> Self {
        self.copy = mode;
        self
    }

    /// Whether the kernel may ask for wakeups (`XDP_USE_NEED_WAKEUP`, on by
    /// default; without it the kernel polls the fill ring itself and every
    /// transmit costs a system call).
    pub fn need_wakeup(mut self, on: bool) -> Self {
        self.need_wakeup = on;
        self
    }

    /// How long to keep retrying a bind refused with `EBUSY` (the queue is
    /// still held by a socket that was just closed: the kernel releases it
    /// asynchronously). Zero: fail at once.
    pub fn bind_retry(mut self, limit: Duration) -> Self {
        self.bind_retry = limit;
        self
    }

    fn subject(&self) -> String {
        format!("{} queue {}", self.netdev, self.queue)
    }

    fn err(&self, op: &'static str, e: Errno) -> Error {
        Error::sys(op, self.subject(), e)
    }

    /// Creates the socket, sizes and maps its rings, and binds it.
    ///
    /// The first socket of a UMEM is the UMEM's own; later ones share the
    /// UMEM (`XDP_SHARED_UMEM`, which needs kernel 5.10 for different
    /// queues) and inherit its copy and need-wakeup modes. One socket per
    /// queue: each gets its own fill and completion rings, so a socket
    /// sharing the UMEM on the owner's own queue is refused.
    ///
    /// ```no_run
    /// use af_xdp::{FrameBuf, Netdev, SocketBuilder, Umem, UmemConfig};
    /// let dev = Netdev::by_name("eth0")?;
    /// let umem = Umem::new(UmemConfig::default())?;
    /// let (sock, mut queues) = SocketBuilder::new(&umem, &dev, 0).build()?;
    /// let mut frames = umem.take_frames().unwrap_or_default();
    /// queues.fill.fill(&mut frames);
    /// # Ok::<(), af_xdp::Error>(())
    /// ```
    pub fn build(self) -> Result<(XskSocket, Queues)> {
        self.check_sizes()?;
        let umem = self.umem.clone();
        // Held while the owner is set up: a concurrent build that would
        // share the UMEM waits here until the owner is bound (or failed).
        let mut state = umem
            .inner
            .owner
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match *state {
            OwnerState::Spoiled => Err(Error::invalid(
                "create AF_XDP socket",
                self.subject(),
                "the first socket of this UMEM failed to set up, which leaves the UMEM unusable",
            )
            .with_hint("create a new Umem")),
            OwnerState::Unbound => {
                let result = self.build_inner(None);
                *state = match &result {
                    Ok((sock, _)) => OwnerState::Bound {
                        ifindex: sock.netdev.ifindex(),
                        queue: sock.queue,
                        need_wakeup: sock.need_wakeup,
                    },
                    Err(_) => OwnerState::Spoiled,
                };
                result
            }
            OwnerState::Bound {
                ifindex,
                queue,
                need_wakeup,
            } => {
                drop(state);
                self.build_inner(Some(Owner {
                    ifindex,
                    queue,
                    need_wakeup,
                }))
            }
        }
    }

    /// Checks the ring sizes before anything touches a socket.
    fn check_sizes(&self) -> Result<()> {
        if self.sizes.rx == 0 && self.sizes.tx == 0 {
            return Err(Error::invalid(
                "create AF_XDP socket",
                self.subject(),
                "needs an RX or a TX ring",
            ));
        }
        let rings = [
            ("rx", self.sizes.rx, true),
            ("tx", self.sizes.tx, true),
            ("fill", self.sizes.fill, false),
            ("completion", self.sizes.completion, false),
        ];
        for (name, n, may_be_zero) in rings {
            if (n == 0 && !may_be_zero) || (n != 0 && !n.is_power_of_two()) {
                return Err(Error::invalid(
                    "size AF_XDP ring",
                    self.subject(),
                    format!("{name} ring size {n} is not a power of two"),
                ));
            }
        }
        Ok(())
    }

    fn build_inner(mut self, owner: Option<Owner>) -> Result<(XskSocket, Queues)> {
        let shared = owner.is_some();
        if let Some(o) = owner {
            if o.ifindex == self.netdev.ifindex() && o.queue == self.queue {
                return Err(Error::invalid(
                    "create AF_XDP socket",
                    self.subject(),
                    "a second socket on the queue of the socket that owns the UMEM would have to use that socket's fill and completion rings, which this library does not support",
                )
                .with_hint("use another queue, or a UMEM of its own for this socket"));
            }
            // The kernel gives a shared socket the first socket's modes.
            self.need_wakeup = o.need_wakeup;
        }
        let fd = if shared {
            SockFd::Own(xsk::socket().map_err(|e| self.err("socket(AF_XDP)", e))?)
        } else {
            SockFd::Umem(self.umem.clone())
        };
        let fd = Arc::new(fd);
        let raw = fd.as_fd();

        let sized = [
            (RingKind::Rx, self.sizes.rx),
            (RingKind::Tx, self.sizes.tx),
            (RingKind::Fill, self.sizes.fill),
            (RingKind::Completion, self.sizes.completion),
        ];
        for (kind, n) in sized {
            if n == 0 {
                continue;
            }
            xsk::set_ring_size(raw, kind, n).map_err(|e| self.err(ring_op(kind), e))?;
        }
        let off = xsk::mmap_offsets(raw).map_err(|e| self.err("XDP_MMAP_OFFSETS", e))?;

        let fill = FillQueue {
            ring: map_ring(raw, RingKind::Fill, &off, self.sizes.fill)
                .map_err(|e| self.err("mmap fill ring", e))?,
            fd: fd.clone(),
            umem: self.umem.clone(),
            wakeups: 0,
        };
        let completion = CompletionQueue {
            ring: map_ring(raw, RingKind::Completion, &off, self.sizes.completion)
                .map_err(|e| self.err("mmap completion ring", e))?,
            umem: self.umem.clone(),
            invalid: 0,
        };
        let rx = if self.sizes.rx > 0 {
            Some(RxQueue {
                ring: map_ring(raw, RingKind::Rx, &off, self.sizes.rx)
                    .map_err(|e| self.err("mmap RX ring", e))?,
                umem: self.umem.clone(),
                invalid: 0,
            })
        } else {
            None
        };
        let tx = if self.sizes.tx > 0 {
            Some(TxQueue {
                ring: map_ring(raw, RingKind::Tx, &off, self.sizes.tx)
                    .map_err(|e| self.err("mmap TX ring", e))?,
                fd: fd.clone(),
                umem: self.umem.clone(),
                always_kick: !self.need_wakeup,
                // Known once bound (below).
                zero_copy: false,
                kicks: 0,
            })
        } else {
            None
        };

        let mut flags = 0u16;
        let mut shared_fd = 0u32;
        if shared {
            flags |= XDP_SHARED_UMEM;
            shared_fd = self.umem.as_fd().as_raw() as u32;
        } else {
            flags |= match self.copy {
                CopyMode::Auto => 0,
                CopyMode::Copy => XDP_COPY,
                CopyMode::ZeroCopy => XDP_ZEROCOPY,
            };
            if self.need_wakeup {
                flags |= XDP_USE_NEED_WAKEUP;
            }
        }
        let addr = SockaddrXdp {
            sxdp_family: AF_XDP,
            sxdp_flags: flags,
            sxdp_ifindex: self.netdev.ifindex(),
            sxdp_queue_id: self.queue,
            sxdp_shared_umem_fd: shared_fd,
        };
        self.bind(raw, &addr)?;
        let sock = XskSocket {
            fd,
            netdev: self.netdev,
            queue: self.queue,
            umem: self.umem,
            shared,
            need_wakeup: self.need_wakeup,
        };
        let mut tx = tx;
        if let Some(t) = tx.as_mut() {
            // A kernel that cannot say (before 5.3) is taken for zero copy:
            // a kick too many rather than frames that never complete.
            t.zero_copy = sock.is_zero_copy().unwrap_or(true);
        }
        Ok((
            sock,
            Queues {
                fill,
                completion,
                rx,
                tx,
            },
        ))
    }

    /// Binds, retrying `EBUSY` with a short backoff for `bind_retry`.
    fn bind(&self, fd: afxdp_sys::BorrowedFd<'_>, addr: &SockaddrXdp) -> Result<()> {
        let start = Instant::now();
        let mut pause = Duration::from_millis(5);
        let mut tries = 1u32;
        loop {
            match xsk::bind(fd, addr) {
                Ok(()) => return Ok(()),
                Err(Errno::EBUSY) if start.elapsed() + pause <= self.bind_retry => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(100));
                    tries += 1;
                }
                Err(e) => return Err(self.bind_error(e, tries, start.elapsed())),
            }
        }
    }

    fn bind_error(&self, e: Errno, tries: u32, waited: Duration) -> Error {
        let err = self.err("bind AF_XDP socket", e);
        match e {
            Errno::EBUSY => err
                .with_detail(format!(
                    "still busy after {tries} tries in {:.2} s",
                    waited.as_secs_f64()
                ))
                .with_hint("another AF_XDP socket is bound to this queue"),
            Errno::EINVAL => err.with_hint(format!(
                "is queue {} within the queues of {}? (ethtool -l {})",
                self.queue, self.netdev, self.netdev
            )),
            Errno::EOPNOTSUPP if self.copy == CopyMode::ZeroCopy => err
                .with_kind(ErrorKind::Unsupported)
                .with_hint("the driver has no zero-copy AF_XDP: use copy mode"),
            Errno::ENETDOWN => err.with_hint(format!(
                "bring {} up first (ip link set {} up)",
                self.netdev, self.netdev
            )),
            _ => err,
        }
    }
}

fn ring_op(kind: RingKind) -> &'static str {
    match kind {
        RingKind::Rx => "XDP_RX_RING",
        RingKind::Tx => "XDP_TX_RING",
        RingKind::Fill => "XDP_UMEM_FILL_RING",
        RingKind::Completion => "XDP_UMEM_COMPLETION_RING",
    }
}
