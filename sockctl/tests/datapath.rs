//! The AF_XDP data path against the kernel, in a network namespace with a
//! veth pair: receive frames sent from the peer and compare every byte,
//! transmit frames and capture them on the peer, native and skb modes, two
//! queues sharing one UMEM, and the socket's statistics.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use af_xdp::{
    Attachment, FrameBuf, Netdev, RingSizes, SocketBuilder, Umem, UmemConfig, XdpMode, XdpProgram,
    XskMap, XskSocket,
};
use afxdp_testkit::frames::{seq_of, udp_frame};
use afxdp_testkit::packet::{send_paced, PacketSocket};
use afxdp_testkit::{open_fds, privileged, serial, NetNs, Veth};

/// Frame `seq` as the peer sends it: lengths vary from 60 to 1500 bytes, and
/// the UDP source port spreads flows over queues.
fn frame(seq: u32) -> Vec<u8> {
    udp_frame(
        Veth::MAC_B,
        Veth::MAC_A,
        seq,
        (seq % 97) as u16,
        60 + (seq as usize * 37) % 1441,
    )
}

/// Creates the XSKMAP for `dev`, loads the program, attaches it in `mode`
/// as a BPF link (gone when dropped).
fn redirect(dev: &Netdev, mode: XdpMode) -> (XskMap, Attachment) {
    let map = XskMap::create(dev.queue_count().count, "xsks_map").unwrap();
    let prog = XdpProgram::load_redirect(&map, None).unwrap();
    let att = Attachment::link(dev.clone(), prog, mode).unwrap();
    (map, att)
}

/// Receives on `socks` until `n` frames arrived or nothing came for 3 s;
/// checks each frame byte for byte against what the peer sent, and returns
/// the sequence numbers each socket saw.
fn receive_checked(socks: &mut [(&XskSocket, &mut af_xdp::Queues)], n: usize) -> Vec<Vec<u32>> {
    let mut seen: Vec<Vec<u32>> = vec![Vec::new(); socks.len()];
    let mut buf = FrameBuf::with_capacity(64);
    let mut last = Instant::now();
    while seen.iter().map(Vec::len).sum::<usize>() < n && last.elapsed() < Duration::from_secs(3) {
        let mut got = 0;
        for (i, (sock, q)) in socks.iter_mut().enumerate() {
            let k = q.rx.as_mut().unwrap().receive(&mut buf);
            got += k;
            for f in buf.iter() {
                let data = sock.umem().data(f);
                let seq = seq_of(data).expect("a test frame");
                assert_eq!(data, &frame(seq)[..], "frame {seq}: bytes differ");
                seen[i].push(seq);
            }
            q.fill.fill(&mut buf);
        }
        if got > 0 {
            last = Instant::now();
        } else {
            let s: Vec<&XskSocket> = socks.iter().map(|(s, _)| *s).collect();
            af_xdp::xsk::wait_readable(&s, 10).unwrap();
        }
    }
    seen
}

fn receive_n_frames(mode: XdpMode) {
    const N: u32 = 20_000;
    let ns = NetNs::new("rx");
    let veth = Veth::new(&ns, 1);
    let fds_before = open_fds();
    ns.run(|| {
        let dev = Netdev::by_name(&veth.a).unwrap();
        let (map, att) = redirect(&dev, mode);
        assert_eq!(
            af_xdp::attach::mode_name(att.mode()),
            if mode == XdpMode::Native {
                "native"
            } else {
                "skb"
            }
        );
        let umem = Umem::new(UmemConfig::default()).unwrap();
        let (sock, mut q) = SocketBuilder::new(&umem, &dev, 0).build().unwrap();
        map.insert(0, sock.as_fd()).unwrap();
        let mut frames = umem.take_frames().unwrap();
        assert!(umem.take_frames().is_none(), "frames are handed out once");
        q.fill.fill(&mut frames);

        let frames_out: Vec<Vec<u8>> = (0..N).map(frame).collect();
        let peer = veth.b.clone();
        let sender = std::thread::spawn(move || {
            send_paced(&peer, &frames_out, 32, Duration::from_micros(500)).unwrap()
        });
        let seen = receive_checked(&mut [(&sock, &mut q)], N as usize);
        sender.join().unwrap();

        let got = &seen[0];
        assert_eq!(got.len(), N as usize, "{mode}: every frame arrives");
        let unique: HashSet<u32> = got.iter().copied().collect();
        assert_eq!(unique.len(), N as usize, "no frame twice");
        assert!(got.windows(2).all(|w| w[0] < w[1]), "in order on one queue");
        let stats = sock.statistics().unwrap();
        assert_eq!(stats.rx_dropped, 0, "{stats:?}");
        assert_eq!(stats.rx_invalid_descs, 0);
        assert_eq!(stats.rx_ring_full, 0);
        assert!(
            !sock.is_zero_copy().unwrap(),
            "veth runs AF_XDP in copy mode"
        );
        assert_eq!(q.rx.as_ref().unwrap().invalid(), 0);
        drop(att);
    });
    assert_eq!(
        open_fds(),
        fds_before,
        "sockets, maps, program and link all closed"
    );
}

