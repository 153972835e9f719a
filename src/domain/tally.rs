//! Running counts of disputes (`dispute_tally`) per place, attribute value and audience,
//! so that statistics over a province read a few dozen counter rows instead of
//! aggregating every dispute in it on each request (at 200 000 disputes, DKI Jakarta's
//! 30 000 cost 65–90 ms per request).
//!
//! The counters change in the same transaction as the dispute they count: a new report
//! adds one to each of its four values; a status change, or an escalation that opens a
//! restricted dispute to another body (its audience, `policy::tally_audience`), moves one
//! from the old key to the new. Category, severity, stage, place and `restricted` never
//! change after a report. Counter rows are always written in key order, so two writers
//! never wait on each other's rows in opposite order.
//!
//! Statistics add the counters the viewer may count to a live count of what the counters
//! leave out (`policy::tally_split`); filters other than places are counted live
//! altogether (`disputes::stats`). `rebuild` and `drift` let an operator recount.

use std::collections::BTreeMap;

use entity::{dispute, dispute_escalation, dispute_tally};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, OnConflict, Query, UnionType};
use sea_orm::{
    AccessMode, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IsolationLevel, QueryFilter,
    QuerySelect, QueryTrait, Statement, TransactionSession, TransactionTrait,
};

use crate::auth::policy;
use crate::auth::viewer::Viewer;
use crate::domain::disputes::{DisputeFilter, StatsDimension};
use crate::domain::types::{DisputeStatus, EscalationTarget};
use crate::error::AppResult;

/// The attributes counted, with the dispute column holding each.
const DIMENSIONS: [(&str, dispute::Column, &str); 4] = [
    ("category", dispute::Column::Category, "category"),
    ("severity", dispute::Column::Severity, "severity"),
    ("stage", dispute::Column::StageCode, "stage_code"),
    ("status", dispute::Column::Status, "status"),
];

fn dimension_name(dimension: StatsDimension) -> &'static str {
    match dimension {
        // A dispute has exactly one status, so the status counters also count places.
        StatsDimension::Status | StatsDimension::Province => "status",
        StatsDimension::Category => "category",
        StatsDimension::Severity => "severity",
        StatsDimension::Stage => "stage",
    }
}

fn value_of(row: &dispute::Model, column: dispute::Column) -> String {
    match column {
        dispute::Column::Category => row.category.as_str().to_owned(),
        dispute::Column::Severity => row.severity.as_str().to_owned(),
        dispute::Column::StageCode => row.stage_code.clone().unwrap_or_default(),
        _ => row.status.as_str().to_owned(),
    }
}

/// The columns that name one counter (the table's primary key), in key order.
const COUNTER_KEY: [dispute_tally::Column; 6] = [
    dispute_tally::Column::ProvinceCode,
    dispute_tally::Column::RegencyCode,
    dispute_tally::Column::DistrictCode,
    dispute_tally::Column::Dimension,
    dispute_tally::Column::Value,
    dispute_tally::Column::Audience,
];

