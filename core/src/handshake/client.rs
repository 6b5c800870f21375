//! [`ClientMachine`]: the client's side of one connection.

use core::fmt;

use super::error::HandshakeError;
use super::message::{BusyPoll, Request, RequestKind, Response};
use super::text::{check_hostname, check_ifname, Received};

/// A step of the client's exchange, named by its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientStep {
    /// `/connect` -> `/host_ok`.
    Connect,
    /// `/version` -> `0.1`.
    Version,
    /// `/xsk_map_fd` -> `/fd_ack` with the XSKMAP.
    MapFd,
    /// `/config_busy_poll` with a socket -> `/config_busy_poll_ack`.
    BusyPoll,
    /// `/fin` -> `/fin_ack`.
    Fin,
}

impl ClientStep {
    /// The request this step sends.
    pub const fn request(self) -> RequestKind {
        match self {
            ClientStep::Connect => RequestKind::Connect,
            ClientStep::Version => RequestKind::Version,
            ClientStep::MapFd => RequestKind::XskMapFd,
            ClientStep::BusyPoll => RequestKind::ConfigBusyPoll,
            ClientStep::Fin => RequestKind::Fin,
        }
    }

    /// The answer that lets the exchange go on.
    pub const fn success(self) -> Response {
        match self {
            ClientStep::Connect => Response::HostOk,
            ClientStep::Version => Response::Version,
            ClientStep::MapFd => Response::FdAck,
            ClientStep::BusyPoll => Response::BusyPollAck,
            ClientStep::Fin => Response::FinAck,
        }
    }

    /// The step's own refusal, if it has one.
    pub const fn refusal(self) -> Option<Response> {
        match self {
            ClientStep::Connect => Some(Response::HostNak),
            ClientStep::MapFd => Some(Response::FdNak),
            ClientStep::BusyPoll => Some(Response::BusyPollNak),
            ClientStep::Version | ClientStep::Fin => None,
        }
    }

    /// Fds the successful answer carries: 1 for `/fd_ack`, else 0.
    pub const fn fds_on_success(self) -> usize {
        if self.success().carries_fd() {
            1
        } else {
            0
        }
    }
}

impl fmt::Display for ClientStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.request().command())
    }
}

/// Why the client's exchange failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// The server said no: the step's own refusal (`/host_nak`, `/fd_nak`,
    /// `/config_busy_poll_nak`), `/nak` or `/error`.
    Refused {
        /// The step refused.
        step: ClientStep,
        /// The refusal.
        response: Response,
    },
    /// The answer is not one this step can get.
    Unexpected {
        /// The step.
        step: ClientStep,
        /// What came.
        received: Received,
        /// Why it is not a response at all, if it is not.
        why: Option<HandshakeError>,
    },
    /// The answer to `/version` is not a response, so presumably another
    /// version.
    VersionMismatch {
        /// What came.
        received: Received,
    },
    /// An answer came with the wrong number of fds: `/fd_ack` without
    /// exactly one, or another answer with any. (The driver closes them.)
    FdCount {
        /// The step.
        step: ClientStep,
        /// Fds expected.
        expected: usize,
        /// Fds received.
        received: usize,
    },
    /// The driver called out of turn: a request while an answer is awaited
    /// (`awaiting_response`), or an answer when a request is due.
    OutOfTurn {
        /// Whether an answer was awaited.
        awaiting_response: bool,
    },
    /// The exchange is over (finished or failed): nothing more to do.
    Finished,
    /// The request could not be written (the buffer is too small); the
    /// machine is unchanged, retry with a larger buffer.
    Encode(HandshakeError),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Refused { step, response } => {
                let why = match response {
                    Response::HostNak => "the pod name is not accepted here",
                    Response::FdNak => "the interface is not served to this pod",
                    Response::BusyPollNak => "busy polling could not be set on the socket",
                    Response::Nak => "the server did not understand the request",
                    Response::Error => "the server failed to check the request",
                    _ => "refused",
                };
                write!(f, "handshake {step} refused with {response}: {why}")
            }
            Self::Unexpected {
                step,
                received,
                why,
            } => {
                write!(
                    f,
                    "handshake {step}: expected {}, received {received}",
                    step.success()
                )?;
                match why {
                    Some(e) => write!(f, " ({e})"),
                    None => Ok(()),
                }
            }
            Self::VersionMismatch { received } => write!(
                f,
                "handshake /version: the server speaks version {received}, this client {}",
                super::HANDSHAKE_VERSION
            ),
            Self::FdCount {
                step,
                expected,
                received,
            } => write!(
                f,
                "handshake {step}: the answer must carry {expected} fd(s), it carried {received}"
            ),
            Self::OutOfTurn {
                awaiting_response: true,
            } => f.write_str("handshake driven out of turn: an answer is awaited"),
            Self::OutOfTurn {
                awaiting_response: false,
            } => f.write_str("handshake driven out of turn: a request must be sent first"),
            Self::Finished => f.write_str("the handshake exchange is over"),
            Self::Encode(e) => write!(f, "handshake request not written: {e}"),
        }
    }
}

