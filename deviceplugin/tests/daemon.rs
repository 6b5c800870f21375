//! The daemon end to end, against a kubelet stand-in (no kubelet can run
//! here: the stand-in in `common/` is written against the same `.proto`
//! definitions, and says so). The daemon runs as its own process in a
//! network namespace with a veth pair; the stand-in and the handshake
//! clients run in this test process.
//!
//! - it registers each pool with the right version, endpoint and resource;
//! - ListAndWatch reports the veth healthy, unhealthy within 2 s of it
//!   going down or being deleted, and healthy again when it is back (a new
//!   netdev of that name is prepared anew);
//! - Allocate returns the reference plugin's mounts and environment, after
//!   which a real client (`xskmap_by_handshake`, as DPDK's `use_cni=1`
//!   does) gets the XSKMAP under the pod name kubelet's pod-resources
//!   reports for that device; another pod gets `/host_nak`, and a failing
//!   pod-resources `/error`;
//! - a pod check kubelet is slow to answer delays only that device's
//!   handshakes, not another device's;
//! - a device kubelet gave a pod, away when the daemon starts, is in its
//!   pool (unhealthy until it is back); a device that appears later joins
//!   its pool, and a pool that had none registers then;
//! - a device a pod held when the daemon started is pooled once kubelet
//!   answers, and back from the pod under another name (before kubelet
//!   answers, and after) is not taken for a second device (an earlier
//!   daemon kept what it is);
//! - a kubelet restart (its socket made anew, the plugin directory cleared)
//!   is followed by a new registration within 2 s;
//! - a pinned-map pool mounts a pin owned by the pool's uid, mode 0600.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use af_xdp::handshake::{xskmap_by_handshake, HandshakeOptions};
use af_xdp::{ErrorKind, XskMap};
use afxdp_testkit::{privileged, with_bpffs, NetNs, TempDir, Veth};
use common::{daemon_command, pod, Kubelet, Plugin};

const POOL_UID: u32 = 1500;
const RESOURCE: &str = "afxdp/pool1";
const ENDPOINT: &str = "afxdp-pool1.sock";
/// The health promise: a change shows within this long.
const HEALTH: Duration = Duration::from_secs(2);

fn write_config(dir: &Path, pinning: bool) -> std::path::PathBuf {
    write_config_for(dir, pinning, &["xa"])
}

fn write_config_for(dir: &Path, pinning: bool, devices: &[&str]) -> std::path::PathBuf {
    let path = dir.join("config.json");
    let devices: Vec<String> = devices
        .iter()
        .map(|d| format!(r#"{{"name":"{d}"}}"#))
        .collect();
    std::fs::write(
        &path,
        format!(
            r#"{{"logLevel":"debug","pools":[{{"name":"pool1","mode":"primary",
                "devices":[{}],"udsTimeout":60,"uid":{POOL_UID},
                "bpfMapPinningEnable":{pinning}}}]}}"#,
            devices.join(",")
        ),
    )
    .unwrap();
    path
}

/// Starts the daemon in `ns` against the stand-in.
fn start(ns: &NetNs, tmp: &Path, k: &Kubelet, pin_dir: Option<&Path>) -> Plugin {
    start_with(ns, tmp, k, pin_dir, &[])
}

fn start_with(
    ns: &NetNs,
    tmp: &Path,
    k: &Kubelet,
    pin_dir: Option<&Path>,
    extra: &[&str],
) -> Plugin {
    let config = write_config(tmp, pin_dir.is_some());
    let mut cmd = daemon_command(ns.command("setpriv"), &config, k, &tmp.join("dp"), pin_dir);
    cmd.args(extra);
    Plugin::spawn(cmd)
}

