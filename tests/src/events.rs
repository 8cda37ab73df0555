//! `sesame events --json`, followed from the test: what the broker announces, and when.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::*;

/// A running `sesame events --json`, read on threads: each event with when it arrived.
pub struct EventReader {
    child: Child,
    events: mpsc::Receiver<(Instant, Value)>,
}

impl Env {
    /// Starts `sesame events --json` and waits until the broker has subscribed it, so no
    /// event after this call is missed.
    pub fn follow_events(&self) -> EventReader {
        let mut cmd = self.command(sesame_bin());
        cmd.args(["events", "--json"]).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start sesame events");
        let (tx, events) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let event = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                if tx.send((Instant::now(), event)).is_err() {
                    break;
                }
            }
        });
        // It says so on stderr once the broker has subscribed it: no event can be missed after.
        let (note_tx, notes) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = note_tx.send(line);
            }
        });
        let first =
            notes.recv_timeout(Duration::from_secs(30)).expect("sesame events said nothing");
        assert!(first.contains("listening for events"), "{first}");
        EventReader { child, events }
    }
}

impl EventReader {
    /// The next event of kind `kind`, skipping others (up to 30 s).
    pub fn expect(&self, kind: &str) -> Value {
        self.expect_where(kind, |_| true).1
    }

    /// The next event of kind `kind` that satisfies `pred`, skipping others (up to 30 s),
    /// and when it arrived.
    pub fn expect_where(&self, kind: &str, pred: impl Fn(&Value) -> bool) -> (Instant, Value) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut skipped = vec![];
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.events.recv_timeout(left) {
                Ok((at, e)) if e["event"] == kind && pred(&e) => return (at, e),
                Ok((_, e)) => skipped.push(e),
                Err(_) => break,
            }
        }
        panic!("no matching {kind} event; got only {skipped:?}");
    }
}

impl Drop for EventReader {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
