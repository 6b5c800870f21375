//! The commands: `ADD`, `DEL`, `CHECK`, `VERSION`, `STATUS`, `GC`, each in
//! the order of steps the module documentation gives, with what a failure
//! part-way must undo.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use afxdp_core::abi::ethtool::is_fallback_ifname;
use afxdp_core::rtnetlink::SetLink;
use afxdp_core::Errno;

use super::config::{NetConf, Version};
use super::json::{Json, ObjectBuilder};
use super::link::{self, LinkState, Rtnl};
use super::log::Log;
use super::netns::NetNs;
use super::result::{CniResult, Dns, Interface};
use super::state::{Record, Store};
use super::{codes, ethtool, ipam, CniEnv, CniError, LATEST_VERSION, SUPPORTED_VERSIONS};
use crate::error::Error;

/// Runs the command `env` names; returns the version to write an error in
/// and what to print (or the error).
pub(super) fn dispatch(env: &CniEnv, stdin: &[u8]) -> (String, Result<String, CniError>) {
    let latest = LATEST_VERSION.to_string();
    let Some(command) = env.command.as_deref() else {
        return (
            latest,
            Err(CniError::new(
                codes::INVALID_ENV,
                "CNI_COMMAND is not set",
                "a CNI plugin is run with CNI_COMMAND (ADD, DEL, CHECK, VERSION, STATUS, GC) and the network configuration on stdin",
            )),
        );
    };
    if command == "VERSION" {
        return (latest, Ok(version_answer()));
    }
    let conf = match NetConf::parse(stdin) {
        Ok(c) => c,
        Err(e) => return (latest, Err(e)),
    };
    let version = match conf.version() {
        Ok(v) => v,
        Err(e) => return (latest, Err(e)),
    };
    let log = Log::open(
        &conf.log_file,
        &conf.log_level,
        format!("{command} {}", env.container_id.as_deref().unwrap_or("-")),
    );
    let result = match command {
        "ADD" => add(env, &conf, stdin, &log)
            .map(|r| r.to_json(version))
            .inspect(|_| log.info("done")),
        "DEL" => del(env, &conf, stdin, &log).map(|()| String::new()),
        "CHECK" => check(env, &conf, version, stdin, &log).map(|()| String::new()),
        "STATUS" | "GC" => status_or_gc(command, env, &conf, version, stdin, &log),
        other => Err(CniError::new(
            codes::INVALID_ENV,
            format!("unknown CNI_COMMAND {other:?}"),
            "one of ADD, DEL, CHECK, VERSION, STATUS, GC",
        )),
    };
    if let Err(e) = &result {
        log.error(&e.to_string());
    }
    (version.to_string(), result)
}

/// The answer to `VERSION`.
fn version_answer() -> String {
    ObjectBuilder::new()
        .put("cniVersion", Json::str(LATEST_VERSION))
        .put(
            "supportedVersions",
            Json::Array(SUPPORTED_VERSIONS.iter().map(|v| Json::str(*v)).collect()),
        )
        .build()
        .to_pretty()
}

/// A required `CNI_*` variable.
fn required<'a, T: ?Sized>(v: Option<&'a T>, name: &str, command: &str) -> Result<&'a T, CniError> {
    v.ok_or_else(|| {
        CniError::new(
            codes::INVALID_ENV,
            format!("{name} is required for {command}"),
            format!("the runtime did not set {name}"),
        )
    })
}

/// A library error as a CNI error with `code`.
fn cni(code: u32, msg: impl Into<String>, e: &Error) -> CniError {
    let mut details = e.to_string();
    if let Some(h) = e.hint() {
        details.push_str("; hint: ");
        details.push_str(h);
    }
    CniError::new(code, msg, details)
}

/// Opens the container's namespace; a missing one is
/// [`codes::UNKNOWN_CONTAINER`].
fn open_netns(path: &Path) -> Result<NetNs, CniError> {
    NetNs::open(path).map_err(|e| {
        let code = if e.kind() == io::ErrorKind::NotFound {
            codes::UNKNOWN_CONTAINER
        } else {
            codes::IO_FAILURE
        };
        CniError::new(
            code,
            "cannot open the container's network namespace",
            format!("{}: {e}", path.display()),
        )
    })
}

fn host_netns() -> Result<NetNs, CniError> {
    NetNs::current().map_err(|e| {
        CniError::new(
            codes::IO_FAILURE,
            "cannot open the host's network namespace",
            e.to_string(),
        )
    })
}

/// The name the device has in the pod: `CNI_IFNAME` with `renameDevice`,
/// else its own.
fn pod_name<'a>(conf: &NetConf, device: &'a str, ifname: &'a str) -> &'a str {
    if conf.rename_device {
        ifname
    } else {
        device
    }
}

