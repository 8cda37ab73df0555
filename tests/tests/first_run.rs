//! What a newcomer meets outside the app (issue 15): `sesame token` says on a terminal that
//! it waits for the user's answer, and where to give it.

mod common;

use common::*;
use sesame_e2e::*;

const WAITING: &str = "waiting for your answer in Sesame (the consent window, or `sesame pending`)";

/// `sesame token <account>` with its stderr in `log`; on a pseudo-terminal (Python's `pty`,
/// which the scripted browser needs anyway) when `terminal`.
fn token_cli(
    env: &Env,
    account: &str,
    log: &std::path::Path,
    terminal: bool,
) -> std::process::Child {
    let file = std::fs::File::create(log).unwrap();
    let sesame = sesame_bin();
    let mut cmd = if terminal {
        let mut c = env.command("python3");
        c.args(["-c", "import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)"]);
        c.arg(&sesame);
        c
    } else {
        env.command(&sesame)
    };
    cmd.args(["token", account]).stdout(file.try_clone().unwrap()).stderr(file);
    cmd.spawn().expect("start sesame token")
}

/// Waits for the one question there is, denies it, and waits for the CLI to end.
fn deny_the_question(env: &Env, mut cli: std::process::Child) {
    let id = wait_for(LONG, || env.pending().first().map(|p| p["id"].to_string()))
        .expect("the request waits for an answer");
    env.manage_ok(&["deny", &id]);
    let status = wait_for(LONG, || cli.try_wait().ok().flatten()).expect("the CLI ends");
    assert!(!status.success(), "denied");
}

#[test]
fn sesame_token_says_on_a_terminal_that_it_waits_for_an_answer_and_nowhere_else() {
    let (env, account) = setup(Options::default());
    let log = env.dir.join("logs/token-terminal.log");
    let cli = token_cli(&env, &account, &log, true);
    let said = wait_for(LONG, || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.contains(WAITING).then_some(text)
    });
    assert!(said.is_some(), "the line on the terminal: {:?}", std::fs::read_to_string(&log));
    assert_eq!(env.pending().len(), 1, "and a question is really there");
    deny_the_question(&env, cli);
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.matches(WAITING).count(), 1, "once: {text}");

    // Not a terminal (a script reads its stderr): the same wait, no line.
    let log = env.dir.join("logs/token-pipe.log");
    deny_the_question(&env, token_cli(&env, &account, &log, false));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("waiting for your answer"), "{text}");
}

/// `scripts/demo.sh` with its port taken stops at once (before building anything), non-zero,
/// with a sentence that names what holds the port; it never says the demo is running.
#[test]
fn the_demo_with_its_port_taken_says_what_holds_it_and_stops() {
    let env = Env::start(Options { daemon: false, ..Default::default() });
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let out = env
        .command(root().join("scripts/demo.sh"))
        .env("SESAME_DEMO_PORT", &port)
        .output()
        .expect("run scripts/demo.sh");
    let (said, printed) = (stderr(&out), stdout(&out));
    assert!(!out.status.success(), "{said}");
    assert!(said.contains(&format!("127.0.0.1:{port} is taken by")), "{said}");
    assert!(said.contains("SESAME_DEMO_PORT"), "says what to do: {said}");
    // The holder is this test: `ss` names it.
    let me = std::fs::read_to_string("/proc/self/comm").unwrap();
    assert!(said.contains(me.trim()) || said.contains("another program"), "{said}");
    assert!(!printed.contains("running") && !said.contains("is running"), "{printed}");
    drop(holder);
}

/// The demo provider with `IDP_STATE_DIR` (as scripts/run.sh and scripts/demo.sh start it)
/// still knows, after a restart, the tokens it issued before: so a demo account kept from
/// yesterday is "Active" because a token can really be had. The control: without the state
/// dir (the tests' provider) the same token is unknown after a restart, so the check can fail.
#[test]
fn the_demo_provider_remembers_what_it_issued_across_a_restart() {
    let dir = std::env::temp_dir().join(format!("sesame-demo-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (state, active_after) in [(Some(&dir), true), (None, false)] {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut idp = demo_provider(port, state);
        let token = machine_token(port);
        assert_eq!(introspect_active(port, &token), true, "active before the restart");
        idp.kill().unwrap();
        idp.wait().unwrap();
        let mut idp = demo_provider(port, state);
        assert_eq!(
            introspect_active(port, &token),
            active_after,
            "after a restart, with state dir {state:?}"
        );
        idp.kill().unwrap();
        idp.wait().unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn demo_provider(port: u16, state: Option<&std::path::PathBuf>) -> std::process::Child {
    use std::io::BufRead;
    let mut cmd = std::process::Command::new("node");
    cmd.arg(root().join("tests/idp/server.mjs"))
        .env("IDP_PORT", port.to_string())
        .env("NODE_NO_WARNINGS", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    if let Some(dir) = state {
        cmd.env("IDP_STATE_DIR", dir);
    }
    let mut child = cmd.spawn().expect("start the demo provider");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("READY "), "the provider started: {line:?}");
    child
}

fn machine_token(port: u16) -> String {
    let reply: serde_json::Value = reqwest::blocking::Client::new()
        .post(format!("http://127.0.0.1:{port}/token"))
        .basic_auth("machine-client", Some("machine-secret"))
        .form(&[("grant_type", "client_credentials"), ("scope", "api:read")])
        .send()
        .expect("token request")
        .json()
        .unwrap();
    reply["access_token"].as_str().expect("an access token").to_owned()
}

fn introspect_active(port: u16, token: &str) -> bool {
    let reply: serde_json::Value = reqwest::blocking::Client::new()
        .post(format!("http://127.0.0.1:{port}/token/introspection"))
        .basic_auth("introspector", Some("introspector-secret"))
        .form(&[("token", token)])
        .send()
        .expect("introspection request")
        .json()
        .unwrap();
    reply["active"].as_bool().unwrap_or(false)
}
