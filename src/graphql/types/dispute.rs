//! Disputes as clients see them. Sensitive fields are nullable and come from
//! `domain::projection`, which decides them by `policy` and notes each sensitive read: a
//! forbidden one resolves to null with a FORBIDDEN error at its path, leaving its siblings
//! intact. The resolvers here only format.

use async_graphql::connection::PageInfo;
use async_graphql::{Context, ID, Object, SimpleObject};
use entity::dispute_event;

use super::agency::Agency;
use super::election::{CandidatePair, Election, ElectionStage};
use super::region::{Province, Regency};
use super::results::{self, RegionResult};
use super::{loaded, stored};
use crate::auth::policy::{self, Action, DisputeFacts, DisputeField};
use crate::domain::clocks::{self, DeadlineKind};
use crate::domain::disputes::{self, DisputeFilter, StatsDimension};
use crate::domain::projection::{self, VisibleEvent};
use crate::domain::reference_snapshot::ReferenceSnapshot;
use crate::domain::timeline;
use crate::domain::types::{
    DisputeCategory, DisputeStatus, EscalationTarget, ReporterKind, Role, Severity, ViolationClass,
};
use crate::domain::visible::VisibleDispute;
use crate::error::{AppError, IntoGql};
use crate::graphql::context::ContextExt;
use crate::graphql::node::{self, Kind};
use crate::graphql::plain::{self, Plain, PlainList, PlainObject};
use crate::graphql::scalars::Timestamp;

/// A reported friction of the election (between campaign teams, supporters, officials or
/// voters) that the posko handles, from report to resolution or hand-over.
pub struct Dispute(VisibleDispute, std::sync::OnceLock<DisputeFacts>);

impl Dispute {
    /// Wraps a dispute the domain let the caller see; there is no other way to make one.
    pub fn new(dispute: VisibleDispute) -> Self {
        Self(dispute, std::sync::OnceLock::new())
    }

    /// Wraps a dispute read together with the facts its field rules need
    /// (`disputes::get_with_facts_by_ref`), so no field loads them again.
    pub fn with_facts(dispute: VisibleDispute, facts: DisputeFacts) -> Self {
        Self(dispute, std::sync::OnceLock::from(facts))
    }
}

impl Dispute {
    /// One timeline event by its key, through the timeline's projection: an event the
    /// caller may not see is NOT_FOUND, as one that does not exist.
    pub async fn event_by_key(
        &self,
        ctx: &Context<'_>,
        key: &str,
    ) -> async_graphql::Result<DisputeEvent> {
        let rc = ctx.request()?;
        let facts = self.facts(ctx).await?;
        let events = self.all_events(ctx).await?;
        let event = projection::event_by_key(&rc.viewer, &self.0, facts, events, key, rc).gql()?;
        Ok(DisputeEvent::new(event, self.0.public_id()))
    }

    /// The facts the field rules need, loaded once per dispute and request (every
    /// sensitive field and the timeline ask for them). Fields resolved at the same moment
    /// may both load them, in one batch; either answer is the same.
    async fn facts(&self, ctx: &Context<'_>) -> async_graphql::Result<&DisputeFacts> {
        if let Some(facts) = self.1.get() {
            return Ok(facts);
        }
        let rows = loaded(
            ctx.request()?
                .loaders()
                .escalations_by_dispute
                .load_one(self.0.id())
                .await,
        )?;
        let escalated_to = rows
            .unwrap_or_default()
            .iter()
            .map(|row| row.target)
            .collect();
        Ok(self.1.get_or_init(|| DisputeFacts { escalated_to }))
    }

    /// Enough of the newest events to hold the newest `keep` the viewer may see: a window
    /// of the newest rows first (twice `keep`, and some, for the events hidden from this
    /// viewer), the whole timeline only when hidden events fill the window.
    async fn newest_events(
        &self,
        ctx: &Context<'_>,
        facts: &DisputeFacts,
        keep: usize,
    ) -> async_graphql::Result<Vec<dispute_event::Model>> {
        let window = projection::newest_window(keep);
        let rc = ctx.request()?;
        let recent = loaded(
            rc.loaders()
                .recent_events_by_dispute
                .load_one((self.0.id(), u32::try_from(window).unwrap_or(u32::MAX)))
                .await,
        )?
        .unwrap_or_default();
        if projection::newest_suffice(&rc.viewer, facts, &recent, window, keep) {
            Ok(recent)
        } else {
            self.all_events(ctx).await
        }
    }

