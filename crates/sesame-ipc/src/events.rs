//! What the broker tells subscribers (`events.subscribe`): changes a tray icon, a window or a
//! notification should follow. Events carry ids and names, never a token; a subscriber
//! re-reads the details with the ordinary calls.

use serde::{Deserialize, Serialize};

use crate::protocol::Notification;

/// The JSON-RPC notification method every event is sent as (`params` is the event).
pub const EVENT_NOTIFICATION: &str = "event";

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum BrokerEvent {
    /// A token request now waits for the user's answer (`pending.list` has it).
    PendingAdded { id: u64, app_name: String, account: String },
    /// A waiting request was answered or timed out.
    PendingResolved { id: u64 },
    /// The provider refused the account's refresh token: `sesame login <provider>` repairs it.
    ReauthRequired { account: String, provider: String, why: String },
    /// An account was added, signed in again, or signed out.
    AccountsChanged,
    /// A grant was made, revoked, or lapsed.
    GrantsChanged,
    /// A config reload put a new config in force, or failed (`broker.status` says why):
    /// re-read providers and accounts.
    ConfigReloaded { ok: bool },
    /// This subscriber fell behind and missed `missed` events: re-read everything it shows.
    Lagged { missed: u64 },
}

impl Notification {
    /// The notification that carries `event` to a subscriber.
    pub fn event(event: &BrokerEvent) -> Notification {
        let params = serde_json::to_value(event).unwrap_or_default();
        Notification { jsonrpc: "2.0".into(), method: EVENT_NOTIFICATION.into(), params }
    }

    /// One line of the wire (without the newline).
    pub fn to_line(&self) -> String {
        // A notification is strings and JSON values: it always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_objects() {
        let e = BrokerEvent::ReauthRequired {
            account: "a".into(),
            provider: "p".into(),
            why: "w".into(),
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"event": "reauth_required", "account": "a", "provider": "p", "why": "w"})
        );
        assert_eq!(
            serde_json::to_value(BrokerEvent::GrantsChanged).unwrap(),
            serde_json::json!({"event": "grants_changed"})
        );
        assert_eq!(serde_json::from_value::<BrokerEvent>(v).unwrap(), e);
    }
}
