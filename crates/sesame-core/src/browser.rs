//! Opening the user's browser for a sign-in: the CLI and the app do it the same way.

use std::process::{Command, Stdio};

#[derive(Debug, thiserror::Error)]
#[error("cannot run `{program}` to open the sign-in page ({cause}); set $BROWSER to your browser, or open the URL by hand")]
pub struct BrowserError {
    program: String,
    cause: std::io::Error,
}

/// `$BROWSER <url>` when set (the URL is one argument, never through a shell), else the
/// desktop's opener. The browser's own output is not ours to print.
pub fn open(url: &str) -> Result<(), BrowserError> {
    let program = std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| "xdg-open".into());
    match Command::new(&program).arg(url).stdin(Stdio::null()).stdout(Stdio::null()).spawn() {
        Ok(_) => Ok(()),
        Err(cause) => Err(BrowserError { program, cause }),
    }
}
