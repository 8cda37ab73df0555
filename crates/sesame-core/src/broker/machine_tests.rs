//! Machine accounts against a fake token endpoint that checks the client's Basic
//! credentials and counts requests (the e2e tests use the real oidc-provider).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use sesame_ipc::consent::{Answer, AppInfo, Decision, GrantEnd, PendingAnswerParams};
use sesame_ipc::protocol::{Revocation, TokenGetParams};
use sesame_ipc::ErrorKind;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use crate::broker::Broker;
use crate::config::Config;
use crate::db::Db;
use crate::keyring::{Keyring, MemoryStore, SecretStore};
use crate::policy::caller::ProcessRef;
use crate::policy::{Asker, Caller};
use crate::Secret;

#[derive(Default)]
struct Counts {
    tokens: AtomicUsize,
    revocations: AtomicUsize,
}

/// `POST /token` (client credentials) and `POST /revoke`, Basic auth with
/// `machine-client:machine-secret`; anything else is `invalid_client`.
async fn fake_provider() -> (String, Arc<Counts>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let counts = Arc::new(Counts::default());
    let seen = counts.clone();
    let good = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("machine-client:machine-secret")
    );
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let (seen, good) = (seen.clone(), good.clone());
            tokio::spawn(async move {
                let text = crate::test_http::read_request(&mut s).await;
                let authorized =
                    text.lines().any(|l| l.eq_ignore_ascii_case(&format!("authorization: {good}")));
                let (status, body) = if !authorized {
                    ("401 Unauthorized", r#"{"error":"invalid_client","error_description":"client authentication failed"}"#.to_owned())
                } else if text.starts_with("POST /token ")
                    && text.contains("grant_type=client_credentials")
                {
                    let n = seen.tokens.fetch_add(1, Ordering::SeqCst) + 1;
                    // A slow provider: concurrent cache misses overlap for sure.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    (
                        ("200 OK"),
                        format!(
                            r#"{{"access_token":"MACHINE-AT-{n}","expires_in":3600,"token_type":"Bearer"}}"#
                        ),
                    )
                } else if text.starts_with("POST /revoke ") {
                    seen.revocations.fetch_add(1, Ordering::SeqCst);
                    ("200 OK", String::new())
                } else {
                    ("400 Bad Request", r#"{"error":"invalid_request"}"#.to_owned())
                };
                let resp = format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    (base, counts)
}

fn broker(base: &str) -> (Arc<Broker>, Arc<MemoryStore>) {
    let text = format!(
        "[[provider]]\nid = \"machine\"\nissuer = \"{base}\"\nclient_id = \"machine-client\"\ngrant = \"client_credentials\"\nscopes = [\"api:read\", \"api:write\"]\n\
         authorization_endpoint = \"{base}/auth\"\ntoken_endpoint = \"{base}/token\"\nrevocation_endpoint = \"{base}/revoke\"\n"
    );
    let config = Config::parse(&text, Path::new("test.toml")).unwrap();
    let store = Arc::new(MemoryStore::default());
    let keyring = Keyring::new(store.clone(), Duration::from_secs(5));
    (Broker::new(config, Db::open_in_memory().unwrap(), keyring).unwrap(), store)
}

fn app() -> AppInfo {
    AppInfo {
        key: "/usr/bin/deploy-bot".into(),
        name: "deploy-bot".into(),
        exe: "/usr/bin/deploy-bot".into(),
        script: None,
        icon: None,
        flatpak_app: None,
        sandboxed: false,
        content: None,
        chain: vec![],
        generic: None,
    }
}

#[tokio::test]
async fn sign_in_needs_a_secret_that_the_provider_accepts() {
    let (base, counts) = fake_provider().await;
    let (b, store) = broker(&base);
    let e = b.login_client_credentials("machine").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ClientSecretMissing, "{}", wire(&e));
    assert!(wire(&e).contains("`sesame secret set machine`"), "{}", wire(&e));

    b.set_client_secret("machine", &Secret::new("bad-s3cr3t")).await.unwrap();
    let e = b.login_client_credentials("machine").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ProviderError);
    assert!(
        wire(&e).contains("invalid_client")
            && wire(&e).contains("`sesame secret set machine`")
            && !wire(&e).contains("s3cr3t"),
        "{}",
        wire(&e)
    );
    assert!(b.accounts().is_empty(), "a refused sign-in creates no account");
    assert_eq!(counts.tokens.load(Ordering::SeqCst), 0);

    b.set_client_secret("machine", &Secret::new("machine-secret")).await.unwrap();
    let account = b.login_client_credentials("machine").await.unwrap();
    assert_eq!(
        (account.provider.as_str(), account.subject.as_str()),
        ("machine", "machine-client")
    );
    assert_eq!(account.scopes, crate::ScopeSet::from(["api:read", "api:write"]));
    assert_eq!(counts.tokens.load(Ordering::SeqCst), 1, "one token proves the secret");
    // Nothing of it in the keyring but the provider's secret; the same id on a second sign-in.
    assert!(store.get(&account.id).unwrap().is_none());
    assert_eq!(b.login_client_credentials("machine").await.unwrap().id, account.id);
    assert_eq!(b.accounts().len(), 1);
    // No browser for a machine account, and no machine sign-in for anything else.
    assert_eq!(b.login_start("machine").await.unwrap_err().kind(), ErrorKind::BadRequest);
}

