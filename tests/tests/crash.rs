//! Crash-safe rotation. The test provider rotates refresh tokens and revokes the whole grant
//! when an old one comes back, so a rotated token that never reached the keyring is a lost
//! account. Programs keep forcing refreshes while the broker is killed with SIGKILL at random
//! moments and restarted; afterwards every account must still refresh.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use sesame_e2e::*;

const ROUNDS: u32 = 50;

/// One `token.get` that forces a refresh (`min_ttl` beyond any lifetime); `None` when the
/// broker is not there (it is being killed and restarted all the time).
fn forced_refresh(socket: &Path, account: &str) -> Option<Value> {
    let mut stream = UnixStream::connect(socket).ok()?;
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "token.get", "params": {"account": account, "min_ttl": 999_999}});
    writeln!(stream, "{request}").ok()?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).ok()?;
    serde_json::from_str(&line).ok()
}

/// xorshift64: enough for kill times; the seed is printed so a failure can be replayed
/// with `SESAME_CRASH_SEED`.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed =
            std::env::var("SESAME_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(
                || SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1,
            );
        eprintln!("SESAME_CRASH_SEED={seed}");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn killing_the_broker_during_rotations_never_loses_an_account() {
    let opts = Options {
        rotate: true,
        top_config: "proactive_refresh = false".into(),
        ..Default::default()
    };
    let mut env = Env::start(opts);
    let accounts = [env.login("alice"), env.login("bob")];
    for account in &accounts {
        // The test process's grant, so the requests below need no answer.
        env.rpc_token(json!({"account": account, "min_ttl": 0}));
    }
    env.reset_idp_stats();
    let mut rng = Rng::new();
    let mut served = 0;
    for round in 0..ROUNDS {
        if round > 0 {
            env.start_daemon();
        }
        let pid = env.daemon_pid().expect("a daemon") as i32;
        let stop = AtomicBool::new(false);
        let kill_after = Duration::from_millis(20 + rng.below(400));
        let replies: Vec<Value> = std::thread::scope(|s| {
            let workers: Vec<_> = accounts
                .iter()
                .map(|account| {
                    let (stop, socket) = (&stop, &env.socket);
                    s.spawn(move || {
                        let mut replies = vec![];
                        while !stop.load(Ordering::Relaxed) {
                            match forced_refresh(socket, account) {
                                Some(reply) => replies.push(reply),
                                None => std::thread::sleep(Duration::from_millis(5)),
                            }
                        }
                        replies
                    })
                })
                .collect();
            std::thread::sleep(kill_after);
            // SAFETY: kill(2) on the daemon we started and have not reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            std::thread::sleep(Duration::from_millis(50));
            stop.store(true, Ordering::Relaxed);
            workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
        });
        env.kill_daemon(); // reaps it
        for reply in &replies {
            if let Some(token) = reply["result"]["access_token"].as_str() {
                env.remember_secret(token);
                served += 1;
            } else {
                let kind = error_kind(reply);
                assert_ne!(kind, "reauth_required", "round {round}: an account was lost: {reply}");
            }
        }
    }
    let rotations = env.idp_token_requests("refresh_token");
    eprintln!("{ROUNDS} kills, {rotations} rotations at the provider, {served} tokens served");
    assert!(
        rotations >= u64::from(ROUNDS),
        "the kills should land among rotations; only {rotations} happened"
    );

    env.start_daemon();
    for account in &accounts {
        let reply = env.rpc("token.get", json!({"account": account, "min_ttl": 999_999}));
        let token = reply["result"]["access_token"].as_str().unwrap_or_else(|| {
            panic!("{account} no longer refreshes: {reply}\n{}", env.daemon_log())
        });
        env.remember_secret(token);
        assert_eq!(env.introspect(token)["active"], json!(true));
    }
    let listed: Value = serde_json::from_str(&env.sesame_ok(&["accounts", "--json"])).unwrap();
    assert!(listed.as_array().unwrap().iter().all(|a| a["status"] == "active"), "{listed}");
    env.assert_no_leaks();
}
