//! Regression tests, against the kernel in a network namespace with a veth
//! pair, one for each behaviour that was once wrong:
//!
//! - a zero-length TX frame is refused before the ring, and the counters
//!   match what the peer captured;
//! - frames lent for receiving stay within the fill ring's size (less the
//!   frames in flight for sending, up to half of it);
//! - a second socket on the queue of a UMEM's owner is refused with a clear
//!   message, and concurrent shared-UMEM builds have exactly one owner;
//! - a queue can be bound again right after its socket closed (`EBUSY` is
//!   retried), and a queue really in use is `Busy`, at once or after the
//!   retry;
//! - a deleted interface is an error (library and CLI), not silence;
//! - a pinned-map path outside a bpffs is an invalid argument, not a
//!   permissions problem, and a map pinned by `prepare_netdev` serves
//!   `Port::open`;
//! - `prepare_netdev` leaves nothing attached when it fails, and undoes
//!   everything when dropped;
//! - with `busy_budget`, a receive that finds nothing drives the kernel's
//!   busy polling with one `recvfrom` (as DPDK's does); without, it makes
//!   no system call.

use std::process::{Output, Stdio};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use af_xdp::attach;
use af_xdp::xsk::wait_readable;
use af_xdp::{
    prepare_netdev, AttachKind, Attachment, EmptyFrame, ErrorKind, FrameBuf, Netdev, Port,
    PortOptions, PortQueue, PrepareOptions, RingSizes, SocketBuilder, Umem, UmemConfig, Vdev,
    XdpMode, XdpProgram, XskMap, XskSocket,
};
use afxdp_core::Errno;
use afxdp_testkit::frames::udp_frame;
use afxdp_testkit::packet::{send_paced, PacketSocket};
use afxdp_testkit::process::lines;
use afxdp_testkit::{
    open_fds, privileged, serial, unique_path, with_bpffs, ChildGuard, NetNs, Veth,
};

const SOCKCTL: &str = env!("CARGO_BIN_EXE_sockctl");

fn vdev(s: &str) -> Vdev {
    s.parse().unwrap_or_else(|e| panic!("--vdev {s}: {e:?}"))
}

/// A small UMEM (256 frames of 2048 bytes).
fn small_umem() -> Umem {
    Umem::new(UmemConfig {
        frame_count: 256,
        ..Default::default()
    })
    .unwrap()
}

/// Options for a port with a small UMEM (fast to set up and tear down).
fn small_port() -> PortOptions {
    PortOptions {
        frames_per_queue: 512,
        ..PortOptions::default()
    }
}

/// A port on `xa` that only sends (no fill or RX ring), with a small UMEM.
fn send_only_port() -> Port {
    Port::open_with(
        &vdev("iface=xa"),
        &PortOptions {
            receive: false,
            ..small_port()
        },
    )
    .unwrap()
}

/// Collects completions until no frame is in flight (5 s at most).
fn complete_all(q: &mut PortQueue) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while q.in_flight_tx() > 0 {
        assert!(Instant::now() < deadline, "TX never completed");
        q.complete();
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Frame `seq` from the peer (`xb`) to `xa`, `len` bytes.
fn to_a(seq: u32, len: usize) -> Vec<u8> {
    udp_frame(Veth::MAC_B, Veth::MAC_A, seq, 0, len)
}

/// Frame `seq` from `xa` to the peer, `len` bytes.
fn to_b(seq: u32, len: usize) -> Vec<u8> {
    udp_frame(Veth::MAC_A, Veth::MAC_B, seq, 0, len)
}

/// Receives on every queue of `port` until `n` frames arrived or `limit`
/// passed, waiting with [`Port::wait`]; returns the frames' bytes.
fn receive(port: &mut Port, n: usize, limit: Duration) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    let deadline = Instant::now() + limit;
    while got.len() < n && Instant::now() < deadline {
        receive_once(port.queues_mut(), &mut got);
        if got.len() < n {
            port.wait(Duration::from_millis(10)).unwrap();
        }
    }
    got
}

/// One burst from each queue, appended to `got`.
fn receive_once(queues: &mut [PortQueue], got: &mut Vec<Vec<u8>>) {
    let mut burst = FrameBuf::with_capacity(64);
    for q in queues {
        q.receive(&mut burst);
        for f in burst.iter() {
            got.push(q.umem().data(f).to_vec());
        }
        q.release(&mut burst);
    }
}

