//! Content binding on the broker's side: the asking program's content (from memory when
//! the cache knows every file's stamp, else read and hashed on a blocking thread), a grant
//! moved to new content by the rule (`policy/content.rs`), and what `accounts.list` shows a
//! program.

use std::collections::BTreeMap;

use sesame_ipc::consent::{ActivityEvent, AppInfo, ContentUpdate, GrantInfo, ProgramContent};
use sesame_ipc::events::BrokerEvent;
use sesame_ipc::protocol::{GrantedAccount, ListedAccount};

use super::Broker;
use crate::error::BrokerError;
use crate::identity::ContentError;
use crate::policy::Caller;
use crate::{now_unix, ScopeSet};

impl Broker {
    /// The content of `caller`'s program (`None` for the in-process app, which has no
    /// files). Warm: the connection already knows it, or the cache knows every file's stamp
    /// (memory only); otherwise the files are read through `/proc` on a blocking thread.
    pub(crate) async fn program_content<'c>(
        &self,
        caller: &'c Caller,
    ) -> Result<Option<&'c ProgramContent>, BrokerError> {
        let Some(files) = &caller.files else { return Ok(None) };
        if let Some(known) = files.found.get() {
            return Ok(Some(known));
        }
        let content = match self.contents.lookup(files) {
            Some(known) => known,
            None => {
                let (cache, job) = (self.contents.clone(), files.clone());
                tokio::task::spawn_blocking(move || cache.read(&job, now_unix()))
                    .await
                    .map_err(|e| BrokerError::Internal(format!("reading the program failed: {e}")))?
                    .map_err(|e| unreadable(&caller.app, e))?
            }
        };
        Ok(Some(files.found.get_or_init(|| content)))
    }

    /// Moves `grant` to `content`, `app`'s now (the rule allowed it: `update` says why), in
    /// the database and the table, and logs it. Returns the grant's id.
    pub(crate) async fn move_grant(
        &self,
        grant: GrantInfo,
        app: &AppInfo,
        content: &ProgramContent,
        update: ContentUpdate,
    ) -> Result<i64, BrokerError> {
        let mut moved = grant.clone();
        let mut content = content.clone();
        let detail = format!("grant {}: {}", grant.id, update.sentence());
        content.updated = Some(update);
        moved.app.content = Some(content);
        self.db.set_grant_app(grant.id, &moved.app)?;
        self.grants.insert(moved);
        tracing::info!(grant = grant.id, app = %app.key, "{detail}");
        self.events.emit(BrokerEvent::GrantsChanged);
        self.record(ActivityEvent::Updated, app, Some(&grant.account), &grant.scopes, detail).await;
        Ok(grant.id)
    }

    /// `accounts.list` for `caller`: every account, complete, for Sesame's own tools; for
    /// any other program only the accounts its identity holds grants for (whatever its
    /// content now: the token still needs a covering grant), with their scopes together,
    /// and nothing personal.
    pub fn accounts_for(&self, caller: &Caller) -> Vec<ListedAccount> {
        if caller.management {
            return self.accounts().into_iter().map(ListedAccount::Complete).collect();
        }
        let mut granted: BTreeMap<String, ScopeSet> = BTreeMap::new();
        for g in self.grants.of_app(&caller.app.key) {
            let scopes = granted.entry(g.account.clone()).or_default();
            *scopes = scopes.iter().chain(g.scopes.iter()).collect();
        }
        self.accounts()
            .into_iter()
            .filter_map(|a| {
                let scopes = granted.remove(&a.id)?;
                Some(ListedAccount::Granted(GrantedAccount {
                    id: a.id,
                    provider: a.provider,
                    scopes,
                }))
            })
            .collect()
    }
}

fn unreadable(app: &AppInfo, e: ContentError) -> BrokerError {
    match e {
        ContentError::Moved { .. } => BrokerError::Forbidden(format!(
            "{} changed while it asked ({e}), so Sesame cannot say what it is; run it again",
            app.name
        )),
        ContentError::Unreadable { .. } => BrokerError::Forbidden(format!(
            "Sesame must read a program to check it is the one you allowed, and {e}; make the file readable by you (chmod u+r) and ask again"
        )),
    }
}
