//! The legal clocks (DOMAIN.md; data/dispute_timelines.csv), in calendar days as Bawaslu
//! counts Pilkada deadlines. `deadlines` evaluates them for one dispute and
//! `overdue_condition` is the same rules in SQL for the `overdue` filter; a test keeps the
//! two in agreement.

use chrono::{DateTime, Duration, Utc};
use entity::{dispute, dispute_escalation};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition};

use crate::domain::types::{DisputeStatus, EscalationTarget};

/// A report must reach Bawaslu within 7 days of the event being known (UU 1/2015 Pasal
/// 134(4)); Posko counts from `occurredAt`, the earliest it can have been known.
pub const REPORT_WINDOW_DAYS: i64 = 7;
/// Bawaslu decides within 3 days of receiving a report (Pasal 134(5))…
pub const BAWASLU_DECISION_DAYS: i64 = 3;
/// …plus 2 when it asks the reporter for more (Pasal 134(6)).
pub const BAWASLU_EXTENSION_DAYS: i64 = 2;
/// The police hand the file to prosecutors within 14 days (Pasal 146(1)).
pub const GAKKUMDU_FILE_DAYS: i64 = 14;

/// Which clock.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DeadlineKind {
    /// 7 days from the event to report it to Bawaslu; met by escalating to Bawaslu or
    /// Gakkumdu.
    BawasluReportWindow,
    /// 3 (+2) days for Bawaslu to decide after an escalation to it; met by a classification.
    BawasluDecision,
    /// 14 days for the police to hand the file to prosecutors after an escalation to
    /// Gakkumdu; met by resolving the dispute.
    GakkumduFileToProsecutor,
}

impl DeadlineKind {
    /// Whether the clock's state tells if Bawaslu has classified the dispute.
    pub fn reveals_classification(self) -> bool {
        self == Self::BawasluDecision
    }
}

/// One clock of one dispute (`graphql::types::dispute::Deadline` publishes it).
#[derive(Clone, Debug)]
pub struct Deadline {
    pub kind: DeadlineKind,
    /// When the clock runs out.
    pub due_at: DateTime<Utc>,
    /// The latest date with the extension the law allows, where there is one.
    pub extended_due_at: Option<DateTime<Utc>>,
    /// Whatever the clock asks for has been done.
    pub met: bool,
    /// Not met, the dispute is still open, and `dueAt` has passed.
    pub overdue: bool,
}

fn is_open(status: DisputeStatus) -> bool {
    !matches!(status, DisputeStatus::Resolved | DisputeStatus::Dismissed)
}

/// The clocks running for a dispute.
pub fn deadlines(
    dispute: &dispute::Model,
    escalations: &[dispute_escalation::Model],
    now: DateTime<Utc>,
) -> Vec<Deadline> {
    let open = is_open(dispute.status);
    let to = |target: EscalationTarget| escalations.iter().filter(move |e| e.target == target);
    let reached_bawaslu = escalations
        .iter()
        .any(|e| e.target == EscalationTarget::Bawaslu || e.target == EscalationTarget::Gakkumdu);
    let mut out = Vec::new();
    let due = dispute.occurred_at + Duration::days(REPORT_WINDOW_DAYS);
    out.push(Deadline {
        kind: DeadlineKind::BawasluReportWindow,
        due_at: due,
        extended_due_at: None,
        met: reached_bawaslu,
        overdue: open && !reached_bawaslu && now > due,
    });
    for escalation in to(EscalationTarget::Bawaslu) {
        let due = escalation.escalated_at + Duration::days(BAWASLU_DECISION_DAYS);
        let met = dispute.violation.is_some();
        out.push(Deadline {
            kind: DeadlineKind::BawasluDecision,
            due_at: due,
            extended_due_at: Some(due + Duration::days(BAWASLU_EXTENSION_DAYS)),
            met,
            overdue: open && !met && now > due,
        });
    }
    for escalation in to(EscalationTarget::Gakkumdu) {
        let due = escalation.escalated_at + Duration::days(GAKKUMDU_FILE_DAYS);
        out.push(Deadline {
            kind: DeadlineKind::GakkumduFileToProsecutor,
            due_at: due,
            extended_due_at: None,
            met: !open,
            overdue: open && now > due,
        });
    }
    out
}

fn escalated(
    targets: &[EscalationTarget],
    before: Option<DateTime<Utc>>,
) -> sea_orm::sea_query::SelectStatement {
    let mut query = Query::select();
    query
        .column(dispute_escalation::Column::DisputeId)
        .from(dispute_escalation::Entity)
        .and_where(dispute_escalation::Column::Target.is_in(targets.iter().map(|t| t.as_str())));
    if let Some(before) = before {
        query.and_where(Expr::col(dispute_escalation::Column::EscalatedAt).lt(before));
    }
    query.to_owned()
}

/// Disputes with at least one overdue clock at `now` (the rules of `deadlines`, in SQL).
pub fn overdue_condition(now: DateTime<Utc>) -> Condition {
    let open = dispute::Column::Status.is_not_in([
        DisputeStatus::Resolved.as_str(),
        DisputeStatus::Dismissed.as_str(),
    ]);
    let report_window = Condition::all()
        .add(dispute::Column::OccurredAt.lt(now - Duration::days(REPORT_WINDOW_DAYS)))
        .add(dispute::Column::Id.not_in_subquery(escalated(
            &[EscalationTarget::Bawaslu, EscalationTarget::Gakkumdu],
            None,
        )));
    let bawaslu = Condition::all()
        .add(dispute::Column::Violation.is_null())
        .add(dispute::Column::Id.in_subquery(escalated(
            &[EscalationTarget::Bawaslu],
            Some(now - Duration::days(BAWASLU_DECISION_DAYS)),
        )));
    let gakkumdu = dispute::Column::Id.in_subquery(escalated(
        &[EscalationTarget::Gakkumdu],
        Some(now - Duration::days(GAKKUMDU_FILE_DAYS)),
    ));
    Condition::all().add(open).add(
        Condition::any()
            .add(report_window)
            .add(bawaslu)
            .add(gakkumdu),
    )
}
