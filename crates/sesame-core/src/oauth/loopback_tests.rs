//! Tests for the redirect listener: real TCP connections to 127.0.0.1.

use super::*;

const ISSUER: &str = "https://idp.example";

fn expect(iss_required: bool) -> CallbackExpectations {
    CallbackExpectations { state: "STATE-1".into(), issuer: ISSUER.into(), iss_required }
}

type Outcome = Result<(Callback, Responder), OAuthError>;

fn start(
    expectations: CallbackExpectations,
    deadline: Duration,
) -> (u16, CancellationToken, tokio::task::JoinHandle<Outcome>) {
    let listener = LoopbackListener::bind().unwrap();
    let port = listener.port();
    assert_eq!(listener.redirect_uri(), format!("http://127.0.0.1:{port}/callback"));
    let cancel = CancellationToken::new();
    let task = tokio::spawn(listener.wait_for_callback(expectations, deadline, cancel.clone()));
    (port, cancel, task)
}

/// Sends one GET and returns the whole answer.
async fn get(port: u16, target: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

async fn expect_err(target: &str, iss_required: bool) -> (OAuthError, String) {
    let (port, _cancel, task) = start(expect(iss_required), Duration::from_secs(5));
    let page = get(port, target).await;
    let err = task.await.unwrap().expect_err("callback should be refused");
    (err, page)
}

#[tokio::test]
async fn favicon_then_good_callback() {
    let (port, _cancel, task) = start(expect(true), Duration::from_secs(5));
    let not_found = get(port, "/favicon.ico").await;
    assert!(not_found.starts_with("HTTP/1.1 404"), "{not_found}");
    let target =
        format!("/callback?code=CODE-XYZ&state=STATE-1&iss={}", "https%3A%2F%2Fidp.example");
    let mut browser = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    browser
        .write_all(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let (callback, responder) = task.await.unwrap().unwrap();
    assert_eq!(callback.code.expose(), "CODE-XYZ");
    assert!(!format!("{callback:?}").contains("CODE-XYZ"));
    responder.finish(Ok("Signed in as <alice>")).await;
    let mut page = String::new();
    browser.read_to_string(&mut page).await.unwrap();
    assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
    assert!(page.contains("Content-Type: text/html; charset=utf-8"));
    assert!(page.contains("Content-Security-Policy: default-src 'none'"));
    assert!(page.contains("Cache-Control: no-store"));
    assert!(page.contains("Signed in as &lt;alice&gt;"), "{page}");
    // One use only: the port is closed now.
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
}

#[tokio::test]
async fn finish_with_error_is_400() {
    let (port, _cancel, task) = start(expect(false), Duration::from_secs(5));
    let mut browser = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    browser.write_all(b"GET /callback?code=C&state=STATE-1 HTTP/1.1\r\n\r\n").await.unwrap();
    let (_, responder) = task.await.unwrap().unwrap();
    responder.finish(Err("the token endpoint said no")).await;
    let mut page = String::new();
    browser.read_to_string(&mut page).await.unwrap();
    assert!(
        page.starts_with("HTTP/1.1 400") && page.contains("the token endpoint said no"),
        "{page}"
    );
}

#[tokio::test]
async fn wrong_state() {
    let (err, page) = expect_err("/callback?code=C&state=OTHER", false).await;
    assert!(matches!(err, OAuthError::StateMismatch), "{err}");
    assert!(page.starts_with("HTTP/1.1 400") && page.contains("wrong `state`"), "{page}");
    let (err, _) = expect_err("/callback?code=C", false).await;
    assert!(matches!(err, OAuthError::StateMismatch), "{err}");
}

#[tokio::test]
async fn access_denied_and_other_errors() {
    let (err, page) = expect_err(
        "/callback?error=access_denied&error_description=User%20said%20no&state=STATE-1",
        false,
    )
    .await;
    assert!(
        matches!(&err, OAuthError::AccessDenied { description: Some(d) } if d == "User said no"),
        "{err}"
    );
    assert!(page.contains("User said no"), "{page}");
    let (err, _) = expect_err("/callback?error=invalid_scope", false).await;
    assert!(
        matches!(&err, OAuthError::Provider { error, .. } if error == "invalid_scope"),
        "{err}"
    );
    // A forged error with the wrong state is a state problem, not the provider's word.
    let (err, _) = expect_err("/callback?error=access_denied&state=NOPE", false).await;
    assert!(matches!(err, OAuthError::StateMismatch), "{err}");
}

#[tokio::test]
async fn iss_mismatch() {
    let (err, page) =
        expect_err("/callback?code=C&state=STATE-1&iss=https%3A%2F%2Fevil.example", false).await;
    assert!(
        matches!(&err, OAuthError::IssuerMismatch { got, .. } if got == "https://evil.example"),
        "{err}"
    );
    assert!(page.contains("evil.example"), "{page}");
}

#[tokio::test]
async fn missing_iss_when_required() {
    let (err, _) = expect_err("/callback?code=C&state=STATE-1", true).await;
    assert!(matches!(err, OAuthError::MissingIssuer), "{err}");
}

#[tokio::test]
async fn missing_code_and_repeated_params() {
    let (err, _) = expect_err("/callback?state=STATE-1", false).await;
    assert!(matches!(err, OAuthError::BadResponse(_)), "{err}");
    let (err, _) = expect_err("/callback?code=A&code=B&state=STATE-1", false).await;
    assert!(matches!(err, OAuthError::BadResponse(_)), "{err}");
}

#[tokio::test]
async fn times_out() {
    let (_port, _cancel, task) = start(expect(false), Duration::from_millis(100));
    let err = task.await.unwrap().unwrap_err();
    assert!(matches!(err, OAuthError::Timeout), "{err}");
}

#[tokio::test]
async fn cancels() {
    let (_port, cancel, task) = start(expect(false), Duration::from_secs(30));
    cancel.cancel();
    let err = task.await.unwrap().unwrap_err();
    assert!(matches!(err, OAuthError::Cancelled), "{err}");
}

#[tokio::test]
async fn silent_connection_does_not_block() {
    let (port, _cancel, task) = start(expect(false), Duration::from_secs(5));
    let _silent = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut half = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    half.write_all(b"GET /callback?code=EVIL").await.unwrap();
    let started = std::time::Instant::now();
    let mut browser = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    browser.write_all(b"GET /callback?code=GOOD&state=STATE-1 HTTP/1.1\r\n\r\n").await.unwrap();
    let (callback, _) = task.await.unwrap().unwrap();
    assert_eq!(callback.code.expose(), "GOOD");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn oversized_and_garbage_requests_are_refused() {
    let (port, _cancel, task) = start(expect(false), Duration::from_secs(5));
    let mut big = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let junk = format!("GET /x HTTP/1.1\r\nX: {}\r\n", "a".repeat(MAX_HEAD + 10));
    // The listener may answer 400 or reset the connection; either way it keeps going.
    let _ = big.write_all(junk.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = big.read_to_end(&mut answer).await;
    let garbage = {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(b"hello\r\n\r\n").await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    };
    assert!(garbage.starts_with("HTTP/1.1 400"), "{garbage}");
    let post = {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(b"POST /callback HTTP/1.1\r\n\r\n").await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    };
    assert!(post.starts_with("HTTP/1.1 405"), "{post}");
    // Still waiting for the real callback.
    let mut browser = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    browser.write_all(b"GET /callback?code=C&state=STATE-1 HTTP/1.1\r\n\r\n").await.unwrap();
    assert!(task.await.unwrap().is_ok());
}

#[test]
fn escapes_html() {
    assert_eq!(html_escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
}
