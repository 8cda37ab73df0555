//! Human output: tables and times.

use sesame_ipc::consent::{
    ActivityEvent, ActivityInfo, AppInfo, FileContent, GrantInfo, PendingInfo, ProgramContent,
};
use sesame_ipc::events::BrokerEvent;
use sesame_ipc::protocol::{AccountStatus, ListedAccount};

pub fn accounts_table(accounts: &[ListedAccount]) -> String {
    if accounts.is_empty() {
        return "No accounts yet; add one with `sesame login <provider>`.\n".into();
    }
    let header = ["ID", "PROVIDER", "WHO", "SCOPES", "STATUS", "CREATED", "LAST REFRESH"];
    let rows: Vec<Vec<String>> = accounts
        .iter()
        .map(|a| match a {
            ListedAccount::Complete(a) => vec![
                a.id.clone(),
                a.provider.clone(),
                a.display_name().to_owned(),
                a.scopes.to_string(),
                match a.status {
                    AccountStatus::Active => "active".into(),
                    AccountStatus::ReauthRequired => "re-auth needed".into(),
                    AccountStatus::ProviderRemoved => "provider removed from config".into(),
                },
                utc(a.created_at),
                a.last_refreshed_at.map(utc).unwrap_or_else(|| "-".into()),
            ],
            // The broker did not take this CLI for Sesame's own (a sandboxed copy, say): it
            // shows a program's view, which has no personal data.
            ListedAccount::Granted(a) => {
                let hidden = || "(hidden)".to_owned();
                vec![
                    a.id.clone(),
                    a.provider.clone(),
                    hidden(),
                    a.scopes.to_string(),
                    hidden(),
                    hidden(),
                    hidden(),
                ]
            }
        })
        .collect();
    table(&header, &rows)
}

pub fn pending_table(pending: &[PendingInfo]) -> String {
    if pending.is_empty() {
        return "No requests are waiting.\n".into();
    }
    let header = ["ID", "PROGRAM", "ACCOUNT", "SCOPES", "WAITING", "EXPIRES"];
    let rows: Vec<Vec<String>> = pending
        .iter()
        .map(|p| {
            let who = app(&p.app);
            vec![
                p.id.to_string(),
                who,
                pending_account(p),
                p.scopes.to_string(),
                p.waiting.to_string(),
                utc(p.expires_at),
            ]
        })
        .collect();
    // A program whose files changed since the user allowed it says so, on a line of its own.
    let mut notes = String::new();
    for p in pending {
        if let Some(change) = &p.changed {
            notes += &format!(
                "! {}: {} {} (grant {}, allowed {}); approve only if you changed or updated it yourself.\n",
                p.id,
                p.app.name,
                change.sentence(),
                change.grant,
                utc(change.allowed_at)
            );
        }
    }
    // What the program says the request is for: its word, not the kernel's.
    for p in pending {
        if let Some(repository) = &p.told_repository {
            notes +=
                &format!("  {}: for repository {repository} (as {} tells it)\n", p.id, p.app.name);
        }
    }
    let mut out = table(&header, &rows) + &notes;
    // The truth about what the token carries, where the provider cannot narrow.
    for p in pending.iter().filter(|p| !p.beyond_asked.is_empty()) {
        out += &format!(
            "Request {}: the token will also carry {}, more than the program asked for (this provider gives every token the account's whole grant).\n",
            p.id, p.beyond_asked
        );
    }
    // What does not fit a cell: why a program may not be remembered forever.
    for p in pending {
        if let Some(why) = &p.app.generic {
            out += &format!(
                "Request {} can be approved once or for a time, not forever: {why}.\n",
                p.id
            );
        }
    }
    out += "Answer with `sesame approve <id>` (once), adding `--for 8h`, `--until-lock` or `--remember` to let it ask no more for that long; or `sesame deny <id>`.\n";
    if let Some(p) = pending.iter().find(|p| !p.accounts.is_empty()) {
        let first = p.accounts.first().map_or("<id>", |a| a.id.as_str());
        out += &format!(
            "A request for several accounts needs your choice: `sesame approve {} --account {first}`.\n",
            p.id
        );
    }
    out
}

