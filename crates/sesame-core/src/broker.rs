//! The broker: accounts, tokens and sign-out. One `Broker` serves every connection; the CLI
//! daemon and the desktop app each host exactly one.
//!
//! Invariants kept here:
//! - the refresh token is read from and written to the keyring only; a rotated one is stored
//!   before the access token that came with it is cached or handed out;
//! - refreshes of one account run one at a time (rotation makes a second, concurrent refresh
//!   with the old token revoke the whole grant at many providers);
//! - a warm `token.get` touches memory only (grants and accounts are mirrored in memory;
//!   activity is written by the recorder's task);
//! - no token reaches a program without a grant or the user's answer (see `consent.rs`);
//! - a machine account (`machine.rs`) goes through the same consent and cache; its cache
//!   misses are client-credentials requests instead of refreshes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use sesame_ipc::events::BrokerEvent;
use sesame_ipc::protocol::*;

use crate::cache::{scope_key, CachedToken, TokenCache};
use crate::client_secret::client_error;
use crate::config::{Config, ProviderConfig};
use crate::db::Db;
use crate::error::BrokerError;
use crate::events::{Events, Subscription};
use crate::identity::DesktopIndex;
use crate::keyring::Keyring;
use crate::login::Logins;
use crate::oauth::{self, OAuthClient, OAuthError, ProviderMetadata, RevokeOutcome};
use crate::policy::grants::GrantTable;
use crate::policy::pending::PendingQueue;
use crate::policy::recorder::{Recorder, Retention};
use crate::policy::{caller, Caller};
use crate::refresher;
use crate::retry::RateLimits;
use crate::rotation::{RefreshJob, Rotation};
use crate::{now_unix, Secret};

/// Used when a token response has no `expires_in` (RFC 6749 only recommends it).
pub(crate) const DEFAULT_EXPIRES_IN: u64 = 3600;

pub struct Broker {
    pub(crate) config: Config,
    pub(crate) db: Arc<Db>,
    pub(crate) keyring: Keyring,
    pub(crate) http: reqwest::Client,
    cache: TokenCache,
    /// Mirror of the accounts table, so resolving an account needs no SQLite call.
    accounts: RwLock<HashMap<String, AccountInfo>>,
    metadata: tokio::sync::Mutex<HashMap<String, Arc<ProviderMetadata>>>,
    refresh_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Rotated refresh tokens the keyring refused to store; retried before the next refresh,
    /// so a keyring hiccup does not lose the account.
    unsaved_refresh: Mutex<HashMap<String, Secret>>,
    rotation: Rotation,
    /// Providers that answered 429 with `Retry-After`, and until when.
    pub(crate) rate_limits: RateLimits,
    pub(crate) logins: Logins,
    pub(crate) grants: GrantTable,
    pub(crate) pending: PendingQueue,
    pub(crate) recorder: Recorder,
    /// Canonical paths of Sesame's own binaries: they may manage, and the CLI's requests
    /// count as its parent's.
    pub(crate) own_binaries: Vec<PathBuf>,
    pub(crate) desktop: DesktopIndex,
    pub(crate) events: Events,
}

impl Broker {
    /// Must run inside a tokio runtime (it starts the activity writer).
    pub fn new(config: Config, db: Db, keyring: Keyring) -> Result<Arc<Broker>, BrokerError> {
        Broker::with_rotation(config, db, keyring, Rotation::in_process())
    }

    /// A broker whose refreshes run as `rotation` says (the daemon and the app use a helper
    /// process, so a killed broker cannot lose a rotated refresh token; see `rotation.rs`).
    pub fn with_rotation(
        config: Config,
        db: Db,
        keyring: Keyring,
        rotation: Rotation,
    ) -> Result<Arc<Broker>, BrokerError> {
        let http = http_client()?;
        let accounts = db.accounts()?.into_iter().map(|a| (a.id.clone(), a)).collect();
        let grants = GrantTable::new(db.grants()?);
        let db = Arc::new(db);
        let retention =
            Retention { max_age: config.activity_retention, max_rows: config.activity_max_rows };
        let recorder = Recorder::start(db.clone(), retention);
        let refresh_policy = config.refresh;
        let broker = Arc::new(Broker {
            config,
            db,
            keyring,
            http,
            cache: TokenCache::default(),
            accounts: RwLock::new(accounts),
            metadata: Default::default(),
            refresh_locks: Default::default(),
            unsaved_refresh: Default::default(),
            rotation,
            rate_limits: RateLimits::default(),
            logins: Logins::default(),
            grants,
            pending: PendingQueue::default(),
            recorder,
            own_binaries: caller::own_binaries(),
            desktop: DesktopIndex::from_env(),
            events: Events::default(),
        });
        refresher::spawn(Arc::downgrade(&broker), refresh_policy);
        Ok(broker)
    }

