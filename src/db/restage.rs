//! Placing disputes again when a stage stops being in force (a planned round marked not
//! held, by the seed or by `updateStage`). A maintenance write: it reads dispute rows
//! without a viewer, returns nothing to any caller, and recounts the statistics after.

use chrono::Duration;
use entity::{dispute, election_stage};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait};

use crate::domain::reference::utc_offset_hours;
use crate::domain::reference_snapshot::ReferenceSnapshot;
use crate::domain::tally;
use crate::error::AppResult;

/// Places again every dispute attributed to a stage that is no longer in force by the
/// rule of `reference_snapshot::in_force` (a planned round marked not held, by the seed or by
/// `updateStage`), on the day it occurred, then recounts the statistics. Returns how many
/// disputes moved. Disputes placed under an older rule are corrected the same way.
pub async fn reattribute_unheld_stages<C: ConnectionTrait + TransactionTrait>(
    db: &C,
) -> AppResult<u64> {
    let unheld: Vec<i32> = election_stage::Entity::find()
        .filter(election_stage::Column::Held.eq(false))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    if unheld.is_empty() {
        return Ok(0);
    }
    let misplaced = dispute::Entity::find()
        .filter(dispute::Column::StageId.is_in(unheld))
        .all(db)
        .await?;
    if misplaced.is_empty() {
        return Ok(0);
    }
    // Read here rather than from an instance's cache: this runs inside the transaction
    // that changed a stage, and in `posko seed`, where no cache exists.
    let places = ReferenceSnapshot::read(db, 0).await?;
    let mut moved = 0;
    for row in misplaced {
        let local = row.occurred_at + Duration::hours(utc_offset_hours(&row.province_code));
        let cycle = crate::db::seed::CYCLE_YEAR;
        let election = places.election_for(&row.province_code, &row.regency_code, cycle);
        let stage = places.stage_in_force(election, cycle, local.date_naive());
        dispute::Entity::update_many()
            .col_expr(
                dispute::Column::StageId,
                sea_orm::sea_query::Expr::value(stage.as_ref().map(|s| s.id)),
            )
            .col_expr(
                dispute::Column::StageCode,
                sea_orm::sea_query::Expr::value(stage.map(|s| s.code.clone())),
            )
            .filter(dispute::Column::Id.eq(row.id))
            .exec(db)
            .await?;
        moved += 1;
    }
    if moved > 0 {
        tally::rebuild(db).await?;
        tracing::warn!(
            disputes = moved,
            "disputes attributed to a stage that was not held were placed again"
        );
    }
    Ok(moved)
}
