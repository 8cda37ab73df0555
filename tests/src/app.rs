//! The desktop app under test: a private X server (Xvfb), `tauri-driver` in front of
//! WebKitWebDriver, and `sesame-app` started by the driver with the [`Env`]'s private
//! environment (dirs, D-Bus with the keyring, config, `$BROWSER`). The app hosts the broker
//! itself, so the Env is started without a daemon.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::process::{spawn_logged, Guard};
use crate::webdriver::{Session, WebDriver};
use crate::{root, ClientProc, Env};

/// How long the app's windows and requests get to appear.
const LONG_WAIT: Duration = Duration::from_secs(30);

/// The app binary: `$SESAME_APP_BIN`, else `target/debug/sesame-app` (scripts/test.sh builds
/// it with the test identifier and the UI embedded).
pub fn app_bin() -> PathBuf {
    let bin = std::env::var_os("SESAME_APP_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/debug/sesame-app"));
    assert!(
        bin.exists(),
        "{} is missing; build it with scripts/test.sh (or see README, Development)",
        bin.display()
    );
    bin
}

/// `$TAURI_DRIVER`, else `tauri-driver` on PATH, else `~/.cargo/bin/tauri-driver`.
fn tauri_driver() -> PathBuf {
    if let Some(p) = std::env::var_os("TAURI_DRIVER") {
        return p.into();
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("tauri-driver"))
        .find(|p| p.exists());
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let fallback = home.map(|h| h.join("bin/tauri-driver"));
    let found = on_path.or(fallback).filter(|p| p.exists());
    found.expect("tauri-driver is not installed; `cargo install tauri-driver --locked` (scripts/test.sh does)")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A private X display for the app's windows.
pub struct Display {
    pub name: String,
    _xvfb: Guard,
}

impl Display {
    /// Starts Xvfb on a display number it picks itself (`-displayfd`), once it accepts
    /// connections. The server claims the number with its lock file, so no two servers get
    /// the same one, however many start at once (tests running side by side used to pick
    /// the same free-looking number: the second server died, its test went on against the
    /// first one's display, and lost it when that test ended).
    pub fn start(logs: &Path) -> Display {
        let mut cmd = Command::new("Xvfb");
        // `-displayfd 1`: the number comes on its stdout, which is piped to us.
        cmd.args(["-displayfd", "1", "-screen", "0", "1280x900x24", "-nolisten", "tcp"]);
        let log = logs.join("xvfb.log");
        let mut child = spawn_logged(cmd, &log, true);
        let stdout = child.stdout.take().expect("Xvfb's stdout is piped");
        let xvfb = Guard::new("Xvfb", child, log);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut out = std::io::BufReader::new(stdout);
            let mut line = String::new();
            let _ = std::io::BufRead::read_line(&mut out, &mut line);
            let _ = tx.send(line);
            // Read on to the end, so the server never writes into a closed pipe.
            let _ = std::io::copy(&mut out, &mut std::io::sink());
        });
        let number = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
        let number: u32 = number
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("Xvfb did not start: {number:?}\n{}", xvfb.log()));
        Display { name: format!(":{number}"), _xvfb: xvfb }
    }
}

/// The app running under WebDriver. Dropping it ends the session (the app quits) and the
/// driver.
pub struct App {
    pub session: Session,
    pub screenshots: PathBuf,
    display: String,
    _driver: Guard,
}

impl App {
    /// Starts `sesame-app args…` on `display` with `env`'s environment.
    pub fn start(env: &Env, display: &Display, args: &[&str]) -> App {
        App::start_with(env, display, args, &[])
    }

