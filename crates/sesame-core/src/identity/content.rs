//! What a program's files are: SHA-256 of the executable the process runs and of its script,
//! and the Debian package that installed them ([`super::dpkg`]).
//!
//! Identification (every connection) only *stats* the files and keeps a [`ProgramFiles`]:
//! where they are and their [`FileStamp`]. [`ContentCache::lookup`] turns stamps into
//! content from memory; only a stamp the cache has not seen is read and hashed
//! ([`ContentCache::read`], blocking), so a warm covered `token.get` reads no file.
//!
//! The stamp is (device, inode, size, mtime, ctime). ctime cannot be set from user space,
//! so a rewrite with the old mtime restored still changes it. Timestamps are coarse (a
//! clock tick), so a file changed in the last [`RACY`] seconds is hashed but not cached:
//! a second write within the same tick could otherwise keep the stamp and the old hash
//! (git's "racy clean" problem).

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sesame_ipc::consent::{FileContent, FlatpakContent, ProgramContent};
use sha2::{Digest, Sha256};

use super::dpkg::PackageIndex;
use super::proc;

/// Which file, as far as a stat can tell: any write changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileStamp {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

impl FileStamp {
    pub(crate) fn of(st: &libc::stat) -> FileStamp {
        FileStamp {
            dev: st.st_dev,
            ino: st.st_ino,
            size: st.st_size as u64,
            mtime: (st.st_mtime, st.st_mtime_nsec),
            ctime: (st.st_ctime, st.st_ctime_nsec),
        }
    }
}

/// One file of a program, located and stamped at identification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAt {
    /// The path as the process sees it (and we, when it shares our view).
    pub path: PathBuf,
    pub stamp: FileStamp,
    /// Owned by root and not writable by group or others: only root can change it. With
    /// dpkg listing the path, this is what makes a file "the package's".
    pub root_only: bool,
}

impl FileAt {
    pub(crate) fn of(path: PathBuf, st: &libc::stat) -> FileAt {
        FileAt { path, stamp: FileStamp::of(st), root_only: root_only(st) }
    }
}

fn root_only(st: &libc::stat) -> bool {
    st.st_uid == 0 && st.st_mode & 0o022 == 0
}

/// Where a program's content is, taken at identification without reading any file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramFiles {
    pub pid: i32,
    pub start_time: u64,
    /// The executable, reopened through `/proc/<pid>/exe` when it must be read.
    pub exe: FileAt,
    /// The interpreter's script, and how to reopen it.
    pub script: Option<(FileAt, Reopen)>,
    pub flatpak: Option<FlatpakContent>,
    /// The process has the broker's root and mount namespace (and is no Flatpak): its
    /// paths name the files they name for us, so dpkg's database speaks about them.
    pub host_view: bool,
    /// The content, once found: a connection's later requests need not even look it up
    /// (its stamps are fixed for its lifetime).
    pub found: std::sync::OnceLock<ProgramContent>,
}

#[cfg(test)]
impl ProgramFiles {
    /// Files that were never stamped from a real process: for tests of what does not read them.
    pub(crate) fn unread(pid: i32, exe: PathBuf) -> ProgramFiles {
        let stamp = FileStamp { dev: 0, ino: 0, size: 0, mtime: (0, 0), ctime: (0, 0) };
        ProgramFiles {
            pid,
            start_time: pid as u64,
            exe: FileAt { path: exe, stamp, root_only: false },
            script: None,
            flatpak: None,
            host_view: true,
            found: Default::default(),
        }
    }
}

/// How to open a script again to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reopen {
    /// Our path to it (the process shares our root).
    Path(PathBuf),
    /// Its path inside the process's root (`/proc/<pid>/root`), resolved there.
    InRoot(PathBuf),
}

