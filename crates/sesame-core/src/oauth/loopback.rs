//! The loopback redirect listener (RFC 8252 §7.3): a one-shot HTTP server on 127.0.0.1
//! that waits for the browser to come back with `?code=...&state=...`.
//!
//! The HTTP handling is deliberately tiny: one request head per connection, no bodies,
//! no keep-alive. Everything arriving here is from the local machine, but not
//! necessarily from the browser we opened: every user of the machine can connect to
//! 127.0.0.1 and find the port in `/proc/net/tcp`. So a connection from another user's
//! socket is refused before its request is read (`owner`), only a request with this
//! sign-in's `state` ends the wait, and each request is bounded in size and time.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use std::collections::VecDeque;

use futures::future::{AbortHandle, Abortable};
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::error::{clean_provider_text, OAuthError};
use super::issuer::response_issuer_matches;
use super::pkce::constant_time_eq;
use crate::Secret;
pub use owner::port_holder;
use owner::Owner;

pub const CALLBACK_PATH: &str = "/callback";
const MAX_HEAD: usize = 16 * 1024;
/// A connection that sends nothing (a browser's speculative pre-connect, a port scanner)
/// is dropped after this; others are served meanwhile.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Another user's connection is answered sooner: its request is never looked at.
const FOREIGN_READ_TIMEOUT: Duration = Duration::from_secs(2);
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections of the broker's own user being read at once; past it, the oldest is dropped
/// (most likely a silent one), so the newest, the browser's, gets through.
const MAX_PENDING: usize = 32;
/// Other users' connections have their own, smaller pool, so they cannot fill the one the
/// user's browser needs.
const MAX_FOREIGN: usize = 8;

const ONLY_THE_REDIRECT: &str = "This address only accepts the sign-in redirect.";
const OTHER_USER: &str = "Sesame finishes a sign-in only from a browser of the user who started it, and this request came from another user's program (or from one Sesame could not identify), so it was refused. If you started this sign-in, finish it in your own browser; the sign-in is still waiting.";
const NOT_THIS_SIGN_IN: &str = "This redirect does not carry the state of the sign-in Sesame is waiting for (it may come from an old tab, or be forged), so it was ignored and the sign-in is still waiting. Finish the sign-in in the tab Sesame opened, or start it again.";

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

/// What the listener turned away while it waited; none of it ended the sign-in.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// Requests to `/callback` without this sign-in's `state` (none, a wrong one, an
    /// `error=` without one).
    pub not_this_sign_in: u32,
    /// Connections from another user's socket, or one whose owner could not be found.
    pub other_user: u32,
}

impl Refused {
    /// `None` when nothing was refused; else words for the user ("meanwhile Sesame …").
    pub fn describe(&self) -> Option<String> {
        let plural = |n: u32, one: &str, many: &str| {
            if n == 1 {
                format!("1 {one}")
            } else {
                format!("{n} {many}")
            }
        };
        let mut parts = vec![];
        if self.not_this_sign_in > 0 {
            parts.push(format!(
                "{} without this sign-in's `state` (an old tab, or forged)",
                plural(self.not_this_sign_in, "redirect", "redirects")
            ));
        }
        if self.other_user > 0 {
            parts.push(format!(
                "{} from another user's programs",
                plural(self.other_user, "connection", "connections")
            ));
        }
        (!parts.is_empty()).then(|| format!("meanwhile Sesame refused {}", parts.join(" and ")))
    }
}

/// How a wait ended without a usable callback, and what was refused until then.
#[derive(Debug)]
pub struct WaitError {
    pub error: OAuthError,
    pub refused: Refused,
}

