//! Showing the byte strings the kernel sends (interface names, extended-ack
//! messages), which are usually but not necessarily UTF-8.

use core::fmt;

/// Formats kernel bytes as text: `Display` is lossy UTF-8 (U+FFFD for each
/// invalid sequence), `Debug` a quoted string when the bytes are UTF-8 and a
/// byte list otherwise.
#[derive(Clone, Copy)]
pub(crate) struct ByteStr<'a>(pub(crate) &'a [u8]);

impl fmt::Display for ByteStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_str("\u{fffd}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for ByteStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match core::str::from_utf8(self.0) {
            Ok(s) => fmt::Debug::fmt(s, f),
            Err(_) => fmt::Debug::fmt(self.0, f),
        }
    }
}

/// `Debug` for an optional byte string, through [`ByteStr`].
pub(crate) fn debug_opt(v: Option<&[u8]>) -> Option<ByteStr<'_>> {
    v.map(ByteStr)
}
