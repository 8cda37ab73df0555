//! The broker's events, followed in Rust: each one goes to every webview as
//! `sesame:changed` (the pages re-read what they show), rebuilds the tray, and may open the
//! consent window or notify.

use std::sync::Arc;

use sesame_core::Broker;
use sesame_ipc::events::BrokerEvent;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::state::{AppState, NotifyTarget};
use crate::{notify, tray, windows, CHANGED_EVENT};

/// Runs until the broker is gone.
pub fn spawn<R: Runtime>(app: AppHandle<R>, broker: &Arc<Broker>) {
    let mut events = broker.subscribe();
    tauri::async_runtime::spawn(async move {
        while let Some(event) = events.next().await {
            if let Err(e) = app.emit(CHANGED_EVENT, &event) {
                tracing::warn!(error = %e, "cannot tell the windows about a change");
            }
            tray::refresh(&app);
            react(&app, &event);
        }
    });
}

fn react<R: Runtime>(app: &AppHandle<R>, event: &BrokerEvent) {
    match event {
        // With a window open the user is here: ask at once. Otherwise a notification, whose
        // click (or the tray) opens the question; the request waits until its timeout.
        BrokerEvent::PendingAdded { id, app_name, account } => {
            if windows::any_open(app) {
                if let Err(e) = windows::show_consent(app, windows::Opened::ByRequest) {
                    tracing::warn!(error = %e, "cannot open the consent window");
                }
            } else {
                let body = format!("{app_name} asks for a token of {account}. Click to answer.");
                notify::show(app, "Allow access?", &body, NotifyTarget::Consent(*id));
            }
        }
        // Answered elsewhere (the CLI) or timed out: nothing left to show.
        BrokerEvent::PendingResolved { .. } => {
            windows::close_consent_if_idle(app, &app.state::<AppState>())
        }
        BrokerEvent::ReauthRequired { account, provider, why } => {
            let body = format!("{account} must sign in again ({why}). Use \"Sign in again…\" in Sesame's menu, or `sesame login {provider}`.");
            notify::show(app, "Sign in again", &body, NotifyTarget::Main);
        }
        // Events were missed (a request may have come and gone): go by what waits now.
        BrokerEvent::Lagged { .. } => {
            if windows::any_open(app) {
                if let Err(e) = windows::show_consent(app, windows::Opened::ByRequest) {
                    tracing::warn!(error = %e, "cannot open the consent window");
                }
            }
        }
        // The pages re-read what they show (`sesame:changed`); a failure is on the
        // Providers page (`providers_list`'s `reload_failure`).
        BrokerEvent::AccountsChanged
        | BrokerEvent::GrantsChanged
        | BrokerEvent::ConfigReloaded { .. } => {}
    }
}
