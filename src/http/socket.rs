//! The WebSocket transport beneath `ws.rs`'s protocol: the handshake on actix-http's
//! upgrade hook, then frames read from and written to the TCP socket directly.
//!
//! Why not actix-ws (which this replaced): an upgraded connection there stays inside
//! actix-http's h1 dispatcher, which keeps an 8 KB read and an 8 KB write buffer for as
//! long as the connection lives (constants, not settings). That was about 16 of the 25 MB
//! per 1 000 idle subscribers in BENCHMARKS.md. Here the upgrade hook hands the socket
//! over, and an idle socket holds no buffer: bytes are read only once the kernel says some
//! arrived, and a buffer is kept only while it holds part of a frame. The framing itself
//! (masks, lengths, opcodes, close payloads) is actix-http's `ws::Codec`.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use actix_codec::{Decoder as _, Encoder as _, Framed};
use actix_http::h1;
use actix_http::header::{self, HeaderMap};
use actix_http::ws::{CloseCode, CloseReason, Codec, Frame, Item, Message, ProtocolError};
use actix_web::web;
use bytes::{Bytes, BytesMut};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Notify, mpsc};

use crate::http::graphql::admit::{AuthorizationHeader, authorization};
use crate::http::request_meta::{REQUEST_ID_HEADER, RequestMeta};
use crate::http::server::AppState;

/// How much is read from the kernel at a time.
const READ_CHUNK: usize = 4096;
/// Frames waiting for the socket; a sender waits when it is full (`ws.rs` closes a
/// consumer that keeps it full with 4500).
const OUTGOING_QUEUE: usize = 32;
/// Frames written with one system call when several wait.
const WRITE_BATCH: usize = 64 * 1024;
/// How long a closing socket waits for the client to read our close and answer with its
/// own before it lets go (a client that reads nothing is dropped then, frames and all).
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// A WebSocket upgrade: what the protocol layer needs of the handshake request.
pub struct Upgrade {
    /// The one `Authorization` header's value, if any.
    pub header_token: Option<String>,
    /// Whether the client offered the sub-protocol `ws.rs` speaks.
    pub offered_protocol: bool,
    /// The client, as far as trusted proxies tell.
    pub client: Option<IpAddr>,
    pub request_id: String,
}

/// Serves one upgrade request handed over by actix-http: answers the handshake (or
/// refuses it), then gives the socket to `serve`. Any request that asks for an upgrade
/// comes here, whatever its path: actix-http hands over every `Upgrade: websocket` and
/// `CONNECT` request once an upgrade hook is set.
pub async fn accept<F, Fut>(
    state: web::Data<AppState>,
    request: actix_http::Request,
    framed: Framed<TcpStream, h1::Codec>,
    serve: F,
) -> std::io::Result<()>
where
    F: FnOnce(web::Data<AppState>, Upgrade, Reader, Sender) -> Fut + 'static,
    Fut: std::future::Future<Output = Reader> + 'static,
{
    let Some((io, early, upgrade)) = handshake(&state, request, framed).await? else {
        return Ok(());
    };
    // The socket lives in a task of its own, and this one (actix-http's connection task,
    // about 8 KB, sized for the HTTP dispatcher's largest state) ends here: an idle
    // socket then costs only what its own life needs.
    actix_web::rt::spawn(live(state, io, early, upgrade, serve));
    Ok(())
}

