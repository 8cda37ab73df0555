//! Tests for the back-channel calls, against a one-shot HTTP server on 127.0.0.1.

use super::*;
use crate::oauth::SecretPlacement;
use crate::test_http::serve_once;
use tokio::net::TcpListener;
use url::Url;

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
        scopes_supported: vec![],
    }
}

fn public(id: &str) -> OAuthClient {
    OAuthClient::public(id)
}

#[tokio::test]
async fn exchanges_code() {
    let body = r#"{"access_token":"AT-1","token_type":"bearer","expires_in":"3600","refresh_token":"RT-1","scope":"openid email","id_token":"a.b.c"}"#;
    let (url, req) = serve_once("200 OK", "application/json", body).await;
    let t = exchange_code(
        &reqwest::Client::new(),
        &meta(&url),
        &public("cid"),
        &Secret::new("CODE-1"),
        &Secret::new("VER-1"),
        "http://127.0.0.1:5/callback",
    )
    .await
    .unwrap();
    assert_eq!(t.access_token.expose(), "AT-1");
    assert_eq!(t.token_type, "Bearer");
    assert_eq!(t.expires_in, Some(3600));
    assert_eq!(t.refresh_token.as_ref().unwrap().expose(), "RT-1");
    assert_eq!(t.scope.clone(), Some(sp("openid email")));
    assert!(!format!("{t:?}").contains("AT-1"));
    let req = req.await.unwrap();
    assert!(req.starts_with("POST /ep "));
    assert!(req.to_ascii_lowercase().contains("accept: application/json"));
    for part in [
        "grant_type=authorization_code",
        "code=CODE-1",
        "code_verifier=VER-1",
        "client_id=cid",
        "redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Fcallback",
    ] {
        assert!(req.contains(part), "{part} missing");
    }
}

#[tokio::test]
async fn refresh_sends_scope_and_maps_invalid_grant() {
    let (url, req) = serve_once(
        "400 Bad Request",
        "application/json",
        r#"{"error":"invalid_grant","error_description":"grant revoked"}"#,
    )
    .await;
    let e = refresh(
        &reqwest::Client::new(),
        &meta(&url),
        &public("cid"),
        &Secret::new("RT-SECRET"),
        Some(&sp("email")),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, OAuthError::InvalidGrant { description: Some(d) } if d == "grant revoked"),
        "{e}"
    );
    let req = req.await.unwrap();
    assert!(
        req.contains("grant_type=refresh_token")
            && req.contains("scope=email")
            && req.contains("refresh_token=RT-SECRET")
    );
    assert!(!e.to_string().contains("RT-SECRET"));
}

