//! systemd's two protocols for a service, written by hand (they are a few lines each):
//! socket activation (`LISTEN_PID`/`LISTEN_FDS`, the socket on fd 3; sd_listen_fds(3)) and
//! readiness (`READY=1` sent to `$NOTIFY_SOCKET`; sd_notify(3)). Without these variables the
//! daemon binds its socket itself, as always.
//!
//! An inherited socket is served only if it is what the broker would have bound: a listening
//! Unix stream socket at the expected path, in a directory only we can enter. Anything else
//! is an error that says which unit setting to fix, never a socket served as it is.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{SocketAddr, UnixDatagram, UnixListener};
use std::path::{Path, PathBuf};

use super::peer::own_uid;

/// The first passed file descriptor (`SD_LISTEN_FDS_START`).
const LISTEN_FDS_START: RawFd = 3;

#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    #[error("LISTEN_FDS is set for process {listen_pid}, not for this one ({ours}); unset LISTEN_FDS and LISTEN_PID to let `sesame daemon` bind its socket itself")]
    NotOurs { listen_pid: String, ours: u32 },
    #[error(
        "systemd passed {0} file descriptors; sesame.socket must have exactly one ListenStream="
    )]
    FdCount(String),
    #[error("the socket systemd passed (fd 3) is unusable: {0}; check sesame.socket")]
    Unusable(String),
    #[error("systemd's socket is at {got}, but Sesame's socket is {expected}; set ListenStream=%t/sesame/sesame.sock in sesame.socket (or SESAME_SOCKET to the same path)")]
    WrongPath { got: String, expected: PathBuf },
    #[error("the socket's directory {dir} is open to others (mode {mode:o}, owner uid {owner}); set DirectoryMode=0700 in sesame.socket and remove the directory once")]
    LooseDirectory { dir: PathBuf, mode: u32, owner: u32 },
}

/// What systemd told this process in its environment, taken out of it so that the processes
/// the broker starts (the refresh helper, a browser) do not think it is theirs.
#[derive(Debug, Default)]
pub struct Systemd {
    listen: Option<(String, String)>,
    notify: Option<OsString>,
}

impl Systemd {
    /// Reads and removes `LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES` and `NOTIFY_SOCKET`.
    /// Call it before any other thread runs (the environment is process-wide).
    pub fn take_from_env() -> Systemd {
        let var = |k| std::env::var_os(k).filter(|v| !v.is_empty());
        let listen = match (var("LISTEN_PID"), var("LISTEN_FDS")) {
            (Some(pid), Some(fds)) => {
                Some((pid.to_string_lossy().into_owned(), fds.to_string_lossy().into_owned()))
            }
            _ => None,
        };
        let notify = var("NOTIFY_SOCKET");
        for k in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "NOTIFY_SOCKET"] {
            std::env::remove_var(k);
        }
        Systemd { listen, notify }
    }

    /// The socket systemd passed, checked; `None` when it passed none.
    pub fn listener(&mut self, expected: &Path) -> Result<Option<UnixListener>, ActivationError> {
        let Some((pid, fds)) = self.listen.take() else { return Ok(None) };
        if pid.trim().parse::<u32>().ok() != Some(std::process::id()) {
            return Err(ActivationError::NotOurs { listen_pid: pid, ours: std::process::id() });
        }
        if fds.trim() != "1" {
            return Err(ActivationError::FdCount(fds));
        }
        let fd = take_fd(LISTEN_FDS_START)?;
        check_listening_stream(&fd)?;
        let listener = UnixListener::from(fd);
        let addr = listener.local_addr().map_err(|e| ActivationError::Unusable(e.to_string()))?;
        if addr.as_pathname() != Some(expected) {
            let got = match addr.as_pathname() {
                Some(p) => p.display().to_string(),
                None => "no path (an abstract or unnamed socket)".into(),
            };
            return Err(ActivationError::WrongPath { got, expected: expected.to_owned() });
        }
        let dir = expected.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let meta = std::fs::metadata(dir).map_err(|e| ActivationError::Unusable(e.to_string()))?;
        if meta.uid() != own_uid() || meta.mode() & 0o077 != 0 {
            return Err(ActivationError::LooseDirectory {
                dir: dir.to_owned(),
                mode: meta.mode() & 0o7777,
                owner: meta.uid(),
            });
        }
        Ok(Some(listener))
    }

    /// Sends `state` (e.g. `READY=1`) to systemd; `Ok(false)` when not started by it.
    pub fn notify(&self, state: &str) -> std::io::Result<bool> {
        let Some(target) = &self.notify else { return Ok(false) };
        let socket = UnixDatagram::unbound()?;
        let bytes = target.as_bytes();
        let addr = match bytes.strip_prefix(b"@") {
            // Abstract addresses are written with a leading `@` for the NUL byte.
            Some(name) => SocketAddr::from_abstract_name(name)?,
            None if bytes.starts_with(b"/") => SocketAddr::from_pathname(Path::new(target))?,
            None => {
                return Err(std::io::Error::other(format!(
                    "NOTIFY_SOCKET={} is neither a path nor an abstract (@) address",
                    target.to_string_lossy()
                )))
            }
        };
        socket.send_to_addr(state.as_bytes(), &addr)?;
        Ok(true)
    }
}