/// Sends `n` frames of `len` bytes from the peer and checks that `queues`
/// receive exactly those, byte for byte, and count them.
fn prove_live(queues: &mut [PortQueue], first_seq: u32, n: u32, len: usize) {
    let count = |qs: &[PortQueue]| {
        qs.iter().fold((0, 0), |(p, b), q| {
            (p + q.counters().rx_packets, b + q.counters().rx_bytes)
        })
    };
    let before = count(queues);
    let out: Vec<Vec<u8>> = (first_seq..first_seq + n).map(|s| to_a(s, len)).collect();
    send_paced("xb", &out, 32, Duration::from_micros(200)).unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    while got.len() < out.len() && Instant::now() < deadline {
        receive_once(queues, &mut got);
        let socks: Vec<&XskSocket> = queues.iter().map(PortQueue::socket).collect();
        wait_readable(&socks, 10).unwrap();
    }
    // Nothing more comes.
    std::thread::sleep(Duration::from_millis(20));
    receive_once(queues, &mut got);
    assert_eq!(got, out, "received exactly what the peer sent");
    let after = count(queues);
    assert_eq!(after.0 - before.0, u64::from(n));
    assert_eq!(after.1 - before.1, u64::from(n) * len as u64);
}

#[test]
fn a_zero_length_tx_frame_is_refused_and_the_counters_match_the_peer() {
    if !privileged("a_zero_length_tx_frame_is_refused_and_the_counters_match_the_peer") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("emptytx");
    let _veth = Veth::new(&ns, 1);
    ns.run(|| {
        let capture = PacketSocket::bind("xb").unwrap();
        let mut port = send_only_port();
        let q = &mut port.queues_mut()[0];
        let umem = q.umem().clone();

        // An empty frame first: nothing is submitted.
        let mut batch = FrameBuf::with_capacity(3);
        assert_eq!(q.alloc(&mut batch, 1), 1);
        assert_eq!(q.transmit(&mut batch), Err(EmptyFrame { sent: 0 }));
        assert_eq!(batch.len(), 1, "the empty frame stays with the caller");
        assert_eq!(q.in_flight_tx(), 0);
        q.release(&mut batch);

        // [60 bytes, 0 bytes, 60 bytes]: the first goes, the empty one stops
        // the batch and stays at its front.
        assert_eq!(q.alloc(&mut batch, 3), 3);
        let addrs: Vec<u64> = batch.iter().map(|f| f.addr()).collect();
        for (i, f) in batch.iter_mut().enumerate() {
            if i == 1 {
                f.set_len(0);
                continue;
            }
            let bytes = to_b(i as u32, 60);
            umem.room_mut(f)[..60].copy_from_slice(&bytes);
            f.set_len(60);
        }
        let err = q.transmit(&mut batch).unwrap_err();
        assert_eq!(err, EmptyFrame { sent: 1 });
        let msg = err.to_string();
        assert!(
            msg.contains("frame 1 ") && msg.contains("length 0"),
            "{msg}"
        );
        assert_eq!(batch.len(), 2);
        let first = batch.first().unwrap();
        assert_eq!(first.addr(), addrs[1], "the empty frame is at the front");
        assert_eq!(first.len(), 0);
        assert_eq!(q.in_flight_tx(), 1);

        // Give the empty frame back, send the rest.
        let empty = batch.pop_front().unwrap();
        q.release_one(empty);
        assert_eq!(q.transmit(&mut batch), Ok(1));
        assert!(batch.is_empty());
        complete_all(q);

        let captured = capture.drain(Duration::from_millis(300)).unwrap();
        assert_eq!(
            captured,
            vec![to_b(0, 60), to_b(2, 60)],
            "exactly the frames with a length reached the peer"
        );
        let stats = q.statistics().unwrap();
        assert_eq!(
            stats.tx_invalid_descs, 0,
            "no empty descriptor reached the kernel: {stats:?}"
        );
        let c = q.counters();
        assert_eq!(c.tx_packets, captured.len() as u64, "{c:?}");
        assert_eq!(
            c.tx_bytes,
            captured.iter().map(|f| f.len() as u64).sum::<u64>(),
            "{c:?}"
        );
        assert_eq!((c.rx_packets, c.rx_bytes), (0, 0));
    });
}

/// DPDK's receive, with `busy_budget`, calls `recvfrom` whenever the RX
/// ring is empty: with preferred busy polling the kernel defers its own
/// processing to the application's calls. Ours set the socket up for it
/// and then never called.
#[test]
fn with_busy_polling_an_empty_receive_drives_the_kernel() {
    if !privileged("with_busy_polling_an_empty_receive_drives_the_kernel") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("busypoll");
    let _veth = Veth::new(&ns, 1);
    ns.run(|| {
        let mut burst = FrameBuf::with_capacity(64);
        {
            let mut port = Port::open_with(&vdev("iface=xa,busy_budget=0"), &small_port()).unwrap();
            let q = &mut port.queues_mut()[0];
            assert!(!q.busy_polling());
            for _ in 0..10 {
                assert_eq!(q.receive(&mut burst), 0);
            }
            assert_eq!(q.rx_wakeups(), 0, "no busy polling asked for");
        }
        let mut port = Port::open_with(&vdev("iface=xa,busy_budget=64"), &small_port()).unwrap();
        assert!(port.busy_poll_error().is_none(), "root may busy-poll");
        let q = &mut port.queues_mut()[0];
        assert!(q.busy_polling(), "Port::open turned busy polling on");
        for _ in 0..10 {
            assert_eq!(q.receive(&mut burst), 0);
        }
        assert_eq!(q.rx_wakeups(), 10, "one recvfrom per empty receive");
        // A receive with no room takes nothing and drives nothing.
        let mut full = FrameBuf::with_capacity(0);
        assert_eq!(q.receive(&mut full), 0);
        assert_eq!(q.rx_wakeups(), 10, "no recvfrom for a receive with no room");
        // Frames still arrive, byte for byte.
        prove_live(port.queues_mut(), 0, 100, 60);
    });
}

