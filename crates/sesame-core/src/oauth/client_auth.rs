//! How Sesame identifies itself at the token and revocation endpoints: as a public client
//! (`client_id` in the form; PKCE protects the code), or with a client secret — in the form
//! (`client_secret_post`: what Google and GitHub document for their desktop/OAuth apps) or
//! in HTTP Basic (`client_secret_basic`, RFC 6749 §2.3.1: what machine clients use).
//!
//! The secret comes from the keyring (or, for Google only, the config) and is fetched per
//! call by the broker; this type only carries it to the request.

use base64::Engine;
use reqwest::header::AUTHORIZATION;
use reqwest::RequestBuilder;

use crate::config::SecretPlacement;
use crate::Secret;

/// Who Sesame is at the provider for one request. `Debug` never shows the secret.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    pub id: String,
    secret: Option<(Secret, SecretPlacement)>,
}

impl OAuthClient {
    pub fn public(id: impl Into<String>) -> OAuthClient {
        OAuthClient { id: id.into(), secret: None }
    }

    pub fn with_secret(
        id: impl Into<String>,
        secret: Secret,
        placement: SecretPlacement,
    ) -> OAuthClient {
        OAuthClient { id: id.into(), secret: Some((secret, placement)) }
    }

    /// The secret and where it goes (the refresh helper rebuilds the client from these).
    pub(crate) fn secret(&self) -> Option<(&Secret, SecretPlacement)> {
        self.secret.as_ref().map(|(s, p)| (s, *p))
    }

    pub fn has_secret(&self) -> bool {
        self.secret.is_some()
    }

    /// The form fields that identify the client: `client_id` (except with Basic, where the
    /// header names it and a second mechanism would be refused), plus `client_secret` when
    /// it goes in the form.
    pub(crate) fn form_fields(&self) -> Vec<(&'static str, &str)> {
        match &self.secret {
            None => vec![("client_id", self.id.as_str())],
            Some((secret, SecretPlacement::Form)) => {
                vec![("client_id", self.id.as_str()), ("client_secret", secret.expose())]
            }
            Some((_, SecretPlacement::Basic)) => vec![],
        }
    }

    /// Adds the `Authorization: Basic` header when the secret goes there.
    pub(crate) fn authorize(&self, req: RequestBuilder) -> RequestBuilder {
        match &self.secret {
            Some((secret, SecretPlacement::Basic)) => {
                req.header(AUTHORIZATION, basic_credentials(&self.id, secret))
            }
            _ => req,
        }
    }
}

/// RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and encoded,
/// so a `:` in either survives.
fn basic_credentials(id: &str, secret: &Secret) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let mut pair = format!("{}:{}", enc(id), enc(secret.expose()));
    let value =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair.as_bytes()));
    // SAFETY: zero bytes are valid UTF-8.
    unsafe { pair.as_bytes_mut().fill(0) };
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_urlencoded_first() {
        let v = basic_credentials("machine-client", &Secret::new("a:b c"));
        let raw = base64::engine::general_purpose::STANDARD
            .decode(v.strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(String::from_utf8(raw).unwrap(), "machine-client:a%3Ab+c");
    }

    #[test]
    fn fields_per_placement() {
        assert_eq!(OAuthClient::public("cid").form_fields(), vec![("client_id", "cid")]);
        let post = OAuthClient::with_secret("cid", Secret::new("S"), SecretPlacement::Form);
        assert_eq!(post.form_fields(), vec![("client_id", "cid"), ("client_secret", "S")]);
        let basic =
            OAuthClient::with_secret("cid", Secret::new("TOPSECRET"), SecretPlacement::Basic);
        assert!(basic.form_fields().is_empty() && basic.has_secret());
        assert!(
            !format!("{basic:?}").contains("TOPSECRET")
                && format!("{basic:?}").contains("<redacted>")
        );
    }
}
