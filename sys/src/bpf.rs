//! bpf(2): maps, pinning, program loading with the verifier log, links, and
//! object info. One function per command.

use core::ffi::CStr;
use core::mem::size_of;

use afxdp_core::abi::bpf::{
    BpfInsn, BpfLinkInfo, BpfMapInfo, BpfProgInfo, InfoByFdAttr, LinkCreateAttr, MapCreateAttr,
    MapElemAttr, ObjAttr, ProgLoadAttr, TestRunAttr, BPF_LINK_CREATE, BPF_LINK_DETACH,
    BPF_MAP_CREATE, BPF_MAP_DELETE_ELEM, BPF_MAP_GET_FD_BY_ID, BPF_MAP_GET_NEXT_KEY,
    BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM, BPF_OBJ_GET, BPF_OBJ_GET_INFO_BY_FD,
    BPF_OBJ_NAME_LEN, BPF_OBJ_PIN, BPF_PROG_GET_FD_BY_ID, BPF_PROG_LOAD, BPF_PROG_TEST_RUN,
};

use crate::arch::{nr, syscall3};
use crate::{check, check_fd, BorrowedFd, Errno, OwnedFd, Result};

/// Issues `bpf(cmd, attr, sizeof(*attr))`.
///
/// # Safety
/// `attr` is the attribute struct of `cmd`, and every address in it is valid
/// for what `cmd` does with it (reads or writes of the sizes it implies).
#[inline]
unsafe fn sys_bpf<T>(cmd: u32, attr: &mut T) -> isize {
    // SAFETY: forwarded to the caller.
    unsafe {
        syscall3(
            nr::BPF,
            cmd as usize,
            attr as *mut T as usize,
            size_of::<T>(),
        )
    }
}

/// `BPF_MAP_CREATE`: creates a map; the fd is close-on-exec (the kernel sets
/// `O_CLOEXEC` on every bpf fd).
pub fn map_create(attr: &MapCreateAttr) -> Result<OwnedFd> {
    let mut attr = *attr;
    // SAFETY: MAP_CREATE reads only the attribute itself; it holds no addresses.
    check_fd(unsafe { sys_bpf(BPF_MAP_CREATE, &mut attr) })
}

/// The attribute of the `BPF_MAP_*_ELEM` and `GET_NEXT_KEY` commands.
fn elem_attr(map: BorrowedFd<'_>, key: *const u8, value: *const u8, flags: u64) -> MapElemAttr {
    MapElemAttr {
        map_fd: map.as_raw() as u32,
        key: key as u64,
        value_or_next_key: value as u64,
        flags,
        ..Default::default()
    }
}

/// `BPF_MAP_LOOKUP_ELEM`: copies the value stored under `key` into `value`.
///
/// # Safety
/// `key` is readable for the map's `key_size` bytes and `value` writable for
/// its value size (`value_size`, or for per-CPU maps `round_up(value_size, 8)`
/// times the number of possible CPUs).
pub unsafe fn map_lookup_elem(
    map: BorrowedFd<'_>,
    key: *const u8,
    value: *mut u8,
    flags: u64,
) -> Result<()> {
    let mut attr = elem_attr(map, key, value, flags);
    // SAFETY: the caller vouches for the key and value buffers.
    check(unsafe { sys_bpf(BPF_MAP_LOOKUP_ELEM, &mut attr) }).map(drop)
}

/// `BPF_MAP_UPDATE_ELEM`: stores `value` under `key` (`flags`: `BPF_ANY`,
/// `BPF_NOEXIST`, `BPF_EXIST`).
///
/// # Safety
/// `key` is readable for the map's `key_size` bytes and `value` for its
/// value size (see [`map_lookup_elem`]).
pub unsafe fn map_update_elem(
    map: BorrowedFd<'_>,
    key: *const u8,
    value: *const u8,
    flags: u64,
) -> Result<()> {
    let mut attr = elem_attr(map, key, value, flags);
    // SAFETY: the caller vouches for the key and value buffers; UPDATE only
    // reads them.
    check(unsafe { sys_bpf(BPF_MAP_UPDATE_ELEM, &mut attr) }).map(drop)
}

