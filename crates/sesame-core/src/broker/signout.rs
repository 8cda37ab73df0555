//! Sign-out: revoke at the provider (RFC 7009) when it can, then forget the account here.

use std::sync::Arc;

use sesame_ipc::consent::ActivityEvent;
use sesame_ipc::events::BrokerEvent;
use sesame_ipc::protocol::{AccountInfo, LogoutResult, Revocation};

use super::Broker;
use crate::db::NewActivity;
use crate::error::BrokerError;
use crate::oauth::{self, OAuthClient, ProviderMetadata, RevokeOutcome};
use crate::{ScopeSet, Secret};

impl Broker {
    /// Revokes at the provider (RFC 7009) when it can, then forgets the account locally:
    /// keyring entry, cached tokens, database row. A provider that cannot be reached does not
    /// keep the user signed in; the result says whether the provider confirmed.
    pub async fn logout(&self, name: &str) -> Result<LogoutResult, BrokerError> {
        let account = self.resolve_account(name)?;
        let lock = self.refresh_lock(&account.id);
        let _guard = lock.lock().await;
        let revocation = match self.config().provider(&account.provider) {
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
        self.accounts.write().unwrap_or_else(|p| p.into_inner()).shift_remove(&account.id);
        tracing::info!(account = %account.id, ?revocation, "signed out");
        let detail = signed_out_detail(&revocation);
        let none = ScopeSet::default();
        let row =
            NewActivity::now(ActivityEvent::SignedOut, None, Some(&account.id), &none, detail);
        self.recorder.activity(row).await;
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
            async { Ok((self.metadata(&provider).await?, self.oauth_client(&provider).await?)) }
                .await;
        let (meta, client) = match prepared {
            Ok(p) => p,
            Err(e) => return Revocation::Failed { reason: e.to_string() },
        };
        // Never to another issuer than the one that issued it (a reload may have moved it).
        if meta.issuer != account.issuer {
            let why = super::token::issuer_moved(&meta.issuer, &account.issuer);
            return Revocation::Failed { reason: format!("not sent for revocation: {why}") };
        }
        match oauth::revoke(&self.http, &meta, &client, token, "refresh_token").await {
            Ok(RevokeOutcome::Confirmed) => Revocation::Confirmed,
            Ok(RevokeOutcome::NotSupported) => {
                Revocation::NotSupported { hint: provider.quirks.revocation_hint.clone() }
            }
            Err(e) => Revocation::Failed { reason: e.to_string() },
        }
    }
}

/// The sign-out's row in Activity: what the provider did about the sign-in.
fn signed_out_detail(revocation: &Revocation) -> String {
    match revocation {
        Revocation::Confirmed => "the provider confirmed the revocation".into(),
        Revocation::NotSupported { .. } => {
            "the provider cannot revoke from here; remove Sesame in its account settings".into()
        }
        Revocation::Failed { reason } => {
            format!("the provider did not confirm the revocation: {reason}")
        }
        Revocation::NotNeeded { reason } => format!("nothing to revoke at the provider: {reason}"),
    }
}
