//! The consent side of the harness: the user answering from a "terminal" (the `sesame`
//! CLI whose parent is a shell), and programs that ask for tokens as themselves.

use super::*;

impl Env {
    // ---- the user's side of consent: the `sesame` CLI run from a "terminal" ----------

    /// Runs `sesame <args>` the way the user would from a terminal: its parent is
    /// `tests/user_terminal.sh` (a shell script, so a program of its own, which the broker
    /// does not walk past as it walks past `sh -c`), not the test process, so the CLI is
    /// never attributed to the app whose request it answers.
    pub fn manage(&self, args: &[&str]) -> Output {
        let mut cmd = self.command("sh");
        cmd.arg(root().join("tests/user_terminal.sh")).arg(sesame_bin()).args(args);
        let out = cmd.output().expect("run sh tests/user_terminal.sh sesame");
        self.note_output(&out);
        out
    }

    /// [`Env::manage`], asserting success; returns stdout.
    pub fn manage_ok(&self, args: &[&str]) -> String {
        let out = self.manage(args);
        assert!(
            out.status.success(),
            "sesame {args:?} failed ({}): {}\n{}",
            out.status,
            stderr(&out),
            self.daemon_log()
        );
        stdout(&out)
    }

    /// [`Env::manage_ok`] of a `--json` command, parsed.
    pub fn manage_json(&self, args: &[&str]) -> Value {
        let text = self.manage_ok(args);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("sesame {args:?} printed no JSON ({e}): {text}"))
    }

    /// `sesame pending --json` as a list, or `None` if the command failed.
    pub fn try_pending(&self) -> Option<Vec<Value>> {
        let out = self.manage(&["pending", "--json"]);
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice::<Value>(&out.stdout).ok()?.as_array().cloned()
    }

    /// `sesame pending --json` (asserting success).
    pub fn pending(&self) -> Vec<Value> {
        self.manage_json(&["pending", "--json"])
            .as_array()
            .cloned()
            .expect("pending --json prints an array")
    }

    /// Polls `sesame pending --json` until an entry satisfies `pred` (30 s).
    pub fn wait_pending(&self, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = None;
        loop {
            if let Some(list) = self.try_pending() {
                if let Some(p) = list.iter().find(|p| pred(p)) {
                    return p.clone();
                }
                last = Some(list);
            }
            if Instant::now() > deadline {
                let out = self.manage(&["pending", "--json"]);
                panic!(
                    "no matching pending request within 30 s; last list: {last:?}\nsesame pending --json: {} {}\n{}",
                    stdout(&out),
                    stderr(&out),
                    self.daemon_log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The pending request of the app `key` (30 s).
    pub fn wait_pending_of(&self, key: &str) -> Value {
        self.wait_pending(|p| p["app"]["key"] == key)
    }

    /// `sesame approve <id> [--remember]`, asserting success.
    pub fn approve(&self, pending: &Value, remember: bool) {
        let id = pending["id"].as_u64().unwrap_or_else(|| panic!("no id in {pending}")).to_string();
        let mut args = vec!["approve", id.as_str()];
        if remember {
            args.push("--remember");
        }
        self.manage_ok(&args);
    }

    /// `sesame deny <id>`, asserting success.
    pub fn deny(&self, pending: &Value) {
        let id = pending["id"].as_u64().unwrap_or_else(|| panic!("no id in {pending}")).to_string();
        self.manage_ok(&["deny", &id]);
    }

    /// `sesame grants --json`.
    pub fn grants(&self) -> Vec<Value> {
        self.manage_json(&["grants", "--json"])
            .as_array()
            .cloned()
            .expect("grants --json prints an array")
    }

    /// `sesame activity --json <extra>`.
    pub fn activity(&self, extra: &[&str]) -> Vec<Value> {
        let mut args = vec!["activity", "--json"];
        args.extend_from_slice(extra);
        self.manage_json(&args).as_array().cloned().expect("activity --json prints an array")
    }

    // ---- programs asking for tokens -------------------------------------------------

    /// Spawns `program args` with the env's environment, stdout and stderr piped. Tokens in
    /// its output lines are remembered for the leak scan as they arrive.
    pub fn spawn_client(&self, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> ClientProc {
        let mut cmd = self.command(program);
        cmd.args(args);
        self.spawn_command(cmd)
    }

    /// Spawns a prepared command (e.g. from [`Env::command`]) as a [`ClientProc`].
    pub fn spawn_command(&self, mut cmd: Command) -> ClientProc {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = spawn_retrying_busy(&mut cmd);
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        let secrets = self.seen_secrets.clone();
        let stdout_thread = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    remember_tokens_in(&secrets, &v);
                }
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().unwrap();
        let stderr_thread = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        ClientProc {
            pid: child.id() as i32,
            child,
            lines,
            seen: vec![],
            stdout_thread: Some(stdout_thread),
            stderr_thread: Some(stderr_thread),
        }
    }

    /// `token-client <args>`.
    pub fn spawn_token_client(&self, args: &[&str]) -> ClientProc {
        self.spawn_client(token_client_bin(), args)
    }

    /// `<python> <script> <args>`, with the canonical interpreter (see [`python_exe`]).
    pub fn spawn_script(&self, script: &Path, args: &[&str]) -> ClientProc {
        let mut cmd = self.command(python_exe());
        cmd.arg(script).args(args);
        self.spawn_command(cmd)
    }

    /// Waits (up to `limit`) for the client to exit; panics with the daemon log otherwise.
    pub fn finish_client(&self, client: ClientProc, limit: Duration) -> ClientOutput {
        let pid = client.pid;
        client.finish_within(limit).unwrap_or_else(|| {
            panic!("client {pid} did not finish within {limit:?}\n{}", self.daemon_log())
        })
    }

    /// [`Env::finish_client`] with 30 s.
    pub fn client_result(&self, client: ClientProc) -> ClientOutput {
        self.finish_client(client, Duration::from_secs(30))
    }
}

/// `cmd.spawn()`, again when the executable is "busy": a test that has just written a
/// binary (a copy of the token-client) can meet ETXTBSY, because another test thread forked
/// while the copy's file was still open for writing and that child holds the descriptor
/// until it execs. The condition ends as soon as that child execs.
fn spawn_retrying_busy(cmd: &mut Command) -> Child {
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Ok(child) => return child,
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 50 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("cannot start {:?}: {e}", cmd.get_program()),
        }
    }
}

/// A program under test that asks the broker for something, with its output collected.
pub struct ClientProc {
    pub child: Child,
    pub pid: i32,
    lines: mpsc::Receiver<String>,
    /// Lines already taken with [`ClientProc::next_line`].
    seen: Vec<String>,
    stdout_thread: Option<std::thread::JoinHandle<()>>,
    stderr_thread: Option<std::thread::JoinHandle<String>>,
}

impl ClientProc {
    pub fn is_finished(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// The next line on stdout, waiting up to `limit` (`None`: timeout or end of output).
    pub fn next_line(&mut self, limit: Duration) -> Option<String> {
        let line = self.lines.recv_timeout(limit).ok()?;
        self.seen.push(line.clone());
        Some(line)
    }

    /// The next stdout line parsed as JSON (panics on timeout or non-JSON).
    pub fn next_json(&mut self, limit: Duration) -> Value {
        let pid = self.pid;
        let line = self
            .next_line(limit)
            .unwrap_or_else(|| panic!("client {pid} printed no line within {limit:?}"));
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("client {pid} printed no JSON ({e}): {line}"))
    }

    /// Waits up to `limit` for the exit; `None` (and the process killed) on timeout.
    pub fn finish_within(mut self, limit: Duration) -> Option<ClientOutput> {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Grandchildren could hold the pipes open: do not wait for them for ever.
        let mut lines = std::mem::take(&mut self.seen);
        let drain_deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.lines.recv_timeout(Duration::from_millis(50)) {
                Ok(line) => lines.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() > drain_deadline => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
        let stderr = match self.stderr_thread.take() {
            Some(t)
                if t.is_finished()
                    || wait_for(Duration::from_secs(5), || t.is_finished().then_some(()))
                        .is_some() =>
            {
                t.join().unwrap_or_default()
            }
            _ => String::new(),
        };
        if let Some(t) = self.stdout_thread.take() {
            if t.is_finished() {
                let _ = t.join();
            }
        }
        let json = lines.last().and_then(|l| serde_json::from_str(l).ok()).unwrap_or(Value::Null);
        Some(ClientOutput { status, stdout: lines.join("\n"), lines, json, stderr })
    }
}

impl Drop for ClientProc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// How a [`ClientProc`] ended.
#[derive(Debug)]
pub struct ClientOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub lines: Vec<String>,
    /// The last stdout line as JSON (`Null` if it was not JSON).
    pub json: Value,
    pub stderr: String,
}

impl ClientOutput {
    /// The `ok` result; panics (with everything the client said) unless it succeeded.
    pub fn ok(&self) -> &Value {
        assert!(
            self.status.success() && self.json.get("ok").is_some(),
            "the client failed ({}): {}\nstderr: {}",
            self.status,
            self.stdout,
            self.stderr
        );
        &self.json["ok"]
    }

    /// The token of an `ok` result.
    pub fn token(&self) -> String {
        self.ok()["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access_token in {}", self.stdout))
            .to_owned()
    }

    /// `error.kind` of an error result (`"<no error>"` if there was none).
    pub fn error_kind(&self) -> &str {
        self.json["error"]["kind"].as_str().unwrap_or("<no error>")
    }

    /// Asserts an error reply of `kind` (exit code 3); returns its message.
    pub fn expect_error(&self, kind: &str) -> String {
        assert_eq!(
            self.error_kind(),
            kind,
            "expected {kind} ({}): {}\nstderr: {}",
            self.status,
            self.stdout,
            self.stderr
        );
        assert_eq!(self.status.code(), Some(3), "an error reply exits 3: {}", self.stdout);
        self.json["error"]["message"].as_str().unwrap_or_default().to_owned()
    }
}

