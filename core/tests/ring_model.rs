//! The ring protocol against a model: arbitrary batch sizes, the 2^32 index
//! wrap, full and empty rings, the need-wakeup flag; and a real second
//! thread as the peer.

use std::sync::atomic::Ordering;

use afxdp_core::abi::if_xdp::{XdpDesc, XDP_RING_NEED_WAKEUP};
use afxdp_core::ring::{split_slices, LocalRing, RingCheck, RingIndices, RingOp};
use proptest::prelude::*;

fn op(max_batch: u32) -> impl Strategy<Value = RingOp> {
    prop_oneof![
        4 => (0..=max_batch, 0..=max_batch).prop_map(|(n, submit)| RingOp::Produce { n, submit }),
        4 => (0..=max_batch, 0..=max_batch).prop_map(|(n, release)| RingOp::Consume { n, release }),
        1 => any::<bool>().prop_map(RingOp::SetNeedWakeup),
    ]
}

/// Runs `ops` on a ring of `size` entries whose indices start at `start`.
fn run(size_log2: u32, start: u32, ops: &[RingOp]) -> Result<RingCheck, TestCaseError> {
    let mut idx = RingIndices::starting_at(start);
    let mut slots = vec![0u64; 1 << size_log2];
    let (mut prod, mut cons, flags) = split_slices(&mut idx, &mut slots).unwrap();
    let mut model = RingCheck::new();
    for (step, op) in ops.iter().enumerate() {
        model
            .apply(*op, &mut prod, &mut cons, flags)
            .map_err(|v| TestCaseError::fail(format!("step {step} {op:?}: {v}")))?;
        prop_assert!(model.in_flight() <= 1 << size_log2);
    }
    Ok(model)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn ring_matches_model(size_log2 in 0u32..=6, ops in prop::collection::vec(op(80), 0..200)) {
        run(size_log2, 0, &ops)?;
    }

    #[test]
    fn ring_matches_model_across_index_wrap(
        size_log2 in 0u32..=6,
        back in 0u32..300,
        ops in prop::collection::vec(op(80), 0..200),
    ) {
        // Indices start just below 2^32 and wrap during the run.
        run(size_log2, 0u32.wrapping_sub(back), &ops)?;
    }
}

#[test]
fn fills_to_exactly_size_then_refuses() {
    let mut ring = LocalRing::<u64, 8>::new();
    let (mut prod, mut cons) = ring.split();
    assert_eq!(prod.reserve(100).len(), 8);
    let mut b = prod.reserve(8);
    for i in 0..8 {
        b.write(i, u64::from(i));
    }
    b.submit();
    assert_eq!(prod.reserve(1).len(), 0, "a full ring reserves nothing");
    assert_eq!(prod.free(1), 0);
    assert_eq!(cons.peek(3).len(), 3);
    let p = cons.peek(3);
    p.release();
    assert_eq!(
        prod.free(1),
        3,
        "released entries become free after a refresh"
    );
    assert_eq!(cons.peek(100).len(), 5);
    let p = cons.peek(100);
    p.release();
    assert_eq!(cons.peek(1).len(), 0, "an empty ring peeks nothing");
}

#[test]
fn dropped_reservation_and_peek_change_nothing() {
    let mut ring = LocalRing::<u64, 4>::new();
    let (mut prod, mut cons) = ring.split();
    {
        let mut b = prod.reserve(4);
        b.write(0, 99);
    } // dropped: not submitted
    assert_eq!(cons.peek(4).len(), 0);
    assert_eq!(prod.produce_from(&[1, 2]), 2);
    {
        let p = cons.peek(4);
        assert_eq!(p.read(0), 1);
    } // dropped: not released
    let p = cons.peek(4);
    assert_eq!(p.iter().collect::<Vec<_>>(), vec![1, 2]);
}

#[test]
fn cached_peer_index_is_refreshed_only_when_short() {
    let mut ring = LocalRing::<u64, 8>::new();
    let (mut prod, mut cons) = ring.split();
    assert_eq!(prod.produce_from(&[0; 8]), 8);
    let mut out = [0u64; 8];
    assert_eq!(cons.consume_into(&mut out), 8);
    // The producer's cached consumer index is stale (0 free), but asking for
    // one entry must refresh it.
    assert_eq!(prod.free(1), 8);
    // With 8 known free, asking for 8 again must not need the peer.
    assert_eq!(prod.free(8), 8);
}

#[test]
fn needs_wakeup_follows_the_flags_word() {
    let mut ring = LocalRing::<XdpDesc, 4>::new();
    let (prod, _cons, flags) = ring.split_with_flags();
    assert!(!prod.needs_wakeup());
    flags.store(XDP_RING_NEED_WAKEUP, Ordering::Relaxed);
    assert!(prod.needs_wakeup());
    flags.store(0, Ordering::Relaxed);
    assert!(!prod.needs_wakeup());
}

