//! The grants table: (app, account, scope set) → allowed, with use statistics.

use rusqlite::{params, OptionalExtension};
use sesame_ipc::consent::{AppInfo, GrantInfo};

use sesame_ipc::ScopeSet;

use super::{Db, DbError};

impl Db {
    /// Stores a grant, or returns the existing one for the same (app, account, scopes).
    pub fn insert_grant(
        &self,
        app: &AppInfo,
        account: &str,
        scopes: &ScopeSet,
        now: i64,
    ) -> Result<GrantInfo, DbError> {
        let app_json = serde_json::to_string(app).expect("AppInfo serializes");
        let scopes = scopes.to_string();
        self.with(|c| {
            c.execute(
                "INSERT INTO grants (app_key, app, account, scopes, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (app_key, account, scopes) DO UPDATE SET app = ?2",
                params![app.key, app_json, account, scopes, now],
            )?;
            c.query_row(
                &format!("{SELECT_GRANT} WHERE app_key = ?1 AND account = ?2 AND scopes = ?3"),
                params![app.key, account, scopes],
                row_to_grant,
            )
        })
    }

    pub fn grants(&self) -> Result<Vec<GrantInfo>, DbError> {
        self.with(|c| {
            let mut stmt = c.prepare(&format!("{SELECT_GRANT} ORDER BY app_key, account, id"))?;
            let rows = stmt.query_map([], row_to_grant)?;
            rows.collect()
        })
    }

    pub fn grant(&self, id: i64) -> Result<Option<GrantInfo>, DbError> {
        self.with(|c| {
            c.query_row(&format!("{SELECT_GRANT} WHERE id = ?1"), [id], row_to_grant).optional()
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

const SELECT_GRANT: &str =
    "SELECT id, app, account, scopes, created_at, last_used_at, use_count FROM grants";

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
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::accounts::tests::account;

    pub fn app(key: &str) -> AppInfo {
        AppInfo {
            key: key.into(),
            name: "x".into(),
            exe: key.into(),
            script: None,
            icon: None,
            flatpak_app: None,
            sandboxed: false,
            chain: vec![],
            generic: None,
        }
    }

    #[test]
    fn grants_are_unique_counted_and_go_with_their_account() {
        let db = Db::open_in_memory().unwrap();
        db.upsert_account(&account("a", "p")).unwrap();
        let g =
            db.insert_grant(&app("/usr/bin/x"), "a", &ScopeSet::parse("email openid"), 5).unwrap();
        assert_eq!(
            db.insert_grant(&app("/usr/bin/x"), "a", &ScopeSet::parse("email openid"), 6)
                .unwrap()
                .id,
            g.id
        );
        let other =
            db.insert_grant(&app("/usr/bin/x"), "a", &ScopeSet::parse("openid"), 6).unwrap();
        db.record_grant_use(g.id, 3, 100).unwrap();
        db.record_grant_use(g.id, 1, 90).unwrap();
        let g = db.grant(g.id).unwrap().unwrap();
        assert_eq!((g.use_count, g.last_used_at), (4, Some(100)));
        assert_eq!(g.scopes, ScopeSet::from(["email", "openid"]));
        assert!(db.delete_grant(other.id).unwrap());
        db.delete_account("a").unwrap();
        assert!(db.grants().unwrap().is_empty(), "signing out removes the account's grants");
    }
}
