//! Schedule (KPU) and directory (ADMIN) mutations.

use async_graphql::{Context, ID, InputObject, Object};

use crate::domain::directory::{self, AgencyInput, NewStage, RegionGrant, StageChanges};
use crate::domain::types::{AgencyKind, AgencyLevel, Coverage, StagePhase};
use crate::error::IntoGql;
use crate::graphql::context::ContextExt;
use crate::graphql::node::{self, Kind};
use crate::graphql::scalars::Date;
use crate::graphql::types::agency::{Agency, Posko};
use crate::graphql::types::election::ElectionStage;

/// A stage of one election (KPU, within its jurisdiction).
#[derive(InputObject)]
pub struct CreateStageInput {
    /// The election's `id`.
    pub election_id: ID,
    /// A–Z, 0–9 and _, e.g. `KAMPANYE`.
    pub code: String,
    /// The official Indonesian name.
    pub name: String,
    /// An English label.
    pub label_en: String,
    /// Preparation (persiapan) or implementation (penyelenggaraan).
    pub phase: StagePhase,
    /// First day, if known.
    pub starts_on: Option<Date>,
    /// Last day, if known.
    pub ends_on: Option<Date>,
    /// The rule in words when the dates are relative or unknown.
    pub date_rule: Option<String>,
    /// 2 only where the election's win rule has a second round.
    #[graphql(default = 1)]
    pub round: i32,
    /// Whether official sources confirm the dates.
    #[graphql(default = false)]
    pub confirmed: bool,
}

/// Changes to a stage; omitted fields keep their value.
#[derive(InputObject)]
pub struct UpdateStageInput {
    /// The stage's id (`ElectionStage.id`).
    pub id: ID,
    /// A new official Indonesian name.
    pub name: Option<String>,
    /// A new first day.
    pub starts_on: Option<Date>,
    /// A new last day.
    pub ends_on: Option<Date>,
    /// A new rule in words.
    pub date_rule: Option<String>,
    /// Whether official sources confirm the dates.
    pub confirmed: Option<bool>,
    /// False when the stage will not (or did not) take place.
    pub held: Option<bool>,
}

/// An agency of a province in ADMIN's jurisdiction.
#[derive(InputObject)]
pub struct UpsertAgencyInput {
    /// Upper case with underscores, e.g. `DISKOMINFO_DKI`; an existing code edits that agency.
    pub code: String,
    /// The official name.
    pub name: String,
    /// What kind of body it is (decides which token roles fit it).
    pub kind: AgencyKind,
    /// Province or regency level (national agencies are not managed here).
    pub level: AgencyLevel,
    /// The province it sits in.
    pub province_code: String,
}

/// One region of a jurisdiction.
#[derive(InputObject)]
pub struct RegionGrantInput {
    /// A province or regency/city code.
    pub code: String,
    /// The whole region, or only `districtCodes`.
    pub coverage: Coverage,
    /// For PARTIAL: the covered districts.
    #[graphql(default)]
    pub district_codes: Vec<String>,
}

/// Replaces an agency's jurisdiction.
#[derive(InputObject)]
pub struct SetJurisdictionInput {
    /// The agency's code.
    pub agency_code: String,
    /// Every region it covers from now on (replacing the current list).
    pub regions: Vec<RegionGrantInput>,
}

/// A posko membership.
#[derive(InputObject)]
pub struct PoskoMemberInput {
    /// The posko's province code, e.g. `"31"`.
    pub province_code: String,
    /// The agency's code.
    pub agency_code: String,
}

/// Schedule and directory changes; each is recorded with who, when, before and after.
#[derive(Default)]
pub struct DirectoryMutation;

#[Object]
impl DirectoryMutation {
    /// Adds a stage to an election (KPU; e.g. schedules Jakarta's second round).
    async fn create_stage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `CreateStageInput`.")] input: CreateStageInput,
    ) -> async_graphql::Result<ElectionStage> {
        let rc = ctx.request()?;
        let stage = NewStage {
            election_id: node::key_of(Kind::Election, &input.election_id),
            code: input.code,
            name: input.name,
            label_en: input.label_en,
            phase: input.phase,
            starts_on: input.starts_on.map(|d| d.0),
            ends_on: input.ends_on.map(|d| d.0),
            date_rule: input.date_rule,
            round: input.round,
            confirmed: input.confirmed,
        };
        let created = directory::create_stage(rc.db().writer(), &rc.viewer, stage)
            .await
            .gql()?;
        rc.reference_changed().await;
        Ok(ElectionStage(created))
    }

    /// Edits a stage (KPU).
    async fn update_stage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `UpdateStageInput`.")] input: UpdateStageInput,
    ) -> async_graphql::Result<ElectionStage> {
        let rc = ctx.request()?;
        let changes = StageChanges {
            name: input.name,
            starts_on: input.starts_on.map(|d| d.0),
            ends_on: input.ends_on.map(|d| d.0),
            date_rule: input.date_rule,
            confirmed: input.confirmed,
            held: input.held,
        };
        let updated = directory::update_stage(
            rc.db().writer(),
            &rc.viewer,
            &node::key_of(Kind::ElectionStage, &input.id),
            changes,
        )
        .await
        .gql()?;
        rc.reference_changed().await;
        Ok(ElectionStage(updated))
    }

    /// Creates or edits an agency (ADMIN).
    async fn upsert_agency(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `UpsertAgencyInput`.")] input: UpsertAgencyInput,
    ) -> async_graphql::Result<Agency> {
        let rc = ctx.request()?;
        let agency = AgencyInput {
            code: input.code,
            name: input.name,
            kind: input.kind,
            level: input.level,
            province_code: input.province_code,
        };
        let saved = directory::upsert_agency(rc.db().writer(), &rc.viewer, agency)
            .await
            .gql()?;
        rc.reference_changed().await;
        Ok(Agency(saved))
    }

    /// Replaces an agency's jurisdiction (ADMIN). Takes effect at once on this instance and
    /// within a second on the others.
    async fn set_agency_jurisdiction(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `SetJurisdictionInput`.")] input: SetJurisdictionInput,
    ) -> async_graphql::Result<Agency> {
        let rc = ctx.request()?;
        let regions = input
            .regions
            .into_iter()
            .map(|r| RegionGrant {
                code: r.code,
                coverage: r.coverage,
                district_codes: r.district_codes,
            })
            .collect();
        let agency =
            directory::set_jurisdiction(rc.db().writer(), &rc.viewer, &input.agency_code, regions)
                .await
                .gql()?;
        rc.reference_changed().await;
        Ok(Agency(agency))
    }

    /// Adds an agency to a posko (ADMIN).
    async fn add_posko_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `PoskoMemberInput`.")] input: PoskoMemberInput,
    ) -> async_graphql::Result<Posko> {
        let rc = ctx.request()?;
        let posko = directory::set_posko_member(
            rc.db().writer(),
            &rc.viewer,
            &input.province_code,
            &input.agency_code,
            true,
        )
        .await
        .gql()?;
        rc.reference_changed().await;
        Ok(Posko(posko))
    }

    /// Removes an agency from a posko (ADMIN; the host stays).
    async fn remove_posko_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see `PoskoMemberInput`.")] input: PoskoMemberInput,
    ) -> async_graphql::Result<Posko> {
        let rc = ctx.request()?;
        let posko = directory::set_posko_member(
            rc.db().writer(),
            &rc.viewer,
            &input.province_code,
            &input.agency_code,
            false,
        )
        .await
        .gql()?;
        rc.reference_changed().await;
        Ok(Posko(posko))
    }
}
