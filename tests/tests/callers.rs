//! Who is asking, end to end: the identity the kernel gives (scripts, copies, the CLI's
//! parent), management calls reserved for Sesame's own binaries, no self-approval, and
//! other users refused.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use sesame_e2e::*;

#[test]
fn one_scripts_grant_does_not_cover_another_script_or_a_copy() {
    let (env, account) = setup(Options::default());
    let mail = client_script("mail_sync.py");
    let calendar = client_script("calendar_sync.py");
    let mail_key = script_key(&mail);
    let calendar_key = script_key(&calendar);
    let python = python_exe().to_string_lossy().into_owned();

    let client = env.spawn_script(&mail, &[&account]);
    let p = env.wait_pending_of(&mail_key);
    assert_eq!(p["app"]["exe"], json!(python), "{p}");
    assert_eq!(p["app"]["script"], json!(mail.to_str().unwrap()), "{p}");
    assert_eq!(p["via_cli"], json!(false), "{p}");
    assert!(
        p["app"]["name"].as_str().unwrap_or("").contains("mail_sync"),
        "named after the script: {p}"
    );
    env.approve(&p, true);
    assert_active(&env, &env.client_result(client).token());
    // The same script again: covered.
    immediate(&env, env.spawn_script(&mail, &[&account]), &mail_key).token();

    // Another script under the same interpreter: its own question.
    let client = env.spawn_script(&calendar, &[&account]);
    let p = env.wait_pending_of(&calendar_key);
    assert_ne!(mail_key, calendar_key);
    assert!(
        calendar_key.starts_with(&python) && calendar_key.ends_with(calendar.to_str().unwrap()),
        "{calendar_key}"
    );
    assert_eq!(p["app"]["script"], json!(calendar.to_str().unwrap()), "{p}");
    assert_eq!(
        pending_of(&env, &mail_key).len(),
        0,
        "mail_sync's grant is not consulted for calendar_sync"
    );
    env.deny(&p);
    env.client_result(client).expect_error("consent_denied");

    // The same code at another path is another app.
    let dir = env.dir.join("elsewhere");
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("mail_sync.py");
    std::fs::copy(&mail, &copy).unwrap();
    let copy = copy.canonicalize().unwrap();
    let copy_key = script_key(&copy);
    assert_ne!(copy_key, mail_key);
    let client = env.spawn_script(&copy, &[&account]);
    let p = env.wait_pending_of(&copy_key);
    assert_eq!(p["app"]["script"], json!(copy.to_str().unwrap()), "{p}");
    env.deny(&p);
    env.client_result(client).expect_error("consent_denied");

    let grants = env.grants();
    assert_eq!(grants.len(), 1, "only mail_sync.py has a grant: {grants:?}");
    assert_eq!(grants[0]["app"]["key"], json!(mail_key));
    env.assert_no_leaks();
}

#[test]
fn the_cli_is_attributed_to_the_program_that_runs_it() {
    let (env, account) = setup(Options::default());
    let script = client_script("run_cli.py");
    let key = script_key(&script);
    let sesame = sesame_bin();
    let client = env.spawn_script(&script, &[sesame.to_str().unwrap(), &account]);

    let p = env.wait_pending_of(&key);
    assert_eq!(p["via_cli"], json!(true), "{p}");
    assert_eq!(p["app"]["exe"], json!(python_exe().to_str().unwrap()), "{p}");
    assert_eq!(p["app"]["script"], json!(script.to_str().unwrap()), "{p}");
    assert_eq!(p["account"], json!(account), "{p}");
    assert_eq!(p["pid"], json!(client.pid), "the script's pid, not the CLI's: {p}");
    let sesame_key = sesame.canonicalize().unwrap().to_string_lossy().into_owned();
    assert!(
        env.pending().iter().all(|q| q["app"]["key"] != sesame_key),
        "never attributed to the CLI itself"
    );

    env.approve(&p, false);
    let out = env.client_result(client);
    assert_eq!(out.json["exit"], json!(0), "sesame token succeeded: {}", out.stdout);
    let token = out.json["token"].as_str().unwrap().to_owned();
    assert_active(&env, &token);

    // The activity log says how it was handed out.
    let rows = env.activity(&["--app", &key]);
    let (_, handed) = find(&rows, |r| r["event"] == "handed_out")
        .unwrap_or_else(|| panic!("no hand-out logged: {rows:?}"));
    assert!(
        handed["detail"].as_str().unwrap_or("").to_lowercase().contains("cli"),
        "notes the CLI: {handed}"
    );
    assert!(!serde_json::to_string(&rows).unwrap().contains(&token));
    env.assert_no_leaks();
}

