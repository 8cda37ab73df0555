//! Interactive sign-in: authorization code + PKCE through the system browser and a one-use
//! loopback listener (RFC 8252). `login.start` returns the URL at once; the rest runs in a
//! task whose result `login.wait` collects. The device flow (`device.rs`) shares the
//! task machinery and [`Broker::sign_in_with`].
//!
//! Nothing is half-written: the keyring entry is written first, then the account row; if the
//! row fails the keyring entry is removed again and the new grant revoked at the provider.

use std::collections::HashMap;
use std::future::Future;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sesame_ipc::protocol::{AccountInfo, AccountStatus, LoginStartResult};
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::secrets::client_error;
use super::Broker;
use crate::browser::SigninPage;
use crate::cache::CachedToken;
use crate::config::ProviderConfig;
use crate::error::{BrokerError, ErrorReport};
use crate::oauth::{
    self, AuthorizationOptions, CallbackExpectations, Identity, LoopbackListener, OAuthClient,
    OAuthError, Pkce, ProviderMetadata, TokenResponse,
};
use crate::{now_unix, ScopeSet, Secret};

/// Finished sign-ins are kept this long for a late `login.wait`.
const KEEP_FINISHED: Duration = Duration::from_secs(600);

type Outcome = Option<Result<AccountInfo, ErrorReport>>;

#[derive(Default)]
pub struct Logins {
    map: Mutex<HashMap<String, Login>>,
    /// Providers whose last sign-in came back without a refresh token: the next one asks
    /// for consent again.
    needs_consent: Mutex<std::collections::HashSet<String>>,
}

struct Login {
    done: watch::Receiver<Outcome>,
    cancel: CancellationToken,
    started: Instant,
}

impl Logins {
    fn insert(&self, id: String, login: Login) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, l| l.done.borrow().is_none() || l.started.elapsed() < KEEP_FINISHED);
        map.insert(id, login);
    }

    fn needs_consent(&self, provider: &str) {
        self.needs_consent.lock().unwrap_or_else(|p| p.into_inner()).insert(provider.to_owned());
    }

    fn take_needs_consent(&self, provider: &str) -> bool {
        self.needs_consent.lock().unwrap_or_else(|p| p.into_inner()).remove(provider)
    }

    fn get(&self, id: &str) -> Option<(watch::Receiver<Outcome>, CancellationToken)> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id).map(|l| (l.done.clone(), l.cancel.clone()))
    }
}

/// Before any sign-in: every configured scope is one the provider says it offers (when it
/// says); otherwise the error names them and the config line.
pub(crate) fn check_scopes_offered(
    meta: &ProviderMetadata,
    provider: &ProviderConfig,
) -> Result<(), BrokerError> {
    let unknown = oauth::scopes_not_offered(meta, provider);
    if unknown.is_empty() {
        return Ok(());
    }
    Err(BrokerError::ScopeNotOffered {
        provider: provider.id.clone(),
        unknown,
        offered: meta.scopes_supported.clone(),
        line: provider.scopes_line,
    })
}

/// Why the redirect listener could not be opened; for a pinned port in use, who holds it.
fn listen_error(provider: &ProviderConfig, e: &std::io::Error) -> BrokerError {
    match provider.redirect_port {
        Some(port) if e.kind() == std::io::ErrorKind::AddrInUse => BrokerError::RedirectPortBusy {
            provider: provider.id.clone(),
            port,
            // Blocking /proc reads, on this rare path only.
            holder: oauth::port_holder(port),
        },
        _ => BrokerError::Internal(format!(
            "cannot listen on 127.0.0.1 for the sign-in redirect: {e}"
        )),
    }
}

pub(crate) fn new_login_id() -> String {
    oauth::random_token()[..12].to_owned()
}

