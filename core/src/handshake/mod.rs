//! The device-plugin handshake (the UDS protocol by which an unprivileged
//! AF_XDP user gets the XSKMAP fd from the privileged side), as a sans-I/O
//! codec and two state machines; no allocation, no system call.
//!
//! - Messages: [`Request`] and [`Response`], each with a strict `parse`
//!   and an `emit` into a caller's buffer; [`HandshakeError`] says exactly
//!   what is wrong with bytes that are not a message.
//! - [`ClientMachine`]: the client's side of one connection, from a
//!   [`ClientConfig`] (which steps to run); it writes each request, says
//!   which fd goes with it, and judges each answer exactly.
//! - [`ServerSession`]: the server's side of one connection; with a
//!   [`ServerPolicy`] (for example a [`StaticPolicy`]) it turns each
//!   request into a [`ServerAction`].
//!
//! The transport (`AF_UNIX` `SOCK_SEQPACKET`, fds in `SCM_RIGHTS`) is
//! `afxdp-sys`'s `unix` module; `sockctl` drives these machines over it.
//! The wire format and its quirks are those of the DPDK AF_XDP PMD and the
//! AF_XDP device plugin for Kubernetes.
//!
//! ```
//! use afxdp_core::handshake::*;
//!
//! // Both sides in memory: the client asks for the map of eth0.
//! let policy = StaticPolicy { pods: Pods::Only(&["mypod"]), interfaces: &["eth0"] };
//! let mut server = ServerSession::new();
//! let mut client = ClientMachine::new(ClientConfig::new("mypod").map_fd("eth0")).unwrap();
//! let (mut req, mut resp) = ([0u8; MAX_REQUEST_LEN], [0u8; MAX_RESPONSE_LEN]);
//! let mut got_map = false;
//! while let Some(out) = client.next_request(&mut req).unwrap() {
//!     let action = server.on_message(&policy, &req[..out.len], 0);
//!     for r in action.responses.iter() {
//!         let n = r.emit(&mut resp).unwrap();
//!         let fds = usize::from(action.attach_map.is_some());
//!         if client.on_response(&resp[..n], fds).unwrap() == ClientEvent::MapReceived {
//!             got_map = true;
//!         }
//!     }
//! }
//! assert!(got_map && client.is_done() && server.is_closed());
//! ```

mod client;
mod error;
mod message;
mod server;
mod text;

pub use client::{ClientConfig, ClientError, ClientEvent, ClientMachine, ClientStep, Outgoing};
pub use error::{Field, HandshakeError};
pub use message::{
    BusyPoll, Request, RequestKind, Response, HANDSHAKE_VERSION, MAX_BUSY_POLL_TIMEOUT_US,
    MAX_REQUEST_LEN, MAX_RESPONSE_LEN,
};
pub use server::{
    PodCheck, Pods, Responses, ServerAction, ServerPolicy, ServerSession, ServerState, StaticPolicy,
};
pub use text::{Escaped, Received, MAX_HOSTNAME_LEN, MAX_IFNAME_LEN};
