//! Grants in memory (the database's mirror, without the use counts, which only the recorder
//! writes), so a covered request costs no SQLite call.

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

    /// The grant of `app` for `account` whose scope set contains all of `scopes`
    /// (the narrowest such grant, so use counts land where they belong).
    pub fn covering(&self, app: &str, account: &str, scopes: &ScopeSet) -> Option<i64> {
        let list = self.list.read().unwrap_or_else(|p| p.into_inner());
        list.iter()
            .filter(|g| g.app.key == app && g.account == account)
            .filter(|g| scopes.is_subset(&g.scopes))
            .min_by_key(|g| g.scopes.len())
            .map(|g| g.id)
    }

    /// The scopes an app gets when it asks for none: those of its grant for the account
    /// (the newest one), so an app granted less is not asked about more.
    pub fn default_scopes(&self, app: &str, account: &str) -> Option<ScopeSet> {
        let list = self.list.read().unwrap_or_else(|p| p.into_inner());
        list.iter()
            .filter(|g| g.app.key == app && g.account == account)
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

    pub fn list(&self) -> Vec<GrantInfo> {
        self.list.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn of_app(&self, app: &str) -> Vec<GrantInfo> {
        self.list().into_iter().filter(|g| g.app.key == app).collect()
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
                chain: vec![],
                generic: None,
            },
            account: "acc".into(),
            scopes: ScopeSet::from(scopes),
            created_at: id,
            last_used_at: None,
            use_count: 0,
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
            t.covering("/a", "acc", &v(&["openid"])),
            Some(2),
            "the narrowest covering grant"
        );
        assert_eq!(t.covering("/a", "acc", &v(&["email"])), Some(1));
        assert_eq!(t.covering("/a", "acc", &v(&["profile"])), None);
        assert_eq!(t.covering("/b", "acc", &v(&["openid"])), None, "another app");
        assert_eq!(t.covering("/a", "other", &v(&["openid"])), None, "another account");
        assert_eq!(t.default_scopes("/a", "acc"), Some(v(&["openid"])), "the newest grant");
        t.remove(&BTreeSet::from([2]));
        assert_eq!(t.covering("/a", "acc", &v(&["openid"])), Some(1));
        t.remove_account("acc");
        assert!(t.list().is_empty());
    }
}