#[test]
fn receives_every_frame_byte_for_byte_native() {
    if privileged("receives_every_frame_byte_for_byte_native") {
        let _serial = serial();
        receive_n_frames(XdpMode::Native);
    }
}

#[test]
fn receives_every_frame_byte_for_byte_skb() {
    if privileged("receives_every_frame_byte_for_byte_skb") {
        let _serial = serial();
        receive_n_frames(XdpMode::Skb);
    }
}

#[test]
fn transmits_frames_that_the_peer_captures() {
    if !privileged("transmits_frames_that_the_peer_captures") {
        return;
    }
    let _serial = serial();
    const N: u32 = 5_000;
    let ns = NetNs::new("tx");
    let veth = Veth::new(&ns, 1);
    ns.run(|| {
        let dev = Netdev::by_name(&veth.a).unwrap();
        let capture = PacketSocket::bind(&veth.b).unwrap();
        let umem = Umem::new(UmemConfig::default()).unwrap();
        let sizes = RingSizes {
            rx: 0,
            ..RingSizes::default()
        };
        let (sock, q) = SocketBuilder::new(&umem, &dev, 0)
            .ring_sizes(sizes)
            .build()
            .unwrap();
        assert!(q.rx.is_none());
        let mut tx = q.tx.unwrap();
        let mut comp = q.completion;
        let mut free = umem.take_frames().unwrap();
        let mut batch = FrameBuf::with_capacity(32);
        // Sent frames are built from the peer's point of view reversed:
        // a -> b, checked on b.
        let make = |seq: u32| {
            udp_frame(
                Veth::MAC_A,
                Veth::MAC_B,
                seq,
                0,
                60 + (seq as usize * 13) % 1441,
            )
        };

        let captured = std::thread::scope(|s| {
            let cap = s.spawn(|| {
                let mut got = Vec::new();
                let mut buf = vec![0u8; 4096];
                while let Some(n) = capture.recv(&mut buf, Duration::from_secs(3)).unwrap() {
                    got.push(buf[..n].to_vec());
                    if got.len() == N as usize {
                        break;
                    }
                }
                got
            });
            let mut next = 0u32;
            let mut completed = 0u32;
            let deadline = Instant::now() + Duration::from_secs(20);
            while completed < N {
                assert!(
                    Instant::now() < deadline,
                    "TX stalled at {completed} completions"
                );
                while next < N && batch.spare() > 0 {
                    let Some(mut f) = free.pop() else { break };
                    let bytes = make(next);
                    sock.umem().room_mut(&mut f)[..bytes.len()].copy_from_slice(&bytes);
                    f.set_len(bytes.len() as u32);
                    let _ = batch.push(f);
                    next += 1;
                }
                tx.transmit(&mut batch).expect("no empty frames");
                completed += comp.complete(&mut free) as u32;
                if batch.len() == batch.capacity() {
                    tx.kick();
                    std::thread::sleep(Duration::from_micros(200));
                }
                // Pace a little so that the capture keeps up.
                if next.is_multiple_of(256) {
                    std::thread::sleep(Duration::from_micros(300));
                }
            }
            cap.join().unwrap()
        });
        assert_eq!(captured.len(), N as usize, "the peer captured every frame");
        for (i, bytes) in captured.iter().enumerate() {
            assert_eq!(bytes, &make(i as u32), "captured frame {i} differs");
        }
        assert_eq!(
            free.len() as u32,
            umem.layout().frame_count(),
            "every frame came back"
        );
        assert_eq!(sock.statistics().unwrap().tx_invalid_descs, 0);
    });
}

