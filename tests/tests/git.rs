//! The git credential helper, end to end: Debian's real git (`/usr/bin/git`) clones from and
//! pushes to a smart-HTTP host (`tests/git_server.py`: `git http-backend` behind a front that
//! takes a Basic password only if the test provider says the token is active), with
//! `credential.helper sesame` set by `sesame git-credential configure`. The consent question
//! names git and the repository; the grant then serves the next clone without a question;
//! a 401 makes git erase, and the retry gets a refreshed token; other hosts get nothing.

use serde_json::{json, Value};
use sesame_e2e::*;

#[test]
fn git_clones_and_pushes_with_sesame_as_its_credential_helper() {
    // A question nobody answers would fail the second clone within 15 s, not hang the run.
    let mut env = Env::start(Options { daemon: false, consent_timeout: 15, ..Options::default() });
    let server = env.start_git_server();
    let host = server.host();
    let mut config = std::fs::read_to_string(&env.config).unwrap();
    config += &format!("git_hosts = [\"{host}\"]\n");
    std::fs::write(&env.config, config).unwrap();
    env.start_daemon();
    let account = env.login("alice");

    // configure says what it set, in the file git reads.
    let out = env.git_credential(&["configure", "--host", &host], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    let section = format!("credential.http://{host}");
    assert!(said.contains(&format!("{section}.helper = sesame")), "{said}");
    let home = env.dir.join("home");
    let helper =
        env.git_ok(&home, &["config", "--global", "--get-all", &format!("{section}.helper")]);
    assert_eq!(helper.trim(), "sesame");

    // The first clone waits for the user; the question names git and the repository.
    let url = server.url("project.git");
    let work = env.dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let clone = env.git_command(&work, &["clone", "-q", &url, "one"]).spawn().unwrap();
    // `credential.helper sesame` runs `git credential-sesame`, which Debian's git runs from
    // its exec path: the program the broker sees (past `sh -c`) is that git.
    let p = env.wait_pending(|p| p["app"]["exe"] == json!(GIT_EXEC_PATH_GIT));
    assert!(p["app"]["name"].as_str().unwrap_or_default().contains("git"), "{p}");
    assert_eq!(p["account"], json!(account), "{p}");
    assert_eq!(p["told_repository"], json!(url), "git sent the path (useHttpPath): {p}");
    let table = env.manage_ok(&["pending"]);
    assert!(
        table.contains(&format!("for repository {url} (as git tells it)")),
        "the CLI shows the repository as the program's word: {table}"
    );
    let id = p["id"].as_u64().unwrap().to_string();
    env.manage_ok(&["approve", &id, "--for", "1h"]);
    let out = clone.wait_with_output().unwrap();
    assert!(out.status.success(), "clone failed: {}\n{}", stderr(&out), env.daemon_log());
    let one = work.join("one");
    assert_eq!(std::fs::read_to_string(one.join("README")).unwrap(), "hello\n");
    let auths = server.auths();
    let last = auths.last().expect("the host saw credentials");
    assert_eq!(
        (&last["user"], &last["active"], &last["sub"]),
        (&json!("oauth2"), &json!(true), &json!("alice")),
        "{auths:?}"
    );

    // A push and a second clone: the grant answers, no question.
    std::fs::write(one.join("NEW"), "pushed\n").unwrap();
    env.git_ok(&one, &["add", "NEW"]);
    env.git_ok(&one, &["commit", "-q", "-m", "second"]);
    env.git_ok(&one, &["push", "-q", "origin", "main"]);
    let pushed = env.git_ok(&server.repos.join("project.git"), &["log", "--format=%s", "main"]);
    assert_eq!(pushed.lines().collect::<Vec<_>>(), ["second", "first"]);
    let refreshes = env.idp_token_requests("refresh_token");
    env.git_ok(&work, &["clone", "-q", &url, "two"]);
    assert!(work.join("two/NEW").exists());
    assert!(env.pending().is_empty(), "no question for the second clone");
    assert_eq!(env.idp_token_requests("refresh_token"), refreshes, "the cached token served");

    // The `!sesame git-credential` form: git's HTTP transport runs it through `sh -c`, and
    // the walk past the shell finds that program, which is asked about on its own.
    let bang = format!("credential.helper=!{} git-credential", sesame_bin().display());
    let args = ["-c", "credential.helper=", "-c", &bang, "clone", "-q", &url, "three"];
    let clone = env.git_command(&work, &args).spawn().unwrap();
    let remote_http = "/usr/lib/git-core/git-remote-http";
    let p = env.wait_pending(|p| p["app"]["exe"] == json!(remote_http));
    assert!(p["app"]["chain"].to_string().contains("sesame git-credential"), "{p}");
    env.manage_ok(&["approve", &p["id"].as_u64().unwrap().to_string()]);
    let out = clone.wait_with_output().unwrap();
    assert!(out.status.success(), "clone with !sesame failed: {}", stderr(&out));

    // Another program may not make git's token go: it holds no grant, so it erases nothing.
    let params = json!({"host": host}).to_string();
    let other = env.client_result(env.spawn_token_client(&["--call", "git.erase", &params]));
    assert_eq!(
        other.ok()["accounts"],
        json!([]),
        "the broker answered the other program: {}",
        other.stdout
    );
    env.git_ok(&one, &["fetch", "-q"]);
    assert_eq!(env.idp_token_requests("refresh_token"), refreshes, "still the cached token");

    // The host rejects the token once: git erases it, fails, and the retry gets a new one.
    server.reject_next();
    let out = env.git(&one, &["fetch", "-q"]);
    assert!(!out.status.success(), "the forced 401 fails this fetch");
    let seen = server.auths();
    assert_eq!(seen.last().unwrap()["forced"], json!(true), "{seen:?}");
    env.git_ok(&one, &["fetch", "-q"]);
    assert_eq!(
        env.idp_token_requests("refresh_token"),
        refreshes + 1,
        "erase dropped the cached token: the retry refreshed\n{}",
        env.daemon_log()
    );
    let last: Value = server.auths().last().cloned().unwrap();
    assert_eq!((&last["active"], &last["forced"]), (&json!(true), &json!(false)), "{last}");

    // Hosts Sesame does not serve: nothing on stdout, exit 0, so git asks its next helper.
    for request in [
        "protocol=https\nhost=unrelated.example\n\n",
        // A served host over plain http from elsewhere would send the token in clear text.
        &format!("protocol=http\nhost={}\n\n", host.replace("127.0.0.1", "example.com")),
    ] {
        let out = env.git_credential(&["get"], request);
        assert!(out.status.success(), "{request:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), "", "{request:?}");
    }
    let out = env.git_credential(
        &["store"],
        &format!("protocol=http\nhost={host}\nusername=oauth2\npassword=x\n\n"),
    );
    assert!(out.status.success() && out.stdout.is_empty(), "store is a no-op");

    // unconfigure takes back exactly what configure set.
    let out = env.git_credential(&["unconfigure", "--host", &host], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let left = env.git(&home, &["config", "--global", "--get-regexp", "^credential\\."]);
    assert_eq!(stdout(&left), "", "nothing of Sesame's is left in the git config");
}
