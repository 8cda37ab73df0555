//! End-to-end check against the throwaway oidc-provider in `tests/idp` (needs node and
//! `npm ci` there). Ignored by a plain `cargo test` (which needs no Node); `scripts/test.sh`
//! runs them: `cargo test -p sesame-core -- --ignored idp_`.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::*;
use crate::config::Config;
use crate::Secret;

struct Idp {
    child: tokio::process::Child,
    issuer: String,
}

async fn start_idp() -> Idp {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/idp/server.mjs");
    let mut child = tokio::process::Command::new("node")
        .arg(script)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node must be installed for the idp tests");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let issuer = line.strip_prefix("READY ").expect("READY line").to_owned();
    Idp { child, issuer }
}

/// A browser stand-in: follows redirects by hand, keeps cookies, fills the dev forms.
async fn drive_browser(http: &reqwest::Client, start: Url, redirect_uri: &str) -> Url {
    let mut cookies: HashMap<String, String> = HashMap::new();
    let mut next = (reqwest::Method::GET, start, None::<Vec<(&str, &str)>>);
    for _ in 0..20 {
        let (method, url, form) = next.clone();
        let cookie = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let mut req = http.request(method, url.clone()).header("cookie", cookie);
        if let Some(form) = &form {
            req = req.form(form);
        }
        let resp = req.send().await.unwrap();
        for c in resp.headers().get_all("set-cookie") {
            let pair = c.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            cookies.insert(k.to_owned(), v.to_owned());
        }
        if let Some(loc) = resp.headers().get("location") {
            let target = url.join(loc.to_str().unwrap()).unwrap();
            if target.as_str().starts_with(redirect_uri) {
                return target;
            }
            next = (reqwest::Method::GET, target, None);
            continue;
        }
        let html = resp.text().await.unwrap();
        let action =
            html.split("action=\"").nth(1).and_then(|s| s.split('"').next()).expect("a form");
        let action = url.join(&action.replace("&amp;", "&")).unwrap();
        let form = if html.contains("name=\"password\"") {
            vec![("prompt", "login"), ("login", "alice"), ("password", "pw")]
        } else {
            vec![("prompt", "consent")]
        };
        next = (reqwest::Method::POST, action, Some(form));
    }
    panic!("the sign-in did not reach the redirect URI");
}