/// Why content could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("cannot read {what} {path}: {source}")]
    Unreadable {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The file is not the one identification saw (the process exited, ran another
    /// program, or the file was rewritten while it asked).
    #[error("{what} {path} changed while the program asked")]
    Moved { what: &'static str, path: PathBuf },
}

/// Cached entries at most; past it the cache starts over (a stamp is re-hashed at worst).
const MAX_ENTRIES: usize = 4096;
/// Files whose ctime is this recent are hashed on every request instead of cached.
pub const RACY: i64 = 2;

/// Stamp → content, for every file hashed since the broker started.
pub struct ContentCache {
    map: Mutex<HashMap<(PathBuf, FileStamp), FileContent>>,
    packages: PackageIndex,
    /// How many files were hashed (tests check that a warm request hashes nothing).
    hashed: std::sync::atomic::AtomicU64,
}

impl ContentCache {
    pub fn new(packages: PackageIndex) -> ContentCache {
        ContentCache { map: Mutex::default(), packages, hashed: Default::default() }
    }

    /// The content, if every file's stamp is cached: memory only.
    pub fn lookup(&self, files: &ProgramFiles) -> Option<ProgramContent> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let get = |f: &FileAt| map.get(&(f.path.clone(), f.stamp)).cloned();
        Some(ProgramContent {
            exe: if files.flatpak.is_some() { None } else { Some(get(&files.exe)?) },
            script: match &files.script {
                Some((f, _)) if files.flatpak.is_none() => Some(get(f)?),
                _ => None,
            },
            flatpak: files.flatpak.clone(),
            updated: None,
        })
    }

    /// The content, reading and hashing what the cache lacks. Blocking.
    pub fn read(&self, files: &ProgramFiles, now: i64) -> Result<ProgramContent, ContentError> {
        if let Some(known) = self.lookup(files) {
            return Ok(known);
        }
        // A Flatpak app's commit stands for its files: nothing to hash.
        if files.flatpak.is_some() {
            return Ok(ProgramContent { flatpak: files.flatpak.clone(), ..Default::default() });
        }
        let exe = self.file(files, &files.exe, None, now)?;
        let script = match &files.script {
            Some((f, how)) => Some(self.file(files, f, Some(how), now)?),
            None => None,
        };
        Ok(ProgramContent { exe: Some(exe), script, flatpak: None, updated: None })
    }

    /// How many files this cache has hashed.
    #[cfg(test)]
    pub fn hashed(&self) -> u64 {
        self.hashed.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn file(
        &self,
        files: &ProgramFiles,
        at: &FileAt,
        script: Option<&Reopen>,
        now: i64,
    ) -> Result<FileContent, ContentError> {
        let key = (at.path.clone(), at.stamp);
        if let Some(c) = self.map.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(c.clone());
        }
        let what = if script.is_some() { "the script" } else { "the executable" };
        let unreadable = |source| ContentError::Unreadable { what, path: at.path.clone(), source };
        let moved = || ContentError::Moved { what, path: at.path.clone() };
        let file = match script {
            None => open_exe(files.pid, files.start_time).map_err(unreadable)?,
            Some(Reopen::Path(p)) => open_file(p).map_err(unreadable)?,
            Some(Reopen::InRoot(p)) => open_in_root(files.pid, p).map_err(unreadable)?,
        };
        if stamp_of(&file).map_err(unreadable)? != at.stamp {
            return Err(moved());
        }
        let sha256 = sha256(&file, at.stamp.size).map_err(unreadable)?;
        self.hashed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Still the same file after reading it, or the hash may mix two versions.
        if stamp_of(&file).map_err(unreadable)? != at.stamp {
            return Err(moved());
        }
        let package = if files.host_view
            && at.root_only
            && packaged_place(&at.path)
            && same_file_at(&at.path, &at.stamp)
        {
            self.packages.owner(&at.path)
        } else {
            None
        };
        let content = FileContent { sha256, package };
        if now - at.stamp.ctime.0 >= RACY {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(key, content.clone());
        }
        Ok(content)
    }
}

/// The path still names the file the process runs (not a newer one installed meanwhile:
/// then the process runs the deleted old one, and the package's version is not its).
fn same_file_at(path: &Path, stamp: &FileStamp) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).is_ok_and(|m| m.dev() == stamp.dev && m.ino() == stamp.ino)
}

/// The file the process runs, even if deleted or in another mount namespace. The start
/// time, read after opening, says the pid was still that process.
fn open_exe(pid: i32, start_time: u64) -> io::Result<File> {
    let file = File::open(format!("/proc/{pid}/exe"))?;
    match proc::read_stat(pid) {
        Ok(st) if st.start_time == start_time => Ok(file),
        _ => Err(io::Error::from_raw_os_error(libc::ESRCH)),
    }
}

/// `O_NONBLOCK` so a FIFO put in the file's place cannot hang us; `O_NOFOLLOW`: the path
/// is canonical, so a symlink there now is not what identification saw.
fn open_file(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_NOCTTY)
        .open(path)
}

fn open_in_root(pid: i32, path: &Path) -> io::Result<File> {
    let root = File::open(format!("/proc/{pid}/root"))?;
    let fd = proc::openat_in_root_with(
        root.as_raw_fd(),
        path,
        libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_NOCTTY,
    )?;
    Ok(File::from(fd))
}

fn stamp_of(file: &File) -> io::Result<FileStamp> {
    let st = proc::fstat(file.as_raw_fd())?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    Ok(FileStamp::of(&st))
}

/// SHA-256 of the first `size` bytes, which must be all of them: a file that grew while
/// we read is not the one we stamped.
fn sha256(file: &File, size: u64) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut reader = file.take(size.saturating_add(1));
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total += n as u64;
        hasher.update(&buf[..n]);
    }
    if total != size {
        return Err(io::Error::other(format!("read {total} bytes of a {size}-byte file")));
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// `stat` of the file the process runs (the magic link is followed): one syscall.
pub(crate) fn stat_exe(pid: i32) -> io::Result<libc::stat> {
    let c = CString::new(format!("/proc/{pid}/exe"))
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: an all-zero stat is a valid value to be overwritten.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: c is NUL-terminated and st writable, both for the call.
    if unsafe { libc::stat(c.as_ptr(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

/// Where Debian packages put programs. Asking dpkg costs two `dpkg-query` runs (a scan of
/// its whole file list, about half a second): not worth it for a file elsewhere (a build
/// tree, `/tmp`, a home directory), which no package ships, on a program's first request.
fn packaged_place(path: &std::path::Path) -> bool {
    let places = ["/usr/", "/bin/", "/sbin/", "/lib", "/opt/"];
    path.to_str().is_some_and(|p| places.iter().any(|place| p.starts_with(place)))
}
