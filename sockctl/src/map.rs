//! BPF maps: [`Map`] for any map (sizes checked on every access), and
//! [`XskMap`], the map of AF_XDP sockets that the redirect program reads.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use afxdp_core::abi::bpf::{
    map_type_name, object_name, BpfMapInfo, MapCreateAttr, BPF_ANY, BPF_MAP_TYPE_LRU_PERCPU_HASH,
    BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, BPF_MAP_TYPE_PERCPU_HASH,
    BPF_MAP_TYPE_XSKMAP,
};
use afxdp_core::Errno;
use afxdp_sys::{bpf, BorrowedFd, OwnedFd};

use crate::error::{privilege_hint, Error, ErrorKind, Result};

/// What [`Map::create`] creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapSpec<'a> {
    /// `BPF_MAP_TYPE_*`.
    pub map_type: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Capacity.
    pub max_entries: u32,
    /// Name shown by `bpftool map` (cut to 15 bytes, sanitised).
    pub name: &'a str,
}

/// A BPF map: its fd and what the kernel said about it when opened.
#[derive(Debug)]
pub struct Map {
    fd: OwnedFd,
    info: BpfMapInfo,
}

/// A NUL-terminated copy of `path` for the kernel.
pub(crate) fn c_path(op: &'static str, path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::invalid(op, path.display(), "path contains a NUL byte"))
}

/// Pins the BPF object `fd` at `path`, inside a bpffs (`BPF_OBJ_PIN`),
/// with a hint for the usual failures.
pub(crate) fn pin_fd(fd: BorrowedFd<'_>, path: &Path) -> Result<()> {
    let c = c_path("BPF_OBJ_PIN", path)?;
    bpf::obj_pin(fd, &c).map_err(|e| {
        let err = Error::sys("BPF_OBJ_PIN", path.display(), e);
        match e {
            Errno::EPERM => err.with_hint("the directory is not on a bpffs (mount -t bpf bpf <dir>), or pinning needs more privilege"),
            Errno::EEXIST => err.with_hint("something is already pinned there: remove it first"),
            Errno::ENOENT => err.with_hint("the parent directory does not exist"),
            _ => err,
        }
    })
}

/// The magic number of a bpffs in `statfs`'s `f_type`.
const BPF_FS_MAGIC: u64 = 0xcafe_4a11;

/// Whether `path` is on a bpffs (`None`: cannot tell, e.g. it does not
/// exist).
pub fn on_bpffs(path: &Path) -> Option<bool> {
    let st = rustix::fs::statfs(path).ok()?;
    #[allow(clippy::unnecessary_cast)] // f_type's type differs by libc
    Some(st.f_type as u64 == BPF_FS_MAGIC)
}

impl Map {
    /// Creates a map (`BPF_MAP_CREATE`; needs `CAP_BPF`).
    ///
    /// ```no_run
    /// use af_xdp::map::{Map, MapSpec};
    /// use afxdp_core::abi::bpf::BPF_MAP_TYPE_ARRAY;
    /// let m = Map::create(&MapSpec {
    ///     map_type: BPF_MAP_TYPE_ARRAY, key_size: 4, value_size: 8, max_entries: 16, name: "counters",
    /// })?;
    /// m.update(&1u32.to_ne_bytes(), &7u64.to_ne_bytes())?;
    /// # Ok::<(), af_xdp::Error>(())
    /// ```
    pub fn create(spec: &MapSpec<'_>) -> Result<Map> {
        let attr = MapCreateAttr {
            map_type: spec.map_type,
            key_size: spec.key_size,
            value_size: spec.value_size,
            max_entries: spec.max_entries,
            map_name: object_name(spec.name),
            ..Default::default()
        };
        let fd = bpf::map_create(&attr).map_err(|e| {
            let kind = map_type_name(spec.map_type).unwrap_or("unknown type");
            let err = Error::sys("BPF_MAP_CREATE", format!("{} ({kind})", spec.name), e);
            match privilege_hint(e, "creating a BPF map") {
                Some(h) => err.with_hint(h),
                None if e == Errno::EINVAL => err.with_hint(format!(
                    "the kernel refused key size {}, value size {}, max entries {} for a {kind} map",
                    spec.key_size, spec.value_size, spec.max_entries
                )),
                None => err,
            }
        })?;
        Self::from_fd(fd)
    }

