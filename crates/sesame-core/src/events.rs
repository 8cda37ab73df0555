//! The broker's event channel: what changed, for the tray, the windows and `sesame events`.
//! A broadcast channel, so a slow subscriber only loses its own events (it is told, with
//! `Lagged`) and never slows the broker down.

use sesame_ipc::events::BrokerEvent;
use tokio::sync::broadcast;

/// Events a subscriber may fall behind by before it misses some.
const BACKLOG: usize = 256;

pub(crate) struct Events {
    tx: broadcast::Sender<BrokerEvent>,
}

impl Default for Events {
    fn default() -> Self {
        Events { tx: broadcast::channel(BACKLOG).0 }
    }
}

impl Events {
    /// Nobody listening is fine: events are hints, the state lives elsewhere.
    pub(crate) fn emit(&self, event: BrokerEvent) {
        tracing::debug!(?event, "event");
        let _ = self.tx.send(event);
    }

    pub(crate) fn subscribe(&self) -> Subscription {
        Subscription { rx: self.tx.subscribe() }
    }
}

pub struct Subscription {
    rx: broadcast::Receiver<BrokerEvent>,
}

impl Subscription {
    /// The next event; `Lagged` when this subscriber missed some. `None` once the broker is gone.
    pub async fn next(&mut self) -> Option<BrokerEvent> {
        match self.rx.recv().await {
            Ok(event) => Some(event),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                Some(BrokerEvent::Lagged { missed })
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_get_events_and_hear_when_they_fell_behind() {
        let events = Events::default();
        events.emit(BrokerEvent::GrantsChanged); // before anyone listens: dropped, no error
        let mut sub = events.subscribe();
        events.emit(BrokerEvent::AccountsChanged);
        assert_eq!(sub.next().await, Some(BrokerEvent::AccountsChanged));
        for id in 0..(BACKLOG as u64 + 10) {
            events.emit(BrokerEvent::PendingResolved { id });
        }
        assert_eq!(sub.next().await, Some(BrokerEvent::Lagged { missed: 10 }));
        assert_eq!(sub.next().await, Some(BrokerEvent::PendingResolved { id: 10 }));
    }
}
