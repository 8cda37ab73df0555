//! The broker's consent side: a token request passes [`Broker::consent`] before any token
//! is minted; the management calls answer, list and revoke. Decisions and hand-outs go to
//! the activity log through the recorder (never a token in it).

use std::collections::BTreeSet;

use sesame_ipc::consent::*;
use sesame_ipc::events::BrokerEvent;
use sesame_ipc::protocol::AccountInfo;

use super::Broker;
use crate::db::NewActivity;
use crate::error::BrokerError;
use crate::now_unix;
use crate::policy::asker::{Gone, Watch};
use crate::policy::pending::TooManyQuestions;
use crate::policy::{Asker, Caller};
use crate::ScopeSet;

impl Broker {
    /// Ok(Some(grant id)) when a grant covers the request (now or after "always allow"),
    /// Ok(None) after "approve once"; else the user's "no", the timeout, or the asker gone
    /// (it exited or hung up while it waited: its wait ends, and the question is withdrawn
    /// once nobody else waits on it).
    pub(crate) async fn consent(
        &self,
        caller: &Caller,
        asker: Asker<'_>,
        account: &AccountInfo,
        scopes: &ScopeSet,
    ) -> Result<Option<i64>, BrokerError> {
        if let Some(grant) = self.grants.covering(&caller.app.key, &account.id, scopes) {
            return Ok(Some(grant));
        }
        // Watched from before the question exists: a program already gone asks nothing.
        let watch = Watch::start(asker, &self.exits)
            .map_err(|gone| withdrawn(caller, &account.id, gone))?;
        let mut ticket = self
            .pending
            .ask(caller, &account.id, scopes, self.config.consent_timeout, now_unix())
            .map_err(|TooManyQuestions(open)| {
                BrokerError::Busy(format!(
                    "{} already has {open} different requests waiting for the user's answer; ask again after the user has answered one (the same request again joins the one waiting)",
                    caller.app.name
                ))
            })?;
        if ticket.is_new {
            tracing::info!(id = ticket.id, app = %caller.app.key, account = %account.id, "waiting for the user's consent");
            self.events.emit(BrokerEvent::PendingAdded {
                id: ticket.id,
                app_name: caller.app.name.clone(),
                account: account.id.clone(),
            });
        }
        let wait = ticket.expires_at - now_unix();
        let deadline = std::time::Duration::from_secs(wait.max(0) as u64);
        let waited = tokio::select! {
            // An answer that is there wins over a hang-up noticed at the same moment.
            biased;
            decided = async { ticket.decision.wait_for(|d| d.is_some()).await.map(|d| *d) } => {
                Waited::Answer(decided.ok().flatten())
            }
            gone = watch.gone() => Waited::Gone(gone),
            () = tokio::time::sleep(deadline) => Waited::Answer(None),
        };
        let decision = match waited {
            Waited::Answer(Some(d)) => d,
            Waited::Gone(gone) => {
                return Err(self.asker_gone(caller, &account.id, ticket.id, gone).await)
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
                        cli_detail(info.via_cli),
                    )
                    .await;
                }
                return Err(BrokerError::ConsentTimeout {
                    app: caller.app.name.clone(),
                    account: account.id.clone(),
                });
            }
        };
        // Approved for an asker that went away meanwhile: nobody is there to take a token.
        if decision != Decision::Deny {
            if let Some(gone) = watch.gone_now() {
                return Err(withdrawn(caller, &account.id, gone));
            }
        }
        match decision {
            Decision::Deny => Err(BrokerError::ConsentDenied {
                app: caller.app.name.clone(),
                account: account.id.clone(),
            }),
            Decision::ApproveOnce => Ok(None),
            Decision::ApproveAlways => {
                Ok(self.grants.covering(&caller.app.key, &account.id, scopes))
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
        let mut detail = cli_detail(caller.via_cli);
        if let Some(id) = grant {
            detail = format!("{detail}{}grant {id}", if detail.is_empty() { "" } else { ", " });
        }
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
        id: u64,
        decision: Decision,
    ) -> Result<(), BrokerError> {
        if self.pending.asked_by(id, by) {
            return Err(BrokerError::Forbidden(format!(
                "{} made request {id} and cannot answer it itself; answer from your own terminal or the Sesame app",
                by.app.name
            )));
        }
        let info = self.pending.get(id).ok_or(BrokerError::NoSuchPending(id))?;
        let detail = if decision == Decision::ApproveAlways {
            // The grant exists before the waiters wake up, so their hand-outs count on it.
            let grant = self.db.insert_grant(&info.app, &info.account, &info.scopes, now_unix())?;
            self.grants.insert(grant.clone());
            format!("grant {}", grant.id)
        } else {
            String::new()
        };
        let info = self.pending.answer(id, decision).ok_or(BrokerError::NoSuchPending(id))?;
        let event = match decision {
            Decision::ApproveOnce => ActivityEvent::Approved,
            Decision::ApproveAlways => ActivityEvent::Remembered,
            Decision::Deny => ActivityEvent::Denied,
        };
        tracing::info!(id, app = %info.app.key, account = %info.account, ?decision, "answered");
        self.events.emit(BrokerEvent::PendingResolved { id });
        if decision == Decision::ApproveAlways {
            self.events.emit(BrokerEvent::GrantsChanged);
        }
        self.record(event, &info.app, Some(&info.account), &info.scopes, detail).await;
        Ok(())
    }

    /// Use counts live in the database (the recorder writes them), so read them from there.
    pub async fn grants_list(&self) -> Result<Vec<GrantInfo>, BrokerError> {
        self.recorder.flush().await;
        Ok(self.db.grants()?)
    }

    /// `grants.list` on the socket: one page, in id order (a cursor needs a stable order;
    /// the CLI sorts for display).
    pub async fn grants_page(
        &self,
        params: &GrantsListParams,
    ) -> Result<GrantsListResult, BrokerError> {
        let mut all = self.grants_list().await?;
        all.sort_by_key(|g| g.id);
        let (grants, next) = page(all, params.limit, LIST_PAGE, |g| g.id, params.after);
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

    async fn record(
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
    Answer(Option<Decision>),
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

fn cli_detail(via_cli: bool) -> String {
    if via_cli {
        "via sesame CLI".into()
    } else {
        String::new()
    }
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
