//! The server's files, made safely: [`SafeDir`] opens (creating as needed)
//! a directory without following a symlink in any component of its path,
//! and every later operation in it goes through the directory's fd, so a
//! symlink or a rename planted while the server runs cannot redirect it.
//! A stale socket left by a crashed predecessor is replaced only if it
//! really is a socket.

use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd as StdOwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{self, AtFlags, FileType, Mode, OFlags, CWD};
use rustix::process::{Gid, Uid};

use crate::error::{Error, ErrorKind, Result};

/// Owner and group to give a file (`None`: leave as is).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Owner {
    /// The owning uid.
    pub uid: Option<u32>,
    /// The owning gid.
    pub gid: Option<u32>,
}

impl Owner {
    /// Whether anything is to change.
    pub fn is_set(&self) -> bool {
        self.uid.is_some() || self.gid.is_some()
    }
}

pub(crate) fn io_err(op: &'static str, path: &Path, e: rustix::io::Errno) -> Error {
    Error::sys(
        op,
        path.display(),
        afxdp_core::Errno::from_raw(e.raw_os_error()),
    )
}

/// A directory opened without following symlinks, and its path (for
/// messages and for clients).
#[derive(Debug)]
pub struct SafeDir {
    fd: StdOwnedFd,
    path: PathBuf,
}

impl SafeDir {
    /// Opens `path`, creating missing components with `create_mode`; no
    /// component may be a symlink (`ELOOP`), and `..` is refused. The last
    /// component, whether created or found, must be owned by this process's
    /// effective uid (otherwise whoever owns it could swap what the server
    /// puts there). A directory that existed keeps its mode (`--dir /tmp`
    /// leaves `/tmp` as it is); one created here gets `create_mode`
    /// exactly, whatever the umask.
    pub fn open(path: &Path, create_mode: u32) -> Result<SafeDir> {
        let fd = walk(path, Some(create_mode))?;
        check_ours(&fd, path)?;
        Ok(SafeDir {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// Opens the existing directory `path` without following a symlink in
    /// any component, and without changing it (for a directory that is not
    /// ours, such as `/tmp`).
    pub fn open_existing(path: &Path) -> Result<SafeDir> {
        Ok(SafeDir {
            fd: walk(path, None)?,
            path: path.to_path_buf(),
        })
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens (creating as needed) the subdirectory `name` of this one; it
    /// must be (or becomes) this process's, with `mode` and, if given, the
    /// group `group` (so that a pod's gid may search it while only root can
    /// change what is in it).
    pub fn subdir(&self, name: &str, mode: u32, group: Option<u32>) -> Result<SafeDir> {
        let path = self.path.join(name);
        check_name(name, &path)?;
        let (fd, _) = open_or_create(&self.fd, OsStr::new(name), mode, &path)?;
        check_ours(&fd, &path)?;
        fs::fchmod(&fd, Mode::from_raw_mode(mode)).map_err(|e| io_err("chmod", &path, e))?;
        if let Some(g) = group {
            fs::fchown(&fd, None, Some(Gid::from_raw(g))).map_err(|e| io_err("chown", &path, e))?;
        }
        Ok(SafeDir { fd, path })
    }

    /// A path naming `name` in this directory through the directory's fd
    /// (`/proc/self/fd/N/name`): binding or opening it reaches this very
    /// directory, whatever was renamed or planted along the directory's
    /// path since it was opened.
    pub fn fd_path(&self, name: &str) -> PathBuf {
        use std::os::fd::AsRawFd;
        PathBuf::from(format!("/proc/self/fd/{}/{name}", self.fd.as_raw_fd()))
    }

    /// Removes a stale socket `name` left by a predecessor: only a socket is
    /// removed; anything else there is an error (`EEXIST`), and nothing
    /// there is fine.
    pub fn remove_stale_socket(&self, name: &str) -> Result<()> {
        let path = self.path.join(name);
        match fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Err(e) if e == rustix::io::Errno::NOENT => Ok(()),
            Err(e) => Err(io_err("stat", &path, e)),
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Socket => {
                // Stale only if nobody answers: a live server's socket is
                // not taken over.
                if let Ok(addr) = afxdp_sys::unix::UnixAddr::try_from(self.fd_path(name).as_path())
                {
                    if afxdp_sys::unix::connect_to(&addr).is_ok() {
                        return Err(Error::sys(
                            "replace stale socket",
                            path.display(),
                            afxdp_core::Errno::EADDRINUSE,
                        )
                        .with_detail("another server is listening on it"));
                    }
                }
                fs::unlinkat(&self.fd, name, AtFlags::empty())
                    .map_err(|e| io_err("remove stale socket", &path, e))
            }
            Ok(st) => Err(Error::sys(
                "replace stale socket",
                path.display(),
                afxdp_core::Errno::EEXIST,
            )
            .with_detail(format!(
                "a {} is there, not a socket: refusing to remove it",
                type_name(FileType::from_raw_mode(st.st_mode))
            ))),
        }
    }

    /// Removes `name` if it is a socket (at shutdown, after closing it).
    pub fn remove_socket(&self, name: &str) {
        if let Ok(st) = fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            if FileType::from_raw_mode(st.st_mode) == FileType::Socket {
                let _ = fs::unlinkat(&self.fd, name, AtFlags::empty());
            }
        }
    }

    /// Sets the mode and owner of the socket `name` this process just
    /// bound: reopened without following a symlink, and changed only if it
    /// is that socket (a socket, one link, ours), so that nothing renamed
    /// or linked into its place is changed instead.
    pub fn set_socket_mode_owner(&self, name: &str, mode: u32, owner: Owner) -> Result<()> {
        let path = self.path.join(name);
        let fd = fs::openat(
            &self.fd,
            name,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io_err("open", &path, e))?;
        let st = fs::fstat(&fd).map_err(|e| io_err("stat", &path, e))?;
        let euid = rustix::process::geteuid().as_raw();
        if FileType::from_raw_mode(st.st_mode) != FileType::Socket
            || st.st_nlink != 1
            || st.st_uid != euid
        {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                "set socket mode",
                path.display(),
                "what is there now is not the socket this server bound: refusing to change it",
            ));
        }
        // fchmod/fchown do not take O_PATH fds: go through /proc.
        let proc = {
            use std::os::fd::AsRawFd;
            format!("/proc/self/fd/{}", fd.as_raw_fd())
        };
        fs::chmod(proc.as_str(), Mode::from_raw_mode(mode))
            .map_err(|e| io_err("chmod", &path, e))?;
        if owner.is_set() {
            fs::chown(
                proc.as_str(),
                owner.uid.map(Uid::from_raw),
                owner.gid.map(Gid::from_raw),
            )
            .map_err(|e| io_err("chown", &path, e))?;
        }
        Ok(())
    }

