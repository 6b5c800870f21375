//! `afxdp-device-plugin`: a Kubernetes device plugin for AF_XDP netdevs, a
//! drop-in replacement for the reference AF_XDP device plugin, built on the
//! `af-xdp` library (no libbpf, no libxdp, no cgo).
//!
//! It reads the reference plugin's `config.json` ([`config`]), finds each
//! pool's netdevs ([`devices`]), serves one `DevicePlugin` per pool on
//! `<plugin_dir>/afxdp-<pool>.sock` and registers it with kubelet as
//! `afxdp/<pool>`, again whenever kubelet restarts ([`kubelet`]). Health is
//! real: a netdev that is gone or down is reported unhealthy. Allocate has
//! the library prepare each device and serve the handshake on
//! `<dp_dir>/<dev>/afxdp.sock` ([`handshake`]), and returns the mounts and
//! environment the reference plugin returns ([`plugin`]), so DPDK's AF_XDP
//! PMD (`use_cni=1` or `use_pinned_map=1`) works unchanged in the pod. A
//! `/connect,<pod>` is accepted when kubelet's pod-resources API says a pod
//! of that name holds that very device ([`podcheck`]).
//!
//! [`run`] starts it all and returns a [`Daemon`]; the binary parses flags,
//! calls it and waits for a signal.

pub mod api;
pub mod config;
pub mod devices;
pub mod handshake;
pub mod known;
pub mod kubelet;
pub mod log;
pub mod plugin;
pub mod podcheck;
mod ticker;
pub mod uds;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use crate::api::podresources::ListPodResourcesResponse;
use crate::config::Config;
use crate::devices::{By, HostNetdevs, Hw, NetdevState, Pick, Pooled, Sysfs, Transient};
use crate::handshake::{Handshake, HandshakeConfig, Handshakes};
use crate::known::Known;
use crate::kubelet::Endpoint;
use crate::plugin::{device_list, PoolPlugin};
use crate::podcheck::PodResourcesCheck;
use crate::ticker::Ticker;

/// Kubelet's device-plugin directory.
pub const DEFAULT_PLUGIN_DIR: &str = "/var/lib/kubelet/device-plugins";
/// Kubelet's pod-resources socket.
pub const DEFAULT_POD_RESOURCES_SOCKET: &str = "/var/lib/kubelet/pod-resources/kubelet.sock";
/// Where the handshake sockets go (DPDK's default directory).
pub const DEFAULT_DP_DIR: &str = af_xdp::vdev::DP_BASE_PATH;
/// Where XSKMAPs are pinned for `bpfMapPinningEnable` pools (a bpffs).
pub const DEFAULT_PIN_DIR: &str = "/sys/fs/bpf/afxdp_dp";

/// Everything [`run`] needs.
#[derive(Clone, Debug)]
pub struct Options {
    /// The parsed config.
    pub config: Config,
    /// Kubelet's device-plugin directory (its `kubelet.sock`, our sockets).
    pub plugin_dir: PathBuf,
    /// Kubelet's pod-resources socket.
    pub pod_resources_socket: PathBuf,
    /// Where handshake sockets go: `<dp_dir>/<dev>/afxdp.sock`.
    pub dp_dir: PathBuf,
    /// Where pins go: `<pin_dir>/<dev>/xsks_map` (on a bpffs).
    pub pin_dir: PathBuf,
    /// A bpffs directory that keeps attachments across a restart of the
    /// daemon (`None`: detach everything on exit).
    pub state_dir: Option<PathBuf>,
    /// This node's name, for the config's `nodes` entries.
    pub node_name: String,
    /// How often netdev health is checked.
    pub health_interval: Duration,
    /// How often kubelet's socket and ours are checked.
    pub kubelet_interval: Duration,
    /// How long a pod check may wait for kubelet's pod-resources answer.
    pub pod_lookup_timeout: Duration,
    /// Where device discovery reads netdevs (`/sys/class/net`).
    pub sysfs_net: PathBuf,
}

impl Options {
    /// The defaults (kubelet's paths, DPDK's directory), for `config`.
    pub fn new(config: Config) -> Options {
        Options {
            config,
            plugin_dir: DEFAULT_PLUGIN_DIR.into(),
            pod_resources_socket: DEFAULT_POD_RESOURCES_SOCKET.into(),
            dp_dir: DEFAULT_DP_DIR.into(),
            pin_dir: DEFAULT_PIN_DIR.into(),
            state_dir: None,
            node_name: node_name(),
            health_interval: Duration::from_millis(500),
            kubelet_interval: Duration::from_millis(250),
            pod_lookup_timeout: Duration::from_secs(2),
            sysfs_net: "/sys/class/net".into(),
        }
    }
}

