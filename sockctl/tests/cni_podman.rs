//! The AF_XDP CNI under a real CNI-calling container runtime: podman 4 with
//! its CNI backend runs a container whose only network is ours (`type:
//! afxdp`, IPAM host-local), which moves one end of a host veth pair into
//! it. Inside, the static `sockctl` runs as uid 65534 with only
//! `CAP_NET_RAW` and `CAP_IPC_LOCK`, gets the XSKMAP from `sockctl serve`
//! on the host by the device-plugin handshake (DPDK's `use_cni=1`), and
//! receives every frame sent from the host end. The device is gone from
//! the host while the container runs and is back after `podman rm`.
//!
//! Hermetic: podman reads its own containers.conf (`CONTAINERS_CONF`) and
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

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use afxdp_testkit::{privileged, run, unique_path};
use serde_json::{json, Value};

const SOCKCTL: &str = env!("CARGO_BIN_EXE_sockctl");
const FRAMES: u64 = 10_000;

/// `CAP_NET_RAW` (13) and `CAP_IPC_LOCK` (14).
const CAPS: u64 = 1 << 13 | 1 << 14;

/// What podman writes outside its configured directories (libcni's cache,
/// containers/image's blob-info cache): removed afterwards if the test
/// created it.
const OUTSIDE: &[&str] = &[
    "/var/lib/cni/results",
    "/var/lib/cni",
    "/var/lib/containers/cache/blob-info-cache-v1.boltdb",
    "/var/lib/containers/cache",
    "/var/lib/containers",
];

fn skip_or_fail(test: &str, why: &str) -> bool {
    let required = std::env::var("AFXDP_REQUIRE_PRIVILEGED").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{test}: {why} (AFXDP_REQUIRE_PRIVILEGED=1 forbids skipping)"
    );
    eprintln!("!!! SKIPPED {test}: {why}");
    false
}

fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The static binary, if `.ci/run` built it and said where.
fn static_sockctl(test: &str) -> Option<PathBuf> {
    let Some(p) = std::env::var_os("AFXDP_STATIC_SOCKCTL") else {
        skip_or_fail(
            test,
            "AFXDP_STATIC_SOCKCTL is not set (cargo build --profile static -p af-xdp --bin sockctl --target x86_64-unknown-linux-musl, then point it at target/x86_64-unknown-linux-musl/static/sockctl)",
        );
        return None;
    };
    let p = PathBuf::from(p);
    assert!(
        p.is_file(),
        "AFXDP_STATIC_SOCKCTL={} is not a file",
        p.display()
    );
    Some(std::fs::canonicalize(p).unwrap())
}

/// Everything the test made, undone on drop (also when it fails).
struct Scene {
    work: PathBuf,
    dev: String,
    container: String,
    image: String,
    network: String,
    server: Option<std::process::Child>,
    outside_before: Vec<bool>,
}