#[tokio::test]
#[ignore]
async fn idp_full_flow() {
    let idp = start_idp().await;
    let config = Config::parse(
        &format!("[[provider]]\nid = \"local\"\nissuer = \"{}\"\nclient_id = \"desktop-app\"\nscopes = [\"openid\", \"email\", \"profile\", \"offline_access\"]\n", idp.issuer),
        std::path::Path::new("test.toml"),
    )
    .unwrap();
    let provider = config.provider("local").unwrap();
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    let meta = discover(&http, provider).await.unwrap();
    assert_eq!(meta.issuer, idp.issuer);
    assert!(meta.iss_parameter_supported);
    let client = OAuthClient::public(&provider.client_id);

    let listener = LoopbackListener::bind(0).unwrap();
    let redirect_uri = listener.redirect_uri();
    let pkce = Pkce::new();
    let (state, nonce) = (random_token(), random_token());
    let url = authorization_url(
        &meta,
        provider,
        &redirect_uri,
        &state,
        &nonce,
        &pkce.challenge,
        &AuthorizationOptions::default(),
    );
    let expect = CallbackExpectations {
        state,
        issuer: meta.issuer.clone(),
        iss_required: meta.iss_parameter_supported,
    };
    let waiting = tokio::spawn(listener.wait_for_callback(
        expect,
        Duration::from_secs(30),
        CancellationToken::new(),
    ));

    let callback_url = drive_browser(&http, url, &redirect_uri).await;
    let browser = tokio::spawn({
        let http = http.clone();
        async move { http.get(callback_url).send().await.unwrap().text().await.unwrap() }
    });
    let (callback, responder) = waiting.await.unwrap().unwrap();

    let tokens =
        exchange_code(&http, &meta, &client, &callback.code, &pkce.verifier, &redirect_uri)
            .await
            .unwrap();
    assert_eq!(tokens.token_type, "Bearer");
    let who = identity_from_id_token(
        tokens.id_token.as_ref().unwrap(),
        &meta.issuer,
        &provider.client_id,
        Some(&nonce),
        crate::now_unix(),
    )
    .unwrap();
    assert_eq!(who.subject, "alice");
    // oidc-provider (conformIdTokenClaims) puts email/name only in userinfo, not the ID token.
    assert_eq!(who.email, None);
    responder.finish(Ok("Signed in as alice@example.test")).await;
    assert!(browser.await.unwrap().contains("Signed in as alice@example.test"));

    let info = userinfo(&http, &meta, &tokens.access_token).await.unwrap();
    let who = identity_from_userinfo(&info).unwrap();
    assert_eq!(
        (who.subject.as_str(), who.email.as_deref(), who.name.as_deref()),
        ("alice", Some("alice@example.test"), Some("Alice"))
    );

    let refresh_token = tokens.refresh_token.expect("a refresh token");
    let narrowed = refresh(
        &http,
        &meta,
        &client,
        &refresh_token,
        Some(&crate::ScopeSet::parse("openid email")),
    )
    .await
    .unwrap();
    let rotated = narrowed.refresh_token.unwrap_or(refresh_token);

    assert_eq!(
        revoke(&http, &meta, &client, &rotated, "refresh_token").await.unwrap(),
        RevokeOutcome::Confirmed
    );
    let dead = refresh(&http, &meta, &client, &rotated, None).await.unwrap_err();
    assert!(matches!(dead, OAuthError::InvalidGrant { .. }), "{dead}");
    assert_eq!(dead.kind(), sesame_ipc::ErrorKind::ReauthRequired);

    let bogus = refresh(&http, &meta, &client, &Secret::new("nope"), None).await.unwrap_err();
    assert!(matches!(bogus, OAuthError::InvalidGrant { .. }), "{bogus}");

    // The code is single-use (and its reuse revokes what it produced, so this comes last).
    let again = exchange_code(&http, &meta, &client, &callback.code, &pkce.verifier, &redirect_uri)
        .await
        .unwrap_err();
    assert!(matches!(again, OAuthError::InvalidGrant { .. }), "{again}");
    drop(idp.child);
}

#[tokio::test]
#[ignore]
async fn idp_client_credentials() {
    let idp = start_idp().await;
    let config = Config::parse(
        &format!("[[provider]]\nid = \"machine\"\nissuer = \"{}\"\nclient_id = \"machine-client\"\ngrant = \"client_credentials\"\nscopes = [\"api:read\", \"api:write\"]\n", idp.issuer),
        std::path::Path::new("test.toml"),
    )
    .unwrap();
    let provider = config.provider("machine").unwrap();
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let meta = discover(&http, provider).await.unwrap();
    let client = OAuthClient::with_secret(
        "machine-client",
        Secret::new("machine-secret"),
        SecretPlacement::Basic,
    );
    let t = client_credentials(&http, &meta, &client, &crate::ScopeSet::parse("api:read"))
        .await
        .unwrap();
    assert_eq!(t.scope, Some(crate::ScopeSet::parse("api:read")));
    assert!(t.refresh_token.is_none() && t.id_token.is_none());
    assert_eq!(
        revoke(&http, &meta, &client, &t.access_token, "access_token").await.unwrap(),
        RevokeOutcome::Confirmed
    );
    let wrong =
        OAuthClient::with_secret("machine-client", Secret::new("wrong"), SecretPlacement::Basic);
    let e = client_credentials(&http, &meta, &wrong, &crate::ScopeSet::parse("api:read"))
        .await
        .unwrap_err();
    assert!(matches!(&e, OAuthError::Provider { error, .. } if error == "invalid_client"), "{e}");
    drop(idp.child);
}