/// This node's name: `$NODE_NAME` (a DaemonSet sets it from
/// `spec.nodeName`), else the host name.
pub fn node_name() -> String {
    if let Ok(n) = std::env::var("NODE_NAME") {
        if !n.is_empty() {
            return n;
        }
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The running daemon; [`shutdown`](Self::shutdown) (or drop) stops it:
/// its sockets are removed and every device is unserved.
pub struct Daemon {
    rt: Option<tokio::runtime::Runtime>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    handshake: Option<Handshakes>,
    pool_names: Vec<String>,
    pooled: Pooled,
}

/// Starts the daemon: discovers the devices, sets up the handshake side,
/// listens on each pool's socket, and starts health checks and kubelet
/// registration (which waits for kubelet's socket).
pub fn run(opts: Options) -> Result<Daemon, String> {
    log::set_level(opts.config.log_level);
    let config = &opts.config;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("afxdp-dp")
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;

    // Which devices each pool has: first those kubelet gave pods and that
    // are not here (a CNI moved them into the pods: after a restart of the
    // daemon no selector can see them), then what the selectors take.
    let pooled = Pooled::default();
    let mut order: Vec<String> = Vec::new();
    let lookup = podcheck::list_pods(&opts.pod_resources_socket, opts.pod_lookup_timeout);
    let allocations_pending = match rt.block_on(lookup) {
        Ok(list) => {
            order.extend(pool_allocations(config, &list, &pooled));
            false
        }
        Err(e) => {
            info!(
                "devices kubelet gave pods are not looked up yet ({e}): again at every health check until kubelet answers"
            );
            true
        }
    };
    // What an earlier daemon saw of those away: under another name, they
    // are not taken for new devices (nor, until kubelet answers, is any
    // device it pooled that is away now).
    let mut known = Known::load(&opts.dp_dir);
    learn_known(&pooled, &known);
    let sysfs = Sysfs::at(&opts.sysfs_net);
    let mut transient = Transient::default();
    let now = pooled.snapshot();
    let names = sysfs.names();
    tell_known_away(&mut transient, &known, &now, &names, allocations_pending);
    for p in devices::pick(config, &sysfs, &opts.node_name, &now, &mut transient, false) {
        if pooled.insert(&p.dev, p.pick) {
            order.push(p.dev);
        }
    }
    learn_known(&pooled, &known);
    keep_known(&pooled, &mut known, &names);
    if order.is_empty() {
        warn!(
            "no pool has a device on node {:?}: nothing is registered until one appears",
            opts.node_name
        );
    }
    // Only where pinning is used: a node without a bpffs can run a
    // configuration whose pinning pools have no devices there.
    if config
        .pools
        .iter()
        .any(|p| p.bpf_map_pinning && pooled.has_devices(&p.name))
    {
        pin_dir_ready(&opts.pin_dir)?;
    }

    let checker = PodResourcesCheck::new(
        opts.pod_resources_socket.clone(),
        opts.pod_lookup_timeout,
        pooled.clone(),
    )
    .map_err(|e| format!("pod check runtime: {e}"))?;
    let handshakes = Handshakes::new(HandshakeConfig {
        dp_dir: opts.dp_dir.clone(),
        pin_dir: opts.pin_dir.clone(),
        state_dir: opts.state_dir.clone(),
        checker: Arc::new(checker),
    });
    let hs = handshakes.handle();

    let _guard = rt.enter();
    let (shutdown, shutdown_rx) = watch::channel(false);

    let mut endpoints = Vec::new();
    let mut watched = Vec::new();
    for pool in &config.pools {
        let devs: Vec<String> = order
            .iter()
            .filter(|d| pooled.pool_of(d).as_deref() == Some(pool.name.as_str()))
            .cloned()
            .collect();
        let states: Vec<NetdevState> = devs.iter().map(|d| NetdevState::of(d)).collect();
        let list = device_list(
            &devs
                .iter()
                .zip(&states)
                .map(|(d, s)| (d.clone(), s.healthy()))
                .collect::<Vec<_>>(),
        );
        for (d, s) in devs.iter().zip(&states) {
            info!("{}: {d} is {}", pool.resource_name(), describe(*s));
        }
        if devs.is_empty() {
            warn!(
                "pool {}: no devices on this node yet: registered once one appears",
                pool.name
            );
        }
        let (tx, rx) = watch::channel(list);
        let pool = Arc::new(pool.clone());
        let service = PoolPlugin::new(pool.clone(), pooled.clone(), rx, hs.clone());
        let mut ep = Endpoint::new(pool.clone(), &opts.plugin_dir, service);
        if !devs.is_empty() {
            ep.listen().map_err(|e| {
                format!(
                    "{}: listen on {}: {e}",
                    pool.resource_name(),
                    opts.plugin_dir.join(pool.endpoint()).display()
                )
            })?;
        }
        endpoints.push(ep);
        watched.push(Watched {
            pool: pool.name.clone(),
            resource: pool.resource_name(),
            devices: devs.iter().cloned().zip(states).collect(),
            tx,
        });
    }
    let discovery = Discovery {
        config: config.clone(),
        sysfs,
        node: opts.node_name.clone(),
        pooled: pooled.clone(),
        names: Vec::new(),
        looks_skipped: 0,
        pin_dir: opts.pin_dir.clone(),
        allocations: allocations_pending.then(|| {
            look_up_allocations_later(
                opts.pod_resources_socket.clone(),
                opts.pod_lookup_timeout,
                opts.health_interval,
            )
        }),
        known,
        transient,
    };
    let tasks = vec![
        rt.spawn(watch_health(
            watched,
            discovery,
            hs.clone(),
            opts.health_interval,
            shutdown_rx.clone(),
        )),
        rt.spawn(kubelet::supervise(
            endpoints,
            opts.plugin_dir.clone(),
            opts.kubelet_interval,
            shutdown_rx,
        )),
    ];
    drop(_guard);
    let with_devices: Vec<String> = config
        .pools
        .iter()
        .filter(|p| pooled.has_devices(&p.name))
        .map(|p| p.resource_name())
        .collect();
    info!(
        "started: {} pool(s) with devices {:?}, handshake sockets in {}, kubelet at {}",
        with_devices.len(),
        with_devices,
        opts.dp_dir.display(),
        opts.plugin_dir.join(kubelet::KUBELET_SOCKET).display()
    );
    Ok(Daemon {
        rt: Some(rt),
        shutdown,
        tasks,
        handshake: Some(handshakes),
        pool_names: config.pools.iter().map(|p| p.name.clone()).collect(),
        pooled,
    })
}

impl Daemon {
    /// The pools, in config order, each with its devices as of now (a
    /// pool without any is not registered).
    pub fn pools(&self) -> Vec<(String, Vec<String>)> {
        let now = self.pooled.snapshot();
        self.pool_names
            .iter()
            .map(|name| {
                let devs = now
                    .iter()
                    .filter(|(_, p)| p.pool == *name)
                    .map(|(d, _)| d.clone())
                    .collect();
                (name.clone(), devs)
            })
            .collect()
    }

    /// Blocks until SIGTERM or SIGINT.
    pub fn wait_for_signal(&self) -> std::io::Result<()> {
        use tokio::signal::unix::{signal, SignalKind};
        let rt = self.rt.as_ref().expect("running");
        rt.block_on(async {
            let mut term = signal(SignalKind::terminate())?;
            let mut int = signal(SignalKind::interrupt())?;
            tokio::select! {
                _ = term.recv() => info!("SIGTERM: stopping"),
                _ = int.recv() => info!("SIGINT: stopping"),
            }
            Ok(())
        })
    }

    /// Stops everything: the pools' sockets are removed (kubelet sees the
    /// plugin go), ListAndWatch streams end, and every device is unserved.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let Some(rt) = self.rt.take() else {
            return;
        };
        let _ = self.shutdown.send(true);
        let tasks = std::mem::take(&mut self.tasks);
        rt.block_on(async {
            for t in tasks {
                let _ = tokio::time::timeout(Duration::from_secs(3), t).await;
            }
        });
        rt.shutdown_timeout(Duration::from_secs(2));
        if let Some(h) = self.handshake.take() {
            h.stop();
        }
        info!("stopped");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

fn describe(s: NetdevState) -> &'static str {
    match s {
        NetdevState::Gone => "absent (unhealthy)",
        NetdevState::Down(_) => "down (unhealthy)",
        NetdevState::Up(_) => "up (healthy)",
    }
}

/// One pool's devices as health last saw them.
struct Watched {
    pool: String,
    resource: String,
    devices: Vec<(String, NetdevState)>,
    tx: watch::Sender<Vec<api::v1beta1::Device>>,
}

/// Of the devices kubelet's pod-resources (`list`) says pods hold under a
/// pool's resource, those not in the daemon's network namespace (a CNI
/// moved them into the pods), which no selector can see: added to
/// `pooled` ([`By::Allocation`]) and returned, in order.
fn pool_allocations(
    config: &Config,
    list: &ListPodResourcesResponse,
    pooled: &Pooled,
) -> Vec<String> {
    let mut out = Vec::new();
    for a in podcheck::allocations(list) {
        let Some(pool) = config
            .pools
            .iter()
            .find(|p| p.resource_name() == a.resource)
        else {
            continue;
        };
        if !config::valid_ifname(a.device)
            || devices::prohibited(a.device)
            || NetdevState::of(a.device) != NetdevState::Gone
        {
            continue;
        }
        let pick = Pick {
            pool: pool.name.clone(),
            by: By::Allocation,
            hw: None,
        };
        if pooled.insert(a.device, pick) {
            info!(
                "pool {}: {} (allocated to pod {}/{}, per kubelet; not in this network namespace now)",
                pool.name, a.device, a.namespace, a.pod
            );
            out.push(a.device.to_string());
        }
    }
    out
}

/// Tells `transient` what `known` has of devices that are not in the host
/// (`names`: perhaps in pods) and not pooled with their hardware, and whether
/// kubelet has yet to say which devices pods hold (`pending`). Not a
/// device whose hardware the file also has under a name in the host: that
/// is where it is (the file can hold a device's old name beside its new).
fn tell_known_away(
    transient: &mut Transient,
    known: &Known,
    pooled: &BTreeMap<String, Pick>,
    names: &[String],
    pending: bool,
) {
    let here: Vec<&Hw> = known
        .iter()
        .filter(|(d, _)| names.contains(d))
        .map(|(_, h)| h)
        .collect();
    transient.known_away = known
        .iter()
        .filter(|(d, h)| {
            !names.contains(d) && pooled.get(*d).is_none_or(|p| p.hw.is_none()) && !here.contains(h)
        })
        .map(|(d, h)| (h.clone(), d.clone()))
        .collect();
    transient.strict = pending;
}

/// How long kubelet's pod-resources may stay silent before the daemon says
/// so, and how often it says so again.
const KUBELET_SILENT_WARNING: Duration = Duration::from_secs(60);
const KUBELET_SILENT_REPEAT: Duration = Duration::from_secs(600);

/// Asks kubelet for the pods' devices every `interval` until it answers;
/// the answer comes on the receiver (the task ends when that is dropped).
fn look_up_allocations_later(
    socket: PathBuf,
    timeout: Duration,
    interval: Duration,
) -> oneshot::Receiver<ListPodResourcesResponse> {
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let since = std::time::Instant::now();
        let mut warn_at = KUBELET_SILENT_WARNING;
        while !tx.is_closed() {
            match podcheck::list_pods(&socket, timeout).await {
                Ok(list) => {
                    let _ = tx.send(list);
                    return;
                }
                Err(e) if since.elapsed() >= warn_at => {
                    warn_at += KUBELET_SILENT_REPEAT;
                    warn!(
                        "kubelet's pod-resources has not answered for {:?} ({e}): devices pods hold are not pooled, and devices seen before under other names not taken, until it does",
                        since.elapsed()
                    );
                }
                Err(_) => {}
            }
            tokio::time::sleep(interval).await;
        }
    });
    rx
}

