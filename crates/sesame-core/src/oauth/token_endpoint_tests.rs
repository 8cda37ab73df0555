//! Tests for the back-channel calls, against a one-shot HTTP server on 127.0.0.1.

use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

/// Serves one canned answer and hands back the raw request it got.
async fn serve_once(status: &str, content_type: &str, body: &str) -> (Url, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/ep", listener.local_addr().unwrap())).unwrap();
    let response = format!("HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    let task = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut req = Vec::new();
        let mut buf = [0u8; 4096];
        // Read the head, then the body by Content-Length.
        loop {
            let n = s.read(&mut buf).await.unwrap();
            req.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&req).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().parse::<usize>().unwrap())).unwrap_or(0);
                if req.len() >= end + 4 + len {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        s.write_all(response.as_bytes()).await.unwrap();
        String::from_utf8(req).unwrap()
    });
    (url, task)
}

fn meta(endpoint: &Url) -> ProviderMetadata {
    ProviderMetadata {
        issuer: "http://127.0.0.1".into(),
        authorization_endpoint: endpoint.clone(),
        token_endpoint: endpoint.clone(),
        revocation_endpoint: Some(endpoint.clone()),
        userinfo_endpoint: Some(endpoint.clone()),
        introspection_endpoint: None,
        device_authorization_endpoint: None,
        iss_parameter_supported: false,
        code_challenge_methods: vec![],
        grant_types: vec![],
    }
}

#[tokio::test]
async fn exchanges_code() {
    let body = r#"{"access_token":"AT-1","token_type":"bearer","expires_in":"3600","refresh_token":"RT-1","scope":"openid email","id_token":"a.b.c"}"#;
    let (url, req) = serve_once("200 OK", "application/json", body).await;
    let t = exchange_code(&reqwest::Client::new(), &meta(&url), "cid", &Secret::new("CODE-1"), &Secret::new("VER-1"), "http://127.0.0.1:5/callback").await.unwrap();
    assert_eq!(t.access_token.expose(), "AT-1");
    assert_eq!(t.token_type, "Bearer");
    assert_eq!(t.expires_in, Some(3600));
    assert_eq!(t.refresh_token.as_ref().unwrap().expose(), "RT-1");
    assert_eq!(t.scope.as_deref(), Some("openid email"));
    assert!(!format!("{t:?}").contains("AT-1"));
    let req = req.await.unwrap();
    assert!(req.starts_with("POST /ep "));
    assert!(req.to_ascii_lowercase().contains("accept: application/json"));
    for part in ["grant_type=authorization_code", "code=CODE-1", "code_verifier=VER-1", "client_id=cid", "redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Fcallback"] {
        assert!(req.contains(part), "{part} missing");
    }
}