/// `ADD`: see the module documentation.
fn add(env: &CniEnv, conf: &NetConf, stdin: &[u8], log: &Log) -> Result<CniResult, CniError> {
    conf.validate()?;
    let device = conf.device()?;
    required(env.container_id.as_deref(), "CNI_CONTAINERID", "ADD")?;
    let netns_path = required(env.netns.as_deref(), "CNI_NETNS", "ADD")?;
    let ifname = required(env.ifname.as_deref(), "CNI_IFNAME", "ADD")?;
    let in_pod = pod_name(conf, device, ifname);
    if conf.rename_device && !afxdp_core::abi::ethtool::is_valid_ifname(ifname.as_bytes()) {
        return Err(CniError::new(
            codes::INVALID_ENV,
            "invalid CNI_IFNAME",
            format!("{ifname:?} is not an interface name"),
        ));
    }
    let store = store(conf, env, ifname)
        .map_err(|e| CniError::new(codes::INVALID_CONFIG, "cannot record the attachment", e))?;
    // The result of the plugins before this one in a chain: passed on,
    // with this plugin's interface, addresses and routes added.
    let prev = conf
        .prev_result
        .as_ref()
        .map(decode_prev_result)
        .transpose()?;
    let pod = open_netns(netns_path)?;
    let host = host_netns()?;
    if pod.same_as(&host) {
        return Err(CniError::new(
            codes::INVALID_ENV,
            "CNI_NETNS is the host's network namespace",
            netns_path.display().to_string(),
        ));
    }
    log.info(&format!(
        "device {device} -> {} as {in_pod}",
        netns_path.display()
    ));

    let mut rtnl = Rtnl::open().map_err(|e| cni(codes::NETLINK, "rtnetlink", &e))?;
    let Some(dev) = rtnl
        .link_by_name(device)
        .map_err(|e| cni(codes::NETLINK, "cannot look up the device", &e))?
    else {
        let already = pod
            .run(|| Rtnl::open()?.link_by_name(in_pod))
            .ok()
            .flatten()
            .is_some();
        let details = if already {
            format!(
                "{device} is not in the host's network namespace: it is in the container's already ({}), as {in_pod}",
                netns_path.display()
            )
        } else {
            format!("no link named {device} in the host's network namespace")
        };
        return Err(CniError::new(
            codes::DEVICE_NOT_FOUND,
            format!("device not found: {device}"),
            details,
        ));
    };
    log.debug(&format!(
        "found {device}: ifindex {}, mac {}, permanent address {:?}",
        dev.ifindex, dev.mac, dev.perm
    ));
    // What DEL knows the device by, written before anything is done.
    let mut record = Record::of(&dev, in_pod);
    store
        .save(&record)
        .map_err(|e| CniError::new(codes::IO_FAILURE, "cannot record the attachment", e))?;
    let forget = || {
        if let Err(e) = store.remove() {
            log.warn(&format!("after a failed ADD: {e}"));
        }
    };

    let ipam_type = conf.ipam_type();
    let ipam_result = match ipam_type {
        Some(t) => {
            let r = ipam::add(t, env, stdin).inspect_err(|_| forget())?;
            log.info(&format!(
                "IPAM {t}: {}",
                r.ips
                    .iter()
                    .map(|i| i.address.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            Some(r)
        }
        None => None,
    };

    let attached = attach(
        conf,
        &mut rtnl,
        &dev,
        &record,
        device,
        in_pod,
        &pod,
        &host,
        ipam_result.as_ref(),
        log,
    );
    let (iface, ifindex) = match attached {
        Ok(i) => i,
        Err((e, back)) => {
            // Give the addresses back: the attachment failed.
            if let Some(t) = ipam_type {
                if let Err(d) = ipam::exec(t, "DEL", env, stdin) {
                    log.warn(&format!("IPAM {t} DEL after a failed ADD: {d}"));
                }
            }
            // The record is what the runtime's DEL finds the device by:
            // kept unless it is back in the host.
            if back {
                forget();
            }
            return Err(e);
        }
    };
    // Its index in the pod: what DEL finds it by there. (Not recorded, its
    // index in the host, which it most likely kept.)
    record.ifindex = ifindex;
    if let Err(e) = store.save(&record) {
        log.warn(&format!("recording {in_pod}'s index in the pod: {e}"));
    }

    let ours = Interface {
        name: iface.name,
        mac: iface.mac,
        mtu: iface.mtu,
        sandbox: netns_path.display().to_string(),
        ..Interface::default()
    };
    Ok(merge_result(
        prev.unwrap_or_default(),
        ours,
        ipam_result.unwrap_or_default(),
        conf.dns.as_ref(),
    ))
}

/// `prevResult` as a result; not one is [`codes::DECODE_FAILURE`].
fn decode_prev_result(v: &Json) -> Result<CniResult, CniError> {
    CniResult::from_value(v)
        .map_err(|e| CniError::new(codes::DECODE_FAILURE, "cannot decode prevResult", e.details))
}

/// `ADD`'s result: `prev` (the earlier plugins' of a chain, or nothing)
/// passed through, as the spec asks, with `ours` appended to its
/// interfaces, the IPAM result's addresses (pointing at `ours`) and routes
/// appended to its own, and the DNS of the configuration, else of IPAM,
/// else of `prev`.
fn merge_result(
    prev: CniResult,
    ours: Interface,
    ipam: CniResult,
    conf_dns: Option<&Dns>,
) -> CniResult {
    let mut result = prev;
    let index = result.interfaces.len();
    result.interfaces.push(ours);
    result.ips.extend(ipam.ips.into_iter().map(|mut ip| {
        ip.interface = Some(index);
        ip
    }));
    result.routes.extend(ipam.routes);
    if let Some(dns) = conf_dns.filter(|d| !d.is_empty()) {
        result.dns = dns.clone();
    } else if !ipam.dns.is_empty() {
        result.dns = ipam.dns;
    }
    result
}

/// The part of `ADD` after IPAM: ethtool, move, configure in the pod. On
/// failure, the device is moved back (from the pod by `record`: a failed
/// move can have moved it, not renamed it); the error comes with whether
/// the device is in the host.
#[allow(clippy::too_many_arguments)]
fn attach(
    conf: &NetConf,
    rtnl: &mut Rtnl,
    dev: &link::LinkState,
    record: &Record,
    device: &str,
    in_pod: &str,
    pod: &NetNs,
    host: &NetNs,
    ipam: Option<&CniResult>,
    log: &Log,
) -> Result<(Interface, i32), (CniError, bool)> {
    let ip = ipam.and_then(CniResult::first_ip).map(|i| i.to_string());
    if !conf.ethtool_cmds.is_empty() {
        ethtool::run_all(&conf.ethtool_cmds, device, ip.as_deref()).map_err(|e| (e, true))?;
        log.info(&format!(
            "ran {} ethtool command(s)",
            conf.ethtool_cmds.len()
        ));
    }

    let mut mv = SetLink::new(dev.ifindex).move_to_netns(pod.as_raw_fd());
    if in_pod != device {
        mv = mv.rename(in_pod.as_bytes());
    }
    let failed = match rtnl.set_link("move to the container's network namespace", device, &mv) {
        Err(e) => {
            let msg = format!("cannot move {device} into the container's network namespace");
            cni(codes::NETLINK, msg, &e)
        }
        Ok(()) => {
            log.info(&format!("moved {device} into {}", pod.path().display()));
            match pod.run(|| configure_in_pod(in_pod, ipam)) {
                Ok(iface) => {
                    log.info(&format!("{in_pod} is up, mac {}", iface.0.mac));
                    return Ok(iface);
                }
                Err(e) => cni(
                    codes::NETLINK,
                    format!("cannot configure {in_pod} in the container"),
                    &e,
                ),
            }
        }
    };
    let back = match rtnl.link_by_index(dev.ifindex) {
        Ok(Some(l)) if record.identifies(&l) => true,
        _ => match pod.run(|| move_back(in_pod, device, host, Ours::Recorded(record))) {
            // Up again if it was: move_back set it down, and a down
            // device is one the device plugin reports unhealthy.
            Ok(MovedBack::Moved(_)) => {
                if dev.up {
                    if let Err(u) = set_up_in_host(device) {
                        log.error(&format!(
                            "setting {device} up again after a failed ADD: {u}"
                        ));
                    }
                }
                true
            }
            r => {
                let why = match r {
                    Err(u) => u.to_string(),
                    Ok(_) => "not found in the container".into(),
                };
                log.error(&format!(
                    "{device} is not back in the host after a failed ADD: {why}; its record is kept for DEL"
                ));
                false
            }
        },
    };
    Err((failed, back))
}

/// In the pod's namespace: set the device up, give it the IPAM result's
/// addresses and routes, and describe it (with its index there).
fn configure_in_pod(name: &str, ipam: Option<&CniResult>) -> crate::Result<(Interface, i32)> {
    let mut rtnl = Rtnl::open()?;
    let dev = rtnl.link_by_name(name)?.ok_or_else(|| {
        Error::new(
            crate::ErrorKind::NotFound,
            "find the moved device",
            name,
            "it is not in the container's network namespace after the move",
        )
    })?;
    if let Some(r) = ipam {
        if r.ips.iter().any(|i| i.address.addr.is_ipv6()) {
            link::enable_ipv6(name);
        }
    }
    rtnl.set_link("set up", name, &SetLink::new(dev.ifindex).set_up(true))?;
    if let Some(r) = ipam {
        for ip in &r.ips {
            rtnl.add_addr(dev.ifindex, name, &ip.address)?;
        }
        for route in &r.routes {
            let gw = r.gateway_for(&route.dst.addr);
            rtnl.add_route(dev.ifindex, name, route, gw)?;
        }
    }
    let now = rtnl.link_by_name(name)?.unwrap_or(dev);
    let iface = Interface {
        name: now.name,
        mac: now.mac,
        mtu: now.mtu,
        ..Interface::default()
    };
    Ok((iface, now.ifindex))
}

/// How `DEL` knows the device `ADD` gave the pod.
#[derive(Clone, Copy, Debug)]
enum Ours<'a> {
    /// By `ADD`'s record: its kind and hardware address
    /// ([`Record::identifies`]), in the pod at its index there (whatever
    /// the pod named it), else by its name there.
    Recorded(&'a Record),
    /// By the MAC of `prevResult` only (no record: an `ADD` of an older
    /// version of this plugin).
    Mac(&'a str),
    /// By its name in the pod only: right after `ADD`'s own move, or
    /// without record or `prevResult`. Nothing in the host is ever taken
    /// for ours by name alone.
    Named,
}

impl Ours<'_> {
    /// Whether `l` is the device by its hardware address (and, recorded,
    /// its kind): a positive match only.
    fn is(self, l: &LinkState) -> bool {
        match self {
            Ours::Recorded(r) => r.identifies(l),
            Ours::Mac(m) => m.eq_ignore_ascii_case(&l.mac),
            Ours::Named => false,
        }
    }
}

/// What [`move_back`] did.
#[derive(Debug)]
enum MovedBack {
    /// Moved to the host; it was named this in the pod.
    Moved(String),
    /// There is no such link here.
    Absent,
    /// The link of that name is not ours by `Ours`: left alone.
    NotOurs(LinkState),
}

/// In the pod's namespace: find the device (`name`, or as `ours` says),
/// set it down and move it to `host` as `device`.
fn move_back(name: &str, device: &str, host: &NetNs, ours: Ours<'_>) -> crate::Result<MovedBack> {
    let mut rtnl = Rtnl::open()?;
    let by_index = match ours {
        // The index ADD recorded in this namespace, whatever the pod named
        // it, if the link there is the device: not one the pod made.
        Ours::Recorded(r) if r.ifindex > 0 => {
            rtnl.link_by_index(r.ifindex)?.filter(|l| r.identifies(l))
        }
        _ => None,
    };
    let dev = match by_index {
        Some(l) => l,
        None => match rtnl.link_by_name(name)? {
            None => return Ok(MovedBack::Absent),
            Some(l) if matches!(ours, Ours::Named) || ours.is(&l) => l,
            Some(l) => return Ok(MovedBack::NotOurs(l)),
        },
    };
    let was = dev.name.clone();
    rtnl.set_link("set down", &was, &SetLink::new(dev.ifindex).set_up(false))?;
    let mut mv = SetLink::new(dev.ifindex).move_to_netns(host.as_raw_fd());
    if was != device {
        mv = mv.rename(device.as_bytes());
    }
    rtnl.set_link("move back to the host's network namespace", &was, &mv)?;
    Ok(MovedBack::Moved(was))
}

/// Whether a link named `device` is in this (the host's) namespace.
fn in_host(device: &str) -> bool {
    Rtnl::open()
        .and_then(|mut r| r.link_by_name(device))
        .is_ok_and(|l| l.is_some())
}

/// In the host's namespace (the plugin's own): sets `device` up if it is
/// there and down; `Ok(true)` if it did.
fn set_up_in_host(device: &str) -> crate::Result<bool> {
    let mut rtnl = Rtnl::open()?;
    match rtnl.link_by_name(device)? {
        Some(dev) if !dev.up => {
            rtnl.set_link("set up", device, &SetLink::new(dev.ifindex).set_up(true))?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// What [`reclaim_returned`] found.
#[derive(Debug)]
enum Returned {
    /// The device is in the host under its own name.
    Home,
    /// It was back under this name, and has its own again.
    Renamed(String),
    /// It is not in the host (yet).
    NotYet,
}

/// How long after the first `DEL` that found a device which returns by
/// itself in neither the pod nor the host `DEL` stops asking to be tried
/// again, and succeeds (a NIC unplugged, a VF removed, never comes back;
/// the pod must still go).
pub(crate) const DEL_GIVES_UP_AFTER: Duration = Duration::from_secs(60);

/// How long `DEL` waits for a device to come back to the host after its
/// pod's namespace went (the kernel returns it when it cleans the
/// namespace up, asynchronously), and how often it looks.
const RETURN_WAIT: Duration = Duration::from_secs(2);
const RETURN_POLL: Duration = Duration::from_millis(20);

/// In the host's namespace (the plugin's own), after the pod's namespace
/// went without a `DEL`: the kernel gives a physical device back to the
/// initial namespace, down, under its name in the pod (which the pod may
/// have changed), or `dev<ifindex>` when that is taken. Finds it: with a
/// record, any link that is ours ([`Ours::is`]: never by name alone);
/// without, `device`, `in_pod` or a `dev<N>` with `prevResult`'s MAC. Then
/// renames it `device`, unless that is another link's (an error naming
/// both, for a retry once that link has gone); two that are ours, neither
/// named `device`, is an error too (a pod can set its device's MAC to
/// another's), not a guess.
/// Waits up to `wait` for it to appear.
fn reclaim_returned(
    device: &str,
    in_pod: &str,
    ours: Ours<'_>,
    wait: Duration,
) -> crate::Result<Returned> {
    let mut rtnl = Rtnl::open()?;
    let deadline = Instant::now() + wait;
    let any = matches!(ours, Ours::Recorded(_));
    loop {
        let mut found: Vec<LinkState> = vec![];
        for name in host_link_names() {
            if !(any || name == device || name == in_pod || is_fallback_ifname(name.as_bytes())) {
                continue;
            }
            if let Some(l) = rtnl.link_by_name(&name)?.filter(|l| ours.is(l)) {
                if !found.iter().any(|f| f.ifindex == l.ifindex) {
                    found.push(l);
                }
            }
        }
        // Home under its name: done, whatever else has its address (a pod
        // can set its MAC to another's).
        if found.iter().any(|l| l.name == device) {
            return Ok(Returned::Home);
        }
        match &found[..] {
            [l] => {
                if let Some(o) = rtnl.link_by_name(device)? {
                    return Err(Error::new(
                        crate::ErrorKind::Busy,
                        "rename back to the device's name",
                        &l.name,
                        format!(
                            "{device} is another link's in the host (ifindex {}, MAC {})",
                            o.ifindex, o.mac
                        ),
                    ));
                }
                if l.up {
                    // A link is renamed down (EBUSY otherwise); up_again
                    // follows.
                    rtnl.set_link("set down", &l.name, &SetLink::new(l.ifindex).set_up(false))?;
                }
                let rename = SetLink::new(l.ifindex).rename(device.as_bytes());
                rtnl.set_link("rename back to the device's name", &l.name, &rename)?;
                return Ok(Returned::Renamed(l.name.clone()));
            }
            [a, b, ..] => {
                return Err(Error::new(
                    crate::ErrorKind::Busy,
                    "find the returned device",
                    format!("{} and {}", a.name, b.name),
                    format!(
                    "both are {device} by kind ({}) and hardware address ({}): not guessing which",
                    a.kind, a.mac
                ),
                ))
            }
            [] => {}
        }
        if Instant::now() >= deadline {
            return Ok(Returned::NotYet);
        }
        std::thread::sleep(RETURN_POLL);
    }
}

/// `DEL` when the pod's namespace is gone: [`reclaim_returned`] (waiting
/// for the device with a record), logged; a failure is returned as the
/// CNI error.
fn reclaim(device: &str, in_pod: &str, ours: Ours<'_>, log: &Log) -> Option<CniError> {
    let wait = match ours {
        Ours::Recorded(_) => RETURN_WAIT,
        Ours::Mac(_) => Duration::ZERO,
        Ours::Named => {
            log.warn(&format!(
                "no record of the ADD and no MAC in prevResult: a device returned to the host under another name than {device} is not looked for"
            ));
            return None;
        }
    };
    match reclaim_returned(device, in_pod, ours, wait) {
        Ok(Returned::Renamed(was)) => {
            log.info(&format!(
                "{device} was back in the host as {was}: gave {was} its name {device} back"
            ));
            None
        }
        Ok(Returned::Home) => None,
        // A NIC or VF comes back when the kernel has cleaned the namespace
        // up, which can take longer under load: DEL again later (the
        // record stays). A link of a kind went with the namespace.
        Ok(Returned::NotYet) => match ours {
            Ours::Recorded(r) if r.returns_by_itself() => Some(CniError::new(
                codes::TRY_AGAIN_LATER,
                format!("{device} has not returned to the host yet"),
                format!(
                    "the kernel gives a {} device back to the host when it cleans up the pod's namespace; not back within {RETURN_WAIT:?}: DEL again later (given up {DEL_GIVES_UP_AFTER:?} after the first DEL that missed it)",
                    r.kind
                ),
            )),
            _ => None,
        },
        Err(e) => Some(cni(
            codes::NETLINK,
            format!("cannot give {device} its name back in the host"),
            &e,
        )),
    }
}

/// The names of the links of the calling thread's network namespace, from
/// `/proc/thread-self/net/dev` (empty if it cannot be read).
fn host_link_names() -> Vec<String> {
    std::fs::read_to_string("/proc/thread-self/net/dev")
        .map(|t| {
            t.lines()
                .filter_map(|l| l.split_once(':'))
                .map(|(name, _)| name.trim().to_string())
                .filter(|n| !n.is_empty() && !n.contains('|'))
                .collect()
        })
        .unwrap_or_default()
}

/// Our interface in `prevResult`, with its index: see [`find_ours`].
fn prev_interface(conf: &NetConf, sandbox: &Path, name: &str) -> Option<(usize, Interface)> {
    let prev = CniResult::from_value(conf.prev_result.as_ref()?).ok()?;
    find_ours(prev.interfaces, &sandbox.display().to_string(), name)
}

/// Of `interfaces`, ours: the one named `name` (the device's name in the
/// pod, `CNI_IFNAME` with `renameDevice`) in `sandbox`. Not merely the
/// first in the sandbox: in a chain that can be another plugin's (`eth0`).
fn find_ours(interfaces: Vec<Interface>, sandbox: &str, name: &str) -> Option<(usize, Interface)> {
    interfaces
        .into_iter()
        .enumerate()
        .find(|(_, i)| i.name == name && i.sandbox == sandbox)
}

/// `DEL`'s last step for the device: up again in the host if it is there
/// and down, as the pool had it, wherever it came from (moved back now, by
/// an earlier `DEL` or a failed `ADD`, or returned by the kernel): a device
/// plugin counts a down device unhealthy, and would never hand it to
/// another pod. A failure is logged, not returned.
fn up_again(device: &str, log: &Log) {
    match set_up_in_host(device) {
        Ok(true) => log.info(&format!("set {device} up in the host")),
        Ok(false) => {}
        Err(e) => log.error(&format!("setting {device} up again: {e}")),
    }
}

/// Whether opening or entering a namespace failed because it is gone.
fn is_gone(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::NotFound)
}

/// Where `ADD` records this attachment: see [`Store`].
fn store(conf: &NetConf, env: &CniEnv, ifname: &str) -> Result<Store, String> {
    let id = env.container_id.as_deref().unwrap_or_default();
    Store::new(&conf.name, id, ifname)
}

/// `DEL`: see the module documentation.
fn del(env: &CniEnv, conf: &NetConf, stdin: &[u8], log: &Log) -> Result<(), CniError> {
    required(env.container_id.as_deref(), "CNI_CONTAINERID", "DEL")?;
    let mut first_err: Option<CniError> = None;
    // What ADD recorded: the device, and what it is known by.
    let ifname = env.ifname.as_deref().or(conf.device().ok());
    let store = ifname.and_then(|i| store(conf, env, i).ok());
    let record = store.as_ref().and_then(|s| {
        s.load()
            .inspect_err(|e| log.warn(&format!("ignoring the record of the ADD: {e}")))
            .ok()
            .flatten()
    });
    let device = match &record {
        Some(r) => Ok(r.device.as_str()),
        None => conf.device(),
    };
    // Without a device there was never an attachment to undo (ADD would
    // have refused): still release the addresses.
    match (device, env.netns.as_deref()) {
        (Err(_), _) => log.warn("no valid deviceID: nothing to move back"),
        (Ok(device), None) if record.is_none() => {
            log.info("no CNI_NETNS: nothing to move back");
            up_again(device, log);
        }
        (Ok(device), path) => {
            let ifname = ifname.unwrap_or(device);
            let in_pod = match &record {
                Some(r) => r.in_pod.as_str(),
                None => pod_name(conf, device, ifname),
            };
            // The MAC ADD reported for it, if the runtime gave prevResult.
            let mac = path
                .and_then(|p| prev_interface(conf, p, in_pod))
                .map(|(_, i)| i.mac)
                .filter(|m| !m.is_empty());
            let ours = match (&record, &mac) {
                (Some(r), _) => Ours::Recorded(r),
                (None, Some(m)) => Ours::Mac(m),
                (None, None) => Ours::Named,
            };
            // Without CNI_NETNS (the spec allows it once the sandbox is
            // gone), as when the namespace is gone: by the record.
            let opened = match path {
                Some(p) => NetNs::open(p),
                None => Err(io::ErrorKind::NotFound.into()),
            };
            // (In messages only.)
            let path = path.unwrap_or(Path::new("the sandbox (no CNI_NETNS)"));
            match opened {
                Err(e) if is_gone(&e) => {
                    log.info(&format!(
                        "{} is gone (a node reboot, or the sandbox removed first): nothing to move back; a physical device returns to the host by itself",
                        path.display()
                    ));
                    first_err = reclaim(device, in_pod, ours, log);
                }
                Err(e) => {
                    first_err = Some(CniError::new(
                        codes::IO_FAILURE,
                        "cannot open the container's network namespace",
                        format!("{}: {e}", path.display()),
                    ))
                }
                // Without a record (a DEL retried after one that removed
                // it, or an ADD of an earlier version) and the device in
                // the host already, nothing in the pod is ours: a link the
                // pod made under its name since must not be moved out to
                // the host (its veth peer would stay in the pod).
                Ok(_) if !matches!(ours, Ours::Recorded(_)) && in_host(device) => {
                    log.info(&format!(
                        "{device} is in the host already: nothing to move back from {}",
                        path.display()
                    ));
                }
                Ok(pod) => {
                    let host = host_netns()?;
                    match pod.run(|| move_back(in_pod, device, &host, ours)) {
                        Ok(MovedBack::Moved(was)) => {
                            log.info(&format!("moved {was} back to the host as {device}"))
                        }
                        Ok(MovedBack::Absent) => log.info(&format!(
                            "{in_pod} is not in {}: already back, or gone",
                            path.display()
                        )),
                        Ok(MovedBack::NotOurs(l)) => log.warn(&format!(
                            "{in_pod} in {} is a {} with MAC {}, not {device}: not ours, left alone",
                            path.display(),
                            l.kind,
                            l.mac
                        )),
                        // A bind mount left behind without its namespace,
                        // or a file that is not one: nothing to move.
                        Err(e)
                            if e.op() == super::netns::ENTER_OP
                                && e.errno() == Some(Errno::EINVAL) =>
                        {
                            log.info(&format!(
                                "{} is not a network namespace any more",
                                path.display()
                            ));
                            first_err = reclaim(device, in_pod, ours, log);
                        }
                        Err(e) => {
                            first_err = Some(cni(
                                codes::NETLINK,
                                format!("cannot move {in_pod} back to the host"),
                                &e,
                            ))
                        }
                    }
                }
            }
            up_again(device, log);
            if !conf.ethtool_cmds.is_empty() && first_err.is_none() {
                for failed in ethtool::reset(device) {
                    log.debug(&format!("ethtool reset: {failed}"));
                }
            }
        }
    }
    // A device that returns by itself and is not back yet: DEL again later,
    // with the record, until it has been missing for DEL_GIVES_UP_AFTER.
    if let (
        Some(CniError {
            code: codes::TRY_AGAIN_LATER,
            ..
        }),
        Some(r),
        Some(st),
    ) = (&first_err, &record, &store)
    {
        if !still_waiting(st, r, "DEL", "not back: unplugged, or a VF removed?", log) {
            first_err = None;
        }
    }
    if let Some(t) = conf.ipam_type() {
        match ipam::exec(t, "DEL", env, stdin) {
            Ok(_) => log.info(&format!("IPAM {t}: released")),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => {
            // Kept after a failure, for the runtime's retry.
            if let Some(Err(e)) = store.as_ref().map(Store::remove) {
                log.warn(&e);
            }
            log.info("done");
            Ok(())
        }
    }
}

/// For a recorded device that is not given back yet (one that returns to
/// the host by itself and is not back, or whose return failed in `GC`):
/// whether to keep its record and try again later, which notes in the
/// record when it was first missed; after [`DEL_GIVES_UP_AFTER`] from then,
/// no (it was unplugged, or a VF removed: the pod must still go). No too
/// when that time cannot be saved (it would never run out), and a time
/// after now (the clock was set back) starts again from now.
/// `why` says what was missed, for the log.
fn still_waiting(store: &Store, r: &Record, who: &str, why: &str, log: &Log) -> bool {
    let now = unix_now();
    let since = r.missing_since.filter(|&s| s <= now);
    if let Some(since) = since {
        if now - since >= DEL_GIVES_UP_AFTER.as_secs() {
            log.warn(&format!(
                "{who}: {} not given back to the host {} s after it was first missed ({why}): given up; its record goes",
                r.device,
                now - since
            ));
            return false;
        }
        return true;
    }
    let mut r = r.clone();
    r.missing_since = Some(now);
    if let Err(e) = store.save(&r) {
        log.warn(&format!(
            "{who}: {} not given back, and the time it was first missed cannot be saved ({e}): given up; its record goes",
            r.device
        ));
        return false;
    }
    true
}

/// Seconds since the epoch (0 on a clock set before it).
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `CHECK`: see the module documentation.
fn check(
    env: &CniEnv,
    conf: &NetConf,
    version: Version,
    stdin: &[u8],
    log: &Log,
) -> Result<(), CniError> {
    if version < Version::V0_4_0 {
        return Err(CniError::new(
            codes::INCOMPATIBLE_VERSION,
            "config version does not allow CHECK",
            format!("CHECK needs cniVersion 0.4.0 or later, the config is {version}"),
        ));
    }
    conf.validate()?;
    let device = conf.device()?;
    required(env.container_id.as_deref(), "CNI_CONTAINERID", "CHECK")?;
    let netns_path = required(env.netns.as_deref(), "CNI_NETNS", "CHECK")?;
    let ifname = required(env.ifname.as_deref(), "CNI_IFNAME", "CHECK")?;
    let prev_value = conf.prev_result.as_ref().ok_or_else(|| {
        CniError::new(
            codes::INVALID_CONFIG,
            "required prevResult missing",
            "CHECK compares the attachment with ADD's result, which the runtime gives as prevResult",
        )
    })?;
    let prev = decode_prev_result(prev_value)?;
    if let Some(t) = conf.ipam_type() {
        ipam::exec(t, "CHECK", env, stdin)?;
    }
    let pod = open_netns(netns_path)?;
    let name = pod_name(conf, device, ifname);
    let (index, expected) = prev_interface(conf, netns_path, name).unwrap_or_else(|| {
        (
            usize::MAX,
            Interface {
                name: name.to_string(),
                ..Interface::default()
            },
        )
    });
    let failed = |msg: String, details: String| CniError::new(codes::CHECK_FAILED, msg, details);
    let name = expected.name.as_str();
    let (state, addrs) = pod
        .run(|| {
            let mut rtnl = Rtnl::open()?;
            let Some(l) = rtnl.link_by_name(name)? else {
                return Ok((None, vec![]));
            };
            let addrs = rtnl.addrs(l.ifindex)?;
            Ok((Some(l), addrs))
        })
        .map_err(|e| {
            cni(
                codes::NETLINK,
                "cannot inspect the container's network namespace",
                &e,
            )
        })?;
    let Some(state) = state else {
        return Err(failed(
            format!("{name} is not in the container's network namespace"),
            netns_path.display().to_string(),
        ));
    };
    if !state.up {
        return Err(failed(
            format!("{name} is down"),
            "ADD left it up".to_string(),
        ));
    }
    if !expected.mac.is_empty() && !expected.mac.eq_ignore_ascii_case(&state.mac) {
        return Err(failed(
            format!("{name} has MAC {}, not {}", state.mac, expected.mac),
            "the prevResult's interface is not the device in the namespace".to_string(),
        ));
    }
    for ip in &prev.ips {
        let ours = match ip.interface {
            Some(i) => i == index,
            None => true,
        };
        if ours && !addrs.contains(&ip.address) {
            return Err(failed(
                format!("{name} does not have {}", ip.address),
                format!(
                    "it has [{}]",
                    addrs
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    log.info(&format!("{name} is in place, up, with its addresses"));
    Ok(())
}

/// `STATUS` and `GC` (1.1.0): the IPAM plugin's answer, or success without
/// one. `GC` first gives the devices of this network's attachments not in
/// `cni.dev/valid-attachments` back and removes their records
/// ([`gc_records`]).
fn status_or_gc(
    command: &str,
    env: &CniEnv,
    conf: &NetConf,
    version: Version,
    stdin: &[u8],
    log: &Log,
) -> Result<String, CniError> {
    if version < Version::V1_1_0 {
        return Err(CniError::new(
            codes::INCOMPATIBLE_VERSION,
            format!("config version does not allow {command}"),
            format!("{command} needs cniVersion 1.1.0 or later, the config is {version}"),
        ));
    }
    let records = if command == "GC" {
        gc_records(conf, stdin, log)
    } else {
        Ok(())
    };
    if let Some(t) = conf.ipam_type() {
        ipam::exec(t, command, env, stdin)?;
    }
    records.map(|()| String::new())
}

/// `GC`'s part here, for this network's attachments whose `containerID`
/// and `ifname` are not in `cni.dev/valid-attachments` (the runtime runs no
/// `ADD` or `DEL` of the network meanwhile, and the pods of the others are
/// gone); without that list, nothing. Each one's device is given back as
/// `DEL` would after its namespace went: found among the host's links by
/// the record (never in a pod's namespace: no path to one is known), its
/// name given back and set up. Then its record goes; one of a device that
/// returns by itself and is not back yet stays for a later `GC` (or `DEL`),
/// as `DEL` waits for it. What cannot be done is the error, after the rest.
fn gc_records(conf: &NetConf, stdin: &[u8], log: &Log) -> Result<(), CniError> {
    let doc = Json::parse(stdin).unwrap_or(Json::Null);
    let Some(valid) = doc
        .get("cni.dev/valid-attachments")
        .and_then(Json::as_array)
    else {
        return Ok(());
    };
    let valid: Vec<_> = valid
        .iter()
        .filter_map(|a| Some((a.get("containerID")?.as_str()?, a.get("ifname")?.as_str()?)))
        .collect();
    let keep = |id: &str, ifname: &str| valid.contains(&(id, ifname));
    let mut failed = vec![];
    let mut waiting = vec![];
    for store in super::state::stale(&conf.name, keep) {
        let record = match store.load() {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                log.warn(&format!("GC: ignoring a record: {e}"));
                if let Err(e) = store.remove() {
                    failed.push(e);
                }
                continue;
            }
        };
        let device = record.device.as_str();
        match reclaim_returned(
            device,
            &record.in_pod,
            Ours::Recorded(&record),
            Duration::ZERO,
        ) {
            Ok(back @ (Returned::Renamed(_) | Returned::Home)) => {
                if let Returned::Renamed(was) = back {
                    log.info(&format!(
                        "GC: {device} was back in the host as {was}: gave {was} its name {device} back"
                    ));
                }
                // As DEL leaves it: up, as the pool had it, and the
                // configuration's ethtool settings undone.
                up_again(device, log);
                if !conf.ethtool_cmds.is_empty() {
                    for failed in ethtool::reset(device) {
                        log.debug(&format!("GC: ethtool reset: {failed}"));
                    }
                }
            }
            Ok(Returned::NotYet) if record.returns_by_itself() => {
                let why = "not back: unplugged, or a VF removed?";
                if still_waiting(&store, &record, "GC", why, log) {
                    log.info(&format!(
                        "GC: {device} is not back in the host yet: its record stays"
                    ));
                    waiting.push(store.path());
                    continue;
                }
            }
            Ok(Returned::NotYet) => {}
            // Kept for a later GC or DEL (a link holding its name may go),
            // with the same bound.
            Err(e) => {
                let why = format!("its name could not be given back: {e}");
                if still_waiting(&store, &record, "GC", &why, log) {
                    waiting.push(store.path());
                }
                failed.push(format!("give {device} its name back: {e}"));
                continue;
            }
        }
        if let Err(e) = store.remove() {
            failed.push(e);
        }
    }
    // Temporary files of crashed writes, and directories left empty; the
    // records still waiting stay.
    let waits = |id: &str, ifname: &str| {
        keep(id, ifname)
            || waiting
                .iter()
                .any(|p| p.ends_with(Path::new(id).join(ifname)))
    };
    failed.extend(super::state::gc(&conf.name, waits));
    if failed.is_empty() {
        return Ok(());
    }
    Err(CniError::new(
        codes::IO_FAILURE,
        "cannot undo every stale attachment",
        failed.join("; "),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(doc: &str) -> CniResult {
        CniResult::parse(doc.as_bytes()).unwrap()
    }

    #[test]
    fn ours_is_found_by_name_in_the_sandbox() {
        let prev = result(
            r#"{"cniVersion":"1.0.0","interfaces":[
                {"name":"cni0"},
                {"name":"eth0","sandbox":"/run/netns/p"},
                {"name":"net1","sandbox":"/run/netns/q"},
                {"name":"net1","sandbox":"/run/netns/p","mac":"02:00:00:00:00:0a"}]}"#,
        );
        let (i, ours) = find_ours(prev.interfaces.clone(), "/run/netns/p", "net1").unwrap();
        assert_eq!((i, ours.mac.as_str()), (3, "02:00:00:00:00:0a"));
        assert_eq!(
            find_ours(prev.interfaces.clone(), "/run/netns/p", "eth0")
                .unwrap()
                .0,
            1
        );
        assert!(find_ours(prev.interfaces.clone(), "/run/netns/p", "xa").is_none());
        assert!(find_ours(prev.interfaces, "/run/netns/r", "net1").is_none());
    }

    #[test]
    fn host_links() {
        assert!(host_link_names().iter().any(|n| n == "lo"));
    }

    #[test]
    fn add_appends_to_the_previous_result() {
        let prev = result(
            r#"{"cniVersion":"1.0.0",
                "interfaces":[{"name":"cni0"},{"name":"eth0","sandbox":"/run/netns/p"}],
                "ips":[{"address":"10.1.0.5/24","interface":1}],
                "routes":[{"dst":"10.2.0.0/16"}],
                "dns":{"nameservers":["10.1.0.53"]}}"#,
        );
        let ipam = result(
            r#"{"cniVersion":"1.0.0",
                "ips":[{"address":"10.55.0.200/24"},{"address":"fd00::2/64","interface":0}],
                "routes":[{"dst":"0.0.0.0/0"}]}"#,
        );
        let ours = Interface {
            name: "net1".into(),
            sandbox: "/run/netns/p".into(),
            ..Interface::default()
        };
        let r = merge_result(prev.clone(), ours.clone(), ipam.clone(), None);
        assert_eq!(r.interfaces.len(), 3);
        assert_eq!(r.interfaces[2], ours);
        let indexes: Vec<_> = r.ips.iter().map(|i| i.interface).collect();
        assert_eq!(indexes, [Some(1), Some(2), Some(2)]);
        assert_eq!(r.routes.len(), 2);
        assert_eq!(r.dns, prev.dns);
        // Without a previous result, ours is interface 0; the
        // configuration's DNS wins over the others.
        let dns = Dns {
            nameservers: vec!["10.55.0.53".into()],
            ..Dns::default()
        };
        let r = merge_result(CniResult::default(), ours, ipam, Some(&dns));
        assert_eq!(r.ips[0].interface, Some(0));
        assert_eq!(r.dns, dns);
    }
}
