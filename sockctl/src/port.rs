//! [`Port`]: an AF_XDP port opened the way DPDK's `net_af_xdp` opens one
//! from its device arguments ([`Vdev`]), in one call; then a loop the
//! application owns, one [`PortQueue`] per queue, moving frames in bursts.
//!
//! [`Port::open`] does, in this order: look up the interface; get the
//! XSKMAP (create it, load and attach the redirect program as a BPF link;
//! or open a pinned map; or ask a device plugin); create the UMEM (one per
//! queue, or one shared); build and bind one socket per queue (retrying
//! `EBUSY` briefly, as a restarting pod needs); fill each fill ring; and
//! only then insert each socket into the XSKMAP, so that no frame is
//! redirected to a socket with nothing to receive into.
//!
//! The queue API mirrors DPDK's: [`PortQueue::receive`] is `rx_burst` (it
//! tops up the fill ring from the queue's free frames first),
//! [`PortQueue::transmit`] is `tx_burst` (it collects completed frames
//! first), [`PortQueue::release`] is freeing an mbuf, [`PortQueue::alloc`]
//! is allocating one. Waiting is the caller's choice: spin, or
//! [`Port::wait`].

use std::time::{Duration, Instant};

use afxdp_core::abi::if_xdp::XdpStatistics;
use afxdp_core::abi::socket::{PollFd, POLLERR, POLLHUP, POLLIN};
use afxdp_core::Errno;

use crate::attach::{Attachment, XdpMode};
use crate::busy_poll::BusyPoll;
use crate::error::{Error, Result};
use crate::handshake::{xskmap_and_busy_poll_by_handshake, xskmap_by_handshake, HandshakeOptions};
use crate::map::XskMap;
use crate::netdev::Netdev;
use crate::prepare::{prepare_netdev, AttachKind, PrepareOptions, PreparedNetdev};
use crate::umem::{Frame, FrameBuf, Umem, UmemConfig};
use crate::vdev::{MapSource, Vdev};
use crate::xsk::{
    CompletionQueue, CopyMode, EmptyFrame, FillQueue, Queues, RingSizes, RxQueue, SocketBuilder,
    TxQueue, XskSocket, DEFAULT_BIND_RETRY,
};

/// Frames per queue by default: DPDK's `ETH_AF_XDP_NUM_BUFFERS`, 8 MiB of
/// 2048-byte frames; the fill ring takes half, the rest wait for it or for
/// TX.
pub const DEFAULT_FRAMES_PER_QUEUE: u32 = 4096;

/// How a receive loop waits when a round moved nothing ([`Port::idle`]).
///
/// On a machine with few cores the receiver's waiting is the traffic
/// source's loss: sleeping in `poll` whenever a round comes back empty costs
/// a wakeup per burst and lets the fill ring run dry under load (measured
/// on a veth at ~1 Mpps: 0.5-1% lost, all `fill_ring_empty`), spinning
/// costs a core. `Adaptive`, the default, spins while traffic flows and
/// sleeps when it stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitPolicy {
    /// Never sleep: the loop keeps polling the rings (the kernel is woken
    /// only when it asks, `XDP_RING_NEED_WAKEUP`). Lowest latency, one
    /// core busy even when idle. The sockets' health is checked every
    /// 100 ms.
    Spin,
    /// Spin for `spin` after the last frame moved, then block in `poll` for
    /// up to `block` at a time until traffic resumes.
    Adaptive {
        /// How long to keep spinning after the last frame.
        spin: Duration,
        /// The longest sleep in `poll` once idle.
        block: Duration,
    },
    /// Block in `poll` for up to this long whenever a round moved nothing.
    Block(Duration),
}

impl Default for WaitPolicy {
    /// `Adaptive`: spin for 20 ms after the last frame, then sleep in
    /// `poll` up to 10 ms at a time.
    fn default() -> Self {
        WaitPolicy::Adaptive {
            spin: Duration::from_millis(20),
            block: Duration::from_millis(10),
        }
    }
}

impl std::str::FromStr for WaitPolicy {
    type Err = String;

    /// `spin`, `adaptive` (the default's timings), or `block` (10 ms).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "spin" => Ok(WaitPolicy::Spin),
            "adaptive" => Ok(WaitPolicy::default()),
            "block" => Ok(WaitPolicy::Block(Duration::from_millis(10))),
            _ => Err(format!(
                "unknown wait policy {s:?} (spin, adaptive or block)"
            )),
        }
    }
}

