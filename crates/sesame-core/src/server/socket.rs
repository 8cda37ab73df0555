//! The socket file: in a directory only we can enter (0700), replaced when stale, refused
//! when another broker is live on it, removed when we stop.

use std::io::ErrorKind as IoKind;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::net::UnixListener;

use super::peer::own_uid;

#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("another Sesame broker is already running on {0}; use it, or stop it first")]
    AlreadyRunning(PathBuf),
    #[error(
        "{path} exists and is not a socket; move it away or set SESAME_SOCKET to another path"
    )]
    NotASocket { path: PathBuf },
    #[error("the socket directory {path} belongs to uid {owner}, not to you; remove it or set SESAME_SOCKET")]
    ForeignDirectory { path: PathBuf, owner: u32 },
    #[error("cannot prepare the socket {path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
}

/// Removes the socket file when dropped (clean shutdown).
pub struct SocketGuard {
    path: PathBuf,
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `AlreadyRunning` when a broker answers on `path`; a stale or missing socket is fine.
pub fn check_free(path: &Path) -> Result<(), SocketError> {
    let is_socket = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
    if is_socket && std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(SocketError::AlreadyRunning(path.to_owned()));
    }
    Ok(())
}

pub fn bind(path: &Path) -> Result<(UnixListener, SocketGuard), SocketError> {
    let io = |cause| SocketError::Io { path: path.to_owned(), cause };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        private_dir(dir)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            match std::os::unix::net::UnixStream::connect(path) {
                Ok(_) => return Err(SocketError::AlreadyRunning(path.to_owned())),
                // Nobody listens: a broker died without cleaning up.
                Err(e) if matches!(e.kind(), IoKind::ConnectionRefused | IoKind::NotFound) => {
                    tracing::info!(path = %path.display(), "replacing a stale socket");
                    std::fs::remove_file(path).map_err(io)?;
                }
                Err(e) => return Err(io(e)),
            }
        }
        Ok(_) => return Err(SocketError::NotASocket { path: path.to_owned() }),
        Err(e) if e.kind() == IoKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let listener = UnixListener::bind(path).map_err(io)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    Ok((listener, SocketGuard { path: path.to_owned() }))
}

/// Serves a socket bound by someone else (systemd), already checked.
pub fn adopt(
    path: &Path,
    listener: std::os::unix::net::UnixListener,
) -> Result<UnixListener, SocketError> {
    let io = |cause| SocketError::Io { path: path.to_owned(), cause };
    listener.set_nonblocking(true).map_err(io)?;
    UnixListener::from_std(listener).map_err(io)
}

/// Creates `dir` as 0700, or tightens an existing one of ours to 0700.
fn private_dir(dir: &Path) -> Result<(), SocketError> {
    let io = |cause| SocketError::Io { path: dir.to_owned(), cause };
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io)?;
    let meta = std::fs::metadata(dir).map_err(io)?;
    if meta.uid() != own_uid() {
        return Err(SocketError::ForeignDirectory { path: dir.to_owned(), owner: meta.uid() });
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sesame-sock-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[tokio::test]
    async fn private_directory_stale_and_live_sockets() {
        let dir = temp_dir("a");
        let path = dir.join("sub/sesame.sock");
        let (listener, guard) = bind(&path).unwrap();
        let mode = std::fs::metadata(path.parent().unwrap()).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert!(matches!(bind(&path), Err(SocketError::AlreadyRunning(_))));
        // Simulate a crash: the listener is gone, the file stays.
        drop(listener);
        std::mem::forget(guard);
        let (_listener, guard) = bind(&path).expect("a stale socket is replaced");
        drop(guard);
        assert!(!path.exists(), "the guard removes the socket");
        std::fs::write(&path, b"x").unwrap();
        assert!(matches!(bind(&path), Err(SocketError::NotASocket { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn loose_directory_is_tightened() {
        let dir = temp_dir("b");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let _ = bind(&dir.join("s.sock")).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
