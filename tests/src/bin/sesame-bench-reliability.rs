//! Benchmark (not a test): what a program hoarding connections costs the other programs,
//! and what hostile input costs the daemon in memory. Prints a table; see
//! docs/reliability.md.
//!
//!   cargo build -p sesame-cli -p sesame-e2e
//!   target/debug/sesame-bench-reliability [requests]
//!
//! (or a release build, with `SESAME_BIN=target/release/sesame`). `token.get` of this
//! process (a remembered grant, a warm token) is measured three times: with no flood; with
//! the flood of `tests/clients/flood.py` standing (1000 idle + 200 half-written connections
//! opened by one program, after the broker has dealt with them); and with that flood
//! refilled without pause (every connection the broker closes is opened again at once).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sesame_e2e::{client_script, Env, Flooder, Options};
use sesame_ipc::protocol::TokenGetParams;
use sesame_ipc::Client;

const IDLE: usize = 1000;
const HALF: usize = 200;
const MALFORMED: usize = 10_000;

/// Latencies of one measurement: a kept connection, and a new connection per request.
struct Run {
    kept: (Duration, Duration),
    fresh: (Duration, Duration),
}

fn main() {
    let requests: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(2_000);
    let mut env = Env::start(Options::default());
    let account = env.login("alice");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let me = std::fs::canonicalize(std::env::current_exe().unwrap()).unwrap();
    env.with_consent(me.to_str().unwrap(), || rt.block_on(one_token(&env.socket, &account)));
    let pid = env.daemon_pid().expect("a daemon runs");
    measure(&rt, &env.socket, &account, requests); // warm-up
    let rss_start = rss_kib(pid);

    let quiet = measure(&rt, &env.socket, &account, requests);

    let bad_replies = malformed(&env.socket, MALFORMED);
    let rss_malformed = rss_kib(pid);

    let mut flood = env.flood(&client_script("flood.py"), IDLE, HALF);
    let total = (IDLE + HALF) as u64;
    let established = flood.wait_until(Duration::from_secs(120), |s| s.closed >= total - 32);
    let sockets = env.daemon_sockets();
    let rss_standing = rss_kib(pid);
    let standing = measure(&rt, &env.socket, &account, requests);
    let first = refilled(&rt, &env.socket, pid, flood, &account, requests);
    // A second flood, to tell memory kept for good (a leak) from the allocator's high water.
    let flood = env.flood(&client_script("flood.py"), IDLE, HALF);
    let second = refilled(&rt, &env.socket, pid, flood, &account, requests);
    let sockets_after = env.daemon_sockets();
    let (reopened, churn_secs) = (first.reopened, first.secs);
    let (rss_refilled, rss_after, rss_after_2) =
        (first.rss_during, first.rss_after, second.rss_after);
    let refilled = first.run;

    println!("Sesame reliability benchmark: {requests} token.get per cell (a tenth of them on new connections)");
    println!(
        "flood: one program opened {} connections ({IDLE} idle + {HALF} half-written); the broker closed {} with `busy` and kept {}, holding {sockets} sockets",
        established.open + established.closed,
        established.closed,
        established.open
    );
    println!(
        "refilled: {reopened} connections reopened in {churn_secs:.1} s ({:.0}/s) while measuring",
        reopened as f64 / churn_secs
    );
    println!();
    println!("| token.get of another program | no flood | flood standing | flood refilled |");
    println!("|---|---|---|---|");
    let row = |name: &str, f: fn(&Run) -> Duration| {
        println!("| {name} | {} | {} | {} |", ms(f(&quiet)), ms(f(&standing)), ms(f(&refilled)));
    };
    row("kept connection, p50", |r| r.kept.0);
    row("kept connection, p99", |r| r.kept.1);
    row("new connection + request, p50", |r| r.fresh.0);
    row("new connection + request, p99", |r| r.fresh.1);
    println!();
    println!("| daemon RSS | MB | growth |");
    println!("|---|---|---|");
    let mb = |kib: u64| kib as f64 / 1024.0;
    let growth = |kib: u64| format!("{:+.1} MB", (kib as f64 - rss_start as f64) / 1024.0);
    println!("| after warm-up | {:.1} | |", mb(rss_start));
    println!(
        "| after {MALFORMED} malformed lines ({bad_replies} error replies) | {:.1} | {} |",
        mb(rss_malformed),
        growth(rss_malformed)
    );
    println!("| flood standing | {:.1} | {} |", mb(rss_standing), growth(rss_standing));
    println!("| flood refilled | {:.1} | {} |", mb(rss_refilled), growth(rss_refilled));
    println!("| flood over | {:.1} | {} |", mb(rss_after), growth(rss_after));
    println!(
        "| a second flood (refilled) over ({sockets_after} sockets) | {:.1} | {} |",
        mb(rss_after_2),
        growth(rss_after_2)
    );
}

