//! The content rule: does a grant given to one [`ProgramContent`] cover a program that now
//! has another? One function, [`judge`], so the rule is in one place:
//!
//! - the same bytes (every file's SHA-256, the same Flatpak commit): covered;
//! - files that changed, each still owned by the same Debian package as when allowed (an
//!   upgrade: only root can change such a file, see `FileContent::package`), or another
//!   commit of the same Flatpak app (an update): covered, and the grant moves to the new
//!   content with a note saying so;
//! - a grant from before Sesame recorded content: covered, and bound to what it is now;
//! - anything else (a file rewritten, replaced by another program, a package's file now
//!   nobody's): not covered; the question says "changed since you allowed it".

use sesame_ipc::consent::{
    ChangedPart, ContentUpdate, FileContent, PackageUpgrade, ProgramContent, UpdateReason,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// What the grant was given to.
    Same,
    /// Covered by the rule; the grant should now hold the asking content with this note.
    Moved(ContentUpdate),
    /// Not covered: these parts differ.
    Changed(Vec<ChangedPart>),
}

/// What a grant holding `allowed` (`None`: a grant from before content was recorded) says
/// about a program whose content is `now`, at Unix time `at`.
pub fn judge(allowed: Option<&ProgramContent>, now: &ProgramContent, at: i64) -> Verdict {
    let Some(allowed) = allowed else {
        return Verdict::Moved(ContentUpdate { at, reason: UpdateReason::FirstUse });
    };
    let mut changed = vec![];
    let mut upgrades = vec![];
    for (part, was, is) in [
        (ChangedPart::Executable, &allowed.exe, &now.exe),
        (ChangedPart::Script, &allowed.script, &now.script),
    ] {
        match file(was.as_ref(), is.as_ref()) {
            File::Same => {}
            File::Upgraded(u) => upgrades.push(u),
            File::Changed => changed.push(part),
        }
    }
    let flatpak = match (&allowed.flatpak, &now.flatpak) {
        (None, None) => None,
        (Some(was), Some(is)) if was.app == is.app => {
            (was != is).then(|| UpdateReason::FlatpakUpdate {
                app: is.app.clone(),
                from: was.commit.clone(),
                to: is.commit.clone(),
            })
        }
        _ => {
            changed.push(ChangedPart::Flatpak);
            None
        }
    };
    if !changed.is_empty() {
        return Verdict::Changed(changed);
    }
    match (flatpak, upgrades.is_empty()) {
        (Some(reason), _) => Verdict::Moved(ContentUpdate { at, reason }),
        (None, false) => Verdict::Moved(ContentUpdate {
            at,
            reason: UpdateReason::PackageUpgrade { packages: upgrades },
        }),
        (None, true) => Verdict::Same,
    }
}

enum File {
    Same,
    Upgraded(PackageUpgrade),
    Changed,
}

