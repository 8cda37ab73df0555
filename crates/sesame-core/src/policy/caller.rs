//! The caller of a connection, identified once when it is accepted: the kernel's
//! `SO_PEERCRED` pid, then `/proc` (see [`crate::identity`]). Requests made through the
//! `sesame` CLI are attributed to the program that ran it. Sesame's own binaries are trusted
//! to manage only outside any sandbox: a `sesame` in another root or mount namespace, or in
//! a Flatpak, is just another program.

use std::os::fd::BorrowedFd;
use std::path::PathBuf;
use std::sync::Arc;

use sesame_ipc::consent::AppInfo;

use crate::identity::{self, AppIdentity, DesktopIndex, IdentityError, ProcessInfo, ProgramFiles};

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
            return Ok(caller(&peer, false, false));
        }
        let parent = identity::identify_parent(&peer, Some(uid), desktop)?;
        Ok(caller(&parent, true, true))
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

fn caller(p: &ProcessInfo, via_cli: bool, management: bool) -> Caller {
    Caller {
        app: app_info(&p.identity),
        process: ProcessRef { pid: p.pid, start_time: p.start_time },
        via_cli,
        management,
        files: Some(Arc::new(p.files.clone())),
    }
}

fn app_info(id: &AppIdentity) -> AppInfo {
    AppInfo {
        key: id.key.clone(),
        name: id.display_name.clone(),
        exe: id.exe.to_string_lossy().into_owned(),
        script: id.script.as_ref().map(|s| s.to_string_lossy().into_owned()),
        icon: id.icon.clone(),
        flatpak_app: id.flatpak_app.clone(),
        sandboxed: id.sandboxed,
        content: None,
    }
}

/// Sesame's own binaries as seen by `/proc/<pid>/exe`: this executable, and a `sesame`
/// beside it (the app ships the CLI next to itself).
fn own_binaries() -> Vec<PathBuf> {
    let mut list = vec![];
    if let Ok(me) = std::fs::canonicalize("/proc/self/exe") {
        if let Some(sibling) =
            me.parent().map(|d| d.join("sesame")).and_then(|p| std::fs::canonicalize(p).ok())
        {
            list.push(sibling);
        }
        list.push(me);
    }
    list.dedup();
    list
}
