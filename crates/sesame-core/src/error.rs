//! The broker's error type. Every variant maps to one documented `ErrorKind` and a message
//! that tells the user what to do next. No variant ever holds a token.

use sesame_ipc::{ErrorKind, RpcError};

use crate::db::DbError;
use crate::keyring::KeyringError;
use crate::oauth::OAuthError;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("{0}")]
    BadRequest(String),
    #[error("there is no provider `{id}` in the config; configured: {known}")]
    NoSuchProvider { id: String, known: String },
    #[error("there is no account `{0}`; `sesame accounts` lists them, `sesame login <provider>` adds one")]
    NoSuchAccount(String),
    #[error(
        "provider `{provider}` has several accounts ({ids}); name one of them by its account id"
    )]
    AmbiguousAccount { provider: String, ids: String },
    #[error("account `{account}` was not granted {missing}; ask for fewer scopes, or add them to the provider's `scopes` and sign in again")]
    InsufficientScope { account: String, missing: String },
    #[error("account `{account}` must sign in again ({why}); run `sesame login {provider}`")]
    ReauthRequired { account: String, provider: String, why: String },
    #[error("there is no sign-in `{0}` in progress; start one with `sesame login <provider>`")]
    NoSuchLogin(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("you denied {app} a token for account `{account}`; it can ask again, and `sesame grants` shows what is allowed")]
    ConsentDenied { app: String, account: String },
    #[error("nobody answered whether {app} may have a token for account `{account}`; answer with `sesame pending` and `sesame approve <id>` while the request waits")]
    ConsentTimeout { app: String, account: String },
    #[error("there is no pending request {0} (answered already, or it timed out); `sesame pending` lists them")]
    NoSuchPending(u64),
    #[error("there is no grant {0}; `sesame grants` lists them")]
    NoSuchGrant(i64),
    /// `hint` says where the user finds the secret.
    #[error("provider `{provider}` needs a client secret and none is stored: {hint}; then run `sesame secret set {provider}` and paste it when asked")]
    ClientSecretMissing { provider: String, hint: String },
    /// The provider refused the client's own credentials (`invalid_client`): usually a wrong
    /// or replaced client secret.
    #[error("provider `{provider}` refused Sesame's client credentials ({detail}); if the client secret is wrong or was replaced, store the right one with `sesame secret set {provider}`, and check client_id in the config")]
    ClientRejected { provider: String, detail: String },
    #[error("provider `{provider}` offers no device sign-in: {why}; sign in in the browser instead with `sesame login {provider}`")]
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
    #[error("{0}")]
    Internal(String),
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
            BrokerError::NoSuchPending(_) => ErrorKind::NoSuchPending,
            BrokerError::NoSuchGrant(_) => ErrorKind::NoSuchGrant,
            BrokerError::ClientSecretMissing { .. } => ErrorKind::ClientSecretMissing,
            BrokerError::ClientRejected { .. } => ErrorKind::ProviderError,
            BrokerError::DeviceFlowUnsupported { .. } => ErrorKind::BadRequest,
            BrokerError::OAuth(e) | BrokerError::Hinted { source: e, .. } => e.kind(),
            BrokerError::Keyring(_) => ErrorKind::KeyringUnavailable,
            BrokerError::Db(_) | BrokerError::Internal(_) => ErrorKind::Internal,
        }
    }
}

impl From<BrokerError> for RpcError {
    fn from(e: BrokerError) -> RpcError {
        RpcError::new(e.kind(), e.to_string())
    }
}

impl From<&BrokerError> for RpcError {
    fn from(e: &BrokerError) -> RpcError {
        RpcError::new(e.kind(), e.to_string())
    }
}
