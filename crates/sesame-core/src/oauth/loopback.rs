//! The loopback redirect listener (RFC 8252 §7.3): a one-shot HTTP server on 127.0.0.1
//! that waits for the browser to come back with `?code=...&state=...`.
//!
//! The HTTP handling is deliberately tiny: one request head per connection, no bodies,
//! no keep-alive. Everything arriving here is from the local machine, but not
//! necessarily from the browser we opened, so the request is bounded in size and time.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::error::{clean_provider_text, OAuthError};
use super::issuer::response_issuer_matches;
use super::pkce::constant_time_eq;
use crate::Secret;

pub const CALLBACK_PATH: &str = "/callback";
const MAX_HEAD: usize = 16 * 1024;
/// A connection that sends nothing (a browser's speculative pre-connect, a port scanner)
/// is dropped after this; others are served meanwhile.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_PENDING: usize = 32;

pub struct LoopbackListener {
    // A std listener, so `bind` needs no runtime; it becomes a tokio one when awaited.
    listener: std::net::TcpListener,
    addr: SocketAddr,
}

/// What the callback must carry to be accepted.
#[derive(Clone)]
pub struct CallbackExpectations {
    pub state: String,
    /// The issuer exactly as in the provider's metadata (RFC 9207 `iss`).
    pub issuer: String,
    /// The provider advertised `authorization_response_iss_parameter_supported`.
    pub iss_required: bool,
}

impl std::fmt::Debug for CallbackExpectations {
    // `state` is this sign-in's CSRF secret; keep it out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackExpectations")
            .field("state", &"<redacted>")
            .field("issuer", &self.issuer)
            .field("iss_required", &self.iss_required)
            .finish()
    }
}

#[derive(Debug)]
pub struct Callback {
    pub code: Secret,
}

/// The browser's connection, held open until the caller knows how the sign-in ended.
pub struct Responder {
    stream: TcpStream,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Responder")
    }
}

impl LoopbackListener {
    /// Binds 127.0.0.1 on a free port. Never 0.0.0.0 (other machines could deliver a
    /// code) and never `localhost` (it may resolve to ::1 or elsewhere).
    pub fn bind() -> io::Result<LoopbackListener> {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        Ok(LoopbackListener { listener, addr })
    }

    #[cfg(test)]
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.addr.port())
    }

    /// Serves until the first request to `/callback` (other paths get 404), the deadline,
    /// or cancellation. The listening socket is closed when this returns. On a bad
    /// callback the browser has already been shown the error page.
    pub async fn wait_for_callback(
        self,
        expect: CallbackExpectations,
        deadline: Duration,
        cancel: CancellationToken,
    ) -> Result<(Callback, Responder), OAuthError> {
        let listener = TcpListener::from_std(self.listener)
            .map_err(|e| OAuthError::Local(format!("cannot use the redirect listener: {e}")))?;
        let timeout = tokio::time::sleep(deadline);
        tokio::pin!(timeout);
        let mut pending = FuturesUnordered::new();
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(OAuthError::Cancelled),
                _ = &mut timeout => return Err(OAuthError::Timeout),
                Some((stream, head)) = pending.next(), if !pending.is_empty() => {
                    if let Some(result) = handle(stream, head, &expect).await {
                        return result;
                    }
                }
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) if pending.len() < MAX_PENDING => pending.push(read_head(stream)),
                    Ok(_) => tracing::debug!("too many open connections to the redirect listener; dropping one"),
                    Err(e) => {
                        // E.g. out of file descriptors: pause instead of spinning.
                        tracing::debug!(error = %e, "accept on the redirect listener failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
    }
}

impl Responder {
    /// Answers the browser: `Ok(text)` → 200 "Signed in", `Err(text)` → 400 with the
    /// reason. Best effort: the browser may be gone, and the sign-in outcome stands.
    pub async fn finish(self, outcome: Result<&str, &str>) {
        let (status, title, text) = match outcome {
            Ok(text) => ("200 OK", "Signed in — you can close this tab.", text),
            Err(text) => ("400 Bad Request", "Sign-in failed", text),
        };
        respond(self.stream, status, title, text).await;
    }
}

struct RequestHead {
    method: String,
    target: String,
}

async fn read_head(mut stream: TcpStream) -> (TcpStream, Result<RequestHead, &'static str>) {
    let head = tokio::time::timeout(READ_TIMEOUT, read_head_inner(&mut stream))
        .await
        .unwrap_or(Err("timed out"));
    (stream, head)
}

