//! One client connection: check the peer, then read a line, answer it, repeat.
//! Bad input gets an error reply; only an oversized frame or a forbidden peer closes.

use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use sesame_ipc::codec::frame_codec;
use sesame_ipc::protocol::{parse_request, Response};
use sesame_ipc::{ErrorKind, RpcError};
use serde_json::Value;
use tokio::net::UnixStream;
use tokio_util::codec::{Framed, LinesCodec, LinesCodecError};
use tokio_util::sync::CancellationToken;

use super::dispatch::dispatch;
use super::peer::{own_uid, peer_of};
use crate::broker::Broker;

pub async fn serve(stream: UnixStream, broker: Arc<Broker>, stop: CancellationToken) {
    let peer = match peer_of(&stream) {
        Ok(peer) => peer,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the peer's credentials; closing");
            return;
        }
    };
    let mut framed = Framed::new(stream, frame_codec());
    if peer.uid != own_uid() {
        tracing::warn!(uid = peer.uid, pid = ?peer.pid, "refused a connection from another user");
        let error = RpcError::new(ErrorKind::Forbidden, "this Sesame broker serves only the user who runs it");
        let _ = send(&mut framed, Response::err(Value::Null, error)).await;
        return;
    }
    loop {
        let line = tokio::select! {
            line = framed.next() => line,
            _ = stop.cancelled() => return,
        };
        let reply = match line {
            None => return,
            Some(Ok(line)) if line.trim().is_empty() => continue,
            Some(Ok(line)) => match parse_request(&line) {
                Ok(request) => dispatch(&broker, request).await,
                Err(reply) => reply,
            },
            Some(Err(LinesCodecError::MaxLineLengthExceeded)) => {
                // The rest of the line is still in flight; resynchronising is not worth it.
                let error = RpcError::new(ErrorKind::FrameTooLarge, "the request is longer than 64 KiB; the connection is closed");
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

async fn send(framed: &mut Framed<UnixStream, LinesCodec>, reply: Response) -> Result<(), LinesCodecError> {
    let line = serde_json::to_string(&reply).expect("a Response always serializes");
    framed.send(line).await
}
