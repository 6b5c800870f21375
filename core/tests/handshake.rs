//! The device-plugin handshake codec and machines: the exact bytes DPDK's
//! AF_XDP PMD and the reference plugin exchange, strict rejection of
//! everything else, the client's judgement of each answer, the server's
//! decisions, and properties over arbitrary bytes.

use afxdp_core::handshake::*;
use proptest::prelude::*;

fn emit_request(r: &Request<'_>) -> Vec<u8> {
    let mut buf = [0u8; MAX_REQUEST_LEN];
    let n = r.emit(&mut buf).unwrap();
    buf[..n].to_vec()
}

fn emit_response(r: Response) -> Vec<u8> {
    let mut buf = [0u8; MAX_RESPONSE_LEN];
    let n = r.emit(&mut buf).unwrap();
    buf[..n].to_vec()
}

const BP: BusyPoll = BusyPoll {
    timeout_us: 20,
    budget: 64,
};

// ---------------------------------------------------------------- codec

#[test]
fn the_bytes_dpdk_sends_parse_and_emit_identically() {
    let cases: [(&[u8], Request<'_>); 5] = [
        (b"/connect,mypod", Request::Connect { hostname: "mypod" }),
        (b"/version", Request::Version),
        (b"/xsk_map_fd,eth0", Request::XskMapFd { iface: "eth0" }),
        (b"/config_busy_poll,20,64", Request::ConfigBusyPoll(BP)),
        (b"/fin", Request::Fin),
    ];
    for (bytes, req) in cases {
        assert_eq!(Request::parse(bytes), Ok(req), "{}", Escaped(bytes));
        assert_eq!(emit_request(&req), bytes);
        assert_eq!(req.to_string().as_bytes(), bytes);
    }
}

#[test]
fn every_response_round_trips_with_its_exact_bytes() {
    let expected: [(Response, &[u8]); 10] = [
        (Response::HostOk, b"/host_ok"),
        (Response::HostNak, b"/host_nak"),
        (Response::Version, b"0.1"),
        (Response::FdAck, b"/fd_ack"),
        (Response::FdNak, b"/fd_nak"),
        (Response::BusyPollAck, b"/config_busy_poll_ack"),
        (Response::BusyPollNak, b"/config_busy_poll_nak"),
        (Response::FinAck, b"/fin_ack"),
        (Response::Nak, b"/nak"),
        (Response::Error, b"/error"),
    ];
    assert_eq!(expected.len(), Response::ALL.len());
    for (resp, bytes) in expected {
        assert_eq!(emit_response(resp), bytes);
        assert_eq!(Response::parse(bytes), Ok(resp));
        assert_eq!(resp.carries_fd(), resp == Response::FdAck);
    }
}

#[test]
fn the_reference_go_clients_spaces_are_accepted() {
    assert_eq!(
        Request::parse(b"/config_busy_poll, 20, 64"),
        Ok(Request::ConfigBusyPoll(BP))
    );
    assert_eq!(
        Request::parse(b"/connect, mypod "),
        Ok(Request::Connect { hostname: "mypod" })
    );
    assert_eq!(
        Request::parse(b"/xsk_map_fd,  eth0"),
        Ok(Request::XskMapFd { iface: "eth0" })
    );
    // ... but never around the command word, nor inside a name or number.
    assert_eq!(
        Request::parse(b" /fin"),
        Err(HandshakeError::UnknownRequest)
    );
    assert_eq!(
        Request::parse(b"/fin "),
        Err(HandshakeError::UnknownRequest)
    );
    assert_eq!(
        Request::parse(b"/connect ,mypod"),
        Err(HandshakeError::UnknownRequest)
    );
    assert_eq!(
        Request::parse(b"/connect,my pod"),
        Err(HandshakeError::BadCharacter {
            arg: Field::Hostname,
            byte: b' '
        })
    );
    assert_eq!(
        Request::parse(b"/config_busy_poll,2 0,64"),
        Err(HandshakeError::NotANumber {
            arg: Field::BusyPollTimeout
        })
    );
}

#[test]
fn length_limits_are_exact() {
    // 64 bytes: "/connect," (9) + 55.
    let mut ok = b"/connect,".to_vec();
    ok.extend(std::iter::repeat_n(b'p', 55));
    assert_eq!(ok.len(), MAX_REQUEST_LEN);
    assert!(Request::parse(&ok).is_ok());
    ok.push(b'p');
    assert_eq!(
        Request::parse(&ok),
        Err(HandshakeError::TooLong { len: 65, max: 64 })
    );
    // emit refuses what parse would refuse.
    let long = "p".repeat(56);
    assert_eq!(
        Request::Connect { hostname: &long }.emit(&mut [0u8; 128]),
        Err(HandshakeError::TooLong { len: 65, max: 64 })
    );
    assert_eq!(
        Request::Connect {
            hostname: &"p".repeat(65)
        }
        .emit(&mut [0u8; 128]),
        Err(HandshakeError::ArgumentTooLong {
            arg: Field::Hostname,
            len: 65,
            max: 64
        })
    );
    let resp = [b'/'; 129];
    assert_eq!(
        Response::parse(&resp),
        Err(HandshakeError::TooLong { len: 129, max: 128 })
    );
    assert_eq!(
        Response::parse(&resp[..128]),
        Err(HandshakeError::UnknownResponse)
    );
}

#[test]
fn nul_and_non_printable_bytes_are_refused_where_they_are() {
    assert_eq!(
        Request::parse(b"/fin\0"),
        Err(HandshakeError::Nul { offset: 4 })
    );
    assert_eq!(
        Response::parse(b"/fd_ack\0"),
        Err(HandshakeError::Nul { offset: 7 })
    );
    assert_eq!(
        Request::parse(b"/connect,my\npod"),
        Err(HandshakeError::NonPrintable {
            offset: 11,
            byte: b'\n'
        })
    );
    assert_eq!(
        Response::parse(b"/host_ok\r\n"),
        Err(HandshakeError::NonPrintable {
            offset: 8,
            byte: b'\r'
        })
    );
    assert_eq!(
        Request::parse(b"/xsk_map_fd,\xc3\xa9th0"),
        Err(HandshakeError::NonPrintable {
            offset: 12,
            byte: 0xc3
        })
    );
    assert_eq!(Request::parse(b""), Err(HandshakeError::Empty));
    assert_eq!(Response::parse(b""), Err(HandshakeError::Empty));
}

#[test]
fn only_the_exact_words_match() {
    for bad in [
        &b"/fin_ackx"[..],
        b"/FIN_ACK",
        b"/fin_ack ",
        b" /fin_ack",
        b"/fd_ac",
        b"/fd_ack,3",
        b"0.10",
        b"0.2",
        b"/Host_ok",
    ] {
        assert_eq!(
            Response::parse(bad),
            Err(HandshakeError::UnknownResponse),
            "{}",
            Escaped(bad)
        );
    }
    for bad in [
        &b"/fin_ackx"[..],
        b"/Connect,mypod",
        b"/VERSION",
        b"/versions",
        b"/xsk_map_fds,eth0",
        b"connect,mypod",
        b"/config_busypoll,1,2",
        b",/fin",
    ] {
        assert_eq!(
            Request::parse(bad),
            Err(HandshakeError::UnknownRequest),
            "{}",
            Escaped(bad)
        );
    }
}

#[test]
fn arguments_are_checked() {
    use HandshakeError as E;
    let cases: [(&[u8], HandshakeError); 19] = [
        (
            b"/connect",
            E::MissingArgument {
                arg: Field::Hostname,
            },
        ),
        (
            b"/connect,",
            E::EmptyArgument {
                arg: Field::Hostname,
            },
        ),
        (
            b"/connect,   ",
            E::EmptyArgument {
                arg: Field::Hostname,
            },
        ),
        (
            b"/connect,a,b",
            E::ExtraArgument {
                command: RequestKind::Connect,
            },
        ),
        (
            b"/connect,a/b",
            E::BadCharacter {
                arg: Field::Hostname,
                byte: b'/',
            },
        ),
        (
            b"/xsk_map_fd",
            E::MissingArgument {
                arg: Field::Interface,
            },
        ),
        (
            b"/xsk_map_fd,",
            E::EmptyArgument {
                arg: Field::Interface,
            },
        ),
        (
            b"/xsk_map_fd,abcdefghijklmnop",
            E::ArgumentTooLong {
                arg: Field::Interface,
                len: 16,
                max: 15,
            },
        ),
        (
            b"/xsk_map_fd,..",
            E::ReservedName {
                arg: Field::Interface,
            },
        ),
        (
            b"/xsk_map_fd,eth0:1",
            E::BadCharacter {
                arg: Field::Interface,
                byte: b':',
            },
        ),
        (
            b"/xsk_map_fd,../x",
            E::BadCharacter {
                arg: Field::Interface,
                byte: b'/',
            },
        ),
        (
            b"/version,1",
            E::ExtraArgument {
                command: RequestKind::Version,
            },
        ),
        (
            b"/fin,",
            E::ExtraArgument {
                command: RequestKind::Fin,
            },
        ),
        (
            b"/config_busy_poll",
            E::MissingArgument {
                arg: Field::BusyPollTimeout,
            },
        ),
        (
            b"/config_busy_poll,20",
            E::MissingArgument {
                arg: Field::BusyPollBudget,
            },
        ),
        (
            b"/config_busy_poll,20,64,1",
            E::ExtraArgument {
                command: RequestKind::ConfigBusyPoll,
            },
        ),
        (
            b"/config_busy_poll,-1,64",
            E::NotANumber {
                arg: Field::BusyPollTimeout,
            },
        ),
        (
            b"/config_busy_poll,+1,64",
            E::NotANumber {
                arg: Field::BusyPollTimeout,
            },
        ),
        (
            b"/config_busy_poll,20,",
            E::EmptyArgument {
                arg: Field::BusyPollBudget,
            },
        ),
    ];
    for (bytes, err) in cases {
        assert_eq!(Request::parse(bytes), Err(err), "{}", Escaped(bytes));
        assert!(!err.to_string().is_empty());
    }
    // 15 bytes is the longest interface name; "." alone is reserved too.
    assert!(Request::parse(b"/xsk_map_fd,abcdefghijklmno").is_ok());
    assert_eq!(
        Request::parse(b"/xsk_map_fd,."),
        Err(E::ReservedName {
            arg: Field::Interface
        })
    );
}

#[test]
fn numbers_do_not_overflow() {
    use HandshakeError as E;
    let max_t = MAX_BUSY_POLL_TIMEOUT_US;
    let ok = format!("/config_busy_poll,{max_t},65535");
    assert_eq!(
        Request::parse(ok.as_bytes()),
        Ok(Request::ConfigBusyPoll(BusyPoll {
            timeout_us: max_t,
            budget: u16::MAX
        }))
    );
    for (text, err) in [
        (
            format!("/config_busy_poll,{},1", u64::from(max_t) + 1),
            E::NumberOutOfRange {
                arg: Field::BusyPollTimeout,
                max: max_t,
            },
        ),
        (
            "/config_busy_poll,4294967296,1".to_string(),
            E::NumberOutOfRange {
                arg: Field::BusyPollTimeout,
                max: max_t,
            },
        ),
        (
            "/config_busy_poll,99999999999999999999999999,1".to_string(),
            E::NumberOutOfRange {
                arg: Field::BusyPollTimeout,
                max: max_t,
            },
        ),
        (
            "/config_busy_poll,1,65536".to_string(),
            E::NumberOutOfRange {
                arg: Field::BusyPollBudget,
                max: 65535,
            },
        ),
    ] {
        assert_eq!(Request::parse(text.as_bytes()), Err(err), "{text}");
    }
    // Leading zeros are plain decimal.
    assert_eq!(
        Request::parse(b"/config_busy_poll,0020,064"),
        Ok(Request::ConfigBusyPoll(BP))
    );
    assert_eq!(
        Request::ConfigBusyPoll(BusyPoll {
            timeout_us: max_t + 1,
            budget: 1
        })
        .emit(&mut [0u8; 64]),
        Err(E::NumberOutOfRange {
            arg: Field::BusyPollTimeout,
            max: max_t
        })
    );
}

#[test]
fn emit_needs_room_and_writes_nothing_past_the_message() {
    let req = Request::XskMapFd { iface: "eth0" };
    assert_eq!(
        req.emit(&mut [0u8; 10]),
        Err(HandshakeError::BufferTooSmall {
            needed: 16,
            available: 10
        })
    );
    let mut buf = [0xaau8; 20];
    assert_eq!(req.emit(&mut buf), Ok(16));
    assert_eq!(&buf[16..], [0xaa; 4]);
    assert_eq!(
        Response::BusyPollNak.emit(&mut [0u8; 5]),
        Err(HandshakeError::BufferTooSmall {
            needed: 21,
            available: 5
        })
    );
}

#[test]
fn errors_say_what_was_wrong() {
    let msg = |b: &[u8]| Request::parse(b).unwrap_err().to_string();
    assert_eq!(msg(b"/connect"), "/connect needs a hostname");
    assert_eq!(
        msg(b"/xsk_map_fd,abcdefghijklmnop"),
        "interface name of 16 bytes in /xsk_map_fd: at most 15 allowed"
    );
    assert_eq!(
        msg(b"/fin\x01"),
        "non-printable byte 0x01 at offset 4 of a handshake message"
    );
    assert_eq!(
        msg(b"/config_busy_poll,1,70000"),
        "busy-poll budget in /config_busy_poll is larger than 65535"
    );
    assert_eq!(
        msg(b"/version,x"),
        "too many arguments to /version: it takes 0 arguments"
    );
}

// ---------------------------------------------------------------- client

/// A scripted answer: the bytes and how many fds came with them.
type Answer<'a> = (&'a [u8], usize);
/// What a scripted run gives: each request (bytes and description) and
/// the outcome of each answer.
type Run = (
    Vec<(Vec<u8>, Outgoing)>,
    Vec<Result<ClientEvent, ClientError>>,
);

