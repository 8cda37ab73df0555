//! The test identity provider (npm `oidc-provider`, `tests/idp/server.mjs`), one per test.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use crate::process::{spawn_logged, Guard};
use crate::{root, Options};

/// Starts the test provider and waits for its `READY` line. Seen once in CI: Node hung
/// before listening (its main thread stuck on a lock), which would hang the whole run; so a
/// provider that is not ready in time is killed and started again.
pub(crate) fn start_idp(dir: &Path, opts: &Options) -> (Guard, String) {
    let script = root().join("tests/idp/server.mjs");
    assert!(root().join("tests/idp/node_modules").exists(), "run `npm ci` in tests/idp first");
    start_until_ready("oidc-provider", &dir.join("logs/idp.log"), || {
        let mut cmd = Command::new("node");
        cmd.arg(&script)
            .env("IDP_ACCESS_TOKEN_TTL", opts.access_token_ttl.to_string())
            .env("IDP_ROTATE", if opts.rotate { "1" } else { "0" })
            .env("IDP_DEVICE_CODE_TTL", opts.device_code_ttl.to_string())
            .env("IDP_DEVICE_INTERVAL", opts.device_interval.to_string())
            .env("IDP_DEVICE_SLOW_DOWN", opts.device_slow_down.to_string())
            .env("NODE_NO_WARNINGS", "1");
        if let Some(uri) = &opts.redirect_uri {
            cmd.env("IDP_EXACT_REDIRECT_URI", uri);
        }
        cmd
    })
}

/// Starts the provider `command` makes and waits for its `READY <issuer>` line on stdout;
/// one not ready in time is killed and started again (see [`start_idp`]).
pub(crate) fn start_until_ready(
    name: &'static str,
    log: &Path,
    command: impl Fn() -> Command,
) -> (Guard, String) {
    const ATTEMPTS: usize = 3;
    const READY_WITHIN: Duration = Duration::from_secs(30);
    for attempt in 1..=ATTEMPTS {
        let child = spawn_logged(command(), log, true);
        let mut guard = Guard::new(name, child, log.to_owned());
        let stdout = guard.child().stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        match rx.recv_timeout(READY_WITHIN) {
            Ok(line) => {
                let issuer = line
                    .trim()
                    .strip_prefix("READY ")
                    .unwrap_or_else(|| panic!("{name} did not start:\n{}", guard.log()));
                return (guard, issuer.to_owned());
            }
            Err(_) if attempt < ATTEMPTS => {
                eprintln!("e2e: {name} was not ready within {READY_WITHIN:?} (attempt {attempt}); starting it again");
                guard.kill();
            }
            Err(_) => {
                panic!("{name} was not ready after {ATTEMPTS} attempts:\n{}", guard.log())
            }
        }
    }
    unreachable!("the loop returns or panics")
}
