//! Refresh tokens and client secrets in the OS keyring (Secret Service on Linux): service
//! `sesame`, user = the account id for a refresh token, `client-secret:<provider id>` for a
//! provider's client secret ([`client_secret_key`]; account ids never contain a `:`). This
//! is the only place either is ever stored.
//!
//! The Secret Service can be absent, locked, hung or restarted under us. So every call runs
//! on a blocking thread with a timeout ([`Keyring`]), and the D-Bus connection is dropped and
//! rebuilt after a platform failure ([`SecretServiceStore`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyring_core::api::CredentialStoreApi;

use crate::Secret;

pub const SERVICE: &str = "sesame";

/// The keyring user under which a provider's client secret is stored.
pub fn client_secret_key(provider: &str) -> String {
    format!("{CLIENT_SECRET_PREFIX}{provider}")
}

const CLIENT_SECRET_PREFIX: &str = "client-secret:";

/// Serializable: a refresh helper reports it to the broker (no variant holds a secret).
#[derive(Debug, Clone, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum KeyringError {
    #[error("the keyring (Secret Service) is not available: {0}; unlock your keyring or start gnome-keyring/KeePassXC, then try again")]
    Unavailable(String),
    #[error("the keyring did not answer within {0:?}; it may be locked behind a password prompt — unlock it and try again")]
    Timeout(Duration),
    #[error("the keyring refused the operation: {0}")]
    Failed(String),
}

/// A blocking secret store. The real one talks D-Bus; unit tests use [`MemoryStore`].
pub trait SecretStore: Send + Sync + 'static {
    fn get(&self, account: &str) -> Result<Option<Secret>, KeyringError>;
    fn set(&self, account: &str, secret: &Secret) -> Result<(), KeyringError>;
    /// `Ok(false)` when there was nothing to delete.
    fn delete(&self, account: &str) -> Result<bool, KeyringError>;
}

/// The async face of a [`SecretStore`]: off the runtime's threads, bounded in time.
#[derive(Clone)]
pub struct Keyring {
    store: Arc<dyn SecretStore>,
    timeout: Duration,
}

impl Keyring {
    pub fn new(store: Arc<dyn SecretStore>, timeout: Duration) -> Self {
        Keyring { store, timeout }
    }

    pub async fn get(&self, account: &str) -> Result<Option<Secret>, KeyringError> {
        let (store, account) = (self.store.clone(), account.to_owned());
        self.run(move || store.get(&account)).await
    }

    pub async fn set(&self, account: &str, secret: &Secret) -> Result<(), KeyringError> {
        let (store, account, secret) = (self.store.clone(), account.to_owned(), secret.clone());
        self.run(move || store.set(&account, &secret)).await
    }

    pub async fn delete(&self, account: &str) -> Result<bool, KeyringError> {
        let (store, account) = (self.store.clone(), account.to_owned());
        self.run(move || store.delete(&account)).await
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, KeyringError> + Send + 'static,
    ) -> Result<T, KeyringError> {
        match tokio::time::timeout(self.timeout, tokio::task::spawn_blocking(f)).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => {
                Err(KeyringError::Failed(format!("the keyring call panicked ({join})")))
            }
            // The blocking thread may stay stuck in D-Bus; it holds no lock of ours.
            Err(_) => Err(KeyringError::Timeout(self.timeout)),
        }
    }
}

/// The Secret Service over zbus, connected lazily and rebuilt after platform failures
/// (a restarted gnome-keyring invalidates the old session).
#[derive(Default)]
pub struct SecretServiceStore {
    store: Mutex<Option<Arc<zbus_secret_service_keyring_store::Store>>>,
}

impl SecretServiceStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn entry(&self, account: &str) -> Result<keyring_core::Entry, KeyringError> {
        let store = {
            let mut slot = self.store.lock().unwrap_or_else(|p| p.into_inner());
            match &*slot {
                Some(store) => store.clone(),
                None => {
                    let store =
                        zbus_secret_service_keyring_store::Store::new().map_err(map_error)?;
                    *slot = Some(store.clone());
                    store
                }
            }
        };
        let label = match account.strip_prefix(CLIENT_SECRET_PREFIX) {
            Some(provider) => format!("Sesame client secret for provider {provider}"),
            None => format!("Sesame refresh token for {account}"),
        };
        let modifiers = HashMap::from([("label", label.as_str())]);
        store.build(SERVICE, account, Some(&modifiers)).map_err(map_error)
    }

    /// Runs `op`; after a platform failure forgets the connection so the next call reconnects.
    fn with_entry<T>(
        &self,
        account: &str,
        op: impl FnOnce(&keyring_core::Entry) -> keyring_core::Result<T>,
    ) -> Result<T, KeyringError> {
        let entry = self.entry(account)?;
        let result = op(&entry);
        if let Err(
            keyring_core::Error::PlatformFailure(_) | keyring_core::Error::NoStorageAccess(_),
        ) = &result
        {
            *self.store.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        result.map_err(map_error)
    }
}

