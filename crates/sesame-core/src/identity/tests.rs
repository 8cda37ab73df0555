//! Real processes, real `/proc`. Every spawned child is killed by its guard.

use std::fs;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::*;

/// Kills the child's whole process group and reaps the child on drop, so a failing test
/// leaves nothing behind (a shell's own `sleep` child included).
pub(super) struct Child {
    inner: std::process::Child,
    reaped: bool,
}

impl Child {
    pub(super) fn pid(&self) -> i32 {
        self.inner.id() as i32
    }

    fn wait(&mut self) {
        self.inner.wait().unwrap();
        self.reaped = true;
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // Only while unreaped: until then its pid (= its group id) cannot be reused.
        if !self.reaped {
            // SAFETY: plain syscall; the group is the one spawn() created for this child.
            unsafe { libc::kill(-self.pid(), libc::SIGKILL) };
        }
        let _ = self.inner.kill();
        let _ = self.inner.wait();
    }
}

pub(super) fn spawn(program: &str, args: &[&str], cwd: Option<&Path>) -> Child {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    Child { inner: cmd.spawn().unwrap_or_else(|e| panic!("spawn {program}: {e}")), reaped: false }
}

/// A temp directory, removed on drop; its path is canonical so it compares with /proc.
pub(super) struct TempDir(pub(super) PathBuf);

impl TempDir {
    pub(super) fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("sesame-identity-{}-{tag}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(fs::canonicalize(dir).unwrap())
    }

