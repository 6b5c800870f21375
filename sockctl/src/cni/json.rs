//! A small JSON reader and writer for the CNI's documents (RFC 8259):
//! [`Json`] values, parsed strictly, written compact or indented. Written
//! here rather than taken from `serde` and `serde_json`, which cost the
//! static binary some 85 KiB more and pushed it past its 1 MiB budget.
//!
//! Numbers keep their text (the CNI's are small integers); objects keep
//! their order, and a key given twice reads as its last value, as Go's
//! `encoding/json` does. Nesting is limited to [`MAX_DEPTH`] levels, so
//! hostile input cannot exhaust the stack.
//!
//! ```
//! use af_xdp::cni::json::Json;
//! let v = Json::parse(br#"{"a": [1, "x\u00e9"], "b": null}"#).unwrap();
//! assert_eq!(v.get("a").and_then(|a| a.as_array()).map(|a| a.len()), Some(2));
//! assert_eq!(v.to_compact(), r#"{"a":[1,"xé"],"b":null}"#);
//! ```

use std::fmt::{self, Write};

/// How deep arrays and objects may nest.
pub const MAX_DEPTH: usize = 64;

/// A JSON value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written.
    Number(String),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, its members in order.
    Object(Vec<(String, Json)>),
}

/// Why a document is not JSON: what was expected, at which byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// The byte offset.
    pub offset: usize,
    /// What went wrong.
    pub what: &'static str,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.offset)
    }
}

impl std::error::Error for JsonError {}

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, what: &'static str) -> JsonError {
        JsonError {
            offset: self.pos,
            what,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn literal(&mut self, word: &[u8], v: Json) -> Result<Json, JsonError> {
        if self.b.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(self.err("invalid literal"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        self.skip_ws();
        match self.peek() {
            None => Err(self.err("unexpected end of input")),
            Some(b'n') => self.literal(b"null", Json::Null),
            Some(b't') => self.literal(b"true", Json::Bool(true)),
            Some(b'f') => self.literal(b"false", Json::Bool(false)),
            Some(b'"') => self.string().map(Json::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'[') => {
                if depth >= MAX_DEPTH {
                    return Err(self.err("nested too deep"));
                }
                self.pos += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.eat(b']') {
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    if self.eat(b']') {
                        return Ok(Json::Array(items));
                    }
                    if !self.eat(b',') {
                        return Err(self.err("expected ',' or ']'"));
                    }
                }
            }
            Some(b'{') => {
                if depth >= MAX_DEPTH {
                    return Err(self.err("nested too deep"));
                }
                self.pos += 1;
                let mut members = Vec::new();
                self.skip_ws();
                if self.eat(b'}') {
                    return Ok(Json::Object(members));
                }
                loop {
                    self.skip_ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.err("expected a string key"));
                    }
                    let k = self.string()?;
                    self.skip_ws();
                    if !self.eat(b':') {
                        return Err(self.err("expected ':'"));
                    }
                    let v = self.value(depth + 1)?;
                    members.push((k, v));
                    self.skip_ws();
                    if self.eat(b'}') {
                        return Ok(Json::Object(members));
                    }
                    if !self.eat(b',') {
                        return Err(self.err("expected ',' or '}'"));
                    }
                }
            }
            Some(_) => Err(self.err("expected a value")),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Json, JsonError> {
        let start = self.pos;
        self.eat(b'-');
        if self.eat(b'0') {
            if matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err("leading zero in a number"));
            }
        } else if self.digits() == 0 {
            return Err(self.err("expected digits"));
        }
        if self.eat(b'.') && self.digits() == 0 {
            return Err(self.err("expected digits after '.'"));
        }
        if self.eat(b'e') || self.eat(b'E') {
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if self.digits() == 0 {
                return Err(self.err("expected digits in the exponent"));
            }
        }
        let text = self.b.get(start..self.pos).unwrap_or_default();
        Ok(Json::Number(String::from_utf8_lossy(text).into_owned()))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let h = self
            .b
            .get(self.pos..self.pos + 4)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .ok_or_else(|| self.err("expected 4 hex digits after \\u"))?;
        let v = h.iter().fold(0, |acc, &c| {
            acc * 16 + char::from(c).to_digit(16).unwrap_or(0)
        });
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1; // the opening quote
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err(self.err("unterminated string"));
                    };
                    self.pos += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xd800..0xdc00).contains(&hi) {
                                if !(self.eat(b'\\') && self.eat(b'u')) {
                                    return Err(self.err("unpaired surrogate"));
                                }
                                let lo = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return Err(self.err("unpaired surrogate"));
                                }
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            } else {
                                hi
                            };
                            char::from_u32(code).ok_or_else(|| self.err("unpaired surrogate"))?
                        }
                        _ => return Err(self.err("invalid escape")),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                0..=0x1f => return Err(self.err("control character in a string")),
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| self.err("string is not UTF-8"))
    }
}

