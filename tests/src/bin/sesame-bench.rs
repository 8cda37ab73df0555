//! Benchmark (not a test): prints a table comparing Sesame's warm `token.get` with a raw
//! Unix-socket echo of the same sizes, in one run on one machine. See docs/performance.md.
//!
//!   cargo build --release -p sesame-cli -p sesame-e2e
//!   SESAME_BIN=target/release/sesame target/release/sesame-bench [requests]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sesame_e2e::{Env, Options};
use sesame_ipc::protocol::TokenGetParams;
use sesame_ipc::Client;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

const CONCURRENCY: usize = 16;

fn main() {
    let requests: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let mut env = Env::start(Options::default());
    let account = env.login("alice");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();

    // Consent first: the bench process (and `sesame token`, which it runs) and the raw
    // client each get a remembered grant, as a user would give.
    let raw_bin = sesame_e2e::sesame_bin().with_file_name("raw-client");
    let me = std::fs::canonicalize(std::env::current_exe().unwrap()).unwrap();
    env.with_consent(me.to_str().unwrap(), || rt.block_on(one_token(&env.socket, &account)));
    let raw_key = std::fs::canonicalize(&raw_bin).unwrap();
    env.with_consent(raw_key.to_str().unwrap(), || {
        Command::new(&raw_bin).arg(&env.socket).arg(&account).output().unwrap()
    });

    let (reply_len, request_len) = rt.block_on(sizes(&env.socket, &account));
    let echo_path = env.dir.join("run/echo.sock");
    rt.spawn(echo_server(echo_path.clone(), reply_len));

    let sesame = rt.block_on(latencies_sesame(&env.socket, &account, requests));
    let echo = rt.block_on(latencies_echo(&echo_path, request_len, requests));
    let sesame_tp =
        rt.block_on(throughput(Target::Sesame(env.socket.clone(), account.clone()), requests));
    let echo_tp = rt.block_on(throughput(Target::Echo(echo_path.clone(), request_len), requests));

    let cli = process_time(50, || {
        env.command(sesame_e2e::sesame_bin()).args(["token", &account]).output().unwrap();
    });
    let raw = process_time(50, || {
        Command::new(&raw_bin).arg(&env.socket).arg(&account).output().unwrap();
    });

    let rss_kib = env.daemon_pid().map(rss_kib).unwrap_or(0);
    env.stop_daemon();
    let start = Instant::now();
    env.start_daemon();
    let ready = start.elapsed();

    println!("Sesame benchmark: {requests} requests per row, {CONCURRENCY} connections for throughput; request {request_len} B, reply {reply_len} B");
    println!();
    println!("| measure | sesame | raw echo | ratio | goal |");
    println!("|---|---|---|---|---|");
    println!(
        "| token.get p50, one connection | {} | {} | {:.2}× | ≤ 2× |",
        us(sesame.0),
        us(echo.0),
        ratio(sesame.0, echo.0)
    );
    println!(
        "| token.get p99, one connection | {} | {} | {:.2}× | ≤ 5× |",
        us(sesame.1),
        us(echo.1),
        ratio(sesame.1, echo.1)
    );
    println!(
        "| throughput, {CONCURRENCY} connections | {:.0}/s | {:.0}/s | {:.0}% | ≥ 50% |",
        sesame_tp,
        echo_tp,
        100.0 * sesame_tp / echo_tp
    );
    println!(
        "| `sesame token` process, median of 50 | {} | {} | {:.2}× | ≤ 1.5× |",
        ms(cli),
        ms(raw),
        ratio(cli, raw)
    );
    println!("| daemon start → socket ready | {} | | | ≤ 50 ms |", ms(ready));
    println!("| daemon RSS after serving | {:.1} MB | | | ≤ 15 MB |", rss_kib as f64 / 1024.0);
}

async fn one_token(socket: &Path, account: &str) {
    let mut client = Client::connect(socket).await.unwrap();
    client
        .token(&TokenGetParams { account: account.into(), scopes: None, min_ttl: None, wait: None })
        .await
        .unwrap();
}

/// The byte sizes of a real token.get exchange, so the echo moves the same amount.
async fn sizes(socket: &Path, account: &str) -> (usize, usize) {
    let mut stream = UnixStream::connect(socket).await.unwrap();
    let request = request_line(account);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply).await.unwrap();
    (reply.len(), request.len())
}

fn request_line(account: &str) -> String {
    format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"token.get\",\"params\":{{\"account\":\"{account}\"}}}}\n")
}

/// Answers each line with a line of `reply_len` bytes: the socket cost without the broker.
async fn echo_server(path: PathBuf, reply_len: usize) {
    let listener = UnixListener::bind(&path).unwrap();
    let reply = Arc::new(format!("{}\n", "x".repeat(reply_len - 1)));
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        let reply = reply.clone();
        tokio::spawn(async move {
            let (r, mut w) = stream.into_split();
            let mut lines = BufReader::new(r).lines();
            while let Ok(Some(_)) = lines.next_line().await {
                if w.write_all(reply.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

async fn latencies_sesame(socket: &Path, account: &str, n: usize) -> (Duration, Duration) {
    let mut client = Client::connect(socket).await.unwrap();
    let params =
        TokenGetParams { account: account.into(), scopes: None, min_ttl: None, wait: None };
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        client.token(&params).await.unwrap();
        samples.push(t.elapsed());
    }
    percentiles(samples)
}

async fn latencies_echo(path: &Path, request_len: usize, n: usize) -> (Duration, Duration) {
    let stream = UnixStream::connect(path).await.unwrap();
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r).lines();
    let request = format!("{}\n", "y".repeat(request_len - 1));
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        w.write_all(request.as_bytes()).await.unwrap();
        lines.next_line().await.unwrap().unwrap();
        samples.push(t.elapsed());
    }
    percentiles(samples)
}

#[derive(Clone)]
enum Target {
    Sesame(PathBuf, String),
    Echo(PathBuf, usize),
}

/// Requests per second with CONCURRENCY connections sharing `n` requests.
async fn throughput(target: Target, n: usize) -> f64 {
    let per = n / CONCURRENCY;
    let start = Instant::now();
    let mut tasks = vec![];
    for _ in 0..CONCURRENCY {
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            match target {
                Target::Sesame(socket, account) => {
                    let mut client = Client::connect(&socket).await.unwrap();
                    let params =
                        TokenGetParams { account, scopes: None, min_ttl: None, wait: None };
                    for _ in 0..per {
                        client.token(&params).await.unwrap();
                    }
                }
                Target::Echo(path, len) => {
                    let stream = UnixStream::connect(&path).await.unwrap();
                    let (r, mut w) = stream.into_split();
                    let mut lines = BufReader::new(r).lines();
                    let request = format!("{}\n", "y".repeat(len - 1));
                    for _ in 0..per {
                        w.write_all(request.as_bytes()).await.unwrap();
                        lines.next_line().await.unwrap().unwrap();
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    (per * CONCURRENCY) as f64 / start.elapsed().as_secs_f64()
}

fn process_time(n: usize, mut f: impl FnMut()) -> Duration {
    f(); // warm the page cache
    let mut samples: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    samples.sort();
    samples[n / 2]
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    (samples[samples.len() / 2], samples[samples.len() * 99 / 100])
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}
