//! [`Error`]: what failed, on what, with which errno, and a hint.
//!
//! `Display` gives the one line the CLI contract asks for after its
//! `sockctl: ` prefix: `<what failed>: <iface or path>: <ERRNO_NAME> (<text>)`.
//! The hint, when there is one, is separate ([`Error::hint`]) so the CLI can
//! print it on its own `hint:` line. [`Error::kind`] is what a program
//! matches on: an [`ErrorKind`] derived from the errno, or set where the
//! failure is not an errno (a refused handshake, a bad reply).
//!
//! Hints speak of the system (capabilities, files, interfaces), never of a
//! command line: the `sockctl` tool adds its own.

use std::borrow::Cow;
use std::fmt;

use afxdp_core::Errno;

/// What kind of failure an [`Error`] is: what a program matches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Something named does not exist: an interface, a path, a pinned
    /// object, a queue (`ENOENT`, `ENODEV`, `ENXIO`).
    NotFound,
    /// Not allowed: missing capabilities or file permissions (`EPERM`,
    /// `EACCES`).
    PermissionDenied,
    /// In use by someone else: a queue with a socket bound, an interface
    /// with a program attached (`EBUSY`, `EEXIST`, `EADDRINUSE`).
    Busy,
    /// An argument or configuration the kernel or this library refuses
    /// (`EINVAL`, `E2BIG`, `ERANGE`, `ENAMETOOLONG`, bad sizes).
    InvalidArgument,
    /// The kernel or driver lacks the feature (`EOPNOTSUPP`, `ENOTSUPP`,
    /// `EAFNOSUPPORT`, `ENOSYS`).
    Unsupported,
    /// Out of memory, locked memory or buffers (`ENOMEM`, `ENOBUFS`,
    /// `ENOSPC`, `EMFILE`).
    ResourceLimit,
    /// The interface went down or away while in use (`ENETDOWN`).
    NetworkDown,
    /// A peer said no: a device plugin refused the pod or the interface.
    Refused,
    /// A peer broke the protocol: a malformed or unexpected message.
    Protocol,
    /// A peer or the kernel did not answer in time (`ETIMEDOUT`, `EAGAIN`
    /// on a socket with a timeout).
    TimedOut,
    /// The connection to a peer was lost (`ECONNREFUSED`, `ECONNRESET`,
    /// `EPIPE`).
    Disconnected,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// The kind an errno stands for.
    pub fn from_errno(e: Errno) -> ErrorKind {
        match e {
            Errno::ENOENT | Errno::ENODEV | Errno::ENXIO | Errno::ESRCH => ErrorKind::NotFound,
            Errno::EPERM | Errno::EACCES => ErrorKind::PermissionDenied,
            Errno::EBUSY | Errno::EEXIST | Errno::EADDRINUSE => ErrorKind::Busy,
            Errno::EINVAL
            | Errno::E2BIG
            | Errno::ERANGE
            | Errno::ENAMETOOLONG
            | Errno::EBADF
            | Errno::ENOTSOCK
            | Errno::EFAULT => ErrorKind::InvalidArgument,
            Errno::EOPNOTSUPP
            | Errno::ENOTSUPP
            | Errno::EAFNOSUPPORT
            | Errno::EPROTONOSUPPORT
            | Errno::ENOSYS => ErrorKind::Unsupported,
            Errno::ENOMEM | Errno::ENOBUFS | Errno::ENOSPC | Errno::EMFILE | Errno::ENFILE => {
                ErrorKind::ResourceLimit
            }
            Errno::ENETDOWN => ErrorKind::NetworkDown,
            Errno::ETIMEDOUT | Errno::EAGAIN => ErrorKind::TimedOut,
            Errno::ECONNREFUSED | Errno::ECONNRESET | Errno::EPIPE | Errno::ENOTCONN => {
                ErrorKind::Disconnected
            }
            _ => ErrorKind::Other,
        }
    }

    /// A short lowercase name (`"not found"`, `"busy"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not found",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::Busy => "busy",
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::ResourceLimit => "resource limit",
            ErrorKind::NetworkDown => "network down",
            ErrorKind::Refused => "refused",
            ErrorKind::Protocol => "protocol error",
            ErrorKind::TimedOut => "timed out",
            ErrorKind::Disconnected => "disconnected",
            ErrorKind::Other => "other",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An operational error of this library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    op: Cow<'static, str>,
    subject: Option<String>,
    errno: Option<Errno>,
    detail: Option<String>,
    hint: Option<String>,
}