impl Json {
    /// Parses a whole document: one value, surrounded by whitespace only.
    pub fn parse(doc: &[u8]) -> Result<Json, JsonError> {
        let mut p = Parser { b: doc, pos: 0 };
        let v = p.value(0)?;
        p.skip_ws();
        if p.pos != doc.len() {
            return Err(p.err("trailing characters after the value"));
        }
        Ok(v)
    }

    /// The member `key` of an object (its last, if given twice); `None`
    /// for another value.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(m) => m.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The number as a `u64`, if it is a non-negative integer that fits.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Number(n) => n.parse().ok(),
            _ => None,
        }
    }

    /// The name of this value's type, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }

    /// A string value.
    pub fn str(s: impl Into<String>) -> Json {
        Json::String(s.into())
    }

    /// A string value from anything that displays (an address).
    pub fn str_of(v: impl fmt::Display) -> Json {
        Json::String(v.to_string())
    }

    /// A number value.
    pub fn num(n: impl fmt::Display) -> Json {
        Json::Number(n.to_string())
    }

    /// On one line, no spaces.
    pub fn to_compact(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, None, 0);
        out
    }

    /// Indented by four spaces a level, as the reference plugins print.
    pub fn to_pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, Some(4), 0);
        out
    }

    fn write(&self, out: &mut String, indent: Option<usize>, level: usize) {
        let newline = |out: &mut String, level: usize| {
            if let Some(n) = indent {
                out.push('\n');
                out.extend(std::iter::repeat_n(' ', n * level));
            }
        };
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(n),
            Json::String(s) => write_str(out, s),
            Json::Array(items) if items.is_empty() => out.push_str("[]"),
            Json::Object(m) if m.is_empty() => out.push_str("{}"),
            Json::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, level + 1);
                    v.write(out, indent, level + 1);
                }
                newline(out, level);
                out.push(']');
            }
            Json::Object(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, level + 1);
                    write_str(out, k);
                    out.push(':');
                    if indent.is_some() {
                        out.push(' ');
                    }
                    v.write(out, indent, level + 1);
                }
                newline(out, level);
                out.push('}');
            }
        }
    }
}

/// Appends `s` to `out` as a JSON string: quoted, with `"`, `\\` and
/// control characters escaped.
///
/// ```
/// let mut out = String::new();
/// af_xdp::cni::json::write_str(&mut out, "a\"b\n");
/// assert_eq!(out, r#""a\"b\n""#);
/// ```
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Builds an object member by member, leaving out what is empty.
#[derive(Debug, Default)]
pub struct ObjectBuilder(Vec<(String, Json)>);

impl ObjectBuilder {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `key: value`.
    pub fn put(mut self, key: &str, value: Json) -> Self {
        self.0.push((key.to_string(), value));
        self
    }

    /// Adds `key: "value"` unless `value` is empty.
    pub fn str_nonempty(self, key: &str, value: &str) -> Self {
        if value.is_empty() {
            self
        } else {
            self.put(key, Json::str(value))
        }
    }

