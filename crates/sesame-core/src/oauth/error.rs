//! Everything that can go wrong talking OAuth. No variant ever holds a token, code or
//! verifier: only provider-chosen error strings (which RFC 6749 says are human-readable
//! diagnostics) and our own descriptions.

use sesame_ipc::ErrorKind;

/// Provider error descriptions longer than this are cut, so a hostile or broken provider
/// cannot flood logs and error dialogs.
const MAX_PROVIDER_TEXT: usize = 200;

/// Serializable: a refresh helper reports it to the broker.
#[derive(Debug, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum OAuthError {
    #[error("cannot reach {what}: {detail}; check the network connection and the provider's URL, then try again")]
    Unreachable { what: String, detail: String },

    /// HTTP 429. `retry_after` is the provider's `Retry-After`, when it sent a usable one.
    #[error(
        "{what} answered HTTP 429: Sesame is rate limited{}; wait a while before trying again",
        wait(retry_after)
    )]
    RateLimited { what: String, retry_after: Option<std::time::Duration> },

    #[error("the provider refused: {error}{}; check the provider's client registration (client_id, redirect URIs, scopes)", describe(description))]
    Provider { error: String, description: Option<String> },

    #[error(
        "the provider no longer accepts the grant (invalid_grant{}); sign in again",
        describe(description)
    )]
    InvalidGrant { description: Option<String> },

    #[error("the sign-in was refused (access_denied{}); start it again and approve the request, or ask the provider's administrator for access", describe(description))]
    AccessDenied { description: Option<String> },

    #[error("the sign-in redirect carried the wrong `state`, so it does not belong to this sign-in (possibly a forged request); start the sign-in again")]
    StateMismatch,

    #[error("the sign-in redirect came from issuer `{got}` instead of `{expected}` (possible mix-up attack); start the sign-in again and check the provider's issuer in the config")]
    IssuerMismatch { expected: String, got: String },

    /// `provider_said`: the redirect's own `error` (and `error_description`), kept so the
    /// user sees the provider's words although the redirect itself is refused (DOT sends
    /// its error redirects without `iss`).
    #[error("{}the sign-in redirect lacks the `iss` parameter although the provider promises to send it (RFC 9207), so Sesame cannot tell it came from the provider and refused it; {}", said(provider_said), next_after_missing_iss(provider_said))]
    MissingIssuer { provider_said: Option<String> },

    #[error("the sign-in timed out before the browser came back; start it again and finish it in the browser sooner")]
    Timeout,

    #[error("the sign-in was cancelled")]
    Cancelled,

    /// RFC 8628: `expired_token`, or the device code's lifetime ran out while polling.
    #[error("the device code expired before the sign-in was approved{}; start the device sign-in again and approve it at the provider before the code expires", describe(description))]
    DeviceCodeExpired { description: Option<String> },

    /// RFC 8628: the provider refused the device code itself (`invalid_grant`).
    #[error("the provider no longer accepts this sign-in's device code (invalid_grant{}); start the device sign-in again", describe(description))]
    DeviceCodeRejected { description: Option<String> },

    #[error("the provider's answer is unusable: {0}")]
    BadResponse(String),

    #[error("the provider's discovery document or endpoints are unusable: {0}")]
    BadMetadata(String),

    #[error("the ID token is not acceptable: {0}; start the sign-in again, and if it keeps failing check the provider's issuer and client_id in the config")]
    BadIdToken(String),

    /// A local failure (socket, runtime), not the provider's fault.
    #[error("local failure during sign-in: {0}")]
    Local(String),
}

impl OAuthError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            OAuthError::Unreachable { .. } | OAuthError::RateLimited { .. } => {
                ErrorKind::ProviderUnreachable
            }
            OAuthError::Provider { .. } | OAuthError::BadMetadata(_) => ErrorKind::ProviderError,
            OAuthError::InvalidGrant { .. } => ErrorKind::ReauthRequired,
            OAuthError::AccessDenied { .. } => ErrorKind::AccessDenied,
            OAuthError::StateMismatch
            | OAuthError::IssuerMismatch { .. }
            | OAuthError::MissingIssuer { .. }
            | OAuthError::BadIdToken(_)
            | OAuthError::BadResponse(_)
            | OAuthError::DeviceCodeRejected { .. } => ErrorKind::LoginFailed,
            OAuthError::Timeout | OAuthError::DeviceCodeExpired { .. } => ErrorKind::LoginTimeout,
            OAuthError::Cancelled => ErrorKind::LoginCancelled,
            OAuthError::Local(_) => ErrorKind::Internal,
        }
    }

    /// Network failures, 5xx and 429: worth another try later, and no reason to stop serving
    /// a token that is still valid.
    pub fn is_transient(&self) -> bool {
        matches!(self, OAuthError::Unreachable { .. } | OAuthError::RateLimited { .. })
    }

    /// Builds the error for an OAuth error response (`error`, `error_description`).
    pub(crate) fn from_oauth_error(error: &str, description: Option<&str>) -> OAuthError {
        let description = description.map(clean_provider_text).filter(|d| !d.is_empty());
        match error {
            // GitHub's name for invalid_grant on a refresh.
            "invalid_grant" | "bad_refresh_token" => OAuthError::InvalidGrant { description },
            "access_denied" => OAuthError::AccessDenied { description },
            other => OAuthError::Provider { error: clean_provider_text(other), description },
        }
    }
}

fn wait(retry_after: &Option<std::time::Duration>) -> String {
    match retry_after {
        Some(d) => format!(", asking for {} s of quiet", d.as_secs()),
        None => String::new(),
    }
}

fn said(provider_said: &Option<String>) -> String {
    match provider_said {
        Some(words) => format!("the provider answered the sign-in with an error ({words}), but "),
        None => String::new(),
    }
}

fn next_after_missing_iss(provider_said: &Option<String>) -> &'static str {
    match provider_said {
        Some(_) => "if that error is right, fix its cause (often the provider's `scopes` in the config) and sign in again",
        None => "start the sign-in again",
    }
}

fn describe(description: &Option<String>) -> String {
    match description {
        Some(d) => format!(": {d}"),
        None => String::new(),
    }
}

/// Provider-supplied text: control characters removed (no log-line injection), cut to
/// [`MAX_PROVIDER_TEXT`] characters.
pub(crate) fn clean_provider_text(s: &str) -> String {
    let mut out: String =
        s.chars().map(|c| if c.is_control() { ' ' } else { c }).take(MAX_PROVIDER_TEXT).collect();
    if s.chars().count() > MAX_PROVIDER_TEXT {
        out.push('…');
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_oauth_errors() {
        assert!(matches!(
            OAuthError::from_oauth_error("invalid_grant", None),
            OAuthError::InvalidGrant { .. }
        ));
        assert_eq!(
            OAuthError::from_oauth_error("invalid_grant", None).kind(),
            ErrorKind::ReauthRequired
        );
        let e = OAuthError::from_oauth_error("invalid_scope", Some("bad\nscope"));
        assert_eq!(e.kind(), ErrorKind::ProviderError);
        assert!(e.to_string().contains("invalid_scope: bad scope"), "{e}");
    }

    #[test]
    fn long_descriptions_are_cut() {
        let long = "x".repeat(1000);
        let cut = clean_provider_text(&long);
        assert!(cut.chars().count() <= MAX_PROVIDER_TEXT + 1);
        assert!(cut.ends_with('…'));
    }
}