/// Runs `client` against scripted answers (bytes, fds); returns the
/// requests sent and the outcome of the last answer.
fn run_client(client: &mut ClientMachine<'_>, answers: &[Answer<'_>]) -> Run {
    let mut sent = Vec::new();
    let mut outcomes = Vec::new();
    let mut buf = [0u8; MAX_REQUEST_LEN];
    for &(answer, fds) in answers {
        let Some(out) = client.next_request(&mut buf).unwrap() else {
            break;
        };
        sent.push((buf[..out.len].to_vec(), out));
        let outcome = client.on_response(answer, fds);
        let failed = outcome.is_err();
        outcomes.push(outcome);
        if failed {
            break;
        }
    }
    (sent, outcomes)
}

/// The requests of a client asking for `eth0`'s map and busy polling (20 µs,
/// budget 64) on two sockets, as pod `mypod`, in order.
const BUSY_POLL_TWO_SOCKETS_PLAN: [&[u8]; 6] = [
    b"/connect,mypod",
    b"/version",
    b"/xsk_map_fd,eth0",
    b"/config_busy_poll,20,64",
    b"/config_busy_poll,20,64",
    b"/fin",
];

#[test]
fn client_full_flow_with_busy_poll_for_two_sockets() {
    let config = ClientConfig::new("mypod").map_fd("eth0").busy_poll(BP, 2);
    let mut client = ClientMachine::new(config).unwrap();
    let answers: [(&[u8], usize); 6] = [
        (b"/host_ok", 0),
        (b"0.1", 0),
        (b"/fd_ack", 1),
        (b"/config_busy_poll_ack", 0),
        (b"/config_busy_poll_ack", 0),
        (b"/fin_ack", 0),
    ];
    let (sent, outcomes) = run_client(&mut client, &answers);
    let bytes: Vec<&[u8]> = sent.iter().map(|(b, _)| &b[..]).collect();
    assert_eq!(bytes, BUSY_POLL_TWO_SOCKETS_PLAN);
    let sockets: Vec<Option<u32>> = sent.iter().map(|(_, o)| o.send_socket).collect();
    assert_eq!(sockets, [None, None, None, Some(0), Some(1), None]);
    let expect: Vec<usize> = sent.iter().map(|(_, o)| o.expect_fds).collect();
    assert_eq!(expect, [0, 0, 1, 0, 0, 0]);
    assert_eq!(
        outcomes,
        [
            Ok(ClientEvent::HostAccepted),
            Ok(ClientEvent::VersionMatched),
            Ok(ClientEvent::MapReceived),
            Ok(ClientEvent::BusyPollSet { socket: 0 }),
            Ok(ClientEvent::BusyPollSet { socket: 1 }),
            Ok(ClientEvent::Finished),
        ]
    );
    assert!(client.is_done());
    assert_eq!(client.busy_polls_done(), 2);
    assert_eq!(client.next_request(&mut [0u8; 64]), Ok(None));
    assert_eq!(
        client.on_response(b"/fin_ack", 0),
        Err(ClientError::Finished)
    );
}

