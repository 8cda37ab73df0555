//! The desktop app, end to end: the real `sesame-app` (UI embedded, test identifier) under
//! Xvfb, driven through tauri-driver and WebKitWebDriver, hosting the broker itself, with the
//! real provider, keyring and socket of an [`Env`]. Sign in on the Accounts page (the scripted
//! `$BROWSER` plays the user at the provider), a program asks for a token, the consent window
//! appears and "Always allow" lets it through; Apps & grants lists the grant and revokes it;
//! the program's next request waits again; Activity shows what happened; sign out.
//! Screenshots of each screen land in `target/e2e-screenshots/` (docs/screenshots/ has copies).

mod common;

use common::*;
use serde_json::json;
use sesame_e2e::*;
use std::time::Duration;

fn css(testid: &str) -> String {
    format!("[data-testid=\"{testid}\"]")
}

/// Clicks a confirm-style button twice: the first click asks, the second confirms.
fn click_and_confirm(s: &Session, testid: &str) {
    s.click_on(&css(testid), LONG);
    let confirming = format!("[data-testid=\"{testid}\"][data-confirming=\"true\"]");
    s.click_on(&confirming, LONG);
}

fn switch_to_main(app: &App) {
    let s = &app.session;
    let found = s.wait_until(LONG, || {
        s.window_handles()
            .into_iter()
            .find(|h| s.switch_to(h).is_ok() && s.find(&css("nav-accounts")).is_some())
    });
    found.unwrap_or_else(|| panic!("no main window"));
}

/// The app on its own display, hosting the broker (no daemon), its main window current.
fn app_hosting_the_broker() -> (Env, Display, App) {
    let env = Env::start(Options { daemon: false, ..Default::default() });
    let display = Display::start(&env.dir.join("logs"));
    let app = App::start(&env, &display, &[]);
    // The driver's first window handle may not be the main window the app made in code.
    switch_to_main(&app);
    (env, display, app)
}

#[test]
fn sign_in_consent_grant_revoke_and_activity_in_the_app() {
    let (env, _display, app) = app_hosting_the_broker();
    let s = &app.session;

    // Accounts: add one through the browser sign-in.
    s.click_on(&css("nav-accounts"), LONG);
    s.click_on(&css("add-account"), LONG);
    s.click_on(&css("signin-local"), LONG);
    let row = s.wait(&css("account-row"), LONG);
    let account = s.attribute(&row, "data-account-id").expect("the row names its account");
    let status = s.wait(&css("account-status"), LONG);
    assert_eq!(s.attribute(&status, "data-status").as_deref(), Some("active"));
    assert!(env.keyring_lookup(&account).is_some(), "the refresh token is in the keyring");
    app.screenshot("accounts");

    // A program asks: the consent window shows who and what.
    let client = env.spawn_token_client(&[&account]);
    let client = app.switch_to_consent_of(&env, &token_client_key(), client);
    let name = s.wait(&css("consent-app-name"), LONG);
    assert!(s.text(&name).contains("token-client"), "names the program: {}", s.page_text());
    let exe = s.wait(&css("consent-exe"), LONG);
    assert_eq!(s.text(&exe), token_client_key(), "shows the executable the kernel reported");
    assert!(
        s.text(&s.wait(&css("consent-account"), LONG)).contains(&account)
            || s.page_text().contains("alice"),
        "{}",
        s.page_text()
    );
    assert!(!s.find_all(&css("consent-scope")).is_empty(), "lists the scopes");
    assert!(s.find(&css("consent-time-left")).is_some());
    app.screenshot("consent");
    // After the security delay, "Always allow".
    let always = s.wait(&css("approve-always"), LONG);
    s.wait_until(LONG, || s.is_enabled(&always).then_some(()))
        .expect("the buttons wake up after the security delay");
    s.click_closing(&always);
    let out = env.client_result(client);
    let token = out.token();
    assert_eq!(env.introspect(&token)["active"], json!(true));

    // Apps & grants: the grant, then revoke it.
    switch_to_main(&app);
    s.click_on(&css("nav-grants"), LONG);
    let grant = s.wait(&css("grant-row"), LONG);
    let grant_id = s.attribute(&grant, "data-grant-id").expect("grant id");
    assert!(s.page_text().contains("token-client"), "{}", s.page_text());
    app.screenshot("grants");
    click_and_confirm(s, &format!("revoke-grant-{grant_id}"));
    s.wait_until(LONG, || s.find(&css("grant-row")).is_none().then_some(()))
        .expect("the grant is gone from the list");
    assert!(grants_of(&env, &token_client_key()).is_empty(), "and from the broker");

    // The program's next request waits for an answer again; deny it in the consent window.
    let client = env.spawn_token_client(&[&account]);
    let client = app.switch_to_consent_of(&env, &token_client_key(), client);
    let deny = s.wait(&css("deny"), LONG);
    s.wait_until(LONG, || s.is_enabled(&deny).then_some(())).expect("deny wakes up");
    s.click_closing(&deny);
    let out = env.client_result(client);
    assert!(!out.status.success(), "denied: {}", out.stdout);

    // Activity: what happened, newest first.
    switch_to_main(&app);
    s.click_on(&css("nav-activity"), LONG);
    s.wait(&css("activity-row"), LONG);
    let events: Vec<String> = s
        .find_all(&css("activity-row"))
        .iter()
        .filter_map(|r| s.attribute(r, "data-event"))
        .collect();
    for expected in ["handed_out", "remembered", "revoked", "denied"] {
        assert!(events.iter().any(|e| e == expected), "no {expected} in {events:?}");
    }
    assert!(s.find(&css("activity-chart")).is_some());
    app.screenshot("activity");

    s.click_on(&css("nav-providers"), LONG);
    let provider = s.wait(&css("provider-row"), LONG);
    assert_eq!(s.attribute(&provider, "data-provider-id").as_deref(), Some("local"));
    assert!(s.text(&s.wait(&css("config-path"), LONG)).contains("config.toml"));
    app.screenshot("providers");

    // Sign out: revoked at the provider, and said so.
    s.click_on(&css("nav-accounts"), LONG);
    click_and_confirm(s, &format!("signout-{account}"));
    let result = s.wait(&css("signout-result"), LONG);
    assert_eq!(
        s.attribute(&result, "data-revocation").as_deref(),
        Some("confirmed"),
        "{}",
        s.text(&result)
    );
    assert!(env.keyring_lookup(&account).is_none(), "the keyring entry is gone");
    env.assert_no_leaks();
}

