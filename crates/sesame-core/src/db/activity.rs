//! The activity log: every hand-out and decision, bounded by age and row count. A hostile
//! program cannot push the hand-outs out: what it can make the broker write as often as it
//! likes — refusals, and questions withdrawn because it hung up — shares a row per minute,
//! is capped apart from everything else, and goes first when the log is over its size.

use rusqlite::params;
use sesame_ipc::consent::{ActivityEvent, ActivityInfo, AppInfo};
use sesame_ipc::ScopeSet;

use super::{Db, DbError};

/// One program's identical refusals (same app, same detail) or withdrawn questions (same
/// app, account, scopes and detail) within this many seconds of the row's first share the
/// row: `count` goes up, `at` moves on, `first_at` stays.
pub const REFUSAL_WINDOW_SECS: i64 = 60;

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
    /// How many identical events this row stands for (hand-outs under load share a row, so
    /// do a program's refusals).
    pub count: u64,
    /// When the first of them happened, if before `at`.
    pub first_at: Option<i64>,
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
            first_at: None,
        }
    }

    /// A row an identified program can make the broker write as often as it likes (a
    /// refusal, a question withdrawn when it hung up): rows of these merge, and are capped
    /// and pruned as refusals. (A peer nobody could identify is not one program, so each
    /// of its refusals keeps a row.)
    pub fn is_program_made(&self) -> bool {
        is_program_made(self.event) && !self.app.is_empty()
    }

    /// What identical rows of [`NewActivity::is_program_made`] have in common.
    pub fn merge_key(&self) -> (String, ActivityEvent, Option<String>, String, String) {
        let (app, account, detail) = (self.app.clone(), self.account.clone(), self.detail.clone());
        (app, self.event, account, self.scopes.to_string(), detail)
    }

    /// Counts `other` (the same event again) on this row.
    pub fn absorb(&mut self, other: &NewActivity) {
        let first = self.first_at.unwrap_or(self.at).min(other.first_at.unwrap_or(other.at));
        self.count += other.count;
        self.at = self.at.max(other.at);
        self.first_at = (first < self.at).then_some(first);
    }
}

/// How much of the log may be refusals, and how big it may get.
#[derive(Debug, Clone, Copy)]
pub struct RowLimits {
    /// All rows (`activity_max_rows`).
    pub max_rows: u64,
    /// Refusal rows, within `max_rows`.
    pub max_refusals: u64,
}

