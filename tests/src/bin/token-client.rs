//! A test program that asks the broker for a token the way any Rust app would: with
//! `sesame_ipc::Client`, not through the `sesame` CLI. The end-to-end tests use it as "an
//! app" whose identity (its canonical executable path) the broker's consent is keyed on.
//!
//!   token-client <account> [--scope S]... [--min-ttl N]
//!   token-client --call <method> '<json params>'
//!
//! Prints ONE line of JSON: `{"ok": <result>}` or `{"error": {"kind": "...", "message": "..."}}`.
//! Exit code: 0 ok, 3 an error reply from the broker, 1 anything else (usage, connection).
//! Socket: `$SESAME_SOCKET`, else `$XDG_RUNTIME_DIR/sesame/sesame.sock`.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{json, Value};
use sesame_ipc::protocol::TokenGetParams;
use sesame_ipc::{Client, ClientError};

enum Action {
    Token(TokenGetParams),
    Call(String, Value),
}

fn usage() -> ExitCode {
    eprintln!("usage: token-client <account> [--scope S]... [--min-ttl N]\n       token-client --call <method> '<json params>'");
    ExitCode::from(1)
}

fn parse(args: &[String]) -> Option<Action> {
    if args.first().map(String::as_str) == Some("--call") {
        let method = args.get(1)?.clone();
        let params = match args.get(2) {
            Some(text) => serde_json::from_str(text).ok()?,
            None => json!({}),
        };
        if args.len() > 3 {
            return None;
        }
        return Some(Action::Call(method, params));
    }
    let account = args.first().filter(|a| !a.starts_with("--"))?.clone();
    let mut scopes = vec![];
    let mut min_ttl = None;
    let mut rest = args[1..].iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--scope" => scopes.push(rest.next()?.clone()),
            "--min-ttl" => min_ttl = Some(rest.next()?.parse().ok()?),
            _ => return None,
        }
    }
    let scopes = if scopes.is_empty() { None } else { Some(scopes.into()) };
    Some(Action::Token(TokenGetParams { account, scopes, min_ttl, wait: None }))
}

fn socket_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SESAME_SOCKET") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("XDG_RUNTIME_DIR").map(|d| PathBuf::from(d).join("sesame/sesame.sock"))
}

async fn run(action: Action, socket: PathBuf) -> Result<Value, ClientError> {
    let mut client = Client::connect(&socket).await?;
    match action {
        Action::Token(params) => {
            let result = client.token(&params).await?;
            Ok(serde_json::to_value(&result).expect("a TokenResult serializes"))
        }
        Action::Call(method, params) => client.call::<Value, Value>(&method, &params).await,
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(action) = parse(&args) else { return usage() };
    let Some(socket) = socket_path() else {
        eprintln!("token-client: neither SESAME_SOCKET nor XDG_RUNTIME_DIR is set");
        return ExitCode::from(1);
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("token-client: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(action, socket)) {
        Ok(result) => {
            println!("{}", json!({ "ok": result }));
            ExitCode::SUCCESS
        }
        Err(ClientError::Rpc(e)) => {
            println!("{}", json!({ "error": { "kind": e.kind().as_str(), "message": e.message } }));
            ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("token-client: {e}");
            ExitCode::from(1)
        }
    }
}
