//! The broker's consent side: a token request passes [`Broker::consent`] before any token
//! is minted; the management calls answer, list and revoke. Decisions and hand-outs go to
//! the activity log through the recorder (never a token in it).

use std::collections::BTreeSet;

use sesame_ipc::consent::*;
use sesame_ipc::events::BrokerEvent;
use sesame_ipc::protocol::AccountInfo;

use super::choice::Asked;
use super::Broker;
use crate::db::NewActivity;
use crate::error::BrokerError;
use crate::now_unix;
use crate::policy::asker::{Gone, Watch};
use crate::policy::generic;
use crate::policy::grants::Coverage;
use crate::policy::pending::{Question, TooManyQuestions, Verdict};
use crate::policy::{Asker, Caller};
use crate::ScopeSet;

/// What consent let through: a token of `account` (the one chosen, when the question
/// offered several), counted on `grant` when one covers it.
pub(crate) struct Consented {
    pub account: AccountInfo,
    pub grant: Option<i64>,
}

impl Broker {
    /// A grant that covers the request (now, or made by the user's answer), or the user's
    /// "approve once"; else the user's "no", the timeout, or the asker gone (it exited or
    /// hung up while it waited: its wait ends, and the question is withdrawn once nobody
    /// else waits on it).
    pub(crate) async fn consent(
        &self,
        caller: &Caller,
        asker: Asker<'_>,
        asked: &Asked,
    ) -> Result<Consented, BrokerError> {
        // What the program is now: a grant covers only what it was given to (content.rs).
        let content = self.program_content(caller).await?;
        let key = &caller.app.key;
        let now = now_unix();
        let mut changed = None;
        if let Some(account) = asked.account() {
            // A generic program is covered only by a grant that ends (policy/generic.rs).
            let covers = |end: GrantEnd| generic::covers(&caller.app, end);
            let grant = match self.grants.covering(key, content, &account.id, &asked.scopes, now) {
                Coverage::Covered(grant) if self.grants.end_of(grant).is_some_and(covers) => {
                    Some(grant)
                }
                Coverage::Moved { grant, update } if covers(grant.end()) => {
                    let content = content.cloned().unwrap_or_default();
                    Some(self.move_grant(*grant, &caller.app, &content, update).await?)
                }
                Coverage::Changed(change) => {
                    changed = Some(*change);
                    None
                }
                _ => None,
            };
            if grant.is_some() {
                return Ok(Consented { account: account.clone(), grant });
            }
        }
        // A caller nobody watches (cron, CI) asked not to wait: no question, no window.
        if !asked.wait {
            tracing::info!(app = %caller.app.key, account = %asked.about(), "no grant covers the request and it asked not to wait");
            return Err(BrokerError::ConsentRequired {
                app: caller.app.name.clone(),
                account: asked.about().to_owned(),
            });
        }
        // Watched from before the question exists: a program already gone asks nothing.
        let watch = Watch::start(asker, &self.exits)
            .map_err(|gone| withdrawn(caller, asked.about(), gone))?;
        // The question shows (and a grant from it records) the program as it is now.
        let mut asking = caller.clone();
        asking.app.content = content.cloned();
        let caller = &asking;
        let question = Question {
            account: asked.about(),
            choices: asked.choices(),
            scopes: &asked.scopes,
            beyond_asked: &asked.beyond_asked,
            told_repository: asked.told_repository.as_deref(),
        };
        let mut ticket = self
            .pending
            .ask(caller, question, changed, self.config().consent_timeout, now)
            .map_err(|TooManyQuestions(open)| {
                BrokerError::Busy(format!(
                    "{} already has {open} different requests waiting for the user's answer; ask again after the user has answered one (the same request again joins the one waiting)",
                    caller.app.name
                ))
            })?;
        if ticket.is_new {
            tracing::info!(id = ticket.id, app = %caller.app.key, account = %asked.about(), "waiting for the user's consent");
            self.events.emit(BrokerEvent::PendingAdded {
                id: ticket.id,
                app_name: caller.app.name.clone(),
                account: asked.about().to_owned(),
            });
        }
        let wait = ticket.expires_at - now_unix();
        let deadline = std::time::Duration::from_secs(wait.max(0) as u64);
        let waited = tokio::select! {
            // An answer that is there wins over a hang-up noticed at the same moment.
            biased;
            decided = async { ticket.decision.wait_for(|d| d.is_some()).await.map(|d| d.clone()) } => {
                Waited::Answer(decided.ok().flatten())
            }
            gone = watch.gone() => Waited::Gone(gone),
            () = tokio::time::sleep(deadline) => Waited::Answer(None),
        };
        let verdict = match waited {
            Waited::Answer(Some(d)) => d,
            Waited::Gone(gone) => {
                return Err(self.asker_gone(caller, asked.about(), ticket.id, gone).await)
            }
            Waited::Answer(None) => {
                // Whichever waiter notices first records the timeout, once.
                if let Some(info) = self.pending.expire(ticket.id) {
                    self.events.emit(BrokerEvent::PendingResolved { id: ticket.id });
                    self.record(
                        ActivityEvent::TimedOut,
                        &info.app,
                        Some(&info.account),
                        &info.scopes,
                        how_detail(&info.app, info.via_cli, None),
                    )
                    .await;
                }
                return Err(BrokerError::ConsentTimeout {
                    app: caller.app.name.clone(),
                    account: asked.about().to_owned(),
                });
            }
        };
        // Approved for an asker that went away meanwhile: nobody is there to take a token.
        if verdict != Verdict::Denied {
            if let Some(gone) = watch.gone_now() {
                return Err(withdrawn(caller, asked.about(), gone));
            }
        }
        match verdict {
            Verdict::Denied => Err(BrokerError::ConsentDenied {
                app: caller.app.name.clone(),
                account: asked.about().to_owned(),
            }),
            Verdict::Approved { account, grant } => {
                // A waiter that joined the question may have seen the accounts a moment
                // apart: the chosen one is looked up again then.
                let known = asked.accounts.iter().find(|a| a.id == account).cloned();
                let account = match known {
                    Some(a) => a,
                    None => self.resolve_account(&account)?,
                };
                Ok(Consented { account, grant })
            }
        }
    }

