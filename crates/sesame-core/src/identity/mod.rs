//! Which program is on the other end of a connection, as far as the kernel can tell.
//!
//! The server learns a peer's pid from `SO_PEERCRED`; this module turns it into an
//! [`AppIdentity`] whose `key` the consent policy is keyed on. All reads are blocking
//! `/proc` reads: call from a blocking thread.
//!
//! What the key can and cannot promise:
//! - The executable comes from the kernel (`/proc/<pid>/exe`) and the Flatpak app id from
//!   the sandbox's `/.flatpak-info`, which a sandboxed app cannot change.
//! - An interpreter's script comes from its command line, which the process itself wrote.
//!   It tells the user's scripts apart; it does not stop hostile code running unsandboxed as
//!   the same user, which could equally ptrace, `LD_PRELOAD` or read the keyring directly.
//! - What the files *are* ([`content`]): identification stamps the running executable
//!   (through `/proc/<pid>/exe`) and the script without reading them; their SHA-256 and
//!   package come from [`ContentCache`], which reads a file only for a stamp it has not seen.
//! - Whether the process sees our filesystem ([`ProgramFiles::host_view`]: same root, same
//!   mount namespace, no Flatpak). Inside a sandbox a path may name any file, so only a
//!   process with our view can be one of Sesame's own binaries.
//!
//! Pid reuse, and what is left of it:
//! - While we read, the process cannot be swapped for another: we hold a pidfd (or are given
//!   the peer's, from `SO_PEERPIDFD`) and check it is alive after the reads, and we read the
//!   start time (stat field 22) before and after — a pid's next owner always starts later.
//! - Between the peer's `connect()` and our first read there is a window: if the peer exits
//!   and its pid is reused in it, we identify the newcomer. Start times cannot catch that
//!   without a reference taken at connect time; `SO_PEERPIDFD` (Linux 6.5) is that
//!   reference — pass it to [`identify_with`] and the window closes.
//! - A process that `exec()`s another program after connecting keeps its pid, start time
//!   and pidfd: we identify what it is when we look, not what it was at `connect()`.
//!   Caught in the middle of an exec, its new argv may not be set up yet (for an instant
//!   `cmdline` reads empty), which yields the plain-interpreter form.

pub mod chain;
#[cfg(test)]
mod chain_tests;
mod content;
#[cfg(test)]
mod content_tests;
mod desktop;
mod dpkg;
mod flatpak;
pub mod icon;
mod interpreter;
#[cfg(test)]
mod parse_tests;
mod proc;
#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

pub use content::{ContentCache, ContentError, FileAt, ProgramFiles};
pub use desktop::DesktopIndex;
pub use dpkg::PackageIndex;
pub use proc::pidfd_open;

use interpreter::{Interpreter, Invocation};

/// Who a process is, for policy and for display.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AppIdentity {
    /// The canonical identity string policy keys on. Forms:
    /// - `/usr/bin/msmtp`: a native executable;
    /// - `/usr/bin/python3.11 /home/u/bin/mail-sync.py`: interpreter and resolved script;
    /// - `/usr/bin/python3.11 -m mypkg.tool`: a module run by name;
    /// - `/usr/bin/bash -c`, `/usr/bin/perl -e`: inline code, in the interpreter's own
    ///   spelling, one per interpreter (`perl -E` is `perl -e` too);
    /// - `/usr/bin/python3.11`: a REPL, a program on stdin, or a script we cannot find;
    /// - `flatpak:org.gnome.Evolution`: a Flatpak app, whatever it runs inside.
    ///
    /// Paths that are not UTF-8 are converted lossily here; `exe` and `script` are exact.
    pub key: String,
    /// The executable as the kernel names it (for Flatpak: its path inside the sandbox).
    pub exe: PathBuf,
    /// The interpreter's script, resolved against the process's cwd and root.
    pub script: Option<PathBuf>,
    pub flatpak_app: Option<String>,
    /// Flatpak, or another root or mount namespace than the broker's (bwrap, a container,
    /// a strictly confined snap; a classic snap is not). Shown to the user; the management
    /// gate uses [`ProgramFiles::host_view`], its opposite.
    pub sandboxed: bool,
    /// The desktop entry's Name, else the Flatpak app id, else the script's or module's
    /// name, else the process name. A hint from user-writable files: show `key` too.
    pub display_name: String,
    pub icon: Option<String>,
    pub desktop_file: Option<PathBuf>,
    /// What kind of thing it runs: what the launcher walk and the generic rule go by.
    pub runs: Runs,
}