#[test]
fn with_a_daemon_already_running_the_app_says_so_instead_of_starting_a_second_broker() {
    let env = Env::start(Options::default());
    let display = Display::start(&env.dir.join("logs"));
    let app = App::start(&env, &display, &[]);
    let s = &app.session;
    let message = s.wait(&css("conflict-message"), LONG);
    assert!(s.text(&message).contains("sesame daemon"), "{}", s.text(&message));
    app.screenshot("conflict");
    // The daemon still serves: the CLI talks to it.
    env.sesame_ok(&["accounts"]);
}

/// Whether any window the driver sees shows the main page.
fn main_window_open(s: &Session) -> bool {
    s.window_handles()
        .into_iter()
        .any(|h| s.switch_to(&h).is_ok() && s.find(&css("nav-accounts")).is_some())
}

#[test]
fn closing_the_window_keeps_the_broker_and_a_second_launch_brings_it_back() {
    let (env, display, app) = app_hosting_the_broker();
    let s = &app.session;
    let account = env.login("alice");

    // A request waits, so the consent window is open too: the driver's session lives on
    // (with no window left it would end, and take the app with it).
    let client = env.spawn_token_client(&[&account]);
    let client = app.switch_to_consent_of(&env, &token_client_key(), client);

    // Close the main window: its webview goes, the app and its broker stay.
    // Under WebDriver the app sometimes passes over the first close request (about one run
    // in three here; a second request always worked, a mere wake-up event did not). The same
    // app without the driver closed on the first request 6 times out of 6, so this is put
    // down to the automation: ask again every few seconds, as a user would click again.
    let closed = wait_for(LONG, || {
        app.close_like_the_user("Sesame");
        wait_for(Duration::from_secs(4), || (!app.has_window("Sesame")).then_some(()))
    });
    assert!(closed.is_some(), "the main window is destroyed (not only hidden)");
    assert!(!main_window_open(s), "and its page with it");
    assert!(env.sesame_ok(&["accounts"]).contains(&account), "the broker still serves the socket");
    assert_eq!(env.pending().len(), 1, "and still holds the waiting request");

    // Launching Sesame again hands over to the running app (single instance) and exits;
    // the running app opens its main window again.
    let mut second = env.command(app_bin());
    second.env("DISPLAY", &display.name).env("GDK_BACKEND", "x11").env("NO_AT_BRIDGE", "1");
    let log = std::fs::File::create(env.dir.join("logs/second-launch.log")).unwrap();
    let mut second = second
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start sesame-app again");
    let status = wait_for(LONG, || second.try_wait().ok().flatten()).unwrap_or_else(|| {
        let _ = second.kill();
        panic!("the second launch kept running beside the first")
    });
    assert!(status.success(), "the second launch exits cleanly: {status}");
    switch_to_main(&app);
    assert!(app.has_window("Sesame"));
    // Still the one broker, with the same request waiting.
    assert_eq!(env.pending().len(), 1);
    env.manage_ok(&["deny", &env.pending()[0]["id"].to_string()]);
    assert!(!env.client_result(client).status.success(), "denied");
}

