//! Kubelet's gRPC APIs, generated at build time from `proto/`.

/// The device-plugin API (`v1beta1`): `Registration` (kubelet's) and
/// `DevicePlugin` (ours).
#[allow(missing_docs, clippy::all, clippy::pedantic, rust_2018_idioms)]
pub mod v1beta1 {
    tonic::include_proto!("v1beta1");
}

/// The pod-resources API (`v1`): `PodResourcesLister` (kubelet's).
#[allow(missing_docs, clippy::all, clippy::pedantic, rust_2018_idioms)]
pub mod podresources {
    tonic::include_proto!("v1");
}