    /// A waiting request's asker is gone: it stops waiting, and if it was the last, its
    /// question is withdrawn (the window closes, the log says so, nothing is handed out).
    async fn asker_gone(&self, caller: &Caller, account: &str, id: u64, gone: Gone) -> BrokerError {
        if let Some(info) = self.pending.leave(id, caller.process, now_unix()) {
            tracing::info!(id, app = %info.app.key, ?gone, "withdrew a question: its asker is gone");
            self.events.emit(BrokerEvent::PendingResolved { id });
            let mut detail = match gone {
                Gone::HungUp => "the program closed its connection".to_owned(),
                Gone::Exited { .. } => "the program exited".to_owned(),
            };
            if info.via_cli {
                detail.push_str(", via sesame CLI");
            }
            self.record(
                ActivityEvent::Withdrawn,
                &info.app,
                Some(&info.account),
                &info.scopes,
                detail,
            )
            .await;
        }
        withdrawn(caller, account, gone)
    }

    /// Records a hand-out and counts it on its grant, off the request path.
    pub(crate) async fn handed_out(
        &self,
        caller: &Caller,
        account: &str,
        scopes: &ScopeSet,
        grant: Option<i64>,
    ) {
        let detail = how_detail(&caller.app, caller.via_cli, grant);
        let row = NewActivity::now(
            ActivityEvent::HandedOut,
            Some(&caller.app),
            Some(account),
            scopes,
            detail,
        );
        // One message: the row and the grant's use count are written together, off this path.
        self.recorder.handed_out(row, grant).await;
    }

    pub fn pending_list(&self) -> Vec<PendingInfo> {
        self.pending.list()
    }

