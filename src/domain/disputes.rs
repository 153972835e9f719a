//! Reading disputes. Every read goes through `policy::visible_disputes` (or
//! `policy::stats_scope` for aggregates), and every filter and ordering is checked against
//! `policy::can_filter_by` first, so lists, counts, cursors and statistics agree with the
//! policy and with each other.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use entity::dispute;
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait, Func, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, Order, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::auth::policy::{self, Action, DisputeFacts, FilterField};
use crate::auth::viewer::Viewer;
use crate::db::dispute_rows::{DisputeRow, DisputeWithEscalations, ESCALATED_TO};
use crate::domain::paging::{self, PageRequest};
use crate::domain::tally;
use crate::domain::types::{
    DisputeCategory, DisputeStatus, ReporterKind, Severity, ViolationClass, parse_stored,
};
use crate::domain::visible::VisibleDispute;
use crate::error::{AppError, AppResult};

/// Longest free-text search accepted.
pub const MAX_SEARCH_CHARS: usize = 200;

/// What a dispute list or statistic is restricted to.
#[derive(Clone, Debug, Default)]
pub struct DisputeFilter {
    pub province_codes: Option<Vec<String>>,
    pub regency_codes: Option<Vec<String>>,
    pub statuses: Option<Vec<DisputeStatus>>,
    pub categories: Option<Vec<DisputeCategory>>,
    pub severities: Option<Vec<Severity>>,
    pub occurred_from: Option<DateTime<Utc>>,
    pub occurred_to: Option<DateTime<Utc>>,
    pub reported_from: Option<DateTime<Utc>>,
    pub reported_to: Option<DateTime<Utc>>,
    /// Words searched in title and description.
    pub search: Option<String>,
    pub restricted: Option<bool>,
    /// The election stage in force when the dispute occurred (e.g. `MASA_TENANG`).
    pub stage_codes: Option<Vec<String>>,
    pub violations: Option<Vec<ViolationClass>>,
    pub reporter_kinds: Option<Vec<ReporterKind>>,
    /// Disputes with (true) or without (false) an overdue legal clock.
    pub overdue: Option<bool>,
}

/// What a list can be ordered by.
#[derive(Copy, Clone, Debug, PartialEq, Eq, async_graphql::Enum)]
pub enum DisputeOrderField {
    /// When it was reported to the posko.
    ReportedAt,
    /// When it happened.
    OccurredAt,
    /// LOW < MEDIUM < HIGH < CRITICAL.
    Severity,
    /// In workflow order: REPORTED < VERIFIED < IN_MEDIATION < ESCALATED < RESOLVED < DISMISSED.
    Status,
}

/// Ascending or descending.
#[derive(Copy, Clone, Debug, PartialEq, Eq, async_graphql::Enum)]
pub enum OrderDirection {
    /// Smallest (or earliest) first.
    Asc,
    /// Largest (or latest) first.
    Desc,
}

/// A list's ordering; ties are broken by id in the same direction.
#[derive(Copy, Clone, Debug)]
pub struct DisputeOrder {
    pub field: DisputeOrderField,
    pub direction: OrderDirection,
}

impl Default for DisputeOrder {
    fn default() -> Self {
        Self {
            field: DisputeOrderField::ReportedAt,
            direction: OrderDirection::Desc,
        }
    }
}

impl DisputeFilter {
    fn used_fields(&self) -> Vec<FilterField> {
        let mut used = Vec::new();
        let mut mark = |present: bool, field| {
            if present {
                used.push(field);
            }
        };
        mark(
            self.province_codes.is_some() || self.regency_codes.is_some(),
            FilterField::Region,
        );
        mark(self.statuses.is_some(), FilterField::Status);
        mark(self.categories.is_some(), FilterField::Category);
        mark(self.severities.is_some(), FilterField::Severity);
        mark(
            self.occurred_from.is_some() || self.occurred_to.is_some(),
            FilterField::OccurredAt,
        );
        mark(
            self.reported_from.is_some() || self.reported_to.is_some(),
            FilterField::ReportedAt,
        );
        mark(self.search.is_some(), FilterField::Search);
        mark(self.restricted.is_some(), FilterField::Restricted);
        mark(self.stage_codes.is_some(), FilterField::Stage);
        mark(self.violations.is_some(), FilterField::Violation);
        mark(self.reporter_kinds.is_some(), FilterField::ReporterKind);
        mark(self.overdue.is_some(), FilterField::Deadline);
        used
    }