impl Db {
    /// Appends rows in one transaction (the writer task batches them). A program's refusal
    /// is counted on its row of the last [`REFUSAL_WINDOW_SECS`] when there is one.
    pub fn append_activity(&self, rows: &[NewActivity]) -> Result<(), DbError> {
        self.with(|c| {
            let tx = c.transaction()?;
            {
                let mut merge = tx.prepare_cached(
                    "UPDATE activity SET count = count + ?1, at = max(at, ?2),
                            first_at = nullif(min(coalesce(first_at, at), ?3), max(at, ?2))
                     WHERE id = (SELECT id FROM activity
                                 WHERE app = ?4 AND event = ?7 AND detail = ?5
                                   AND account IS ?8 AND scopes = ?9
                                   AND coalesce(first_at, at) > ?6
                                 ORDER BY id DESC LIMIT 1)",
                )?;
                let mut insert = tx.prepare_cached(
                    "INSERT INTO activity (at, event, app, app_name, account, scopes, detail, count, first_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?;
                for r in rows {
                    if r.is_program_made() {
                        let first = r.first_at.unwrap_or(r.at);
                        let window = r.at - REFUSAL_WINDOW_SECS;
                        let merged = merge.execute(params![
                            r.count as i64,
                            r.at,
                            first,
                            r.app,
                            r.detail,
                            window,
                            event_str(r.event),
                            r.account,
                            r.scopes.to_string(),
                        ])?;
                        if merged > 0 {
                            continue;
                        }
                    }
                    insert.execute(params![r.at, event_str(r.event), r.app, r.app_name, r.account, r.scopes.to_string(), r.detail, r.count as i64, r.first_at])?;
                }
            }
            tx.commit()
        })
    }

    /// Newest first, older than `before` (an id) if given. `app` matches a key exactly, or
    /// a substring of the key or name.
    pub fn activity(
        &self,
        limit: u32,
        app: Option<&str>,
        before: Option<i64>,
    ) -> Result<Vec<ActivityInfo>, DbError> {
        self.with(|c| {
            let Some(text) = app else {
                let mut stmt = c.prepare_cached(&format!(
                    "{SELECT_ACTIVITY} WHERE (?1 IS NULL OR id < ?1) ORDER BY id DESC LIMIT ?2"
                ))?;
                let rows = stmt.query_map(params![before, limit], row_to_activity)?;
                return rows.collect();
            };
            // Which programs match (a few rows), then the newest `limit` rows of each
            // through the index on `app`, merged.
            let mut matching: Vec<(String, Option<Vec<String>>)> = vec![];
            {
                let mut stmt = c.prepare_cached(
                    "SELECT app, app_name FROM activity_apps
                     WHERE app = ?1 OR instr(app, ?1) > 0 OR instr(app_name, ?1) > 0
                     ORDER BY app",
                )?;
                let pairs = stmt.query_map([text], |r| Ok((r.get(0)?, r.get(1)?)))?;
                for pair in pairs {
                    let (key, name): (String, String) = pair?;
                    // The key itself matches: every row of it does, whatever its name.
                    let names = (!key.contains(text)).then(|| vec![name]);
                    match matching.last_mut() {
                        Some((k, Some(ns))) if *k == key => ns.extend(names.into_iter().flatten()),
                        Some((k, None)) if *k == key => {}
                        _ => matching.push((key, names)),
                    }
                }
            }
            let mut by_key = c.prepare_cached(&format!(
                "{SELECT_ACTIVITY} WHERE app = ?1 AND (?2 IS NULL OR app_name = ?2)
                   AND (?3 IS NULL OR id < ?3) ORDER BY id DESC LIMIT ?4"
            ))?;
            let mut found = vec![];
            for (key, names) in &matching {
                let names: Vec<Option<&str>> = match names {
                    None => vec![None],
                    Some(ns) => ns.iter().map(|n| Some(n.as_str())).collect(),
                };
                for name in names {
                    let rows =
                        by_key.query_map(params![key, name, before, limit], row_to_activity)?;
                    for row in rows {
                        found.push(row?);
                    }
                }
            }
            found.sort_by_key(|r| std::cmp::Reverse(r.id));
            found.truncate(limit as usize);
            Ok(found)
        })
    }

    /// Deletes rows older than `before`, refusals (with withdrawn questions: what programs
    /// can make the broker write at will) beyond `limits.max_refusals`, then, while the log
    /// is over `limits.max_rows`, the oldest of those before anything else and only then
    /// the oldest other rows. Returns how many rows went.
    pub fn prune_activity(&self, before: i64, limits: RowLimits) -> Result<usize, DbError> {
        self.with(|c| {
            let tx = c.transaction()?;
            let old = tx.execute("DELETE FROM activity WHERE at < ?1", [before])?;
            let refusals = tx.execute(
                "DELETE FROM activity WHERE event IN ('refused', 'withdrawn') AND id <= (SELECT id FROM activity WHERE event IN ('refused', 'withdrawn') ORDER BY id DESC LIMIT 1 OFFSET ?1)",
                [limits.max_refusals as i64],
            )?;
            let total: i64 = tx.query_row("SELECT count(*) FROM activity", [], |r| r.get(0))?;
            let mut over = (total - limits.max_rows as i64).max(0);
            let mut squeezed = 0;
            for only_refusals in [true, false] {
                if over == 0 {
                    break;
                }
                let n = tx.execute(
                    "DELETE FROM activity WHERE id IN (SELECT id FROM activity WHERE (?1 = 0 OR event IN ('refused', 'withdrawn')) ORDER BY id LIMIT ?2)",
                    params![only_refusals, over],
                )?;
                over -= n as i64;
                squeezed += n;
            }
            // Programs with no row left go from the filter's table too.
            tx.execute(
                "DELETE FROM activity_apps WHERE NOT EXISTS (SELECT 1 FROM activity a
                 WHERE a.app = activity_apps.app AND a.app_name = activity_apps.app_name)",
                [],
            )?;
            tx.commit()?;
            Ok(old + refusals + squeezed)
        })
    }
}

/// The events of [`NewActivity::is_program_made`] rows (the SQL above spells them too).
fn is_program_made(event: ActivityEvent) -> bool {
    matches!(event, ActivityEvent::Refused | ActivityEvent::Withdrawn)
}

const SELECT_ACTIVITY: &str =
    "SELECT id, at, event, app, app_name, account, scopes, detail, count, first_at FROM activity";

