//! Sesame's desktop app: the same broker as `sesame daemon`, hosted in-process and serving
//! the same socket, plus a tray, the consent window and the management window
//! (docs/app.md). Only this crate knows Tauri; everything it does with accounts, tokens
//! and consent is a call into `sesame-core`.

pub mod commands;
pub mod dto;
mod events;
mod notify;
pub mod state;
pub mod tray;
pub mod windows;

use std::sync::Mutex;
use std::time::Duration;

use sesame_core::host::Host;
use sesame_core::server;
use tauri::{Manager, RunEvent, Runtime};
use tauri_plugin_autostart::MacosLauncher;

/// Every command the webviews may call (`build.rs` makes their permissions from it).
pub const COMMANDS: &[&str] = include!("command_names.rs");

/// The one event the webviews hear; its payload is a `sesame_ipc::events::BrokerEvent`.
pub const CHANGED_EVENT: &str = "sesame:changed";

/// Given by autostart: start in the tray without opening the main window.
pub const HIDDEN_ARG: &str = "--hidden";

/// The app's config, capabilities and (with `custom-protocol`) the embedded `ui/dist`.
pub fn context<R: Runtime>() -> tauri::Context<R> {
    tauri::generate_context!()
}

/// The socket server's task, stopped when the app exits.
pub struct Server {
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    done: Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
}

/// Present in the app [`run`] builds: its windows may quit it (`app_quit`).
pub(crate) struct CanQuit;

pub fn run() {
    let started = std::time::Instant::now();
    init_tracing();
    let hidden = std::env::args().any(|a| a == HIDDEN_ARG);
    let app = tauri::Builder::default()
        // First, so a second launch hands over to the running app before doing anything.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            if let Err(e) = windows::show_main(app) {
                tracing::warn!(error = %e, "cannot open the main window for a second launch");
            }
        }))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_autostart::init(MacosLauncher::LaunchAgent, Some(vec![HIDDEN_ARG])))
        .invoke_handler(commands::handler())
        .setup(move |app| {
            let setup_at = started.elapsed();
            let (state, host) = tauri::async_runtime::block_on(async { state::start() });
            // Before the first window exists: the desktop-app bench reads these two figures.
            tracing::info!(
                setup_at_ms = setup_at.as_secs_f64() * 1000.0,
                broker_start_ms = (started.elapsed() - setup_at).as_secs_f64() * 1000.0,
                "app set up"
            );
            let running = state.is_running();
            app.manage(state);
            app.manage(CanQuit);
            if let Some(host) = host {
                adopt(app.handle(), host);
            }
            quit_on_signals(app.handle().clone());
            notify::handle_clicks(app.handle());
            if let Err(e) = tray::create(app.handle()) {
                tracing::warn!(error = %e, "no tray icon (is a StatusNotifier/AppIndicator host running?)");
            }
            // Without a broker the window is how the user learns why, even at login.
            if !hidden || !running {
                windows::show_main(app.handle())?;
            }
            Ok(())
        })
        .build(context())
        .expect("cannot start the Sesame app");
    app.run(|app, event| match event {
        // The last window closed: keep running in the tray. Quit (exit code set) goes on.
        RunEvent::ExitRequested { code: None, api, .. } => api.prevent_exit(),
        RunEvent::Exit => stop_server(app),
        _ => {}
    });
}

/// Serves a freshly started broker and follows its events (at startup, or when a retry
/// from the conflict or config-error page succeeds).
pub(crate) fn adopt<R: Runtime>(app: &tauri::AppHandle<R>, host: Host) {
    events::spawn(app.clone(), &host.broker);
    reload_on_sighup(&host.broker);
    app.manage(serve(host));
    tray::refresh(app);
}

/// SIGTERM (session end, `kill`) and SIGINT quit like the tray's Quit, so the socket is
/// closed and removed rather than left stale.
fn quit_on_signals<R: Runtime>(app: tauri::AppHandle<R>) {
    use tokio::signal::unix::{signal, SignalKind};
    tauri::async_runtime::spawn(async move {
        let (Ok(mut term), Ok(mut int)) =
            (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
        else {
            return tracing::warn!("cannot install the SIGTERM/SIGINT handlers");
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        app.exit(0);
    });
}

/// SIGHUP reloads the config, as it does for `sesame daemon` (a broken file is logged and
/// shown on the Providers page; the config in force stays).
fn reload_on_sighup(broker: &std::sync::Arc<sesame_core::Broker>) {
    use tokio::signal::unix::{signal, SignalKind};
    let broker = std::sync::Arc::downgrade(broker);
    tauri::async_runtime::spawn(async move {
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            return tracing::warn!("cannot install the SIGHUP handler");
        };
        while hup.recv().await.is_some() {
            let Some(broker) = broker.upgrade() else { return };
            tracing::info!("SIGHUP: reloading the config");
            let _ = broker.reload_config().await;
        }
    });
}

/// Serves the socket until [`Server::stop`]; the socket file goes when the task ends.
pub fn serve(host: Host) -> Server {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let done = tauri::async_runtime::spawn(async move {
        // Take the whole `host` in: a closure capturing only the fields it uses would leave
        // the socket guard behind, and the socket file would vanish as `serve` returns.
        let host = host;
        let broker = host.broker.clone();
        tracing::info!(socket = %host.paths.socket.display(), config = %host.paths.config_file.display(), "broker ready");
        server::run(host.listener, broker, stopped).await;
        // `host` (with its socket guard) is dropped here: the socket file is removed.
    });
    Server { stop: Mutex::new(Some(stop)), done: Mutex::new(Some(done)) }
}

fn stop_server<R: Runtime>(app: &tauri::AppHandle<R>) {
    if let Some(server) = app.try_state::<Server>() {
        server.stop();
    }
}

impl Server {
    /// Stops accepting, lets connections drain (briefly) and waits until the socket file is
    /// gone. Call from outside the async runtime.
    pub fn stop(&self) {
        if let Some(stop) = self.stop.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = stop.send(());
        }
        let done = self.done.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(done) = done {
            let _ = tauri::async_runtime::block_on(async {
                tokio::time::timeout(Duration::from_secs(3), done).await
            });
        }
    }
}

fn init_tracing() {
    use std::io::IsTerminal;
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
