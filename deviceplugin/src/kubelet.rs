//! Being registered with kubelet, and staying registered.
//!
//! Each pool listens on `<plugin_dir>/afxdp-<pool>.sock` and registers it
//! with kubelet (`<plugin_dir>/kubelet.sock`, `v1beta1`, `afxdp/<pool>`).
//! Kubelet forgets every plugin when it restarts: it makes its socket anew
//! (another inode) and clears the plugin directory. [`supervise`] watches
//! both sockets every `interval`: when kubelet's socket is new, every pool
//! registers again; when a pool's socket is gone, the pool listens again
//! first.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use crate::api::v1beta1::device_plugin_server::DevicePluginServer;
use crate::api::v1beta1::registration_client::RegistrationClient;
use crate::api::v1beta1::RegisterRequest;
use crate::config::PoolConfig;
use crate::plugin::PoolPlugin;
use crate::ticker::Ticker;
use crate::{error, info, uds, warn};

/// The device-plugin API version this plugin speaks.
pub const API_VERSION: &str = "v1beta1";
/// Kubelet's registration socket, in the plugin directory.
pub const KUBELET_SOCKET: &str = "kubelet.sock";

/// Registers `endpoint` (a socket file name in kubelet's directory) for
/// `resource` with the kubelet listening on `kubelet_socket`.
pub async fn register(
    kubelet_socket: &Path,
    endpoint: &str,
    resource: &str,
    timeout: Duration,
) -> Result<(), String> {
    let channel = uds::connect(kubelet_socket, timeout)
        .await
        .map_err(|e| format!("connect to {}: {e}", kubelet_socket.display()))?;
    RegistrationClient::new(channel)
        .register(RegisterRequest {
            version: API_VERSION.to_string(),
            endpoint: endpoint.to_string(),
            resource_name: resource.to_string(),
            options: None,
        })
        .await
        .map(drop)
        .map_err(|s| format!("Register: {}: {}", s.code(), s.message()))
}

/// One pool's gRPC endpoint.
pub struct Endpoint {
    pool: Arc<PoolConfig>,
    path: PathBuf,
    service: PoolPlugin,
    /// The identity of the socket file this endpoint listens on.
    id: Option<(u64, u64)>,
    stop: Option<oneshot::Sender<()>>,
    registered: bool,
    last_error: Option<String>,
}

impl Endpoint {
    /// The endpoint of `pool` in `plugin_dir`; not listening yet.
    pub fn new(pool: Arc<PoolConfig>, plugin_dir: &Path, service: PoolPlugin) -> Endpoint {
        let path = plugin_dir.join(pool.endpoint());
        Endpoint {
            pool,
            path,
            service,
            id: None,
            stop: None,
            registered: false,
            last_error: None,
        }
    }

    /// Listens on the socket (anew, replacing a stale one) and serves the
    /// pool's DevicePlugin service on it. Needs a tokio runtime.
    pub fn listen(&mut self) -> std::io::Result<()> {
        self.stop_serving();
        let (incoming, id) = uds::listen(&self.path)?;
        let (tx, rx) = oneshot::channel::<()>();
        let svc = DevicePluginServer::new(self.service.clone());
        let name = self.pool.resource_name();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = rx.await;
            };
            if let Err(e) = tonic::transport::Server::builder()
                .serve_with_incoming_shutdown(svc, incoming, shutdown)
                .await
            {
                error!("{name}: gRPC server: {e}");
            }
        });
        self.id = Some(id);
        self.stop = Some(tx);
        self.registered = false;
        info!(
            "{}: listening on {}",
            self.pool.resource_name(),
            self.path.display()
        );
        Ok(())
    }

    fn stop_serving(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Stops serving and removes the socket file, if it is still ours.
    pub fn close(&mut self) {
        self.stop_serving();
        if self.id.is_some() && uds::identity(&self.path) == self.id {
            let _ = std::fs::remove_file(&self.path);
        }
        self.id = None;
    }
}

/// Keeps every pool listening and registered until `shutdown` turns true,
/// then closes them.
pub async fn supervise(
    mut endpoints: Vec<Endpoint>,
    plugin_dir: PathBuf,
    interval: Duration,
    shutdown: watch::Receiver<bool>,
) {
    let kubelet = plugin_dir.join(KUBELET_SOCKET);
    let mut kubelet_id: Option<(u64, u64)> = None;
    let mut ticker = Ticker::new(interval, shutdown);
    while ticker.next().await {
        let now = uds::identity(&kubelet);
        if now != kubelet_id {
            match (kubelet_id, now) {
                (_, None) => warn!("{} is gone: waiting for kubelet", kubelet.display()),
                (None, Some(_)) => info!("{} is there: registering", kubelet.display()),
                (Some(_), Some(_)) => info!(
                    "{} was made anew (kubelet restarted): registering again",
                    kubelet.display()
                ),
            }
            kubelet_id = now;
            for e in &mut endpoints {
                e.registered = false;
            }
        }
        for e in &mut endpoints {
            // A pool without devices waits for one (a VF made, a NIC back
            // from a pod) before it listens and registers.
            if !e.service.has_devices() {
                continue;
            }
            if e.id.is_none() || uds::identity(&e.path) != e.id {
                if e.id.is_some() {
                    warn!(
                        "{}: {} was removed (kubelet clears its directory when it restarts): listening again",
                        e.pool.resource_name(),
                        e.path.display()
                    );
                }
                if let Err(err) = e.listen() {
                    error!(
                        "{}: listen on {}: {err}",
                        e.pool.resource_name(),
                        e.path.display()
                    );
                    e.id = None;
                    continue;
                }
            }
            if e.registered || kubelet_id.is_none() {
                continue;
            }
            let endpoint = e.pool.endpoint();
            let resource = e.pool.resource_name();
            match register(&kubelet, &endpoint, &resource, Duration::from_secs(5)).await {
                Ok(()) => {
                    info!("{resource}: registered with kubelet (endpoint {endpoint}, API {API_VERSION})");
                    e.registered = true;
                    e.last_error = None;
                }
                Err(err) => {
                    if e.last_error.as_ref() != Some(&err) {
                        warn!("{resource}: registration failed, retrying: {err}");
                    }
                    e.last_error = Some(err);
                }
            }
        }
    }
    for e in &mut endpoints {
        e.close();
    }
}
