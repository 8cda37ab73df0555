//! Token lifecycle against the real provider: one refresh for many waiters, refreshing
//! before expiry while programs use a token (and not when they stop), and what a program
//! gets while the provider is away.

use std::time::Duration;

use serde_json::{json, Value};
use sesame_e2e::*;

fn token_of(reply: &Value) -> String {
    reply["result"]["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token in {reply}"))
        .to_owned()
}

#[test]
fn two_hundred_concurrent_requests_for_an_expired_token_cause_one_refresh() {
    let opts = Options {
        access_token_ttl: 5,
        top_config: "proactive_refresh = false".into(),
        ..Default::default()
    };
    let env = Env::start(opts);
    let account = env.login("alice");
    env.rpc_token(json!({"account": account, "min_ttl": 0})); // the grant, and a cached token
    std::thread::sleep(Duration::from_secs(6)); // ...which has now expired
    env.reset_idp_stats();

    // min_ttl 0: any valid token will do, so every request after the one refresh is served
    // from the cache (with the default 60 s, a 5 s token would be "too short" for each).
    let tokens: Vec<String> = std::thread::scope(|s| {
        let ask = || token_of(&env.rpc("token.get", json!({"account": account, "min_ttl": 0})));
        let handles: Vec<_> = (0..200).map(|_| s.spawn(ask)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        env.idp_token_requests("refresh_token"),
        1,
        "one token-endpoint call for 200 waiters"
    );
    assert!(tokens.iter().all(|t| t == &tokens[0]), "all 200 got the one new token");
    assert_eq!(env.introspect(&tokens[0])["active"], json!(true));
    env.assert_no_leaks();
}

/// After a restart the cache is empty and the provider's access token has expired: the
/// whole burst, default `min_ttl` included (the token lives shorter than it), shares one
/// refresh. Requests that waited on the account's refresh lock take the token stored
/// meanwhile instead of refreshing again (issue 12, item 9).
#[test]
fn after_a_restart_two_hundred_concurrent_requests_cause_one_refresh() {
    after_a_restart_one_refresh(Provider::OidcProvider);
}

#[test]
fn dot_after_a_restart_two_hundred_concurrent_requests_cause_one_refresh() {
    after_a_restart_one_refresh(Provider::Dot);
}

fn after_a_restart_one_refresh(provider: Provider) {
    let opts = Options {
        provider,
        access_token_ttl: 5,
        top_config: "proactive_refresh = false".into(),
        ..Default::default()
    };
    let mut env = Env::start(opts);
    let account = env.login("alice");
    env.rpc_token(json!({"account": account, "min_ttl": 0})); // the grant
    std::thread::sleep(Duration::from_secs(6)); // the provider's token has expired
    env.kill_daemon();
    env.start_daemon();
    env.reset_idp_stats();

    let tokens: Vec<String> = std::thread::scope(|s| {
        let ask = || token_of(&env.rpc("token.get", json!({"account": account})));
        let handles: Vec<_> = (0..200).map(|_| s.spawn(ask)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        env.idp_token_requests("refresh_token"),
        1,
        "one token-endpoint call for 200 requests after a restart:\n{}",
        env.daemon_log()
    );
    assert!(tokens.iter().all(|t| t == &tokens[0]), "all 200 got the one new token");
    assert_eq!(env.introspect(&tokens[0])["active"], json!(true));
    env.assert_no_leaks();
}

#[test]
fn a_used_token_is_refreshed_before_it_expires() {
    let opts = Options { access_token_ttl: 8, ..Default::default() };
    let env = Env::start(opts);
    let account = env.login("alice");
    let first = token_of(&env.rpc_token(json!({"account": account, "min_ttl": 0})));
    env.reset_idp_stats();
    // At 75% of 8 s the broker refreshes on its own; nobody asked yet.
    let refreshed = wait_for(Duration::from_secs(15), || {
        (env.idp_token_requests("refresh_token") >= 1).then_some(())
    });
    assert!(refreshed.is_some(), "no proactive refresh:\n{}", env.daemon_log());
    // The provider counts the request when it arrives; give the broker a moment to store
    // the answer (keyring first) before a program asks.
    std::thread::sleep(Duration::from_secs(1));
    let before = env.idp_token_requests("refresh_token");
    let second = token_of(&env.rpc("token.get", json!({"account": account, "min_ttl": 0})));
    assert_ne!(first, second, "the request got the proactively refreshed token");
    assert_eq!(
        env.idp_token_requests("refresh_token"),
        before,
        "and did not wait on a refresh of its own"
    );
    assert_eq!(env.introspect(&second)["active"], json!(true));
    env.assert_no_leaks();
}

#[test]
fn an_idle_token_is_left_to_expire() {
    let opts = Options {
        access_token_ttl: 4,
        top_config: "refresh_idle_secs = 2".into(),
        ..Default::default()
    };
    let env = Env::start(opts);
    let account = env.login("alice");
    env.rpc_token(json!({"account": account, "min_ttl": 0}));
    // Used once, then idle: at most the refreshes within the idle window, then none.
    std::thread::sleep(Duration::from_secs(8));
    let settled = env.idp_token_requests("refresh_token");
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(
        env.idp_token_requests("refresh_token"),
        settled,
        "an idle account is not refreshed forever"
    );
    env.assert_no_leaks();
}

#[test]
fn while_the_provider_is_away_a_valid_token_is_served_then_provider_unreachable() {
    let opts = Options {
        access_token_ttl: 6,
        top_config: "proactive_refresh = false".into(),
        ..Default::default()
    };
    let mut env = Env::start(opts);
    let account = env.login("alice");
    let cached = token_of(&env.rpc_token(json!({"account": account, "min_ttl": 0})));
    env.stop_idp();
    // min_ttl 60 asks for a refresh; it fails (after retries), and the still-valid token wins.
    let reply = env.rpc("token.get", json!({"account": account, "min_ttl": 60}));
    assert_eq!(token_of(&reply), cached);
    std::thread::sleep(Duration::from_secs(7));
    let reply = env.rpc("token.get", json!({"account": account}));
    assert_eq!(error_kind(&reply), "provider_unreachable", "{reply}");
    let accounts: Value = serde_json::from_str(&env.sesame_ok(&["accounts", "--json"])).unwrap();
    assert_eq!(accounts[0]["status"], json!("active"), "a transient failure keeps the account");
    env.assert_no_leaks();
}

#[test]
fn a_provider_asking_for_quiet_with_retry_after_gets_it() {
    let opts = Options {
        access_token_ttl: 10,
        top_config: "proactive_refresh = false".into(),
        ..Default::default()
    };
    let env = Env::start(opts);
    let account = env.login("alice");
    let first = token_of(&env.rpc_token(json!({"account": account, "min_ttl": 0})));
    env.reset_idp_stats();

    // A short wait is sat out: one 429, then the retry after it succeeds.
    env.rate_limit_idp(1, 2);
    let second = token_of(&env.rpc("token.get", json!({"account": account, "min_ttl": 3600})));
    assert_ne!(first, second, "the refresh went through after the wait");
    let stats = env.idp_stats();
    assert_eq!(
        (stats["rate_limited"].as_u64(), stats["early_requests"].as_u64()),
        (Some(1), Some(0)),
        "{stats}"
    );

    // A long one is not: the still-valid token is served, and nothing reaches the provider
    // until its time is up, however often programs ask.
    env.rate_limit_idp(1, 3600);
    for _ in 0..3 {
        assert_eq!(
            token_of(&env.rpc("token.get", json!({"account": account, "min_ttl": 3600}))),
            second
        );
    }
    std::thread::sleep(Duration::from_secs(11)); // the cached token expires
    let reply = env.rpc("token.get", json!({"account": account}));
    assert_eq!(error_kind(&reply), "provider_unreachable", "{reply}");
    let message = reply["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("429") && message.contains("s of quiet"),
        "says why and for how long: {message}"
    );
    let stats = env.idp_stats();
    assert_eq!(
        (stats["rate_limited"].as_u64(), stats["early_requests"].as_u64()),
        (Some(2), Some(0)),
        "{stats}"
    );
    let accounts: Value = serde_json::from_str(&env.sesame_ok(&["accounts", "--json"])).unwrap();
    assert_eq!(accounts[0]["status"], json!("active"), "a rate limit keeps the account");
    env.assert_no_leaks();
}
