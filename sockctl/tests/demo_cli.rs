//! `sockctl demo`, the README's run command: the whole unprivileged story
//! ends with frames sent = frames received and leaves nothing behind, also
//! when interrupted.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use afxdp_testkit::{privileged, serial, ChildGuard};

const SOCKCTL: &str = env!("CARGO_BIN_EXE_sockctl");

fn leftovers() -> (Vec<String>, Vec<String>) {
    let ns = String::from_utf8_lossy(
        &Command::new("ip")
            .args(["netns", "list"])
            .output()
            .unwrap()
            .stdout,
    )
    .lines()
    .filter(|l| l.starts_with("afxdp-demo-"))
    .map(str::to_string)
    .collect();
    let dirs = std::fs::read_dir("/tmp")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("afxdp-demo-"))
        .collect();
    (ns, dirs)
}

#[test]
fn the_demo_receives_every_frame_unprivileged_and_cleans_up() {
    if !privileged("the_demo_receives_every_frame_unprivileged_and_cleans_up") {
        return;
    }
    let _serial = serial();
    let out = Command::new(SOCKCTL)
        .args(["demo", "--packets", "20000"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("frames sent     20000"), "{stdout}");
    assert!(stdout.contains("frames received 20000"), "{stdout}");
    assert!(stdout.contains("frames sent = frames received"), "{stdout}");
    // The client really was uid 65534, and got the map by the handshake.
    assert!(
        stderr.contains("uid 65534 gid 65534, pod afxdp-demo: host_ok, map dxa; fin"),
        "{stderr}"
    );
    assert!(stderr.contains("cleaned up"), "{stderr}");
    assert_eq!(leftovers(), (vec![], vec![]));
}

#[test]
fn an_interrupted_demo_cleans_up() {
    if !privileged("an_interrupted_demo_cleans_up") {
        return;
    }
    let _serial = serial();
    let mut child = ChildGuard::new(
        Command::new(SOCKCTL)
            .args(["demo", "--packets", "50000000"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Interrupt it while frames are flowing.
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    child.signal(libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "an interrupted demo does not claim success: {stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "it stopped promptly"
    );
    assert!(
        stderr.contains("interrupted") || stderr.contains("cleaned up"),
        "{stderr}"
    );
    assert_eq!(leftovers(), (vec![], vec![]), "{stderr}");
}
