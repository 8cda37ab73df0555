//! Entry points for the cargo-fuzz targets in `fuzz/` (feature `fuzzing`; `scripts/fuzz.sh`
//! runs them, docs/reliability.md has the figures). Each takes the fuzzer's bytes, runs the
//! broker's own code on them as the broker would, and panics where an invariant breaks:
//!
//! - nothing here panics on any input (a panic in the broker is a crash for every program);
//! - every malformed request line gets a reply that encodes, with the request's id where it
//!   had one; params that decode once decode again from their encoding; a client secret's
//!   value never changes an error message;
//! - provider-chosen text reaches messages cut short (at most [`MAX_MESSAGE`] characters, no
//!   control characters), and a provider's numbers (`expires_in`, `Retry-After`) never
//!   overflow the clocks they are added to;
//! - the loopback listener reads the same request head however the bytes were split, answers
//!   with escaped pages, and only this sign-in's `state` decides it.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use sesame_ipc::codec::{RequestCodec, RequestLine};
use sesame_ipc::methods::MethodId;
use sesame_ipc::protocol::parse_request;
use sesame_ipc::ErrorKind;
use tokio_util::bytes::BytesMut;
use tokio_util::codec::Decoder;

use crate::cache::CachedToken;
use crate::config::Config;
use crate::oauth::fuzzing::{parse_retry_after, provider_answer, serve_reads};
use crate::oauth::{
    authorization_url, AuthorizationOptions, CallbackExpectations, OAuthError, ProviderMetadata,
};
use crate::retry::RateLimits;
use crate::server::decode_params;
use crate::ScopeSet;

/// The longest message an error built from a provider's answer may have. The templates are
/// a few hundred characters; provider text in them is cut to 200 per field.
pub const MAX_MESSAGE: usize = 1024;

/// Splits `data` into reads: the first byte picks their size (1 to 2 041 bytes).
fn reads(data: &[u8]) -> (usize, &[u8]) {
    match data.split_first() {
        Some((size, rest)) => (1 + usize::from(*size) * 8, rest),
        None => (1, data),
    }
}

// ---- the socket: request lines and params ----------------------------------------------

/// `fuzz_targets/request_line.rs`: bytes as a program would write them to the socket.
pub fn request_line(data: &[u8]) {
    let (size, data) = reads(data);
    let at_once = decode_lines(&[data]);
    let split: Vec<&[u8]> = data.chunks(size).collect();
    assert_eq!(decode_lines(&split), at_once, "the lines depend on how the bytes arrived");
    for line in at_once.0 {
        if let RequestLine::Text(line) = line {
            answer_line(&line);
        }
    }
}

/// The lines `RequestCodec` reads from these reads, and whether it stopped at one too long.
fn decode_lines(reads: &[&[u8]]) -> (Vec<RequestLine>, bool) {
    let mut codec = RequestCodec::default();
    let mut buf = BytesMut::new();
    let mut lines = vec![];
    for read in reads {
        buf.extend_from_slice(read);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(line)) => lines.push(line),
                Ok(None) => break,
                Err(_) => return (lines, true),
            }
        }
    }
    (lines, false)
}

/// What `server/connection.rs` does with a line, up to the broker call: parse, look the
/// method up in the table, decode its params.
fn answer_line(line: &str) {
    if line.trim().is_empty() {
        return;
    }
    let request = match parse_request(line) {
        Ok(request) => request,
        Err(reply) => {
            let error = reply.error.as_ref().expect("an error reply carries an error");
            assert_eq!(error.kind(), ErrorKind::BadRequest);
            // The reply is what the program reads: it must encode, with the id it sent.
            if let Ok(Value::Object(sent)) = serde_json::from_str::<Value>(line) {
                assert_eq!(reply.id, sent.get("id").cloned().unwrap_or(Value::Null));
            }
            serde_json::to_string(&reply).expect("an error reply encodes");
            return;
        }
    };
    let Some(method) = MethodId::from_name(&request.method) else { return };
    match decode_params(method, &request.params) {
        Ok(encoded) => {
            // What was read encodes to params that read back the same.
            let again = decode_params(method, &encoded).expect("decoded params decode again");
            assert_eq!(again, encoded, "params change on a second decoding");
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::BadRequest, "{e}");
            if method == MethodId::ProviderSetSecret {
                secret_is_not_in_the_message(&request.params, &e.message);
            }
        }
    }
}

/// The message about bad `provider.set_secret` params is the same whatever the secret is:
/// it cannot quote it.
fn secret_is_not_in_the_message(params: &Value, message: &str) {
    let Some(Value::String(_)) = params.get("secret") else { return };
    let mut other = params.clone();
    other["secret"] = Value::String("another secret".into());
    let e = decode_params(MethodId::ProviderSetSecret, &other).expect_err("it failed before");
    assert_eq!(e.message, message, "the secret's value shows in the error");
}

// ---- the loopback redirect listener ----------------------------------------------------

const STATE: &str = "fuzz-state-5f1c0a";
const ISSUER: &str = "https://idp.example";
const ENTRA_TEMPLATE: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";