impl core::error::Error for ClientError {}

/// What one client connection asks for; see [`ClientMachine`] for the
/// combinations.
///
/// ```
/// use afxdp_core::handshake::{BusyPoll, ClientConfig};
/// let all = ClientConfig::new("mypod").map_fd("eth0").busy_poll(BusyPoll { timeout_us: 20, budget: 64 }, 2);
/// assert_eq!(all.busy_poll_sockets(), 2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientConfig<'a> {
    hostname: &'a str,
    map_fd: Option<&'a str>,
    busy_poll: Option<BusyPoll>,
    busy_poll_sockets: u32,
    pipelined: bool,
}

impl<'a> ClientConfig<'a> {
    /// Connect as pod `hostname`, ask for nothing (add steps with the other
    /// methods); checked by [`ClientMachine::new`].
    pub const fn new(hostname: &'a str) -> Self {
        ClientConfig {
            hostname,
            map_fd: None,
            busy_poll: None,
            busy_poll_sockets: 0,
            pipelined: false,
        }
    }

    /// Send requests ahead of the answers: [`ClientMachine::next_request`]
    /// may be called again before the answer to the last request came, and
    /// the answers are judged in the order the requests went out.
    ///
    /// A server that reads one request, answers it and reads the next (this
    /// project's, the reference device plugin) gives a pipelined client the
    /// same answers as a lockstep one, in one round trip instead of one per
    /// request. When a step is refused, the server closes and the requests
    /// sent after it are never answered; the first refusal is what the
    /// client reports. (A server that closes with requests unread resets
    /// the connection, and the reset reaches a Unix socket reader before
    /// the answers queued ahead of it: the driver reads on past it.)
    pub const fn pipelined(mut self) -> Self {
        self.pipelined = true;
        self
    }

    /// Whether requests go out ahead of answers ([`Self::pipelined`]).
    pub const fn is_pipelined(&self) -> bool {
        self.pipelined
    }

    /// Also ask for the XSKMAP of `iface`.
    pub const fn map_fd(mut self, iface: &'a str) -> Self {
        self.map_fd = Some(iface);
        self
    }

    /// Also ask for busy polling with `config` on `sockets` AF_XDP sockets,
    /// one `/config_busy_poll` each (0 removes the step).
    pub const fn busy_poll(mut self, config: BusyPoll, sockets: u32) -> Self {
        if sockets == 0 {
            self.busy_poll = None;
        } else {
            self.busy_poll = Some(config);
        }
        self.busy_poll_sockets = sockets;
        self
    }

    /// The pod name.
    pub const fn hostname(&self) -> &'a str {
        self.hostname
    }

    /// The interface whose XSKMAP is asked for.
    pub const fn iface(&self) -> Option<&'a str> {
        self.map_fd
    }

    /// The busy-poll settings asked for.
    pub const fn busy_poll_config(&self) -> Option<BusyPoll> {
        self.busy_poll
    }

    /// On how many sockets.
    pub const fn busy_poll_sockets(&self) -> u32 {
        self.busy_poll_sockets
    }
}

