//! The webview's commands (docs/app.md): each a short adapter over a `sesame-core` call.
//! Every one answers [`Answer<T>`], so its value must be [`crate::dto::WebviewSafe`]: no
//! command can hand a token to a page (see `dto.rs` for how that is kept and tested).
//! Which window may call which command is tauri's ACL: `capabilities/*.json`.

use sesame_ipc::admin::ReloadResult;
use sesame_ipc::consent::{
    ActivityInfo, ActivityListParams, Decision, GrantInfo, GrantsRevokeParams, PendingAnswerParams,
    PendingInfo,
};
use sesame_ipc::protocol::{LoginDeviceStartResult, LogoutResult};
use sesame_ipc::ErrorKind;
use tauri::{AppHandle, Manager, Runtime, State};
use tauri_plugin_autostart::ManagerExt;

use crate::dto::{
    ok, AccountView, Answer, CommandError, ConsentView, LoginStarted, Overview, ProvidersView,
};
use crate::state::AppState;
use crate::{tray, windows};

/// The invoke handler with every command; `COMMANDS` lists the same names.
pub fn handler<R: Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        app_overview,
        accounts_list,
        providers_list,
        config_reload,
        login_start,
        login_device_start,
        login_wait,
        login_cancel,
        account_logout,
        grants_list,
        grants_revoke,
        activity_list,
        pending_list,
        open_consent,
        autostart_set,
        app_quit,
        consent_current,
        consent_answer,
    ]
}

/// The main window's Quit, for desktops with no tray host: the same as the tray's (the
/// socket closed and removed on the way out). Only the app `lib::run` built can quit; any
/// other (the tests' mock app) answers that it cannot instead.
#[tauri::command]
pub fn app_quit<R: Runtime>(app: AppHandle<R>) -> Answer<()> {
    if app.try_state::<crate::CanQuit>().is_none() {
        return Err(CommandError::new(
            ErrorKind::Internal,
            "this app cannot quit from its window; end it from the tray or with Ctrl-C",
        ));
    }
    app.exit(0);
    ok(())
}

/// Also the page's "Check again": without a broker, it tries to start one first.
#[tauri::command]
pub async fn app_overview<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Answer<Overview> {
    if let Some(host) = state.retry() {
        crate::adopt(&app, host);
    }
    ok(state.overview(autostart_enabled(&app)))
}

#[tauri::command]
pub fn accounts_list(state: State<'_, AppState>) -> Answer<Vec<AccountView>> {
    ok(state.broker()?.accounts().into_iter().map(AccountView::from).collect())
}

#[tauri::command]
pub fn providers_list(state: State<'_, AppState>) -> Answer<ProvidersView> {
    ok(state.providers()?)
}

/// The Providers page's "Reload config": the file read again and put in force if it parses;
/// otherwise an error that says where (and the config in force stays).
#[tauri::command]
pub async fn config_reload(state: State<'_, AppState>) -> Answer<ReloadResult> {
    ok(state.broker()?.reload_config().await?)
}

/// Starts the sign-in and opens the system browser on its page.
#[tauri::command]
pub async fn login_start(state: State<'_, AppState>, provider: String) -> Answer<LoginStarted> {
    let started = state.broker()?.login_start(&provider).await?;
    let browser_error = open_browser(started.authorization_url.clone()).await.err();
    ok(LoginStarted {
        login_id: started.login_id,
        authorization_url: started.authorization_url,
        expires_at: started.expires_at,
        browser_error,
    })
}

/// Opens the browser off the async workers: the opener's verdict takes up to two seconds.
pub(crate) async fn open_browser(url: String) -> Result<(), String> {
    match tauri::async_runtime::spawn_blocking(move || sesame_core::open_browser(&url)).await {
        Ok(opened) => opened.map_err(|e| e.to_string()),
        Err(e) => {
            Err(format!("the browser opener stopped unexpectedly ({e}); open the address by hand"))
        }
    }
}

