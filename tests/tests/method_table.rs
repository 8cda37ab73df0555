//! Every method of the table (`sesame_ipc::methods`), called by a real program that is not
//! Sesame's (the token-client): `forbidden` unless the table declares it open to any
//! program, and a method the table does not have is `method_not_found`.

mod common;

use common::*;
use serde_json::Value;
use sesame_e2e::*;
use sesame_ipc::methods::{Access, MethodId};

#[test]
fn a_program_gets_forbidden_for_every_method_not_declared_open() {
    let (env, account) = setup(Options::default());
    let key = token_client_key();
    let call = |method: &str| env.client_result(env.spawn_token_client(&["--call", method, "{}"]));

    let mut sesame_only = vec![];
    for &method in MethodId::ALL {
        let out = call(method.name());
        match method.access() {
            Access::SesameOnly => {
                // The reply came from the broker (exit 3, the kind): the program really called.
                out.expect_error("forbidden");
                sesame_only.push(method.name());
            }
            Access::AnyProgram => assert_ne!(
                out.error_kind(),
                "forbidden",
                "{} is open to any program: {}",
                method.name(),
                out.stdout
            ),
        }
    }
    assert!(sesame_only.len() >= 14, "the management methods: {sesame_only:?}");
    assert_eq!(call("hello").ok()["protocol"], Value::from(1), "open methods answer");

    // Deny unless declared: names the table lacks are nobody's.
    for name in ["activity.delete", "grants.add", "HELLO", ""] {
        call(name).expect_error("method_not_found");
    }

    // Each refusal is in the log, with its method; nothing was done.
    let rows = env.activity(&["--app", &key, "--limit", "1000"]);
    for name in &sesame_only {
        let detail = format!("management call {name}");
        assert!(
            rows.iter().any(|r| r["event"] == "refused" && r["detail"] == detail.as_str()),
            "{name}'s refusal is logged: {rows:?}"
        );
    }
    assert!(env.grants().is_empty() && env.pending().is_empty());
    assert_eq!(env.manage_json(&["accounts", "--json"])[0]["id"], Value::from(account));
    env.assert_no_leaks();
}
