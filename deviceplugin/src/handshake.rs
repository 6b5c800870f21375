//! The handshake side: the library's [`Server`]s, one thread per device.
//!
//! Allocate asks for a device to be served ([`Handshake::serve`]): a thread
//! of the device's own prepares it with the library (XSKMAP, redirect
//! program, BPF link, pin) and listens on `<dp_dir>/<dev>/afxdp.sock`. The
//! thread loops `serve(ROUND)` over its one server and takes commands in
//! between; a command wakes it (its server's [`ServerWaker`]). Each device has its own thread so that what blocks one
//! device's server blocks nothing else: the pod check (kubelet's
//! pod-resources, up to its timeout when kubelet is slow), preparing a
//! netdev (an RCU grace period of the kernel's per program attached), a
//! slow client.
//!
//! A device stays served until the daemon stops, also while its netdev is
//! not in the daemon's network namespace: a CNI may move it into the pod's,
//! and the BPF link, the program and the XSKMAP stay with it. When a netdev
//! of that name shows up with another interface index (the old one was
//! deleted and a new one made), it is prepared anew, the same way.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use af_xdp::handshake::server::{
    ConnectionLog, InterfaceOptions, PodChecker, PodPolicy, Server, ServerConfig, ServerWaker,
};
use af_xdp::handshake::Owner;
use af_xdp::{AttachKind, PrepareOptions};
use tokio::sync::oneshot;

use crate::{error, info, warn};

/// The longest round a device's thread serves before it looks at its
/// commands; a command wakes it at once (its server's waker), so this only
/// bounds what a lost wake could cost. Idle, each thread wakes once a
/// round.
const ROUND: Duration = Duration::from_secs(1);

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

/// What a device's thread is asked to do.
enum Command {
    /// Say where the device is served (serving it again if it is not).
    Serve {
        reply: oneshot::Sender<Result<Served, String>>,
    },
    /// A netdev of the device's name has this interface index.
    Seen { ifindex: u32 },
    /// Unserve and end.
    Stop,
}

/// One device's thread.
struct DeviceThread {
    tx: Sender<Command>,
    waker: ServerWaker,
    join: JoinHandle<()>,
}

impl DeviceThread {
    /// Sends `c` and wakes the thread; gives `c` back if it has ended.
    fn send(&self, c: Command) -> Result<(), Command> {
        self.tx.send(c).map_err(|mpsc::SendError(c)| c)?;
        self.waker.wake();
        Ok(())
    }
}

/// The devices' threads; `None` once stopped.
type Devices = Mutex<Option<HashMap<String, DeviceThread>>>;

/// A handle on the handshake side; cheap to clone.
#[derive(Clone)]
pub struct Handshake {
    config: Arc<HandshakeConfig>,
    devices: Arc<Devices>,
}

/// The handshake side itself: [`stop`](Self::stop) it to unserve
/// everything.
pub struct Handshakes {
    handle: Handshake,
}

impl Handshakes {
    /// The handshake side; it serves nothing (and runs no thread) until
    /// asked.
    pub fn new(config: HandshakeConfig) -> Handshakes {
        Handshakes {
            handle: Handshake {
                config: Arc::new(config),
                devices: Arc::new(Mutex::new(Some(HashMap::new()))),
            },
        }
    }

    /// A handle to ask it things.
    pub fn handle(&self) -> Handshake {
        self.handle.clone()
    }

    /// Closes every connection and socket, unpins and detaches (or, with a
    /// state directory, leaves the attachments for the next daemon), and
    /// waits for the devices' threads; they stop at once, side by side.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        let Some(devices) = lock(&self.handle.devices).take() else {
            return;
        };
        for d in devices.values() {
            let _ = d.send(Command::Stop);
        }
        for (dev, d) in devices {
            if d.join.join().is_err() {
                error!("handshake: the thread of {dev} panicked");
            }
        }
    }
}

impl Drop for Handshakes {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// The lock, also after a thread panicked while holding it (what it holds
/// stays consistent: every change is one insert or remove).
fn lock(devices: &Devices) -> MutexGuard<'_, Option<HashMap<String, DeviceThread>>> {
    devices.lock().unwrap_or_else(|p| p.into_inner())
}

impl Handshake {
    /// Serves `dev` (prepares it and listens), or says where it is served
    /// already.
    pub async fn serve(&self, dev: &str, spec: ServeSpec) -> Result<Served, String> {
        let (reply, rx) = oneshot::channel();
        {
            let mut guard = lock(&self.devices);
            let devices = guard
                .as_mut()
                .ok_or_else(|| "the handshake side has stopped".to_string())?;
            // A live thread answers (serving the device first if its last
            // try failed); one that has ended (it panicked) is replaced.
            let reply = match devices.get(dev) {
                Some(d) => match d.send(Command::Serve { reply }) {
                    Ok(()) => None,
                    Err(Command::Serve { reply }) => Some(reply),
                    // Not what was sent: the reply is dropped, and the
                    // caller hears that the thread stopped.
                    Err(_) => None,
                },
                None => Some(reply),
            };
            if let Some(reply) = reply {
                if let Some(old) = devices.remove(dev) {
                    let _ = old.join.join();
                }
                let thread = DeviceThread::start(self.config.clone(), dev, spec, reply)
                    .map_err(|e| format!("{dev}: start its handshake thread: {e}"))?;
                devices.insert(dev.to_string(), thread);
            }
        }
        rx.await
            .map_err(|_| format!("{dev}: its handshake thread has stopped"))?
    }

