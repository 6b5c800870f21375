//! The device-plugin handshake over a Unix socket (see the protocol in
//! `afxdp_core::handshake`): the [`client`] (DPDK's `use_cni=1`) and the
//! [`server`] (`sockctl serve`), with the server's files made safely
//! ([`paths`]).

pub mod client;
pub mod paths;
pub mod server;

pub use client::{
    busy_poll_by_handshake, default_socket_path, probe_handshake,
    xskmap_and_busy_poll_by_handshake, xskmap_by_handshake, HandshakeOptions, LEGACY_SOCKET_PATH,
    PIPELINE_DEPTH,
};
pub use paths::{Owner, SafeDir};

/// Whether looking for the peer's next message before sleeping can pay:
/// only when this thread may run on more than one CPU. A thread held to one
/// CPU (a pinned DPDK lcore, say) may share it with its peer, and there
/// spinning only takes turns away from the peer (measured for the client:
/// 51 -> 70 µs per exchange with both on one CPU, against 66 -> 48 µs on
/// two).
pub(crate) fn may_spin() -> bool {
    rustix::thread::sched_getaffinity(None).is_ok_and(|set| set.count() > 1)
}