/// A socket's life after the handshake: `serve` speaks the protocol, then the closing
/// handshake is given its grace.
async fn live<F, Fut>(
    state: web::Data<AppState>,
    io: TcpStream,
    early: BytesMut,
    upgrade: Upgrade,
    serve: F,
) where
    F: FnOnce(web::Data<AppState>, Upgrade, Reader, Sender) -> Fut,
    Fut: std::future::Future<Output = Reader>,
{
    // No TCP_NODELAY: it was measured (BENCHMARKS.md, session 8) to cost a fifth more CPU
    // per push at 50 000 pushes a second, for no lower latency once the cores are busy;
    // the writer already sends whatever waits in one write.
    let (read, write) = io.into_split();
    let (queue, waiting) = mpsc::channel(OUTGOING_QUEUE);
    let closing = Arc::new(Closing::default());
    // On the worker's own thread, like the socket's task: a push then wakes no other
    // scheduler.
    let writer = actix_web::rt::spawn(write_frames(write, waiting, closing.clone()));
    let reader = Reader {
        half: read,
        codec: Codec::new().max_size(state.limits.max_body_bytes),
        max_message: state.limits.max_body_bytes,
        buffer: early,
        fragments: None,
        broken: false,
    };
    let sender = Sender { queue, closing };
    // The protocol layer gives the reader back once it has asked for the close (or the
    // peer went away). Reading on until the client closes too keeps the kernel from
    // answering unread bytes with a reset, which could destroy the close frame before the
    // client reads it.
    let mut reader = serve(state, upgrade, reader, sender).await;
    let deadline = tokio::time::Instant::now() + CLOSE_GRACE;
    let _ =
        tokio::time::timeout_at(deadline, async { while reader.next().await.is_some() {} }).await;
    // A client that reads nothing cannot hold the socket open: its unsent frames are
    // dropped with it.
    let abort = writer.abort_handle();
    if tokio::time::timeout_at(deadline, writer).await.is_err() {
        abort.abort();
    }
}

/// Answers the upgrade request: `101 Switching Protocols` with the socket, what the
/// client sent behind its request and what the protocol needs of it; or a refusal over
/// HTTP and `None`.
async fn handshake(
    state: &AppState,
    request: actix_http::Request,
    framed: Framed<TcpStream, h1::Codec>,
) -> std::io::Result<Option<(TcpStream, BytesMut, Upgrade)>> {
    let parts = framed.into_parts();
    let mut io = parts.io;
    if !parts.write_buf.is_empty() {
        io.write_all(&parts.write_buf).await?;
    }
    // What the client sent behind its handshake is kept, in a buffer of its own size; the
    // dispatcher's 8 KB ones are dropped here.
    let early = BytesMut::from(&parts.read_buf[..]);
    let head = request.head();
    let meta = RequestMeta::of(
        &head.headers,
        head.peer_addr.map(|a| a.ip()),
        &state.trusted_proxies,
        || uuid::Uuid::new_v4().to_string(),
    );
    let span = tracing::info_span!(
        "request",
        method = %head.method,
        path = %head.uri.path(),
        request_id = %meta.id,
        client = meta.client.map(tracing::field::display),
        status = tracing::field::Empty,
    );
    let refusal = if head.uri.path() != "/graphql" {
        Some((404, "Not Found", "no WebSocket endpoint here; use /graphql"))
    } else if actix_http::ws::verify_handshake(head).is_err() {
        Some((
            400,
            "Bad Request",
            "not a valid WebSocket handshake (GET, Connection: Upgrade, Sec-WebSocket-Version: 13, a Sec-WebSocket-Key)",
        ))
    } else {
        match authorization(&head.headers) {
            Ok(_) => None,
            Err(problem @ AuthorizationHeader::Repeated) => {
                Some((400, "Bad Request", problem.message()))
            }
            Err(problem @ AuthorizationHeader::Unreadable) => {
                Some((401, "Unauthorized", problem.message()))
            }
        }
    };
    if let Some((status, phrase, body)) = refusal {
        span.record("status", status);
        tracing::info!(parent: &span, status, "request finished");
        let response = format!(
            "HTTP/1.1 {status} {phrase}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n{REQUEST_ID_HEADER}: {}\r\n\r\n{body}",
            body.len(),
            meta.id
        );
        io.write_all(response.as_bytes()).await?;
        io.shutdown().await?;
        return Ok(None);
    }
    let offered_protocol = offers_protocol(&head.headers);
    let accept_key = head
        .headers
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|key| actix_http::ws::hash_key(key.as_bytes()))
        .unwrap_or_default();
    let protocol = if offered_protocol {
        format!("sec-websocket-protocol: {}\r\n", crate::http::ws::PROTOCOL)
    } else {
        String::new()
    };
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: {}\r\n{protocol}{REQUEST_ID_HEADER}: {}\r\n\r\n",
        String::from_utf8_lossy(&accept_key),
        meta.id
    );
    let upgrade = Upgrade {
        header_token: authorization(&head.headers)
            .ok()
            .flatten()
            .map(str::to_owned),
        offered_protocol,
        client: meta.client,
        request_id: meta.id,
    };
    io.write_all(response.as_bytes()).await?;
    span.record("status", 101);
    tracing::info!(parent: &span, status = 101, "request finished");
    Ok(Some((io, early, upgrade)))
}

