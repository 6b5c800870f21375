//! rtnetlink codec: XDP attach/detach/query requests, the link, address
//! and route requests of a CNI plugin, and reply parsing; no allocation, no
//! system call.
//!
//! Sans-I/O: requests are encoded into a caller buffer, received datagrams
//! are parsed in place; the `sys` layer does the `sendto`/`recv`. Everything
//! is in host byte order, as netlink is.
//!
//! - Attributes: [`Attrs`] iterates over `nlattr`s ([`Attr`], typed
//!   getters), [`AttrWriter`] appends them and nests.
//! - Requests: [`XdpSetLink`] (`RTM_SETLINK` + `IFLA_XDP`: attach, replace,
//!   detach) and [`GetLink`] (`RTM_GETLINK` by index or name).
//! - What a CNI plugin sends: [`SetLink`] (`RTM_SETLINK`: move to a network
//!   namespace, rename, up/down), [`AddrRequest`] (`RTM_NEWADDR`,
//!   `RTM_DELADDR`), [`GetAddrs`] (`RTM_GETADDR` dump, answered by
//!   [`IfAddr`]s), [`RouteRequest`] (`RTM_NEWROUTE`, `RTM_DELROUTE`); a
//!   [`Link`] answer also gives the MAC address and flags.
//! - Replies: [`Messages`] frames a datagram, each [`Message`] has a
//!   [`Body`]: [`Ack`], [`NlError`] (an [`Errno`](crate::Errno) and the
//!   extended-ack text in [`ExtAck`]), `Done`, [`Link`] (with its
//!   [`XdpLinkState`]), ...
//! - Matching: [`Pending`] tells whether a message answers the request
//!   sent; [`SeqCounter`] hands out sequence numbers.
//!
//! No parser here panics or loops forever, whatever the bytes.
//!
//! ```
//! use afxdp_core::rtnetlink::{Body, Messages, Pending, SeqCounter, XdpSetLink};
//! use afxdp_core::abi::rtnetlink::*;
//!
//! // Attach program fd 5 to ifindex 7 in driver mode.
//! let mut seqs = SeqCounter::new(100);
//! let seq = seqs.next_seq();
//! let mut tx = [0u8; XdpSetLink::MAX_LEN];
//! let n = XdpSetLink::attach(7, 5, XDP_FLAGS_DRV_MODE).emit(seq, &mut tx).unwrap();
//! // ... send &tx[..n], receive a datagram into `rx` ...
//! # let mut rx = [0u8; 36];
//! # rx[0..4].copy_from_slice(&36u32.to_ne_bytes());
//! # rx[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
//! # rx[6..8].copy_from_slice(&NLM_F_CAPPED.to_ne_bytes());
//! # rx[8..12].copy_from_slice(&seq.to_ne_bytes());
//! # rx[16..20].copy_from_slice(&(-16i32).to_ne_bytes());
//! # rx[20..36].copy_from_slice(&tx[..16]);
//! let pending = Pending::new(seq);
//! for msg in Messages::new(&rx) {
//!     let msg = msg.unwrap();
//!     if !pending.answers(&msg) {
//!         continue; // not ours
//!     }
//!     match msg.body() {
//!         Body::Ack(_) => println!("attached"),
//!         Body::Error(e) => assert_eq!(e.to_string(), "EBUSY (Device or resource busy)"),
//!         other => panic!("unexpected {other:?}"),
//!     }
//! }
//! # let _ = n;
//! ```

mod ack;
mod addr;
mod attr;
mod compose;
mod error;
mod link;
mod link_config;
mod message;
mod request;
mod route;
mod seq;
mod text;
mod wire;

pub use crate::abi::rtnetlink::IFLA_PERM_ADDRESS;
pub use ack::{Ack, ExtAck, NlError};
pub use addr::{ipv4_broadcast, AddrOp, AddrRequest, GetAddrs, IfAddr};
pub use attr::{Attr, AttrWriter, Attrs, Nest};
pub use error::{AttrError, EncodeError, ParseError};
pub use link::{Link, XdpLinkState, XdpMode};
pub use link_config::SetLink;
pub use message::{Body, Message, Messages};
pub use request::{GetLink, XdpSetLink};
pub use route::{RouteOp, RouteRequest};
pub use seq::{Pending, SeqCounter};
