//! A grant is bound to what the program *is*, not only to its path: a rewritten script or
//! another binary at the approved path is asked about again ("changed since you allowed
//! it"), the bytes the user allowed are covered again, and a grant from before Sesame
//! recorded content is bound at its next use.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::{json, Value};
use sesame_e2e::*;

/// `file` copied to `<env>/apps/<name>`, canonical (the path the broker will report).
fn install(env: &Env, file: &Path, name: &str) -> PathBuf {
    let dir = env.dir.join("apps");
    std::fs::create_dir_all(&dir).unwrap();
    let to = dir.join(name);
    std::fs::copy(file, &to).unwrap();
    to.canonicalize().unwrap()
}

fn has_dpkg() -> bool {
    Path::new("/usr/bin/dpkg-query").exists()
}

/// The one grant of `key`.
fn the_grant(env: &Env, key: &str) -> Value {
    let grants = grants_of(env, key);
    assert_eq!(grants.len(), 1, "one grant of {key}: {grants:?}");
    grants[0].clone()
}

#[test]
fn a_rewritten_script_is_asked_about_again() {
    let (env, account) = setup(Options::default());
    let script = install(&env, &client_script("mail_sync.py"), "mail_sync.py");
    let key = script_key(&script);
    let original = std::fs::read(&script).unwrap();
    let original_sha = sha256_file(&script);

    let client = env.spawn_script(&script, &[&account]);
    let p = env.wait_pending_of(&key);
    assert!(p["changed"].is_null(), "a first question is no change: {p}");
    let content = &p["app"]["content"];
    assert_eq!(content["script"]["sha256"], json!(original_sha), "{p}");
    assert_eq!(content["exe"]["sha256"], json!(sha256_file(&python_exe())), "{p}");
    assert!(content["script"]["package"].is_null(), "a script of mine is no package's: {p}");
    if has_dpkg() && python_exe().starts_with("/usr/bin") {
        let package = content["exe"]["package"]["name"].as_str().unwrap_or_default();
        assert!(package.starts_with("python3"), "the interpreter is Debian's: {p}");
    }
    env.approve(&p, true);
    env.client_result(client).token();
    let grant = the_grant(&env, &key);
    assert_eq!(grant["app"]["content"]["script"]["sha256"], json!(original_sha), "{grant}");
    immediate(&env, env.spawn_script(&script, &[&account]), &key).token();

    // The same path, other bytes: asked again, and the question says what changed.
    let mut changed = original.clone();
    changed.extend_from_slice(b"\n# one more line\n");
    std::fs::write(&script, &changed).unwrap();
    let changed_sha = sha256_file(&script);
    let client = env.spawn_script(&script, &[&account]);
    let p = env.wait_pending_of(&key);
    assert_eq!(p["changed"]["grant"], grant["id"], "{p}");
    assert_eq!(p["changed"]["parts"], json!(["script"]), "{p}");
    assert_eq!(p["changed"]["allowed"]["script"]["sha256"], json!(original_sha), "{p}");
    assert_eq!(p["app"]["content"]["script"]["sha256"], json!(changed_sha), "{p}");
    let said = env.manage_ok(&["pending"]);
    assert!(said.contains("changed since you allowed it: the script differs"), "{said}");
    env.deny(&p);
    env.client_result(client).expect_error("consent_denied");
    let kept = the_grant(&env, &key);
    assert_eq!(kept["app"]["content"], grant["app"]["content"], "the grant is as allowed");

    // Restored: the bytes the grant was given to are covered again.
    std::fs::write(&script, &original).unwrap();
    immediate(&env, env.spawn_script(&script, &[&account]), &key).token();

    // "Always allow" for the new bytes moves the grant to them; then the old ones differ.
    std::fs::write(&script, &changed).unwrap();
    let client = env.spawn_script(&script, &[&account]);
    let p = env.wait_pending_of(&key);
    assert!(p["changed"].is_object(), "{p}");
    env.approve(&p, true);
    env.client_result(client).token();
    let moved = the_grant(&env, &key);
    assert_eq!(moved["id"], grant["id"], "the same grant, re-allowed");
    assert_eq!(moved["app"]["content"]["script"]["sha256"], json!(changed_sha), "{moved}");
    std::fs::write(&script, &original).unwrap();
    let client = env.spawn_script(&script, &[&account]);
    let p = env.wait_pending_of(&key);
    assert_eq!(p["changed"]["allowed"]["script"]["sha256"], json!(changed_sha), "{p}");
    env.deny(&p);
    env.client_result(client).expect_error("consent_denied");
    env.assert_no_leaks();
}

