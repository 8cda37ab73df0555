//! Which account a token request is about, and for which scopes. A program names an
//! account id (that account, and only it), or a provider id: its only account; the one
//! account of it this program holds a grant for (the grant names the account the user
//! chose); or, when the provider has several and the program holds a grant for none, all of
//! them, and the user chooses in the question.

use sesame_ipc::consent::AccountChoice;
use sesame_ipc::protocol::{AccountInfo, TokenGetParams};

use super::Broker;
use crate::error::BrokerError;
use crate::policy::Caller;
use crate::ScopeSet;

/// A token request with its account (or accounts to choose from) and scopes resolved.
#[derive(Debug)]
pub(crate) struct Asked {
    /// What the program named: an account id or a provider id.
    pub named: String,
    /// One account, or (several) the accounts the user chooses from.
    pub accounts: Vec<AccountInfo>,
    /// Asked for, else the grant's, else the account's (for a choice: what every offered
    /// account has).
    pub scopes: ScopeSet,
    /// What the program says the request is for (git's repository): display only.
    pub told_repository: Option<String>,
    /// Whether a request no grant covers waits for the user's answer (`"wait": false`: it
    /// fails with `consent_required` and nobody is asked).
    pub wait: bool,
    /// Of `scopes`, what the program did not ask for: set by [`Asked::carried`].
    pub beyond_asked: ScopeSet,
}

impl Asked {
    /// The one account, when there is no choice to make.
    pub fn account(&self) -> Option<&AccountInfo> {
        match self.accounts.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// What the question is about: the account id, or the provider id for a choice.
    pub fn about(&self) -> &str {
        self.account().map_or(self.named.as_str(), |a| a.id.as_str())
    }

    /// The choices the question offers (none when it is about one account).
    pub fn choices(&self) -> Vec<AccountChoice> {
        if self.account().is_some() {
            return vec![];
        }
        let choice =
            |a: &AccountInfo| AccountChoice { id: a.id.clone(), name: a.display_name().to_owned() };
        self.accounts.iter().map(choice).collect()
    }
}

impl Broker {
    /// The account(s) and scopes of `params`, for `caller`, at `now` (grants that lapsed by
    /// then count for nothing). Fails before consent: `no_such_account`, `ambiguous_account`
    /// (the program holds grants for several of the provider's accounts: it must name one),
    /// `insufficient_scope`.
    pub(crate) fn asked(
        &self,
        caller: &Caller,
        params: &TokenGetParams,
        now: i64,
    ) -> Result<Asked, BrokerError> {
        let named = params.account.clone();
        let mut accounts = self.accounts_named(&named)?;
        if accounts.len() > 1 {
            let ids = accounts.iter().map(|a| a.id.as_str());
            let granted: Vec<String> = self
                .grants
                .granted_accounts(&caller.app.key, ids, now)
                .into_iter()
                .map(str::to_owned)
                .collect();
            match granted.len() {
                0 => {}
                1 => accounts.retain(|a| a.id == granted[0]),
                _ => return Err(BrokerError::AmbiguousAccount { provider: named, ids: granted }),
            }
        }
        let scopes = match &params.scopes {
            Some(asked) if !asked.is_empty() => {
                // Offered are the accounts that have them; with none, say what the first lacks.
                let missing = asked.missing_from(&accounts[0].scopes);
                let about =
                    if accounts.len() == 1 { accounts[0].id.clone() } else { named.clone() };
                accounts.retain(|a| asked.is_subset(&a.scopes));
                if accounts.is_empty() {
                    return Err(BrokerError::InsufficientScope { account: about, missing });
                }
                asked.clone()
            }
            _ => match accounts.as_slice() {
                [one] => self
                    .grants
                    .default_scopes(&caller.app.key, &one.id, now)
                    .unwrap_or_else(|| one.scopes.clone()),
                several => common_scopes(several),
            },
        };
        Ok(Asked {
            named,
            accounts,
            scopes,
            wait: params.waits(),
            beyond_asked: ScopeSet::default(),
            told_repository: None,
        })
    }

    /// The account with this id, else the provider's accounts (in the accounts list's
    /// order); never empty.
    fn accounts_named(&self, name: &str) -> Result<Vec<AccountInfo>, BrokerError> {
        let accounts = self.accounts.read().unwrap_or_else(|p| p.into_inner());
        if let Some(a) = accounts.get(name) {
            return Ok(vec![a.clone()]);
        }
        // The mirror is in sign-in order.
        let of_provider: Vec<AccountInfo> =
            accounts.values().filter(|a| a.provider == name).cloned().collect();
        if of_provider.is_empty() {
            return Err(BrokerError::NoSuchAccount(name.into()));
        }
        Ok(of_provider)
    }
}

/// The scopes every one of `accounts` has.
fn common_scopes(accounts: &[AccountInfo]) -> ScopeSet {
    let Some((first, rest)) = accounts.split_first() else { return ScopeSet::default() };
    first.scopes.iter().filter(|s| rest.iter().all(|a| a.scopes.contains(s))).collect()
}
