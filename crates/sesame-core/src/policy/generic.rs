//! The one rule about generic identities (`AppInfo::generic`, decided in
//! `identity::chain`): they may be approved once, never forever. A forever grant to
//! `python3 -c` or to an interactive shell would be a grant to every program that runs
//! code that way, which is not what the user meant to allow.

use sesame_ipc::consent::AppInfo;

/// Why `app` may not be allowed forever, as a sentence for the user; `None` if it may.
pub fn forever_refused(app: &AppInfo) -> Option<String> {
    let why = app.generic.as_deref()?;
    Some(format!("{} cannot be allowed forever: {why}. Approve it once instead.", app.name))
}

/// Whether a grant that lasts forever answers for `app`. Not for a generic identity, even
/// if its key holds such a grant from before this rule (or from a time it was not generic).
pub fn forever_covers(app: &AppInfo) -> bool {
    app.generic.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(generic: Option<&str>) -> AppInfo {
        AppInfo {
            key: "/usr/bin/python3.11 -c".into(),
            name: "python3.11".into(),
            exe: "/usr/bin/python3.11".into(),
            script: None,
            icon: None,
            flatpak_app: None,
            sandboxed: false,
            chain: vec![],
            generic: generic.map(str::to_owned),
        }
    }

    #[test]
    fn generic_identities_are_refused_forever_with_the_reason() {
        let why = "`python3.11 -c` runs code written on its command line";
        let said = forever_refused(&app(Some(why))).unwrap();
        assert!(said.starts_with("python3.11 cannot be allowed forever: "), "{said}");
        assert!(said.contains(why) && said.ends_with("Approve it once instead."), "{said}");
        assert!(!forever_covers(&app(Some(why))));
        assert_eq!(forever_refused(&app(None)), None);
        assert!(forever_covers(&app(None)));
    }
}
