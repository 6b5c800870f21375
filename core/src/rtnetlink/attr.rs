//! Netlink attributes (`struct nlattr` TLVs): [`Attrs`] reads a run of them
//! without copying, [`AttrWriter`] appends them (and nests) to a buffer.
//!
//! An attribute is a 4-byte header (`nla_len`, `nla_type`), a payload of
//! `nla_len - 4` bytes, and padding up to the next multiple of 4. The two
//! top bits of `nla_type` are flags (`NLA_F_NESTED`, `NLA_F_NET_BYTEORDER`);
//! [`Attr::kind`] has them masked off.

use core::iter::FusedIterator;

use super::error::{AttrError, EncodeError};
use super::wire::{self, NLA_HDRLEN};
use crate::abi::rtnetlink::{NlAttr, NLA_ALIGNTO, NLA_F_NESTED, NLA_TYPE_MASK};

/// One attribute, borrowed from the buffer it was read from.
///
/// The typed getters check the payload's size and never panic.
///
/// ```
/// use afxdp_core::rtnetlink::Attrs;
/// // nlattr { len 8, type 4 } u32 42
/// let mut raw = [0u8; 8];
/// raw[0..2].copy_from_slice(&8u16.to_ne_bytes());
/// raw[2..4].copy_from_slice(&4u16.to_ne_bytes());
/// raw[4..8].copy_from_slice(&42u32.to_ne_bytes());
/// let attr = Attrs::new(&raw).next().unwrap().unwrap();
/// assert_eq!((attr.kind, attr.nested), (4, false));
/// assert_eq!(attr.as_u32(), Ok(42));
/// assert!(attr.as_u8().is_err()); // wrong size: an error, not a panic
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attr<'a> {
    /// The attribute type, `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER` masked off.
    pub kind: u16,
    /// Whether the sender set `NLA_F_NESTED`. The kernel does not set it on
    /// every nest it sends (it does not on `IFLA_XDP`), so
    /// [`children`](Self::children) works either way.
    pub nested: bool,
    /// The payload, padding excluded.
    pub payload: &'a [u8],
}

impl<'a> Attr<'a> {
    /// The payload as exactly `N` bytes.
    fn fixed<const N: usize>(&self) -> Result<[u8; N], AttrError> {
        self.payload.try_into().map_err(|_| AttrError::PayloadSize {
            kind: self.kind,
            expected: N,
            actual: self.payload.len(),
        })
    }

    /// The payload as a `u8`; it must be exactly 1 byte.
    ///
    /// ```
    /// # use afxdp_core::rtnetlink::Attr;
    /// let a = Attr { kind: 2, nested: false, payload: &[1] };
    /// assert_eq!(a.as_u8(), Ok(1));
    /// ```
    pub fn as_u8(&self) -> Result<u8, AttrError> {
        self.fixed::<1>().map(|[b]| b)
    }

    /// The payload as a native-endian `u16`; it must be exactly 2 bytes.
    ///
    /// ```
    /// # use afxdp_core::rtnetlink::Attr;
    /// let a = Attr { kind: 1, nested: false, payload: &7u16.to_ne_bytes() };
    /// assert_eq!(a.as_u16(), Ok(7));
    /// ```
    pub fn as_u16(&self) -> Result<u16, AttrError> {
        self.fixed().map(u16::from_ne_bytes)
    }

    /// The payload as a native-endian `u32`; it must be exactly 4 bytes.
    ///
    /// ```
    /// # use afxdp_core::rtnetlink::Attr;
    /// let a = Attr { kind: 4, nested: false, payload: &42u32.to_ne_bytes() };
    /// assert_eq!(a.as_u32(), Ok(42));
    /// ```
    pub fn as_u32(&self) -> Result<u32, AttrError> {
        self.fixed().map(u32::from_ne_bytes)
    }

