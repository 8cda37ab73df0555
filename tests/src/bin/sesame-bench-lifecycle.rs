//! Benchmark (not a test) for the token lifecycle: how many refreshes 200 waiters cause, the
//! latency of a warm `token.get` while the proactive refresher runs, and how long a program
//! waits for a token that has just expired, with and without proactive refresh.
//!
//!   cargo build --release -p sesame-cli -p sesame-e2e
//!   SESAME_BIN=target/release/sesame target/release/sesame-bench-lifecycle

use std::path::Path;
use std::time::{Duration, Instant};

use sesame_e2e::{Env, Options};
use sesame_ipc::protocol::TokenGetParams;
use sesame_ipc::Client;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let me = std::fs::canonicalize(std::env::current_exe().unwrap()).unwrap();
    let me = me.to_str().unwrap().to_owned();
    let start = |ttl: u64, proactive: bool| {
        let top = format!("proactive_refresh = {proactive}");
        let env =
            Env::start(Options { access_token_ttl: ttl, top_config: top, ..Default::default() });
        let account = env.login("alice");
        env.with_consent(&me, || rt.block_on(token(&env.socket, &account, 0)));
        (env, account)
    };

    // 1. 200 concurrent requests for an expired token.
    let (env, account) = start(2, false);
    std::thread::sleep(Duration::from_secs(3));
    env.reset_idp_stats();
    rt.block_on(async {
        let tasks: Vec<_> = (0..200)
            .map(|_| tokio::spawn(token_owned(env.socket.clone(), account.clone())))
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let coalesced = env.idp_token_requests("refresh_token");
    drop(env);

    // 2. Warm token.get while the refresher renews a 4 s token every 3 s.
    let (env, account) = start(4, true);
    let (p50, p99) = rt.block_on(warm_latency(&env.socket, &account, 20_000));
    drop(env);

    // 3. A program comes back just after its token expired (5 rounds each).
    let mut waits = vec![];
    for proactive in [false, true] {
        let (env, account) = start(4, proactive);
        let mut samples = vec![];
        for _ in 0..5 {
            rt.block_on(token(&env.socket, &account, 0));
            std::thread::sleep(Duration::from_millis(4300));
            let t = Instant::now();
            rt.block_on(token(&env.socket, &account, 0));
            samples.push(t.elapsed());
        }
        samples.sort();
        waits.push(samples[2]);
    }

    println!("Sesame lifecycle benchmark (real oidc-provider and keyring, release build)");
    println!();
    println!("| measure | result |");
    println!("|---|---|");
    println!("| refreshes at the provider for 200 concurrent requests of an expired token | {coalesced} |");
    println!("| warm token.get p50 / p99, proactive refresher running (20 000 requests) | {:.1} µs / {:.1} µs |", us(p50), us(p99));
    println!(
        "| wait for a just-expired token, proactive refresh off (median of 5) | {:.2} ms |",
        ms(waits[0])
    );
    println!(
        "| wait for a just-expired token, proactive refresh on (median of 5) | {:.2} ms |",
        ms(waits[1])
    );
}

async fn token(socket: &Path, account: &str, min_ttl: u64) {
    let mut client = Client::connect(socket).await.unwrap();
    client
        .token(&TokenGetParams {
            account: account.into(),
            scopes: None,
            min_ttl: Some(min_ttl),
            wait: None,
        })
        .await
        .unwrap();
}

async fn token_owned(socket: std::path::PathBuf, account: String) {
    token(&socket, &account, 0).await
}

async fn warm_latency(socket: &Path, account: &str, n: usize) -> (Duration, Duration) {
    let mut client = Client::connect(socket).await.unwrap();
    let params =
        TokenGetParams { account: account.into(), scopes: None, min_ttl: Some(0), wait: None };
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        client.token(&params).await.unwrap();
        samples.push(t.elapsed());
    }
    samples.sort();
    (samples[n / 2], samples[n * 99 / 100])
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
