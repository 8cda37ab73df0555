//! Machine accounts (`grant = "client_credentials"`) and client secrets in the keyring,
//! against the test provider's confidential `machine-client`.

mod common;

use common::*;
use serde_json::{json, Value};
use sesame_e2e::*;

const MACHINE: &str = r#"
[[provider]]
id = "machine"
issuer = "{issuer}"
client_id = "machine-client"
grant = "client_credentials"
scopes = ["api:read", "api:write"]
"#;

/// `machine-client`'s secret at the test provider.
const SECRET: &str = "machine-secret";

fn machine_env() -> Env {
    let env = Env::start(Options { extra_config: MACHINE.into(), ..Default::default() });
    env.remember_secret(SECRET);
    env
}

/// `printf '%s\n' <secret> | sesame secret set machine`, asserting success; returns stdout.
fn set_secret(env: &Env, secret: &str) -> String {
    let out = env.sesame_stdin(&["secret", "set", "machine"], &format!("{secret}\n"));
    assert!(out.status.success(), "secret set failed: {}\n{}", stderr(&out), env.daemon_log());
    stdout(&out)
}

fn accounts(env: &Env) -> Vec<Value> {
    serde_json::from_str::<Value>(&env.sesame_ok(&["accounts", "--json"]))
        .unwrap()
        .as_array()
        .cloned()
        .unwrap()
}

/// Introspection of a machine token: active, the client's own, no person behind it.
fn assert_machine_token(env: &Env, token: &str, scope: &[&str]) {
    let info = env.introspect(token);
    assert_eq!(info["active"], json!(true), "{info}");
    assert_eq!(info["client_id"], json!("machine-client"), "{info}");
    assert!(info.get("sub").is_none(), "no user: {info}");
    assert_eq!(scope_set(&info["scope"]), set(scope), "{info}");
}

#[test]
fn a_machine_account_gets_tokens_through_consent_then_the_cache() {
    let env = machine_env();
    let said = set_secret(&env, SECRET);
    assert!(said.contains("Stored the client secret of provider machine"), "{said}");
    let providers = env.sesame_ok(&["providers"]);
    assert!(
        providers.lines().any(|l| l.starts_with("machine\t") && l.ends_with("machine account")),
        "{providers}"
    );

    let account = env.sesame_ok(&["login", "machine"]);
    assert!(account.starts_with("machine-"), "{account}");
    assert_eq!(env.idp_token_requests("client_credentials"), 1, "one token proves the secret");
    let listed = accounts(&env);
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (&listed[0]["id"], &listed[0]["status"], &listed[0]["subject"]),
        (&json!(account), &json!("active"), &json!("machine-client"))
    );
    assert_eq!(set_of(&listed[0]["scopes"]), set(&["api:read", "api:write"]));

    // A program's first request waits for the user, like any account's.
    let key = token_client_key();
    let client = env.spawn_token_client(&["machine"]);
    let pending = env.wait_pending_of(&key);
    assert_eq!(pending["account"], json!(account), "{pending}");
    env.approve(&pending, true);
    let token = env.client_result(client).token();
    assert_machine_token(&env, &token, &["api:read", "api:write"]);
    assert_eq!(
        env.idp_token_requests("client_credentials"),
        1,
        "the sign-in's token, from the cache"
    );

    // The grant covers the next request: at once, from the cache.
    let again = immediate(&env, env.spawn_token_client(&["machine"]), &key);
    assert_eq!(again.token(), token);
    assert_eq!(env.idp_token_requests("client_credentials"), 1);

    // Fewer scopes: one client-credentials request for them, then the cache.
    let narrow =
        immediate(&env, env.spawn_token_client(&["machine", "--scope", "api:read"]), &key).token();
    assert_ne!(narrow, token);
    assert_machine_token(&env, &narrow, &["api:read"]);
    assert_eq!(env.idp_token_requests("client_credentials"), 2);
    assert_eq!(
        immediate(&env, env.spawn_token_client(&["machine", "--scope", "api:read"]), &key).token(),
        narrow
    );
    assert_eq!(env.idp_token_requests("client_credentials"), 2);
    let rows = env.activity(&[]);
    let handed_out: u64 = rows
        .iter()
        .filter(|r| r["event"] == "handed_out" && r["account"] == json!(account))
        .map(|r| r["count"].as_u64().unwrap_or(1))
        .sum();
    assert_eq!(handed_out, 4, "every hand-out is logged: {rows:?}");
    env.assert_no_leaks();
}

