//! The dispute workflow through HTTP: reports, the state machine, no lost update,
//! idempotent reports, the hash-chained timeline, the legal clocks and bad input.

use std::sync::Arc;

use chrono::{Duration, Utc};
use entity::{dispute, dispute_escalation, dispute_event};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::support::fixtures::row_id;
use crate::support::tokens::token;
use crate::support::{Gql, TestApp, spawn_app};

const FIELDS: &str = "id refNo status version stageCode timelineIntact restricted
  parties { ballotNumber } events { seq kind note audience } viewerCan { transitionTo }
  deadlines { kind dueAt overdue met }";

fn report_mutation() -> String {
    format!(
        "mutation($input: ReportDisputeInput!) {{ reportDispute(input: $input) {{ replayed dispute {{ {FIELDS} }} }} }}"
    )
}

fn report_input() -> Value {
    json!({
        "regencyCode": "31.71",
        "occurredAt": "2024-11-25T10:00:00+07:00",
        "category": "QUIET_PERIOD_CAMPAIGNING",
        "severity": "HIGH",
        "title": "Pembagian sembako saat masa tenang",
        "description": "Tim pasangan calon membagikan sembako di depan pasar.",
        "locationText": "Pasar Senen",
        "partyBallotNumbers": [3, 1],
        "reporter": { "name": "Budi Warga", "contact": "+62 811-1111-2222", "kind": "VOTER" }
    })
}

struct Caller {
    token: String,
}

impl Caller {
    fn new(role: &str, agency: &str) -> Self {
        Self {
            token: token(role, agency),
        }
    }
}

async fn run(app: &TestApp, caller: &Caller, query: &str, variables: Value) -> Gql {
    app.gql_as(Some(&caller.token), query, variables).await
}

async fn report(app: &TestApp, caller: &Caller, input: Value) -> Gql {
    run(app, caller, &report_mutation(), json!({ "input": input })).await
}

async fn transition(app: &TestApp, caller: &Caller, mutation: &str, input: Value) -> Gql {
    let query = format!(
        "mutation($input: {}) {{ {mutation}(input: $input) {{ dispute {{ {FIELDS} }} }} }}",
        input_type(mutation)
    );
    run(app, caller, &query, json!({ "input": input })).await
}

fn input_type(mutation: &str) -> &'static str {
    match mutation {
        "verifyDispute" | "startMediation" => "TransitionInput!",
        "recordMediation" => "RecordMediationInput!",
        "escalateDispute" => "EscalateDisputeInput!",
        "classifyViolation" => "ClassifyViolationInput!",
        "addIntelNote" => "AddIntelNoteInput!",
        "addNote" => "AddNoteInput!",
        "assignAgency" | "unassignAgency" => "AssignAgencyInput!",
        "resolveDispute" => "ResolveDisputeInput!",
        _ => "ReasonInput!",
    }
}

fn admin() -> Caller {
    Caller::new("ADMIN", "KESBANGPOL_DKI")
}

async fn reported(app: &TestApp) -> (String, i64) {
    let answer = report(app, &admin(), report_input()).await;
    answer.expect_ok();
    let id = answer
        .data("reportDispute.dispute.id")
        .as_str()
        .unwrap()
        .to_owned();
    (
        id,
        answer
            .data("reportDispute.dispute.version")
            .as_i64()
            .unwrap(),
    )
}

#[tokio::test]
async fn a_report_is_placed_in_its_stage_election_and_timeline() {
    let app = spawn_app().await;
    let answer = report(&app, &admin(), report_input()).await;
    answer.expect_ok();
    let dispute = answer.data("reportDispute.dispute");
    assert_eq!(answer.data("reportDispute.replayed"), false);
    assert_eq!(dispute["status"], "REPORTED");
    assert_eq!(dispute["version"], 1);
    assert_eq!(
        dispute["stageCode"], "MASA_TENANG",
        "25 Nov 2024 in Jakarta is the quiet period"
    );
    assert!(
        dispute["refNo"].as_str().unwrap().starts_with("PSK-31-"),
        "{dispute}"
    );
    assert_eq!(
        dispute["parties"],
        json!([{ "ballotNumber": 1 }, { "ballotNumber": 3 }])
    );
    assert_eq!(dispute["events"].as_array().unwrap().len(), 1);
    assert_eq!(dispute["events"][0]["kind"], "REPORTED");
    assert_eq!(dispute["timelineIntact"], true);
    assert_eq!(
        dispute["viewerCan"]["transitionTo"],
        json!(["VERIFIED", "ESCALATED", "DISMISSED"])
    );

    // A member reports within its own jurisdiction only; PUBLIC cannot report.
    let kodam = Caller::new("MEMBER", "KODAM_JAYA");
    let depok = report(&app, &kodam, json!({ "regencyCode": "32.76", "occurredAt": "2024-10-01T09:00:00Z", "category": "CLASH", "severity": "MEDIUM", "title": "Bentrok", "description": "Dua kelompok bentrok." })).await;
    depok.expect_ok();
    assert_eq!(depok.data("reportDispute.dispute.stageCode"), "KAMPANYE");
    let bogor = report(&app, &Caller::new("KPU", "KPU_DKI"), json!({ "regencyCode": "32.71", "occurredAt": "2024-10-01T09:00:00Z", "category": "CLASH", "severity": "MEDIUM", "title": "x", "description": "y" })).await;
    assert_eq!(bogor.error_codes(), ["FORBIDDEN"]);
    let public = app
        .gql_as(None, &report_mutation(), json!({ "input": report_input() }))
        .await;
    assert_eq!(public.error_codes(), ["FORBIDDEN"]);
}

