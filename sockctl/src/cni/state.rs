//! What `ADD` records of an attachment, for `DEL`: which device it gave
//! the pod, known by something the pod cannot change. A pod with
//! `NET_ADMIN` can set the device's MAC and name; a runtime gives
//! `prevResult` to `DEL` only from cniVersion 0.4.0; and `CNI_IFNAME` is
//! the same (`net1`) in every pod. So `ADD` keeps a small file per
//! attachment, as host-local keeps its leases:
//! `/var/lib/cni/afxdp/<network name>/<container id>/<CNI_IFNAME>`, holding
//! the device's name in the host, its index in the pod, its permanent
//! hardware address (the MAC at `ADD` when it has none) and its name in
//! the pod. `DEL` finds the device by it, then removes the file (and the
//! container's directory once empty). (The store is new: there are no
//! records of an earlier layout to read.)
//!
//! Every look at or change of the records holds an exclusive `flock` of
//! `/var/lib/cni/afxdp` (runtimes run the plugin for several attachments at
//! once, and `GC` removes what it leaves empty). The directories are made
//! mode 0700, the file 0600; it is written to a
//! temporary file and renamed into place (a crash leaves the old record or
//! the new one, never half of one); no symbolic link is followed (the
//! network name comes from a configuration that whoever may write a
//! NetworkAttachmentDefinition writes), and every name is checked to be
//! one path component.

use std::fs::{DirBuilder, File};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use afxdp_core::abi::ethtool::is_valid_ifname;
use rustix::fs::{mkdirat, openat, renameat, unlinkat, AtFlags, Mode, OFlags, CWD};
use rustix::io::Errno;

use super::json::{Json, ObjectBuilder};
use super::link::{LinkState, PHYSICAL};

/// Where the records are, one directory per network.
pub(crate) const STATE_DIR: &str = "/var/lib/cni/afxdp";

/// The longest record read back (they are about 150 bytes).
const MAX_LEN: u64 = 4096;

/// What `ADD` did with one device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    /// The device's name in the host (`deviceID`).
    pub(crate) device: String,
    /// Its index in the pod's namespace, after the move; until then its
    /// index in the host, which a device keeps when it moves unless the pod
    /// has a link of that index already (what is there is checked to be
    /// the device, [`identifies`](Record::identifies)).
    pub(crate) ifindex: i32,
    /// Its permanent hardware address if it has one, else its MAC at `ADD`.
    pub(crate) hwaddr: String,
    /// Whether `hwaddr` is the permanent address (`IFLA_PERM_ADDRESS`).
    pub(crate) permanent: bool,
    /// Its kind ([`LinkState::kind`]): without a permanent address, the MAC
    /// alone is what a pod can set; a link the pod made is of another kind
    /// than a NIC.
    pub(crate) kind: String,
    /// Its name in the pod.
    pub(crate) in_pod: String,
    /// When (seconds since the epoch) a `DEL` first found a device that
    /// returns to the host by itself in neither the pod nor the host; `DEL`
    /// is tried again until it is back or [`DEL_GIVES_UP_AFTER`] has passed.
    ///
    /// [`DEL_GIVES_UP_AFTER`]: super::plugin::DEL_GIVES_UP_AFTER
    pub(crate) missing_since: Option<u64>,
}

impl Record {
    /// The record of `dev` (found in the host) that `ADD` gives the pod as
    /// `in_pod`, before the move.
    pub(crate) fn of(dev: &LinkState, in_pod: &str) -> Record {
        let permanent = !dev.perm.is_empty();
        Record {
            device: dev.name.clone(),
            ifindex: dev.ifindex,
            hwaddr: if permanent { &dev.perm } else { &dev.mac }.clone(),
            permanent,
            kind: dev.kind.clone(),
            in_pod: in_pod.to_string(),
            missing_since: None,
        }
    }

