//! `sockctl serve`: the device-plugin side. Prepares each interface and
//! serves the handshake until SIGINT/SIGTERM.

use std::path::PathBuf;
use std::time::Duration;

use af_xdp::handshake::server::{idle_timeout_from_secs, PodPolicy, Server, ServerConfig};
use af_xdp::handshake::Owner;
use af_xdp::{AttachKind, PrepareOptions, XdpMode};
use afxdp_sys::signal::{self, SigSet, SIGHUP, SIGINT, SIGTERM};

use crate::args::{flag, multi, opt, parse, Usage};
use crate::Failure;

const HELP: &str = "\
usage: sockctl serve --iface IF [--iface IF2 ...] [--dir DIR] [--mode auto|native|skb]
                     [--pin-dir DIR] [--pin-owner UID[:GID]] [--pin-mode OCTAL]
                     [--state-dir DIR] [--keep-attached]
                     [--allow-pod NAME ... | --allow-any-pod] [--allow-uid UID ...]
                     [--idle-timeout SECS] [--legacy-socket PATH]
                     [--socket-owner UID[:GID]] [--socket-mode OCTAL] [--dir-mode OCTAL]

The device-plugin side of unprivileged AF_XDP. For each interface: create its XSKMAP,
load the redirect program and attach it (as a BPF link, which no client can detach),
and serve the handshake DPDK's AF_XDP PMD speaks with use_cni=1 on DIR/IF/afxdp.sock
(DIR defaults to /tmp/afxdp_dp). Runs until SIGINT/SIGTERM, then closes every
connection, removes its sockets, unpins and detaches (unless --keep-attached).

  --iface IF          an interface to serve (repeat for more)
  --mode              XDP attach mode (default auto)
  --allow-pod NAME    a pod name accepted in /connect (repeat); or
  --allow-any-pod     accept any pod name (for a socket only the right pod can reach)
  --allow-uid UID     accept connections only from these peer uids (SO_PEERCRED; repeat)
  --idle-timeout S    close a connection silent for S seconds: 30 to 300, 0 for the
                      default (30), -1 for never (the reference plugin's udsTimeout)
  --dir DIR           where DIR/IF/afxdp.sock go (default /tmp/afxdp_dp)
  --dir-mode OCTAL    mode of DIR/IF (default 0700)
  --socket-owner U:G  owner of DIR/IF and the socket: the client's uid, so that an
                      unprivileged client can connect while the modes stay private
  --socket-mode OCTAL mode of the socket (default 0600)
  --legacy-socket P   also serve every interface on P (the legacy /tmp/afxdp.sock)
  --pin-dir DIR       also pin each map at DIR/IF/xsks_map for use_pinned_map=1 clients
                      (DIR must be on a bpffs: mount -t bpf bpf DIR)
  --pin-owner U:G     owner of the pins; BPF_OBJ_GET needs read AND write permission
  --pin-mode OCTAL    mode of the pins (default 0600 with --pin-owner, else 0666)
  --state-dir DIR     pin each link and map in DIR/IF/ (a bpffs): a later serve adopts
                      them, so running clients keep receiving across a restart
  --keep-attached     on exit, leave the attachments and pins for the next serve
                      (needs --state-dir)
One line per connection on stdout: the socket's interface, the peer's pid/uid/gid,
the pod name, what it got, how it ended.

examples:
  sockctl serve --iface eth0 --allow-pod mypod
  sockctl serve --iface eth0 --iface eth1 --allow-any-pod --socket-owner 1000
  sockctl serve --iface eth0 --allow-any-pod --pin-dir /sys/fs/bpf/afxdp --pin-owner 65534
  sockctl serve --iface eth0 --allow-any-pod --state-dir /sys/fs/bpf/afxdp-state --keep-attached
";

fn octal(p: &crate::args::Parsed, name: &str) -> Result<Option<u32>, Usage> {
    p.get(name)
        .map(|v| {
            u32::from_str_radix(v.trim_start_matches("0o"), 8)
                .ok()
                .filter(|m| *m <= 0o7777)
                .ok_or_else(|| Usage(format!("--{name} {v:?}: not an octal mode")))
        })
        .transpose()
}

/// Parses `UID[:GID]`.
pub fn owner(p: &crate::args::Parsed, name: &str) -> Result<Owner, Usage> {
    let Some(v) = p.get(name) else {
        return Ok(Owner::default());
    };
    let bad = || Usage(format!("--{name} {v:?}: expected UID or UID:GID (numbers)"));
    let (u, g) = match v.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (v, None),
    };
    Ok(Owner {
        uid: Some(u.parse().map_err(|_| bad())?),
        gid: g.map(|g| g.parse().map_err(|_| bad())).transpose()?,
    })
}

