//! Provider presets: `preset = "google" | "microsoft" | "github" | "gitlab"` in a
//! `[[provider]]` table fills in what that provider always needs (issuer or endpoints,
//! default scopes) and records its quirks, so the user writes only `id` and `client_id`.
//! `preset = "oidc"` (the default) is plain discovery from `issuer`.
//!
//! What each quirk means for the broker is described on [`Quirks`]; docs/providers.md has
//! the user-facing side (app registration, redirect URIs).

use url::Url;

use super::ManualEndpoints;
use crate::ScopeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    Oidc,
    Google,
    Microsoft,
    Github,
    Gitlab,
}

/// How the authorization URL asks for consent (`prompt=consent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConsentPrompt {
    /// OIDC Core §11: `offline_access` is ignored without `prompt=consent`, so send it
    /// whenever the scopes include `offline_access`.
    #[default]
    WithOfflineAccess,
    /// Google returns a refresh token only on the first consent; `prompt=consent` forces a
    /// new one. Sent only while no refresh token is stored, so a returning user is not
    /// asked again every time.
    UntilRefreshTokenStored,
    /// The provider issues refresh tokens without it (Microsoft, GitHub, GitLab). On
    /// Microsoft it would even block users who may not consent themselves.
    Never,
}

/// Provider behaviour that differs from plain OAuth 2.0 / OIDC. `Default` is plain OIDC.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Quirks {
    /// Added to the authorization URL as-is (Google: `access_type=offline`).
    pub extra_authorization_params: Vec<(String, String)>,
    pub consent_prompt: ConsentPrompt,
    /// Every refresh returns a new refresh token and kills the old one (Microsoft, GitLab).
    /// Informational: the broker already stores any rotated token before using it.
    pub rotates_refresh_tokens: bool,
    /// Where the RFC 8628 device sign-in starts when the provider's discovery document does
    /// not say (GitLab's does not list its `/oauth/authorize_device`).
    pub device_authorization_endpoint: Option<Url>,
    /// Added to the error when the provider refuses the device sign-in for this client: each
    /// provider enables it for an app registration differently.
    pub device_flow_hint: Option<String>,
    /// Microsoft: an access token is for one resource (API) only; see [`resource_of`].
    pub one_resource_per_token: bool,
    /// Shown at sign-out when the provider has no revocation endpoint, so the user knows
    /// where the grant can be ended by hand.
    pub revocation_hint: Option<String>,
}

/// Everything a preset decides.
pub(crate) struct Fixed {
    pub issuer: Url,
    pub endpoints: Option<ManualEndpoints>,
    pub scopes: ScopeSet,
    pub allow_scope_narrowing: bool,
    pub quirks: Quirks,
}

pub const GITLAB_DEFAULT_INSTANCE: &str = "https://gitlab.com";
const GRAPH: &str = "https://graph.microsoft.com";
/// OIDC scopes name no API, so they never count as a Microsoft resource.
const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

impl Preset {
    pub const ALL: [Preset; 5] =
        [Preset::Oidc, Preset::Google, Preset::Microsoft, Preset::Github, Preset::Gitlab];

