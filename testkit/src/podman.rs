//! podman as a real CNI-calling container runtime for our CNI, hermetic:
//! podman reads its own containers.conf (`CONTAINERS_CONF`: runc, cgroupfs,
//! the CNI backend) and storage.conf (`CONTAINERS_STORAGE_CONF`: vfs), and
//! keeps its storage, run state, network configurations and host-local's
//! leases under one directory of the test's, whatever `/etc/containers`
//! says. The image comes from `podman import` of a tarball holding only the
//! static `sockctl` (no registry). What podman writes outside that
//! directory is removed afterwards when it was not there before.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::json;

use crate::gate::{host_local_dir, on_path, privileged, skip};
use crate::process::output_text;
use crate::run;

/// Every podman call is cut off after this long (seconds).
const TIMEOUT: &str = "120";

/// What podman and our CNI write outside podman's configured directories
/// (libcni's cache, our CNI's records and log directory, containers/image's
/// blob-info cache): removed afterwards if the test created it, deepest
/// first.
const OUTSIDE: &[&str] = &[
    "/var/lib/cni/results",
    CNI_STATE,
    "/var/lib/cni",
    "/var/lib/containers/cache/blob-info-cache-v1.boltdb",
    "/var/lib/containers/cache",
    "/var/lib/containers",
    "/var/log/afxdp-k8s-plugins",
];

/// Where our CNI records its attachments, a directory per network.
const CNI_STATE: &str = "/var/lib/cni/afxdp";

/// libcni's cache of results, one file per attachment.
const CNI_RESULTS: &str = "/var/lib/cni/results";

/// What a podman test needs from this machine, found.
#[derive(Debug)]
pub struct Prerequisites {
    /// The directory holding host-local (the IPAM plugin).
    pub cni_dir: &'static str,
    /// The static `sockctl` (`AFXDP_STATIC_SOCKCTL`, made absolute): our
    /// CNI plugin, and the image's only file.
    pub static_sockctl: PathBuf,
}

