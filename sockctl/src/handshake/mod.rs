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
