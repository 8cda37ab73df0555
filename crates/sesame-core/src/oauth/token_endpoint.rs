//! Calls to the provider's back-channel endpoints: token (code exchange, refresh, client
//! credentials),
//! revocation (RFC 7009) and userinfo. Also the HTTP helpers discovery shares.
//!
//! Request and response bodies carry codes and tokens, so they never reach an error or a
//! log line: errors quote only the status, the content type and the OAuth `error` /
//! `error_description` fields.

use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use super::client_auth::OAuthClient;
use super::error::{clean_provider_text, OAuthError};
use super::metadata::ProviderMetadata;
use crate::{ScopeSet, Secret};

/// Every request gets this bound even if the caller's client has none.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Token responses and discovery documents are a few KiB; anything this big is broken.
const MAX_BODY: usize = 1024 * 1024;
/// The longest quiet period a provider's `Retry-After` gets: longer ones are cut to this
/// (a clock cannot be moved past `u64::MAX` seconds, and a day is already "not today").
const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);
/// The longest access token lifetime (`expires_in`) Sesame believes: a year.
const MAX_EXPIRES_IN: u64 = 365 * 86_400;

#[derive(Debug)]
pub struct TokenResponse {
    pub access_token: Secret,
    /// `Bearer` (normalised from any case) unless the provider says otherwise.
    pub token_type: String,
    pub expires_in: Option<u64>,
    pub refresh_token: Option<Secret>,
    /// Space-separated granted scopes, when the provider says (RFC 6749 §5.1); GitHub's
    /// comma-separated list is normalised to spaces.
    pub scope: Option<ScopeSet>,
    pub id_token: Option<Secret>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeOutcome {
    Confirmed,
    /// The provider has no revocation endpoint; the token stays valid until it expires.
    NotSupported,
}

/// RFC 6749 §4.1.3. A public client sends `client_id` in the body; a client with a secret
/// (Google, GitHub) also sends it, as the broker's [`OAuthClient`] says.
pub async fn exchange_code(
    http: &reqwest::Client,
    meta: &ProviderMetadata,
    client: &OAuthClient,
    code: &Secret,
    verifier: &Secret,
    redirect_uri: &str,
) -> Result<TokenResponse, OAuthError> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.expose()),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier.expose()),
    ];
    form.extend(client.form_fields());
    // GitHub answers form-encoded unless asked for JSON; the form parser below is the fallback.
    let req = client.authorize(
        http.post(meta.token_endpoint.clone()).header(ACCEPT, "application/json").form(&form),
    );
    token_response(&send("the token endpoint", req).await?)
}

/// RFC 6749 §6. `scope` narrows the new access token to a subset of the grant.
pub async fn refresh(
    http: &reqwest::Client,
    meta: &ProviderMetadata,
    client: &OAuthClient,
    refresh_token: &Secret,
    scope: Option<&ScopeSet>,
) -> Result<TokenResponse, OAuthError> {
    let scope = scope.map(ScopeSet::to_string);
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token.expose())];
    if let Some(scope) = &scope {
        form.push(("scope", scope));
    }
    form.extend(client.form_fields());
    let req = client.authorize(
        http.post(meta.token_endpoint.clone()).header(ACCEPT, "application/json").form(&form),
    );
    token_response(&send("the token endpoint", req).await?)
}

/// RFC 6749 §4.4: a token for the client itself (a machine account), no user, no refresh
/// token. `scope` is sent when not empty.
pub async fn client_credentials(
    http: &reqwest::Client,
    meta: &ProviderMetadata,
    client: &OAuthClient,
    scope: &ScopeSet,
) -> Result<TokenResponse, OAuthError> {
    let scope = scope.to_string();
    let mut form = vec![("grant_type", "client_credentials")];
    if !scope.is_empty() {
        form.push(("scope", &scope));
    }
    form.extend(client.form_fields());
    let req = client.authorize(
        http.post(meta.token_endpoint.clone()).header(ACCEPT, "application/json").form(&form),
    );
    token_response(&send("the token endpoint", req).await?)
}

/// RFC 7009. `hint` is `refresh_token` or `access_token`. A confidential client
/// authenticates here as at the token endpoint.
pub async fn revoke(
    http: &reqwest::Client,
    meta: &ProviderMetadata,
    client: &OAuthClient,
    token: &Secret,
    hint: &str,
) -> Result<RevokeOutcome, OAuthError> {
    let Some(endpoint) = &meta.revocation_endpoint else {
        return Ok(RevokeOutcome::NotSupported);
    };
    let mut form = vec![("token", token.expose()), ("token_type_hint", hint)];
    form.extend(client.form_fields());
    let req = client
        .authorize(http.post(endpoint.clone()).header(ACCEPT, "application/json").form(&form));
    let answer = send("the revocation endpoint", req).await?;
    // RFC 7009 §2.2: 200 also for tokens that were already invalid; some answer 204.
    if answer.status.is_success() {
        Ok(RevokeOutcome::Confirmed)
    } else {
        Err(error_from_answer("the revocation endpoint", &answer))
    }
}

