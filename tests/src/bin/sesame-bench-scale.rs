//! Benchmark (not a test): every list at scale. One user's busy year: 50 accounts, 500
//! grants and 1 M activity rows, put straight into the broker's SQLite file (copies of the
//! rows a real sign-in, consent and hand-out wrote), then every list the CLI and the app's
//! pages show, timed as the user runs them, and the broker's start. Yardstick: the same
//! command against the same broker before the rows were added (one account, one grant, a
//! few activity rows), in the same run. See docs/performance.md.
//!
//!   cargo build --release -p sesame-cli -p sesame-e2e
//!   SESAME_BIN=target/release/sesame target/release/sesame-bench-scale [--rows]
//!
//! The app's pages call the same `Broker` functions in-process (src-tauri/src/commands.rs),
//! without a process start or a socket, so the CLI's figure is an upper bound for them.

use std::time::{Duration, Instant};

use sesame_e2e::{Env, Options};

const ACCOUNTS: u32 = 50;
const APPS_PER_ACCOUNT: u32 = 10;
const ACTIVITY_ROWS: u32 = 1_000_000;
const RUNS: usize = 21;
const GOAL_LIST_MS: f64 = 20.0;
const GOAL_START_MS: f64 = 100.0;

fn main() {
    let rows_only = std::env::args().any(|a| a == "--rows");
    let mut env = Env::start(Options {
        // The broker keeps at most this many rows, this long: a year of 1 M rows must fit.
        top_config: format!(
            "activity_max_rows = {}\nactivity_retention_days = 400\n",
            2 * ACTIVITY_ROWS
        ),
        ..Options::default()
    });
    let account = env.login("alice");
    env.token(&account, &[]);
    // The filtered lists name one of the ten programs the fill makes (`app-7`), and a text
    // no row has.
    let lists = lists();

    let before: Vec<Duration> = lists.iter().map(|(_, args)| cli_p50(&env, args)).collect();
    let start_empty = broker_start(&mut env);

    env.stop_daemon();
    let db = env.dir.join("data/sesame/sesame.db");
    let filled = Instant::now();
    fill(&db);
    let fill_time = filled.elapsed();
    env.start_daemon();
    let start_full = broker_start(&mut env);
    check_counts(&env);
    let after: Vec<Duration> = lists.iter().map(|(_, args)| cli_p50(&env, args)).collect();

    if !rows_only {
        println!(
            "Sesame at scale: {ACCOUNTS} accounts, {} grants, {ACTIVITY_ROWS} activity rows (filled in {:.1} s); p50 of {RUNS} runs of the whole `sesame` process",
            ACCOUNTS * APPS_PER_ACCOUNT,
            fill_time.as_secs_f64()
        );
        println!();
        println!("| figure | sesame | yardstick | ratio | goal | met |");
        println!("|---|---|---|---|---|---|");
    }
    for (((name, _), full), empty) in lists.iter().zip(&after).zip(&before) {
        row(
            &format!("`{name}` at scale (vs. 1 account, 1 grant, few rows)"),
            *full,
            *empty,
            GOAL_LIST_MS,
        );
    }
    row(
        "broker start → socket ready, at scale (vs. nearly empty)",
        start_full,
        start_empty,
        GOAL_START_MS,
    );
}

/// Every list a user looks at: the CLI's, which are the app's pages' calls.
fn lists() -> Vec<(String, Vec<String>)> {
    let of = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
    vec![
        ("sesame accounts".into(), of("accounts --json")),
        ("sesame grants".into(), of("grants --json")),
        ("sesame activity".into(), of("activity --json")),
        ("sesame activity --limit 500".into(), of("activity --json --limit 500")),
        ("sesame activity --app app-7".into(), of("activity --json --app app-7")),
        (
            "sesame activity --app nothing-matches".into(),
            of("activity --json --app nothing-matches"),
        ),
        ("sesame pending".into(), of("pending --json")),
        ("sesame status".into(), of("status --json")),
    ]
}

fn cli_p50(env: &Env, args: &[String]) -> Duration {
    let run = || {
        let t = Instant::now();
        let out = env.command(sesame_e2e::sesame_bin()).args(args).output().unwrap();
        let took = t.elapsed();
        assert!(out.status.success(), "sesame {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        took
    };
    run(); // warm the page cache
    let mut samples: Vec<Duration> = (0..RUNS).map(|_| run()).collect();
    samples.sort();
    samples[RUNS / 2]
}

/// Start → the socket takes connections, median of 5 starts.
fn broker_start(env: &mut Env) -> Duration {
    let mut samples: Vec<Duration> = (0..5)
        .map(|_| {
            env.stop_daemon();
            let t = Instant::now();
            env.start_daemon();
            t.elapsed()
        })
        .collect();
    samples.sort();
    samples[2]
}

/// Copies of the real rows: accounts with other subjects, grants for ten programs per
/// account, and a year of activity spread over those programs and accounts.
fn fill(db: &std::path::Path) {
    let sql = format!(
        "BEGIN;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {more_accounts})
         INSERT INTO accounts (id, provider, issuer, subject, email, name, scopes, status, created_at, last_refreshed_at)
           SELECT a.id || '-' || i, a.provider, a.issuer, a.subject || '-' || i, 'user' || i || '@example.com',
                  a.name, a.scopes, a.status, a.created_at + i, a.last_refreshed_at
           FROM accounts a, n;
         WITH RECURSIVE k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < {apps})
         INSERT INTO grants (app_key, app, account, scopes, created_at, last_used_at, use_count)
           SELECT g.app_key || '/app-' || j, replace(g.app, g.app_key, g.app_key || '/app-' || j),
                  a.id, g.scopes, g.created_at, g.last_used_at, j
           FROM (SELECT * FROM grants LIMIT 1) g, accounts a, k
           WHERE NOT (a.id = g.account AND j = {apps});
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
         INSERT INTO activity (at, event, app, app_name, account, scopes, detail, count)
           SELECT t.at - ({rows} - i) * 30, t.event, t.app || '/app-' || (i % {apps}),
                  t.app_name || ' app-' || (i % {apps}), t.account, t.scopes, t.detail, 1
           FROM (SELECT * FROM activity WHERE event = 'handed_out' ORDER BY id LIMIT 1) t, n;
         COMMIT;",
        more_accounts = ACCOUNTS - 1,
        apps = APPS_PER_ACCOUNT,
        rows = ACTIVITY_ROWS,
    );
    let conn = rusqlite::Connection::open(db).expect("open the broker's database");
    conn.execute_batch(&sql).expect("fill the broker's database");
}

fn check_counts(env: &Env) {
    let count = |args: &[&str]| -> usize {
        let out = env.command(sesame_e2e::sesame_bin()).args(args).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v.as_array().map(Vec::len).unwrap_or(0)
    };
    let accounts = count(&["accounts", "--json"]);
    let grants = count(&["grants", "--json"]);
    assert_eq!(accounts, ACCOUNTS as usize, "the fill made {accounts} accounts");
    assert_eq!(grants, (ACCOUNTS * APPS_PER_ACCOUNT) as usize, "the fill made {grants} grants");
}

fn row(figure: &str, sesame: Duration, yardstick: Duration, goal_ms: f64) {
    let ms = sesame.as_secs_f64() * 1e3;
    println!(
        "| {figure} | {ms:.1} ms | {:.1} ms | {:.2}× | ≤ {goal_ms:.0} ms p50 | {} |",
        yardstick.as_secs_f64() * 1e3,
        sesame.as_secs_f64() / yardstick.as_secs_f64(),
        if ms <= goal_ms { "✓" } else { "✗" }
    );
}
