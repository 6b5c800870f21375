//! The client side of the device-plugin handshake: the XSKMAP of an
//! interface from a device plugin's Unix socket (DPDK's `use_cni=1`),
//! checked to be an XSKMAP before it is used, and optionally busy polling
//! set on the client's sockets by the privileged side.
//!
//! One connection asks for everything it needs, so a server that serves a
//! single connection per socket (the reference device plugin) works as
//! well as one that serves many (this project's). Every step has a
//! timeout; every answer is matched exactly (`/fd_nak` is a refusal, never
//! taken for `/fd_ack`); every fd that was not asked for is closed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use afxdp_core::abi::socket::{PollFd, POLLIN};
use afxdp_core::handshake::{
    BusyPoll as WireBusyPoll, ClientConfig, ClientError, ClientEvent, ClientMachine, Response,
    MAX_REQUEST_LEN, MAX_RESPONSE_LEN,
};
use afxdp_core::Errno;
use afxdp_sys::unix::{self, UnixAddr};
use afxdp_sys::{BorrowedFd, OwnedFd};

use super::{may_spin, poll_spinning};
use crate::busy_poll::BusyPoll;
use crate::error::{Error, ErrorKind, Result};
use crate::map::XskMap;

/// The legacy device plugin's single socket (given explicitly as
/// `dp_path`).
pub const LEGACY_SOCKET_PATH: &str = "/tmp/afxdp.sock";

/// Default time allowed for each step of the exchange.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// How the client introduces itself and how long it waits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeOptions {
    /// The pod name sent in `/connect` (default: this host's name, as
    /// DPDK's PMD sends `gethostname()`).
    pub hostname: Option<String>,
    /// Time allowed for connecting and for each request and answer
    /// (default 5 s).
    pub step_timeout: Duration,
    /// Send the requests ahead of the answers, up to [`PIPELINE_DEPTH`] at
    /// a time (default `true`): one round trip for `/connect`, `/version`,
    /// `/xsk_map_fd` and `/fin` instead of four. Servers that read a
    /// request, answer it and read the next (this project's, the reference
    /// device plugin) serve both alike; `false` waits for each answer
    /// before the next request, as DPDK's PMD does.
    pub pipeline: bool,
}

/// Requests a pipelined client has out at once: few enough that the
/// server's answers always fit in the client's receive queue.
pub const PIPELINE_DEPTH: u32 = 4;

impl Default for HandshakeOptions {
    fn default() -> Self {
        HandshakeOptions {
            hostname: None,
            step_timeout: DEFAULT_STEP_TIMEOUT,
            pipeline: true,
        }
    }
}

impl HandshakeOptions {
    fn hostname(&self) -> String {
        match &self.hostname {
            Some(h) => h.clone(),
            None => rustix::system::uname()
                .nodename()
                .to_string_lossy()
                .into_owned(),
        }
    }
}

/// Asks the device plugin at `socket` for the XSKMAP of `iface` and checks
/// (`BPF_OBJ_GET_INFO_BY_FD`) that the fd it hands over is one.
///
/// ```no_run
/// use af_xdp::handshake::{xskmap_by_handshake, HandshakeOptions};
/// let map = xskmap_by_handshake("/tmp/afxdp_dp/eth0/afxdp.sock".as_ref(), "eth0", &HandshakeOptions::default())?;
/// println!("XSKMAP id {} with {} entries", map.id(), map.max_entries());
/// # Ok::<(), af_xdp::Error>(())
/// ```
pub fn xskmap_by_handshake(socket: &Path, iface: &str, opts: &HandshakeOptions) -> Result<XskMap> {
    let got = exchange(socket, Some(iface), None, &[], opts)?;
    got.expect("the exchange asked for the map and succeeded")
}

