//! Who is on the other end of a loopback connection: the kernel's socket tables.
//!
//! The redirect listener accepts a callback only from a process of the user who runs the
//! broker. TCP carries no credentials, but the kernel knows the connecting socket: the one
//! whose local address is the peer's and whose remote address is ours, and the uid that
//! owns it. Any user may ask; nobody can forge the answer. Sesame asks `sock_diag` (netlink)
//! for exactly that socket, a hash lookup (about 12 µs); where netlink is unavailable (a
//! sandbox), it reads `/proc/net/tcp` and `tcp6`, whose every read walks the kernel's whole
//! table (5 ms on an idle machine, 40 ms with 4 000 sockets: docs/reliability.md).

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const TABLES: [&str; 2] = ["/proc/net/tcp", "/proc/net/tcp6"];

/// Who owns the connecting socket of the connection `peer` → `local` (as our side of an
/// accepted connection sees it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Uid(u32),
    /// No live socket has that 4-tuple (the peer closed already, a table was unreadable):
    /// nobody can vouch for the request, so it is treated as another user's.
    Unknown,
}

/// Asks the kernel; blocking (a netlink round trip or `/proc` reads), so call it off the
/// async workers.
pub fn owner(peer: SocketAddr, local: SocketAddr) -> Owner {
    match sock_diag(peer, local) {
        Ok(owner) => owner,
        Err(e) => {
            tracing::debug!(error = %e, "sock_diag unavailable; reading /proc/net/tcp");
            from_tables(peer, local)
        }
    }
}

pub(super) fn from_tables(peer: SocketAddr, local: SocketAddr) -> Owner {
    for table in TABLES {
        let Ok(file) = std::fs::File::open(table) else { continue };
        let lines = BufReader::new(file).lines().map_while(Result::ok);
        if let Some(uid) = find_owner(lines, peer, local) {
            return Owner::Uid(uid);
        }
    }
    Owner::Unknown
}

/// The uid of the row whose local address is `peer` and whose remote address is `local`.
/// Rows without an inode are sockets no process holds any more (closed, `TIME_WAIT`): their
/// uid column says 0 whoever opened them, so they never count.
pub(super) fn find_owner(
    lines: impl Iterator<Item = String>,
    peer: SocketAddr,
    local: SocketAddr,
) -> Option<u32> {
    lines.skip(1).find_map(|line| {
        let row = Row::parse(&line)?;
        (row.local == peer && row.remote == local && row.inode != 0).then_some(row.uid)
    })
}

/// One row of `/proc/net/tcp{,6}`:
/// `sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …`
struct Row {
    local: SocketAddr,
    remote: SocketAddr,
    uid: u32,
    inode: u64,
}

impl Row {
    fn parse(line: &str) -> Option<Row> {
        let mut fields = line.split_whitespace();
        let local = parse_addr(fields.nth(1)?)?;
        let remote = parse_addr(fields.next()?)?;
        // st, queues, timer, retransmits, then uid; timeout, then inode.
        let uid = fields.nth(4)?.parse().ok()?;
        let inode = fields.nth(1)?.parse().ok()?;
        Some(Row { local, remote, uid, inode })
    }
}

