//! One line per event on stderr: `afxdp-device-plugin: <level>: <text>`.
//! The level is the config's `logLevel` (the reference plugin's names);
//! a container runtime adds the timestamps.

use std::sync::atomic::{AtomicU8, Ordering};

/// How much is logged, least first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Failures.
    Error = 0,
    /// Something is wrong but the daemon goes on.
    Warning = 1,
    /// Each registration, allocation, health change and connection.
    Info = 2,
    /// Everything else.
    Debug = 3,
}

impl Level {
    /// The level of the reference plugin's `logLevel` value.
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "error" => Some(Level::Error),
            "warning" => Some(Level::Warning),
            "info" => Some(Level::Info),
            "debug" => Some(Level::Debug),
            _ => None,
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

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

/// Sets the most detailed level that is written.
pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Whether `level` is written.
pub fn enabled(level: Level) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// Writes one line (used by the macros).
pub fn write(level: Level, args: std::fmt::Arguments<'_>) {
    if enabled(level) {
        eprintln!("afxdp-device-plugin: {}: {args}", level.name());
    }
}

/// Logs at `error`.
#[macro_export]
macro_rules! error {
    ($($t:tt)*) => { $crate::log::write($crate::log::Level::Error, format_args!($($t)*)) };
}
/// Logs at `warning`.
#[macro_export]
macro_rules! warn {
    ($($t:tt)*) => { $crate::log::write($crate::log::Level::Warning, format_args!($($t)*)) };
}
/// Logs at `info`.
#[macro_export]
macro_rules! info {
    ($($t:tt)*) => { $crate::log::write($crate::log::Level::Info, format_args!($($t)*)) };
}
/// Logs at `debug`.
#[macro_export]
macro_rules! debug {
    ($($t:tt)*) => { $crate::log::write($crate::log::Level::Debug, format_args!($($t)*)) };
}