/// Stable per identity: signing in again as the same person yields the same account id.
pub fn account_id(provider: &str, issuer: &str, subject: &str) -> String {
    let digest = Sha256::digest(format!("{issuer}\n{subject}").as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{provider}-{hex}")
}

impl Broker {
    pub async fn login_start(
        self: &Arc<Self>,
        provider_id: &str,
    ) -> Result<LoginStartResult, BrokerError> {
        let provider = self.provider(provider_id)?.deref().clone();
        if provider.is_machine() {
            return Err(BrokerError::BadRequest(format!(
                "provider `{provider_id}` is a machine account (grant = \"client_credentials\") and has no browser sign-in; `sesame login {provider_id}` signs it in with its client secret (method login.client_credentials)"
            )));
        }
        let meta = self.metadata(&provider).await?;
        check_scopes_offered(&meta, &provider)?;
        // Before the browser opens: a provider that needs a client secret must have one.
        let client = self.oauth_client(&provider).await?;
        let listener = LoopbackListener::bind(provider.redirect_port.unwrap_or(0))
            .map_err(|e| listen_error(&provider, &e))?;
        let redirect_uri = listener.redirect_uri();
        let pkce = Pkce::new();
        let state = oauth::random_token();
        let nonce = oauth::random_token();
        // Google asks for consent (and so sends a refresh token) only when none is stored.
        let stored = self
            .accounts()
            .iter()
            .any(|a| a.provider == provider.id && a.status == AccountStatus::Active);
        let options = AuthorizationOptions {
            has_refresh_token: stored && !self.logins.take_needs_consent(&provider.id),
        };
        let url = oauth::authorization_url(
            &meta,
            &provider,
            &redirect_uri,
            &state,
            &nonce,
            &pkce.challenge,
            &options,
        );
        let login_id = new_login_id();
        let timeout = self.config().login_timeout;
        // The page `open_browser` gives the browser instead of the URL (browser.rs); it lives
        // as long as the sign-in.
        let page = SigninPage::write(url.as_str());

        let cancel = CancellationToken::new();
        let flow =
            Flow { provider, meta, client, redirect_uri: redirect_uri.clone(), state, nonce, pkce };
        let broker = self.clone();
        let task_cancel = cancel.clone();
        self.run_login(login_id.clone(), cancel, async move {
            let outcome = broker.finish_login(flow, listener, timeout, task_cancel).await;
            drop(page);
            outcome
        });
        Ok(LoginStartResult {
            login_id,
            authorization_url: url.to_string(),
            redirect_uri,
            expires_at: now_unix() + timeout.as_secs() as i64,
        })
    }

    /// Registers a sign-in under `login_id` and runs `task` to its end; `login.wait` collects
    /// the outcome and `login.cancel` fires `cancel`.
    pub(crate) fn run_login<F>(&self, login_id: String, cancel: CancellationToken, task: F)
    where
        F: Future<Output = Result<AccountInfo, BrokerError>> + Send + 'static,
    {
        let (tx, rx) = watch::channel(None);
        self.logins.insert(login_id.clone(), Login { done: rx, cancel, started: Instant::now() });
        tokio::spawn(async move {
            let outcome = task.await;
            match &outcome {
                Ok(a) => tracing::info!(login = %login_id, account = %a.id, "signed in"),
                Err(e) => tracing::warn!(login = %login_id, error = %e, "sign-in failed"),
            }
            let _ = tx.send(Some(outcome.map_err(|e| ErrorReport::of(&e))));
        });
    }

    /// Waits for the sign-in's end; several waiters get the same answer.
    pub async fn login_wait(&self, login_id: &str) -> Result<AccountInfo, BrokerError> {
        let (mut done, _) =
            self.logins.get(login_id).ok_or_else(|| BrokerError::NoSuchLogin(login_id.into()))?;
        let outcome = done.wait_for(|o| o.is_some()).await.map_err(|_| {
            BrokerError::Internal("the sign-in task stopped without an answer".into())
        })?;
        match outcome.clone() {
            Some(Ok(account)) => Ok(account),
            Some(Err(report)) => Err(BrokerError::Reported(report)),
            None => Err(BrokerError::Internal("the sign-in ended without an answer".into())),
        }
    }

    pub fn login_cancel(&self, login_id: &str) -> Result<(), BrokerError> {
        let (_, cancel) =
            self.logins.get(login_id).ok_or_else(|| BrokerError::NoSuchLogin(login_id.into()))?;
        cancel.cancel();
        Ok(())
    }

    async fn finish_login(
        &self,
        flow: Flow,
        listener: LoopbackListener,
        timeout: Duration,
        cancel: CancellationToken,
    ) -> Result<AccountInfo, BrokerError> {
        let expect = CallbackExpectations {
            state: flow.state.clone(),
            issuer: flow.meta.issuer.clone(),
            iss_required: flow.meta.iss_parameter_supported,
        };
        // Validation errors (iss, error=...) are answered to the browser by the listener.
        let waited = listener.wait_for_callback(expect, timeout, cancel).await;
        let (callback, responder) = waited.map_err(|e| match e.refused.describe() {
            // A sign-in that timed out while forged or foreign redirects were refused: say
            // so, a surprise the user should hear about.
            Some(hint) => BrokerError::Hinted { source: e.error, hint },
            None => BrokerError::OAuth(e.error),
        })?;
        match self.redeem(&flow, &callback.code).await {
            Ok(account) => {
                let who = account.display_name();
                responder.finish(Ok(&format!("Signed in to {} as {who}.", flow.provider.id))).await;
                Ok(account)
            }
            Err(e) => {
                responder.finish(Err(&e.to_string())).await;
                Err(e)
            }
        }
    }

    /// Code → tokens, then [`Broker::sign_in_with`].
    async fn redeem(&self, flow: &Flow, code: &Secret) -> Result<AccountInfo, BrokerError> {
        let (provider, meta) = (&flow.provider, &flow.meta);
        let tokens = oauth::exchange_code(
            &self.http,
            meta,
            &flow.client,
            code,
            &flow.pkce.verifier,
            &flow.redirect_uri,
        )
        .await
        .map_err(|e| client_error(provider, &flow.client, e))?;
        self.sign_in_with(provider, meta, &flow.client, tokens, Some(&flow.nonce)).await
    }

    /// Tokens → identity → keyring → database, for every kind of sign-in. `nonce` is the
    /// one the authorization request carried; `None` only for the device flow, which has none.
    pub(crate) async fn sign_in_with(
        &self,
        provider: &ProviderConfig,
        meta: &ProviderMetadata,
        client: &OAuthClient,
        tokens: TokenResponse,
        nonce: Option<&str>,
    ) -> Result<AccountInfo, BrokerError> {
        let identity = match &tokens.id_token {
            Some(id_token) => {
                let mut who = oauth::identity_from_id_token(id_token, &meta.issuer, &provider.client_id, nonce, now_unix())?;
                // Many providers put email and name only in userinfo; they are for display,
                // so a userinfo failure does not fail the sign-in.
                // DOT's default ID token carries `sub` alone.
                if who.lacks_display() && meta.userinfo_endpoint.is_some() {
                    if let Ok(extra) = oauth::userinfo(&self.http, meta, &tokens.access_token).await.and_then(|v| oauth::identity_from_userinfo(&v)) {
                        who.fill_from(extra);
                    }
                }
                who
            }
            None if meta.userinfo_endpoint.is_some() => {
                oauth::identity_from_userinfo(&oauth::userinfo(&self.http, meta, &tokens.access_token).await?)?
            }
            None => return Err(OAuthError::BadResponse("the provider sent neither an ID token nor has a userinfo endpoint, so Sesame cannot tell who signed in".into()).into()),
        };
        let scopes = tokens.scope.clone().unwrap_or_else(|| provider.scopes.clone());
        let account = self.new_account(provider, meta, identity, scopes);

        match &tokens.refresh_token {
            Some(refresh_token) => {
                self.keyring.set(&account.id, refresh_token).await?;
                if let Err(e) = self.remember_account(account.clone()) {
                    // Undo the keyring write and kill the grant, so nothing half-written remains.
                    let _ = self.keyring.delete(&account.id).await;
                    let _ = oauth::revoke(&self.http, meta, client, refresh_token, "refresh_token")
                        .await;
                    return Err(e);
                }
            }
            // Google sends a refresh token only when the user consents; signing in again as
            // the same person keeps the one in the keyring.
            None if self.keyring.get(&account.id).await?.is_some() => {
                self.remember_account(account.clone())?
            }
            None => {
                self.logins.needs_consent(&provider.id);
                return Err(BrokerError::OAuth(OAuthError::BadResponse(format!(
                    "provider `{}` returned no refresh token; sign in again (Sesame will ask the provider for consent this time), and make sure the client may use refresh tokens (`offline_access` or the provider's equivalent)",
                    provider.id
                ))));
            }
        }
        let TokenResponse { access_token, token_type, expires_in, .. } = tokens;
        let token = CachedToken::from_answer(
            access_token,
            token_type,
            expires_in,
            None,
            &account.scopes,
            now_unix(),
        );
        self.cache_token(&account.id, &account.scopes, token);
        Ok(account)
    }

    fn new_account(
        &self,
        provider: &ProviderConfig,
        meta: &ProviderMetadata,
        who: Identity,
        scopes: ScopeSet,
    ) -> AccountInfo {
        let id = account_id(&provider.id, &meta.issuer, &who.subject);
        let created_at =
            self.resolve_account(&id).map(|a| a.created_at).unwrap_or_else(|_| now_unix());
        AccountInfo {
            id,
            provider: provider.id.clone(),
            issuer: meta.issuer.clone(),
            subject: who.subject,
            email: who.email,
            name: who.name,
            scopes,
            status: AccountStatus::Active,
            created_at,
            last_refreshed_at: Some(now_unix()),
        }
    }
}

struct Flow {
    provider: ProviderConfig,
    meta: Arc<ProviderMetadata>,
    client: OAuthClient,
    redirect_uri: String,
    state: String,
    nonce: String,
    pkce: Pkce,
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;
    use std::time::Duration;

    use sesame_ipc::ErrorKind;

    use super::Broker;
    use crate::config::Config;
    use crate::db::Db;
    use crate::keyring::{Keyring, MemoryStore};

    #[tokio::test]
    async fn unknown_login_ids_are_no_such_login() {
        let text = "[[provider]]\nid = \"x\"\nissuer = \"http://127.0.0.1:1\"\nclient_id = \"c\"\nscopes = [\"openid\"]\n";
        let config = Config::parse(text, Path::new("test.toml")).unwrap();
        let keyring = Keyring::new(Arc::new(MemoryStore::default()), Duration::from_secs(1));
        let broker = Broker::new(config, Db::open_in_memory().unwrap(), keyring).unwrap();
        assert_eq!(broker.login_wait("nope").await.unwrap_err().kind(), ErrorKind::NoSuchLogin);
        assert_eq!(broker.login_cancel("nope").unwrap_err().kind(), ErrorKind::NoSuchLogin);
    }

    #[test]
    fn account_ids_are_stable_per_identity() {
        let a = super::account_id("local", "http://i", "alice");
        assert_eq!(a, super::account_id("local", "http://i", "alice"));
        assert_ne!(a, super::account_id("local", "http://i", "bob"));
        assert!(a.starts_with("local-") && a.len() == "local-".len() + 8);
    }
}
