//! [`Netdev`]: a network interface by name, its index and its queue count.

use std::fmt;
use std::ops::ControlFlow;

use afxdp_core::abi::ethtool::is_valid_ifname;
use afxdp_core::rtnetlink::{Body, GetLink, Link};
use afxdp_core::Errno;
use afxdp_sys::netdev;
use afxdp_sys::netlink::RouteSocket;

use crate::error::{Error, Result};

/// A network interface of the calling thread's network namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Netdev {
    name: String,
    ifindex: u32,
}

/// How many queues a netdev has, and who said so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueCount {
    /// Number of RX queues the netdev can have (at least 1): what an XSKMAP
    /// for it must hold.
    pub count: u32,
    /// Number of RX queues it has now (at least 1): the queues a socket can
    /// be bound to (ethtool's current counts, or the queues in sysfs).
    pub active: u32,
    /// Where the number came from: `"ethtool"`, `"rtnetlink"`, `"sysfs"` or
    /// `"default"`.
    pub source: &'static str,
}

impl Netdev {
    /// Looks up `name` (`SIOCGIFINDEX`).
    ///
    /// ```no_run
    /// let dev = af_xdp::Netdev::by_name("eth0")?;
    /// println!("{} has index {}", dev.name(), dev.ifindex());
    /// # Ok::<(), af_xdp::Error>(())
    /// ```
    pub fn by_name(name: &str) -> Result<Netdev> {
        if !is_valid_ifname(name.as_bytes()) {
            return Err(Error::invalid(
                "look up interface",
                name,
                "not a valid interface name (1 to 15 bytes, no '/', ':', '%' or spaces)",
            ));
        }
        let ifindex = netdev::ifindex(name).map_err(|e| {
            let err = Error::sys("look up interface", name, e);
            if e == Errno::ENODEV {
                err.with_hint(format!(
                    "there is no interface named {name} in this network namespace (see `ip link`)"
                ))
            } else {
                err
            }
        })?;
        Ok(Netdev {
            name: name.to_owned(),
            ifindex,
        })
    }

    /// The interface's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The interface's index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// How many RX queues the netdev has, as AF_XDP counts them (one XSKMAP
    /// entry per queue). Asks ethtool (`max(max_rx, max_combined)`, as libxdp
    /// and DPDK do), then rtnetlink (`IFLA_NUM_RX_QUEUES`), then sysfs; 1 if
    /// nobody knows.
    pub fn queue_count(&self) -> QueueCount {
        let sysfs = netdev::sysfs_rx_queues(&self.name).ok().filter(|&n| n > 0);
        if let Ok(ch) = netdev::channels(&self.name) {
            let n = ch.max_rx.max(ch.max_combined);
            if n > 0 {
                let now = ch.rx_count.max(ch.combined_count);
                return QueueCount {
                    count: n,
                    active: if now > 0 {
                        now.min(n)
                    } else {
                        sysfs.unwrap_or(n).min(n)
                    },
                    source: "ethtool",
                };
            }
        }
        if let Ok(Some(n)) = self.link_info(|l| l.num_rx_queues) {
            if n > 0 {
                return QueueCount {
                    count: n,
                    active: sysfs.unwrap_or(n).min(n),
                    source: "rtnetlink",
                };
            }
        }
        if let Some(n) = sysfs {
            return QueueCount {
                count: n,
                active: n,
                source: "sysfs",
            };
        }
        QueueCount {
            count: 1,
            active: 1,
            source: "default",
        }
    }

    /// Runs `f` on the kernel's `RTM_NEWLINK` answer for this netdev.
    pub(crate) fn link_info<T>(&self, f: impl FnOnce(&Link<'_>) -> T) -> Result<T> {
        let mut sock =
            RouteSocket::open().map_err(|e| Error::sys("open rtnetlink socket", &self.name, e))?;
        let seq = sock.next_seq();
        let mut req = [0u8; GetLink::MAX_LEN];
        let len = GetLink::Index(self.ifindex as i32)
            .emit(seq, &mut req)
            .map_err(|e| Error::invalid("RTM_GETLINK", &self.name, e.to_string()))?;
        let mut buf = vec![0u8; 32 * 1024];
        let mut f = Some(f);
        let mut out = None;
        sock.exchange(&req[..len], seq, &mut buf, |msg| match msg.body() {
            Body::NewLink(link) => {
                if let Some(f) = f.take() {
                    out = Some(f(&link));
                }
                ControlFlow::Break(())
            }
            _ => ControlFlow::Continue(()),
        })
        .map_err(|e| {
            let err = Error::sys("RTM_GETLINK", &self.name, e.errno());
            match e.ext_msg() {
                Some(m) => err.with_detail(m),
                None => err,
            }
        })?;
        out.ok_or_else(|| {
            Error::new(
                crate::ErrorKind::Protocol,
                "RTM_GETLINK",
                &self.name,
                "the kernel sent no link description",
            )
        })
    }
}

impl fmt::Display for Netdev {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}
