//! Sign-in, tokens, several accounts and sign-out against the real provider and keyring.

use serde_json::{json, Value};
use sesame_e2e::*;

#[test]
fn login_then_token_is_active_at_the_provider() {
    let env = Env::start(Options::default());
    let account = env.login("alice");
    assert!(account.starts_with("local-"), "account id: {account}");

    let token = env.token("local", &[]);
    let info = env.introspect(&token);
    assert_eq!(info["active"], json!(true), "{info}");
    assert_eq!(info["sub"], json!("alice"));
    assert_eq!(info["client_id"], json!("desktop-app"));

    // The refresh token is in the keyring under service `sesame`, user = account id.
    let refresh = env.keyring_lookup(&account).expect("refresh token in the keyring");
    assert_eq!(env.introspect(&refresh)["active"], json!(true));

    // Warm: the same token again, no call to the provider.
    let refreshes = env.idp_token_requests("refresh_token");
    assert_eq!(env.token(&account, &[]), token);
    assert_eq!(env.idp_token_requests("refresh_token"), refreshes);

    // --json carries the documented fields.
    let out: Value = serde_json::from_str(&env.sesame_ok(&["token", "local", "--json"])).unwrap();
    for field in ["access_token", "token_type", "expires_at", "scope", "account"] {
        assert!(out.get(field).is_some(), "missing {field} in {out}");
    }
    assert_eq!(out["account"], json!(account));
    assert_eq!(out["token_type"], json!("Bearer"));

    // accounts: identity and metadata, never a secret.
    let listed = env.sesame_ok(&["accounts", "--json"]);
    let accounts: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(accounts[0]["id"], json!(account));
    assert_eq!(accounts[0]["email"], json!("alice@example.test"));
    assert_eq!(accounts[0]["status"], json!("active"));
    assert!(!listed.contains(&token) && !listed.contains(&refresh));
    let table = env.sesame_ok(&["accounts"]);
    assert!(table.contains("alice@example.test") && table.contains(&account), "{table}");

    env.assert_no_leaks();
}

/// Which of several accounts a program gets by provider id is the user's choice in the
/// question (tests/tests/approval.rs); a program granted several must name the one it wants.
#[test]
fn two_accounts_of_one_provider_need_the_account_id_once_both_are_granted() {
    let env = Env::start(Options::default());
    let alice = env.login("alice");
    let bob = env.login("bob");
    assert_ne!(alice, bob);

    let a = env.token(&alice, &[]);
    let b = env.token(&bob, &[]);
    assert_eq!(env.introspect(&a)["sub"], json!("alice"));
    assert_eq!(env.introspect(&b)["sub"], json!("bob"));

    let out = env.sesame(&["token", "local"], &[]);
    assert!(!out.status.success());
    let msg = stderr(&out);
    assert!(msg.contains(&alice) && msg.contains(&bob), "the error names both accounts: {msg}");
    assert_eq!(error_kind(&env.rpc("token.get", json!({"account": "local"}))), "ambiguous_account");

    // Signing in again as alice updates her account in place.
    assert_eq!(env.login("alice"), alice);
    let accounts: Value = serde_json::from_str(&env.sesame_ok(&["accounts", "--json"])).unwrap();
    assert_eq!(accounts.as_array().unwrap().len(), 2);
    env.assert_no_leaks();
}

#[test]
fn logout_revokes_at_the_provider_and_forgets_locally() {
    let env = Env::start(Options::default());
    let account = env.login("alice");
    let access = env.token(&account, &[]);
    let refresh = env.keyring_lookup(&account).unwrap();

    let said = env.sesame_ok(&["logout", "local"]);
    assert!(said.contains("confirmed"), "{said}");
    assert_eq!(
        env.introspect(&refresh)["active"],
        json!(false),
        "the refresh token is dead at the provider"
    );
    assert_eq!(env.keyring_lookup(&account), None, "the keyring entry is gone");
    assert_eq!(env.keyring_count(), 0);
    assert_eq!(env.sesame_ok(&["accounts", "--json"]), "[]");

    // The cached access token is gone too: the broker no longer knows the account.
    let out = env.sesame(&["token", &account], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("sesame login"), "says what to do: {}", stderr(&out));
    assert_eq!(error_kind(&env.rpc("token.get", json!({"account": account}))), "no_such_account");
    let _ = access;
    env.assert_no_leaks();
}

#[test]
fn narrower_scopes_are_a_separate_token() {
    let env = Env::start(Options::default());
    let account = env.login("alice");
    let full = env.token(&account, &[]);
    let narrow = env.token(&account, &["--scope", "openid", "--scope", "api:read"]);
    assert_ne!(full, narrow);
    let scope = env.introspect(&narrow)["scope"].as_str().unwrap().to_owned();
    assert!(!scope.contains("api:write"), "narrowed at the provider: {scope}");

    // Scopes the account never had are refused.
    let reply = env.rpc("token.get", json!({"account": account, "scopes": ["admin"]}));
    assert_eq!(error_kind(&reply), "insufficient_scope");
    env.assert_no_leaks();
}

#[test]
fn the_documented_python_example_gets_a_token() {
    let env = Env::start(Options::default());
    env.login("alice");
    // The example is an app like any other: the user approves it (the harness, remembering).
    let script = root().join("docs/examples/token.py").canonicalize().unwrap();
    let out = env.with_consent(&script_key(&script), || {
        env.command(python_exe()).arg(&script).arg("local").output().unwrap()
    });
    assert!(out.status.success(), "{}", stderr(&out));
    let header = stdout(&out);
    let token = header.trim().strip_prefix("Authorization: Bearer ").expect("a bearer header");
    env.remember_secret(token);
    assert_eq!(env.introspect(token)["active"], json!(true));
    // An unknown account fails before consent: no question, an error at once.
    let out = env.command(python_exe()).arg(&script).arg("nobody").output().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).starts_with("no_such_account:"), "{}", stderr(&out));
    env.assert_no_leaks();
}
