//! `sockctl get-map`: get the XSKMAP of an interface the way a client does
//! (handshake, or a pinned path), check it, and say what it is.

use std::path::PathBuf;
use std::time::Duration;

use af_xdp::handshake::{default_socket_path, xskmap_by_handshake, HandshakeOptions};
use af_xdp::vdev::{DP_BASE_PATH, DP_MAP_NAME};
use af_xdp::XskMap;

use crate::args::{flag, opt, opt_maybe, parse, Usage};
use crate::json::Object;
use crate::Failure;

const HELP: &str = "\
usage: sockctl get-map --iface IF [--dp-path PATH | --pinned [PATH]] [--pod-name NAME]
                       [--timeout SECS] [--json]

Get the XSKMAP of IF as an unprivileged client does, check that it is an XSKMAP
(BPF_OBJ_GET_INFO_BY_FD), and print its id and size:
  (default)        the device-plugin handshake on /tmp/afxdp_dp/IF/afxdp.sock
                   (what DPDK's PMD does with use_cni=1)
  --dp-path PATH   the handshake on PATH (the legacy plugin: /tmp/afxdp.sock)
  --pinned [PATH]  open the map pinned at PATH (default /tmp/afxdp_dp/IF/xsks_map),
                   as DPDK's use_pinned_map=1
  --pod-name NAME  the name sent in /connect (default: this host's name)
  --timeout SECS   time allowed for each handshake step, a plain decimal (default 5)

examples:
  sockctl get-map --iface eth0 --json
  sockctl get-map --iface eth0 --pinned /sys/fs/bpf/afxdp/eth0/xsks_map
";

pub fn main(args: &[String]) -> Result<(), Failure> {
    let p = parse(
        args,
        &[
            opt("iface"),
            opt("dp-path"),
            opt_maybe("pinned"),
            opt("pod-name"),
            opt("timeout"),
            flag("json"),
        ],
    )?;
    if p.help {
        out!("{HELP}");
        return Ok(());
    }
    let iface = p.required("iface")?;
    if p.given("pinned") && p.get("dp-path").is_some() {
        return Err(Usage("--dp-path and --pinned exclude each other".into()).into());
    }
    let timeout = p.seconds("timeout")?.unwrap_or(Duration::from_secs(5));
    let (how, path, map) = if p.given("pinned") {
        let path = match p.get("pinned") {
            Some(v) if !v.is_empty() => PathBuf::from(v),
            _ => PathBuf::from(format!("{DP_BASE_PATH}/{iface}/{DP_MAP_NAME}")),
        };
        let map = XskMap::open_pinned(&path)?;
        ("pinned", path, map)
    } else {
        let path = p
            .get("dp-path")
            .map_or_else(|| default_socket_path(iface), PathBuf::from);
        let opts = HandshakeOptions {
            hostname: p.get("pod-name").map(str::to_string),
            step_timeout: timeout,
            ..Default::default()
        };
        let map = xskmap_by_handshake(&path, iface, &opts)?;
        ("handshake", path, map)
    };
    if p.flag("json") {
        outln!(
            "{}",
            Object::new()
                .str("iface", iface)
                .str("source", how)
                .str("path", &path.display().to_string())
                .int("map_id", u64::from(map.id()))
                .int("max_entries", u64::from(map.max_entries()))
                .str("type", "xskmap")
                .finish()
        );
    } else {
        outln!(
            "{iface}: XSKMAP id {} with {} entries, by {how} from {}",
            map.id(),
            map.max_entries(),
            path.display()
        );
    }
    Ok(())
}
