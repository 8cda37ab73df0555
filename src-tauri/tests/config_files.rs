//! The files tauri reads at build time say what docs/app.md says: each window's capability
//! lists exactly its commands, the CSP stays strict, and the command list, the docs and the
//! permissions agree.

// Helpers may unwrap as tests do: clippy.toml's allow-unwrap-in-tests covers only the
// #[test] functions themselves.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use sesame_app::COMMANDS;

fn json(path: &str) -> Value {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    serde_json::from_str(&std::fs::read_to_string(&full).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn permissions(capability: &Value) -> BTreeSet<String> {
    capability["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().expect("plain permission ids only, no scopes").to_owned())
        .collect()
}

fn allow(commands: impl Iterator<Item = &'static str>) -> BTreeSet<String> {
    let events = ["core:event:allow-listen", "core:event:allow-unlisten"].map(String::from);
    commands.map(|c| format!("allow-{}", c.replace('_', "-"))).chain(events).collect()
}

#[test]
fn each_window_gets_exactly_its_commands() {
    let main = json("capabilities/main.json");
    assert_eq!(main["windows"], serde_json::json!(["main"]));
    assert_eq!(
        permissions(&main),
        allow(COMMANDS.iter().copied().filter(|c| !c.starts_with("consent_")))
    );

    let consent = json("capabilities/consent.json");
    assert_eq!(consent["windows"], serde_json::json!(["consent"]));
    assert_eq!(permissions(&consent), allow(["consent_current", "consent_answer"].into_iter()));
    for cap in [&main, &consent] {
        assert!(cap.get("remote").is_none(), "no remote URL may call commands");
    }
    let conf = json("tauri.conf.json");
    assert_eq!(
        conf["app"]["security"]["capabilities"],
        serde_json::json!(["main", "consent"]),
        "no other capability file is active"
    );
}

#[test]
fn the_webview_config_is_strict() {
    let conf = json("tauri.conf.json");
    let app = &conf["app"];
    assert_eq!(app["withGlobalTauri"], false);
    assert_eq!(app["windows"], serde_json::json!([]), "windows are made in code");
    for key in ["csp", "devCsp"] {
        let csp = app["security"][key].as_str().unwrap();
        assert!(!csp.contains("unsafe-eval"), "{key}: {csp}");
        assert!(
            csp.contains("default-src 'self'") && csp.contains("object-src 'none'"),
            "{key}: {csp}"
        );
        let script_src = csp.split(';').find(|d| d.trim().starts_with("script-src")).unwrap();
        assert_eq!(script_src.trim(), "script-src 'self'", "{key}: scripts only from the app");
    }
    assert_eq!(conf["identifier"], "dev.sesame.app");
    assert_eq!(conf["build"]["frontendDist"], "../ui/dist");
}

/// docs/app.md's command table is the contract: same names as `COMMANDS`.
#[test]
fn the_docs_list_the_same_commands() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/app.md"))
        .unwrap();
    let table = doc.split("## Commands").nth(1).unwrap().split("\n## ").next().unwrap();
    let documented: Vec<&str> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    assert_eq!(documented, COMMANDS);
}
