//! The raw syscall wrappers of `afxdp-sys`, cross-checked against `libc`
//! and `rustix` on the running kernel: AF_XDP socket options and ring
//! mappings, netdev lookups, the netlink exchange, ppoll, and signals.

use std::ffi::CString;
use std::ops::ControlFlow;

use afxdp_core::abi::if_xdp::{XdpUmemReg, XDP_MMAP_OFFSETS};
use afxdp_core::abi::mman::MAP_POPULATE;
use afxdp_core::abi::socket::{PollFd, AF_XDP, POLLIN, SOL_XDP};
use afxdp_core::rtnetlink::{Body, GetLink};
use afxdp_core::Errno;
use afxdp_sys::mm::Mmap;
use afxdp_sys::netlink::{NetlinkError, RouteSocket};
use afxdp_sys::signal::{self, SigSet, SIGHUP};
use afxdp_sys::xsk::{self, RingKind};
use afxdp_sys::{netdev, poll};
use afxdp_testkit::{privileged, serial};

#[test]
fn af_xdp_socket_options_and_mappings_agree_with_libc() {
    if !privileged("af_xdp_socket_options_and_mappings_agree_with_libc") {
        return;
    }
    let _serial = serial();
    let sock = xsk::socket().expect("socket(AF_XDP)");
    // SAFETY: `sock` stays open for the borrow.
    let std_fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(sock.as_raw()) };
    let domain = rustix::net::sockopt::socket_domain(std_fd).unwrap();
    assert_eq!(
        domain.as_raw() as u16,
        AF_XDP,
        "rustix sees an AF_XDP socket"
    );

    let mem = Mmap::anonymous_private(16 * 4096, MAP_POPULATE).unwrap();
    let reg = XdpUmemReg {
        addr: mem.as_ptr() as u64,
        len: 16 * 4096,
        chunk_size: 4096,
        headroom: 0,
        flags: 0,
        tx_metadata_len: 0,
    };
    xsk::umem_reg(sock.as_fd(), &reg).unwrap();
    assert_eq!(
        xsk::umem_reg(sock.as_fd(), &reg),
        Err(Errno::EBUSY),
        "one UMEM per socket"
    );
    assert_eq!(
        xsk::set_ring_size(sock.as_fd(), RingKind::Rx, 100),
        Err(Errno::EINVAL),
        "not a power of two"
    );
    for kind in [
        RingKind::Rx,
        RingKind::Tx,
        RingKind::Fill,
        RingKind::Completion,
    ] {
        xsk::set_ring_size(sock.as_fd(), kind, 64).unwrap();
    }
    let ours = xsk::mmap_offsets(sock.as_fd()).unwrap();

    // The same getsockopt through libc.
    let mut theirs: libc::xdp_mmap_offsets = unsafe_zeroed();
    let mut len = std::mem::size_of::<libc::xdp_mmap_offsets>() as libc::socklen_t;
    // SAFETY: `theirs` is writable for `len` bytes.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw(),
            SOL_XDP,
            XDP_MMAP_OFFSETS,
            (&mut theirs as *mut libc::xdp_mmap_offsets).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0);
    assert_eq!(len as usize, 128, "this kernel returns the current form");
    for (o, t) in [
        (ours.rx, theirs.rx),
        (ours.tx, theirs.tx),
        (ours.fr, theirs.fr),
        (ours.cr, theirs.cr),
    ] {
        assert_eq!(
            (o.producer, o.consumer, o.desc, o.flags),
            (t.producer, t.consumer, t.desc, t.flags)
        );
    }
    // Every ring maps at its page offset, with room for its entries.
    for kind in [
        RingKind::Rx,
        RingKind::Tx,
        RingKind::Fill,
        RingKind::Completion,
    ] {
        let m = xsk::mmap_ring(sock.as_fd(), kind, &ours, 64).unwrap();
        assert_eq!(
            m.len(),
            kind.offsets(&ours).desc as usize + 64 * kind.entry_size()
        );
    }
    // Statistics and options of an unbound socket.
    assert_eq!(xsk::statistics(sock.as_fd()).unwrap(), Default::default());
    let bad_bind = afxdp_core::abi::if_xdp::SockaddrXdp {
        sxdp_family: AF_XDP,
        sxdp_ifindex: 999_999,
        ..Default::default()
    };
    assert_eq!(xsk::bind(sock.as_fd(), &bad_bind), Err(Errno::ENODEV));
}

