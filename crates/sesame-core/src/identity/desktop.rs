//! `.desktop` entries: a friendly name and icon for an identified program.
//!
//! These files are user-writable (`~/.local/share/applications`), so whatever they say is a
//! display hint only: a consent prompt must show the identity key as well, or any program
//! could dress itself up as another one with a desktop file.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use super::interpreter::{Interpreter, Invocation};
use super::AppIdentity;

/// A matching desktop entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesktopMatch {
    pub name: String,
    pub icon: Option<String>,
    pub path: PathBuf,
}

/// An index of the desktop entries in a list of `applications` directories, rebuilt when
/// one of those directories (or a subdirectory) changes. Cheap to query: a lookup costs one
/// `stat` per directory plus a hash lookup. Shareable between threads.
pub struct DesktopIndex {
    dirs: Vec<PathBuf>,
    scan: Mutex<Option<Scan>>,
}

struct Entry {
    path: PathBuf,
    name: String,
    icon: Option<String>,
}

struct Scan {
    /// Every directory looked at, with its mtime then (`None`: it did not exist). A
    /// directory's mtime changes when a file in it is added, removed or renamed over —
    /// which is how package managers and editors write. An in-place edit is not seen
    /// until something else changes.
    stamps: Vec<(PathBuf, Option<SystemTime>)>,
    entries: Vec<Entry>,
    /// Canonical program (or script) path → first entry that launches it.
    by_target: HashMap<PathBuf, usize>,
    /// Desktop file id (`org.gnome.Evolution.desktop`) → entry.
    by_id: HashMap<String, usize>,
}

impl DesktopIndex {
    /// The directories of the XDG base directory spec, in priority order, plus the Flatpak
    /// export directories (which a broker started by systemd may not have in
    /// `$XDG_DATA_DIRS`).
    pub fn from_env() -> DesktopIndex {
        let home = std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
        let absolute = |p: PathBuf| p.is_absolute().then_some(p);
        let data_home = std::env::var_os("XDG_DATA_HOME")
            .and_then(|d| absolute(PathBuf::from(d)))
            .or_else(|| home.as_ref().map(|h| h.join(".local/share")));
        let data_dirs = std::env::var("XDG_DATA_DIRS")
            .ok()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "/usr/local/share:/usr/share".to_string());
        let mut dirs: Vec<PathBuf> = data_home.into_iter().collect();
        dirs.extend(data_dirs.split(':').filter_map(|d| absolute(PathBuf::from(d))));
        let mut dirs: Vec<PathBuf> = dirs.into_iter().map(|d| d.join("applications")).collect();
        let flatpak = [
            home.map(|h| h.join(".local/share/flatpak/exports/share/applications")),
            Some(PathBuf::from("/var/lib/flatpak/exports/share/applications")),
        ];
        for dir in flatpak.into_iter().flatten() {
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        DesktopIndex::with_dirs(dirs)
    }

    /// An index over exactly these `applications` directories, highest priority first.
    pub fn with_dirs(dirs: Vec<PathBuf>) -> DesktopIndex {
        DesktopIndex { dirs, scan: Mutex::new(None) }
    }

    /// Rescans if never scanned or if any directory's mtime changed.
    pub fn refresh_if_changed(&self) {
        let mut scan = self.scan.lock().unwrap_or_else(|e| e.into_inner());
        let fresh =
            scan.as_ref().is_some_and(|s| s.stamps.iter().all(|(dir, stamp)| mtime(dir) == *stamp));
        if !fresh {
            *scan = Some(build(&self.dirs));
        }
    }

    /// The entry for a program: by app id for Flatpak apps, else by the script for
    /// interpreter scripts, else by the executable. Inline code and `-m` modules have
    /// nothing on disk to match.
    pub fn lookup(&self, app: &AppIdentity) -> Option<DesktopMatch> {
        self.refresh_if_changed();
        let scan = self.scan.lock().unwrap_or_else(|e| e.into_inner());
        let scan = scan.as_ref()?;
        let index = if let Some(id) = &app.flatpak_app {
            scan.by_id.get(&format!("{id}.desktop"))
        } else if let Some(script) = &app.script {
            scan.by_target.get(script)
        } else if app.key == app.exe.to_string_lossy() {
            scan.by_target.get(&app.exe)
        } else {
            None
        }?;
        let entry = &scan.entries[*index];
        Some(DesktopMatch {
            name: entry.name.clone(),
            icon: entry.icon.clone(),
            path: entry.path.clone(),
        })
    }
}

fn mtime(dir: &Path) -> Option<SystemTime> {
    fs::metadata(dir).and_then(|m| m.modified()).ok()
}

fn build(dirs: &[PathBuf]) -> Scan {
    let mut scan = Scan {
        stamps: Vec::new(),
        entries: Vec::new(),
        by_target: HashMap::new(),
        by_id: HashMap::new(),
    };
    let mut seen_ids = std::collections::HashSet::new();
    let path_var =
        std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/local/bin:/usr/bin:/bin"));
    for dir in dirs {
        let mut files = Vec::new();
        walk(dir, "", 0, &mut scan.stamps, &mut files);
        files.sort();
        for (id, path) in files {
            // The first directory holding an id wins; later ones are shadowed, even when
            // the winner is Hidden (that is how a user deletes a system entry).
            if !seen_ids.insert(id.clone()) {
                continue;
            }
            let Some(parsed) = parse_entry(&path) else { continue };
            if parsed.hidden || parsed.name.is_empty() {
                continue;
            }
            if let Some(try_exec) = &parsed.try_exec {
                if resolve_program(try_exec, &path_var).is_none() {
                    continue; // not installed
                }
            }
            let target = if parsed.via_launcher {
                None
            } else {
                parsed.exec.as_deref().and_then(|e| exec_target(e, &path_var))
            };
            let index = scan.entries.len();
            scan.entries.push(Entry { path, name: parsed.name, icon: parsed.icon });
            scan.by_id.insert(id, index);
            if let Some(target) = target {
                scan.by_target.entry(target).or_insert(index);
            }
        }
    }
    scan
}

