//! Writes activity rows and grant use counts to SQLite from one background task, so a
//! hand-out never waits on the database. Also enforces the log's retention, in which a
//! flood of refusals cannot push hand-outs and decisions out (see `db/activity.rs`).
//!
//! The task writes on a blocking thread, and a hand-out never waits for room in its queue
//! either: when the queue is full (a stalled disk), hand-outs are merged in memory (one
//! row per program, account, scopes and grant, with a count) until the writer catches up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use sesame_ipc::consent::ActivityEvent;

use crate::db::{Db, NewActivity, RowLimits};
use crate::now_unix;

/// Rows queued beyond this make `record` wait: back-pressure instead of unbounded memory.
const QUEUE: usize = 4_096;
/// Retention is checked after this many rows (or `max_rows`, if smaller) or this much time,
/// whichever comes first.
const PRUNE_EVERY_ROWS: usize = 1_000;
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// How long the writer gathers rows before writing them (not for a flush).
const LINGER: Duration = Duration::from_millis(20);

/// Refusal rows may fill at most this share of `max_rows` (1 / 10), whatever else is in the
/// log: what an outsider can make the broker write is capped apart from what the user did.
const REFUSALS_SHARE: u64 = 10;

#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub max_age: Duration,
    pub max_rows: u64,
}

impl Retention {
    fn limits(&self) -> RowLimits {
        RowLimits { max_rows: self.max_rows, max_refusals: (self.max_rows / REFUSALS_SHARE).max(1) }
    }
}

enum Record {
    Activity(NewActivity),
    /// A hand-out: its row, and the grant it counts on.
    HandOut(NewActivity, Option<i64>),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Record>,
    /// Hand-outs the queue had no room for, merged. Filled only while the queue is full, so
    /// the writer always has a batch still to take, after which it drains this.
    overflow: Overflow,
}

/// Hand-outs (row, grant) waiting beside the queue.
type Overflow = Arc<Mutex<Vec<(NewActivity, Option<i64>)>>>;

impl Recorder {
    /// Starts the writer task on the current tokio runtime.
    pub fn start(db: Arc<Db>, retention: Retention) -> Recorder {
        let (tx, rx) = mpsc::channel(QUEUE);
        let overflow = Arc::new(Mutex::new(vec![]));
        tokio::spawn(write_loop(db, retention, rx, overflow.clone()));
        Recorder { tx, overflow }
    }

    pub async fn activity(&self, row: NewActivity) {
        let _ = self.tx.send(Record::Activity(row)).await;
    }

    /// [`Recorder::activity`] from code that cannot wait: queued now when there is room
    /// (so in order with what is queued next), else by a task once there is.
    pub fn activity_soon(&self, row: NewActivity) {
        if let Err(mpsc::error::TrySendError::Full(record)) =
            self.tx.try_send(Record::Activity(row))
        {
            let tx = self.tx.clone();
            tokio::spawn(async move {
                let _ = tx.send(record).await;
            });
        }
    }

    /// Never waits: this is on the warm path of `token.get`.
    pub async fn handed_out(&self, row: NewActivity, grant: Option<i64>) {
        let full = self.tx.try_send(Record::HandOut(row, grant));
        if let Err(mpsc::error::TrySendError::Full(Record::HandOut(row, grant))) = full {
            let mut overflow = self.overflow.lock().unwrap_or_else(|p| p.into_inner());
            let same =
                |(r, g): &&mut (NewActivity, Option<i64>)| *g == grant && same_hand_out(r, &row);
            match overflow.iter_mut().find(same) {
                Some((r, _)) => {
                    r.count += row.count;
                    r.at = r.at.max(row.at);
                }
                None => overflow.push((row, grant)),
            }
        }
    }

    /// Waits until everything recorded so far is in the database (before reading it back).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Record::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

/// Appends `row`, or counts it on a row already in the batch: the previous row when it is
/// the same hand-out again (a busy program asking many times in one batch: one row per
/// burst, not per request), or the batch's row of the same refusal (or withdrawn question)
/// of the same program (`refusals` indexes those by their `merge_key`, wherever they are in
/// the batch).
fn push_merged(rows: &mut Vec<NewActivity>, refusals: &mut Refusals, row: NewActivity) {
    if row.is_program_made() {
        match refusals.entry(row.merge_key()) {
            std::collections::hash_map::Entry::Occupied(i) => rows[*i.get()].absorb(&row),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(rows.len());
                rows.push(row);
            }
        }
        return;
    }
    if let Some(last) = rows.last_mut() {
        if same_hand_out(last, &row) {
            last.absorb(&row);
            return;
        }
    }
    rows.push(row);
}

