//! Offline checks an operator runs against the database (`posko verify-timeline`). This
//! reads every dispute, so it is a maintenance tool, not a request path.

use entity::{dispute, dispute_event};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::domain::timeline::first_broken_link;

/// A timeline whose chain does not hold.
pub struct BrokenTimeline {
    pub dispute_id: i32,
    pub ref_no: String,
    /// The first event whose hash or link does not match.
    pub seq: i32,
}

/// What `verify_timelines` found.
pub struct TimelineReport {
    pub disputes: usize,
    pub events: usize,
    pub broken: Vec<BrokenTimeline>,
}

/// Recomputes every timeline's hash chain, a thousand disputes at a time.
pub async fn verify_timelines(db: &DatabaseConnection) -> anyhow::Result<TimelineReport> {
    let mut report = TimelineReport {
        disputes: 0,
        events: 0,
        broken: Vec::new(),
    };
    let mut after = 0;
    loop {
        let batch = dispute::Entity::find()
            .filter(dispute::Column::Id.gt(after))
            .order_by_asc(dispute::Column::Id)
            .limit(1_000)
            .all(db)
            .await?;
        let Some(last) = batch.last() else {
            break;
        };
        after = last.id;
        let events = dispute_event::Entity::find()
            .filter(dispute_event::Column::DisputeId.is_in(batch.iter().map(|d| d.id)))
            .order_by_asc(dispute_event::Column::DisputeId)
            .order_by_asc(dispute_event::Column::Seq)
            .all(db)
            .await?;
        report.disputes += batch.len();
        report.events += events.len();
        let by_dispute: std::collections::HashMap<i32, &[dispute_event::Model]> = events
            .chunk_by(|a, b| a.dispute_id == b.dispute_id)
            .map(|chunk| (chunk[0].dispute_id, chunk))
            .collect();
        for dispute in batch {
            let timeline = by_dispute.get(&dispute.id).copied().unwrap_or_default();
            if let Some(seq) = first_broken_link(timeline) {
                report.broken.push(BrokenTimeline {
                    dispute_id: dispute.id,
                    ref_no: dispute.ref_no,
                    seq,
                });
            }
        }
    }
    Ok(report)
}
