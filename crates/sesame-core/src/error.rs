//! The broker's error type. Every variant maps to one documented `ErrorKind`. Its message
//! says what went wrong in words that fit every front end; what to do next is data,
//! [`BrokerError::remedy`], which the socket renders in the CLI's words and the app in its
//! own. No variant ever holds a token.

use sesame_ipc::{ErrorKind, Remedy, RpcError, ScopeSet};

use crate::db::DbError;
use crate::keyring::KeyringError;
use crate::oauth::OAuthError;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("{0}")]
    BadRequest(String),
    #[error("there is no provider `{id}` in the config; configured: {known}")]
    NoSuchProvider { id: String, known: String },
    #[error("there is no account `{0}`")]
    NoSuchAccount(String),
    #[error("provider `{provider}` has several accounts ({})", ids.join(", "))]
    AmbiguousAccount { provider: String, ids: Vec<String> },
    #[error("account `{account}` was not granted {missing}; ask for fewer scopes, or add them to the provider's `scopes` and sign in again")]
    InsufficientScope { account: String, missing: ScopeSet },
    #[error("account `{account}` must sign in again ({why})")]
    ReauthRequired { account: String, provider: String, why: String },
    #[error("there is no sign-in `{0}` in progress")]
    NoSuchLogin(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("you denied {app} a token for account `{account}`; it can ask again")]
    ConsentDenied { app: String, account: String },
    #[error("nobody answered whether {app} may have a token for account `{account}`")]
    ConsentTimeout { app: String, account: String },
    /// No grant covers the request and the program asked not to wait (`"wait": false`).
    #[error("no grant lets {app} have a token for account `{account}`, and it asked not to wait for an answer, so nobody was asked")]
    ConsentRequired { app: String, account: String },
    /// The request's asker went away while it waited; `why` says how, in a few words.
    #[error("{app} {why} while it waited for an answer about a token for account `{account}`, so Sesame withdrew its request and handed nothing out")]
    ConsentWithdrawn { app: String, account: String, why: String },
    #[error("there is no pending request {0} (answered already, timed out, or withdrawn because the program that asked went away)")]
    NoSuchPending(u64),
    /// An approval of a question that offers several accounts named none: which identity a
    /// program acts as is the user's choice, not a guess.
    #[error("request {id} lets you choose among several accounts ({}); an approval must name the one to hand out", ids.join(", "))]
    AccountNotChosen { id: u64, ids: Vec<String> },
    #[error("there is no grant {0}")]
    NoSuchGrant(i64),
    /// `hint` says where the user finds the secret.
    #[error("provider `{provider}` needs a client secret and none is stored: {hint}")]
    ClientSecretMissing { provider: String, hint: String },
    /// The provider refused the client's own credentials (`invalid_client`): usually a wrong
    /// or replaced client secret.
    #[error("provider `{provider}` refused Sesame's client credentials ({detail}); check client_id in the config, and if the client secret is wrong or was replaced, store the right one")]
    ClientRejected { provider: String, detail: String },
    /// The provider's `scopes_supported` lacks scopes the config asks for.
    #[error("provider `{provider}` does not offer {} {} (it offers: {}); remove {} from `scopes`{} in the config file, then sign in again", plural(unknown, "scope", "scopes"), quoted(unknown), offered.join(", "), plural(unknown, "it", "them"), line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    ScopeNotOffered {
        provider: String,
        unknown: Vec<String>,
        offered: Vec<String>,
        line: Option<usize>,
    },
    /// `redirect_port` is taken; `holder` names the program when the kernel says.
    #[error("provider `{provider}` pins the sign-in's redirect to port {port} (redirect_port), but 127.0.0.1:{port} is in use{}; stop that program and sign in again, or register another http://127.0.0.1:PORT/callback at the provider and set redirect_port to its port", holder.as_ref().map(|h| format!(" by {h}")).unwrap_or_default())]
    RedirectPortBusy { provider: String, port: u16, holder: Option<String> },
    #[error("provider `{provider}` offers no device sign-in: {why}")]
    DeviceFlowUnsupported { provider: String, why: String },
    /// A provider error with what this provider needs to allow it (a preset's hint).
    #[error("{source}; {hint}")]
    Hinted { source: OAuthError, hint: String },
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    #[error(transparent)]
    Db(#[from] DbError),
    /// Too much at once from one program (or for the broker): the message says what to wait for.
    #[error("{0}")]
    Busy(String),
    /// A reload found a config that does not parse (the message names the file and line,
    /// never a value of `client_secret`); the config in force is unchanged.
    #[error("{0}; fix it and reload again (`sesame reload`); until then the config that was in force stays in force")]
    ConfigInvalid(String),
    #[error("{0}")]
    Internal(String),
    /// An error that already happened elsewhere (a sign-in task), handed to every waiter.
    #[error("{}", .0.message)]
    Reported(ErrorReport),
}

fn plural(items: &[String], one: &'static str, many: &'static str) -> &'static str {
    if items.len() == 1 {
        one
    } else {
        many
    }
}

fn quoted(items: &[String]) -> String {
    items.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}

