//! The grants table: (app, account, scope set) → allowed, with use statistics.

use rusqlite::{params, OptionalExtension};
use sesame_ipc::consent::{AppInfo, GrantEnd, GrantInfo};

use sesame_ipc::ScopeSet;

use super::{Db, DbError};

impl Db {
    /// Stores a grant, or returns the existing one for the same (app, account, scopes), which
    /// then ends as `end` says (a new approval of what a lapsed grant held renews it).
    pub fn insert_grant(
        &self,
        app: &AppInfo,
        account: &str,
        scopes: &ScopeSet,
        now: i64,
        end: GrantEnd,
    ) -> Result<GrantInfo, DbError> {
        let app_json = serde_json::to_string(app).expect("AppInfo serializes");
        let scopes = scopes.to_string();
        self.with(|c| {
            c.execute(
                "INSERT INTO grants (app_key, app, account, scopes, created_at, expires_at, until_lock)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (app_key, account, scopes) DO UPDATE
                 SET app = ?2, created_at = ?5, expires_at = ?6, until_lock = ?7",
                params![app.key, app_json, account, scopes, now, end.expires_at, end.until_lock],
            )?;
            c.query_row(
                &format!("{SELECT_GRANT} WHERE app_key = ?1 AND account = ?2 AND scopes = ?3"),
                params![app.key, account, scopes],
                row_to_grant,
            )
        })
    }

    /// Deletes grant `id` if it has lapsed by `now` (a time-limited one whose time is up), or
    /// if it was made until the screen locks and `lock` says the screen locked; a grant
    /// renewed meanwhile stays. True when it was deleted.
    pub fn delete_lapsed_grant(&self, id: i64, now: i64, lock: bool) -> Result<bool, DbError> {
        self.with(|c| {
            c.execute(
                "DELETE FROM grants WHERE id = ?1
                 AND ((expires_at IS NOT NULL AND expires_at <= ?2) OR (?3 AND until_lock = 1))",
                params![id, now, lock],
            )
            .map(|n| n > 0)
        })
    }

    /// Deletes the grants made until the screen locks, and returns them: they ended with
    /// the broker that made them.
    pub fn take_until_lock_grants(&self) -> Result<Vec<GrantInfo>, DbError> {
        self.with(|c| {
            let tx = c.transaction()?;
            let gone = {
                let mut stmt = tx.prepare(&format!("{SELECT_GRANT} WHERE until_lock = 1"))?;
                let rows = stmt.query_map([], row_to_grant)?;
                rows.collect::<rusqlite::Result<Vec<_>>>()?
            };
            tx.execute("DELETE FROM grants WHERE until_lock = 1", [])?;
            tx.commit()?;
            Ok(gone)
        })
    }

    pub fn grants(&self) -> Result<Vec<GrantInfo>, DbError> {
        self.with(|c| {
            let mut stmt = c.prepare(&format!("{SELECT_GRANT} ORDER BY app_key, account, id"))?;
            let rows = stmt.query_map([], row_to_grant)?;
            rows.collect()
        })
    }

    /// Grants with an id above `after`, in id order, at most `limit`: one page.
    pub fn grants_after(&self, after: Option<i64>, limit: u32) -> Result<Vec<GrantInfo>, DbError> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "{SELECT_GRANT} WHERE (?1 IS NULL OR id > ?1) ORDER BY id LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![after, limit], row_to_grant)?;
            rows.collect()
        })
    }

    pub fn grant(&self, id: i64) -> Result<Option<GrantInfo>, DbError> {
        self.with(|c| {
            c.query_row(&format!("{SELECT_GRANT} WHERE id = ?1"), [id], row_to_grant).optional()
        })
    }

    /// Replaces a grant's program (its content, moved by the content rule); the key stays.
    pub fn set_grant_app(&self, id: i64, app: &AppInfo) -> Result<(), DbError> {
        let app_json = serde_json::to_string(app).expect("AppInfo serializes");
        self.with(|c| {
            c.execute(
                "UPDATE grants SET app = ?2 WHERE id = ?1 AND app_key = ?3",
                params![id, app_json, app.key],
            )
            .map(drop)
        })
    }

    pub fn delete_grant(&self, id: i64) -> Result<bool, DbError> {
        self.with(|c| c.execute("DELETE FROM grants WHERE id = ?1", [id]).map(|n| n > 0))
    }

    /// Adds `uses` hand-outs, the last at `at` (written in batches, off the request path).
    pub fn record_grant_use(&self, id: i64, uses: u64, at: i64) -> Result<(), DbError> {
        self.with(|c| {
            c.execute(
                "UPDATE grants SET use_count = use_count + ?2, last_used_at = max(coalesce(last_used_at, 0), ?3) WHERE id = ?1",
                params![id, uses as i64, at],
            )
            .map(drop)
        })
    }
}

const SELECT_GRANT: &str = "SELECT id, app, account, scopes, created_at, last_used_at, use_count,
    expires_at, until_lock FROM grants";

