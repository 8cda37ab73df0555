//! Approval lengths and the account choice, end to end: `sesame approve --for`, `--until-lock`
//! against a screensaver (and logind) on the test's private buses, a broker restart, and a
//! provider with two signed-in people whose question lets the user pick the account.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use sesame_e2e::*;

const FREEDESKTOP: &str = "org.freedesktop.ScreenSaver";
const GNOME: &str = "org.gnome.ScreenSaver";

fn id_of(p: &Value) -> String {
    p["id"].as_u64().unwrap_or_else(|| panic!("no id in {p}")).to_string()
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The `lapsed` row of grant `id` (10 s).
fn lapse_row(env: &Env, id: &Value) -> Value {
    let detail = format!("grant {id},");
    wait_for(Duration::from_secs(10), || {
        let rows = env.activity(&[]);
        rows.into_iter().find(|r| {
            r["event"] == "lapsed" && r["detail"].as_str().unwrap_or("").starts_with(&detail)
        })
    })
    .unwrap_or_else(|| panic!("no lapsed row for grant {id}: {:#?}", env.activity(&[])))
}

/// Waits (10 s) until `sesame grants` no longer lists grant `id`.
fn wait_gone(env: &Env, id: &Value) {
    wait_for(Duration::from_secs(10), || env.grants().iter().all(|g| g["id"] != *id).then_some(()))
        .unwrap_or_else(|| panic!("grant {id} is still listed: {:#?}", env.grants()));
}

#[test]
fn a_grant_for_two_seconds_shows_its_end_then_lapses_and_asks_again() {
    let (env, account) = setup(Options::default());
    let key = token_client_key();

    // `--for 1h`: covered meanwhile, with its end in `grants`.
    let client = env.spawn_token_client(&[&account, "--scope", "openid"]);
    let p = env.wait_pending_of(&key);
    let said = env.manage_ok(&["approve", &id_of(&p), "--for", "1h"]);
    assert!(said.contains("for 1 h (until 20"), "{said}");
    env.client_result(client).token();
    let g = grants_of(&env, &key).remove(0);
    let end = g["expires_at"].as_i64().unwrap_or_else(|| panic!("no expires_at: {g}"));
    assert!((3590..=3610).contains(&(end - now())), "an hour from now: {g}");
    assert_eq!(g["until_lock"], json!(false), "{g}");
    immediate(&env, env.spawn_token_client(&[&account, "--scope", "openid"]), &key).token();

    // `--for 2s`: the table shows when it ends, to the second.
    let client = env.spawn_token_client(&[&account, "--scope", "email"]);
    let p = env.wait_pending_of(&key);
    env.manage_ok(&["approve", &id_of(&p), "--for", "2s"]);
    let approved = Instant::now();
    assert_active(&env, &env.client_result(client).token());
    let g = grants_of(&env, &key).into_iter().find(|g| g["scopes"] == json!(["email"])).unwrap();
    let end = g["expires_at"].as_i64().unwrap_or_else(|| panic!("no expires_at: {g}"));
    assert!((1..=3).contains(&(end - now())), "two seconds from now: {g}");
    let table = env.manage_ok(&["grants"]);
    assert!(table.lines().next().unwrap().trim_end().ends_with("ENDS"), "{table}");
    let row = table.lines().find(|l| l.starts_with(&format!("{} ", g["id"]))).unwrap();
    let ends = row.trim_end().rsplit(' ').nth(1).unwrap();
    assert_eq!(ends.matches(':').count(), 2, "the end, to the second: {row}");
    let rows = env.activity(&["--app", &key]);
    let remembered = rows.iter().find(|r| r["event"] == "remembered").unwrap();
    assert!(remembered["detail"].as_str().unwrap().contains("for 2 s"), "{remembered}");

    // 3 s after the answer: it covers nothing, the request asks again.
    std::thread::sleep(Duration::from_secs(3).saturating_sub(approved.elapsed()));
    let client = env.spawn_token_client(&[&account, "--scope", "email"]);
    let p = env.wait_pending_of(&key);
    assert_eq!(p["scopes"], json!(["email"]), "{p}");
    env.deny(&p);
    env.client_result(client).expect_error("consent_denied");

    // The lapse is in the log, and the grant is gone from `grants`; the hour one stays.
    let row = lapse_row(&env, &g["id"]);
    assert!(row["detail"].as_str().unwrap().contains("its time was up"), "{row}");
    assert_eq!(row["account"], json!(account), "{row}");
    assert_eq!(row["app"], json!(key), "{row}");
    wait_gone(&env, &g["id"]);
    assert_eq!(grants_of(&env, &key).len(), 1, "the 1 h grant is still there");

    // What is not a length is refused before anything is asked.
    for bad in ["8", "8x", "0s", "8d"] {
        let out = env.manage(&["approve", "1", "--for", bad]);
        assert!(!out.status.success(), "--for {bad}");
        assert!(stderr(&out).contains(&format!("`{bad}`")), "{}", stderr(&out));
    }
    env.assert_no_leaks();
}

#[test]
fn an_until_lock_grant_lapses_when_the_screensaver_turns_on_and_not_for_a_forger() {
    let (mut env, account) = setup(Options::default());
    env.wait_daemon_log("following the screensaver's lock on the session bus");
    let key = token_client_key();
    let client = env.spawn_token_client(&[&account]);
    let p = env.wait_pending_of(&key);
    let said = env.manage_ok(&["approve", &id_of(&p), "--until-lock"]);
    assert!(said.contains("until the screen locks"), "{said}");
    env.client_result(client).token();
    let g = grants_of(&env, &key).remove(0);
    assert_eq!(g["until_lock"], json!(true), "{g}");
    assert!(g.get("expires_at").is_none_or(Value::is_null), "{g}");
    assert!(env.manage_ok(&["grants"]).contains("when the screen locks"));
    immediate(&env, env.spawn_token_client(&[&account]), &key).token();

    // A program that does not own the screensaver's name: to everyone (the bus does not
    // deliver it to the broker), and straight to each of the broker's connections.
    let forger = env.session_peer(&[]);
    forger.active_changed(FREEDESKTOP, None, true);
    let daemon = env.daemon_pid().unwrap();
    let targets = forger.connections_of(daemon);
    assert!(!targets.is_empty(), "the broker is on the session bus");
    for to in &targets {
        forger.active_changed(FREEDESKTOP, Some(to), true);
        forger.active_changed(GNOME, Some(to), true);
    }
    env.wait_daemon_log("ignored a lock signal from a program that is not the name's owner");
    // The screensaver itself, turning off: nothing ends either.
    let screensaver = env.session_peer(&[FREEDESKTOP]);
    screensaver.active_changed(FREEDESKTOP, None, false);
    std::thread::sleep(Duration::from_millis(500));
    immediate(&env, env.spawn_token_client(&[&account]), &key).token();
    assert_eq!(grants_of(&env, &key).len(), 1);

    // The screen locks.
    screensaver.active_changed(FREEDESKTOP, None, true);
    wait_gone(&env, &g["id"]);
    let row = lapse_row(&env, &g["id"]);
    assert!(row["detail"].as_str().unwrap().contains("the screen locked"), "{row}");
    let client = env.spawn_token_client(&[&account]);
    let p = env.wait_pending_of(&key);
    env.deny(&p);
    env.client_result(client).expect_error("consent_denied");
    env.assert_no_leaks();
}

#[test]
fn until_lock_grants_end_with_gnomes_screensaver_with_sleep_and_with_the_broker() {
    let (mut env, account) = setup(Options { system_bus: true, ..Default::default() });
    env.wait_daemon_log("following the screensaver's lock on the session bus");
    env.wait_daemon_log("following logind's Lock and PrepareForSleep on the system bus");
    let key = token_client_key();
    let until_lock = |scope: &str| {
        let client = env.spawn_token_client(&[&account, "--scope", scope]);
        let p = env.wait_pending_of(&key);
        env.manage_ok(&["approve", &id_of(&p), "--until-lock"]);
        env.client_result(client).token();
        grants_of(&env, &key).into_iter().find(|g| g["scopes"] == json!([scope])).unwrap()
    };

    let g = until_lock("openid");
    let gnome = env.session_peer(&[GNOME]);
    gnome.active_changed(GNOME, None, true);
    wait_gone(&env, &g["id"]);
    assert!(lapse_row(&env, &g["id"])["detail"].as_str().unwrap().contains("the screen locked"));

    let g = until_lock("email");
    let logind = env.system_peer(&["org.freedesktop.login1"]);
    logind.prepare_for_sleep(false); // after a wake-up: nothing to end
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(grants_of(&env, &key).len(), 1);
    logind.prepare_for_sleep(true);
    wait_gone(&env, &g["id"]);
    let row = lapse_row(&env, &g["id"]);
    assert!(row["detail"].as_str().unwrap().contains("the system went to sleep"), "{row}");

    // A broker that stops takes its until-lock grants along; a grant for always stays.
    let g = until_lock("profile");
    let client = env.spawn_token_client(&[&account, "--scope", "api:read"]);
    let p = env.wait_pending_of(&key);
    env.approve(&p, true);
    env.client_result(client).token();
    env.stop_daemon();
    env.start_daemon();
    let left = grants_of(&env, &key);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["scopes"], json!(["api:read"]), "{left:?}");
    let row = lapse_row(&env, &g["id"]);
    assert!(row["detail"].as_str().unwrap().contains("the broker stopped"), "{row}");
    env.assert_no_leaks();
}

