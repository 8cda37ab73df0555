//! Token requests waiting for the user. Identical requests of one app (same app key,
//! account and scope set) share one question; every waiter gets the one answer. One app
//! has at most [`MAX_QUESTIONS_PER_APP`] different questions waiting, so it can neither
//! bury the user in consent windows nor crowd out other programs' questions. A question
//! outlives no asker: when its last waiter leaves (its program exited or hung up) it is
//! withdrawn, and keeps its place in the app's share for [`WITHDRAWN_HOLD_SECS`], so a
//! program cannot flash questions at the user by asking and hanging up in a loop.

use std::sync::Mutex;
use std::time::Duration;

use sesame_ipc::consent::{AccountChoice, ContentChange, PendingInfo};
use sesame_ipc::ScopeSet;
use tokio::sync::watch;

use super::caller::{Caller, ProcessRef};

/// Different questions one app may have waiting at once; identical requests join theirs.
pub const MAX_QUESTIONS_PER_APP: usize = 4;

/// How long a withdrawn question still counts in its app's share (seconds).
pub const WITHDRAWN_HOLD_SECS: i64 = 2;

/// [`PendingQueue::ask`] refused a new question: the app already has this many waiting.
#[derive(Debug)]
pub struct TooManyQuestions(pub usize);

#[derive(Default)]
pub struct PendingQueue {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    entries: Vec<Entry>,
    /// (app key, when) of questions withdrawn in the last [`WITHDRAWN_HOLD_SECS`].
    withdrawn: Vec<(String, i64)>,
}

struct Entry {
    info: PendingInfo,
    /// Who asked: such a process may not answer its own question (even after it left).
    requesters: Vec<ProcessRef>,
    /// The process of each request waiting now, once per request (`info.waiting` of them).
    waiters: Vec<ProcessRef>,
    decision: watch::Sender<Option<Verdict>>,
}

/// The user's answer as the waiters need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Hand out a token of `account` (the one chosen, when the question offered several),
    /// counted on `grant` when the answer made one.
    Approved {
        account: String,
        grant: Option<i64>,
    },
    Denied,
}

/// What is asked: about `account` (an account id, or the provider id when the user
/// chooses among `choices`), for `scopes`.
pub struct Question<'a> {
    pub account: &'a str,
    pub choices: Vec<AccountChoice>,
    pub scopes: &'a ScopeSet,
    /// Of `scopes`, those the program did not ask for (a provider that cannot narrow).
    pub beyond_asked: &'a ScopeSet,
    /// Display only (`PendingInfo::told_repository`): requests that differ only in it are
    /// the same question, which shows the first one's.
    pub told_repository: Option<&'a str>,
}

/// What [`PendingQueue::ask`] hands a waiter.
pub struct Ticket {
    pub id: u64,
    pub decision: watch::Receiver<Option<Verdict>>,
    /// Unix seconds.
    pub expires_at: i64,
    /// This request opened a new question (rather than joining one).
    pub is_new: bool,
}

impl PendingQueue {
    /// Asks the user about `caller` (whose `app.content` is what asks now), or joins the
    /// same question. `changed`: the grant this program held, if its content changed.
    pub fn ask(
        &self,
        caller: &Caller,
        question: Question<'_>,
        changed: Option<ContentChange>,
        timeout: Duration,
        now: i64,
    ) -> Result<Ticket, TooManyQuestions> {
        let Question { account, choices, scopes, beyond_asked, told_repository } = question;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        // Other bytes under the same key are another question: the answer is about the
        // program the user was shown.
        let same = |e: &&mut Entry| {
            e.info.app.key == caller.app.key
                && e.info.app.content == caller.app.content
                && e.info.account == account
                && e.info.scopes == *scopes
        };
        if let Some(entry) = state.entries.iter_mut().find(same) {
            entry.waiters.push(caller.process);
            entry.info.waiting = entry.waiters.len() as u32;
            if !entry.requesters.contains(&caller.process) {
                entry.requesters.push(caller.process);
            }
            return Ok(Ticket {
                id: entry.info.id,
                decision: entry.decision.subscribe(),
                expires_at: entry.info.expires_at,
                is_new: false,
            });
        }
        state.withdrawn.retain(|(_, at)| now - at < WITHDRAWN_HOLD_SECS);
        let open = state.entries.iter().filter(|e| e.info.app.key == caller.app.key).count()
            + state.withdrawn.iter().filter(|(key, _)| *key == caller.app.key).count();
        if open >= MAX_QUESTIONS_PER_APP {
            return Err(TooManyQuestions(open));
        }
        state.next_id += 1;
        let info = PendingInfo {
            id: state.next_id,
            app: caller.app.clone(),
            via_cli: caller.via_cli,
            pid: caller.process.pid,
            account: account.to_owned(),
            scopes: scopes.clone(),
            beyond_asked: beyond_asked.clone(),
            waiting: 1,
            created_at: now,
            expires_at: now + timeout.as_secs() as i64,
            changed,
            accounts: choices,
            told_repository: told_repository.map(str::to_owned),
        };
        let (tx, rx) = watch::channel(None);
        let ticket =
            Ticket { id: info.id, decision: rx, expires_at: info.expires_at, is_new: true };
        let (requesters, waiters) = (vec![caller.process], vec![caller.process]);
        state.entries.push(Entry { info, requesters, waiters, decision: tx });
        Ok(ticket)
    }

