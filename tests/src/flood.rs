//! Hostile peers for the flood tests and the reliability benchmark: `tests/clients/flood.py`
//! (a program holding many connections, idle or half-written), `sesame events` listeners
//! (connections Sesame's own tools keep busy), and the daemon's open sockets as `/proc`
//! counts them (to see that a flood was really accepted and let go).

use std::process::ChildStdin;

use super::*;

/// A running `flood.py`: its connections are open (or were refused) when this exists.
pub struct Flooder {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    /// Connections the script opened (connect succeeded), and those it could not open.
    pub opened: u64,
    pub failed: u64,
    /// The program's app key, as the broker sees it.
    pub key: String,
}

/// What a flooder's connections went through so far (see `flood.py`).
#[derive(Debug, Clone)]
pub struct FloodStatus {
    pub open: u64,
    pub closed: u64,
    /// Error replies by `data.kind`.
    pub replies: Value,
    /// Error replies by message.
    pub messages: Value,
}

impl FloodStatus {
    pub fn replies_of(&self, kind: &str) -> u64 {
        self.replies[kind].as_u64().unwrap_or(0)
    }

    /// Replies whose message contains `part`.
    pub fn messages_with(&self, part: &str) -> u64 {
        let Some(map) = self.messages.as_object() else { return 0 };
        map.iter().filter(|(m, _)| m.contains(part)).map(|(_, n)| n.as_u64().unwrap_or(0)).sum()
    }
}

impl Env {
    /// A copy of `tests/clients/flood.py` named `name` in this env's dir: another program.
    pub fn flood_script(&self, name: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::copy(client_script("flood.py"), &path).unwrap();
        path.canonicalize().unwrap()
    }

    /// Runs `script` (a copy of flood.py) with `idle` silent and `half` half-written
    /// connections; returns once it has opened them all (up to 120 s).
    pub fn flood(&self, script: &Path, idle: usize, half: usize) -> Flooder {
        self.flood_with(script, &[idle.to_string(), half.to_string()])
    }

    /// Runs `script` with `asking` connections that each ask for a token of `account` and
    /// wait for the answer (a question for the user, unless a grant covers it).
    pub fn flood_asking(&self, script: &Path, asking: usize, account: &str) -> Flooder {
        self.flood_with(script, &["0".into(), "0".into(), asking.to_string(), account.into()])
    }

    fn flood_with(&self, script: &Path, args: &[String]) -> Flooder {
        let mut cmd = self.command(python_exe());
        cmd.arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("start flood.py");
        let stdin = child.stdin.take().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines.recv_timeout(Duration::from_secs(120)).unwrap_or_else(|_| {
            panic!("flood.py did not open its connections in 120 s\n{}", self.daemon_log())
        });
        let v: Value = serde_json::from_str(&first).expect("flood.py prints JSON");
        Flooder {
            child,
            stdin,
            lines,
            opened: v["opened"].as_u64().unwrap(),
            failed: v["failed"].as_u64().unwrap(),
            key: script_key(script),
        }
    }

    /// Sockets the daemon has open, from `/proc/<pid>/fd`.
    pub fn daemon_sockets(&mut self) -> usize {
        let pid = self.daemon_pid().expect("a daemon runs");
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap();
        fds.flatten()
            .filter(|e| {
                std::fs::read_link(e.path())
                    .is_ok_and(|t| t.to_string_lossy().starts_with("socket:"))
            })
            .count()
    }

    /// `sesame events` run by this test process, returned once it is subscribed: a
    /// connection of Sesame's own CLI that is never idle.
    pub fn listen_events(&self) -> Child {
        let mut cmd = self.command(sesame_bin());
        cmd.arg("events").stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start sesame events");
        let err = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let first = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        assert!(first.contains("listening for events"), "sesame events: {first}");
        child
    }
}

impl Flooder {
    pub fn status(&mut self) -> FloodStatus {
        writeln!(self.stdin, "status").unwrap();
        let line = self.lines.recv_timeout(Duration::from_secs(60)).expect("flood.py status");
        let v: Value = serde_json::from_str(&line).expect("flood.py prints JSON");
        FloodStatus {
            open: v["open"].as_u64().unwrap(),
            closed: v["closed"].as_u64().unwrap(),
            replies: v["replies"].clone(),
            messages: v["messages"].clone(),
        }
    }

    /// Reopens every connection the broker closed (as what it was); returns how many. A
    /// loop of these is a flood that never lets up.
    pub fn refill(&mut self) -> u64 {
        writeln!(self.stdin, "refill").unwrap();
        let line = self.lines.recv_timeout(Duration::from_secs(60)).expect("flood.py refill");
        let v: Value = serde_json::from_str(&line).expect("flood.py prints JSON");
        v["reopened"].as_u64().unwrap()
    }

    /// Polls [`Flooder::status`] until `pred` holds; panics after `limit` with the last one.
    pub fn wait_until(
        &mut self,
        limit: Duration,
        pred: impl Fn(&FloodStatus) -> bool,
    ) -> FloodStatus {
        let deadline = Instant::now() + limit;
        loop {
            let status = self.status();
            if pred(&status) {
                return status;
            }
            assert!(Instant::now() < deadline, "not within {limit:?}: {status:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Flooder {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
