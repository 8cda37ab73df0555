//! A question outlives no asker: a program killed while its request waits for the user
//! takes the question with it (at once: the window closes, `sesame pending` no longer lists
//! it, nothing is handed out, answering it fails cleanly); other programs' identical
//! requests keep it; a program that ran the `sesame` CLI and exited withdraws it too (the
//! CLI is told); a client that only half-closes its connection (socat) still gets its answer.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use sesame_e2e::*;

fn rows_of(env: &Env, key: &str, event: &str) -> Vec<Value> {
    env.activity(&["--app", key]).into_iter().filter(|r| r["event"] == event).collect()
}

fn is_listed(env: &Env, id: &Value) -> bool {
    env.pending().iter().any(|q| q["id"] == *id)
}

#[test]
fn a_client_killed_while_it_waits_takes_its_question_with_it() {
    let (env, account) = setup(Options::default());
    let key = token_client_key();
    let events = env.follow_events();
    let mut client = env.spawn_token_client(&[&account]);
    let question = env.wait_pending_of(&key);
    let id = question["id"].clone();
    events.expect_where("pending_added", |e| e["id"] == id);

    let killed = Instant::now();
    client.child.kill().expect("SIGKILL the client");
    let (resolved, _) = events.expect_where("pending_resolved", |e| e["id"] == id);
    let took = resolved.duration_since(killed);
    println!("question {id} withdrawn {} ms after the kill", took.as_millis());
    assert!(took < Duration::from_secs(1), "withdrawn within 1 s of the kill, not {took:?}");
    assert!(!is_listed(&env, &id), "`sesame pending` no longer lists it");

    // The log says what happened, and nothing was handed out.
    assert!(rows_of(&env, &key, "handed_out").is_empty());
    let withdrawn = rows_of(&env, &key, "withdrawn");
    assert_eq!(withdrawn.len(), 1, "{withdrawn:?}");
    assert_eq!(withdrawn[0]["account"], json!(account));
    let detail = withdrawn[0]["detail"].as_str().unwrap_or_default();
    assert!(
        ["the program closed its connection", "the program exited"].contains(&detail),
        "{detail}"
    );

    // Answering it now fails cleanly, and changes nothing.
    let id = id.to_string();
    for answer in [vec!["approve", &id], vec!["approve", &id, "--remember"], vec!["deny", &id]] {
        let out = env.manage(&answer);
        assert!(!out.status.success(), "sesame {answer:?} succeeded");
        assert!(
            stderr(&out).contains(&format!("there is no pending request {id}")),
            "sesame {answer:?}: {}",
            stderr(&out)
        );
    }
    assert!(grants_of(&env, &key).is_empty());
    assert_eq!(env.activity(&["--app", &key]).len(), 1, "only the withdrawal is logged");
    env.assert_no_leaks();
}

#[test]
fn identical_requests_of_other_processes_keep_the_question_alive() {
    let (env, account) = setup(Options::default());
    let key = token_client_key();
    let first = env.spawn_token_client(&[&account]);
    let question = env.wait_pending_of(&key);
    let id = question["id"].clone();
    let second = env.spawn_token_client(&[&account]);
    env.wait_pending(|q| q["id"] == id && q["waiting"] == json!(2));

    drop(first); // killed
    let left = env.wait_pending(|q| q["id"] == id && q["waiting"] == json!(1));
    assert_eq!(left["pid"], json!(second.pid), "it shows the process still waiting: {left}");
    env.approve(&left, false);
    assert_active(&env, &env.client_result(second).token());
    assert_eq!(rows_of(&env, &key, "handed_out").len(), 1, "one hand-out, to the one left");
    assert!(rows_of(&env, &key, "withdrawn").is_empty(), "it was never withdrawn");
    env.assert_no_leaks();
}

