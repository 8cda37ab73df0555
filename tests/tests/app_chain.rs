//! The consent window for a program that cannot be told apart from others, in the real app
//! (see `app.rs` for the harness): `python3 -c` running `sesame token` is shown with the
//! way it asked and why it can only be approved once, and there is no "Always allow".

mod common;

use common::*;
use sesame_e2e::*;

fn css(testid: &str) -> String {
    format!("[data-testid=\"{testid}\"]")
}

#[test]
fn the_consent_window_offers_a_generic_program_only_once_and_says_why() {
    let env = Env::start(Options { daemon: false, ..Default::default() });
    let display = Display::start(&env.dir.join("logs"));
    let app = App::start(&env, &display, &[]);
    let account = env.login("alice");
    let s = &app.session;

    let code = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)";
    let sesame = sesame_bin();
    let client =
        env.spawn_client(python_exe(), &["-c", code, sesame.to_str().unwrap(), "token", &account]);
    let key = format!("{} -c", python_exe().display());
    env.wait_pending_of(&key);
    app.switch_to_page("consent.html", LONG);
    let chain = s.wait(&css("consent-chain"), LONG);
    let python = python_exe();
    let python = python.file_name().unwrap().to_string_lossy();
    assert_eq!(s.text(&chain), format!("{python} -c → sesame token"), "{}", s.page_text());
    let why = s.text(&s.wait(&css("consent-generic"), LONG));
    assert!(
        why.starts_with("Not forever:") && why.contains("runs code written on its command line"),
        "{why}"
    );
    let once = s.wait(&css("approve-once"), LONG);
    s.wait_until(LONG, || s.is_enabled(&once).then_some(()))
        .expect("the buttons wake up after the security delay");
    assert!(s.find(&css("approve-always")).is_none(), "no Always allow: {}", s.page_text());
    app.screenshot("consent-generic");
    s.click_closing(&once);
    let out = env.client_result(client);
    assert!(out.status.success(), "approved once: {} {}", out.stdout, out.stderr);
    assert!(env.grants().is_empty(), "nothing remembered: {:?}", env.grants());
    env.assert_no_leaks();
}