impl LoopbackListener {
    /// Binds 127.0.0.1:`port` (`redirect_port`), or a free port for 0. Never 0.0.0.0
    /// (other machines could deliver a code) and never `localhost` (it may resolve to ::1
    /// or elsewhere).
    pub fn bind(port: u16) -> io::Result<LoopbackListener> {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
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

    /// Serves until the callback of *this* sign-in (the expected `state`), the deadline, or
    /// cancellation; the listening socket is closed when this returns. Everything else is
    /// answered and the wait goes on: other paths (404), requests without the expected
    /// `state`, and every connection from a socket another user owns (see `owner`). On a
    /// bad callback of this sign-in the browser has already been shown the error page.
    pub async fn wait_for_callback(
        self,
        expect: CallbackExpectations,
        deadline: Duration,
        cancel: CancellationToken,
    ) -> Result<(Callback, Responder), WaitError> {
        let mut refused = Refused::default();
        let local = self.addr;
        let listener = TcpListener::from_std(self.listener).map_err(|e| WaitError {
            error: OAuthError::Local(format!("cannot use the redirect listener: {e}")),
            refused,
        })?;
        let me = owner::own_uid();
        let timeout = tokio::time::sleep(deadline);
        tokio::pin!(timeout);
        let mut own = FuturesUnordered::new();
        // The open ones, oldest first, to drop when a new one needs the room.
        let mut own_open: VecDeque<(u64, AbortHandle)> = VecDeque::new();
        let mut next_id = 0u64;
        let mut foreign = FuturesUnordered::new();
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(WaitError { error: OAuthError::Cancelled, refused }),
                _ = &mut timeout => return Err(WaitError { error: OAuthError::Timeout, refused }),
                Some(served) = own.next(), if !own.is_empty() => match served {
                    Ok((id, served)) => {
                        own_open.retain(|(open, _)| *open != id);
                        match served {
                            Served::Decided(result) => return result.map_err(|error| WaitError { error, refused }),
                            Served::NotThisSignIn => refused.not_this_sign_in += 1,
                            Served::Other => {}
                        }
                    }
                    Err(_aborted) => {}
                },
                Some(()) = foreign.next(), if !foreign.is_empty() => {}
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => match attribute(peer, local).await {
                        Owner::Uid(uid) if uid == me => {
                            if own_open.len() >= MAX_PENDING {
                                tracing::debug!("too many open connections to the redirect listener; dropping the oldest");
                                if let Some((_, oldest)) = own_open.pop_front() {
                                    oldest.abort();
                                }
                            }
                            let (handle, registration) = AbortHandle::new_pair();
                            let (id, expect) = (next_id, &expect);
                            next_id += 1;
                            own_open.push_back((id, handle));
                            own.push(Abortable::new(async move { (id, serve(stream, expect).await) }, registration));
                        }
                        owner => {
                            refused.other_user += 1;
                            match owner {
                                Owner::Uid(uid) => tracing::warn!(uid, "refused a connection to the sign-in's redirect listener from another user's program; still waiting"),
                                Owner::Unknown => tracing::warn!("refused a connection to the sign-in's redirect listener whose owner could not be found; still waiting"),
                            }
                            if foreign.len() < MAX_FOREIGN {
                                foreign.push(refuse_foreign(stream));
                            }
                        }
                    },
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

/// The kernel's word on who owns the connecting socket, read off the async workers.
async fn attribute(peer: SocketAddr, local: SocketAddr) -> Owner {
    tokio::task::spawn_blocking(move || owner::owner(peer, local)).await.unwrap_or(Owner::Unknown)
}

/// What one connection of the broker's own user came to.
enum Served {
    /// The callback of this sign-in: its code, or why it failed (already shown).
    Decided(Result<(Callback, Responder), OAuthError>),
    /// A request to `/callback` without this sign-in's `state`: answered, ignored.
    NotThisSignIn,
    /// Anything else (another path, garbage, silence): answered or dropped.
    Other,
}

/// Reads one request head (bounded in size and time) and answers it, unless it is this
/// sign-in's callback, whose answer waits for the code exchange.
async fn serve(mut stream: TcpStream, expect: &CallbackExpectations) -> Served {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(head)) => head,
        Ok(Err(why)) => {
            tracing::debug!(why, "ignoring a bad request to the redirect listener");
            respond(stream, "400 Bad Request", "Bad request", ONLY_THE_REDIRECT).await;
            return Served::Other;
        }
        Err(_) => return Served::Other,
    };
    match route(&head, expect) {
        Route::Page { status, title, text } => {
            respond(stream, status, title, text).await;
            Served::Other
        }
        Route::Callback(Verdict::NotThisSignIn) => {
            tracing::warn!("ignored a sign-in redirect without this sign-in's state (an old tab, or forged); still waiting");
            respond(stream, "400 Bad Request", "Not this sign-in", NOT_THIS_SIGN_IN).await;
            Served::NotThisSignIn
        }
        Route::Callback(Verdict::Decided(Ok(callback))) => {
            Served::Decided(Ok((callback, Responder { stream })))
        }
        Route::Callback(Verdict::Decided(Err(e))) => {
            respond(stream, "400 Bad Request", "Sign-in failed", &e.to_string()).await;
            Served::Decided(Err(e))
        }
    }
}

/// Where a request head goes, decided without I/O (the fuzz target runs it on any bytes).
enum Route {
    /// Not a callback (bad target, another path, another method): this page, and nothing
    /// else happens.
    Page {
        status: &'static str,
        title: &'static str,
        text: &'static str,
    },
    Callback(Verdict),
}

fn route(head: &RequestHead, expect: &CallbackExpectations) -> Route {
    let Ok(url) = Url::parse(&format!("http://127.0.0.1{}", head.target)) else {
        return Route::Page {
            status: "400 Bad Request",
            title: "Bad request",
            text: ONLY_THE_REDIRECT,
        };
    };
    if url.path() != CALLBACK_PATH {
        return Route::Page {
            status: "404 Not Found",
            title: "Not found",
            text: ONLY_THE_REDIRECT,
        };
    }
    if head.method != "GET" {
        return Route::Page {
            status: "405 Method Not Allowed",
            title: "Method not allowed",
            text: "The sign-in redirect must be a GET request.",
        };
    }
    Route::Callback(check_callback(&url, expect))
}

/// Another user's connection: its request is read (so the browser sees the page rather than
/// a reset) but never parsed, and it is told why.
async fn refuse_foreign(mut stream: TcpStream) {
    let _ = tokio::time::timeout(FOREIGN_READ_TIMEOUT, read_head(&mut stream)).await;
    respond(stream, "403 Forbidden", "Not your sign-in", OTHER_USER).await;
}

struct RequestHead {
    method: String,
    target: String,
}

async fn read_head(stream: &mut TcpStream) -> Result<RequestHead, &'static str> {
    let mut head = HeadReader::default();
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|_| "read failed")?;
        if n == 0 {
            return Err("closed before the request was complete");
        }
        if let Some(done) = head.push(&chunk[..n]) {
            return done;
        }
    }
}

