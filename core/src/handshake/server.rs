//! [`ServerSession`]: the server's side of one connection, deciding each
//! answer with a [`ServerPolicy`] (which pods, which interfaces).

use core::fmt;

use super::error::HandshakeError;
use super::message::{BusyPoll, Request, RequestKind, Response};
use super::text::MAX_HOSTNAME_LEN;

/// The verdict on a pod name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PodCheck {
    /// The pod may connect.
    Allowed,
    /// It may not: `/host_nak`.
    Denied,
    /// The lookup itself failed (the reference plugin asks the kubelet):
    /// `/error`, then `/host_nak`.
    LookupFailed,
}

/// What a server serves to whom.
pub trait ServerPolicy {
    /// Whether the pod named `pod` may connect.
    fn check_pod(&self, pod: &str) -> PodCheck;

    /// Whether `pod` (already allowed) may get the XSKMAP of `iface`.
    fn may_serve(&self, pod: &str, iface: &str) -> bool;

    /// Whether `pod` may have busy polling set with `config`. Yes by
    /// default.
    fn may_busy_poll(&self, pod: &str, config: BusyPoll) -> bool {
        let _ = (pod, config);
        true
    }
}

/// Which pods a [`StaticPolicy`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pods<'p> {
    /// Any pod name: an explicit choice, for a server whose socket only the
    /// right pod can reach.
    Any,
    /// Only these, each getting every interface the server serves.
    Only(&'p [&'p str]),
    /// Only these, each getting only the interfaces listed with it (and
    /// served by the server).
    Each(&'p [(&'p str, &'p [&'p str])]),
}

/// A fixed policy: the pods accepted and the interfaces served.
///
/// ```
/// use afxdp_core::handshake::{PodCheck, Pods, ServerPolicy, StaticPolicy};
/// let policy = StaticPolicy { pods: Pods::Only(&["mypod"]), interfaces: &["eth0"] };
/// assert_eq!(policy.check_pod("mypod"), PodCheck::Allowed);
/// assert_eq!(policy.check_pod("other"), PodCheck::Denied);
/// assert!(policy.may_serve("mypod", "eth0"));
/// assert!(!policy.may_serve("mypod", "eth1"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaticPolicy<'p> {
    /// The pods accepted.
    pub pods: Pods<'p>,
    /// The interfaces this server serves (to any accepted pod, or as
    /// restricted by [`Pods::Each`]).
    pub interfaces: &'p [&'p str],
}

impl ServerPolicy for StaticPolicy<'_> {
    fn check_pod(&self, pod: &str) -> PodCheck {
        let known = match self.pods {
            Pods::Any => true,
            Pods::Only(list) => list.contains(&pod),
            Pods::Each(list) => list.iter().any(|(name, _)| *name == pod),
        };
        if known {
            PodCheck::Allowed
        } else {
            PodCheck::Denied
        }
    }

    fn may_serve(&self, pod: &str, iface: &str) -> bool {
        if !self.interfaces.contains(&iface) {
            return false;
        }
        match self.pods {
            Pods::Any => true,
            Pods::Only(list) => list.contains(&pod),
            Pods::Each(list) => list
                .iter()
                .any(|(name, ifaces)| *name == pod && ifaces.contains(&iface)),
        }
    }
}

/// Up to two responses, sent in order, one message each.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Responses {
    items: [Response; 2],
    len: u8,
}

impl Responses {
    /// No response.
    pub const NONE: Responses = Responses {
        items: [Response::Nak; 2],
        len: 0,
    };

    /// One response.
    pub const fn one(r: Response) -> Responses {
        Responses {
            items: [r, r],
            len: 1,
        }
    }

    /// Two responses, `first` first.
    pub const fn two(first: Response, second: Response) -> Responses {
        Responses {
            items: [first, second],
            len: 2,
        }
    }

    /// The responses, in order.
    pub fn as_slice(&self) -> &[Response] {
        &self.items[..usize::from(self.len).min(2)]
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// An iterator over them.
    pub fn iter(&self) -> impl Iterator<Item = Response> + '_ {
        self.as_slice().iter().copied()
    }
}

impl fmt::Debug for Responses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// What the driver does for one message; see [`ServerSession`] for the
/// order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerAction<'a> {
    /// Send these, in order.
    pub responses: Responses,
    /// Attach the XSKMAP of this interface to the `/fd_ack` in `responses`.
    pub attach_map: Option<&'a str>,
    /// Apply these settings to the fd that came with the request, then call
    /// [`ServerSession::busy_poll_applied`] for the answer.
    pub apply_busy_poll: Option<BusyPoll>,
    /// Close the connection after sending.
    pub close: bool,
}

