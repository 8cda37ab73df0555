//! The end-to-end harness. Every [`Env`] is a private world: its own temp HOME and XDG
//! dirs, its own D-Bus session bus with an unlocked gnome-keyring, its own oidc-provider
//! on a random 127.0.0.1 port, and the real `sesame daemon` on a socket in its own
//! runtime dir. Nothing here is a fake; the keyring and provider are the real programs.

mod app;
mod bus;
mod consent;
mod device;
mod dot;
mod events;
mod flood;
mod git;
mod hijack;
mod idp;
mod lock;
mod other_user;
mod sandbox;
mod smtp;
mod webdriver;

pub use app::*;
pub use consent::*;
pub use device::*;
pub use dot::Provider;
pub use events::*;
pub use flood::*;
pub use git::*;
pub use hijack::*;
pub use lock::*;
pub use other_user::*;
pub use raw_conn::RawConn;
pub use sandbox::*;
pub use smtp::*;
pub use webdriver::*;
mod process;
mod raw_conn;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

pub use bus::KeyringState;
use process::{spawn_logged, Guard};

/// The workspace root (this package lives in `<root>/tests`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// The `sesame` binary under test: `$SESAME_BIN`, else `target/debug/sesame`.
pub fn sesame_bin() -> PathBuf {
    let bin = std::env::var_os("SESAME_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/debug/sesame"));
    assert!(bin.exists(), "{} is missing; run `cargo build -p sesame-cli` first", bin.display());
    bin
}

pub struct Options {
    /// The authorization server this env runs (oidc-provider unless told).
    pub provider: Provider,
    /// Register `desktop-app` with exactly this redirect URI (oidc-provider then compares
    /// it whole; DOT still matches any loopback port, as it does).
    pub redirect_uri: Option<String>,
    pub access_token_ttl: u64,
    pub rotate: bool,
    pub keyring: KeyringState,
    /// How long a sign-in waits for the browser (`login_timeout_secs`).
    pub login_timeout: u64,
    /// How long a token request waits for the user's answer (`consent_timeout_secs`).
    pub consent_timeout: u64,
    /// Extra top-level TOML (before the first `[[provider]]`).
    pub top_config: String,
    /// Extra TOML appended to the generated config; `{issuer}` in it becomes the test
    /// provider's issuer (for more `[[provider]]` tables at the same provider).
    pub extra_config: String,
    /// The provider's device codes live this long (`IDP_DEVICE_CODE_TTL`, seconds).
    pub device_code_ttl: u64,
    /// The `interval` the provider names for device-flow polls (`IDP_DEVICE_INTERVAL`, seconds).
    pub device_interval: u64,
    /// The provider answers the first this-many polls of each device code with `slow_down`.
    pub device_slow_down: u64,
    /// Start `sesame daemon` (false for the app tests: the app hosts the broker).
    pub daemon: bool,
    /// A private "system" bus (a plain dbus-daemon) for the programs' `DBUS_SYSTEM_BUS_ADDRESS`;
    /// without it that address points at nothing, so no test reaches the host's system bus.
    pub system_bus: bool,
    /// Extra environment for oidc-provider (`tests/idp/server.mjs` lists them), to make it
    /// behave like another provider: `IDP_REFRESH_SCOPE`, `IDP_REVOKE_ON_ROTATION`.
    pub idp_env: &'static [(&'static str, &'static str)],
}

impl Default for Options {
    fn default() -> Self {
        Options {
            provider: Provider::default(),
            redirect_uri: None,
            access_token_ttl: 3600,
            rotate: true,
            keyring: KeyringState::Unlocked,
            login_timeout: 60,
            consent_timeout: 120,
            top_config: String::new(),
            extra_config: String::new(),
            device_code_ttl: 600,
            device_interval: 1,
            device_slow_down: 0,
            daemon: true,
            system_bus: false,
            idp_env: &[],
        }
    }
}

pub struct Env {
    pub dir: PathBuf,
    pub issuer: String,
    pub provider: Provider,
    pub socket: PathBuf,
    pub config: PathBuf,
    bus: bus::Bus,
    system_bus: Option<bus::Bus>,
    idp: Option<Guard>,
    daemon: Option<Guard>,
    daemon_runs: usize,
    /// Every token string a test saw, for the leak scan (shared with client readers).
    seen_secrets: Arc<Mutex<Vec<String>>>,
}

