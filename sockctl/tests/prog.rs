//! The embedded redirect program and `sockctl prog`, against the kernel, in
//! a fresh network namespace with a veth pair: attach native, status, a
//! refused second attach, replace, detach, skb mode, a missing interface,
//! and the verifier log of a bad program. `ip link` must agree at each step.

use std::process::Output;

use af_xdp::attach::{self, mode_name};
use af_xdp::{Attachment, Netdev, RedirectVariant, XdpMode, XdpProgram, XskMap};
use afxdp_core::abi::bpf::BpfInsn;
use afxdp_core::ebpf::{exit, mov64_imm, Reg};
use afxdp_core::Errno;
use afxdp_testkit::{privileged, NetNs, Veth};

const SOCKCTL: &str = env!("CARGO_BIN_EXE_sockctl");

fn sockctl(ns: &NetNs, args: &[&str]) -> Output {
    ns.command(SOCKCTL)
        .args(args)
        .output()
        .expect("run sockctl")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The JSON object on the last line of stdout (what `--json` prints).
fn json(o: &Output) -> serde_json::Value {
    let out = stdout(o);
    let line = out.lines().last().unwrap_or("");
    let v: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"));
    assert!(v.is_object(), "not a JSON object: {line}");
    v
}

/// `ip -d link show <dev>` in the namespace.
fn ip_link(ns: &NetNs, dev: &str) -> String {
    ns.ip(&["-d", "link", "show", dev])
}

#[test]
fn prog_dump_prints_the_six_slots_of_the_spec() {
    let out = std::process::Command::new(SOCKCTL)
        .args(["prog", "dump"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    // The spec's table, slot by slot (slot 1's imm is the map fd, 0 here;
    // slot 2 is the upper half of the 64-bit load).
    for bytes in [
        "61 12 10 00 00 00 00 00",
        "18 11 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
        "b7 03 00 00 02 00 00 00",
        "85 00 00 00 33 00 00 00",
        "95 00 00 00 00 00 00 00",
    ] {
        assert!(text.contains(bytes), "missing {bytes} in:\n{text}");
    }
    assert!(text.contains("r2 = *(u32 *)(r1 +16)"));
    assert!(text.contains("call bpf_redirect_map#51"));
    assert!(text.contains("6 slots"));
    let lookup = std::process::Command::new(SOCKCTL)
        .args(["prog", "dump", "--variant", "lookup"])
        .output()
        .unwrap();
    assert!(stdout(&lookup).contains("call bpf_map_lookup_elem#1"));
}

#[test]
fn cli_attach_status_replace_detach_and_ip_link_agrees() {
    if !privileged("cli_attach_status_replace_detach_and_ip_link_agrees") {
        return;
    }
    let ns = NetNs::new("prog");
    let veth = Veth::new(&ns, 2);

    // Attach native, JSON out.
    let out = sockctl(
        &ns,
        &[
            "prog", "attach", "--iface", &veth.a, "--mode", "native", "--json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    let prog_id = v["prog_id"].as_u64().expect("prog_id is a number");
    assert!(prog_id > 0, "{v}");
    assert_eq!(v["mode"].as_str(), Some("native"), "{v}");
    assert_eq!(
        v["map_entries"].as_u64(),
        Some(2),
        "one entry per queue: {v}"
    );
    assert_eq!(v["variant"].as_str(), Some("fallback"), "{v}");
    assert_eq!(v["iface"].as_str(), Some(veth.a.as_str()), "{v}");
    assert_eq!(v["prog_name"].as_str(), Some("afxdp_redirect"), "{v}");
    assert!(v["map_id"].as_u64().is_some_and(|id| id > 0), "{v}");
    assert!(v["ifindex"].as_u64().is_some_and(|i| i > 0), "{v}");
    let link = ip_link(&ns, &veth.a);
    assert!(link.contains(&format!("prog/xdp id {prog_id} ")), "{link}");
    assert!(
        link.contains(" xdp ") || link.contains("xdp qdisc"),
        "native mode: {link}"
    );

    // Status agrees.
    let out = sockctl(&ns, &["prog", "status", "--iface", &veth.a, "--json"]);
    let st = json(&out);
    assert_eq!(st["attached"].as_bool(), Some(true), "{st}");
    assert_eq!(st["prog_id"].as_u64(), Some(prog_id), "{st}");
    assert_eq!(st["mode"].as_str(), Some("native"), "{st}");
    assert_eq!(st["prog_name"].as_str(), Some("afxdp_redirect"), "{st}");
    assert_eq!(
        st["map_ids"].as_array().map(Vec::len),
        Some(1),
        "the program uses its XSKMAP: {st}"
    );
    assert_eq!(st["map_ids"][0], v["map_id"], "{st}");
    let out = sockctl(&ns, &["prog", "status", "--iface", &veth.a]);
    assert!(stdout(&out).contains(&format!("prog id {prog_id} (afxdp_redirect), native mode")));

    // A second attach without --replace: a clear message, not a bare errno.
    let out = sockctl(
        &ns,
        &["prog", "attach", "--iface", &veth.a, "--mode", "native"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "sockctl: attach XDP program: {}: EBUSY (Device or resource busy)",
            veth.a
        )),
        "{err}"
    );
    assert!(err.contains("already attached"), "{err}");
    assert!(err.contains("hint: ") && err.contains("--replace"), "{err}");
    assert!(
        ip_link(&ns, &veth.a).contains(&format!("prog/xdp id {prog_id} ")),
        "the first program stays"
    );

    // --replace works: a new program, same mode.
    let out = sockctl(
        &ns,
        &[
            "prog",
            "attach",
            "--iface",
            &veth.a,
            "--mode",
            "native",
            "--replace",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let new_id = json(&out)["prog_id"].as_u64().expect("prog_id is a number");
    assert_ne!(new_id, prog_id);
    assert!(ip_link(&ns, &veth.a).contains(&format!("prog/xdp id {new_id} ")));

    // Detach leaves nothing attached.
    let out = sockctl(&ns, &["prog", "detach", "--iface", &veth.a]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("detached prog id {new_id} from {}", veth.a)));
    let link = ip_link(&ns, &veth.a);
    assert!(!link.contains("prog/xdp"), "{link}");
    assert_eq!(
        stdout(&sockctl(&ns, &["prog", "status", "--iface", &veth.a])).trim(),
        format!("{}: none", veth.a)
    );
    // Detaching again is not an error.
    let out = sockctl(&ns, &["prog", "detach", "--iface", &veth.a]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("nothing attached"));
    let st = json(&sockctl(
        &ns,
        &["prog", "status", "--iface", &veth.a, "--json"],
    ));
    assert_eq!(st["attached"].as_bool(), Some(false), "{st}");
    assert_eq!(st["mode"].as_str(), Some("none"), "{st}");
    assert!(st["prog_id"].is_null(), "{st}");
    let d = json(&sockctl(
        &ns,
        &["prog", "detach", "--iface", &veth.a, "--json"],
    ));
    assert_eq!(d["detached"].as_bool(), Some(false), "{d}");
    assert!(d["prog_id"].is_null(), "{d}");

    // skb mode works, and ip link calls it generic.
    let out = sockctl(
        &ns,
        &[
            "prog", "attach", "--iface", &veth.a, "--mode", "skb", "--json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out)["mode"].as_str(), Some("skb"));
    assert!(ip_link(&ns, &veth.a).contains("xdpgeneric"));
    // Replacing in auto mode keeps the mode of what is there.
    let out = sockctl(
        &ns,
        &["prog", "attach", "--iface", &veth.a, "--replace", "--json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out)["mode"].as_str(), Some("skb"));
    // Replacing an skb program with a native one crosses modes.
    let out = sockctl(
        &ns,
        &[
            "prog",
            "attach",
            "--iface",
            &veth.a,
            "--mode",
            "native",
            "--replace",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let link = ip_link(&ns, &veth.a);
    assert!(
        !link.contains("xdpgeneric") && link.contains("prog/xdp"),
        "{link}"
    );
    assert!(sockctl(&ns, &["prog", "detach", "--iface", &veth.a])
        .status
        .success());
    assert!(!ip_link(&ns, &veth.a).contains("prog/xdp"));
}

#[test]
fn cli_errors_name_the_interface_and_usage_errors_exit_2() {
    if !privileged("cli_errors_name_the_interface_and_usage_errors_exit_2") {
        return;
    }
    let ns = NetNs::new("progerr");
    let out = sockctl(&ns, &["prog", "attach", "--iface", "nosuch0"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("sockctl: look up interface: nosuch0: ENODEV (No such device)\n"),
        "{err}"
    );
    assert!(
        err.contains("hint: there is no interface named nosuch0"),
        "{err}"
    );

    for bad in [
        &["prog", "attach"][..],
        &["prog", "attach", "--iface", "lo", "--mode", "turbo"],
        &["prog", "attach", "--iface", "lo", "--bogus"],
        &["prog", "frobnicate"],
        &["prog", "dump", "--variant", "nope"],
    ] {
        let out = sockctl(&ns, bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.starts_with("sockctl: ") && err.contains("hint: see `sockctl prog"),
            "{bad:?}: {err}"
        );
    }
    // --help teaches, with an example, and succeeds.
    let out = sockctl(&ns, &["prog", "attach", "--help"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("examples:"));
}

#[test]
fn an_invalid_program_returns_the_verifier_log() {
    if !privileged("an_invalid_program_returns_the_verifier_log") {
        return;
    }
    // `exit` with r0 never written: the verifier refuses it.
    let insns: Vec<BpfInsn> = vec![exit()];
    let err = XdpProgram::load(&insns, "bad", "bad program").unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EACCES));
    assert!(
        err.to_string()
            .starts_with("BPF_PROG_LOAD: bad program: EACCES"),
        "{err}"
    );
    let log = err.detail().expect("the verifier log");
    assert!(log.contains("R0 !read_ok"), "{log}");
    // A valid one loads, and its name is kept.
    let ok = XdpProgram::load(&[mov64_imm(Reg::R0, 2), exit()], "pass_all", "pass").unwrap();
    assert_eq!(ok.name(), "pass_all");
}

#[test]
fn both_variants_load_and_attachments_detach_only_their_own_program() {
    if !privileged("both_variants_load_and_attachments_detach_only_their_own_program") {
        return;
    }
    let ns = NetNs::new("attach");
    let veth = Veth::new(&ns, 1);
    ns.run(|| {
        let dev = Netdev::by_name(&veth.a).unwrap();
        let map = XskMap::create(dev.queue_count().count, "xsks_map").unwrap();

        // The probe picks the fallback variant on this kernel; the lookup
        // variant loads too, and both redirect nothing on an empty map.
        assert_eq!(
            af_xdp::program::probe_variant().unwrap(),
            RedirectVariant::Fallback
        );
        for v in [RedirectVariant::Fallback, RedirectVariant::Lookup] {
            let prog = XdpProgram::load_redirect(&map, Some(v)).unwrap();
            assert_eq!(prog.variant(), Some(v));
            assert_eq!(prog.map_ids().unwrap(), vec![map.id()]);
            assert_eq!(
                prog.test_run(&[0u8; 64]).unwrap(),
                2,
                "{v}: XDP_PASS with no socket"
            );
        }

        // Dropping an attachment detaches it.
        let prog = XdpProgram::load_redirect(&map, None).unwrap();
        let id = prog.id();
        let att = Attachment::netlink(dev.clone(), prog, XdpMode::Native, false).unwrap();
        assert_eq!(mode_name(att.mode()), "native");
        assert_eq!(attach::query(&dev).unwrap().prog_id, Some(id));
        drop(att);
        assert!(!attach::query(&dev).unwrap().is_attached());

        // An attachment whose program was replaced by someone else leaves
        // the newcomer alone when dropped.
        let att = Attachment::netlink(
            dev.clone(),
            XdpProgram::load_redirect(&map, None).unwrap(),
            XdpMode::Skb,
            false,
        )
        .unwrap();
        let other = XdpProgram::load_redirect(&map, None).unwrap();
        attach::attach(&dev, &other, XdpMode::Skb, true).unwrap();
        drop(att);
        assert_eq!(attach::query(&dev).unwrap().prog_id, Some(other.id()));
        attach::detach(&dev).unwrap();

        // A BPF link attachment holds the program while it lives, and a
        // netlink attach cannot take over from it.
        let att = Attachment::link(
            dev.clone(),
            XdpProgram::load_redirect(&map, None).unwrap(),
            XdpMode::Native,
        )
        .unwrap();
        let held = att.program().id();
        let err = attach::attach(&dev, &other, XdpMode::Native, true).unwrap_err();
        assert!(err.errno().is_some(), "{err}");
        assert_eq!(attach::query(&dev).unwrap().prog_id, Some(held));
        assert!(att.persist().is_err(), "a link cannot outlive its fd");
    });
    // The link went with the attachment: nothing is left.
    assert!(!ip_link(&ns, &veth.a).contains("prog/xdp"));
}

#[test]
fn output_to_a_closed_pipe_is_not_a_panic() {
    // A reader that has gone away: writes fail with EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(SOCKCTL)
        .args(["prog", "dump"])
        .stdout(writer)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

#[test]
fn arguments_that_are_not_utf8_are_usage_errors() {
    use std::os::unix::ffi::OsStringExt;
    let bad = std::ffi::OsString::from_vec(vec![b'-', b'-', 0xff]);
    let out = std::process::Command::new(SOCKCTL)
        .arg("prog")
        .arg(bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not valid UTF-8"), "{}", stderr(&out));
}
