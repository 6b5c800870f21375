//! Every kernel struct and constant in `afxdp_core::abi` that the `libc`
//! crate also defines must agree with it: same size, same field offsets,
//! same values.

mod common;

use core::mem::{offset_of, size_of};

use afxdp_core::abi::{bpf, ethtool, if_xdp, mman, rtnetlink as rt, socket};
use afxdp_core::ebpf::opcode as op;
use afxdp_core::Errno;
use common::same_layout;

#[test]
fn if_xdp_structs_match_libc() {
    same_layout!(
        if_xdp::SockaddrXdp,
        libc::sockaddr_xdp,
        sxdp_family = sxdp_family,
        sxdp_flags = sxdp_flags,
        sxdp_ifindex = sxdp_ifindex,
        sxdp_queue_id = sxdp_queue_id,
        sxdp_shared_umem_fd = sxdp_shared_umem_fd
    );
    same_layout!(
        if_xdp::XdpRingOffset,
        libc::xdp_ring_offset,
        producer = producer,
        consumer = consumer,
        desc = desc,
        flags = flags
    );
    same_layout!(
        if_xdp::XdpMmapOffsets,
        libc::xdp_mmap_offsets,
        rx = rx,
        tx = tx,
        fr = fr,
        cr = cr
    );
    same_layout!(
        if_xdp::XdpRingOffsetV1,
        libc::xdp_ring_offset_v1,
        producer = producer,
        consumer = consumer,
        desc = desc
    );
    same_layout!(
        if_xdp::XdpMmapOffsetsV1,
        libc::xdp_mmap_offsets_v1,
        rx = rx,
        tx = tx,
        fr = fr,
        cr = cr
    );
    same_layout!(
        if_xdp::XdpUmemReg,
        libc::xdp_umem_reg,
        addr = addr,
        len = len,
        chunk_size = chunk_size,
        headroom = headroom,
        flags = flags,
        tx_metadata_len = tx_metadata_len
    );
    same_layout!(
        if_xdp::XdpUmemRegV1,
        libc::xdp_umem_reg_v1,
        addr = addr,
        len = len,
        chunk_size = chunk_size,
        headroom = headroom
    );
    same_layout!(
        if_xdp::XdpStatistics,
        libc::xdp_statistics,
        rx_dropped = rx_dropped,
        rx_invalid_descs = rx_invalid_descs,
        tx_invalid_descs = tx_invalid_descs,
        rx_ring_full = rx_ring_full,
        rx_fill_ring_empty_descs = rx_fill_ring_empty_descs,
        tx_ring_empty_descs = tx_ring_empty_descs
    );
    same_layout!(
        if_xdp::XdpStatisticsV1,
        libc::xdp_statistics_v1,
        rx_dropped = rx_dropped,
        rx_invalid_descs = rx_invalid_descs,
        tx_invalid_descs = tx_invalid_descs
    );
    same_layout!(if_xdp::XdpOptions, libc::xdp_options, flags = flags);
    same_layout!(
        if_xdp::XdpDesc,
        libc::xdp_desc,
        addr = addr,
        len = len,
        options = options
    );
}

