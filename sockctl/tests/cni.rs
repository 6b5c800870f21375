//! The AF_XDP CNI plugin, invoked exactly as the CNI spec prescribes: the
//! binary under the name `afxdp` (a symlink to `sockctl`), `CNI_*` in its
//! environment, the network configuration on stdin, the result or error
//! read from stdout. Against real namespaces: a "host" namespace holding a
//! veth pair, a "container" namespace the device moves into, host-local
//! from Debian's containernetworking-plugins as the IPAM plugin.
//!
//! ADD moves the veth end and configures host-local's addresses, CHECK
//! passes and then fails once the link is set down, DEL returns it; DEL
//! twice; DEL after the container's namespace was deleted (a node reboot);
//! a missing device; bad JSON; an unsupported cniVersion; a failing
//! ethtool command reported in the error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use afxdp_testkit::{host_local_dir, privileged, skip, unique_path, NetNs, TempDir, Veth};
use serde_json::{json, Value};

const SOCKCTL: &str = env!("CARGO_BIN_EXE_sockctl");

/// Whether a test that needs `what` (a tool on this machine) may run: a
/// loud skip without it, a failure under `AFXDP_REQUIRE_PRIVILEGED=1`.
fn have(test: &str, what: &str, found: bool) -> bool {
    if !found {
        skip(
            test,
            &format!("needs {what} (apt-get install containernetworking-plugins ethtool)"),
        );
    }
    found
}

fn ethtool_installed() -> bool {
    ["/usr/sbin/ethtool", "/sbin/ethtool", "/usr/bin/ethtool"]
        .iter()
        .any(|p| Path::new(p).is_file())
}

/// The plugin as a runtime installs it: `afxdp` in a directory of its own
/// (a symlink to the test build of `sockctl`), removed on drop.
struct Plugin {
    dir: TempDir,
}

impl Plugin {
    fn new() -> Plugin {
        let dir = TempDir::new("cni-bin");
        std::os::unix::fs::symlink(SOCKCTL, dir.path().join("afxdp")).unwrap();
        Plugin { dir }
    }

    fn exe(&self) -> PathBuf {
        self.dir.path().join("afxdp")
    }
}

/// What one invocation gave.
#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success: {self:?}");
        self
    }

    /// Asserts a CNI error with `code` and returns it.
    fn error(self, code: u64) -> Value {
        assert_eq!(self.code, 1, "expected failure: {self:?}");
        let e = self.json();
        assert_eq!(e["code"], code, "{e}");
        assert!(e["msg"].is_string(), "{e}");
        e
    }
}

/// Where the plugin puts its `logFile` (a file name, nothing else).
const LOG_DIR: &str = "/var/log/afxdp-k8s-plugins";

/// A log file of the plugin's, by a name of this test process's, removed
/// on drop (the directory, shared with other tests, stays).
#[derive(Debug)]
struct LogFile {
    name: String,
}

impl LogFile {
    fn new(tag: &str) -> LogFile {
        // afxdp-<tag>-<pid>-<n>: letters, digits and '-' only.
        let unique = unique_path(tag);
        let stem = unique.file_name().unwrap().to_str().unwrap();
        LogFile {
            name: format!("{stem}.log"),
        }
    }

    fn path(&self) -> PathBuf {
        Path::new(LOG_DIR).join(&self.name)
    }
}

impl Drop for LogFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.path());
    }
}

/// Where the plugin records its attachments, one directory per network.
const STATE_DIR: &str = "/var/lib/cni/afxdp";

/// A network of this test process's (`afxdp-<tag>-<pid>-<n>`): the
/// plugin's records of it are removed on drop (the state directory,
/// shared with other tests, stays).
#[derive(Debug)]
struct Network {
    name: String,
}

impl Network {
    fn new(tag: &str) -> Network {
        let unique = unique_path(tag);
        Network {
            name: unique.file_name().unwrap().to_str().unwrap().to_string(),
        }
    }

    /// The network's directory of records.
    fn dir(&self) -> PathBuf {
        Path::new(STATE_DIR).join(&self.name)
    }

    /// The plugin's records of this network's attachments, as `<container
    /// id>/<ifname>`, sorted; with a directory left empty as `<container
    /// id>/`.
    fn records(&self) -> Vec<String> {
        let names = |p: &Path| -> Vec<String> {
            match std::fs::read_dir(p) {
                Ok(d) => d
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect(),
                Err(_) => vec![],
            }
        };
        let mut out = vec![];
        for id in names(&self.dir()) {
            let files = names(&self.dir().join(&id));
            if files.is_empty() {
                out.push(format!("{id}/"));
            }
            out.extend(files.into_iter().map(|f| format!("{id}/{f}")));
        }
        out.sort();
        out
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(Path::new(STATE_DIR).join(&self.name));
    }
}

/// One CNI attachment under test: the host namespace with its veth pair,
/// the container's namespace, a network of its own name, a host-local data
/// directory (made by host-local, removed on drop), a log file.
/// What [`Setup::two_pods`] made: the second pod, each pod's namespace
/// path, and each attachment's network configuration.
struct TwoPods {
    pod2: NetNs,
    path1: String,
    path2: String,
    conf1: String,
    conf2: String,
}

struct Setup {
    plugin: Plugin,
    host: NetNs,
    pod: Option<NetNs>,
    network: Network,
    data_dir: TempDir,
    log: LogFile,
    cni_path: &'static str,
}

impl Setup {
    fn new() -> Setup {
        let host = NetNs::new("cni-host");
        Veth::new(&host, 1);
        let data_dir = TempDir::uncreated("cni-ipam");
        Setup {
            plugin: Plugin::new(),
            host,
            pod: Some(NetNs::new("cni-pod")),
            network: Network::new("cni-net"),
            log: LogFile::new("cni-log"),
            data_dir,
            cni_path: host_local_dir().unwrap_or("/usr/lib/cni"),
        }
    }

    fn pod(&self) -> &NetNs {
        self.pod.as_ref().expect("pod namespace")
    }

    /// Asserts that `dev` is in the host, with MAC `mac`, and up.
    fn assert_home(&self, dev: &str, mac: &str) {
        let link = self.host.ip(&["-o", "link", "show", dev]);
        assert!(link.contains(mac) && link.contains(",UP"), "{link}");
    }

    /// A second device (`ya`, MAC 02:00:00:00:00:1a) and a second pod;
    /// both devices added, each to its pod (`c1`: `xa`, `c2`: `ya`), as
    /// `net1` with `renameDevice`, at cniVersion `version`.
    fn two_pods(&self, version: &str) -> TwoPods {
        self.host
            .ip(&["link", "add", "ya", "type", "veth", "peer", "name", "yb"]);
        self.host
            .ip(&["link", "set", "ya", "address", "02:00:00:00:00:1a", "up"]);
        let pod2 = NetNs::new("cni-pod");
        let (path1, path2) = (self.pod_path(), format!("/run/netns/{}", pod2.name()));
        let mut conf1 = self.conf(version);
        conf1["renameDevice"] = json!(true);
        let mut conf2 = conf1.clone();
        conf2["deviceID"] = json!("ya");
        let (conf1, conf2) = (conf1.to_string(), conf2.to_string());
        self.invoke_as("c1", "ADD", conf1.as_bytes(), &path1, "net1")
            .ok();
        self.invoke_as("c2", "ADD", conf2.as_bytes(), &path2, "net1")
            .ok();
        TwoPods {
            pod2,
            path1,
            path2,
            conf1,
            conf2,
        }
    }

    fn pod_path(&self) -> String {
        format!("/run/netns/{}", self.pod().name())
    }

    /// `ADD` of container `id` (`net1`, `conf`) into a pod of its own,
    /// which then goes without a `DEL`: the kernel gives the device back to
    /// the host as `net1` (emulated).
    fn add_and_lose_the_pod(&self, id: &str, conf: &[u8]) {
        let pod = NetNs::new("cni-pod");
        let path = format!("/run/netns/{}", pod.name());
        self.invoke_as(id, "ADD", conf, &path, "net1").ok();
        pod.ip(&["link", "set", "net1", "netns", self.host.name()]);
    }

    /// A configuration like DPDK's guide's NAD (the deviceID Multus adds),
    /// with host-local giving an IPv4 and an IPv6 address.
    fn conf(&self, version: &str) -> Value {
        let mut ranges = vec![json!([{
            "subnet": "10.55.0.0/24", "rangeStart": "10.55.0.200",
            "rangeEnd": "10.55.0.220", "gateway": "10.55.0.1"
        }])];
        if version != "0.3.0" {
            ranges.push(json!([{ "subnet": "fd00:55::/64", "gateway": "fd00:55::1" }]));
        }
        json!({
            "cniVersion": version,
            "name": self.network.name,
            "type": "afxdp",
            "mode": "primary",
            "deviceID": "xa",
            "logFile": self.log.name,
            "logLevel": "debug",
            "ipam": {
                "type": "host-local",
                "dataDir": self.data_dir.path(),
                "ranges": ranges,
                "routes": [{ "dst": "0.0.0.0/0" }, { "dst": "10.99.0.0/16", "gw": "10.55.0.254" }]
            }
        })
    }