fn file(was: Option<&FileContent>, is: Option<&FileContent>) -> File {
    match (was, is) {
        (None, None) => File::Same,
        (Some(was), Some(is)) if was == is => File::Same,
        (Some(was), Some(is)) => match (&was.package, &is.package) {
            // The same package owns both: an upgrade or reinstall by root. (The same bytes
            // under a new version, too: the package moved on, the file did not.)
            (Some(p), Some(q)) if p.name == q.name => File::Upgraded(PackageUpgrade {
                package: q.name.clone(),
                from: p.version.clone(),
                to: q.version.clone(),
            }),
            _ if was.sha256 == is.sha256 => File::Same,
            _ => File::Changed,
        },
        _ => File::Changed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sesame_ipc::consent::{FlatpakContent, Package};

    fn f(sha: &str, package: Option<(&str, &str)>) -> Option<FileContent> {
        Some(FileContent {
            sha256: sha.into(),
            package: package.map(|(n, v)| Package { name: n.into(), version: v.into() }),
        })
    }

    fn native(exe: Option<FileContent>) -> ProgramContent {
        ProgramContent { exe, ..Default::default() }
    }

    fn script(exe: Option<FileContent>, script: Option<FileContent>) -> ProgramContent {
        ProgramContent { exe, script, ..Default::default() }
    }

    fn flatpak(app: &str, commit: &str) -> ProgramContent {
        ProgramContent {
            flatpak: Some(FlatpakContent {
                app: app.into(),
                commit: Some(commit.into()),
                branch: Some("stable".into()),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_same_bytes_are_covered_and_other_bytes_are_not() {
        let a = native(f("aa", None));
        assert_eq!(judge(Some(&a), &a, 5), Verdict::Same);
        assert_eq!(
            judge(Some(&a), &native(f("bb", None)), 5),
            Verdict::Changed(vec![ChangedPart::Executable])
        );
        // Restoring the original bytes is the content the grant was given to.
        assert_eq!(judge(Some(&a), &native(f("aa", None)), 9), Verdict::Same);
        // A script rewritten under the same interpreter; both rewritten.
        let py = f("py", Some(("python3.11-minimal", "3.11.2-6")));
        let s = script(py.clone(), f("s1", None));
        assert_eq!(
            judge(Some(&s), &script(py.clone(), f("s2", None)), 5),
            Verdict::Changed(vec![ChangedPart::Script])
        );
        assert_eq!(
            judge(Some(&s), &script(f("other", None), f("s2", None)), 5),
            Verdict::Changed(vec![ChangedPart::Executable, ChangedPart::Script])
        );
        assert_eq!(
            judge(Some(&s), &script(py, None), 5),
            Verdict::Changed(vec![ChangedPart::Script]),
            "a script that is no longer a file"
        );
    }

    #[test]
    fn an_upgrade_of_the_same_package_keeps_the_grant_and_says_so() {
        let old = native(f("v1", Some(("msmtp", "1.8.22-1"))));
        let new = native(f("v2", Some(("msmtp", "1.8.24-1"))));
        let Verdict::Moved(note) = judge(Some(&old), &new, 7) else { panic!("not kept") };
        assert_eq!(note.at, 7);
        assert_eq!(
            note.reason,
            UpdateReason::PackageUpgrade {
                packages: vec![PackageUpgrade {
                    package: "msmtp".into(),
                    from: "1.8.22-1".into(),
                    to: "1.8.24-1".into()
                }]
            }
        );
        // An interpreter upgrade under an unchanged script: kept.
        let s1 = f("s", None);
        let was = script(f("p1", Some(("python3.11-minimal", "3.11.2-6"))), s1.clone());
        let is = script(f("p2", Some(("python3.11-minimal", "3.11.2-7"))), s1);
        assert!(matches!(judge(Some(&was), &is, 1), Verdict::Moved(_)));
        // Another package's file at the path, or a file no package owns: asked again.
        for other in [f("v2", Some(("busybox", "1"))), f("v2", None)] {
            assert_eq!(
                judge(Some(&old), &native(other), 1),
                Verdict::Changed(vec![ChangedPart::Executable])
            );
        }
        // A file the user allowed before any package owned it: bytes decide.
        let mine = native(f("v1", None));
        assert_eq!(judge(Some(&mine), &new, 1), Verdict::Changed(vec![ChangedPart::Executable]));
        assert_eq!(judge(Some(&mine), &native(f("v1", Some(("msmtp", "1")))), 1), Verdict::Same);
        // A changed part wins over an upgraded one.
        let was = script(f("p1", Some(("python3.11-minimal", "1"))), f("s1", None));
        let is = script(f("p2", Some(("python3.11-minimal", "2"))), f("s2", None));
        assert_eq!(judge(Some(&was), &is, 1), Verdict::Changed(vec![ChangedPart::Script]));
    }

    #[test]
    fn flatpak_updates_keep_the_grant_and_old_grants_bind_on_first_use() {
        let a = flatpak("org.example.App", "c1");
        assert_eq!(judge(Some(&a), &a, 1), Verdict::Same);
        let Verdict::Moved(note) = judge(Some(&a), &flatpak("org.example.App", "c2"), 1) else {
            panic!("not kept")
        };
        assert!(matches!(note.reason, UpdateReason::FlatpakUpdate { .. }));
        assert_eq!(
            judge(Some(&a), &native(f("x", None)), 1),
            Verdict::Changed(vec![ChangedPart::Executable, ChangedPart::Flatpak])
        );
        assert_eq!(
            judge(None, &native(f("x", None)), 3),
            Verdict::Moved(ContentUpdate { at: 3, reason: UpdateReason::FirstUse })
        );
    }
}
