//! Per-app consent, end to end: real programs (the Rust `token-client`, Python scripts, the
//! `sesame` CLI run by a script) ask the real broker for tokens; the user answers with the
//! `sesame` CLI from a "terminal" (`Env::manage`, whose parent is a shell). Decisions,
//! grants, scopes and the activity log; who the caller is lives in callers.rs.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{json, Value};
use sesame_e2e::*;

#[test]
fn approve_once_hands_out_one_token_and_asks_again_next_time() {
    let (env, account) = setup(Options::default());
    let key = token_client_key();
    let mut client = env.spawn_token_client(&[&account]);

    let p = env.wait_pending_of(&key);
    assert_eq!(p["app"]["exe"], json!(key), "{p}");
    assert_eq!(p["via_cli"], json!(false), "{p}");
    assert_eq!(p["pid"], json!(client.pid), "the pid of the process that asked: {p}");
    assert_eq!(p["account"], json!(account), "{p}");
    assert_eq!(p["waiting"], json!(1), "{p}");
    // No scopes asked for and no grant yet: the account's scopes.
    assert_eq!(set_of(&p["scopes"]), account_scopes(&env, &account), "{p}");
    let lifetime = p["expires_at"].as_i64().unwrap() - p["created_at"].as_i64().unwrap();
    assert!(
        (110..=130).contains(&lifetime),
        "expires after the default 120 s consent timeout: {p}"
    );
    assert!(!p["app"]["name"].as_str().unwrap_or("").is_empty(), "a name for people: {p}");
    assert!(!client.is_finished(), "the request waits for the user");

    env.approve(&p, false);
    let out = env.client_result(client);
    let token = out.token();
    assert_eq!(out.ok()["account"], json!(account));
    assert_eq!(out.ok()["token_type"], json!("Bearer"));
    assert_active(&env, &token);
    assert!(env.pending().iter().all(|q| q["id"] != p["id"]), "the answered request is gone");
    assert!(grants_of(&env, &key).is_empty(), "approve once remembers nothing");

    // Approve once does not remember: the next request asks again.
    let client = env.spawn_token_client(&[&account]);
    let p2 = env.wait_pending_of(&key);
    assert_ne!(p2["id"], p["id"], "a new question");
    env.approve(&p2, false);
    let token2 = env.client_result(client).token();
    assert_active(&env, &token2);
    env.assert_no_leaks();
}

#[test]
fn approve_and_remember_makes_the_next_requests_immediate() {
    let (env, account) = setup(Options::default());
    let key = token_client_key();
    let client = env.spawn_token_client(&[&account]);
    let p = env.wait_pending_of(&key);
    env.approve(&p, true);
    let first = env.client_result(client).token();
    assert_active(&env, &first);

    let grants = grants_of(&env, &key);
    assert_eq!(grants.len(), 1, "one grant: {grants:?}");
    let g = &grants[0];
    assert_eq!(g["app"]["key"], json!(key), "{g}");
    assert_eq!(g["account"], json!(account), "{g}");
    assert_eq!(set_of(&g["scopes"]), account_scopes(&env, &account), "the scopes asked for: {g}");
    assert!(g["created_at"].as_i64().unwrap() > 0, "{g}");

    // Covered: no question, a token at once.
    let second = immediate(&env, env.spawn_token_client(&[&account]), &key);
    assert_active(&env, &second.token());
    let g = grants_of(&env, &key).remove(0);
    let uses = g["use_count"].as_u64().unwrap_or_else(|| panic!("use_count: {g}"));
    assert!(uses >= 1, "{g}");
    assert!(g["last_used_at"].as_i64().is_some(), "last_used_at is set after a hand-out: {g}");

    // A subset of the granted scopes is covered too.
    let third = immediate(
        &env,
        env.spawn_token_client(&[&account, "--scope", "openid", "--scope", "email"]),
        &key,
    );
    let info = assert_active(&env, &third.token());
    assert!(
        !scope_set(&info["scope"]).contains("api:write"),
        "the narrower set was minted: {info}"
    );
    let g = grants_of(&env, &key).remove(0);
    assert_eq!(
        g["use_count"].as_u64(),
        Some(uses + 1),
        "each hand-out under the grant counts: {g}"
    );
    assert!(uses + 1 >= 2, "{g}");
    assert!(g["last_used_at"].as_i64().unwrap() >= g["created_at"].as_i64().unwrap(), "{g}");
    assert_eq!(grants_of(&env, &key).len(), 1, "still one grant");

    // Every hand-out is logged, the covered ones too.
    let rows = env.activity(&["--app", &key]);
    let handed = rows.iter().filter(|r| r["event"] == "handed_out").count();
    assert_eq!(handed, 3, "three hand-outs: {rows:#?}");
    assert_eq!(rows.iter().filter(|r| r["event"] == "remembered").count(), 1, "{rows:#?}");
    env.assert_no_leaks();
}

