//! The refresh's deadline against a keyring that hangs, with a fake provider that rotates
//! refresh tokens and refuses a spent one (as oidc-provider, Microsoft and GitLab do). The
//! e2e tests (`tests/tests/rotate_helper.rs`) do the same with the real helper and keyring.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use sesame_ipc::protocol::{AccountInfo, AccountStatus};
use sesame_ipc::ErrorKind;
use tokio::net::TcpListener;

use crate::broker::Broker;
use crate::config::Config;
use crate::db::Db;
use crate::keyring::{Keyring, KeyringError, MemoryStore, SecretStore};
use crate::rotation::Rotation;
use crate::test_http::{read_request, respond};
use crate::{ScopeSet, Secret};

const DEADLINE: Duration = Duration::from_millis(500);

/// A keyring whose writes can be made to hang, as a Secret Service call stuck behind a
/// password prompt or a frozen daemon does. A hung write never stores anything: released,
/// it fails.
#[derive(Default)]
struct HangingStore {
    inner: MemoryStore,
    hang_writes: AtomicBool,
    /// How many writes are stuck, and whether they may go.
    stuck: Mutex<(usize, bool)>,
    wake: Condvar,
}

impl HangingStore {
    fn release(&self) {
        self.hang_writes.store(false, Ordering::SeqCst);
        self.stuck.lock().unwrap().1 = true;
        self.wake.notify_all();
    }
}

/// Releases the stuck writes however the test ends: the runtime waits for their threads.
struct ReleaseOnDrop(Arc<HangingStore>);

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        self.0.release();
    }
}

impl SecretStore for HangingStore {
    fn get(&self, account: &str) -> Result<Option<Secret>, KeyringError> {
        self.inner.get(account)
    }
    fn set(&self, account: &str, secret: &Secret) -> Result<(), KeyringError> {
        if self.hang_writes.load(Ordering::SeqCst) {
            let mut stuck = self.stuck.lock().unwrap();
            stuck.0 += 1;
            let _released = self.wake.wait_while(stuck, |s| !s.1).unwrap();
            return Err(KeyringError::Unavailable("the call hung, then failed (test)".into()));
        }
        self.inner.set(account, secret)
    }
    fn delete(&self, account: &str) -> Result<bool, KeyringError> {
        self.inner.delete(account)
    }
}

/// `POST /token` with `grant_type=refresh_token`: the current `RT-n` gets `AT-n+1` and
/// `RT-n+1`; any other refresh token is `invalid_grant`. Yields the refresh tokens it saw.
async fn rotating_provider() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let current = Arc::new(Mutex::new(1u32));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let request = read_request(&mut s).await;
            let presented = request
                .split("refresh_token=")
                .nth(1)
                .map(|t| t.split('&').next().unwrap_or_default().trim().to_owned())
                .unwrap_or_default();
            log.lock().unwrap().push(presented.clone());
            let answer = {
                let mut n = current.lock().unwrap();
                if presented == format!("RT-{n}") {
                    *n += 1;
                    let n = *n;
                    Ok(format!(
                        r#"{{"access_token":"AT-{n}","token_type":"Bearer","expires_in":3600,"refresh_token":"RT-{n}"}}"#
                    ))
                } else {
                    Err(())
                }
            };
            match answer {
                Ok(body) => respond(&mut s, "200 OK", "application/json", &body).await,
                Err(()) => {
                    let body = r#"{"error":"invalid_grant"}"#;
                    respond(&mut s, "400 Bad Request", "application/json", body).await
                }
            }
        }
    });
    (base, seen)
}

fn account(provider: &str) -> AccountInfo {
    AccountInfo {
        id: "p-0001".into(),
        provider: provider.into(),
        issuer: "http://127.0.0.1:1".into(),
        subject: "alice".into(),
        email: None,
        name: None,
        scopes: ScopeSet::from(["openid"]),
        status: AccountStatus::Active,
        created_at: 1,
        last_refreshed_at: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_keyring_fails_the_refresh_by_the_deadline_releases_the_lock_and_keeps_the_token() {
    let (base, seen) = rotating_provider().await;
    let text = format!(
        "[[provider]]\nid = \"p\"\nissuer = \"{base}\"\nclient_id = \"c\"\nscopes = [\"openid\"]\n\
         authorization_endpoint = \"{base}/auth\"\ntoken_endpoint = \"{base}/token\"\n"
    );
    let config = Config::parse(&text, Path::new("test.toml")).unwrap();
    let db = Db::open_in_memory().unwrap();
    // Signed in at this provider's issuer (a refresh goes nowhere else).
    let account = AccountInfo { issuer: base.clone(), ..account("p") };
    db.upsert_account(&account).unwrap();
    let store = Arc::new(HangingStore::default());
    store.inner.set(&account.id, &Secret::new("RT-1")).unwrap();
    let _release = ReleaseOnDrop(store.clone());
    // The keyring's own timeout is far away: only the refresh's deadline can end the wait.
    let keyring = Keyring::new(store.clone(), Duration::from_secs(3600));
    let rotation = Rotation::in_process().with_deadline(DEADLINE);
    let b = Broker::with_rotation(config, db, keyring, rotation).unwrap();
    let scopes = account.scopes.clone();

    // The provider rotates RT-1 into RT-2; storing RT-2 hangs.
    store.hang_writes.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let e = b.token_for(&account, &scopes, 0).await.err().unwrap();
    let took = started.elapsed();
    assert_eq!(e.kind(), ErrorKind::KeyringUnavailable, "{e}");
    assert!(took < Duration::from_secs(30), "the refresh waited {took:?} for the keyring");
    assert_eq!(*seen.lock().unwrap(), ["RT-1"]);
    assert_eq!(store.stuck.lock().unwrap().0, 1, "the write is still stuck");
    assert!(b.refresh_lock(&account.id).try_lock().is_ok(), "the account's lock is free");
    assert_eq!(
        b.unsaved_refresh.lock().unwrap().get(&account.id).map(Secret::expose),
        Some("RT-2"),
        "the rotated token is kept in memory"
    );

    // A second refresh proceeds (the lock is free) and fails the same way: storing the kept
    // token first hangs too. Nothing reaches the provider, nothing is forgotten.
    let e = b.token_for(&account, &scopes, 0).await.err().unwrap();
    assert_eq!(e.kind(), ErrorKind::KeyringUnavailable, "{e}");
    assert_eq!(store.stuck.lock().unwrap().0, 2);
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert!(b.unsaved_refresh.lock().unwrap().contains_key(&account.id));

    // The keyring answers again (the stuck calls fail, storing nothing): the kept RT-2 is
    // stored, then used; the provider's RT-3 lands in the keyring.
    store.release();
    let token = b.token_for(&account, &scopes, 0).await.unwrap();
    assert_eq!(token.access_token.expose(), "AT-3");
    assert_eq!(*seen.lock().unwrap(), ["RT-1", "RT-2"]);
    assert_eq!(
        store.inner.get(&account.id).unwrap().map(|s| s.expose().to_owned()).as_deref(),
        Some("RT-3")
    );
    assert!(b.unsaved_refresh.lock().unwrap().is_empty());
}
