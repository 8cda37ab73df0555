//! What commands hand to the webview, and the one rule about it: **no token, ever**.
//!
//! How that is kept, in two layers:
//!
//! 1. By type. A command answers [`Answer<T>`], whose success value is [`Safe<T>`], and
//!    `Safe<T>` exists only for `T:` [`WebviewSafe`]. The marker is implemented below, by
//!    hand, for the DTOs that carry ids, names, times and statuses and nothing secret; it is
//!    never implemented for `TokenResult`, `SetSecretParams` or anything holding a
//!    `sesame_ipc::Secret` (and `Secret` has no `Serialize`, so it cannot hide inside one of
//!    these by accident either). Adding a field to a DTO here is a review point.
//! 2. By test. A command could still be written to return something else, so
//!    `tests/commands.rs` calls every command in [`crate::COMMANDS`] through tauri's mock
//!    IPC against a broker holding planted tokens (a refresh token in the keyring, an access
//!    token in the cache, a device code in flight) and fails if any answer, success or error,
//!    contains one, or if a listed command has no case in the scan.

use std::path::Path;

use serde::Serialize;
use sesame_core::BrokerError;
use sesame_ipc::admin::{ReloadFailure, ReloadResult};
use sesame_ipc::consent::{ActivityInfo, GrantInfo, PendingInfo};
use sesame_ipc::protocol::{AccountInfo, LoginDeviceStartResult, LogoutResult, ProviderInfo};
use sesame_ipc::{ErrorKind, Remedy, RpcError};
use ts_rs::TS;

/// Marker: values of this type may be serialized to the webview (they hold no secret).
pub trait WebviewSafe: Serialize {}

/// A value checked to be [`WebviewSafe`]; serializes as the value itself.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Safe<T: WebviewSafe>(pub T);

/// Every command's return type.
pub type Answer<T> = Result<Safe<T>, CommandError>;

/// The success path of an adapter: `ok(broker.accounts())`.
pub fn ok<T: WebviewSafe>(value: T) -> Answer<T> {
    Ok(Safe(value))
}

impl WebviewSafe for () {}
impl WebviewSafe for bool {}
impl WebviewSafe for i64 {}
impl<T: WebviewSafe> WebviewSafe for Vec<T> {}
impl<T: WebviewSafe> WebviewSafe for Option<T> {}
impl WebviewSafe for AccountInfo {}
impl WebviewSafe for AccountView {}
impl WebviewSafe for ProviderInfo {}
impl WebviewSafe for GrantInfo {}
impl WebviewSafe for ActivityInfo {}
impl WebviewSafe for PendingInfo {}
impl WebviewSafe for LogoutResult {}
/// The user code is meant to be shown; the device code stays in the broker's polling task.
impl WebviewSafe for LoginDeviceStartResult {}
impl WebviewSafe for Overview {}
impl WebviewSafe for ProvidersView {}
impl WebviewSafe for ReloadResult {}
impl WebviewSafe for LoginStarted {}
impl WebviewSafe for ConsentView {}

/// `app_overview`: what the main window's header and banners need.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Overview {
    pub state: CoreState,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional = nullable)]
    pub message: Option<String>,
    pub demo: bool,
    pub config_path: String,
    pub socket_path: String,
    pub pending: usize,
    pub accounts_needing_reauth: usize,
    pub autostart: bool,
    pub version: &'static str,
}

/// Whether the app hosts the broker (`state::Core`): `running`, or why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CoreState {
    Running,
    /// Another broker (usually `sesame daemon`) serves the socket.
    Conflict,
    /// The broker could not start: `message` says why.
    ConfigError,
}

/// An account as the app lists it: the wire's `AccountInfo` and the name to show for it
/// (`AccountInfo::display_name`, the one rule every front end uses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AccountView {
    #[serde(flatten)]
    pub account: AccountInfo,
    pub display_name: String,
}

impl From<AccountInfo> for AccountView {
    fn from(account: AccountInfo) -> Self {
        AccountView { display_name: account.display_name().to_owned(), account }
    }
}

/// `providers_list`.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ProvidersView {
    pub providers: Vec<ProviderInfo>,
    pub config_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional = nullable)]
    pub config_error: Option<String>,
    /// A reload found the file broken: the config before it is still in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional = nullable)]
    pub reload_failure: Option<ReloadFailure>,
}

