//! The hardware ([`Hw`]) of every device the daemon has pooled and seen,
//! kept across restarts in `<dp_dir>/.pooled-hardware`.
//!
//! A device a pod holds when the daemon starts is pooled by name from
//! kubelet's allocations, away: nothing on the node shows its hardware.
//! Should it come back under another name (the pod's, after a lost CNI
//! `DEL`), that name would look like a new device to the selectors. With
//! the hardware an earlier daemon saw, it is recognised as the device it is.
//!
//! One line per device: `<name> pci <address> <port>`, `<name> device
//! <path> <port>` or `<name> mac <xx:..:xx>`.
//! The file's name has 16 bytes, one more than an interface name can: it is
//! never a device's directory. It is written to a temporary file and
//! renamed over, through the directory opened without following links
//! (`dp_dir` is under `/tmp` by default), mode 0600; lines that do not
//! parse are skipped.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use af_xdp::handshake::SafeDir;

use crate::config::parse_mac;
use crate::devices::{Hw, Pick};

/// `O_NOFOLLOW`, for `OpenOptions`.
const NOFOLLOW: i32 = rustix::fs::OFlags::NOFOLLOW.bits() as i32;
/// `O_NONBLOCK`, for `OpenOptions`.
const NONBLOCK: i32 = rustix::fs::OFlags::NONBLOCK.bits() as i32;

/// The file's name in `dp_dir`.
pub const FILE: &str = ".pooled-hardware";

/// The known hardware of devices, by name, and where it is kept.
#[derive(Debug)]
pub struct Known {
    dir: PathBuf,
    map: BTreeMap<String, Hw>,
}

/// The most the file is read of: far more than any node's devices need.
const MAX_LEN: u64 = 1 << 20;

impl Known {
    /// What `<dir>/.pooled-hardware` holds: nothing if it is missing, or
    /// is not a regular file of this user's in a directory of this user's
    /// (made if missing, as the handshake side makes it).
    pub fn load(dir: &Path) -> Known {
        let map = SafeDir::open(dir, 0o711)
            .ok()
            .and_then(|d| {
                // Non-blocking: a FIFO planted there cannot hold the start.
                std::fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(NOFOLLOW | NONBLOCK)
                    .open(d.fd_path(FILE))
                    .ok()
            })
            .filter(|f| {
                f.metadata().is_ok_and(|m| {
                    m.file_type().is_file() && m.uid() == rustix::process::geteuid().as_raw()
                })
            })
            .and_then(|f| {
                let mut text = String::new();
                f.take(MAX_LEN).read_to_string(&mut text).ok()?;
                Some(text)
            })
            .map(|t| parse(&t))
            .unwrap_or_default();
        Known {
            dir: dir.to_path_buf(),
            map,
        }
    }

    /// The hardware last seen under `dev`.
    pub fn get(&self, dev: &str) -> Option<&Hw> {
        self.map.get(dev)
    }

    /// Every device and its hardware.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Hw)> {
        self.map.iter()
    }

    /// Keeps what the pooled devices are, as pooled; and what the file had
    /// of a name whose hardware is not pooled, while that name is not in
    /// the host (`names`: it may be in a pod, kubelet not having said so
    /// yet) and no pooled device of another name has that hardware. Saves
    /// the file when that changed it.
    pub fn keep(
        &mut self,
        pooled: &BTreeMap<String, Pick>,
        names: &[String],
    ) -> Result<(), String> {
        let mut map: BTreeMap<String, Hw> = pooled
            .iter()
            .filter_map(|(d, p)| Some((d.clone(), p.hw.clone()?)))
            .collect();
        for (d, h) in &self.map {
            let aliased = map.iter().any(|(o, oh)| o != d && oh == h);
            if !map.contains_key(d) && !names.contains(d) && !aliased {
                map.insert(d.clone(), h.clone());
            }
        }
        if map == self.map {
            return Ok(());
        }
        self.map = map;
        self.save()
    }

    fn save(&self) -> Result<(), String> {
        let path = self.dir.join(FILE);
        let err = |what: &str, e: &dyn std::fmt::Display| format!("{what} {}: {e}", path.display());
        let dir = SafeDir::open(&self.dir, 0o711).map_err(|e| err("open the directory of", &e))?;
        // Unique among daemons in other PID namespaces too (each may be
        // pid 1): the time as well as the pid.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let tmp = format!("{FILE}.{}.{nanos}", std::process::id());
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(NOFOLLOW)
            .open(dir.fd_path(&tmp))
            .map_err(|e| err("create", &e))?;
        let written = f
            .write_all(format(&self.map).as_bytes())
            .and_then(|()| f.sync_all())
            .and_then(|()| std::fs::rename(dir.fd_path(&tmp), dir.fd_path(FILE)))
            // The rename itself, on disk.
            .and_then(|()| std::fs::File::open(dir.fd_path(".")).and_then(|d| d.sync_all()));
        if let Err(e) = written {
            let _ = std::fs::remove_file(dir.fd_path(&tmp));
            return Err(err("write", &e));
        }
        Ok(())
    }
}