pub async fn userinfo(
    http: &reqwest::Client,
    meta: &ProviderMetadata,
    access_token: &Secret,
) -> Result<Value, OAuthError> {
    let Some(endpoint) = &meta.userinfo_endpoint else {
        return Err(OAuthError::BadMetadata("the provider has no userinfo endpoint; add `openid` to the scopes or set userinfo_endpoint in the config".into()));
    };
    let req = http
        .get(endpoint.clone())
        .header(ACCEPT, "application/json")
        .bearer_auth(access_token.expose());
    let answer = send("the userinfo endpoint", req).await?;
    if answer.status == StatusCode::UNAUTHORIZED {
        return Err(OAuthError::Provider {
            error: "invalid_token".into(),
            description: Some("the userinfo endpoint refused the access token (HTTP 401)".into()),
        });
    }
    if !answer.status.is_success() {
        return Err(error_from_answer("the userinfo endpoint", &answer));
    }
    if answer.content_type.starts_with("application/jwt") {
        return Err(OAuthError::BadResponse(
            "the userinfo endpoint answered with a signed JWT, which Sesame does not read; configure the client for plain JSON userinfo".into(),
        ));
    }
    match serde_json::from_slice::<Value>(&answer.body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(OAuthError::BadResponse(format!(
            "the userinfo endpoint answered HTTP {} ({}) with something other than a JSON object",
            answer.status, answer.content_type
        ))),
    }
}

/// A fully read HTTP answer. No `Debug`: the body may hold tokens, and it is wiped on drop.
pub(super) struct HttpAnswer {
    pub status: StatusCode,
    pub content_type: String,
    pub retry_after: Option<String>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

impl Drop for HttpAnswer {
    fn drop(&mut self) {
        self.body.fill(0);
    }
}

/// Sends with the 30 s bound and reads at most [`MAX_BODY`] bytes. `what` names the
/// endpoint in errors ("the token endpoint").
pub(super) async fn send(what: &str, req: RequestBuilder) -> Result<HttpAnswer, OAuthError> {
    let mut resp = req.timeout(REQUEST_TIMEOUT).send().await.map_err(|e| unreachable(what, &e))?;
    let mut answer = HttpAnswer::new(resp.status(), resp.headers(), Vec::new());
    while let Some(chunk) = resp.chunk().await.map_err(|e| unreachable(what, &e))? {
        if answer.body.len() + chunk.len() > MAX_BODY {
            return Err(OAuthError::BadResponse(format!(
                "{what} sent more than {MAX_BODY} bytes (HTTP {}, {})",
                answer.status, answer.content_type
            )));
        }
        answer.body.extend_from_slice(&chunk);
    }
    Ok(answer)
}

impl HttpAnswer {
    /// What Sesame keeps of an answer: the status, three headers as text (one that is not
    /// visible ASCII counts as absent; `Content-Type` and `Location` cleaned as provider
    /// text, as errors quote them) and the body.
    pub(super) fn new(status: StatusCode, headers: &HeaderMap, body: Vec<u8>) -> HttpAnswer {
        let header = |name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        // The two that errors quote are provider text: cut short, no control characters.
        let quoted = |name| header(name).map(|v| clean_provider_text(&v));
        HttpAnswer {
            status,
            content_type: quoted(CONTENT_TYPE).unwrap_or_else(|| "no content type".into()),
            retry_after: header(RETRY_AFTER),
            location: quoted(LOCATION),
            body,
        }
    }
}

fn unreachable(what: &str, e: &reqwest::Error) -> OAuthError {
    let detail = if e.is_timeout() {
        format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())
    } else {
        // The top-level message repeats the URL; the sources say what actually failed
        // ("Connection refused", "dns error", a TLS complaint).
        let mut parts = Vec::new();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            parts.push(s.to_string());
            source = s.source();
        }
        if parts.is_empty() {
            e.to_string()
        } else {
            parts.join(": ")
        }
    };
    let what = match e.url() {
        Some(url) => format!("{what} ({})", url.as_str().split('?').next().unwrap_or_default()),
        None => what.to_owned(),
    };
    OAuthError::Unreachable { what, detail }
}

/// `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, at most
/// [`MAX_RETRY_AFTER`]. `None` for anything else, so a garbled header means "back off as
/// usual", not "retry at once".
pub(crate) fn parse_retry_after(
    value: &str,
    now: std::time::SystemTime,
) -> Option<std::time::Duration> {
    let value = value.trim();
    let quiet = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => httpdate::parse_http_date(value).ok()?.duration_since(now).unwrap_or_default(),
    };
    Some(quiet.min(MAX_RETRY_AFTER))
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    error_description: Option<String>,
}

fn is_form(content_type: &str) -> bool {
    content_type.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded")
}