/// One counter of a dispute's place: (dimension, value, audience).
type Key = (&'static str, String, String);

/// The counters one dispute adds to.
fn keys_of(row: &dispute::Model, audience: &str) -> Vec<Key> {
    DIMENSIONS
        .iter()
        .map(|(name, column, _)| (*name, value_of(row, *column), audience.to_owned()))
        .collect()
}

/// Adds each delta to its counter of the dispute's place, in key order.
async fn add<C: ConnectionTrait>(
    db: &C,
    row: &dispute::Model,
    deltas: BTreeMap<Key, i64>,
) -> AppResult<()> {
    let deltas: Vec<(Key, i64)> = deltas.into_iter().filter(|(_, d)| *d != 0).collect();
    if deltas.is_empty() {
        return Ok(());
    }
    let mut insert = Query::insert();
    insert.into_table(dispute_tally::Entity).columns(
        COUNTER_KEY
            .into_iter()
            .chain([dispute_tally::Column::Count]),
    );
    for ((dimension, value, audience), delta) in deltas {
        insert.values_panic([
            row.province_code.clone().into(),
            row.regency_code.clone().into(),
            row.district_code.clone().unwrap_or_default().into(),
            dimension.into(),
            value.into(),
            audience.into(),
            delta.into(),
        ]);
    }
    insert.on_conflict(
        OnConflict::columns(COUNTER_KEY)
            .value(
                dispute_tally::Column::Count,
                Expr::col((dispute_tally::Entity, dispute_tally::Column::Count))
                    .add(Expr::cust("excluded.count")),
            )
            .to_owned(),
    );
    db.execute(&insert).await?;
    Ok(())
}

/// Counts a newly reported dispute (inside the transaction that inserts it; it has no
/// escalation yet).
pub async fn count_new<C: ConnectionTrait>(db: &C, row: &dispute::Model) -> AppResult<()> {
    let audience = policy::tally_audience(row.restricted, &[]);
    add(
        db,
        row,
        keys_of(row, &audience)
            .into_iter()
            .map(|k| (k, 1))
            .collect(),
    )
    .await
}

/// The revealing escalations a dispute has, for its audience. Read inside the writing
/// transaction after the dispute's row is locked, so no escalation can slip in between.
pub async fn escalated_to<C: ConnectionTrait>(
    db: &C,
    dispute_id: i32,
) -> AppResult<Vec<EscalationTarget>> {
    dispute_escalation::Entity::find()
        .filter(dispute_escalation::Column::DisputeId.eq(dispute_id))
        .all(db)
        .await?
        .iter()
        .map(|row| Ok(row.target))
        .collect()
}

/// Moves a changed dispute between counters (inside the transaction that changes it):
/// `before` is the row as it was and `escalated_before` its escalation targets then;
/// `to_status` and `new_escalation` are what the change set.
pub async fn record_change<C: ConnectionTrait>(
    db: &C,
    before: &dispute::Model,
    escalated_before: &[EscalationTarget],
    to_status: DisputeStatus,
    new_escalation: Option<EscalationTarget>,
) -> AppResult<()> {
    let mut escalated_after = escalated_before.to_vec();
    escalated_after.extend(new_escalation);
    let old_audience = policy::tally_audience(before.restricted, escalated_before);
    let new_audience = policy::tally_audience(before.restricted, &escalated_after);
    if before.status == to_status && old_audience == new_audience {
        return Ok(());
    }
    let mut after = before.clone();
    after.status = to_status;
    let mut deltas: BTreeMap<Key, i64> = BTreeMap::new();
    for key in keys_of(before, &old_audience) {
        *deltas.entry(key).or_default() -= 1;
    }
    for key in keys_of(&after, &new_audience) {
        *deltas.entry(key).or_default() += 1;
    }
    add(db, before, deltas).await
}

/// Counts per value of one attribute for the viewer's statistics scope, for a filter that
/// only names places (see `DisputeFilter::only_places`), unordered. Keys of disputes
/// without a value come back empty.
pub async fn counts<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    filter: &DisputeFilter,
    dimension: StatsDimension,
) -> AppResult<Vec<(String, i64)>> {
    let within = policy::within_jurisdiction(
        viewer,
        filter.province_codes.as_deref(),
        filter.regency_codes.as_deref(),
    );
    let split = policy::tally_split(viewer, within);
    let key = Alias::new("key");
    let n = Alias::new("n");

    let tally_key = match dimension {
        StatsDimension::Province => dispute_tally::Column::ProvinceCode,
        _ => dispute_tally::Column::Value,
    };
    let mut counted = Query::select();
    counted
        .expr_as(Expr::col(tally_key), key.clone())
        .expr_as(
            Func::sum(Expr::col(dispute_tally::Column::Count)),
            n.clone(),
        )
        .from(dispute_tally::Entity)
        .and_where(dispute_tally::Column::Dimension.eq(dimension_name(dimension)))
        .cond_where(split.counted);
    if let Some(codes) = &filter.province_codes {
        counted.and_where(dispute_tally::Column::ProvinceCode.is_in(codes.clone()));
    }
    if let Some(codes) = &filter.regency_codes {
        counted.and_where(dispute_tally::Column::RegencyCode.is_in(codes.clone()));
    }
    counted.group_by_col(tally_key);

    if let Some(uncounted) = split.uncounted {
        let column = dimension.column();
        let value = Func::coalesce([Expr::col((dispute::Entity, column)), Expr::val("")]);
        let live = uncounted
            .filter(filter.condition())
            .select_only()
            .expr_as(value, "key")
            .expr_as(
                Expr::col((dispute::Entity, dispute::Column::Id)).count(),
                "n",
            )
            .group_by(Expr::col((dispute::Entity, column)))
            .into_query();
        counted.union(UnionType::All, live);
    }

    let total = Expr::from(Func::sum(Expr::col(n.clone())));
    let statement = Query::select()
        .expr_as(Expr::col(key.clone()), key.clone())
        .expr_as(total.clone().cast_as(Alias::new("BIGINT")), n.clone())
        .from_subquery(counted, Alias::new("parts"))
        .group_by_col(key.clone())
        // Counters left at zero by status moves are not values anyone has.
        .and_having(total.ne(0))
        .to_owned();
    let rows = db.query_all(&statement).await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get::<String>("", "key")?,
                row.try_get::<i64>("", "n")?,
            ))
        })
        .collect()
}