/// How often a spinning loop checks that the interface is still there.
const SPIN_CHECK_EVERY: Duration = Duration::from_millis(100);

/// Packet and byte counts of a queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Frames received.
    pub rx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Frames whose transmission the kernel completed.
    pub tx_packets: u64,
    /// Bytes of those frames.
    pub tx_bytes: u64,
}

impl std::ops::AddAssign for Counters {
    fn add_assign(&mut self, o: Counters) {
        self.rx_packets += o.rx_packets;
        self.rx_bytes += o.rx_bytes;
        self.tx_packets += o.tx_packets;
        self.tx_bytes += o.tx_bytes;
    }
}

/// What [`Port::open_with`] needs besides the device arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortOptions {
    /// UMEM frames per queue (default 4096).
    pub frames_per_queue: u32,
    /// Bytes per frame (default 2048).
    pub frame_size: u32,
    /// Ring sizes (default 2048 each; `rx` is ignored when `receive` is
    /// false).
    pub rings: RingSizes,
    /// Whether the port receives: an RX ring, and the sockets in the
    /// XSKMAP. Off for a transmit-only port: a socket without an RX ring
    /// must stay out of the map, or frames redirected to it are lost.
    pub receive: bool,
    /// XDP attach mode when the program is attached here and the device
    /// arguments do not say (`mode=`); default: let the kernel choose.
    pub attach_mode: XdpMode,
    /// How long a bind refused with `EBUSY` is retried (default 1 s).
    pub bind_retry: Duration,
    /// Whether a failure to turn on busy polling (`busy_budget`, which
    /// needs `CAP_NET_ADMIN`) fails the open (default: no, it is skipped
    /// and reported by [`Port::busy_poll_error`]).
    pub busy_poll_required: bool,
    /// How to talk to a device plugin (`use_cni=1`): pod name, timeouts.
    pub handshake: HandshakeOptions,
    /// With `use_cni=1`, have the device plugin set busy polling on every
    /// socket (`/config_busy_poll`, which an unprivileged process cannot
    /// set itself), in the same connection as the map (default: no; DPDK
    /// never asks).
    pub handshake_busy_poll: Option<BusyPoll>,
}

impl Default for PortOptions {
    fn default() -> Self {
        PortOptions {
            frames_per_queue: DEFAULT_FRAMES_PER_QUEUE,
            frame_size: 2048,
            rings: RingSizes::default(),
            receive: true,
            attach_mode: XdpMode::Auto,
            bind_retry: DEFAULT_BIND_RETRY,
            busy_poll_required: false,
            handshake: HandshakeOptions::default(),
            handshake_busy_poll: None,
        }
    }
}

/// Checks that the queues of `vdev` have entries in `map`.
fn check_fits(vdev: &Vdev, map: &XskMap) -> Result<()> {
    if vdev.queues().end > map.max_entries() {
        return Err(Error::invalid(
            "check XSKMAP",
            &vdev.iface,
            format!(
                "queues {}..{} do not fit a map of {} entries",
                vdev.start_queue,
                vdev.queues().end,
                map.max_entries()
            ),
        ));
    }
    Ok(())
}

/// Where a port's XSKMAP came from, and what keeps it working.
#[derive(Debug)]
enum MapHolder {
    /// Prepared here: the program stays attached while the port lives.
    Prepared(Box<PreparedNetdev>),
    /// From a device plugin (pinned or handshake).
    External(XskMap),
}

/// An open AF_XDP port: one socket per queue, the XSKMAP they are in, and
/// (when the program was attached here) the attachment, which lasts as
/// long as the port.
///
/// ```no_run
/// use af_xdp::{FrameBuf, Port};
/// // As DPDK's --vdev net_af_xdp0,iface=eth0,use_pinned_map=1 (unprivileged):
/// let mut port = Port::open(&"iface=eth0,use_pinned_map=1".parse()?)?;
/// let mut burst = FrameBuf::with_capacity(64);
/// let mut packets = 0u64;
/// while packets < 1000 {
///     for q in port.queues_mut() {
///         packets += q.receive(&mut burst) as u64;
///         q.release(&mut burst);
///     }
///     port.wait(std::time::Duration::from_millis(100))?;
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Port {
    // Declared first: sockets close before the map and the attachment go.
    queues: Vec<PortQueue>,
    poll_fds: Vec<PollFd>,
    map: MapHolder,
    netdev: Netdev,
    busy_poll_error: Option<Error>,
    /// The interface went away: every later wait says so again.
    gone: Option<Error>,
    /// When a round last moved frames (for `WaitPolicy::Adaptive`).
    last_active: Instant,
    /// When a spinning loop last checked the sockets.
    last_check: Instant,
}

