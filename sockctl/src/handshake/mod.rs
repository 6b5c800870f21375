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

/// Polls `fds` without sleeping, yielding the CPU between looks, until one
/// of them is ready (`Ok(true)`) or `until` has passed (`Ok(false)`): the
/// look for the peer's next message that [`may_spin`] allows. Interrupted
/// looks are looked again.
pub(crate) fn poll_spinning(
    fds: &mut [afxdp_core::abi::socket::PollFd],
    until: std::time::Instant,
) -> Result<bool, afxdp_core::Errno> {
    loop {
        match afxdp_sys::poll::poll(fds, 0) {
            Ok(n) if n > 0 => return Ok(true),
            Ok(_) | Err(afxdp_core::Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
        if std::time::Instant::now() >= until {
            return Ok(false);
        }
        rustix::thread::sched_yield();
    }
}
