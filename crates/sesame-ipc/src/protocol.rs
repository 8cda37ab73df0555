//! JSON-RPC 2.0 messages and Sesame's methods. `docs/protocol.md` is the prose version of
//! this file; keep the two in step.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Remedy, ScopeSet, Secret};

/// Bumped when a method changes incompatibly. `hello` reports it.
pub const PROTOCOL_VERSION: u32 = 1;

/// Method names: generated from the method table (`methods.rs`), the one place that
/// declares each method's name, access, params and result.
pub use crate::methods::method;

/// `token.get`'s params and result (their own file: `token.rs`).
pub use crate::token::{TokenGetParams, TokenResult, DEFAULT_MIN_TTL};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub jsonrpc: String,
    #[serde(default)]
    pub id: Value,
    pub method: String,
    #[serde(default)]
    pub params: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Response {
    pub jsonrpc: String,
    pub id: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RpcError>,
}

impl Response {
    pub fn ok(id: Value, result: Value) -> Self {
        Response { jsonrpc: "2.0".into(), id, result: Some(result), error: None }
    }
    pub fn err(id: Value, error: RpcError) -> Self {
        Response { jsonrpc: "2.0".into(), id, result: None, error: Some(error) }
    }
}

/// What went wrong, for programs: every error reply carries one in `error.data.kind`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The line was not JSON, not JSON-RPC 2.0, or its params did not fit the method.
    BadRequest,
    /// A line longer than 64 KiB; the broker closes the connection after this reply.
    FrameTooLarge,
    MethodNotFound,
    /// The peer is not allowed to do this: another uid, a program Sesame cannot identify, or
    /// a management call from anything but Sesame's own binaries.
    Forbidden,
    /// The user denied this program the token.
    ConsentDenied,
    /// Nobody answered the consent question in time.
    ConsentTimeout,
    /// The program has no grant and asked not to wait (`"wait": false`): nobody was asked.
    ConsentRequired,
    /// The program the request was made for exited (or its connection closed) before the
    /// user answered: the question was withdrawn and nothing was handed out.
    ConsentWithdrawn,
    NoSuchPending,
    NoSuchGrant,
    NoSuchProvider,
    NoSuchAccount,
    /// A provider id matched several accounts; name the account id instead.
    AmbiguousAccount,
    /// The scopes asked for are not among the account's scopes.
    InsufficientScope,
    /// The provider no longer accepts the refresh token: sign in again.
    ReauthRequired,
    /// The provider answered with an OAuth error.
    ProviderError,
    /// The provider could not be reached (network, 5xx, timeout).
    ProviderUnreachable,
    /// The Secret Service is absent, locked or not answering.
    KeyringUnavailable,
    NoSuchLogin,
    /// The sign-in failed: wrong `state`/`iss`, a bad ID token, an unusable answer.
    LoginFailed,
    /// The user (or the provider) refused the sign-in.
    AccessDenied,
    LoginTimeout,
    LoginCancelled,
    /// The provider needs a client secret and none is stored: `sesame secret set <provider>`.
    ClientSecretMissing,
    /// The broker will not take this on now: it serves its most connections at once, or
    /// this program already has its most questions waiting for the user. Try again later.
    Busy,
    /// The config file does not parse (`config.reload`): the message says where; the
    /// config in force is unchanged.
    ConfigInvalid,
    /// A bug or an unexpected local failure (e.g. the database); the message says which.
    Internal,
    /// A kind this client does not know yet (a newer broker).
    #[serde(other)]
    Unknown,
}

impl ErrorKind {
    /// JSON-RPC code: the standard ones where they fit, -32000 for application errors.
    pub fn code(self) -> i64 {
        match self {
            ErrorKind::BadRequest => -32600,
            ErrorKind::MethodNotFound => -32601,
            _ => -32000,
        }
    }

