//! Who is on the other end of a loopback connection: the kernel's socket tables.
//!
//! The redirect listener accepts a callback only from a process of the user who runs the
//! broker. TCP carries no credentials, but the connecting socket is a row in
//! `/proc/net/tcp` (or `tcp6`, for an IPv4-mapped IPv6 socket) whose local address is the
//! peer's and whose remote address is ours, and that row names the uid that owns the socket.
//! The tables are readable by every user; nobody can forge a row.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

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

/// Reads the kernel's tables; blocking (`/proc` reads), so call it off the async workers.
pub fn owner(peer: SocketAddr, local: SocketAddr) -> Owner {
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

/// The broker's own uid, which a callback's socket must have.
pub fn own_uid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() }
}
