//! The broker's TOML configuration: which providers exist and how to reach them.
//!
//! Parsing happens in two steps: serde reads the file into private `Raw*` structs that keep
//! byte spans (so every later complaint can name a line), then [`Config::parse`] validates
//! and converts them into the public types.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use url::{Host, Url};

use crate::{ScopeSet, Secret};

mod endpoints;
mod git;
pub mod presets;

pub use git::GitHosting;

pub use endpoints::{EndpointOverrides, ManualEndpoints};
pub use presets::{ConsentPrompt, Preset, Quirks};

const DEFAULT_LOGIN_TIMEOUT_SECS: u64 = 300;
const DEFAULT_REFRESH_PERCENT: u64 = 75;
const DEFAULT_REFRESH_IDLE_SECS: u64 = 3600;
const MAX_LOGIN_TIMEOUT_SECS: u64 = 86_400;

/// Shown when the file is missing, so the user can copy it.
pub const EXAMPLE_CONFIG: &str = r#"[[provider]]
id = "example"
issuer = "https://login.example.com"
client_id = "your-client-id"
scopes = ["openid", "email", "profile", "offline_access"]
# or: preset = "google" | "microsoft" | "github" | "gitlab" instead of issuer (docs/providers.md)
"#;

/// Proactive refresh (see `broker/refresher.rs`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefreshPolicy {
    pub enabled: bool,
    /// Refresh at this fraction of the token's lifetime (0.5–0.95).
    pub fraction: f64,
    /// Stop refreshing a token nobody took for this long.
    pub idle: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy {
            enabled: true,
            fraction: DEFAULT_REFRESH_PERCENT as f64 / 100.0,
            idle: Duration::from_secs(DEFAULT_REFRESH_IDLE_SECS),
        }
    }
}

/// How a client secret is sent to the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SecretPlacement {
    /// `client_secret=` in the form body (`client_secret_post`).
    Form,
    /// `Authorization: Basic` (`client_secret_basic`).
    Basic,
}

/// What a provider id may be: a-z, 0-9, `_` and `-`, not empty (it names keyring entries
/// and account ids, so nothing else may appear in one).
pub fn is_provider_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

#[derive(Debug, Clone)]
pub struct Config {
    /// How long a sign-in waits for the browser (`login_timeout_secs`, default 300).
    pub login_timeout: Duration,
    /// How long a token request waits for the user's answer (`consent_timeout_secs`, default 120).
    pub consent_timeout: Duration,
    /// Activity rows older than this are deleted (`activity_retention_days`, default 90).
    pub activity_retention: Duration,
    /// At most this many activity rows are kept (`activity_max_rows`, default 100 000).
    pub activity_max_rows: u64,
    /// `demo = true`: the config `scripts/run.sh` writes for its local demo provider; the
    /// app shows a "demo" banner so nobody mistakes it for a real sign-in.
    pub demo: bool,
    /// Proactive refresh: `proactive_refresh` (default true), `refresh_at_percent` of a
    /// token's lifetime (default 75), `refresh_idle_secs` (default 3600).
    pub refresh: RefreshPolicy,
    pub providers: Vec<ProviderConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    pub id: String,
    /// `oidc` unless the file says `preset = "..."`.
    pub preset: Preset,
    pub issuer: Url,
    pub client_id: String,
    /// How accounts sign in: a person in the browser, or the client itself (a machine account).
    pub grant: Grant,
    /// Only for the google preset, whose desktop-client secrets Google documents as not
    /// confidential; a secret stored with `sesame secret set` (the keyring) wins. Every
    /// other secret lives in the keyring only (see [`ProviderConfig::secret_placement`]).
    pub client_secret: Option<Secret>,
    pub scopes: ScopeSet,
    /// The line of `scopes` in the config file, for errors about one of them; `None` when
    /// the preset supplies them.
    pub scopes_line: Option<usize>,
    /// `Some` when the file (or the preset) names the endpoints: no discovery request is made.
    pub endpoints: Option<ManualEndpoints>,
    /// Endpoints set next to `issuer`: they win over (or fill in) the discovered ones.
    pub endpoint_overrides: EndpointOverrides,
    /// Whether a refresh may ask for a subset of the granted scopes (`scope=` on refresh).
    pub allow_scope_narrowing: bool,
    /// `redirect_port = N`: the sign-in's loopback listener uses this port, for providers
    /// that compare redirect URIs exactly (no RFC 8252 §7.3 port matching); else any free one.
    pub redirect_port: Option<u16>,
    /// Whether a refresh kills the access tokens issued before it (django-oauth-toolkit
    /// deletes the previous one when it rotates): then a refresh drops the account's cached
    /// tokens of other scope sets. Off by default: oidc-provider, Google and Microsoft keep
    /// them, and dropping them would cost a refresh per request of programs that alternate.
    pub refresh_revokes_access_tokens: bool,
    /// What this provider does differently; all defaults for plain OIDC.
    pub quirks: Quirks,
    /// `git_hosts` / `git_username` (defaulted by the preset): `sesame git-credential`.
    pub git: GitHosting,
}

