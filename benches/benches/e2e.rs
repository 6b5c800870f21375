//! End to end on a veth (native XDP, copy mode): `sockctl rx` (rxdrop and
//! macswap, each `--wait` policy, with and without busy polling) against a
//! minimal libxdp reader (`c/xdp_reader.c`), the same traffic from the same
//! AF_PACKET + sendmmsg generator (`c/gen.c`), in alternating runs.
//!
//! Privileged (root): a network namespace with a veth pair `xa`/`xb`, a
//! private bpffs, our redirect program and XSKMAP on `xa` prepared by
//! `af_xdp::prepare_netdev` with the map pinned there. Each run starts one
//! receiver on queue 0 of `xa` (the only socket in the map), waits until it
//! is in the map, sends N 60-byte frames from `xb`, and stops the receiver
//! once it has them all (or 200 ms after the generator ended). Reported per
//! receiver: received / sent, the generator's achieved rate, and the
//! receiver's CPU time per million received frames (user + system, from
//! `wait4` of the child), with ratios to the libxdp reader.
//!
//! Run (as root; sockctl is the release binary, built separately):
//!   cargo build --release -p af-xdp --bin sockctl
//!   cargo bench -p afxdp-benches --bench e2e
//! Environment:
//!   E2E_FRAMES     frames per run (default 3000000)
//!   E2E_ROUNDS     rounds, each running every receiver once (default 5)
//!   E2E_RECEIVERS  comma list of receivers (default all: libxdp, spin,
//!                  adaptive, block, spin+bp, adaptive+bp, block+bp)
//!   E2E_MODES      comma list: rxdrop, macswap (default both)
//!   E2E_PIN        1 (default): generator on CPU 0, receiver on CPU 1
//!   E2E_RATE       frames per second the generator paces itself to
//!                  (default: as fast as it can)
//!   E2E_MAX_OTHER_PERCENT  a run during which the rest of the system used
//!                  more than this share of a CPU (default 15) is dropped
//!                  and run again (up to 5 attempts); every run first waits
//!                  for a quiet machine (under 10% busy)
//!   E2E_PERF       a directory: each run also records CPU 0 (the
//!                  generator's, which runs the kernel's receive path) with
//!                  `perf record -e cpu-clock -g` into RECEIVER-MODE-N.data
//!                  there (slows the generator; for finding where CPU 0's
//!                  time goes, not for the table's numbers)
//!   SOCKCTL        path of the sockctl binary (default target/release/sockctl)

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use af_xdp::{prepare_netdev, PrepareOptions, PreparedNetdev, XdpMode};
use afxdp_benches::ring::pin_thread;
use afxdp_benches::{json_field, load_average, Samples};
use afxdp_testkit::{privileged, with_bpffs, NetNs, Veth};

const GEN: &str = env!("AFXDP_BENCH_GEN");
const READER: &str = env!("AFXDP_BENCH_XDP_READER");

/// A receiver under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Receiver {
    /// `c/xdp_reader.c`.
    Libxdp,
    /// `sockctl rx --wait <wait>`, with busy polling (`busy_budget=64`,
    /// which needs sockctl to attach the program itself) or not
    /// (`use_pinned_map=1`).
    Sockctl { wait: &'static str, busy_poll: bool },
}

impl Receiver {
    fn name(self) -> String {
        match self {
            Receiver::Libxdp => "libxdp".into(),
            Receiver::Sockctl { wait, busy_poll } => {
                format!("sockctl {wait}{}", if busy_poll { "+bp64" } else { "" })
            }
        }
    }

    fn key(self) -> String {
        match self {
            Receiver::Libxdp => "libxdp".into(),
            Receiver::Sockctl { wait, busy_poll } => {
                format!("{wait}{}", if busy_poll { "+bp" } else { "" })
            }
        }
    }
}

const ALL: [Receiver; 7] = [
    Receiver::Libxdp,
    Receiver::Sockctl {
        wait: "spin",
        busy_poll: false,
    },
    Receiver::Sockctl {
        wait: "adaptive",
        busy_poll: false,
    },
    Receiver::Sockctl {
        wait: "block",
        busy_poll: false,
    },
    Receiver::Sockctl {
        wait: "spin",
        busy_poll: true,
    },
    Receiver::Sockctl {
        wait: "adaptive",
        busy_poll: true,
    },
    Receiver::Sockctl {
        wait: "block",
        busy_poll: true,
    },
];

