//! The broker: one `Broker` serves every connection; the CLI daemon and the desktop app each
//! host exactly one. Its methods are split by concern, one file each:
//!
//! - `token.rs`: `token.get` — account and scopes, consent, then the cache or a refresh;
//! - `git.rs`: `git.credential` / `git.erase` — a git host's account, through `token.get`;
//! - `choice.rs`: which account a request is about (or which the user chooses among);
//! - `consent.rs`: the consent gate and the management calls (pending, grants, activity);
//! - `content.rs`: the asking program's content (hashes, packages), grants moved by the
//!   content rule, and what `accounts.list` shows a program;
//! - `lapse.rs`: grants that end by themselves (their time is up, the screen locked);
//! - `login.rs`, `device.rs`: browser and device sign-in; `machine.rs`: machine accounts;
//! - `signout.rs`: sign-out and revocation; `secrets.rs`: client secrets;
//! - `refresher.rs`: the proactive refresher task;
//! - `reload.rs`: a new config put in force (`config.reload`, SIGHUP); `status.rs`: the
//!   one-screen summary (`broker.status`).
//!
//! Invariants kept here:
//! - the refresh token is read from and written to the keyring only; a rotated one is stored
//!   before the access token that came with it is cached or handed out;
//! - refreshes of one account run one at a time (rotation makes a second, concurrent refresh
//!   with the old token revoke the whole grant at many providers);
//! - a warm `token.get` touches memory only (grants and accounts are mirrored in memory;
//!   activity is written by the recorder's task);
//! - no token reaches a program without a grant or the user's answer (see `consent.rs`),
//!   and a grant covers only the content it was given to (see `content.rs`);
//! - a question outlives no asker: a request stops waiting when its program exits or hangs
//!   up, and the last one to go withdraws the question (`consent.rs`, `policy/asker.rs`);
//! - a machine account (`machine.rs`) goes through the same consent and cache; its cache
//!   misses are client-credentials requests instead of refreshes.

use std::collections::HashMap;
use std::ops::Deref;
use std::os::fd::BorrowedFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use indexmap::IndexMap;
use sesame_ipc::admin::ReloadFailure;
use sesame_ipc::consent::ActivityEvent;
use sesame_ipc::events::BrokerEvent;
use sesame_ipc::protocol::*;

use crate::cache::{CachedToken, TokenCache};
use crate::config::{Config, ProviderConfig};
use crate::db::{Db, NewActivity};
use crate::error::BrokerError;
use crate::events::{Events, Subscription};
use crate::identity::{ContentCache, IdentityError, PackageIndex};
use crate::keyring::Keyring;
use crate::oauth::{self, ProviderMetadata};
use crate::policy::asker::ExitWatches;
use crate::policy::caller::Identifier;
use crate::policy::grants::GrantTable;
use crate::policy::pending::PendingQueue;
use crate::policy::recorder::{Recorder, Retention};
use crate::policy::Caller;
use crate::retry::RateLimits;
use crate::rotation::Rotation;
use crate::{now_unix, ScopeSet, Secret};
use login::Logins;

mod choice;
mod consent;
mod content;
mod device;
mod git;
mod lapse;
mod login;
mod machine;
mod narrowing;
mod refresher;
mod reload;
mod secrets;
mod signout;
mod status;
mod token;

#[cfg(test)]
mod approval_tests;
#[cfg(test)]
pub(crate) use login::account_id as login_account_id;
pub(crate) use login::check_scopes_offered;