impl Scene {
    fn podman(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("timeout");
        cmd.arg("120")
            .arg("podman")
            .args(args)
            .env("CONTAINERS_CONF", self.work.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", self.work.join("storage.conf"));
        cmd
    }

    fn podman_ok(&self, args: &[&str]) -> String {
        let out = self.podman(args).output().expect("run podman");
        assert!(
            out.status.success(),
            "podman {}: {}\n{}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.work.join("afxdp-cni.log")).unwrap_or_default()
    }

    fn host_has(&self, dev: &str) -> bool {
        Command::new("ip")
            .args(["link", "show", dev])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        let _ = self
            .podman(&["rm", "-f", "-t", "0", &self.container])
            .output();
        let _ = self.podman(&["rmi", "-f", &self.image]).output();
        if let Some(mut s) = self.server.take() {
            // SIGTERM: serve detaches its program and removes its socket.
            let _ = Command::new("kill").arg(s.id().to_string()).status();
            let _ = s.wait();
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.dev])
            .stderr(Stdio::null())
            .status();
        let cached = Path::new("/var/lib/cni/results").join(format!("{}-", self.network));
        if let Ok(d) = std::fs::read_dir("/var/lib/cni/results") {
            for e in d.flatten() {
                if e.path()
                    .to_string_lossy()
                    .starts_with(&*cached.to_string_lossy())
                {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        for (path, existed) in OUTSIDE.iter().zip(&self.outside_before) {
            if !existed {
                let p = Path::new(path);
                let _ = if p.is_dir() {
                    std::fs::remove_dir(p)
                } else {
                    std::fs::remove_file(p)
                };
            }
        }
        let _ = std::fs::remove_dir_all(&self.work);
    }
}

fn output_text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `/proc/PID/status` field `name`'s value.
fn status_field(pid: &str, name: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn podman_runs_an_unprivileged_af_xdp_receiver_on_the_device_our_cni_moved_in() {
    let test = "cni_podman";
    if !privileged(test) {
        return;
    }
    for tool in ["podman", "runc", "nsenter", "tar"] {
        if !on_path(tool) {
            skip_or_fail(
                test,
                &format!("{tool} is not installed (apt-get install podman runc)"),
            );
            return;
        }
    }
    let Some(cni_dir) = ["/usr/lib/cni", "/opt/cni/bin"]
        .into_iter()
        .find(|d| Path::new(d).join("host-local").is_file())
    else {
        skip_or_fail(
            test,
            "host-local is not installed (apt-get install containernetworking-plugins)",
        );
        return;
    };
    let Some(static_bin) = static_sockctl(test) else {
        return;
    };

    let id = std::process::id() % 100_000;
    let work = unique_path("cni-podman");
    let mut scene = Scene {
        work: work.clone(),
        dev: format!("afxc{id}"),
        container: format!("afxdp-cni-{id}"),
        image: format!("localhost/afxdp-cni-test-{id}:latest"),
        network: format!("afxdp-cni-{id}"),
        server: None,
        outside_before: OUTSIDE.iter().map(|p| Path::new(p).exists()).collect(),
    };
    let dev = scene.dev.clone();
    let peer = format!("afxh{id}");
    for d in [
        "bin", "net.d", "root", "runroot", "tmp", "dp", "ipam", "image",
    ] {
        std::fs::create_dir_all(work.join(d)).unwrap();
    }
    run("chmod", &["711", work.to_str().unwrap()]);
    let w = work.display();

    // podman's configuration: its own, whatever /etc/containers says.
    std::fs::write(
        work.join("containers.conf"),
        format!(
            r#"[containers]
# This machine cannot raise these limits; an explicit --ulimit would
# replace the defaults.
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
# crun fails here ("cgroups in hybrid mode not supported").
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "{w}/tmp"

[network]
network_backend = "cni"
cni_plugin_dirs = ["{w}/bin", "{cni_dir}"]
network_config_dir = "{w}/net.d"
"#
        ),
    )
    .unwrap();
    std::fs::write(
        work.join("storage.conf"),
        format!(
            "[storage]\ndriver = \"vfs\"\nrunroot = \"{w}/runroot\"\ngraphroot = \"{w}/root\"\n"
        ),
    )
    .unwrap();
    // The plugin: the static binary under the name afxdp.
    std::os::unix::fs::symlink(&static_bin, work.join("bin/afxdp")).unwrap();
    // The network: ours only, as a NetworkAttachmentDefinition would give
    // it (deviceID is what Multus adds from the device plugin).
    let conflist = json!({
        "cniVersion": "1.0.0",
        "name": scene.network,
        "plugins": [{
            "type": "afxdp",
            "mode": "primary",
            "deviceID": dev,
            "logFile": work.join("afxdp-cni.log"),
            "logLevel": "debug",
            "ipam": {
                "type": "host-local",
                "dataDir": work.join("ipam"),
                "ranges": [[{ "subnet": "10.77.0.0/24", "gateway": "10.77.0.1" }]],
                "routes": [{ "dst": "0.0.0.0/0" }]
            }
        }]
    });
    std::fs::write(
        work.join(format!("net.d/{}.conflist", scene.network)),
        serde_json::to_string_pretty(&conflist).unwrap(),
    )
    .unwrap();

    // The image: a tarball holding only the static binary.
    std::fs::copy(&static_bin, work.join("image/sockctl")).unwrap();
    run(
        "tar",
        &[
            "-C",
            &format!("{w}/image"),
            "-cf",
            &format!("{w}/image.tar"),
            "sockctl",
        ],
    );
    scene.podman_ok(&["import", &format!("{w}/image.tar"), &scene.image]);

    // The host: a veth pair, no IPv6 on the end that stays (so that it
    // sends nothing of its own), the device-plugin side on the other end.
    run(
        "ip",
        &["link", "add", &dev, "type", "veth", "peer", "name", &peer],
    );
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{peer}/disable_ipv6"), "1");
    run("ip", &["link", "set", &peer, "up"]);
    let server = Command::new(SOCKCTL)
        .args(["serve", "--iface", &dev, "--dir", &format!("{w}/dp")])
        .args(["--allow-any-pod", "--socket-owner", "65534:65534"])
        .stdout(std::fs::File::create(work.join("serve.log")).unwrap())
        .stderr(std::fs::File::create(work.join("serve.err")).unwrap())
        .spawn()
        .unwrap();
    scene.server = Some(server);
    let sock = work.join(format!("dp/{dev}/afxdp.sock"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sock.exists() {
        assert!(
            Instant::now() < deadline,
            "serve did not create {}",
            sock.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // The pod: uid 65534, only NET_RAW and IPC_LOCK, the device plugin's
    // directory mounted where DPDK looks; bpf() allowed by seccomp (the
    // client inserts its socket into the map it is handed).
    let count = FRAMES.to_string();
    scene.podman_ok(&[
        "run",
        "-d",
        "--name",
        &scene.container,
        "--network",
        &scene.network,
        "--user",
        "65534:65534",
        "--cap-drop=all",
        "--cap-add=NET_RAW,IPC_LOCK",
        "--security-opt",
        "seccomp=unconfined",
        "-v",
        &format!("{w}/dp:/tmp/afxdp_dp"),
        &scene.image,
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
        let logs = scene.podman(&["logs", &scene.container]).output().unwrap();
        let text = output_text(&logs);
        if text.contains("sockctl rx: ") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the container did not open its port:\n{text}\nCNI log:\n{}",
            scene.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // While it runs: the device is in the container, up, with host-local's
    // address, and gone from the host; the process has exactly the two
    // capabilities, in every set, as uid 65534.
    assert!(!scene.host_has(&dev), "{dev} is still on the host");
    let sandbox = scene
        .podman_ok(&[
            "inspect",
            "--format",
            "{{.NetworkSettings.SandboxKey}}",
            &scene.container,
        ])
        .trim()
        .to_string();
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
    let pid = scene
        .podman_ok(&["inspect", "--format", "{{.State.Pid}}", &scene.container])
        .trim()
        .to_string();
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        let v = u64::from_str_radix(&status_field(&pid, set), 16).unwrap();
        assert_eq!(v, CAPS, "{set} of the container's process: {v:#x}");
    }
    assert_eq!(status_field(&pid, "Uid"), "65534\t65534\t65534\t65534");
    // What the container itself sees: the device, with the program the
    // device-plugin side attached before the move.
    let doctor = scene
        .podman(&[
            "exec",
            &scene.container,
            "/sockctl",
            "doctor",
            "--iface",
            &dev,
        ])
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
    let exit = scene.podman_ok(&["wait", &scene.container]);
    let logs = scene.podman(&["logs", &scene.container]).output().unwrap();
    let logs = output_text(&logs);
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
    scene.podman_ok(&["rm", &scene.container]);
    assert!(
        scene.host_has(&dev),
        "{dev} did not come back:\n{}",
        scene.log()
    );
    let back = run("ip", &["-o", "link", "show", &dev]);
    assert!(back.contains(",UP"), "{back}");
    let leases: Vec<_> = std::fs::read_dir(work.join(format!("ipam/{}", scene.network)))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("10."))
                .collect()
        })
        .unwrap_or_default();
    assert!(leases.is_empty(), "host-local still holds {leases:?}");
    let log = scene.log();
    assert!(
        log.contains(&format!("moved {dev} into {sandbox}")),
        "{log}"
    );
    assert!(
        log.contains(&format!("moved {dev} back to the host as {dev}")),
        "{log}"
    );
    assert!(!log.contains("CHECK"), "{log}");
    let served = std::fs::read_to_string(work.join("serve.log")).unwrap_or_default();
    assert!(served.contains("uid 65534 gid 65534"), "{served}");
    eprintln!("the plugin's log:\n{log}");
}
