//! THE authorization policy (CONTRACT.md, Roles). Everything that decides who may see or
//! do what is a row in one of the tables below, read by the resolvers, the domain code and
//! the tests alike. Anything not granted by a row is denied.
//!
//! * `ROLE_AGENCY_KINDS`: which agency kinds a token role may be issued for.
//! * `FIELD_RULES`: which roles read each sensitive dispute field, and under what condition.
//! * `FILTER_RULES`: which roles may filter or order by a dispute attribute.
//! * `ACTION_RULES`: which roles may take each action.
//! * `EVENT_FIELD_RULES`: who reads a timeline event's actor and hash.
//! * `publish_counts`: what PUBLIC statistics show (k-anonymous).
//! * `dispute_scope`: which dispute rows a viewer sees; `visible_disputes` is the only way
//!   the rest of the code reads disputes.
//! * `tally_split`: how statistics divide that scope between the place counters and the
//!   counters of the viewer's own agency, so both together count exactly the disputes
//!   `disputes_for_stats` selects.

use std::hash::{Hash, Hasher};

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, Select};

use entity::{
    dispute, dispute_agency_tally, dispute_assignment, dispute_escalation, dispute_tally,
};

use crate::auth::viewer::{Jurisdiction, Viewer};
use crate::domain::types::{AgencyKind, DisputeStatus, EscalationTarget, EventKind, Role};

/// Which agency kinds each token role fits. A token whose role does not fit its agency's
/// kind is refused (a `POLICE` token for `KPU_DKI` is a 401).
pub const ROLE_AGENCY_KINDS: &[(Role, &[AgencyKind])] = &[
    (Role::Admin, &[AgencyKind::Kesbangpol]),
    (Role::Kpu, &[AgencyKind::Kpu]),
    (Role::Bawaslu, &[AgencyKind::Bawaslu]),
    (Role::Police, &[AgencyKind::Police]),
    (
        Role::Member,
        &[
            AgencyKind::Military,
            AgencyKind::Prosecutor,
            AgencyKind::LocalGovernment,
            AgencyKind::Community,
        ],
    ),
];

/// Whether a token role may be issued for an agency of this kind.
pub fn role_fits_agency(role: Role, kind: AgencyKind) -> bool {
    ROLE_AGENCY_KINDS
        .iter()
        .any(|(r, kinds)| *r == role && kinds.contains(&kind))
}

/// The dispute fields beyond the common ones.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, strum::EnumIter, strum::AsRefStr)]
#[strum(serialize_all = "camelCase")]
pub enum DisputeField {
    /// The reporter's identity (name, contact, kind).
    Reporter,
    /// The police's intelligence notes.
    IntelNotes,
    /// Bawaslu's classification.
    Violation,
}

/// A fact about one dispute that a rule may depend on.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Requires {
    /// No condition.
    Always,
    /// The dispute has been escalated to the police or to Sentra Gakkumdu.
    EscalatedToPoliceOrGakkumdu,
}

/// Who may read each sensitive field (CONTRACT.md, the field table).
pub const FIELD_RULES: &[(DisputeField, Role, Requires)] = &[
    (DisputeField::Reporter, Role::Bawaslu, Requires::Always),
    (DisputeField::Reporter, Role::Admin, Requires::Always),
    (
        DisputeField::Reporter,
        Role::Police,
        Requires::EscalatedToPoliceOrGakkumdu,
    ),
    (DisputeField::IntelNotes, Role::Police, Requires::Always),
    (DisputeField::Violation, Role::Kpu, Requires::Always),
    (DisputeField::Violation, Role::Bawaslu, Requires::Always),
    (DisputeField::Violation, Role::Police, Requires::Always),
    (DisputeField::Violation, Role::Admin, Requires::Always),
];

/// What the field rules need to know about a dispute.
#[derive(Clone, Debug, Default)]
pub struct DisputeFacts {
    /// Every body the dispute has been escalated to.
    pub escalated_to: Vec<EscalationTarget>,
}

impl DisputeFacts {
    fn holds(&self, condition: Requires) -> bool {
        match condition {
            Requires::Always => true,
            Requires::EscalatedToPoliceOrGakkumdu => self
                .escalated_to
                .iter()
                .any(|t| matches!(t, EscalationTarget::Police | EscalationTarget::Gakkumdu)),
        }
    }
}

/// Whether the viewer may read `field` of a dispute it can see.
pub fn can_read(viewer: &Viewer, field: DisputeField, facts: &DisputeFacts) -> bool {
    FIELD_RULES
        .iter()
        .any(|(f, role, condition)| *f == field && *role == viewer.role && facts.holds(*condition))
}

/// Whether the viewer may read `field` on every dispute it sees, whatever the dispute's
/// facts. Filtering, ordering and aggregating by a field need this.
pub fn can_read_always(viewer: &Viewer, field: DisputeField) -> bool {
    FIELD_RULES.iter().any(|(f, role, condition)| {
        *f == field && *role == viewer.role && *condition == Requires::Always
    })
}

