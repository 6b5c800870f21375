//! [`HandshakeError`]: why bytes are not a valid handshake message, or why a
//! message could not be written; [`Field`] names the argument at fault.

use core::fmt;

use super::message::RequestKind;
use super::text::Escaped;

/// An argument of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// The pod name of `/connect`.
    Hostname,
    /// The interface name of `/xsk_map_fd`.
    Interface,
    /// The first argument of `/config_busy_poll`: `SO_BUSY_POLL` in µs.
    BusyPollTimeout,
    /// The second argument of `/config_busy_poll`: `SO_BUSY_POLL_BUDGET`.
    BusyPollBudget,
}

impl Field {
    /// The request this argument belongs to.
    pub const fn command(self) -> RequestKind {
        match self {
            Field::Hostname => RequestKind::Connect,
            Field::Interface => RequestKind::XskMapFd,
            Field::BusyPollTimeout | Field::BusyPollBudget => RequestKind::ConfigBusyPoll,
        }
    }

    /// What the argument is, in words (`"interface name"`).
    pub const fn name(self) -> &'static str {
        match self {
            Field::Hostname => "hostname",
            Field::Interface => "interface name",
            Field::BusyPollTimeout => "busy-poll timeout",
            Field::BusyPollBudget => "busy-poll budget",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why bytes are not a valid handshake message, or why one could not be
/// written.
///
/// Offsets and lengths are in bytes of the whole message.
///
/// ```
/// use afxdp_core::handshake::{HandshakeError, Request};
/// let err = Request::parse(b"/fin_ackx").unwrap_err();
/// assert_eq!(err, HandshakeError::UnknownRequest);
/// let err = Request::parse(b"/xsk_map_fd,a/b").unwrap_err();
/// assert_eq!(err.to_string(), "interface name in /xsk_map_fd contains '/'");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The message is empty.
    Empty,
    /// The message is longer than the protocol allows.
    TooLong {
        /// Its length.
        len: usize,
        /// The limit: [`MAX_REQUEST_LEN`](super::MAX_REQUEST_LEN) or
        /// [`MAX_RESPONSE_LEN`](super::MAX_RESPONSE_LEN).
        max: usize,
    },
    /// The message holds a NUL byte.
    Nul {
        /// Where.
        offset: usize,
    },
    /// The message holds a byte outside printable ASCII (0x20 to 0x7e).
    NonPrintable {
        /// Where.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// The command (the text up to the first comma) is not exactly one of
    /// the requests.
    UnknownRequest,
    /// The message is not exactly one of the responses.
    UnknownResponse,
    /// A request lacks an argument.
    MissingArgument {
        /// The first argument missing.
        arg: Field,
    },
    /// A request has more arguments than it takes.
    ExtraArgument {
        /// The request.
        command: RequestKind,
    },
    /// An argument is empty (or only spaces).
    EmptyArgument {
        /// Which.
        arg: Field,
    },
    /// A name is longer than Linux allows.
    ArgumentTooLong {
        /// Which.
        arg: Field,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A name holds a byte it may not (a space, `/`, or `:` in an
    /// interface name).
    BadCharacter {
        /// Which.
        arg: Field,
        /// The byte.
        byte: u8,
    },
    /// An interface name is `.` or `..`.
    ReservedName {
        /// Which.
        arg: Field,
    },
    /// A number is not plain decimal digits.
    NotANumber {
        /// Which.
        arg: Field,
    },
    /// A number is larger than the kernel takes.
    NumberOutOfRange {
        /// Which.
        arg: Field,
        /// The largest value allowed.
        max: u32,
    },
    /// The caller's buffer cannot hold the message.
    BufferTooSmall {
        /// Bytes the message needs.
        needed: usize,
        /// Bytes in the buffer.
        available: usize,
    },
}

impl HandshakeError {
    /// The request whose command word was recognised before its arguments
    /// were found wrong, if that is what happened: a server answers such a
    /// request with its own refusal rather than `/nak`.
    ///
    /// ```
    /// use afxdp_core::handshake::{Request, RequestKind};
    /// let err = Request::parse(b"/connect,").unwrap_err();
    /// assert_eq!(err.command(), Some(RequestKind::Connect));
    /// assert_eq!(Request::parse(b"/hello").unwrap_err().command(), None);
    /// ```
    pub const fn command(&self) -> Option<RequestKind> {
        match *self {
            Self::MissingArgument { arg }
            | Self::EmptyArgument { arg }
            | Self::ArgumentTooLong { arg, .. }
            | Self::BadCharacter { arg, .. }
            | Self::ReservedName { arg }
            | Self::NotANumber { arg }
            | Self::NumberOutOfRange { arg, .. } => Some(arg.command()),
            Self::ExtraArgument { command } => Some(command),
            _ => None,
        }
    }

    /// Whether the command and the number of arguments were right and only
    /// an argument's value was wrong.
    pub const fn is_bad_value(&self) -> bool {
        matches!(
            self,
            Self::EmptyArgument { .. }
                | Self::ArgumentTooLong { .. }
                | Self::BadCharacter { .. }
                | Self::ReservedName { .. }
                | Self::NotANumber { .. }
                | Self::NumberOutOfRange { .. }
        )
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Empty => f.write_str("empty handshake message"),
            Self::TooLong { len, max } => {
                write!(f, "handshake message of {len} bytes: at most {max} allowed")
            }
            Self::Nul { offset } => write!(f, "NUL byte at offset {offset} of a handshake message"),
            Self::NonPrintable { offset, byte } => write!(
                f,
                "non-printable byte 0x{byte:02x} at offset {offset} of a handshake message"
            ),
            Self::UnknownRequest => f.write_str(
                "unknown handshake request: the command must be exactly /connect, /version, \
                 /xsk_map_fd, /config_busy_poll or /fin",
            ),
            Self::UnknownResponse => f.write_str("not one of the handshake responses"),
            Self::MissingArgument { arg } => {
                write!(f, "{} needs a {arg}", arg.command().command())
            }
            Self::ExtraArgument { command } => {
                let n = command.arg_count();
                let s = if n == 1 { "" } else { "s" };
                write!(
                    f,
                    "too many arguments to {}: it takes {n} argument{s}",
                    command.command()
                )
            }
            Self::EmptyArgument { arg } => write!(f, "empty {arg} in {}", arg.command().command()),
            Self::ArgumentTooLong { arg, len, max } => write!(
                f,
                "{arg} of {len} bytes in {}: at most {max} allowed",
                arg.command().command()
            ),
            Self::BadCharacter { arg, byte } => write!(
                f,
                "{arg} in {} contains '{}'",
                arg.command().command(),
                Escaped(&[byte])
            ),
            Self::ReservedName { arg } => write!(
                f,
                "{arg} in {} is \".\" or \"..\", which Linux does not allow",
                arg.command().command()
            ),
            Self::NotANumber { arg } => write!(
                f,
                "{arg} in {} is not a decimal number",
                arg.command().command()
            ),
            Self::NumberOutOfRange { arg, max } => write!(
                f,
                "{arg} in {} is larger than {max}",
                arg.command().command()
            ),
            Self::BufferTooSmall { needed, available } => write!(
                f,
                "buffer too small for the handshake message: need {needed} bytes, have {available}"
            ),
        }
    }
}

impl core::error::Error for HandshakeError {}
