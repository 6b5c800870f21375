//! Shared pieces of the benchmarks in `benches/` (see `benches/README.md`):
//! sampling and summaries ([`Samples`]), the ring benchmark's memory, peers
//! and simulated kernel side ([`ring`]), and a reader for the flat JSON
//! objects the C programs and `sockctl --json` print ([`json_field`]).

pub mod ring;

/// Measurements of one quantity, taken in alternating rounds with its peers.
#[derive(Clone, Debug, Default)]
pub struct Samples(Vec<f64>);

impl Samples {
    /// No samples yet.
    pub fn new() -> Self {
        Samples(Vec::new())
    }

    /// Adds one.
    pub fn push(&mut self, v: f64) {
        self.0.push(v);
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn sorted(&self) -> Vec<f64> {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v
    }

    /// The median (NaN when empty).
    pub fn median(&self) -> f64 {
        let v = self.sorted();
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    }

    /// The smallest (NaN when empty).
    pub fn min(&self) -> f64 {
        self.sorted().first().copied().unwrap_or(f64::NAN)
    }

    /// The largest (NaN when empty).
    pub fn max(&self) -> f64 {
        self.sorted().last().copied().unwrap_or(f64::NAN)
    }

    /// The `q` quantile (0..=1), nearest rank (NaN when empty).
    pub fn quantile(&self, q: f64) -> f64 {
        let v = self.sorted();
        if v.is_empty() {
            return f64::NAN;
        }
        let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1;
        v[i]
    }

    /// `median [min-max]` with `prec` decimals.
    pub fn range(&self, prec: usize) -> String {
        format!(
            "{:.prec$} [{:.prec$}-{:.prec$}]",
            self.median(),
            self.min(),
            self.max()
        )
    }
}

/// The number after `"key":` in a flat JSON object (as printed by the C
/// programs of these benchmarks and by `sockctl rx --json`).
pub fn json_field(json: &str, key: &str) -> Option<f64> {
    let pat = format!("\"{key}\":");
    let at = json.find(&pat)? + pat.len();
    let rest = json[at..].trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// The system's 1-minute load average, from `/proc/loadavg`.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_fields() {
        let j = r#"{"rx_packets":3000000,"seconds":2.25,"pps":1.3e6,"iface":"xa"}"#;
        assert_eq!(json_field(j, "rx_packets"), Some(3_000_000.0));
        assert_eq!(json_field(j, "seconds"), Some(2.25));
        assert_eq!(json_field(j, "pps"), Some(1.3e6));
        assert_eq!(json_field(j, "iface"), None);
        assert_eq!(json_field(j, "missing"), None);
    }

    #[test]
    fn summaries() {
        let mut s = Samples::new();
        for v in [3.0, 1.0, 2.0, 10.0] {
            s.push(v);
        }
        assert_eq!(s.median(), 2.5);
        assert_eq!(s.min(), 1.0);
        assert_eq!(s.max(), 10.0);
        assert_eq!(s.quantile(0.99), 10.0);
        assert_eq!(s.quantile(0.5), 2.0);
    }
}
