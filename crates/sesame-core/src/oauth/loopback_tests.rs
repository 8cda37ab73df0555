//! Tests for the redirect listener: real TCP connections to 127.0.0.1.

use super::*;

const ISSUER: &str = "https://idp.example";

fn expect(iss_required: bool) -> CallbackExpectations {
    CallbackExpectations { state: "STATE-1".into(), issuer: ISSUER.into(), iss_required }
}

type Outcome = Result<(Callback, Responder), WaitError>;

fn start(
    expectations: CallbackExpectations,
    deadline: Duration,
) -> (u16, CancellationToken, tokio::task::JoinHandle<Outcome>) {
    let listener = LoopbackListener::bind(0).unwrap();
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
    assert_eq!(err.refused, Refused::default());
    (err.error, page)
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

/// Sends `target` and returns the page; the listener must keep waiting afterwards.
async fn ignored(port: u16, target: &str) -> String {
    let page = get(port, target).await;
    assert!(page.starts_with("HTTP/1.1 400"), "{page}");
    assert!(page.contains("still waiting"), "{page}");
    page
}

/// The real callback, after whatever came before: the sign-in is still open for it.
async fn good_callback_still_works(port: u16, task: tokio::task::JoinHandle<Outcome>) {
    let mut browser = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    browser.write_all(b"GET /callback?code=GOOD&state=STATE-1 HTTP/1.1\r\n\r\n").await.unwrap();
    let (callback, _) = task.await.unwrap().unwrap();
    assert_eq!(callback.code.expose(), "GOOD");
}

#[tokio::test]
async fn a_wrong_or_missing_state_does_not_end_the_sign_in() {
    let (port, _cancel, task) = start(expect(false), Duration::from_secs(5));
    let page = ignored(port, "/callback?code=C&state=OTHER").await;
    assert!(page.contains("Not this sign-in") && page.contains("forged"), "{page}");
    ignored(port, "/callback?code=C").await;
    ignored(port, "/callback").await;
    // Two `state`s, one of them right: which one would the provider have meant?
    ignored(port, "/callback?code=C&state=STATE-1&state=OTHER").await;
    ignored(port, "/callback?code=C&state=STATE-").await;
    good_callback_still_works(port, task).await;
}

#[tokio::test]
async fn a_forged_error_does_not_end_the_sign_in() {
    let (port, _cancel, task) = start(expect(false), Duration::from_secs(5));
    ignored(port, "/callback?error=x").await;
    ignored(port, "/callback?error=access_denied&error_description=gotcha").await;
    let page = ignored(port, "/callback?error=access_denied&state=NOPE").await;
    assert!(!page.contains("access_denied"), "a forged error is not repeated: {page}");
    good_callback_still_works(port, task).await;
}

#[tokio::test]
async fn the_deadline_reports_what_was_refused() {
    let (port, _cancel, task) = start(expect(false), Duration::from_millis(1500));
    ignored(port, "/callback?error=x").await;
    ignored(port, "/callback?code=C&state=OTHER").await;
    let not_found = get(port, "/favicon.ico").await;
    assert!(not_found.starts_with("HTTP/1.1 404"), "{not_found}");
    let e = task.await.unwrap().unwrap_err();
    assert!(matches!(e.error, OAuthError::Timeout), "{e:?}");
    assert_eq!(e.refused, Refused { not_this_sign_in: 2, other_user: 0 });
    let words = e.refused.describe().unwrap();
    assert!(words.contains("2 redirects without this sign-in's `state`"), "{words}");
    assert_eq!(Refused::default().describe(), None);
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
    // The provider's error with this sign-in's state ends it.
    let (err, _) = expect_err("/callback?error=invalid_scope&state=STATE-1", false).await;
    assert!(
        matches!(&err, OAuthError::Provider { error, .. } if error == "invalid_scope"),
        "{err}"
    );
}

#[tokio::test]
async fn another_users_socket_is_refused_and_the_wait_goes_on() {
    if owner::own_uid() != 0 {
        // Making a socket another uid owns needs root (setfsuid); the e2e hijack test runs
        // a real second user either way.
        eprintln!("skipped: not root");
        return;
    }
    let (port, _cancel, task) = start(expect(false), Duration::from_secs(5));
    // The right state, even: the owner is checked before the request is read.
    let page = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        // setfsuid is per thread: this one's sockets are created as `nobody`'s.
        // SAFETY: setfsuid only changes this thread's filesystem uid.
        unsafe { libc::setfsuid(65534) };
        let stream = std::net::TcpStream::connect(("127.0.0.1", port));
        // SAFETY: as above, back to root.
        unsafe { libc::setfsuid(0) };
        let mut stream = stream.unwrap();
        // Accepted by mistake, the connection would wait for the code exchange: fail instead.
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream.write_all(b"GET /callback?code=EVIL&state=STATE-1 HTTP/1.1\r\n\r\n").unwrap();
        let mut page = String::new();
        let _ = stream.read_to_string(&mut page);
        page
    })
    .await
    .unwrap();
    assert!(page.starts_with("HTTP/1.1 403"), "{page}");
    assert!(page.contains("another user"), "{page}");
    assert!(!page.contains("EVIL"));
    good_callback_still_works(port, task).await;
}

