// No console window on Windows release builds (harmless elsewhere).
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // The broker re-executes this binary as its crash-safe refresh helper
    // (`HelperCommand::current_exe()`): one job on stdin, the outcome on stdout, no GUI.
    if std::env::args().nth(1).as_deref() == Some("rotate-helper") {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("cannot start the refresh helper's runtime");
        if let Err(e) = runtime.block_on(sesame_core::host::rotate_helper()) {
            eprintln!("sesame-app rotate-helper: {e}");
            std::process::exit(1);
        }
        return;
    }
    // Before GTK starts (and before any thread exists): no accelerated compositing in our
    // webviews unless the user chose otherwise. Two small pages need no GPU path, and
    // without a GPU (software GL, as under Xvfb or on many VMs) the main window's web
    // process took 186 MiB PSS with it and 111 MiB without (the app's total: 307 -> 232
    // MiB; docs/performance.md, the app's rows).
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    sesame_app::run();
}