/// Attributes a dispute query may filter, order or aggregate by.
#[derive(Copy, Clone, Debug, PartialEq, Eq, strum::EnumIter, strum::AsRefStr)]
#[strum(serialize_all = "camelCase")]
pub enum FilterField {
    Region,
    Status,
    Category,
    Severity,
    OccurredAt,
    ReportedAt,
    Stage,
    /// Free text over title and description, which only members read.
    Search,
    Restricted,
    Violation,
    ReporterKind,
    /// Whether a legal clock is overdue.
    Deadline,
}

/// Which roles may filter or order by each attribute. Statistics are open to `PUBLIC`,
/// so every attribute a public filter could use to single out a dispute's contents is
/// withheld from `PUBLIC`.
pub const FILTER_RULES: &[(FilterField, &[Role])] = &[
    (FilterField::Region, ALL_ROLES),
    (FilterField::Status, ALL_ROLES),
    (FilterField::Category, ALL_ROLES),
    (FilterField::Severity, ALL_ROLES),
    (FilterField::OccurredAt, ALL_ROLES),
    (FilterField::ReportedAt, ALL_ROLES),
    (FilterField::Stage, ALL_ROLES),
    (FilterField::Search, MEMBER_ROLES),
    (FilterField::Restricted, MEMBER_ROLES),
];

const ALL_ROLES: &[Role] = &[
    Role::Public,
    Role::Member,
    Role::Kpu,
    Role::Bawaslu,
    Role::Police,
    Role::Admin,
];
const MEMBER_ROLES: &[Role] = &[
    Role::Member,
    Role::Kpu,
    Role::Bawaslu,
    Role::Police,
    Role::Admin,
];

/// Whether the viewer may filter, order or aggregate by an attribute. The sensitive
/// fields follow `FIELD_RULES` (unconditional reads only).
pub fn can_filter_by(viewer: &Viewer, field: FilterField) -> bool {
    match field {
        FilterField::Violation => can_read_always(viewer, DisputeField::Violation),
        FilterField::ReporterKind => can_read_always(viewer, DisputeField::Reporter),
        // Whether Bawaslu's decision clock is overdue depends on whether it has
        // classified, so the filter is for those who read the classification.
        FilterField::Deadline => can_read_always(viewer, DisputeField::Violation),
        _ => FILTER_RULES
            .iter()
            .any(|(f, roles)| *f == field && roles.contains(&viewer.role)),
    }
}

/// Everything a viewer may do. Workflow actions map to the status they lead to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, strum::EnumIter, strum::AsRefStr)]
#[strum(serialize_all = "camelCase")]
pub enum Action {
    ListDisputes,
    ReportDispute,
    Verify,
    StartMediation,
    RecordMediation,
    Escalate,
    ClassifyViolation,
    AddIntelNote,
    AddNote,
    AssignAgency,
    Resolve,
    Dismiss,
    Reopen,
    ReadAccessLog,
    ManageDirectory,
    EditSchedule,
}

/// Which roles may take each action (on disputes they can see).
pub const ACTION_RULES: &[(Action, &[Role])] = &[
    (Action::ListDisputes, MEMBER_ROLES),
    (Action::ReportDispute, MEMBER_ROLES),
    (Action::Verify, &[Role::Admin, Role::Bawaslu]),
    (Action::StartMediation, &[Role::Admin]),
    (Action::RecordMediation, &[Role::Admin]),
    (Action::Escalate, &[Role::Admin, Role::Bawaslu]),
    (Action::ClassifyViolation, &[Role::Bawaslu]),
    (Action::AddIntelNote, &[Role::Police]),
    (Action::AddNote, MEMBER_ROLES),
    (Action::AssignAgency, &[Role::Admin]),
    (Action::Resolve, &[Role::Admin, Role::Bawaslu]),
    (Action::Dismiss, &[Role::Admin, Role::Bawaslu]),
    (Action::Reopen, &[Role::Admin]),
    (Action::ReadAccessLog, &[Role::Admin]),
    (Action::ManageDirectory, &[Role::Admin]),
    (Action::EditSchedule, &[Role::Kpu]),
];

/// Whether the viewer's role may take an action.
pub fn can(viewer: &Viewer, action: Action) -> bool {
    ACTION_RULES
        .iter()
        .any(|(a, roles)| *a == action && roles.contains(&viewer.role))
}