#[tokio::test]
async fn a_dispute_goes_from_report_through_mediation_to_resolution_and_back() {
    let app = spawn_app().await;
    let (id, _) = reported(&app).await;
    let admin = admin();
    let steps = [
        (
            "verifyDispute",
            json!({ "id": id, "expectedVersion": 1, "note": "dicek di lapangan" }),
            "VERIFIED",
            json!(["IN_MEDIATION", "ESCALATED", "DISMISSED"]),
        ),
        (
            "startMediation",
            json!({ "id": id, "expectedVersion": 2 }),
            "IN_MEDIATION",
            json!(["RESOLVED", "ESCALATED"]),
        ),
        (
            "recordMediation",
            json!({ "id": id, "expectedVersion": 3, "heldAt": "2024-11-26T19:00:00+07:00", "participants": ["Tim 1", "Tim 3"], "outcome": "Sepakat menarik sembako" }),
            "IN_MEDIATION",
            json!(["RESOLVED", "ESCALATED"]),
        ),
        (
            "resolveDispute",
            json!({ "id": id, "expectedVersion": 4, "outcome": "Selesai dengan mediasi" }),
            "RESOLVED",
            json!(["VERIFIED"]),
        ),
        (
            "reopenDispute",
            json!({ "id": id, "expectedVersion": 5, "reason": "Pelanggaran berulang" }),
            "VERIFIED",
            json!(["IN_MEDIATION", "ESCALATED", "DISMISSED"]),
        ),
        (
            "dismissDispute",
            json!({ "id": id, "expectedVersion": 6, "reason": "Bukan pelanggaran" }),
            "DISMISSED",
            json!(["VERIFIED"]),
        ),
    ];
    for (version, (mutation, input, status, next)) in (2..).zip(steps) {
        let answer = transition(&app, &admin, mutation, input).await;
        answer.expect_ok();
        let dispute = &answer.body["data"][mutation]["dispute"];
        assert_eq!(dispute["status"], status, "{mutation}");
        assert_eq!(dispute["version"], version, "{mutation}");
        assert_eq!(dispute["viewerCan"]["transitionTo"], next, "{mutation}");
        let events = dispute["events"].as_array().unwrap();
        assert_eq!(
            events.len() as i64,
            version,
            "{mutation}: one event per change"
        );
        assert_eq!(dispute["timelineIntact"], true);
    }
}

#[tokio::test]
async fn moves_outside_the_state_machine_are_invalid_transitions_naming_the_allowed_states() {
    let app = spawn_app().await;
    let (id, _) = reported(&app).await;
    let admin = admin();
    let resolve = transition(
        &app,
        &admin,
        "resolveDispute",
        json!({ "id": id, "expectedVersion": 1, "outcome": "x" }),
    )
    .await;
    assert_eq!(resolve.error_codes(), ["INVALID_TRANSITION"]);
    assert_eq!(
        resolve.body["errors"][0]["extensions"]["allowed"],
        json!(["VERIFIED", "ESCALATED", "DISMISSED"])
    );
    let mediation = transition(
        &app,
        &admin,
        "startMediation",
        json!({ "id": id, "expectedVersion": 1 }),
    )
    .await;
    assert_eq!(mediation.error_codes(), ["INVALID_TRANSITION"]);
    transition(
        &app,
        &admin,
        "dismissDispute",
        json!({ "id": id, "expectedVersion": 1, "reason": "duplikat" }),
    )
    .await
    .expect_ok();
    // A closed dispute leaves only by reopening, and only ADMIN reopens.
    let verify = transition(
        &app,
        &admin,
        "verifyDispute",
        json!({ "id": id, "expectedVersion": 2 }),
    )
    .await;
    assert_eq!(verify.error_codes(), ["INVALID_TRANSITION"]);
    let bawaslu = transition(
        &app,
        &Caller::new("BAWASLU", "BAWASLU_DKI"),
        "reopenDispute",
        json!({ "id": id, "expectedVersion": 2, "reason": "x" }),
    )
    .await;
    assert_eq!(bawaslu.error_codes(), ["FORBIDDEN"]);
    let mediate = transition(
        &app,
        &Caller::new("KPU", "KPU_DKI"),
        "verifyDispute",
        json!({ "id": id, "expectedVersion": 2 }),
    )
    .await;
    assert_eq!(
        mediate.error_codes(),
        ["FORBIDDEN"],
        "KPU sees the dispute but may not verify it"
    );
    let events = dispute_event::Entity::find()
        .filter(dispute_event::Column::DisputeId.eq(row_id(&app.db.conn, &id).await))
        .count(&app.db.conn)
        .await
        .unwrap();
    assert_eq!(events, 2, "refused moves write nothing");
}

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict_with_the_current_version() {
    let app = spawn_app().await;
    let (id, _) = reported(&app).await;
    let admin = admin();
    transition(
        &app,
        &admin,
        "verifyDispute",
        json!({ "id": id, "expectedVersion": 1 }),
    )
    .await
    .expect_ok();
    let stale = transition(
        &app,
        &admin,
        "addNote",
        json!({ "id": id, "expectedVersion": 1, "note": "terlambat" }),
    )
    .await;
    assert_eq!(stale.error_codes(), ["CONFLICT"]);
    assert_eq!(stale.body["errors"][0]["extensions"]["currentVersion"], 2);
    let missing = transition(
        &app,
        &admin,
        "addNote",
        json!({ "id": "999999", "expectedVersion": 1, "note": "x" }),
    )
    .await;
    assert_eq!(missing.error_codes(), ["NOT_FOUND"]);
}

