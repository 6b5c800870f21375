//! The `DevicePlugin` service of one pool: its device list with real
//! health, and Allocate, which has each device served by the handshake
//! thread and tells kubelet what to mount and set in the container, as the
//! reference plugin does:
//!
//! - the handshake socket, at `/tmp/afxdp_dp/<dev>/afxdp.sock` (DPDK's
//!   `use_cni=1` default `dp_path`);
//! - with `bpfMapPinningEnable`, the pinned XSKMAP at
//!   `/tmp/afxdp_dp/<dev>/xsks_map` (DPDK's `use_pinned_map=1` default);
//! - `AFXDP_DEVICES_<POOL>` = the container's devices, space-separated.

use std::collections::HashMap;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::codegen::tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::api::v1beta1::device_plugin_server::DevicePlugin;
use crate::api::v1beta1::{
    AllocateRequest, AllocateResponse, ContainerAllocateResponse,
    ContainerPreferredAllocationResponse, Device, DevicePluginOptions, Empty, ListAndWatchResponse,
    Mount, PreStartContainerRequest, PreStartContainerResponse, PreferredAllocationRequest,
    PreferredAllocationResponse,
};
use crate::config::PoolConfig;
use crate::devices::Pooled;
use crate::handshake::{Handshake, ServeSpec, Served};
use crate::{debug, error, info};

/// Where a pod finds a device's files: DPDK's defaults.
pub const POD_DIR: &str = "/tmp/afxdp_dp";
/// `Device.health` of a healthy device.
pub const HEALTHY: &str = "Healthy";
/// `Device.health` of an unhealthy one.
pub const UNHEALTHY: &str = "Unhealthy";

/// One pool's service.
#[derive(Clone)]
pub struct PoolPlugin {
    pool: Arc<PoolConfig>,
    pooled: Pooled,
    health: watch::Receiver<Vec<Device>>,
    handshake: Handshake,
}

impl PoolPlugin {
    /// The service of `pool`, whose devices (those `pooled` gives it) have
    /// the health `health` says.
    pub fn new(
        pool: Arc<PoolConfig>,
        pooled: Pooled,
        health: watch::Receiver<Vec<Device>>,
        handshake: Handshake,
    ) -> PoolPlugin {
        PoolPlugin {
            pool,
            pooled,
            health,
            handshake,
        }
    }

    /// Whether the pool has a device (a pool without one is not
    /// registered).
    pub fn has_devices(&self) -> bool {
        self.pooled.has_devices(&self.pool.name)
    }

    fn spec(&self) -> ServeSpec {
        ServeSpec {
            pin: self.pool.bpf_map_pinning,
            idle_timeout: self.pool.uds_timeout,
            uid: self.pool.uid,
        }
    }
}

/// The device list `ListAndWatch` sends.
pub fn device_list(health: &[(String, bool)]) -> Vec<Device> {
    health
        .iter()
        .map(|(id, ok)| Device {
            id: id.clone(),
            health: if *ok { HEALTHY } else { UNHEALTHY }.to_string(),
            topology: None,
        })
        .collect()
}

/// What one container gets for `devices`, each served as `served` says.
pub fn container_response(
    pool: &PoolConfig,
    devices: &[String],
    served: &HashMap<String, Served>,
) -> ContainerAllocateResponse {
    let mut mounts = Vec::new();
    for dev in devices {
        let Some(s) = served.get(dev) else { continue };
        let in_pod = Path::new(POD_DIR).join(dev);
        if !pool.uds_server_disable {
            mounts.push(Mount {
                container_path: in_pod
                    .join(af_xdp::vdev::DP_SOCKET_NAME)
                    .display()
                    .to_string(),
                host_path: s.socket.display().to_string(),
                read_only: false,
            });
        }
        if let Some(pin) = &s.pin {
            mounts.push(Mount {
                container_path: in_pod.join(af_xdp::vdev::DP_MAP_NAME).display().to_string(),
                host_path: pin.display().to_string(),
                read_only: false,
            });
        }
    }
    ContainerAllocateResponse {
        envs: HashMap::from([(pool.env_name(), devices.join(" "))]),
        mounts,
        ..Default::default()
    }
}

type DeviceStream = Pin<Box<dyn Stream<Item = Result<ListAndWatchResponse, Status>> + Send>>;

