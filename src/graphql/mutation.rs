//! The mutation root: the dispute workflow. Each mutation takes an input object and
//! returns a payload with the changed dispute, resolved under the same field rules as
//! any read.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::report::{self, NewReport, NewReporter};
use crate::domain::types::{
    DisputeCategory, EscalationTarget, ReporterKind, Role, Severity, ViolationClass,
};
use crate::domain::workflow::{self, Command, Mediation};
use crate::error::IntoGql;
use crate::graphql::context::ContextExt;
use crate::graphql::types::dispute::Dispute;

/// The whole mutation root.
#[derive(async_graphql::MergedObject, Default)]
pub struct Mutation(
    DisputeMutation,
    crate::graphql::directory_mutation::DirectoryMutation,
);

/// The dispute workflow.
#[derive(Default)]
pub struct DisputeMutation;

/// The reporter of a dispute; protected like `Dispute.reporter`.
#[derive(InputObject)]
pub struct ReporterInput {
    pub name: Option<String>,
    pub contact: Option<String>,
    pub kind: ReporterKind,
}

/// A new report. Limits: title 1–200 characters, description 1–10 000, locationText,
/// reporter name and contact up to 500, idempotencyKey up to 100.
#[derive(InputObject)]
pub struct ReportDisputeInput {
    /// A regency or city code such as `"31.71"` (old codes of recoded regions are accepted).
    pub regency_code: String,
    /// A district code inside that regency, e.g. `"36.03.13"`.
    pub district_code: Option<String>,
    pub location_text: Option<String>,
    /// When it happened; not in the future.
    pub occurred_at: DateTime<Utc>,
    pub category: DisputeCategory,
    pub severity: Severity,
    pub title: String,
    pub description: String,
    /// Ballot numbers of the pairs involved, in the region's election (the regency's own,
    /// or the governor's where the regency holds none).
    pub party_ballot_numbers: Option<Vec<i32>>,
    pub reporter: Option<ReporterInput>,
    /// Seen only by ADMIN and the agencies assigned or escalated to.
    pub restricted: Option<bool>,
    /// Retrying with the same key (from the same agency) returns the first dispute; the
    /// same key with a different report is CONFLICT.
    pub idempotency_key: Option<String>,
}

/// The result of `reportDispute`.
#[derive(SimpleObject)]
pub struct ReportDisputePayload {
    pub dispute: Dispute,
    /// True when an earlier report with the same idempotency key was returned.
    pub replayed: bool,
}

/// The result of every other dispute mutation.
#[derive(SimpleObject)]
pub struct DisputePayload {
    pub dispute: Dispute,
}

/// Identifies the dispute and the version the caller last saw.
#[derive(InputObject)]
pub struct TransitionInput {
    pub id: ID,
    /// A stale version is CONFLICT, with the current one in `extensions.currentVersion`.
    pub expected_version: i32,
    /// An optional note for the timeline.
    pub note: Option<String>,
}

/// `recordMediation`.
#[derive(InputObject)]
pub struct RecordMediationInput {
    pub id: ID,
    pub expected_version: i32,
    pub held_at: DateTime<Utc>,
    /// Who took part (names or teams).
    pub participants: Vec<String>,
    pub outcome: String,
}

/// `escalateDispute`.
#[derive(InputObject)]
pub struct EscalateDisputeInput {
    pub id: ID,
    pub expected_version: i32,
    pub to: EscalationTarget,
    pub reason: String,
}

/// `classifyViolation`.
#[derive(InputObject)]
pub struct ClassifyViolationInput {
    pub id: ID,
    pub expected_version: i32,
    pub violation: ViolationClass,
    pub note: Option<String>,
}

/// `addIntelNote`.
#[derive(InputObject)]
pub struct AddIntelNoteInput {
    pub id: ID,
    pub expected_version: i32,
    pub note: String,
}

/// `addNote`.
#[derive(InputObject)]
pub struct AddNoteInput {
    pub id: ID,
    pub expected_version: i32,
    pub note: String,
    /// The roles the note is for (the author's role is added); omit for everyone who sees
    /// the dispute.
    pub audience: Option<Vec<Role>>,
}

/// `assignAgency` / `unassignAgency`.
#[derive(InputObject)]
pub struct AssignAgencyInput {
    pub id: ID,
    pub expected_version: i32,
    pub agency_code: String,
}

/// `resolveDispute`.
#[derive(InputObject)]
pub struct ResolveDisputeInput {
    pub id: ID,
    pub expected_version: i32,
    pub outcome: String,
}

/// `dismissDispute` / `reopenDispute`.
#[derive(InputObject)]
pub struct ReasonInput {
    pub id: ID,
    pub expected_version: i32,
    pub reason: String,
}

/// Every workflow mutation: the command goes to `workflow::execute`, the one gate.
async fn execute(
    ctx: &Context<'_>,
    id: &ID,
    expected_version: i32,
    command: Command,
) -> async_graphql::Result<DisputePayload> {
    let rc = ctx.request()?;
    let dispute = workflow::execute(&rc.db.conn, &rc.viewer, id, expected_version, command)
        .await
        .gql()?;
    rc.changes()
        .gql()?
        .committed(dispute.id().raw(), dispute.version());
    Ok(DisputePayload {
        dispute: Dispute::new(dispute),
    })
}

