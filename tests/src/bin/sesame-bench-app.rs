//! Benchmark (not a test): the desktop app's figures of docs/performance.md, seen from
//! outside the app, in one run on one machine. Nothing here asserts a time.
//!
//! - start → first paint of the main window: the bench starts `sesame-app` itself (no
//!   tauri-driver, no WebDriver) on a private Xvfb and polls the X server for the window
//!   (`QueryTree`, mapped, titled "Sesame") and its picture (`GetImage`) until the picture has
//!   more than 8 colours (what `App::screenshot` waits for: a blank window has one or two).
//!   The yardstick is `xmessage`, a trivial X client, timed the same way to its first
//!   non-blank picture (2 colours: it draws black text on white).
//! - PSS (`/proc/PID/smaps_rollup`) of the app and all its descendants (WebKit's web and
//!   network processes), per process and summed: with the main window open, with the consent
//!   window open too (a program with no grant asks for a token), and with every window
//!   closed (tray only: the request denied, the main window closed the way a window manager
//!   does). The tray-only figure's yardstick is the headless `sesame daemon` in the same Env,
//!   after serving a token.
//!
//!   cargo build --release -p sesame-cli -p sesame-e2e
//!   TAURI_CONFIG='{"identifier":"dev.sesame.app.test"}' cargo build --release -p sesame-app
//!   SESAME_BIN=target/release/sesame target/release/sesame-bench-app [--rows] [--runs N]
//!
//! `$SESAME_APP_BIN` names the app (default `target/release/sesame-app`);
//! `$SESAME_BENCH_HOLD` keeps the first tray-only app running for 2 minutes, to inspect. `--rows` prints
//! only the table's rows (scripts/bench.sh); without it a heading and per-run detail go first.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sesame_e2e::{Display, Env, Options};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    AtomEnum, ClientMessageEvent, ConnectionExt, EventMask, ImageFormat, MapState,
};
use x11rb::rust_connection::RustConnection;

