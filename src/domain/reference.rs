//! Reference data (regions, elections, stages, agencies, poskos) read inside a write's
//! transaction, and the filters of its public reads. Those reads are served from memory
//! (`reference_snapshot`); these SQL reads are for writes, which must see their own
//! transaction. Reference data is public (CONTRACT.md, Roles: PUBLIC): no viewer here.

use chrono::NaiveDate;
use entity::{agency, election, posko, province, regency, region_alias};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::domain::types::{AgencyKind, ElectionKind};
use crate::error::AppResult;

/// The region code a caller meant: a recoded region's old code maps to its new one.
pub async fn canonical_code<C: ConnectionTrait>(db: &C, code: &str) -> AppResult<String> {
    Ok(region_alias::Entity::find_by_id(code.to_owned())
        .one(db)
        .await?
        .map_or_else(|| code.to_owned(), |alias| alias.new_code))
}

/// One province by code (or an old alias of it).
pub async fn province<C: ConnectionTrait>(
    db: &C,
    code: &str,
) -> AppResult<Option<province::Model>> {
    let code = canonical_code(db, code).await?;
    Ok(province::Entity::find_by_id(code).one(db).await?)
}

/// One regency or city by code (or an old alias of it, e.g. `92.01` for Kabupaten Sorong).
pub async fn regency<C: ConnectionTrait>(db: &C, code: &str) -> AppResult<Option<regency::Model>> {
    let code = canonical_code(db, code).await?;
    Ok(regency::Entity::find_by_id(code).one(db).await?)
}

/// Filters of `elections`.
#[derive(Default)]
pub struct ElectionFilter {
    pub province_code: Option<String>,
    pub kind: Option<ElectionKind>,
    pub year: Option<i32>,
}

/// One election by id.
pub async fn election<C: ConnectionTrait>(db: &C, id: i32) -> AppResult<Option<election::Model>> {
    Ok(election::Entity::find_by_id(id).one(db).await?)
}

/// Filters of `stages`.
#[derive(Default)]
pub struct StageFilter {
    /// The election's own stages plus the national schedule of its cycle.
    pub election_id: Option<i32>,
    /// The national schedule plus the own stages of the province's elections.
    pub province_code: Option<String>,
    /// Stages in force on that day (`reference_snapshot::in_force`).
    pub active_on: Option<NaiveDate>,
}

/// Filters of `agencies`.
#[derive(Default)]
pub struct AgencyFilter {
    pub kind: Option<AgencyKind>,
    /// Agencies whose jurisdiction reaches this province or regency (national ones always).
    pub region_code: Option<String>,
}

/// One agency by code.
pub async fn agency<C: ConnectionTrait>(db: &C, code: &str) -> AppResult<Option<agency::Model>> {
    Ok(agency::Entity::find_by_id(code.to_owned()).one(db).await?)
}

/// The posko of a province, if it has one.
pub async fn posko<C: ConnectionTrait>(
    db: &C,
    province_code: &str,
) -> AppResult<Option<posko::Model>> {
    let code = canonical_code(db, province_code).await?;
    Ok(posko::Entity::find()
        .filter(posko::Column::ProvinceCode.eq(code))
        .one(db)
        .await?)
}

/// Hours ahead of UTC of a province's local time (WIB +7, WITA +8, WIT +9), which decides
/// on which calendar day something happened there.
pub fn utc_offset_hours(province_code: &str) -> i64 {
    if WITA_PROVINCES.contains(&province_code) {
        8
    } else if WIT_PROVINCES.contains(&province_code) {
        9
    } else {
        7
    }
}

/// Provinces on Central Indonesian Time (WITA, UTC+8).
pub const WITA_PROVINCES: &[&str] = &[
    "51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76",
];
/// Provinces on Eastern Indonesian Time (WIT, UTC+9); every other is on WIB (UTC+7).
pub const WIT_PROVINCES: &[&str] = &["81", "82", "91", "92", "93", "94", "95", "96"];