/// The hardware `known` has for pooled devices whose own is not known.
fn learn_known(pooled: &Pooled, known: &Known) {
    for (dev, p) in pooled.snapshot() {
        if let (None, Some(hw)) = (&p.hw, known.get(&dev)) {
            pooled.learn(&dev, hw.clone());
        }
    }
}

/// Keeps the pooled devices' hardware in `known`, `names` being the host's
/// netdevs (a failure is logged: the next change tries again).
fn keep_known(pooled: &Pooled, known: &mut Known, names: &[String]) {
    if let Err(e) = known.keep(&pooled.snapshot(), names) {
        warn!("keeping what devices are: {e}");
    }
}

/// Makes the pin directory, and checks it is on a bpffs, for a pool with
/// `bpfMapPinningEnable` that has a device.
fn pin_dir_ready(pin_dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(pin_dir)
        .map_err(|e| format!("create pin directory {}: {e}", pin_dir.display()))?;
    if af_xdp::map::on_bpffs(pin_dir) != Some(true) {
        return Err(format!(
            "pin directory {} is not on a bpffs, which bpfMapPinningEnable needs (mount -t bpf bpf /sys/fs/bpf, or give --pin-dir)",
            pin_dir.display()
        ));
    }
    Ok(())
}

/// Every this many health checks, [`Discovery::look`] runs its selectors
/// even though the host's netdevs have the same names (10 s at the default
/// 0.5 s interval).
const FULL_LOOK_EVERY: u32 = 20;

