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

pub use authorize::{authorization_url, AuthorizationOptions};
pub use client_auth::{OAuthClient, SecretPlacement};
pub use device::{
    device_authorization, poll_device_token, poll_until_done, DeviceAuthorization, Polling, Step,
    TokioClock, DEVICE_CODE_GRANT,
};
pub use error::OAuthError;
pub use id_token::{identity_from_id_token, identity_from_userinfo, Identity};
pub use loopback::{Callback, CallbackExpectations, LoopbackListener, Responder, CALLBACK_PATH};
pub use metadata::{discover, ProviderMetadata};
pub use pkce::{random_token, Pkce};
pub use token_endpoint::{
    client_credentials, exchange_code, refresh, revoke, userinfo, RevokeOutcome, TokenResponse,
};

#[cfg(test)]
mod idp_tests;
