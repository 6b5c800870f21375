//! `afxdp_sys::unix` against the running kernel: SEQPACKET boundaries, fds
//! over `SCM_RIGHTS` (arriving, close-on-exec, never leaked however many
//! come or however the control data is cut), truncation errors, peer
//! credentials, timeouts, and a real socket file.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

use afxdp_core::abi::socket::{AF_UNIX, AF_XDP, SOCK_RAW, SOCK_SEQPACKET, SOL_SOCKET, SO_PASSCRED};
use afxdp_core::Errno;
use afxdp_sys::unix::{self, UnixAddr, RECV_MAX_FDS};
use afxdp_sys::{socket, xsk, BorrowedFd, OwnedFd};
use afxdp_testkit::{open_fds, privileged, serial, TempDir};

/// A pipe: (read end, write end), close-on-exec.
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0i32; 2];
    // SAFETY: `fds` is writable for two ints.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: pipe2 just gave us both fds.
    let rd = unsafe { OwnedFd::from_raw(fds[0]) };
    // SAFETY: as above.
    let wr = unsafe { OwnedFd::from_raw(fds[1]) };
    (rd, wr)
}

fn fstat(fd: BorrowedFd<'_>) -> libc::stat {
    // SAFETY: an all-zero stat is valid, and fstat fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is writable.
    assert_eq!(unsafe { libc::fstat(fd.as_raw(), &mut st) }, 0);
    st
}

fn write_all(fd: BorrowedFd<'_>, data: &[u8]) {
    // SAFETY: `data` is readable for its length.
    let n = unsafe { libc::write(fd.as_raw(), data.as_ptr().cast(), data.len()) };
    assert_eq!(n, data.len() as isize);
}

fn read_some(fd: BorrowedFd<'_>, buf: &mut [u8]) -> usize {
    // SAFETY: `buf` is writable for its length.
    let n = unsafe { libc::read(fd.as_raw(), buf.as_mut_ptr().cast(), buf.len()) };
    assert!(n >= 0);
    n as usize
}

#[test]
fn socketpair_keeps_message_boundaries() {
    let (a, b) = unix::socketpair().unwrap();
    for msg in [&b"/connect,mypod"[..], b"/version", b"x", b""] {
        assert_eq!(unix::send_msg(a.as_fd(), msg, &[]).unwrap(), msg.len());
    }
    let mut buf = [0u8; 128];
    for msg in [&b"/connect,mypod"[..], b"/version", b"x", b""] {
        let got = unix::recv_msg(b.as_fd(), &mut buf, &mut []).unwrap();
        assert_eq!(&buf[..got.len], msg, "one send is one receive");
        assert_eq!(got.fds_received(), 0);
    }
    assert_eq!(socket::domain(a.as_fd()), Ok(AF_UNIX));
    assert_eq!(socket::socket_type(a.as_fd()), Ok(SOCK_SEQPACKET));
    assert_eq!(socket::protocol(a.as_fd()), Ok(0));
}

/// What a pipelined handshake client meets when the server refuses and
/// closes with requests still unread: the reset comes first, once, then the
/// answer sent before the close, then the end of the connection.
#[test]
fn a_close_with_unread_messages_resets_before_the_queued_answer() {
    let (client, server) = unix::socketpair().unwrap();
    unix::send_msg(client.as_fd(), b"/connect,pod", &[]).unwrap();
    unix::send_msg(client.as_fd(), b"/version", &[]).unwrap();
    unix::send_msg(server.as_fd(), b"/host_nak", &[]).unwrap();
    drop(server); // both requests unread
    let mut buf = [0u8; 64];
    assert_eq!(
        unix::recv_msg(client.as_fd(), &mut buf, &mut []),
        Err(Errno::ECONNRESET)
    );
    let m = unix::recv_msg(client.as_fd(), &mut buf, &mut []).unwrap();
    assert_eq!(&buf[..m.len], b"/host_nak");
    let end = unix::recv_msg(client.as_fd(), &mut buf, &mut []).unwrap();
    assert_eq!((end.len, end.fds_received()), (0, 0), "then the close");
}

