//! The one rule about generic identities (`AppInfo::generic`, decided in
//! `identity::chain`): they may be approved once, for a time or until the screen locks,
//! never forever. A forever grant to
//! `python3 -c` or to an interactive shell would be a grant to every program that runs
//! code that way, which is not what the user meant to allow.

use sesame_ipc::consent::{AppInfo, GrantEnd};

/// Why `app` may not be allowed forever, as a sentence for the user; `None` if it may.
pub fn forever_refused(app: &AppInfo) -> Option<String> {
    let why = app.generic.as_deref()?;
    Some(format!("{} cannot be allowed forever: {why}. Approve it once, for a time or until the screen locks instead.", app.name))
}

/// Whether a grant that ends as `end` says answers for `app`. One that lasts forever does
/// not answer for a generic identity, even if its key holds such a grant from before this
/// rule (or from a time it was not generic); one that lapses by itself does.
pub fn covers(app: &AppInfo, end: GrantEnd) -> bool {
    app.generic.is_none() || end != GrantEnd::NEVER
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
            content: None,
        }
    }

    #[test]
    fn generic_identities_are_refused_forever_with_the_reason() {
        let why = "`python3.11 -c` runs code written on its command line";
        let said = forever_refused(&app(Some(why))).unwrap();
        assert!(said.starts_with("python3.11 cannot be allowed forever: "), "{said}");
        assert!(
            said.contains(why)
                && said.ends_with("Approve it once, for a time or until the screen locks instead."),
            "{said}"
        );
        assert!(!covers(&app(Some(why)), GrantEnd::NEVER));
        let timed = GrantEnd { expires_at: Some(100), until_lock: false };
        assert!(covers(&app(Some(why)), timed), "a grant that ends covers it");
        assert_eq!(forever_refused(&app(None)), None);
        assert!(covers(&app(None), GrantEnd::NEVER));
    }
}
