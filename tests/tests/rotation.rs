//! Expiry and refresh-token rotation (RFC 6749 §6) with the real provider and keyring.

use std::time::Duration;

use serde_json::json;
use sesame_e2e::*;

#[test]
fn expired_token_is_refreshed_and_the_rotated_refresh_token_replaces_the_old() {
    // Proactive refresh off: this test reads the keyring and asks the provider about the
    // refresh token it found, and a background rotation in between would change the answer.
    let opts = Options {
        access_token_ttl: 3,
        rotate: true,
        top_config: "proactive_refresh = false".into(),
        ..Default::default()
    };
    let env = Env::start(opts);
    let account = env.login("alice");
    let first = env.token(&account, &["--min-ttl", "0"]);
    let old_refresh = env.keyring_lookup(&account).unwrap();

    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(env.introspect(&first)["active"], json!(false), "the first token has expired");
    let second = env.token(&account, &["--min-ttl", "0"]);
    assert_ne!(first, second);
    assert_eq!(env.introspect(&second)["active"], json!(true));

    let new_refresh = env.keyring_lookup(&account).unwrap();
    assert_ne!(old_refresh, new_refresh, "the keyring entry holds the rotated token");
    assert_eq!(
        env.introspect(&old_refresh)["active"],
        json!(false),
        "the old refresh token is dead"
    );
    assert_eq!(env.introspect(&new_refresh)["active"], json!(true));

    // min_ttl larger than the token's life forces a refresh every time.
    let third = env.token(&account, &["--min-ttl", "60"]);
    assert_ne!(second, third);
    let accounts: serde_json::Value =
        serde_json::from_str(&env.sesame_ok(&["accounts", "--json"])).unwrap();
    assert!(accounts[0]["last_refreshed_at"].as_i64().is_some());
    env.assert_no_leaks();
}

#[test]
fn a_restarted_daemon_uses_the_keyring_not_memory() {
    let mut env = Env::start(Options::default());
    let account = env.login("alice");
    let before = env.token(&account, &[]);
    assert_eq!(env.stop_daemon().code(), Some(0));
    env.start_daemon();
    // Nothing cached survives; the refresh token from the keyring mints a new access token.
    let after = env.token(&account, &[]);
    assert_ne!(before, after);
    assert_eq!(env.introspect(&after)["active"], json!(true));
    env.assert_no_leaks();
}

#[test]
fn a_refresh_token_revoked_behind_our_back_means_reauth() {
    let env = Env::start(Options::default());
    let account = env.login("alice");
    env.revoke_at_provider(&env.keyring_lookup(&account).unwrap());
    // Consent comes before the refresh: the harness approves the test process's request.
    let reply = env.rpc_token(json!({"account": account, "min_ttl": 999999}));
    assert_eq!(error_kind(&reply), "reauth_required", "{reply}");
    assert!(reply["error"]["message"].as_str().unwrap().contains("sesame login local"));
    let accounts: serde_json::Value =
        serde_json::from_str(&env.sesame_ok(&["accounts", "--json"])).unwrap();
    assert_eq!(accounts[0]["status"], json!("reauth_required"), "the account is kept, marked");
    let grant_ids = |env: &Env| env.grants().iter().map(|g| g["id"].clone()).collect::<Vec<_>>();
    let grants = grant_ids(&env);
    assert_eq!(grants.len(), 1, "the approved request left a grant: {:?}", env.grants());
    // Signing in again as the same person repairs it in place, grants and all.
    assert_eq!(env.login("alice"), account);
    assert_eq!(grant_ids(&env), grants, "the account's grants are kept");
    let reply = env.rpc("token.get", json!({"account": account}));
    assert!(
        reply["result"]["access_token"].is_string(),
        "the kept grant covers the next request at once: {reply}"
    );
    env.token(&account, &[]);
    env.assert_no_leaks();
}
