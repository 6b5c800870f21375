//! The plugin's log (`logFile`, `logLevel`): one line per step, appended
//! to a file, since stdout belongs to the CNI protocol. Without `logFile`
//! nothing is logged; a log that cannot be opened does not fail the
//! invocation.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where a relative `logFile` goes (the reference CNI's directory).
pub(crate) const LOG_DIR: &str = "/var/log/afxdp-k8s-plugins";

/// How much to log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Error,
    Warning,
    Info,
    Debug,
}

impl Level {
    fn parse(s: &str) -> Level {
        match s {
            "error" => Level::Error,
            "warning" => Level::Warning,
            "debug" => Level::Debug,
            _ => Level::Info,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }
}

/// The log of one invocation.
#[derive(Debug)]
pub(crate) struct Log {
    file: Option<Mutex<File>>,
    level: Level,
    prefix: String,
}

impl Log {
    /// A log that writes nothing.
    pub(crate) fn none() -> Log {
        Log {
            file: None,
            level: Level::Error,
            prefix: String::new(),
        }
    }

    /// Opens `log_file` (under [`LOG_DIR`] unless absolute) for appending;
    /// `prefix` starts every line (the command and container).
    pub(crate) fn open(log_file: &str, level: &str, prefix: String) -> Log {
        if log_file.is_empty() {
            return Log::none();
        }
        let path = if Path::new(log_file).is_absolute() {
            PathBuf::from(log_file)
        } else {
            Path::new(LOG_DIR).join(log_file)
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let file = OpenOptions::new().create(true).append(true).open(&path);
        match file {
            Ok(f) => Log {
                file: Some(Mutex::new(f)),
                level: Level::parse(level),
                prefix,
            },
            Err(e) => {
                eprintln!(
                    "{}: cannot open logFile {}: {e}",
                    super::PLUGIN_TYPE,
                    path.display()
                );
                Log::none()
            }
        }
    }

    fn write(&self, level: Level, msg: &str) {
        if level > self.level {
            return;
        }
        let Some(file) = &self.file else { return };
        let line = format!(
            "{} {:<7} {}: {msg}\n",
            rfc3339_now(),
            level.name(),
            self.prefix
        );
        if let Ok(mut f) = file.lock() {
            let _ = f.write_all(line.as_bytes());
        }
    }

    pub(crate) fn error(&self, msg: &str) {
        self.write(Level::Error, msg);
    }

    pub(crate) fn warn(&self, msg: &str) {
        self.write(Level::Warning, msg);
    }

    pub(crate) fn info(&self, msg: &str) {
        self.write(Level::Info, msg);
    }

    pub(crate) fn debug(&self, msg: &str) {
        self.write(Level::Debug, msg);
    }
}

/// The time now, `2025-01-31T12:34:56Z` (UTC).
fn rfc3339_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_look_right() {
        let t = rfc3339_now();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z'), "{t}");
    }

    #[test]
    fn levels_filter() {
        let dir = std::env::temp_dir().join(format!("afxdp-cni-log-{}", std::process::id()));
        let path = dir.join("x.log");
        let log = Log::open(path.to_str().unwrap(), "warning", "ADD c1".into());
        log.debug("hidden");
        log.info("hidden too");
        log.warn("shown");
        log.error("shown too");
        let text = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(!text.contains("hidden"), "{text}");
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.contains("warning ADD c1: shown"), "{text}");
    }
}