    /// Answers and removes the question; `None` if it is gone (answered or expired).
    #[cfg(test)]
    pub fn answer(&self, id: u64, verdict: Verdict) -> Option<PendingInfo> {
        Some(self.answering(id)?.send(verdict))
    }

    /// Takes the question out to answer it: nobody else can answer it now, and its waiters
    /// wake only at [`Answering::send`], so what the answer records (the decision) is
    /// recorded before what it lets happen (the hand-outs). `None` if it is gone.
    pub fn answering(&self, id: u64) -> Option<Answering<'_>> {
        let entry = self.take(id)?;
        Some(Answering { queue: self, entry: Some(entry) })
    }

    /// Removes a question whose time is up; `None` if someone else already did.
    pub fn expire(&self, id: u64) -> Option<PendingInfo> {
        self.take(id).map(|e| e.info)
    }

    /// One request of `process` stops waiting on question `id` (its asker is gone). The last
    /// one withdraws the question: `Some` of it then, for the record. Until then the
    /// question stays, showing a process that still waits.
    pub fn leave(&self, id: u64, process: ProcessRef, now: i64) -> Option<PendingInfo> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let i = state.entries.iter().position(|e| e.info.id == id)?;
        let entry = &mut state.entries[i];
        if let Some(w) = entry.waiters.iter().position(|p| *p == process) {
            entry.waiters.remove(w);
        }
        if let Some(still) = entry.waiters.first() {
            entry.info.waiting = entry.waiters.len() as u32;
            if !entry.waiters.iter().any(|p| p.pid == entry.info.pid) {
                entry.info.pid = still.pid;
            }
            return None;
        }
        let entry = state.entries.remove(i);
        state.withdrawn.push((entry.info.app.key.clone(), now));
        Some(entry.info)
    }

    /// Whether `who` is the program behind question `id`: one of the processes that asked,
    /// or the same program identity. Interactive shells are the exception to the latter:
    /// every terminal is "/usr/bin/bash", and the user answers from one terminal what they
    /// asked in another.
    pub fn asked_by(&self, id: u64, who: &Caller) -> bool {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.entries.iter().any(|e| {
            e.info.id == id
                && (e.requesters.contains(&who.process)
                    || (e.info.app.key == who.app.key && !is_interactive_shell(&who.app)))
        })
    }

    pub fn get(&self, id: u64) -> Option<PendingInfo> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.entries.iter().find(|e| e.info.id == id).map(|e| e.info.clone())
    }

    pub fn list(&self) -> Vec<PendingInfo> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.entries.iter().map(|e| e.info.clone()).collect()
    }

    fn take(&self, id: u64) -> Option<Entry> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let i = state.entries.iter().position(|e| e.info.id == id)?;
        Some(state.entries.remove(i))
    }
}

/// A question being answered ([`PendingQueue::answering`]). Dropped without an answer (the
/// answering call was cancelled), the question goes back to the queue, still waiting.
pub struct Answering<'a> {
    queue: &'a PendingQueue,
    entry: Option<Entry>,
}

impl Answering<'_> {
    pub fn info(&self) -> &PendingInfo {
        // Some until `send` or drop take it.
        &self.entry.as_ref().expect("an unanswered question").info
    }

    /// Wakes the waiters with `verdict`.
    pub fn send(mut self, verdict: Verdict) -> PendingInfo {
        let entry = self.entry.take().expect("an unanswered question");
        let _ = entry.decision.send(Some(verdict));
        entry.info
    }
}

impl Drop for Answering<'_> {
    fn drop(&mut self) {
        if let Some(entry) = self.entry.take() {
            let mut state = self.queue.state.lock().unwrap_or_else(|p| p.into_inner());
            let at = state.entries.partition_point(|e| e.info.id < entry.info.id);
            state.entries.insert(at, entry);
        }
    }
}

