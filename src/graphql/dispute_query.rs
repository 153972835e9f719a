//! Dispute reads, `me` and the access log.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};

use crate::auth::policy::DisputeField;
use crate::domain::audit::{self, AccessLogFilter};
use crate::domain::disputes::{
    self, DisputeFilter, DisputeOrder, DisputeOrderField, OrderDirection,
};
use crate::domain::types::{
    DisputeCategory, DisputeStatus, ReporterKind, Severity, ViolationClass,
};
use crate::error::IntoGql;
use crate::graphql::context::ContextExt;
use crate::graphql::types::dispute::{
    self as dispute_type, Dispute, DisputeConnection, DisputeStats,
};
use crate::graphql::types::viewer::{AccessLogConnection, Me, access_log_connection};

/// Filters of dispute lists and statistics. Filters on fields the caller may not read are
/// FORBIDDEN (e.g. `search` and `restricted` for PUBLIC, `violations` for MEMBER).
#[derive(InputObject, Default)]
pub struct DisputeFilterInput {
    pub province_codes: Option<Vec<String>>,
    pub regency_codes: Option<Vec<String>>,
    pub statuses: Option<Vec<DisputeStatus>>,
    pub categories: Option<Vec<DisputeCategory>>,
    pub severities: Option<Vec<Severity>>,
    /// From this instant (inclusive).
    pub occurred_from: Option<DateTime<Utc>>,
    /// Before this instant (exclusive).
    pub occurred_to: Option<DateTime<Utc>>,
    pub reported_from: Option<DateTime<Utc>>,
    pub reported_to: Option<DateTime<Utc>>,
    /// Case-insensitive text in the title or description (at most 200 characters).
    pub search: Option<String>,
    pub restricted: Option<bool>,
    /// The election stage in force when the dispute occurred, e.g. `MASA_TENANG`.
    pub stage_codes: Option<Vec<String>>,
    pub violations: Option<Vec<ViolationClass>>,
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
            occurred_from: input.occurred_from,
            occurred_to: input.occurred_to,
            reported_from: input.reported_from,
            reported_to: input.reported_to,
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
    #[graphql(default_with = "DisputeOrderField::ReportedAt")]
    pub field: DisputeOrderField,
    #[graphql(default_with = "OrderDirection::Desc")]
    pub direction: OrderDirection,
}

/// Which sensitive field an access-log entry is about.
#[derive(async_graphql::Enum, Copy, Clone, PartialEq, Eq)]
pub enum SensitiveField {
    Reporter,
    IntelNotes,
}

/// Filters of the access log.
#[derive(InputObject, Default)]
pub struct AccessLogFilterInput {
    pub dispute_id: Option<ID>,
    pub field: Option<SensitiveField>,
    pub agency_code: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A page counts as its size times what each item costs. A `first` beyond the largest
/// page counts as the largest page: the resolver refuses it with `BAD_USER_INPUT`, which
/// names the argument, where the complexity ceiling would answer `QUERY_TOO_COMPLEX` first.
fn page_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let size = first.map_or(disputes::DEFAULT_PAGE_SIZE, |n| {
        u64::try_from(n).unwrap_or(0).min(disputes::MAX_PAGE_SIZE)
    });
    usize::try_from(size)
        .unwrap_or(1)
        .max(1)
        .saturating_mul(child_complexity)
}

/// Dispute reads.
#[derive(Default)]
pub struct DisputeQuery;

#[Object]
impl DisputeQuery {
    /// Disputes in the caller's scope (not for PUBLIC). `first` defaults to 20, at most 100.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn disputes(
        &self,
        ctx: &Context<'_>,
        filter: Option<DisputeFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        order_by: Option<DisputeOrderInput>,
    ) -> async_graphql::Result<DisputeConnection> {
        let rc = ctx.request()?;
        let filter: DisputeFilter = filter.unwrap_or_default().into();
        let order = order_by.map_or_else(DisputeOrder::default, |o| DisputeOrder {
            field: o.field,
            direction: o.direction,
        });
        let page = disputes::list(
            &rc.db.conn,
            &rc.viewer,
            &filter,
            order,
            first,
            after.as_deref(),
        )
        .await
        .gql()?;
        Ok(dispute_type::connection(page, filter))
    }

    /// One dispute. Missing and out of the caller's scope answer the same NOT_FOUND.
    async fn dispute(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Dispute>> {
        let rc = ctx.request()?;
        Ok(Some(Dispute::new(
            disputes::get_by_ref(&rc.db.conn, &rc.viewer, &id)
                .await
                .gql()?,
        )))
    }

    /// Aggregate counts under the caller's scope; PUBLIC gets every dispute that is not
    /// restricted.
    async fn dispute_stats(
        &self,
        ctx: &Context<'_>,
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
    /// (ADMIN only).
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn access_log(
        &self,
        ctx: &Context<'_>,
        filter: Option<AccessLogFilterInput>,
        first: Option<i32>,
        after: Option<String>,
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
            from: input.from,
            to: input.to,
        };
        let page = audit::list(&rc.db.conn, &rc.viewer, &filter, first, after.as_deref())
            .await
            .gql()?;
        Ok(access_log_connection(page))
    }
}