/// One run's outcome.
#[derive(Clone, Debug, Default)]
struct Run {
    sent: f64,
    received: f64,
    gen_pps: f64,
    cpu_s: f64,
    fill_ring_empty: f64,
    rx_ring_full: f64,
    /// CPU seconds the rest of the system used during the run (busy time
    /// from /proc/stat minus the receiver's and the generator's): other
    /// processes, and softirq work no process was charged for.
    other_cpu_s: f64,
    wall_s: f64,
}

impl Run {
    fn cpu_ms_per_mpkt(&self) -> f64 {
        if self.received > 0.0 {
            self.cpu_s * 1e3 / (self.received / 1e6)
        } else {
            f64::NAN
        }
    }
}

/// What every run shares.
struct Bench<'a> {
    ns: &'a NetNs,
    pin: PathBuf,
    sockctl: Option<PathBuf>,
    frames: u64,
    /// Paced generator (frames per second), or as fast as it can.
    rate: Option<f64>,
    pin_cpus: bool,
    /// Our program and pinned map on `xa`; taken down while sockctl attaches
    /// its own (the busy-poll runs).
    prepared: Option<PreparedNetdev>,
    /// `E2E_PERF`: where each run's profile of CPU 0 goes.
    perf: Option<PathBuf>,
    /// Runs so far (numbers the profiles).
    runs: u64,
}

fn pin_to(cmd: &mut Command, cpu: usize, on: bool) {
    if !on {
        return;
    }
    // SAFETY: the closure runs between fork and exec; it allocates nothing
    // and makes one system call (sched_setaffinity), which is
    // async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            pin_thread(cpu);
            Ok(())
        });
    }
}

/// `wait4` on `pid`: its exit status and resource usage, once it exited.
fn wait4(pid: i32, block: bool) -> Option<(i32, libc::rusage)> {
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let flags = if block { 0 } else { libc::WNOHANG };
    // SAFETY: valid pointers to locals.
    let r = unsafe { libc::wait4(pid, &mut status, flags, &mut ru) };
    (r == pid).then_some((status, ru))
}

/// Busy and total CPU time of the whole system so far, in seconds
/// (`/proc/stat`, first line).
fn cpu_times() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
    let total: f64 = v.iter().take(8).sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ((total - idle) / hz, total / hz)
}

/// Waits (up to two minutes) until the machine is quiet: under 10% of its
/// CPUs busy over 300 ms. Returns how long it waited.
fn wait_quiet() -> Duration {
    let start = Instant::now();
    loop {
        let (b0, t0) = cpu_times();
        std::thread::sleep(Duration::from_millis(300));
        let (b1, t1) = cpu_times();
        let busy = if t1 > t0 { (b1 - b0) / (t1 - t0) } else { 0.0 };
        if busy < 0.10 || start.elapsed() > Duration::from_secs(120) {
            return start.elapsed();
        }
    }
}

fn secs(tv: libc::timeval) -> f64 {
    tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6
}

