//! The plugin's log (`logFile`, `logLevel`): one line per step, appended
//! to a file, since stdout belongs to the CNI protocol. Without `logFile`
//! nothing is logged; a log that cannot be opened does not fail the
//! invocation.
//!
//! `logFile` is a file name: `NAME.log` or `NAME.txt` in [`LOG_DIR`] (the
//! device plugin's rule, and the reference CNI's directory), or the
//! absolute path of such a file in that very directory (as the reference
//! CNI's examples write it); any other value is said on stderr and nothing
//! is logged. The plugin runs as root with its configuration written by
//! whoever may create a NetworkAttachmentDefinition, so the file is opened
//! without following a symbolic link (neither the file nor the directory),
//! must be a regular file, and is created with mode 0640.

use std::fs::{DirBuilder, File};
use std::io::{self, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rustix::fs::{openat, Mode, OFlags, CWD};

use super::config::is_valid_log_file;

/// The directory `logFile` names a file in (the reference CNI's). Created,
/// this one level only, mode 0750, when missing.
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

    /// Opens `log_file` in [`LOG_DIR`] for appending; `prefix` starts
    /// every line (the command and container). A value that is neither a
    /// plain `.log`/`.txt` file name nor the absolute path of one in
    /// [`LOG_DIR`] ([`file_name_in`]), or a file that cannot be opened
    /// safely, is said on stderr and nothing is logged.
    pub(crate) fn open(log_file: &str, level: &str, prefix: String) -> Log {
        Log::open_in(Path::new(LOG_DIR), log_file, level, prefix)
    }

    /// [`open`](Self::open) in `dir`.
    fn open_in(dir: &Path, log_file: &str, level: &str, prefix: String) -> Log {
        if log_file.is_empty() {
            return Log::none();
        }
        let Some(name) = file_name_in(dir, log_file) else {
            eprintln!(
                "{}: not logging: logFile {log_file:?} is not a file name NAME.log or NAME.txt (letters, digits, '-', '_') in {}, nor the absolute path of one there",
                super::PLUGIN_TYPE,
                dir.display()
            );
            return Log::none();
        };
        match open_file(dir, name) {
            Ok(f) => Log {
                file: Some(Mutex::new(f)),
                level: Level::parse(level),
                prefix,
            },
            Err(e) => {
                eprintln!("{}: not logging: {e}", super::PLUGIN_TYPE);
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

/// The file `log_file` names in `dir`: `log_file` itself, or, given as an
/// absolute path whose parent is exactly `dir`, its file name; `None`
/// unless that is a [valid](is_valid_log_file) log file name.
fn file_name_in<'a>(dir: &Path, log_file: &'a str) -> Option<&'a str> {
    let name = dir
        .to_str()
        .and_then(|d| log_file.strip_prefix(d))
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(log_file);
    Some(name).filter(|n| is_valid_log_file(n))
}

/// Opens `dir/name` to append to: `name` must pass [`is_valid_log_file`];
/// `dir` is created (one level, 0750) if missing; neither `dir` nor the file
/// may be a symbolic link (`O_NOFOLLOW`, so `ELOOP`), the file must be a
/// regular one (and opening it does not block: `O_NONBLOCK`), and a new one
/// gets mode 0640. The error names the path and the errno.
fn open_file(dir: &Path, name: &str) -> Result<File, String> {
    let path = dir.join(name);
    if !is_valid_log_file(name) {
        return Err(format!(
            "logFile {name:?} is not a .log or .txt file name in {} (nor a path to one there)",
            dir.display()
        ));
    }
    let errno = |what: &str, p: &Path, e: rustix::io::Errno| {
        format!(
            "{what}: {}: {}",
            p.display(),
            afxdp_core::Errno::from_raw(e.raw_os_error())
        )
    };
    match DirBuilder::new().mode(0o750).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("create the log directory: {}: {e}", dir.display())),
    }
    let d = openat(
        CWD,
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| errno("open the log directory", dir, e))?;
    let fd = openat(
        &d,
        name,
        OFlags::WRONLY
            | OFlags::APPEND
            | OFlags::CREATE
            | OFlags::NOFOLLOW
            | OFlags::CLOEXEC
            | OFlags::NONBLOCK
            | OFlags::NOCTTY,
        Mode::from_raw_mode(0o640),
    )
    .map_err(|e| errno("open logFile", &path, e))?;
    let file = File::from(fd);
    match file.metadata() {
        Ok(m) if m.is_file() => Ok(file),
        Ok(_) => Err(format!(
            "open logFile: {}: not a regular file",
            path.display()
        )),
        Err(e) => Err(format!("open logFile: {}: {e}", path.display())),
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

    /// A directory of its own under the temp directory, removed on drop.
    struct Dir(std::path::PathBuf);

    impl Dir {
        fn new(tag: &str) -> Dir {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let p = std::env::temp_dir().join(format!(
                "afxdp-cni-log-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn levels_filter() {
        let dir = Dir::new("levels");
        let log = Log::open_in(&dir.0, "x.log", "warning", "ADD c1".into());
        log.debug("hidden");
        log.info("hidden too");
        log.warn("shown");
        log.error("shown too");
        let text = std::fs::read_to_string(dir.0.join("x.log")).unwrap();
        assert!(!text.contains("hidden"), "{text}");
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.contains("warning ADD c1: shown"), "{text}");
    }

    #[test]
    fn only_a_plain_file_name_in_the_directory_is_opened() {
        use std::os::unix::fs::PermissionsExt;
        let outer = Dir::new("names");
        let dir = outer.0.join("logs");
        // The directory is made (one level), the file is 0640 at most.
        let f = open_file(&dir, "afxdp-cni_1.txt").unwrap();
        drop(f);
        let mode = std::fs::metadata(dir.join("afxdp-cni_1.txt"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777 & !0o640, 0, "{mode:o}");
        for bad in [
            "../x.log",
            "../../../../../tmp/x.log",
            "/tmp/x.log",
            "a/b.log",
            "x.conf",
            ".log",
            "x.log/",
            "x.log.sh",
            "x y.log",
        ] {
            let e = open_file(&dir, bad).unwrap_err();
            assert!(e.contains("is not a .log or .txt file name"), "{bad}: {e}");
        }
        assert!(!outer.0.join("x.log").exists());
        // Nothing made a directory but the log directory itself.
        let dirs: Vec<_> = std::fs::read_dir(&outer.0).unwrap().flatten().collect();
        assert_eq!(dirs.len(), 1, "{dirs:?}");
    }

    #[test]
    fn an_absolute_path_in_the_directory_is_its_file_name() {
        let dir = Dir::new("absolute");
        let d = dir.0.to_str().unwrap();
        assert_eq!(file_name_in(&dir.0, "x.log"), Some("x.log"));
        assert_eq!(file_name_in(&dir.0, &format!("{d}/x.log")), Some("x.log"));
        for other in [
            format!("{d}/sub/x.log"),
            format!("{d}/../x.log"),
            format!("{d}//x.log"),
            format!("{d}x.log"),
            format!("{d}/"),
            "/tmp/x.log".to_string(),
            "x.conf".to_string(),
        ] {
            assert_eq!(file_name_in(&dir.0, &other), None, "{other}");
        }
        let log = Log::open_in(&dir.0, &format!("{d}/y.log"), "info", "ADD c1".into());
        log.info("logged");
        let text = std::fs::read_to_string(dir.0.join("y.log")).unwrap();
        assert!(text.contains("ADD c1: logged"), "{text}");
        // A value that names no file there logs nothing, anywhere.
        let log = Log::open_in(&dir.0, &format!("{d}/../z.log"), "info", "c".into());
        log.error("not logged");
        assert!(log.file.is_none());
        assert!(!dir.0.join("../z.log").exists());
    }

    #[test]
    fn symbolic_links_are_not_followed() {
        let outer = Dir::new("links");
        let dir = outer.0.join("logs");
        std::fs::create_dir(&dir).unwrap();
        let target = outer.0.join("target");
        std::os::unix::fs::symlink(&target, dir.join("x.log")).unwrap();
        let e = open_file(&dir, "x.log").unwrap_err();
        assert!(e.contains("ELOOP"), "{e}");
        assert!(e.contains(&dir.join("x.log").display().to_string()), "{e}");
        assert!(!target.exists());
        // Nor the directory: a link to a directory is refused too.
        let link = outer.0.join("dirlink");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        let e = open_file(&link, "y.log").unwrap_err();
        assert!(e.contains("open the log directory"), "{e}");
        assert!(!dir.join("y.log").exists());
        // A directory where the file would be is not a log.
        std::fs::create_dir(dir.join("z.log")).unwrap();
        assert!(open_file(&dir, "z.log").is_err());
    }
}
