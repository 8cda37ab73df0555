//! OAuth 2.0 / OpenID Connect client side: discovery, the authorization request, the
//! loopback redirect, the device authorization grant (RFC 8628), the token endpoint and the
//! ID token. Public client + PKCE for the code flow, plus a client secret where a provider
//! demands one, and the client-credentials grant.

mod authorize;
mod client_auth;
mod device;
mod error;
mod id_token;
mod issuer;
mod loopback;
mod metadata;
mod pkce;
mod token_endpoint;

pub use crate::config::SecretPlacement;
pub use authorize::{authorization_url, scopes_not_offered, AuthorizationOptions};
pub use client_auth::OAuthClient;
pub use device::{
    device_authorization, poll_device_token, poll_until_done, DeviceAuthorization, Polling,
    TokioClock,
};
pub use error::OAuthError;
pub use id_token::{identity_from_id_token, identity_from_userinfo, Identity};
pub use loopback::{port_holder, CallbackExpectations, LoopbackListener};
pub use metadata::{discover, ProviderMetadata};
pub use pkce::{random_token, Pkce};
pub use token_endpoint::{
    client_credentials, exchange_code, refresh, revoke, userinfo, RevokeOutcome, TokenResponse,
};

/// The HTTP client for every call at a provider: bounded in time, and no redirects (a 307
/// would re-send codes and tokens wherever it points).
pub fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("sesame/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// The parsers of provider answers and of the loopback redirect, without the network, for
/// the fuzz targets (feature `fuzzing`).
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzzing {
    use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
    use reqwest::StatusCode;

    pub(crate) use super::loopback::serve_reads;
    pub(crate) use super::token_endpoint::parse_retry_after;
    use super::token_endpoint::{token_response, HttpAnswer};
    use super::{DeviceAuthorization, OAuthError, TokenResponse};

    /// An answer of the provider as the HTTP client would hand it over (`None` where it
    /// would refuse it: a status outside 100–999, a header that is not HTTP), read as a
    /// token response and as a device authorization response.
    #[allow(clippy::type_complexity)]
    pub(crate) fn provider_answer(
        status: u16,
        headers: &[(&[u8], &[u8])],
        body: &[u8],
    ) -> Option<(Result<TokenResponse, OAuthError>, Result<DeviceAuthorization, OAuthError>)> {
        let status = StatusCode::from_u16(status).ok()?;
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(HeaderName::from_bytes(name).ok()?, HeaderValue::from_bytes(value).ok()?);
        }
        let answer = HttpAnswer::new(status, &map, body.to_vec());
        Some((token_response(&answer), super::device::parse_device_authorization(&answer)))
    }
}

#[cfg(test)]
mod idp_tests;
