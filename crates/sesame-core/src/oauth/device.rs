//! The OAuth 2.0 Device Authorization Grant (RFC 8628): for sign-ins where the browser is on
//! another device (an SSH session, a machine without a desktop). Sesame asks the provider's
//! device authorization endpoint for a code pair, shows the user code and the verification
//! URI, and polls the token endpoint until the user approved, refused, or the code expired.
//!
//! The device code is a bearer credential for the pending sign-in: it is a [`Secret`], sent
//! only to the provider, never logged or put on the socket. PKCE does not apply here.
//!
//! The polling rules live in [`Polling`] (one step per token-endpoint answer, no time
//! involved) and [`poll_until_done`] (waits, deadline, cancellation; the clock is a
//! parameter so the tests need no real time).

use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::header::ACCEPT;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::client_auth::OAuthClient;
use super::error::{clean_provider_text, OAuthError};
use super::metadata::ProviderMetadata;
use super::token_endpoint::{error_from_answer, send, token_response, HttpAnswer, TokenResponse};
use crate::config::url_is_acceptable;
use crate::Secret;

/// RFC 8628 §3.4.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8628 §3.2: "If no value is provided, clients MUST use 5 as the default."
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// RFC 8628 §3.5: `slow_down` adds 5 seconds to the interval, for this and all later polls.
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// A provider asking for less than this gets it anyway: polling faster helps nobody.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Backoff after network failures stops growing here (RFC 8628 §3.5 asks for a backoff).
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// `expires_in` is required, but a provider that leaves it out still gets a sign-in.
const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(900);
/// No sign-in waits longer than this, whatever the provider says.
const MAX_EXPIRES_IN: Duration = Duration::from_secs(3600);
/// User codes are meant to be typed; anything longer is not one.
const MAX_USER_CODE: usize = 64;

const WHAT: &str = "the device authorization endpoint";

/// The provider's answer to the device authorization request (RFC 8628 §3.2).
#[derive(Debug)]
pub struct DeviceAuthorization {
    pub device_code: Secret,
    /// What the user types at `verification_uri`; printable, at most 64 characters.
    pub user_code: String,
    pub verification_uri: Url,
    /// The same page with the user code filled in, when the provider offers one.
    pub verification_uri_complete: Option<Url>,
    /// How long the codes are valid (capped at one hour).
    pub expires_in: Duration,
    /// The minimum wait between polls (at least one second).
    pub interval: Duration,
}

/// RFC 8628 §3.1: asks for a device code and a user code for `scope`.
pub async fn device_authorization(
    http: &reqwest::Client,
    meta: &ProviderMetadata,
    client: &OAuthClient,
    scope: &str,
) -> Result<DeviceAuthorization, OAuthError> {
    let Some(endpoint) = &meta.device_authorization_endpoint else {
        return Err(OAuthError::BadMetadata(
            "the provider names no device_authorization_endpoint (RFC 8628)".into(),
        ));
    };
    let mut form = client.form_fields();
    form.push(("scope", scope));
    // GitHub answers form-encoded unless asked for JSON; both are read.
    let req = client
        .authorize(http.post(endpoint.clone()).header(ACCEPT, "application/json").form(&form));
    parse_device_authorization(&send(WHAT, req).await?)
}

/// RFC 8628 §3.4: one poll. Errors come back as [`OAuthError::Provider`] with the RFC's
/// codes (`authorization_pending`, `slow_down`, …), for [`Polling::step`] to sort out.
pub async fn poll_device_token(
    http: &reqwest::Client,
    meta: &ProviderMetadata,
    client: &OAuthClient,
    device_code: &Secret,
) -> Result<TokenResponse, OAuthError> {
    // Google's device clients must send their (not confidential) secret here: the client
    // carries it when the provider has one.
    let mut form = vec![("grant_type", DEVICE_CODE_GRANT), ("device_code", device_code.expose())];
    form.extend(client.form_fields());
    let req = client.authorize(
        http.post(meta.token_endpoint.clone()).header(ACCEPT, "application/json").form(&form),
    );
    token_response(&send("the token endpoint", req).await?)
}

pub(super) fn parse_device_authorization(
    answer: &HttpAnswer,
) -> Result<DeviceAuthorization, OAuthError> {
    if !answer.status.is_success() {
        return Err(error_from_answer(WHAT, answer));
    }
    let fields = body_fields(answer)?;
    let text = |key: &str| match fields.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    };
    let Some(device_code) = text("device_code") else {
        // Some providers (GitHub) report errors with HTTP 200.
        return Err(match text("error") {
            Some(error) => {
                OAuthError::from_oauth_error(&error, text("error_description").as_deref())
            }
            None => OAuthError::BadResponse(format!("{WHAT} answered without a device_code")),
        });
    };
    let device_code = Secret::new(device_code);
    let user_code = text("user_code")
        .ok_or_else(|| OAuthError::BadResponse(format!("{WHAT} answered without a user_code")))?;
    // It is shown in a terminal: no escape sequences, nothing a person could not type.
    if user_code.chars().count() > MAX_USER_CODE || user_code.chars().any(char::is_control) {
        return Err(OAuthError::BadResponse(format!(
            "{WHAT} answered with a user_code that is not a short printable code"
        )));
    }
    // Google spells it `verification_url`.
    let uri = text("verification_uri").or_else(|| text("verification_url"));
    let uri = uri.ok_or_else(|| {
        OAuthError::BadResponse(format!("{WHAT} answered without a verification_uri"))
    })?;
    let verification_uri = page_url(&uri).ok_or_else(|| {
        OAuthError::BadResponse(format!(
            "{WHAT} answered with a verification_uri that is not an https URL (plain http only on 127.0.0.1, ::1 or localhost): `{}`",
            clean_provider_text(&uri)
        ))
    })?;
    // Optional: a bad one is dropped, the plain URI and the code still work.
    let verification_uri_complete = text("verification_uri_complete").and_then(|u| page_url(&u));
    let expires_in =
        seconds(fields.get("expires_in")).unwrap_or(DEFAULT_EXPIRES_IN).min(MAX_EXPIRES_IN);
    let interval = seconds(fields.get("interval")).unwrap_or(DEFAULT_INTERVAL).max(MIN_INTERVAL);
    Ok(DeviceAuthorization {
        device_code,
        user_code,
        verification_uri,
        verification_uri_complete,
        expires_in,
        interval,
    })
}