    pub fn name(self) -> &'static str {
        match self {
            Preset::Oidc => "oidc",
            Preset::Google => "google",
            Preset::Microsoft => "microsoft",
            Preset::Github => "github",
            Preset::Gitlab => "gitlab",
        }
    }

    pub fn from_name(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == name)
    }

    /// `"oidc", "google", …` for error messages.
    pub fn names() -> String {
        Preset::ALL.iter().map(|p| format!("\"{}\"", p.name())).collect::<Vec<_>>().join(", ")
    }

    /// Why `field` may not appear in a `[[provider]]` with this preset, if it may not.
    pub(crate) fn refuses_key(self, field: &str) -> Option<String> {
        let name = self.name();
        match field {
            "issuer" | "authorization_endpoint" | "token_endpoint" | "revocation_endpoint" | "userinfo_endpoint" | "device_authorization_endpoint" if self != Preset::Oidc => {
                let instead = match self {
                    Preset::Microsoft => " (set `tenant` to choose the directory)",
                    Preset::Gitlab => " (set `instance` for a self-managed GitLab)",
                    _ => "",
                };
                Some(format!("preset \"{name}\" sets {field} itself{instead}; remove `{field}`, or use preset = \"oidc\" to set everything by hand"))
            }
            "tenant" if self != Preset::Microsoft => Some("`tenant` only applies to preset = \"microsoft\"; remove it".into()),
            "instance" if self != Preset::Gitlab => Some("`instance` only applies to preset = \"gitlab\"; remove it".into()),
            "client_secret" if !matches!(self, Preset::Google | Preset::Github) => Some(
                "`client_secret` is only used with preset \"google\" and \"github\", whose token endpoints demand it even with PKCE, and by machine accounts (grant = \"client_credentials\"); Sesame signs in to every other provider as a public client, so remove it".into(),
            ),
            _ => None,
        }
    }

    /// The preset's issuer, endpoints, scopes and quirks; `None` for plain OIDC. `tenant`
    /// is Microsoft's (required), `instance` GitLab's (already checked as a URL).
    pub(crate) fn fixed(
        self,
        tenant: Option<&str>,
        instance: Option<&Url>,
    ) -> Result<Option<Fixed>, String> {
        let url = |s: &str| Url::parse(s).expect("preset URLs are valid");
        let scopes = |list: &[&str]| list.iter().collect();
        let fixed = match self {
            Preset::Oidc => return Ok(None),
            Preset::Google => Fixed {
                issuer: url("https://accounts.google.com"),
                endpoints: None,
                // Google has no offline_access scope; access_type=offline asks for the refresh token.
                scopes: scopes(&["openid", "email", "profile"]),
                allow_scope_narrowing: true,
                quirks: Quirks {
                    extra_authorization_params: vec![("access_type".into(), "offline".into())],
                    consent_prompt: ConsentPrompt::UntilRefreshTokenStored,
                    device_flow_hint: Some(
                        "Google offers the device sign-in only to OAuth clients of type \"TVs and Limited Input devices\" (it refuses a Desktop app client with invalid_client); create one in the Google Cloud console and configure it as a second [[provider]] with preset = \"google\" and that client's client_id and client_secret".into(),
                    ),
                    ..Quirks::default()
                },
            },
            Preset::Microsoft => Fixed {
                issuer: url(&format!("https://login.microsoftonline.com/{}/v2.0", microsoft_tenant(tenant)?)),
                endpoints: None,
                scopes: scopes(&["openid", "email", "profile", "offline_access"]),
                allow_scope_narrowing: true,
                quirks: Quirks {
                    consent_prompt: ConsentPrompt::Never,
                    rotates_refresh_tokens: true,
                    device_flow_hint: Some(
                        "Microsoft allows the device sign-in only when the app registration has \"Allow public client flows\" set to Yes (Authentication → Advanced settings)".into(),
                    ),
                    one_resource_per_token: true,
                    ..Quirks::default()
                },
            },
            Preset::Github => Fixed {
                // Not an OpenID issuer; it names the provider in account ids.
                issuer: url("https://github.com"),
                endpoints: Some(ManualEndpoints {
                    authorization_endpoint: url("https://github.com/login/oauth/authorize"),
                    token_endpoint: url("https://github.com/login/oauth/access_token"),
                    revocation_endpoint: None,
                    userinfo_endpoint: Some(url("https://api.github.com/user")),
                    device_authorization_endpoint: Some(url("https://github.com/login/device/code")),
                }),
                scopes: scopes(&["read:user", "user:email"]),
                // GitHub's refresh grant takes no `scope`.
                allow_scope_narrowing: false,
                quirks: Quirks {
                    consent_prompt: ConsentPrompt::Never,
                    // Expiring user tokens (GitHub Apps) rotate their refresh token on use.
                    rotates_refresh_tokens: true,
                    device_flow_hint: Some(
                        "GitHub offers the device sign-in only when \"Enable Device Flow\" is ticked in the app's settings (Settings → Developer settings → your GitHub App or OAuth App)".into(),
                    ),
                    revocation_hint: Some(
                        "GitHub offers apps like Sesame no way to revoke a token; revoke Sesame's access at https://github.com/settings/applications".into(),
                    ),
                    ..Quirks::default()
                },
            },
            Preset::Gitlab => {
                let issuer = instance.cloned().unwrap_or_else(|| url(GITLAB_DEFAULT_INSTANCE));
                let device = url(&format!("{}/oauth/authorize_device", issuer.as_str().trim_end_matches('/')));
                Fixed {
                    issuer,
                    endpoints: None,
                    // GitLab issues refresh tokens without offline_access; read_user lets
                    // programs ask who the user is (GET /api/v4/user) and nothing more.
                    scopes: scopes(&["openid", "profile", "email", "read_user"]),
                    allow_scope_narrowing: true,
                    quirks: Quirks {
                        consent_prompt: ConsentPrompt::Never,
                        rotates_refresh_tokens: true,
                        // GitLab 17.1 and later; its discovery document does not list it.
                        device_authorization_endpoint: Some(device),
                        device_flow_hint: Some(
                            "GitLab offers the device sign-in from version 17.1 on (some versions only when an administrator enabled it), for applications that are not marked \"Confidential\"".into(),
                        ),
                        ..Quirks::default()
                    },
                }
            }
        };
        Ok(Some(fixed))
    }

    /// Scope rules a provider enforces, checked at load time (the configured `scopes`) and
    /// by [`crate::config::ProviderConfig::check_scope_set`] before minting.
    pub(crate) fn check_scopes(self, scopes: &ScopeSet) -> Result<(), String> {
        let has = |s: &str| scopes.contains(s);
        match self {
            Preset::Google if has("offline_access") => Err(
                "Google has no offline_access scope (it refuses the sign-in); remove it: the google preset asks for a refresh token with access_type=offline".into(),
            ),
            Preset::Github if has("openid") => Err(
                "GitHub is not an OpenID Connect provider and has no openid scope; remove it (Sesame reads who you are from https://api.github.com/user)".into(),
            ),
            Preset::Microsoft => one_resource(scopes),
            _ => Ok(()),
        }
    }
}