    async fn all_events(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<dispute_event::Model>> {
        Ok(loaded(
            ctx.request()?
                .loaders()
                .events_by_dispute
                .load_one(self.0.id())
                .await,
        )?
        .unwrap_or_default())
    }
}

/// A reported friction of the election (money politics, neutrality, hoaxes, clashes…)
/// that the posko handles from report to resolution or hand-over. Which disputes and which
/// of their fields a caller sees follows the policy of its role and jurisdiction.
#[Object]
impl Dispute {
    /// Opaque and random: it says nothing about how many disputes exist. Globally unique
    /// (Relay `Node`): `dispute(id:)` and `node(id:)` take it.
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.public_id().to_owned())
    }
    /// The posko's reference number.
    async fn ref_no(&self) -> &str {
        self.0.ref_no()
    }
    /// A short summary.
    async fn title(&self) -> &str {
        self.0.title()
    }
    /// What happened, as reported.
    async fn description(&self) -> &str {
        self.0.description()
    }
    /// What it is about.
    async fn category(&self) -> async_graphql::Result<DisputeCategory> {
        Ok(self.0.category())
    }
    /// How serious it is.
    async fn severity(&self) -> async_graphql::Result<Severity> {
        Ok(self.0.severity())
    }
    /// Where it stands in the workflow.
    async fn status(&self) -> async_graphql::Result<DisputeStatus> {
        Ok(self.0.status())
    }
    /// Seen only by ADMIN and the agencies assigned to it or escalated to.
    async fn restricted(&self) -> bool {
        self.0.restricted()
    }
    /// When it happened (as reported).
    async fn occurred_at(&self) -> Timestamp {
        self.0.occurred_at().into()
    }
    /// When it was reported to the posko.
    async fn reported_at(&self) -> Timestamp {
        self.0.reported_at().into()
    }
    /// When it last changed.
    async fn updated_at(&self) -> Timestamp {
        self.0.updated_at().into()
    }
    /// Increases with every change; mutations take it as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version()
    }
    /// Free-text place (street, polling station).
    async fn location_text(&self) -> Option<&str> {
        self.0.location_text()
    }
    /// The district (kecamatan) code, when known.
    async fn district_code(&self) -> Option<&str> {
        self.0.district_code()
    }
    /// The province where it occurred.
    async fn province(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Province>> {
        Ok(ctx
            .request()?
            .reference()
            .province(self.0.province_code())
            .cloned()
            .map(Province))
    }
    /// The regency or city where it occurred.
    async fn regency(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Regency>> {
        Ok(ctx
            .request()?
            .reference()
            .regency(self.0.regency_code())
            .cloned()
            .map(Regency))
    }
    /// The election stage in force where and when it occurred.
    async fn stage(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ElectionStage>> {
        let Some(id) = self.0.stage_id() else {
            return Ok(None);
        };
        Ok(ctx
            .request()?
            .reference()
            .stage(id)
            .cloned()
            .map(ElectionStage))
    }
    /// The code of that stage, e.g. `MASA_TENANG`.
    async fn stage_code(&self) -> Option<&str> {
        self.0.stage_code()
    }
    /// The contest of the region where it occurred, if there is one.
    async fn election(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Election>> {
        let Some(id) = self.0.election_id() else {
            return Ok(None);
        };
        Ok(ctx
            .request()?
            .reference()
            .election(id)
            .cloned()
            .map(Election))
    }
    /// The candidate pairs involved.
    async fn parties(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CandidatePair>> {
        Box::pin(self.resolve_parties(ctx)).await
    }
    /// Agencies the posko assigned to it.
    async fn assigned_agencies(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Agency>> {
        Box::pin(self.resolve_assigned_agencies(ctx)).await
    }
    /// Where it was handed on, oldest first.
    async fn escalations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Escalation>> {
        Box::pin(self.resolve_escalations(ctx)).await
    }
    /// The outcome of a resolution or the reason of a dismissal.
    async fn outcome(&self) -> Option<&str> {
        self.0.outcome()
    }
    /// Who reported it. BAWASLU and ADMIN; POLICE once escalated to the police or Gakkumdu.
    /// Every read is recorded in the access log.
    async fn reporter(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Reporter>> {
        Box::pin(self.resolve_reporter(ctx)).await
    }
    /// The police's intelligence notes. POLICE only, not even ADMIN. Every read is recorded
    /// in the access log.
    async fn intel_notes(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<IntelNote>>> {
        Box::pin(self.resolve_intel_notes(ctx)).await
    }
    /// Bawaslu's classification. KPU, BAWASLU, POLICE and ADMIN.
    async fn violation(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ViolationClass>> {
        Box::pin(self.resolve_violation(ctx)).await
    }
    /// The timeline events this caller may see, oldest first; `last` keeps the newest N.
    /// (For complexity a timeline counts as `last`, or 20 items.)
    // A `last` beyond the largest costs as the largest, so that it is refused as
    // BAD_USER_INPUT naming `last` rather than as QUERY_TOO_COMPLEX.
    #[graphql(
        complexity = "usize::try_from(last.unwrap_or(20).min(MAX_EVENTS_LAST)).unwrap_or(0).max(1).saturating_mul(child_complexity)"
    )]
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Keep only the newest N visible events (0–1000); all when omitted.")]
        last: Option<i32>,
    ) -> async_graphql::Result<PlainList<DisputeEvent>> {
        Box::pin(self.resolve_events(ctx, last))
            .await
            .map(PlainList)
    }
    /// The legal clocks running for it, each with its legal basis (calendar days, or
    /// working days where the law says so). Bawaslu's decision clock is shown
    /// only to roles that read `violation` (it is met by a classification).
    async fn deadlines(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Deadline>> {
        Box::pin(self.resolve_deadlines(ctx)).await
    }
    /// Whether every event's hash matches its content and its predecessor (computed over
    /// the whole timeline, including events this caller cannot see).
    async fn timeline_intact(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Box::pin(self.resolve_timeline_intact(ctx)).await
    }
    /// What this caller may do with this dispute.
    async fn viewer_can(&self, ctx: &Context<'_>) -> async_graphql::Result<ViewerCan> {
        Box::pin(self.resolve_viewer_can(ctx)).await
    }
    /// For a `COUNTING_OBJECTION`, the official count it objects to: its regency's or
    /// city's, else its province's total (round one; null where no count is loaded, and
    /// for other categories).
    async fn official_count(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<RegionResult>> {
        Box::pin(self.resolve_official_count(ctx)).await
    }
}

/// The fields of `Dispute` that are data the visible row holds, for lists answered in one
/// pass (`graphql::plain`); each answers as its resolver above does.
impl PlainObject for Dispute {
    fn graphql_type_name(&self) -> &'static str {
        "Dispute"
    }

    fn plain_field<'a>(
        &'a self,
        name: &str,
        reference: &'a ReferenceSnapshot,
    ) -> Option<Plain<'a>> {
        let dispute = &self.0;
        Some(match name {
            "id" => plain::text(dispute.public_id()),
            "refNo" => plain::text(dispute.ref_no()),
            "title" => plain::text(dispute.title()),
            "description" => plain::text(dispute.description()),
            "category" => plain::enumeration(dispute.category()),
            "severity" => plain::enumeration(dispute.severity()),
            "status" => plain::enumeration(dispute.status()),
            "restricted" => plain::scalar(dispute.restricted()),
            "occurredAt" => plain::scalar(Timestamp::from(dispute.occurred_at())),
            "reportedAt" => plain::scalar(Timestamp::from(dispute.reported_at())),
            "updatedAt" => plain::scalar(Timestamp::from(dispute.updated_at())),
            "version" => plain::scalar(dispute.version()),
            "locationText" => plain::optional_text(dispute.location_text()),
            "districtCode" => plain::optional_text(dispute.district_code()),
            "stageCode" => plain::optional_text(dispute.stage_code()),
            "outcome" => plain::optional_text(dispute.outcome()),
            "province" => Plain::Object(
                reference
                    .province(dispute.province_code())
                    .map(|province| province as &dyn PlainObject),
            ),
            "regency" => Plain::Object(
                reference
                    .regency(dispute.regency_code())
                    .map(|regency| regency as &dyn PlainObject),
            ),
            _ => return None,
        })
    }
}

/// The bodies of `Dispute`'s resolvers that wait on loaders. async-graphql boxes each
/// selected field's `resolve_field` future, which is as large as the largest field's: left
/// inline, these bodies would make every field of every dispute (`id`, `title`…) allocate
/// and move room for the largest of them. Each is awaited behind a box of its own instead.
impl Dispute {
    async fn resolve_parties(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<CandidatePair>> {
        let rc = ctx.request()?;
        let links = loaded(rc.loaders().parties_by_dispute.load_one(self.0.id()).await)?
            .unwrap_or_default();
        let reference = rc.reference();
        Ok(links
            .iter()
            .filter_map(|l| reference.candidate_pair(l.candidate_pair_id))
            .cloned()
            .map(CandidatePair)
            .collect())
    }

    async fn resolve_assigned_agencies(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<Agency>> {
        let rc = ctx.request()?;
        let links = loaded(
            rc.loaders()
                .assignments_by_dispute
                .load_one(self.0.id())
                .await,
        )?
        .unwrap_or_default();
        let reference = rc.reference();
        Ok(links
            .iter()
            .filter_map(|l| reference.agency(&l.agency_code))
            .cloned()
            .map(Agency)
            .collect())
    }

    async fn resolve_escalations(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<Escalation>> {
        let rows = loaded(
            ctx.request()?
                .loaders()
                .escalations_by_dispute
                .load_one(self.0.id())
                .await,
        )?;
        let mut out = Vec::new();
        for row in rows.unwrap_or_default() {
            out.push(Escalation {
                to: row.target,
                reason: row.reason,
                at: row.escalated_at.into(),
            });
        }
        Ok(out)
    }

    async fn resolve_reporter(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Reporter>> {
        let rc = ctx.request()?;
        let facts = self.facts(ctx).await?;
        Ok(projection::reporter(&rc.viewer, &self.0, facts, rc)
            .gql()?
            .map(|r| Reporter {
                kind: r.kind,
                name: r.name,
                contact: r.contact,
            }))
    }

    async fn resolve_intel_notes(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<IntelNote>>> {
        let rc = ctx.request()?;
        let facts = self.facts(ctx).await?;
        let events = self.all_events(ctx).await?;
        let notes = projection::intel_notes(&rc.viewer, &self.0, facts, events, rc).gql()?;
        Ok(Some(
            notes
                .into_iter()
                .map(|n| IntelNote {
                    at: n.at.into(),
                    note: n.note,
                    author_agency: n.author_agency,
                })
                .collect(),
        ))
    }

    async fn resolve_violation(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<ViolationClass>> {
        let facts = self.facts(ctx).await?;
        projection::violation(&ctx.request()?.viewer, &self.0, facts).gql()
    }

    async fn resolve_events(
        &self,
        ctx: &Context<'_>,
        last: Option<i32>,
    ) -> async_graphql::Result<Vec<DisputeEvent>> {
        let keep = match last {
            None => None,
            Some(n) if (0..=MAX_EVENTS_LAST).contains(&n) => usize::try_from(n).ok(),
            Some(_) => {
                return Err(AppError::bad_input(
                    "last",
                    format!("last must be between 0 and {MAX_EVENTS_LAST}"),
                ))
                .gql();
            }
        };
        let rc = ctx.request()?;
        let facts = self.facts(ctx).await?;
        let events = match keep {
            Some(keep) => self.newest_events(ctx, facts, keep).await?,
            None => self.all_events(ctx).await?,
        };
        let mut events = projection::timeline(&rc.viewer, &self.0, facts, events, rc).gql()?;
        if let Some(keep) = keep {
            let skip = events.len().saturating_sub(keep);
            events.drain(..skip);
        }
        let dispute_ref = self.0.public_id();
        Ok(events
            .into_iter()
            .map(|event| DisputeEvent::new(event, dispute_ref))
            .collect())
    }

    async fn resolve_deadlines(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Deadline>> {
        let rc = ctx.request()?;
        let rows = loaded(
            rc.loaders()
                .escalations_by_dispute
                .load_one(self.0.id())
                .await,
        )?;
        let facts = self.facts(ctx).await?;
        Ok(projection::deadlines(
            &rc.viewer,
            &self.0,
            facts,
            &rows.unwrap_or_default(),
            chrono::Utc::now(),
        )
        .into_iter()
        .map(Deadline)
        .collect())
    }

    async fn resolve_timeline_intact(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(timeline::first_broken_link(&self.all_events(ctx).await?).is_none())
    }

    async fn resolve_viewer_can(&self, ctx: &Context<'_>) -> async_graphql::Result<ViewerCan> {
        let viewer = &ctx.request()?.viewer;
        let facts = self.facts(ctx).await?;
        let status = self.0.status();
        let transition_to = policy::transitions_for(viewer, status);
        let moves_to = |to: DisputeStatus| transition_to.contains(&to);
        Ok(ViewerCan {
            read_reporter: policy::can_read(viewer, DisputeField::Reporter, facts),
            read_intel_notes: policy::can_read(viewer, DisputeField::IntelNotes, facts),
            read_violation: policy::can_read(viewer, DisputeField::Violation, facts),
            verify: moves_to(DisputeStatus::Verified) && status == DisputeStatus::Reported,
            start_mediation: moves_to(DisputeStatus::InMediation),
            record_mediation: status == DisputeStatus::InMediation
                && policy::can(viewer, Action::RecordMediation),
            escalate: moves_to(DisputeStatus::Escalated),
            classify_violation: policy::can(viewer, Action::ClassifyViolation),
            add_intel_note: policy::can(viewer, Action::AddIntelNote),
            add_note: policy::can(viewer, Action::AddNote),
            assign_agency: policy::can(viewer, Action::AssignAgency),
            resolve: moves_to(DisputeStatus::Resolved),
            dismiss: moves_to(DisputeStatus::Dismissed),
            reopen: moves_to(DisputeStatus::Verified)
                && matches!(status, DisputeStatus::Resolved | DisputeStatus::Dismissed),
            transition_to,
        })
    }

    async fn resolve_official_count(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<RegionResult>> {
        if self.0.category() != DisputeCategory::CountingObjection {
            return Ok(None);
        }
        for region in [self.0.regency_code(), self.0.province_code()] {
            let rows = results::of_region(ctx, region).await?;
            if let Some(first) = rows.into_iter().find(|r| r.0.round == 1) {
                return Ok(Some(first));
            }
        }
        Ok(None)
    }
}

/// One legal clock of one dispute, with the step of the legal chain it is and the article
/// that sets it.
pub struct Deadline(clocks::Deadline);

/// One legal clock of one dispute, with the step of the legal chain it is and the article
/// that sets it (calendar days unless `workingDays`).
#[Object]
impl Deadline {
    /// Which clock.
    async fn kind(&self) -> DeadlineKind {
        self.0.kind
    }
    /// The step of the legal chain, as `data/dispute_timelines.csv` names it.
    async fn step(&self) -> &str {
        &self.0.step
    }
    /// The article that sets the deadline, e.g. "UU 10/2016 Pasal 157(5)".
    async fn legal_basis(&self) -> &str {
        &self.0.legal_basis
    }
    /// Counted in working days (Monday to Friday, not a national holiday or collective
    /// leave day) rather than calendar days.
    async fn working_days(&self) -> bool {
        self.0.working_days
    }
    /// When the clock runs out.
    async fn due_at(&self) -> Timestamp {
        self.0.due_at.into()
    }
    /// The latest date with the extension the law allows, where there is one.
    async fn extended_due_at(&self) -> Option<Timestamp> {
        self.0.extended_due_at.map(Timestamp)
    }
    /// Whatever the clock asks for has been done.
    async fn met(&self) -> bool {
        self.0.met
    }
    /// Not met, the dispute is still open, and `dueAt` has passed.
    async fn overdue(&self) -> bool {
        self.0.overdue
    }
}

/// The reporter's identity (protected; see `Dispute.reporter`).
#[derive(SimpleObject)]
pub struct Reporter {
    /// Who the reporter is.
    pub kind: ReporterKind,
    /// The reporter's name; null when reported anonymously.
    pub name: Option<String>,
    /// How to reach the reporter (phone or e-mail).
    pub contact: Option<String>,
}

/// An intelligence note of the police.
#[derive(SimpleObject)]
pub struct IntelNote {
    /// When it was written.
    pub at: Timestamp,
    /// The note's text.
    pub note: String,
    /// The code of the police unit that wrote it.
    pub author_agency: Option<String>,
}

/// A hand-over to another body.
#[derive(SimpleObject)]
pub struct Escalation {
    /// The body it was handed to.
    pub to: EscalationTarget,
    /// Why.
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

/// What the caller may do with a dispute, computed from the policy table so frontends need
/// no copy of the rules.
#[derive(SimpleObject)]
pub struct ViewerCan {
    /// May read `reporter`.
    pub read_reporter: bool,
    /// May read `intelNotes`.
    pub read_intel_notes: bool,
    /// May read `violation`.
    pub read_violation: bool,
    /// May call `verifyDispute` now.
    pub verify: bool,
    /// May call `startMediation` now.
    pub start_mediation: bool,
    /// May call `recordMediation` now.
    pub record_mediation: bool,
    /// May call `escalateDispute` now.
    pub escalate: bool,
    /// May call `classifyViolation`.
    pub classify_violation: bool,
    /// May call `addIntelNote`.
    pub add_intel_note: bool,
    /// May call `addNote`.
    pub add_note: bool,
    /// May call `assignAgency` and `unassignAgency`.
    pub assign_agency: bool,
    /// May call `resolveDispute` now.
    pub resolve: bool,
    /// May call `dismissDispute` now.
    pub dismiss: bool,
    /// May call `reopenDispute` now.
    pub reopen: bool,
    /// The statuses the caller may move the dispute to now.
    pub transition_to: Vec<DisputeStatus>,
}

/// The largest `last` of `Dispute.events`.
pub const MAX_EVENTS_LAST: i32 = 1_000;

/// One entry of the append-only timeline, as `projection::timeline` let the caller see it,
/// with the public id of its dispute (for its global id).
pub struct DisputeEvent(VisibleEvent, String);

impl DisputeEvent {
    /// Wraps an event the projection let the caller see, of the dispute with this public id.
    pub fn new(event: VisibleEvent, dispute_ref: &str) -> Self {
        Self(event, dispute_ref.to_owned())
    }

    fn global_id(&self) -> ID {
        node::global_id(Kind::DisputeEvent, &format!("{}:{}", self.1, self.0.key()))
    }
}

/// One entry of a dispute's append-only timeline, as the caller may see it.
#[Object]
impl DisputeEvent {
    /// Globally unique and opaque (Relay `Node`); `node(id:)` answers it again while the
    /// caller may see it. It does not tell the event's place in the timeline.
    pub(crate) async fn id(&self) -> ID {
        self.global_id()
    }
    /// 1, 2, 3… without gaps in the whole timeline (events the caller may not see leave
    /// gaps in what it is shown).
    async fn seq(&self) -> i32 {
        self.0.seq()
    }
    /// What happened, e.g. `VERIFIED`, `ESCALATED`, `NOTE`.
    async fn kind(&self) -> &'static str {
        self.0.kind().as_str()
    }
    /// When it happened.
    async fn at(&self) -> Timestamp {
        self.0.at().into()
    }
    /// The `sub` (user id) of the officer who acted: ADMIN and the acting agency only;
    /// everyone else reads `actorRole` and `actorAgency`.
    async fn actor(&self) -> async_graphql::Result<Option<&str>> {
        match self.0.actor() {
            Some(actor) => Ok(Some(actor)),
            None => Err(AppError::forbidden(
                "only ADMIN and the acting agency read an event's actor",
            ))
            .gql(),
        }
    }
    /// The role the officer acted in.
    async fn actor_role(&self) -> async_graphql::Result<Role> {
        Ok(self.0.actor_role())
    }
    /// The code of the officer's agency, e.g. `BAWASLU_DKI`.
    async fn actor_agency(&self) -> Option<&str> {
        self.0.actor_agency()
    }
    /// The changed fields as JSON: `{"field": [before, after]}`.
    async fn changes(&self) -> Option<&str> {
        self.0.changes()
    }
    /// The note written with it (a note, a reason, a mediation's outcome).
    async fn note(&self) -> Option<&str> {
        self.0.note()
    }
    /// The roles the note was written for; empty when for everyone who sees the dispute.
    async fn audience(&self) -> async_graphql::Result<Vec<Role>> {
        let Some(roles) = self.0.audience() else {
            return Ok(Vec::new());
        };
        roles
            .split(',')
            .map(|r| stored("dispute_event.audience", r.trim()))
            .collect()
    }
    /// SHA-256 over this event, a random salt kept by the server and the previous event's
    /// hash (ADMIN only). The salt makes it useless for confirming a guess of an event's
    /// content; `timelineIntact` says whether the chain holds.
    async fn hash(&self) -> async_graphql::Result<Option<&str>> {
        match self.0.hash() {
            Some(hash) => Ok(Some(hash)),
            None => Err(AppError::forbidden("only ADMIN reads event hashes")).gql(),
        }
    }
}

/// The fields of `DisputeEvent` that are data the visible event holds (`graphql::plain`);
/// `actor`, `audience` and `hash`, which the projection may withhold, are left to their
/// resolvers.
impl PlainObject for DisputeEvent {
    fn graphql_type_name(&self) -> &'static str {
        "DisputeEvent"
    }

    fn plain_field<'a>(&'a self, name: &str, _: &'a ReferenceSnapshot) -> Option<Plain<'a>> {
        let event = &self.0;
        Some(match name {
            "id" => plain::scalar(self.global_id()),
            "seq" => plain::scalar(event.seq()),
            "kind" => plain::text(event.kind().as_str()),
            "at" => plain::scalar(Timestamp::from(event.at())),
            "actorRole" => plain::enumeration(event.actor_role()),
            "actorAgency" => plain::optional_text(event.actor_agency()),
            "changes" => plain::optional_text(event.changes()),
            "note" => plain::optional_text(event.note()),
            _ => return None,
        })
    }
}

pub struct DisputeConnection {
    page_info: PageInfo,
    edges: Vec<DisputeEdge>,
    filter: DisputeFilter,
}

/// A page of disputes: a Relay connection (`edges { cursor node }`, `nodes`, `pageInfo`)
/// with `totalCount`.
#[Object]
impl DisputeConnection {
    /// Whether there are disputes before and after this page, and the cursors to continue
    /// from.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
    /// The page's disputes with their cursors.
    async fn edges(&self) -> PlainList<&DisputeEdge> {
        PlainList(self.edges.iter().collect())
    }
    /// The page's disputes, without cursors.
    async fn nodes(&self) -> PlainList<&Dispute> {
        PlainList(self.edges.iter().map(|edge| &edge.node).collect())
    }
    /// How many disputes match the filter in the caller's scope.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        let rc = ctx.request()?;
        if !policy::stats_scope_is_visible_scope(&rc.viewer) {
            return disputes::count(&rc.db().conn, &rc.viewer, &self.filter)
                .await
                .gql();
        }
        // Shares its query with `disputeStats` over the same filter.
        rc.stats_total(&self.filter).await.gql()
    }
}

pub struct DisputeEdge {
    node: Dispute,
}

impl DisputeEdge {
    /// Made when asked for: a page read for its `nodes` makes only `pageInfo`'s two.
    fn make_cursor(&self) -> String {
        disputes::encode_cursor(self.node.0.public_id())
    }
}

/// One dispute of a page and its cursor.
#[Object]
impl DisputeEdge {
    /// An opaque position: pass it as `after` (or `before`) to continue from this dispute.
    async fn cursor(&self) -> String {
        self.make_cursor()
    }
    /// The dispute.
    async fn node(&self) -> &Dispute {
        &self.node
    }
}

impl PlainObject for DisputeEdge {
    fn graphql_type_name(&self) -> &'static str {
        "DisputeEdge"
    }

    fn plain_field<'a>(&'a self, name: &str, _: &'a ReferenceSnapshot) -> Option<Plain<'a>> {
        Some(match name {
            "cursor" => Plain::Leaf(async_graphql::Value::String(self.make_cursor())),
            "node" => Plain::Object(Some(&self.node)),
            _ => return None,
        })
    }
}

/// Builds a connection page.
pub fn connection(page: disputes::DisputePage, filter: DisputeFilter) -> DisputeConnection {
    let edges: Vec<DisputeEdge> = page
        .rows
        .into_iter()
        .map(|row| DisputeEdge {
            node: Dispute::new(row),
        })
        .collect();
    DisputeConnection {
        page_info: PageInfo {
            has_previous_page: page.has_previous_page,
            has_next_page: page.has_next_page,
            start_cursor: edges.first().map(DisputeEdge::make_cursor),
            end_cursor: edges.last().map(DisputeEdge::make_cursor),
        },
        edges,
        filter,
    }
}

/// A count under one value of a dimension.
#[derive(SimpleObject)]
pub struct Count {
    /// The value (a status, category, severity, province code or stage code; `NONE` when
    /// the dispute has none).
    pub key: String,
    /// How many disputes (for PUBLIC, rounded down to a multiple of k).
    pub count: i64,
}

/// Aggregate counts, each computed only when selected, under the caller's own scope
/// (for PUBLIC: every dispute that is not restricted). Each list is ordered by key.
/// PUBLIC's counts are k-anonymous: each is rounded down to a multiple of k (default 5),
/// a key whose count rounds to 0 is left out, and `total` is the rounded exact total (so it
/// may exceed the sum of the rounded parts).
pub struct DisputeStats {
    filter: DisputeFilter,
    /// Computed now rather than from the request's memo (a subscription's push).
    now: bool,
}

impl DisputeStats {
    pub fn new(filter: DisputeFilter) -> Self {
        Self { filter, now: false }
    }

    /// Statistics for one push of a subscription, computed at resolution.
    pub fn now(filter: DisputeFilter) -> Self {
        Self { filter, now: true }
    }

    async fn counts(
        &self,
        ctx: &Context<'_>,
        dimension: StatsDimension,
    ) -> async_graphql::Result<Vec<(String, i64)>> {
        let rc = ctx.request()?;
        if self.now {
            return rc.published_stats_now(&self.filter, dimension).await.gql();
        }
        rc.published_stats(&self.filter, dimension).await.gql()
    }

    async fn by(
        &self,
        ctx: &Context<'_>,
        dimension: StatsDimension,
    ) -> async_graphql::Result<Vec<Count>> {
        Ok(self
            .counts(ctx, dimension)
            .await?
            .into_iter()
            .map(|(key, count)| Count { key, count })
            .collect())
    }
}

/// Aggregate counts of disputes, each computed only when selected, under the caller's
/// scope (for PUBLIC: every dispute that is not restricted), each list ordered by key.
/// PUBLIC's counts are k-anonymous: rounded down to a multiple of k (default 5), a key whose
/// count rounds to 0 is left out, and `total` is the rounded exact total.
#[Object]
impl DisputeStats {
    /// The sum of `byStatus` (a dispute has exactly one status).
    async fn total(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        let rc = ctx.request()?;
        if self.now {
            return rc.published_total_now(&self.filter).await.gql();
        }
        rc.published_total(&self.filter).await.gql()
    }
    /// Counts by status.
    async fn by_status(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Count>> {
        self.by(ctx, StatsDimension::Status).await
    }
    /// Counts by category.
    async fn by_category(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Count>> {
        self.by(ctx, StatsDimension::Category).await
    }
    /// Counts by severity.
    async fn by_severity(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Count>> {
        self.by(ctx, StatsDimension::Severity).await
    }
    /// Counts by province code.
    async fn by_province(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Count>> {
        self.by(ctx, StatsDimension::Province).await
    }
    /// By the election stage in force when the dispute occurred.
    async fn by_stage(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Count>> {
        self.by(ctx, StatsDimension::Stage).await
    }
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;
    use vocabulary::{ReporterKind, ViolationClass};

    use super::*;

    fn filled_dispute() -> Dispute {
        let at = chrono::Utc::now();
        let text = |value: &str| Some(value.to_owned());
        Dispute::new(VisibleDispute::for_test(entity::dispute::Model {
            id: 1,
            public_id: "d1".into(),
            ref_no: "POSKO-1".into(),
            title: "title".into(),
            description: "description".into(),
            category: DisputeCategory::MoneyPolitics,
            severity: Severity::Critical,
            status: DisputeStatus::Reported,
            province_code: "31".into(),
            regency_code: "31.71".into(),
            district_code: text("31.71.01"),
            location_text: text("TPS 1"),
            election_id: Some(1),
            stage_id: Some(1),
            stage_code: text("KAMPANYE"),
            occurred_at: at,
            reported_at: at,
            updated_at: at,
            restricted: true,
            reporter_name: text("secret name"),
            reporter_contact: text("secret contact"),
            reporter_kind: Some(ReporterKind::CandidatePair),
            violation: Some(ViolationClass::Administrative),
            outcome: text("outcome"),
            reported_by_agency: "BAWASLU_DKI".into(),
            reported_by_sub: "officer".into(),
            idempotency_key: text("key"),
            request_hash: text("hash"),
            version: 1,
        }))
    }

    /// The fields a page answers without resolvers (`graphql::plain`). A field the policy
    /// decides must never be among them: its resolver goes through `projection`.
    const PLAIN: &[&str] = &[
        "id",
        "refNo",
        "title",
        "description",
        "category",
        "severity",
        "status",
        "restricted",
        "occurredAt",
        "reportedAt",
        "updatedAt",
        "version",
        "locationText",
        "districtCode",
        "stageCode",
        "outcome",
        "province",
        "regency",
    ];

    #[test]
    fn only_fields_the_policy_does_not_decide_are_plain() {
        let dispute = filled_dispute();
        let reference = ReferenceSnapshot::default();
        let schema = include_str!("../../../schema.graphql");
        let body = schema
            .split("\ntype Dispute ")
            .nth(1)
            .and_then(|rest| rest.split("\n}").next())
            .expect("schema.graphql declares Dispute");
        let mut fields = Vec::new();
        let mut in_description = false;
        for line in body.lines().skip(1).map(str::trim) {
            if let Some(rest) = line.strip_prefix("\"\"\"") {
                // A one-line description ends on its own line.
                if rest.is_empty() || !rest.ends_with("\"\"\"") {
                    in_description = !in_description;
                }
                continue;
            }
            if in_description {
                continue;
            }
            if let Some((name, _)) = line.split_once([':', '(']) {
                fields.push(name.to_owned());
            }
        }
        assert!(fields.len() > PLAIN.len(), "{fields:?}");
        for field in &fields {
            let plain = dispute.plain_field(field, &reference).is_some();
            assert_eq!(plain, PLAIN.contains(&field.as_str()), "Dispute.{field}");
        }
        for name in PLAIN {
            assert!(
                fields.iter().any(|field| field == name),
                "{name} is a field"
            );
        }
        for field in DisputeField::iter() {
            assert!(
                !PLAIN.contains(&field.as_ref()),
                "{field:?} is decided by policy"
            );
            assert!(dispute.plain_field(field.as_ref(), &reference).is_none());
        }
    }
}
