//! Provider metadata: from the config's manual endpoints, or discovered: OpenID Connect
//! Discovery 1.0 and RFC 8414 both, merged (a provider may publish an endpoint in one
//! only: django-oauth-toolkit's revocation endpoint is in its RFC 8414 document alone),
//! then the endpoints the config names next to `issuer` on top.

use reqwest::header::ACCEPT;
use reqwest::StatusCode;
use serde::Deserialize;
use url::Url;

use super::error::OAuthError;
use super::issuer::discovery_issuer_matches;
use super::pkce::Pkce;
use super::token_endpoint::{error_from_answer, send};
use crate::config::{url_is_acceptable, ProviderConfig};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMetadata {
    /// Exactly as the provider writes it: this is what `iss` values are compared with.
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub revocation_endpoint: Option<Url>,
    pub userinfo_endpoint: Option<Url>,
    pub introspection_endpoint: Option<Url>,
    pub device_authorization_endpoint: Option<Url>,
    /// RFC 9207 `authorization_response_iss_parameter_supported`: if true, a redirect
    /// without `iss` is refused.
    pub iss_parameter_supported: bool,
    /// Empty when the provider does not say (then Sesame sends S256 and hopes).
    pub code_challenge_methods: Vec<String>,
    /// Empty when the provider does not say.
    pub grant_types: Vec<String>,
    /// `scopes_supported`; empty when the provider does not say (then any scope may be
    /// asked for and the provider judges).
    pub scopes_supported: Vec<String>,
}

impl ProviderMetadata {
    /// Just enough for a refresh (the refresh helper knows no more): the token endpoint.
    pub(crate) fn for_token_endpoint(token_endpoint: Url) -> ProviderMetadata {
        ProviderMetadata {
            issuer: String::new(),
            authorization_endpoint: token_endpoint.clone(),
            token_endpoint,
            revocation_endpoint: None,
            userinfo_endpoint: None,
            introspection_endpoint: None,
            device_authorization_endpoint: None,
            iss_parameter_supported: false,
            code_challenge_methods: vec![],
            grant_types: vec![],
            scopes_supported: vec![],
        }
    }

    /// Metadata from the config alone; nothing is advertised, so nothing is promised.
    pub fn from_config(provider: &ProviderConfig) -> Option<ProviderMetadata> {
        let ep = provider.endpoints.as_ref()?;
        Some(ProviderMetadata {
            issuer: provider.issuer_str(),
            authorization_endpoint: ep.authorization_endpoint.clone(),
            token_endpoint: ep.token_endpoint.clone(),
            revocation_endpoint: ep.revocation_endpoint.clone(),
            userinfo_endpoint: ep.userinfo_endpoint.clone(),
            introspection_endpoint: None,
            device_authorization_endpoint: ep
                .device_authorization_endpoint
                .clone()
                .or_else(|| provider.quirks.device_authorization_endpoint.clone()),
            iss_parameter_supported: false,
            code_challenge_methods: Vec::new(),
            grant_types: Vec::new(),
            scopes_supported: Vec::new(),
        })
    }
}

pub async fn discover(
    http: &reqwest::Client,
    provider: &ProviderConfig,
) -> Result<ProviderMetadata, OAuthError> {
    if let Some(meta) = ProviderMetadata::from_config(provider) {
        return Ok(meta);
    }
    let oidc = oidc_discovery_url(&provider.issuer);
    let rfc8414 = rfc8414_url(&provider.issuer);
    let first = fetch(http, &oidc).await?;
    let second = fetch(http, &rfc8414).await;
    let (source, doc) = match (first, second) {
        (Some(doc), Ok(Some(other))) => (oidc, doc.merged_with(other, provider, &rfc8414)),
        (Some(doc), Ok(None)) => (oidc, doc),
        (Some(doc), Err(e)) => {
            // The OIDC document is complete by itself; the other one only fills gaps.
            tracing::warn!(provider = %provider.id, error = %e, "ignoring the provider's RFC 8414 metadata");
            (oidc, doc)
        }
        (None, second) => match second? {
            Some(doc) => (rfc8414, doc),
            None => {
                return Err(OAuthError::BadMetadata(format!(
                    "provider `{}` has no discovery document at {oidc} nor at {rfc8414} (HTTP 404); check its issuer, or set authorization_endpoint and token_endpoint in the config",
                    provider.id
                )))
            }
        },
    };
    Ok(overridden(validate(doc, provider, &source)?, provider))
}