#[test]
fn owners_come_from_the_kernels_tables() {
    // Recorded from /proc/net/tcp and tcp6 (x86-64; the uids and the TIME_WAIT row edited
    // in): a listener on 127.0.0.1:33441, two connections in its accept queue (no inode on
    // the listener's side until accepted), the client side of one (uid 65534) and an
    // IPv4-mapped IPv6 client (uid 1000).
    let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:82A1 00000000:0000 0A 00000000:00000002 00:00000000 00000000     0        0 88801 3 000000009e845af4 100 0 0 10 0
  32: 0100007F:82A1 0100007F:BB38 01 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000061ac75e9 20 0 0 10 -1
  38: 0100007F:82A1 0100007F:BB3E 01 00000000:00000000 00:00000000 00000000     0        0 0 1 00000000b7f52e7f 20 0 0 10 -1
  50: 0100007F:BB3E 0100007F:82A1 01 00000000:00000000 00:00000000 00000000 65534        0 88803 2 00000000d09ac3b3 20 0 0 10 -1
  51: 0100007F:BB40 0100007F:82A1 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000";
    let tcp6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000100007F:BB38 0000000000000000FFFF00000100007F:82A1 01 00000000:00000000 00:00000000 00000000  1000        0 88802 2 000000009e3d6347 20 0 0 10 -1";
    let lines = |t: &str| t.lines().map(str::to_owned).collect::<Vec<_>>().into_iter();
    let addr = |port: u16| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = addr(33441);
    if cfg!(target_endian = "little") {
        assert_eq!(owner::find_owner(lines(tcp), addr(0xBB3E), listener), Some(65534));
        assert_eq!(owner::find_owner(lines(tcp6), addr(0xBB38), listener), Some(1000));
    }
    // Our own side of the connection (local = listener) is not the peer's row.
    assert_eq!(owner::find_owner(lines(tcp), addr(0xBB38), listener), None);
    // TIME_WAIT (st 06, no inode): uid 0 whoever it was, so it proves nothing.
    assert_eq!(owner::find_owner(lines(tcp), addr(0xBB40), listener), None);
    // Garbage lines are skipped, not a panic.
    let junk = "header\n0: zz:zz\n1: 0100007F:BB3E 0100007F:82A1 01 x x x x\n\n";
    assert_eq!(owner::find_owner(lines(junk), addr(0xBB3E), listener), None);
}

#[test]
fn our_own_connections_belong_to_us() {
    use owner::{from_tables, own_uid, owner, Owner};
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let local = listener.local_addr().unwrap();
    // An IPv4 client, and an IPv6 one speaking IPv4 (`::ffff:127.0.0.1`).
    for connect_to in [local.to_string(), format!("[::ffff:127.0.0.1]:{}", local.port())] {
        let client = std::net::TcpStream::connect(&connect_to).unwrap();
        let (_server_side, peer) = listener.accept().unwrap();
        let asked = owner::sock_diag(peer, local).expect("netlink sock_diag works here");
        assert_eq!(asked, Owner::Uid(own_uid()), "sock_diag, {connect_to}");
        assert_eq!(owner(peer, local), Owner::Uid(own_uid()), "{connect_to}");
        assert_eq!(from_tables(peer, local), Owner::Uid(own_uid()), "/proc, {connect_to}");
        // A port nobody connects from.
        let nobody = SocketAddr::from((Ipv4Addr::LOCALHOST, 1));
        assert_eq!(owner(nobody, local), Owner::Unknown);
        drop(client);
        // Closed: the socket has no inode (or is gone), so nobody vouches for it any more.
        let gone = wait_until(|| owner(peer, local) == Owner::Unknown);
        assert!(gone && from_tables(peer, local) == Owner::Unknown, "{connect_to}");
        assert_eq!(owner::sock_diag(peer, local).unwrap(), Owner::Unknown);
    }
}

