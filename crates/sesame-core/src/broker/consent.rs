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
use crate::policy::pending::TooManyQuestions;
use crate::policy::Caller;
use crate::ScopeSet;

/// `activity.list` returns at most this many rows when no limit is given.
const DEFAULT_ACTIVITY_LIMIT: u32 = 100;

impl Broker {
    /// Ok(Some(grant id)) when a grant covers the request (now or after "always allow"),
    /// Ok(None) after "approve once"; else the user's "no" or the timeout.
    pub(crate) async fn consent(
        &self,
        caller: &Caller,
        account: &AccountInfo,
        scopes: &ScopeSet,
    ) -> Result<Option<i64>, BrokerError> {
        if let Some(grant) = self.grants.covering(&caller.app.key, &account.id, scopes) {
            return Ok(Some(grant));
        }
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
        let decided = tokio::time::timeout(deadline, async {
            ticket.decision.wait_for(|d| d.is_some()).await.map(|d| *d)
        })
        .await;
        let decision = match decided {
            Ok(Ok(Some(d))) => d,
            _ => {
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

    pub async fn activity_list(
        &self,
        params: &ActivityListParams,
    ) -> Result<Vec<ActivityInfo>, BrokerError> {
        self.recorder.flush().await;
        Ok(self
            .db
            .activity(params.limit.unwrap_or(DEFAULT_ACTIVITY_LIMIT), params.app.as_deref())?)
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

fn cli_detail(via_cli: bool) -> String {
    if via_cli {
        "via sesame CLI".into()
    } else {
        String::new()
    }
}