/// `can`, as a `FORBIDDEN` that names the role and the roles that may (the policy table is
/// public in the README, so this tells a caller nothing it could not read there).
pub fn permit(viewer: &Viewer, action: Action) -> Result<(), crate::error::AppError> {
    if can(viewer, action) {
        return Ok(());
    }
    let allowed = ACTION_RULES
        .iter()
        .find(|(a, _)| *a == action)
        .map(|(_, roles)| {
            roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|roles| !roles.is_empty())
        .unwrap_or_else(|| "none".into());
    Err(crate::error::AppError::forbidden(format!(
        "the role {} may not {}; roles that may: {allowed}",
        viewer.role.as_str(),
        action.describe()
    )))
}

impl Action {
    /// What the action does, as the end of "the role … may not …".
    pub fn describe(self) -> &'static str {
        match self {
            Self::ListDisputes => "list or follow disputes",
            Self::ReportDispute => "report disputes",
            Self::Verify => "verify disputes",
            Self::StartMediation => "start mediation",
            Self::RecordMediation => "record mediation sessions",
            Self::Escalate => "escalate disputes",
            Self::ClassifyViolation => "classify violations",
            Self::AddIntelNote => "add intelligence notes",
            Self::AddNote => "add notes",
            Self::AssignAgency => "assign agencies to disputes",
            Self::Resolve => "resolve disputes",
            Self::Dismiss => "dismiss disputes",
            Self::Reopen => "reopen disputes",
            Self::ReadAccessLog => "read the access log",
            Self::ManageDirectory => "change the agency directory or the posko",
            Self::EditSchedule => "edit election schedules",
        }
    }
}

/// The workflow (REPORTED → VERIFIED → IN_MEDIATION → RESOLVED; any open state →
/// ESCALATED → RESOLVED; REPORTED or VERIFIED → DISMISSED; RESOLVED or DISMISSED →
/// VERIFIED only by reopening), with the action that makes each move. An escalated
/// dispute may be escalated again to another body and stays ESCALATED.
pub const TRANSITIONS: &[(DisputeStatus, DisputeStatus, Action)] = &[
    (
        DisputeStatus::Reported,
        DisputeStatus::Verified,
        Action::Verify,
    ),
    (
        DisputeStatus::Verified,
        DisputeStatus::InMediation,
        Action::StartMediation,
    ),
    (
        DisputeStatus::InMediation,
        DisputeStatus::Resolved,
        Action::Resolve,
    ),
    (
        DisputeStatus::Reported,
        DisputeStatus::Escalated,
        Action::Escalate,
    ),
    (
        DisputeStatus::Verified,
        DisputeStatus::Escalated,
        Action::Escalate,
    ),
    (
        DisputeStatus::InMediation,
        DisputeStatus::Escalated,
        Action::Escalate,
    ),
    (
        DisputeStatus::Escalated,
        DisputeStatus::Escalated,
        Action::Escalate,
    ),
    (
        DisputeStatus::Escalated,
        DisputeStatus::Resolved,
        Action::Resolve,
    ),
    (
        DisputeStatus::Reported,
        DisputeStatus::Dismissed,
        Action::Dismiss,
    ),
    (
        DisputeStatus::Verified,
        DisputeStatus::Dismissed,
        Action::Dismiss,
    ),
    (
        DisputeStatus::Resolved,
        DisputeStatus::Verified,
        Action::Reopen,
    ),
    (
        DisputeStatus::Dismissed,
        DisputeStatus::Verified,
        Action::Reopen,
    ),
];

/// The statuses a dispute in `from` may move to, whoever asks.
pub fn next_statuses(from: DisputeStatus) -> Vec<DisputeStatus> {
    TRANSITIONS
        .iter()
        .filter(|(f, _, _)| *f == from)
        .map(|(_, to, _)| *to)
        .collect()
}

/// The statuses this viewer may move a dispute in `from` to.
pub fn transitions_for(viewer: &Viewer, from: DisputeStatus) -> Vec<DisputeStatus> {
    TRANSITIONS
        .iter()
        .filter(|(f, _, action)| *f == from && can(viewer, *action))
        .map(|(_, to, _)| *to)
        .collect()
}

/// Whether a timeline event is visible to the viewer (on a dispute it can see): its
/// audience must include the viewer's role, and an event that reveals a sensitive field
/// needs that field's read right as well.
pub fn can_read_event(
    viewer: &Viewer,
    kind: EventKind,
    audience: Option<&str>,
    facts: &DisputeFacts,
) -> bool {
    let in_audience = audience.is_none_or(|roles| {
        roles
            .split(',')
            .any(|role| role.trim().parse::<Role>().is_ok_and(|r| r == viewer.role))
    });
    let reveals = match kind {
        EventKind::IntelNote => Some(DisputeField::IntelNotes),
        EventKind::Classified => Some(DisputeField::Violation),
        _ => None,
    };
    in_audience && reveals.is_none_or(|field| can_read(viewer, field, facts))
}