/// Turns a non-success answer into the matching error.
pub(super) fn error_from_answer(what: &str, answer: &HttpAnswer) -> OAuthError {
    let status = answer.status;
    if status == StatusCode::TOO_MANY_REQUESTS {
        let retry_after = answer
            .retry_after
            .as_deref()
            .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
        return OAuthError::RateLimited { what: what.into(), retry_after };
    }
    if status.is_redirection() {
        // The broker's client follows no redirects: a 307 would re-send codes and tokens
        // to wherever it points.
        let to = answer
            .location
            .as_deref()
            .map(|l| format!(" to {}", l.split('?').next().unwrap_or_default()))
            .unwrap_or_default();
        return OAuthError::BadResponse(format!(
            "{what} redirects (HTTP {status}){to}; Sesame does not follow redirects, so put the final URL in the config or fix the issuer"
        ));
    }
    if status.is_server_error() {
        return OAuthError::Unreachable {
            what: what.into(),
            detail: format!("the provider failed with HTTP {status}"),
        };
    }
    let parsed = if is_form(&answer.content_type) {
        let raw = raw_from_form(&answer.body);
        raw.error.map(|error| ErrorBody { error, error_description: raw.error_description })
    } else {
        serde_json::from_slice::<ErrorBody>(&answer.body).ok()
    };
    match parsed {
        Some(e) => OAuthError::from_oauth_error(&e.error, e.error_description.as_deref()),
        None => OAuthError::BadResponse(format!(
            "{what} answered HTTP {status} ({}) without an OAuth error code",
            answer.content_type
        )),
    }
}

/// Raw token response. Deliberately no `Debug`; tokens move into `Secret`s at once.
#[derive(Deserialize, Default)]
struct RawTokenResponse {
    access_token: Option<String>,
    token_type: Option<String>,
    expires_in: Option<Value>,
    refresh_token: Option<String>,
    scope: Option<Value>,
    id_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub(super) fn token_response(answer: &HttpAnswer) -> Result<TokenResponse, OAuthError> {
    const WHAT: &str = "the token endpoint";
    if !answer.status.is_success() {
        return Err(error_from_answer(WHAT, answer));
    }
    let raw = if is_form(&answer.content_type) {
        raw_from_form(&answer.body)
    } else {
        // serde's message could quote a value from the body, so it is not passed on.
        serde_json::from_slice(&answer.body).map_err(|_| {
            OAuthError::BadResponse(format!(
                "{WHAT} answered HTTP {} ({}) with something other than a JSON token response",
                answer.status, answer.content_type
            ))
        })?
    };
    let non_empty = |s: Option<String>| s.filter(|s| !s.is_empty()).map(Secret::new);
    let access_token = match non_empty(raw.access_token) {
        Some(t) => t,
        // Some providers (GitHub) report errors with HTTP 200.
        None => {
            return Err(match raw.error {
                Some(error) => {
                    OAuthError::from_oauth_error(&error, raw.error_description.as_deref())
                }
                None => OAuthError::BadResponse(format!("{WHAT} answered without an access_token")),
            })
        }
    };
    let token_type = match raw.token_type {
        None => "Bearer".to_owned(),
        Some(t) if t.eq_ignore_ascii_case("bearer") => "Bearer".to_owned(),
        Some(t) => t,
    };
    let expires_in = match raw.expires_in {
        Some(Value::Number(n)) => {
            n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
        }
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .map(|secs: u64| secs.min(MAX_EXPIRES_IN));
    let scope = match raw.scope {
        Some(Value::String(s)) => Some(normalise_scope(&s)),
        Some(Value::Array(items)) => Some(items.iter().filter_map(Value::as_str).collect()),
        _ => None,
    }
    .filter(|s| !s.is_empty());
    Ok(TokenResponse {
        access_token,
        token_type,
        expires_in,
        refresh_token: non_empty(raw.refresh_token),
        scope,
        id_token: non_empty(raw.id_token),
    })
}

/// A token response as `application/x-www-form-urlencoded` (what GitHub sends without
/// `Accept: application/json`). Every value is a string, as in JSON from lenient providers.
fn raw_from_form(body: &[u8]) -> RawTokenResponse {
    let mut raw = RawTokenResponse::default();
    for (key, value) in url::form_urlencoded::parse(body) {
        let value = value.into_owned();
        match key.as_ref() {
            "access_token" => raw.access_token = Some(value),
            "token_type" => raw.token_type = Some(value),
            "expires_in" => raw.expires_in = Some(Value::String(value)),
            "refresh_token" => raw.refresh_token = Some(value),
            "scope" => raw.scope = Some(Value::String(value)),
            "id_token" => raw.id_token = Some(value),
            "error" => raw.error = Some(value),
            "error_description" => raw.error_description = Some(value),
            _ => {}
        }
    }
    raw
}

/// RFC 6749 separates scopes with spaces; GitHub with commas (`repo,gist`). A comma is a
/// legal scope character, so a list is split at commas only when no comma-separated piece
/// contains a space (which would make it a space-separated list of comma-bearing scopes).
fn normalise_scope(s: &str) -> ScopeSet {
    let pieces: Vec<&str> =
        if s.contains(',') && s.split(',').all(|p| !p.trim().contains(char::is_whitespace)) {
            s.split(',').map(str::trim).collect()
        } else {
            s.split_whitespace().collect()
        };
    pieces.into_iter().collect()
}

#[cfg(test)]
#[path = "token_endpoint_tests.rs"]
mod tests;