    pub fn as_str(self) -> &'static str {
        // serde's names, spelled out so this stays a `&'static str` (a test keeps them equal).
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::FrameTooLarge => "frame_too_large",
            ErrorKind::MethodNotFound => "method_not_found",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::ConsentDenied => "consent_denied",
            ErrorKind::ConsentTimeout => "consent_timeout",
            ErrorKind::ConsentRequired => "consent_required",
            ErrorKind::ConsentWithdrawn => "consent_withdrawn",
            ErrorKind::NoSuchPending => "no_such_pending",
            ErrorKind::NoSuchGrant => "no_such_grant",
            ErrorKind::NoSuchProvider => "no_such_provider",
            ErrorKind::NoSuchAccount => "no_such_account",
            ErrorKind::AmbiguousAccount => "ambiguous_account",
            ErrorKind::InsufficientScope => "insufficient_scope",
            ErrorKind::ReauthRequired => "reauth_required",
            ErrorKind::ProviderError => "provider_error",
            ErrorKind::ProviderUnreachable => "provider_unreachable",
            ErrorKind::KeyringUnavailable => "keyring_unavailable",
            ErrorKind::NoSuchLogin => "no_such_login",
            ErrorKind::LoginFailed => "login_failed",
            ErrorKind::AccessDenied => "access_denied",
            ErrorKind::LoginTimeout => "login_timeout",
            ErrorKind::LoginCancelled => "login_cancelled",
            ErrorKind::ClientSecretMissing => "client_secret_missing",
            ErrorKind::Busy => "busy",
            ErrorKind::ConfigInvalid => "config_invalid",
            ErrorKind::Internal => "internal",
            ErrorKind::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorData {
    pub kind: ErrorKind,
    /// What the user can do about it, as data (the message says it in the CLI's words).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedy: Option<Remedy>,
}

/// A JSON-RPC error object. `message` is one sentence for people, saying what to do next.
#[derive(Debug, Clone, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: ErrorData,
}

impl RpcError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        RpcError {
            code: kind.code(),
            message: message.into(),
            data: ErrorData { kind, remedy: None },
        }
    }

    /// An error with what to do about it: the message gets the remedy in the CLI's words
    /// (programs on the socket run in a terminal), `data.remedy` keeps it as data.
    pub fn with_remedy(
        kind: ErrorKind,
        message: impl Into<String>,
        remedy: Option<Remedy>,
    ) -> Self {
        let mut message = message.into();
        if let Some(r) = &remedy {
            message = format!("{message}; {}", r.cli_words());
        }
        RpcError { code: kind.code(), message, data: ErrorData { kind, remedy } }
    }

    pub fn remedy(&self) -> Option<&Remedy> {
        self.data.remedy.as_ref()
    }
    pub fn kind(&self) -> ErrorKind {
        self.data.kind
    }
}

/// Reads one request line. A line that is not a JSON-RPC 2.0 request becomes the error
/// reply to send back (with the request's id when one could be read).
pub fn parse_request(line: &str) -> Result<Request, Box<Response>> {
    let value: Value = serde_json::from_str(line).map_err(|e| {
        Box::new(Response::err(
            Value::Null,
            RpcError::new(
                ErrorKind::BadRequest,
                format!("the line is not valid JSON ({e}); send one JSON-RPC 2.0 object per line"),
            ),
        ))
    })?;
    let id = value.get("id").cloned().unwrap_or(Value::Null);
    let request: Request = serde_json::from_value(value).map_err(|e| {
        Box::new(Response::err(id.clone(), RpcError::new(ErrorKind::BadRequest, format!("not a JSON-RPC 2.0 request ({e}); it needs \"jsonrpc\": \"2.0\", \"id\" and \"method\""))))
    })?;
    if request.jsonrpc != "2.0" {
        return Err(Box::new(Response::err(
            id,
            RpcError::new(ErrorKind::BadRequest, "\"jsonrpc\" must be \"2.0\""),
        )));
    }
    Ok(request)
}

// ---- methods ---------------------------------------------------------------------------

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelloParams {
    /// Free text naming the client, for logs only (never trusted).
    #[serde(default)]
    pub client: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HelloResult {
    pub protocol: u32,
    pub broker: String,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderInfo {
    pub id: String,
    pub issuer: String,
    pub scopes: ScopeSet,
    /// How accounts of this provider sign in: `authorization_code` (a person, in the
    /// browser) or `client_credentials` (a machine account: `login.client_credentials`).
    #[serde(default = "default_grant")]
    pub grant: String,
}

pub const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";

fn default_grant() -> String {
    GRANT_AUTHORIZATION_CODE.into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProvidersListResult {
    pub providers: Vec<ProviderInfo>,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    ReauthRequired,
    /// Its provider is no longer in the config (shown, never stored): the account is kept
    /// and serves no token until the provider is back or the account is signed out.
    ProviderRemoved,
}

/// An account as shown to people and programs: never a secret.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    pub id: String,
    pub provider: String,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub scopes: ScopeSet,
    pub status: AccountStatus,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last refresh at the provider, if any.
    pub last_refreshed_at: Option<i64>,
}

impl AccountInfo {
    /// How people see the account, everywhere (CLI, tray, app): its e-mail, else its name,
    /// else the provider's subject identifier.
    pub fn display_name(&self) -> &str {
        self.email.as_deref().or(self.name.as_deref()).unwrap_or(&self.subject)
    }
}

/// `accounts.list`. Sesame's own tools get every account, complete; any other program gets
/// only the accounts it holds a grant for, and of those only what it needs to ask for a
/// token (no e-mail, name, subject or issuer).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountsListResult {
    pub accounts: Vec<ListedAccount>,
}

/// One entry of `accounts.list`: which of the two depends on who asks, never on the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ListedAccount {
    /// For Sesame's own tools.
    Complete(AccountInfo),
    /// For a program that holds a grant for the account.
    Granted(GrantedAccount),
}

