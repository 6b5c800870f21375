//! A test's child processes: stopped and reaped however the test ends, their
//! output read as it comes, their `/proc` status.

use std::io::{BufRead, BufReader, Read};
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::process::{Child, Command, Output};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// How long a server gets to make its socket, and a guarded child to exit
/// after its stop signal before it is killed.
const PATIENCE: Duration = Duration::from_secs(10);

/// A child process that is stopped and reaped when the guard drops (also
/// when the test panics), unless it was already reaped. It derefs to the
/// [`Child`], so `wait`, `try_wait`, `id` and its pipes are at hand.
#[derive(Debug)]
pub struct ChildGuard {
    /// `None` only once [`ChildGuard::wait_with_output`] has taken it.
    child: Option<Child>,
    /// What the drop sends first.
    stop: libc::c_int,
}

impl ChildGuard {
    /// Guards `child`: `SIGKILL` on drop.
    pub fn new(child: Child) -> ChildGuard {
        ChildGuard {
            child: Some(child),
            stop: libc::SIGKILL,
        }
    }

    /// Makes the drop send `signal` instead (`SIGTERM`: a server detaches
    /// and removes what it made) and wait for the exit, killing the child
    /// if it has not exited within 10 s.
    pub fn stop_with(mut self, signal: libc::c_int) -> ChildGuard {
        self.stop = signal;
        self
    }

    /// Sends `signal` now, unless the child has been reaped (its pid may be
    /// another process's by then). Panics if `kill(2)` fails.
    pub fn signal(&mut self, signal: libc::c_int) {
        // Only a child known to be unreaped: once reaped (here or
        // elsewhere, `ECHILD`) its pid may be another process's.
        if !matches!(self.try_wait(), Ok(None)) {
            return;
        }
        let pid = libc::pid_t::try_from(self.id()).expect("a pid fits pid_t");
        // SAFETY: kill(2) touches no memory of ours; `pid` is our own child,
        // not reaped (a zombie at worst), so no other process has it.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(
            rc,
            0,
            "kill({pid}, {signal}): {}",
            std::io::Error::last_os_error()
        );
    }

    /// [`Child::wait_with_output`]: waits for the exit, reading what is left
    /// of its piped stdout and stderr.
    pub fn wait_with_output(mut self) -> std::io::Result<Output> {
        self.child
            .take()
            .expect("the child is there until this takes it")
            .wait_with_output()
    }
}

impl Deref for ChildGuard {
    type Target = Child;

    fn deref(&self) -> &Child {
        self.child
            .as_ref()
            .expect("the child is there until wait_with_output takes it")
    }
}

impl DerefMut for ChildGuard {
    fn deref_mut(&mut self) -> &mut Child {
        self.child
            .as_mut()
            .expect("the child is there until wait_with_output takes it")
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let stop = self.stop;
        let Some(child) = self.child.as_mut() else {
            return;
        };
        if stop != libc::SIGKILL && matches!(child.try_wait(), Ok(None)) {
            if let Ok(pid) = libc::pid_t::try_from(child.id()) {
                // SAFETY: as in `signal`: our own child, not reaped.
                unsafe { libc::kill(pid, stop) };
                let deadline = Instant::now() + PATIENCE;
                while Instant::now() < deadline {
                    if !matches!(child.try_wait(), Ok(None)) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        // Both do nothing to a child already reaped (std remembers it).
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Spawns `cmd`, a server, and waits until it has made `socket`: the server,
/// ready for clients, guarded (`SIGKILL` on drop; see
/// [`ChildGuard::stop_with`]). Panics if the socket is not there within
/// 10 s.
pub fn start_server(cmd: &mut Command, socket: &Path) -> ChildGuard {
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.get_program()));
    let server = ChildGuard::new(child);
    let deadline = Instant::now() + PATIENCE;
    while !socket.exists() {
        assert!(
            Instant::now() < deadline,
            "{:?} did not make {} within {PATIENCE:?}",
            cmd.get_program(),
            socket.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

/// Reads `r` (a child's piped stdout or stderr) line by line on a thread of
/// its own; the channel closes at the end of the stream.
pub fn lines(r: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

/// A finished command's stdout followed by its stderr, as text.
pub fn output_text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The value of field `name` in `/proc/<pid>/status` (`CapEff`, `Uid`),
/// trimmed; empty if there is no such field.
pub fn status_field(pid: &str, name: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_default()
        .trim()
        .to_string()
}
