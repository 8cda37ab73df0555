//! `token.get`: the account and scopes checked, then consent (a grant, or the user's answer),
//! then the cache or one refresh at the provider, single-flight per account.

use std::time::Instant;

use sesame_ipc::consent::ActivityEvent;
use sesame_ipc::events::BrokerEvent;
use sesame_ipc::protocol::*;

use super::consent::Consented;
use super::secrets::client_error;
use super::Broker;
use crate::cache::CachedToken;
use crate::db::NewActivity;
use crate::error::BrokerError;
use crate::keyring::KeyringError;
use crate::oauth::OAuthError;
use crate::policy::{Asker, Caller};
use crate::rotation::RefreshJob;
use crate::{now_unix, ScopeSet, Secret};

impl Broker {
    /// A token for `caller`: account (or the accounts the user chooses from, `choice.rs`)
    /// and scopes checked, then consent (a grant, or the user's answer, while `asker` is
    /// still there to take it), then the cache or a refresh. Every hand-out is recorded.
    pub async fn token(
        &self,
        caller: &Caller,
        asker: Asker<'_>,
        params: &TokenGetParams,
    ) -> Result<TokenResult, BrokerError> {
        self.token_told(caller, asker, params, None).await
    }

    /// [`Broker::token`], with what the program says the request is for (`told_repository`,
    /// shown in the question only: it changes neither the account, the scopes nor the grant).
    pub(crate) async fn token_told(
        &self,
        caller: &Caller,
        asker: Asker<'_>,
        params: &TokenGetParams,
        told_repository: Option<String>,
    ) -> Result<TokenResult, BrokerError> {
        let mut asked = self.asked(caller, params, now_unix())?;
        asked.told_repository = told_repository;
        // Some providers cannot put these scopes in one token (Microsoft: one resource each).
        // Every account offered is of the same provider.
        self.provider(&asked.accounts[0].provider)?
            .check_scope_set(&asked.scopes)
            .map_err(BrokerError::BadRequest)?;
        // The question, and a grant from it, show what the token will carry: at a provider
        // that cannot narrow, more than was asked, and marked so. (A question offering
        // several accounts shows what was asked; the chosen account's token says the rest.)
        if let Some(account) = asked.account() {
            let carried = self.carried_scopes(account, &asked.scopes);
            asked.beyond_asked = carried.missing_from(&asked.scopes);
            asked.scopes = carried;
        }
        let Consented { account, grant } = self.consent(caller, asker, &asked).await?;
        let scopes = self.carried_scopes(&account, &asked.scopes);
        let min_ttl = params.min_ttl.unwrap_or(DEFAULT_MIN_TTL);
        let token = self.token_for(&account, &scopes, min_ttl).await?;
        self.handed_out(caller, &account.id, &scopes, grant).await;
        Ok(result(&account.id, token))
    }

    /// The scopes a token for `asked` really carries at the account's provider: `asked` where
    /// a refresh can narrow, else the whole grant of the account's refresh token (GitHub;
    /// a provider found to narrow the refresh token itself, `narrowing.rs`). The cache is
    /// keyed by these, so every subset shares the one token a provider that cannot narrow
    /// mints, and one refresh.
    pub(crate) fn carried_scopes(&self, account: &AccountInfo, asked: &ScopeSet) -> ScopeSet {
        let narrows = match self.provider(&account.provider) {
            Ok(p) => p.is_machine() || (p.allow_scope_narrowing && !self.narrowing.stopped(&p.id)),
            Err(_) => false,
        };
        if narrows || !asked.is_subset(&account.scopes) {
            asked.clone()
        } else {
            account.scopes.clone()
        }
    }

    /// Stores a refreshed token. At a provider whose refresh kills the access tokens issued
    /// before (`refresh_revokes_access_tokens`), the account's other cached tokens are
    /// dropped: they must not be handed out dead. A machine account's client-credentials
    /// tokens are independent of each other.
    fn store_refreshed(&self, account: &AccountInfo, scopes: &ScopeSet, token: CachedToken) {
        match self.provider(&account.provider) {
            Ok(p) if p.refresh_revokes_access_tokens && !p.is_machine() => {
                self.cache.put_superseding(&account.id, scopes, token)
            }
            _ => self.cache.put(&account.id, scopes, token),
        }
    }

