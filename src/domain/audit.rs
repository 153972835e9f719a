//! The access log of sensitive reads (who, agency, when, dispute, field; never the value).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use entity::{access_log, dispute};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionSession as _, TransactionTrait,
};

use crate::auth::policy::{self, Action, DisputeField};
use crate::auth::viewer::Viewer;
use crate::domain::paging::{self, PageRequest};
use crate::error::{AppError, AppResult};

/// One read to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SensitiveRead {
    pub dispute_id: i32,
    pub dispute_public_id: String,
    pub province_code: String,
    pub regency_code: String,
    pub field: DisputeField,
}

impl SensitiveRead {
    /// The read of `field` of this dispute.
    pub fn of(dispute: &dispute::Model, field: DisputeField) -> Self {
        Self {
            dispute_id: dispute.id,
            dispute_public_id: dispute.public_id.clone(),
            province_code: dispute.province_code.clone(),
            regency_code: dispute.regency_code.clone(),
            field,
        }
    }
}

/// Appends the reads of one request in one statement.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    request_id: &str,
    reads: Vec<SensitiveRead>,
) -> AppResult<()> {
    if reads.is_empty() {
        return Ok(());
    }
    let at = Utc::now();
    let agency = viewer.agency_code.clone().unwrap_or_default();
    let rows = reads.into_iter().map(|read| access_log::ActiveModel {
        id: NotSet,
        at: Set(at),
        viewer_sub: Set(viewer.subject_or_public().to_owned()),
        viewer_role: Set(viewer.role),
        agency_code: Set(agency.clone()),
        dispute_id: Set(read.dispute_id),
        dispute_public_id: Set(read.dispute_public_id),
        province_code: Set(read.province_code),
        regency_code: Set(read.regency_code),
        field: Set(read.field.as_ref().to_owned()),
        request_id: Set(Some(request_id.to_owned())),
    });
    access_log::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Filters of `accessLog`.
#[derive(Default)]
pub struct AccessLogFilter {
    /// A dispute's public id.
    pub dispute_id: Option<String>,
    pub field: Option<DisputeField>,
    pub agency_code: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A page of the access log, newest first.
pub struct AccessLogPage {
    pub rows: Vec<access_log::Model>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

/// An opaque cursor over the access log.
pub fn encode_cursor(id: i32) -> String {
    URL_SAFE_NO_PAD.encode(format!("access:{id}"))
}

fn decode_cursor(argument: &'static str, cursor: &str) -> AppResult<i32> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("access:").and_then(|id| id.parse().ok()))
        .ok_or_else(|| AppError::bad_input(argument, "invalid cursor"))
}

/// Runs the access log's select with a plan made for its values on PostgreSQL, whose
/// connections otherwise keep one generic plan per statement (`db::connect_options`): a
/// time window may hold one row or most of the log, and a plan guessed for neither could
/// read the whole log through the wrong index. The log grows with every sensitive read;
/// its list is an administrator's, rare enough for two statements more.
async fn read_planned_for_values<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    select: sea_orm::Select<access_log::Entity>,
) -> AppResult<Vec<access_log::Model>> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(select.all(db).await?);
    }
    let txn = db.begin().await?;
    txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan")
        .await?;
    let rows = select.all(&txn).await?;
    txn.commit().await?;
    Ok(rows)
}

/// The access log of the viewer's jurisdiction (ADMIN only).
pub async fn list<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    viewer: &Viewer,
    filter: &AccessLogFilter,
    page: &PageRequest,
) -> AppResult<AccessLogPage> {
    policy::permit(viewer, Action::ReadAccessLog)?;
    let size = page.size()?;
    let mut select = access_log::Entity::find().filter(policy::access_log_scope(viewer));
    if let Some(public_id) = &filter.dispute_id {
        select = select.filter(access_log::Column::DisputePublicId.eq(public_id.clone()));
    }
    if let Some(field) = filter.field {
        select = select.filter(access_log::Column::Field.eq(field.as_ref()));
    }
    if let Some(agency) = &filter.agency_code {
        select = select.filter(access_log::Column::AgencyCode.eq(agency.clone()));
    }
    if let Some(from) = filter.from {
        select = select.filter(access_log::Column::At.gte(from));
    }
    if let Some(to) = filter.to {
        select = select.filter(access_log::Column::At.lt(to));
    }
    // Newest first: "after" a cursor is older, "before" it newer.
    if let Some(cursor) = &page.after {
        select = select.filter(access_log::Column::Id.lt(decode_cursor("after", cursor)?));
    }
    if let Some(cursor) = &page.before {
        select = select.filter(access_log::Column::Id.gt(decode_cursor("before", cursor)?));
    }
    let select = if size.from_end {
        select.order_by_asc(access_log::Column::Id)
    } else {
        select.order_by_desc(access_log::Column::Id)
    };
    let rows = read_planned_for_values(db, select.limit(size.limit + 1)).await?;
    let (rows, has_previous_page, has_next_page) = paging::settle(rows, size, page);
    Ok(AccessLogPage {
        rows,
        has_next_page,
        has_previous_page,
    })
}
