//! The launcher walk and the generic rule on fake process trees (plain data), and once on
//! the real `/proc`.

use std::collections::HashMap;
use std::path::PathBuf;

use super::chain::{direct, generic, label, walk, ProcessTree, MAX_LAUNCHERS};
use super::{AppIdentity, IdentityError, ProcessInfo, ProgramFiles, Runs};

const UID: u32 = 1000;

fn process(pid: i32, ppid: i32, exe: &str, runs: Runs) -> ProcessInfo {
    let exe = PathBuf::from(exe);
    let name = exe.file_name().unwrap().to_string_lossy().into_owned();
    let (key, script) = match &runs {
        Runs::Inline { flag } => (format!("{} {flag}", exe.display()), None),
        _ => (exe.display().to_string(), None),
    };
    let files = ProgramFiles::unread(pid, exe.clone());
    ProcessInfo {
        pid,
        ppid,
        uid: UID,
        start_time: pid as u64,
        identity: AppIdentity {
            key,
            exe,
            script,
            flatpak_app: None,
            sandboxed: false,
            display_name: name,
            icon: None,
            desktop_file: None,
            runs,
        },
        subcommand: None,
        files,
    }
}

fn program(pid: i32, ppid: i32, exe: &str) -> ProcessInfo {
    process(pid, ppid, exe, Runs::Program)
}

fn inline(pid: i32, ppid: i32, exe: &str, flag: &str) -> ProcessInfo {
    process(pid, ppid, exe, Runs::Inline { flag: flag.into() })
}

fn unpinned(pid: i32, ppid: i32, exe: &str, terminal: bool) -> ProcessInfo {
    process(pid, ppid, exe, Runs::Unpinned { terminal })
}

fn script(pid: i32, ppid: i32, exe: &str, path: &str, readable: bool) -> ProcessInfo {
    let mut p = process(pid, ppid, exe, Runs::Script { readable });
    p.identity.key = format!("{exe} {path}");
    p.identity.script = Some(path.into());
    p
}

/// How reading a pid fails.
type Failure = fn(i32) -> IdentityError;

/// A process tree as data: pid → what reading it gives.
#[derive(Default)]
struct Tree(HashMap<i32, Result<ProcessInfo, Failure>>);

impl Tree {
    fn with(mut self, p: ProcessInfo) -> Tree {
        self.0.insert(p.pid, Ok(p));
        self
    }

    fn failing(mut self, pid: i32, error: Failure) -> Tree {
        self.0.insert(pid, Err(error));
        self
    }
}

impl ProcessTree for Tree {
    fn parent(&self, child: &ProcessInfo) -> Result<ProcessInfo, IdentityError> {
        match self.0.get(&child.ppid) {
            Some(Ok(p)) => Ok(p.clone()),
            Some(Err(e)) => Err(e(child.ppid)),
            None => Err(IdentityError::Gone { pid: child.ppid }),
        }
    }
}

#[test]
fn msmtps_shell_is_walked_past_to_msmtp() {
    let tree = Tree::default().with(program(10, 5, "/usr/bin/msmtp"));
    let who = walk(inline(11, 10, "/usr/bin/dash", "-c"), &tree);
    assert_eq!(who.process.pid, 10);
    assert_eq!(who.process.identity.key, "/usr/bin/msmtp");
    assert_eq!(who.chain, ["msmtp", "dash -c"]);
    assert_eq!(who.generic, None);
}

