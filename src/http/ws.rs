//! `GET /graphql` with `Upgrade: websocket`: the `graphql-transport-ws` protocol (the
//! `graphql-ws` library's PROTOCOL.md), written here rather than taken from
//! async-graphql-actix-web, whose close codes differ from the protocol's and which never
//! re-checks a token's expiry on an open socket.
//!
//! A socket carries subscriptions, queries and mutations. Each operation goes through the
//! same steps as over HTTP (`operation::prepare`: persisted operations, cost, strings),
//! the same rate limits, and writes its sensitive reads to the access log before each
//! message leaves. Close codes: 4400 bad message, 4401 subscribe before ack, 4403
//! forbidden (a refused token, or one that expired), 4406 sub-protocol not offered, 4408
//! no `connection_init` in time, 4409 duplicate id, 4429 a second `connection_init`, 4500
//! internal (including a consumer that fell behind its bounded queue).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::web;
use async_graphql::parser::types::OperationType;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::auth::viewer::Viewer;
use crate::domain::audit::{self, SensitiveRead};
use crate::error::ErrorCode;
use crate::http::fanout::{self, Next};
use crate::http::graphql::operation;
use crate::http::graphql::params::Params;
use crate::http::graphql::respond::{Outcome, request_error_body};
use crate::http::server::AppState;
use crate::http::socket::{Incoming, Reader, Sender, Upgrade};

/// The sub-protocol this endpoint speaks.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// The limits of WebSocket connections.
#[derive(Clone, Copy, Debug)]
pub struct SocketLimits {
    pub max_subscriptions: usize,
    pub max_agency_subscriptions: usize,
    pub max_connections_per_ip: usize,
    pub queue: usize,
    pub init_timeout: Duration,
}

type Counts<K> = Arc<Mutex<HashMap<K, usize>>>;

/// What this instance's long-lived streams hold (WebSocket connections and
/// subscriptions, and Server-Sent Event streams), for the limits that span connections.
#[derive(Default)]
pub struct SocketRegistry {
    per_ip: Counts<IpAddr>,
    per_agency: Counts<String>,
}

/// A claim on a counter of the registry, given back when dropped.
pub struct Held<K: std::hash::Hash + Eq + Clone> {
    map: Counts<K>,
    key: K,
}

impl<K: std::hash::Hash + Eq + Clone> Drop for Held<K> {
    fn drop(&mut self) {
        if let Ok(mut map) = self.map.lock()
            && let Some(count) = map.get_mut(&self.key)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                map.remove(&self.key);
            }
        }
    }
}

fn hold<K: std::hash::Hash + Eq + Clone>(map: &Counts<K>, key: K, max: usize) -> Option<Held<K>> {
    let mut counts = map.lock().ok()?;
    let count = counts.entry(key.clone()).or_insert(0);
    if *count >= max {
        return None;
    }
    *count += 1;
    Some(Held {
        map: Arc::clone(map),
        key,
    })
}

/// The places one stream holds: its address's and its agency's (PUBLIC holds none).
pub type StreamHold = (Option<Held<IpAddr>>, Option<Held<String>>);

/// Claims a place for one long-lived stream of `agency`'s (or PUBLIC's) from `peer`,
/// under the same per-address and per-agency limits as sockets; `None` when over one.
pub fn hold_stream(
    state: &AppState,
    peer: Option<IpAddr>,
    agency: Option<String>,
) -> Option<StreamHold> {
    let limits = state.socket_limits;
    let ip = match peer {
        Some(ip) => Some(hold(
            &state.sockets.per_ip,
            ip,
            limits.max_connections_per_ip,
        )?),
        None => None,
    };
    let agency = match agency {
        Some(agency) => Some(hold(
            &state.sockets.per_agency,
            agency,
            limits.max_agency_subscriptions,
        )?),
        None => None,
    };
    Some((ip, agency))
}

