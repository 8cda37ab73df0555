//! Wire types for per-app consent: who asked, what is pending, what was granted, what
//! happened. Only the broker's own binaries (the `sesame` CLI, the app) may call the
//! management methods that use most of these.

use serde::{Deserialize, Serialize};

pub use crate::content::*;
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
    /// Flatpak, or a process whose root or mount namespace is not the broker's.
    pub sandboxed: bool,
    /// What the program's files are (hashes, package): on a question, what asks now; on a
    /// grant, what it covers. Absent on grants from before Sesame recorded content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<ProgramContent>,
    /// How a request through the `sesame` CLI got here, outermost first: this program, the
    /// shells and launchers it ran the CLI through, the CLI
    /// (`["msmtp", "dash -c", "sesame token"]`). Empty for a program that connects itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<String>,
    /// Why this program cannot be told apart from others (inline code, stdin, an
    /// interactive shell, a relay, a script Sesame cannot read, a chain that ends at
    /// one of those): a sentence for the user. Such a program is never allowed forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generic: Option<String>,
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
    /// What the token will carry: what the program asked for, or more where the provider
    /// cannot narrow (then `beyond_asked` names the extra scopes).
    pub scopes: ScopeSet,
    /// Scopes in `scopes` the program did not ask for: the provider gives every token the
    /// account's whole grant (GitHub), so saying less would not be true. Shown marked as
    /// "more than the program asked for".
    #[serde(default)]
    pub beyond_asked: ScopeSet,
    /// How many identical requests of this app wait on this one question now (one whose
    /// asker went away no longer counts; the last one to go withdraws the question).
    pub waiting: u32,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; after this the requests fail with `consent_timeout`.
    pub expires_at: i64,
    /// The program holds a grant for this account and scopes, but its files changed since
    /// the user allowed it: what changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<ContentChange>,
    /// The accounts the user chooses from: the program named a provider that has several
    /// (`account` is then the provider id) and holds a grant for none of them. Empty when
    /// the question is about `account` only.
    #[serde(default)]
    pub accounts: Vec<AccountChoice>,
    /// The repository the request is for, as the program tells it (git's `path` or URL, by
    /// `git.credential`): shown to the user marked as the program's word, since the kernel
    /// does not vouch for it; it does not change what is granted (grants stay per program).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub told_repository: Option<String>,
}

/// An account a question offers, for people: its id and who it is.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountChoice {
    pub id: String,
    /// `AccountInfo::display_name`: the e-mail, else the name, else the subject.
    pub name: String,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Hand out tokens to the requests waiting now; ask again next time.
    ApproveOnce,
    /// Hand out, and remember a grant for `for_secs` seconds; then it lapses.
    ApproveFor,
    /// Hand out, and remember a grant until the screen locks (or the system sleeps, or the
    /// broker stops).
    ApproveUntilLock,
    /// Hand out, and remember a grant for (app, account, scopes) until it is revoked.
    ApproveAlways,
    Deny,
}

/// The longest an `approve_for` grant may last: longer is "always", which the user
/// chooses as such (and which some programs are not offered).
pub const MAX_APPROVAL_SECS: u64 = 7 * 24 * 3600;

/// Params of `pending.answer`. `{"id", "decision"}` is the whole answer for a question
/// about one account; `for_secs` goes with `approve_for`, and `account` names the account
/// chosen when the question offers several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingAnswerParams {
    pub id: u64,
    pub decision: Decision,
    /// With `approve_for`: how long the grant lasts, 1 ..= [`MAX_APPROVAL_SECS`] seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_secs: Option<u64>,
    /// The account chosen, one of the question's `accounts` (required to approve a question
    /// that offers several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// How long an approval lasts. The one place the lengths are told apart: only
/// [`Approval::Always`] lasts until revoked ([`Approval::is_forever`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    /// This request only: no grant.
    Once,
    /// A grant that lapses this many seconds after the answer.
    For { secs: u64 },
    /// A grant that lapses when the screen locks, the system sleeps or the broker stops.
    UntilLock,
    /// A grant until revoked.
    Always,
}