    /// Opens the map pinned at `path` read-write (`BPF_OBJ_GET`).
    pub fn open_pinned(path: &Path) -> Result<Map> {
        let c = c_path("BPF_OBJ_GET", path)?;
        let fd = bpf::obj_get(&c, 0).map_err(|e| {
            let err = Error::sys("BPF_OBJ_GET", path.display(), e);
            match e {
                Errno::ENOENT => err.with_hint("nothing is pinned there: is the device-plugin side running, and is its bpffs mounted at this path?"),
                Errno::EACCES | Errno::EPERM | Errno::EINVAL if on_bpffs(path) == Some(false) => err
                    .with_kind(ErrorKind::InvalidArgument)
                    .with_detail("not on a bpffs: only a BPF filesystem holds pinned maps")
                    .with_hint("give the path of the map pinned by the device-plugin side, on its bpffs"),
                Errno::EACCES | Errno::EPERM => err.with_hint("the pinned file's permissions do not let this user open it read-write (BPF_OBJ_GET needs both read and write permission)"),
                _ => err,
            }
        })?;
        Self::from_fd(fd).map_err(|e| match e.errno() {
            Some(errno) => Error::sys("BPF_OBJ_GET_INFO_BY_FD", path.display(), errno)
                .with_hint("what is pinned there is not a BPF map"),
            None => e,
        })
    }

