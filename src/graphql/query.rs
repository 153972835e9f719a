//! The query root. Resolvers only translate arguments and call the domain layer.

use async_graphql::{Context, ID, MergedObject, Object};
use chrono::NaiveDate;

use crate::domain::reference::{self, AgencyFilter, ElectionFilter, StageFilter};
use crate::domain::types::{AgencyKind, ElectionKind};
use crate::error::{AppError, IntoGql};
use crate::graphql::context::ContextExt;
use crate::graphql::dispute_query::DisputeQuery;
use crate::graphql::hotspot_query::EarlyWarningQuery;
use crate::graphql::types::agency::{Agency, Posko};
use crate::graphql::types::election::{Election, ElectionStage};
use crate::graphql::types::region::{Province, Regency};

/// The whole query root.
#[derive(MergedObject, Default)]
pub struct Query(ReferenceQuery, DisputeQuery, EarlyWarningQuery);

/// Public reference data.
#[derive(Default)]
pub struct ReferenceQuery;

fn parse_id(field: &'static str, id: &ID) -> async_graphql::Result<i32> {
    id.parse::<i32>()
        .map_err(|_| AppError::bad_input(field, "not a valid id"))
        .gql()
}

#[Object]
impl ReferenceQuery {
    /// All 38 provinces, by code.
    #[graphql(complexity = "38 * child_complexity")]
    async fn provinces(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Province>> {
        let rows = reference::provinces(&ctx.request()?.db.conn).await.gql()?;
        Ok(rows.into_iter().map(Province).collect())
    }

    /// One province by code (e.g. `"31"`); an old code of a recoded province also works.
    async fn province(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> async_graphql::Result<Option<Province>> {
        Ok(reference::province(&ctx.request()?.db.conn, &code)
            .await
            .gql()?
            .map(Province))
    }

    /// One regency or city by code (e.g. `"32.76"`); old codes such as `"92.01"` resolve
    /// to the current one.
    async fn regency(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> async_graphql::Result<Option<Regency>> {
        Ok(reference::regency(&ctx.request()?.db.conn, &code)
            .await
            .gql()?
            .map(Regency))
    }

    /// Elections, optionally filtered by province, kind and year (for complexity, 50 items).
    #[graphql(complexity = "50 * child_complexity")]
    async fn elections(
        &self,
        ctx: &Context<'_>,
        province_code: Option<String>,
        kind: Option<ElectionKind>,
        year: Option<i32>,
    ) -> async_graphql::Result<Vec<Election>> {
        let filter = ElectionFilter {
            province_code,
            kind,
            year,
        };
        let rows = reference::elections(&ctx.request()?.db.conn, filter)
            .await
            .gql()?;
        Ok(rows.into_iter().map(Election).collect())
    }

    /// One election by id.
    async fn election(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Election>> {
        let id = parse_id("id", &id)?;
        Ok(reference::election(&ctx.request()?.db.conn, id)
            .await
            .gql()?
            .map(Election))
    }

    /// Stages of the schedule. `electionId`: that election's stages and its cycle's
    /// national schedule; `provinceCode`: the national schedule and the province's
    /// elections' own stages; `activeOn`: only stages in force that day. A stage not held
    /// (Jakarta's planned second round) is listed but never in force; a stage known by
    /// one date only is in force on that day alone, one with no date never.
    async fn stages(
        &self,
        ctx: &Context<'_>,
        election_id: Option<ID>,
        province_code: Option<String>,
        active_on: Option<NaiveDate>,
    ) -> async_graphql::Result<Vec<ElectionStage>> {
        let election_id = election_id
            .as_ref()
            .map(|id| parse_id("electionId", id))
            .transpose()?;
        let filter = StageFilter {
            election_id,
            province_code,
            active_on,
        };
        let rows = reference::stages(&ctx.request()?.db.conn, filter)
            .await
            .gql()?;
        Ok(rows.into_iter().map(ElectionStage).collect())
    }

    /// Agencies, optionally of one kind and/or reaching one region (a province or a
    /// regency/city code; national agencies reach everywhere).
    async fn agencies(
        &self,
        ctx: &Context<'_>,
        kind: Option<AgencyKind>,
        region_code: Option<String>,
    ) -> async_graphql::Result<Vec<Agency>> {
        let filter = AgencyFilter { kind, region_code };
        let rows = reference::agencies(&ctx.request()?.db.conn, filter)
            .await
            .gql()?;
        Ok(rows.into_iter().map(Agency).collect())
    }

    /// One agency by code, e.g. `POLDA_METRO_JAYA`.
    async fn agency(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> async_graphql::Result<Option<Agency>> {
        Ok(reference::agency(&ctx.request()?.db.conn, &code)
            .await
            .gql()?
            .map(Agency))
    }

    /// The posko of a province, with its members.
    async fn posko(
        &self,
        ctx: &Context<'_>,
        province_code: String,
    ) -> async_graphql::Result<Option<Posko>> {
        Ok(reference::posko(&ctx.request()?.db.conn, &province_code)
            .await
            .gql()?
            .map(Posko))
    }
}
