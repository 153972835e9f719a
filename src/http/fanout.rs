//! One execution of a subscription per audience and document on each instance, its pushes
//! handed to every subscriber that sent the same operation.
//!
//! A subscription's pushes depend only on what `policy::SharedAudience` holds (role and
//! agency) and on the operation (document, variables, operation name). Subscribers that
//! share both join one *group*: the group runs the operation once (one async-graphql
//! stream, one projection, one serialisation per change) and each member only writes its
//! own sensitive reads to the access log, under its own token's subject and request id,
//! before the push leaves. Before this, 1 000 subscribers of one scope cost 1 000
//! resolutions and serialisations of each change.
//!
//! A group lives while it has members (dropping the last one stops its stream) and ends
//! when its stream ends (an error, a `RESET`); a later subscriber starts a new one. A
//! state stream (`disputeStatsUpdated`: the current figures, then each change) hands a new
//! member the group's last push first; an event stream (`disputeUpdated`) starts at the
//! next change, as an unshared one would.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use actix_web::web;
use async_graphql::futures_util::StreamExt;
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection};
use tokio::sync::broadcast;
use tokio::task::AbortHandle;

use crate::auth::policy::SharedAudience;
use crate::domain::audit::SensitiveRead;
use crate::error::ErrorCode;
use crate::graphql::context::RequestContext;
use crate::http::graphql::operation::Prepared;
use crate::http::graphql::respond::{request_error_body, settle};
use crate::http::server::AppState;

/// The subscription fields whose first push is the current state (so a late member is
/// handed the last one), as opposed to a stream of events.
const STATE_FIELDS: [&str; 1] = ["disputeStatsUpdated"];
/// The subscription fields that push events (a late member starts at the next one).
const EVENT_FIELDS: [&str; 1] = ["disputeUpdated"];

/// One push of a group: the serialised GraphQL response, and the sensitive reads it
/// implies, which each member logs under its own name before sending it.
pub struct Push {
    pub response: String,
    pub reads: Vec<SensitiveRead>,
}

/// What makes two subscriptions the same: who they are computed for and what they ask.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ShareKey {
    audience: SharedAudience,
    document: String,
    variables: String,
    operation: Option<String>,
}

/// How a subscription may be shared, decided from its document.
#[derive(Clone, Debug)]
pub struct Sharing {
    key: ShareKey,
    replays_last: bool,
}

impl Sharing {
    /// The sharing of a subscription whose one root field is a plain field this module
    /// knows; any other shape (fragments or several fields at the root) runs alone.
    pub fn of(
        audience: SharedAudience,
        document: &str,
        parsed: &ExecutableDocument,
        variables: Option<&serde_json::Map<String, serde_json::Value>>,
        operation: Option<&str>,
    ) -> Option<Self> {
        let selected = crate::http::graphql::operation::selected(parsed, operation)?;
        if selected.ty != OperationType::Subscription {
            return None;
        }
        let [item] = selected.selection_set.node.items.as_slice() else {
            return None;
        };
        let Selection::Field(field) = &item.node else {
            return None;
        };
        let name = field.node.name.node.as_str();
        let replays_last = if STATE_FIELDS.contains(&name) {
            true
        } else if EVENT_FIELDS.contains(&name) {
            false
        } else {
            return None;
        };
        Some(Self {
            key: ShareKey {
                audience,
                document: document.to_owned(),
                variables: variables
                    .map(|v| serde_json::Value::Object(v.clone()).to_string())
                    .unwrap_or_default(),
                operation: operation.map(str::to_owned),
            },
            replays_last,
        })
    }
}

struct GroupState {
    /// `None` once the group's stream ended: a subscriber arriving then starts a new group.
    sender: Option<broadcast::Sender<Arc<Push>>>,
    last: Option<Arc<Push>>,
    replays_last: bool,
}

/// A running execution and its members' way in. Dropped with its last member, which
/// stops the execution.
struct Group {
    state: Arc<Mutex<GroupState>>,
    task: AbortHandle,
    key: Option<ShareKey>,
    registry: Weak<Mutex<HashMap<ShareKey, Weak<Group>>>>,
}

impl Drop for Group {
    fn drop(&mut self) {
        self.task.abort();
        if let (Some(key), Some(registry)) = (&self.key, self.registry.upgrade())
            && let Ok(mut groups) = registry.lock()
            && groups.get(key).is_some_and(|g| g.strong_count() == 0)
        {
            groups.remove(key);
        }
    }
}

/// This instance's groups, by what they share.
#[derive(Default)]
pub struct Fanout {
    groups: Arc<Mutex<HashMap<ShareKey, Weak<Group>>>>,
}

