//! Sesame's headless core. Everything the broker does lives here; the CLI daemon and the
//! desktop app both host one [`broker::Broker`] and serve it with [`server::run`].

pub mod broker;
pub mod browser;
pub mod cache;
pub mod client_secret;
pub mod config;
pub mod consent;
pub mod db;
pub mod error;
pub mod events;
pub mod host;
pub mod identity;
pub mod keyring;
pub mod login;
mod login_device;
pub mod machine;
pub mod oauth;
pub mod paths;
pub mod policy;
pub mod presets;
pub mod refresher;
mod retry;
pub mod rotation;
pub mod scope_words;
pub mod server;

pub use sesame_ipc::Secret;

/// Seconds since the Unix epoch.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(any(test, feature = "test-support"))]
pub mod test_http;
