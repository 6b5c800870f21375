//! The hardware ([`Hw`]) of every device the daemon has pooled and seen,
//! kept across restarts in `<dp_dir>/.pooled-hardware`.
//!
//! A device a pod holds when the daemon starts is pooled by name from
//! kubelet's allocations, away: nothing on the node shows its hardware.
//! Should it come back under another name (the pod's, after a lost CNI
//! `DEL`), that name would look like a new device to the selectors. With
//! the hardware an earlier daemon saw, it is recognised as the device it is.
//!
//! One line per device: `<name> pci <address>` or `<name> mac <xx:..:xx>`.
//! The file's name has 16 bytes, one more than an interface name can: it is
//! never a device's directory. It is written to a temporary file and
//! renamed over, through the directory opened without following links
//! (`dp_dir` is under `/tmp` by default), mode 0600; lines that do not
//! parse are skipped.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use af_xdp::handshake::SafeDir;

use crate::config::parse_mac;

/// `O_NOFOLLOW`, for `OpenOptions`.
const NOFOLLOW: i32 = rustix::fs::OFlags::NOFOLLOW.bits() as i32;
use crate::devices::Hw;

/// The file's name in `dp_dir`.
pub const FILE: &str = ".pooled-hardware";

/// The known hardware of devices, by name, and where it is kept.
#[derive(Debug)]
pub struct Known {
    dir: PathBuf,
    map: BTreeMap<String, Hw>,
}

impl Known {
    /// What `<dir>/.pooled-hardware` holds (nothing if it is missing or
    /// cannot be read).
    pub fn load(dir: &Path) -> Known {
        let map = SafeDir::open_existing(dir)
            .ok()
            .and_then(|d| {
                std::fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(NOFOLLOW)
                    .open(d.fd_path(FILE))
                    .ok()
            })
            .and_then(|f| std::io::read_to_string(f).ok())
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

    /// Notes `devices`' hardware; saves the file when that changed what it
    /// holds.
    pub fn note<'a>(
        &mut self,
        devices: impl IntoIterator<Item = (&'a String, &'a Hw)>,
    ) -> Result<(), String> {
        let mut changed = false;
        for (d, h) in devices {
            if self.map.get(d) != Some(h) {
                self.map.insert(d.clone(), h.clone());
                changed = true;
            }
        }
        if changed {
            self.save()
        } else {
            Ok(())
        }
    }

    fn save(&self) -> Result<(), String> {
        let path = self.dir.join(FILE);
        let err = |what: &str, e: &dyn std::fmt::Display| format!("{what} {}: {e}", path.display());
        let dir = SafeDir::open(&self.dir, 0o711).map_err(|e| err("open the directory of", &e))?;
        let tmp = format!("{FILE}.{}", std::process::id());
        let _ = std::fs::remove_file(dir.fd_path(&tmp));
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
            .and_then(|()| std::fs::rename(dir.fd_path(&tmp), dir.fd_path(FILE)));
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
            Hw::Pci(p) => out.push_str(&format!("{d} pci {p}\n")),
            Hw::Mac(m) => out.push_str(&format!(
                "{d} mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}\n",
                m[0], m[1], m[2], m[3], m[4], m[5]
            )),
        }
    }
    out
}

fn parse(text: &str) -> BTreeMap<String, Hw> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (dev, kind, value) = (w.next()?, w.next()?, w.next()?);
            if w.next().is_some() || !crate::config::valid_ifname(dev) {
                return None;
            }
            let hw = match kind {
                "pci" => Hw::Pci(value.to_string()),
                "mac" => Hw::Mac(parse_mac(value)?),
                _ => return None,
            };
            Some((dev.to_string(), hw))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_noted_is_loaded_again_and_bad_lines_are_skipped() {
        let dir = std::env::temp_dir().join(format!("known-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut k = Known::load(&dir);
        assert!(k.get("ens1f0").is_none());
        let a = ("ens1f0".to_string(), Hw::Pci("0000:18:00.0".into()));
        let b = ("xa".to_string(), Hw::Mac([2, 0, 0, 0, 0, 0x0a]));
        k.note([(&a.0, &a.1), (&b.0, &b.1)]).unwrap();
        let k = Known::load(&dir);
        assert_eq!(k.get("ens1f0"), Some(&a.1));
        assert_eq!(k.get("xa"), Some(&b.1));
        let text = std::fs::read_to_string(dir.join(FILE)).unwrap();
        assert_eq!(text, "ens1f0 pci 0000:18:00.0\nxa mac 02:00:00:00:00:0a\n");
        std::fs::write(
            dir.join(FILE),
            format!("{text}bad\nx y z w\nyy mac nope\nzz disk 1\n../e pci 1\n"),
        )
        .unwrap();
        assert_eq!(Known::load(&dir).map.len(), 2);
        // A link where the file is, is not followed.
        std::fs::remove_file(dir.join(FILE)).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.join(FILE)).unwrap();
        assert!(Known::load(&dir).map.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
