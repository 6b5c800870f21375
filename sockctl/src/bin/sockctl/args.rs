//! Command-line parsing: `--name value`, `--name=value`, flags, repeated
//! options, and usage errors that say what was wrong.

use std::collections::HashMap;
use std::time::Duration;

/// One option a command accepts.
pub struct Opt {
    /// Long name without the dashes.
    pub name: &'static str,
    /// Whether it takes a value.
    pub value: bool,
    /// Whether it may be given more than once.
    pub repeat: bool,
    /// Whether the value may be left out (`--pinned` or `--pinned PATH`).
    pub optional: bool,
}

/// A flag (no value).
pub const fn flag(name: &'static str) -> Opt {
    Opt {
        name,
        value: false,
        repeat: false,
        optional: false,
    }
}
/// An option that may be given more than once.
pub const fn multi(name: &'static str) -> Opt {
    Opt {
        name,
        value: true,
        repeat: true,
        optional: false,
    }
}
/// An option with one value.
pub const fn opt(name: &'static str) -> Opt {
    Opt {
        name,
        value: true,
        repeat: false,
        optional: false,
    }
}
/// An option whose value may be left out (then it reads as `""`).
pub const fn opt_maybe(name: &'static str) -> Opt {
    Opt {
        name,
        value: true,
        repeat: false,
        optional: true,
    }
}

/// A usage error: printed with a pointer to `--help`, exit status 2.
#[derive(Debug)]
pub struct Usage(pub String);

/// The parsed options of one command.
///
/// Looking up a name the command did not declare is a bug, not an absent
/// option: it panics (every lookup runs in the CLI tests), so a misspelt
/// name cannot silently read as "not given".
#[derive(Debug, Default)]
pub struct Parsed {
    declared: Vec<(&'static str, bool)>,
    values: HashMap<&'static str, Vec<String>>,
    pub help: bool,
}

impl Parsed {
    fn declared(&self, name: &str, value: bool) {
        match self.declared.iter().find(|(n, _)| *n == name) {
            Some(&(_, v)) if v == value => {}
            Some(_) => panic!(
                "bug: --{name} looked up as {} but declared as {}",
                if value { "an option" } else { "a flag" },
                if value { "a flag" } else { "an option" }
            ),
            None => panic!("bug: --{name} looked up but not declared for this command"),
        }
    }
    /// Whether a flag was given.
    pub fn flag(&self, name: &str) -> bool {
        self.declared(name, false);
        self.values.contains_key(name)
    }
    /// Every value of a repeatable option, in order.
    pub fn all(&self, name: &str) -> &[String] {
        self.declared(name, true);
        self.values.get(name).map_or(&[], Vec::as_slice)
    }
    /// The value of an option, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.declared(name, true);
        self.values
            .get(name)
            .and_then(|v| v.last())
            .map(String::as_str)
    }
    /// Whether an option was given at all (with or without its value).
    pub fn given(&self, name: &str) -> bool {
        self.declared(name, true);
        self.values.contains_key(name)
    }
    /// The value of a required option.
    pub fn required(&self, name: &str) -> Result<&str, Usage> {
        self.get(name)
            .ok_or_else(|| Usage(format!("--{name} is required")))
    }
    /// The value of an option parsed as a number.
    pub fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, Usage> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| Usage(format!("--{name} {v:?}: not a valid number"))),
        }
    }

    /// The value of an option as a number of seconds, a decimal (`10`,
    /// `0.5`), more than zero; digits past nanoseconds are dropped.
    pub fn seconds(&self, name: &str) -> Result<Option<Duration>, Usage> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        decimal(v)
            .map(|(secs, nanos)| Duration::new(secs, nanos))
            .filter(|d| !d.is_zero())
            .map(Some)
            .ok_or_else(|| {
                Usage(format!(
                    "--{name} {v:?}: not a number of seconds above zero (like 10 or 0.5)"
                ))
            })
    }

    /// The value of an option as a decimal number above zero (`100000`,
    /// `2.5`).
    pub fn positive(&self, name: &str) -> Result<Option<f64>, Usage> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        decimal(v)
            .map(|(int, nanos)| int as f64 + f64::from(nanos) / 1e9)
            .filter(|x| *x > 0.0)
            .map(Some)
            .ok_or_else(|| {
                Usage(format!(
                    "--{name} {v:?}: not a number above zero (like 100000 or 2.5)"
                ))
            })
    }
}

