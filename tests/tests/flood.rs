//! Hostile peers on the socket: a program hoarding connections (idle, half-written, past
//! the global cap), a program asking many questions at once, bytes that are not UTF-8.
//! The attackers are real programs (`tests/clients/flood.py`, the token-client); each test
//! checks that the attack really happened (what the attacker was told, what the daemon
//! holds) before it checks that other programs and Sesame's own CLI were not locked out.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use sesame_e2e::*;

/// The broker's caps (`server/mod.rs`, `server/admission.rs`, `policy/pending.rs`).
const MAX_CONNECTIONS: u64 = 256;
const MAX_IDLE_PER_APP: u64 = 32;
const MAX_PER_APP: u64 = MAX_CONNECTIONS - 32;
const MAX_QUESTIONS_PER_APP: usize = 4;

/// The bound for a request of another program while the flood stands.
const UNDER_LOAD: Duration = Duration::from_secs(1);

#[test]
fn a_flood_of_idle_and_half_written_connections_locks_no_one_out() {
    let (mut env, account) = setup(Options::default());
    // The other program is this test process: a remembered grant, and a connection of its
    // own opened before the flood.
    let first = env.rpc_token(json!({"account": account}));
    assert!(first["result"]["access_token"].is_string(), "{first}");
    let mut kept = env.connect();
    assert_eq!(kept.call("hello", json!({}))["result"]["protocol"], json!(1));

    let (idle, half) = (1000, 200);
    let total = (idle + half) as u64;
    let mut flood = env.flood(&client_script("flood.py"), idle, half);
    assert_eq!((flood.opened, flood.failed), (total, 0), "the flood's connections opened");
    // Established: the broker has taken every one of them, and closed all but the
    // program's idle cap, each with a `busy` reply saying why.
    let established = flood.wait_until(LONG, |s| s.closed >= total - MAX_IDLE_PER_APP);
    let sockets = env.daemon_sockets();

    let t = Instant::now();
    let reply = env.rpc("token.get", json!({"account": account}));
    let token_time = t.elapsed();
    assert!(reply["result"]["access_token"].is_string(), "{reply}");
    let t = Instant::now();
    let out = env.sesame(&["accounts"], &[]);
    let accounts_time = t.elapsed();
    assert!(out.status.success(), "sesame accounts: {}", stderr(&out));
    assert!(stdout(&out).contains(&account), "{}", stdout(&out));
    eprintln!("during the flood: token.get {token_time:?}, sesame accounts {accounts_time:?}, daemon sockets {sockets}; flood {established:?}");
    assert!(token_time < UNDER_LOAD, "token.get took {token_time:?} during the flood");
    assert!(accounts_time < UNDER_LOAD, "sesame accounts took {accounts_time:?} during the flood");
    assert_eq!(kept.call("hello", json!({}))["result"]["protocol"], json!(1), "kept its own");

    // The flood was real, and handled as designed: the daemon holds a few dozen sockets,
    // not 1200; the longest idle ones were closed with `busy`, and the survivors (the
    // newest, half-written) after the line deadline with `bad_request`.
    assert!(sockets < 150, "the daemon holds {sockets} sockets during the flood");
    assert!(
        established.messages_with("idle the longest") >= total - MAX_IDLE_PER_APP,
        "{established:?}"
    );
    let done = flood.wait_until(LONG, |s| s.open == 0);
    let stalled = done.messages_with("not finished within 5 s");
    assert!(stalled >= 1, "half-written lines were closed: {done:?}");
    assert_eq!(done.replies_of("busy") + done.replies_of("bad_request"), total, "{done:?}");
    assert_eq!(stalled, done.replies_of("bad_request"), "{done:?}");

    // And afterwards everything still works, for everyone.
    let after = env.rpc("token.get", json!({"account": account}));
    assert!(after["result"]["access_token"].is_string(), "{after}");
    env.assert_no_leaks();
}

