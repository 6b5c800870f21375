//! [`XdpProgram`]: loading the embedded redirect program for an XSKMAP (the
//! variant picked by probing the kernel, or given), or any XDP program, with
//! the verifier's log when the kernel refuses it.

use std::path::Path;
use std::sync::OnceLock;

use afxdp_core::abi::bpf::{
    object_name, BpfInsn, BpfProgInfo, BPF_LOG_LEVEL1, BPF_PROG_TYPE_XDP, XDP_PASS,
};
pub use afxdp_core::ebpf::RedirectVariant;
use afxdp_core::ebpf::{RedirectProgram, LICENSE};
use afxdp_core::Errno;
use afxdp_sys::bpf::{self, ProgLoad};
use afxdp_sys::{BorrowedFd, OwnedFd};

use crate::error::{privilege_hint, Error, Result};
use crate::map::XskMap;

/// Size of the buffer the verifier log is read into when a load fails.
const LOG_SIZE: usize = 1 << 20;

/// A loaded XDP program.
#[derive(Debug)]
pub struct XdpProgram {
    fd: OwnedFd,
    info: BpfProgInfo,
    variant: Option<RedirectVariant>,
}

impl XdpProgram {
    /// Loads the redirect program for `map`: `variant`, or the one this
    /// kernel runs correctly (see [`probe_variant`]) when `None`.
    ///
    /// ```no_run
    /// use af_xdp::{XdpProgram, XskMap};
    /// let map = XskMap::create(4, "xsks_map")?;
    /// let prog = XdpProgram::load_redirect(&map, None)?;
    /// println!("loaded {} as prog id {}", prog.variant().unwrap(), prog.id());
    /// # Ok::<(), af_xdp::Error>(())
    /// ```
    pub fn load_redirect(map: &XskMap, variant: Option<RedirectVariant>) -> Result<XdpProgram> {
        let variant = match variant {
            Some(v) => v,
            None => probe_variant()?,
        };
        let program = RedirectProgram::new(variant, map.as_fd().as_raw());
        let mut prog = Self::load(
            program.insns(),
            "afxdp_redirect",
            &format!("afxdp_redirect ({variant})"),
        )?;
        prog.variant = Some(variant);
        Ok(prog)
    }

    /// Loads any XDP program. The first attempt asks for no log (it is
    /// cheaper); if the kernel refuses the program, it is loaded again with
    /// the log on, and the error carries the log as its detail.
    pub fn load(insns: &[BpfInsn], name: &str, subject: &str) -> Result<XdpProgram> {
        let mut req = ProgLoad {
            prog_type: BPF_PROG_TYPE_XDP,
            insns,
            license: LICENSE,
            name: object_name(name),
            expected_attach_type: 0,
            prog_flags: 0,
            log_level: 0,
        };
        let fd = match bpf::prog_load(&req, &mut []) {
            Ok(fd) => fd,
            Err(first) => {
                let errno = first.errno;
                // EPERM is privileges; EACCES and EINVAL are the verifier's.
                if errno == Errno::EPERM {
                    let hint = privilege_hint(errno, "loading a BPF program").unwrap_or_default();
                    return Err(Error::sys("BPF_PROG_LOAD", subject, errno).with_hint(hint));
                }
                req.log_level = BPF_LOG_LEVEL1;
                let mut log = vec![0u8; LOG_SIZE];
                match bpf::prog_load(&req, &mut log) {
                    // Loads with the log on: odd, but a program is a program.
                    Ok(fd) => fd,
                    Err(e) => {
                        let text = String::from_utf8_lossy(e.log).trim_end().to_string();
                        // ENOSPC on the retry only says the log was cut; the
                        // first attempt's errno is the verdict.
                        let errno = if e.errno == Errno::ENOSPC {
                            errno
                        } else {
                            e.errno
                        };
                        let err = Error::sys("BPF_PROG_LOAD", subject, errno);
                        let err = if text.is_empty() {
                            err
                        } else {
                            err.with_detail(format!("verifier log:\n{text}"))
                        };
                        return Err(err.with_hint(
                            "the kernel's verifier refused the program; its log says why",
                        ));
                    }
                }
            }
        };
        Self::from_fd(fd).map_err(|e| e.with_hint(format!("loading {subject}")))
    }

    /// Takes an fd that must be a BPF program.
    pub fn from_fd(fd: OwnedFd) -> Result<XdpProgram> {
        let info = bpf::prog_info(fd.as_fd())
            .map_err(|e| Error::sys("BPF_OBJ_GET_INFO_BY_FD", format!("fd {}", fd.as_raw()), e))?;
        Ok(XdpProgram {
            fd,
            info,
            variant: None,
        })
    }

