//! Device sign-in (RFC 8628): for when the browser is on another device, or there is none
//! here (an SSH session). `login.device_start` asks the provider for a code pair and returns
//! the user code and the page to enter it at; a task polls the token endpoint until the user
//! approved, refused, or the code expired, then stores the account exactly as the browser
//! sign-in does ([`Broker::sign_in_with`]: ID token checks, keyring first, then the row).
//! `login.wait` and `login.cancel` work the same for both kinds.
//!
//! The device code stays inside the task: it is a [`crate::Secret`], sent to the provider
//! only, and never in a log line or a reply.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Instant;

use sesame_ipc::protocol::{AccountInfo, LoginDeviceStartResult};
use tokio_util::sync::CancellationToken;

use super::login::new_login_id;
use super::Broker;
use crate::config::ProviderConfig;
use crate::error::BrokerError;
use crate::now_unix;
use crate::oauth::{
    self, DeviceAuthorization, OAuthClient, OAuthError, Polling, ProviderMetadata, TokioClock,
};

impl Broker {
    /// Starts a device sign-in at `provider_id`. Refused with a clear error when the provider
    /// has no device authorization endpoint.
    pub async fn login_device_start(
        self: &Arc<Self>,
        provider_id: &str,
    ) -> Result<LoginDeviceStartResult, BrokerError> {
        let provider = self.provider(provider_id)?.deref().clone();
        let meta = self.metadata(&provider).await?;
        if meta.device_authorization_endpoint.is_none() {
            let why = match provider.endpoints {
                Some(_) => "the config sets its endpoints but no device_authorization_endpoint",
                None => "its discovery document names no device_authorization_endpoint (RFC 8628)",
            };
            return Err(BrokerError::DeviceFlowUnsupported {
                provider: provider.id.clone(),
                why: why.into(),
            });
        }
        super::check_scopes_offered(&meta, &provider)?;
        let scope = provider.scopes.to_string();
        let client = self.oauth_client(&provider).await?;
        let auth = match oauth::device_authorization(&self.http, &meta, &client, &scope).await {
            Ok(auth) => auth,
            Err(e @ OAuthError::Unreachable { .. }) => return Err(e.into()),
            Err(e) => return Err(with_hint(&provider, e)),
        };
        let login_id = new_login_id();
        let result = LoginDeviceStartResult {
            login_id: login_id.clone(),
            user_code: auth.user_code.clone(),
            verification_uri: auth.verification_uri.to_string(),
            verification_uri_complete: auth
                .verification_uri_complete
                .as_ref()
                .map(ToString::to_string),
            interval: auth.interval.as_secs(),
            expires_at: now_unix() + auth.expires_in.as_secs() as i64,
        };
        tracing::info!(login = %login_id, provider = %provider.id, expires_in = auth.expires_in.as_secs(), "device sign-in started");
        let cancel = CancellationToken::new();
        let task_cancel = cancel.clone();
        let broker = self.clone();
        self.run_login(login_id, cancel, async move {
            broker.finish_device_login(provider, meta, client, auth, task_cancel).await
        });
        Ok(result)
    }

    /// Polls until the provider answers with tokens (or ends the sign-in), then stores the
    /// account. No nonce: the device flow's ID token is bound to the sign-in by the device
    /// code it was redeemed with.
    async fn finish_device_login(
        &self,
        provider: ProviderConfig,
        meta: Arc<ProviderMetadata>,
        client: OAuthClient,
        auth: DeviceAuthorization,
        cancel: CancellationToken,
    ) -> Result<AccountInfo, BrokerError> {
        let expires_at = Instant::now() + auth.expires_in;
        let device_code = auth.device_code;
        let poll = || oauth::poll_device_token(&self.http, &meta, &client, &device_code);
        let tokens = match oauth::poll_until_done(
            &TokioClock,
            Polling::new(auth.interval),
            expires_at,
            &cancel,
            poll,
        )
        .await
        {
            Ok(tokens) => tokens,
            // invalid_client, unauthorized_client, …: the app registration does not allow it.
            Err(e @ OAuthError::Provider { .. }) => return Err(with_hint(&provider, e)),
            Err(e) => return Err(e.into()),
        };
        self.sign_in_with(&provider, &meta, &client, tokens, None).await
    }
}

/// The provider's error, plus what this provider needs to allow the device sign-in.
fn with_hint(provider: &ProviderConfig, e: OAuthError) -> BrokerError {
    match &provider.quirks.device_flow_hint {
        Some(hint) => BrokerError::Hinted { source: e, hint: hint.clone() },
        None => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use sesame_ipc::ErrorKind;

    use super::Broker;
    use crate::config::Config;
    use crate::db::Db;
    use crate::keyring::{Keyring, MemoryStore};

    #[tokio::test]
    async fn providers_without_a_device_endpoint_are_refused_before_any_request() {
        let text = "[[provider]]\nid = \"manual\"\nissuer = \"http://127.0.0.1:1\"\nclient_id = \"c\"\nscopes = [\"openid\"]\n\
            authorization_endpoint = \"http://127.0.0.1:1/a\"\ntoken_endpoint = \"http://127.0.0.1:1/t\"\n";
        let config = Config::parse(text, Path::new("test.toml")).unwrap();
        let keyring =
            Keyring::new(std::sync::Arc::new(MemoryStore::default()), Duration::from_secs(1));
        let broker = Broker::new(config, Db::open_in_memory().unwrap(), keyring).unwrap();
        let e = broker.login_device_start("manual").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadRequest);
        let msg = wire(&e);
        assert!(
            msg.contains("provider `manual` offers no device sign-in")
                && msg.contains("device_authorization_endpoint"),
            "{msg}"
        );
        assert!(msg.contains("`sesame login manual`"), "{msg}");
        assert_eq!(
            broker.login_device_start("nope").await.unwrap_err().kind(),
            ErrorKind::NoSuchProvider
        );
    }

    /// What the socket (and so the CLI) says: the message with its remedy.
    fn wire(e: &crate::BrokerError) -> String {
        sesame_ipc::RpcError::from(e).message
    }
}
