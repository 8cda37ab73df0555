//! `git_hosts` and `git_username` on a `[[provider]]`: which git hosts the provider's
//! accounts sign in to (`sesame git-credential`), and the username git sends with the token.

use url::Url;

use super::Preset;

/// What a provider does for git. No hosts: the provider serves no git credentials.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GitHosting {
    /// Lower-case `host` or `host:port`, as git names it in a credential request.
    pub hosts: Vec<String>,
    /// The `username=` answered with the token (GitHub takes any; GitLab wants `oauth2`).
    pub username: String,
}

impl GitHosting {
    pub fn serves(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }
}

/// The preset's hosts and username (GitHub: github.com as `x-access-token`; GitLab: the
/// instance's host as `oauth2`; others: none, as `oauth2`).
fn preset_default(preset: Preset, issuer: &Url) -> GitHosting {
    match preset {
        Preset::Github => {
            GitHosting { hosts: vec!["github.com".into()], username: "x-access-token".into() }
        }
        Preset::Gitlab => {
            GitHosting { hosts: host_of(issuer).into_iter().collect(), username: "oauth2".into() }
        }
        _ => GitHosting { hosts: vec![], username: "oauth2".into() },
    }
}

/// `host` or `host:port` of a URL (the port only when it is not the scheme's default).
fn host_of(url: &Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// Whether `host` is what git sends as `host=`: a name or address, optionally `:port`;
/// no scheme, path, user or spaces.
fn is_git_host(host: &str) -> bool {
    !host.is_empty()
        && !host.contains("://")
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
}

/// The provider's git settings: the file's, else the preset's. `Err` names what is wrong.
pub(super) fn git_hosting(
    id: &str,
    preset: Preset,
    issuer: &Url,
    hosts: Option<&[String]>,
    username: Option<&str>,
) -> Result<GitHosting, String> {
    let mut git = preset_default(preset, issuer);
    if let Some(hosts) = hosts {
        if let Some(bad) = hosts.iter().find(|h| !is_git_host(h.trim())) {
            return Err(format!("provider `{id}`: git_hosts entry `{bad}` is not a host; write it as git sends it, e.g. \"github.com\" or \"git.example.com:8443\" (no https://, no path)"));
        }
        git.hosts = hosts.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
    }
    if let Some(name) = username {
        let name = name.trim();
        if name.is_empty() || name.contains(['\n', '\r', '\0']) {
            return Err(format!(
                "provider `{id}`: git_username must be one line and not empty, e.g. \"oauth2\""
            ));
        }
        git.username = name.to_owned();
    }
    Ok(git)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn presets_default_their_hosts() {
        let gh = git_hosting("gh", Preset::Github, &url("https://github.com"), None, None).unwrap();
        assert_eq!(
            (gh.hosts, gh.username.as_str()),
            (vec!["github.com".to_owned()], "x-access-token")
        );
        let gl =
            git_hosting("gl", Preset::Gitlab, &url("https://git.example.org:8443"), None, None)
                .unwrap();
        assert_eq!(
            (gl.hosts, gl.username.as_str()),
            (vec!["git.example.org:8443".to_owned()], "oauth2")
        );
        let oidc =
            git_hosting("o", Preset::Oidc, &url("https://login.example.com"), None, None).unwrap();
        assert!(oidc.hosts.is_empty());
    }

    #[test]
    fn the_config_file_reads_them_with_line_numbers() {
        let parse = |t: &str| crate::config::Config::parse(t, std::path::Path::new("/c.toml"));
        let gh =
            parse("[[provider]]\nid = \"gh\"\npreset = \"github\"\nclient_id = \"Iv1\"\n").unwrap();
        assert_eq!(gh.providers[0].git.hosts, ["github.com"]);
        let gl = parse("[[provider]]\nid = \"gl\"\npreset = \"gitlab\"\ninstance = \"https://git.example.org\"\nclient_id = \"x\"\ngit_username = \"me\"\n").unwrap();
        assert_eq!(
            (gl.providers[0].git.hosts.as_slice(), gl.providers[0].git.username.as_str()),
            (["git.example.org".to_owned()].as_slice(), "me")
        );
        let e = parse("[[provider]]\nid = \"o\"\nissuer = \"https://x.example\"\nclient_id = \"x\"\nscopes = [\"openid\"]\ngit_hosts = [\"a b\"]\n").unwrap_err().to_string();
        assert!(e.contains("line 6") && e.contains("git_hosts entry `a b`"), "{e}");
    }

    #[test]
    fn the_file_wins_and_bad_hosts_are_named() {
        let hosts = vec!["127.0.0.1:8123".to_owned(), "Git.Example.com".to_owned()];
        let g = git_hosting("o", Preset::Oidc, &url("https://x.example"), Some(&hosts), Some("me"))
            .unwrap();
        assert_eq!(g.hosts, ["127.0.0.1:8123", "git.example.com"]);
        assert!(g.serves("GIT.example.com") && !g.serves("example.com"));
        assert_eq!(g.username, "me");
        let bad = vec!["https://github.com/x".to_owned()];
        let e = git_hosting("o", Preset::Oidc, &url("https://x.example"), Some(&bad), None)
            .unwrap_err();
        assert!(e.contains("git_hosts entry `https://github.com/x`"), "{e}");
        let e =
            git_hosting("o", Preset::Oidc, &url("https://x.example"), None, Some(" ")).unwrap_err();
        assert!(e.contains("git_username"), "{e}");
    }
}
