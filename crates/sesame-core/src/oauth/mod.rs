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
pub use authorize::{authorization_url, AuthorizationOptions};
pub use client_auth::OAuthClient;
pub use device::{
    device_authorization, poll_device_token, poll_until_done, DeviceAuthorization, Polling,
    TokioClock,
};
pub use error::OAuthError;
pub use id_token::{identity_from_id_token, identity_from_userinfo, Identity};
pub use loopback::{CallbackExpectations, LoopbackListener};
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

#[cfg(test)]
mod idp_tests;
