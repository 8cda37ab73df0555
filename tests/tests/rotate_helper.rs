//! The refresh helper (`sesame rotate-helper`) against what a desktop does to it: Ctrl-C in
//! the terminal of a foreground `sesame daemon` (SIGINT to the daemon's process group) while
//! a rotation is in flight, and a keyring that stops answering while the helper stores the
//! rotated token. The test provider rotates refresh tokens and revokes the grant when an old
//! one comes back, so a rotated token lost on the way is an account lost.
//!
//! "In flight" is made certain, not timed: the provider is stopped (SIGSTOP) before the
//! refresh, so the helper's request sits unread in the provider's socket until the test
//! resumes it; the test sees that request in `/proc/net/tcp` before it signals anything.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sesame_e2e::*;

fn options() -> Options {
    Options {
        rotate: true,
        // No background refresh may rotate the token behind the test's back.
        top_config: "proactive_refresh = false".into(),
        daemon: false,
        ..Default::default()
    }
}

/// The fields of `/proc/<pid>/stat` after the command name: state, ppid, pgrp, session, …
fn stat(pid: i32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// Running, sleeping or stopped: anything but gone or a zombie.
fn alive(pid: i32) -> bool {
    stat(pid).is_some_and(|s| s[0] != "Z" && s[0] != "X")
}

fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// Live children of `parent` whose command line contains `needle`.
fn children(parent: i32, needle: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            stat(pid).is_some_and(|s| s[1] == parent.to_string() && s[0] != "Z")
                && cmdline(pid).contains(needle)
        })
        .collect()
}

/// The child of this test process running `needle` for `env` (its provider, its keyring):
/// the one that logs into the env's directory (tests in one binary run side by side).
fn own_child(env: &Env, needle: &str) -> i32 {
    let found: Vec<i32> = children(std::process::id() as i32, needle)
        .into_iter()
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/fd/2")).is_ok_and(|l| l.starts_with(&env.dir))
        })
        .collect();
    assert_eq!(found.len(), 1, "expected one {needle} of this env: {found:?}");
    found[0]
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) on a process this test started (or, negated, its process group).
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "kill({pid}, {sig})");
}

/// SIGSTOPs a process and SIGCONTs it when dropped, so a failing test leaves nothing frozen.
struct Frozen(i32);

impl Frozen {
    fn new(pid: i32) -> Frozen {
        signal(pid, libc::SIGSTOP);
        Frozen(pid)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        // SAFETY: as in `signal`; the process may be gone already.
        unsafe { libc::kill(self.0, libc::SIGCONT) };
    }
}

/// /proc/net/tcp rows: (local port, remote port, rx_queue, inode), ESTABLISHED only.
fn tcp_connections() -> Vec<(u16, u16, u64, u64)> {
    let text = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let port = |addr: &str| u16::from_str_radix(addr.rsplit(':').next().unwrap(), 16).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let rx_queue = u64::from_str_radix(f[4].split(':').nth(1)?, 16).ok()?;
            let inode = f[9].parse().ok()?;
            (f[3] == "01").then(|| (port(f[1]), port(f[2]), rx_queue, inode))
        })
        .collect()
}

fn socket_inodes(pid: i32) -> HashSet<u64> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|fds| {
            fds.flatten()
                .filter_map(|fd| {
                    let link = std::fs::read_link(fd.path()).ok()?;
                    let link = link.to_str()?;
                    link.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// True when `helper` has a connection to the provider on `idp_port` and the provider's end
/// of it holds unread bytes: the refresh request has been sent and waits for an answer.
fn request_waits_at_provider(helper: i32, idp_port: u16) -> bool {
    let mine = socket_inodes(helper);
    let conns = tcp_connections();
    conns.iter().filter(|c| c.1 == idp_port && mine.contains(&c.3)).any(|&(local, ..)| {
        conns.iter().any(|&(l, r, rx_queue, _)| l == idp_port && r == local && rx_queue > 0)
    })
}

fn idp_port(env: &Env) -> u16 {
    env.issuer.rsplit(':').next().unwrap().parse().unwrap()
}

/// Starts a `token.get` that forces a refresh, on its own connection and thread; the thread
/// yields the reply, or `None` if the broker closed the connection or stayed silent for 60 s.
fn forced_refresh(socket: &Path, account: &str) -> std::thread::JoinHandle<Option<Value>> {
    let mut stream = UnixStream::connect(socket).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "token.get", "params": {"account": account, "min_ttl": 999_999}});
    writeln!(stream, "{request}").unwrap();
    std::thread::spawn(move || {
        let mut line = String::new();
        match BufReader::new(stream).read_line(&mut line) {
            Ok(n) if n > 0 => Some(serde_json::from_str(&line).unwrap()),
            _ => None,
        }
    })
}

/// The helper the daemon started for the refresh, once its request waits at the (stopped)
/// provider.
fn helper_in_flight(env: &mut Env) -> i32 {
    let daemon = env.daemon_pid().unwrap() as i32;
    let port = idp_port(env);
    wait_for(Duration::from_secs(20), || {
        children(daemon, "rotate-helper").into_iter().find(|&h| request_waits_at_provider(h, port))
    })
    .unwrap_or_else(|| {
        panic!("no refresh helper with a request at the provider:\n{}", env.daemon_log())
    })
}

/// Logs in, approves the test process for the account (so `token.get` needs no answer) and
/// returns the account with the refresh token the keyring holds.
fn signed_in(env: &Env) -> (String, String) {
    let account = env.login("alice");
    let reply = env.rpc_token(json!({"account": account, "min_ttl": 0}));
    assert!(reply["result"]["access_token"].is_string(), "{reply}");
    let refresh = env.keyring_lookup(&account).unwrap();
    env.reset_idp_stats();
    (account, refresh)
}

/// After the test: the account refreshes again (with whatever refresh token the broker now
/// holds), and the keyring ends up with a live refresh token that is not `old`.
fn still_refreshes(env: &Env, account: &str, old: &str) {
    let reply = env.rpc("token.get", json!({"account": account, "min_ttl": 999_999}));
    let token = reply["result"]["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{account} no longer refreshes: {reply}\n{}", env.daemon_log()));
    assert_eq!(env.introspect(token)["active"], json!(true));
    let now = env.keyring_lookup(account).unwrap();
    assert_ne!(now, old, "the keyring holds a rotated refresh token");
    assert_eq!(env.introspect(&now)["active"], json!(true));
    assert_eq!(env.introspect(old)["active"], json!(false), "the first refresh token is spent");
}

