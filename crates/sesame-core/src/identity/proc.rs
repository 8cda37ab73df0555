//! Raw reads of `/proc/<pid>/…`, and the pidfd helpers.
//!
//! Every read maps "no such file" / "no such process" to [`IdentityError::Gone`]: a pid
//! directory disappears the moment its process is reaped, so those errors mean exactly that.

use std::ffi::{CString, OsStr, OsString};
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::content::Reopen;
use super::IdentityError;

/// The fields of `/proc/<pid>/stat` we use.
#[derive(Debug, Clone)]
pub(crate) struct Stat {
    pub comm: String,
    pub ppid: i32,
    /// Field 22: clock ticks after boot. Unique per pid at any moment: a pid is only reused
    /// after its previous owner is gone, and the new owner necessarily started later.
    pub start_time: u64,
}

fn proc_path(pid: i32, what: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{what}"))
}

pub(crate) fn io_error(pid: i32, what: &'static str, e: io::Error) -> IdentityError {
    match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ESRCH) => IdentityError::Gone { pid },
        _ => IdentityError::Unreadable { pid, what, source: e },
    }
}

pub(crate) fn read_stat(pid: i32) -> Result<Stat, IdentityError> {
    let raw = fs::read(proc_path(pid, "stat")).map_err(|e| io_error(pid, "stat", e))?;
    parse_stat(&raw).ok_or(IdentityError::Malformed { pid, what: "stat" })
}

/// One read of `stat` is one consistent snapshot of one task, so `ppid` and `start_time`
/// always belong together.
pub(crate) fn parse_stat(raw: &[u8]) -> Option<Stat> {
    let text = String::from_utf8_lossy(raw);
    // comm is in parentheses and may itself contain spaces and ')', so split at the last ')'.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // rest[0] is field 3 (state), so field N is rest[N - 3].
    let ppid = rest.get(1)?.parse().ok()?;
    let start_time = rest.get(19)?.parse().ok()?;
    Some(Stat { comm, ppid, start_time })
}

/// The real uid (first number of the `Uid:` line of `status`).
pub(crate) fn read_real_uid(pid: i32) -> Result<u32, IdentityError> {
    let text =
        fs::read_to_string(proc_path(pid, "status")).map_err(|e| io_error(pid, "status", e))?;
    text.lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next())
        .and_then(|uid| uid.parse().ok())
        .ok_or(IdentityError::Malformed { pid, what: "status" })
}

/// The executable as the kernel recorded it. The link's text is already canonical (the
/// kernel prints the dentry's path, with no symlinks), so no `canonicalize` is needed — and
/// for a process in another mount namespace `canonicalize` on our side would be wrong.
pub(crate) fn read_exe(pid: i32) -> Result<PathBuf, IdentityError> {
    let link = proc_path(pid, "exe");
    let target = fs::read_link(&link).map_err(|e| io_error(pid, "exe", e))?;
    Ok(strip_deleted(&link, target))
}

/// The kernel appends " (deleted)" when the file was unlinked after exec — typically a
/// package upgrade replaced a program that is still running. The old program came from that
/// path, so the path stays its identity; keep the suffix only if a file literally named so
/// is the very file the process runs.
fn strip_deleted(link: &Path, target: PathBuf) -> PathBuf {
    const SUFFIX: &[u8] = b" (deleted)";
    let bytes = target.as_os_str().as_bytes();
    let Some(stripped) = bytes.strip_suffix(SUFFIX) else {
        return target;
    };
    if let (Ok(running), Ok(named)) = (fs::metadata(link), fs::metadata(&target)) {
        if running.dev() == named.dev() && running.ino() == named.ino() {
            return target;
        }
    }
    tracing::debug!(path = %target.display(), "process runs a deleted executable");
    PathBuf::from(OsStr::from_bytes(stripped))
}

/// argv, NUL-separated. Empty for zombies and kernel threads.
pub(crate) fn read_cmdline(pid: i32) -> Result<Vec<OsString>, IdentityError> {
    let raw = fs::read(proc_path(pid, "cmdline")).map_err(|e| io_error(pid, "cmdline", e))?;
    let raw = raw.strip_suffix(b"\0").unwrap_or(&raw);
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    Ok(raw.split(|b| *b == 0).map(|a| OsStr::from_bytes(a).to_os_string()).collect())
}