/// A kick (`sendto`) only while descriptors wait in the TX ring, as many as
/// copy mode needs (32 frames each) and no more: `transmit` of a few frames
/// with earlier ones still in flight is one kick, of 100 frames four;
/// `complete` with every descriptor taken kicks not at all; every frame
/// arrives.
#[test]
fn one_transmit_is_at_most_one_kick() {
    if !privileged("one_transmit_is_at_most_one_kick") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("kicks");
    let _veth = Veth::new(&ns, 1);
    ns.run(|| {
        let capture = PacketSocket::bind("xb").unwrap();
        let mut port = send_only_port();
        let q = &mut port.queues_mut()[0];
        let umem = q.umem().clone();
        let mut batch = FrameBuf::with_capacity(8);
        let mut seq = 0u32;
        let mut fill = |q: &mut PortQueue, batch: &mut FrameBuf, n: usize| {
            assert_eq!(q.alloc(batch, n), n);
            for f in batch.iter_mut() {
                umem.room_mut(f)[..60].copy_from_slice(&to_b(seq, 60));
                f.set_len(60);
                seq += 1;
            }
        };
        assert_eq!(q.tx_kicks(), 0);
        // Nothing in flight, nothing to send: no kick.
        assert_eq!(q.complete(), 0);
        assert_eq!(q.transmit(&mut batch), Ok(0));
        assert_eq!(q.tx_kicks(), 0, "a kick with nothing to send");
        for round in 1..=20u64 {
            fill(q, &mut batch, 4);
            assert_eq!(q.transmit(&mut batch), Ok(4));
            // Copy mode always asks for a kick: exactly one per call, also
            // with earlier frames still in flight.
            assert_eq!(q.tx_kicks(), round, "kicks after {round} transmits");
        }
        // 100 frames at once: copy mode sends at most 32 per kick, so the
        // flush kicks until all are taken, 4 kicks (32 + 32 + 32 + 4).
        let before = q.tx_kicks();
        let mut big = FrameBuf::with_capacity(100);
        fill(q, &mut big, 100);
        assert_eq!(q.transmit(&mut big), Ok(100));
        assert_eq!(q.tx_kicks() - before, 4, "kicks for 100 frames");
        let kicks = q.tx_kicks();
        complete_all(q);
        let kicks_completing = q.tx_kicks() - kicks;
        q.complete();
        assert_eq!(
            q.tx_kicks() - kicks,
            kicks_completing,
            "complete() kicked with nothing in flight"
        );
        let captured = capture.drain(Duration::from_millis(300)).unwrap();
        assert_eq!(captured.len(), 180, "every frame reached the peer");
        assert_eq!(q.counters().tx_packets, 180);
        assert_eq!(kicks_completing, 0, "kicks for frames the kernel had taken");
    });
}

