//! Who is really asking when the `sesame` CLI asks: the walk up from the CLI past the
//! programs that only pass a command line on (a shell running `-c` or a script from stdin,
//! `env`, `nice`, `timeout`, …) to the program that wanted the token, and the chain of
//! what it passed through ("msmtp → dash -c → sesame token").
//!
//! And which identities are *generic*: those that stand for everyone who uses them (inline
//! code, stdin, an interactive shell, a relay such as `socat`, a service manager), with the
//! sentence that says why. Policy does not grant those forever (see `policy::generic`).
//!
//! The walk reads every ancestor through a [`ProcessTree`]; the real one is
//! [`identify_parent`], which rules out a reused parent pid by start time. It stops at a
//! service manager (pid 1, `systemd`: its children may be services or orphans it adopted),
//! at a process of another user, at one it cannot read, and after [`MAX_LAUNCHERS`]; each
//! of those makes the chain generic.

use std::path::Path;

use super::interpreter::Interpreter;
use super::{identify_parent, DesktopIndex, IdentityError, ProcessInfo, Runs};

/// Launchers passed before the walk gives up (and calls the chain generic).
pub const MAX_LAUNCHERS: usize = 16;

/// Programs that run a command they were given and add nothing of their own: the request
/// is not theirs but their parent's. (Most of them `exec` and never show up as a parent;
/// `timeout`, `flock`, `xargs` and a forking `setsid` stay.)
const LAUNCHERS: &[&str] = &[
    "env", "nice", "ionice", "nohup", "setsid", "timeout", "stdbuf", "flock", "chrt", "taskset",
    "xargs",
];

/// Programs that relay a connection or a command for someone Sesame cannot see.
const RELAYS: &[&str] = &[
    "socat",
    "nc",
    "ncat",
    "netcat",
    "nc.openbsd",
    "nc.traditional",
    "websocat",
    "ssh",
    "sshd",
    "sshd-session",
];

/// Service managers: they start services and adopt orphaned processes, so a child of
/// theirs may have been started by anyone. (Process 1 is one, whatever it is.)
const MANAGERS: &[&str] =
    &["systemd", "init", "tini", "dumb-init", "catatonit", "runit", "s6-svscan"];

/// The parent of a process, read safely.
pub trait ProcessTree {
    fn parent(&self, child: &ProcessInfo) -> Result<ProcessInfo, IdentityError>;
}

/// The real process tree, through `/proc` ([`identify_parent`]).
pub struct LiveTree<'a> {
    pub uid: u32,
    pub desktop: &'a DesktopIndex,
}

impl ProcessTree for LiveTree<'_> {
    fn parent(&self, child: &ProcessInfo) -> Result<ProcessInfo, IdentityError> {
        identify_parent(child, Some(self.uid), self.desktop)
    }
}

/// Whom a request is attributed to, how it got here, and whether that identity is generic.
#[derive(Debug, Clone)]
pub struct Attribution {
    pub process: ProcessInfo,
    /// Labels, outermost first: the attributed program, then the launchers it ran through,
    /// innermost last (the caller appends the CLI's own label).
    pub chain: Vec<String>,
    /// Why this identity cannot be told apart from others, or `None`.
    pub generic: Option<String>,
}

/// A program that connects to the socket itself: it is the identity (even a shell, or
/// `socat`: then a generic one). Nothing above it is read.
pub fn direct(peer: ProcessInfo) -> Attribution {
    let generic = generic(&peer);
    Attribution { process: peer, chain: vec![], generic }
}

