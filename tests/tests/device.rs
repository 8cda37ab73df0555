//! Device sign-in (RFC 8628) against the real provider and keyring: `sesame login local
//! --device` shows a code; the "user" approves (or refuses) it through `tests/browser.py
//! --device`, as if on another device; the broker polls the provider until it knows.
//! The provider polices the polling interval itself (slow_down for early polls), so a
//! client that polls too fast shows up in its counters rather than in timings.

use serde_json::{json, Value};
use sesame_e2e::*;

fn accounts(env: &Env) -> Value {
    serde_json::from_str(&env.sesame_ok(&["accounts", "--json"])).unwrap()
}

#[test]
fn device_sign_in_then_token_with_the_refresh_token_only_in_the_keyring() {
    let env = Env::start(Options::default());
    let mut login = env.start_device_login("local");
    let prompt = login.prompt().unwrap_or_else(|e| panic!("no prompt: {e}\n{}", env.daemon_log()));
    // base-20 characters in the provider's ****-**** mask.
    let code = &prompt.user_code;
    assert!(
        code.len() == 9
            && code.chars().enumerate().all(|(i, c)| if i == 4 {
                c == '-'
            } else {
                c.is_ascii_uppercase()
            }),
        "user code {code}"
    );
    assert_eq!(prompt.verification_uri, format!("{}/device", env.issuer));
    let complete =
        prompt.verification_uri_complete.clone().expect("the provider sends a complete URI");
    assert!(
        complete.starts_with(&prompt.verification_uri)
            && complete.contains(&format!("user_code={code}")),
        "{complete}"
    );

    let user = env.device_user(&[&complete], "normal", "alice");
    assert!(user.status.success(), "the user could not approve: {}", stderr(&user));
    let out = login.finish();
    assert!(
        out.status.success(),
        "sesame login --device failed: {}\n{}",
        stderr(&out),
        env.daemon_log()
    );
    let account = stdout(&out).trim().to_owned();
    assert!(account.starts_with("local-"), "stdout is the account id: {account}");
    assert!(stderr(&out).contains("Signed in as alice@example.test."), "{}", stderr(&out));

    // The account: who, and the scopes the provider granted.
    let listed = accounts(&env);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], json!(account));
    assert_eq!(listed[0]["email"], json!("alice@example.test"));
    assert_eq!(listed[0]["status"], json!("active"));

    // A token: the one the device flow brought (cached), valid at the provider.
    let token = env.token(&account, &[]);
    let info = env.introspect(&token);
    assert_eq!(
        (&info["active"], &info["sub"], &info["client_id"]),
        (&json!(true), &json!("alice"), &json!("desktop-app")),
        "{info}"
    );
    // And a refresh works: the refresh token came with it and is in the keyring.
    let refresh = env.keyring_lookup(&account).expect("refresh token in the keyring");
    assert_eq!(env.introspect(&refresh)["active"], json!(true));
    let narrow = env.token(&account, &["--scope", "openid", "--scope", "api:read"]);
    assert_ne!(narrow, token);
    assert_eq!(env.idp_token_requests("refresh_token"), 1);

    // The broker never polled sooner than the interval the provider named.
    let device = env.idp_device_stats();
    assert_eq!(
        (device["authorizations"].as_u64(), device["slow_down"].as_u64()),
        (Some(1), Some(0)),
        "{device}"
    );
    assert!(device["polls"].as_u64().unwrap() >= 1, "{device}");

    // Signing in again in the browser as the same person is the same account.
    assert_eq!(env.login("alice"), account);
    assert_eq!(accounts(&env).as_array().unwrap().len(), 1);
    // Neither the tokens nor the device code are in any file or log.
    env.assert_no_leaks();
}

#[test]
fn refusing_at_the_provider_fails_the_sign_in_and_creates_nothing() {
    let env = Env::start(Options::default());
    // "Abort" on the code confirmation page (typing the code), then "abort" on the consent page.
    for mode in ["deny_confirm", "deny"] {
        let mut login = env.start_device_login("local");
        let prompt = login.prompt().unwrap_or_else(|e| panic!("no prompt: {e}"));
        let user = match mode {
            "deny_confirm" => {
                env.device_user(&[&prompt.verification_uri, &prompt.user_code], mode, "alice")
            }
            _ => env.device_user(
                &[prompt.verification_uri_complete.as_deref().unwrap()],
                mode,
                "alice",
            ),
        };
        assert!(user.status.success(), "{mode}: the user could not refuse: {}", stderr(&user));
        let out = login.finish();
        assert!(!out.status.success(), "{mode}: the sign-in must fail");
        let msg = stderr(&out);
        assert!(msg.contains("access_denied") && msg.contains("refused"), "{mode}: {msg}");
        assert!(stdout(&out).trim().is_empty(), "{mode}: no account id on stdout");
    }
    assert_eq!(accounts(&env), json!([]));
    assert_eq!(env.keyring_count(), 0);
    env.idp_device_stats();
    env.assert_no_leaks();
}