/// Fields of a timeline event that not everyone who sees the event reads.
#[derive(Copy, Clone, Debug, PartialEq, Eq, strum::EnumIter, strum::AsRefStr)]
#[strum(serialize_all = "camelCase")]
pub enum EventField {
    /// The acting officer's own user id (`sub`); everyone sees the role and agency.
    Actor,
    /// The event's hash in the timeline's chain.
    Hash,
}

/// Who, beyond the event's audience, reads an event field.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EventReader {
    /// Every caller of this role.
    Role(Role),
    /// Callers of the agency that acted.
    ActorsAgency,
}

/// Who reads each event field. A hash is served only where it was salted (events written
/// before salts existed have guessable hashes; see `timeline`).
pub const EVENT_FIELD_RULES: &[(EventField, EventReader)] = &[
    (EventField::Actor, EventReader::Role(Role::Admin)),
    (EventField::Actor, EventReader::ActorsAgency),
    (EventField::Hash, EventReader::Role(Role::Admin)),
];

/// Whether the viewer reads `field` of an event it sees.
pub fn can_read_event_field(
    viewer: &Viewer,
    field: EventField,
    event: &entity::dispute_event::Model,
) -> bool {
    if field == EventField::Hash && event.salt.is_none() {
        return false;
    }
    EVENT_FIELD_RULES.iter().any(|(f, reader)| {
        *f == field
            && match reader {
                EventReader::Role(role) => *role == viewer.role,
                EventReader::ActorsAgency => {
                    viewer.agency_code.is_some() && viewer.agency_code == event.actor_agency
                }
            }
    })
}

/// Whether the viewer's statistics are published k-anonymously (`publish_counts`).
pub fn stats_are_k_anonymous(viewer: &Viewer) -> bool {
    viewer.role == Role::Public
}

/// A count as PUBLIC may see it: rounded down to a multiple of `k`. No count between 1 and
/// k-1 is ever shown, and since every published count is a multiple of `k`, the
/// difference of two answers over nested filters is one too: it never pins down a
/// count below `k` (it bounds it within 2k-1 values). Members see exact counts.
pub fn publish_count(viewer: &Viewer, count: u64, k: u64) -> u64 {
    if !stats_are_k_anonymous(viewer) || k <= 1 {
        return count;
    }
    count - count % k
}

/// Counts by key as the viewer may see them: for PUBLIC each rounded by
/// `publish_count`, and keys whose rounded count is 0 dropped (a listed key would say
/// that at least one dispute has it).
pub fn publish_counts(viewer: &Viewer, counts: Vec<(String, i64)>, k: u64) -> Vec<(String, i64)> {
    if !stats_are_k_anonymous(viewer) {
        return counts;
    }
    counts
        .into_iter()
        .filter_map(|(key, count)| {
            let published = publish_count(viewer, u64::try_from(count).unwrap_or(0), k);
            (published > 0).then(|| (key, i64::try_from(published).unwrap_or(i64::MAX)))
        })
        .collect()
}

/// Whether the viewer's date filters must be whole days (PUBLIC: a window of seconds
/// around a known incident would single out one dispute).
pub fn dates_must_be_whole_days(viewer: &Viewer) -> bool {
    viewer.role == Role::Public
}

/// The escalation targets that make a restricted dispute visible to a viewer's agency.
fn escalation_targets(viewer: &Viewer) -> &'static [EscalationTarget] {
    match (viewer.role, viewer.agency_kind()) {
        (Role::Police, _) => &[EscalationTarget::Police, EscalationTarget::Gakkumdu],
        (Role::Bawaslu, _) => &[EscalationTarget::Bawaslu, EscalationTarget::Gakkumdu],
        (Role::Member, Some(AgencyKind::Prosecutor)) => &[EscalationTarget::Gakkumdu],
        _ => &[],
    }
}

fn never() -> Condition {
    Condition::all().add(Expr::val(1).eq(0))
}

/// The columns that place a row in a region: a dispute's, or a statistics counter's.
struct PlaceColumns<C> {
    province: C,
    regency: C,
    district: C,
}

const DISPUTE_PLACE: PlaceColumns<dispute::Column> = PlaceColumns {
    province: dispute::Column::ProvinceCode,
    regency: dispute::Column::RegencyCode,
    district: dispute::Column::DistrictCode,
};

const TALLY_PLACE: PlaceColumns<dispute_tally::Column> = PlaceColumns {
    province: dispute_tally::Column::ProvinceCode,
    regency: dispute_tally::Column::RegencyCode,
    district: dispute_tally::Column::DistrictCode,
};

const AGENCY_TALLY_PLACE: PlaceColumns<dispute_agency_tally::Column> = PlaceColumns {
    province: dispute_agency_tally::Column::ProvinceCode,
    regency: dispute_agency_tally::Column::RegencyCode,
    district: dispute_agency_tally::Column::DistrictCode,
};