/// A request to send, written by [`ClientMachine::next_request`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// Bytes written at the start of the buffer.
    pub len: usize,
    /// The step.
    pub step: ClientStep,
    /// Send the AF_XDP socket with this index (0-based, in the order the
    /// driver lists its sockets) as the message's one `SCM_RIGHTS` fd;
    /// `None`: send no fd.
    pub send_socket: Option<u32>,
    /// Fds the successful answer carries (1 after `/xsk_map_fd`): receive
    /// with room for at least this many.
    pub expect_fds: usize,
}

/// What an accepted answer gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// `/host_ok`: the server knows the pod.
    HostAccepted,
    /// `0.1`: the server speaks our version.
    VersionMatched,
    /// `/fd_ack`: the one fd that came with it is the XSKMAP; keep it.
    MapReceived,
    /// `/config_busy_poll_ack` for the socket with this index.
    BusyPollSet {
        /// Index of the socket, as in [`Outgoing::send_socket`].
        socket: u32,
    },
    /// `/fin_ack`: the exchange is complete; close the connection.
    Finished,
}

/// The client's side of one connection, as a plan of steps:
/// `Connect -> Version -> [MapFd] -> [BusyPoll x n] -> Fin -> Done`.
///
/// The driver alternates two calls: [`ClientMachine::next_request`] writes
/// the next request and says which fd to attach to it and whether the
/// answer must carry one; [`ClientMachine::on_response`] judges the answer
/// (the bytes and how many fds came with them) and says what was gained.
/// Every answer is matched exactly; the first wrong one ends the exchange
/// with a [`ClientError`], and the machine refuses to go on. With
/// [`ClientConfig::pipelined`] the driver may send several requests before
/// reading their answers (see the second example).
///
/// # One connection, or one per socket
///
/// Which steps a connection runs is the driver's choice, through
/// [`ClientConfig`]:
/// - everything on one connection (the reference plugin serves exactly one
///   connection per socket file, so against it this is the only way):
///   `ClientConfig::new(host).map_fd(iface).busy_poll(bp, n)`, with the `n`
///   AF_XDP sockets created before the exchange (creating a socket needs no
///   map), each sent with its own `/config_busy_poll`;
/// - the map only (what the DPDK PMD does, once per queue; here once per
///   interface): `ClientConfig::new(host).map_fd(iface)`;
/// - busy poll for one socket on a short connection of its own (against a
///   server that serves many connections, as this project's does), opened
///   when the socket is created: `ClientConfig::new(host).busy_poll(bp, 1)`.
///
/// Each connection still starts with `/connect` and `/version` (the server
/// checks the pod per connection) and ends with `/fin`.
///
/// ```
/// use afxdp_core::handshake::{ClientConfig, ClientEvent, ClientMachine, ClientStep};
/// let mut client = ClientMachine::new(ClientConfig::new("mypod").map_fd("eth0")).unwrap();
/// let mut buf = [0u8; 64];
/// // The server's answers, with the number of fds each carries.
/// let answers: [(&[u8], usize); 4] = [(b"/host_ok", 0), (b"0.1", 0), (b"/fd_ack", 1), (b"/fin_ack", 0)];
/// let mut sent = Vec::new();
/// for (answer, fds) in answers {
///    let out = client.next_request(&mut buf).unwrap().unwrap();
///    sent.push(buf[..out.len].to_vec());
///    let event = client.on_response(answer, fds).unwrap();
///    if out.step == ClientStep::MapFd {
///        assert_eq!(event, ClientEvent::MapReceived); // keep the fd
///    }
/// }
/// assert_eq!(sent, [&b"/connect,mypod"[..], b"/version", b"/xsk_map_fd,eth0", b"/fin"]);
/// assert!(client.is_done());
/// assert_eq!(client.next_request(&mut buf), Ok(None));
/// ```
///
/// Pipelined: every request first, then every answer, in order.
///
/// ```
/// use afxdp_core::handshake::{ClientConfig, ClientEvent, ClientMachine};
/// let mut client = ClientMachine::new(ClientConfig::new("mypod").map_fd("eth0").pipelined()).unwrap();
/// let mut buf = [0u8; 64];
/// let mut sent = 0;
/// while let Some(_out) = client.next_request(&mut buf).unwrap() {
///     sent += 1; // send buf[.._out.len]
/// }
/// assert_eq!(sent, 4);
/// assert_eq!(client.on_response(b"/host_ok", 0), Ok(ClientEvent::HostAccepted));
/// assert_eq!(client.on_response(b"0.1", 0), Ok(ClientEvent::VersionMatched));
/// assert_eq!(client.on_response(b"/fd_ack", 1), Ok(ClientEvent::MapReceived));
/// assert_eq!(client.on_response(b"/fin_ack", 0), Ok(ClientEvent::Finished));
/// assert!(client.is_done());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientMachine<'a> {
    config: ClientConfig<'a>,
    /// Steps of the plan whose request has been written (u64: a plan has up
    /// to `3 + u32::MAX + 1` steps, and no count may wrap).
    sent: u64,
    /// Steps of the plan whose answer has been accepted.
    answered: u64,
    /// An error ended the exchange.
    failed: bool,
}

