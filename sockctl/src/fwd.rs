//! Packet forwarding as `sockctl rx` runs it, written with the public
//! [`PortQueue`] API (a worked example of it): one [`Forwarder`] per queue,
//! driven by [`Forwarder::poll`] in a loop.
//!
//! - `rxdrop`: count received frames and give them straight back;
//! - `macswap`: swap the Ethernet addresses and send each frame back out;
//! - `txonly`: send 64-byte UDP frames from the queue's free frames.
//!
//! `poll` allocates nothing.

use std::fmt;
use std::str::FromStr;

use crate::port::PortQueue;
use crate::umem::FrameBuf;

/// What to do with received frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FwdMode {
    /// Count and recycle.
    #[default]
    RxDrop,
    /// Swap source and destination MAC and send back.
    MacSwap,
    /// Send generated 64-byte UDP frames; ignore RX.
    TxOnly,
}

impl FwdMode {
    /// `"rxdrop"`, `"macswap"` or `"txonly"`.
    pub fn name(self) -> &'static str {
        match self {
            FwdMode::RxDrop => "rxdrop",
            FwdMode::MacSwap => "macswap",
            FwdMode::TxOnly => "txonly",
        }
    }

    /// Whether this mode receives (its sockets need an RX ring and a place
    /// in the XSKMAP).
    pub fn receives(self) -> bool {
        self != FwdMode::TxOnly
    }
}

impl FromStr for FwdMode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "rxdrop" => Ok(FwdMode::RxDrop),
            "macswap" => Ok(FwdMode::MacSwap),
            "txonly" => Ok(FwdMode::TxOnly),
            _ => Err(format!(
                "unknown forwarding mode {s:?} (rxdrop, macswap or txonly)"
            )),
        }
    }
}

impl fmt::Display for FwdMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Length of the frames `txonly` sends.
pub const TXONLY_LEN: u32 = 64;

/// The 64-byte Ethernet/IPv4/UDP frame `txonly` sends: broadcast from
/// `02:00:00:00:00:01`, 198.18.0.1:9 to 198.18.0.2:9 (the benchmarking
/// range), valid IPv4 checksum, zero UDP checksum.
pub fn txonly_frame() -> [u8; TXONLY_LEN as usize] {
    let mut f = [0u8; TXONLY_LEN as usize];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip_len = (TXONLY_LEN as usize - 14) as u16;
    f[14] = 0x45;
    f[16..18].copy_from_slice(&ip_len.to_be_bytes());
    f[22] = 64;
    f[23] = 17;
    f[26..30].copy_from_slice(&[198, 18, 0, 1]);
    f[30..34].copy_from_slice(&[198, 18, 0, 2]);
    let mut sum = 0u32;
    for c in f[14..34].chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    f[24..26].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    f[34..36].copy_from_slice(&9u16.to_be_bytes());
    f[36..38].copy_from_slice(&9u16.to_be_bytes());
    f[38..40].copy_from_slice(&(ip_len - 20).to_be_bytes());
    f
}

/// Forwards the frames of one [`PortQueue`] in one mode.
#[derive(Debug)]
pub struct Forwarder {
    mode: FwdMode,
    /// Frames received and not yet handed on (capacity: one batch).
    work: FrameBuf,
    /// For txonly: frames still allowed to be sent (`u64::MAX`: no limit).
    tx_budget: u64,
    /// Frames handed to the TX ring so far.
    submitted: u64,
}

impl Forwarder {
    /// A forwarder moving up to `batch` frames per ring per
    /// [`poll`](Self::poll). For txonly it writes the frame template into
    /// every free frame of `queue` now; sending then only sets lengths.
    pub fn new(queue: &mut PortQueue, mode: FwdMode, batch: usize) -> Forwarder {
        if mode == FwdMode::TxOnly {
            let tmpl = txonly_frame();
            let umem = queue.umem().clone();
            for f in queue.free_frames_mut().iter_mut() {
                umem.room_mut(f)[..tmpl.len()].copy_from_slice(&tmpl);
            }
        }
        Forwarder {
            mode,
            work: FrameBuf::with_capacity(batch.max(1)),
            tx_budget: u64::MAX,
            submitted: 0,
        }
    }