#[test]
fn a_sent_fd_arrives_close_on_exec_and_is_the_same_file() {
    let (a, b) = unix::socketpair().unwrap();
    let (rd, wr) = pipe();
    unix::send_msg(a.as_fd(), b"/fd_ack", &[wr.as_fd()]).unwrap();
    let mut buf = [0u8; 128];
    let mut fds = [None, None];
    let got = unix::recv_msg(b.as_fd(), &mut buf, &mut fds).unwrap();
    assert_eq!(&buf[..got.len], b"/fd_ack");
    assert_eq!((got.fds, got.dropped_fds), (1, 0));
    assert!(fds[1].is_none());
    let received = fds[0].take().unwrap();
    assert_ne!(received.as_raw(), wr.as_raw(), "a new fd number");
    let (ours, theirs) = (fstat(wr.as_fd()), fstat(received.as_fd()));
    assert_eq!((ours.st_dev, ours.st_ino), (theirs.st_dev, theirs.st_ino));
    // SAFETY: F_GETFD only reads the fd flags.
    let flags = unsafe { libc::fcntl(received.as_raw(), libc::F_GETFD) };
    assert_eq!(
        flags & libc::FD_CLOEXEC,
        libc::FD_CLOEXEC,
        "MSG_CMSG_CLOEXEC"
    );
    // Writing through the received fd reaches our pipe.
    drop(wr);
    write_all(received.as_fd(), b"through");
    drop(received);
    let mut out = [0u8; 16];
    let n = read_some(rd.as_fd(), &mut out);
    assert_eq!(&out[..n], b"through");
}

#[test]
fn fds_beyond_the_callers_slots_are_closed() {
    let _serial = serial();
    let (a, b) = unix::socketpair().unwrap();
    let (rd, wr) = pipe();
    let before = open_fds();
    unix::send_msg(a.as_fd(), b"two", &[rd.as_fd(), wr.as_fd()]).unwrap();
    let mut buf = [0u8; 16];
    let mut fds = [None];
    let got = unix::recv_msg(b.as_fd(), &mut buf, &mut fds).unwrap();
    assert_eq!((got.fds, got.dropped_fds, got.fds_received()), (1, 1, 2));
    assert_eq!(open_fds(), before + 1, "only the kept fd is open");
    assert_eq!(
        fstat(fds[0].as_ref().unwrap().as_fd()).st_ino,
        fstat(rd.as_fd()).st_ino
    );
    drop(fds);
    assert_eq!(open_fds(), before, "nothing leaked");

    // Zero slots: every fd is closed.
    unix::send_msg(a.as_fd(), b"two", &[rd.as_fd(), wr.as_fd()]).unwrap();
    let got = unix::recv_msg(b.as_fd(), &mut buf, &mut []).unwrap();
    assert_eq!((got.fds, got.dropped_fds), (0, 2));
    assert_eq!(open_fds(), before);
}

#[test]
fn a_slot_left_filled_is_reset() {
    let _serial = serial();
    let (a, b) = unix::socketpair().unwrap();
    let (rd, _wr) = pipe();
    let before = open_fds();
    let mut fds = [Some(unix::seqpacket().unwrap()), None];
    assert_eq!(open_fds(), before + 1);
    unix::send_msg(a.as_fd(), b"none", &[]).unwrap();
    let got = unix::recv_msg(b.as_fd(), &mut [0u8; 8], &mut fds).unwrap();
    assert_eq!(got.fds, 0);
    assert!(fds.iter().all(Option::is_none));
    assert_eq!(open_fds(), before, "the old fd was closed");
    drop(rd);
}

