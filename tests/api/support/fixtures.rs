//! Arranging disputes directly in the database (the read API is what tests act on).

use chrono::{DateTime, Duration, TimeZone, Utc};
use entity::{dispute, dispute_assignment, dispute_escalation, dispute_event};
use posko::domain::timeline::{EventContent, GENESIS_HASH, event_hash};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait};

/// A dispute to arrange; `Default` is a plain, unrestricted report in Jakarta Pusat.
#[derive(Clone)]
pub struct NewDispute {
    pub regency: &'static str,
    pub district: Option<&'static str>,
    pub title: String,
    pub category: &'static str,
    pub severity: &'static str,
    pub status: &'static str,
    pub restricted: bool,
    pub reporter_name: Option<&'static str>,
    pub violation: Option<&'static str>,
    pub reported_at: DateTime<Utc>,
    pub stage_code: Option<&'static str>,
    /// The reporting agency; a national one no test signs in as by default, so the "own
    /// reports" rule stays out of the way.
    pub reported_by: &'static str,
}

impl Default for NewDispute {
    fn default() -> Self {
        Self {
            regency: "31.71",
            district: None,
            title: "Perusakan alat peraga kampanye".into(),
            category: "CAMPAIGN_PROPS",
            severity: "MEDIUM",
            status: "REPORTED",
            restricted: false,
            reporter_name: Some("Siti Pelapor"),
            violation: None,
            reported_at: Utc.with_ymd_and_hms(2024, 11, 20, 10, 0, 0).unwrap(),
            stage_code: Some("KAMPANYE"),
            reported_by: "MABES_POLRI",
        }
    }
}

/// A timeline event to append.
pub struct NewEvent {
    pub kind: &'static str,
    pub role: &'static str,
    pub note: Option<&'static str>,
    pub audience: Option<&'static str>,
}

/// Inserts a dispute with a REPORTED event; returns its id.
pub async fn insert_dispute(db: &DatabaseConnection, spec: NewDispute) -> i32 {
    let province = spec.regency.split('.').next().unwrap().to_owned();
    let mut row = dispute::ActiveModel {
        id: NotSet,
        public_id: Set(format!("{:032x}", rand_ref())),
        ref_no: Set(format!("T-{}", rand_ref())),
        title: Set(spec.title.clone()),
        description: Set(format!("Uraian: {}", spec.title)),
        category: Set(spec.category.parse().unwrap()),
        severity: Set(spec.severity.parse().unwrap()),
        status: Set(spec.status.parse().unwrap()),
        province_code: Set(province),
        regency_code: Set(spec.regency.into()),
        district_code: Set(spec.district.map(Into::into)),
        location_text: Set(Some("Jl. Medan Merdeka".into())),
        election_id: Set(None),
        stage_id: Set(None),
        stage_code: Set(spec.stage_code.map(Into::into)),
        occurred_at: Set(spec.reported_at - Duration::hours(2)),
        reported_at: Set(spec.reported_at),
        updated_at: Set(spec.reported_at),
        restricted: Set(spec.restricted),
        reporter_name: Set(spec.reporter_name.map(Into::into)),
        reporter_contact: Set(spec.reporter_name.map(|_| "+62 812-0000-0001".into())),
        reporter_kind: Set(spec
            .reporter_name
            .map(|_| posko::domain::types::ReporterKind::Voter)),
        violation: Set(spec.violation.map(|v| v.parse().unwrap())),
        outcome: Set(None),
        reported_by_agency: Set(spec.reported_by.into()),
        reported_by_sub: Set("fixture".into()),
        idempotency_key: Set(None),
        request_hash: Set(None),
        version: Set(0),
    }
    .insert(db)
    .await
    .expect("fixture dispute inserts");
    // Tests name fixtures by row id; `gid` gives the public id clients use for it.
    row = dispute::ActiveModel {
        public_id: Set(gid(row.id)),
        ..row.into()
    }
    .update(db)
    .await
    .expect("fixture public id");
    // Fixtures write rows directly, so they keep the statistics counters as reports do.
    posko::domain::tally::count_new(db, &row)
        .await
        .expect("fixture dispute is counted");
    append_event(
        db,
        row.id,
        NewEvent {
            kind: "REPORTED",
            role: "ADMIN",
            note: None,
            audience: None,
        },
    )
    .await;
    row.id
}

/// The row id of the dispute a client knows by its public id.
pub async fn row_id(db: &DatabaseConnection, public_id: &str) -> i32 {
    use sea_orm::{ColumnTrait, QueryFilter};
    dispute::Entity::find()
        .filter(dispute::Column::PublicId.eq(public_id))
        .one(db)
        .await
        .unwrap()
        .expect("a dispute with this public id")
        .id
}