/// `login_start`: the broker's `LoginStartResult` minus the redirect URI (nothing for the
/// page), plus whether the browser could be opened.
#[derive(Debug, Clone, Serialize, TS)]
pub struct LoginStarted {
    pub login_id: String,
    /// The page shows it as a link too, in case the browser did not open.
    pub authorization_url: String,
    pub expires_at: i64,
    /// Why the browser could not be opened, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional = nullable)]
    pub browser_error: Option<String>,
}

/// `consent_current`: the request on screen.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ConsentView {
    pub request: PendingInfo,
    /// Who `request.account` is, for people (`AccountInfo::display_name`); absent when the
    /// request names a provider with several accounts (`request.accounts` has their names).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional = nullable)]
    pub account_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional = nullable)]
    pub icon_data_url: Option<String>,
    pub scopes: Vec<ScopeWords>,
    /// The buttons stay disabled this long after the window shows a request, so a click or
    /// key press meant for another window cannot approve it.
    pub security_delay_ms: u64,
}

/// A scope and what it lets a program do, in plain words.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ScopeWords {
    pub scope: String,
    pub description: String,
}

/// `{kind, message, remedy?}`, what every failed command rejects with. `message` says what
/// went wrong in words for any front end; `remedy`, when there is one thing to do about it,
/// says what as data, and the UI renders it in the app's words (its pages and buttons).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CommandError {
    pub kind: CommandErrorKind,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional = nullable)]
    pub remedy: Option<Remedy>,
}

/// A protocol error kind (docs/protocol.md) or one of the app's own; one string either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(untagged)]
pub enum CommandErrorKind {
    Protocol(ErrorKind),
    App(AppErrorKind),
}

/// Error kinds only the app has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AppErrorKind {
    /// The app hosts no broker: another one serves the socket, or the config is broken.
    NotRunning,
}

impl CommandErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandErrorKind::Protocol(kind) => kind.as_str(),
            CommandErrorKind::App(AppErrorKind::NotRunning) => "not_running",
        }
    }
}

impl From<ErrorKind> for CommandErrorKind {
    fn from(kind: ErrorKind) -> Self {
        CommandErrorKind::Protocol(kind)
    }
}

impl From<AppErrorKind> for CommandErrorKind {
    fn from(kind: AppErrorKind) -> Self {
        CommandErrorKind::App(kind)
    }
}

impl PartialEq<&str> for CommandErrorKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl CommandError {
    pub fn new(kind: impl Into<CommandErrorKind>, message: impl Into<String>) -> Self {
        CommandError { kind: kind.into(), message: message.into(), remedy: None }
    }

    /// The app hosts no broker (another one serves the socket, or the config is broken).
    pub fn not_running(why: &str) -> Self {
        CommandError::new(AppErrorKind::NotRunning, why)
    }
}

impl From<BrokerError> for CommandError {
    fn from(e: BrokerError) -> Self {
        CommandError { kind: e.kind().into(), message: e.to_string(), remedy: e.remedy() }
    }
}

/// An error from a broker on the socket: its message ends with the remedy in the CLI's
/// words (`RpcError::with_remedy`), which the app leaves out, since it renders the remedy
/// itself.
impl From<RpcError> for CommandError {
    fn from(e: RpcError) -> Self {
        let remedy = e.remedy().cloned();
        let mut message = e.message;
        if let Some(r) = &remedy {
            if let Some(bare) = message.strip_suffix(&format!("; {}", r.cli_words())) {
                message = bare.to_owned();
            }
        }
        CommandError { kind: e.data.kind.into(), message, remedy }
    }
}