impl<'a> ServerAction<'a> {
    const fn send(r: Response) -> Self {
        ServerAction {
            responses: Responses::one(r),
            attach_map: None,
            apply_busy_poll: None,
            close: false,
        }
    }

    const fn send_and_close(responses: Responses) -> Self {
        ServerAction {
            responses,
            attach_map: None,
            apply_busy_poll: None,
            close: true,
        }
    }

    const fn close_silently() -> Self {
        Self::send_and_close(Responses::NONE)
    }
}

/// Where a [`ServerSession`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServerState {
    /// Waiting for `/connect`.
    New,
    /// The pod is accepted; serving requests.
    Connected,
    /// Waiting for [`ServerSession::busy_poll_applied`].
    ApplyingBusyPoll,
    /// The connection is to be closed.
    Closed,
}

/// The server's side of one connection, deciding each answer with a
/// [`ServerPolicy`] (which pods, which interfaces).
///
/// The driver hands every received message to
/// [`ServerSession::on_message`] (or a parsed one to
/// [`ServerSession::on_request`]) with the number of fds that came with it,
/// and does what the returned [`ServerAction`] says, in this order:
/// 1. `apply_busy_poll`: check that the fd received is an AF_XDP socket, set
///    the options on it, and report with [`ServerSession::busy_poll_applied`],
///    which returns the action that answers;
/// 2. send each of `responses`, one message each; attach the XSKMAP of
///    `attach_map` to the `/fd_ack`;
/// 3. close the connection if `close`.
///
/// The driver closes every fd it received once the action is done (after
/// applying busy poll to it); fds that come with any other request are
/// never used.
///
/// | state | message | answer | then |
/// |---|---|---|---|
/// | new | `/connect,<pod>`, pod allowed | `/host_ok` | connected |
/// | new | `/connect,<pod>`, pod denied | `/host_nak` | close |
/// | new | `/connect,<pod>`, lookup failed | `/error`, `/host_nak` | close |
/// | new | `/connect` with bad or missing arguments | `/host_nak` | close |
/// | new | anything else | nothing (as the reference plugin) | close |
/// | connected | `/version` | `0.1` | |
/// | connected | `/xsk_map_fd,<iface>`, served to the pod | `/fd_ack` + the XSKMAP | |
/// | connected | `/xsk_map_fd,<iface>`, not served, or a bad name | `/fd_nak` | |
/// | connected | `/config_busy_poll,<t>,<b>` with exactly one fd, allowed | (apply) `/config_busy_poll_ack` or `_nak` | |
/// | connected | `/config_busy_poll` without exactly one fd, not allowed, or bad numbers | `/config_busy_poll_nak` | |
/// | connected | `/fin` | `/fin_ack` | close |
/// | connected | `/connect` again | `/nak` (the pod stays the first one) | |
/// | connected | unknown, malformed, wrong number of arguments | `/nak` | |
/// | awaiting the busy-poll result | any message (a driver bug) | nothing | close |
/// | closed | anything | nothing | close |
///
/// Idle timeouts are the driver's: it owns the clock.
///
/// ```
/// use afxdp_core::handshake::{Pods, Response, ServerSession, StaticPolicy};
/// let policy = StaticPolicy { pods: Pods::Only(&["mypod"]), interfaces: &["eth0"] };
/// let mut session = ServerSession::new();
/// let a = session.on_message(&policy, b"/connect,mypod", 0);
/// assert_eq!(a.responses.as_slice(), [Response::HostOk]);
/// let a = session.on_message(&policy, b"/xsk_map_fd,eth0", 0);
/// assert_eq!(a.responses.as_slice(), [Response::FdAck]);
/// assert_eq!(a.attach_map, Some("eth0"));
/// let a = session.on_message(&policy, b"/fin", 0);
/// assert_eq!(a.responses.as_slice(), [Response::FinAck]);
/// assert!(a.close);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerSession {
    state: ServerState,
    pod: [u8; MAX_HOSTNAME_LEN],
    pod_len: u8,
}

impl Default for ServerSession {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerSession {
    /// A session for a connection just accepted.
    pub const fn new() -> Self {
        ServerSession {
            state: ServerState::New,
            pod: [0; MAX_HOSTNAME_LEN],
            pod_len: 0,
        }
    }

    /// Where the session is.
    pub fn state(&self) -> ServerState {
        self.state
    }

    /// The pod accepted on this connection, once it is.
    pub fn pod(&self) -> Option<&str> {
        if self.pod_len == 0 {
            return None;
        }
        let len = usize::from(self.pod_len).min(MAX_HOSTNAME_LEN);
        core::str::from_utf8(&self.pod[..len]).ok()
    }

    /// Whether the connection is to be closed.
    pub fn is_closed(&self) -> bool {
        self.state == ServerState::Closed
    }