/// A batch's program-made rows, by `NewActivity::merge_key`: their index in the batch.
type Refusals = HashMap<(String, ActivityEvent, Option<String>, String, String), usize>;

fn same_hand_out(a: &NewActivity, b: &NewActivity) -> bool {
    a.event == ActivityEvent::HandedOut
        && b.event == ActivityEvent::HandedOut
        && (&a.app, &a.account, &a.scopes, &a.detail) == (&b.app, &b.account, &b.scopes, &b.detail)
}

async fn write_loop(
    db: Arc<Db>,
    retention: Retention,
    mut rx: mpsc::Receiver<Record>,
    overflow: Overflow,
) {
    let mut since_prune = 0usize;
    let mut last_prune = Instant::now() - PRUNE_EVERY;
    while let Some(first) = rx.recv().await {
        // Under load, wait a moment so one wake-up and one transaction take many rows.
        if !matches!(first, Record::Flush(_)) {
            tokio::time::sleep(LINGER).await;
        }
        // Take whatever else is queued: one transaction (one fsync) for the lot. Capping this
        // below the queue's size would cap hand-outs per second at batch size / fsync time.
        let mut batch = vec![first];
        while batch.len() < QUEUE {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let spilled = std::mem::take(&mut *overflow.lock().unwrap_or_else(|p| p.into_inner()));
        batch.extend(spilled.into_iter().map(|(row, grant)| Record::HandOut(row, grant)));
        let mut rows = vec![];
        let mut refusals = HashMap::new();
        let mut uses: HashMap<i64, (u64, i64)> = HashMap::new();
        let mut flushes = vec![];
        for r in batch {
            match r {
                Record::Activity(row) => push_merged(&mut rows, &mut refusals, row),
                Record::HandOut(row, grant) => {
                    if let Some(id) = grant {
                        let e = uses.entry(id).or_insert((0, row.at));
                        e.0 += 1;
                        e.1 = e.1.max(row.at);
                    }
                    push_merged(&mut rows, &mut refusals, row);
                }
                Record::Flush(done) => flushes.push(done),
            }
        }
        since_prune += rows.len();
        let every_rows = PRUNE_EVERY_ROWS.min(retention.max_rows as usize).max(1);
        let prune = since_prune >= every_rows || last_prune.elapsed() >= PRUNE_EVERY;
        let db = db.clone();
        let written = tokio::task::spawn_blocking(move || {
            if !rows.is_empty() {
                db.append_activity(&rows)?;
            }
            for (id, (count, at)) in uses {
                db.record_grant_use(id, count, at)?;
            }
            if prune {
                let before = now_unix() - retention.max_age.as_secs() as i64;
                let pruned = db.prune_activity(before, retention.limits())?;
                if pruned > 0 {
                    tracing::info!(pruned, "activity log pruned");
                }
            }
            Ok::<_, crate::db::DbError>(())
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "could not write the activity log"),
            Err(e) => tracing::error!(error = %e, "the activity writer panicked"),
        }
        if prune {
            since_prune = 0;
            last_prune = Instant::now();
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(event: ActivityEvent, app: &str, at: i64) -> NewActivity {
        NewActivity {
            at,
            event,
            app: app.into(),
            app_name: app.into(),
            account: Some("a".into()),
            scopes: crate::ScopeSet::parse("openid"),
            detail: String::new(),
            count: 1,
            first_at: None,
        }
    }

    #[test]
    fn repeated_hand_outs_share_a_row_and_decisions_never_do() {
        let (mut rows, mut refusals) = (vec![], HashMap::new());
        for r in [
            row(ActivityEvent::HandedOut, "/a", 1),
            row(ActivityEvent::HandedOut, "/a", 2),
            row(ActivityEvent::HandedOut, "/b", 2),
            row(ActivityEvent::HandedOut, "/b", 3),
            row(ActivityEvent::Denied, "/b", 3),
            row(ActivityEvent::Denied, "/b", 3),
        ] {
            push_merged(&mut rows, &mut refusals, r);
        }
        let summary: Vec<(ActivityEvent, &str, u64, i64)> =
            rows.iter().map(|r| (r.event, r.app.as_str(), r.count, r.at)).collect();
        assert_eq!(
            summary,
            [
                (ActivityEvent::HandedOut, "/a", 2, 2),
                (ActivityEvent::HandedOut, "/b", 2, 3),
                (ActivityEvent::Denied, "/b", 1, 3),
                (ActivityEvent::Denied, "/b", 1, 3)
            ]
        );
    }

    /// A stalled database (its connection held) fills the queue; hand-outs still return at
    /// once, and once the disk is back every one of them is in the log.
    #[tokio::test]
    async fn hand_outs_never_wait_for_a_stalled_disk() {
        let db = Arc::new(Db::open_in_memory().unwrap());
        let retention = Retention { max_age: Duration::from_secs(86_400), max_rows: 1_000_000 };
        let recorder = Recorder::start(db.clone(), retention);
        // The connection is held on another thread until `release` says so.
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (held_tx, held) = std::sync::mpsc::channel();
        let d = db.clone();
        let staller = std::thread::spawn(move || {
            let _stalled = d.stall();
            held_tx.send(()).unwrap();
            let _ = released.recv();
        });
        held.recv().unwrap();
        let n = 3 * QUEUE;
        let all = async {
            for i in 0..n {
                let app = if i % 2 == 0 { "/a" } else { "/b" };
                recorder.handed_out(row(ActivityEvent::HandedOut, app, now_unix()), None).await;
            }
        };
        // Generous: without the overflow this never finishes (the queue stays full).
        tokio::time::timeout(Duration::from_secs(30), all).await.expect("a hand-out waited");
        assert!(!recorder.overflow.lock().unwrap().is_empty(), "the queue really filled up");
        release.send(()).unwrap();
        staller.join().unwrap();
        recorder.flush().await;
        let rows = db.activity(100_000, None, None).unwrap();
        assert_eq!(rows.iter().map(|r| r.count).sum::<u64>(), n as u64);
        for app in ["/a", "/b"] {
            let of_app: u64 = rows.iter().filter(|r| r.app == app).map(|r| r.count).sum();
            assert_eq!(of_app, n as u64 / 2, "{app}");
        }
    }

    #[test]
    fn a_programs_refusals_share_a_row_in_a_batch_wherever_they_are() {
        let (mut rows, mut refusals) = (vec![], HashMap::new());
        let refused = |app: &str, at: i64, detail: &str| NewActivity {
            detail: detail.into(),
            ..row(ActivityEvent::Refused, app, at)
        };
        for r in [
            refused("/evil", 1, "management call pending.list"),
            row(ActivityEvent::HandedOut, "/a", 1),
            refused("/evil", 2, "management call pending.list"),
            refused("/evil", 2, "management call grants.list"),
            row(ActivityEvent::HandedOut, "/a", 2),
            refused("/evil", 3, "management call pending.list"),
            refused("", 3, "uid 1, pid 2: no"),
            refused("", 3, "uid 1, pid 2: no"),
        ] {
            push_merged(&mut rows, &mut refusals, r);
        }
        let summary: Vec<(ActivityEvent, &str, u64, i64, Option<i64>)> =
            rows.iter().map(|r| (r.event, r.app.as_str(), r.count, r.at, r.first_at)).collect();
        assert_eq!(
            summary,
            [
                (ActivityEvent::Refused, "/evil", 3, 3, Some(1)),
                (ActivityEvent::HandedOut, "/a", 1, 1, None),
                (ActivityEvent::Refused, "/evil", 1, 2, None),
                (ActivityEvent::HandedOut, "/a", 1, 2, None),
                (ActivityEvent::Refused, "", 1, 3, None),
                (ActivityEvent::Refused, "", 1, 3, None),
            ]
        );
    }

    #[test]
    fn refusals_get_a_tenth_of_the_log() {
        let limits = |max_rows| Retention { max_age: Duration::from_secs(1), max_rows }.limits();
        assert_eq!(limits(100_000).max_refusals, 10_000);
        assert_eq!(limits(5).max_refusals, 1, "never none: the latest refusal stays visible");
    }
}
