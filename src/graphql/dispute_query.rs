//! Dispute reads, `me` and the access log.

use async_graphql::{Context, ID, InputObject, Object};

use crate::auth::policy::DisputeField;
use crate::domain::audit::{self, AccessLogFilter};
use crate::domain::disputes::{
    self, DisputeFilter, DisputeOrder, DisputeOrderField, OrderDirection,
};
use crate::domain::paging::PageRequest;
use crate::domain::types::{
    DisputeCategory, DisputeStatus, ReporterKind, Severity, ViolationClass,
};
use crate::error::IntoGql;
use crate::graphql::context::ContextExt;
use crate::graphql::scalars::Timestamp;
use crate::graphql::types::dispute::{
    self as dispute_type, Dispute, DisputeConnection, DisputeStats,
};
use crate::graphql::types::viewer::{AccessLogConnection, Me, access_log_connection};

/// Filters of dispute lists and statistics. Filters on fields the caller may not read are
/// FORBIDDEN (e.g. `search` and `restricted` for PUBLIC, `violations` for MEMBER).
#[derive(InputObject, Default)]
pub struct DisputeFilterInput {
    /// Only disputes in these provinces (Kemendagri codes such as `"31"`).
    pub province_codes: Option<Vec<String>>,
    /// Only disputes in these regencies/cities (codes such as `"31.71"`).
    pub regency_codes: Option<Vec<String>>,
    /// Only disputes in one of these statuses.
    pub statuses: Option<Vec<DisputeStatus>>,
    /// Only disputes of one of these categories.
    pub categories: Option<Vec<DisputeCategory>>,
    /// Only disputes of one of these severities.
    pub severities: Option<Vec<Severity>>,
    /// Occurred from this instant (inclusive).
    pub occurred_from: Option<Timestamp>,
    /// Occurred before this instant (exclusive).
    pub occurred_to: Option<Timestamp>,
    /// Reported from this instant (inclusive).
    pub reported_from: Option<Timestamp>,
    /// Reported before this instant (exclusive).
    pub reported_to: Option<Timestamp>,
    /// Case-insensitive text in the title or description (at most 200 characters).
    pub search: Option<String>,
    /// Only restricted (true) or only unrestricted (false) disputes.
    pub restricted: Option<bool>,
    /// The election stage in force when the dispute occurred, e.g. `MASA_TENANG`.
    pub stage_codes: Option<Vec<String>>,
    /// Only disputes Bawaslu classified as one of these.
    pub violations: Option<Vec<ViolationClass>>,
    /// Only disputes brought by one of these kinds of reporter.
    pub reporter_kinds: Option<Vec<ReporterKind>>,
    /// Only disputes with (true) or without (false) an overdue legal clock.
    pub overdue: Option<bool>,
}

impl From<DisputeFilterInput> for DisputeFilter {
    fn from(input: DisputeFilterInput) -> Self {
        Self {
            province_codes: input.province_codes,
            regency_codes: input.regency_codes,
            statuses: input.statuses,
            categories: input.categories,
            severities: input.severities,
            occurred_from: input.occurred_from.map(|at| at.0),
            occurred_to: input.occurred_to.map(|at| at.0),
            reported_from: input.reported_from.map(|at| at.0),
            reported_to: input.reported_to.map(|at| at.0),
            search: input.search,
            restricted: input.restricted,
            stage_codes: input.stage_codes,
            violations: input.violations,
            reporter_kinds: input.reporter_kinds,
            overdue: input.overdue,
        }
    }
}

/// How to order a dispute list (default: newest report first).
#[derive(InputObject)]
pub struct DisputeOrderInput {
    /// What to order by (ties are broken by an internal order, stable across pages).
    #[graphql(default_with = "DisputeOrderField::ReportedAt")]
    pub field: DisputeOrderField,
    /// Ascending or descending.
    #[graphql(default_with = "OrderDirection::Desc")]
    pub direction: OrderDirection,
}

/// Which sensitive field an access-log entry is about.
#[derive(async_graphql::Enum, Copy, Clone, PartialEq, Eq)]
pub enum SensitiveField {
    /// `Dispute.reporter`: the reporter's name and contact.
    Reporter,
    /// `Dispute.intelNotes`: the police's intelligence notes.
    IntelNotes,
}

/// Filters of the access log.
#[derive(InputObject, Default)]
pub struct AccessLogFilterInput {
    /// Only reads of this dispute (its `Dispute.id`).
    pub dispute_id: Option<ID>,
    /// Only reads of this field.
    pub field: Option<SensitiveField>,
    /// Only reads by officers of this agency, e.g. `BAWASLU_DKI`.
    pub agency_code: Option<String>,
    /// Reads from this instant (inclusive).
    pub from: Option<Timestamp>,
    /// Reads before this instant (exclusive).
    pub to: Option<Timestamp>,
}

