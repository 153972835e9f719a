//! Issue 15, only held stages are in force: Jakarta's planned second round (not held: one
//! pair won in round one) stays listed as planned but never places a dispute, never runs
//! on a day, never counts in statistics.

use entity::{dispute, election_stage};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::support::fixtures::{NewDispute, insert_dispute};
use crate::support::spawn_app;
use crate::support::tokens::token;

const REPORT: &str = "mutation($input: ReportDisputeInput!) { reportDispute(input: $input) { dispute { id stageCode } } }";

fn codes(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_dispute_during_the_planned_quiet_period_of_round_two_gets_no_round_two_stage() {
    let app = spawn_app().await;
    let answer = app
        .gql_as(
            Some(&token("ADMIN", "KESBANGPOL_DKI")),
            REPORT,
            json!({ "input": {
                "regencyCode": "31.71", "occurredAt": "2025-02-24T10:00:00+07:00",
                "category": "QUIET_PERIOD_CAMPAIGNING", "severity": "MEDIUM",
                "title": "Kampanye di masa tenang putaran kedua",
                "description": "Spanduk dipasang pada 24 Februari 2025." } }),
        )
        .await;
    answer.expect_ok();
    assert!(
        answer.data("reportDispute.dispute.stageCode").is_null(),
        "{:#}",
        answer.body
    );
    // Round one's quiet period still places a dispute.
    let november = app
        .gql_as(
            Some(&token("ADMIN", "KESBANGPOL_DKI")),
            REPORT,
            json!({ "input": {
                "regencyCode": "31.71", "occurredAt": "2024-11-25T10:00:00+07:00",
                "category": "QUIET_PERIOD_CAMPAIGNING", "severity": "MEDIUM",
                "title": "Kampanye di masa tenang", "description": "Spanduk." } }),
        )
        .await;
    assert_eq!(
        november.data("reportDispute.dispute.stageCode"),
        "MASA_TENANG"
    );
    let stats = app
        .gql_as(
            Some(&token("ADMIN", "KESBANGPOL_DKI")),
            "{ disputeStats { byStage { key count } } }",
            json!({}),
        )
        .await;
    stats.expect_ok();
    let by_stage = stats.data("disputeStats.byStage");
    assert!(
        by_stage
            .as_array()
            .unwrap()
            .contains(&json!({ "key": "MASA_TENANG", "count": 1 })),
        "{by_stage}"
    );
}

#[tokio::test]
async fn no_stage_that_was_not_held_is_ever_active_and_none_is_open_ended() {
    let app = spawn_app().await;
    let answer = app
        .gql(
            r#"{ today: stages(activeOn: "2026-11-30") { code held }
                  quiet: stages(provinceCode: "31", activeOn: "2025-02-24") { code round held }
                  lists: stages(activeOn: "2025-01-08") { code round }
                  campaign: stages(provinceCode: "31", activeOn: "2024-11-01") { code }
                  planned: stages(provinceCode: "31") { code round held } }"#,
        )
        .await;
    answer.expect_ok();
    assert_eq!(answer.data("today"), &json!([]), "{:#}", answer.body);
    assert_eq!(answer.data("quiet"), &json!([]));
    // Round two's voter-list update started 2025-01-08 with no end reported: not held, and
    // even so a missing end date would not have kept it open.
    assert_eq!(answer.data("lists"), &json!([]));
    assert!(codes(answer.data("campaign")).contains(&"KAMPANYE".to_owned()));
    // The planned round is listed, marked not held.
    let round_two: Vec<&Value> = answer
        .data("planned")
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["round"] == 2)
        .collect();
    assert_eq!(round_two.len(), 8);
    assert!(round_two.iter().all(|s| s["held"] == false));
}

#[tokio::test]
async fn a_dispute_placed_in_a_stage_that_was_not_held_is_placed_again_by_the_seed() {
    let app = spawn_app().await;
    let stage = election_stage::Entity::find()
        .filter(election_stage::Column::Key.eq("2024:31:2:MASA_TENANG"))
        .one(&app.db.conn)
        .await
        .unwrap()
        .unwrap();
    let id = insert_dispute(
        &app.db.conn,
        NewDispute {
            stage_code: Some("MASA_TENANG"),
            reported_at: chrono::DateTime::parse_from_rfc3339("2025-02-24T05:00:00Z")
                .unwrap()
                .to_utc(),
            ..Default::default()
        },
    )
    .await;
    // As an older version of Posko placed it.
    dispute::Entity::update(dispute::ActiveModel {
        id: Set(id),
        stage_id: Set(Some(stage.id)),
        ..Default::default()
    })
    .exec(&app.db.conn)
    .await
    .unwrap();
    app.db
        .conn
        .execute_unprepared("UPDATE seed_state SET fingerprint = 'an older data version'")
        .await
        .unwrap();
    posko::db::seed::run(&app.db.conn).await.unwrap();
    let row = dispute::Entity::find_by_id(id)
        .one(&app.db.conn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.stage_id, row.stage_code), (None, None));
    let stats = app
        .gql_as(
            Some(&token("ADMIN", "KESBANGPOL_DKI")),
            "{ disputeStats { byStage { key count } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        stats.data("disputeStats.byStage"),
        &json!([{ "key": "NONE", "count": 1 }])
    );
}