#[tauri::command]
pub async fn login_device_start(
    state: State<'_, AppState>,
    provider: String,
) -> Answer<LoginDeviceStartResult> {
    ok(state.broker()?.login_device_start(&provider).await?)
}

#[tauri::command]
pub async fn login_wait(state: State<'_, AppState>, login_id: String) -> Answer<AccountView> {
    ok(state.broker()?.login_wait(&login_id).await?.into())
}

#[tauri::command]
pub fn login_cancel(state: State<'_, AppState>, login_id: String) -> Answer<()> {
    ok(state.broker()?.login_cancel(&login_id)?)
}

#[tauri::command]
pub async fn account_logout(state: State<'_, AppState>, account: String) -> Answer<LogoutResult> {
    ok(state.broker()?.logout(&account).await?)
}

#[tauri::command]
pub async fn grants_list(state: State<'_, AppState>) -> Answer<Vec<GrantInfo>> {
    ok(state.broker()?.grants_list().await?)
}

#[tauri::command]
pub async fn grants_revoke(
    state: State<'_, AppState>,
    grant: Option<i64>,
    app: Option<String>,
) -> Answer<Vec<i64>> {
    ok(state.broker()?.revoke_grants(&GrantsRevokeParams { grant, app }).await?)
}

#[tauri::command]
pub async fn activity_list(
    state: State<'_, AppState>,
    limit: Option<u32>,
    app: Option<String>,
) -> Answer<Vec<ActivityInfo>> {
    ok(state.broker()?.activity_list(&ActivityListParams { limit, app }).await?)
}

#[tauri::command]
pub fn pending_list(state: State<'_, AppState>) -> Answer<Vec<PendingInfo>> {
    ok(state.broker()?.pending_list())
}

/// Shows the consent window, on request `id` if given (else the oldest).
#[tauri::command]
pub fn open_consent<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: Option<u64>,
) -> Answer<()> {
    state.broker()?;
    state.choose_consent(id);
    ok(windows::show_consent(&app, windows::Opened::ByUser).map_err(window_error)?)
}

#[tauri::command]
pub fn autostart_set<R: Runtime>(app: AppHandle<R>, enabled: bool) -> Answer<bool> {
    let enabled = set_autostart(&app, enabled)?;
    tray::refresh(&app);
    ok(enabled)
}

#[tauri::command]
pub fn consent_current(state: State<'_, AppState>) -> Answer<Option<ConsentView>> {
    ok(state.consent_current()?)
}

/// Answers as this app, only for the request on screen; closes the window when nothing
/// else waits. `for_secs` goes with `approve_for`, `account` is the one chosen when the
/// request offers several (`pending.answer`'s params).
#[tauri::command]
pub async fn consent_answer<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: u64,
    decision: Decision,
    for_secs: Option<u64>,
    account: Option<String>,
) -> Answer<()> {
    state.check_shown(id)?;
    let params = PendingAnswerParams { id, decision, for_secs, account };
    state.broker()?.answer_pending(&state.me, &params).await?;
    state.answered(id);
    windows::close_consent_if_idle(&app, &state);
    ok(())
}

pub fn autostart_enabled<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.autolaunch().is_enabled().unwrap_or(false)
}

/// Also used by the tray's "Start at login" item. Returns the state after the change.
pub fn set_autostart<R: Runtime>(app: &AppHandle<R>, enabled: bool) -> Result<bool, CommandError> {
    let manager = app.autolaunch();
    let changed = if enabled { manager.enable() } else { manager.disable() };
    changed.map_err(|e| CommandError::new(ErrorKind::Internal, format!("cannot change the start-at-login setting ({e}); check that ~/.config/autostart is writable")))?;
    Ok(manager.is_enabled().unwrap_or(enabled))
}

fn window_error(e: tauri::Error) -> CommandError {
    CommandError::new(ErrorKind::Internal, format!("cannot open the consent window ({e}); answer with `sesame pending` and `sesame approve <id>` instead"))
}
