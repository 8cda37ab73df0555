//! The app's state: whether it hosts the broker ([`Core`]), decided at startup and
//! re-checked while it does not (the page's "Check again"), and which pending request the
//! consent window shows.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

use sesame_core::host::{self, HelperCommand, Host, HostError};
use sesame_core::Broker;
use sesame_core::Caller;
use sesame_core::Config;
use sesame_core::Paths;
use sesame_ipc::consent::{AppInfo, PendingInfo};
use sesame_ipc::protocol::{AccountInfo, AccountStatus};
use sesame_ipc::ErrorKind;

use crate::dto::{
    display, CommandError, ConsentView, CoreState, Overview, ProvidersView, ScopeWords,
};

/// How long the consent buttons stay disabled after a request appears.
pub const SECURITY_DELAY_MS: u64 = 1000;

/// Whether this app is "the" broker for the user.
pub enum Core {
    /// The app hosts the broker and serves its socket.
    Running { broker: Arc<Broker> },
    /// Another broker (usually `sesame daemon`) serves the socket: the app shows that and
    /// offers Quit rather than starting a second one.
    Conflict { socket: PathBuf },
    /// The broker could not start: a broken or missing config, mostly (also an unusable
    /// data directory, database or socket path; `message` says which and what to do).
    ConfigError { message: String, path: PathBuf },
}

/// What a notification click should open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyTarget {
    Consent(u64),
    Main,
}

pub struct AppState {
    core: RwLock<Core>,
    /// `None` when the environment says nowhere (no HOME, no SESAME_*): nothing can start.
    paths: Option<Paths>,
    /// `demo = true` in the config (the local demo provider): the UI shows a banner.
    demo: AtomicBool,
    /// Who answers consent questions from the windows: this app, in-process.
    pub me: Caller,
    consent: Mutex<ConsentSelection>,
    notifications: Mutex<(i32, HashMap<i32, NotifyTarget>)>,
}

#[derive(Default)]
struct ConsentSelection {
    /// The request `open_consent` (or a tray item, a notification) asked for.
    chosen: Option<u64>,
    /// The request `consent_current` last returned: the only one `consent_answer` accepts.
    shown: Option<u64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    pub fn new(core: Core, paths: Option<&Paths>, demo: bool) -> AppState {
        AppState {
            core: RwLock::new(core),
            paths: paths.cloned(),
            demo: AtomicBool::new(demo),
            me: Caller::in_process(own_app_info()),
            consent: Mutex::default(),
            notifications: Mutex::default(),
        }
    }

    pub fn core(&self) -> RwLockReadGuard<'_, Core> {
        self.core.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_running(&self) -> bool {
        matches!(*self.core(), Core::Running { .. })
    }

    /// Without a broker, tries again to start one: the daemon may have stopped, the config
    /// may be fixed. `Some(host)` when this call started it (serve it).
    pub fn retry(&self) -> Option<Host> {
        let mut core = self.core.write().unwrap_or_else(|p| p.into_inner());
        if matches!(*core, Core::Running { .. }) {
            return None;
        }
        let (started, host, demo) = match &self.paths {
            Some(paths) => start_core(paths),
            None => (no_paths(Paths::from_env().err().map(|e| e.to_string())), None, false),
        };
        *core = started;
        self.demo.store(demo, Ordering::Relaxed);
        host
    }

    /// The broker, or `not_running` saying why there is none.
    pub fn broker(&self) -> Result<Arc<Broker>, CommandError> {
        match &*self.core() {
            Core::Running { broker } => Ok(broker.clone()),
            other => Err(CommandError::not_running(&why_not_running(other))),
        }
    }

