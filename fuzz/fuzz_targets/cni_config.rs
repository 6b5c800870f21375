//! The CNI plugin's input on arbitrary bytes: the JSON reader, the network
//! configuration (`NetConf`) and the result (`CniResult`, as an IPAM
//! plugin prints it or as `prevResult`), and `VERSION` (the one command
//! that touches nothing: no namespace, no link, no log file).
//!
//! Properties, beyond "no panic":
//! - a parse error points inside the input;
//! - what parses nests at most `MAX_DEPTH` deep and reads back the same
//!   from its compact and its indented form, and with whitespace around it;
//!   `get` finds a key's last value;
//! - `NetConf::parse` depends on the JSON value only, not its spelling;
//!   what it accepts passes or fails `version`, `device` and `validate`
//!   consistently with what they promise, with the error codes they name;
//! - a result reads back from its own JSON in every supported version;
//! - every error prints as JSON that reads back with its code, message
//!   and details, whatever strings (or version) it holds;
//! - `VERSION` always answers the same document, whatever is on stdin;
//!   without `CNI_COMMAND` the answer is an `INVALID_ENV` error, as JSON.
//!
//! `ADD`, `DEL`, `CHECK`, `STATUS` and `GC` are not run: they change the
//! system or run other programs.
#![no_main]

use af_xdp::cni::ethtool::substitute;
use af_xdp::cni::json::{Json, MAX_DEPTH};
use af_xdp::cni::{
    codes, run, CniEnv, CniError, CniResult, NetConf, Version, LATEST_VERSION, SUPPORTED_VERSIONS,
};
use afxdp_core::abi::ethtool::is_valid_ifname;
use libfuzzer_sys::fuzz_target;

/// How deep `v` nests: 0 for a scalar, 1 for `[]`.
fn depth(v: &Json) -> usize {
    match v {
        Json::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Json::Object(members) => 1 + members.iter().map(|(_, v)| depth(v)).max().unwrap_or(0),
        _ => 0,
    }
}

/// `e` printed as the spec's error object reads back with its fields.
fn check_error_json(e: &CniError, version: &str) {
    let doc = e.to_json(version);
    let v = Json::parse(doc.as_bytes())
        .unwrap_or_else(|err| panic!("error JSON does not parse ({err}): {doc}"));
    assert_eq!(v.get("cniVersion").and_then(Json::as_str), Some(version));
    assert_eq!(
        v.get("code").and_then(Json::as_u64),
        Some(u64::from(e.code))
    );
    assert_eq!(v.get("msg").and_then(Json::as_str), Some(e.msg.as_str()));
    assert_eq!(
        v.get("details").and_then(Json::as_str).unwrap_or(""),
        e.details
    );
    let _ = e.to_string();
}

/// The JSON reader's own properties on `data`; the value, if any.
fn check_json(data: &[u8]) -> Option<Json> {
    let v = match Json::parse(data) {
        Ok(v) => v,
        Err(e) => {
            assert!(e.offset <= data.len(), "{e} past the end ({})", data.len());
            assert!(!e.what.is_empty());
            let _ = e.to_string();
            return None;
        }
    };
    assert!(depth(&v) <= MAX_DEPTH, "nests {} deep", depth(&v));
    let compact = v.to_compact();
    assert_eq!(
        Json::parse(compact.as_bytes()).as_ref(),
        Ok(&v),
        "{compact}"
    );
    let pretty = v.to_pretty();
    assert_eq!(Json::parse(pretty.as_bytes()).as_ref(), Ok(&v), "{pretty}");
    let padded = [&b" \n\t\r"[..], data, b"\r\n "].concat();
    assert_eq!(Json::parse(&padded).as_ref(), Ok(&v));
    let _ = (v.kind(), v.as_str(), v.as_array(), v.as_u64());
    if let Json::Object(members) = &v {
        for (k, _) in members.iter().take(32) {
            let last = members.iter().rev().find(|(k2, _)| k2 == k).map(|(_, x)| x);
            assert_eq!(v.get(k), last);
        }
    }
    Some(v)
}

/// A result that parsed: its JSON reads back the same, in every version.
fn check_result(r: &CniResult) {
    assert_eq!(CniResult::from_value(&r.to_value()).as_ref(), Ok(r));
    for v in SUPPORTED_VERSIONS {
        let v: Version = v.parse().expect("a supported version parses");
        let shaped = r.for_version(v);
        assert_eq!(shaped.cni_version, v.to_string());
        let doc = r.to_json(v);
        assert_eq!(
            CniResult::parse(doc.as_bytes()).as_ref(),
            Ok(&shaped),
            "{doc}"
        );
    }
    let _ = r.first_ip().map(|ip| r.gateway_for(&ip));
}

