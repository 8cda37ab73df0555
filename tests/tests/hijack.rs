//! Issue 11, items 1 and 2: a sign-in that another user cannot hijack and that forged
//! callbacks cannot end. The attacker is a real second user (`nobody`, via `setpriv`)
//! running `tests/hijack_attacker.py`; the user's browser is `tests/browser.py`, held at
//! its start until the attacker has had its go.

use std::time::Duration;

use serde_json::Value;
use sesame_e2e::*;

const ATTACK: Duration = Duration::from_secs(30);

/// The accounts the broker has, as `(display name, id)`.
fn accounts(env: &Env) -> Vec<(String, String)> {
    let list: Value = serde_json::from_str(&env.sesame_ok(&["accounts", "--json"])).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| (a["email"].as_str().unwrap_or("").to_owned(), a["id"].to_string()))
        .collect()
}

fn assert_only_alice(env: &Env, out: &SignInOutcome) {
    assert!(out.success, "the user's sign-in completes: {}\n{}", out.stderr, env.daemon_log());
    assert!(out.stderr.contains("Signed in as alice@example.test."), "{}", out.stderr);
    let who = accounts(env);
    assert_eq!(who.len(), 1, "one account, the user's: {who:?}");
    assert_eq!(who[0].0, "alice@example.test");
    assert!(!format!("{who:?}").contains("mallory"), "no mallory account: {who:?}");
}

fn kind<'a>(reports: &'a [Value], kind: &str) -> Vec<&'a Value> {
    reports.iter().filter(|r| r["kind"] == kind).collect()
}

/// The sign-in as `sesame login` runs it: the browser gets a private page, not the URL.
#[test]
fn another_user_finds_nothing_and_cannot_deliver_a_callback() {
    private_network();
    let env = Env::start(Options::default());
    let attacker = Attacker::start(ATTACK.as_secs() as u32, "mallory");
    let signin = HeldSignIn::start(&env, "alice", &[]);
    let port = signin.port;

    // The browser is running (held), with the page on its command line: the attacker sees
    // the page's path and cannot read it…
    let ours = env.dir.to_string_lossy().into_owned();
    let page = attacker
        .wait(ATTACK, |r| r["kind"] == "page" && r["path"].as_str().unwrap().starts_with(&ours))
        .expect("the attacker saw the browser's command line");
    assert_eq!(page["readable"], false, "{page}");
    // …and it finds the listener in /proc/net/tcp: forged callbacks, refused as another
    // user's, with and without a code.
    for first in ["error", "code"] {
        let forged = attacker
            .wait(ATTACK, |r| r["kind"] == "forged" && r["port"] == port && r["query"][0] == first)
            .expect("the attacker reached the sign-in's port");
        assert_eq!(forged["status"], 403, "{forged}");
    }

    // While the browser waits, no command line on the machine carries this sign-in's state.
    let state = signin.state();
    let leaks: Vec<_> =
        all_command_lines().into_iter().filter(|(_, c)| c.contains(&state)).collect();
    assert!(leaks.is_empty(), "the URL is on a command line: {leaks:?}");

    signin.release();
    let out = signin.finish();
    let reports = attacker.stop();
    assert_only_alice(&env, &out);

    assert!(
        kind(&reports, "found_url").iter().all(|r| !r["url"].as_str().unwrap().contains(&state)),
        "the attacker never saw this sign-in's URL: {reports:?}"
    );
    let at_port: Vec<_> =
        kind(&reports, "forged").into_iter().filter(|r| r["port"] == port).collect();
    // The attacker goes on trying until it is stopped, with every state it finds (other
    // tests' sign-ins run beside this one): an attempt after this sign-in ended finds no
    // listener. Every attempt that reached it was refused, and said why.
    let (reached, too_late): (Vec<_>, Vec<_>) =
        at_port.into_iter().partition(|r| !r["status"].is_null());
    assert!(reached.len() >= 2, "{reports:?}");
    for r in &reached {
        assert_eq!(r["status"], 403, "{r}");
        assert!(r["page"].as_str().unwrap().contains("another user"), "says why: {r}");
    }
    for r in &too_late {
        assert!(r["page"].as_str().unwrap().contains("Connection refused"), "{r}");
    }
    assert!(env.daemon_log().contains("another user's program"), "{}", env.daemon_log());
    env.assert_no_leaks();
}

/// Where the URL does reach a command line (the fallback: a browser that cannot read the
/// page is given the URL), the attacker finds it, signs in as mallory and delivers
/// mallory's code with the right state before the user's browser: still refused.
#[test]
fn a_leaked_url_is_no_use_to_another_user() {
    private_network();
    let env = Env::start(Options::default());
    let attacker = Attacker::start(ATTACK.as_secs() as u32, "mallory");
    let signin = HeldSignIn::start(&env, "alice", &["--no-browser"]);
    let port = signin.port;
    let mut browser = env
        .command(python_exe())
        .arg(root().join("tests/browser.py"))
        .arg(&signin.url)
        .env("BROWSER_LOGIN", "alice")
        .env("BROWSER_WAIT_FOR", signin.go_file())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();

    let delivered = attacker
        .wait(ATTACK, |r| r["kind"] == "delivered" && r["port"] == port)
        .unwrap_or_else(|| panic!("the attacker delivered no code:\n{}", env.daemon_log()));
    assert_eq!(delivered["login"], "mallory");
    assert_eq!(delivered["status"], 403, "{delivered}");
    assert!(delivered["page"].as_str().unwrap().contains("another user"), "{delivered}");

    signin.release();
    assert!(browser.wait().unwrap().success(), "the user's browser got the success page");
    let state = signin.state();
    let out = signin.finish();
    let reports = attacker.stop();
    assert_only_alice(&env, &out);
    assert!(
        kind(&reports, "found_url").iter().any(|r| r["url"].as_str().unwrap().contains(&state)),
        "the attacker had this sign-in's URL: {reports:?}"
    );
    assert!(
        kind(&reports, "signed_in_at_provider").iter().any(|r| r["port"] == port),
        "and mallory's code for it: {reports:?}"
    );
    env.assert_no_leaks();
}

/// Item 2, from the user's own uid (so the owner check lets them through): no state, a
/// wrong state, an `error=` without the state, another path. None ends the sign-in.
#[test]
fn forged_callbacks_do_not_end_the_sign_in() {
    let env = Env::start(Options::default());
    let signin = HeldSignIn::start(&env, "alice", &[]);
    let http =
        reqwest::blocking::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    for (target, status) in [
        ("/callback", 400),
        ("/callback?code=forged&state=wrong", 400),
        ("/callback?error=x", 400),
        ("/callback?error=access_denied&state=wrong", 400),
        ("/favicon.ico", 404),
    ] {
        let resp = http.get(format!("http://127.0.0.1:{}{target}", signin.port)).send().unwrap();
        assert_eq!(resp.status().as_u16(), status, "{target}");
        let page = resp.text().unwrap();
        if status == 400 {
            assert!(page.contains("still waiting"), "{target}: {page}");
        }
    }
    // The page the browser was given: private, in the runtime dir.
    let pages: Vec<_> = std::fs::read_dir(env.dir.join("run/sesame"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("signin-"))
        .collect();
    assert_eq!(pages.len(), 1, "{pages:?}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(pages[0].metadata().unwrap().permissions().mode() & 0o777, 0o600);

    signin.release();
    let out = signin.finish();
    assert_only_alice(&env, &out);
    assert!(!pages[0].path().exists(), "the page is deleted when the sign-in ends");
    assert!(env.daemon_log().contains("without this sign-in's state"), "{}", env.daemon_log());
    env.assert_no_leaks();
}
