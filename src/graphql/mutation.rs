//! The mutation root: the dispute workflow. Each mutation takes an input object and
//! returns a payload with the changed dispute, resolved under the same field rules as
//! any read.

use crate::graphql::scalars::Timestamp;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::domain::report::{self, NewReport, NewReporter};
use crate::domain::types::{
    DisputeCategory, EscalationTarget, ReporterKind, Role, Severity, ViolationClass,
};
use crate::domain::workflow::{self, Command, Mediation};
use crate::error::IntoGql;
use crate::graphql::context::ContextExt;
use crate::graphql::types::dispute::Dispute;

/// Writes: the dispute workflow (report, verify, mediate, escalate, classify, resolve,
/// dismiss, reopen) and the schedule and directory. Each is allowed by the caller's role
/// and jurisdiction.
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
    /// The reporter's name; omit to report anonymously.
    pub name: Option<String>,
    /// A phone number or e-mail address to reach the reporter.
    pub contact: Option<String>,
    /// Who the reporter is.
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
    /// Free-text place: street, polling station (TPS), landmark.
    pub location_text: Option<String>,
    /// When it happened; not in the future.
    pub occurred_at: Timestamp,
    /// What it is about.
    pub category: DisputeCategory,
    /// How serious it is.
    pub severity: Severity,
    /// A short summary.
    pub title: String,
    /// What happened, who was involved, evidence and witnesses.
    pub description: String,
    /// Ballot numbers of the pairs involved, in the region's election (the regency's own,
    /// or the governor's where the regency holds none).
    pub party_ballot_numbers: Option<Vec<i32>>,
    /// Who reported it (protected: see `Dispute.reporter`); omit for a posko's own finding
    /// without a named reporter.
    pub reporter: Option<ReporterInput>,
    /// Seen only by ADMIN and the agencies assigned or escalated to.
    pub restricted: Option<bool>,
    /// Retrying with the same key (from the same agency) returns the first dispute; the
    /// same key with a different report is IDEMPOTENCY_KEY_REUSED.
    pub idempotency_key: Option<String>,
}

/// The result of `reportDispute`.
#[derive(SimpleObject)]
pub struct ReportDisputePayload {
    /// The new dispute (or the first one, when replayed).
    pub dispute: Dispute,
    /// True when an earlier report with the same idempotency key was returned.
    pub replayed: bool,
}

/// The result of every other dispute mutation.
#[derive(SimpleObject)]
pub struct DisputePayload {
    /// The dispute after the change, as the caller sees it.
    pub dispute: Dispute,
}

/// Identifies the dispute and the version the caller last saw.
#[derive(InputObject)]
pub struct TransitionInput {
    /// The dispute's `id`.
    pub id: ID,
    /// The `version` the caller last saw; a stale one is CONFLICT with the current one in
    /// `extensions.currentVersion`.
    pub expected_version: i32,
    /// An optional note for the timeline.
    pub note: Option<String>,
}

/// `recordMediation`.
#[derive(InputObject)]
pub struct RecordMediationInput {
    /// The dispute's `id`.
    pub id: ID,
    /// The `version` the caller last saw; a stale one is CONFLICT with the current one in
    /// `extensions.currentVersion`.
    pub expected_version: i32,
    /// When the session was held.
    pub held_at: Timestamp,
    /// Who took part (names or teams).
    pub participants: Vec<String>,
    /// What the session agreed or concluded.
    pub outcome: String,
}

/// `escalateDispute`.
#[derive(InputObject)]
pub struct EscalateDisputeInput {
    /// The dispute's `id`.
    pub id: ID,
    /// The `version` the caller last saw; a stale one is CONFLICT with the current one in
    /// `extensions.currentVersion`.
    pub expected_version: i32,
    /// The body it is handed to.
    pub to: EscalationTarget,
    /// Why it goes there.
    pub reason: String,
}

/// `classifyViolation`.
#[derive(InputObject)]
pub struct ClassifyViolationInput {
    /// The dispute's `id`.
    pub id: ID,
    /// The `version` the caller last saw; a stale one is CONFLICT with the current one in
    /// `extensions.currentVersion`.
    pub expected_version: i32,
    /// Bawaslu's finding.
    pub violation: ViolationClass,
    /// An optional note for the timeline (seen by those who may read the classification).
    pub note: Option<String>,
}

/// `addIntelNote`.
#[derive(InputObject)]
pub struct AddIntelNoteInput {
    /// The dispute's `id`.
    pub id: ID,
    /// The `version` the caller last saw; a stale one is CONFLICT with the current one in
    /// `extensions.currentVersion`.
    pub expected_version: i32,
    /// The intelligence note (readable by POLICE only).
    pub note: String,
}