    /// Whether the device goes back to the host's namespace by itself when
    /// the pod's goes: a device with no link kind (a NIC, a VF). The kernel
    /// destroys a link of a kind (veth, macvlan...) with the namespace.
    pub(crate) fn returns_by_itself(&self) -> bool {
        self.kind == PHYSICAL
    }

    /// Whether `l` is this record's device: of its kind, with its hardware
    /// address (its permanent one if the record has that, else its MAC).
    /// Never true without an address to compare.
    pub(crate) fn identifies(&self, l: &LinkState) -> bool {
        let have = if self.permanent { &l.perm } else { &l.mac };
        !self.hwaddr.is_empty() && self.hwaddr.eq_ignore_ascii_case(have) && self.kind == l.kind
    }

    fn to_json(&self) -> String {
        let mut o = ObjectBuilder::new()
            .put("device", Json::str(&self.device))
            .put("ifindex", Json::num(self.ifindex))
            .put("hwaddr", Json::str(&self.hwaddr))
            .put("permanent", Json::Bool(self.permanent))
            .put("kind", Json::str(&self.kind))
            .put("inPod", Json::str(&self.in_pod));
        if let Some(t) = self.missing_since {
            o = o.put("missingSince", Json::num(t));
        }
        o.build().to_pretty()
    }

    fn parse(text: &[u8]) -> Option<Record> {
        let doc = Json::parse(text).ok()?;
        let s = |k: &str| doc.get(k)?.as_str().map(str::to_string);
        let r = Record {
            device: s("device").filter(|d| is_valid_ifname(d.as_bytes()))?,
            ifindex: i32::try_from(doc.get("ifindex")?.as_u64()?).ok()?,
            hwaddr: s("hwaddr")?,
            permanent: match doc.get("permanent")? {
                Json::Bool(b) => *b,
                _ => return None,
            },
            kind: s("kind")?,
            in_pod: s("inPod").filter(|n| is_valid_ifname(n.as_bytes()))?,
            missing_since: match doc.get("missingSince") {
                None => None,
                Some(v) => Some(v.as_u64()?),
            },
        };
        Some(r)
    }
}

/// Whether `s` may be a network name or container id in a file name: what
/// libcni allows of both, a letter or digit, then letters, digits, `_`,
/// `.` and `-`; at most 200 bytes.
fn is_valid_id(s: &str) -> bool {
    s.len() <= 200
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Where one attachment's record is.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    /// [`STATE_DIR`], or a test's directory.
    base: PathBuf,
    /// The network's name: the directory in `base`.
    network: String,
    /// The container id: the directory in the network's.
    id: String,
    /// `CNI_IFNAME`: the file in the container's directory.
    ifname: String,
}

/// `what: path: ERRNO`.
fn err(what: &str, path: &Path, e: Errno) -> String {
    format!(
        "{what}: {}: {}",
        path.display(),
        afxdp_core::Errno::from_raw(e.raw_os_error())
    )
}

/// The directory `name` in `parent` (whose path is `path`), opened without
/// following a link; made (0700) first with `create`, else `None` if it is
/// not there.
fn subdir(
    parent: &OwnedFd,
    name: &str,
    path: &Path,
    create: bool,
) -> Result<Option<OwnedFd>, String> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    if create {
        match mkdirat(parent, name, Mode::from_raw_mode(0o700)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(err("create", &path.join(name), e)),
        }
    }
    match openat(parent, name, flags, Mode::empty()) {
        Err(Errno::NOENT) if !create => Ok(None),
        r => r.map(Some).map_err(|e| err("open", &path.join(name), e)),
    }
}

/// Takes the lock of the state directory `base` (open as `fd`), which
/// every reader and writer of records holds while it works, until `fd`
/// closes: `GC` removes the directories it leaves empty and the temporary
/// files of writes that crashed, which must not be those of an `ADD` or
/// `DEL` of another attachment running at the same time.
fn lock(fd: &OwnedFd, base: &Path) -> Result<(), String> {
    rustix::fs::flock(fd, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| err("lock", base, e))
}

