//! The text rules of the protocol: printable ASCII, names within Linux's
//! limits, plain decimal numbers; [`Escaped`] and [`Received`] show
//! untrusted bytes safely.

use core::fmt;

use super::error::{Field, HandshakeError};

/// Longest hostname Linux allows (`HOST_NAME_MAX`).
pub const MAX_HOSTNAME_LEN: usize = 64;
/// Longest interface name Linux allows (`IFNAMSIZ - 1`).
pub const MAX_IFNAME_LEN: usize = 15;

/// Checks the framing rules every message obeys (non-empty, at most `max`
/// bytes, printable ASCII, so no NUL) and returns it as text.
pub(crate) fn check_text(bytes: &[u8], max: usize) -> Result<&str, HandshakeError> {
    if bytes.is_empty() {
        return Err(HandshakeError::Empty);
    }
    if bytes.len() > max {
        return Err(HandshakeError::TooLong {
            len: bytes.len(),
            max,
        });
    }
    for (offset, &byte) in bytes.iter().enumerate() {
        if byte == 0 {
            return Err(HandshakeError::Nul { offset });
        }
        if !is_printable(byte) {
            return Err(HandshakeError::NonPrintable { offset, byte });
        }
    }
    // Printable ASCII is UTF-8; the error branch cannot be taken.
    core::str::from_utf8(bytes).map_err(|_| HandshakeError::NonPrintable { offset: 0, byte: 0 })
}

/// Printable ASCII: space to `~`.
pub(crate) const fn is_printable(b: u8) -> bool {
    matches!(b, 0x20..=0x7e)
}

/// Removes the spaces around an argument (the reference Go client sends
/// `/config_busy_poll, 20, 64`).
pub(crate) fn trim_spaces(s: &str) -> &str {
    s.trim_matches(' ')
}

/// Checks a pod name: 1 to 64 printable bytes, no space, `/` or `,`.
pub(crate) fn check_hostname(name: &str) -> Result<(), HandshakeError> {
    check_name(name, Field::Hostname, MAX_HOSTNAME_LEN, b" /,")
}

/// Checks an interface name as the kernel's `dev_valid_name` does: 1 to 15
/// bytes, not `.` or `..`, no whitespace, `/` or `:` (and no `,`, which
/// would split the request).
pub(crate) fn check_ifname(name: &str) -> Result<(), HandshakeError> {
    check_name(name, Field::Interface, MAX_IFNAME_LEN, b" /:,")?;
    if name == "." || name == ".." {
        return Err(HandshakeError::ReservedName {
            arg: Field::Interface,
        });
    }
    Ok(())
}

fn check_name(name: &str, arg: Field, max: usize, banned: &[u8]) -> Result<(), HandshakeError> {
    if name.is_empty() {
        return Err(HandshakeError::EmptyArgument { arg });
    }
    if name.len() > max {
        return Err(HandshakeError::ArgumentTooLong {
            arg,
            len: name.len(),
            max,
        });
    }
    for &byte in name.as_bytes() {
        if !is_printable(byte) || banned.contains(&byte) {
            return Err(HandshakeError::BadCharacter { arg, byte });
        }
    }
    Ok(())
}

/// Parses plain decimal digits (leading zeros allowed, no sign) into a
/// number no larger than `max`.
pub(crate) fn parse_number(s: &str, arg: Field, max: u32) -> Result<u32, HandshakeError> {
    if s.is_empty() {
        return Err(HandshakeError::EmptyArgument { arg });
    }
    let mut value: u32 = 0;
    for &b in s.as_bytes() {
        if !b.is_ascii_digit() {
            return Err(HandshakeError::NotANumber { arg });
        }
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u32::from(b - b'0')))
            .filter(|&v| v <= max)
            .ok_or(HandshakeError::NumberOutOfRange { arg, max })?;
    }
    Ok(value)
}

/// Appends text to a buffer, counting what it would need even past the
/// end, so that one pass gives both the message and its length.
pub(crate) struct Writer<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> Writer<'b> {
    pub(crate) fn new(buf: &'b mut [u8]) -> Self {
        Writer { buf, len: 0 }
    }

    pub(crate) fn bytes(&mut self, s: &[u8]) {
        let end = self.len.saturating_add(s.len());
        if let Some(dst) = self.buf.get_mut(self.len..end) {
            dst.copy_from_slice(s);
        }
        self.len = end;
    }

    pub(crate) fn number(&mut self, mut n: u32) {
        let mut digits = [0u8; 10];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.bytes(&digits[i..]);
    }

    /// The length written, or the error if the message is longer than
    /// `max` or than the buffer.
    pub(crate) fn finish(self, max: usize) -> Result<usize, HandshakeError> {
        if self.len > max {
            return Err(HandshakeError::TooLong { len: self.len, max });
        }
        if self.len > self.buf.len() {
            return Err(HandshakeError::BufferTooSmall {
                needed: self.len,
                available: self.buf.len(),
            });
        }
        Ok(self.len)
    }
}

/// Shows untrusted bytes as printable ASCII: printable bytes as they are
/// (with `\` and `"` escaped), the rest as `\n`, `\r`, `\t`, `\0` or `\xNN`.
///
/// ```
/// use afxdp_core::handshake::Escaped;
/// assert_eq!(Escaped(b"/fd_ack\0\xff").to_string(), r"/fd_ack\0\xff");
/// ```
#[derive(Clone, Copy)]
pub struct Escaped<'a>(pub &'a [u8]);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.0 {
            match b {
                b'\\' => f.write_str("\\\\")?,
                b'"' => f.write_str("\\\"")?,
                b'\n' => f.write_str("\\n")?,
                b'\r' => f.write_str("\\r")?,
                b'\t' => f.write_str("\\t")?,
                0 => f.write_str("\\0")?,
                b if is_printable(b) => fmt::Write::write_char(f, char::from(b))?,
                b => write!(f, "\\x{b:02x}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// The start of a message received, copied so that an error can outlive
/// the receive buffer: up to [`Received::CAPACITY`] bytes and the full
/// length. `Display` shows it quoted and escaped, with the length when cut.
///
/// ```
/// use afxdp_core::handshake::Received;
/// assert_eq!(Received::new(b"/fd_nak").to_string(), "\"/fd_nak\"");
/// let long = [b'x'; 100];
/// assert!(Received::new(&long).to_string().ends_with("... (100 bytes)"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Received {
    bytes: [u8; Received::CAPACITY],
    total: usize,
}

impl Received {
    /// Bytes kept: more than the longest response (`/config_busy_poll_nak`).
    pub const CAPACITY: usize = 40;

    /// Copies the start of `msg`.
    pub fn new(msg: &[u8]) -> Received {
        let mut bytes = [0u8; Self::CAPACITY];
        let n = msg.len().min(Self::CAPACITY);
        bytes[..n].copy_from_slice(&msg[..n]);
        Received {
            bytes,
            total: msg.len(),
        }
    }

    /// The bytes kept.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.total.min(Self::CAPACITY)]
    }

    /// The length of the whole message.
    pub fn total_len(&self) -> usize {
        self.total
    }
}

impl fmt::Display for Received {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", Escaped(self.as_bytes()))?;
        if self.total > Self::CAPACITY {
            write!(f, "... ({} bytes)", self.total)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Received {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