#[test]
fn truncated_control_data_is_an_error_and_leaks_nothing() {
    let _serial = serial();
    let (a, b) = unix::socketpair().unwrap();
    let (rd, wr) = pipe();
    let before = open_fds();
    let mut buf = [0u8; 16];
    let mut fds = [None, None, None];

    // Room for two fds in the control buffer (a 16-byte header, then 8
    // bytes), three sent.
    unix::send_msg(a.as_fd(), b"three", &[rd.as_fd(), wr.as_fd(), rd.as_fd()]).unwrap();
    let mut control = [0u64; 3];
    let err = unix::recv_msg_with_control(b.as_fd(), &mut buf, &mut fds, &mut control);
    assert_eq!(err, Err(Errno::ENOBUFS));
    assert!(fds.iter().all(Option::is_none));
    assert_eq!(open_fds(), before);

    // A control buffer smaller than one header: the kernel installs nothing.
    unix::send_msg(a.as_fd(), b"one", &[rd.as_fd()]).unwrap();
    let mut control = [0u64; 1];
    let err = unix::recv_msg_with_control(b.as_fd(), &mut buf, &mut fds, &mut control);
    assert_eq!(err, Err(Errno::ENOBUFS));
    assert_eq!(open_fds(), before);

    // Far more than recv_msg has room for.
    let many: Vec<BorrowedFd<'_>> = (0..64).map(|_| rd.as_fd()).collect();
    unix::send_msg(a.as_fd(), b"many", &many).unwrap();
    assert_eq!(
        unix::recv_msg(b.as_fd(), &mut buf, &mut fds),
        Err(Errno::ENOBUFS)
    );
    assert_eq!(open_fds(), before);

    // RECV_MAX_FDS fits, even with the credentials message beside them.
    socket::setsockopt(b.as_fd(), SOL_SOCKET, SO_PASSCRED, &1i32).unwrap();
    unix::send_msg(a.as_fd(), b"max", &many[..RECV_MAX_FDS]).unwrap();
    let got = unix::recv_msg(b.as_fd(), &mut buf, &mut fds).unwrap();
    assert_eq!((got.fds, got.dropped_fds), (3, RECV_MAX_FDS - 3));
    assert_eq!(open_fds(), before + 3);
    drop(fds);
    assert_eq!(open_fds(), before);
}

#[test]
fn truncated_data_is_an_error_and_its_fds_are_closed() {
    let _serial = serial();
    let (a, b) = unix::socketpair().unwrap();
    let (rd, _wr) = pipe();
    let before = open_fds();
    unix::send_msg(a.as_fd(), b"/config_busy_poll_ack", &[rd.as_fd()]).unwrap();
    let mut small = [0u8; 8];
    let mut fds = [None];
    assert_eq!(
        unix::recv_msg(b.as_fd(), &mut small, &mut fds),
        Err(Errno::EMSGSIZE)
    );
    assert!(fds[0].is_none());
    assert_eq!(open_fds(), before);
    // The truncated message is gone; the next one is whole.
    unix::send_msg(a.as_fd(), b"/fin_ack", &[]).unwrap();
    let mut buf = [0u8; 128];
    let got = unix::recv_msg(b.as_fd(), &mut buf, &mut fds).unwrap();
    assert_eq!(&buf[..got.len], b"/fin_ack");
}

#[test]
fn credentials_and_several_rights_messages_in_one_receive() {
    let _serial = serial();
    let (a, b) = unix::socketpair().unwrap();
    // The receiver also gets SCM_CREDENTIALS, a control message without fds.
    socket::setsockopt(b.as_fd(), SOL_SOCKET, SO_PASSCRED, &1i32).unwrap();
    let (rd, wr) = pipe();
    let before = open_fds();

    // Two SCM_RIGHTS control messages in one sendmsg, laid out with
    // libc's CMSG_SPACE/CMSG_LEN.
    #[repr(C, align(8))]
    struct Control([u8; 64]);
    let mut control = Control([0; 64]);
    let space = unsafe_cmsg_space(4);
    // SAFETY: CMSG_LEN only computes.
    let len = unsafe { libc::CMSG_LEN(4) } as usize;
    for (i, fd) in [rd.as_raw(), wr.as_raw()].into_iter().enumerate() {
        let at = i * space;
        let c = &mut control.0[at..at + space];
        c[..8].copy_from_slice(&len.to_ne_bytes());
        c[8..12].copy_from_slice(&libc::SOL_SOCKET.to_ne_bytes());
        c[12..16].copy_from_slice(&libc::SCM_RIGHTS.to_ne_bytes());
        c[16..20].copy_from_slice(&fd.to_ne_bytes());
    }
    let data = *b"pair";
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut _,
        iov_len: data.len(),
    };
    // SAFETY: an all-zero msghdr is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = 2 * space;
    // SAFETY: `msg` points at live buffers.
    assert_eq!(unsafe { libc::sendmsg(a.as_raw(), &msg, 0) }, 4);

    let mut buf = [0u8; 16];
    let mut fds = [None, None, None];
    let got = unix::recv_msg(b.as_fd(), &mut buf, &mut fds).unwrap();
    assert_eq!(&buf[..got.len], b"pair");
    assert_eq!((got.fds, got.dropped_fds), (2, 0));
    let inos: Vec<u64> = fds[..2]
        .iter()
        .map(|f| fstat(f.as_ref().unwrap().as_fd()).st_ino)
        .collect();
    assert_eq!(inos, [fstat(rd.as_fd()).st_ino, fstat(wr.as_fd()).st_ino]);
    drop(fds);
    assert_eq!(open_fds(), before);
}

