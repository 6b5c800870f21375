//! A small JSON object writer for `--json` output (one object per line).

use std::fmt::Write;

use af_xdp::cni::json::write_str;

/// Builds one JSON object.
#[derive(Default)]
pub struct Object {
    out: String,
}

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Object {
            out: String::from("{"),
        }
    }

    fn key(&mut self, k: &str) {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        write_str(&mut self.out, k);
        self.out.push(':');
    }

    /// Adds a string field.
    pub fn str(mut self, k: &str, v: &str) -> Self {
        self.key(k);
        write_str(&mut self.out, v);
        self
    }

    /// Adds a number field.
    pub fn num(mut self, k: &str, v: impl Into<f64> + Copy + std::fmt::Display) -> Self {
        self.key(k);
        let f: f64 = v.into();
        if f.is_finite() {
            let _ = write!(self.out, "{v}");
        } else {
            self.out.push_str("null");
        }
        self
    }

    /// Adds an integer field.
    pub fn int(mut self, k: &str, v: u64) -> Self {
        self.key(k);
        let _ = write!(self.out, "{v}");
        self
    }

    /// Adds an optional integer field (`null` when absent).
    pub fn opt_int(mut self, k: &str, v: Option<u64>) -> Self {
        self.key(k);
        match v {
            Some(v) => {
                let _ = write!(self.out, "{v}");
            }
            None => self.out.push_str("null"),
        }
        self
    }

    /// Adds a boolean field.
    pub fn bool(mut self, k: &str, v: bool) -> Self {
        self.key(k);
        self.out.push_str(if v { "true" } else { "false" });
        self
    }

    /// Adds an array of integers.
    pub fn ints(mut self, k: &str, v: &[u64]) -> Self {
        self.key(k);
        self.out.push('[');
        for (i, x) in v.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            let _ = write!(self.out, "{x}");
        }
        self.out.push(']');
        self
    }

    /// The object's text.
    pub fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}