/// A request head arriving in pieces, up to its blank line and at most [`MAX_HEAD`] bytes.
#[derive(Default)]
struct HeadReader {
    buf: Vec<u8>,
}

impl HeadReader {
    /// Adds what one read returned: `None` while the head is still incomplete.
    fn push(&mut self, bytes: &[u8]) -> Option<Result<RequestHead, &'static str>> {
        // The blank line may straddle two reads.
        let scan_from = self.buf.len().saturating_sub(3);
        self.buf.extend_from_slice(bytes);
        if let Some(pos) = self.buf[scan_from..].windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(parse_head(&self.buf[..scan_from + pos]));
        }
        (self.buf.len() > MAX_HEAD).then_some(Err("request head too large"))
    }
}

fn parse_head(head: &[u8]) -> Result<RequestHead, &'static str> {
    let head = std::str::from_utf8(head).map_err(|_| "request head is not UTF-8")?;
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

enum Verdict {
    /// Not this sign-in's redirect: no `state`, a wrong one, or more than one.
    NotThisSignIn,
    Decided(Result<Callback, OAuthError>),
}

/// Only a request with exactly one `state`, equal (in constant time) to this sign-in's,
/// decides the sign-in, whether it carries a code or the provider's `error`. Without it,
/// anyone who can reach the port could end the sign-in (a forged `?error=x`).
fn check_callback(url: &Url, expect: &CallbackExpectations) -> Verdict {
    let mut states = url.query_pairs().filter(|(k, _)| k == "state");
    match (states.next(), states.next()) {
        (Some((_, state)), None) if constant_time_eq(state.as_bytes(), expect.state.as_bytes()) => {
            Verdict::Decided(decide(url, expect))
        }
        _ => Verdict::NotThisSignIn,
    }
}

