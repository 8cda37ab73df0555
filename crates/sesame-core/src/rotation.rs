//! Refreshing an account's token without ever losing a rotated refresh token.
//!
//! Providers that rotate refresh tokens (Microsoft, GitLab, oidc-provider) invalidate the old
//! one when they answer, and many revoke the whole grant if it comes back. Between the
//! provider's answer and the keyring write, a broker killed with SIGKILL would lose the
//! account, and no ordering inside one process closes that window. So the refresh runs in a
//! short-lived helper process (`sesame rotate-helper`) that does the request *and* the keyring
//! write, and outlives a killed broker. A per-account lock file, taken by the broker before it
//! reads the refresh token and inherited by the helper, keeps the next broker from reading the
//! keyring until the helper has finished.
//!
//! Unit tests and embedders without a helper binary run the same steps in-process
//! ([`Rotation::in_process`]).

use std::ffi::OsString;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

use crate::keyring::{Keyring, KeyringError};
use crate::oauth::{self, OAuthClient, OAuthError, ProviderMetadata, SecretPlacement};
use crate::{ScopeSet, Secret};

/// How long a broker waits for a helper still rotating an account (left by a broker that
/// died): the helper's own HTTP (30 s) and keyring (10 s) bounds, plus slack.
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// The file descriptor the helper inherits the account's lock on.
const LOCK_FD: i32 = 3;

/// The largest answer a helper may write (a token response is a few KiB).
const MAX_OUTCOME: u64 = 256 * 1024;

/// How refreshes run.
#[derive(Debug, Clone, Default)]
pub struct Rotation {
    /// `program args…` that runs [`helper_main`]; `None`: in this process.
    helper: Option<(PathBuf, Vec<OsString>)>,
    /// Where the per-account lock files live; `None`: no cross-process lock (unit tests).
    lock_dir: Option<PathBuf>,
}

impl Rotation {
    pub fn in_process() -> Rotation {
        Rotation::default()
    }

    /// Refreshes run as `program args…`, which must call [`helper_main`]; lock files go in
    /// `lock_dir` (a private directory, created if missing).
    pub fn helper(program: PathBuf, args: Vec<OsString>, lock_dir: PathBuf) -> Rotation {
        Rotation { helper: Some((program, args)), lock_dir: Some(lock_dir) }
    }

    /// The account's cross-process lock: held from before the refresh token is read until
    /// the rotated one is stored.
    pub(crate) async fn lock(&self, account: &str) -> Result<Option<File>, KeyringError> {
        let Some(dir) = &self.lock_dir else { return Ok(None) };
        let path = dir.join(format!("rotate-{account}.lock"));
        let locked = tokio::task::spawn_blocking(move || lock_file(&path)).await;
        match locked {
            Ok(Ok(file)) => Ok(Some(file)),
            Ok(Err(e)) => Err(KeyringError::Failed(e)),
            Err(e) => Err(KeyringError::Failed(format!("the lock task failed: {e}"))),
        }
    }

    /// One refresh at the token endpoint, the rotated refresh token stored before this
    /// returns. `lock` is the account's lock from [`Rotation::lock`].
    pub(crate) async fn refresh(
        &self,
        http: &reqwest::Client,
        keyring: &Keyring,
        job: &RefreshJob,
        lock: Option<&File>,
    ) -> Result<Refreshed, OAuthError> {
        match &self.helper {
            None => run_job(http, keyring, job).await,
            Some((program, args)) => run_helper(program, args, job, lock).await,
        }
    }
}

fn lock_file(path: &Path) -> Result<File, String> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        // SAFETY: flock(2) on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(file);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "another Sesame process has been refreshing this account for over {} s ({}); if no sesame process is running, delete that file",
                LOCK_WAIT.as_secs(),
                path.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What a refresh needs; goes to the helper on its stdin (never on its command line).
#[derive(Serialize, Deserialize)]
pub(crate) struct RefreshJob {
    account: String,
    token_endpoint: Url,
    client_id: String,
    #[serde(serialize_with = "ser_opt_secret", deserialize_with = "de_opt_secret", default)]
    client_secret: Option<Secret>,
    secret_placement: Option<SecretPlacement>,
    #[serde(
        serialize_with = "Secret::serialize_exposed",
        deserialize_with = "Secret::deserialize_exposed"
    )]
    refresh_token: Secret,
    scope: Option<ScopeSet>,
}

