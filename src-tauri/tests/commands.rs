//! Every command in `COMMANDS`, called the way a page calls it (tauri's mock IPC, with the
//! app's real config and capabilities, so the ACL applies), against a real broker that holds
//! planted tokens: a refresh token in the keyring, access tokens in its cache (one from a
//! refresh, one from a sign-in this test completes), a rotated refresh token, a client
//! secret, a device code in flight and an authorization code. Every answer, success or
//! error, is scanned for them. A command without a case here fails the test, so a new
//! command cannot skip the scan.
//!
//! HOME and the XDG dirs point at a temp dir, set once before any test thread starts work
//! (autostart writes `~/.config/autostart`; nothing may touch the real user's files).

// Helpers may unwrap as tests do: clippy.toml's allow-unwrap-in-tests covers only the
// #[test] functions themselves.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};
use sesame_app::state::{AppState, Core};
use sesame_app::{commands, COMMANDS};
use sesame_core::{Asker, Paths};
use sesame_ipc::protocol::TokenGetParams;
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindow, WebviewWindowBuilder};

use support::{planted_broker, trusted_caller, untrusted_caller, FakeProvider, PLANT};

struct Ui {
    app: tauri::App<MockRuntime>,
    main: WebviewWindow<MockRuntime>,
}

impl Ui {
    fn new(state: AppState) -> Ui {
        let app = mock_builder()
            .plugin(tauri_plugin_autostart::init(
                tauri_plugin_autostart::MacosLauncher::LaunchAgent,
                Some(vec!["--hidden"]),
            ))
            .invoke_handler(commands::handler())
            .manage(state)
            .build(sesame_app::context())
            .expect("mock app");
        let main = WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
        Ui { app, main }
    }

    fn consent(&self) -> WebviewWindow<MockRuntime> {
        match self.app.get_webview_window("consent") {
            Some(w) => w,
            None => {
                WebviewWindowBuilder::new(&self.app, "consent", Default::default()).build().unwrap()
            }
        }
    }

    /// The answer as JSON: `Ok(value)` or `Err(error value)`, scanned for planted secrets.
    fn call(
        &self,
        window: &WebviewWindow<MockRuntime>,
        cmd: &str,
        args: Value,
    ) -> Result<Value, Value> {
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: tauri::ipc::InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        let answer = get_ipc_response(window, request).map(|b| b.deserialize::<Value>().unwrap());
        let text = match &answer {
            Ok(v) | Err(v) => v.to_string(),
        };
        assert!(!text.contains(PLANT), "`{cmd}` handed a planted secret to the webview: {text}");
        answer
    }
}

fn kind(err: &Value) -> &str {
    err["kind"].as_str().unwrap_or_else(|| panic!("not a CommandError: {err}"))
}

