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
//!
//! Nothing here waits forever. The helper runs in a session of its own, so the SIGINT a
//! terminal sends to a foreground `sesame daemon`'s process group (Ctrl-C) does not reach a
//! refresh in flight. The refresh has a deadline ([`REFRESH_DEADLINE`]): a rotated refresh
//! token that the keyring has not taken by then is handed back as unsaved (the broker keeps
//! it in memory and stores it before the next refresh), and the broker stops waiting. The
//! helper exits as soon as its outcome is written, even with a keyring call still stuck in
//! D-Bus on one of its threads, so it cannot hold the account's lock file past its budget.

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

/// The most one refresh may take once the account's lock is held: reading the refresh
/// token, the request at the token endpoint (with its retries) and storing a rotated refresh
/// token. Past it the refresh is reported as failed and the account's lock released.
pub(crate) const REFRESH_DEADLINE: Duration = Duration::from_secs(60);

/// The helper gives up this long before the broker's deadline, so that its outcome (maybe a
/// rotated token the keyring did not take) still reaches a broker that is waiting for it.
const HELPER_MARGIN: Duration = Duration::from_secs(3);

/// How long a broker waits for a helper still rotating an account (left by a broker that
/// died or stopped waiting): a helper's whole budget, plus slack for it to start and exit.
const LOCK_WAIT: Duration = Duration::from_secs(REFRESH_DEADLINE.as_secs() + 5);

/// The file descriptor the helper inherits the account's lock on.
const LOCK_FD: i32 = 3;

/// The largest answer a helper may write (a token response is a few KiB).
const MAX_OUTCOME: u64 = 256 * 1024;

/// How refreshes run.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// `program args…` that runs [`helper_main`]; `None`: in this process.
    helper: Option<(PathBuf, Vec<OsString>)>,
    /// Where the per-account lock files live; `None`: no cross-process lock (unit tests).
    lock_dir: Option<PathBuf>,
    /// [`REFRESH_DEADLINE`], shorter in unit tests.
    deadline: Duration,
}

impl Rotation {
    pub fn in_process() -> Rotation {
        Rotation { helper: None, lock_dir: None, deadline: REFRESH_DEADLINE }
    }

    /// Refreshes run as `program args…`, which must call [`helper_main`]; lock files go in
    /// `lock_dir` (a private directory, created if missing).
    pub fn helper(program: PathBuf, args: Vec<OsString>, lock_dir: PathBuf) -> Rotation {
        Rotation {
            helper: Some((program, args)),
            lock_dir: Some(lock_dir),
            deadline: REFRESH_DEADLINE,
        }
    }

    #[cfg(test)]
    pub(crate) fn with_deadline(self, deadline: Duration) -> Rotation {
        Rotation { deadline, ..self }
    }