/// The account a question is about, or the accounts it lets you choose from.
fn pending_account(p: &PendingInfo) -> String {
    if p.accounts.is_empty() {
        return p.account.clone();
    }
    let choices: Vec<String> =
        p.accounts.iter().map(|a| format!("{} ({})", a.id, a.name)).collect();
    format!("choose: {}", choices.join(", "))
}

pub fn grants_table(grants: &[GrantInfo]) -> String {
    if grants.is_empty() {
        return "No program has a grant.\n".into();
    }
    let header =
        ["ID", "PROGRAM", "CONTENT", "ACCOUNT", "SCOPES", "USES", "LAST USE", "GRANTED", "ENDS"];
    let rows: Vec<Vec<String>> = grants
        .iter()
        .map(|g| {
            let last = g.last_used_at.map(utc).unwrap_or_else(|| "-".into());
            vec![
                g.id.to_string(),
                app(&g.app),
                content_words(g.app.content.as_ref()),
                g.account.clone(),
                g.scopes.to_string(),
                g.use_count.to_string(),
                last,
                utc(g.created_at),
                grant_end(g),
            ]
        })
        .collect();
    // A grant the broker moved to new content (an upgrade) says so.
    let mut notes = String::new();
    for g in grants {
        if let Some(update) = g.app.content.as_ref().and_then(|c| c.updated.as_ref()) {
            notes += &format!("! grant {}: {} ({})\n", g.id, update.sentence(), utc(update.at));
        }
    }
    table(&header, &rows) + &notes
}

/// What a grant is bound to, short: packages by name and version, other files by hash.
fn content_words(content: Option<&ProgramContent>) -> String {
    let Some(c) = content else { return "not recorded yet (bound at next use)".into() };
    let file = |f: &FileContent| match &f.package {
        Some(p) => format!("{} {}", p.name, p.version),
        None => format!("sha256 {}…", f.sha256.get(..12).unwrap_or(&f.sha256)),
    };
    let mut parts: Vec<String> = [&c.exe, &c.script].into_iter().flatten().map(file).collect();
    if let Some(f) = &c.flatpak {
        let commit = f.commit.as_deref().map(|c| c.get(..12).unwrap_or(c)).unwrap_or("?");
        parts.push(format!("{} commit {commit}…", f.app));
    }
    parts.join(" + ")
}

/// When a grant ends by itself.
fn grant_end(g: &GrantInfo) -> String {
    match (g.expires_at, g.until_lock) {
        (Some(at), _) => utc_seconds(at),
        (None, true) => "when the screen locks".into(),
        (None, false) => "when revoked".into(),
    }
}

pub fn activity_table(rows: &[ActivityInfo]) -> String {
    if rows.is_empty() {
        return "Nothing has happened yet.\n".into();
    }
    let header = ["WHEN", "EVENT", "PROGRAM", "ACCOUNT", "SCOPES", "DETAIL"];
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut event = serde_json::to_value(r.event)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            if r.count > 1 {
                event = format!("{event} ×{}", r.count);
            }
            let account_event = matches!(
                r.event,
                ActivityEvent::SignedIn | ActivityEvent::SignedOut | ActivityEvent::ReauthNeeded
            );
            let who = if account_event {
                "-".into()
            } else if r.app.is_empty() {
                "(unidentified)".into()
            } else {
                format!("{} ({})", r.app_name, r.app)
            };
            // A row for many events spread over time (refusals) says from when to when.
            let when = match r.first_at {
                Some(first) if utc(first) != utc(r.at) => format!("{} … {}", utc(first), utc(r.at)),
                _ => utc(r.at),
            };
            vec![
                when,
                event,
                who,
                r.account.clone().unwrap_or_default(),
                r.scopes.to_string(),
                r.detail.clone(),
            ]
        })
        .collect();
    table(&header, &rows)
}