impl RefreshJob {
    pub(crate) fn new(
        account: &str,
        token_endpoint: Url,
        client: &OAuthClient,
        refresh_token: Secret,
        scope: Option<ScopeSet>,
    ) -> RefreshJob {
        let (client_secret, secret_placement) = match client.secret() {
            Some((secret, placement)) => (Some(secret.clone()), Some(placement)),
            None => (None, None),
        };
        RefreshJob {
            account: account.into(),
            token_endpoint,
            client_id: client.id.clone(),
            client_secret,
            secret_placement,
            refresh_token,
            scope,
        }
    }

    fn client(&self) -> OAuthClient {
        match (&self.client_secret, self.secret_placement) {
            (Some(secret), Some(placement)) => {
                OAuthClient::with_secret(self.client_id.clone(), secret.clone(), placement)
            }
            _ => OAuthClient::public(self.client_id.clone()),
        }
    }
}

/// A refresh's result, the refresh token already dealt with.
#[derive(Serialize, Deserialize)]
pub(crate) struct Refreshed {
    #[serde(
        serialize_with = "Secret::serialize_exposed",
        deserialize_with = "Secret::deserialize_exposed"
    )]
    pub access_token: Secret,
    pub token_type: String,
    pub expires_in: Option<u64>,
    pub scope: Option<ScopeSet>,
    /// The provider sent a new refresh token (now in the keyring, or in `unsaved`).
    pub rotated: bool,
    /// A rotated refresh token the keyring refused, with why: the broker keeps it in memory
    /// and stores it before the next refresh.
    #[serde(serialize_with = "ser_opt_secret", deserialize_with = "de_opt_secret", default)]
    pub unsaved: Option<Secret>,
    pub keyring_error: Option<KeyringError>,
}

/// The steps, wherever they run: the request, then at once the keyring.
async fn run_job(
    http: &reqwest::Client,
    keyring: &Keyring,
    job: &RefreshJob,
) -> Result<Refreshed, OAuthError> {
    let meta = ProviderMetadata::for_token_endpoint(job.token_endpoint.clone());
    let response =
        oauth::refresh(http, &meta, &job.client(), &job.refresh_token, job.scope.as_ref()).await?;
    let (mut unsaved, mut keyring_error) = (None, None);
    if let Some(rotated) = &response.refresh_token {
        // Before anything else: the old refresh token is dead at the provider now.
        if let Err(e) = keyring.set(&job.account, rotated).await {
            unsaved = Some(rotated.clone());
            keyring_error = Some(e);
        }
    }
    Ok(Refreshed {
        access_token: response.access_token,
        token_type: response.token_type,
        expires_in: response.expires_in,
        scope: response.scope,
        rotated: response.refresh_token.is_some(),
        unsaved,
        keyring_error,
    })
}

