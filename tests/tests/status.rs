//! `sesame status [--json]`: an account, its cached token's expiry, a waiting question and a
//! grant that lapses soon, on one screen; and a clear "not running" without a broker.

mod common;

use common::*;
use serde_json::{json, Value};
use sesame_e2e::*;

#[test]
fn status_shows_accounts_cached_tokens_questions_and_lapsing_grants() {
    let (mut env, account) = setup(Options::default());
    env.token(&account, &[]);

    // A grant for an hour (the token-client, approved `--for 1h`)...
    let key = token_client_key();
    let client = env.spawn_token_client(&[&account, "--scope", "email"]);
    let pending = env.wait_pending_of(&key);
    let id = pending["id"].as_u64().unwrap().to_string();
    env.manage_ok(&["approve", &id, "--for", "1h"]);
    env.client_result(client).token();
    // ...and a question nobody answers yet.
    let waiting = env.spawn_token_client(&[&account, "--scope", "api:read"]);
    let question =
        env.wait_pending(|p| p["app"]["key"] == key && p["scopes"] == json!(["api:read"]));

    let status: Value = serde_json::from_str(&env.sesame_ok(&["status", "--json"])).unwrap();
    let accounts = status["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 1, "{status}");
    assert_eq!((&accounts[0]["id"], &accounts[0]["status"]), (&json!(account), &json!("active")));
    let cached = accounts[0]["cached"].as_array().unwrap();
    assert!(cached.len() >= 2, "the full and the email token: {status}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(cached.iter().all(|t| t["expires_at"].as_u64().unwrap() > now), "{status}");
    assert_eq!(status["pending"][0]["id"], question["id"], "{status}");
    let lapsing = status["lapsing"].as_array().unwrap();
    assert_eq!(lapsing.len(), 1, "only the 1 h grant lapses (the other is forever): {status}");
    assert_eq!(lapsing[0]["scopes"], json!(["email"]), "{status}");
    assert!(status["started_at"].as_u64().unwrap() <= now);
    assert!(status["reload_failure"].is_null(), "{status}");

    let text = env.sesame_ok(&["status"]);
    for needle in [
        "running since",
        account.as_str(),
        "(expires in",
        &format!("{}: ", question["id"]),
        "lapses in ",
    ] {
        assert!(text.contains(needle), "`{needle}` missing:\n{text}");
    }
    env.deny(&question);
    env.client_result(waiting);

    // No broker: say so and how to start one, non-zero.
    env.stop_daemon();
    let out = env.sesame(&["status"], &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("not running") && err.contains("sesame daemon"), "{err}");
    env.assert_no_leaks();
}