#[test]
fn deny_gives_consent_denied() {
    let (env, account) = setup(Options::default());
    let key = token_client_key();
    let client = env.spawn_token_client(&[&account, "--scope", "openid"]);
    let p = env.wait_pending_of(&key);
    env.deny(&p);
    let out = env.client_result(client);
    let message = out.expect_error("consent_denied");
    assert!(!message.is_empty());
    assert!(env.pending().is_empty(), "nothing left pending");
    assert!(grants_of(&env, &key).is_empty(), "no grant");

    // One denial answers every request waiting on the question.
    let clients = [
        env.spawn_token_client(&[&account, "--scope", "email"]),
        env.spawn_token_client(&[&account, "--scope", "email"]),
    ];
    let p = env.wait_pending(|p| p["app"]["key"] == key && p["waiting"] == json!(2));
    env.deny(&p);
    for client in clients {
        env.client_result(client).expect_error("consent_denied");
    }
    assert!(env.pending().is_empty(), "nothing left pending");
    env.assert_no_leaks();
}

#[test]
fn nobody_answering_gives_consent_timeout() {
    let (env, account) = setup(Options { consent_timeout: 2, ..Default::default() });
    let key = token_client_key();
    let client = env.spawn_token_client(&[&account]);
    let p = env.wait_pending_of(&key);
    let lifetime = p["expires_at"].as_i64().unwrap() - p["created_at"].as_i64().unwrap();
    assert!((1..=4).contains(&lifetime), "expires after consent_timeout_secs = 2: {p}");
    let out = env.client_result(client);
    out.expect_error("consent_timeout");
    assert!(env.pending().is_empty(), "the timed-out request is no longer pending");
    // A late answer finds nothing to answer.
    let id = p["id"].as_u64().unwrap().to_string();
    let late = env.manage(&["approve", &id]);
    assert!(!late.status.success(), "approving a timed-out request fails");
    assert!(grants_of(&env, &key).is_empty());
    env.assert_no_leaks();
}

#[test]
fn identical_requests_collapse_into_one_question() {
    let (env, account) = setup(Options::default());
    let key = token_client_key();
    let clients = vec![
        env.spawn_token_client(&[&account, "--scope", "openid", "--scope", "email"]),
        env.spawn_token_client(&[&account, "--scope", "openid", "--scope", "email"]),
        // Same set, other order.
        env.spawn_token_client(&[&account, "--scope", "email", "--scope", "openid"]),
    ];
    let p = env.wait_pending(|p| p["app"]["key"] == key && p["waiting"] == json!(3));
    assert_eq!(set_of(&p["scopes"]), set(&["openid", "email"]), "{p}");
    let mine = pending_of(&env, &key);
    assert_eq!(mine.len(), 1, "one pending entry for three requests: {mine:?}");

    env.approve(&p, false);
    for client in clients {
        let out = env.client_result(client);
        let info = assert_active(&env, &out.token());
        assert_eq!(scope_set(&out.ok()["scope"]), set(&["openid", "email"]), "{}", out.stdout);
        assert!(!scope_set(&info["scope"]).contains("api:read"), "{info}");
    }
    assert!(env.pending().is_empty());
    env.assert_no_leaks();
}

