//! Tokens that tell the truth (issue 12, items 2, 3 and 5), against oidc-provider made to
//! behave like the providers that showed each problem, and against django-oauth-toolkit:
//! no dead token handed out after a refresh of another scope set, no account narrowed by a
//! narrowing refresh, and a reply `scope` that is what the token carries.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use sesame_e2e::*;

/// `sesame token ACCOUNT --json` with `extra` arguments.
fn token_json(env: &Env, account: &str, extra: &[&str]) -> Value {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&env.token(account, &args)).unwrap()
}

/// A scope as a set of words, whether a JSON list (Sesame's) or a string (RFC 7662's).
fn words(v: &Value) -> BTreeSet<String> {
    match v {
        Value::Array(list) => list.iter().map(|w| w.as_str().unwrap().to_owned()).collect(),
        Value::String(s) => s.split_whitespace().map(str::to_owned).collect(),
        other => panic!("not a scope: {other}"),
    }
}

/// The provider kills earlier access tokens at a refresh (DOT; oidc-provider made so).
const REVOKES: &str = "refresh_revokes_access_tokens = true\n";

fn account_scopes(env: &Env) -> BTreeSet<String> {
    let accounts: Value = serde_json::from_str(&env.sesame_ok(&["accounts", "--json"])).unwrap();
    words(&accounts[0]["scopes"])
}

/// Item 2: full token, a narrower one (a refresh, which rotates and at these providers
/// kills the access tokens of the spent refresh token), then the full one again.
fn after_a_refresh_of_another_scope_set_the_first_token_is_not_handed_out(env: &Env) {
    let account = env.login("alice");
    let first = token_json(env, &account, &[]);
    token_json(env, &account, &["--scope", "openid"]);
    let again = token_json(env, &account, &[]);
    let (first, again) = (&first["access_token"], &again["access_token"]);
    assert_eq!(
        env.introspect(first.as_str().unwrap())["active"],
        json!(false),
        "revoked at rotation"
    );
    assert_ne!(first, again, "the dead token is not handed out again");
    assert_eq!(env.introspect(again.as_str().unwrap())["active"], json!(true));
}

#[test]
fn oidc_provider_revoking_at_rotation_leaves_no_dead_token_in_the_cache() {
    let env = Env::start(Options {
        idp_env: &[("IDP_REVOKE_ON_ROTATION", "1")],
        extra_config: REVOKES.into(),
        ..Default::default()
    });
    after_a_refresh_of_another_scope_set_the_first_token_is_not_handed_out(&env);
    env.assert_no_leaks();
}

/// Items 2 and 3 at DOT: its narrowing refresh narrows the refresh token itself. The next
/// full refresh shows it; Sesame records the scopes the provider now grants, says what the
/// token carries, and narrows no more.
#[test]
fn dot_a_narrowed_refresh_token_is_noticed_and_the_account_tells_the_truth() {
    let env = Env::start(Options {
        provider: Provider::Dot,
        extra_config: REVOKES.into(),
        ..Default::default()
    });
    after_a_refresh_of_another_scope_set_the_first_token_is_not_handed_out(&env);
    let openid: BTreeSet<String> = ["openid".to_owned()].into();
    assert_eq!(account_scopes(&env), openid, "the account lists what DOT grants now");
    let accounts: Value = serde_json::from_str(&env.sesame_ok(&["accounts", "--json"])).unwrap();
    let account = accounts[0]["id"].as_str().unwrap().to_owned();
    let reply = token_json(&env, &account, &[]);
    assert_eq!(words(&reply["scope"]), openid);
    let carried = env.introspect(reply["access_token"].as_str().unwrap());
    assert_eq!(words(&carried["scope"]), openid, "the reply is what the token carries");
    let lost = env.sesame(&["token", &account, "--scope", "email"], &[]);
    assert!(!lost.status.success(), "a scope the provider no longer grants is not promised");
    assert!(env.daemon_log().contains("stops narrowing"), "{}", env.daemon_log());
    env.assert_no_leaks();
}

/// Item 5: a provider that cannot narrow (GitHub: `scope` ignored on refresh, none in the
/// answer). A token for `email` carries the account's every scope, and the reply says so;
/// so does the question where Sesame knows it beforehand (`known`: the config says so).
fn the_reply_scope_is_what_the_token_carries(env: &Env, known: bool) {
    let account = env.login("alice");
    let all = account_scopes(env);
    // --min-ttl above the token's life: a refresh, not the sign-in's cached token. The
    // question shows the whole grant, the scopes not asked for marked.
    let args = ["token", &account, "--json", "--scope", "email", "--min-ttl", "100000"];
    let out = std::thread::scope(|s| {
        let asking = s.spawn(|| env.sesame(&args, &[]));
        let question = wait_for(std::time::Duration::from_secs(30), || {
            env.try_pending().and_then(|list| list.into_iter().next())
        })
        .expect("no question");
        let id = question["id"].as_u64().unwrap().to_string();
        if known {
            let beyond: BTreeSet<String> = all.iter().filter(|w| *w != "email").cloned().collect();
            let shown = env.manage_ok(&["pending"]);
            env.manage_ok(&["approve", &id]);
            assert_eq!(words(&question["scopes"]), all, "the question says what the token carries");
            assert_eq!(words(&question["beyond_asked"]), beyond, "marked: more than asked");
            assert!(shown.contains("more than the program asked for"), "{shown}");
            return asking.join().unwrap();
        }
        env.manage_ok(&["approve", &id]);
        asking.join().unwrap()
    });
    assert!(out.status.success(), "{}", stderr(&out));
    let reply: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(words(&reply["scope"]), all, "the whole grant, not the request copied back");
    let carried = env.introspect(reply["access_token"].as_str().unwrap());
    assert_eq!(words(&carried["scope"]), all, "which is what the provider says it carries");
}

#[test]
fn oidc_provider_that_cannot_narrow_the_reply_names_the_whole_grant() {
    let env = Env::start(Options {
        idp_env: &[("IDP_REFRESH_SCOPE", "ignore")],
        extra_config: "allow_scope_narrowing = false\n".into(),
        ..Default::default()
    });
    the_reply_scope_is_what_the_token_carries(&env, true);
    env.assert_no_leaks();
}

#[test]
fn oidc_provider_ignoring_scope_while_sesame_narrows_stops_narrowing() {
    // Misconfigured as narrowing: the answer names the whole grant, and Sesame believes it.
    let env =
        Env::start(Options { idp_env: &[("IDP_REFRESH_SCOPE", "full")], ..Default::default() });
    the_reply_scope_is_what_the_token_carries(&env, false);
    assert!(env.daemon_log().contains("cannot narrow"), "{}", env.daemon_log());
    env.assert_no_leaks();
}

#[test]
fn dot_without_narrowing_the_reply_names_the_whole_grant() {
    let env = Env::start(Options {
        provider: Provider::Dot,
        extra_config: "allow_scope_narrowing = false\n".into(),
        ..Default::default()
    });
    the_reply_scope_is_what_the_token_carries(&env, true);
    env.assert_no_leaks();
}
