//! `token.get`: what a program asks for, and the one result that carries a token.

use serde::{Deserialize, Serialize};

use crate::{ScopeSet, Secret};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenGetParams {
    /// An account id, or a provider id that has exactly one account.
    pub account: String,
    /// Defaults to all of the account's scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<ScopeSet>,
    /// Refresh first when the cached token expires within this many seconds (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ttl: Option<u64>,
    /// `false`: a program no grant covers fails at once with `consent_required` instead of
    /// waiting for the user's answer (for cron jobs and scripts nobody watches). Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<bool>,
}

impl TokenGetParams {
    /// Whether a request no grant covers waits for the user's answer.
    pub fn waits(&self) -> bool {
        self.wait.unwrap_or(true)
    }
}

/// Default for [`TokenGetParams::min_ttl`].
pub const DEFAULT_MIN_TTL: u64 = 60;

/// The one result that carries a token: the field is serialized on purpose.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenResult {
    #[serde(
        serialize_with = "Secret::serialize_exposed",
        deserialize_with = "Secret::deserialize_exposed"
    )]
    pub access_token: Secret,
    pub token_type: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// Space-separated on the wire, as in OAuth.
    #[serde(with = "crate::space_joined")]
    pub scope: ScopeSet,
    pub account: String,
}
