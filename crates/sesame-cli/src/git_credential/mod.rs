//! `sesame git-credential get|store|erase` (also run as `git-credential-sesame`, a link to
//! `sesame`): a git credential helper over the broker's `git.credential` and `git.erase`,
//! and `configure` / `unconfigure`, which set and undo the user's git config.

mod configure;
mod wire;

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use sesame_core::Paths;
use sesame_ipc::git::{GitCredentialParams, GitEraseParams};
use sesame_ipc::methods::{GitCredential, GitErase};
use sesame_ipc::Client;

use wire::Request;

/// The name git runs for `credential.helper sesame` (`git credential-sesame`).
pub const HELPER_BINARY: &str = "git-credential-sesame";

#[derive(Subcommand)]
pub enum GitAction {
    /// Git asks for a credential (the protocol on stdin): prints username, password (an
    /// access token) and password_expiry_utc; nothing for a host Sesame does not serve.
    Get,
    /// Git stores a credential that worked: nothing to do (Sesame keeps its own tokens).
    Store,
    /// The host rejected the token: drop it from the cache so the next `get` refreshes.
    Erase,
    /// Make git use Sesame (`git config --global`), for every host or for one.
    Configure {
        /// Only for this host (`github.com`, `git.example.com:8443`); also sends the
        /// repository path, so the consent question can show it.
        #[arg(long, value_name = "HOST")]
        host: Option<String>,
    },
    /// Undo `configure` (the same `--host`).
    Unconfigure {
        #[arg(long, value_name = "HOST")]
        host: Option<String>,
    },
}

pub async fn run(socket: Option<PathBuf>, action: GitAction) -> anyhow::Result<()> {
    let input = match action {
        GitAction::Configure { host } => return configure::configure(host.as_deref()),
        GitAction::Unconfigure { host } => return configure::unconfigure(host.as_deref()),
        _ => read_request()?,
    };
    let request = Request::parse(&input).context("git sent a request Sesame cannot read")?;
    let Some(host) = served_host(&request) else { return Ok(()) };
    let connect = || async {
        let socket = match socket {
            Some(s) => s,
            None => Paths::from_env()?.socket,
        };
        anyhow::Ok(Client::connect(&socket).await?)
    };
    match action {
        GitAction::Get => {
            let params = GitCredentialParams {
                host,
                username: request.username.clone(),
                repository: request.repository(),
            };
            let result = connect().await?.request::<GitCredential>(&params).await?;
            let Some(credential) = result.credential else { return Ok(()) };
            let token = &credential.token;
            let text =
                wire::answer(&credential.username, token.access_token.expose(), token.expires_at)?;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .context("cannot answer git")?;
        }
        GitAction::Erase => {
            let params = GitEraseParams { host, username: request.username.clone() };
            connect().await?.request::<GitErase>(&params).await?;
        }
        _ => {}
    }
    Ok(())
}

/// git's request from stdin (bounded: a request is a few short lines).
fn read_request() -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_end(&mut bytes)
        .context("cannot read git's request")?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The host to ask the broker about, or `None` to answer nothing (git tries its next
/// helper): a token goes out over https, or over plain http to this machine only.
fn served_host(request: &Request) -> Option<String> {
    let host = request.host()?;
    match request.protocol().as_deref() {
        Some("https") => Some(host),
        Some("http") if is_loopback(&host) => Some(host),
        Some(other) => {
            eprintln!("sesame: not answering for {other}://{host}: a token goes out over https only (plain http to this machine only)");
            None
        }
        None => None,
    }
}

pub(crate) fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_go_over_https_or_to_this_machine_only() {
        let ask = |text: &str| served_host(&Request::parse(text).unwrap());
        assert_eq!(ask("protocol=https\nhost=github.com\n").as_deref(), Some("github.com"));
        assert_eq!(ask("protocol=http\nhost=127.0.0.1:8123\n").as_deref(), Some("127.0.0.1:8123"));
        assert_eq!(ask("protocol=http\nhost=[::1]:80\n").as_deref(), Some("[::1]:80"));
        assert_eq!(ask("protocol=http\nhost=github.com\n"), None);
        assert_eq!(ask("protocol=http\nhost=127.0.0.1.example.com\n"), None);
        assert_eq!(ask("protocol=ssh\nhost=github.com\n"), None);
        assert_eq!(ask("host=github.com\n"), None);
    }
}