fn format(map: &BTreeMap<String, Hw>) -> String {
    let mut out = String::new();
    for (d, h) in map {
        match h {
            Hw::Pci(p, port) => out.push_str(&format!("{d} pci {p} {port}\n")),
            Hw::Device(p, port) => out.push_str(&format!("{d} device {p} {port}\n")),
            Hw::Mac(m) => out.push_str(&format!(
                "{d} mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}\n",
                m[0], m[1], m[2], m[3], m[4], m[5]
            )),
        }
    }
    out
}

/// The lines of `text` that parse; one without its newline (the file cut
/// short) is not taken.
fn parse(text: &str) -> BTreeMap<String, Hw> {
    text.split_inclusive('\n')
        .filter_map(|l| l.strip_suffix('\n'))
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let hw = match w[..] {
                [_, "pci", p, port] => Hw::Pci(p.to_string(), port.parse().ok()?),
                [_, "device", p, port] => Hw::Device(p.to_string(), port.parse().ok()?),
                [_, "mac", m] => Hw::Mac(parse_mac(m)?),
                _ => return None,
            };
            crate::config::valid_ifname(w[0]).then(|| (w[0].to_string(), hw))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_kept_is_loaded_again_and_bad_lines_are_skipped() {
        let dir = std::env::temp_dir().join(format!("known-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut k = Known::load(&dir);
        assert!(k.get("ens1f0").is_none());
        let a = Hw::Pci("0000:18:00.0".into(), 1);
        let b = Hw::Mac([2, 0, 0, 0, 0, 0x0a]);
        let pooled = BTreeMap::from([
            ("ens1f0".to_string(), Pick::allocated(Some(a.clone()))),
            ("xa".to_string(), Pick::allocated(Some(b.clone()))),
        ]);
        k.keep(&pooled, &[]).unwrap();
        let mut k = Known::load(&dir);
        assert_eq!(k.get("ens1f0"), Some(&a));
        assert_eq!(k.get("xa"), Some(&b));
        let text = std::fs::read_to_string(dir.join(FILE)).unwrap();
        assert_eq!(
            text,
            "ens1f0 pci 0000:18:00.0 1\nxa mac 02:00:00:00:00:0a\n"
        );
        // A pooled device not seen keeps what the file had, as does a name
        // not pooled that is not in the host (it may be in a pod); one in
        // the host and not pooled goes, as does one whose hardware a pooled
        // device of another name has.
        let c = Hw::Device("/sys/devices/pci0000:00/0000:00:03.0/virtio0".into(), 0);
        let pooled = BTreeMap::from([
            ("ens1f0".to_string(), Pick::allocated(None)),
            ("eth1".to_string(), Pick::allocated(Some(c.clone()))),
        ]);
        k.keep(&pooled, &[]).unwrap();
        let mut k = Known::load(&dir);
        assert_eq!(k.get("ens1f0"), Some(&a));
        assert_eq!(k.get("eth1"), Some(&c));
        assert_eq!(k.get("xa"), Some(&b));
        let pooled = BTreeMap::from([
            ("ens1f0".to_string(), Pick::allocated(None)),
            ("eth1".to_string(), Pick::allocated(Some(c.clone()))),
            ("net1".to_string(), Pick::allocated(Some(a.clone()))),
        ]);
        k.keep(&pooled, &["xa".to_string()]).unwrap();
        let k = Known::load(&dir);
        assert_eq!(k.get("ens1f0"), None);
        assert_eq!(k.get("net1"), Some(&a));
        assert!(k.get("xa").is_none());
        let text = std::fs::read_to_string(dir.join(FILE)).unwrap();
        std::fs::write(
            dir.join(FILE),
            format!(
                "{text}bad\nx y z w\nyy mac nope\nzz disk 1\n../e pci 1 0\nq pci 1 x\ncut pci 1 0"
            ),
        )
        .unwrap();
        assert_eq!(Known::load(&dir).map.len(), 2);
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "{names:?}");
        // A link or a FIFO where the file is: not followed, not waited on.
        std::fs::remove_file(dir.join(FILE)).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.join(FILE)).unwrap();
        assert!(Known::load(&dir).map.is_empty());
        std::fs::remove_file(dir.join(FILE)).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            dir.join(FILE),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        assert!(Known::load(&dir).map.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
