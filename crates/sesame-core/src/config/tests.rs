//! Tests for the config file's parsing and validation.

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
    let e =
        err("[[provider]]\nid = \"p\"\nissuer = \"https://idp.example\"\nscopes = [\"openid\"]\n");
    assert!(e.contains("client_id"), "{e}");
}

#[test]
fn plain_http_to_remote_host_is_refused() {
    let text = "\n[[provider]]\nid = \"corp\"\nissuer = \"http://idp.example.com\"\nclient_id = \"c\"\nscopes = [\"openid\"]\n";
    let e = err(text);
    assert!(
        e.contains("line 4") && e.contains("`corp`") && e.contains("issuer") && e.contains("https"),
        "{e}"
    );
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
    let e = err(&provider(
        "authorization_endpoint = \"not a url\"\ntoken_endpoint = \"https://idp.example/t\"\n",
    ));
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
    assert!(
        e.contains("authorization_code")
            && e.contains("device")
            && e.contains("client_credentials"),
        "{e}"
    );
    parse(&provider("grant = \"authorization_code\"\n")).unwrap();
}

#[test]
fn client_credentials_is_a_machine_account_with_a_keyring_secret() {
    let c = parse(&provider("grant = \"client_credentials\"\n")).unwrap();
    let p = c.provider("p").unwrap();
    assert!(p.is_machine() && p.grant == Grant::ClientCredentials && p.client_secret.is_none());
    assert_eq!(p.secret_placement(), Some(SecretPlacement::Basic));
    assert_eq!(Grant::ClientCredentials.name(), "client_credentials");
    // The default is a person in the browser, as a public client.
    let local = parse(GOOD).unwrap();
    let local = local.provider("local").unwrap();
    assert_eq!((local.grant, local.secret_placement()), (Grant::AuthorizationCode, None));
    // Presets sign people in.
    let e = err("[[provider]]\nid = \"gh\"\npreset = \"github\"\nclient_id = \"c\"\ngrant = \"client_credentials\"\n");
    assert!(e.contains("line 5") && e.contains("preset = \"oidc\""), "{e}");
}

#[test]
fn confidential_client_secrets_are_refused_in_the_file() {
    // A machine account's secret: the keyring only, and the message says how.
    let e = err(&provider("grant = \"client_credentials\"\nclient_secret = \"machine-secret\"\n"));
    assert!(
        e.contains("line 7") && e.contains("`sesame secret set p`") && e.contains("keyring"),
        "{e}"
    );
    assert!(!e.contains("machine-secret"), "the error never quotes the secret: {e}");
    // The order of the keys does not matter.
    let e = err(&provider("client_secret = \"x\"\ngrant = \"client_credentials\"\n"));
    assert!(e.contains("line 6") && e.contains("sesame secret set p"), "{e}");
    // GitHub's is confidential too.
    let e = err("[[provider]]\nid = \"gh\"\npreset = \"github\"\nclient_id = \"c\"\nclient_secret = \"0123abcd\"\n");
    assert!(
        e.contains("line 5") && e.contains("GitHub") && e.contains("`sesame secret set gh`"),
        "{e}"
    );
    // Google's is not (Google says so), so the file may still hold it.
    let g = parse("[[provider]]\nid = \"g\"\npreset = \"google\"\nclient_id = \"c\"\nclient_secret = \"GOCSPX-x\"\n").unwrap();
    let g = g.provider("g").unwrap();
    assert_eq!(
        (g.client_secret.as_ref().map(Secret::expose), g.secret_placement()),
        (Some("GOCSPX-x"), Some(SecretPlacement::Form))
    );
}

/// Endpoints named next to `issuer` (not both main ones) are overrides: discovery still
/// runs and they win over it (oauth/metadata_tests.rs).
#[test]
fn endpoints_next_to_the_issuer_are_overrides() {
    let c = parse(&provider("revocation_endpoint = \"https://idp.example/r\"\n")).unwrap();
    let p = &c.providers[0];
    assert!(p.endpoints.is_none(), "still discovered");
    assert_eq!(
        p.endpoint_overrides.revocation_endpoint.as_ref().unwrap().as_str(),
        "https://idp.example/r"
    );
    let c = parse(&provider("authorization_endpoint = \"https://idp.example/a\"\n")).unwrap();
    assert!(c.providers[0].endpoints.is_none());
    assert!(c.providers[0].endpoint_overrides.authorization_endpoint.is_some());
    // A bad URL is still refused, with its line.
    let e = err(&provider("device_authorization_endpoint = \"http://idp.example/d\"\n"));
    assert!(e.contains("line 6") && e.contains("must use https"), "{e}");
}

#[test]
fn manual_device_endpoint() {
    let manual = "authorization_endpoint = \"https://idp.example/a\"\ntoken_endpoint = \"https://idp.example/t\"\n";
    let c = parse(&provider(&format!(
        "{manual}device_authorization_endpoint = \"https://idp.example/d\"\n"
    )))
    .unwrap();
    let ep = c.providers[0].endpoints.as_ref().unwrap();
    assert_eq!(
        ep.device_authorization_endpoint.as_ref().unwrap().as_str(),
        "https://idp.example/d"
    );
    let e = err(&provider(&format!(
        "{manual}device_authorization_endpoint = \"http://idp.example/d\"\n"
    )));
    assert!(e.contains("line 8") && e.contains("must use https"), "{e}");
    let e = err("[[provider]]\nid = \"g\"\npreset = \"github\"\nclient_id = \"c\"\ndevice_authorization_endpoint = \"https://x.example/d\"\n");
    assert!(e.contains("line 5") && e.contains("sets device_authorization_endpoint itself"), "{e}");
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
    assert_eq!(
        issuer_string(&Url::parse("https://a.example/realms/x").unwrap()),
        "https://a.example/realms/x"
    );
    assert_eq!(
        issuer_string(&Url::parse("https://a.example/v2.0/").unwrap()),
        "https://a.example/v2.0/"
    );
}

#[test]
fn demo_flag_defaults_to_off() {
    assert!(!parse("").unwrap().demo);
    assert!(parse("demo = true\n").unwrap().demo);
}

#[test]
fn redirect_port_pins_the_loopback_port() {
    let c = parse(&provider("redirect_port = 8912\n")).unwrap();
    assert_eq!(c.providers[0].redirect_port, Some(8912));
    assert_eq!(parse(&provider("")).unwrap().providers[0].redirect_port, None);
    for bad in ["0", "65536", "-1"] {
        let e = err(&provider(&format!("redirect_port = {bad}\n")));
        assert!(e.contains("line 6") && e.contains("redirect_port must be a port number"), "{e}");
    }
}