/// The frames lent to the kernel for receiving (fill ring and RX ring) stay
/// within the fill ring's size, less the frames in flight for sending
/// (counted for at most half of it): frames waiting in the RX ring are not
/// replaced from the free pool before they are received, frames the
/// application holds are, frames sent are replaced only once they complete
/// (beyond half the ring). Lending every free frame made the kernel's
/// receive path walk the whole UMEM.
#[test]
fn frames_lent_for_receiving_stay_within_the_fill_ring() {
    if !privileged("frames_lent_for_receiving_stay_within_the_fill_ring") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("rxlent");
    let _veth = Veth::new(&ns, 1);
    ns.run(|| {
        let rings = RingSizes {
            rx: 256,
            tx: 256,
            fill: 256,
            completion: 256,
        };
        let mut port = Port::open_with(
            &vdev("iface=xa"),
            &PortOptions {
                frames_per_queue: 512,
                rings,
                ..PortOptions::default()
            },
        )
        .unwrap();
        let q = &mut port.queues_mut()[0];
        assert_eq!(q.free_frames(), 256, "the fill ring's 256 lent at open");
        let arrive = |q: &PortQueue, first: u32, n: u32| -> Vec<Vec<u8>> {
            let sent: Vec<Vec<u8>> = (first..first + n).map(|s| to_a(s, 60)).collect();
            send_paced("xb", &sent, 32, Duration::from_micros(200)).unwrap();
            wait_readable(&[q.socket()], 1000).unwrap();
            // All of them in the RX ring (moved there from the fill ring).
            std::thread::sleep(Duration::from_millis(50));
            sent
        };
        let bytes = |q: &PortQueue, bufs: &[&FrameBuf]| -> Vec<Vec<u8>> {
            bufs.iter()
                .flat_map(|b| b.iter())
                .map(|f| q.umem().data(f).to_vec())
                .collect()
        };

        // 100 wait in the RX ring: receiving 10 of them lends nothing new.
        let sent = arrive(q, 0, 100);
        let mut first = FrameBuf::with_capacity(10);
        assert_eq!(q.receive(&mut first), 10);
        assert_eq!(
            q.free_frames(),
            256,
            "frames were lent while 100 waited in the RX ring"
        );
        let mut rest = FrameBuf::with_capacity(100);
        assert_eq!(q.receive(&mut rest), 90);
        assert_eq!(q.free_frames(), 246, "the 10 received replaced");
        // Nothing arrives; the 90 received are replaced too.
        let mut none = FrameBuf::with_capacity(64);
        assert_eq!(q.receive(&mut none), 0);
        assert_eq!(q.free_frames(), 156, "512 - 256 lent - 100 held");
        assert_eq!(bytes(q, &[&first, &rest]), sent, "received what was sent");
        q.release(&mut first);
        q.release(&mut rest);
        assert_eq!(q.free_frames(), 256);

        // 200 received and sent back out at once: 56 stay lent, 200 are in
        // flight, of which 128 (half the ring) count, so 72 more are lent.
        let sent = arrive(q, 100, 200);
        let mut got = FrameBuf::with_capacity(200);
        assert_eq!(q.receive(&mut got), 200);
        assert_eq!(bytes(q, &[&got]), sent, "received what was sent");
        assert_eq!(q.transmit(&mut got), Ok(200));
        assert_eq!(q.in_flight_tx(), 200);
        assert_eq!(q.receive(&mut none), 0);
        assert_eq!(q.free_frames(), 512 - (56 + 72) - 200);
        // Once they complete, the ring's worth is lent again.
        complete_all(q);
        assert_eq!(q.receive(&mut none), 0);
        assert_eq!(q.free_frames(), 256);
        assert_eq!(q.counters().rx_packets, 300);
        assert_eq!(q.counters().tx_packets, 200);
    });
}

/// Frames of another UMEM handed to `PortQueue::new` are refused there: they
/// used to be taken, and the panic came later, inside a receive, after part
/// of a batch had left the free frames for good.
#[test]
fn a_port_queue_refuses_frames_of_another_umem_when_it_is_made() {
    if !privileged("a_port_queue_refuses_frames_of_another_umem_when_it_is_made") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("otherumem");
    let _veth = Veth::new(&ns, 1);
    ns.run(|| {
        let dev = Netdev::by_name("xa").unwrap();
        let (mine, other) = (small_umem(), small_umem());
        let (sock, rings) = SocketBuilder::new(&mine, &dev, 0).build().unwrap();
        let frames = other.take_frames().unwrap();
        let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            PortQueue::new(sock, rings, frames)
        }));
        let msg = *made.expect_err("refused").downcast::<&str>().unwrap();
        assert!(msg.contains("another UMEM"), "{msg}");
        // Its own frames are fine (a fresh UMEM: `mine` keeps its owner
        // socket, bound to the queue, while it lives).
        drop((mine, other));
        let fresh = small_umem();
        let (sock, rings) = SocketBuilder::new(&fresh, &dev, 0).build().unwrap();
        let q = PortQueue::new(sock, rings, fresh.take_frames().unwrap());
        assert_eq!(q.free_frames(), 0, "all 256 lent to a fill ring of 2048");
    });
}

#[test]
fn a_second_socket_on_the_umem_owners_queue_is_refused_clearly() {
    if !privileged("a_second_socket_on_the_umem_owners_queue_is_refused_clearly") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("samequeue");
    let _veth = Veth::new(&ns, 2);
    ns.run(|| {
        let dev = Netdev::by_name("xa").unwrap();
        let umem = small_umem();
        let (owner, _q0) = SocketBuilder::new(&umem, &dev, 0).build().unwrap();
        assert!(!owner.is_shared());
        let err = SocketBuilder::new(&umem, &dev, 0).build().err().unwrap();
        let msg = err.to_string();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{msg}");
        assert_eq!(err.errno(), None, "refused before the kernel: {msg}");
        assert!(msg.contains("xa queue 0"), "{msg}");
        assert!(
            msg.contains("a second socket on the queue of the socket that owns the UMEM"),
            "{msg}"
        );
        assert!(msg.contains("not support"), "{msg}");
        assert!(!msg.contains("EINVAL"), "{msg}");
        let hint = err.hint().unwrap_or("");
        assert!(
            !hint.contains("ethtool") && !hint.contains("within the queues"),
            "no queue-range hint: {hint}"
        );
        // The UMEM is not spoiled: its other queue still takes a socket.
        let (s1, _q1) = SocketBuilder::new(&umem, &dev, 1).build().unwrap();
        assert!(s1.is_shared());
        assert_eq!(s1.queue(), 1);
    });
}

