//! The server side of the device-plugin handshake (`sockctl serve`): for
//! each interface the redirect program and its XSKMAP ([`prepare_netdev`]),
//! a Unix socket at `<dir>/<iface>/afxdp.sock`, and one event loop that
//! serves any number of connections, one after another and at once.
//!
//! One thread, non-blocking sockets and `poll`: an idle or slow client
//! holds a slot and nothing else, and the idle timeout closes it. The
//! caller owns the loop ([`Server::serve`] runs one round), so stopping on
//! a signal is the caller's choice. Each connection ends with one
//! [`ConnectionLog`]: who (`SO_PEERCRED`), which pod, what it got, why it
//! ended.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use afxdp_core::abi::socket::{
    PollFd, UCred, MSG_DONTWAIT, MSG_NOSIGNAL, POLLERR, POLLHUP, POLLIN,
};
pub use afxdp_core::handshake::PodCheck;
use afxdp_core::handshake::{
    BusyPoll as WireBusyPoll, HandshakeError, Response, ServerPolicy, ServerSession, ServerState,
    MAX_REQUEST_LEN, MAX_RESPONSE_LEN,
};
use afxdp_core::Errno;
use afxdp_sys::unix::{self, UnixAddr};
use afxdp_sys::{BorrowedFd, OwnedFd};

use super::paths::{Owner, SafeDir};
use crate::busy_poll::{set_busy_poll_raw, BusyPoll};
use crate::error::{Error, Result};
use crate::prepare::{prepare_netdev, PrepareOptions, PreparedNetdev};
use crate::vdev::{DP_BASE_PATH, DP_MAP_NAME, DP_SOCKET_NAME};

/// Which pod names the server accepts in `/connect`.
#[derive(Clone)]
pub enum PodPolicy {
    /// Any name: an explicit choice, for a server whose socket only the
    /// right pod can reach (a per-pod mount, a socket owned by its uid).
    Any,
    /// Only these names.
    Only(Vec<String>),
    /// Asks `checker` (for example kubelet's pod-resources: is there a pod
    /// of that name that was allocated this device?).
    Custom(Arc<dyn PodChecker>),
}

impl fmt::Debug for PodPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PodPolicy::Any => f.write_str("Any"),
            PodPolicy::Only(v) => f.debug_tuple("Only").field(v).finish(),
            PodPolicy::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl PartialEq for PodPolicy {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (PodPolicy::Any, PodPolicy::Any) => true,
            (PodPolicy::Only(a), PodPolicy::Only(b)) => a == b,
            (PodPolicy::Custom(a), PodPolicy::Custom(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for PodPolicy {}

/// A pod check of the embedder's (see [`PodPolicy::Custom`]). Called from
/// the server's loop: it should answer quickly (a cached lookup, or a
/// bounded remote call).
pub trait PodChecker: Send + Sync {
    /// Whether the pod named `pod`, connecting on the socket of `iface`
    /// (`None`: the legacy socket, which serves every interface), may
    /// connect: [`PodCheck::LookupFailed`] answers `/error` then
    /// `/host_nak`.
    fn check_pod(&self, pod: &str, iface: Option<&str>) -> PodCheck;

    /// Whether `pod` may get the XSKMAP of `iface` (default: yes, for an
    /// accepted pod; the socket already limits the interfaces).
    fn may_serve(&self, pod: &str, iface: &str) -> bool {
        let _ = (pod, iface);
        true
    }
}

/// Messages read from one connection per round of [`Server::serve`].
const MESSAGES_PER_ROUND: usize = 16;

/// The largest `/config_busy_poll` a pod may ask root to set: 1 ms of
/// busy polling (DPDK uses 20 µs).
pub const MAX_BUSY_POLL_TIMEOUT_US: u32 = 1000;
/// The largest busy-poll budget a pod may ask for (DPDK uses 64).
pub const MAX_BUSY_POLL_BUDGET: u16 = 256;

/// The reference plugin's idle timeout: 30 s by default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a connection stays open after `/fin_ack` for the client to
/// close it first, by default (see [`ServerConfig::fin_linger`]).
pub const DEFAULT_FIN_LINGER: Duration = Duration::from_secs(1);

/// Connections past `/fin_ack` that may linger on one socket; beyond it the
/// oldest is closed at once (see [`ServerConfig::fin_linger`]).
pub const MAX_LINGERING_PER_SOCKET: usize = 64;

/// What a [`Server`] serves and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Where the per-interface directories and sockets go (default
    /// `/tmp/afxdp_dp`, DPDK's).
    pub dir: PathBuf,
    /// Mode of each `<dir>/<iface>` (default 0700).
    pub dir_mode: u32,
    /// Mode of each socket (default 0600). A client needs write permission
    /// on it, and search permission on its directories.
    pub socket_mode: u32,
    /// Owner of each socket (default: this process): set it to the
    /// client's uid (and gid) so that an unprivileged client may connect
    /// while the defaults keep everyone else out. `<dir>/<iface>` stays
    /// this process's and gets that gid and group search permission, so
    /// the client can reach the socket but change nothing in the
    /// directory.
    pub socket_owner: Owner,
    /// The pods accepted.
    pub pods: PodPolicy,
    /// Peer uids accepted (`SO_PEERCRED`); empty: any.
    pub allow_uids: Vec<u32>,
    /// Closes a connection silent for this long (default 30 s; `None`:
    /// never).
    pub idle_timeout: Option<Duration>,
    /// After answering `/fin`, how long the connection waits for the client
    /// to close it (default 1 s) before the server does. A server that
    /// closes right after `/fin_ack` can make the client read the close
    /// first: the kernel may report a shutdown that came right after a
    /// message before the message itself, to a reader that looks at its
    /// queue just before both arrive (seen here under load), and DPDK then
    /// fails the handshake at its last step. Zero: close at once. At most
    /// [`MAX_LINGERING_PER_SOCKET`] linger on a socket (they do not count
    /// against `max_connections`). A linger that runs out is logged as
    /// finished too. Refusals (`/host_nak`, a
    /// first message that is not `/connect`) still close at once: the
    /// client fails either way.
    pub fin_linger: Duration,
    /// Also serve every interface on this one socket (the legacy device
    /// plugin's `/tmp/afxdp.sock`).
    pub legacy_socket: Option<PathBuf>,
    /// Connections served at once on each socket (default 256); when
    /// full, the oldest connection that has not yet sent `/connect` is
    /// closed to make room.
    pub max_connections: usize,
    /// How each interface is prepared. Its `pin` is ignored: with
    /// `pin_dir`, the map of each interface is pinned at
    /// `<pin_dir>/<iface>/xsks_map`.
    pub prepare: PrepareOptions,
    /// A directory on a bpffs where each interface's map is pinned for
    /// `use_pinned_map=1` clients.
    pub pin_dir: Option<PathBuf>,
    /// After accepting a connection or answering one of its requests (while
    /// it goes on: not after `/fin` or a refusal), how long the server looks
    /// for its next message without sleeping (default 200 µs; zero: never),
    /// when its thread may run on more than one CPU. DPDK's PMD sends one
    /// request, waits for the answer, then sends the next: a server asleep
    /// in `poll` is woken on an idle CPU for each, which costs tens of µs on
    /// a VM (see `benches/README.md`, "handshake"). Bounded whatever the
    /// clients do: at most [`SPIN_PER_CONNECTION`] for one connection in
    /// all (a handshake needs a few requests), and spinning takes at most a
    /// tenth of the server's time ([`SPIN_SHARE_WINDOW`]), so a client that
    /// keeps talking, or keeps connecting, cannot make it spin a CPU.
    pub answer_spin: Duration,
}

/// The default [`ServerConfig::answer_spin`].
pub const DEFAULT_ANSWER_SPIN: Duration = Duration::from_micros(200);

/// The most the server spins for one connection in all (see
/// [`ServerConfig::answer_spin`]): enough for a handshake's few requests.
pub const SPIN_PER_CONNECTION: Duration = Duration::from_millis(1);

/// Spinning takes at most a tenth of each window of this length (see
/// [`ServerConfig::answer_spin`]).
pub const SPIN_SHARE_WINDOW: Duration = Duration::from_millis(100);

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            dir: PathBuf::from(DP_BASE_PATH),
            dir_mode: 0o700,
            socket_mode: 0o600,
            socket_owner: Owner::default(),
            pods: PodPolicy::Only(Vec::new()),
            allow_uids: Vec::new(),
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            fin_linger: DEFAULT_FIN_LINGER,
            legacy_socket: None,
            max_connections: 256,
            prepare: PrepareOptions::default(),
            pin_dir: None,
            answer_spin: DEFAULT_ANSWER_SPIN,
        }
    }
}

