//! A private D-Bus session bus with a real gnome-keyring on it (see tests/keyring-env.sh
//! for the sequence and why each step is there).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::{spawn_logged, Guard};
use crate::{wait_for, Env};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyringState {
    /// gnome-keyring running, login collection unlocked with a throw-away password.
    Unlocked,
    /// No bus at all: `DBUS_SESSION_BUS_ADDRESS` points at nothing.
    Absent,
}

pub struct Bus {
    address: String,
    // Held only to be dropped (killed) in this order: the keyring before its bus.
    _keyring: Option<Guard>,
    _dbus: Option<Guard>,
}

impl Bus {
    pub fn start(dir: &Path, state: KeyringState) -> Bus {
        let socket = dir.join("run/bus");
        let address = format!("unix:path={}", socket.display());
        if state == KeyringState::Absent {
            return Bus {
                address: format!("unix:path={}", dir.join("run/no-bus-here").display()),
                _keyring: None,
                _dbus: None,
            };
        }
        let mut cmd = Command::new("dbus-daemon");
        cmd.args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .arg(format!("--address={address}"));
        let dbus = Guard::new(
            "dbus-daemon",
            spawn_logged(cmd, &dir.join("logs/dbus.log"), false),
            dir.join("logs/dbus.log"),
        );
        wait_for(Duration::from_secs(10), || socket.exists().then_some(()))
            .expect("dbus-daemon did not start");

        let mut cmd = Command::new("gnome-keyring-daemon");
        cmd.args(["--foreground", "--unlock", "--components=secrets"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.join("home"))
            .env("XDG_RUNTIME_DIR", dir.join("run"))
            .env("XDG_DATA_HOME", dir.join("data"))
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdin(Stdio::piped());
        let log: PathBuf = dir.join("logs/keyring.log");
        let mut child = spawn_logged(cmd, &log, false);
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"throwaway").unwrap();
        drop(stdin);
        let keyring = Guard::new("gnome-keyring-daemon", child, log);
        let bus = Bus { address, _keyring: Some(keyring), _dbus: Some(dbus) };
        // Until the daemon owns the name, any call would auto-start a second, locked one.
        wait_for(Duration::from_secs(10), || bus.name_has_owner().then_some(()))
            .expect("gnome-keyring did not claim org.freedesktop.secrets");
        bus
    }

    /// A bus with nothing on it, at `run/<name>` (the env's stand-in for the system bus).
    pub fn plain(dir: &Path, name: &str) -> Bus {
        let socket = dir.join("run").join(name);
        let address = format!("unix:path={}", socket.display());
        let mut cmd = Command::new("dbus-daemon");
        cmd.args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .arg(format!("--address={address}"));
        let log = dir.join(format!("logs/{name}.log"));
        let dbus = Guard::new("dbus-daemon", spawn_logged(cmd, &log, false), log);
        wait_for(Duration::from_secs(10), || socket.exists().then_some(()))
            .expect("dbus-daemon did not start");
        Bus { address, _keyring: None, _dbus: Some(dbus) }
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    fn name_has_owner(&self) -> bool {
        let out = Command::new("dbus-send")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .args([
                "--session",
                "--dest=org.freedesktop.DBus",
                "--print-reply",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("boolean true")
    }

    /// Locks the login collection; with no display, unlocking it again fails at once.
    pub fn lock_login_collection(&self, env: &Env) {
        let out = env
            .command("dbus-send")
            .args([
                "--session",
                "--dest=org.freedesktop.secrets",
                "--print-reply",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.Lock",
                "array:objpath:/org/freedesktop/secrets/collection/login",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "locking the keyring failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