#[test]
fn at_the_global_cap_programs_get_busy_and_sesame_still_gets_in() {
    let (mut env, account) = setup(Options::default());
    // Nine programs of 32 idle connections each: one more program than the cap holds.
    let programs = (MAX_CONNECTIONS / MAX_IDLE_PER_APP + 1) as usize;
    let mut floods: Vec<Flooder> = (0..programs)
        .map(|i| {
            let script = env.flood_script(&format!("flood-{i}.py"));
            env.flood(&script, MAX_IDLE_PER_APP as usize, 0)
        })
        .collect();
    let full_words = "the most connections it serves at once";
    let statuses = wait_for(LONG, || {
        let statuses: Vec<FloodStatus> = floods.iter_mut().map(Flooder::status).collect();
        let refused: u64 = statuses.iter().map(|s| s.messages_with(full_words)).sum();
        (refused >= MAX_IDLE_PER_APP).then_some(statuses)
    })
    .expect("the connections past the cap were answered");
    let open: u64 = statuses.iter().map(|s| s.open).sum();
    let refused: u64 = statuses.iter().map(|s| s.messages_with(full_words)).sum();
    assert_eq!(open, MAX_CONNECTIONS, "{statuses:?}");
    assert_eq!(refused, MAX_IDLE_PER_APP, "exactly those past the cap: {statuses:?}");
    assert!(statuses.iter().all(|s| s.replies_of("busy") == s.closed), "{statuses:?}");

    // Another program is told so too (it does not hang in the backlog)…
    let out = env.client_result(env.spawn_token_client(&[&account]));
    assert!(out.expect_error("busy").contains(full_words), "{}", out.stdout);
    // …and Sesame's own CLI gets in: the reserve above the cap.
    assert!(env.sesame_ok(&["accounts"]).contains(&account));

    // Fill the reserve with streams Sesame's tools keep busy; past it, the longest idle
    // connection of a program makes room for them (and for the CLI).
    let made_room = "its own tools needed one";
    let extra = 4;
    let listeners: Vec<std::process::Child> =
        (0..16 + extra).map(|_| env.listen_events()).collect();
    assert!(env.sesame_ok(&["accounts"]).contains(&account));
    let room = wait_for(LONG, || {
        let n: u64 = floods.iter_mut().map(|f| f.status().messages_with(made_room)).sum();
        (n > extra).then_some(n)
    });
    assert_eq!(room, Some(extra + 1), "one idle connection per CLI connection past the reserve");
    let sockets = env.daemon_sockets();
    assert!(sockets >= MAX_CONNECTIONS as usize, "the daemon holds {sockets} sockets");
    for mut l in listeners {
        let _ = l.kill();
        let _ = l.wait();
    }
}

#[test]
fn waiting_for_consent_is_not_idle_but_one_program_leaves_room_for_others() {
    let (env, account) = setup(Options::default());
    let script = env.flood_script("asker.py");
    let key = script_key(&script);
    // 224 connections of one program wait for the same answer: far more than its idle cap,
    // and none is closed for it (a request waiting for consent is not idle).
    let mut askers = env.flood_asking(&script, MAX_PER_APP as usize, &account);
    let question =
        env.wait_pending(|p| p["app"]["key"] == key && p["waiting"] == json!(MAX_PER_APP));
    let status = askers.status();
    assert_eq!((status.open, status.closed), (MAX_PER_APP, 0), "{status:?}");
    // More from the same program are turned away at once…
    let mut more = env.flood_asking(&script, 8, &account);
    assert_eq!((more.opened, more.failed), (8, 0));
    let refused = more.wait_until(LONG, |s| s.closed == 8);
    assert_eq!(refused.messages_with("all of them waiting for a reply"), 8, "{refused:?}");
    // …while another program is served (after its own consent).
    let reply = env.rpc_token(json!({"account": account}));
    assert!(reply["result"]["access_token"].is_string(), "{reply}");
    // The user says no: all of them hear it, and then they are idle, so the program keeps 32.
    env.deny(&question);
    let denied = askers.wait_until(LONG, |s| {
        s.replies_of("consent_denied") == MAX_PER_APP && s.open == MAX_IDLE_PER_APP
    });
    assert_eq!(denied.messages_with("idle the longest"), MAX_PER_APP - MAX_IDLE_PER_APP);
}

#[test]
fn a_client_that_never_reads_its_replies_is_closed() {
    use std::io::Write;
    let env = Env::start(Options::default());
    let mut other = env.connect();
    let mut greedy = std::os::unix::net::UnixStream::connect(&env.socket).unwrap();
    // Requests without end and never a read: the replies fill the socket's buffers, and
    // then the broker's write waits on this client.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let line = b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\"}\n";
        let mut sent = 0u64;
        let error = loop {
            if let Err(e) = greedy.write_all(line) {
                break e;
            }
            sent += 1;
        };
        let _ = tx.send((sent, error));
    });
    let started = Instant::now();
    let (sent, error) = rx.recv_timeout(Duration::from_secs(60)).expect("the broker closed it");
    eprintln!(
        "the broker closed a client that did not read after {sent} requests ({:?}): {error}",
        started.elapsed()
    );
    assert!(sent > 100, "it really filled the buffers: {sent} requests");
    assert_eq!(other.call("hello", json!({}))["result"]["protocol"], json!(1));
}

