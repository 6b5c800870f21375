//! The map API against the running kernel: errors name the operation, the
//! path and the errno; an XSKMAP is recognised as one and anything else is
//! refused.

use af_xdp::{Map, MapSpec, XskMap};
use afxdp_core::abi::bpf::BPF_MAP_TYPE_ARRAY;
use afxdp_core::Errno;
use afxdp_testkit::{open_fds, privileged, serial, with_bpffs};

#[test]
fn a_missing_pin_path_is_enoent_and_the_error_names_operation_and_path() {
    if !privileged("a_missing_pin_path_is_enoent_and_the_error_names_operation_and_path") {
        return;
    }
    let _serial = serial();
    with_bpffs(|dir| {
        let path = dir.join("no_such_map");
        let err = XskMap::open_pinned(&path).unwrap_err();
        assert_eq!(err.errno(), Some(Errno::ENOENT));
        assert_eq!(
            err.to_string(),
            format!(
                "BPF_OBJ_GET: {}: ENOENT (No such file or directory)",
                path.display()
            )
        );
        assert!(err.hint().unwrap().contains("pinned"));
    });
}

#[test]
fn bad_sizes_give_the_kernels_errno_and_name_the_map() {
    if !privileged("bad_sizes_give_the_kernels_errno_and_name_the_map") {
        return;
    }
    let _serial = serial();
    let err = Map::create(&MapSpec {
        map_type: afxdp_core::abi::bpf::BPF_MAP_TYPE_XSKMAP,
        key_size: 4,
        value_size: 8,
        max_entries: 4,
        name: "bad_xsks",
    })
    .unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EINVAL));
    assert_eq!(
        err.to_string(),
        "BPF_MAP_CREATE: bad_xsks (xskmap): EINVAL (Invalid argument)"
    );
    assert!(err.hint().unwrap().contains("value size 8"));
}

#[test]
fn xskmap_pins_and_reopens_and_other_maps_are_refused() {
    if !privileged("xskmap_pins_and_reopens_and_other_maps_are_refused") {
        return;
    }
    let _serial = serial();
    let before = open_fds();
    with_bpffs(|dir| {
        let xsks = XskMap::create(4, "xsks_map").unwrap();
        xsks.pin(&dir.join("xsks_map")).unwrap();
        let again = XskMap::open_pinned(&dir.join("xsks_map")).unwrap();
        assert_eq!(again.id(), xsks.id());
        assert_eq!(again.max_entries(), 4);

        let err = xsks.pin(&dir.join("xsks_map")).unwrap_err();
        assert_eq!(err.errno(), Some(Errno::EEXIST));

        let array = Map::create(&MapSpec {
            map_type: BPF_MAP_TYPE_ARRAY,
            key_size: 4,
            value_size: 4,
            max_entries: 3,
            name: "not_xsks",
        })
        .unwrap();
        array.pin(&dir.join("array")).unwrap();
        let err = XskMap::open_pinned(&dir.join("array")).unwrap_err();
        assert!(
            err.to_string().contains("not an XSKMAP: an array map"),
            "{err}"
        );

        // Keys and sizes through the safe API.
        assert_eq!(array.keys().unwrap().len(), 3);
        array
            .update(&2u32.to_ne_bytes(), &9u32.to_ne_bytes())
            .unwrap();
        let mut v = [0u8; 4];
        assert!(array.lookup(&2u32.to_ne_bytes(), &mut v).unwrap());
        assert_eq!(u32::from_ne_bytes(v), 9);
        let err = array
            .update(&2u64.to_ne_bytes(), &9u32.to_ne_bytes())
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("key is 8 bytes, the map's keys are 4"),
            "{err}"
        );
        // A socket that is not an AF_XDP socket cannot go into an XSKMAP.
        let err = xsks.insert(0, array.as_fd()).unwrap_err();
        assert!(
            err.to_string().starts_with("insert socket into XSKMAP"),
            "{err}"
        );
    });
    assert_eq!(open_fds(), before);
}