/// A shell with no script: a terminal, as far as the kernel can tell.
fn is_interactive_shell(app: &sesame_ipc::consent::AppInfo) -> bool {
    const SHELLS: &[&str] = &["bash", "sh", "dash", "zsh", "fish", "ksh", "mksh", "tcsh", "csh"];
    let name = std::path::Path::new(&app.exe).file_name().and_then(|n| n.to_str()).unwrap_or("");
    app.script.is_none() && app.key == app.exe && SHELLS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sesame_ipc::consent::AppInfo;

    fn about<'a>(account: &'a str, scopes: &'a ScopeSet) -> Question<'a> {
        let beyond_asked = Box::leak(Box::default());
        Question { account, choices: vec![], scopes, beyond_asked, told_repository: None }
    }

    fn yes() -> Verdict {
        Verdict::Approved { account: "acc".into(), grant: None }
    }

    fn caller(key: &str, pid: i32) -> Caller {
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
        Caller {
            app,
            process: ProcessRef { pid, start_time: 1 },
            via_cli: false,
            management: false,
            files: None,
        }
    }

    #[tokio::test]
    async fn identical_requests_collapse_and_share_the_answer() {
        let q = PendingQueue::default();
        let s = ScopeSet::from(["openid"]);
        let a =
            q.ask(&caller("/a", 1), about("acc", &s), None, Duration::from_secs(5), 100).unwrap();
        let b =
            q.ask(&caller("/a", 2), about("acc", &s), None, Duration::from_secs(5), 101).unwrap();
        let c =
            q.ask(&caller("/b", 3), about("acc", &s), None, Duration::from_secs(5), 102).unwrap();
        assert!(a.is_new && !b.is_new && c.is_new);
        assert_eq!(a.id, b.id);
        assert_ne!(a.id, c.id);
        assert_eq!(q.list().len(), 2);
        assert_eq!(q.get(a.id).unwrap().waiting, 2);
        assert!(q.asked_by(a.id, &caller("/a", 2)), "a process that asked");
        assert!(q.asked_by(a.id, &caller("/a", 9)), "another process of the same program");
        assert!(!q.asked_by(a.id, &caller("/c", 3)));
        let term = |pid| {
            let mut c = caller("/usr/bin/bash", pid);
            c.app.exe = "/usr/bin/bash".into();
            c
        };
        let t = q.ask(&term(20), about("acc", &s), None, Duration::from_secs(5), 100).unwrap();
        assert!(!q.asked_by(t.id, &term(21)), "another terminal may answer");
        assert!(q.asked_by(t.id, &term(20)), "the asking terminal may not");
        q.expire(t.id).unwrap();
        assert_eq!(a.expires_at, 105);
        q.answer(a.id, yes()).unwrap();
        for mut t in [a, b] {
            assert_eq!(*t.decision.wait_for(|d| d.is_some()).await.unwrap(), Some(yes()));
        }
        assert!(q.answer(1, Verdict::Denied).is_none(), "answered already");
        assert!(q.expire(c.id).is_some());
        assert!(q.list().is_empty());
    }

    /// An answer under way holds the question (nobody else answers it) and wakes nobody
    /// until it is sent; dropped unsent, the question is back, in its place.
    #[tokio::test]
    async fn an_answer_wakes_the_waiters_only_when_sent() {
        let q = PendingQueue::default();
        let s = ScopeSet::from(["email"]);
        let mut a =
            q.ask(&caller("/a", 1), about("acc", &s), None, Duration::from_secs(5), 100).unwrap();
        let b =
            q.ask(&caller("/b", 2), about("acc", &s), None, Duration::from_secs(5), 100).unwrap();
        let answering = q.answering(a.id).unwrap();
        assert!(q.answering(a.id).is_none() && q.get(a.id).is_none(), "taken out");
        assert!(a.decision.borrow().is_none(), "nobody woken yet");
        drop(answering);
        assert_eq!(q.list().iter().map(|p| p.id).collect::<Vec<_>>(), [a.id, b.id]);
        let answering = q.answering(a.id).unwrap();
        assert_eq!(answering.info().id, a.id);
        answering.send(yes());
        assert_eq!(*a.decision.wait_for(|d| d.is_some()).await.unwrap(), Some(yes()));
        assert!(q.get(a.id).is_none());
    }

    /// Two programs at one path with different bytes are asked about apart: an answer is
    /// about the program the user was shown.
    #[test]
    fn other_content_under_the_same_key_is_another_question() {
        use sesame_ipc::consent::{ChangedPart, ContentChange, FileContent, ProgramContent};
        let q = PendingQueue::default();
        let s = ScopeSet::from(["openid"]);
        let with = |sha: &str| {
            let mut c = caller("/a", 1);
            c.app.content = Some(ProgramContent {
                exe: Some(FileContent { sha256: sha.into(), package: None }),
                ..Default::default()
            });
            c
        };
        let change = ContentChange {
            grant: 7,
            allowed_at: 1,
            parts: vec![ChangedPart::Executable],
            allowed: with("aa").app.content.unwrap(),
        };
        let t = Duration::from_secs(5);
        let a = q.ask(&with("aa"), about("acc", &s), None, t, 0).unwrap();
        let b = q.ask(&with("bb"), about("acc", &s), Some(change.clone()), t, 0).unwrap();
        assert!(a.is_new && b.is_new && a.id != b.id);
        assert_eq!(q.get(b.id).unwrap().changed, Some(change));
        assert_eq!(q.get(a.id).unwrap().changed, None);
        assert!(
            !q.ask(&with("bb"), about("acc", &s), None, t, 0).unwrap().is_new,
            "the same joins"
        );
    }

    #[test]
    fn a_question_lives_while_someone_waits_on_it_and_is_withdrawn_with_the_last() {
        let q = PendingQueue::default();
        let s = ScopeSet::from(["openid"]);
        let t = Duration::from_secs(60);
        let (one, two) = (caller("/a", 1), caller("/a", 2));
        let first = q.ask(&one, about("acc", &s), None, t, 100).unwrap();
        q.ask(&two, about("acc", &s), None, t, 100).unwrap();
        q.ask(&two, about("acc", &s), None, t, 100).unwrap();
        assert_eq!(q.get(first.id).unwrap().waiting, 3);
        // The first asker goes: the others keep the question, which now shows one of them.
        assert!(q.leave(first.id, one.process, 101).is_none());
        let left = q.get(first.id).unwrap();
        assert_eq!((left.waiting, left.pid), (2, 2));
        assert!(q.asked_by(first.id, &one), "who asked still may not answer");
        assert!(q.leave(first.id, two.process, 101).is_none());
        let withdrawn = q.leave(first.id, two.process, 101).expect("the last waiter withdraws it");
        assert_eq!(withdrawn.id, first.id);
        assert!(q.list().is_empty());
        assert!(q.answer(first.id, yes()).is_none(), "nothing left to answer");
        assert!(q.leave(first.id, two.process, 101).is_none(), "withdrawn once");
    }

    #[test]
    fn withdrawn_questions_hold_their_place_for_a_moment() {
        let q = PendingQueue::default();
        let t = Duration::from_secs(60);
        let scopes = ["a", "b", "c", "d", "e"].map(|s| ScopeSet::from([s]));
        let churner = caller("/churn", 1);
        for s in &scopes[..MAX_QUESTIONS_PER_APP] {
            let ticket = q.ask(&churner, about("acc", s), None, t, 10).unwrap();
            q.leave(ticket.id, churner.process, 10).unwrap();
        }
        assert!(q.list().is_empty());
        // Asking and hanging up in a loop fills the program's share for a moment…
        assert!(matches!(
            q.ask(&churner, about("acc", &scopes[4]), None, t, 11),
            Err(TooManyQuestions(4))
        ));
        assert!(
            q.ask(&caller("/other", 2), about("acc", &scopes[4]), None, t, 11).is_ok(),
            "others ask"
        );
        // …then the room is back.
        assert!(q
            .ask(&churner, about("acc", &scopes[4]), None, t, 10 + WITHDRAWN_HOLD_SECS)
            .is_ok());
    }

    #[test]
    fn one_app_has_at_most_its_share_of_questions() {
        let q = PendingQueue::default();
        let t = Duration::from_secs(5);
        let scopes = ["a", "b", "c", "d", "e"].map(|s| ScopeSet::from([s]));
        for s in &scopes[..MAX_QUESTIONS_PER_APP] {
            assert!(q.ask(&caller("/greedy", 1), about("acc", s), None, t, 0).unwrap().is_new);
        }
        let refused = q.ask(&caller("/greedy", 2), about("acc", &scopes[4]), None, t, 0);
        assert!(matches!(refused, Err(TooManyQuestions(MAX_QUESTIONS_PER_APP))));
        // Asking again what is already asked joins it; other apps are not affected.
        assert!(
            !q.ask(&caller("/greedy", 3), about("acc", &scopes[0]), None, t, 0).unwrap().is_new
        );
        assert!(q.ask(&caller("/other", 4), about("acc", &scopes[4]), None, t, 0).unwrap().is_new);
        assert_eq!(q.list().len(), MAX_QUESTIONS_PER_APP + 1);
        // An answered question makes room again.
        q.answer(1, Verdict::Denied).unwrap();
        assert!(q.ask(&caller("/greedy", 5), about("acc", &scopes[4]), None, t, 0).is_ok());
    }
}
