//! Which Debian package installed a file, from dpkg's database (`dpkg-query`).
//!
//! Asked only when a file is hashed (a stamp the content cache has not seen), so at most
//! once per file version and broker run: two short `dpkg-query` runs (~0.2 s), on a
//! blocking thread. A system without dpkg has no packages.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sesame_ipc::consent::Package;

/// How long one `dpkg-query` may take before we give up on the package (not the request).
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The package database, or none.
pub struct PackageIndex {
    /// The `dpkg-query` to run; `None`: no packages (not Debian, or unit tests).
    query: Option<PathBuf>,
}

impl PackageIndex {
    /// dpkg's database when this system has one.
    pub fn system() -> PackageIndex {
        let query = ["/usr/bin/dpkg-query", "/bin/dpkg-query"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file());
        PackageIndex { query }
    }

    /// No package owns anything.
    #[cfg(test)]
    pub fn none() -> PackageIndex {
        PackageIndex { query: None }
    }

    /// The installed package that lists `path` (or, on a merged-/usr system, its `/bin`,
    /// `/sbin` or `/lib*` alias), with its version. `None` when no package, or more than
    /// one, or a diversion, claims it, and whenever dpkg cannot say.
    pub fn owner(&self, path: &Path) -> Option<Package> {
        let query = self.query.as_ref()?;
        let names = candidates(path);
        // dpkg-query treats `*?[\` as a pattern; such a path is nobody's as far as we know.
        if names.iter().any(|n| n.contains(['*', '?', '[', '\\'])) {
            return None;
        }
        // It exits 1 when one of the names is nobody's, which is the usual case for the alias.
        let out = run(Command::new(query).arg("--search").arg("--").args(&names), &[0, 1])?;
        let name = owner_in(&out, &names)?;
        let out = run(
            Command::new(query).args([
                "--show",
                "--showformat=${Version}\\t${db:Status-Status}\\n",
                "--",
                name.as_str(),
            ]),
            &[0],
        )?;
        let (version, status) = out.lines().next()?.split_once('\t')?;
        // Files are on disk in every state but these two.
        if version.is_empty() || matches!(status, "not-installed" | "config-files") {
            return None;
        }
        Some(Package { name, version: version.to_owned() })
    }
}

/// The path and its alias across the /usr merge, as text (dpkg's names are text).
fn candidates(path: &Path) -> Vec<String> {
    let Some(text) = path.to_str() else { return vec![] };
    let mut names = vec![text.to_owned()];
    for dir in ["bin", "sbin", "lib", "lib32", "lib64", "libx32"] {
        if let Some(rest) = text.strip_prefix(&format!("/usr/{dir}/")) {
            names.push(format!("/{dir}/{rest}"));
        }
    }
    names
}

/// The one package `dpkg-query --search` names for one of `names`. Its lines are
/// `pkg[, pkg…]: /path`, or `diversion by pkg from|to: /path`.
pub(crate) fn owner_in(output: &str, names: &[String]) -> Option<String> {
    let mut owner: Option<String> = None;
    for line in output.lines() {
        let Some((who, path)) = line.split_once(": ") else { continue };
        if !names.iter().any(|n| n == path) {
            continue;
        }
        if who.starts_with("diversion by ") {
            return None;
        }
        let mut packages = who.split(", ");
        let (Some(one), None) = (packages.next(), packages.next()) else { return None };
        match &owner {
            Some(o) if o != one => return None,
            _ => owner = Some(one.to_owned()),
        }
    }
    owner
}

/// The command's stdout when it exits with one of `codes` within [`QUERY_TIMEOUT`].
fn run(cmd: &mut Command, codes: &[i32]) -> Option<String> {
    let mut child = cmd
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).ok().map(|_| text)
    });
    let deadline = Instant::now() + QUERY_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    };
    let text = reader.join().ok()??;
    status.code().is_some_and(|c| codes.contains(&c)).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_output_names_one_owner_or_none() {
        let names = candidates(Path::new("/usr/bin/dash"));
        assert_eq!(names, ["/usr/bin/dash", "/bin/dash"]);
        assert_eq!(owner_in("dash: /bin/dash\n", &names).as_deref(), Some("dash"));
        assert_eq!(owner_in("libc-bin: /usr/bin/dash\n", &names).as_deref(), Some("libc-bin"));
        assert_eq!(owner_in("a, b: /bin/dash\n", &names), None, "shared by two");
        assert_eq!(owner_in("a: /bin/dash\nb: /usr/bin/dash\n", &names), None, "two owners");
        assert_eq!(
            owner_in("diversion by x from: /bin/dash\nx: /bin/dash\n", &names),
            None,
            "diverted"
        );
        assert_eq!(owner_in("dash: /bin/dash.real\n", &names), None, "another path");
        assert_eq!(candidates(Path::new("/opt/x")), ["/opt/x"]);
    }

    /// On a Debian system (CI), the real database: dash owns the shell.
    #[test]
    fn dpkg_names_the_package_of_a_system_file() {
        let index = PackageIndex::system();
        if index.query.is_none() {
            eprintln!("skipped: no dpkg-query");
            return;
        }
        let dash = std::fs::canonicalize("/bin/sh").unwrap_or_default();
        if dash.file_name().is_some_and(|n| n == "dash") {
            let p = index.owner(&dash).expect("dash owns /usr/bin/dash");
            assert_eq!(p.name, "dash");
            assert!(!p.version.is_empty());
        }
        assert_eq!(index.owner(Path::new("/tmp/no-such-file-of-any-package")), None);
        assert_eq!(index.owner(Path::new("/usr/bin/*")), None, "no patterns");
    }
}
