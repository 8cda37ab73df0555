//! The tray icon and its menu, rebuilt from the broker's state on every broker event:
//! requests waiting for an answer, accounts (with "Sign in again…" for those the provider
//! dropped), "Sign in to…" per provider, Open, Start at login, Quit. The icon turns to its
//! attention form while something needs the user.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use sesame_core::Broker;
use sesame_ipc::protocol::{AccountInfo, AccountStatus, GRANT_AUTHORIZATION_CODE};
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, IsMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};

use crate::state::{AppState, Core};
use crate::{commands, notify, windows};

const TRAY_ID: &str = "sesame";
const ICON_NORMAL: &[u8] = include_bytes!("../../icons/tray-normal.png");
const ICON_ATTENTION: &[u8] = include_bytes!("../../icons/tray-attention.png");

/// A menu item's meaning, carried in its tauri id as text (`pending:3`, `signin:work`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuId {
    Pending(u64),
    Account(String),
    SignIn(String),
    Open,
    Autostart,
    Quit,
}

impl fmt::Display for MenuId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MenuId::Pending(id) => write!(f, "pending:{id}"),
            MenuId::Account(id) => write!(f, "account:{id}"),
            MenuId::SignIn(provider) => write!(f, "signin:{provider}"),
            MenuId::Open => f.write_str("open"),
            MenuId::Autostart => f.write_str("autostart"),
            MenuId::Quit => f.write_str("quit"),
        }
    }
}

impl FromStr for MenuId {
    type Err = String;
    fn from_str(s: &str) -> Result<MenuId, String> {
        // Split at the first `:` only, so whatever follows (an account id) comes back whole.
        match s.split_once(':') {
            Some(("pending", id)) => id
                .parse()
                .map(MenuId::Pending)
                .map_err(|_| format!("bad pending id in menu id {s:?}")),
            Some(("account", id)) => Ok(MenuId::Account(id.into())),
            Some(("signin", provider)) => Ok(MenuId::SignIn(provider.into())),
            None if s == "open" => Ok(MenuId::Open),
            None if s == "autostart" => Ok(MenuId::Autostart),
            None if s == "quit" => Ok(MenuId::Quit),
            _ => Err(format!("unknown menu id {s:?}")),
        }
    }
}

/// The menu as data, so its content is testable without a tray.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// `id: None` is a disabled line of text.
    Item {
        id: Option<MenuId>,
        label: String,
    },
    Check {
        id: MenuId,
        label: String,
        checked: bool,
    },
    Submenu {
        label: String,
        items: Vec<Entry>,
    },
    Separator,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrayView {
    pub entries: Vec<Entry>,
    pub tooltip: String,
    pub attention: bool,
}

fn item(id: MenuId, label: impl Into<String>) -> Entry {
    Entry::Item { id: Some(id), label: label.into() }
}

fn text(label: impl Into<String>) -> Entry {
    Entry::Item { id: None, label: label.into() }
}

fn who(a: &AccountInfo) -> String {
    let name = a.display_name().to_owned();
    format!("{name} ({})", a.provider)
}

pub fn view(state: &AppState, autostart: bool) -> TrayView {
    let (pending, accounts) = state.counts();
    let reauth = accounts.iter().filter(|a| a.status == AccountStatus::ReauthRequired).count();
    let mut entries = vec![];
    match &*state.core() {
        Core::Running { broker } => {
            if !pending.is_empty() {
                entries.push(text("Waiting for your answer"));
                entries.extend(pending.iter().map(|p| {
                    item(MenuId::Pending(p.id), format!("{} wants {}", p.app.name, p.account))
                }));
                entries.push(Entry::Separator);
            }
            entries.push(text(if accounts.is_empty() { "No accounts yet" } else { "Accounts" }));
            for a in &accounts {
                let label = match a.status {
                    AccountStatus::Active => who(a),
                    AccountStatus::ReauthRequired => format!("Sign in again… {}", who(a)),
                    AccountStatus::ProviderRemoved => format!("{} (provider removed)", who(a)),
                };
                entries.push(item(MenuId::Account(a.id.clone()), label));
            }
            let people =
                broker.providers().into_iter().filter(|p| p.grant == GRANT_AUTHORIZATION_CODE);
            let items: Vec<Entry> =
                people.map(|p| item(MenuId::SignIn(p.id.clone()), p.id)).collect();
            if !items.is_empty() {
                entries.push(Entry::Submenu { label: "Sign in to…".into(), items });
            }
        }
        Core::Conflict { .. } => entries.push(text("Another Sesame broker is running")),
        Core::ConfigError { .. } => {
            entries.push(text("Sesame could not start: open it to see why"))
        }
    }
    entries.push(Entry::Separator);
    entries.push(item(MenuId::Open, "Open Sesame"));
    entries.push(Entry::Check {
        id: MenuId::Autostart,
        label: "Start at login".into(),
        checked: autostart,
    });
    entries.push(item(MenuId::Quit, "Quit Sesame"));
    let mut tooltip =
        format!("Sesame: {} account{}", accounts.len(), if accounts.len() == 1 { "" } else { "s" });
    if !pending.is_empty() {
        tooltip.push_str(&format!(", {} waiting for you", pending.len()));
    }
    if reauth > 0 {
        tooltip.push_str(&format!(", {reauth} must sign in again"));
    }
    if !state.is_running() {
        tooltip = "Sesame: not running a broker".into();
    }
    TrayView { entries, tooltip, attention: !pending.is_empty() || reauth > 0 }
}

