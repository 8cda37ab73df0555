//! Sign-in quirks of django-oauth-toolkit, against the real DOT (tests/dot): errors that
//! keep the provider's words, scopes checked against `scopes_supported`, identity from
//! userinfo.

use serde_json::Value;
use sesame_e2e::*;

fn dot(extra_config: &str) -> Env {
    Env::start(Options {
        provider: Provider::Dot,
        extra_config: extra_config.into(),
        ..Default::default()
    })
}

/// The README's example scopes name `offline_access`, which DOT does not offer (it issues
/// refresh tokens anyway). Sesame says so before any browser opens, naming the scope and
/// the config line, instead of DOT's `invalid_scope` redirect (which lacks `iss`).
#[test]
fn an_unoffered_scope_is_named_with_its_config_line_before_the_browser() {
    let env = dot(
        "[[provider]]\nid = \"readme\"\nissuer = \"{issuer}\"\nclient_id = \"desktop-app\"\nscopes = [\"openid\", \"email\", \"profile\", \"offline_access\"]\n",
    );
    let out = env.sesame(&["login", "readme"], &[]);
    assert!(!out.status.success());
    let text = std::fs::read_to_string(&env.config).unwrap();
    let line = 1 + text.lines().position(|l| l.contains("\"offline_access\"]")).unwrap();
    let msg = stderr(&out);
    assert!(
        msg.contains("does not offer scope `offline_access`")
            && msg.contains(&format!("(line {line})")),
        "{msg}"
    );
    let browser_log = std::fs::read_to_string(env.dir.join("logs/browser.log")).unwrap_or_default();
    assert!(browser_log.is_empty(), "no browser was opened: {browser_log}");
    // The provider's own table (no offline_access) signs in.
    env.login("alice");
}

/// DOT sends error redirects without the `iss` its metadata promises. Sesame still refuses
/// such a redirect (a forged one would look the same), but reports the provider's words.
#[test]
fn an_error_redirect_without_iss_is_refused_and_keeps_the_providers_words() {
    let env = dot("");
    let out = env.sesame(&["login", "local"], &[("BROWSER_MODE", "deny")]);
    assert!(!out.status.success(), "a refused sign-in fails");
    let msg = stderr(&out);
    assert!(msg.contains("access_denied") && msg.contains("lacks the `iss` parameter"), "{msg}");
    let browser_log = std::fs::read_to_string(env.dir.join("logs/browser.log")).unwrap();
    assert!(browser_log.contains("consent page: cancelling"), "the user did cancel: {browser_log}");
    assert_eq!(env.sesame_ok(&["accounts", "--json"]), "[]", "no account was made");
}

/// DOT's ID token carries only `sub` (here "1", a database id); the e-mail and name come
/// from userinfo, so the account is Alice's, not "1".
#[test]
fn the_identity_comes_from_userinfo_when_the_id_token_has_only_sub() {
    let env = dot("");
    let account = env.login("alice");
    let accounts: Value = serde_json::from_str(&env.sesame_ok(&["accounts", "--json"])).unwrap();
    let a = &accounts[0];
    assert_eq!(a["id"], Value::from(account));
    assert_eq!(a["email"], "alice@example.test", "{a}");
    assert_eq!(a["name"], "Alice", "{a}");
    let table = env.sesame_ok(&["accounts"]);
    assert!(table.contains("alice@example.test"), "{table}");
}
