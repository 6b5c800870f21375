//! The command line's usage errors and help, which need no privilege: every
//! command's `--help` teaches and exits 0, and a usage error exits 2 and
//! points at the `--help` that exists.

use std::process::Command;

fn sockctl(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sockctl"))
        .args(args)
        .output()
        .expect("run sockctl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_command_has_help_with_an_example() {
    for args in [
        &["--help"][..],
        &["prog", "--help"],
        &["prog", "dump", "--help"],
        &["prog", "attach", "--help"],
        &["prog", "status", "--help"],
        &["prog", "detach", "--help"],
        &["rx", "--help"],
    ] {
        let (code, out, err) = sockctl(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(
            out.contains("usage:") || out.contains("sockctl <command>"),
            "{args:?}: {out}"
        );
        assert!(out.contains("example"), "{args:?} shows an example: {out}");
    }
}

#[test]
fn an_unknown_command_points_at_the_top_level_help() {
    let (code, _, err) = sockctl(&["bogus"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown command \"bogus\""), "{err}");
    assert!(err.contains("hint: see `sockctl --help`"), "{err}");
    assert!(!err.contains("sockctl bogus --help"), "{err}");
}

#[test]
fn usage_errors_point_at_the_commands_own_help() {
    let (code, _, err) = sockctl(&["prog", "bogus"]);
    assert_eq!(code, 2);
    assert!(err.contains("hint: see `sockctl prog --help`"), "{err}");

    let (code, _, err) = sockctl(&["prog", "attach", "--bogus"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown option --bogus"), "{err}");
    assert!(
        err.contains("hint: see `sockctl prog attach --help`"),
        "{err}"
    );

    let (code, _, err) = sockctl(&["rx", "--vdev", "iface=x,use_cni=1,use_pinned_map=1"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot be used together"), "{err}");
    assert!(err.contains("hint: see `sockctl rx --help`"), "{err}");
}