#[test]
fn client_short_exchanges_skip_what_is_not_asked() {
    // Busy poll for one socket, on a connection of its own.
    let mut client = ClientMachine::new(ClientConfig::new("mypod").busy_poll(BP, 1)).unwrap();
    let (sent, outcomes) = run_client(
        &mut client,
        &[
            (b"/host_ok", 0),
            (b"0.1", 0),
            (b"/config_busy_poll_ack", 0),
            (b"/fin_ack", 0),
        ],
    );
    let steps: Vec<ClientStep> = sent.iter().map(|(_, o)| o.step).collect();
    assert_eq!(
        steps,
        [
            ClientStep::Connect,
            ClientStep::Version,
            ClientStep::BusyPoll,
            ClientStep::Fin
        ]
    );
    assert!(outcomes.iter().all(Result::is_ok));
    assert!(client.is_done());

    // Nothing asked: connect, version, fin.
    let mut client = ClientMachine::new(ClientConfig::new("mypod").busy_poll(BP, 0)).unwrap();
    let (sent, _) = run_client(
        &mut client,
        &[(b"/host_ok", 0), (b"0.1", 0), (b"/fin_ack", 0)],
    );
    assert_eq!(sent.last().unwrap().0, b"/fin");
    assert!(client.is_done());
}

