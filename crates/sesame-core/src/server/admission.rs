//! Who may hold a connection, so that no program can hoard them: at most
//! [`MAX_CONNECTIONS`] in all (plus a reserve only Sesame's own tools may use), at most
//! [`MAX_PER_APP`] per program and, of those, at most [`MAX_IDLE_PER_APP`] idle ones.
//!
//! *Idle* means between requests (a half-written line included: it is closed after a few
//! seconds anyway). A request in progress — `token.get` waiting for consent, `login.wait`,
//! an `events.subscribe` stream — is not idle and is never closed to make room.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use tokio_util::sync::CancellationToken;

use super::MAX_CONNECTIONS;
use crate::policy::Caller;

/// Connections above [`MAX_CONNECTIONS`] that only Sesame's own binaries (the CLI, the app)
/// may take, so the user can still manage a broker that programs have filled up.
pub const MANAGEMENT_RESERVE: usize = 16;
/// Connections one program (one app key) may have open: all but 32 of the cap, so whatever
/// one program does, others still get in. (Not lower: 200 requests of one program waiting
/// on one refresh at once is a real use, and those connections are not idle.)
pub const MAX_PER_APP: usize = MAX_CONNECTIONS - 32;
/// Idle connections one program may keep; past it, its longest idle one is closed.
pub const MAX_IDLE_PER_APP: usize = 32;

#[derive(Default)]
pub struct Admission {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Seats under [`MAX_CONNECTIONS`] and in the reserve.
    general: usize,
    reserved: usize,
    next_id: u64,
    /// Bumped whenever a connection goes idle: the smallest stamp has been idle longest.
    clock: u64,
    seats: HashMap<u64, Slot>,
}

struct Slot {
    app: String,
    management: bool,
    reserved: bool,
    /// `Some(stamp)` while idle.
    idle_since: Option<u64>,
    eviction: Arc<Eviction>,
}

/// How a connection learns that it was closed to make room, and why.
#[derive(Default)]
pub struct Eviction {
    pub token: CancellationToken,
    why: OnceLock<Why>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Its program has more than [`MAX_IDLE_PER_APP`] idle connections.
    TooManyIdle,
    /// Its program has [`MAX_PER_APP`] connections and opened another.
    TooManyOfApp,
    /// The broker is full and one of Sesame's own tools needed a connection.
    MadeRoom,
}

impl Eviction {
    pub fn why(&self) -> Option<Why> {
        self.why.get().copied()
    }
}

/// Why a new connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// [`MAX_CONNECTIONS`] are open and the caller may not use the reserve.
    Full,
    /// The program has [`MAX_PER_APP`] connections, none of them idle.
    AppFull,
}

/// A connection's place: given back when dropped.
pub struct Seat {
    admission: Arc<Admission>,
    id: u64,
    eviction: Arc<Eviction>,
}

impl Admission {
    /// A seat for a new connection of `caller`. It is not idle until the connection waits
    /// for a line (so a first request already sent is never closed before it is read).
    pub fn admit(self: &Arc<Self>, caller: &Caller) -> Result<Seat, Refusal> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let app = &caller.app.key;
        if st.seats.values().filter(|s| &s.app == app).count() >= MAX_PER_APP
            && !st.evict_longest_idle(|s| &s.app == app, Why::TooManyOfApp)
        {
            return Err(Refusal::AppFull);
        }
        let reserved = if st.general < MAX_CONNECTIONS {
            false
        } else if !caller.management {
            return Err(Refusal::Full);
        } else if st.reserved < MANAGEMENT_RESERVE {
            true
        } else if st.evict_longest_idle(|s| !s.management, Why::MadeRoom) {
            false
        } else {
            return Err(Refusal::Full);
        };
        if reserved {
            st.reserved += 1;
        } else {
            st.general += 1;
        }
        st.next_id += 1;
        let id = st.next_id;
        let eviction = Arc::new(Eviction::default());
        let slot = Slot {
            app: app.clone(),
            management: caller.management,
            reserved,
            idle_since: None,
            eviction: eviction.clone(),
        };
        st.seats.insert(id, slot);
        Ok(Seat { admission: self.clone(), id, eviction })
    }

    #[cfg(test)]
    fn open(&self) -> usize {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).seats.len()
    }
}

impl State {
    fn went_idle(&mut self, id: u64) {
        self.clock += 1;
        let stamp = self.clock;
        let Some(slot) = self.seats.get_mut(&id) else { return };
        slot.idle_since = Some(stamp);
        let app = slot.app.clone();
        let idle = |s: &Slot| s.app == app && s.idle_since.is_some();
        while self.seats.values().filter(|s| idle(s)).count() > MAX_IDLE_PER_APP {
            self.evict_longest_idle(|s| s.app == app, Why::TooManyIdle);
        }
    }

