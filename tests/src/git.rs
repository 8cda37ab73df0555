//! A git host that wants a valid token (`tests/git_server.py`: `git http-backend` behind a
//! front that checks HTTP Basic passwords by introspection at the test provider), and real
//! git configured with `credential.helper sesame`. The git is Debian's `/usr/bin/git`,
//! chosen on purpose: the machine may also have another one in /usr/local/bin, and the
//! consent question must name the git that really ran.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::process::{spawn_logged, Guard};
use crate::{root, sesame_bin, Env};

/// Debian's git (package `git`).
pub const GIT: &str = "/usr/bin/git";
/// The same git's copy in its exec path, which runs `git credential-<name>` helpers.
pub const GIT_EXEC_PATH_GIT: &str = "/usr/lib/git-core/git";

pub struct GitServer {
    pub port: u16,
    /// The bare repositories it serves.
    pub repos: PathBuf,
    /// One JSON object per line: every request with credentials (never a token).
    pub auth_log: PathBuf,
    _guard: Guard,
}

impl GitServer {
    /// `host:port`, as git names it in a credential request.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self, repo: &str) -> String {
        format!("http://{}/{repo}", self.host())
    }

    /// What the server logged so far.
    pub fn auths(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.auth_log).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).expect("auth log line")).collect()
    }

    /// The next request with a valid token is answered 401 anyway.
    pub fn reject_next(&self) {
        let url = format!("http://{}/test/reject_next", self.host());
        let resp = reqwest::blocking::Client::new().post(url).send().unwrap();
        assert!(resp.status().is_success(), "reject_next answered {}", resp.status());
    }
}

impl Env {
    /// Starts the git server with one bare repository, `project.git`, holding one commit.
    pub fn start_git_server(&self) -> GitServer {
        let repos = self.dir.join("repos");
        std::fs::create_dir_all(&repos).unwrap();
        let seed = self.dir.join("seed");
        self.git_ok(&self.dir, &["init", "-q", "-b", "main", seed.to_str().unwrap()]);
        std::fs::write(seed.join("README"), "hello\n").unwrap();
        self.git_ok(&seed, &["add", "README"]);
        self.git_ok(&seed, &["commit", "-q", "-m", "first"]);
        let bare = repos.join("project.git");
        self.git_ok(
            &self.dir,
            &["clone", "-q", "--bare", seed.to_str().unwrap(), bare.to_str().unwrap()],
        );
        let auth_log = self.dir.join("logs/git-auth.jsonl");
        let mut cmd = Command::new("python3");
        cmd.arg(root().join("tests/git_server.py"))
            .arg(GIT)
            .arg(&repos)
            .arg(format!("{}/token/introspection", self.issuer))
            .args(["introspector", "introspector-secret"])
            .arg(&auth_log);
        let log = self.dir.join("logs/git_server.log");
        let mut guard = Guard::new("git server", spawn_logged(cmd, &log, true), log);
        let stdout = guard.child().stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
        let port = line
            .trim()
            .strip_prefix("READY ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the git server did not start:\n{}", guard.log()));
        GitServer { port, repos, auth_log, _guard: guard }
    }

    /// A directory on git's PATH with `git-credential-sesame`, a link to the `sesame` under
    /// test (as the .deb installs it).
    fn helper_dir(&self) -> PathBuf {
        let dir = self.dir.join("bin");
        let link = dir.join("git-credential-sesame");
        if !link.exists() {
            std::fs::create_dir_all(&dir).unwrap();
            std::os::unix::fs::symlink(sesame_bin(), &link).unwrap();
        }
        dir
    }

    /// `git <args>` in `cwd`, isolated: the env's HOME, its own global config file, no
    /// system config, no prompts; PATH has the helper and Debian's git first.
    pub fn git_command(&self, cwd: &Path, args: &[&str]) -> Command {
        let mut cmd = self.command(GIT);
        let path = format!("{}:/usr/bin:/bin", self.helper_dir().display());
        cmd.current_dir(cwd)
            .args(args)
            .env("PATH", path)
            .env("GIT_CONFIG_GLOBAL", self.dir.join("home/.gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_AUTHOR_NAME", "Alice")
            .env("GIT_AUTHOR_EMAIL", "alice@example.com")
            .env("GIT_COMMITTER_NAME", "Alice")
            .env("GIT_COMMITTER_EMAIL", "alice@example.com");
        cmd
    }

    pub fn git(&self, cwd: &Path, args: &[&str]) -> Output {
        self.git_command(cwd, args).output().expect("run git")
    }

    pub fn git_ok(&self, cwd: &Path, args: &[&str]) -> String {
        let out = self.git(cwd, args);
        assert!(
            out.status.success(),
            "git {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.daemon_log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `git-credential-sesame <args>` with git's environment (its PATH and config file),
    /// `input` on its stdin.
    pub fn git_credential(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut cmd = self.command(self.helper_dir().join("git-credential-sesame"));
        cmd.args(args)
            .env("PATH", format!("{}:/usr/bin:/bin", self.helper_dir().display()))
            .env("GIT_CONFIG_GLOBAL", self.dir.join("home/.gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("run git-credential-sesame");
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }
}