    /// Whether the filter names nothing but places, so the running counters can answer
    /// statistics over it (`tally::counts`).
    pub fn only_places(&self) -> bool {
        self.used_fields()
            .into_iter()
            .all(|field| field == FilterField::Region)
    }

    /// FORBIDDEN when the filter uses an attribute the viewer may not read; BAD_USER_INPUT
    /// for a malformed value.
    pub fn check(&self, viewer: &Viewer) -> AppResult<()> {
        if self
            .used_fields()
            .into_iter()
            .any(|f| !policy::can_filter_by(viewer, f))
        {
            return Err(AppError::forbidden(
                "the role may not filter or order by a field it may not read (the overdue filter needs `violation`)",
            ));
        }
        if policy::dates_must_be_whole_days(viewer) {
            for (field, instant) in [
                ("filter.occurredFrom", self.occurred_from),
                ("filter.occurredTo", self.occurred_to),
                ("filter.reportedFrom", self.reported_from),
                ("filter.reportedTo", self.reported_to),
            ] {
                if instant.is_some_and(|at| at.time() != chrono::NaiveTime::MIN) {
                    return Err(AppError::bad_input(
                        field,
                        "public statistics take whole days: midnight UTC, e.g. 2024-11-19T00:00:00Z",
                    ));
                }
            }
        }
        if let Some(search) = &self.search {
            if search.trim().is_empty() {
                return Err(AppError::bad_input("filter.search", "search text is empty"));
            }
            if search.chars().count() > MAX_SEARCH_CHARS {
                return Err(AppError::bad_input(
                    "filter.search",
                    format!("search text is longer than {MAX_SEARCH_CHARS} characters"),
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn condition(&self) -> Condition {
        fn names<T: Copy>(values: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
            values.iter().map(|v| name(*v)).collect()
        }
        let mut all = Condition::all();
        if let Some(codes) = &self.province_codes {
            all = all.add(dispute::Column::ProvinceCode.is_in(codes.clone()));
        }
        if let Some(codes) = &self.regency_codes {
            all = all.add(dispute::Column::RegencyCode.is_in(codes.clone()));
        }
        if let Some(values) = &self.statuses {
            all = all.add(dispute::Column::Status.is_in(names(values, DisputeStatus::as_str)));
        }
        if let Some(values) = &self.categories {
            all = all.add(dispute::Column::Category.is_in(names(values, DisputeCategory::as_str)));
        }
        if let Some(values) = &self.severities {
            all = all.add(dispute::Column::Severity.is_in(names(values, Severity::as_str)));
        }
        if let Some(values) = &self.violations {
            all = all.add(dispute::Column::Violation.is_in(names(values, ViolationClass::as_str)));
        }
        if let Some(values) = &self.reporter_kinds {
            all = all.add(dispute::Column::ReporterKind.is_in(names(values, ReporterKind::as_str)));
        }
        if let Some(codes) = &self.stage_codes {
            all = all.add(dispute::Column::StageCode.is_in(codes.clone()));
        }
        if let Some(from) = self.occurred_from {
            all = all.add(dispute::Column::OccurredAt.gte(from));
        }
        if let Some(to) = self.occurred_to {
            all = all.add(dispute::Column::OccurredAt.lt(to));
        }
        if let Some(from) = self.reported_from {
            all = all.add(dispute::Column::ReportedAt.gte(from));
        }
        if let Some(to) = self.reported_to {
            all = all.add(dispute::Column::ReportedAt.lt(to));
        }
        if let Some(overdue) = self.overdue {
            let condition = crate::domain::clocks::overdue_condition(chrono::Utc::now());
            all = all.add(if overdue { condition } else { condition.not() });
        }
        if let Some(restricted) = self.restricted {
            all = all.add(dispute::Column::Restricted.eq(restricted));
        }
        if let Some(search) = &self.search {
            let pattern = format!("%{}%", escape_like(&search.trim().to_lowercase()));
            let like = |column: dispute::Column| {
                Expr::expr(Func::lower(Expr::col(column)))
                    .like(sea_orm::sea_query::LikeExpr::new(pattern.clone()).escape('\\'))
            };
            all = all.add(
                Condition::any()
                    .add(like(dispute::Column::Title))
                    .add(like(dispute::Column::Description)),
            );
        }
        all
    }
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn rank_case(column: dispute::Column, values: &[&'static str]) -> SimpleExpr {
    let mut case = CaseStatement::new();
    for (rank, value) in values.iter().enumerate() {
        case = case.case(Expr::col(column).eq(*value), Expr::val(rank as i32));
    }
    case.finally(Expr::val(values.len() as i32)).into()
}

const SEVERITY_ORDER: &[&str] = &["LOW", "MEDIUM", "HIGH", "CRITICAL"];
const STATUS_ORDER: &[&str] = &[
    "REPORTED",
    "VERIFIED",
    "IN_MEDIATION",
    "ESCALATED",
    "RESOLVED",
    "DISMISSED",
];

fn rank_of(values: &[&str], value: &str) -> i32 {
    values
        .iter()
        .position(|v| *v == value)
        .unwrap_or(values.len()) as i32
}

impl DisputeOrder {
    fn key(self) -> SimpleExpr {
        match self.field {
            DisputeOrderField::ReportedAt => Expr::col(dispute::Column::ReportedAt),
            DisputeOrderField::OccurredAt => Expr::col(dispute::Column::OccurredAt),
            DisputeOrderField::Severity => rank_case(dispute::Column::Severity, SEVERITY_ORDER),
            DisputeOrderField::Status => rank_case(dispute::Column::Status, STATUS_ORDER),
        }
    }

    fn anchor_value(self, anchor: &dispute::Model) -> sea_orm::Value {
        match self.field {
            DisputeOrderField::ReportedAt => anchor.reported_at.into(),
            DisputeOrderField::OccurredAt => anchor.occurred_at.into(),
            DisputeOrderField::Severity => rank_of(SEVERITY_ORDER, anchor.severity.as_str()).into(),
            DisputeOrderField::Status => rank_of(STATUS_ORDER, anchor.status.as_str()).into(),
        }
    }

    /// The same key, the other way round.
    fn reversed(self) -> Self {
        Self {
            direction: match self.direction {
                OrderDirection::Asc => OrderDirection::Desc,
                OrderDirection::Desc => OrderDirection::Asc,
            },
            ..self
        }
    }

    /// Rows strictly after the anchor in this order.
    fn after(self, anchor: &dispute::Model) -> Condition {
        let value = self.anchor_value(anchor);
        let (beyond, beyond_id) = match self.direction {
            OrderDirection::Desc => (
                Expr::expr(self.key()).lt(value.clone()),
                Expr::col(dispute::Column::Id).lt(anchor.id),
            ),
            OrderDirection::Asc => (
                Expr::expr(self.key()).gt(value.clone()),
                Expr::col(dispute::Column::Id).gt(anchor.id),
            ),
        };
        Condition::any().add(beyond).add(
            Condition::all()
                .add(Expr::expr(self.key()).eq(value))
                .add(beyond_id),
        )
    }

    fn sea_order(self) -> Order {
        match self.direction {
            OrderDirection::Asc => Order::Asc,
            OrderDirection::Desc => Order::Desc,
        }
    }
}

/// A new public id: 128 random bits, hex. Clients only ever see this id, never the row's
/// serial one, so they cannot count the disputes between two of their own.
pub fn new_public_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// An opaque cursor: it names a row by its public id only, never by any field value.
/// Continuing from it re-reads that row through the viewer's scope.
pub fn encode_cursor(public_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("dispute:{public_id}"))
}

fn decode_cursor(argument: &'static str, cursor: &str) -> AppResult<String> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("dispute:").map(str::to_owned))
        .ok_or_else(|| AppError::bad_input(argument, "invalid cursor"))
}

/// The row a cursor names, re-read through the viewer's scope: a cursor of a dispute the
/// viewer no longer sees is as invalid as a forged one.
async fn anchor<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    argument: &'static str,
    cursor: &str,
) -> AppResult<dispute::Model> {
    let public_id = decode_cursor(argument, cursor)?;
    policy::visible_disputes(viewer)
        .filter(dispute::Column::PublicId.eq(public_id))
        .into_model::<DisputeRow>()
        .one(db)
        .await?
        .map(DisputeRow::into_model)
        .ok_or_else(|| AppError::bad_input(argument, "invalid cursor"))
}

/// One page of a dispute list.
pub struct DisputePage {
    pub rows: Vec<VisibleDispute>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

/// A page of the disputes the viewer sees, filtered and ordered.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    filter: &DisputeFilter,
    order: DisputeOrder,
    page: &PageRequest,
) -> AppResult<DisputePage> {
    policy::permit(viewer, Action::ListDisputes)?;
    filter.check(viewer)?;
    let size = page.size()?;
    let mut select = policy::visible_disputes(viewer).filter(filter.condition());
    if let Some(cursor) = &page.after {
        let anchor = anchor(db, viewer, "after", cursor).await?;
        select = select.filter(order.after(&anchor));
    }
    if let Some(cursor) = &page.before {
        let anchor = anchor(db, viewer, "before", cursor).await?;
        select = select.filter(order.reversed().after(&anchor));
    }
    // A page taken from the end is read in the reverse order, then turned back.
    let read_order = if size.from_end {
        order.reversed()
    } else {
        order
    };
    let rows = select
        .order_by(read_order.key(), read_order.sea_order())
        .order_by(dispute::Column::Id, read_order.sea_order())
        .limit(size.limit + 1)
        .into_model::<DisputeRow>()
        .all(db)
        .await?;
    let (rows, has_previous_page, has_next_page) = paging::settle(rows, size, page);
    Ok(DisputePage {
        rows: rows
            .into_iter()
            .map(|row| VisibleDispute::new(row.into_model()))
            .collect(),
        has_next_page,
        has_previous_page,
    })
}

/// How many disputes the viewer sees under the filter, counted live (the GraphQL layer
/// sums `stats` by status instead wherever the two scopes agree, to share its query).
pub async fn count<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    filter: &DisputeFilter,
) -> AppResult<u64> {
    filter.check(viewer)?;
    Ok(policy::visible_disputes(viewer)
        .filter(filter.condition())
        .count(db)
        .await?)
}

/// One dispute the viewer sees, by the public id a client holds, with the facts its field
/// rules need. Missing, malformed and out of scope are the same `NOT_FOUND`. One statement:
/// the bodies it was escalated to ride on its row as an aggregate, instead of a second
/// round trip for its escalations (`dispute(id:)` with its timeline or a sensitive field).
pub async fn get_with_facts_by_ref<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    public_id: &str,
) -> AppResult<(VisibleDispute, DisputeFacts)> {
    if !is_public_id(public_id) {
        return Err(AppError::NotFound);
    }
    let targets = match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            "(SELECT string_agg(e.target, ',') FROM dispute_escalation e \
             WHERE e.dispute_id = \"dispute\".\"id\")"
        }
        _ => {
            "(SELECT group_concat(e.target, ',') FROM dispute_escalation e \
             WHERE e.dispute_id = \"dispute\".\"id\")"
        }
    };
    let found = policy::visible_disputes(viewer)
        .filter(dispute::Column::PublicId.eq(public_id))
        .column_as(Expr::cust(targets), ESCALATED_TO)
        .into_model::<DisputeWithEscalations>()
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut escalated_to = Vec::new();
    for target in found.escalated_to.as_deref().unwrap_or_default().split(',') {
        if !target.is_empty() {
            escalated_to.push(
                parse_stored("dispute_escalation.target", target)
                    .map_err(|err| AppError::Internal(err.into()))?,
            );
        }
    }
    Ok((
        VisibleDispute::new(found.row.into_model()),
        DisputeFacts { escalated_to },
    ))
}

/// The dispute a change notification names, if the viewer sees it and it matches the
/// filter (a subscription's). The row id comes from the server's own notification, never
/// from a client.
pub async fn changed<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    filter: &DisputeFilter,
    row: i32,
) -> AppResult<Option<VisibleDispute>> {
    Ok(policy::visible_disputes(viewer)
        .filter(filter.condition())
        .filter(dispute::Column::Id.eq(row))
        .into_model::<DisputeRow>()
        .one(db)
        .await?
        .map(|row| VisibleDispute::new(row.into_model())))
}