/// Checks an idle timeout the way the reference plugin's `udsTimeout` is
/// read: -1 turns it off, 0 means the default (30 s), otherwise 30 to 300
/// seconds.
///
/// ```
/// use af_xdp::handshake::server::idle_timeout_from_secs;
/// use std::time::Duration;
/// assert_eq!(idle_timeout_from_secs(-1), Ok(None));
/// assert_eq!(idle_timeout_from_secs(0), Ok(Some(Duration::from_secs(30))));
/// assert_eq!(idle_timeout_from_secs(120), Ok(Some(Duration::from_secs(120))));
/// assert!(idle_timeout_from_secs(10).is_err());
/// ```
pub fn idle_timeout_from_secs(secs: i64) -> std::result::Result<Option<Duration>, String> {
    match secs {
        -1 => Ok(None),
        0 => Ok(Some(DEFAULT_IDLE_TIMEOUT)),
        30..=300 => Ok(Some(Duration::from_secs(secs as u64))),
        _ => Err(format!(
            "idle timeout {secs}: -1 (off), 0 (default, 30 s) or 30 to 300 seconds"
        )),
    }
}

/// How one connection went, for the log: one per connection, when it ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionLog {
    /// The socket's interface (`*` for the legacy socket).
    pub socket_iface: String,
    /// The peer, from `SO_PEERCRED`.
    pub peer: UCred,
    /// The pod name it gave in `/connect`, if any.
    pub pod: Option<String>,
    /// What it got, in order (`host_ok`, `map eth0`, `busy_poll ok`, ...).
    pub served: Vec<String>,
    /// Why the connection ended.
    pub end: ConnectionEnd,
}

/// Why a connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectionEnd {
    /// `/fin` answered.
    Finished,
    /// The server ended it after a refusal or a bad first message.
    Refused(String),
    /// The peer closed it.
    PeerClosed,
    /// Silent for longer than the idle timeout.
    IdleTimeout,
    /// Its uid is not allowed.
    UidRejected,
    /// Too many connections at once.
    TooManyConnections,
    /// A socket error.
    Error(Errno),
    /// The server shut down.
    Shutdown,
}

impl fmt::Display for ConnectionLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: peer pid {} uid {} gid {}, pod {}: ",
            self.socket_iface,
            self.peer.pid,
            self.peer.uid,
            self.peer.gid,
            self.pod.as_deref().unwrap_or("-"),
        )?;
        if self.served.is_empty() {
            f.write_str("nothing served")?;
        } else {
            f.write_str(&self.served.join(", "))?;
        }
        match &self.end {
            ConnectionEnd::Finished => f.write_str("; fin"),
            ConnectionEnd::Refused(why) => write!(f, "; refused: {why}"),
            ConnectionEnd::PeerClosed => f.write_str("; peer closed"),
            ConnectionEnd::IdleTimeout => f.write_str("; idle timeout"),
            ConnectionEnd::UidRejected => f.write_str("; uid not allowed"),
            ConnectionEnd::TooManyConnections => f.write_str("; too many connections"),
            ConnectionEnd::Error(e) => write!(f, "; {e}"),
            ConnectionEnd::Shutdown => f.write_str("; server shut down"),
        }
    }
}

