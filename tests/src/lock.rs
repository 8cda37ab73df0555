//! The screen lock, as the desktop tells it: a program on the test's private session bus
//! that owns a screensaver's name and emits `ActiveChanged` (what GNOME's and the
//! freedesktop screensaver do when the screen locks), and, on a private "system" bus, one
//! that owns logind's name and emits `PrepareForSleep`. Also the forger: a connection that
//! owns nothing and sends the same signals, to show the broker ignores them.

use std::time::Duration;

use crate::{wait_for, Env};

/// One connection to a bus of the env, with its own runtime (zbus runs on tokio).
pub struct BusPeer {
    rt: tokio::runtime::Runtime,
    conn: zbus::Connection,
}

impl BusPeer {
    fn connect(address: &str, names: &[&str]) -> BusPeer {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let conn = rt.block_on(async {
            let mut builder = zbus::connection::Builder::address(address);
            for name in names {
                builder = builder.name(name.to_string());
            }
            builder.build().await
        });
        let conn = conn.unwrap_or_else(|e| panic!("connect to {address} as {names:?}: {e}"));
        BusPeer { rt, conn }
    }

    /// Emits `interface.member(body)` from `path`, to everyone (`to: None`) or to one
    /// connection.
    pub fn emit(&self, to: Option<&str>, path: &str, interface: &str, member: &str, body: bool) {
        self.rt
            .block_on(self.conn.emit_signal(to, path, interface, member, &(body,)))
            .unwrap_or_else(|e| panic!("emit {interface}.{member}: {e}"));
    }

    /// A screensaver's `ActiveChanged(active)`, as it emits it (the name is the interface).
    pub fn active_changed(&self, screensaver: &str, to: Option<&str>, active: bool) {
        let path = format!("/{}", screensaver.replace('.', "/"));
        self.emit(to, &path, screensaver, "ActiveChanged", active);
    }

    /// logind's `PrepareForSleep(start)`.
    pub fn prepare_for_sleep(&self, start: bool) {
        let (path, iface) = ("/org/freedesktop/login1", "org.freedesktop.login1.Manager");
        self.emit(None, path, iface, "PrepareForSleep", start);
    }

    /// The unique names of the connections process `pid` holds on this bus.
    pub fn connections_of(&self, pid: u32) -> Vec<String> {
        self.rt.block_on(async {
            let call = |method: &'static str, name: Option<String>| {
                let conn = self.conn.clone();
                async move {
                    let (dest, path) = ("org.freedesktop.DBus", "/org/freedesktop/DBus");
                    match name {
                        None => conn.call_method(Some(dest), path, Some(dest), method, &()).await,
                        Some(n) => {
                            conn.call_method(Some(dest), path, Some(dest), method, &(n,)).await
                        }
                    }
                }
            };
            let names: Vec<String> =
                call("ListNames", None).await.unwrap().body().deserialize().unwrap();
            let mut of_pid = vec![];
            for n in names.into_iter().filter(|n| n.starts_with(':')) {
                let Ok(reply) = call("GetConnectionUnixProcessID", Some(n.clone())).await else {
                    continue;
                };
                if reply.body().deserialize::<u32>().ok() == Some(pid) {
                    of_pid.push(n);
                }
            }
            of_pid
        })
    }
}

impl Env {
    /// A program on the session bus that owns `names` (none: a forger).
    pub fn session_peer(&self, names: &[&str]) -> BusPeer {
        BusPeer::connect(self.bus.address(), names)
    }

    /// A program on the private system bus (`Options::system_bus`) that owns `names`.
    pub fn system_peer(&self, names: &[&str]) -> BusPeer {
        let bus = self.system_bus.as_ref().expect("start the env with `system_bus: true`");
        BusPeer::connect(bus.address(), names)
    }

    /// Waits (20 s) until the daemon's log has `line`.
    pub fn wait_daemon_log(&self, line: &str) {
        wait_for(Duration::from_secs(20), || self.daemon_log().contains(line).then_some(()))
            .unwrap_or_else(|| panic!("the daemon never logged {line:?}:\n{}", self.daemon_log()));
    }
}