impl Env {
    pub fn start(opts: Options) -> Env {
        let dir = temp_dir();
        for sub in ["home", "run", "data", "config", "cache", "logs"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
            set_mode(&dir.join(sub), 0o700);
        }
        let bus = bus::Bus::start(&dir, opts.keyring);
        let system_bus = opts.system_bus.then(|| bus::Bus::plain(&dir, "system_bus"));
        let (idp, issuer) = match opts.provider {
            Provider::OidcProvider => idp::start_idp(&dir, &opts),
            Provider::Dot => dot::start_dot(&dir, &opts),
        };
        let config = dir.join("config/sesame/config.toml");
        std::fs::create_dir_all(config.parent().unwrap()).unwrap();
        std::fs::write(
            &config,
            format!(
                "login_timeout_secs = {}\nconsent_timeout_secs = {}\n{}\n[[provider]]\nid = \"local\"\nissuer = \"{issuer}\"\nclient_id = \"desktop-app\"\nscopes = {}\n{}",
                opts.login_timeout,
                opts.consent_timeout,
                opts.top_config,
                opts.provider.config_scopes(),
                opts.extra_config.replace("{issuer}", &issuer)
            ),
        )
        .unwrap();
        let socket = dir.join("run/sesame/sesame.sock");
        let mut env = Env {
            dir,
            issuer,
            provider: opts.provider,
            socket,
            config,
            bus,
            system_bus,
            idp: Some(idp),
            daemon: None,
            daemon_runs: 0,
            seen_secrets: Arc::new(Mutex::new(vec![])),
        };
        if opts.daemon {
            env.start_daemon();
        }
        env
    }