#[test]
fn the_secret_lives_in_the_keyring_only() {
    let env = machine_env();
    set_secret(&env, SECRET);
    let account = env.sesame_ok(&["login", "machine"]);
    assert_eq!(env.keyring_lookup("client-secret:machine").as_deref(), Some(SECRET));
    assert_eq!(env.keyring_lookup(&account), None, "a machine account has no refresh token");
    assert_eq!(env.keyring_count(), 1);

    // Only providers that use a secret take one.
    let out = env.sesame_stdin(&["secret", "set", "nope"], "whatever\n");
    assert!(
        !out.status.success() && stderr(&out).contains("no provider `nope`"),
        "{}",
        stderr(&out)
    );
    let out = env.sesame_stdin(&["secret", "set", "local"], "whatever\n");
    assert!(!out.status.success() && stderr(&out).contains("public client"), "{}", stderr(&out));
    assert_eq!(env.keyring_count(), 1);

    // Only Sesame's own binaries may store a secret.
    let out = env.client_result(env.spawn_token_client(&[
        "--call",
        "provider.set_secret",
        r#"{"provider":"machine","secret":"planted-by-an-app"}"#,
    ]));
    out.expect_error("forbidden");
    assert_eq!(env.keyring_lookup("client-secret:machine").as_deref(), Some(SECRET));
    // Nor is it ever shown: not by the providers or accounts, not in the activity log.
    for args in [&["providers", "--json"][..], &["accounts", "--json"], &["activity", "--json"]] {
        assert!(!env.sesame_ok(args).contains(SECRET), "{args:?}");
    }
    // The database, config, logs and every other file of the run: the leak scan knows the
    // secret (and the planted one).
    env.remember_secret("planted-by-an-app");
    env.assert_no_leaks();
}

#[test]
fn sign_in_needs_the_right_secret() {
    let env = machine_env();
    let out = env.sesame(&["login", "machine"], &[]);
    assert!(!out.status.success());
    let msg = stderr(&out);
    assert!(
        msg.contains("needs a client secret") && msg.contains("`sesame secret set machine`"),
        "{msg}"
    );
    assert_eq!(
        env.idp_token_requests("client_credentials"),
        0,
        "nothing was sent without a secret"
    );

    let wrong = "not-the-machine-secret";
    env.remember_secret(wrong);
    set_secret(&env, wrong);
    let out = env.sesame(&["login", "machine"], &[]);
    assert!(!out.status.success());
    let msg = stderr(&out);
    assert!(msg.contains("invalid_client") && msg.contains("`sesame secret set machine`"), "{msg}");
    assert!(accounts(&env).is_empty(), "a refused sign-in creates no account");
    assert_eq!(env.keyring_count(), 1, "only the (wrong) secret");

    let said = set_secret(&env, SECRET);
    assert!(said.contains("replaces the previous one"), "{said}");
    env.sesame_ok(&["login", "machine"]);
    assert_eq!(accounts(&env).len(), 1);
    env.assert_no_leaks();
}

