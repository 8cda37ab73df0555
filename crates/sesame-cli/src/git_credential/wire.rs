//! git's credential protocol (gitcredentials(7), `git help credential`): `key=value` lines,
//! ended by a blank line or the end of input. Values may hold `=` (the first one splits);
//! a CRLF ending counts as LF, as git's own reader takes it. Bad input is an error that says
//! what is wrong, never a panic.

/// What git asks about, of the attributes Sesame uses (the rest are ignored, as the
/// protocol asks of helpers).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Request {
    pub protocol: Option<String>,
    pub host: Option<String>,
    pub path: Option<String>,
    pub username: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    #[error(
        "line {0} of git's request has no `=`; git sends `key=value` lines (gitcredentials(7))"
    )]
    NoEquals(usize),
    #[error("line {0} of git's request has an empty key")]
    EmptyKey(usize),
    #[error("line {0} of git's request holds a NUL byte, which the protocol does not allow")]
    Nul(usize),
    #[error("the {0} to answer holds a line break or NUL, which would corrupt git's reply; check the provider's git_username")]
    BadValue(&'static str),
}

impl Request {
    pub fn parse(input: &str) -> Result<Request, WireError> {
        let mut request = Request::default();
        for (n, line) in input.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                break;
            }
            let number = n + 1;
            if line.contains('\0') {
                return Err(WireError::Nul(number));
            }
            let (key, value) = line.split_once('=').ok_or(WireError::NoEquals(number))?;
            if key.is_empty() {
                return Err(WireError::EmptyKey(number));
            }
            let slot = match key {
                "protocol" => &mut request.protocol,
                "host" => &mut request.host,
                "path" => &mut request.path,
                "username" => &mut request.username,
                "url" => &mut request.url,
                _ => continue,
            };
            // A later value wins, as in git's own reader.
            *slot = Some(value.to_owned());
        }
        Ok(request)
    }

    /// The repository to show in the consent question: the URL git gave, else protocol,
    /// host and path (git sends `path` with `credential.useHttpPath`).
    pub fn repository(&self) -> Option<String> {
        if let Some(url) = &self.url {
            return Some(url.clone());
        }
        let path = self.path.as_deref().filter(|p| !p.is_empty())?;
        let protocol = self.protocol.as_deref().unwrap_or("https");
        Some(format!("{protocol}://{}/{path}", self.host.as_deref().unwrap_or("")))
    }

    /// The host (`host:port`), from `host=` or else from `url=`.
    pub fn host(&self) -> Option<String> {
        if let Some(host) = self.host.as_deref().filter(|h| !h.is_empty()) {
            return Some(host.to_owned());
        }
        let rest = self.url.as_deref()?.split_once("://")?.1;
        let authority = rest.split('/').next()?;
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        (!host.is_empty()).then(|| host.to_owned())
    }

    /// The scheme (`https`, `http`), from `protocol=` or else from `url=`.
    pub fn protocol(&self) -> Option<String> {
        self.protocol.clone().or_else(|| Some(self.url.as_deref()?.split_once("://")?.0.to_owned()))
    }
}

/// The answer to `get`: `username`, `password` and `password_expiry_utc` lines.
pub fn answer(username: &str, password: &str, expiry_utc: i64) -> Result<String, WireError> {
    let clean = |v: &str, what| {
        if v.contains(['\n', '\r', '\0']) {
            Err(WireError::BadValue(what))
        } else {
            Ok(())
        }
    };
    clean(username, "username")?;
    clean(password, "token")?;
    Ok(format!("username={username}\npassword={password}\npassword_expiry_utc={expiry_utc}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_git_s_attributes_and_ignores_the_rest() {
        let r = Request::parse("protocol=https\nhost=github.com\ncapability[]=authtype\nwwwauth[]=Basic realm=\"x\"\n\nhost=ignored\n").unwrap();
        assert_eq!(r.protocol.as_deref(), Some("https"));
        assert_eq!(r.host().as_deref(), Some("github.com"));
        assert_eq!(r.repository(), None, "no path, no url: nothing to show");
    }

    #[test]
    fn values_may_hold_equals_signs_and_crlf_endings_count_as_lf() {
        let r = Request::parse(
            "protocol=https\r\nhost=127.0.0.1:8123\r\npath=a/b=c.git\r\nusername=me=you\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.host().as_deref(), Some("127.0.0.1:8123"));
        assert_eq!(r.username.as_deref(), Some("me=you"));
        assert_eq!(r.repository().as_deref(), Some("https://127.0.0.1:8123/a/b=c.git"));
    }

    #[test]
    fn a_url_gives_host_and_protocol() {
        let r = Request::parse("url=https://alice@git.example.com:8443/team/repo.git\n").unwrap();
        assert_eq!(r.host().as_deref(), Some("git.example.com:8443"));
        assert_eq!(r.protocol().as_deref(), Some("https"));
        assert_eq!(
            r.repository().as_deref(),
            Some("https://alice@git.example.com:8443/team/repo.git")
        );
    }

    #[test]
    fn bad_input_is_a_structured_error() {
        assert_eq!(Request::parse("protocol=https\nnonsense\n"), Err(WireError::NoEquals(2)));
        assert_eq!(Request::parse("=x\n"), Err(WireError::EmptyKey(1)));
        assert_eq!(Request::parse("host=a\0b\n"), Err(WireError::Nul(1)));
        assert_eq!(Request::parse(""), Ok(Request::default()));
        // Arbitrary bytes (lossily decoded) never panic.
        for input in ["\u{fffd}=\u{fffd}", "\r", "\r\n", "===", "a=\r\r\n", "url=://", "url=x"] {
            let r = Request::parse(input);
            if let Ok(r) = r {
                let _ = (r.host(), r.protocol(), r.repository());
            }
        }
    }

    #[test]
    fn the_answer_refuses_values_that_would_add_lines() {
        assert_eq!(
            answer("x-access-token", "tok=en", 1_700_000_000).unwrap(),
            "username=x-access-token\npassword=tok=en\npassword_expiry_utc=1700000000\n"
        );
        assert_eq!(answer("a\nb", "t", 0), Err(WireError::BadValue("username")));
        assert_eq!(answer("a", "t\r", 0), Err(WireError::BadValue("token")));
    }
}
