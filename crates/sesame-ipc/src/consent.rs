//! Wire types for per-app consent: who asked, what is pending, what was granted, what
//! happened. Only the broker's own binaries (the `sesame` CLI, the app) may call the
//! management methods that use most of these.

use serde::{Deserialize, Serialize};

use crate::ScopeSet;

/// A program as the kernel identified it (never a name the client sent).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    /// The identity grants are keyed on: an executable path, an interpreter plus script
    /// path, or `flatpak:<app id>`.
    pub key: String,
    /// For people: the `.desktop` Name, else the script's or process's name.
    pub name: String,
    pub exe: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flatpak_app: Option<String>,
    pub sandboxed: bool,
}

/// A token request no grant covers, waiting for the user.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingInfo {
    pub id: u64,
    pub app: AppInfo,
    /// The request came through the `sesame` CLI, run by `app`.
    pub via_cli: bool,
    /// The process the question is for (when that one went away, one still waiting).
    pub pid: i32,
    pub account: String,
    pub scopes: ScopeSet,
    /// How many identical requests of this app wait on this one question now (one whose
    /// asker went away no longer counts; the last one to go withdraws the question).
    pub waiting: u32,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; after this the requests fail with `consent_timeout`.
    pub expires_at: i64,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Hand out tokens to the requests waiting now; ask again next time.
    ApproveOnce,
    /// Hand out, and remember a grant for (app, account, scopes).
    ApproveAlways,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingAnswerParams {
    pub id: u64,
    pub decision: Decision,
}

/// The most rows one reply of `pending.list` or `grants.list` carries (also the default):
/// their programs' icons can be large, so a page stays well under the client's reply cap.
pub const LIST_PAGE: u32 = 100;
/// `activity.list`: rows per reply when no `limit` is given, and the most one reply carries.
pub const ACTIVITY_PAGE: u32 = 100;
pub const ACTIVITY_MAX_PAGE: u32 = 1_000;

/// Params of `pending.list`: one page, oldest first. `{}` is the first page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingListParams {
    /// At most this many (default and cap: [`LIST_PAGE`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Only requests with a larger id: the previous page's `next`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingListResult {
    pub pending: Vec<PendingInfo>,
    /// There may be more: pass this as `after` for the next page. Absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// (app, account, scope set) → allowed.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantInfo {
    pub id: i64,
    pub app: AppInfo,
    pub account: String,
    pub scopes: ScopeSet,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub use_count: u64,
}

/// Params of `grants.list`: one page, in grant id order. `{}` is the first page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantsListParams {
    /// At most this many (default and cap: [`LIST_PAGE`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Only grants with a larger id: the previous page's `next`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantsListResult {
    pub grants: Vec<GrantInfo>,
    /// There may be more: pass this as `after` for the next page. Absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<i64>,
}

/// Exactly one of `grant` or `app`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantsRevokeParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<i64>,
    /// An app key: revokes every grant of that app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantsRevokeResult {
    pub revoked: Vec<i64>,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityEvent {
    /// A token was handed to the app.
    HandedOut,
    /// The user approved once.
    Approved,
    /// The user approved and remembered a grant.
    Remembered,
    Denied,
    TimedOut,
    /// The program went away (it exited, or closed its connection) before the user
    /// answered, so its question was withdrawn.
    Withdrawn,
    /// A grant was revoked.
    Revoked,
    /// The broker refused the caller (another user, or a management call from an app).
    Refused,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityInfo {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    pub event: ActivityEvent,
    /// The app key (empty when the caller could not be identified).
    pub app: String,
    pub app_name: String,
    pub account: Option<String>,
    pub scopes: ScopeSet,
    /// Free text: e.g. "via sesame CLI", the grant id, the refused method.
    pub detail: String,
    /// How many identical events the row stands for: hand-outs that came in one burst
    /// share a row, and so do one program's identical refusals within a minute (1 otherwise).
    #[serde(default = "one")]
    pub count: u64,
    /// Unix seconds of the first of the `count` events when they did not all happen at
    /// `at` (which is the last); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_at: Option<i64>,
}

fn one() -> u64 {
    1
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityListParams {
    /// Newest first; default 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Only this app key (exact) or rows whose key or name contains it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
}

/// Params of `activity.list` on the wire: [`ActivityListParams`] and the paging cursor.
/// (The app's in-process broker takes `ActivityListParams` and needs no cursor.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityPageParams {
    /// Newest first; default [`ACTIVITY_PAGE`], at most [`ACTIVITY_MAX_PAGE`] per reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// As in [`ActivityListParams::app`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// Only rows with a smaller id (older): the previous page's `next`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
}

impl From<&ActivityListParams> for ActivityPageParams {
    fn from(p: &ActivityListParams) -> Self {
        ActivityPageParams { limit: p.limit, app: p.app.clone(), before: None }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityListResult {
    pub activity: Vec<ActivityInfo>,
    /// There may be older rows: pass this as `before` for the next page. Absent on the
    /// last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<i64>,
}
