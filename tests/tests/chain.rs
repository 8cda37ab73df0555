//! Who is really asking, for programs called the way people configure them: real `msmtp`
//! with `passwordeval "sesame token …"` (msmtp → sh -c → sesame token) against a mail server
//! that checks the token at the provider; a script that hands `sesame token` to a shell;
//! and the generic identities (`python3 -c`, `perl -e`, `socat`, bash reading a script on
//! stdin in an interactive terminal), which may be approved once but never forever.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;

use common::*;
use serde_json::{json, Value};
use sesame_e2e::*;

/// The canonical path of a program on `PATH`, as `/proc/<pid>/exe` shows it.
fn exe_of(program: &str) -> String {
    let path = std::env::var_os("PATH").unwrap();
    let found = std::env::split_paths(&path).map(|d| d.join(program)).find(|p| p.is_file());
    let found: PathBuf = found.unwrap_or_else(|| panic!("{program} is not installed"));
    found.canonicalize().unwrap().to_string_lossy().into_owned()
}

/// The file name of what `/bin/sh` really is (`dash` on Debian).
fn sh_name() -> String {
    let sh = PathBuf::from(exe_of("sh"));
    sh.file_name().unwrap().to_string_lossy().into_owned()
}

fn chain_of(p: &Value) -> Vec<String> {
    p["app"]["chain"]
        .as_array()
        .unwrap_or_else(|| panic!("no chain in {p}"))
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect()
}

/// `sesame approve <id> --remember` is refused, with one sentence that says why (the
/// question's own `generic` sentence), and the question stays.
fn remember_is_refused(env: &Env, p: &Value) {
    let why = p["app"]["generic"].as_str().unwrap_or_else(|| panic!("not generic: {p}"));
    let id = p["id"].to_string();
    let out = env.manage(&["approve", &id, "--remember"]);
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "refused: {} {said}", stdout(&out));
    assert_eq!(said.trim().lines().count(), 1, "one sentence: {said}");
    assert!(said.contains("cannot be allowed forever") && said.contains(why), "{said}");
    assert!(
        said.contains("Approve it once, for a time or until the screen locks instead"),
        "{said}"
    );
    let still = env.pending();
    assert!(still.iter().any(|q| q["id"] == p["id"]), "the question is still there: {still:?}");
    let listed = env.manage_ok(&["pending"]);
    assert!(
        listed.contains(&format!(
            "Request {id} can be approved once or for a time, not forever: {why}"
        )),
        "`sesame pending` says why: {listed}"
    );
}

