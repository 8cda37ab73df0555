//! Access tokens, in memory only, keyed by (account, scope set). This is the warm path:
//! a lookup here is all a `token.get` for a fresh token costs — no keyring, no SQLite.
//! Each entry also remembers when it was last handed out, so the proactive refresher knows
//! which tokens programs still use.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::{ScopeSet, Secret};

#[derive(Clone, Debug)]
pub struct CachedToken {
    pub access_token: Secret,
    pub token_type: String,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// What the token carries (see [`CachedToken::from_answer`]).
    pub scope: ScopeSet,
}

/// Used when a token response has no `expires_in` (RFC 6749 only recommends it).
const DEFAULT_EXPIRES_IN: u64 = 3600;

impl CachedToken {
    /// The one way a provider's answer becomes a cached token (sign-in, refresh, client
    /// credentials). An answer without `scope` carries what was `asked` (RFC 6749 §5.1: the
    /// scope is omitted when it is identical to the request).
    pub fn from_answer(
        access_token: Secret,
        token_type: String,
        expires_in: Option<u64>,
        granted: Option<ScopeSet>,
        asked: &ScopeSet,
        now: i64,
    ) -> CachedToken {
        CachedToken {
            access_token,
            token_type,
            issued_at: now,
            expires_at: now + expires_in.unwrap_or(DEFAULT_EXPIRES_IN) as i64,
            scope: granted.unwrap_or_else(|| asked.clone()),
        }
    }
}

struct Entry {
    token: CachedToken,
    /// Which `put` stored it: later puts have larger numbers.
    generation: u64,
    /// Unix seconds of the last hand-out (or of caching, for a token nobody took yet).
    last_used: i64,
}

#[derive(Default)]
pub struct TokenCache {
    map: Mutex<HashMap<(String, ScopeSet), Entry>>,
    puts: std::sync::atomic::AtomicU64,
}

