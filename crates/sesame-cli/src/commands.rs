//! The client commands: each is one or two calls through `sesame_ipc::Client`.

use std::path::PathBuf;

use sesame_core::Paths;
use sesame_ipc::protocol::{Revocation, TokenGetParams, GRANT_CLIENT_CREDENTIALS};
use sesame_ipc::Client;

use crate::display;
use crate::{consent, secret, status, Command};

pub async fn run(socket: Option<PathBuf>, command: Command) -> anyhow::Result<()> {
    let socket = match socket {
        Some(s) => s,
        None => Paths::from_env()?.socket,
    };
    let mut client = match Client::connect(&socket).await {
        Ok(client) => client,
        Err(e) if matches!(command, Command::Status { .. }) => return Err(status::not_running(e)),
        Err(e) => return Err(e.into()),
    };
    match command {
        Command::Daemon
        | Command::RotateHelper
        | Command::GitCredential { .. }
        | Command::Completions { .. }
        | Command::Man { .. } => unreachable!("handled by main"),
        Command::Pending { .. }
        | Command::Approve { .. }
        | Command::Deny { .. }
        | Command::Grants { .. }
        | Command::Revoke { .. }
        | Command::Activity { .. } => consent::run(&mut client, command).await,
        Command::Events { json } => {
            let mut events = client.subscribe_events().await?;
            eprintln!("sesame: listening for events; stop with Ctrl-C");
            while let Some(event) = events.next().await? {
                let line =
                    if json { serde_json::to_string(&event)? } else { display::event_line(&event) };
                // A closed pipe (the reader went away) ends the command quietly.
                use std::io::Write;
                if writeln!(std::io::stdout(), "{line}")
                    .and_then(|_| std::io::stdout().flush())
                    .is_err()
                {
                    return Ok(());
                }
            }
            anyhow::bail!("the broker closed the event stream (it stopped); start it again and re-run `sesame events`")
        }
        Command::Login { provider, device: true, .. } => {
            login_device(&mut client, &socket, &provider).await
        }
        Command::Login { provider, no_browser, .. } => {
            login(&mut client, &socket, &provider, no_browser).await
        }
        Command::Secret { action } => secret::run(&mut client, action).await,
        Command::Reload => status::reload(&mut client).await,
        Command::Status { json } => status::status(&mut client, json).await,
        Command::Accounts { json } => {
            let accounts = client.accounts().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&accounts)?);
            } else {
                print!("{}", display::accounts_table(&accounts));
            }
            Ok(())
        }
        Command::Providers { json } => {
            let providers = client.providers().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&providers)?);
            } else {
                for p in providers {
                    let machine =
                        if p.grant == GRANT_CLIENT_CREDENTIALS { "\tmachine account" } else { "" };
                    println!("{}\t{}\t{}{machine}", p.id, p.issuer, p.scopes);
                }
            }
            Ok(())
        }
        Command::Token { account, scopes, min_ttl, json, no_wait } => {
            let params = TokenGetParams {
                account,
                scopes: (!scopes.is_empty()).then(|| scopes.into()),
                min_ttl: Some(min_ttl),
                wait: no_wait.then_some(false),
            };
            let token = crate::waiting::token(&mut client, &socket, &params).await?;
            if json {
                println!("{}", serde_json::to_string(&token)?);
            } else {
                println!("{}", token.access_token.expose());
            }
            Ok(())
        }
        Command::Logout { account } => {
            let out = client.logout(&account).await?;
            match out.revocation {
                Revocation::Confirmed => println!("Signed out of {}; the provider confirmed the revocation.", out.account),
                Revocation::NotSupported { hint } => println!(
                    "Signed out of {}; the provider has no revocation endpoint, so also remove Sesame's access in the provider's account settings{}.",
                    out.account,
                    hint.map(|h| format!(" ({h})")).unwrap_or_default()
                ),
                Revocation::Failed { reason } => println!(
                    "Signed out of {} here, but the provider did not confirm the revocation ({reason}); remove Sesame's access in the provider's account settings.",
                    out.account
                ),
                Revocation::NotNeeded { reason } => println!("Signed out of {}; nothing to revoke at the provider ({reason}).", out.account),
            }
            Ok(())
        }
    }
}

