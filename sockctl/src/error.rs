//! [`Error`]: what failed, on what, with which errno, and a hint.
//!
//! `Display` gives the one line the CLI contract asks for after its
//! `sockctl: ` prefix: `<what failed>: <iface or path>: <ERRNO_NAME> (<text>)`.
//! The hint, when there is one, is separate ([`Error::hint`]) so the CLI can
//! print it on its own `hint:` line.

use std::borrow::Cow;
use std::fmt;

use afxdp_core::Errno;

/// An operational error of this library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
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
    /// use sockctl::Error;
    /// use afxdp_core::Errno;
    /// let e = Error::sys("BPF_OBJ_GET", "/sys/fs/bpf/x", Errno::ENOENT);
    /// assert_eq!(e.to_string(), "BPF_OBJ_GET: /sys/fs/bpf/x: ENOENT (No such file or directory)");
    /// ```
    pub fn sys(op: impl Into<Cow<'static, str>>, subject: impl fmt::Display, errno: Errno) -> Self {
        Error {
            op: op.into(),
            subject: Some(subject.to_string()).filter(|s| !s.is_empty()),
            errno: Some(errno),
            detail: None,
            hint: None,
        }
    }

    /// A failure that is not an errno (a bad reply, a refused request, ...):
    /// `detail` says what was wrong.
    pub fn other(
        op: impl Into<Cow<'static, str>>,
        subject: impl fmt::Display,
        detail: impl Into<String>,
    ) -> Self {
        Error {
            op: op.into(),
            subject: Some(subject.to_string()).filter(|s| !s.is_empty()),
            errno: None,
            detail: Some(detail.into()),
            hint: None,
        }
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
            "{what} needs CAP_BPF and CAP_NET_ADMIN (or root); an unprivileged client gets the map from a device-plugin side instead (use_cni=1 or use_pinned_map=1)"
        )),
        _ => None,
    }
}
