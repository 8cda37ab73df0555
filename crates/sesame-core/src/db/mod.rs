//! SQLite: metadata only — accounts, grants, activity. Never a token.
//!
//! Schema changes are appended to [`MIGRATIONS`]; `PRAGMA user_version` records how many ran.
//! Scope sets are stored space-joined ([`sesame_ipc::ScopeSet`]'s `Display`, sorted).
//! One file per table: [`accounts`], [`grants`], [`activity`].

mod accounts;
mod activity;
mod grants;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::Connection;

pub use activity::{NewActivity, RowLimits};

#[derive(Debug, thiserror::Error)]
#[error("the database {path} failed: {cause}; check that the directory is writable and the disk is not full")]
pub struct DbError {
    path: PathBuf,
    cause: rusqlite::Error,
}

/// The page cache's size in KiB (`PRAGMA cache_size`).
const CACHE_KIB: i64 = 512;

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
    // 2: grants: (app, account, scope set) -> allowed. `app` is the AppInfo as JSON, for display.
    "CREATE TABLE grants (
        id           INTEGER PRIMARY KEY,
        app_key      TEXT NOT NULL,
        app          TEXT NOT NULL,
        account      TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        scopes       TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        last_used_at INTEGER,
        use_count    INTEGER NOT NULL DEFAULT 0,
        UNIQUE (app_key, account, scopes)
    );",
    // 3: activity: every hand-out and decision.
    "CREATE TABLE activity (
        id       INTEGER PRIMARY KEY,
        at       INTEGER NOT NULL,
        event    TEXT NOT NULL,
        app      TEXT NOT NULL,
        app_name TEXT NOT NULL,
        account  TEXT,
        scopes   TEXT NOT NULL,
        detail   TEXT NOT NULL
    );
    CREATE INDEX activity_at ON activity (at);
    CREATE INDEX activity_app ON activity (app);",
    // 4: identical hand-outs written in one batch share a row; `count` says how many.
    "ALTER TABLE activity ADD COLUMN count INTEGER NOT NULL DEFAULT 1;",
    // 5: a row that stands for several events spread over time (a program's refusals within
    // a minute) keeps when the first happened (`at` is the last); refusals are pruned
    // first, so they get an index of their own.
    "ALTER TABLE activity ADD COLUMN first_at INTEGER;
    CREATE INDEX activity_event ON activity (event);",
    // 6: approval lengths. A grant approved for a time lapses at `expires_at` (Unix
    // seconds); one approved until the screen locks (`until_lock`) also ends with the
    // broker, so the broker deletes those when it starts.
    "ALTER TABLE grants ADD COLUMN expires_at INTEGER;
    ALTER TABLE grants ADD COLUMN until_lock INTEGER NOT NULL DEFAULT 0;",
    // 7: the programs the log names, one row per (app, app_name), kept by a trigger. A
    // filtered listing looks for its text here and then reads only those programs' rows
    // (through `activity_app`, whose entries end in the row id), instead of testing every
    // row of a log of a million for a substring (0.6 s).
    "CREATE TABLE activity_apps (
        app      TEXT NOT NULL,
        app_name TEXT NOT NULL,
        PRIMARY KEY (app, app_name)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO activity_apps SELECT DISTINCT app, app_name FROM activity;
    CREATE TRIGGER activity_apps_insert AFTER INSERT ON activity BEGIN
        INSERT OR IGNORE INTO activity_apps VALUES (new.app, new.app_name);
    END;",
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
        let conn = Connection::open_in_memory()
            .map_err(|cause| DbError { path: ":memory:".into(), cause })?;
        let db = Db { path: ":memory:".into(), conn: Mutex::new(conn) };
        db.migrate()?;
        Ok(db)
    }

    fn err(&self, cause: rusqlite::Error) -> DbError {
        DbError { path: self.path.clone(), cause }
    }

    /// Every SQLite call goes through here. On a runtime worker thread it runs under
    /// `block_in_place`: the worker's other tasks move to another thread first, so a slow
    /// disk (or a lock held by another writer) stalls this one call, never `token.get` of
    /// other programs. (The recorder already calls from a blocking thread; unit tests on a
    /// current-thread runtime just block.)
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        let run = || {
            let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn).map_err(|e| self.err(e))
        };
        let on_worker = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if on_worker {
            tokio::task::block_in_place(run)
        } else {
            run()
        }
    }

    fn migrate(&self) -> Result<(), DbError> {
        self.with(|conn| {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            // SQLite's page cache, set on purpose rather than left at 2 MiB: the warm path
            // never reads the database, and every list at scale (1 M activity rows) stays
            // within its goal with this much (docs/performance.md); the OS caches the file.
            conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
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

    /// Holds the connection as a stalled write would (for tests of what must not wait).
    #[cfg(test)]
    pub(crate) fn stall(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn schema_version(&self) -> Result<usize, DbError> {
        self.with(|c| c.pragma_query_value(None, "user_version", |r| r.get(0)))
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

    #[test]
    fn reopening_keeps_data_and_version() {
        let dir = std::env::temp_dir().join(format!("sesame-db-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sesame.db");
        Db::open(&path).unwrap().upsert_account(&accounts::tests::account("a", "p")).unwrap();
        let db = Db::open(&path).unwrap();
        assert_eq!(db.schema_version().unwrap(), MIGRATIONS.len());
        assert_eq!(db.accounts().unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A database call that cannot finish (its lock held, as by a stalled disk write) blocks
    /// only its own task: on a one-worker runtime, another task still runs to completion.
    #[test]
    fn a_stalled_call_does_not_stall_other_tasks() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let db = std::sync::Arc::new(Db::open_in_memory().unwrap());
        let held = db.stall();
        let d = db.clone();
        let stuck = rt.spawn(async move { d.schema_version() });
        // The stuck task takes the only worker first. (Plain sleeps: with the worker blocked,
        // the runtime's own timers would not fire either.)
        std::thread::sleep(std::time::Duration::from_millis(50));
        let other = rt.spawn(async { 42 });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !other.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(other.is_finished(), "the other task ran while the call waited");
        assert!(!stuck.is_finished(), "the stalled call was really waiting");
        drop(held);
        assert_eq!(rt.block_on(other).unwrap(), 42);
        assert_eq!(rt.block_on(stuck).unwrap().unwrap(), MIGRATIONS.len());
    }
}