/// What the look for new devices needs.
struct Discovery {
    config: Config,
    sysfs: Sysfs,
    node: String,
    pooled: Pooled,
    /// The host's netdevs at the last look.
    names: Vec<String>,
    /// Looks since the selectors last ran.
    looks_skipped: u32,
    /// Where pins go (checked when a pinning pool gets its first device).
    pin_dir: PathBuf,
    /// Kubelet's answer to come, while the devices pods hold are still to
    /// be looked up (kubelet did not answer at start).
    allocations: Option<oneshot::Receiver<ListPodResourcesResponse>>,
    /// The hardware of devices seen, kept across restarts.
    known: Known,
    /// The netdevs taken for transient names, and since when.
    transient: Transient,
}

impl Discovery {
    /// Devices the selectors take now and no pool has yet, added to
    /// `pooled` and to their pool in `pools`; returns the pools that got
    /// one. Only when the host's netdevs are not the last look's (a device
    /// that appears, or comes back, is a new name in `/sys/class/net`), or
    /// after [`FULL_LOOK_EVERY`] looks without (for what a name does not
    /// show: a MAC set on a device a selector names by MAC). Each pooled
    /// device there gets its hardware noted as it is now (see
    /// [`devices::pick`]).
    fn look(&mut self, pools: &mut [Watched]) -> Vec<String> {
        let mut grown = Vec::new();
        let names = self.sysfs.names();
        self.looks_skipped += 1;
        if names == self.names && self.looks_skipped < FULL_LOOK_EVERY {
            return grown;
        }
        self.looks_skipped = 0;
        self.names = names;
        for (dev, p) in self.pooled.snapshot() {
            if !self.names.contains(&dev) {
                continue;
            }
            match devices::Hw::of(&self.sysfs, &dev) {
                Some(hw) if p.hw.as_ref() != Some(&hw) => self.pooled.see(&dev, hw),
                _ => {}
            }
        }
        let pending = self.allocations.is_some();
        let now = self.pooled.snapshot();
        tell_known_away(&mut self.transient, &self.known, &now, &self.names, pending);
        let picked = devices::pick(
            &self.config,
            &self.sysfs,
            &self.node,
            &now,
            &mut self.transient,
            true,
        );
        for p in picked {
            if self.pooled.insert(&p.dev, p.pick.clone()) {
                self.add(pools, p, &mut grown);
            }
        }
        learn_known(&self.pooled, &self.known);
        keep_known(&self.pooled, &mut self.known, &self.names);
        grown
    }

