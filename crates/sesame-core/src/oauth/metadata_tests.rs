//! Discovery: recorded-shape documents and a tiny HTTP server.

use super::*;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn provider(issuer: &str) -> ProviderConfig {
    let text = format!("[[provider]]\nid = \"p\"\nissuer = \"{issuer}\"\nclient_id = \"c\"\nscopes = [\"openid\"]\n");
    crate::config::Config::parse(&text, std::path::Path::new("t.toml")).unwrap().providers.remove(0)
}

fn preset(text: &str) -> ProviderConfig {
    crate::config::Config::parse(text, std::path::Path::new("t.toml")).unwrap().providers.remove(0)
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
        e.to_string().contains("is for issuer `https://login.microsoftonline.com/{tenantid}/v2.0`"),
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
    let doc = doc
        .replace("}", r#","device_authorization_endpoint":"https://gitlab.com/oauth/device_new"}"#);
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
async fn server(make: impl Fn(&str) -> Vec<(String, String)>) -> (String, Arc<Mutex<Vec<String>>>) {
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
    // Both documents are read (the second one is a 404 here).
    assert_eq!(seen.lock().unwrap().as_slice(), [OIDC, "/.well-known/oauth-authorization-server"]);
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
    assert!(e.contains("404") && e.contains("authorization_endpoint and token_endpoint"), "{e}");
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

/// django-oauth-toolkit 3.4's two documents (abridged, issuer `<origin>/o`): its OIDC
/// discovery lacks `revocation_endpoint` and `introspection_endpoint`; its RFC 8414
/// document, at the §3.1 path-inserted location, has both.
fn dot_docs(origin: &str) -> Vec<(String, String)> {
    let i = format!("{origin}/o");
    let oidc = format!(
        r#"{{"issuer": "{i}", "authorization_endpoint": "{i}/authorize/", "token_endpoint": "{i}/token/",
        "userinfo_endpoint": "{i}/userinfo/", "jwks_uri": "{i}/.well-known/jwks.json",
        "scopes_supported": ["openid", "email", "profile", "api:read", "api:write"],
        "response_types_supported": ["code", "token", "id_token"], "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "HS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["S256"], "claims_supported": ["sub"],
        "authorization_response_iss_parameter_supported": true}}"#
    );
    let rfc8414 = format!(
        r#"{{"issuer": "{i}", "response_types_supported": ["code", "token"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "scopes_supported": ["api:read", "api:write", "email", "openid", "profile"],
        "authorization_response_iss_parameter_supported": true,
        "authorization_endpoint": "{i}/authorize/", "token_endpoint": "{i}/token/",
        "revocation_endpoint": "{i}/revoke_token/", "introspection_endpoint": "{i}/introspect/",
        "code_challenge_methods_supported": ["S256"]}}"#
    );
    vec![
        ("/o/.well-known/openid-configuration".into(), oidc),
        ("/.well-known/oauth-authorization-server/o".into(), rfc8414),
    ]
}

#[tokio::test]
async fn dot_revocation_endpoint_comes_from_its_rfc8414_document() {
    let (base, seen) = server(dot_docs).await;
    let meta = discover(&reqwest::Client::new(), &provider(&format!("{base}/o"))).await.unwrap();
    assert_eq!(meta.revocation_endpoint.unwrap().as_str(), format!("{base}/o/revoke_token/"));
    assert_eq!(meta.introspection_endpoint.unwrap().as_str(), format!("{base}/o/introspect/"));
    // What the OIDC document says wins where both say it.
    assert_eq!(meta.userinfo_endpoint.unwrap().as_str(), format!("{base}/o/userinfo/"));
    assert_eq!(meta.scopes_supported, ["openid", "email", "profile", "api:read", "api:write"]);
    assert_eq!(meta.grant_types, ["authorization_code", "client_credentials", "refresh_token"]);
    assert!(meta.iss_parameter_supported);
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        ["/o/.well-known/openid-configuration", "/.well-known/oauth-authorization-server/o"]
    );
}

#[tokio::test]
async fn a_second_document_about_another_issuer_adds_nothing() {
    let (base, _) = server(|b| {
        let mut docs = dot_docs(b);
        docs[1].1 = docs[1].1.replace(&format!("\"{b}/o\""), "\"https://evil.example\"");
        docs
    })
    .await;
    let meta = discover(&reqwest::Client::new(), &provider(&format!("{base}/o"))).await.unwrap();
    assert!(meta.revocation_endpoint.is_none(), "{meta:?}");
    assert!(meta.grant_types.is_empty());
}

#[tokio::test]
async fn a_broken_second_document_is_not_fatal() {
    let (base, _) = server(|b| {
        let mut docs = dot_docs(b);
        docs[1].1 = "<html>not metadata</html>".into();
        docs
    })
    .await;
    let meta = discover(&reqwest::Client::new(), &provider(&format!("{base}/o"))).await.unwrap();
    assert!(meta.revocation_endpoint.is_none());
}

/// An endpoint set next to `issuer` fills in one neither document has, or replaces one.
#[tokio::test]
async fn endpoints_in_the_config_override_discovery() {
    let (base, seen) = server(|b| vec![(OIDC.into(), doc(b, ""))]).await;
    let text = format!(
        "[[provider]]\nid = \"p\"\nissuer = \"{base}\"\nclient_id = \"c\"\nscopes = [\"openid\"]\nrevocation_endpoint = \"{base}/revoke\"\ntoken_endpoint = \"{base}/other-token\"\n"
    );
    let p = preset(&text);
    assert!(p.endpoints.is_none(), "one main endpoint alone still discovers");
    let meta = discover(&reqwest::Client::new(), &p).await.unwrap();
    assert_eq!(meta.revocation_endpoint.unwrap().as_str(), format!("{base}/revoke"));
    assert_eq!(meta.token_endpoint.as_str(), format!("{base}/other-token"));
    assert_eq!(meta.authorization_endpoint.as_str(), format!("{base}/auth"));
    assert!(!seen.lock().unwrap().is_empty());
}
