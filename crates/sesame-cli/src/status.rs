//! `sesame reload` and `sesame status`.

use sesame_ipc::admin::{ReloadResult, StatusResult};
use sesame_ipc::methods as m;
use sesame_ipc::protocol::{AccountStatus, Empty};
use sesame_ipc::{Client, ClientError};

use crate::display::{table, utc};

pub async fn reload(client: &mut Client) -> anyhow::Result<()> {
    let result = client.request::<m::ConfigReload>(&Empty {}).await?;
    print!("{}", reload_words(&result));
    Ok(())
}

fn reload_words(r: &ReloadResult) -> String {
    let mut out = format!("Reloaded {}", r.config_file);
    let list = |ids: &[String]| ids.join(", ");
    let mut parts = Vec::new();
    if !r.added.is_empty() {
        parts.push(format!("added {}", list(&r.added)));
    }
    if !r.removed.is_empty() {
        parts.push(format!(
            "removed {} (their accounts are kept, marked \"provider removed\", until you sign them out)",
            list(&r.removed)
        ));
    }
    if !r.changed.is_empty() {
        parts.push(format!("changed {} (the next sign-in and refresh use it)", list(&r.changed)));
    }
    if parts.is_empty() {
        out.push_str(": no provider changed.\n");
    } else {
        out.push_str(&format!(": {}.\n", parts.join("; ")));
    }
    if !r.tokens_dropped.is_empty() {
        out.push_str(&format!(
            "The issuer or client id of {} changed: their cached access tokens were dropped.\n",
            list(&r.tokens_dropped)
        ));
    }
    for setting in &r.restart_needed {
        out.push_str(&format!(
            "{setting} changed: restart the broker for it to take effect (the old value stays until then).\n"
        ));
    }
    out
}

/// `sesame status` when nothing answers on the socket.
pub fn not_running(e: ClientError) -> anyhow::Error {
    match e {
        ClientError::Connect { path, cause } => anyhow::anyhow!(
            "the Sesame broker is not running (nothing answers at {}: {cause}); start it with `sesame daemon`, or start the Sesame app",
            path.display()
        ),
        e => e.into(),
    }
}

pub async fn status(client: &mut Client, json: bool) -> anyhow::Result<()> {
    let status = client.request::<m::BrokerStatus>(&Empty {}).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", status_words(&status, sesame_core::now_unix()));
    }
    Ok(())
}

fn status_words(s: &StatusResult, now: i64) -> String {
    let mut out = format!(
        "Broker {} running since {} ({}).\n",
        s.broker,
        utc(s.started_at),
        ago(now - s.started_at)
    );
    match (&s.config_file, &s.reload_failure) {
        (_, Some(f)) => out.push_str(&format!(
            "Config: the last reload ({}) failed, so the config before it is in force: {}\n",
            utc(f.at),
            f.message
        )),
        (Some(path), None) => out.push_str(&format!("Config: {path} (in force).\n")),
        (None, None) => {}
    }
    out.push_str("\nAccounts:\n");
    if s.accounts.is_empty() {
        out.push_str("  none yet; add one with `sesame login <provider>`\n");
    } else {
        let rows: Vec<Vec<String>> = s
            .accounts
            .iter()
            .map(|a| {
                let state = match a.status {
                    AccountStatus::Active => "active",
                    AccountStatus::ReauthRequired => "re-auth needed",
                    AccountStatus::ProviderRemoved => "provider removed from config",
                };
                let cached = if a.cached.is_empty() {
                    "none".to_owned()
                } else {
                    let each: Vec<String> = a
                        .cached
                        .iter()
                        .map(|t| format!("{} (expires {})", t.scopes, in_time(t.expires_at - now)))
                        .collect();
                    each.join("; ")
                };
                vec![a.id.clone(), a.display_name.clone(), state.into(), cached]
            })
            .collect();
        out.push_str(&indent(&table(&["ID", "WHO", "STATE", "CACHED TOKENS (EXPIRE)"], &rows)));
    }
    out.push_str("\nWaiting for your answer:\n");
    if s.pending.is_empty() {
        out.push_str("  nothing\n");
    }
    for p in &s.pending {
        out.push_str(&format!(
            "  {}: {} asks for {} ({}), gives up {}; `sesame approve {}` or `sesame deny {}`\n",
            p.id,
            p.app,
            p.account,
            p.scopes,
            in_time(p.expires_at - now),
            p.id,
            p.id
        ));
    }
    out.push_str(&format!("\nGrants that lapse within {}:\n", duration(s.lapse_window)));
    if s.lapsing.is_empty() {
        out.push_str("  none\n");
    }
    for g in &s.lapsing {
        out.push_str(&format!(
            "  grant {}: {} for {} ({}), lapses {}\n",
            g.id,
            g.app,
            g.account,
            g.scopes,
            in_time(g.expires_at - now)
        ));
    }
    out
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

fn in_time(secs: i64) -> String {
    if secs <= 0 {
        "now".into()
    } else {
        format!("in {}", duration(secs))
    }
}

fn ago(secs: i64) -> String {
    format!("{} ago", duration(secs.max(0)))
}

/// A few words for a span: "45 s", "12 min", "3 h 5 min", "2 d 4 h".
fn duration(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => match s % 3600 / 60 {
            0 => format!("{} h", s / 3600),
            m => format!("{} h {m} min", s / 3600),
        },
        s => match s % 86_400 / 3600 {
            0 => format!("{} d", s / 86_400),
            h => format!("{} d {h} h", s / 86_400),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_words() {
        assert_eq!(duration(5), "5 s");
        assert_eq!(duration(720), "12 min");
        assert_eq!(duration(3600 * 3 + 300), "3 h 5 min");
        assert_eq!(duration(86_400), "1 d");
        assert_eq!(in_time(-3), "now");
    }

    #[test]
    fn a_reload_says_what_changed_and_what_waits_for_a_restart() {
        let r = ReloadResult {
            config_file: "/c.toml".into(),
            added: vec!["new".into()],
            removed: vec!["old".into()],
            changed: vec![],
            tokens_dropped: vec![],
            restart_needed: vec!["activity_max_rows".into()],
        };
        let words = reload_words(&r);
        assert!(words.starts_with("Reloaded /c.toml: added new; removed old"), "{words}");
        assert!(words.contains("activity_max_rows changed: restart"), "{words}");
        assert_eq!(reload_words(&ReloadResult::default()), "Reloaded : no provider changed.\n");
    }
}