/// The test client binary (`tests/src/bin/token-client.rs`), next to the test binaries'
/// directory: `$TOKEN_CLIENT_BIN`, else `<target>/debug/token-client`.
pub fn token_client_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("TOKEN_CLIENT_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    let candidates = [
        exe.parent().and_then(Path::parent).map(|d| d.join("token-client")),
        exe.parent().map(|d| d.join("token-client")),
    ];
    let found = candidates.into_iter().flatten().find(|p| p.exists());
    let bin = found.unwrap_or_else(|| root().join("target/debug/token-client"));
    assert!(bin.exists(), "{} is missing; `cargo test -p sesame-e2e` builds it", bin.display());
    bin.canonicalize().unwrap()
}

/// The app key the broker gives the token-client: its canonical executable path.
pub fn token_client_key() -> String {
    token_client_bin().to_string_lossy().into_owned()
}

/// The app key of this test process (and of the `sesame` CLI it runs): its canonical exe.
pub fn test_app_key() -> String {
    std::env::current_exe().unwrap().canonicalize().unwrap().to_string_lossy().into_owned()
}

/// The real Python interpreter (not a pyenv shim or a symlink): what `/proc/<pid>/exe` of a
/// Python client is.
pub fn python_exe() -> PathBuf {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let out = Command::new("python3")
            .args(["-c", "import os, sys; print(os.path.realpath(sys.executable))"])
            .output()
            .expect("python3");
        assert!(out.status.success(), "python3: {}", stderr(&out));
        PathBuf::from(stdout(&out).trim())
    })
    .clone()
}

/// `tests/clients/<name>`, canonical.
pub fn client_script(name: &str) -> PathBuf {
    root()
        .join("tests/clients")
        .join(name)
        .canonicalize()
        .unwrap_or_else(|e| panic!("tests/clients/{name}: {e}"))
}

/// The app key of a Python script run by [`Env::spawn_script`]: interpreter and script path.
pub fn script_key(script: &Path) -> String {
    format!("{} {}", python_exe().display(), script.display())
}
