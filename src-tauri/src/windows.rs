//! The two windows. Both are made here, in code (the config declares none), so the app can
//! start hidden in the tray and open them on demand. Their labels are what the capability
//! files grant commands to.

use tauri::{
    AppHandle, Manager, Runtime, UserAttentionType, WebviewUrl, WebviewWindow, WebviewWindowBuilder,
};

use crate::state::AppState;

pub const MAIN: &str = "main";
pub const CONSENT: &str = "consent";

/// Opens the main window, or brings it to the front. Closing it destroys the webview (no
/// page stays alive in the background); the tray keeps the app running.
pub fn show_main<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<WebviewWindow<R>> {
    if let Some(window) = app.get_webview_window(MAIN) {
        raise(&window);
        return Ok(window);
    }
    WebviewWindowBuilder::new(app, MAIN, WebviewUrl::App("index.html".into()))
        .title("Sesame")
        .inner_size(1000.0, 700.0)
        .min_inner_size(640.0, 480.0)
        .build()
}

/// Who opens the consent window, which decides whether it may take the keyboard focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// The user asked for it (the tray, a notification, the main window): it takes focus.
    ByUser,
    /// A program's request arrived. The user may be typing in another window at this very
    /// moment, and Sesame cannot see other programs' windows or keys, so the window never
    /// takes focus then: it appears on top, unfocused, and asks for attention (the window
    /// manager's urgency hint). The page's quiet delay starts over when the user gives it
    /// focus, so the click that does cannot answer it either.
    ByRequest,
}

/// Opens the consent window, or brings it to the front; with nothing waiting (answered
/// meanwhile, say from a stale notification) it stays closed. An open one reloads when it
/// shows another request than the one now chosen, so the page (and its security delay)
/// starts over for the new request instead of swapping it under the user's pointer.
pub fn show_consent<R: Runtime>(app: &AppHandle<R>, opened: Opened) -> tauri::Result<()> {
    let Some(state) = app.try_state::<AppState>() else { return Ok(()) };
    if idle(&state) {
        close_consent_if_idle(app, &state);
        return Ok(());
    }
    if let Some(window) = app.get_webview_window(CONSENT) {
        if state.consent_stale() {
            window.reload()?;
        }
        match opened {
            Opened::ByUser => raise(&window),
            // Left where it is (un-minimizing could hand it the focus): the user is told.
            Opened::ByRequest => ask_for_attention(&window),
        }
        return Ok(());
    }
    let window = WebviewWindowBuilder::new(app, CONSENT, WebviewUrl::App("consent.html".into()))
        .title("Sesame: allow access?")
        // Room for the common case without scrolling: five or six scopes, the program's content
        // and the run-by line (app e2e: activity_is_in_the_order_things_happened…); still
        // fits a 768-pixel-high screen with a panel.
        .inner_size(480.0, 700.0)
        .resizable(false)
        .always_on_top(true)
        .center()
        .focused(opened == Opened::ByUser)
        .build()?;
    if opened == Opened::ByRequest {
        ask_for_attention(&window);
    }
    Ok(())
}

fn ask_for_attention<R: Runtime>(window: &WebviewWindow<R>) {
    if let Err(e) = window.request_user_attention(Some(UserAttentionType::Informational)) {
        tracing::warn!(error = %e, "cannot ask for attention to the consent window");
    }
}

/// Closes the consent window once nothing waits for an answer.
pub fn close_consent_if_idle<R: Runtime>(app: &AppHandle<R>, state: &AppState) {
    if let (true, Some(window)) = (idle(state), app.get_webview_window(CONSENT)) {
        if let Err(e) = window.destroy() {
            tracing::warn!(error = %e, "cannot close the consent window");
        }
    }
}

fn idle(state: &AppState) -> bool {
    state.broker().map(|b| b.pending_list().is_empty()).unwrap_or(true)
}

/// Whether the user has the app on screen (then a new request opens the consent window;
/// otherwise it becomes a notification).
pub fn any_open<R: Runtime>(app: &AppHandle<R>) -> bool {
    !app.webview_windows().is_empty()
}

fn raise<R: Runtime>(window: &WebviewWindow<R>) {
    let _ = window.unminimize();
    let _ = window.show();
    let _ = window.set_focus();
}
