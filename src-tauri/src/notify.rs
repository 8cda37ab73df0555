//! Desktop notifications: what the app says when no window is open (a request waits, an
//! account must sign in again, a tray sign-in ended). A click opens what it is about.
//! Failures are logged and otherwise ignored: a desktop without a notification daemon
//! (or a test) still has the tray.

use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;

use crate::state::{AppState, NotifyTarget};
use crate::windows;

pub fn show<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str, target: NotifyTarget) {
    let Some(state) = app.try_state::<AppState>() else { return };
    let id = state.notification_id(target);
    if let Err(e) = app.notification().builder().id(id).title(title).body(body).show() {
        tracing::debug!(error = %e, "no desktop notification");
    }
}

/// Clicks on our notifications: a request opens the consent window on it, anything else
/// the main window.
pub fn handle_clicks<R: Runtime>(app: &AppHandle<R>) {
    let handle = app.clone();
    let _ = app.notification().on_action(move |performed| {
        if performed.action_id() != "tap" {
            return;
        }
        let state = handle.state::<AppState>();
        let target = performed
            .notification()
            .and_then(|n| state.notification_target(n.id()))
            .unwrap_or(NotifyTarget::Main);
        let opened = match target {
            NotifyTarget::Consent(id) => {
                state.choose_consent(Some(id));
                windows::show_consent(&handle, windows::Opened::ByUser)
            }
            NotifyTarget::Main => windows::show_main(&handle).map(drop),
        };
        if let Err(e) = opened {
            tracing::warn!(error = %e, "cannot open a window for a notification");
        }
    });
}