    /// The devices pods hold, once kubelet has answered (when it did not at
    /// start; asked in the background, so that a kubelet slow to answer
    /// delays no health check): those away added as at start (see
    /// [`pool_allocations`]; late, they may take a pool past a `primary`
    /// limit the selectors filled meanwhile: kubelet gave them to pods all
    /// the same).
    fn look_up_allocations(&mut self, pools: &mut [Watched]) -> Vec<String> {
        let mut grown = Vec::new();
        let Some(rx) = &mut self.allocations else {
            return grown;
        };
        let list = match rx.try_recv() {
            Ok(list) => list,
            Err(oneshot::error::TryRecvError::Empty) => return grown,
            Err(oneshot::error::TryRecvError::Closed) => {
                error!("the lookup of the devices pods hold has ended without an answer");
                self.allocations = None;
                return grown;
            }
        };
        self.allocations = None;
        info!("kubelet answered: looking up the devices it gave pods");
        let added = pool_allocations(&self.config, &list, &self.pooled);
        learn_known(&self.pooled, &self.known);
        let now = self.pooled.snapshot();
        for dev in added {
            let Some(pick) = now.get(&dev).cloned() else {
                continue;
            };
            let why = "allocated to a pod, per kubelet".to_string();
            self.add(pools, devices::Picked { dev, pick, why }, &mut grown);
        }
        grown
    }

