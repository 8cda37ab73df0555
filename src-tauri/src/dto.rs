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
use sesame_ipc::consent::{ActivityInfo, GrantInfo, PendingInfo};
use sesame_ipc::protocol::{AccountInfo, LoginDeviceStartResult, LogoutResult, ProviderInfo};
use sesame_ipc::RpcError;

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
impl WebviewSafe for ProviderInfo {}
impl WebviewSafe for GrantInfo {}
impl WebviewSafe for ActivityInfo {}
impl WebviewSafe for PendingInfo {}
impl WebviewSafe for LogoutResult {}
/// The user code is meant to be shown; the device code stays in the broker's polling task.
impl WebviewSafe for LoginDeviceStartResult {}
impl WebviewSafe for Overview {}
impl WebviewSafe for ProvidersView {}
impl WebviewSafe for LoginStarted {}
impl WebviewSafe for ConsentView {}

/// `app_overview`: what the main window's header and banners need.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    /// `running` | `conflict` | `config_error`.
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub demo: bool,
    pub config_path: String,
    pub socket_path: String,
    pub pending: usize,
    pub accounts_needing_reauth: usize,
    pub autostart: bool,
    pub version: &'static str,
}

/// `providers_list`.
#[derive(Debug, Clone, Serialize)]
pub struct ProvidersView {
    pub providers: Vec<ProviderInfo>,
    pub config_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_error: Option<String>,
}

/// `login_start`: the broker's `LoginStartResult` minus the redirect URI (nothing for the
/// page), plus whether the browser could be opened.
#[derive(Debug, Clone, Serialize)]
pub struct LoginStarted {
    pub login_id: String,
    /// The page shows it as a link too, in case the browser did not open.
    pub authorization_url: String,
    pub expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser_error: Option<String>,
}

/// `consent_current`: the request on screen.
#[derive(Debug, Clone, Serialize)]
pub struct ConsentView {
    pub request: PendingInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon_data_url: Option<String>,
    pub scopes: Vec<ScopeWords>,
    /// The buttons stay disabled this long after the window shows a request, so a click or
    /// key press meant for another window cannot approve it.
    pub security_delay_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScopeWords {
    pub scope: String,
    pub description: String,
}

/// `{kind, message}`: `kind` is a protocol error kind (docs/protocol.md) or `not_running`;
/// `message` says what to do next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandError {
    pub kind: String,
    pub message: String,
}

impl CommandError {
    pub fn new(kind: &str, message: impl Into<String>) -> Self {
        CommandError { kind: kind.into(), message: message.into() }
    }

    /// The app hosts no broker (another one serves the socket, or the config is broken).
    pub fn not_running(why: &str) -> Self {
        CommandError::new("not_running", why)
    }
}

impl From<BrokerError> for CommandError {
    fn from(e: BrokerError) -> Self {
        CommandError::new(e.kind().as_str(), e.to_string())
    }
}

impl From<RpcError> for CommandError {
    fn from(e: RpcError) -> Self {
        CommandError::new(e.kind().as_str(), e.message)
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
        assert!(e.message.contains("sesame pending"));
        assert_eq!(
            serde_json::to_value(CommandError::not_running("x")).unwrap(),
            serde_json::json!({"kind": "not_running", "message": "x"})
        );
    }
}
