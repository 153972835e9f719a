//! `reportDispute`: validating a report, placing it (stage in force, election), and
//! writing it once even when the client retries.

use chrono::{DateTime, Duration, Utc};
use entity::{dispute, dispute_party};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, SqlErr, TransactionTrait,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::auth::policy::{self, Action};
use crate::auth::viewer::Viewer;
use crate::domain::changes;
use crate::domain::disputes;
use crate::domain::reference::utc_offset_hours;
use crate::domain::reference_snapshot::ReferenceSnapshot;
use crate::domain::tally;
use crate::domain::types::{DisputeCategory, DisputeStatus, EventKind, ReporterKind, Severity};
use crate::domain::visible::VisibleDispute;
use crate::domain::workflow::{self, Change, text};
use crate::error::{AppError, AppResult};

/// Longest title.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
/// Longest location text, reporter name or contact.
pub const MAX_SHORT_TEXT_CHARS: usize = 500;
/// Longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 100;
/// Clock skew tolerated on `occurredAt`.
const FUTURE_TOLERANCE_MINUTES: i64 = 5;

/// Who reported, as given.
#[derive(Clone, Debug, Serialize)]
pub struct NewReporter {
    pub name: Option<String>,
    pub contact: Option<String>,
    pub kind: ReporterKind,
}

/// A report as given by the caller.
#[derive(Clone, Debug, Serialize)]
pub struct NewReport {
    pub regency_code: String,
    pub district_code: Option<String>,
    pub location_text: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub category: DisputeCategory,
    pub severity: Severity,
    pub title: String,
    pub description: String,
    pub party_ballot_numbers: Vec<i32>,
    pub reporter: Option<NewReporter>,
    pub restricted: bool,
    pub idempotency_key: Option<String>,
}

impl NewReport {
    /// A digest of everything but the key, to tell a retry from a different report.
    fn fingerprint(&self) -> String {
        let mut copy = self.clone();
        copy.idempotency_key = None;
        hex::encode(Sha256::digest(
            serde_json::to_vec(&copy).unwrap_or_default(),
        ))
    }
}

fn optional_text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> AppResult<Option<String>> {
    Ok(value
        .map(|v| text(field, v, max, false))
        .transpose()?
        .filter(|v| !v.is_empty()))
}

/// Files a report, or returns the earlier one filed with the same idempotency key by the
/// same agency (`true` when replayed).
///
/// The place is validated and classified (election, stage in force) against the
/// reference data in memory, which is what any read before the transaction would see too:
/// at most `reference_cache::POLL_INTERVAL` behind a change made on another instance.
pub async fn report(
    db: &DatabaseConnection,
    reference: &ReferenceSnapshot,
    viewer: &Viewer,
    input: NewReport,
) -> AppResult<(VisibleDispute, bool)> {
    filed(db, reference, viewer, input)
        .await
        .map(|(row, replayed)| (VisibleDispute::new(row), replayed))
}