/// Whether a text has the form of a dispute's public id (32 hex digits).
pub fn is_public_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The row of a dispute the viewer sees, by its public id, for the domain's own writes.
pub(in crate::domain) async fn row_by_ref<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    public_id: &str,
) -> AppResult<dispute::Model> {
    if !is_public_id(public_id) {
        return Err(AppError::NotFound);
    }
    policy::visible_disputes(viewer)
        .filter(dispute::Column::PublicId.eq(public_id))
        .into_model::<DisputeRow>()
        .one(db)
        .await?
        .map(DisputeRow::into_model)
        .ok_or(AppError::NotFound)
}

/// What statistics can be grouped by.
#[derive(Copy, Clone, Debug)]
pub enum StatsDimension {
    Status,
    Category,
    Severity,
    Province,
    Stage,
}

impl StatsDimension {
    /// The dispute column holding the value grouped by.
    pub(crate) fn column(self) -> dispute::Column {
        match self {
            Self::Status => dispute::Column::Status,
            Self::Category => dispute::Column::Category,
            Self::Severity => dispute::Column::Severity,
            Self::Province => dispute::Column::ProvinceCode,
            Self::Stage => dispute::Column::StageCode,
        }
    }
}

/// Counts of the disputes in the viewer's statistics scope, grouped by one dimension,
/// ordered by key (`NONE` for disputes without a value).
pub async fn stats<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    filter: &DisputeFilter,
    dimension: StatsDimension,
) -> AppResult<Vec<(String, i64)>> {
    filter.check(viewer)?;
    let mut counts: Vec<(String, i64)> = if filter.only_places() {
        tally::counts(db, viewer, filter, dimension)
            .await?
            .into_iter()
            .map(|(key, count)| (none_if_empty(key), count))
            .collect()
    } else {
        let column = dimension.column();
        let rows: Vec<(Option<String>, i64)> = policy::disputes_for_stats(viewer)
            .filter(filter.condition())
            .select_only()
            .column(column)
            .column_as(Expr::col(dispute::Column::Id).count(), "count")
            .group_by(column)
            .into_tuple()
            .all(db)
            .await?;
        rows.into_iter()
            .map(|(key, count)| (key.unwrap_or_else(|| "NONE".to_owned()), count))
            .collect()
    };
    // Ordered here rather than in SQL, where the backends disagree on where NULL goes.
    counts.sort();
    Ok(counts)
}

fn none_if_empty(key: String) -> String {
    if key.is_empty() {
        "NONE".to_owned()
    } else {
        key
    }
}
