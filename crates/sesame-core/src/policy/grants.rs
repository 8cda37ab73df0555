//! Grants in memory (the database's mirror, without the use counts, which only the recorder
//! writes), so a covered request costs no SQLite call. A grant covers the program only as
//! it was when allowed (its content, by the rule in [`super::content`]). A grant approved
//! for a time or until the screen locks lapses: from its end on it covers nothing, whether
//! or not the broker's sweep (`broker/lapse.rs`) has deleted it yet.

use std::collections::BTreeSet;
use std::sync::RwLock;

use sesame_ipc::consent::{ContentChange, ContentUpdate, GrantEnd, GrantInfo, ProgramContent};
use sesame_ipc::ScopeSet;

use super::content::{judge, Verdict};

/// What the grant table says about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// This grant covers it, as it is.
    Covered(i64),
    /// This grant covers it once it holds the asking content (a package upgrade, a Flatpak
    /// update, a grant from before content was recorded): the broker moves it, then hands out.
    Moved { grant: Box<GrantInfo>, update: ContentUpdate },
    /// A grant would cover it, but the program changed since the user allowed it.
    Changed(Box<ContentChange>),
    /// No grant of this program covers it.
    None,
}

impl Coverage {
    /// The covering grant as it is now, if one covers without being moved.
    #[cfg(test)]
    pub fn covered(&self) -> Option<i64> {
        match self {
            Coverage::Covered(id) => Some(*id),
            _ => None,
        }
    }
}

#[derive(Default)]
pub struct GrantTable {
    list: RwLock<Vec<GrantInfo>>,
}

impl GrantTable {
    pub fn new(list: Vec<GrantInfo>) -> GrantTable {
        GrantTable { list: RwLock::new(list) }
    }

