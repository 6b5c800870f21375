//! The AF_XDP CNI under a real CNI-calling container runtime: podman 4 with
//! its CNI backend runs a container whose only network is ours (`type:
//! afxdp`, IPAM host-local), which moves one end of a host veth pair into
//! it. Inside, the static `sockctl` runs as uid 65534 with only
//! `CAP_NET_RAW` and `CAP_IPC_LOCK`, gets the XSKMAP from `sockctl serve`
//! on the host by the device-plugin handshake (DPDK's `use_cni=1`), and
//! receives every frame sent from the host end. The device is gone from
//! the host while the container runs and is back after `podman rm`.
//!
//! Hermetic (`afxdp_testkit::podman`): podman reads its own containers.conf (`CONTAINERS_CONF`) and
//! storage.conf (`CONTAINERS_STORAGE_CONF`), keeps its storage, run state,
//! network configurations and host-local's leases under one temporary
//! directory, and the image comes from `podman import` of a tarball that
//! holds only the static binary (no registry). Everything is removed
//! afterwards, including what podman writes outside those directories
//! when it was not there before.
//!
//! Needs root, podman, runc, host-local (containernetworking-plugins) and
//! the static binary in `AFXDP_STATIC_SOCKCTL` (as `.ci/run` sets it); a
//! missing piece is a loud skip, a failure under
//! `AFXDP_REQUIRE_PRIVILEGED=1`.

use std::process::Command;
use std::time::{Duration, Instant};

use afxdp_testkit::podman::{self, Podman};
use afxdp_testkit::process::{output_text, start_server, status_field};
use afxdp_testkit::{run, HostVeth, TempDir};
use serde_json::Value;

const SOCKCTL: &str = env!("CARGO_BIN_EXE_sockctl");
const FRAMES: u64 = 10_000;

/// `CAP_NET_RAW` (13) and `CAP_IPC_LOCK` (14).
const CAPS: u64 = 1 << 13 | 1 << 14;