#[tokio::test]
async fn error_mapping() {
    let (url, _) = serve_once("503 Service Unavailable", "text/html", "<h1>down</h1>").await;
    let e = refresh(&reqwest::Client::new(), &meta(&url), &public("cid"), &Secret::new("x"), None)
        .await
        .unwrap_err();
    assert!(matches!(e, OAuthError::Unreachable { .. }), "{e}");

    let (url, _) = serve_once("429 Too Many Requests", "text/plain", "slow down").await;
    let e = refresh(&reqwest::Client::new(), &meta(&url), &public("cid"), &Secret::new("x"), None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("rate limited"), "{e}");

    let (url, _) =
        serve_once("401 Unauthorized", "application/json", r#"{"error":"invalid_client"}"#).await;
    let e = refresh(&reqwest::Client::new(), &meta(&url), &public("cid"), &Secret::new("x"), None)
        .await
        .unwrap_err();
    assert!(matches!(&e, OAuthError::Provider { error, .. } if error == "invalid_client"), "{e}");

    // A 200 answer that is neither JSON nor a form must not be quoted: it might hold tokens.
    let (url, _) = serve_once("200 OK", "text/plain", "access_token=LEAK&token_type=bearer").await;
    let e = refresh(&reqwest::Client::new(), &meta(&url), &public("cid"), &Secret::new("x"), None)
        .await
        .unwrap_err();
    assert!(matches!(e, OAuthError::BadResponse(_)) && !e.to_string().contains("LEAK"), "{e}");

    // GitHub style: an error with status 200.
    let (url, _) = serve_once("200 OK", "application/json", r#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}"#).await;
    let e = exchange_code(
        &reqwest::Client::new(),
        &meta(&url),
        &public("cid"),
        &Secret::new("c"),
        &Secret::new("v"),
        "http://127.0.0.1:1/callback",
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("incorrect or expired"), "{e}");
}

#[tokio::test]
async fn unreachable_when_nobody_listens() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/token", listener.local_addr().unwrap())).unwrap();
    drop(listener);
    let e = refresh(&reqwest::Client::new(), &meta(&url), &public("cid"), &Secret::new("x"), None)
        .await
        .unwrap_err();
    assert!(matches!(e, OAuthError::Unreachable { .. }), "{e}");
}

#[tokio::test]
async fn revoke_outcomes() {
    let (url, req) = serve_once("200 OK", "application/json", "").await;
    let out = revoke(
        &reqwest::Client::new(),
        &meta(&url),
        &public("cid"),
        &Secret::new("RT"),
        "refresh_token",
    )
    .await
    .unwrap();
    assert_eq!(out, RevokeOutcome::Confirmed);
    assert!(req.await.unwrap().contains("token_type_hint=refresh_token"));

    let (url, _) =
        serve_once("400 Bad Request", "application/json", r#"{"error":"unsupported_token_type"}"#)
            .await;
    let e = revoke(
        &reqwest::Client::new(),
        &meta(&url),
        &public("cid"),
        &Secret::new("RT"),
        "refresh_token",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, OAuthError::Provider { error, .. } if error == "unsupported_token_type"),
        "{e}"
    );

    let mut m = meta(&url);
    m.revocation_endpoint = None;
    assert_eq!(
        revoke(&reqwest::Client::new(), &m, &public("cid"), &Secret::new("RT"), "refresh_token")
            .await
            .unwrap(),
        RevokeOutcome::NotSupported
    );
}

#[tokio::test]
async fn userinfo_sends_bearer() {
    let (url, req) =
        serve_once("200 OK", "application/json", r#"{"sub":"u1","email":"a@b.c"}"#).await;
    let v = userinfo(&reqwest::Client::new(), &meta(&url), &Secret::new("AT-9")).await.unwrap();
    assert_eq!(v["sub"], "u1");
    assert!(req.await.unwrap().contains("Bearer AT-9"));
}

#[test]
fn lenient_token_fields() {
    let answer = |body: &str| HttpAnswer {
        status: StatusCode::OK,
        content_type: "application/json".into(),
        retry_after: None,
        location: None,
        body: body.as_bytes().to_vec(),
    };
    let t = token_response(&answer(r#"{"access_token":"a","expires_in":120}"#)).unwrap();
    assert_eq!((t.token_type.as_str(), t.expires_in), ("Bearer", Some(120)));
    assert!(t.refresh_token.is_none() && t.id_token.is_none());
    let t = token_response(&answer(
        r#"{"access_token":"a","token_type":"DPoP","expires_in":"x","scope":["a","b"]}"#,
    ))
    .unwrap();
    assert_eq!(
        (t.token_type.as_str(), t.expires_in, t.scope.clone()),
        ("DPoP", None, Some(sp("a b")))
    );
    assert!(matches!(
        token_response(&answer(r#"{"token_type":"bearer"}"#)),
        Err(OAuthError::BadResponse(_))
    ));
}

// Provider quirks, on answers shaped as each provider documents them.

/// A client whose secret goes in the form, as Google and GitHub document it.
fn post(id: &str, secret: &str) -> OAuthClient {
    OAuthClient::with_secret(id, Secret::new(secret), SecretPlacement::Form)
}

fn answer(content_type: &str, body: &str) -> HttpAnswer {
    HttpAnswer {
        status: StatusCode::OK,
        content_type: content_type.into(),
        retry_after: None,
        location: None,
        body: body.as_bytes().to_vec(),
    }
}

/// GitHub without `Accept: application/json` answers form-encoded, scopes comma-separated.
#[tokio::test]
async fn github_form_encoded_answer_and_client_secret() {
    let body =
        "access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&scope=repo%2Cgist&token_type=bearer";
    let (url, req) =
        serve_once("200 OK", "application/x-www-form-urlencoded; charset=utf-8", body).await;
    let t = exchange_code(
        &reqwest::Client::new(),
        &meta(&url),
        &post("Ov23li", "GH-SECRET"),
        &Secret::new("C"),
        &Secret::new("V"),
        "http://127.0.0.1:5/callback",
    )
    .await
    .unwrap();
    assert_eq!(t.access_token.expose(), "gho_16C7e42F292c6912E7710c838347Ae178B4a");
    assert_eq!((t.token_type.as_str(), t.scope.clone()), ("Bearer", Some(sp("repo gist"))));
    assert!(t.refresh_token.is_none() && t.expires_in.is_none() && t.id_token.is_none());
    let req = req.await.unwrap();
    assert!(
        req.contains("client_secret=GH-SECRET") && req.contains("code_verifier=V"),
        "PKCE and the secret both go"
    );
    assert!(req.to_ascii_lowercase().contains("accept: application/json"));
}

/// A GitHub App's expiring user token (JSON, as with `Accept: application/json`).
#[test]
fn github_app_expiring_token_json() {
    let body = r#"{"access_token":"ghu_16C7e42F292c6912E7710c838347Ae178B4a","expires_in":28800,"refresh_token":"ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498","refresh_token_expires_in":15811200,"scope":"","token_type":"bearer"}"#;
    let t = token_response(&answer("application/json; charset=utf-8", body)).unwrap();
    assert_eq!(t.expires_in, Some(28800));
    assert!(t.refresh_token.as_ref().unwrap().expose().starts_with("ghr_"));
    assert_eq!(
        t.scope, None,
        "GitHub Apps send an empty scope: the broker keeps the requested one"
    );
    let t = token_response(&answer(
        "application/json",
        r#"{"access_token":"gho_x","token_type":"bearer","scope":"repo,gist,read:org"}"#,
    ))
    .unwrap();
    assert_eq!(t.scope.clone(), Some(sp("repo gist read:org")));
}

/// GitHub reports errors with HTTP 200, as JSON or as a form.
#[tokio::test]
async fn github_errors_with_status_200() {
    let json = r#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired.","error_uri":"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code"}"#;
    let form = "error=bad_verification_code&error_description=The+code+passed+is+incorrect+or+expired.&error_uri=https%3A%2F%2Fdocs.github.com%2Fapps%2Fmanaging-oauth-apps%2Ftroubleshooting-oauth-app-access-token-request-errors%2F%23bad-verification-code";
    for (content_type, body) in [
        ("application/json; charset=utf-8", json),
        ("application/x-www-form-urlencoded; charset=utf-8", form),
    ] {
        let (url, _) = serve_once("200 OK", content_type, body).await;
        let e = exchange_code(
            &reqwest::Client::new(),
            &meta(&url),
            &post("cid", "GH-SECRET"),
            &Secret::new("c"),
            &Secret::new("v"),
            "http://127.0.0.1:1/callback",
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&e, OAuthError::Provider { error, description: Some(d) } if error == "bad_verification_code" && d == "The code passed is incorrect or expired."),
            "{e}"
        );
        assert!(!e.to_string().contains("GH-SECRET"));
    }
    // A dead GitHub refresh token means "sign in again", like invalid_grant.
    let (url, _) = serve_once("200 OK", "application/json", r#"{"error":"bad_refresh_token","error_description":"The refresh token passed is incorrect or expired."}"#).await;
    let e = refresh(
        &reqwest::Client::new(),
        &meta(&url),
        &post("cid", "s"),
        &Secret::new("ghr_dead"),
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, OAuthError::InvalidGrant { .. }), "{e}");
    assert!(!e.to_string().contains("ghr_dead"));
}

/// Google: refresh answers carry no refresh token and here no `scope`; the desktop
/// client's secret is sent with every token request.
#[tokio::test]
async fn google_refresh_without_scope_sends_client_secret() {
    let body = r#"{"access_token":"ya29.a0AfB_byC-EXAMPLE","expires_in":3599,"token_type":"Bearer","id_token":"eyJhbGciOiJSUzI1NiJ9.e30.sig"}"#;
    let (url, req) = serve_once("200 OK", "application/json; charset=utf-8", body).await;
    let t = refresh(
        &reqwest::Client::new(),
        &meta(&url),
        &post("1234-abc.apps.googleusercontent.com", "GOCSPX-abc"),
        &Secret::new("1//0g-RT"),
        None,
    )
    .await
    .unwrap();
    assert_eq!((t.expires_in, t.scope.clone()), (Some(3599), None));
    assert!(t.refresh_token.is_none());
    let req = req.await.unwrap();
    assert!(req.contains("client_secret=GOCSPX-abc") && !req.contains("scope="));
    // Google widens `email`/`profile` to URLs in `scope`; they are passed on as granted.
    let t = token_response(&answer("application/json", r#"{"access_token":"ya29.x","expires_in":3599,"refresh_token":"1//0g","scope":"https://www.googleapis.com/auth/userinfo.email openid https://www.googleapis.com/auth/userinfo.profile","token_type":"Bearer"}"#)).unwrap();
    assert_eq!(t.scope.clone(), Some(sp("https://www.googleapis.com/auth/userinfo.email openid https://www.googleapis.com/auth/userinfo.profile")));
}

/// Microsoft rotates the refresh token on every refresh and scopes name their resource.
#[tokio::test]
async fn microsoft_refresh_rotates_and_sends_no_secret() {
    let body = r#"{"token_type":"Bearer","scope":"https://graph.microsoft.com/Mail.Read https://graph.microsoft.com/User.Read","expires_in":4787,"ext_expires_in":4787,"access_token":"eyJ0eXAiOiJKV1QiLCJub25jZSI6IkFRQUJB.e30.sig","refresh_token":"1.AVYAnPiHc-ROTATED"}"#;
    let (url, req) = serve_once("200 OK", "application/json; charset=utf-8", body).await;
    let t = refresh(
        &reqwest::Client::new(),
        &meta(&url),
        &public("cid"),
        &Secret::new("1.AVYA-OLD"),
        Some(&sp("https://graph.microsoft.com/Mail.Read")),
    )
    .await
    .unwrap();
    assert_eq!(t.refresh_token.as_ref().unwrap().expose(), "1.AVYAnPiHc-ROTATED");
    assert_eq!(t.expires_in, Some(4787));
    let req = req.await.unwrap();
    assert!(!req.contains("client_secret"), "a public client must not send a secret to Entra");
    assert!(req.contains("scope=https%3A%2F%2Fgraph.microsoft.com%2FMail.Read"));
}

/// GitLab: refresh tokens without offline_access, a `created_at`, two-hour tokens.
#[test]
fn gitlab_token_response() {
    let body = r#"{"access_token":"de6780bc506a0446309bd9362820ba8aed28aa506c71eedbe1c5c4f9dd350e54","token_type":"Bearer","expires_in":7200,"refresh_token":"8257e65c97202ed1726cf9571600918f3bffb2544b26e00a61df9897668c33a1","scope":"openid profile email read_user","created_at":1607635748,"id_token":"a.b.c"}"#;
    let t = token_response(&answer("application/json; charset=utf-8", body)).unwrap();
    assert_eq!(
        (t.expires_in, t.scope.clone()),
        (Some(7200), Some(sp("openid profile email read_user")))
    );
    assert!(t.refresh_token.is_some() && t.id_token.is_some());
}

#[test]
fn form_error_with_failure_status() {
    let mut a = answer(
        "application/x-www-form-urlencoded",
        "error=invalid_grant&error_description=expired",
    );
    a.status = StatusCode::BAD_REQUEST;
    assert!(
        matches!(error_from_answer("the token endpoint", &a), OAuthError::InvalidGrant { description: Some(d) } if d == "expired")
    );
}

#[test]
fn scope_separators() {
    assert_eq!(normalise_scope("repo,gist"), sp("repo gist"));
    assert_eq!(normalise_scope("repo, gist"), sp("repo gist"));
    assert_eq!(normalise_scope(" openid  email "), sp("openid email"));
    // A space-separated list whose scopes contain commas stays as it is.
    assert_eq!(normalise_scope("a,b c"), sp("a,b c"));
    assert_eq!(normalise_scope(","), sp(""));
}

/// Client credentials (RFC 6749 §4.4) with `client_secret_basic`: the secret goes in the
/// header only, never in the form, and the answer has no refresh token.
#[tokio::test]
async fn client_credentials_with_basic_auth() {
    let body = r#"{"access_token":"MACHINE-AT","expires_in":3600,"scope":"api:read","token_type":"Bearer"}"#;
    let (url, req) = serve_once("200 OK", "application/json", body).await;
    let client =
        OAuthClient::with_secret("machine-client", Secret::new("M-SECRET"), SecretPlacement::Basic);
    let t = client_credentials(&reqwest::Client::new(), &meta(&url), &client, &sp("api:read"))
        .await
        .unwrap();
    assert_eq!(
        (t.access_token.expose(), t.scope.clone(), t.expires_in),
        ("MACHINE-AT", Some(sp("api:read")), Some(3600))
    );
    assert!(t.refresh_token.is_none());
    let req = req.await.unwrap();
    // base64("machine-client:M-SECRET")
    assert!(req.contains("bWFjaGluZS1jbGllbnQ6TS1TRUNSRVQ="), "Basic credentials: {req}");
    assert!(req.contains("grant_type=client_credentials") && req.contains("scope=api%3Aread"));
    assert!(
        !req.contains("client_secret") && !req.contains("M-SECRET") && !req.contains("client_id="),
        "one mechanism only"
    );

    // A wrong secret: the provider's invalid_client, without the secret in the message.
    let (url, _) = serve_once(
        "401 Unauthorized",
        "application/json",
        r#"{"error":"invalid_client","error_description":"client authentication failed"}"#,
    )
    .await;
    let e = client_credentials(&reqwest::Client::new(), &meta(&url), &client, &sp(""))
        .await
        .unwrap_err();
    assert!(matches!(&e, OAuthError::Provider { error, .. } if error == "invalid_client"), "{e}");
    assert!(!e.to_string().contains("M-SECRET"));
}

/// A confidential client authenticates at the revocation endpoint too.
#[tokio::test]
async fn revoke_authenticates_a_confidential_client() {
    let (url, req) = serve_once("200 OK", "application/json", "").await;
    let client =
        OAuthClient::with_secret("machine-client", Secret::new("M-SECRET"), SecretPlacement::Basic);
    assert_eq!(
        revoke(&reqwest::Client::new(), &meta(&url), &client, &Secret::new("AT"), "access_token")
            .await
            .unwrap(),
        RevokeOutcome::Confirmed
    );
    let req = req.await.unwrap();
    assert!(
        req.contains("bWFjaGluZS1jbGllbnQ6TS1TRUNSRVQ=")
            && req.contains("token_type_hint=access_token")
    );
    let (url, req) = serve_once("200 OK", "application/json", "").await;
    revoke(
        &reqwest::Client::new(),
        &meta(&url),
        &post("cid", "GH-SECRET"),
        &Secret::new("RT"),
        "refresh_token",
    )
    .await
    .unwrap();
    assert!(req.await.unwrap().contains("client_secret=GH-SECRET"));
}

#[tokio::test]
async fn a_429_carries_the_providers_retry_after() {
    let (url, _) = serve_once(
        "429 Too Many Requests",
        "application/json\r\nRetry-After: 7",
        r#"{"error":"slow_down"}"#,
    )
    .await;
    let e = refresh(
        &reqwest::Client::new(),
        &meta(&url),
        &OAuthClient::public("cid"),
        &Secret::new("x"),
        None,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, OAuthError::RateLimited { retry_after: Some(d), .. } if d == std::time::Duration::from_secs(7)),
        "{e}"
    );
    assert!(e.is_transient() && e.to_string().contains("7 s"), "{e}");
}

#[test]
fn retry_after_is_seconds_or_an_http_date() {
    use std::time::{Duration, UNIX_EPOCH};
    let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
    assert_eq!(parse_retry_after(" 120 ", now), Some(Duration::from_secs(120)));
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
        Some(Duration::from_secs(30))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
        Some(Duration::ZERO),
        "a past date means now"
    );
    assert_eq!(parse_retry_after("soon", now), None);
    assert_eq!(parse_retry_after("-5", now), None);
}

/// Found by fuzzing (`fuzz/`, target `token_response`): `Retry-After: 18446744073709551615`
/// became a quiet period that overflowed the clock it is added to (`RateLimits::note`
/// panicked, so a refresh panicked on a provider's header). A day is the most Sesame waits.
#[test]
fn a_huge_retry_after_is_capped_at_a_day() {
    use std::time::{Duration, SystemTime};
    let day = Duration::from_secs(86_400);
    let now = SystemTime::now();
    assert_eq!(parse_retry_after("18446744073709551615", now), Some(day));
    assert_eq!(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now), Some(day));
    assert_eq!(parse_retry_after("86399", now), Some(Duration::from_secs(86_399)));
    let answer = HttpAnswer {
        status: StatusCode::TOO_MANY_REQUESTS,
        content_type: "text/plain".into(),
        retry_after: Some(u64::MAX.to_string()),
        location: None,
        body: vec![],
    };
    let e = token_response(&answer).unwrap_err();
    let OAuthError::RateLimited { retry_after: Some(quiet), .. } = e else { panic!("{e}") };
    assert_eq!(quiet, day);
    crate::retry::RateLimits::default().note("p", quiet);
}

/// Found by fuzzing: the `Location` of a redirect and the `Content-Type` went into the error
/// message whole (a header may be 100 KiB, with tabs in it). Provider text is cut to 200
/// characters, without control characters, like `error_description`.
#[test]
fn headers_quoted_in_errors_are_cut_and_cleaned() {
    let mut headers = reqwest::header::HeaderMap::new();
    let far = format!("https://elsewhere.example/{}?code=x", "a".repeat(5000));
    headers.insert(reqwest::header::LOCATION, far.parse().unwrap());
    let redirect = HttpAnswer::new(StatusCode::TEMPORARY_REDIRECT, &headers, vec![]);
    let message = token_response(&redirect).unwrap_err().to_string();
    assert!(message.contains("to https://elsewhere.example/aaa"), "{message}");
    assert!(message.chars().count() < 500 && message.contains('…'), "{message}");
    assert!(!message.contains("code=x"), "{message}");
    headers.insert(reqwest::header::CONTENT_TYPE, "text/html;\tx=y".parse().unwrap());
    let page = HttpAnswer::new(StatusCode::OK, &headers, b"<html>".to_vec());
    let message = token_response(&page).unwrap_err().to_string();
    assert!(message.contains("(text/html; x=y)"), "{message}");
    assert!(!message.chars().any(char::is_control), "{message:?}");
    headers.insert(reqwest::header::CONTENT_TYPE, "x".repeat(9000).parse().unwrap());
    let page = HttpAnswer::new(StatusCode::OK, &headers, b"<html>".to_vec());
    assert!(token_response(&page).unwrap_err().to_string().chars().count() < 500);
}

/// Found by fuzzing: `expires_in` near `u64::MAX` overflowed `now + expires_in` when the
/// token was cached (a panic in a debug build, a token that expired long ago in a release
/// build). A year is the longest lifetime Sesame believes.
#[test]
fn expires_in_is_capped_at_a_year() {
    let year = 365 * 86_400;
    for lifetime in ["9223372036854775807", "18446744073709551615", "1e300", "\"99999999999\""] {
        let body = format!(r#"{{"access_token":"a","expires_in":{lifetime}}}"#);
        let t = token_response(&answer("application/json", &body)).unwrap();
        assert_eq!(t.expires_in, Some(year), "{lifetime}");
        let now = crate::now_unix();
        let asked = sp("openid");
        let cached = crate::cache::CachedToken::from_answer(
            t.access_token,
            t.token_type,
            t.expires_in,
            t.scope,
            &asked,
            now,
        );
        assert_eq!(cached.expires_at, now + year as i64);
    }
    let t =
        token_response(&answer("application/json", r#"{"access_token":"a","expires_in":3599}"#));
    assert_eq!(t.unwrap().expires_in, Some(3599));
}

/// A scope set from its space-separated form.
fn sp(words: &str) -> crate::ScopeSet {
    crate::ScopeSet::parse(words)
}
