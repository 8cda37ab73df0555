//! Human output: tables and times.

use sesame_ipc::consent::{ActivityInfo, AppInfo, GrantInfo, PendingInfo};
use sesame_ipc::events::BrokerEvent;
use sesame_ipc::protocol::{AccountInfo, AccountStatus};

pub fn accounts_table(accounts: &[AccountInfo]) -> String {
    if accounts.is_empty() {
        return "No accounts yet; add one with `sesame login <provider>`.\n".into();
    }
    let header = ["ID", "PROVIDER", "WHO", "SCOPES", "STATUS", "CREATED", "LAST REFRESH"];
    let rows: Vec<Vec<String>> = accounts
        .iter()
        .map(|a| {
            vec![
                a.id.clone(),
                a.provider.clone(),
                a.display_name().to_owned(),
                a.scopes.to_string(),
                match a.status {
                    AccountStatus::Active => "active".into(),
                    AccountStatus::ReauthRequired => "re-auth needed".into(),
                },
                utc(a.created_at),
                a.last_refreshed_at.map(utc).unwrap_or_else(|| "-".into()),
            ]
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
                p.account.clone(),
                p.scopes.to_string(),
                p.waiting.to_string(),
                utc(p.expires_at),
            ]
        })
        .collect();
    let mut out = table(&header, &rows);
    // What does not fit a cell: why a program may only be approved once.
    for p in pending {
        if let Some(why) = &p.app.generic {
            out += &format!("Request {} can be approved once, not remembered: {why}.\n", p.id);
        }
    }
    out + "Answer with `sesame approve <id> [--remember]` or `sesame deny <id>`.\n"
}

pub fn grants_table(grants: &[GrantInfo]) -> String {
    if grants.is_empty() {
        return "No program has a grant.\n".into();
    }
    let header = ["ID", "PROGRAM", "ACCOUNT", "SCOPES", "USES", "LAST USE", "GRANTED"];
    let rows: Vec<Vec<String>> = grants
        .iter()
        .map(|g| {
            let last = g.last_used_at.map(utc).unwrap_or_else(|| "-".into());
            vec![
                g.id.to_string(),
                app(&g.app),
                g.account.clone(),
                g.scopes.to_string(),
                g.use_count.to_string(),
                last,
                utc(g.created_at),
            ]
        })
        .collect();
    table(&header, &rows)
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
            let who = if r.app.is_empty() {
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

fn table(header: &[&str], rows: &[Vec<String>]) -> String {
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
        };
        let pending = |id, app| PendingInfo {
            id,
            app,
            via_cli: true,
            pid: 42,
            account: "local-1".into(),
            scopes: Default::default(),
            waiting: 1,
            created_at: 0,
            expires_at: 120,
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
            table.contains("Request 4 can be approved once, not remembered: `bash (interactive)` is an interactive shell.\n"),
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
}