impl SecretStore for SecretServiceStore {
    fn get(&self, account: &str) -> Result<Option<Secret>, KeyringError> {
        match self.with_entry(account, |e| e.get_password()) {
            Ok(value) => Ok(Some(Secret::new(value))),
            Err(KeyringError::Failed(m)) if m == NO_ENTRY => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn set(&self, account: &str, secret: &Secret) -> Result<(), KeyringError> {
        self.with_entry(account, |e| e.set_password(secret.expose()))
    }

    fn delete(&self, account: &str) -> Result<bool, KeyringError> {
        match self.with_entry(account, |e| e.delete_credential()) {
            Ok(()) => Ok(true),
            Err(KeyringError::Failed(m)) if m == NO_ENTRY => Ok(false),
            Err(e) => Err(e),
        }
    }
}

const NO_ENTRY: &str = "no entry";

/// Never formats the error with `Debug`: some variants carry the secret's bytes.
fn map_error(e: keyring_core::Error) -> KeyringError {
    use keyring_core::Error as E;
    match e {
        E::NoEntry => KeyringError::Failed(NO_ENTRY.into()),
        E::PlatformFailure(p) | E::NoStorageAccess(p) => KeyringError::Unavailable(p.to_string()),
        E::NoDefaultStore => KeyringError::Unavailable("no Secret Service on the session bus".into()),
        E::BadEncoding(_) | E::BadDataFormat(..) => KeyringError::Failed("the stored entry is not a Sesame token or secret; sign in again (or store the client secret again)".into()),
        E::Ambiguous(_) => KeyringError::Failed("several keyring entries match this account; remove the duplicates with seahorse".into()),
        other => KeyringError::Failed(other.to_string()),
    }
}

/// In-memory store for unit tests (never used by the daemon or the e2e tests).
#[cfg(any(test, feature = "test-support"))]
#[derive(Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, Secret>>,
    /// When set, every call fails as if the keyring were locked.
    pub unavailable: std::sync::atomic::AtomicBool,
}

#[cfg(any(test, feature = "test-support"))]
impl MemoryStore {
    fn check(&self) -> Result<(), KeyringError> {
        if self.unavailable.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(KeyringError::Unavailable("locked (test)".into()));
        }
        Ok(())
    }
}

#[cfg(any(test, feature = "test-support"))]
impl SecretStore for MemoryStore {
    fn get(&self, account: &str) -> Result<Option<Secret>, KeyringError> {
        self.check()?;
        Ok(self.entries.lock().unwrap_or_else(|p| p.into_inner()).get(account).cloned())
    }
    fn set(&self, account: &str, secret: &Secret) -> Result<(), KeyringError> {
        self.check()?;
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account.to_owned(), secret.clone());
        Ok(())
    }
    fn delete(&self, account: &str) -> Result<bool, KeyringError> {
        self.check()?;
        Ok(self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(account).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Hung;
    impl SecretStore for Hung {
        fn get(&self, _: &str) -> Result<Option<Secret>, KeyringError> {
            std::thread::sleep(Duration::from_secs(5));
            Ok(None)
        }
        fn set(&self, _: &str, _: &Secret) -> Result<(), KeyringError> {
            unreachable!()
        }
        fn delete(&self, _: &str) -> Result<bool, KeyringError> {
            unreachable!()
        }
    }

    #[tokio::test]
    async fn a_hung_keyring_times_out() {
        let k = Keyring::new(Arc::new(Hung), Duration::from_millis(50));
        assert!(matches!(k.get("a").await, Err(KeyringError::Timeout(_))));
    }

    #[tokio::test]
    async fn memory_round_trip() {
        let k = Keyring::new(Arc::new(MemoryStore::default()), Duration::from_secs(1));
        k.set("a", &Secret::new("r1")).await.unwrap();
        assert_eq!(k.get("a").await.unwrap().unwrap().expose(), "r1");
        assert!(k.delete("a").await.unwrap());
        assert!(!k.delete("a").await.unwrap());
        assert!(k.get("a").await.unwrap().is_none());
    }

    #[test]
    fn client_secrets_never_share_a_key_with_accounts() {
        // Account ids are `<provider>-<hex>` with provider ids of [a-z0-9_-]: no `:`.
        assert_eq!(client_secret_key("machine"), "client-secret:machine");
        assert_ne!(
            client_secret_key("machine"),
            crate::broker::login_account_id("machine", "https://i", "machine-client")
        );
        assert!(!crate::broker::login_account_id("client-secret", "https://i", "x").contains(':'));
    }
}
