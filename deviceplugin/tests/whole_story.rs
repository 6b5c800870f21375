//! The whole story, in one test: the device plugin and the CNI together,
//! under a real CNI-calling container runtime.
//!
//! 1. The daemon (its own process, in the host's network namespace, with
//!    only the DaemonSet's capabilities) registers with the kubelet
//!    stand-in; ListAndWatch reports the device (one end of a host veth
//!    pair) healthy; Allocate of that device returns a mount (the handshake
//!    socket) and an environment.
//! 2. The stand-in's pod-resources `List` then answers a pod holding that
//!    device, named as the container's host name.
//! 3. podman (hermetic: its own containers.conf, storage.conf with vfs,
//!    runc, cgroupfs, an image imported from a tarball holding only the
//!    static `sockctl`) runs a container as uid 65534 with only `NET_RAW`
//!    and `IPC_LOCK`, with exactly the mounts and environment Allocate
//!    returned, on a network whose only plugin is ours (`type: afxdp`,
//!    `deviceID` the veth end, IPAM host-local): the CNI moves the device
//!    into the container.
//! 4. Inside, `sockctl rx --vdev iface=<dev>,use_cni=1` connects to the
//!    daemon's socket, is validated through pod-resources (the daemon logs
//!    the pod check), and receives every frame sent from the peer end on
//!    the host.
//! 5. `podman rm` (CNI DEL): the device is back on the host, up and healthy, and its
//!    lease released. The stand-in forgets the pod (the daemon refuses its
//!    name from then on), and SIGTERM stops the daemon: no XDP program
//!    attached, no socket left or listening, nothing pinned.
//!
//! No kubelet can run here (no cluster, and kubelet would want a CRI
//! runtime of its own): its part is played by the stand-in in `common/`,
//! written against the same `.proto` definitions as the daemon. What
//! kubelet would do with Allocate's answer (mount and set it in the
//! container) is done by passing it to `podman run` as `-v` and `-e`, and
//! the pod name by `--hostname`.
//!
//! Needs root, podman, runc, setpriv, host-local (containernetworking-
//! plugins) and the static binary in `AFXDP_STATIC_SOCKCTL` (`cargo build
//! --profile static -p af-xdp --bin sockctl --target
//! x86_64-unknown-linux-musl`, as `.ci/run` does and sets); a missing piece
//! is a loud skip, a failure under `AFXDP_REQUIRE_PRIVILEGED=1`. Every step
//! is bounded in time; what the test made is removed on drop, also when it
//! fails.

mod common;

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use af_xdp::handshake::{xskmap_by_handshake, HandshakeOptions};
use af_xdp::ErrorKind;
use afxdp_testkit::podman::{self, Podman};
use afxdp_testkit::process::status_field;
use afxdp_testkit::{frames, packet, run, HostVeth, TempDir};
use common::{daemon_command, pod, Kubelet, Plugin};
use serde_json::{json, Value};

/// Frames sent from the peer; the container must count them all.
const FRAMES: u32 = 10_000;
const RESOURCE: &str = "afxdp/pool1";
const ENDPOINT: &str = "afxdp-pool1.sock";
const ENV: &str = "AFXDP_DEVICES_POOL1";
const POD_NAMESPACE: &str = "default";
/// The pool's uid: the container's user.
const POD_UID: u32 = 65534;
/// `CAP_NET_RAW` (13) and `CAP_IPC_LOCK` (14): the container's only ones.
const CONTAINER_CAPS: u64 = 1 << 13 | 1 << 14;

fn mac_of(dev: &str) -> [u8; 6] {
    let text = std::fs::read_to_string(format!("/sys/class/net/{dev}/address")).unwrap();
    let mut mac = [0u8; 6];
    for (m, p) in mac.iter_mut().zip(text.trim().split(':')) {
        *m = u8::from_str_radix(p, 16).unwrap();
    }
    mac
}

/// Every socket file under `dir`.
fn sockets_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in entries.flatten() {
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            found.extend(sockets_under(&e.path()));
        } else if t.is_socket() {
            found.push(e.path());
        }
    }
    found
}

