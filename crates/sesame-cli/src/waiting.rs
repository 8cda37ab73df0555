//! `sesame token` says on the terminal when its request waits for the user's answer, and
//! where to give it. The broker answers `token.get` only at the end, so the CLI asks on a
//! second connection (`pending.list`) once the answer is slow in coming, and speaks only when
//! a question is really there for it: a slow refresh at the provider says nothing.
//!
//! Only when stderr is a terminal: there a person waits and reads it. A program that reads
//! the CLI's stderr (a credential helper's caller, a service log) gets no line that is not
//! an error.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use sesame_ipc::protocol::{TokenGetParams, TokenResult};
use sesame_ipc::{Client, ClientError};

/// How long a reply may take before the CLI looks for a question of its own.
const QUIET: Duration = Duration::from_millis(400);

/// How often it looks again (a question may come after the account is chosen or refreshed).
const LOOK_EVERY: Duration = Duration::from_secs(1);

pub const WAITING_LINE: &str =
    "waiting for your answer in Sesame (the consent window, or `sesame pending`)";

/// `client.token(params)`, with [`WAITING_LINE`] on stderr once while it waits for consent.
pub async fn token(
    client: &mut Client,
    socket: &Path,
    params: &TokenGetParams,
) -> Result<TokenResult, ClientError> {
    if !std::io::stderr().is_terminal() {
        return client.token(params).await;
    }
    let answer = client.token(params);
    tokio::pin!(answer);
    tokio::select! {
        result = &mut answer => return result,
        () = tokio::time::sleep(QUIET) => {}
    }
    let watch = async {
        let ours = ancestors();
        loop {
            if question_waits_for(socket, &ours).await {
                eprintln!("{WAITING_LINE}");
                return;
            }
            tokio::time::sleep(LOOK_EVERY).await;
        }
    };
    tokio::select! {
        result = &mut answer => result,
        () = watch => answer.await,
    }
}

/// Whether the broker holds a question that came through a `sesame` CLI run by one of
/// `ours` (the process the broker attributes the request to is the CLI's nearest
/// non-launcher ancestor, or the CLI itself).
async fn question_waits_for(socket: &Path, ours: &[i32]) -> bool {
    let Ok(mut other) = Client::connect(socket).await else { return false };
    let Ok(pending) = other.pending().await else { return false };
    pending.iter().any(|p| p.via_cli && ours.contains(&p.pid))
}

/// This process and its ancestors, from `/proc` (up to init, at most 64).
fn ancestors() -> Vec<i32> {
    let mut pids = vec![i32::try_from(std::process::id()).unwrap_or(i32::MAX)];
    while pids.len() < 64 {
        let Some(parent) = parent_of(*pids.last().unwrap_or(&1)) else { break };
        if parent <= 1 {
            break;
        }
        pids.push(parent);
    }
    pids
}

fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}
