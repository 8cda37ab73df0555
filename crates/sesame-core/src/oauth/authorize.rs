//! The authorization request URL (RFC 6749 §4.1.1 + PKCE + OIDC), with each preset's
//! extra parameters and consent policy.

use url::Url;

use super::metadata::ProviderMetadata;
use super::pkce::Pkce;
use crate::config::ConsentPrompt;
use crate::config::ProviderConfig;

/// What the URL depends on besides the provider and this sign-in's secrets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthorizationOptions {
    /// A refresh token from this provider is already stored. Google then gets no
    /// `prompt=consent`, so a returning user is not asked to consent again; Google will
    /// send no new refresh token in that case (the stored one stays valid).
    pub has_refresh_token: bool,
}

/// The configured scopes the provider does not list in its `scopes_supported`; none when
/// it publishes no list (then only the provider can judge). Checked before the browser
/// opens: a provider's `invalid_scope` redirect may not even be acceptable (DOT's has no
/// `iss`), and a named scope and config line beat either.
pub fn scopes_not_offered(meta: &ProviderMetadata, provider: &ProviderConfig) -> Vec<String> {
    if meta.scopes_supported.is_empty() {
        return Vec::new();
    }
    provider
        .scopes
        .iter()
        .filter(|s| !meta.scopes_supported.iter().any(|offered| offered == s))
        .map(str::to_owned)
        .collect()
}

pub fn authorization_url(
    meta: &ProviderMetadata,
    provider: &ProviderConfig,
    redirect_uri: &str,
    state: &str,
    nonce: &str,
    code_challenge: &str,
    options: &AuthorizationOptions,
) -> Url {
    // Start from the endpoint as given: some providers put fixed parameters in it
    // (e.g. a tenant or policy), and those must survive.
    let mut url = meta.authorization_endpoint.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code");
        q.append_pair("client_id", &provider.client_id);
        q.append_pair("redirect_uri", redirect_uri);
        q.append_pair("scope", &provider.scopes.to_string());
        q.append_pair("state", state);
        if provider.wants_openid() {
            // The nonce binds the ID token to this request; without openid there is none.
            q.append_pair("nonce", nonce);
        }
        q.append_pair("code_challenge", code_challenge);
        q.append_pair("code_challenge_method", Pkce::METHOD);
        for (key, value) in &provider.quirks.extra_authorization_params {
            q.append_pair(key, value);
        }
        let consent = match provider.quirks.consent_prompt {
            // OIDC Core §11: offline_access is ignored unless prompt=consent is sent, and
            // the provider then silently omits the refresh token.
            ConsentPrompt::WithOfflineAccess => provider.scopes.contains("offline_access"),
            ConsentPrompt::UntilRefreshTokenStored => !options.has_refresh_token,
            ConsentPrompt::Never => false,
        };
        if consent {
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
        let list = scopes.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ");
        config(&format!(
            "issuer = \"https://idp.example\"\nclient_id = \"cid\"\nscopes = [{list}]\n"
        ))
    }

    fn config(body: &str) -> ProviderConfig {
        let text = format!("[[provider]]\nid = \"p\"\n{body}");
        crate::config::Config::parse(&text, std::path::Path::new("t.toml"))
            .unwrap()
            .providers
            .remove(0)
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
            scopes_supported: vec![],
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
            &AuthorizationOptions::default(),
        );
        let p = params(&url);
        assert_eq!(p["tenant"], "t1");
        assert_eq!(p["response_type"], "code");
        assert_eq!(p["client_id"], "cid");
        assert_eq!(p["redirect_uri"], "http://127.0.0.1:5000/callback");
        assert_eq!(p["scope"], "email offline_access openid", "scope is the sorted set");
        assert_eq!(p["state"], "st");
        assert_eq!(p["nonce"], "no");
        assert_eq!(p["code_challenge"], "ch");
        assert_eq!(p["code_challenge_method"], "S256");
        assert_eq!(p["prompt"], "consent");
        assert!(
            url.as_str().contains("scope=email+offline_access+openid")
                || url.as_str().contains("scope=email%20offline_access%20openid")
        );
    }

    #[test]
    fn plain_oauth_has_no_nonce_or_prompt() {
        let p = url_with(&provider(&["read:user"]), false);
        assert!(!p.contains_key("nonce"));
        assert!(!p.contains_key("prompt"));
        assert_eq!(p["scope"], "read:user");
    }

    fn url_with(provider: &ProviderConfig, has_refresh_token: bool) -> HashMap<String, String> {
        let options = AuthorizationOptions { has_refresh_token };
        params(&authorization_url(
            &meta("https://idp.example/auth"),
            provider,
            "http://127.0.0.1:1/callback",
            "s",
            "n",
            "c",
            &options,
        ))
    }

    #[test]
    fn google_asks_for_offline_access_and_consent_only_without_refresh_token() {
        let google =
            config("preset = \"google\"\nclient_id = \"cid\"\nclient_secret = \"GOCSPX-x\"\n");
        let first = url_with(&google, false);
        assert_eq!(first["access_type"], "offline");
        assert_eq!(first["prompt"], "consent");
        assert_eq!(first["scope"], "email openid profile", "scope is the sorted set");
        let again = url_with(&google, true);
        assert_eq!(again["access_type"], "offline");
        assert!(!again.contains_key("prompt"));
        assert!(
            !first.values().chain(again.values()).any(|v| v.contains("GOCSPX")),
            "the client secret never goes in the URL"
        );
    }

    #[test]
    fn microsoft_github_gitlab_never_force_consent() {
        let ms = config("preset = \"microsoft\"\ntenant = \"common\"\nclient_id = \"cid\"\n");
        let p = url_with(&ms, false);
        assert_eq!(p["scope"], "email offline_access openid profile", "scope is the sorted set");
        assert!(!p.contains_key("prompt") && !p.contains_key("access_type"));
        let gh = config("preset = \"github\"\nclient_id = \"cid\"\n");
        let p = url_with(&gh, false);
        assert_eq!(p["scope"], "read:user user:email", "scope is the sorted set");
        assert!(!p.contains_key("prompt") && !p.contains_key("nonce"));
        assert_eq!(p["code_challenge_method"], "S256");
        let gl = config("preset = \"gitlab\"\nclient_id = \"cid\"\n");
        assert!(!url_with(&gl, false).contains_key("prompt"));
    }

    #[test]
    fn plain_oidc_ignores_has_refresh_token() {
        let p = provider(&["openid", "offline_access"]);
        assert_eq!(url_with(&p, true)["prompt"], "consent");
    }

    /// django-oauth-toolkit lists its scopes and has no `offline_access` (it issues refresh
    /// tokens anyway): the README's example scopes name one it lacks.
    #[test]
    fn dot_has_no_offline_access() {
        let p = provider(&["openid", "email", "offline_access", "api:read"]);
        assert_eq!(p.scopes_line, Some(5), "the line of `scopes` in the file");
        let mut m = meta("https://idp.example/o/authorize/");
        assert!(scopes_not_offered(&m, &p).is_empty(), "no list published: the provider judges");
        m.scopes_supported =
            ["openid", "email", "profile", "api:read", "api:write"].map(str::to_owned).to_vec();
        assert_eq!(scopes_not_offered(&m, &p), ["offline_access"]);
        let e = crate::broker::check_scopes_offered(&m, &p).unwrap_err().to_string();
        assert!(
            e.contains("does not offer scope `offline_access` (it offers: openid, email, profile, api:read, api:write)")
                && e.contains("`scopes` (line 5)"),
            "{e}"
        );
    }
}
