//! The async client. One `Client` is one connection; calls on it run one after another.

use std::path::{Path, PathBuf};

use futures::{SinkExt, StreamExt};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use tokio::net::UnixStream;
use tokio_util::codec::{Framed, LinesCodec, LinesCodecError};

use crate::codec::frame_codec;
use crate::consent::*;
use crate::protocol::*;
use crate::Secret;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the Sesame broker at {path} ({cause}); start it with `sesame daemon` (or the Sesame app)")]
    Connect { path: PathBuf, cause: std::io::Error },
    #[error(transparent)]
    Rpc(#[from] RpcError),
    #[error("the connection to the broker failed: {0}")]
    Io(std::io::Error),
    #[error("the broker closed the connection; check that it is still running")]
    Closed,
    #[error("the broker's answer did not follow the protocol ({0}); is the broker the same version as this client?")]
    Protocol(String),
}

impl ClientError {
    /// The broker's error kind, when the broker answered with an error.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            ClientError::Rpc(e) => Some(e.kind()),
            _ => None,
        }
    }
}

pub struct Client {
    framed: Framed<UnixStream, LinesCodec>,
    next_id: u64,
}

impl Client {
    pub async fn connect(path: &Path) -> Result<Client, ClientError> {
        let stream = UnixStream::connect(path)
            .await
            .map_err(|cause| ClientError::Connect { path: path.to_owned(), cause })?;
        Ok(Client { framed: Framed::new(stream, frame_codec()), next_id: 1 })
    }

    /// Turns this connection into a stream of broker events (management only).
    pub async fn subscribe_events(mut self) -> Result<EventStream, ClientError> {
        let _: Empty = self.call(method::EVENTS_SUBSCRIBE, &Empty {}).await?;
        Ok(EventStream { framed: self.framed })
    }

    /// Sends one request and waits for its reply.
    pub async fn call<P: Serialize, R: DeserializeOwned>(
        &mut self,
        method: &str,
        params: &P,
    ) -> Result<R, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let request = Request {
            jsonrpc: "2.0".into(),
            id: Value::from(id),
            method: method.into(),
            params: serde_json::to_value(params)
                .map_err(|e| ClientError::Protocol(e.to_string()))?,
        };
        let line =
            serde_json::to_string(&request).map_err(|e| ClientError::Protocol(e.to_string()))?;
        let sent = self.framed.send(line).await.map_err(codec_error);
        // A broker that refuses the connection answers once (before reading) and closes:
        // when the send fails, that answer may still be waiting to be read.
        let reply = match self.framed.next().await {
            Some(Ok(line)) => line,
            Some(Err(e)) => return Err(sent.err().unwrap_or_else(|| codec_error(e))),
            None => return Err(sent.err().unwrap_or(ClientError::Closed)),
        };
        let response: Response =
            serde_json::from_str(&reply).map_err(|e| ClientError::Protocol(e.to_string()))?;
        // `id: null` is how the broker answers what it could not tie to a request (a refused
        // connection, an unreadable line): it is the answer to this call.
        let unattributed_error = response.id.is_null() && response.error.is_some();
        if response.id != id && !unattributed_error {
            return Err(ClientError::Protocol(format!(
                "reply for id {} while waiting for {id}",
                response.id
            )));
        }
        match (response.result, response.error) {
            (_, Some(error)) => Err(ClientError::Rpc(error)),
            (Some(result), None) => {
                serde_json::from_value(result).map_err(|e| ClientError::Protocol(e.to_string()))
            }
            (None, None) => {
                Err(ClientError::Protocol("a reply with neither result nor error".into()))
            }
        }
    }

    pub async fn hello(&mut self, client: &str) -> Result<HelloResult, ClientError> {
        self.call(method::HELLO, &HelloParams { client: Some(client.into()) }).await
    }

    pub async fn providers(&mut self) -> Result<Vec<ProviderInfo>, ClientError> {
        let r: ProvidersListResult = self.call(method::PROVIDERS_LIST, &Empty {}).await?;
        Ok(r.providers)
    }

    pub async fn accounts(&mut self) -> Result<Vec<AccountInfo>, ClientError> {
        let r: AccountsListResult = self.call(method::ACCOUNTS_LIST, &Empty {}).await?;
        Ok(r.accounts)
    }

    pub async fn token(&mut self, params: &TokenGetParams) -> Result<TokenResult, ClientError> {
        self.call(method::TOKEN_GET, params).await
    }

    pub async fn login_start(&mut self, provider: &str) -> Result<LoginStartResult, ClientError> {
        self.call(method::LOGIN_START, &LoginStartParams { provider: provider.into() }).await
    }

    /// Starts a device sign-in (RFC 8628); finish it with [`Client::login_wait`].
    pub async fn login_device_start(
        &mut self,
        provider: &str,
    ) -> Result<LoginDeviceStartResult, ClientError> {
        self.call(method::LOGIN_DEVICE_START, &LoginStartParams { provider: provider.into() }).await
    }

    /// Waits until the sign-in started by `login_start` or `login_device_start` ends
    /// (success, error or timeout).
    pub async fn login_wait(&mut self, login_id: &str) -> Result<AccountInfo, ClientError> {
        let r: LoginWaitResult =
            self.call(method::LOGIN_WAIT, &LoginIdParams { login_id: login_id.into() }).await?;
        Ok(r.account)
    }

    pub async fn login_cancel(&mut self, login_id: &str) -> Result<(), ClientError> {
        let _: Empty =
            self.call(method::LOGIN_CANCEL, &LoginIdParams { login_id: login_id.into() }).await?;
        Ok(())
    }

    pub async fn logout(&mut self, account: &str) -> Result<LogoutResult, ClientError> {
        self.call(method::ACCOUNT_LOGOUT, &AccountParams { account: account.into() }).await
    }

    /// Signs in a machine account (a `client_credentials` provider); no browser.
    pub async fn login_client_credentials(
        &mut self,
        provider: &str,
    ) -> Result<AccountInfo, ClientError> {
        let r: LoginWaitResult = self
            .call(method::LOGIN_CLIENT_CREDENTIALS, &ProviderParams { provider: provider.into() })
            .await?;
        Ok(r.account)
    }

    /// Stores `secret` as the provider's client secret in the broker's keyring.
    pub async fn set_secret(
        &mut self,
        provider: &str,
        secret: Secret,
    ) -> Result<SecretResult, ClientError> {
        self.call(
            method::PROVIDER_SET_SECRET,
            &SetSecretParams { provider: provider.into(), secret },
        )
        .await
    }

    pub async fn delete_secret(&mut self, provider: &str) -> Result<SecretResult, ClientError> {
        self.call(method::PROVIDER_DELETE_SECRET, &ProviderParams { provider: provider.into() })
            .await
    }
}

