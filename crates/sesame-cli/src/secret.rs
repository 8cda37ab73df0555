//! `sesame secret set|delete <provider>`: a provider's client secret goes to the broker's
//! keyring, read from stdin (never from the command line, where it would sit in the shell's
//! history and in `ps`). On a terminal the typing is not echoed.

use std::io::BufRead;

use anyhow::Context;
use sesame_ipc::{Client, Secret};

use crate::SecretAction;

pub async fn run(client: &mut Client, action: SecretAction) -> anyhow::Result<()> {
    match action {
        SecretAction::Set { provider } => {
            // Before anyone types a secret: is there such a provider? (The broker checks the
            // rest: whether the provider uses a secret at all.)
            let providers = client.providers().await?;
            if !providers.iter().any(|p| p.id == provider) {
                let known = providers.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", ");
                anyhow::bail!(
                    "there is no provider `{provider}` in the config; configured: {known}"
                );
            }
            let secret = read_secret(&provider).await?;
            let out = client.set_secret(&provider, secret).await?;
            let replaced = if out.existed { " (it replaces the previous one)" } else { "" };
            println!(
                "Stored the client secret of provider {} in the keyring{replaced}.",
                out.provider
            );
        }
        SecretAction::Delete { provider } => {
            let out = client.delete_secret(&provider).await?;
            if out.existed {
                println!(
                    "Deleted the client secret of provider {} from the keyring.",
                    out.provider
                );
            } else {
                println!(
                    "No client secret of provider {} was stored; nothing to delete.",
                    out.provider
                );
            }
        }
    }
    Ok(())
}

/// One line from stdin, trimmed. On a terminal: a prompt on stderr and no echo (restored
/// afterwards, also on Ctrl-C).
async fn read_secret(provider: &str) -> anyhow::Result<Secret> {
    // SAFETY: isatty only inspects the descriptor.
    let tty = unsafe { libc::isatty(libc::STDIN_FILENO) } == 1;
    let echo_off = if tty {
        // Echo off before the prompt: whatever is typed after the prompt is not shown.
        let off = EchoOff::new(libc::STDIN_FILENO).context("cannot turn off the terminal's echo, so the secret is not read from it; pipe it in instead")?;
        eprint!("Client secret of provider {provider} (paste it; it is not shown), then Enter: ");
        Some(off)
    } else {
        None
    };
    // A plain thread, not the runtime's blocking pool: on Ctrl-C the process exits without
    // waiting for the read to finish.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = std::io::stdin().lock().read_line(&mut line).map(|_| Secret::new(line));
        let _ = tx.send(read);
    });
    let read = tokio::select! {
        read = rx => read,
        _ = tokio::signal::ctrl_c() => {
            drop(echo_off);
            eprintln!();
            anyhow::bail!("cancelled; no secret was stored");
        }
    };
    drop(echo_off);
    let line =
        read.context("the stdin reader stopped")?.context("cannot read the secret from stdin")?;
    let secret = Secret::new(line.expose().trim());
    if secret.expose().is_empty() {
        anyhow::bail!("no secret on stdin; run `sesame secret set {provider}` and paste the secret when asked, or pipe one line into it");
    }
    Ok(secret)
}

/// The terminal's settings with echo turned off; restored on drop.
struct EchoOff {
    fd: libc::c_int,
    saved: libc::termios,
}

impl EchoOff {
    fn new(fd: libc::c_int) -> std::io::Result<EchoOff> {
        // SAFETY: termios is plain data; tcgetattr fills it or fails.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut quiet = saved;
        // No echo of the characters; the newline is still echoed so the line ends cleanly.
        quiet.c_lflag &= !libc::ECHO;
        quiet.c_lflag |= libc::ECHONL;
        // SAFETY: `quiet` is a valid termios obtained from the same descriptor.
        if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(EchoOff { fd, saved })
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `new`.
        unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved) };
    }
}