#[test]
fn an_expired_code_says_to_start_again() {
    let env = Env::start(Options { device_code_ttl: 2, ..Options::default() });
    let mut login = env.start_device_login("local");
    let prompt = login.prompt().unwrap_or_else(|e| panic!("no prompt: {e}"));
    let out = login.finish();
    assert!(!out.status.success(), "the sign-in must fail");
    let msg = stderr(&out);
    assert!(msg.contains("expires in 2 s"), "the CLI says how long the code lasts: {msg}");
    assert!(
        msg.contains("device code expired") && msg.contains("start the device sign-in again"),
        "{msg}"
    );
    // Too late: the provider refuses the code too.
    let late =
        env.device_user(&[prompt.verification_uri_complete.as_deref().unwrap()], "normal", "alice");
    assert!(!late.status.success(), "the provider accepted an expired code");
    assert_eq!(accounts(&env), json!([]));
    assert_eq!(env.keyring_count(), 0);
    env.idp_device_stats();
    env.assert_no_leaks();
}

#[test]
fn slow_down_makes_the_broker_poll_less_often() {
    // The provider answers the first poll with slow_down: from then on it expects polls at
    // least 1 + 5 s apart, and answers any earlier one with slow_down again (counted).
    let env = Env::start(Options { device_slow_down: 1, ..Options::default() });
    let mut login = env.start_device_login("local");
    let prompt = login.prompt().unwrap_or_else(|e| panic!("no prompt: {e}"));
    // Approve only once the broker has been told to slow down.
    assert!(wait_for(std::time::Duration::from_secs(30), || (env.idp_device_stats()
        ["forced_slow_down"]
        == json!(1))
    .then_some(()))
    .is_some());
    let user = env.device_user(&[&prompt.verification_uri, &prompt.user_code], "normal", "bob");
    assert!(user.status.success(), "{}", stderr(&user));
    let out = login.finish();
    assert!(out.status.success(), "{}\n{}", stderr(&out), env.daemon_log());
    let device = env.idp_device_stats();
    assert_eq!(device["forced_slow_down"], json!(1), "{device}");
    assert_eq!(
        device["slow_down"],
        json!(0),
        "the broker polled again before the longer interval: {device}"
    );
    assert!(device["polls"].as_u64().unwrap() >= 2, "{device}");
    let account = stdout(&out).trim().to_owned();
    assert_eq!(env.introspect(&env.token(&account, &[]))["sub"], json!("bob"));
    env.assert_no_leaks();
}

#[test]
fn ctrl_c_cancels_the_sign_in_at_the_broker() {
    let env = Env::start(Options::default());
    let mut login = env.start_device_login("local");
    login.prompt().unwrap_or_else(|e| panic!("no prompt: {e}"));
    login.interrupt();
    let out = login.finish();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("sign-in cancelled"), "{}", stderr(&out));
    // The broker's polling task ended: nothing can sign in through that code any more.
    let ended = wait_for(std::time::Duration::from_secs(30), || {
        env.daemon_log().contains("the sign-in was cancelled").then_some(())
    });
    assert!(ended.is_some(), "{}", env.daemon_log());
    assert_eq!(accounts(&env), json!([]));
}

#[test]
fn providers_without_a_device_flow_are_refused_with_what_to_do() {
    // Manual endpoints without device_authorization_endpoint: refused before any request.
    let manual = "[[provider]]\nid = \"manual\"\nissuer = \"http://127.0.0.1:9\"\nclient_id = \"x\"\nscopes = [\"openid\"]\n\
        authorization_endpoint = \"http://127.0.0.1:9/auth\"\ntoken_endpoint = \"http://127.0.0.1:9/token\"\n";
    let mut env = Env::start(Options { extra_config: manual.into(), ..Options::default() });
    let out = env.sesame(&["login", "manual", "--device"], &[]);
    assert!(!out.status.success());
    let msg = stderr(&out);
    assert!(
        msg.contains("provider `manual` offers no device sign-in")
            && msg.contains("`sesame login manual`"),
        "{msg}"
    );

    // A client the provider does not allow the device grant: its refusal, in its words.
    let other = format!("\n[[provider]]\nid = \"other\"\nissuer = \"{}\"\nclient_id = \"desktop-app-2\"\nscopes = [\"openid\"]\n", env.issuer);
    let mut config = std::fs::read_to_string(&env.config).unwrap();
    config.push_str(&other);
    std::fs::write(&env.config, config).unwrap();
    env.stop_daemon();
    env.start_daemon();
    let out = env.sesame(&["login", "other", "--device"], &[]);
    assert!(!out.status.success());
    let msg = stderr(&out);
    assert!(msg.contains("device_code is not allowed for this client"), "{msg}");
    assert_eq!(accounts(&env), json!([]));
}