    /// Runs the plugin in the host namespace as a runtime would, with
    /// container id `c1`, `CNI_IFNAME` `eth0`, the container's namespace.
    fn invoke(&self, command: &str, conf: &Value) -> Out {
        let netns = self
            .pod
            .as_ref()
            .map(|_| self.pod_path())
            .unwrap_or_default();
        self.invoke_with(command, conf.to_string().as_bytes(), &netns, "eth0")
    }

    fn invoke_with(&self, command: &str, stdin: &[u8], netns: &str, ifname: &str) -> Out {
        self.invoke_as("c1", command, stdin, netns, ifname)
    }

    /// [`invoke_with`](Self::invoke_with) for container `id`.
    fn invoke_as(&self, id: &str, command: &str, stdin: &[u8], netns: &str, ifname: &str) -> Out {
        let mut cmd = self.host.command(self.plugin.exe());
        cmd.env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", id)
            .env("CNI_NETNS", netns)
            .env("CNI_IFNAME", ifname)
            .env("CNI_ARGS", "IgnoreUnknown=1")
            .env("CNI_PATH", self.cni_path);
        run(cmd, stdin)
    }

    /// The links of the host namespace, one name a line.
    fn host_links(&self) -> String {
        self.host.ip(&["-o", "link", "show"])
    }

    /// host-local's reservation files for this network.
    fn reserved(&self) -> Vec<String> {
        match std::fs::read_dir(self.data_dir.path().join(&self.network.name)) {
            Ok(d) => d
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains('.') || n.contains(':'))
                .filter(|n| !n.starts_with("last_reserved_ip"))
                .collect(),
            Err(_) => vec![],
        }
    }
}

