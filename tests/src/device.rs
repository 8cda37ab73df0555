//! The device sign-in side of the harness: `sesame login <provider> --device` running in the
//! background, the user's side through `tests/browser.py --device` (as if on another
//! device), and the test provider's device-flow counters.

use super::*;

/// What `sesame login --device` showed the user.
#[derive(Debug, Clone)]
pub struct DevicePrompt {
    pub verification_uri: String,
    pub user_code: String,
    pub verification_uri_complete: Option<String>,
}

/// A running `sesame login <provider> --device`; killed if dropped while it runs.
pub struct DeviceLogin {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Vec<String>,
    log: PathBuf,
}

impl Env {
    /// Starts `sesame login <provider> --device`; read what it shows with [`DeviceLogin::prompt`].
    pub fn start_device_login(&self, provider: &str) -> DeviceLogin {
        let mut cmd = self.command(sesame_bin());
        cmd.args(["login", provider, "--device"]).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("run sesame login --device");
        let err = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        DeviceLogin {
            child,
            lines,
            stderr: Vec::new(),
            log: self.dir.join("logs/login-device.log"),
        }
    }

    /// The user's side on "another device": `tests/browser.py --device <args>` (the complete
    /// URI, or the URI and the user code) in `mode` (normal, deny, deny_confirm), as `login`.
    pub fn device_user(&self, args: &[&str], mode: &str, login: &str) -> Output {
        let mut cmd = self.command("python3");
        cmd.arg(root().join("tests/browser.py"))
            .arg("--device")
            .args(args)
            .env("BROWSER_MODE", mode)
            .env("BROWSER_LOGIN", login);
        cmd.output().expect("run browser.py --device")
    }

    /// The provider's device-flow counters (`authorizations`, `polls`, `slow_down`: polls
    /// that came sooner than the interval, `forced_slow_down`). The device codes it issued
    /// are remembered for the leak scan.
    pub fn idp_device_stats(&self) -> Value {
        let v: Value =
            reqwest::blocking::get(format!("{}/test/stats", self.issuer)).unwrap().json().unwrap();
        for code in
            v["device"]["issued_codes"].as_array().into_iter().flatten().filter_map(Value::as_str)
        {
            self.remember_secret(code);
        }
        v["device"].clone()
    }
}

impl DeviceLogin {
    /// Reads the CLI's stderr until it says that it waits for the user; `Err` with what it
    /// printed if it ended (or printed nothing more for 30 s) before that.
    pub fn prompt(&mut self) -> Result<DevicePrompt, String> {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    let waiting = line.starts_with("Waiting for you");
                    self.stderr.push(line);
                    if waiting {
                        break;
                    }
                }
                Err(_) => return Err(self.stderr.join("\n")),
            }
        }
        parse_prompt(&self.stderr)
            .ok_or_else(|| format!("no code or page in: {}", self.stderr.join("\n")))
    }

    /// Ctrl-C, as the user would press it.
    pub fn interrupt(&self) {
        // SAFETY: kill(2) on a child we spawned and have not reaped yet.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
    }

    /// Waits (up to 60 s) for the CLI to exit; its exit status, stdout and all of stderr.
    /// Stderr is also kept in `logs/login-device.log`, which the leak scan reads.
    pub fn finish(mut self) -> Output {
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "sesame login --device did not end within 60 s:\n{}",
                self.stderr.join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader thread ends at EOF, which closes the channel.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(10)) {
            self.stderr.push(line);
        }
        let mut stdout = Vec::new();
        self.child.stdout.take().unwrap().read_to_end(&mut stdout).unwrap();
        let stderr = self.stderr.join("\n");
        let mut log = std::fs::File::options().create(true).append(true).open(&self.log).unwrap();
        writeln!(log, "{stderr}").unwrap();
        Output { status, stdout, stderr: stderr.into_bytes() }
    }
}

impl Drop for DeviceLogin {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The page, the code and the complete link from the CLI's lines: each is the indented line
/// after its label.
fn parse_prompt(lines: &[String]) -> Option<DevicePrompt> {
    let (mut label, mut uri, mut code, mut complete) = ("", None, None, None);
    for line in lines.iter().filter(|l| !l.trim().is_empty()) {
        let text = line.trim().to_owned();
        if line.starts_with("  ") {
            match label {
                "page" => uri = Some(text),
                "code" => code = Some(text),
                "link" => complete = Some(text),
                _ => {}
            }
        } else if text.starts_with("To sign in") {
            label = "page";
        } else if text.starts_with("and enter the code") {
            label = "code";
        } else if text.starts_with("Or open this link") {
            label = "link";
        } else {
            label = "";
        }
    }
    Some(DevicePrompt {
        verification_uri: uri?,
        user_code: code?,
        verification_uri_complete: complete,
    })
}
