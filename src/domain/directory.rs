//! Changing the schedule (KPU, for elections in its jurisdiction) and the directory
//! (ADMIN: agencies, their jurisdictions, posko membership). Every change is recorded in
//! `directory_change` with who, when, and the row before and after.

use chrono::NaiveDate;
use entity::{
    agency, agency_jurisdiction, directory_change, election, election_stage, jurisdiction_district,
    posko, posko_member,
};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    TransactionTrait,
};
use serde_json::{Value, json};

use crate::auth::policy::{self, Action};
use crate::auth::viewer::Viewer;
use crate::domain::reference;
use crate::domain::types::{AgencyKind, AgencyLevel, Coverage, StagePhase};
use crate::domain::workflow::{self, text};
use crate::error::{AppError, AppResult};

async fn record<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    entity: &str,
    key: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> AppResult<()> {
    directory_change::Entity::insert(directory_change::ActiveModel {
        id: NotSet,
        at: Set(workflow::now()),
        actor_sub: Set(viewer.subject_or_public().to_owned()),
        actor_agency: Set(viewer.agency_code.clone().unwrap_or_default()),
        entity: Set(entity.to_owned()),
        entity_key: Set(key.to_owned()),
        before: Set(before.map(|v| v.to_string())),
        after: Set(after.map(|v| v.to_string())),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

fn stage_json(stage: &election_stage::Model) -> Value {
    json!({
        "code": stage.code, "name": stage.name, "labelEn": stage.label_en, "phase": stage.phase,
        "startsOn": stage.starts_on, "endsOn": stage.ends_on, "dateRule": stage.date_rule,
        "confirmed": stage.confirmed, "round": stage.round, "held": stage.held,
    })
}

fn check_code(field: &'static str, code: &str) -> AppResult<String> {
    let code = code.trim();
    let ok = !code.is_empty()
        && code.len() <= 60
        && code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(code.to_owned())
    } else {
        Err(AppError::bad_input(
            field,
            format!("{field} must be 1–60 of A–Z, 0–9 and _"),
        ))
    }
}

fn check_dates(starts_on: Option<NaiveDate>, ends_on: Option<NaiveDate>) -> AppResult<()> {
    if let (Some(start), Some(end)) = (starts_on, ends_on)
        && start > end
    {
        return Err(AppError::bad_input("endsOn", "endsOn is before startsOn"));
    }
    Ok(())
}

/// A client's id of a row, read only after the permission check (a malformed id is the
/// caller's input like any other).
pub fn parse_id(field: &'static str, id: &str) -> AppResult<i32> {
    id.parse()
        .map_err(|_| AppError::bad_input(field, "not a valid id"))
}

async fn editable_election(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: &str,
) -> AppResult<election::Model> {
    policy::permit(viewer, Action::EditSchedule)?;
    let id = parse_id("electionId", id)?;
    let election = reference::election(db, id)
        .await?
        .ok_or_else(|| AppError::bad_input("electionId", "unknown election"))?;
    let regency = election.regency_code.clone().unwrap_or_default();
    let in_scope = match &election.regency_code {
        Some(_) => policy::covers(
            &viewer.jurisdiction,
            &election.province_code,
            &regency,
            None,
        ),
        // A governor's election is the province's: only a body covering the whole
        // province (or the country) schedules it.
        None => policy::covers_whole_province(viewer, &election.province_code),
    };
    if !in_scope {
        return Err(AppError::forbidden(
            "the election is outside your agency's jurisdiction",
        ));
    }
    Ok(election)
}

/// A new stage of one election (e.g. Jakarta's second round).
pub struct NewStage {
    /// As the client sent it.
    pub election_id: String,
    pub code: String,
    pub name: String,
    pub label_en: String,
    pub phase: StagePhase,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub date_rule: Option<String>,
    pub round: i32,
    pub confirmed: bool,
}

/// Adds a stage to an election in the KPU's jurisdiction; a round beyond the election's
/// `maxRounds` (a second round where the win rule has none) is refused.
pub async fn create_stage(
    db: &DatabaseConnection,
    viewer: &Viewer,
    input: NewStage,
) -> AppResult<election_stage::Model> {
    let election = editable_election(db, viewer, &input.election_id).await?;
    let code = check_code("code", &input.code)?;
    let name = text("name", &input.name, 200, true)?;
    let label_en = text("labelEn", &input.label_en, 200, true)?;
    let date_rule = input
        .date_rule
        .as_deref()
        .map(|r| text("dateRule", r, 500, true))
        .transpose()?;
    if input.round < 1 || input.round > election.max_rounds {
        return Err(AppError::bad_input(
            "round",
            format!(
                "this election has {} round(s) under its win rule {}",
                election.max_rounds, election.win_rule
            ),
        ));
    }
    check_dates(input.starts_on, input.ends_on)?;
    let key = format!(
        "{}:{}:{}:{}",
        election.year, election.region_code, input.round, code
    );
    if election_stage::Entity::find()
        .filter(election_stage::Column::Key.eq(key.clone()))
        .one(db)
        .await?
        .is_some()
    {
        return Err(AppError::bad_input(
            "code",
            "that stage already exists in this round",
        ));
    }
    let seq = election_stage::Entity::find()
        .filter(election_stage::Column::ElectionId.eq(election.id))
        .filter(election_stage::Column::Round.eq(input.round))
        .all(db)
        .await?
        .iter()
        .map(|s| s.seq)
        .max()
        .unwrap_or(0)
        + 1;
    let txn = db.begin().await?;
    let stage = election_stage::ActiveModel {
        id: NotSet,
        key: Set(key.clone()),
        year: Set(election.year),
        election_id: Set(Some(election.id)),
        seq: Set(seq),
        code: Set(code),
        name: Set(name),
        label_en: Set(label_en),
        phase: Set(input.phase),
        starts_on: Set(input.starts_on),
        ends_on: Set(input.ends_on),
        date_rule: Set(date_rule),
        confirmed: Set(input.confirmed),
        confirmation: Set(if input.confirmed {
            "confirmed"
        } else {
            "planned"
        }
        .to_owned()),
        round: Set(input.round),
        held: Set(true),
        source: Set(Some(format!(
            "entered by {}",
            viewer.agency_code.clone().unwrap_or_default()
        ))),
    }
    .insert(&txn)
    .await?;
    record(
        &txn,
        viewer,
        "election_stage",
        &key,
        None,
        Some(stage_json(&stage)),
    )
    .await?;
    txn.commit().await?;
    Ok(stage)
}

/// Changes to a stage; `None` keeps a value.
#[derive(Default)]
pub struct StageChanges {
    pub name: Option<String>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub date_rule: Option<String>,
    pub confirmed: Option<bool>,
    pub held: Option<bool>,
}

/// Edits a stage of an election in the KPU's jurisdiction (the national schedule only for
/// a national KPU).
pub async fn update_stage(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: &str,
    changes: StageChanges,
) -> AppResult<election_stage::Model> {
    policy::permit(viewer, Action::EditSchedule)?;
    let id = parse_id("id", id)?;
    let stage = election_stage::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::bad_input("id", "unknown stage"))?;
    match stage.election_id {
        Some(election_id) => {
            editable_election(db, viewer, &election_id.to_string()).await?;
        }
        None if policy::covers_whole_country(viewer) => {}
        None => {
            return Err(AppError::forbidden(
                "a stage of the national schedule needs a national agency",
            ));
        }
    }
    let before = stage_json(&stage);
    let mut active: election_stage::ActiveModel = stage.clone().into();
    if let Some(name) = &changes.name {
        active.name = Set(text("name", name, 200, true)?);
    }
    if let Some(rule) = &changes.date_rule {
        active.date_rule = Set(Some(text("dateRule", rule, 500, true)?));
    }
    let starts_on = changes.starts_on.or(stage.starts_on);
    let ends_on = changes.ends_on.or(stage.ends_on);
    check_dates(starts_on, ends_on)?;
    active.starts_on = Set(starts_on);
    active.ends_on = Set(ends_on);
    if let Some(confirmed) = changes.confirmed {
        active.confirmed = Set(confirmed);
    }
    if let Some(held) = changes.held {
        active.held = Set(held);
    }
    let txn = db.begin().await?;
    let updated = active.update(&txn).await?;
    record(
        &txn,
        viewer,
        "election_stage",
        &updated.key,
        Some(before),
        Some(stage_json(&updated)),
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// An agency as ADMIN enters it.
pub struct AgencyInput {
    pub code: String,
    pub name: String,
    pub kind: AgencyKind,
    pub level: AgencyLevel,
    pub province_code: String,
}

fn agency_json(agency: &agency::Model) -> Value {
    json!({ "code": agency.code, "name": agency.name, "kind": agency.kind, "level": agency.level, "province": agency.province_code })
}

/// Creates or edits a provincial or regency agency of a province in ADMIN's jurisdiction.
pub async fn upsert_agency(
    db: &DatabaseConnection,
    viewer: &Viewer,
    input: AgencyInput,
) -> AppResult<agency::Model> {
    policy::permit(viewer, Action::ManageDirectory)?;
    let code = check_code("code", &input.code)?;
    let name = text("name", &input.name, 200, true)?;
    if input.level.is_national() {
        return Err(AppError::forbidden(
            "national agencies are not managed from a province's posko",
        ));
    }
    if reference::province(db, &input.province_code)
        .await?
        .is_none()
    {
        return Err(AppError::bad_input("provinceCode", "unknown province"));
    }
    if !policy::covers_whole_province(viewer, &input.province_code) {
        return Err(AppError::forbidden(
            "the province is outside your agency's jurisdiction",
        ));
    }
    let existing = agency::Entity::find_by_id(code.clone()).one(db).await?;
    if let Some(existing) = &existing
        && !existing
            .province_code
            .as_deref()
            .is_some_and(|p| policy::covers_whole_province(viewer, p))
    {
        return Err(AppError::forbidden(
            "the agency belongs to a province outside your jurisdiction",
        ));
    }
    let txn = db.begin().await?;
    let row = agency::ActiveModel {
        code: Set(code.clone()),
        name: Set(name),
        kind: Set(input.kind),
        level: Set(input.level),
        province_code: Set(Some(input.province_code.clone())),
    };
    let saved = if existing.is_some() {
        row.update(&txn).await?
    } else {
        row.insert(&txn).await?
    };
    record(
        &txn,
        viewer,
        "agency",
        &code,
        existing.as_ref().map(agency_json),
        Some(agency_json(&saved)),
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

/// One region of a jurisdiction as ADMIN enters it.
pub struct RegionGrant {
    pub code: String,
    pub coverage: Coverage,
    pub district_codes: Vec<String>,
}

/// Replaces the part of an agency's jurisdiction that lies inside ADMIN's own: every
/// region given must lie there, and the agency's rows outside it (Polda Metro Jaya's
/// Depok, Bekasi and Tangerang, for Kesbangpol DKI) are kept as they are. PARTIAL needs
/// districts of that regency.
pub async fn set_jurisdiction(
    db: &DatabaseConnection,
    viewer: &Viewer,
    agency_code: &str,
    regions: Vec<RegionGrant>,
) -> AppResult<agency::Model> {
    policy::permit(viewer, Action::ManageDirectory)?;
    let agency = reference::agency(db, agency_code)
        .await?
        .ok_or_else(|| AppError::bad_input("agencyCode", "unknown agency"))?;
    if agency.level.is_national()
        || !agency
            .province_code
            .as_deref()
            .is_some_and(|p| policy::covers_whole_province(viewer, p))
    {
        return Err(AppError::forbidden(
            "the agency belongs to a province outside your jurisdiction",
        ));
    }
    let mut rows = Vec::new();
    for grant in regions {
        let code = reference::canonical_code(db, grant.code.trim()).await?;
        let (province, regency) = match code.split_once('.') {
            Some((province, _)) => {
                reference::regency(db, &code).await?.ok_or_else(|| {
                    AppError::bad_input("regions", format!("unknown region {code}"))
                })?;
                (province.to_owned(), Some(code.clone()))
            }
            None => {
                reference::province(db, &code).await?.ok_or_else(|| {
                    AppError::bad_input("regions", format!("unknown region {code}"))
                })?;
                (code.clone(), None)
            }
        };
        if !policy::manages_region(viewer, &province, regency.as_deref()) {
            return Err(AppError::forbidden(
                "a region of that grant is outside your agency's jurisdiction",
            ));
        }
        if grant.coverage == Coverage::Partial
            && (regency.is_none() || grant.district_codes.is_empty())
        {
            return Err(AppError::bad_input(
                "regions",
                "PARTIAL coverage names districts of a regency",
            ));
        }
        for district in &grant.district_codes {
            if !district.starts_with(&format!("{code}.")) {
                return Err(AppError::bad_input(
                    "regions",
                    format!("district {district} is not in {code}"),
                ));
            }
        }
        rows.push((
            code,
            province,
            regency,
            grant.coverage,
            grant.district_codes,
        ));
    }
    let txn = db.begin().await?;
    let (replaced, kept): (Vec<_>, Vec<_>) = agency_jurisdiction::Entity::find()
        .filter(agency_jurisdiction::Column::AgencyCode.eq(agency_code))
        .all(&txn)
        .await?
        .into_iter()
        .partition(|j| policy::manages_region(viewer, &j.province_code, j.regency_code.as_deref()));
    let before: Vec<String> = replaced
        .iter()
        .map(|j| format!("{}:{}", j.region_code, j.coverage))
        .collect();
    let replaced_ids: Vec<i32> = replaced.iter().map(|j| j.id).collect();
    jurisdiction_district::Entity::delete_many()
        .filter(jurisdiction_district::Column::JurisdictionId.is_in(replaced_ids.clone()))
        .exec(&txn)
        .await?;
    agency_jurisdiction::Entity::delete_many()
        .filter(agency_jurisdiction::Column::Id.is_in(replaced_ids))
        .exec(&txn)
        .await?;
    if rows
        .iter()
        .any(|(code, ..)| kept.iter().any(|k| &k.region_code == code))
    {
        return Err(AppError::bad_input(
            "regions",
            "a region is already granted by a body outside your jurisdiction",
        ));
    }
    let mut after = Vec::new();
    for (code, province, regency, coverage, districts) in rows {
        let saved = agency_jurisdiction::ActiveModel {
            id: NotSet,
            agency_code: Set(agency_code.to_owned()),
            region_code: Set(code.clone()),
            province_code: Set(province),
            regency_code: Set(regency),
            coverage: Set(coverage),
            note: Set(Some(format!(
                "set by {}",
                viewer.agency_code.clone().unwrap_or_default()
            ))),
            confidence: Set(Some("entered".into())),
        }
        .insert(&txn)
        .await?;
        for district in districts {
            jurisdiction_district::ActiveModel {
                jurisdiction_id: Set(saved.id),
                district_code: Set(district),
            }
            .insert(&txn)
            .await
            .map_err(|_| AppError::bad_input("regions", "unknown district code"))?;
        }
        after.push(format!("{code}:{}", coverage.as_str()));
    }
    record(
        &txn,
        viewer,
        "agency_jurisdiction",
        agency_code,
        Some(json!(before)),
        Some(json!(after)),
    )
    .await?;
    txn.commit().await?;
    Ok(agency)
}

/// Adds (or removes) an agency to (from) a posko of ADMIN's province.
pub async fn set_posko_member(
    db: &DatabaseConnection,
    viewer: &Viewer,
    province_code: &str,
    agency_code: &str,
    member: bool,
) -> AppResult<posko::Model> {
    policy::permit(viewer, Action::ManageDirectory)?;
    let posko = reference::posko(db, province_code)
        .await?
        .ok_or_else(|| AppError::bad_input("provinceCode", "no posko in that province"))?;
    if !policy::covers_whole_province(viewer, &posko.province_code) {
        return Err(AppError::forbidden(
            "that posko's province is outside your agency's jurisdiction",
        ));
    }
    if reference::agency(db, agency_code).await?.is_none() {
        return Err(AppError::bad_input("agencyCode", "unknown agency"));
    }
    let existing = posko_member::Entity::find_by_id((posko.id, agency_code.to_owned()))
        .one(db)
        .await?;
    if agency_code == posko.host_agency_code && !member {
        return Err(AppError::bad_input(
            "agencyCode",
            "the host agency stays a member",
        ));
    }
    let txn = db.begin().await?;
    match (member, existing.is_some()) {
        (true, false) => {
            posko_member::ActiveModel {
                posko_id: Set(posko.id),
                agency_code: Set(agency_code.to_owned()),
            }
            .insert(&txn)
            .await?;
        }
        (false, true) => {
            posko_member::Entity::delete_by_id((posko.id, agency_code.to_owned()))
                .exec(&txn)
                .await?;
        }
        _ => {
            return Err(AppError::bad_input(
                "agencyCode",
                if member {
                    "already a member"
                } else {
                    "not a member"
                },
            ));
        }
    }
    record(
        &txn,
        viewer,
        "posko_member",
        &format!("{}:{agency_code}", posko.province_code),
        Some(json!(!member)),
        Some(json!(member)),
    )
    .await?;
    txn.commit().await?;
    Ok(posko)
}