/// `grant = "..."` in a `[[provider]]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Grant {
    /// A person signs in in the browser (authorization code + PKCE); the default.
    #[default]
    AuthorizationCode,
    /// A machine account: the client's own token (RFC 6749 §4.4), with its secret from
    /// the keyring; no person, no browser, no refresh token.
    ClientCredentials,
}

impl Grant {
    pub fn name(self) -> &'static str {
        match self {
            Grant::AuthorizationCode => sesame_ipc::protocol::GRANT_AUTHORIZATION_CODE,
            Grant::ClientCredentials => sesame_ipc::protocol::GRANT_CLIENT_CREDENTIALS,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no configuration file at {}; create it (one [[provider]] table per identity provider), for example:\n\n{EXAMPLE_CONFIG}", path.display())]
    NotFound { path: PathBuf },
    #[error("cannot read the configuration file {}: {cause}; check its permissions", path.display())]
    Read { path: PathBuf, cause: std::io::Error },
    /// `message` is toml's own text, which already names the line and column.
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("{}, line {line}: {message}", path.display())]
    Invalid { path: PathBuf, line: usize, message: String },
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ConfigError::NotFound { path: path.to_owned() })
            }
            Err(cause) => return Err(ConfigError::Read { path: path.to_owned(), cause }),
        };
        Config::parse(&text, path)
    }

    /// `origin` is only used in error messages.
    pub fn parse(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_owned(),
            message: parse_error_message(text, &e),
        })?;
        let invalid = |span: std::ops::Range<usize>, message: String| ConfigError::Invalid {
            path: origin.to_owned(),
            line: line_of(text, span.start),
            message,
        };

        let number = |value: Option<Spanned<u64>>, name: &str, default: u64, max: u64| match value {
            None => Ok(default),
            Some(v) if (1..=max).contains(v.get_ref()) => Ok(*v.get_ref()),
            Some(v) => Err(invalid(
                v.span(),
                format!(
                    "{name} must be between 1 and {max} (default {default}), got {}",
                    v.get_ref()
                ),
            )),
        };
        let login_timeout = Duration::from_secs(number(
            raw.login_timeout_secs,
            "login_timeout_secs",
            DEFAULT_LOGIN_TIMEOUT_SECS,
            MAX_LOGIN_TIMEOUT_SECS,
        )?);
        let consent_timeout = Duration::from_secs(number(
            raw.consent_timeout_secs,
            "consent_timeout_secs",
            120,
            3600,
        )?);
        let activity_retention = Duration::from_secs(
            86_400 * number(raw.activity_retention_days, "activity_retention_days", 90, 36_500)?,
        );
        let activity_max_rows =
            number(raw.activity_max_rows, "activity_max_rows", 100_000, 100_000_000)?;
        let refresh = RefreshPolicy {
            enabled: raw.proactive_refresh.unwrap_or(true),
            fraction: number(
                raw.refresh_at_percent,
                "refresh_at_percent",
                DEFAULT_REFRESH_PERCENT,
                95,
            )? as f64
                / 100.0,
            idle: Duration::from_secs(number(
                raw.refresh_idle_secs,
                "refresh_idle_secs",
                DEFAULT_REFRESH_IDLE_SECS,
                30 * 86_400,
            )?),
        };

        let mut providers = Vec::with_capacity(raw.provider.len());
        let mut seen: HashMap<String, usize> = HashMap::new();
        for p in raw.provider {
            let id_span = p.id.span();
            let scopes_line = p.scopes.as_ref().map(|s| line_of(text, s.span().start));
            let mut provider = validate_provider(p, &invalid)?;
            provider.scopes_line = scopes_line;
            let line = line_of(text, id_span.start);
            if let Some(first) = seen.insert(provider.id.clone(), line) {
                return Err(invalid(
                    id_span,
                    format!("provider id `{}` is already used on line {first}; give each [[provider]] a unique id", provider.id),
                ));
            }
            providers.push(provider);
        }
        let demo = raw.demo.unwrap_or(false);
        Ok(Config {
            login_timeout,
            consent_timeout,
            activity_retention,
            activity_max_rows,
            demo,
            refresh,
            providers,
        })
    }

    pub fn provider(&self, id: &str) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.id == id)
    }
}