/// An error as data: what `login.wait` hands each of its waiters (an error itself cannot be
/// cloned; its kind, words and remedy can).
#[derive(Debug, Clone)]
pub struct ErrorReport {
    kind: ErrorKind,
    message: String,
    remedy: Option<Remedy>,
}

impl ErrorReport {
    pub fn of(e: &BrokerError) -> ErrorReport {
        ErrorReport { kind: e.kind(), message: e.to_string(), remedy: e.remedy() }
    }
}

impl BrokerError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            BrokerError::BadRequest(_) => ErrorKind::BadRequest,
            BrokerError::NoSuchProvider { .. } => ErrorKind::NoSuchProvider,
            BrokerError::NoSuchAccount(_) => ErrorKind::NoSuchAccount,
            BrokerError::AmbiguousAccount { .. } => ErrorKind::AmbiguousAccount,
            BrokerError::InsufficientScope { .. } => ErrorKind::InsufficientScope,
            BrokerError::ReauthRequired { .. } => ErrorKind::ReauthRequired,
            BrokerError::NoSuchLogin(_) => ErrorKind::NoSuchLogin,
            BrokerError::Forbidden(_) => ErrorKind::Forbidden,
            BrokerError::ConsentDenied { .. } => ErrorKind::ConsentDenied,
            BrokerError::ConsentTimeout { .. } => ErrorKind::ConsentTimeout,
            BrokerError::ConsentRequired { .. } => ErrorKind::ConsentRequired,
            BrokerError::ConsentWithdrawn { .. } => ErrorKind::ConsentWithdrawn,
            BrokerError::NoSuchPending(_) => ErrorKind::NoSuchPending,
            BrokerError::AccountNotChosen { .. } => ErrorKind::BadRequest,
            BrokerError::NoSuchGrant(_) => ErrorKind::NoSuchGrant,
            BrokerError::ClientSecretMissing { .. } => ErrorKind::ClientSecretMissing,
            BrokerError::ClientRejected { .. } => ErrorKind::ProviderError,
            BrokerError::RedirectPortBusy { .. } => ErrorKind::LoginFailed,
            BrokerError::ScopeNotOffered { .. } => ErrorKind::ProviderError,
            BrokerError::DeviceFlowUnsupported { .. } => ErrorKind::BadRequest,
            BrokerError::OAuth(e) | BrokerError::Hinted { source: e, .. } => e.kind(),
            BrokerError::Keyring(_) => ErrorKind::KeyringUnavailable,
            BrokerError::Busy(_) => ErrorKind::Busy,
            BrokerError::ConfigInvalid(_) => ErrorKind::ConfigInvalid,
            BrokerError::Db(_) | BrokerError::Internal(_) => ErrorKind::Internal,
            BrokerError::Reported(r) => r.kind,
        }
    }

    /// What the user can do about it, if there is one thing to do.
    pub fn remedy(&self) -> Option<Remedy> {
        let provider = |p: &String| p.clone();
        Some(match self {
            BrokerError::NoSuchAccount(_) => Remedy::ListAccounts,
            BrokerError::AmbiguousAccount { ids, .. } => Remedy::NameAccount { ids: ids.clone() },
            BrokerError::ReauthRequired { provider: p, .. } => {
                Remedy::SignInAgain { provider: provider(p) }
            }
            BrokerError::NoSuchLogin(_) => Remedy::SignIn { provider: None },
            BrokerError::ConsentDenied { .. } | BrokerError::NoSuchGrant(_) => Remedy::ListGrants,
            BrokerError::ConsentTimeout { .. } => Remedy::AnswerPending,
            BrokerError::ConsentRequired { .. } => Remedy::AllowProgram,
            BrokerError::NoSuchPending(_) => Remedy::ListPending,
            BrokerError::AccountNotChosen { id, ids } => {
                Remedy::ChooseAccount { pending: *id, ids: ids.clone() }
            }
            BrokerError::ClientSecretMissing { provider: p, .. }
            | BrokerError::ClientRejected { provider: p, .. } => {
                Remedy::StoreSecret { provider: provider(p) }
            }
            BrokerError::DeviceFlowUnsupported { provider: p, .. } => {
                Remedy::SignInInBrowser { provider: provider(p) }
            }
            BrokerError::Reported(r) => return r.remedy.clone(),
            _ => return None,
        })
    }
}

impl From<BrokerError> for RpcError {
    fn from(e: BrokerError) -> RpcError {
        RpcError::from(&e)
    }
}

impl From<&BrokerError> for RpcError {
    fn from(e: &BrokerError) -> RpcError {
        RpcError::with_remedy(e.kind(), e.to_string(), e.remedy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_says_what_to_do_in_the_clis_words_and_as_data() {
        let e = BrokerError::ReauthRequired {
            account: "work-1".into(),
            provider: "work".into(),
            why: "refused".into(),
        };
        assert_eq!(e.to_string(), "account `work-1` must sign in again (refused)");
        let wire = RpcError::from(&e);
        assert_eq!(
            wire.message,
            "account `work-1` must sign in again (refused); run `sesame login work`"
        );
        assert_eq!(wire.remedy(), Some(&Remedy::SignInAgain { provider: "work".into() }));
        assert!(RpcError::from(BrokerError::Internal("x".into())).remedy().is_none());
    }
}
