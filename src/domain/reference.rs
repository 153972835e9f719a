//! Reference data (regions, elections, stages, agencies, poskos) read inside a write's
//! transaction, and the filters of its public reads. Those reads are served from memory
//! (`reference_snapshot`); these SQL reads are for writes, which must see their own
//! transaction. Reference data is public (CONTRACT.md, Roles: PUBLIC): no viewer here.

use chrono::NaiveDate;
use entity::{agency, election, election_stage, posko, province, regency, region_alias};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};

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
    /// Stages in force on that day (`in_force_on`).
    pub active_on: Option<NaiveDate>,
}

/// The one rule of which stages are in force on a day. Only a stage that was held (or is
/// scheduled and not cancelled: `held`) is ever in force; a planned round that did not
/// happen stays listed but never counts. A stage is in force from its first to its last
/// day. A date the sources did not report is not guessed: a stage with only one date is
/// in force on that day alone, and one with none (relative to the Constitutional Court's
/// schedule) never is; so no stage is open-ended.
pub fn in_force_on(day: NaiveDate) -> Condition {
    Condition::all()
        .add(election_stage::Column::Held.eq(true))
        .add(
            Condition::any()
                .add(
                    Condition::all()
                        .add(election_stage::Column::StartsOn.lte(day))
                        .add(election_stage::Column::EndsOn.gte(day)),
                )
                .add(
                    Condition::all()
                        .add(election_stage::Column::StartsOn.is_null())
                        .add(election_stage::Column::EndsOn.eq(day)),
                )
                .add(
                    Condition::all()
                        .add(election_stage::Column::EndsOn.is_null())
                        .add(election_stage::Column::StartsOn.eq(day)),
                ),
        )
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

/// The contest a place belongs to for disputes: its regency's own, or, where the regency
/// holds none (Jakarta's administrative regions), its province's governor's.
pub async fn election_for<C: ConnectionTrait>(
    db: &C,
    province_code: &str,
    regency_code: &str,
    year: i32,
) -> AppResult<Option<election::Model>> {
    let rows = election::Entity::find()
        .filter(election::Column::Year.eq(year))
        .filter(election::Column::RegionCode.is_in([regency_code, province_code]))
        .all(db)
        .await?;
    let own = rows.iter().find(|e| e.region_code == regency_code).cloned();
    Ok(own.or_else(|| rows.into_iter().find(|e| e.region_code == province_code)))
}

/// The stage in force on a day for an election (`in_force_on`: never one that was not
/// held): its own stages first, then the national schedule; the shortest first (polling
/// day rather than the count that starts on it), a stage known by one date only last.
pub async fn stage_in_force<C: ConnectionTrait>(
    db: &C,
    election: Option<&election::Model>,
    year: i32,
    day: NaiveDate,
) -> AppResult<Option<election_stage::Model>> {
    let mut scope = Condition::any().add(
        Condition::all()
            .add(election_stage::Column::ElectionId.is_null())
            .add(election_stage::Column::Year.eq(year)),
    );
    if let Some(election) = election {
        scope = scope.add(election_stage::Column::ElectionId.eq(election.id));
    }
    let candidates = election_stage::Entity::find()
        .filter(scope)
        .filter(in_force_on(day))
        .all(db)
        .await?;
    Ok(candidates.into_iter().min_by_key(|s| {
        let span = s
            .ends_on
            .zip(s.starts_on)
            .map_or(i64::MAX, |(end, start)| (end - start).num_days());
        (s.election_id.is_none(), span, -s.seq)
    }))
}
