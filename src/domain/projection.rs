//! What one viewer sees of a dispute's protected parts: its timeline, its reporter, its
//! intelligence notes and its clocks. Each function here decides visibility through
//! `policy` and notes every sensitive read it hands out in the access log (`ReadLog`)
//! before returning it, so no caller can return a protected value without its audit row:
//! GraphQL resolvers (and later subscriptions) only format what these return.

use chrono::{DateTime, Utc};
use entity::{dispute_escalation, dispute_event};

use crate::auth::policy::{self, DisputeFacts, DisputeField, EventField};
use crate::auth::viewer::Viewer;
use crate::domain::audit::SensitiveRead;
use crate::domain::clocks::{self, Deadline};
use crate::domain::types::{EventKind, ReporterKind, Role, ViolationClass};
use crate::domain::visible::VisibleDispute;
use crate::error::{AppError, AppResult};

/// Where sensitive reads are noted; the request writes them before its answer leaves.
pub trait ReadLog {
    /// Notes a read; an error withholds the value.
    fn record(&self, read: SensitiveRead) -> AppResult<()>;
}

/// A timeline event as one viewer may see it: only `timeline` makes one.
pub struct VisibleEvent {
    event: dispute_event::Model,
    actor_readable: bool,
    hash_readable: bool,
}

impl VisibleEvent {
    pub fn seq(&self) -> i32 {
        self.event.seq
    }
    pub fn kind(&self) -> EventKind {
        self.event.kind
    }
    pub fn at(&self) -> DateTime<Utc> {
        self.event.at
    }
    /// The acting officer's `sub`, or `None` when the viewer may not read it.
    pub fn actor(&self) -> Option<&str> {
        self.actor_readable.then_some(self.event.actor_sub.as_str())
    }
    pub fn actor_role(&self) -> Role {
        self.event.actor_role
    }
    pub fn actor_agency(&self) -> Option<&str> {
        self.event.actor_agency.as_deref()
    }
    pub fn changes(&self) -> Option<&str> {
        self.event.changes.as_deref()
    }
    pub fn note(&self) -> Option<&str> {
        self.event.note.as_deref()
    }
    pub fn audience(&self) -> Option<&str> {
        self.event.audience.as_deref()
    }
    /// The key clients name the event by (`timeline::event_key`).
    pub fn key(&self) -> String {
        crate::domain::timeline::event_key(&self.event)
    }
    /// The event's hash, or `None` when the viewer may not read it.
    pub fn hash(&self) -> Option<&str> {
        self.hash_readable.then_some(self.event.hash.as_str())
    }
}

/// The events of a dispute (which the viewer sees) that the viewer may see, oldest first,
/// with the reads they imply noted: an intelligence note on the timeline is a read of
/// `intelNotes` as much as the field is.
pub fn timeline(
    viewer: &Viewer,
    dispute: &VisibleDispute,
    facts: &DisputeFacts,
    events: Vec<dispute_event::Model>,
    log: &dyn ReadLog,
) -> AppResult<Vec<VisibleEvent>> {
    let visible: Vec<VisibleEvent> = events
        .into_iter()
        .filter(|e| policy::can_read_event(viewer, e.kind, e.audience.as_deref(), facts))
        .map(|event| VisibleEvent {
            actor_readable: policy::can_read_event_field(viewer, EventField::Actor, &event),
            hash_readable: policy::can_read_event_field(viewer, EventField::Hash, &event),
            event,
        })
        .collect();
    if visible.iter().any(|e| e.event.kind == EventKind::IntelNote) {
        log.record(SensitiveRead::of(&dispute.row, DisputeField::IntelNotes))?;
    }
    Ok(visible)
}

/// How many of a dispute's newest rows `events(last: keep)` reads first: twice `keep`, and
/// some, for the events hidden from the viewer among them.
pub fn newest_window(keep: usize) -> usize {
    keep.saturating_mul(2).saturating_add(8)
}

/// Whether the newest `window` rows of a timeline (`rows`, fewer when that is all of it)
/// hold the newest `keep` events the viewer may see, or the whole timeline must be read:
/// they do unless events hidden from the viewer fill the window.
pub fn newest_suffice(
    viewer: &Viewer,
    facts: &DisputeFacts,
    rows: &[dispute_event::Model],
    window: usize,
    keep: usize,
) -> bool {
    rows.len() < window
        || rows
            .iter()
            .filter(|e| policy::can_read_event(viewer, e.kind, e.audience.as_deref(), facts))
            .count()
            >= keep
}

