//! The content cache with real processes and files: a known stamp is not read again, a
//! changed file is, the running file is what gets hashed, and where the process sees
//! another filesystem than ours.

use std::fs;
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use super::content::{ContentCache, ContentError, FileStamp, RACY};
use super::dpkg::PackageIndex;
use super::tests::*;
use super::*;

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A shell running `script` (bash, so it does not exec its last command away).
fn run_script(script: &Path) -> (Child, ProcessInfo) {
    let bash = which("bash");
    let child = spawn("bash", &[script.to_str().unwrap()], None);
    let info = identify_when(child.pid(), &bash, &no_desktop());
    (child, info)
}

fn script_stamp(info: &ProcessInfo) -> FileStamp {
    info.files.script.as_ref().expect("the script is a file").0.stamp
}

#[test]
fn a_known_stamp_is_not_hashed_again_and_a_rewritten_file_is() {
    let dir = TempDir::new("content");
    let script = dir.write("job.sh", "sleep 30\ntrue\n");
    let cache = ContentCache::new(PackageIndex::none());
    let (child, info) = run_script(&script);
    assert!(info.files.host_view && !info.identity.sandboxed, "{info:?}");
    let first = script_stamp(&info);
    let later = first.ctime.0 + RACY;
    assert_eq!(cache.lookup(&info.files), None, "nothing is known yet");

    let content = cache.read(&info.files, later).unwrap();
    assert_eq!(cache.hashed(), 2, "the interpreter and the script");
    assert_eq!(content.script.as_ref().unwrap().sha256, sha(b"sleep 30\ntrue\n"));
    assert_eq!(content.exe.as_ref().unwrap().sha256, sha(&fs::read(which("bash")).unwrap()));
    assert_eq!(content.script.as_ref().unwrap().package, None, "no package index");

    // Warm: the same stamps come from memory, whether identified again or not.
    assert_eq!(cache.lookup(&info.files), Some(content.clone()));
    let again = identify_with(child.pid(), Some(own_uid()), &no_desktop(), None).unwrap();
    assert_eq!(cache.lookup(&again.files), Some(content.clone()));
    cache.read(&again.files, later).unwrap();
    assert_eq!(cache.hashed(), 2, "nothing was read again");
    drop(child);

    // Rewritten at the same size with its old mtime put back: the ctime still differs.
    let mtime = fs::metadata(&script).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(&script, "sleep 31\ntrue\n").unwrap();
    fs::File::options().write(true).open(&script).unwrap().set_modified(mtime).unwrap();
    let (_child, info) = run_script(&script);
    let stamp = script_stamp(&info);
    assert_eq!(stamp.mtime, first.mtime, "the mtime was put back");
    assert_ne!(stamp, first);
    assert_eq!(cache.lookup(&info.files), None, "a new stamp is not known");
    let changed = cache.read(&info.files, stamp.ctime.0 + RACY).unwrap();
    assert_eq!(cache.hashed(), 3, "only the script was read again");
    assert_eq!(changed.script.unwrap().sha256, sha(b"sleep 31\ntrue\n"));
    assert_eq!(changed.exe, content.exe);
}

#[test]
fn a_file_changed_within_the_racy_window_is_not_cached_and_a_moved_one_is_refused() {
    let dir = TempDir::new("racy");
    let script = dir.write("job.sh", "sleep 30\ntrue\n");
    let cache = ContentCache::new(PackageIndex::none());
    let (_child, info) = run_script(&script);
    let ctime = script_stamp(&info).ctime.0;
    cache.read(&info.files, ctime).unwrap();
    cache.read(&info.files, ctime).unwrap();
    // The interpreter is cached; a script changed "now" is hashed each time.
    assert_eq!(cache.hashed(), 3, "the script was hashed twice");
    assert!(cache.lookup(&info.files).is_none());

    // Rewritten between identification and the read: not the file that was identified.
    fs::write(&script, "sleep 30\nfalse\n").unwrap();
    match cache.read(&info.files, ctime + 100) {
        Err(ContentError::Moved { .. }) => {}
        other => panic!("a rewritten script must not be hashed as the old one: {other:?}"),
    }
}

/// The bytes are those the process runs (`/proc/<pid>/exe`), not whatever is at its path
/// now; and a file no longer at its path is nobody's package.
#[test]
fn the_executable_is_read_through_proc_not_its_path() {
    let dir = TempDir::new("exe");
    let copy = dir.0.join("sleeper");
    fs::copy(which("sleep"), &copy).unwrap();
    let child = spawn(copy.to_str().unwrap(), &["30"], None);
    identify_when(child.pid(), &copy, &no_desktop());
    fs::remove_file(&copy).unwrap();
    fs::write(&copy, "#!/bin/sh\necho another program\n").unwrap();
    // The kernel still names the path (" (deleted)" stripped); the file is the old one.
    let info = identify_with(child.pid(), Some(own_uid()), &no_desktop(), None).unwrap();
    assert_eq!(info.identity.exe, copy);
    let cache = ContentCache::new(PackageIndex::system());
    let content = cache.read(&info.files, i64::MAX / 2).unwrap();
    let exe = content.exe.unwrap();
    assert_eq!(exe.sha256, sha(&fs::read(which("sleep")).unwrap()));
    assert_eq!(exe.package, None);
}

/// With dpkg (CI runs Debian): the shell is dash's, as root installed it.
#[test]
fn a_package_file_names_its_package() {
    if !Path::new("/usr/bin/dpkg-query").exists() {
        eprintln!("skipped: no dpkg");
        return;
    }
    let bash = which("bash");
    let child = spawn("bash", &["-c", "sleep 30; true"], None);
    let info = identify_when(child.pid(), &bash, &no_desktop());
    let cache = ContentCache::new(PackageIndex::system());
    let exe = cache.read(&info.files, i64::MAX / 2).unwrap().exe.unwrap();
    let package = exe.package.expect("bash is bash's");
    assert_eq!(package.name, "bash");
    assert!(!package.version.is_empty());
}

/// A process in its own mount namespace (same root) does not share our view: sandboxed,
/// and what the management gate refuses. Needs root and `unshare`; skipped otherwise.
#[test]
fn another_mount_namespace_is_not_our_view() {
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
    let sleep = which("sleep");
    let child =
        spawn("unshare", &["-m", "--propagation", "private", sleep.to_str().unwrap(), "30"], None);
    let info = identify_when(child.pid(), &sleep, &no_desktop());
    assert!(!info.files.host_view, "{info:?}");
    assert!(info.identity.sandboxed);
    let plain = spawn(sleep.to_str().unwrap(), &["30"], None);
    let info = identify_when(plain.pid(), &sleep, &no_desktop());
    assert!(info.files.host_view && !info.identity.sandboxed, "{info:?}");
}