/// The bound Unix sockets (`/proc/net/unix`) whose path starts with `prefix`.
fn unix_sockets_bound_under(prefix: &Path) -> Vec<String> {
    let prefix = prefix.to_string_lossy();
    std::fs::read_to_string("/proc/net/unix")
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(7))
        .filter(|p| p.starts_with(&*prefix))
        .map(str::to_string)
        .collect()
}

/// Prints how long a step took, and since the start.
struct Clock {
    start: Instant,
    last: Instant,
}

impl Clock {
    fn new() -> Clock {
        let now = Instant::now();
        Clock {
            start: now,
            last: now,
        }
    }
    fn step(&mut self, what: &str) {
        let now = Instant::now();
        eprintln!(
            "[{:>6.2}s] {what} ({:.2}s)",
            (now - self.start).as_secs_f64(),
            (now - self.last).as_secs_f64()
        );
        self.last = now;
    }
}

#[test]
fn device_plugin_allocate_podman_cni_and_an_unprivileged_receiver_end_to_end() {
    let test = "whole_story";
    let Some(pre) = podman::prerequisites(test, &["setpriv"]) else {
        return;
    };
    let mut clock = Clock::new();

    // Dropped last to first: podman's container (CNI DEL), the daemon
    // (killed if it is still running), the stand-in, the veth pair, the
    // directory.
    let tmp = TempDir::new("dp-story");
    run("chmod", &["711", tmp.to_str()]);
    // Named after this process (`afws<pid>`, `afwp<pid>`: no other test
    // uses these prefixes, and no other live process has this pid).
    let pid = std::process::id();
    let veth = HostVeth::new(&format!("afws{pid}"), &format!("afwp{pid}"), true);
    let (dev, peer) = (veth.dev.clone(), veth.peer.clone());
    let (dev_mac, peer_mac) = (mac_of(&dev), mac_of(&peer));
    let k = Kubelet::start(&tmp.path().join("kubelet"));
    let dp_dir = tmp.path().join("dp");
    let pin_dir = tmp.path().join("pins");
    clock.step(&format!("veth {dev} <-> {peer}, kubelet stand-in"));

    // The daemon: the pool holds the host end, its files for uid 65534.
    let config = tmp.path().join("config.json");
    std::fs::write(
        &config,
        json!({
            "logLevel": "debug",
            "pools": [{
                "name": "pool1",
                "mode": "primary",
                "devices": [{ "name": dev }],
                "udsTimeout": 60,
                "uid": POD_UID,
            }]
        })
        .to_string(),
    )
    .unwrap();
    let mut plugin = Plugin::spawn(daemon_command(
        Command::new("setpriv"),
        &config,
        &k,
        &dp_dir,
        Some(&pin_dir),
    ));

    // podman's configuration, its own whatever /etc/containers says; our
    // CNI (the static binary under the name afxdp) the network's only
    // plugin, as a NetworkAttachmentDefinition would give it (deviceID is
    // what Multus adds from the device plugin's allocation); the image, a
    // tarball holding only the static binary.
    let pod_name = format!("afxdp-story-{pid}");
    let scene = Podman::new(
        &pre,
        &tmp.path().join("podman"),
        &pod_name,
        &dev,
        "10.78.0.0/24",
        "10.78.0.1",
    );
    clock.step("daemon started; podman configured, image imported");

    // Registration, ListAndWatch: the device, healthy.
    let (_, reg) = k.wait_registration(0, Duration::from_secs(10));
    assert_eq!(
        (
            reg.version.as_str(),
            reg.endpoint.as_str(),
            reg.resource_name.as_str()
        ),
        ("v1beta1", ENDPOINT, RESOURCE)
    );
    let watch = k.watch(ENDPOINT);
    watch.wait_for(&dev, "Healthy", Duration::from_secs(5));
    clock.step("registered; ListAndWatch: healthy");

    // Allocate: the handshake socket, owned by the pool's uid, and the
    // environment.
    let resp = k.allocate(ENDPOINT, &[&dev]).expect("Allocate");
    assert_eq!(resp.container_responses.len(), 1);
    let alloc = &resp.container_responses[0];
    assert_eq!(alloc.envs.get(ENV), Some(&dev), "{alloc:?}");
    let socket = dp_dir.join(&dev).join("afxdp.sock");
    let container_socket = format!("/tmp/afxdp_dp/{dev}/afxdp.sock");
    let mounts: Vec<(&str, &str)> = alloc
        .mounts
        .iter()
        .map(|m| (m.host_path.as_str(), m.container_path.as_str()))
        .collect();
    assert_eq!(
        mounts,
        [(socket.to_str().unwrap(), container_socket.as_str())],
        "{alloc:?}"
    );
    assert!(
        ip_details(&dev).contains("prog/xdp"),
        "Allocate attached the program: {}",
        ip_details(&dev)
    );
    // From now on kubelet's pod-resources says the pod holds the device.
    k.set_pods(Some(vec![pod(POD_NAMESPACE, &pod_name, RESOURCE, &[&dev])]));
    clock.step("allocated; pod-resources lists the pod");

    // The pod: as kubelet would start it with Allocate's answer.
    let count = FRAMES.to_string();
    let vdev = format!("iface={dev},use_cni=1");
    let mut args: Vec<String> = [
        "run",
        "-d",
        "--name",
        scene.name(),
        "--hostname",
        &pod_name,
        "--network",
        scene.name(),
        "--user",
        "65534:65534",
        "--cap-drop=all",
        "--cap-add=NET_RAW,IPC_LOCK",
        // bpf() allowed (the client inserts its socket into the map it is
        // handed).
        "--security-opt",
        "seccomp=unconfined",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for m in &alloc.mounts {
        let ro = if m.read_only { ":ro" } else { "" };
        args.push("-v".into());
        args.push(format!("{}:{}{ro}", m.host_path, m.container_path));
    }
    let mut envs: Vec<_> = alloc.envs.iter().collect();
    envs.sort();
    for (key, value) in envs {
        args.push("-e".into());
        args.push(format!("{key}={value}"));
    }
    args.extend(
        [
            scene.image(),
            "/sockctl",
            "rx",
            "--vdev",
            &vdev,
            "--count",
            &count,
            "--duration",
            "30",
            "--json",
        ]
        .map(str::to_string),
    );
    scene.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    clock.step("podman run -d");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let logs = scene.logs();
        if logs.contains("sockctl rx: ") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the container did not open its port:\n{logs}\nCNI log:\n{}\ndaemon:\n{}",
            scene.cni_log(),
            plugin.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    clock.step("the receiver opened its port");

    // The daemon checked the pod with pod-resources and accepted it.
    plugin.wait_log(
        &format!("pod check: pod {POD_NAMESPACE}/{pod_name} holds {RESOURCE} {dev}: accepted"),
        Duration::from_secs(5),
    );
    // The device is the container's: gone from the host (unhealthy for
    // kubelet, which keeps the allocation), up there with host-local's
    // address.
    assert!(!veth.dev_on_host(), "{dev} is still on the host");
    watch.wait_for(&dev, "Unhealthy", Duration::from_secs(5));
    let sandbox = scene.sandbox();
    let in_pod = run(
        "nsenter",
        &[
            &format!("--net={sandbox}"),
            "ip",
            "-d",
            "addr",
            "show",
            "dev",
            &dev,
        ],
    );
    assert!(
        in_pod.contains("inet 10.78.0.2/24") && in_pod.contains(",UP") && in_pod.contains("xdp"),
        "{in_pod}"
    );
    // The process: uid 65534, exactly the two capabilities, Allocate's
    // environment.
    let cpid = scene.pid();
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        let v = u64::from_str_radix(&status_field(&cpid, set), 16).unwrap();
        assert_eq!(
            v, CONTAINER_CAPS,
            "{set} of the container's process: {v:#x}"
        );
    }
    assert_eq!(status_field(&cpid, "Uid"), "65534\t65534\t65534\t65534");
    let environ = std::fs::read(format!("/proc/{cpid}/environ")).unwrap();
    let want = format!("{ENV}={dev}");
    assert!(
        environ.split(|b| *b == 0).any(|e| e == want.as_bytes()),
        "{want} is not in the container's environment"
    );
    clock.step("checked the pod check, the device, the process");

    // Traffic from the peer on the host; the container counts it all.
    let sent: Vec<Vec<u8>> = (0..FRAMES)
        .map(|seq| frames::udp_frame(peer_mac, dev_mac, seq, 0, 64))
        .collect();
    let took =
        packet::send_paced(&peer, &sent, 32, Duration::from_millis(1)).expect("send from the peer");
    clock.step(&format!("sent {FRAMES} frames in {took:?}"));
    let exit = scene.ok(&["wait", scene.name()]);
    let logs = scene.logs();
    assert_eq!(exit.trim(), "0", "the receiver failed:\n{logs}");
    let totals: Value = logs
        .lines()
        .rfind(|l| l.starts_with('{'))
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no totals from the receiver:\n{logs}"));
    assert_eq!(totals["rx_packets"], FRAMES, "{logs}");
    assert_eq!(totals["rx_bytes"], u64::from(FRAMES) * 64, "{logs}");
    eprintln!("the container received: {totals}");
    clock.step("the receiver exited with every frame");

    // podman rm (CNI DEL): the device back on the host, up again (so the
    // daemon counts it healthy and can hand it to the next pod), its
    // address given back.
    scene.ok(&["rm", "-f", "-t", "0", scene.name()]);
    clock.step("podman rm");
    let cni = scene.cni_log();
    assert!(veth.dev_on_host(), "{dev} did not come back:\n{cni}");
    let back = run("ip", &["-o", "link", "show", &dev]);
    assert!(back.contains(",UP"), "{back}");
    watch.wait_for(&dev, "Healthy", Duration::from_secs(5));
    let leases = scene.leases();
    assert!(leases.is_empty(), "host-local still holds {leases:?}");
    for line in [
        format!("moved {dev} into {sandbox}"),
        format!("moved {dev} back to the host as {dev}"),
        "IPAM host-local: released".to_string(),
    ] {
        assert!(cni.contains(&line), "the CNI did not log {line:?}:\n{cni}");
    }

    // The pod is gone for kubelet: its name is refused from now on.
    k.set_pods(Some(Vec::new()));
    let e = xskmap_by_handshake(
        &socket,
        &dev,
        &HandshakeOptions {
            hostname: Some(pod_name.clone()),
            step_timeout: Duration::from_secs(5),
            ..Default::default()
        },
    )
    .expect_err("a pod kubelet no longer lists is refused");
    assert_eq!(e.kind(), ErrorKind::Refused, "{e}");

    // The daemon stops: nothing attached, pinned, left or listening.
    plugin.stop();
    clock.step("pod gone, daemon stopped");
    for d in [&dev, &peer] {
        let link = ip_details(d);
        assert!(!link.contains("xdp"), "still attached: {link}");
    }
    assert_eq!(sockets_under(&dp_dir), Vec::<PathBuf>::new());
    assert_eq!(unix_sockets_bound_under(&dp_dir), Vec::<String>::new());
    let endpoint = k.plugin_dir.join(ENDPOINT);
    assert!(!endpoint.exists(), "{} is left", endpoint.display());
    assert_eq!(unix_sockets_bound_under(&endpoint), Vec::<String>::new());
    let pins: Vec<_> = std::fs::read_dir(&pin_dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(pins.is_empty(), "pinned: {pins:?}");
    eprintln!("--- the CNI's log\n{cni}");
    clock.step("done");
}

/// `ip -d link show <dev>` in the host's namespace.
fn ip_details(dev: &str) -> String {
    run("ip", &["-d", "link", "show", dev])
}
