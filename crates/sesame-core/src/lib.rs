//! Sesame's headless core. Everything the broker does lives here; the CLI daemon and the
//! desktop app both host one [`Broker`] and serve it with [`server::run`] (or let
//! [`Host`] do both).
//!
//! # Public API
//!
//! What `sesame-cli`, `src-tauri` and the tests use, and nothing else:
//!
//! - [`Broker`]: accounts, tokens, sign-in, consent, grants and activity, one per process;
//!   its methods are the socket's methods ([`server`] is a thin adapter over them).
//! - [`BrokerError`] (with [`Remedy`], what to do about it), [`Config`], [`Paths`].
//! - [`Caller`] and [`ProcessRef`]: who asks (the app passes its own, in-process caller);
//!   [`Asker`]: what a waiting request is watched by (its connection and process).
//! - [`Host`], [`HostError`], [`HelperCommand`], [`host::rotate_helper`]: start the broker
//!   where the platform wants it (socket, database, keyring, the rotation helper).
//! - [`server`]: `run` the socket server over a listener, and its socket helpers.
//! - [`Db`], [`Keyring`]: the stores a [`Broker`] is built from.
//! - [`open_browser`], [`describe_scope`], [`icon_data_url`], [`now_unix`]: small helpers the
//!   front ends share.
//! - With the `test-support` feature: [`testing`] (an in-memory keyring, the keyring key of
//!   a client secret) and [`test_http`] (a one-shot HTTP provider).
//! - With the `fuzzing` feature (the fuzz targets in `fuzz/` only): `fuzz`, one entry
//!   function per target.
//!
//! Everything else is private to the crate.

mod broker;
mod browser;
mod cache;
mod config;
mod db;
mod error;
mod events;
pub mod host;
mod identity;
mod keyring;
mod oauth;
mod paths;
mod policy;
mod retry;
mod rotation;
mod scope_words;
mod screen_lock;
pub mod server;

pub use broker::Broker;
pub use browser::open as open_browser;
pub use config::{Config, ConfigError};
pub use db::{Db, DbError};
pub use error::BrokerError;
pub use host::{HelperCommand, Host, HostError};
pub use identity::icon::data_url as icon_data_url;
pub use keyring::{Keyring, KeyringError, SecretServiceStore};
pub use paths::Paths;
pub use policy::{Asker, Caller, ProcessRef};
pub use scope_words::describe as describe_scope;
pub use sesame_ipc::{Remedy, ScopeSet, Secret};

/// Seconds since the Unix epoch.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Fakes behind the real traits, for the app's and the tests' own test code.
#[cfg(any(test, feature = "test-support"))]
pub mod testing {
    pub use crate::keyring::{client_secret_key, MemoryStore, SecretStore};
}

/// The provider's side of one HTTP exchange, for tests.
#[cfg(any(test, feature = "test-support"))]
pub mod test_http;

/// Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): one function per
/// target, taking the fuzzer's bytes, so the parsers behind them stay private.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzz;
