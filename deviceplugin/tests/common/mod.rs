//! What the daemon's tests share: a kubelet stand-in and the daemon as a
//! child process.
//!
//! No kubelet can run here. The stand-in is written against the same
//! `.proto` definitions as the daemon: it serves `Registration` on
//! `<plugin_dir>/kubelet.sock` (recording each RegisterRequest) and
//! `PodResourcesLister` on its own socket (answering `List` with the pods
//! a test sets, or failing), and drives the daemon's `DevicePlugin` as a
//! client (ListAndWatch, Allocate). A "kubelet restart" does what kubelet
//! does: its socket is made anew and the plugin directory is cleared.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use afxdp_device_plugin::api::podresources::pod_resources_lister_server::{
    PodResourcesLister, PodResourcesListerServer,
};
use afxdp_device_plugin::api::podresources::{
    AllocatableResourcesRequest, AllocatableResourcesResponse, ContainerDevices,
    ContainerResources, GetPodResourcesRequest, GetPodResourcesResponse, ListPodResourcesRequest,
    ListPodResourcesResponse, PodResources,
};
use afxdp_device_plugin::api::v1beta1::device_plugin_client::DevicePluginClient;
use afxdp_device_plugin::api::v1beta1::registration_server::{Registration, RegistrationServer};
use afxdp_device_plugin::api::v1beta1::{
    AllocateRequest, AllocateResponse, ContainerAllocateRequest, Empty, RegisterRequest,
};
use afxdp_device_plugin::uds;
use afxdp_testkit::ChildGuard;
use tokio::sync::oneshot;
use tonic::{Request, Response, Status};

/// The daemon's binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_afxdp-device-plugin");

/// The capabilities the DaemonSet gives the daemon
/// (deploy/device-plugin/daemonset.yaml): it runs with no others, and no
/// `CAP_SYS_ADMIN`, also when it adopts a state directory's pins.
pub const DAEMON_CAPS: &str = "+bpf,+net_admin,+chown";

/// The daemon under `setpriv` (a command the caller made: on the host, or
/// in a network namespace) with only [`DAEMON_CAPS`], on `config`, against
/// the stand-in `k`, its handshake sockets in `dp_dir` and its pins, if
/// any, in `pin_dir`.
pub fn daemon_command(
    mut setpriv: Command,
    config: &Path,
    k: &Kubelet,
    dp_dir: &Path,
    pin_dir: Option<&Path>,
) -> Command {
    setpriv
        .arg(format!("--bounding-set=-all,{DAEMON_CAPS}"))
        .arg("--")
        .arg(BIN)
        .arg("--config")
        .arg(config)
        .arg("--plugin-dir")
        .arg(&k.plugin_dir)
        .arg("--pod-resources-socket")
        .arg(&k.pod_resources_socket)
        .arg("--dp-dir")
        .arg(dp_dir);
    if let Some(p) = pin_dir {
        setpriv.arg("--pin-dir").arg(p);
    }
    setpriv
}

type Registrations = Arc<Mutex<Vec<(Instant, RegisterRequest)>>>;

struct Reg(Registrations);

#[tonic::async_trait]
impl Registration for Reg {
    async fn register(&self, req: Request<RegisterRequest>) -> Result<Response<Empty>, Status> {
        self.0
            .lock()
            .unwrap()
            .push((Instant::now(), req.into_inner()));
        Ok(Response::new(Empty {}))
    }
}

type Pods = Arc<Mutex<Option<Vec<PodResources>>>>;

/// How long the next `List` waits before it answers (taken by that call),
/// and whether a call has taken it.
type Stall = Arc<Mutex<(Option<Duration>, bool)>>;

struct Lister(Pods, Stall);

#[tonic::async_trait]
impl PodResourcesLister for Lister {
    async fn list(
        &self,
        _: Request<ListPodResourcesRequest>,
    ) -> Result<Response<ListPodResourcesResponse>, Status> {
        let stall = {
            let mut s = self.1.lock().unwrap();
            let d = s.0.take();
            s.1 |= d.is_some();
            d
        };
        if let Some(d) = stall {
            tokio::time::sleep(d).await;
        }
        match self.0.lock().unwrap().clone() {
            Some(pod_resources) => Ok(Response::new(ListPodResourcesResponse { pod_resources })),
            None => Err(Status::unavailable("the stand-in was told to fail List")),
        }
    }
    async fn get_allocatable_resources(
        &self,
        _: Request<AllocatableResourcesRequest>,
    ) -> Result<Response<AllocatableResourcesResponse>, Status> {
        Err(Status::unimplemented("not in the stand-in"))
    }
    async fn get(
        &self,
        _: Request<GetPodResourcesRequest>,
    ) -> Result<Response<GetPodResourcesResponse>, Status> {
        Err(Status::unimplemented("not in the stand-in"))
    }
}

