//! Tests for the device flow: the answer parser, the polling rules, the polling loop (on a
//! fake clock: no real time passes and nothing is timed) and the two requests.

use std::collections::VecDeque;
use std::sync::Mutex;

use reqwest::StatusCode;
use sesame_ipc::ErrorKind;

use super::*;

fn answer(status: u16, content_type: &str, body: &str) -> HttpAnswer {
    HttpAnswer {
        status: StatusCode::from_u16(status).unwrap(),
        content_type: content_type.into(),
        retry_after: None,
        location: None,
        body: body.as_bytes().to_vec(),
    }
}

fn json(body: &str) -> HttpAnswer {
    answer(200, "application/json", body)
}

const RFC_EXAMPLE: &str = r#"{"device_code":"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS","user_code":"WDJB-MJHT",
    "verification_uri":"https://example.com/device","verification_uri_complete":"https://example.com/device?user_code=WDJB-MJHT",
    "expires_in":1800,"interval":5}"#;

#[test]
fn parses_the_rfc_example() {
    let a = parse_device_authorization(&json(RFC_EXAMPLE)).unwrap();
    assert_eq!(a.device_code.expose(), "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS");
    assert_eq!(a.user_code, "WDJB-MJHT");
    assert_eq!(a.verification_uri.as_str(), "https://example.com/device");
    assert_eq!(
        a.verification_uri_complete.as_ref().unwrap().as_str(),
        "https://example.com/device?user_code=WDJB-MJHT"
    );
    assert_eq!((a.expires_in, a.interval), (Duration::from_secs(1800), Duration::from_secs(5)));
    assert!(!format!("{a:?}").contains("GmRhmhcxhwAzkoEqiMEg"), "Debug must hide the device code");
}

