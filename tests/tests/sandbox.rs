//! Sandboxed callers are kept in their box: Sesame's own `sesame`, run inside bubblewrap
//! (the real root read-only, its own mount namespace) or in its own mount namespace
//! (`unshare -m`), is not Sesame's own binary and may not manage; and `accounts.list` shows
//! a program only the accounts it was granted, without anything personal.

mod common;

use common::*;
use serde_json::{json, Value};
use sesame_e2e::*;

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn a_sesame_in_a_sandbox_may_not_manage() {
    assert!(is_root(), "`unshare -m` needs root (CI runs the tests as root)");
    let (env, account) = setup(Options::default());
    let waiting = env.spawn_token_client(&[&account]);
    let p = env.wait_pending_of(&token_client_key());
    let id = p["id"].to_string();
    let sesame = sesame_bin().canonicalize().unwrap();
    let sesame_key = sesame.to_string_lossy().into_owned();

    for sandbox in [Sandbox::Bwrap, Sandbox::Unshare] {
        let attempts = [
            (vec!["pending", "--json"], "pending.list"),
            (vec!["approve", id.as_str(), "--remember"], "pending.answer"),
            (vec!["grants", "--json"], "grants.list"),
            (vec!["revoke", "--app", "x"], "grants.revoke"),
        ];
        for (args, method) in attempts {
            let boxed = env.run_boxed(sandbox, &sesame, &args);
            // The box was real: the shell in it had another mount namespace than ours.
            assert_ne!(boxed.mount_ns, own_mount_ns(), "{sandbox:?} shares our namespace");
            let said = stderr(&boxed.output);
            assert_eq!(boxed.output.status.code(), Some(1), "{sandbox:?} {args:?}: {said}");
            // The broker heard the call and refused it (the CLI relays its sentence).
            assert!(
                said.contains(&format!("only Sesame's own tools may call `{method}`")),
                "{sandbox:?} {args:?}: {said}"
            );
            assert!(boxed.stdout.trim().is_empty(), "{sandbox:?}: {}", boxed.stdout);
        }
    }

    // The broker saw the boxed CLI at Sesame's own path, as itself (not as its parent), and
    // logged each refusal with the method.
    let rows = env.activity(&["--app", &sesame_key, "--limit", "1000"]);
    for method in ["pending.list", "pending.answer", "grants.list", "grants.revoke"] {
        let detail = format!("management call {method}");
        let refused: Vec<&Value> = rows
            .iter()
            .filter(|r| r["event"] == "refused" && r["detail"] == detail.as_str())
            .collect();
        assert!(!refused.is_empty(), "{method}'s refusal is logged: {rows:?}");
        // `--app` also matches by name: the key itself is Sesame's own path.
        assert!(refused.iter().all(|r| r["app"] == json!(sesame_key)), "{refused:?}");
        let count: u64 = refused.iter().map(|r| r["count"].as_u64().unwrap_or(1)).sum();
        assert_eq!(count, 2, "both boxes were refused: {refused:?}");
    }

    // Nothing was approved: the question waits, no grant; the user's own CLI answers it.
    assert!(env.pending().iter().any(|q| q["id"] == p["id"]), "still pending");
    assert!(env.grants().is_empty(), "no grant: {:?}", env.grants());
    env.deny(&p);
    env.client_result(waiting).expect_error("consent_denied");
    env.assert_no_leaks();
}

/// `accounts.list` from `token-client`: its reply, and the raw line it printed.
fn accounts_seen_by_a_program(env: &Env) -> (Vec<Value>, String) {
    let out = env.client_result(env.spawn_token_client(&["--call", "accounts.list", "{}"]));
    let list = out.ok()["accounts"].as_array().cloned().expect("a list of accounts");
    (list, out.stdout)
}

#[test]
fn accounts_list_shows_a_program_only_what_it_was_granted() {
    let (env, alice) = setup(Options::default());
    let bob = env.login("bob");
    let key = token_client_key();
    let all = env.manage_json(&["accounts", "--json"]);
    let emails: Vec<String> =
        all.as_array().unwrap().iter().map(|a| a["email"].as_str().unwrap().to_owned()).collect();
    assert_eq!(emails.len(), 2, "{all}");

    // Ungranted: nothing, so nothing personal.
    let (seen, raw) = accounts_seen_by_a_program(&env);
    assert!(seen.is_empty(), "an ungranted program sees no account: {raw}");

    // Granted alice's account: that one, by id, provider and its granted scopes only.
    let client = env.spawn_token_client(&[&alice]);
    env.approve(&env.wait_pending_of(&key), true);
    env.client_result(client).token();
    let (seen, raw) = accounts_seen_by_a_program(&env);
    assert_eq!(seen.len(), 1, "{raw}");
    let granted = set_of(&grants_of(&env, &key)[0]["scopes"]);
    assert_eq!(seen[0]["id"], json!(alice), "{raw}");
    assert_eq!(seen[0]["provider"], json!("local"), "{raw}");
    assert_eq!(set_of(&seen[0]["scopes"]), granted, "{raw}");
    let fields: Vec<&String> = seen[0].as_object().unwrap().keys().collect();
    assert_eq!(fields, ["id", "provider", "scopes"], "nothing more: {raw}");
    for personal in
        emails.iter().map(String::as_str).chain(["alice", "bob", bob.as_str(), "subject"])
    {
        assert!(!raw.contains(personal), "{personal:?} reached the program: {raw}");
    }

    // Sesame's own CLI still sees every account, complete.
    let all = env.manage_json(&["accounts", "--json"]);
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert!(all.as_array().unwrap().iter().all(|a| a["subject"].is_string()), "{all}");
    env.assert_no_leaks();
}