pub fn main(args: &[String]) -> Result<(), Failure> {
    let p = parse(
        args,
        &[
            multi("iface"),
            opt("dir"),
            opt("mode"),
            opt("pin-dir"),
            opt("pin-owner"),
            opt("pin-mode"),
            opt("state-dir"),
            flag("keep-attached"),
            multi("allow-pod"),
            flag("allow-any-pod"),
            multi("allow-uid"),
            opt("idle-timeout"),
            opt("legacy-socket"),
            opt("socket-owner"),
            opt("socket-mode"),
            opt("dir-mode"),
        ],
    )?;
    if p.help {
        out!("{HELP}");
        return Ok(());
    }
    let ifaces = p.all("iface");
    if ifaces.is_empty() {
        return Err(Usage("--iface is required (one or more)".into()).into());
    }
    let pods = match (p.flag("allow-any-pod"), p.all("allow-pod")) {
        (true, []) => PodPolicy::Any,
        (false, []) => {
            return Err(Usage(
                "say which pods may connect: --allow-pod NAME (repeat), or --allow-any-pod".into(),
            )
            .into())
        }
        (false, names) => PodPolicy::Only(names.to_vec()),
        (true, _) => {
            return Err(Usage("--allow-pod and --allow-any-pod exclude each other".into()).into())
        }
    };
    let allow_uids = p
        .all("allow-uid")
        .iter()
        .map(|u| {
            u.parse::<u32>()
                .map_err(|_| Usage(format!("--allow-uid {u:?}: not a uid")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let idle_timeout = match p.number::<i64>("idle-timeout")? {
        None => idle_timeout_from_secs(0),
        Some(s) => idle_timeout_from_secs(s),
    }
    .map_err(|e| Usage(format!("--idle-timeout: {e}")))?;
    let mode: XdpMode = p.get("mode").unwrap_or("auto").parse().map_err(Usage)?;
    let pin_owner = owner(&p, "pin-owner")?;
    let state_dir = p.get("state-dir").map(PathBuf::from);
    if p.flag("keep-attached") && state_dir.is_none() {
        return Err(Usage(
            "--keep-attached needs --state-dir (where the next serve finds the attachment)".into(),
        )
        .into());
    }
    let pin_mode = octal(&p, "pin-mode")?.unwrap_or(if pin_owner.is_set() { 0o600 } else { 0o666 });
    let pin_dir = p.get("pin-dir").map(PathBuf::from);
    let config = ServerConfig {
        dir: p
            .get("dir")
            .map_or_else(|| ServerConfig::default().dir, PathBuf::from),
        dir_mode: octal(&p, "dir-mode")?.unwrap_or(0o700),
        socket_mode: octal(&p, "socket-mode")?.unwrap_or(0o600),
        socket_owner: owner(&p, "socket-owner")?,
        pods,
        allow_uids,
        idle_timeout,
        legacy_socket: p.get("legacy-socket").map(PathBuf::from),
        prepare: PrepareOptions {
            mode,
            attach: AttachKind::Link,
            pin_mode: Some(pin_mode),
            pin_owner,
            state_dir,
            ..Default::default()
        },
        pin_dir: pin_dir.clone(),
        ..Default::default()
    };
    if pin_dir.is_some() && !pin_owner.is_set() && pin_mode & 0o006 != 0 {
        errln!("sockctl serve: warning: pins are {pin_mode:04o}: any local user may open the XSKMAP; --pin-owner UID restricts them to the pod's uid");
    }

    // Stop signals wait for the loop instead of killing it half-way.
    let stop = SigSet::of(&[SIGINT, SIGTERM, SIGHUP]);
    let old_mask = signal::block(stop).ok();
    let result = run(ifaces, config, p.flag("keep-attached"), stop);
    while let Ok(Some(_)) = signal::wait_timeout(stop, 0) {}
    if let Some(m) = old_mask {
        let _ = signal::set_mask(m);
    }
    result
}

fn run(ifaces: &[String], config: ServerConfig, keep: bool, stop: SigSet) -> Result<(), Failure> {
    let dir = config.dir.clone();
    let pin_dir = config.pin_dir.clone();
    let mut server = Server::new(ifaces, config)?;
    for (name, prepared) in server.interfaces() {
        errln!(
            "sockctl serve: {name}: {} prog id {}, XSKMAP id {} ({} entries), {} mode; socket {}{}",
            if prepared.is_adopted() {
                "adopted"
            } else {
                "attached"
            },
            prepared.attachment().program().id(),
            prepared.map().id(),
            prepared.map().max_entries(),
            af_xdp::attach::mode_name(prepared.mode()),
            dir.join(name).join("afxdp.sock").display(),
            match (&pin_dir, prepared.pin_path()) {
                (Some(_), Some(pin)) => format!(", pinned at {}", pin.display()),
                _ => String::new(),
            }
        );
    }
    let mut log = |l: &af_xdp::handshake::server::ConnectionLog| outln!("{l}");
    let stopped_by = loop {
        server.serve(Duration::from_millis(200), &mut log)?;
        if let Ok(Some(sig)) = signal::wait_timeout(stop, 0) {
            break match sig {
                SIGINT => "SIGINT",
                SIGTERM => "SIGTERM",
                _ => "SIGHUP",
            };
        }
    };
    server.shutdown(keep, &mut log)?;
    errln!(
        "sockctl serve: stopped by {stopped_by}; {}",
        if keep {
            "attachments and pins left for the next serve"
        } else {
            "sockets removed, programs detached, pins removed"
        }
    );
    Ok(())
}