#[test]
fn revoking_a_grant_asks_again_and_revoke_app_removes_all_its_grants() {
    let (env, account) = setup(Options::default());
    let key = token_client_key();
    let a: &[&str] = &["--scope", "openid", "--scope", "api:read"];
    let b: &[&str] = &["--scope", "openid", "--scope", "email"];
    let with = |scopes: &[&str]| {
        let mut args = vec![account.as_str()];
        args.extend_from_slice(scopes);
        env.spawn_token_client(&args)
    };
    let remember = |scopes: &[&str], expect: BTreeSet<String>| {
        let client = with(scopes);
        let p = env.wait_pending(|p| p["app"]["key"] == key && set_of(&p["scopes"]) == expect);
        env.approve(&p, true);
        assert_active(&env, &env.client_result(client).token());
    };

    remember(a, set(&["openid", "api:read"]));
    immediate(&env, with(a), &key).token();
    let grants = grants_of(&env, &key);
    assert_eq!(grants.len(), 1, "{grants:?}");
    let id = grants[0]["id"].as_i64().unwrap().to_string();
    env.manage_ok(&["revoke", &id]);
    assert!(grants_of(&env, &key).is_empty(), "the grant is gone");

    // The very next request asks again.
    remember(a, set(&["openid", "api:read"]));
    remember(b, set(&["openid", "email"]));
    // And another app's grant, which `revoke --app` must leave alone.
    let mail = client_script("mail_sync.py");
    let mail_key = script_key(&mail);
    let client = env.spawn_script(&mail, &[&account, "--scope", "openid"]);
    env.approve(&env.wait_pending_of(&mail_key), true);
    env.client_result(client).token();

    let grants = grants_of(&env, &key);
    let sets: BTreeSet<BTreeSet<String>> = grants.iter().map(|g| set_of(&g["scopes"])).collect();
    assert_eq!(
        sets,
        [set(&["openid", "api:read"]), set(&["openid", "email"])].into_iter().collect(),
        "{grants:?}"
    );

    let missing = env.manage(&["revoke", "999999"]);
    assert!(!missing.status.success(), "revoking a grant that does not exist fails");
    assert_eq!(stderr(&missing).trim().lines().count(), 1, "one sentence: {}", stderr(&missing));

    env.manage_ok(&["revoke", "--app", &key]);
    assert!(grants_of(&env, &key).is_empty(), "every grant of the app is gone: {:?}", env.grants());
    assert_eq!(grants_of(&env, &mail_key).len(), 1, "other apps keep theirs: {:?}", env.grants());

    // Both scope sets ask again.
    let ca = with(a);
    let cb = with(b);
    let pa = env.wait_pending(|p| {
        p["app"]["key"] == key && set_of(&p["scopes"]) == set(&["openid", "api:read"])
    });
    let pb = env.wait_pending(|p| {
        p["app"]["key"] == key && set_of(&p["scopes"]) == set(&["openid", "email"])
    });
    env.deny(&pa);
    env.deny(&pb);
    env.client_result(ca).expect_error("consent_denied");
    env.client_result(cb).expect_error("consent_denied");
    env.assert_no_leaks();
}

