//! Benchmark (not a test): what 100 000 refused management calls leave in the activity log
//! (`activity_max_rows` at its default, 100 000). Prints a table for docs/reliability.md.
//! This process is the hostile program: it is not one of Sesame's binaries, so every call is
//! refused; one hand-out to it is logged first.
//!
//!   cargo build -p sesame-cli -p sesame-e2e     (the row counts do not depend on the profile)
//!   target/debug/sesame-bench-refusals [calls]
//!
//! `SESAME_BIN=<an older sesame>` measures an older broker the same way.

use std::process::Command;
use std::time::Instant;

use sesame_e2e::{Env, Options};
use sesame_ipc::methods::{Access, MethodId};
use sesame_ipc::protocol::TokenGetParams;
use sesame_ipc::Client;

const CONNECTIONS: usize = 4;

fn main() {
    let calls: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let management: Vec<&'static str> = MethodId::ALL
        .iter()
        .filter(|m| m.access() == Access::SesameOnly)
        .map(|m| m.name())
        .collect();

    println!("Sesame refusal flood ({calls} refused calls from one program, {CONNECTIONS} connections, activity_max_rows = 100 000)");
    println!();
    println!("| flood | rows in the log | refusal rows | refusals counted | hand-out still logged | calls/s |");
    println!("|---|---|---|---|---|---|");
    for (label, methods) in [
        ("`pending.list` only", vec!["pending.list"]),
        ("every Sesame-only method in turn", management.clone()),
    ] {
        let env = Env::start(Options::default());
        let account = env.login("alice");
        let me = std::fs::canonicalize(std::env::current_exe().unwrap()).unwrap();
        env.with_consent(me.to_str().unwrap(), || rt.block_on(hand_out(&env, &account)));

        let started = Instant::now();
        let tasks: Vec<_> = (0..CONNECTIONS)
            .map(|c| {
                let (socket, methods) = (env.socket.clone(), methods.clone());
                rt.spawn(async move {
                    let mut client = Client::connect(&socket).await.unwrap();
                    for i in (c..calls).step_by(CONNECTIONS) {
                        let method = methods[i % methods.len()];
                        let refused = client
                            .call::<_, serde_json::Value>(method, &serde_json::json!({}))
                            .await;
                        let kind = refused.err().and_then(|e| e.kind());
                        assert_eq!(kind, Some(sesame_ipc::ErrorKind::Forbidden), "{method}");
                        // A refused subscription closes its connection: open another.
                        if method == sesame_ipc::protocol::method::EVENTS_SUBSCRIBE {
                            client = Client::connect(&socket).await.unwrap();
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            rt.block_on(t).unwrap();
        }
        let rate = calls as f64 / started.elapsed().as_secs_f64();
        // Through the CLI, which also waits for the writer (`activity.list` flushes first).
        env.manage_ok(&["activity", "--limit", "1"]);
        let db = env.dir.join("data/sesame/sesame.db");
        let count = |sql: &str| query(&db, sql);
        println!(
            "| {label} | {} | {} | {} | {} | {rate:.0} |",
            count("SELECT count(*) FROM activity"),
            count("SELECT count(*) FROM activity WHERE event = 'refused'"),
            count("SELECT coalesce(sum(count), 0) FROM activity WHERE event = 'refused'"),
            if count("SELECT count(*) FROM activity WHERE event = 'handed_out'") == "0" {
                "no"
            } else {
                "yes"
            }
        );
    }
}

async fn hand_out(env: &Env, account: &str) {
    let mut client = Client::connect(&env.socket).await.unwrap();
    let params =
        TokenGetParams { account: account.into(), scopes: None, min_ttl: None, wait: None };
    client.token(&params).await.unwrap();
}

/// One number from the broker's database, read with Python's sqlite3 (the e2e package has
/// no SQLite of its own; the log is in WAL mode, so reading beside the broker is fine).
fn query(db: &std::path::Path, sql: &str) -> String {
    let script = "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])";
    let out = Command::new("python3").args(["-c", script]).arg(db).arg(sql).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