    /// `pending.list` on the socket: one page, oldest first.
    pub fn pending_page(&self, params: &PendingListParams) -> PendingListResult {
        let (pending, next) =
            page(self.pending.list(), params.limit, LIST_PAGE, |p| p.id, params.after);
        PendingListResult { pending, next }
    }

    /// The user's answer. `by` is who answers: never the program that asked (neither the
    /// asking process nor another process of the same program; see `PendingQueue::asked_by`).
    pub async fn answer_pending(
        &self,
        by: &Caller,
        params: &PendingAnswerParams,
    ) -> Result<(), BrokerError> {
        let id = params.id;
        if self.pending.asked_by(id, by) {
            return Err(BrokerError::Forbidden(format!(
                "{} made request {id} and cannot answer it itself; answer from your own terminal or the Sesame app",
                by.app.name
            )));
        }
        let info = self.pending.get(id).ok_or(BrokerError::NoSuchPending(id))?;
        let answer = params.answer().map_err(BrokerError::BadRequest)?;
        let (verdict, event, account, detail) = match answer {
            Answer::Deny => (Verdict::Denied, ActivityEvent::Denied, info.account.clone(), None),
            Answer::Approve(approval) => {
                // Checked before anything changes: the question stays for another answer.
                if approval.is_forever() {
                    if let Some(why) = generic::forever_refused(&info.app) {
                        return Err(BrokerError::Forbidden(why));
                    }
                }
                let account = chosen_account(&info, params.account.as_deref())?;
                // Which lengths a program may be given is decided here: only
                // `Approval::Always` is forever (`is_forever`); once, for a time and until
                // the lock are not.
                let mut detail = vec![];
                if info.via_cli {
                    detail.push(how_detail(&info.app, true, None));
                }
                let grant = match approval.grant_end(now_unix()) {
                    None => None,
                    Some(end) => {
                        // The grant exists before the waiters wake up, so their hand-outs
                        // count on it.
                        let grant = self.db.insert_grant(
                            &info.app,
                            &account,
                            &info.scopes,
                            now_unix(),
                            end,
                        )?;
                        self.grants.insert(grant.clone());
                        if end != GrantEnd::NEVER {
                            self.lapses.wake();
                        }
                        detail.push(format!("grant {}", grant.id));
                        if !approval.is_forever() {
                            detail.push(approval.words());
                        }
                        Some(grant.id)
                    }
                };
                if !info.accounts.is_empty() {
                    detail.push(format!(
                        "chosen among {} accounts of {}",
                        info.accounts.len(),
                        info.account
                    ));
                }
                let event = if grant.is_some() {
                    ActivityEvent::Remembered
                } else {
                    ActivityEvent::Approved
                };
                (
                    Verdict::Approved { account: account.clone(), grant },
                    event,
                    account,
                    Some(detail),
                )
            }
        };
        let remembered = event == ActivityEvent::Remembered;
        let answering = self.pending.answering(id).ok_or(BrokerError::NoSuchPending(id))?;
        // The decision is queued before the waiters wake: Activity lists it before the
        // hand-outs it allowed (the recorder writes in queue order).
        let detail = detail.unwrap_or_default().join(", ");
        let (app, scopes) = (&answering.info().app, &answering.info().scopes);
        self.record(event, app, Some(&account), scopes, detail).await;
        let info = answering.send(verdict);
        tracing::info!(id, app = %info.app.key, account = %account, ?answer, "answered");
        self.events.emit(BrokerEvent::PendingResolved { id });
        if remembered {
            self.events.emit(BrokerEvent::GrantsChanged);
        }
        Ok(())
    }

    /// Use counts live in the database (the recorder writes them), so read them from there.
    /// A lapsed grant is not listed: the sweep deletes it first.
    pub async fn grants_list(&self) -> Result<Vec<GrantInfo>, BrokerError> {
        self.sweep_lapsed(None).await;
        self.recorder.flush().await;
        Ok(self.db.grants()?)
    }

