//! Retrying calls at a provider: transient failures (network, 5xx, 429) get a few quick
//! tries with exponential backoff and jitter, since a program may be waiting; a provider that
//! asked for quiet with `Retry-After` gets it — no request reaches it before that time, from
//! any account or from the proactive refresher.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::oauth::OAuthError;

/// Tries per call while the provider is unreachable.
pub(crate) const ATTEMPTS: u32 = 3;

/// The longest `Retry-After` a waiting program sits through; longer ones fail the call now
/// (a still-valid cached token is served instead, if there is one).
const MAX_WAIT: Duration = Duration::from_secs(5);

/// Per provider: the time before which it asked not to be called again.
#[derive(Default)]
pub(crate) struct RateLimits {
    until: Mutex<HashMap<String, Instant>>,
}

impl RateLimits {
    /// How long `provider` still wants quiet, if it does.
    fn remaining(&self, provider: &str) -> Option<Duration> {
        let until = self.until.lock().unwrap_or_else(|p| p.into_inner());
        until
            .get(provider)
            .and_then(|t| t.checked_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }

    pub(crate) fn note(&self, provider: &str, quiet: Duration) {
        let mut until = self.until.lock().unwrap_or_else(|p| p.into_inner());
        let at = Instant::now() + quiet;
        let entry = until.entry(provider.to_owned()).or_insert(at);
        *entry = (*entry).max(at);
    }

    /// Runs `call` (one request at `provider`) until it succeeds, fails for good, or the
    /// tries are used up.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        provider: &str,
        what: &str,
        mut call: F,
    ) -> Result<T, OAuthError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OAuthError>>,
    {
        let mut attempt = 0u32;
        loop {
            if let Some(quiet) = self.remaining(provider) {
                if quiet > MAX_WAIT || attempt + 1 >= ATTEMPTS {
                    return Err(OAuthError::RateLimited {
                        what: what.into(),
                        retry_after: Some(round_up(quiet)),
                    });
                }
                tokio::time::sleep(quiet + jitter()).await;
            }
            let err = match call().await {
                Err(e) if e.is_transient() && attempt + 1 < ATTEMPTS => e,
                Err(OAuthError::RateLimited { what, retry_after: Some(quiet) }) => {
                    self.note(provider, quiet);
                    return Err(OAuthError::RateLimited { what, retry_after: Some(quiet) });
                }
                other => return other,
            };
            let backoff = Duration::from_millis(200 << attempt) + jitter();
            match &err {
                // The provider's own wait, at least; our backoff if it named none.
                OAuthError::RateLimited { retry_after: Some(quiet), .. } => {
                    self.note(provider, *quiet)
                }
                _ => tokio::time::sleep(backoff).await,
            }
            tracing::info!(provider, error = %err, "call at the provider failed; retrying");
            attempt += 1;
        }
    }
}

fn jitter() -> Duration {
    Duration::from_millis(rand::random_range(0..200))
}

/// Whole seconds, rounded up: "retry after 0 s" would invite an immediate retry.
fn round_up(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs() + u64::from(d.subsec_nanos() > 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn limited(secs: Option<u64>) -> OAuthError {
        OAuthError::RateLimited {
            what: "the token endpoint".into(),
            retry_after: secs.map(Duration::from_secs),
        }
    }

    fn down() -> OAuthError {
        OAuthError::Unreachable {
            what: "the token endpoint".into(),
            detail: "connection refused".into(),
        }
    }

    /// Runs `run` with answers taken from `script` in order; returns the result, the number
    /// of calls, and how much (paused, virtual) time passed.
    async fn scripted(
        limits: &RateLimits,
        script: Vec<Result<u32, OAuthError>>,
    ) -> (Result<u32, OAuthError>, u32, Duration) {
        let calls = AtomicU32::new(0);
        let script = Mutex::new(script.into_iter());
        let start = Instant::now();
        let result = limits
            .run("p", "the token endpoint", || {
                calls.fetch_add(1, Ordering::SeqCst);
                let next = script.lock().unwrap().next().expect("called more often than scripted");
                async move { next }
            })
            .await;
        (result, calls.load(Ordering::SeqCst), start.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_retry_after_is_waited_out_then_retried() {
        let limits = RateLimits::default();
        let (result, calls, waited) = scripted(&limits, vec![Err(limited(Some(2))), Ok(7)]).await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(calls, 2);
        assert!(waited >= Duration::from_secs(2), "waited only {waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_retry_after_fails_now_and_keeps_everyone_quiet() {
        let limits = RateLimits::default();
        let (result, calls, _) = scripted(&limits, vec![Err(limited(Some(600)))]).await;
        assert!(
            matches!(result, Err(OAuthError::RateLimited { retry_after: Some(d), .. }) if d == Duration::from_secs(600))
        );
        assert_eq!(calls, 1);
        // A second call (another account, the refresher) does not reach the provider.
        let (result, calls, _) = scripted(&limits, vec![]).await;
        assert!(
            matches!(result, Err(OAuthError::RateLimited { retry_after: Some(d), .. }) if d <= Duration::from_secs(600))
        );
        assert_eq!(calls, 0);
        // Other providers are not affected.
        assert!(limits.remaining("q").is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn network_failures_back_off_and_give_up_after_the_attempts() {
        let limits = RateLimits::default();
        let (result, calls, waited) =
            scripted(&limits, vec![Err(down()), Err(down()), Err(down())]).await;
        assert!(matches!(result, Err(OAuthError::Unreachable { .. })));
        assert_eq!(calls, ATTEMPTS);
        assert!(waited >= Duration::from_millis(200 + 400));
        let (result, calls, _) = scripted(&limits, vec![Err(down()), Ok(1)]).await;
        assert_eq!((result.unwrap(), calls), (1, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_without_retry_after_backs_off_like_a_network_failure() {
        let limits = RateLimits::default();
        let (result, calls, _) = scripted(&limits, vec![Err(limited(None)), Ok(3)]).await;
        assert_eq!((result.unwrap(), calls), (3, 2));
        assert!(limits.remaining("p").is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_errors_are_not_retried() {
        let limits = RateLimits::default();
        let (result, calls, _) =
            scripted(&limits, vec![Err(OAuthError::InvalidGrant { description: None })]).await;
        assert!(matches!(result, Err(OAuthError::InvalidGrant { .. })));
        assert_eq!(calls, 1);
    }
}