    /// Whether a grant of the program `key`, whose files are now `content`, covers `scopes`
    /// of `account` at `now`: one that still holds, whose scope set contains them all (the
    /// narrowest, so use counts land where they belong) and whose content is the program's
    /// by the content rule ([`judge`]). `content` is `None` only for a caller whose files
    /// are not known (the in-process app): then the key alone decides.
    pub fn covering(
        &self,
        key: &str,
        content: Option<&ProgramContent>,
        account: &str,
        scopes: &ScopeSet,
        now: i64,
    ) -> Coverage {
        let list = self.list.read().unwrap_or_else(|p| p.into_inner());
        let mut candidates: Vec<&GrantInfo> = list
            .iter()
            .filter(|g| g.app.key == key && g.account == account && g.end().holds_at(now))
            .filter(|g| scopes.is_subset(&g.scopes))
            .collect();
        candidates.sort_by_key(|g| (g.scopes.len(), g.id));
        let Some(asking) = content else {
            return candidates.first().map_or(Coverage::None, |g| Coverage::Covered(g.id));
        };
        let mut moved = None;
        let mut changed = None;
        for g in candidates {
            match judge(g.app.content.as_ref(), asking, now) {
                Verdict::Same => return Coverage::Covered(g.id),
                Verdict::Moved(update) => {
                    moved.get_or_insert_with(|| (g.clone(), update));
                }
                Verdict::Changed(parts) => {
                    changed.get_or_insert_with(|| ContentChange {
                        grant: g.id,
                        allowed_at: g.created_at,
                        parts,
                        allowed: g.app.content.clone().unwrap_or_default(),
                    });
                }
            }
        }
        match (moved, changed) {
            (Some((grant, update)), _) => Coverage::Moved { grant: Box::new(grant), update },
            (None, Some(change)) => Coverage::Changed(Box::new(change)),
            (None, None) => Coverage::None,
        }
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

    /// When grant `id` ends, if it exists.
    pub fn end_of(&self, id: i64) -> Option<GrantEnd> {
        let list = self.list.read().unwrap_or_else(|p| p.into_inner());
        list.iter().find(|g| g.id == id).map(GrantInfo::end)
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
    use sesame_ipc::consent::{AppInfo, ChangedPart, FileContent, UpdateReason};

    fn app(key: &str, sha: Option<&str>) -> AppInfo {
        AppInfo {
            key: key.into(),
            name: key.into(),
            exe: key.into(),
            script: None,
            icon: None,
            flatpak_app: None,
            sandboxed: false,
            content: sha.map(|s| ProgramContent {
                exe: Some(FileContent { sha256: s.into(), package: None }),
                ..Default::default()
            }),
            chain: vec![],
            generic: None,
        }
    }

    fn grant(id: i64, app: AppInfo, scopes: &[&str]) -> GrantInfo {
        GrantInfo {
            id,
            app,
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
        let a = || app("/a", Some("aa"));
        let t =
            GrantTable::new(vec![grant(1, a(), &["email", "openid"]), grant(2, a(), &["openid"])]);
        let covering = |key: &str, account: &str, scopes: &[&str]| {
            let asking = app(key, Some("aa"));
            t.covering(&asking.key, asking.content.as_ref(), account, &v(scopes), 0).covered()
        };
        assert_eq!(covering("/a", "acc", &["openid"]), Some(2), "the narrowest covering grant");
        assert_eq!(covering("/a", "acc", &["email"]), Some(1));
        assert_eq!(covering("/a", "acc", &["profile"]), None);
        assert_eq!(covering("/b", "acc", &["openid"]), None, "another app");
        assert_eq!(covering("/a", "other", &["openid"]), None, "another account");
        assert_eq!(t.default_scopes("/a", "acc", 0), Some(v(&["openid"])), "the newest grant");
        t.remove(&BTreeSet::from([2]));
        assert_eq!(covering("/a", "acc", &["openid"]), Some(1));
        t.remove_account("acc");
        assert!(t.list().is_empty());
    }

    #[test]
    fn a_grant_covers_only_the_content_it_was_given_to() {
        let t = GrantTable::new(vec![grant(1, app("/a", Some("aa")), &["openid"])]);
        let scopes = v(&["openid"]);
        let check = |asking: AppInfo, scopes: &ScopeSet| {
            t.covering(&asking.key, asking.content.as_ref(), "acc", scopes, 0)
        };
        assert_eq!(check(app("/a", Some("aa")), &scopes), Coverage::Covered(1));
        let Coverage::Changed(change) = check(app("/a", Some("bb")), &scopes) else {
            panic!("other bytes at the same path are covered")
        };
        assert_eq!((change.grant, change.allowed_at), (1, 1));
        assert_eq!(change.parts, [ChangedPart::Executable]);
        assert_eq!(change.allowed, app("/a", Some("aa")).content.unwrap());
        // No grant at all for those scopes: nothing changed, nothing covers.
        assert_eq!(check(app("/a", Some("bb")), &v(&["email"])), Coverage::None);
        // A grant from before content was recorded binds to what asks now.
        t.insert(grant(2, app("/b", None), &["openid"]));
        let Coverage::Moved { grant, update } = check(app("/b", Some("cc")), &scopes) else {
            panic!("an old grant is bound at its first use")
        };
        assert_eq!((grant.id, update.reason), (2, UpdateReason::FirstUse));
        // The in-process app (no files): the key decides.
        assert_eq!(check(app("/a", None), &scopes), Coverage::Covered(1));
    }

    #[test]
    fn a_lapsed_grant_covers_nothing_and_is_taken_by_the_sweep() {
        let mut timed = grant(1, app("/a", None), &["openid"]);
        timed.expires_at = Some(100);
        let mut locked = grant(2, app("/b", None), &["openid"]);
        locked.until_lock = true;
        let forever = grant(3, app("/c", None), &["openid"]);
        let t = GrantTable::new(vec![timed, locked, forever]);
        let s = v(&["openid"]);
        assert_eq!(t.next_expiry(), Some(100));
        assert_eq!(t.covering("/a", None, "acc", &s, 99).covered(), Some(1), "until its end");
        assert_eq!(
            t.covering("/a", None, "acc", &s, 100).covered(),
            None,
            "not from its end on, swept or not"
        );
        assert_eq!(t.default_scopes("/a", "acc", 100), None, "nor does it decide scopes");
        assert!(t.granted_accounts("/a", ["acc"], 100).is_empty());
        assert_eq!(t.granted_accounts("/b", ["acc", "other"], 100), ["acc"]);

        assert!(t.take_lapsed(99, false).is_empty());
        let gone: Vec<i64> = t.take_lapsed(100, false).iter().map(|g| g.id).collect();
        assert_eq!(gone, [1]);
        assert_eq!(t.next_expiry(), None);
        assert_eq!(
            t.covering("/b", None, "acc", &s, i64::MAX).covered(),
            Some(2),
            "until the screen locks"
        );
        let gone: Vec<i64> = t.take_lapsed(i64::MAX - 1, true).iter().map(|g| g.id).collect();
        assert_eq!(gone, [2], "the lock ends it; forever stays");
        assert_eq!(t.list().iter().map(|g| g.id).collect::<Vec<_>>(), [3]);
    }
}