/// The answer's fields as JSON values; a form-encoded answer gives strings.
fn body_fields(answer: &HttpAnswer) -> Result<Map<String, Value>, OAuthError> {
    let form = answer
        .content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded");
    if form {
        return Ok(url::form_urlencoded::parse(&answer.body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect());
    }
    // serde's message could quote the device code, so it is not passed on.
    match serde_json::from_slice::<Value>(&answer.body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(OAuthError::BadResponse(format!(
            "{WHAT} answered HTTP {} ({}) with something other than a JSON object",
            answer.status, answer.content_type
        ))),
    }
}

/// A page the user is sent to: https, or http on a loopback address.
fn page_url(s: &str) -> Option<Url> {
    Url::parse(s).ok().filter(url_is_acceptable)
}

/// Whole seconds from a number or a numeric string (lenient providers send both).
fn seconds(v: Option<&Value>) -> Option<Duration> {
    let secs = match v? {
        Value::Number(n) => {
            n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
        }
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }?;
    Some(Duration::from_secs(secs))
}

/// What to do after one answer from the token endpoint.
#[derive(Debug)]
pub enum Step {
    /// Poll again after this long.
    Wait(Duration),
    /// The sign-in is over: tokens, or the error that ended it.
    Done(Result<TokenResponse, OAuthError>),
}

/// The polling state of one device sign-in: the current interval.
#[derive(Debug, Clone)]
pub struct Polling {
    interval: Duration,
}

impl Polling {
    pub fn new(interval: Duration) -> Polling {
        Polling { interval: interval.max(MIN_INTERVAL) }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// RFC 8628 §3.5: `authorization_pending` waits, `slow_down` waits 5 s longer from now
    /// on, `access_denied` and `expired_token` end the sign-in. A provider that cannot be
    /// reached is asked again later, with a growing interval.
    pub fn step(&mut self, answer: Result<TokenResponse, OAuthError>) -> Step {
        let error = match answer {
            Ok(tokens) => return Step::Done(Ok(tokens)),
            Err(e) => e,
        };
        match error {
            OAuthError::Provider { error, .. } if error == "authorization_pending" => {
                Step::Wait(self.interval)
            }
            OAuthError::Provider { error, .. } if error == "slow_down" => {
                self.interval += SLOW_DOWN_STEP;
                Step::Wait(self.interval)
            }
            OAuthError::Provider { error, description } if error == "expired_token" => {
                Step::Done(Err(OAuthError::DeviceCodeExpired { description }))
            }
            // Microsoft's name for access_denied in the device flow.
            OAuthError::Provider { error, description } if error == "authorization_declined" => {
                Step::Done(Err(OAuthError::AccessDenied { description }))
            }
            // invalid_grant here is about the device code, not a stored grant.
            OAuthError::InvalidGrant { description } => {
                Step::Done(Err(OAuthError::DeviceCodeRejected { description }))
            }
            OAuthError::Unreachable { .. } => {
                self.interval = (self.interval * 2).min(MAX_BACKOFF).max(self.interval);
                Step::Wait(self.interval)
            }
            other => Step::Done(Err(other)),
        }
    }
}

/// Time, as the polling loop sees it. [`TokioClock`] is the real one.
pub trait Clock {
    fn now(&self) -> Instant;
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
}

pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}

/// Waits the interval, polls with `poll`, and repeats until [`Polling::step`] says done, the
/// code expires at `expires_at` ([`OAuthError::DeviceCodeExpired`]) or `cancel` fires
/// ([`OAuthError::Cancelled`]). The first poll comes one interval after the start: nobody
/// approves a sign-in faster than that.
pub async fn poll_until_done<C, F, Fut>(
    clock: &C,
    mut polling: Polling,
    expires_at: Instant,
    cancel: &CancellationToken,
    mut poll: F,
) -> Result<TokenResponse, OAuthError>
where
    C: Clock,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<TokenResponse, OAuthError>>,
{
    let mut wait = polling.interval();
    loop {
        let remaining = expires_at.saturating_duration_since(clock.now());
        if wait > remaining {
            // The code expires before the next poll may be sent.
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(OAuthError::Cancelled),
                _ = clock.sleep(remaining) => return Err(OAuthError::DeviceCodeExpired { description: None }),
            }
        }
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(OAuthError::Cancelled),
            _ = clock.sleep(wait) => {}
        }
        let answer = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(OAuthError::Cancelled),
            answer = poll() => answer,
        };
        if let Err(e @ OAuthError::Unreachable { .. }) = &answer {
            tracing::info!(error = %e, "device sign-in: the token endpoint did not answer; polling less often");
        }
        match polling.step(answer) {
            Step::Wait(next) => wait = next,
            Step::Done(result) => return result,
        }
    }
}

#[cfg(test)]
#[path = "device_tests.rs"]
mod tests;