#[test]
fn if_xdp_constants_match_libc() {
    assert_eq!(if_xdp::XDP_SHARED_UMEM, libc::XDP_SHARED_UMEM);
    assert_eq!(if_xdp::XDP_COPY, libc::XDP_COPY);
    assert_eq!(if_xdp::XDP_ZEROCOPY, libc::XDP_ZEROCOPY);
    assert_eq!(if_xdp::XDP_USE_NEED_WAKEUP, libc::XDP_USE_NEED_WAKEUP);
    assert_eq!(if_xdp::XDP_USE_SG, libc::XDP_USE_SG);
    assert_eq!(
        if_xdp::XDP_UMEM_UNALIGNED_CHUNK_FLAG,
        libc::XDP_UMEM_UNALIGNED_CHUNK_FLAG
    );
    assert_eq!(if_xdp::XDP_UMEM_TX_SW_CSUM, libc::XDP_UMEM_TX_SW_CSUM);
    assert_eq!(
        if_xdp::XDP_UMEM_TX_METADATA_LEN,
        libc::XDP_UMEM_TX_METADATA_LEN
    );
    assert_eq!(if_xdp::XDP_RING_NEED_WAKEUP, libc::XDP_RING_NEED_WAKEUP);
    assert_eq!(if_xdp::XDP_MMAP_OFFSETS, libc::XDP_MMAP_OFFSETS);
    assert_eq!(if_xdp::XDP_RX_RING, libc::XDP_RX_RING);
    assert_eq!(if_xdp::XDP_TX_RING, libc::XDP_TX_RING);
    assert_eq!(if_xdp::XDP_UMEM_REG, libc::XDP_UMEM_REG);
    assert_eq!(if_xdp::XDP_UMEM_FILL_RING, libc::XDP_UMEM_FILL_RING);
    assert_eq!(
        if_xdp::XDP_UMEM_COMPLETION_RING,
        libc::XDP_UMEM_COMPLETION_RING
    );
    assert_eq!(if_xdp::XDP_STATISTICS, libc::XDP_STATISTICS);
    assert_eq!(if_xdp::XDP_OPTIONS, libc::XDP_OPTIONS);
    assert_eq!(if_xdp::XDP_OPTIONS_ZEROCOPY, libc::XDP_OPTIONS_ZEROCOPY);
    assert_eq!(if_xdp::XDP_PGOFF_RX_RING, libc::XDP_PGOFF_RX_RING as u64);
    assert_eq!(if_xdp::XDP_PGOFF_TX_RING, libc::XDP_PGOFF_TX_RING as u64);
    assert_eq!(
        if_xdp::XDP_UMEM_PGOFF_FILL_RING,
        libc::XDP_UMEM_PGOFF_FILL_RING
    );
    assert_eq!(
        if_xdp::XDP_UMEM_PGOFF_COMPLETION_RING,
        libc::XDP_UMEM_PGOFF_COMPLETION_RING
    );
    assert_eq!(if_xdp::XDP_PKT_CONTD, libc::XDP_PKT_CONTD);
    assert_eq!(if_xdp::XDP_TX_METADATA, libc::XDP_TX_METADATA);
    assert_eq!(
        if_xdp::XDP_TXMD_FLAGS_TIMESTAMP,
        libc::XDP_TXMD_FLAGS_TIMESTAMP as u64
    );
    assert_eq!(
        if_xdp::XDP_TXMD_FLAGS_CHECKSUM,
        libc::XDP_TXMD_FLAGS_CHECKSUM as u64
    );
}

#[test]
fn bpf_insn_encoding_constants_match_libc() {
    // The opcode bits live in `ebpf::opcode` (the encoder's), but they are
    // the kernel's: libc has `linux/bpf_common.h` (classic BPF) only, and
    // the opcodes eBPF shares with it must agree.
    assert_eq!(op::BPF_LD as u32, libc::BPF_LD);
    assert_eq!(op::BPF_LDX as u32, libc::BPF_LDX);
    assert_eq!(op::BPF_ST as u32, libc::BPF_ST);
    assert_eq!(op::BPF_STX as u32, libc::BPF_STX);
    assert_eq!(op::BPF_ALU as u32, libc::BPF_ALU);
    assert_eq!(op::BPF_JMP as u32, libc::BPF_JMP);
    assert_eq!(op::BPF_W as u32, libc::BPF_W);
    assert_eq!(op::BPF_H as u32, libc::BPF_H);
    assert_eq!(op::BPF_B as u32, libc::BPF_B);
    assert_eq!(op::BPF_IMM as u32, libc::BPF_IMM);
    assert_eq!(op::BPF_ABS as u32, libc::BPF_ABS);
    assert_eq!(op::BPF_IND as u32, libc::BPF_IND);
    assert_eq!(op::BPF_MEM as u32, libc::BPF_MEM);
    assert_eq!(op::BPF_ADD as u32, libc::BPF_ADD);
    assert_eq!(op::BPF_SUB as u32, libc::BPF_SUB);
    assert_eq!(op::BPF_MUL as u32, libc::BPF_MUL);
    assert_eq!(op::BPF_DIV as u32, libc::BPF_DIV);
    assert_eq!(op::BPF_OR as u32, libc::BPF_OR);
    assert_eq!(op::BPF_AND as u32, libc::BPF_AND);
    assert_eq!(op::BPF_LSH as u32, libc::BPF_LSH);
    assert_eq!(op::BPF_RSH as u32, libc::BPF_RSH);
    assert_eq!(op::BPF_NEG as u32, libc::BPF_NEG);
    assert_eq!(op::BPF_MOD as u32, libc::BPF_MOD);
    assert_eq!(op::BPF_XOR as u32, libc::BPF_XOR);
    assert_eq!(op::BPF_JA as u32, libc::BPF_JA);
    assert_eq!(op::BPF_JEQ as u32, libc::BPF_JEQ);
    assert_eq!(op::BPF_JGT as u32, libc::BPF_JGT);
    assert_eq!(op::BPF_JGE as u32, libc::BPF_JGE);
    assert_eq!(op::BPF_JSET as u32, libc::BPF_JSET);
    assert_eq!(op::BPF_K as u32, libc::BPF_K);
    assert_eq!(op::BPF_X as u32, libc::BPF_X);
}