#[test]
fn lenient_about_what_providers_really_send() {
    // Google: `verification_url`, no complete URI. No interval: 5 s (RFC 8628 §3.2).
    let a = parse_device_authorization(&json(r#"{"device_code":"d","user_code":"GQVQ-JKEC","verification_url":"https://www.google.com/device","expires_in":1800}"#)).unwrap();
    assert_eq!(a.verification_uri.as_str(), "https://www.google.com/device");
    assert!(a.verification_uri_complete.is_none());
    assert_eq!(a.interval, DEFAULT_INTERVAL);
    // Numbers as strings; a form-encoded answer (GitHub without Accept: application/json).
    let form = "device_code=d&user_code=WDJB-MJHT&verification_uri=https%3A%2F%2Fgithub.com%2Flogin%2Fdevice&expires_in=899&interval=5";
    let a = parse_device_authorization(&answer(
        200,
        "application/x-www-form-urlencoded; charset=utf-8",
        form,
    ))
    .unwrap();
    assert_eq!((a.expires_in.as_secs(), a.interval.as_secs()), (899, 5));
    // An interval of 0 is raised to 1 s; a huge lifetime is capped at an hour; no lifetime is 15 min.
    let a = parse_device_authorization(&json(r#"{"device_code":"d","user_code":"U","verification_uri":"https://x.example/d","expires_in":"99999999","interval":0}"#)).unwrap();
    assert_eq!((a.expires_in.as_secs(), a.interval.as_secs()), (3600, 1));
    let a = parse_device_authorization(&json(
        r#"{"device_code":"d","user_code":"U","verification_uri":"https://x.example/d"}"#,
    ))
    .unwrap();
    assert_eq!(a.expires_in.as_secs(), 900);
}

#[test]
fn refuses_unusable_answers() {
    let bad = |body: &str| parse_device_authorization(&json(body)).unwrap_err().to_string();
    assert!(bad(r#"{"user_code":"U","verification_uri":"https://x.example/d"}"#)
        .contains("without a device_code"));
    assert!(bad(r#"{"device_code":"SECRET-DC","verification_uri":"https://x.example/d"}"#)
        .contains("without a user_code"));
    assert!(bad(r#"{"device_code":"d","user_code":"U"}"#).contains("without a verification_uri"));
    let e = bad(
        r#"{"device_code":"SECRET-DC","user_code":"U","verification_uri":"http://evil.example/d"}"#,
    );
    assert!(e.contains("not an https URL") && !e.contains("SECRET-DC"), "{e}");
    // Printed in a terminal: no escape sequences.
    assert!(bad("{\"device_code\":\"d\",\"user_code\":\"U\\u001b[2J\",\"verification_uri\":\"https://x.example/d\"}").contains("printable"));
    let e = bad("{\"device_code\": \"SECRET-DC\"");
    assert!(e.contains("JSON object") && !e.contains("SECRET-DC"), "{e}");
    // A bad complete URI is only dropped.
    let a = parse_device_authorization(&json(r#"{"device_code":"d","user_code":"U","verification_uri":"https://x.example/d","verification_uri_complete":"javascript:alert(1)"}"#)).unwrap();
    assert!(a.verification_uri_complete.is_none());
}

#[test]
fn provider_errors_at_the_device_endpoint() {
    let e = parse_device_authorization(&answer(
        400,
        "application/json",
        r#"{"error":"unauthorized_client","error_description":"no device grant"}"#,
    ))
    .unwrap_err();
    assert!(
        matches!(&e, OAuthError::Provider { error, .. } if error == "unauthorized_client"),
        "{e}"
    );
    // GitHub: HTTP 200 with an error.
    let e = parse_device_authorization(&json(r#"{"error":"device_flow_disabled","error_description":"Device Flow must be explicitly enabled for this App"}"#)).unwrap_err();
    assert!(
        e.to_string().contains("device_flow_disabled: Device Flow must be explicitly enabled"),
        "{e}"
    );
    // An old GitLab: no such page.
    let e = parse_device_authorization(&answer(404, "text/html", "<html>")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LoginFailed, "{e}");
}

fn tokens() -> TokenResponse {
    TokenResponse {
        access_token: Secret::new("AT"),
        token_type: "Bearer".into(),
        expires_in: Some(60),
        refresh_token: None,
        scope: None,
        id_token: None,
    }
}

fn oauth_error(code: &str) -> Result<TokenResponse, OAuthError> {
    Err(OAuthError::from_oauth_error(code, Some("described")))
}

fn unreachable() -> Result<TokenResponse, OAuthError> {
    Err(OAuthError::Unreachable {
        what: "the token endpoint".into(),
        detail: "Connection refused".into(),
    })
}

fn waits(step: Step) -> Duration {
    match step {
        Step::Wait(d) => d,
        Step::Done(r) => panic!("expected to wait, got {r:?}"),
    }
}

fn done(step: Step) -> Result<TokenResponse, OAuthError> {
    match step {
        Step::Done(r) => r,
        Step::Wait(d) => panic!("expected the end, got a wait of {d:?}"),
    }
}

const S: fn(u64) -> Duration = Duration::from_secs;

#[test]
fn slow_down_adds_five_seconds_for_good() {
    let mut p = Polling::new(S(5));
    assert_eq!(waits(p.step(oauth_error("authorization_pending"))), S(5));
    assert_eq!(waits(p.step(oauth_error("slow_down"))), S(10));
    assert_eq!(
        waits(p.step(oauth_error("authorization_pending"))),
        S(10),
        "the longer interval stays"
    );
    assert_eq!(waits(p.step(oauth_error("slow_down"))), S(15));
    assert_eq!(p.interval(), S(15));
}

#[test]
fn each_answer_maps_right() {
    let end = |answer| done(Polling::new(S(5)).step(answer));
    assert_eq!(end(Ok(tokens())).unwrap().access_token.expose(), "AT");
    let e = end(oauth_error("expired_token")).unwrap_err();
    assert!(
        matches!(e, OAuthError::DeviceCodeExpired { .. }) && e.kind() == ErrorKind::LoginTimeout,
        "{e}"
    );
    assert!(e.to_string().contains("start the device sign-in again"), "{e}");
    let e = end(oauth_error("access_denied")).unwrap_err();
    assert!(
        matches!(e, OAuthError::AccessDenied { .. }) && e.to_string().contains("refused"),
        "{e}"
    );
    // Microsoft's spelling of access_denied.
    assert!(matches!(
        end(oauth_error("authorization_declined")).unwrap_err(),
        OAuthError::AccessDenied { .. }
    ));
    let e = end(oauth_error("invalid_grant")).unwrap_err();
    assert!(
        matches!(e, OAuthError::DeviceCodeRejected { .. }) && e.kind() == ErrorKind::LoginFailed,
        "{e}"
    );
    let e = end(oauth_error("invalid_client")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ProviderError, "{e}");
    // A provider that does not answer is asked again, less often, up to a minute apart.
    let mut p = Polling::new(S(5));
    assert_eq!(waits(p.step(unreachable())), S(10));
    assert_eq!(waits(p.step(unreachable())), S(20));
    assert_eq!(waits(p.step(unreachable())), S(40));
    assert_eq!(waits(p.step(unreachable())), S(60));
    assert_eq!(waits(p.step(unreachable())), S(60));
    assert_eq!(Polling::new(Duration::ZERO).interval(), S(1));
}

/// Virtual time: `sleep` moves it forward at once and records how long it was asked for.
struct FakeClock {
    start: Instant,
    elapsed: Mutex<Duration>,
    sleeps: Mutex<Vec<Duration>>,
}

impl FakeClock {
    fn new() -> FakeClock {
        FakeClock {
            start: Instant::now(),
            elapsed: Mutex::new(Duration::ZERO),
            sleeps: Mutex::new(Vec::new()),
        }
    }
    fn sleeps(&self) -> Vec<u64> {
        self.sleeps.lock().unwrap().iter().map(Duration::as_secs).collect()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Instant {
        self.start + *self.elapsed.lock().unwrap()
    }
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        self.sleeps.lock().unwrap().push(duration);
        *self.elapsed.lock().unwrap() += duration;
        std::future::ready(())
    }
}

/// Runs the loop against scripted answers; returns the result, the sleeps and the polls made.
async fn run(
    answers: Vec<Result<TokenResponse, OAuthError>>,
    interval: u64,
    expires_in: u64,
) -> (Result<TokenResponse, OAuthError>, Vec<u64>, usize) {
    let clock = FakeClock::new();
    let script = Mutex::new(VecDeque::from(answers));
    let polls = Mutex::new(0usize);
    let poll = || {
        *polls.lock().unwrap() += 1;
        let next = script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| oauth_error("authorization_pending"));
        std::future::ready(next)
    };
    let expires_at = clock.now() + S(expires_in);
    let result = poll_until_done(
        &clock,
        Polling::new(S(interval)),
        expires_at,
        &CancellationToken::new(),
        poll,
    )
    .await;
    let polls = *polls.lock().unwrap();
    (result, clock.sleeps(), polls)
}

#[tokio::test]
async fn polls_at_the_interval_and_backs_off_after_slow_down() {
    let answers = vec![
        oauth_error("authorization_pending"),
        oauth_error("slow_down"),
        oauth_error("authorization_pending"),
        Ok(tokens()),
    ];
    let (result, sleeps, polls) = run(answers, 5, 600).await;
    assert_eq!(result.unwrap().access_token.expose(), "AT");
    assert_eq!(sleeps, [5, 5, 10, 10], "each wait before a poll; 5 s more after slow_down");
    assert_eq!(polls, 4);
}

#[tokio::test]
async fn stops_when_the_code_expires() {
    // Polls at 5 and 10; the next would be at 15, after the expiry at 12.
    let (result, sleeps, polls) = run(vec![], 5, 12).await;
    let e = result.unwrap_err();
    assert!(matches!(e, OAuthError::DeviceCodeExpired { .. }), "{e}");
    assert_eq!((sleeps, polls), (vec![5, 5, 2], 2));
    // A poll exactly at the expiry still goes out.
    let (_, sleeps, polls) = run(vec![], 5, 10).await;
    assert_eq!((sleeps, polls), (vec![5, 5, 0], 2));
}

#[tokio::test]
async fn error_answers_end_the_loop_at_once() {
    let (result, sleeps, polls) =
        run(vec![oauth_error("authorization_pending"), oauth_error("access_denied")], 5, 600).await;
    assert!(matches!(result.unwrap_err(), OAuthError::AccessDenied { .. }));
    assert_eq!((sleeps, polls), (vec![5, 5], 2));
    let (result, _, polls) = run(vec![oauth_error("expired_token")], 5, 600).await;
    assert!(matches!(result.unwrap_err(), OAuthError::DeviceCodeExpired { .. }));
    assert_eq!(polls, 1);
}

#[tokio::test]
async fn cancel_stops_waiting_and_polling() {
    let clock = FakeClock::new();
    let cancel = CancellationToken::new();
    cancel.cancel();
    let never = || async { panic!("no poll after a cancel") };
    let e = poll_until_done(&clock, Polling::new(S(5)), clock.now() + S(60), &cancel, never)
        .await
        .unwrap_err();
    assert!(matches!(e, OAuthError::Cancelled));
    // Cancelled while a poll is in flight: the poll is abandoned.
    let cancel = CancellationToken::new();
    let hang = || {
        cancel.cancel();
        std::future::pending::<Result<TokenResponse, OAuthError>>()
    };
    let e = poll_until_done(&clock, Polling::new(S(5)), clock.now() + S(60), &cancel, hang)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LoginCancelled);
}

fn meta(endpoint: &Url, device: Option<&Url>) -> ProviderMetadata {
    ProviderMetadata {
        issuer: "http://127.0.0.1".into(),
        authorization_endpoint: endpoint.clone(),
        token_endpoint: endpoint.clone(),
        revocation_endpoint: None,
        userinfo_endpoint: None,
        introspection_endpoint: None,
        device_authorization_endpoint: device.cloned(),
        iss_parameter_supported: false,
        code_challenge_methods: vec![],
        grant_types: vec![],
        scopes_supported: vec![],
    }
}

#[tokio::test]
async fn device_request_sends_client_and_scope() {
    let (url, req) = serve_once("200 OK", RFC_EXAMPLE).await;
    let a = device_authorization(
        &reqwest::Client::new(),
        &meta(&url, Some(&url)),
        &OAuthClient::public("cid"),
        "openid email",
    )
    .await
    .unwrap();
    assert_eq!(a.user_code, "WDJB-MJHT");
    let req = req.await.unwrap();
    assert!(
        req.starts_with("POST /ep ")
            && req.to_ascii_lowercase().contains("accept: application/json"),
        "{req}"
    );
    assert!(req.contains("client_id=cid") && req.contains("scope=openid+email"), "{req}");
    let e = device_authorization(
        &reqwest::Client::new(),
        &meta(&url, None),
        &OAuthClient::public("cid"),
        "openid",
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("device_authorization_endpoint"), "{e}");
}

#[tokio::test]
async fn poll_sends_the_device_grant_and_reads_pending() {
    let (url, req) = serve_once(
        "400 Bad Request",
        r#"{"error":"authorization_pending","error_description":"still waiting"}"#,
    )
    .await;
    let e = poll_device_token(
        &reqwest::Client::new(),
        &meta(&url, None),
        &OAuthClient::public("cid"),
        &Secret::new("DC-SECRET"),
    )
    .await
    .unwrap_err();
    assert!(matches!(Polling::new(S(5)).step(Err(e)), Step::Wait(_)));
    let req = req.await.unwrap();
    for part in [
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code",
        "device_code=DC-SECRET",
        "client_id=cid",
    ] {
        assert!(req.contains(part), "{part} missing in {req}");
    }
    // GitHub answers pending with HTTP 200.
    let (url, _) = serve_once(
        "200 OK",
        r#"{"error":"slow_down","error_description":"too fast","interval":10}"#,
    )
    .await;
    let e = poll_device_token(
        &reqwest::Client::new(),
        &meta(&url, None),
        &OAuthClient::public("cid"),
        &Secret::new("DC"),
    )
    .await
    .unwrap_err();
    let mut p = Polling::new(S(5));
    assert_eq!(waits(p.step(Err(e))), S(10));
}

/// One canned JSON answer (see [`crate::test_http::serve_once`]).
async fn serve_once(status: &str, body: &'static str) -> (Url, tokio::task::JoinHandle<String>) {
    crate::test_http::serve_once(status, "application/json", body).await
}