/// Per-interface settings that differ from the server's (see
/// [`Server::add_interface_with`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InterfaceOptions {
    /// Owner of the interface's socket directory, socket and pin (default:
    /// the server's `socket_owner` and `prepare.pin_owner`).
    pub owner: Option<Owner>,
}

/// One served interface.
struct Served {
    name: String,
    prepared: PreparedNetdev,
    dir: SafeDir,
    pin_dir: Option<PathBuf>,
}

impl Served {
    /// Gives the interface up: its attachment undone (`teardown`: even an
    /// adopted one; otherwise an adopted one is left to its clients), and
    /// its pin directory removed if empty.
    fn finish(self, teardown: bool) {
        if teardown {
            self.prepared.teardown();
        } else {
            self.prepared.abandon();
        }
        if let Some(p) = self.pin_dir {
            let _ = std::fs::remove_dir(p);
        }
    }
}

/// A listening socket: one interface's, or the legacy one (all).
struct Listener {
    fd: OwnedFd,
    /// The interface it serves; `None`: the legacy socket (all of them).
    iface: Option<String>,
    /// Out of fds (or memory) at the last `accept`: not polled until then,
    /// or the waiting connections would keep it readable and the loop
    /// spinning.
    paused_until: Option<Instant>,
}

/// How long a listener rests after `accept` ran out of fds or memory.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

struct Conn {
    fd: OwnedFd,
    listener: usize,
    session: ServerSession,
    peer: UCred,
    served: Vec<String>,
    last: Instant,
    /// The pod name of the first `/connect`, accepted or not (for the log).
    tried_pod: Option<String>,
    /// `/fin` answered: to be left for the client to close (at most
    /// `fin_linger` after `last`).
    finished: bool,
    /// What is left of [`SPIN_PER_CONNECTION`] for this connection.
    spin_left: Duration,
}

/// The policy one connection is judged by: the server's pods, and the
/// interfaces of the socket it came in on.
struct ConnPolicy<'a> {
    pods: &'a PodPolicy,
    ifaces: &'a [Served],
    only: Option<&'a str>,
}

impl ServerPolicy for ConnPolicy<'_> {
    fn check_pod(&self, pod: &str) -> PodCheck {
        match self.pods {
            PodPolicy::Any => PodCheck::Allowed,
            PodPolicy::Only(list) if list.iter().any(|p| p == pod) => PodCheck::Allowed,
            PodPolicy::Only(_) => PodCheck::Denied,
            PodPolicy::Custom(c) => c.check_pod(pod, self.only),
        }
    }

    fn may_busy_poll(&self, _pod: &str, config: WireBusyPoll) -> bool {
        config.timeout_us <= MAX_BUSY_POLL_TIMEOUT_US && config.budget <= MAX_BUSY_POLL_BUDGET
    }

    fn may_serve(&self, pod: &str, iface: &str) -> bool {
        let served = match self.only {
            Some(name) => name == iface,
            None => self.ifaces.iter().any(|s| s.name == iface),
        };
        served
            && match self.pods {
                PodPolicy::Custom(c) => c.may_serve(pod, iface),
                _ => true,
            }
    }
}

/// The device-plugin side: prepared interfaces and their handshake
/// sockets. Dropping it (or [`shutdown`](Self::shutdown)) closes every
/// connection, removes the sockets and their directories, unpins and
/// detaches.
///
/// ```no_run
/// use af_xdp::handshake::server::{PodPolicy, Server, ServerConfig};
/// use std::time::Duration;
/// let mut server = Server::new(&["eth0"], ServerConfig { pods: PodPolicy::Any, ..Default::default() })?;
/// loop {
///     server.serve(Duration::from_secs(1), &mut |log| println!("{log}"))?;
/// }
/// # Ok::<(), af_xdp::Error>(())
/// ```
pub struct Server {
    // Declared first: connections and sockets close before the interfaces
    // are detached.
    conns: Vec<Conn>,
    /// Connections past `/fin_ack`, left for the client to close: not
    /// polled (the client's close wakes nobody), looked at each round.
    lingering: Vec<Conn>,
    listeners: Vec<Listener>,
    legacy: Option<PathBuf>,
    ifaces: Vec<Served>,
    config: ServerConfig,
    poll_fds: Vec<PollFd>,
    /// Whether the thread serving may run on more than one CPU (checked on
    /// the first [`serve`](Server::serve); see [`ServerConfig::answer_spin`]).
    may_spin: Option<bool>,
    /// The current [`SPIN_SHARE_WINDOW`]: when it began, and how long the
    /// server spun in it.
    spin_window: (Instant, Duration),
    /// The receiving end of the wakers' socket pair, once
    /// [`waker`](Server::waker) made it, and a waker to clone.
    wake: Option<(OwnedFd, ServerWaker)>,
}

/// Ends the current (or next) [`Server::serve`] round of its server early,
/// from any thread: for a caller that serves with long rounds and also
/// takes commands (a device plugin's thread per device). Cheap to clone.
///
/// ```no_run
/// use af_xdp::handshake::server::{PodPolicy, Server, ServerConfig};
/// use std::time::Duration;
/// let mut server = Server::new(&["eth0"], ServerConfig { pods: PodPolicy::Any, ..Default::default() })?;
/// let waker = server.waker()?;
/// std::thread::spawn(move || waker.wake());
/// // Returns soon after the wake, not after a minute.
/// server.serve(Duration::from_secs(60), &mut |log| println!("{log}"))?;
/// # Ok::<(), af_xdp::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ServerWaker(Arc<OwnedFd>);

