//! The broker's own state, for the people who run it: `config.reload` (a new config put in
//! force, or why not) and `broker.status` (one screen that answers "is it working?"). Ids,
//! names, times and counts only: never a token or a secret.

use serde::{Deserialize, Serialize};

use crate::protocol::AccountStatus;
use crate::ScopeSet;

/// `config.reload`: what the new config changed. A config that does not parse is an error
/// reply (`config_invalid`) instead, and the one in force stays.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadResult {
    /// The file that was read.
    pub config_file: String,
    /// Provider ids new in this config.
    pub added: Vec<String>,
    /// Provider ids no longer in it: their accounts are kept (listed as `provider_removed`)
    /// until signed out, and serve no token until the provider is back.
    pub removed: Vec<String>,
    /// Provider ids whose settings changed: the next sign-in and refresh use the new ones.
    pub changed: Vec<String>,
    /// Changed providers whose issuer or client id changed: their cached access tokens were
    /// dropped (they were issued to the old client or by the old issuer).
    pub tokens_dropped: Vec<String>,
    /// Settings that changed but take effect only when the broker restarts (the old values
    /// stay in force until then).
    pub restart_needed: Vec<String>,
}

/// The last `config.reload` (or SIGHUP) that failed, while no later one succeeded.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadFailure {
    /// Unix seconds.
    pub at: i64,
    /// Why: the file, the line and what is wrong (never a value of `client_secret`).
    pub message: String,
}

/// `broker.status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusResult {
    /// The broker's version.
    pub broker: String,
    /// Unix seconds.
    pub started_at: i64,
    pub config_file: Option<String>,
    /// The config on disk did not parse at the last reload: the previous one is in force.
    pub reload_failure: Option<ReloadFailure>,
    pub accounts: Vec<AccountState>,
    /// Questions waiting for the user's answer (`sesame pending`).
    pub pending: Vec<PendingSummary>,
    /// Grants that lapse within [`StatusResult::lapse_window`] seconds, soonest first.
    pub lapsing: Vec<LapsingGrant>,
    /// Seconds: how far ahead `lapsing` looks.
    pub lapse_window: i64,
}

/// An account in `broker.status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    pub id: String,
    pub provider: String,
    pub display_name: String,
    pub status: AccountStatus,
    pub last_refreshed_at: Option<i64>,
    /// The access tokens cached for it now, one per scope set (only when they expire).
    pub cached: Vec<CachedTokenState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedTokenState {
    pub scopes: ScopeSet,
    /// Unix seconds.
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSummary {
    pub id: u64,
    /// The asking program's name.
    pub app: String,
    pub account: String,
    pub scopes: ScopeSet,
    /// Unix seconds: the request fails with `consent_timeout` then.
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LapsingGrant {
    pub id: i64,
    /// The program's name.
    pub app: String,
    pub account: String,
    pub scopes: ScopeSet,
    /// Unix seconds.
    pub expires_at: i64,
}
