//! The handshake codec and both machines on arbitrary bytes: parsing never
//! panics, what parses re-emits to the same request, and the client and
//! server machines take any sequence of messages (split from the input at
//! each `\n`, the first byte of each piece saying how many fds came with
//! it) without panicking or breaking their invariants; a pipelined client
//! judges every answer exactly as a lockstep one.
#![no_main]

use afxdp_core::handshake::{
    BusyPoll, ClientConfig, ClientMachine, Pods, Request, Response, ServerSession, StaticPolicy,
    MAX_REQUEST_LEN,
};
use libfuzzer_sys::fuzz_target;

const POLICY: StaticPolicy<'static> = StaticPolicy {
    pods: Pods::Each(&[("mypod", &["eth0"]), ("other", &["eth1"])]),
    interfaces: &["eth0", "eth1"],
};

fuzz_target!(|data: &[u8]| {
    // The codec on the whole input.
    if let Ok(req) = Request::parse(data) {
        let mut buf = [0u8; MAX_REQUEST_LEN];
        let n = req.emit(&mut buf).expect("a parsed request re-emits");
        assert_eq!(Request::parse(&buf[..n]), Ok(req));
    }
    if let Ok(resp) = Response::parse(data) {
        assert_eq!(resp.as_str().as_bytes(), data);
    }

    // Both machines on a sequence of messages.
    let bp = BusyPoll {
        timeout_us: 50,
        budget: 8,
    };
    let config = ClientConfig::new("mypod").map_fd("eth0").busy_poll(bp, 2);
    let Ok(mut client) = ClientMachine::new(config) else {
        return;
    };
    // The same client pipelined as the driver does it: up to `window`
    // requests ahead (from the input's last byte, which no answer's fd count
    // depends on: 1 is lockstep, 6 the whole plan) must write the same
    // requests and judge every answer as the lockstep one.
    let window = data.last().map_or(4, |b| u32::from(b % 6) + 1);
    let mut piped = ClientMachine::new(config.pipelined()).expect("same config");
    let mut piped_sent = Vec::new();
    let mut out = [0u8; MAX_REQUEST_LEN];
    let mut server = ServerSession::new();
    let mut lock_sent = 0;
    for piece in data.split(|&b| b == b'\n').take(64) {
        let (fds, msg) = match piece.split_first() {
            Some((&f, rest)) => (usize::from(f % 3), rest),
            None => (0, piece),
        };
        while !piped.has_failed() && piped.awaiting() < window {
            match piped.next_request(&mut out) {
                Ok(Some(o)) => piped_sent.push((out[..o.len].to_vec(), o)),
                Ok(None) => break,
                Err(e) => panic!("a pipelined client refused to write: {e}"),
            }
        }
        assert!(piped.awaiting() <= window);
        if let Ok(Some(o)) = client.next_request(&mut out) {
            assert_eq!(
                (&out[..o.len], o),
                (piped_sent[lock_sent].0.as_slice(), piped_sent[lock_sent].1),
                "request {lock_sent}, window {window}"
            );
            lock_sent += 1;
        }
        let lock = client.on_response(msg, fds);
        let pipe = piped.on_response(msg, fds);
        assert_eq!(lock, pipe, "window {window}");
        assert_eq!(client.step(), piped.step());
        assert_eq!(client.is_done(), piped.is_done());
        assert_eq!(client.has_failed(), piped.has_failed());
        assert_eq!(client.busy_polls_done(), piped.busy_polls_done());
        if let Err(e) = lock {
            let _ = e.to_string();
        }
        let action = server.on_message(&POLICY, msg, fds);
        assert!(action.responses.len() <= 2);
        if let Some(iface) = action.attach_map {
            assert_eq!(action.responses.as_slice(), [Response::FdAck]);
            assert!(POLICY.interfaces.contains(&iface));
        }
        if action.apply_busy_poll.is_some() {
            assert_eq!(fds, 1);
            let _ = server.busy_poll_applied(msg.len() % 2 == 0);
        }
        if server.is_closed() {
            assert!(server.on_message(&POLICY, b"/version", 0).close);
        }
    }
});
