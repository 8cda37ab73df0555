//! The app as a newcomer meets it (issue 15): a desktop without a browser, where the sign-in
//! must say at once that the browser did not open and give the whole address to copy; the
//! Activity page in the order things happened.

mod common;

use common::*;
use sesame_e2e::*;

fn css(testid: &str) -> String {
    format!("[data-testid=\"{testid}\"]")
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

/// Processes (zombies included) whose command name is `name`.
fn processes_named(name: &str) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return vec![] };
    dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
        .filter(|stat| stat.contains(&format!("({name})")))
        .collect()
}

#[test]
fn without_a_browser_the_sign_in_says_why_at_once_and_gives_the_whole_address() {
    let env = Env::start(Options { daemon: false, ..Default::default() });
    // The opener of a desktop with no browser: it fails the way xdg-open does.
    let opener = env.dir.join("no-browser");
    let ran = env.dir.join("no-browser.ran");
    std::fs::write(
        &opener,
        "#!/bin/sh\n: > \"$NO_BROWSER_RAN\"\necho \"xdg-open: no method available for opening '$1'\" >&2\nexit 1\n",
    )
    .unwrap();
    set_mode(&opener, 0o755);
    let display = Display::start(&env.dir.join("logs"));
    let vars = [("BROWSER", opener.to_str().unwrap()), ("NO_BROWSER_RAN", ran.to_str().unwrap())];
    let app = App::start_with(&env, &display, &[], &vars);
    switch_to_main(&app);
    let s = &app.session;

    s.click_on(&css("nav-accounts"), LONG);
    s.click_on(&css("add-account"), LONG);
    s.click_on(&css("signin-local"), LONG);
    let error = s.text(&s.wait(&css("signin-browser-error"), LONG));
    assert!(ran.exists(), "the failing opener ran");
    assert!(error.contains("no method available"), "says what the opener said: {error}");
    assert!(error.contains("no-browser"), "and which opener: {error}");
    assert!(!s.page_text().contains("window that opened"), "{}", s.page_text());

    // The whole address, selectable, with a Copy button.
    let url = s.text(&s.wait(&css("signin-url"), LONG));
    assert!(url.starts_with(&env.issuer), "{url}");
    for part in ["state=", "code_challenge=", "redirect_uri="] {
        assert!(url.contains(part), "all of the address, not cut off: {url}");
    }
    let select = s.execute(
        "const e = document.querySelector('[data-testid=\"signin-url\"]'); const st = getComputedStyle(e); return st.userSelect || st.webkitUserSelect",
    );
    assert_eq!(select.as_str(), Some("all"), "one click selects it");
    s.click_on(&css("signin-copy"), LONG);
    let copied = s.wait_until(LONG, || {
        let text = s.text(&s.wait(&css("signin-progress"), LONG));
        (text.contains("Copied") || text.contains("copy it by hand")).then_some(text)
    });
    let copied = copied.expect("the Copy button answers");
    assert!(copied.contains("Copied"), "the address reached the clipboard: {copied}");
    // A nudge makes WebKit paint the window to X before the picture is taken.
    if let Some((_, _, w, h)) = s.window_rect() {
        s.set_window_size(w + 1, h);
        s.set_window_size(w, h);
    }
    app.screenshot("signin-no-browser");

    // The opener was waited for: no zombie of it is left under the app.
    assert_eq!(processes_named("no-browser"), Vec::<String>::new(), "no opener left behind");

    // The address is all the user needs: opened in a browser by hand, it signs in.
    let out = env.command(root().join("tests/browser.py")).arg(&url).output().unwrap();
    assert!(out.status.success(), "the browser got through: {}", stderr(&out));
    let row = s.wait(&css("account-row"), LONG);
    assert!(s.attribute(&row, "data-account-id").is_some());
    env.assert_no_leaks();
}

/// The events on the Activity page, newest first (it reads them again when shown).
fn activity_events(app: &App) -> Vec<String> {
    let s = &app.session;
    s.click_on(&css("nav-accounts"), LONG);
    s.click_on(&css("nav-activity"), LONG);
    s.wait(&css("activity-row"), LONG);
    s.find_all(&css("activity-row")).iter().filter_map(|r| s.attribute(r, "data-event")).collect()
}

#[test]
fn activity_is_in_the_order_things_happened_with_sign_in_and_sign_out() {
    let env = Env::start(Options { daemon: false, ..Default::default() });
    let display = Display::start(&env.dir.join("logs"));
    let app = App::start(&env, &display, &[]);
    switch_to_main(&app);
    let s = &app.session;
    let account = env.login("alice");

    // "Always allow" lets the waiting request through: the decision, then the hand-out.
    let client = env.spawn_token_client(&[&account]);
    let client = app.switch_to_consent_of(&env, &token_client_key(), client);
    let always = s.wait(&css("approve-always"), LONG);
    s.wait_until(LONG, || s.is_enabled(&always).then_some(()))
        .expect("the buttons wake up after the security delay");
    // The common case (five scopes; this request has six) needs no scrolling; the account
    // is named as people know it.
    assert!(s.find_all(&css("consent-scope")).len() >= 5, "{}", s.page_text());
    let overflow = s.execute(
        "const b = document.querySelector('.body'); return b.scrollHeight - b.clientHeight",
    );
    assert!(overflow.as_i64().is_some_and(|o| o <= 1), "the consent window scrolls by {overflow}");
    assert_eq!(s.text(&s.wait(&css("consent-account"), LONG)), "alice@example.test");
    assert_eq!(s.text(&s.wait(&css("consent-account-id"), LONG)), account);
    app.screenshot("consent-five-scopes");
    s.click_closing(&always);
    env.client_result(client).token();
    switch_to_main(&app);
    let newest_first = activity_events(&app);
    assert_eq!(newest_first, ["handed_out", "remembered", "signed_in"], "newest first");
    app.screenshot("activity-in-order");

    env.sesame_ok(&["logout", &account]);
    let signed_out = s.wait_until(LONG, || {
        let events = activity_events(&app);
        (events.first().map(String::as_str) == Some("signed_out")).then_some(events)
    });
    assert!(signed_out.is_some(), "the sign-out is the newest event: {:?}", activity_events(&app));
}

#[test]
fn quit_in_the_main_window_ends_the_app_and_its_socket() {
    let env = Env::start(Options { daemon: false, ..Default::default() });
    let display = Display::start(&env.dir.join("logs"));
    let app = App::start(&env, &display, &[]);
    switch_to_main(&app);
    assert!(env.sesame(&["accounts"], &[]).status.success(), "the app's broker serves");
    let s = &app.session;
    let quit = s.wait(&css("app-quit"), LONG);
    s.click_ending_the_app(&quit);
    let gone = wait_for(LONG, || (!app.has_window("Sesame") && !env.socket.exists()).then_some(()));
    assert!(gone.is_some(), "the window and the socket are gone:\n{}", app.log());
    let out = env.sesame(&["accounts"], &[]);
    assert!(!out.status.success(), "nobody serves the socket any more: {}", stdout(&out));
}