#[test]
fn bpf_opcode_fields_match_libc() {
    // libc's `bpf_common.h` macros, in the order of `ours` below.
    let theirs: [unsafe extern "C" fn(u32) -> u32; 5] = [
        libc::BPF_CLASS,
        libc::BPF_SIZE,
        libc::BPF_MODE,
        libc::BPF_OP,
        libc::BPF_SRC,
    ];
    for code in 0..=u8::MAX {
        let ours = [
            op::bpf_class(code),
            op::bpf_size(code),
            op::bpf_mode(code),
            op::bpf_op(code),
            op::bpf_src(code),
        ]
        .map(u32::from);
        // SAFETY: each is a plain bit mask on its argument, touching no
        // memory; libc declares them `unsafe` only by convention.
        let theirs = theirs.map(|f| unsafe { f(u32::from(code)) });
        assert_eq!(ours, theirs, "code {code:#04x}");
    }
}

#[test]
fn rtnetlink_structs_and_constants_match_libc() {
    same_layout!(
        rt::NlMsgHdr,
        libc::nlmsghdr,
        nlmsg_len = nlmsg_len,
        nlmsg_type = nlmsg_type,
        nlmsg_flags = nlmsg_flags,
        nlmsg_seq = nlmsg_seq,
        nlmsg_pid = nlmsg_pid
    );
    same_layout!(rt::NlMsgErr, libc::nlmsgerr, error = error, msg = msg);
    same_layout!(
        rt::NlAttr,
        libc::nlattr,
        nla_len = nla_len,
        nla_type = nla_type
    );
    same_layout!(
        rt::IfInfoMsg,
        libc::ifinfomsg,
        ifi_family = ifi_family,
        ifi_type = ifi_type,
        ifi_index = ifi_index,
        ifi_flags = ifi_flags,
        ifi_change = ifi_change
    );
    same_layout!(
        rt::SockaddrNl,
        libc::sockaddr_nl,
        nl_family = nl_family,
        nl_pid = nl_pid,
        nl_groups = nl_groups
    );

    assert_eq!(rt::NETLINK_ROUTE, libc::NETLINK_ROUTE);
    assert_eq!(rt::NETLINK_CAP_ACK, libc::NETLINK_CAP_ACK);
    assert_eq!(rt::NETLINK_EXT_ACK, libc::NETLINK_EXT_ACK);
    assert_eq!(rt::NETLINK_GET_STRICT_CHK, libc::NETLINK_GET_STRICT_CHK);
    assert_eq!(rt::NLMSG_NOOP as i32, libc::NLMSG_NOOP);
    assert_eq!(rt::NLMSG_ERROR as i32, libc::NLMSG_ERROR);
    assert_eq!(rt::NLMSG_DONE as i32, libc::NLMSG_DONE);
    assert_eq!(rt::NLMSG_OVERRUN as i32, libc::NLMSG_OVERRUN);
    assert_eq!(rt::NLMSG_MIN_TYPE as i32, libc::NLMSG_MIN_TYPE);
    assert_eq!(rt::RTM_NEWLINK, libc::RTM_NEWLINK);
    assert_eq!(rt::RTM_DELLINK, libc::RTM_DELLINK);
    assert_eq!(rt::RTM_GETLINK, libc::RTM_GETLINK);
    assert_eq!(rt::RTM_SETLINK, libc::RTM_SETLINK);
    assert_eq!(rt::NLM_F_REQUEST as i32, libc::NLM_F_REQUEST);
    assert_eq!(rt::NLM_F_MULTI as i32, libc::NLM_F_MULTI);
    assert_eq!(rt::NLM_F_ACK as i32, libc::NLM_F_ACK);
    assert_eq!(rt::NLM_F_ECHO as i32, libc::NLM_F_ECHO);
    assert_eq!(rt::NLM_F_DUMP_INTR as i32, libc::NLM_F_DUMP_INTR);
    assert_eq!(rt::NLM_F_ROOT as i32, libc::NLM_F_ROOT);
    assert_eq!(rt::NLM_F_MATCH as i32, libc::NLM_F_MATCH);
    assert_eq!(rt::NLM_F_DUMP as i32, libc::NLM_F_DUMP);
    assert_eq!(rt::NLM_F_CAPPED as i32, libc::NLM_F_CAPPED);
    assert_eq!(rt::NLM_F_ACK_TLVS as i32, libc::NLM_F_ACK_TLVS);
    assert_eq!(rt::NLA_F_NESTED as i32, libc::NLA_F_NESTED);
    assert_eq!(rt::NLA_F_NET_BYTEORDER as i32, libc::NLA_F_NET_BYTEORDER);
    assert_eq!(
        rt::NLA_TYPE_MASK as i32 & 0xffff,
        libc::NLA_TYPE_MASK & 0xffff
    );
    assert_eq!(rt::NLA_ALIGNTO as i32, libc::NLA_ALIGNTO);
    assert_eq!(rt::IFLA_IFNAME, libc::IFLA_IFNAME);
    assert_eq!(rt::IFLA_MTU, libc::IFLA_MTU);
    assert_eq!(rt::IFLA_EXT_MASK, libc::IFLA_EXT_MASK);
    assert_eq!(rt::IFLA_NUM_TX_QUEUES, libc::IFLA_NUM_TX_QUEUES);
    assert_eq!(rt::IFLA_NUM_RX_QUEUES, libc::IFLA_NUM_RX_QUEUES);
    assert_eq!(rt::IFLA_XDP, libc::IFLA_XDP);
}

