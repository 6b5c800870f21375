//! `sockctl cni`, and the binary run as `afxdp`: the AF_XDP CNI plugin
//! (`af_xdp::cni`), which takes its input from `CNI_*` and stdin.

use std::process::ExitCode;

use crate::args::Usage;
use crate::Failure;

pub const HELP: &str = "\
sockctl cni: the AF_XDP CNI plugin (type \"afxdp\")

usage: CNI_COMMAND=ADD|DEL|CHECK|VERSION|STATUS|GC CNI_CONTAINERID=ID \\
       CNI_NETNS=PATH CNI_IFNAME=NAME CNI_PATH=DIRS  sockctl cni  <CONFIG.json
   or: install this binary as afxdp in a CNI plugin directory (/opt/cni/bin):
       run under that name it is the plugin, with the same behaviour.

A container runtime runs it: the CNI_* variables say what to do, the network
configuration comes on stdin, the result or the error (JSON) goes to stdout,
and an error exits 1. CNI spec versions 0.3.0 to 1.1.0.

  ADD      find deviceID in the host's network namespace, get addresses from
           the ipam plugin (on CNI_PATH), run ethtoolCmds (-device- and -ip-
           substituted), move the device into CNI_NETNS (renamed to
           CNI_IFNAME with \"renameDevice\": true), set it up, add addresses
           and routes, print the result with its MAC address (prevResult's
           with this interface appended, in a chain); what the device is
           known by is kept in /var/lib/cni/afxdp/NETWORK/ID/IFNAME for DEL
  DEL      move it back under its own name and set it up again (as the device
           plugin's pool had it); release the addresses; succeeds when the
           namespace or the device is already gone; a device the kernel
           gave back to the host from a namespace that went is renamed back
           (found by kind and hardware address, waited for up to 2 s)
  CHECK    the device is in CNI_NETNS, up, with prevResult's MAC and addresses
  VERSION  the supported versions; STATUS and GC ask the ipam plugin (GC
           also drops records of attachments not in its valid list)

configuration (a NetworkAttachmentDefinition's config, as in DPDK's guide):
  {\"cniVersion\": \"0.3.0\", \"name\": \"afxdp-network\", \"type\": \"afxdp\",
   \"mode\": \"primary\", \"deviceID\": \"ens785f0\",
   \"logFile\": \"afxdp-cni.log\", \"logLevel\": \"debug\",
   \"ethtoolCmds\": [\"-N -device- flow-type udp4 dst-port 2152 action 22\"],
   \"ipam\": {\"type\": \"host-local\", \"subnet\": \"192.168.1.0/24\",
            \"routes\": [{\"dst\": \"0.0.0.0/0\"}], \"gateway\": \"192.168.1.1\"}}
  deviceID is set by Multus from the device plugin's allocation; logFile is
  a file name, NAME.log or NAME.txt, in /var/log/afxdp-k8s-plugins/ (or the
  absolute path of one there; with anything else the plugin warns on stderr
  and does not log); each of ethtoolCmds is one of -N (-U, --config-nfc,
  --config-ntuple), -X, -L or -K (and their long names) followed by
  -device-. DEL resets the RSS table (-X default) and turns ntuple off; it
  does not restore the channel count (-L) or other -K features.

examples:
  echo '{\"cniVersion\":\"1.0.0\"}' | CNI_COMMAND=VERSION sockctl cni
  CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/run/netns/pod1 CNI_IFNAME=eth0 \\
      CNI_PATH=/usr/lib/cni sockctl cni <afxdp.json
";

/// Whether this process was started as the plugin (`argv[0]`'s file name
/// is `afxdp`).
pub fn invoked_as_plugin() -> bool {
    std::env::args_os()
        .next()
        .as_deref()
        .map(std::path::Path::new)
        .and_then(std::path::Path::file_name)
        .is_some_and(|n| n == af_xdp::cni::PLUGIN_TYPE)
}

/// The binary run as `afxdp`: `--help` prints the help; anything else is
/// the plugin.
pub fn plugin_main() -> ExitCode {
    if std::env::args().skip(1).any(|a| a == "--help" || a == "-h") {
        out!("{HELP}");
        return ExitCode::SUCCESS;
    }
    ExitCode::from(af_xdp::cni::main_from_process())
}

/// `sockctl cni [--help]`.
pub fn main(args: &[String]) -> Result<(), Failure> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        out!("{HELP}");
        return Ok(());
    }
    if let Some(a) = args.first() {
        return Err(Usage(format!(
            "cni: unexpected argument {a:?}: the plugin takes its input from CNI_* and stdin"
        ))
        .into());
    }
    match af_xdp::cni::main_from_process() {
        0 => Ok(()),
        code => Err(Failure::Silent(code)),
    }
}