fn row_to_activity(r: &rusqlite::Row<'_>) -> rusqlite::Result<ActivityInfo> {
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
        first_at: r.get(9)?,
    })
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
            first_at: None,
        }
    }

    fn limits(max_rows: u64, max_refusals: u64) -> RowLimits {
        RowLimits { max_rows, max_refusals }
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
        let all = db.activity(100, None, None).unwrap();
        assert_eq!(all.len(), 10);
        assert_eq!(all[0].at, 9, "newest first");
        assert_eq!(all[0].event, ActivityEvent::Denied);
        assert_eq!(db.activity(3, None, None).unwrap().len(), 3);
        assert_eq!(db.activity(100, Some("/usr/bin/a"), None).unwrap().len(), 5);
        assert_eq!(db.activity(100, Some("bin/b"), None).unwrap().len(), 5);
        assert_eq!(db.prune_activity(2, limits(100, 100)).unwrap(), 2, "older than 2");
        assert_eq!(db.prune_activity(0, limits(5, 5)).unwrap(), 3, "keep the newest 5");
        let left = db.activity(100, None, None).unwrap();
        assert_eq!((left.len(), left.last().unwrap().at), (5, 5));
    }

    /// The filter reads only the matching programs' rows, and finds what testing every row
    /// for the substring finds: by key, by name (a program seen under two names matches
    /// only on its rows with the matching name), paged, and after a prune.
    #[test]
    fn filtered_listing_finds_what_a_scan_of_every_row_finds() {
        let db = Db::open_in_memory().unwrap();
        let named = |at: i64, app: &str, name: &str| NewActivity {
            app_name: name.into(),
            ..row(at, ActivityEvent::HandedOut, app)
        };
        let rows: Vec<_> = std::iter::once(named(-1, "/usr/bin/old", "old"))
            .chain((0..60).map(|i| match i % 4 {
                0 => named(i, "/usr/bin/git", "git"),
                1 => named(i, "/usr/bin/msmtp", "msmtp"),
                2 => named(i, "/opt/tool", "tool"),
                _ => named(i, "/opt/tool", "renamed git helper"),
            }))
            .collect();
        db.append_activity(&rows).unwrap();
        let scan = |text: &str, before: i64| -> Vec<i64> {
            let mut ats: Vec<i64> = rows
                .iter()
                .filter(|r| r.at < before && (r.app.contains(text) || r.app_name.contains(text)))
                .map(|r| r.at)
                .collect();
            ats.reverse();
            ats
        };
        for text in ["git", "/usr/bin/git", "tool", "opt", "renamed", "t", "old", "nothing", ""] {
            let all: Vec<i64> =
                db.activity(1000, Some(text), None).unwrap().iter().map(|r| r.at).collect();
            assert_eq!(all, scan(text, i64::MAX), "filter {text:?}");
            // Paged by the id cursor, five at a time: the same rows in the same order.
            let (mut paged, mut before) = (vec![], None);
            loop {
                let page = db.activity(5, Some(text), before).unwrap();
                let Some(last) = page.last() else { break };
                before = Some(last.id);
                paged.extend(page.iter().map(|r| r.at));
            }
            assert_eq!(paged, all, "filter {text:?}, paged");
        }
        // Rows older than 40 go, with the only row of /usr/bin/old: its entry in the
        // filter's table goes with it.
        db.prune_activity(40, limits(1000, 1000)).unwrap();
        assert!(db.activity(100, Some("old"), None).unwrap().is_empty());
        assert_eq!(
            db.activity(100, Some("git"), None).unwrap().iter().map(|r| r.at).collect::<Vec<_>>(),
            scan("git", i64::MAX).into_iter().filter(|at| *at >= 40).collect::<Vec<_>>()
        );
        let apps: i64 = db
            .with(|c| c.query_row("SELECT count(*) FROM activity_apps", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(apps, 4, "git, msmtp, and the tool under its two names");
    }

    #[test]
    fn pages_follow_the_cursor_without_gaps_or_repeats() {
        let db = Db::open_in_memory().unwrap();
        let rows: Vec<_> = (0..25).map(|i| row(i, ActivityEvent::HandedOut, "/a")).collect();
        db.append_activity(&rows).unwrap();
        let mut seen = vec![];
        let mut before = None;
        loop {
            let page = db.activity(10, None, before).unwrap();
            let Some(last) = page.last() else { break };
            before = Some(last.id);
            seen.extend(page.iter().map(|r| r.at));
        }
        assert_eq!(seen, (0..25).rev().collect::<Vec<_>>());
    }

    #[test]
    fn a_programs_refusals_share_a_row_per_window_and_unidentified_peers_do_not() {
        let db = Db::open_in_memory().unwrap();
        let refused = |at: i64, app: &str, detail: &str| NewActivity {
            detail: detail.into(),
            account: None,
            ..row(at, ActivityEvent::Refused, app)
        };
        db.append_activity(&[refused(100, "/evil", "management call pending.list")]).unwrap();
        db.append_activity(&[
            refused(130, "/evil", "management call pending.list"),
            refused(131, "/evil", "management call grants.list"),
            refused(131, "", "uid 65534, pid 7: no"),
            refused(132, "", "uid 65534, pid 7: no"),
        ])
        .unwrap();
        // A minute after the row's first refusal, a new row starts.
        db.append_activity(&[refused(161, "/evil", "management call pending.list")]).unwrap();
        let rows = db.activity(100, None, None).unwrap();
        let summary: Vec<(&str, &str, u64, i64, Option<i64>)> = rows
            .iter()
            .map(|r| (r.app.as_str(), r.detail.as_str(), r.count, r.at, r.first_at))
            .collect();
        assert_eq!(
            summary,
            [
                ("/evil", "management call pending.list", 1, 161, None),
                ("", "uid 65534, pid 7: no", 1, 132, None),
                ("", "uid 65534, pid 7: no", 1, 131, None),
                ("/evil", "management call grants.list", 1, 131, None),
                ("/evil", "management call pending.list", 2, 130, Some(100)),
            ]
        );
    }

    #[test]
    fn a_programs_withdrawn_questions_share_a_row_and_go_with_the_refusals() {
        let db = Db::open_in_memory().unwrap();
        let withdrawn = |at: i64, account: &str| NewActivity {
            detail: "the program closed its connection".into(),
            account: Some(account.into()),
            ..row(at, ActivityEvent::Withdrawn, "/churn")
        };
        let mut rows = vec![row(1, ActivityEvent::HandedOut, "/app")];
        rows.extend((0..50).map(|i| withdrawn(10 + i % 3, "a")));
        rows.push(withdrawn(12, "b"));
        db.append_activity(&rows).unwrap();
        db.append_activity(&[withdrawn(20, "a")]).unwrap();
        let summary: Vec<(ActivityEvent, Option<String>, u64)> = db
            .activity(100, None, None)
            .unwrap()
            .into_iter()
            .map(|r| (r.event, r.account, r.count))
            .collect();
        assert_eq!(
            summary,
            [
                (ActivityEvent::Withdrawn, Some("b".into()), 1),
                (ActivityEvent::Withdrawn, Some("a".into()), 51),
                (ActivityEvent::HandedOut, Some("a".into()), 1),
            ],
            "one row per program and account a minute; other accounts apart"
        );
        // Capped with the refusals, and pruned before the hand-out.
        db.prune_activity(0, limits(100, 1)).unwrap();
        assert_eq!(db.activity(100, None, None).unwrap().len(), 2);
        db.prune_activity(0, limits(1, 1)).unwrap();
        let left = db.activity(100, None, None).unwrap();
        assert_eq!(left.iter().map(|r| r.event).collect::<Vec<_>>(), [ActivityEvent::HandedOut]);
    }

    #[test]
    fn refusals_are_capped_apart_and_pruned_before_hand_outs_and_decisions() {
        let db = Db::open_in_memory().unwrap();
        let mut rows = vec![
            row(1, ActivityEvent::HandedOut, "/app"),
            row(2, ActivityEvent::Remembered, "/app"),
        ];
        // Distinct details, so nothing merges: the worst case for the log's size.
        for i in 0..50 {
            let mut r = row(3 + i, ActivityEvent::Refused, "/evil");
            r.detail = format!("management call {i}");
            rows.push(r);
        }
        rows.push(row(100, ActivityEvent::Denied, "/app"));
        db.append_activity(&rows).unwrap();
        // 53 rows; at most 10 refusals, then at most 8 rows: the refusals go first.
        db.prune_activity(0, limits(8, 10)).unwrap();
        let left = db.activity(100, None, None).unwrap();
        let events: Vec<ActivityEvent> = left.iter().map(|r| r.event).collect();
        assert_eq!(left.len(), 8);
        assert_eq!(events.iter().filter(|e| **e == ActivityEvent::Refused).count(), 5);
        for kept in [ActivityEvent::HandedOut, ActivityEvent::Remembered, ActivityEvent::Denied] {
            assert!(events.contains(&kept), "{kept:?} kept: {events:?}");
        }
        assert_eq!(left[1].detail, "management call 49", "the newest refusals stay");
        // Over the size with no refusals left: the oldest rows go, as before.
        db.prune_activity(0, limits(2, 0)).unwrap();
        let left = db.activity(100, None, None).unwrap();
        let events: Vec<ActivityEvent> = left.iter().map(|r| r.event).collect();
        assert_eq!(events, [ActivityEvent::Denied, ActivityEvent::Remembered]);
    }
}