    /// Changes worth showing (pending requests, re-auth needed, accounts, grants).
    pub fn subscribe(&self) -> Subscription {
        self.events.subscribe()
    }

    pub fn hello(&self) -> HelloResult {
        HelloResult { protocol: PROTOCOL_VERSION, broker: env!("CARGO_PKG_VERSION").into() }
    }

    pub fn providers(&self) -> Vec<ProviderInfo> {
        let list = self.config.providers.iter();
        list.map(|p| ProviderInfo {
            id: p.id.clone(),
            issuer: p.issuer.to_string(),
            scopes: p.scopes.clone(),
            grant: p.grant.name().into(),
        })
        .collect()
    }

    pub fn accounts(&self) -> Vec<AccountInfo> {
        let mut list: Vec<AccountInfo> =
            self.accounts.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        list.sort_by(|a, b| {
            (&a.provider, a.created_at, &a.id).cmp(&(&b.provider, b.created_at, &b.id))
        });
        list
    }

    pub(crate) fn provider(&self, id: &str) -> Result<&ProviderConfig, BrokerError> {
        self.config.provider(id).ok_or_else(|| BrokerError::NoSuchProvider {
            id: id.into(),
            known: self
                .config
                .providers
                .iter()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// Discovery runs once per provider and broker lifetime.
    pub(crate) async fn metadata(
        &self,
        provider: &ProviderConfig,
    ) -> Result<Arc<ProviderMetadata>, BrokerError> {
        let mut cache = self.metadata.lock().await;
        if let Some(meta) = cache.get(&provider.id) {
            return Ok(meta.clone());
        }
        let meta = Arc::new(oauth::discover(&self.http, provider).await?);
        cache.insert(provider.id.clone(), meta.clone());
        Ok(meta)
    }

    /// An account id, or a provider id with exactly one account.
    pub fn resolve_account(&self, name: &str) -> Result<AccountInfo, BrokerError> {
        let accounts = self.accounts.read().unwrap_or_else(|p| p.into_inner());
        if let Some(a) = accounts.get(name) {
            return Ok(a.clone());
        }
        let mut of_provider: Vec<&AccountInfo> =
            accounts.values().filter(|a| a.provider == name).collect();
        match of_provider.len() {
            1 => Ok(of_provider[0].clone()),
            0 => Err(BrokerError::NoSuchAccount(name.into())),
            _ => {
                of_provider.sort_by_key(|a| &a.id);
                let ids = of_provider.iter().map(|a| a.id.as_str()).collect::<Vec<_>>().join(", ");
                Err(BrokerError::AmbiguousAccount { provider: name.into(), ids })
            }
        }
    }

    pub(crate) fn remember_account(&self, account: AccountInfo) -> Result<(), BrokerError> {
        self.db.upsert_account(&account)?;
        self.accounts
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account.id.clone(), account);
        self.events.emit(BrokerEvent::AccountsChanged);
        Ok(())
    }

    pub(crate) fn cache_token(&self, account: &str, scopes: &str, token: CachedToken) {
        self.cache.put(account, scopes, token);
    }

    pub(crate) fn forget_cached(&self, account: &str) {
        self.cache.forget_account(account);
    }

    /// Removes the account's cached tokens, returning those still valid.
    pub(crate) fn take_cached(&self, account: &str) -> Vec<Secret> {
        self.cache.take_account(account, now_unix())
    }

    fn refresh_lock(&self, account: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.refresh_locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(account.to_owned()).or_default().clone()
    }

    /// A token for `caller`: account and scopes checked, then consent (a grant, or the
    /// user's answer), then the cache or a refresh. Every hand-out is recorded.
    pub async fn token(
        &self,
        caller: &Caller,
        params: &TokenGetParams,
    ) -> Result<TokenResult, BrokerError> {
        let account = self.resolve_account(&params.account)?;
        let scopes: Vec<String> = match &params.scopes {
            Some(asked) if !asked.is_empty() => {
                let missing: Vec<&str> = asked
                    .iter()
                    .filter(|s| !account.scopes.contains(s))
                    .map(String::as_str)
                    .collect();
                if !missing.is_empty() {
                    return Err(BrokerError::InsufficientScope {
                        account: account.id,
                        missing: missing.join(" "),
                    });
                }
                canonical(asked)
            }
            _ => self
                .grants
                .default_scopes(&caller.app.key, &account.id)
                .unwrap_or_else(|| canonical(&account.scopes)),
        };
        // Some providers cannot put these scopes in one token (Microsoft: one resource each).
        self.provider(&account.provider)?
            .check_scope_set(&scopes)
            .map_err(BrokerError::BadRequest)?;
        let grant = self.consent(caller, &account, &scopes).await?;
        let min_ttl = params.min_ttl.unwrap_or(DEFAULT_MIN_TTL);
        let token = self.token_for(&account, &scope_key(&scopes), min_ttl).await?;
        self.handed_out(caller, &account.id, &scopes, grant).await;
        Ok(result(&account.id, token))
    }

    /// The cached token for (account, scopes), or a fresh one.
    async fn token_for(
        &self,
        account: &AccountInfo,
        scopes: &str,
        min_ttl: u64,
    ) -> Result<CachedToken, BrokerError> {
        let mark = self.cache.mark();
        if let Some(t) = self.cache.get(&account.id, scopes, min_ttl, now_unix()) {
            return Ok(t);
        }
        if account.status == AccountStatus::ReauthRequired {
            return Err(self.reauth(account, "the provider refused its refresh token earlier"));
        }
        let lock = self.refresh_lock(&account.id);
        let _guard = lock.lock().await;
        // Signed out while we waited: there is nothing to refresh, nor to hand out.
        if !self.accounts.read().unwrap_or_else(|p| p.into_inner()).contains_key(&account.id) {
            return Err(BrokerError::NoSuchAccount(account.id.clone()));
        }
        // Single flight: whoever held the lock before us may have just refreshed this scope
        // set. A token stored since we asked is as fresh as a refresh would give, even if
        // the provider's lifetime is shorter than `min_ttl`.
        if let Some(t) = self
            .cache
            .get(&account.id, scopes, min_ttl, now_unix())
            .or_else(|| self.cache.stored_since(&account.id, scopes, mark, now_unix()))
        {
            return Ok(t);
        }
        match self.refresh(account, scopes).await {
            Ok(token) => {
                self.cache.put(&account.id, scopes, token.clone());
                Ok(token)
            }
            // The provider is away: a token that is still valid beats an error.
            Err(BrokerError::OAuth(e)) if e.is_transient() => {
                match self.cache.get(&account.id, scopes, 0, now_unix()) {
                    Some(t) => {
                        tracing::warn!(account = %account.id, error = %e, "refresh failed; serving the cached token while it lasts");
                        Ok(t)
                    }
                    None => Err(e.into()),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// (account, scopes) pairs the proactive refresher should renew now.
    pub(crate) fn tokens_due(&self, now: i64, fraction: f64, idle: i64) -> Vec<(String, String)> {
        self.cache.due(now, fraction, idle)
    }

    /// Refreshes (account, scopes) if it is still due; used by the proactive refresher.
    pub(crate) async fn refresh_if_due(
        &self,
        account_id: &str,
        scopes: &str,
        fraction: f64,
    ) -> Result<(), BrokerError> {
        let account = self.resolve_account(account_id)?;
        if account.status == AccountStatus::ReauthRequired {
            return Ok(());
        }
        let lock = self.refresh_lock(&account.id);
        let _guard = lock.lock().await;
        if !self.cache.still_due(&account.id, scopes, now_unix(), fraction) {
            return Ok(());
        }
        let token = self.refresh(&account, scopes).await?;
        self.cache.put(&account.id, scopes, token);
        Ok(())
    }

    /// One refresh at the provider (for a machine account: a client-credentials request).
    /// The caller holds the account's refresh lock; the lock file is taken here, before the
    /// refresh token is read, and kept by a helper that outlives us until the rotated token
    /// is stored.
    async fn refresh(
        &self,
        account: &AccountInfo,
        scopes: &str,
    ) -> Result<CachedToken, BrokerError> {
        let provider = self.provider(&account.provider)?;
        if provider.is_machine() {
            return self.machine_token(account, provider, scopes).await;
        }
        let meta = self.metadata(provider).await?;
        let client = self.oauth_client(provider).await?;
        let lock = self.rotation.lock(&account.id).await?;
        let refresh_token = self.current_refresh_token(account).await?;
        let narrowed = scopes != scope_key(&account.scopes);
        let job = RefreshJob::new(
            &account.id,
            meta.token_endpoint.clone(),
            &client,
            refresh_token,
            (narrowed && provider.allow_scope_narrowing).then(|| scopes.to_owned()),
        );
        let call = || self.rotation.refresh(&self.http, &self.keyring, &job, lock.as_ref());
        let response = match self.rate_limits.run(&provider.id, "the token endpoint", call).await {
            Ok(r) => r,
            Err(OAuthError::InvalidGrant { description }) => {
                let why =
                    description.unwrap_or_else(|| "the provider answered invalid_grant".into());
                return Err(self.mark_reauth(account, &why));
            }
            Err(e) => return Err(client_error(provider, &client, e)),
        };
        if let (Some(rotated), Some(e)) = (response.unsaved, response.keyring_error) {
            tracing::warn!(account = %account.id, error = %e, "could not store the rotated refresh token; keeping it in memory");
            self.unsaved_refresh
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(account.id.clone(), rotated);
            return Err(e.into());
        }
        drop(lock);
        let now = now_unix();
        self.note_refreshed(&account.id, now);
        tracing::info!(account = %account.id, scopes, rotated = response.rotated, "refreshed");
        Ok(CachedToken {
            access_token: response.access_token,
            token_type: response.token_type,
            issued_at: now,
            expires_at: now + response.expires_in.unwrap_or(DEFAULT_EXPIRES_IN) as i64,
            scope: response.scope.unwrap_or_else(|| scopes.to_owned()),
        })
    }

    /// Records a token fetched at the provider (the account list shows it).
    pub(crate) fn note_refreshed(&self, account: &str, now: i64) {
        if let Err(e) = self.db.set_refreshed(account, now) {
            tracing::warn!(account, error = %e, "could not record the refresh time");
        }
        if let Some(a) = self.accounts.write().unwrap_or_else(|p| p.into_inner()).get_mut(account) {
            a.last_refreshed_at = Some(now);
        }
    }

    /// The refresh token to use: one the keyring refused earlier (stored now), else the keyring's.
    async fn current_refresh_token(&self, account: &AccountInfo) -> Result<Secret, BrokerError> {
        let unsaved = self
            .unsaved_refresh
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&account.id)
            .cloned();
        if let Some(token) = unsaved {
            self.keyring.set(&account.id, &token).await?;
            self.unsaved_refresh.lock().unwrap_or_else(|p| p.into_inner()).remove(&account.id);
            return Ok(token);
        }
        match self.keyring.get(&account.id).await? {
            Some(token) => Ok(token),
            None => Err(self.mark_reauth(account, "its refresh token is missing from the keyring")),
        }
    }

    /// The provider refused for good: the account is kept (with its grants) as "re-auth
    /// needed" until the user signs in again, and subscribers hear of it once. Returns the
    /// error for the request that found out.
    fn mark_reauth(&self, account: &AccountInfo, why: &str) -> BrokerError {
        if let Err(e) = self.db.set_status(&account.id, AccountStatus::ReauthRequired) {
            return e.into();
        }
        if let Some(a) =
            self.accounts.write().unwrap_or_else(|p| p.into_inner()).get_mut(&account.id)
        {
            a.status = AccountStatus::ReauthRequired;
        }
        self.cache.forget_account(&account.id);
        tracing::warn!(account = %account.id, why, "re-authentication needed");
        self.events.emit(BrokerEvent::ReauthRequired {
            account: account.id.clone(),
            provider: account.provider.clone(),
            why: why.into(),
        });
        self.reauth(account, why)
    }

    fn reauth(&self, account: &AccountInfo, why: &str) -> BrokerError {
        BrokerError::ReauthRequired {
            account: account.id.clone(),
            provider: account.provider.clone(),
            why: why.into(),
        }
    }

    /// Revokes at the provider (RFC 7009) when it can, then forgets the account locally:
    /// keyring entry, cached tokens, database row. A provider that cannot be reached does not
    /// keep the user signed in; the result says whether the provider confirmed.
    pub async fn logout(&self, name: &str) -> Result<LogoutResult, BrokerError> {
        let account = self.resolve_account(name)?;
        let lock = self.refresh_lock(&account.id);
        let _guard = lock.lock().await;
        let revocation = match self.config.provider(&account.provider) {
            // Nothing of a machine account is in the keyring (its client secret belongs to
            // the provider and stays until `sesame secret delete`).
            Some(provider) if provider.is_machine() => {
                self.revoke_machine_tokens(&account, provider).await
            }
            _ => {
                // A helper left by a killed broker may still be storing a rotated token.
                let _file_lock = self.rotation.lock(&account.id).await?;
                let revocation = match self.keyring.get(&account.id).await? {
                    None => Revocation::Failed {
                        reason: "no refresh token was stored, so there was nothing to revoke"
                            .into(),
                    },
                    Some(token) => self.revoke(&account, &token).await,
                };
                self.keyring.delete(&account.id).await?;
                revocation
            }
        };
        self.unsaved_refresh.lock().unwrap_or_else(|p| p.into_inner()).remove(&account.id);
        self.cache.forget_account(&account.id);
        // The account's grants go with it (ON DELETE CASCADE, and the mirror here).
        self.db.delete_account(&account.id)?;
        self.grants.remove_account(&account.id);
        self.accounts.write().unwrap_or_else(|p| p.into_inner()).remove(&account.id);
        tracing::info!(account = %account.id, ?revocation, "signed out");
        self.events.emit(BrokerEvent::AccountsChanged);
        self.events.emit(BrokerEvent::GrantsChanged);
        Ok(LogoutResult { account: account.id, revocation })
    }

    async fn revoke(&self, account: &AccountInfo, token: &Secret) -> Revocation {
        let provider = match self.provider(&account.provider) {
            Ok(p) => p,
            Err(e) => return Revocation::Failed { reason: e.to_string() },
        };
        let prepared: Result<(Arc<ProviderMetadata>, OAuthClient), BrokerError> =
            async { Ok((self.metadata(provider).await?, self.oauth_client(provider).await?)) }
                .await;
        let (meta, client) = match prepared {
            Ok(p) => p,
            Err(e) => return Revocation::Failed { reason: e.to_string() },
        };
        match oauth::revoke(&self.http, &meta, &client, token, "refresh_token").await {
            Ok(RevokeOutcome::Confirmed) => Revocation::Confirmed,
            Ok(RevokeOutcome::NotSupported) => {
                Revocation::NotSupported { hint: provider.quirks.revocation_hint.clone() }
            }
            Err(e) => Revocation::Failed { reason: e.to_string() },
        }
    }
}

/// Sorted and without duplicates: the form grants, pending questions and the cache key use.
pub(crate) fn canonical(scopes: &[String]) -> Vec<String> {
    scope_key(scopes).split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn result(account: &str, t: CachedToken) -> TokenResult {
    TokenResult {
        access_token: t.access_token,
        token_type: t.token_type,
        expires_at: t.expires_at,
        scope: t.scope,
        account: account.into(),
    }
}

/// The HTTP client for every call at a provider: bounded in time, and no redirects (a 307
/// would re-send codes and tokens wherever it points).
pub(crate) fn http_client() -> Result<reqwest::Client, BrokerError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("sesame/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| BrokerError::Internal(format!("cannot build the HTTP client: {e}")))
}
