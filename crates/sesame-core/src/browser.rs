//! Opening the user's browser for a sign-in: the CLI and the app do it the same way.
//!
//! The authorization URL carries the sign-in's `state`, PKCE challenge, nonce and loopback
//! port. As the argument of `$BROWSER` or `xdg-open` it would be in `/proc/<pid>/cmdline`,
//! which every user of the machine can read. So the broker writes a page that redirects to
//! the URL ([`SigninPage`]), 0600 in its 0700 runtime directory (the socket's), and the
//! browser is given that file. The page is named after a hash of the URL, so a front end
//! that has the URL finds the page without being told (no protocol change), and the broker
//! deletes it when the sign-in ends. Where there is no such page (no private runtime
//! directory, the page could not be written), the browser gets the URL itself.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::paths::Paths;

/// Why the sign-in page did not open; each says what to do instead.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error("cannot run `{program}` to open the sign-in page ({cause}); set $BROWSER to your browser, or open the address by hand")]
    Spawn { program: String, cause: std::io::Error },
    #[error("`{program}` could not open the sign-in page ({said}); set $BROWSER to your browser, or open the address by hand")]
    Failed { program: String, said: String },
}

/// How long the opener has to fail before it counts as having opened the page. `xdg-open`
/// without a browser fails at once ("no method available"); an opener that hands the page to
/// a running browser exits 0 within moments; one that runs the browser in the foreground
/// (xdg-open's generic mode, `$BROWSER=firefox`) does not return, and that is success.
const OPENER_VERDICT: std::time::Duration = std::time::Duration::from_secs(2);

/// The most of the opener's stderr kept for its error message.
const SAID_MAX: usize = 300;

/// `$BROWSER <page>` when set (one argument, never through a shell), else the desktop's
/// opener, where `<page>` is the sign-in's private page as a `file://` URL when the broker
/// wrote one, else `url`. Blocks up to [`OPENER_VERDICT`] for the opener's exit status: a
/// failure is an error with the last line it wrote on stderr. The opener is always waited
/// for (on a thread of its own if it outlives the verdict), so none is left a zombie. Its
/// stderr goes to an anonymous in-memory file, not a pipe: a browser that outlives us (the
/// CLI exits after the sign-in) never writes into a closed pipe.
pub fn open(url: &str) -> Result<(), BrowserError> {
    let target = runtime_dir()
        .and_then(|dir| find_page(&dir, url))
        .and_then(|page| url::Url::from_file_path(page).ok())
        .map_or_else(|| url.to_owned(), String::from);
    let program = std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| "xdg-open".into());
    let log = anonymous_file();
    let stderr =
        log.as_ref().and_then(|f| f.try_clone().ok()).map_or_else(Stdio::null, Stdio::from);
    let mut child = match Command::new(&program)
        .arg(&target)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
    {
        Ok(child) => child,
        Err(cause) => return Err(BrowserError::Spawn { program, cause }),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let reaper = std::thread::Builder::new().name("browser-opener".into()).spawn(move || {
        // Sent to nobody once the verdict passed; the wait itself is what reaps the child.
        let _ = tx.send(child.wait());
    });
    if let Err(e) = reaper {
        tracing::warn!(error = %e, "cannot start the thread that waits for the browser opener");
        return Ok(());
    }
    match rx.recv_timeout(OPENER_VERDICT) {
        Ok(Ok(status)) if !status.success() => {
            let said = log
                .and_then(|mut f| last_line(&mut f))
                .map(|line| line.replace(&target, "the page"));
            Err(BrowserError::Failed { program, said: said.unwrap_or_else(|| status.to_string()) })
        }
        // Exited 0, or still running (the browser itself, in the foreground), or its status
        // could not be read: the page is taken to be open.
        _ => Ok(()),
    }
}

/// A file in memory (memfd), closed on exec; `None` where the kernel has none.
fn anonymous_file() -> Option<std::fs::File> {
    use std::os::fd::FromRawFd;
    // SAFETY: the name is a NUL-terminated literal; the returned descriptor, when valid, is
    // new and owned by nobody else, so the File may own it.
    let fd = unsafe { libc::memfd_create(c"sesame-opener-stderr".as_ptr(), libc::MFD_CLOEXEC) };
    (fd >= 0).then(|| unsafe { std::fs::File::from_raw_fd(fd) })
}

/// The last non-empty line in the file's last 4 KiB, cut to [`SAID_MAX`] bytes.
fn last_line(file: &mut std::fs::File) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let len = file.seek(SeekFrom::End(0)).ok()?;
    file.seek(SeekFrom::Start(len.saturating_sub(4096))).ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let line = text.lines().map(str::trim).rfind(|l| !l.is_empty())?;
    let mut end = line.len().min(SAID_MAX);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    Some(line[..end].to_owned())
}

/// A sign-in's redirect page on disk; removed when dropped (the sign-in ended).
#[derive(Debug)]
pub struct SigninPage {
    path: PathBuf,
}

impl SigninPage {
    /// Writes the page for `url` in the broker's runtime directory. `None` (and the browser
    /// gets the URL) when that directory is missing or not private to this user.
    pub fn write(url: &str) -> Option<SigninPage> {
        let dir = runtime_dir()?;
        match SigninPage::write_in(&dir, url) {
            Ok(page) => Some(page),
            Err(e) => {
                tracing::info!(dir = %dir.display(), error = %e, "cannot write the sign-in page; the browser gets the URL itself");
                None
            }
        }
    }

