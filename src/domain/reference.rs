//! Reads of the reference data (regions, elections, stages, agencies, poskos). These are
//! public (CONTRACT.md, Roles: PUBLIC), so no viewer is involved.

use chrono::NaiveDate;
use entity::{
    agency, agency_jurisdiction, election, election_stage, posko, province, regency, region_alias,
};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::domain::types::{AgencyKind, AgencyLevel, ElectionKind};
use crate::error::AppResult;

/// All provinces, by code.
pub async fn provinces<C: ConnectionTrait>(db: &C) -> AppResult<Vec<province::Model>> {
    Ok(province::Entity::find()
        .order_by_asc(province::Column::Code)
        .all(db)
        .await?)
}

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

/// Elections matching the filter, by year and region code.
pub async fn elections<C: ConnectionTrait>(
    db: &C,
    filter: ElectionFilter,
) -> AppResult<Vec<election::Model>> {
    let mut select = election::Entity::find();
    if let Some(code) = filter.province_code {
        select = select.filter(election::Column::ProvinceCode.eq(canonical_code(db, &code).await?));
    }
    if let Some(kind) = filter.kind {
        select = select.filter(election::Column::Kind.eq(kind.as_str()));
    }
    if let Some(year) = filter.year {
        select = select.filter(election::Column::Year.eq(year));
    }
    Ok(select
        .order_by_asc(election::Column::Year)
        .order_by_asc(election::Column::RegionCode)
        .all(db)
        .await?)
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

/// Stages matching the filter, national schedule first, each by its order in the schedule.
pub async fn stages<C: ConnectionTrait>(
    db: &C,
    filter: StageFilter,
) -> AppResult<Vec<election_stage::Model>> {
    let mut select = election_stage::Entity::find();
    if let Some(id) = filter.election_id {
        let year = election(db, id).await?.map_or(0, |e| e.year);
        select = select.filter(
            Condition::any()
                .add(election_stage::Column::ElectionId.eq(id))
                .add(
                    Condition::all()
                        .add(election_stage::Column::ElectionId.is_null())
                        .add(election_stage::Column::Year.eq(year)),
                ),
        );
    }
    if let Some(code) = filter.province_code {
        let code = canonical_code(db, &code).await?;
        select = select.filter(
            Condition::any()
                .add(election_stage::Column::ElectionId.is_null())
                .add(
                    election_stage::Column::ElectionId.in_subquery(
                        Query::select()
                            .column(election::Column::Id)
                            .from(election::Entity)
                            .and_where(election::Column::ProvinceCode.eq(code))
                            .to_owned(),
                    ),
                ),
        );
    }
    if let Some(day) = filter.active_on {
        select = select.filter(in_force_on(day));
    }
    Ok(select
        .order_by_asc(election_stage::Column::Year)
        .order_by_asc(election_stage::Column::ElectionId)
        .order_by_asc(election_stage::Column::Round)
        .order_by_asc(election_stage::Column::Seq)
        .all(db)
        .await?)
}

/// Filters of `agencies`.
#[derive(Default)]
pub struct AgencyFilter {
    pub kind: Option<AgencyKind>,
    /// Agencies whose jurisdiction reaches this province or regency (national ones always).
    pub region_code: Option<String>,
}

/// Agencies matching the filter, by code.
pub async fn agencies<C: ConnectionTrait>(
    db: &C,
    filter: AgencyFilter,
) -> AppResult<Vec<agency::Model>> {
    let mut select = agency::Entity::find();
    if let Some(kind) = filter.kind {
        select = select.filter(agency::Column::Kind.eq(kind.as_str()));
    }
    if let Some(code) = filter.region_code {
        let code = canonical_code(db, &code).await?;
        let reaching = match code.split_once('.') {
            // A regency is reached by a row for it or for its whole province.
            Some((province, _)) => Condition::any()
                .add(agency_jurisdiction::Column::RegionCode.eq(code.clone()))
                .add(agency_jurisdiction::Column::RegionCode.eq(province.to_owned())),
            // A province is reached by any row inside it.
            None => {
                Condition::all().add(agency_jurisdiction::Column::ProvinceCode.eq(code.clone()))
            }
        };
        select = select.filter(
            Condition::any()
                .add(agency::Column::Level.eq(AgencyLevel::National))
                .add(
                    agency::Column::Code.in_subquery(
                        Query::select()
                            .column(agency_jurisdiction::Column::AgencyCode)
                            .from(agency_jurisdiction::Entity)
                            .cond_where(reaching)
                            .to_owned(),
                    ),
                ),
        );
    }
    Ok(select.order_by_asc(agency::Column::Code).all(db).await?)
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
