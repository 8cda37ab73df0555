//! `sesame daemon`: the broker in the foreground, logging to stderr.

use std::io::IsTerminal;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sesame_core::broker::Broker;
use sesame_core::config::Config;
use sesame_core::db::Db;
use sesame_core::keyring::{Keyring, SecretServiceStore};
use sesame_core::paths::Paths;
use sesame_core::rotation::{self, Rotation};
use sesame_core::server;
use tokio::signal::unix::{signal, SignalKind};

/// A keyring call that takes longer is treated as "keyring unavailable" (a locked keyring
/// may be waiting on a password prompt nobody sees).
const KEYRING_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn run(socket: Option<PathBuf>) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let mut paths = Paths::from_env()?;
    if let Some(socket) = socket {
        paths.socket = socket;
    }
    let config = Config::load(&paths.config_file)?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&paths.data_dir)
        .with_context(|| format!("cannot create the data directory {}", paths.data_dir.display()))?;
    let db = Db::open(&paths.database())?;
    let keyring = Keyring::new(Arc::new(SecretServiceStore::new()), KEYRING_TIMEOUT);
    // Refreshes run in `sesame rotate-helper`, which outlives this process if it is killed
    // mid-rotation, so a rotated refresh token always reaches the keyring.
    let exe = std::env::current_exe().context("cannot find this program's path (for the refresh helper)")?;
    let rotation = Rotation::helper(exe, vec!["rotate-helper".into()], paths.data_dir.join("locks"));
    let broker = Broker::with_rotation(config, db, keyring, rotation)?;
    let (listener, _socket_guard) = server::socket::bind(&paths.socket)?;
    tracing::info!(socket = %paths.socket.display(), config = %paths.config_file.display(), "broker ready");

    let mut term = signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    };
    server::run(listener, broker, shutdown).await;
    tracing::info!("stopped");
    Ok(())
}

/// `sesame rotate-helper`: one refresh job from the broker (stdin → stdout).
pub async fn rotate_helper() -> anyhow::Result<()> {
    let keyring = Keyring::new(Arc::new(SecretServiceStore::new()), KEYRING_TIMEOUT);
    rotation::helper_main(keyring).await.map_err(anyhow::Error::msg)
}
