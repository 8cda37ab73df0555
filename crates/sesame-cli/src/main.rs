//! `sesame`: the headless broker (`sesame daemon`) and the commands that talk to it.

mod commands;
mod daemon;
mod display;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "sesame", version, about = "Sesame: OAuth sign-ins in the keyring, short-lived tokens for the programs you approve")]
struct Cli {
    /// The broker's socket (default: $SESAME_SOCKET, else $XDG_RUNTIME_DIR/sesame/sesame.sock).
    #[arg(long, global = true, value_name = "PATH")]
    socket: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the broker in the foreground until SIGINT/SIGTERM.
    Daemon,
    /// Sign in to a configured provider in the browser; prints the new account's id.
    Login {
        /// A provider id from the config file.
        provider: String,
        /// Only print the URL; do not start a browser.
        #[arg(long)]
        no_browser: bool,
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
    },
    /// Revoke the account's refresh token at the provider and forget the account here.
    Logout {
        /// An account id, or a provider id that has exactly one account.
        account: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A client command makes one or two calls: a single-threaded runtime starts faster.
    let runtime = match &cli.command {
        Command::Daemon => tokio::runtime::Builder::new_multi_thread().enable_all().build(),
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
            Command::Daemon => daemon::run(cli.socket).await,
            command => commands::run(cli.socket, command).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sesame: {e:#}");
            ExitCode::FAILURE
        }
    }
}
