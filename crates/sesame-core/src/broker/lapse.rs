//! Grants that end by themselves. One approved for a time lapses at its `expires_at`; one
//! approved until the screen locks lapses when `screen_lock.rs` hears the screen lock or
//! the system go to sleep, and with the broker (the next broker deletes it when it starts).
//! A lapse deletes the grant, tells subscribers (`grants_changed`) and writes a `lapsed` row.
//! Coverage never waits for the sweep: `GrantTable::covering` ignores a grant past its end,
//! so a lapsed grant covers nothing even in the moment before it is deleted.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sesame_ipc::consent::{ActivityEvent, GrantInfo};
use sesame_ipc::events::BrokerEvent;
use tokio::sync::{mpsc, Notify};

use super::Broker;
use crate::now_unix;
use crate::screen_lock::{self, Lock};

/// The sweep wakes at least this often, so a clock that jumped (a suspended laptop: the
/// timer's clock stops, the wall clock does not) delays a lapse's row by no more.
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// Why grants lapse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Why {
    TimeUp,
    Locked(Lock),
    /// The broker that made it stopped (found by the next one).
    BrokerStopped,
}

impl Why {
    fn words(self) -> &'static str {
        match self {
            Why::TimeUp => "its time was up",
            Why::Locked(lock) => lock.words(),
            Why::BrokerStopped => "the broker stopped",
        }
    }
}

/// The sweep's alarm clock: rung when a grant with an end is made.
#[derive(Default)]
pub(crate) struct Lapses {
    wake: Notify,
}

impl Lapses {
    /// A grant with an end was made: the sweep looks again when it is due.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Starts the sweep of time-limited grants; it ends when the broker is dropped. `ended` are
/// the until-lock grants the last broker left (deleted already): their lapse is logged now.
pub(super) fn spawn(broker: Weak<Broker>, ended: Vec<GrantInfo>) {
    tokio::spawn(async move {
        if let Some(b) = broker.upgrade() {
            for g in &ended {
                b.record_lapse(g, Why::BrokerStopped).await;
            }
            if !ended.is_empty() {
                b.events.emit(BrokerEvent::GrantsChanged);
            }
        }
        loop {
            let Some(b) = broker.upgrade() else { return };
            b.sweep_lapsed(None).await;
            let wait = b.grants.next_expiry().map_or(MAX_SLEEP, |at| until(at).min(MAX_SLEEP));
            let lapses = b.lapses.clone();
            drop(b);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = lapses.wake.notified() => {}
            }
        }
    });
}

/// From now to Unix second `at` (zero if it has passed), to the millisecond.
fn until(at: i64) -> Duration {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Duration::from_secs(u64::try_from(at).unwrap_or(0)).saturating_sub(now)
}

impl Broker {
    /// Listens for the screen lock (session and system bus, `screen_lock.rs`) and ends the
    /// until-lock grants at each. For a hosted broker (`host::start`); unit tests call
    /// [`Broker::screen_locked`] themselves.
    pub(crate) fn watch_screen_lock(self: &Arc<Self>) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        screen_lock::watch(tx);
        let broker = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(lock) = rx.recv().await {
                let Some(b) = broker.upgrade() else { return };
                tracing::info!(?lock, "the screen locked: ending the grants made until then");
                b.screen_locked(lock).await;
            }
        });
    }

    /// The screen locked (or the system goes to sleep): every until-lock grant lapses.
    pub(crate) async fn screen_locked(&self, lock: Lock) {
        self.sweep_lapsed(Some(lock)).await;
    }

    /// Deletes the grants that have lapsed by now (with `lock`, also the until-lock ones)
    /// and logs each lapse.
    pub(crate) async fn sweep_lapsed(&self, lock: Option<Lock>) {
        let now = now_unix();
        let gone = self.grants.take_lapsed(now, lock.is_some());
        if gone.is_empty() {
            return;
        }
        let mut lapsed = 0;
        for g in &gone {
            match self.db.delete_lapsed_grant(g.id, now, lock.is_some()) {
                Ok(true) => {
                    lapsed += 1;
                    let why = match lock {
                        Some(lock) if g.until_lock => Why::Locked(lock),
                        _ => Why::TimeUp,
                    };
                    self.record_lapse(g, why).await;
                }
                // Approved again meanwhile (same program, account and scopes): the renewed
                // grant is the database's.
                Ok(false) => match self.db.grant(g.id) {
                    Ok(Some(renewed)) => self.grants.insert(renewed),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(grant = g.id, error = %e, "cannot read a renewed grant back")
                    }
                },
                // It covers nothing already; the next sweep (or broker) deletes it.
                Err(e) => tracing::warn!(grant = g.id, error = %e, "cannot delete a lapsed grant"),
            }
        }
        if lapsed > 0 {
            self.events.emit(BrokerEvent::GrantsChanged);
        }
    }

    async fn record_lapse(&self, g: &GrantInfo, why: Why) {
        tracing::info!(grant = g.id, app = %g.app.key, account = %g.account, why = why.words(), "grant lapsed");
        let detail = format!("grant {}, {}", g.id, why.words());
        self.record(ActivityEvent::Lapsed, &g.app, Some(&g.account), &g.scopes, detail).await;
    }
}