#[test]
fn two_queues_share_one_umem() {
    if !privileged("two_queues_share_one_umem") {
        return;
    }
    let _serial = serial();
    const N: u32 = 20_000;
    let ns = NetNs::new("shared");
    let veth = Veth::new(&ns, 2);
    ns.run(|| {
        let dev = Netdev::by_name(&veth.a).unwrap();
        assert_eq!(dev.queue_count().count, 2);
        let (map, _att) = redirect(&dev, XdpMode::Native);
        let umem = Umem::new(UmemConfig {
            frame_count: 8192,
            ..Default::default()
        })
        .unwrap();
        let (s0, mut q0) = SocketBuilder::new(&umem, &dev, 0).build().unwrap();
        let (s1, mut q1) = SocketBuilder::new(&umem, &dev, 1).build().unwrap();
        assert!(!s0.is_shared() && s1.is_shared());
        assert_eq!(
            s0.as_fd().as_raw(),
            umem.as_fd().as_raw(),
            "the first socket is the UMEM's"
        );
        map.insert(0, s0.as_fd()).unwrap();
        map.insert(1, s1.as_fd()).unwrap();
        let mut frames = umem.take_frames().unwrap();
        let mut half = FrameBuf::with_capacity(4096);
        half.take_from(&mut frames, 4096);
        q0.fill.fill(&mut frames);
        q1.fill.fill(&mut half);

        let out: Vec<Vec<u8>> = (0..N).map(frame).collect();
        let peer = veth.b.clone();
        let sender = std::thread::spawn(move || {
            send_paced(&peer, &out, 32, Duration::from_micros(500)).unwrap()
        });
        let seen = receive_checked(&mut [(&s0, &mut q0), (&s1, &mut q1)], N as usize);
        sender.join().unwrap();

        let (a, b) = (&seen[0], &seen[1]);
        assert_eq!(
            a.len() + b.len(),
            N as usize,
            "every frame arrives on one of the queues"
        );
        assert!(
            !a.is_empty() && !b.is_empty(),
            "flows spread over both queues: {} / {}",
            a.len(),
            b.len()
        );
        let all: HashSet<u32> = a.iter().chain(b).copied().collect();
        assert_eq!(all.len(), N as usize);
        // A flow stays on its queue.
        let flows_a: HashSet<u32> = a.iter().map(|s| s % 97).collect();
        let flows_b: HashSet<u32> = b.iter().map(|s| s % 97).collect();
        assert!(flows_a.is_disjoint(&flows_b));
        for s in [&s0, &s1] {
            assert_eq!(s.statistics().unwrap().rx_dropped, 0);
        }
    });
}

#[test]
fn binding_errors_name_the_queue_and_hint() {
    if !privileged("binding_errors_name_the_queue_and_hint") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("binderr");
    let veth = Veth::new(&ns, 1);
    ns.run(|| {
        let dev = Netdev::by_name(&veth.a).unwrap();
        let umem = Umem::new(UmemConfig::default()).unwrap();
        let err = SocketBuilder::new(&umem, &dev, 7).build().err().unwrap();
        assert!(
            err.to_string()
                .starts_with("bind AF_XDP socket: xa queue 7: EINVAL"),
            "{err}"
        );
        assert!(err.hint().unwrap().contains("queue 7"));
        let umem = Umem::new(UmemConfig::default()).unwrap();
        let (_s, _q) = SocketBuilder::new(&umem, &dev, 0).build().unwrap();
        let umem2 = Umem::new(UmemConfig::default()).unwrap();
        let err = SocketBuilder::new(&umem2, &dev, 0).build().err().unwrap();
        assert_eq!(err.errno(), Some(afxdp_core::Errno::EBUSY), "{err}");
        let bad = RingSizes {
            rx: 1000,
            ..RingSizes::default()
        };
        let umem3 = Umem::new(UmemConfig::default()).unwrap();
        let err = SocketBuilder::new(&umem3, &dev, 0)
            .ring_sizes(bad)
            .build()
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .contains("rx ring size 1000 is not a power of two"),
            "{err}"
        );
        let err = Umem::new(UmemConfig {
            frame_size: 3000,
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("frame size 3000"), "{err}");
    });
}