/// The redirect of this sign-in (its `state` matched): the code, or why there is none.
fn decide(url: &Url, expect: &CallbackExpectations) -> Result<Callback, OAuthError> {
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
    match params.get("iss") {
        // Entra's multi-tenant issuer is a `{tenantid}` template (issuer.rs).
        Some(iss) if !response_issuer_matches(&expect.issuer, iss) => {
            return Err(OAuthError::IssuerMismatch {
                expected: expect.issuer.clone(),
                got: clean_provider_text(iss),
            })
        }
        // Still refused: a forged redirect may carry any words. But they are the only
        // clue the user has to a provider's real error (DOT omits `iss` on errors).
        None if expect.iss_required => {
            let provider_said = params.get("error").map(|error| {
                let description = params
                    .get("error_description")
                    .map(|d| clean_provider_text(d))
                    .filter(|d| !d.is_empty());
                match description {
                    Some(d) => format!("{}: {d}", clean_provider_text(error)),
                    None => clean_provider_text(error),
                }
            });
            return Err(OAuthError::MissingIssuer { provider_said });
        }
        _ => {}
    }
    if let Some(error) = params.get("error") {
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
    let response = page(status, title, text);
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

/// The whole HTTP answer: the status line, the headers and a small escaped page.
fn page(status: &str, title: &str, text: &str) -> String {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sesame — {t}</title></head>\n<body><h1>{t}</h1>\n<p>{x}</p></body></html>\n",
        t = html_escape(title),
        x = html_escape(text),
    );
    // no-store: the page may name the account; no-referrer: the URL held the code.
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\nContent-Security-Policy: default-src 'none'\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n\r\n{body}",
        body.len()
    )
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

/// The listener's handling of one connection of the user's, without the socket, for the
/// fuzz target (feature `fuzzing`): `reads` are what the connection's reads returned, in
/// order. Returns the page answered at once (`None`: nothing yet, the connection ended
/// first or the callback's answer waits for the code exchange) and, when the request
/// decided the sign-in, how.
#[cfg(feature = "fuzzing")]
pub(crate) fn serve_reads(
    reads: &[&[u8]],
    expect: &CallbackExpectations,
) -> (Option<String>, Option<Result<Callback, OAuthError>>) {
    let mut reader = HeadReader::default();
    let head = reads.iter().find_map(|read| reader.push(read));
    // However the bytes were split, the head is what comes before the first blank line.
    let whole = reads.concat();
    if whole.len() <= MAX_HEAD {
        let at_once =
            whole.windows(4).position(|w| w == b"\r\n\r\n").map(|end| parse_head(&whole[..end]));
        let fields = |h: &Option<Result<RequestHead, &str>>| match h {
            Some(Ok(h)) => Some(Ok((h.method.clone(), h.target.clone()))),
            Some(Err(why)) => Some(Err(why.to_string())),
            None => None,
        };
        assert_eq!(fields(&head), fields(&at_once), "the head depends on how it was split");
    }
    let head = match head {
        None => return (None, None),
        Some(Err(_)) => {
            return (Some(page("400 Bad Request", "Bad request", ONLY_THE_REDIRECT)), None)
        }
        Some(Ok(head)) => head,
    };
    match route(&head, expect) {
        Route::Page { status, title, text } => (Some(page(status, title, text)), None),
        Route::Callback(Verdict::NotThisSignIn) => {
            (Some(page("400 Bad Request", "Not this sign-in", NOT_THIS_SIGN_IN)), None)
        }
        Route::Callback(Verdict::Decided(Ok(callback))) => (None, Some(Ok(callback))),
        Route::Callback(Verdict::Decided(Err(e))) => {
            (Some(page("400 Bad Request", "Sign-in failed", &e.to_string())), Some(Err(e)))
        }
    }
}

#[path = "loopback_owner.rs"]
mod owner;

#[cfg(test)]
#[path = "loopback_tests.rs"]
mod tests;
