//! `Mmap`'s safe constructors never let a caller pick the address: with
//! `MAP_FIXED` or `MAP_FIXED_NOREPLACE` in the flags they still return a
//! fresh mapping where the kernel chose, never one at address 0, and never
//! leave a mapping behind that nobody owns.

use afxdp_core::abi::mman::{MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_SHARED, PROT_READ, PROT_WRITE};
use afxdp_sys::mm::{Mmap, ADDRESS_CHOOSING_FLAGS};

const LEN: usize = 4 * 4096;

/// Whether `/proc/self/maps` lists a mapping that starts at address 0.
fn something_mapped_at_zero() -> bool {
    let maps = std::fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps");
    maps.lines().any(|l| {
        let start = l.split('-').next().unwrap_or("");
        u64::from_str_radix(start, 16) == Ok(0)
    })
}

/// Writes a pattern over the whole mapping and reads it back.
fn assert_fresh_and_usable(m: &Mmap, seed: u8) {
    assert_eq!(m.len(), LEN);
    assert!(!m.as_ptr().is_null());
    assert_eq!(m.as_ptr() as usize % 4096, 0, "page-aligned");
    // SAFETY: the mapping is LEN readable and writable bytes owned by `m`,
    // and nothing else refers to them.
    let bytes = unsafe { std::slice::from_raw_parts_mut(m.as_ptr(), LEN) };
    assert!(bytes.iter().all(|&b| b == 0), "a fresh mapping is zeroed");
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (i as u8).wrapping_add(seed);
    }
    assert!(bytes
        .iter()
        .enumerate()
        .all(|(i, &b)| b == (i as u8).wrapping_add(seed)));
}

#[test]
fn address_choosing_flags_are_fixed_and_fixed_noreplace() {
    assert_eq!(ADDRESS_CHOOSING_FLAGS, MAP_FIXED | MAP_FIXED_NOREPLACE);
    assert_eq!(ADDRESS_CHOOSING_FLAGS, 0x10 | 0x10_0000);
}

#[test]
fn map_fixed_cannot_make_a_safe_mapping_at_a_chosen_address() {
    // Something the process already owns, which a mapping must not replace.
    let owned = Mmap::anonymous_private(LEN, 0).unwrap();
    assert_fresh_and_usable(&owned, 7);

    for (name, flag) in [
        ("MAP_FIXED", MAP_FIXED),
        ("MAP_FIXED_NOREPLACE", MAP_FIXED_NOREPLACE),
        ("both", MAP_FIXED | MAP_FIXED_NOREPLACE),
    ] {
        // Before the fix the address hint 0 was honoured: as root
        // (CAP_SYS_RAWIO passes mmap_min_addr) the kernel mapped page 0 and
        // `from_ret` returned ENOMEM, leaking it; unprivileged, EPERM.
        let m = Mmap::anonymous_private(LEN, flag).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_ne!(m.as_ptr() as usize, 0, "{name}");
        assert_fresh_and_usable(&m, 1);
        let m2 = Mmap::anonymous(LEN, PROT_READ | PROT_WRITE, MAP_SHARED | flag)
            .unwrap_or_else(|e| panic!("{name}, shared: {e}"));
        assert_fresh_and_usable(&m2, 2);
        let (a, b) = (m.as_ptr() as usize, m2.as_ptr() as usize);
        assert!(a + LEN <= b || b + LEN <= a, "{name}: mappings overlap");
        assert!(!something_mapped_at_zero(), "{name}: page 0 got mapped");
    }

    // The mapping we already owned is untouched.
    // SAFETY: `owned` is LEN readable bytes that nothing else writes.
    let bytes = unsafe { std::slice::from_raw_parts(owned.as_ptr(), LEN) };
    assert!(bytes
        .iter()
        .enumerate()
        .all(|(i, &b)| b == (i as u8).wrapping_add(7)));
}

#[test]
fn map_fd_ignores_map_fixed() {
    let name = c"afxdp-mm-test";
    // SAFETY: `name` is NUL-terminated; memfd_create takes any flags.
    let raw = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    assert!(
        raw >= 0,
        "memfd_create: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: memfd_create just returned this fd, owned by nobody else.
    let fd = unsafe { afxdp_sys::OwnedFd::from_raw(raw) };
    // SAFETY: `raw` is open (owned by `fd`).
    assert_eq!(unsafe { libc::ftruncate(raw, LEN as libc::off_t) }, 0);
    let m = Mmap::map_fd(
        fd.as_fd(),
        LEN,
        PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_FIXED,
        0,
    )
    .expect("map_fd with MAP_FIXED maps at a kernel-chosen address");
    assert_fresh_and_usable(&m, 3);
    assert!(!something_mapped_at_zero());
}
