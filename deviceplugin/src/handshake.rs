//! The handshake side: the library's [`Server`]s, on a thread of their own.
//!
//! Allocate asks this thread to serve a device ([`Handshake::serve`]): the
//! library prepares it (XSKMAP, redirect program, BPF link, pin) and
//! listens on `<dp_dir>/<dev>/afxdp.sock`. The thread loops
//! `serve(50 ms)` over its servers and takes commands in between; the pod
//! check the servers run (kubelet's pod-resources) blocks only this
//! thread. Servers differ only by what a pool configures (pinning, idle
//! timeout); there is one per such combination.
//!
//! A device stays served until the daemon stops, also while its netdev is
//! not in the daemon's network namespace: a CNI may move it into the pod's,
//! and the BPF link, the program and the XSKMAP stay with it. When a netdev
//! of that name shows up with another interface index (the old one was
//! deleted and a new one made), it is prepared anew, the same way.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use af_xdp::handshake::server::{
    ConnectionLog, InterfaceOptions, PodChecker, PodPolicy, Server, ServerConfig,
};
use af_xdp::handshake::Owner;
use af_xdp::{AttachKind, PrepareOptions};
use tokio::sync::oneshot;

use crate::{error, info, warn};

/// How a device is served: what its pool configures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeSpec {
    /// Pin the XSKMAP under the pin directory.
    pub pin: bool,
    /// Close connections idle this long.
    pub idle_timeout: Option<Duration>,
    /// Owner (uid and gid) of the socket, its directory and the pin.
    pub uid: u32,
}

/// Where a served device's files are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// The handshake socket.
    pub socket: PathBuf,
    /// The pinned XSKMAP, if pinned.
    pub pin: Option<PathBuf>,
}

/// What every server shares.
#[derive(Clone)]
pub struct HandshakeConfig {
    /// Where sockets go (`<dir>/<dev>/afxdp.sock`).
    pub dp_dir: PathBuf,
    /// A bpffs directory for pins (`<pin_dir>/<dev>/xsks_map`).
    pub pin_dir: PathBuf,
    /// A bpffs directory where links and maps are pinned so that they
    /// outlive the daemon (see [`PrepareOptions::state_dir`]).
    pub state_dir: Option<PathBuf>,
    /// The pod check.
    pub checker: Arc<dyn PodChecker>,
}

enum Command {
    Serve {
        dev: String,
        spec: ServeSpec,
        reply: oneshot::Sender<Result<Served, String>>,
    },
    Seen {
        dev: String,
        ifindex: u32,
    },
    Stop,
}

/// A handle on the handshake thread; cheap to clone.
#[derive(Clone)]
pub struct Handshake {
    tx: Sender<Command>,
}

/// The thread itself: [`stop`](Self::stop) it to unserve everything.
pub struct HandshakeThread {
    handle: Handshake,
    join: Option<JoinHandle<()>>,
}

impl HandshakeThread {
    /// Starts the thread; it serves nothing until asked.
    pub fn start(config: HandshakeConfig) -> std::io::Result<HandshakeThread> {
        let (tx, rx) = mpsc::channel();
        let join = std::thread::Builder::new()
            .name("handshake".into())
            .spawn(move || run(config, rx))?;
        Ok(HandshakeThread {
            handle: Handshake { tx },
            join: Some(join),
        })
    }

    /// A handle to send it commands.
    pub fn handle(&self) -> Handshake {
        self.handle.clone()
    }

    /// Closes every connection and socket, unpins and detaches (or, with a
    /// state directory, leaves the attachments for the next daemon), and
    /// waits for the thread.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        let _ = self.handle.tx.send(Command::Stop);
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

impl Drop for HandshakeThread {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

impl Handshake {
    /// Serves `dev` (prepares it and listens), or says where it is served
    /// already.
    pub async fn serve(&self, dev: &str, spec: ServeSpec) -> Result<Served, String> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Serve {
                dev: dev.to_string(),
                spec,
                reply,
            })
            .map_err(|_| "the handshake thread has stopped".to_string())?;
        rx.await
            .map_err(|_| "the handshake thread has stopped".to_string())?
    }

    /// A netdev named `dev` is (back) in the daemon's namespace with index
    /// `ifindex`: if `dev` was served on another netdev, prepare it anew.
    pub fn netdev_seen(&self, dev: &str, ifindex: u32) {
        let _ = self.tx.send(Command::Seen {
            dev: dev.to_string(),
            ifindex,
        });
    }
}

struct State {
    config: HandshakeConfig,
    /// One server per (pin, idle timeout).
    servers: Vec<((bool, Option<Duration>), Server)>,
    /// Every device asked for, and how.
    wanted: HashMap<String, ServeSpec>,
}

fn log_connection(log: &ConnectionLog) {
    info!("handshake: {log}");
}