    /// Takes an fd that must refer to a BPF map (checked with
    /// `BPF_OBJ_GET_INFO_BY_FD`, and, where `/proc` is mounted, by the kind
    /// of anonymous inode: the info call also answers for programs and
    /// links).
    pub fn from_fd(fd: OwnedFd) -> Result<Map> {
        if let Ok(kind) = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw())) {
            let kind = kind.to_string_lossy().into_owned();
            if kind.starts_with("anon_inode:") && kind != "anon_inode:bpf-map" {
                return Err(Error::invalid(
                    "check BPF object",
                    format!("fd {}", fd.as_raw()),
                    format!(
                        "not a BPF map but {}",
                        kind.trim_start_matches("anon_inode:")
                    ),
                ));
            }
        }
        let info = bpf::map_info(fd.as_fd())
            .map_err(|e| Error::sys("BPF_OBJ_GET_INFO_BY_FD", format!("fd {}", fd.as_raw()), e))?;
        Ok(Map { fd, info })
    }

    /// Pins the map at `path`, which must be inside a bpffs (`BPF_OBJ_PIN`).
    pub fn pin(&self, path: &Path) -> Result<()> {
        pin_fd(self.fd.as_fd(), path)
    }

    /// What the kernel said about the map when it was opened.
    pub fn info(&self) -> &BpfMapInfo {
        &self.info
    }

    /// The map's kernel-wide id.
    pub fn id(&self) -> u32 {
        self.info.id
    }

    /// The map's fd.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Gives up the map, keeping its fd.
    pub fn into_fd(self) -> OwnedFd {
        self.fd
    }

    fn subject(&self) -> String {
        format!("map {}", self.info.id)
    }

    fn check_sizes(&self, op: &'static str, key: usize, value: Option<usize>) -> Result<()> {
        let per_cpu = matches!(
            self.info.map_type,
            BPF_MAP_TYPE_PERCPU_HASH
                | BPF_MAP_TYPE_PERCPU_ARRAY
                | BPF_MAP_TYPE_LRU_PERCPU_HASH
                | BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE
        );
        if per_cpu {
            return Err(Error::invalid(
                op,
                self.subject(),
                "per-CPU maps are not supported here",
            ));
        }
        if key != self.info.key_size as usize {
            return Err(Error::invalid(
                op,
                self.subject(),
                format!(
                    "key is {key} bytes, the map's keys are {}",
                    self.info.key_size
                ),
            ));
        }
        if let Some(v) = value {
            if v != self.info.value_size as usize {
                return Err(Error::invalid(
                    op,
                    self.subject(),
                    format!(
                        "value is {v} bytes, the map's values are {}",
                        self.info.value_size
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Stores `value` under `key` (creating or replacing).
    pub fn update(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.update_with_flags(key, value, BPF_ANY)
    }

    /// Stores `value` under `key` with `BPF_ANY`, `BPF_NOEXIST` or `BPF_EXIST`.
    pub fn update_with_flags(&self, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
        self.check_sizes("BPF_MAP_UPDATE_ELEM", key.len(), Some(value.len()))?;
        // SAFETY: the key and value are exactly the map's key and value
        // sizes (checked above; the map is not per-CPU).
        unsafe { bpf::map_update_elem(self.as_fd(), key.as_ptr(), value.as_ptr(), flags) }
            .map_err(|e| Error::sys("BPF_MAP_UPDATE_ELEM", self.subject(), e))
    }

    /// Copies the value under `key` into `value`; `false` if there is none.
    pub fn lookup(&self, key: &[u8], value: &mut [u8]) -> Result<bool> {
        self.check_sizes("BPF_MAP_LOOKUP_ELEM", key.len(), Some(value.len()))?;
        // SAFETY: sizes checked as in `update`; `value` is writable.
        match unsafe { bpf::map_lookup_elem(self.as_fd(), key.as_ptr(), value.as_mut_ptr(), 0) } {
            Ok(()) => Ok(true),
            Err(Errno::ENOENT) => Ok(false),
            Err(e) => Err(Error::sys("BPF_MAP_LOOKUP_ELEM", self.subject(), e)),
        }
    }

    /// Deletes the element under `key`; `false` if there was none.
    pub fn delete(&self, key: &[u8]) -> Result<bool> {
        self.check_sizes("BPF_MAP_DELETE_ELEM", key.len(), None)?;
        // SAFETY: the key size is checked above.
        match unsafe { bpf::map_delete_elem(self.as_fd(), key.as_ptr()) } {
            Ok(()) => Ok(true),
            Err(Errno::ENOENT) => Ok(false),
            Err(e) => Err(Error::sys("BPF_MAP_DELETE_ELEM", self.subject(), e)),
        }
    }

    /// The key after `key` (the first key for `None`); `None` after the last.
    pub fn next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<bool> {
        self.check_sizes("BPF_MAP_GET_NEXT_KEY", next.len(), None)?;
        if let Some(k) = key {
            self.check_sizes("BPF_MAP_GET_NEXT_KEY", k.len(), None)?;
        }
        let kp = key.map_or(std::ptr::null(), <[u8]>::as_ptr);
        // SAFETY: both keys are the map's key size (checked); null asks for
        // the first key.
        match unsafe { bpf::map_get_next_key(self.as_fd(), kp, next.as_mut_ptr()) } {
            Ok(()) => Ok(true),
            Err(Errno::ENOENT) => Ok(false),
            Err(e) => Err(Error::sys("BPF_MAP_GET_NEXT_KEY", self.subject(), e)),
        }
    }

    /// All keys, in the kernel's order.
    pub fn keys(&self) -> Result<Vec<Vec<u8>>> {
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let mut next = vec![0u8; self.info.key_size as usize];
        while self.next_key(keys.last().map(Vec::as_slice), &mut next)? {
            keys.push(next.clone());
            if keys.len() > self.info.max_entries as usize {
                break; // a map being rewritten under us; do not loop forever
            }
        }
        Ok(keys)
    }
}

/// An XSKMAP: key = queue index, value = AF_XDP socket fd.
#[derive(Debug)]
pub struct XskMap {
    map: Map,
}

impl XskMap {
    /// Creates an XSKMAP with one entry per queue.
    ///
    /// ```no_run
    /// let map = af_xdp::XskMap::create(4, "xsks_map")?;
    /// assert_eq!(map.max_entries(), 4);
    /// # Ok::<(), af_xdp::Error>(())
    /// ```
    pub fn create(max_entries: u32, name: &str) -> Result<XskMap> {
        let map = Map::create(&MapSpec {
            map_type: BPF_MAP_TYPE_XSKMAP,
            key_size: 4,
            value_size: 4,
            max_entries,
            name,
        })?;
        Ok(XskMap { map })
    }

    /// Opens the XSKMAP pinned at `path` (what DPDK's `use_pinned_map=1`
    /// does); fails if what is pinned there is not an XSKMAP.
    pub fn open_pinned(path: &Path) -> Result<XskMap> {
        let map = Map::open_pinned(path)?;
        Self::from_map(map).map_err(|e| {
            Error::invalid(
                "BPF_OBJ_GET",
                path.display(),
                e.detail().unwrap_or("not an XSKMAP").to_string(),
            )
        })
    }

    /// Checks that `map` is an XSKMAP with 4-byte keys and values.
    pub fn from_map(map: Map) -> Result<XskMap> {
        let i = map.info();
        if i.map_type != BPF_MAP_TYPE_XSKMAP || i.key_size != 4 || i.value_size != 4 {
            let kind = map_type_name(i.map_type).unwrap_or("unknown");
            return Err(Error::invalid(
                "check map",
                format!("map {}", i.id),
                format!(
                    "not an XSKMAP: {} {kind} map (type {}) with {}-byte keys and {}-byte values",
                    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
                        "an"
                    } else {
                        "a"
                    },
                    i.map_type,
                    i.key_size,
                    i.value_size
                ),
            ));
        }
        Ok(XskMap { map })
    }

    /// Takes an fd that must be an XSKMAP (as received from a device plugin).
    pub fn from_fd(fd: OwnedFd) -> Result<XskMap> {
        Self::from_map(Map::from_fd(fd)?)
    }

    /// Puts the AF_XDP socket `socket` at `queue`: frames the redirect program
    /// sees on that queue go to it. The socket must be bound to that queue of
    /// the netdev the program runs on.
    pub fn insert(&self, queue: u32, socket: BorrowedFd<'_>) -> Result<()> {
        let fd = socket.as_raw();
        self.map
            .update(&queue.to_ne_bytes(), &fd.to_ne_bytes())
            .map_err(|e| match e.errno() {
                Some(errno) => {
                    let err = Error::sys(
                        "insert socket into XSKMAP",
                        format!("map {} queue {queue}", self.id()),
                        errno,
                    );
                    match errno {
                        Errno::E2BIG => err.with_hint(format!(
                            "the map has {} entries: queue {queue} is past its end",
                            self.max_entries()
                        )),
                        Errno::EOPNOTSUPP | Errno::EINVAL => {
                            err.with_hint("the socket must be a bound AF_XDP socket")
                        }
                        Errno::EPERM => err.with_hint("the map fd was opened read-only"),
                        _ => err,
                    }
                }
                None => e,
            })
    }

    /// Clears `queue`; `false` if it held no socket.
    pub fn remove(&self, queue: u32) -> Result<bool> {
        self.map.delete(&queue.to_ne_bytes())
    }

    /// Number of queues the map can hold.
    pub fn max_entries(&self) -> u32 {
        self.map.info().max_entries
    }

    /// The map's kernel-wide id.
    pub fn id(&self) -> u32 {
        self.map.id()
    }

    /// The underlying map.
    pub fn map(&self) -> &Map {
        &self.map
    }

    /// The map's fd.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.map.as_fd()
    }

    /// Pins the map at `path` inside a bpffs.
    pub fn pin(&self, path: &Path) -> Result<()> {
        self.map.pin(path)
    }

    /// Gives up the map, keeping its fd.
    pub fn into_fd(self) -> OwnedFd {
        self.map.into_fd()
    }
}
