//! Test frames: Ethernet + IPv4 + UDP with a payload that names its sequence
//! number, so a receiver can tell which frame it got and compare every byte.

/// Bytes of Ethernet + IPv4 + UDP headers.
pub const HEADERS: usize = 14 + 20 + 8;

/// A UDP frame of `len` bytes (at least [`HEADERS`] + 4) from `src` to `dst`.
/// The UDP source port is `1024 + flow` (vary `flow` to spread frames over
/// queues); the payload starts with `seq` (big-endian) followed by bytes
/// derived from it.
pub fn udp_frame(src: [u8; 6], dst: [u8; 6], seq: u32, flow: u16, len: usize) -> Vec<u8> {
    assert!((HEADERS + 4..=9000).contains(&len));
    let mut f = vec![0u8; len];
    f[0..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&((len - 14) as u16).to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&[10, 0, 0, 2]);
    ip[16..20].copy_from_slice(&[10, 0, 0, 1]);
    let csum = checksum(ip);
    ip[10..12].copy_from_slice(&csum.to_be_bytes());
    let udp = &mut f[34..42];
    udp[0..2].copy_from_slice(&(1024 + flow).to_be_bytes());
    udp[2..4].copy_from_slice(&9u16.to_be_bytes());
    udp[4..6].copy_from_slice(&((len - 34) as u16).to_be_bytes());
    f[42..46].copy_from_slice(&seq.to_be_bytes());
    for (i, b) in f[46..].iter_mut().enumerate() {
        *b = (seq as usize).wrapping_mul(31).wrapping_add(i) as u8;
    }
    f
}

/// The sequence number in a frame made by [`udp_frame`], if it is one.
pub fn seq_of(frame: &[u8]) -> Option<u32> {
    if frame.len() < HEADERS + 4 || frame[12..14] != [0x08, 0x00] || frame[23] != 17 {
        return None;
    }
    Some(u32::from_be_bytes(frame[42..46].try_into().ok()?))
}

/// The Internet checksum of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in data.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from(c[0]) << 8
        };
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