/// A plain decimal, `DIGITS[.DIGITS]` (either side may be empty, not both):
/// its whole part and its fraction in billionths (past nine digits
/// dropped). No sign, exponent or `inf`: what a count of seconds or frames
/// is written as. (Not `f64`'s parser, whose tables alone are 10 KB of the
/// static binary.)
fn decimal(s: &str) -> Option<(u64, u32)> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() && frac.is_empty() || !digits(int) || !digits(frac) {
        return None;
    }
    let whole = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut nanos = 0u32;
    for i in 0..9 {
        let d = frac.as_bytes().get(i).map_or(0, |b| u32::from(b - b'0'));
        nanos = nanos * 10 + d;
    }
    Some((whole, nanos))
}

/// Parses `args` against `spec`. `-h`/`--help` anywhere asks for help.
pub fn parse(args: &[String], spec: &[Opt]) -> Result<Parsed, Usage> {
    let mut out = Parsed {
        declared: spec.iter().map(|o| (o.name, o.value)).collect(),
        ..Parsed::default()
    };
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "-h" || arg == "--help" {
            out.help = true;
            continue;
        }
        let Some(body) = arg.strip_prefix("--") else {
            return Err(Usage(format!("unexpected argument {arg:?}")));
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let Some(o) = spec.iter().find(|o| o.name == name) else {
            return Err(Usage(format!("unknown option --{name}")));
        };
        let value = if o.value {
            match inline {
                Some(v) => v,
                None => match args.get(i).filter(|v| !v.starts_with("--")) {
                    Some(v) => {
                        i += 1;
                        v.clone()
                    }
                    None if o.optional => String::new(),
                    None => return Err(Usage(format!("--{name} needs a value"))),
                },
            }
        } else {
            if inline.is_some() {
                return Err(Usage(format!("--{name} takes no value")));
            }
            String::new()
        };
        let slot = out.values.entry(o.name).or_default();
        if !slot.is_empty() && !o.repeat {
            return Err(Usage(format!("--{name} given twice")));
        }
        slot.push(value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn values_flags_and_repeats() {
        let p = parse(
            &args(&["--iface", "a", "--json", "--allow=x", "--allow", "y"]),
            &[opt("iface"), flag("json"), multi("allow")],
        )
        .unwrap();
        assert_eq!(p.get("iface"), Some("a"));
        assert!(p.flag("json"));
        assert_eq!(p.all("allow"), ["x", "y"]);
        assert!(parse(&args(&["--iface", "a", "--iface", "b"]), &[opt("iface")]).is_err());
        assert!(parse(&args(&["--bogus"]), &[opt("iface")]).is_err());
        assert!(parse(&args(&["--json=1"]), &[flag("json")]).is_err());
        assert!(parse(&args(&["--iface"]), &[opt("iface")]).is_err());
    }

    #[test]
    fn seconds_and_rates_are_plain_decimals_above_zero() {
        assert_eq!(decimal("10"), Some((10, 0)));
        assert_eq!(decimal("0.5"), Some((0, 500_000_000)));
        assert_eq!(decimal(".25"), Some((0, 250_000_000)));
        assert_eq!(decimal("3."), Some((3, 0)));
        assert_eq!(decimal("1.0000000019"), Some((1, 1)));
        assert_eq!(decimal("18446744073709551615"), Some((u64::MAX, 0)));
        for bad in [
            "",
            ".",
            "1e3",
            "-1",
            "+1",
            "inf",
            "nan",
            "1.2.3",
            " 1",
            "18446744073709551616",
        ] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
        let spec = [opt("duration"), opt("rate")];
        let p = parse(&args(&["--duration", "1.5", "--rate", "2.5"]), &spec).unwrap();
        assert_eq!(
            p.seconds("duration").unwrap(),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(p.positive("rate").unwrap(), Some(2.5));
        let p = parse(&args(&["--duration", "0.0", "--rate", "0"]), &spec).unwrap();
        assert!(p
            .seconds("duration")
            .unwrap_err()
            .0
            .contains("--duration \"0.0\""));
        assert!(p.positive("rate").is_err());
        let p = parse(&args(&[]), &spec).unwrap();
        assert_eq!(p.seconds("duration").unwrap(), None);
        assert_eq!(p.positive("rate").unwrap(), None);
    }

    #[test]
    #[should_panic(expected = "--ifcae looked up but not declared")]
    fn a_misspelt_lookup_is_a_bug_not_an_absent_option() {
        let p = parse(&args(&["--iface", "a"]), &[opt("iface")]).unwrap();
        let _ = p.get("ifcae");
    }

    #[test]
    #[should_panic(expected = "looked up as a flag")]
    fn a_flag_lookup_of_an_option_is_a_bug() {
        let p = parse(&args(&[]), &[opt("iface")]).unwrap();
        let _ = p.flag("iface");
    }
}
