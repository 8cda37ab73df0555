//! The provider's side of one HTTP/1.1 exchange, for tests of Sesame's calls at providers:
//! read a request, answer it. Built for this crate's tests and, with the `test-support`
//! feature, for the app's (`src-tauri/tests`).

// Test support only: a failed step here is a failed test, with its message.
#![allow(clippy::unwrap_used)]

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use url::Url;

/// Reads one request: the head, then the body by its Content-Length.
pub async fn read_request(s: &mut TcpStream) -> String {
    let mut req = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).await.unwrap_or(0);
        req.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&req);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .and_then(|v| v.trim().parse::<usize>().ok())
            });
            if req.len() >= end + 4 + length.unwrap_or(0) {
                break;
            }
        }
        if n == 0 {
            break;
        }
    }
    String::from_utf8_lossy(&req).into_owned()
}

/// Writes a whole answer (`status` like "200 OK") and closes the connection.
pub async fn respond(s: &mut TcpStream, status: &str, content_type: &str, body: &str) {
    let response = format!("HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    let _ = s.write_all(response.as_bytes()).await;
    let _ = s.shutdown().await;
}

/// Serves one canned answer on 127.0.0.1 at `/ep`; the task yields the raw request it got.
pub async fn serve_once(status: &str, content_type: &str, body: &str) -> (Url, JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/ep", listener.local_addr().unwrap())).unwrap();
    let (status, content_type, body) =
        (status.to_owned(), content_type.to_owned(), body.to_owned());
    let task = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let request = read_request(&mut s).await;
        respond(&mut s, &status, &content_type, &body).await;
        request
    });
    (url, task)
}