    /// The payload as a native-endian `i32`; it must be exactly 4 bytes.
    ///
    /// ```
    /// # use afxdp_core::rtnetlink::Attr;
    /// let a = Attr { kind: 1, nested: false, payload: &(-1i32).to_ne_bytes() };
    /// assert_eq!(a.as_i32(), Ok(-1));
    /// ```
    pub fn as_i32(&self) -> Result<i32, AttrError> {
        self.fixed().map(i32::from_ne_bytes)
    }

    /// The bytes of a NUL-terminated string payload, up to (not including)
    /// the first NUL. A payload without a NUL is an error.
    ///
    /// ```
    /// # use afxdp_core::rtnetlink::Attr;
    /// let a = Attr { kind: 3, nested: false, payload: b"eth0\0" };
    /// assert_eq!(a.as_cstr(), Ok(&b"eth0"[..]));
    /// let b = Attr { kind: 3, nested: false, payload: b"eth0" };
    /// assert!(b.as_cstr().is_err());
    /// ```
    pub fn as_cstr(&self) -> Result<&'a [u8], AttrError> {
        let payload: &'a [u8] = self.payload;
        match payload.iter().position(|&b| b == 0) {
            Some(nul) => Ok(payload.get(..nul).unwrap_or_default()),
            None => Err(AttrError::MissingNul { kind: self.kind }),
        }
    }

    /// [`as_cstr`](Self::as_cstr) as UTF-8.
    ///
    /// ```
    /// # use afxdp_core::rtnetlink::Attr;
    /// let a = Attr { kind: 3, nested: false, payload: b"lo\0" };
    /// assert_eq!(a.as_str(), Ok("lo"));
    /// ```
    pub fn as_str(&self) -> Result<&'a str, AttrError> {
        core::str::from_utf8(self.as_cstr()?).map_err(|_| AttrError::NotUtf8 { kind: self.kind })
    }

    /// The payload read as a run of nested attributes, whether or not
    /// `NLA_F_NESTED` is set.
    ///
    /// ```
    /// # use afxdp_core::rtnetlink::Attr;
    /// // A nest holding nlattr { len 5, type 2 } u8 1 (+ 3 bytes padding).
    /// let mut inner = [0u8; 8];
    /// inner[0..2].copy_from_slice(&5u16.to_ne_bytes());
    /// inner[2..4].copy_from_slice(&2u16.to_ne_bytes());
    /// inner[4] = 1;
    /// let nest = Attr { kind: 43, nested: false, payload: &inner };
    /// let child = nest.children().next().unwrap().unwrap();
    /// assert_eq!((child.kind, child.as_u8()), (2, Ok(1)));
    /// ```
    pub const fn children(&self) -> Attrs<'a> {
        Attrs::new(self.payload)
    }
}

