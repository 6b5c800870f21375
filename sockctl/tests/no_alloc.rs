//! The data-path calls (fill, rx, tx, completion) allocate nothing: a
//! counting global allocator, armed only on the data-path thread while it
//! moves real frames, must count zero.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use afxdp_core::abi::socket::{PollFd, POLLIN};
use afxdp_testkit::frames::udp_frame;
use afxdp_testkit::packet::{send_paced, PacketSocket};
use afxdp_testkit::{privileged, serial, NetNs, Veth};
use sockctl::fwd::{FwdMode, Port};
use sockctl::{Attachment, Netdev, SocketBuilder, Umem, UmemConfig, XdpMode, XdpProgram, XskMap};

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
        let dev = Netdev::by_name(&veth.a).unwrap();
        let map = XskMap::create(1, "xsks_map").unwrap();
        let prog = XdpProgram::load_redirect(&map, None).unwrap();
        let _att = Attachment::link(dev.clone(), prog, XdpMode::Native).unwrap();
        let umem = Umem::new(UmemConfig::default()).unwrap();
        let (sock, queues) = SocketBuilder::new(&umem, &dev, 0).build().unwrap();
        map.insert(0, sock.as_fd()).unwrap();
        let fd = sock.as_fd().as_raw();
        let frames = umem.take_frames().unwrap();
        // macswap drives all four rings: RX, fill, TX and completion.
        let mut port = Port::new(sock, queues, frames, FwdMode::MacSwap, 64);
        let capture = PacketSocket::bind(&veth.b).unwrap();

        let out: Vec<Vec<u8>> = (0..N)
            .map(|i| udp_frame(Veth::MAC_B, Veth::MAC_A, i, 0, 64 + (i as usize % 512)))
            .collect();
        let peer = veth.b.clone();
        let sender = std::thread::spawn(move || {
            send_paced(&peer, &out, 32, Duration::from_micros(500)).unwrap()
        });

        let mut pfd = [PollFd {
            fd,
            events: POLLIN,
            revents: 0,
        }];
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut idle_since = Instant::now();
        ARMED.with(|a| a.set(true));
        while port.counters().tx_packets < u64::from(N) && Instant::now() < deadline {
            if port.poll() == 0 {
                port.drain_tx();
                if idle_since.elapsed() > Duration::from_secs(3) {
                    break;
                }
                // ppoll from afxdp-sys: a syscall, no allocation.
                let _ = afxdp_sys::poll::poll(&mut pfd, 5);
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
