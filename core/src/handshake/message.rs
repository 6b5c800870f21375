//! The messages: [`Request`] (client to server) and [`Response`] (server to
//! client), each with a strict `parse` and an `emit` into a caller's buffer.
//!
//! Wire form: ASCII, no terminator, one message per `SOCK_SEQPACKET`
//! record. A request is a command word, then arguments each after a comma
//! (`/xsk_map_fd,eth0`); a response is one fixed word (`/fd_ack`, `0.1`).
//! Parsing matches the command word exactly (case included) and skips
//! spaces around an argument, as the reference plugin does; `emit` writes
//! the canonical form, without spaces.

use core::fmt;

use super::error::{Field, HandshakeError};
use super::text::{check_hostname, check_ifname, check_text, parse_number, trim_spaces, Writer};

/// Longest request, in bytes.
pub const MAX_REQUEST_LEN: usize = 64;
/// Longest response, in bytes.
pub const MAX_RESPONSE_LEN: usize = 128;
/// The handshake version this crate speaks (the answer to `/version`).
pub const HANDSHAKE_VERSION: &str = "0.1";
/// Largest busy-poll timeout: `SO_BUSY_POLL` takes a non-negative `int`.
pub const MAX_BUSY_POLL_TIMEOUT_US: u32 = i32::MAX as u32;

/// Busy-poll settings for one AF_XDP socket: `SO_PREFER_BUSY_POLL` on,
/// `SO_BUSY_POLL` = `timeout_us`, `SO_BUSY_POLL_BUDGET` = `budget`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BusyPoll {
    /// `SO_BUSY_POLL`, in microseconds (at most
    /// [`MAX_BUSY_POLL_TIMEOUT_US`]).
    pub timeout_us: u32,
    /// `SO_BUSY_POLL_BUDGET`: packets per busy poll.
    pub budget: u16,
}

/// Which request a message is, without its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// `/connect,<hostname>`.
    Connect,
    /// `/version`.
    Version,
    /// `/xsk_map_fd,<iface>`.
    XskMapFd,
    /// `/config_busy_poll,<timeout_us>,<budget>`.
    ConfigBusyPoll,
    /// `/fin`.
    Fin,
}

impl RequestKind {
    /// Every request.
    pub const ALL: [RequestKind; 5] = [
        RequestKind::Connect,
        RequestKind::Version,
        RequestKind::XskMapFd,
        RequestKind::ConfigBusyPoll,
        RequestKind::Fin,
    ];

    /// The command word (`"/xsk_map_fd"`).
    pub const fn command(self) -> &'static str {
        match self {
            RequestKind::Connect => "/connect",
            RequestKind::Version => "/version",
            RequestKind::XskMapFd => "/xsk_map_fd",
            RequestKind::ConfigBusyPoll => "/config_busy_poll",
            RequestKind::Fin => "/fin",
        }
    }

    /// How many arguments it takes.
    pub const fn arg_count(self) -> usize {
        match self {
            RequestKind::Version | RequestKind::Fin => 0,
            RequestKind::Connect | RequestKind::XskMapFd => 1,
            RequestKind::ConfigBusyPoll => 2,
        }
    }

    /// The request whose command word is exactly `word`.
    pub fn from_command(word: &str) -> Option<RequestKind> {
        Self::ALL.into_iter().find(|k| k.command() == word)
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.command())
    }
}

/// A request, client to server. Arguments borrow from the parsed bytes.
///
/// ```
/// use afxdp_core::handshake::{BusyPoll, Request};
/// // What the DPDK PMD sends.
/// assert_eq!(Request::parse(b"/xsk_map_fd,eth0"), Ok(Request::XskMapFd { iface: "eth0" }));
/// // What the reference Go client sends: spaces around arguments are skipped.
/// assert_eq!(
///     Request::parse(b"/config_busy_poll, 20, 64"),
///     Ok(Request::ConfigBusyPoll(BusyPoll { timeout_us: 20, budget: 64 }))
/// );
/// let mut buf = [0u8; afxdp_core::handshake::MAX_REQUEST_LEN];
/// let n = Request::Connect { hostname: "mypod" }.emit(&mut buf).unwrap();
/// assert_eq!(&buf[..n], b"/connect,mypod");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Request<'a> {
    /// `/connect,<hostname>`: the pod introduces itself.
    Connect {
        /// The pod name (its hostname).
        hostname: &'a str,
    },
    /// `/version`: which handshake version the server speaks.
    Version,
    /// `/xsk_map_fd,<iface>`: the XSKMAP of an interface, please.
    XskMapFd {
        /// The interface.
        iface: &'a str,
    },
    /// `/config_busy_poll,<timeout_us>,<budget>`, with the AF_XDP socket
    /// to configure as the message's one fd.
    ConfigBusyPoll(BusyPoll),
    /// `/fin`: the exchange is over.
    Fin,
}

