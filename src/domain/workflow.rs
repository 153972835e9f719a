//! Changing disputes: the state machine, optimistic concurrency and the hash-chained
//! timeline. Every change is one transaction that bumps `version` (guarded by the caller's
//! `expectedVersion`), appends exactly one event whose `seq` equals the new version, and
//! writes any side rows (escalation, assignment). Who may do what is `policy`'s decision.

use chrono::{DateTime, SubsecRound, Utc};
use entity::{dispute, dispute_assignment, dispute_escalation, dispute_event};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait,
};
use serde_json::{Map, Value, json};

use crate::auth::policy::{self, Action};
use crate::auth::viewer::Viewer;
use crate::domain::changes;
use crate::domain::disputes;
use crate::domain::tally;
use crate::domain::timeline::{EventContent, GENESIS_HASH, event_hash, new_salt};
use crate::domain::types::{DisputeStatus, EscalationTarget, EventKind, Role, ViolationClass};
use crate::domain::visible::VisibleDispute;
use crate::error::{AppError, AppResult};

/// Longest note, reason or outcome accepted.
pub const MAX_NOTE_CHARS: usize = 5_000;

/// What one mutation does to a dispute, computed from the current row.
pub struct Change {
    pub kind: EventKind,
    /// The status to move to; `None` keeps it.
    pub to_status: Option<DisputeStatus>,
    pub note: Option<String>,
    /// Roles the event is for; `None` for everyone who sees the dispute.
    pub audience: Option<Vec<Role>>,
    pub violation: Option<ViolationClass>,
    pub outcome: Option<String>,
    pub escalation: Option<(EscalationTarget, String)>,
    pub assign: Option<String>,
    pub unassign: Option<String>,
    /// Extra before/after pairs for the event (beyond status, violation and outcome).
    pub extra: Map<String, Value>,
}

impl Change {
    /// A change that records an event of `kind`.
    pub fn new(kind: EventKind) -> Self {
        Self {
            kind,
            to_status: None,
            note: None,
            audience: None,
            violation: None,
            outcome: None,
            escalation: None,
            assign: None,
            unassign: None,
            extra: Map::new(),
        }
    }
}