#[test]
fn displays_started_at_the_same_moment_are_all_different() {
    // App tests run side by side, each on its own X server. Once, two of them ended up on
    // one display (both picked the same free-looking number; the second server died):
    // when the first test ended, the second lost its windows ("no window showing
    // consent.html"). Start several at once, as the tests do.
    let base = std::env::temp_dir().join(format!("sesame-e2e-displays-{}", std::process::id()));
    let logs: Vec<_> = (0..4).map(|i| base.join(format!("x{i}"))).collect();
    let displays: Vec<Display> = std::thread::scope(|s| {
        let started: Vec<_> = logs
            .iter()
            .map(|dir| {
                std::fs::create_dir_all(dir).unwrap();
                s.spawn(move || Display::start(dir))
            })
            .collect();
        started.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let names: std::collections::BTreeSet<&str> =
        displays.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names.len(), displays.len(), "each has its own display: {names:?}");
    for d in &displays {
        assert!(x11rb::connect(Some(&d.name)).is_ok(), "{} answers", d.name);
    }
    drop(displays);
    let _ = std::fs::remove_dir_all(&base);
}

const CONSENT_TITLE: &str = "Sesame: allow access?";
const ENTER: &str = "\u{E007}";

/// `f`, and whether it finished within `bound` of its start: only then does what it saw say
/// something about a delay of that length (a loaded machine can stall a test for longer).
fn within<T>(bound: Duration, f: impl FnOnce() -> T) -> (T, bool) {
    let start = std::time::Instant::now();
    let value = f();
    (value, start.elapsed() < bound)
}

#[test]
fn the_consent_window_is_a_protected_confirmation() {
    let (env, _display, app) = app_hosting_the_broker();
    let s = &app.session;
    let account = env.login("alice");
    // The main window is open, so a request opens the consent window, which must not take
    // the keyboard from wherever the user is typing: it asks for attention instead.
    let client = env.spawn_token_client(&[&account]);
    let client = app.switch_to_consent_of(&env, &token_client_key(), client);
    assert_eq!(app.wants_attention(CONSENT_TITLE), Some(true), "{:?}", app.window_titles());
    assert!(!app.has_input_focus(CONSENT_TITLE), "it did not take the input focus");
    let once = s.wait(&css("approve-once"), LONG);
    let buttons = || ["approve-once", "approve-always", "deny"].map(|b| s.wait(&css(b), LONG));
    let any_enabled = || buttons().iter().any(|b| s.is_enabled(b));

    // The buttons wake after the quiet delay (1 s)…
    s.wait_until(LONG, || s.is_enabled(&once).then_some(()))
        .expect("the buttons wake up after the security delay");
    app.screenshot("consent-quiet");

    // …a key press puts them to sleep again at once, and the delay starts over: while keys
    // keep coming faster than the delay, they never wake. (A sample counts only when the
    // key and the look after it took less than the delay: then the delay cannot be over.)
    let mut conclusive = 0;
    for _ in 0..8 {
        let (enabled, in_time) = within(Duration::from_millis(900), || {
            s.press("a");
            any_enabled()
        });
        if in_time {
            conclusive += 1;
            assert!(!enabled, "a key press locks the answers again");
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(conclusive >= 3, "too few samples in time ({conclusive}): the machine is too slow");
    app.screenshot("consent-after-a-key");

    // Enter right after another key does not approve: the delay is not over.
    let mut tried = false;
    for _ in 0..5 {
        s.wait_until(LONG, || s.is_enabled(&once).then_some(())).expect("awake again");
        let (pressed, in_time) = within(Duration::from_millis(900), || s.try_press(&["b", ENTER]));
        pressed.expect("keys");
        if in_time {
            tried = true;
            break;
        }
    }
    assert!(tried, "never pressed b and Enter within the delay: the machine is too slow");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(env.pending().len(), 1, "Enter before a full quiet delay approved nothing");

    // After a full quiet delay, Enter approves once.
    s.wait_until(LONG, || s.is_enabled(&once).then_some(())).expect("awake again");
    match s.try_press(&[ENTER]) {
        Err(e) if !e.contains("no such window") => panic!("keys: {e}"),
        _ => {}
    }
    let token = env.client_result(client).token();
    assert_eq!(env.introspect(&token)["active"], json!(true));
    assert!(grants_of(&env, &token_client_key()).is_empty(), "once: no grant");
    env.assert_no_leaks();
}
