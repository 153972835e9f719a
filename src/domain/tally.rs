//! Running counts of disputes per place, attribute value and audience (`dispute_tally`),
//! and the same per agency linked to them (`dispute_agency_tally`: the agency reported
//! them or is assigned to them), so that statistics over a province read a few dozen
//! counter rows instead of aggregating every dispute in it on each request (at 200 000
//! disputes, DKI Jakarta's 30 000 cost 65–90 ms per request), and their cost does not
//! grow with the data.
//!
//! The counters change in the same transaction as the dispute they count: a new report
//! adds one to each of its four values, for its place and for its reporting agency; a
//! status change, or an escalation that opens a restricted dispute to another body (its
//! audience, `policy::tally_audience`), moves one from the old key to the new; an
//! assignment adds the dispute to its agency's counters, and its removal takes it away.
//! Category, severity, stage, place, `restricted` and the reporting agency never change
//! after a report. Counter rows are always written in key order, so two writers never
//! wait on each other's rows in opposite order.
//!
//! Statistics add the place counters the viewer may count to its agency's counters of
//! what those leave out (`policy::tally_split`); filters other than places are counted
//! live altogether (`disputes::stats`). `rebuild` and `drift` let an operator recount.

use std::collections::{BTreeMap, BTreeSet};

use entity::{
    dispute, dispute_agency_tally, dispute_assignment, dispute_escalation, dispute_tally,
};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, OnConflict, Query, SimpleExpr, UnionType};
use sea_orm::{
    AccessMode, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IsolationLevel, QueryFilter,
    Statement, TransactionSession, TransactionTrait,
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

/// The columns that name one place counter (the table's primary key), in key order.
const COUNTER_KEY: [dispute_tally::Column; 6] = [
    dispute_tally::Column::ProvinceCode,
    dispute_tally::Column::RegencyCode,
    dispute_tally::Column::DistrictCode,
    dispute_tally::Column::Dimension,
    dispute_tally::Column::Value,
    dispute_tally::Column::Audience,
];

/// The columns that name one agency counter (the table's primary key), in key order.
const AGENCY_COUNTER_KEY: [dispute_agency_tally::Column; 7] = [
    dispute_agency_tally::Column::AgencyCode,
    dispute_agency_tally::Column::Dimension,
    dispute_agency_tally::Column::ProvinceCode,
    dispute_agency_tally::Column::RegencyCode,
    dispute_agency_tally::Column::DistrictCode,
    dispute_agency_tally::Column::Value,
    dispute_agency_tally::Column::Audience,
];

/// One counter of a dispute's place: (dimension, value, audience).
type Key = (&'static str, String, String);

/// One counter of a dispute's place and a linked agency: (agency, dimension, value,
/// audience), in the order of `AGENCY_COUNTER_KEY` (the place is the dispute's).
type AgencyKey = (String, &'static str, String, String);

/// The counters one dispute adds to.
fn keys_of(row: &dispute::Model, audience: &str) -> Vec<Key> {
    DIMENSIONS
        .iter()
        .map(|(name, column, _)| (*name, value_of(row, *column), audience.to_owned()))
        .collect()
}

/// The agency counters one dispute adds to, for each agency linked to it.
fn agency_keys_of<'a>(
    row: &dispute::Model,
    audience: &str,
    agencies: impl IntoIterator<Item = &'a String>,
) -> Vec<AgencyKey> {
    agencies
        .into_iter()
        .flat_map(|agency| {
            keys_of(row, audience)
                .into_iter()
                .map(|(dimension, value, audience)| (agency.clone(), dimension, value, audience))
        })
        .collect()
}

/// Adds each delta to its counter, in key order: one statement for the place counters,
/// then one for the agency counters, so every writer takes counter rows in one order and
/// two writers never wait on each other's rows in opposite order.
async fn add<C: ConnectionTrait>(
    db: &C,
    row: &dispute::Model,
    deltas: BTreeMap<Key, i64>,
    agency_deltas: BTreeMap<AgencyKey, i64>,
) -> AppResult<()> {
    let place = [
        row.province_code.clone(),
        row.regency_code.clone(),
        row.district_code.clone().unwrap_or_default(),
    ];
    let rows = deltas
        .into_iter()
        .map(|((dimension, value, audience), delta)| {
            let mut key: Vec<String> = place.to_vec();
            key.extend([dimension.to_owned(), value, audience]);
            (key, delta)
        });
    upsert(
        db,
        dispute_tally::Entity,
        COUNTER_KEY,
        dispute_tally::Column::Count,
        rows,
    )
    .await?;
    let rows = agency_deltas
        .into_iter()
        .map(|((agency, dimension, value, audience), delta)| {
            let mut key = vec![agency, dimension.to_owned()];
            key.extend(place.iter().cloned());
            key.extend([value, audience]);
            (key, delta)
        });
    upsert(
        db,
        dispute_agency_tally::Entity,
        AGENCY_COUNTER_KEY,
        dispute_agency_tally::Column::Count,
        rows,
    )
    .await
}

/// Adds each non-zero delta to the counter its key names (the key's values in the order of
/// `key_columns`), creating counters as needed, in one statement.
async fn upsert<C, E, const N: usize>(
    db: &C,
    table: E,
    key_columns: [E::Column; N],
    count: E::Column,
    rows: impl Iterator<Item = (Vec<String>, i64)>,
) -> AppResult<()>
where
    C: ConnectionTrait,
    E: EntityTrait,
{
    let mut insert = Query::insert();
    insert
        .into_table(table)
        .columns(key_columns.into_iter().chain([count]));
    let mut any = false;
    for (key, delta) in rows.filter(|(_, delta)| *delta != 0) {
        any = true;
        insert.values_panic(
            key.into_iter()
                .map(SimpleExpr::from)
                .chain([SimpleExpr::from(delta)]),
        );
    }
    if !any {
        return Ok(());
    }
    insert.on_conflict(
        OnConflict::columns(key_columns)
            .value(
                count,
                Expr::col((table, count)).add(Expr::cust("excluded.count")),
            )
            .to_owned(),
    );
    db.execute(&insert).await?;
    Ok(())
}

/// Counts a newly reported dispute (inside the transaction that inserts it; it has no
/// escalation or assignment yet, so its reporter's agency is the only one linked).
pub async fn count_new<C: ConnectionTrait>(db: &C, row: &dispute::Model) -> AppResult<()> {
    let audience = policy::tally_audience(row.restricted, &[]);
    fn one<K: Ord>(keys: Vec<K>) -> BTreeMap<K, i64> {
        keys.into_iter().map(|k| (k, 1)).collect()
    }
    add(
        db,
        row,
        one(keys_of(row, &audience)),
        one(agency_keys_of(row, &audience, [&row.reported_by_agency])),
    )
    .await
}

/// What a dispute's counters depend on besides its own row.
#[derive(Clone, Debug, Default)]
pub struct Links {
    /// The bodies a restricted dispute was escalated to, which make its audience (empty for
    /// an unrestricted one, whose audience they do not change).
    pub escalated_to: Vec<EscalationTarget>,
    /// The agencies that reported it or are assigned to it.
    pub agencies: BTreeSet<String>,
}

/// A dispute's links, read inside the writing transaction after its row is locked, so
/// no escalation or assignment can slip in between.
pub async fn links<C: ConnectionTrait>(db: &C, row: &dispute::Model) -> AppResult<Links> {
    let escalated_to = if row.restricted {
        dispute_escalation::Entity::find()
            .filter(dispute_escalation::Column::DisputeId.eq(row.id))
            .all(db)
            .await?
            .iter()
            .map(|escalation| escalation.target)
            .collect()
    } else {
        Vec::new()
    };
    let mut agencies: BTreeSet<String> = dispute_assignment::Entity::find()
        .filter(dispute_assignment::Column::DisputeId.eq(row.id))
        .all(db)
        .await?
        .into_iter()
        .map(|assignment| assignment.agency_code)
        .collect();
    agencies.insert(row.reported_by_agency.clone());
    Ok(Links {
        escalated_to,
        agencies,
    })
}

/// What one workflow step changes that the counters count.
#[derive(Clone, Debug)]
pub struct CountedChange {
    pub to_status: DisputeStatus,
    pub escalation: Option<EscalationTarget>,
    pub assign: Option<String>,
    pub unassign: Option<String>,
}

impl CountedChange {
    /// Whether the step can move the dispute between counters at all (so whether its
    /// links need reading).
    pub fn moves(&self, before: &dispute::Model) -> bool {
        self.to_status != before.status
            || self.escalation.is_some()
            || self.assign.is_some()
            || self.unassign.is_some()
    }
}

/// Moves a changed dispute between counters (inside the transaction that changes it):
/// `before` is the row as it was and `links` its links then (`links`).
pub async fn record_change<C: ConnectionTrait>(
    db: &C,
    before: &dispute::Model,
    links: &Links,
    change: &CountedChange,
) -> AppResult<()> {
    let mut escalated_after = links.escalated_to.clone();
    escalated_after.extend(change.escalation);
    let old_audience = policy::tally_audience(before.restricted, &links.escalated_to);
    let new_audience = policy::tally_audience(before.restricted, &escalated_after);
    let mut agencies_after = links.agencies.clone();
    agencies_after.extend(change.assign.clone());
    if let Some(agency) = &change.unassign {
        // The reporting agency stays linked by its report.
        if *agency != before.reported_by_agency {
            agencies_after.remove(agency);
        }
    }
    if before.status == change.to_status
        && old_audience == new_audience
        && links.agencies == agencies_after
    {
        return Ok(());
    }
    let mut after = before.clone();
    after.status = change.to_status;
    let mut deltas: BTreeMap<Key, i64> = BTreeMap::new();
    for key in keys_of(before, &old_audience) {
        *deltas.entry(key).or_default() -= 1;
    }
    for key in keys_of(&after, &new_audience) {
        *deltas.entry(key).or_default() += 1;
    }
    let mut agency_deltas: BTreeMap<AgencyKey, i64> = BTreeMap::new();
    for key in agency_keys_of(before, &old_audience, &links.agencies) {
        *agency_deltas.entry(key).or_default() -= 1;
    }
    for key in agency_keys_of(&after, &new_audience, &agencies_after) {
        *agency_deltas.entry(key).or_default() += 1;
    }
    add(db, before, deltas, agency_deltas).await
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

    if let Some(linked) = split.linked {
        let linked_key = match dimension {
            StatsDimension::Province => dispute_agency_tally::Column::ProvinceCode,
            _ => dispute_agency_tally::Column::Value,
        };
        let mut part = Query::select();
        part.expr_as(Expr::col(linked_key), key.clone())
            .expr_as(
                Func::sum(Expr::col(dispute_agency_tally::Column::Count)),
                n.clone(),
            )
            .from(dispute_agency_tally::Entity)
            .and_where(dispute_agency_tally::Column::Dimension.eq(dimension_name(dimension)))
            .cond_where(linked);
        if let Some(codes) = &filter.province_codes {
            part.and_where(dispute_agency_tally::Column::ProvinceCode.is_in(codes.clone()));
        }
        if let Some(codes) = &filter.regency_codes {
            part.and_where(dispute_agency_tally::Column::RegencyCode.is_in(codes.clone()));
        }
        part.group_by_col(linked_key);
        counted.union(UnionType::All, part);
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
        // Writers wait (their counter updates come last in their transaction and hold no
        // lock this needs), readers go on reading the old counts until the commit. A write
        // committed before the lock is in the recount; one after adds its delta to it.
        // Locked in the order writers update them.
        txn.execute_unprepared("LOCK TABLE dispute_tally, dispute_agency_tally IN EXCLUSIVE MODE")
            .await?;
    }
    dispute_tally::Entity::delete_many().exec(&txn).await?;
    dispute_agency_tally::Entity::delete_many()
        .exec(&txn)
        .await?;
    let mut rows = 0;
    for (name, _, column) in DIMENSIONS {
        for (table, columns, select) in [
            (
                "dispute_tally",
                "province_code, regency_code, district_code, dimension, value, audience, count",
                recount(name, column),
            ),
            (
                "dispute_agency_tally",
                "agency_code, province_code, regency_code, district_code, dimension, value, \
                 audience, count",
                recount_linked(name, column),
            ),
        ] {
            let sql = format!("INSERT INTO {table} ({columns}) {select}");
            rows += txn.execute_unprepared(&sql).await?.rows_affected();
        }
    }
    txn.commit().await?;
    Ok(rows)
}

/// One counter that disagrees with the disputes.
#[derive(Debug, PartialEq, Eq)]
pub struct Drift {
    /// The agency of an agency counter; `None` for a place counter.
    pub agency: Option<String>,
    pub place: (String, String, String),
    pub dimension: String,
    pub value: String,
    pub audience: String,
    pub counted: i64,
    pub actual: i64,
}

type Place = (String, String, String);
/// (agency, place, dimension, value, audience) of a counter of either table.
type Counter = (Option<String>, Place, String, String, String);

/// The counters that disagree with a recount of the disputes (none, unless the tables were
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
    let mut actual: BTreeMap<Counter, i64> = BTreeMap::new();
    for (name, _, column) in DIMENSIONS {
        for (sql, per_agency) in [
            (recount(name, column), false),
            (recount_linked(name, column), true),
        ] {
            let statement = Statement::from_string(db.get_database_backend(), sql);
            for row in db.query_all_raw(statement).await? {
                let agency = if per_agency {
                    Some(row.try_get::<String>("", "agency_code")?)
                } else {
                    None
                };
                let place = (
                    row.try_get::<String>("", "province_code")?,
                    row.try_get::<String>("", "regency_code")?,
                    row.try_get::<String>("", "district_code")?,
                );
                actual.insert(
                    (
                        agency,
                        place,
                        name.to_owned(),
                        row.try_get("", "value")?,
                        row.try_get("", "audience")?,
                    ),
                    row.try_get("", "count")?,
                );
            }
        }
    }
    let mut counted: BTreeMap<Counter, i64> = BTreeMap::new();
    for row in dispute_tally::Entity::find().all(db).await? {
        counted.insert(
            (
                None,
                (row.province_code, row.regency_code, row.district_code),
                row.dimension,
                row.value,
                row.audience,
            ),
            row.count,
        );
    }
    for row in dispute_agency_tally::Entity::find().all(db).await? {
        counted.insert(
            (
                Some(row.agency_code),
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
                agency: key.0.clone(),
                place: key.1.clone(),
                dimension: key.2.clone(),
                value: key.3.clone(),
                audience: key.4.clone(),
                counted: counted_n,
                actual: actual_n,
            })
        })
        .collect())
}

/// A recount of one attribute from the disputes, grouped like the place counters (SQL
/// both backends accept; the dimension and column names are this module's constants). It
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

/// `recount` per linked agency (its reporter's, and each assignee's once), grouped like
/// the agency counters.
fn recount_linked(name: &str, column: &str) -> String {
    let audience = policy::tally_audience_sql();
    format!(
        "SELECT linked.agency_code AS agency_code, province_code, regency_code, \
         COALESCE(district_code, '') AS district_code, '{name}' AS dimension, \
         COALESCE({column}, '') AS value, {audience} AS audience, COUNT(*) AS count \
         FROM dispute JOIN (SELECT id AS dispute_id, reported_by_agency AS agency_code \
         FROM dispute UNION SELECT dispute_id, agency_code FROM dispute_assignment) linked \
         ON linked.dispute_id = dispute.id \
         GROUP BY linked.agency_code, province_code, regency_code, \
         COALESCE(district_code, ''), COALESCE({column}, ''), {audience}"
    )
}
