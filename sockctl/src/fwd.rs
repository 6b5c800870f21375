//! Packet forwarding over AF_XDP sockets, as `sockctl rx` runs it: one
//! [`Port`] per socket, each driven by [`Port::poll`] in a loop.
//!
//! - `rxdrop`: count received frames and give them straight back to the
//!   fill ring;
//! - `macswap`: swap the Ethernet addresses and send each frame back out;
//! - `txonly`: send 64-byte UDP frames from a pool.
//!
//! A port owns every frame of its share of the UMEM: the ones in the fill
//! and TX rings (lent to the kernel) and the rest in its free pool. `poll`
//! moves frames between the rings and allocates nothing.

use std::fmt;
use std::str::FromStr;

use afxdp_core::abi::if_xdp::XdpStatistics;

use crate::error::Result;
use crate::umem::FrameBuf;
use crate::xsk::{Queues, XskSocket};

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

/// Packet and byte counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Frames received.
    pub rx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Frames whose transmission the kernel completed.
    pub tx_packets: u64,
    /// Bytes of those frames.
    pub tx_bytes: u64,
}

impl std::ops::AddAssign for Counters {
    fn add_assign(&mut self, o: Counters) {
        self.rx_packets += o.rx_packets;
        self.rx_bytes += o.rx_bytes;
        self.tx_packets += o.tx_packets;
        self.tx_bytes += o.tx_bytes;
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

/// One AF_XDP socket and its frames, forwarding in one mode.
pub struct Port {
    sock: XskSocket,
    q: Queues,
    mode: FwdMode,
    /// Frames owned by the application and not in flight.
    free: FrameBuf,
    /// Frames received and not yet handed on (capacity: one batch).
    work: FrameBuf,
    /// Length of the frame last submitted for TX, by frame number, so that
    /// completions (which carry only addresses) count bytes exactly.
    tx_len: Vec<u32>,
    /// Frames submitted to TX and not yet completed.
    in_tx: u64,
    counters: Counters,
    /// For txonly: frames still allowed to be sent (`u64::MAX`: no limit).
    tx_budget: u64,
}

impl Port {
    /// A port over `sock`, owning `frames` (its share of the UMEM): as many
    /// as fit go to the fill ring now, the rest wait in the free pool.
    /// `batch` bounds the frames handled per ring per [`poll`](Self::poll).
    pub fn new(
        sock: XskSocket,
        q: Queues,
        mut frames: FrameBuf,
        mode: FwdMode,
        batch: usize,
    ) -> Port {
        let batch = batch.max(1);
        let total = frames.len();
        let mut free = FrameBuf::with_capacity(total);
        free.take_from(&mut frames, total);
        let frame_count = sock.umem().layout().frame_count() as usize;
        let mut port = Port {
            sock,
            q,
            mode,
            free,
            work: FrameBuf::with_capacity(batch),
            tx_len: vec![0; frame_count],
            in_tx: 0,
            counters: Counters::default(),
            tx_budget: u64::MAX,
        };
        if mode == FwdMode::TxOnly {
            port.prepare_txonly();
        } else {
            port.q.fill.fill(&mut port.free);
        }
        port
    }

    /// Writes the txonly frame into every free frame once; sending then only
    /// sets lengths.
    fn prepare_txonly(&mut self) {
        let tmpl = txonly_frame();
        let umem = self.sock.umem().clone();
        for f in self.free.iter_mut() {
            umem.room_mut(f)[..tmpl.len()].copy_from_slice(&tmpl);
            f.set_len(TXONLY_LEN);
        }
    }

    /// Limits txonly to sending `n` more frames.
    pub fn set_tx_budget(&mut self, n: u64) {
        self.tx_budget = n;
    }

    /// Does one round of work; returns how many frames moved (0: idle).
    #[inline]
    pub fn poll(&mut self) -> usize {
        match self.mode {
            FwdMode::RxDrop => self.poll_rxdrop(),
            FwdMode::MacSwap => self.poll_macswap(),
            FwdMode::TxOnly => self.poll_txonly(),
        }
    }

    #[inline]
    fn frame_index(&self, addr: u64) -> usize {
        let l = self.sock.umem().layout();
        (l.chunk_of(addr) / u64::from(l.frame_size())) as usize
    }

    /// Receives up to one batch into `work` (bounded by its spare room).
    #[inline]
    fn receive(&mut self) -> usize {
        let Some(rx) = self.q.rx.as_mut() else {
            return 0;
        };
        let before = self.work.len();
        let n = rx.receive(&mut self.work);
        let bytes: u64 = self
            .work
            .iter()
            .skip(before)
            .map(|f| u64::from(f.len()))
            .sum();
        self.counters.rx_packets += n as u64;
        self.counters.rx_bytes += bytes;
        n
    }

    /// Submits frames from the front of `work` for TX (the queue kicks the
    /// kernel when it asks), remembering their lengths for the completion.
    #[inline]
    fn transmit_work(&mut self) -> usize {
        let Some(tx) = self.q.tx.as_mut() else {
            return 0;
        };
        let l = *self.sock.umem().layout();
        // At most one batch: record every length; those not sent this round
        // are recorded again next round.
        for f in self.work.iter() {
            let i = (l.chunk_of(f.addr()) / u64::from(l.frame_size())) as usize;
            if let Some(slot) = self.tx_len.get_mut(i) {
                *slot = f.len();
            }
        }
        let sent = tx.transmit(&mut self.work);
        self.in_tx += sent as u64;
        sent
    }

    /// Moves completed TX frames to the free pool, counting them.
    #[inline]
    fn complete(&mut self) -> usize {
        let before = self.free.len();
        let n = self.q.completion.complete(&mut self.free);
        if n > 0 {
            let mut bytes = 0u64;
            for k in before..self.free.len() {
                let i = self.frame_index(self.free.frames()[k].addr());
                bytes += u64::from(self.tx_len.get(i).copied().unwrap_or(0));
            }
            if self.mode == FwdMode::TxOnly {
                for f in self.free.iter_mut().skip(before) {
                    f.set_len(TXONLY_LEN);
                }
            }
            self.in_tx = self.in_tx.saturating_sub(n as u64);
            self.counters.tx_packets += n as u64;
            self.counters.tx_bytes += bytes;
        }
        n
    }

    #[inline]
    fn poll_rxdrop(&mut self) -> usize {
        let n = self.receive();
        self.free.take_from(&mut self.work, n);
        self.q.fill.fill(&mut self.free);
        n
    }

    #[inline]
    fn poll_macswap(&mut self) -> usize {
        let n = self.receive();
        let umem = self.sock.umem();
        let skip = self.work.len() - n;
        for f in self.work.iter_mut().skip(skip) {
            swap_macs(umem.data_mut(f));
        }
        let sent = if self.q.tx.is_some() {
            self.transmit_work()
        } else {
            let k = self.work.len();
            self.free.take_from(&mut self.work, k)
        };
        let c = self.complete();
        self.q.fill.fill(&mut self.free);
        n + sent + c
    }

    #[inline]
    fn poll_txonly(&mut self) -> usize {
        let c = self.complete();
        let want = (self.work.spare() as u64).min(self.tx_budget) as usize;
        self.work.take_from(&mut self.free, want);
        let sent = self.transmit_work();
        // What did not fit goes back to the pool for the next round.
        let left = self.work.len();
        self.free.take_from(&mut self.work, left);
        self.tx_budget = self.tx_budget.saturating_sub(sent as u64);
        c + sent
    }

    /// Stops sending new frames (txonly), for a clean finish.
    pub fn stop_tx(&mut self) {
        self.tx_budget = 0;
    }

    /// Collects completed TX frames and kicks the kernel if it asked,
    /// without receiving or sending anything new: for draining at the end.
    /// Returns how many completed.
    pub fn drain_tx(&mut self) -> usize {
        let c = self.complete();
        if self.in_tx > 0 {
            if let Some(tx) = self.q.tx.as_mut() {
                tx.kick_if_needed();
            }
        }
        c
    }

    /// Frames submitted for TX and not completed yet.
    pub fn in_tx(&self) -> u64 {
        self.in_tx
    }

    /// Counts so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The socket.
    pub fn socket(&self) -> &XskSocket {
        &self.sock
    }

    /// The kernel's counters for the socket.
    pub fn statistics(&self) -> Result<XdpStatistics> {
        self.sock.statistics()
    }

    /// Frames in the free pool (not lent to the kernel).
    pub fn free_frames(&self) -> usize {
        self.free.len()
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