#[test]
fn a_grant_for_fewer_scopes_gets_a_narrower_token() {
    let (env, account) = setup(Options::default());
    let key = token_client_key();
    let narrow = set(&["openid", "api:read"]);
    let client = env.spawn_token_client(&[&account, "--scope", "openid", "--scope", "api:read"]);
    let p = env.wait_pending_of(&key);
    assert_eq!(set_of(&p["scopes"]), narrow, "{p}");
    env.approve(&p, true);
    let out = env.client_result(client);
    assert_eq!(scope_set(&out.ok()["scope"]), narrow, "{}", out.stdout);
    let info = assert_active(&env, &out.token());
    let granted = scope_set(&info["scope"]);
    assert!(
        granted.contains("api:read") && !granted.contains("api:write"),
        "the provider minted the narrow set: {info}"
    );

    let grants = grants_of(&env, &key);
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert_eq!(set_of(&grants[0]["scopes"]), narrow);

    // No scopes asked for: the grant's set, not the account's, and no question.
    let out = immediate(&env, env.spawn_token_client(&[&account]), &key);
    assert_eq!(scope_set(&out.ok()["scope"]), narrow, "{}", out.stdout);
    let info = assert_active(&env, &out.token());
    let granted = scope_set(&info["scope"]);
    assert!(granted.contains("api:read") && !granted.contains("api:write"), "{info}");

    // Anything beyond the grant asks again.
    let client = env.spawn_token_client(&[&account, "--scope", "api:write"]);
    let p = env.wait_pending_of(&key);
    assert_eq!(set_of(&p["scopes"]), set(&["api:write"]), "{p}");
    env.deny(&p);
    env.client_result(client).expect_error("consent_denied");
    env.assert_no_leaks();
}

#[test]
fn the_activity_log_records_every_decision_newest_first() {
    let (env, account) = setup(Options { consent_timeout: 3, ..Default::default() });
    let tc = token_client_key();
    let mail = client_script("mail_sync.py");
    let calendar = client_script("calendar_sync.py");
    let mail_key = script_key(&mail);
    let calendar_key = script_key(&calendar);
    let mut tokens = vec![];

    // 1. approve once
    let client = env.spawn_token_client(&[&account, "--scope", "openid"]);
    env.approve(&env.wait_pending_of(&tc), false);
    tokens.push(env.client_result(client).token());
    // 2. approve and remember
    let client = env.spawn_token_client(&[&account, "--scope", "openid", "--scope", "email"]);
    env.approve(
        &env.wait_pending(|p| {
            p["app"]["key"] == tc && set_of(&p["scopes"]) == set(&["openid", "email"])
        }),
        true,
    );
    tokens.push(env.client_result(client).token());
    // 3. deny
    let client = env.spawn_script(&mail, &[&account, "--scope", "profile"]);
    env.deny(&env.wait_pending_of(&mail_key));
    env.client_result(client).expect_error("consent_denied");
    // 4. nobody answers
    let client = env.spawn_script(&calendar, &[&account]);
    env.wait_pending_of(&calendar_key);
    env.client_result(client).expect_error("consent_timeout");
    // 5. revoke
    let grant = grants_of(&env, &tc).remove(0);
    env.manage_ok(&["revoke", &grant["id"].as_i64().unwrap().to_string()]);

    let text = env.manage_ok(&["activity", "--json"]);
    let rows: Vec<Value> =
        serde_json::from_str::<Value>(&text).unwrap().as_array().unwrap().clone();
    for t in &tokens {
        assert!(!text.contains(t.as_str()), "no token in the activity log");
    }
    let table = env.manage_ok(&["activity"]);
    for t in &tokens {
        assert!(!table.contains(t.as_str()), "no token in the activity table");
    }
    for w in rows.windows(2) {
        assert!(w[0]["id"].as_i64() > w[1]["id"].as_i64(), "newest first: {w:?}");
        assert!(w[0]["at"].as_i64() >= w[1]["at"].as_i64(), "newest first: {w:?}");
    }

    let pos = |event: &str, app: &str, scopes: Option<BTreeSet<String>>| -> usize {
        let (i, row) = find(&rows, |r| {
            r["event"] == event
                && r["app"] == app
                && scopes.as_ref().is_none_or(|s| &set_of(&r["scopes"]) == s)
        })
        .unwrap_or_else(|| panic!("no {event} row for {app} ({scopes:?}) in {rows:#?}"));
        assert_eq!(row["account"], json!(account), "{row}");
        assert!(!row["app_name"].as_str().unwrap_or("").is_empty(), "{row}");
        i
    };
    let revoked = pos("revoked", &tc, None);
    let timed_out = pos("timed_out", &calendar_key, Some(account_scopes(&env, &account)));
    let denied = pos("denied", &mail_key, Some(set(&["profile"])));
    let remembered = pos("remembered", &tc, Some(set(&["openid", "email"])));
    let approved = pos("approved", &tc, Some(set(&["openid"])));
    let handed_2 = pos("handed_out", &tc, Some(set(&["openid", "email"])));
    let handed_1 = pos("handed_out", &tc, Some(set(&["openid"])));
    assert!(
        revoked < timed_out && timed_out < denied && denied < handed_2 && handed_2 < remembered && remembered < handed_1 && handed_1 < approved,
        "order (newest first): revoked {revoked}, timed_out {timed_out}, denied {denied}, handed_out {handed_2}, remembered {remembered}, handed_out {handed_1}, approved {approved}\n{rows:#?}"
    );
    assert!(rows[denied]["app_name"].as_str().unwrap().contains("mail_sync"), "{}", rows[denied]);

    // --app filters, --limit limits.
    let only_mail = env.activity(&["--app", &mail_key]);
    assert!(
        !only_mail.is_empty() && only_mail.iter().all(|r| r["app"] == mail_key),
        "{only_mail:?}"
    );
    assert!(only_mail.iter().any(|r| r["event"] == "denied"), "{only_mail:?}");
    let by_name = env.activity(&["--app", "mail_sync"]);
    assert!(
        by_name.iter().any(|r| r["event"] == "denied" && r["app"] == mail_key),
        "part of a key or name matches: {by_name:?}"
    );
    assert!(
        by_name.iter().all(|r| r["app"].as_str().unwrap().contains("mail_sync")
            || r["app_name"].as_str().unwrap().contains("mail_sync")),
        "{by_name:?}"
    );
    let only_calendar = env.activity(&["--app", &calendar_key]);
    assert!(
        only_calendar.iter().all(|r| r["app"] == calendar_key)
            && only_calendar.iter().any(|r| r["event"] == "timed_out"),
        "{only_calendar:?}"
    );
    let two = env.activity(&["--limit", "2"]);
    assert_eq!(two.len(), 2, "{two:?}");
    assert_eq!(
        two.iter().map(|r| r["id"].clone()).collect::<Vec<_>>(),
        rows[..2].iter().map(|r| r["id"].clone()).collect::<Vec<_>>()
    );
    env.assert_no_leaks();
}