impl ServerWaker {
    /// Wakes the server. Never blocks: wakes not yet seen are one.
    pub fn wake(&self) {
        // EAGAIN: the buffer is full of wakes not yet seen, which is a
        // wake all the same. An error otherwise: the server is gone
        // (MSG_NOSIGNAL: never a SIGPIPE, whatever the socket type).
        let _ = afxdp_sys::socket::send(self.0.as_fd(), &[1], MSG_DONTWAIT | MSG_NOSIGNAL);
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field(
                "interfaces",
                &self.ifaces.iter().map(|s| &s.name).collect::<Vec<_>>(),
            )
            .field("connections", &self.conns.len())
            .field("lingering", &self.lingering.len())
            .finish()
    }
}

fn listen_in(dir: &SafeDir, name: &str, mode: u32, owner: Owner) -> Result<OwnedFd> {
    let path = dir.path().join(name);
    dir.remove_stale_socket(name)?;
    // Bound through the directory's fd: whatever is renamed or planted along
    // the directory's path since it was opened, the socket lands in it.
    let addr = UnixAddr::try_from(dir.fd_path(name).as_path())
        .map_err(|e| Error::sys("bind handshake socket", path.display(), e))?;
    let fd = unix::listen_at(&addr, 64)
        .map_err(|e| Error::sys("listen on handshake socket", path.display(), e))?;
    // Non-blocking: the loop accepts until the backlog is empty, and a
    // client that gave up in between cannot block it.
    rustix::fs::fcntl_setfl(&fd, rustix::fs::OFlags::NONBLOCK)
        .map_err(|e| super::paths::io_err("fcntl O_NONBLOCK", &path, e))?;
    dir.set_socket_mode_owner(name, mode, owner)?;
    Ok(fd)
}

impl Server {
    /// Prepares each of `ifaces` (program, map, pins as configured) and
    /// listens on `<dir>/<iface>/afxdp.sock` for each. Nothing is left
    /// behind if a step fails.
    pub fn new<S: AsRef<str>>(ifaces: &[S], config: ServerConfig) -> Result<Server> {
        let mut server = Server {
            conns: Vec::new(),
            lingering: Vec::new(),
            listeners: Vec::new(),
            legacy: None,
            ifaces: Vec::new(),
            config,
            poll_fds: Vec::new(),
            may_spin: None,
            spin_window: (Instant::now(), Duration::ZERO),
            wake: None,
        };
        for name in ifaces {
            server.add_interface(name.as_ref())?;
        }
        if let Some(path) = server.config.legacy_socket.clone() {
            let (parent, name) = match (path.parent(), path.file_name().and_then(|n| n.to_str())) {
                (Some(p), Some(n)) => (p, n),
                _ => {
                    return Err(Error::invalid(
                        "legacy socket",
                        path.display(),
                        "not a path to a file",
                    ))
                }
            };
            // The parent (usually /tmp) is not ours to change: open it
            // without following symlinks, but leave its mode alone.
            let dir = SafeDir::open_existing(parent)?;
            let fd = listen_in(
                &dir,
                name,
                server.config.socket_mode,
                server.config.socket_owner,
            )?;
            server.listeners.push(Listener {
                fd,
                iface: None,
                paused_until: None,
            });
            server.legacy = Some(path);
        }
        Ok(server)
    }

    /// Prepares `name` and listens on `<dir>/<name>/afxdp.sock`, with the
    /// server's settings; nothing is left behind if a step fails.
    pub fn add_interface(&mut self, name: &str) -> Result<()> {
        self.add_interface_with(name, InterfaceOptions::default())
    }

    /// [`add_interface`](Self::add_interface) with settings of its own
    /// (the owner of its files: the uid of the pod it is for).
    pub fn add_interface_with(&mut self, name: &str, iopts: InterfaceOptions) -> Result<()> {
        if self.ifaces.iter().any(|s| s.name == name) {
            return Err(Error::new(
                crate::ErrorKind::Busy,
                "serve",
                name,
                "already served",
            ));
        }
        let socket_owner = iopts.owner.unwrap_or(self.config.socket_owner);
        // The directory stays root's: with an owner for the socket, its
        // group may search it (to reach the socket), nothing more.
        let dir_group = socket_owner.gid.or(socket_owner.uid);
        let dir_mode = match dir_group {
            Some(_) => self.config.dir_mode | 0o010,
            None => self.config.dir_mode,
        };
        let base = SafeDir::open(&self.config.dir, 0o711)?;
        let mut opts = self.config.prepare.clone();
        if let Some(o) = iopts.owner {
            opts.pin_owner = o;
        }
        // What this call creates, removed again if a later step fails.
        let mut made_pin_dir: Option<PathBuf> = None;
        let mut pin_dir = None;
        if let Some(pins) = &self.config.pin_dir {
            ensure_bpffs(pins)?;
            let d = SafeDir::open(pins, 0o711)?;
            let existed = pins.join(name).exists();
            let sub = d.subdir(name, 0o711, None)?;
            if !existed {
                made_pin_dir = Some(sub.path().to_path_buf());
            }
            opts.pin = Some(sub.path().join(DP_MAP_NAME));
            pin_dir = Some(sub.path().to_path_buf());
        }
        let undo_dirs = |made_pin_dir: &Option<PathBuf>, made_dir: bool| {
            if let Some(p) = made_pin_dir {
                let _ = std::fs::remove_dir(p);
            }
            if made_dir {
                base.remove_dir(name);
            }
        };
        let prepared = match prepare_netdev(name, &opts) {
            Ok(p) => p,
            Err(e) => {
                undo_dirs(&made_pin_dir, false);
                return Err(e);
            }
        };
        let existed = self.config.dir.join(name).exists();
        let listening = base.subdir(name, dir_mode, dir_group).and_then(|dir| {
            listen_in(&dir, DP_SOCKET_NAME, self.config.socket_mode, socket_owner)
                .map(|fd| (dir, fd))
        });
        let (dir, fd) = match listening {
            Ok(v) => v,
            Err(e) => {
                // An adopted attachment stays for the clients using it.
                prepared.abandon();
                undo_dirs(&made_pin_dir, !existed);
                return Err(e);
            }
        };
        self.listeners.push(Listener {
            fd,
            iface: Some(name.to_string()),
            paused_until: None,
        });
        self.ifaces.push(Served {
            name: name.to_string(),
            prepared,
            dir,
            pin_dir,
        });
        Ok(())
    }