fn build_menu<R: Runtime, M: Manager<R>>(app: &M, entries: &[Entry]) -> tauri::Result<Menu<R>> {
    let menu = Menu::new(app)?;
    for entry in entries {
        menu.append(build_item(app, entry)?.as_ref())?;
    }
    Ok(menu)
}

fn build_item<R: Runtime, M: Manager<R>>(
    app: &M,
    entry: &Entry,
) -> tauri::Result<Box<dyn IsMenuItem<R>>> {
    Ok(match entry {
        Entry::Item { id: Some(id), label } => {
            Box::new(MenuItem::with_id(app, id.to_string(), label, true, None::<&str>)?)
        }
        Entry::Item { id: None, label } => {
            Box::new(MenuItem::new(app, label, false, None::<&str>)?)
        }
        Entry::Check { id, label, checked } => Box::new(CheckMenuItem::with_id(
            app,
            id.to_string(),
            label,
            true,
            *checked,
            None::<&str>,
        )?),
        Entry::Separator => Box::new(PredefinedMenuItem::separator(app)?),
        Entry::Submenu { label, items } => {
            let sub = Submenu::new(app, label, true)?;
            for entry in items {
                sub.append(build_item(app, entry)?.as_ref())?;
            }
            Box::new(sub)
        }
    })
}

fn icon(attention: bool) -> tauri::Result<Image<'static>> {
    Image::from_bytes(if attention { ICON_ATTENTION } else { ICON_NORMAL })
}

/// Creates the tray icon (once, at startup).
pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let state = app.state::<AppState>();
    let view = view(&state, commands::autostart_enabled(app));
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(view.attention)?)
        .tooltip(&view.tooltip)
        .menu(&build_menu(app, &view.entries)?)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()))
        .build(app)?;
    Ok(())
}

/// Rebuilds menu, icon and tooltip from the current state (no-op without a tray).
pub fn refresh<R: Runtime>(app: &AppHandle<R>) {
    let (Some(tray), Some(state)) = (app.tray_by_id(TRAY_ID), app.try_state::<AppState>()) else {
        return;
    };
    let view = view(&state, commands::autostart_enabled(app));
    let result = build_menu(app, &view.entries)
        .and_then(|menu| tray.set_menu(Some(menu)))
        .and_then(|_| tray.set_icon(Some(icon(view.attention)?)))
        .and_then(|_| tray.set_tooltip(Some(&view.tooltip)));
    if let Err(e) = result {
        tracing::warn!(error = %e, "cannot update the tray");
    }
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, raw: &str) {
    let id = match raw.parse::<MenuId>() {
        Ok(id) => id,
        Err(e) => return tracing::warn!(%e, "ignoring a menu event"),
    };
    let state = app.state::<AppState>();
    let shown = match id {
        MenuId::Pending(pending) => {
            state.choose_consent(Some(pending));
            windows::show_consent(app, windows::Opened::ByUser)
        }
        MenuId::Account(account) => match state
            .broker()
            .ok()
            .and_then(|b| b.accounts().into_iter().find(|a| a.id == account))
        {
            Some(a) if a.status == AccountStatus::ReauthRequired => {
                return sign_in(app, a.provider)
            }
            _ => windows::show_main(app).map(drop),
        },
        MenuId::SignIn(provider) => return sign_in(app, provider),
        MenuId::Open => windows::show_main(app).map(drop),
        MenuId::Autostart => {
            let wanted = !commands::autostart_enabled(app);
            if let Err(e) = commands::set_autostart(app, wanted) {
                notify::show(app, "Start at login", &e.message, crate::state::NotifyTarget::Main);
            }
            return refresh(app);
        }
        MenuId::Quit => return app.exit(0),
    };
    if let Err(e) = shown {
        tracing::warn!(error = %e, "cannot open a window");
    }
}

/// Sign-in from the tray: the browser opens, and a notification tells how it ended.
fn sign_in<R: Runtime>(app: &AppHandle<R>, provider: String) {
    let Ok(broker) = app.state::<AppState>().broker() else { return };
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let (title, body) = match sign_in_flow(&broker, &provider).await {
            Ok(account) => ("Signed in".to_owned(), format!("{} is ready to use.", who(&account))),
            Err(message) => (format!("Sign-in to {provider} failed"), message),
        };
        notify::show(&app, &title, &body, crate::state::NotifyTarget::Main);
    });
}

async fn sign_in_flow(broker: &Arc<Broker>, provider: &str) -> Result<AccountInfo, String> {
    let started = broker.login_start(provider).await.map_err(|e| e.to_string())?;
    if let Err(e) = crate::commands::open_browser(started.authorization_url.clone()).await {
        let _ = broker.login_cancel(&started.login_id);
        return Err(e);
    }
    broker.login_wait(&started.login_id).await.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn menu_ids_round_trip() {
        let ids = [
            MenuId::Pending(0),
            MenuId::Pending(u64::MAX),
            MenuId::Account("work-3f2a".into()),
            MenuId::Account("odd:id:with:colons".into()),
            MenuId::Account(String::new()),
            MenuId::SignIn("github".into()),
            MenuId::Open,
            MenuId::Autostart,
            MenuId::Quit,
        ];
        for id in ids {
            assert_eq!(id.to_string().parse::<MenuId>(), Ok(id.clone()), "{id}");
        }
        for bad in ["", "pending:", "pending:x", "pending:-1", "opened", "open:1", "nope:1"] {
            assert!(bad.parse::<MenuId>().is_err(), "{bad:?} should not parse");
        }
    }
}