/// One event of a dispute, if the viewer may see it (a subscription's `event`); noted in
/// the access log when it is an intelligence note.
pub fn event(
    viewer: &Viewer,
    dispute: &VisibleDispute,
    facts: &DisputeFacts,
    event: dispute_event::Model,
    log: &dyn ReadLog,
) -> AppResult<Option<VisibleEvent>> {
    Ok(timeline(viewer, dispute, facts, vec![event], log)?.pop())
}

/// The event of a dispute (which the viewer sees) that a client names by its key, if the
/// viewer may see it; `NOT_FOUND` otherwise, as for an event that does not exist.
pub fn event_by_key(
    viewer: &Viewer,
    dispute: &VisibleDispute,
    facts: &DisputeFacts,
    events: Vec<dispute_event::Model>,
    key: &str,
    log: &dyn ReadLog,
) -> AppResult<VisibleEvent> {
    let found = events
        .into_iter()
        .find(|e| crate::domain::timeline::event_key(e) == key)
        .ok_or(AppError::NotFound)?;
    event(viewer, dispute, facts, found, log)?.ok_or(AppError::NotFound)
}

/// The reporter's identity.
pub struct ReporterIdentity {
    pub kind: ReporterKind,
    pub name: Option<String>,
    pub contact: Option<String>,
}

/// The reporter, if the viewer may read it (FORBIDDEN otherwise); the read is noted.
pub fn reporter(
    viewer: &Viewer,
    dispute: &VisibleDispute,
    facts: &DisputeFacts,
    log: &dyn ReadLog,
) -> AppResult<Option<ReporterIdentity>> {
    if !policy::can_read(viewer, DisputeField::Reporter, facts) {
        return Err(AppError::forbidden(
            "the role may not read `reporter` of this dispute (README, \"Who sees what\")",
        ));
    }
    log.record(SensitiveRead::of(&dispute.row, DisputeField::Reporter))?;
    let row = &dispute.row;
    let Some(kind) = row.reporter_kind else {
        return Ok(None);
    };
    Ok(Some(ReporterIdentity {
        kind,
        name: row.reporter_name.clone(),
        contact: row.reporter_contact.clone(),
    }))
}

/// One intelligence note.
pub struct IntelNote {
    pub at: DateTime<Utc>,
    pub note: String,
    pub author_agency: Option<String>,
}

/// The intelligence notes, if the viewer may read them (FORBIDDEN otherwise); the read is
/// noted.
pub fn intel_notes(
    viewer: &Viewer,
    dispute: &VisibleDispute,
    facts: &DisputeFacts,
    events: Vec<dispute_event::Model>,
    log: &dyn ReadLog,
) -> AppResult<Vec<IntelNote>> {
    if !policy::can_read(viewer, DisputeField::IntelNotes, facts) {
        return Err(AppError::forbidden(
            "the role may not read `intelNotes` of this dispute (README, \"Who sees what\")",
        ));
    }
    log.record(SensitiveRead::of(&dispute.row, DisputeField::IntelNotes))?;
    Ok(events
        .into_iter()
        .filter(|e| e.kind == EventKind::IntelNote)
        .map(|e| IntelNote {
            at: e.at,
            note: e.note.unwrap_or_default(),
            author_agency: e.actor_agency,
        })
        .collect())
}

/// Bawaslu's classification, if the viewer may read it (FORBIDDEN otherwise).
pub fn violation(
    viewer: &Viewer,
    dispute: &VisibleDispute,
    facts: &DisputeFacts,
) -> AppResult<Option<ViolationClass>> {
    if !policy::can_read(viewer, DisputeField::Violation, facts) {
        return Err(AppError::forbidden(
            "the role may not read `violation` of this dispute (README, \"Who sees what\")",
        ));
    }
    Ok(dispute.row.violation)
}

/// The legal clocks as the viewer may see them. Bawaslu's decision clock is met by a
/// classification, so a viewer that may not read `violation` does not see that clock at
/// all (its `met` or `overdue` would say whether Bawaslu has classified).
pub fn deadlines(
    viewer: &Viewer,
    dispute: &VisibleDispute,
    facts: &DisputeFacts,
    escalations: &[dispute_escalation::Model],
    now: DateTime<Utc>,
) -> Vec<Deadline> {
    let reads_violation = policy::can_read(viewer, DisputeField::Violation, facts);
    clocks::deadlines(&dispute.row, escalations, now)
        .into_iter()
        .filter(|d| reads_violation || !d.kind.reveals_classification())
        .collect()
}