impl Approval {
    /// A grant that never lapses by itself.
    pub fn is_forever(self) -> bool {
        self == Approval::Always
    }

    /// When a grant made by this approval ends; `None` for [`Approval::Once`] (no grant).
    pub fn grant_end(self, now: i64) -> Option<GrantEnd> {
        match self {
            Approval::Once => None,
            Approval::For { secs } => Some(GrantEnd {
                expires_at: Some(now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX))),
                until_lock: false,
            }),
            Approval::UntilLock => Some(GrantEnd { expires_at: None, until_lock: true }),
            Approval::Always => Some(GrantEnd::NEVER),
        }
    }

    /// For people: "once", "for 8 h", "until the screen locks", "always".
    pub fn words(self) -> String {
        match self {
            Approval::Once => "once".into(),
            Approval::For { secs } => format!("for {}", duration_words(secs)),
            Approval::UntilLock => "until the screen locks".into(),
            Approval::Always => "always".into(),
        }
    }
}

/// What an answer says, checked: `pending.answer`'s decision with its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Approve(Approval),
    Deny,
}

impl PendingAnswerParams {
    pub fn new(id: u64, answer: Answer, account: Option<String>) -> PendingAnswerParams {
        let (decision, for_secs) = match answer {
            Answer::Deny => (Decision::Deny, None),
            Answer::Approve(Approval::Once) => (Decision::ApproveOnce, None),
            Answer::Approve(Approval::For { secs }) => (Decision::ApproveFor, Some(secs)),
            Answer::Approve(Approval::UntilLock) => (Decision::ApproveUntilLock, None),
            Answer::Approve(Approval::Always) => (Decision::ApproveAlways, None),
        };
        PendingAnswerParams { id, decision, for_secs, account }
    }

    /// The answer, or why these params are not one (`for_secs` missing, out of range, or
    /// given with another decision).
    pub fn answer(&self) -> Result<Answer, String> {
        let approval = match (self.decision, self.for_secs) {
            (Decision::ApproveFor, Some(secs)) if (1..=MAX_APPROVAL_SECS).contains(&secs) => {
                Approval::For { secs }
            }
            (Decision::ApproveFor, Some(secs)) => {
                return Err(format!(
                    "`for_secs` must be 1 to {MAX_APPROVAL_SECS} ({}), not {secs}; for longer, approve always",
                    duration_words(MAX_APPROVAL_SECS)
                ))
            }
            (Decision::ApproveFor, None) => {
                return Err("`approve_for` needs `for_secs`: how many seconds the grant lasts".into())
            }
            (_, Some(_)) => {
                return Err("`for_secs` goes only with the decision `approve_for`".into())
            }
            (Decision::ApproveOnce, None) => Approval::Once,
            (Decision::ApproveUntilLock, None) => Approval::UntilLock,
            (Decision::ApproveAlways, None) => Approval::Always,
            (Decision::Deny, None) => return Ok(Answer::Deny),
        };
        Ok(Answer::Approve(approval))
    }
}

/// A length for people, in its largest whole unit: "2 s", "90 min", "8 h", "7 d".
pub fn duration_words(secs: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(86_400, "d"), (3_600, "h"), (60, "min"), (1, "s")];
    let (size, unit) = UNITS
        .into_iter()
        .find(|(size, _)| secs >= *size && secs.is_multiple_of(*size))
        .unwrap_or((1, "s"));
    format!("{} {unit}", secs / size)
}

/// When a grant lapses by itself: at a time, when the screen locks, or never.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GrantEnd {
    /// Unix seconds.
    pub expires_at: Option<i64>,
    pub until_lock: bool,
}

impl GrantEnd {
    pub const NEVER: GrantEnd = GrantEnd { expires_at: None, until_lock: false };

    /// Whether a grant with this end still holds at `now`. A lapsed grant covers nothing.
    pub fn holds_at(self, now: i64) -> bool {
        self.expires_at.is_none_or(|t| now < t)
    }
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
    /// Unix seconds: a grant approved for a time lapses then (and is deleted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// The grant lapses when the screen locks, the system sleeps or the broker stops.
    #[serde(default)]
    pub until_lock: bool,
}

