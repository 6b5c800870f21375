//! Each example's core path, run as a test against the kernel: the
//! examples' `run` functions are compiled in here as they are, then driven
//! on a veth pair in a fresh namespace with frames sent from the peer.

use std::time::Duration;

use af_xdp::{prepare_netdev, PrepareOptions, Vdev};
use afxdp_testkit::frames::{seq_of, udp_frame};
use afxdp_testkit::packet::{send_paced, PacketSocket};
use afxdp_testkit::{privileged, serial, with_bpffs, NetNs, Veth};

#[allow(dead_code)]
#[path = "../examples/pinned_rx.rs"]
mod pinned_rx;

#[allow(dead_code)]
#[path = "../examples/privileged_rx.rs"]
mod privileged_rx;

#[allow(dead_code)]
#[path = "../examples/l2fwd.rs"]
mod l2fwd;

#[allow(dead_code)]
#[path = "../examples/tx.rs"]
mod tx;

fn frames(n: u32, flows: u16) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            udp_frame(
                Veth::MAC_B,
                Veth::MAC_A,
                i,
                (i % u32::from(flows)) as u16,
                60 + i as usize % 200,
            )
        })
        .collect()
}

/// Sends `out` from `peer` once the receiver had time to start.
fn send_later(peer: String, out: Vec<Vec<u8>>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        send_paced(&peer, &out, 32, Duration::from_micros(300)).unwrap();
    })
}

#[test]
fn pinned_rx_receives_through_a_pinned_map() {
    if !privileged("pinned_rx_receives_through_a_pinned_map") {
        return;
    }
    let _serial = serial();
    const N: u32 = 2000;
    let ns = NetNs::new("expin");
    let veth = Veth::new(&ns, 1);
    ns.run(|| {
        with_bpffs(|dir| {
            let pin = dir.join("xsks_map");
            let _prepared = prepare_netdev(
                &veth.a,
                &PrepareOptions {
                    pin: Some(pin.clone()),
                    ..Default::default()
                },
            )
            .unwrap();
            let sender = send_later(veth.b.clone(), frames(N, 1));
            let got = pinned_rx::run(
                &veth.a,
                pin.to_str().unwrap(),
                u64::from(N),
                Duration::from_secs(5),
            )
            .unwrap();
            sender.join().unwrap();
            assert_eq!(got.packets, u64::from(N));
            let bytes: u64 = frames(N, 1).iter().map(|f| f.len() as u64).sum();
            assert_eq!(got.bytes, bytes);
        })
    });
}

#[test]
fn privileged_rx_receives_on_two_queues() {
    if !privileged("privileged_rx_receives_on_two_queues") {
        return;
    }
    let _serial = serial();
    const N: u32 = 4000;
    let ns = NetNs::new("expriv");
    let veth = Veth::new(&ns, 2);
    ns.run(|| {
        let sender = send_later(veth.b.clone(), frames(N, 64));
        let per_queue =
            privileged_rx::run(&veth.a, 2, u64::from(N), Duration::from_secs(5)).unwrap();
        sender.join().unwrap();
        assert_eq!(per_queue.iter().sum::<u64>(), u64::from(N), "{per_queue:?}");
        assert!(
            per_queue.iter().all(|&n| n > 0),
            "both queues used: {per_queue:?}"
        );
    });
    // The program was held by a link: gone with the port.
    assert!(!ns.ip(&["-d", "link", "show", &veth.a]).contains("prog/xdp"));
}

#[test]
fn l2fwd_sends_every_frame_back_with_macs_swapped() {
    if !privileged("l2fwd_sends_every_frame_back_with_macs_swapped") {
        return;
    }
    let _serial = serial();
    const N: u32 = 3000;
    let ns = NetNs::new("exfwd");
    let veth = Veth::new(&ns, 1);
    ns.run(|| {
        let capture = PacketSocket::bind(&veth.b).unwrap();
        let out = frames(N, 1);
        let sender = send_later(veth.b.clone(), out.clone());
        let vdev = Vdev {
            busy_budget: 0,
            ..Vdev::new(&veth.a)
        };
        let sent = l2fwd::run(&vdev, u64::from(N), Duration::from_secs(5)).unwrap();
        sender.join().unwrap();
        assert_eq!(sent, u64::from(N));
        let back = capture.drain(Duration::from_millis(300)).unwrap();
        let back: Vec<_> = back.into_iter().filter(|f| f[..6] == Veth::MAC_B).collect();
        assert_eq!(back.len(), N as usize, "every frame came back");
        for f in &back {
            let seq = seq_of(f).expect("a test frame") as usize;
            let mut expect = out[seq].clone();
            let (d, s) = expect.split_at_mut(6);
            d.swap_with_slice(&mut s[..6]);
            assert_eq!(f, &expect, "frame {seq}: only the MACs changed");
        }
    });
}

#[test]
fn tx_sends_what_the_peer_captures() {
    if !privileged("tx_sends_what_the_peer_captures") {
        return;
    }
    let _serial = serial();
    const N: u64 = 2500;
    let ns = NetNs::new("extx");
    let veth = Veth::new(&ns, 1);
    ns.run(|| {
        let capture = PacketSocket::bind(&veth.b).unwrap();
        let (sent, bytes) = tx::run(&veth.a, N, Duration::from_secs(10)).unwrap();
        assert_eq!(sent, N);
        assert_eq!(bytes, N * 64);
        let got = capture.drain(Duration::from_millis(300)).unwrap();
        let mut seqs: Vec<u32> = got
            .iter()
            .filter(|f| f.len() == 64 && f[6..12] == [2, 0, 0, 0, 0, 1])
            .map(|f| u32::from_be_bytes([f[42], f[43], f[44], f[45]]))
            .collect();
        seqs.sort_unstable();
        seqs.dedup();
        assert_eq!(seqs.len() as u64, N, "each frame captured once");
        assert!(got
            .iter()
            .filter(|f| f.len() == 64)
            .all(|f| f[..] == tx::udp_frame(u32::from_be_bytes([f[42], f[43], f[44], f[45]]))[..]));
    });
}
