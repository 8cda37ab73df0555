//! The UI's TypeScript types (`ui/src/lib/generated/`, one file per type) are generated from
//! the Rust types the commands and the `sesame:changed` event carry, with ts-rs: the app's DTOs
//! (`src/dto.rs`) and sesame-ipc's wire types (its `ts` feature). The files are committed;
//! this test exports them again into a temp dir and fails when they differ, so a changed DTO
//! cannot leave the UI's types behind. Regenerate with
//!
//! ```sh
//! SESAME_WRITE_TS=1 cargo test -p sesame-app --test ts_bindings
//! ```

// Helpers may unwrap as tests do: clippy.toml's allow-unwrap-in-tests covers only the
// #[test] functions themselves.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sesame_app::dto::{
    AccountView, CommandError, ConsentView, LoginStarted, Overview, ProvidersView,
};
use sesame_ipc::admin::ReloadResult;
use sesame_ipc::consent::{ActivityInfo, Decision, GrantInfo, PendingInfo};
use sesame_ipc::events::BrokerEvent;
use sesame_ipc::protocol::{AccountInfo, LoginDeviceStartResult, LogoutResult};
use ts_rs::TS;

const REGENERATE: &str = "SESAME_WRITE_TS=1 cargo test -p sesame-app --test ts_bindings";

fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/generated")
}

/// Every type a command returns or takes, the event's payload and the error; ts-rs follows
/// their fields to the rest (AccountInfo, ScopeSet, Remedy, ...).
fn export(dir: &Path) {
    // JSON numbers: ids, counts and Unix seconds all fit in a double.
    let cfg = ts_rs::Config::new().with_large_int("number").with_out_dir(dir);
    fn with_deps<T: TS + 'static>(cfg: &ts_rs::Config) {
        T::export_all(cfg).unwrap_or_else(|e| panic!("ts-rs export of {}: {e}", T::ident(cfg)));
    }
    with_deps::<Overview>(&cfg);
    with_deps::<AccountView>(&cfg);
    // The fake backend keeps accounts as the broker does (AccountView flattens it).
    with_deps::<AccountInfo>(&cfg);
    with_deps::<ProvidersView>(&cfg);
    with_deps::<ReloadResult>(&cfg);
    with_deps::<LoginStarted>(&cfg);
    with_deps::<LoginDeviceStartResult>(&cfg);
    with_deps::<LogoutResult>(&cfg);
    with_deps::<GrantInfo>(&cfg);
    with_deps::<ActivityInfo>(&cfg);
    with_deps::<PendingInfo>(&cfg);
    with_deps::<ConsentView>(&cfg);
    with_deps::<Decision>(&cfg);
    with_deps::<BrokerEvent>(&cfg);
    with_deps::<CommandError>(&cfg);
}

fn ts_files(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return BTreeMap::new() };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ts"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

#[test]
fn the_uis_generated_types_are_current() {
    let committed = committed_dir();
    if std::env::var_os("SESAME_WRITE_TS").is_some() {
        for name in ts_files(&committed).keys() {
            std::fs::remove_file(committed.join(name)).unwrap();
        }
        export(&committed);
        return;
    }
    let fresh = std::env::temp_dir().join(format!("sesame-ts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&fresh);
    export(&fresh);
    let (want, have) = (ts_files(&fresh), ts_files(&committed));
    let _ = std::fs::remove_dir_all(&fresh);

    let mut stale: Vec<String> = want
        .iter()
        .filter(|(name, text)| have.get(*name) != Some(*text))
        .map(|(name, _)| format!("{name} (changed or missing)"))
        .collect();
    stale.extend(
        have.keys().filter(|name| !want.contains_key(*name)).map(|n| format!("{n} (no such type)")),
    );
    assert!(
        stale.is_empty(),
        "ui/src/lib/generated/ is stale: {}; regenerate with `{REGENERATE}` and commit the result",
        stale.join(", ")
    );
}