#[test]
fn msmtp_asks_as_itself_through_sh_c_and_its_grant_is_its_own() {
    let (env, account) = setup(Options::default());
    let smtp = env.start_smtp();
    let msmtp = exe_of("msmtp");
    let sh_c = format!("{} -c", sh_name());

    // msmtp runs `passwordeval` through `sh -c`: the question names msmtp, with the chain.
    let config = env.msmtp_config(&smtp, "oauthbearer", &account);
    let client = env.spawn_msmtp(&config, "bob@example.com", "first mail");
    let p = env.wait_pending_of(&msmtp);
    assert_eq!(chain_of(&p), ["msmtp", sh_c.as_str(), "sesame token"], "{p}");
    assert_eq!(p["via_cli"], json!(true), "{p}");
    assert_eq!(p["pid"], json!(client.pid), "msmtp's pid: {p}");
    assert!(p["app"]["generic"].is_null(), "msmtp is a program of its own: {p}");
    let listed = env.manage_ok(&["pending"]);
    assert!(
        listed.contains(&format!("({msmtp}) via {sh_c} → sesame token")),
        "`sesame pending` shows the chain: {listed}"
    );

    // "Always allow", and the mail goes out: the server saw a token the provider says is
    // active, for alice.
    env.approve(&p, true);
    let out = env.client_result(client);
    assert!(out.status.success(), "msmtp sent the mail: {}\n{}", out.stderr, out.stdout);
    let auths: Vec<Value> = smtp.events().into_iter().filter(|e| e["event"] == "auth").collect();
    assert_eq!(auths.len(), 1, "{auths:?}");
    assert_eq!(auths[0]["mechanism"], json!("OAUTHBEARER"));
    assert_eq!(
        (auths[0]["active"].clone(), auths[0]["sub"].clone()),
        (json!(true), json!("alice"))
    );
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["to"], json!(["bob@example.com"]));
    assert_eq!(mails[0]["subject"], json!("first mail"));

    // The grant is msmtp's, with the chain it was given through.
    let grants = env.grants();
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert_eq!(grants[0]["app"]["key"], json!(msmtp));
    assert_eq!(chain_of(&grants[0]), ["msmtp", sh_c.as_str(), "sesame token"]);
    let table = env.manage_ok(&["grants"]);
    assert!(table.contains(&format!("via {sh_c} → sesame token")), "{table}");

    // Next time (XOAUTH2 this time) msmtp is covered: no question, the mail goes out.
    let config = env.msmtp_config(&smtp, "xoauth2", &account);
    let out = immediate(&env, env.spawn_msmtp(&config, "carol@example.com", "second"), &msmtp);
    assert!(out.status.success(), "msmtp sent the second mail: {}", out.stderr);
    assert_eq!(smtp.mails().len(), 2);
    assert!(smtp.events().iter().any(|e| e["mechanism"] == "XOAUTH2" && e["active"] == true));

    // A script that runs `sh -c "sesame token …"` is asked about as itself: msmtp's grant
    // is not its grant.
    let script = client_script("shell_out.py");
    let key = script_key(&script);
    let sesame = sesame_bin();
    let sesame = sesame.to_str().unwrap();
    let client = env.spawn_script(&script, &["-c", sesame, &account]);
    let p = env.wait_pending_of(&key);
    assert_eq!(chain_of(&p), [python_label(&script), sh_c.clone(), "sesame token".into()], "{p}");
    assert!(p["app"]["generic"].is_null(), "{p}");
    assert!(pending_of(&env, &msmtp).is_empty());
    env.deny(&p);
    let out = env.client_result(client);
    assert_ne!(out.json["exit"], json!(0), "{}", out.stdout);
    assert!(out.json["stderr"].as_str().unwrap_or("").contains("denied"), "{}", out.stdout);

    // The same script piping the command into bash: bash reading a script from a pipe is
    // passed too, and it is still the script that asks.
    let client = env.spawn_script(&script, &["stdin", sesame, &account]);
    let p = env.wait_pending_of(&key);
    assert_eq!(
        chain_of(&p),
        [python_label(&script), "bash (stdin)".into(), "sesame token".into()],
        "{p}"
    );
    env.approve(&p, false);
    let out = env.client_result(client);
    assert_eq!(out.json["exit"], json!(0), "{}", out.stdout);
    assert_active(&env, out.json["token"].as_str().unwrap());

    let grants = env.grants();
    assert_eq!(grants.len(), 1, "still only msmtp's grant: {grants:?}");

    // The log says who asked and how.
    let rows = env.activity(&["--app", &msmtp]);
    let how = format!("via sesame CLI: msmtp → {sh_c} → sesame token");
    let handed: Vec<&Value> = rows.iter().filter(|r| r["event"] == "handed_out").collect();
    assert_eq!(handed.iter().map(|r| r["count"].as_u64().unwrap_or(1)).sum::<u64>(), 2, "{rows:?}");
    assert!(
        handed.iter().all(|r| r["detail"].as_str().unwrap_or("").starts_with(&how)
            && r["detail"].as_str().unwrap_or("").contains("grant ")),
        "{handed:?}"
    );
    let rows = env.activity(&["--app", &key]);
    assert!(rows.iter().any(|r| r["event"] == "denied"), "{rows:?}");
    env.assert_no_leaks();
}

