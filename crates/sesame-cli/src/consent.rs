//! The consent commands: answer waiting requests, list and revoke grants, read the log.

use sesame_ipc::consent::{ActivityListParams, Decision, GrantsRevokeParams};
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
        Command::Approve { id, remember } => {
            let decision = if remember { Decision::ApproveAlways } else { Decision::ApproveOnce };
            client.answer(id, decision).await?;
            println!(
                "Approved request {id}{}.",
                if remember { " and remembered the grant" } else { " once" }
            );
        }
        Command::Deny { id } => {
            client.answer(id, Decision::Deny).await?;
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

fn join(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}
