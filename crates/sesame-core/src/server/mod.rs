//! The socket server, shaped like tokio's mini-redis: [`run`] accepts connections and hands
//! each to [`connection`]; [`admission`] decides who may keep one (the caps that stop a
//! program from hoarding them); [`dispatch`] maps a request to a broker call; [`socket`]
//! owns the socket file and its 0700 directory; [`peer`] asks the kernel who is on the
//! other end; [`systemd`] takes a socket systemd bound (socket activation) and says ready.

mod admission;
mod connection;
mod dispatch;
mod peer;
pub(crate) mod socket;
pub mod systemd;

#[cfg(feature = "fuzzing")]
pub(crate) use dispatch::decode_params;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::broker::Broker;
use admission::Admission;

/// Connections served at once. Past it, a new connection is accepted, answered `busy` and
/// closed (it does not hang in the kernel's backlog); Sesame's own tools still get in (a
/// reserve above this, then the longest idle connection of a program makes room).
pub const MAX_CONNECTIONS: usize = 256;

/// Connections accepted but not yet admitted (being identified, or being told `busy`).
/// The accept loop waits for one of these, so the broker's descriptors stay bounded
/// (`MAX_CONNECTIONS` + the reserve + this) however fast programs connect. Each one reads
/// `/proc` on a blocking thread: 8 keep up with a reconnecting flood as well as 32 did, with
/// half the memory growth (docs/reliability.md).
const HANDSHAKES: usize = 8;

/// How long connections get to finish their current request after shutdown is asked.
const DRAIN: Duration = Duration::from_secs(2);

/// Serves `listener` until `shutdown` completes, then stops accepting, tells connections to
/// finish and waits for them (briefly).
pub async fn run(listener: UnixListener, broker: Arc<Broker>, shutdown: impl Future) {
    let handshakes = Arc::new(Semaphore::new(HANDSHAKES));
    let admission = Arc::new(Admission::default());
    let stop = CancellationToken::new();
    let tasks = TaskTracker::new();
    tokio::select! {
        _ = accept_loop(&listener, &broker, &handshakes, &admission, &stop, &tasks) => {}
        _ = shutdown => tracing::info!("shutting down"),
    }
    stop.cancel();
    tasks.close();
    if tokio::time::timeout(DRAIN, tasks.wait()).await.is_err() {
        tracing::warn!("some connections were still busy at shutdown");
    }
}

async fn accept_loop(
    listener: &UnixListener,
    broker: &Arc<Broker>,
    handshakes: &Arc<Semaphore>,
    admission: &Arc<Admission>,
    stop: &CancellationToken,
    tasks: &TaskTracker,
) {
    loop {
        let permit =
            handshakes.clone().acquire_owned().await.expect("the semaphore is never closed");
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::error!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (broker, admission, stop) = (broker.clone(), admission.clone(), stop.clone());
        tasks.spawn(connection::serve(stream, broker, admission, permit, stop));
    }
}