impl TokenCache {
    /// The cached token when it stays valid for more than `min_ttl` seconds after `now`;
    /// counts as a use.
    pub fn get(
        &self,
        account: &str,
        scopes: &ScopeSet,
        min_ttl: u64,
        now: i64,
    ) -> Option<CachedToken> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.get_mut(&(account.to_owned(), scopes.clone()))?;
        if entry.token.expires_at - now > min_ttl as i64 {
            entry.last_used = now;
            return Some(entry.token.clone());
        }
        None
    }

    /// A mark to pass to [`TokenCache::stored_since`] later.
    pub fn mark(&self) -> u64 {
        self.puts.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A still-valid token stored after `mark` was taken; counts as a use.
    pub fn stored_since(
        &self,
        account: &str,
        scopes: &ScopeSet,
        mark: u64,
        now: i64,
    ) -> Option<CachedToken> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.get_mut(&(account.to_owned(), scopes.clone()))?;
        if entry.generation > mark && entry.token.expires_at > now {
            entry.last_used = now;
            return Some(entry.token.clone());
        }
        None
    }

    /// Stores a fresh token; the entry keeps its last use (a proactive refresh is not a use).
    pub fn put(&self, account: &str, scopes: &ScopeSet, token: CachedToken) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let key = (account.to_owned(), scopes.clone());
        let last_used = map.get(&key).map(|e| e.last_used).unwrap_or(token.issued_at);
        let generation = self.puts.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        map.insert(key, Entry { token, generation, last_used });
    }

    pub fn forget_account(&self, account: &str) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|(a, _), _| a != account);
    }

    /// Removes the account's entries and returns the access tokens that were still valid
    /// at `now` (for revocation at sign-out).
    pub fn take_account(&self, account: &str, now: i64) -> Vec<Secret> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let keys: Vec<(String, ScopeSet)> =
            map.keys().filter(|(a, _)| a == account).cloned().collect();
        keys.into_iter()
            .filter_map(|k| map.remove(&k))
            .filter(|e| e.token.expires_at > now)
            .map(|e| e.token.access_token)
            .collect()
    }

    /// (account, scopes, expires_at) of every cached token, for `broker.status`.
    pub fn expiries(&self) -> Vec<(String, ScopeSet, i64)> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.iter().map(|((a, s), e)| (a.clone(), s.clone(), e.token.expires_at)).collect()
    }

    /// (account, scopes) whose token has used up `fraction` of its lifetime and that a
    /// program took within the last `idle` seconds: refresh these before anyone waits.
    pub fn due(&self, now: i64, fraction: f64, idle: i64) -> Vec<(String, ScopeSet)> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .filter(|(_, e)| {
                let lifetime = (e.token.expires_at - e.token.issued_at).max(0) as f64;
                now as f64 >= e.token.issued_at as f64 + lifetime * fraction
                    && now - e.last_used <= idle
            })
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Whether the entry still needs the refresh [`TokenCache::due`] asked for (another
    /// task may have done it meanwhile).
    pub fn still_due(&self, account: &str, scopes: &ScopeSet, now: i64, fraction: f64) -> bool {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&(account.to_owned(), scopes.clone())).is_some_and(|e| {
            let lifetime = (e.token.expires_at - e.token.issued_at).max(0) as f64;
            now as f64 >= e.token.issued_at as f64 + lifetime * fraction
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(issued_at: i64, expires_at: i64) -> CachedToken {
        CachedToken {
            access_token: Secret::new("x"),
            token_type: "Bearer".into(),
            issued_at,
            expires_at,
            scope: s("a"),
        }
    }

    fn s(words: &str) -> ScopeSet {
        ScopeSet::parse(words)
    }

    #[test]
    fn an_answer_without_scope_carries_what_was_asked() {
        let asked = s("openid email");
        let x = || Secret::new("x");
        let t = CachedToken::from_answer(x(), "Bearer".into(), None, None, &asked, 10);
        assert_eq!((t.scope, t.expires_at), (asked.clone(), 10 + DEFAULT_EXPIRES_IN as i64));
        let t =
            CachedToken::from_answer(x(), "Bearer".into(), Some(5), Some(s("email")), &asked, 10);
        assert_eq!((t.scope, t.expires_at), (s("email"), 15));
    }

    #[test]
    fn min_ttl_decides_freshness() {
        let c = TokenCache::default();
        c.put("acc", &s("a"), token(0, 1000));
        assert!(c.get("acc", &s("a"), 60, 900).is_some());
        assert!(c.get("acc", &s("a"), 100, 900).is_none());
        assert!(c.get("acc", &s("b"), 0, 900).is_none());
        c.forget_account("acc");
        assert!(c.get("acc", &s("a"), 0, 0).is_none());
    }

    #[test]
    fn take_account_returns_the_live_tokens_and_forgets_them() {
        let c = TokenCache::default();
        c.put("acc", &s("a"), token(0, 1000));
        c.put("acc", &s("b"), token(0, 10));
        c.put("other", &s("a"), token(0, 1000));
        assert_eq!(c.take_account("acc", 500).len(), 1, "the expired one is not worth revoking");
        assert!(c.get("acc", &s("a"), 0, 0).is_none() && c.get("acc", &s("b"), 0, 0).is_none());
        assert!(c.get("other", &s("a"), 0, 0).is_some());
    }

    #[test]
    fn stored_since_sees_only_later_puts() {
        let c = TokenCache::default();
        c.put("acc", &s("a"), token(0, 1000));
        let mark = c.mark();
        assert!(c.stored_since("acc", &s("a"), mark, 10).is_none(), "stored before the mark");
        c.put("acc", &s("a"), token(0, 1000));
        assert!(c.stored_since("acc", &s("a"), mark, 10).is_some());
        assert!(c.stored_since("acc", &s("a"), mark, 1000).is_none(), "expired");
    }

    #[test]
    fn used_tokens_come_due_at_the_fraction_and_idle_ones_do_not() {
        let c = TokenCache::default();
        c.put("used", &s("a"), token(0, 100));
        c.put("idle", &s("a"), token(0, 100));
        assert!(c.due(74, 0.75, 30).is_empty(), "not yet at 75%");
        c.get("used", &s("a"), 0, 70);
        let due = c.due(76, 0.75, 30);
        assert_eq!(due, vec![("used".to_string(), s("a"))], "idle since 0, more than 30 s ago");
        assert!(c.still_due("used", &s("a"), 76, 0.75));
        c.put("used", &s("a"), token(76, 176));
        assert!(!c.still_due("used", &s("a"), 77, 0.75), "refreshed meanwhile");
        assert!(
            c.due(160, 0.75, 100).iter().any(|(a, _)| a == "used"),
            "the last use survives a refresh"
        );
    }
}
