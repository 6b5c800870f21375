//! `sockctl prog dump|attach|status|detach`.

use std::path::PathBuf;

use af_xdp::attach::{self, mode_name};
use af_xdp::{
    prepare_netdev, AttachKind, Error, ErrorKind, Netdev, PrepareOptions, RedirectVariant, XdpMode,
    XdpProgram,
};
use afxdp_core::ebpf::{disassemble, RedirectProgram};

use crate::args::{flag, opt, parse, Usage};
use crate::json::Object;
use crate::Failure;

const HELP: &str = "\
usage: sockctl prog <dump|attach|status|detach> [options]

  dump [--variant fallback|lookup]
      Print the embedded redirect program, one instruction a line (bpftool-like),
      each followed by its bytes. The map fd (slot 1) is patched in at load time
      and shown as 0.
  attach --iface IF [--mode auto|native|skb] [--replace] [--variant fallback|lookup]
         [--pin PATH] [--json]
      Create the XSKMAP (one entry per queue of IF), load the program for it and
      attach it. Without --replace, fails if a program is already attached.
      The variant is probed from the kernel unless given. With --pin, the XSKMAP
      is also pinned at PATH (on a bpffs) for use_pinned_map=1 clients.
      Prints the prog id, map id and the mode the kernel chose.
  status --iface IF [--json]
      What is attached to IF (prog id, mode, maps), or \"none\".
  detach --iface IF [--json]
      Detach whatever XDP program IF has.

examples:
  sockctl prog dump --variant lookup
  sockctl prog attach --iface eth0 --mode native --json
  sockctl prog attach --iface eth0 --mode skb --replace --pin /sys/fs/bpf/eth0_xsks
  sockctl prog status --iface eth0
  sockctl prog detach --iface eth0
";

pub fn main(args: &[String]) -> Result<(), Failure> {
    let Some((sub, rest)) = args.split_first() else {
        out!("{HELP}");
        return Err(Usage("prog needs a subcommand: dump, attach, status or detach".into()).into());
    };
    match sub.as_str() {
        "-h" | "--help" => {
            out!("{HELP}");
            Ok(())
        }
        "dump" => dump(rest),
        "attach" => attach_cmd(rest),
        "status" => status(rest),
        "detach" => detach(rest),
        other => Err(Usage(format!("unknown prog subcommand {other:?}")).into()),
    }
}

fn variant_arg(v: Option<&str>) -> Result<Option<RedirectVariant>, Usage> {
    v.map(|name| {
        RedirectVariant::from_name(name)
            .ok_or_else(|| Usage(format!("unknown variant {name:?} (fallback or lookup)")))
    })
    .transpose()
}

fn dump(args: &[String]) -> Result<(), Failure> {
    let p = parse(args, &[opt("variant")])?;
    if p.help {
        out!("{HELP}");
        return Ok(());
    }
    let variant = variant_arg(p.get("variant"))?.unwrap_or(RedirectVariant::Fallback);
    let program = RedirectProgram::new(variant, 0);
    outln!(
        "; afxdp_redirect, {variant} variant: {} slots, XDP, license \"Dual MIT/GPL\", kernel {}.{}+",
        program.insns().len(),
        variant.min_kernel().0,
        variant.min_kernel().1
    );
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = disassemble(program.insns(), &mut text);
    out!("{text}");
    Ok(())
}

