//! One client connection: check the peer, take a seat ([`Admission`]), then read a line,
//! answer it, repeat. Bad input — invalid UTF-8 included — gets an error reply and the
//! connection stays. What closes it: a forbidden peer, no seat (`busy`), an oversized
//! frame, a line not finished within [`LINE_DEADLINE`], a reply not taken within
//! [`WRITE_DEADLINE`], or being the idle connection closed to make room.

use std::io;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sesame_ipc::codec::{RequestCodec, RequestLine};
use sesame_ipc::protocol::{method, parse_request, Notification, Response};
use sesame_ipc::{ErrorKind, RpcError};
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;
use tokio_util::bytes::BytesMut;
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;

use super::admission::{Admission, Refusal, Seat, Why, MAX_IDLE_PER_APP, MAX_PER_APP};
use super::dispatch::dispatch;
use super::peer::{own_uid, peer_of, Peer};
use super::MAX_CONNECTIONS;
use crate::broker::Broker;
use crate::events::Subscription;
use crate::policy::{Asker, Caller};

/// A request line must be complete this long after its first byte arrived.
pub const LINE_DEADLINE: Duration = Duration::from_secs(5);
/// A reply (or event) the client does not take within this long closes the connection: a
/// client that never reads would otherwise hold its connection busy for ever.
const WRITE_DEADLINE: Duration = Duration::from_secs(10);
/// Reading `/proc` for a caller is quick; this only bounds a pathological case.
const IDENTIFY_DEADLINE: Duration = Duration::from_secs(10);
/// Bytes read at a time. The buffer exists only while a line is being read.
const READ_CHUNK: usize = 4096;

