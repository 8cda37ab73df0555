//! The endpoints a `[[provider]]` table may name: all of them (no discovery), or some next
//! to `issuer` (discovery, then these on top: `oauth/metadata.rs`).

use url::Url;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualEndpoints {
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub revocation_endpoint: Option<Url>,
    pub userinfo_endpoint: Option<Url>,
    /// RFC 8628; without it `sesame login --device` is refused for this provider.
    pub device_authorization_endpoint: Option<Url>,
}

/// Endpoints the file names next to `issuer` (not both main ones, so Sesame still
/// discovers): each replaces the discovered value or fills in one the provider's documents
/// lack (django-oauth-toolkit's OIDC document has no `revocation_endpoint`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointOverrides {
    pub authorization_endpoint: Option<Url>,
    pub token_endpoint: Option<Url>,
    pub revocation_endpoint: Option<Url>,
    pub userinfo_endpoint: Option<Url>,
    pub device_authorization_endpoint: Option<Url>,
}
