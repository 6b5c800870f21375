//! A test's own directory under the temp directory, removed on drop.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::unique_path;

/// A uniquely named directory under the temp directory
/// (`afxdp-<tag>-<pid>-<n>`), removed with everything in it on drop (also
/// when the test panics).
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates the directory (its mode is what the umask leaves).
    pub fn new(tag: &str) -> TempDir {
        let dir = TempDir::uncreated(tag);
        std::fs::create_dir_all(&dir.path)
            .unwrap_or_else(|e| panic!("create {}: {e}", dir.path.display()));
        dir
    }

    /// Creates the directory with `mode`, whatever the umask (0o755: other
    /// users, a pod's uid say, may search it).
    pub fn with_mode(tag: &str, mode: u32) -> TempDir {
        let dir = TempDir::new(tag);
        std::fs::set_permissions(&dir.path, std::fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", dir.path.display()));
        dir
    }

    /// Only the unique path, not created: for code under test that makes
    /// the directory itself (a server its socket directory). Whatever is
    /// there on drop is removed all the same.
    pub fn uncreated(tag: &str) -> TempDir {
        TempDir {
            path: unique_path(tag),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory as a `&str`, for command lines (the temp directory's
    /// path is UTF-8 on any machine these tests run on).
    pub fn to_str(&self) -> &str {
        self.path
            .to_str()
            .expect("the temp directory's path is UTF-8")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
