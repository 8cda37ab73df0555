//! One client connection: check the peer, then read a line, answer it, repeat.
//! Bad input gets an error reply; only an oversized frame or a forbidden peer closes.

use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use sesame_ipc::codec::frame_codec;
use sesame_ipc::protocol::{method, parse_request, Notification, Response};
use sesame_ipc::{ErrorKind, RpcError};
use tokio::net::UnixStream;
use tokio_util::codec::{Framed, LinesCodec, LinesCodecError};
use tokio_util::sync::CancellationToken;

use super::dispatch::dispatch;
use super::peer::{own_uid, peer_of, Peer};
use crate::broker::Broker;
use crate::events::Subscription;
use crate::policy::Caller;

pub async fn serve(stream: UnixStream, broker: Arc<Broker>, stop: CancellationToken) {
    let peer = match peer_of(&stream) {
        Ok(peer) => peer,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the peer's credentials; closing");
            return;
        }
    };
    let mut framed = Framed::new(stream, frame_codec());
    let (uid, pid) = (peer.uid, peer.pid);
    let caller = match identify(&broker, peer).await {
        Ok(caller) => caller,
        Err(message) => {
            tracing::warn!(uid, ?pid, "refused a connection: {message}");
            broker.refused(None, format!("uid {}, pid {}: {message}", uid, pid.unwrap_or(0))).await;
            let _ = send(
                &mut framed,
                Response::err(Value::Null, RpcError::new(ErrorKind::Forbidden, message)),
            )
            .await;
            return;
        }
    };
    loop {
        let line = tokio::select! {
            line = framed.next() => line,
            _ = stop.cancelled() => return,
        };
        let reply = match line {
            None => return,
            Some(Ok(line)) if line.trim().is_empty() => continue,
            Some(Ok(line)) => match parse_request(&line) {
                Ok(request) if request.method == method::EVENTS_SUBSCRIBE => {
                    // Subscribed before the reply, so no event between the two is lost.
                    let subscription = broker.subscribe();
                    let reply = dispatch(&broker, &caller, request).await;
                    let subscribed = reply.error.is_none();
                    if send(&mut framed, reply).await.is_err() || !subscribed {
                        return;
                    }
                    return stream_events(framed, subscription, stop).await;
                }
                Ok(request) => dispatch(&broker, &caller, request).await,
                Err(reply) => *reply,
            },
            Some(Err(LinesCodecError::MaxLineLengthExceeded)) => {
                // The rest of the line is still in flight; resynchronising is not worth it.
                let error = RpcError::new(
                    ErrorKind::FrameTooLarge,
                    "the request is longer than 64 KiB; the connection is closed",
                );
                let _ = send(&mut framed, Response::err(Value::Null, error)).await;
                return;
            }
            Some(Err(LinesCodecError::Io(e))) => {
                tracing::debug!(error = %e, "connection read failed");
                return;
            }
        };
        if send(&mut framed, reply).await.is_err() {
            return;
        }
    }
}

/// Who is calling, from the kernel's word, captured once at accept. Any doubt is a refusal.
async fn identify(broker: &Arc<Broker>, peer: Peer) -> Result<Caller, String> {
    if peer.uid != own_uid() {
        return Err("this Sesame broker serves only the user who runs it".into());
    }
    let pid = peer.pid.ok_or("the kernel did not say which process connected")?;
    let b = broker.clone();
    let identified = tokio::task::spawn_blocking(move || {
        use std::os::fd::AsFd;
        b.identify_peer(pid, peer.uid, peer.pidfd.as_ref().map(|fd| fd.as_fd()))
    })
    .await;
    match identified {
        Ok(Ok(caller)) => Ok(caller),
        Ok(Err(e)) => Err(format!(
            "Sesame could not tell which program connected ({e}), so it will not serve it"
        )),
        Err(e) => Err(format!("identifying the caller failed ({e})")),
    }
}

/// A subscribed connection: events out until either side stops. Anything the client sends
/// now is ignored; closing the connection ends the subscription.
async fn stream_events(
    mut framed: Framed<UnixStream, LinesCodec>,
    mut subscription: Subscription,
    stop: CancellationToken,
) {
    loop {
        let event = tokio::select! {
            event = subscription.next() => event,
            line = framed.next() => match line {
                Some(Ok(_)) => continue,
                _ => return,
            },
            _ = stop.cancelled() => return,
        };
        let Some(event) = event else { return };
        let line = Notification::event(&event).to_line();
        if framed.send(line).await.is_err() {
            return;
        }
    }
}

async fn send(
    framed: &mut Framed<UnixStream, LinesCodec>,
    reply: Response,
) -> Result<(), LinesCodecError> {
    let line = serde_json::to_string(&reply).expect("a Response always serializes");
    framed.send(line).await
}
