//! The broker's TOML configuration: which providers exist and how to reach them.
//!
//! Parsing happens in two steps: serde reads the file into private `Raw*` structs that keep
//! byte spans (so every later complaint can name a line), then [`Config::parse`] validates
//! and converts them into the public types.

use crate::refresher::RefreshPolicy;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use url::{Host, Url};

use crate::presets::{Preset, Quirks};
use crate::Secret;

const DEFAULT_LOGIN_TIMEOUT_SECS: u64 = 300;
const MAX_LOGIN_TIMEOUT_SECS: u64 = 86_400;

/// Shown when the file is missing, so the user can copy it.
pub const EXAMPLE_CONFIG: &str = r#"[[provider]]
id = "example"
issuer = "https://login.example.com"
client_id = "your-client-id"
scopes = ["openid", "email", "profile", "offline_access"]
# or: preset = "google" | "microsoft" | "github" | "gitlab" instead of issuer (docs/providers.md)
"#;

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
    /// Only for the google and github presets, whose token endpoints demand it even from
    /// desktop apps (Google documents its desktop-client secrets as not confidential).
    /// Sent by [`crate::oauth::exchange_code`] and [`crate::oauth::refresh`] via the metadata.
    pub client_secret: Option<Secret>,
    pub scopes: Vec<String>,
    /// `Some` when the file (or the preset) names the endpoints: no discovery request is made.
    pub endpoints: Option<ManualEndpoints>,
    /// Whether a refresh may ask for a subset of the granted scopes (`scope=` on refresh).
    pub allow_scope_narrowing: bool,
    /// What this provider does differently; all defaults for plain OIDC.
    pub quirks: Quirks,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualEndpoints {
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub revocation_endpoint: Option<Url>,
    pub userinfo_endpoint: Option<Url>,
    /// RFC 8628; without it `sesame login --device` is refused for this provider.
    pub device_authorization_endpoint: Option<Url>,
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
            message: e.to_string().trim_end().to_owned(),
        })?;
        let invalid = |span: std::ops::Range<usize>, message: String| ConfigError::Invalid {
            path: origin.to_owned(),
            line: line_of(text, span.start),
            message,
        };

        let number = |value: Option<Spanned<u64>>, name: &str, default: u64, max: u64| match value {
            None => Ok(default),
            Some(v) if (1..=max).contains(v.get_ref()) => Ok(*v.get_ref()),
            Some(v) => Err(invalid(v.span(), format!("{name} must be between 1 and {max} (default {default}), got {}", v.get_ref()))),
        };
        let login_timeout = Duration::from_secs(number(raw.login_timeout_secs, "login_timeout_secs", DEFAULT_LOGIN_TIMEOUT_SECS, MAX_LOGIN_TIMEOUT_SECS)?);
        let consent_timeout = Duration::from_secs(number(raw.consent_timeout_secs, "consent_timeout_secs", 120, 3600)?);
        let activity_retention = Duration::from_secs(86_400 * number(raw.activity_retention_days, "activity_retention_days", 90, 36_500)?);
        let activity_max_rows = number(raw.activity_max_rows, "activity_max_rows", 100_000, 100_000_000)?;
        let refresh = RefreshPolicy {
            enabled: raw.proactive_refresh.unwrap_or(true),
            fraction: number(raw.refresh_at_percent, "refresh_at_percent", 75, 95)? as f64 / 100.0,
            idle: Duration::from_secs(number(raw.refresh_idle_secs, "refresh_idle_secs", 3600, 30 * 86_400)?),
        };

        let mut providers = Vec::with_capacity(raw.provider.len());
        let mut seen: HashMap<String, usize> = HashMap::new();
        for p in raw.provider {
            let id_span = p.id.span();
            let provider = validate_provider(p, &invalid)?;
            let line = line_of(text, id_span.start);
            if let Some(first) = seen.insert(provider.id.clone(), line) {
                return Err(invalid(
                    id_span,
                    format!("provider id `{}` is already used on line {first}; give each [[provider]] a unique id", provider.id),
                ));
            }
            providers.push(provider);
        }
        Ok(Config { login_timeout, consent_timeout, activity_retention, activity_max_rows, refresh, providers })
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
        self.scopes.iter().any(|s| s == "openid")
    }

    /// Whether the provider can issue one access token for all of `scopes`. Call it before
    /// a refresh or sign-in with these scopes: Microsoft refuses a set that spans two
    /// resources (APIs), and the error says which. `Ok` for providers without such rules.
    pub fn check_scope_set(&self, scopes: &[String]) -> Result<(), String> {
        self.preset.check_scopes(scopes).map_err(|e| format!("provider `{}`: {e}", self.id))
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
}