/// Sends `/connect,<pod>` on a raw SOCK_SEQPACKET connection and returns
/// every message the server sends until it closes (at most 5 s).
fn raw_connect(socket: &Path, pod_name: &str) -> Vec<String> {
    let (socket, msg) = (socket.to_path_buf(), format!("/connect,{pod_name}"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use afxdp_sys::unix;
        let addr = unix::UnixAddr::try_from(socket.as_path()).unwrap();
        let fd = unix::connect_to(&addr).unwrap();
        unix::send_msg(fd.as_fd(), msg.as_bytes(), &[]).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while let Ok(m) = unix::recv_msg(fd.as_fd(), &mut buf, &mut []) {
            if m.len == 0 {
                break;
            }
            got.push(String::from_utf8_lossy(&buf[..m.len]).into_owned());
        }
        let _ = tx.send(got);
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("the server closes the connection")
}

fn handshake(socket: &Path, pod_name: &str) -> af_xdp::Result<XskMap> {
    handshake_on(socket, "xa", pod_name)
}

fn handshake_on(socket: &Path, dev: &str, pod_name: &str) -> af_xdp::Result<XskMap> {
    xskmap_by_handshake(
        socket,
        dev,
        &HandshakeOptions {
            hostname: Some(pod_name.to_string()),
            step_timeout: Duration::from_secs(5),
            ..Default::default()
        },
    )
}

#[test]
fn registers_lists_allocates_and_checks_the_pod() {
    if !privileged("registers_lists_allocates_and_checks_the_pod") {
        return;
    }
    let tmp = TempDir::new("dp-main");
    let ns = NetNs::new("dpmain");
    let _veth = Veth::new(&ns, 2);
    let k = Kubelet::start(tmp.path());
    let t0 = Instant::now();
    let mut plugin = start(&ns, tmp.path(), &k, None);

    // Registration: kubelet's version, our socket's file name, afxdp/<pool>.
    let (at, reg) = k.wait_registration(0, Duration::from_secs(10));
    eprintln!("registered {:?} after start", at - t0);
    assert_eq!(reg.version, "v1beta1");
    assert_eq!(reg.endpoint, ENDPOINT);
    assert_eq!(reg.resource_name, RESOURCE);
    assert!(k.plugin_dir.join(ENDPOINT).exists());

    // ListAndWatch: the veth end, healthy, at once.
    let watch = k.watch(ENDPOINT);
    assert_eq!(
        watch.next(Duration::from_secs(5)),
        vec![("xa".to_string(), "Healthy".to_string())]
    );
    // A stream kubelet drops (as a restarting kubelet does) ends on our
    // side at once, not at the next health change.
    let second = k.watch(ENDPOINT);
    second.next(Duration::from_secs(5));
    drop(second);
    plugin.wait_log("pool pool1: ListAndWatch closed", Duration::from_secs(3));

    // Allocate: the reference plugin's mounts and environment.
    let resp = k.allocate(ENDPOINT, &["xa"]).expect("Allocate");
    assert_eq!(resp.container_responses.len(), 1);
    let c = &resp.container_responses[0];
    assert_eq!(
        c.envs.get("AFXDP_DEVICES_POOL1").map(String::as_str),
        Some("xa")
    );
    assert_eq!(c.mounts.len(), 1, "{:?}", c.mounts);
    let m = &c.mounts[0];
    assert_eq!(m.container_path, "/tmp/afxdp_dp/xa/afxdp.sock");
    assert!(!m.read_only);
    let socket = Path::new(&m.host_path).to_path_buf();
    assert_eq!(socket, tmp.path().join("dp/xa/afxdp.sock"));
    let meta = std::fs::metadata(&socket).expect("the socket exists once Allocate returns");
    assert_eq!((meta.uid(), meta.gid()), (POOL_UID, POOL_UID));
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    // The pod kubelet says holds afxdp/pool1 xa gets the XSKMAP, on as many
    // connections as it likes.
    k.set_pods(Some(vec![
        pod("default", "web-0", RESOURCE, &["xa"]),
        pod("other", "web-1", "afxdp/pool2", &["xa"]),
        pod("other", "web-2", RESOURCE, &["xb"]),
    ]));
    for _ in 0..3 {
        let map = handshake(&socket, "web-0").expect("the allocated pod gets the XSKMAP");
        assert_eq!(map.max_entries(), 2, "one entry per queue of the veth");
    }

    // A pod that does not hold this device under this resource: /host_nak.
    for intruder in ["web-1", "web-2", "nobody"] {
        let e = handshake(&socket, intruder).expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::Refused, "{intruder}: {e}");
        assert!(e.to_string().contains("not accepted"), "{intruder}: {e}");
        assert_eq!(raw_connect(&socket, intruder), ["/host_nak"]);
    }

    // pod-resources failing: /error then /host_nak, never the map.
    k.set_pods(None);
    let e = handshake(&socket, "web-0").expect_err("refused while List fails");
    assert_eq!(e.kind(), ErrorKind::Refused, "{e}");
    assert!(e.to_string().contains("failed to check"), "{e}");
    assert_eq!(raw_connect(&socket, "web-0"), ["/error", "/host_nak"]);
    k.set_pods(Some(vec![pod("default", "web-0", RESOURCE, &["xa"])]));
    handshake(&socket, "web-0").expect("served again once List answers");

    // Health: down is unhealthy, up is healthy again.
    let down = Instant::now();
    ns.ip(&["link", "set", "xa", "down"]);
    let at = watch.wait_for("xa", "Unhealthy", HEALTH);
    eprintln!("down -> Unhealthy in {:?}", at - down);
    let up = Instant::now();
    ns.ip(&["link", "set", "xa", "up"]);
    let at = watch.wait_for("xa", "Healthy", HEALTH);
    eprintln!("up -> Healthy in {:?}", at - up);

    let log = plugin.log();
    assert!(
        log.contains("pod check: pod default/web-0 holds afxdp/pool1 xa: accepted"),
        "{log}"
    );
    plugin.stop();
    assert!(
        !socket.exists(),
        "the handshake socket is removed on SIGTERM"
    );
    assert!(
        !k.plugin_dir.join(ENDPOINT).exists(),
        "so is the plugin's socket"
    );
}

#[test]
fn a_slow_pod_check_on_one_device_delays_no_other_device() {
    if !privileged("a_slow_pod_check_on_one_device_delays_no_other_device") {
        return;
    }
    let tmp = TempDir::new("dp-slow");
    let ns = NetNs::new("dpslow");
    let _veth = Veth::new(&ns, 1);
    let k = Kubelet::start(tmp.path());
    let config = write_config_for(tmp.path(), false, &["xa", "xb"]);
    let mut plugin = Plugin::spawn(daemon_command(
        ns.command("setpriv"),
        &config,
        &k,
        &tmp.path().join("dp"),
        None,
    ));
    k.wait_registration(0, Duration::from_secs(10));
    k.allocate(ENDPOINT, &["xa"]).expect("Allocate xa");
    k.allocate(ENDPOINT, &["xb"]).expect("Allocate xb");
    k.set_pods(Some(vec![
        pod("default", "pod-a", RESOURCE, &["xa"]),
        pod("default", "pod-b", RESOURCE, &["xb"]),
    ]));
    let dp = tmp.path().join("dp");
    let (sock_a, sock_b) = (dp.join("xa/afxdp.sock"), dp.join("xb/afxdp.sock"));

    // kubelet takes 1.5 s (under the 2 s lookup timeout) to answer pod-a's
    // check; pod-b connects on the other device meanwhile.
    const STALL: Duration = Duration::from_millis(1500);
    k.stall_next_list(STALL);
    let t0 = Instant::now();
    let a = std::thread::spawn(move || {
        let r = handshake_on(&sock_a, "xa", "pod-a").map(|m| m.max_entries());
        (r, t0.elapsed())
    });
    // pod-a's check is the one stalled: pod-b starts once it is.
    k.wait_stalled(Duration::from_secs(5));
    let t1 = Instant::now();
    let b = handshake_on(&sock_b, "xb", "pod-b").expect("pod-b gets xb's XSKMAP");
    let took_b = t1.elapsed();
    assert_eq!(b.max_entries(), 1);
    let (a, took_a) = a.join().unwrap();
    assert_eq!(a.expect("pod-a gets xa's XSKMAP once kubelet answers"), 1);
    eprintln!("pod-a (stalled) {took_a:?}, pod-b beside it {took_b:?}");
    assert!(
        took_a >= STALL - Duration::from_millis(100),
        "the stall did not hit pod-a's check ({took_a:?}): the test proves nothing"
    );
    assert!(
        took_b < Duration::from_millis(700),
        "pod-b waited {took_b:?} behind pod-a's slow pod check"
    );
    plugin.stop();
}

#[test]
fn devices_in_pods_at_start_and_devices_that_appear_later_join_their_pools() {
    if !privileged("devices_in_pods_at_start_and_devices_that_appear_later_join_their_pools") {
        return;
    }
    let tmp = TempDir::new("dp-grow");
    let ns = NetNs::new("dpgrow");
    let away = NetNs::new("dpgrowpod");
    let _veth = Veth::new(&ns, 1);
    // Both ends are selected by MAC, which only a present netdev shows:
    // xa is in a pod (a CNI moved it there before this daemon started:
    // after a restart, say), xb somewhere else for now.
    ns.ip(&["link", "set", "xa", "netns", away.name()]);
    ns.ip(&["link", "set", "xb", "netns", away.name()]);
    let config = tmp.path().join("config.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"logLevel":"debug","pools":[
                {{"name":"pool1","mode":"primary","devices":[{{"mac":"02:00:00:00:00:0a"}}],"uid":{POOL_UID}}},
                {{"name":"pool2","mode":"primary","devices":[{{"mac":"02:00:00:00:00:0b"}}],"uid":{POOL_UID}}}]}}"#
        ),
    )
    .unwrap();
    let k = Kubelet::start(tmp.path());
    k.set_pods(Some(vec![pod("default", "web-0", RESOURCE, &["xa"])]));
    let mut plugin = Plugin::spawn(daemon_command(
        ns.command("setpriv"),
        &config,
        &k,
        &tmp.path().join("dp"),
        None,
    ));

    // pool1 has xa from kubelet's allocations: registered, xa unhealthy
    // while it is away, healthy once the pod gives it back.
    let (_, reg) = k.wait_registration(0, Duration::from_secs(10));
    assert_eq!(reg.resource_name, RESOURCE);
    let watch = k.watch(ENDPOINT);
    assert_eq!(
        watch.next(Duration::from_secs(5)),
        vec![("xa".to_string(), "Unhealthy".to_string())]
    );
    plugin.wait_log(
        "pool pool1: xa (allocated to pod default/web-0, per kubelet; not in this network namespace now)",
        Duration::from_secs(1),
    );
    away.ip(&["link", "set", "xa", "netns", ns.name()]);
    ns.ip(&["link", "set", "xa", "up"]);
    watch.wait_for("xa", "Healthy", HEALTH);

    // pool2 had nothing: not registered until xb appears, then registered
    // with it, within the health promise.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(k.registrations(), 1, "pool2 registered without a device");
    let back = Instant::now();
    away.ip(&["link", "set", "xb", "netns", ns.name()]);
    ns.ip(&["link", "set", "xb", "up"]);
    let (at, reg) = k.wait_registration(1, HEALTH);
    eprintln!("xb back -> pool2 registered in {:?}", at - back);
    assert_eq!(reg.resource_name, "afxdp/pool2");
    let watch2 = k.watch("afxdp-pool2.sock");
    watch2.wait_for("xb", "Healthy", HEALTH);
    // Allocate takes it, and its pod check knows its pool.
    k.allocate("afxdp-pool2.sock", &["xb"])
        .expect("Allocate xb");
    k.set_pods(Some(vec![pod("default", "web-1", "afxdp/pool2", &["xb"])]));
    let socket = tmp.path().join("dp/xb/afxdp.sock");
    handshake_on(&socket, "xb", "web-1").expect("web-1 gets xb's XSKMAP");
    plugin.wait_log(
        "xb (mac 02:00:00:00:00:0b) appeared: pooled",
        Duration::from_secs(1),
    );
    plugin.stop();
}

