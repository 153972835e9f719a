//! `posko seed-demo`: deterministic, plausible, chained.

use entity::{dispute, dispute_event};
use posko::db::demo::{self, DemoOptions};
use posko::db::seed;
use posko::domain::timeline::{EventContent, GENESIS_HASH, event_hash};
use sea_orm::{EntityTrait, QueryOrder};

use crate::support::TestDb;

async fn load(
    seed_value: u64,
    count: usize,
) -> (TestDb, Vec<dispute::Model>, Vec<dispute_event::Model>) {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    db.migrate().await.expect("migrations apply");
    seed::run(&db.conn).await.expect("reference seed");
    let report = demo::run(
        &db.conn,
        &DemoOptions {
            disputes: count,
            seed: seed_value,
            progress: false,
        },
    )
    .await
    .expect("demo data loads");
    assert_eq!(report.disputes, count);
    let disputes = disputes_in_id_order().all(&db.conn).await.unwrap();
    let events = dispute_event::Entity::find()
        .order_by_asc(dispute_event::Column::DisputeId)
        .order_by_asc(dispute_event::Column::Seq)
        .all(&db.conn)
        .await
        .unwrap();
    assert_eq!(report.events, events.len());
    (test_db, disputes, events)
}

/// Every dispute, oldest row first.
fn disputes_in_id_order() -> sea_orm::Select<dispute::Entity> {
    dispute::Entity::find().order_by_asc(dispute::Column::Id)
}

fn without_ids(events: &[dispute_event::Model]) -> Vec<dispute_event::Model> {
    events
        .iter()
        .cloned()
        .map(|mut e| {
            e.id = 0;
            e
        })
        .collect()
}

#[tokio::test]
async fn the_same_seed_gives_the_same_data_and_another_seed_other_data() {
    let (_a, disputes_a, events_a) = load(7, 60).await;
    let (_b, disputes_b, events_b) = load(7, 60).await;
    let (_c, disputes_c, _) = load(8, 60).await;
    assert_eq!(disputes_a, disputes_b);
    assert_eq!(without_ids(&events_a), without_ids(&events_b));
    assert_ne!(
        disputes_a.iter().map(|d| &d.title).collect::<Vec<_>>(),
        disputes_c.iter().map(|d| &d.title).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn demo_disputes_are_varied_and_their_timelines_chain() {
    let (_db, disputes, events) = load(3, 300).await;
    let distinct = |f: fn(&dispute::Model) -> &str| {
        disputes
            .iter()
            .map(f)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    assert_eq!(distinct(|d| d.status.as_str()), 6);
    assert_eq!(distinct(|d| d.severity.as_str()), 4);
    assert_eq!(distinct(|d| d.category.as_str()), 9);
    assert!(distinct(|d| &d.province_code) > 20);
    assert!(disputes.iter().any(|d| d.restricted) && disputes.iter().any(|d| !d.restricted));
    assert!(disputes.iter().any(|d| d.reporter_name.is_some()));
    assert!(
        disputes
            .iter()
            .any(|d| d.stage_code.as_deref() == Some("KAMPANYE"))
    );
    assert!(
        events
            .iter()
            .any(|e| e.kind == posko::domain::types::EventKind::IntelNote
                && e.audience.as_deref() == Some("POLICE"))
    );
    let per_dispute = events.len() as f64 / disputes.len() as f64;
    assert!(
        (3.0..=7.0).contains(&per_dispute),
        "{per_dispute} events per dispute"
    );

    for dispute in &disputes {
        let timeline: Vec<&dispute_event::Model> = events
            .iter()
            .filter(|e| e.dispute_id == dispute.id)
            .collect();
        assert_eq!(
            timeline.len() as i32,
            dispute.version,
            "version counts the events of {}",
            dispute.ref_no
        );
        let mut prev = GENESIS_HASH.to_owned();
        for (index, event) in timeline.iter().enumerate() {
            assert_eq!(event.seq, index as i32 + 1);
            assert_eq!(event.prev_hash, prev);
            let expected = event_hash(&prev, &EventContent::of(event));
            assert_eq!(
                event.hash, expected,
                "event {} of {}",
                event.seq, dispute.ref_no
            );
            prev = event.hash.clone();
        }
    }
}

/// Lists read disputes by column position (`db::dispute_rows`); the rows must be the ones
/// sea-orm's by-name decoder reads, NULLs and vocabularies included, on either backend.
#[tokio::test]
async fn dispute_rows_read_by_position_are_the_rows_read_by_name() {
    use posko::db::dispute_rows::DisputeRow;
    use sea_orm::{ActiveModelTrait, QuerySelect, Set};
    use vocabulary::ReporterKind;
    let (test_db, _, _) = load(11, 120).await;
    let db = test_db.connect().await;
    // The demo data fills some columns always or never: one dispute gets them, another not.
    let two = disputes_in_id_order().limit(2).all(&db.conn).await.unwrap();
    for (row, filled) in two.into_iter().zip([true, false]) {
        let mut row: dispute::ActiveModel = row.into();
        row.reporter_kind = Set(filled.then_some(ReporterKind::CandidatePair));
        row.district_code = Set(filled.then(|| "31.71.01".to_owned()));
        if !filled {
            row.election_id = Set(None);
            row.stage_id = Set(None);
            row.stage_code = Set(None);
            row.location_text = Set(None);
        }
        row.update(&db.conn).await.unwrap();
    }
    let by_name = disputes_in_id_order().all(&db.conn).await.unwrap();
    let read = disputes_in_id_order()
        .into_model::<DisputeRow>()
        .all(&db.conn)
        .await
        .unwrap();
    assert!(read.iter().all(DisputeRow::by_position));
    let by_position: Vec<dispute::Model> = read.into_iter().map(DisputeRow::into_model).collect();
    assert_eq!(by_position, by_name);
    // The sample holds both sides of the columns that may be NULL, so both were decoded.
    let both = |f: fn(&dispute::Model) -> bool| by_name.iter().any(f) && !by_name.iter().all(f);
    assert!(both(|d| d.reporter_name.is_some()));
    assert!(both(|d| d.outcome.is_some()));
    assert!(both(|d| d.reporter_kind.is_some()));
    assert!(both(|d| d.district_code.is_some()));
    assert!(both(|d| d.violation.is_some()));
    assert!(both(|d| d.restricted));
    assert!(both(|d| d.stage_id.is_some()));
    assert!(both(|d| d.location_text.is_some()));
}