    fn write_in(dir: &Path, url: &str) -> std::io::Result<SigninPage> {
        if !is_private(dir, true) {
            return Err(std::io::Error::other("the directory is not this user's alone (0700)"));
        }
        let path = page_path(dir, url);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)?;
        let page = SigninPage { path };
        file.write_all(page_html(url).as_bytes())?;
        Ok(page)
    }
}

impl Drop for SigninPage {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            tracing::debug!(path = %self.path.display(), error = %e, "cannot remove the sign-in page");
        }
    }
}

/// Where the broker keeps its socket: the same place for the daemon, the app and the CLI
/// (all read it from the environment).
fn runtime_dir() -> Option<PathBuf> {
    Paths::from_env().ok()?.socket.parent().map(Path::to_owned)
}

/// The page for `url` if the broker wrote one: a regular file of this user's, 0600.
fn find_page(dir: &Path, url: &str) -> Option<PathBuf> {
    let path = page_path(dir, url);
    (is_private(dir, true) && is_private(&path, false)).then_some(path)
}

/// Not a symlink, owned by this user, no access for group or others.
fn is_private(path: &Path, dir: bool) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return false };
    let kind = if dir { meta.is_dir() } else { meta.is_file() };
    // SAFETY: geteuid cannot fail and touches no memory of ours.
    kind && meta.uid() == unsafe { libc::geteuid() } && meta.mode() & 0o077 == 0
}

fn page_path(dir: &Path, url: &str) -> PathBuf {
    let digest = Sha256::digest(url.as_bytes());
    let name: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    dir.join(format!("signin-{name}.html"))
}

/// A meta refresh and a link: no script, so it works wherever the browser reads files.
fn page_html(url: &str) -> String {
    let url = attr_escape(url);
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<meta name=\"referrer\" content=\"no-referrer\">\n<meta http-equiv=\"refresh\" content=\"0; url={url}\">\n<title>Sesame — sign-in</title></head>\n<body><p>Continuing to the sign-in page… If nothing happens, <a href=\"{url}\">open it</a>.</p></body></html>\n"
    )
}

fn attr_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn private_dir(name: &str) -> PathBuf {
        use std::os::unix::fs::DirBuilderExt;
        let dir = std::env::temp_dir().join(format!("sesame-page-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
        dir
    }

    const URL: &str = "https://idp.example/auth?client_id=c&state=S1&redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Fcallback";

    #[test]
    fn the_page_is_private_found_by_its_url_and_gone_when_dropped() {
        let dir = private_dir("roundtrip");
        let page = SigninPage::write_in(&dir, URL).unwrap();
        let meta = std::fs::metadata(&page.path).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600);
        assert_eq!(find_page(&dir, URL), Some(page.path.clone()));
        // The name gives nothing away; another URL has another page.
        let name = page.path.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(!name.contains("S1") && name.starts_with("signin-"), "{name}");
        assert_eq!(find_page(&dir, "https://idp.example/other"), None);
        let html = std::fs::read_to_string(&page.path).unwrap();
        assert!(html.contains("content=\"0; url=https://idp.example/auth?client_id=c&amp;state=S1&amp;redirect_uri="), "{html}");
        assert!(
            html.contains("<a href=\"https://idp.example/auth?client_id=c&amp;state=S1"),
            "{html}"
        );
        let path = page.path.clone();
        drop(page);
        assert!(!path.exists());
        assert_eq!(find_page(&dir, URL), None, "no page: the browser gets the URL");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn no_page_in_a_shared_directory_and_none_trusted_there() {
        use std::os::unix::fs::PermissionsExt;
        let dir = private_dir("shared");
        let page = SigninPage::write_in(&dir, URL).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(SigninPage::write_in(&dir, "https://idp.example/x").is_err());
        assert_eq!(find_page(&dir, URL), None);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        // A page others may read is not used either.
        std::fs::set_permissions(&page.path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(find_page(&dir, URL), None);
        drop(page);
        // Nor a symlink planted under the page's name.
        std::os::unix::fs::symlink("/etc/hostname", page_path(&dir, URL)).unwrap();
        assert_eq!(find_page(&dir, URL), None);
        assert!(SigninPage::write_in(&dir, URL).is_err(), "never written through a symlink");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_opener_that_fails_is_an_error_with_what_it_said() {
        let mut file = anonymous_file().unwrap();
        file.write_all(
            b"xdg-open: starting\n\nxdg-open: no method available for opening 'x'\n  \n",
        )
        .unwrap();
        assert_eq!(
            last_line(&mut file).as_deref(),
            Some("xdg-open: no method available for opening 'x'")
        );
        let mut long = anonymous_file().unwrap();
        long.write_all("é".repeat(400).as_bytes()).unwrap();
        assert!(last_line(&mut long).unwrap().len() <= SAID_MAX);
        assert_eq!(last_line(&mut anonymous_file().unwrap()), None);
    }

    #[test]
    fn attributes_are_escaped() {
        assert_eq!(attr_escape("a&b\"c'<>"), "a&amp;b&quot;c&#39;&lt;&gt;");
    }
}