#[tokio::test]
async fn fifty_concurrent_conflicting_mutations_lose_no_update() {
    let app = Arc::new(spawn_app().await);
    let (id, version) = reported(&app).await;
    let admin = Arc::new(admin());
    let attempt = |n: usize, version: i64| {
        let app = app.clone();
        let admin = admin.clone();
        let id = id.clone();
        async move {
            let answer = transition(
                &app,
                &admin,
                "addNote",
                json!({ "id": id, "expectedVersion": version, "note": format!("catatan {n}") }),
            )
            .await;
            answer.error_codes()
        }
    };
    // Round 1: fifty writers all saw version 1; exactly one may win.
    let results = futures_util::future::join_all((0..50).map(|n| attempt(n, version))).await;
    let winners = results.iter().filter(|codes| codes.is_empty()).count();
    let conflicts = results
        .iter()
        .filter(|codes| codes.as_slice() == ["CONFLICT"])
        .count();
    assert_eq!((winners, conflicts), (1, 49), "{results:?}");

    // Round 2: fifty writers retry on CONFLICT until each has landed once.
    let attempts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let retrying = (0..50).map(|n| {
        let app = app.clone();
        let admin = admin.clone();
        let id = id.clone();
        let attempts = attempts.clone();
        async move {
            loop {
                let current = app
                    .gql_as(
                        Some(&admin.token),
                        "query($id: ID!) { dispute(id: $id) { version } }",
                        json!({ "id": id }),
                    )
                    .await
                    .data("dispute.version")
                    .as_i64()
                    .unwrap();
                attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let answer = transition(
                    &app,
                    &admin,
                    "addNote",
                    json!({ "id": id, "expectedVersion": current, "note": format!("ulang {n}") }),
                )
                .await;
                match answer.error_codes().as_slice() {
                    [] => return answer.data("addNote.dispute.version").as_i64().unwrap(),
                    [code] if code == "CONFLICT" => continue,
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
    });
    let mut won: Vec<i64> = futures_util::future::join_all(retrying).await;
    won.sort_unstable();
    assert_eq!(
        won,
        (3..=52).collect::<Vec<_>>(),
        "each version won exactly once"
    );

    let numeric = row_id(&app.db.conn, &id).await;
    let seqs: Vec<i32> = {
        use sea_orm::QueryOrder;
        dispute_event::Entity::find()
            .filter(dispute_event::Column::DisputeId.eq(numeric))
            .order_by_asc(dispute_event::Column::Seq)
            .all(&app.db.conn)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.seq)
            .collect()
    };
    assert_eq!(seqs, (1..=52).collect::<Vec<_>>(), "no gap, no duplicate");
    let final_state = app
        .gql_as(
            Some(&admin.token),
            "query($id: ID!) { dispute(id: $id) { version timelineIntact } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(final_state.data("dispute.version"), 52);
    assert_eq!(final_state.data("dispute.timelineIntact"), true);
    eprintln!(
        "concurrency figures: round 1: 50 attempts, {winners} winner, {conflicts} conflicts; round 2: {} attempts for 50 winners; timeline length {}",
        attempts.load(std::sync::atomic::Ordering::Relaxed),
        seqs.len()
    );
}

#[tokio::test]
async fn a_retried_report_with_the_same_key_is_written_once() {
    let app = Arc::new(spawn_app().await);
    let admin = Arc::new(admin());
    let mut input = report_input();
    input["idempotencyKey"] = json!("hp-petugas-7:laporan-0042");
    let retries = (0..20).map(|_| {
        let app = app.clone();
        let admin = admin.clone();
        let input = input.clone();
        async move { report(&app, &admin, input).await }
    });
    let answers = futures_util::future::join_all(retries).await;
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|a| {
            a.expect_ok();
            a.data("reportDispute.dispute.id")
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "one dispute for twenty retries");
    let fresh = answers
        .iter()
        .filter(|a| a.data("reportDispute.replayed") == false)
        .count();
    assert_eq!(fresh, 1, "exactly one answer is the original");
    let count = dispute::Entity::find().count(&app.db.conn).await.unwrap();
    assert_eq!(count, 1);

    let mut changed = input.clone();
    changed["title"] = json!("Judul lain");
    let conflict = report(&app, &admin, changed).await;
    assert_eq!(conflict.error_codes(), ["IDEMPOTENCY_KEY_REUSED"]);
    assert_eq!(
        conflict.body["errors"][0]["extensions"]["disputeId"].as_str(),
        Some(ids.iter().next().unwrap().as_str()),
        "names the first dispute"
    );
    // The key is the agency's own: another agency may use the same string.
    let mut other = input.clone();
    other["regencyCode"] = json!("31.74");
    let bawaslu = report(&app, &Caller::new("BAWASLU", "BAWASLU_DKI"), other).await;
    bawaslu.expect_ok();
    assert_eq!(bawaslu.data("reportDispute.replayed"), false);
}

#[tokio::test]
async fn a_tampered_timeline_is_detected_and_its_first_broken_link_named() {
    let app = spawn_app().await;
    let (id, _) = reported(&app).await;
    let admin = admin();
    transition(
        &app,
        &admin,
        "verifyDispute",
        json!({ "id": id, "expectedVersion": 1 }),
    )
    .await
    .expect_ok();
    transition(
        &app,
        &admin,
        "addNote",
        json!({ "id": id, "expectedVersion": 2, "note": "asli" }),
    )
    .await
    .expect_ok();
    let numeric = row_id(&app.db.conn, &id).await;
    let event = dispute_event::Entity::find()
        .filter(dispute_event::Column::DisputeId.eq(numeric))
        .filter(dispute_event::Column::Seq.eq(2))
        .one(&app.db.conn)
        .await
        .unwrap()
        .unwrap();
    let mut edited: dispute_event::ActiveModel = event.into();
    edited.note = sea_orm::Set(Some("diubah diam-diam".into()));
    edited.update(&app.db.conn).await.unwrap();
    let answer = app
        .gql_as(
            Some(&admin.token),
            "query($id: ID!) { dispute(id: $id) { timelineIntact } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(answer.data("dispute.timelineIntact"), false);
    let report = posko::db::audit_tools::verify_timelines(&app.db.conn)
        .await
        .unwrap();
    assert_eq!(report.broken.len(), 1);
    assert_eq!(
        (report.broken[0].dispute_id, report.broken[0].seq),
        (numeric, 2)
    );
}

#[tokio::test]
async fn timeline_notes_reach_only_their_audience_and_intel_stays_with_the_police() {
    let app = spawn_app().await;
    let (id, _) = reported(&app).await;
    transition(
        &app,
        &admin(),
        "addNote",
        json!({ "id": id, "expectedVersion": 1, "note": "untuk bawaslu", "audience": ["BAWASLU"] }),
    )
    .await
    .expect_ok();
    let police = Caller::new("POLICE", "POLDA_METRO_JAYA");
    let intel = transition(
        &app,
        &police,
        "addIntelNote",
        json!({ "id": id, "expectedVersion": 2, "note": "provokator teridentifikasi" }),
    )
    .await;
    intel.expect_ok();
    assert!(
        intel.body.to_string().contains("provokator"),
        "the police read their own note back"
    );
    let refused = transition(
        &app,
        &admin(),
        "addIntelNote",
        json!({ "id": id, "expectedVersion": 3, "note": "x" }),
    )
    .await;
    assert_eq!(refused.error_codes(), ["FORBIDDEN"]);
    let query = "query($id: ID!) { dispute(id: $id) { events { note audience } } }";
    for (caller, sees_note, is_police) in [
        (Caller::new("BAWASLU", "BAWASLU_DKI"), true, false),
        (admin(), true, false),
        (Caller::new("POLICE", "POLDA_METRO_JAYA"), false, true),
        (Caller::new("KPU", "KPU_DKI"), false, false),
    ] {
        let body = run(&app, &caller, query, json!({ "id": id }))
            .await
            .body
            .to_string();
        assert_eq!(body.contains("untuk bawaslu"), sees_note, "{body}");
        assert_eq!(body.contains("provokator"), is_police, "{body}");
    }
}

#[tokio::test]
async fn escalating_to_the_police_opens_the_reporter_to_them() {
    let app = spawn_app().await;
    let (id, _) = reported(&app).await;
    let police = Caller::new("POLICE", "POLDA_METRO_JAYA");
    let query =
        "query($id: ID!) { dispute(id: $id) { reporter { name } escalations { to reason } } }";
    let before = run(&app, &police, query, json!({ "id": id })).await;
    assert_eq!(
        before.error_at("dispute.reporter").as_deref(),
        Some("FORBIDDEN")
    );
    transition(&app, &admin(), "escalateDispute", json!({ "id": id, "expectedVersion": 1, "to": "GAKKUMDU", "reason": "dugaan pidana politik uang" })).await.expect_ok();
    let after = run(&app, &police, query, json!({ "id": id })).await;
    assert_eq!(after.data("dispute.reporter.name"), "Budi Warga");
    assert_eq!(after.data("dispute.escalations.0.to"), "GAKKUMDU");
}

#[tokio::test]
async fn the_legal_clocks_run_and_the_overdue_filter_agrees_with_them() {
    let app = spawn_app().await;
    let admin = admin();
    let days_ago = |d: i64| (Utc::now() - Duration::days(d)).to_rfc3339();
    let mut ids = Vec::new();
    for occurred in [days_ago(10), days_ago(2), days_ago(20), days_ago(30)] {
        let mut input = report_input();
        input["occurredAt"] = json!(occurred);
        input["partyBallotNumbers"] = json!([]);
        let answer = report(&app, &admin, input).await;
        answer.expect_ok();
        ids.push(
            answer
                .data("reportDispute.dispute.id")
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // 10 days ago, never escalated: the 7-day window to Bawaslu is overdue.
    // 2 days ago: still inside it.
    // 20 days ago, escalated to Bawaslu 4 days ago and not classified: Bawaslu is late.
    // 30 days ago, escalated to Gakkumdu 15 days ago: the file is late.
    for (index, target, days) in [(2usize, "BAWASLU", 4), (3, "GAKKUMDU", 15)] {
        transition(
            &app,
            &admin,
            "escalateDispute",
            json!({ "id": ids[index], "expectedVersion": 1, "to": target, "reason": "diteruskan" }),
        )
        .await
        .expect_ok();
        let numeric = row_id(&app.db.conn, &ids[index]).await;
        let row = dispute_escalation::Entity::find()
            .filter(dispute_escalation::Column::DisputeId.eq(numeric))
            .one(&app.db.conn)
            .await
            .unwrap()
            .unwrap();
        let mut row: dispute_escalation::ActiveModel = row.into();
        row.escalated_at = sea_orm::Set(Utc::now() - Duration::days(days));
        row.update(&app.db.conn).await.unwrap();
    }
    let query = "query($id: ID!) { dispute(id: $id) { deadlines { kind overdue met dueAt extendedDueAt } } }";
    let mut overdue_by_clock = Vec::new();
    for id in &ids {
        let answer = run(&app, &admin, query, json!({ "id": id })).await;
        answer.expect_ok();
        let deadlines = answer.data("dispute.deadlines").as_array().unwrap().clone();
        overdue_by_clock.push(deadlines.iter().any(|d| d["overdue"] == true));
        if id == &ids[2] {
            let decision = deadlines
                .iter()
                .find(|d| d["kind"] == "BAWASLU_DECISION")
                .unwrap();
            assert_eq!(decision["overdue"], true);
            assert!(decision["extendedDueAt"].is_string());
            let window = deadlines
                .iter()
                .find(|d| d["kind"] == "BAWASLU_REPORT_WINDOW")
                .unwrap();
            assert_eq!(
                (window["met"].clone(), window["overdue"].clone()),
                (json!(true), json!(false))
            );
        }
        if id == &ids[3] {
            assert!(
                deadlines
                    .iter()
                    .any(|d| d["kind"] == "GAKKUMDU_FILE_TO_PROSECUTOR" && d["overdue"] == true)
            );
        }
    }
    assert_eq!(overdue_by_clock, [true, false, true, true]);
    let filtered = run(&app, &admin, "{ overdue: disputes(filter: {overdue: true}) { nodes { id } } onTime: disputes(filter: {overdue: false}) { nodes { id } } }", json!({})).await;
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
    let expected: std::collections::BTreeSet<String> = ids
        .iter()
        .zip(&overdue_by_clock)
        .filter(|(_, o)| **o)
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(listed("overdue"), expected);
    assert_eq!(listed("onTime"), [ids[1].clone()].into_iter().collect());

    // Classifying meets Bawaslu's clock.
    transition(
        &app,
        &Caller::new("BAWASLU", "BAWASLU_DKI"),
        "classifyViolation",
        json!({ "id": ids[2], "expectedVersion": 2, "violation": "ADMINISTRATIVE" }),
    )
    .await
    .expect_ok();
    let answer = run(&app, &admin, query, json!({ "id": ids[2] })).await;
    let decision = answer
        .data("dispute.deadlines")
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "BAWASLU_DECISION")
        .unwrap()
        .clone();
    assert_eq!(
        (decision["met"].clone(), decision["overdue"].clone()),
        (json!(true), json!(false))
    );
}

#[tokio::test]
async fn bad_input_names_the_field_and_writes_nothing() {
    let app = spawn_app().await;
    let admin = admin();
    let future = (Utc::now() + Duration::days(1)).to_rfc3339();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "unknown regency",
            json!({ "regencyCode": "31.99" }),
            "regencyCode",
        ),
        (
            "district outside the region",
            json!({ "regencyCode": "31.71", "districtCode": "36.03.13" }),
            "districtCode",
        ),
        (
            "unknown district",
            json!({ "regencyCode": "36.03", "districtCode": "36.03.98" }),
            "districtCode",
        ),
        (
            "malformed district",
            json!({ "regencyCode": "31.71", "districtCode": "Gambir" }),
            "districtCode",
        ),
        (
            "occurredAt in the future",
            json!({ "occurredAt": future }),
            "occurredAt",
        ),
        (
            "pair not running",
            json!({ "partyBallotNumbers": [4] }),
            "partyBallotNumbers",
        ),
        (
            "no pairs in Bogor's data",
            json!({ "regencyCode": "32.71", "partyBallotNumbers": [1] }),
            "partyBallotNumbers",
        ),
        ("empty title", json!({ "title": "   " }), "title"),
        (
            "title too long",
            json!({ "title": "x".repeat(201) }),
            "title",
        ),
        (
            "description too long",
            json!({ "description": "x".repeat(10_001) }),
            "description",
        ),
        (
            "idempotency key too long",
            json!({ "idempotencyKey": "k".repeat(101) }),
            "idempotencyKey",
        ),
        (
            "unknown enum value",
            json!({ "category": "VOTE_BUYING" }),
            "input.category",
        ),
    ];
    let admin_national = Caller::new("BAWASLU", "BAWASLU_RI");
    for (case, patch, field) in cases {
        let mut input = report_input();
        for (key, value) in patch.as_object().unwrap() {
            input[key] = value.clone();
        }
        // Bogor is outside Kesbangpol DKI's jurisdiction; use a national body there.
        let caller = if input["regencyCode"] == "32.71" {
            &admin_national
        } else {
            &admin
        };
        let answer = report(&app, caller, input).await;
        assert_eq!(
            answer.error_codes(),
            ["BAD_USER_INPUT"],
            "{case}: {:#}",
            answer.body
        );
        let named = answer.body["errors"][0]["extensions"]["field"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            named.ends_with(field) || named == field,
            "{case}: field {named:?}"
        );
    }
    assert_eq!(
        dispute::Entity::find().count(&app.db.conn).await.unwrap(),
        0,
        "nothing was written"
    );
    assert_eq!(
        dispute_event::Entity::find()
            .count(&app.db.conn)
            .await
            .unwrap(),
        0
    );

    let (id, _) = reported(&app).await;
    for (mutation, input, field) in [
        (
            "addNote",
            json!({ "id": id, "expectedVersion": 1, "note": "" }),
            "note",
        ),
        (
            "addNote",
            json!({ "id": id, "expectedVersion": 1, "note": "x", "audience": ["PUBLIC"] }),
            "audience",
        ),
        (
            "assignAgency",
            json!({ "id": id, "expectedVersion": 1, "agencyCode": "KPU_MARS" }),
            "agencyCode",
        ),
        (
            "escalateDispute",
            json!({ "id": id, "expectedVersion": 1, "to": "BAWASLU", "reason": "x".repeat(5_001) }),
            "reason",
        ),
    ] {
        let answer = transition(&app, &admin, mutation, input).await;
        assert_eq!(
            answer.error_codes(),
            ["BAD_USER_INPUT"],
            "{mutation}: {:#}",
            answer.body
        );
        assert_eq!(
            answer.body["errors"][0]["extensions"]["field"], field,
            "{mutation}"
        );
    }
    let events = dispute_event::Entity::find()
        .count(&app.db.conn)
        .await
        .unwrap();
    assert_eq!(events, 1, "only the report's own event");
}

#[tokio::test]
async fn an_agency_reads_back_and_retries_its_own_restricted_report() {
    let app = spawn_app().await;
    let kpu = Caller::new("KPU", "KPU_DKI");
    let mut input = report_input();
    input["restricted"] = json!(true);
    input["idempotencyKey"] = json!("kpu-1");
    let first = report(&app, &kpu, input.clone()).await;
    first.expect_ok();
    let retry = report(&app, &kpu, input).await;
    retry.expect_ok();
    assert_eq!(retry.data("reportDispute.replayed"), true);
    assert_eq!(
        retry.data("reportDispute.dispute.id"),
        first.data("reportDispute.dispute.id")
    );
    let id = first
        .data("reportDispute.dispute.id")
        .as_str()
        .unwrap()
        .to_owned();
    let bawaslu = Caller::new("BAWASLU", "BAWASLU_DKI");
    let query = "query($id: ID!) { dispute(id: $id) { id } }";
    assert_eq!(
        run(&app, &bawaslu, query, json!({ "id": id }))
            .await
            .error_codes(),
        ["NOT_FOUND"],
        "restricted to everyone else"
    );
}

#[tokio::test]
async fn assigning_an_agency_lets_it_see_a_restricted_dispute() {
    let app = spawn_app().await;
    let mut input = report_input();
    input["restricted"] = json!(true);
    let answer = report(&app, &admin(), input).await;
    answer.expect_ok();
    let id = answer
        .data("reportDispute.dispute.id")
        .as_str()
        .unwrap()
        .to_owned();
    let kodam = Caller::new("MEMBER", "KODAM_JAYA");
    let query = "query($id: ID!) { dispute(id: $id) { id assignedAgencies { code } } }";
    assert_eq!(
        run(&app, &kodam, query, json!({ "id": id }))
            .await
            .error_codes(),
        ["NOT_FOUND"]
    );
    transition(
        &app,
        &admin(),
        "assignAgency",
        json!({ "id": id, "expectedVersion": 1, "agencyCode": "KODAM_JAYA" }),
    )
    .await
    .expect_ok();
    let seen = run(&app, &kodam, query, json!({ "id": id })).await;
    assert_eq!(seen.data("dispute.assignedAgencies.0.code"), "KODAM_JAYA");
    transition(
        &app,
        &admin(),
        "unassignAgency",
        json!({ "id": id, "expectedVersion": 2, "agencyCode": "KODAM_JAYA" }),
    )
    .await
    .expect_ok();
    assert_eq!(
        run(&app, &kodam, query, json!({ "id": id }))
            .await
            .error_codes(),
        ["NOT_FOUND"]
    );
}

#[tokio::test]
async fn a_role_that_may_not_act_is_refused_before_any_validation() {
    let app = spawn_app().await;
    let (id, _) = reported(&app).await;
    let kpu = Caller::new("KPU", "KPU_DKI");
    let admin = admin();
    let bawaslu = Caller::new("BAWASLU", "BAWASLU_DKI");
    // Every workflow mutation, by a role the policy does not allow, with input that is
    // invalid in every field it has (empty texts, a malformed id): FORBIDDEN, never
    // BAD_USER_INPUT, NOT_FOUND or INVALID_TRANSITION.
    let refused: [(&Caller, &str, Value); 12] = [
        (
            &kpu,
            "verifyDispute",
            json!({ "id": "x", "expectedVersion": -1, "note": "" }),
        ),
        (
            &kpu,
            "startMediation",
            json!({ "id": "x", "expectedVersion": -1, "note": " " }),
        ),
        (
            &kpu,
            "recordMediation",
            json!({ "id": "x", "expectedVersion": -1, "heldAt": "2999-01-01T00:00:00Z", "participants": [], "outcome": "" }),
        ),
        (
            &kpu,
            "escalateDispute",
            json!({ "id": "x", "expectedVersion": -1, "to": "POLICE", "reason": "" }),
        ),
        (
            &admin,
            "classifyViolation",
            json!({ "id": "x", "expectedVersion": -1, "violation": "ETHICS", "note": "" }),
        ),
        (
            &admin,
            "addIntelNote",
            json!({ "id": "x", "expectedVersion": -1, "note": "" }),
        ),
        (
            &kpu,
            "assignAgency",
            json!({ "id": "x", "expectedVersion": -1, "agencyCode": "" }),
        ),
        (
            &kpu,
            "unassignAgency",
            json!({ "id": "x", "expectedVersion": -1, "agencyCode": "" }),
        ),
        (
            &kpu,
            "resolveDispute",
            json!({ "id": "x", "expectedVersion": -1, "outcome": "" }),
        ),
        (
            &kpu,
            "dismissDispute",
            json!({ "id": "x", "expectedVersion": -1, "reason": "" }),
        ),
        (
            &bawaslu,
            "reopenDispute",
            json!({ "id": "x", "expectedVersion": -1, "reason": "" }),
        ),
        (
            &kpu,
            "reopenDispute",
            json!({ "id": id, "expectedVersion": 1, "reason": "" }),
        ),
    ];
    for (caller, mutation, input) in refused {
        let answer = transition(&app, caller, mutation, input).await;
        assert_eq!(
            answer.error_codes(),
            ["FORBIDDEN"],
            "{mutation}: {:#}",
            answer.body
        );
    }
    // PUBLIC may not add notes or report, whatever it sends.
    let public_note = app
        .gql_as(
            None,
            "mutation($input: AddNoteInput!) { addNote(input: $input) { dispute { id } } }",
            json!({ "input": { "id": "x", "expectedVersion": -1, "note": "" } }),
        )
        .await;
    assert_eq!(public_note.error_codes(), ["FORBIDDEN"]);
    let mut bad_report = report_input();
    bad_report["title"] = json!("");
    bad_report["regencyCode"] = json!("99.99");
    let public_report = app
        .gql_as(None, &report_mutation(), json!({ "input": bad_report }))
        .await;
    assert_eq!(public_report.error_codes(), ["FORBIDDEN"]);
    // The directory and the schedule: a role without the action, malformed ids.
    for (caller, query, input) in [
        (
            &kpu,
            "mutation($input: SetJurisdictionInput!) { setAgencyJurisdiction(input: $input) { code } }",
            json!({ "agencyCode": "", "regions": [] }),
        ),
        (
            &admin,
            "mutation($input: CreateStageInput!) { createStage(input: $input) { code } }",
            json!({ "electionId": "not-an-id", "code": "", "name": "", "labelEn": "", "phase": "IMPLEMENTATION", "round": 0, "confirmed": true }),
        ),
        (
            &admin,
            "mutation($input: UpdateStageInput!) { updateStage(input: $input) { code } }",
            json!({ "id": "not-an-id", "name": "" }),
        ),
        (
            &kpu,
            "mutation($input: UpsertAgencyInput!) { upsertAgency(input: $input) { code } }",
            json!({ "code": "", "name": "", "kind": "COMMUNITY", "level": "PROVINCE", "provinceCode": "99" }),
        ),
        (
            &kpu,
            "mutation($input: PoskoMemberInput!) { addPoskoMember(input: $input) { name } }",
            json!({ "provinceCode": "", "agencyCode": "" }),
        ),
        (
            &kpu,
            "mutation($input: PoskoMemberInput!) { removePoskoMember(input: $input) { name } }",
            json!({ "provinceCode": "", "agencyCode": "" }),
        ),
    ] {
        let answer = app
            .gql_as(Some(&caller.token), query, json!({ "input": input }))
            .await;
        assert_eq!(
            answer.error_codes(),
            ["FORBIDDEN"],
            "{query}: {:#}",
            answer.body
        );
    }
    // Each of these would be BAD_USER_INPUT or INVALID_TRANSITION for ADMIN; for KPU, which
    // sees the dispute but may not take these actions, they are FORBIDDEN.
    for (mutation, input) in [
        (
            "assignAgency",
            json!({ "id": id, "expectedVersion": 1, "agencyCode": "KPU_MARS" }),
        ),
        (
            "recordMediation",
            json!({ "id": id, "expectedVersion": 1, "heldAt": "2024-11-26T19:00:00Z", "participants": ["Tim 1"], "outcome": "x" }),
        ),
        (
            "resolveDispute",
            json!({ "id": id, "expectedVersion": 9, "outcome": "x" }),
        ),
    ] {
        let answer = transition(&app, &kpu, mutation, input).await;
        assert_eq!(
            answer.error_codes(),
            ["FORBIDDEN"],
            "{mutation}: {:#}",
            answer.body
        );
    }
}

/// A FORBIDDEN on a write says why, in terms of the caller: which roles may, or that the
/// place is outside its jurisdiction. It never names anything of the data.
#[tokio::test]
async fn a_refused_write_says_why() {
    let app = spawn_app().await;
    let (id, _) = reported(&app).await;
    let kpu = Caller::new("KPU", "KPU_DKI");
    let answer = transition(
        &app,
        &kpu,
        "escalateDispute",
        json!({ "id": id, "expectedVersion": 1, "to": "POLICE", "reason": "bentrok" }),
    )
    .await;
    assert_eq!(answer.error_codes(), ["FORBIDDEN"]);
    assert_eq!(
        answer.body["errors"][0]["message"],
        "the role KPU may not escalate disputes; roles that may: ADMIN, BAWASLU"
    );

    // Kota Bogor (32.71) is outside Kesbangpol DKI's jurisdiction.
    let mut outside = report_input();
    outside["regencyCode"] = json!("32.71");
    let answer = app
        .gql_as(
            Some(&token("ADMIN", "KESBANGPOL_DKI")),
            &report_mutation(),
            json!({ "input": outside }),
        )
        .await;
    assert_eq!(answer.error_codes(), ["FORBIDDEN"]);
    assert_eq!(
        answer.body["errors"][0]["message"],
        "the regency (or district) is outside your agency's jurisdiction"
    );

    let answer = app
        .gql_as(None, &report_mutation(), json!({ "input": report_input() }))
        .await;
    assert_eq!(
        answer.body["errors"][0]["message"],
        "the role PUBLIC may not report disputes; roles that may: MEMBER, KPU, BAWASLU, POLICE, ADMIN"
    );
}