#[test]
fn unaligned_chunks_with_headroom_receive_every_frame() {
    if !privileged("unaligned_chunks_with_headroom_receive_every_frame") {
        return;
    }
    let _serial = serial();
    const N: u32 = 3_000;
    const HEADROOM: u32 = 128;
    let ns = NetNs::new("unaligned");
    let veth = Veth::new(&ns, 1);
    ns.run(|| {
        let dev = Netdev::by_name(&veth.a).unwrap();
        let (map, _att) = redirect(&dev, XdpMode::Native);
        // Chunks of 3000 bytes: only possible in unaligned mode.
        let cfg = UmemConfig {
            frame_count: 2048,
            frame_size: 3000,
            headroom: HEADROOM,
            unaligned: true,
            ..Default::default()
        };
        let umem = Umem::new(cfg).unwrap();
        let sizes = RingSizes {
            fill: 1024,
            rx: 1024,
            tx: 0,
            completion: 64,
        };
        let (sock, mut q) = SocketBuilder::new(&umem, &dev, 0)
            .ring_sizes(sizes)
            .build()
            .unwrap();
        map.insert(0, sock.as_fd()).unwrap();
        let mut frames = umem.take_frames().unwrap();
        q.fill.fill(&mut frames);
        let out: Vec<Vec<u8>> = (0..N).map(frame).collect();
        let peer = veth.b.clone();
        let sender = std::thread::spawn(move || {
            send_paced(&peer, &out, 32, Duration::from_micros(500)).unwrap()
        });
        let mut buf = FrameBuf::with_capacity(64);
        let mut got = 0u32;
        let mut offsets = HashSet::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while got < N && Instant::now() < deadline {
            let n = q.rx.as_mut().unwrap().receive(&mut buf);
            for f in buf.iter() {
                let l = umem.layout();
                // The kernel wrote the packet after the headroom in its chunk.
                let off = l.resolve(f.addr()) - l.chunk_of(f.addr());
                assert!(
                    off >= u64::from(HEADROOM),
                    "offset {off} inside the headroom"
                );
                offsets.insert(off);
                let data = umem.data(f);
                assert_eq!(data, &frame(seq_of(data).unwrap())[..]);
            }
            got += n as u32;
            q.fill.fill(&mut buf);
            if n == 0 {
                af_xdp::xsk::wait_readable(&[&sock], 10).unwrap();
            }
        }
        sender.join().unwrap();
        assert_eq!(got, N);
        assert_eq!(
            offsets.len(),
            1,
            "every packet at the same offset in its chunk: {offsets:?}"
        );
        assert_eq!(sock.statistics().unwrap().rx_invalid_descs, 0);
    });
}

/// Sets `vm.nr_hugepages` for the life of the guard.
struct HugePages(String);

impl HugePages {
    const PATH: &'static str = "/proc/sys/vm/nr_hugepages";
    fn reserve(n: u32) -> Option<HugePages> {
        let old = std::fs::read_to_string(Self::PATH).ok()?.trim().to_string();
        let want = old.parse::<u32>().ok()? + n;
        std::fs::write(Self::PATH, want.to_string()).ok()?;
        let got: u32 = std::fs::read_to_string(Self::PATH)
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let guard = HugePages(old);
        (got >= want).then_some(guard)
    }
}

impl Drop for HugePages {
    fn drop(&mut self) {
        let _ = std::fs::write(Self::PATH, &self.0);
    }
}

#[test]
fn a_hugepage_umem_registers_and_receives() {
    if !privileged("a_hugepage_umem_registers_and_receives") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("huge");
    let veth = Veth::new(&ns, 1);
    ns.run(|| {
        let cfg = UmemConfig {
            frame_count: 2048,
            hugepages: true,
            ..Default::default()
        };
        let guard = HugePages::reserve(4).expect("reserve 4 huge pages (8 MiB)");
        let dev = Netdev::by_name(&veth.a).unwrap();
        let (map, _att) = redirect(&dev, XdpMode::Native);
        let umem = Umem::new(cfg).unwrap();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
        let free_line = meminfo
            .lines()
            .find(|l| l.starts_with("HugePages_Free"))
            .unwrap()
            .to_string();
        let (sock, mut q) = SocketBuilder::new(&umem, &dev, 0).build().unwrap();
        map.insert(0, sock.as_fd()).unwrap();
        let mut frames = umem.take_frames().unwrap();
        q.fill.fill(&mut frames);
        let out: Vec<Vec<u8>> = (0..500).map(frame).collect();
        send_paced(&veth.b, &out, 32, Duration::from_micros(500)).unwrap();
        let seen = receive_checked(&mut [(&sock, &mut q)], 500);
        assert_eq!(seen[0].len(), 500);
        drop((sock, q, umem));
        drop(guard);
        // The UMEM really sat on huge pages: two of the four were in use.
        assert!(
            free_line.ends_with(" 2") || free_line.contains("Free:        2"),
            "{free_line}"
        );
    });
}