/// `fuzz_targets/loopback.rs`: bytes as a browser (or anything else) of the user sends them
/// to the sign-in's listener. The first byte picks the sign-in's expectations, the second
/// the size of the reads.
pub fn loopback_request(data: &[u8]) {
    let Some((&pick, data)) = data.split_first() else { return };
    let expect = CallbackExpectations {
        state: STATE.into(),
        issuer: if pick & 2 == 0 { ISSUER } else { ENTRA_TEMPLATE }.into(),
        iss_required: pick & 1 == 1,
    };
    let (size, data) = reads(data);
    let split: Vec<&[u8]> = data.chunks(size).collect();
    let (page, decided) = serve_reads(&split, &expect);
    if let Some(page) = &page {
        let body = page.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
        let text = body.split_once("<p>").map(|(_, t)| t).unwrap_or_default();
        let text = text.split_once("</p>").map(|(t, _)| t).unwrap_or_default();
        assert!(!text.contains('<') && !text.contains('"'), "an unescaped page: {page}");
        assert!(page.contains(&format!("Content-Length: {}\r\n", body.len())), "{page}");
    }
    if let Some(decided) = decided {
        match decided {
            Ok(callback) => {
                assert!(page.is_none(), "the good callback's answer waits for the exchange");
                assert!(!callback.code.expose().is_empty());
            }
            Err(e) => bounded(&e),
        }
        // Only this sign-in's state decides it: expecting another, the same bytes do not.
        let other = CallbackExpectations { state: "another-state".into(), ..expect };
        assert!(serve_reads(&split, &other).1.is_none(), "decided without the state");
    }
}

// ---- the token endpoint's answers -----------------------------------------------------

/// `fuzz_targets/token_response.rs`: an HTTP answer of a provider, as it comes off the wire
/// (`HTTP/1.1 <status> …`, headers, a blank line, the body), read as the broker reads the
/// token endpoint's (and the device authorization endpoint's) answers.
pub fn token_response(data: &[u8]) {
    let (head, body) = match data.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(end) => (&data[..end], &data[end + 4..]),
        None => (data, &[][..]),
    };
    let mut lines = head.split(|b| *b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = lines.next().unwrap_or_default();
    let Some(status) = status_line
        .split(|b| *b == b' ')
        .nth(1)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse::<u16>().ok())
    else {
        return;
    };
    let mut headers = vec![];
    for line in lines {
        let Some(colon) = line.iter().position(|b| *b == b':') else { return };
        headers.push((&line[..colon], line[colon + 1..].trim_ascii()));
    }
    let now = crate::now_unix();
    for (name, value) in &headers {
        if name.eq_ignore_ascii_case(b"retry-after") {
            if let Ok(value) = std::str::from_utf8(value) {
                if let Some(quiet) = parse_retry_after(value, std::time::SystemTime::now()) {
                    quiet_period(quiet);
                }
            }
        }
    }
    let Some((token, device)) = provider_answer(status, &headers, body) else { return };
    match token {
        Ok(t) => {
            let asked = ScopeSet::parse("openid email");
            let cached = CachedToken::from_answer(
                t.access_token,
                t.token_type,
                t.expires_in,
                t.scope,
                &asked,
                now,
            );
            assert!(cached.expires_at >= cached.issued_at, "a token that expired when issued");
        }
        Err(e) => {
            if let OAuthError::RateLimited { retry_after: Some(quiet), .. } = &e {
                quiet_period(*quiet);
            }
            bounded(&e);
        }
    }
    match device {
        Ok(d) => {
            assert!(d.expires_in <= Duration::from_secs(3600));
            assert!(d.interval >= Duration::from_secs(1));
            assert!(
                d.user_code.chars().count() <= 64 && !d.user_code.chars().any(char::is_control)
            );
        }
        Err(e) => bounded(&e),
    }
}

/// What the broker does with a provider's `Retry-After`: keep every caller quiet until then.
fn quiet_period(quiet: Duration) {
    RateLimits::default().note("fuzz", quiet);
}

/// An error built from provider text is short and has no control characters.
fn bounded(e: &OAuthError) {
    let message = e.to_string();
    assert!(message.chars().count() <= MAX_MESSAGE, "{} characters: {message}", message.len());
    assert!(!message.chars().any(char::is_control), "a control character in: {message:?}");
}

// ---- the config file --------------------------------------------------------------------

/// `fuzz_targets/config.rs`: a config file (as UTF-8; other bytes are replaced, as they would
/// be refused before parsing). A config that parses is used as the broker uses it.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let config = match Config::parse(&text, Path::new("/fuzz/config.toml")) {
        Ok(config) => config,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    assert!(config.refresh.fraction > 0.0 && config.refresh.fraction < 1.0);
    for provider in &config.providers {
        assert!(crate::config::is_provider_id(&provider.id));
        assert!(!provider.scopes.is_empty());
        let _ = provider.issuer_str();
        let _ = provider.check_scope_set(&provider.scopes);
        let _ = (provider.secret_placement(), provider.client_secret_source());
        if let Some(meta) = ProviderMetadata::from_config(provider) {
            let url = authorization_url(
                &meta,
                provider,
                "http://127.0.0.1:1/callback",
                STATE,
                "nonce",
                "challenge",
                &AuthorizationOptions { has_refresh_token: false },
            );
            assert!(url.query().is_some_and(|q| q.contains(STATE)));
        }
    }
}