/// Dispute reads.
#[derive(Default)]
pub struct DisputeQuery;

#[Object]
impl DisputeQuery {
    /// Disputes in the caller's scope (not for PUBLIC), a Relay connection: forwards with
    /// `first`/`after`, backwards with `last`/`before` (pages come back in list order
    /// either way). A page holds 20 by default, at most 100.
    #[graphql(complexity = "PageRequest::cost(first, last, child_complexity)")]
    #[expect(
        clippy::too_many_arguments,
        reason = "a Relay connection's arguments are the API"
    )]
    async fn disputes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which disputes; omitted, every dispute in the caller's scope.")]
        filter: Option<DisputeFilterInput>,
        #[graphql(desc = "How many disputes after `after` (1–100; 20 when omitted).")]
        first: Option<i32>,
        #[graphql(desc = "An `endCursor` or edge `cursor` of an earlier page: continue after it.")]
        after: Option<String>,
        #[graphql(
            desc = "How many disputes before `before`, from the end (1–100); not with `first`."
        )]
        last: Option<i32>,
        #[graphql(desc = "A `startCursor` or edge `cursor`: the page before it.")] before: Option<
            String,
        >,
        #[graphql(desc = "The order; newest report first when omitted.")] order_by: Option<
            DisputeOrderInput,
        >,
    ) -> async_graphql::Result<DisputeConnection> {
        let rc = ctx.request()?;
        let filter: DisputeFilter = filter.unwrap_or_default().into();
        let order = order_by.map_or_else(DisputeOrder::default, |o| DisputeOrder {
            field: o.field,
            direction: o.direction,
        });
        let page = PageRequest {
            first,
            after,
            last,
            before,
        };
        let page = disputes::list(&rc.db().conn, &rc.viewer, &filter, order, &page)
            .await
            .gql()?;
        Ok(dispute_type::connection(page, filter))
    }

    /// One dispute. Missing and out of the caller's scope answer the same NOT_FOUND.
    async fn dispute(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The dispute's `id`.")] id: ID,
    ) -> async_graphql::Result<Option<Dispute>> {
        let rc = ctx.request()?;
        let (dispute, facts) = disputes::get_with_facts_by_ref(&rc.db().conn, &rc.viewer, &id)
            .await
            .gql()?;
        Ok(Some(Dispute::with_facts(dispute, facts)))
    }

    /// Aggregate counts under the caller's scope; PUBLIC gets every dispute that is not
    /// restricted.
    async fn dispute_stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which disputes to count; omitted, all in the caller's scope.")]
        filter: Option<DisputeFilterInput>,
    ) -> async_graphql::Result<DisputeStats> {
        let rc = ctx.request()?;
        let filter: DisputeFilter = filter.unwrap_or_default().into();
        filter.check(&rc.viewer).gql()?;
        Ok(DisputeStats::new(filter))
    }

    /// The caller: role, agency, jurisdiction.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Me> {
        Ok(Me(ctx.request()?.viewer.clone()))
    }

    /// Reads of `reporter` and `intelNotes` in the caller's jurisdiction, newest first
    /// (ADMIN only); `first`/`after` forwards, `last`/`before` backwards.
    #[graphql(complexity = "PageRequest::cost(first, last, child_complexity)")]
    async fn access_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which reads; omitted, every read in the caller's jurisdiction.")]
        filter: Option<AccessLogFilterInput>,
        #[graphql(desc = "How many entries after `after` (1–100; 20 when omitted).")] first: Option<
            i32,
        >,
        #[graphql(desc = "An `endCursor` of an earlier page: continue after it.")] after: Option<
            String,
        >,
        #[graphql(
            desc = "How many entries before `before`, from the end (1–100); not with `first`."
        )]
        last: Option<i32>,
        #[graphql(desc = "A `startCursor` of a later page: the entries before it.")] before: Option<
            String,
        >,
    ) -> async_graphql::Result<AccessLogConnection> {
        let rc = ctx.request()?;
        let input = filter.unwrap_or_default();
        let filter = AccessLogFilter {
            dispute_id: input.dispute_id.map(|id| id.0),
            field: input.field.map(|f| match f {
                SensitiveField::Reporter => DisputeField::Reporter,
                SensitiveField::IntelNotes => DisputeField::IntelNotes,
            }),
            agency_code: input.agency_code,
            from: input.from.map(|at| at.0),
            to: input.to.map(|at| at.0),
        };
        let page = PageRequest {
            first,
            after,
            last,
            before,
        };
        let page = audit::list(&rc.db().conn, &rc.viewer, &filter, &page)
            .await
            .gql()?;
        Ok(access_log_connection(page))
    }
}