fn run(config: HandshakeConfig, rx: Receiver<Command>) {
    let mut st = State {
        config,
        servers: Vec::new(),
        wanted: HashMap::new(),
    };
    const ROUND: Duration = Duration::from_millis(50);
    loop {
        // Commands first; with nothing served, wait for one.
        let first = if st.servers.is_empty() {
            match rx.recv_timeout(ROUND) {
                Ok(c) => Some(c),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => Some(Command::Stop),
            }
        } else {
            None
        };
        let mut cmds: Vec<Command> = first.into_iter().collect();
        loop {
            match rx.try_recv() {
                Ok(c) => cmds.push(c),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    cmds.push(Command::Stop);
                    break;
                }
            }
        }
        for c in cmds {
            match c {
                Command::Serve { dev, spec, reply } => {
                    let _ = reply.send(st.serve(&dev, spec));
                }
                Command::Seen { dev, ifindex } => st.seen(&dev, ifindex),
                Command::Stop => {
                    st.stop();
                    return;
                }
            }
        }
        if st.servers.is_empty() {
            continue;
        }
        let per = ROUND / st.servers.len() as u32;
        for (_, server) in &mut st.servers {
            if let Err(e) = server.serve(per, &mut log_connection) {
                error!("handshake: {e}");
                std::thread::sleep(per);
            }
        }
    }
}

impl State {
    fn server_for(&mut self, spec: ServeSpec) -> &mut Server {
        let key = (spec.pin, spec.idle_timeout);
        if let Some(i) = self.servers.iter().position(|(k, _)| *k == key) {
            return &mut self.servers[i].1;
        }
        let c = &self.config;
        let config = ServerConfig {
            dir: c.dp_dir.clone(),
            pods: PodPolicy::Custom(c.checker.clone()),
            idle_timeout: spec.idle_timeout,
            prepare: PrepareOptions {
                attach: AttachKind::Link,
                // Read and write for the owner: what BPF_OBJ_GET needs.
                pin_mode: Some(0o600),
                state_dir: c.state_dir.clone(),
                ..PrepareOptions::default()
            },
            pin_dir: spec.pin.then(|| c.pin_dir.clone()),
            ..ServerConfig::default()
        };
        // No interfaces yet: this cannot fail (it makes nothing).
        let server = Server::new::<&str>(&[], config).expect("a server with no interfaces");
        self.servers.push((key, server));
        &mut self.servers.last_mut().expect("just pushed").1
    }

    fn served(&self, dev: &str) -> Option<Served> {
        self.servers.iter().find_map(|(_, s)| {
            let socket = s.socket_path(dev)?;
            let pin = s
                .interfaces()
                .find(|(n, _)| *n == dev)
                .and_then(|(_, p)| p.pin_path().map(PathBuf::from));
            Some(Served { socket, pin })
        })
    }

    fn add(&mut self, dev: &str, spec: ServeSpec) -> Result<Served, String> {
        let owner = Owner {
            uid: Some(spec.uid),
            gid: Some(spec.uid),
        };
        let server = self.server_for(spec);
        server
            .add_interface_with(dev, InterfaceOptions { owner: Some(owner) })
            .map_err(|e| match e.hint() {
                Some(h) => format!("{e} ({h})"),
                None => e.to_string(),
            })?;
        self.served(dev)
            .ok_or_else(|| format!("{dev}: served but its socket is unknown"))
    }

    fn serve(&mut self, dev: &str, spec: ServeSpec) -> Result<Served, String> {
        if let Some(s) = self.served(dev) {
            return Ok(s);
        }
        let served = self.add(dev, spec)?;
        let adopted = self
            .servers
            .iter()
            .any(|(_, s)| s.interfaces().any(|(n, p)| n == dev && p.is_adopted()));
        info!(
            "handshake: serving {dev} on {}{}{}",
            served.socket.display(),
            if adopted {
                " (program and XSKMAP adopted from the state directory)"
            } else {
                ""
            },
            served
                .pin
                .as_ref()
                .map(|p| format!(", XSKMAP pinned at {}", p.display()))
                .unwrap_or_default()
        );
        self.wanted.insert(dev.to_string(), spec);
        Ok(served)
    }

    /// The interface index `dev` was prepared on, if it is served.
    fn served_ifindex(&self, dev: &str) -> Option<u32> {
        self.servers.iter().find_map(|(_, s)| {
            s.interfaces()
                .find(|(n, _)| *n == dev)
                .map(|(_, p)| p.netdev().ifindex())
        })
    }

    fn seen(&mut self, dev: &str, ifindex: u32) {
        let Some(&spec) = self.wanted.get(dev) else {
            return;
        };
        match self.served_ifindex(dev) {
            Some(i) if i == ifindex => return,
            Some(i) => {
                warn!("handshake: {dev} is a new netdev (index {ifindex}, was {i}): preparing it anew");
                for (_, s) in &mut self.servers {
                    s.remove_interface(dev, &mut log_connection);
                }
            }
            None => {}
        }
        match self.add(dev, spec) {
            Ok(s) => info!("handshake: serving {dev} again on {}", s.socket.display()),
            Err(e) => error!("handshake: {dev} cannot be served again: {e}"),
        }
    }

    fn stop(&mut self) {
        let keep = self.config.state_dir.is_some();
        for (_, server) in self.servers.drain(..) {
            if let Err(e) = server.shutdown(keep, &mut log_connection) {
                error!("handshake: shutdown: {e}");
            }
        }
    }
}
