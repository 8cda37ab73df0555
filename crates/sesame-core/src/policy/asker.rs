//! Whether the asker of a waiting token request is still there to take the answer. A
//! question outlives no asker: a request's wait ends when its connection is hung up (closed
//! in both directions, so no answer could be read) or when the process the request is
//! attributed to exits (for the `sesame` CLI: the program that ran it).
//!
//! A half-closed connection (the client shut down its writing side, as `socat` and
//! `nc -N` do at the end of their input) still reads its answer, so it keeps waiting; so
//! does one that sends more requests meanwhile (they are answered in order, later).
//!
//! Nothing is watched until a request has to wait for the user: a request a grant covers
//! costs no descriptor and no system call here.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex, Weak};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::caller::ProcessRef;
use crate::identity;

/// Who a request waits for: the connection it came on and the process it was made for.
#[derive(Debug, Clone, Copy)]
pub struct Asker<'a> {
    connection: Option<BorrowedFd<'a>>,
    process: Option<ProcessRef>,
}

/// Why a waiting request has nobody left to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    /// Its connection was closed: nobody can read an answer.
    HungUp,
    /// The process the request was made for exited.
    Exited { pid: i32 },
}

impl<'a> Asker<'a> {
    /// A request on `connection`, attributed to `process`.
    pub fn new(connection: BorrowedFd<'a>, process: ProcessRef) -> Asker<'a> {
        Asker { connection: Some(connection), process: Some(process) }
    }

    /// Nothing to watch (a caller inside this process, tests): it never goes away.
    pub fn unwatched() -> Asker<'static> {
        Asker { connection: None, process: None }
    }
}

/// A pidfd registered with the runtime, shared by every waiting request of one process (a
/// program with 200 requests waiting holds one, not 200).
struct ExitFd {
    pid: i32,
    fd: AsyncFd<OwnedFd>,
}

/// The exit watches in use, by process.
#[derive(Default)]
pub struct ExitWatches {
    /// By (pid, start time): a [`ProcessRef`]'s parts.
    open: Mutex<HashMap<(i32, u64), Weak<ExitFd>>>,
}

impl ExitWatches {
    /// The process's exit watch: `Ok(None)` if the kernel cannot give one, `Err` if it is gone.
    fn of(&self, process: ProcessRef) -> Result<Option<Arc<ExitFd>>, Gone> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.retain(|_, w| w.strong_count() > 0);
        let key = (process.pid, process.start_time);
        if let Some(shared) = open.get(&key).and_then(Weak::upgrade) {
            return Ok(Some(shared));
        }
        let gone = Gone::Exited { pid: process.pid };
        let fd = match identity::pidfd_of(process.pid, process.start_time) {
            Ok(Some(fd)) => fd,
            Ok(None) => return Ok(None),
            Err(identity::IdentityError::Gone { .. }) => return Err(gone),
            Err(e) => {
                tracing::debug!(pid = process.pid, error = %e, "cannot watch the asker's exit");
                return Ok(None);
            }
        };
        let fd = match registered(fd, Interest::READABLE) {
            Ok(fd) => fd,
            Err(e) => {
                tracing::warn!(pid = process.pid, error = %e, "cannot watch the asker's exit");
                return Ok(None);
            }
        };
        let shared = Arc::new(ExitFd { pid: process.pid, fd });
        open.insert(key, Arc::downgrade(&shared));
        Ok(Some(shared))
    }
}

/// A request's asker, watched while the request waits.
pub struct Watch {
    /// A duplicate of the connection's descriptor (the connection's own is registered with
    /// the runtime for reading, and one descriptor cannot be registered twice), registered
    /// for nothing but what epoll always reports: a hang-up or an error. Not for reading: a
    /// half-close or a pipelined request would wake it, and a half-close for good (the
    /// runtime keeps "read closed" set), which would make the wait spin.
    connection: Option<AsyncFd<OwnedFd>>,
    exit: Option<Arc<ExitFd>>,
}

impl Watch {
    /// Starts watching `asker`; `Err` when it is gone already. What cannot be watched (no
    /// descriptor left, no pidfds) is not, and is logged.
    pub fn start(asker: Asker<'_>, exits: &ExitWatches) -> Result<Watch, Gone> {
        let exit = match asker.process {
            Some(process) => exits.of(process)?,
            None => None,
        };
        let mut watch = Watch { connection: None, exit };
        if let Some(connection) = asker.connection {
            if hung_up(connection) {
                return Err(Gone::HungUp);
            }
            let registered = |fd| registered(fd, Interest::PRIORITY);
            match connection.try_clone_to_owned().and_then(registered) {
                Ok(fd) => watch.connection = Some(fd),
                Err(e) => tracing::warn!(error = %e, "cannot watch a waiting request's connection"),
            }
        }
        watch.gone_now().map_or(Ok(watch), Err)
    }

    /// Whether the asker is gone at this moment (no waiting).
    pub fn gone_now(&self) -> Option<Gone> {
        if self.connection.as_ref().is_some_and(|c| hung_up(c.get_ref().as_fd())) {
            return Some(Gone::HungUp);
        }
        let exited = self.exit.as_ref().filter(|e| readable_now(e.fd.get_ref().as_fd()));
        exited.map(|e| Gone::Exited { pid: e.pid })
    }

    /// Completes when the asker is gone; never, if nothing could be watched.
    pub async fn gone(&self) -> Gone {
        tokio::select! {
            // A program that closes its connection and then exits did the former first.
            biased;
            () = wait_hung_up(self.connection.as_ref()) => Gone::HungUp,
            pid = wait_exited(self.exit.as_deref()) => Gone::Exited { pid },
        }
    }
}