    /// `p`, just pooled, into its pool in `pools` (noted in `grown`).
    fn add(&self, pools: &mut [Watched], p: devices::Picked, grown: &mut Vec<String>) {
        let Some(w) = pools.iter_mut().find(|w| w.pool == p.pick.pool) else {
            return;
        };
        if w.devices.is_empty()
            && self
                .config
                .pools
                .iter()
                .any(|c| c.name == w.pool && c.bpf_map_pinning)
        {
            if let Err(e) = pin_dir_ready(&self.pin_dir) {
                error!("{}: {e}: its Allocate will fail", w.resource);
            }
        }
        let state = NetdevState::of(&p.dev);
        info!(
            "{}: {} ({}) appeared: pooled, {}",
            w.resource,
            p.dev,
            p.why,
            describe(state)
        );
        w.devices.push((p.dev, state));
        grown.push(w.pool.clone());
    }
}

/// Every `interval`: looks for new devices of the pools (a VF made, a NIC
/// back from a pod that was there before the daemon), and checks every
/// device; a new device or a change of health goes to the pool's
/// ListAndWatch streams, a netdev that (re)appears to the handshake side
/// (which prepares it anew if it is another netdev now).
async fn watch_health(
    mut pools: Vec<Watched>,
    mut discovery: Discovery,
    hs: Handshake,
    interval: Duration,
    shutdown: watch::Receiver<bool>,
) {
    let mut ticker = Ticker::new(interval, shutdown);
    while ticker.next().await {
        let mut grown = discovery.look_up_allocations(&mut pools);
        grown.extend(discovery.look(&mut pools));
        for pool in &mut pools {
            let mut changed = grown.contains(&pool.pool);
            for (dev, last) in &mut pool.devices {
                let now = NetdevState::of(dev);
                if now == *last {
                    continue;
                }
                if let Some(i) = now.index().filter(|_| now.index() != last.index()) {
                    hs.netdev_seen(dev, i);
                }
                if now.healthy() != last.healthy() {
                    changed = true;
                    if now.healthy() {
                        info!("{}: {dev} is {}", pool.resource, describe(now));
                    } else {
                        warn!("{}: {dev} is {}", pool.resource, describe(now));
                    }
                }
                *last = now;
            }
            if changed {
                let list: Vec<(String, bool)> = pool
                    .devices
                    .iter()
                    .map(|(d, s)| (d.clone(), s.healthy()))
                    .collect();
                pool.tx.send_replace(device_list(&list));
            }
        }
    }
    // The senders go with `pools`: every ListAndWatch stream ends.
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_away_is_what_is_neither_here_nor_pooled_with_its_hardware() {
        let dir = std::env::temp_dir().join(format!("known-away-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (x, y, z) = (
            Hw::Pci("0000:18:00.0".into(), 0),
            Hw::Pci("0000:18:00.1".into(), 0),
            Hw::Pci("0000:18:00.2".into(), 0),
        );
        // The file: ens1f0 (x), ens1f1 (y) and its new name eth9 (y), ens2 (z).
        let mut known = Known::load(&dir);
        let all = BTreeMap::from([
            ("ens1f0".to_string(), Pick::allocated(Some(x.clone()))),
            ("ens1f1".to_string(), Pick::allocated(Some(y.clone()))),
            ("eth9".to_string(), Pick::allocated(Some(y.clone()))),
            ("ens2".to_string(), Pick::allocated(Some(z.clone()))),
        ]);
        known.keep(&all, &[]).unwrap();
        // eth9 is here; ens1f0 is pooled without its hardware (a name
        // selector's, away); ens2 is pooled with it.
        let host = ["eth9".to_string()];
        let pooled = BTreeMap::from([
            ("ens1f0".to_string(), Pick::allocated(None)),
            ("ens2".to_string(), Pick::allocated(Some(z))),
        ]);
        let mut t = Transient::default();
        tell_known_away(&mut t, &known, &pooled, &host, true);
        // ens1f0 is away as far as anyone knows; ens1f1 is eth9 now; ens2
        // the picker knows from the pool.
        assert_eq!(t.known_away, [(x, "ens1f0".to_string())]);
        assert!(t.strict);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