#[test]
fn client_treats_fd_nak_as_a_refusal_not_success() {
    // The DPDK PMD compares with strncmp(...) < 0 and takes /fd_nak as
    // success; we do not.
    let mut client = ClientMachine::new(ClientConfig::new("mypod").map_fd("eth0")).unwrap();
    let (_, outcomes) = run_client(
        &mut client,
        &[(b"/host_ok", 0), (b"0.1", 0), (b"/fd_nak", 0)],
    );
    let err = outcomes.last().unwrap().unwrap_err();
    assert_eq!(
        err,
        ClientError::Refused {
            step: ClientStep::MapFd,
            response: Response::FdNak
        }
    );
    assert_eq!(
        err.to_string(),
        "handshake /xsk_map_fd refused with /fd_nak: the interface is not served to this pod"
    );
    assert!(client.has_failed());
    assert_eq!(
        client.next_request(&mut [0u8; 64]),
        Err(ClientError::Finished)
    );
}

#[test]
fn client_refusals_at_every_step() {
    let cases: [(&[Answer<'_>], ClientError); 5] = [
        (
            &[(b"/host_nak", 0)],
            ClientError::Refused {
                step: ClientStep::Connect,
                response: Response::HostNak,
            },
        ),
        (
            // The reference plugin's failed lookup: /error (then /host_nak).
            &[(b"/error", 0)],
            ClientError::Refused {
                step: ClientStep::Connect,
                response: Response::Error,
            },
        ),
        (
            &[(b"/host_ok", 0), (b"/nak", 0)],
            ClientError::Refused {
                step: ClientStep::Version,
                response: Response::Nak,
            },
        ),
        (
            &[
                (b"/host_ok", 0),
                (b"0.1", 0),
                (b"/fd_ack", 1),
                (b"/config_busy_poll_nak", 0),
            ],
            ClientError::Refused {
                step: ClientStep::BusyPoll,
                response: Response::BusyPollNak,
            },
        ),
        (
            &[
                (b"/host_ok", 0),
                (b"0.1", 0),
                (b"/fd_ack", 1),
                (b"/config_busy_poll_ack", 0),
                (b"/nak", 0),
            ],
            ClientError::Refused {
                step: ClientStep::Fin,
                response: Response::Nak,
            },
        ),
    ];
    for (answers, expected) in cases {
        let config = ClientConfig::new("mypod").map_fd("eth0").busy_poll(BP, 1);
        let mut client = ClientMachine::new(config).unwrap();
        let (_, outcomes) = run_client(&mut client, answers);
        assert_eq!(outcomes.last().unwrap().unwrap_err(), expected);
        assert!(client.has_failed());
    }
}

#[test]
fn client_rejects_the_wrong_version() {
    let mut client = ClientMachine::new(ClientConfig::new("mypod")).unwrap();
    let (_, outcomes) = run_client(&mut client, &[(b"/host_ok", 0), (b"0.2", 0)]);
    let err = outcomes.last().unwrap().unwrap_err();
    assert_eq!(
        err,
        ClientError::VersionMismatch {
            received: Received::new(b"0.2")
        }
    );
    assert_eq!(
        err.to_string(),
        "handshake /version: the server speaks version \"0.2\", this client 0.1"
    );
    // A response word where the version belongs is unexpected, not a version.
    let mut client = ClientMachine::new(ClientConfig::new("mypod")).unwrap();
    let (_, outcomes) = run_client(&mut client, &[(b"/host_ok", 0), (b"/fd_ack", 0)]);
    assert!(matches!(
        outcomes.last().unwrap(),
        Err(ClientError::Unexpected {
            step: ClientStep::Version,
            why: None,
            ..
        })
    ));
}

#[test]
fn client_names_the_step_and_escapes_what_came() {
    let mut client = ClientMachine::new(ClientConfig::new("mypod").map_fd("eth0")).unwrap();
    let (_, outcomes) = run_client(
        &mut client,
        &[(b"/host_ok", 0), (b"0.1", 0), (b"/fd_ack\0\xff", 1)],
    );
    let err = outcomes.last().unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        "handshake /xsk_map_fd: expected /fd_ack, received \"/fd_ack\\0\\xff\" \
         (NUL byte at offset 7 of a handshake message)"
    );
    // A valid word of another step.
    let mut client = ClientMachine::new(ClientConfig::new("mypod")).unwrap();
    let (_, outcomes) = run_client(&mut client, &[(b"/fin_ack", 0)]);
    assert_eq!(
        outcomes.last().unwrap().unwrap_err().to_string(),
        "handshake /connect: expected /host_ok, received \"/fin_ack\""
    );
    // Long garbage is cut in the message.
    let mut client = ClientMachine::new(ClientConfig::new("mypod")).unwrap();
    let long = [b'z'; 300];
    let (_, outcomes) = run_client(&mut client, &[(&long, 0)]);
    let text = outcomes.last().unwrap().unwrap_err().to_string();
    assert!(text.contains("... (300 bytes)"), "{text}");
    assert!(text.contains("at most 128 allowed"), "{text}");
}

#[test]
fn client_demands_exactly_one_fd_with_the_map() {
    for (fds, ok) in [(0usize, false), (1, true), (2, false)] {
        let mut client = ClientMachine::new(ClientConfig::new("mypod").map_fd("eth0")).unwrap();
        let (_, outcomes) = run_client(
            &mut client,
            &[(b"/host_ok", 0), (b"0.1", 0), (b"/fd_ack", fds)],
        );
        let last = *outcomes.last().unwrap();
        if ok {
            assert_eq!(last, Ok(ClientEvent::MapReceived));
        } else {
            assert_eq!(
                last,
                Err(ClientError::FdCount {
                    step: ClientStep::MapFd,
                    expected: 1,
                    received: fds
                })
            );
        }
    }
    // An fd where none belongs is an error too.
    let mut client = ClientMachine::new(ClientConfig::new("mypod")).unwrap();
    let (_, outcomes) = run_client(&mut client, &[(b"/host_ok", 1)]);
    assert_eq!(
        outcomes[0],
        Err(ClientError::FdCount {
            step: ClientStep::Connect,
            expected: 0,
            received: 1
        })
    );
}

#[test]
fn client_must_be_driven_in_turn() {
    let mut client = ClientMachine::new(ClientConfig::new("mypod")).unwrap();
    assert_eq!(
        client.on_response(b"/host_ok", 0),
        Err(ClientError::OutOfTurn {
            awaiting_response: false
        })
    );
    // Too small a buffer: an error, and the machine has not moved.
    assert_eq!(
        client.next_request(&mut [0u8; 4]),
        Err(ClientError::Encode(HandshakeError::BufferTooSmall {
            needed: 14,
            available: 4
        }))
    );
    assert_eq!(client.step(), Some(ClientStep::Connect));
    let mut buf = [0u8; 64];
    client.next_request(&mut buf).unwrap();
    assert_eq!(
        client.next_request(&mut buf),
        Err(ClientError::OutOfTurn {
            awaiting_response: true
        })
    );
    assert_eq!(
        client.on_response(b"/host_ok", 0),
        Ok(ClientEvent::HostAccepted)
    );
}

#[test]
fn client_pipelined_sends_the_whole_plan_then_judges_answers_in_order() {
    let config = ClientConfig::new("mypod")
        .map_fd("eth0")
        .busy_poll(BP, 2)
        .pipelined();
    assert!(config.is_pipelined());
    let mut client = ClientMachine::new(config).unwrap();
    let mut buf = [0u8; MAX_REQUEST_LEN];
    let mut sent = Vec::new();
    while let Some(out) = client.next_request(&mut buf).unwrap() {
        sent.push((buf[..out.len].to_vec(), out.send_socket, out.expect_fds));
        assert_eq!(client.awaiting(), sent.len() as u32);
    }
    let texts: Vec<&[u8]> = sent.iter().map(|(t, _, _)| t.as_slice()).collect();
    assert_eq!(texts, BUSY_POLL_TWO_SOCKETS_PLAN);
    let sockets: Vec<Option<u32>> = sent.iter().map(|(_, s, _)| *s).collect();
    assert_eq!(sockets, [None, None, None, Some(0), Some(1), None]);
    assert_eq!(sent[2].2, 1, "the map's answer carries one fd");
    // Nothing more to send; the step is the oldest unanswered one.
    assert_eq!(client.next_request(&mut buf), Ok(None));
    assert_eq!(client.step(), Some(ClientStep::Connect));
    let answers: [(&[u8], usize, ClientEvent); 6] = [
        (b"/host_ok", 0, ClientEvent::HostAccepted),
        (b"0.1", 0, ClientEvent::VersionMatched),
        (b"/fd_ack", 1, ClientEvent::MapReceived),
        (
            b"/config_busy_poll_ack",
            0,
            ClientEvent::BusyPollSet { socket: 0 },
        ),
        (
            b"/config_busy_poll_ack",
            0,
            ClientEvent::BusyPollSet { socket: 1 },
        ),
        (b"/fin_ack", 0, ClientEvent::Finished),
    ];
    for (answer, fds, event) in answers {
        assert_eq!(client.on_response(answer, fds), Ok(event));
    }
    assert!(client.is_done());
    assert_eq!(client.busy_polls_done(), 2);
    assert_eq!(client.awaiting(), 0);
    assert_eq!(
        client.on_response(b"/fin_ack", 0),
        Err(ClientError::Finished)
    );
}

#[test]
fn client_pipelined_stops_at_the_first_refusal() {
    let mut client =
        ClientMachine::new(ClientConfig::new("mypod").map_fd("eth0").pipelined()).unwrap();
    let mut buf = [0u8; MAX_REQUEST_LEN];
    // An answer before any request is out of turn, pipelined or not.
    assert_eq!(
        client.on_response(b"/host_ok", 0),
        Err(ClientError::OutOfTurn {
            awaiting_response: false
        })
    );
    // Two requests out, then the answers.
    client.next_request(&mut buf).unwrap().unwrap();
    client.next_request(&mut buf).unwrap().unwrap();
    assert_eq!(client.awaiting(), 2);
    assert_eq!(
        client.on_response(b"/host_ok", 0),
        Ok(ClientEvent::HostAccepted)
    );
    // Only one answer is awaited now: a second would be out of turn once
    // it came.
    assert_eq!(client.step(), Some(ClientStep::Version));
    assert_eq!(
        client.on_response(b"/nak", 0),
        Err(ClientError::Refused {
            step: ClientStep::Version,
            response: Response::Nak
        })
    );
    assert!(client.has_failed());
    assert_eq!(client.step(), None);
    assert_eq!(client.next_request(&mut buf), Err(ClientError::Finished));
    assert_eq!(
        client.on_response(b"/fd_ack", 1),
        Err(ClientError::Finished)
    );
}

#[test]
fn client_configuration_is_checked_up_front() {
    use HandshakeError as E;
    assert_eq!(
        ClientMachine::new(ClientConfig::new("")).unwrap_err(),
        E::EmptyArgument {
            arg: Field::Hostname
        }
    );
    assert_eq!(
        ClientMachine::new(ClientConfig::new(&"p".repeat(56))).unwrap_err(),
        E::TooLong { len: 65, max: 64 }
    );
    assert!(ClientMachine::new(ClientConfig::new(&"p".repeat(55))).is_ok());
    assert_eq!(
        ClientMachine::new(ClientConfig::new("mypod").map_fd("eth 0")).unwrap_err(),
        E::BadCharacter {
            arg: Field::Interface,
            byte: b' '
        }
    );
    let huge = BusyPoll {
        timeout_us: u32::MAX,
        budget: 1,
    };
    assert!(matches!(
        ClientMachine::new(ClientConfig::new("mypod").busy_poll(huge, 1)),
        Err(E::NumberOutOfRange { .. })
    ));
}

// ---------------------------------------------------------------- server

const POLICY: StaticPolicy<'static> = StaticPolicy {
    pods: Pods::Only(&["mypod", "other"]),
    interfaces: &["eth0", "eth1"],
};

