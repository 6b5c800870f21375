//! `afxdp-device-plugin`: the Kubernetes device plugin for AF_XDP netdevs.
//! Parses flags, reads the config, runs the daemon until SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use afxdp_device_plugin::{config, run, Options};

const USAGE: &str = "\
usage: afxdp-device-plugin [--config FILE] [options]

A Kubernetes device plugin for AF_XDP netdevs: one resource afxdp/<pool> per
pool of config.json (the reference AF_XDP device plugin's format), real
health, and the device-plugin handshake (DPDK use_cni=1) or a pinned XSKMAP
(use_pinned_map=1) for each allocated device.

options:
  --config FILE                 config.json (default ./config.json; -config too)
  --plugin-dir DIR              kubelet's device-plugin directory
                                (default /var/lib/kubelet/device-plugins)
  --pod-resources-socket PATH   kubelet's pod-resources socket
                                (default /var/lib/kubelet/pod-resources/kubelet.sock)
  --dp-dir DIR                  where handshake sockets go: DIR/<dev>/afxdp.sock
                                (default /tmp/afxdp_dp); the daemon also keeps
                                DIR/.pooled-hardware there (0600), what its
                                devices are, across restarts
  --pin-dir DIR                 where pinned XSKMAPs go, on a bpffs:
                                DIR/<dev>/xsks_map (default /sys/fs/bpf/afxdp_dp)
  --state-dir DIR               a bpffs directory that keeps programs attached
                                across a restart or crash of this daemon (default:
                                none, everything is detached on exit, and running
                                pods lose their traffic: use it in a DaemonSet)
  --node-name NAME              this node, for the config's nodes entries
                                (default $NODE_NAME, else the host name)
  --check-config                read and check the config, print the pools, exit
  -h, --help                    this text
  -V, --version                 the version

exit status: 0 stopped by SIGTERM/SIGINT or --check-config passed; 1 a config
or start-up error (the message names the field or path); 2 a usage error.
";

struct Args {
    config: PathBuf,
    plugin_dir: Option<PathBuf>,
    pod_resources_socket: Option<PathBuf>,
    dp_dir: Option<PathBuf>,
    pin_dir: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    node_name: Option<String>,
    check_only: bool,
}

enum Parsed {
    Run(Args),
    Exit(ExitCode),
}

fn parse_args() -> Result<Parsed, String> {
    let mut a = Args {
        config: PathBuf::from("./config.json"),
        plugin_dir: None,
        pod_resources_socket: None,
        dp_dir: None,
        pin_dir: None,
        state_dir: None,
        node_name: None,
        check_only: false,
    };
    let mut it = std::env::args_os().skip(1);
    while let Some(arg) = it.next() {
        let arg = arg
            .into_string()
            .map_err(|a| format!("argument {a:?} is not UTF-8"))?;
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => it
                    .next()
                    .and_then(|v| v.into_string().ok())
                    .ok_or_else(|| format!("{name} needs a value")),
            }
        };
        match flag.as_str() {
            "--config" | "-config" => a.config = value("--config")?.into(),
            "--plugin-dir" => a.plugin_dir = Some(value("--plugin-dir")?.into()),
            "--pod-resources-socket" => {
                a.pod_resources_socket = Some(value("--pod-resources-socket")?.into())
            }
            "--dp-dir" => a.dp_dir = Some(value("--dp-dir")?.into()),
            "--pin-dir" => a.pin_dir = Some(value("--pin-dir")?.into()),
            "--state-dir" => a.state_dir = Some(value("--state-dir")?.into()),
            "--node-name" => a.node_name = Some(value("--node-name")?),
            "--check-config" => a.check_only = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(Parsed::Exit(ExitCode::SUCCESS));
            }
            "-V" | "--version" => {
                println!("afxdp-device-plugin {}", env!("CARGO_PKG_VERSION"));
                return Ok(Parsed::Exit(ExitCode::SUCCESS));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Parsed::Run(a))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Parsed::Run(a)) => a,
        Ok(Parsed::Exit(code)) => return code,
        Err(e) => {
            eprintln!("afxdp-device-plugin: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let cfg = match config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("afxdp-device-plugin: error: {e}");
            return ExitCode::from(1);
        }
    };
    if args.check_only {
        for p in &cfg.pools {
            println!(
                "{}: devices {:?}, drivers {:?}, nodes {}, udsTimeout {:?}, pinning {}, uid {}",
                p.resource_name(),
                p.devices,
                p.drivers.iter().map(|d| &d.name).collect::<Vec<_>>(),
                p.nodes.len(),
                p.uds_timeout,
                p.bpf_map_pinning,
                p.uid
            );
        }
        return ExitCode::SUCCESS;
    }
    if let Some(f) = &cfg.log_file {
        eprintln!("afxdp-device-plugin: info: logFile {f:?} is ignored: logs go to stderr");
    }
    let mut opts = Options::new(cfg);
    if let Some(v) = args.plugin_dir {
        opts.plugin_dir = v;
    }
    if let Some(v) = args.pod_resources_socket {
        opts.pod_resources_socket = v;
    }
    if let Some(v) = args.dp_dir {
        opts.dp_dir = v;
    }
    if let Some(v) = args.pin_dir {
        opts.pin_dir = v;
    }
    opts.state_dir = args.state_dir;
    if let Some(v) = args.node_name {
        opts.node_name = v;
    }
    let daemon = match run(opts) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("afxdp-device-plugin: error: {e}");
            return ExitCode::from(1);
        }
    };
    let waited = daemon.wait_for_signal();
    daemon.shutdown();
    match waited {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("afxdp-device-plugin: error: signal handling: {e}");
            ExitCode::from(1)
        }
    }
}
