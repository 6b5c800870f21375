//! `sockctl doctor`: every prerequisite of the unprivileged story, one line
//! each (the checks are the library's, `af_xdp::doctor`).

use std::path::PathBuf;

use af_xdp::doctor::{diagnose, to_json, DoctorOptions, Status};

use crate::args::{flag, opt, parse};
use crate::Failure;

const HELP: &str = "\
usage: sockctl doctor [--iface IF] [--dp-path PATH] [--no-connect] [--pod-name NAME]
                      [--frames N] [--json]

Check every prerequisite of unprivileged AF_XDP on this machine, as this user, one
line each with ok, warn or fail and what to do: the kernel and AF_XDP, capabilities
(effective and bounding), RLIMIT_MEMLOCK against a UMEM of N frames (default 4096,
registered for real), kernel.unprivileged_bpf_disabled, bpffs, huge pages; with
--iface, what the device-plugin side offers for IF (its handshake socket, answering?
its pinned map, openable read-write by this uid?) and what is attached to IF.
Works from an empty root filesystem and inside a container.

  --iface IF       the interface a client will use
  --dp-path PATH   the device plugin's socket or pinned map (default
                   /tmp/afxdp_dp/IF/afxdp.sock and /tmp/afxdp_dp/IF/xsks_map)
  --no-connect     do not try the handshake (the reference device plugin serves a
                   single connection per socket: a check would use it up)
  --pod-name NAME  the name sent in the handshake (default: this host's name)
  --frames N       UMEM size to try (default 4096)
  --json           one JSON object: {\"checks\":[...],\"ok\":N,\"warn\":N,\"fail\":N}
Exit status 1 if any check failed.

examples:
  sockctl doctor
  sockctl doctor --iface eth0 --json
";

pub fn main(args: &[String]) -> Result<(), Failure> {
    let p = parse(
        args,
        &[
            opt("iface"),
            opt("dp-path"),
            flag("no-connect"),
            opt("pod-name"),
            opt("frames"),
            flag("json"),
        ],
    )?;
    if p.help {
        out!("{HELP}");
        return Ok(());
    }
    let opts = DoctorOptions {
        iface: p.get("iface").map(str::to_string),
        dp_path: p.get("dp-path").map(PathBuf::from),
        no_connect: p.flag("no-connect"),
        pod_name: p.get("pod-name").map(str::to_string),
        frames: p.number("frames")?,
    };
    let checks = diagnose(&opts);
    if p.flag("json") {
        outln!("{}", to_json(&checks));
    } else {
        for c in &checks {
            outln!("{c}");
        }
    }
    if checks.iter().any(|c| c.status == Status::Fail) {
        Err(Failure::Silent(1))
    } else {
        Ok(())
    }
}
