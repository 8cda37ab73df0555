//! Programs in a box, and what files are: a `sesame` run inside bubblewrap or in its own
//! mount namespace (`unshare -m`), each first printing where it runs so a test can check
//! the box was real; SHA-256 of a file by Debian's `sha256sum`; the grants table edited
//! the way an older Sesame left it.

use super::*;

/// What a boxed command printed about itself before it exec'd the program.
#[derive(Debug)]
pub struct Boxed {
    pub output: Output,
    /// `readlink /proc/self/ns/mnt` inside the box.
    pub mount_ns: String,
    /// Everything after the marker lines.
    pub stdout: String,
}

/// How to put a program in a box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sandbox {
    /// `bwrap --ro-bind / / --dev /dev --proc /proc`: the real root, read-only, in the
    /// sandbox's own mount namespace (as Flatpak builds its sandboxes, without the app).
    Bwrap,
    /// `unshare -m`: the same root in a mount namespace of its own (root only).
    Unshare,
}

/// This process's mount namespace (`mnt:[…]`).
pub fn own_mount_ns() -> String {
    std::fs::read_link("/proc/self/ns/mnt").unwrap().to_string_lossy().into_owned()
}

/// SHA-256 of `path`, by `sha256sum` (coreutils).
pub fn sha256_file(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("sha256sum");
    assert!(out.status.success(), "sha256sum {}: {}", path.display(), stderr(&out));
    stdout(&out).split_whitespace().next().unwrap().to_owned()
}

impl Env {
    /// Runs `program args` in `sandbox` (through `sh -c`, which first prints the box's mount
    /// namespace on a marker line, then execs the program), with the env's environment.
    pub fn run_boxed(&self, sandbox: Sandbox, program: &Path, args: &[&str]) -> Boxed {
        const SCRIPT: &str =
            r#"printf 'boxed-mount-ns %s\n' "$(readlink /proc/self/ns/mnt)"; exec "$0" "$@""#;
        let mut cmd = match sandbox {
            Sandbox::Bwrap => {
                let mut cmd = self.command("bwrap");
                cmd.args(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--"]);
                cmd
            }
            Sandbox::Unshare => {
                let mut cmd = self.command("unshare");
                cmd.args(["-m", "--propagation", "private", "--"]);
                cmd
            }
        };
        cmd.args(["sh", "-c", SCRIPT]).arg(program).args(args);
        let output = cmd.output().unwrap_or_else(|e| panic!("cannot run {sandbox:?}: {e}"));
        self.note_output(&output);
        let text = stdout(&output);
        let (marker, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let mount_ns = marker.strip_prefix("boxed-mount-ns ").unwrap_or_else(|| {
            panic!("the box did not run its shell ({sandbox:?}): {text}\n{}", stderr(&output))
        });
        Boxed { mount_ns: mount_ns.trim().to_owned(), stdout: rest.to_owned(), output }
    }

    /// Makes every grant look as an older Sesame stored it: its program's JSON without
    /// `content`. The daemon must be stopped (it keeps grants in memory).
    pub fn forget_grant_contents(&self) {
        let db = self.dir.join("data/sesame/sesame.db");
        let code = "import json, sqlite3, sys\n\
                    c = sqlite3.connect(sys.argv[1])\n\
                    for gid, app in c.execute('SELECT id, app FROM grants').fetchall():\n\
                    \x20   a = json.loads(app); a.pop('content', None)\n\
                    \x20   c.execute('UPDATE grants SET app = ? WHERE id = ?', (json.dumps(a), gid))\n\
                    c.commit()\n";
        let out = Command::new("python3").args(["-c", code]).arg(&db).output().unwrap();
        assert!(out.status.success(), "editing {}: {}", db.display(), stderr(&out));
    }
}