const MAIN_TITLE: &str = "Sesame";
const CONSENT_TITLE: &str = "Sesame: allow access?";
/// A picture with more colours than this has content (text, icons) painted into it.
const PAINTED_COLOURS: usize = 8;
/// Pause between two polls of the X server (each poll also takes its own time: reported).
const POLL_PAUSE: Duration = Duration::from_millis(5);
/// Time for memory to settle after a window has painted or closed.
const SETTLE: Duration = Duration::from_secs(3);
const LONG: Duration = Duration::from_secs(60);
const MIB: f64 = 1024.0;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rows_only = args.iter().any(|a| a == "--rows");
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    let app_bin = std::env::var_os("SESAME_APP_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| sesame_e2e::root().join("target/release/sesame-app"));
    assert!(app_bin.exists(), "{} is missing (see the header of this file)", app_bin.display());

    let mut env = Env::start(Options { daemon: false, ..Default::default() });
    let display = Display::start(&env.dir.join("logs"));
    let x = X::connect(&display.name);

    let mut samples = vec![];
    let mut yardsticks = vec![];
    let mut account = None;
    for run in 0..runs {
        yardsticks.push(xmessage_first_paint(&env, &display, &x));
        let sample = one_run(&env, &display, &x, &app_bin, run, &mut account);
        if !rows_only {
            eprintln!("run {}: {}", run + 1, sample.describe());
        }
        samples.push(sample);
    }

    // The headless daemon in the same Env, after serving a token: what tray-only could be.
    env.start_daemon();
    if let Some(account) = &account {
        env.token(account, &[]);
    }
    let daemon_pss = env.daemon_pid().map(|pid| pss_kib(pid as i32)).unwrap_or(0);
    env.stop_daemon();

    let paint = median(samples.iter().map(|s| s.painted.as_secs_f64()).collect());
    let mapped = median(samples.iter().map(|s| s.mapped.as_secs_f64()).collect());
    let broker = median(samples.iter().filter_map(|s| s.broker_start_ms).collect());
    let setup = median(samples.iter().filter_map(|s| s.setup_at_ms).collect());
    let xmessage = median(yardsticks.iter().map(|d| d.as_secs_f64()).collect());
    let poll_ms = median(samples.iter().map(|s| s.poll_ms).collect());
    let main = Memory::median(samples.iter().map(|s| &s.main).collect());
    let both = Memory::median(samples.iter().map(|s| &s.consent).collect());
    let tray = Memory::median(samples.iter().map(|s| &s.tray).collect());
    let gone = |prefix| samples.iter().filter(|s| s.tray.count(prefix) == 0).count();
    let (web_gone, network_gone) = (gone("WebKitWebProcess"), gone("WebKitNetworkProcess"));

    if !rows_only {
        println!(
            "Sesame desktop app benchmark: median of {runs} runs, release build, Xvfb, no window manager; first paint polled every {poll_ms:.0} ms (a poll plus a {} ms pause)",
            POLL_PAUSE.as_millis()
        );
        println!();
        println!("| figure | sesame | yardstick | ratio | goal | met |");
        println!("|---|---|---|---|---|---|");
    }
    let met = |ok: bool| if ok { "✓" } else { "✗" };
    println!(
        "| desktop app, start → first paint of the main window (window mapped at {:.2} s; setup began at {}, broker start in setup {}; polled every {poll_ms:.0} ms) | {paint:.2} s | xmessage {xmessage:.3} s | {:.0}× | ≤ 1 s | {} |",
        mapped,
        ms_or_unknown(setup),
        ms_or_unknown(broker),
        paint / xmessage,
        met(paint <= 1.0)
    );
    println!("| desktop app PSS, main window open | {} | | | | |", main.describe());
    println!(
        "| desktop app PSS, main + consent windows open | {} | | | ≤ 200 MiB | {} |",
        both.describe(),
        met(both.total() as f64 / MIB <= 200.0)
    );
    println!(
        "| desktop app PSS, every window closed (tray only; web process gone in {web_gone} of {runs} runs, network process in {network_gone}) | {} | `sesame daemon` {:.1} MiB | {:.1}× | ≤ 40 MiB, WebKit processes gone | {} |",
        tray.describe(),
        daemon_pss as f64 / MIB,
        tray.total() as f64 / daemon_pss.max(1) as f64,
        met(tray.total() as f64 / MIB <= 40.0 && web_gone == runs && network_gone == runs)
    );
}

fn ms_or_unknown(ms: f64) -> String {
    if ms.is_nan() {
        "?".into()
    } else {
        format!("{ms:.0} ms")
    }
}

struct Sample {
    mapped: Duration,
    painted: Duration,
    /// How long one poll (tree, title, picture) plus its pause took, on average.
    poll_ms: f64,
    /// From the app's log: when `setup` began after `run()`, and how long the broker's
    /// start inside it took (before any window exists).
    setup_at_ms: Option<f64>,
    broker_start_ms: Option<f64>,
    main: Memory,
    consent: Memory,
    tray: Memory,
}

impl Sample {
    fn describe(&self) -> String {
        format!(
            "mapped {:.3} s, painted {:.3} s (poll {:.1} ms), setup at {:?} ms, broker start {:?} ms\n  main {}\n  +consent {}\n  tray {}",
            self.mapped.as_secs_f64(),
            self.painted.as_secs_f64(),
            self.poll_ms,
            self.setup_at_ms,
            self.broker_start_ms,
            self.main.detail(),
            self.consent.detail(),
            self.tray.detail()
        )
    }
}

