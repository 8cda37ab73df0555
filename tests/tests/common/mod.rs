//! Helpers shared by the consent test files.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sesame_e2e::*;

pub const LONG: Duration = Duration::from_secs(30);

pub fn setup(opts: Options) -> (Env, String) {
    let env = Env::start(opts);
    let account = env.login("alice");
    (env, account)
}

pub fn set_of(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// An OAuth `scope` string as a set.
pub fn scope_set(v: &Value) -> BTreeSet<String> {
    v.as_str()
        .unwrap_or_else(|| panic!("not a scope string: {v}"))
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

pub fn account_scopes(env: &Env, account: &str) -> BTreeSet<String> {
    let accounts: Value = serde_json::from_str(&env.sesame_ok(&["accounts", "--json"])).unwrap();
    let a = accounts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == account)
        .unwrap_or_else(|| panic!("{account} not in {accounts}"));
    set_of(&a["scopes"])
}

pub fn grants_of(env: &Env, key: &str) -> Vec<Value> {
    env.grants().into_iter().filter(|g| g["app"]["key"] == key).collect()
}

pub fn pending_of(env: &Env, key: &str) -> Vec<Value> {
    env.pending().into_iter().filter(|p| p["app"]["key"] == key).collect()
}

/// A request that a grant covers (or that fails before consent): it never shows up as
/// pending and finishes within 20 s.
pub fn immediate(env: &Env, mut client: ClientProc, key: &str) -> ClientOutput {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !client.is_finished() {
        let pending = env.pending();
        assert!(
            pending.iter().all(|p| p["app"]["key"] != key),
            "the request became pending: {pending:?}"
        );
        assert!(
            Instant::now() < deadline,
            "the request did not finish within 20 s\n{}",
            env.daemon_log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let pending = env.pending();
    assert!(
        pending.iter().all(|p| p["app"]["key"] != key),
        "the request became pending: {pending:?}"
    );
    env.finish_client(client, Duration::from_secs(5))
}

pub fn assert_active(env: &Env, token: &str) -> Value {
    let info = env.introspect(token);
    assert_eq!(info["active"], json!(true), "{info}");
    assert_eq!(info["sub"], json!("alice"), "{info}");
    info
}

pub fn find(rows: &[Value], pred: impl Fn(&Value) -> bool) -> Option<(usize, &Value)> {
    rows.iter().enumerate().find(|(_, r)| pred(r))
}