#[test]
fn a_device_a_pod_held_across_a_restart_is_pooled_once_kubelet_answers_and_never_twice() {
    if !privileged(
        "a_device_a_pod_held_across_a_restart_is_pooled_once_kubelet_answers_and_never_twice",
    ) {
        return;
    }
    let tmp = TempDir::new("dp-known");
    let ns = NetNs::new("dpknown");
    let away = NetNs::new("dpknownpod");
    let _veth = Veth::new(&ns, 1);
    let config = tmp.path().join("config.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"logLevel":"debug","pools":[
                {{"name":"pool1","mode":"primary","devices":[{{"mac":"02:00:00:00:00:0a"}}],"uid":{POOL_UID}}}]}}"#
        ),
    )
    .unwrap();
    let dp = tmp.path().join("dp");
    let k = Kubelet::start(tmp.path());
    // A first daemon sees xa (and keeps what it is).
    let mut first = Plugin::spawn(daemon_command(
        ns.command("setpriv"),
        &config,
        &k,
        &dp,
        None,
    ));
    k.wait_registration(0, Duration::from_secs(10));
    first.stop();
    let known = std::fs::read_to_string(dp.join(".pooled-hardware")).unwrap();
    assert_eq!(known, "xa mac 02:00:00:00:00:0a\n");

    // A pod holds xa (a CNI moved it) when the next daemon starts, and
    // kubelet does not answer yet: nothing to register.
    ns.ip(&["link", "set", "xa", "netns", away.name()]);
    k.set_pods(None);
    let mut plugin = Plugin::spawn(daemon_command(
        ns.command("setpriv"),
        &config,
        &k,
        &dp,
        None,
    ));
    plugin.wait_log(
        "devices kubelet gave pods are not looked up yet",
        Duration::from_secs(10),
    );
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(k.registrations(), 1, "registered with no device");

    // The pod goes without a CNI DEL while kubelet is still silent: xa is
    // back, under the pod's name for it. Its MAC is pool1's selector's,
    // but the file says it is xa, which a pod may yet hold: not pooled.
    away.ip(&["link", "set", "xa", "name", "net1"]);
    away.ip(&["link", "set", "net1", "netns", ns.name()]);
    std::thread::sleep(HEALTH);
    assert_eq!(k.registrations(), 1, "net1 pooled:\n{}", plugin.log());

    // Kubelet answers (the pod still listed): xa is pooled, away; net1 is
    // still not a second device.
    k.set_pods(Some(vec![pod("default", "web-0", RESOURCE, &["xa"])]));
    k.wait_registration(1, Duration::from_secs(5));
    let watch = k.watch(ENDPOINT);
    assert_eq!(
        watch.next(Duration::from_secs(5)),
        vec![("xa".to_string(), "Unhealthy".to_string())]
    );
    // A link made and deleted: the host's names change, so the next health
    // check runs the selectors (else only every 10 s) and sees net1 beside
    // the pooled xa.
    ns.ip(&["link", "add", "zz0", "type", "veth", "peer", "name", "zz1"]);
    std::thread::sleep(Duration::from_millis(1500));
    ns.ip(&["link", "del", "zz0"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !plugin.log().contains("net1 (mac"),
        "net1 pooled:\n{}",
        plugin.log()
    );
    let lists = watch.rx_drain();
    assert!(
        lists.iter().all(|l| l.iter().all(|(d, _)| d == "xa")),
        "{lists:?}"
    );
    // Its name back (what the CNI's GC or DEL does), up: healthy.
    ns.ip(&["link", "set", "net1", "name", "xa"]);
    ns.ip(&["link", "set", "xa", "up"]);
    watch.wait_for("xa", "Healthy", HEALTH);
    plugin.stop();
}