/// The endpoints the config names next to `issuer` replace the discovered ones.
fn overridden(mut meta: ProviderMetadata, provider: &ProviderConfig) -> ProviderMetadata {
    let o = &provider.endpoint_overrides;
    if let Some(url) = &o.authorization_endpoint {
        meta.authorization_endpoint = url.clone();
    }
    if let Some(url) = &o.token_endpoint {
        meta.token_endpoint = url.clone();
    }
    for (field, value) in [
        (&mut meta.revocation_endpoint, &o.revocation_endpoint),
        (&mut meta.userinfo_endpoint, &o.userinfo_endpoint),
        (&mut meta.device_authorization_endpoint, &o.device_authorization_endpoint),
    ] {
        if value.is_some() {
            field.clone_from(value);
        }
    }
    meta
}

/// `{issuer}/.well-known/openid-configuration`, issuer without its trailing slash.
fn oidc_discovery_url(issuer: &Url) -> Url {
    let base = issuer.as_str().trim_end_matches('/');
    Url::parse(&format!("{base}/.well-known/openid-configuration"))
        .unwrap_or_else(|_| issuer.clone())
}

/// RFC 8414 §3: the well-known segment goes between the host and the issuer's path.
fn rfc8414_url(issuer: &Url) -> Url {
    let mut url = issuer.clone();
    let path = issuer.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    url
}

/// `None` on 404, so the caller can try the other well-known location.
async fn fetch(http: &reqwest::Client, url: &Url) -> Result<Option<RawMetadata>, OAuthError> {
    let what = format!("the discovery document at {url}");
    let answer = send(&what, http.get(url.clone()).header(ACCEPT, "application/json")).await?;
    if answer.status == StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !answer.status.is_success() {
        return Err(error_from_answer(&what, &answer));
    }
    // Discovery documents are public, so serde's message may be quoted here.
    serde_json::from_slice(&answer.body).map(Some).map_err(|e| {
        OAuthError::BadMetadata(format!(
            "{what} is not valid metadata JSON ({e}); check the issuer in the config"
        ))
    })
}

#[derive(Deserialize)]
struct RawMetadata {
    issuer: Option<String>,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    revocation_endpoint: Option<String>,
    userinfo_endpoint: Option<String>,
    introspection_endpoint: Option<String>,
    device_authorization_endpoint: Option<String>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
    code_challenge_methods_supported: Option<Vec<String>>,
    grant_types_supported: Option<Vec<String>>,
    scopes_supported: Option<Vec<String>>,
}

impl RawMetadata {
    /// This document with the gaps filled from `other` (the provider's RFC 8414 document,
    /// fetched from `source`): what this one says wins. A document about another issuer
    /// contributes nothing (the mix-up defence of [`validate`]).
    fn merged_with(
        self,
        other: RawMetadata,
        provider: &ProviderConfig,
        source: &Url,
    ) -> RawMetadata {
        let about_us =
            other.issuer.as_deref().is_some_and(|i| discovery_issuer_matches(&provider.issuer, i));
        if !about_us {
            tracing::warn!(provider = %provider.id, %source, issuer = ?other.issuer, "ignoring metadata about another issuer");
            return self;
        }
        RawMetadata {
            issuer: self.issuer,
            authorization_endpoint: self.authorization_endpoint.or(other.authorization_endpoint),
            token_endpoint: self.token_endpoint.or(other.token_endpoint),
            revocation_endpoint: self.revocation_endpoint.or(other.revocation_endpoint),
            userinfo_endpoint: self.userinfo_endpoint.or(other.userinfo_endpoint),
            introspection_endpoint: self.introspection_endpoint.or(other.introspection_endpoint),
            device_authorization_endpoint: self
                .device_authorization_endpoint
                .or(other.device_authorization_endpoint),
            // Either document's promise of `iss` makes a redirect without it a mix-up.
            authorization_response_iss_parameter_supported: self
                .authorization_response_iss_parameter_supported
                || other.authorization_response_iss_parameter_supported,
            code_challenge_methods_supported: self
                .code_challenge_methods_supported
                .or(other.code_challenge_methods_supported),
            grant_types_supported: self.grant_types_supported.or(other.grant_types_supported),
            scopes_supported: self.scopes_supported.or(other.scopes_supported),
        }
    }
}