fn check_conf(conf: &NetConf) {
    match conf.version() {
        Ok(v) => assert!(SUPPORTED_VERSIONS.contains(&v.to_string().as_str())),
        Err(e) => {
            assert_eq!(e.code, codes::INCOMPATIBLE_VERSION);
            check_error_json(&e, LATEST_VERSION);
        }
    }
    // The error is written in the configuration's own version string,
    // whatever it holds.
    check_error_json(
        &CniError::new(codes::INVALID_CONFIG, "m", "d"),
        &conf.cni_version,
    );
    let device = match conf.device() {
        Ok(d) => {
            assert_eq!(d, conf.device_id);
            assert!(is_valid_ifname(d.as_bytes()), "{d:?}");
            Some(d)
        }
        Err(e) => {
            assert_eq!(e.code, codes::INVALID_CONFIG);
            assert!(!is_valid_ifname(conf.device_id.as_bytes()));
            check_error_json(&e, LATEST_VERSION);
            None
        }
    };
    match conf.validate() {
        Ok(()) => {
            assert!(matches!(conf.mode.as_str(), "" | "primary"));
            assert!(matches!(
                conf.log_level.as_str(),
                "" | "error" | "warning" | "info" | "debug"
            ));
            assert!(conf.ethtool_cmds.iter().all(|c| !c.trim().is_empty()));
            if let Some(i) = &conf.ipam {
                assert!(!i.plugin.is_empty() && !i.plugin.contains('/'));
                assert!(!i.plugin.starts_with('.'));
            }
        }
        Err(e) => {
            assert_eq!(e.code, codes::INVALID_CONFIG);
            check_error_json(&e, LATEST_VERSION);
        }
    }
    if let Some(t) = conf.ipam_type() {
        assert!(!t.is_empty());
    }
    for cmd in conf.ethtool_cmds.iter().take(16) {
        let words = cmd.split_whitespace().count();
        let dev = device.unwrap_or("eth0");
        match substitute(cmd, dev, None) {
            Ok(args) => {
                assert!(!cmd.contains("-ip-"));
                assert_eq!(args.len(), words);
            }
            Err(e) => {
                assert!(cmd.contains("-ip-"));
                assert_eq!(e.code, codes::INVALID_CONFIG);
                check_error_json(&e, LATEST_VERSION);
            }
        }
        let args = substitute(cmd, dev, Some("192.0.2.1")).expect("with an address");
        assert_eq!(args.len(), words);
    }
    if let Some(prev) = &conf.prev_result {
        assert_ne!(prev, &Json::Null);
        match CniResult::from_value(prev) {
            Ok(r) => check_result(&r),
            Err(e) => {
                assert_eq!(e.code, codes::DECODE_FAILURE);
                check_error_json(&e, LATEST_VERSION);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let value = check_json(data);

    // The network configuration.
    match NetConf::parse(data) {
        Ok(conf) => {
            let v = value.as_ref().expect("a configuration is JSON");
            assert!(matches!(v, Json::Object(_)));
            // The same value, spelt compactly, reads the same.
            assert_eq!(
                NetConf::parse(v.to_compact().as_bytes()).as_ref(),
                Ok(&conf)
            );
            check_conf(&conf);
        }
        Err(e) => {
            assert_eq!(e.code, codes::DECODE_FAILURE);
            if let Some(v) = &value {
                // Not the JSON's fault: the same error from any spelling.
                assert_eq!(NetConf::parse(v.to_pretty().as_bytes()), Err(e.clone()));
            }
            check_error_json(&e, LATEST_VERSION);
        }
    }

    // The same bytes as an IPAM plugin's result.
    match CniResult::parse(data) {
        Ok(r) => check_result(&r),
        Err(e) => {
            assert_eq!(e.code, codes::DECODE_FAILURE);
            check_error_json(&e, LATEST_VERSION);
        }
    }

    // VERSION: reads nothing, answers the same document.
    let env = CniEnv {
        command: Some("VERSION".into()),
        ..CniEnv::default()
    };
    let out = run(&env, data);
    assert_eq!((out.exit_code, &out.error), (0, &None));
    let answer = Json::parse(out.stdout.as_bytes()).expect("VERSION answers JSON");
    assert_eq!(
        answer.get("cniVersion").and_then(Json::as_str),
        Some(LATEST_VERSION)
    );
    let listed: Vec<&str> = answer
        .get("supportedVersions")
        .and_then(Json::as_array)
        .expect("supportedVersions")
        .iter()
        .map(|v| v.as_str().expect("a version string"))
        .collect();
    assert_eq!(listed, SUPPORTED_VERSIONS);

    // No CNI_COMMAND: an error before stdin is even looked at.
    let out = run(&CniEnv::default(), data);
    assert_eq!(out.exit_code, 1);
    let e = out.error.expect("an error");
    assert_eq!(e.code, codes::INVALID_ENV);
    let doc = Json::parse(out.stdout.as_bytes()).expect("the error is JSON");
    assert_eq!(
        doc.get("code").and_then(Json::as_u64),
        Some(u64::from(codes::INVALID_ENV))
    );
});