impl MapHolder {
    fn map(&self) -> &XskMap {
        match self {
            MapHolder::Prepared(p) => p.map(),
            MapHolder::External(m) => m,
        }
    }
}

impl Port {
    /// Opens the port `vdev` describes, with default [`PortOptions`].
    ///
    /// ```no_run
    /// use af_xdp::Port;
    /// let port = Port::open(&"iface=eth0,queue_count=2".parse()?)?;
    /// assert_eq!(port.queues().len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(vdev: &Vdev) -> Result<Port> {
        Self::open_with(vdev, &PortOptions::default())
    }

    /// Opens the port `vdev` describes (see the [module docs](self) for the
    /// steps).
    pub fn open_with(vdev: &Vdev, opts: &PortOptions) -> Result<Port> {
        let netdev = Netdev::by_name(&vdev.iface)?;
        let queues = netdev.queue_count();
        if vdev.queues().end > queues.active {
            return Err(Error::invalid(
                "check queues",
                &vdev.iface,
                format!(
                    "queues {}..{} asked for, but the interface has {} now ({} at most, from {})",
                    vdev.start_queue,
                    vdev.queues().end,
                    queues.active,
                    queues.count,
                    queues.source
                ),
            )
            .with_hint(format!(
                "use fewer queues, or raise them (ethtool -L {} combined N)",
                vdev.iface
            )));
        }
        let map = match &vdev.map {
            MapSource::Load => Some(MapHolder::Prepared(Box::new(prepare_netdev(
                &vdev.iface,
                &PrepareOptions {
                    mode: vdev.xdp_mode.unwrap_or(opts.attach_mode),
                    attach: AttachKind::Link,
                    ..Default::default()
                },
            )?))),
            MapSource::Pinned(path) => Some(MapHolder::External(XskMap::open_pinned(path)?)),
            // Asked for once the sockets exist, with their busy polling.
            MapSource::Handshake(_) if opts.handshake_busy_poll.is_some() => None,
            MapSource::Handshake(path) => Some(MapHolder::External(xskmap_by_handshake(
                path,
                &vdev.iface,
                &opts.handshake,
            )?)),
        };
        if let Some(m) = &map {
            check_fits(vdev, m.map())?;
        }
        let sizes = RingSizes {
            rx: if opts.receive {
                opts.rings.rx.max(1)
            } else {
                0
            },
            ..opts.rings
        };
        let copy = if vdev.force_copy {
            CopyMode::Copy
        } else {
            CopyMode::Auto
        };
        let per_queue = opts.frames_per_queue;
        let umem_for = |n: u32| {
            let frame_count = per_queue.checked_mul(n).ok_or_else(|| {
                Error::invalid(
                    "configure UMEM",
                    &vdev.iface,
                    format!("{n} queues of {per_queue} frames do not fit"),
                )
            })?;
            Umem::new(UmemConfig {
                frame_count,
                frame_size: opts.frame_size,
                ..Default::default()
            })
        };
        let shared = if vdev.shared_umem {
            Some(umem_for(vdev.queue_count).map_err(|e| e.at(&vdev.iface))?)
        } else {
            None
        };
        let mut shared_frames = shared.as_ref().and_then(Umem::take_frames);

        let mut queues = Vec::with_capacity(vdev.queue_count as usize);
        let mut busy_poll_error = None;
        for q in vdev.queues() {
            let on_queue = |e: Error| e.at(format!("{} queue {q}", vdev.iface));
            let umem = match &shared {
                Some(u) => u.clone(),
                None => umem_for(1).map_err(on_queue)?,
            };
            let frames = match shared_frames.as_mut() {
                Some(all) => {
                    let mut mine = FrameBuf::with_capacity(per_queue as usize);
                    mine.take_from(all, per_queue as usize);
                    mine
                }
                None => umem.take_frames().unwrap_or_default(),
            };
            let (sock, rings) = SocketBuilder::new(&umem, &netdev, q)
                .ring_sizes(sizes)
                .copy_mode(copy)
                .bind_retry(opts.bind_retry)
                .build()
                .map_err(on_queue)?;
            let busy_poll = vdev.busy_budget > 0 && {
                let cfg = BusyPoll {
                    budget: vdev.busy_budget,
                    ..BusyPoll::default()
                };
                match sock.set_busy_poll(cfg).map_err(on_queue) {
                    Ok(()) => true,
                    Err(e) if opts.busy_poll_required => return Err(e),
                    Err(e) => {
                        busy_poll_error.get_or_insert(e);
                        false
                    }
                }
            };
            let mut queue = PortQueue::new(sock, rings, frames);
            queue.set_busy_polling(busy_poll);
            queues.push(queue);
        }
        let map = match (map, &vdev.map, opts.handshake_busy_poll) {
            (Some(m), _, _) => m,
            (None, MapSource::Handshake(path), Some(cfg)) => {
                let fds: Vec<_> = queues.iter().map(|q| q.socket().as_fd()).collect();
                let m = xskmap_and_busy_poll_by_handshake(
                    path,
                    &vdev.iface,
                    &fds,
                    cfg,
                    &opts.handshake,
                )?;
                check_fits(vdev, &m)?;
                // The device plugin turned busy polling on for every socket.
                for q in &mut queues {
                    q.set_busy_polling(true);
                }
                MapHolder::External(m)
            }
            (None, ..) => unreachable!("the map is deferred only for the handshake with busy poll"),
        };
        // In the map only once its fill ring is filled (PortQueue::new),
        // and only if it receives.
        if opts.receive {
            for (q, queue) in vdev.queues().zip(&queues) {
                map.map()
                    .insert(q, queue.socket().as_fd())
                    .map_err(|e| e.at(&vdev.iface))?;
            }
        }
        let poll_fds = queues.iter().map(|q| q.socket().poll_fd()).collect();
        Ok(Port {
            queues,
            poll_fds,
            map,
            netdev,
            busy_poll_error,
            gone: None,
            last_active: Instant::now(),
            last_check: Instant::now(),
        })
    }

    /// The queues, in the order of the device arguments' queue range.
    pub fn queues(&self) -> &[PortQueue] {
        &self.queues
    }

    /// The queues, for moving frames.
    pub fn queues_mut(&mut self) -> &mut [PortQueue] {
        &mut self.queues
    }

    /// The interface.
    pub fn netdev(&self) -> &Netdev {
        &self.netdev
    }

    /// The XSKMAP the sockets are in.
    pub fn map(&self) -> &XskMap {
        match &self.map {
            MapHolder::Prepared(p) => p.map(),
            MapHolder::External(m) => m,
        }
    }

    /// The attachment, when the program was attached by this port.
    pub fn attachment(&self) -> Option<&Attachment> {
        match &self.map {
            MapHolder::Prepared(p) => Some(p.attachment()),
            MapHolder::External(_) => None,
        }
    }

    /// Why busy polling could not be turned on (`busy_budget` without
    /// `CAP_NET_ADMIN`), if it could not; the port works without it.
    pub fn busy_poll_error(&self) -> Option<&Error> {
        self.busy_poll_error.as_ref()
    }

    /// The sum of the queues' counts.
    pub fn counters(&self) -> Counters {
        let mut c = Counters::default();
        for q in &self.queues {
            c += q.counters();
        }
        c
    }

    /// The sum of the kernel's counters of every socket.
    pub fn statistics(&self) -> Result<XdpStatistics> {
        let mut t = XdpStatistics::default();
        for q in &self.queues {
            let s = q.statistics()?;
            t.rx_dropped += s.rx_dropped;
            t.rx_invalid_descs += s.rx_invalid_descs;
            t.tx_invalid_descs += s.tx_invalid_descs;
            t.rx_ring_full += s.rx_ring_full;
            t.rx_fill_ring_empty_descs += s.rx_fill_ring_empty_descs;
            t.tx_ring_empty_descs += s.tx_ring_empty_descs;
        }
        Ok(t)
    }

    /// Waits up to `timeout` for received frames on any queue (`ppoll`,
    /// which also lets the kernel's RX side run). Returns whether any queue
    /// has frames to receive. When nothing came, it checks every socket
    /// ([`check`](Self::check)): an interface deleted under the port is an
    /// error ([`ErrorKind::NetworkDown`](crate::ErrorKind::NetworkDown))
    /// naming it, not silence, and stays one on every later call. (An
    /// interface set down is not an error: the sockets stay bound and
    /// traffic resumes when it comes back up.) Before it sleeps, each
    /// queue's fill ring gets the free frames it may lend (frames released
    /// since the last receive would otherwise wait for it).
    ///
    /// Allocates nothing.
    pub fn wait(&mut self, timeout: Duration) -> Result<bool> {
        if let Some(e) = &self.gone {
            return Err(e.clone());
        }
        for q in &mut self.queues {
            // Completions first (no system call): frames sent and done no
            // longer count against what may be lent.
            q.reap();
            q.top_up_fill();
        }
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        for p in &mut self.poll_fds {
            p.revents = 0;
        }
        let ready = match afxdp_sys::poll::poll(&mut self.poll_fds, ms) {
            Ok(n) => n,
            Err(Errno::EINTR) => 0,
            Err(e) => return Err(Error::sys("poll AF_XDP sockets", &self.netdev, e)),
        };
        let trouble = self
            .poll_fds
            .iter()
            .any(|p| p.revents & (POLLERR | POLLHUP) != 0);
        if ready == 0 || trouble {
            if let Err(e) = self.check() {
                if e.kind() == crate::ErrorKind::NetworkDown {
                    self.gone = Some(e.clone());
                }
                return Err(e);
            }
        }
        Ok(self.poll_fds.iter().any(|p| p.revents & POLLIN != 0))
    }

    /// Called by a receive loop after every round with how many frames the
    /// round moved: when none, waits as `policy` says (see [`WaitPolicy`]).
    /// Errors as [`wait`](Self::wait): an interface that went away.
    ///
    /// ```no_run
    /// # fn f(port: &mut af_xdp::Port) -> af_xdp::Result<()> {
    /// use af_xdp::{FrameBuf, WaitPolicy};
    /// let mut burst = FrameBuf::with_capacity(64);
    /// loop {
    ///     let mut moved = 0;
    ///     for q in port.queues_mut() {
    ///         moved += q.receive(&mut burst);
    ///         q.release(&mut burst);
    ///     }
    ///     port.idle(moved, WaitPolicy::default())?;
    /// }
    /// # }
    /// ```
    #[inline]
    pub fn idle(&mut self, moved: usize, policy: WaitPolicy) -> Result<()> {
        match policy {
            WaitPolicy::Block(t) => {
                if moved == 0 {
                    self.wait(t)?;
                }
                Ok(())
            }
            WaitPolicy::Spin => {
                if moved == 0 {
                    self.spin_once()?;
                }
                Ok(())
            }
            WaitPolicy::Adaptive { spin, block } => {
                let now = Instant::now();
                if moved > 0 {
                    self.last_active = now;
                    return Ok(());
                }
                if now.duration_since(self.last_active) < spin {
                    self.spin_once()
                } else {
                    self.wait(block).map(drop)
                }
            }
        }
    }

    /// One idle turn of a spinning loop: a CPU hint, and now and then a
    /// health check.
    #[inline]
    fn spin_once(&mut self) -> Result<()> {
        std::hint::spin_loop();
        let now = Instant::now();
        if now.duration_since(self.last_check) >= SPIN_CHECK_EVERY {
            self.last_check = now;
            if let Err(e) = self.check() {
                if e.kind() == crate::ErrorKind::NetworkDown {
                    self.gone = Some(e.clone());
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// Checks that every socket is still bound, that is, that the interface
    /// is still there (see [`XskSocket::take_error`]). A system call or two
    /// per socket: for the idle path.
    pub fn check(&self) -> Result<()> {
        if let Some(e) = &self.gone {
            return Err(e.clone());
        }
        for q in &self.queues {
            q.socket().take_error()?;
        }
        Ok(())
    }
}

/// One queue of a [`Port`]: its socket, its four rings and the frames it
/// owns (in the fill and TX rings, or free).
pub struct PortQueue {
    sock: XskSocket,
    fill: FillQueue,
    completion: CompletionQueue,
    rx: Option<RxQueue>,
    tx: Option<TxQueue>,
    /// Frames owned by the application and not lent to anyone.
    free: FrameBuf,
    /// Length of the frame last submitted for TX, by frame number, so that
    /// completions (which carry only addresses) count bytes exactly.
    tx_len: Vec<u32>,
    /// Frames submitted to TX and not yet completed.
    in_tx: u64,
    /// Frames lent to the kernel for receiving: put in the fill ring and not
    /// yet taken back from the RX ring.
    rx_lent: usize,
    /// The fill ring's size: frames lent for receiving plus (up to half of
    /// it) frames in flight for sending stay within it.
    rx_budget: usize,
    /// A zero-copy kick for completions went out and nothing has completed
    /// or been submitted since: no second one until something has.
    completion_kicked: bool,
    /// Preferred busy polling is on for the socket: an empty receive drives
    /// the kernel's polling with a `recvfrom`, as DPDK does with
    /// `busy_budget` (see [`set_busy_polling`](Self::set_busy_polling)).
    busy_poll: bool,
    counters: Counters,
}

impl std::fmt::Debug for PortQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortQueue")
            .field("socket", &self.sock)
            .field("free", &self.free.len())
            .field("in_tx", &self.in_tx)
            .field("rx_lent", &self.rx_lent)
            .field("counters", &self.counters)
            .finish()
    }
}

impl PortQueue {
    /// A queue over a bound socket and its rings, owning `frames` (its share
    /// of the UMEM): if the socket receives, as many as the fill ring holds
    /// go there now; the rest wait in the free pool.
    ///
    /// How many frames the kernel gets for receiving (in the fill ring or
    /// the RX ring): the fill ring's size, less the frames in flight for
    /// sending, which count for at most half of it (so a stalled TX side
    /// cannot stop receiving; frames in flight are counted until a
    /// [`transmit`](Self::transmit), [`alloc`](Self::alloc) or
    /// [`complete`](Self::complete) collects their completions). In a
    /// forwarder, where the frames sent are frames received, a frame then
    /// comes round once per ring's worth of packets, like the benchmark's
    /// libxdp reader, which circulates 2048 of its 4096 frames; the UMEM's
    /// other frames serve frames the application holds or builds to send.
    /// Lending every free frame instead made each frame come round once per
    /// UMEM, and the kernel's receive path slower, consistent with cache
    /// misses on the larger working set (`benches/README.md`, "Frames lent
    /// for receiving"). The fill ring is expected empty here: frames put in
    /// it by hand before are not counted.
    ///
    /// [`Port::open`] builds these; this is for a socket built by hand.
    ///
    /// # Panics
    /// If a frame of `frames` belongs to another UMEM than the socket's
    /// (here, rather than later inside a receive).
    pub fn new(sock: XskSocket, rings: Queues, frames: FrameBuf) -> PortQueue {
        let id = sock.umem().id();
        assert!(
            frames.iter().all(|f| f.umem() == id),
            "PortQueue::new: frames of another UMEM than the socket's"
        );
        let frame_count = sock.umem().layout().frame_count() as usize;
        let mut free = FrameBuf::with_capacity(frame_count);
        let mut frames = frames;
        let n = frames.len();
        free.take_from(&mut frames, n);
        let rx_budget = rings.fill.size() as usize;
        let mut q = PortQueue {
            sock,
            fill: rings.fill,
            completion: rings.completion,
            rx: rings.rx,
            tx: rings.tx,
            free,
            tx_len: vec![0; frame_count],
            in_tx: 0,
            rx_lent: 0,
            rx_budget,
            completion_kicked: false,
            busy_poll: false,
            counters: Counters::default(),
        };
        q.top_up_fill();
        q
    }

    /// Tells the queue that preferred busy polling is on for its socket
    /// ([`XskSocket::set_busy_poll`], or the device plugin's
    /// `/config_busy_poll`); [`Port::open`] sets it when it turned busy
    /// polling on. Then the kernel moves packets when the application asks
    /// (its interrupts are deferred), so a [`receive`](Self::receive) that
    /// finds the RX ring empty asks with one `recvfrom(MSG_DONTWAIT)`, as
    /// DPDK's receive does with `busy_budget`; without it, a receive makes
    /// a system call only when the fill ring asks for a wakeup.
    pub fn set_busy_polling(&mut self, on: bool) {
        self.busy_poll = on;
    }

    /// Whether [`set_busy_polling`](Self::set_busy_polling) is on.
    pub fn busy_polling(&self) -> bool {
        self.busy_poll
    }

    /// `recvfrom` calls made so far on the receiving side: wakeups the
    /// fill ring asked for and, with busy polling, one per receive that
    /// found the RX ring empty (see [`set_busy_polling`](Self::set_busy_polling)).
    pub fn rx_wakeups(&self) -> u64 {
        self.fill.wakeups()
    }

    /// Moves free frames to the fill ring, up to the receive budget (see
    /// [`new`](Self::new); none for a socket that does not receive), and
    /// wakes the kernel if the fill ring asks, unless `quiet`.
    #[inline]
    fn top_up_fill_with(&mut self, quiet: bool) {
        if self.rx.is_some() {
            let in_tx = (self.in_tx as usize).min(self.rx_budget / 2);
            let room = self.rx_budget.saturating_sub(self.rx_lent + in_tx);
            self.rx_lent += if quiet {
                self.fill.fill_quietly(&mut self.free, room)
            } else {
                self.fill.fill_at_most(&mut self.free, room)
            };
        }
    }

    /// [`top_up_fill_with`](Self::top_up_fill_with), with the wakeup.
    #[inline]
    fn top_up_fill(&mut self) {
        self.top_up_fill_with(false);
    }

    /// The frame number of `addr` (an index into `tx_len`), or past the
    /// table for an address that is no frame's.
    #[inline]
    fn frame_index(&self, addr: u64) -> usize {
        self.sock
            .umem()
            .layout()
            .frame_index(addr)
            .map_or(usize::MAX, |i| i as usize)
    }

    /// Receives up to `out.spare()` frames into `out` (DPDK's `rx_burst`),
    /// after topping up the fill ring from the free frames (as many as
    /// [`new`](Self::new) says the kernel gets for receiving). Returns how
    /// many arrived. Give them back with [`release`](Self::release) (or
    /// send them with [`transmit`](Self::transmit)).
    #[inline]
    pub fn receive(&mut self, out: &mut FrameBuf) -> usize {
        // With busy polling, the receive's own `recvfrom` (below) serves a
        // wakeup the fill ring asks for: one system call, as DPDK makes.
        self.top_up_fill_with(self.busy_poll);
        let Some(rx) = self.rx.as_mut() else {
            return 0;
        };
        let before = out.len();
        let taken = rx.receive(out);
        // Entries taken off the ring, and frames delivered: fewer when the
        // kernel returned a descriptor outside the UMEM (skipped, counted
        // in the RX queue's `invalid`).
        self.rx_lent = self.rx_lent.saturating_sub(taken);
        let n = out.len() - before;
        let bytes: u64 = out.iter().skip(before).map(|f| u64::from(f.len())).sum();
        self.counters.rx_packets += n as u64;
        self.counters.rx_bytes += bytes;
        // Busy polling: drive the kernel when the ring had nothing for a
        // receive that had room (while frames come, nothing needs driving;
        // a wakeup the fill ring asked for waits for that call, as in DPDK).
        if self.busy_poll && taken == 0 && out.spare() > 0 {
            self.fill.wakeup();
        }
        n
    }

    /// Gives every frame of `frames` back to the queue's free frames (and
    /// from there, on the next receive, to the fill ring).
    ///
    /// # Panics
    /// If a frame belongs to another UMEM.
    #[inline]
    pub fn release(&mut self, frames: &mut FrameBuf) {
        for f in frames.iter() {
            assert_eq!(
                f.umem(),
                self.sock.umem().id(),
                "a frame of another UMEM cannot be released here"
            );
        }
        let n = frames.len();
        self.free.take_from(frames, n);
    }

    /// Gives one frame back (see [`release`](Self::release)).
    #[inline]
    pub fn release_one(&mut self, frame: Frame) {
        assert_eq!(
            frame.umem(),
            self.sock.umem().id(),
            "a frame of another UMEM cannot be released here"
        );
        // The pool holds every frame of the UMEM: there is always room.
        let _ = self.free.push(frame);
    }

    /// Moves up to `n` free frames into `out` (no more than it has room
    /// for), for building packets to send: write with
    /// [`Umem::room_mut`], then [`Frame::set_len`]. Collects completed
    /// frames first. Returns how many moved.
    #[inline]
    pub fn alloc(&mut self, out: &mut FrameBuf, n: usize) -> usize {
        let reaped = self.reap();
        if self.free.len() < n {
            // Short of frames: descriptors may wait for a kick.
            self.flush_tx(reaped);
        }
        let n = out.take_from(&mut self.free, n);
        for f in out.iter_mut().rev().take(n) {
            f.set_len(0);
        }
        n
    }

    /// Sends frames from the front of `frames` (DPDK's `tx_burst`), after
    /// collecting completed ones; returns how many went. Those that did not
    /// fit stay in `frames`. A frame of length 0 is refused (see
    /// [`EmptyFrame`]).
    ///
    /// With no TX ring (a receive-only socket) nothing is sent: `Ok(0)`.
    ///
    /// Kicks only while descriptors wait in the TX ring and each kick makes
    /// progress ([`TxQueue::flush`]); for frames the kernel has taken and
    /// not completed, none in copy mode, and in zero-copy mode one until
    /// something completes ([`TxQueue::kick_for_completions`]).
    #[inline]
    pub fn transmit(&mut self, frames: &mut FrameBuf) -> std::result::Result<usize, EmptyFrame> {
        let reaped = self.reap();
        let Some(tx) = self.tx.as_mut() else {
            return Ok(0);
        };
        let l = *self.sock.umem().layout();
        // Record every length (the kernel may take fewer; those are
        // recorded again next time).
        for f in frames.iter() {
            let i = l.frame_index(f.addr()).map_or(usize::MAX, |i| i as usize);
            if let Some(slot) = self.tx_len.get_mut(i) {
                *slot = f.len().min(self.sock.umem().room(f) as u32);
            }
        }
        let result = tx.submit(frames);
        let sent = match result {
            Ok(n) | Err(EmptyFrame { sent: n }) => n,
        };
        self.in_tx += sent as u64;
        let kicked = tx.flush();
        if sent > 0 {
            self.completion_kicked = false;
        }
        self.completion_kick(kicked, reaped);
        result
    }

    /// Moves completed TX frames to the free frames, counting them; kicks
    /// the kernel if descriptors still wait in the TX ring and it asked
    /// ([`TxQueue::flush`]). Returns how many completed.
    #[inline]
    pub fn complete(&mut self) -> usize {
        let n = self.reap();
        self.flush_tx(n);
        n
    }

    /// [`TxQueue::flush`], when frames are in flight; and when none
    /// completed (`reaped` 0), [`TxQueue::kick_for_completions`].
    #[inline]
    fn flush_tx(&mut self, reaped: usize) {
        if self.in_tx > 0 {
            if let Some(tx) = self.tx.as_mut() {
                let kicked = tx.flush();
                self.completion_kick(kicked, reaped);
            }
        }
    }

    /// After a flush: when it did not kick and nothing completed with frames
    /// in flight, [`TxQueue::kick_for_completions`], once until something
    /// completes or is submitted (a zero-copy driver that keeps its
    /// need-wakeup flag set is not kicked on every idle round).
    #[inline]
    fn completion_kick(&mut self, kicked: bool, reaped: usize) {
        if kicked || reaped > 0 {
            self.completion_kicked = false;
            return;
        }
        if self.in_tx > 0 && !self.completion_kicked {
            if let Some(tx) = self.tx.as_mut() {
                self.completion_kicked = tx.kick_for_completions();
            }
        }
    }

    /// Moves completed TX frames to the free frames, counting them; no
    /// kick. Returns how many completed.
    #[inline]
    fn reap(&mut self) -> usize {
        let before = self.free.len();
        let n = self.completion.complete(&mut self.free);
        if n > 0 {
            let mut bytes = 0u64;
            for k in before..self.free.len() {
                let i = self.frame_index(self.free.frames()[k].addr());
                bytes += u64::from(self.tx_len.get(i).copied().unwrap_or(0));
            }
            self.in_tx = self.in_tx.saturating_sub(n as u64);
            self.counters.tx_packets += n as u64;
            self.counters.tx_bytes += bytes;
        }
        n
    }

    /// Frames submitted for TX and not completed yet.
    pub fn in_flight_tx(&self) -> u64 {
        self.in_tx
    }

    /// Frames free (owned by the queue, lent to nobody).
    pub fn free_frames(&self) -> usize {
        self.free.len()
    }

    /// The free frames themselves, writable: for preparing packets once
    /// (a traffic generator writes its template into each).
    pub fn free_frames_mut(&mut self) -> &mut FrameBuf {
        &mut self.free
    }

    /// Counts so far: received frames as they arrive, sent frames as the
    /// kernel completes them.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The socket.
    pub fn socket(&self) -> &XskSocket {
        &self.sock
    }

    /// The UMEM (for [`Umem::data`], [`Umem::data_mut`], [`Umem::room_mut`]).
    pub fn umem(&self) -> &Umem {
        self.sock.umem()
    }

    /// The kernel's counters for the socket.
    pub fn statistics(&self) -> Result<XdpStatistics> {
        self.sock.statistics()
    }

    /// The TX ring's kicks so far (system calls spent on sending).
    pub fn tx_kicks(&self) -> u64 {
        self.tx.as_ref().map_or(0, TxQueue::kicks)
    }
}
