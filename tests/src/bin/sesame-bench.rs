//! Benchmark (not a test): prints a table comparing Sesame's warm `token.get` with a raw
//! Unix-socket echo of the same sizes, in one run on one machine. See docs/performance.md.
//!
//!   cargo build --release -p sesame-cli -p sesame-e2e
//!   SESAME_BIN=target/release/sesame target/release/sesame-bench [requests] [--rows]
//!       [--memory-requests N]
//!
//! `--rows` prints only the table's rows (scripts/bench.sh joins every bench's into one).

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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rows_only = args.iter().any(|a| a == "--rows");
    let memory_at = args.iter().position(|a| a == "--memory-requests");
    let memory_requests: usize =
        memory_at.and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(1_000_000);
    let requests: usize = (args.iter().enumerate())
        .filter(|(i, _)| memory_at.is_none_or(|m| *i != m + 1))
        .find_map(|(_, a)| a.parse().ok())
        .unwrap_or(100_000);
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

    // Memory first, on a broker that has served nothing but the consent above.
    let pid = env.daemon_pid().expect("the daemon runs");
    let rss_start = rss_kib(pid);
    rt.block_on(serve_many(&env.socket, &account, 10_000));
    let rss_warm = rss_kib(pid);
    rt.block_on(serve_many(&env.socket, &account, memory_requests));
    let rss_after = rss_kib(pid);

    let (reply_len, request_len) = rt.block_on(sizes(&env.socket, &account));
    let echo_path = env.dir.join("run/echo.sock");
    rt.spawn(echo_server(echo_path.clone(), reply_len));

    let sesame = rt.block_on(latencies_sesame(&env.socket, &account, requests));
    let echo = rt.block_on(latencies_echo(&echo_path, request_len, requests));
    let sesame_tp =
        rt.block_on(throughput(Target::Sesame(env.socket.clone(), account.clone()), requests));
    let echo_tp = rt.block_on(throughput(Target::Echo(echo_path.clone(), request_len), requests));

    // Interleaved, so a burst of load elsewhere on the machine hits both alike.
    let (cli, raw) = process_times(
        101,
        || {
            env.command(sesame_e2e::sesame_bin()).args(["token", &account]).output().unwrap();
        },
        || {
            Command::new(&raw_bin).arg(&env.socket).arg(&account).output().unwrap();
        },
    );

    env.stop_daemon();
    let start = Instant::now();
    env.start_daemon();
    let ready = start.elapsed();

    if !rows_only {
        println!("Sesame benchmark: {requests} requests per latency row, {CONCURRENCY} connections for throughput, {memory_requests} requests for memory; request {request_len} B, reply {reply_len} B");
        println!();
        println!("| figure | sesame | yardstick | ratio | goal | met |");
        println!("|---|---|---|---|---|---|");
    }
    let met = |ok: bool| if ok { "✓" } else { "✗" };
    let r = ratio(cli, raw);
    println!(
        "| `sesame token`, whole process, median of 101 (vs. std-only client: connect, write, read) | {} | {} | {r:.2}× | ≤ 1.15× | {} |",
        ms(cli),
        ms(raw),
        met(r <= 1.15)
    );
    let r = ratio(sesame.0, echo.0);
    println!(
        "| warm token.get p50, one connection (vs. Unix-socket echo, same sizes) | {} | {} | {r:.2}× | ≤ 1.3× | {} |",
        us(sesame.0),
        us(echo.0),
        met(r <= 1.3)
    );
    let r = ratio(sesame.1, echo.1);
    println!(
        "| warm token.get p99, one connection (vs. echo) | {} | {} | {r:.2}× | ≤ 2× | {} |",
        us(sesame.1),
        us(echo.1),
        met(r <= 2.0)
    );
    let share = 100.0 * sesame_tp / echo_tp;
    println!(
        "| throughput, {CONCURRENCY} connections (vs. echo) | {sesame_tp:.0}/s | {echo_tp:.0}/s | {share:.0} % | ≥ 70 % | {} |",
        met(share >= 70.0)
    );
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "| daemon RSS after {memory_requests} requests (at start: {:.1} MiB) | {:.1} MiB | pizauth 7.3 MB (the issue's figure) | | ≤ 7 MiB | {} |",
        mib(rss_start),
        mib(rss_after),
        met(mib(rss_after) <= 7.0)
    );
    let growth = mib(rss_after) - mib(rss_warm);
    println!(
        "| daemon RSS growth, 10 k → {memory_requests} requests | {growth:+.2} MiB | 0 | | flat (≤ +0.5 MiB) | {} |",
        met(growth <= 0.5)
    );
    println!(
        "| daemon start → socket ready | {} | | | ≤ 100 ms | {} |",
        ms(ready),
        met(ready <= Duration::from_millis(100))
    );
}

/// How many requests a connection of the memory phase makes before it reconnects
/// (`SESAME_BENCH_RECONNECT`, default 1 000).
fn reconnect_every() -> usize {
    std::env::var("SESAME_BENCH_RECONNECT").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000)
}

/// `n` requests over CONCURRENCY connections, each reconnecting every 1 000 requests, so
/// the memory figure covers accepting and identifying callers, not only warm replies.
async fn serve_many(socket: &Path, account: &str, n: usize) {
    let per = n / CONCURRENCY;
    let mut tasks = vec![];
    for _ in 0..CONCURRENCY {
        let (socket, account) = (socket.to_owned(), account.to_owned());
        tasks.push(tokio::spawn(async move {
            let params = TokenGetParams { account, scopes: None, min_ttl: None, wait: None };
            let mut done = 0;
            while done < per {
                let mut client = Client::connect(&socket).await.unwrap();
                for _ in 0..reconnect_every().min(per - done) {
                    client.token(&params).await.unwrap();
                    done += 1;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
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

/// Medians of `a` and `b`, run alternately `n` times each after one warm-up run each.
fn process_times(n: usize, mut a: impl FnMut(), mut b: impl FnMut()) -> (Duration, Duration) {
    a(); // warm the page cache
    b();
    let (mut sa, mut sb) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let t = Instant::now();
        a();
        sa.push(t.elapsed());
        let t = Instant::now();
        b();
        sb.push(t.elapsed());
    }
    sa.sort();
    sb.sort();
    (sa[n / 2], sb[n / 2])
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