#[test]
fn concurrent_shared_umem_builds_have_exactly_one_owner() {
    if !privileged("concurrent_shared_umem_builds_have_exactly_one_owner") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("racebuild");
    let _veth = Veth::new(&ns, 2);
    ns.run(|| {
        let dev = Netdev::by_name("xa").unwrap();
        for round in 0..30 {
            let umem = small_umem();
            let barrier = Barrier::new(2);
            // Threads spawned here inherit this thread's network namespace.
            let results = std::thread::scope(|s| {
                let handles: Vec<_> = [0u32, 1]
                    .into_iter()
                    .map(|queue| {
                        let (umem, dev, barrier) = (&umem, &dev, &barrier);
                        s.spawn(move || {
                            barrier.wait();
                            SocketBuilder::new(umem, dev, queue).build()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap())
                    .collect::<Vec<_>>()
            });
            let socks: Vec<_> = results
                .into_iter()
                .enumerate()
                .map(|(q, r)| r.unwrap_or_else(|e| panic!("round {round}, queue {q}: {e}")))
                .collect();
            let owners: Vec<_> = socks.iter().filter(|(s, _)| !s.is_shared()).collect();
            let all: Vec<_> = socks.iter().map(|(s, _)| s).collect();
            assert_eq!(owners.len(), 1, "round {round}: {all:?}");
            assert_eq!(
                owners[0].0.as_fd().as_raw(),
                umem.as_fd().as_raw(),
                "round {round}: the owner uses the UMEM's fd"
            );
            let queues: Vec<u32> = socks.iter().map(|(s, _)| s.queue()).collect();
            assert_eq!(queues, vec![0, 1], "round {round}");
        }
    });
}

#[test]
fn a_queue_binds_again_right_after_its_socket_closed_50_times() {
    if !privileged("a_queue_binds_again_right_after_its_socket_closed_50_times") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("rebind");
    let _veth = Veth::new(&ns, 1);
    ns.run(|| {
        let dev = Netdev::by_name("xa").unwrap();
        let map = XskMap::create(1, "xsks_map").unwrap();
        let prog = XdpProgram::load_redirect(&map, None).unwrap();
        let _att = Attachment::link(dev.clone(), prog, XdpMode::Auto).unwrap();
        let fds_before = open_fds();
        // Measured on 6.18: without the retry, 48 of 50 of these binds fail
        // with EBUSY (the kernel releases the queue from a work queue).
        for i in 0..50u32 {
            let umem = small_umem();
            let (sock, rings) = SocketBuilder::new(&umem, &dev, 0)
                .build()
                .unwrap_or_else(|e| panic!("iteration {i}: {e}"));
            let frames = umem.take_frames().unwrap();
            let mut q = [PortQueue::new(sock, rings, frames)];
            map.insert(0, q[0].socket().as_fd()).unwrap();
            if i == 0 || i == 49 || i % 10 == 5 {
                prove_live(&mut q, i * 100, 8, 64);
            }
            // Everything drops here; the next bind follows at once.
        }
        assert_eq!(open_fds(), fds_before, "nothing leaked over 50 sockets");
    });
}

#[test]
fn a_port_opens_again_right_after_it_closed_50_times() {
    if !privileged("a_port_opens_again_right_after_it_closed_50_times") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("reopen");
    let _veth = Veth::new(&ns, 1);
    ns.run(|| {
        let fds_before = open_fds();
        for i in 0..50u32 {
            let started = Instant::now();
            let mut port = Port::open_with(&vdev("iface=xa"), &small_port())
                .unwrap_or_else(|e| panic!("iteration {i}: {e}"));
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "iteration {i}: open took {:?}",
                started.elapsed()
            );
            if i == 0 || i == 49 || i % 10 == 5 {
                prove_live(port.queues_mut(), i * 100, 8, 64);
            }
            // Dropped at the end of the iteration: sockets, UMEM, map,
            // program and link all close, and the next open follows at once.
        }
        assert_eq!(open_fds(), fds_before, "nothing leaked over 50 ports");
    });
}

/// The number in "after N tries" of a bind error.
fn tries_in(msg: &str) -> u32 {
    let at = msg
        .find("after ")
        .unwrap_or_else(|| panic!("no try count in {msg}"));
    msg[at + 6..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no try count in {msg}"))
}

#[test]
fn a_queue_held_by_a_live_socket_is_busy_at_once_or_after_the_retry() {
    if !privileged("a_queue_held_by_a_live_socket_is_busy_at_once_or_after_the_retry") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("busy");
    let _veth = Veth::new(&ns, 1);
    ns.run(|| {
        let dev = Netdev::by_name("xa").unwrap();
        let holder_umem = small_umem();
        let (_holder, _hq) = SocketBuilder::new(&holder_umem, &dev, 0).build().unwrap();

        let t = Instant::now();
        let err = SocketBuilder::new(&small_umem(), &dev, 0)
            .bind_retry(Duration::ZERO)
            .build()
            .err()
            .unwrap();
        let took = t.elapsed();
        let msg = err.to_string();
        assert_eq!(err.kind(), ErrorKind::Busy, "{msg}");
        assert_eq!(err.errno(), Some(Errno::EBUSY), "{msg}");
        assert!(took < Duration::from_millis(200), "no retry: {took:?}");
        assert!(
            msg.starts_with("bind AF_XDP socket: xa queue 0: EBUSY"),
            "{msg}"
        );
        assert_eq!(tries_in(&msg), 1, "{msg}");

        let t = Instant::now();
        let err = SocketBuilder::new(&small_umem(), &dev, 0)
            .build()
            .err()
            .unwrap();
        let took = t.elapsed();
        let msg = err.to_string();
        assert_eq!(err.kind(), ErrorKind::Busy, "{msg}");
        assert!(
            took >= Duration::from_millis(900) && took <= Duration::from_secs(3),
            "the default retry lasts about 1 s: {took:?}"
        );
        let tries = tries_in(&msg);
        assert!(tries > 1, "retried: {msg}");
        assert!(msg.contains(&format!("after {tries} tries in ")), "{msg}");
        assert!(
            err.hint()
                .is_some_and(|h| h.contains("another AF_XDP socket")),
            "{:?}",
            err.hint()
        );
    });
}

#[test]
fn a_deleted_interface_is_a_network_down_error_from_wait() {
    if !privileged("a_deleted_interface_is_a_network_down_error_from_wait") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("vanish");
    let _veth = Veth::new(&ns, 1);
    ns.run(|| {
        let mut port = Port::open_with(&vdev("iface=xa"), &small_port()).unwrap();
        prove_live(port.queues_mut(), 0, 4, 64);
        // While the interface is there, waiting is quiet and fine.
        for _ in 0..3 {
            assert!(!port.wait(Duration::from_millis(20)).unwrap());
        }
        port.check().unwrap();

        ns.ip(&["link", "del", "xa"]);
        let deadline = Instant::now() + Duration::from_secs(2);
        let err = loop {
            match port.wait(Duration::from_millis(50)) {
                Err(e) => break e,
                Ok(_) => assert!(
                    Instant::now() < deadline,
                    "wait still quiet 2 s after the interface was deleted"
                ),
            }
        };
        let msg = err.to_string();
        assert_eq!(err.kind(), ErrorKind::NetworkDown, "{msg}");
        assert_eq!(err.errno(), Some(Errno::ENETDOWN), "{msg}");
        assert!(msg.contains("xa"), "names the interface: {msg}");
        // Closing a port whose interface is gone is fine.
        drop(port);
    });
}

#[test]
fn a_downed_interface_is_not_an_error_and_traffic_resumes_when_it_is_up() {
    if !privileged("a_downed_interface_is_not_an_error_and_traffic_resumes_when_it_is_up") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("downed");
    let _veth = Veth::new(&ns, 1);
    ns.run(|| {
        let mut port = Port::open_with(&vdev("iface=xa"), &small_port()).unwrap();
        prove_live(port.queues_mut(), 0, 4, 64);
        ns.ip(&["link", "set", "xa", "down"]);
        // Down is not gone: the sockets stay bound, wait stays quiet.
        let until = Instant::now() + Duration::from_millis(300);
        while Instant::now() < until {
            port.wait(Duration::from_millis(50))
                .expect("a downed interface is not an error");
        }
        port.check().expect("still bound while down");
        ns.ip(&["link", "set", "xa", "up"]);
        std::thread::sleep(Duration::from_millis(200));
        prove_live(port.queues_mut(), 100, 4, 64);
    });
}

#[test]
fn a_deleted_interface_stays_an_error_on_every_later_wait() {
    if !privileged("a_deleted_interface_stays_an_error_on_every_later_wait") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("gone2");
    let _veth = Veth::new(&ns, 1);
    ns.run(|| {
        let mut port = Port::open_with(&vdev("iface=xa"), &small_port()).unwrap();
        ns.ip(&["link", "del", "xa"]);
        let deadline = Instant::now() + Duration::from_secs(2);
        let first = loop {
            match port.wait(Duration::from_millis(50)) {
                Err(e) => break e,
                Ok(_) => assert!(Instant::now() < deadline, "wait quiet after the delete"),
            }
        };
        assert_eq!(first.kind(), ErrorKind::NetworkDown, "{first}");
        for _ in 0..3 {
            let again = port.wait(Duration::from_millis(10)).unwrap_err();
            assert_eq!(again, first, "the same error every time");
        }
        // A socket alone, whose SO_ERROR was already read, still says so.
        let e = port.queues()[0].socket().take_error().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NetworkDown, "{e}");
    });
}

#[test]
fn sockctl_rx_exits_1_naming_the_interface_when_it_is_deleted() {
    if !privileged("sockctl_rx_exits_1_naming_the_interface_when_it_is_deleted") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("vanishcli");
    let _veth = Veth::new(&ns, 1);
    let started = Instant::now();
    // Killed and reaped on drop, should the test fail before it exits.
    let mut child = ChildGuard::new(
        ns.command(SOCKCTL)
            .args(["rx", "--vdev", "iface=xa", "--duration", "8"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sockctl rx"),
    );
    let err_lines = lines(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    loop {
        match err_lines.recv_timeout(Duration::from_secs(20)) {
            Ok(l) if l.starts_with("sockctl rx: ") => {
                seen.push(l);
                break;
            }
            Ok(l) => seen.push(l),
            Err(_) => panic!("sockctl rx did not start; stderr:\n{}", seen.join("\n")),
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    ns.ip(&["link", "del", "xa"]);
    let deleted = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if started.elapsed() > Duration::from_secs(30) {
            panic!("sockctl rx did not stop; stderr:\n{}", seen.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let noticed = deleted.elapsed();
    // The rest of its stderr, to the end of the stream.
    seen.extend(err_lines.iter());
    let stderr = seen.join("\n");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        noticed < Duration::from_secs(3),
        "exits soon after the deletion, not at --duration 8: {noticed:?}\n{stderr}"
    );
    let error = seen
        .iter()
        .find(|l| l.starts_with("sockctl: ") && !l.starts_with("sockctl: warning"))
        .unwrap_or_else(|| panic!("no error line:\n{stderr}"));
    assert!(
        error.contains("xa") && error.contains("ENETDOWN"),
        "{error}\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn sockctl(ns: &NetNs, args: &[&str]) -> Output {
    ns.command(SOCKCTL).args(args).output().unwrap()
}

#[test]
fn a_pinned_map_path_outside_a_bpffs_is_an_invalid_argument() {
    if !privileged("a_pinned_map_path_outside_a_bpffs_is_an_invalid_argument") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("notbpffs");
    let _veth = Veth::new(&ns, 1);
    let v = "iface=xa,use_pinned_map=1,dp_path=/etc/passwd";
    ns.run(|| {
        let err = Port::open(&vdev(v)).unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{msg}");
        assert!(msg.contains("/etc/passwd"), "{msg}");
        assert!(msg.contains("not on a bpffs"), "{msg}");
        let hint = err.hint().unwrap_or("");
        assert!(
            !hint.contains("permission") && !msg.contains("permission"),
            "not a permissions problem: {msg} / {hint}"
        );
    });
    let out = sockctl(&ns, &["rx", "--vdev", v]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("sockctl: BPF_OBJ_GET: /etc/passwd: "),
        "{stderr}"
    );
    assert!(stderr.contains("not on a bpffs"), "{stderr}");
    assert!(!stderr.contains("permission"), "{stderr}");
}

#[test]
fn a_map_pinned_by_prepare_netdev_serves_port_open() {
    if !privileged("a_map_pinned_by_prepare_netdev_serves_port_open") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("pinport");
    let _veth = Veth::new(&ns, 1);
    with_bpffs(|dir| {
        // Threads started from the bpffs thread share its mounts.
        ns.run(|| {
            let pin = dir.join("xsks_map");
            let prepared = prepare_netdev(
                "xa",
                &PrepareOptions {
                    pin: Some(pin.clone()),
                    ..Default::default()
                },
            )
            .unwrap();
            assert_eq!(prepared.pin_path(), Some(pin.as_path()));
            let mut port = Port::open_with(
                &vdev(&format!(
                    "iface=xa,use_pinned_map=1,dp_path={}",
                    pin.display()
                )),
                &small_port(),
            )
            .unwrap();
            assert!(port.attachment().is_none(), "the client attached nothing");
            assert_eq!(port.map().id(), prepared.map().id());
            let out: Vec<Vec<u8>> = (0..200).map(|s| to_a(s, 60 + s as usize)).collect();
            send_paced("xb", &out, 32, Duration::from_micros(300)).unwrap();
            let got = receive(&mut port, out.len(), Duration::from_secs(3));
            assert_eq!(got.len(), 200, "every frame arrived");
            assert_eq!(got, out, "byte for byte, in order");
            let c = port.counters();
            assert_eq!(c.rx_packets, 200);
            assert_eq!(c.rx_bytes, out.iter().map(|f| f.len() as u64).sum::<u64>());
            assert_eq!(port.statistics().unwrap().rx_dropped, 0);
            drop(port);
            drop(prepared);
            assert!(!pin.exists(), "unpinned when dropped");
        })
    });
}

/// Whether anything is attached to `xa`, by the library and by `ip`.
fn attached(ns: &NetNs, dev: &Netdev) -> bool {
    let lib = attach::query(dev).unwrap().is_attached();
    let ip = ns.ip(&["-d", "link", "show", "xa"]);
    let by_ip = ip.contains("prog/xdp") || ip.contains("xdpgeneric");
    assert_eq!(lib, by_ip, "the library and ip agree: {ip}");
    lib
}

#[test]
fn a_failed_prepare_netdev_leaves_nothing_attached() {
    if !privileged("a_failed_prepare_netdev_leaves_nothing_attached") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("prepfail");
    let _veth = Veth::new(&ns, 1);
    ns.run(|| {
        let dev = Netdev::by_name("xa").unwrap();
        assert!(!attached(&ns, &dev));
        let fds_before = open_fds();
        let missing_dir = unique_path("nopindir");
        let not_bpffs = std::env::temp_dir();
        assert_eq!(af_xdp::map::on_bpffs(&not_bpffs), Some(false));
        let cases = [
            (missing_dir.join("xsks_map"), AttachKind::Link),
            (
                missing_dir.join("xsks_map"),
                AttachKind::Netlink { replace: false },
            ),
            (
                not_bpffs.join(unique_path("pin").file_name().unwrap()),
                AttachKind::Link,
            ),
            (
                not_bpffs.join(unique_path("pin").file_name().unwrap()),
                AttachKind::Netlink { replace: false },
            ),
        ];
        for (pin, kind) in cases {
            let err = prepare_netdev(
                "xa",
                &PrepareOptions {
                    pin: Some(pin.clone()),
                    attach: kind,
                    ..Default::default()
                },
            )
            .err()
            .unwrap_or_else(|| panic!("{kind:?}: pinning at {} succeeded", pin.display()));
            let msg = err.to_string();
            assert!(msg.contains(&pin.display().to_string()), "{msg}");
            assert!(
                !attached(&ns, &dev),
                "{kind:?}, {}: the program stayed attached after {msg}",
                pin.display()
            );
            assert!(!pin.exists());
        }
        assert_eq!(open_fds(), fds_before, "maps, programs and links closed");
        // Nothing holds the interface: a netlink attach (refused while any
        // program or link is there) goes through.
        let ok = prepare_netdev(
            "xa",
            &PrepareOptions {
                attach: AttachKind::Netlink { replace: false },
                ..Default::default()
            },
        )
        .unwrap();
        assert!(attached(&ns, &dev));
        drop(ok);
        assert!(!attached(&ns, &dev));
    });
}

#[test]
fn dropping_a_prepared_netdev_unpins_and_detaches() {
    if !privileged("dropping_a_prepared_netdev_unpins_and_detaches") {
        return;
    }
    let _serial = serial();
    let ns = NetNs::new("prepdrop");
    let _veth = Veth::new(&ns, 2);
    with_bpffs(|dir| {
        ns.run(|| {
            let dev = Netdev::by_name("xa").unwrap();
            let pin = dir.join("xsks_map");
            let fds_before = open_fds();
            let prepared = prepare_netdev(
                "xa",
                &PrepareOptions {
                    pin: Some(pin.clone()),
                    ..Default::default()
                },
            )
            .unwrap();
            assert!(pin.exists());
            let reopened = af_xdp::XskMap::open_pinned(&pin).unwrap();
            assert_eq!(reopened.id(), prepared.map().id());
            assert_eq!(reopened.max_entries(), 2, "one entry per queue");
            drop(reopened);
            let st = attach::query(&dev).unwrap();
            assert_eq!(st.prog_id, Some(prepared.attachment().program().id()));
            assert!(attached(&ns, &dev));

            drop(prepared);
            assert!(!pin.exists(), "the pin is removed");
            assert!(!attached(&ns, &dev), "the program is detached");
            assert_eq!(open_fds(), fds_before, "map, program and link closed");
            // The same pin path can be used again.
            let again = prepare_netdev(
                "xa",
                &PrepareOptions {
                    pin: Some(pin.clone()),
                    ..Default::default()
                },
            )
            .unwrap();
            assert!(pin.exists());
            drop(again);
            assert!(!pin.exists());
        })
    });
}