/// Whether the process is in the broker's mount namespace (`/proc/<pid>/ns/mnt` is the same
/// namespace as ours). Unreadable counts as "no": a process we cannot place is not ours.
pub(crate) fn same_mount_ns(pid: i32) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(proc_path(pid, "ns/mnt")), fs::metadata("/proc/self/ns/mnt")) {
        (Ok(theirs), Ok(ours)) => theirs.dev() == ours.dev() && theirs.ino() == ours.ino(),
        _ => false,
    }
}

/// The process's root directory, opened through the `/proc` magic link (so it is the real
/// directory even in another mount namespace), and whether it is the same as ours.
pub(crate) struct ProcRoot {
    pub fd: OwnedFd,
    pub same_as_ours: bool,
}

pub(crate) fn open_root(pid: i32) -> Result<ProcRoot, IdentityError> {
    let fd = open_path(&proc_path(pid, "root"), libc::O_DIRECTORY)
        .map_err(|e| io_error(pid, "root", e))?;
    let theirs = fstat(fd.as_raw_fd()).map_err(|e| io_error(pid, "root", e))?;
    let ours = fs::metadata("/").map_err(|e| io_error(pid, "root", e))?;
    let same_as_ours = theirs.st_dev == ours.dev() && theirs.st_ino == ours.ino();
    Ok(ProcRoot { fd, same_as_ours })
}

/// An interpreter's script, found the way the process found it.
pub(crate) struct Script {
    /// Its canonical path as we see it.
    pub path: PathBuf,
    pub stat: libc::stat,
    /// How to open it again (to hash it).
    pub reopen: Reopen,
}

/// Resolves an interpreter's script argument the way the process itself did, or `None` when
/// it does not name a file (a REPL reading stdin, a typo, a path we cannot reach).
///
/// Same root as ours: relative paths start from the process's cwd (opened through the magic
/// link, so a renamed or deleted cwd is still right), absolute ones from `/`. Another root
/// (chroot, Flatpak, container): the path is resolved with `openat2(RESOLVE_IN_ROOT)` so
/// that `..` and absolute symlinks stay inside that root, as they did for the process.
/// Mount-namespace differences under the same root (e.g. a service's private /tmp) are
/// not modelled.
pub(crate) fn resolve_script(
    pid: i32,
    root: &ProcRoot,
    arg: &OsStr,
    chdir: Option<&OsStr>,
    allow_dir: bool,
) -> Option<Script> {
    let mut path = PathBuf::from(arg);
    if let Some(dir) = chdir {
        // ruby -C dir: the script is looked up after changing into dir.
        path = Path::new(dir).join(path);
    }
    let (fd, in_root) = if root.same_as_ours {
        let fd = if path.is_absolute() {
            open_path(&path, 0).ok()?
        } else {
            let cwd = open_path(&proc_path(pid, "cwd"), libc::O_DIRECTORY).ok()?;
            openat(cwd.as_raw_fd(), &path).ok()?
        };
        (fd, None)
    } else {
        let in_root = if path.is_absolute() { path } else { cwd_in_root(pid)?.join(path) };
        let flags = libc::O_PATH | libc::O_CLOEXEC;
        (openat_in_root_with(root.fd.as_raw_fd(), &in_root, flags).ok()?, Some(in_root))
    };
    let stat = fstat(fd.as_raw_fd()).ok()?;
    let kind = stat.st_mode & libc::S_IFMT;
    if kind != libc::S_IFREG && !(allow_dir && kind == libc::S_IFDIR) {
        return None;
    }
    let path = fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
    let reopen = match in_root {
        None => Reopen::Path(path.clone()),
        Some(p) => Reopen::InRoot(p),
    };
    Some(Script { path, stat, reopen })
}

/// Whether Sesame can open `path` for reading (non-blocking, so a FIFO swapped in cannot
/// hang it). A script it cannot read is one it cannot tell apart from another.
pub(crate) fn readable(path: &Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .is_ok()
}