    /// `grants.list` on the socket: one page, in id order (a cursor needs a stable order;
    /// the CLI sorts for display).
    pub async fn grants_page(
        &self,
        params: &GrantsListParams,
    ) -> Result<GrantsListResult, BrokerError> {
        // The first page brings the table up to date (lapsed grants swept, recorded uses
        // written); the pages after it continue that listing. Each page reads only its own
        // rows: five pages of 100 grants used to read (and parse) all 500 five times and
        // wait five times for the activity writer.
        if params.after.is_none() {
            self.sweep_lapsed(None).await;
            self.recorder.flush().await;
        }
        let limit = params.limit.unwrap_or(LIST_PAGE).min(LIST_PAGE) as usize;
        let mut grants = self.db.grants_after(params.after, limit as u32 + 1)?;
        let next = match grants.len() > limit {
            true => {
                grants.truncate(limit);
                grants.last().map(|g| g.id)
            }
            false => None,
        };
        Ok(GrantsListResult { grants, next })
    }

    /// Revokes one grant or all of an app's; the next request of that app is pending again.
    pub async fn revoke_grants(
        &self,
        params: &GrantsRevokeParams,
    ) -> Result<Vec<i64>, BrokerError> {
        let doomed: Vec<GrantInfo> = match (params.grant, &params.app) {
            (Some(id), None) => vec![self
                .grants
                .list()
                .into_iter()
                .find(|g| g.id == id)
                .ok_or(BrokerError::NoSuchGrant(id))?],
            (None, Some(app)) => self.grants.of_app(app),
            _ => {
                return Err(BrokerError::BadRequest(
                    "give exactly one of `grant` (an id) or `app` (an app key)".into(),
                ))
            }
        };
        for g in &doomed {
            self.db.delete_grant(g.id)?;
        }
        let ids: BTreeSet<i64> = doomed.iter().map(|g| g.id).collect();
        self.grants.remove(&ids);
        if !ids.is_empty() {
            self.events.emit(BrokerEvent::GrantsChanged);
        }
        for g in &doomed {
            self.record(
                ActivityEvent::Revoked,
                &g.app,
                Some(&g.account),
                &g.scopes,
                format!("grant {}", g.id),
            )
            .await;
        }
        Ok(ids.into_iter().collect())
    }

    /// The newest `params.limit` rows (default [`ACTIVITY_PAGE`]) at once: for the app's
    /// in-process broker, which has no reply to bound.
    pub async fn activity_list(
        &self,
        params: &ActivityListParams,
    ) -> Result<Vec<ActivityInfo>, BrokerError> {
        self.recorder.flush().await;
        let limit = params.limit.unwrap_or(ACTIVITY_PAGE);
        Ok(self.db.activity(limit, params.app.as_deref(), None)?)
    }

    /// `activity.list` on the socket: one page, newest first, of at most
    /// [`ACTIVITY_MAX_PAGE`] rows, so no log is ever one reply.
    pub async fn activity_page(
        &self,
        params: &ActivityPageParams,
    ) -> Result<ActivityListResult, BrokerError> {
        self.recorder.flush().await;
        let limit = params.limit.unwrap_or(ACTIVITY_PAGE).min(ACTIVITY_MAX_PAGE);
        // One row more than asked says whether there is another page.
        let mut activity =
            self.db.activity(limit.saturating_add(1), params.app.as_deref(), params.before)?;
        let more = activity.len() > limit as usize;
        activity.truncate(limit as usize);
        let next = if more { activity.last().map(|r| r.id) } else { None };
        Ok(ActivityListResult { activity, next })
    }

    /// A caller the broker turned away (another user, an unidentifiable peer, a management
    /// call from an app).
    pub(crate) async fn refused(&self, app: Option<&AppInfo>, detail: String) {
        let none = ScopeSet::default();
        let row = NewActivity::now(ActivityEvent::Refused, app, None, &none, detail);
        self.recorder.activity(row).await;
    }

    pub(super) async fn record(
        &self,
        event: ActivityEvent,
        app: &AppInfo,
        account: Option<&str>,
        scopes: &ScopeSet,
        detail: String,
    ) {
        self.recorder.activity(NewActivity::now(event, Some(app), account, scopes, detail)).await;
    }
}

