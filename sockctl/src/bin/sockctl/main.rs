//! `sockctl`: one static binary for both sides of unprivileged AF_XDP.
//!
//! Errors are one line on stderr, `sockctl: <what failed>: <iface or path>:
//! <ERRNO_NAME> (<text>)`, plus a `hint:` line where one helps; exit status
//! 1 for operational errors, 2 for usage errors.

/// Writes to stdout; a closed stdout (a pipe whose reader left) is not
/// worth a panic, so write errors are ignored.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($t)*);
    }};
}
/// `out!` with a newline.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}
/// Writes a line to stderr, ignoring write errors.
macro_rules! errln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($t)*);
    }};
}

mod args;
mod cni;
mod demo;
mod doctor;
mod getmap;
mod json;
mod prog;
mod rx;
mod serve;

use std::process::ExitCode;

use args::Usage;

const HELP: &str = "\
sockctl: unprivileged AF_XDP without libbpf

usage: sockctl <command> [options]       (sockctl <command> --help for more)

device-plugin side (privileged):
  prog dump      print the embedded XDP redirect program, with its bytes
  prog attach    create the XSKMAP, load the program, attach it to an interface
  prog status    what XDP program an interface has
  prog detach    detach the XDP program of an interface
  serve          prepare interfaces and serve the device-plugin handshake (use_cni=1)

application side (unprivileged where a device-plugin side exists):
  get-map        get an interface's XSKMAP by handshake or pinned path, and check it
  doctor         check every prerequisite of the unprivileged story, one line each

  demo           the whole story on this machine: namespace, device-plugin side,
                 unprivileged client, traffic, summary, cleanup (as root)
  rx             open AF_XDP sockets like DPDK's net_af_xdp (--vdev) and forward

Kubernetes:
  cni            the AF_XDP CNI plugin (also run as `afxdp`): moves the device into
                 the pod's network namespace, IPAM, ethtool commands

examples:
  sockctl prog dump
  sockctl prog attach --iface eth0 --mode native --json
  sockctl prog status --iface eth0
  sockctl serve --iface eth0 --allow-any-pod --socket-owner 65534
  sockctl rx --vdev iface=eth0,use_cni=1 --count 100000 --json
  sockctl rx --vdev iface=eth0 --fwd rxdrop --count 100000 --json
";

/// What a command returns: an operational error (exit 1) or a usage error
/// (exit 2).
pub enum Failure {
    /// Something failed while doing the work.
    Op(af_xdp::Error),
    /// The command line was wrong.
    Usage(Usage),
    /// The command said what it had to say: exit with this status.
    Silent(u8),
}

impl From<af_xdp::Error> for Failure {
    fn from(e: af_xdp::Error) -> Self {
        Failure::Op(e)
    }
}

impl From<Usage> for Failure {
    fn from(e: Usage) -> Self {
        Failure::Usage(e)
    }
}

fn main() -> ExitCode {
    if cni::invoked_as_plugin() {
        return cni::plugin_main();
    }
    let args: Vec<String> = match std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect()
    {
        Ok(a) => a,
        Err(bad) => {
            errln!("sockctl: argument {bad:?} is not valid UTF-8");
            return ExitCode::from(2);
        }
    };
    let (cmd, rest) = match args.split_first() {
        None => {
            {
                use std::io::Write as _;
                let _ = write!(std::io::stderr().lock(), "{HELP}");
            }
            return ExitCode::from(2);
        }
        Some((c, rest)) => (c.as_str(), rest),
    };
    let result = match cmd {
        "-h" | "--help" | "help" => {
            out!("{HELP}");
            Ok(())
        }
        "-V" | "--version" => {
            outln!("sockctl {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        "prog" => prog::main(rest),
        "rx" => rx::main(rest),
        "serve" => serve::main(rest),
        "get-map" => getmap::main(rest),
        "doctor" => doctor::main(rest),
        "demo" => demo::main(rest),
        "cni" => cni::main(rest),
        other => Err(Failure::Usage(Usage(format!("unknown command {other:?}")))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(Usage(msg))) => {
            errln!("sockctl: {msg}");
            errln!("hint: see `{} --help`", help_topic(&args));
            ExitCode::from(2)
        }
        Err(Failure::Silent(code)) => ExitCode::from(code),
        Err(Failure::Op(e)) => {
            report(&cli_hints(cmd, e));
            ExitCode::from(1)
        }
    }
}

/// The commands and subcommands that have a `--help`.
const TOPICS: &[&[&str]] = &[
    &["prog", "dump"],
    &["prog", "attach"],
    &["prog", "status"],
    &["prog", "detach"],
    &["prog"],
    &["rx"],
    &["serve"],
    &["get-map"],
    &["doctor"],
    &["demo"],
    &["cni"],
];

/// `sockctl` followed by the known command words of `args`, for pointing at
/// the right `--help` (a misspelt command points at the top-level one).
fn help_topic(args: &[String]) -> String {
    let words: Vec<&str> = args
        .iter()
        .take_while(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    let known = TOPICS
        .iter()
        .find(|t| words.len() >= t.len() && words[..t.len()] == t[..])
        .map_or(String::new(), |t| format!(" {}", t.join(" ")));
    format!("sockctl{known}")
}

/// Adds this tool's own hints (which name its flags and `--vdev`
/// arguments) where the library's hint speaks only of the system.
fn cli_hints(cmd: &str, e: af_xdp::Error) -> af_xdp::Error {
    use af_xdp::ErrorKind;
    let op = e.op().to_string();
    match (e.kind(), op.as_str()) {
        (ErrorKind::PermissionDenied, "BPF_MAP_CREATE" | "BPF_PROG_LOAD" | "BPF_LINK_CREATE")
            if cmd == "rx" =>
        {
            e.with_hint(
                "loading the program needs CAP_BPF and CAP_NET_ADMIN (or root); without them, get the XSKMAP from a device-plugin side: --vdev ...,use_cni=1 (the handshake) or ...,use_pinned_map=1 (a pinned map)",
            )
        }
        (ErrorKind::PermissionDenied, "BPF_MAP_CREATE" | "BPF_PROG_LOAD" | "BPF_LINK_CREATE") => e
            .with_hint(
                "the device-plugin side needs CAP_BPF and CAP_NET_ADMIN (and CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER with --socket-owner/--pin-owner; CAP_SYS_ADMIN to mount a bpffs for --pin-dir), or root",
            ),
        (ErrorKind::Unsupported, "bind AF_XDP socket") => {
            e.with_hint("the driver has no zero-copy AF_XDP: add force_copy=1 to --vdev")
        }
        _ => e,
    }
}

/// Prints an operational error the way the CLI contract says.
pub fn report(e: &af_xdp::Error) {
    errln!("sockctl: {e}");
    if let Some(detail) = e.detail() {
        // The first line is already on the error line; the rest (a verifier
        // log) follows as is.
        for line in detail.lines().skip(1) {
            errln!("  {line}");
        }
    }
    if let Some(h) = e.hint() {
        errln!("hint: {h}");
    }
}