#[test]
fn a_sock_diag_answer_counts_only_for_the_connected_socket() {
    let peer = SocketAddr::from((Ipv4Addr::LOCALHOST, 0xBB3E));
    let local = SocketAddr::from((Ipv4Addr::LOCALHOST, 33441));
    // nlmsghdr + inet_diag_msg as the kernel sends it (native endian; ports big endian).
    let answer = |state: u8, sport: u16, inode: u32| {
        let mut a = vec![0u8; 16 + 72];
        a[0..4].copy_from_slice(&(16u32 + 72).to_ne_bytes());
        a[4..6].copy_from_slice(&20u16.to_ne_bytes());
        let m = &mut a[16..];
        m[0] = libc::AF_INET as u8;
        m[1] = state;
        m[4..6].copy_from_slice(&sport.to_be_bytes());
        m[6..8].copy_from_slice(&33441u16.to_be_bytes());
        m[8..12].copy_from_slice(&[127, 0, 0, 1]);
        m[24..28].copy_from_slice(&[127, 0, 0, 1]);
        m[64..68].copy_from_slice(&1000u32.to_ne_bytes());
        m[68..72].copy_from_slice(&inode.to_ne_bytes());
        a
    };
    let parse = |a: &[u8]| owner::parse_diag_answer(a, peer, local);
    assert_eq!(parse(&answer(1, 0xBB3E, 77)), owner::Owner::Uid(1000));
    assert_eq!(parse(&answer(10, 0xBB3E, 77)), owner::Owner::Unknown, "a listener");
    assert_eq!(parse(&answer(1, 0xBB3F, 77)), owner::Owner::Unknown, "another socket");
    assert_eq!(parse(&answer(4, 0xBB3E, 0)), owner::Owner::Unknown, "closed (no inode)");
    let mut error = answer(1, 0xBB3E, 77);
    error[4..6].copy_from_slice(&2u16.to_ne_bytes());
    assert_eq!(parse(&error), owner::Owner::Unknown, "NLMSG_ERROR");
    assert_eq!(parse(&error[..20]), owner::Owner::Unknown, "short");
}

fn wait_until(mut f: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
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
    assert!(matches!(err, OAuthError::MissingIssuer { provider_said: None }), "{err}");
}

/// django-oauth-toolkit's error redirect (recorded shape): `error`, no `iss` although its
/// metadata promises it. Still refused, but the provider's words reach the user.
#[tokio::test]
async fn dot_error_redirect_without_iss_keeps_the_providers_words() {
    let (err, page) = expect_err(
        "/callback?error=invalid_scope&error_description=Unknown%20scope%0Aoffline_access&state=STATE-1",
        true,
    )
    .await;
    assert!(
        matches!(&err, OAuthError::MissingIssuer { provider_said: Some(w) } if w == "invalid_scope: Unknown scope offline_access"),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("(invalid_scope: Unknown scope offline_access)"), "{text}");
    assert!(text.contains("lacks the `iss` parameter") && text.contains("`scopes`"), "{text}");
    assert!(page.contains("invalid_scope"), "the browser page says it too: {page}");
    // Without a description, the error alone.
    let (err, _) = expect_err("/callback?error=invalid_scope&state=STATE-1", true).await;
    assert!(
        matches!(&err, OAuthError::MissingIssuer { provider_said: Some(w) } if w == "invalid_scope"),
        "{err}"
    );
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
    let err = task.await.unwrap().unwrap_err().error;
    assert!(matches!(err, OAuthError::Timeout), "{err}");
}

