//! `broker.status`: one screen that answers "is it working?" — since when the broker runs,
//! whether the config on disk is the one in force, each account's state and when its cached
//! tokens expire, the questions waiting for the user, the grants about to lapse. Memory only
//! (the mirrors), and no token or secret: expiry times, ids and names.

use sesame_ipc::admin::*;

use super::Broker;

/// How far ahead `lapsing` looks: grants that end within a day.
pub const LAPSE_WINDOW_SECS: i64 = 86_400;

impl Broker {
    pub fn status(&self, now: i64) -> StatusResult {
        let expiries = self.cache.expiries();
        let accounts = self
            .accounts()
            .into_iter()
            .map(|a| {
                let mut cached: Vec<CachedTokenState> = expiries
                    .iter()
                    .filter(|(account, _, expires_at)| *account == a.id && *expires_at > now)
                    .map(|(_, scopes, expires_at)| CachedTokenState {
                        scopes: scopes.clone(),
                        expires_at: *expires_at,
                    })
                    .collect();
                cached.sort_by(|x, y| (x.expires_at, &x.scopes).cmp(&(y.expires_at, &y.scopes)));
                AccountState {
                    display_name: a.display_name().to_owned(),
                    id: a.id,
                    provider: a.provider,
                    status: a.status,
                    last_refreshed_at: a.last_refreshed_at,
                    cached,
                }
            })
            .collect();
        let pending = self
            .pending
            .list()
            .into_iter()
            .map(|p| PendingSummary {
                id: p.id,
                app: p.app.name,
                account: p.account,
                scopes: p.scopes,
                expires_at: p.expires_at,
            })
            .collect();
        let mut lapsing: Vec<LapsingGrant> = self
            .grants
            .list()
            .into_iter()
            .filter_map(|g| {
                let expires_at =
                    g.expires_at.filter(|t| *t > now && *t <= now + LAPSE_WINDOW_SECS)?;
                Some(LapsingGrant {
                    id: g.id,
                    app: g.app.name,
                    account: g.account,
                    scopes: g.scopes,
                    expires_at,
                })
            })
            .collect();
        lapsing.sort_by_key(|g| (g.expires_at, g.id));
        StatusResult {
            broker: env!("CARGO_PKG_VERSION").into(),
            started_at: self.started_at,
            config_file: self.config_file().map(|p| p.display().to_string()),
            reload_failure: self.reload_failure(),
            accounts,
            pending,
            lapsing,
            lapse_window: LAPSE_WINDOW_SECS,
        }
    }
}
