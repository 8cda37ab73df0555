//! Sign-ins that go wrong: each ends with a clear error and nothing half-written.

use std::time::Duration;

use serde_json::json;
use sesame_e2e::*;

/// Nothing of a failed sign-in remains: no account, no keyring entry.
fn assert_nothing_written(env: &Env) {
    assert_eq!(env.sesame_ok(&["accounts", "--json"]), "[]");
    assert_eq!(env.keyring_count(), 0, "no keyring entry");
}

#[test]
fn a_callback_with_a_wrong_state_is_refused() {
    // A wrong state does not end the sign-in: the listener waits out its timeout, then says
    // what it refused. 15 s leaves the browser time to get there under load, not 60.
    let env = Env::start(Options { login_timeout: 15, ..Default::default() });
    let out = env.sesame(&["login", "local"], &[("BROWSER_MODE", "tamper_state")]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("state"), "names the problem: {}", stderr(&out));
    assert_nothing_written(&env);
    // The browser was shown the error too.
    let browser = std::fs::read_to_string(env.dir.join("logs/browser.log")).unwrap_or_default();
    assert!(browser.contains("400") || browser.to_lowercase().contains("state"), "{browser}");
    env.assert_no_leaks();
}

#[test]
fn access_denied_at_the_provider() {
    let env = Env::start(Options::default());
    let out = env.sesame(&["login", "local"], &[("BROWSER_MODE", "deny")]);
    assert!(!out.status.success());
    assert!(stderr(&out).to_lowercase().contains("denied"), "{}", stderr(&out));
    assert_nothing_written(&env);
}

#[test]
fn provider_down_at_exchange_time() {
    let mut env = Env::start(Options::default());
    let hold = env.dir.join("callback-url");
    let mut login = env.command(sesame_bin());
    login.args(["login", "local"]).env("BROWSER_MODE", "hold").env("BROWSER_HOLD_FILE", &hold);
    let login = login
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let callback = wait_for(Duration::from_secs(30), || {
        std::fs::read_to_string(&hold).ok().filter(|s| !s.is_empty())
    })
    .expect("the browser reached the callback");

    env.stop_idp();
    let page = reqwest::blocking::Client::new()
        .get(callback.trim())
        .timeout(Duration::from_secs(60))
        .send()
        .unwrap();
    assert_eq!(page.status().as_u16(), 400, "the browser is told the sign-in failed");
    let out = login.wait_with_output().unwrap();
    assert!(!out.status.success());
    let msg = stderr(&out);
    assert!(
        msg.contains("reach") || msg.contains("unreachable"),
        "says the provider is unreachable: {msg}"
    );
    assert_nothing_written(&env);
}

#[test]
fn a_locked_keyring_fails_the_sign_in_cleanly() {
    let env = Env::start(Options::default());
    env.lock_keyring();
    let out = env.sesame(&["login", "local"], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("keyring"), "{}", stderr(&out));
    assert_eq!(env.sesame_ok(&["accounts", "--json"]), "[]");
    env.assert_no_leaks();
}

#[test]
fn a_locked_keyring_after_sign_in_gives_keyring_unavailable() {
    let env = Env::start(Options::default());
    let account = env.login("alice");
    env.lock_keyring();
    // A warm token is still served from memory; a refresh needs the keyring. (Consent comes
    // first: the harness approves the test process's request.)
    let reply = env.rpc_token(json!({"account": account, "min_ttl": 999999}));
    assert_eq!(error_kind(&reply), "keyring_unavailable", "{reply}");
    assert!(reply["error"]["message"].as_str().unwrap().contains("unlock"));
    // The account is kept: nothing was lost.
    let accounts: serde_json::Value =
        serde_json::from_str(&env.sesame_ok(&["accounts", "--json"])).unwrap();
    assert_eq!(accounts[0]["status"], json!("active"));
}

#[test]
fn no_keyring_at_all() {
    let env = Env::start(Options { keyring: KeyringState::Absent, ..Default::default() });
    let out = env.sesame(&["login", "local"], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("keyring"), "{}", stderr(&out));
    assert_eq!(env.sesame_ok(&["accounts", "--json"]), "[]");
}

#[test]
fn the_loopback_listener_gives_up_after_the_login_timeout() {
    let env = Env::start(Options { login_timeout: 2, ..Default::default() });
    let hold = env.dir.join("callback-url");
    let out = env.sesame(
        &["login", "local"],
        &[("BROWSER_MODE", "hold"), ("BROWSER_HOLD_FILE", hold.to_str().unwrap())],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("time"), "{}", stderr(&out));
    // The listener is closed: the late callback finds nobody.
    let callback = std::fs::read_to_string(&hold).unwrap();
    assert!(reqwest::blocking::get(callback.trim()).is_err(), "the port no longer answers");
    assert_nothing_written(&env);
}