    /// Adds `key: value` when there is a value.
    pub fn opt(self, key: &str, value: Option<Json>) -> Self {
        match value {
            Some(v) => self.put(key, v),
            None => self,
        }
    }

    /// Adds `key: [...]` unless `items` is empty.
    pub fn array_nonempty(self, key: &str, items: Vec<Json>) -> Self {
        if items.is_empty() {
            self
        } else {
            self.put(key, Json::Array(items))
        }
    }

    /// The object.
    pub fn build(self) -> Json {
        Json::Object(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_of_value() {
        let v = Json::parse(
            br#" { "n": null, "t": true, "f": false, "i": -0, "x": 1.5e+3,
                   "s": "a\"\\\/\b\f\n\r\t\u0041\ud83d\ude00", "a": [], "o": {} } "#,
        )
        .unwrap();
        assert_eq!(v.get("n"), Some(&Json::Null));
        assert_eq!(v.get("t"), Some(&Json::Bool(true)));
        assert_eq!(v.get("i"), Some(&Json::Number("-0".into())));
        assert_eq!(v.get("x"), Some(&Json::Number("1.5e+3".into())));
        assert_eq!(
            v.get("s").and_then(Json::as_str),
            Some("a\"\\/\u{8}\u{c}\n\r\tA\u{1f600}")
        );
        assert_eq!(v.get("a"), Some(&Json::Array(vec![])));
        assert_eq!(v.get("o"), Some(&Json::Object(vec![])));
    }

    #[test]
    fn the_last_duplicate_wins() {
        let v = Json::parse(br#"{"k": 1, "k": 2}"#).unwrap();
        assert_eq!(v.get("k").and_then(Json::as_u64), Some(2));
    }

    #[test]
    fn rejects_what_is_not_json() {
        for bad in [
            &b""[..],
            b"{",
            b"{\"a\" 1}",
            b"{'a': 1}",
            b"[1,]",
            b"[1 2]",
            b"01",
            b"1.",
            b"1e",
            b"-",
            b"tru",
            b"\"\\x\"",
            b"\"\\ud800\"",
            b"\"\\udc00\\u0041\"",
            b"\"a\nb\"",
            b"\"\xff\"",
            b"{} x",
            b"nul",
        ] {
            assert!(
                Json::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(
            Json::parse(deep.as_bytes()).unwrap_err().what,
            "nested too deep"
        );
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(Json::parse(ok.as_bytes()).is_ok());
    }

    #[test]
    fn writes_what_it_reads() {
        let doc = r#"{"a":[1,{"b":"c\u0001\"d"}],"e":{},"f":[],"g":-1.5E-2,"h":true}"#;
        let v = Json::parse(doc.as_bytes()).unwrap();
        assert_eq!(v.to_compact(), doc);
        let pretty = v.to_pretty();
        assert!(pretty.contains("\n    \"a\": [\n        1,"), "{pretty}");
        assert_eq!(Json::parse(pretty.as_bytes()).unwrap(), v);
    }

    #[test]
    fn never_panics_on_mutated_documents() {
        let doc = br#"{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/24","interface":0}],"s":"\u00e9\ud83d\ude00"}"#;
        // A small deterministic generator: flip, cut and splice bytes.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let mut d = doc.to_vec();
            for _ in 0..(next() % 4 + 1) {
                let i = (next() as usize) % d.len();
                match next() % 3 {
                    0 => d[i] = next() as u8,
                    1 => {
                        d.remove(i);
                    }
                    _ => {
                        let pool = b"{}[]\",:\\u0";
                        d.insert(i, pool[(next() as usize) % pool.len()]);
                    }
                }
                if d.is_empty() {
                    d.push(b'[');
                }
            }
            if let Ok(v) = Json::parse(&d) {
                assert_eq!(Json::parse(v.to_compact().as_bytes()), Ok(v));
            }
        }
    }
}
