//! bpf(2) map operations against the running kernel: create an XSKMAP and an
//! ARRAY, update/look up/delete/iterate, pin into a private bpffs, get them
//! back, and check what the kernel says about them; and the error paths.

use std::ffi::CString;

use afxdp_core::abi::bpf::{
    MapCreateAttr, BPF_ANY, BPF_EXIST, BPF_F_RDONLY, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_XSKMAP,
    BPF_NOEXIST,
};
use afxdp_sys::{bpf, BorrowedFd, Errno};
use afxdp_testkit::{open_fds, privileged, serial, with_bpffs};

fn create(
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
) -> Result<afxdp_sys::OwnedFd, Errno> {
    bpf::map_create(&MapCreateAttr {
        map_type,
        key_size,
        value_size,
        max_entries,
        map_name: afxdp_core::abi::bpf::object_name("afxdp_test"),
        ..Default::default()
    })
}

fn update(map: BorrowedFd<'_>, key: u32, value: u64, flags: u64) -> Result<(), Errno> {
    // SAFETY: the array's key is 4 bytes and its value 8, as passed.
    unsafe {
        bpf::map_update_elem(
            map,
            (&key as *const u32).cast(),
            (&value as *const u64).cast(),
            flags,
        )
    }
}

fn lookup(map: BorrowedFd<'_>, key: u32) -> Result<u64, Errno> {
    let mut value = 0u64;
    // SAFETY: the array's key is 4 bytes and its value 8, as passed.
    unsafe {
        bpf::map_lookup_elem(
            map,
            (&key as *const u32).cast(),
            (&mut value as *mut u64).cast(),
            0,
        )?
    };
    Ok(value)
}

fn next_key(map: BorrowedFd<'_>, key: Option<u32>) -> Result<u32, Errno> {
    let mut next = 0u32;
    let kp = key
        .as_ref()
        .map_or(std::ptr::null(), |k| (k as *const u32).cast());
    // SAFETY: keys are 4 bytes; a null key asks for the first.
    unsafe { bpf::map_get_next_key(map, kp, (&mut next as *mut u32).cast())? };
    Ok(next)
}