fn jurisdiction_over<C: ColumnTrait>(
    jurisdiction: &Jurisdiction,
    place: &PlaceColumns<C>,
) -> Condition {
    match jurisdiction {
        Jurisdiction::Nowhere => never(),
        Jurisdiction::Nationwide => Condition::all(),
        Jurisdiction::Regions(set) => {
            let mut any = Condition::any();
            if !set.provinces.is_empty() {
                any = any.add(place.province.is_in(set.provinces.iter().cloned()));
            }
            if !set.regencies.is_empty() {
                any = any.add(place.regency.is_in(set.regencies.iter().cloned()));
            }
            for (regency, districts) in &set.partial {
                // `IS NOT NULL` keeps the condition false, not unknown, for a dispute
                // without a district, so that `NOT` of it is true.
                any = any.add(
                    Condition::all()
                        .add(place.regency.eq(regency.clone()))
                        .add(place.district.is_not_null())
                        .add(place.district.is_in(districts.iter().cloned())),
                );
            }
            if set.is_empty() { never() } else { any }
        }
    }
}

fn jurisdiction_condition(jurisdiction: &Jurisdiction) -> Condition {
    jurisdiction_over(jurisdiction, &DISPUTE_PLACE)
}

/// The pieces of a viewer's row scope, which `dispute_scope` joins and `tally_split`
/// takes apart.
struct ScopeParts {
    /// Inside the agency's jurisdiction.
    jurisdiction: Condition,
    /// Not restricted, or restricted and open to this viewer (`ADMIN`, or escalated to its
    /// kind of body); `None` when every dispute is (`ADMIN`).
    revealed: Option<Condition>,
    agency: String,
}

fn scope_parts(viewer: &Viewer) -> Option<ScopeParts> {
    let agency = viewer.agency_code.clone()?;
    if viewer.role == Role::Public {
        return None;
    }
    let revealed = if viewer.role == Role::Admin {
        None
    } else {
        let mut revealed = Condition::any().add(dispute::Column::Restricted.eq(false));
        let targets = escalation_targets(viewer);
        if !targets.is_empty() {
            // Correlated EXISTS with `LIMIT 1 OFFSET 0`: the OFFSET keeps PostgreSQL from
            // turning it into a hashed subplan that reads every escalation on each request
            // (12 ms at 200 000 disputes); it probes the (dispute_id, target) index for
            // the few rows that need it instead. SQLite accepts the same clause.
            revealed = revealed.add(Expr::exists(
                Query::select()
                    .expr(Expr::val(1))
                    .limit(1)
                    .offset(0)
                    .from(dispute_escalation::Entity)
                    .and_where(
                        Expr::col((
                            dispute_escalation::Entity,
                            dispute_escalation::Column::DisputeId,
                        ))
                        .equals((dispute::Entity, dispute::Column::Id)),
                    )
                    .and_where(
                        dispute_escalation::Column::Target
                            .is_in(targets.iter().map(|t| t.as_str())),
                    )
                    .to_owned(),
            ));
        }
        Some(revealed)
    };
    Some(ScopeParts {
        jurisdiction: jurisdiction_condition(&viewer.jurisdiction),
        revealed,
        agency,
    })
}

/// The rows a viewer sees: disputes in its jurisdiction that are not restricted, or that
/// are restricted and it is `ADMIN` or its kind of body was escalated to; plus disputes
/// explicitly assigned to its agency or reported by it. `PUBLIC` sees none.
pub fn dispute_scope(viewer: &Viewer) -> Condition {
    let Some(parts) = scope_parts(viewer) else {
        return never();
    };
    let mut inside = Condition::all().add(parts.jurisdiction);
    if let Some(revealed) = parts.revealed {
        inside = inside.add(revealed);
    }
    Condition::any()
        .add(inside)
        .add(Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .limit(1)
                .offset(0)
                .from(dispute_assignment::Entity)
                .and_where(
                    Expr::col((
                        dispute_assignment::Entity,
                        dispute_assignment::Column::DisputeId,
                    ))
                    .equals((dispute::Entity, dispute::Column::Id)),
                )
                .and_where(dispute_assignment::Column::AgencyCode.eq(parts.agency.clone()))
                .to_owned(),
        ))
        // An agency keeps seeing what it reported itself (it knows it already), so a
        // restricted report can be read back and retried.
        .add(dispute::Column::ReportedByAgency.eq(parts.agency))
}

/// Whether the viewer sees a dispute because its agency reported it (the last branch of
/// `dispute_scope`): how a report just written is handed back without reading it again.
pub fn sees_as_reporter(viewer: &Viewer, row: &dispute::Model) -> bool {
    scope_parts(viewer).is_some_and(|parts| row.reported_by_agency == parts.agency)
}

