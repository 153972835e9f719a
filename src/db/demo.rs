//! `posko seed-demo`: realistic, deterministic disputes for demos and benchmarks. The same
//! seed on an empty database gives the same rows; inserts are batched so 200 000 disputes
//! with about a million events load in minutes on either backend.

use std::time::Instant;

use anyhow::{Context as _, bail};
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use entity::{
    dispute, dispute_assignment, dispute_escalation, dispute_event, election, election_stage,
    regency,
};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Statement, TransactionSession, TransactionTrait,
};

use crate::domain::timeline::{EventContent, GENESIS_HASH, event_hash};
use crate::domain::types::{
    DisputeCategory, DisputeStatus, EscalationTarget, EventKind, ReporterKind, Role, Severity,
    ViolationClass,
};

/// Disputes per insert transaction.
const BATCH: usize = 2_000;

/// Options of `posko seed-demo`.
pub struct DemoOptions {
    pub disputes: usize,
    pub seed: u64,
    /// Print progress to stderr.
    pub progress: bool,
}

/// What was loaded.
#[derive(Debug)]
pub struct DemoReport {
    pub disputes: usize,
    pub events: usize,
    pub seconds: f64,
}

/// kind, actor role, actor agency, changes, note, audience.
type PlannedEvent<'a> = (
    EventKind,
    Role,
    &'a str,
    Option<String>,
    Option<String>,
    Option<&'a str>,
);

struct Stage {
    id: i32,
    code: String,
    starts: NaiveDate,
    ends: NaiveDate,
}

struct Region {
    code: String,
    province: String,
}

const CATEGORIES: &[(DisputeCategory, u32)] = &[
    (DisputeCategory::MoneyPolitics, 20),
    (DisputeCategory::Neutrality, 16),
    (DisputeCategory::HoaxOrSara, 14),
    (DisputeCategory::CampaignProps, 18),
    (DisputeCategory::QuietPeriodCampaigning, 6),
    (DisputeCategory::Intimidation, 8),
    (DisputeCategory::Clash, 6),
    (DisputeCategory::CountingObjection, 8),
    (DisputeCategory::Other, 4),
];

const SEVERITIES: &[(Severity, u32)] = &[
    (Severity::Low, 35),
    (Severity::Medium, 40),
    (Severity::High, 20),
    (Severity::Critical, 5),
];

const STATUSES: &[(DisputeStatus, u32)] = &[
    (DisputeStatus::Reported, 18),
    (DisputeStatus::Verified, 14),
    (DisputeStatus::InMediation, 14),
    (DisputeStatus::Escalated, 16),
    (DisputeStatus::Resolved, 28),
    (DisputeStatus::Dismissed, 10),
];

fn weighted<T: Copy>(rng: &mut ChaCha8Rng, table: &[(T, u32)]) -> T {
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total);
    for (value, weight) in table {
        if pick < *weight {
            return *value;
        }
        pick -= weight;
    }
    table[0].0
}

fn title(category: DisputeCategory, place: &str) -> String {
    let what = match category {
        DisputeCategory::MoneyPolitics => "Dugaan politik uang (serangan fajar)",
        DisputeCategory::Neutrality => "Dugaan ketidaknetralan ASN/kepala desa",
        DisputeCategory::HoaxOrSara => "Penyebaran hoaks bernuansa SARA",
        DisputeCategory::CampaignProps => "Perusakan alat peraga kampanye",
        DisputeCategory::QuietPeriodCampaigning => "Kampanye di masa tenang",
        DisputeCategory::Intimidation => "Intimidasi terhadap pendukung",
        DisputeCategory::Clash => "Bentrokan antarpendukung",
        DisputeCategory::CountingObjection => "Keberatan saksi saat penghitungan suara",
        DisputeCategory::Other => "Laporan gangguan lain",
    };
    format!("{what} di {place}")
}