async fn wait_hung_up(connection: Option<&AsyncFd<OwnedFd>>) {
    let Some(connection) = connection else { return std::future::pending().await };
    loop {
        // Only a hang-up (or an error, or out-of-band data, which Unix sockets do not have)
        // wakes this; it is checked for what it is.
        let Ok(mut ready) = connection.ready(Interest::PRIORITY).await else {
            return std::future::pending().await;
        };
        if hung_up(connection.get_ref().as_fd()) {
            return;
        }
        ready.clear_ready();
    }
}

async fn wait_exited(exit: Option<&ExitFd>) -> i32 {
    let Some(exit) = exit else { return std::future::pending().await };
    // A pidfd becomes readable when its process exits.
    match exit.fd.readable().await {
        Ok(_) => exit.pid,
        Err(_) => std::future::pending().await,
    }
}

/// `fd` registered with the runtime for `interest`.
fn registered(fd: OwnedFd, interest: Interest) -> std::io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: an `OwnedFd` is an open descriptor that stays the same one for as long as it
    // lives, and the `AsyncFd` owns it from here on.
    unsafe { AsyncFd::register_with_interest(fd, interest) }.map_err(Into::into)
}

/// The kernel's poll flags for `fd` at this instant.
fn poll_now(fd: BorrowedFd<'_>, events: libc::c_short) -> libc::c_short {
    let mut p = libc::pollfd { fd: fd.as_raw_fd(), events, revents: 0 };
    // SAFETY: one valid pollfd, zero timeout: poll only fills in `revents`.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    if n == 1 {
        p.revents
    } else {
        0
    }
}

/// Closed in both directions (POLLHUP), or failed: no answer can reach the peer. A peer
/// that only shut down its writing side is not hung up (POLLRDHUP alone).
fn hung_up(connection: BorrowedFd<'_>) -> bool {
    poll_now(connection, libc::POLLIN | libc::POLLRDHUP) & (libc::POLLHUP | libc::POLLERR) != 0
}

fn readable_now(fd: BorrowedFd<'_>) -> bool {
    poll_now(fd, libc::POLLIN) & libc::POLLIN != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Shutdown;
    use std::os::unix::net::UnixStream;
    use std::time::Duration;

    fn me() -> ProcessRef {
        let pid = std::process::id() as i32;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let start = stat.rsplit(')').next().unwrap().split_whitespace().nth(19).unwrap();
        ProcessRef { pid, start_time: start.parse().unwrap() }
    }

    async fn still_waiting(watch: &Watch) -> bool {
        tokio::time::timeout(Duration::from_millis(100), watch.gone()).await.is_err()
    }

    #[tokio::test]
    async fn a_hang_up_ends_the_wait_and_a_half_close_or_more_data_do_not() {
        let exits = ExitWatches::default();
        let (ours, theirs) = UnixStream::pair().unwrap();
        let watch = Watch::start(Asker::new(ours.as_fd(), me()), &exits).unwrap();
        assert!(still_waiting(&watch).await);
        std::io::Write::write_all(&mut &theirs, b"{\"next\": 1}\n").unwrap();
        assert!(still_waiting(&watch).await, "a pipelined request is not a hang-up");
        theirs.shutdown(Shutdown::Write).unwrap();
        // (On this one-thread runtime a wait that spun would never let the timeout fire.)
        assert!(still_waiting(&watch).await, "a half-closed peer still reads its answer");
        assert_eq!(watch.gone_now(), None);
        drop(theirs);
        let gone = tokio::time::timeout(Duration::from_secs(5), watch.gone()).await;
        assert_eq!(gone.unwrap(), Gone::HungUp);
        assert_eq!(watch.gone_now(), Some(Gone::HungUp));
        // The data is still there for the connection's own reader.
        let mut line = String::new();
        std::io::Read::read_to_string(&mut &ours, &mut line).unwrap();
        assert_eq!(line, "{\"next\": 1}\n");
        // Gone before the watch starts: said at once.
        assert!(matches!(Watch::start(Asker::new(ours.as_fd(), me()), &exits), Err(Gone::HungUp)));
    }

    #[tokio::test]
    async fn the_exit_of_the_process_ends_the_wait_and_one_pidfd_serves_a_process() {
        let exits = ExitWatches::default();
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let start = stat.rsplit(')').next().unwrap().split_whitespace().nth(19).unwrap();
        let process = ProcessRef { pid, start_time: start.parse().unwrap() };
        let (ours, _theirs) = UnixStream::pair().unwrap();
        let a = Watch::start(Asker::new(ours.as_fd(), process), &exits).unwrap();
        let b = Watch::start(Asker::new(ours.as_fd(), process), &exits).unwrap();
        let (fa, fb) = (a.exit.as_ref().unwrap(), b.exit.as_ref().unwrap());
        assert!(Arc::ptr_eq(fa, fb), "one pidfd per process");
        assert!(still_waiting(&a).await);
        child.kill().unwrap();
        let (ga, gb) = tokio::join!(a.gone(), b.gone());
        assert_eq!((ga, gb), (Gone::Exited { pid }, Gone::Exited { pid }));
        child.wait().unwrap();
        assert!(matches!(
            Watch::start(Asker::new(ours.as_fd(), process), &exits),
            Err(Gone::Exited { .. })
        ));
        // Another process at that pid (or none) is not the one that asked.
        let reused = ProcessRef { pid: me().pid, start_time: me().start_time + 1 };
        assert!(matches!(
            Watch::start(Asker { connection: None, process: Some(reused) }, &exits),
            Err(Gone::Exited { .. })
        ));
    }

    #[tokio::test]
    async fn nothing_to_watch_never_goes() {
        let watch = Watch::start(Asker::unwatched(), &ExitWatches::default()).unwrap();
        assert!(still_waiting(&watch).await);
        assert_eq!(watch.gone_now(), None);
    }
}