/// `BPF_MAP_DELETE_ELEM`: deletes the element under `key`.
///
/// # Safety
/// `key` is readable for the map's `key_size` bytes.
pub unsafe fn map_delete_elem(map: BorrowedFd<'_>, key: *const u8) -> Result<()> {
    let mut attr = elem_attr(map, key, core::ptr::null(), 0);
    // SAFETY: the caller vouches for the key buffer; DELETE only reads it.
    check(unsafe { sys_bpf(BPF_MAP_DELETE_ELEM, &mut attr) }).map(drop)
}

/// `BPF_MAP_GET_NEXT_KEY`: writes the key after `key` (or the first key when
/// `key` is null) into `next_key`; `ENOENT` after the last.
///
/// # Safety
/// `key` is null or readable for the map's `key_size` bytes; `next_key` is
/// writable for `key_size` bytes.
pub unsafe fn map_get_next_key(
    map: BorrowedFd<'_>,
    key: *const u8,
    next_key: *mut u8,
) -> Result<()> {
    let mut attr = elem_attr(map, key, next_key, 0);
    // SAFETY: the caller vouches for both key buffers.
    check(unsafe { sys_bpf(BPF_MAP_GET_NEXT_KEY, &mut attr) }).map(drop)
}

/// `BPF_OBJ_PIN`: pins a map, program or link at `path` in a bpffs.
pub fn obj_pin(obj: BorrowedFd<'_>, path: &CStr) -> Result<()> {
    let mut attr = ObjAttr {
        pathname: path.as_ptr() as u64,
        bpf_fd: obj.as_raw() as u32,
        ..Default::default()
    };
    // SAFETY: `pathname` is a NUL-terminated string that outlives the call.
    check(unsafe { sys_bpf(BPF_OBJ_PIN, &mut attr) }).map(drop)
}

/// `BPF_OBJ_GET`: opens the object pinned at `path` (`file_flags`: 0 for
/// read-write, `BPF_F_RDONLY`, `BPF_F_WRONLY`).
pub fn obj_get(path: &CStr, file_flags: u32) -> Result<OwnedFd> {
    let mut attr = ObjAttr {
        pathname: path.as_ptr() as u64,
        file_flags,
        ..Default::default()
    };
    // SAFETY: `pathname` is a NUL-terminated string that outlives the call.
    check_fd(unsafe { sys_bpf(BPF_OBJ_GET, &mut attr) })
}

/// `BPF_MAP_GET_FD_BY_ID`: opens a map by its id (needs `CAP_SYS_ADMIN`).
pub fn map_get_fd_by_id(id: u32) -> Result<OwnedFd> {
    // The attribute is `{ u32 id; u32 next_id; u32 open_flags; }`.
    let mut attr = [id, 0, 0];
    // SAFETY: GET_FD_BY_ID reads only the attribute, which holds no addresses.
    check_fd(unsafe { sys_bpf(BPF_MAP_GET_FD_BY_ID, &mut attr) })
}

/// `BPF_PROG_GET_FD_BY_ID`: opens a program by its id (needs `CAP_SYS_ADMIN`).
pub fn prog_get_fd_by_id(id: u32) -> Result<OwnedFd> {
    let mut attr = [id, 0, 0];
    // SAFETY: GET_FD_BY_ID reads only the attribute, which holds no addresses.
    check_fd(unsafe { sys_bpf(BPF_PROG_GET_FD_BY_ID, &mut attr) })
}

/// `BPF_OBJ_GET_INFO_BY_FD` into a caller-typed info struct; returns the
/// number of bytes the kernel filled.
///
/// # Safety
/// `T` is an info struct for the kind of object `obj` is, and any address in
/// `info` is valid for what the kernel writes there (zeroed pointers with zero
/// counts ask for nothing).
pub unsafe fn obj_get_info<T>(obj: BorrowedFd<'_>, info: &mut T) -> Result<u32> {
    let mut attr = InfoByFdAttr {
        bpf_fd: obj.as_raw() as u32,
        info_len: size_of::<T>() as u32,
        info: info as *mut T as u64,
    };
    // SAFETY: the kernel writes at most `info_len` bytes into `info`, which
    // is that big; the caller vouches for the addresses inside it.
    check(unsafe { sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr) })?;
    Ok(attr.info_len)
}

