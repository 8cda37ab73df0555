//! `redirect_port = N`: for providers that compare redirect URIs exactly, the sign-in's
//! loopback listener takes the registered port; a busy one is an error naming its holder.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use sesame_e2e::*;

/// A port nobody listens on right now (the test's listener closes at once).
fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port()
}

fn browser_log(env: &Env) -> String {
    std::fs::read_to_string(env.dir.join("logs/browser.log")).unwrap_or_default()
}

#[test]
fn an_exact_redirect_uri_at_oidc_provider_needs_redirect_port_and_a_busy_port_names_its_holder() {
    let port = free_port();
    let registered = format!("http://127.0.0.1:{port}/callback");
    let env = Env::start(Options {
        redirect_uri: Some(registered.clone()),
        // The unpinned sign-in below is refused by the provider and waits this long.
        login_timeout: 5,
        extra_config: format!("redirect_port = {port}\n\n[[provider]]\nid = \"unpinned\"\nissuer = \"{{issuer}}\"\nclient_id = \"desktop-app\"\nscopes = [\"openid\"]\n"),
        ..Default::default()
    });

    // The provider really compares exactly: a random port is refused at its end.
    let out = env.sesame(&["login", "unpinned"], &[]);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(browser_log(&env).contains("unexpected status 400"), "{}", browser_log(&env));

    // Pinned: the redirect comes to the registered port.
    let account = env.login("alice");
    assert!(
        browser_log(&env).contains(&format!("reached callback {registered}")),
        "{}",
        browser_log(&env)
    );
    env.token(&account, &[]);

    // Another program on the port: the sign-in fails at once and says which one.
    let mut socat = Command::new("socat")
        .args([&format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork"), "/dev/null"])
        .stdin(Stdio::null())
        .spawn()
        .expect("run socat");
    let listening = wait_for(Duration::from_secs(10), || {
        TcpListener::bind(("127.0.0.1", port)).is_err().then_some(())
    });
    assert!(listening.is_some(), "socat never listened on {port}");
    let out = env.sesame(&["login", "local"], &[]);
    let _ = socat.kill();
    let _ = socat.wait();
    assert!(!out.status.success());
    let msg = stderr(&out);
    assert!(
        msg.contains(&format!("127.0.0.1:{port} is in use by `socat` (pid {})", socat.id())),
        "{msg}"
    );
    assert!(msg.contains("redirect_port"), "{msg}");
}

#[test]
fn redirect_port_at_django_oauth_toolkit() {
    let port = free_port();
    let registered = format!("http://127.0.0.1:{port}/callback");
    let env = Env::start(Options {
        provider: Provider::Dot,
        redirect_uri: Some(registered.clone()),
        extra_config: format!("redirect_port = {port}\n"),
        ..Default::default()
    });
    let account = env.login("alice");
    assert!(
        browser_log(&env).contains(&format!("reached callback {registered}")),
        "{}",
        browser_log(&env)
    );
    let token = env.token(&account, &[]);
    assert_eq!(env.introspected_user(&env.introspect(&token)), "alice");
}
