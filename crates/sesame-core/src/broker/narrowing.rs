//! What a refresh's answer says about the provider's narrowing, and what Sesame does about it.
//!
//! RFC 6749 §6 lets a refresh ask for fewer scopes and keeps the refresh token's grant as it
//! was. Providers differ: GitHub ignores the request (its token carries every scope), and
//! django-oauth-toolkit narrows the rotated *refresh token* too, so every later token of the
//! account is narrow. Both are seen in the answers, and both stop narrowing at that provider:
//! from then on a program is offered, and given, the token of the whole grant.

use std::collections::HashSet;
use std::sync::Mutex;

use sesame_ipc::protocol::AccountInfo;

use super::Broker;
use crate::config::ProviderConfig;
use crate::ScopeSet;

/// Providers (by id) at which Sesame no longer narrows, found from their answers. Kept for
/// the broker's life; `allow_scope_narrowing = false` in the config makes it permanent.
#[derive(Default)]
pub(crate) struct Narrowing {
    stopped: Mutex<HashSet<String>>,
}

impl Narrowing {
    pub fn stopped(&self, provider: &str) -> bool {
        self.stopped.lock().unwrap_or_else(|p| p.into_inner()).contains(provider)
    }

    /// Whether this call stopped it (false: it was stopped already).
    fn stop(&self, provider: &str) -> bool {
        self.stopped.lock().unwrap_or_else(|p| p.into_inner()).insert(provider.to_owned())
    }
}

/// What a refresh's `scope` says, given whether the refresh asked for fewer scopes than the
/// account's (`narrowed`) and what it asked for (`asked`: the account's scopes, if not).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Finding {
    /// Nothing new: the answer carries what was asked (or says nothing).
    AsAsked,
    /// A refresh of the whole grant came back narrower: the refresh token's grant shrank
    /// (narrowed by an earlier refresh, or the user withdrew scopes at the provider).
    GrantShrank(ScopeSet),
    /// A narrowing refresh came back with more than it asked for: the provider cannot narrow.
    CannotNarrow,
}

pub(crate) fn finding(narrowed: bool, asked: &ScopeSet, granted: Option<&ScopeSet>) -> Finding {
    let Some(granted) = granted else { return Finding::AsAsked };
    if granted == asked {
        return Finding::AsAsked;
    }
    if !narrowed && granted.is_subset(asked) {
        return Finding::GrantShrank(granted.clone());
    }
    if narrowed && asked.is_subset(granted) {
        return Finding::CannotNarrow;
    }
    Finding::AsAsked
}

impl Broker {
    /// Acts on what a refresh's answer says (`finding`): the account's recorded scopes follow
    /// the grant the provider holds, and narrowing stops at a provider that narrowed the
    /// refresh token or cannot narrow at all.
    pub(crate) fn check_granted(
        &self,
        account: &AccountInfo,
        provider: &ProviderConfig,
        narrowed: bool,
        asked: &ScopeSet,
        granted: Option<&ScopeSet>,
    ) {
        match finding(narrowed, asked, granted) {
            Finding::AsAsked => {}
            Finding::GrantShrank(now) => {
                let lost = account.scopes.missing_from(&now);
                tracing::warn!(account = %account.id, provider = %provider.id, scopes = %now, %lost,
                    "the provider's grant for this account is narrower than it was (an earlier narrowing refresh narrowed the refresh token itself, or the user withdrew scopes at the provider); Sesame records the narrower scopes and stops narrowing at this provider; sign in again to get the lost scopes back");
                if provider.allow_scope_narrowing && self.narrowing.stop(&provider.id) {
                    tracing::warn!(provider = %provider.id, "narrowing stopped: set `allow_scope_narrowing = false` for this provider to keep it so after a restart");
                }
                let mut updated =
                    self.resolve_account(&account.id).unwrap_or_else(|_| account.clone());
                updated.scopes = now;
                if let Err(e) = self.remember_account(updated) {
                    tracing::warn!(account = %account.id, error = %e, "could not record the account's narrower scopes");
                }
            }
            Finding::CannotNarrow => {
                if self.narrowing.stop(&provider.id) {
                    tracing::warn!(provider = %provider.id, asked = %asked, "the provider answered a narrowing refresh with more scopes than asked: it cannot narrow, so programs are now offered and given the whole grant's token; set `allow_scope_narrowing = false` for this provider");
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "narrowing_tests.rs"]
mod broker_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn s(words: &str) -> ScopeSet {
        ScopeSet::parse(words)
    }

    #[test]
    fn answers_as_providers_give_them() {
        let full = s("openid email profile");
        // oidc-provider, Google: the answer names what was asked, or nothing.
        assert_eq!(finding(true, &s("openid"), Some(&s("openid"))), Finding::AsAsked);
        assert_eq!(finding(false, &full, None), Finding::AsAsked);
        assert_eq!(finding(true, &s("email"), None), Finding::AsAsked);
        // django-oauth-toolkit: a full refresh after a narrowing one comes back narrow.
        assert_eq!(finding(false, &full, Some(&s("openid"))), Finding::GrantShrank(s("openid")));
        // GitHub-like: `scope` ignored on refresh, the answer names the whole grant.
        assert_eq!(finding(true, &s("email"), Some(&full)), Finding::CannotNarrow);
        // A provider that gives a narrowing refresh less than asked: its word, nothing more.
        assert_eq!(finding(true, &s("openid email"), Some(&s("openid"))), Finding::AsAsked);
    }
}
