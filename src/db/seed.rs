//! Loads the reference data in `data/` (embedded at build time) with upserts keyed by
//! official codes, so running it again changes nothing. It is not a migration: applied
//! migrations are immutable, and reference data is corrected over time.

use std::collections::{HashMap, HashSet};

use anyhow::{Context as _, bail};
use chrono::NaiveDate;
use entity::{
    agency, agency_jurisdiction, candidate_pair, directory_change, district, election,
    election_stage, jurisdiction_district, posko, posko_member, province, regency, region_alias,
    region_result, region_result_votes, seed_state, vulnerability_index,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionSession, TransactionTrait,
};
use serde::Deserialize;

use crate::domain::types::{
    AgencyKind, AgencyLevel, Coverage, ElectionKind, NominationPath, RegencyKind, StagePhase,
    WinRule,
};

/// The Pilkada cycle the bundled data describes.
pub const CYCLE_YEAR: i32 = 2024;
/// Polling day of Pilkada 2024.
const VOTING_DATE: (i32, u32, u32) = (2024, 11, 27);

const PROVINCES: &str = include_str!("../../data/provinces.csv");
const REGENCIES: &str = include_str!("../../data/regencies.csv");
const DISTRICTS: &str = include_str!("../../data/districts.csv");
const ALIASES: &str = include_str!("../../data/papua_barat_daya_code_changes.csv");
const CONTESTS: &str = include_str!("../../data/pilkada2024_regions.csv");
const STAGES: &str = include_str!("../../data/pilkada2024_stages.csv");
const SECOND_ROUND: &str = include_str!("../../data/jakarta2024_second_round_schedule.csv");
const CANDIDATES: &str = include_str!("../../data/jakarta2024_candidates.csv");
const AGENCIES: &str = include_str!("../../data/agencies.csv");
const JURISDICTIONS: &str = include_str!("../../data/agency_jurisdictions.csv");
const POSKOS: &str = include_str!("../../data/poskos.csv");
const IKP_2022: &str = include_str!("../../data/ikp2024_dec2022_provinces.csv");
const IKP_PILKADA_2024: &str = include_str!("../../data/ikp_pilkada2024_provinces.csv");
const RESULTS: &str = include_str!("../../data/jakarta2024_results_by_region.csv");

/// Jakarta's governor needs more than 50 % or a second round (UU 2/2024 Pasal 10).
const RUNOFF_REGIONS: &[&str] = &["31"];
/// Single-pair contests in the bundled data (the empty box won both; DOMAIN.md). Other
/// single-pair contests of 2024 are not in the data yet and default to plurality.
const EMPTY_BOX_REGIONS: &[&str] = &["19.01", "19.71"];
/// Kabupaten Tangerang's districts, by name as the jurisdiction notes spell them.
const PARTIAL_DISTRICTS: &[(&str, &str, &[&str])] = &[
    (
        "POLDA_METRO_JAYA",
        "36.03",
        &[
            "Teluknaga",
            "Pakuhaji",
            "Sepatan",
            "Curug",
            "Pagedangan",
            "Kelapa Dua",
            "Legok",
            "Cisauk",
        ],
    ),
    (
        "POLDA_BANTEN",
        "36.03",
        &[
            "Tigaraksa",
            "Cikupa",
            "Pasar Kemis",
            "Balaraja",
            "Cisoka",
            "Mauk",
            "Kresek",
            "Kronjo",
            "Panongan",
            "Rajeg",
        ],
    ),
];

fn rows<T: for<'de> Deserialize<'de>>(name: &str, text: &str) -> anyhow::Result<Vec<T>> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect::<Result<Vec<T>, _>>()
        .with_context(|| format!("bundled data file {name} is malformed"))
}

fn date(value: &str) -> anyhow::Result<Option<NaiveDate>> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")?))
}