impl ListedAccount {
    pub fn id(&self) -> &str {
        match self {
            ListedAccount::Complete(a) => &a.id,
            ListedAccount::Granted(a) => &a.id,
        }
    }
}

/// What a program learns of an account it holds a grant for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantedAccount {
    /// The id to pass to `token.get` (a hash of issuer and subject: nothing personal).
    pub id: String,
    pub provider: String,
    /// The scopes its grants for this account hold, together.
    pub scopes: ScopeSet,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginStartParams {
    pub provider: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginStartResult {
    pub login_id: String,
    /// Open this in the user's browser.
    pub authorization_url: String,
    pub redirect_uri: String,
    /// Unix seconds after which the loopback listener gives up.
    pub expires_at: i64,
}

/// `login.device_start` (RFC 8628): show `user_code` and `verification_uri` to the user, who
/// enters the code there on any device; then `login.wait` as for `login.start`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginDeviceStartResult {
    pub login_id: String,
    /// What the user types at `verification_uri`.
    pub user_code: String,
    pub verification_uri: String,
    /// The same page with the code filled in, when the provider offers one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_uri_complete: Option<String>,
    /// Seconds between the broker's polls at the provider (informational).
    pub interval: u64,
    /// Unix seconds when the code expires and the sign-in ends with `login_timeout`.
    pub expires_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginIdParams {
    pub login_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginWaitResult {
    pub account: AccountInfo,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountParams {
    /// An account id, or a provider id that has exactly one account.
    pub account: String,
}

/// What the provider said when asked to revoke the refresh token (RFC 7009).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Revocation {
    /// The provider answered 200: the refresh token is dead there.
    Confirmed,
    /// The provider has no revocation endpoint; revoke the app in its settings (`hint`
    /// says where, when Sesame knows).
    NotSupported {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hint: Option<String>,
    },
    /// The provider could not be reached or refused; the local sign-out still happened.
    Failed { reason: String },
    /// There was nothing to revoke (a machine account holds no refresh token, and no
    /// access token of it was cached); `reason` says so.
    NotNeeded { reason: String },
}

/// Params of `provider.delete_secret` and `login.client_credentials`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderParams {
    pub provider: String,
}

/// Params of `provider.set_secret`: the one request that carries a secret to the broker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetSecretParams {
    pub provider: String,
    #[serde(
        serialize_with = "Secret::serialize_exposed",
        deserialize_with = "Secret::deserialize_exposed"
    )]
    pub secret: Secret,
}