#[test]
fn no_command_hands_out_a_token_and_each_window_has_only_its_commands() {
    let home = support::private_home();
    let provider = tauri::async_runtime::block_on(FakeProvider::start());
    let broker = tauri::async_runtime::block_on(planted_broker(&provider));
    let paths = Paths {
        config_file: home.join("config.toml"),
        data_dir: home.join("data"),
        socket: home.join("sesame.sock"),
    };

    // A program with a grant gets a token: the cache now holds a planted access token.
    let token = tauri::async_runtime::block_on(broker.token(
        &trusted_caller(),
        Asker::unwatched(),
        &TokenGetParams { account: "acme-ann".into(), ..Default::default() },
    ))
    .unwrap();
    assert!(token.access_token.expose().contains(PLANT), "the broker really holds a planted token");
    // Another program waits for consent.
    let waiting = {
        let broker = broker.clone();
        tauri::async_runtime::spawn(async move {
            broker
                .token(
                    &untrusted_caller(),
                    Asker::unwatched(),
                    &TokenGetParams { account: "acme-ann".into(), ..Default::default() },
                )
                .await
        })
    };
    wait_until(|| broker.pending_list().len() == 1);

    let ui = Ui::new(AppState::new(Core::Running { broker: broker.clone() }, Some(&paths), false));
    let mut covered = BTreeSet::new();
    let mut call = |window: &WebviewWindow<MockRuntime>, cmd: &'static str, args: Value| {
        covered.insert(cmd);
        ui.call(window, cmd, args)
    };
    let main = ui.main.clone();

    let overview = call(&main, "app_overview", json!({})).unwrap();
    assert_eq!(
        (overview["state"].as_str(), overview["pending"].as_u64()),
        (Some("running"), Some(1))
    );
    assert_eq!(call(&main, "accounts_list", json!({})).unwrap()[0]["id"], "acme-ann");
    assert_eq!(call(&main, "providers_list", json!({})).unwrap()["providers"][0]["id"], "acme");
    // This broker was built without a config file: the reload says so, as an error.
    let reload = call(&main, "config_reload", json!({})).unwrap_err();
    assert!(reload["message"].as_str().unwrap().contains("without a config file"), "{reload}");
    assert_eq!(call(&main, "pending_list", json!({})).unwrap().as_array().unwrap().len(), 1);

    // A full browser sign-in: the code and the new tokens stay in the broker.
    let started = call(&main, "login_start", json!({"provider": "acme"})).unwrap();
    assert!(
        started.get("redirect_uri").is_none() && started["browser_error"].is_null(),
        "{started}"
    );
    support::browser_redirect(started["authorization_url"].as_str().unwrap());
    let login_id = started["login_id"].clone();
    assert_eq!(
        call(&main, "login_wait", json!({"loginId": login_id})).unwrap()["email"],
        "bob@example.com"
    );
    // A cancelled one.
    let started = call(&main, "login_start", json!({"provider": "acme"})).unwrap();
    call(&main, "login_cancel", json!({"loginId": started["login_id"]})).unwrap();
    assert_eq!(
        kind(&call(&main, "login_wait", json!({"loginId": started["login_id"]})).unwrap_err()),
        "login_cancelled"
    );
    // A device sign-in: the user code is shown, the device code is not.
    let device = call(&main, "login_device_start", json!({"provider": "acme"})).unwrap();
    assert_eq!(device["user_code"], "WDJB-MJHT");

    let grants = call(&main, "grants_list", json!({})).unwrap();
    assert_eq!(grants.as_array().unwrap().len(), 1);
    assert!(!call(&main, "activity_list", json!({"limit": 50}))
        .unwrap()
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(call(&main, "autostart_set", json!({"enabled": true})).unwrap(), true);
    assert!(
        home.join(".config/autostart").read_dir().unwrap().next().is_some(),
        "autostart wrote its entry into the temp HOME"
    );
    assert_eq!(call(&main, "autostart_set", json!({"enabled": false})).unwrap(), false);
    // Quit (the app e2e quits for real): this mock app cannot, and says so.
    let quit = call(&main, "app_quit", json!({})).unwrap_err();
    assert!(quit.to_string().contains("cannot quit"), "{quit}");

    // The consent window: opened on the waiting request, answers it, and only it.
    let pending_id = broker.pending_list()[0].id;
    assert_eq!(call(&main, "open_consent", json!({"id": pending_id})).unwrap(), Value::Null);
    let consent = ui.consent();
    assert_eq!(
        kind(
            &call(
                &consent,
                "consent_answer",
                json!({"id": pending_id, "decision": "approve_once"})
            )
            .unwrap_err()
        ),
        "bad_request",
        "nothing shown yet"
    );
    let current = call(&consent, "consent_current", json!({})).unwrap();
    assert_eq!(current["request"]["id"], pending_id);
    assert_eq!(current["security_delay_ms"], 1000);
    assert_eq!(
        current["scopes"][0],
        json!({"scope": "email", "description": "See your email address", "beyond_asked": false})
    );
    assert_eq!(
        kind(
            &call(&consent, "consent_answer", json!({"id": pending_id + 1, "decision": "deny"}))
                .unwrap_err()
        ),
        "bad_request"
    );
    assert_eq!(
        call(&consent, "consent_answer", json!({"id": pending_id, "decision": "approve_once"}))
            .unwrap(),
        Value::Null
    );
    let handed = tauri::async_runtime::block_on(waiting).unwrap().unwrap();
    assert!(
        handed.access_token.expose().contains(PLANT),
        "the program (not the page) got its token"
    );
    assert_eq!(call(&consent, "consent_current", json!({})).unwrap(), Value::Null);
    // (The window closes now; the mock runtime only applies that in its event loop, so the
    // smoke run under Xvfb checks it, not this test.)
    assert_eq!(
        call(&main, "open_consent", json!({})).unwrap(),
        Value::Null,
        "nothing to ask: no window, no error"
    );

    let grant = grants[0]["id"].clone();
    assert_eq!(call(&main, "grants_revoke", json!({"grant": grant})).unwrap(), json!([grant]));
    assert_eq!(
        call(&main, "account_logout", json!({"account": "acme-ann"})).unwrap()["revocation"]
            ["status"],
        "confirmed"
    );

    // The ACL: each window reaches its own commands and no other.
    let consent = ui.consent();
    for cmd in COMMANDS {
        let (own, other) =
            if cmd.starts_with("consent_") { (&consent, &main) } else { (&main, &consent) };
        let refused = ui.call(other, cmd, json!({})).unwrap_err();
        assert!(
            refused.as_str().is_some_and(|s| s.contains("not allowed")),
            "{cmd} from the wrong window: {refused}"
        );
        let reached = ui.call(own, cmd, json!({}));
        assert!(
            !reached.is_err_and(|e| e
                .as_str()
                .is_some_and(|s| s.contains("not allowed") || s.contains("not found"))),
            "{cmd} is not reachable from its window"
        );
    }

    let missing: Vec<&&str> = COMMANDS.iter().filter(|c| !covered.contains(**c)).collect();
    assert!(missing.is_empty(), "commands without a case in the token scan: {missing:?}");
}

