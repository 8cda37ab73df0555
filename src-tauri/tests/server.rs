//! The app serves the socket like `sesame daemon`: it exists while the app runs, answers,
//! and is removed when the app stops (not before: a closure that captured only the
//! listener once dropped the socket guard at startup).

// Helpers may unwrap as tests do: clippy.toml's allow-unwrap-in-tests covers only the
// #[test] functions themselves.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;

use sesame_core::host::{self, HelperCommand};
use sesame_core::Paths;

#[test]
fn the_socket_lives_exactly_as_long_as_the_server() {
    let dir = std::env::temp_dir().join(format!("sesame-app-server-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(&config, "[[provider]]\nid = \"x\"\nissuer = \"http://127.0.0.1:9\"\nclient_id = \"c\"\nscopes = [\"openid\"]\n").unwrap();
    let paths = Paths {
        config_file: config,
        data_dir: dir.join("data"),
        socket: dir.join("run/sesame.sock"),
    };
    let helper = HelperCommand { program: "/bin/false".into(), args: vec![] };

    let host =
        tauri::async_runtime::block_on(async { host::start(paths.clone(), helper) }).unwrap();
    let server = sesame_app::serve(host);
    let mut stream =
        UnixStream::connect(&paths.socket).expect("the socket is served after serve() returns");
    stream.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\"}\n").unwrap();
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line).unwrap();
    assert!(line.contains("\"protocol\""), "{line}");
    drop(stream);

    server.stop();
    assert!(!paths.socket.exists(), "the socket file is removed at shutdown");
    std::fs::remove_dir_all(&dir).unwrap();
}
