//! The query root. Resolvers only translate arguments and call the domain layer.

use async_graphql::{Context, ID, MergedObject, Object};

use crate::domain::reference::{AgencyFilter, ElectionFilter, StageFilter};
use crate::domain::types::{AgencyKind, ElectionKind};
use crate::error::{AppError, IntoGql};
use crate::graphql::context::ContextExt;
use crate::graphql::dispute_query::DisputeQuery;
use crate::graphql::hotspot_query::EarlyWarningQuery;
use crate::graphql::node::{self, Kind, NodeQuery};
use crate::graphql::plain::PlainList;
use crate::graphql::scalars::Date;
use crate::graphql::types::agency::{Agency, Posko};
use crate::graphql::types::election::{Election, ElectionStage};
use crate::graphql::types::region::{Province, Regency};

/// Reads: reference data (regions, elections and their stages, candidate pairs, agencies,
/// poskos) for everyone; disputes, statistics, the caller and the access log under the
/// caller's role and jurisdiction.
#[derive(MergedObject, Default)]
pub struct Query(ReferenceQuery, DisputeQuery, EarlyWarningQuery, NodeQuery);

/// Public reference data.
#[derive(Default)]
pub struct ReferenceQuery;

/// A row number from a global id of `kind`, or from the bare number such ids were before.
fn parse_id(kind: Kind, field: &'static str, id: &ID) -> async_graphql::Result<i32> {
    node::key_of(kind, id)
        .parse::<i32>()
        .map_err(|_| AppError::bad_input(field, "not a valid id"))
        .gql()
}

#[Object]
impl ReferenceQuery {
    /// All 38 provinces, by code.
    #[graphql(complexity = "38 * child_complexity")]
    async fn provinces(&self, ctx: &Context<'_>) -> async_graphql::Result<PlainList<Province>> {
        let reference = ctx.request()?.reference();
        Ok(PlainList(
            reference.provinces().cloned().map(Province).collect(),
        ))
    }

    /// One province by code (e.g. `"31"`); an old code of a recoded province also works.
    async fn province(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A Kemendagri province code, e.g. `\"31\"` for DKI Jakarta.")]
        code: String,
    ) -> async_graphql::Result<Option<Province>> {
        Ok(ctx
            .request()?
            .reference()
            .province(&code)
            .cloned()
            .map(Province))
    }

    /// One regency or city by code (e.g. `"32.76"`); old codes such as `"92.01"` resolve
    /// to the current one.
    async fn regency(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "A Kemendagri regency/city code `PP.NN`, e.g. `\"32.76\"` for Kota Depok."
        )]
        code: String,
    ) -> async_graphql::Result<Option<Regency>> {
        Ok(ctx
            .request()?
            .reference()
            .regency(&code)
            .cloned()
            .map(Regency))
    }

    /// Elections, optionally filtered by province, kind and year (for complexity, 50 items).
    #[graphql(complexity = "50 * child_complexity")]
    async fn elections(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only contests in this province (its governor's and its regencies'/cities')."
        )]
        province_code: Option<String>,
        #[graphql(desc = "Only contests for this office.")] kind: Option<ElectionKind>,
        #[graphql(desc = "Only contests of this cycle, e.g. 2024.")] year: Option<i32>,
    ) -> async_graphql::Result<Vec<Election>> {
        let filter = ElectionFilter {
            province_code,
            kind,
            year,
        };
        let reference = ctx.request()?.reference();
        Ok(reference
            .elections(&filter)
            .into_iter()
            .cloned()
            .map(Election)
            .collect())
    }

    /// One election by id.
    async fn election(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The election's `id`.")] id: ID,
    ) -> async_graphql::Result<Option<Election>> {
        let id = parse_id(Kind::Election, "id", &id)?;
        Ok(ctx
            .request()?
            .reference()
            .election(id)
            .cloned()
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
        #[graphql(desc = "An election's `id`: its own stages and its cycle's national schedule.")]
        election_id: Option<ID>,
        #[graphql(desc = "A province code: the national schedule and its elections' own stages.")]
        province_code: Option<String>,
        #[graphql(desc = "Only stages running on this day (`YYYY-MM-DD`).")] active_on: Option<
            Date,
        >,
    ) -> async_graphql::Result<Vec<ElectionStage>> {
        let election_id = election_id
            .as_ref()
            .map(|id| parse_id(Kind::Election, "electionId", id))
            .transpose()?;
        let filter = StageFilter {
            election_id,
            province_code,
            active_on: active_on.map(|d| d.0),
        };
        let reference = ctx.request()?.reference();
        Ok(reference
            .stages(&filter)
            .into_iter()
            .cloned()
            .map(ElectionStage)
            .collect())
    }

    /// Agencies, optionally of one kind and/or reaching one region (a province or a
    /// regency/city code; national agencies reach everywhere).
    async fn agencies(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only agencies of this kind.")] kind: Option<AgencyKind>,
        #[graphql(
            desc = "Only agencies whose jurisdiction reaches this province or regency/city code."
        )]
        region_code: Option<String>,
    ) -> async_graphql::Result<Vec<Agency>> {
        let filter = AgencyFilter { kind, region_code };
        let reference = ctx.request()?.reference();
        Ok(reference
            .agencies(&filter)
            .into_iter()
            .cloned()
            .map(Agency)
            .collect())
    }

    /// One agency by code, e.g. `POLDA_METRO_JAYA`.
    async fn agency(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The agency's code, e.g. `KPU_DKI`.")] code: String,
    ) -> async_graphql::Result<Option<Agency>> {
        Ok(ctx
            .request()?
            .reference()
            .agency(&code)
            .cloned()
            .map(Agency))
    }

    /// The posko (pos koordinasi, the coordination post hosted by Kesbangpol) of a
    /// province, with its member agencies.
    async fn posko(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The province's Kemendagri code, e.g. `\"31\"`.")] province_code: String,
    ) -> async_graphql::Result<Option<Posko>> {
        Ok(ctx
            .request()?
            .reference()
            .posko(&province_code)
            .cloned()
            .map(Posko))
    }
}