async fn run_helper(
    program: &Path,
    args: &[OsString],
    job: &RefreshJob,
    lock: Option<&File>,
) -> Result<Refreshed, OAuthError> {
    let local = |what: &str, e: &dyn std::fmt::Display| {
        OAuthError::Local(format!("the refresh helper {}: {what}: {e}", program.display()))
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
    // Not killed with the broker's runtime or the broker: finishing is its whole point.
    cmd.kill_on_drop(false);
    if let Some(fd) = lock.map(|f| f.as_raw_fd()) {
        // SAFETY: between fork and exec only dup2(2), which is async-signal-safe; the dup
        // has no close-on-exec flag, so the helper inherits the lock (flock locks belong to
        // the open file, which the helper then shares).
        unsafe {
            cmd.pre_exec(move || {
                if libc::dup2(fd, LOCK_FD) < 0 {
                    Err(std::io::Error::last_os_error())
                } else {
                    Ok(())
                }
            });
        }
    }
    let mut child = cmd.spawn().map_err(|e| local("cannot start", &e))?;
    let input = serde_json::to_vec(job).map_err(|e| local("cannot encode the job", &e))?;
    let mut stdin = child.stdin.take().expect("piped");
    stdin.write_all(&input).await.map_err(|e| local("cannot send the job", &e))?;
    drop(stdin);
    let mut output = Vec::new();
    let stdout = child.stdout.take().expect("piped");
    stdout
        .take(MAX_OUTCOME)
        .read_to_end(&mut output)
        .await
        .map_err(|e| local("cannot read the answer", &e))?;
    let status = child.wait().await.map_err(|e| local("cannot wait for it", &e))?;
    let outcome: Result<Result<Refreshed, OAuthError>, _> = serde_json::from_slice(&output);
    output.fill(0);
    match outcome {
        Ok(outcome) => outcome,
        Err(_) => Err(local("gave no usable answer", &status)),
    }
}

/// The helper's side: reads a [`RefreshJob`] on stdin, refreshes, stores a rotated refresh
/// token in `keyring`, and writes the outcome as JSON on stdout. Errors go in the outcome;
/// `Err` only when there is no job to run.
pub async fn helper_main(keyring: Keyring) -> Result<(), String> {
    use std::io::{Read, Write};
    // Plain blocking stdio: this process does nothing else meanwhile.
    let mut input = Vec::new();
    std::io::stdin()
        .take(MAX_OUTCOME)
        .read_to_end(&mut input)
        .map_err(|e| format!("cannot read the job: {e}"))?;
    let job: Result<RefreshJob, _> = serde_json::from_slice(&input);
    input.fill(0);
    let job = job.map_err(|e| {
        format!("the job is not valid ({e}); this command is run by the Sesame broker, not by hand")
    })?;
    let http = oauth::http_client()?;
    let outcome = run_job(&http, &keyring, &job).await;
    let mut output =
        serde_json::to_vec(&outcome).map_err(|e| format!("cannot encode the outcome: {e}"))?;
    // The broker may be gone (that is why this runs apart): a closed pipe is fine, the
    // keyring already has what matters.
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(&output).and_then(|()| stdout.flush());
    output.fill(0);
    Ok(())
}

fn ser_opt_secret<S: serde::Serializer>(s: &Option<Secret>, ser: S) -> Result<S::Ok, S::Error> {
    match s {
        Some(s) => Secret::serialize_exposed(s, ser),
        None => ser.serialize_none(),
    }
}

fn de_opt_secret<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<Secret>, D::Error> {
    Ok(<Option<String> as Deserialize>::deserialize(de)?.map(Secret::new))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_is_exclusive_and_survives_in_a_copy_of_the_descriptor() {
        let dir = std::env::temp_dir().join(format!("sesame-lock-test-{}", std::process::id()));
        let path = dir.join("rotate-a.lock");
        let held = lock_file(&path).unwrap();
        // A second open file on the same path cannot take it...
        let other = File::options().write(true).open(&path).unwrap();
        assert_ne!(unsafe { libc::flock(other.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }, 0);
        // ...and a duplicate of the holder's descriptor (what the helper inherits) keeps it
        // after the original is closed.
        let dup = held.try_clone().unwrap();
        drop(held);
        assert_ne!(unsafe { libc::flock(other.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }, 0);
        drop(dup);
        assert_eq!(unsafe { libc::flock(other.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn outcomes_cross_the_pipe_and_errors_keep_their_kind() {
        let err: Result<Refreshed, OAuthError> = Err(OAuthError::RateLimited {
            what: "x".into(),
            retry_after: Some(Duration::from_secs(9)),
        });
        let back: Result<Refreshed, OAuthError> =
            serde_json::from_slice(&serde_json::to_vec(&err).unwrap()).unwrap();
        assert!(
            matches!(back, Err(OAuthError::RateLimited { retry_after: Some(d), .. }) if d == Duration::from_secs(9))
        );
        let ok: Result<Refreshed, OAuthError> = Ok(Refreshed {
            access_token: Secret::new("AT"),
            token_type: "Bearer".into(),
            expires_in: Some(5),
            scope: None,
            rotated: true,
            unsaved: Some(Secret::new("RT")),
            keyring_error: Some(KeyringError::Unavailable("locked".into())),
        });
        let back: Result<Refreshed, OAuthError> =
            serde_json::from_slice(&serde_json::to_vec(&ok).unwrap()).unwrap();
        let back = back.unwrap();
        assert_eq!(
            (back.access_token.expose(), back.unsaved.as_ref().map(Secret::expose)),
            ("AT", Some("RT"))
        );
    }
}