impl Bench<'_> {
    fn prepare(&mut self) {
        if self.prepared.is_none() {
            let p = prepare_netdev(
                "xa",
                &PrepareOptions {
                    mode: XdpMode::Native,
                    pin: Some(self.pin.clone()),
                    ..Default::default()
                },
            )
            .expect("prepare xa (native XDP, pinned XSKMAP)");
            self.prepared = Some(p);
        }
    }

    fn receiver_command(&self, rx: Receiver, mode: &str) -> Command {
        let n = self.frames.to_string();
        let mut cmd = match rx {
            Receiver::Libxdp => {
                let mut c = self.ns.command(READER);
                c.args(["xa", "0"]).arg(&self.pin).args([mode, &n, "2"]);
                c
            }
            Receiver::Sockctl { wait, busy_poll } => {
                let vdev = if busy_poll {
                    "iface=xa,busy_budget=64".to_string()
                } else {
                    format!("iface=xa,use_pinned_map=1,dp_path={}", self.pin.display())
                };
                let mut c = self.ns.command(self.sockctl.as_ref().expect("sockctl"));
                c.args(["rx", "--vdev", &vdev, "--fwd", mode, "--count", &n])
                    .args(["--wait", wait, "--json", "--mode", "native"]);
                c
            }
        };
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        pin_to(&mut cmd, 1, self.pin_cpus);
        cmd
    }

    /// One run: receiver up, N frames sent, receiver stopped and measured.
    fn run(&mut self, rx: Receiver, mode: &str) -> Result<Run, String> {
        match rx {
            Receiver::Sockctl {
                busy_poll: true, ..
            } => self.prepared = None,
            _ => self.prepare(),
        }
        let (busy0, _) = cpu_times();
        let t0 = Instant::now();
        let mut child = self
            .receiver_command(rx, mode)
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", rx.name()))?;
        let pid = child.id() as i32;
        let (ready_tx, ready_rx) = mpsc::channel();
        let stderr = child.stderr.take().expect("piped stderr");
        let log = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line == "ready" || line.starts_with("sockctl rx: xa") {
                    let _ = ready_tx.send(());
                }
                lines.push(line);
            }
            lines
        });
        let ready = ready_rx.recv_timeout(Duration::from_secs(10)).is_ok();
        if !ready {
            kill_and_reap(&mut child, pid);
            let lines = log.join().unwrap_or_default();
            return Err(format!(
                "{} never got ready: {}",
                rx.name(),
                lines.join(" | ")
            ));
        }

        let mut gen = self.ns.command(GEN);
        gen.args([
            "xb",
            &self.frames.to_string(),
            "02:00:00:00:00:0a",
            "02:00:00:00:00:0b",
        ]);
        if let Some(r) = self.rate {
            gen.arg(format!("{r:.0}"));
        }
        gen.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        pin_to(&mut gen, 0, self.pin_cpus);
        let perf = self.perf.as_deref().and_then(|dir| {
            self.runs += 1;
            start_perf(&dir.join(format!("{}-{mode}-{}.data", rx.key(), self.runs)))
        });
        let mut g = gen.spawn().map_err(|e| format!("generator: {e}"))?;
        let (gstatus, gru) = wait4(g.id() as i32, true).ok_or("generator vanished")?;
        drop(perf);
        let mut gen_json = String::new();
        if let Some(mut o) = g.stdout.take() {
            let _ = o.read_to_string(&mut gen_json);
        }
        if !libc::WIFEXITED(gstatus) || libc::WEXITSTATUS(gstatus) != 0 {
            let mut err = String::new();
            if let Some(mut e) = g.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            kill_and_reap(&mut child, pid);
            return Err(format!("generator failed: {err}"));
        }
        let gen_cpu = secs(gru.ru_utime) + secs(gru.ru_stime);

        // The receiver stops by itself once it has every frame; otherwise
        // (lost frames) it is stopped 200 ms after the generator ended.
        let deadline = Instant::now() + Duration::from_millis(200);
        let mut done = None;
        while Instant::now() < deadline {
            if let Some(d) = wait4(pid, false) {
                done = Some(d);
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let (status, ru) = match done {
            Some(d) => d,
            None => {
                // SAFETY: plain kill of our child.
                unsafe { libc::kill(pid, libc::SIGINT) };
                wait4(pid, true).ok_or_else(|| format!("{} vanished", rx.name()))?
            }
        };
        let mut stdout = String::new();
        if let Some(mut s) = child.stdout.take() {
            let _ = s.read_to_string(&mut stdout);
        }
        let lines = log.join().unwrap_or_default();
        let json = stdout.lines().last().unwrap_or("").to_string();
        if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 || json.is_empty() {
            return Err(format!(
                "{} ended with status {status:#x}: {} {}",
                rx.name(),
                stdout.trim(),
                lines.join(" | ")
            ));
        }
        let f = |j: &str, k: &str| json_field(j, k).unwrap_or(f64::NAN);
        let (busy1, _) = cpu_times();
        let cpu_s = secs(ru.ru_utime) + secs(ru.ru_stime);
        Ok(Run {
            other_cpu_s: (busy1 - busy0 - cpu_s - gen_cpu).max(0.0),
            wall_s: t0.elapsed().as_secs_f64(),
            sent: f(&gen_json, "sent"),
            received: f(&json, "rx_packets"),
            gen_pps: f(&gen_json, "pps"),
            cpu_s,
            fill_ring_empty: f(&json, "fill_ring_empty"),
            rx_ring_full: f(&json, "rx_ring_full"),
        })
    }
}

/// A running `perf record`, stopped (SIGINT: it writes its file and exits)
/// and reaped on drop, also when the run ends early.
struct Perf(Child);

impl Drop for Perf {
    fn drop(&mut self) {
        // SAFETY: plain kill of our child, not yet reaped (reaped below).
        unsafe { libc::kill(self.0.id() as i32, libc::SIGINT) };
        let _ = self.0.wait();
    }
}