    /// Limits txonly to sending `n` more frames.
    pub fn set_tx_budget(&mut self, n: u64) {
        self.tx_budget = n;
    }

    /// Frames handed to the TX ring so far (completed or not).
    pub fn submitted(&self) -> u64 {
        self.submitted
    }

    /// Stops sending new frames (txonly), for a clean finish.
    pub fn stop_tx(&mut self) {
        self.tx_budget = 0;
    }

    /// The mode.
    pub fn mode(&self) -> FwdMode {
        self.mode
    }

    /// Does one round of work on `q`; returns how many frames moved (0:
    /// idle).
    #[inline]
    pub fn poll(&mut self, q: &mut PortQueue) -> usize {
        match self.mode {
            FwdMode::RxDrop => {
                let n = q.receive(&mut self.work);
                q.release(&mut self.work);
                n
            }
            FwdMode::MacSwap => {
                let n = q.receive(&mut self.work);
                let umem = q.umem().clone();
                let skip = self.work.len() - n;
                for f in self.work.iter_mut().skip(skip) {
                    swap_macs(umem.data_mut(f));
                }
                let sent = self.send(q);
                n + sent
            }
            FwdMode::TxOnly => {
                let want = (self.work.spare() as u64).min(self.tx_budget) as usize;
                let got = q.alloc(&mut self.work, want);
                for f in self.work.iter_mut().rev().take(got) {
                    f.set_len(TXONLY_LEN);
                }
                let sent = self.send(q);
                // What did not fit goes back for the next round.
                q.release(&mut self.work);
                self.tx_budget = self.tx_budget.saturating_sub(sent as u64);
                sent
            }
        }
    }

    /// Sends what `work` holds; a frame the queue refuses (empty: a
    /// zero-length received frame, which the kernel never delivers) is
    /// given back.
    #[inline]
    fn send(&mut self, q: &mut PortQueue) -> usize {
        let mut sent = 0;
        loop {
            match q.transmit(&mut self.work) {
                Ok(n) => {
                    self.submitted += (sent + n) as u64;
                    return sent + n;
                }
                Err(e) => {
                    sent += e.sent;
                    if let Some(f) = self.work.pop_front() {
                        q.release_one(f);
                    }
                }
            }
        }
    }

    /// Collects completed TX frames and kicks the kernel if it asked,
    /// without receiving or sending anything new: for draining at the end.
    /// Returns how many completed.
    pub fn drain_tx(&mut self, q: &mut PortQueue) -> usize {
        q.complete()
    }
}

/// Swaps the destination and source MAC of an Ethernet frame.
#[inline]
pub fn swap_macs(frame: &mut [u8]) {
    if frame.len() >= 12 {
        let (dst, rest) = frame.split_at_mut(6);
        dst.swap_with_slice(&mut rest[..6]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_txonly_frame_is_a_valid_64_byte_udp_frame() {
        let f = txonly_frame();
        assert_eq!(f.len(), 64);
        assert_eq!(&f[12..14], &[0x08, 0x00], "IPv4");
        assert_eq!(f[23], 17, "UDP");
        // The IPv4 header checksums to zero.
        let mut sum = 0u32;
        for c in f[14..34].chunks(2) {
            sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        assert_eq!(sum, 0xffff);
        assert_eq!(u16::from_be_bytes([f[16], f[17]]), 50, "IP total length");
        assert_eq!(u16::from_be_bytes([f[38], f[39]]), 30, "UDP length");
    }

    #[test]
    fn swap_macs_swaps_only_the_addresses() {
        let mut f: Vec<u8> = (0..20).collect();
        swap_macs(&mut f);
        assert_eq!(&f[..12], &[6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5]);
        assert_eq!(&f[12..], &(12..20).collect::<Vec<u8>>()[..]);
        let mut short = [1u8, 2, 3];
        swap_macs(&mut short);
        assert_eq!(short, [1, 2, 3], "too short to be Ethernet: untouched");
    }

    #[test]
    fn modes_parse_and_print() {
        for m in [FwdMode::RxDrop, FwdMode::MacSwap, FwdMode::TxOnly] {
            assert_eq!(m.name().parse::<FwdMode>().unwrap(), m);
        }
        assert!("bounce".parse::<FwdMode>().is_err());
    }
}