pub struct Broker {
    /// The config in force: the last one that parsed (`reload.rs` swaps it whole).
    config: RwLock<Arc<Config>>,
    /// Where `config.reload` reads the config from (the host sets it; unset in unit tests).
    config_file: OnceLock<PathBuf>,
    /// The last reload that failed, while no later one succeeded (shown by `broker.status`
    /// and the app's Providers page).
    reload_failure: Mutex<Option<ReloadFailure>>,
    /// When this broker started (Unix seconds).
    started_at: i64,
    db: Arc<Db>,
    keyring: Keyring,
    http: reqwest::Client,
    cache: TokenCache,
    /// Mirror of the accounts table, so resolving an account needs no SQLite call. In
    /// sign-in order (the table's order when loaded, new accounts last): `created_at` has
    /// whole seconds, and two sign-ins within one were listed by their hashed ids, at random.
    accounts: RwLock<IndexMap<String, AccountInfo>>,
    metadata: tokio::sync::Mutex<HashMap<String, Arc<ProviderMetadata>>>,
    refresh_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Rotated refresh tokens the keyring refused to store; retried before the next refresh,
    /// so a keyring hiccup does not lose the account.
    unsaved_refresh: Mutex<HashMap<String, Secret>>,
    rotation: Rotation,
    /// Providers that answered 429 with `Retry-After`, and until when.
    rate_limits: RateLimits,
    logins: Logins,
    grants: GrantTable,
    /// Wakes the sweep of grants that lapse (`lapse.rs`).
    lapses: Arc<lapse::Lapses>,
    pending: PendingQueue,
    /// The exits of processes whose requests wait for the user (one pidfd per process).
    exits: ExitWatches,
    recorder: Recorder,
    /// Tells who a connecting process is (and whether it is one of Sesame's own binaries).
    identifier: Identifier,
    /// What programs' files are (hashes, packages), by stamp: the content grants bind to.
    contents: Arc<ContentCache>,
    events: Events,
    /// Providers at which refreshes no longer narrow (`narrowing.rs`).
    narrowing: narrowing::Narrowing,
}

impl Broker {
    /// Must run inside a tokio runtime (it starts the activity writer).
    pub fn new(config: Config, db: Db, keyring: Keyring) -> Result<Arc<Broker>, BrokerError> {
        Broker::with_rotation(config, db, keyring, Rotation::in_process())
    }

    /// A broker whose refreshes run as `rotation` says (the daemon and the app use a helper
    /// process, so a killed broker cannot lose a rotated refresh token; see `rotation.rs`).
    pub(crate) fn with_rotation(
        config: Config,
        db: Db,
        keyring: Keyring,
        rotation: Rotation,
    ) -> Result<Arc<Broker>, BrokerError> {
        let http = oauth::http_client().map_err(BrokerError::Internal)?;
        let accounts = db.accounts()?.into_iter().map(|a| (a.id.clone(), a)).collect();
        // Grants until the screen locks ended with the broker that made them.
        let ended = db.take_until_lock_grants()?;
        let grants = GrantTable::new(db.grants()?);
        let db = Arc::new(db);
        let retention =
            Retention { max_age: config.activity_retention, max_rows: config.activity_max_rows };
        let recorder = Recorder::start(db.clone(), retention);
        let refresh_policy = config.refresh;
        let broker = Arc::new(Broker {
            config: RwLock::new(Arc::new(config)),
            config_file: OnceLock::new(),
            reload_failure: Mutex::new(None),
            started_at: now_unix(),
            db,
            keyring,
            http,
            cache: TokenCache::default(),
            accounts: RwLock::new(accounts),
            metadata: Default::default(),
            refresh_locks: Default::default(),
            unsaved_refresh: Default::default(),
            rotation,
            rate_limits: RateLimits::default(),
            logins: Logins::default(),
            grants,
            lapses: Default::default(),
            pending: PendingQueue::default(),
            exits: ExitWatches::default(),
            recorder,
            identifier: Identifier::from_env(),
            contents: Arc::new(ContentCache::new(PackageIndex::system())),
            events: Events::default(),
            narrowing: Default::default(),
        });
        refresher::spawn(Arc::downgrade(&broker), refresh_policy);
        lapse::spawn(Arc::downgrade(&broker), ended);
        Ok(broker)
    }

    /// Changes worth showing (pending requests, re-auth needed, accounts, grants).
    pub fn subscribe(&self) -> Subscription {
        self.events.subscribe()
    }

    pub fn hello(&self) -> HelloResult {
        HelloResult { protocol: PROTOCOL_VERSION, broker: env!("CARGO_PKG_VERSION").into() }
    }