#[test]
fn netdev_deleted_while_allocated_is_unhealthy_until_it_returns() {
    if !privileged("netdev_deleted_while_allocated_is_unhealthy_until_it_returns") {
        return;
    }
    let tmp = TempDir::new("dp-del");
    let ns = NetNs::new("dpdel");
    let _veth = Veth::new(&ns, 1);
    let k = Kubelet::start(tmp.path());
    let mut plugin = start(&ns, tmp.path(), &k, None);
    k.wait_registration(0, Duration::from_secs(10));
    let watch = k.watch(ENDPOINT);
    watch.wait_for("xa", "Healthy", Duration::from_secs(5));
    let resp = k.allocate(ENDPOINT, &["xa"]).expect("Allocate");
    let socket = Path::new(&resp.container_responses[0].mounts[0].host_path).to_path_buf();
    k.set_pods(Some(vec![pod("default", "web-0", RESOURCE, &["xa"])]));
    handshake(&socket, "web-0").expect("served");

    let gone = Instant::now();
    ns.ip(&["link", "del", "xa"]);
    let at = watch.wait_for("xa", "Unhealthy", HEALTH);
    eprintln!("deleted -> Unhealthy in {:?}", at - gone);

    // A new netdev of that name: healthy, and prepared anew (program
    // attached to it, a new XSKMAP on the same socket path).
    let back = Instant::now();
    let _veth = Veth::new(&ns, 1);
    let at = watch.wait_for("xa", "Healthy", HEALTH);
    eprintln!("re-created -> Healthy in {:?}", at - back);
    plugin.wait_log("serving xa again", HEALTH);
    assert!(
        ns.ip(&["link", "show", "xa"]).contains("xdp"),
        "the program is attached to the new xa"
    );
    let map = handshake(&socket, "web-0").expect("served again on the same path");
    assert_eq!(map.max_entries(), 1);
    plugin.stop();
}