/// The public id (what GraphQL calls `id`) of a fixture dispute.
pub fn gid(id: i32) -> String {
    format!("{id:032x}")
}

fn rand_ref() -> u128 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    nanos * 1000 + u128::from(N.fetch_add(1, Ordering::Relaxed))
}

/// Appends a correctly chained event.
pub async fn append_event(db: &DatabaseConnection, dispute_id: i32, event: NewEvent) {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    let last = dispute_event::Entity::find()
        .filter(dispute_event::Column::DisputeId.eq(dispute_id))
        .order_by_desc(dispute_event::Column::Seq)
        .one(db)
        .await
        .unwrap();
    let (seq, prev) = last.map_or((1, GENESIS_HASH.to_owned()), |e| (e.seq + 1, e.hash));
    let at =
        Utc.with_ymd_and_hms(2024, 11, 21, 0, 0, 0).unwrap() + Duration::minutes(i64::from(seq));
    let agency = match event.role {
        "POLICE" => "POLDA_METRO_JAYA",
        "BAWASLU" => "BAWASLU_DKI",
        _ => "KESBANGPOL_DKI",
    };
    let salt = posko::domain::timeline::new_salt();
    let hash = event_hash(
        &prev,
        &EventContent {
            dispute_id,
            seq,
            kind: event.kind,
            actor_sub: "fixture",
            actor_role: event.role,
            actor_agency: Some(agency),
            at,
            changes: None,
            note: event.note,
            audience: event.audience,
            salt: Some(&salt),
        },
    );
    dispute_event::ActiveModel {
        id: NotSet,
        dispute_id: Set(dispute_id),
        seq: Set(seq),
        kind: Set(event.kind.parse().unwrap()),
        actor_sub: Set("fixture".into()),
        actor_role: Set(event.role.parse().unwrap()),
        actor_agency: Set(Some(agency.into())),
        at: Set(at),
        changes: Set(None),
        note: Set(event.note.map(Into::into)),
        audience: Set(event.audience.map(Into::into)),
        prev_hash: Set(prev),
        hash: Set(hash),
        salt: Set(Some(salt)),
        key_salt: Set(None),
    }
    .insert(db)
    .await
    .expect("fixture event inserts");
    let mut dispute: dispute::ActiveModel = dispute::Entity::find_by_id(dispute_id)
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .into();
    dispute.version = Set(seq);
    dispute.update(db).await.unwrap();
}

/// Records an escalation (and its event).
pub async fn escalate(db: &DatabaseConnection, dispute_id: i32, target: &'static str) {
    // Kept in the statistics counters as the workflow keeps them: an escalation may open a
    // restricted dispute to another body.
    let before = dispute::Entity::find_by_id(dispute_id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let target = target.parse().expect("a known escalation target");
    count_change(
        db,
        &before,
        posko::domain::tally::CountedChange {
            to_status: before.status,
            escalation: Some(target),
            assign: None,
            unassign: None,
        },
    )
    .await;
    dispute_escalation::ActiveModel {
        id: NotSet,
        dispute_id: Set(dispute_id),
        target: Set(target),
        reason: Set("needs another body".into()),
        escalated_at: Set(Utc::now()),
        escalated_by: Set("fixture".into()),
    }
    .insert(db)
    .await
    .unwrap();
    append_event(
        db,
        dispute_id,
        NewEvent {
            kind: "ESCALATED",
            role: "ADMIN",
            note: None,
            audience: None,
        },
    )
    .await;
}

/// Moves a dispute between the statistics counters as the workflow does for `change`
/// (fixtures write rows directly, so they keep the counters themselves).
async fn count_change(
    db: &DatabaseConnection,
    before: &dispute::Model,
    change: posko::domain::tally::CountedChange,
) {
    let links = posko::domain::tally::links(db, before).await.unwrap();
    posko::domain::tally::record_change(db, before, &links, &change)
        .await
        .expect("fixture change is counted");
}

/// Assigns an agency to a dispute.
pub async fn assign(db: &DatabaseConnection, dispute_id: i32, agency: &'static str) {
    let before = dispute::Entity::find_by_id(dispute_id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    count_change(
        db,
        &before,
        posko::domain::tally::CountedChange {
            to_status: before.status,
            escalation: None,
            assign: Some(agency.into()),
            unassign: None,
        },
    )
    .await;
    dispute_assignment::ActiveModel {
        dispute_id: Set(dispute_id),
        agency_code: Set(agency.into()),
        assigned_at: Set(Utc::now()),
        assigned_by: Set("fixture".into()),
    }
    .insert(db)
    .await
    .unwrap();
}