#[test]
fn another_binary_at_the_approved_path_is_asked_about_again() {
    let (env, account) = setup(Options::default());
    let program = install(&env, &token_client_bin(), "mailer");
    let key = program.to_string_lossy().into_owned();
    let original = std::fs::read(&program).unwrap();

    let client = env.spawn_client(&program, &[&account]);
    let p = env.wait_pending_of(&key);
    assert_eq!(p["app"]["content"]["exe"]["sha256"], json!(sha256_file(&program)), "{p}");
    assert!(p["app"]["content"]["exe"]["package"].is_null(), "{p}");
    env.approve(&p, true);
    env.client_result(client).token();
    immediate(&env, env.spawn_client(&program, &[&account]), &key).token();

    // Overwritten in place (same inode) by another build: the program with a tail appended,
    // which still runs and asks, but is not the bytes the user allowed.
    let mut other = original.clone();
    other.extend_from_slice(b"\0not the program you allowed");
    std::fs::write(&program, &other).unwrap();
    let client = env.spawn_client(&program, &[&account]);
    let p = env.wait_pending_of(&key);
    assert_eq!(p["changed"]["parts"], json!(["executable"]), "{p}");
    assert_eq!(p["app"]["content"]["exe"]["sha256"], json!(sha256_file(&program)), "{p}");
    env.deny(&p);
    env.client_result(client).expect_error("consent_denied");

    std::fs::write(&program, &original).unwrap();
    immediate(&env, env.spawn_client(&program, &[&account]), &key).token();
    let rows = env.activity(&["--app", &key]);
    let denied = rows.iter().filter(|r| r["event"] == "denied").count();
    assert_eq!(denied, 1, "the changed binary was asked about, once: {rows:?}");
    env.assert_no_leaks();
}

#[test]
fn a_grant_from_before_content_binding_is_bound_at_its_next_use() {
    let (mut env, account) = setup(Options::default());
    let key = token_client_key();
    let client = env.spawn_token_client(&[&account]);
    env.approve(&env.wait_pending_of(&key), true);
    env.client_result(client).token();

    env.stop_daemon();
    env.forget_grant_contents();
    env.start_daemon();
    let grant = the_grant(&env, &key);
    assert!(grant["app"]["content"].is_null(), "as an older Sesame stored it: {grant}");
    let said = env.manage_ok(&["grants"]);
    assert!(said.contains("not recorded yet"), "{said}");

    immediate(&env, env.spawn_token_client(&[&account]), &key).token();
    let bound = the_grant(&env, &key);
    let content = &bound["app"]["content"];
    assert_eq!(content["exe"]["sha256"], json!(sha256_file(&token_client_bin())), "{bound}");
    assert_eq!(content["updated"]["reason"]["kind"], json!("first_use"), "{bound}");
    let said = env.manage_ok(&["grants"]);
    assert!(said.contains("bound to the program at its first use"), "{said}");
    let rows = env.activity(&["--app", &key]);
    let detail = format!("grant {}: ", grant["id"]);
    assert!(
        rows.iter()
            .any(|r| r["event"] == "updated"
                && r["detail"].as_str().unwrap_or("").starts_with(&detail)),
        "the binding is in the log: {rows:?}"
    );
    // From now on it is bound: the next use is plainly covered, with no second binding.
    immediate(&env, env.spawn_token_client(&[&account]), &key).token();
    let rows = env.activity(&["--app", &key]);
    assert_eq!(rows.iter().filter(|r| r["event"] == "updated").count(), 1, "{rows:?}");
    env.assert_no_leaks();
}
