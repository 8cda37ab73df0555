//! The caller of a connection, identified once when it is accepted: the kernel's
//! `SO_PEERCRED` pid, then `/proc` (see [`crate::identity`]). Requests made through the
//! `sesame` CLI are attributed to the program that ran it, past the shells and launchers
//! in between (`identity::chain`). Sesame's own binaries are trusted to manage only outside
//! any sandbox: a `sesame` in another root or mount namespace, or in a Flatpak, is just
//! another program.

use std::os::fd::BorrowedFd;
use std::path::PathBuf;
use std::sync::Arc;

use sesame_ipc::consent::AppInfo;

use crate::identity::chain::{self, Attribution, LiveTree};
use crate::identity::{self, DesktopIndex, IdentityError, ProcessInfo, ProgramFiles};

/// A process, pinned by pid and start time (a pid alone can be reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessRef {
    pub pid: i32,
    pub start_time: u64,
}

#[derive(Debug, Clone)]
pub struct Caller {
    /// The program a token request is attributed to (for the CLI: the CLI's parent).
    pub app: AppInfo,
    pub process: ProcessRef,
    /// The request came through the `sesame` CLI.
    pub via_cli: bool,
    /// The peer is one of Sesame's own binaries, outside any sandbox, so it may make
    /// management calls.
    pub management: bool,
    /// Where `app`'s files are, stamped at identification: its content is looked up (or
    /// read) from these. `None` only for the in-process app, which asks for no token.
    pub files: Option<Arc<ProgramFiles>>,
}

impl Caller {
    /// The desktop app calling its in-process broker directly: trusted for management.
    pub fn in_process(app: AppInfo) -> Caller {
        let pid = std::process::id() as i32;
        let process = ProcessRef { pid, start_time: 0 };
        Caller { app, process, via_cli: false, management: true, files: None }
    }
}

/// What it takes to tell who a connecting process is: Sesame's own binaries (they may
/// manage, and the CLI's token requests count as its parent's) and the `.desktop` index
/// (a program's name and icon). Built once per broker.
pub struct Identifier {
    /// Canonical paths of Sesame's own binaries, as `/proc/<pid>/exe` shows them.
    own_binaries: Vec<PathBuf>,
    desktop: DesktopIndex,
}

impl Identifier {
    /// This executable and a `sesame` beside it; the desktop entries of the session.
    pub fn from_env() -> Identifier {
        Identifier { own_binaries: own_binaries(), desktop: DesktopIndex::from_env() }
    }

    /// Identifies the peer `pid` of user `uid` (`pidfd`: the kernel's handle on it, if
    /// any). Blocking: it reads `/proc`.
    pub fn identify(
        &self,
        pid: i32,
        uid: u32,
        pidfd: Option<BorrowedFd<'_>>,
    ) -> Result<Caller, IdentityError> {
        let desktop = &self.desktop;
        let peer = identity::identify_with(pid, Some(uid), desktop, pidfd)?;
        if !self.is_own(&peer) {
            // A program that speaks the protocol itself is the one asking, whoever ran it.
            return Ok(caller(chain::direct(peer), false, false));
        }
        // The CLI asks for whoever ran it: its parent, or past the shells and launchers in
        // between, the program that wanted the token. The parent itself must be readable
        // and the user's (else the request is refused, as before); above it, what cannot
        // be read makes the identity generic.
        let parent = identity::identify_parent(&peer, Some(uid), desktop)?;
        let mut who = chain::walk(parent, &LiveTree { uid, desktop });
        who.chain.push(cli_label(&peer));
        Ok(caller(who, true, true))
    }

    /// One of Sesame's own binaries, run as itself (no script) and seeing the broker's
    /// filesystem: same root, same mount namespace, no Flatpak. Inside a sandbox the path
    /// `/usr/bin/sesame` may name any file, and the sandbox's own programs could drive it.
    fn is_own(&self, peer: &ProcessInfo) -> bool {
        peer.identity.script.is_none()
            && peer.files.host_view
            && self.own_binaries.contains(&peer.identity.exe)
    }
}

/// The CLI's link in the chain: `sesame token`.
fn cli_label(cli: &ProcessInfo) -> String {
    let name = chain::label(cli);
    match &cli.subcommand {
        Some(word) => format!("{name} {word}"),
        None => name,
    }
}

fn caller(who: Attribution, via_cli: bool, management: bool) -> Caller {
    let p = &who.process;
    Caller {
        app: app_info(&who),
        process: ProcessRef { pid: p.pid, start_time: p.start_time },
        via_cli,
        management,
        files: Some(Arc::new(p.files.clone())),
    }
}

fn app_info(who: &Attribution) -> AppInfo {
    let id = &who.process.identity;
    AppInfo {
        key: id.key.clone(),
        name: id.display_name.clone(),
        exe: id.exe.to_string_lossy().into_owned(),
        script: id.script.as_ref().map(|s| s.to_string_lossy().into_owned()),
        icon: id.icon.clone(),
        flatpak_app: id.flatpak_app.clone(),
        sandboxed: id.sandboxed,
        content: None,
        chain: who.chain.clone(),
        generic: who.generic.clone(),
    }
}

/// Sesame's own binaries as seen by `/proc/<pid>/exe`: this executable, and a `sesame`
/// beside it (the app ships the CLI next to itself), and a `git-credential-sesame` beside
/// it (the CLI under the name git runs; the .deb ships it as a copy, a source install as a
/// link, which resolves to `sesame` itself).
fn own_binaries() -> Vec<PathBuf> {
    let mut list = vec![];
    if let Ok(me) = std::fs::canonicalize("/proc/self/exe") {
        for name in ["sesame", "git-credential-sesame"] {
            let sibling = me.parent().map(|d| d.join(name));
            if let Some(sibling) = sibling.and_then(|p| std::fs::canonicalize(p).ok()) {
                list.push(sibling);
            }
        }
        list.push(me);
    }
    list.sort();
    list.dedup();
    list
}