impl<'a> ClientMachine<'a> {
    /// A machine for `config`, after checking it: the hostname must be a
    /// valid pod name whose `/connect` fits in 64 bytes (at most 55 bytes),
    /// the interface a valid Linux name, the busy-poll timeout at most
    /// [`MAX_BUSY_POLL_TIMEOUT_US`](super::MAX_BUSY_POLL_TIMEOUT_US).
    ///
    /// ```
    /// use afxdp_core::handshake::{ClientConfig, ClientMachine, HandshakeError, Field};
    /// let err = ClientMachine::new(ClientConfig::new("mypod").map_fd("a-very-long-ifname")).unwrap_err();
    /// assert_eq!(err, HandshakeError::ArgumentTooLong { arg: Field::Interface, len: 18, max: 15 });
    /// ```
    pub fn new(config: ClientConfig<'a>) -> Result<Self, HandshakeError> {
        check_hostname(config.hostname)?;
        let mut scratch = [0u8; super::MAX_REQUEST_LEN];
        Request::Connect {
            hostname: config.hostname,
        }
        .emit(&mut scratch)?;
        if let Some(iface) = config.map_fd {
            check_ifname(iface)?;
        }
        if let Some(bp) = config.busy_poll {
            Request::ConfigBusyPoll(bp).emit(&mut scratch)?;
        }
        Ok(ClientMachine {
            config,
            sent: 0,
            answered: 0,
            failed: false,
        })
    }

    /// Where the busy-poll steps start in the plan:
    /// `Connect, Version, [MapFd], BusyPoll x n, Fin`.
    const fn busy_start(&self) -> u64 {
        if self.config.map_fd.is_some() {
            3
        } else {
            2
        }
    }

    /// Number of steps in the plan.
    const fn plan_len(&self) -> u64 {
        self.busy_start() + self.config.busy_poll_sockets as u64 + 1
    }