/// An iterator over a run of attributes in a borrowed buffer.
///
/// Yields `Ok(Attr)` for each well-formed attribute. A malformed one (a
/// length below 4, a length past the end, 1 to 3 stray bytes at the end)
/// yields one `Err` and ends the iteration: nothing after it can be framed.
/// It never panics and always ends, whatever the bytes.
///
/// ```
/// use afxdp_core::rtnetlink::{AttrWriter, Attrs};
/// let mut buf = [0u8; 64];
/// let mut w = AttrWriter::new(&mut buf);
/// w.put_u32(4, 42).unwrap();
/// w.put_cstr(3, b"eth0").unwrap();
/// let n = w.len();
///
/// let mut it = Attrs::new(&buf[..n]);
/// assert_eq!(it.next().unwrap().unwrap().as_u32(), Ok(42));
/// assert_eq!(it.next().unwrap().unwrap().as_cstr(), Ok(&b"eth0"[..]));
/// assert!(it.next().is_none());
///
/// // Garbage: one error, then the end.
/// let mut bad = Attrs::new(&[0xff, 0xff, 0, 0]);
/// assert!(bad.next().unwrap().is_err());
/// assert!(bad.next().is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attrs<'a> {
    buf: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> Attrs<'a> {
    /// Iterates over the attributes in `buf`, which should hold whole
    /// attributes and nothing else.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::Attrs;
    /// assert!(Attrs::new(&[]).next().is_none());
    /// ```
    pub const fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            offset: 0,
            failed: false,
        }
    }

    /// The whole run, from its start, whatever has been iterated already.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// The last attribute of type `kind` in the whole run (as with the
    /// kernel's `nla_parse`, a later duplicate wins), or the first framing
    /// error met anywhere in the run.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::{AttrWriter, Attrs};
    /// let mut buf = [0u8; 32];
    /// let mut w = AttrWriter::new(&mut buf);
    /// w.put_u8(2, 1).unwrap();
    /// w.put_u32(4, 42).unwrap();
    /// let n = w.len();
    /// let attrs = Attrs::new(&buf[..n]);
    /// assert_eq!(attrs.find(4).unwrap().unwrap().as_u32(), Ok(42));
    /// assert_eq!(attrs.find(9), Ok(None));
    /// ```
    pub fn find(&self, kind: u16) -> Result<Option<Attr<'a>>, AttrError> {
        let mut found = None;
        for attr in Attrs::new(self.buf) {
            let attr = attr?;
            if attr.kind == kind {
                found = Some(attr);
            }
        }
        Ok(found)
    }

    /// Checks that the whole run frames into attributes.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::Attrs;
    /// assert!(Attrs::new(&[]).validate().is_ok());
    /// assert!(Attrs::new(&[8, 0]).validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), AttrError> {
        Attrs::new(self.buf).try_for_each(|a| a.map(drop))
    }

    fn fail(&mut self, e: AttrError) -> Option<Result<Attr<'a>, AttrError>> {
        self.failed = true;
        Some(Err(e))
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, AttrError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let offset = self.offset;
        let rest = match self.buf.get(offset..) {
            Some(rest) if !rest.is_empty() => rest,
            _ => return None,
        };
        let Some(hdr) = wire::read_nlattr(rest) else {
            return self.fail(AttrError::TruncatedHeader {
                offset,
                available: rest.len(),
            });
        };
        let len = usize::from(hdr.nla_len);
        if len < NLA_HDRLEN {
            return self.fail(AttrError::BadLength {
                offset,
                len: hdr.nla_len,
            });
        }
        let Some(payload) = rest.get(NLA_HDRLEN..len) else {
            return self.fail(AttrError::Overrun {
                offset,
                len: hdr.nla_len,
                available: rest.len(),
            });
        };
        // The last attribute's padding may be missing: clamp to the end.
        self.offset = offset.saturating_add(wire::align(len)).min(self.buf.len());
        Some(Ok(Attr {
            kind: hdr.nla_type & NLA_TYPE_MASK,
            nested: hdr.nla_type & NLA_F_NESTED != 0,
            payload,
        }))
    }
}

impl FusedIterator for Attrs<'_> {}

/// An open nest, from [`AttrWriter::begin_nest`]; give it back to
/// [`AttrWriter::end_nest`] once its children are written.
#[must_use = "a nest must be closed with AttrWriter::end_nest"]
#[derive(Debug, PartialEq, Eq)]
pub struct Nest {
    start: usize,
    kind: u16,
}

/// Appends attributes to a caller-provided buffer, 4-byte aligned, with
/// zeroed padding.
///
/// Every `put_*` either writes the whole attribute or returns an error and
/// leaves [`len`](Self::len) unchanged. Nests are written with
/// [`begin_nest`](Self::begin_nest) / [`end_nest`](Self::end_nest); inner
/// nests must be ended before outer ones.
///
/// ```
/// use afxdp_core::rtnetlink::{AttrWriter, Attrs};
/// let mut buf = [0u8; 32];
/// let mut w = AttrWriter::new(&mut buf);
/// let nest = w.begin_nest(43).unwrap();
/// w.put_i32(1, 5).unwrap();
/// w.end_nest(nest).unwrap();
/// assert_eq!(w.len(), 12);
///
/// let outer = Attrs::new(w.written()).next().unwrap().unwrap();
/// assert_eq!((outer.kind, outer.nested), (43, true));
/// let fd = outer.children().next().unwrap().unwrap();
/// assert_eq!((fd.kind, fd.as_i32()), (1, Ok(5)));
///
/// // Overflow is an error, not a panic.
/// let mut small = [0u8; 6];
/// assert!(AttrWriter::new(&mut small).put_u32(1, 0).is_err());
/// ```
#[derive(Debug)]
pub struct AttrWriter<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl<'b> AttrWriter<'b> {
    /// A writer that appends from the start of `buf`.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::AttrWriter;
    /// let mut buf = [0u8; 8];
    /// assert!(AttrWriter::new(&mut buf).is_empty());
    /// ```
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// A writer that appends from offset `pos` of `buf` (4-aligned, within
    /// `buf`): lets a message encoder write its fixed headers first and then
    /// the attributes in the same buffer.
    pub(crate) fn at(buf: &'b mut [u8], pos: usize) -> Self {
        Self { buf, pos }
    }