/// One start of the app: first paint, then memory with main, main + consent, tray only.
fn one_run(
    env: &Env,
    display: &Display,
    x: &X,
    app_bin: &Path,
    run: usize,
    account: &mut Option<String>,
) -> Sample {
    let log = env.dir.join(format!("logs/app-{run}.log"));
    let mut cmd = env.command(app_bin);
    cmd.env("DISPLAY", &display.name)
        .env("GDK_BACKEND", "x11")
        // No accessibility bus in the private session: skip it instead of warning.
        .env("NO_AT_BRIDGE", "1");
    let start = Instant::now();
    let mut app = Proc::spawn(cmd, &log);
    let (mapped, painted, poll_ms) = x.first_paint(MAIN_TITLE, PAINTED_COLOURS, start, &mut app);
    std::thread::sleep(SETTLE);
    let pid = app.pid();
    let main = Memory::of_tree(pid);

    // A sign-in (once: the account stays in the Env), then a program with no grant asks:
    // with the main window open the app shows the consent window.
    let account = account.get_or_insert_with(|| env.login("alice")).clone();
    let client = env.spawn_token_client(&[&account]);
    x.wait_painted(CONSENT_TITLE, PAINTED_COLOURS, LONG)
        .unwrap_or_else(|| panic!("no consent window painted\n{}", app.log()));
    std::thread::sleep(SETTLE);
    let consent = Memory::of_tree(pid);

    // Tray only: deny the request (the consent window closes itself when nothing waits),
    // close the main window as a window manager would; then the WebKit processes may go.
    let pending = env.wait_pending_of(&sesame_e2e::token_client_key());
    env.deny(&pending);
    let _ = env.finish_client(client, Duration::from_secs(30));
    let closed = sesame_e2e::wait_for(LONG, || {
        if x.window(MAIN_TITLE).is_some() {
            x.close(MAIN_TITLE);
        }
        sesame_e2e::wait_for(Duration::from_secs(4), || {
            (x.window(MAIN_TITLE).is_none() && x.window(CONSENT_TITLE).is_none()).then_some(())
        })
    });
    assert!(closed.is_some(), "the windows did not close\n{}", app.log());
    // Wait (a while) for WebKit's processes to end, then for memory to settle.
    sesame_e2e::wait_for(Duration::from_secs(10), || {
        (Memory::of_tree(pid).count("WebKit") == 0).then_some(())
    });
    std::thread::sleep(SETTLE);
    let tray = Memory::of_tree(pid);
    if std::env::var_os("SESAME_BENCH_HOLD").is_some() {
        // For a look from outside (gdb, smaps) at the tray-only app.
        eprintln!("tray only: app pid {pid}, held for 120 s");
        std::thread::sleep(Duration::from_secs(120));
    }

    app.terminate();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    Sample {
        mapped,
        painted,
        poll_ms,
        setup_at_ms: logged_ms(&text, "setup_at_ms="),
        broker_start_ms: logged_ms(&text, "broker_start_ms="),
        main,
        consent,
        tray,
    }
}

