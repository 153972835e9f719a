//! Issue 15, the whole legal chain as clocks: Gakkumdu's criminal chain after an
//! escalation to GAKKUMDU, and the Constitutional Court's windows in working days (with
//! Indonesia's holidays and collective leave), each with its legal basis; the `overdue`
//! filter agrees with every one.

use chrono::{DateTime, Duration, SubsecRound, TimeZone, Utc};
use entity::dispute_escalation;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::support::fixtures::{NewDispute, escalate, gid, insert_dispute};
use crate::support::tokens::token;
use crate::support::{TestApp, spawn_app};

const CLOCKS: &str = "query($id: ID!) { dispute(id: $id) { deadlines {
    kind step legalBasis workingDays dueAt extendedDueAt met overdue } } }";

async fn escalate_at(app: &TestApp, id: i32, target: &'static str, at: DateTime<Utc>) {
    escalate(&app.db.conn, id, target).await;
    let row = dispute_escalation::Entity::find()
        .filter(dispute_escalation::Column::DisputeId.eq(id))
        .filter(dispute_escalation::Column::Target.eq(target))
        .one(&app.db.conn)
        .await
        .unwrap()
        .unwrap();
    dispute_escalation::Entity::update(dispute_escalation::ActiveModel {
        id: Set(row.id),
        escalated_at: Set(at),
        ..Default::default()
    })
    .exec(&app.db.conn)
    .await
    .unwrap();
}

async fn clocks(app: &TestApp, id: i32) -> Vec<Value> {
    let answer = app
        .gql_as(
            Some(&token("BAWASLU", "BAWASLU_RI")),
            CLOCKS,
            json!({ "id": gid(id) }),
        )
        .await;
    answer.expect_ok();
    answer.data("dispute.deadlines").as_array().unwrap().clone()
}

fn clock<'a>(clocks: &'a [Value], kind: &str) -> &'a Value {
    clocks
        .iter()
        .find(|c| c["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {clocks:#?}"))
}

fn instant(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap())
        .unwrap()
        .to_utc()
}

#[tokio::test]
async fn gakkumdu_chain_runs_from_the_escalation_each_step_with_its_article() {
    let app = spawn_app().await;
    let id = insert_dispute(
        &app.db.conn,
        NewDispute {
            category: "MONEY_POLITICS",
            ..Default::default()
        },
    )
    .await;
    // Whole seconds: PostgreSQL keeps microseconds only.
    let escalated = (Utc::now() - Duration::days(20)).trunc_subsecs(0);
    escalate_at(&app, id, "GAKKUMDU", escalated).await;
    let clocks = clocks(&app, id).await;
    let expected = [
        (
            "GAKKUMDU_FILE_TO_PROSECUTOR",
            14,
            "UU 1/2015 Pasal 146(1)",
            true,
        ),
        ("GAKKUMDU_CASE_TO_COURT", 19, "Pasal 147", true),
        ("GAKKUMDU_COURT_VERDICT", 26, "Pasal 148", false),
        ("GAKKUMDU_APPEAL_FILED", 29, "Pasal 148", false),
        ("GAKKUMDU_APPEAL_VERDICT", 36, "Pasal 148", false),
    ];
    for (kind, days, basis, overdue) in expected {
        let c = clock(&clocks, kind);
        assert_eq!(
            instant(&c["dueAt"]),
            escalated + Duration::days(days),
            "{kind}"
        );
        assert!(
            c["legalBasis"].as_str().unwrap().contains(basis),
            "{kind}: {c}"
        );
        assert_eq!(c["overdue"], overdue, "{kind}");
        assert_eq!(c["met"], false);
        assert_eq!(c["workingDays"], false);
        assert!(!c["step"].as_str().unwrap().is_empty());
        if kind != "GAKKUMDU_FILE_TO_PROSECUTOR" {
            // A returned and resubmitted file (3 + 3 days) extends every later step.
            assert_eq!(
                instant(&c["extendedDueAt"]),
                escalated + Duration::days(days + 6),
                "{kind}"
            );
        }
    }
}