/// Who may be given an answer kept for a viewer (`http::graphql::kept_answers`): every
/// PUBLIC caller, since a caller without a token is always the same viewer; for a token,
/// only a caller that is the same viewer in every respect (`Viewer`'s equality: subject,
/// role, agency, the agency's access and jurisdiction as loaded, the token's expiry), so
/// nothing an answer took from its caller (`me`, a jurisdiction) reaches another, and no
/// caller learns from an answer's time what another asked. Only this module makes one,
/// so no answer can be kept for a wider audience than this rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerAudience(Audience);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Audience {
    Everyone,
    Caller(Viewer),
}

/// Equality compares every field of the viewer (derived); the hash takes only what tells
/// callers apart, so a jurisdiction's region sets are compared on a match (usually one
/// pointer: the agency cache hands out one `Arc`) instead of hashed on every request.
/// Equal audiences have equal subjects, roles, agencies and expiries, so equal hashes.
impl Hash for AnswerAudience {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match &self.0 {
            Audience::Everyone => state.write_u8(0),
            Audience::Caller(viewer) => {
                state.write_u8(1);
                viewer.subject.hash(state);
                viewer.role.hash(state);
                viewer.agency_code.hash(state);
                viewer.expires_at.hash(state);
            }
        }
    }
}

impl AnswerAudience {
    /// Whether every caller without a token is in it.
    pub fn is_everyone(&self) -> bool {
        matches!(self.0, Audience::Everyone)
    }

    /// About how many bytes the audience holds in a key (`Viewer::approximate_bytes`).
    pub fn approximate_bytes(&self) -> usize {
        match &self.0 {
            Audience::Everyone => 0,
            Audience::Caller(viewer) => viewer.approximate_bytes(),
        }
    }

    /// When the audience's only caller stops being able to ask (its token's `exp`).
    pub fn expires_at(&self) -> Option<u64> {
        match &self.0 {
            Audience::Everyone => None,
            Audience::Caller(viewer) => viewer.expires_at,
        }
    }
}

/// The audience of an answer given to this viewer.
pub fn answer_audience(viewer: &Viewer) -> AnswerAudience {
    AnswerAudience(if viewer.role == Role::Public {
        Audience::Everyone
    } else {
        Audience::Caller(viewer.clone())
    })
}

/// The callers one subscription push may be computed for at once
/// (`http::fanout`): the same role of the same agency. Every rule a subscription's fields
/// go through reads the role, the agency or the agency's jurisdiction (looked up by agency
/// code for each change), never the token's subject; what differs per token (its subject,
/// its expiry) stays with each subscriber, whose own reads go to the access log under its
/// own name. Only this module makes one, so sharing cannot widen past the rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SharedAudience {
    role: Role,
    agency: Option<String>,
}

/// The audience whose subscribers may share this viewer's pushes.
pub fn shared_audience(viewer: &Viewer) -> SharedAudience {
    SharedAudience {
        role: viewer.role,
        agency: viewer.agency_code.clone(),
    }
}

/// Disputes as this viewer may see them: the only way the rest of the code reads them.
pub fn visible_disputes(viewer: &Viewer) -> Select<dispute::Entity> {
    dispute::Entity::find().filter(dispute_scope(viewer))
}

/// Whether statistics count exactly the disputes the viewer sees (everyone but `PUBLIC`),
/// so a list's total may be read from its statistics.
pub fn stats_scope_is_visible_scope(viewer: &Viewer) -> bool {
    viewer.role != Role::Public
}

/// The rows statistics are computed over: a member's own scope; for `PUBLIC`, every
/// dispute that is not restricted (aggregates only; see `FILTER_RULES` for what it may
/// filter by).
pub fn disputes_for_stats(viewer: &Viewer) -> Select<dispute::Entity> {
    if !stats_scope_is_visible_scope(viewer) {
        dispute::Entity::find().filter(dispute::Column::Restricted.eq(false))
    } else {
        visible_disputes(viewer)
    }
}

/// The escalation targets that open a restricted dispute to some role
/// (`escalation_targets`), in the order an audience key lists them.
const REVEALING_TARGETS: [EscalationTarget; 3] = [
    EscalationTarget::Bawaslu,
    EscalationTarget::Gakkumdu,
    EscalationTarget::Police,
];

/// Who may count a dispute, as the statistics counters key it: empty for an unrestricted
/// dispute; for a restricted one `restricted` followed by `,TARGET` for each revealing
/// target it was escalated to, in `REVEALING_TARGETS` order (`restricted,BAWASLU,POLICE`).
pub fn tally_audience(restricted: bool, escalated_to: &[EscalationTarget]) -> String {
    if !restricted {
        return String::new();
    }
    let mut key = String::from("restricted");
    for target in REVEALING_TARGETS {
        if escalated_to.contains(&target) {
            key.push(',');
            key.push_str(target.as_str());
        }
    }
    key
}