/// `0100007F:1F90` (tcp) or 32 hex digits and a port (tcp6). The kernel prints each 32-bit
/// word of the address as a native-endian number and the port in host order. IPv4-mapped
/// IPv6 addresses come back as IPv4, as the listener (bound to 127.0.0.1) sees its peers.
fn parse_addr(field: &str) -> Option<SocketAddr> {
    let (addr, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Vec<[u8; 4]> = (0..addr.len() / 8)
        .map(|i| addr.get(i * 8..i * 8 + 8).and_then(|w| u32::from_str_radix(w, 16).ok()))
        .map(|w| w.map(u32::to_ne_bytes))
        .collect::<Option<_>>()?;
    let ip = match (addr.len(), words.as_slice()) {
        (8, [w]) => IpAddr::V4(Ipv4Addr::from(*w)),
        (32, [a, b, c, d]) => {
            let mut bytes = [0u8; 16];
            for (i, w) in [a, b, c, d].into_iter().enumerate() {
                bytes[i * 4..i * 4 + 4].copy_from_slice(w);
            }
            let v6 = Ipv6Addr::from(bytes);
            v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

const NETLINK_SOCK_DIAG: libc::c_int = 4;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const TCP_LISTEN: u8 = 10;
/// The request: `nlmsghdr` (16 bytes) + `inet_diag_req_v2` (8 + `inet_diag_sockid`, 48).
const REQUEST_LEN: usize = 16 + 8 + 48;
/// The answer's `inet_diag_msg`, after its `nlmsghdr`: family, state, …, `id` at 4, `uid`
/// at 64, `inode` at 68.
const MSG_LEN: usize = 72;

/// One `SOCK_DIAG_BY_FAMILY` request (not a dump) for the socket bound to `peer` and
/// connected to `local`. `Err` only when netlink itself fails; "no such socket" is `Unknown`.
pub(super) fn sock_diag(peer: SocketAddr, local: SocketAddr) -> std::io::Result<Owner> {
    let (SocketAddr::V4(peer4), SocketAddr::V4(local4)) = (peer, local) else {
        return Ok(Owner::Unknown); // the listener is IPv4; its peers are too
    };
    // SAFETY: socket(2) with constant arguments; the fd is owned (and closed) by `OwnedFd`.
    let fd = unsafe {
        libc::socket(libc::AF_NETLINK, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, NETLINK_SOCK_DIAG)
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let timeout = libc::timeval { tv_sec: 1, tv_usec: 0 };
    // SAFETY: setsockopt(2) reads a `timeval` we own, with its size.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&timeout as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    let mut req = [0u8; REQUEST_LEN];
    req[0..4].copy_from_slice(&(REQUEST_LEN as u32).to_ne_bytes());
    req[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    req[6..8].copy_from_slice(&(libc::NLM_F_REQUEST as u16).to_ne_bytes());
    req[8..12].copy_from_slice(&1u32.to_ne_bytes()); // seq
    req[16] = libc::AF_INET as u8;
    req[17] = libc::IPPROTO_TCP as u8;
    req[20..24].copy_from_slice(&u32::MAX.to_ne_bytes()); // every state
    let id = &mut req[24..];
    id[0..2].copy_from_slice(&peer4.port().to_be_bytes());
    id[2..4].copy_from_slice(&local4.port().to_be_bytes());
    id[4..8].copy_from_slice(&peer4.ip().octets());
    id[20..24].copy_from_slice(&local4.ip().octets());
    id[40..48].copy_from_slice(&[0xff; 8]); // INET_DIAG_NOCOOKIE
                                            // SAFETY: send(2) of a buffer we own, with its length, on a netlink socket whose default
                                            // destination is the kernel.
    let sent = unsafe { libc::send(fd.as_raw_fd(), req.as_ptr().cast(), req.len(), 0) };
    if sent < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut buf = [0u8; 8192];
    // SAFETY: recv(2) into a buffer we own, at most its length.
    let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(parse_diag_answer(&buf[..n as usize], peer, local))
}

/// The kernel's answer: an `inet_diag_msg`, or an error (`ENOENT`: no such socket). A
/// lookup may fall back to a listening socket on the peer's address; only the connected
/// socket with exactly the asked-for addresses, still held by a process, counts.
pub(super) fn parse_diag_answer(answer: &[u8], peer: SocketAddr, local: SocketAddr) -> Owner {
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(answer.get(at..at + 4)?.try_into().ok()?))
    };
    let found = || -> Option<u32> {
        let kind = u16::from_ne_bytes(answer.get(4..6)?.try_into().ok()?);
        // NLMSG_ERROR (ENOENT: no such socket) or anything unexpected.
        if kind != SOCK_DIAG_BY_FAMILY || answer.len() < 16 + MSG_LEN {
            return None;
        }
        let msg = &answer[16..16 + MSG_LEN];
        let port = |at: usize| u16::from_be_bytes([msg[at], msg[at + 1]]);
        let addr = |at: usize| -> IpAddr {
            let bytes: [u8; 16] = msg[at..at + 16].try_into().unwrap_or([0; 16]);
            if msg[0] == libc::AF_INET as u8 {
                IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
            } else {
                let v6 = Ipv6Addr::from(bytes);
                v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
            }
        };
        let (src, dst) = (SocketAddr::new(addr(8), port(4)), SocketAddr::new(addr(24), port(6)));
        let (uid, inode) = (word(16 + 64)?, word(16 + 68)?);
        (msg[1] != TCP_LISTEN && src == peer && dst == local && inode != 0).then_some(uid)
    };
    found().map_or(Owner::Unknown, Owner::Uid)
}

/// Who holds a listening socket on `port`, for the error when a pinned redirect port is
/// busy: the socket's inode from `/proc/net/tcp{,6}`, then the process with a descriptor
/// on it (`` `socat` (pid 12) ``); only its uid when that process cannot be inspected (another
/// user's). `None` when the kernel's tables name no such socket.
pub fn port_holder(port: u16) -> Option<String> {
    let row = TABLES.iter().find_map(|table| {
        let file = std::fs::File::open(table).ok()?;
        BufReader::new(file).lines().map_while(Result::ok).skip(1).find_map(|line| {
            let row = Row::parse(&line)?;
            // A listener's remote address is all zeros.
            (row.local.port() == port && row.remote.port() == 0 && row.inode != 0).then_some(row)
        })
    })?;
    let target = format!("socket:[{}]", row.inode);
    for process in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = process.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(process.path().join("fd")) else { continue };
        if fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == target.as_str()))
        {
            let comm = std::fs::read_to_string(process.path().join("comm")).unwrap_or_default();
            // The process names itself: no control characters into our messages.
            let name: String = comm.trim().chars().filter(|c| !c.is_control()).collect();
            return Some(format!("`{name}` (pid {pid})"));
        }
    }
    Some(format!("a program of uid {} that Sesame may not inspect", row.uid))
}

/// The broker's own uid, which a callback's socket must have.
pub fn own_uid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() }
}