#[test]
fn a_program_that_exits_while_its_cli_waits_withdraws_the_question_and_the_cli_hears_why() {
    let (env, account) = setup(Options::default());
    let script = client_script("cli_then_wait.py");
    let key = script_key(&script);
    let said = env.dir.join("cli-output.txt");
    let sesame = sesame_bin();
    let args = [sesame.to_str().unwrap(), &account, said.to_str().unwrap()];
    let mut asker = env.spawn_script(&script, &args);
    let cli: i32 =
        asker.next_line(LONG).and_then(|l| l.trim().parse().ok()).expect("the CLI's pid");
    let question = env.wait_pending_of(&key);
    assert_eq!((&question["via_cli"], &question["pid"]), (&json!(true), &json!(asker.pid)));

    // The program goes; its `sesame token` is still running, connected, waiting.
    asker.child.kill().expect("SIGKILL the program");
    assert!(std::fs::metadata(format!("/proc/{cli}")).is_ok(), "the CLI outlived it");
    wait_for(LONG, || (!is_listed(&env, &question["id"])).then_some(()))
        .expect("the question is withdrawn when the program it was asked for exits");

    // The CLI is told why, and gives up.
    let ended = wait_for(LONG, || {
        let stat = std::fs::read_to_string(format!("/proc/{cli}/stat")).unwrap_or_default();
        let state = stat.rsplit(')').next().and_then(|r| r.split_whitespace().next());
        matches!(state, None | Some("Z")).then_some(())
    });
    let output = std::fs::read_to_string(&said).unwrap_or_default();
    assert!(ended.is_some(), "the CLI still runs; it said: {output}");
    assert!(
        output.contains(&format!("(pid {}), which ran the sesame command, exited", asker.pid))
            && output.contains("handed nothing out"),
        "{output}"
    );
    assert!(rows_of(&env, &key, "handed_out").is_empty());
    let withdrawn = rows_of(&env, &key, "withdrawn");
    assert_eq!(withdrawn.len(), 1, "{withdrawn:?}");
    assert_eq!(withdrawn[0]["detail"], json!("the program exited, via sesame CLI"));
    env.assert_no_leaks();
}

/// `printf '<token.get>' | socat [-t N] - UNIX-CONNECT:…`, the protocol doc's example, run
/// the way people run it: through a shell.
fn socat(env: &Env, account: &str, timeout: Option<u32>) -> ClientProc {
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "token.get",
                         "params": {"account": account}});
    let wait = timeout.map(|t| format!("-t {t}")).unwrap_or_default();
    let line = format!(r#"printf '%s\n' "$0" | socat {wait} - UNIX-CONNECT:"$1""#);
    let mut cmd = env.command("sh");
    cmd.args(["-c", &line, &request.to_string(), env.socket.to_str().unwrap()]);
    env.spawn_command(cmd)
}

#[test]
fn a_half_closed_connection_still_gets_its_answer_and_a_closed_one_withdraws() {
    let (env, account) = setup(Options::default());
    let key = "/usr/bin/socat";

    // socat half-closes the socket at the end of its input, then gives up `-t` seconds later
    // (half a second by default) and closes: nobody is left to answer to, so the question
    // goes. Three seconds, so the question is surely listed before it goes (the broker's first
    // look at a program, its hash, may take part of the default half second).
    let quick = socat(&env, &account, Some(3));
    let question = env.wait_pending_of(key);
    let out = env.client_result(quick);
    assert!(out.stdout.is_empty(), "socat got no answer: {}", out.stdout);
    wait_for(LONG, || (!is_listed(&env, &question["id"])).then_some(()))
        .expect("withdrawn once socat closed");
    let withdrawn = rows_of(&env, key, "withdrawn");
    assert_eq!(withdrawn[0]["detail"], json!("the program closed its connection"));

    // With `-t 60` it waits, half-closed, for the answer: the question stays until answered.
    let patient = socat(&env, &account, Some(60));
    let question = env.wait_pending_of(key);
    std::thread::sleep(Duration::from_secs(2));
    assert!(is_listed(&env, &question["id"]), "a half-closed connection keeps its question");
    env.approve(&question, false);
    let out = env.client_result(patient);
    let reply: Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("socat printed no reply ({e}): {}", out.stdout));
    let token = reply["result"]["access_token"].as_str().expect("a token").to_owned();
    env.remember_secret(&token);
    assert_active(&env, &token);
    assert_eq!(rows_of(&env, key, "handed_out").len(), 1);
    env.assert_no_leaks();
}