fn responses(a: &ServerAction<'_>) -> Vec<Response> {
    a.responses.iter().collect()
}

#[test]
fn server_serves_the_dpdk_sequence() {
    let mut s = ServerSession::new();
    assert_eq!(s.state(), ServerState::New);
    let a = s.on_message(&POLICY, b"/connect,mypod", 0);
    assert_eq!(responses(&a), [Response::HostOk]);
    assert!(!a.close);
    assert_eq!(s.pod(), Some("mypod"));
    let a = s.on_message(&POLICY, b"/version", 0);
    assert_eq!(responses(&a), [Response::Version]);
    let a = s.on_message(&POLICY, b"/xsk_map_fd,eth0", 0);
    assert_eq!(responses(&a), [Response::FdAck]);
    assert_eq!(a.attach_map, Some("eth0"));
    let a = s.on_message(&POLICY, b"/fin", 0);
    assert_eq!(responses(&a), [Response::FinAck]);
    assert!(a.close && s.is_closed());
    // Nothing after close.
    let a = s.on_message(&POLICY, b"/version", 0);
    assert!(a.responses.is_empty() && a.close);
}

#[test]
fn server_refuses_unknown_pods_as_the_reference_does() {
    let mut s = ServerSession::new();
    let a = s.on_message(&POLICY, b"/connect,stranger", 0);
    assert_eq!(responses(&a), [Response::HostNak]);
    assert!(a.close && s.pod().is_none());

    struct Broken;
    impl ServerPolicy for Broken {
        fn check_pod(&self, _: &str) -> PodCheck {
            PodCheck::LookupFailed
        }
        fn may_serve(&self, _: &str, _: &str) -> bool {
            true
        }
    }
    let mut s = ServerSession::new();
    let a = s.on_message(&Broken, b"/connect,mypod", 0);
    assert_eq!(responses(&a), [Response::Error, Response::HostNak]);
    assert!(a.close);

    // A /connect with a bad argument: /host_nak and close.
    for bad in [
        &b"/connect,"[..],
        b"/connect,a,b",
        b"/connect",
        b"/connect,a/b",
    ] {
        let mut s = ServerSession::new();
        let a = s.on_message(&POLICY, bad, 0);
        assert_eq!(responses(&a), [Response::HostNak], "{}", Escaped(bad));
        assert!(a.close);
    }
}