fn validate_provider(
    p: RawProvider,
    invalid: &impl Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<ProviderConfig, ConfigError> {
    let id = p.id.get_ref().clone();
    let id_ok = !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !id_ok {
        return Err(invalid(
            p.id.span(),
            format!("provider id `{id}` may only use a-z, 0-9, `_` and `-` (and must not be empty)"),
        ));
    }

    let preset = match &p.preset {
        None => Preset::Oidc,
        Some(v) => Preset::from_name(v.get_ref()).ok_or_else(|| {
            invalid(v.span(), format!("provider `{id}`: unknown preset `{}`; use one of {} (\"oidc\", the default, discovers everything from `issuer`)", v.get_ref(), Preset::names()))
        })?,
    };
    // A preset decides these keys; letting the file override them half-way would leave
    // nobody sure which value is in force.
    let keys = [("issuer", &p.issuer), ("authorization_endpoint", &p.authorization_endpoint), ("token_endpoint", &p.token_endpoint),
        ("revocation_endpoint", &p.revocation_endpoint), ("userinfo_endpoint", &p.userinfo_endpoint),
        ("device_authorization_endpoint", &p.device_authorization_endpoint), ("tenant", &p.tenant),
        ("instance", &p.instance), ("client_secret", &p.client_secret)];
    for (field, value) in keys {
        if let (Some(v), Some(why)) = (value, preset.refuses_key(field)) {
            return Err(invalid(v.span(), format!("provider `{id}`: {why}")));
        }
    }

    let url_field = |field: &str, value: &Spanned<String>| -> Result<Url, ConfigError> {
        let url = Url::parse(value.get_ref().trim()).map_err(|e| {
            invalid(value.span(), format!("provider `{id}`: {field} `{}` is not a valid URL ({e})", value.get_ref()))
        })?;
        if !url_is_acceptable(&url) {
            return Err(invalid(value.span(), format!(
                "provider `{id}`: {field} must use https (plain http is allowed only for 127.0.0.1, ::1 and localhost), got `{url}`")));
        }
        if (field == "issuer" || field == "instance") && (url.query().is_some() || url.fragment().is_some()) {
            return Err(invalid(value.span(), format!(
                "provider `{id}`: {field} must not contain a query (`?`) or fragment (`#`); use the issuer exactly as the provider's discovery document states it")));
        }
        Ok(url)
    };

    let instance = p.instance.as_ref().map(|v| url_field("instance", v)).transpose()?;
    let tenant = p.tenant.as_ref().map(|t| t.get_ref().trim());
    let tenant_span = p.tenant.as_ref().map_or(p.id.span(), Spanned::span);
    let fixed = preset.fixed(tenant, instance.as_ref()).map_err(|e| invalid(tenant_span, format!("provider `{id}`: {e}")))?;

    let issuer = match (&fixed, &p.issuer) {
        (Some(f), _) => f.issuer.clone(),
        (None, Some(v)) => url_field("issuer", v)?,
        (None, None) => return Err(invalid(p.id.span(), format!(
            "provider `{id}`: issuer is missing; set issuer = \"https://…\" (the provider's OpenID issuer), or choose a preset: {}", Preset::names()))),
    };

    if p.client_id.get_ref().trim().is_empty() {
        return Err(invalid(p.client_id.span(), format!("provider `{id}`: client_id is empty; copy it from the provider's app registration")));
    }
    let client_secret = p.client_secret.as_ref().map(|v| Secret::new(v.get_ref().trim())).filter(|s| !s.expose().is_empty());
    if let (None, Some(why)) = (&client_secret, preset.missing_client_secret()) {
        let at = p.client_secret.as_ref().map_or(p.id.span(), Spanned::span);
        return Err(invalid(at, format!("provider `{id}`: {why}")));
    }

    let (scopes, scopes_span) = match (&p.scopes, &fixed) {
        (Some(v), _) => (v.get_ref().clone(), v.span()),
        (None, Some(f)) => (f.scopes.clone(), p.id.span()),
        (None, None) => return Err(invalid(p.id.span(), format!(
            "provider `{id}`: scopes is missing; list them, e.g. scopes = [\"openid\", \"email\", \"profile\", \"offline_access\"]"))),
    };
    if scopes.is_empty() {
        return Err(invalid(scopes_span, format!("provider `{id}`: scopes is empty; list at least one, e.g. scopes = [\"openid\", \"email\"]")));
    }
    if let Some(bad) = scopes.iter().find(|s| s.is_empty() || s.chars().any(|c| c.is_whitespace() || c == '"' || c == '\\')) {
        return Err(invalid(scopes_span, format!(
            "provider `{id}`: scope `{bad}` is not a valid scope token; write one scope per list entry, without spaces")));
    }
    preset.check_scopes(&scopes).map_err(|e| invalid(scopes_span.clone(), format!("provider `{id}`: {e}")))?;

    if let Some(grant) = &p.grant {
        match grant.get_ref().as_str() {
            "authorization_code" => {}
            "implicit" => return Err(invalid(grant.span(), format!(
                "provider `{id}`: grant \"implicit\" is refused: OAuth 2.1 removes it because it puts tokens in URLs and browser history; use \"authorization_code\" (the default)"))),
            "password" => return Err(invalid(grant.span(), format!(
                "provider `{id}`: grant \"password\" is refused: OAuth 2.1 removes it because it hands the user's password to the app; use \"authorization_code\" (the default)"))),
            other => return Err(invalid(grant.span(), format!(
                "provider `{id}`: unknown grant `{other}`; the only allowed value is \"authorization_code\" (the default)"))),
        }
    }

    let endpoints = match (&fixed, &p.authorization_endpoint, &p.token_endpoint) {
        (Some(f), _, _) => f.endpoints.clone(),
        (None, Some(a), Some(t)) => Some(ManualEndpoints {
            authorization_endpoint: url_field("authorization_endpoint", a)?,
            token_endpoint: url_field("token_endpoint", t)?,
            revocation_endpoint: p.revocation_endpoint.as_ref().map(|v| url_field("revocation_endpoint", v)).transpose()?,
            userinfo_endpoint: p.userinfo_endpoint.as_ref().map(|v| url_field("userinfo_endpoint", v)).transpose()?,
            device_authorization_endpoint: p.device_authorization_endpoint.as_ref().map(|v| url_field("device_authorization_endpoint", v)).transpose()?,
        }),
        (None, Some(a), None) => return Err(invalid(a.span(), format!(
            "provider `{id}`: authorization_endpoint is set but token_endpoint is not; set both (no discovery) or neither (discovery from the issuer)"))),
        (None, None, Some(t)) => return Err(invalid(t.span(), format!(
            "provider `{id}`: token_endpoint is set but authorization_endpoint is not; set both (no discovery) or neither (discovery from the issuer)"))),
        (None, None, None) => {
            // Without the two main endpoints Sesame discovers everything; a lone optional
            // endpoint would be silently ignored, so say so instead.
            let optional = [("revocation_endpoint", &p.revocation_endpoint), ("userinfo_endpoint", &p.userinfo_endpoint), ("device_authorization_endpoint", &p.device_authorization_endpoint)];
            for (field, v) in optional {
                if let Some(v) = v {
                    return Err(invalid(v.span(), format!(
                        "provider `{id}`: {field} only applies together with authorization_endpoint and token_endpoint; add those two or remove {field} (discovery finds it)")));
                }
            }
            None
        }
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
        client_secret,
        scopes,
        endpoints,
        allow_scope_narrowing: p.allow_scope_narrowing.unwrap_or(default_narrowing),
        quirks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"login_timeout_secs = 120

[[provider]]
id = "local"
issuer = "http://127.0.0.1:9400"
client_id = "desktop-app"
scopes = ["openid", "email", "profile", "offline_access"]

[[provider]]
id = "github"
issuer = "https://github.com"
client_id = "Iv1.abc"
scopes = ["read:user"]
authorization_endpoint = "https://github.com/login/oauth/authorize"
token_endpoint = "https://github.com/login/oauth/access_token"
allow_scope_narrowing = false
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/tmp/sesame.toml"))
    }

    fn err(text: &str) -> String {
        parse(text).expect_err("config should be rejected").to_string()
    }

    fn provider(extra: &str) -> String {
        format!("[[provider]]\nid = \"p\"\nissuer = \"https://idp.example\"\nclient_id = \"c\"\nscopes = [\"openid\"]\n{extra}")
    }

    #[test]
    fn parses_good_config() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.login_timeout, Duration::from_secs(120));
        assert_eq!(c.providers.len(), 2);
        let local = c.provider("local").unwrap();
        assert_eq!(local.issuer_str(), "http://127.0.0.1:9400");
        assert!(local.endpoints.is_none());
        assert!(local.allow_scope_narrowing);
        let gh = c.provider("github").unwrap();
        assert!(!gh.allow_scope_narrowing);
        let ep = gh.endpoints.as_ref().unwrap();
        assert_eq!(ep.token_endpoint.as_str(), "https://github.com/login/oauth/access_token");
        assert!(ep.revocation_endpoint.is_none());
        assert!(c.provider("nope").is_none());
    }

    #[test]
    fn default_timeout_and_empty_file() {
        let c = parse("").unwrap();
        assert_eq!(c.login_timeout, Duration::from_secs(300));
        assert!(c.providers.is_empty());
    }

    #[test]
    fn missing_file_says_where_and_how() {
        let e = Config::load(Path::new("/nonexistent/sesame/config.toml")).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/sesame/config.toml"), "{e}");
        assert!(e.contains("[[provider]]") && e.contains("client_id"), "{e}");
    }

    #[test]
    fn toml_syntax_error_keeps_line_and_column() {
        let e = err("login_timeout_secs = 300\n[[provider]\n");
        assert!(e.starts_with("/tmp/sesame.toml: TOML parse error at line 2, column"), "{e}");
    }

    #[test]
    fn unknown_field_is_rejected_with_line() {
        let e = err(&provider("clientid = \"typo\"\n"));
        assert!(e.contains("line 6") && e.contains("clientid"), "{e}");
    }

    #[test]
    fn missing_field_is_named() {
        let e = err("[[provider]]\nid = \"p\"\nissuer = \"https://idp.example\"\nscopes = [\"openid\"]\n");
        assert!(e.contains("client_id"), "{e}");
    }

    #[test]
    fn plain_http_to_remote_host_is_refused() {
        let text = "\n[[provider]]\nid = \"corp\"\nissuer = \"http://idp.example.com\"\nclient_id = \"c\"\nscopes = [\"openid\"]\n";
        let e = err(text);
        assert!(e.contains("line 4") && e.contains("`corp`") && e.contains("issuer") && e.contains("https"), "{e}");
        let e = err(&provider("authorization_endpoint = \"https://idp.example/a\"\ntoken_endpoint = \"http://10.0.0.1/t\"\n"));
        assert!(e.contains("line 7") && e.contains("token_endpoint"), "{e}");
    }

    #[test]
    fn loopback_http_is_fine() {
        for host in ["127.0.0.1:9400", "127.1.2.3", "[::1]:80", "localhost:8080"] {
            let text = format!("[[provider]]\nid = \"p\"\nissuer = \"http://{host}\"\nclient_id = \"c\"\nscopes = [\"openid\"]\n");
            parse(&text).unwrap_or_else(|e| panic!("{host}: {e}"));
        }
    }

    #[test]
    fn bad_url_is_named() {
        let e = err(&provider("authorization_endpoint = \"not a url\"\ntoken_endpoint = \"https://idp.example/t\"\n"));
        assert!(e.contains("line 6") && e.contains("authorization_endpoint"), "{e}");
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let text = format!("{}\n{}", provider(""), provider(""));
        let e = err(&text);
        assert!(e.contains("line 8") && e.contains("already used on line 2"), "{e}");
    }

    #[test]
    fn bad_id_is_refused() {
        let e = err("[[provider]]\nid = \"My Provider\"\nissuer = \"https://idp.example\"\nclient_id = \"c\"\nscopes = [\"openid\"]\n");
        assert!(e.contains("line 2") && e.contains("a-z"), "{e}");
    }

    #[test]
    fn empty_scopes_are_refused() {
        let e = err("[[provider]]\nid = \"p\"\nissuer = \"https://idp.example\"\nclient_id = \"c\"\nscopes = []\n");
        assert!(e.contains("line 5") && e.contains("scopes is empty"), "{e}");
    }

    #[test]
    fn removed_grants_are_explained() {
        let e = err(&provider("grant = \"implicit\"\n"));
        assert!(e.contains("line 6") && e.contains("OAuth 2.1") && e.contains("history"), "{e}");
        let e = err(&provider("grant = \"password\"\n"));
        assert!(e.contains("OAuth 2.1") && e.contains("password"), "{e}");
        let e = err(&provider("grant = \"device\"\n"));
        assert!(e.contains("authorization_code") && e.contains("device"), "{e}");
        parse(&provider("grant = \"authorization_code\"\n")).unwrap();
    }

    #[test]
    fn half_manual_endpoints_are_refused() {
        let e = err(&provider("authorization_endpoint = \"https://idp.example/a\"\n"));
        assert!(e.contains("line 6") && e.contains("token_endpoint"), "{e}");
        let e = err(&provider("revocation_endpoint = \"https://idp.example/r\"\n"));
        assert!(e.contains("line 6") && e.contains("revocation_endpoint"), "{e}");
        let e = err(&provider("device_authorization_endpoint = \"https://idp.example/d\"\n"));
        assert!(e.contains("line 6") && e.contains("device_authorization_endpoint only applies"), "{e}");
    }

    #[test]
    fn manual_device_endpoint() {
        let manual = "authorization_endpoint = \"https://idp.example/a\"\ntoken_endpoint = \"https://idp.example/t\"\n";
        let c = parse(&provider(&format!("{manual}device_authorization_endpoint = \"https://idp.example/d\"\n"))).unwrap();
        let ep = c.providers[0].endpoints.as_ref().unwrap();
        assert_eq!(ep.device_authorization_endpoint.as_ref().unwrap().as_str(), "https://idp.example/d");
        let e = err(&provider(&format!("{manual}device_authorization_endpoint = \"http://idp.example/d\"\n")));
        assert!(e.contains("line 8") && e.contains("must use https"), "{e}");
        let e = err("[[provider]]\nid = \"g\"\npreset = \"github\"\nclient_id = \"c\"\nclient_secret = \"s\"\ndevice_authorization_endpoint = \"https://x.example/d\"\n");
        assert!(e.contains("line 6") && e.contains("sets device_authorization_endpoint itself"), "{e}");
    }

    #[test]
    fn zero_timeout_is_refused() {
        let e = err("login_timeout_secs = 0\n");
        assert!(e.contains("line 1") && e.contains("login_timeout_secs"), "{e}");
        let e = err("\nconsent_timeout_secs = 99999\n");
        assert!(e.contains("line 2") && e.contains("consent_timeout_secs"), "{e}");
    }

    #[test]
    fn issuer_string_keeps_paths() {
        assert_eq!(issuer_string(&Url::parse("https://a.example").unwrap()), "https://a.example");
        assert_eq!(issuer_string(&Url::parse("https://a.example/realms/x").unwrap()), "https://a.example/realms/x");
        assert_eq!(issuer_string(&Url::parse("https://a.example/v2.0/").unwrap()), "https://a.example/v2.0/");
    }
}
