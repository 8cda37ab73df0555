//! Reloads at the broker: a new provider is served, a bad edit changes nothing and quotes no
//! secret, a removed provider's account is kept and marked, and an account never sends its
//! refresh token to an issuer the config moved its provider to. The e2e tests
//! (`tests/tests/reload.rs`) do the same through the socket, the CLI and SIGHUP.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sesame_ipc::protocol::{AccountInfo, AccountStatus};
use sesame_ipc::ErrorKind;
use tokio::net::TcpListener;

use crate::broker::Broker;
use crate::cache::CachedToken;
use crate::config::Config;
use crate::db::Db;
use crate::keyring::{Keyring, MemoryStore, SecretStore};
use crate::test_http::{read_request, respond};
use crate::{now_unix, ScopeSet, Secret};

fn provider(id: &str, issuer: &str) -> String {
    format!(
        "[[provider]]\nid = \"{id}\"\nissuer = \"{issuer}\"\nclient_id = \"c\"\nscopes = [\"openid\"]\n\
         authorization_endpoint = \"{issuer}/auth\"\ntoken_endpoint = \"{issuer}/token\"\n\n"
    )
}

/// A config file of its own, and a broker started from it.
fn broker_with(text: &str, name: &str) -> (Arc<Broker>, PathBuf, Arc<MemoryStore>) {
    let dir = std::env::temp_dir().join(format!("sesame-reload-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.toml");
    std::fs::write(&file, text).unwrap();
    let store = Arc::new(MemoryStore::default());
    let keyring = Keyring::new(store.clone(), Duration::from_secs(5));
    let config = Config::load(&file).unwrap();
    let b = Broker::new(config, Db::open_in_memory().unwrap(), keyring).unwrap();
    b.set_config_file(file.clone());
    (b, file, store)
}

fn account(id: &str, provider: &str, issuer: &str) -> AccountInfo {
    AccountInfo {
        id: id.into(),
        provider: provider.into(),
        issuer: issuer.into(),
        subject: "alice".into(),
        email: None,
        name: None,
        scopes: ScopeSet::from(["openid"]),
        status: AccountStatus::Active,
        created_at: 1,
        last_refreshed_at: None,
    }
}

fn cached(b: &Broker, account: &str) -> CachedToken {
    let token = CachedToken::from_answer(
        Secret::new("AT-cached"),
        "Bearer".into(),
        Some(3600),
        None,
        &ScopeSet::from(["openid"]),
        now_unix(),
    );
    b.cache_token(account, &ScopeSet::from(["openid"]), token.clone());
    token
}

#[tokio::test]
async fn a_new_provider_is_served_and_a_removed_ones_account_is_kept_and_marked() {
    let (b, file, _) = broker_with(&provider("one", "http://127.0.0.1:9"), "added");
    b.remember_account(account("one-1", "one", "http://127.0.0.1:9")).unwrap();
    std::fs::write(&file, provider("two", "http://127.0.0.1:9")).unwrap();

    let r = b.reload_config().await.unwrap();
    assert_eq!((r.added, r.removed), (vec!["two".to_owned()], vec!["one".to_owned()]));
    let ids: Vec<String> = b.providers().into_iter().map(|p| p.id).collect();
    assert_eq!(ids, ["two"]);
    let accounts = b.accounts();
    assert_eq!(accounts.len(), 1, "the account is kept");
    assert_eq!(accounts[0].status, AccountStatus::ProviderRemoved);
    let e = b.provider("one").err().unwrap();
    assert_eq!(e.kind(), ErrorKind::NoSuchProvider);

    // The provider comes back: so does the account.
    std::fs::write(&file, provider("one", "http://127.0.0.1:9")).unwrap();
    b.reload_config().await.unwrap();
    assert_eq!(b.accounts()[0].status, AccountStatus::Active);
}

#[tokio::test]
async fn a_bad_edit_changes_nothing_and_quotes_no_secret() {
    let good = provider("one", "http://127.0.0.1:9");
    let (b, file, _) = broker_with(&good, "bad");
    // A broken string on the line of a secret: toml's own message would quote that line.
    let bad = format!("{good}client_secret = \"s3cr3t-value\nextra = 1\n");
    std::fs::write(&file, bad).unwrap();

    let e = b.reload_config().await.err().unwrap();
    assert_eq!(e.kind(), ErrorKind::ConfigInvalid);
    let message = e.to_string();
    assert!(message.contains("line 9"), "{message}");
    assert!(!message.contains("s3cr3t"), "the secret is quoted: {message}");
    let failure = b.reload_failure().unwrap();
    assert!(!failure.message.contains("s3cr3t"), "{}", failure.message);
    assert_eq!(b.providers().len(), 1, "the old config stays in force");
    assert!(b.provider("one").is_ok());

    std::fs::write(&file, good).unwrap();
    let r = b.reload_config().await.unwrap();
    assert!(r.added.is_empty() && r.removed.is_empty() && r.changed.is_empty(), "{r:?}");
    assert!(b.reload_failure().is_none(), "a good reload clears the failure");
}

#[tokio::test]
async fn settings_read_at_start_are_named_not_silently_ignored() {
    let (b, file, _) = broker_with(&provider("one", "http://127.0.0.1:9"), "restart");
    let text = format!("refresh_at_percent = 50\n{}", provider("one", "http://127.0.0.1:9"));
    std::fs::write(&file, text).unwrap();
    let r = b.reload_config().await.unwrap();
    assert_eq!(r.restart_needed.len(), 1, "{r:?}");
    assert!(r.restart_needed[0].contains("refresh_at_percent"), "{r:?}");
}

/// Counts the connections it gets and answers each with a token (so a refresh sent here
/// would succeed: only the broker's own check can stop it).
async fn counting_provider() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let count = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let _ = read_request(&mut s).await;
            let body = r#"{"access_token":"AT-new","token_type":"Bearer","expires_in":3600}"#;
            respond(&mut s, "200 OK", "application/json", body).await;
        }
    });
    (base, hits)
}

#[tokio::test]
async fn a_moved_issuer_drops_cached_tokens_and_never_gets_the_old_refresh_token() {
    let old = "http://127.0.0.1:9";
    let (b, file, store) = broker_with(&provider("one", old), "issuer");
    let moved = account("one-1", "one", old);
    b.remember_account(moved.clone()).unwrap();
    store.set(&moved.id, &Secret::new("RT-old")).unwrap();
    cached(&b, &moved.id);

    let (new, hits) = counting_provider().await;
    std::fs::write(&file, provider("one", &new)).unwrap();
    let r = b.reload_config().await.unwrap();
    assert_eq!(r.tokens_dropped, ["one"]);
    assert!(b.status(now_unix()).accounts[0].cached.is_empty(), "the cached token was dropped");

    let scopes = ScopeSet::from(["openid"]);
    let e = b.token_for(&moved, &scopes, 0).await.err().unwrap();
    assert_eq!(e.kind(), ErrorKind::ReauthRequired, "{e}");
    assert!(e.to_string().contains(&new), "{e}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the refresh token went to the new issuer");

    // The control: an account of the new issuer refreshes there (the provider answers).
    let native = account("one-2", "one", &new);
    b.remember_account(native.clone()).unwrap();
    store.set(&native.id, &Secret::new("RT-native")).unwrap();
    let token = b.token_for(&native, &scopes, 0).await.unwrap();
    assert_eq!(token.access_token.expose(), "AT-new");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}