    /// The config in force (a snapshot: a reload meanwhile does not change it).
    pub(crate) fn config(&self) -> Arc<Config> {
        self.config.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn providers(&self) -> Vec<ProviderInfo> {
        let config = self.config();
        let list = config.providers.iter();
        list.map(|p| ProviderInfo {
            id: p.id.clone(),
            issuer: p.issuer.to_string(),
            scopes: p.scopes.clone(),
            grant: p.grant.name().into(),
        })
        .collect()
    }

    /// Every account; one whose provider is no longer in the config is shown as
    /// `ProviderRemoved` (never stored so: it is active again when the provider is back).
    pub fn accounts(&self) -> Vec<AccountInfo> {
        let config = self.config();
        let mut list: Vec<AccountInfo> = self
            .accounts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .map(|mut a| {
                if config.provider(&a.provider).is_none() {
                    a.status = AccountStatus::ProviderRemoved;
                }
                a
            })
            .collect();
        // Stable: within a provider, sign-in order (the mirror's).
        list.sort_by(|a, b| a.provider.cmp(&b.provider));
        list
    }

    pub(crate) fn provider(&self, id: &str) -> Result<ProviderRef, BrokerError> {
        let config = self.config();
        match config.providers.iter().position(|p| p.id == id) {
            Some(index) => Ok(ProviderRef { config, index }),
            None => Err(BrokerError::NoSuchProvider {
                id: id.into(),
                known: config
                    .providers
                    .iter()
                    .map(|p| p.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Discovery runs once per provider and broker lifetime.
    async fn metadata(
        &self,
        provider: &ProviderConfig,
    ) -> Result<Arc<ProviderMetadata>, BrokerError> {
        let mut cache = self.metadata.lock().await;
        if let Some(meta) = cache.get(&provider.id) {
            return Ok(meta.clone());
        }
        let meta = Arc::new(oauth::discover(&self.http, provider).await?);
        cache.insert(provider.id.clone(), meta.clone());
        Ok(meta)
    }

    /// An account id, or a provider id with exactly one account.
    pub fn resolve_account(&self, name: &str) -> Result<AccountInfo, BrokerError> {
        let accounts = self.accounts.read().unwrap_or_else(|p| p.into_inner());
        if let Some(a) = accounts.get(name) {
            return Ok(a.clone());
        }
        let mut of_provider: Vec<&AccountInfo> =
            accounts.values().filter(|a| a.provider == name).collect();
        match of_provider.len() {
            1 => Ok(of_provider[0].clone()),
            0 => Err(BrokerError::NoSuchAccount(name.into())),
            _ => {
                of_provider.sort_by_key(|a| &a.id);
                let ids = of_provider.iter().map(|a| a.id.clone()).collect();
                Err(BrokerError::AmbiguousAccount { provider: name.into(), ids })
            }
        }
    }

    /// Stores a signed-in account (new, or the same person again) and logs the sign-in.
    fn remember_account(&self, account: AccountInfo) -> Result<(), BrokerError> {
        self.db.upsert_account(&account)?;
        let who = account.display_name().to_owned();
        let row = |again: bool| {
            let detail =
                format!("{} as {who}", if again { "signed in again" } else { "signed in" });
            NewActivity::now(
                ActivityEvent::SignedIn,
                None,
                Some(&account.id),
                &account.scopes,
                detail,
            )
        };
        let row = {
            let mut accounts = self.accounts.write().unwrap_or_else(|p| p.into_inner());
            let row = row(accounts.contains_key(&account.id));
            accounts.insert(account.id.clone(), account);
            row
        };
        self.recorder.activity_soon(row);
        self.events.emit(BrokerEvent::AccountsChanged);
        Ok(())
    }

    /// Caches a token a sign-in minted; the account's older tokens may be dead now.
    fn cache_token(&self, account: &str, scopes: &ScopeSet, token: CachedToken) {
        self.cache.put_superseding(account, scopes, token);
    }

    fn forget_cached(&self, account: &str) {
        self.cache.forget_account(account);
    }

    /// Removes the account's cached tokens, returning those still valid.
    fn take_cached(&self, account: &str) -> Vec<Secret> {
        self.cache.take_account(account, now_unix())
    }

    fn refresh_lock(&self, account: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.refresh_locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(account.to_owned()).or_default().clone()
    }

    /// Who the peer `pid` of user `uid` is (`pidfd`: the kernel's handle on it, if any).
    /// Blocking: it reads `/proc`.
    pub(crate) fn identify_peer(
        &self,
        pid: i32,
        uid: u32,
        pidfd: Option<BorrowedFd<'_>>,
    ) -> Result<Caller, IdentityError> {
        self.identifier.identify(pid, uid, pidfd)
    }
}

/// One provider's config as it was when it was looked up: a reload meanwhile does not change
/// it under a sign-in or refresh that already started.
#[derive(Clone)]
pub(crate) struct ProviderRef {
    config: Arc<Config>,
    index: usize,
}

impl Deref for ProviderRef {
    type Target = ProviderConfig;

    fn deref(&self) -> &ProviderConfig {
        &self.config.providers[self.index]
    }
}