/// Checks what a podman test needs: root; podman, runc, nsenter, tar,
/// timeout and `more_tools` on `PATH`; host-local; the static `sockctl` in
/// `AFXDP_STATIC_SOCKCTL` (as `.ci/run` builds and sets it). `None` after a
/// loud skip (a failure under `AFXDP_REQUIRE_PRIVILEGED=1`).
pub fn prerequisites(test: &str, more_tools: &[&str]) -> Option<Prerequisites> {
    if !privileged(test) {
        return None;
    }
    for tool in ["podman", "runc", "nsenter", "tar", "timeout"]
        .iter()
        .chain(more_tools)
    {
        if !on_path(tool) {
            skip(
                test,
                &format!("{tool} is not installed (apt-get install podman runc util-linux)"),
            );
            return None;
        }
    }
    let Some(cni_dir) = host_local_dir() else {
        skip(
            test,
            "host-local is not installed (apt-get install containernetworking-plugins)",
        );
        return None;
    };
    let Some(p) = std::env::var_os("AFXDP_STATIC_SOCKCTL") else {
        skip(
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
    Some(Prerequisites {
        cni_dir,
        static_sockctl: std::fs::canonicalize(p).expect("canonicalize AFXDP_STATIC_SOCKCTL"),
    })
}

/// podman, set up for one container on our CNI. On drop the container is
/// removed first (its CNI DEL gives the device back), then the image, then
/// what podman wrote outside its directory; the CNI's log is printed when
/// the test is failing. The directory itself is the test's to remove (a
/// [`TempDir`](crate::TempDir) declared before this).
#[derive(Debug)]
pub struct Podman {
    work: PathBuf,
    name: String,
    image: String,
    outside_before: Vec<bool>,
}

impl Podman {
    /// Sets podman up in `work` for a container and a network both called
    /// `name`. The network's only plugin is ours (`type: afxdp`, the static
    /// binary under that name; mode primary, `deviceID` `dev`, as a
    /// NetworkAttachmentDefinition with Multus would give it; debug log in
    /// `/var/log/afxdp-k8s-plugins/<name>.log`, as the CNI takes a file name
    /// only) with host-local over `subnet` with `gateway` and a default route. The image, `localhost/<name>:latest`, holds only
    /// `/sockctl`.
    pub fn new(
        pre: &Prerequisites,
        work: &Path,
        name: &str,
        dev: &str,
        subnet: &str,
        gateway: &str,
    ) -> Podman {
        let podman = Podman {
            work: work.to_path_buf(),
            name: name.into(),
            image: format!("localhost/{name}:latest"),
            outside_before: OUTSIDE.iter().map(|p| Path::new(p).exists()).collect(),
        };
        for d in ["bin", "net.d", "root", "runroot", "tmp", "ipam", "image"] {
            std::fs::create_dir_all(work.join(d)).unwrap();
        }
        let (w, cni_dir) = (work.display(), pre.cni_dir);
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
        std::os::unix::fs::symlink(&pre.static_sockctl, work.join("bin/afxdp")).unwrap();
        let conflist = json!({
            "cniVersion": "1.0.0",
            "name": name,
            "plugins": [{
                "type": "afxdp",
                "mode": "primary",
                "deviceID": dev,
                "logFile": format!("{name}.log"),
                "logLevel": "debug",
                "ipam": {
                    "type": "host-local",
                    "dataDir": work.join("ipam"),
                    "ranges": [[{ "subnet": subnet, "gateway": gateway }]],
                    "routes": [{ "dst": "0.0.0.0/0" }]
                }
            }]
        });
        std::fs::write(
            work.join(format!("net.d/{name}.conflist")),
            serde_json::to_string_pretty(&conflist).unwrap(),
        )
        .unwrap();
        std::fs::copy(&pre.static_sockctl, work.join("image/sockctl")).unwrap();
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
        podman.ok(&["import", &format!("{w}/image.tar"), &podman.image]);
        podman
    }

    /// The container's name, which is also the network's.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The image (`localhost/<name>:latest`).
    pub fn image(&self) -> &str {
        &self.image
    }

    /// `podman ARGS` with this configuration, cut off after 120 s.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("timeout");
        cmd.arg(TIMEOUT)
            .arg("podman")
            .args(args)
            .env("CONTAINERS_CONF", self.work.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", self.work.join("storage.conf"))
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `podman ARGS`, which must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.command(args).output().expect("run podman");
        assert!(
            out.status.success(),
            "podman {}: {}\n{}\nCNI log:\n{}",
            args.join(" "),
            out.status,
            output_text(&out),
            self.cni_log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `podman logs` of the container: its stdout, then its stderr.
    pub fn logs(&self) -> String {
        output_text(
            &self
                .command(&["logs", &self.name])
                .output()
                .expect("run podman logs"),
        )
    }

    /// The container's network namespace (`podman inspect`'s SandboxKey).
    pub fn sandbox(&self) -> String {
        self.inspect("{{.NetworkSettings.SandboxKey}}")
    }

    /// The pid of the container's process.
    pub fn pid(&self) -> String {
        self.inspect("{{.State.Pid}}")
    }

    fn inspect(&self, format: &str) -> String {
        self.ok(&["inspect", "--format", format, &self.name])
            .trim()
            .to_string()
    }

    /// What our CNI logged so far.
    pub fn cni_log(&self) -> String {
        std::fs::read_to_string(self.cni_log_path()).unwrap_or_default()
    }

    /// Where our CNI logs: `logFile` is a file name in its log directory.
    fn cni_log_path(&self) -> PathBuf {
        Path::new("/var/log/afxdp-k8s-plugins").join(format!("{}.log", self.name))
    }

    /// The addresses host-local holds for the network (its lease files).
    pub fn leases(&self) -> Vec<String> {
        std::fs::read_dir(self.work.join("ipam").join(&self.name))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.parse::<std::net::IpAddr>().is_ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.command(&["rm", "-f", "-t", "0", &self.name]).output();
        let _ = self.command(&["rmi", "-f", &self.image]).output();
        let _ = std::fs::remove_file(self.cni_log_path());
        let cached = format!("{}-", self.name);
        if let Ok(d) = std::fs::read_dir(CNI_RESULTS) {
            for e in d.flatten() {
                if e.file_name().to_string_lossy().starts_with(&cached) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let _ = std::fs::remove_dir_all(Path::new(CNI_STATE).join(&self.name));
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
        if std::thread::panicking() {
            eprintln!("--- the CNI's log\n{}", self.cni_log());
        }
    }
}
