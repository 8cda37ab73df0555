//! The accounts table.

use rusqlite::{params, OptionalExtension};
use sesame_ipc::protocol::{AccountInfo, AccountStatus};

use sesame_ipc::ScopeSet;

use super::{Db, DbError};

impl Db {
    /// Inserts the account, or updates it in place when the id exists (same identity).
    pub fn upsert_account(&self, a: &AccountInfo) -> Result<(), DbError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO accounts (id, provider, issuer, subject, email, name, scopes, status, created_at, last_refreshed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT(id) DO UPDATE SET email = ?5, name = ?6, scopes = ?7, status = ?8, last_refreshed_at = ?10",
                params![a.id, a.provider, a.issuer, a.subject, a.email, a.name, a.scopes.to_string(), status_str(a.status), a.created_at, a.last_refreshed_at],
            )?;
            Ok(())
        })
    }

    pub fn accounts(&self) -> Result<Vec<AccountInfo>, DbError> {
        self.with(|c| {
            let mut stmt =
                c.prepare(&format!("{SELECT_ACCOUNT} ORDER BY provider, created_at, rowid"))?;
            let rows = stmt.query_map([], row_to_account)?;
            rows.collect()
        })
    }

    pub fn account(&self, id: &str) -> Result<Option<AccountInfo>, DbError> {
        self.with(|c| {
            c.query_row(&format!("{SELECT_ACCOUNT} WHERE id = ?1"), [id], row_to_account).optional()
        })
    }

    /// In the order they were signed in: `created_at` has whole seconds, so two sign-ins in
    /// one second are told apart by insertion order (`rowid`, which an upsert keeps), not
    /// by the id, which is a hash and would order them at random.
    pub fn accounts_of_provider(&self, provider: &str) -> Result<Vec<AccountInfo>, DbError> {
        self.with(|c| {
            let mut stmt = c.prepare(&format!(
                "{SELECT_ACCOUNT} WHERE provider = ?1 ORDER BY created_at, rowid"
            ))?;
            let rows = stmt.query_map([provider], row_to_account)?;
            rows.collect()
        })
    }

    pub fn set_refreshed(&self, id: &str, at: i64) -> Result<(), DbError> {
        self.with(|c| {
            c.execute("UPDATE accounts SET last_refreshed_at = ?2 WHERE id = ?1", params![id, at])
                .map(drop)
        })
    }

    pub fn set_status(&self, id: &str, status: AccountStatus) -> Result<(), DbError> {
        self.with(|c| {
            c.execute(
                "UPDATE accounts SET status = ?2 WHERE id = ?1",
                params![id, status_str(status)],
            )
            .map(drop)
        })
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
        scopes: ScopeSet::parse(&scopes),
        status: if status == "reauth_required" {
            AccountStatus::ReauthRequired
        } else {
            AccountStatus::Active
        },
        created_at: r.get(8)?,
        last_refreshed_at: r.get(9)?,
    })
}

fn status_str(s: AccountStatus) -> &'static str {
    match s {
        // Shown when the provider left the config, never a stored state (the mirror never
        // holds it); should one reach here, the row keeps the state it can mean.
        AccountStatus::Active | AccountStatus::ProviderRemoved => "active",
        AccountStatus::ReauthRequired => "reauth_required",
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub fn account(id: &str, provider: &str) -> AccountInfo {
        AccountInfo {
            id: id.into(),
            provider: provider.into(),
            issuer: "http://127.0.0.1:1".into(),
            subject: id.into(),
            email: Some(format!("{id}@example.test")),
            name: None,
            scopes: ScopeSet::from(["openid", "email"]),
            status: AccountStatus::Active,
            created_at: 10,
            last_refreshed_at: None,
        }
    }

    #[test]
    fn accounts_round_trip() {
        let db = Db::open_in_memory().unwrap();
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
    fn accounts_signed_in_in_one_second_are_listed_in_sign_in_order() {
        let db = Db::open_in_memory().unwrap();
        // Same created_at; "z" first, so an order by id would put it last.
        db.upsert_account(&account("z", "p")).unwrap();
        db.upsert_account(&account("a", "p")).unwrap();
        db.upsert_account(&account("z", "p")).unwrap(); // signing in again keeps the place
        let ids = |v: Vec<AccountInfo>| v.into_iter().map(|a| a.id).collect::<Vec<_>>();
        assert_eq!(ids(db.accounts_of_provider("p").unwrap()), ["z", "a"]);
        assert_eq!(ids(db.accounts().unwrap()), ["z", "a"]);
    }
}