/// `BPF_OBJ_GET_INFO_BY_FD` on a map. `EINVAL` if `map` is not a map.
pub fn map_info(map: BorrowedFd<'_>) -> Result<BpfMapInfo> {
    let mut info = BpfMapInfo::default();
    // SAFETY: a zeroed `bpf_map_info` holds no addresses.
    unsafe { obj_get_info(map, &mut info)? };
    Ok(info)
}

/// `BPF_OBJ_GET_INFO_BY_FD` on a program (without the arrays it can return).
pub fn prog_info(prog: BorrowedFd<'_>) -> Result<BpfProgInfo> {
    let mut info = BpfProgInfo::default();
    // SAFETY: a zeroed `bpf_prog_info` asks for no arrays, so the kernel
    // writes nothing outside the struct.
    unsafe { obj_get_info(prog, &mut info)? };
    Ok(info)
}

/// `BPF_OBJ_GET_INFO_BY_FD` on a link (type, id, program, and the start of
/// its per-type data).
pub fn link_info(link: BorrowedFd<'_>) -> Result<BpfLinkInfo> {
    let mut info = BpfLinkInfo::default();
    // SAFETY: `bpf_link_info` holds no addresses the kernel would write
    // through for an XDP link; unknown types only fill the union's words.
    unsafe { obj_get_info(link, &mut info)? };
    Ok(info)
}

/// What to load with [`prog_load`].
#[derive(Clone, Copy, Debug)]
pub struct ProgLoad<'a> {
    /// `BPF_PROG_TYPE_*`.
    pub prog_type: u32,
    /// The instructions, map fds already patched in.
    pub insns: &'a [BpfInsn],
    /// License string (`"GPL"`, `"Dual MIT/GPL"`): GPL-only helpers need a
    /// GPL-compatible one.
    pub license: &'a CStr,
    /// Program name (letters, digits, `_`, `.`; cut at 15 bytes).
    pub name: [u8; BPF_OBJ_NAME_LEN],
    /// Expected attach type (0 for none).
    pub expected_attach_type: u32,
    /// `BPF_F_*` program flags.
    pub prog_flags: u32,
    /// Verifier log level: 0 for none, `BPF_LOG_LEVEL1` for the usual log.
    pub log_level: u32,
}

/// A failed [`prog_load`]: the errno and what the verifier wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgLoadError<'log> {
    /// The kernel's error (`EACCES` and `EINVAL` are the verifier's).
    pub errno: Errno,
    /// The verifier log up to its NUL (empty with log level 0). `ENOSPC` means
    /// the log did not fit the buffer and was cut.
    pub log: &'log [u8],
}

/// `BPF_PROG_LOAD`: verifies and loads a program. With a non-zero
/// `log_level` the verifier writes its log into `log`, which on failure is
/// returned with the errno.
///
/// `EINVAL` if the log level is non-zero and `log` is shorter than 128 bytes,
/// or more than `u32::MAX` bytes long.
pub fn prog_load<'log>(
    prog: &ProgLoad<'_>,
    log: &'log mut [u8],
) -> core::result::Result<OwnedFd, ProgLoadError<'log>> {
    let (log_buf, log_size) = if prog.log_level == 0 {
        (0, 0)
    } else {
        match u32::try_from(log.len()) {
            Ok(n) if n >= 128 => (log.as_mut_ptr() as u64, n),
            _ => {
                return Err(ProgLoadError {
                    errno: Errno::EINVAL,
                    log: &[],
                })
            }
        }
    };
    if let Some(first) = log.first_mut() {
        *first = 0;
    }
    let insn_cnt = match u32::try_from(prog.insns.len()) {
        Ok(n) => n,
        Err(_) => {
            return Err(ProgLoadError {
                errno: Errno::E2BIG,
                log: &[],
            })
        }
    };
    let mut attr = ProgLoadAttr {
        prog_type: prog.prog_type,
        insn_cnt,
        insns: prog.insns.as_ptr() as u64,
        license: prog.license.as_ptr() as u64,
        log_level: prog.log_level,
        log_size,
        log_buf,
        prog_flags: prog.prog_flags,
        prog_name: prog.name,
        expected_attach_type: prog.expected_attach_type,
        ..Default::default()
    };
    // SAFETY: `insns` is `insn_cnt` instructions and `license` a C string,
    // both read only; the kernel writes at most `log_size` bytes to `log_buf`,
    // which is `log`. All outlive the call.
    let ret = unsafe { sys_bpf(BPF_PROG_LOAD, &mut attr) };
    check_fd(ret).map_err(|errno| {
        let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
        ProgLoadError {
            errno,
            log: &log[..end],
        }
    })
}

