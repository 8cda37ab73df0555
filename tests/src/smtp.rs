//! A mail server that wants a valid token (`tests/smtp_server.py`: it checks the bearer
//! token of `AUTH OAUTHBEARER`/`XOAUTH2` by introspection at the test provider), and a
//! real `msmtp` configured for it the way its manual says: `passwordeval` runs
//! `sesame token <account>`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::process::{spawn_logged, Guard};
use crate::{root, sesame_bin, set_mode, Env};

pub struct SmtpServer {
    pub port: u16,
    /// One JSON object per line: every AUTH and every mail it took (never a token).
    pub mail_log: PathBuf,
    _guard: Guard,
}

impl SmtpServer {
    /// What the server wrote to its mail log so far.
    pub fn events(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.mail_log).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).expect("mail log line")).collect()
    }

    /// The mails it accepted.
    pub fn mails(&self) -> Vec<Value> {
        self.events().into_iter().filter(|e| e["event"] == "mail").collect()
    }
}

impl Env {
    /// Starts the SMTP server; it introspects as the provider's `introspector` client.
    pub fn start_smtp(&self) -> SmtpServer {
        let mail_log = self.dir.join("logs/mail.jsonl");
        let mut cmd = Command::new("python3");
        cmd.arg(root().join("tests/smtp_server.py"))
            .arg(format!("{}/token/introspection", self.issuer))
            .args(["introspector", "introspector-secret"])
            .arg(&mail_log);
        let log = self.dir.join("logs/smtp.log");
        let mut guard = Guard::new("smtp server", spawn_logged(cmd, &log, true), log);
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
            .unwrap_or_else(|| panic!("the SMTP server did not start:\n{}", guard.log()));
        SmtpServer { port, mail_log, _guard: guard }
    }

    /// An msmtp configuration (mode 0600, as msmtp wants) with one account, `work`, at
    /// `smtp`: `auth` is the mechanism (`oauthbearer`, `xoauth2`), and the password comes
    /// from `passwordeval "sesame token <account>"`.
    pub fn msmtp_config(&self, smtp: &SmtpServer, auth: &str, account: &str) -> PathBuf {
        let path = self.dir.join(format!("config/msmtprc-{auth}"));
        let text = format!(
            "defaults\nlogfile {log}\n\naccount work\nhost 127.0.0.1\nport {port}\ntls off\nauth {auth}\nuser alice@example.com\nfrom alice@example.com\npasswordeval \"{sesame} token {account}\"\n",
            log = self.dir.join("logs/msmtp.log").display(),
            port = smtp.port,
            sesame = sesame_bin().display(),
        );
        std::fs::write(&path, text).unwrap();
        set_mode(&path, 0o600);
        path
    }

    /// `msmtp -C <config> -a work <to>`, the mail on its stdin, as a [`crate::ClientProc`]
    /// (it waits while its token request waits for consent).
    pub fn spawn_msmtp(
        &self,
        config: &std::path::Path,
        to: &str,
        subject: &str,
    ) -> crate::ClientProc {
        let mail = format!("Subject: {subject}\n\nSent by msmtp with a token from Sesame.\n");
        // msmtp reads the mail from stdin: give it through a file, so nothing stays open.
        let file = self.dir.join(format!("logs/mail-{}.txt", subject.replace(' ', "-")));
        std::fs::write(&file, mail).unwrap();
        let mut cmd = self.command("msmtp");
        cmd.arg("-C").arg(config).args(["-a", "work", to]);
        cmd.stdin(std::fs::File::open(&file).unwrap());
        self.spawn_command(cmd)
    }
}