async fn read_head_inner(stream: &mut TcpStream) -> Result<RequestHead, &'static str> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 2048];
    let end = loop {
        let n = stream.read(&mut chunk).await.map_err(|_| "read failed")?;
        if n == 0 {
            return Err("closed before the request was complete");
        }
        let scan_from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf[scan_from..].windows(4).position(|w| w == b"\r\n\r\n") {
            break scan_from + pos;
        }
        if buf.len() > MAX_HEAD {
            return Err("request head too large");
        }
    };
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| "request head is not UTF-8")?;
    let mut parts = head.lines().next().unwrap_or_default().split(' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(target), Some(version), None)
            if version.starts_with("HTTP/1.") && target.starts_with('/') =>
        {
            Ok(RequestHead { method: method.to_owned(), target: target.to_owned() })
        }
        _ => Err("malformed request line"),
    }
}

/// `None`: not the callback, keep waiting. `Some`: the sign-in's redirect, decided.
async fn handle(
    stream: TcpStream,
    head: Result<RequestHead, &'static str>,
    expect: &CallbackExpectations,
) -> Option<Result<(Callback, Responder), OAuthError>> {
    let head = match head {
        Ok(head) => head,
        Err(why) => {
            tracing::debug!(why, "ignoring a bad request to the redirect listener");
            if why != "timed out" {
                respond(
                    stream,
                    "400 Bad Request",
                    "Bad request",
                    "This address only accepts the sign-in redirect.",
                )
                .await;
            }
            return None;
        }
    };
    let Ok(url) = Url::parse(&format!("http://127.0.0.1{}", head.target)) else {
        respond(
            stream,
            "400 Bad Request",
            "Bad request",
            "This address only accepts the sign-in redirect.",
        )
        .await;
        return None;
    };
    if url.path() != CALLBACK_PATH {
        respond(
            stream,
            "404 Not Found",
            "Not found",
            "This address only accepts the sign-in redirect.",
        )
        .await;
        return None;
    }
    if head.method != "GET" {
        respond(
            stream,
            "405 Method Not Allowed",
            "Method not allowed",
            "The sign-in redirect must be a GET request.",
        )
        .await;
        return None;
    }
    match check_callback(&url, expect) {
        Ok(callback) => Some(Ok((callback, Responder { stream }))),
        Err(e) => {
            respond(stream, "400 Bad Request", "Sign-in failed", &e.to_string()).await;
            Some(Err(e))
        }
    }
}

fn check_callback(url: &Url, expect: &CallbackExpectations) -> Result<Callback, OAuthError> {
    let mut params = std::collections::HashMap::new();
    for (k, v) in url.query_pairs() {
        // RFC 6749 §3.1: parameters must not repeat; a repeat smells of injection.
        if params.insert(k.clone().into_owned(), v.into_owned()).is_some() {
            return Err(OAuthError::BadResponse(format!(
                "the sign-in redirect repeats the `{}` parameter; start the sign-in again",
                clean_provider_text(&k)
            )));
        }
    }
    let error = params.get("error");
    // An error redirect may lack `state` (some providers drop it); if it is there it must
    // match, so a forged error page cannot pose as the provider's answer.
    match params.get("state") {
        Some(state) if constant_time_eq(state.as_bytes(), expect.state.as_bytes()) => {}
        None if error.is_some() => {}
        _ => return Err(OAuthError::StateMismatch),
    }
    match params.get("iss") {
        // Entra's multi-tenant issuer is a `{tenantid}` template (issuer.rs).
        Some(iss) if !response_issuer_matches(&expect.issuer, iss) => {
            return Err(OAuthError::IssuerMismatch {
                expected: expect.issuer.clone(),
                got: clean_provider_text(iss),
            })
        }
        None if expect.iss_required => return Err(OAuthError::MissingIssuer),
        _ => {}
    }
    if let Some(error) = error {
        return Err(OAuthError::from_oauth_error(
            error,
            params.get("error_description").map(String::as_str),
        ));
    }
    match params.remove("code") {
        Some(code) if !code.is_empty() => Ok(Callback { code: Secret::new(code) }),
        _ => Err(OAuthError::BadResponse(
            "the sign-in redirect has no `code` parameter; start the sign-in again".into(),
        )),
    }
}

async fn respond(mut stream: TcpStream, status: &str, title: &str, text: &str) {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sesame — {t}</title></head>\n<body><h1>{t}</h1>\n<p>{x}</p></body></html>\n",
        t = html_escape(title),
        x = html_escape(text),
    );
    // no-store: the page may name the account; no-referrer: the URL held the code.
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\nContent-Security-Policy: default-src 'none'\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n\r\n{body}",
        body.len()
    );
    let write = async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    };
    if let Err(e) = tokio::time::timeout(WRITE_TIMEOUT, write)
        .await
        .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
    {
        tracing::debug!(error = %e, "could not answer the browser");
    }
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[path = "loopback_tests.rs"]
mod tests;