/// Takes ownership of an inherited descriptor, closed on exec from now on.
fn take_fd(fd: RawFd) -> Result<OwnedFd, ActivationError> {
    // SAFETY: fcntl on an int reads no memory of ours; -1 means fd is not open.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags < 0 {
        return Err(ActivationError::Unusable(std::io::Error::last_os_error().to_string()));
    }
    // SAFETY: as above; systemd passes the descriptor without FD_CLOEXEC.
    unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) };
    // SAFETY: fd is open (checked above), and LISTEN_FDS says it is ours alone: nothing else
    // in this process owns or closes it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn check_listening_stream(fd: &OwnedFd) -> Result<(), ActivationError> {
    let domain = sockopt(fd, libc::SO_DOMAIN)?;
    let kind = sockopt(fd, libc::SO_TYPE)?;
    let listening = sockopt(fd, libc::SO_ACCEPTCONN)?;
    if domain != libc::AF_UNIX || kind != libc::SOCK_STREAM || listening == 0 {
        return Err(ActivationError::Unusable(format!(
            "it is not a listening Unix stream socket (domain {domain}, type {kind}, listening {listening}); use ListenStream= with a path"
        )));
    }
    Ok(())
}

fn sockopt(fd: &OwnedFd, name: libc::c_int) -> Result<libc::c_int, ActivationError> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: value and len are valid for writes of the sizes given; fd is open.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        return Err(ActivationError::Unusable(format!("it is not a socket ({e})")));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_started_by_systemd_is_no_listener_and_no_notification() {
        let mut none = Systemd::default();
        assert!(none.listener(Path::new("/x/sesame.sock")).unwrap().is_none());
        assert!(!none.notify("READY=1").unwrap());
    }

    #[test]
    fn fds_for_another_process_or_several_are_refused() {
        let mut other = Systemd { listen: Some(("1".into(), "1".into())), notify: None };
        let e = other.listener(Path::new("/x/s")).unwrap_err();
        assert!(matches!(e, ActivationError::NotOurs { .. }), "{e}");
        let ours = std::process::id().to_string();
        let mut two = Systemd { listen: Some((ours, "2".into())), notify: None };
        assert!(matches!(two.listener(Path::new("/x/s")), Err(ActivationError::FdCount(_))));
    }

    #[test]
    fn readiness_reaches_a_path_and_an_abstract_socket() {
        let dir = std::env::temp_dir().join(format!("sesame-notify-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let by_path = UnixDatagram::bind(&path).unwrap();
        let name = format!("sesame-notify-test-{}", std::process::id());
        let by_name =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap();
        for (target, socket) in
            [(path.clone().into_os_string(), &by_path), (format!("@{name}").into(), &by_name)]
        {
            let systemd = Systemd { listen: None, notify: Some(target) };
            assert!(systemd.notify("READY=1").unwrap());
            let mut buf = [0u8; 64];
            let n = socket.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"READY=1");
        }
        let odd = Systemd { listen: None, notify: Some("vsock:2:9".into()) };
        assert!(odd.notify("READY=1").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
