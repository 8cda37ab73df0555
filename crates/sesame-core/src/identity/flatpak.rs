//! Flatpak apps: the sandbox's `/.flatpak-info` names the app, and its `[Instance]
//! app-commit` says which build of it is installed (the content a grant is bound to).
//!
//! This is the same evidence xdg-desktop-portal uses. It is written by Flatpak when the
//! sandbox is set up and the app cannot change it; an *unsandboxed* process of the same
//! user could build a look-alike namespace, but such a process can already read the
//! keyring directly, so it is outside what per-app consent can protect against.

use std::io::{self, Read};

use sesame_ipc::consent::FlatpakContent;

use super::proc::{self, ProcRoot};
use super::IdentityError;

/// `.flatpak-info` is a few hundred bytes; anything much larger is not one.
const MAX_INFO: u64 = 64 * 1024;

/// The Flatpak app of the process whose root is `root` (its id, and the commit and branch
/// installed), or `None` when it has no `.flatpak-info`. Only call this for a root that
/// differs from ours: on the host `/` a stray `/.flatpak-info` would otherwise turn every
/// process into that app.
pub(crate) fn app(pid: i32, root: &ProcRoot) -> Result<Option<FlatpakContent>, IdentityError> {
    let file = match proc::open_in_root(root, ".flatpak-info") {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
        Err(e) => return Err(proc::io_error(pid, ".flatpak-info", e)),
    };
    let mut text = String::new();
    file.take(MAX_INFO).read_to_string(&mut text).map_err(|e| match e.kind() {
        io::ErrorKind::InvalidData => IdentityError::Malformed { pid, what: ".flatpak-info" },
        _ => proc::io_error(pid, ".flatpak-info", e),
    })?;
    // A sandbox without an [Application] (say, `flatpak run` of a bare runtime) is still a
    // sandbox; refusing is safer than pretending it is the host program its exe names.
    match application_name(&text) {
        Some(name) if valid_app_id(&name) => Ok(Some(FlatpakContent {
            app: name,
            commit: ini_value(&text, "Instance", "app-commit"),
            branch: ini_value(&text, "Instance", "branch"),
        })),
        _ => Err(IdentityError::Malformed { pid, what: ".flatpak-info" }),
    }
}

/// `name=` in the `[Application]` group of a GKeyFile-style INI.
pub(crate) fn application_name(text: &str) -> Option<String> {
    ini_value(text, "Application", "name")
}

/// `key=` in `[group]` of a GKeyFile-style INI (the first one; empty values count as none).
fn ini_value(text: &str, group: &str, key: &str) -> Option<String> {
    let header = format!("[{group}]");
    let mut in_group = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            in_group = line == header;
            continue;
        }
        if !in_group {
            continue;
        }
        if let Some((k, value)) = line.split_once('=') {
            if k.trim() == key {
                let value = value.trim();
                return (!value.is_empty()).then(|| value.to_string());
            }
        }
    }
    None
}

/// D-Bus-name-like ids (`org.gnome.Evolution`): the key is built from it, so keep it free
/// of spaces, slashes and other surprises.
fn valid_app_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 255
        && id.contains('.')
        && !id.starts_with(['.', '-'])
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_application_name() {
        let info = "[Application]\nname=org.gnome.Evolution\nruntime=runtime/org.gnome.Platform/x86_64/46\n\n[Instance]\ninstance-id=123\n";
        assert_eq!(application_name(info).as_deref(), Some("org.gnome.Evolution"));
        assert!(valid_app_id("org.gnome.Evolution"));
        assert_eq!(application_name("[Runtime]\nname=org.freedesktop.Platform\n"), None);
        assert!(!valid_app_id("org.evil app"));
        assert!(!valid_app_id("../x"));
        assert_eq!(ini_value(info, "Instance", "instance-id").as_deref(), Some("123"));
        assert_eq!(ini_value(info, "Instance", "app-commit"), None);
        assert_eq!(ini_value(info, "Application", "instance-id"), None, "another group");
    }
}