/// A record's directories, opened with the lock held ([`lock`]).
struct Dirs {
    /// The state directory, which holds the lock until dropped.
    _locked: OwnedFd,
    /// The network's directory.
    net: OwnedFd,
    /// The container's directory in it.
    dir: OwnedFd,
}

/// Removes the directory `name` in `parent` if it is empty (best effort:
/// one in use stays).
fn remove_if_empty(parent: &OwnedFd, name: &str) {
    let _ = unlinkat(parent, name, AtFlags::REMOVEDIR);
}

/// The names in directory `dir`, but `.` and `..` (and names that are not
/// UTF-8, which this plugin never writes).
fn names(dir: &OwnedFd) -> Vec<String> {
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 2048];
    let mut entries = rustix::fs::RawDir::new(dir, &mut buf);
    let mut out = vec![];
    while let Some(Ok(e)) = entries.next() {
        match e.file_name().to_str() {
            Ok("." | "..") | Err(_) => {}
            Ok(n) => out.push(n.to_string()),
        }
    }
    out
}

/// `GC` of `network`'s records in [`STATE_DIR`]: removes each whose
/// container id and interface name `keep` does not keep (and any temporary
/// file left by a crash), then the directories that leaves empty, the
/// network's too. Returns what could not be removed.
pub(crate) fn gc(network: &str, keep: impl Fn(&str, &str) -> bool) -> Vec<String> {
    gc_in(Path::new(STATE_DIR), network, keep)
}

/// The records of `network`'s attachments in [`STATE_DIR`] whose container
/// id and interface name `keep` does not keep (not temporary files).
pub(crate) fn stale(network: &str, keep: impl Fn(&str, &str) -> bool) -> Vec<Store> {
    stale_in(Path::new(STATE_DIR), network, keep)
}

fn stale_in(base: &Path, network: &str, keep: impl Fn(&str, &str) -> bool) -> Vec<Store> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let Ok(base_dir) = openat(CWD, base, flags, Mode::empty()) else {
        return vec![];
    };
    if lock(&base_dir, base).is_err() {
        return vec![];
    }
    let Ok(Some(net)) = subdir(&base_dir, network, base, false) else {
        return vec![];
    };
    let net_path = base.join(network);
    let mut out = vec![];
    for id in names(&net) {
        let Ok(Some(dir)) = subdir(&net, &id, &net_path, false) else {
            continue;
        };
        for ifname in names(&dir).iter().filter(|n| !keep(&id, n)) {
            if let Ok(store) = Store::in_dir(base, network, &id, ifname) {
                out.push(store);
            }
        }
    }
    out
}