    /// How long a refresh may take once the account's lock is held ([`REFRESH_DEADLINE`]).
    pub(crate) fn deadline(&self) -> Duration {
        self.deadline
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

    /// One refresh at the token endpoint, the rotated refresh token stored (or handed back
    /// as unsaved) before this returns, and this returns by `deadline`. `lock` is the
    /// account's lock from [`Rotation::lock`].
    pub(crate) async fn refresh(
        &self,
        http: &reqwest::Client,
        keyring: &Keyring,
        job: &RefreshJob,
        lock: Option<&File>,
        deadline: Instant,
    ) -> Result<Refreshed, OAuthError> {
        match &self.helper {
            None => run_job(http, keyring, job, deadline).await,
            Some((program, args)) => run_helper(program, args, job, lock, deadline).await,
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
#[derive(Clone, Serialize, Deserialize)]
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
    /// How long the helper may take (its share of the broker's deadline). A job from a
    /// broker that predates this field gets the whole deadline.
    #[serde(default = "default_budget_ms")]
    budget_ms: u64,
}

fn default_budget_ms() -> u64 {
    (REFRESH_DEADLINE - HELPER_MARGIN).as_millis() as u64
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
            budget_ms: default_budget_ms(),
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

/// The steps, wherever they run: the request, then at once the keyring; both done or given
/// up by `deadline`.
async fn run_job(
    http: &reqwest::Client,
    keyring: &Keyring,
    job: &RefreshJob,
    deadline: Instant,
) -> Result<Refreshed, OAuthError> {
    // A retry after the deadline sends nothing: the provider would rotate a token that no
    // one is waiting for.
    if Instant::now() >= deadline {
        return Err(out_of_time());
    }
    let meta = ProviderMetadata::for_token_endpoint(job.token_endpoint.clone());
    let client = job.client();
    let request = oauth::refresh(http, &meta, &client, &job.refresh_token, job.scope.as_ref());
    let response =
        tokio::time::timeout_at(deadline.into(), request).await.map_err(|_| out_of_time())??;
    let (mut unsaved, mut keyring_error) = (None, None);
    if let Some(rotated) = &response.refresh_token {
        // Before anything else: the old refresh token is dead at the provider now. A keyring
        // call that hangs past the deadline leaves the token unsaved: in memory, the broker
        // keeps it and stores it before the next refresh.
        let started = Instant::now();
        let stored = tokio::time::timeout_at(deadline.into(), keyring.set(&job.account, rotated))
            .await
            .unwrap_or_else(|_| {
                Err(KeyringError::Timeout(Duration::from_millis(
                    started.elapsed().as_millis() as u64
                )))
            });
        if let Err(e) = stored {
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
    deadline: Instant,
) -> Result<Refreshed, OAuthError> {
    let local = |what: &str, e: &dyn std::fmt::Display| {
        OAuthError::Local(format!("the refresh helper {}: {what}: {e}", program.display()))
    };
    let budget = deadline.saturating_duration_since(Instant::now()).saturating_sub(HELPER_MARGIN);
    if budget.is_zero() {
        return Err(out_of_time());
    }
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
    // Not killed with the broker's runtime or the broker: finishing is its whole point.
    cmd.kill_on_drop(false);
    let lock_fd = lock.map(|f| f.as_raw_fd());
    // SAFETY: between fork and exec only setsid(2) and dup2(2), both async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            // A session (and process group) of its own: Ctrl-C in the terminal of a
            // foreground `sesame daemon` signals the daemon's process group, and SIGHUP
            // follows the terminal's session; neither may kill a rotation half done. The
            // forked child is never a group leader, so setsid cannot fail with EPERM.
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The dup has no close-on-exec flag, so the helper inherits the lock (flock locks
            // belong to the open file, which the helper then shares).
            if let Some(fd) = lock_fd {
                if libc::dup2(fd, LOCK_FD) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| local("cannot start", &e))?;
    let pid = child.id().unwrap_or_default();
    let job = RefreshJob { budget_ms: budget.as_millis() as u64, ..job.clone() };
    let mut input = serde_json::to_vec(&job).map_err(|e| local("cannot encode the job", &e))?;
    let (mut stdin, stdout) = match (child.stdin.take(), child.stdout.take()) {
        (Some(stdin), Some(stdout)) => (stdin, stdout),
        _ => return Err(local("cannot talk to it", &"no pipes")),
    };
    let mut output = Vec::new();
    let exchange = async {
        stdin.write_all(&input).await.map_err(|e| local("cannot send the job", &e))?;
        drop(stdin);
        stdout
            .take(MAX_OUTCOME)
            .read_to_end(&mut output)
            .await
            .map_err(|e| local("cannot read the answer", &e))?;
        child.wait().await.map_err(|e| local("cannot wait for it", &e))
    };
    let waited = tokio::time::timeout_at(deadline.into(), exchange).await;
    input.fill(0);
    let status = match waited {
        Ok(status) => status?,
        Err(_) => {
            // It stopped on its own clock well before ours, so something holds it (stopped,
            // swapped out). It keeps the account's lock file until it exits, and may still
            // store a rotated token; killing it could lose that token.
            output.fill(0);
            tracing::warn!(pid, "the refresh helper missed the refresh's deadline; the account's next refresh waits for it to exit");
            return Err(local(
                "gave no answer in time",
                &format!(
                    "pid {pid} did not finish within {} s; the account's next refresh waits for it to exit (end it if it hangs)",
                    REFRESH_DEADLINE.as_secs()
                ),
            ));
        }
    };
    let outcome: Result<Result<Refreshed, OAuthError>, _> = serde_json::from_slice(&output);
    output.fill(0);
    match outcome {
        Ok(outcome) => outcome,
        Err(_) => Err(local("gave no usable answer", &status)),
    }
}

/// The helper's side: reads a [`RefreshJob`] on stdin, refreshes within the job's budget,
/// stores a rotated refresh token in `keyring`, writes the outcome as JSON on stdout, and
/// then exits the process (this does not return on success): a keyring call stuck in D-Bus
/// cannot be cancelled, the runtime would wait for its thread forever, and the process
/// holds the account's lock file until it exits. Errors go in the outcome; `Err` only when
/// there is no job to run.
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
    let deadline = Instant::now() + Duration::from_millis(job.budget_ms);
    let http = oauth::http_client()?;
    let outcome = run_job(&http, &keyring, &job, deadline).await;
    let mut output =
        serde_json::to_vec(&outcome).map_err(|e| format!("cannot encode the outcome: {e}"))?;
    // The broker may be gone (that is why this runs apart): a closed pipe is fine, the
    // keyring already has what matters.
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(&output).and_then(|()| stdout.flush());
    output.fill(0);
    drop((job, outcome));
    std::process::exit(0)
}

/// The error for a refresh that ran out of time before it reached the provider (or before
/// the provider answered).
fn out_of_time() -> OAuthError {
    OAuthError::Unreachable {
        what: "the token endpoint".into(),
        detail: format!(
            "the refresh did not finish within its deadline ({} s)",
            REFRESH_DEADLINE.as_secs()
        ),
    }
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
