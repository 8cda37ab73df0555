//! A broker with planted secrets, a fake provider that hands out more of them, and a
//! private HOME for the test process.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sesame_core::test_http;
use sesame_core::testing::{client_secret_key, MemoryStore};
use sesame_core::Broker;
use sesame_core::Caller;
use sesame_core::Config;
use sesame_core::Db;
use sesame_core::Keyring;
use sesame_core::ProcessRef;
use sesame_core::Secret;
use sesame_ipc::consent::{AppInfo, GrantEnd};
use sesame_ipc::protocol::{AccountInfo, AccountStatus};
use tokio::net::TcpListener;

/// Every planted secret contains this; no command answer may.
pub const PLANT: &str = "PLANTED";

/// A temp HOME with XDG dirs, set once for the whole test process.
pub fn private_home() -> PathBuf {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let home = std::env::temp_dir().join(format!("sesame-app-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(home.join("run")).unwrap();
        for (var, dir) in [
            ("HOME", ""),
            ("XDG_CONFIG_HOME", ".config"),
            ("XDG_DATA_HOME", ".local/share"),
            ("XDG_RUNTIME_DIR", "run"),
        ] {
            std::env::set_var(var, home.join(dir));
        }
        // login_start opens "the browser": here a program that does nothing.
        std::env::set_var("BROWSER", "true");
        home
    })
    .clone()
}

pub struct FakeProvider {
    pub base: String,
}

impl FakeProvider {
    /// Token endpoint (refresh, code and device grants), device authorization, userinfo
    /// and revocation, each answering with planted values. Runs on the current runtime.
    pub async fn start() -> FakeProvider {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let verification = format!("{base}/activate");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let verification = verification.clone();
                tokio::spawn(async move {
                    let text = test_http::read_request(&mut s).await;
                    let (status, body) = answer(&text, &verification);
                    test_http::respond(&mut s, status, "application/json", &body).await;
                });
            }
        });
        FakeProvider { base }
    }
}

fn answer(request: &str, verification: &str) -> (&'static str, String) {
    let post = |path: &str| request.starts_with(&format!("POST {path} "));
    if post("/token") && request.contains("grant_type=refresh_token") {
        ("200 OK", r#"{"access_token":"PLANTED-ACCESS-REFRESHED","refresh_token":"PLANTED-REFRESH-ROTATED","expires_in":3600,"token_type":"Bearer"}"#.into())
    } else if post("/token")
        && request.contains("grant_type=authorization_code")
        && request.contains("code=PLANTED-CODE")
    {
        ("200 OK", r#"{"access_token":"PLANTED-ACCESS-LOGIN","refresh_token":"PLANTED-REFRESH-LOGIN","expires_in":3600,"token_type":"Bearer","scope":"email offline_access"}"#.into())
    } else if post("/token") {
        ("400 Bad Request", r#"{"error":"authorization_pending"}"#.into())
    } else if post("/device") {
        let body = format!(
            r#"{{"device_code":"PLANTED-DEVICE-CODE","user_code":"WDJB-MJHT","verification_uri":"{verification}","interval":5,"expires_in":600}}"#
        );
        ("200 OK", body)
    } else if request.starts_with("GET /userinfo ") {
        ("200 OK", r#"{"sub":"bob","email":"bob@example.com","name":"Bob"}"#.into())
    } else if post("/revoke") {
        ("200 OK", String::new())
    } else {
        ("404 Not Found", r#"{"error":"invalid_request"}"#.into())
    }
}

fn app(key: &str) -> AppInfo {
    AppInfo {
        key: key.into(),
        name: key.rsplit('/').next().unwrap().into(),
        exe: key.into(),
        script: None,
        icon: Some("sesame-test-icon".into()),
        flatpak_app: None,
        sandboxed: false,
        content: None,
        chain: vec![],
        generic: None,
    }
}

pub fn trusted_caller() -> Caller {
    Caller {
        app: app("/usr/bin/trusted-tool"),
        process: ProcessRef { pid: 4242, start_time: 1 },
        via_cli: false,
        management: false,
        files: None,
    }
}

pub fn untrusted_caller() -> Caller {
    Caller {
        app: app("/usr/bin/new-tool"),
        process: ProcessRef { pid: 4343, start_time: 1 },
        via_cli: false,
        management: false,
        files: None,
    }
}

/// Account `acme-ann` with a planted refresh token, a planted client secret, and a grant
/// for `trusted-tool`. Must run on the tauri runtime (the broker starts tasks).
pub async fn planted_broker(provider: &FakeProvider) -> Arc<Broker> {
    let base = &provider.base;
    let text = format!(
        "consent_timeout_secs = 60\n[[provider]]\nid = \"acme\"\nissuer = \"{base}\"\nclient_id = \"desktop\"\nscopes = [\"email\", \"offline_access\"]\n\
         authorization_endpoint = \"{base}/authorize\"\ntoken_endpoint = \"{base}/token\"\nrevocation_endpoint = \"{base}/revoke\"\n\
         userinfo_endpoint = \"{base}/userinfo\"\ndevice_authorization_endpoint = \"{base}/device\"\n"
    );
    let config = Config::parse(&text, Path::new("test.toml")).unwrap();
    let store = Arc::new(MemoryStore::default());
    let keyring = Keyring::new(store, Duration::from_secs(5));
    keyring.set("acme-ann", &Secret::new("PLANTED-REFRESH-1")).await.unwrap();
    keyring.set(&client_secret_key("acme"), &Secret::new("PLANTED-CLIENT-SECRET")).await.unwrap();
    let db = Db::open_in_memory().unwrap();
    let ann = AccountInfo {
        id: "acme-ann".into(),
        provider: "acme".into(),
        issuer: base.clone(),
        subject: "ann".into(),
        email: Some("ann@example.com".into()),
        name: Some("Ann".into()),
        scopes: sesame_ipc::ScopeSet::from(["email", "offline_access"]),
        status: AccountStatus::Active,
        created_at: 1_700_000_000,
        last_refreshed_at: None,
    };
    db.upsert_account(&ann).unwrap();
    let scopes = sesame_ipc::ScopeSet::parse("email offline_access");
    db.insert_grant(&trusted_caller().app, "acme-ann", &scopes, 1_700_000_000, GrantEnd::NEVER)
        .unwrap();
    Broker::new(config, db, keyring).unwrap()
}

/// What the browser does after the user signs in: the provider redirects to the loopback
/// listener with a code (planted) and the `state` from the authorization URL.
pub fn browser_redirect(authorization_url: &str) {
    let url = url::Url::parse(authorization_url).unwrap();
    let param = |name: &str| {
        url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap()
    };
    let redirect = url::Url::parse(&param("redirect_uri")).unwrap();
    let target = format!("{}?code=PLANTED-CODE&state={}", redirect.path(), param("state"));
    let mut stream =
        std::net::TcpStream::connect((redirect.host_str().unwrap(), redirect.port().unwrap()))
            .unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        redirect.authority()
    )
    .unwrap();
    let mut page = String::new();
    let _ = stream.read_to_string(&mut page);
}
