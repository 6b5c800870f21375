//! A config the daemon cannot honour stops it before it touches anything:
//! exit status 1 and one line naming the file and the field. Needs no
//! privilege: nothing is started.

mod common;

use std::process::Command;

use afxdp_testkit::TempDir;
use common::BIN;

/// Runs the daemon on `config`; returns its exit code and stderr.
fn run_with(tmp: &TempDir, name: &str, config: &str) -> (Option<i32>, String) {
    let path = tmp.path().join(name);
    std::fs::write(&path, config).unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        // Paths no kubelet uses, should it get that far.
        .arg("--plugin-dir")
        .arg(tmp.path().join("no-kubelet"))
        .arg("--dp-dir")
        .arg(tmp.path().join("dp"))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn malformed_configs_exit_naming_the_field() {
    let tmp = TempDir::new("dp-config");
    let cases = [
        (
            "cdq.json",
            r#"{"pools":[{"name":"pool1","mode":"cdq","drivers":[{"name":"ice"}]}]}"#,
            "pools[0].mode: \"cdq\" is not supported",
        ),
        (
            "timeout.json",
            r#"{"pools":[{"name":"pool1","mode":"primary","devices":[{"name":"ens1"}],"udsTimeout":5}]}"#,
            "pools[0].udsTimeout: 5: must be -1 (off), 0 (the default, 30 s) or 30 to 300 seconds",
        ),
        (
            "unknown.json",
            r#"{"pools":[{"name":"pool1","mode":"primary","devices":[{"name":"ens1","queues":4}]}]}"#,
            "pools[0].devices[0].queues: unknown field",
        ),
        (
            "uid.json",
            r#"{"pools":[{"name":"pool1","mode":"primary","devices":[{"name":"ens1"}],"uid":"1500"}]}"#,
            "pools[0].uid: must be a number",
        ),
        (
            "syntax.json",
            r#"{"pools":[{"name":"pool1","mode":"primary",}]}"#,
            "not valid JSON",
        ),
        (
            "name.json",
            r#"{"pools":[{"name":"pool_1","mode":"primary","devices":[{"name":"ens1"}]}]}"#,
            "pools[0].name: \"pool_1\": must be 1 to 20 letters and digits",
        ),
    ];
    for (file, config, expected) in cases {
        let (code, stderr) = run_with(&tmp, file, config);
        assert_eq!(code, Some(1), "{file}: {stderr}");
        assert!(
            stderr.contains(expected) && stderr.contains(file),
            "{file}: expected {expected:?} in:\n{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{file}: one line:\n{stderr}");
    }
    assert!(!tmp.path().join("dp").exists(), "nothing was made");
}

#[test]
fn check_config_accepts_the_reference_example() {
    let tmp = TempDir::new("dp-config-ok");
    let path = tmp.path().join("config.json");
    std::fs::write(
        &path,
        r#"{"logLevel":"debug","logFile":"afxdp-dp.log",
            "pools":[{"name":"myPool","mode":"primary","drivers":[{"name":"i40e"},{"name":"ice"}]}]}"#,
    )
    .unwrap();
    let out = Command::new(BIN)
        .args([
            "-config".as_ref(),
            path.as_os_str(),
            "--check-config".as_ref(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("afxdp/myPool: "));
}

#[test]
fn usage_errors_exit_2() {
    let out = Command::new(BIN).arg("--frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown argument \"--frobnicate\""));
}

#[test]
fn the_deploy_example_config_is_accepted() {
    // deploy/device-plugin/configmap.yaml's config.json: the lines indented
    // under `config.json: |`.
    let yaml = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../deploy/device-plugin/configmap.yaml"),
    )
    .unwrap();
    let json: String = yaml
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("config.json: |"))
        .skip(1)
        .take_while(|l| l.starts_with("    ") || l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    let c = afxdp_device_plugin::config::parse(&json).unwrap_or_else(|e| panic!("{e}\n{json}"));
    let names: Vec<String> = c.pools.iter().map(|p| p.resource_name()).collect();
    assert_eq!(names, ["afxdp/pool1", "afxdp/pinned"]);
}