struct Refilled {
    run: Run,
    reopened: u64,
    secs: f64,
    rss_during: u64,
    rss_after: u64,
}

/// Measures while `flood` reopens every connection the broker closes, without pause; then
/// ends the flood and waits out the line deadline of its last half-written lines.
fn refilled(
    rt: &tokio::runtime::Runtime,
    socket: &Path,
    pid: u32,
    flood: Flooder,
    account: &str,
    requests: usize,
) -> Refilled {
    let stop = Arc::new(AtomicBool::new(false));
    let refiller = {
        let stop = stop.clone();
        let mut flood = flood;
        std::thread::spawn(move || {
            let mut reopened = 0;
            while !stop.load(Ordering::Relaxed) {
                reopened += flood.refill();
            }
            reopened
        })
    };
    std::thread::sleep(Duration::from_secs(1)); // let the churn get going
    let started = Instant::now();
    let run = measure(rt, socket, account, requests);
    let secs = started.elapsed().as_secs_f64();
    let rss_during = rss_kib(pid);
    stop.store(true, Ordering::Relaxed);
    let reopened = refiller.join().unwrap();
    // The last half-written lines close at their deadline (5 s); idle blocking threads
    // leave after 10 s.
    std::thread::sleep(Duration::from_secs(12));
    Refilled { run, reopened, secs, rss_during, rss_after: rss_kib(pid) }
}

async fn one_token(socket: &Path, account: &str) {
    let mut client = Client::connect(socket).await.unwrap();
    client.token(&params(account)).await.unwrap();
}

fn params(account: &str) -> TokenGetParams {
    TokenGetParams { account: account.into(), scopes: None, min_ttl: None, wait: None }
}

fn measure(rt: &tokio::runtime::Runtime, socket: &Path, account: &str, n: usize) -> Run {
    rt.block_on(async {
        let mut client = Client::connect(socket).await.unwrap();
        let mut kept = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            client.token(&params(account)).await.unwrap();
            kept.push(t.elapsed());
        }
        let mut fresh = Vec::with_capacity(n / 10);
        for _ in 0..(n / 10).max(1) {
            let t = Instant::now();
            let mut client = Client::connect(socket).await.unwrap();
            client.token(&params(account)).await.unwrap();
            fresh.push(t.elapsed());
        }
        Run { kept: percentiles(kept), fresh: percentiles(fresh) }
    })
}

/// Sends `n` malformed lines on one connection (not JSON, not UTF-8, not JSON-RPC, bad
/// params) and reads every reply; returns how many error replies came back.
fn malformed(socket: &Path, n: usize) -> usize {
    let stream = std::os::unix::net::UnixStream::connect(socket).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let lines: [&[u8]; 4] = [
            b"this is not json\n",
            b"\xff\xfe\xfd\n",
            b"{\"jsonrpc\":\"2.0\",\"id\":1}\n",
            b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"token.get\",\"params\":{\"acount\":1}}\n",
        ];
        for line in lines.iter().cycle().take(n) {
            writer.write_all(line).unwrap();
        }
    });
    let mut reader = BufReader::new(stream);
    let mut errors = 0;
    let mut line = String::new();
    for _ in 0..n {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        errors += usize::from(line.contains("\"bad_request\""));
    }
    sender.join().unwrap();
    errors
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

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}