/// Checks a free text against a length limit; empty is refused when `required`.
pub fn text(field: &'static str, value: &str, max: usize, required: bool) -> AppResult<String> {
    let trimmed = value.trim();
    if required && trimmed.is_empty() {
        return Err(AppError::bad_input(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if trimmed.chars().count() > max {
        return Err(AppError::bad_input(
            field,
            format!("{field} is longer than {max} characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

fn status_of(row: &dispute::Model) -> AppResult<DisputeStatus> {
    Ok(row.status)
}

/// INVALID_TRANSITION unless the workflow moves `from → to` by this action (so a closed
/// dispute leaves RESOLVED or DISMISSED only by reopening); names the allowed next states.
pub fn check_transition(from: DisputeStatus, to: DisputeStatus, action: Action) -> AppResult<()> {
    if policy::TRANSITIONS
        .iter()
        .any(|(f, t, a)| *f == from && *t == to && *a == action)
    {
        Ok(())
    } else {
        Err(AppError::InvalidTransition {
            allowed: policy::next_statuses(from)
                .iter()
                .map(|s| s.as_str())
                .collect(),
        })
    }
}

/// The current time at the precision both databases keep, so a re-read event hashes the
/// same.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn conflict(current_version: i32) -> AppError {
    AppError::Conflict {
        message: format!("the dispute changed: its version is now {current_version}"),
        current_version: Some(current_version),
    }
}

/// One workflow request as the caller sent it: nothing in it is validated yet. `execute`
/// is the only way to carry one out, so every workflow mutation passes the same gate.
pub enum Command {
    /// REPORTED → VERIFIED.
    Verify { note: Option<String> },
    /// VERIFIED → IN_MEDIATION.
    StartMediation { note: Option<String> },
    /// A mediation session of a dispute in mediation (the status stays IN_MEDIATION).
    RecordMediation(Mediation),
    /// Any open state → ESCALATED, handing the dispute to another body.
    Escalate {
        to: EscalationTarget,
        reason: String,
    },
    /// Bawaslu's classification (no status change).
    Classify {
        violation: ViolationClass,
        note: Option<String>,
    },
    /// A police intelligence note (readable by POLICE only).
    AddIntelNote { note: String },
    /// A note for everyone who sees the dispute, or for some roles (the author's role is
    /// always included, so nobody writes what they cannot read back).
    AddNote {
        note: String,
        audience: Option<Vec<Role>>,
    },
    /// Assigns an agency (it then sees the dispute, restricted or not).
    AssignAgency { agency_code: String },
    /// Removes an agency's assignment.
    UnassignAgency { agency_code: String },
    /// IN_MEDIATION or ESCALATED → RESOLVED.
    Resolve { outcome: String },
    /// REPORTED or VERIFIED → DISMISSED.
    Dismiss { reason: String },
    /// RESOLVED or DISMISSED → VERIFIED.
    Reopen { reason: String },
}

impl Command {
    /// The policy action this command is.
    pub fn action(&self) -> Action {
        match self {
            Self::Verify { .. } => Action::Verify,
            Self::StartMediation { .. } => Action::StartMediation,
            Self::RecordMediation(_) => Action::RecordMediation,
            Self::Escalate { .. } => Action::Escalate,
            Self::Classify { .. } => Action::ClassifyViolation,
            Self::AddIntelNote { .. } => Action::AddIntelNote,
            Self::AddNote { .. } => Action::AddNote,
            Self::AssignAgency { .. } | Self::UnassignAgency { .. } => Action::AssignAgency,
            Self::Resolve { .. } => Action::Resolve,
            Self::Dismiss { .. } => Action::Dismiss,
            Self::Reopen { .. } => Action::Reopen,
        }
    }

    /// Validates the command's input against the current row and says what it changes.
    async fn change(
        self,
        db: &DatabaseConnection,
        viewer: &Viewer,
        current: &dispute::Model,
    ) -> AppResult<Change> {
        let with_status = |kind, to: DisputeStatus| {
            let mut change = Change::new(kind);
            change.to_status = Some(to);
            change
        };
        Ok(match self {
            Self::Verify { note } => {
                let mut change = with_status(EventKind::Verified, DisputeStatus::Verified);
                change.note = optional_note("note", note.as_deref())?;
                change
            }
            Self::StartMediation { note } => {
                let mut change =
                    with_status(EventKind::MediationStarted, DisputeStatus::InMediation);
                change.note = optional_note("note", note.as_deref())?;
                change
            }
            Self::RecordMediation(mediation) => mediation_change(current, mediation)?,
            Self::Escalate { to, reason } => {
                let reason = text("reason", &reason, MAX_NOTE_CHARS, true)?;
                let mut change = with_status(EventKind::Escalated, DisputeStatus::Escalated);
                change.note = Some(reason.clone());
                change
                    .extra
                    .insert("escalatedTo".into(), json!([null, to.as_str()]));
                change.escalation = Some((to, reason));
                change
            }
            Self::Classify { violation, note } => {
                let mut change = Change::new(EventKind::Classified);
                change.violation = Some(violation);
                change.note = optional_note("note", note.as_deref())?;
                change
            }
            Self::AddIntelNote { note } => {
                let mut change = Change::new(EventKind::IntelNote);
                change.note = Some(text("note", &note, MAX_NOTE_CHARS, true)?);
                change.audience = Some(vec![Role::Police]);
                change
            }
            Self::AddNote { note, audience } => {
                let mut change = Change::new(EventKind::Note);
                change.note = Some(text("note", &note, MAX_NOTE_CHARS, true)?);
                change.audience = note_audience(viewer, audience)?;
                change
            }
            Self::AssignAgency { agency_code } => {
                if crate::domain::reference::agency(db, &agency_code)
                    .await?
                    .is_none()
                {
                    return Err(AppError::bad_input("agencyCode", "unknown agency"));
                }
                if assigned_agencies(db, current.id)
                    .await?
                    .contains(&agency_code)
                {
                    return Err(AppError::bad_input(
                        "agencyCode",
                        "the agency is already assigned",
                    ));
                }
                let mut change = Change::new(EventKind::AgencyAssigned);
                change
                    .extra
                    .insert("assignedAgencies".into(), json!([null, agency_code]));
                change.assign = Some(agency_code);
                change
            }
            Self::UnassignAgency { agency_code } => {
                if !assigned_agencies(db, current.id)
                    .await?
                    .contains(&agency_code)
                {
                    return Err(AppError::bad_input(
                        "agencyCode",
                        "the agency is not assigned",
                    ));
                }
                let mut change = Change::new(EventKind::AgencyUnassigned);
                change
                    .extra
                    .insert("assignedAgencies".into(), json!([agency_code, null]));
                change.unassign = Some(agency_code);
                change
            }
            Self::Resolve { outcome } => {
                let mut change = with_status(EventKind::Resolved, DisputeStatus::Resolved);
                change.outcome = Some(text("outcome", &outcome, MAX_NOTE_CHARS, true)?);
                change
            }
            Self::Dismiss { reason } => {
                let mut change = with_status(EventKind::Dismissed, DisputeStatus::Dismissed);
                change.outcome = Some(text("reason", &reason, MAX_NOTE_CHARS, true)?);
                change
            }
            Self::Reopen { reason } => {
                let mut change = with_status(EventKind::Reopened, DisputeStatus::Verified);
                change.note = Some(text("reason", &reason, MAX_NOTE_CHARS, true)?);
                change
            }
        })
    }
}

/// Carries out a workflow command on the dispute `id` at `expected_version`. The order is
/// the policy's: the caller's role may take the action at all (FORBIDDEN, before any input
/// is read, so a role that may not act learns nothing from validation); the dispute is one
/// it sees (NOT_FOUND); then the input is validated, the version compared and the
/// transition checked.
pub async fn execute(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: &str,
    expected_version: i32,
    command: Command,
) -> AppResult<VisibleDispute> {
    let action = command.action();
    policy::permit(viewer, action)?;
    let current = disputes::row_by_ref(db, viewer, id).await?;
    let change = command.change(db, viewer, &current).await?;
    if current.version != expected_version {
        return Err(conflict(current.version));
    }
    let from = status_of(&current)?;
    if let Some(to) = change.to_status {
        check_transition(from, to, action)?;
    }
    // The row was read through the viewer's scope, and a change never narrows it.
    write(db, viewer, current, expected_version, change)
        .await
        .map(VisibleDispute::new)
}

async fn write(
    db: &DatabaseConnection,
    viewer: &Viewer,
    current: dispute::Model,
    expected_version: i32,
    change: Change,
) -> AppResult<dispute::Model> {
    let at = now();
    let mut updated = current.clone();
    let mut changes = change.extra.clone();
    if let Some(to) = change.to_status
        && to != current.status
    {
        changes.insert("status".into(), json!([current.status, to.as_str()]));
        updated.status = to;
    }
    if let Some(violation) = change.violation {
        changes.insert(
            "violation".into(),
            json!([current.violation, violation.as_str()]),
        );
        updated.violation = Some(violation);
    }
    if let Some(outcome) = &change.outcome {
        changes.insert("outcome".into(), json!([current.outcome, outcome]));
        updated.outcome = Some(outcome.clone());
    }
    updated.version = expected_version + 1;
    updated.updated_at = at;

    let txn = db.begin().await?;
    // The guarded write comes first: it takes the row (PostgreSQL) or the database's write
    // lock (SQLite) before anything is read, so the check and the change are one step.
    let result = dispute::Entity::update_many()
        .col_expr(dispute::Column::Status, Expr::value(updated.status))
        .col_expr(dispute::Column::Violation, Expr::value(updated.violation))
        .col_expr(
            dispute::Column::Outcome,
            Expr::value(updated.outcome.clone()),
        )
        .col_expr(dispute::Column::UpdatedAt, Expr::value(at))
        .col_expr(
            dispute::Column::Version,
            Expr::col(dispute::Column::Version).add(1),
        )
        .filter(dispute::Column::Id.eq(current.id))
        .filter(dispute::Column::Version.eq(expected_version))
        .exec(&txn)
        .await?;
    if result.rows_affected != 1 {
        txn.rollback().await?;
        let now_version = policy::visible_disputes(viewer)
            .filter(dispute::Column::Id.eq(current.id))
            .one(db)
            .await?
            .map_or(expected_version, |d| d.version);
        return Err(conflict(now_version));
    }
    // Under the row lock the guarded write took, and before this change's escalation and
    // assignment: who may count a dispute in statistics depends on them.
    let counted = tally::CountedChange {
        to_status: updated.status,
        escalation: change.escalation.as_ref().map(|(target, _)| *target),
        assign: change.assign.clone(),
        unassign: change.unassign.clone(),
    };
    let links = if counted.moves(&current) {
        Some(tally::links(&txn, &current).await?)
    } else {
        None
    };
    append_event(
        &txn,
        viewer,
        &current,
        updated.version,
        at,
        &change,
        changes,
    )
    .await?;
    if let Some((target, reason)) = &change.escalation {
        dispute_escalation::Entity::insert(dispute_escalation::ActiveModel {
            id: NotSet,
            dispute_id: Set(current.id),
            target: Set(*target),
            reason: Set(reason.clone()),
            escalated_at: Set(at),
            escalated_by: Set(viewer.subject_or_public().to_owned()),
        })
        .exec_without_returning(&txn)
        .await?;
    }
    if let Some(agency) = &change.assign {
        dispute_assignment::Entity::insert(dispute_assignment::ActiveModel {
            dispute_id: Set(current.id),
            agency_code: Set(agency.clone()),
            assigned_at: Set(at),
            assigned_by: Set(viewer.subject_or_public().to_owned()),
        })
        .exec_without_returning(&txn)
        .await?;
    }
    if let Some(agency) = &change.unassign {
        dispute_assignment::Entity::delete_many()
            .filter(dispute_assignment::Column::DisputeId.eq(current.id))
            .filter(dispute_assignment::Column::AgencyCode.eq(agency.clone()))
            .exec(&txn)
            .await?;
    }
    // Last before the commit, so the shared counter rows stay locked for the shortest time.
    if let Some(links) = &links {
        tally::record_change(&txn, &current, links, &counted).await?;
    }
    changes::notify_in(&txn, current.id, updated.version).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Appends the event `seq` of a dispute, chained to event `seq - 1`.
pub async fn append_event<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    dispute: &dispute::Model,
    seq: i32,
    at: DateTime<Utc>,
    change: &Change,
    changes: Map<String, Value>,
) -> AppResult<()> {
    let prev_hash = if seq == 1 {
        GENESIS_HASH.to_owned()
    } else {
        dispute_event::Entity::find()
            .filter(dispute_event::Column::DisputeId.eq(dispute.id))
            .filter(dispute_event::Column::Seq.eq(seq - 1))
            .one(db)
            .await?
            .map(|e| e.hash)
            .ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!(
                    "dispute {} lacks event {}",
                    dispute.id,
                    seq - 1
                ))
            })?
    };
    let changes = (!changes.is_empty()).then(|| Value::Object(changes).to_string());
    let audience = change.audience.as_ref().map(|roles| {
        roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    });
    let actor = viewer.subject_or_public().to_owned();
    let salt = new_salt();
    let hash = event_hash(
        &prev_hash,
        &EventContent {
            dispute_id: dispute.id,
            seq,
            kind: change.kind.as_str(),
            actor_sub: &actor,
            actor_role: viewer.role.as_str(),
            actor_agency: viewer.agency_code.as_deref(),
            at,
            changes: changes.as_deref(),
            note: change.note.as_deref(),
            audience: audience.as_deref(),
            salt: Some(&salt),
        },
    );
    dispute_event::Entity::insert(dispute_event::ActiveModel {
        id: NotSet,
        dispute_id: Set(dispute.id),
        seq: Set(seq),
        kind: Set(change.kind),
        actor_sub: Set(actor),
        actor_role: Set(viewer.role),
        actor_agency: Set(viewer.agency_code.clone()),
        at: Set(at),
        changes: Set(changes),
        note: Set(change.note.clone()),
        audience: Set(audience),
        prev_hash: Set(prev_hash),
        hash: Set(hash),
        salt: Set(Some(salt)),
        key_salt: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

fn optional_note(field: &'static str, note: Option<&str>) -> AppResult<Option<String>> {
    note.map(|n| text(field, n, MAX_NOTE_CHARS, true))
        .transpose()
}

/// A mediation session of a dispute in mediation.
pub struct Mediation {
    pub held_at: DateTime<Utc>,
    pub participants: Vec<String>,
    pub outcome: String,
}

fn mediation_change(current: &dispute::Model, mediation: Mediation) -> AppResult<Change> {
    let outcome = text("outcome", &mediation.outcome, MAX_NOTE_CHARS, true)?;
    if mediation.participants.is_empty() {
        return Err(AppError::bad_input(
            "participants",
            "name at least one participant",
        ));
    }
    let mut participants = Vec::new();
    for participant in &mediation.participants {
        participants.push(text("participants", participant, 200, true)?);
    }
    if mediation.held_at > now() + chrono::Duration::minutes(5) {
        return Err(AppError::bad_input("heldAt", "heldAt is in the future"));
    }
    if current.status != DisputeStatus::InMediation {
        return Err(AppError::InvalidTransition {
            allowed: policy::next_statuses(status_of(current)?)
                .iter()
                .map(|s| s.as_str())
                .collect(),
        });
    }
    let mut change = Change::new(EventKind::MediationRecorded);
    change.note = Some(outcome);
    change.extra.insert(
        "mediation".into(),
        json!([null, { "heldAt": mediation.held_at, "participants": participants }]),
    );
    Ok(change)
}

/// The audience of a note: `None` for everyone who sees the dispute; otherwise the roles
/// named plus the author's own.
fn note_audience(viewer: &Viewer, audience: Option<Vec<Role>>) -> AppResult<Option<Vec<Role>>> {
    match audience {
        None => Ok(None),
        Some(roles) if roles.contains(&Role::Public) => Err(AppError::bad_input(
            "audience",
            "PUBLIC cannot be an audience",
        )),
        Some(roles) if roles.is_empty() => Err(AppError::bad_input(
            "audience",
            "name at least one role, or omit the audience",
        )),
        Some(mut roles) => {
            roles.push(viewer.role);
            roles.sort();
            roles.dedup();
            Ok(Some(roles))
        }
    }
}

async fn assigned_agencies(db: &DatabaseConnection, id: i32) -> AppResult<Vec<String>> {
    Ok(dispute_assignment::Entity::find()
        .filter(dispute_assignment::Column::DisputeId.eq(id))
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.agency_code)
        .collect())
}