/// Recounts every counter from the disputes (for `posko seed-demo`, which loads disputes
/// in bulk, and for an operator who finds `drift`). Returns the number of counter rows.
pub async fn rebuild<C: TransactionTrait>(db: &C) -> AppResult<u64> {
    let txn = db.begin().await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        // Writers wait (their counter update comes last in their transaction and holds no
        // lock this needs), readers go on reading the old counts until the commit. A write
        // committed before the lock is in the recount; one after adds its delta to it.
        txn.execute_unprepared("LOCK TABLE dispute_tally IN EXCLUSIVE MODE")
            .await?;
    }
    dispute_tally::Entity::delete_many().exec(&txn).await?;
    let mut rows = 0;
    for (name, _, column) in DIMENSIONS {
        let sql = format!(
            "INSERT INTO dispute_tally \
             (province_code, regency_code, district_code, dimension, value, audience, count) {}",
            recount(name, column)
        );
        rows += txn.execute_unprepared(&sql).await?.rows_affected();
    }
    txn.commit().await?;
    Ok(rows)
}

/// One counter that disagrees with the disputes.
#[derive(Debug, PartialEq, Eq)]
pub struct Drift {
    pub place: (String, String, String),
    pub dimension: String,
    pub value: String,
    pub audience: String,
    pub counted: i64,
    pub actual: i64,
}

/// The counters that disagree with a recount of the disputes (none, unless the table was
/// written outside Posko).
pub async fn drift<C: ConnectionTrait + TransactionTrait>(db: &C) -> AppResult<Vec<Drift>> {
    // One snapshot for the recount and the counters, so writes going on meanwhile do not
    // show as differences (SQLite's read transaction is one snapshot already).
    let db = if db.get_database_backend() == DbBackend::Postgres {
        db.begin_with_config(
            Some(IsolationLevel::RepeatableRead),
            Some(AccessMode::ReadOnly),
        )
        .await?
    } else {
        db.begin().await?
    };
    let db = &db;
    type Place = (String, String, String);
    type Counter = (Place, String, String, String);
    let mut actual: BTreeMap<Counter, i64> = BTreeMap::new();
    for (name, _, column) in DIMENSIONS {
        let sql = recount(name, column);
        let statement = Statement::from_string(db.get_database_backend(), sql);
        for row in db.query_all_raw(statement).await? {
            let place = (
                row.try_get::<String>("", "province_code")?,
                row.try_get::<String>("", "regency_code")?,
                row.try_get::<String>("", "district_code")?,
            );
            actual.insert(
                (
                    place,
                    name.to_owned(),
                    row.try_get("", "value")?,
                    row.try_get("", "audience")?,
                ),
                row.try_get("", "count")?,
            );
        }
    }
    let mut counted: BTreeMap<Counter, i64> = BTreeMap::new();
    for row in dispute_tally::Entity::find().all(db).await? {
        counted.insert(
            (
                (row.province_code, row.regency_code, row.district_code),
                row.dimension,
                row.value,
                row.audience,
            ),
            row.count,
        );
    }
    let mut keys: Vec<&Counter> = actual.keys().chain(counted.keys()).collect();
    keys.sort();
    keys.dedup();
    Ok(keys
        .into_iter()
        .filter_map(|key| {
            let counted_n = counted.get(key).copied().unwrap_or(0);
            let actual_n = actual.get(key).copied().unwrap_or(0);
            (counted_n != actual_n).then(|| Drift {
                place: key.0.clone(),
                dimension: key.1.clone(),
                value: key.2.clone(),
                audience: key.3.clone(),
                counted: counted_n,
                actual: actual_n,
            })
        })
        .collect())
}

/// A recount of one attribute from the disputes, grouped like the counters (SQL both
/// backends accept; the dimension and column names are this module's constants). It
/// reads every dispute regardless of any viewer: it serves `rebuild` and `drift`,
/// operators' tools, never a request.
fn recount(name: &str, column: &str) -> String {
    let audience = policy::tally_audience_sql();
    format!(
        "SELECT province_code, regency_code, COALESCE(district_code, '') AS district_code, \
         '{name}' AS dimension, COALESCE({column}, '') AS value, {audience} AS audience, \
         COUNT(*) AS count FROM dispute \
         GROUP BY province_code, regency_code, COALESCE(district_code, ''), \
         COALESCE({column}, ''), {audience}"
    )
}