/// Serves an accepted socket (`socket::accept` answered the handshake) until it closes,
/// and gives its reader back for the closing handshake.
pub async fn serve(
    state: web::Data<AppState>,
    upgrade: Upgrade,
    mut reader: Reader,
    session: Sender,
) -> Reader {
    let peer = upgrade.client;
    let Some(_ip) = peer.map_or(Some(None), |ip| {
        hold(
            &state.sockets.per_ip,
            ip,
            state.socket_limits.max_connections_per_ip,
        )
        .map(Some)
    }) else {
        session.close(4429, "too many connections from this address");
        return reader;
    };
    if !upgrade.offered_protocol {
        session.close(4406, "Subprotocol not acceptable: use graphql-transport-ws");
        return reader;
    }
    state.metrics.sockets.inc();
    let connection = Connection {
        state: state.clone(),
        session,
        header_token: upgrade.header_token,
        viewer: None,
        init_received: false,
        operations: HashMap::new(),
        request_id: upgrade.request_id,
        peer,
    };
    connection.run(&mut reader).await;
    state.metrics.sockets.dec();
    reader
}

/// What an operation's task asks of its connection.
enum Control {
    Send(String),
    Finished(String),
    Close(u16, String),
}

struct Connection {
    state: web::Data<AppState>,
    session: Sender,
    header_token: Option<String>,
    viewer: Option<Viewer>,
    init_received: bool,
    operations: HashMap<String, AbortHandle>,
    request_id: String,
    /// The client's address: PUBLIC's rate limit is per address, as over HTTP.
    peer: Option<IpAddr>,
}

/// Why a connection ends.
struct Ending(u16, String);

fn now_seconds() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0)
}

impl Connection {
    async fn run(mut self, messages: &mut Reader) {
        let limits = self.state.socket_limits;
        let (control, mut controls) = mpsc::channel::<Control>(limits.queue);
        // Both timers live as long as the socket and are re-armed only when their instant
        // moves: a timer made per turn of the loop would enter and leave the runtime's
        // timer wheel once per message sent.
        let init_timer = tokio::time::sleep(limits.init_timeout);
        tokio::pin!(init_timer);
        let expiry_timer = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(expiry_timer);
        let mut armed_expiry: Option<u64> = None;
        let ending = loop {
            let expires_at = self.viewer.as_ref().and_then(|v| v.expires_at);
            if expires_at != armed_expiry {
                if let Some(exp) = expires_at {
                    let left = Duration::from_secs(exp.saturating_sub(now_seconds()));
                    expiry_timer
                        .as_mut()
                        .reset(tokio::time::Instant::now() + left);
                }
                armed_expiry = expires_at;
            }
            tokio::select! {
                message = messages.next() => {
                    let message = match message {
                        None => break None,
                        Some(Err(broken)) => break Some(Ending(broken.code, broken.reason.into())),
                        Some(Ok(message)) => message,
                    };
                    // Boxed: answering a message (authentication, preparing an operation)
                    // needs large futures briefly, and an idle socket's task would
                    // otherwise keep room for them for as long as it lives.
                    if let Err(ending) = Box::pin(self.on_message(message, &control)).await {
                        break Some(ending);
                    }
                }
                Some(instruction) = controls.recv() => match instruction {
                    Control::Send(text) => {
                        if self.session.text(text).await.is_err() {
                            break None;
                        }
                    }
                    Control::Finished(id) => {
                        if self.operations.remove(&id).is_some() {
                            self.state.metrics.subscriptions.dec();
                        }
                    }
                    Control::Close(code, reason) => break Some(Ending(code, reason)),
                },
                () = &mut init_timer, if !self.init_received => {
                    break Some(Ending(4408, "Connection initialisation timeout".into()));
                }
                () = &mut expiry_timer, if armed_expiry.is_some() => {
                    break Some(Ending(4403, "Forbidden: the token has expired".into()));
                }
            }
        };
        for (_, task) in self.operations.drain() {
            task.abort();
            self.state.metrics.subscriptions.dec();
        }
        // Without an ending the client went away without a close frame: no one to tell.
        if let Some(Ending(code, reason)) = ending {
            self.session.close(code, &reason);
        }
    }

    async fn on_message(
        &mut self,
        message: Incoming,
        control: &mpsc::Sender<Control>,
    ) -> Result<(), Ending> {
        match message {
            Incoming::Text(text) => self.on_text(&text, control).await,
            Incoming::Ping(bytes) => {
                let _ = self.session.pong(bytes).await;
                Ok(())
            }
            Incoming::Close => Err(Ending(1000, "Normal Closure".into())),
            Incoming::Binary => Err(invalid("binary messages are not part of the protocol")),
            Incoming::Pong => Ok(()),
        }
    }