#[tonic::async_trait]
impl DevicePlugin for PoolPlugin {
    async fn get_device_plugin_options(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<DevicePluginOptions>, Status> {
        Ok(Response::new(DevicePluginOptions::default()))
    }

    type ListAndWatchStream = DeviceStream;

    async fn list_and_watch(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<Self::ListAndWatchStream>, Status> {
        let mut health = self.health.clone();
        let (tx, rx) = mpsc::channel(4);
        let pool = self.pool.name.clone();
        info!("pool {pool}: ListAndWatch opened");
        tokio::spawn(async move {
            loop {
                let devices = health.borrow_and_update().clone();
                debug!("pool {pool}: ListAndWatch sends {devices:?}");
                if tx.send(Ok(ListAndWatchResponse { devices })).await.is_err() {
                    break;
                }
                // Ends when the daemon stops (the sender goes away), or
                // when kubelet drops the stream (a restarted kubelet opens
                // a new one; this task would otherwise wait for the next
                // health change to find out).
                tokio::select! {
                    changed = health.changed() => {
                        if changed.is_err() {
                            break;
                        }
                    }
                    () = tx.closed() => break,
                }
            }
            debug!("pool {pool}: ListAndWatch closed");
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn get_preferred_allocation(
        &self,
        req: Request<PreferredAllocationRequest>,
    ) -> Result<Response<PreferredAllocationResponse>, Status> {
        // No topology to prefer: the devices that must be there, then the
        // first available ones.
        let container_responses = req
            .into_inner()
            .container_requests
            .into_iter()
            .map(|c| {
                let size = usize::try_from(c.allocation_size).unwrap_or(0);
                let mut ids = c.must_include_device_i_ds;
                for id in c.available_device_i_ds {
                    if ids.len() >= size {
                        break;
                    }
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                ContainerPreferredAllocationResponse { device_i_ds: ids }
            })
            .collect();
        Ok(Response::new(PreferredAllocationResponse {
            container_responses,
        }))
    }

    async fn allocate(
        &self,
        req: Request<AllocateRequest>,
    ) -> Result<Response<AllocateResponse>, Status> {
        let pool = &self.pool.name;
        let mut container_responses = Vec::new();
        for c in req.into_inner().container_requests {
            let mut served = HashMap::new();
            for dev in &c.devices_ids {
                if self.pooled.pool_of(dev).as_deref() != Some(self.pool.name.as_str()) {
                    return Err(Status::invalid_argument(format!(
                        "{dev} is not a device of {}",
                        self.pool.resource_name()
                    )));
                }
                match self.handshake.serve(dev, self.spec()).await {
                    Ok(s) => {
                        served.insert(dev.clone(), s);
                    }
                    Err(e) => {
                        error!("pool {pool}: Allocate {dev}: {e}");
                        return Err(Status::internal(format!("prepare {dev}: {e}")));
                    }
                }
            }
            let resp = container_response(&self.pool, &c.devices_ids, &served);
            info!(
                "pool {pool}: Allocate {:?}: mounts {:?}, env {:?}",
                c.devices_ids,
                resp.mounts
                    .iter()
                    .map(|m| format!("{} -> {}", m.host_path, m.container_path))
                    .collect::<Vec<_>>(),
                resp.envs
            );
            container_responses.push(resp);
        }
        Ok(Response::new(AllocateResponse {
            container_responses,
        }))
    }

    async fn pre_start_container(
        &self,
        _: Request<PreStartContainerRequest>,
    ) -> Result<Response<PreStartContainerResponse>, Status> {
        Ok(Response::new(PreStartContainerResponse {}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn pool(pin: bool, no_uds: bool) -> PoolConfig {
        let mut c = crate::config::parse(
            r#"{"pools":[{"name":"pool1","mode":"primary","devices":[{"name":"ens1"}]}]}"#,
        )
        .unwrap();
        let mut p = c.pools.remove(0);
        p.bpf_map_pinning = pin;
        p.uds_server_disable = no_uds;
        p
    }

    fn served(dev: &str, pin: bool) -> (String, Served) {
        (
            dev.to_string(),
            Served {
                socket: PathBuf::from(format!("/tmp/afxdp_dp/{dev}/afxdp.sock")),
                pin: pin.then(|| PathBuf::from(format!("/sys/fs/bpf/afxdp/{dev}/xsks_map"))),
            },
        )
    }

    #[test]
    fn mounts_and_env_as_the_reference_plugin() {
        let devs = vec!["ens1".to_string(), "ens2".to_string()];
        let s = HashMap::from([served("ens1", false), served("ens2", false)]);
        let r = container_response(&pool(false, false), &devs, &s);
        assert_eq!(
            r.envs.get("AFXDP_DEVICES_POOL1").map(String::as_str),
            Some("ens1 ens2")
        );
        let m: Vec<(&str, &str, bool)> = r
            .mounts
            .iter()
            .map(|m| (m.host_path.as_str(), m.container_path.as_str(), m.read_only))
            .collect();
        assert_eq!(
            m,
            vec![
                (
                    "/tmp/afxdp_dp/ens1/afxdp.sock",
                    "/tmp/afxdp_dp/ens1/afxdp.sock",
                    false
                ),
                (
                    "/tmp/afxdp_dp/ens2/afxdp.sock",
                    "/tmp/afxdp_dp/ens2/afxdp.sock",
                    false
                ),
            ]
        );
    }

    #[test]
    fn pinned_pools_mount_the_pin_too_or_only() {
        let devs = vec!["ens1".to_string()];
        let s = HashMap::from([served("ens1", true)]);
        let both = container_response(&pool(true, false), &devs, &s);
        assert_eq!(both.mounts.len(), 2);
        assert_eq!(both.mounts[1].container_path, "/tmp/afxdp_dp/ens1/xsks_map");
        assert_eq!(both.mounts[1].host_path, "/sys/fs/bpf/afxdp/ens1/xsks_map");
        let pin_only = container_response(&pool(true, true), &devs, &s);
        assert_eq!(pin_only.mounts.len(), 1);
        assert_eq!(
            pin_only.mounts[0].container_path,
            "/tmp/afxdp_dp/ens1/xsks_map"
        );
    }
}
