//! The core's top-level modules form layers: no two of them import each other, directly or
//! through others. A circle means two files that cannot be read (or changed) apart; this test
//! names it. Test code (everything from a file's `#[cfg(test)]` on, and `*tests.rs` files)
//! may reach anywhere and is left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to: `broker` for `src/broker/token.rs`, `cache` for
/// `src/cache.rs`; `None` for `lib.rs` (the crate root re-exports everything).
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib").then(|| name.to_owned())
}

/// `crate::NAME` paths in the non-test part of `text`.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if !name.is_empty() {
            found.insert(name);
        }
        // `use crate::{a, b::c}`
        if let Some(group) = rest.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or("");
            for part in group.split(',') {
                let name: String =
                    part.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        }
    }
    found
}

#[test]
fn no_two_modules_import_each_other() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    rust_files(&src, &mut files);
    let mut modules = BTreeSet::new();
    for f in &files {
        modules.extend(top_module(&src, f));
    }
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let Some(module) = top_module(&src, f) else { continue };
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with("tests.rs") || module == "test_http" {
            continue;
        }
        let text = std::fs::read_to_string(f).expect("read a source file");
        for used in crate_paths(&text) {
            if used != module && modules.contains(&used) {
                edges.entry(module.clone()).or_default().insert(used);
            }
        }
    }
    assert!(edges.len() > 5, "the scan found the modules' imports: {edges:?}");
    // Depth-first search for a path back to where it started.
    fn reaches(
        edges: &BTreeMap<String, BTreeSet<String>>,
        from: &str,
        target: &str,
        seen: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> bool {
        for next in edges.get(from).into_iter().flatten() {
            path.push(next.clone());
            if next == target {
                return true;
            }
            if seen.insert(next.clone()) && reaches(edges, next, target, seen, path) {
                return true;
            }
            path.pop();
        }
        false
    }
    for module in edges.keys() {
        let mut path = vec![module.clone()];
        if reaches(&edges, module, module, &mut BTreeSet::new(), &mut path) {
            panic!("an import circle among the core's modules: {}", path.join(" → "));
        }
    }
}