/// Loads `options.disputes` demo disputes with their timelines.
pub async fn run<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    options: &DemoOptions,
) -> anyhow::Result<DemoReport> {
    let started = Instant::now();
    let prefix = format!("DEMO-{}-", options.seed);
    let already = dispute::Entity::find()
        .filter(dispute::Column::RefNo.starts_with(&prefix))
        .count(db)
        .await?;
    if already > 0 {
        bail!(
            "demo data for seed {} is already loaded ({already} disputes); use another --seed",
            options.seed
        );
    }
    let regions: Vec<Region> = regency::Entity::find()
        .order_by_asc(regency::Column::Code)
        .all(db)
        .await?
        .into_iter()
        .map(|r| Region {
            code: r.code,
            province: r.province_code,
        })
        .collect();
    if regions.is_empty() {
        bail!("no regions: run `posko migrate` (which seeds reference data) first");
    }
    let elections: std::collections::HashMap<String, i32> = election::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.region_code, e.id))
        .collect();
    let stages: Vec<Stage> = election_stage::Entity::find()
        .filter(election_stage::Column::ElectionId.is_null())
        // Only held stages are ever in force (`reference_snapshot::in_force`).
        .filter(election_stage::Column::Held.eq(true))
        .filter(election_stage::Column::Phase.eq("IMPLEMENTATION"))
        .order_by_asc(election_stage::Column::Seq)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|s| {
            Some(Stage {
                id: s.id,
                code: s.code,
                starts: s.starts_on?,
                ends: s.ends_on?,
            })
        })
        .collect();
    let first_id: i32 = dispute::Entity::find()
        .order_by_desc(dispute::Column::Id)
        .one(db)
        .await?
        .map_or(1, |d| d.id + 1);

    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    // Jakarta and the Polda Metro Jaya area are where this posko looks; weight them up.
    let metro: Vec<usize> = regions
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.province == "31"
                || ["32.75", "32.76", "32.16", "36.71", "36.74", "36.03"].contains(&r.code.as_str())
        })
        .map(|(i, _)| i)
        .collect();
    let window_start = Utc
        .with_ymd_and_hms(2024, 8, 27, 0, 0, 0)
        .single()
        .context("valid start of the demo window")?;
    let window_seconds = 112 * 24 * 3600_i64; // to mid-December 2024

    let mut total_events = 0usize;
    let mut done = 0usize;
    while done < options.disputes {
        let count = BATCH.min(options.disputes - done);
        let mut disputes = Vec::with_capacity(count);
        let mut events = Vec::with_capacity(count * 6);
        let mut escalations = Vec::new();
        let mut assignments = Vec::new();
        for n in done..done + count {
            let id = first_id + i32::try_from(n).context("too many demo disputes")?;
            let region = if rng.random_bool(0.3) {
                &regions[*metro.choose(&mut rng).context("metro regions exist")?]
            } else {
                regions.choose(&mut rng).context("regions exist")?
            };
            let category = weighted(&mut rng, CATEGORIES);
            let severity = weighted(&mut rng, SEVERITIES);
            let status = weighted(&mut rng, STATUSES);
            let occurred_at = window_start + Duration::seconds(rng.random_range(0..window_seconds));
            let reported_at = occurred_at + Duration::minutes(rng.random_range(10..3 * 24 * 60));
            let day = occurred_at.date_naive();
            let stage = stages
                .iter()
                .rev()
                .find(|s| s.starts <= day && day <= s.ends);
            let restricted = rng.random_bool(0.05);
            let reporter_kind = match rng.random_range(0..10) {
                0..=3 => ReporterKind::Voter,
                4..=5 => ReporterKind::Observer,
                6 => ReporterKind::CandidatePair,
                _ => ReporterKind::PoskoFinding,
            };
            let (reporter_name, reporter_contact) = if reporter_kind == ReporterKind::PoskoFinding {
                (None, None)
            } else {
                let number = rng.random_range(1000..9999);
                (
                    Some(format!("Pelapor {}", rng.random_range(1..50_000))),
                    Some(format!(
                        "+62 812-{number}-{:04}",
                        rng.random_range(0..10_000)
                    )),
                )
            };
            let agency = if region.province == "31" {
                "KESBANGPOL_DKI"
            } else {
                "BAWASLU_RI"
            };
            let actor = format!("demo-petugas-{}", rng.random_range(1..40));

            let mut timeline: Vec<PlannedEvent<'_>> = vec![(
                EventKind::Reported,
                Role::Admin,
                agency,
                Some("{\"status\":[null,\"REPORTED\"]}".to_owned()),
                None,
                None,
            )];
            let mut escalated_to = None;
            let mut violation = None;
            let mut outcome = None;
            let flow: &[EventKind] = match status {
                DisputeStatus::Reported => &[],
                DisputeStatus::Verified => &[EventKind::Verified],
                DisputeStatus::InMediation => &[
                    EventKind::Verified,
                    EventKind::MediationStarted,
                    EventKind::MediationRecorded,
                ],
                DisputeStatus::Escalated => &[EventKind::Verified, EventKind::Escalated],
                DisputeStatus::Resolved => &[
                    EventKind::Verified,
                    EventKind::MediationStarted,
                    EventKind::MediationRecorded,
                    EventKind::Resolved,
                ],
                DisputeStatus::Dismissed => &[EventKind::Dismissed],
            };
            let mut previous = "REPORTED";
            for kind in flow {
                let (next, note) = match kind {
                    EventKind::Verified => ("VERIFIED", None),
                    EventKind::MediationStarted => ("IN_MEDIATION", None),
                    EventKind::MediationRecorded => (
                        previous,
                        Some("Mediasi di kantor posko; kedua tim kampanye hadir.".to_owned()),
                    ),
                    EventKind::Escalated => {
                        let target = *[
                            EscalationTarget::Bawaslu,
                            EscalationTarget::Gakkumdu,
                            EscalationTarget::Police,
                            EscalationTarget::Bkn,
                        ]
                        .choose(&mut rng)
                        .context("targets exist")?;
                        escalated_to = Some(target);
                        (
                            "ESCALATED",
                            Some(format!("Diteruskan ke {}", target.as_str())),
                        )
                    }
                    EventKind::Resolved => {
                        outcome = Some(
                            "Para pihak sepakat; APK diganti dan permintaan maaf disampaikan."
                                .to_owned(),
                        );
                        ("RESOLVED", outcome.clone())
                    }
                    EventKind::Dismissed => {
                        outcome = Some(
                            "Bukan pelanggaran pemilihan; laporan tidak dilanjutkan.".to_owned(),
                        );
                        ("DISMISSED", outcome.clone())
                    }
                    _ => (previous, None),
                };
                let changes = (next != previous)
                    .then(|| format!("{{\"status\":[\"{previous}\",\"{next}\"]}}"));
                timeline.push((*kind, Role::Admin, agency, changes, note, None));
                previous = next;
            }
            if let Some(target) = escalated_to
                && matches!(
                    target,
                    EscalationTarget::Bawaslu | EscalationTarget::Gakkumdu
                )
            {
                let class = if target == EscalationTarget::Gakkumdu {
                    ViolationClass::ElectionCrime
                } else {
                    ViolationClass::Administrative
                };
                violation = Some(class);
                timeline.push((
                    EventKind::Classified,
                    Role::Bawaslu,
                    "BAWASLU_RI",
                    Some(format!("{{\"violation\":[null,\"{}\"]}}", class.as_str())),
                    None,
                    None,
                ));
            }
            let assigned = rng.random_bool(0.5).then(|| {
                if region.province == "31" {
                    *["POLDA_METRO_JAYA", "KODAM_JAYA", "KEJATI_DKI"]
                        .choose(&mut rng)
                        .unwrap_or(&"KODAM_JAYA")
                } else {
                    "MABES_POLRI"
                }
            });
            if let Some(code) = assigned {
                timeline.push((
                    EventKind::AgencyAssigned,
                    Role::Admin,
                    agency,
                    Some(format!("{{\"assignedAgencies\":[null,\"{code}\"]}}")),
                    None,
                    None,
                ));
            }
            if rng.random_bool(0.7) {
                timeline.push((
                    EventKind::Note,
                    Role::Admin,
                    agency,
                    None,
                    Some("Koordinasi dengan Babinsa dan Bhabinkamtibmas setempat.".into()),
                    None,
                ));
            }
            if rng.random_bool(0.3) {
                timeline.push((
                    EventKind::Note,
                    Role::Bawaslu,
                    "BAWASLU_RI",
                    None,
                    Some("Catatan pengawas: saksi bersedia memberi keterangan.".into()),
                    Some("BAWASLU,ADMIN"),
                ));
            }
            if rng.random_bool(0.15) {
                timeline.push((
                    EventKind::IntelNote,
                    Role::Police,
                    "POLDA_METRO_JAYA",
                    None,
                    Some("Info lapangan: massa dari luar wilayah diperkirakan datang.".into()),
                    Some("POLICE"),
                ));
            }

            let mut prev_hash = GENESIS_HASH.to_owned();
            let mut at = reported_at;
            for (index, (kind, role, actor_agency, changes, note, audience)) in
                timeline.iter().enumerate()
            {
                let seq = i32::try_from(index + 1).context("short timeline")?;
                if index > 0 {
                    at += Duration::minutes(rng.random_range(30..2 * 24 * 60));
                }
                // From the seeded generator, so a seed gives the same demo data twice;
                // real events get `timeline::new_salt`.
                let salt = hex::encode(rng.random::<[u8; 16]>());
                let hash = event_hash(
                    &prev_hash,
                    &EventContent {
                        dispute_id: id,
                        seq,
                        kind: kind.as_str(),
                        actor_sub: &actor,
                        actor_role: role.as_str(),
                        actor_agency: Some(actor_agency),
                        at,
                        changes: changes.as_deref(),
                        note: note.as_deref(),
                        audience: *audience,
                        salt: Some(&salt),
                    },
                );
                events.push(dispute_event::ActiveModel {
                    id: NotSet,
                    dispute_id: Set(id),
                    seq: Set(seq),
                    kind: Set(*kind),
                    actor_sub: Set(actor.clone()),
                    actor_role: Set(*role),
                    actor_agency: Set(Some((*actor_agency).to_owned())),
                    at: Set(at),
                    changes: Set(changes.clone()),
                    note: Set(note.clone()),
                    audience: Set(audience.map(str::to_owned)),
                    prev_hash: Set(prev_hash.clone()),
                    hash: Set(hash.clone()),
                    salt: Set(Some(salt)),
                    key_salt: Set(None),
                });
                if *kind == EventKind::Escalated
                    && let Some(target) = escalated_to
                {
                    escalations.push(dispute_escalation::ActiveModel {
                        id: NotSet,
                        dispute_id: Set(id),
                        target: Set(target),
                        reason: Set(note.clone().unwrap_or_default()),
                        escalated_at: Set(at),
                        escalated_by: Set(actor.clone()),
                    });
                }
                if *kind == EventKind::AgencyAssigned
                    && let Some(code) = assigned
                {
                    assignments.push(dispute_assignment::ActiveModel {
                        dispute_id: Set(id),
                        agency_code: Set(code.to_owned()),
                        assigned_at: Set(at),
                        assigned_by: Set(actor.clone()),
                    });
                }
                prev_hash = hash;
            }
            let place = region.code.clone();
            disputes.push(dispute::ActiveModel {
                id: Set(id),
                public_id: Set(hex::encode(rng.random::<[u8; 16]>())),
                ref_no: Set(format!("{prefix}{n:07}")),
                title: Set(title(category, &place)),
                description: Set(format!(
                    "Laporan {} dari wilayah {place}; tingkat {}.",
                    category.as_str().to_lowercase(),
                    severity.as_str().to_lowercase()
                )),
                category: Set(category),
                severity: Set(severity),
                status: Set(status),
                province_code: Set(region.province.clone()),
                regency_code: Set(region.code.clone()),
                district_code: Set(None),
                location_text: Set(Some(format!("Sekitar TPS {}", rng.random_range(1..120)))),
                election_id: Set(elections
                    .get(&region.code)
                    .or_else(|| elections.get(&region.province))
                    .copied()),
                stage_id: Set(stage.map(|s| s.id)),
                stage_code: Set(stage.map(|s| s.code.clone())),
                occurred_at: Set(occurred_at),
                reported_at: Set(reported_at),
                updated_at: Set(at),
                restricted: Set(restricted),
                reporter_name: Set(reporter_name),
                reporter_contact: Set(reporter_contact),
                reporter_kind: Set(Some(reporter_kind)),
                violation: Set(violation),
                outcome: Set(outcome),
                reported_by_agency: Set(agency.to_owned()),
                reported_by_sub: Set(actor.clone()),
                idempotency_key: Set(None),
                request_hash: Set(None),
                version: Set(i32::try_from(timeline.len()).context("short timeline")?),
            });
        }
        total_events += events.len();
        let txn = db.begin().await?;
        for chunk in disputes.chunks(400) {
            dispute::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        for chunk in events.chunks(1_000) {
            dispute_event::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        for chunk in assignments.chunks(1_000) {
            dispute_assignment::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        for chunk in escalations.chunks(1_000) {
            dispute_escalation::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        done += count;
        if options.progress {
            eprintln!(
                "seed-demo: {done}/{} disputes, {total_events} events, {:.1} s",
                options.disputes,
                started.elapsed().as_secs_f64()
            );
        }
    }
    if db.get_database_backend() == DatabaseBackend::Postgres {
        // Ids were assigned here so that event hashes could cover them; move the sequence
        // past them so later reports do not collide.
        db.execute_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT setval(pg_get_serial_sequence('dispute', 'id'), (SELECT COALESCE(MAX(id), 1) FROM dispute))",
        ))
        .await?;
    }
    // The bulk insert bypassed the write path that keeps the counters.
    crate::domain::tally::rebuild(db).await?;
    // Fresh statistics, or the planner keeps estimating the tables as empty; on
    // PostgreSQL also the visibility map, which index-only scans need.
    if db.get_database_backend() == DatabaseBackend::Postgres {
        db.execute_unprepared("VACUUM ANALYZE").await?;
    } else {
        db.execute_unprepared("ANALYZE").await?;
    }
    Ok(DemoReport {
        disputes: options.disputes,
        events: total_events,
        seconds: started.elapsed().as_secs_f64(),
    })
}