/// Without a broker every broker command says `not_running`, and the overview says why;
/// once the other broker is gone, the overview's re-check ("Check again") starts ours.
#[test]
fn a_conflict_is_reported_and_rechecked() {
    let home = support::private_home();
    let dir = home.join("conflict");
    std::fs::create_dir_all(&dir).unwrap();
    let paths = Paths {
        config_file: dir.join("config.toml"),
        data_dir: dir.join("data"),
        socket: dir.join("taken.sock"),
    };
    std::fs::write(&paths.config_file, "[[provider]]\nid = \"x\"\nissuer = \"http://127.0.0.1:9\"\nclient_id = \"c\"\nscopes = [\"openid\"]\n").unwrap();
    let other = std::os::unix::net::UnixListener::bind(&paths.socket).unwrap();
    let ui = Ui::new(AppState::new(
        Core::Conflict { socket: paths.socket.clone() },
        Some(&paths),
        false,
    ));
    let overview = ui.call(&ui.main, "app_overview", json!({})).unwrap();
    assert_eq!(overview["state"], "conflict");
    assert!(overview["message"].as_str().unwrap().contains("taken.sock"));
    for cmd in [
        "accounts_list",
        "providers_list",
        "pending_list",
        "grants_list",
        "activity_list",
        "open_consent",
    ] {
        assert_eq!(kind(&ui.call(&ui.main, cmd, json!({})).unwrap_err()), "not_running", "{cmd}");
    }

    drop(other); // the daemon stopped (its socket file stays behind, stale)
    assert_eq!(ui.call(&ui.main, "app_overview", json!({})).unwrap()["state"], "running");
    assert_eq!(ui.call(&ui.main, "providers_list", json!({})).unwrap()["providers"][0]["id"], "x");
    std::os::unix::net::UnixStream::connect(&paths.socket).expect("the app now serves the socket");
}

fn wait_until(mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("timed out waiting");
}