#[test]
fn invalid_utf8_gets_an_error_reply_and_the_connection_stays() {
    let env = Env::start(Options::default());
    let mut conn = env.connect();
    conn.send_raw(b"\xff\xfe not UTF-8 at all\n");
    let reply = conn.read_reply().expect("an error reply, not a closed connection");
    assert_eq!(error_kind(&reply), "bad_request", "{reply}");
    assert_eq!(reply["id"], Value::Null, "{reply}");
    assert!(reply["error"]["message"].as_str().unwrap().contains("UTF-8"), "{reply}");
    assert_eq!(conn.call("hello", json!({}))["result"]["protocol"], json!(1));

    // A request that is JSON but for one bad byte inside a string: the same.
    conn.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"hel\xc0lo\"}\n");
    assert_eq!(error_kind(&conn.read_reply().unwrap()), "bad_request");
    assert!(conn.call("accounts.list", json!({}))["result"]["accounts"].is_array());
}

#[test]
fn a_line_that_never_ends_is_closed_and_an_idle_connection_is_not() {
    use std::io::{BufRead, BufReader, Read, Write};
    let env = Env::start(Options::default());
    let mut idle = env.connect();
    let slow = std::os::unix::net::UnixStream::connect(&env.socket).unwrap();
    slow.set_read_timeout(Some(LONG)).unwrap();
    // A byte every half second: the line keeps growing but is never finished.
    let mut writer = slow.try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        let line = b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\",\"params\":{}}";
        for b in line.iter().cycle().take(60) {
            if writer.write_all(&[*b]).is_err() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        false
    });
    let mut reader = BufReader::new(slow);
    let mut line = String::new();
    reader.read_line(&mut line).expect("an error reply before closing");
    let reply: Value = serde_json::from_str(&line).expect("a JSON reply");
    assert_eq!(error_kind(&reply), "bad_request", "{reply}");
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(message.contains("not finished within 5 s"), "{message}");
    assert_eq!(reader.read(&mut [0u8; 1]).unwrap_or(0), 0, "then closed");
    assert!(trickle.join().unwrap(), "the broker closed it while bytes were still coming");
    // The idle connection, opened before and silent all along, is still served.
    assert_eq!(idle.call("hello", json!({}))["result"]["protocol"], json!(1));
}

#[test]
fn one_program_has_at_most_four_questions_waiting() {
    let (env, account) = setup(Options::default());
    let key = token_client_key();
    let scope_sets: [&[&str]; 10] = [
        &["openid"],
        &["email"],
        &["profile"],
        &["api:read"],
        &["api:write"],
        &["offline_access"],
        &["openid", "email"],
        &["openid", "profile"],
        &["openid", "api:read"],
        &["openid", "api:write"],
    ];
    let mut clients: Vec<ClientProc> = scope_sets
        .iter()
        .map(|scopes| {
            let mut args = vec![account.as_str()];
            scopes.iter().for_each(|s| args.extend(["--scope", s]));
            env.spawn_token_client(&args)
        })
        .collect();
    let refused = 10 - MAX_QUESTIONS_PER_APP;
    wait_for(LONG, || {
        let n = clients.iter_mut().map(ClientProc::is_finished).filter(|f| *f).count();
        (n >= refused).then_some(())
    })
    .expect("the questions past the cap are refused at once");
    let finished: Vec<bool> = clients.iter_mut().map(ClientProc::is_finished).collect();
    let (done, waiting): (Vec<_>, Vec<_>) =
        clients.into_iter().zip(finished).partition(|(_, finished)| *finished);
    let (done, waiting): (Vec<ClientProc>, Vec<ClientProc>) =
        (done.into_iter().map(|(c, _)| c).collect(), waiting.into_iter().map(|(c, _)| c).collect());
    assert_eq!((done.len(), waiting.len()), (refused, MAX_QUESTIONS_PER_APP));
    for c in done {
        let message = env.client_result(c).expect_error("busy");
        assert!(message.contains("already has 4 different requests waiting"), "{message}");
    }
    let mine = pending_of(&env, &key);
    assert_eq!(mine.len(), MAX_QUESTIONS_PER_APP, "{mine:?}");

    // Another program's question still reaches the user…
    let other = client_script("mail_sync.py");
    let _other_client = env.spawn_script(&other, &[&account]);
    env.wait_pending_of(&script_key(&other));
    // …and the capped program may still ask what it already asked: it joins that question.
    let scopes: Vec<String> =
        set_of(&mine[0]["scopes"]).into_iter().flat_map(|s| ["--scope".into(), s]).collect();
    let mut args = vec![account.as_str()];
    args.extend(scopes.iter().map(String::as_str));
    let _joined = env.spawn_token_client(&args);
    let id = mine[0]["id"].clone();
    let joined = env.wait_pending(|p| p["id"] == id && p["waiting"] == json!(2));
    assert_eq!(joined["app"]["key"], json!(key));
    assert_eq!(pending_of(&env, &key).len(), MAX_QUESTIONS_PER_APP);
    drop(waiting);
}
