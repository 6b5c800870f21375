//! `linux/ethtool.h`, `linux/sockios.h` and `struct ifreq` from `linux/if.h`:
//! the ioctls that name a netdev and count its queues.

use super::assert_layout;

/// Longest interface name, including the NUL.
pub const IFNAMSIZ: usize = 16;

/// ioctl: interface name to index (`ifr_ifindex`).
pub const SIOCGIFINDEX: u32 = 0x8933;
/// ioctl: interface index to name.
pub const SIOCGIFNAME: u32 = 0x8910;
/// ioctl: interface flags (`ifr_flags`).
pub const SIOCGIFFLAGS: u32 = 0x8913;
/// ioctl: an ethtool command (`ifr_data` points at the command struct).
pub const SIOCETHTOOL: u32 = 0x8946;

/// ethtool command: get the channel (queue) counts.
pub const ETHTOOL_GCHANNELS: u32 = 0x0000_003c;

/// Interface flag: administratively up.
pub const IFF_UP: u16 = 0x1;
/// Interface flag: resources allocated, carrier may be up.
pub const IFF_RUNNING: u16 = 0x40;

/// `struct ethtool_channels`: a netdev's queue counts.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EthtoolChannels {
    /// `ETHTOOL_GCHANNELS`.
    pub cmd: u32,
    /// Most RX-only channels.
    pub max_rx: u32,
    /// Most TX-only channels.
    pub max_tx: u32,
    /// Most other channels.
    pub max_other: u32,
    /// Most combined channels.
    pub max_combined: u32,
    /// RX-only channels now.
    pub rx_count: u32,
    /// TX-only channels now.
    pub tx_count: u32,
    /// Other channels now.
    pub other_count: u32,
    /// Combined channels now.
    pub combined_count: u32,
}
assert_layout!(EthtoolChannels, size = 36,
    cmd @ 0, max_rx @ 4, max_tx @ 8, max_other @ 12, max_combined @ 16, rx_count @ 20,
    tx_count @ 24, other_count @ 28, combined_count @ 32);

/// `struct ifreq`: an interface name and a 24-byte union of request data.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfReq {
    /// NUL-padded interface name.
    pub ifr_name: [u8; IFNAMSIZ],
    /// The union (`ifr_ifindex`, `ifr_flags`, `ifr_data`, ...).
    pub ifr_ifru: [u64; 3],
}
assert_layout!(IfReq, size = 40, ifr_name @ 0, ifr_ifru @ 16);

impl IfReq {
    /// A request for the interface `name`, or `None` when the name is empty,
    /// too long (15 bytes at most), or holds a NUL, `/` or white space, which
    /// the kernel never accepts in a netdev name.
    pub fn with_name(name: &str) -> Option<Self> {
        let b = name.as_bytes();
        if !is_valid_ifname(b) {
            return None;
        }
        let mut req = IfReq::default();
        req.ifr_name[..b.len()].copy_from_slice(b);
        Some(req)
    }
    /// `ifr_ifindex` (the first `int` of the union).
    pub fn ifindex(&self) -> i32 {
        self.ifr_ifru[0] as u32 as i32
    }
    /// `ifr_flags` (the first `short` of the union).
    pub fn flags(&self) -> u16 {
        self.ifr_ifru[0] as u16
    }
    /// Sets `ifr_data`, the pointer an ethtool command reads and fills.
    pub fn set_data(&mut self, ptr: u64) {
        self.ifr_ifru[0] = ptr;
    }
}

/// Whether `name` can be a netdev's name: what the kernel's
/// `dev_valid_name` accepts (1 to 15 bytes, not `.` or `..`, no NUL, `/`,
/// `:` or white space), and no `%`, which the kernel takes for a pattern
/// when it names a device (`net%d` becomes `net0`), so that no device is
/// ever called that.
pub fn is_valid_ifname(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() < IFNAMSIZ
        && name != b"."
        && name != b".."
        && !name
            .iter()
            .any(|&c| c == 0 || c == b'/' || c == b':' || c == b'%' || c.is_ascii_whitespace())
}

/// Whether `name` is one the kernel gives a device it moves back to the
/// initial namespace when its namespace goes and its own name is taken
/// there: `dev` and digits (`dev<ifindex>`, or `dev%d`'s first free number
/// when that is taken too, as `default_device_exit_net` names it).
pub fn is_fallback_ifname(name: &[u8]) -> bool {
    match name.strip_prefix(b"dev") {
        Some(n) => !n.is_empty() && n.iter().all(u8::is_ascii_digit),
        None => false,
    }
}