#[tokio::test]
async fn cancels() {
    let (_port, cancel, task) = start(expect(false), Duration::from_secs(30));
    cancel.cancel();
    let err = task.await.unwrap().unwrap_err().error;
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

/// Silent connections hold their slot for READ_TIMEOUT (10 s), longer than this listener's
/// deadline: the browser gets through only because the oldest are dropped for it (and
/// another user's never take the user's slots).
#[tokio::test]
async fn a_flood_of_silent_connections_does_not_lock_out_the_browser() {
    let (port, _cancel, task) = start(expect(false), Duration::from_secs(8));
    let root = owner::own_uid() == 0;
    let flood = tokio::task::spawn_blocking(move || {
        let mut held = vec![];
        for i in 0..(MAX_PENDING * 4) {
            // As root, every other one is another user's (setfsuid is per thread).
            if root {
                // SAFETY: setfsuid only changes this thread's filesystem uid.
                unsafe { libc::setfsuid(if i % 2 == 0 { 65534 } else { 0 }) };
            }
            held.push(std::net::TcpStream::connect(("127.0.0.1", port)).unwrap());
        }
        if root {
            // SAFETY: as above, back to root.
            unsafe { libc::setfsuid(0) };
        }
        held
    });
    let _held = flood.await.unwrap();
    good_callback_still_works(port, task).await;
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

/// The figures in docs/reliability.md, printed, never asserted:
/// `cargo test -p sesame-core --lib loopback_figures -- --ignored --nocapture` (as root, for
/// the other user's rows; `ulimit -n 4096`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: prints a table"]
async fn loopback_figures() {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let local = listener.local_addr().unwrap();
    let client = std::net::TcpStream::connect(local).unwrap();
    let (_server_side, peer) = listener.accept().unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    let mut extra = vec![];
    println!("| rows in /proc/net/tcp | sock_diag lookup | /proc/net/tcp{{,6}} lookup |");
    println!("|---|---|---|");
    for more in [0usize, 4000] {
        while extra.len() < more {
            extra.push(std::net::TcpStream::connect(local).unwrap());
            extra.push(listener.accept().unwrap().0);
        }
        let rows = std::fs::read_to_string("/proc/net/tcp").unwrap().lines().count() - 1;
        let t = std::time::Instant::now();
        for _ in 0..200 {
            assert!(owner::sock_diag(peer, local).is_ok());
        }
        let diag = t.elapsed() / 200;
        let t = std::time::Instant::now();
        for _ in 0..20 {
            assert_ne!(owner::from_tables(peer, local), owner::Owner::Unknown);
        }
        println!("| {rows} | {diag:?} | {:?} |", t.elapsed() / 20);
    }
    drop(extra);
    let root = owner::own_uid() == 0;
    println!("\n| connections held open first | whose | real callback answered after |");
    println!("|---|---|---|");
    for (n, foreign) in [(0u32, false), (200, false), (1000, false), (200, true), (1000, true)] {
        if foreign && !root {
            continue;
        }
        let (port, _cancel, task) = start(expect(false), Duration::from_secs(60));
        let held = tokio::task::spawn_blocking(move || {
            use std::io::Write;
            if foreign {
                // SAFETY: setfsuid only changes this thread's filesystem uid.
                unsafe { libc::setfsuid(65534) };
            }
            let mut held = vec![];
            for i in 0..n {
                // Half silent, half a forged callback each.
                if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                    if i % 2 == 0 {
                        let _ = s.write_all(b"GET /callback?code=X&state=WRONG HTTP/1.1\r\n\r\n");
                    }
                    held.push(s);
                }
            }
            held
        })
        .await
        .unwrap();
        let t = std::time::Instant::now();
        let mut browser = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        browser.write_all(b"GET /callback?code=GOOD&state=STATE-1 HTTP/1.1\r\n\r\n").await.unwrap();
        let ok = task.await.unwrap().is_ok();
        let whose = if foreign { "another user's" } else { "the user's own" };
        println!(
            "| {} | {whose} | {:?}{} |",
            held.len(),
            t.elapsed(),
            if ok { "" } else { " (failed)" }
        );
    }
}

/// A pinned port that another program listens on: the error can name that program.
#[test]
fn the_holder_of_a_busy_port_is_named() {
    let held = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = held.local_addr().unwrap().port();
    let e = LoopbackListener::bind(port).err().expect("the port is taken");
    assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
    let holder = super::port_holder(port).expect("the kernel's tables name the listener");
    assert!(holder.contains(&format!("(pid {})", std::process::id())), "{holder}");
    drop(held);
    assert!(LoopbackListener::bind(port).is_ok(), "free again");
}
