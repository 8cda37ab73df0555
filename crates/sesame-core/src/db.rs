//! SQLite: metadata only (accounts now; grants and activity later). Never a token.
//!
//! Schema changes are appended to [`MIGRATIONS`]; `PRAGMA user_version` records how many ran.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use sesame_ipc::protocol::{AccountInfo, AccountStatus};

#[derive(Debug, thiserror::Error)]
#[error("the database {path} failed: {cause}; check that the directory is writable and the disk is not full")]
pub struct DbError {
    path: PathBuf,
    cause: rusqlite::Error,
}

/// Each entry runs once, in order, inside a transaction.
const MIGRATIONS: &[&str] = &[
    // 1: accounts. (issuer, subject) is the identity: signing in again as the same person
    // updates the row instead of adding a second one.
    "CREATE TABLE accounts (
        id                TEXT PRIMARY KEY,
        provider          TEXT NOT NULL,
        issuer            TEXT NOT NULL,
        subject           TEXT NOT NULL,
        email             TEXT,
        name              TEXT,
        scopes            TEXT NOT NULL,
        status            TEXT NOT NULL,
        created_at        INTEGER NOT NULL,
        last_refreshed_at INTEGER,
        UNIQUE (provider, issuer, subject)
    );",
];

pub struct Db {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl Db {
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let err = |cause| DbError { path: path.to_owned(), cause };
        let conn = Connection::open(path).map_err(err)?;
        restrict_permissions(path);
        let db = Db { path: path.to_owned(), conn: Mutex::new(conn) };
        db.migrate()?;
        Ok(db)
    }

    /// An in-memory database for unit tests.
    pub fn open_in_memory() -> Result<Db, DbError> {
        let conn = Connection::open_in_memory().map_err(|cause| DbError { path: ":memory:".into(), cause })?;
        let db = Db { path: ":memory:".into(), conn: Mutex::new(conn) };
        db.migrate()?;
        Ok(db)
    }

    fn err(&self, cause: rusqlite::Error) -> DbError {
        DbError { path: self.path.clone(), cause }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T, DbError> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn).map_err(|e| self.err(e))
    }

    fn migrate(&self) -> Result<(), DbError> {
        self.with(|conn| {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            let done: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
                let tx = conn.transaction()?;
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", i + 1)?;
                tx.commit()?;
            }
            Ok(())
        })
    }

    pub fn schema_version(&self) -> Result<usize, DbError> {
        self.with(|c| c.pragma_query_value(None, "user_version", |r| r.get(0)))
    }

    /// Inserts the account, or updates it in place when the id exists (same identity).
    pub fn upsert_account(&self, a: &AccountInfo) -> Result<(), DbError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO accounts (id, provider, issuer, subject, email, name, scopes, status, created_at, last_refreshed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT(id) DO UPDATE SET email = ?5, name = ?6, scopes = ?7, status = ?8, last_refreshed_at = ?10",
                params![a.id, a.provider, a.issuer, a.subject, a.email, a.name, a.scopes.join(" "), status_str(a.status), a.created_at, a.last_refreshed_at],
            )?;
            Ok(())
        })
    }

    pub fn accounts(&self) -> Result<Vec<AccountInfo>, DbError> {
        self.with(|c| {
            let mut stmt = c.prepare(&format!("{SELECT_ACCOUNT} ORDER BY provider, created_at, id"))?;
            let rows = stmt.query_map([], row_to_account)?;
            rows.collect()
        })
    }

    pub fn account(&self, id: &str) -> Result<Option<AccountInfo>, DbError> {
        self.with(|c| c.query_row(&format!("{SELECT_ACCOUNT} WHERE id = ?1"), [id], row_to_account).optional())
    }

    pub fn accounts_of_provider(&self, provider: &str) -> Result<Vec<AccountInfo>, DbError> {
        self.with(|c| {
            let mut stmt = c.prepare(&format!("{SELECT_ACCOUNT} WHERE provider = ?1 ORDER BY created_at, id"))?;
            let rows = stmt.query_map([provider], row_to_account)?;
            rows.collect()
        })
    }

    pub fn set_refreshed(&self, id: &str, at: i64) -> Result<(), DbError> {
        self.with(|c| c.execute("UPDATE accounts SET last_refreshed_at = ?2 WHERE id = ?1", params![id, at]).map(drop))
    }

    pub fn set_status(&self, id: &str, status: AccountStatus) -> Result<(), DbError> {
        self.with(|c| c.execute("UPDATE accounts SET status = ?2 WHERE id = ?1", params![id, status_str(status)]).map(drop))
    }

    pub fn delete_account(&self, id: &str) -> Result<bool, DbError> {
        self.with(|c| c.execute("DELETE FROM accounts WHERE id = ?1", [id]).map(|n| n > 0))
    }
}

const SELECT_ACCOUNT: &str =
    "SELECT id, provider, issuer, subject, email, name, scopes, status, created_at, last_refreshed_at FROM accounts";

fn row_to_account(r: &rusqlite::Row<'_>) -> rusqlite::Result<AccountInfo> {
    let scopes: String = r.get(6)?;
    let status: String = r.get(7)?;
    Ok(AccountInfo {
        id: r.get(0)?,
        provider: r.get(1)?,
        issuer: r.get(2)?,
        subject: r.get(3)?,
        email: r.get(4)?,
        name: r.get(5)?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        status: if status == "reauth_required" { AccountStatus::ReauthRequired } else { AccountStatus::Active },
        created_at: r.get(8)?,
        last_refreshed_at: r.get(9)?,
    })
}

fn status_str(s: AccountStatus) -> &'static str {
    match s {
        AccountStatus::Active => "active",
        AccountStatus::ReauthRequired => "reauth_required",
    }
}

/// The database holds no secret, but which accounts exist is still the user's business.
fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, provider: &str) -> AccountInfo {
        AccountInfo {
            id: id.into(),
            provider: provider.into(),
            issuer: "http://127.0.0.1:1".into(),
            subject: id.into(),
            email: Some(format!("{id}@example.test")),
            name: None,
            scopes: vec!["openid".into(), "email".into()],
            status: AccountStatus::Active,
            created_at: 10,
            last_refreshed_at: None,
        }
    }

    #[test]
    fn migrations_and_accounts() {
        let db = Db::open_in_memory().unwrap();
        assert_eq!(db.schema_version().unwrap(), MIGRATIONS.len());
        db.upsert_account(&account("a", "p")).unwrap();
        db.upsert_account(&account("b", "p")).unwrap();
        let mut changed = account("a", "p");
        changed.email = Some("new@example.test".into());
        db.upsert_account(&changed).unwrap();
        assert_eq!(db.accounts().unwrap().len(), 2);
        assert_eq!(db.account("a").unwrap().unwrap().email.as_deref(), Some("new@example.test"));
        db.set_status("a", AccountStatus::ReauthRequired).unwrap();
        db.set_refreshed("a", 99).unwrap();
        let a = db.account("a").unwrap().unwrap();
        assert_eq!((a.status, a.last_refreshed_at), (AccountStatus::ReauthRequired, Some(99)));
        assert_eq!(db.accounts_of_provider("p").unwrap().len(), 2);
        assert!(db.delete_account("a").unwrap());
        assert!(!db.delete_account("a").unwrap());
    }

    #[test]
    fn reopening_keeps_data_and_version() {
        let dir = std::env::temp_dir().join(format!("sesame-db-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sesame.db");
        Db::open(&path).unwrap().upsert_account(&account("a", "p")).unwrap();
        let db = Db::open(&path).unwrap();
        assert_eq!(db.accounts().unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