#[test]
fn every_transparent_launcher_is_passed_and_kept_in_the_chain() {
    // send.py → sh -c → timeout → env → bash (script on a pipe) → nice → (the CLI)
    let tree = Tree::default()
        .with(script(10, 5, "/usr/bin/python3.11", "/home/u/send.py", true))
        .with(inline(11, 10, "/usr/bin/dash", "-c"))
        .with(program(12, 11, "/usr/bin/timeout"))
        .with(program(13, 12, "/usr/bin/env"))
        .with(unpinned(14, 13, "/usr/bin/bash", false));
    let who = walk(program(15, 14, "/usr/bin/nice"), &tree);
    assert_eq!(who.process.identity.key, "/usr/bin/python3.11 /home/u/send.py");
    assert_eq!(
        who.chain,
        ["python3.11 send.py", "dash -c", "timeout", "env", "bash (stdin)", "nice"]
    );
    assert_eq!(who.generic, None);
    for name in ["ionice", "nohup", "setsid", "stdbuf", "flock", "chrt", "taskset", "xargs"] {
        let tree = Tree::default().with(program(10, 5, "/usr/bin/msmtp"));
        let who = walk(program(11, 10, &format!("/usr/bin/{name}")), &tree);
        assert_eq!(who.chain, ["msmtp", name], "{name} is passed");
    }
    // A program that only sounds like one is not passed.
    let tree = Tree::default().with(program(10, 5, "/usr/bin/msmtp"));
    let who = walk(program(11, 10, "/usr/bin/envsubst"), &tree);
    assert_eq!(who.process.pid, 11);
    assert_eq!(who.chain, ["envsubst"]);
}

#[test]
fn the_cli_run_straight_by_a_program_is_that_program() {
    let who = walk(program(10, 5, "/usr/bin/msmtp"), &Tree::default());
    assert_eq!(who.process.pid, 10);
    assert_eq!(who.chain, ["msmtp"]);
    assert_eq!(who.generic, None);
}

#[test]
fn a_chain_that_ends_at_something_generic_is_generic() {
    // python3 -c → sh -c: the inline Python code is not a program of its own.
    let tree = Tree::default().with(inline(10, 5, "/usr/bin/python3.11", "-c"));
    let who = walk(inline(11, 10, "/usr/bin/dash", "-c"), &tree);
    assert_eq!(who.process.identity.key, "/usr/bin/python3.11 -c");
    assert_eq!(who.chain, ["python3.11 -c", "dash -c"]);
    let why = who.generic.unwrap();
    assert!(why.contains("`python3.11 -c` runs code written on its command line"), "{why}");

    // An interactive shell ends the walk: every terminal is that shell.
    let tree = Tree::default().with(unpinned(10, 5, "/usr/bin/bash", true));
    let who = walk(unpinned(11, 10, "/usr/bin/bash", false), &tree);
    assert_eq!(who.process.pid, 10);
    assert_eq!(who.chain, ["bash (interactive)", "bash (stdin)"]);
    assert!(who.generic.unwrap().contains("interactive shell"));

    // Python reading its program from a pipe is not a launcher, and generic.
    let who = walk(unpinned(10, 5, "/usr/bin/python3.11", false), &Tree::default());
    assert_eq!(who.process.pid, 10);
    assert!(who.generic.unwrap().contains("from its input"));

    // A script Sesame cannot read cannot be told from another.
    let p = script(10, 5, "/usr/bin/python3.11", "/home/u/secret.py", false);
    let why = walk(p, &Tree::default()).generic.unwrap();
    assert!(why.contains("cannot read the script `/home/u/secret.py`"), "{why}");

    // socat running the CLI for whoever connects to it.
    let tree = Tree::default().with(program(10, 5, "/usr/bin/socat"));
    let who = walk(inline(11, 10, "/usr/bin/dash", "-c"), &tree);
    assert!(who.generic.unwrap().contains("`socat` relays"));
}

#[test]
fn service_managers_and_process_one_end_the_walk_generic() {
    // `ExecStart=sh -c "sesame token …"`, or a shell orphaned to the session's manager.
    let tree = Tree::default().with(program(900, 1, "/usr/lib/systemd/systemd"));
    let who = walk(inline(901, 900, "/usr/bin/dash", "-c"), &tree);
    assert_eq!(who.process.pid, 900);
    assert_eq!(who.chain, ["systemd", "dash -c"]);
    assert!(who.generic.unwrap().contains("`systemd`, a service manager"));
    // The CLI itself orphaned: its parent is the manager.
    let who = walk(program(900, 1, "/usr/lib/systemd/systemd"), &Tree::default());
    assert!(who.generic.is_some());
    // Process 1 is one, whatever it runs (a container's shell, say).
    let tree = Tree::default().with(unpinned(1, 0, "/usr/bin/bash", false));
    let who = walk(inline(50, 1, "/usr/bin/dash", "-c"), &tree);
    assert_eq!(who.process.pid, 1);
    assert!(who.generic.unwrap().contains("service manager"));
}

