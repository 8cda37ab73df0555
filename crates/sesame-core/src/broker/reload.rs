//! `config.reload` (and the daemon's SIGHUP): the config file read again and, if it parses,
//! put in force whole. The config in force is always the last one that parsed: a bad edit
//! is reported (the reply, the log, `broker.status`, the app) and changes nothing.
//!
//! What a reload does to what the old config made:
//! - a removed provider's accounts (and their grants) are kept, listed as
//!   `provider_removed`, and serve no token until the provider is back or they sign out;
//! - a changed provider's next sign-in and refresh use the new settings (its discovered
//!   metadata is dropped, so endpoints are discovered again); a changed issuer or client id
//!   also drops its accounts' cached access tokens (issued to the old client, or by the old
//!   issuer), and a refresh never sends an account's refresh token to another issuer than
//!   the one that issued it (`token.rs`);
//! - the settings read only at start (the proactive refresher's, the log's retention) are
//!   named in `restart_needed` and keep their old values until a restart. The socket path
//!   and the data directory are not in the config (flags and `SESAME_*`): a reload never
//!   moves them.

use std::path::PathBuf;
use std::sync::Arc;

use sesame_ipc::admin::{ReloadFailure, ReloadResult};
use sesame_ipc::events::BrokerEvent;

use super::Broker;
use crate::config::Config;
use crate::error::BrokerError;
use crate::now_unix;

impl Broker {
    /// The host tells the broker where its config lives (once), so it can reload it.
    pub(crate) fn set_config_file(&self, path: PathBuf) {
        let _ = self.config_file.set(path);
    }

    pub(crate) fn config_file(&self) -> Option<&PathBuf> {
        self.config_file.get()
    }

    /// Reads the config file again; puts it in force if it parses.
    pub async fn reload_config(&self) -> Result<ReloadResult, BrokerError> {
        let Some(path) = self.config_file.get() else {
            return Err(BrokerError::Internal(
                "this broker was started without a config file, so there is nothing to reload"
                    .into(),
            ));
        };
        let read = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || Config::load(&path))
                .await
                .map_err(|e| BrokerError::Internal(format!("the config reader failed: {e}")))?
        };
        match read {
            Ok(config) => {
                let mut result = self.put_in_force(config).await;
                result.config_file = path.display().to_string();
                Ok(result)
            }
            Err(e) => {
                let message = e.to_string();
                tracing::error!(config = %path.display(), error = %message, "config reload failed; the previous config stays in force");
                *self.reload_failure.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(ReloadFailure { at: now_unix(), message: message.clone() });
                self.events.emit(BrokerEvent::ConfigReloaded { ok: false });
                Err(BrokerError::ConfigInvalid(message))
            }
        }
    }

    /// The last reload that failed, while no later one succeeded.
    pub fn reload_failure(&self) -> Option<ReloadFailure> {
        self.reload_failure.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Swaps `new` in and says what changed (see the module's comment for what follows).
    pub(crate) async fn put_in_force(&self, new: Config) -> ReloadResult {
        let new = Arc::new(new);
        let old = {
            let mut config = self.config.write().unwrap_or_else(|p| p.into_inner());
            std::mem::replace(&mut *config, new.clone())
        };
        let mut result = ReloadResult::default();
        for p in &new.providers {
            match old.provider(&p.id) {
                None => result.added.push(p.id.clone()),
                Some(before) if before != p => {
                    result.changed.push(p.id.clone());
                    if before.issuer != p.issuer || before.client_id != p.client_id {
                        result.tokens_dropped.push(p.id.clone());
                    }
                }
                Some(_) => {}
            }
        }
        result.removed = old
            .providers
            .iter()
            .filter(|p| new.provider(&p.id).is_none())
            .map(|p| p.id.clone())
            .collect();
        if old.refresh != new.refresh {
            result
                .restart_needed
                .push("proactive_refresh, refresh_at_percent, refresh_idle_secs".into());
        }
        if (old.activity_retention, old.activity_max_rows)
            != (new.activity_retention, new.activity_max_rows)
        {
            result.restart_needed.push("activity_retention_days, activity_max_rows".into());
        }

        // Endpoints are discovered again (or taken from the new file) at the next use.
        {
            let mut metadata = self.metadata.lock().await;
            for id in result.changed.iter().chain(&result.removed) {
                metadata.remove(id);
            }
        }
        let dropped: Vec<String> = self
            .accounts()
            .into_iter()
            .filter(|a| result.tokens_dropped.contains(&a.provider))
            .map(|a| a.id)
            .collect();
        for account in &dropped {
            self.forget_cached(account);
        }
        *self.reload_failure.lock().unwrap_or_else(|p| p.into_inner()) = None;
        tracing::info!(
            added = ?result.added,
            removed = ?result.removed,
            changed = ?result.changed,
            tokens_dropped_for = ?dropped,
            restart_needed = ?result.restart_needed,
            "config reloaded"
        );
        self.events.emit(BrokerEvent::ConfigReloaded { ok: true });
        result
    }
}

#[cfg(test)]
#[path = "reload_tests.rs"]
mod tests;