/// What a process runs, as far as the kernel and its command line tell.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Runs {
    /// An executable that is not an interpreter (or anything inside a Flatpak app).
    Program,
    /// An interpreter's script file. `readable`: Sesame can open it (else it cannot tell
    /// what the script is).
    Script { readable: bool },
    /// A module found by name (`python -m`).
    Module,
    /// Code on the command line, with the interpreter's spelling for it (`-c`, `-e`, `-r`).
    Inline { flag: String },
    /// An interpreter with no program file to pin it to: code read from stdin, a REPL, or a
    /// script that cannot be found (deleted, or out of Sesame's sight). `terminal`: its
    /// stdin is a terminal (an interactive shell), or Sesame could not tell.
    Unpinned { terminal: bool },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    pub pid: i32,
    pub ppid: i32,
    /// Real uid.
    pub uid: u32,
    /// Clock ticks after boot (stat field 22).
    pub start_time: u64,
    pub identity: AppIdentity,
    /// Its files, stamped (not read): what its content is keyed on.
    pub files: ProgramFiles,
    /// `argv[1]` when it is a plain lowercase word such as a subcommand (`sesame token`),
    /// for the chain's labels. Anything else (an option, a value, which could be a secret)
    /// is never kept.
    pub subcommand: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Exited, or the pid now belongs to someone else: the peer cannot be identified.
    #[error("process {pid} is gone")]
    Gone { pid: i32 },
    #[error("process {pid} belongs to uid {actual}, not {expected}")]
    UidMismatch { pid: i32, expected: u32, actual: u32 },
    /// Typically EACCES: the process is not dumpable (it asked so, or it is setuid), or
    /// `/proc` is mounted with `hidepid`. Nothing to identify it by: deny.
    #[error("cannot read {what} of process {pid}: {source}")]
    Unreadable {
        pid: i32,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("process {pid} has a malformed {what}")]
    Malformed { pid: i32, what: &'static str },
}

/// Identifies `pid` with a process-wide [`DesktopIndex`] built from the environment.
/// If `expected_uid` is given, the process's real uid must match it.
#[cfg(test)]
pub fn identify(pid: i32, expected_uid: Option<u32>) -> Result<ProcessInfo, IdentityError> {
    static DEFAULT: std::sync::OnceLock<DesktopIndex> = std::sync::OnceLock::new();
    identify_with(pid, expected_uid, DEFAULT.get_or_init(DesktopIndex::from_env), None)
}

/// Identifies `pid`, looking up display names in `desktop`. `peer_pidfd`, if given, must be
/// a pidfd for `pid` (ideally from `SO_PEERPIDFD`, which closes the reuse window described
/// in the module docs); otherwise one is opened here when the kernel supports it.
pub fn identify_with(
    pid: i32,
    expected_uid: Option<u32>,
    desktop: &DesktopIndex,
    peer_pidfd: Option<BorrowedFd<'_>>,
) -> Result<ProcessInfo, IdentityError> {
    if pid <= 0 {
        return Err(IdentityError::Gone { pid });
    }
    let own_pidfd;
    let pidfd = match peer_pidfd {
        Some(fd) => {
            match proc::pidfd_pid(fd) {
                Some(-1) => return Err(IdentityError::Gone { pid }),
                Some(p) if p != pid => {
                    return Err(IdentityError::Malformed { pid, what: "pidfd (another process)" })
                }
                _ => {}
            }
            Some(fd)
        }
        None => {
            own_pidfd = pidfd_open(pid);
            own_pidfd.as_ref().map(|fd| fd.as_fd())
        }
    };

    let before = proc::read_stat(pid)?;
    let uid = proc::read_real_uid(pid)?;
    if let Some(expected) = expected_uid {
        if uid != expected {
            return Err(IdentityError::UidMismatch { pid, expected, actual: uid });
        }
    }
    let exe = proc::read_exe(pid)?;
    let exe_stat = content::stat_exe(pid).map_err(|e| proc::io_error(pid, "exe", e))?;
    let argv = proc::read_cmdline(pid)?;
    let root = proc::open_root(pid)?;
    let flatpak = if root.same_as_ours { None } else { flatpak::app(pid, &root)? };
    let host_view = root.same_as_ours && proc::same_mount_ns(pid);
    let sandboxed = flatpak.is_some() || !host_view;
    let run = classify(pid, &root, &exe, &argv);
    // Inside a Flatpak the app id is the identity, whatever runs there.
    let runs = match &run {
        _ if flatpak.is_some() => Runs::Program,
        Run::Native => Runs::Program,
        Run::Script(found) => Runs::Script { readable: proc::readable(&found.path) },
        Run::Module(_) => Runs::Module,
        Run::Inline(flag) => Runs::Inline { flag: (*flag).to_owned() },
        Run::Unpinned => Runs::Unpinned { terminal: proc::stdin_is_terminal(pid) },
    };
    let subcommand = argv.get(1).and_then(|a| a.to_str()).filter(|a| is_plain_word(a));
    let subcommand = subcommand.map(str::to_owned);

    let after = proc::read_stat(pid)?;
    let alive = pidfd.is_none_or(proc::pidfd_alive);
    if after.start_time != before.start_time || !alive {
        return Err(IdentityError::Gone { pid });
    }

    let exe_text = exe.to_string_lossy().into_owned();
    let mut script_file = None;
    let (key, script, name_hint) = match run {
        Run::Native | Run::Unpinned => (exe_text, None, None),
        Run::Script(found) => {
            let path = found.path;
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            // A directory (Python runs its __main__.py) has no bytes of its own to bind.
            if found.stat.st_mode & libc::S_IFMT == libc::S_IFREG {
                script_file = Some((FileAt::of(path.clone(), &found.stat), found.reopen));
            }
            (format!("{exe_text} {}", path.to_string_lossy()), Some(path), name)
        }
        Run::Module(module) => (format!("{exe_text} -m {module}"), None, Some(module)),
        Run::Inline(flag) => (format!("{exe_text} {flag}"), None, None),
    };
    let flatpak_app = flatpak.as_ref().map(|f| f.app.clone());
    let key = match &flatpak_app {
        Some(app) => format!("flatpak:{app}"),
        None => key,
    };
    let files = ProgramFiles {
        pid,
        start_time: after.start_time,
        exe: FileAt::of(exe.clone(), &exe_stat),
        script: script_file,
        flatpak,
        host_view: host_view && flatpak_app.is_none(),
        found: Default::default(),
    };
    let display_name = flatpak_app.clone().or(name_hint).unwrap_or_else(|| before.comm.clone());
    let mut identity = AppIdentity {
        key,
        exe,
        script,
        flatpak_app,
        sandboxed,
        display_name,
        icon: None,
        desktop_file: None,
        runs,
    };
    if let Some(found) = desktop.lookup(&identity) {
        identity.display_name = found.name;
        identity.icon = found.icon;
        identity.desktop_file = Some(found.path);
    }
    Ok(ProcessInfo {
        pid,
        ppid: after.ppid,
        uid,
        start_time: after.start_time,
        identity,
        subcommand,
        files,
    })
}