/// Has the device plugin at `socket` set busy polling (`cfg`) on each of
/// `sockets` (AF_XDP socket fds), which an unprivileged process may not do
/// itself; one connection for all of them.
pub fn busy_poll_by_handshake(
    socket: &Path,
    sockets: &[BorrowedFd<'_>],
    cfg: BusyPoll,
    opts: &HandshakeOptions,
) -> Result<()> {
    exchange(socket, None, Some(cfg), sockets, opts).map(|_| ())
}

/// Asks for the XSKMAP of `iface` and busy polling on `sockets` in one
/// connection (for a server that serves one connection per socket).
pub fn xskmap_and_busy_poll_by_handshake(
    socket: &Path,
    iface: &str,
    sockets: &[BorrowedFd<'_>],
    cfg: BusyPoll,
    opts: &HandshakeOptions,
) -> Result<XskMap> {
    let got = exchange(socket, Some(iface), Some(cfg), sockets, opts)?;
    got.expect("the exchange asked for the map and succeeded")
}

/// Checks that a device plugin answers at `socket`: `/connect`,
/// `/version` and `/fin`, asking for nothing (what `sockctl doctor` does
/// without an interface). Against the reference plugin, which serves one
/// connection per socket, this uses that connection up.
pub fn probe_handshake(socket: &Path, opts: &HandshakeOptions) -> Result<()> {
    exchange(socket, None, None, &[], opts).map(|_| ())
}

/// The subject of a handshake error: the socket, and the interface.
fn subject(socket: &Path, iface: Option<&str>) -> String {
    match iface {
        Some(i) => format!("{} ({i})", socket.display()),
        None => socket.display().to_string(),
    }
}

fn client_error(socket: &Path, iface: Option<&str>, e: ClientError) -> Error {
    let kind = match e {
        ClientError::Refused { .. } => ErrorKind::Refused,
        _ => ErrorKind::Protocol,
    };
    let err = Error::new(
        kind,
        "device-plugin handshake",
        subject(socket, iface),
        e.to_string(),
    );
    match e {
        ClientError::Refused {
            response: Response::HostNak,
            ..
        } => err.with_hint("the device plugin does not know this pod name: is the pod name (hostname) the one the interface was allocated to?"),
        ClientError::Refused {
            response: Response::FdNak,
            ..
        } => err.with_hint(format!(
            "the device plugin does not serve {} to this pod",
            iface.unwrap_or("this interface")
        )),
        _ => err,
    }
}

fn exchange(
    socket: &Path,
    iface: Option<&str>,
    busy_poll: Option<BusyPoll>,
    sockets: &[BorrowedFd<'_>],
    opts: &HandshakeOptions,
) -> Result<Option<Result<XskMap>>> {
    let hostname = opts.hostname();
    let sub = || subject(socket, iface);
    let room = MAX_REQUEST_LEN - "/connect,".len();
    if hostname.len() > room {
        return Err(Error::invalid(
            "device-plugin handshake",
            sub(),
            format!(
                "pod name {hostname:?} is {} bytes; /connect carries at most {room} within the protocol's {MAX_REQUEST_LEN}-byte requests",
                hostname.len()
            ),
        )
        .with_hint("use a shorter pod name (hostname)"));
    }
    let mut config = ClientConfig::new(&hostname);
    if let Some(i) = iface {
        config = config.map_fd(i);
    }
    if let Some(bp) = busy_poll {
        let n = u32::try_from(sockets.len()).unwrap_or(u32::MAX);
        let budget = u16::try_from(bp.budget).map_err(|_| {
            Error::invalid(
                "device-plugin handshake",
                sub(),
                format!("busy-poll budget {} is above 65535", bp.budget),
            )
        })?;
        config = config.busy_poll(
            WireBusyPoll {
                timeout_us: bp.timeout_us,
                budget,
            },
            n,
        );
    }
    if opts.pipeline {
        config = config.pipelined();
    }
    let mut machine = ClientMachine::new(config)
        .map_err(|e| Error::invalid("device-plugin handshake", sub(), e.to_string()))?;
    let conn = connect(socket, iface, opts.step_timeout)?;
    let mut out = [0u8; MAX_REQUEST_LEN];
    // One byte more than a response may have: a longer one is seen as such.
    let mut inbuf = [0u8; MAX_RESPONSE_LEN + 1];
    let mut map_fd: Option<OwnedFd> = None;
    let depth = if opts.pipeline { PIPELINE_DEPTH } else { 1 };
    let spin = may_spin();
    while !machine.is_done() {
        // Send what may go out now: the next request, or (pipelined) up to
        // `depth` ahead of the answers.
        while machine.awaiting() < depth {
            let req = match machine.next_request(&mut out) {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) => return Err(client_error(socket, iface, e)),
            };
            let fds: Vec<BorrowedFd<'_>> = req
                .send_socket
                .and_then(|i| sockets.get(i as usize).copied())
                .into_iter()
                .collect();
            match unix::send_msg(conn.as_fd(), &out[..req.len], &fds) {
                Ok(_) => {}
                // Pipelined, the server may have refused an earlier request
                // and closed already: its answer is waiting to be read, and
                // says more than this error.
                Err(Errno::EPIPE | Errno::ECONNRESET) if machine.awaiting() > 1 => break,
                Err(e) => return Err(step_error(socket, iface, "send", &req.step.to_string(), e)),
            }
        }
        // The answer to the oldest request out.
        let step = machine
            .step()
            .map_or_else(|| "the exchange".to_string(), |s| s.to_string());
        if spin {
            // The blocking receive that follows takes over either way.
            let mut p = [PollFd {
                fd: conn.as_fd().as_raw(),
                events: POLLIN,
                revents: 0,
            }];
            let _ = poll_spinning(&mut p, std::time::Instant::now() + ANSWER_SPIN);
        }
        let mut slots: [Option<OwnedFd>; 1] = [None];
        let got = match unix::recv_msg(conn.as_fd(), &mut inbuf, &mut slots) {
            Ok(got) => got,
            // A server that closes with requests of ours still unread (it
            // refused one, pipelined requests were behind it) resets the
            // connection, and the kernel reports that error once, before
            // the answers still queued here: read again for them (the
            // refusal says more than the reset). Nothing left: a close.
            Err(Errno::ECONNRESET) => match unix::recv_msg(conn.as_fd(), &mut inbuf, &mut slots) {
                Ok(got) => got,
                Err(e) => return Err(step_error(socket, iface, "receive the answer to", &step, e)),
            },
            Err(e) => return Err(step_error(socket, iface, "receive the answer to", &step, e)),
        };
        // The kernel can report the close before the last message the
        // server sent just before closing: a reader that finds the queue
        // empty and then sees the shutdown, with the send and the close
        // both falling between the two looks (seen at /fin under load).
        // Look once more, without waiting, before calling it a close.
        let got = if got.len == 0 && got.fds_received() == 0 {
            unix::recv_msg_nowait(conn.as_fd(), &mut inbuf, &mut slots).unwrap_or(got)
        } else {
            got
        };
        if got.len == 0 && got.fds_received() == 0 {
            return Err(Error::new(
                ErrorKind::Disconnected,
                "device-plugin handshake",
                sub(),
                format!("the server closed the connection instead of answering {step}"),
            ));
        }
        // Every fd beyond the one slot is closed already; the one in the
        // slot is closed on drop unless it is the map.
        let event = machine
            .on_response(&inbuf[..got.len], got.fds_received())
            .map_err(|e| client_error(socket, iface, e))?;
        if event == ClientEvent::MapReceived {
            map_fd = slots[0].take();
        }
    }
    Ok(iface.map(|_| {
        let fd = map_fd.ok_or_else(|| {
            Error::new(
                ErrorKind::Protocol,
                "device-plugin handshake",
                sub(),
                "no XSKMAP fd came",
            )
        })?;
        XskMap::from_fd(fd).map_err(|e| {
            if e.errno() == Some(Errno::EPERM) {
                // bpf(2) itself refused: not the server's fault.
                return Error::sys("check the XSKMAP handed over", sub(), Errno::EPERM)
                    .with_detail("bpf(2) is not allowed here")
                    .with_hint("a seccomp profile blocks bpf() in this container (Kubernetes' default profile does): allow it, or run the pod Unconfined; on kernels before 5.19, kernel.unprivileged_bpf_disabled must be 0 or the process needs CAP_BPF");
            }
            Error::new(
                ErrorKind::Protocol,
                "device-plugin handshake",
                sub(),
                format!(
                    "the fd handed over is not an XSKMAP: {}",
                    e.detail()
                        .map(|d| d.trim_start_matches("not an XSKMAP: ").to_string())
                        .unwrap_or_else(|| e.to_string())
                ),
            )
        })
    }))
}

/// How long the client looks for an answer before it sleeps in `recvmsg`.
/// A server on another CPU answers within tens of µs, and waking a CPU
/// that went idle costs about as much again (more on a VM). A handshake
/// happens once per pod or queue: the spin costs nothing that matters.
const ANSWER_SPIN: Duration = Duration::from_micros(200);

fn step_error(socket: &Path, iface: Option<&str>, what: &str, step: &str, e: Errno) -> Error {
    let err = Error::sys(
        format!("device-plugin handshake: {what} {step}"),
        subject(socket, iface),
        e,
    );
    if e == Errno::EAGAIN || e == Errno::ETIMEDOUT {
        err.with_kind(ErrorKind::TimedOut)
            .with_detail("no answer in time")
    } else {
        err
    }
}

/// Connects to the server's socket with send and receive timeouts.
fn connect(socket: &Path, iface: Option<&str>, timeout: Duration) -> Result<OwnedFd> {
    let addr = UnixAddr::try_from(socket)
        .map_err(|e| Error::sys("connect to the device plugin", subject(socket, iface), e))?;
    let fd =
        unix::seqpacket().map_err(|e| Error::sys("socket(AF_UNIX)", subject(socket, iface), e))?;
    let t = Some(timeout);
    afxdp_sys::socket::set_recv_timeout(fd.as_fd(), t)
        .and_then(|()| afxdp_sys::socket::set_send_timeout(fd.as_fd(), t))
        .map_err(|e| Error::sys("set socket timeouts", subject(socket, iface), e))?;
    unix::connect(fd.as_fd(), &addr).map_err(|e| {
        let err = Error::sys("connect to the device plugin", subject(socket, iface), e);
        match e {
            Errno::ENOENT => err.with_hint("no socket there: is the device-plugin side running for this interface, and is its directory mounted here?"),
            Errno::ECONNREFUSED => err.with_hint("nothing listens on it: the device-plugin side may have exited, or (the reference plugin) already served its one connection"),
            Errno::EACCES | Errno::EPERM => err.with_hint("this user may not connect to it: check the socket's and its directory's owner and mode"),
            _ => err,
        }
    })?;
    Ok(fd)
}

/// The default handshake socket of `iface`: `/tmp/afxdp_dp/<iface>/afxdp.sock`.
pub fn default_socket_path(iface: &str) -> PathBuf {
    PathBuf::from(format!(
        "{}/{iface}/{}",
        crate::vdev::DP_BASE_PATH,
        crate::vdev::DP_SOCKET_NAME
    ))
}