    /// [`App::start`] with `vars` set on top of `env`'s environment (e.g. another `$BROWSER`).
    pub fn start_with(env: &Env, display: &Display, args: &[&str], vars: &[(&str, &str)]) -> App {
        let (port, native_port) = (free_port(), free_port());
        let mut cmd = env.command(tauri_driver());
        cmd.envs(vars.iter().copied());
        cmd.args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .env("DISPLAY", &display.name)
            .env("GDK_BACKEND", "x11")
            // No accessibility bus in the private session: skip it instead of warning.
            // (The app turns WebKit's compositing off itself; screenshots come from the X
            // server through `import`, which does not hang with it as WebKitWebDriver's did.)
            .env("NO_AT_BRIDGE", "1");
        let log = env.dir.join("logs/app.log");
        let driver = Guard::new("tauri-driver + app", spawn_logged(cmd, &log, false), log);
        let wd = WebDriver::new(&format!("http://127.0.0.1:{port}"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while !wd.ready() {
            assert!(Instant::now() < deadline, "tauri-driver did not answer:\n{}", driver.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        let session = wd
            .session(&app_bin(), args)
            .unwrap_or_else(|e| panic!("cannot start the app: {e}\n{}", driver.log()));
        let screenshots = env.dir.join("screenshots");
        App { session, screenshots, display: display.name.clone(), _driver: driver }
    }

    /// Writes a screenshot of the current window as `<name>.png`, in the Env's dir and in
    /// `target/e2e-screenshots/` (where the README's copies come from).
    pub fn screenshot(&self, name: &str) -> PathBuf {
        std::fs::create_dir_all(&self.screenshots).unwrap();
        let path = self.screenshots.join(format!("{name}.png"));
        // The X server's picture of the window (ImageMagick's `import`): WebKitWebDriver's own
        // snapshots hang under Xvfb more often than not. A window WebKit has not painted to X
        // yet comes out blank; nudging its size makes it paint.
        for attempt in 0..20 {
            std::thread::sleep(Duration::from_millis(300));
            self.grab(&path);
            if colours(&path) > 8 {
                break;
            }
            if attempt % 4 == 3 {
                self.nudge();
            }
        }
        let keep = root().join("target/e2e-screenshots");
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::copy(&path, keep.join(format!("{name}.png"))).unwrap();
        path
    }

    fn grab(&self, path: &Path) {
        let mut cmd = Command::new("import");
        cmd.args(["-display", &self.display, "-window", "root"]);
        if let Some((x, y, w, h)) = self.session.window_rect() {
            cmd.args(["-crop", &format!("{w}x{h}+{x}+{y}"), "+repage"]);
        }
        let out = cmd.arg(path).output().expect("run ImageMagick's import (package imagemagick)");
        assert!(out.status.success(), "import failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Resizes the window by a pixel and back, which makes WebKit paint it.
    fn nudge(&self) {
        if let Some((_, _, w, h)) = self.session.window_rect() {
            self.session.set_window_size(w + 1, h);
            self.session.set_window_size(w, h);
        }
    }

    /// What the app (and tauri-driver) wrote to stderr so far, for failure messages.
    pub fn log(&self) -> String {
        self._driver.log()
    }

    /// Waits for the consent window of `client`'s request (`key` is the client's app key)
    /// and makes it current; gives the client back. First the request must be pending (if
    /// the client ends instead, or nothing is pending, the panic says what the client
    /// printed); then a window must show `consent.html` (if none does, the panic lists the
    /// windows the driver saw, the X windows and the app's log).
    pub fn switch_to_consent_of(&self, env: &Env, key: &str, mut client: ClientProc) -> ClientProc {
        let pending = crate::wait_for(LONG_WAIT, || {
            if env.try_pending()?.iter().any(|p| p["app"]["key"] == key) {
                return Some(Ok(()));
            }
            client.is_finished().then_some(Err(()))
        });
        if pending != Some(Ok(())) {
            let out = client.finish_within(Duration::from_secs(5));
            panic!(
                "no pending request of {key} (the client {}): {out:?}\npending: {:?}\n{}",
                if pending.is_some() { "ended first" } else { "is still running" },
                env.try_pending(),
                self.log()
            );
        }
        if let Err(seen) = self.try_switch_to_page("consent.html", LONG_WAIT) {
            panic!(
                "a request is pending, but no window showing consent.html within {LONG_WAIT:?}; the driver's windows: {seen:?}; X windows: {:?}\n{}",
                self.window_titles(),
                self.log()
            );
        }
        client
    }

    /// The titles of the display's top-level windows.
    pub fn window_titles(&self) -> Vec<String> {
        use x11rb::protocol::xproto::{AtomEnum, ConnectionExt};
        let (conn, root) = self.x_connection();
        let Some(tree) = conn.query_tree(root).ok().and_then(|c| c.reply().ok()) else {
            return vec![];
        };
        tree.children
            .into_iter()
            .filter_map(|w| {
                let p = conn.get_property(false, w, AtomEnum::WM_NAME, AtomEnum::ANY, 0, 256);
                let title = p.ok()?.reply().ok()?.value;
                (!title.is_empty()).then(|| String::from_utf8_lossy(&title).into_owned())
            })
            .collect()
    }

    /// Whether the top-level window titled `title` asks for the user's attention (the
    /// urgency flag of its `WM_HINTS`, which window managers show); `None` without one.
    pub fn wants_attention(&self, title: &str) -> Option<bool> {
        use x11rb::protocol::xproto::{AtomEnum, ConnectionExt};
        const URGENCY: u32 = 1 << 8;
        let (conn, root) = self.x_connection();
        let window = top_level(&conn, root, title)?;
        let hints = conn
            .get_property(false, window, AtomEnum::WM_HINTS, AtomEnum::WM_HINTS, 0, 9)
            .ok()?
            .reply()
            .ok()?;
        let flags = hints.value32().and_then(|mut v| v.next()).unwrap_or(0);
        Some(flags & URGENCY != 0)
    }

    /// Whether the X input focus (where key presses go) is on the window titled `title`.
    pub fn has_input_focus(&self, title: &str) -> bool {
        use x11rb::protocol::xproto::ConnectionExt;
        let (conn, root) = self.x_connection();
        let focus = conn.get_input_focus().ok().and_then(|c| c.reply().ok()).map(|r| r.focus);
        top_level(&conn, root, title).is_some_and(|w| focus == Some(w))
    }

    /// Whether the display has a top-level window titled `title` (a destroyed window is
    /// gone; a hidden one would still be listed).
    pub fn has_window(&self, title: &str) -> bool {
        let (conn, root) = self.x_connection();
        top_level(&conn, root, title).is_some()
    }

    /// Asks the top-level window titled `title` to close the way a window manager's close
    /// button does (a `WM_DELETE_WINDOW` message), so the app sees the user closing it.
    /// (WebDriver's own "close window" only ends the page and leaves the window behind.)
    pub fn close_like_the_user(&self, title: &str) {
        use x11rb::connection::Connection;
        use x11rb::protocol::xproto::{ClientMessageEvent, ConnectionExt, EventMask};
        let (conn, root) = self.x_connection();
        let window = top_level(&conn, root, title)
            .unwrap_or_else(|| panic!("no window titled {title:?} on {}", self.display));
        let atom = |name: &[u8]| conn.intern_atom(false, name).unwrap().reply().unwrap().atom;
        let event = ClientMessageEvent::new(
            32,
            window,
            atom(b"WM_PROTOCOLS"),
            [atom(b"WM_DELETE_WINDOW"), x11rb::CURRENT_TIME, 0, 0, 0],
        );
        conn.send_event(false, window, EventMask::NO_EVENT, event).unwrap();
        conn.flush().unwrap();
    }

    fn x_connection(&self) -> (x11rb::rust_connection::RustConnection, u32) {
        use x11rb::connection::Connection;
        let (conn, screen) =
            x11rb::connect(Some(&self.display)).expect("connect to the test display");
        let root = conn.setup().roots[screen].root;
        (conn, root)
    }

    /// Switches to the window whose page is `page` (e.g. "consent.html"), waiting for it.
    pub fn switch_to_page(&self, page: &str, limit: Duration) {
        if let Err(seen) = self.try_switch_to_page(page, limit) {
            panic!("no window showing {page} within {limit:?}; the driver's windows: {seen:?}");
        }
    }

    /// [`App::switch_to_page`], or what the driver's windows showed meanwhile.
    pub fn try_switch_to_page(&self, page: &str, limit: Duration) -> Result<(), Vec<String>> {
        let mut seen = vec![];
        let found = self.session.wait_until(limit, || {
            seen.clear();
            self.session.window_handles().into_iter().find(|h| {
                let path = match self.session.switch_to(h) {
                    Ok(()) => self.session.try_execute("return location.pathname"),
                    Err(e) => Err(e),
                };
                let shows =
                    path.as_ref().ok().and_then(|p| p.as_str()).is_some_and(|p| p.ends_with(page));
                seen.push(format!("{h}: {}", path.map(|p| p.to_string()).unwrap_or_else(|e| e)));
                shows
            })
        });
        found.map(drop).ok_or(seen)
    }
}

/// The child of `root` whose `WM_NAME` is `title`.
fn top_level(conn: &impl x11rb::connection::Connection, root: u32, title: &str) -> Option<u32> {
    use x11rb::protocol::xproto::{AtomEnum, ConnectionExt};
    let title_of = |w| {
        conn.get_property(false, w, AtomEnum::WM_NAME, AtomEnum::ANY, 0, 256)
            .ok()?
            .reply()
            .ok()
            .map(|p| p.value)
    };
    let windows = conn.query_tree(root).ok()?.reply().ok()?.children;
    windows.into_iter().find(|&w| title_of(w).as_deref() == Some(title.as_bytes()))
}

/// How many distinct colours a picture has (a blank window has one or two).
fn colours(png: &Path) -> u64 {
    let out = Command::new("identify")
        .args(["-format", "%k"])
        .arg(png)
        .output()
        .expect("run ImageMagick's identify");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0)
}