impl<'a> Request<'a> {
    /// Parses one request. Strict: at most [`MAX_REQUEST_LEN`] bytes of
    /// printable ASCII; the command word (up to the first comma) is exactly
    /// one of the five; exactly as many arguments as the command takes;
    /// spaces around an argument are skipped; a hostname is 1 to 64 bytes
    /// without space, `/` or `,`; an interface name is what Linux accepts
    /// (1 to 15 bytes, not `.` or `..`, no space, `/` or `:`); numbers are
    /// plain decimal, the timeout at most [`MAX_BUSY_POLL_TIMEOUT_US`], the
    /// budget at most 65535.
    ///
    /// Unlike the reference plugin, which deletes every space in an
    /// argument, a space *inside* a name or number is an error: no
    /// hostname or interface name has one, so joining the pieces could
    /// only make a lookup match a name the client did not send.
    ///
    /// ```
    /// use afxdp_core::handshake::{HandshakeError, Request};
    /// assert_eq!(Request::parse(b"/fin"), Ok(Request::Fin));
    /// assert_eq!(Request::parse(b"/FIN"), Err(HandshakeError::UnknownRequest));
    /// ```
    pub fn parse(bytes: &'a [u8]) -> Result<Request<'a>, HandshakeError> {
        let text = check_text(bytes, MAX_REQUEST_LEN)?;
        let (word, args) = match text.split_once(',') {
            Some((word, args)) => (word, Some(args)),
            None => (text, None),
        };
        let kind = RequestKind::from_command(word).ok_or(HandshakeError::UnknownRequest)?;
        let extra = HandshakeError::ExtraArgument { command: kind };
        match kind {
            RequestKind::Version | RequestKind::Fin => {
                if args.is_some() {
                    return Err(extra);
                }
                Ok(if kind == RequestKind::Version {
                    Request::Version
                } else {
                    Request::Fin
                })
            }
            RequestKind::Connect | RequestKind::XskMapFd => {
                let field = if kind == RequestKind::Connect {
                    Field::Hostname
                } else {
                    Field::Interface
                };
                let arg = args.ok_or(HandshakeError::MissingArgument { arg: field })?;
                if arg.contains(',') {
                    return Err(extra);
                }
                let name = trim_spaces(arg);
                if kind == RequestKind::Connect {
                    check_hostname(name)?;
                    Ok(Request::Connect { hostname: name })
                } else {
                    check_ifname(name)?;
                    Ok(Request::XskMapFd { iface: name })
                }
            }
            RequestKind::ConfigBusyPoll => {
                let args = args.ok_or(HandshakeError::MissingArgument {
                    arg: Field::BusyPollTimeout,
                })?;
                let (timeout, budget) =
                    args.split_once(',')
                        .ok_or(HandshakeError::MissingArgument {
                            arg: Field::BusyPollBudget,
                        })?;
                if budget.contains(',') {
                    return Err(extra);
                }
                let timeout_us = parse_number(
                    trim_spaces(timeout),
                    Field::BusyPollTimeout,
                    MAX_BUSY_POLL_TIMEOUT_US,
                )?;
                let budget = parse_number(
                    trim_spaces(budget),
                    Field::BusyPollBudget,
                    u32::from(u16::MAX),
                )?;
                Ok(Request::ConfigBusyPoll(BusyPoll {
                    timeout_us,
                    // `parse_number` bounded it by u16::MAX.
                    budget: u16::try_from(budget).unwrap_or(u16::MAX),
                }))
            }
        }
    }

    /// Which request this is.
    pub const fn kind(&self) -> RequestKind {
        match self {
            Request::Connect { .. } => RequestKind::Connect,
            Request::Version => RequestKind::Version,
            Request::XskMapFd { .. } => RequestKind::XskMapFd,
            Request::ConfigBusyPoll(_) => RequestKind::ConfigBusyPoll,
            Request::Fin => RequestKind::Fin,
        }
    }

    /// Writes the request into `buf` in canonical form (no spaces) and
    /// returns its length. Checks the arguments as [`Request::parse`]
    /// does, and the total length against [`MAX_REQUEST_LEN`] (a 56-byte
    /// or longer hostname does not fit); `BufferTooSmall` if `buf` is
    /// shorter than the message.
    ///
    /// ```
    /// use afxdp_core::handshake::{BusyPoll, Request};
    /// let mut buf = [0u8; 64];
    /// let req = Request::ConfigBusyPoll(BusyPoll { timeout_us: 20, budget: 64 });
    /// let n = req.emit(&mut buf).unwrap();
    /// assert_eq!(&buf[..n], b"/config_busy_poll,20,64");
    /// ```
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, HandshakeError> {
        let mut w = Writer::new(buf);
        w.bytes(self.kind().command().as_bytes());
        match *self {
            Request::Connect { hostname } => {
                check_hostname(hostname)?;
                w.bytes(b",");
                w.bytes(hostname.as_bytes());
            }
            Request::XskMapFd { iface } => {
                check_ifname(iface)?;
                w.bytes(b",");
                w.bytes(iface.as_bytes());
            }
            Request::ConfigBusyPoll(bp) => {
                if bp.timeout_us > MAX_BUSY_POLL_TIMEOUT_US {
                    return Err(HandshakeError::NumberOutOfRange {
                        arg: Field::BusyPollTimeout,
                        max: MAX_BUSY_POLL_TIMEOUT_US,
                    });
                }
                w.bytes(b",");
                w.number(bp.timeout_us);
                w.bytes(b",");
                w.number(u32::from(bp.budget));
            }
            Request::Version | Request::Fin => {}
        }
        w.finish(MAX_REQUEST_LEN)
    }
}

impl fmt::Display for Request<'_> {
    /// The canonical wire form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind().command())?;
        match *self {
            Request::Connect { hostname } => write!(f, ",{}", super::Escaped(hostname.as_bytes())),
            Request::XskMapFd { iface } => write!(f, ",{}", super::Escaped(iface.as_bytes())),
            Request::ConfigBusyPoll(bp) => write!(f, ",{},{}", bp.timeout_us, bp.budget),
            Request::Version | Request::Fin => Ok(()),
        }
    }
}