#[test]
fn netdev_moved_into_a_pod_namespace_keeps_its_program() {
    if !privileged("netdev_moved_into_a_pod_namespace_keeps_its_program") {
        return;
    }
    // What a CNI does once the pod is set up: the allocated netdev moves
    // into the pod's network namespace, and back when the pod is gone.
    let tmp = TempDir::new("dp-move");
    let ns = NetNs::new("dpmove");
    let pod_ns = NetNs::new("dpmovepod");
    let _veth = Veth::new(&ns, 1);
    let k = Kubelet::start(tmp.path());
    let mut plugin = start(&ns, tmp.path(), &k, None);
    k.wait_registration(0, Duration::from_secs(10));
    let watch = k.watch(ENDPOINT);
    let resp = k.allocate(ENDPOINT, &["xa"]).expect("Allocate");
    let socket = Path::new(&resp.container_responses[0].mounts[0].host_path).to_path_buf();
    k.set_pods(Some(vec![pod("default", "web-0", RESOURCE, &["xa"])]));

    ns.ip(&["link", "set", "xa", "netns", pod_ns.name()]);
    // Not in the node's namespace any more: reported unhealthy (kubelet
    // keeps the allocation), but still served and still attached.
    watch.wait_for("xa", "Unhealthy", HEALTH);
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        pod_ns.ip(&["link", "show", "xa"]).contains("xdp"),
        "the program stays attached in the pod's namespace"
    );
    handshake(&socket, "web-0").expect("the map is still served");

    pod_ns.ip(&["link", "set", "xa", "netns", ns.name()]);
    ns.ip(&["link", "set", "xa", "up"]);
    watch.wait_for("xa", "Healthy", HEALTH);
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        !plugin.log().contains("preparing it anew"),
        "the same netdev back: nothing to prepare:\n{}",
        plugin.log()
    );
    assert!(ns.ip(&["link", "show", "xa"]).contains("xdp"));
    plugin.stop();
}