#[tokio::test]
async fn the_constitutional_court_counts_working_days_and_the_overdue_filter_agrees() {
    let app = spawn_app().await;
    let objection = |regency: &'static str, status: &'static str| NewDispute {
        regency,
        status,
        category: "COUNTING_OBJECTION",
        violation: Some("ADMINISTRATIVE"),
        reported_at: Utc.with_ymd_and_hms(2024, 12, 9, 3, 0, 0).unwrap(),
        stage_code: None,
        ..Default::default()
    };
    // Every dispute went to Bawaslu, which classified it: only the Court's clocks run.
    let mut ids = Vec::new();
    for (regency, status) in [
        ("31.71", "ESCALATED"),
        ("31.71", "ESCALATED"),
        ("31.71", "ESCALATED"),
        ("31.71", "RESOLVED"),
        ("32.76", "ESCALATED"),
    ] {
        let id = insert_dispute(&app.db.conn, objection(regency, status)).await;
        escalate_at(
            &app,
            id,
            "BAWASLU",
            Utc.with_ymd_and_hms(2024, 12, 9, 4, 0, 0).unwrap(),
        )
        .await;
        ids.push(id);
    }
    let [never, recent, long_ago, resolved, depok] = ids[..] else {
        unreachable!()
    };
    escalate_at(
        &app,
        recent,
        "CONSTITUTIONAL_COURT",
        Utc::now() - Duration::days(1),
    )
    .await;
    // Tuesday 10 Dec 2024, 10:00 in Jakarta.
    escalate_at(
        &app,
        long_ago,
        "CONSTITUTIONAL_COURT",
        Utc.with_ymd_and_hms(2024, 12, 10, 3, 0, 0).unwrap(),
    )
    .await;

    // KPU DKI announced Sunday 8 Dec 2024: three working days end Wednesday 11 Dec,
    // midnight in Jakarta (17:00 UTC).
    let never_clocks = clocks(&app, never).await;
    let petition = clock(&never_clocks, "CONSTITUTIONAL_COURT_PETITION");
    assert_eq!(petition["dueAt"], "2024-12-11T17:00:00+00:00");
    assert_eq!(petition["workingDays"], true);
    assert_eq!(petition["legalBasis"], "UU 10/2016 Pasal 157(5)");
    assert_eq!(
        (&petition["met"], &petition["overdue"]),
        (&json!(false), &json!(true))
    );
    // Depok has no recorded announcement: the last day of the national count (Monday 16
    // Dec) starts the window.
    let depok_clocks = clocks(&app, depok).await;
    assert_eq!(
        clock(&depok_clocks, "CONSTITUTIONAL_COURT_PETITION")["dueAt"],
        "2024-12-19T17:00:00+00:00"
    );
    // Petitioned yesterday: the window is met, the Court's 45 working days run.
    let recent_clocks = clocks(&app, recent).await;
    assert_eq!(
        clock(&recent_clocks, "CONSTITUTIONAL_COURT_PETITION")["met"],
        true
    );
    let decision = clock(&recent_clocks, "CONSTITUTIONAL_COURT_DECISION");
    assert_eq!(decision["overdue"], false);
    assert_eq!(decision["legalBasis"], "UU 10/2016 Pasal 157(8)");
    // Petitioned 10 Dec 2024: 45 working days skip Christmas, its collective leave, New
    // Year, Isra Mikraj, Imlek and its leave: Wednesday 19 Feb 2025.
    let long_clocks = clocks(&app, long_ago).await;
    let decision = clock(&long_clocks, "CONSTITUTIONAL_COURT_DECISION");
    assert_eq!(decision["dueAt"], "2025-02-19T17:00:00+00:00");
    assert_eq!(decision["overdue"], true);
    // A closed dispute has nothing overdue.
    let resolved_clocks = clocks(&app, resolved).await;
    assert!(resolved_clocks.iter().all(|c| c["overdue"] == false));

    // The filter lists exactly the disputes with an overdue clock.
    let filtered = app
        .gql_as(
            Some(&token("BAWASLU", "BAWASLU_RI")),
            "{ overdue: disputes(first: 50, filter: { overdue: true }) { nodes { id } }
               onTime: disputes(first: 50, filter: { overdue: false }) { nodes { id } } }",
            json!({}),
        )
        .await;
    filtered.expect_ok();
    let listed = |key: &str| -> std::collections::BTreeSet<String> {
        filtered
            .data(&format!("{key}.nodes"))
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut by_clock = std::collections::BTreeSet::new();
    for id in [never, recent, long_ago, resolved, depok] {
        if clocks(&app, id).await.iter().any(|c| c["overdue"] == true) {
            by_clock.insert(gid(id));
        }
    }
    assert_eq!(
        by_clock,
        [gid(never), gid(long_ago), gid(depok)]
            .into_iter()
            .collect()
    );
    assert_eq!(listed("overdue"), by_clock);
    assert_eq!(
        listed("onTime"),
        [gid(recent), gid(resolved)].into_iter().collect()
    );
}
