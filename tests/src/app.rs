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
use crate::{root, Env};

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
    pub fn start(logs: &Path) -> Display {
        // A display number nobody uses: its lock file and socket are absent.
        let n = (100..400)
            .map(|i| i + (std::process::id() % 100) * 3)
            .find(|n| {
                !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                    && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            })
            .expect("a free X display number");
        let name = format!(":{n}");
        let mut cmd = Command::new("Xvfb");
        cmd.args([name.as_str(), "-screen", "0", "1280x900x24", "-nolisten", "tcp"]);
        let xvfb = Guard::new(
            "Xvfb",
            spawn_logged(cmd, &logs.join("xvfb.log"), false),
            logs.join("xvfb.log"),
        );
        let socket = format!("/tmp/.X11-unix/X{n}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !Path::new(&socket).exists() {
            assert!(Instant::now() < deadline, "Xvfb did not start:\n{}", xvfb.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        Display { name, _xvfb: xvfb }
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
        let (port, native_port) = (free_port(), free_port());
        let mut cmd = env.command(tauri_driver());
        cmd.args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .env("DISPLAY", &display.name)
            .env("GDK_BACKEND", "x11")
            // No accessibility bus in the private session: skip it instead of warning.
            // (Not WEBKIT_DISABLE_COMPOSITING_MODE: with it WebKitWebDriver's screenshots hang.)
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
        let found = self.session.wait_until(limit, || {
            self.session.window_handles().into_iter().find(|h| {
                self.session.switch_to(h).is_ok()
                    && self
                        .session
                        .execute("return location.pathname")
                        .as_str()
                        .is_some_and(|p| p.ends_with(page))
            })
        });
        found.unwrap_or_else(|| panic!("no window showing {page} within {limit:?}"));
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