#[test]
fn server_answers_nothing_to_a_first_message_that_is_not_connect() {
    for first in [
        &b"/xsk_map_fd,eth0"[..],
        b"/version",
        b"/fin",
        b"/config_busy_poll,1,2",
        b"hello",
        b"/connectx,mypod",
        b"/connect,mypod\0",
        b"",
    ] {
        let mut s = ServerSession::new();
        let a = s.on_message(&POLICY, first, 1);
        assert!(a.responses.is_empty(), "{}", Escaped(first));
        assert!(a.close && a.attach_map.is_none() && a.apply_busy_poll.is_none());
        assert!(s.is_closed());
    }
}

#[test]
fn server_handles_requests_out_of_order_and_unknown_ones() {
    let mut s = ServerSession::new();
    s.on_message(&POLICY, b"/connect,mypod", 0);
    // A second /connect: /nak, and the pod stays the first one.
    let a = s.on_message(&POLICY, b"/connect,other", 0);
    assert_eq!(responses(&a), [Response::Nak]);
    assert!(!a.close);
    assert_eq!(s.pod(), Some("mypod"));
    for bad in [
        &b"/hello"[..],
        b"/xsk_map_fd",
        b"/xsk_map_fd,eth0,eth1",
        b"/version,2",
        b"/fin,now",
        b"/config_busy_poll,1",
        b"\x01",
        b"",
    ] {
        let a = s.on_message(&POLICY, bad, 0);
        assert_eq!(responses(&a), [Response::Nak], "{}", Escaped(bad));
        assert!(!a.close);
    }
    let too_long = [b'a'; 65];
    assert_eq!(
        responses(&s.on_message(&POLICY, &too_long, 0)),
        [Response::Nak]
    );
    // Still serving.
    assert_eq!(
        responses(&s.on_message(&POLICY, b"/version", 0)),
        [Response::Version]
    );
}

#[test]
fn server_serves_only_its_interfaces() {
    let mut s = ServerSession::new();
    s.on_message(&POLICY, b"/connect,mypod", 0);
    for iface in [&b"eth2"[..], b"ETH0", b"..", b"a:b"] {
        let mut msg = b"/xsk_map_fd,".to_vec();
        msg.extend_from_slice(iface);
        let a = s.on_message(&POLICY, &msg, 0);
        assert_eq!(responses(&a), [Response::FdNak], "{}", Escaped(iface));
        assert!(a.attach_map.is_none() && !a.close);
    }
    assert_eq!(
        s.on_message(&POLICY, b"/xsk_map_fd,eth1", 0).attach_map,
        Some("eth1")
    );
}

