//! Who is on the other end of a connection, as the kernel says (`SO_PEERCRED`).

use tokio::net::UnixStream;

#[derive(Debug, Clone, Copy)]
pub struct Peer {
    pub uid: u32,
    pub pid: Option<i32>,
}

pub fn peer_of(stream: &UnixStream) -> std::io::Result<Peer> {
    let cred = stream.peer_cred()?;
    Ok(Peer { uid: cred.uid(), pid: cred.pid() })
}

pub fn own_uid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() }
}