    /// Removes the empty subdirectory `name` (errors are ignored: something
    /// else may be in it).
    pub fn remove_dir(&self, name: &str) {
        let _ = fs::unlinkat(&self.fd, name, AtFlags::REMOVEDIR);
    }
}

/// Walks `path` one component at a time from `/` (or the working
/// directory), following no symlink and refusing `..`. With `create`, a
/// missing component is made with that mode (exactly, whatever the umask);
/// without, every component must exist.
fn walk(path: &Path, create: Option<u32>) -> Result<StdOwnedFd> {
    let flags = OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC;
    let mut cur: StdOwnedFd = if path.is_absolute() {
        fs::open("/", flags, Mode::empty())
    } else {
        fs::openat(CWD, ".", flags, Mode::empty())
    }
    .map_err(|e| io_err("open directory", path, e))?;
    let mut walked = PathBuf::from(if path.is_absolute() { "/" } else { "." });
    for comp in path.components() {
        let name: &OsStr = match comp {
            Component::RootDir | Component::CurDir => continue,
            Component::Normal(n) => n,
            Component::ParentDir | Component::Prefix(_) => {
                return Err(Error::invalid(
                    "open directory",
                    path.display(),
                    "a path with `..` is not accepted",
                ))
            }
        };
        walked.push(name);
        cur = match create {
            Some(mode) => {
                let (fd, made) = open_or_create(&cur, name, mode, &walked)?;
                if made {
                    fs::fchmod(&fd, Mode::from_raw_mode(mode))
                        .map_err(|e| io_err("chmod", &walked, e))?;
                }
                fd
            }
            None => fs::openat(
                &cur,
                name.as_bytes(),
                flags | OFlags::NOFOLLOW,
                Mode::empty(),
            )
            .map_err(|e| io_err("open directory", path, e))?,
        };
    }
    Ok(cur)
}

/// Refuses a directory not owned by this process's effective uid.
fn check_ours(fd: &impl AsFd, path: &Path) -> Result<()> {
    let st = fs::fstat(fd).map_err(|e| io_err("stat directory", path, e))?;
    let euid = rustix::process::geteuid().as_raw();
    if st.st_uid != euid {
        return Err(Error::new(
            ErrorKind::PermissionDenied,
            "open directory",
            path.display(),
            format!(
                "owned by uid {}, not by this process (uid {euid}): refusing to serve from a directory someone else controls",
                st.st_uid
            ),
        )
        .with_hint("remove it, or choose another directory"));
    }
    Ok(())
}

fn check_name(name: &str, path: &Path) -> Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(Error::invalid(
            "open directory",
            path.display(),
            "not a plain file name",
        ));
    }
    Ok(())
}

/// Opens the directory `name` in `parent` (no symlink followed), creating
/// it with `mode` if it is missing; says whether it was created here.
fn open_or_create(
    parent: &impl AsFd,
    name: &OsStr,
    mode: u32,
    path: &Path,
) -> Result<(StdOwnedFd, bool)> {
    let flags = OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut made = false;
    for _ in 0..3 {
        match fs::openat(parent, name.as_bytes(), flags, Mode::empty()) {
            Ok(fd) => return Ok((fd, made)),
            Err(e) if e == rustix::io::Errno::NOENT => {
                match fs::mkdirat(parent, name.as_bytes(), Mode::from_raw_mode(mode)) {
                    Ok(()) => made = true,
                    Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(io_err("create directory", path, e)),
                }
            }
            Err(e) if e == rustix::io::Errno::LOOP || e == rustix::io::Errno::NOTDIR => {
                return Err(io_err("open directory", path, e).with_detail(
                    "a symlink or a non-directory is in the way: refusing to follow it",
                ))
            }
            Err(e) => return Err(io_err("open directory", path, e)),
        }
    }
    Err(Error::sys(
        "create directory",
        path.display(),
        afxdp_core::Errno::EAGAIN,
    ))
}

fn type_name(t: FileType) -> &'static str {
    match t {
        FileType::RegularFile => "regular file",
        FileType::Directory => "directory",
        FileType::Symlink => "symlink",
        FileType::Fifo => "fifo",
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        FileType::Socket => "socket",
        FileType::Unknown => "file of unknown type",
    }
}