impl ProviderConfig {
    /// The issuer as providers write it: `Url` turns `https://host` into `https://host/`,
    /// and OpenID issuers conventionally have no trailing slash for a bare host.
    pub fn issuer_str(&self) -> String {
        issuer_string(&self.issuer)
    }

    pub fn wants_openid(&self) -> bool {
        self.scopes.contains("openid")
    }

    /// Whether the provider can issue one access token for all of `scopes`. Call it before
    /// a refresh or sign-in with these scopes: Microsoft refuses a set that spans two
    /// resources (APIs), and the error says which. `Ok` for providers without such rules.
    pub fn check_scope_set(&self, scopes: &ScopeSet) -> Result<(), String> {
        self.preset.check_scopes(scopes).map_err(|e| format!("provider `{}`: {e}", self.id))
    }

    pub fn is_machine(&self) -> bool {
        self.grant == Grant::ClientCredentials
    }

    /// `Some` when the provider's token endpoint needs a client secret from this client,
    /// and how it is sent: machine accounts in HTTP Basic; Google and GitHub, which demand
    /// one even from desktop apps with PKCE, in the form, as they document. `None`: a
    /// public client.
    pub fn secret_placement(&self) -> Option<SecretPlacement> {
        match (self.grant, self.preset) {
            (Grant::ClientCredentials, _) => Some(SecretPlacement::Basic),
            (_, Preset::Google | Preset::Github) => Some(SecretPlacement::Form),
            _ => None,
        }
    }

    /// Where the user finds the client secret, for the error when none is stored.
    pub fn client_secret_source(&self) -> &'static str {
        match (self.grant, self.preset) {
            (Grant::ClientCredentials, _) => "copy it from the client's registration at the provider (the same place as its client_id)",
            (_, Preset::Google) => "Google's token endpoint refuses desktop apps without it, even with PKCE; copy it from your \"Desktop app\" OAuth client in the Google Cloud console (Google documents it as not confidential for installed apps, so client_secret in the config also works)",
            (_, Preset::Github) => "GitHub's token endpoint refuses a code exchange without it, even with PKCE; generate one on your OAuth App's (or GitHub App's) settings page",
            _ => "copy it from the provider's app registration",
        }
    }
}

/// toml's error without the source line it quotes: that line may hold a `client_secret`,
/// and the message goes to logs, replies and the app. Where (line, column) and what is wrong
/// are enough to find it.
fn parse_error_message(text: &str, e: &toml::de::Error) -> String {
    let what = e.message().trim_end();
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("TOML parse error at line {line}, column {column}: {what}")
        }
        None => format!("TOML parse error: {what}"),
    }
}

pub(crate) fn issuer_string(url: &Url) -> String {
    let s = url.as_str();
    if url.path() == "/" && url.query().is_none() && url.fragment().is_none() {
        s.trim_end_matches('/').to_owned()
    } else {
        s.to_owned()
    }
}