/// `BPF_LINK_CREATE` for XDP: attaches `prog` to the netdev `ifindex` for as
/// long as the returned link fd (or a pin of it) lives. `flags` selects the
/// mode (`XDP_FLAGS_SKB_MODE`, `XDP_FLAGS_DRV_MODE`, or 0 for the best).
/// Kernel 5.9+; `EBUSY` if a program is already attached through netlink.
pub fn link_create_xdp(prog: BorrowedFd<'_>, ifindex: u32, flags: u32) -> Result<OwnedFd> {
    let mut attr = LinkCreateAttr {
        prog_fd: prog.as_raw() as u32,
        target_ifindex: ifindex,
        attach_type: afxdp_core::abi::bpf::BPF_XDP,
        flags,
    };
    // SAFETY: LINK_CREATE for BPF_XDP reads only the attribute; no addresses.
    check_fd(unsafe { sys_bpf(BPF_LINK_CREATE, &mut attr) })
}

/// `BPF_LINK_DETACH`: detaches a link from its hook; the fd stays open but
/// defunct (kernel 5.9+).
pub fn link_detach(link: BorrowedFd<'_>) -> Result<()> {
    let mut attr = [link.as_raw() as u32];
    // SAFETY: LINK_DETACH reads only the attribute; no addresses.
    check(unsafe { sys_bpf(BPF_LINK_DETACH, &mut attr) }).map(drop)
}

/// `BPF_PROG_TEST_RUN`: runs `prog` once on the packet `data` and returns
/// its return value (for XDP, the verdict). Used to probe what a kernel
/// really does with a program before attaching it. `data` must be at least
/// an Ethernet header (14 bytes) for XDP.
pub fn prog_test_run(prog: BorrowedFd<'_>, data: &[u8]) -> Result<u32> {
    let mut attr = TestRunAttr {
        prog_fd: prog.as_raw() as u32,
        data_size_in: u32::try_from(data.len()).map_err(|_| Errno::E2BIG)?,
        data_in: data.as_ptr() as u64,
        repeat: 1,
        ..Default::default()
    };
    // SAFETY: the kernel reads `data_size_in` bytes from `data_in`, which is
    // `data`; no output buffers are given.
    check(unsafe { sys_bpf(BPF_PROG_TEST_RUN, &mut attr) })?;
    Ok(attr.retval)
}

/// The ids of the maps `prog` uses, written into `ids`; returns how many the
/// program has (which may exceed `ids.len()`).
pub fn prog_map_ids(prog: BorrowedFd<'_>, ids: &mut [u32]) -> Result<usize> {
    let mut info = BpfProgInfo {
        nr_map_ids: u32::try_from(ids.len()).map_err(|_| Errno::E2BIG)?,
        map_ids: ids.as_mut_ptr() as u64,
        ..Default::default()
    };
    // SAFETY: the kernel writes at most `nr_map_ids` u32s to `map_ids`, which
    // is `ids`; every other array is absent.
    unsafe { obj_get_info(prog, &mut info)? };
    Ok(info.nr_map_ids as usize)
}
