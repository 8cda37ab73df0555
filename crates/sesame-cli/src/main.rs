//! `sesame`: the headless broker (`sesame daemon`) and the commands that talk to it.

mod commands;
mod consent;
mod daemon;
mod display;
mod exit_code;
mod git_credential;
mod secret;
mod status;
mod waiting;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sesame",
    version,
    about = "Sesame: OAuth sign-ins in the keyring, short-lived tokens for the programs you approve"
)]
struct Cli {
    /// The broker's socket (default: $SESAME_SOCKET, else $XDG_RUNTIME_DIR/sesame/sesame.sock).
    #[arg(long, global = true, value_name = "PATH")]
    socket: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the broker in the foreground until SIGINT/SIGTERM (SIGHUP: reload the config).
    /// Under systemd it serves the socket sesame.socket bound (LISTEN_FDS) and reports
    /// READY=1 (Type=notify).
    Daemon,
    /// Read the config file again and put it in force (as SIGHUP to the daemon does); a
    /// config that does not parse is reported and the one in force stays.
    Reload,
    /// Is it working? Since when the broker runs, accounts and when their cached tokens
    /// expire, waiting questions, grants that lapse soon.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script: `sesame completions bash > /etc/bash_completion.d/sesame`.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Internal: write the manual pages (sesame.1, sesame-token.1, ...) into DIR (for the .deb).
    #[command(hide = true)]
    Man {
        /// Where to write them; it must exist.
        dir: PathBuf,
    },
    /// Internal: one refresh for the broker, which outlives a killed broker (see
    /// sesame-core's rotation.rs). Reads its job on stdin; not for people.
    #[command(hide = true)]
    RotateHelper,
    /// Sign in to a configured provider in the browser (a machine account: with its client
    /// secret, no browser); prints the account's id.
    Login {
        /// A provider id from the config file.
        provider: String,
        /// Only print the URL; do not start a browser.
        #[arg(long)]
        no_browser: bool,
        /// Sign in on another device (RFC 8628): prints a code and the page to enter it at,
        /// for when this machine has no browser (an SSH session). Never starts a browser.
        #[arg(long, conflicts_with = "no_browser")]
        device: bool,
    },
    /// List the signed-in accounts (never a secret).
    Accounts {
        #[arg(long)]
        json: bool,
    },
    /// List the configured providers.
    Providers {
        #[arg(long)]
        json: bool,
    },
    /// Print an access token for an account, alone on stdout.
    ///
    /// Exit codes: 0 the token; 1 an error; 2 bad usage; 3 consent needed (no grant, and
    /// nobody answered yes: consent_required, consent_denied, consent_timeout); 4 the account
    /// must sign in again (reauth_required); 5 the provider is unreachable.
    Token {
        /// An account id, or a provider id that has exactly one account.
        account: String,
        /// Ask for these scopes only (repeatable); default: all of the account's.
        #[arg(long = "scope", value_name = "S")]
        scopes: Vec<String>,
        /// Refresh first if the token expires within this many seconds.
        #[arg(long, value_name = "SECS", default_value_t = sesame_ipc::protocol::DEFAULT_MIN_TTL)]
        min_ttl: u64,
        /// Print access_token, token_type, expires_at, scope and account as JSON.
        #[arg(long)]
        json: bool,
        /// Fail at once (exit code 3, consent_required) if no grant covers this program,
        /// instead of waiting for an answer: for cron jobs and scripts nobody watches.
        #[arg(long)]
        no_wait: bool,
    },
    /// Store or delete a provider's client secret in the keyring (never in the config file).
    Secret {
        #[command(subcommand)]
        action: SecretAction,
    },
    /// Revoke the account's refresh token at the provider and forget the account here.
    Logout {
        /// An account id, or a provider id that has exactly one account.
        account: String,
    },
    /// List token requests waiting for your answer.
    Pending {
        #[arg(long)]
        json: bool,
    },
    /// Let a waiting request have its token (once, unless told how long to remember it).
    Approve {
        /// The request's id from `sesame pending`.
        id: u64,
        /// Also remember, until revoked: the same program gets tokens for this account and
        /// scopes without asking.
        #[arg(long, conflicts_with_all = ["for_", "until_lock"])]
        remember: bool,
        /// Also remember for this long, then ask again: e.g. 90s, 15m, 8h, 2d, 1h30m (at most 7d).
        #[arg(long = "for", value_name = "DURATION", value_parser = consent::parse_duration, conflicts_with = "until_lock")]
        for_: Option<u64>,
        /// Also remember until the screen locks (or the system sleeps, or the broker stops).
        #[arg(long)]
        until_lock: bool,
        /// The account to hand out, when the request lets you choose (`sesame pending` lists them).
        #[arg(long, value_name = "ID")]
        account: Option<String>,
    },
    /// Refuse a waiting request.
    Deny {
        /// The request's id from `sesame pending`.
        id: u64,
    },
    /// List the programs you allowed, with their accounts, scopes and use.
    Grants {
        #[arg(long)]
        json: bool,
    },
    /// Take back a grant (or all of one program's): its next request asks you again.
    Revoke {
        /// The grant's id from `sesame grants`.
        #[arg(required_unless_present = "app", conflicts_with = "app")]
        grant: Option<i64>,
        /// Revoke every grant of this program (its identity as `sesame grants` shows it).
        #[arg(long, value_name = "IDENTITY")]
        app: Option<String>,
    },
    /// Print the broker's events as they happen (a request waits, an account needs signing
    /// in again, ...) until interrupted; one line each. Pipe it into a notifier if you like.
    Events {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// A git credential helper (`credential.helper sesame`): `get`, `store`, `erase` speak
    /// git's protocol on stdin/stdout; `configure` and `unconfigure` set up your git config.
    GitCredential {
        #[command(subcommand)]
        action: git_credential::GitAction,
    },
    /// Show what happened: hand-outs, answers, revocations, refusals (newest first).
    Activity {
        #[arg(long)]
        json: bool,
        /// At most this many rows.
        #[arg(long, value_name = "N", default_value_t = 50)]
        limit: u32,
        /// Only this program (its identity, or part of it or of its name).
        #[arg(long, value_name = "X")]
        app: Option<String>,
    },
}

#[derive(Subcommand)]
enum SecretAction {
    /// Read the client secret from stdin (one line; typed without echo on a terminal) and
    /// store it in the keyring for this provider.
    Set {
        /// A provider id from the config file.
        provider: String,
    },
    /// Delete the provider's client secret from the keyring.
    Delete {
        /// A provider id.
        provider: String,
    },
}

/// See `main`: the daemon's runtime workers.
const DAEMON_WORKERS: usize = 2;

fn main() -> ExitCode {
    let cli = Cli::parse_from(arguments());
    let is_token = matches!(cli.command, Command::Token { .. });
    match &cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "sesame", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
        Command::Man { dir } => {
            return match clap_mangen::generate_to(Cli::command(), dir) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("sesame: cannot write the manual pages into {}: {e}", dir.display());
                    ExitCode::FAILURE
                }
            };
        }
        _ => {}
    }
    // Before the runtime's threads exist: this changes the process's environment.
    let systemd = match &cli.command {
        Command::Daemon => Some(sesame_core::server::systemd::Systemd::take_from_env()),
        _ => None,
    };
    // A client command makes one or two calls: a single-threaded runtime starts faster.
    let runtime = match &cli.command {
        // Two workers whatever the core count: the broker answers local programs from
        // memory, and a SQLite call moves off its worker (`block_in_place`). Each worker
        // more is a stack and a malloc arena kept for the broker's life.
        Command::Daemon => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(DAEMON_WORKERS)
            .enable_all()
            .build(),
        _ => tokio::runtime::Builder::new_current_thread().enable_all().build(),
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sesame: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Daemon => daemon::run(cli.socket, systemd.unwrap_or_default()).await,
            Command::RotateHelper => daemon::rotate_helper().await,
            Command::GitCredential { action } => git_credential::run(cli.socket, action).await,
            command => commands::run(cli.socket, command).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sesame: {e:#}");
            match is_token {
                true => exit_code::of_token_error(&e),
                false => ExitCode::FAILURE,
            }
        }
    }
}

/// The command line; run as `git-credential-sesame` (a link to `sesame`, which git runs for
/// `credential.helper sesame`), it is `sesame git-credential ...`. A link, not a copy: the
/// broker knows its own binaries by their files, so the helper's requests are attributed
/// to git like every CLI request is to the program that ran it.
fn arguments() -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let invoked = args.first().map(std::path::Path::new).and_then(|p| p.file_name());
    if invoked.is_some_and(|name| name == git_credential::HELPER_BINARY) {
        args.splice(0..1, ["sesame".into(), "git-credential".into()]);
    }
    args
}
