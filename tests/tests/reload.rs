//! Config reload under a running daemon: `sesame reload` and SIGHUP put an edited config in
//! force (a new provider signs in), a bad edit is refused with the parse error (quoting no
//! client secret) while the old config keeps serving tokens, and a removed provider's
//! account is kept and listed as such.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use sesame_e2e::*;

/// A second provider at the same test provider (same client), for the edit to add.
fn second(issuer: &str) -> String {
    format!(
        "\n[[provider]]\nid = \"second\"\nissuer = \"{issuer}\"\nclient_id = \"desktop-app\"\nscopes = [\"openid\", \"email\", \"offline_access\"]\n"
    )
}

/// A broken edit on the line of a client secret: toml's own error would quote that line.
const SECRET_VALUE: &str = "reload-secret-not-for-logs";

fn broken(original: &str) -> String {
    format!(
        "{original}\n[[provider]]\nid = \"bad\"\nclient_secret = \"{SECRET_VALUE}\nissuer = 1\n"
    )
}

/// Introspection at the provider: the token is live and bob's.
fn assert_bobs(env: &Env, token: &str) {
    let info = env.introspect(token);
    assert_eq!((&info["active"], &info["sub"]), (&json!(true), &json!("bob")), "{info}");
}

fn account_status(env: &Env, id: &str) -> Option<String> {
    let listed: Value = serde_json::from_str(&env.sesame_ok(&["accounts", "--json"])).ok()?;
    let found = listed.as_array()?.iter().find(|a| a["id"] == json!(id))?.clone();
    found["status"].as_str().map(str::to_owned)
}

#[test]
fn reload_and_sighup_put_edits_in_force_and_refuse_bad_ones() {
    let mut env = Env::start(Options::default());
    env.remember_secret(SECRET_VALUE);
    let original = std::fs::read_to_string(&env.config).unwrap();
    let alice = env.login("alice");
    env.token(&alice, &[]);

    // An added provider: `sesame reload` says so, and it signs in.
    std::fs::write(&env.config, format!("{original}{}", second(&env.issuer))).unwrap();
    let said = env.sesame_ok(&["reload"]);
    assert!(said.contains("added second"), "{said}");
    let out = env.sesame(&["login", "second"], &[("BROWSER_LOGIN", "bob")]);
    assert!(out.status.success(), "login second: {}\n{}", stderr(&out), env.daemon_log());
    let bob = stdout(&out).trim().to_owned();
    assert!(bob.starts_with("second-"), "{bob}");
    let bobs = env.token(&bob, &[]);
    assert_bobs(&env, &bobs);

    // A bad edit: a non-zero exit with the parse error, never the secret; nothing changes.
    let with_second = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(&env.config, broken(&with_second)).unwrap();
    let out = env.sesame(&["reload"], &[]);
    assert!(!out.status.success(), "a bad config reloaded: {}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("TOML parse error at line"), "{err}");
    assert!(err.contains("config.toml"), "{err}");
    assert!(!err.contains(SECRET_VALUE), "the reply quotes the secret: {err}");
    let status = env.sesame_ok(&["status"]);
    assert!(status.contains("the last reload"), "{status}");
    assert!(!status.contains(SECRET_VALUE), "{status}");
    // The old config still serves: a fresh token for each account, after a refresh.
    let fresh = env.token(&bob, &["--min-ttl", "999999"]);
    assert_ne!(fresh, bobs, "a refresh under the old config");
    assert_bobs(&env, &fresh);
    assert!(env.sesame_ok(&["providers"]).contains("second"));

    // SIGHUP with `second` removed: its account is kept and listed as removed.
    std::fs::write(&env.config, &original).unwrap();
    let pid = env.daemon_pid().expect("the daemon runs");
    let hup = std::process::Command::new("kill").args(["-HUP", &pid.to_string()]).status();
    assert!(hup.unwrap().success());
    let removed = wait_for(Duration::from_secs(10), || {
        (account_status(&env, &bob).as_deref() == Some("provider_removed")).then_some(())
    });
    assert!(removed.is_some(), "{:?}\n{}", account_status(&env, &bob), env.daemon_log());
    let table = env.sesame_ok(&["accounts"]);
    let row = table.lines().find(|l| l.starts_with(&bob)).unwrap_or_default();
    assert!(row.contains("provider removed from config"), "{table}");
    let out = env.sesame(&["token", &bob], &[]);
    assert!(!out.status.success(), "a removed provider served a token");
    assert!(stderr(&out).contains("there is no provider `second`"), "{}", stderr(&out));
    assert_eq!(account_status(&env, &alice).as_deref(), Some("active"));

    // SIGHUP with a bad edit: logged, nothing changes, tokens still come.
    std::fs::write(&env.config, broken(&original)).unwrap();
    let hup = std::process::Command::new("kill").args(["-HUP", &pid.to_string()]).status();
    assert!(hup.unwrap().success());
    let logged = wait_for(Duration::from_secs(10), || {
        env.daemon_log().contains("config reload failed").then_some(())
    });
    assert!(logged.is_some(), "{}", env.daemon_log());
    assert!(!env.daemon_log().contains(SECRET_VALUE), "the log quotes the secret");
    assert_active(&env, &env.token(&alice, &["--min-ttl", "999999"]));
    // The leak scan reads every file; the secret was only ever in the edit.
    std::fs::write(&env.config, &original).unwrap();
    env.assert_no_leaks();
}