#[test]
fn a_provider_with_two_accounts_lets_the_user_choose_and_the_grant_names_the_choice() {
    let env = Env::start(Options::default());
    let alice = env.login("alice");
    let bob = env.login("bob");
    let key = token_client_key();

    // By provider id: the question offers both, named for people.
    let client = env.spawn_token_client(&["local"]);
    let p = env.wait_pending_of(&key);
    assert_eq!(p["account"], json!("local"), "{p}");
    let offered: Vec<(Value, Value)> = p["accounts"]
        .as_array()
        .unwrap_or_else(|| panic!("no accounts in {p}"))
        .iter()
        .map(|a| (a["id"].clone(), a["name"].clone()))
        .collect();
    assert_eq!(
        offered,
        [(json!(alice), json!("alice@example.test")), (json!(bob), json!("bob@example.test"))],
        "{p}"
    );
    let table = env.manage_ok(&["pending"]);
    assert!(table.contains(&alice) && table.contains(&bob), "{table}");
    assert!(table.contains("--account"), "{table}");

    // Approving without a choice is refused, and says how to choose; the question stays.
    let out = env.manage(&["approve", &id_of(&p), "--remember"]);
    assert!(!out.status.success());
    let said = stderr(&out);
    assert!(said.contains(&alice) && said.contains(&bob), "{said}");
    assert!(said.contains(&format!("sesame approve {} --account", id_of(&p))), "{said}");
    assert_eq!(pending_of(&env, &key).len(), 1, "the question still waits");
    // So is an account the question does not offer.
    let out = env.manage(&["approve", &id_of(&p), "--account", "local-nobody"]);
    assert!(!out.status.success() && stderr(&out).contains("local-nobody"), "{}", stderr(&out));

    let said = env.manage_ok(&["approve", &id_of(&p), "--account", &bob, "--remember"]);
    assert!(said.contains(&bob), "{said}");
    let out = env.client_result(client);
    assert_eq!(out.ok()["account"], json!(bob));
    assert_eq!(env.introspect(&out.token())["sub"], json!("bob"), "bob's token");

    // The grant names bob; the next request by provider id follows it, without a question.
    let grants = grants_of(&env, &key);
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert_eq!(grants[0]["account"], json!(bob), "{grants:?}");
    let again = immediate(&env, env.spawn_token_client(&["local"]), &key);
    assert_eq!(env.introspect(&again.token())["sub"], json!("bob"));
    let rows = env.activity(&["--app", &key]);
    let remembered = rows.iter().find(|r| r["event"] == "remembered").unwrap();
    assert_eq!(remembered["account"], json!(bob), "{remembered}");
    assert!(
        remembered["detail"].as_str().unwrap().contains("chosen among 2 accounts of local"),
        "{remembered}"
    );

    // A program that names an account is asked about that one only.
    let client = env.spawn_token_client(&[&alice]);
    let p = env.wait_pending_of(&key);
    assert_eq!(p["account"], json!(alice), "{p}");
    assert_eq!(p["accounts"], json!([]), "no choice: {p}");
    let out = env.manage(&["approve", &id_of(&p), "--account", &bob]);
    assert!(!out.status.success() && stderr(&out).contains("only"), "{}", stderr(&out));
    env.approve(&p, false);
    assert_eq!(env.introspect(&env.client_result(client).token())["sub"], json!("alice"));
    env.assert_no_leaks();
}
