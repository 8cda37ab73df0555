//! What a program *is*, beyond its path: the content a grant is bound to.
//!
//! A grant records the [`ProgramContent`] of the program the user allowed and covers a
//! request only when the asking program still has that content (see docs/protocol.md,
//! "Content binding"). These types travel inside [`crate::consent::AppInfo`], so a grant
//! stores them in its JSON and a question shows them.

use serde::{Deserialize, Serialize};

/// The files behind an app key, as they were when the program asked: the executable and,
/// for an interpreter, the script — or, for a Flatpak app, its installed commit.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramContent {
    /// The executable the process runs, read through `/proc/<pid>/exe` (not its path).
    /// Absent for a Flatpak app, whose commit stands for its files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe: Option<FileContent>,
    /// The interpreter's script. Absent for native programs, modules run by name and
    /// inline code (nothing on disk to read), and a directory given as the script.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<FileContent>,
    /// A Flatpak app: what `/.flatpak-info` of its sandbox says is installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flatpak: Option<FlatpakContent>,
    /// Only on a grant: the broker moved the grant to this content itself (an upgrade of
    /// the package or Flatpak app the user allowed, or a grant from before Sesame recorded
    /// content), when and why. Absent when this is the content the user allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<ContentUpdate>,
}

/// One file, by its bytes.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileContent {
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// The Debian package that installed this file: dpkg lists its path, and only root can
    /// change it (owned by root, not writable by group or others). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
}

/// A Debian package and its installed version.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    pub version: String,
}

/// A Flatpak app as installed (`[Application] name`, `[Instance] app-commit` and `branch`
/// of the sandbox's `/.flatpak-info`, which the app cannot change).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlatpakContent {
    pub app: String,
    /// The OSTree commit of the app: a hash of all its files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
}

/// The broker moved a grant to new content by its rule, not by the user's answer.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentUpdate {
    /// Unix seconds.
    pub at: i64,
    pub reason: UpdateReason,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UpdateReason {
    /// The files changed because the Debian packages that own them were upgraded (or
    /// reinstalled): the same packages own the new files.
    PackageUpgrade { packages: Vec<PackageUpgrade> },
    /// Flatpak installed another commit of the same app.
    FlatpakUpdate {
        app: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
    /// The grant was made before Sesame recorded content; it was bound to the program as
    /// it was at the grant's first use after that.
    FirstUse,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageUpgrade {
    pub package: String,
    pub from: String,
    pub to: String,
}

/// Why a program that holds a grant is asked again: the files at its paths are no longer
/// the ones the user allowed ("changed since you allowed it").
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentChange {
    /// The grant that no longer covers the request (it is kept: the old content is still
    /// allowed, and "Always allow" moves the grant to the new content).
    pub grant: i64,
    /// When the user allowed it (Unix seconds).
    pub allowed_at: i64,
    /// What differs.
    pub parts: Vec<ChangedPart>,
    /// The content the grant was given to.
    pub allowed: ProgramContent,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangedPart {
    Executable,
    Script,
    Flatpak,
}

impl ChangedPart {
    /// For people: "the executable", "the script", "the Flatpak app".
    pub fn words(self) -> &'static str {
        match self {
            ChangedPart::Executable => "the executable",
            ChangedPart::Script => "the script",
            ChangedPart::Flatpak => "the Flatpak app",
        }
    }
}

impl ContentChange {
    /// One sentence: "changed since you allowed it: the script differs".
    pub fn sentence(&self) -> String {
        let parts: Vec<&str> = self.parts.iter().map(|p| p.words()).collect();
        let verb = if parts.len() == 1 { "differs" } else { "differ" };
        format!("changed since you allowed it: {} {verb}", parts.join(" and "))
    }
}

impl ContentUpdate {
    /// For people: "msmtp upgraded 1.8.22-1 → 1.8.24-1", "granted before Sesame checked
    /// content; bound at first use".
    pub fn sentence(&self) -> String {
        match &self.reason {
            UpdateReason::PackageUpgrade { packages } => {
                let each: Vec<String> = packages
                    .iter()
                    .map(|p| format!("{} upgraded {} → {}", p.package, p.from, p.to))
                    .collect();
                format!("kept after a package upgrade: {}", each.join(", "))
            }
            UpdateReason::FlatpakUpdate { app, from, to } => {
                let short = |c: &Option<String>| -> String {
                    c.as_deref().map_or_else(|| "?".into(), |c| c.chars().take(12).collect())
                };
                format!("kept after a Flatpak update of {app}: {} → {}", short(from), short(to))
            }
            UpdateReason::FirstUse => {
                "granted before Sesame checked content; bound to the program at its first use"
                    .into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_app_json_has_no_content_and_sentences_read_well() {
        let c: ProgramContent = serde_json::from_str("{}").unwrap();
        assert_eq!(c, ProgramContent::default());
        let change = ContentChange {
            grant: 1,
            allowed_at: 0,
            parts: vec![ChangedPart::Executable, ChangedPart::Script],
            allowed: c,
        };
        assert_eq!(
            change.sentence(),
            "changed since you allowed it: the executable and the script differ"
        );
        let up = ContentUpdate {
            at: 0,
            reason: UpdateReason::PackageUpgrade {
                packages: vec![PackageUpgrade {
                    package: "msmtp".into(),
                    from: "1.8.22-1".into(),
                    to: "1.8.24-1".into(),
                }],
            },
        };
        assert_eq!(
            up.sentence(),
            "kept after a package upgrade: msmtp upgraded 1.8.22-1 → 1.8.24-1"
        );
        let json = serde_json::to_value(&up).unwrap();
        assert_eq!(json["reason"]["kind"], "package_upgrade");
    }
}