#[tokio::test]
async fn refresh_sends_scope_and_maps_invalid_grant() {
    let (url, req) = serve_once("400 Bad Request", "application/json", r#"{"error":"invalid_grant","error_description":"grant revoked"}"#).await;
    let e = refresh(&reqwest::Client::new(), &meta(&url), "cid", &Secret::new("RT-SECRET"), Some("email")).await.unwrap_err();
    assert!(matches!(&e, OAuthError::InvalidGrant { description: Some(d) } if d == "grant revoked"), "{e}");
    let req = req.await.unwrap();
    assert!(req.contains("grant_type=refresh_token") && req.contains("scope=email") && req.contains("refresh_token=RT-SECRET"));
    assert!(!e.to_string().contains("RT-SECRET"));
}

#[tokio::test]
async fn error_mapping() {
    let (url, _) = serve_once("503 Service Unavailable", "text/html", "<h1>down</h1>").await;
    let e = refresh(&reqwest::Client::new(), &meta(&url), "cid", &Secret::new("x"), None).await.unwrap_err();
    assert!(matches!(e, OAuthError::Unreachable { .. }), "{e}");

    let (url, _) = serve_once("429 Too Many Requests", "text/plain", "slow down").await;
    let e = refresh(&reqwest::Client::new(), &meta(&url), "cid", &Secret::new("x"), None).await.unwrap_err();
    assert!(e.to_string().contains("rate limited"), "{e}");

    let (url, _) = serve_once("401 Unauthorized", "application/json", r#"{"error":"invalid_client"}"#).await;
    let e = refresh(&reqwest::Client::new(), &meta(&url), "cid", &Secret::new("x"), None).await.unwrap_err();
    assert!(matches!(&e, OAuthError::Provider { error, .. } if error == "invalid_client"), "{e}");

    // A 200 answer that is not JSON must not be quoted: it might hold tokens.
    let (url, _) = serve_once("200 OK", "application/x-www-form-urlencoded", "access_token=LEAK&token_type=bearer").await;
    let e = refresh(&reqwest::Client::new(), &meta(&url), "cid", &Secret::new("x"), None).await.unwrap_err();
    assert!(matches!(e, OAuthError::BadResponse(_)) && !e.to_string().contains("LEAK"), "{e}");

    // GitHub style: an error with status 200.
    let (url, _) = serve_once("200 OK", "application/json", r#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}"#).await;
    let e = exchange_code(&reqwest::Client::new(), &meta(&url), "cid", &Secret::new("c"), &Secret::new("v"), "http://127.0.0.1:1/callback").await.unwrap_err();
    assert!(e.to_string().contains("incorrect or expired"), "{e}");
}

#[tokio::test]
async fn unreachable_when_nobody_listens() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/token", listener.local_addr().unwrap())).unwrap();
    drop(listener);
    let e = refresh(&reqwest::Client::new(), &meta(&url), "cid", &Secret::new("x"), None).await.unwrap_err();
    assert!(matches!(e, OAuthError::Unreachable { .. }), "{e}");
}

#[tokio::test]
async fn revoke_outcomes() {
    let (url, req) = serve_once("200 OK", "application/json", "").await;
    let out = revoke(&reqwest::Client::new(), &meta(&url), "cid", &Secret::new("RT"), "refresh_token").await.unwrap();
    assert_eq!(out, RevokeOutcome::Confirmed);
    assert!(req.await.unwrap().contains("token_type_hint=refresh_token"));

    let (url, _) = serve_once("400 Bad Request", "application/json", r#"{"error":"unsupported_token_type"}"#).await;
    let e = revoke(&reqwest::Client::new(), &meta(&url), "cid", &Secret::new("RT"), "refresh_token").await.unwrap_err();
    assert!(matches!(&e, OAuthError::Provider { error, .. } if error == "unsupported_token_type"), "{e}");

    let mut m = meta(&url);
    m.revocation_endpoint = None;
    assert_eq!(revoke(&reqwest::Client::new(), &m, "cid", &Secret::new("RT"), "refresh_token").await.unwrap(), RevokeOutcome::NotSupported);
}

#[tokio::test]
async fn userinfo_sends_bearer() {
    let (url, req) = serve_once("200 OK", "application/json", r#"{"sub":"u1","email":"a@b.c"}"#).await;
    let v = userinfo(&reqwest::Client::new(), &meta(&url), &Secret::new("AT-9")).await.unwrap();
    assert_eq!(v["sub"], "u1");
    assert!(req.await.unwrap().contains("Bearer AT-9"));
}

#[test]
fn lenient_token_fields() {
    let answer = |body: &str| HttpAnswer { status: StatusCode::OK, content_type: "application/json".into(), retry_after: None, location: None, body: body.as_bytes().to_vec() };
    let t = token_response(&answer(r#"{"access_token":"a","expires_in":120}"#)).unwrap();
    assert_eq!((t.token_type.as_str(), t.expires_in), ("Bearer", Some(120)));
    assert!(t.refresh_token.is_none() && t.id_token.is_none());
    let t = token_response(&answer(r#"{"access_token":"a","token_type":"DPoP","expires_in":"x","scope":["a","b"]}"#)).unwrap();
    assert_eq!((t.token_type.as_str(), t.expires_in, t.scope.as_deref()), ("DPoP", None, Some("a b")));
    assert!(matches!(token_response(&answer(r#"{"token_type":"bearer"}"#)), Err(OAuthError::BadResponse(_))));
}