fn attach_cmd(args: &[String]) -> Result<(), Failure> {
    let p = parse(
        args,
        &[
            opt("iface"),
            opt("mode"),
            flag("replace"),
            opt("variant"),
            opt("pin"),
            flag("json"),
        ],
    )?;
    if p.help {
        out!("{HELP}");
        return Ok(());
    }
    let iface = p.required("iface")?;
    let mode: XdpMode = p.get("mode").unwrap_or("auto").parse().map_err(Usage)?;
    let variant = variant_arg(p.get("variant"))?;

    let prepared = prepare_netdev(
        iface,
        &PrepareOptions {
            mode,
            attach: AttachKind::Netlink {
                replace: p.flag("replace"),
            },
            variant,
            pin: p.get("pin").map(PathBuf::from),
            ..Default::default()
        },
    )
    .map_err(attach_hints)?;
    let (dev, map, queues, actual) = (
        prepared.netdev().clone(),
        prepared.map().id(),
        prepared.queues(),
        prepared.mode(),
    );
    let map_entries = prepared.map().max_entries();
    let prog = prepared.attachment().program();
    let (prog_id, prog_name, variant) = (prog.id(), prog.name(), prog.variant());
    prepared.persist()?;
    let variant = variant.map_or("custom", RedirectVariant::name);
    if p.flag("json") {
        outln!(
            "{}",
            Object::new()
                .str("iface", dev.name())
                .int("ifindex", u64::from(dev.ifindex()))
                .int("prog_id", u64::from(prog_id))
                .str("prog_name", &prog_name)
                .str("variant", variant)
                .int("map_id", u64::from(map))
                .int("map_entries", u64::from(map_entries))
                .str("queues_from", queues.source)
                .str("mode", mode_name(actual))
                .finish()
        );
    } else {
        outln!(
            "attached {prog_name} ({variant}) to {dev}: prog id {prog_id}, XSKMAP id {map} ({map_entries} entries, from {}), {} mode",
            queues.source,
            mode_name(actual)
        );
    }
    Ok(())
}

fn status(args: &[String]) -> Result<(), Failure> {
    let p = parse(args, &[opt("iface"), flag("json")])?;
    if p.help {
        out!("{HELP}");
        return Ok(());
    }
    let dev = Netdev::by_name(p.required("iface")?)?;
    let st = attach::query(&dev)?;
    // Name and maps of the program, when we may open it (root).
    let details = st
        .prog_id
        .and_then(|id| XdpProgram::from_id(id).ok())
        .map(|prog| (prog.name(), prog.map_ids().unwrap_or_default()));
    if p.flag("json") {
        let mut o = Object::new()
            .str("iface", dev.name())
            .bool("attached", st.is_attached())
            .str("mode", mode_name(st.mode))
            .opt_int("prog_id", st.prog_id.map(u64::from));
        if let Some((name, maps)) = &details {
            let maps: Vec<u64> = maps.iter().map(|&m| u64::from(m)).collect();
            o = o.str("prog_name", name).ints("map_ids", &maps);
        }
        outln!("{}", o.finish());
    } else if let Some(id) = st.prog_id {
        match &details {
            Some((name, maps)) => {
                let maps: Vec<String> = maps.iter().map(u32::to_string).collect();
                outln!(
                    "{dev}: prog id {id} ({name}), {} mode, maps [{}]",
                    mode_name(st.mode),
                    maps.join(", ")
                );
            }
            None => outln!("{dev}: prog id {id}, {} mode", mode_name(st.mode)),
        }
    } else {
        outln!("{dev}: none");
    }
    Ok(())
}

fn detach(args: &[String]) -> Result<(), Failure> {
    let p = parse(args, &[opt("iface"), flag("json")])?;
    if p.help {
        out!("{HELP}");
        return Ok(());
    }
    let dev = Netdev::by_name(p.required("iface")?)?;
    let was = attach::detach(&dev)?;
    if p.flag("json") {
        outln!(
            "{}",
            Object::new()
                .str("iface", dev.name())
                .bool("detached", was.is_some())
                .opt_int("prog_id", was.and_then(|s| s.prog_id).map(u64::from))
                .str("mode", was.map_or("none", |s| mode_name(s.mode)))
                .finish()
        );
    } else {
        match was {
            Some(s) => outln!(
                "detached prog id {} from {dev} ({} mode)",
                s.prog_id.map_or_else(|| "?".into(), |i| i.to_string()),
                mode_name(s.mode)
            ),
            None => outln!("{dev}: nothing attached"),
        }
    }
    Ok(())
}

/// The CLI's own hints for a failed attach (the library's speak of the
/// system, these of this command's flags).
fn attach_hints(e: Error) -> Error {
    let iface = e.subject().unwrap_or("IF").to_string();
    match (e.kind(), e.op()) {
        (ErrorKind::Busy, "attach XDP program")
            if e.errno().is_some() && !e.detail().is_some_and(|d| d.contains("link")) =>
        {
            e.with_hint(format!(
            "a program is already attached to {iface}: pass --replace to replace it, or run `sockctl prog detach --iface {iface}` first"
            ))
        }
        (ErrorKind::Unsupported, _) => e.with_hint(format!(
            "the driver of {iface} may lack native XDP: use --mode skb (or auto)"
        )),
        _ => e,
    }
}