/// Whether the process's stdin is a terminal, as its fd 0 link says (`/dev/pts/3`,
/// `/dev/tty1`). When the link cannot be read, say yes: the caller treats a terminal as
/// the end of the walk, the careful answer.
pub(crate) fn stdin_is_terminal(pid: i32) -> bool {
    let Ok(target) = fs::read_link(proc_path(pid, "fd/0")) else { return true };
    let target = target.as_os_str().as_bytes();
    target.starts_with(b"/dev/pts/") || target.starts_with(b"/dev/tty") || target == b"/dev/console"
}

/// The cwd as a path inside the process's root, from the two links' texts (both as seen
/// from our root). `None` when the cwd is not under the root.
fn cwd_in_root(pid: i32) -> Option<PathBuf> {
    let cwd = fs::read_link(proc_path(pid, "cwd")).ok()?;
    let root = fs::read_link(proc_path(pid, "root")).ok()?;
    let rel = cwd.strip_prefix(&root).ok()?;
    Some(Path::new("/").join(rel))
}

fn cstring(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn check_fd(fd: libc::c_long) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `O_PATH` opens need no read permission and never block (a FIFO cannot stall us).
fn open_path(path: &Path, extra: libc::c_int) -> io::Result<OwnedFd> {
    let c = cstring(path)?;
    // SAFETY: c is a valid NUL-terminated string for the duration of the call.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC | extra) };
    check_fd(fd.into())
}

fn openat(dir: RawFd, path: &Path) -> io::Result<OwnedFd> {
    let c = cstring(path)?;
    // SAFETY: dir is an open descriptor we own; c is valid for the call.
    let fd = unsafe { libc::openat(dir, c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    check_fd(fd.into())
}

/// `struct open_how` from linux/openat2.h (libc's is `non_exhaustive`, so we cannot build it).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// Opens `path` as the process whose root is `root` would: `..` and absolute symlinks
/// stay inside that root.
pub(crate) fn openat_in_root_with(
    root: RawFd,
    path: &Path,
    flags: libc::c_int,
) -> io::Result<OwnedFd> {
    let c = cstring(path)?;
    let how = OpenHow { flags: flags as u64, mode: 0, resolve: libc::RESOLVE_IN_ROOT };
    // SAFETY: root is an open descriptor; c and how outlive the call; size matches the struct.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root,
            c.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    check_fd(fd)
}

pub(crate) fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    // SAFETY: an all-zero stat is a valid value to be overwritten; fd is open.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: st is a valid, writable stat buffer.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

/// Opens `.flatpak-info` in the process's root, if there is one. `O_NOFOLLOW` so a symlink
/// cannot point us elsewhere; `O_NONBLOCK` so a FIFO planted there cannot hang the broker.
pub(crate) fn open_in_root(root: &ProcRoot, name: &str) -> io::Result<fs::File> {
    let c = CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let flags =
        libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY;
    // SAFETY: root.fd is open; c is valid for the call.
    let fd = unsafe { libc::openat(root.fd.as_raw_fd(), c.as_ptr(), flags) };
    let fd = check_fd(fd.into())?;
    let st = fstat(fd.as_raw_fd())?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    Ok(fs::File::from(fd))
}

/// A pidfd for `pid`: a handle on that very process that never starts referring to
/// another one. `None` if the kernel is older than 5.3, seccomp forbids it, or the
/// process is already gone.
pub fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    if pid <= 0 {
        return None;
    }
    // SAFETY: plain syscall with integer arguments.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    check_fd(fd).ok()
}

/// Whether the process behind `fd` still exists (signal 0 checks without sending).
pub(crate) fn pidfd_alive(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: fd is an open pidfd; a null siginfo is allowed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            0,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    // EPERM: it exists but we may not signal it (cannot happen for our own uid).
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The pid a pidfd refers to, from `/proc/self/fdinfo` (`-1` once it exited); `None` if the
/// kernel does not say (before 5.10) or the descriptor is not a pidfd.
pub(crate) fn pidfd_pid(fd: BorrowedFd<'_>) -> Option<i32> {
    let info = fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).ok()?;
    info.lines().find_map(|l| l.strip_prefix("Pid:")).and_then(|p| p.trim().parse().ok())
}