#[test]
fn ethtool_and_ifreq_match_libc() {
    assert_eq!(size_of::<ethtool::IfReq>(), size_of::<libc::ifreq>());
    assert_eq!(
        offset_of!(ethtool::IfReq, ifr_ifru),
        offset_of!(libc::ifreq, ifr_ifru)
    );
    assert_eq!(ethtool::IFNAMSIZ, libc::IFNAMSIZ);
    assert_eq!(ethtool::SIOCGIFINDEX as libc::c_ulong, libc::SIOCGIFINDEX);
    assert_eq!(ethtool::SIOCGIFNAME as libc::c_ulong, libc::SIOCGIFNAME);
    assert_eq!(ethtool::SIOCGIFFLAGS as libc::c_ulong, libc::SIOCGIFFLAGS);
    assert_eq!(ethtool::SIOCETHTOOL as libc::c_ulong, libc::SIOCETHTOOL);
    assert_eq!(ethtool::IFF_UP as i32, libc::IFF_UP);
    assert_eq!(ethtool::IFF_RUNNING as i32, libc::IFF_RUNNING);
}

#[test]
fn socket_and_mman_constants_match_libc() {
    assert_eq!(socket::AF_UNSPEC as i32, libc::AF_UNSPEC);
    assert_eq!(socket::AF_UNIX as i32, libc::AF_UNIX);
    assert_eq!(socket::AF_INET as i32, libc::AF_INET);
    assert_eq!(socket::AF_NETLINK as i32, libc::AF_NETLINK);
    assert_eq!(socket::AF_PACKET as i32, libc::AF_PACKET);
    assert_eq!(socket::AF_XDP as i32, libc::AF_XDP);
    assert_eq!(socket::SOCK_STREAM as i32, libc::SOCK_STREAM);
    assert_eq!(socket::SOCK_DGRAM as i32, libc::SOCK_DGRAM);
    assert_eq!(socket::SOCK_RAW as i32, libc::SOCK_RAW);
    assert_eq!(socket::SOCK_SEQPACKET as i32, libc::SOCK_SEQPACKET);
    assert_eq!(socket::SOCK_NONBLOCK as i32, libc::SOCK_NONBLOCK);
    assert_eq!(socket::SOCK_CLOEXEC as i32, libc::SOCK_CLOEXEC);
    assert_eq!(socket::SOL_SOCKET, libc::SOL_SOCKET);
    assert_eq!(socket::SOL_NETLINK, libc::SOL_NETLINK);
    assert_eq!(socket::SOL_XDP, libc::SOL_XDP);
    assert_eq!(socket::SO_TYPE, libc::SO_TYPE);
    assert_eq!(socket::SO_ERROR, libc::SO_ERROR);
    assert_eq!(socket::SO_SNDBUF, libc::SO_SNDBUF);
    assert_eq!(socket::SO_RCVBUF, libc::SO_RCVBUF);
    assert_eq!(socket::SO_PEERCRED, libc::SO_PEERCRED);
    assert_eq!(socket::SO_RCVTIMEO, libc::SO_RCVTIMEO);
    assert_eq!(socket::SO_SNDTIMEO, libc::SO_SNDTIMEO);
    assert_eq!(socket::SO_DOMAIN, libc::SO_DOMAIN);
    assert_eq!(socket::SO_BUSY_POLL, libc::SO_BUSY_POLL);
    assert_eq!(socket::SO_PREFER_BUSY_POLL, libc::SO_PREFER_BUSY_POLL);
    assert_eq!(socket::SO_BUSY_POLL_BUDGET, libc::SO_BUSY_POLL_BUDGET);
    assert_eq!(socket::MSG_PEEK as i32, libc::MSG_PEEK);
    assert_eq!(socket::MSG_CTRUNC as i32, libc::MSG_CTRUNC);
    assert_eq!(socket::MSG_TRUNC as i32, libc::MSG_TRUNC);
    assert_eq!(socket::MSG_DONTWAIT as i32, libc::MSG_DONTWAIT);
    assert_eq!(socket::MSG_NOSIGNAL as i32, libc::MSG_NOSIGNAL);
    assert_eq!(socket::MSG_CMSG_CLOEXEC as i32, libc::MSG_CMSG_CLOEXEC);
    assert_eq!(socket::SCM_RIGHTS, libc::SCM_RIGHTS);
    assert_eq!(socket::SCM_CREDENTIALS, libc::SCM_CREDENTIALS);
    assert_eq!(socket::POLLIN, libc::POLLIN);
    assert_eq!(socket::POLLOUT, libc::POLLOUT);
    assert_eq!(socket::POLLERR, libc::POLLERR);
    assert_eq!(socket::POLLHUP, libc::POLLHUP);
    assert_eq!(socket::POLLNVAL, libc::POLLNVAL);
    same_layout!(
        socket::PollFd,
        libc::pollfd,
        fd = fd,
        events = events,
        revents = revents
    );
    same_layout!(socket::UCred, libc::ucred, pid = pid, uid = uid, gid = gid);
    same_layout!(
        socket::Timespec,
        libc::timespec,
        tv_sec = tv_sec,
        tv_nsec = tv_nsec
    );
    same_layout!(
        socket::Timeval,
        libc::timeval,
        tv_sec = tv_sec,
        tv_usec = tv_usec
    );

    assert_eq!(mman::PROT_READ as i32, libc::PROT_READ);
    assert_eq!(mman::PROT_WRITE as i32, libc::PROT_WRITE);
    assert_eq!(mman::MAP_SHARED as i32, libc::MAP_SHARED);
    assert_eq!(mman::MAP_PRIVATE as i32, libc::MAP_PRIVATE);
    assert_eq!(mman::MAP_FIXED as i32, libc::MAP_FIXED);
    assert_eq!(mman::MAP_ANONYMOUS as i32, libc::MAP_ANONYMOUS);
    assert_eq!(mman::MAP_NORESERVE as i32, libc::MAP_NORESERVE);
    assert_eq!(mman::MAP_POPULATE as i32, libc::MAP_POPULATE);
    assert_eq!(mman::MAP_HUGETLB as i32, libc::MAP_HUGETLB);
    assert_eq!(mman::MAP_FIXED_NOREPLACE as i32, libc::MAP_FIXED_NOREPLACE);
    assert_eq!(mman::MAP_HUGE_SHIFT as i32, libc::MAP_HUGE_SHIFT);
    assert_eq!(mman::MAP_HUGE_2MB as i32, libc::MAP_HUGE_2MB);
    assert_eq!(mman::MAP_HUGE_1GB as i32, libc::MAP_HUGE_1GB);
}