    /// Bytes written so far (the end of the last attribute, padding
    /// included).
    pub const fn len(&self) -> usize {
        self.pos
    }

    /// Whether nothing has been written.
    pub const fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// The bytes written so far.
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.pos).unwrap_or_default()
    }

    fn too_small(&self, needed: usize) -> EncodeError {
        EncodeError::BufferTooSmall {
            needed,
            available: self.buf.len(),
        }
    }

    /// Writes one attribute whose payload is the concatenation of `parts`.
    fn append(&mut self, nla_type: u16, parts: &[&[u8]]) -> Result<(), EncodeError> {
        let kind = nla_type & NLA_TYPE_MASK;
        let payload_len = parts.iter().fold(0usize, |n, p| n.saturating_add(p.len()));
        let len = payload_len.saturating_add(NLA_HDRLEN);
        let nla_len = u16::try_from(len).map_err(|_| EncodeError::AttrTooLong { kind, len })?;
        let start = self.pos;
        let end = start.saturating_add(wire::align(len));
        if end > self.buf.len() {
            return Err(self.too_small(end));
        }
        let hdr = NlAttr { nla_len, nla_type };
        wire::write_nlattr(&hdr, self.buf, start).ok_or_else(|| self.too_small(end))?;
        let mut at = start + NLA_HDRLEN;
        for part in parts {
            wire::put_at(self.buf, at, part).ok_or_else(|| self.too_small(end))?;
            at += part.len();
        }
        if let Some(pad) = self.buf.get_mut(at..end) {
            pad.fill(0);
        }
        self.pos = end;
        Ok(())
    }

    /// Appends an attribute with a raw payload.
    ///
    /// ```
    /// use afxdp_core::rtnetlink::AttrWriter;
    /// let mut buf = [0xaa; 8];
    /// let mut w = AttrWriter::new(&mut buf);
    /// w.put(7, &[1]).unwrap();
    /// // nla_len 5, type 7, payload 1, three bytes of zero padding.
    /// let mut want = [0u8; 8];
    /// want[0..2].copy_from_slice(&5u16.to_ne_bytes());
    /// want[2..4].copy_from_slice(&7u16.to_ne_bytes());
    /// want[4] = 1;
    /// assert_eq!(w.written(), &want);
    /// ```
    pub fn put(&mut self, kind: u16, payload: &[u8]) -> Result<(), EncodeError> {
        self.append(kind, &[payload])
    }

    /// Appends a `u8` attribute.
    ///
    /// ```
    /// # use afxdp_core::rtnetlink::AttrWriter;
    /// let mut buf = [0u8; 8];
    /// AttrWriter::new(&mut buf).put_u8(2, 1).unwrap();
    /// ```
    pub fn put_u8(&mut self, kind: u16, value: u8) -> Result<(), EncodeError> {
        self.put(kind, &[value])
    }

    /// Appends a native-endian `u16` attribute.
    ///
    /// ```
    /// # use afxdp_core::rtnetlink::AttrWriter;
    /// let mut buf = [0u8; 8];
    /// AttrWriter::new(&mut buf).put_u16(1, 7).unwrap();
    /// ```
    pub fn put_u16(&mut self, kind: u16, value: u16) -> Result<(), EncodeError> {
        self.put(kind, &value.to_ne_bytes())
    }

    /// Appends a native-endian `u32` attribute.
    ///
    /// ```
    /// # use afxdp_core::rtnetlink::AttrWriter;
    /// let mut buf = [0u8; 8];
    /// AttrWriter::new(&mut buf).put_u32(3, 4).unwrap();
    /// ```
    pub fn put_u32(&mut self, kind: u16, value: u32) -> Result<(), EncodeError> {
        self.put(kind, &value.to_ne_bytes())
    }

    /// Appends a native-endian `i32` attribute.
    ///
    /// ```
    /// # use afxdp_core::rtnetlink::AttrWriter;
    /// let mut buf = [0u8; 8];
    /// AttrWriter::new(&mut buf).put_i32(1, -1).unwrap();
    /// ```
    pub fn put_i32(&mut self, kind: u16, value: i32) -> Result<(), EncodeError> {
        self.put(kind, &value.to_ne_bytes())
    }

    /// Appends a string attribute: `bytes` and a terminating NUL. `bytes`
    /// must not contain a NUL.
    ///
    /// ```
    /// # use afxdp_core::rtnetlink::AttrWriter;
    /// let mut buf = [0u8; 16];
    /// let mut w = AttrWriter::new(&mut buf);
    /// w.put_cstr(3, b"eth0").unwrap();
    /// assert_eq!(w.len(), 12); // 4 + 5, padded to 12
    /// assert!(w.put_cstr(3, b"a\0b").is_err());
    /// ```
    pub fn put_cstr(&mut self, kind: u16, bytes: &[u8]) -> Result<(), EncodeError> {
        if bytes.contains(&0) {
            return Err(EncodeError::InteriorNul {
                kind: kind & NLA_TYPE_MASK,
            });
        }
        self.append(kind, &[bytes, &[0]])
    }

    /// Opens a nest of type `kind` (written with `NLA_F_NESTED`): the
    /// attributes put next are its children until
    /// [`end_nest`](Self::end_nest).
    ///
    /// ```
    /// # use afxdp_core::rtnetlink::AttrWriter;
    /// let mut buf = [0u8; 16];
    /// let mut w = AttrWriter::new(&mut buf);
    /// let nest = w.begin_nest(43).unwrap();
    /// w.end_nest(nest).unwrap();
    /// assert_eq!(w.len(), 4); // an empty nest is just its header
    /// ```
    pub fn begin_nest(&mut self, kind: u16) -> Result<Nest, EncodeError> {
        let start = self.pos;
        self.append(kind | NLA_F_NESTED, &[])?;
        Ok(Nest {
            start,
            kind: kind & NLA_TYPE_MASK,
        })
    }

    /// Closes a nest: sets its `nla_len` to cover everything written since
    /// [`begin_nest`](Self::begin_nest).
    ///
    /// ```
    /// # use afxdp_core::rtnetlink::AttrWriter;
    /// let mut buf = [0u8; 16];
    /// let mut w = AttrWriter::new(&mut buf);
    /// let nest = w.begin_nest(43).unwrap();
    /// w.put_u32(3, 2).unwrap();
    /// w.end_nest(nest).unwrap();
    /// assert_eq!(u16::from_ne_bytes([buf[0], buf[1]]), 12);
    /// ```
    pub fn end_nest(&mut self, nest: Nest) -> Result<(), EncodeError> {
        let Nest { start, kind } = nest;
        let len = self.pos.checked_sub(start).ok_or(EncodeError::BadNest)?;
        if len < NLA_HDRLEN || !start.is_multiple_of(NLA_ALIGNTO) {
            return Err(EncodeError::BadNest);
        }
        let nla_len = u16::try_from(len).map_err(|_| EncodeError::AttrTooLong { kind, len })?;
        wire::put_at(self.buf, start, &nla_len.to_ne_bytes()).ok_or(EncodeError::BadNest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterator_clamps_missing_final_padding() {
        // nlattr { len 5, type 2 } u8 9, no padding after it.
        let raw = [5, 0, 2, 0, 9];
        let v: [_; 2] = {
            let mut it = Attrs::new(&raw);
            [it.next(), it.next()]
        };
        assert_eq!(
            v[0],
            Some(Ok(Attr {
                kind: 2,
                nested: false,
                payload: &[9]
            }))
        );
        assert_eq!(v[1], None);
    }

    #[test]
    fn iterator_errors_once_on_stray_bytes() {
        let raw = [8, 0, 1, 0, 1, 2, 3, 4, 0xee];
        let mut it = Attrs::new(&raw);
        assert!(it.next().unwrap().is_ok());
        assert_eq!(
            it.next(),
            Some(Err(AttrError::TruncatedHeader {
                offset: 8,
                available: 1
            }))
        );
        assert_eq!(it.next(), None);
        assert_eq!(it.next(), None);
    }

    #[test]
    fn iterator_rejects_short_and_long_lengths() {
        assert_eq!(
            Attrs::new(&[3, 0, 1, 0]).next(),
            Some(Err(AttrError::BadLength { offset: 0, len: 3 }))
        );
        assert_eq!(
            Attrs::new(&[9, 0, 1, 0, 0, 0, 0, 0]).next(),
            Some(Err(AttrError::Overrun {
                offset: 0,
                len: 9,
                available: 8
            }))
        );
    }

    #[test]
    fn flags_are_masked() {
        let raw = [4, 0, 43, 0xc0];
        let a = Attrs::new(&raw).next().unwrap().unwrap();
        assert_eq!((a.kind, a.nested), (43, true));
    }

    #[test]
    fn writer_overflow_leaves_length_unchanged() {
        let mut buf = [0u8; 12];
        let mut w = AttrWriter::new(&mut buf);
        w.put_u32(1, 1).unwrap();
        assert_eq!(
            w.put_u32(2, 2),
            Err(EncodeError::BufferTooSmall {
                needed: 16,
                available: 12
            })
        );
        assert_eq!(w.len(), 8);
        // A 1-byte payload needs its padding too.
        assert_eq!(
            w.put_u8(3, 3),
            Err(EncodeError::BufferTooSmall {
                needed: 16,
                available: 12
            })
        );
        assert_eq!(w.begin_nest(4).map(drop), Ok(()));
        assert_eq!(w.len(), 12);
    }

    #[test]
    fn writer_rejects_oversized_attributes() {
        let mut buf = [0u8; 8];
        let big = [0u8; 65532];
        assert_eq!(
            AttrWriter::new(&mut buf).put(1, &big),
            Err(EncodeError::AttrTooLong {
                kind: 1,
                len: 65536
            })
        );
    }

    #[test]
    fn nested_nests_fix_up_both_lengths() {
        let mut buf = [0u8; 32];
        let mut w = AttrWriter::new(&mut buf);
        let outer = w.begin_nest(1).unwrap();
        let inner = w.begin_nest(2).unwrap();
        w.put_u8(3, 7).unwrap();
        w.end_nest(inner).unwrap();
        w.end_nest(outer).unwrap();
        assert_eq!(w.len(), 16);
        let o = Attrs::new(w.written()).next().unwrap().unwrap();
        assert_eq!(o.payload.len(), 12);
        let i = o.children().next().unwrap().unwrap();
        assert_eq!((i.kind, i.payload.len()), (2, 8));
        let leaf = i.children().next().unwrap().unwrap();
        assert_eq!(leaf.as_u8(), Ok(7));
    }

    #[test]
    fn foreign_nest_is_rejected() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 4];
        let mut wa = AttrWriter::new(&mut a);
        wa.put_u32(1, 1).unwrap();
        let nest = wa.begin_nest(2).unwrap(); // start 8
        let mut wb = AttrWriter::new(&mut b);
        assert_eq!(wb.end_nest(nest), Err(EncodeError::BadNest));
    }
}