    /// Stops serving `name`: closes its socket and the connections that
    /// came through it (each logged), removes the socket and its directory,
    /// unpins and detaches. Returns whether it was served.
    pub fn remove_interface(&mut self, name: &str, log: &mut dyn FnMut(&ConnectionLog)) -> bool {
        let Some(li) = self
            .listeners
            .iter()
            .position(|l| l.iface.as_deref() == Some(name))
        else {
            return false;
        };
        // As in shutdown: the finished ones first, then the others.
        let lingering: Vec<Conn> = self
            .lingering
            .extract_if(.., |c| c.listener == li)
            .collect();
        self.log_ended(lingering, ConnectionEnd::Finished, log);
        let open: Vec<Conn> = self.conns.extract_if(.., |c| c.listener == li).collect();
        self.log_ended(open, ConnectionEnd::Shutdown, log);
        self.listeners.remove(li);
        for c in self.conns.iter_mut().chain(self.lingering.iter_mut()) {
            if c.listener > li {
                c.listener -= 1;
            }
        }
        if let Some(si) = self.ifaces.iter().position(|s| s.name == name) {
            let s = self.ifaces.remove(si);
            s.dir.remove_socket(DP_SOCKET_NAME);
            if let Ok(b) = SafeDir::open_existing(&self.config.dir) {
                b.remove_dir(name);
            }
            s.finish(true);
        }
        true
    }

    /// The interfaces served, with what was prepared for each.
    pub fn interfaces(&self) -> impl Iterator<Item = (&str, &PreparedNetdev)> {
        self.ifaces.iter().map(|s| (s.name.as_str(), &s.prepared))
    }

    /// The socket path of `iface`.
    pub fn socket_path(&self, iface: &str) -> Option<PathBuf> {
        self.ifaces
            .iter()
            .find(|s| s.name == iface)
            .map(|s| s.dir.path().join(DP_SOCKET_NAME))
    }

    /// Connections open now and not yet past `/fin_ack` (those linger
    /// apart, see [`ServerConfig::fin_linger`]).
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// A waker of this server ([`ServerWaker`]): every clone of it ends the
    /// round [`serve`](Self::serve) is in, or the next one, early.
    pub fn waker(&mut self) -> Result<ServerWaker> {
        if let Some((_, w)) = &self.wake {
            return Ok(w.clone());
        }
        let (rx, tx) = unix::socketpair()
            .map_err(|e| Error::sys("make the server's waker", "a socket pair", e))?;
        let w = ServerWaker(Arc::new(tx));
        self.wake = Some((rx, w.clone()));
        Ok(w)
    }

