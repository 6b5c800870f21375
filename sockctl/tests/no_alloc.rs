//! The data-path calls (fill, rx, tx, completion) allocate nothing: a
//! counting global allocator, armed only on the data-path thread while it
//! moves real frames, must count zero.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use af_xdp::fwd::{Forwarder, FwdMode};
use af_xdp::{Port, Vdev, XdpMode};
use afxdp_testkit::frames::udp_frame;
use afxdp_testkit::packet::{send_paced, PacketSocket};
use afxdp_testkit::{privileged, serial, NetNs, Veth};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

fn note() {
    if ARMED.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counting touches only an atomic and a const-initialised thread local.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's pointer and layouts.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn the_data_path_allocates_nothing() {
    if !privileged("the_data_path_allocates_nothing") {
        return;
    }
    let _serial = serial();
    const N: u32 = 10_000;
    let ns = NetNs::new("noalloc");
    let veth = Veth::new(&ns, 1);
    ns.run(|| {
        // The library's entry point, privileged: map, program (a link),
        // UMEM, socket, fill ring, XSKMAP.
        let vdev = Vdev {
            xdp_mode: Some(XdpMode::Native),
            ..Vdev::new(&veth.a)
        };
        let mut port = Port::open(&vdev).unwrap();
        // macswap drives all four rings: RX, fill, TX and completion.
        let mut fwd = Forwarder::new(&mut port.queues_mut()[0], FwdMode::MacSwap, 64);
        let capture = PacketSocket::bind(&veth.b).unwrap();

        let out: Vec<Vec<u8>> = (0..N)
            .map(|i| udp_frame(Veth::MAC_B, Veth::MAC_A, i, 0, 64 + (i as usize % 512)))
            .collect();
        let peer = veth.b.clone();
        let sender = std::thread::spawn(move || {
            send_paced(&peer, &out, 32, Duration::from_micros(500)).unwrap()
        });

        let deadline = Instant::now() + Duration::from_secs(30);
        let mut idle_since = Instant::now();
        ARMED.with(|a| a.set(true));
        while port.counters().tx_packets < u64::from(N) && Instant::now() < deadline {
            if fwd.poll(&mut port.queues_mut()[0]) == 0 {
                fwd.drain_tx(&mut port.queues_mut()[0]);
                if idle_since.elapsed() > Duration::from_secs(3) {
                    break;
                }
                // Port::wait: ppoll, and the socket's error when idle.
                port.wait(Duration::from_millis(5)).unwrap();
            } else {
                idle_since = Instant::now();
            }
        }
        ARMED.with(|a| a.set(false));
        sender.join().unwrap();

        let c = port.counters();
        assert_eq!(c.rx_packets, u64::from(N), "every frame received");
        assert_eq!(c.tx_packets, u64::from(N), "every frame sent back");
        assert_eq!(
            ALLOCATIONS.load(Ordering::Relaxed),
            0,
            "the data path allocated while moving {N} frames each way"
        );
        // And the frames really went back, MACs swapped.
        let back = capture.drain(Duration::from_millis(300)).unwrap();
        assert_eq!(back.len(), N as usize);
        assert!(back
            .iter()
            .all(|f| f[..6] == Veth::MAC_B && f[6..12] == Veth::MAC_A));
    });
}

#[test]
fn the_counter_notices_an_allocation() {
    // The test above cannot pass vacuously: an allocation while armed counts.
    let _serial = serial();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    ARMED.with(|a| a.set(true));
    let v = std::hint::black_box(vec![1u8; 10]);
    ARMED.with(|a| a.set(false));
    drop(v);
    assert!(ALLOCATIONS.load(Ordering::Relaxed) > before);
    ALLOCATIONS.store(before, Ordering::Relaxed);
}
