//! Provider metadata: from the config's manual endpoints, or discovered (OpenID Connect
//! Discovery 1.0, falling back to RFC 8414).

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
    let (source, doc) = match fetch(http, &oidc).await? {
        Some(doc) => (oidc, doc),
        None => {
            let rfc8414 = rfc8414_url(&provider.issuer);
            match fetch(http, &rfc8414).await? {
                Some(doc) => (rfc8414, doc),
                None => {
                    return Err(OAuthError::BadMetadata(format!(
                        "provider `{}` has no discovery document at {oidc} nor at {rfc8414} (HTTP 404); check its issuer, or set authorization_endpoint and token_endpoint in the config",
                        provider.id
                    )))
                }
            }
        }
    };
    validate(doc, provider, &source)
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
        issuer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn provider(issuer: &str) -> ProviderConfig {
        let text = format!("[[provider]]\nid = \"p\"\nissuer = \"{issuer}\"\nclient_id = \"c\"\nscopes = [\"openid\"]\n");
        crate::config::Config::parse(&text, std::path::Path::new("t.toml"))
            .unwrap()
            .providers
            .remove(0)
    }

    fn preset(text: &str) -> ProviderConfig {
        crate::config::Config::parse(text, std::path::Path::new("t.toml"))
            .unwrap()
            .providers
            .remove(0)
    }

    /// The shape of https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration
    /// (abridged): the issuer is a template, no iss-parameter promise, S256 advertised.
    const ENTRA_DOC: &str = r#"{"token_endpoint":"https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported":["client_secret_post","private_key_jwt","client_secret_basic"],
        "jwks_uri":"https://login.microsoftonline.com/organizations/discovery/v2.0/keys",
        "response_modes_supported":["query","fragment","form_post"],"subject_types_supported":["pairwise"],
        "id_token_signing_alg_values_supported":["RS256"],"response_types_supported":["code","id_token","code id_token","id_token token"],
        "scopes_supported":["openid","profile","email","offline_access"],"issuer":"https://login.microsoftonline.com/{tenantid}/v2.0",
        "request_uri_parameter_supported":false,"userinfo_endpoint":"https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint":"https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize",
        "device_authorization_endpoint":"https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode",
        "http_logout_supported":true,"frontchannel_logout_supported":true,
        "end_session_endpoint":"https://login.microsoftonline.com/organizations/oauth2/v2.0/logout",
        "claims_supported":["sub","iss","cloud_instance_name","cloud_instance_host_name","cloud_graph_host_name","msgraph_host","aud","exp","iat","auth_time","acr","nonce","preferred_username","name","tid","ver","at_hash","c_hash","email"],
        "kerberos_endpoint":"https://login.microsoftonline.com/organizations/kerberos","tenant_region_scope":null,
        "cloud_instance_name":"microsoftonline.com","cloud_graph_host_name":"graph.windows.net","msgraph_host":"graph.microsoft.com","rbac_url":"https://pas.windows.net"}"#;

    #[test]
    fn entra_multi_tenant_document_is_accepted() {
        let p = preset("[[provider]]\nid = \"work\"\npreset = \"microsoft\"\ntenant = \"organizations\"\nclient_id = \"c\"\n");
        let source = Url::parse(
            "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration",
        )
        .unwrap();
        let meta = validate(serde_json::from_str(ENTRA_DOC).unwrap(), &p, &source).unwrap();
        assert_eq!(meta.issuer, "https://login.microsoftonline.com/{tenantid}/v2.0");
        assert!(meta.revocation_endpoint.is_none() && !meta.iss_parameter_supported);
        assert_eq!(
            meta.device_authorization_endpoint.as_ref().unwrap().as_str(),
            "https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode"
        );
        // The same document under a single-tenant configuration is a mix-up.
        let single = preset("[[provider]]\nid = \"work\"\npreset = \"microsoft\"\ntenant = \"72f988bf-86f1-41af-91ab-2d7cd011db47\"\nclient_id = \"c\"\n");
        let e = validate(serde_json::from_str(ENTRA_DOC).unwrap(), &single, &source).unwrap_err();
        assert!(
            e.to_string()
                .contains("is for issuer `https://login.microsoftonline.com/{tenantid}/v2.0`"),
            "{e}"
        );
    }

    /// GitLab's discovery document (doorkeeper-openid_connect) does not list its device
    /// endpoint; the preset supplies it. An advertised one wins.
    #[test]
    fn gitlab_device_endpoint_comes_from_the_preset() {
        let p = preset("[[provider]]\nid = \"gl\"\npreset = \"gitlab\"\nclient_id = \"c\"\n");
        let source = Url::parse("https://gitlab.com/.well-known/openid-configuration").unwrap();
        let doc = r#"{"issuer":"https://gitlab.com","authorization_endpoint":"https://gitlab.com/oauth/authorize","token_endpoint":"https://gitlab.com/oauth/token"}"#;
        let meta = validate(serde_json::from_str(doc).unwrap(), &p, &source).unwrap();
        assert_eq!(
            meta.device_authorization_endpoint.unwrap().as_str(),
            "https://gitlab.com/oauth/authorize_device"
        );
        let doc = doc.replace(
            "}",
            r#","device_authorization_endpoint":"https://gitlab.com/oauth/device_new"}"#,
        );
        let meta = validate(serde_json::from_str(&doc).unwrap(), &p, &source).unwrap();
        assert_eq!(
            meta.device_authorization_endpoint.unwrap().as_str(),
            "https://gitlab.com/oauth/device_new"
        );
    }

    #[tokio::test]
    async fn github_preset_needs_no_discovery() {
        let p = preset("[[provider]]\nid = \"gh\"\npreset = \"github\"\nclient_id = \"Ov23li\"\n");
        let meta = discover(&reqwest::Client::new(), &p).await.unwrap();
        assert_eq!(meta.token_endpoint.as_str(), "https://github.com/login/oauth/access_token");
        assert_eq!(meta.userinfo_endpoint.unwrap().as_str(), "https://api.github.com/user");
        assert!(meta.revocation_endpoint.is_none());
        assert_eq!(
            meta.device_authorization_endpoint.unwrap().as_str(),
            "https://github.com/login/device/code"
        );
    }

    /// A tiny HTTP server answering each path from the documents `make` builds from the
    /// server's own base URL (others get 404). Returns the base URL and the paths asked.
    async fn server(
        make: impl Fn(&str) -> Vec<(String, String)>,
    ) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let docs = make(&base);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = vec![0u8; 8192];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                log.lock().unwrap().push(path.clone());
                let (status, body) = match docs.iter().find(|(p, _)| *p == path) {
                    Some((_, body)) => ("200 OK", body.clone()),
                    None => ("404 Not Found", String::new()),
                };
                let resp = format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                let _ = s.write_all(resp.as_bytes()).await;
            }
        });
        (base, seen)
    }

    fn doc(issuer: &str, extra: &str) -> String {
        format!(
            r#"{{"issuer":"{issuer}","authorization_endpoint":"{issuer}/auth","token_endpoint":"{issuer}/token"{extra}}}"#
        )
    }

    const OIDC: &str = "/.well-known/openid-configuration";

    #[tokio::test]
    async fn discovers_openid_configuration() {
        let extra = r#","authorization_response_iss_parameter_supported":true,"code_challenge_methods_supported":["plain","S256"],"revocation_endpoint":"https://x.example/revoke""#;
        let (base, seen) = server(|b| vec![(OIDC.into(), doc(b, extra))]).await;
        let meta = discover(&reqwest::Client::new(), &provider(&base)).await.unwrap();
        assert_eq!(meta.issuer, base);
        assert!(meta.iss_parameter_supported);
        assert_eq!(meta.token_endpoint.as_str(), format!("{base}/token"));
        assert_eq!(meta.revocation_endpoint.unwrap().as_str(), "https://x.example/revoke");
        assert_eq!(seen.lock().unwrap().as_slice(), [OIDC]);
    }

    #[tokio::test]
    async fn falls_back_to_rfc8414() {
        let (base, seen) = server(|b| {
            vec![(
                "/.well-known/oauth-authorization-server/tenant".into(),
                doc(&format!("{b}/tenant"), ""),
            )]
        })
        .await;
        let meta =
            discover(&reqwest::Client::new(), &provider(&format!("{base}/tenant"))).await.unwrap();
        assert_eq!(meta.issuer, format!("{base}/tenant"));
        assert_eq!(
            seen.lock().unwrap().as_slice(),
            [
                "/tenant/.well-known/openid-configuration",
                "/.well-known/oauth-authorization-server/tenant"
            ]
        );
    }

    #[tokio::test]
    async fn no_document_says_what_to_do() {
        let (base, _) = server(|_| vec![]).await;
        let e = discover(&reqwest::Client::new(), &provider(&base)).await.unwrap_err().to_string();
        assert!(
            e.contains("404") && e.contains("authorization_endpoint and token_endpoint"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn refuses_bad_documents() {
        type MakeDoc = Box<dyn Fn(&str) -> String>;
        let cases: Vec<(MakeDoc, &str)> = vec![
            (Box::new(|_| doc("https://evil.example", "")), "is for issuer `https://evil.example`"),
            (
                Box::new(|b| doc(b, r#","code_challenge_methods_supported":["plain"]"#)),
                "does not support PKCE S256",
            ),
            (
                Box::new(|b| format!(r#"{{"issuer":"{b}","authorization_endpoint":"{b}/auth"}}"#)),
                "`token_endpoint` field is missing",
            ),
            (
                Box::new(|b| doc(b, r#","userinfo_endpoint":"http://idp.example/userinfo""#)),
                "`userinfo_endpoint` is `http://idp.example/userinfo`",
            ),
            (Box::new(|_| "not json".into()), "not valid metadata JSON"),
        ];
        for (make, expected) in cases {
            let (base, _) = server(|b| vec![(OIDC.into(), make(b))]).await;
            let e = discover(&reqwest::Client::new(), &provider(&base)).await.unwrap_err();
            assert!(matches!(e, OAuthError::BadMetadata(_)), "{e}");
            assert!(e.to_string().contains(expected), "{e}");
        }
    }

    #[tokio::test]
    async fn trailing_slash_is_tolerated() {
        let (base, _) = server(|b| vec![(OIDC.into(), doc(&format!("{b}/"), ""))]).await;
        let meta = discover(&reqwest::Client::new(), &provider(&base)).await.unwrap();
        assert_eq!(meta.issuer, format!("{base}/"));
    }

    #[tokio::test]
    async fn manual_endpoints_need_no_request() {
        let mut p = provider("https://unreachable.invalid");
        p.endpoints = Some(crate::config::ManualEndpoints {
            authorization_endpoint: Url::parse("https://unreachable.invalid/authorize").unwrap(),
            token_endpoint: Url::parse("https://unreachable.invalid/token").unwrap(),
            revocation_endpoint: None,
            userinfo_endpoint: None,
            device_authorization_endpoint: None,
        });
        let meta = discover(&reqwest::Client::new(), &p).await.unwrap();
        assert_eq!(meta.issuer, "https://unreachable.invalid");
        assert!(!meta.iss_parameter_supported);
    }

    #[test]
    fn well_known_urls() {
        let u = |s| Url::parse(s).unwrap();
        assert_eq!(
            oidc_discovery_url(&u("https://a.example")).as_str(),
            "https://a.example/.well-known/openid-configuration"
        );
        assert_eq!(
            oidc_discovery_url(&u("https://a.example/realms/x/")).as_str(),
            "https://a.example/realms/x/.well-known/openid-configuration"
        );
        assert_eq!(
            rfc8414_url(&u("https://a.example")).as_str(),
            "https://a.example/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            rfc8414_url(&u("https://a.example/t1")).as_str(),
            "https://a.example/.well-known/oauth-authorization-server/t1"
        );
    }
}