    /// The cached token for (account, scopes), or a fresh one.
    pub(super) async fn token_for(
        &self,
        account: &AccountInfo,
        scopes: &ScopeSet,
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
                self.store_refreshed(account, scopes, token.clone());
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
    pub(crate) fn tokens_due(&self, now: i64, fraction: f64, idle: i64) -> Vec<(String, ScopeSet)> {
        self.cache.due(now, fraction, idle)
    }

    /// Refreshes (account, scopes) if it is still due; used by the proactive refresher.
    pub(crate) async fn refresh_if_due(
        &self,
        account_id: &str,
        scopes: &ScopeSet,
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
        self.store_refreshed(&account, scopes, token);
        Ok(())
    }

    /// One refresh at the provider (for a machine account: a client-credentials request).
    /// The caller holds the account's refresh lock; the lock file is taken here, before the
    /// refresh token is read, and kept by a helper that outlives us until the rotated token
    /// is stored. From the lock file on, the refresh has a deadline (`rotation.rs`), so a
    /// hung keyring or helper cannot keep the account's lock: past it the refresh fails, and
    /// a rotated token the keyring has not taken stays in `unsaved_refresh`.
    async fn refresh(
        &self,
        account: &AccountInfo,
        scopes: &ScopeSet,
    ) -> Result<CachedToken, BrokerError> {
        let provider = self.provider(&account.provider)?;
        if provider.is_machine() {
            return self.machine_token(account, &provider, scopes).await;
        }
        let meta = self.metadata(&provider).await?;
        // A reload may have pointed the provider at another issuer: the refresh token goes
        // only to the one that issued it.
        if meta.issuer != account.issuer {
            return Err(self.reauth(account, &issuer_moved(&meta.issuer, &account.issuer)));
        }
        let client = self.oauth_client(&provider).await?;
        let lock = self.rotation.lock(&account.id).await?;
        let deadline = Instant::now() + self.rotation.deadline();
        // Dropping this half-way is safe: an unsaved token leaves memory only once stored.
        let refresh_token =
            match tokio::time::timeout_at(deadline.into(), self.current_refresh_token(account))
                .await
            {
                Ok(token) => token?,
                Err(_) => return Err(KeyringError::Timeout(self.rotation.deadline()).into()),
            };
        // `scopes` is what the token will carry (`carried_scopes`): narrower than the
        // account's only where the provider narrows.
        let narrowed = *scopes != account.scopes;
        let job = RefreshJob::new(
            &account.id,
            meta.token_endpoint.clone(),
            &client,
            refresh_token,
            narrowed.then(|| scopes.clone()),
        );
        let call =
            || self.rotation.refresh(&self.http, &self.keyring, &job, lock.as_ref(), deadline);
        let response = match self.rate_limits.run(&provider.id, "the token endpoint", call).await {
            Ok(r) => r,
            Err(OAuthError::InvalidGrant { description }) => {
                let why =
                    description.unwrap_or_else(|| "the provider answered invalid_grant".into());
                return Err(self.mark_reauth(account, &why));
            }
            Err(e) => return Err(client_error(&provider, &client, e)),
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
        tracing::info!(account = %account.id, %scopes, rotated = response.rotated, "refreshed");
        self.check_granted(account, &provider, narrowed, scopes, response.scope.as_ref());
        // An answer without `scope` carries what was asked (RFC 6749 §5.1), and a refresh
        // that asked for nothing asked for the refresh token's whole grant: `scopes` is both.
        Ok(CachedToken::from_answer(
            response.access_token,
            response.token_type,
            response.expires_in,
            response.scope,
            scopes,
            now,
        ))
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
        let none = ScopeSet::default();
        let row = NewActivity::now(
            ActivityEvent::ReauthNeeded,
            None,
            Some(&account.id),
            &none,
            why.into(),
        );
        self.recorder.activity_soon(row);
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
}

/// Why an account cannot refresh at its provider's issuer now (see `reload.rs`).
pub(crate) fn issuer_moved(now: &str, signed_in_at: &str) -> String {
    format!("it signed in at {signed_in_at}, and the config now names {now} for its provider")
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

#[cfg(test)]
#[path = "token_tests.rs"]
mod tests;
