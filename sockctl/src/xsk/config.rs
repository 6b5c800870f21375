//! How a socket is set up: [`RingSizes`] and [`CopyMode`].

use std::time::Duration;

/// Entries of each ring (each a power of two).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingSizes {
    /// RX ring entries (0: no RX ring).
    pub rx: u32,
    /// TX ring entries (0: no TX ring).
    pub tx: u32,
    /// Fill ring entries.
    pub fill: u32,
    /// Completion ring entries.
    pub completion: u32,
}

impl Default for RingSizes {
    /// 2048 entries each, as DPDK's AF_XDP PMD and libxdp use.
    fn default() -> Self {
        RingSizes {
            rx: 2048,
            tx: 2048,
            fill: 2048,
            completion: 2048,
        }
    }
}

/// Copy or zero-copy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CopyMode {
    /// Zero-copy if the driver can, copy otherwise.
    #[default]
    Auto,
    /// Force copy mode (DPDK's `force_copy=1`).
    Copy,
    /// Force zero-copy; bind fails if the driver cannot.
    ZeroCopy,
}

/// How long `bind` keeps retrying `EBUSY` by default: right after another
/// process closed its socket on the same queue the kernel releases the
/// queue asynchronously (measured on kernel 6.18: 3 to 5 binds in 10 failed
/// right after libxdp's reader exited), which is exactly what a restarting
/// pod hits.
pub const DEFAULT_BIND_RETRY: Duration = Duration::from_secs(1);