fn unsafe_cmsg_space(len: u32) -> usize {
    // SAFETY: CMSG_SPACE only computes.
    unsafe { libc::CMSG_SPACE(len) as usize }
}

#[test]
fn peer_credentials_are_ours() {
    let (a, b) = unix::socketpair().unwrap();
    for fd in [a.as_fd(), b.as_fd()] {
        let cred = unix::peer_cred(fd).unwrap();
        assert_eq!(cred.pid as u32, std::process::id());
        // SAFETY: getuid cannot fail.
        assert_eq!(cred.uid, unsafe { libc::getuid() });
        // SAFETY: getgid cannot fail.
        assert_eq!(cred.gid, unsafe { libc::getgid() });
    }
}

#[test]
fn a_receive_times_out_with_eagain() {
    let (a, _b) = unix::socketpair().unwrap();
    socket::set_recv_timeout(a.as_fd(), Some(Duration::from_millis(150))).unwrap();
    // rustix reads back what we set.
    // SAFETY: `a` stays open for the borrow.
    let std_fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(a.as_raw()) };
    let read_back =
        rustix::net::sockopt::socket_timeout(std_fd, rustix::net::sockopt::Timeout::Recv).unwrap();
    // The kernel keeps jiffies: it may round up by a tick.
    let read_back = read_back.unwrap();
    assert!(
        read_back >= Duration::from_millis(150) && read_back <= Duration::from_millis(161),
        "{read_back:?}"
    );
    let start = Instant::now();
    let err = unix::recv_msg(a.as_fd(), &mut [0u8; 8], &mut []).unwrap_err();
    let waited = start.elapsed();
    assert_eq!(err, Errno::EAGAIN);
    assert!(
        waited >= Duration::from_millis(140) && waited < Duration::from_secs(2),
        "waited {waited:?}"
    );
    // Zero means "return at once", not "forever".
    socket::set_recv_timeout(a.as_fd(), Some(Duration::ZERO)).unwrap();
    let start = Instant::now();
    assert_eq!(
        unix::recv_msg(a.as_fd(), &mut [0u8; 8], &mut []).unwrap_err(),
        Errno::EAGAIN
    );
    assert!(start.elapsed() < Duration::from_secs(1));
    socket::set_recv_timeout(a.as_fd(), None).unwrap();
    let read_back =
        rustix::net::sockopt::socket_timeout(std_fd, rustix::net::sockopt::Timeout::Recv).unwrap();
    assert_eq!(read_back, None);
    socket::set_send_timeout(a.as_fd(), Some(Duration::from_millis(1500))).unwrap();
    let read_back =
        rustix::net::sockopt::socket_timeout(std_fd, rustix::net::sockopt::Timeout::Send).unwrap();
    let read_back = read_back.unwrap();
    assert!(
        read_back >= Duration::from_millis(1500) && read_back <= Duration::from_millis(1511),
        "{read_back:?}"
    );
}

#[test]
fn a_closed_peer_reads_as_end_and_writes_as_epipe() {
    let (a, b) = unix::socketpair().unwrap();
    drop(b);
    assert_eq!(
        unix::recv_msg(a.as_fd(), &mut [0u8; 8], &mut []),
        Ok(unix::RecvMsg::default()),
        "0 bytes, no fds"
    );
    // MSG_NOSIGNAL: an error, not a SIGPIPE that kills the test.
    assert_eq!(unix::send_msg(a.as_fd(), b"/fin", &[]), Err(Errno::EPIPE));
}

#[test]
fn too_many_fds_to_send_is_einval() {
    let (a, _b) = unix::socketpair().unwrap();
    let fds: Vec<BorrowedFd<'_>> = (0..254).map(|_| a.as_fd()).collect();
    assert_eq!(unix::send_msg(a.as_fd(), b"x", &fds), Err(Errno::EINVAL));
}

