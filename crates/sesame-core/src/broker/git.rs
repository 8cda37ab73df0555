//! `git.credential` and `git.erase`: the git credential helper's side of the broker. A host
//! is served by the first provider whose `git_hosts` names it; the token goes through
//! `token.get`'s own path (consent, cache, refresh), so a git credential is granted, cached
//! and logged like any other token of the same program.

use sesame_ipc::git::*;
use sesame_ipc::protocol::{AccountInfo, TokenGetParams};

use super::{Broker, ProviderRef};
use crate::config::ProviderConfig;
use crate::error::BrokerError;
use crate::now_unix;
use crate::policy::{Asker, Caller};

impl Broker {
    /// The token for `params.host`, or `None` when no provider serves it.
    pub async fn git_credential(
        &self,
        caller: &Caller,
        asker: Asker<'_>,
        params: &GitCredentialParams,
    ) -> Result<GitCredentialResult, BrokerError> {
        let Some(provider) = self.git_provider(&params.host) else {
            return Ok(GitCredentialResult { credential: None });
        };
        let named = self.git_account(&provider, params.username.as_deref())?;
        let asked = TokenGetParams { account: named, scopes: None, min_ttl: None, wait: None };
        let repository = params.repository.as_ref().map(|r| bounded(r));
        let token = self.token_told(caller, asker, &asked, repository).await?;
        let username = provider.git.username.clone();
        Ok(GitCredentialResult { credential: Some(GitCredential { username, token }) })
    }

    /// Drops the cached tokens of the host's accounts (the one `username` names, if any)
    /// that this program holds a grant for: erasing can only make the program's next
    /// request refresh what it could already get, never touch what it could not.
    pub fn git_erase(
        &self,
        caller: &Caller,
        params: &GitEraseParams,
    ) -> Result<GitEraseResult, BrokerError> {
        let Some(provider) = self.git_provider(&params.host) else {
            return Ok(GitEraseResult { accounts: vec![] });
        };
        let candidates = match self.git_account(&provider, params.username.as_deref()) {
            Ok(named) if named != provider.id => vec![named],
            Ok(_) => self.provider_accounts(&provider.id).into_iter().map(|a| a.id).collect(),
            Err(_) => vec![],
        };
        let granted: Vec<String> = self
            .grants
            .granted_accounts(&caller.app.key, candidates.iter().map(String::as_str), now_unix())
            .into_iter()
            .map(str::to_owned)
            .collect();
        for account in &granted {
            self.cache.forget_account(account);
            tracing::info!(app = %caller.app.key, account, "git erase: cached tokens dropped");
        }
        Ok(GitEraseResult { accounts: granted })
    }

    /// The first provider (in the config in force) whose `git_hosts` has `host`.
    fn git_provider(&self, host: &str) -> Option<ProviderRef> {
        let config = self.config();
        let id = &config.providers.iter().find(|p| p.git.serves(host.trim()))?.id;
        self.provider(id).ok()
    }

    /// What to ask `token.get` for: the account `username` names (its e-mail, name,
    /// subject or id), else the provider (its only account, the granted one, or the user's
    /// choice). A username that is the provider's `git_username` names no one.
    fn git_account(
        &self,
        provider: &ProviderConfig,
        username: Option<&str>,
    ) -> Result<String, BrokerError> {
        let Some(username) = username.filter(|u| !u.is_empty() && *u != provider.git.username)
        else {
            return Ok(provider.id.clone());
        };
        let is = |a: &AccountInfo| {
            a.id == username
                || a.subject == username
                || a.email.as_deref() == Some(username)
                || a.name.as_deref() == Some(username)
        };
        match self.provider_accounts(&provider.id).into_iter().find(is) {
            Some(a) => Ok(a.id),
            None => Err(BrokerError::NoSuchAccount(format!(
                "{username} (git's username for a host of provider {})",
                provider.id
            ))),
        }
    }

    fn provider_accounts(&self, provider: &str) -> Vec<AccountInfo> {
        let accounts = self.accounts.read().unwrap_or_else(|p| p.into_inner());
        accounts.values().filter(|a| a.provider == provider).cloned().collect()
    }
}

/// The repository as shown: at most 200 characters, no control characters (it is the
/// program's word, and it must not be able to forge lines in a terminal's question).
fn bounded(repository: &str) -> String {
    let clean: String = repository.chars().filter(|c| !c.is_control()).collect();
    match clean.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &clean[..cut]),
        None => clean,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_told_repository_is_bounded_and_has_no_control_characters() {
        assert_eq!(super::bounded("a/b\n! fake line\x1b[2J"), "a/b! fake line[2J");
        let long = "x".repeat(300);
        assert_eq!(super::bounded(&long).chars().count(), 201);
    }
}