/// Walks up from `start` (the CLI's parent) past transparent launchers to the nearest
/// ancestor that is not one, reading each parent through `tree`.
pub fn walk(start: ProcessInfo, tree: &impl ProcessTree) -> Attribution {
    // Launchers passed, innermost first.
    let mut passed: Vec<String> = vec![];
    let mut current = start;
    let generic = loop {
        if is_manager(&current) {
            break Some(format!(
                "the request came from `{}`, a service manager, which starts services and adopts orphaned processes, so Sesame cannot tell which program asked",
                label(&current)
            ));
        }
        if !is_launcher(&current) {
            break generic(&current);
        }
        if passed.len() >= MAX_LAUNCHERS {
            break Some(format!(
                "the request came through more than {MAX_LAUNCHERS} launchers (shells, env, timeout, …) in a row, so Sesame stopped looking for the program behind them"
            ));
        }
        let why = match tree.parent(&current) {
            Ok(parent) => {
                passed.push(label(&current));
                current = parent;
                continue;
            }
            Err(IdentityError::UidMismatch { .. }) => "was started by another user's process",
            Err(IdentityError::Gone { .. }) => "was started by a program that has exited",
            Err(_) => "was started by a process Sesame cannot read",
        };
        break Some(format!(
            "`{}` {why}, so Sesame cannot tell which program asked",
            label(&current)
        ));
    };
    let mut chain = vec![label(&current)];
    chain.extend(passed.into_iter().rev());
    Attribution { process: current, chain, generic }
}

/// A program that only hands a command line on: a shell running `-c` or a script from a
/// pipe, or one of [`LAUNCHERS`]. Never a Flatpak app (the sandbox is the identity).
fn is_launcher(p: &ProcessInfo) -> bool {
    let id = &p.identity;
    if id.flatpak_app.is_some() {
        return false;
    }
    match &id.runs {
        Runs::Inline { .. } | Runs::Unpinned { terminal: false } => {
            Interpreter::of(&id.exe).is_some_and(Interpreter::is_shell)
        }
        Runs::Program => LAUNCHERS.contains(&file_name(&id.exe)),
        _ => false,
    }
}

fn is_manager(p: &ProcessInfo) -> bool {
    p.pid == 1 || p.ppid == 0 || MANAGERS.contains(&file_name(&p.identity.exe))
}

/// Why `p`, as the program a request is attributed to, stands for others too; `None` when
/// it is a program of its own.
pub fn generic(p: &ProcessInfo) -> Option<String> {
    let id = &p.identity;
    if id.flatpak_app.is_some() {
        return None;
    }
    let shown = label(p);
    let shell = Interpreter::of(&id.exe).is_some_and(Interpreter::is_shell);
    match &id.runs {
        Runs::Inline { .. } => Some(format!(
            "`{shown}` runs code written on its command line, so every program that runs code this way looks the same to Sesame"
        )),
        Runs::Unpinned { terminal: true } if shell => Some(format!(
            "`{shown}` is an interactive shell, so every command typed in any of your terminals looks the same to Sesame"
        )),
        Runs::Unpinned { .. } => Some(format!(
            "`{shown}` runs code from its input or a script Sesame cannot find, so any code run this way looks the same to Sesame"
        )),
        Runs::Script { readable: false } => Some(format!(
            "Sesame cannot read the script `{}`, so it cannot tell which program this is",
            id.script.as_deref().map(|s| s.to_string_lossy()).unwrap_or_default()
        )),
        Runs::Program if RELAYS.contains(&file_name(&id.exe)) => Some(format!(
            "`{shown}` relays connections and commands for other programs, so Sesame cannot tell who is behind it"
        )),
        Runs::Program if is_manager(p) => Some(format!(
            "`{shown}` is a service manager, which starts services and adopts orphaned processes, so Sesame cannot tell which program asked"
        )),
        _ => None,
    }
}

/// A short name for one link of the chain, from what the kernel says (never from argv
/// beyond the interpreter's option): `msmtp`, `dash -c`, `python3.11 send.py`,
/// `bash (interactive)`.
pub fn label(p: &ProcessInfo) -> String {
    let id = &p.identity;
    if let Some(app) = &id.flatpak_app {
        return app.clone();
    }
    let exe = file_name(&id.exe);
    match &id.runs {
        Runs::Program => exe.to_owned(),
        Runs::Script { .. } => {
            let script = id.script.as_deref().map(file_name).unwrap_or_default();
            format!("{exe} {script}")
        }
        Runs::Module => match id.key.rsplit_once(" -m ") {
            Some((_, module)) => format!("{exe} -m {module}"),
            None => exe.to_owned(),
        },
        Runs::Inline { flag } => format!("{exe} {flag}"),
        Runs::Unpinned { terminal: true } => format!("{exe} (interactive)"),
        Runs::Unpinned { terminal: false } => format!("{exe} (stdin)"),
    }
}

fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("")
}
