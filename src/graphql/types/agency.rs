//! Agencies, their jurisdictions and the poskos they staff.

use async_graphql::{Context, ID, Object};
use entity::{agency, agency_jurisdiction, posko};

use super::region::{District, Province, Regency};
use crate::domain::types::{AgencyKind, AgencyLevel, Coverage};
use crate::graphql::context::ContextExt;
use crate::graphql::node::{self, Kind};

/// A member body of a posko, or a national one (KPU RI, Bawaslu RI, Mabes Polri).
pub struct Agency(pub agency::Model);

/// A body that staffs a posko (Kesbangpol, KPU, Bawaslu, police, army, prosecutors,
/// local government, community) or a national one (KPU RI, Bawaslu RI, Mabes Polri).
/// Tokens name an agency; its jurisdiction decides which disputes its officers see.
#[Object]
impl Agency {
    /// Globally unique and opaque (Relay `Node`); `node(id:)` answers it again.
    pub(crate) async fn id(&self) -> ID {
        node::global_id(Kind::Agency, &self.0.code)
    }
    /// Upper case with underscores, e.g. `POLDA_METRO_JAYA`.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Official name, e.g. "Polda Metro Jaya".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What kind of body it is; decides which token roles fit it.
    async fn kind(&self) -> async_graphql::Result<AgencyKind> {
        Ok(self.0.kind)
    }
    /// National, provincial or regency/city level.
    async fn level(&self) -> async_graphql::Result<AgencyLevel> {
        Ok(self.0.level)
    }
    /// A national agency covers the whole country and lists no jurisdiction rows.
    async fn covers_whole_country(&self) -> bool {
        self.0.level.is_national()
    }
    /// The province the agency sits in; null for a national agency.
    async fn province(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Province>> {
        let Some(code) = self.0.province_code.clone() else {
            return Ok(None);
        };
        Ok(ctx
            .request()?
            .reference()
            .province(&code)
            .cloned()
            .map(Province))
    }
    /// The regions the agency covers. A jurisdiction is not a province: Polda Metro Jaya
    /// covers Jakarta plus cities of West Java and Banten, and part of Kabupaten Tangerang.
    async fn jurisdiction(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<JurisdictionEntry>> {
        let reference = ctx.request()?.reference();
        Ok(reference
            .jurisdictions_of(&self.0.code)
            .iter()
            .cloned()
            .map(JurisdictionEntry)
            .collect())
    }
}

/// One region of an agency's jurisdiction.
pub struct JurisdictionEntry(pub agency_jurisdiction::Model);

/// One region of an agency's jurisdiction: a province or a regency/city, fully or in
/// some districts.
#[Object]
impl JurisdictionEntry {
    /// The region's code: a province (`"31"`) or a regency/city (`"32.76"`).
    async fn code(&self) -> &str {
        &self.0.region_code
    }
    /// FULL, or PARTIAL with the covered `districts`.
    async fn coverage(&self) -> async_graphql::Result<Coverage> {
        Ok(self.0.coverage)
    }
    /// The province itself, or the regency's province.
    async fn province(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Province>> {
        Ok(ctx
            .request()?
            .reference()
            .province(&self.0.province_code)
            .cloned()
            .map(Province))
    }
    /// The regency or city; null when the row covers a whole province.
    async fn regency(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Regency>> {
        let Some(code) = self.0.regency_code.clone() else {
            return Ok(None);
        };
        Ok(ctx
            .request()?
            .reference()
            .regency(&code)
            .cloned()
            .map(Regency))
    }
    /// For PARTIAL coverage, the districts covered; empty for FULL.
    async fn districts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<District>> {
        let reference = ctx.request()?.reference();
        Ok(reference
            .districts_of_jurisdiction(self.0.id)
            .into_iter()
            .cloned()
            .map(District)
            .collect())
    }
    /// Where the coverage fact comes from, in words.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// The data's confidence mark (e.g. `high`, `medium`).
    async fn confidence(&self) -> Option<&str> {
        self.0.confidence.as_deref()
    }
}

/// A province's coordination post (posko) and its member agencies.
pub struct Posko(pub posko::Model);

/// A province's posko (pos koordinasi): the election coordination post that Kesbangpol
/// hosts and where KPU, Bawaslu, the police and the other member agencies work together.
#[Object]
impl Posko {
    /// Globally unique and opaque (Relay `Node`; one posko per province); `node(id:)` answers it again.
    pub(crate) async fn id(&self) -> ID {
        node::global_id(Kind::Posko, &self.0.province_code)
    }
    /// The posko's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Where it is, where published.
    async fn address(&self) -> Option<&str> {
        self.0.address.as_deref()
    }
    /// The public hotline; null where none is published.
    async fn hotline(&self) -> Option<&str> {
        self.0.hotline.as_deref()
    }
    /// The province it serves.
    async fn province(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Province>> {
        Ok(ctx
            .request()?
            .reference()
            .province(&self.0.province_code)
            .cloned()
            .map(Province))
    }
    /// The agency that hosts the posko (Kesbangpol).
    async fn host(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Agency>> {
        Ok(ctx
            .request()?
            .reference()
            .agency(&self.0.host_agency_code)
            .cloned()
            .map(Agency))
    }
    /// Member agencies, the host included, by code.
    async fn members(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Agency>> {
        let reference = ctx.request()?.reference();
        Ok(reference
            .posko_members(self.0.id)
            .into_iter()
            .cloned()
            .map(Agency)
            .collect())
    }
}