pub fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Autoref probe: `(&Probe::<T>(..)).safe()` finds `IsSafe` (on `Probe<T>`) first when
    /// `T: WebviewSafe`, else falls back to `NotSafe` (on `&Probe<T>`). Lets a test assert
    /// that a type is *not* WebviewSafe on stable Rust.
    struct Probe<T>(std::marker::PhantomData<T>);
    trait IsSafe {
        fn safe(&self) -> bool {
            true
        }
    }
    trait NotSafe {
        fn safe(&self) -> bool {
            false
        }
    }
    impl<T: WebviewSafe> IsSafe for Probe<T> {}
    impl<T> NotSafe for &Probe<T> {}

    #[test]
    #[allow(clippy::needless_borrow)] // the `&` is the probe: every call is spelled the same
    fn token_carrying_types_are_not_webview_safe() {
        assert!(!(&Probe::<sesame_ipc::protocol::TokenResult>(Default::default())).safe());
        assert!(!(&Probe::<sesame_ipc::protocol::SetSecretParams>(Default::default())).safe());
        assert!(
            !(&Probe::<sesame_ipc::protocol::LoginStartResult>(Default::default())).safe(),
            "use LoginStarted"
        );
        assert!((&Probe::<AccountInfo>(Default::default())).safe());
        assert!((&Probe::<Vec<ConsentView>>(Default::default())).safe());
    }

    #[test]
    fn errors_carry_the_protocol_kind() {
        let e: CommandError = BrokerError::NoSuchPending(7).into();
        assert_eq!(e.kind, "no_such_pending");
        // What to do next is the remedy (the UI says it in the app's words), not CLI words.
        assert_eq!(e.remedy, Some(Remedy::ListPending));
        assert!(e.message.contains("pending request 7") && !e.message.contains("sesame"));
        assert_eq!(
            serde_json::to_value(CommandError::not_running("x")).unwrap(),
            serde_json::json!({"kind": "not_running", "message": "x"})
        );
    }

    #[test]
    fn kinds_are_the_same_strings_as_before() {
        use ErrorKind::*;
        for kind in [
            BadRequest,
            FrameTooLarge,
            MethodNotFound,
            Forbidden,
            ConsentDenied,
            ConsentTimeout,
            ConsentRequired,
            ConsentWithdrawn,
            NoSuchPending,
            NoSuchGrant,
            NoSuchProvider,
            NoSuchAccount,
            AmbiguousAccount,
            InsufficientScope,
            ReauthRequired,
            ProviderError,
            ProviderUnreachable,
            KeyringUnavailable,
            NoSuchLogin,
            LoginFailed,
            AccessDenied,
            LoginTimeout,
            LoginCancelled,
            ClientSecretMissing,
            Internal,
            Unknown,
        ] {
            let ours = CommandErrorKind::from(kind);
            assert_eq!(serde_json::to_value(ours).unwrap(), serde_json::to_value(kind).unwrap());
            assert_eq!(serde_json::to_value(ours).unwrap(), kind.as_str());
        }
        assert_eq!(
            serde_json::to_value(CommandErrorKind::from(AppErrorKind::NotRunning)).unwrap(),
            "not_running"
        );
        for (state, name) in [
            (CoreState::Running, "running"),
            (CoreState::Conflict, "conflict"),
            (CoreState::ConfigError, "config_error"),
        ] {
            assert_eq!(serde_json::to_value(state).unwrap(), name);
        }
    }

    #[test]
    fn a_remedy_goes_along_as_data() {
        let e: CommandError = BrokerError::ReauthRequired {
            account: "work-1".into(),
            provider: "work".into(),
            why: "refused".into(),
        }
        .into();
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({
                "kind": "reauth_required",
                "message": "account `work-1` must sign in again (refused)",
                "remedy": {"do": "sign_in_again", "provider": "work"},
            })
        );
        // From a broker on the socket: the CLI's words come off the message.
        let wire = RpcError::from(&BrokerError::NoSuchPending(7));
        assert!(wire.message.contains("sesame pending"));
        let e = CommandError::from(wire);
        assert_eq!(e, CommandError::from(BrokerError::NoSuchPending(7)));
        let plain = CommandError::from(RpcError::new(ErrorKind::Internal, "x; y"));
        assert_eq!((plain.message.as_str(), plain.remedy), ("x; y", None));
    }

    #[test]
    fn an_account_view_is_the_account_and_its_display_name() {
        let mut account = AccountInfo {
            id: "work-1".into(),
            provider: "work".into(),
            issuer: "https://idp.example".into(),
            subject: "s-1".into(),
            email: None,
            name: Some("Ann".into()),
            scopes: sesame_ipc::ScopeSet::from(["openid"]),
            status: sesame_ipc::protocol::AccountStatus::Active,
            created_at: 1,
            last_refreshed_at: None,
        };
        let mut expected = serde_json::to_value(&account).unwrap();
        expected["display_name"] = "Ann".into();
        assert_eq!(serde_json::to_value(AccountView::from(account.clone())).unwrap(), expected);
        account.email = Some("ann@example.com".into());
        assert_eq!(AccountView::from(account).display_name, "ann@example.com");
    }
}
