//! A program's `.desktop` `Icon=` value turned into a picture the consent window can show:
//! looked up in the standard icon directories (hicolor theme, pixmaps), read, and encoded
//! as a `data:` URL, so the window needs no file access and its CSP allows only `data:`.
//!
//! The name comes from a `.desktop` file the asking program may have written itself, so it
//! is treated as untrusted: a bare name never walks out of the icon directories (no `/`,
//! no `..`), an absolute path must end in `.png` or `.svg`, and files are size-capped.

use std::path::{Path, PathBuf};

use base64::Engine;

/// Icons larger than this are not shown (a real app icon is a few KiB).
pub const MAX_ICON_BYTES: u64 = 256 * 1024;

/// Sizes tried, best first: what a 64 px consent header looks good with.
const SIZES: &[&str] = &["64x64", "128x128", "48x48", "256x256", "scalable", "96x96", "32x32"];

/// `data:image/png;base64,…` (or `image/svg+xml`) for the icon `name`, if one is found.
pub fn data_url(name: &str) -> Option<String> {
    let path = resolve(name, &search_roots())?;
    let bytes = std::fs::read(&path).ok()?;
    let mime = mime_of(&path)?;
    Some(format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes)))
}

/// The icon file for `name` under `roots` (each an `…/share` directory, or a pixmaps dir).
pub fn resolve(name: &str, roots: &[PathBuf]) -> Option<PathBuf> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    if Path::new(name).is_absolute() {
        let path = PathBuf::from(name);
        return usable(&path).then_some(path);
    }
    if name.contains('/') || name.contains("..") {
        return None;
    }
    // `Icon=foo.png` is allowed by the spec for pixmaps; strip it for theme lookups.
    let stem = name.strip_suffix(".png").or_else(|| name.strip_suffix(".svg")).unwrap_or(name);
    let mut candidates = vec![];
    for root in roots {
        for size in SIZES {
            let dir = root.join("icons/hicolor").join(size).join("apps");
            candidates.push(dir.join(format!("{stem}.png")));
            candidates.push(dir.join(format!("{stem}.svg")));
        }
        candidates.push(root.join("pixmaps").join(format!("{stem}.png")));
        candidates.push(root.join("pixmaps").join(format!("{stem}.svg")));
    }
    candidates.into_iter().find(|p| usable(p))
}

/// `$XDG_DATA_HOME` (else `~/.local/share`), then `$XDG_DATA_DIRS` (else the spec's default).
fn search_roots() -> Vec<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    let mut roots = vec![];
    match var("XDG_DATA_HOME") {
        Some(home) => roots.push(PathBuf::from(home)),
        None => roots.extend(var("HOME").map(|h| PathBuf::from(h).join(".local/share"))),
    }
    let dirs = var("XDG_DATA_DIRS").unwrap_or_else(|| "/usr/local/share:/usr/share".into());
    roots.extend(std::env::split_paths(&dirs).filter(|p| p.is_absolute()));
    if !roots.iter().any(|r| r == Path::new("/usr/share")) {
        roots.push("/usr/share".into());
    }
    roots
}

fn usable(path: &Path) -> bool {
    mime_of(path).is_some()
        && std::fs::metadata(path)
            .is_ok_and(|m| m.is_file() && m.len() > 0 && m.len() <= MAX_ICON_BYTES)
}

fn mime_of(path: &Path) -> Option<&'static str> {
    match path.extension()?.to_str()? {
        "png" => Some("image/png"),
        "svg" => Some("image/svg+xml"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_theme_icons_and_pixmaps_and_refuses_escapes() {
        let dir = std::env::temp_dir().join(format!("sesame-icon-test-{}", std::process::id()));
        let apps = dir.join("icons/hicolor/128x128/apps");
        std::fs::create_dir_all(&apps).unwrap();
        std::fs::create_dir_all(dir.join("pixmaps")).unwrap();
        std::fs::write(apps.join("editor.png"), b"\x89PNG").unwrap();
        std::fs::write(dir.join("pixmaps/old.svg"), b"<svg/>").unwrap();
        std::fs::write(dir.join("pixmaps/huge.png"), vec![0u8; MAX_ICON_BYTES as usize + 1])
            .unwrap();
        let roots = vec![dir.clone()];
        assert_eq!(resolve("editor", &roots), Some(apps.join("editor.png")));
        assert_eq!(resolve("editor.png", &roots), Some(apps.join("editor.png")));
        assert_eq!(resolve("old", &roots), Some(dir.join("pixmaps/old.svg")));
        assert_eq!(resolve("huge", &roots), None, "size-capped");
        assert_eq!(resolve("../pixmaps/old", &roots), None);
        assert_eq!(resolve("missing", &roots), None);
        let abs = apps.join("editor.png");
        assert_eq!(resolve(abs.to_str().unwrap(), &roots), Some(abs));
        assert_eq!(resolve("/etc/passwd", &roots), None, "absolute paths must be pictures");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
