//! Generates the `allow-<command>` / `deny-<command>` permissions for the app's own commands
//! (tauri's ACL), from the same list the code and the tests use.

const COMMANDS: &[&str] = include!("src/command_names.rs");

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri build step failed: {e:#}");
    }
}