/// The Microsoft resource (API) a scope belongs to: `https://outlook.office.com` for
/// `https://outlook.office.com/IMAP.AccessAsUser.All`, `api://<app>` for
/// `api://<app>/access_as_user`, Microsoft Graph for a bare `Mail.Read` (Graph is the
/// default resource). `None` for the OpenID scopes, which belong to no resource.
pub fn resource_of(scope: &str) -> Option<&str> {
    if OIDC_SCOPES.contains(&scope) {
        return None;
    }
    match scope.rfind('/') {
        // Some resources end in a slash (`https://management.azure.com//user_impersonation`).
        Some(i) => Some(scope[..i].trim_end_matches('/')),
        None => Some(GRAPH),
    }
}

/// Microsoft refuses a request whose scopes name two resources (AADSTS28000/70011): a
/// token is for one API. Refresh tokens are not, so each resource needs its own request.
fn one_resource(scopes: &ScopeSet) -> Result<(), String> {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for scope in scopes {
        let Some(resource) = resource_of(scope) else { continue };
        if !seen.iter().any(|(r, _)| r.eq_ignore_ascii_case(resource)) {
            seen.push((resource, scope));
        }
    }
    if seen.len() <= 1 {
        return Ok(());
    }
    let list = seen.iter().map(|(r, s)| format!("{r} (from `{s}`)")).collect::<Vec<_>>().join(", ");
    Err(format!(
        "Microsoft issues each access token for one resource, but these scopes name {}: {list}; ask for each resource's scopes in a separate request",
        seen.len()
    ))
}