    /// Opens the XDP program pinned at `path` (`BPF_OBJ_GET`; no
    /// `CAP_SYS_ADMIN` needed, unlike [`from_id`](Self::from_id)). What is
    /// pinned there must be an XDP program.
    pub fn open_pinned(path: &Path) -> Result<XdpProgram> {
        let c = crate::map::c_path("BPF_OBJ_GET", path)?;
        let fd = bpf::obj_get(&c, 0).map_err(|e| Error::sys("BPF_OBJ_GET", path.display(), e))?;
        let prog = Self::from_fd(fd)?;
        if prog.info.prog_type != BPF_PROG_TYPE_XDP {
            return Err(Error::invalid(
                "open pinned program",
                path.display(),
                format!(
                    "what is pinned there is not an XDP program (type {})",
                    prog.info.prog_type
                ),
            ));
        }
        Ok(prog)
    }

    /// Pins the program at `path`, inside a bpffs (`BPF_OBJ_PIN`).
    pub fn pin(&self, path: &Path) -> Result<()> {
        crate::map::pin_fd(self.fd.as_fd(), path)
    }

    /// Opens the program with id `id` (needs `CAP_SYS_ADMIN`).
    pub fn from_id(id: u32) -> Result<XdpProgram> {
        let fd = bpf::prog_get_fd_by_id(id)
            .map_err(|e| Error::sys("BPF_PROG_GET_FD_BY_ID", format!("prog id {id}"), e))?;
        Self::from_fd(fd)
    }

    /// The program's kernel-wide id.
    pub fn id(&self) -> u32 {
        self.info.id
    }

    /// The program's name as the kernel keeps it.
    pub fn name(&self) -> String {
        String::from_utf8_lossy(afxdp_core::abi::bpf::name_bytes(&self.info.name)).into_owned()
    }

    /// Which redirect variant this is, if it was loaded as one.
    pub fn variant(&self) -> Option<RedirectVariant> {
        self.variant
    }

    /// What the kernel says about the program.
    pub fn info(&self) -> &BpfProgInfo {
        &self.info
    }

    /// The ids of the maps the program uses.
    pub fn map_ids(&self) -> Result<Vec<u32>> {
        let mut ids = vec![0u32; 16];
        loop {
            let n = bpf::prog_map_ids(self.as_fd(), &mut ids).map_err(|e| {
                Error::sys(
                    "BPF_OBJ_GET_INFO_BY_FD",
                    format!("prog id {}", self.id()),
                    e,
                )
            })?;
            if n <= ids.len() {
                ids.truncate(n);
                return Ok(ids);
            }
            ids.resize(n, 0);
        }
    }

    /// Runs the program once on `frame` (`BPF_PROG_TEST_RUN`) and returns
    /// its verdict.
    pub fn test_run(&self, frame: &[u8]) -> Result<u32> {
        bpf::prog_test_run(self.as_fd(), frame)
            .map_err(|e| Error::sys("BPF_PROG_TEST_RUN", format!("prog id {}", self.id()), e))
    }

    /// The program's fd.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The redirect variant this kernel runs correctly.
///
/// Loads the fallback variant (one helper call, kernel 5.3+) for an empty
/// XSKMAP and runs it once: a kernel that honours the fallback action
/// answers `XDP_PASS`. A kernel that loads it but does not honour the flags
/// (a partial backport) answers `XDP_ABORTED`: then the lookup variant is
/// the one to use. If test runs are not available, the fallback variant is
/// assumed (every kernel with `BPF_PROG_TEST_RUN` for XDP, 4.16+, is checked
/// properly). The answer is computed once per process.
pub fn probe_variant() -> Result<RedirectVariant> {
    static PROBED: OnceLock<RedirectVariant> = OnceLock::new();
    if let Some(v) = PROBED.get() {
        return Ok(*v);
    }
    let map = XskMap::create(1, "afxdp_probe")?;
    let program = RedirectProgram::new(RedirectVariant::Fallback, map.as_fd().as_raw());
    let variant = match XdpProgram::load(program.insns(), "afxdp_probe", "afxdp_probe (fallback)") {
        Err(_) => RedirectVariant::Lookup,
        Ok(prog) => {
            let frame = [0u8; 64];
            match bpf::prog_test_run(prog.as_fd(), &frame) {
                Ok(verdict) if verdict == XDP_PASS as u32 => RedirectVariant::Fallback,
                Ok(_) => RedirectVariant::Lookup,
                Err(Errno::EINVAL | Errno::ENOTSUPP | Errno::EOPNOTSUPP) => {
                    RedirectVariant::Fallback
                }
                Err(e) => return Err(Error::sys("BPF_PROG_TEST_RUN", "afxdp_probe", e)),
            }
        }
    };
    Ok(*PROBED.get_or_init(|| variant))
}