/// Plain http is acceptable only when the traffic never leaves the machine; everything
/// else must be https, or codes and tokens cross the network in clear text.
pub fn url_is_acceptable(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => is_loopback_host(url),
        _ => false,
    }
}

fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// 1-based line number of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    login_timeout_secs: Option<Spanned<u64>>,
    consent_timeout_secs: Option<Spanned<u64>>,
    activity_retention_days: Option<Spanned<u64>>,
    activity_max_rows: Option<Spanned<u64>>,
    proactive_refresh: Option<bool>,
    refresh_at_percent: Option<Spanned<u64>>,
    refresh_idle_secs: Option<Spanned<u64>>,
    demo: Option<bool>,
    #[serde(default)]
    provider: Vec<RawProvider>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    id: Spanned<String>,
    preset: Option<Spanned<String>>,
    issuer: Option<Spanned<String>>,
    tenant: Option<Spanned<String>>,
    instance: Option<Spanned<String>>,
    client_id: Spanned<String>,
    client_secret: Option<Spanned<String>>,
    scopes: Option<Spanned<Vec<String>>>,
    authorization_endpoint: Option<Spanned<String>>,
    token_endpoint: Option<Spanned<String>>,
    revocation_endpoint: Option<Spanned<String>>,
    userinfo_endpoint: Option<Spanned<String>>,
    device_authorization_endpoint: Option<Spanned<String>>,
    grant: Option<Spanned<String>>,
    allow_scope_narrowing: Option<bool>,
    git_hosts: Option<Spanned<Vec<String>>>,
    git_username: Option<Spanned<String>>,
    redirect_port: Option<Spanned<i64>>,
    refresh_revokes_access_tokens: Option<bool>,
}

/// Why `client_secret` may not be in this provider's table, if it may not. Confidential
/// secrets (GitHub's, a machine account's) belong in the keyring; public clients have none.
fn client_secret_refusal(id: &str, preset: Preset, grant: Grant) -> Option<String> {
    let whose = match (grant, preset) {
        (Grant::ClientCredentials, _) => "a machine account's client secret",
        (_, Preset::Github) => "GitHub treats the client secret as confidential",
        (_, Preset::Google) => return None,
        _ => return preset.refuses_key("client_secret"),
    };
    Some(format!(
        "client_secret must not be in the config file ({whose}, and this file is plain text); store it in the keyring with `sesame secret set {id}` and paste it when asked, then remove client_secret here"
    ))
}