#[test]
fn kubelet_restart_is_followed_by_registration_within_two_seconds() {
    if !privileged("kubelet_restart_is_followed_by_registration_within_two_seconds") {
        return;
    }
    let tmp = TempDir::new("dp-restart");
    let ns = NetNs::new("dprestart");
    let _veth = Veth::new(&ns, 1);
    let mut k = Kubelet::start(tmp.path());
    let mut plugin = start(&ns, tmp.path(), &k, None);
    k.wait_registration(0, Duration::from_secs(10));
    for round in 1..=2 {
        let restarted = k.restart();
        let (at, reg) = k.wait_registration(round, Duration::from_secs(2));
        eprintln!(
            "kubelet restart {round}: registered again in {:?}",
            at - restarted
        );
        assert_eq!(reg.endpoint, ENDPOINT);
        assert_eq!(reg.resource_name, RESOURCE);
        // The plugin's socket, cleared with the directory, is back and
        // answers (kubelet calls ListAndWatch right after Register).
        let watch = k.watch(ENDPOINT);
        assert_eq!(
            watch.next(Duration::from_secs(5)),
            vec![("xa".to_string(), "Healthy".to_string())]
        );
    }
    assert_eq!(k.registrations(), 3, "one registration per kubelet start");
    plugin.stop();
}

