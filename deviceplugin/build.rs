//! Generates the gRPC code for kubelet's device-plugin (v1beta1) and
//! pod-resources (v1) APIs from `proto/`, with no `protoc` on the machine:
//! `protox` compiles the files to a descriptor set in pure Rust.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/deviceplugin_v1beta1.proto",
        "proto/podresources_v1.proto",
    ];
    for p in protos {
        println!("cargo:rerun-if-changed={p}");
    }
    let fds = protox::compile(protos, ["proto"])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .build_transport(false)
        .compile_fds(fds)?;
    Ok(())
}