    /// Environment every child process gets: the private dirs and bus, nothing of the host's.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.join("home"))
            .env("XDG_RUNTIME_DIR", self.dir.join("run"))
            .env("XDG_DATA_HOME", self.dir.join("data"))
            .env("XDG_CONFIG_HOME", self.dir.join("config"))
            .env("XDG_CACHE_HOME", self.dir.join("cache"))
            .env("DBUS_SESSION_BUS_ADDRESS", self.bus.address())
            .env("DBUS_SYSTEM_BUS_ADDRESS", self.system_bus_address())
            .env("BROWSER", root().join("tests/browser.py"))
            .env("BROWSER_LOG", self.dir.join("logs/browser.log"))
            .env("RUST_LOG", "info")
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null());
        cmd
    }

    /// The private system bus, else an address where there is none.
    fn system_bus_address(&self) -> String {
        match &self.system_bus {
            Some(bus) => bus.address().to_owned(),
            None => format!("unix:path={}", self.dir.join("run/no-system-bus").display()),
        }
    }

    pub fn start_daemon(&mut self) {
        self.start_daemon_with(|_| {});
    }

    /// Starts `sesame daemon` (with `tweak` applied to its command) and waits for the socket.
    pub fn start_daemon_with(&mut self, tweak: impl FnOnce(&mut Command)) {
        let mut cmd = self.command(sesame_bin());
        cmd.arg("daemon");
        tweak(&mut cmd);
        self.start_daemon_command(cmd);
    }

    /// Starts `cmd` as the env's daemon (e.g. `sesame daemon` behind systemd's socket
    /// activation) and waits until its socket takes connections.
    pub fn start_daemon_command(&mut self, cmd: Command) {
        assert!(self.daemon.is_none(), "a daemon is already running");
        self.daemon_runs += 1;
        let log = self.dir.join(format!("logs/daemon-{}.log", self.daemon_runs));
        let child = spawn_logged(cmd, &log, false);
        let mut guard = Guard::new("sesame daemon", child, log);
        let deadline = Instant::now() + Duration::from_secs(20);
        while UnixStream::connect(&self.socket).is_err() {
            if let Some(status) = guard.child().try_wait().unwrap() {
                panic!("sesame daemon exited with {status} before it was ready:\n{}", guard.log());
            }
            assert!(
                Instant::now() < deadline,
                "the daemon did not open its socket:\n{}",
                guard.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.daemon = Some(guard);
    }

    /// SIGTERM, wait, and return the exit status.
    pub fn stop_daemon(&mut self) -> std::process::ExitStatus {
        let mut guard = self.daemon.take().expect("no daemon running");
        guard.terminate()
    }

    /// SIGKILL: the daemon gets no chance to clean up.
    pub fn kill_daemon(&mut self) {
        let mut guard = self.daemon.take().expect("no daemon running");
        guard.kill();
    }

    pub fn daemon_pid(&mut self) -> Option<u32> {
        self.daemon.as_mut().map(|d| d.child().id())
    }

    pub fn daemon_log(&self) -> String {
        self.daemon.as_ref().map(|d| d.log()).unwrap_or_default()
    }

    pub fn stop_idp(&mut self) {
        if let Some(mut idp) = self.idp.take() {
            idp.terminate();
        }
    }

    /// Runs `sesame <args>` as a client, with the env's dirs and `extra` env vars.
    pub fn sesame(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(sesame_bin());
        cmd.args(args).envs(extra.iter().copied());
        let out = cmd.output().expect("run sesame");
        self.note_output(&out);
        out
    }

    /// Runs `sesame <args>` with `input` on its stdin (a pipe, closed after `input`).
    pub fn sesame_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut cmd = self.command(sesame_bin());
        cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("run sesame");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
        drop(stdin);
        let out = child.wait_with_output().expect("wait for sesame");
        self.note_output(&out);
        out
    }

    /// Runs `sesame <args>`, asserts success, returns trimmed stdout.
    pub fn sesame_ok(&self, args: &[&str]) -> String {
        let out = self.sesame(args, &[]);
        assert!(
            out.status.success(),
            "sesame {args:?} failed: {}\n{}",
            stderr(&out),
            self.daemon_log()
        );
        stdout(&out).trim().to_owned()
    }

    /// `sesame login local` as `user` through the scripted browser; returns the account id.
    pub fn login(&self, user: &str) -> String {
        let out = self.sesame(&["login", "local"], &[("BROWSER_LOGIN", user)]);
        assert!(
            out.status.success(),
            "login as {user} failed: {}\n{}",
            stderr(&out),
            self.daemon_log()
        );
        stdout(&out).trim().to_owned()
    }

    /// `sesame token <account> <extra>` run by the test process; returns the token. If the
    /// request waits for consent (the CLI is attributed to its parent, this test binary),
    /// the harness approves and remembers it from the user's "terminal" ([`Env::manage`]),
    /// so later calls for the same account and scopes are immediate.
    pub fn token(&self, account: &str, extra: &[&str]) -> String {
        let mut args = vec!["token", account];
        args.extend_from_slice(extra);
        let out = self.with_consent(&test_app_key(), || self.sesame(&args, &[]));
        assert!(
            out.status.success(),
            "sesame {args:?} failed: {}\n{}",
            stderr(&out),
            self.daemon_log()
        );
        let token = stdout(&out).trim().to_owned();
        self.remember_secret(&token);
        token
    }

    pub fn remember_secret(&self, s: &str) {
        remember_in(&self.seen_secrets, s);
    }

    fn note_output(&self, out: &Output) {
        // `token --json` output (or any JSON carrying a token): remember the token inside.
        if let Ok(v) = serde_json::from_slice::<Value>(&out.stdout) {
            remember_tokens_in(&self.seen_secrets, &v);
        }
    }

    /// The refresh token the keyring holds for `account`, read with `secret-tool`.
    pub fn keyring_lookup(&self, account: &str) -> Option<String> {
        let out = self
            .command("secret-tool")
            .args(["lookup", "service", "sesame", "username", account])
            .output()
            .unwrap();
        let value = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if out.status.success() && !value.is_empty() {
            self.remember_secret(&value);
            Some(value)
        } else {
            None
        }
    }

    /// How many keyring items belong to Sesame.
    pub fn keyring_count(&self) -> usize {
        let out = self
            .command("secret-tool")
            .args(["search", "--all", "service", "sesame"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .chain(String::from_utf8_lossy(&out.stderr).lines())
            .filter(|l| l.starts_with("[/"))
            .count()
    }

    pub fn lock_keyring(&self) {
        self.bus.lock_login_collection(self);
    }

    /// RFC 7662 introspection at the test provider, as the `introspector` client.
    pub fn introspect(&self, token: &str) -> Value {
        let resp = reqwest::blocking::Client::new()
            .post(format!("{}{}", self.issuer, self.provider.introspection_path()))
            .basic_auth("introspector", Some("introspector-secret"))
            .form(&[("token", token)])
            .send()
            .expect("introspection request");
        assert!(resp.status().is_success(), "introspection answered {}", resp.status());
        resp.json().unwrap()
    }

    /// Revokes `refresh_token` at the provider directly, as a user would in the provider's
    /// settings: Sesame finds out at its next refresh.
    pub fn revoke_at_provider(&self, refresh_token: &str) {
        let resp = reqwest::blocking::Client::new()
            .post(format!("{}{}", self.issuer, self.provider.revocation_path()))
            .form(&[("token", refresh_token), ("client_id", "desktop-app")])
            .send()
            .unwrap();
        assert!(resp.status().is_success(), "revocation answered {}", resp.status());
    }

    /// Token-endpoint calls by grant type, counted by the test provider.
    pub fn idp_token_requests(&self, grant_type: &str) -> u64 {
        self.idp_stats()["token_requests"][grant_type].as_u64().unwrap_or(0)
    }

    /// The provider's counters (`token_requests`, `revocation_requests`, `rate_limited`,
    /// `early_requests`).
    pub fn idp_stats(&self) -> Value {
        reqwest::blocking::get(format!("{}/test/stats", self.issuer)).unwrap().json().unwrap()
    }

    /// The provider's next `count` token requests get HTTP 429 with `Retry-After: secs`.
    pub fn rate_limit_idp(&self, count: u32, secs: u32) {
        let url = format!("{}/test/rate_limit?count={count}&retry_after={secs}", self.issuer);
        let resp = reqwest::blocking::Client::new().post(url).send().unwrap();
        assert!(resp.status().is_success());
    }

    /// Zeroes the provider's request counters.
    pub fn reset_idp_stats(&self) {
        let resp = reqwest::blocking::Client::new()
            .delete(format!("{}/test/stats", self.issuer))
            .send()
            .unwrap();
        assert!(resp.status().is_success());
    }

    /// One raw JSON-RPC exchange on a fresh connection, from the test process itself.
    /// Use it for calls that never wait for consent (including `token.get` calls that fail
    /// before consent: `no_such_account`, `ambiguous_account`, `insufficient_scope`).
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        let mut conn = self.connect();
        let reply = conn.call(method, params);
        remember_tokens_in(&self.seen_secrets, &reply);
        reply
    }

    /// `token.get` from the test process, approving (and remembering) the consent request
    /// it causes, if any: for tests about what happens after consent (`reauth_required`,
    /// `keyring_unavailable`, a token).
    pub fn rpc_token(&self, params: Value) -> Value {
        self.with_consent(&test_app_key(), || self.rpc("token.get", params))
    }

    /// Runs `f` on a thread; while it runs, every pending request of the app `app_key` is
    /// approved with `--remember` from the user's "terminal". Returns what `f` returned.
    pub fn with_consent<T: Send>(&self, app_key: &str, f: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|scope| {
            let handle = scope.spawn(f);
            let started = Instant::now();
            let mut answered: HashSet<u64> = HashSet::new();
            while !handle.is_finished() {
                // A covered request answers at once: do not start a CLI per call for those.
                if started.elapsed() < Duration::from_millis(250) {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(150),
                    "a call from {app_key} did not finish:\n{}",
                    self.daemon_log()
                );
                for p in self.try_pending().unwrap_or_default() {
                    let Some(id) = p["id"].as_u64() else { continue };
                    if p["app"]["key"] == app_key && answered.insert(id) {
                        // May race with the request ending; the loop only ends with `f`.
                        self.manage(&["approve", &id.to_string(), "--remember"]);
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            match handle.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    pub fn connect(&self) -> RawConn {
        RawConn::new(UnixStream::connect(&self.socket).expect("connect to the broker"))
    }

    /// Fails the test if any token this test saw appears in any file of the env: the data,
    /// config and runtime dirs, the daemon's and the browser's logs. (The keyring's own file
    /// is encrypted, so a hit there would also be a finding.)
    pub fn assert_no_leaks(&self) {
        let secrets = self.seen_secrets.lock().unwrap().clone();
        let mut stack = vec![self.dir.clone()];
        let mut scanned = 0;
        // The test provider's database (DOT's): the one place tokens belong.
        let provider_files = self.dir.join("provider");
        while let Some(p) = stack.pop() {
            if p == provider_files {
                continue;
            }
            let Ok(meta) = std::fs::symlink_metadata(&p) else { continue };
            if meta.is_dir() {
                for e in std::fs::read_dir(&p).unwrap().flatten() {
                    stack.push(e.path());
                }
            } else if meta.is_file() {
                let bytes = std::fs::read(&p).unwrap_or_default();
                scanned += 1;
                for s in &secrets {
                    assert!(
                        !contains(&bytes, s.as_bytes()),
                        "a token ({}…) leaked into {}",
                        &s[..s.len().min(6)],
                        p.display()
                    );
                }
            }
        }
        assert!(scanned > 0);
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        self.daemon.take();
        self.idp.take();
        if std::thread::panicking() || std::env::var_os("SESAME_E2E_KEEP").is_some() {
            eprintln!("e2e: kept {} for inspection", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn remember_in(secrets: &Mutex<Vec<String>>, s: &str) {
    if !s.is_empty() {
        secrets.lock().unwrap().push(s.to_owned());
    }
}

/// Remembers every string under a key `access_token` or `token`, at any depth.
fn remember_tokens_in(secrets: &Mutex<Vec<String>>, v: &Value) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("access_token" | "token", Value::String(s)) => remember_in(secrets, s.trim()),
                    _ => remember_tokens_in(secrets, v),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| remember_tokens_in(secrets, v)),
        _ => {}
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `error.data.kind` of a JSON-RPC reply.
pub fn error_kind(reply: &Value) -> &str {
    reply["error"]["data"]["kind"].as_str().unwrap_or("<no error>")
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn temp_dir() -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("sesame-e2e-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Waits up to `limit` for `f` to return `Some`.
pub fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn child_pid(c: &Child) -> i32 {
    c.id() as i32
}
