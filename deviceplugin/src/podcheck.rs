//! The handshake's pod check, against kubelet's pod-resources API: a pod
//! that sends `/connect,<name>` on the socket of device `D` of resource
//! `afxdp/<pool>` is accepted when exactly one pod of that name (in any
//! namespace) has a container that holds `D` under that resource.
//!
//! `/connect` carries only the pod name (DPDK sends its host name), so the
//! namespace is found from the allocation: the pod of that name holding
//! this very device. A pod of that name that holds other devices, or this
//! device id under another resource, is refused. When kubelet does not
//! answer in time the check fails (`/error`, then `/host_nak`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use af_xdp::handshake::server::{PodCheck, PodChecker};

use crate::api::podresources::pod_resources_lister_client::PodResourcesListerClient;
use crate::api::podresources::{ListPodResourcesRequest, ListPodResourcesResponse};
use crate::config::RESOURCE_PREFIX;
use crate::devices::Pooled;
use crate::{info, uds, warn};

/// Asks kubelet's pod-resources `List` on `socket`, within `timeout`.
pub async fn list_pods(
    socket: &Path,
    timeout: Duration,
) -> Result<ListPodResourcesResponse, String> {
    let call = async {
        let channel = uds::connect(socket, timeout)
            .await
            .map_err(|e| format!("connect to {}: {e}", socket.display()))?;
        PodResourcesListerClient::new(channel)
            .list(ListPodResourcesRequest {})
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| {
                format!(
                    "List on {}: {}: {}",
                    socket.display(),
                    s.code(),
                    s.message()
                )
            })
    };
    tokio::time::timeout(timeout, call)
        .await
        .map_err(|_| format!("List on {}: no answer within {timeout:?}", socket.display()))?
}

/// The pods (namespace, name) named `pod` whose containers hold `device`
/// of `resource`.
pub fn pods_holding<'a>(
    list: &'a ListPodResourcesResponse,
    pod: &str,
    resource: &str,
    device: &str,
) -> Vec<(&'a str, &'a str)> {
    list.pod_resources
        .iter()
        .filter(|p| p.name == pod)
        .filter(|p| {
            p.containers.iter().any(|c| {
                c.devices.iter().any(|d| {
                    d.resource_name == resource && d.device_ids.iter().any(|id| id == device)
                })
            })
        })
        .map(|p| (p.namespace.as_str(), p.name.as_str()))
        .collect()
}

/// One device kubelet gave a pod's container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allocation<'a> {
    /// The pod's namespace.
    pub namespace: &'a str,
    /// The pod's name.
    pub pod: &'a str,
    /// The resource it was given under (`afxdp/<pool>`).
    pub resource: &'a str,
    /// The device id (for this plugin, the netdev's name).
    pub device: &'a str,
}

/// Every device of a resource of this plugin's (`afxdp/...`) in `list`.
pub fn allocations(list: &ListPodResourcesResponse) -> Vec<Allocation<'_>> {
    let prefix = format!("{RESOURCE_PREFIX}/");
    let mut out = Vec::new();
    for p in &list.pod_resources {
        for c in &p.containers {
            for d in c
                .devices
                .iter()
                .filter(|d| d.resource_name.starts_with(&prefix))
            {
                for id in &d.device_ids {
                    out.push(Allocation {
                        namespace: &p.namespace,
                        pod: &p.name,
                        resource: &d.resource_name,
                        device: id,
                    });
                }
            }
        }
    }
    out
}

/// The check the handshake server runs on each `/connect`.
pub struct PodResourcesCheck {
    socket: PathBuf,
    timeout: Duration,
    /// The pool of each device (which grows while the daemon runs).
    pooled: Pooled,
    /// Runs the lookups for the devices' handshake threads (which are not
    /// inside the daemon's runtime): each blocks on its own lookup while
    /// the runtime's one worker drives every lookup's I/O, so that a slow
    /// answer to one device's check delays no other's.
    rt: Option<tokio::runtime::Runtime>,
}

impl PodResourcesCheck {
    /// A check asking `socket`, for the devices in `pooled`.
    pub fn new(
        socket: PathBuf,
        timeout: Duration,
        pooled: Pooled,
    ) -> std::io::Result<PodResourcesCheck> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("afxdp-podcheck")
            .enable_all()
            .build()?;
        Ok(PodResourcesCheck {
            socket,
            timeout,
            pooled,
            rt: Some(rt),
        })
    }
}

impl PodChecker for PodResourcesCheck {
    fn check_pod(&self, pod: &str, iface: Option<&str>) -> PodCheck {
        let Some(iface) = iface else {
            return PodCheck::Denied;
        };
        let Some(pool) = self.pooled.pool_of(iface) else {
            return PodCheck::Denied;
        };
        let resource = &format!("{RESOURCE_PREFIX}/{pool}");
        let Some(rt) = &self.rt else {
            return PodCheck::LookupFailed;
        };
        let list = match rt.block_on(list_pods(&self.socket, self.timeout)) {
            Ok(l) => l,
            Err(e) => {
                warn!("pod check: pod {pod} on {iface}: {e}: answering /error");
                return PodCheck::LookupFailed;
            }
        };
        match pods_holding(&list, pod, resource, iface).as_slice() {
            [(ns, name)] => {
                info!("pod check: pod {ns}/{name} holds {resource} {iface}: accepted");
                PodCheck::Allowed
            }
            [] => {
                warn!("pod check: no pod named {pod:?} holds {resource} {iface}: refused");
                PodCheck::Denied
            }
            many => {
                warn!("pod check: {} pods named {pod:?} hold {resource} {iface}: refused as ambiguous", many.len());
                PodCheck::Denied
            }
        }
    }
}

impl Drop for PodResourcesCheck {
    fn drop(&mut self) {
        // Nothing is left running on it; a plain drop would panic if this
        // happened inside an async context, shutting down in the
        // background never does.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::podresources::{ContainerDevices, ContainerResources, PodResources};

    fn pod(ns: &str, name: &str, resource: &str, ids: &[&str]) -> PodResources {
        PodResources {
            name: name.into(),
            namespace: ns.into(),
            containers: vec![ContainerResources {
                name: "c".into(),
                devices: vec![ContainerDevices {
                    resource_name: resource.into(),
                    device_ids: ids.iter().map(|s| s.to_string()).collect(),
                    topology: None,
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn matches_name_resource_and_device() {
        let list = ListPodResourcesResponse {
            pod_resources: vec![
                pod("default", "web-0", "afxdp/pool1", &["ens1", "ens2"]),
                pod("other", "web-0", "afxdp/pool1", &["ens3"]),
                pod("default", "db-0", "afxdp/pool2", &["ens1"]),
            ],
        };
        assert_eq!(
            pods_holding(&list, "web-0", "afxdp/pool1", "ens2"),
            vec![("default", "web-0")]
        );
        assert_eq!(
            pods_holding(&list, "web-0", "afxdp/pool1", "ens3"),
            vec![("other", "web-0")]
        );
        assert!(pods_holding(&list, "web-0", "afxdp/pool2", "ens1").is_empty());
        assert!(pods_holding(&list, "db-0", "afxdp/pool1", "ens1").is_empty());
        assert!(pods_holding(&list, "web-1", "afxdp/pool1", "ens1").is_empty());
    }
}