#[test]
fn errno_numbers_names_and_texts_match_libc() {
    let named: &[(Errno, i32)] = &[
        (Errno::EPERM, libc::EPERM),
        (Errno::ENOENT, libc::ENOENT),
        (Errno::EINTR, libc::EINTR),
        (Errno::EBADF, libc::EBADF),
        (Errno::EAGAIN, libc::EAGAIN),
        (Errno::ENOMEM, libc::ENOMEM),
        (Errno::EACCES, libc::EACCES),
        (Errno::EFAULT, libc::EFAULT),
        (Errno::EBUSY, libc::EBUSY),
        (Errno::EEXIST, libc::EEXIST),
        (Errno::ENODEV, libc::ENODEV),
        (Errno::ENOTDIR, libc::ENOTDIR),
        (Errno::EINVAL, libc::EINVAL),
        (Errno::EMFILE, libc::EMFILE),
        (Errno::ENOTTY, libc::ENOTTY),
        (Errno::ENOSPC, libc::ENOSPC),
        (Errno::E2BIG, libc::E2BIG),
        (Errno::ENOSYS, libc::ENOSYS),
        (Errno::ELOOP, libc::ELOOP),
        (Errno::ENOTSOCK, libc::ENOTSOCK),
        (Errno::EMSGSIZE, libc::EMSGSIZE),
        (Errno::ENOPROTOOPT, libc::ENOPROTOOPT),
        (Errno::EOPNOTSUPP, libc::EOPNOTSUPP),
        (Errno::EAFNOSUPPORT, libc::EAFNOSUPPORT),
        (Errno::EADDRINUSE, libc::EADDRINUSE),
        (Errno::ENETDOWN, libc::ENETDOWN),
        (Errno::ECONNRESET, libc::ECONNRESET),
        (Errno::ENOBUFS, libc::ENOBUFS),
        (Errno::ETIMEDOUT, libc::ETIMEDOUT),
        (Errno::ECONNREFUSED, libc::ECONNREFUSED),
        (Errno::EHWPOISON, libc::EHWPOISON),
    ];
    for (ours, theirs) in named {
        assert_eq!(ours.raw(), *theirs, "{ours:?}");
    }
    // Every named error's text is what glibc's strerror prints (524 is
    // kernel-internal: glibc calls it "Unknown error 524").
    for &e in Errno::ALL.iter().filter(|e| e.raw() < 512) {
        // SAFETY: strerror takes any int.
        let ptr = unsafe { libc::strerror(e.raw()) };
        // SAFETY: strerror returns a NUL-terminated string that stays valid
        // until the next strerror call on this thread.
        let text = unsafe { std::ffi::CStr::from_ptr(ptr) };
        assert_eq!(
            Some(text.to_str().unwrap()),
            e.text(),
            "text of {e:?} ({})",
            e.raw()
        );
    }
}