    async fn on_text(&mut self, text: &str, control: &mpsc::Sender<Control>) -> Result<(), Ending> {
        let Ok(Value::Object(mut message)) = serde_json::from_str::<Value>(text) else {
            return Err(invalid("a message is a JSON object"));
        };
        let kind = match message.remove("type") {
            Some(Value::String(kind)) => kind,
            _ => return Err(invalid("a message has a string `type`")),
        };
        let payload = message.remove("payload");
        match kind.as_str() {
            "connection_init" => self.on_init(payload).await,
            "ping" => {
                // A fresh token may come with a ping (see README): the socket then lives on
                // under it.
                if let Some(token) = payload.as_ref().and_then(token_in) {
                    if self.viewer.is_none() {
                        return Err(Ending(4401, "Unauthorized".into()));
                    }
                    let viewer = self.authenticate(Some(&token)).await?;
                    let same_caller = self.viewer.as_ref().is_some_and(|v| {
                        v.role == viewer.role && v.agency_code == viewer.agency_code
                    });
                    if !same_caller {
                        return Err(Ending(
                            4403,
                            "Forbidden: a new token must name the same role and agency".into(),
                        ));
                    }
                    self.viewer = Some(viewer);
                }
                let _ = self
                    .session
                    .text(json!({ "type": "pong" }).to_string())
                    .await;
                Ok(())
            }
            "pong" => Ok(()),
            "subscribe" => self.on_subscribe(message, payload, control).await,
            "complete" => {
                let Some(Value::String(id)) = message.remove("id") else {
                    return Err(invalid("`complete` needs an `id`"));
                };
                if let Some(task) = self.operations.remove(&id) {
                    task.abort();
                    self.state.metrics.subscriptions.dec();
                }
                Ok(())
            }
            other => Err(invalid(&format!("unknown message type {other:?}"))),
        }
    }

    async fn authenticate(&self, token: Option<&str>) -> Result<Viewer, Ending> {
        let header = token.or(self.header_token.as_deref());
        match self.state.auth.authenticate(header).await {
            Ok(viewer) => Ok(viewer),
            Err(crate::auth::viewer::AuthFailure::Token(reason)) => {
                Err(Ending(4403, format!("Forbidden: {}", reason.reason())))
            }
            Err(crate::auth::viewer::AuthFailure::Internal(err)) => {
                tracing::error!(error = ?err, "socket authentication could not read the agency");
                Err(Ending(4500, "Internal error".into()))
            }
        }
    }

    async fn on_init(&mut self, payload: Option<Value>) -> Result<(), Ending> {
        if self.init_received {
            return Err(Ending(4429, "Too many initialisation requests".into()));
        }
        self.init_received = true;
        let token = payload.as_ref().and_then(token_in);
        let viewer = self.authenticate(token.as_deref()).await?;
        if viewer.expires_at.is_some_and(|exp| exp <= now_seconds()) {
            return Err(Ending(4403, "Forbidden: the token has expired".into()));
        }
        self.viewer = Some(viewer);
        let _ = self
            .session
            .text(json!({ "type": "connection_ack" }).to_string())
            .await;
        Ok(())
    }