    /// A netdev named `dev` is (back) in the daemon's namespace with index
    /// `ifindex`: if `dev` was served on another netdev, prepare it anew.
    pub fn netdev_seen(&self, dev: &str, ifindex: u32) {
        if let Some(d) = lock(&self.devices).as_ref().and_then(|m| m.get(dev)) {
            let _ = d.send(Command::Seen { ifindex });
        }
    }
}

fn log_connection(log: &ConnectionLog) {
    info!("handshake: {log}");
}

impl DeviceThread {
    /// Starts the thread of `dev`; it answers `reply` once it serves `dev`
    /// or failed to, and runs until told to stop.
    fn start(
        config: Arc<HandshakeConfig>,
        dev: &str,
        spec: ServeSpec,
        reply: oneshot::Sender<Result<Served, String>>,
    ) -> Result<DeviceThread, String> {
        let (tx, rx) = mpsc::channel();
        let mut d = Device::new(&config, dev.to_string(), spec);
        let waker = d.server.waker().map_err(|e| e.to_string())?;
        // Linux keeps 15 bytes of a thread's name.
        let join = std::thread::Builder::new()
            .name(format!("hs-{dev}"))
            .spawn(move || {
                // Served or not, the thread stays: a later Serve tries
                // again (so none is sent to a thread about to end).
                let _ = reply.send(d.serve());
                d.run(rx);
            })
            .map_err(|e| e.to_string())?;
        Ok(DeviceThread { tx, waker, join })
    }
}

/// One device and its server, on the device's thread.
struct Device {
    dev: String,
    spec: ServeSpec,
    server: Server,
    keep_on_stop: bool,
}

impl Device {
    fn new(c: &HandshakeConfig, dev: String, spec: ServeSpec) -> Device {
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
        Device {
            dev,
            spec,
            server,
            keep_on_stop: c.state_dir.is_some(),
        }
    }

    fn run(mut self, rx: Receiver<Command>) {
        loop {
            loop {
                match rx.try_recv() {
                    Ok(Command::Serve { reply }) => {
                        let _ = reply.send(self.serve());
                    }
                    Ok(Command::Seen { ifindex }) => self.seen(ifindex),
                    Ok(Command::Stop) | Err(mpsc::TryRecvError::Disconnected) => {
                        self.stop();
                        return;
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                }
            }
            if let Err(e) = self.server.serve(ROUND, &mut log_connection) {
                error!("handshake: {}: {e}", self.dev);
                // Not a busy loop on a poll that keeps failing.
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    fn served(&self) -> Option<Served> {
        let socket = self.server.socket_path(&self.dev)?;
        let pin = self
            .server
            .interfaces()
            .find(|(n, _)| *n == self.dev)
            .and_then(|(_, p)| p.pin_path().map(PathBuf::from));
        Some(Served { socket, pin })
    }

    fn add(&mut self) -> Result<Served, String> {
        let owner = Owner {
            uid: Some(self.spec.uid),
            gid: Some(self.spec.uid),
        };
        self.server
            .add_interface_with(&self.dev, InterfaceOptions { owner: Some(owner) })
            .map_err(|e| match e.hint() {
                Some(h) => format!("{e} ({h})"),
                None => e.to_string(),
            })?;
        self.served()
            .ok_or_else(|| format!("{}: served but its socket is unknown", self.dev))
    }

    /// Where the device is served, serving it first if it is not.
    fn serve(&mut self) -> Result<Served, String> {
        if let Some(s) = self.served() {
            return Ok(s);
        }
        let served = self.add()?;
        let adopted = self
            .server
            .interfaces()
            .any(|(n, p)| n == self.dev && p.is_adopted());
        info!(
            "handshake: serving {} on {}{}{}",
            self.dev,
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
        Ok(served)
    }

    /// The interface index the device was prepared on, if it is served.
    fn served_ifindex(&self) -> Option<u32> {
        self.server
            .interfaces()
            .find(|(n, _)| *n == self.dev)
            .map(|(_, p)| p.netdev().ifindex())
    }

    fn seen(&mut self, ifindex: u32) {
        let dev = self.dev.clone();
        match self.served_ifindex() {
            Some(i) if i == ifindex => return,
            Some(i) => {
                warn!("handshake: {dev} is a new netdev (index {ifindex}, was {i}): preparing it anew");
                self.server.remove_interface(&dev, &mut log_connection);
            }
            None => {}
        }
        match self.add() {
            Ok(s) => info!("handshake: serving {dev} again on {}", s.socket.display()),
            Err(e) => error!("handshake: {dev} cannot be served again: {e}"),
        }
    }

    fn stop(self) {
        if let Err(e) = self.server.shutdown(self.keep_on_stop, &mut log_connection) {
            error!("handshake: {}: shutdown: {e}", self.dev);
        }
    }
}