#[test]
fn listen_accept_connect_over_a_socket_file() {
    let dir = TempDir::new("unix");
    let path = dir.path().join("afxdp.sock");
    let addr = UnixAddr::from_path(path.as_os_str().as_bytes()).unwrap();
    assert_eq!(addr.path(), path.as_os_str().as_bytes());

    assert_eq!(
        unix::connect_to(&addr).unwrap_err(),
        Errno::ENOENT,
        "nobody there yet"
    );
    let server = unix::listen_at(&addr, 4).unwrap();
    assert!(std::fs::metadata(&path).is_ok(), "the socket file exists");
    assert_eq!(
        unix::listen_at(&addr, 4).unwrap_err(),
        Errno::EADDRINUSE,
        "bind does not replace a file"
    );

    let client = unix::connect_to(&addr).unwrap();
    let conn = unix::accept(server.as_fd(), true).unwrap();
    // SAFETY: F_GETFL only reads flags.
    let fl = unsafe { libc::fcntl(conn.as_raw(), libc::F_GETFL) };
    // SAFETY: F_GETFD only reads flags.
    let fd_flags = unsafe { libc::fcntl(conn.as_raw(), libc::F_GETFD) };
    assert_eq!(fl & libc::O_NONBLOCK, libc::O_NONBLOCK);
    assert_eq!(fd_flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
    // Non-blocking: nothing to read yet.
    assert_eq!(
        unix::recv_msg(conn.as_fd(), &mut [0u8; 8], &mut []),
        Err(Errno::EAGAIN)
    );

    unix::send_msg(client.as_fd(), b"/connect,mypod", &[]).unwrap();
    let mut buf = [0u8; 64];
    let got = unix::recv_msg(conn.as_fd(), &mut buf, &mut []).unwrap();
    assert_eq!(&buf[..got.len], b"/connect,mypod");
    unix::send_msg(conn.as_fd(), b"/host_ok", &[]).unwrap();
    let got = unix::recv_msg(client.as_fd(), &mut buf, &mut []).unwrap();
    assert_eq!(&buf[..got.len], b"/host_ok");

    // SAFETY: getpid cannot fail.
    assert_eq!(unix::peer_cred(conn.as_fd()).unwrap().pid, unsafe {
        libc::getpid()
    });

    // libc agrees on what the kernel sees.
    let c_path = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: c_path is a valid C string.
    assert_eq!(unsafe { libc::access(c_path.as_ptr(), libc::F_OK) }, 0);
    drop((client, conn, server));
}

#[test]
fn paths_that_do_not_fit_are_refused() {
    assert!(
        UnixAddr::from_path(&[b'a'; 107]).is_ok(),
        "107 bytes and the NUL fit"
    );
    assert_eq!(UnixAddr::from_path(&[b'a'; 108]), Err(Errno::ENAMETOOLONG));
    assert_eq!(UnixAddr::from_path(&[b'a'; 4096]), Err(Errno::ENAMETOOLONG));
    assert_eq!(UnixAddr::from_path(b"/tmp/a\0b"), Err(Errno::EINVAL));
    assert_eq!(UnixAddr::from_path(b""), Err(Errno::EINVAL));
    // The longest path really binds.
    let dir = TempDir::new("u");
    let prefix = dir.path().as_os_str().as_bytes().len() + 1;
    let name = "n".repeat(107 - prefix);
    let path = dir.path().join(&name);
    assert_eq!(path.as_os_str().len(), 107);
    let addr = UnixAddr::from_path(path.as_os_str().as_bytes()).unwrap();
    let server = unix::listen_at(&addr, 1).unwrap();
    assert!(std::fs::metadata(&path).is_ok());
    drop(server);
}

#[test]
fn an_af_xdp_socket_is_recognised_and_a_pipe_is_not_a_socket() {
    let (rd, _wr) = pipe();
    assert_eq!(socket::domain(rd.as_fd()), Err(Errno::ENOTSOCK));
    assert_eq!(socket::socket_type(rd.as_fd()), Err(Errno::ENOTSOCK));
    if !privileged("an_af_xdp_socket_is_recognised_and_a_pipe_is_not_a_socket") {
        return;
    }
    let xsk = xsk::socket().unwrap();
    assert_eq!(socket::domain(xsk.as_fd()), Ok(AF_XDP));
    assert_eq!(socket::socket_type(xsk.as_fd()), Ok(SOCK_RAW));
    assert_eq!(socket::protocol(xsk.as_fd()), Ok(0));
    // SAFETY: `xsk` stays open for the borrow.
    let std_fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(xsk.as_raw()) };
    assert_eq!(
        rustix::net::sockopt::socket_domain(std_fd)
            .unwrap()
            .as_raw() as u16,
        AF_XDP
    );
}