#[test]
fn ctrl_c_to_a_foreground_daemon_does_not_kill_a_refresh_in_flight() {
    let mut env = Env::start(options());
    // A terminal puts a foreground job in a process group of its own; Ctrl-C signals it all.
    env.start_daemon_with(|cmd| {
        cmd.process_group(0);
    });
    let daemon = env.daemon_pid().unwrap() as i32;
    assert_eq!(stat(daemon).unwrap()[2], daemon.to_string(), "the daemon leads its group");
    let (account, old_refresh) = signed_in(&env);

    let provider = Frozen::new(own_child(&env, "idp/server.mjs"));
    let asking = forced_refresh(&env.socket, &account);
    let helper = helper_in_flight(&mut env);

    signal(-daemon, libc::SIGINT);
    assert!(
        wait_for(Duration::from_secs(20), || (!alive(daemon)).then_some(())).is_some(),
        "SIGINT did not stop the daemon:\n{}",
        env.daemon_log()
    );
    let status = env.stop_daemon(); // reaps it
    assert_eq!(status.code(), Some(0), "a clean shutdown on SIGINT:\n{}", env.daemon_log());
    assert!(alive(helper), "the refresh helper died with the daemon's process group");
    let _ = asking.join();

    drop(provider);
    assert!(
        wait_for(Duration::from_secs(40), || (!alive(helper)).then_some(())).is_some(),
        "the helper did not finish once the provider answered"
    );
    assert_eq!(env.idp_token_requests("refresh_token"), 1, "the helper's one refresh");
    // The helper stored the rotated token itself: a new daemon refreshes with it.
    env.start_daemon();
    still_refreshes(&env, &account, &old_refresh);
    assert_eq!(env.idp_token_requests("refresh_token"), 2);
    env.assert_no_leaks();
}

#[test]
fn a_keyring_that_hangs_while_the_rotated_token_is_stored_fails_the_refresh_and_loses_nothing() {
    let mut env = Env::start(options());
    env.start_daemon();
    let (account, old_refresh) = signed_in(&env);

    let provider = Frozen::new(own_child(&env, "idp/server.mjs"));
    let asking = forced_refresh(&env.socket, &account);
    let helper = helper_in_flight(&mut env);
    // The refresh token has been read: freeze the keyring, then let the provider rotate.
    let keyring = Frozen::new(own_child(&env, "gnome-keyring-daemon"));
    drop(provider);

    let started = Instant::now();
    let reply = asking.join().unwrap().unwrap_or_else(|| {
        panic!("no reply: the refresh is stuck behind the hung keyring\n{}", env.daemon_log())
    });
    eprintln!("the refresh failed after {:?} with the keyring frozen", started.elapsed());
    assert_eq!(error_kind(&reply), "keyring_unavailable", "{reply}");
    assert!(
        wait_for(Duration::from_secs(10), || (!alive(helper)).then_some(())).is_some(),
        "the helper is still running (it would hold the account's lock file)"
    );
    assert!(
        env.daemon_log()
            .contains("could not store the rotated refresh token; keeping it in memory"),
        "{}",
        env.daemon_log()
    );
    assert_eq!(env.idp_token_requests("refresh_token"), 1);

    drop(keyring);
    // The next refresh stores the kept token first, then rotates with it: were it lost, the
    // provider would see the spent one and revoke the grant (reauth_required).
    still_refreshes(&env, &account, &old_refresh);
    assert_eq!(env.idp_token_requests("refresh_token"), 2);
    env.assert_no_leaks();
}