/// A program for people: its name, what it is, whether it is sandboxed, and how it asked
/// when that was through the CLI ("msmtp (/usr/bin/msmtp) via dash -c → sesame token").
fn app(a: &AppInfo) -> String {
    let sandbox = if a.sandboxed { ", sandboxed" } else { "" };
    let via = match a.chain.get(1..) {
        Some(rest) if !rest.is_empty() => format!(" via {}", rest.join(" → ")),
        _ => String::new(),
    };
    format!("{} ({}{sandbox}){via}", a.name, a.key)
}

pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `YYYY-MM-DD HH:MM UTC` from Unix seconds (Howard Hinnant's civil-from-days).
pub fn utc(ts: i64) -> String {
    let (days, secs) = (ts.div_euclid(86_400), ts.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", secs / 3600, secs % 3600 / 60)
}

/// [`utc`] with the seconds: a grant for a few seconds ends within the minute it was made.
pub fn utc_seconds(ts: i64) -> String {
    let minute = utc(ts);
    let secs = format!(":{:02} UTC", ts.rem_euclid(60));
    minute.strip_suffix(" UTC").map_or(minute.clone(), |m| format!("{m}{secs}"))
}

/// One line per event, for `sesame events`.
pub fn event_line(event: &BrokerEvent) -> String {
    match event {
        BrokerEvent::PendingAdded { id, app_name, account } => {
            format!("pending {id}: {app_name} asks for a token for {account}; answer with `sesame approve {id}` or `sesame deny {id}`")
        }
        BrokerEvent::PendingResolved { id } => format!("pending {id}: answered or expired"),
        BrokerEvent::ReauthRequired { account, provider, why } => {
            format!(
                "reauth_required {account}: {why}; sign in again with `sesame login {provider}`"
            )
        }
        BrokerEvent::AccountsChanged => "accounts changed".into(),
        BrokerEvent::GrantsChanged => "grants changed".into(),
        BrokerEvent::ConfigReloaded { ok: true } => "config reloaded".into(),
        BrokerEvent::ConfigReloaded { ok: false } => {
            "config reload failed; the previous config stays in force (`sesame status` says why)"
                .into()
        }
        BrokerEvent::Lagged { missed } => {
            format!("missed {missed} events (this reader fell behind)")
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::utc(1_795_824_000), "2026-11-28 00:00 UTC");
        assert_eq!(super::utc(951_782_400 + 3_661), "2000-02-29 01:01 UTC");
        assert_eq!(super::utc_seconds(951_782_400 + 3_661), "2000-02-29 01:01:01 UTC");
    }

    #[test]
    fn pending_shows_the_chain_and_why_a_program_is_generic() {
        use sesame_ipc::consent::{AppInfo, PendingInfo};
        let app = |key: &str, chain: &[&str], generic: Option<&str>| AppInfo {
            key: key.into(),
            name: key.rsplit('/').next().unwrap().into(),
            exe: key.into(),
            script: None,
            icon: None,
            flatpak_app: None,
            sandboxed: false,
            chain: chain.iter().map(|c| c.to_string()).collect(),
            generic: generic.map(str::to_owned),
            content: None,
        };
        let pending = |id, app| PendingInfo {
            id,
            app,
            via_cli: true,
            pid: 42,
            account: "local-1".into(),
            scopes: Default::default(),
            beyond_asked: Default::default(),
            waiting: 1,
            created_at: 0,
            expires_at: 120,
            changed: None,
            accounts: vec![],
            told_repository: None,
        };
        let table = super::pending_table(&[
            pending(3, app("/usr/bin/msmtp", &["msmtp", "dash -c", "sesame token"], None)),
            pending(
                4,
                app(
                    "/usr/bin/bash",
                    &["bash (interactive)", "sesame token"],
                    Some("`bash (interactive)` is an interactive shell"),
                ),
            ),
        ]);
        assert!(table.contains("msmtp (/usr/bin/msmtp) via dash -c → sesame token"), "{table}");
        assert!(table.contains("bash (/usr/bin/bash) via sesame token"), "{table}");
        assert!(
            table.contains("Request 4 can be approved once or for a time, not forever: `bash (interactive)` is an interactive shell.\n"),
            "{table}"
        );
        assert!(!table.contains("Request 3 can"), "{table}");
    }

    #[test]
    fn a_row_of_many_refusals_shows_the_count_and_the_span() {
        use sesame_ipc::consent::{ActivityEvent, ActivityInfo};
        let row = ActivityInfo {
            id: 7,
            at: 1_795_824_000 + 59,
            event: ActivityEvent::Refused,
            app: "/tmp/evil".into(),
            app_name: "evil".into(),
            account: None,
            scopes: Default::default(),
            detail: "management call pending.list".into(),
            count: 6000,
            first_at: Some(1_795_824_000 - 60),
        };
        let table = super::activity_table(&[row]);
        assert!(table.contains("refused ×6000"), "{table}");
        assert!(table.contains("2026-11-27 23:59 UTC … 2026-11-28 00:00 UTC"), "{table}");
    }

    #[test]
    fn a_changed_program_and_a_moved_grant_say_so() {
        use sesame_ipc::consent::*;
        let content = |sha: &str, version: Option<&str>| ProgramContent {
            exe: Some(FileContent {
                sha256: sha.repeat(32),
                package: version.map(|v| Package { name: "msmtp".into(), version: v.into() }),
            }),
            ..Default::default()
        };
        let app = AppInfo {
            key: "/usr/bin/msmtp".into(),
            name: "msmtp".into(),
            exe: "/usr/bin/msmtp".into(),
            script: None,
            icon: None,
            flatpak_app: None,
            sandboxed: false,
            content: Some(content("bb", None)),
            chain: vec![],
            generic: None,
        };
        let pending = PendingInfo {
            id: 4,
            app: app.clone(),
            via_cli: false,
            pid: 1,
            account: "local-1".into(),
            scopes: Default::default(),
            beyond_asked: Default::default(),
            waiting: 1,
            created_at: 0,
            expires_at: 60,
            changed: Some(ContentChange {
                grant: 2,
                allowed_at: 1_795_824_000,
                parts: vec![ChangedPart::Executable],
                allowed: content("aa", None),
            }),
            accounts: vec![],
            told_repository: None,
        };
        let table = super::pending_table(std::slice::from_ref(&pending));
        assert!(!table.contains("more than the program asked for"), "{table}");
        use sesame_ipc::ScopeSet;
        let wider = PendingInfo {
            id: 5,
            scopes: ScopeSet::parse("repo read:org"),
            beyond_asked: ScopeSet::parse("read:org"),
            ..pending.clone()
        };
        let marked = super::pending_table(&[wider]);
        assert!(
            marked.contains(
                "Request 5: the token will also carry read:org, more than the program asked for"
            ),
            "{marked}"
        );
        assert!(
            table.contains("! 4: msmtp changed since you allowed it: the executable differs (grant 2, allowed 2026-11-28 00:00 UTC)"),
            "{table}"
        );
        let mut moved = content("cc", Some("1.8.24-1"));
        moved.updated = Some(ContentUpdate {
            at: 1_795_824_000,
            reason: UpdateReason::PackageUpgrade {
                packages: vec![PackageUpgrade {
                    package: "msmtp".into(),
                    from: "1.8.22-1".into(),
                    to: "1.8.24-1".into(),
                }],
            },
        });
        let grant = |id, content| GrantInfo {
            id,
            app: AppInfo { content, ..app.clone() },
            account: "local-1".into(),
            scopes: Default::default(),
            created_at: 0,
            last_used_at: None,
            use_count: 0,
            expires_at: None,
            until_lock: false,
        };
        let table = super::grants_table(&[grant(2, Some(moved)), grant(3, None)]);
        assert!(table.contains("msmtp 1.8.24-1"), "{table}");
        assert!(table.contains("not recorded yet"), "{table}");
        assert!(
            table.contains(
                "! grant 2: kept after a package upgrade: msmtp upgraded 1.8.22-1 → 1.8.24-1"
            ),
            "{table}"
        );
    }
}