fn offers_protocol(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == crate::http::ws::PROTOCOL)
}

/// A message from the client, fragments joined.
pub enum Incoming {
    Text(String),
    Binary,
    Ping(Bytes),
    Pong,
    Close,
}

/// Why the client's bytes cannot be read on: the close code and reason to answer with.
pub struct Violation {
    pub code: u16,
    pub reason: &'static str,
}

fn violation(err: &ProtocolError) -> Violation {
    match err {
        ProtocolError::Overflow => Violation {
            code: 1009,
            reason: "Message too big",
        },
        _ => Violation {
            code: 1002,
            reason: "WebSocket protocol error",
        },
    }
}

/// The client's side of a socket.
pub struct Reader {
    half: OwnedReadHalf,
    codec: Codec,
    max_message: usize,
    /// Bytes read but not yet a whole frame; empty, with no allocation, while idle.
    buffer: BytesMut,
    /// A fragmented message being joined: whether it is text, and its bytes so far.
    fragments: Option<(bool, BytesMut)>,
    /// Whether the client broke the protocol (see `next`).
    broken: bool,
}

impl Reader {
    /// The next message; `None` once the client has gone (or its bytes cannot be read),
    /// `Some(Err)` when it broke the protocol. Cancel-safe: everything read is kept in
    /// `self` before any await.
    pub async fn next(&mut self) -> Option<Result<Incoming, Violation>> {
        loop {
            if self.broken {
                // Past a violation the bytes have no framing to trust: they are read only
                // to see the client close, and dropped. (Decoding them again would meet the
                // same error without awaiting, and spin the worker.)
                self.buffer = BytesMut::new();
            } else {
                match self.codec.decode(&mut self.buffer) {
                    Ok(Some(frame)) => {
                        if self.buffer.is_empty() {
                            self.buffer = BytesMut::new();
                        }
                        match self.join(frame) {
                            Ok(Some(message)) => return Some(Ok(message)),
                            Ok(None) => continue,
                            Err(violation) => return Some(Err(self.broke(violation))),
                        }
                    }
                    Ok(None) => {}
                    Err(err) => return Some(Err(self.broke(violation(&err)))),
                }
            }
            if self.half.readable().await.is_err() {
                return None;
            }
            self.buffer.reserve(READ_CHUNK);
            match self.half.try_read_buf(&mut self.buffer) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                    if self.buffer.is_empty() {
                        self.buffer = BytesMut::new();
                    }
                }
                Err(_) => return None,
            }
        }
    }

    fn broke(&mut self, violation: Violation) -> Violation {
        self.broken = true;
        self.fragments = None;
        violation
    }

    fn join(&mut self, frame: Frame) -> Result<Option<Incoming>, Violation> {
        let whole = |text: bool, bytes: BytesMut| {
            if !text {
                return Ok(Incoming::Binary);
            }
            String::from_utf8(bytes.to_vec())
                .map(Incoming::Text)
                .map_err(|_| Violation {
                    code: 1007,
                    reason: "A text message is not UTF-8",
                })
        };
        let message = match frame {
            Frame::Text(bytes) => whole(true, BytesMut::from(&bytes[..]))?,
            Frame::Binary(_) => Incoming::Binary,
            Frame::Ping(bytes) => Incoming::Ping(bytes),
            Frame::Pong(_) => Incoming::Pong,
            Frame::Close(_) => Incoming::Close,
            Frame::Continuation(item) => {
                let (first, last, bytes) = match item {
                    Item::FirstText(b) => (Some(true), false, b),
                    Item::FirstBinary(b) => (Some(false), false, b),
                    Item::Continue(b) => (None, false, b),
                    Item::Last(b) => (None, true, b),
                };
                if let Some(text) = first {
                    self.fragments = Some((text, BytesMut::new()));
                }
                let Some((text, joined)) = self.fragments.as_mut() else {
                    return Err(violation(&ProtocolError::ContinuationNotStarted));
                };
                if joined.len() + bytes.len() > self.max_message {
                    return Err(violation(&ProtocolError::Overflow));
                }
                joined.extend_from_slice(&bytes);
                let text = *text;
                if !last {
                    return Ok(None);
                }
                let joined = self.fragments.take().map(|(_, b)| b).unwrap_or_default();
                whole(text, joined)?
            }
        };
        Ok(Some(message))
    }
}