/// `perf record` of CPU 0 (the generator's: it also runs the receiving
/// veth's NAPI, the XDP program and the copy into the UMEM) into `out`,
/// sampling the CPU clock with call graphs; `None` (with a warning) when
/// perf cannot start.
fn start_perf(out: &Path) -> Option<Perf> {
    if let Some(dir) = out.parent() {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("!!! E2E_PERF: cannot create {}: {e}", dir.display());
            return None;
        }
    }
    let child = Command::new("perf")
        .args([
            "record",
            "-q",
            "-C",
            "0",
            "-e",
            "cpu-clock",
            "-F",
            "9999",
            "-g",
            "-o",
        ])
        .arg(out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match child {
        Ok(c) => {
            // perf needs a moment before it samples.
            std::thread::sleep(Duration::from_millis(300));
            Some(Perf(c))
        }
        Err(e) => {
            eprintln!("!!! E2E_PERF: cannot run perf ({e}); this run is not profiled");
            None
        }
    }
}

fn kill_and_reap(child: &mut Child, pid: i32) {
    let _ = child.kill();
    let _ = wait4(pid, true);
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn sockctl_path() -> PathBuf {
    std::env::var_os("SOCKCTL").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/sockctl"),
        PathBuf::from,
    )
}

fn main() {
    if !privileged("e2e benchmark") {
        return;
    }
    if GEN.is_empty() {
        eprintln!(
            "!!! SKIPPED e2e benchmark: the build script could not build c/gen.c (see its warning)"
        );
        return;
    }
    let frames = env_u64("E2E_FRAMES", 3_000_000);
    let rounds = env_u64("E2E_ROUNDS", 5).max(1);
    let pin_cpus = env_u64("E2E_PIN", 1) == 1;
    let rate = std::env::var("E2E_RATE")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|r| *r > 0.0);
    let perf = std::env::var_os("E2E_PERF").map(PathBuf::from);
    let sockctl = sockctl_path();
    let sockctl = if sockctl.exists() {
        Some(sockctl.canonicalize().unwrap_or(sockctl))
    } else {
        eprintln!(
            "!!! SKIPPED receiver sockctl: no binary at {} (cargo build --release -p af-xdp --bin sockctl, or set SOCKCTL)",
            sockctl.display()
        );
        None
    };
    let wanted: Option<Vec<String>> = std::env::var("E2E_RECEIVERS")
        .ok()
        .map(|v| v.split(',').map(str::to_string).collect());
    let receivers: Vec<Receiver> = ALL
        .into_iter()
        .filter(|r| wanted.as_ref().is_none_or(|w| w.contains(&r.key())))
        .filter(|r| match r {
            Receiver::Libxdp if READER.is_empty() => {
                eprintln!("!!! SKIPPED receiver libxdp: the build script could not build c/xdp_reader.c (libxdp-dev, libbpf-dev; see its warning)");
                false
            }
            Receiver::Sockctl { .. } => sockctl.is_some(),
            _ => true,
        })
        .collect();
    let modes: Vec<String> = std::env::var("E2E_MODES")
        .map(|v| v.split(',').map(str::to_string).collect())
        .unwrap_or_else(|_| vec!["rxdrop".into(), "macswap".into()]);

    let ns = NetNs::new("e2e");
    let _veth = Veth::new(&ns, 1);
    let ns_ref = &ns;
    let receivers = &receivers;
    let modes = &modes;
    with_bpffs(move |dir| {
        ns_ref.run(move || {
            let mut bench = Bench {
                ns: ns_ref,
                pin: dir.join("xsks_map"),
                sockctl: sockctl.clone(),
                frames,
                rate,
                pin_cpus,
                prepared: None,
                perf: perf.clone(),
                runs: 0,
            };
            bench.prepare();
            run_all(&mut bench, receivers, modes, rounds);
        })
    });
}

/// Attempts per receiver and round before a disturbed run is given up.
const ATTEMPTS: usize = 5;

