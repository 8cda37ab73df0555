//! For the sign-in hijack tests: a second user ([`Attacker`], `tests/hijack_attacker.py` run
//! as `nobody`), a sign-in the test holds open ([`HeldSignIn`]), and a private network
//! namespace so the attacker's loopback sweep only ever reaches this test's own world.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{sesame_bin, set_mode, Env};

/// Moves this thread (and every process and thread it starts from now on) into a new
/// network namespace with its own loopback interface. The attacker connects to every
/// listening 127.0.0.1 port it sees; in the host's namespace those would include other
/// tests' (and other people's) sign-ins. Needs root, as `setpriv` does.
pub fn private_network() {
    // SAFETY: unshare(2) moves only the calling thread into the new namespace.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(
        rc,
        0,
        "cannot create a network namespace (the hijack tests need root): {}",
        std::io::Error::last_os_error()
    );
    // A new namespace's `lo` is down: SIOCSIFFLAGS with IFF_UP, as `ip link set lo up`.
    // SAFETY: a plain socket and two ioctls on a zeroed, NUL-terminated ifreq we own.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let mut req: libc::ifreq = std::mem::zeroed();
        for (d, s) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *d = *s as libc::c_char;
        }
        assert_eq!(libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req), 0);
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        let rc = libc::ioctl(fd, libc::SIOCSIFFLAGS, &req);
        let err = std::io::Error::last_os_error();
        libc::close(fd);
        assert_eq!(rc, 0, "cannot bring up lo: {err}");
    }
}

/// Lines a child wrote, collected by a thread as they come.
struct Lines {
    all: Arc<Mutex<Vec<String>>>,
    new: mpsc::Receiver<String>,
    reader: Option<JoinHandle<()>>,
}

impl Lines {
    fn read(from: impl std::io::Read + Send + 'static) -> Lines {
        let all = Arc::new(Mutex::new(vec![]));
        let (tx, new) = mpsc::channel();
        let keep = all.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(from).lines().map_while(Result::ok) {
                keep.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        Lines { all, new, reader: Some(reader) }
    }

    /// The first line from now on for which `f` says `Some`, within `limit`.
    fn wait<T>(&self, limit: Duration, mut f: impl FnMut(&str) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.new.recv_timeout(left) {
                Ok(line) => {
                    if let Some(v) = f(&line) {
                        return Some(v);
                    }
                }
                Err(_) => return None,
            }
        }
    }

    /// Everything, once the child closed its end.
    fn finish(&mut self) -> Vec<String> {
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        self.all.lock().unwrap().clone()
    }
}

/// The second user: `tests/hijack_attacker.py` as `nobody:nogroup` with no supplementary
/// groups, from a 0755 directory of its own under /tmp (the test's dirs are 0700). It
/// reports every step as a JSON line; [`Attacker::wait`] and [`Attacker::stop`] read them.
pub struct Attacker {
    child: Child,
    lines: Lines,
    dir: PathBuf,
}

impl Attacker {
    /// Runs for `seconds` at most; logs in at the provider as `login` with what it finds.
    pub fn start(seconds: u32, login: &str) -> Attacker {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("sesame-attacker-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        set_mode(&dir, 0o755);
        let script = dir.join("attacker.py");
        std::fs::write(&script, include_str!("../hijack_attacker.py")).unwrap();
        set_mode(&script, 0o755);
        let mut child = Command::new("setpriv")
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3"])
            .arg(&script)
            .arg(seconds.to_string())
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("ATTACKER_LOGIN", login)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("setpriv runs the attacker");
        let lines = Lines::read(child.stdout.take().unwrap());
        let attacker = Attacker { child, lines, dir };
        let started = attacker
            .wait(Duration::from_secs(20), |r| r["kind"] == "started")
            .expect("the attacker started and reported");
        assert_eq!(started["uid"], 65534, "the attacker runs as nobody: {started}");
        attacker
    }

    /// The first report from now on that `f` accepts.
    pub fn wait(&self, limit: Duration, mut f: impl FnMut(&Value) -> bool) -> Option<Value> {
        self.lines.wait(limit, |line| {
            let report: Value = serde_json::from_str(line).ok()?;
            f(&report).then_some(report)
        })
    }

    /// Ends the attacker and returns all it reported.
    pub fn stop(mut self) -> Vec<Value> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let lines = self.lines.finish();
        lines.iter().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }
}

impl Drop for Attacker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `sesame login local` whose browser (`tests/browser.py`) waits at the start until the
/// test calls [`HeldSignIn::release`]: meanwhile the sign-in is open and can be attacked.
pub struct HeldSignIn {
    child: Child,
    stderr: Lines,
    go: PathBuf,
    /// The authorization URL, as the CLI printed it for manual copy (on stderr).
    pub url: String,
    /// The loopback listener's port, from the URL's `redirect_uri`.
    pub port: u16,
}

pub struct SignInOutcome {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl HeldSignIn {
    /// `extra` goes after `login local` (`--no-browser`: the test opens the URL itself).
    pub fn start(env: &Env, user: &str, extra: &[&str]) -> HeldSignIn {
        let go = env.dir.join(format!("go-{}", rand_suffix()));
        let mut child = env
            .command(sesame_bin())
            .args(["login", "local"])
            .args(extra)
            .env("BROWSER_LOGIN", user)
            .env("BROWSER_WAIT_FOR", &go)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run sesame login");
        let stderr = Lines::read(child.stderr.take().unwrap());
        let url = stderr
            .wait(Duration::from_secs(30), |l| {
                let l = l.trim();
                (l.starts_with("http") && l.contains("state=")).then(|| l.to_owned())
            })
            .unwrap_or_else(|| panic!("sesame login printed no URL:\n{}", env.daemon_log()));
        let redirect = query_param(&url, "redirect_uri").expect("a redirect_uri");
        let port = redirect
            .strip_prefix("http://127.0.0.1:")
            .and_then(|r| r.strip_suffix("/callback"))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("a loopback redirect_uri: {redirect}"));
        HeldSignIn { child, stderr, go, url, port }
    }

    /// The file a browser with `BROWSER_WAIT_FOR` set to it waits for ([`HeldSignIn::release`]).
    pub fn go_file(&self) -> &std::path::Path {
        &self.go
    }

    /// The user's browser may go on.
    pub fn release(&self) {
        std::fs::write(&self.go, "").unwrap();
    }

    pub fn state(&self) -> String {
        query_param(&self.url, "state").expect("a state")
    }

    /// Waits (up to 90 s) for the CLI to end.
    pub fn finish(mut self) -> SignInOutcome {
        let deadline = Instant::now() + Duration::from_secs(90);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break self.child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            std::io::Read::read_to_string(&mut out, &mut stdout).unwrap();
        }
        let stderr = self.stderr.finish().join("\n");
        SignInOutcome { success: status.success(), stdout, stderr }
    }
}

impl Drop for HeldSignIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One query parameter of `url`, percent-decoded (enough for the URLs Sesame builds).
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn rand_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

/// Every process's command line, as any user can read it.
pub fn all_command_lines() -> Vec<(u32, String)> {
    let mut out = vec![];
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        if let Ok(bytes) = std::fs::read(entry.path().join("cmdline")) {
            out.push((pid, String::from_utf8_lossy(&bytes).replace('\0', " ")));
        }
    }
    out
}
