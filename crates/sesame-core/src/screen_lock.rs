//! Hears the screen lock, for the grants approved "until the screen locks": the
//! screensaver's `ActiveChanged(true)` on the session bus (`org.freedesktop.ScreenSaver`,
//! `org.gnome.ScreenSaver`), and on the system bus logind's `Lock` of a session of ours and
//! `PrepareForSleep(true)`. A signal counts only from the current owner of the name it is
//! about (anyone may send a signal to us directly; only the name's owner speaks for the
//! screensaver or logind). A bus that is not there is logged once; the other still counts.

use futures::stream::{select_all, StreamExt};
use tokio::sync::mpsc::UnboundedSender;
use zbus::message::Type;
use zbus::{Connection, MatchRule, Message, MessageStream, OwnedObjectPath};

/// The screensavers whose `ActiveChanged` we follow (the name is also the interface).
pub const SCREENSAVERS: [&str; 2] = ["org.freedesktop.ScreenSaver", "org.gnome.ScreenSaver"];
const LOGIND: &str = "org.freedesktop.login1";
const LOGIND_MANAGER: &str = "org.freedesktop.login1.Manager";
const LOGIND_SESSION: &str = "org.freedesktop.login1.Session";

/// Why the screen counts as locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// A screensaver (by its bus name) turned on.
    Screensaver(&'static str),
    /// logind locked a session of our user.
    Session,
    /// The system is going to sleep.
    Sleep,
}

impl Lock {
    /// For the activity log: what ended the grant.
    pub fn words(self) -> &'static str {
        match self {
            Lock::Screensaver(_) | Lock::Session => "the screen locked",
            Lock::Sleep => "the system went to sleep",
        }
    }
}

/// Starts listening on both buses; every lock is sent to `tx`. The listeners end when
/// `tx`'s receiver is dropped (at the next signal) or their bus goes away. Must run inside
/// a tokio runtime.
pub fn watch(tx: UnboundedSender<Lock>) {
    tokio::spawn(session_bus(tx.clone()));
    tokio::spawn(system_bus(tx));
}

async fn session_bus(tx: UnboundedSender<Lock>) {
    let conn = match Connection::session().await {
        Ok(c) => c,
        Err(e) => {
            tracing::info!(error = %e, "no session bus: a screensaver's lock cannot end the grants made until the screen locks");
            return;
        }
    };
    let mut streams = vec![];
    for name in SCREENSAVERS {
        match signals(&conn, name, name, None, "ActiveChanged").await {
            Ok(s) => streams.push(s.map(move |m| (name, m)).boxed()),
            Err(e) => tracing::warn!(name, error = %e, "cannot follow the screensaver"),
        }
    }
    tracing::info!(screensavers = ?SCREENSAVERS, "following the screensaver's lock on the session bus");
    let mut all = select_all(streams);
    while let Some((name, msg)) = all.next().await {
        let Ok(msg) = msg else { continue };
        if msg.body().deserialize::<bool>().unwrap_or(false)
            && sent_by_owner(&conn, &msg, name).await
            && tx.send(Lock::Screensaver(name)).is_err()
        {
            return;
        }
    }
}

async fn system_bus(tx: UnboundedSender<Lock>) {
    let conn = match Connection::system().await {
        Ok(c) => c,
        Err(e) => {
            tracing::info!(error = %e, "no system bus: logind's lock and sleep cannot end the grants made until the screen locks (the screensaver's still does)");
            return;
        }
    };
    let mut streams = vec![];
    match signals(&conn, LOGIND, LOGIND_MANAGER, Some("/org/freedesktop/login1"), "PrepareForSleep")
        .await
    {
        Ok(s) => streams.push(s.map(|m| (Lock::Sleep, m)).boxed()),
        Err(e) => tracing::info!(error = %e, "cannot follow logind's PrepareForSleep"),
    }
    match signals(&conn, LOGIND, LOGIND_SESSION, None, "Lock").await {
        Ok(s) => streams.push(s.map(|m| (Lock::Session, m)).boxed()),
        Err(e) => tracing::info!(error = %e, "cannot follow logind's Lock"),
    }
    tracing::info!("following logind's Lock and PrepareForSleep on the system bus");
    let mut all = select_all(streams);
    while let Some((lock, msg)) = all.next().await {
        let Ok(msg) = msg else { continue };
        // `Lock` has no arguments; `PrepareForSleep(true)` is before sleep, `false` after.
        let counts = match lock {
            Lock::Sleep => msg.body().deserialize::<bool>().unwrap_or(false),
            _ => {
                let path = msg.header().path().map(|p| p.as_str().to_owned()).unwrap_or_default();
                our_session(&conn, &path).await
            }
        };
        if counts && sent_by_owner(&conn, &msg, LOGIND).await && tx.send(lock).is_err() {
            return;
        }
    }
}

/// The signals `member` of `interface` from `sender` (at `path`, if given).
async fn signals(
    conn: &Connection,
    sender: &str,
    interface: &str,
    path: Option<&str>,
    member: &str,
) -> zbus::Result<MessageStream> {
    let mut rule = MatchRule::builder()
        .msg_type(Type::Signal)
        .sender(sender.to_owned())
        .interface(interface.to_owned())
        .member(member.to_owned());
    if let Some(path) = path {
        rule = rule.path(path.to_owned());
    }
    MessageStream::for_match_rule(rule.build()?, conn, None).await
}

/// Whether `msg` comes from the current owner of `name` (the bus filters broadcast signals
/// by their sender's names, but a signal sent to us directly reaches us whoever sent it).
async fn sent_by_owner(conn: &Connection, msg: &Message, name: &str) -> bool {
    let header = msg.header();
    let Some(sender) = header.sender() else { return false };
    let owner = conn
        .call_method(
            Some("org.freedesktop.DBus"),
            "/org/freedesktop/DBus",
            Some("org.freedesktop.DBus"),
            "GetNameOwner",
            &(name,),
        )
        .await;
    match owner.and_then(|reply| reply.body().deserialize::<String>()) {
        Ok(owner) if owner == sender.as_str() => true,
        Ok(_) | Err(_) => {
            tracing::warn!(name, sender = %sender, "ignored a lock signal from a program that is not the name's owner");
            false
        }
    }
}

/// Whether logind's session at `path` is one of our user's (a broker started as a user
/// service belongs to no session itself; the user's sessions are what it locks with).
async fn our_session(conn: &Connection, path: &str) -> bool {
    // SAFETY: getuid cannot fail and touches no memory.
    let uid = unsafe { libc::getuid() };
    let sessions = conn
        .call_method(
            Some(LOGIND),
            "/org/freedesktop/login1",
            Some(LOGIND_MANAGER),
            "ListSessions",
            &(),
        )
        .await
        .and_then(|r| {
            r.body().deserialize::<Vec<(String, u32, String, String, OwnedObjectPath)>>()
        });
    match sessions {
        Ok(list) => list.iter().any(|(_, owner, _, _, p)| *owner == uid && p.as_str() == path),
        Err(e) => {
            tracing::warn!(error = %e, "cannot ask logind whose session locked; counting it as ours");
            true
        }
    }
}