#[test]
fn podman_runs_an_unprivileged_af_xdp_receiver_on_the_device_our_cni_moved_in() {
    let test = "cni_podman";
    let Some(pre) = podman::prerequisites(test, &[]) else {
        return;
    };

    // Dropped last to first: podman's container (CNI DEL) and image, the
    // server (SIGTERM: it detaches its program and removes its socket), the
    // veth pair, the directory.
    let id = std::process::id() % 100_000;
    let work = TempDir::new("cni-podman");
    let w = work.path().display();
    std::fs::create_dir_all(work.path().join("dp")).unwrap();
    run("chmod", &["711", work.to_str()]);

    // The host: a veth pair, no IPv6 on the end that stays (so that it
    // sends nothing of its own), the device-plugin side on the other end.
    let veth = HostVeth::new(&format!("afxc{id}"), &format!("afxh{id}"), false);
    let (dev, peer) = (veth.dev.clone(), veth.peer.clone());
    let sock = work.path().join(format!("dp/{dev}/afxdp.sock"));
    let _server = start_server(
        Command::new(SOCKCTL)
            .args(["serve", "--iface", &dev, "--dir", &format!("{w}/dp")])
            .args(["--allow-any-pod", "--socket-owner", "65534:65534"])
            .stdout(std::fs::File::create(work.path().join("serve.log")).unwrap())
            .stderr(std::fs::File::create(work.path().join("serve.err")).unwrap()),
        &sock,
    )
    .stop_with(libc::SIGTERM);

    // podman's configuration, its own whatever /etc/containers says; our
    // plugin (the static binary under the name afxdp) the network's only
    // one, as a NetworkAttachmentDefinition would give it (deviceID is what
    // Multus adds from the device plugin); the image, a tarball holding
    // only the static binary.
    let scene = Podman::new(
        &pre,
        work.path(),
        &format!("afxdp-cni-{id}"),
        &dev,
        "10.77.0.0/24",
        "10.77.0.1",
    );

    // The pod: uid 65534, only NET_RAW and IPC_LOCK, the device plugin's
    // directory mounted where DPDK looks; bpf() allowed by seccomp (the
    // client inserts its socket into the map it is handed).
    let count = FRAMES.to_string();
    scene.ok(&[
        "run",
        "-d",
        "--name",
        scene.name(),
        "--network",
        scene.name(),
        "--user",
        "65534:65534",
        "--cap-drop=all",
        "--cap-add=NET_RAW,IPC_LOCK",
        "--security-opt",
        "seccomp=unconfined",
        "-v",
        &format!("{w}/dp:/tmp/afxdp_dp"),
        scene.image(),
        "/sockctl",
        "rx",
        "--vdev",
        &format!("iface={dev},use_cni=1"),
        "--count",
        &count,
        "--duration",
        "60",
        "--json",
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = scene.logs();
        if text.contains("sockctl rx: ") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the container did not open its port:\n{text}\nCNI log:\n{}",
            scene.cni_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // While it runs: the device is in the container, up, with host-local's
    // address, and gone from the host; the process has exactly the two
    // capabilities, in every set, as uid 65534.
    assert!(!veth.dev_on_host(), "{dev} is still on the host");
    let sandbox = scene.sandbox();
    let in_pod = run(
        "nsenter",
        &[
            &format!("--net={sandbox}"),
            "ip",
            "-o",
            "addr",
            "show",
            "dev",
            &dev,
        ],
    );
    assert!(in_pod.contains("inet 10.77.0.2/24"), "{in_pod}");
    let link = run(
        "nsenter",
        &[
            &format!("--net={sandbox}"),
            "ip",
            "-o",
            "link",
            "show",
            &dev,
        ],
    );
    assert!(link.contains(",UP"), "{link}");
    let pid = scene.pid();
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        let v = u64::from_str_radix(&status_field(&pid, set), 16).unwrap();
        assert_eq!(v, CAPS, "{set} of the container's process: {v:#x}");
    }
    assert_eq!(status_field(&pid, "Uid"), "65534\t65534\t65534\t65534");
    // What the container itself sees: the device, with the program the
    // device-plugin side attached before the move.
    let doctor = scene
        .command(&["exec", scene.name(), "/sockctl", "doctor", "--iface", &dev])
        .output()
        .unwrap();
    let doctor = output_text(&doctor);
    assert!(
        doctor.contains(&format!("interface: {dev}:")) && doctor.contains("attached"),
        "{doctor}"
    );

    // Traffic from the host end; the container counts it all.
    let sent = Command::new(SOCKCTL)
        .args(["rx", "--vdev", &format!("iface={peer}"), "--fwd", "txonly"])
        .args(["--count", &count, "--rate", "100000", "--json"])
        .output()
        .unwrap();
    assert!(sent.status.success(), "sender: {}", output_text(&sent));
    let exit = scene.ok(&["wait", scene.name()]);
    let logs = scene.logs();
    assert_eq!(exit.trim(), "0", "the receiver failed:\n{logs}");
    let totals: Value = logs
        .lines()
        .rfind(|l| l.starts_with('{'))
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no totals from the receiver:\n{logs}"));
    assert_eq!(totals["rx_packets"], FRAMES, "{logs}");
    eprintln!("the container received: {totals}");

    // podman rm: the device is back on the host, up, its address given
    // back; podman called ADD and DEL (never CHECK).
    scene.ok(&["rm", scene.name()]);
    assert!(
        veth.dev_on_host(),
        "{dev} did not come back:\n{}",
        scene.cni_log()
    );
    let back = run("ip", &["-o", "link", "show", &dev]);
    assert!(back.contains(",UP"), "{back}");
    let leases = scene.leases();
    assert!(leases.is_empty(), "host-local still holds {leases:?}");
    let log = scene.cni_log();
    assert!(
        log.contains(&format!("moved {dev} into {sandbox}")),
        "{log}"
    );
    assert!(
        log.contains(&format!("moved {dev} back to the host as {dev}")),
        "{log}"
    );
    assert!(!log.contains("CHECK"), "{log}");
    let served = std::fs::read_to_string(work.path().join("serve.log")).unwrap_or_default();
    assert!(served.contains("uid 65534 gid 65534"), "{served}");
    eprintln!("the plugin's log:\n{log}");
}