    pub(super) fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

pub(super) fn no_desktop() -> DesktopIndex {
    DesktopIndex::with_dirs(Vec::new())
}

pub(super) fn own_uid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

pub(super) fn which(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap();
    let found = std::env::split_paths(&path).map(|d| d.join(program)).find(|p| p.is_file());
    fs::canonicalize(found.unwrap_or_else(|| panic!("{program} not in PATH"))).unwrap()
}

/// The real python binary (`python3` may be a pyenv shim that execs it later).
pub(super) fn real_python() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import os, sys; print(os.path.realpath(sys.executable))"])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Identifies `pid` once its exe is `exe`: launchers and shims exec more than once, and
/// `spawn` returns when the new exe is in place but possibly before the kernel has set up
/// the new argv (for an instant `/proc/<pid>/cmdline` is empty), so wait for that too.
pub(super) fn identify_when(pid: i32, exe: &Path, desktop: &DesktopIndex) -> ProcessInfo {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = identify_with(pid, Some(own_uid()), desktop, None).unwrap();
        let has_argv = fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| !c.is_empty());
        if (info.identity.exe == exe && has_argv) || Instant::now() > deadline {
            assert_eq!(info.identity.exe, exe, "{info:?}");
            // Read once more now that argv is certainly there.
            return identify_with(pid, Some(own_uid()), desktop, None).unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn identifies_itself() {
    let me = std::process::id() as i32;
    let info = identify_with(me, Some(own_uid()), &no_desktop(), None).unwrap();
    let exe = fs::canonicalize("/proc/self/exe").unwrap();
    assert_eq!(info.identity.exe, exe);
    assert_eq!(info.identity.key, exe.to_str().unwrap());
    assert_eq!(info.identity.script, None);
    assert_eq!(info.identity.flatpak_app, None);
    assert_eq!(info.uid, own_uid());
    // SAFETY: getppid cannot fail.
    assert_eq!(info.ppid, unsafe { libc::getppid() });
    assert!(!info.identity.display_name.is_empty());
    // The convenience with the environment's desktop index agrees on the key.
    assert_eq!(identify(me, None).unwrap().identity.key, info.identity.key);
}

#[test]
fn native_program() {
    let sleep = which("sleep");
    let child = spawn("sleep", &["30"], None);
    let info = identify_when(child.pid(), &sleep, &no_desktop());
    assert_eq!(info.identity.key, sleep.to_str().unwrap());
    assert_eq!(info.identity.display_name, "sleep");
    assert_eq!(info.pid, child.pid());
}

#[test]
fn deleted_executable_keeps_its_path() {
    // What a package upgrade does to a running program.
    let dir = TempDir::new("deleted");
    let copy = dir.0.join("my-sleep");
    fs::copy(which("sleep"), &copy).unwrap();
    // Another test thread forking while our copy's write descriptor was open holds it
    // until that child execs: ETXTBSY for a moment. Retry rather than fail.
    let mut attempts = 0;
    let child = loop {
        let mut cmd = Command::new(&copy);
        cmd.arg("30").stdin(Stdio::null()).process_group(0);
        match cmd.spawn() {
            Ok(inner) => break Child { inner, reaped: false },
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && attempts < 100 => attempts += 1,
            Err(e) => panic!("spawn {}: {e}", copy.display()),
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    fs::remove_file(&copy).unwrap();
    let info = identify_with(child.pid(), None, &no_desktop(), None).unwrap();
    assert_eq!(info.identity.exe, copy);
    assert_eq!(info.identity.key, copy.to_str().unwrap());
}

#[test]
fn python_scripts_are_told_apart() {
    let python = real_python();
    let dir = TempDir::new("py");
    let a = dir.write("a.py", "import time; time.sleep(30)\n");
    let b = dir.write("b.py", "import time; time.sleep(30)\n");
    let child_a = spawn("python3", &["a.py"], Some(&dir.0)); // relative to the child's cwd
    let child_b = spawn("python3", &["-u", "b.py"], Some(&dir.0));
    let info_a = identify_when(child_a.pid(), &python, &no_desktop());
    let info_b = identify_when(child_b.pid(), &python, &no_desktop());
    assert_eq!(info_a.identity.key, format!("{} {}", python.display(), a.display()));
    assert_eq!(info_b.identity.key, format!("{} {}", python.display(), b.display()));
    assert_ne!(info_a.identity.key, info_b.identity.key);
    assert_eq!(info_a.identity.script.as_deref(), Some(a.as_path()));
    assert_eq!(info_a.identity.display_name, "a.py");
}

#[test]
fn python_inline_and_module() {
    let python = real_python();
    let inline = spawn("python3", &["-c", "import time; time.sleep(30)"], None);
    let info = identify_when(inline.pid(), &python, &no_desktop());
    assert_eq!(info.identity.key, format!("{} -c", python.display()));
    assert_eq!(info.identity.script, None);

    let dir = TempDir::new("mod");
    dir.write("sleeper.py", "import time; time.sleep(30)\n");
    let module = spawn("python3", &["-m", "sleeper"], Some(&dir.0));
    let info = identify_when(module.pid(), &python, &no_desktop());
    assert_eq!(info.identity.key, format!("{} -m sleeper", python.display()));
    assert_eq!(info.identity.display_name, "sleeper");
}

#[test]
fn shell_script_and_inline() {
    let bash = which("bash");
    let sh = which("sh");
    let dir = TempDir::new("sh");
    // Two commands, so the shell cannot exec sleep in its own place.
    let script = dir.write("job.sh", "sleep 30\ntrue\n");
    let child = spawn("bash", &["job.sh"], Some(&dir.0));
    let info = identify_when(child.pid(), &bash, &no_desktop());
    assert_eq!(info.identity.key, format!("{} {}", bash.display(), script.display()));

    let inline = spawn("sh", &["-c", "sleep 30; true"], None);
    let info = identify_when(inline.pid(), &sh, &no_desktop());
    assert_eq!(info.identity.key, format!("{} -c", sh.display()));
}

#[test]
fn inline_code_is_named_in_the_interpreters_own_words() {
    let perl = which("perl");
    for flag in ["-e", "-E"] {
        let child = spawn("perl", &[flag, "sleep 30"], None);
        let info = identify_when(child.pid(), &perl, &no_desktop());
        assert_eq!(info.identity.key, format!("{} -e", perl.display()), "perl {flag}");
        assert_eq!(info.identity.runs, Runs::Inline { flag: "-e".into() });
        assert_eq!(
            chain::label(&info),
            format!("{} -e", perl.file_name().unwrap().to_str().unwrap())
        );
    }
}

/// The children of `pid` (`/proc/<pid>/task/<pid>/children`), once it has some.
fn children_of(pid: i32) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text =
            fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        let kids: Vec<i32> = text.split_whitespace().filter_map(|p| p.parse().ok()).collect();
        if !kids.is_empty() || Instant::now() > deadline {
            return kids;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_walk_passes_real_launchers_to_the_program_behind_them() {
    let sh = which("sh");
    let sh_name = sh.file_name().unwrap().to_str().unwrap().to_owned();
    // us → timeout → sh -c → sleep: `sleep` stands in for the CLI.
    let timeout = spawn("timeout", &["60", "sh", "-c", "sleep 60; true"], None);
    let shell = *children_of(timeout.pid()).first().expect("timeout's child");
    let sleep = *children_of(shell).first().expect("the shell's child");
    let cli = identify_when(sleep, &which("sleep"), &no_desktop());
    let parent = identify_parent(&cli, Some(own_uid()), &no_desktop()).unwrap();
    assert_eq!(parent.identity.runs, Runs::Inline { flag: "-c".into() });
    let tree = chain::LiveTree { uid: own_uid(), desktop: &no_desktop() };
    let who = chain::walk(parent, &tree);
    assert_eq!(who.process.pid, std::process::id() as i32, "attributed to this test: {who:?}");
    assert_eq!(who.chain[1..], ["timeout".to_owned(), format!("{sh_name} -c")]);
    assert_eq!(who.generic, None, "{who:?}");

    // A shell reading its script from a pipe is a launcher too; on a terminal it would not be.
    let mut cmd = Command::new("sh");
    cmd.stdin(Stdio::piped()).stdout(Stdio::null()).process_group(0);
    let mut piped = Child { inner: cmd.spawn().unwrap(), reaped: false };
    use std::io::Write;
    let mut stdin = piped.inner.stdin.take().unwrap();
    stdin.write_all(b"sleep 60; true\n").unwrap();
    let reader = identify_when(piped.pid(), &sh, &no_desktop());
    assert_eq!(reader.identity.runs, Runs::Unpinned { terminal: false });
    assert_eq!(reader.identity.key, sh.to_str().unwrap());
    let who = chain::walk(reader, &tree);
    assert_eq!(who.process.pid, std::process::id() as i32);
    assert_eq!(who.chain[1..], [format!("{sh_name} (stdin)")]);
    drop(stdin); // `piped`'s guard kills the shell and its sleep
}

#[test]
fn parent_of_a_child_is_us() {
    let child = spawn("sleep", &["30"], None);
    let me = std::process::id() as i32;
    assert_eq!(parent_pid(child.pid()).unwrap(), me);
    let info = identify_when(child.pid(), &which("sleep"), &no_desktop());
    let parent = identify_parent(&info, Some(own_uid()), &no_desktop()).unwrap();
    assert_eq!(parent.pid, me);
}

#[test]
fn missing_and_exited_processes_are_gone() {
    // pid_max is at most 2^22, so i32::MAX never names a process.
    assert!(matches!(
        identify_with(i32::MAX, None, &no_desktop(), None),
        Err(IdentityError::Gone { .. })
    ));
    assert!(matches!(identify_with(0, None, &no_desktop(), None), Err(IdentityError::Gone { .. })));
    assert!(matches!(parent_pid(-5), Err(IdentityError::Gone { .. })));

    let mut exited = spawn("true", &[], None);
    let pid = exited.pid();
    exited.wait();
    assert!(matches!(
        identify_with(pid, None, &no_desktop(), None),
        Err(IdentityError::Gone { .. })
    ));

    // A zombie (killed, not yet reaped) has no exe any more.
    let mut zombie = spawn("sleep", &["30"], None);
    zombie.inner.kill().unwrap();
    let pid = zombie.pid();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !fs::read_to_string(format!("/proc/{pid}/stat")).unwrap().contains(") Z ") {
        assert!(Instant::now() < deadline, "no zombie");
        std::thread::sleep(Duration::from_millis(10));
    }
    let err = identify_with(pid, None, &no_desktop(), None).unwrap_err();
    assert!(matches!(err, IdentityError::Gone { .. }), "{err:?}");
}

#[test]
fn uid_mismatch() {
    let child = spawn("sleep", &["30"], None);
    let wrong = own_uid() + 12345;
    let err = identify_with(child.pid(), Some(wrong), &no_desktop(), None).unwrap_err();
    assert!(
        matches!(err, IdentityError::UidMismatch { actual, .. } if actual == own_uid()),
        "{err:?}"
    );
    // pid 1: UidMismatch where /proc/1/status is readable; Gone under `hidepid=2`,
    // Unreadable under `hidepid=1`. Never a success.
    let err = identify(1, Some(wrong)).unwrap_err();
    assert!(
        matches!(
            err,
            IdentityError::UidMismatch { .. }
                | IdentityError::Gone { .. }
                | IdentityError::Unreadable { .. }
        ),
        "{err:?}"
    );
    if fs::read_to_string("/proc/1/status").is_ok() {
        assert!(matches!(err, IdentityError::UidMismatch { .. }), "{err:?}");
    }
}

#[test]
fn pidfd_guard() {
    let child = spawn("sleep", &["30"], None);
    let other = spawn("sleep", &["30"], None);
    let Some(fd) = pidfd_open(child.pid()) else { return }; // kernel < 5.3: nothing to test
    let info = identify_with(child.pid(), None, &no_desktop(), Some(fd.as_fd())).unwrap();
    assert_eq!(info.pid, child.pid());
    // A pidfd for a different process is refused, not trusted.
    let wrong = identify_with(other.pid(), None, &no_desktop(), Some(fd.as_fd()));
    assert!(wrong.is_err());
}

#[test]
fn desktop_entries_name_programs_and_scripts() {
    let sleep = which("sleep");
    let bash = which("bash");
    let data = TempDir::new("xdg");
    let apps = data.0.join("applications");
    fs::create_dir(&apps).unwrap();
    let index = DesktopIndex::with_dirs(vec![apps.clone()]);

    let child = spawn("sleep", &["30"], None);
    let before = identify_when(child.pid(), &sleep, &index);
    assert_eq!(before.identity.display_name, "sleep");
    assert_eq!(before.identity.desktop_file, None);

    // Added after the first scan: the directory's new mtime triggers a rescan.
    let foo = apps.join("foo.desktop");
    let text = format!(
        "[Desktop Entry]\nType=Application\nName=Foo Sleeper\nName[de]=Foo Schläfer\nIcon=foo-icon\nExec=env LANG=C {} 30 %U\n",
        sleep.display()
    );
    fs::write(&foo, text).unwrap();
    let after = identify_when(child.pid(), &sleep, &index);
    assert_eq!(after.identity.display_name, "Foo Sleeper");
    assert_eq!(after.identity.icon.as_deref(), Some("foo-icon"));
    assert_eq!(after.identity.desktop_file.as_deref(), Some(foo.as_path()));
    assert_eq!(after.identity.key, before.identity.key, "desktop entries never change the key");

    // An interpreter script with a space in its path, matched by script, not by bash.
    let work = TempDir::new("work dir");
    let script = work.write("my job.sh", "sleep 30\ntrue\n");
    fs::write(
        apps.join("job.desktop"),
        format!(
            "[Desktop Entry]\nType=Application\nName=My Job\nExec=bash \"{}\"\n",
            script.display()
        ),
    )
    .unwrap();
    let job = spawn("bash", &["my job.sh"], Some(&work.0));
    let info = identify_when(job.pid(), &bash, &index);
    assert_eq!(info.identity.script.as_deref(), Some(script.as_path()));
    assert_eq!(info.identity.display_name, "My Job");
    assert_eq!(info.identity.icon, None);
}

/// A chroot (and a fake Flatpak sandbox: a root with `.flatpak-info`) built from a
/// read-only bind mount of /usr in a private mount namespace. Needs root and `unshare`;
/// skipped otherwise.
#[test]
fn other_roots_chroot_and_flatpak() {
    let usable = own_uid() == 0
        && Command::new("unshare")
            .args(["-m", "true"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !usable {
        eprintln!("skipped: needs root and unshare -m");
        return;
    }
    let python = fs::canonicalize("/usr/bin/python3").unwrap();
    for flatpak in [false, true] {
        let root = TempDir::new("root");
        for dir in ["usr", "tmp", "home/u"] {
            fs::create_dir_all(root.0.join(dir)).unwrap();
        }
        for link in ["bin", "lib", "lib64", "sbin"] {
            std::os::unix::fs::symlink(format!("usr/{link}"), root.0.join(link)).unwrap();
        }
        let inner = root.write("tmp/s.py", "import time; time.sleep(30)\n");
        // An absolute symlink: inside the root it means <root>/tmp/s.py, not the host's /tmp/s.py.
        std::os::unix::fs::symlink("/tmp/s.py", root.0.join("home/u/link.py")).unwrap();
        if flatpak {
            root.write(
                ".flatpak-info",
                "[Application]\nname=org.example.Fake\n\n[Instance]\ninstance-id=1\n",
            );
        }
        let r = root.0.display();
        let script = format!(
            "mount --bind /usr {r}/usr && mount -o remount,bind,ro {r}/usr && \
             exec chroot {r} /bin/sh -c 'cd /home/u && exec /usr/bin/python3 link.py'"
        );
        let child =
            spawn("unshare", &["-m", "--propagation", "private", "sh", "-c", &script], None);
        let exe = root.0.join(python.strip_prefix("/").unwrap());
        let info = identify_when(child.pid(), &exe, &no_desktop());
        drop(child);
        assert_eq!(info.identity.script.as_deref(), Some(inner.as_path()));
        // Another root is a sandbox, and its paths are not ours (no package, no management).
        assert!(info.identity.sandboxed && !info.files.host_view, "{info:?}");
        if flatpak {
            assert_eq!(
                info.files.flatpak.as_ref().map(|f| f.app.as_str()),
                Some("org.example.Fake")
            );
            assert_eq!(info.identity.key, "flatpak:org.example.Fake");
            assert_eq!(info.identity.display_name, "org.example.Fake");
            assert!(info.identity.sandboxed);
        } else {
            assert_eq!(info.identity.key, format!("{} {}", exe.display(), inner.display()));
            assert_eq!(info.identity.flatpak_app, None);
        }
        // The mount lived only in the child's namespace; never recurse into a live /usr.
        if fs::read_dir(root.0.join("usr")).unwrap().next().is_some() {
            std::mem::forget(root);
            panic!("bind mount visible outside its namespace; leaving the temp dir alone");
        }
    }
}
