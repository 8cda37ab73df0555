//! Access tokens, in memory only, keyed by (account, scope set). This is the warm path:
//! a lookup here is all a `token.get` for a fresh token costs — no keyring, no SQLite.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use crate::Secret;

#[derive(Clone, Debug)]
pub struct CachedToken {
    pub access_token: Secret,
    pub token_type: String,
    /// Unix seconds.
    pub expires_at: i64,
    pub scope: String,
}

/// A scope set in canonical form: sorted, without duplicates, space-joined.
pub fn scope_key<S: AsRef<str>>(scopes: &[S]) -> String {
    let set: BTreeSet<&str> = scopes.iter().map(|s| s.as_ref()).filter(|s| !s.is_empty()).collect();
    set.into_iter().collect::<Vec<_>>().join(" ")
}

#[derive(Default)]
pub struct TokenCache {
    map: Mutex<HashMap<(String, String), CachedToken>>,
}

impl TokenCache {
    /// The cached token when it stays valid for more than `min_ttl` seconds after `now`.
    pub fn get(&self, account: &str, scope_key: &str, min_ttl: u64, now: i64) -> Option<CachedToken> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let token = map.get(&(account.to_owned(), scope_key.to_owned()))?;
        (token.expires_at - now > min_ttl as i64).then(|| token.clone())
    }

    pub fn put(&self, account: &str, scope_key: &str, token: CachedToken) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.insert((account.to_owned(), scope_key.to_owned()), token);
    }

    pub fn forget_account(&self, account: &str) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|(a, _), _| a != account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_sets_are_canonical() {
        assert_eq!(scope_key(&["profile", "openid", "profile", ""]), "openid profile");
    }

    #[test]
    fn min_ttl_decides_freshness() {
        let c = TokenCache::default();
        let t = CachedToken { access_token: Secret::new("x"), token_type: "Bearer".into(), expires_at: 1000, scope: "a".into() };
        c.put("acc", "a", t);
        assert!(c.get("acc", "a", 60, 900).is_some());
        assert!(c.get("acc", "a", 100, 900).is_none());
        assert!(c.get("acc", "b", 0, 900).is_none());
        c.forget_account("acc");
        assert!(c.get("acc", "a", 0, 0).is_none());
    }
}