#[test]
fn pinned_map_pool_mounts_a_pin_the_pool_uid_may_open() {
    if !privileged("pinned_map_pool_mounts_a_pin_the_pool_uid_may_open") {
        return;
    }
    // A private bpffs, in a mount namespace this thread and the daemon it
    // starts share; it goes when the closure returns.
    with_bpffs(|bpffs| {
        let tmp = TempDir::new("dp-pin");
        let ns = NetNs::new("dppin");
        let _veth = Veth::new(&ns, 2);
        let k = Kubelet::start(tmp.path());
        let pin_dir = bpffs.join("afxdp_dp");
        let mut plugin = start(&ns, tmp.path(), &k, Some(&pin_dir));
        k.wait_registration(0, Duration::from_secs(10));
        let resp = k.allocate(ENDPOINT, &["xa"]).expect("Allocate");
        let c = &resp.container_responses[0];
        let mounts: Vec<(&str, &str)> = c
            .mounts
            .iter()
            .map(|m| (m.container_path.as_str(), m.host_path.as_str()))
            .collect();
        let pin = pin_dir.join("xa/xsks_map");
        assert_eq!(
            mounts,
            vec![
                (
                    "/tmp/afxdp_dp/xa/afxdp.sock",
                    tmp.path().join("dp/xa/afxdp.sock").to_str().unwrap()
                ),
                ("/tmp/afxdp_dp/xa/xsks_map", pin.to_str().unwrap()),
            ]
        );
        let meta = std::fs::metadata(&pin).expect("pinned");
        assert_eq!((meta.uid(), meta.gid()), (POOL_UID, POOL_UID));
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let map = XskMap::open_pinned(&pin).expect("an XSKMAP is pinned there");
        assert_eq!(map.max_entries(), 2);
        plugin.stop();
        assert!(!pin.exists(), "unpinned on SIGTERM");
    });
}

/// The id of the XDP program attached to `dev` in `ns`, if any.
fn xdp_prog_id(ns: &NetNs, dev: &str) -> Option<String> {
    let out = ns.ip(&["-d", "link", "show", dev]);
    let at = out.find("prog/xdp id ")? + "prog/xdp id ".len();
    Some(out[at..].split_whitespace().next()?.to_string())
}

#[test]
fn state_dir_keeps_the_program_across_a_restart_of_the_daemon() {
    if !privileged("state_dir_keeps_the_program_across_a_restart_of_the_daemon") {
        return;
    }
    with_bpffs(|bpffs| {
        let tmp = TempDir::new("dp-state");
        let ns = NetNs::new("dpstate");
        let _veth = Veth::new(&ns, 1);
        let k = Kubelet::start(tmp.path());
        let state = bpffs.join("state");
        std::fs::create_dir(&state).unwrap();
        let args = ["--state-dir", state.to_str().unwrap()];
        k.set_pods(Some(vec![pod("default", "web-0", RESOURCE, &["xa"])]));

        let mut first = start_with(&ns, tmp.path(), &k, None, &args);
        k.wait_registration(0, Duration::from_secs(10));
        let resp = k.allocate(ENDPOINT, &["xa"]).expect("Allocate");
        let socket = Path::new(&resp.container_responses[0].mounts[0].host_path).to_path_buf();
        let map = handshake(&socket, "web-0").expect("served");
        let prog = xdp_prog_id(&ns, "xa").expect("attached");
        first.stop();
        assert_eq!(
            xdp_prog_id(&ns, "xa").as_deref(),
            Some(prog.as_str()),
            "still attached after the daemon stopped"
        );

        // The next daemon adopts the program and the XSKMAP (the one a
        // running pod already holds) when the device is allocated again.
        let mut second = start_with(&ns, tmp.path(), &k, None, &args);
        k.wait_registration(1, Duration::from_secs(10));
        k.allocate(ENDPOINT, &["xa"]).expect("Allocate");
        second.wait_log("adopted from the state directory", Duration::from_secs(2));
        assert_eq!(xdp_prog_id(&ns, "xa").as_deref(), Some(prog.as_str()));
        let again = handshake(&socket, "web-0").expect("served again");
        assert_eq!(again.id(), map.id(), "the same XSKMAP");
        second.stop();
    });
}
