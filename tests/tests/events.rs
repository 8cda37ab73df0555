//! The broker's events, as `sesame events --json` prints them: a request waits and is
//! answered, grants change, the provider refuses an account's refresh token (re-auth
//! needed), an account signs out. Programs that are not Sesame's own may not subscribe.

mod common;

use common::*;
use serde_json::json;
use sesame_e2e::*;

#[test]
fn subscribers_hear_of_requests_grants_reauth_and_sign_out() {
    let (env, account) = setup(Options::default());
    let reader = env.follow_events();

    let client = env.spawn_token_client(&[&account]);
    let p = env.wait_pending_of(&token_client_key());
    let added = reader.expect("pending_added");
    assert_eq!((&added["id"], &added["account"]), (&p["id"], &json!(account)), "{added}");
    assert!(!added["app_name"].as_str().unwrap_or("").is_empty(), "{added}");
    env.approve(&p, true);
    assert_eq!(reader.expect("pending_resolved")["id"], p["id"]);
    reader.expect("grants_changed");
    assert!(env.client_result(client).status.success());

    let grant = grants_of(&env, &token_client_key())[0]["id"].as_i64().unwrap().to_string();
    env.manage_ok(&["revoke", &grant]);
    reader.expect("grants_changed");

    // The provider drops the refresh token (as when the user revokes Sesame in the provider's
    // settings): the next refresh finds out, and the app is told to show "sign in again".
    env.revoke_at_provider(&env.keyring_lookup(&account).unwrap());
    let reply = env.rpc_token(json!({"account": account, "min_ttl": 999999}));
    assert_eq!(error_kind(&reply), "reauth_required", "{reply}");
    let reauth = reader.expect("reauth_required");
    assert_eq!(
        (&reauth["account"], &reauth["provider"]),
        (&json!(account), &json!("local")),
        "{reauth}"
    );
    assert!(reauth["why"].as_str().is_some_and(|w| !w.is_empty()), "{reauth}");

    env.sesame_ok(&["logout", &account]);
    reader.expect("accounts_changed");
    env.assert_no_leaks();
}

#[test]
fn only_sesames_own_tools_may_subscribe() {
    let (env, _) = setup(Options::default());
    // This test process is not one of Sesame's binaries.
    let reply = env.rpc("events.subscribe", json!({}));
    assert_eq!(error_kind(&reply), "forbidden", "{reply}");
}