/// A pod of `namespace`/`name` whose one container holds `ids` of
/// `resource`.
pub fn pod(namespace: &str, name: &str, resource: &str, ids: &[&str]) -> PodResources {
    PodResources {
        name: name.into(),
        namespace: namespace.into(),
        containers: vec![ContainerResources {
            name: "app".into(),
            devices: vec![ContainerDevices {
                resource_name: resource.into(),
                device_ids: ids.iter().map(|s| s.to_string()).collect(),
                topology: None,
            }],
            ..Default::default()
        }],
    }
}

/// The kubelet stand-in.
pub struct Kubelet {
    pub rt: tokio::runtime::Runtime,
    pub plugin_dir: PathBuf,
    pub pod_resources_socket: PathBuf,
    registrations: Registrations,
    pods: Pods,
    stall: Stall,
    reg_stop: Option<oneshot::Sender<()>>,
    pr_stop: Option<oneshot::Sender<()>>,
}

impl Kubelet {
    /// Serves Registration in `<root>/device-plugins/kubelet.sock` and
    /// pod-resources in `<root>/pod-resources/kubelet.sock`.
    pub fn start(root: &Path) -> Kubelet {
        let plugin_dir = root.join("device-plugins");
        let pr_dir = root.join("pod-resources");
        std::fs::create_dir_all(&plugin_dir).unwrap();
        std::fs::create_dir_all(&pr_dir).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut k = Kubelet {
            rt,
            plugin_dir,
            pod_resources_socket: pr_dir.join("kubelet.sock"),
            registrations: Arc::default(),
            pods: Arc::new(Mutex::new(Some(Vec::new()))),
            stall: Arc::default(),
            reg_stop: None,
            pr_stop: None,
        };
        k.start_registration();
        let (tx, rx) = oneshot::channel::<()>();
        let _g = k.rt.enter();
        let (incoming, _) = uds::listen(&k.pod_resources_socket).unwrap();
        let svc = PodResourcesListerServer::new(Lister(k.pods.clone(), k.stall.clone()));
        k.rt.spawn(async move {
            let _ = tonic::transport::Server::builder()
                .serve_with_incoming_shutdown(svc, incoming, async {
                    let _ = rx.await;
                })
                .await;
        });
        k.pr_stop = Some(tx);
        k
    }

    pub fn kubelet_socket(&self) -> PathBuf {
        self.plugin_dir.join("kubelet.sock")
    }

    fn start_registration(&mut self) {
        let (tx, rx) = oneshot::channel::<()>();
        let _g = self.rt.enter();
        let (incoming, _) = uds::listen(&self.kubelet_socket()).unwrap();
        let svc = RegistrationServer::new(Reg(self.registrations.clone()));
        self.rt.spawn(async move {
            let _ = tonic::transport::Server::builder()
                .serve_with_incoming_shutdown(svc, incoming, async {
                    let _ = rx.await;
                })
                .await;
        });
        self.reg_stop = Some(tx);
    }

    /// What a kubelet restart does: its registration server stops, the
    /// plugin directory is cleared (our socket too), and a new server
    /// listens on a new `kubelet.sock`. Returns when the new one listens.
    pub fn restart(&mut self) -> Instant {
        if let Some(s) = self.reg_stop.take() {
            let _ = s.send(());
        }
        for e in std::fs::read_dir(&self.plugin_dir).unwrap().flatten() {
            let _ = std::fs::remove_file(e.path());
        }
        std::thread::sleep(Duration::from_millis(300));
        self.start_registration();
        Instant::now()
    }

    /// How many registrations arrived so far.
    pub fn registrations(&self) -> usize {
        self.registrations.lock().unwrap().len()
    }

