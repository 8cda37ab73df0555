//! The async client. One `Client` is one connection; calls on it run one after another.

use std::path::{Path, PathBuf};

use futures::{SinkExt, StreamExt};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use tokio::net::UnixStream;
use tokio_util::codec::{Framed, LinesCodec, LinesCodecError};

use crate::codec::reply_codec;
use crate::consent::*;
use crate::methods::{self as m, Method};
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
        Ok(Client { framed: Framed::new(stream, reply_codec()), next_id: 1 })
    }

    /// Turns this connection into a stream of broker events (management only).
    pub async fn subscribe_events(mut self) -> Result<EventStream, ClientError> {
        self.request::<m::EventsSubscribe>(&Empty {}).await?;
        Ok(EventStream { framed: self.framed })
    }

    /// Sends one request and waits for its reply. For a method of the table, prefer
    /// [`Client::request`], whose types come from the table; this is for raw calls.
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

    /// One call of a method of the table: its params and result types come from there.
    pub async fn request<M: Method>(
        &mut self,
        params: &M::Params,
    ) -> Result<M::Result, ClientError> {
        self.call(M::NAME, params).await
    }

    pub async fn hello(&mut self, client: &str) -> Result<HelloResult, ClientError> {
        self.request::<m::Hello>(&HelloParams { client: Some(client.into()) }).await
    }

    pub async fn providers(&mut self) -> Result<Vec<ProviderInfo>, ClientError> {
        Ok(self.request::<m::ProvidersList>(&Empty {}).await?.providers)
    }

    /// Every account for Sesame's own tools; for other programs, the ones they hold a grant
    /// for, without personal data (see [`ListedAccount`]).
    pub async fn accounts(&mut self) -> Result<Vec<ListedAccount>, ClientError> {
        Ok(self.request::<m::AccountsList>(&Empty {}).await?.accounts)
    }

    pub async fn token(&mut self, params: &TokenGetParams) -> Result<TokenResult, ClientError> {
        self.request::<m::TokenGet>(params).await
    }

    pub async fn login_start(&mut self, provider: &str) -> Result<LoginStartResult, ClientError> {
        self.request::<m::LoginStart>(&LoginStartParams { provider: provider.into() }).await
    }

    /// Starts a device sign-in (RFC 8628); finish it with [`Client::login_wait`].
    pub async fn login_device_start(
        &mut self,
        provider: &str,
    ) -> Result<LoginDeviceStartResult, ClientError> {
        self.request::<m::LoginDeviceStart>(&LoginStartParams { provider: provider.into() }).await
    }

    /// Waits until the sign-in started by `login_start` or `login_device_start` ends
    /// (success, error or timeout).
    pub async fn login_wait(&mut self, login_id: &str) -> Result<AccountInfo, ClientError> {
        let params = LoginIdParams { login_id: login_id.into() };
        Ok(self.request::<m::LoginWait>(&params).await?.account)
    }

    pub async fn login_cancel(&mut self, login_id: &str) -> Result<(), ClientError> {
        self.request::<m::LoginCancel>(&LoginIdParams { login_id: login_id.into() }).await?;
        Ok(())
    }

    pub async fn logout(&mut self, account: &str) -> Result<LogoutResult, ClientError> {
        self.request::<m::AccountLogout>(&AccountParams { account: account.into() }).await
    }

    /// Signs in a machine account (a `client_credentials` provider); no browser.
    pub async fn login_client_credentials(
        &mut self,
        provider: &str,
    ) -> Result<AccountInfo, ClientError> {
        let params = ProviderParams { provider: provider.into() };
        Ok(self.request::<m::LoginClientCredentials>(&params).await?.account)
    }

    /// Stores `secret` as the provider's client secret in the broker's keyring.
    pub async fn set_secret(
        &mut self,
        provider: &str,
        secret: Secret,
    ) -> Result<SecretResult, ClientError> {
        self.request::<m::ProviderSetSecret>(&SetSecretParams { provider: provider.into(), secret })
            .await
    }

    pub async fn delete_secret(&mut self, provider: &str) -> Result<SecretResult, ClientError> {
        self.request::<m::ProviderDeleteSecret>(&ProviderParams { provider: provider.into() }).await
    }
}

impl Client {
    // ---- management: only the broker's own binaries may call these -------------------
    // The lists come a page at a time (see `consent::LIST_PAGE`); these helpers follow
    // `next` until the end (or, for the log, until `limit` rows).

    /// Every waiting request, oldest first.
    pub async fn pending(&mut self) -> Result<Vec<PendingInfo>, ClientError> {
        let mut all = vec![];
        let mut params = PendingListParams::default();
        loop {
            let page = self.request::<m::PendingList>(&params).await?;
            all.extend(page.pending);
            match page.next {
                Some(next) if params.after.is_none_or(|a| next > a) => params.after = Some(next),
                _ => return Ok(all),
            }
        }
    }

    pub async fn answer(&mut self, params: &PendingAnswerParams) -> Result<(), ClientError> {
        self.request::<m::PendingAnswer>(params).await?;
        Ok(())
    }

    /// Every grant, in id order.
    pub async fn grants(&mut self) -> Result<Vec<GrantInfo>, ClientError> {
        let mut all = vec![];
        let mut params = GrantsListParams::default();
        loop {
            let page = self.request::<m::GrantsList>(&params).await?;
            all.extend(page.grants);
            match page.next {
                Some(next) if params.after.is_none_or(|a| next > a) => params.after = Some(next),
                _ => return Ok(all),
            }
        }
    }

    pub async fn revoke(&mut self, params: &GrantsRevokeParams) -> Result<Vec<i64>, ClientError> {
        Ok(self.request::<m::GrantsRevoke>(params).await?.revoked)
    }

    /// One page of the log: at most `limit` rows (the broker caps a page), older than
    /// `before`.
    pub async fn activity_page(
        &mut self,
        params: &ActivityPageParams,
    ) -> Result<ActivityListResult, ClientError> {
        self.request::<m::ActivityList>(params).await
    }

    /// The newest `params.limit` rows (default [`ACTIVITY_PAGE`]), newest first, fetched a
    /// page at a time.
    pub async fn activity(
        &mut self,
        params: &ActivityListParams,
    ) -> Result<Vec<ActivityInfo>, ClientError> {
        let want = params.limit.unwrap_or(ACTIVITY_PAGE) as usize;
        let mut page_params = ActivityPageParams::from(params);
        let mut all: Vec<ActivityInfo> = vec![];
        while all.len() < want {
            page_params.limit = Some((want - all.len()).min(u32::MAX as usize) as u32);
            let page = self.activity_page(&page_params).await?;
            all.extend(page.activity);
            match page.next {
                // A cursor that does not move on would loop for ever: stop instead.
                Some(next) if page_params.before.is_none_or(|b| next < b) => {
                    page_params.before = Some(next)
                }
                _ => break,
            }
        }
        all.truncate(want);
        Ok(all)
    }
}

fn codec_error(e: LinesCodecError) -> ClientError {
    match e {
        LinesCodecError::Io(e) => ClientError::Io(e),
        LinesCodecError::MaxLineLengthExceeded => {
            ClientError::Protocol("a reply longer than 64 MiB".into())
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
