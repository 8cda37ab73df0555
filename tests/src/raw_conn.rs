//! A JSON-RPC connection to the broker without the client library, to test the wire itself.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use serde_json::Value;

/// A JSON-RPC connection without the client library, to test the wire itself.
pub struct RawConn {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: u64,
}

impl RawConn {
    pub(crate) fn new(stream: UnixStream) -> RawConn {
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        RawConn { reader: BufReader::new(stream.try_clone().unwrap()), writer: stream, next_id: 1 }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
    }

    /// The next reply line, or `None` when the broker closed the connection.
    pub fn read_reply(&mut self) -> Option<Value> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(serde_json::from_str(&line).expect("the broker replies with JSON")),
        }
    }

    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let line =
            serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
                .to_string();
        self.send_raw(format!("{line}\n").as_bytes());
        self.read_reply().expect("a reply")
    }

    pub fn is_closed(&mut self) -> bool {
        let mut buf = [0u8; 1];
        matches!(self.reader.read(&mut buf), Ok(0) | Err(_))
    }
}