/// A subcommand-like word: lowercase letters and '-', short. A token or password never
/// looks like this, so such a word may be shown and stored.
fn is_plain_word(arg: &str) -> bool {
    (1..=16).contains(&arg.len())
        && arg.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        && !arg.starts_with('-')
}

/// The parent's pid (stat field 4). One read of `stat` is an atomic snapshot, so the
/// ppid is the parent of the process that had `pid` at that instant; to identify that
/// parent safely use [`identify_parent`], which also rules out the parent's pid having
/// been reused since.
#[cfg(test)]
pub fn parent_pid(pid: i32) -> Result<i32, IdentityError> {
    if pid <= 0 {
        return Err(IdentityError::Gone { pid });
    }
    Ok(proc::read_stat(pid)?.ppid)
}

/// Identifies `child`'s parent. A parent always starts no later than its child, so a
/// process at the parent's pid that started later is a newcomer after the parent exited.
pub fn identify_parent(
    child: &ProcessInfo,
    expected_uid: Option<u32>,
    desktop: &DesktopIndex,
) -> Result<ProcessInfo, IdentityError> {
    let parent = identify_with(child.ppid, expected_uid, desktop, None)?;
    if parent.start_time > child.start_time {
        return Err(IdentityError::Gone { pid: child.ppid });
    }
    Ok(parent)
}

/// A pidfd for the process `pid` that started at `start_time` (stat field 22), to wait for
/// its exit with. `Err(Gone)` when that process no longer exists (its pid may be someone
/// else's by now); `Ok(None)` when the kernel makes no pidfds (before 5.3, or seccomp).
pub fn pidfd_of(pid: i32, start_time: u64) -> Result<Option<OwnedFd>, IdentityError> {
    // Opened first, checked after: if the stat that follows still shows our start time, the
    // pidfd was taken while the pid was still ours, so it refers to our process.
    let fd = pidfd_open(pid);
    if proc::read_stat(pid)?.start_time != start_time {
        return Err(IdentityError::Gone { pid });
    }
    match fd {
        Some(fd) if !proc::pidfd_alive(fd.as_fd()) => Err(IdentityError::Gone { pid }),
        fd => Ok(fd),
    }
}

/// What the process runs, before it is turned into a key.
enum Run {
    /// Not an interpreter.
    Native,
    Script(proc::Script),
    Module(String),
    /// Inline code, with the interpreter's spelling for it.
    Inline(&'static str),
    /// An interpreter with nothing on disk to pin it to (stdin, REPL, a script not found).
    Unpinned,
}

fn classify(pid: i32, root: &proc::ProcRoot, exe: &Path, argv: &[OsString]) -> Run {
    let Some(interpreter) = Interpreter::of(exe) else { return Run::Native };
    match interpreter.parse(argv.get(1..).unwrap_or(&[])) {
        Invocation::Script { path, chdir } => {
            match proc::resolve_script(
                pid,
                root,
                &path,
                chdir.as_deref(),
                interpreter.accepts_directory(),
            ) {
                Some(resolved) => Run::Script(resolved),
                // A REPL's argument that is not a file, `-`, a typo: the plain interpreter.
                None => Run::Unpinned,
            }
        }
        Invocation::Module(module) => Run::Module(module),
        Invocation::Inline => Run::Inline(interpreter.inline_flag()),
        Invocation::Interactive => Run::Unpinned,
    }
}