#[test]
fn what_cannot_be_read_above_a_launcher_makes_it_generic() {
    let cases: [(Failure, &str); 3] = [
        (|pid| IdentityError::UidMismatch { pid, expected: UID, actual: 0 }, "another user's"),
        (|pid| IdentityError::Gone { pid }, "has exited"),
        (
            |pid| IdentityError::Unreadable {
                pid,
                what: "exe",
                source: std::io::Error::from_raw_os_error(libc::EACCES),
            },
            "cannot read",
        ),
    ];
    for (error, says) in cases {
        let tree = Tree::default().failing(10, error);
        let who = walk(inline(11, 10, "/usr/bin/dash", "-c"), &tree);
        assert_eq!(who.process.pid, 11, "attributed to the last launcher read");
        assert_eq!(who.chain, ["dash -c"]);
        let why = who.generic.unwrap();
        assert!(why.starts_with("`dash -c` was started by") && why.contains(says), "{why}");
    }
}

#[test]
fn the_walk_is_bounded() {
    let mut tree = Tree::default().with(program(1, 0, "/usr/lib/systemd/systemd"));
    let depth = MAX_LAUNCHERS as i32 + 5;
    for pid in 2..=depth {
        tree = tree.with(inline(pid, pid - 1, "/usr/bin/dash", "-c"));
    }
    let who = walk(inline(depth + 1, depth, "/usr/bin/dash", "-c"), &tree);
    assert_eq!(who.chain.len(), MAX_LAUNCHERS + 1);
    assert!(who.generic.unwrap().contains(&format!("more than {MAX_LAUNCHERS} launchers")));
}

#[test]
fn a_flatpak_apps_shell_is_the_app() {
    let mut sandboxed = inline(11, 10, "/usr/bin/sh", "-c");
    sandboxed.identity.flatpak_app = Some("org.example.Mail".into());
    sandboxed.identity.key = "flatpak:org.example.Mail".into();
    let who = walk(sandboxed, &Tree::default());
    assert_eq!(who.process.pid, 11);
    assert_eq!(who.chain, ["org.example.Mail"]);
    assert_eq!(who.generic, None);
}

#[test]
fn a_program_that_connects_itself_is_the_identity() {
    let who = direct(script(10, 5, "/usr/bin/python3.11", "/home/u/mail.py", true));
    assert_eq!((who.process.pid, who.chain.len(), who.generic), (10, 0, None));
    let who = direct(program(10, 5, "/usr/bin/socat"));
    assert!(who.generic.unwrap().contains("relays"));
    // Inline code connecting itself is generic, and never passed for its parent.
    let who = direct(inline(10, 5, "/usr/bin/perl", "-e"));
    assert_eq!(who.process.pid, 10);
    assert!(who.generic.unwrap().starts_with("`perl -e` runs code"));
}

#[test]
fn labels_say_what_runs() {
    let mut module = process(1, 0, "/usr/bin/python3.11", Runs::Module);
    module.identity.key = "/usr/bin/python3.11 -m tool.main".into();
    let cases = [
        (program(1, 0, "/usr/bin/msmtp"), "msmtp"),
        (inline(1, 0, "/usr/bin/perl", "-e"), "perl -e"),
        (script(1, 0, "/usr/bin/bash", "/home/u/my job.sh", true), "bash my job.sh"),
        (module, "python3.11 -m tool.main"),
        (unpinned(1, 0, "/usr/bin/zsh", true), "zsh (interactive)"),
        (unpinned(1, 0, "/usr/bin/python3.11", false), "python3.11 (stdin)"),
    ];
    for (p, want) in cases {
        assert_eq!(label(&p), want);
    }
    assert_eq!(generic(&program(10, 5, "/usr/bin/msmtp")), None);
}
