//! The trivial baseline for `sesame token` in the benchmark: connect, write one line, read
//! one line, print it. Same bytes as `sesame token`, none of the CLI.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;

fn main() {
    let socket = std::env::args().nth(1).expect("usage: raw-client <socket> <account>");
    let account = std::env::args().nth(2).expect("usage: raw-client <socket> <account>");
    let mut stream = UnixStream::connect(socket).expect("connect");
    let line = format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"token.get\",\"params\":{{\"account\":\"{account}\",\"min_ttl\":60}}}}\n");
    stream.write_all(line.as_bytes()).expect("write");
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply).expect("read");
    print!("{reply}");
}