/// Opens the socket to other users, as a careless setup might: the broker itself must still
/// refuse them.
#[test]
fn errors_before_consent_never_wait() {
    let (env, account) = setup(Options::default());
    let key = token_client_key();
    immediate(&env, env.spawn_token_client(&["no-such-account"]), &key)
        .expect_error("no_such_account");
    immediate(&env, env.spawn_token_client(&[&account, "--scope", "admin"]), &key)
        .expect_error("insufficient_scope");
    assert!(env.grants().is_empty());
    // A program holding grants for two accounts of a provider must name one.
    let bob = env.login("bob");
    for id in [&account, &bob] {
        let client = env.spawn_token_client(&[id]);
        env.approve(&env.wait_pending_of(&key), true);
        env.client_result(client).token();
    }
    immediate(&env, env.spawn_token_client(&["local"]), &key).expect_error("ambiguous_account");
    env.assert_no_leaks();
}

#[test]
fn consent_commands_have_help_and_clear_errors() {
    let env = Env::start(Options::default());
    for cmd in ["pending", "approve", "deny", "grants", "revoke", "activity"] {
        let out = env.manage(&[cmd, "--help"]);
        assert!(out.status.success(), "{cmd} --help: {}", stderr(&out));
        assert!(stdout(&out).contains("Usage"), "{cmd} --help: {}", stdout(&out));
    }
    assert_eq!(env.manage_json(&["pending", "--json"]), json!([]));
    assert_eq!(env.manage_json(&["grants", "--json"]), json!([]));
    for args in [
        &["approve", "424242"][..],
        &["approve", "424242", "--remember"],
        &["deny", "424242"],
        &["revoke", "424242"],
    ] {
        let out = env.manage(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let msg = stderr(&out);
        assert_eq!(msg.trim().lines().count(), 1, "{args:?}: one sentence: {msg}");
        assert!(!msg.trim().is_empty());
    }
    env.assert_no_leaks();
}

#[test]
fn grants_and_activity_survive_a_restart_and_stopping_does_not_wait_for_answers() {
    let (mut env, account) = setup(Options::default());
    let key = token_client_key();
    let client = env.spawn_token_client(&[&account, "--scope", "openid"]);
    env.approve(&env.wait_pending_of(&key), true);
    env.client_result(client).token();

    // A request waiting for an answer does not hold up a clean stop.
    let waiting = env.spawn_token_client(&[&account, "--scope", "email"]);
    env.wait_pending(|p| p["app"]["key"] == key && set_of(&p["scopes"]) == set(&["email"]));
    let status = env.stop_daemon();
    assert_eq!(status.code(), Some(0), "clean exit with a request pending\n{}", env.daemon_log());
    let out = env.client_result(waiting);
    assert!(
        !out.status.success() && out.json.get("ok").is_none(),
        "no token without an answer: {}",
        out.stdout
    );

    env.start_daemon();
    assert!(env.pending().is_empty(), "questions do not survive the broker");
    let grants = grants_of(&env, &key);
    assert_eq!(grants.len(), 1, "the grant is remembered across restarts: {grants:?}");
    let out = immediate(&env, env.spawn_token_client(&[&account, "--scope", "openid"]), &key);
    assert_active(&env, &out.token());
    let rows = env.activity(&["--app", &key]);
    assert!(rows.iter().any(|r| r["event"] == "remembered"), "the log survives too: {rows:?}");
    env.assert_no_leaks();
}

#[test]
fn a_client_that_gives_up_does_not_disturb_the_broker() {
    let (env, account) = setup(Options::default());
    let key = token_client_key();
    let client = env.spawn_token_client(&[&account]);
    let p = env.wait_pending_of(&key);
    let pid = client.pid;
    drop(client); // killed
    assert!(wait_for(LONG, || std::fs::metadata(format!("/proc/{pid}")).is_err().then_some(()))
        .is_some());
    // Answering now is harmless (it may or may not still be listed), and the broker serves on.
    let _ = env.manage(&["approve", &p["id"].as_u64().unwrap().to_string()]);
    assert!(grants_of(&env, &key).is_empty(), "approve once remembers nothing");
    let client = env.spawn_token_client(&[&account]);
    let p2 = env.wait_pending(|q| q["app"]["key"] == key && q["pid"] == json!(client.pid));
    assert_eq!(p2["waiting"], json!(1), "the dead client is not counted: {p2}");
    env.approve(&p2, false);
    assert_active(&env, &env.client_result(client).token());
    env.assert_no_leaks();
}

#[test]
fn the_activity_log_stays_within_its_row_limit() {
    let (env, account) =
        setup(Options { top_config: "activity_max_rows = 5".into(), ..Default::default() });
    let key = token_client_key();
    let first = env.spawn_token_client(&[&account]);
    env.approve(&env.wait_pending_of(&key), true);
    env.client_result(first).token();
    // 1 remembered + 12 hand-outs: far more rows than the limit.
    for _ in 0..12 {
        immediate(&env, env.spawn_token_client(&[&account]), &key).token();
    }
    let rows = env.activity(&["--limit", "1000"]);
    // Pruning runs in the background every `activity_max_rows` rows, so at most one batch
    // beyond the limit can be there between two prunes.
    assert!(rows.len() <= 10, "the log was pruned to its limit: {} rows", rows.len());
    assert_eq!(rows[0]["event"], json!("handed_out"), "the newest rows are the ones kept");
    env.assert_no_leaks();
}