/// The result type of this library.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A failed system call: `op` names the operation (`"BPF_OBJ_GET"`,
    /// `"attach XDP program"`), `subject` the interface or path.
    ///
    /// ```
    /// use af_xdp::Error;
    /// use afxdp_core::Errno;
    /// let e = Error::sys("BPF_OBJ_GET", "/sys/fs/bpf/x", Errno::ENOENT);
    /// assert_eq!(e.to_string(), "BPF_OBJ_GET: /sys/fs/bpf/x: ENOENT (No such file or directory)");
    /// assert_eq!(e.kind(), af_xdp::ErrorKind::NotFound);
    /// ```
    pub fn sys(op: impl Into<Cow<'static, str>>, subject: impl fmt::Display, errno: Errno) -> Self {
        Error {
            kind: ErrorKind::from_errno(errno),
            op: op.into(),
            subject: Some(subject.to_string()).filter(|s| !s.is_empty()),
            errno: Some(errno),
            detail: None,
            hint: None,
        }
    }

    /// A failure that is not an errno: `kind` says what sort, `detail` what
    /// was wrong.
    ///
    /// ```
    /// use af_xdp::{Error, ErrorKind};
    /// let e = Error::new(ErrorKind::Refused, "get XSKMAP", "eth0", "the device plugin answered /fd_nak");
    /// assert_eq!(e.to_string(), "get XSKMAP: eth0: the device plugin answered /fd_nak");
    /// assert_eq!(e.errno(), None);
    /// ```
    pub fn new(
        kind: ErrorKind,
        op: impl Into<Cow<'static, str>>,
        subject: impl fmt::Display,
        detail: impl Into<String>,
    ) -> Self {
        Error {
            kind,
            op: op.into(),
            subject: Some(subject.to_string()).filter(|s| !s.is_empty()),
            errno: None,
            detail: Some(detail.into()),
            hint: None,
        }
    }

    /// An invalid argument or configuration (not an errno): `detail` says
    /// what was wrong.
    pub fn invalid(
        op: impl Into<Cow<'static, str>>,
        subject: impl fmt::Display,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(ErrorKind::InvalidArgument, op, subject, detail)
    }

    /// A failed `std` I/O operation, with its errno when it has one.
    pub fn from_io(
        op: impl Into<Cow<'static, str>>,
        subject: impl fmt::Display,
        e: &std::io::Error,
    ) -> Self {
        match e.raw_os_error() {
            Some(raw) => Self::sys(op, subject, Errno::from_raw(raw)),
            None => Self::new(ErrorKind::Other, op, subject, e.to_string()),
        }
    }

    /// Replaces the kind (when the errno alone says less than the caller
    /// knows).
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// Says where the failure happened when the operation alone cannot: the
    /// subject becomes `place`, with the old subject after it in
    /// parentheses (`XDP_UMEM_REG: eth0 queue 2 (8388608 bytes): ENOBUFS`).
    /// A subject that already starts with `place` (as a word) is kept as it
    /// is.
    ///
    /// ```
    /// use af_xdp::{Error, ErrorKind};
    /// let e = Error::new(ErrorKind::Other, "mmap UMEM", "4096 bytes", "no room")
    ///     .at("eth0 queue 2");
    /// assert_eq!(e.to_string(), "mmap UMEM: eth0 queue 2 (4096 bytes): no room");
    /// let named = Error::new(ErrorKind::Other, "bind", "eth0 queue 2", "busy").at("eth0 queue 2");
    /// assert_eq!(named.subject(), Some("eth0 queue 2"));
    /// let other = Error::new(ErrorKind::Other, "bind", "eth10 queue 2", "busy").at("eth1");
    /// assert_eq!(other.subject(), Some("eth1 (eth10 queue 2)"));
    /// ```
    pub fn at(mut self, place: impl fmt::Display) -> Self {
        let place = place.to_string();
        self.subject = match self.subject.take() {
            Some(old) if old == place || old.starts_with(&format!("{place} ")) => Some(old),
            Some(old) => Some(format!("{place} ({old})")),
            None => Some(place),
        };
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Adds a hint for the user.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds detail after the errno (for example the kernel's extended-ack
    /// message).
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The operation that failed.
    pub fn op(&self) -> &str {
        &self.op
    }

    /// The interface or path it failed on.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// The kernel's errno, if the failure was a system call.
    pub fn errno(&self) -> Option<Errno> {
        self.errno
    }

    /// Detail beyond the errno (multi-line for a verifier log).
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// What the user might do about it.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.op)?;
        if let Some(s) = &self.subject {
            write!(f, ": {s}")?;
        }
        if let Some(e) = self.errno {
            write!(f, ": {e}")?;
        }
        if let Some(d) = &self.detail {
            // Only the first line belongs on the error line; a multi-line
            // detail (a verifier log) is for `detail()` readers.
            let first = d.lines().next().unwrap_or("");
            if !first.is_empty() {
                write!(f, ": {first}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// The usual hint for an errno from an operation that needs privileges.
pub(crate) fn privilege_hint(errno: Errno, what: &str) -> Option<String> {
    match errno {
        Errno::EPERM | Errno::EACCES => Some(format!(
            "{what} needs CAP_BPF and CAP_NET_ADMIN (or root); an unprivileged client gets the XSKMAP from a device-plugin side instead (a pinned map or the handshake)"
        )),
        _ => None,
    }
}

impl From<Error> for std::io::Error {
    /// An `io::Error` with the errno (when there is one) and this error as
    /// its message.
    fn from(e: Error) -> Self {
        match e.errno {
            Some(errno) => {
                std::io::Error::new(std::io::Error::from_raw_os_error(errno.raw()).kind(), e)
            }
            None => std::io::Error::other(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_errno_and_can_be_overridden() {
        let e = Error::sys("bind AF_XDP socket", "eth0 queue 0", Errno::EBUSY);
        assert_eq!(e.kind(), ErrorKind::Busy);
        assert_eq!(e.errno(), Some(Errno::EBUSY));
        assert_eq!(
            Error::sys("x", "y", Errno::EACCES).kind(),
            ErrorKind::PermissionDenied
        );
        assert_eq!(
            Error::sys("x", "y", Errno::ENODEV).kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            Error::sys("x", "y", Errno::ENOTSUPP).kind(),
            ErrorKind::Unsupported
        );
        let refused = Error::sys("x", "y", Errno::EPERM).with_kind(ErrorKind::Refused);
        assert_eq!(refused.kind(), ErrorKind::Refused);
        assert_eq!(refused.errno(), Some(Errno::EPERM), "the errno is kept");
        assert_eq!(
            Error::invalid("x", "y", "z").kind(),
            ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn io_errors_keep_the_errno_and_the_message() {
        let io: std::io::Error = Error::sys("BPF_OBJ_GET", "/p", Errno::ENOENT).into();
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
        assert!(io.to_string().contains("BPF_OBJ_GET: /p: ENOENT"));
    }
}
