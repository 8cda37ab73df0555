//! The consent commands: answer waiting requests, list and revoke grants, read the log.

use sesame_ipc::consent::{
    ActivityListParams, Answer, Approval, GrantsRevokeParams, PendingAnswerParams,
    MAX_APPROVAL_SECS,
};
use sesame_ipc::Client;

use crate::display;
use crate::Command;

pub async fn run(client: &mut Client, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Pending { json } => {
            let pending = client.pending().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&pending)?);
            } else {
                print!("{}", display::pending_table(&pending));
            }
        }
        Command::Approve { id, remember, for_, until_lock, account } => {
            let approval = match (remember, for_, until_lock) {
                (true, _, _) => Approval::Always,
                (_, Some(secs), _) => Approval::For { secs },
                (_, _, true) => Approval::UntilLock,
                _ => Approval::Once,
            };
            let params = PendingAnswerParams::new(id, Answer::Approve(approval), account.clone());
            client.answer(&params).await?;
            let whose = account.map(|a| format!(" with account {a}")).unwrap_or_default();
            let how = match approval {
                Approval::Once => " once".to_owned(),
                Approval::For { secs } => format!(
                    " and remembered the grant {} (until {})",
                    approval.words(),
                    display::utc_seconds(sesame_core::now_unix().saturating_add(secs as i64))
                ),
                Approval::UntilLock | Approval::Always => {
                    format!(" and remembered the grant {}", approval.words())
                }
            };
            println!("Approved request {id}{whose}{how}.");
        }
        Command::Deny { id } => {
            client.answer(&PendingAnswerParams::new(id, Answer::Deny, None)).await?;
            println!("Denied request {id}.");
        }
        Command::Grants { json } => {
            // Pages come in id order; people read them grouped by program and account.
            let mut grants = client.grants().await?;
            grants.sort_by(|a, b| {
                (&a.app.key, &a.account, a.id).cmp(&(&b.app.key, &b.account, b.id))
            });
            if json {
                println!("{}", serde_json::to_string_pretty(&grants)?);
            } else {
                print!("{}", display::grants_table(&grants));
            }
        }
        Command::Revoke { grant, app } => {
            let revoked = client.revoke(&GrantsRevokeParams { grant, app: app.clone() }).await?;
            match (revoked.len(), app) {
                (0, Some(app)) => anyhow::bail!("{app} has no grants; `sesame grants` lists them"),
                (n, _) => println!(
                    "Revoked {n} grant{}: {}.",
                    if n == 1 { "" } else { "s" },
                    join(&revoked)
                ),
            }
        }
        Command::Activity { json, limit, app } => {
            // The client fetches pages (the broker sends at most 1 000 rows a reply) until
            // it has `limit` rows or the log ends.
            let rows = client.activity(&ActivityListParams { limit: Some(limit), app }).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                print!("{}", display::activity_table(&rows));
            }
        }
        _ => unreachable!("not a consent command"),
    }
    Ok(())
}

/// `--for`: a length such as `90s`, `15m`, `8h`, `2d` or `1h30m`, in seconds (1 s to 7 d).
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let hint = "give a number and a unit, e.g. 90s, 15m, 8h, 2d or 1h30m";
    let (mut total, mut number) = (0u64, String::new());
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => return Err(format!("`{text}` is not a length: `{c}` is no unit; {hint}")),
        };
        let n: u64 = number.parse().map_err(|_| format!("`{text}` is not a length; {hint}"))?;
        total = n.checked_mul(unit).and_then(|s| total.checked_add(s)).unwrap_or(u64::MAX);
        number.clear();
    }
    if !number.is_empty() || (total == 0 && text.trim().is_empty()) {
        return Err(format!("`{text}` has no unit; {hint}"));
    }
    if total == 0 || total > MAX_APPROVAL_SECS {
        return Err(format!(
            "`{text}` is not between 1 second and 7 days; for longer, approve with --remember"
        ));
    }
    Ok(total)
}

fn join(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn lengths_take_s_m_h_d_and_combinations() {
        assert_eq!(parse_duration("2s"), Ok(2));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("8h"), Ok(8 * 3600));
        assert_eq!(parse_duration("2d"), Ok(2 * 86_400));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration(" 7d "), Ok(7 * 86_400), "the longest");
    }

    #[test]
    fn what_is_not_a_length_says_how_to_write_one() {
        for bad in ["", "8", "h", "8x", "1.5h", "-1h", "0s", "8d", "99999999999999999999d"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.contains(&format!("`{bad}`")), "{bad}: {e}");
        }
        assert!(parse_duration("8").unwrap_err().contains("8h"), "it shows an example");
        assert!(parse_duration("8d").unwrap_err().contains("--remember"));
    }
}