async fn filed(
    db: &DatabaseConnection,
    reference: &ReferenceSnapshot,
    viewer: &Viewer,
    input: NewReport,
) -> AppResult<(dispute::Model, bool)> {
    policy::permit(viewer, Action::ReportDispute)?;
    let agency = viewer.agency_code.clone().ok_or(AppError::forbidden(
        "a report needs a token naming an agency",
    ))?;
    let title = text("title", &input.title, MAX_TITLE_CHARS, true)?;
    let description = text(
        "description",
        &input.description,
        MAX_DESCRIPTION_CHARS,
        true,
    )?;
    let location_text = optional_text(
        "locationText",
        input.location_text.as_deref(),
        MAX_SHORT_TEXT_CHARS,
    )?;
    let key = optional_text(
        "idempotencyKey",
        input.idempotency_key.as_deref(),
        MAX_IDEMPOTENCY_KEY_CHARS,
    )?;
    let reporter = match &input.reporter {
        None => None,
        Some(r) => Some((
            optional_text("reporter.name", r.name.as_deref(), MAX_SHORT_TEXT_CHARS)?,
            optional_text(
                "reporter.contact",
                r.contact.as_deref(),
                MAX_SHORT_TEXT_CHARS,
            )?,
            r.kind,
        )),
    };
    if input.occurred_at > Utc::now() + Duration::minutes(FUTURE_TOLERANCE_MINUTES) {
        return Err(AppError::bad_input(
            "occurredAt",
            "occurredAt is in the future",
        ));
    }
    let regency = reference
        .regency(&input.regency_code)
        .ok_or_else(|| AppError::bad_input("regencyCode", "unknown regency or city code"))?;
    let district_code = match input.district_code.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(code) => Some(check_district(reference, &regency.code, code)?),
    };
    if !policy::covers(
        &viewer.jurisdiction,
        &regency.province_code,
        &regency.code,
        district_code.as_deref(),
    ) {
        return Err(AppError::forbidden(
            "the regency (or district) is outside your agency's jurisdiction",
        ));
    }

    // A retry is found by the unique index on (agency, idempotency key) when the insert
    // below fails, not by a read before it: the first attempt, which is nearly every
    // report, costs one statement fewer.

    let local = input.occurred_at + Duration::hours(utc_offset_hours(&regency.province_code));
    // Posko holds one Pilkada cycle; a report belongs to it (a later cycle adds its year).
    let cycle = crate::db::seed::CYCLE_YEAR;
    let election = reference.election_for(&regency.province_code, &regency.code, cycle);
    let stage = reference.stage_in_force(election, cycle, local.date_naive());
    let mut pair_ids = Vec::new();
    let mut numbers = input.party_ballot_numbers.clone();
    numbers.sort_unstable();
    numbers.dedup();
    if !numbers.is_empty() {
        let pairs = election.map_or_else(Vec::new, |e| reference.candidates_of(e.id));
        for number in numbers {
            let pair = pairs
                .iter()
                .find(|p| p.ballot_number == number)
                .ok_or_else(|| {
                    AppError::bad_input(
                        "partyBallotNumbers",
                        format!("no pair number {number} runs in this region's election"),
                    )
                })?;
            pair_ids.push(pair.id);
        }
    }

    let at = workflow::now();
    let fingerprint = input.fingerprint();
    let txn = db.begin().await?;
    let inserted = dispute::Entity::insert(dispute::ActiveModel {
        id: NotSet,
        public_id: Set(disputes::new_public_id()),
        ref_no: Set(new_ref_no(&regency.province_code, at)),
        title: Set(title),
        description: Set(description),
        category: Set(input.category),
        severity: Set(input.severity),
        status: Set(DisputeStatus::Reported),
        province_code: Set(regency.province_code.clone()),
        regency_code: Set(regency.code.clone()),
        district_code: Set(district_code),
        location_text: Set(location_text),
        election_id: Set(election.map(|e| e.id)),
        stage_id: Set(stage.map(|s| s.id)),
        stage_code: Set(stage.map(|s| s.code.clone())),
        occurred_at: Set(input.occurred_at),
        reported_at: Set(at),
        updated_at: Set(at),
        restricted: Set(input.restricted),
        reporter_name: Set(reporter.as_ref().and_then(|r| r.0.clone())),
        reporter_contact: Set(reporter.as_ref().and_then(|r| r.1.clone())),
        reporter_kind: Set(reporter.as_ref().map(|r| r.2)),
        violation: Set(None),
        outcome: Set(None),
        reported_by_agency: Set(agency.clone()),
        reported_by_sub: Set(viewer.subject_or_public().to_owned()),
        idempotency_key: Set(key.clone()),
        request_hash: Set(Some(fingerprint.clone())),
        version: Set(1),
    })
    .exec_with_returning(&txn)
    .await;
    let created = match inserted {
        Ok(row) => row,
        Err(err)
            if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
                && key.is_some() =>
        {
            // A concurrent retry with the same key won the race: answer as a replay.
            drop(txn);
            let key = key.unwrap_or_default();
            return match replay(db, viewer, &agency, &key, &fingerprint).await? {
                Some(existing) => Ok((existing, true)),
                None => Err(AppError::Internal(anyhow::anyhow!(
                    "idempotent insert lost but no row found"
                ))),
            };
        }
        Err(err) => return Err(err.into()),
    };
    if !policy::sees_as_reporter(viewer, &created) {
        return Err(AppError::Internal(anyhow::anyhow!(
            "a report its own agency may not read back"
        )));
    }
    if !pair_ids.is_empty() {
        dispute_party::Entity::insert_many(pair_ids.into_iter().map(|pair| {
            dispute_party::ActiveModel {
                dispute_id: Set(created.id),
                candidate_pair_id: Set(pair),
            }
        }))
        .exec_without_returning(&txn)
        .await?;
    }
    let mut change = Change::new(EventKind::Reported);
    change.to_status = Some(DisputeStatus::Reported);
    let mut changes = serde_json::Map::new();
    changes.insert("status".into(), serde_json::json!([null, "REPORTED"]));
    workflow::append_event(&txn, viewer, &created, 1, at, &change, changes).await?;
    tally::count_new(&txn, &created).await?;
    changes::notify_in(&txn, created.id, 1).await?;
    txn.commit().await?;
    Ok((created, false))
}