#[test]
#[should_panic(expected = "outside a reservation")]
fn writing_past_a_reservation_panics_instead_of_corrupting() {
    let mut ring = LocalRing::<u64, 4>::new();
    let (mut prod, _) = ring.split();
    let mut b = prod.reserve(2);
    b.write(2, 0);
}

#[test]
fn a_broken_peer_index_never_yields_more_than_size() {
    use afxdp_core::ring::{Consumer, Producer, RingParts};
    // Shared words and entries of a ring of 4, as a misbehaving kernel might
    // leave them: the peer's index 1000 entries ahead of ours.
    let mut words = [0u32; 3];
    let mut slots = [0u64; 4];
    let base = words.as_mut_ptr();
    let parts = RingParts::new(
        base,
        base.wrapping_add(1),
        base.wrapping_add(2),
        slots.as_mut_ptr(),
        4,
    )
    .unwrap();
    // SAFETY: `words` and `slots` outlive both handles and nothing else
    // touches them while the handles are used.
    unsafe { base.write(1000) }; // producer index
                                 // SAFETY: as above.
    let mut cons = unsafe { Consumer::new(parts) };
    assert_eq!(
        cons.peek(u32::MAX).len(),
        0,
        "a producer 1000 ahead on a ring of 4 is broken: nothing is ready"
    );
    // A producer exactly `size` ahead is a full ring, not a broken one.
    // SAFETY: as above.
    unsafe { base.write(4) };
    assert_eq!(cons.peek(u32::MAX).len(), 4);
    let _ = cons;
    // SAFETY: as above.
    unsafe { base.write(0) };
    // SAFETY: as above; the consumer index runs ahead of the producer's.
    unsafe { base.wrapping_add(1).write(1000) };
    // SAFETY: as above.
    let mut prod = unsafe { Producer::<u64>::new(parts) };
    assert_eq!(
        prod.reserve(4).len(),
        0,
        "a consumer ahead of us frees nothing"
    );
    // Once the peer makes sense again, the ring is usable...
    // SAFETY: as above.
    unsafe { base.wrapping_add(1).write(0) };
    let mut b = prod.reserve(4);
    assert_eq!(b.len(), 4, "a sane consumer index frees the ring");
    for i in 0..4 {
        b.write(i, u64::from(i));
    }
    b.submit();
    // ...and a consumer index that then runs ahead of ours, or falls more
    // than `size` behind, is not taken: the full ring stays full.
    for bad in [1000u32, 5, 0u32.wrapping_sub(1)] {
        // SAFETY: as above.
        unsafe { base.wrapping_add(1).write(bad) };
        assert_eq!(prod.reserve(1).len(), 0, "consumer index {bad} taken");
        assert_eq!(prod.free(1), 0, "consumer index {bad} taken");
    }
    // SAFETY: as above; two entries consumed, honestly.
    unsafe { base.wrapping_add(1).write(2) };
    assert_eq!(prod.reserve(4).len(), 2);
}

#[test]
fn a_real_second_thread_as_the_peer() {
    // Under Miri (which also checks for data races) a smaller run suffices.
    const N: u64 = if cfg!(miri) { 3_000 } else { 2_000_000 };
    // A protocol bug shows up as a hang: fail instead, well after the
    // fraction of a second this takes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut idx = RingIndices::starting_at(u32::MAX - 1000);
    let mut slots = vec![0u64; 256];
    let (mut prod, mut cons, _) = split_slices(&mut idx, &mut slots).unwrap();
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut next = 0u64;
            while next < N {
                let mut b = prod.reserve(64);
                let n = b.len();
                for i in 0..n {
                    b.write(i, next + u64::from(i));
                }
                b.submit();
                next += u64::from(n);
                if n == 0 {
                    assert!(std::time::Instant::now() < deadline, "producer stuck");
                    std::hint::spin_loop();
                }
            }
        });
        let mut expect = 0u64;
        while expect < N {
            let batch = cons.peek(64);
            for v in batch.iter() {
                assert_eq!(v, expect, "out of order or torn across threads");
                expect += 1;
            }
            if batch.is_empty() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "consumer stuck at {expect}"
                );
                std::hint::spin_loop();
            }
            batch.release();
        }
    });
}

#[test]
fn split_slices_rejects_sizes_that_are_not_powers_of_two() {
    let mut idx = RingIndices::new();
    let mut slots = [0u64; 6];
    assert!(split_slices(&mut idx, &mut slots).is_none());
    let mut idx = RingIndices::new();
    let mut none: [u64; 0] = [];
    assert!(split_slices(&mut idx, &mut none).is_none());
}