#[tokio::test]
async fn tokens_pass_consent_then_the_cache_then_one_request_per_miss() {
    let (base, counts) = fake_provider().await;
    let (b, _) = broker(&base);
    b.set_client_secret("machine", &Secret::new("machine-secret")).await.unwrap();
    let account = b.login_client_credentials("machine").await.unwrap();
    let caller = Caller::in_process(app());
    let ask = |scopes: Option<crate::ScopeSet>| TokenGetParams {
        account: "machine".into(),
        scopes,
        min_ttl: None,
        wait: None,
    };

    // No grant: the request waits for the user like any account's; the user says no.
    let asking = tokio::spawn({
        let (b, caller, params) = (b.clone(), caller.clone(), ask(None));
        async move { b.token(&caller, Asker::unwatched(), &params).await }
    });
    let pending = loop {
        if let Some(p) = b.pending_list().pop() {
            break p;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(
        (pending.account.as_str(), pending.app.key.as_str()),
        (account.id.as_str(), "/usr/bin/deploy-bot")
    );
    let user = Caller {
        app: AppInfo { key: "/usr/bin/sesame".into(), name: "sesame".into(), ..app() },
        process: ProcessRef { pid: 1, start_time: 1 },
        via_cli: true,
        management: true,
        files: None,
    };
    b.answer_pending(&user, &PendingAnswerParams::new(pending.id, Answer::Deny, None))
        .await
        .unwrap();
    assert_eq!(asking.await.unwrap().unwrap_err().kind(), ErrorKind::ConsentDenied);
    assert_eq!(counts.tokens.load(Ordering::SeqCst), 1);

    let grant =
        b.db.insert_grant(
            &app(),
            &account.id,
            &crate::ScopeSet::parse("api:read api:write"),
            0,
            GrantEnd::NEVER,
        )
        .unwrap();
    b.grants.insert(grant);
    let t = b.token(&caller, Asker::unwatched(), &ask(None)).await.unwrap();
    assert_eq!(t.access_token.expose(), "MACHINE-AT-1", "the sign-in's token, from the cache");
    assert_eq!(counts.tokens.load(Ordering::SeqCst), 1);

    // A narrower set is a cache miss: concurrent requests share one client-credentials call.
    let narrow = || ask(Some(crate::ScopeSet::from(["api:read"])));
    let (p1, p2, p3) = (narrow(), narrow(), narrow());
    let (a, c, d) = tokio::join!(
        b.token(&caller, Asker::unwatched(), &p1),
        b.token(&caller, Asker::unwatched(), &p2),
        b.token(&caller, Asker::unwatched(), &p3)
    );
    let tokens: Vec<String> =
        [a, c, d].into_iter().map(|r| r.unwrap().access_token.expose().to_owned()).collect();
    assert!(tokens.iter().all(|t| t == "MACHINE-AT-2"), "{tokens:?}");
    assert_eq!(counts.tokens.load(Ordering::SeqCst), 2, "single flight");
    assert_eq!(
        b.token(&caller, Asker::unwatched(), &narrow()).await.unwrap().access_token.expose(),
        "MACHINE-AT-2"
    );
    assert_eq!(counts.tokens.load(Ordering::SeqCst), 2, "then the cache");

    // Sign-out revokes the two cached access tokens; the provider's secret stays.
    let out = b.logout("machine").await.unwrap();
    assert_eq!(out.revocation, Revocation::Confirmed);
    assert_eq!(counts.revocations.load(Ordering::SeqCst), 2);
    assert!(b.accounts().is_empty());
    let again = b.login_client_credentials("machine").await.unwrap();
    let out = b.logout(&again.id).await.unwrap();
    assert_eq!(out.revocation, Revocation::Confirmed, "the sign-in's token was cached");
    // Nothing cached: nothing to revoke, and the result says so.
    let again = b.login_client_credentials("machine").await.unwrap();
    b.forget_cached(&again.id);
    assert!(matches!(b.logout("machine").await.unwrap().revocation, Revocation::NotNeeded { .. }));
}

#[tokio::test]
async fn a_deleted_secret_stops_new_tokens_with_a_clear_error() {
    let (base, _) = fake_provider().await;
    let (b, _) = broker(&base);
    b.set_client_secret("machine", &Secret::new("machine-secret")).await.unwrap();
    let account = b.login_client_credentials("machine").await.unwrap();
    let grant =
        b.db.insert_grant(
            &app(),
            &account.id,
            &crate::ScopeSet::parse("api:read api:write"),
            0,
            GrantEnd::NEVER,
        )
        .unwrap();
    b.grants.insert(grant);
    assert!(b.delete_client_secret("machine").await.unwrap().existed);
    let caller = Caller::in_process(app());
    let e = b
        .token(
            &caller,
            Asker::unwatched(),
            &TokenGetParams { account: "machine".into(), scopes: None, min_ttl: None, wait: None },
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::ClientSecretMissing,
        "the cached token went with the secret: {e}"
    );
}

#[tokio::test]
async fn a_generic_caller_is_asked_every_time_and_cannot_be_allowed_forever() {
    let (base, _) = fake_provider().await;
    let (b, _) = broker(&base);
    b.set_client_secret("machine", &Secret::new("machine-secret")).await.unwrap();
    let account = b.login_client_credentials("machine").await.unwrap();
    let inline = AppInfo {
        key: "/usr/bin/python3.11 -c".into(),
        name: "python3.11".into(),
        exe: "/usr/bin/python3.11".into(),
        generic: Some("`python3.11 -c` runs code written on its command line".into()),
        ..app()
    };
    // A forever grant on that key, as one made before the rule: it answers nothing now.
    let old = b.db.insert_grant(&inline, &account.id, &account.scopes, 0, GrantEnd::NEVER).unwrap();
    b.grants.insert(old);
    let caller = Caller::in_process(inline);
    let asking = tokio::spawn({
        let (b, caller) = (b.clone(), caller.clone());
        let params =
            TokenGetParams { account: "machine".into(), scopes: None, min_ttl: None, wait: None };
        async move { b.token(&caller, Asker::unwatched(), &params).await }
    });
    let pending = loop {
        if let Some(p) = b.pending_list().pop() {
            break p;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let user = Caller {
        app: AppInfo { key: "/usr/bin/sesame".into(), name: "sesame".into(), ..app() },
        process: ProcessRef { pid: 1, start_time: 1 },
        via_cli: true,
        management: true,
        files: None,
    };
    let answer =
        |decision| PendingAnswerParams { id: pending.id, decision, for_secs: None, account: None };
    let e = b.answer_pending(&user, &answer(Decision::ApproveAlways)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Forbidden);
    assert_eq!(
        e.to_string(),
        "python3.11 cannot be allowed forever: `python3.11 -c` runs code written on its command line. Approve it once, for a time or until the screen locks instead."
    );
    assert_eq!(b.pending_list().len(), 1, "the question waits for another answer");
    assert_eq!(b.grants_list().await.unwrap().len(), 1, "no grant was made");
    b.answer_pending(&user, &answer(Decision::ApproveOnce)).await.unwrap();
    assert_eq!(asking.await.unwrap().unwrap().access_token.expose(), "MACHINE-AT-1");
}

/// What the socket (and so the CLI) says: the message with its remedy.
fn wire(e: &crate::BrokerError) -> String {
    sesame_ipc::RpcError::from(e).message
}