/// The number after `key` in the app's log (its tracing fields).
fn logged_ms(log: &str, key: &str) -> Option<f64> {
    let at = log.find(key)? + key.len();
    let rest = &log[at..];
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// `xmessage` from spawn to its first non-blank picture: a trivial X client's start.
fn xmessage_first_paint(env: &Env, display: &Display, x: &X) -> Duration {
    let mut cmd = env.command("xmessage");
    cmd.env("DISPLAY", &display.name).args(["-title", "yardstick", "Sesame benchmark"]);
    let start = Instant::now();
    let mut proc = Proc::spawn(cmd, &env.dir.join("logs/xmessage.log"));
    let (_, painted, _) = x.first_paint("yardstick", 1, start, &mut proc);
    proc.terminate();
    painted
}

/// A child process with its output in a log file, ended (SIGTERM, then SIGKILL) when dropped.
struct Proc {
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    fn spawn(mut cmd: Command, log: &Path) -> Proc {
        let file = File::create(log).unwrap();
        cmd.stdout(file.try_clone().unwrap()).stderr(file).stdin(Stdio::null());
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        Proc { child: Some(child), log: log.to_owned() }
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().map(|c| c.id() as i32).unwrap_or(0)
    }

    fn exited(&mut self) -> bool {
        self.child.as_mut().is_none_or(|c| matches!(c.try_wait(), Ok(Some(_))))
    }

    fn log(&self) -> String {
        format!(
            "--- {} ---\n{}",
            self.log.display(),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        )
    }

    fn terminate(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        // SAFETY: kill(2) on a child we spawned and have not reaped yet.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !matches!(child.try_wait(), Ok(Some(_))) {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// The bench's own connection to the test display.
struct X {
    conn: RustConnection,
    root: u32,
}

impl X {
    fn connect(display: &str) -> X {
        let (conn, screen) = x11rb::connect(Some(display)).expect("connect to the test display");
        let root = conn.setup().roots[screen].root;
        X { conn, root }
    }

    /// The mapped top-level window titled `title`.
    fn window(&self, title: &str) -> Option<u32> {
        let windows = self.conn.query_tree(self.root).ok()?.reply().ok()?.children;
        windows.into_iter().find(|&w| {
            let viewable = self
                .conn
                .get_window_attributes(w)
                .ok()
                .and_then(|c| c.reply().ok())
                .is_some_and(|a| a.map_state == MapState::VIEWABLE);
            viewable && self.title(w).as_deref() == Some(title.as_bytes())
        })
    }

    fn title(&self, w: u32) -> Option<Vec<u8>> {
        let p = self.conn.get_property(false, w, AtomEnum::WM_NAME, AtomEnum::ANY, 0, 256);
        Some(p.ok()?.reply().ok()?.value)
    }

    /// How many distinct colours the window's picture has, counting up to `limit + 1`
    /// (`None`: not viewable now).
    fn colours(&self, w: u32, limit: usize) -> Option<usize> {
        let geometry = self.conn.get_geometry(w).ok()?.reply().ok()?;
        let image = self
            .conn
            .get_image(ImageFormat::Z_PIXMAP, w, 0, 0, geometry.width, geometry.height, !0)
            .ok()?
            .reply()
            .ok()?;
        // 24-bit depth comes as 4 bytes a pixel; the padding byte is masked off.
        let bytes = if image.depth > 16 { 4 } else { 2 };
        let mask = if image.depth == 24 { 0x00ff_ffff } else { u32::MAX };
        let mut seen: Vec<u32> = Vec::with_capacity(limit + 1);
        for px in image.data.chunks_exact(bytes) {
            let mut word = [0u8; 4];
            word[..bytes].copy_from_slice(px);
            let colour = u32::from_ne_bytes(word) & mask;
            if !seen.contains(&colour) {
                seen.push(colour);
                if seen.len() > limit {
                    break;
                }
            }
        }
        Some(seen.len())
    }

    /// Polls until the window titled `title` is mapped, then until its picture has more than
    /// `colours` colours: (mapped, painted) after `start`, and the mean time per poll.
    fn first_paint(
        &self,
        title: &str,
        colours: usize,
        start: Instant,
        proc: &mut Proc,
    ) -> (Duration, Duration, f64) {
        let mut polls = 0u32;
        let mut mapped = None;
        let polling = Instant::now();
        loop {
            polls += 1;
            assert!(start.elapsed() < LONG, "no window {title:?} painted\n{}", proc.log());
            assert!(!proc.exited(), "the program ended before painting\n{}", proc.log());
            if let Some(w) = self.window(title) {
                let at = start.elapsed();
                let mapped_at = *mapped.get_or_insert(at);
                if self.colours(w, colours).is_some_and(|n| n > colours) {
                    let per_poll = polling.elapsed().as_secs_f64() * 1000.0 / f64::from(polls);
                    return (mapped_at, at, per_poll);
                }
            }
            std::thread::sleep(POLL_PAUSE);
        }
    }

    fn wait_painted(&self, title: &str, colours: usize, limit: Duration) -> Option<()> {
        sesame_e2e::wait_for(limit, || {
            let w = self.window(title)?;
            self.colours(w, colours).is_some_and(|n| n > colours).then_some(())
        })
    }

    /// A `WM_DELETE_WINDOW` message, as a window manager's close button sends.
    fn close(&self, title: &str) {
        let Some(window) = self.window(title) else { return };
        let atom = |name: &[u8]| self.conn.intern_atom(false, name).unwrap().reply().unwrap().atom;
        let event = ClientMessageEvent::new(
            32,
            window,
            atom(b"WM_PROTOCOLS"),
            [atom(b"WM_DELETE_WINDOW"), x11rb::CURRENT_TIME, 0, 0, 0],
        );
        self.conn.send_event(false, window, EventMask::NO_EVENT, event).unwrap();
        self.conn.flush().unwrap();
    }
}

/// PSS in KiB of a process tree, by process (name → KiB, several of a name summed).
#[derive(Default, Clone)]
struct Memory {
    by_name: BTreeMap<String, (u64, usize)>,
    /// PSS of anonymous memory (heap, stacks, JIT), summed per name, in KiB.
    anon: BTreeMap<String, u64>,
}

impl Memory {
    fn of_tree(root: i32) -> Memory {
        let mut memory = Memory::default();
        for pid in tree(root) {
            let name = process_name(pid);
            let entry = memory.by_name.entry(name).or_default();
            entry.0 += pss_kib(pid);
            entry.1 += 1;
            *memory.anon.entry(process_name(pid)).or_default() += rollup_kib(pid, "Pss_Anon:");
        }
        memory
    }

    fn total(&self) -> u64 {
        self.by_name.values().map(|v| v.0).sum()
    }

    /// How many processes named `prefix…` (e.g. "WebKit") are in the tree.
    fn count(&self, prefix: &str) -> usize {
        self.by_name.iter().filter(|(n, _)| n.starts_with(prefix)).map(|(_, v)| v.1).sum()
    }

    fn describe(&self) -> String {
        let parts: Vec<String> = self
            .by_name
            .iter()
            .map(|(name, (kib, count))| {
                let count = if *count > 1 { format!(" ×{count}") } else { String::new() };
                format!("{name}{count} {:.1}", *kib as f64 / MIB)
            })
            .collect();
        format!("{:.1} MiB ({})", self.total() as f64 / MIB, parts.join(", "))
    }

    /// [`Memory::describe`] with each process's anonymous part (the rest is mostly the
    /// shared libraries' pages, split between the processes that map them).
    fn detail(&self) -> String {
        let parts: Vec<String> = self
            .by_name
            .iter()
            .map(|(name, (kib, _))| {
                let anon = self.anon.get(name).copied().unwrap_or(0);
                format!("{name} {:.1} (anon {:.1})", *kib as f64 / MIB, anon as f64 / MIB)
            })
            .collect();
        format!("{:.1} MiB: {}", self.total() as f64 / MIB, parts.join(", "))
    }

    /// The run whose total is the median, whole (its per-process split stays consistent).
    fn median(mut all: Vec<&Memory>) -> Memory {
        all.sort_by_key(|m| m.total());
        all.get(all.len() / 2).map(|m| (*m).clone()).unwrap_or_default()
    }
}

/// `root` and all its descendants (by the parent pid in `/proc/PID/stat`).
fn tree(root: i32) -> Vec<i32> {
    let mut parents = vec![];
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // The fields after the command name (in parentheses, which may hold spaces).
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else { continue };
        let ppid = after.split_whitespace().nth(1).and_then(|p| p.parse::<i32>().ok());
        if let Some(ppid) = ppid {
            parents.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(parents.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    found
}

/// The program's file name (argv[0]'s, as `comm` cuts names at 15 characters).
fn process_name(pid: i32) -> String {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let argv0 = cmdline.split(|&b| b == 0).next().unwrap_or_default();
    let name = String::from_utf8_lossy(argv0);
    name.rsplit('/').next().unwrap_or_default().to_owned()
}

/// `Pss:` of `/proc/PID/smaps_rollup`, in KiB (0 if the process is gone).
fn pss_kib(pid: i32) -> u64 {
    rollup_kib(pid, "Pss:")
}

/// The `field` (e.g. `Pss_Anon:`) of `/proc/PID/smaps_rollup`, in KiB.
fn rollup_kib(pid: i32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
