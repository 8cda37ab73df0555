//! The socket server, shaped like tokio's mini-redis: [`run`] accepts connections up to a
//! cap and hands each to [`connection`]; [`dispatch`] maps a request to a broker call;
//! [`socket`] owns the socket file and its 0700 directory; [`peer`] asks the kernel who
//! is on the other end.

mod connection;
mod dispatch;
mod peer;
pub(crate) mod socket;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::broker::Broker;

/// More simultaneous connections wait in the kernel's backlog until one closes.
pub const MAX_CONNECTIONS: usize = 256;

/// How long connections get to finish their current request after shutdown is asked.
const DRAIN: Duration = Duration::from_secs(2);

/// Serves `listener` until `shutdown` completes, then stops accepting, tells connections to
/// finish and waits for them (briefly).
pub async fn run(listener: UnixListener, broker: Arc<Broker>, shutdown: impl Future) {
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let stop = CancellationToken::new();
    let tasks = TaskTracker::new();
    tokio::select! {
        _ = accept_loop(&listener, &broker, &limit, &stop, &tasks) => {}
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
    limit: &Arc<Semaphore>,
    stop: &CancellationToken,
    tasks: &TaskTracker,
) {
    loop {
        let permit = limit.clone().acquire_owned().await.expect("the semaphore is never closed");
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::error!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (broker, stop) = (broker.clone(), stop.clone());
        tasks.spawn(async move {
            connection::serve(stream, broker, stop).await;
            drop(permit);
        });
    }
}