fn run(mut cmd: Command, stdin: &[u8]) -> Out {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the plugin");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `conf` with `prevResult` set, as a runtime gives it to CHECK and DEL.
fn with_prev(conf: &Value, prev: &Value) -> Value {
    let mut c = conf.clone();
    c["prevResult"] = prev.clone();
    c
}

fn ready(test: &str) -> bool {
    privileged(test) && have(test, "host-local (CNI plugins)", host_local_dir().is_some())
}

#[test]
fn add_moves_the_device_and_configures_ipam_check_passes_then_fails_del_returns_it() {
    if !ready("add_check_del") {
        return;
    }
    let s = Setup::new();
    let conf = s.conf("1.0.0");

    let result = s.invoke("ADD", &conf).ok().json();
    assert_eq!(result["cniVersion"], "1.0.0");
    let iface = &result["interfaces"][0];
    assert_eq!(iface["name"], "xa", "{result}");
    assert_eq!(iface["mac"], "02:00:00:00:00:0a", "{result}");
    assert_eq!(iface["sandbox"], s.pod_path().as_str());
    let ips = result["ips"].as_array().unwrap();
    assert_eq!(ips.len(), 2, "{result}");
    assert_eq!(ips[0]["address"], "10.55.0.200/24");
    assert_eq!(ips[0]["gateway"], "10.55.0.1");
    assert_eq!(ips[0]["interface"], 0);
    assert!(ips[0].get("version").is_none(), "1.0.0 has no ip version");
    assert!(ips[1]["address"].as_str().unwrap().starts_with("fd00:55::"));

    // The device is in the container, up, with both addresses and the
    // routes; it is gone from the host.
    let link = s.pod().ip(&["-o", "link", "show", "xa"]);
    assert!(link.contains("state UP") || link.contains(",UP"), "{link}");
    let addrs = s.pod().ip(&["-o", "addr", "show", "dev", "xa"]);
    assert!(
        addrs.contains("inet 10.55.0.200/24 brd 10.55.0.255"),
        "{addrs}"
    );
    assert!(
        addrs.contains(ips[1]["address"].as_str().unwrap()),
        "{addrs}"
    );
    let routes = s.pod().ip(&["route", "show"]);
    assert!(routes.contains("default via 10.55.0.1 dev xa"), "{routes}");
    assert!(
        routes.contains("10.99.0.0/16 via 10.55.0.254 dev xa"),
        "{routes}"
    );
    assert!(!s.host_links().contains(" xa"), "{}", s.host_links());
    assert_eq!(s.reserved().len(), 2, "{:?}", s.reserved());

    // CHECK, as the spec prescribes it: the same configuration, with ADD's
    // result as prevResult. It passes; without one of the addresses, or
    // with the device down, it fails.
    let checked = with_prev(&conf, &result);
    let out = s.invoke("CHECK", &checked).ok();
    assert_eq!(out.stdout, "");
    s.pod().ip(&["addr", "del", "10.55.0.200/24", "dev", "xa"]);
    let e = s.invoke("CHECK", &checked).error(104);
    assert_eq!(e["msg"], "xa does not have 10.55.0.200/24", "{e}");
    s.pod().ip(&["addr", "add", "10.55.0.200/24", "dev", "xa"]);
    s.invoke("CHECK", &checked).ok();
    s.pod().ip(&["link", "set", "xa", "down"]);
    let e = s.invoke("CHECK", &checked).error(104);
    assert_eq!(e["msg"], "xa is down", "{e}");

    // DEL: back on the host, up (as the pool had it), addresses released.
    s.invoke("DEL", &checked).ok();
    let host = s.host.ip(&["-o", "link", "show", "xa"]);
    assert!(host.contains(",UP"), "{host}");
    assert!(!s.pod().ip(&["-o", "link", "show"]).contains(" xa"));
    assert!(s.reserved().is_empty(), "{:?}", s.reserved());
    // CHECK now fails: host-local first (its own code and words, passed
    // on), and without IPAM, the device is not in the container.
    let e = s.invoke("CHECK", &checked).error(999);
    assert!(
        e["msg"]
            .as_str()
            .unwrap()
            .starts_with("IPAM plugin host-local: "),
        "{e}"
    );
    let mut no_ipam = checked.clone();
    no_ipam.as_object_mut().unwrap().remove("ipam");
    let e = s.invoke("CHECK", &no_ipam).error(104);
    assert_eq!(
        e["msg"], "xa is not in the container's network namespace",
        "{e}"
    );

    // The log has the story.
    let log = std::fs::read_to_string(s.log.path()).unwrap();
    assert!(log.contains("ADD c1: moved xa into"), "{log}");
    assert!(
        log.contains("DEL c1: moved xa back to the host as xa"),
        "{log}"
    );
}

#[test]
fn add_passes_prev_result_through_and_appends_its_interface() {
    if !ready("add_prev_result") {
        return;
    }
    let s = Setup::new();
    // A chain in which another plugin ran first and gave the pod eth0.
    let prev = json!({
        "cniVersion": "0.4.0",
        "interfaces": [
            { "name": "cni0", "mac": "02:00:00:00:00:c0" },
            { "name": "eth0", "mac": "02:00:00:00:00:e0", "sandbox": s.pod_path() }
        ],
        "ips": [{ "version": "4", "address": "10.1.0.5/24", "gateway": "10.1.0.1", "interface": 1 }],
        "routes": [{ "dst": "10.2.0.0/16" }],
        "dns": { "nameservers": ["10.1.0.53"] }
    });
    let conf = with_prev(&s.conf("0.4.0"), &prev);
    let result = s.invoke("ADD", &conf).ok().json();
    assert_eq!(result["cniVersion"], "0.4.0");
    let names: Vec<_> = result["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cni0", "eth0", "xa"], "{result}");
    assert_eq!(result["interfaces"][1], prev["interfaces"][1], "{result}");
    assert_eq!(result["interfaces"][2]["sandbox"], s.pod_path().as_str());
    // The earlier addresses keep their interface, ours point at ours.
    let ips = result["ips"].as_array().unwrap();
    assert_eq!(ips.len(), 3, "{result}");
    assert_eq!(ips[0], prev["ips"][0], "{result}");
    assert_eq!(ips[1]["address"], "10.55.0.200/24", "{result}");
    assert_eq!(ips[1]["interface"], 2, "{result}");
    assert_eq!(ips[1]["version"], "4", "{result}");
    assert_eq!(ips[2]["interface"], 2, "{result}");
    let routes: Vec<_> = result["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["dst"].as_str().unwrap())
        .collect();
    assert_eq!(
        routes,
        ["10.2.0.0/16", "0.0.0.0/0", "10.99.0.0/16"],
        "{result}"
    );
    assert_eq!(result["dns"], prev["dns"], "{result}");
    // Our own dns, when configured, is the result's. (DEL without
    // prevResult: which of its interfaces is ours is another test's.)
    s.invoke("DEL", &s.conf("0.4.0")).ok();
    let mut with_dns = conf.clone();
    with_dns["dns"] = json!({ "nameservers": ["10.55.0.53"] });
    let result = s.invoke("ADD", &with_dns).ok().json();
    assert_eq!(
        result["dns"]["nameservers"],
        json!(["10.55.0.53"]),
        "{result}"
    );
    assert_eq!(
        result["interfaces"].as_array().unwrap().len(),
        3,
        "{result}"
    );
    s.invoke("DEL", &s.conf("0.4.0")).ok();
    assert!(s.reserved().is_empty(), "{:?}", s.reserved());

    // A prevResult that is not a result is refused before anything is done.
    let bad = with_prev(&s.conf("0.4.0"), &json!({ "ips": [{ "address": "nope" }] }));
    let e = s.invoke("ADD", &bad).error(6);
    assert_eq!(e["msg"], "cannot decode prevResult", "{e}");
    assert!(
        e["details"].as_str().unwrap().contains("ips[0].address"),
        "{e}"
    );
    assert!(s.host_links().contains(" xa"), "{}", s.host_links());
    assert!(s.reserved().is_empty(), "{:?}", s.reserved());
}

#[test]
fn del_and_check_in_a_chain_act_on_our_interface_not_the_first_in_the_sandbox() {
    if !ready("chain_del_check") {
        return;
    }
    let s = Setup::new();
    // Another plugin's eth0, first in the sandbox (down, so that a CHECK
    // of it would fail).
    s.pod().ip(&[
        "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p",
    ]);
    s.pod()
        .ip(&["link", "set", "eth0", "address", "02:00:00:00:00:e0"]);
    let prev = json!({
        "cniVersion": "1.0.0",
        "interfaces": [{ "name": "eth0", "mac": "02:00:00:00:00:e0", "sandbox": s.pod_path() }]
    });
    let conf = with_prev(&s.conf("1.0.0"), &prev);
    let result = s.invoke("ADD", &conf).ok().json();
    let after_add = with_prev(&s.conf("1.0.0"), &result);
    // CHECK looks at ours, xa, up with its addresses.
    s.invoke("CHECK", &after_add).ok();

    // Without the record of the ADD (an ADD by an older version of the
    // plugin), a prevResult whose xa has another MAC: not ours, left where
    // it is. (With the record, its index in the pod is ours, whatever
    // MAC: another test's.)
    std::fs::remove_file(s.network.dir().join("c1").join("eth0")).unwrap();
    let mut wrong = result.clone();
    wrong["interfaces"][1]["mac"] = json!("02:00:00:00:00:99");
    s.invoke("DEL", &with_prev(&s.conf("1.0.0"), &wrong)).ok();
    let links = s.pod().ip(&["-o", "link", "show"]);
    assert!(links.contains(" xa@"), "{links}");

    // DEL moves ours back, and leaves the other plugin's eth0 alone.
    s.invoke("DEL", &after_add).ok();
    let links = s.pod().ip(&["-o", "link", "show"]);
    assert!(links.contains(" eth0@"), "{links}");
    assert!(!links.contains(" xa@"), "{links}");
    let host = s.host.ip(&["-o", "link", "show", "xa"]);
    assert!(host.contains("02:00:00:00:00:0a"), "{host}");
    assert!(host.contains(",UP"), "{host}");
    assert!(
        !s.host_links().contains("02:00:00:00:00:e0"),
        "{}",
        s.host_links()
    );
    let log = std::fs::read_to_string(s.log.path()).unwrap();
    assert!(log.contains("not ours"), "{log}");

    // The same with renameDevice: ours is CNI_IFNAME's.
    let mut conf = with_prev(&s.conf("1.0.0"), &prev);
    conf["renameDevice"] = json!(true);
    let netns = s.pod_path();
    let out = s.invoke_with("ADD", conf.to_string().as_bytes(), &netns, "net1");
    let result = out.ok().json();
    let mut after_add = with_prev(&s.conf("1.0.0"), &result);
    after_add["renameDevice"] = json!(true);
    let stdin = after_add.to_string();
    s.invoke_with("CHECK", stdin.as_bytes(), &netns, "net1")
        .ok();
    s.invoke_with("DEL", stdin.as_bytes(), &netns, "net1").ok();
    let links = s.pod().ip(&["-o", "link", "show"]);
    assert!(
        links.contains(" eth0@") && !links.contains(" net1@"),
        "{links}"
    );
    let host = s.host.ip(&["-o", "link", "show", "xa"]);
    assert!(host.contains("02:00:00:00:00:0a"), "{host}");
}

#[test]
fn the_dpdk_guide_configuration_at_0_3_0_gets_a_0_3_0_result() {
    if !ready("dpdk_guide_0_3_0") {
        return;
    }
    let s = Setup::new();
    let conf = s.conf("0.3.0");
    let result = s.invoke("ADD", &conf).ok().json();
    assert_eq!(result["cniVersion"], "0.3.0");
    assert_eq!(result["ips"][0]["version"], "4", "{result}");
    assert_eq!(result["ips"][0]["interface"], 0, "{result}");
    // 0.3.x has no CHECK.
    let e = s.invoke("CHECK", &with_prev(&conf, &result)).error(1);
    assert_eq!(e["msg"], "config version does not allow CHECK");
    s.invoke("DEL", &with_prev(&conf, &result)).ok();
    assert!(s.host_links().contains(" xa"));
}

#[test]
fn del_twice_and_del_without_add_succeed() {
    if !ready("del_twice") {
        return;
    }
    let s = Setup::new();
    let conf = s.conf("1.0.0");
    // DEL before any ADD (a runtime cleaning up after a failed ADD).
    s.invoke("DEL", &conf).ok();
    let result = s.invoke("ADD", &conf).ok().json();
    let conf = with_prev(&conf, &result);
    s.invoke("DEL", &conf).ok();
    // The device is already back: still success, nothing changes.
    s.invoke("DEL", &conf).ok();
    assert!(s.host_links().contains(" xa"));
    assert!(s.reserved().is_empty());
    // Without CNI_NETNS at all (allowed for DEL).
    s.invoke_with("DEL", conf.to_string().as_bytes(), "", "eth0")
        .ok();
}

#[test]
fn del_after_the_container_namespace_is_gone_succeeds_and_releases_ipam() {
    if !ready("del_after_reboot") {
        return;
    }
    let mut s = Setup::new();
    let conf = s.conf("1.0.0");
    let result = s.invoke("ADD", &conf).ok().json();
    assert_eq!(s.reserved().len(), 2);
    let path = s.pod_path();
    // What a node reboot leaves: the namespace (and a veth in it) gone,
    // the runtime calling DEL for the old sandbox.
    drop(s.pod.take());
    assert!(!Path::new(&path).exists());
    let out = s.invoke_with(
        "DEL",
        with_prev(&conf, &result).to_string().as_bytes(),
        &path,
        "eth0",
    );
    let out = out.ok();
    assert_eq!(out.stdout, "");
    assert!(s.reserved().is_empty(), "{:?}", s.reserved());
    // A file where the namespace was (a bind mount gone): the same.
    let stale = unique_path("cni-stale-netns");
    std::fs::write(&stale, b"").unwrap();
    let out = s.invoke_with(
        "DEL",
        conf.to_string().as_bytes(),
        stale.to_str().unwrap(),
        "eth0",
    );
    let _ = std::fs::remove_file(&stale);
    out.ok();
}

#[test]
fn del_after_the_namespace_is_gone_renames_the_returned_device_back_and_sets_it_up() {
    if !ready("del_returned_device") || !have("del_returned_device", "ethtool", ethtool_installed())
    {
        return;
    }
    let s = Setup::new();
    // What the kernel does with a physical device when the pod's namespace
    // goes (a veth is destroyed instead, so this is emulated): back in the
    // initial namespace, down, under its in-pod name.
    s.host.ip(&["link", "set", "xa", "down", "name", "net1"]);
    let gone = unique_path("cni-gone-netns");
    let gone = gone.to_str().unwrap();
    let mut conf = s.conf("1.0.0");
    conf["renameDevice"] = json!(true);
    conf["ethtoolCmds"] = json!(["-K -device- ntuple on"]);
    let prev = json!({
        "cniVersion": "1.0.0",
        "interfaces": [
            { "name": "eth0", "mac": "02:00:00:00:00:e0", "sandbox": gone },
            { "name": "net1", "mac": "02:00:00:00:00:0a", "sandbox": gone }
        ]
    });
    let stdin = with_prev(&conf, &prev).to_string();
    s.invoke_with("DEL", stdin.as_bytes(), gone, "net1").ok();
    s.assert_home("xa", "02:00:00:00:00:0a");
    assert!(!s.host_links().contains(" net1@"), "{}", s.host_links());
    // The same ethtool reset as a normal DEL, on the device under its name
    // (a veth has no RSS table: the failure is logged).
    let log = std::fs::read_to_string(s.log.path()).unwrap();
    assert!(log.contains("gave net1 its name xa back"), "{log}");
    assert!(log.contains("ethtool -X xa default: failed"), "{log}");
    assert!(!log.contains("No such device"), "{log}");

    // When the in-pod name was taken on the host, the kernel names it
    // dev<ifindex>: found by its MAC, the other net1 left alone.
    let ifindex = s.host.ip(&["-o", "link", "show", "xa"]);
    let ifindex = ifindex.split(':').next().unwrap().trim();
    let returned = format!("dev{ifindex}");
    s.host.ip(&["link", "set", "xa", "down", "name", &returned]);
    s.host.ip(&[
        "link", "add", "net1", "type", "veth", "peer", "name", "net1p",
    ]);
    s.host
        .ip(&["link", "set", "net1", "address", "02:00:00:00:00:99"]);
    s.invoke_with("DEL", stdin.as_bytes(), gone, "net1").ok();
    s.assert_home("xa", "02:00:00:00:00:0a");
    let other = s.host.ip(&["-o", "link", "show", "net1"]);
    assert!(
        other.contains("02:00:00:00:00:99") && !other.contains(",UP"),
        "{other}"
    );
    assert!(
        !s.host_links().contains(&format!(" {returned}@")),
        "{}",
        s.host_links()
    );

    // Without prevResult's MAC (and no record: there was no ADD), nothing
    // in the host is taken for ours by its name: neither the dev<N> nor a
    // net1, even down (CNI_IFNAME is net1 in every pod).
    s.host.ip(&["link", "set", "xa", "down", "name", &returned]);
    s.invoke_with("DEL", conf.to_string().as_bytes(), gone, "net1")
        .ok();
    assert!(
        s.host_links().contains(&format!(" {returned}@")),
        "{}",
        s.host_links()
    );
    let other = s.host.ip(&["-o", "link", "show", "net1"]);
    assert!(other.contains("02:00:00:00:00:99"), "{other}");
    let log = std::fs::read_to_string(s.log.path()).unwrap();
    assert!(log.contains("no record of the ADD"), "{log}");
    // A file where the namespace was (a bind mount left behind): the same.
    let stale = unique_path("cni-stale-netns");
    std::fs::write(&stale, b"").unwrap();
    let mut prev = prev.clone();
    prev["interfaces"][1]["sandbox"] = json!(stale);
    let stdin = with_prev(&conf, &prev).to_string();
    let out = s.invoke_with("DEL", stdin.as_bytes(), stale.to_str().unwrap(), "net1");
    let _ = std::fs::remove_file(&stale);
    out.ok();
    s.assert_home("xa", "02:00:00:00:00:0a");
}

/// The index of link `name` in `ns`.
fn ifindex(ns: &NetNs, name: &str) -> String {
    let line = ns.ip(&["-o", "link", "show", name]);
    line.split(':').next().unwrap().trim().to_string()
}

#[test]
fn devices_returned_as_net1_and_dev_n_each_get_their_own_name_back_without_prev_result() {
    if !ready("del_two_returned") {
        return;
    }
    let s = Setup::new();
    // DPDK's guide's cniVersion: DEL gets no prevResult. Both pods call
    // their device net1.
    let TwoPods {
        pod2,
        path1,
        path2,
        conf1,
        conf2,
    } = s.two_pods("0.3.0");
    assert_eq!(s.network.records(), ["c1/net1", "c2/net1"]);
    // What the kernel does with physical devices when both namespaces go
    // (a veth is destroyed instead, so this is emulated): back in the
    // host, down; the first as net1, the second, net1 being taken, as
    // dev<its index>.
    let host = s.host.name();
    s.pod().ip(&["link", "set", "net1", "netns", host]);
    let dev_n = format!("dev{}", ifindex(&pod2, "net1"));
    pod2.ip(&["link", "set", "net1", "netns", host, "name", &dev_n]);
    drop(pod2);
    let mut s = s;
    drop(s.pod.take());
    // The second pod's DEL first: its device is the dev<N>, not the net1.
    s.invoke_as("c2", "DEL", conf2.as_bytes(), &path2, "net1")
        .ok();
    s.invoke_as("c1", "DEL", conf1.as_bytes(), &path1, "net1")
        .ok();
    s.assert_home("xa", "02:00:00:00:00:0a");
    s.assert_home("ya", "02:00:00:00:00:1a");
    let links = s.host_links();
    assert!(
        !links.contains(" net1@") && !links.contains(&format!(" {dev_n}@")),
        "{links}"
    );
    assert!(s.network.records().is_empty(), "{:?}", s.network.records());
    assert!(s.reserved().is_empty(), "{:?}", s.reserved());
}

#[test]
fn a_returned_device_is_found_under_any_name_and_one_whose_name_is_taken_is_an_error() {
    if !ready("del_returned_renamed") {
        return;
    }
    let s = Setup::new();
    let TwoPods {
        pod2,
        path1,
        path2,
        conf1,
        conf2,
    } = s.two_pods("1.0.0");
    // The first pod (NET_ADMIN) renames its device ya: free in the host,
    // the second pod having it. Both namespaces go; the kernel returns
    // each device (emulated) under its name in the pod if free: the
    // first's as ya, the second's as net1.
    s.pod().ip(&["link", "set", "net1", "down", "name", "ya"]);
    let host = s.host.name();
    s.pod().ip(&["link", "set", "ya", "netns", host]);
    pod2.ip(&["link", "set", "net1", "netns", host]);
    drop(pod2);
    let mut s = s;
    drop(s.pod.take());
    // The second pod's DEL finds its device, net1, but its name is the
    // other device's: an error naming both, nothing renamed, the records
    // kept for a retry.
    let out = s.invoke_as("c2", "DEL", conf2.as_bytes(), &path2, "net1");
    let e = out.error(101);
    assert_eq!(e["msg"], "cannot give ya its name back in the host", "{e}");
    let details = e["details"].as_str().unwrap();
    assert!(
        details.contains("net1: ya is another link's in the host")
            && details.contains("MAC 02:00:00:00:00:0a"),
        "{details}"
    );
    assert_eq!(s.network.records(), ["c1/net1", "c2/net1"]);
    // The first pod's DEL finds its device under the name the pod gave it;
    // then the second's, retried, succeeds.
    s.invoke_as("c1", "DEL", conf1.as_bytes(), &path1, "net1")
        .ok();
    s.invoke_as("c2", "DEL", conf2.as_bytes(), &path2, "net1")
        .ok();
    s.assert_home("xa", "02:00:00:00:00:0a");
    s.assert_home("ya", "02:00:00:00:00:1a");
    assert!(!s.host_links().contains(" net1@"), "{}", s.host_links());
    let log = std::fs::read_to_string(s.log.path()).unwrap();
    assert!(log.contains("gave ya its name xa back"), "{log}");
    assert!(s.network.records().is_empty(), "{:?}", s.network.records());
}

#[test]
fn a_device_the_pod_renamed_is_moved_back_one_whose_mac_it_changed_is_not_ours() {
    if !ready("del_changed_mac") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let s = Setup::new();
    let conf = s.conf("1.0.0");
    let result = s.invoke("ADD", &conf).ok().json();
    // What ADD recorded: the device, its index in the pod, its MAC (a veth
    // has no permanent address), its kind, its name there; a 0600 file in
    // 0700 directories.
    let dir = s.network.dir().join("c1");
    let text = std::fs::read_to_string(dir.join("eth0")).unwrap();
    let record: Value = serde_json::from_str(&text).unwrap();
    let index: u64 = ifindex(s.pod(), "xa").parse().unwrap();
    assert_eq!(
        record,
        json!({ "device": "xa", "ifindex": index, "hwaddr": "02:00:00:00:00:0a",
                "permanent": false, "kind": "veth", "inPod": "xa" })
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        (mode(&s.network.dir()), mode(&dir), mode(&dir.join("eth0"))),
        (0o700, 0o700, 0o600)
    );
    // A pod with NET_ADMIN sets another MAC: without a permanent address,
    // the MAC is all that tells the device from a link the pod made (of
    // the same kind), so it is not ours any more: left in the pod, said in
    // the log. (A NIC with a permanent address is moved back whatever its
    // MAC.)
    s.pod()
        .ip(&["link", "set", "xa", "address", "02:00:00:00:00:77"]);
    s.invoke("DEL", &with_prev(&conf, &result)).ok();
    assert!(s.pod().ip(&["-o", "link", "show"]).contains(" xa@"));
    let log = std::fs::read_to_string(s.log.path()).unwrap();
    assert!(
        log.contains("is a veth with MAC 02:00:00:00:00:77, not xa: not ours"),
        "{log}"
    );
    s.pod()
        .ip(&["link", "set", "xa", "address", "02:00:00:00:00:0a"]);
    s.invoke("DEL", &with_prev(&conf, &result)).ok();
    assert!(s.host_links().contains(" xa@"), "{}", s.host_links());

    // Renamed, with renameDevice: still found by its index there.
    let mut conf = s.conf("1.0.0");
    conf["renameDevice"] = json!(true);
    let netns = s.pod_path();
    let out = s.invoke_with("ADD", conf.to_string().as_bytes(), &netns, "net1");
    let result = out.ok().json();
    s.pod().ip(&["link", "set", "net1", "down"]);
    s.pod().ip(&["link", "set", "net1", "name", "foo", "up"]);
    let stdin = with_prev(&conf, &result).to_string();
    s.invoke_with("DEL", stdin.as_bytes(), &netns, "net1").ok();
    s.assert_home("xa", "02:00:00:00:00:0a");
    assert!(!s.pod().ip(&["-o", "link", "show"]).contains(" foo@"));
    let log = std::fs::read_to_string(s.log.path()).unwrap();
    assert!(log.contains("moved foo back to the host as xa"), "{log}");
    assert!(s.network.records().is_empty(), "{:?}", s.network.records());
}

/// A DEL retried after one that succeeded (multus retries every delegate's
/// DEL when another fails) has no record, and at cniVersion 0.3.0 no
/// prevResult: the device is home already, so a link the pod made since
/// under the device's name in the pod is not moved to the host. It was: a
/// veth of the pod's, moved under its name (the rename to the device's
/// failing after the move), put the pod's peer one hop from the host.
#[test]
fn a_retried_del_moves_nothing_the_pod_made_once_the_device_is_home() {
    if !ready("del_retry_home") {
        return;
    }
    let s = Setup::new();
    let mut conf = s.conf("0.3.0");
    conf["renameDevice"] = json!(true);
    let stdin = conf.to_string();
    s.invoke_with("ADD", stdin.as_bytes(), &s.pod_path(), "net1")
        .ok();
    s.invoke_with("DEL", stdin.as_bytes(), &s.pod_path(), "net1")
        .ok();
    assert!(s.host_links().contains(" xa"), "{}", s.host_links());
    assert!(s.network.records().is_empty(), "{:?}", s.network.records());
    s.pod().ip(&[
        "link", "add", "net1", "type", "veth", "peer", "name", "npeer",
    ]);
    s.invoke_with("DEL", stdin.as_bytes(), &s.pod_path(), "net1")
        .ok();
    let pod = s.pod().ip(&["-o", "link", "show"]);
    assert!(pod.contains(" net1@") && pod.contains(" npeer@"), "{pod}");
    let host = s.host_links();
    assert!(
        !host.contains(" net1") && !host.contains(" npeer"),
        "{host}"
    );
    let log = std::fs::read_to_string(s.log.path()).unwrap();
    assert!(log.contains("xa is in the host already"), "{log}");
}

#[test]
fn a_link_the_pod_made_at_the_recorded_index_is_not_taken_for_the_device() {
    if !ready("del_pod_made_link") {
        return;
    }
    let s = Setup::new();
    let conf = s.conf("1.0.0");
    s.invoke("ADD", &conf).ok();
    let record = s.network.dir().join("c1").join("eth0");
    let text = std::fs::read_to_string(&record).unwrap();
    let index = ifindex(s.pod(), "xa");
    s.invoke("DEL", &conf).ok();
    // A DEL retried (the first failed after moving the device back: its
    // record kept), and meanwhile the pod made a link of another kind at
    // the device's index there, with its name and MAC: not the device.
    std::fs::create_dir_all(record.parent().unwrap()).unwrap();
    std::fs::write(&record, text).unwrap();
    s.pod().ip(&[
        "link",
        "add",
        "xa",
        "index",
        &index,
        "address",
        "02:00:00:00:00:0a",
        "type",
        "bridge",
    ]);
    s.invoke("DEL", &conf).ok();
    let made = s.pod().ip(&["-d", "-o", "link", "show", "xa"]);
    assert!(made.contains("bridge"), "{made}");
    let host = s.host.ip(&["-o", "link", "show", "xa"]);
    assert!(host.contains("xa@"), "{host}");
    let log = std::fs::read_to_string(s.log.path()).unwrap();
    assert!(
        log.contains("is a bridge with MAC 02:00:00:00:00:0a"),
        "{log}"
    );
    assert!(s.network.records().is_empty(), "{:?}", s.network.records());
}

#[test]
fn a_pod_that_set_its_mac_to_another_pods_makes_del_refuse_to_guess() {
    if !ready("del_ambiguous") {
        return;
    }
    let s = Setup::new();
    let TwoPods {
        pod2,
        path1,
        path2,
        conf1,
        conf2,
    } = s.two_pods("0.3.0");
    // The first pod sets its device's MAC to the second's; both
    // namespaces go, and the kernel returns both devices (emulated: a veth
    // is destroyed instead), as net1 and dev<N>, with one MAC.
    s.pod()
        .ip(&["link", "set", "net1", "address", "02:00:00:00:00:1a"]);
    let host = s.host.name();
    s.pod().ip(&["link", "set", "net1", "netns", host]);
    let dev_n = format!("dev{}", ifindex(&pod2, "net1"));
    pod2.ip(&["link", "set", "net1", "netns", host, "name", &dev_n]);
    // And a link of another kind with that MAC, under a name like the
    // kernel's: not a candidate.
    s.host.ip(&[
        "link",
        "add",
        "dev4000",
        "address",
        "02:00:00:00:00:1a",
        "type",
        "bridge",
    ]);
    drop(pod2);
    let mut s = s;
    drop(s.pod.take());
    // Two devices are the second pod's by kind and MAC: an error naming
    // both, nothing renamed.
    let out = s.invoke_as("c2", "DEL", conf2.as_bytes(), &path2, "net1");
    let e = out.error(101);
    assert_eq!(e["msg"], "cannot give ya its name back in the host", "{e}");
    let details = e["details"].as_str().unwrap();
    assert!(
        details.contains("net1") && details.contains(&dev_n),
        "{details}"
    );
    assert!(!details.contains("dev4000"), "{details}");
    let links = s.host_links();
    assert!(
        links.contains(" net1@") && links.contains(&format!(" {dev_n}@")),
        "{links}"
    );
    assert_eq!(s.network.records(), ["c1/net1", "c2/net1"]);
    // ya given its name back by hand: its DEL finds it home and succeeds,
    // the other link with its MAC left alone.
    s.host.ip(&["link", "set", &dev_n, "name", "ya"]);
    s.invoke_as("c2", "DEL", conf2.as_bytes(), &path2, "net1")
        .ok();
    assert!(s.host_links().contains(" net1@"), "{}", s.host_links());
    assert_eq!(s.network.records(), ["c1/net1"]);
    // The MAC set back (by hand): the other DEL gives its device its name.
    s.host
        .ip(&["link", "set", "net1", "address", "02:00:00:00:00:0a"]);
    s.invoke_as("c1", "DEL", conf1.as_bytes(), &path1, "net1")
        .ok();
    s.assert_home("ya", "02:00:00:00:00:1a");
    s.assert_home("xa", "02:00:00:00:00:0a");
    assert!(s.host_links().contains(" dev4000:"), "{}", s.host_links());
    assert!(s.network.records().is_empty(), "{:?}", s.network.records());
}

#[test]
fn del_without_cni_netns_gives_the_returned_device_its_name_back_by_the_record() {
    if !ready("del_no_netns_returned") {
        return;
    }
    let mut s = Setup::new();
    let mut conf = s.conf("1.0.0");
    conf["renameDevice"] = json!(true);
    let conf = conf.to_string();
    s.invoke_with("ADD", conf.as_bytes(), &s.pod_path(), "net1")
        .ok();
    // The sandbox goes; the kernel returns the device (emulated) as net1;
    // the runtime's DEL has no CNI_NETNS, as the spec allows then.
    s.pod().ip(&["link", "set", "net1", "netns", s.host.name()]);
    drop(s.pod.take());
    s.invoke_with("DEL", conf.as_bytes(), "", "net1").ok();
    let host = s.host.ip(&["-o", "link", "show"]);
    assert!(!host.contains(" net1@"), "{host}");
    s.assert_home("xa", "02:00:00:00:00:0a");
    let log = std::fs::read_to_string(s.log.path()).unwrap();
    assert!(log.contains("gave net1 its name xa back"), "{log}");
    assert!(s.network.records().is_empty(), "{:?}", s.network.records());
    assert!(s.reserved().is_empty(), "{:?}", s.reserved());
}

#[test]
fn del_waits_a_bounded_time_for_the_kernel_to_return_the_device() {
    if !ready("del_waits_for_return") {
        return;
    }
    let mut s = Setup::new();
    let mut conf = s.conf("1.0.0");
    conf["renameDevice"] = json!(true);
    let conf = conf.to_string();
    let path = s.pod_path();
    s.invoke_with("ADD", conf.as_bytes(), &path, "net1").ok();
    // The kernel returns a physical device from a namespace that went when
    // it cleans the namespace up, asynchronously: DEL can come first.
    // Emulated: the device waits in another namespace while the pod's
    // goes, and comes back to the host, down, as net1, 300 ms into DEL.
    let limbo = NetNs::new("cni-limbo");
    s.pod().ip(&["link", "set", "net1", "netns", limbo.name()]);
    drop(s.pod.take());
    let s = s;
    let out = std::thread::scope(|t| {
        let del = t.spawn(|| s.invoke_with("DEL", conf.as_bytes(), &path, "net1"));
        std::thread::sleep(std::time::Duration::from_millis(300));
        limbo.ip(&["link", "set", "net1", "netns", s.host.name()]);
        del.join().unwrap()
    });
    out.ok();
    s.assert_home("xa", "02:00:00:00:00:0a");
    assert!(!s.host_links().contains(" net1@"), "{}", s.host_links());
    let log = std::fs::read_to_string(s.log.path()).unwrap();
    assert!(log.contains("gave net1 its name xa back"), "{log}");

    // Bounded: a device that never comes back (a veth is destroyed with
    // its namespace) is given up on after about 2 s, and DEL succeeds.
    let pod = NetNs::new("cni-pod");
    let path = format!("/run/netns/{}", pod.name());
    s.invoke_as("c3", "ADD", conf.as_bytes(), &path, "net1")
        .ok();
    drop(pod);
    let started = std::time::Instant::now();
    s.invoke_as("c3", "DEL", conf.as_bytes(), &path, "net1")
        .ok();
    let took = started.elapsed();
    assert!(took.as_millis() >= 1900 && took.as_secs() < 10, "{took:?}");
    assert!(s.network.records().is_empty(), "{:?}", s.network.records());
    assert!(s.reserved().is_empty(), "{:?}", s.reserved());
}

#[test]
fn a_nic_not_back_yet_makes_del_try_again_later_until_it_gives_up() {
    if !ready("del_nic_not_back") {
        return;
    }
    let mut s = Setup::new();
    let conf = s.conf("1.0.0").to_string();
    let path = s.pod_path();
    s.invoke_with("ADD", conf.as_bytes(), &path, "net1").ok();
    // A NIC or VF (no link kind) comes back to the host when the kernel
    // cleans the pod's namespace up; emulated: the record says the veth is
    // one, and the veth goes with the namespace, so it never comes back.
    let record_path = s.network.dir().join("c1/net1");
    let record = std::fs::read_to_string(&record_path).unwrap();
    assert!(record.contains(r#""kind": "veth""#), "{record}");
    std::fs::write(
        &record_path,
        record.replace(r#""kind": "veth""#, r#""kind": "physical""#),
    )
    .unwrap();
    drop(s.pod.take());

    // Not back within the wait: try again later (11), the record kept with
    // when it went missing; the addresses are released all the same.
    let e = s
        .invoke_with("DEL", conf.as_bytes(), &path, "net1")
        .error(11);
    assert!(
        e["msg"]
            .as_str()
            .unwrap()
            .contains("xa has not returned to the host yet"),
        "{e}"
    );
    assert_eq!(s.network.records(), ["c1/net1"]);
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(&record_path).unwrap()).unwrap();
    let since = record["missingSince"].as_u64().expect("missingSince");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(since <= now && now - since < 30, "{since} vs {now}");
    assert!(s.reserved().is_empty(), "{:?}", s.reserved());
    // A retry keeps the first miss's time.
    s.invoke_with("DEL", conf.as_bytes(), &path, "net1")
        .error(11);
    let again: Value =
        serde_json::from_str(&std::fs::read_to_string(&record_path).unwrap()).unwrap();
    assert_eq!(again["missingSince"], since);

    // 60 s after the first miss, DEL gives up and succeeds: the pod goes.
    let text = std::fs::read_to_string(&record_path).unwrap();
    std::fs::write(
        &record_path,
        text.replace(&since.to_string(), &(since - 61).to_string()),
    )
    .unwrap();
    s.invoke_with("DEL", conf.as_bytes(), &path, "net1").ok();
    assert!(s.network.records().is_empty(), "{:?}", s.network.records());
    let log = std::fs::read_to_string(s.log.path()).unwrap();
    assert!(log.contains("given up"), "{log}");
}

#[test]
fn rename_device_names_it_cni_ifname_in_the_pod_and_back_on_del() {
    if !ready("rename_device") {
        return;
    }
    let s = Setup::new();
    let mut conf = s.conf("1.0.0");
    conf["renameDevice"] = json!(true);
    let out = s.invoke_with("ADD", conf.to_string().as_bytes(), &s.pod_path(), "net1");
    let result = out.ok().json();
    assert_eq!(result["interfaces"][0]["name"], "net1");
    let links = s.pod().ip(&["-o", "link", "show"]);
    assert!(links.contains(" net1@"), "{links}");
    let conf = with_prev(&conf, &result);
    s.invoke_with("CHECK", conf.to_string().as_bytes(), &s.pod_path(), "net1")
        .ok();
    s.invoke_with("DEL", conf.to_string().as_bytes(), &s.pod_path(), "net1")
        .ok();
    assert!(s.host_links().contains(" xa"), "{}", s.host_links());
}

#[test]
fn a_missing_device_is_a_cni_error_that_names_it() {
    if !ready("missing_device") {
        return;
    }
    let s = Setup::new();
    let mut conf = s.conf("1.0.0");
    conf["deviceID"] = json!("nosuchdev0");
    let e = s.invoke("ADD", &conf).error(100);
    assert_eq!(e["msg"], "device not found: nosuchdev0", "{e}");
    assert_eq!(e["cniVersion"], "1.0.0");
    // Nothing was allocated.
    assert!(s.reserved().is_empty());
    // ADD twice: the second time the device is in the pod already, and
    // the error says so.
    let conf = s.conf("1.0.0");
    s.invoke("ADD", &conf).ok();
    let e = s.invoke("ADD", &conf).error(100);
    assert!(
        e["details"]
            .as_str()
            .unwrap()
            .contains("in the container's already"),
        "{e}"
    );
}

#[test]
fn a_failing_ethtool_command_is_reported_and_nothing_is_left_behind() {
    if !ready("ethtool_failure") || !have("ethtool_failure", "ethtool", ethtool_installed()) {
        return;
    }
    let s = Setup::new();
    let mut conf = s.conf("1.0.0");
    // A veth has no n-tuple filters: the second command fails, after the
    // first ran with -device- substituted.
    conf["ethtoolCmds"] = json!([
        "-K -device- tx off",
        "-N -device- flow-type udp4 dst-ip -ip- action 1"
    ]);
    let e = s.invoke("ADD", &conf).error(102);
    assert_eq!(
        e["msg"], "ethtool -N xa flow-type udp4 dst-ip 10.55.0.200 action 1: failed",
        "{e}"
    );
    let details = e["details"].as_str().unwrap();
    assert!(details.contains("exit status"), "{e}");
    assert!(details.contains("Operation not supported"), "{e}");
    // The device stayed on the host, the address was given back.
    assert!(s.host_links().contains(" xa"));
    assert!(s.reserved().is_empty(), "{:?}", s.reserved());
    let features = s.host.exec(&["ethtool", "-k", "xa"]);
    assert!(features.contains("tx-checksumming: off"), "{features}");
    // With only the command that works, ADD succeeds.
    conf["ethtoolCmds"] = json!(["-K -device- tx off"]);
    s.invoke("ADD", &conf).ok();
}

#[test]
fn ethtool_commands_must_be_an_allowed_option_on_the_device() {
    if !ready("ethtool_allowed") || !have("ethtool_allowed", "ethtool", ethtool_installed()) {
        return;
    }
    let s = Setup::new();
    let before = s.host.exec(&["ethtool", "-k", "xb"]);
    assert!(before.contains("tx-checksumming: on"), "{before}");
    // Another NIC (no -device-), the device not where ethtool takes it, an
    // option that is not for flow steering or queues (link speed, EEPROM
    // write, firmware flash), none at all: each refused, naming the
    // command, before anything runs.
    for bad in [
        "-K xb tx off",
        "-K tx off -device-",
        "-s -device- speed 10",
        "-E -device- magic 0 offset 0 value 0",
        "-f -device- firmware.bin",
        "--debug 255 -K -device- tx off",
        "-device-",
    ] {
        let mut conf = s.conf("1.0.0");
        conf["ethtoolCmds"] = json!(["-K -device- rx off", bad]);
        let e = s.invoke("ADD", &conf).error(7);
        assert_eq!(e["msg"], "invalid ethtoolCmds", "{bad}: {e}");
        assert!(
            e["details"].as_str().unwrap().contains(&format!("{bad:?}")),
            "{bad}: {e}"
        );
    }
    let after = s.host.exec(&["ethtool", "-k", "xb"]);
    assert!(after.contains("tx-checksumming: on"), "{after}");
    let dev = s.host.exec(&["ethtool", "-k", "xa"]);
    assert!(dev.contains("rx-checksumming: on"), "{dev}");
    assert!(s.host_links().contains(" xa"));
    assert!(s.reserved().is_empty(), "{:?}", s.reserved());
    // What DPDK's guide and the reference plugins use passes validation
    // (the veth has no n-tuple filters, so -N itself fails in ethtool).
    let mut conf = s.conf("1.0.0");
    conf["ethtoolCmds"] = json!([
        "--features -device- tx off",
        "-N -device- flow-type udp4 dst-port 2152 action 22"
    ]);
    let e = s.invoke("ADD", &conf).error(102);
    assert_eq!(
        e["msg"], "ethtool -N xa flow-type udp4 dst-port 2152 action 22: failed",
        "{e}"
    );
    // Not the ring sizes nor interrupt coalescing: DEL does not restore
    // them, so they would carry over to the device's next pod.
    for cmd in [
        "-G -device- rx 4096 tx 4096",
        "--set-ring -device- rx 2048",
        "-C -device- rx-usecs 0",
        "--coalesce -device- rx-frames 1",
    ] {
        let mut conf = s.conf("1.0.0");
        conf["ethtoolCmds"] = json!([cmd]);
        let e = s.invoke("ADD", &conf).error(7);
        assert_eq!(e["msg"], "invalid ethtoolCmds", "{cmd}: {e}");
    }
    assert!(s.host_links().contains(" xa"));
    assert!(s.reserved().is_empty(), "{:?}", s.reserved());
}

#[test]
fn a_failure_after_the_move_moves_the_device_back_and_releases_ipam() {
    if !ready("add_rollback") {
        return;
    }
    let s = Setup::new();
    let mut conf = s.conf("1.0.0");
    // A gateway that is not on the link: the route fails after the device
    // moved and got its addresses.
    conf["ipam"]["routes"] = json!([{ "dst": "10.99.0.0/16", "gw": "192.0.2.1" }]);
    let e = s.invoke("ADD", &conf).error(101);
    assert_eq!(e["msg"], "cannot configure xa in the container", "{e}");
    let details = e["details"].as_str().unwrap();
    assert!(
        details.contains("add route: 10.99.0.0/16 via 192.0.2.1 dev xa"),
        "{e}"
    );
    assert!(details.contains("ENETUNREACH"), "{e}");
    // Undone: the device is back on the host, up as it was (a down device
    // is one the device plugin reports unhealthy for good), the addresses
    // released.
    let host = s.host.ip(&["-o", "link", "show", "xa"]);
    assert!(host.contains(",UP"), "{host}");
    assert!(!s.pod().ip(&["-o", "link", "show"]).contains(" xa"));
    assert!(s.reserved().is_empty(), "{:?}", s.reserved());
    assert!(s.network.records().is_empty(), "{:?}", s.network.records());

    // DEL finds nothing in the pod; a device left down in the host (by an
    // older plugin's undo, say) is set up all the same.
    s.host.ip(&["link", "set", "xa", "down"]);
    s.invoke("DEL", &conf).ok();
    let host = s.host.ip(&["-o", "link", "show", "xa"]);
    assert!(host.contains(",UP"), "{host}");
    // Also without CNI_NETNS.
    s.host.ip(&["link", "set", "xa", "down"]);
    s.invoke_with("DEL", conf.to_string().as_bytes(), "", "eth0")
        .ok();
    let host = s.host.ip(&["-o", "link", "show", "xa"]);
    assert!(host.contains(",UP"), "{host}");
}

#[test]
fn a_failed_add_keeps_the_record_unless_the_device_is_back_in_the_host() {
    if !ready("add_rollback_record") {
        return;
    }
    let s = Setup::new();
    let mut conf = s.conf("1.0.0");
    conf["renameDevice"] = json!(true);
    let conf = conf.to_string();
    let netns = s.pod_path();
    // The pod has a net1 already: the kernel moves the device, then fails
    // to rename it (EEXIST), and leaves it in the pod as xa.
    s.pod().ip(&[
        "link", "add", "net1", "index", "90", "type", "veth", "peer", "name", "net1p", "index",
        "91",
    ]);
    let e = s
        .invoke_with("ADD", conf.as_bytes(), &netns, "net1")
        .error(101);
    assert_eq!(
        e["msg"], "cannot move xa into the container's network namespace",
        "{e}"
    );
    assert!(e["details"].as_str().unwrap().contains("EEXIST"), "{e}");
    // Moved back, up, the record gone with the addresses.
    assert!(s.host_links().contains(" xa@"), "{}", s.host_links());
    let host = s.host.ip(&["-o", "link", "show", "xa"]);
    assert!(host.contains(",UP"), "{host}");
    assert!(!s.pod().ip(&["-o", "link", "show"]).contains(" xa@"));
    assert!(s.network.records().is_empty(), "{:?}", s.network.records());
    assert!(s.reserved().is_empty(), "{:?}", s.reserved());

    // The device's index taken in the pod as well: the kernel gives it
    // another there, and the device, left in the pod as xa, is not found
    // to move back. The record stays, for the runtime's DEL.
    let index = ifindex(&s.host, "xa");
    s.pod().ip(&[
        "link", "add", "foo", "index", &index, "type", "veth", "peer", "name", "foop",
    ]);
    s.invoke_with("ADD", conf.as_bytes(), &netns, "net1")
        .error(101);
    assert!(s.pod().ip(&["-o", "link", "show"]).contains(" xa@"));
    assert_eq!(s.network.records(), ["c1/net1"]);
    let log = std::fs::read_to_string(s.log.path()).unwrap();
    assert!(
        log.contains("xa is not back in the host after a failed ADD"),
        "{log}"
    );
    assert!(s.reserved().is_empty(), "{:?}", s.reserved());
    s.pod().ip(&["link", "set", "xa", "netns", s.host.name()]);
    s.invoke_with("DEL", conf.as_bytes(), &netns, "net1").ok();
    assert!(s.network.records().is_empty(), "{:?}", s.network.records());
}

#[test]
fn gc_removes_the_records_of_attachments_not_listed() {
    if !ready("gc_records") {
        return;
    }
    let s = Setup::new();
    let mut conf = s.conf("1.1.0");
    conf.as_object_mut().unwrap().remove("ipam");
    s.invoke("ADD", &conf).ok();
    // Records of attachments the runtime no longer has (their DEL lost, a
    // node rebooted): another container's, another interface of c1's.
    let record = s.network.dir().join("c1").join("eth0");
    let text = std::fs::read_to_string(&record).unwrap();
    std::fs::create_dir(s.network.dir().join("c2")).unwrap();
    std::fs::write(s.network.dir().join("c2").join("net1"), &text).unwrap();
    std::fs::write(s.network.dir().join("c1").join("net9"), &text).unwrap();
    assert_eq!(s.network.records(), ["c1/eth0", "c1/net9", "c2/net1"]);
    let gc = |valid: Option<Value>| {
        let mut c = conf.clone();
        if let Some(v) = valid {
            c["cni.dev/valid-attachments"] = v;
        }
        s.invoke_with("GC", c.to_string().as_bytes(), "", "")
    };
    // Without the list, nothing is removed.
    gc(None).ok();
    assert_eq!(s.network.records(), ["c1/eth0", "c1/net9", "c2/net1"]);
    let valid = json!([
        { "containerID": "c1", "ifname": "eth0" },
        { "containerID": "c3", "ifname": "eth0" }
    ]);
    let out = gc(Some(valid)).ok();
    assert_eq!(out.stdout, "");
    assert_eq!(s.network.records(), ["c1/eth0"]);
    // The listed attachment's DEL still finds its record.
    s.invoke("DEL", &conf).ok();
    assert!(s.network.records().is_empty(), "{:?}", s.network.records());
    assert!(s.host_links().contains(" xa@"), "{}", s.host_links());
    // With nothing left, the network's directory goes too.
    gc(Some(json!([]))).ok();
    assert!(!s.network.dir().exists());
}

#[test]
fn gc_gives_a_stale_attachments_returned_device_its_name_back() {
    if !ready("gc_reclaims") {
        return;
    }
    let mut s = Setup::new();
    let mut conf = s.conf("1.1.0");
    conf.as_object_mut().unwrap().remove("ipam");
    conf["renameDevice"] = json!(true);
    let text = conf.to_string();
    let path = s.pod_path();
    s.invoke_with("ADD", text.as_bytes(), &path, "net1").ok();
    // The pod went without a DEL (lost: a runtime crash); the kernel gave
    // the device back as net1 (emulated).
    s.pod().ip(&["link", "set", "net1", "netns", s.host.name()]);
    drop(s.pod.take());
    assert!(s.host_links().contains(" net1@"), "{}", s.host_links());
    // GC, with the attachment no longer valid: the device gets its name
    // back and is up, as a DEL would have left it; the record goes.
    conf["cni.dev/valid-attachments"] = json!([]);
    s.invoke_with("GC", conf.to_string().as_bytes(), "", "")
        .ok();
    s.assert_home("xa", "02:00:00:00:00:0a");
    assert!(!s.host_links().contains(" net1@"), "{}", s.host_links());
    assert!(s.network.records().is_empty(), "{:?}", s.network.records());
    let log = std::fs::read_to_string(s.log.path()).unwrap();
    assert!(log.contains("GC: xa was back in the host as net1"), "{log}");

    // Back under its own name but down (the kernel brings a device it moves
    // down): GC sets it up, as DEL would, and its record goes.
    s.add_and_lose_the_pod("c2", text.as_bytes());
    s.host.ip(&["link", "set", "net1", "name", "xa"]);
    let link = s.host.ip(&["-o", "link", "show", "xa"]);
    assert!(!link.contains(",UP"), "{link}");
    assert_eq!(s.network.records().len(), 1);
    s.invoke_with("GC", conf.to_string().as_bytes(), "", "")
        .ok();
    s.assert_home("xa", "02:00:00:00:00:0a");
    assert!(s.network.records().is_empty(), "{:?}", s.network.records());

    // Back as net1 while another link has its name: GC fails naming it and
    // keeps the record; once that link is gone, GC gives the name back.
    s.add_and_lose_the_pod("c3", text.as_bytes());
    s.host
        .ip(&["link", "add", "xa", "type", "veth", "peer", "name", "xz"]);
    let e = s
        .invoke_with("GC", conf.to_string().as_bytes(), "", "")
        .error(5);
    let details = e["details"].as_str().unwrap();
    assert!(details.contains("give xa its name back"), "{details}");
    assert_eq!(s.network.records(), ["c3/net1"]);
    s.host.ip(&["link", "del", "xa"]);
    s.invoke_with("GC", conf.to_string().as_bytes(), "", "")
        .ok();
    s.assert_home("xa", "02:00:00:00:00:0a");
    assert!(s.network.records().is_empty(), "{:?}", s.network.records());
}

#[test]
fn log_file_is_a_file_in_the_log_directory_and_no_link_is_followed() {
    if !ready("log_file") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let s = Setup::new();
    // A path out of the log directory, relative or absolute, or a name that
    // is not a .log/.txt file: said on stderr, nothing logged, nothing
    // written there; the invocation goes on (a log that cannot be opened
    // does not fail it).
    let outside = TempDir::new("cni-log-outside");
    let escape = format!("../../..{}/escaped.log", outside.to_str());
    let absolute = format!("{}/absolute.log", outside.to_str());
    let below = format!("{LOG_DIR}/sub/x.log");
    let up = format!("{LOG_DIR}/../{}", s.log.name);
    for bad in [&*escape, &absolute, &below, &up, "afxdp-cni.conf"] {
        let mut conf = s.conf("1.0.0");
        conf["logFile"] = json!(bad);
        let out = s.invoke("ADD", &conf).ok();
        assert!(out.stderr.contains("not logging"), "{bad}: {out:?}");
        assert!(out.stderr.contains(&format!("{bad:?}")), "{bad}: {out:?}");
        assert!(s.pod().ip(&["-o", "link", "show"]).contains(" xa@"));
        s.invoke("DEL", &conf).ok();
    }
    let written: Vec<_> = std::fs::read_dir(outside.path())
        .unwrap()
        .flatten()
        .collect();
    assert!(written.is_empty(), "{written:?}");
    assert!(!Path::new("/var/log").join(&s.log.name).exists());
    assert!(!s.log.path().exists());
    assert!(s.host_links().contains(" xa"), "{}", s.host_links());
    assert!(s.reserved().is_empty(), "{:?}", s.reserved());

    // A symbolic link where the log would be is not followed: ADD works,
    // unlogged, and the link's target is not created.
    let target = outside.path().join("target");
    std::os::unix::fs::symlink(&target, s.log.path()).unwrap();
    let out = s.invoke("ADD", &s.conf("1.0.0")).ok();
    assert!(out.stderr.contains("ELOOP"), "{out:?}");
    assert!(!target.exists());
    s.invoke("DEL", &s.conf("1.0.0")).ok();
    std::fs::remove_file(s.log.path()).unwrap();

    // A plain name is created in the log directory, mode 0640.
    s.invoke("ADD", &s.conf("1.0.0")).ok();
    let meta = std::fs::symlink_metadata(s.log.path()).unwrap();
    assert!(meta.is_file());
    let mode = meta.permissions().mode() & 0o777;
    assert_eq!(mode & !0o640, 0, "{mode:o}");
    let log = std::fs::read_to_string(s.log.path()).unwrap();
    assert!(log.contains("ADD c1: moved xa into"), "{log}");
    s.invoke("DEL", &s.conf("1.0.0")).ok();
    std::fs::remove_file(s.log.path()).unwrap();

    // The absolute path of a file in the log directory (what this plugin's
    // --help once implied) is that file.
    let mut conf = s.conf("1.0.0");
    conf["logFile"] = json!(s.log.path());
    let out = s.invoke("ADD", &conf).ok();
    assert!(!out.stderr.contains("not logging"), "{out:?}");
    let log = std::fs::read_to_string(s.log.path()).unwrap();
    assert!(log.contains("ADD c1: moved xa into"), "{log}");
}

#[test]
fn bad_json_and_unsupported_versions_are_cni_errors() {
    // No privilege needed: nothing is touched before the input is read.
    let plugin = Plugin::new();
    let invoke = |command: &str, stdin: &[u8]| {
        let mut cmd = Command::new(plugin.exe());
        cmd.env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", "c1")
            .env("CNI_NETNS", "/run/netns/none")
            .env("CNI_IFNAME", "eth0")
            .env("CNI_PATH", "/nonexistent");
        run(cmd, stdin)
    };
    let e = invoke("ADD", b"{\"cniVersion\": \"1.0.0\", ").error(6);
    assert_eq!(e["msg"], "cannot decode the network configuration");
    assert_eq!(e["cniVersion"], "1.1.0");
    let e = invoke("ADD", br#"{"cniVersion": "1.0.0", "ethtoolCmds": "x"}"#).error(6);
    assert!(
        e["details"].as_str().unwrap().contains("ethtoolCmds"),
        "{e}"
    );
    for v in ["0.2.0", "2.0.0", "", "latest"] {
        let conf = json!({"cniVersion": v, "type": "afxdp", "deviceID": "xa"});
        let e = invoke("ADD", conf.to_string().as_bytes()).error(1);
        assert_eq!(e["msg"], "incompatible CNI versions", "{e}");
        assert!(e["details"]
            .as_str()
            .unwrap()
            .contains("0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0"));
    }
    // ADD records the attachment under the network's name: one that is
    // not a file name is refused, before anything is done.
    for name in [json!("../x"), json!(""), json!(null)] {
        let conf = json!({"cniVersion": "1.0.0", "name": name, "type": "afxdp", "deviceID": "xa"});
        let e = invoke("ADD", conf.to_string().as_bytes()).error(7);
        assert_eq!(e["msg"], "cannot record the attachment", "{e}");
        assert!(
            e["details"].as_str().unwrap().contains("network name"),
            "{e}"
        );
    }
    // A configuration error says which field.
    let conf = json!({"cniVersion": "1.0.0", "type": "afxdp"});
    let e = invoke("ADD", conf.to_string().as_bytes()).error(7);
    assert_eq!(e["msg"], "no device specified");
    let conf = json!({"cniVersion": "1.0.0", "type": "afxdp", "deviceID": "xa", "mode": "cdq"});
    let e = invoke("ADD", conf.to_string().as_bytes()).error(7);
    assert!(e["details"].as_str().unwrap().contains("cdq"), "{e}");
    // STATUS needs 1.1.0; with it and no IPAM, success.
    let conf = json!({"cniVersion": "1.0.0", "type": "afxdp", "deviceID": "xa"});
    invoke("STATUS", conf.to_string().as_bytes()).error(1);
    let conf = json!({"cniVersion": "1.1.0", "type": "afxdp", "deviceID": "xa"});
    invoke("STATUS", conf.to_string().as_bytes()).ok();
    // An unknown command, and none at all.
    invoke("FROB", conf.to_string().as_bytes()).error(4);
    let mut cmd = Command::new(plugin.exe());
    cmd.env_remove("CNI_COMMAND");
    let out = run(cmd, b"");
    assert!(out.stderr.contains("sockctl cni --help"), "{out:?}");
    out.error(4);
}

#[test]
fn version_lists_every_supported_version() {
    let plugin = Plugin::new();
    let mut cmd = Command::new(plugin.exe());
    cmd.env("CNI_COMMAND", "VERSION");
    let v = run(cmd, br#"{"cniVersion":"1.0.0"}"#).ok().json();
    assert_eq!(
        v,
        json!({"cniVersion": "1.1.0",
               "supportedVersions": ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]})
    );
    // The same binary as `sockctl cni`, and its --help.
    let mut cmd = Command::new(SOCKCTL);
    cmd.arg("cni").env("CNI_COMMAND", "VERSION");
    assert_eq!(run(cmd, b"").ok().json(), v);
    let help = Command::new(plugin.exe()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("usage:") && help.contains("example"),
        "{help}"
    );
    // DEL leaves the device up in the host, as the code does (a down device
    // is one the device plugin reports unhealthy).
    let del = help
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("DEL "))
        .take_while(|l| !l.trim_start().starts_with("CHECK "))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(del.contains("set it up again"), "{del}");
    assert!(!del.contains("down"), "{del}");
}