impl Fanout {
    /// How many groups run (for `/metrics`).
    pub fn groups(&self) -> usize {
        self.groups
            .lock()
            .map(|g| g.values().filter(|w| w.strong_count() > 0).count())
            .unwrap_or(0)
    }
}

/// What a member reads next.
pub enum Next {
    Push(Arc<Push>),
    /// The member fell behind its queue: it must be closed and refetch.
    Lagged,
    /// The group's stream ended.
    Ended,
}

/// A subscriber's place in a group.
pub struct Member {
    _group: Arc<Group>,
    receiver: broadcast::Receiver<Arc<Push>>,
    replay: Option<Arc<Push>>,
}

impl Member {
    /// The next push for this member.
    pub async fn next(&mut self) -> Next {
        if let Some(push) = self.replay.take() {
            return Next::Push(push);
        }
        match self.receiver.recv().await {
            Ok(push) => Next::Push(push),
            Err(broadcast::error::RecvError::Lagged(_)) => Next::Lagged,
            Err(broadcast::error::RecvError::Closed) => Next::Ended,
        }
    }
}

/// Joins the group of this prepared subscription, starting one (under `context`, the
/// first member's) if none runs. `queue` bounds how far a member may fall behind.
pub fn join(
    state: &web::Data<AppState>,
    context: Arc<RequestContext>,
    prepared: Prepared,
    queue: usize,
) -> Member {
    let registry = &state.fanout.groups;
    let Some(sharing) = prepared.sharing.clone() else {
        return start(state, context, prepared, queue, None, Weak::new()).0;
    };
    let Ok(mut groups) = registry.lock() else {
        return start(state, context, prepared, queue, None, Weak::new()).0;
    };
    // Held until the registry's lock is released: a group dropped here would take that
    // lock again in its `Drop`.
    let existing = groups.get(&sharing.key).and_then(Weak::upgrade);
    if let Some(member) = existing.as_ref().and_then(Group::member) {
        drop(groups);
        return member;
    }
    let key = sharing.key.clone();
    let (member, group) = start(
        state,
        context,
        prepared,
        queue,
        Some(sharing),
        Arc::downgrade(registry),
    );
    groups.insert(key, group);
    drop(groups);
    drop(existing);
    member
}

impl Group {
    /// A new member of this group, unless its stream has ended.
    fn member(self: &Arc<Self>) -> Option<Member> {
        let shared = self.state.lock().ok()?;
        let receiver = shared.sender.as_ref()?.subscribe();
        let replay = if shared.replays_last {
            shared.last.clone()
        } else {
            None
        };
        Some(Member {
            _group: Arc::clone(self),
            receiver,
            replay,
        })
    }
}

/// Starts a group's execution and returns its first member.
fn start(
    state: &web::Data<AppState>,
    context: Arc<RequestContext>,
    prepared: Prepared,
    queue: usize,
    sharing: Option<Sharing>,
    registry: Weak<Mutex<HashMap<ShareKey, Weak<Group>>>>,
) -> (Member, Weak<Group>) {
    let (sender, receiver) = broadcast::channel(queue.max(1));
    let shared = Arc::new(Mutex::new(GroupState {
        sender: Some(sender),
        last: None,
        replays_last: sharing.as_ref().is_some_and(|s| s.replays_last),
    }));
    let task = tokio::spawn(run(state.clone(), context, prepared, Arc::clone(&shared)));
    let group = Arc::new(Group {
        state: shared,
        task: task.abort_handle(),
        key: sharing.map(|s| s.key),
        registry,
    });
    let weak = Arc::downgrade(&group);
    (
        Member {
            _group: group,
            receiver,
            replay: None,
        },
        weak,
    )
}

/// The group's one execution: each response settled, serialised and handed to every
/// member with the reads it implies.
async fn run(
    state: web::Data<AppState>,
    context: Arc<RequestContext>,
    prepared: Prepared,
    shared: Arc<Mutex<GroupState>>,
) {
    let Prepared { request, .. } = prepared;
    let mut stream = state.schema.execute_stream(request);
    while let Some(mut response) = stream.next().await {
        settle(&mut response);
        let reads = context.take_reads();
        let response = serde_json::to_string(&response).unwrap_or_else(|_| {
            request_error_body("internal error", ErrorCode::Internal).to_string()
        });
        let push = Arc::new(Push { response, reads });
        let Ok(mut group) = shared.lock() else {
            break;
        };
        if group.replays_last {
            group.last = Some(Arc::clone(&push));
        }
        if let Some(sender) = &group.sender {
            // No receiver is not an error: the last member may be leaving.
            let _ = sender.send(push);
        }
    }
    // Dropping the sender ends every member's stream after what it already holds; a
    // subscriber arriving now finds no sender and starts a new group.
    if let Ok(mut group) = shared.lock() {
        group.sender = None;
    }
}