fn unsafe_zeroed<T>() -> T {
    // SAFETY: only used for plain C structs of integers, valid when zeroed.
    unsafe { std::mem::zeroed() }
}

#[test]
fn netdev_lookups_agree_with_libc() {
    let lo = CString::new("lo").unwrap();
    // SAFETY: a valid C string.
    let want = unsafe { libc::if_nametoindex(lo.as_ptr()) };
    assert_eq!(netdev::ifindex("lo").unwrap(), want);
    let name = netdev::ifname(want).unwrap();
    assert_eq!(&name[..3], b"lo\0");
    assert_eq!(netdev::ifindex("no-such-dev0"), Err(Errno::ENODEV));
    assert_eq!(netdev::ifindex("bad/name"), Err(Errno::EINVAL));
    assert_eq!(netdev::ifname(999_999), Err(Errno::ENODEV));
    assert!(netdev::flags("lo").unwrap() & afxdp_core::abi::ethtool::IFF_UP != 0);
    // Loopback has no channels to report, but sysfs lists its queue.
    assert!(netdev::channels("lo").is_err());
    assert_eq!(netdev::sysfs_rx_queues("lo").unwrap(), 1);
}

#[test]
fn netlink_exchange_checks_sequence_and_reports_errors() {
    let mut sock = RouteSocket::open().unwrap();
    assert_ne!(sock.port_id(), 0);
    let mut buf = vec![0u8; 16384];

    let seq = sock.next_seq();
    let mut req = [0u8; GetLink::MAX_LEN];
    let n = GetLink::Name(b"lo").emit(seq, &mut req).unwrap();
    let mut name = None;
    sock.exchange(&req[..n], seq, &mut buf, |m| {
        if let Body::NewLink(l) = m.body() {
            name = l.name_str().map(str::to_owned);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(name.as_deref(), Some("lo"));

    let seq = sock.next_seq();
    let n = GetLink::Index(999_999).emit(seq, &mut req).unwrap();
    let err = sock
        .exchange(&req[..n], seq, &mut buf, |_| ControlFlow::Continue(()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            NetlinkError::Refused {
                errno: Errno::ENODEV,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn ppoll_times_out_and_sees_readable_fds() {
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    use std::os::fd::AsRawFd;
    let mut fds = [PollFd {
        fd: a.as_raw_fd(),
        events: POLLIN,
        revents: 0,
    }];
    let t = std::time::Instant::now();
    assert_eq!(poll::poll(&mut fds, 50).unwrap(), 0);
    assert!(t.elapsed() >= std::time::Duration::from_millis(45));
    use std::io::Write;
    (&b).write_all(b"x").unwrap();
    assert_eq!(poll::poll(&mut fds, -1).unwrap(), 1);
    assert_eq!(fds[0].revents & POLLIN, POLLIN);
}

#[test]
fn blocked_signals_wait_to_be_taken() {
    // On a thread of its own, so that the mask does not leak into others.
    std::thread::spawn(|| {
        let set = SigSet::of(&[SIGHUP]);
        assert!(set.contains(SIGHUP) && !set.contains(2));
        let old = signal::block(set).unwrap();
        assert_eq!(signal::wait_timeout(set, 0).unwrap(), None);
        // A SIGHUP directed at this thread (a process-directed one would go
        // to any thread that has it unblocked).
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        // SAFETY: tgkill takes plain integers.
        let rc = unsafe { libc::syscall(libc::SYS_tgkill, signal::getpid(), tid, libc::SIGHUP) };
        assert_eq!(rc, 0);
        assert!(signal::pending().unwrap().contains(SIGHUP));
        assert_eq!(signal::wait_timeout(set, 100).unwrap(), Some(SIGHUP));
        assert!(
            !signal::pending().unwrap().contains(SIGHUP),
            "taken, no longer pending"
        );
        signal::set_mask(old).unwrap();
        assert_eq!(signal::getpid(), std::process::id() as i32);
    })
    .join()
    .unwrap();
}