/// `tally_audience` as SQL over a `dispute` row, for recounting the counters.
pub fn tally_audience_sql() -> String {
    let mut sql = String::from("CASE WHEN dispute.restricted THEN 'restricted'");
    for target in REVEALING_TARGETS {
        let name = target.as_str();
        sql.push_str(&format!(
            " || CASE WHEN EXISTS (SELECT 1 FROM dispute_escalation \
             WHERE dispute_escalation.dispute_id = dispute.id \
             AND dispute_escalation.target = '{name}') THEN ',{name}' ELSE '' END"
        ));
    }
    sql.push_str(" ELSE '' END");
    sql
}

/// Every audience key a viewer whose body is among `targets` may count.
fn audiences_open_to(targets: &[EscalationTarget]) -> Vec<String> {
    let mut keys = vec![String::new()];
    for subset in 1u8..(1 << REVEALING_TARGETS.len()) {
        let chosen: Vec<EscalationTarget> = REVEALING_TARGETS
            .iter()
            .enumerate()
            .filter(|(bit, _)| subset & (1 << bit) != 0)
            .map(|(_, t)| *t)
            .collect();
        if chosen.iter().any(|t| targets.contains(t)) {
            keys.push(tally_audience(true, &chosen));
        }
    }
    keys
}

/// How statistics split a viewer's statistics scope (`disputes_for_stats`) in two
/// disjoint parts, both read from running counters: the disputes inside its jurisdiction
/// that are open to it (unrestricted, or restricted and escalated to its kind of body, or
/// anything for `ADMIN`), from the place counters (`dispute_tally`); and the rest of what
/// it sees (disputes assigned to or reported by its agency that the first part leaves
/// out), from its agency's counters (`dispute_agency_tally`). Both parts test only a
/// counter's key (place and audience), so neither reads a dispute.
pub struct TallySplit {
    /// The place counter rows the viewer counts (a condition on `dispute_tally`).
    pub counted: Condition,
    /// The agency counter rows it counts besides (a condition on `dispute_agency_tally`
    /// naming its agency), or `None` when the first part holds its whole scope.
    pub linked: Option<Condition>,
}

/// The split for a viewer. `filter_within_jurisdiction` says the statistics are already
/// limited to places inside the viewer's jurisdiction (see `within_jurisdiction`), so no
/// dispute outside it needs looking for.
pub fn tally_split(viewer: &Viewer, filter_within_jurisdiction: bool) -> TallySplit {
    if !stats_scope_is_visible_scope(viewer) {
        // PUBLIC counts every unrestricted dispute (`disputes_for_stats`), all counted.
        return TallySplit {
            counted: Condition::all().add(dispute_tally::Column::Audience.eq("")),
            linked: None,
        };
    }
    let Some(parts) = scope_parts(viewer) else {
        return TallySplit {
            counted: never(),
            linked: None,
        };
    };
    // `revealed` of the scope, over a counter's audience instead of a dispute's row.
    let open_audiences = parts
        .revealed
        .is_some()
        .then(|| audiences_open_to(escalation_targets(viewer)));
    let mut counted = Condition::all().add(jurisdiction_over(&viewer.jurisdiction, &TALLY_PLACE));
    if let Some(open) = &open_audiences {
        counted = counted.add(dispute_tally::Column::Audience.is_in(open.clone()));
    }
    // The scope is (inside ∧ revealed) ∨ assigned ∨ own; the place counters hold the first
    // term, so the agency's counters add what is assigned or own and not in the first.
    let outside_too =
        !filter_within_jurisdiction && *viewer.jurisdiction != Jurisdiction::Nationwide;
    let inside = jurisdiction_over(&viewer.jurisdiction, &AGENCY_TALLY_PLACE);
    let not_counted = match (open_audiences, outside_too) {
        (None, false) => {
            return TallySplit {
                counted,
                linked: None,
            };
        }
        (None, true) => inside.not(),
        (Some(open), false) => {
            Condition::all().add(dispute_agency_tally::Column::Audience.is_not_in(open))
        }
        (Some(open), true) => Condition::all()
            .add(inside)
            .add(dispute_agency_tally::Column::Audience.is_in(open))
            .not(),
    };
    TallySplit {
        counted,
        linked: Some(
            Condition::all()
                .add(dispute_agency_tally::Column::AgencyCode.eq(parts.agency))
                .add(not_counted),
        ),
    }
}

/// Whether every dispute matching these region filters (provinces and regencies, both
/// required when both are given) lies inside the viewer's jurisdiction. `false` when it
/// cannot tell, which only costs speed.
pub fn within_jurisdiction(
    viewer: &Viewer,
    provinces: Option<&[String]>,
    regencies: Option<&[String]>,
) -> bool {
    match viewer.jurisdiction.as_ref() {
        Jurisdiction::Nationwide => true,
        Jurisdiction::Nowhere => false,
        Jurisdiction::Regions(set) => {
            provinces.is_some_and(|codes| {
                codes.iter().all(|c| {
                    set.provinces.contains(c) || set.provinces_covered_by_regencies.contains(c)
                })
            }) || regencies.is_some_and(|codes| codes.iter().all(|c| set.regencies.contains(c)))
        }
    }
}