fn row_to_grant(r: &rusqlite::Row<'_>) -> rusqlite::Result<GrantInfo> {
    let app: String = r.get(1)?;
    let scopes: String = r.get(3)?;
    let use_count: i64 = r.get(6)?;
    Ok(GrantInfo {
        id: r.get(0)?,
        app: serde_json::from_str(&app).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
        })?,
        account: r.get(2)?,
        scopes: ScopeSet::parse(&scopes),
        created_at: r.get(4)?,
        last_used_at: r.get(5)?,
        use_count: use_count as u64,
        expires_at: r.get(7)?,
        until_lock: r.get(8)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::accounts::tests::account;

    const NEVER: GrantEnd = GrantEnd::NEVER;

    pub fn app(key: &str) -> AppInfo {
        AppInfo {
            key: key.into(),
            name: "x".into(),
            exe: key.into(),
            script: None,
            icon: None,
            flatpak_app: None,
            sandboxed: false,
            content: None,
            chain: vec![],
            generic: None,
        }
    }

    #[test]
    fn grants_are_unique_counted_and_go_with_their_account() {
        let db = Db::open_in_memory().unwrap();
        db.upsert_account(&account("a", "p")).unwrap();
        let g = db
            .insert_grant(&app("/usr/bin/x"), "a", &ScopeSet::parse("email openid"), 5, NEVER)
            .unwrap();
        assert_eq!(
            db.insert_grant(&app("/usr/bin/x"), "a", &ScopeSet::parse("email openid"), 6, NEVER)
                .unwrap()
                .id,
            g.id
        );
        let other =
            db.insert_grant(&app("/usr/bin/x"), "a", &ScopeSet::parse("openid"), 6, NEVER).unwrap();
        db.record_grant_use(g.id, 3, 100).unwrap();
        db.record_grant_use(g.id, 1, 90).unwrap();
        let g = db.grant(g.id).unwrap().unwrap();
        assert_eq!((g.use_count, g.last_used_at), (4, Some(100)));
        assert_eq!(g.scopes, ScopeSet::from(["email", "openid"]));
        let mut moved = app("/usr/bin/x");
        moved.content = Some(Default::default());
        db.set_grant_app(other.id, &moved).unwrap();
        assert_eq!(db.grant(other.id).unwrap().unwrap().app, moved, "the content is stored");
        assert!(db.delete_grant(other.id).unwrap());
        db.delete_account("a").unwrap();
        assert!(db.grants().unwrap().is_empty(), "signing out removes the account's grants");
    }

    #[test]
    fn pages_of_grants_follow_the_id_cursor() {
        let db = Db::open_in_memory().unwrap();
        db.upsert_account(&account("a", "p")).unwrap();
        let ids: Vec<i64> = (0..7)
            .map(|i| {
                let key = format!("/usr/bin/x{i}");
                db.insert_grant(&app(&key), "a", &ScopeSet::parse("openid"), 5, NEVER).unwrap().id
            })
            .collect();
        let (mut seen, mut after) = (vec![], None);
        loop {
            let page = db.grants_after(after, 3).unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            seen.extend(page.iter().map(|g| g.id));
        }
        assert_eq!(seen, ids);
    }

    #[test]
    fn lapsed_grants_go_and_renewed_ones_stay() {
        let db = Db::open_in_memory().unwrap();
        db.upsert_account(&account("a", "p")).unwrap();
        let timed = GrantEnd { expires_at: Some(100), until_lock: false };
        let lock = GrantEnd { expires_at: None, until_lock: true };
        let s = ScopeSet::parse("openid");
        let t = db.insert_grant(&app("/t"), "a", &s, 50, timed).unwrap();
        assert_eq!((t.expires_at, t.until_lock), (Some(100), false));
        let l = db.insert_grant(&app("/l"), "a", &s, 50, lock).unwrap();
        assert!(l.until_lock && l.expires_at.is_none());
        let f = db.insert_grant(&app("/f"), "a", &s, 50, NEVER).unwrap();

        assert!(!db.delete_lapsed_grant(t.id, 99, false).unwrap(), "its time is not up yet");
        // Approved again before the sweep got to it: the renewed grant stays.
        let renewed = GrantEnd { expires_at: Some(200), until_lock: false };
        assert_eq!(db.insert_grant(&app("/t"), "a", &s, 150, renewed).unwrap().id, t.id);
        assert!(!db.delete_lapsed_grant(t.id, 150, false).unwrap());
        assert!(db.delete_lapsed_grant(t.id, 200, false).unwrap());
        assert!(!db.delete_lapsed_grant(f.id, i64::MAX, true).unwrap(), "forever is forever");
        assert!(!db.delete_lapsed_grant(l.id, i64::MAX, false).unwrap(), "only a lock ends it");

        let gone = db.take_until_lock_grants().unwrap();
        assert_eq!(gone.iter().map(|g| g.id).collect::<Vec<_>>(), [l.id]);
        assert_eq!(db.grants().unwrap().iter().map(|g| g.id).collect::<Vec<_>>(), [f.id]);
    }
}