#[test]
fn logout_revokes_the_cached_tokens_and_keeps_the_secret_until_deleted() {
    let env = machine_env();
    set_secret(&env, SECRET);
    let account = env.sesame_ok(&["login", "machine"]);
    let token = env.token("machine", &[]);
    assert_machine_token(&env, &token, &["api:read", "api:write"]);

    let said = env.sesame_ok(&["logout", "machine"]);
    assert!(said.contains(&account) && said.contains("confirmed"), "{said}");
    assert_eq!(env.introspect(&token)["active"], json!(false), "revoked at the provider");
    assert!(accounts(&env).is_empty());
    assert!(env.grants().is_empty(), "the grants go with the account");
    // The secret belongs to the provider: signing in again needs no new one.
    assert_eq!(env.keyring_lookup("client-secret:machine").as_deref(), Some(SECRET));
    assert_eq!(env.sesame_ok(&["login", "machine"]), account, "the same id again");
    env.sesame_ok(&["logout", "machine"]);

    let said = env.sesame_ok(&["secret", "delete", "machine"]);
    assert!(said.contains("Deleted"), "{said}");
    assert_eq!(env.keyring_count(), 0);
    let said = env.sesame_ok(&["secret", "delete", "machine"]);
    assert!(said.contains("nothing to delete"), "{said}");
    let out = env.sesame(&["login", "machine"], &[]);
    assert!(
        !out.status.success() && stderr(&out).contains("`sesame secret set machine`"),
        "{}",
        stderr(&out)
    );
    env.assert_no_leaks();
}

/// On a terminal, `sesame secret set` prompts on stderr and does not echo what is typed.
#[test]
fn secret_set_on_a_terminal_does_not_echo() {
    let env = machine_env();
    // A pseudo-terminal as the CLI's stdin, stdout and stderr; "typing" after the prompt.
    const TYPE_INTO_PTY: &str = r#"
import json, os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "secret", "set", "machine"])
out = b""
while b"then Enter:" not in out:
    chunk = os.read(fd, 1024)
    if not chunk:
        break
    out += chunk
os.write(fd, (sys.argv[2] + "\n").encode())
while True:
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
print(json.dumps({"output": out.decode(errors="replace"), "code": os.waitstatus_to_exitcode(status)}))
"#;
    let out = env
        .command("python3")
        .args(["-c", TYPE_INTO_PTY])
        .arg(sesame_bin())
        .arg(SECRET)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    let shown = result["output"].as_str().unwrap();
    assert_eq!(result["code"], json!(0), "{shown}");
    assert!(
        shown.contains("Client secret of provider machine")
            && shown.contains("Stored the client secret"),
        "{shown}"
    );
    assert!(!shown.contains(SECRET), "the secret was echoed: {shown}");
    assert_eq!(env.keyring_lookup("client-secret:machine").as_deref(), Some(SECRET));
}

/// Confidential secrets are refused in the config file, with the command that stores them.
#[test]
fn client_secret_in_the_config_is_refused_for_confidential_clients() {
    let mut env = Env::start(Options::default());
    env.stop_daemon();
    let base = std::fs::read_to_string(&env.config).unwrap();
    let cases = [
        ("machine", format!("\n[[provider]]\nid = \"machine\"\nissuer = \"{}\"\nclient_id = \"machine-client\"\ngrant = \"client_credentials\"\nscopes = [\"api:read\"]\nclient_secret = \"{SECRET}\"\n", env.issuer)),
        ("gh", "\n[[provider]]\nid = \"gh\"\npreset = \"github\"\nclient_id = \"Iv23liABC\"\nclient_secret = \"0123456789abcdef-gh\"\n".to_owned()),
    ];
    for (id, table) in cases {
        let text = format!("{base}{table}");
        std::fs::write(&env.config, &text).unwrap();
        let line = text.lines().position(|l| l.starts_with("client_secret")).unwrap() + 1;
        let daemon = env.spawn_client(sesame_bin(), &["daemon"]);
        let out = env.finish_client(daemon, LONG);
        assert!(!out.status.success(), "the daemon must refuse the config");
        let msg = &out.stderr;
        assert!(
            msg.contains(&format!("line {line}"))
                && msg.contains(&format!("`sesame secret set {id}`")),
            "{msg}"
        );
        assert!(
            !msg.contains(SECRET) && !msg.contains("0123456789abcdef-gh"),
            "the error quotes no secret: {msg}"
        );
    }
    // The plain config is fine again.
    std::fs::write(&env.config, &base).unwrap();
    env.start_daemon();
}