/// The chain label of a Python script: the interpreter's file name and the script's.
fn python_label(script: &std::path::Path) -> String {
    let python = python_exe();
    format!(
        "{} {}",
        python.file_name().unwrap().to_string_lossy(),
        script.file_name().unwrap().to_string_lossy()
    )
}

#[test]
fn generic_identities_may_be_approved_once_but_never_forever() {
    let (env, account) = setup(Options::default());
    let sesame = sesame_bin();
    let sesame = sesame.to_str().unwrap();

    // `python3 -c` with code that talks to the socket itself.
    let mail = client_script("mail_sync.py");
    let inline_key = format!("{} -c", python_exe().display());
    let code = format!("import runpy, sys; sys.argv = ['x', {account:?}]; runpy.run_path({:?}, run_name='__main__')", mail.to_str().unwrap());
    let client = env.spawn_client(python_exe(), &["-c", &code]);
    let p = env.wait_pending_of(&inline_key);
    let why = p["app"]["generic"].as_str().unwrap_or_default();
    assert!(why.contains("runs code written on its command line"), "{p}");
    assert!(p["app"]["chain"].is_null(), "it connected itself: {p}");
    remember_is_refused(&env, &p);
    env.approve(&p, false);
    assert_active(&env, &env.client_result(client).token());

    // `perl -e` running the CLI: labelled `-e`, not `-c`.
    let perl = exe_of("perl");
    let perl_key = format!("{perl} -e");
    let client =
        env.spawn_client(&perl, &["-e", "exit(system(@ARGV) >> 8)", sesame, "token", &account]);
    let p = env.wait_pending_of(&perl_key);
    assert_eq!(chain_of(&p), ["perl -e", "sesame token"], "{p}");
    assert!(p["app"]["generic"].as_str().unwrap_or("").starts_with("`perl -e` runs code"), "{p}");
    remember_is_refused(&env, &p);
    env.deny(&p);
    assert_ne!(env.client_result(client).status.code(), Some(0));

    // `socat` relaying a connection to the socket: whoever is behind it, it is socat.
    let socat = exe_of("socat");
    let mut cmd = env.command(&socat);
    cmd.arg("-").arg(format!("UNIX-CONNECT:{}", env.socket.display())).stdin(Stdio::piped());
    let mut client = env.spawn_command(cmd);
    let mut input = client.child.stdin.take().unwrap();
    let request =
        json!({"jsonrpc": "2.0", "id": 1, "method": "token.get", "params": {"account": account}});
    writeln!(input, "{request}").unwrap();
    let p = env.wait_pending_of(&socat);
    assert!(p["app"]["generic"].as_str().unwrap_or("").contains("`socat` relays"), "{p}");
    remember_is_refused(&env, &p);
    env.approve(&p, false);
    let reply = client.next_json(LONG);
    assert_active(
        &env,
        reply["result"]["access_token"].as_str().unwrap_or_else(|| panic!("{reply}")),
    );
    drop(input);
    env.client_result(client);

    // An interactive terminal piping a command into bash: bash reading its script from the
    // pipe is passed, and the terminal's shell stands for every terminal.
    let bash = exe_of("bash");
    let line = format!("echo '{sesame} token {account} >/dev/null; echo exit=$?' | bash");
    let client =
        env.spawn_client(python_exe(), &[client_script("terminal.py").to_str().unwrap(), &line]);
    let p = env.wait_pending_of(&bash);
    assert_eq!(chain_of(&p), ["bash (interactive)", "bash (stdin)", "sesame token"], "{p}");
    assert!(p["app"]["generic"].as_str().unwrap_or("").contains("interactive shell"), "{p}");
    remember_is_refused(&env, &p);
    env.approve(&p, false);
    let out = env.client_result(client);
    assert!(out.stdout.contains("exit=0"), "the CLI got its token: {}", out.stdout);

    assert!(env.grants().is_empty(), "nothing was remembered: {:?}", env.grants());
    let rows = env.activity(&[]);
    assert!(rows.iter().all(|r| r["event"] != "remembered"), "{rows:?}");
    env.assert_no_leaks();
}