#[Object]
impl DisputeMutation {
    /// Files a report (any member role, within its jurisdiction).
    async fn report_dispute(
        &self,
        ctx: &Context<'_>,
        input: ReportDisputeInput,
    ) -> async_graphql::Result<ReportDisputePayload> {
        let rc = ctx.request()?;
        let report = NewReport {
            regency_code: input.regency_code,
            district_code: input.district_code,
            location_text: input.location_text,
            occurred_at: input.occurred_at,
            category: input.category,
            severity: input.severity,
            title: input.title,
            description: input.description,
            party_ballot_numbers: input.party_ballot_numbers.unwrap_or_default(),
            reporter: input.reporter.map(|r| NewReporter {
                name: r.name,
                contact: r.contact,
                kind: r.kind,
            }),
            restricted: input.restricted.unwrap_or(false),
            idempotency_key: input.idempotency_key,
        };
        let (dispute, replayed) = report::report(&rc.db.conn, &rc.viewer, report)
            .await
            .gql()?;
        if !replayed {
            rc.changes()
                .gql()?
                .committed(dispute.id().raw(), dispute.version());
        }
        Ok(ReportDisputePayload {
            dispute: Dispute::new(dispute),
            replayed,
        })
    }

    /// REPORTED → VERIFIED.
    async fn verify_dispute(
        &self,
        ctx: &Context<'_>,
        input: TransitionInput,
    ) -> async_graphql::Result<DisputePayload> {
        let command = Command::Verify { note: input.note };
        execute(ctx, &input.id, input.expected_version, command).await
    }

    /// VERIFIED → IN_MEDIATION.
    async fn start_mediation(
        &self,
        ctx: &Context<'_>,
        input: TransitionInput,
    ) -> async_graphql::Result<DisputePayload> {
        let command = Command::StartMediation { note: input.note };
        execute(ctx, &input.id, input.expected_version, command).await
    }

    /// Records a mediation session of a dispute IN_MEDIATION.
    async fn record_mediation(
        &self,
        ctx: &Context<'_>,
        input: RecordMediationInput,
    ) -> async_graphql::Result<DisputePayload> {
        let command = Command::RecordMediation(Mediation {
            held_at: input.held_at,
            participants: input.participants,
            outcome: input.outcome,
        });
        execute(ctx, &input.id, input.expected_version, command).await
    }

    /// Any open state → ESCALATED: hands the dispute to another body.
    async fn escalate_dispute(
        &self,
        ctx: &Context<'_>,
        input: EscalateDisputeInput,
    ) -> async_graphql::Result<DisputePayload> {
        let command = Command::Escalate {
            to: input.to,
            reason: input.reason,
        };
        execute(ctx, &input.id, input.expected_version, command).await
    }

    /// Bawaslu's classification.
    async fn classify_violation(
        &self,
        ctx: &Context<'_>,
        input: ClassifyViolationInput,
    ) -> async_graphql::Result<DisputePayload> {
        let command = Command::Classify {
            violation: input.violation,
            note: input.note,
        };
        execute(ctx, &input.id, input.expected_version, command).await
    }

    /// A police intelligence note (POLICE; readable by POLICE only).
    async fn add_intel_note(
        &self,
        ctx: &Context<'_>,
        input: AddIntelNoteInput,
    ) -> async_graphql::Result<DisputePayload> {
        let command = Command::AddIntelNote { note: input.note };
        execute(ctx, &input.id, input.expected_version, command).await
    }

    /// A note on the timeline, for everyone who sees the dispute or for some roles.
    async fn add_note(
        &self,
        ctx: &Context<'_>,
        input: AddNoteInput,
    ) -> async_graphql::Result<DisputePayload> {
        let command = Command::AddNote {
            note: input.note,
            audience: input.audience,
        };
        execute(ctx, &input.id, input.expected_version, command).await
    }

    /// Assigns an agency to the dispute (it then sees it, even when restricted).
    async fn assign_agency(
        &self,
        ctx: &Context<'_>,
        input: AssignAgencyInput,
    ) -> async_graphql::Result<DisputePayload> {
        let command = Command::AssignAgency {
            agency_code: input.agency_code,
        };
        execute(ctx, &input.id, input.expected_version, command).await
    }

    /// Removes an agency's assignment.
    async fn unassign_agency(
        &self,
        ctx: &Context<'_>,
        input: AssignAgencyInput,
    ) -> async_graphql::Result<DisputePayload> {
        let command = Command::UnassignAgency {
            agency_code: input.agency_code,
        };
        execute(ctx, &input.id, input.expected_version, command).await
    }

    /// IN_MEDIATION or ESCALATED → RESOLVED.
    async fn resolve_dispute(
        &self,
        ctx: &Context<'_>,
        input: ResolveDisputeInput,
    ) -> async_graphql::Result<DisputePayload> {
        let command = Command::Resolve {
            outcome: input.outcome,
        };
        execute(ctx, &input.id, input.expected_version, command).await
    }

    /// REPORTED or VERIFIED → DISMISSED.
    async fn dismiss_dispute(
        &self,
        ctx: &Context<'_>,
        input: ReasonInput,
    ) -> async_graphql::Result<DisputePayload> {
        let command = Command::Dismiss {
            reason: input.reason,
        };
        execute(ctx, &input.id, input.expected_version, command).await
    }

    /// RESOLVED or DISMISSED → VERIFIED (ADMIN).
    async fn reopen_dispute(
        &self,
        ctx: &Context<'_>,
        input: ReasonInput,
    ) -> async_graphql::Result<DisputePayload> {
        let command = Command::Reopen {
            reason: input.reason,
        };
        execute(ctx, &input.id, input.expected_version, command).await
    }
}