    /// Closes the longest idle connection among those `which` picks; false if none is idle.
    fn evict_longest_idle(&mut self, which: impl Fn(&Slot) -> bool, why: Why) -> bool {
        let victim = self
            .seats
            .iter()
            .filter(|(_, s)| which(s))
            .filter_map(|(id, s)| s.idle_since.map(|stamp| (stamp, *id)))
            .min();
        let Some((_, id)) = victim else { return false };
        if let Some(slot) = self.release(id) {
            let _ = slot.eviction.why.set(why);
            slot.eviction.token.cancel();
        }
        true
    }

    fn release(&mut self, id: u64) -> Option<Slot> {
        let slot = self.seats.remove(&id)?;
        if slot.reserved {
            self.reserved -= 1;
        } else {
            self.general -= 1;
        }
        Some(slot)
    }
}

impl Seat {
    /// A request is being served: this connection may not be closed to make room.
    pub fn busy(&self) {
        let mut st = self.admission.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = st.seats.get_mut(&self.id) {
            slot.idle_since = None;
        }
    }

    /// Between requests again (this may close the program's longest idle connection).
    pub fn idle(&self) {
        self.admission.state.lock().unwrap_or_else(|p| p.into_inner()).went_idle(self.id);
    }

    pub fn eviction(&self) -> &Eviction {
        &self.eviction
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.admission.state.lock().unwrap_or_else(|p| p.into_inner()).release(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::ProcessRef;
    use sesame_ipc::consent::AppInfo;

    fn caller(key: &str, management: bool) -> Caller {
        let app = AppInfo {
            key: key.into(),
            name: key.into(),
            exe: key.into(),
            script: None,
            icon: None,
            flatpak_app: None,
            sandboxed: false,
            content: None,
            chain: vec![],
            generic: None,
        };
        let process = ProcessRef { pid: 1, start_time: 1 };
        Caller { app, process, via_cli: false, management, files: None }
    }

    fn idle(seat: Result<Seat, Refusal>) -> Seat {
        let seat = seat.unwrap();
        seat.idle();
        seat
    }

    #[test]
    fn a_program_keeps_its_newest_idle_connections_and_its_busy_ones() {
        let a = Arc::new(Admission::default());
        let hog = caller("/hog", false);
        let first = a.admit(&hog).unwrap();
        let seats: Vec<Seat> = (0..MAX_IDLE_PER_APP + 10).map(|_| idle(a.admit(&hog))).collect();
        let evicted = seats.iter().filter(|s| s.eviction().token.is_cancelled()).count();
        assert_eq!(evicted, 10, "the ten longest idle are closed");
        assert!(seats[..10].iter().all(|s| s.eviction().why() == Some(Why::TooManyIdle)));
        assert!(!first.eviction().token.is_cancelled(), "a busy connection stays");
        assert_eq!(a.open(), MAX_IDLE_PER_APP + 1);
        // Going idle again makes it the newest idle one: the longest idle other goes.
        first.idle();
        assert!(seats[10].eviction().token.is_cancelled());
        assert!(!first.eviction().token.is_cancelled());
    }

    #[test]
    fn a_program_with_only_busy_connections_is_refused_past_its_cap() {
        let a = Arc::new(Admission::default());
        let hog = caller("/hog", false);
        let seats: Vec<Seat> = (0..MAX_PER_APP).map(|_| a.admit(&hog).unwrap()).collect();
        assert_eq!(a.admit(&hog).err(), Some(Refusal::AppFull));
        assert!(a.admit(&caller("/other", false)).is_ok(), "other programs are not affected");
        seats[0].idle();
        assert!(a.admit(&hog).is_ok(), "an idle one makes room");
        assert_eq!(seats[0].eviction().why(), Some(Why::TooManyOfApp));
    }

    #[test]
    fn when_full_only_sesame_gets_in_and_seats_come_back() {
        let a = Arc::new(Admission::default());
        let per = MAX_IDLE_PER_APP;
        let mut seats: Vec<Seat> = (0..MAX_CONNECTIONS)
            .map(|i| idle(a.admit(&caller(&format!("/app{}", i / per), false))))
            .collect();
        assert!(seats.iter().all(|s| !s.eviction().token.is_cancelled()));
        assert_eq!(a.admit(&caller("/late", false)).err(), Some(Refusal::Full));
        let cli = caller("/usr/bin/bash", true);
        let reserve: Vec<Seat> = (0..MANAGEMENT_RESERVE).map(|_| a.admit(&cli).unwrap()).collect();
        // Reserve used up: Sesame's tools take the longest idle seat of a program.
        let more = a.admit(&cli).unwrap();
        assert_eq!(seats[0].eviction().why(), Some(Why::MadeRoom));
        assert_eq!(a.admit(&caller("/late", false)).err(), Some(Refusal::Full));
        drop((reserve, more));
        seats.truncate(10);
        let late = a.admit(&caller("/late", false));
        assert!(late.is_ok(), "closed connections free their seats");
        assert_eq!(a.open(), 9 + 1, "nine of the first ten (one was closed) and the late one");
    }
}