#[test]
fn errno_prints_name_and_text() {
    assert_eq!(
        format!("{}", Errno::ENOENT),
        "ENOENT (No such file or directory)"
    );
    assert_eq!(format!("{:?}", Errno::EPERM), "EPERM");
    assert_eq!(Errno::from_raw(-2), Errno::ENOENT);
    assert_eq!(
        format!("{}", Errno::from_raw(4000)),
        "E#4000 (Unknown error 4000)"
    );
    assert_eq!(format!("{:?}", Errno::from_raw(4000)), "E#4000");
    // The table is strictly increasing, so every number has one name.
    assert!(Errno::ALL.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(Errno::ALL.len(), 132);
}

#[test]
fn bpf_object_names_are_sanitised() {
    assert_eq!(bpf::name_bytes(&bpf::object_name("xsks_map")), b"xsks_map");
    assert_eq!(bpf::name_bytes(&bpf::object_name("a-b c")), b"a_b_c");
    assert_eq!(
        bpf::name_bytes(&bpf::object_name("a_very_long_name_indeed")),
        b"a_very_long_nam"
    );
}

#[test]
fn mmap_offsets_v1_upgrade_points_flags_after_consumer() {
    let v1 = if_xdp::XdpMmapOffsetsV1 {
        rx: if_xdp::XdpRingOffsetV1 {
            producer: 0,
            consumer: 64,
            desc: 128,
        },
        ..Default::default()
    };
    let up = v1.upgrade();
    assert_eq!(up.rx.flags, 68);
    assert_eq!(up.rx.desc, 128);
}

#[test]
fn ifreq_rejects_names_the_kernel_rejects() {
    assert!(ethtool::IfReq::with_name("veth0").is_some());
    assert!(ethtool::IfReq::with_name("").is_none());
    assert!(ethtool::IfReq::with_name("sixteen-chars-xx").is_none());
    assert!(ethtool::IfReq::with_name("a/b").is_none());
    assert!(ethtool::IfReq::with_name("a b").is_none());
    assert!(ethtool::IfReq::with_name("..").is_none());
    let req = ethtool::IfReq::with_name("fifteen-chars-x").unwrap();
    assert_eq!(&req.ifr_name[..15], b"fifteen-chars-x");
    assert_eq!(req.ifr_name[15], 0);
}

/// Interface names as the kernel takes them (`dev_valid_name`), and no `%`,
/// which the kernel expands as a pattern when it names a device.
#[test]
fn interface_names_are_what_the_kernel_would_keep() {
    use afxdp_core::abi::ethtool::is_valid_ifname;
    for ok in [
        "eth0",
        "net1",
        "ens1f0v2",
        "a",
        "x.y-z_0",
        "fifteen_bytes15",
    ] {
        assert!(is_valid_ifname(ok.as_bytes()), "{ok}");
    }
    for bad in [
        "",
        ".",
        "..",
        "sixteen_bytes_16",
        "a/b",
        "a:b",
        "a b",
        "a\tb",
        "net%d",
        "a\0b",
    ] {
        assert!(!is_valid_ifname(bad.as_bytes()), "{bad:?}");
    }
}

/// The kernel's name for a device moved into a namespace where its own is
/// taken: `dev%d` with its index (`dev_change_net_namespace`).
#[test]
fn fallback_names_are_dev_and_an_index() {
    use afxdp_core::abi::ethtool::is_fallback_ifname;
    for yes in ["dev7", "dev123", "dev0"] {
        assert!(is_fallback_ifname(yes.as_bytes()), "{yes}");
    }
    for no in ["dev", "devx", "dev1a", "eth0", "xdev1", "dev-1"] {
        assert!(!is_fallback_ifname(no.as_bytes()), "{no}");
    }
}