/// `handshake` is the accept loop's permit for a connection not yet admitted; it is given
/// back once this one has a seat or is turned away.
pub async fn serve(
    stream: UnixStream,
    broker: Arc<Broker>,
    admission: Arc<Admission>,
    handshake: OwnedSemaphorePermit,
    stop: CancellationToken,
) {
    let mut conn = Conn { stream, buf: BytesMut::new(), codec: RequestCodec::default() };
    let peer = match peer_of(&conn.stream) {
        Ok(peer) => peer,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the peer's credentials; closing");
            return;
        }
    };
    let (uid, pid) = (peer.uid, peer.pid);
    let identified = tokio::time::timeout(IDENTIFY_DEADLINE, identify(&broker, peer)).await;
    let caller = match identified.unwrap_or_else(|_| Err("identifying it took too long".into())) {
        Ok(caller) => caller,
        Err(message) => {
            tracing::warn!(uid, ?pid, "refused a connection: {message}");
            broker.refused(None, format!("uid {}, pid {}: {message}", uid, pid.unwrap_or(0))).await;
            let _ = conn.send(unattributed(ErrorKind::Forbidden, message)).await;
            return;
        }
    };
    let seat = match admission.admit(&caller) {
        Ok(seat) => seat,
        Err(refusal) => {
            tracing::debug!(app = %caller.app.key, ?refusal, "no seat for a connection");
            let _ = conn.send(unattributed(ErrorKind::Busy, refused(refusal, &caller))).await;
            return;
        }
    };
    drop(handshake);
    loop {
        let line = match conn.read_line(&seat, &stop).await {
            Read::Line(line) => line,
            Read::Closed | Read::Stop => return,
            Read::Evicted(why) => {
                tracing::debug!(app = %caller.app.key, ?why, "closed an idle connection");
                let _ = conn.send(unattributed(ErrorKind::Busy, evicted(why, &caller))).await;
                return;
            }
            Read::Stalled => {
                let message = format!("the request line was not finished within {} s, so Sesame closed the connection; send each request as one whole line", LINE_DEADLINE.as_secs());
                let _ = conn.send(unattributed(ErrorKind::BadRequest, message)).await;
                return;
            }
            Read::TooLong => {
                // The rest of the line is still in flight; resynchronising is not worth it.
                let message = "the request is longer than 64 KiB; the connection is closed";
                let _ = conn.send(unattributed(ErrorKind::FrameTooLarge, message)).await;
                return;
            }
        };
        seat.busy();
        let reply = match line {
            RequestLine::NotUtf8 => unattributed(
                ErrorKind::BadRequest,
                "the line is not valid UTF-8; send one JSON-RPC 2.0 object per line, in UTF-8",
            ),
            RequestLine::Text(line) if line.trim().is_empty() => continue,
            RequestLine::Text(line) => match parse_request(&line) {
                Ok(request) if request.method == method::EVENTS_SUBSCRIBE => {
                    // Subscribed before the reply, so no event between the two is lost.
                    let subscription = broker.subscribe();
                    let reply = dispatch(&broker, &caller, conn.asker(&caller), request).await;
                    let subscribed = reply.error.is_none();
                    if conn.send(reply).await.is_err() || !subscribed {
                        return;
                    }
                    // The seat stays busy: a stream is never closed to make room.
                    return stream_events(conn, subscription, stop).await;
                }
                Ok(request) => dispatch(&broker, &caller, conn.asker(&caller), request).await,
                Err(reply) => *reply,
            },
        };
        if conn.send(reply).await.is_err() {
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

fn refused(refusal: Refusal, caller: &Caller) -> String {
    match refusal {
        Refusal::Full => format!("Sesame is serving the most connections it serves at once ({MAX_CONNECTIONS}); try again in a moment, and close connections that wait for nothing"),
        Refusal::AppFull => format!("{} already has {MAX_PER_APP} connections to Sesame, all of them waiting for a reply; wait for those before opening more", caller.app.name),
    }
}

fn evicted(why: Option<Why>, caller: &Caller) -> String {
    let because = match why {
        Some(Why::TooManyIdle) => format!(
            "{} has more than {MAX_IDLE_PER_APP} idle connections to Sesame, and this one was idle the longest",
            caller.app.name
        ),
        Some(Why::TooManyOfApp) => {
            format!("{} opened more than {MAX_PER_APP} connections to Sesame", caller.app.name)
        }
        Some(Why::MadeRoom) | None => {
            "Sesame is serving its most connections and its own tools needed one".into()
        }
    };
    format!("Sesame closed this idle connection: {because}; connect again when you have a request")
}

/// An error reply to no request in particular (`"id": null`).
fn unattributed(kind: ErrorKind, message: impl Into<String>) -> Response {
    Response::err(Value::Null, RpcError::new(kind, message))
}

enum Read {
    Line(RequestLine),
    /// The client closed (or the socket failed).
    Closed,
    Stop,
    Evicted(Option<Why>),
    /// Part of a line, and the rest did not come within [`LINE_DEADLINE`].
    Stalled,
    TooLong,
}

struct Conn {
    stream: UnixStream,
    /// Bytes of lines not yet complete. Empty (and unallocated) while the connection idles.
    buf: BytesMut,
    codec: RequestCodec,
}

impl Conn {
    /// Who a request on this connection waits for: the connection, and the process the
    /// request is attributed to.
    fn asker(&self, caller: &Caller) -> Asker<'_> {
        Asker::new(self.stream.as_fd(), caller.process)
    }

    /// The next line. The connection counts as idle from the moment it has to wait for one
    /// (not before: a request that is already here is read, never closed to make room).
    async fn read_line(&mut self, seat: &Seat, stop: &CancellationToken) -> Read {
        let mut started: Option<Instant> = None;
        let mut waiting = false;
        let eviction = seat.eviction();
        loop {
            match self.codec.decode(&mut self.buf) {
                Ok(Some(line)) => {
                    if self.buf.is_empty() {
                        self.buf = BytesMut::new();
                    }
                    return Read::Line(line);
                }
                Ok(None) => {}
                Err(_) => return Read::TooLong,
            }
            // The clock starts at the line's first byte (or, for bytes that came after the
            // previous line, when that one was taken).
            let deadline = (!self.buf.is_empty())
                .then(|| *started.get_or_insert_with(Instant::now) + LINE_DEADLINE);
            if !waiting {
                seat.idle();
                waiting = true;
            }
            tokio::select! {
                ready = self.stream.readable() => {
                    if ready.is_err() {
                        return Read::Closed;
                    }
                    self.buf.reserve(READ_CHUNK);
                    match self.stream.try_read_buf(&mut self.buf) {
                        Ok(0) => return Read::Closed,
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(_) => return Read::Closed,
                    }
                }
                _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    return Read::Stalled;
                }
                _ = eviction.token.cancelled() => return Read::Evicted(eviction.why()),
                _ = stop.cancelled() => return Read::Stop,
            }
        }
    }

    async fn send(&mut self, reply: Response) -> io::Result<()> {
        let line = serde_json::to_string(&reply).expect("a Response always serializes");
        self.write_line(line).await
    }

    async fn write_line(&mut self, mut line: String) -> io::Result<()> {
        line.push('\n');
        match tokio::time::timeout(WRITE_DEADLINE, self.stream.write_all(line.as_bytes())).await {
            Ok(written) => written,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "the client did not read")),
        }
    }
}

/// A subscribed connection: events out until either side stops. Anything the client sends
/// now is read and dropped; closing the connection ends the subscription.
async fn stream_events(mut conn: Conn, mut subscription: Subscription, stop: CancellationToken) {
    let mut scratch = [0u8; 1024];
    loop {
        let event = tokio::select! {
            event = subscription.next() => event,
            ready = conn.stream.readable() => {
                match ready.and_then(|()| conn.stream.try_read(&mut scratch)) {
                    Ok(0) => return,
                    Ok(_) => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(_) => return,
                }
            }
            _ = stop.cancelled() => return,
        };
        let Some(event) = event else { return };
        if conn.write_line(Notification::event(&event).to_line()).await.is_err() {
            return;
        }
    }
}