    pub fn overview(&self, autostart: bool) -> Overview {
        // One read of the core: a second read lock while a retry waits to write could block.
        let core = self.core();
        let (state, message, pending, reauth) = match &*core {
            Core::Running { broker } => {
                let reauth = broker
                    .accounts()
                    .iter()
                    .filter(|a| a.status == AccountStatus::ReauthRequired)
                    .count();
                (CoreState::Running, None, broker.pending_list().len(), reauth)
            }
            Core::Conflict { .. } => (CoreState::Conflict, Some(why_not_running(&core)), 0, 0),
            Core::ConfigError { message, .. } => {
                (CoreState::ConfigError, Some(message.clone()), 0, 0)
            }
        };
        Overview {
            state,
            message,
            demo: self.demo.load(Ordering::Relaxed),
            config_path: self.paths.as_ref().map(|p| display(&p.config_file)).unwrap_or_default(),
            socket_path: self.paths.as_ref().map(|p| display(&p.socket)).unwrap_or_default(),
            pending,
            accounts_needing_reauth: reauth,
            autostart,
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    /// With a broken config there is nothing to list, but the page shows the error where
    /// the providers would be.
    pub fn providers(&self) -> Result<ProvidersView, CommandError> {
        let config_path = self.paths.as_ref().map(|p| display(&p.config_file)).unwrap_or_default();
        if let Core::ConfigError { message, .. } = &*self.core() {
            return Ok(ProvidersView {
                providers: vec![],
                config_path,
                config_error: Some(message.clone()),
                reload_failure: None,
            });
        }
        let broker = self.broker()?;
        Ok(ProvidersView {
            providers: broker.providers(),
            config_path,
            config_error: None,
            reload_failure: broker.reload_failure(),
        })
    }

    /// Which request the consent window should show next time it asks.
    pub fn choose_consent(&self, id: Option<u64>) {
        lock(&self.consent).chosen = id;
    }

    /// The request on screen: the chosen one while it waits, else the oldest. Remembered as
    /// the only one [`AppState::check_shown`] lets through.
    pub fn consent_current(&self) -> Result<Option<ConsentView>, CommandError> {
        let broker = self.broker()?;
        let pending = broker.pending_list();
        let mut selection = lock(&self.consent);
        let chosen = selection.chosen.and_then(|id| pending.iter().find(|p| p.id == id));
        let request = chosen.or_else(|| pending.iter().min_by_key(|p| p.id)).cloned();
        selection.shown = request.as_ref().map(|r| r.id);
        let accounts = broker.accounts();
        Ok(request.map(|r| consent_view(r, &accounts)))
    }

    /// A window may only answer what it was shown: not an id guessed or left over from an
    /// earlier request.
    pub fn check_shown(&self, id: u64) -> Result<(), CommandError> {
        match lock(&self.consent).shown {
            Some(shown) if shown == id => Ok(()),
            _ => Err(CommandError::new(ErrorKind::BadRequest, format!("request {id} is not the one the consent window shows; reload the window and answer what it shows"))),
        }
    }

    /// The window shows another request than the one chosen since.
    pub fn consent_stale(&self) -> bool {
        let selection = lock(&self.consent);
        selection.chosen.is_some() && selection.chosen != selection.shown
    }

    pub fn answered(&self, id: u64) {
        let mut selection = lock(&self.consent);
        if selection.chosen == Some(id) {
            selection.chosen = None;
        }
        selection.shown = None;
    }

    /// A notification id for `target`, for the click handler to look up.
    pub fn notification_id(&self, target: NotifyTarget) -> i32 {
        let mut guard = lock(&self.notifications);
        guard.0 = guard.0.wrapping_add(1).max(1);
        let id = guard.0;
        guard.1.insert(id, target);
        id
    }

    pub fn notification_target(&self, id: i32) -> Option<NotifyTarget> {
        lock(&self.notifications).1.get(&id).copied()
    }

    /// Pending requests and accounts, empty when no broker runs (for the tray).
    pub fn counts(&self) -> (Vec<PendingInfo>, Vec<sesame_ipc::protocol::AccountInfo>) {
        match &*self.core() {
            Core::Running { broker } => (broker.pending_list(), broker.accounts()),
            _ => (vec![], vec![]),
        }
    }
}

fn why_not_running(core: &Core) -> String {
    match core {
        Core::Running { .. } => "the broker is running".into(),
        Core::Conflict { socket } => format!(
            "another Sesame broker (probably `sesame daemon`) already serves {}; manage it with the `sesame` command, or stop it and check again",
            socket.display()
        ),
        Core::ConfigError { message, .. } => format!("Sesame could not start its broker: {message}"),
    }
}

fn consent_view(request: PendingInfo, accounts: &[AccountInfo]) -> ConsentView {
    let icon_data_url = request.app.icon.as_deref().and_then(sesame_core::icon_data_url);
    let account_name =
        accounts.iter().find(|a| a.id == request.account).map(|a| a.display_name().to_owned());
    let scopes = request
        .scopes
        .iter()
        .map(|s| ScopeWords { scope: s.to_owned(), description: sesame_core::describe_scope(s) })
        .collect();
    ConsentView {
        request,
        account_name,
        icon_data_url,
        scopes,
        security_delay_ms: SECURITY_DELAY_MS,
    }
}

/// This app as the answering party of consent questions (never a program that asks).
fn own_app_info() -> AppInfo {
    let exe = std::fs::canonicalize("/proc/self/exe")
        .or_else(|_| std::env::current_exe())
        .map(|p| display(&p))
        .unwrap_or_else(|_| "sesame-app".into());
    AppInfo {
        key: exe.clone(),
        name: "Sesame".into(),
        exe,
        script: None,
        icon: None,
        flatpak_app: None,
        sandboxed: false,
        content: None,
        chain: vec![],
        generic: None,
    }
}

/// Starts the broker (must run inside a tokio runtime). The `Host` comes back to be served
/// with `server::run`; without one the state says why.
pub fn start() -> (AppState, Option<Host>) {
    let paths = match Paths::from_env() {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "cannot find Sesame's paths");
            return (AppState::new(no_paths(Some(e.to_string())), None, false), None);
        }
    };
    let (core, host, demo) = start_core(&paths);
    (AppState::new(core, Some(&paths), demo), host)
}

/// The state when the environment names no place for the config, data or socket.
fn no_paths(why: Option<String>) -> Core {
    let message = why.unwrap_or_else(|| "cannot tell where Sesame's files go".into());
    Core::ConfigError {
        message: format!("{message}, then start Sesame again"),
        path: PathBuf::new(),
    }
}

/// `host::start`, with its failure turned into the state the window shows.
fn start_core(paths: &Paths) -> (Core, Option<Host>, bool) {
    let demo = Config::load(&paths.config_file).is_ok_and(|c| c.demo);
    let helper = match HelperCommand::current_exe() {
        Ok(h) => h,
        Err(e) => {
            let message = format!("cannot find this program's path for the refresh helper ({e}); start Sesame by its full path");
            return (Core::ConfigError { message, path: paths.config_file.clone() }, None, demo);
        }
    };
    match host::start(paths.clone(), helper) {
        Ok(host) => (Core::Running { broker: host.broker.clone() }, Some(host), demo),
        Err(e) => {
            tracing::warn!(error = %e, "the app hosts no broker");
            (failed(e, paths), None, demo)
        }
    }
}

fn failed(e: HostError, paths: &Paths) -> Core {
    if e.already_running() {
        return Core::Conflict { socket: paths.socket.clone() };
    }
    Core::ConfigError { message: e.to_string(), path: paths.config_file.clone() }
}