/// Collects `(desktop file id, path)`; ids of files in subdirectories use `-` for `/`.
fn walk(
    dir: &Path,
    prefix: &str,
    depth: usize,
    stamps: &mut Vec<(PathBuf, Option<SystemTime>)>,
    out: &mut Vec<(String, PathBuf)>,
) {
    stamps.push((dir.to_path_buf(), mtime(dir)));
    // A bound instead of loop detection: real trees are one or two levels deep.
    if depth > 3 {
        return;
    }
    let Ok(read) = fs::read_dir(dir) else { return };
    for item in read.flatten() {
        let path = item.path();
        let Some(name) = item.file_name().to_str().map(str::to_string) else { continue };
        let Ok(meta) = fs::metadata(&path) else { continue };
        if meta.is_dir() {
            walk(&path, &format!("{prefix}{name}-"), depth + 1, stamps, out);
        } else if meta.is_file() && name.ends_with(".desktop") && meta.len() <= 1 << 20 {
            out.push((format!("{prefix}{name}"), path));
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct ParsedEntry {
    pub name: String,
    pub icon: Option<String>,
    pub exec: Option<String>,
    pub try_exec: Option<String>,
    pub hidden: bool,
    /// Exported by Flatpak or Snap: its Exec runs a launcher, so it must not match by program.
    pub via_launcher: bool,
}

fn parse_entry(path: &Path) -> Option<ParsedEntry> {
    parse_entry_text(&fs::read_to_string(path).ok()?)
}

/// The `[Desktop Entry]` group; localized keys (`Name[de]`) are ignored.
pub(crate) fn parse_entry_text(text: &str) -> Option<ParsedEntry> {
    let mut entry = ParsedEntry::default();
    let mut in_main = false;
    let mut application = true;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_main = line == "[Desktop Entry]";
            continue;
        }
        if !in_main || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let value = unescape(value.trim());
        match key.trim() {
            "Name" => entry.name = value,
            "Icon" if !value.is_empty() => entry.icon = Some(value),
            "Exec" => entry.exec = Some(value),
            "TryExec" => entry.try_exec = Some(value),
            "Hidden" => entry.hidden = value == "true",
            "Type" => application = value == "Application",
            "X-Flatpak" | "X-SnapInstanceName" => entry.via_launcher = true,
            _ => {}
        }
    }
    application.then_some(entry)
}

/// The escapes of the spec's `string` type.
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('s') => out.push(' '),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => {
                // Exec's own quoting escapes (\" \` \$ \\) are kept for split_exec.
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Splits an Exec value into words: double quotes group, backslash escapes the next
/// character. Single quotes are not in the spec but appear in the wild; they group too.
pub(crate) fn split_exec(exec: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = exec.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => word.extend(chars.next()),
            (None, '\\') => {
                word.extend(chars.next());
                in_word = true;
            }
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, ' ' | '\t') => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// What an Exec line runs, as a canonical path: the program, or for an interpreter the
/// script it is given. `None` for launchers and inline code.
pub(crate) fn exec_target(exec: &str, path_var: &OsStr) -> Option<PathBuf> {
    let words: Vec<String> = split_exec(exec)
        .into_iter()
        .filter(|w| !(w.len() == 2 && w.starts_with('%'))) // field codes: %f %U %i …
        .collect();
    let mut rest = words.as_slice();
    // `VAR=x prog` (not in the spec, but common) and `env [-i] [-u NAME] VAR=x prog`.
    loop {
        match rest.first().map(String::as_str) {
            Some(w) if !w.starts_with('/') && w.contains('=') => rest = &rest[1..],
            Some(w) if Path::new(w).file_name() == Some(OsStr::new("env")) => rest = &rest[1..],
            Some("-i" | "--ignore-environment" | "-0" | "--null") => rest = &rest[1..],
            Some("-u" | "--unset" | "-C" | "--chdir") => rest = rest.get(2..)?,
            _ => break,
        }
    }
    let (program, args) = rest.split_first()?;
    let program = resolve_program(program, path_var)?;
    let name = program.file_name()?.to_str()?;
    if matches!(name, "flatpak" | "snap" | "env" | "gtk-launch" | "xdg-open") {
        return None;
    }
    let Some(interpreter) = Interpreter::of(&program) else { return Some(program) };
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    match interpreter.parse(&args) {
        // No cwd to resolve against: only absolute scripts can be matched.
        Invocation::Script { path, chdir: None } if Path::new(&path).is_absolute() => {
            fs::canonicalize(path).ok()
        }
        Invocation::Interactive => Some(program),
        _ => None,
    }
}

/// An absolute path, or a name looked up in PATH (the broker's), canonicalized.
fn resolve_program(program: &str, path_var: &OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let found = if program.contains('/') {
        let p = PathBuf::from(program);
        (p.is_absolute() && executable(&p)).then_some(p)?
    } else {
        std::env::split_paths(path_var).map(|dir| dir.join(program)).find(|p| executable(p))?
    };
    fs::canonicalize(found).ok()
}
