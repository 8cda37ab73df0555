//! Proactive refresh: a token that programs use is renewed once it has used up a fraction
//! of its lifetime (75% by default), so a request for a warm token never waits on the
//! provider. Tokens nobody asked for within the idle time are left to expire: an idle
//! account is not refreshed forever.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::Broker;
use crate::config::RefreshPolicy;
use crate::now_unix;

/// How often the cache is scanned for due tokens.
const TICK: Duration = Duration::from_secs(1);
/// After a failed proactive refresh, wait this long (doubling up to `MAX_BACKOFF`) before
/// trying that token again; a request that needs it still refreshes on its own.
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

type Key = (String, crate::ScopeSet);

/// Starts the refresher; it ends when the broker is dropped.
pub fn spawn(broker: Weak<Broker>, policy: RefreshPolicy) {
    if !policy.enabled {
        return;
    }
    tokio::spawn(async move {
        let state: Arc<Mutex<HashMap<Key, Slot>>> = Default::default();
        loop {
            tokio::time::sleep(TICK).await;
            let Some(b) = broker.upgrade() else { return };
            for key in b.tokens_due(now_unix(), policy.fraction, policy.idle.as_secs() as i64) {
                if !claim(&state, &key) {
                    continue;
                }
                let (b, state) = (b.clone(), state.clone());
                tokio::spawn(async move {
                    let result = b.refresh_if_due(&key.0, &key.1, policy.fraction).await;
                    if let Err(e) = &result {
                        tracing::warn!(account = %key.0, scopes = %key.1, error = %e, "proactive refresh failed");
                    }
                    release(&state, key, result.is_ok());
                });
            }
        }
    });
}

/// Per token: whether a refresh runs now, and when a failed one may be tried again.
#[derive(Default)]
struct Slot {
    running: bool,
    not_before: Option<Instant>,
    backoff: Duration,
}

fn claim(state: &Mutex<HashMap<Key, Slot>>, key: &Key) -> bool {
    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    let slot = state.entry(key.clone()).or_default();
    if slot.running || slot.not_before.is_some_and(|t| Instant::now() < t) {
        return false;
    }
    slot.running = true;
    true
}

fn release(state: &Mutex<HashMap<Key, Slot>>, key: Key, ok: bool) {
    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    if ok {
        state.remove(&key);
        return;
    }
    let slot = state.entry(key).or_default();
    slot.running = false;
    slot.backoff =
        if slot.backoff.is_zero() { FIRST_BACKOFF } else { (slot.backoff * 2).min(MAX_BACKOFF) };
    slot.not_before = Some(Instant::now() + slot.backoff);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_refresh_at_a_time_and_backoff_after_failure() {
        let state = Mutex::new(HashMap::new());
        let key: Key = ("a".into(), crate::ScopeSet::parse("s"));
        assert!(claim(&state, &key));
        assert!(!claim(&state, &key), "already running");
        release(&state, key.clone(), false);
        assert!(!claim(&state, &key), "backing off after a failure");
        state.lock().unwrap().get_mut(&key).unwrap().not_before = Some(Instant::now());
        assert!(claim(&state, &key));
        release(&state, key.clone(), false);
        assert_eq!(state.lock().unwrap()[&key].backoff, FIRST_BACKOFF * 2, "doubles");
        state.lock().unwrap().get_mut(&key).unwrap().not_before = None;
        assert!(claim(&state, &key));
        release(&state, key.clone(), true);
        assert!(state.lock().unwrap().is_empty(), "success forgets the slot");
    }
}