/// Result of `provider.set_secret` and `provider.delete_secret`: never the secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecretResult {
    pub provider: String,
    /// `set`: a secret was stored before and is replaced; `delete`: one was deleted.
    pub existed: bool,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogoutResult {
    pub account: String,
    pub revocation: Revocation,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Empty {}

/// A JSON-RPC notification (no `id`). The broker sends them only on a connection that
/// called `events.subscribe`; `params` is a [`crate::events::BrokerEvent`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Notification {
    pub jsonrpc: String,
    pub method: String,
    pub params: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both views of `accounts.list` read back as what was sent: a program's has no field
    /// of the complete one beyond id, provider and scopes.
    #[test]
    fn listed_accounts_round_trip_in_both_views() {
        let full = AccountInfo {
            id: "local-1".into(),
            provider: "local".into(),
            issuer: "http://i".into(),
            subject: "alice".into(),
            email: Some("alice@example.test".into()),
            name: None,
            scopes: ScopeSet::from(["openid"]),
            status: AccountStatus::Active,
            created_at: 1,
            last_refreshed_at: None,
        };
        let granted = GrantedAccount {
            id: "local-1".into(),
            provider: "local".into(),
            scopes: ScopeSet::from(["openid"]),
        };
        let list = AccountsListResult {
            accounts: vec![ListedAccount::Complete(full), ListedAccount::Granted(granted)],
        };
        let json = serde_json::to_value(&list).unwrap();
        assert_eq!(
            json["accounts"][1],
            serde_json::json!({"id": "local-1", "provider": "local", "scopes": ["openid"]})
        );
        let back: AccountsListResult = serde_json::from_value(json).unwrap();
        assert_eq!(back.accounts, list.accounts);
        assert!(back.accounts.iter().all(|a| a.id() == "local-1"));
    }

    #[test]
    fn kind_names_match_serde() {
        for kind in [
            ErrorKind::BadRequest,
            ErrorKind::FrameTooLarge,
            ErrorKind::AmbiguousAccount,
            ErrorKind::KeyringUnavailable,
            ErrorKind::LoginCancelled,
            ErrorKind::ConsentDenied,
            ErrorKind::ConsentTimeout,
            ErrorKind::ConsentRequired,
            ErrorKind::ConsentWithdrawn,
            ErrorKind::NoSuchPending,
            ErrorKind::NoSuchGrant,
            ErrorKind::ClientSecretMissing,
            ErrorKind::Busy,
            ErrorKind::ConfigInvalid,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), Value::String(kind.as_str().into()));
        }
    }

    #[test]
    fn malformed_lines_become_error_replies() {
        let r = parse_request("{not json").unwrap_err();
        assert_eq!(r.error.unwrap().kind(), ErrorKind::BadRequest);
        let r = parse_request(r#"{"jsonrpc":"1.0","id":7,"method":"hello"}"#).unwrap_err();
        assert_eq!(r.id, Value::from(7));
        let r = parse_request(r#"{"id":3}"#).unwrap_err();
        assert_eq!(r.id, Value::from(3));
        assert!(parse_request(r#"{"jsonrpc":"2.0","id":1,"method":"hello"}"#).is_ok());
    }

    #[test]
    fn token_result_carries_the_token_and_debug_hides_it() {
        let t = TokenResult {
            access_token: Secret::new("abc"),
            token_type: "Bearer".into(),
            expires_at: 1,
            scope: ScopeSet::parse("openid"),
            account: "a".into(),
        };
        assert!(serde_json::to_string(&t).unwrap().contains("\"access_token\":\"abc\""));
        assert!(!format!("{t:?}").contains("abc"));
    }

    #[test]
    fn set_secret_params_carry_the_secret_only_on_the_wire() {
        let p = SetSecretParams { provider: "machine".into(), secret: Secret::new("s3cr3t") };
        let line = serde_json::to_string(&p).unwrap();
        assert_eq!(line, r#"{"provider":"machine","secret":"s3cr3t"}"#);
        assert!(!format!("{p:?}").contains("s3cr3t"));
        let back: SetSecretParams = serde_json::from_str(&line).unwrap();
        assert_eq!(back.secret.expose(), "s3cr3t");
        assert!(serde_json::from_str::<SetSecretParams>(r#"{"provider":"m","secret":"s","x":1}"#)
            .is_err());
    }

    #[test]
    fn provider_info_defaults_to_the_code_grant() {
        let p: ProviderInfo =
            serde_json::from_str(r#"{"id":"a","issuer":"https://i","scopes":[]}"#).unwrap();
        assert_eq!(p.grant, GRANT_AUTHORIZATION_CODE);
    }

    #[test]
    fn device_start_result_leaves_out_a_missing_complete_uri() {
        let r = LoginDeviceStartResult {
            login_id: "l".into(),
            user_code: "WDJB-MJHT".into(),
            verification_uri: "https://idp.example/device".into(),
            verification_uri_complete: None,
            interval: 5,
            expires_at: 1,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert!(v.get("verification_uri_complete").is_none(), "{v}");
        let back: LoginDeviceStartResult = serde_json::from_value(v).unwrap();
        assert_eq!((back.user_code.as_str(), back.interval), ("WDJB-MJHT", 5));
    }

    #[test]
    fn unknown_kinds_from_newer_brokers_parse() {
        let e: RpcError = serde_json::from_str(
            r#"{"code":-32000,"message":"m","data":{"kind":"something_new"}}"#,
        )
        .unwrap();
        assert_eq!(e.kind(), ErrorKind::Unknown);
    }
}
