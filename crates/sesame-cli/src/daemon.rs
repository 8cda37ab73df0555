//! `sesame daemon`: the broker in the foreground, logging to stderr; SIGHUP reloads the
//! config (like `sesame reload`: a config that does not parse is logged and changes nothing).

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use sesame_core::host::{self, HelperCommand};
use sesame_core::server;
use sesame_core::server::systemd::Systemd;
use sesame_core::Paths;
use tokio::signal::unix::{signal, SignalKind};

/// `systemd`: what systemd passed (a socket to serve, where to report readiness), if anything.
pub async fn run(socket: Option<PathBuf>, mut systemd: Systemd) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let mut paths = Paths::from_env()?;
    if let Some(socket) = socket {
        paths.socket = socket;
    }
    // Refreshes run in `sesame rotate-helper`, which outlives this process if it is killed
    // mid-rotation, so a rotated refresh token always reaches the keyring.
    let helper = HelperCommand::current_exe()
        .context("cannot find this program's path (for the refresh helper)")?;
    let inherited = systemd.listener(&paths.socket)?;
    let activated = inherited.is_some();
    let host = host::start_on(paths, helper, inherited)?;
    tracing::info!(socket = %host.paths.socket.display(), config = %host.paths.config_file.display(), activated, "broker ready");
    // Type=notify: systemd starts what depends on us only now.
    if let Err(e) = systemd.notify("READY=1") {
        tracing::warn!(error = %e, "cannot tell systemd the broker is ready");
    }

    let mut term = signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?;
    let mut hup = signal(SignalKind::hangup()).context("cannot install the SIGHUP handler")?;
    // The reload logs its outcome (and a failure stays visible in `sesame status`).
    // A weak handle: the broker is dropped (and its log flushed) at shutdown as before.
    let reloader = std::sync::Arc::downgrade(&host.broker);
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            let Some(broker) = reloader.upgrade() else { return };
            tracing::info!("SIGHUP: reloading the config");
            let _ = broker.reload_config().await;
        }
    });
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    };
    server::run(host.listener, host.broker.clone(), shutdown).await;
    drop(host.broker);
    tracing::info!("stopped");
    Ok(())
}

/// `sesame rotate-helper`: one refresh job from the broker (stdin → stdout).
pub async fn rotate_helper() -> anyhow::Result<()> {
    host::rotate_helper().await.map_err(anyhow::Error::msg)
}