fn blank_to_none(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// What `run` wrote, by table (rows offered; upserts make a second run a no-op).
#[derive(Debug, Default)]
pub struct SeedReport {
    pub provinces: usize,
    pub regencies: usize,
    pub elections: usize,
    pub stages: usize,
    pub agencies: usize,
    /// Rows the directory changed, which the seed left as they are.
    pub skipped: Vec<String>,
}

/// What ADMIN and KPU changed through the directory and schedule mutations
/// (`directory_change`): the seed never overwrites or brings back those rows, so an edit
/// made during an election survives a new data version.
struct Edited(HashSet<(String, String)>);

impl Edited {
    async fn load<C: ConnectionTrait>(db: &C) -> anyhow::Result<Self> {
        Ok(Self(
            directory_change::Entity::find()
                .all(db)
                .await?
                .into_iter()
                .map(|c| (c.entity, c.entity_key))
                .collect(),
        ))
    }

    fn contains(&self, entity: &str, key: &str) -> bool {
        self.0.contains(&(entity.to_owned(), key.to_owned()))
    }
}

/// Bump when the seeding code changes in a way the data files do not show.
const SEED_CODE_VERSION: &str = "2";

/// A digest of everything the seed writes.
fn fingerprint() -> String {
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    for part in [
        SEED_CODE_VERSION,
        PROVINCES,
        REGENCIES,
        DISTRICTS,
        ALIASES,
        CONTESTS,
        STAGES,
        SECOND_ROUND,
        CANDIDATES,
        AGENCIES,
        JURISDICTIONS,
        POSKOS,
        IKP_2022,
        IKP_PILKADA_2024,
        RESULTS,
    ] {
        sha2::Digest::update(&mut hasher, part.as_bytes());
        sha2::Digest::update(&mut hasher, [0u8]);
    }
    hex::encode(sha2::Digest::finalize(hasher))
}

/// Loads the reference data unless this database already holds this exact version of it
/// (then start-up costs one read). `None` when skipped.
pub async fn run<C: ConnectionTrait + TransactionTrait>(
    db: &C,
) -> anyhow::Result<Option<SeedReport>> {
    let current = seed_state::Entity::find_by_id("reference".to_owned())
        .one(db)
        .await?;
    if current.is_some_and(|s| s.fingerprint == fingerprint()) {
        return Ok(None);
    }
    run_all(db).await.map(Some)
}

/// Upserts every reference table in one transaction, whatever the database holds.
pub async fn run_all<C: ConnectionTrait + TransactionTrait>(db: &C) -> anyhow::Result<SeedReport> {
    let txn = db.begin().await?;
    let edited = Edited::load(&txn).await?;
    let mut skipped = Vec::new();
    let provinces = seed_regions(&txn).await?;
    let regencies = regency::Entity::find().all(&txn).await?.len();
    let elections = seed_elections(&txn).await?;
    let stages = seed_stages(&txn, &edited, &mut skipped).await?;
    seed_candidates(&txn).await?;
    let agencies = seed_agencies(&txn, &edited, &mut skipped).await?;
    seed_poskos(&txn, &edited, &mut skipped).await?;
    seed_vulnerability(&txn).await?;
    seed_results(&txn).await?;
    if !skipped.is_empty() {
        tracing::warn!(
            rows = ?skipped,
            "reference seed: left rows the directory changed as they are"
        );
    }
    seed_state::Entity::insert(seed_state::ActiveModel {
        name: Set("reference".to_owned()),
        fingerprint: Set(fingerprint()),
    })
    .on_conflict(
        OnConflict::column(seed_state::Column::Name)
            .update_column(seed_state::Column::Fingerprint)
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    // Disputes placed in a stage this data says was not held (or placed under the old
    // rule that let a never-held round's stage be in force) are placed again.
    crate::db::restage::reattribute_unheld_stages(db).await?;
    Ok(SeedReport {
        provinces,
        regencies,
        elections,
        stages,
        agencies,
        skipped,
    })
}

#[derive(Deserialize)]
struct ProvinceRow {
    code: String,
    name: String,
}

#[derive(Deserialize)]
struct RegencyRow {
    code: String,
    province_code: String,
    name: String,
    kind: String,
    is_administrative: bool,
}

#[derive(Deserialize)]
struct DistrictRow {
    code: String,
    regency_code: String,
    name: String,
}

#[derive(Deserialize)]
struct AliasRow {
    old_code_kepmendagri_2022: String,
    new_code_kepmendagri_2025: String,
}

async fn seed_regions<C: ConnectionTrait>(db: &C) -> anyhow::Result<usize> {
    let provinces: Vec<ProvinceRow> = rows("provinces.csv", PROVINCES)?;
    province::Entity::insert_many(provinces.iter().map(|row| province::ActiveModel {
        code: Set(row.code.clone()),
        name: Set(row.name.clone()),
    }))
    .on_conflict(
        OnConflict::column(province::Column::Code)
            .update_column(province::Column::Name)
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;

    let regencies: Vec<RegencyRow> = rows("regencies.csv", REGENCIES)?;
    for chunk in regencies.chunks(200) {
        let mut models = Vec::with_capacity(chunk.len());
        for row in chunk {
            let kind: RegencyKind = row
                .kind
                .parse()
                .with_context(|| format!("regency {} has unknown kind {}", row.code, row.kind))?;
            models.push(regency::ActiveModel {
                code: Set(row.code.clone()),
                province_code: Set(row.province_code.clone()),
                name: Set(row.name.clone()),
                kind: Set(kind),
                is_administrative: Set(row.is_administrative),
            });
        }
        regency::Entity::insert_many(models)
            .on_conflict(
                OnConflict::column(regency::Column::Code)
                    .update_columns([
                        regency::Column::ProvinceCode,
                        regency::Column::Name,
                        regency::Column::Kind,
                        regency::Column::IsAdministrative,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }

    let districts: Vec<DistrictRow> = rows("districts.csv", DISTRICTS)?;
    district::Entity::insert_many(districts.iter().map(|row| district::ActiveModel {
        code: Set(row.code.clone()),
        regency_code: Set(row.regency_code.clone()),
        name: Set(row.name.clone()),
    }))
    .on_conflict(
        OnConflict::column(district::Column::Code)
            .update_columns([district::Column::RegencyCode, district::Column::Name])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;

    let aliases: Vec<AliasRow> = rows("papua_barat_daya_code_changes.csv", ALIASES)?;
    region_alias::Entity::insert_many(aliases.iter().map(|row| region_alias::ActiveModel {
        old_code: Set(row.old_code_kepmendagri_2022.clone()),
        new_code: Set(row.new_code_kepmendagri_2025.clone()),
        reason: Set("Papua Barat Daya formed from Papua Barat (Kepmendagri 2025 codes)".into()),
    }))
    .on_conflict(
        OnConflict::column(region_alias::Column::OldCode)
            .update_columns([region_alias::Column::NewCode, region_alias::Column::Reason])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(provinces.len())
}

#[derive(Deserialize)]
struct ContestRow {
    region_code: String,
    election_type: String,
    held_in_2024: bool,
}

async fn seed_elections<C: ConnectionTrait>(db: &C) -> anyhow::Result<usize> {
    let contests: Vec<ContestRow> = rows("pilkada2024_regions.csv", CONTESTS)?;
    let voting_date = NaiveDate::from_ymd_opt(VOTING_DATE.0, VOTING_DATE.1, VOTING_DATE.2)
        .context("polling day is a valid date")?;
    let mut models = Vec::new();
    for row in contests.iter().filter(|row| row.held_in_2024) {
        let kind = match row.election_type.as_str() {
            "PILGUB" => ElectionKind::Governor,
            "PILBUP" => ElectionKind::Regent,
            "PILWALKOT" => ElectionKind::Mayor,
            other => bail!("contest {} has unknown type {other}", row.region_code),
        };
        let (province_code, regency_code) = match row.region_code.split_once('.') {
            Some((province, _)) => (province.to_owned(), Some(row.region_code.clone())),
            None => (row.region_code.clone(), None),
        };
        let (win_rule, max_rounds) = if RUNOFF_REGIONS.contains(&row.region_code.as_str()) {
            (WinRule::MajorityWithRunoff, 2)
        } else if EMPTY_BOX_REGIONS.contains(&row.region_code.as_str()) {
            (WinRule::MajorityAgainstEmptyBox, 1)
        } else {
            (WinRule::Plurality, 1)
        };
        models.push(election::ActiveModel {
            id: NotSet,
            region_code: Set(row.region_code.clone()),
            province_code: Set(province_code),
            regency_code: Set(regency_code),
            kind: Set(kind),
            year: Set(CYCLE_YEAR),
            voting_date: Set(voting_date),
            win_rule: Set(win_rule),
            max_rounds: Set(max_rounds),
        });
    }
    let count = models.len();
    for chunk in models.chunks(200) {
        election::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([election::Column::Year, election::Column::RegionCode])
                    .update_columns([
                        election::Column::ProvinceCode,
                        election::Column::RegencyCode,
                        election::Column::Kind,
                        election::Column::VotingDate,
                        election::Column::WinRule,
                        election::Column::MaxRounds,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(count)
}

async fn election_ids<C: ConnectionTrait>(db: &C) -> anyhow::Result<HashMap<String, i32>> {
    Ok(election::Entity::find()
        .filter(election::Column::Year.eq(CYCLE_YEAR))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.region_code, e.id))
        .collect())
}

#[derive(Deserialize)]
struct StageRow {
    seq: i32,
    code: String,
    phase: String,
    name_id: String,
    name_en: String,
    start_date: String,
    end_date: String,
    date_rule: String,
    dates_confirmed: String,
    source: String,
}

#[derive(Deserialize)]
struct SecondRoundRow {
    seq: i32,
    code: String,
    name_id: String,
    name_en: String,
    start_date: String,
    end_date: String,
    held: bool,
    source: String,
}

async fn seed_stages<C: ConnectionTrait>(
    db: &C,
    edited: &Edited,
    skipped: &mut Vec<String>,
) -> anyhow::Result<usize> {
    let mut models = Vec::new();
    for row in rows::<StageRow>("pilkada2024_stages.csv", STAGES)? {
        let phase = match row.phase.as_str() {
            "PERSIAPAN" => StagePhase::Preparation,
            "PENYELENGGARAAN" => StagePhase::Implementation,
            other => bail!("stage {} has unknown phase {other}", row.code),
        };
        models.push(election_stage::ActiveModel {
            id: NotSet,
            key: Set(format!("{CYCLE_YEAR}:NATIONAL:1:{}", row.code)),
            year: Set(CYCLE_YEAR),
            election_id: Set(None),
            seq: Set(row.seq),
            code: Set(row.code),
            name: Set(row.name_id),
            label_en: Set(row.name_en),
            phase: Set(phase),
            starts_on: Set(date(&row.start_date)?),
            ends_on: Set(date(&row.end_date)?),
            date_rule: Set(blank_to_none(&row.date_rule)),
            confirmed: Set(row.dates_confirmed == "confirmed"),
            confirmation: Set(row.dates_confirmed),
            round: Set(1),
            held: Set(true),
            source: Set(blank_to_none(&row.source)),
        });
    }
    let jakarta = *election_ids(db)
        .await?
        .get("31")
        .context("the Jakarta governor election is missing from the bundled data")?;
    for row in rows::<SecondRoundRow>("jakarta2024_second_round_schedule.csv", SECOND_ROUND)? {
        let (starts_on, ends_on) = (date(&row.start_date)?, date(&row.end_date)?);
        // Dates come from Keputusan KPU DKI 29/2024; a missing end date was not reported.
        let complete = starts_on.is_some() && ends_on.is_some();
        models.push(election_stage::ActiveModel {
            id: NotSet,
            key: Set(format!("{CYCLE_YEAR}:31:2:{}", row.code)),
            year: Set(CYCLE_YEAR),
            election_id: Set(Some(jakarta)),
            seq: Set(row.seq),
            code: Set(row.code),
            name: Set(row.name_id),
            label_en: Set(row.name_en),
            phase: Set(StagePhase::Implementation),
            starts_on: Set(starts_on),
            ends_on: Set(ends_on),
            date_rule: Set(None),
            confirmed: Set(complete),
            confirmation: Set(if complete {
                "decided_not_held"
            } else {
                "end_unreported"
            }
            .into()),
            round: Set(2),
            held: Set(row.held),
            source: Set(blank_to_none(&row.source)),
        });
    }
    let count = models.len();
    let models: Vec<election_stage::ActiveModel> = models
        .into_iter()
        .filter(|m| {
            let key = match &m.key {
                sea_orm::ActiveValue::Set(key) | sea_orm::ActiveValue::Unchanged(key) => key,
                sea_orm::ActiveValue::NotSet => return true,
            };
            let changed = edited.contains("election_stage", key);
            if changed {
                skipped.push(format!("stage {key}"));
            }
            !changed
        })
        .collect();
    election_stage::Entity::insert_many(models)
        .on_conflict(
            OnConflict::column(election_stage::Column::Key)
                .update_columns([
                    election_stage::Column::Seq,
                    election_stage::Column::Name,
                    election_stage::Column::LabelEn,
                    election_stage::Column::Phase,
                    election_stage::Column::StartsOn,
                    election_stage::Column::EndsOn,
                    election_stage::Column::DateRule,
                    election_stage::Column::Confirmed,
                    election_stage::Column::Confirmation,
                    election_stage::Column::Held,
                    election_stage::Column::Source,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(count)
}

#[derive(Deserialize)]
struct CandidateRow {
    ballot_number: i32,
    governor_candidate: String,
    vice_governor_candidate: String,
    short_name: String,
    nomination_path: String,
    supporting_parties: String,
    votes_round1: Option<i64>,
    result: String,
}

async fn seed_candidates<C: ConnectionTrait>(db: &C) -> anyhow::Result<()> {
    let jakarta = *election_ids(db)
        .await?
        .get("31")
        .context("the Jakarta governor election is missing from the bundled data")?;
    let mut models = Vec::new();
    for row in rows::<CandidateRow>("jakarta2024_candidates.csv", CANDIDATES)? {
        let path = if row.nomination_path.starts_with("INDEPENDENT") {
            NominationPath::Independent
        } else {
            NominationPath::PartyCoalition
        };
        // The file annotates the coalition in parentheses; keep only the party names.
        let parties = row
            .supporting_parties
            .split(" (")
            .next()
            .unwrap_or_default()
            .to_owned();
        models.push(candidate_pair::ActiveModel {
            id: NotSet,
            election_id: Set(jakarta),
            ballot_number: Set(row.ballot_number),
            head_name: Set(row.governor_candidate),
            deputy_name: Set(row.vice_governor_candidate),
            short_name: Set(blank_to_none(&row.short_name)),
            nomination_path: Set(path),
            supporting_parties: Set(parties),
            votes_round_one: Set(row.votes_round1),
            result: Set(blank_to_none(&row.result)),
        });
    }
    candidate_pair::Entity::insert_many(models)
        .on_conflict(
            OnConflict::columns([
                candidate_pair::Column::ElectionId,
                candidate_pair::Column::BallotNumber,
            ])
            .update_columns([
                candidate_pair::Column::HeadName,
                candidate_pair::Column::DeputyName,
                candidate_pair::Column::ShortName,
                candidate_pair::Column::NominationPath,
                candidate_pair::Column::SupportingParties,
                candidate_pair::Column::VotesRoundOne,
                candidate_pair::Column::Result,
            ])
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

#[derive(Deserialize)]
struct AgencyRow {
    code: String,
    name: String,
    kind: String,
    level: String,
    province_code: String,
}

#[derive(Deserialize)]
struct JurisdictionRow {
    agency_code: String,
    region_codes: String,
    coverage: String,
    notes: String,
    confidence: String,
}

async fn seed_agencies<C: ConnectionTrait>(
    db: &C,
    edited: &Edited,
    skipped: &mut Vec<String>,
) -> anyhow::Result<usize> {
    let agencies: Vec<AgencyRow> = rows("agencies.csv", AGENCIES)?;
    let mut models = Vec::new();
    for row in &agencies {
        if edited.contains("agency", &row.code) {
            skipped.push(format!("agency {}", row.code));
            continue;
        }
        let kind: AgencyKind = row
            .kind
            .parse()
            .with_context(|| format!("agency {} has unknown kind", row.code))?;
        let level: AgencyLevel = row
            .level
            .parse()
            .with_context(|| format!("agency {} has unknown level", row.code))?;
        models.push(agency::ActiveModel {
            code: Set(row.code.clone()),
            name: Set(row.name.clone()),
            kind: Set(kind),
            level: Set(level),
            province_code: Set(blank_to_none(&row.province_code)),
        });
    }
    agency::Entity::insert_many(models)
        .on_conflict(
            OnConflict::column(agency::Column::Code)
                .update_columns([
                    agency::Column::Name,
                    agency::Column::Kind,
                    agency::Column::Level,
                    agency::Column::ProvinceCode,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;

    let mut jurisdictions = Vec::new();
    for row in rows::<JurisdictionRow>("agency_jurisdictions.csv", JURISDICTIONS)? {
        if edited.contains("agency_jurisdiction", &row.agency_code) {
            skipped.push(format!("jurisdiction of {}", row.agency_code));
            continue;
        }
        let coverage: Coverage = row
            .coverage
            .parse()
            .with_context(|| format!("jurisdiction of {} has unknown coverage", row.agency_code))?;
        for region in row.region_codes.split(';').map(str::trim) {
            let (province_code, regency_code) = match region.split_once('.') {
                Some((province, _)) => (province.to_owned(), Some(region.to_owned())),
                None => (region.to_owned(), None),
            };
            jurisdictions.push(agency_jurisdiction::ActiveModel {
                id: NotSet,
                agency_code: Set(row.agency_code.clone()),
                region_code: Set(region.to_owned()),
                province_code: Set(province_code),
                regency_code: Set(regency_code),
                coverage: Set(coverage),
                note: Set(blank_to_none(&row.notes)),
                confidence: Set(blank_to_none(&row.confidence)),
            });
        }
    }
    agency_jurisdiction::Entity::insert_many(jurisdictions)
        .on_conflict(
            OnConflict::columns([
                agency_jurisdiction::Column::AgencyCode,
                agency_jurisdiction::Column::RegionCode,
            ])
            .update_columns([
                agency_jurisdiction::Column::ProvinceCode,
                agency_jurisdiction::Column::RegencyCode,
                agency_jurisdiction::Column::Coverage,
                agency_jurisdiction::Column::Note,
                agency_jurisdiction::Column::Confidence,
            ])
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;

    let districts_by_name: HashMap<(String, String), String> = district::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|d| ((d.regency_code, d.name), d.code))
        .collect();
    let mut links = Vec::new();
    for (agency_code, regency_code, names) in PARTIAL_DISTRICTS {
        if edited.contains("agency_jurisdiction", agency_code) {
            continue;
        }
        let jurisdiction = agency_jurisdiction::Entity::find()
            .filter(agency_jurisdiction::Column::AgencyCode.eq(*agency_code))
            .filter(agency_jurisdiction::Column::RegionCode.eq(*regency_code))
            .one(db)
            .await?
            .with_context(|| format!("{agency_code} has no jurisdiction row for {regency_code}"))?;
        for name in *names {
            let code = districts_by_name
                .get(&((*regency_code).to_owned(), (*name).to_owned()))
                .with_context(|| {
                    format!("district {name} of {regency_code} is not in districts.csv")
                })?;
            links.push(jurisdiction_district::ActiveModel {
                jurisdiction_id: Set(jurisdiction.id),
                district_code: Set(code.clone()),
            });
        }
    }
    jurisdiction_district::Entity::insert_many(links)
        .on_conflict(
            OnConflict::columns([
                jurisdiction_district::Column::JurisdictionId,
                jurisdiction_district::Column::DistrictCode,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(agencies.len())
}

#[derive(Deserialize)]
struct PoskoRow {
    province_code: String,
    name: String,
    host_agency_code: String,
    member_agency_codes: String,
    address: String,
    hotline: String,
}

async fn seed_poskos<C: ConnectionTrait>(
    db: &C,
    edited: &Edited,
    skipped: &mut Vec<String>,
) -> anyhow::Result<()> {
    for row in rows::<PoskoRow>("poskos.csv", POSKOS)? {
        posko::Entity::insert(posko::ActiveModel {
            id: NotSet,
            province_code: Set(row.province_code.clone()),
            name: Set(row.name),
            host_agency_code: Set(row.host_agency_code.clone()),
            address: Set(blank_to_none(&row.address)),
            hotline: Set(blank_to_none(&row.hotline)),
        })
        .on_conflict(
            OnConflict::column(posko::Column::ProvinceCode)
                .update_columns([
                    posko::Column::Name,
                    posko::Column::HostAgencyCode,
                    posko::Column::Address,
                    posko::Column::Hotline,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        let posko_id = posko::Entity::find()
            .filter(posko::Column::ProvinceCode.eq(&row.province_code))
            .one(db)
            .await?
            .context("the posko just written is missing")?
            .id;
        let members: Vec<posko_member::ActiveModel> =
            std::iter::once(row.host_agency_code.as_str())
                .chain(row.member_agency_codes.split(';').map(str::trim))
                .filter(|code| {
                    let key = format!("{}:{code}", row.province_code);
                    let changed = edited.contains("posko_member", &key);
                    if changed {
                        skipped.push(format!("posko member {key}"));
                    }
                    !changed
                })
                .map(|code| posko_member::ActiveModel {
                    posko_id: Set(posko_id),
                    agency_code: Set(code.to_owned()),
                })
                .collect();
        posko_member::Entity::insert_many(members)
            .on_conflict(
                OnConflict::columns([
                    posko_member::Column::PoskoId,
                    posko_member::Column::AgencyCode,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// The editions of Bawaslu's vulnerability index Posko holds, newest first.
pub const IKP_EDITIONS: &[(&str, (i32, u32, u32))] = &[
    // Pemetaan Kerawanan Pemilihan Serentak 2024, launched 26 Aug 2024: a category only.
    ("PILKADA_2024", (2024, 8, 26)),
    // IKP Pemilu dan Pemilihan Serentak 2024, launched 16 Dec 2022: a score out of 100.
    ("IKP_2022_DEC", (2022, 12, 16)),
];

#[derive(Deserialize)]
struct Ikp2022Row {
    province_code: String,
    province_name: String,
    score_0_100: f64,
    category: String,
    source: String,
}

#[derive(Deserialize)]
struct IkpPilkadaRow {
    province_code: String,
    province_name: String,
    category: String,
    indicators_present_of_27: Option<i32>,
    source: String,
}

async fn seed_vulnerability<C: ConnectionTrait>(db: &C) -> anyhow::Result<()> {
    let published = |edition: &str| -> anyhow::Result<NaiveDate> {
        IKP_EDITIONS
            .iter()
            .find(|(name, _)| *name == edition)
            .and_then(|(_, (y, m, d))| NaiveDate::from_ymd_opt(*y, *m, *d))
            .with_context(|| format!("no publication date for IKP edition {edition}"))
    };
    let mut models = Vec::new();
    for row in rows::<IkpPilkadaRow>("ikp_pilkada2024_provinces.csv", IKP_PILKADA_2024)? {
        models.push(vulnerability_index::ActiveModel {
            edition: Set("PILKADA_2024".into()),
            province_code: Set(row.province_code),
            province_name: Set(row.province_name),
            category: Set(row.category),
            score: Set(None),
            indicators_present: Set(row.indicators_present_of_27),
            published_on: Set(published("PILKADA_2024")?),
            source: Set(row.source),
        });
    }
    for row in rows::<Ikp2022Row>("ikp2024_dec2022_provinces.csv", IKP_2022)? {
        models.push(vulnerability_index::ActiveModel {
            edition: Set("IKP_2022_DEC".into()),
            province_code: Set(row.province_code),
            province_name: Set(row.province_name),
            category: Set(row.category),
            score: Set(Some(row.score_0_100)),
            indicators_present: Set(None),
            published_on: Set(published("IKP_2022_DEC")?),
            source: Set(row.source),
        });
    }
    for model in &models {
        if let Set(category) = &model.category {
            crate::domain::hotspots::VulnerabilityLevel::from_source(category)
                .with_context(|| format!("unknown IKP category {category}"))?;
        }
    }
    vulnerability_index::Entity::insert_many(models)
        .on_conflict(
            OnConflict::columns([
                vulnerability_index::Column::Edition,
                vulnerability_index::Column::ProvinceCode,
            ])
            .update_columns([
                vulnerability_index::Column::ProvinceName,
                vulnerability_index::Column::Category,
                vulnerability_index::Column::Score,
                vulnerability_index::Column::IndicatorsPresent,
                vulnerability_index::Column::PublishedOn,
                vulnerability_index::Column::Source,
            ])
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// One row of the results file: the totals, and each pair's votes from the columns named
/// `votes_<ballot number>_<short name>`.
struct ResultRow {
    region_code: String,
    region_name: String,
    votes: Vec<(i32, i64)>,
    valid_votes: i64,
    invalid_votes: i64,
    votes_cast: i64,
    registered_voters: Option<i64>,
    source: String,
}

fn result_rows(text: &str) -> anyhow::Result<Vec<ResultRow>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers()?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("jakarta2024_results_by_region.csv has no {name} column"))
    };
    let (code, name, valid, invalid, cast, registered, source) = (
        column("region_code")?,
        column("region_name")?,
        column("valid_votes")?,
        column("invalid_votes")?,
        column("votes_cast")?,
        column("dpt_registered_voters")?,
        column("source")?,
    );
    let pairs: Vec<(usize, i32)> = headers
        .iter()
        .enumerate()
        .filter_map(|(index, header)| {
            let number = header.strip_prefix("votes_")?.split('_').next()?;
            number.parse().ok().map(|n| (index, n))
        })
        .collect();
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record?;
        let field = |index: usize| record.get(index).unwrap_or_default().trim();
        let count = |index: usize| -> anyhow::Result<i64> {
            field(index).parse().with_context(|| {
                format!("results of {}: {:?} is no count", field(code), field(index))
            })
        };
        let mut votes = Vec::new();
        for (index, number) in &pairs {
            votes.push((*number, count(*index)?));
        }
        out.push(ResultRow {
            region_code: field(code).to_owned(),
            region_name: field(name).to_owned(),
            votes,
            valid_votes: count(valid)?,
            invalid_votes: count(invalid)?,
            votes_cast: count(cast)?,
            registered_voters: if field(registered).is_empty() {
                None
            } else {
                Some(count(registered)?)
            },
            source: field(source).to_owned(),
        });
    }
    Ok(out)
}

/// Jakarta's round-one count by region (the only round held).
async fn seed_results<C: ConnectionTrait>(db: &C) -> anyhow::Result<()> {
    let jakarta = *election_ids(db)
        .await?
        .get("31")
        .context("the Jakarta governor election is missing from the bundled data")?;
    let rows = result_rows(RESULTS)?;
    region_result::Entity::insert_many(rows.iter().map(|row| region_result::ActiveModel {
        id: NotSet,
        election_id: Set(jakarta),
        round: Set(1),
        region_code: Set(row.region_code.clone()),
        region_name: Set(row.region_name.clone()),
        valid_votes: Set(row.valid_votes),
        invalid_votes: Set(row.invalid_votes),
        votes_cast: Set(row.votes_cast),
        registered_voters: Set(row.registered_voters),
        source: Set(row.source.clone()),
    }))
    .on_conflict(
        OnConflict::columns([
            region_result::Column::ElectionId,
            region_result::Column::Round,
            region_result::Column::RegionCode,
        ])
        .update_columns([
            region_result::Column::RegionName,
            region_result::Column::ValidVotes,
            region_result::Column::InvalidVotes,
            region_result::Column::VotesCast,
            region_result::Column::RegisteredVoters,
            region_result::Column::Source,
        ])
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    let ids: HashMap<String, i32> = region_result::Entity::find()
        .filter(region_result::Column::ElectionId.eq(jakarta))
        .filter(region_result::Column::Round.eq(1))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.region_code, r.id))
        .collect();
    let mut votes = Vec::new();
    for row in &rows {
        let result_id = *ids.get(&row.region_code).with_context(|| {
            format!("the result of {} just written is missing", row.region_code)
        })?;
        for (ballot_number, count) in &row.votes {
            votes.push(region_result_votes::ActiveModel {
                result_id: Set(result_id),
                ballot_number: Set(*ballot_number),
                votes: Set(*count),
            });
        }
    }
    region_result_votes::Entity::insert_many(votes)
        .on_conflict(
            OnConflict::columns([
                region_result_votes::Column::ResultId,
                region_result_votes::Column::BallotNumber,
            ])
            .update_column(region_result_votes::Column::Votes)
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_files_parse_and_hold_the_official_counts() {
        assert_eq!(rows::<ProvinceRow>("p", PROVINCES).unwrap().len(), 38);
        assert_eq!(rows::<RegencyRow>("r", REGENCIES).unwrap().len(), 514);
        let held = rows::<ContestRow>("c", CONTESTS)
            .unwrap()
            .into_iter()
            .filter(|c| c.held_in_2024)
            .count();
        assert_eq!(held, 545);
        let results = result_rows(RESULTS).unwrap();
        let total = results.iter().find(|r| r.region_code == "31").unwrap();
        assert_eq!(total.votes, [(1, 1_718_160), (2, 459_230), (3, 2_183_239)]);
        // The cities add up to the province's total.
        let cities: i64 = results
            .iter()
            .filter(|r| r.region_code != "31")
            .map(|r| r.valid_votes)
            .sum();
        assert_eq!(cities, total.valid_votes);
    }
}