    /// Step `k` of the plan.
    fn step_at(&self, k: u64) -> Option<ClientStep> {
        let busy = self.busy_start();
        Some(match k {
            0 => ClientStep::Connect,
            1 => ClientStep::Version,
            2 if self.config.map_fd.is_some() => ClientStep::MapFd,
            k if k
                .checked_sub(busy)
                .is_some_and(|i| i < u64::from(self.config.busy_poll_sockets)) =>
            {
                ClientStep::BusyPoll
            }
            k if k < self.plan_len() => ClientStep::Fin,
            _ => return None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig<'a> {
        &self.config
    }

    /// The step under way (its request due or its answer awaited); `None`
    /// once the exchange is over.
    ///
    /// Pipelined, this is the oldest step whose answer is awaited (or, when
    /// every request sent has its answer, the next to send).
    pub fn step(&self) -> Option<ClientStep> {
        if self.failed {
            return None;
        }
        self.step_at(self.answered)
    }

    /// Whether `/fin_ack` has been received.
    pub fn is_done(&self) -> bool {
        !self.failed && self.answered == self.plan_len()
    }

    /// Whether an error ended the exchange.
    pub fn has_failed(&self) -> bool {
        self.failed
    }

    /// Requests sent whose answers have not been judged yet.
    pub fn awaiting(&self) -> u32 {
        // At most the plan's length, which the driver bounds anyway.
        u32::try_from(self.sent - self.answered).unwrap_or(u32::MAX)
    }

    /// Sockets whose busy polling the server acknowledged.
    pub fn busy_polls_done(&self) -> u32 {
        let done = self.answered.saturating_sub(self.busy_start());
        // At most `busy_poll_sockets`, so it fits.
        done.min(u64::from(self.config.busy_poll_sockets)) as u32
    }

    /// Writes the next request into `buf` (64 bytes always suffice) and
    /// describes it; `Ok(None)` once `/fin_ack` has come, and, pipelined,
    /// once every request of the plan has been written.
    pub fn next_request(&mut self, buf: &mut [u8]) -> Result<Option<Outgoing>, ClientError> {
        if self.failed {
            return Err(ClientError::Finished);
        }
        if self.sent > self.answered && !self.config.pipelined {
            return Err(ClientError::OutOfTurn {
                awaiting_response: true,
            });
        }
        let Some(step) = self.step_at(self.sent) else {
            return Ok(None);
        };
        let mut send_socket = None;
        let request = match step {
            ClientStep::Connect => Request::Connect {
                hostname: self.config.hostname,
            },
            ClientStep::Version => Request::Version,
            ClientStep::MapFd => Request::XskMapFd {
                // The plan only has MapFd when an interface is set.
                iface: self.config.map_fd.unwrap_or_default(),
            },
            ClientStep::BusyPoll => {
                // Below `busy_poll_sockets` (see `step_at`), so it fits.
                send_socket = Some((self.sent - self.busy_start()) as u32);
                Request::ConfigBusyPoll(self.config.busy_poll.unwrap_or(BusyPoll {
                    timeout_us: 0,
                    budget: 0,
                }))
            }
            ClientStep::Fin => Request::Fin,
        };
        let len = request.emit(buf).map_err(ClientError::Encode)?;
        self.sent += 1;
        Ok(Some(Outgoing {
            len,
            step,
            send_socket,
            expect_fds: step.fds_on_success(),
        }))
    }

    /// Judges the answer `bytes` that came with `fds` fds (the driver
    /// counts every fd received, also those it had no room for, and closes
    /// all but the XSKMAP it is told to keep). Pipelined, the answer is to
    /// the oldest request not answered yet.
    pub fn on_response(&mut self, bytes: &[u8], fds: usize) -> Result<ClientEvent, ClientError> {
        if self.failed || self.is_done() {
            return Err(ClientError::Finished);
        }
        if self.sent == self.answered {
            return Err(ClientError::OutOfTurn {
                awaiting_response: false,
            });
        }
        let Some(step) = self.step_at(self.answered) else {
            return Err(ClientError::Finished);
        };
        match self.judge(step, bytes, fds) {
            Ok(event) => {
                self.answered += 1;
                Ok(event)
            }
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }

    fn judge(
        &self,
        step: ClientStep,
        bytes: &[u8],
        fds: usize,
    ) -> Result<ClientEvent, ClientError> {
        let response = match Response::parse(bytes) {
            Ok(r) => r,
            Err(HandshakeError::UnknownResponse) if step == ClientStep::Version => {
                return Err(ClientError::VersionMismatch {
                    received: Received::new(bytes),
                })
            }
            Err(e) => {
                return Err(ClientError::Unexpected {
                    step,
                    received: Received::new(bytes),
                    why: Some(e),
                })
            }
        };
        if response == step.success() {
            let expected = step.fds_on_success();
            if fds != expected {
                return Err(ClientError::FdCount {
                    step,
                    expected,
                    received: fds,
                });
            }
            return Ok(match step {
                ClientStep::Connect => ClientEvent::HostAccepted,
                ClientStep::Version => ClientEvent::VersionMatched,
                ClientStep::MapFd => ClientEvent::MapReceived,
                ClientStep::BusyPoll => ClientEvent::BusyPollSet {
                    // Below `busy_poll_sockets` (see `step_at`), so it fits.
                    socket: (self.answered - self.busy_start()) as u32,
                },
                ClientStep::Fin => ClientEvent::Finished,
            });
        }
        if Some(response) == step.refusal() || matches!(response, Response::Nak | Response::Error) {
            return Err(ClientError::Refused { step, response });
        }
        Err(ClientError::Unexpected {
            step,
            received: Received::new(bytes),
            why: None,
        })
    }
}