#[test]
fn server_per_pod_interfaces() {
    let policy = StaticPolicy {
        pods: Pods::Each(&[("a", &["eth0"]), ("b", &["eth1", "eth9"])]),
        interfaces: &["eth0", "eth1"],
    };
    let map = |pod: &str, iface: &str| {
        let mut s = ServerSession::new();
        let connect = format!("/connect,{pod}");
        if s.on_message(&policy, connect.as_bytes(), 0).close {
            return None;
        }
        let req = format!("/xsk_map_fd,{iface}");
        Some(
            s.on_message(&policy, req.as_bytes(), 0)
                .attach_map
                .is_some(),
        )
    };
    assert_eq!(map("a", "eth0"), Some(true));
    assert_eq!(map("a", "eth1"), Some(false), "not listed for a");
    assert_eq!(map("b", "eth1"), Some(true));
    assert_eq!(map("b", "eth9"), Some(false), "listed, but not served here");
    assert_eq!(map("c", "eth0"), None, "unknown pod");
    let any = StaticPolicy {
        pods: Pods::Any,
        interfaces: &["eth0"],
    };
    assert_eq!(any.check_pod("whoever"), PodCheck::Allowed);
    assert!(any.may_serve("whoever", "eth0") && !any.may_serve("whoever", "eth1"));
}

#[test]
fn server_busy_poll_needs_exactly_one_fd_and_the_drivers_result() {
    let mut s = ServerSession::new();
    s.on_message(&POLICY, b"/connect,mypod", 0);
    for fds in [0, 2] {
        let a = s.on_message(&POLICY, b"/config_busy_poll,20,64", fds);
        assert_eq!(responses(&a), [Response::BusyPollNak]);
        assert!(a.apply_busy_poll.is_none());
    }
    // Bad numbers: the command's own refusal.
    let a = s.on_message(&POLICY, b"/config_busy_poll,x,64", 1);
    assert_eq!(responses(&a), [Response::BusyPollNak]);

    let a = s.on_message(&POLICY, b"/config_busy_poll, 20, 64", 1);
    assert!(a.responses.is_empty());
    assert_eq!(a.apply_busy_poll, Some(BP));
    assert_eq!(s.state(), ServerState::ApplyingBusyPoll);
    assert_eq!(
        responses(&s.busy_poll_applied(true)),
        [Response::BusyPollAck]
    );
    assert_eq!(s.state(), ServerState::Connected);

    s.on_message(&POLICY, b"/config_busy_poll,20,64", 1);
    assert_eq!(
        responses(&s.busy_poll_applied(false)),
        [Response::BusyPollNak]
    );

    // A report nobody asked for is a driver bug: close.
    let a = s.busy_poll_applied(true);
    assert!(a.responses.is_empty() && a.close && s.is_closed());

    // A message while the result is awaited: close.
    let mut s = ServerSession::new();
    s.on_message(&POLICY, b"/connect,mypod", 0);
    s.on_message(&POLICY, b"/config_busy_poll,20,64", 1);
    let a = s.on_message(&POLICY, b"/version", 0);
    assert!(a.responses.is_empty() && a.close);

    // A policy may forbid it.
    struct NoBusyPoll;
    impl ServerPolicy for NoBusyPoll {
        fn check_pod(&self, _: &str) -> PodCheck {
            PodCheck::Allowed
        }
        fn may_serve(&self, _: &str, _: &str) -> bool {
            false
        }
        fn may_busy_poll(&self, _: &str, c: BusyPoll) -> bool {
            c.budget <= 16
        }
    }
    let mut s = ServerSession::new();
    s.on_message(&NoBusyPoll, b"/connect,p", 0);
    assert_eq!(
        responses(&s.on_message(&NoBusyPoll, b"/config_busy_poll,20,64", 1)),
        [Response::BusyPollNak]
    );
    assert!(s
        .on_message(&NoBusyPoll, b"/config_busy_poll,20,16", 1)
        .apply_busy_poll
        .is_some());
}

#[test]
fn client_and_server_agree_end_to_end() {
    let mut server = ServerSession::new();
    let config = ClientConfig::new("other").map_fd("eth1").busy_poll(BP, 3);
    let mut client = ClientMachine::new(config).unwrap();
    let mut req = [0u8; MAX_REQUEST_LEN];
    let mut resp = [0u8; MAX_RESPONSE_LEN];
    let mut events = Vec::new();
    while let Some(out) = client.next_request(&mut req).unwrap() {
        let fds = usize::from(out.send_socket.is_some());
        let mut action = server.on_message(&POLICY, &req[..out.len], fds);
        if action.apply_busy_poll.is_some() {
            action = server.busy_poll_applied(true);
        }
        for r in action.responses.iter() {
            let n = r.emit(&mut resp).unwrap();
            let fds = usize::from(r == Response::FdAck && action.attach_map.is_some());
            events.push(client.on_response(&resp[..n], fds).unwrap());
        }
    }
    assert_eq!(events.len(), 7);
    assert_eq!(events[2], ClientEvent::MapReceived);
    assert_eq!(events[5], ClientEvent::BusyPollSet { socket: 2 });
    assert!(client.is_done() && server.is_closed());
}

// ---------------------------------------------------------------- properties

fn hostname() -> impl Strategy<Value = String> {
    // Printable ASCII without space, '/' and ','; short enough to fit.
    proptest::string::string_regex("[!-+\\--.0-~]{1,55}").unwrap()
}

fn ifname() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[!-+\\--.0-9;-~]{1,15}")
        .unwrap()
        .prop_filter("not . or ..", |s| s != "." && s != "..")
}

#[derive(Debug, Clone)]
enum OwnedRequest {
    Connect(String),
    Version,
    XskMapFd(String),
    BusyPoll(u32, u16),
    Fin,
}

impl OwnedRequest {
    fn borrow(&self) -> Request<'_> {
        match self {
            OwnedRequest::Connect(h) => Request::Connect { hostname: h },
            OwnedRequest::Version => Request::Version,
            OwnedRequest::XskMapFd(i) => Request::XskMapFd { iface: i },
            OwnedRequest::BusyPoll(t, b) => Request::ConfigBusyPoll(BusyPoll {
                timeout_us: *t,
                budget: *b,
            }),
            OwnedRequest::Fin => Request::Fin,
        }
    }
}