/// A response, server to client: one fixed word each.
///
/// ```
/// use afxdp_core::handshake::{HandshakeError, Response};
/// assert_eq!(Response::parse(b"/fd_ack"), Ok(Response::FdAck));
/// assert_eq!(Response::parse(b"0.1"), Ok(Response::Version));
/// assert_eq!(Response::parse(b"/fin_ackx"), Err(HandshakeError::UnknownResponse));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Response {
    /// `/host_ok`: the pod is known, go on.
    HostOk,
    /// `/host_nak`: the pod is not known here; the server closes.
    HostNak,
    /// `0.1`: the handshake version ([`HANDSHAKE_VERSION`]).
    Version,
    /// `/fd_ack`, with the XSKMAP as the message's one fd.
    FdAck,
    /// `/fd_nak`: that interface is not served to this pod.
    FdNak,
    /// `/config_busy_poll_ack`: busy polling is set on the socket sent.
    BusyPollAck,
    /// `/config_busy_poll_nak`: it is not.
    BusyPollNak,
    /// `/fin_ack`: the server closes.
    FinAck,
    /// `/nak`: the server did not understand the request.
    Nak,
    /// `/error`: the server failed (its pod lookup); `/host_nak` follows.
    Error,
}

impl Response {
    /// Every response.
    pub const ALL: [Response; 10] = [
        Response::HostOk,
        Response::HostNak,
        Response::Version,
        Response::FdAck,
        Response::FdNak,
        Response::BusyPollAck,
        Response::BusyPollNak,
        Response::FinAck,
        Response::Nak,
        Response::Error,
    ];

    /// The wire form (`"/fd_ack"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Response::HostOk => "/host_ok",
            Response::HostNak => "/host_nak",
            Response::Version => HANDSHAKE_VERSION,
            Response::FdAck => "/fd_ack",
            Response::FdNak => "/fd_nak",
            Response::BusyPollAck => "/config_busy_poll_ack",
            Response::BusyPollNak => "/config_busy_poll_nak",
            Response::FinAck => "/fin_ack",
            Response::Nak => "/nak",
            Response::Error => "/error",
        }
    }

    /// Parses one response: at most [`MAX_RESPONSE_LEN`] bytes of printable
    /// ASCII, exactly one of the words (no trailing bytes, case included).
    pub fn parse(bytes: &[u8]) -> Result<Response, HandshakeError> {
        let text = check_text(bytes, MAX_RESPONSE_LEN)?;
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or(HandshakeError::UnknownResponse)
    }

    /// Writes the response into `buf` and returns its length.
    ///
    /// ```
    /// use afxdp_core::handshake::Response;
    /// let mut buf = [0u8; 16];
    /// let n = Response::FinAck.emit(&mut buf).unwrap();
    /// assert_eq!(&buf[..n], b"/fin_ack");
    /// ```
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, HandshakeError> {
        let mut w = Writer::new(buf);
        w.bytes(self.as_str().as_bytes());
        w.finish(MAX_RESPONSE_LEN)
    }

    /// Whether the message carries one fd (only `/fd_ack` does).
    pub const fn carries_fd(self) -> bool {
        matches!(self, Response::FdAck)
    }
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
