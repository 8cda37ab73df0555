//! Who is on the other end of a connection, as the kernel says: `SO_PEERCRED` (uid, pid)
//! and, on Linux 6.5+, `SO_PEERPIDFD` — a handle on the very process that connected, so a
//! pid reused after it exits cannot be mistaken for it.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tokio::net::UnixStream;

/// `SO_PEERPIDFD` from `<asm/socket.h>` (same value on x86, arm and riscv).
const SO_PEERPIDFD: libc::c_int = 77;

#[derive(Debug)]
pub struct Peer {
    pub uid: u32,
    pub pid: Option<i32>,
    /// `None` on kernels before 6.5; identity then opens a pidfd itself (a smaller guard).
    pub pidfd: Option<OwnedFd>,
}

pub fn peer_of(stream: &UnixStream) -> std::io::Result<Peer> {
    let cred = stream.peer_cred()?;
    Ok(Peer { uid: cred.uid(), pid: cred.pid(), pidfd: peer_pidfd(stream) })
}

fn peer_pidfd(stream: &UnixStream) -> Option<OwnedFd> {
    let mut fd: libc::c_int = -1;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `fd`, a c_int we own.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_PEERPIDFD,
            (&mut fd as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    // SAFETY: on success the kernel gave us a new descriptor that nobody else owns.
    (rc == 0 && fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

pub fn own_uid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_peer_is_ourselves() {
        let (a, _b) = UnixStream::pair().unwrap();
        let peer = peer_of(&a).unwrap();
        assert_eq!(peer.uid, own_uid());
        assert_eq!(peer.pid, Some(std::process::id() as i32));
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        let mut v =
            release.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse::<u32>().ok());
        if (v.next().unwrap_or(0), v.next().unwrap_or(0)) >= (6, 5) {
            assert!(peer.pidfd.is_some(), "SO_PEERPIDFD on Linux {release}");
        }
    }
}