/// The account an approval of `info` hands out: the one chosen among the question's
/// `accounts`, or the one it is about. Approving a question that offers several needs a
/// choice: the broker does not guess which identity a program should act as.
fn chosen_account(info: &PendingInfo, chosen: Option<&str>) -> Result<String, BrokerError> {
    let ids = || info.accounts.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
    match chosen {
        None if info.accounts.is_empty() => Ok(info.account.clone()),
        None => Err(BrokerError::AccountNotChosen { id: info.id, ids: ids() }),
        Some(c) if info.accounts.is_empty() && c == info.account => Ok(c.to_owned()),
        Some(c) if info.accounts.iter().any(|a| a.id == c) => Ok(c.to_owned()),
        Some(c) if info.accounts.is_empty() => Err(BrokerError::BadRequest(format!(
            "request {} is about account `{}` only, not `{c}`",
            info.id, info.account
        ))),
        Some(c) => Err(BrokerError::BadRequest(format!(
            "`{c}` is not one of the accounts request {} offers ({})",
            info.id,
            ids().join(", ")
        ))),
    }
}

/// The page of `items` (in ascending `id` order) after `after`: at most `limit` of them
/// (default and cap `max`), and the cursor for the next page when more are left.
fn page<T, K: PartialOrd + Copy>(
    items: Vec<T>,
    limit: Option<u32>,
    max: u32,
    id: impl Fn(&T) -> K,
    after: Option<K>,
) -> (Vec<T>, Option<K>) {
    let limit = limit.unwrap_or(max).min(max) as usize;
    let mut rest = items.into_iter().filter(|t| after.is_none_or(|a| id(t) > a));
    let page: Vec<T> = rest.by_ref().take(limit).collect();
    let next = if rest.next().is_some() { page.last().map(&id) } else { None };
    (page, next)
}

/// What a waiting request ended with.
enum Waited {
    /// The user's answer, or `None`: no answer in time.
    Answer(Option<Verdict>),
    Gone(Gone),
}

fn withdrawn(caller: &Caller, account: &str, gone: Gone) -> BrokerError {
    let why = match gone {
        Gone::HungUp => "closed its connection".to_owned(),
        Gone::Exited { pid } if caller.via_cli => {
            format!("(pid {pid}), which ran the sesame command, exited")
        }
        Gone::Exited { pid } => format!("(pid {pid}) exited"),
    };
    BrokerError::ConsentWithdrawn { app: caller.app.name.clone(), account: account.into(), why }
}

/// An activity row's `detail` for a program's request: how it asked (through the CLI, and
/// the chain: "via sesame CLI: msmtp → dash -c → sesame token") and the grant, if any.
fn how_detail(app: &AppInfo, via_cli: bool, grant: Option<i64>) -> String {
    let mut parts = vec![];
    if via_cli {
        parts.push(match app.chain.is_empty() {
            true => "via sesame CLI".to_owned(),
            false => format!("via sesame CLI: {}", app.chain.join(" → ")),
        });
    }
    if let Some(id) = grant {
        parts.push(format!("grant {id}"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::page;

    #[test]
    fn pages_cover_the_list_once_and_cap_the_limit() {
        let ids: Vec<u64> = (1..=250).collect();
        let (mut all, mut after) = (vec![], None);
        loop {
            let (items, next) = page(ids.clone(), Some(1_000), 100, |i| *i, after);
            assert!(items.len() <= 100, "the cap holds whatever the limit asked");
            all.extend(items);
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        assert_eq!(all, ids);
        assert_eq!(page(ids.clone(), None, 100, |i| *i, None).0.len(), 100, "default: the cap");
        assert_eq!(page(ids.clone(), Some(250), 300, |i| *i, None).1, None, "no next at the end");
        assert_eq!(page(ids, Some(3), 100, |i| *i, Some(5)).0, [6, 7, 8]);
    }
}