    async fn on_subscribe(
        &mut self,
        mut message: Map<String, Value>,
        payload: Option<Value>,
        control: &mpsc::Sender<Control>,
    ) -> Result<(), Ending> {
        let id = match message.remove("id") {
            Some(Value::String(id)) if !id.is_empty() => id,
            _ => return Err(invalid("`subscribe` needs a non-empty string `id`")),
        };
        let Some(viewer) = self.viewer.clone() else {
            return Err(Ending(4401, "Unauthorized".into()));
        };
        if self.operations.contains_key(&id) {
            return Err(Ending(4409, format!("Subscriber for {id} already exists")));
        }
        let params = match payload.ok_or("`subscribe` needs a payload").and_then(|p| {
            crate::http::graphql::params::from_json(p).map_err(|_| "the payload is not a request")
        }) {
            Ok(params) => params,
            Err(reason) => return Err(invalid(reason)),
        };
        let limits = self.state.socket_limits;
        let refusal = if self.operations.len() >= limits.max_subscriptions {
            Some((
                format!(
                    "a connection holds at most {} operations",
                    limits.max_subscriptions
                ),
                ErrorCode::RateLimited,
            ))
        } else if self
            .state
            .rate_limits
            .check(viewer.agency_code.as_deref(), self.peer)
            .is_err()
        {
            Some((
                "too many requests; retry later".to_owned(),
                ErrorCode::RateLimited,
            ))
        } else {
            None
        };
        if let Some((reason, code)) = refusal {
            let errors = error_list(&reason, code);
            let _ = self
                .session
                .text(json!({ "id": id, "type": "error", "payload": errors }).to_string())
                .await;
            return Ok(());
        }
        let task = tokio::spawn(run_operation(
            self.state.clone(),
            viewer,
            self.request_id.clone(),
            id.clone(),
            params,
            control.clone(),
            self.session.clone(),
        ));
        self.operations.insert(id, task.abort_handle());
        self.state.metrics.subscriptions.inc();
        Ok(())
    }
}

fn invalid(reason: &str) -> Ending {
    Ending(4400, reason.to_owned())
}