impl Client {
    // ---- management: only the broker's own binaries may call these -------------------

    pub async fn pending(&mut self) -> Result<Vec<PendingInfo>, ClientError> {
        let r: PendingListResult = self.call(method::PENDING_LIST, &Empty {}).await?;
        Ok(r.pending)
    }

    pub async fn answer(&mut self, id: u64, decision: Decision) -> Result<(), ClientError> {
        let _: Empty =
            self.call(method::PENDING_ANSWER, &PendingAnswerParams { id, decision }).await?;
        Ok(())
    }

    pub async fn grants(&mut self) -> Result<Vec<GrantInfo>, ClientError> {
        let r: GrantsListResult = self.call(method::GRANTS_LIST, &Empty {}).await?;
        Ok(r.grants)
    }

    pub async fn revoke(&mut self, params: &GrantsRevokeParams) -> Result<Vec<i64>, ClientError> {
        let r: GrantsRevokeResult = self.call(method::GRANTS_REVOKE, params).await?;
        Ok(r.revoked)
    }

    pub async fn activity(
        &mut self,
        params: &ActivityListParams,
    ) -> Result<Vec<ActivityInfo>, ClientError> {
        let r: ActivityListResult = self.call(method::ACTIVITY_LIST, params).await?;
        Ok(r.activity)
    }
}

fn codec_error(e: LinesCodecError) -> ClientError {
    match e {
        LinesCodecError::Io(e) => ClientError::Io(e),
        LinesCodecError::MaxLineLengthExceeded => {
            ClientError::Protocol("a reply longer than 64 KiB".into())
        }
    }
}

/// A subscribed connection: one event per `next`, `None` when the broker closes it.
pub struct EventStream {
    framed: Framed<UnixStream, LinesCodec>,
}

impl EventStream {
    pub async fn next(&mut self) -> Result<Option<crate::events::BrokerEvent>, ClientError> {
        let line = match self.framed.next().await {
            None => return Ok(None),
            Some(line) => line.map_err(codec_error)?,
        };
        let note: Notification =
            serde_json::from_str(&line).map_err(|e| ClientError::Protocol(e.to_string()))?;
        serde_json::from_value(note.params)
            .map(Some)
            .map_err(|e| ClientError::Protocol(e.to_string()))
    }
}
