//! OAuth 2.0 / OpenID Connect client side: discovery, the authorization request, the
//! loopback redirect, the token endpoint and the ID token. Public client + PKCE, plus a
//! client secret where a provider demands one, and the client-credentials grant.

mod authorize;
mod client_auth;
mod error;
mod id_token;
mod issuer;
mod loopback;
mod metadata;
mod pkce;
mod token_endpoint;

pub use authorize::{authorization_url, AuthorizationOptions};
pub use client_auth::{OAuthClient, SecretPlacement};
pub use error::OAuthError;
pub use id_token::{identity_from_id_token, identity_from_userinfo, Identity};
pub use loopback::{Callback, CallbackExpectations, LoopbackListener, Responder, CALLBACK_PATH};
pub use metadata::{discover, ProviderMetadata};
pub use pkce::{random_token, Pkce};
pub use token_endpoint::{client_credentials, exchange_code, refresh, revoke, userinfo, RevokeOutcome, TokenResponse};

#[cfg(test)]
mod idp_tests;
