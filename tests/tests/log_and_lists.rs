//! The activity log against a hostile peer, and answers bigger than a request may be: a
//! program flooding the broker with refused management calls cannot push a hand-out out of
//! the log, and the CLI reads logs and pending lists of any size (the broker pages them).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use sesame_e2e::*;

/// More than a request may be: before replies were uncapped, the CLI failed on these.
const FRAME: usize = 64 * 1024;

/// `repeat.py <count> <method> <params>...` as its own program; its `ok` report.
fn repeat(
    env: &Env,
    script: &std::path::Path,
    count: usize,
    method: &str,
    params: &[Value],
) -> Value {
    let mut args = vec![count.to_string(), method.to_owned()];
    args.extend(params.iter().map(Value::to_string));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = env.finish_client(env.spawn_script(script, &args), Duration::from_secs(300));
    out.ok().clone()
}

fn refusals_of<'a>(rows: &'a [Value], key: &str) -> Vec<&'a Value> {
    rows.iter().filter(|r| r["event"] == "refused" && r["app"] == key).collect()
}

#[test]
fn six_thousand_refused_calls_leave_the_hand_out_in_the_log_and_are_counted() {
    // A log of 1 000 rows: 6 000 rows of refusals would have pushed the hand-out out.
    let (env, account) =
        setup(Options { top_config: "activity_max_rows = 1000".into(), ..Default::default() });
    let key = token_client_key();
    let client = env.spawn_token_client(&[&account]);
    env.approve(&env.wait_pending_of(&key), true);
    env.client_result(client).token();

    let flood = client_script("repeat.py");
    let report = repeat(&env, &flood, 6_000, "pending.list", &[json!({})]);
    // The attacker really ran: every one of its calls came back refused.
    assert_eq!(report["replies"], json!(6_000), "{report}");
    assert_eq!(report["kinds"], json!({"forbidden": 6_000}), "{report}");

    let rows = env.activity(&["--limit", "5000"]);
    let handed = rows
        .iter()
        .find(|r| r["event"] == "handed_out" && r["app"] == key)
        .unwrap_or_else(|| panic!("the hand-out is still in the log: {} rows", rows.len()));
    assert_eq!(handed["account"], json!(account));
    assert!(rows.iter().any(|r| r["event"] == "remembered" && r["app"] == key), "and the answer");

    let flood_key = script_key(&flood);
    let refusals = refusals_of(&rows, &flood_key);
    let counted: u64 = refusals.iter().map(|r| r["count"].as_u64().unwrap_or(0)).sum();
    assert_eq!(counted, 6_000, "every refusal is counted: {refusals:?}");
    // One row per minute of flooding (the flood takes seconds; a minute boundary may split it).
    assert!((1..=3).contains(&refusals.len()), "aggregated: {refusals:?}");
    let big = refusals.iter().max_by_key(|r| r["count"].as_u64()).unwrap();
    assert_eq!(big["detail"], json!("management call pending.list"), "{big}");
    assert!(big["first_at"].as_i64().unwrap() <= big["at"].as_i64().unwrap(), "{big}");

    let table = env.manage_ok(&["activity", "--app", "repeat.py"]);
    assert!(table.contains("refused ×"), "the table shows the count:\n{table}");
    env.assert_no_leaks();
}

#[test]
fn activity_with_limit_5000_reads_a_log_far_over_64_kib() {
    let (env, account) = setup(Options::default());
    let busy = client_script("repeat.py");
    let busy_key = script_key(&busy);
    // Two scope sets in turn: consecutive hand-outs differ, so each is a row of its own.
    let params = [
        json!({"account": account, "scopes": ["openid"]}),
        json!({"account": account, "scopes": ["openid", "email"]}),
    ];
    let report = env.with_consent(&busy_key, || repeat(&env, &busy, 6_000, "token.get", &params));
    assert_eq!(report["kinds"], json!({"ok": 6_000}), "{report}");

    let text = env.manage_ok(&["activity", "--json", "--limit", "5000"]);
    assert!(text.len() > 10 * FRAME, "the answer is large: {} bytes", text.len());
    let rows: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(rows.len(), 5_000, "exactly the rows asked for");
    let ids: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first, no row twice across pages");
    let hand_outs = rows.iter().filter(|r| r["event"] == "handed_out" && r["app"] == busy_key);
    assert!(hand_outs.count() >= 4_990, "the busy program's hand-outs");
    // The table too, and the old default still shows 50 rows.
    let table = env.manage_ok(&["activity", "--limit", "5000"]);
    assert!(table.lines().count() > 5_000, "a header and 5000 rows");
    assert_eq!(env.activity(&[]).len(), 50);
    env.assert_no_leaks();
}

/// Copies of one script under a deep directory: each copy is a program of its own with a
/// key of a few KiB, so a handful waiting at once make a pending list over 64 KiB.
fn deep_copies(env: &Env, n: usize) -> Vec<PathBuf> {
    let mut dir = env.dir.join("deep");
    for i in 0..14 {
        dir = dir.join(format!("{i:02}{}", "d".repeat(200)));
    }
    std::fs::create_dir_all(&dir).unwrap();
    (0..n)
        .map(|i| {
            let copy = dir.join(format!("sync_{i:02}.py"));
            std::fs::copy(client_script("mail_sync.py"), &copy).unwrap();
            copy.canonicalize().unwrap()
        })
        .collect()
}

#[test]
fn pending_lists_requests_far_over_64_kib() {
    let (env, account) = setup(Options::default());
    let scripts = deep_copies(&env, 16);
    let keys: Vec<String> = scripts.iter().map(|s| script_key(s)).collect();
    assert!(keys[0].len() > 2_900, "long keys: {}", keys[0].len());
    let clients: Vec<ClientProc> =
        scripts.iter().map(|s| env.spawn_script(s, &[&account])).collect();

    let all_waiting = wait_for(Duration::from_secs(60), || {
        let pending = env.try_pending()?;
        keys.iter().all(|k| pending.iter().any(|p| p["app"]["key"] == *k)).then_some(pending)
    });
    let pending = all_waiting.unwrap_or_else(|| {
        let out = env.manage(&["pending", "--json"]);
        panic!("not all 16 requests are listed: {}\n{}", stderr(&out), env.daemon_log())
    });
    assert_eq!(pending.len(), 16);
    let text = env.manage_ok(&["pending", "--json"]);
    assert!(text.len() > FRAME, "over 64 KiB: {} bytes", text.len());
    let table = env.manage_ok(&["pending"]);
    assert!(keys.iter().all(|k| table.contains(k.as_str())), "every request in the table");

    // And they can be answered: the first is approved, the rest denied.
    env.approve(&pending[0], false);
    for p in &pending[1..] {
        env.deny(p);
    }
    let mut approved = 0;
    for client in clients {
        let out = env.client_result(client);
        if out.json.get("ok").is_some() {
            out.token();
            approved += 1;
        } else {
            out.expect_error("consent_denied");
        }
    }
    assert_eq!(approved, 1);
    env.assert_no_leaks();
}
