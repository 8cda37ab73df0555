//! Running a client as another user (`nobody`), for the tests that check the broker
//! refuses other users.
//!
//! `nobody` may not be able to enter the checkout or the cargo target dir: a clone in a
//! 0700 home directory keeps every other user out. So nothing `nobody` runs or reads comes
//! from there: [`Nobody::take`] copies it into a fresh directory of its own under /tmp
//! (0755, files 0755), and its programs run with that directory as their working directory.

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{set_mode, ClientProc, Env};

/// User `nobody` and a directory it can enter; removed (with its copies) on drop.
pub struct Nobody {
    pub dir: PathBuf,
    pub uid: u32,
}

impl Nobody {
    pub fn new() -> Nobody {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        // /tmp itself, not `std::env::temp_dir()`: $TMPDIR may be a private directory too.
        let dir = Path::new("/tmp").join(format!("sesame-e2e-{}-nobody-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        set_mode(&dir, 0o755);
        assert_reachable(&dir);
        Nobody { dir, uid: uid_of("nobody") }
    }

    /// A copy of `file` (a program, a script) in [`Nobody::dir`], mode 0755: what `nobody`
    /// runs instead of the original.
    pub fn take(&self, file: &Path) -> PathBuf {
        let name = file.file_name().unwrap_or_else(|| panic!("{} has no name", file.display()));
        let copy = self.dir.join(name);
        assert!(!copy.exists(), "{} was already taken", copy.display());
        std::fs::copy(file, &copy).unwrap_or_else(|e| panic!("copy {}: {e}", file.display()));
        set_mode(&copy, 0o755);
        copy
    }

    /// The system's Python (not a pyenv one under root's home), which `nobody` can run.
    pub fn python(&self) -> PathBuf {
        let python = PathBuf::from("/usr/bin/python3");
        assert!(python.exists(), "a Python that user nobody can run: {}", python.display());
        python
    }

    /// `program args` as `nobody` (and group `nogroup`, no supplementary groups), with the
    /// env's environment, from [`Nobody::dir`]. `program` must be one `nobody` can reach: a
    /// system program or a copy from [`Nobody::take`]; so must any file among `args`.
    pub fn spawn(&self, env: &Env, program: &Path, args: &[&str]) -> ClientProc {
        assert!(program.is_absolute(), "{}: setpriv would search nobody's PATH", program.display());
        assert_reachable(program);
        let mut cmd = env.command("setpriv");
        cmd.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
            .arg(program)
            .args(args)
            .current_dir(&self.dir);
        env.spawn_command(cmd)
    }
}

impl Default for Nobody {
    fn default() -> Self {
        Nobody::new()
    }
}

impl Drop for Nobody {
    fn drop(&mut self) {
        // Only copies: nothing here to inspect after a failure.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Panics unless other users can enter every directory above `path` and use `path` itself
/// (enter it, or read and run it): what running it as `nobody` needs.
fn assert_reachable(path: &Path) {
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode();
    for dir in path.ancestors().skip(1) {
        if !dir.as_os_str().is_empty() {
            assert!(
                mode(dir) & 0o001 != 0,
                "other users cannot enter {} (mode {:o}), so nobody cannot reach {}",
                dir.display(),
                mode(dir) & 0o7777,
                path.display()
            );
        }
    }
    assert!(
        mode(path) & 0o005 == 0o005,
        "other users cannot use {} (mode {:o})",
        path.display(),
        mode(path) & 0o7777
    );
}

fn uid_of(user: &str) -> u32 {
    let name = CString::new(user).unwrap();
    // SAFETY: getpwnam takes a NUL-terminated name; the entry is read before any other call.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    assert!(!pw.is_null(), "no user {user}");
    unsafe { (*pw).pw_uid }
}