/// The token of a `connection_init` or `ping` payload: `Authorization` (CONTRACT.md) or
/// `authorization`, as clients differ.
fn token_in(payload: &Value) -> Option<String> {
    let object = payload.as_object()?;
    object
        .get("Authorization")
        .or_else(|| object.get("authorization"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Queues a message for the socket; a consumer that lets its queue fill is closed rather
/// than allowed to grow memory. `false` when the operation should stop.
fn deliver(state: &AppState, control: &mpsc::Sender<Control>, message: String) -> bool {
    match control.try_send(Control::Send(message)) {
        Ok(()) => {
            state.metrics.delivered.inc();
            true
        }
        Err(mpsc::error::TrySendError::Full(_)) => {
            fell_behind(state, control);
            false
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

/// Closes a socket whose consumer did not keep up with its bounded queue.
fn fell_behind(state: &AppState, control: &mpsc::Sender<Control>) {
    state.metrics.dropped.inc();
    // The queue may be full, so the close is sent on its own path.
    let control = control.clone();
    tokio::spawn(async move {
        let _ = control
            .send(Control::Close(
                4500,
                "the client is not reading fast enough; reconnect and refetch".into(),
            ))
            .await;
    });
}

/// The errors of a refused operation, for an `error` message.
fn errors_of(outcome: &Outcome) -> Value {
    serde_json::from_str::<Value>(&outcome.body)
        .ok()
        .and_then(|body| body.get("errors").cloned())
        .unwrap_or_else(|| error_list("internal error", ErrorCode::Internal))
}

/// One operation of a socket: where its messages go, and the request it runs for.
struct Operation {
    state: web::Data<AppState>,
    control: mpsc::Sender<Control>,
    id: String,
    viewer: Viewer,
    request_id: String,
}

impl Operation {
    /// Queues a message of this operation; `false` when it should stop.
    fn send(&self, kind: &str, payload: Option<Value>) -> bool {
        let mut message = json!({ "id": self.id, "type": kind });
        if let Some(payload) = payload {
            message["payload"] = payload;
        }
        deliver(&self.state, &self.control, message.to_string())
    }

    /// Ends the operation with an `error` message.
    async fn fail(self, errors: Value) {
        self.send("error", Some(errors));
        self.finish().await;
    }

    /// Tells the connection the operation is over.
    async fn finish(self) {
        let _ = self.control.send(Control::Finished(self.id)).await;
    }

    /// Writes the reads a message implies; no message leaves without its audit rows.
    async fn audited(&self, reads: Vec<SensitiveRead>) -> bool {
        if reads.is_empty() {
            return true;
        }
        // Boxed: an idle subscription's task keeps room for its largest await inline.
        let db = self.state.request_db();
        let record = audit::record(db.writer(), &self.viewer, &self.request_id, reads);
        match Box::pin(record).await {
            Ok(()) => true,
            Err(err) => {
                tracing::error!(error = ?err, "cannot write the access log; message withheld");
                false
            }
        }
    }
}

fn error_list(message: &str, code: ErrorCode) -> Value {
    request_error_body(message, code)["errors"].clone()
}

async fn run_operation(
    state: web::Data<AppState>,
    viewer: Viewer,
    request_id: String,
    id: String,
    params: Params,
    control: mpsc::Sender<Control>,
    session: Sender,
) {
    let operation = Operation {
        state: state.clone(),
        control,
        id,
        viewer: viewer.clone(),
        request_id: request_id.clone(),
    };
    let _agency_hold = match viewer.agency_code.clone() {
        Some(agency) => match hold(
            &state.sockets.per_agency,
            agency,
            state.socket_limits.max_agency_subscriptions,
        ) {
            Some(held) => Some(held),
            None => {
                let reason = "your agency holds as many subscriptions on this instance as it may";
                return operation
                    .fail(error_list(reason, ErrorCode::RateLimited))
                    .await;
            }
        },
        None => None,
    };
    let context = state.request_context(viewer, request_id);
    let prepared = match operation::prepare(&state, &context, params) {
        Ok(prepared) => prepared,
        Err(outcome) => return operation.fail(errors_of(&outcome)).await,
    };
    let finished = if prepared.kind == Some(OperationType::Subscription) {
        let member = fanout::join(&state, context, prepared, state.socket_limits.queue);
        forward(&operation, member, session).await
    } else {
        // Boxed, so a subscription's task does not keep room for a query's execution
        // for as long as it lives.
        Box::pin(answer_once(&operation, context, prepared)).await
    };
    match finished {
        Finished::Complete => {
            operation.send("complete", None);
            operation.finish().await;
        }
        Finished::Failed(errors) => operation.fail(errors).await,
        Finished::Gone => {}
    }
}

/// How an operation ended.
enum Finished {
    /// Its last message is queued: `complete` follows.
    Complete,
    /// It ends with an `error` message.
    Failed(Value),
    /// The socket is closing (or the consumer fell behind): nothing more to send.
    Gone,
}

/// Hands a group's pushes to the socket, each after its reads are logged. A push goes
/// straight into the socket's own bounded queue (`socket::Sender`), not through the connection's
/// task: one task hop less per push. A consumer that lets that queue fill stops this
/// forwarding, the group's queue then overflows for this member, and `Next::Lagged`
/// closes the socket with 4500.
async fn forward(operation: &Operation, mut member: fanout::Member, session: Sender) -> Finished {
    // The `next` message is the shared response spliced after this operation's id, never
    // parsed again.
    let head = format!(
        r#"{{"id":{},"type":"next","payload":"#,
        Value::String(operation.id.clone())
    );
    loop {
        match member.next().await {
            Next::Push(push) => {
                if !operation.audited(push.reads.clone()).await {
                    return Finished::Failed(error_list("internal error", ErrorCode::Internal));
                }
                let mut message = String::with_capacity(head.len() + push.response.len() + 1);
                message.push_str(&head);
                message.push_str(&push.response);
                message.push('}');
                if session.text(message).await.is_err() {
                    return Finished::Gone;
                }
                operation.state.metrics.delivered.inc();
            }
            Next::Lagged => {
                fell_behind(&operation.state, &operation.control);
                return Finished::Gone;
            }
            Next::Ended => return Finished::Complete,
        }
    }
}

/// Runs a query or mutation sent over the socket and queues its one answer.
async fn answer_once(
    operation: &Operation,
    context: std::sync::Arc<crate::graphql::context::RequestContext>,
    prepared: operation::Prepared,
) -> Finished {
    let outcome = operation::execute(&operation.state, prepared).await;
    if !operation.audited(context.take_reads()).await {
        return Finished::Failed(error_list("internal error", ErrorCode::Internal));
    }
    if outcome.request_error {
        return Finished::Failed(errors_of(&outcome));
    }
    let payload = serde_json::from_str::<Value>(&outcome.body).unwrap_or(Value::Null);
    if operation.send("next", Some(payload)) {
        Finished::Complete
    } else {
        Finished::Gone
    }
}