/// Required rather than defaulted to "common": the right value follows from the app
/// registration's supported account types, and a wrong guess only shows up as an Entra
/// error page in the middle of the sign-in.
fn microsoft_tenant(tenant: Option<&str>) -> Result<&str, String> {
    let Some(tenant) = tenant else {
        return Err("preset \"microsoft\" needs `tenant`: \"organizations\" (work or school accounts), \"consumers\" (personal accounts), \"common\" (both) or your directory's tenant ID, matching the app registration's supported account types".into());
    };
    // A GUID, a domain or an alias; anything else would change the issuer URL's path.
    let ok = !tenant.is_empty()
        && !tenant.starts_with('.')
        && tenant.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !ok {
        return Err(format!("tenant `{tenant}` is neither a tenant ID, a domain nor one of common, organizations, consumers; copy the Directory (tenant) ID from the app registration's Overview page"));
    }
    Ok(tenant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ProviderConfig};
    use std::path::Path;

    fn parse(body: &str) -> Result<ProviderConfig, String> {
        let text = format!("[[provider]]\nid = \"p\"\n{body}");
        Config::parse(&text, Path::new("/tmp/sesame.toml"))
            .map(|mut c| c.providers.remove(0))
            .map_err(|e| e.to_string())
    }

    fn err(body: &str) -> String {
        parse(body).expect_err("config should be rejected")
    }

    fn strings(list: &[&str]) -> crate::ScopeSet {
        list.iter().collect()
    }

    #[test]
    fn google_preset() {
        let g = parse("preset = \"google\"\nclient_id = \"1234-abc.apps.googleusercontent.com\"\nclient_secret = \"GOCSPX-abc\"\n").unwrap();
        assert_eq!(
            (g.preset, g.issuer_str().as_str()),
            (Preset::Google, "https://accounts.google.com")
        );
        assert_eq!(g.scopes, strings(&["openid", "email", "profile"]));
        assert!(g.endpoints.is_none(), "Google is discovered");
        assert_eq!(
            g.quirks.extra_authorization_params,
            vec![("access_type".to_string(), "offline".to_string())]
        );
        assert_eq!(g.quirks.consent_prompt, ConsentPrompt::UntilRefreshTokenStored);
        assert_eq!(g.client_secret.as_ref().map(|s| s.expose()), Some("GOCSPX-abc"));
        assert!(!format!("{g:?}").contains("GOCSPX-abc"), "Debug must not show the client secret");
        // Without one in the file, the secret comes from the keyring (`sesame secret set`);
        // a sign-in without either is refused then (broker/secrets.rs), with this advice.
        let g = parse("preset = \"google\"\nclient_id = \"c\"\n").unwrap();
        assert!(
            g.client_secret.is_none()
                && g.secret_placement() == Some(crate::config::SecretPlacement::Form)
        );
        assert!(g.client_secret_source().contains("Desktop app"));
        let e = err("preset = \"google\"\nclient_id = \"c\"\nclient_secret = \"s\"\nscopes = [\"openid\", \"offline_access\"]\n");
        assert!(e.contains("line 6") && e.contains("access_type=offline"), "{e}");
    }

    #[test]
    fn microsoft_preset() {
        let m = parse("preset = \"microsoft\"\ntenant = \"organizations\"\nclient_id = \"c\"\n")
            .unwrap();
        assert_eq!(m.issuer_str(), "https://login.microsoftonline.com/organizations/v2.0");
        assert_eq!(m.scopes, strings(&["openid", "email", "profile", "offline_access"]));
        assert!(m.quirks.rotates_refresh_tokens && m.quirks.one_resource_per_token);
        assert_eq!(m.quirks.consent_prompt, ConsentPrompt::Never);
        let e = err("preset = \"microsoft\"\nclient_id = \"c\"\n");
        assert!(
            e.contains("line 2") && e.contains("needs `tenant`") && e.contains("organizations"),
            "{e}"
        );
        let e = err("preset = \"microsoft\"\ntenant = \"a/b\"\nclient_id = \"c\"\n");
        assert!(e.contains("line 4") && e.contains("Directory (tenant) ID"), "{e}");
        let e = err("preset = \"microsoft\"\ntenant = \"common\"\nclient_id = \"c\"\nclient_secret = \"s\"\n");
        assert!(e.contains("line 6") && e.contains("public client"), "{e}");
        let e = err("preset = \"microsoft\"\ntenant = \"common\"\nclient_id = \"c\"\nscopes = [\"openid\", \"https://graph.microsoft.com/Mail.Read\", \"https://outlook.office.com/IMAP.AccessAsUser.All\"]\n");
        assert!(
            e.contains("line 6")
                && e.contains("one resource")
                && e.contains("https://outlook.office.com"),
            "{e}"
        );
    }

    #[test]
    fn github_preset() {
        let g = parse("preset = \"github\"\nclient_id = \"Ov23liABC\"\n").unwrap();
        assert!(
            g.client_secret.is_none()
                && g.secret_placement() == Some(crate::config::SecretPlacement::Form)
        );
        assert!(g.client_secret_source().contains("settings page"));
        // GitHub's secret is confidential: the keyring, never the file.
        let e =
            err("preset = \"github\"\nclient_id = \"Ov23liABC\"\nclient_secret = \"0123abcd\"\n");
        assert!(
            e.contains("line 5") && e.contains("`sesame secret set p`") && !e.contains("0123abcd"),
            "{e}"
        );
        let ep = g.endpoints.as_ref().expect("GitHub has no discovery");
        assert_eq!(ep.authorization_endpoint.as_str(), "https://github.com/login/oauth/authorize");
        assert_eq!(ep.token_endpoint.as_str(), "https://github.com/login/oauth/access_token");
        assert_eq!(ep.userinfo_endpoint.as_ref().unwrap().as_str(), "https://api.github.com/user");
        assert!(ep.revocation_endpoint.is_none());
        assert_eq!(
            ep.device_authorization_endpoint.as_ref().unwrap().as_str(),
            "https://github.com/login/device/code"
        );
        assert!(g.quirks.device_flow_hint.as_deref().unwrap().contains("Enable Device Flow"));
        assert!(g
            .quirks
            .revocation_hint
            .as_deref()
            .unwrap()
            .contains("https://github.com/settings/applications"));
        assert_eq!(g.scopes, strings(&["read:user", "user:email"]));
        assert!(!g.allow_scope_narrowing && !g.wants_openid());
        let e = err("preset = \"github\"\nclient_id = \"c\"\nscopes = [\"openid\", \"repo\"]\n");
        assert!(e.contains("line 5") && e.contains("not an OpenID Connect provider"), "{e}");
        let e = err(
            "preset = \"github\"\nclient_id = \"c\"\ntoken_endpoint = \"https://github.com/x\"\n",
        );
        assert!(e.contains("line 5") && e.contains("remove `token_endpoint`"), "{e}");
    }

    #[test]
    fn gitlab_preset() {
        let g = parse("preset = \"gitlab\"\nclient_id = \"c\"\n").unwrap();
        assert_eq!(g.issuer_str(), "https://gitlab.com");
        assert_eq!(g.scopes, strings(&["openid", "profile", "email", "read_user"]));
        assert!(g.client_secret.is_none());
        assert_eq!(
            g.quirks.device_authorization_endpoint.as_ref().unwrap().as_str(),
            "https://gitlab.com/oauth/authorize_device"
        );
        assert!(g.quirks.device_flow_hint.as_deref().unwrap().contains("17.1"));
        let g = parse("preset = \"gitlab\"\ninstance = \"https://git.example.org/gitlab\"\nclient_id = \"c\"\nscopes = [\"openid\", \"read_api\"]\n").unwrap();
        assert_eq!(
            (g.issuer_str().as_str(), g.scopes.len()),
            ("https://git.example.org/gitlab", 2)
        );
        assert_eq!(
            g.quirks.device_authorization_endpoint.unwrap().as_str(),
            "https://git.example.org/gitlab/oauth/authorize_device"
        );
        let e =
            err("preset = \"gitlab\"\ninstance = \"http://git.example.org\"\nclient_id = \"c\"\n");
        assert!(e.contains("line 4") && e.contains("instance must use https"), "{e}");
        let e = err("preset = \"gitlab\"\nissuer = \"https://gitlab.com\"\nclient_id = \"c\"\n");
        assert!(e.contains("line 4") && e.contains("set `instance`"), "{e}");
    }

    #[test]
    fn preset_keys_and_names() {
        let e = err("preset = \"okta\"\nclient_id = \"c\"\n");
        assert!(
            e.contains("line 3") && e.contains("unknown preset `okta`") && e.contains("\"gitlab\""),
            "{e}"
        );
        let e = err(
            "preset = \"google\"\ntenant = \"common\"\nclient_id = \"c\"\nclient_secret = \"s\"\n",
        );
        assert!(e.contains("line 4") && e.contains("`tenant` only applies"), "{e}");
        let e = err("issuer = \"https://idp.example\"\nclient_id = \"c\"\nscopes = [\"openid\"]\nclient_secret = \"s\"\n");
        assert!(e.contains("line 6") && e.contains("client_secret"), "{e}");
        let e = err("client_id = \"c\"\nscopes = [\"openid\"]\n");
        assert!(e.contains("line 2") && e.contains("issuer is missing"), "{e}");
        let e = err("issuer = \"https://idp.example\"\nclient_id = \"c\"\n");
        assert!(e.contains("scopes is missing"), "{e}");
        let explicit = parse("preset = \"oidc\"\nissuer = \"https://idp.example\"\nclient_id = \"c\"\nscopes = [\"openid\"]\n").unwrap();
        assert_eq!((explicit.preset, explicit.quirks.clone()), (Preset::Oidc, Quirks::default()));
        let e = err("issuer = \"https://idp.example\"\nclient_id = \"c\"\nscopes = [\"openid\"]\ngrant = \"implicit\"\n");
        assert!(e.contains("OAuth 2.1"), "{e}");
    }

    #[test]
    fn microsoft_resources() {
        assert_eq!(resource_of("openid"), None);
        assert_eq!(resource_of("offline_access"), None);
        assert_eq!(resource_of("Mail.Read"), Some(GRAPH));
        assert_eq!(resource_of("https://graph.microsoft.com/Mail.Read"), Some(GRAPH));
        assert_eq!(
            resource_of("https://outlook.office.com/IMAP.AccessAsUser.All"),
            Some("https://outlook.office.com")
        );
        assert_eq!(
            resource_of("api://11112222-bbbb-3333-cccc-4444dddd5555/access_as_user"),
            Some("api://11112222-bbbb-3333-cccc-4444dddd5555")
        );
        assert_eq!(
            resource_of("https://management.azure.com//user_impersonation"),
            Some("https://management.azure.com")
        );
        assert_eq!(resource_of("https://graph.microsoft.com/.default"), Some(GRAPH));
    }

    #[test]
    fn check_scope_set_per_resource() {
        let m = parse("preset = \"microsoft\"\ntenant = \"common\"\nclient_id = \"c\"\n").unwrap();
        m.check_scope_set(&strings(&[
            "openid",
            "offline_access",
            "Mail.Read",
            "https://graph.microsoft.com/User.Read",
        ]))
        .unwrap();
        m.check_scope_set(&strings(&[
            "offline_access",
            "https://outlook.office.com/IMAP.AccessAsUser.All",
            "https://outlook.office.com/SMTP.Send",
        ]))
        .unwrap();
        let e = m
            .check_scope_set(&strings(&[
                "https://graph.microsoft.com/Mail.Read",
                "https://outlook.office.com/IMAP.AccessAsUser.All",
            ]))
            .unwrap_err();
        assert!(
            e.starts_with("provider `p`: ")
                && e.contains("name 2")
                && e.contains("separate request"),
            "{e}"
        );
        // Case differences in the host are the same resource.
        m.check_scope_set(&strings(&["https://Graph.Microsoft.com/Mail.Read", "User.Read"]))
            .unwrap();
        // Other providers have no such rule.
        let o = parse(
            "issuer = \"https://idp.example\"\nclient_id = \"c\"\nscopes = [\"a/x\", \"b/y\"]\n",
        )
        .unwrap();
        o.check_scope_set(&strings(&["a/x", "b/y"])).unwrap();
    }
}