/// A frame for the socket.
enum Outgoing {
    Text(String),
    Pong(Bytes),
}

/// The close frame, which overtakes whatever is queued.
#[derive(Default)]
struct Closing {
    frame: Mutex<Option<(u16, String)>>,
    signal: Notify,
}

/// The server's side of a socket: any task may queue frames on it (cheap to clone). The
/// socket is closed once a close frame is written or every sender is gone.
#[derive(Clone)]
pub struct Sender {
    queue: mpsc::Sender<Outgoing>,
    closing: Arc<Closing>,
}

/// The socket is gone: nothing more can be sent.
#[derive(Debug)]
pub struct Gone;

impl Sender {
    /// Queues a text message, waiting while the queue is full.
    pub async fn text(&self, text: String) -> Result<(), Gone> {
        self.queue
            .send(Outgoing::Text(text))
            .await
            .map_err(|_| Gone)
    }

    pub async fn pong(&self, bytes: Bytes) -> Result<(), Gone> {
        self.queue
            .send(Outgoing::Pong(bytes))
            .await
            .map_err(|_| Gone)
    }

    /// Closes the socket with `code`: the close frame goes out as soon as the frames
    /// being written are, ahead of any still queued (the first close asked wins). It never
    /// waits, so a client that stopped reading cannot hold up its own closing.
    pub fn close(&self, code: u16, reason: &str) {
        if let Ok(mut frame) = self.closing.frame.lock()
            && frame.is_none()
        {
            *frame = Some((code, reason.to_owned()));
            self.closing.signal.notify_one();
        }
    }
}

/// Writes queued frames until the close frame or until every sender is gone, then ends
/// the socket's sending side. Frames that wait together leave in one write.
async fn write_frames(
    mut half: OwnedWriteHalf,
    mut queue: mpsc::Receiver<Outgoing>,
    closing: Arc<Closing>,
) {
    let mut codec = Codec::new();
    loop {
        let first = tokio::select! {
            biased;
            () = closing.signal.notified() => None,
            next = queue.recv() => match next {
                Some(first) => Some(first),
                None => break,
            },
        };
        let mut frames = BytesMut::new();
        let Some(first) = first else {
            let reason = closing.frame.lock().ok().and_then(|mut frame| frame.take());
            let close = Message::Close(reason.map(|(code, description)| CloseReason {
                code: CloseCode::from(code),
                description: Some(description),
            }));
            if codec.encode(close, &mut frames).is_ok() {
                let _ = half.write_all(&frames).await;
            }
            break;
        };
        let mut next = Some(first);
        while let Some(outgoing) = next.take() {
            let message = match outgoing {
                Outgoing::Text(text) => Message::Text(text.into()),
                Outgoing::Pong(bytes) => Message::Pong(bytes),
            };
            if codec.encode(message, &mut frames).is_err() || frames.len() >= WRITE_BATCH {
                break;
            }
            next = queue.try_recv().ok();
        }
        if half.write_all(&frames).await.is_err() {
            break;
        }
    }
    let _ = half.shutdown().await;
}