fn request() -> impl Strategy<Value = OwnedRequest> {
    prop_oneof![
        hostname().prop_map(OwnedRequest::Connect),
        Just(OwnedRequest::Version),
        ifname().prop_map(OwnedRequest::XskMapFd),
        (0..=MAX_BUSY_POLL_TIMEOUT_US, any::<u16>())
            .prop_map(|(t, b)| OwnedRequest::BusyPoll(t, b)),
        Just(OwnedRequest::Fin),
    ]
}

proptest! {
    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Request::parse(&bytes).map(|r| r.to_string());
        let _ = Response::parse(&bytes);
        if let Err(e) = Request::parse(&bytes) {
            let _ = (e.to_string(), e.command(), e.is_bad_value());
        }
        let _ = Received::new(&bytes).to_string();
    }

    #[test]
    fn printable_input_either_parses_or_says_why(text in "[ -~]{0,70}") {
        match Request::parse(text.as_bytes()) {
            Ok(req) => {
                // What parses re-emits to an equivalent message.
                let again = emit_request(&req);
                prop_assert_eq!(Request::parse(&again), Ok(req));
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn emit_then_parse_is_identity(req in request()) {
        let req = req.borrow();
        let bytes = emit_request(&req);
        prop_assert!(bytes.len() <= MAX_REQUEST_LEN);
        prop_assert_eq!(Request::parse(&bytes), Ok(req));
    }

    #[test]
    fn emit_then_parse_is_identity_for_responses(i in 0..Response::ALL.len()) {
        let r = Response::ALL[i];
        prop_assert_eq!(Response::parse(&emit_response(r)), Ok(r));
    }

    /// Pipelined or lockstep, a client judges any sequence of answers the
    /// same way: the same requests, events and errors, in the same order.
    #[test]
    fn pipelined_and_lockstep_clients_agree(
        map in any::<bool>(),
        sockets in 0u32..3,
        answers in proptest::collection::vec(
            (prop_oneof![
                // Mostly the answers a run could get, and some noise.
                Just(b"/host_ok".to_vec()),
                Just(b"0.1".to_vec()),
                Just(b"/fd_ack".to_vec()),
                Just(b"/config_busy_poll_ack".to_vec()),
                Just(b"/fin_ack".to_vec()),
                Just(b"/nak".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..20),
            ], 0usize..2),
            0..8),
    ) {
        let mut config = ClientConfig::new("mypod").busy_poll(BP, sockets);
        if map {
            config = config.map_fd("eth0");
        }
        let mut lockstep = ClientMachine::new(config).unwrap();
        let mut piped = ClientMachine::new(config.pipelined()).unwrap();
        let mut buf = [0u8; MAX_REQUEST_LEN];
        let mut piped_sent = Vec::new();
        while let Some(out) = piped.next_request(&mut buf).unwrap() {
            piped_sent.push((buf[..out.len].to_vec(), out));
        }
        for (i, (answer, fds)) in answers.iter().enumerate() {
            let step_out = match lockstep.next_request(&mut buf) {
                Ok(Some(out)) => out,
                _ => break,
            };
            prop_assert_eq!(&buf[..step_out.len], piped_sent[i].0.as_slice());
            prop_assert_eq!(step_out, piped_sent[i].1);
            prop_assert_eq!(lockstep.step(), piped.step());
            let a = lockstep.on_response(answer, *fds);
            let b = piped.on_response(answer, *fds);
            prop_assert_eq!(a, b);
            prop_assert_eq!(lockstep.is_done(), piped.is_done());
            prop_assert_eq!(lockstep.busy_polls_done(), piped.busy_polls_done());
            if a.is_err() {
                break;
            }
        }
    }

    #[test]
    fn machines_survive_arbitrary_messages(
        msgs in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..80), 0usize..3), 0..12),
    ) {
        let config = ClientConfig::new("mypod").map_fd("eth0").busy_poll(BP, 2);
        let mut client = ClientMachine::new(config).unwrap();
        let mut server = ServerSession::new();
        let mut buf = [0u8; MAX_REQUEST_LEN];
        for (msg, fds) in &msgs {
            let _ = client.next_request(&mut buf);
            let _ = client.on_response(msg, *fds).map_err(|e| e.to_string());
            let a = server.on_message(&POLICY, msg, *fds);
            prop_assert!(a.responses.len() <= 2);
            if a.attach_map.is_some() {
                prop_assert_eq!(a.responses.as_slice(), [Response::FdAck]);
            }
            if a.apply_busy_poll.is_some() {
                prop_assert_eq!(*fds, 1);
                let _ = server.busy_poll_applied(fds % 2 == 0);
            }
            // Once a machine stops, it stays stopped.
            if server.is_closed() {
                prop_assert!(server.on_message(&POLICY, b"/version", 0).close);
            }
        }
    }
}

#[test]
fn a_plan_of_u32_max_busy_polls_neither_wraps_nor_loses_fin() {
    let config = ClientConfig::new("mypod")
        .busy_poll(BP, u32::MAX)
        .pipelined();
    let mut client = ClientMachine::new(config).unwrap();
    let mut buf = [0u8; MAX_REQUEST_LEN];
    let steps: Vec<(ClientStep, Option<u32>)> = (0..5)
        .map(|_| {
            let o = client.next_request(&mut buf).unwrap().unwrap();
            (o.step, o.send_socket)
        })
        .collect();
    assert_eq!(
        steps,
        [
            (ClientStep::Connect, None),
            (ClientStep::Version, None),
            (ClientStep::BusyPoll, Some(0)),
            (ClientStep::BusyPoll, Some(1)),
            (ClientStep::BusyPoll, Some(2)),
        ]
    );
    assert_eq!(client.awaiting(), 5);
    assert_eq!(
        client.on_response(b"/host_ok", 0),
        Ok(ClientEvent::HostAccepted)
    );
    assert_eq!(
        client.on_response(b"0.1", 0),
        Ok(ClientEvent::VersionMatched)
    );
    assert_eq!(
        client.on_response(b"/config_busy_poll_ack", 0),
        Ok(ClientEvent::BusyPollSet { socket: 0 })
    );
    assert_eq!(client.busy_polls_done(), 1);
    assert!(!client.is_done());
}
