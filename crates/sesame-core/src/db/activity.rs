//! The activity log: every hand-out and decision, bounded by age and row count.

use rusqlite::params;
use sesame_ipc::consent::{ActivityEvent, ActivityInfo, AppInfo};
use sesame_ipc::ScopeSet;

use super::{Db, DbError};

/// A row to append (the id and nothing else is assigned by SQLite).
#[derive(Debug, Clone)]
pub struct NewActivity {
    pub at: i64,
    pub event: ActivityEvent,
    pub app: String,
    pub app_name: String,
    pub account: Option<String>,
    pub scopes: ScopeSet,
    pub detail: String,
    /// How many identical events this row stands for (hand-outs under load share a row).
    pub count: u64,
}

impl NewActivity {
    /// One event that happens now. `app` is `None` for a peer nobody could identify.
    pub fn now(
        event: ActivityEvent,
        app: Option<&AppInfo>,
        account: Option<&str>,
        scopes: &ScopeSet,
        detail: String,
    ) -> NewActivity {
        let (app, app_name) = app.map(|a| (a.key.clone(), a.name.clone())).unwrap_or_default();
        NewActivity {
            at: crate::now_unix(),
            event,
            app,
            app_name,
            account: account.map(str::to_owned),
            scopes: scopes.clone(),
            detail,
            count: 1,
        }
    }
}

impl Db {
    /// Appends rows in one transaction (the writer task batches them).
    pub fn append_activity(&self, rows: &[NewActivity]) -> Result<(), DbError> {
        self.with(|c| {
            let tx = c.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO activity (at, event, app, app_name, account, scopes, detail, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                for r in rows {
                    stmt.execute(params![r.at, event_str(r.event), r.app, r.app_name, r.account, r.scopes.to_string(), r.detail, r.count as i64])?;
                }
            }
            tx.commit()
        })
    }

    /// Newest first. `app` matches a key exactly, or a substring of the key or name.
    pub fn activity(&self, limit: u32, app: Option<&str>) -> Result<Vec<ActivityInfo>, DbError> {
        self.with(|c| {
            let sql =
                "SELECT id, at, event, app, app_name, account, scopes, detail, count FROM activity
                       WHERE ?1 IS NULL OR app = ?1 OR instr(app, ?1) > 0 OR instr(app_name, ?1) > 0
                       ORDER BY id DESC LIMIT ?2";
            let mut stmt = c.prepare(sql)?;
            let rows = stmt.query_map(params![app, limit], |r| {
                let event: String = r.get(2)?;
                let scopes: String = r.get(6)?;
                Ok(ActivityInfo {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    event: parse_event(&event),
                    app: r.get(3)?,
                    app_name: r.get(4)?,
                    account: r.get(5)?,
                    scopes: ScopeSet::parse(&scopes),
                    detail: r.get(7)?,
                    count: r.get::<_, i64>(8)? as u64,
                })
            })?;
            rows.collect()
        })
    }

    /// Deletes rows older than `before` and all but the newest `max_rows`; returns how many.
    pub fn prune_activity(&self, before: i64, max_rows: u64) -> Result<usize, DbError> {
        self.with(|c| {
            let old = c.execute("DELETE FROM activity WHERE at < ?1", [before])?;
            let over = c.execute(
                "DELETE FROM activity WHERE id <= (SELECT id FROM activity ORDER BY id DESC LIMIT 1 OFFSET ?1)",
                [max_rows as i64],
            )?;
            Ok(old + over)
        })
    }
}

fn event_str(e: ActivityEvent) -> String {
    serde_json::to_value(e).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn parse_event(s: &str) -> ActivityEvent {
    serde_json::from_value(serde_json::Value::String(s.into())).unwrap_or(ActivityEvent::Refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(at: i64, event: ActivityEvent, app: &str) -> NewActivity {
        NewActivity {
            at,
            event,
            app: app.into(),
            app_name: "n".into(),
            account: Some("a".into()),
            scopes: ScopeSet::parse("openid"),
            detail: String::new(),
            count: 1,
        }
    }

    #[test]
    fn append_list_filter_prune() {
        let db = Db::open_in_memory().unwrap();
        let rows: Vec<_> = (0..10)
            .map(|i| {
                row(
                    i,
                    if i % 2 == 0 { ActivityEvent::HandedOut } else { ActivityEvent::Denied },
                    if i < 5 { "/usr/bin/a" } else { "/usr/bin/b" },
                )
            })
            .collect();
        db.append_activity(&rows).unwrap();
        let all = db.activity(100, None).unwrap();
        assert_eq!(all.len(), 10);
        assert_eq!(all[0].at, 9, "newest first");
        assert_eq!(all[0].event, ActivityEvent::Denied);
        assert_eq!(db.activity(3, None).unwrap().len(), 3);
        assert_eq!(db.activity(100, Some("/usr/bin/a")).unwrap().len(), 5);
        assert_eq!(db.activity(100, Some("bin/b")).unwrap().len(), 5);
        assert_eq!(db.prune_activity(2, 100).unwrap(), 2, "older than 2");
        assert_eq!(db.prune_activity(0, 5).unwrap(), 3, "keep the newest 5");
        let left = db.activity(100, None).unwrap();
        assert_eq!((left.len(), left.last().unwrap().at), (5, 5));
    }
}