    /// Runs one round: waits up to `timeout` (less if a connection's idle
    /// timeout or a linger after `/fin_ack` ends first) for connections and
    /// requests, serves what came, and closes idle connections and those
    /// whose linger is over. `log` gets one [`ConnectionLog`] per
    /// connection that ended.
    pub fn serve(&mut self, timeout: Duration, log: &mut dyn FnMut(&ConnectionLog)) -> Result<()> {
        let now = Instant::now();
        let mut wait = timeout;
        if let Some(idle) = self.config.idle_timeout {
            for c in &self.conns {
                if let Some(end) = c.last.checked_add(idle) {
                    wait = wait.min(end.saturating_duration_since(now));
                }
            }
        }
        for c in &self.lingering {
            if let Some(end) = c.last.checked_add(self.config.fin_linger) {
                wait = wait.min(end.saturating_duration_since(now));
            }
        }
        self.poll_fds.clear();
        for l in &mut self.listeners {
            let paused = l.paused_until.filter(|&until| until > now);
            l.paused_until = paused;
            if let Some(until) = paused {
                wait = wait.min(until - now);
            }
            self.poll_fds.push(PollFd {
                fd: l.fd.as_raw(),
                events: if paused.is_some() { 0 } else { POLLIN },
                revents: 0,
            });
        }
        for c in &self.conns {
            self.poll_fds.push(PollFd {
                fd: c.fd.as_raw(),
                events: POLLIN,
                revents: 0,
            });
        }
        // Last, after every listener and connection: their slots stay.
        if let Some((rx, _)) = &self.wake {
            self.poll_fds.push(PollFd {
                fd: rx.as_raw(),
                events: POLLIN,
                revents: 0,
            });
        }
        // Rounded up: a deadline less than a millisecond away is not a
        // zero timeout to spin on.
        let ms = i32::try_from(wait.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX);
        let poll_err = |e| Error::sys("poll handshake sockets", self.config.dir.display(), e);
        // Right after a connection was accepted or answered, its next
        // request is expected within the client's turnaround: look for it
        // before sleeping (not for connections past `/fin`).
        let mut ready = false;
        let may_spin = *self.may_spin.get_or_insert_with(super::may_spin);
        if now.duration_since(self.spin_window.0) >= SPIN_SHARE_WINDOW {
            self.spin_window = (now, Duration::ZERO);
        }
        let share_left = (SPIN_SHARE_WINDOW / 10).saturating_sub(self.spin_window.1);
        let latest = self
            .conns
            .iter_mut()
            .filter(|c| !c.finished && !c.spin_left.is_zero())
            .max_by_key(|c| c.last);
        if let Some(c) = latest.filter(|_| may_spin) {
            let at = c.last;
            let budget = self
                .config
                .answer_spin
                .min(wait)
                .min(c.spin_left)
                .min(share_left);
            if now.duration_since(at) < budget {
                let start = Instant::now();
                ready = super::poll_spinning(&mut self.poll_fds, at + budget).map_err(poll_err)?;
                let spun = start.elapsed();
                c.spin_left = c.spin_left.saturating_sub(spun);
                self.spin_window.1 += spun;
            }
        }
        if !ready {
            match afxdp_sys::poll::poll(&mut self.poll_fds, ms) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(poll_err(e)),
            }
        }
        // Wakes seen: all of them at once.
        if let Some((rx, _)) = &self.wake {
            let slot = self.listeners.len() + self.conns.len();
            if self
                .poll_fds
                .get(slot)
                .is_some_and(|p| p.revents & POLLIN != 0)
            {
                let mut buf = [0u8; 16];
                while unix::recv_msg_nowait(rx.as_fd(), &mut buf, &mut []).is_ok_and(|m| m.len > 0)
                {
                }
            }
        }
        // Lingering connections the client closed since the last round are
        // logged first: a client that closed before another connected is
        // logged before it.
        self.reap_lingering(log);
        let nl = self.listeners.len();
        // Requests first (on the connections polled), then new connections.
        // Connection `i` was polled at slot `nl + i`; ended ones are removed
        // afterwards, from the back, so indices stay valid meanwhile.
        let mut ended: Vec<(usize, ConnectionEnd)> = Vec::new();
        for i in 0..self.conns.len() {
            let revents = self.poll_fds.get(nl + i).map_or(0, |p| p.revents);
            let end = if revents & (POLLIN | POLLERR | POLLHUP) != 0 {
                self.on_readable(i)
            } else {
                None
            };
            let end = end.or_else(|| {
                let idle = self.config.idle_timeout?;
                let c = &self.conns[i];
                (!c.finished && c.last.elapsed() >= idle).then_some(ConnectionEnd::IdleTimeout)
            });
            if let Some(end) = end {
                ended.push((i, end));
            }
        }
        for (i, end) in ended.into_iter().rev() {
            let c = self.conns.remove(i);
            log(&self.log_of(c, end));
        }
        let mut accepted = 0;
        for li in 0..nl {
            if self.poll_fds[li].revents & POLLIN != 0 {
                accepted += self.accept_all(li, log);
            }
        }
        // A client sends `/connect` right after connecting: read the new
        // connections now rather than a round later (they are the last
        // `accepted` ones; what is not there yet comes with the next poll).
        let mut ended: Vec<(usize, ConnectionEnd)> = Vec::new();
        for i in self.conns.len() - accepted..self.conns.len() {
            if let Some(end) = self.on_readable(i) {
                ended.push((i, end));
            }
        }
        for (i, end) in ended.into_iter().rev() {
            let c = self.conns.remove(i);
            log(&self.log_of(c, end));
        }
        self.start_lingering(log);
        Ok(())
    }

    /// Moves the connections that answered `/fin` to the lingering ones;
    /// past [`MAX_LINGERING_PER_SOCKET`] of those on one socket, its oldest
    /// are closed (so that one socket's clients cannot cut another's linger
    /// short).
    fn start_lingering(&mut self, log: &mut dyn FnMut(&ConnectionLog)) {
        let finished: Vec<Conn> = self.conns.extract_if(.., |c| c.finished).collect();
        for c in finished {
            let li = c.listener;
            self.lingering.push(c);
            let on_this = self.lingering.iter().filter(|c| c.listener == li).count();
            if on_this > MAX_LINGERING_PER_SOCKET {
                // The oldest first: they were pushed in order.
                if let Some(o) = self.lingering.iter().position(|c| c.listener == li) {
                    let old = self.lingering.remove(o);
                    log(&self.log_of(old, ConnectionEnd::Finished));
                }
            }
        }
    }

    /// Ends the lingering connections the client closed (or sent anything
    /// more on), and those that lingered `fin_linger`.
    fn reap_lingering(&mut self, log: &mut dyn FnMut(&ConnectionLog)) {
        let mut buf = [0u8; MAX_REQUEST_LEN + 1];
        let linger = self.config.fin_linger;
        let ended: Vec<Conn> = self
            .lingering
            .extract_if(.., |c| {
                let mut slots: [Option<OwnedFd>; 1] = [None];
                let open = matches!(
                    unix::recv_msg(c.fd.as_fd(), &mut buf, &mut slots),
                    Err(Errno::EAGAIN)
                );
                !open || c.last.elapsed() >= linger
            })
            .collect();
        self.log_ended(ended, ConnectionEnd::Finished, log);
    }

    /// Logs each of `conns` as ended by `end`, closing it.
    fn log_ended(&self, conns: Vec<Conn>, end: ConnectionEnd, log: &mut dyn FnMut(&ConnectionLog)) {
        for c in conns {
            log(&self.log_of(c, end.clone()));
        }
    }

    fn log_of(&self, c: Conn, end: ConnectionEnd) -> ConnectionLog {
        let socket_iface = self.listeners[c.listener]
            .iface
            .clone()
            .unwrap_or_else(|| "*".to_string());
        ConnectionLog {
            socket_iface,
            peer: c.peer,
            pod: c.session.pod().map(str::to_string).or(c.tried_pod),
            served: c.served,
            end,
        }
    }

    /// Accepts waiting connections on listener `li`; returns how many were
    /// added (at the end of `conns`).
    fn accept_all(&mut self, li: usize, log: &mut dyn FnMut(&ConnectionLog)) -> usize {
        let mut added = 0;
        // Bounded: a flood waits in the backlog for the next round.
        for _ in 0..64 {
            let fd = match unix::accept(self.listeners[li].fd.as_fd(), true) {
                Ok(fd) => fd,
                // Out of fds or memory: the connections wait in the backlog
                // while this listener rests (a closing connection frees one).
                Err(Errno::EMFILE | Errno::ENFILE | Errno::ENOBUFS | Errno::ENOMEM) => {
                    self.listeners[li].paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                    break;
                }
                Err(_) => break,
            };
            let peer = unix::peer_cred(fd.as_fd()).unwrap_or(UCred {
                pid: 0,
                uid: u32::MAX,
                gid: u32::MAX,
            });
            let c = Conn {
                fd,
                listener: li,
                session: ServerSession::new(),
                peer,
                served: Vec::new(),
                last: Instant::now(),
                tried_pod: None,
                finished: false,
                spin_left: SPIN_PER_CONNECTION,
            };
            if !self.config.allow_uids.is_empty() && !self.config.allow_uids.contains(&peer.uid) {
                log(&self.log_of(c, ConnectionEnd::UidRejected));
                continue;
            }
            // A limit per socket, so that one pod's socket cannot lock the
            // others out; when full, the oldest connection that has not
            // even said /connect makes room (a silent one cannot hold a
            // slot against a real client). Connections past /fin_ack are
            // not counted (they linger, capped apart).
            let on_this = self
                .conns
                .iter()
                .filter(|c| c.listener == li && !c.finished)
                .count();
            if on_this >= self.config.max_connections {
                let idle = self
                    .conns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.listener == li && c.session.state() == ServerState::New)
                    .min_by_key(|(_, c)| c.last)
                    .map(|(i, _)| i);
                match idle {
                    Some(i) => {
                        if i >= self.conns.len() - added {
                            // One accepted in this call makes room.
                            added -= 1;
                        }
                        let old = self.conns.remove(i);
                        log(&self.log_of(old, ConnectionEnd::TooManyConnections));
                    }
                    None => {
                        log(&self.log_of(c, ConnectionEnd::TooManyConnections));
                        continue;
                    }
                }
            }
            self.conns.push(c);
            added += 1;
        }
        added
    }

    /// Reads and serves every message waiting on connection `i`; returns
    /// why it ended, if it did.
    fn on_readable(&mut self, i: usize) -> Option<ConnectionEnd> {
        let mut buf = [0u8; MAX_REQUEST_LEN + 1];
        // A bounded number of messages per round: a client that keeps its
        // queue full cannot keep the others (or the idle timeouts, or a
        // stop signal) waiting; the rest is read next round.
        for _ in 0..MESSAGES_PER_ROUND {
            let mut slots: [Option<OwnedFd>; 1] = [None];
            let c = &mut self.conns[i];
            let got = unix::recv_msg(c.fd.as_fd(), &mut buf, &mut slots);
            let (request, fds) = match got {
                Err(Errno::EAGAIN) => return None,
                Err(Errno::EMSGSIZE) => (
                    Err(HandshakeError::TooLong {
                        len: MAX_REQUEST_LEN + 1,
                        max: MAX_REQUEST_LEN,
                    }),
                    0,
                ),
                Err(Errno::ECONNRESET) => return Some(ConnectionEnd::PeerClosed),
                Err(e) => return Some(ConnectionEnd::Error(e)),
                Ok(m) if m.len == 0 && m.fds_received() == 0 => {
                    return Some(ConnectionEnd::PeerClosed)
                }
                Ok(m) => (
                    afxdp_core::handshake::Request::parse(&buf[..m.len]),
                    m.fds_received(),
                ),
            };
            c.last = Instant::now();
            if let (Ok(afxdp_core::handshake::Request::Connect { hostname }), None) =
                (&request, &c.tried_pod)
            {
                c.tried_pod = Some(hostname.to_string());
            }
            let only = self.listeners[c.listener].iface.as_deref();
            let policy = ConnPolicy {
                pods: &self.config.pods,
                ifaces: &self.ifaces,
                only,
            };
            let mut action = c.session.on_request(&policy, request, fds);
            if let Some(bp) = action.apply_busy_poll {
                let ok = match slots[0].as_ref() {
                    Some(fd) => apply_busy_poll(fd.as_fd(), bp),
                    None => false,
                };
                c.served
                    .push(format!("busy_poll {}", if ok { "ok" } else { "refused" }));
                action = c.session.busy_poll_applied(ok);
            }
            // Every fd received is closed here, used or not.
            drop(slots);
            for r in action.responses.iter() {
                let map = match (r, action.attach_map) {
                    (Response::FdAck, Some(name)) => self
                        .ifaces
                        .iter()
                        .find(|s| s.name == name)
                        .map(|s| s.prepared.map().as_fd()),
                    _ => None,
                };
                let mut out = [0u8; MAX_RESPONSE_LEN];
                let Ok(len) = r.emit(&mut out) else {
                    return Some(ConnectionEnd::Error(Errno::EINVAL));
                };
                let fds: Vec<BorrowedFd<'_>> = map.into_iter().collect();
                if let Err(e) = unix::send_msg(c.fd.as_fd(), &out[..len], &fds) {
                    return Some(ConnectionEnd::Error(e));
                }
                match r {
                    Response::HostOk => c.served.push("host_ok".into()),
                    Response::FdAck => c
                        .served
                        .push(format!("map {}", action.attach_map.unwrap_or("?"))),
                    Response::FdNak => c.served.push("fd_nak".into()),
                    Response::Nak => c.served.push("nak".into()),
                    _ => {}
                }
            }
            if action.close {
                let rs = action.responses.as_slice();
                if rs.last() == Some(&Response::FinAck) {
                    if self.config.fin_linger.is_zero() {
                        return Some(ConnectionEnd::Finished);
                    }
                    // The client closes first (see `fin_linger`).
                    c.finished = true;
                    c.last = Instant::now();
                    return None;
                }
                return Some(if rs.contains(&Response::HostNak) {
                    ConnectionEnd::Refused("pod not accepted (/host_nak)".into())
                } else {
                    ConnectionEnd::Refused("first message was not /connect".into())
                });
            }
        }
        None
    }

    /// Ends the server: closes every connection (logging each), then, unless
    /// `keep_attached`, removes the sockets and their directories, unpins
    /// and detaches. With `keep_attached` the attachments and pins stay for
    /// the next server to adopt (`state_dir`), and the sockets are removed.
    pub fn shutdown(
        mut self,
        keep_attached: bool,
        log: &mut dyn FnMut(&ConnectionLog),
    ) -> Result<()> {
        let lingering = std::mem::take(&mut self.lingering);
        self.log_ended(lingering, ConnectionEnd::Finished, log);
        let open = std::mem::take(&mut self.conns);
        self.log_ended(open, ConnectionEnd::Shutdown, log);
        // Kept for the next server: a pod that mounted `<dir>/<iface>` sees
        // the next socket appear in the very same directory.
        self.remove_sockets(!keep_attached);
        let mut first_err = None;
        for s in std::mem::take(&mut self.ifaces) {
            if keep_attached {
                if let Err(e) = s.prepared.persist() {
                    first_err.get_or_insert(e);
                }
            } else {
                s.finish(true);
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn remove_sockets(&mut self, remove_dirs: bool) {
        self.listeners.clear();
        for s in &self.ifaces {
            s.dir.remove_socket(DP_SOCKET_NAME);
        }
        if let (true, Ok(base)) = (remove_dirs, SafeDir::open_existing(&self.config.dir)) {
            for s in &self.ifaces {
                base.remove_dir(&s.name);
            }
        }
        if let Some(path) = self.legacy.take() {
            if let (Some(parent), Some(name)) =
                (path.parent(), path.file_name().and_then(|n| n.to_str()))
            {
                if let Ok(d) = SafeDir::open_existing(parent) {
                    d.remove_socket(name);
                }
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.conns.clear();
        self.lingering.clear();
        self.remove_sockets(true);
        // Dropped without a shutdown (an error in the loop): what was made
        // here is undone; an attachment adopted from a state directory stays
        // for the clients that use it.
        for s in std::mem::take(&mut self.ifaces) {
            s.finish(false);
        }
    }
}

/// Sets busy polling on a socket a client handed over, after checking
/// that it is an AF_XDP socket.
fn apply_busy_poll(fd: BorrowedFd<'_>, bp: WireBusyPoll) -> bool {
    set_busy_poll_raw(
        fd,
        BusyPoll {
            timeout_us: bp.timeout_us,
            budget: u32::from(bp.budget),
        },
    )
    .is_ok()
}

/// Makes sure `dir` is on a bpffs, mounting one there if it is not (as the
/// CLI contract says `--pin-dir` does; needs `CAP_SYS_ADMIN`).
fn ensure_bpffs(dir: &Path) -> Result<()> {
    // Created first: a directory inside a bpffs is on it already.
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::from_io("create pin directory", dir.display(), &e))?;
    if crate::map::on_bpffs(dir) == Some(true) {
        return Ok(());
    }
    rustix::mount::mount("bpf", dir, "bpf", rustix::mount::MountFlags::empty(), None).map_err(|e| {
        Error::sys("mount bpffs", dir.display(), Errno::from_raw(e.raw_os_error())).with_hint(
            "pins live on a BPF filesystem: mount one there (mount -t bpf bpf DIR), or run with CAP_SYS_ADMIN",
        )
    })
}

/// The path of the pinned map of `iface` under `pin_dir`.
pub fn pin_path(pin_dir: &Path, iface: &str) -> PathBuf {
    pin_dir.join(iface).join(DP_MAP_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waker_ends_the_round_early_from_another_thread() {
        let config = ServerConfig {
            pods: PodPolicy::Any,
            ..ServerConfig::default()
        };
        let mut server = Server::new::<&str>(&[], config).unwrap();
        let waker = server.waker().unwrap();
        let log = &mut |_: &ConnectionLog| {};
        // Woken before the round: it returns at once; the wakes are taken,
        // so the next round waits its time.
        waker.wake();
        waker.clone().wake();
        let t = Instant::now();
        server.serve(Duration::from_secs(30), log).unwrap();
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        let t = Instant::now();
        server.serve(Duration::from_millis(200), log).unwrap();
        assert!(
            t.elapsed() >= Duration::from_millis(190),
            "{:?}",
            t.elapsed()
        );
        // Woken from another thread during a long round.
        let w = server.waker().unwrap();
        let wake = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            w.wake();
        });
        let t = Instant::now();
        server.serve(Duration::from_secs(30), log).unwrap();
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        wake.join().unwrap();
        // Many wakes never block the waker.
        for _ in 0..100_000 {
            waker.wake();
        }
        server.serve(Duration::from_secs(30), log).unwrap();
        // A wake after the server went fails quietly.
        drop(server);
        waker.wake();
    }
}
