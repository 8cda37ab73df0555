//! Hosting one broker: config, data directory, database, keyring, the crash-safe refresh
//! helper and the socket, in that order. `sesame daemon` and the desktop app both start
//! through here, so there is one way to be "the" broker for a user.

use std::ffi::OsString;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixListener;

use crate::broker::Broker;
use crate::config::{Config, ConfigError};
use crate::db::Db;
use crate::error::BrokerError;
use crate::keyring::{Keyring, SecretServiceStore};
use crate::paths::Paths;
use crate::rotation::Rotation;
use crate::server::socket::{self, SocketError, SocketGuard};

/// A keyring call that takes longer is treated as "keyring unavailable" (a locked keyring
/// may be waiting on a password prompt nobody sees).
pub(crate) const KEYRING_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Another broker (a `sesame daemon`, or the app) serves this user already.
    #[error(transparent)]
    Socket(#[from] SocketError),
    #[error("cannot create the data directory {}: {cause}; check its permissions or set SESAME_DATA_DIR", path.display())]
    DataDir { path: PathBuf, cause: std::io::Error },
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

impl HostError {
    /// True when a broker already serves the socket: the caller should use that one.
    pub fn already_running(&self) -> bool {
        matches!(self, HostError::Socket(SocketError::AlreadyRunning(_)))
    }
}

/// A running broker with its bound socket. Serve it with [`crate::server::run`]; the socket
/// file is removed when the `Host` is dropped.
pub struct Host {
    pub broker: Arc<Broker>,
    pub listener: UnixListener,
    pub paths: Paths,
    /// `None` for a socket systemd bound: it stays for systemd to hand to the next broker.
    _socket: Option<SocketGuard>,
}

/// The refresh helper: `program args…` must call [`crate::rotation::helper_main`] (the CLI
/// runs `sesame rotate-helper`, the app runs itself with the same argument).
pub struct HelperCommand {
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

impl HelperCommand {
    /// This executable, run with `rotate-helper`.
    pub fn current_exe() -> std::io::Result<HelperCommand> {
        Ok(HelperCommand { program: std::env::current_exe()?, args: vec!["rotate-helper".into()] })
    }
}

/// Must run inside a tokio runtime. The socket is bound last: when it exists, the broker
/// behind it is ready.
pub fn start(paths: Paths, helper: HelperCommand) -> Result<Host, HostError> {
    start_on(paths, helper, None)
}

/// [`start`], serving `inherited` if given: the socket systemd bound at `paths.socket`
/// (checked by [`crate::server::systemd`]). Connections that systemd queued on it before the
/// broker was ready are served then.
pub fn start_on(
    paths: Paths,
    helper: HelperCommand,
    inherited: Option<std::os::unix::net::UnixListener>,
) -> Result<Host, HostError> {
    // Refuse early, before touching the keyring, if another broker already serves the user.
    // (An inherited socket answers connections by design: the kernel queues them for us.)
    if inherited.is_none() {
        socket::check_free(&paths.socket)?;
    }
    let config = Config::load(&paths.config_file)?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&paths.data_dir)
        .map_err(|cause| HostError::DataDir { path: paths.data_dir.clone(), cause })?;
    let db = Db::open(&paths.database()).map_err(BrokerError::from)?;
    let keyring = Keyring::new(Arc::new(SecretServiceStore::new()), KEYRING_TIMEOUT);
    let rotation = Rotation::helper(helper.program, helper.args, paths.data_dir.join("locks"));
    let broker = Broker::with_rotation(config, db, keyring, rotation)?;
    broker.set_config_file(paths.config_file.clone());
    let (listener, guard) = match inherited {
        Some(listener) => (socket::adopt(&paths.socket, listener)?, None),
        None => {
            let (listener, guard) = socket::bind(&paths.socket)?;
            (listener, Some(guard))
        }
    };
    // The grants made "until the screen locks" end when it does.
    broker.watch_screen_lock();
    Ok(Host { broker, listener, paths, _socket: guard })
}

/// `rotate-helper`: one refresh job from the broker (stdin → stdout).
pub async fn rotate_helper() -> Result<(), String> {
    crate::rotation::helper_main(Keyring::new(Arc::new(SecretServiceStore::new()), KEYRING_TIMEOUT))
        .await
}
