//! The second test provider: django-oauth-toolkit (`tests/dot/serve.py`), one per test, from
//! the pinned venv `scripts/test.sh` makes (`tests/dot/setup.sh`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::idp::start_until_ready;
use crate::process::Guard;
use crate::{root, Env, Options};

/// Which authorization server an [`crate::Env`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Provider {
    /// npm `oidc-provider` (`tests/idp/server.mjs`): the default.
    #[default]
    OidcProvider,
    /// django-oauth-toolkit (`tests/dot/serve.py`): issuer `http://127.0.0.1:PORT/o`.
    Dot,
}

impl Provider {
    /// The scopes the generated config asks for: all the provider knows (DOT has no
    /// `offline_access`; it issues refresh tokens anyway).
    pub fn config_scopes(self) -> &'static str {
        match self {
            Provider::OidcProvider => {
                r#"["openid", "email", "profile", "offline_access", "api:read", "api:write"]"#
            }
            Provider::Dot => r#"["openid", "email", "profile", "api:read", "api:write"]"#,
        }
    }

    /// RFC 7662 introspection, relative to the issuer.
    pub(crate) fn introspection_path(self) -> &'static str {
        match self {
            Provider::OidcProvider => "/token/introspection",
            Provider::Dot => "/introspect/",
        }
    }

    /// RFC 7009 revocation, relative to the issuer.
    pub(crate) fn revocation_path(self) -> &'static str {
        match self {
            Provider::OidcProvider => "/token/revocation",
            Provider::Dot => "/revoke_token/",
        }
    }
}

/// The venv's Python, with django-oauth-toolkit installed.
fn python() -> PathBuf {
    let python = root().join(".cache/dot-venv/bin/python");
    assert!(python.exists(), "{} is missing; run `bash tests/dot/setup.sh`", python.display());
    python
}

pub(crate) fn start_dot(dir: &Path, opts: &Options) -> (Guard, String) {
    let script = root().join("tests/dot/serve.py");
    let python = python();
    // The provider's own database holds its tokens, as it must: it lives where the leak
    // scan does not look (`Env::assert_no_leaks` skips `provider/`).
    let db_dir = dir.join("provider");
    std::fs::create_dir_all(&db_dir).unwrap();
    start_until_ready("django-oauth-toolkit", &dir.join("logs/idp.log"), || {
        let mut cmd = Command::new(&python);
        cmd.arg(&script)
            .env("DOT_DB", db_dir.join("dot.sqlite3"))
            .env("DOT_ACCESS_TOKEN_TTL", opts.access_token_ttl.to_string())
            .env("DOT_ROTATE", if opts.rotate { "1" } else { "0" })
            .env("PYTHONDONTWRITEBYTECODE", "1");
        if let Some(uri) = &opts.redirect_uri {
            cmd.env("DOT_REDIRECT_URIS", uri);
        }
        cmd
    })
}

/// Questions whose answer differs between the two providers.
impl Env {
    /// Whether the provider would still take `refresh_token`. oidc-provider answers RFC 7662
    /// for refresh tokens; DOT's introspection knows access tokens only, so its test
    /// project answers at a control endpoint (tests/dot/dotsite/stats.py).
    pub fn refresh_token_active(&self, refresh_token: &str) -> bool {
        match self.provider {
            Provider::OidcProvider => self.introspect(refresh_token)["active"] == Value::Bool(true),
            Provider::Dot => {
                let resp = reqwest::blocking::Client::new()
                    .post(format!("{}/test/refresh_token", self.issuer))
                    .form(&[("token", refresh_token)])
                    .send()
                    .expect("refresh token check");
                assert!(resp.status().is_success(), "the check answered {}", resp.status());
                resp.json::<Value>().unwrap()["active"] == Value::Bool(true)
            }
        }
    }

    /// The user an introspection answer names: `sub` at oidc-provider (the login name),
    /// `username` at DOT (whose `sub` is the database id).
    pub fn introspected_user(&self, info: &Value) -> String {
        let field = match self.provider {
            Provider::OidcProvider => "sub",
            Provider::Dot => "username",
        };
        info[field].as_str().unwrap_or_default().to_owned()
    }
}