#[test]
fn management_is_only_for_sesames_own_binaries() {
    let (env, account) = setup(Options::default());
    let key = token_client_key();
    let call = |method: &str, params: Value| {
        env.client_result(env.spawn_token_client(&["--call", method, &params.to_string()]))
    };

    // A real pending request, so an answer would have something to approve.
    let waiting = env.spawn_token_client(&[&account]);
    let p = env.wait_pending_of(&key);
    let id = p["id"].clone();

    let refused = [
        ("pending.list", json!({})),
        ("pending.answer", json!({"id": id, "decision": "approve_always"})),
        ("grants.list", json!({})),
        ("grants.revoke", json!({"app": key})),
        ("activity.list", json!({})),
        ("account.logout", json!({"account": account})),
        ("login.start", json!({"provider": "local"})),
        ("login.wait", json!({"login_id": "nope"})),
        ("login.cancel", json!({"login_id": "nope"})),
    ];
    for (method, params) in refused {
        let out = call(method, params);
        assert_eq!(
            out.error_kind(),
            "forbidden",
            "{method} from an app: {}\nstderr: {}",
            out.stdout,
            out.stderr
        );
        assert_eq!(out.status.code(), Some(3));
    }

    // The open methods work for any program of the user.
    assert_eq!(call("hello", json!({"client": "token-client"})).ok()["protocol"], json!(1));
    assert!(call("providers.list", json!({})).ok()["providers"].is_array());
    // A program without a grant sees no account (tests/tests/sandbox.rs); the user's CLI
    // sees that the refused logout did nothing.
    assert_eq!(call("accounts.list", json!({})).ok()["accounts"], json!([]));
    assert_eq!(
        env.manage_json(&["accounts", "--json"])[0]["id"],
        json!(account),
        "the refused logout did nothing"
    );
    assert!(env.keyring_lookup(&account).is_some(), "the refresh token is still in the keyring");

    // The refused answer did not approve anything.
    let still = env.pending();
    assert!(still.iter().any(|q| q["id"] == id), "the request is still pending: {still:?}");
    assert!(env.grants().is_empty(), "no grant was made: {:?}", env.grants());

    // A copy of the `sesame` binary is not Sesame's own binary, whatever its name.
    let bin = env.dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let copy = bin.join("sesame");
    std::fs::copy(sesame_bin(), &copy).unwrap();
    let out = env
        .command("sh")
        .arg("-c")
        .arg(r#""$0" "$@"; exit $?"#)
        .arg(&copy)
        .args(["pending", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a copy of sesame may not manage: {}", stdout(&out));
    assert!(stdout(&out).trim().is_empty(), "{}", stdout(&out));
    let out = env
        .command("sh")
        .arg("-c")
        .arg(r#""$0" "$@"; exit $?"#)
        .arg(&copy)
        .args(["approve", &id.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a copy of sesame may not approve: {}", stderr(&out));

    // The user's CLI can do all of it.
    assert!(env.manage_json(&["pending", "--json"]).is_array());
    assert!(env.manage_json(&["grants", "--json"]).is_array());
    assert!(env.manage_json(&["activity", "--json"]).is_array());
    for cmd in ["pending", "grants", "activity"] {
        env.manage_ok(&[cmd]);
    }
    env.deny(&p);
    env.client_result(waiting).expect_error("consent_denied");

    let rows = env.activity(&[]);
    let refusals: Vec<&Value> =
        rows.iter().filter(|r| r["event"] == "refused" && r["app"] == key).collect();
    assert!(!refusals.is_empty(), "refusals are logged: {rows:?}");
    assert!(
        refusals.iter().any(|r| r["detail"].as_str().unwrap_or("").contains("account.logout")),
        "with the method: {refusals:?}"
    );
    env.assert_no_leaks();
}

/// Runs `self_approve.py` (see there): the app's own `sesame approve` must be refused and
/// its request stay pending, answerable by the user. Returns the script's final output.
fn self_approval_is_refused(env: &Env, account: &str, extra: &[&str]) -> ClientOutput {
    let script = client_script("self_approve.py");
    let key = script_key(&script);
    let sesame = sesame_bin();
    let mut args = vec![sesame.to_str().unwrap(), account];
    args.extend_from_slice(extra);
    let mut client = env.spawn_script(&script, &args);

    let report = client.next_json(Duration::from_secs(60));
    let p = report["pending"].clone();
    assert!(p.is_object(), "the script found its request: {report}\n{}", env.daemon_log());
    assert_eq!(p["app"]["key"], json!(key), "{p}");
    assert_eq!(p["pid"], json!(client.pid), "{p}");
    assert_ne!(report["approve_exit"], json!(0), "self-approval must fail: {report}");
    let said = report["approve_stderr"].as_str().unwrap_or("").to_lowercase();
    assert!(said.contains("own") || said.contains("forbidden"), "says why: {report}");
    assert_eq!(said.trim().lines().count(), 1, "one sentence: {report}");

    let still = env.pending();
    let entry = still
        .iter()
        .find(|q| q["id"] == p["id"])
        .unwrap_or_else(|| panic!("the request is still pending: {still:?}"));
    assert!(env.grants().is_empty(), "no grant: {:?}", env.grants());
    // The user, from a terminal, may approve it.
    env.approve(entry, false);
    env.client_result(client)
}

#[test]
fn an_app_cannot_approve_its_own_request_through_the_cli() {
    let (env, account) = setup(Options::default());
    let out = self_approval_is_refused(&env, &account, &[]);
    assert_active(&env, &out.token());
    env.assert_no_leaks();
}

#[test]
fn an_app_cannot_approve_its_own_cli_request_through_the_cli() {
    let (env, account) = setup(Options::default());
    // The request is `sesame token` run by the script, so it is the script's request.
    let out = self_approval_is_refused(&env, &account, &["--via-cli"]);
    assert_eq!(out.json["exit"], json!(0), "{}", out.stdout);
    assert_active(&env, out.json["token"].as_str().unwrap());
    env.assert_no_leaks();
}

fn open_socket_to_everyone(env: &Env) {
    let sesame_dir = env.socket.parent().unwrap();
    for dir in [env.dir.as_path(), &env.dir.join("run"), sesame_dir] {
        set_mode(dir, 0o711);
    }
    set_mode(&env.socket, 0o666);
}

/// The `refused` rows naming the connection from `nobody`'s process `pid`.
fn refusals_of(rows: &[Value], nobody: &Nobody, pid: i32) -> usize {
    let peer = format!("uid {}, pid {pid}:", nobody.uid);
    rows.iter()
        .filter(|r| r["event"] == "refused" && r["detail"].as_str().unwrap_or("").contains(&peer))
        .count()
}

#[test]
fn another_user_is_refused() {
    let (env, account) = setup(Options::default());
    let nobody = Nobody::new();
    let mail = nobody.take(&client_script("mail_sync.py"));
    let mail = mail.to_str().unwrap();

    // As the daemon set it up, the socket's directory keeps others out.
    let out = env.client_result(nobody.spawn(&env, &nobody.python(), &[mail, &account]));
    assert_eq!(out.status.code(), Some(1), "cannot even connect: {} {}", out.stdout, out.stderr);
    assert!(out.stderr.contains("Permission denied"), "{}", out.stderr);
    // The script ran (Python did not just fail to open it) and its connect was refused.
    assert!(
        out.stderr.contains("s.connect(") && out.stderr.contains("PermissionError"),
        "the script's connect fails: {}",
        out.stderr
    );

    open_socket_to_everyone(&env);
    let before = env.activity(&[]).iter().filter(|r| r["event"] == "refused").count();
    let client = nobody.spawn(&env, &nobody.python(), &[mail, &account]);
    let pid = client.pid;
    let out = env.client_result(client);
    out.expect_error("forbidden");
    assert!(env.pending().is_empty(), "no question for another user's request");
    let rows = env.activity(&[]);
    let after = rows.iter().filter(|r| r["event"] == "refused").count();
    assert!(after > before, "the refusal is logged: {rows:?}");
    assert_eq!(refusals_of(&rows, &nobody, pid), 1, "refused as nobody, pid {pid}: {rows:?}");
    env.assert_no_leaks();
}

/// The broker refuses another user before reading a request: one `forbidden` error (with a
/// null id, as it has read no id yet), then it closes. Clients built on `sesame_ipc::Client`
/// (the token-client, the `sesame` CLI) must relay that error, not a protocol complaint.
#[test]
fn another_user_hears_why_from_the_rust_client_and_the_cli() {
    let (env, account) = setup(Options::default());
    open_socket_to_everyone(&env);
    let nobody = Nobody::new();
    let mail = nobody.take(&client_script("mail_sync.py"));
    let token_client = nobody.take(&token_client_bin());
    let sesame = nobody.take(&sesame_bin());
    let mut pids = vec![];
    // What the broker says, read raw by the Python client.
    let client = nobody.spawn(&env, &nobody.python(), &[mail.to_str().unwrap(), &account]);
    pids.push(client.pid);
    let raw = env.client_result(client);
    let message = raw.expect_error("forbidden");
    assert!(!message.is_empty());

    let client = nobody.spawn(&env, &token_client, &[&account]);
    pids.push(client.pid);
    let out = env.client_result(client);
    assert_eq!(out.expect_error("forbidden"), message);

    let client = nobody.spawn(&env, &sesame, &["token", &account]);
    pids.push(client.pid);
    let out = env.client_result(client);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr.contains(&message),
        "the CLI relays the broker's reason ({message:?}): {}",
        out.stderr
    );
    assert!(env.pending().is_empty());
    let rows = env.activity(&[]);
    assert!(
        rows.iter().filter(|r| r["event"] == "refused").count() >= 3,
        "each refusal is logged: {rows:?}"
    );
    for pid in pids {
        assert_eq!(refusals_of(&rows, &nobody, pid), 1, "refused as nobody, pid {pid}: {rows:?}");
    }
    env.assert_no_leaks();
}

#[test]
fn the_identity_is_the_program_not_the_way_it_was_started() {
    let (env, account) = setup(Options::default());
    let key = token_client_key();
    let client = env.spawn_token_client(&[&account]);
    env.approve(&env.wait_pending_of(&key), true);
    env.client_result(client).token();

    // Through a symlink: the same executable, so the same app, covered.
    let bin = env.dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let link = bin.join("innocent-name");
    std::os::unix::fs::symlink(token_client_bin(), &link).unwrap();
    let out = immediate(&env, env.spawn_client(&link, &[&account]), &key);
    assert_active(&env, &out.token());

    // A copy of the same bytes elsewhere is another program: asked about.
    let copy = bin.join("token-client-copy");
    std::fs::copy(token_client_bin(), &copy).unwrap();
    let copy_key = copy.canonicalize().unwrap().to_string_lossy().into_owned();
    let client = env.spawn_client(&copy, &[&account]);
    let p = env.wait_pending_of(&copy_key);
    assert_eq!(p["app"]["exe"], json!(copy_key), "{p}");
    env.deny(&p);
    env.client_result(client).expect_error("consent_denied");

    // A script given by a relative path is still its absolute path.
    let mail = client_script("mail_sync.py");
    let mail_key = script_key(&mail);
    let client = env.spawn_script(&mail, &[&account]);
    env.approve(&env.wait_pending_of(&mail_key), true);
    env.client_result(client).token();
    let mut cmd = env.command(python_exe());
    cmd.current_dir(mail.parent().unwrap()).arg("mail_sync.py").arg(&account);
    let out = immediate(&env, env.spawn_command(cmd), &mail_key);
    assert_active(&env, &out.token());

    // Inline code is `<interpreter> -c`, whatever file it loads.
    let inline_key = format!("{} -c", python_exe().display());
    let code = format!("import runpy, sys; sys.argv = ['x', {account:?}]; runpy.run_path({:?}, run_name='__main__')", mail.to_str().unwrap());
    let client = env.spawn_client(python_exe(), &["-c", &code]);
    let p = env.wait_pending_of(&inline_key);
    assert!(p["app"]["script"].is_null(), "{p}");
    env.deny(&p);
    env.client_result(client).expect_error("consent_denied");
    env.assert_no_leaks();
}