/// The access-log rows an `ADMIN` may list: reads of disputes in its jurisdiction. Other
/// roles see none (see `Action::ReadAccessLog`).
pub fn access_log_scope(viewer: &Viewer) -> Condition {
    use entity::access_log;
    if !can(viewer, Action::ReadAccessLog) {
        return never();
    }
    match viewer.jurisdiction.as_ref() {
        Jurisdiction::Nowhere => never(),
        Jurisdiction::Nationwide => Condition::all(),
        Jurisdiction::Regions(set) => {
            // Whole provinces and whole regencies only: a PARTIAL grant does not extend
            // to the audit of the rest of that regency.
            let mut any = Condition::any().add(never());
            if !set.provinces.is_empty() {
                any =
                    any.add(access_log::Column::ProvinceCode.is_in(set.provinces.iter().cloned()));
            }
            if !set.regencies.is_empty() {
                any = any.add(access_log::Column::RegencyCode.is_in(set.regencies.iter().cloned()));
            }
            any
        }
    }
}

/// Whether a jurisdiction covers a place (a PARTIAL regency only in its listed districts).
pub fn covers(
    jurisdiction: &Jurisdiction,
    province: &str,
    regency: &str,
    district: Option<&str>,
) -> bool {
    match jurisdiction {
        Jurisdiction::Nowhere => false,
        Jurisdiction::Nationwide => true,
        Jurisdiction::Regions(set) => {
            set.provinces.contains(province)
                || set.regencies.contains(regency)
                || district
                    .is_some_and(|d| set.partial.get(regency).is_some_and(|ds| ds.contains(d)))
        }
    }
}

/// Whether the viewer's jurisdiction holds a whole province (or the country): what
/// managing a province's directory or scheduling its governor's election needs.
pub fn covers_whole_province(viewer: &Viewer, province: &str) -> bool {
    match viewer.jurisdiction.as_ref() {
        Jurisdiction::Nationwide => true,
        Jurisdiction::Regions(set) => set.provinces.contains(province),
        Jurisdiction::Nowhere => false,
    }
}

/// Whether the viewer manages the directory of a region: a regency inside its
/// jurisdiction, or a whole province it holds. ADMIN's directory edits touch only such
/// rows.
pub fn manages_region(viewer: &Viewer, province: &str, regency: Option<&str>) -> bool {
    match regency {
        Some(regency) => covers(&viewer.jurisdiction, province, regency, None),
        None => covers_whole_province(viewer, province),
    }
}

/// Whether the viewer's agency covers the whole country (a national body may edit the
/// national schedule).
pub fn covers_whole_country(viewer: &Viewer) -> bool {
    *viewer.jurisdiction == Jurisdiction::Nationwide
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn officer() -> Viewer {
        let mut viewer = Viewer::public();
        viewer.role = Role::Police;
        viewer.agency_code = Some("POLDA_METRO_JAYA".into());
        viewer.subject = Some("officer-a".into());
        viewer.expires_at = Some(100);
        viewer
    }

    #[test]
    fn an_answer_kept_for_a_caller_is_for_that_same_viewer_alone() {
        let caller = officer();
        assert_eq!(answer_audience(&caller), answer_audience(&caller.clone()));
        type Change = fn(&mut Viewer);
        let differences: [(&str, Change); 5] = [
            ("subject", |v| v.subject = Some("officer-b".into())),
            ("role", |v| v.role = Role::Kpu),
            ("agency", |v| v.agency_code = Some("POLDA_BANTEN".into())),
            ("jurisdiction", |v| {
                v.jurisdiction = Arc::new(Jurisdiction::Nationwide)
            }),
            ("expiry", |v| v.expires_at = Some(101)),
        ];
        for (difference, change) in differences {
            let mut other = caller.clone();
            change(&mut other);
            assert_ne!(
                answer_audience(&caller),
                answer_audience(&other),
                "{difference}"
            );
            // Two keys even where the hash does not tell them apart (the jurisdiction).
            let keys: std::collections::HashSet<_> =
                [answer_audience(&caller), answer_audience(&other)].into();
            assert_eq!(keys.len(), 2, "{difference}");
        }
        let hash = |audience: &AnswerAudience| {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            audience.hash(&mut hasher);
            hasher.finish()
        };
        assert_eq!(
            hash(&answer_audience(&caller)),
            hash(&answer_audience(&caller.clone()))
        );
        assert!(!answer_audience(&caller).is_everyone());
        assert_eq!(answer_audience(&caller).expires_at(), Some(100));
        assert!(answer_audience(&Viewer::public()).is_everyone());
        assert_eq!(answer_audience(&Viewer::public()).expires_at(), None);
    }
}