#[test]
fn array_and_xskmap_round_trip_through_a_bpffs() {
    if !privileged("array_and_xskmap_round_trip_through_a_bpffs") {
        return;
    }
    let _serial = serial();
    let fds_before = open_fds();
    with_bpffs(|dir| {
        let array = create(BPF_MAP_TYPE_ARRAY, 4, 8, 4).expect("create ARRAY");
        let xsks = create(BPF_MAP_TYPE_XSKMAP, 4, 4, 8).expect("create XSKMAP");

        // Update, look up, iterate on the array.
        for k in 0..4u32 {
            update(array.as_fd(), k, 1000 + u64::from(k), BPF_ANY).unwrap();
        }
        assert_eq!(lookup(array.as_fd(), 2).unwrap(), 1002);
        assert_eq!(
            update(array.as_fd(), 9, 1, BPF_ANY),
            Err(Errno::E2BIG),
            "key past max_entries"
        );
        assert_eq!(
            update(array.as_fd(), 1, 1, BPF_NOEXIST),
            Err(Errno::EEXIST),
            "array slots always exist"
        );
        update(array.as_fd(), 1, 77, BPF_EXIST).unwrap();
        assert_eq!(lookup(array.as_fd(), 1).unwrap(), 77);
        let mut keys = vec![];
        let mut key = None;
        while let Ok(k) = next_key(array.as_fd(), key) {
            keys.push(k);
            key = Some(k);
        }
        assert_eq!(keys, vec![0, 1, 2, 3]);
        assert_eq!(next_key(array.as_fd(), Some(3)), Err(Errno::ENOENT));
        // Array elements cannot be deleted; the kernel says EINVAL.
        let k = 0u32;
        // SAFETY: 4-byte key.
        let del = unsafe { bpf::map_delete_elem(array.as_fd(), (&k as *const u32).cast()) };
        assert_eq!(del, Err(Errno::EINVAL));
        // An empty XSKMAP slot: lookup from user space is ENOENT or
        // EOPNOTSUPP depending on the kernel; delete of an empty slot works.
        let mut v = 0u32;
        // SAFETY: 4-byte key and value.
        let r = unsafe {
            bpf::map_lookup_elem(
                xsks.as_fd(),
                (&k as *const u32).cast(),
                (&mut v as *mut u32).cast(),
                0,
            )
        };
        assert!(
            matches!(r, Err(Errno::ENOENT) | Err(Errno::EOPNOTSUPP)),
            "{r:?}"
        );
        // SAFETY: 4-byte key.
        let del = unsafe { bpf::map_delete_elem(xsks.as_fd(), (&k as *const u32).cast()) };
        assert!(matches!(del, Ok(()) | Err(Errno::ENOENT)), "{del:?}");

        // Pin both, then get them back by path.
        let array_path = CString::new(dir.join("array").to_str().unwrap()).unwrap();
        let xsks_path = CString::new(dir.join("xsks_map").to_str().unwrap()).unwrap();
        bpf::obj_pin(array.as_fd(), &array_path).expect("pin array");
        bpf::obj_pin(xsks.as_fd(), &xsks_path).expect("pin xskmap");
        assert_eq!(bpf::obj_pin(array.as_fd(), &array_path), Err(Errno::EEXIST));
        let array2 = bpf::obj_get(&array_path, 0).expect("get array");
        let xsks2 = bpf::obj_get(&xsks_path, BPF_F_RDONLY).expect("get xskmap read-only");

        // Same objects: same ids, types and sizes as created.
        let (a1, a2) = (
            bpf::map_info(array.as_fd()).unwrap(),
            bpf::map_info(array2.as_fd()).unwrap(),
        );
        assert_eq!(a1.id, a2.id);
        assert_eq!(
            (a2.map_type, a2.key_size, a2.value_size, a2.max_entries),
            (BPF_MAP_TYPE_ARRAY, 4, 8, 4)
        );
        assert_eq!(afxdp_core::abi::bpf::name_bytes(&a2.name), b"afxdp_test");
        let (x1, x2) = (
            bpf::map_info(xsks.as_fd()).unwrap(),
            bpf::map_info(xsks2.as_fd()).unwrap(),
        );
        assert_eq!(x1.id, x2.id);
        assert_eq!(
            (x2.map_type, x2.key_size, x2.value_size, x2.max_entries),
            (BPF_MAP_TYPE_XSKMAP, 4, 4, 8)
        );
        // What was written through one fd is read through the other.
        assert_eq!(lookup(array2.as_fd(), 2).unwrap(), 1002);
        // A read-only fd refuses writes.
        let one = 1u32;
        // SAFETY: 4-byte key and value.
        let w = unsafe {
            bpf::map_update_elem(
                xsks2.as_fd(),
                (&k as *const u32).cast(),
                (&one as *const u32).cast(),
                BPF_ANY,
            )
        };
        assert_eq!(w, Err(Errno::EPERM));

        // A missing pin path is ENOENT.
        let missing = CString::new(dir.join("nothing-here").to_str().unwrap()).unwrap();
        assert_eq!(bpf::obj_get(&missing, 0).unwrap_err(), Errno::ENOENT);
    });
    assert_eq!(open_fds(), fds_before, "every fd was closed");
}

#[test]
fn bad_map_sizes_get_the_kernels_errno() {
    if !privileged("bad_map_sizes_get_the_kernels_errno") {
        return;
    }
    let _serial = serial();
    // An XSKMAP holds 4-byte keys and 4-byte values, nothing else.
    assert_eq!(
        create(BPF_MAP_TYPE_XSKMAP, 4, 8, 4).unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(
        create(BPF_MAP_TYPE_XSKMAP, 8, 4, 4).unwrap_err(),
        Errno::EINVAL
    );
    // An array's key is a u32.
    assert_eq!(
        create(BPF_MAP_TYPE_ARRAY, 8, 8, 4).unwrap_err(),
        Errno::EINVAL
    );
    // No entries.
    assert_eq!(
        create(BPF_MAP_TYPE_ARRAY, 4, 8, 0).unwrap_err(),
        Errno::EINVAL
    );
    // An unknown map type.
    assert_eq!(create(10_000, 4, 4, 4).unwrap_err(), Errno::EINVAL);
}

#[test]
fn info_on_something_that_is_not_a_bpf_object_is_einval() {
    if !privileged("info_on_something_that_is_not_a_bpf_object_is_einval") {
        return;
    }
    let _serial = serial();
    let sock = afxdp_sys::xsk::socket().expect("AF_XDP socket");
    assert_eq!(bpf::map_info(sock.as_fd()).unwrap_err(), Errno::EINVAL);
}

#[test]
fn bpf_fds_are_close_on_exec() {
    if !privileged("bpf_fds_are_close_on_exec") {
        return;
    }
    let _serial = serial();
    let map = create(BPF_MAP_TYPE_ARRAY, 4, 4, 1).unwrap();
    // SAFETY: F_GETFD on an fd we own.
    let flags = unsafe { libc::fcntl(map.as_raw(), libc::F_GETFD) };
    assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
}
