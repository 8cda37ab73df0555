//! The core scenarios against both authorization servers: npm `oidc-provider` and
//! django-oauth-toolkit. One env per provider runs them all in turn (sign-in, token, two
//! accounts, expiry and rotation, sign-out revokes), so the second provider costs CI one
//! env, not one per scenario. The scenario-by-scenario tests at oidc-provider are in
//! signin.rs and rotation.rs.

use std::time::Duration;

use serde_json::{json, Value};
use sesame_e2e::*;

/// Long enough for a token to be asked for and checked at the provider on a busy machine,
/// short enough that waiting for it to lapse is cheap.
const ACCESS_TTL: u64 = 6;

fn core_scenarios(provider: Provider) {
    let env = Env::start(Options {
        provider,
        access_token_ttl: ACCESS_TTL,
        rotate: true,
        // This test reads the keyring and asks the provider about what it found: a
        // background rotation in between would change the answer.
        top_config: "proactive_refresh = false".into(),
        ..Default::default()
    });

    // Sign-in: the account, its refresh token in the keyring, a token the provider knows.
    let alice = env.login("alice");
    assert!(alice.starts_with("local-"), "account id: {alice}");
    let first = env.token(&alice, &["--min-ttl", "0"]);
    let info = env.introspect(&first);
    assert_eq!(info["active"], json!(true), "{info}");
    assert_eq!(env.introspected_user(&info), "alice", "{info}");
    assert_eq!(info["client_id"], json!("desktop-app"), "{info}");
    let old_refresh = env.keyring_lookup(&alice).expect("the refresh token is in the keyring");
    assert!(env.refresh_token_active(&old_refresh));
    // Warm: the same token again, no call to the provider.
    let refreshes = env.idp_token_requests("refresh_token");
    assert_eq!(env.token(&alice, &["--min-ttl", "0"]), first);
    assert_eq!(env.idp_token_requests("refresh_token"), refreshes);

    // Two accounts: bob's token is bob's; by provider id alone it is ambiguous.
    let bob = env.login("bob");
    assert_ne!(alice, bob);
    let bobs = env.token(&bob, &[]);
    assert_eq!(env.introspected_user(&env.introspect(&bobs)), "bob");
    assert_eq!(error_kind(&env.rpc("token.get", json!({"account": "local"}))), "ambiguous_account");
    let accounts: Value = serde_json::from_str(&env.sesame_ok(&["accounts", "--json"])).unwrap();
    assert_eq!(accounts.as_array().unwrap().len(), 2, "{accounts}");

    // Expiry and rotation: a lapsed token is replaced through the refresh token, which the
    // provider rotates; the keyring holds the new one and the old one is dead.
    let lapsed = wait_for(Duration::from_secs(30), || {
        (env.introspect(&first)["active"] == json!(false)).then_some(())
    });
    assert!(lapsed.is_some(), "the first token never expired");
    // Sesame's clock for the token started when the answer came, a moment after the
    // provider's: ask until it sees the lapse too (no refresh happens before it does).
    let second = wait_for(Duration::from_secs(10), || {
        let token = env.token(&alice, &["--min-ttl", "0"]);
        (token != first).then_some(token)
    })
    .expect("the lapsed token was never replaced");
    assert_eq!(env.introspect(&second)["active"], json!(true));
    let new_refresh = env.keyring_lookup(&alice).unwrap();
    assert_ne!(old_refresh, new_refresh, "the keyring holds the rotated refresh token");
    assert!(!env.refresh_token_active(&old_refresh), "the old refresh token is dead");
    assert!(env.refresh_token_active(&new_refresh));

    // Sign-out revokes at the provider and forgets locally; bob stays signed in.
    let said = env.sesame_ok(&["logout", &alice]);
    assert!(said.contains("confirmed"), "{said}");
    assert!(!env.refresh_token_active(&new_refresh), "the refresh token is dead at the provider");
    assert_eq!(env.keyring_lookup(&alice), None);
    assert_eq!(error_kind(&env.rpc("token.get", json!({"account": alice}))), "no_such_account");
    assert!(env.keyring_lookup(&bob).is_some());
    env.assert_no_leaks();
}

#[test]
fn core_scenarios_at_oidc_provider() {
    core_scenarios(Provider::OidcProvider);
}

#[test]
fn core_scenarios_at_django_oauth_toolkit() {
    core_scenarios(Provider::Dot);
}
