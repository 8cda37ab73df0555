//! Grants in memory (the database's mirror, without the use counts, which only the recorder
//! writes), so a covered request costs no SQLite call. A grant approved for a time or until
//! the screen locks lapses: from its end on it covers nothing, whether or not the broker's
//! sweep (`broker/lapse.rs`) has deleted it yet.

use std::collections::BTreeSet;
use std::sync::RwLock;

use sesame_ipc::consent::GrantInfo;
use sesame_ipc::ScopeSet;

#[derive(Default)]
pub struct GrantTable {
    list: RwLock<Vec<GrantInfo>>,
}

impl GrantTable {
    pub fn new(list: Vec<GrantInfo>) -> GrantTable {
        GrantTable { list: RwLock::new(list) }
    }

    /// The grant of `app` for `account` whose scope set contains all of `scopes` and that
    /// still holds at `now` (the narrowest such grant, so use counts land where they belong).
    pub fn covering(&self, app: &str, account: &str, scopes: &ScopeSet, now: i64) -> Option<i64> {
        let list = self.list.read().unwrap_or_else(|p| p.into_inner());
        list.iter()
            .filter(|g| g.app.key == app && g.account == account && g.end().holds_at(now))
            .filter(|g| scopes.is_subset(&g.scopes))
            .min_by_key(|g| g.scopes.len())
            .map(|g| g.id)
    }

    /// The scopes an app gets when it asks for none: those of its grant for the account
    /// (the newest one that holds), so an app granted less is not asked about more.
    pub fn default_scopes(&self, app: &str, account: &str, now: i64) -> Option<ScopeSet> {
        let list = self.list.read().unwrap_or_else(|p| p.into_inner());
        list.iter()
            .filter(|g| g.app.key == app && g.account == account && g.end().holds_at(now))
            .max_by_key(|g| (g.created_at, g.id))
            .map(|g| g.scopes.clone())
    }

    pub fn insert(&self, grant: GrantInfo) {
        let mut list = self.list.write().unwrap_or_else(|p| p.into_inner());
        list.retain(|g| g.id != grant.id);
        list.push(grant);
    }

    pub fn remove(&self, ids: &BTreeSet<i64>) {
        self.list.write().unwrap_or_else(|p| p.into_inner()).retain(|g| !ids.contains(&g.id));
    }

    pub fn remove_account(&self, account: &str) {
        self.list.write().unwrap_or_else(|p| p.into_inner()).retain(|g| g.account != account);
    }

    /// Removes and returns the grants whose time is up at `now` (and, when the screen
    /// locked, those made until it locks).
    pub fn take_lapsed(&self, now: i64, locked: bool) -> Vec<GrantInfo> {
        let mut list = self.list.write().unwrap_or_else(|p| p.into_inner());
        let (gone, kept) = std::mem::take(&mut *list)
            .into_iter()
            .partition(|g| !g.end().holds_at(now) || (locked && g.until_lock));
        *list = kept;
        gone
    }

    /// When the next time-limited grant lapses (Unix seconds), if any does.
    pub fn next_expiry(&self) -> Option<i64> {
        let list = self.list.read().unwrap_or_else(|p| p.into_inner());
        list.iter().filter_map(|g| g.expires_at).min()
    }

    pub fn list(&self) -> Vec<GrantInfo> {
        self.list.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn of_app(&self, app: &str) -> Vec<GrantInfo> {
        self.list().into_iter().filter(|g| g.app.key == app).collect()
    }

    /// The accounts among `accounts` for which `app` holds a grant that holds at `now`.
    pub fn granted_accounts<'a>(
        &self,
        app: &str,
        accounts: impl IntoIterator<Item = &'a str>,
        now: i64,
    ) -> Vec<&'a str> {
        let list = self.list.read().unwrap_or_else(|p| p.into_inner());
        accounts
            .into_iter()
            .filter(|a| {
                list.iter().any(|g| g.app.key == app && g.account == *a && g.end().holds_at(now))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sesame_ipc::consent::AppInfo;

    fn grant(id: i64, app: &str, scopes: &[&str]) -> GrantInfo {
        GrantInfo {
            id,
            app: AppInfo {
                key: app.into(),
                name: app.into(),
                exe: app.into(),
                script: None,
                icon: None,
                flatpak_app: None,
                sandboxed: false,
            },
            account: "acc".into(),
            scopes: ScopeSet::from(scopes),
            created_at: id,
            last_used_at: None,
            use_count: 0,
            expires_at: None,
            until_lock: false,
        }
    }

    fn v(s: &[&str]) -> ScopeSet {
        ScopeSet::from(s)
    }

    #[test]
    fn coverage_is_by_app_account_and_subset() {
        let t = GrantTable::new(vec![
            grant(1, "/a", &["email", "openid"]),
            grant(2, "/a", &["openid"]),
        ]);
        assert_eq!(
            t.covering("/a", "acc", &v(&["openid"]), 0),
            Some(2),
            "the narrowest covering grant"
        );
        assert_eq!(t.covering("/a", "acc", &v(&["email"]), 0), Some(1));
        assert_eq!(t.covering("/a", "acc", &v(&["profile"]), 0), None);
        assert_eq!(t.covering("/b", "acc", &v(&["openid"]), 0), None, "another app");
        assert_eq!(t.covering("/a", "other", &v(&["openid"]), 0), None, "another account");
        assert_eq!(t.default_scopes("/a", "acc", 0), Some(v(&["openid"])), "the newest grant");
        t.remove(&BTreeSet::from([2]));
        assert_eq!(t.covering("/a", "acc", &v(&["openid"]), 0), Some(1));
        t.remove_account("acc");
        assert!(t.list().is_empty());
    }

    #[test]
    fn a_lapsed_grant_covers_nothing_and_is_taken_by_the_sweep() {
        let mut timed = grant(1, "/a", &["openid"]);
        timed.expires_at = Some(100);
        let mut locked = grant(2, "/b", &["openid"]);
        locked.until_lock = true;
        let forever = grant(3, "/c", &["openid"]);
        let t = GrantTable::new(vec![timed, locked, forever]);
        let s = v(&["openid"]);
        assert_eq!(t.next_expiry(), Some(100));
        assert_eq!(t.covering("/a", "acc", &s, 99), Some(1), "until its end");
        assert_eq!(t.covering("/a", "acc", &s, 100), None, "not from its end on, swept or not");
        assert_eq!(t.default_scopes("/a", "acc", 100), None, "nor does it decide scopes");
        assert!(t.granted_accounts("/a", ["acc"], 100).is_empty());
        assert_eq!(t.granted_accounts("/b", ["acc", "other"], 100), ["acc"]);

        assert!(t.take_lapsed(99, false).is_empty());
        let gone: Vec<i64> = t.take_lapsed(100, false).iter().map(|g| g.id).collect();
        assert_eq!(gone, [1]);
        assert_eq!(t.next_expiry(), None);
        assert_eq!(t.covering("/b", "acc", &s, i64::MAX), Some(2), "until the screen locks");
        let gone: Vec<i64> = t.take_lapsed(i64::MAX - 1, true).iter().map(|g| g.id).collect();
        assert_eq!(gone, [2], "the lock ends it; forever stays");
        assert_eq!(t.list().iter().map(|g| g.id).collect::<Vec<_>>(), [3]);
    }
}
