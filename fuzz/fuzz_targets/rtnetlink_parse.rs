//! Every rtnetlink parser and accessor on arbitrary bytes: never panics,
//! always terminates.
#![no_main]

use afxdp_core::rtnetlink::{Attrs, Body, GetLink, Messages, XdpSetLink};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for msg in Messages::new(data).take(1024) {
        let Ok(msg) = msg else { continue };
        let _ = (msg.seq(), msg.pid(), msg.flags(), msg.answers(1));
        match msg.body() {
            Body::Error(e) => {
                let _ = (e.errno, e.ext.msg_str());
            }
            Body::NewLink(link) => {
                let _ = (
                    link.ifindex(),
                    link.name_str(),
                    link.xdp.map(|x| (x.mode(), x.attached_prog_id())),
                );
                for a in link.attrs().take(1024).flatten() {
                    let _ = (a.as_u32(), a.as_str());
                    for c in a.children().take(64).flatten() {
                        let _ = c.as_i32();
                    }
                }
            }
            _ => {}
        }
        let _ = XdpSetLink::parse(&msg);
        let _ = GetLink::parse(&msg);
    }
    for a in Attrs::new(data).take(1024).flatten() {
        let _ = (a.as_u8(), a.as_u16(), a.as_cstr());
    }
});