/// `addNote`.
#[derive(InputObject)]
pub struct AddNoteInput {
    /// The dispute's `id`.
    pub id: ID,
    /// The `version` the caller last saw; a stale one is CONFLICT with the current one in
    /// `extensions.currentVersion`.
    pub expected_version: i32,
    /// The note's text.
    pub note: String,
    /// The roles the note is for (the author's role is added); omit for everyone who sees
    /// the dispute.
    pub audience: Option<Vec<Role>>,
}

/// `assignAgency` / `unassignAgency`.
#[derive(InputObject)]
pub struct AssignAgencyInput {
    /// The dispute's `id`.
    pub id: ID,
    /// The `version` the caller last saw; a stale one is CONFLICT with the current one in
    /// `extensions.currentVersion`.
    pub expected_version: i32,
    /// The agency's code, e.g. `POLDA_METRO_JAYA`.
    pub agency_code: String,
}

/// `resolveDispute`.
#[derive(InputObject)]
pub struct ResolveDisputeInput {
    /// The dispute's `id`.
    pub id: ID,
    /// The `version` the caller last saw; a stale one is CONFLICT with the current one in
    /// `extensions.currentVersion`.
    pub expected_version: i32,
    /// How it was settled.
    pub outcome: String,
}

/// `dismissDispute` / `reopenDispute`.
#[derive(InputObject)]
pub struct ReasonInput {
    /// The dispute's `id`.
    pub id: ID,
    /// The `version` the caller last saw; a stale one is CONFLICT with the current one in
    /// `extensions.currentVersion`.
    pub expected_version: i32,
    /// Why it is dismissed or reopened.
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
    let dispute = workflow::execute(rc.db().writer(), &rc.viewer, id, expected_version, command)
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
        #[graphql(desc = "What to do; see `ReportDisputeInput`.")] input: ReportDisputeInput,
    ) -> async_graphql::Result<ReportDisputePayload> {
        let rc = ctx.request()?;
        let report = NewReport {
            regency_code: input.regency_code,
            district_code: input.district_code,
            location_text: input.location_text,
            occurred_at: input.occurred_at.0,
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
        let (dispute, replayed) =
            report::report(rc.db().writer(), &rc.reference(), &rc.viewer, report)
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
        #[graphql(desc = "What to do; see `TransitionInput`.")] input: TransitionInput,
    ) -> async_graphql::Result<DisputePayload> {
        let command = Command::Verify { note: input.note };
        execute(ctx, &input.id, input.expected_version, command).await
    }

    /// VERIFIED → IN_MEDIATION.
    async fn start_mediation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `TransitionInput`.")] input: TransitionInput,
    ) -> async_graphql::Result<DisputePayload> {
        let command = Command::StartMediation { note: input.note };
        execute(ctx, &input.id, input.expected_version, command).await
    }

    /// Records a mediation session of a dispute IN_MEDIATION.
    async fn record_mediation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `RecordMediationInput`.")] input: RecordMediationInput,
    ) -> async_graphql::Result<DisputePayload> {
        let command = Command::RecordMediation(Mediation {
            held_at: input.held_at.0,
            participants: input.participants,
            outcome: input.outcome,
        });
        execute(ctx, &input.id, input.expected_version, command).await
    }

    /// Any open state → ESCALATED: hands the dispute to another body.
    async fn escalate_dispute(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `EscalateDisputeInput`.")] input: EscalateDisputeInput,
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
        #[graphql(desc = "What to do; see `ClassifyViolationInput`.")]
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
        #[graphql(desc = "What to do; see `AddIntelNoteInput`.")] input: AddIntelNoteInput,
    ) -> async_graphql::Result<DisputePayload> {
        let command = Command::AddIntelNote { note: input.note };
        execute(ctx, &input.id, input.expected_version, command).await
    }

    /// A note on the timeline, for everyone who sees the dispute or for some roles.
    async fn add_note(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `AddNoteInput`.")] input: AddNoteInput,
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
        #[graphql(desc = "What to do; see `AssignAgencyInput`.")] input: AssignAgencyInput,
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
        #[graphql(desc = "What to do; see `AssignAgencyInput`.")] input: AssignAgencyInput,
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
        #[graphql(desc = "What to do; see `ResolveDisputeInput`.")] input: ResolveDisputeInput,
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
        #[graphql(desc = "What to do; see `ReasonInput`.")] input: ReasonInput,
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
        #[graphql(desc = "What to do; see `ReasonInput`.")] input: ReasonInput,
    ) -> async_graphql::Result<DisputePayload> {
        let command = Command::Reopen {
            reason: input.reason,
        };
        execute(ctx, &input.id, input.expected_version, command).await
    }
}