/// Letters and digits that survive being read over the phone (Crockford's base 32: no I,
/// L, O or U).
const REF_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A reference number staff can read aloud, e.g. `PSK-31-2024-7KQ2M-9XAB3`: the province
/// and year, then 50 random bits, so it is not a sequence a caller could count disputes
/// with (and two collide once in about 10^15).
fn new_ref_no(province_code: &str, at: DateTime<Utc>) -> String {
    let bits = rand::random::<u64>();
    let symbol = |i: u32| char::from(REF_ALPHABET[((bits >> (5 * i)) & 31) as usize]);
    let first: String = (0..5).map(symbol).collect();
    let second: String = (5..10).map(symbol).collect();
    format!("PSK-{province_code}-{}-{first}-{second}", at.format("%Y"))
}

fn check_district(
    reference: &ReferenceSnapshot,
    regency_code: &str,
    code: &str,
) -> AppResult<String> {
    let well_formed = code.len() == 8
        && code.split('.').count() == 3
        && code
            .split('.')
            .all(|part| part.len() == 2 && part.chars().all(|c| c.is_ascii_digit()));
    if !well_formed {
        return Err(AppError::bad_input(
            "districtCode",
            "a district code looks like 36.03.13",
        ));
    }
    if !code.starts_with(&format!("{regency_code}.")) {
        return Err(AppError::bad_input(
            "districtCode",
            "the district is not in that regency or city",
        ));
    }
    // Posko loads districts only where it needs them; where it knows a regency's
    // districts, the code must be one of them.
    let known = reference.districts_of(regency_code);
    if !known.is_empty() && !known.iter().any(|k| k.code == code) {
        return Err(AppError::bad_input("districtCode", "unknown district code"));
    }
    Ok(code.to_owned())
}

async fn replay(
    db: &DatabaseConnection,
    viewer: &Viewer,
    agency: &str,
    key: &str,
    fingerprint: &str,
) -> AppResult<Option<dispute::Model>> {
    let Some(existing) = policy::visible_disputes(viewer)
        .filter(dispute::Column::ReportedByAgency.eq(agency))
        .filter(dispute::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if existing.request_hash.as_deref() == Some(fingerprint) {
        Ok(Some(existing))
    } else {
        // The key is the caller's own agency's, and the first dispute is one it sees.
        Err(AppError::IdempotencyKeyReused {
            first: existing.public_id,
        })
    }
}