async fn login(
    client: &mut Client,
    socket: &std::path::Path,
    provider: &str,
    no_browser: bool,
) -> anyhow::Result<()> {
    // A machine account signs in with its client secret, without a browser.
    let machine = client
        .providers()
        .await?
        .iter()
        .any(|p| p.id == provider && p.grant == GRANT_CLIENT_CREDENTIALS);
    if machine {
        let account = client.login_client_credentials(provider).await?;
        eprintln!(
            "Signed in as machine account {}: the provider accepted its client secret.",
            account.subject
        );
        println!("{}", account.id);
        return Ok(());
    }
    let start = client.login_start(provider).await?;
    eprintln!(
        "Sign in to {provider} in your browser. If it does not open, visit:\n\n  {}\n",
        start.authorization_url
    );
    if !no_browser {
        // The opener's verdict takes up to two seconds; it blocks no other task meanwhile.
        let url = start.authorization_url.clone();
        match tokio::task::spawn_blocking(move || sesame_core::open_browser(&url)).await {
            Ok(Err(e)) => eprintln!("(the browser did not open: {e:#})"),
            Err(e) => eprintln!("(the browser opener stopped unexpectedly: {e})"),
            Ok(Ok(())) => {}
        }
    }
    let interrupt = ctrl_c_listener()?;
    eprintln!("Waiting for the sign-in to finish (Ctrl-C cancels)…");
    finish(client, socket, &start.login_id, interrupt).await
}

/// The device sign-in (RFC 8628): the code and the page go to stderr, like the browser
/// sign-in's URL; stdout gets only the account id.
async fn login_device(
    client: &mut Client,
    socket: &std::path::Path,
    provider: &str,
) -> anyhow::Result<()> {
    let start = client.login_device_start(provider).await?;
    eprintln!(
        "To sign in to {provider}, open this page in a browser on any device:\n\n  {}\n",
        start.verification_uri
    );
    eprintln!("and enter the code:\n\n  {}\n", start.user_code);
    if let Some(complete) = &start.verification_uri_complete {
        eprintln!("Or open this link, which fills in the code for you:\n\n  {complete}\n");
    }
    let secs = (start.expires_at - sesame_core::now_unix()).max(0);
    let left = if secs < 120 { format!("{secs} s") } else { format!("{} min", (secs + 59) / 60) };
    let interrupt = ctrl_c_listener()?;
    eprintln!(
        "Waiting for you to approve the sign-in (the code expires in {left}; Ctrl-C cancels)…"
    );
    finish(client, socket, &start.login_id, interrupt).await
}

/// Ctrl-C's handler, installed before "Ctrl-C cancels" is printed: `tokio::signal::ctrl_c()`
/// registers only when first polled, and a Ctrl-C between the line and that poll killed the
/// CLI without cancelling the sign-in at the broker.
fn ctrl_c_listener() -> anyhow::Result<tokio::signal::unix::Signal> {
    use anyhow::Context as _;
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("could not listen for Ctrl-C")
}

/// Waits for the sign-in's end and prints the account id (Ctrl-C cancels it at the broker).
async fn finish(
    client: &mut Client,
    socket: &std::path::Path,
    login_id: &str,
    mut interrupt: tokio::signal::unix::Signal,
) -> anyhow::Result<()> {
    let account = tokio::select! {
        account = client.login_wait(login_id) => account?,
        _ = interrupt.recv() => {
            // The waiting connection is busy; cancel through a second one.
            if let Ok(mut other) = Client::connect(socket).await {
                let _ = other.login_cancel(login_id).await;
            }
            anyhow::bail!("sign-in cancelled");
        }
    };
    let who = account.display_name();
    eprintln!("Signed in as {who}.");
    println!("{}", account.id);
    Ok(())
}
