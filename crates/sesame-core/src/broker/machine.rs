//! Machine accounts: a provider with `grant = "client_credentials"` signs no person in. The
//! account is the client itself (RFC 6749 §4.4): its secret is in the keyring (`sesame
//! secret set`), it has no refresh token, and every token is a fresh client-credentials
//! request.
//!
//! Programs get its tokens exactly like any account's: `Broker::token` runs consent (grants
//! and pending questions) first, then the cache, and only on a miss — under the account's
//! refresh lock, so concurrent misses make one request — [`Broker::machine_token`].

use sesame_ipc::protocol::{AccountInfo, AccountStatus, Revocation};

use super::login::account_id;
use super::secrets::client_error;
use super::Broker;
use crate::cache::CachedToken;
use crate::config::ProviderConfig;
use crate::error::BrokerError;
use crate::oauth::{self, RevokeOutcome, TokenResponse};
use crate::{now_unix, ScopeSet};

impl Broker {
    /// `login.client_credentials`: checks that a secret is stored, fetches one token with it
    /// to prove that the provider accepts it, and only then creates (or updates) the
    /// account. A refusal (`invalid_client`) leaves nothing behind.
    pub async fn login_client_credentials(
        &self,
        provider_id: &str,
    ) -> Result<AccountInfo, BrokerError> {
        let provider = self.provider(provider_id)?;
        if !provider.is_machine() {
            return Err(BrokerError::BadRequest(format!(
                "provider `{provider_id}` signs a person in, in the browser (login.start); only providers with grant = \"client_credentials\" are machine accounts"
            )));
        }
        let meta = self.metadata(&provider).await?;
        let client = self.oauth_client(&provider).await?;
        let requested = &provider.scopes;
        let response = self
            .rate_limits
            .run(&provider.id, "the token endpoint", || {
                oauth::client_credentials(&self.http, &meta, &client, requested)
            })
            .await
            .map_err(|e| client_error(&provider, &client, e))?;
        let now = now_unix();
        // The account's scopes are what the provider granted, when it says.
        let scopes = response.scope.clone().unwrap_or_else(|| provider.scopes.clone());
        let id = machine_account_id(&provider, &meta.issuer);
        let created_at = self.resolve_account(&id).map(|a| a.created_at).unwrap_or(now);
        let account = AccountInfo {
            id,
            provider: provider.id.clone(),
            issuer: meta.issuer.clone(),
            subject: provider.client_id.clone(),
            email: None,
            name: Some(format!("machine account (client {})", provider.client_id)),
            scopes,
            status: AccountStatus::Active,
            created_at,
            last_refreshed_at: Some(now),
        };
        self.remember_account(account.clone())?;
        self.cache_token(&account.id, &account.scopes, cached(response, now, &account.scopes));
        tracing::info!(account = %account.id, "machine account signed in");
        Ok(account)
    }

    /// A fresh token for the machine account (a cache miss or a proactive renewal). The
    /// caller holds the account's refresh lock.
    pub(crate) async fn machine_token(
        &self,
        account: &AccountInfo,
        provider: &ProviderConfig,
        scopes: &ScopeSet,
    ) -> Result<CachedToken, BrokerError> {
        let meta = self.metadata(provider).await?;
        let client = self.oauth_client(provider).await?;
        let response = self
            .rate_limits
            .run(&provider.id, "the token endpoint", || {
                oauth::client_credentials(&self.http, &meta, &client, scopes)
            })
            .await
            .map_err(|e| client_error(provider, &client, e))?;
        let now = now_unix();
        self.note_refreshed(&account.id, now);
        tracing::info!(account = %account.id, %scopes, "client credentials token fetched");
        Ok(cached(response, now, scopes))
    }

    /// Sign-out of a machine account: there is no refresh token, so the access tokens
    /// still cached are revoked (RFC 7009), which ends them for every program that has one.
    /// The cache entries are gone either way; the result says what the provider said.
    pub(crate) async fn revoke_machine_tokens(
        &self,
        account: &AccountInfo,
        provider: &ProviderConfig,
    ) -> Revocation {
        let tokens = self.take_cached(&account.id);
        if tokens.is_empty() {
            return Revocation::NotNeeded {
                reason: "a machine account holds no refresh token, and none of its access tokens was cached".into(),
            };
        }
        let revoked = async {
            let meta = self.metadata(provider).await?;
            let client = self.oauth_client(provider).await?;
            let mut outcome = RevokeOutcome::Confirmed;
            for token in &tokens {
                outcome = oauth::revoke(&self.http, &meta, &client, token, "access_token")
                    .await
                    .map_err(|e| client_error(provider, &client, e))?;
            }
            Ok::<_, BrokerError>(outcome)
        };
        match revoked.await {
            Ok(RevokeOutcome::Confirmed) => Revocation::Confirmed,
            Ok(RevokeOutcome::NotSupported) => {
                Revocation::NotSupported { hint: provider.quirks.revocation_hint.clone() }
            }
            Err(e) => Revocation::Failed {
                reason: format!(
                    "{} cached access token(s) stay valid until they expire: {e}",
                    tokens.len()
                ),
            },
        }
    }
}

/// One account per machine client: stable across sign-ins, like a person's account id
/// (the client id plays the subject).
pub fn machine_account_id(provider: &ProviderConfig, issuer: &str) -> String {
    account_id(&provider.id, issuer, &format!("client:{}", provider.client_id))
}

fn cached(response: TokenResponse, now: i64, asked: &ScopeSet) -> CachedToken {
    let TokenResponse { access_token, token_type, expires_in, scope, .. } = response;
    CachedToken::from_answer(access_token, token_type, expires_in, scope, asked, now)
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