#[test]
fn a_umem_whose_first_socket_failed_says_so() {
    if !privileged("a_umem_whose_first_socket_failed_says_so") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("spoiled");
    let veth = Veth::new(&ns, 1);
    ns.run(|| {
        let dev = Netdev::by_name(&veth.a).unwrap();
        let umem = Umem::new(UmemConfig::default()).unwrap();
        assert!(
            SocketBuilder::new(&umem, &dev, 5).build().is_err(),
            "queue 5 does not exist"
        );
        let err = SocketBuilder::new(&umem, &dev, 0).build().err().unwrap();
        assert!(
            err.to_string().contains("leaves the UMEM unusable"),
            "{err}"
        );
        assert_eq!(err.hint(), Some("create a new Umem"));
    });
}

#[test]
fn frame_slices_never_run_past_their_chunk() {
    if !privileged("frame_slices_never_run_past_their_chunk") {
        return;
    }
    let umem = Umem::new(UmemConfig {
        frame_count: 4,
        ..Default::default()
    })
    .unwrap();
    let mut frames = umem.take_frames().unwrap();
    let mut last = frames.pop().unwrap();
    let room = umem.room(&last);
    assert_eq!(room, 2048);
    last.set_len(u32::MAX);
    assert_eq!(
        umem.data(&last).len(),
        room,
        "an absurd length is cut at the chunk's end"
    );
    assert_eq!(umem.data_mut(&mut last).len(), room);
    last.set_len(60);
    umem.room_mut(&mut last)[..4].copy_from_slice(b"abcd");
    assert_eq!(&umem.data(&last)[..4], b"abcd");
}

#[test]
fn a_shared_socket_inherits_the_first_sockets_wakeup_mode_and_still_sends() {
    if !privileged("a_shared_socket_inherits_the_first_sockets_wakeup_mode_and_still_sends") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("inherit");
    let veth = Veth::new(&ns, 2);
    ns.run(|| {
        let dev = Netdev::by_name(&veth.a).unwrap();
        let capture = PacketSocket::bind(&veth.b).unwrap();
        let umem = Umem::new(UmemConfig::default()).unwrap();
        let sizes = RingSizes {
            rx: 0,
            ..RingSizes::default()
        };
        let (s0, _q0) = SocketBuilder::new(&umem, &dev, 0)
            .ring_sizes(sizes)
            .need_wakeup(false)
            .build()
            .unwrap();
        // Asks for need-wakeup, but the kernel gives it the first socket's mode.
        let (s1, q1) = SocketBuilder::new(&umem, &dev, 1)
            .ring_sizes(sizes)
            .build()
            .unwrap();
        assert!(!s0.uses_need_wakeup());
        assert!(!s1.uses_need_wakeup(), "inherited from the first socket");
        let mut tx = q1.tx.unwrap();
        let mut comp = q1.completion;
        let mut free = umem.take_frames().unwrap();
        let mut batch = FrameBuf::with_capacity(64);
        let mut done = 0;
        for seq in 0..200u32 {
            let mut f = free.pop().unwrap();
            let bytes = udp_frame(Veth::MAC_A, Veth::MAC_B, seq, 0, 100);
            umem.room_mut(&mut f)[..100].copy_from_slice(&bytes);
            f.set_len(100);
            let _ = batch.push(f);
            if batch.spare() == 0 {
                while !batch.is_empty() {
                    tx.transmit(&mut batch).expect("no empty frames");
                    done += comp.complete(&mut free);
                }
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while !batch.is_empty() || done < 200 {
            assert!(Instant::now() < deadline, "TX on the shared socket stalled");
            tx.transmit(&mut batch).expect("no empty frames");
            done += comp.complete(&mut free);
            // Bound without need-wakeup: every transmit kicks, even an empty one.
            std::thread::sleep(Duration::from_micros(100));
            done += comp.complete(&mut free);
        }
        let got = capture.drain(Duration::from_millis(300)).unwrap();
        assert_eq!(got.len(), 200);
        let _ = s0;
    });
}