fn validate(
    raw: RawMetadata,
    provider: &ProviderConfig,
    source: &Url,
) -> Result<ProviderMetadata, OAuthError> {
    let bad = |msg: String| OAuthError::BadMetadata(format!("{source}: {msg}"));

    let issuer = raw.issuer.ok_or_else(|| bad("the `issuer` field is missing".into()))?;
    // Mix-up defence (RFC 8414 §3.3, OIDC Discovery §4.3): the document must be about the
    // issuer we asked for, or every later `iss` check compares against the wrong value.
    // Entra's multi-tenant documents name a `{tenantid}` template (see issuer.rs).
    if !discovery_issuer_matches(&provider.issuer, &issuer) {
        return Err(bad(format!(
            "the document is for issuer `{issuer}`, but provider `{}` is configured with `{}`; fix `issuer` in the config if the provider's value is right",
            provider.id,
            provider.issuer_str()
        )));
    }

    let endpoint = |field: &str, value: Option<String>| -> Result<Option<Url>, OAuthError> {
        let Some(value) = value else { return Ok(None) };
        let url =
            Url::parse(&value).map_err(|e| bad(format!("`{field}` is not a valid URL ({e})")))?;
        if !url_is_acceptable(&url) {
            return Err(bad(format!("`{field}` is `{url}`, but endpoints must use https (plain http only on 127.0.0.1, ::1 or localhost)")));
        }
        Ok(Some(url))
    };
    let required = |field: &str, value: Option<String>| -> Result<Url, OAuthError> {
        endpoint(field, value)?.ok_or_else(|| bad(format!("the `{field}` field is missing; set authorization_endpoint and token_endpoint in the config instead")))
    };

    let code_challenge_methods = raw.code_challenge_methods_supported.unwrap_or_default();
    // An absent list says nothing (many providers support PKCE without advertising it);
    // a list without S256 says no.
    if !code_challenge_methods.is_empty()
        && !code_challenge_methods.iter().any(|m| m == Pkce::METHOD)
    {
        return Err(bad(format!(
            "this provider does not support PKCE S256, which Sesame requires (it offers: {})",
            code_challenge_methods.join(", ")
        )));
    }

    Ok(ProviderMetadata {
        authorization_endpoint: required("authorization_endpoint", raw.authorization_endpoint)?,
        token_endpoint: required("token_endpoint", raw.token_endpoint)?,
        revocation_endpoint: endpoint("revocation_endpoint", raw.revocation_endpoint)?,
        userinfo_endpoint: endpoint("userinfo_endpoint", raw.userinfo_endpoint)?,
        introspection_endpoint: endpoint("introspection_endpoint", raw.introspection_endpoint)?,
        // Some providers (GitLab) have one without listing it; the preset knows where.
        device_authorization_endpoint: endpoint(
            "device_authorization_endpoint",
            raw.device_authorization_endpoint,
        )?
        .or_else(|| provider.quirks.device_authorization_endpoint.clone()),
        iss_parameter_supported: raw.authorization_response_iss_parameter_supported,
        code_challenge_methods,
        grant_types: raw.grant_types_supported.unwrap_or_default(),
        scopes_supported: raw.scopes_supported.unwrap_or_default(),
        issuer,
    })
}

#[cfg(test)]
#[path = "metadata_tests.rs"]
mod tests;