    /// Waits for registration number `n` (counting from 0).
    pub fn wait_registration(&self, n: usize, timeout: Duration) -> (Instant, RegisterRequest) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(r) = self.registrations.lock().unwrap().get(n) {
                return r.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no registration #{n} within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sets what `List` answers (`None`: it fails).
    pub fn set_pods(&self, pods: Option<Vec<PodResources>>) {
        *self.pods.lock().unwrap() = pods;
    }

    /// Makes the next `List` (only that one) answer after `delay`, as a
    /// kubelet under load does; other calls meanwhile answer at once.
    pub fn stall_next_list(&self, delay: Duration) {
        *self.stall.lock().unwrap() = (Some(delay), false);
    }

    /// Waits until a `List` has begun the stall that
    /// [`stall_next_list`](Self::stall_next_list) asked for.
    pub fn wait_stalled(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.stall.lock().unwrap().1 {
            assert!(Instant::now() < deadline, "no List within {timeout:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn client(&self, endpoint: &str) -> DevicePluginClient<tonic::transport::Channel> {
        let path = self.plugin_dir.join(endpoint);
        let ch = self
            .rt
            .block_on(uds::connect_streaming(&path, Duration::from_secs(5)))
            .unwrap_or_else(|e| panic!("connect to {}: {e}", path.display()));
        DevicePluginClient::new(ch)
    }

    /// Opens ListAndWatch on `endpoint`: each list arrives as (id, health)
    /// pairs.
    pub fn watch(&self, endpoint: &str) -> Watch {
        let mut client = self.client(endpoint);
        let (tx, rx) = mpsc::channel();
        let mut stream = self
            .rt
            .block_on(client.list_and_watch(Empty {}))
            .expect("ListAndWatch")
            .into_inner();
        let task = self.rt.spawn(async move {
            while let Ok(Some(resp)) = stream.message().await {
                let list = resp.devices.into_iter().map(|d| (d.id, d.health)).collect();
                if tx.send((Instant::now(), list)).is_err() {
                    break;
                }
            }
        });
        Watch { rx, task }
    }

    /// Calls Allocate on `endpoint` for one container holding `devices`.
    pub fn allocate(&self, endpoint: &str, devices: &[&str]) -> Result<AllocateResponse, Status> {
        let mut client = self.client(endpoint);
        self.rt
            .block_on(client.allocate(AllocateRequest {
                container_requests: vec![ContainerAllocateRequest {
                    devices_ids: devices.iter().map(|s| s.to_string()).collect(),
                }],
            }))
            .map(Response::into_inner)
    }
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        for s in [self.reg_stop.take(), self.pr_stop.take()]
            .into_iter()
            .flatten()
        {
            let _ = s.send(());
        }
    }
}

/// A ListAndWatch stream, as lists of (id, health); dropping it closes the
/// stream, as kubelet's going away does.
pub struct Watch {
    rx: mpsc::Receiver<(Instant, Vec<(String, String)>)>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Watch {
    /// Waits for a list in which `dev` has `health`; returns when it came.
    pub fn wait_for(&self, dev: &str, health: &str, timeout: Duration) -> Instant {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok((at, list)) => {
                    if list.iter().any(|(d, h)| d == dev && h == health) {
                        return at;
                    }
                }
                Err(_) => panic!("ListAndWatch did not report {dev} {health} within {timeout:?}"),
            }
        }
    }

    /// The lists that came and were not read yet.
    pub fn rx_drain(&self) -> Vec<Vec<(String, String)>> {
        self.rx.try_iter().map(|(_, l)| l).collect()
    }

    /// The next list.
    pub fn next(&self, timeout: Duration) -> Vec<(String, String)> {
        self.rx
            .recv_timeout(timeout)
            .expect("a ListAndWatch response")
            .1
    }
}

/// The daemon as a child process (in a network namespace), stopped with
/// SIGTERM by [`Plugin::stop`], killed and reaped on drop; its stderr is
/// kept.
pub struct Plugin {
    child: ChildGuard,
    log: Arc<Mutex<Vec<String>>>,
    reaped: bool,
}

impl Plugin {
    pub fn spawn(mut cmd: Command) -> Plugin {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = ChildGuard::new(cmd.spawn().expect("spawn afxdp-device-plugin"));
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let err = child.stderr.take().unwrap();
        let l = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                l.lock().unwrap().push(line);
            }
        });
        Plugin {
            child,
            log,
            reaped: false,
        }
    }

    /// Its stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits for a stderr line containing `text`.
    pub fn wait_log(&mut self, text: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.log().contains(text) {
            if let Ok(Some(st)) = self.child.try_wait() {
                self.reaped = true;
                panic!(
                    "the daemon exited ({st}) before logging {text:?}:\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the daemon did not log {text:?} within {timeout:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM; waits for a clean exit.
    pub fn stop(&mut self) {
        if self.reaped {
            return;
        }
        // A no-op for a child already reaped (its pid may be another's).
        self.child.signal(afxdp_sys::signal::SIGTERM as i32);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                self.reaped = true;
                assert!(st.success(), "the daemon exited with {st}:\n{}", self.log());
                // Shown with --nocapture (and on failure).
                eprintln!("--- afxdp-device-plugin stderr\n{}", self.log());
                return;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                self.reaped = true;
                panic!("the daemon did not stop on SIGTERM:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        // The child guard, dropped after this, kills and reaps it.
        if std::thread::panicking() {
            eprintln!("--- afxdp-device-plugin stderr\n{}", self.log());
        }
    }
}
