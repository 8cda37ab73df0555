//! The authorization request URL (RFC 6749 §4.1.1 + PKCE + OIDC).

use url::Url;

use super::metadata::ProviderMetadata;
use super::pkce::Pkce;
use crate::config::ProviderConfig;

pub fn authorization_url(
    meta: &ProviderMetadata,
    provider: &ProviderConfig,
    redirect_uri: &str,
    state: &str,
    nonce: &str,
    code_challenge: &str,
) -> Url {
    // Start from the endpoint as given: some providers put fixed parameters in it
    // (e.g. a tenant or policy), and those must survive.
    let mut url = meta.authorization_endpoint.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code");
        q.append_pair("client_id", &provider.client_id);
        q.append_pair("redirect_uri", redirect_uri);
        q.append_pair("scope", &provider.scopes.join(" "));
        q.append_pair("state", state);
        if provider.wants_openid() {
            // The nonce binds the ID token to this request; without openid there is none.
            q.append_pair("nonce", nonce);
        }
        q.append_pair("code_challenge", code_challenge);
        q.append_pair("code_challenge_method", Pkce::METHOD);
        if provider.scopes.iter().any(|s| s == "offline_access") {
            // OIDC Core §11: offline_access is ignored unless prompt=consent is sent, and
            // the provider then silently omits the refresh token.
            q.append_pair("prompt", "consent");
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn provider(scopes: &[&str]) -> ProviderConfig {
        ProviderConfig {
            id: "p".into(),
            issuer: Url::parse("https://idp.example").unwrap(),
            client_id: "cid".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            endpoints: None,
            allow_scope_narrowing: true,
        }
    }

    fn meta(auth: &str) -> ProviderMetadata {
        ProviderMetadata {
            issuer: "https://idp.example".into(),
            authorization_endpoint: Url::parse(auth).unwrap(),
            token_endpoint: Url::parse("https://idp.example/token").unwrap(),
            revocation_endpoint: None,
            userinfo_endpoint: None,
            introspection_endpoint: None,
            device_authorization_endpoint: None,
            iss_parameter_supported: false,
            code_challenge_methods: vec![],
            grant_types: vec![],
        }
    }

    fn params(url: &Url) -> HashMap<String, String> {
        url.query_pairs().into_owned().collect()
    }

    #[test]
    fn oidc_with_offline_access() {
        let url = authorization_url(
            &meta("https://idp.example/auth?tenant=t1"),
            &provider(&["openid", "email", "offline_access"]),
            "http://127.0.0.1:5000/callback",
            "st",
            "no",
            "ch",
        );
        let p = params(&url);
        assert_eq!(p["tenant"], "t1");
        assert_eq!(p["response_type"], "code");
        assert_eq!(p["client_id"], "cid");
        assert_eq!(p["redirect_uri"], "http://127.0.0.1:5000/callback");
        assert_eq!(p["scope"], "openid email offline_access");
        assert_eq!(p["state"], "st");
        assert_eq!(p["nonce"], "no");
        assert_eq!(p["code_challenge"], "ch");
        assert_eq!(p["code_challenge_method"], "S256");
        assert_eq!(p["prompt"], "consent");
        assert!(url.as_str().contains("scope=openid+email+offline_access") || url.as_str().contains("scope=openid%20email"));
    }

    #[test]
    fn plain_oauth_has_no_nonce_or_prompt() {
        let url = authorization_url(&meta("https://idp.example/auth"), &provider(&["read:user"]), "http://127.0.0.1:1/callback", "s", "n", "c");
        let p = params(&url);
        assert!(!p.contains_key("nonce"));
        assert!(!p.contains_key("prompt"));
        assert_eq!(p["scope"], "read:user");
    }
}