fn validate_provider(
    p: RawProvider,
    invalid: &impl Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<ProviderConfig, ConfigError> {
    let id = p.id.get_ref().clone();
    if !is_provider_id(&id) {
        return Err(invalid(
            p.id.span(),
            format!(
                "provider id `{id}` may only use a-z, 0-9, `_` and `-` (and must not be empty)"
            ),
        ));
    }

    let preset = match &p.preset {
        None => Preset::Oidc,
        Some(v) => Preset::from_name(v.get_ref()).ok_or_else(|| {
            invalid(v.span(), format!("provider `{id}`: unknown preset `{}`; use one of {} (\"oidc\", the default, discovers everything from `issuer`)", v.get_ref(), Preset::names()))
        })?,
    };
    let grant = match &p.grant {
        None => Grant::AuthorizationCode,
        Some(grant) => match grant.get_ref().as_str() {
            "authorization_code" => Grant::AuthorizationCode,
            "client_credentials" if preset == Preset::Oidc => Grant::ClientCredentials,
            "client_credentials" => return Err(invalid(grant.span(), format!(
                "provider `{id}`: grant \"client_credentials\" (a machine account) works with preset = \"oidc\" (the default) only: remove `preset` and set `issuer` (or the endpoints) of the provider that registered the machine client; preset \"{}\" is for people signing in", preset.name()))),
            "implicit" => return Err(invalid(grant.span(), format!(
                "provider `{id}`: grant \"implicit\" is refused: OAuth 2.1 removes it because it puts tokens in URLs and browser history; use \"authorization_code\" (the default)"))),
            "password" => return Err(invalid(grant.span(), format!(
                "provider `{id}`: grant \"password\" is refused: OAuth 2.1 removes it because it hands the user's password to the app; use \"authorization_code\" (the default)"))),
            other => return Err(invalid(grant.span(), format!(
                "provider `{id}`: unknown grant `{other}`; the allowed values are \"authorization_code\" (the default: a person signs in in the browser) and \"client_credentials\" (a machine account)"))),
        },
    };
    if let Some(v) = &p.client_secret {
        if let Some(why) = client_secret_refusal(&id, preset, grant) {
            return Err(invalid(v.span(), format!("provider `{id}`: {why}")));
        }
    }

    // A preset decides these keys; letting the file override them half-way would leave
    // nobody sure which value is in force.
    let keys = [
        ("issuer", &p.issuer),
        ("authorization_endpoint", &p.authorization_endpoint),
        ("token_endpoint", &p.token_endpoint),
        ("revocation_endpoint", &p.revocation_endpoint),
        ("userinfo_endpoint", &p.userinfo_endpoint),
        ("device_authorization_endpoint", &p.device_authorization_endpoint),
        ("tenant", &p.tenant),
        ("instance", &p.instance),
    ];
    for (field, value) in keys {
        if let (Some(v), Some(why)) = (value, preset.refuses_key(field)) {
            return Err(invalid(v.span(), format!("provider `{id}`: {why}")));
        }
    }

    let url_field = |field: &str, value: &Spanned<String>| -> Result<Url, ConfigError> {
        let url = Url::parse(value.get_ref().trim()).map_err(|e| {
            invalid(
                value.span(),
                format!("provider `{id}`: {field} `{}` is not a valid URL ({e})", value.get_ref()),
            )
        })?;
        if !url_is_acceptable(&url) {
            return Err(invalid(value.span(), format!(
                "provider `{id}`: {field} must use https (plain http is allowed only for 127.0.0.1, ::1 and localhost), got `{url}`")));
        }
        if (field == "issuer" || field == "instance")
            && (url.query().is_some() || url.fragment().is_some())
        {
            return Err(invalid(value.span(), format!(
                "provider `{id}`: {field} must not contain a query (`?`) or fragment (`#`); use the issuer exactly as the provider's discovery document states it")));
        }
        Ok(url)
    };

    let instance = p.instance.as_ref().map(|v| url_field("instance", v)).transpose()?;
    let tenant = p.tenant.as_ref().map(|t| t.get_ref().trim());
    let tenant_span = p.tenant.as_ref().map_or(p.id.span(), Spanned::span);
    let fixed = preset
        .fixed(tenant, instance.as_ref())
        .map_err(|e| invalid(tenant_span, format!("provider `{id}`: {e}")))?;

    let issuer = match (&fixed, &p.issuer) {
        (Some(f), _) => f.issuer.clone(),
        (None, Some(v)) => url_field("issuer", v)?,
        (None, None) => return Err(invalid(p.id.span(), format!(
            "provider `{id}`: issuer is missing; set issuer = \"https://…\" (the provider's OpenID issuer), or choose a preset: {}", Preset::names()))),
    };

    if p.client_id.get_ref().trim().is_empty() {
        return Err(invalid(
            p.client_id.span(),
            format!(
                "provider `{id}`: client_id is empty; copy it from the provider's app registration"
            ),
        ));
    }
    // Only Google's may be here (checked above); without it, `sesame secret set` provides it.
    let client_secret = p
        .client_secret
        .as_ref()
        .map(|v| Secret::new(v.get_ref().trim()))
        .filter(|s| !s.expose().is_empty());

    let (scopes, scopes_span): (Vec<String>, _) = match (&p.scopes, &fixed) {
        (Some(v), _) => (v.get_ref().clone(), v.span()),
        (None, Some(f)) => (f.scopes.iter().map(str::to_owned).collect(), p.id.span()),
        (None, None) => return Err(invalid(p.id.span(), format!(
            "provider `{id}`: scopes is missing; list them, e.g. scopes = [\"openid\", \"email\", \"profile\", \"offline_access\"]"))),
    };
    if scopes.is_empty() {
        return Err(invalid(scopes_span, format!("provider `{id}`: scopes is empty; list at least one, e.g. scopes = [\"openid\", \"email\"]")));
    }
    if let Some(bad) = scopes
        .iter()
        .find(|s| s.is_empty() || s.chars().any(|c| c.is_whitespace() || c == '"' || c == '\\'))
    {
        return Err(invalid(scopes_span, format!(
            "provider `{id}`: scope `{bad}` is not a valid scope token; write one scope per list entry, without spaces")));
    }
    let scopes = ScopeSet::from(scopes);
    preset
        .check_scopes(&scopes)
        .map_err(|e| invalid(scopes_span.clone(), format!("provider `{id}`: {e}")))?;

    let url_of =
        |field: &str, value: &Option<Spanned<String>>| -> Result<Option<Url>, ConfigError> {
            value.as_ref().map(|v| url_field(field, v)).transpose()
        };
    let named = EndpointOverrides {
        authorization_endpoint: url_of("authorization_endpoint", &p.authorization_endpoint)?,
        token_endpoint: url_of("token_endpoint", &p.token_endpoint)?,
        revocation_endpoint: url_of("revocation_endpoint", &p.revocation_endpoint)?,
        userinfo_endpoint: url_of("userinfo_endpoint", &p.userinfo_endpoint)?,
        device_authorization_endpoint: url_of(
            "device_authorization_endpoint",
            &p.device_authorization_endpoint,
        )?,
    };
    // Both main endpoints named: no discovery at all. Fewer: discovery, and what the file
    // names wins over what the documents say.
    let (endpoints, endpoint_overrides) = match (&fixed, named) {
        (Some(f), _) => (f.endpoints.clone(), EndpointOverrides::default()),
        (
            None,
            EndpointOverrides {
                authorization_endpoint: Some(a),
                token_endpoint: Some(t),
                revocation_endpoint,
                userinfo_endpoint,
                device_authorization_endpoint,
            },
        ) => (
            Some(ManualEndpoints {
                authorization_endpoint: a,
                token_endpoint: t,
                revocation_endpoint,
                userinfo_endpoint,
                device_authorization_endpoint,
            }),
            EndpointOverrides::default(),
        ),
        (None, overrides) => (None, overrides),
    };

    let git_span = p.git_hosts.as_ref().map_or(p.id.span(), Spanned::span);
    let git = git::git_hosting(
        &id,
        preset,
        &issuer,
        p.git_hosts.as_ref().map(|h| h.get_ref().as_slice()),
        p.git_username.as_ref().map(|u| u.get_ref().as_str()),
    )
    .map_err(|e| invalid(git_span, e))?;
    let redirect_port = match &p.redirect_port {
        None => None,
        Some(v) => Some(u16::try_from(*v.get_ref()).ok().filter(|&port| port != 0).ok_or_else(|| {
            invalid(v.span(), format!("provider `{id}`: redirect_port must be a port number from 1 to 65535 (the one in the redirect URI registered at the provider, http://127.0.0.1:PORT/callback), got {}", v.get_ref()))
        })?),
    };
    let (default_narrowing, quirks) = match fixed {
        Some(f) => (f.allow_scope_narrowing, f.quirks),
        None => (true, Quirks::default()),
    };
    Ok(ProviderConfig {
        id,
        preset,
        issuer,
        client_id: p.client_id.into_inner().trim().to_owned(),
        grant,
        client_secret,
        scopes,
        scopes_line: None,
        endpoints,
        endpoint_overrides,
        allow_scope_narrowing: p.allow_scope_narrowing.unwrap_or(default_narrowing),
        redirect_port,
        refresh_revokes_access_tokens: p.refresh_revokes_access_tokens.unwrap_or(false),
        quirks,
        git,
    })
}

#[cfg(test)]
mod tests;