fn run_all(bench: &mut Bench<'_>, receivers: &[Receiver], modes: &[String], rounds: u64) {
    let max_other = env_u64("E2E_MAX_OTHER_PERCENT", 15) as f64 / 100.0;
    let mode_attached = bench
        .prepared
        .as_ref()
        .map(|p| format!("{:?}", p.mode()))
        .unwrap_or_default();
    println!(
        "end to end: veth xa<-xb in a namespace, XDP {mode_attached} on xa, copy mode, queue 0; {} frames of 60 bytes per run",
        bench.frames
    );
    println!(
        "generator: AF_PACKET sendmmsg x64 on xb{}{}; {rounds} rounds, receivers alternating; load average at start {:.2}",
        match bench.rate {
            Some(r) => format!(", paced at {:.3} Mpps", r / 1e6),
            None => ", as fast as it can".to_string(),
        },
        if bench.pin_cpus { " (CPU 0), receiver on CPU 1" } else { "" },
        load_average()
    );
    for mode in modes {
        let mut runs: Vec<Vec<Run>> = vec![Vec::new(); receivers.len()];
        let mut dropped = vec![0usize; receivers.len()];
        for round in 0..rounds as usize {
            for k in 0..receivers.len() {
                let i = (round + k) % receivers.len();
                let rx = receivers[i];
                for attempt in 1..=ATTEMPTS {
                    let waited = wait_quiet();
                    let r = match bench.run(rx, mode) {
                        Ok(r) => r,
                        Err(e) => {
                            eprintln!("{mode} round {} {}: FAILED: {e}", round + 1, rx.name());
                            break;
                        }
                    };
                    let other = r.other_cpu_s / r.wall_s;
                    let dirty = other > max_other;
                    eprintln!(
                        "{mode} round {} {:<21} rx {:>8.0}/{:<8.0} gen {:.3} Mpps  cpu {:.3} s ({:.0} ms/Mpkt)  fill_empty {:.0} ring_full {:.0}  others {:.0}% of a CPU{}{}",
                        round + 1,
                        rx.name(),
                        r.received,
                        r.sent,
                        r.gen_pps / 1e6,
                        r.cpu_s,
                        r.cpu_ms_per_mpkt(),
                        r.fill_ring_empty,
                        r.rx_ring_full,
                        other * 100.0,
                        if waited > Duration::from_secs(1) {
                            format!(" (waited {:.0} s for quiet)", waited.as_secs_f64())
                        } else {
                            String::new()
                        },
                        match (dirty, attempt < ATTEMPTS) {
                            (false, _) => "",
                            (true, true) => ": disturbed, again",
                            (true, false) => ": disturbed, dropped",
                        }
                    );
                    if !dirty {
                        runs[i].push(r);
                        break;
                    }
                    dropped[i] += 1;
                    std::thread::sleep(Duration::from_millis(200));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        report(mode, receivers, &runs, &dropped);
    }
    println!();
    println!("load average at end {:.2}", load_average());
}

fn report(mode: &str, receivers: &[Receiver], runs: &[Vec<Run>], dropped: &[usize]) {
    let col = |i: usize, f: &dyn Fn(&Run) -> f64| {
        let mut s = Samples::new();
        for r in &runs[i] {
            s.push(f(r));
        }
        s
    };
    let base = receivers.iter().position(|r| *r == Receiver::Libxdp);
    println!();
    println!("{mode}: median [min-max] over undisturbed runs (runs/x: kept/dropped as disturbed); ratios to the libxdp reader's medians; others% = the rest of the system's CPU during the kept runs (median)");
    println!(
        "{:<21} {:>6} {:>24} {:>22} {:>20} {:>9} {:>9} {:>22} {:>7}",
        "receiver",
        "runs/x",
        "received/sent %",
        "generator Mpps",
        "CPU ms per Mpkt",
        "pps ratio",
        "CPU ratio",
        "fill_ring_empty",
        "others%"
    );
    for (i, rx) in receivers.iter().enumerate() {
        if runs[i].is_empty() {
            println!("{:<21} no successful run", rx.name());
            continue;
        }
        let got = col(i, &|r| 100.0 * r.received / r.sent);
        let pps = col(i, &|r| r.gen_pps / 1e6);
        let cpu = col(i, &|r| r.cpu_ms_per_mpkt());
        let empty = col(i, &|r| r.fill_ring_empty);
        let others = col(i, &|r| 100.0 * r.other_cpu_s / r.wall_s);
        let (pr, cr) = match base.filter(|b| !runs[*b].is_empty()) {
            Some(b) => {
                let bp = col(b, &|r| r.gen_pps / 1e6).median();
                let bc = col(b, &|r| r.cpu_ms_per_mpkt()).median();
                (
                    format!("{:.3}", pps.median() / bp),
                    format!("{:.3}", cpu.median() / bc),
                )
            }
            None => ("-".into(), "-".into()),
        };
        println!(
            "{:<21} {:>6} {:>24} {:>22} {:>20} {:>9} {:>9} {:>22} {:>7.1}",
            rx.name(),
            format!("{}/{}", runs[i].len(), dropped[i]),
            got.range(3),
            pps.range(3),
            cpu.range(0),
            pr,
            cr,
            empty.range(0),
            others.median()
        );
    }
}