impl GrantInfo {
    pub fn end(&self) -> GrantEnd {
        GrantEnd { expires_at: self.expires_at, until_lock: self.until_lock }
    }
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
    /// The broker moved a grant to its program's new content by the content rule (a
    /// package upgrade, a Flatpak update, a grant from before content was recorded); the
    /// detail says which.
    Updated,
    /// A grant ended by itself: its time was up, the screen locked, or the broker stopped.
    Lapsed,
    /// The broker refused the caller (another user, or a management call from an app).
    Refused,
    /// The user signed in to an account (a new one, or the same person again); no program.
    SignedIn,
    /// The user signed out of an account; the detail says what the provider did.
    SignedOut,
    /// The provider refused the account's refresh token for good: it waits for the user to
    /// sign in again; the detail says why.
    ReauthNeeded,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: serde_json::Value) -> PendingAnswerParams {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn todays_answers_keep_working() {
        let p = params(json!({"id": 3, "decision": "approve_always"}));
        assert_eq!(p.answer(), Ok(Answer::Approve(Approval::Always)));
        assert_eq!(params(json!({"id": 3, "decision": "deny"})).answer(), Ok(Answer::Deny));
        let once = params(json!({"id": 3, "decision": "approve_once"}));
        assert_eq!(once.answer(), Ok(Answer::Approve(Approval::Once)));
        assert_eq!(
            serde_json::to_value(&once).unwrap(),
            json!({"id": 3, "decision": "approve_once"})
        );
    }

    #[test]
    fn lengths_and_the_account_round_trip() {
        for answer in [
            Answer::Approve(Approval::For { secs: 8 * 3600 }),
            Answer::Approve(Approval::UntilLock),
            Answer::Approve(Approval::Once),
            Answer::Deny,
        ] {
            let p = PendingAnswerParams::new(7, answer, Some("local-b".into()));
            let back: PendingAnswerParams =
                serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
            assert_eq!(back.answer(), Ok(answer));
            assert_eq!(back.account.as_deref(), Some("local-b"));
        }
        let p = params(json!({"id": 1, "decision": "approve_for", "for_secs": 2}));
        assert_eq!(p.answer(), Ok(Answer::Approve(Approval::For { secs: 2 })));
    }

    #[test]
    fn a_length_that_does_not_fit_is_refused_with_a_reason() {
        let bad = [
            json!({"id": 1, "decision": "approve_for"}),
            json!({"id": 1, "decision": "approve_for", "for_secs": 0}),
            json!({"id": 1, "decision": "approve_for", "for_secs": MAX_APPROVAL_SECS + 1}),
            json!({"id": 1, "decision": "approve_once", "for_secs": 60}),
        ];
        for v in bad {
            let e = params(v.clone()).answer().unwrap_err();
            assert!(e.contains("for_secs"), "{v}: {e}");
        }
        assert!(
            serde_json::from_value::<PendingAnswerParams>(
                json!({"id": 1, "decision": "approve_once", "lasts": 3})
            )
            .is_err(),
            "unknown fields are refused"
        );
    }

    #[test]
    fn only_always_is_forever_and_ends_say_when() {
        assert!(Approval::Always.is_forever());
        for a in [Approval::Once, Approval::For { secs: 60 }, Approval::UntilLock] {
            assert!(!a.is_forever(), "{a:?}");
        }
        assert_eq!(Approval::Once.grant_end(100), None);
        let timed = Approval::For { secs: 60 }.grant_end(100).unwrap();
        assert_eq!(timed.expires_at, Some(160));
        assert!(timed.holds_at(159) && !timed.holds_at(160), "a lapsed grant covers nothing");
        assert!(Approval::UntilLock.grant_end(100).unwrap().until_lock);
        assert!(Approval::Always.grant_end(100).unwrap().holds_at(i64::MAX));
        assert_eq!(Approval::For { secs: 8 * 3600 }.words(), "for 8 h");
        assert_eq!(duration_words(90 * 60), "90 min");
        assert_eq!(duration_words(2), "2 s");
        assert_eq!(duration_words(3 * 86_400), "3 d");
    }
}