    /// Parses `bytes` (one received message, which came with `fds` fds) and
    /// decides what to do, as [`ServerSession::on_request`].
    pub fn on_message<'a, P: ServerPolicy + ?Sized>(
        &mut self,
        policy: &P,
        bytes: &'a [u8],
        fds: usize,
    ) -> ServerAction<'a> {
        self.on_request(policy, Request::parse(bytes), fds)
    }

    /// Decides what to do with a request (or with a message that did not
    /// parse, given as its error: a driver that received a truncated
    /// message passes `HandshakeError::TooLong`) that came with `fds` fds.
    pub fn on_request<'a, P: ServerPolicy + ?Sized>(
        &mut self,
        policy: &P,
        request: Result<Request<'a>, HandshakeError>,
        fds: usize,
    ) -> ServerAction<'a> {
        let action = match self.state {
            ServerState::New => self.first(policy, request),
            ServerState::Connected => self.serve(policy, request, fds),
            ServerState::ApplyingBusyPoll | ServerState::Closed => ServerAction::close_silently(),
        };
        if action.close {
            self.state = ServerState::Closed;
        } else if action.apply_busy_poll.is_some() {
            self.state = ServerState::ApplyingBusyPoll;
        }
        action
    }

    /// Reports whether busy polling was set on the socket received: returns
    /// the action that answers (`/config_busy_poll_ack` or `_nak`). Called
    /// at any other time (a driver bug), it closes the connection.
    pub fn busy_poll_applied(&mut self, ok: bool) -> ServerAction<'static> {
        if self.state != ServerState::ApplyingBusyPoll {
            self.state = ServerState::Closed;
            return ServerAction::close_silently();
        }
        self.state = ServerState::Connected;
        ServerAction::send(if ok {
            Response::BusyPollAck
        } else {
            Response::BusyPollNak
        })
    }

    /// The first message: only `/connect` is answered.
    fn first<'a, P: ServerPolicy + ?Sized>(
        &mut self,
        policy: &P,
        request: Result<Request<'a>, HandshakeError>,
    ) -> ServerAction<'a> {
        let hostname = match request {
            Ok(Request::Connect { hostname }) => hostname,
            Err(e) if e.command() == Some(RequestKind::Connect) => {
                return ServerAction::send_and_close(Responses::one(Response::HostNak))
            }
            _ => return ServerAction::close_silently(),
        };
        match policy.check_pod(hostname) {
            PodCheck::Allowed => {
                let n = hostname.len().min(MAX_HOSTNAME_LEN);
                self.pod[..n].copy_from_slice(&hostname.as_bytes()[..n]);
                // A valid hostname is 1 to 64 bytes.
                self.pod_len = n as u8;
                self.state = ServerState::Connected;
                ServerAction::send(Response::HostOk)
            }
            PodCheck::Denied => ServerAction::send_and_close(Responses::one(Response::HostNak)),
            PodCheck::LookupFailed => {
                ServerAction::send_and_close(Responses::two(Response::Error, Response::HostNak))
            }
        }
    }

    /// A message after `/connect`.
    fn serve<'a, P: ServerPolicy + ?Sized>(
        &self,
        policy: &P,
        request: Result<Request<'a>, HandshakeError>,
        fds: usize,
    ) -> ServerAction<'a> {
        let pod = self.pod().unwrap_or_default();
        match request {
            Ok(Request::Version) => ServerAction::send(Response::Version),
            Ok(Request::XskMapFd { iface }) => {
                if policy.may_serve(pod, iface) {
                    ServerAction {
                        attach_map: Some(iface),
                        ..ServerAction::send(Response::FdAck)
                    }
                } else {
                    ServerAction::send(Response::FdNak)
                }
            }
            Ok(Request::ConfigBusyPoll(config)) => {
                if fds == 1 && policy.may_busy_poll(pod, config) {
                    ServerAction {
                        responses: Responses::NONE,
                        attach_map: None,
                        apply_busy_poll: Some(config),
                        close: false,
                    }
                } else {
                    ServerAction::send(Response::BusyPollNak)
                }
            }
            Ok(Request::Fin) => ServerAction::send_and_close(Responses::one(Response::FinAck)),
            Ok(Request::Connect { .. }) => ServerAction::send(Response::Nak),
            Err(e) if e.is_bad_value() => match e.command() {
                Some(RequestKind::XskMapFd) => ServerAction::send(Response::FdNak),
                Some(RequestKind::ConfigBusyPoll) => ServerAction::send(Response::BusyPollNak),
                _ => ServerAction::send(Response::Nak),
            },
            Err(_) => ServerAction::send(Response::Nak),
        }
    }
}
