//! Callers nobody watches: the broker started by systemd's socket-activation protocol (the
//! real `systemd-socket-activate` from Debian's systemd, which passes the listening socket
//! as fd 3 with LISTEN_FDS/LISTEN_PID and execs the daemon on the first connection), its
//! `READY=1` on a NOTIFY_SOCKET this test holds, and `sesame token --no-wait` with its exit
//! codes, through that activated socket.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sesame_e2e::*;

/// `sesame daemon` behind `systemd-socket-activate` listening on `listen`. The activator
/// hands the daemon only the variables named with `-E`: the env's, and `extra`.
fn activated(env: &Env, listen: &Path, extra: &[String]) -> Command {
    let mut cmd = env.command("systemd-socket-activate");
    let vars: Vec<String> = cmd
        .get_envs()
        .filter(|(_, v)| v.is_some())
        .map(|(k, _)| k.to_string_lossy().into_owned())
        .collect();
    cmd.arg("-l").arg(listen);
    for var in vars.iter().chain(extra) {
        cmd.arg("-E").arg(var);
    }
    cmd.arg(sesame_bin()).arg("daemon");
    cmd
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

#[test]
fn socket_activation_readiness_and_no_wait_exit_codes() {
    let mut env = Env::start(Options { daemon: false, ..Default::default() });
    let notify_path = env.dir.join("run/notify");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let dir = env.socket.parent().unwrap().to_owned();
    std::fs::create_dir_all(&dir).unwrap();
    set_mode(&dir, 0o700); // what DirectoryMode=0700 makes
    let socket = env.socket.clone();
    env.start_daemon_command(activated(
        &env,
        &socket,
        &[format!("NOTIFY_SOCKET={}", notify_path.display())],
    ));
    // The first connection made systemd-socket-activate exec the daemon: it says ready.
    let mut buf = [0u8; 256];
    let n = notify.recv(&mut buf).expect("READY=1 on the notify socket");
    assert_eq!(&buf[..n], b"READY=1", "{}", env.daemon_log());
    assert!(env.daemon_log().contains("activated=true"), "{}", env.daemon_log());
    let alice = env.login("alice");
    let bob = env.login("bob");

    // No grant, and it may not wait: refused at once, nobody asked, exit code 3.
    let started = Instant::now();
    let out = env.sesame(&["token", &alice, "--no-wait"], &[]);
    let took = started.elapsed();
    assert_eq!(code(&out), Some(3), "{}\n{}", stderr(&out), env.daemon_log());
    assert!(took < Duration::from_secs(3), "--no-wait took {took:?}");
    let said = stderr(&out);
    assert!(said.contains("asked not to wait") && said.contains("--no-wait"), "{said}");
    assert!(stdout(&out).is_empty());
    assert_eq!(env.pending(), Vec::<Value>::new(), "no question was left waiting");
    // The same on the wire, for programs: `"wait": false`.
    let reply = env.rpc("token.get", json!({"account": alice, "wait": false}));
    assert_eq!(error_kind(&reply), "consent_required", "{reply}");
    assert_eq!(reply["error"]["data"]["remedy"]["do"], "allow_program", "{reply}");
    assert_eq!(env.pending(), Vec::<Value>::new());
    let none = env.sesame(&["token", "nobody", "--no-wait"], &[]);
    assert_eq!(code(&none), Some(1), "{}", stderr(&none));

    // Peers are identified on systemd's socket as on the broker's own: this test program is
    // not Sesame's CLI, so it may not manage.
    let reply = env.rpc("grants.list", json!({}));
    assert_eq!(error_kind(&reply), "forbidden", "{reply}");

    // Allowed once where someone answers (the grant is this test program's), then --no-wait
    // gets its token.
    let token = env.token(&alice, &[]);
    env.token(&bob, &[]);
    let out = env.sesame(&["token", &alice, "--no-wait"], &[]);
    assert_eq!((code(&out), stdout(&out).trim()), (Some(0), token.as_str()), "{}", stderr(&out));
    // README's curl recipe, as written there: the provider's userinfo answers for alice.
    let recipe = format!(
        "curl -sf -H \"Authorization: Bearer $({} token --no-wait {alice})\" {}/me",
        sesame_bin().display(),
        env.issuer
    );
    let out = env.command("sh").args(["-c", &recipe]).output().unwrap();
    let me: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(me["sub"], "alice", "curl: {} {}", stdout(&out), stderr(&out));

    // The provider refuses alice's refresh token: exit code 4 (sign in again).
    let refresh = env.keyring_lookup(&alice).expect("alice's refresh token");
    env.remember_secret(&refresh);
    env.revoke_at_provider(&refresh);
    let out = env.sesame(&["token", &alice, "--no-wait", "--min-ttl", "86400"], &[]);
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    // The provider is gone and bob has no token for these scopes yet: exit code 5.
    env.stop_idp();
    let out = env.sesame(&["token", &bob, "--no-wait", "--scope", "openid"], &[]);
    assert_eq!(code(&out), Some(5), "{}", stderr(&out));

    // An activated socket that is not what the broker would bind is refused, with the unit
    // setting to fix: another path, or a directory others can enter.
    let loose = env.dir.join("run/loose");
    std::fs::create_dir_all(&loose).unwrap();
    set_mode(&loose, 0o755);
    for (listen, sesame_socket, expect) in [
        (loose.join("other.sock"), None, "ListenStream="),
        (loose.join("s.sock"), Some(loose.join("s.sock")), "DirectoryMode=0700"),
    ] {
        let extra: Vec<String> =
            sesame_socket.iter().map(|s| format!("SESAME_SOCKET={}", s.display())).collect();
        let mut activator = activated(&env, &listen, &extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let _ = wait_for(Duration::from_secs(10), || {
            std::os::unix::net::UnixStream::connect(&listen).ok()
        })
        .expect("the activator listens");
        let out = wait_for(Duration::from_secs(20), || activator.try_wait().unwrap());
        let err = std::io::read_to_string(activator.stderr.take().unwrap()).unwrap();
        assert_eq!(out.and_then(|s| s.code()), Some(1), "the daemon ran and refused: {err}");
        assert!(err.contains(expect) && err.contains("sesame.socket"), "{err}");
    }
    env.assert_no_leaks();
}

/// The shell completions parse (bash) or are there (zsh, fish), and the manual pages are
/// one per command, from the same clap definitions the CLI parses with.
#[test]
fn completions_and_manual_pages_come_from_the_cli() {
    let completions = |shell: &str| {
        let out = Command::new(sesame_bin()).args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let bash = completions("bash");
    let mut check =
        Command::new("bash").arg("-n").stdin(std::process::Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(&mut check.stdin.take().unwrap(), bash.as_bytes()).unwrap();
    assert!(check.wait().unwrap().success(), "bash -n rejects the bash completion");
    assert!(bash.contains("--no-wait") && bash.contains("completions"));
    for shell in ["zsh", "fish"] {
        let script = completions(shell);
        assert!(script.contains("sesame") && script.contains("no-wait"), "{shell}: {script}");
    }
    let dir = std::env::temp_dir().join(format!("sesame-man-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(sesame_bin()).arg("man").arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let token = std::fs::read_to_string(dir.join("sesame-token.1")).unwrap();
    assert!(token.contains("no\\-wait") && token.contains("Exit codes"), "{token}");
    assert!(dir.join("sesame.1").is_file() && !dir.join("sesame-man.1").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