fn gc_in(base: &Path, network: &str, keep: impl Fn(&str, &str) -> bool) -> Vec<String> {
    let mut errors = vec![];
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    // A network whose name cannot be a directory has no records.
    let Ok(base_dir) = openat(CWD, base, flags, Mode::empty()) else {
        return errors;
    };
    if let Err(e) = lock(&base_dir, base) {
        return vec![e];
    }
    let net = match subdir(&base_dir, network, base, false) {
        Ok(Some(d)) if is_valid_id(network) => d,
        Ok(_) => return errors,
        Err(e) => return vec![e],
    };
    let net_path = base.join(network);
    for id in names(&net) {
        let dir = match subdir(&net, &id, &net_path, false) {
            Ok(Some(d)) => d,
            Ok(None) => continue,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        for ifname in names(&dir).iter().filter(|n| !keep(&id, n)) {
            if let Err(e) = unlinkat(&dir, ifname, AtFlags::empty()) {
                errors.push(err("remove", &net_path.join(&id).join(ifname), e));
            }
        }
        remove_if_empty(&net, &id);
    }
    remove_if_empty(&base_dir, network);
    errors
}

impl Store {
    /// The record of container `container_id`'s `ifname` on `network`, in
    /// [`STATE_DIR`]; an error says which of them cannot be in a file name.
    pub(crate) fn new(network: &str, container_id: &str, ifname: &str) -> Result<Store, String> {
        Store::in_dir(Path::new(STATE_DIR), network, container_id, ifname)
    }

    fn in_dir(base: &Path, network: &str, id: &str, ifname: &str) -> Result<Store, String> {
        if !is_valid_id(network) {
            return Err(format!("network name {network:?}: must be letters, digits, '_', '.' and '-', starting with a letter or digit"));
        }
        if !is_valid_id(id) {
            return Err(format!("CNI_CONTAINERID {id:?}: must be letters, digits, '_', '.' and '-', starting with a letter or digit"));
        }
        if !is_valid_ifname(ifname.as_bytes()) {
            return Err(format!("CNI_IFNAME {ifname:?} is not an interface name"));
        }
        Ok(Store {
            base: base.to_path_buf(),
            network: network.to_string(),
            id: id.to_string(),
            ifname: ifname.to_string(),
        })
    }

    /// The network's directory.
    fn network_dir(&self) -> PathBuf {
        self.base.join(&self.network)
    }

    /// The record's path.
    pub(crate) fn path(&self) -> PathBuf {
        self.network_dir().join(&self.id).join(&self.ifname)
    }

    /// The network's directory and the container's in it, opened without
    /// following a link; made (0700) first with `create`, else `None` if
    /// either is not there. With the lock on the state directory held
    /// until the first of the three goes (see [`lock`]).
    fn open_dirs(&self, create: bool) -> Result<Option<Dirs>, String> {
        if create {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.base)
                .map_err(|e| format!("create {}: {e}", self.base.display()))?;
        }
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let base = match openat(CWD, &self.base, flags, Mode::empty()) {
            Err(Errno::NOENT) if !create => return Ok(None),
            r => r.map_err(|e| err("open", &self.base, e))?,
        };
        lock(&base, &self.base)?;
        let Some(net) = subdir(&base, &self.network, &self.base, create)? else {
            return Ok(None);
        };
        let dir = subdir(&net, &self.id, &self.network_dir(), create)?;
        Ok(dir.map(|dir| Dirs {
            _locked: base,
            net,
            dir,
        }))
    }

    /// Writes `record` in place of any earlier one, atomically.
    pub(crate) fn save(&self, record: &Record) -> Result<(), String> {
        // The whole of it: the lock goes with the first field dropped.
        let dirs = self.open_dirs(true)?.ok_or("no state directory")?;
        let dir = &dirs.dir;
        // ':' is in no interface name: no record is called this.
        let tmp = format!("{}:tmp", self.ifname);
        let tmp_path = self.network_dir().join(&self.id).join(&tmp);
        match unlinkat(dir, &tmp, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(e) => return Err(err("remove", &tmp_path, e)),
        }
        let fd = openat(
            dir,
            &tmp,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| err("create", &tmp_path, e))?;
        let mut f = File::from(fd);
        f.write_all(record.to_json().as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| format!("write {}: {e}", tmp_path.display()))?;
        renameat(dir, &tmp, dir, &self.ifname).map_err(|e| err("rename", &self.path(), e))?;
        let _ = rustix::fs::fsync(dir);
        Ok(())
    }

    /// The record, if there is one; one that is not a regular file of the
    /// right form (or a link) is an error.
    pub(crate) fn load(&self) -> Result<Option<Record>, String> {
        let Some(dirs) = self.open_dirs(false)? else {
            return Ok(None);
        };
        let dir = &dirs.dir;
        let path = self.path();
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let fd = match openat(dir, &self.ifname, flags, Mode::empty()) {
            Err(Errno::NOENT) => return Ok(None),
            r => r.map_err(|e| err("open", &path, e))?,
        };
        let f = File::from(fd);
        let mut text = Vec::new();
        match f.metadata() {
            Ok(m) if m.is_file() => {}
            _ => return Err(format!("{}: not a regular file", path.display())),
        }
        f.take(MAX_LEN + 1)
            .read_to_end(&mut text)
            .map_err(|e| format!("read {}: {e}", path.display()))?;
        Record::parse(&text)
            .filter(|_| text.len() as u64 <= MAX_LEN)
            .map(Some)
            .ok_or_else(|| format!("{}: not a record of this plugin", path.display()))
    }

    /// Removes the record, and the container's directory if that leaves it
    /// empty; none is fine.
    pub(crate) fn remove(&self) -> Result<(), String> {
        let Some(dirs) = self.open_dirs(false)? else {
            return Ok(());
        };
        let (net, dir) = (&dirs.net, &dirs.dir);
        match unlinkat(dir, &self.ifname, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(e) => return Err(err("remove", &self.path(), e)),
        }
        remove_if_empty(net, &self.id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A directory of its own under the temp directory, removed on drop.
    struct Dir(PathBuf);

    impl Dir {
        fn new(tag: &str) -> Dir {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            Dir(std::env::temp_dir().join(format!(
                "afxdp-cni-state-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            )))
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn record() -> Record {
        Record {
            device: "ens785f0".into(),
            ifindex: 7,
            hwaddr: "3c:fd:fe:00:00:01".into(),
            permanent: true,
            kind: "physical".into(),
            in_pod: "net1".into(),
            missing_since: None,
        }
    }

    fn link(mac: &str, perm: &str) -> LinkState {
        LinkState {
            ifindex: 9,
            name: "dev9".into(),
            mac: mac.into(),
            perm: perm.into(),
            kind: "physical".into(),
            up: false,
            mtu: None,
        }
    }

    #[test]
    fn a_record_is_written_read_back_and_removed() {
        let dir = Dir::new("roundtrip");
        let store = Store::in_dir(&dir.0, "afxdp-network", "c1", "net1").unwrap();
        assert_eq!(store.load(), Ok(None));
        assert_eq!(store.remove(), Ok(()));
        store.save(&record()).unwrap();
        assert_eq!(store.load(), Ok(Some(record())));
        let mut newer = record();
        newer.ifindex = 12;
        store.save(&newer).unwrap();
        assert_eq!(store.load(), Ok(Some(newer.clone())));
        newer.missing_since = Some(1_800_000_000);
        store.save(&newer).unwrap();
        assert_eq!(store.load(), Ok(Some(newer)));
        // 0700 directories, a 0600 file, no temporary file left.
        let net = dir.0.join("afxdp-network");
        for p in [dir.0.clone(), net.clone(), net.join("c1")] {
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", p.display());
        }
        let mode = std::fs::metadata(store.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let names: Vec<_> = std::fs::read_dir(net.join("c1"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["net1"]);
        // Removed with the container's directory, once empty; the
        // network's stays.
        store.remove().unwrap();
        assert_eq!(store.load(), Ok(None));
        assert!(!net.join("c1").exists());
        assert!(net.is_dir());
    }

    #[test]
    fn attachments_whose_id_and_ifname_join_alike_have_records_of_their_own() {
        let dir = Dir::new("apart");
        let a = Store::in_dir(&dir.0, "n", "a-b", "c").unwrap();
        let b = Store::in_dir(&dir.0, "n", "a", "b-c").unwrap();
        assert_ne!(a.path(), b.path());
        let mut other = record();
        other.device = "ens785f1".into();
        a.save(&record()).unwrap();
        b.save(&other).unwrap();
        assert_eq!(a.load(), Ok(Some(record())));
        assert_eq!(b.load(), Ok(Some(other.clone())));
        // Two interfaces of one container: its directory stays until the
        // last goes.
        let c = Store::in_dir(&dir.0, "n", "a", "net2").unwrap();
        c.save(&record()).unwrap();
        b.remove().unwrap();
        assert_eq!(c.load(), Ok(Some(record())));
        assert_eq!(a.load(), Ok(Some(record())));
        c.remove().unwrap();
        assert!(!dir.0.join("n").join("a").exists());
    }

    #[test]
    fn gc_beside_add_and_del_of_a_kept_attachment_never_breaks_them() {
        // The runtime may GC a network while other attachments of it come
        // and go: GC's removal of empty directories and of records it does
        // not keep must not make a save (its directories, its temporary
        // file) or a load fail, nor take the kept record.
        let dir = Dir::new("gc-race");
        let base = dir.0.clone();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|t| {
            let gc = t.spawn(|| {
                let mut runs = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let errors = gc_in(&base, "afxdp-network", |id, n| id == "c1" && n == "net1");
                    assert!(errors.is_empty(), "{errors:?}");
                    runs += 1;
                }
                runs
            });
            // GC stops when this loop ends, also by a failed assertion.
            struct Stop<'a>(&'a std::sync::atomic::AtomicBool);
            impl Drop for Stop<'_> {
                fn drop(&mut self) {
                    self.0.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
            let _stop = Stop(&stop);
            let store = Store::in_dir(&base, "afxdp-network", "c1", "net1").unwrap();
            for i in 0..200 {
                store
                    .save(&record())
                    .unwrap_or_else(|e| panic!("save {i}: {e}"));
                assert_eq!(store.load(), Ok(Some(record())), "load {i}");
                store.remove().unwrap_or_else(|e| panic!("remove {i}: {e}"));
            }
            drop(_stop);
            assert!(gc.join().unwrap() > 0);
        });
    }

    #[test]
    fn gc_removes_the_records_not_kept_and_the_directories_left_empty() {
        let dir = Dir::new("gc");
        let store = |id: &str, ifname: &str| Store::in_dir(&dir.0, "n", id, ifname).unwrap();
        for (id, ifname) in [
            ("c1", "eth0"),
            ("c1", "net1"),
            ("c2", "net1"),
            ("c3", "eth0"),
        ] {
            store(id, ifname).save(&record()).unwrap();
        }
        std::fs::write(dir.0.join("n").join("c3").join("eth0:tmp"), "{").unwrap();
        let keep =
            |id: &str, ifname: &str| [("c1", "eth0"), ("c3", "eth0")].contains(&(id, ifname));
        assert!(gc_in(&dir.0, "n", keep).is_empty());
        assert_eq!(store("c1", "eth0").load(), Ok(Some(record())));
        assert_eq!(store("c1", "net1").load(), Ok(None));
        assert!(!dir.0.join("n").join("c2").exists());
        assert_eq!(store("c3", "eth0").load(), Ok(Some(record())));
        assert!(!dir.0.join("n").join("c3").join("eth0:tmp").exists());
        // Another network's, or one that is not there: untouched, no error.
        Store::in_dir(&dir.0, "m", "c9", "eth0")
            .unwrap()
            .save(&record())
            .unwrap();
        assert!(gc_in(&dir.0, "absent", |_, _| false).is_empty());
        assert!(gc_in(&dir.0, "../m", |_, _| false).is_empty());
        // Nothing kept: the network's directory goes too.
        assert!(gc_in(&dir.0, "n", |_, _| false).is_empty());
        assert!(!dir.0.join("n").exists());
        assert!(dir.0.join("m").join("c9").join("eth0").is_file());
    }

    #[test]
    fn names_must_be_one_path_component() {
        let dir = Dir::new("names");
        for (net, id, ifname) in [
            ("../x", "c1", "net1"),
            (".x", "c1", "net1"),
            ("", "c1", "net1"),
            ("a/b", "c1", "net1"),
            ("n", "../c1", "net1"),
            ("n", "c 1", "net1"),
            ("n", "", "net1"),
            ("n", "c1", "a/b"),
            ("n", "c1", ".."),
            ("n", "c1", ""),
        ] {
            assert!(
                Store::in_dir(&dir.0, net, id, ifname).is_err(),
                "{net} {id} {ifname}"
            );
        }
        let s = Store::in_dir(&dir.0, "afxdp-net_1.0", "0a1b-c_d.e", "eth0").unwrap();
        assert_eq!(
            s.path(),
            dir.0.join("afxdp-net_1.0").join("0a1b-c_d.e").join("eth0")
        );
    }

    #[test]
    fn no_link_is_followed_and_a_bad_record_is_an_error() {
        let dir = Dir::new("links");
        let elsewhere = Dir::new("elsewhere");
        std::fs::create_dir_all(&elsewhere.0).unwrap();
        std::fs::create_dir_all(&dir.0).unwrap();
        // The network's directory a link: refused, nothing written there.
        std::os::unix::fs::symlink(&elsewhere.0, dir.0.join("n")).unwrap();
        let store = Store::in_dir(&dir.0, "n", "c1", "net1").unwrap();
        let e = store.save(&record()).unwrap_err();
        assert!(e.contains("ELOOP") || e.contains("ENOTDIR"), "{e}");
        assert!(e.contains(&dir.0.join("n").display().to_string()), "{e}");
        assert!(store.load().is_err());
        assert_eq!(std::fs::read_dir(&elsewhere.0).unwrap().count(), 0);
        // The record a link: not read.
        let store = Store::in_dir(&dir.0, "m", "c1", "net1").unwrap();
        store.save(&record()).unwrap();
        std::fs::remove_file(store.path()).unwrap();
        let target = elsewhere.0.join("target");
        std::fs::write(&target, record().to_json()).unwrap();
        std::os::unix::fs::symlink(&target, store.path()).unwrap();
        let e = store.load().unwrap_err();
        assert!(e.contains("ELOOP"), "{e}");
        // Saving replaces the link itself, not its target.
        store.save(&record()).unwrap();
        assert!(std::fs::symlink_metadata(store.path()).unwrap().is_file());
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            record().to_json()
        );
        // Not a record: an error, not a panic.
        for bad in ["", "{", "[]", r#"{"device":"a/b"}"#] {
            std::fs::write(store.path(), bad).unwrap();
            assert!(store.load().is_err(), "{bad}");
        }
        let mut big = record().to_json().into_bytes();
        big.resize(MAX_LEN as usize + 10, b' ');
        std::fs::write(store.path(), big).unwrap();
        assert!(store.load().is_err());
    }

    #[test]
    fn the_device_is_known_by_its_kind_and_permanent_address_else_its_mac() {
        let r = record();
        assert!(r.identifies(&link("02:00:00:00:00:99", "3C:FD:FE:00:00:01")));
        assert!(!r.identifies(&link("3c:fd:fe:00:00:01", "")));
        let veth = Record::of(&link("02:00:00:00:00:0a", ""), "net1");
        assert!(!veth.permanent);
        assert_eq!(veth.hwaddr, "02:00:00:00:00:0a");
        assert!(veth.identifies(&link("02:00:00:00:00:0a", "")));
        assert!(!veth.identifies(&link("02:00:00:00:00:0b", "")));
        let nic = Record::of(&link("02:00:00:00:00:0a", "3c:fd:fe:00:00:01"), "eth1");
        assert!(nic.permanent && nic.hwaddr == "3c:fd:fe:00:00:01");
        assert_eq!(
            (nic.ifindex, nic.device.as_str(), nic.in_pod.as_str()),
            (9, "dev9", "eth1")
        );
        // Nothing to compare: never a match.
        let none = Record::of(&link("", ""), "net1");
        assert!(!none.identifies(&link("", "")));
        // A link of another kind (one the pod made, with the MAC set to
        // the device's) is not the device, whatever its address.
        assert_eq!(veth.kind, "physical");
        let mut made = link("02:00:00:00:00:0a", "");
        made.kind = "bridge".into();
        assert!(!veth.identifies(&made));
        made.perm = "3c:fd:fe:00:00:01".into();
        assert!(!nic.identifies(&made));
    }
}
