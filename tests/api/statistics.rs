//! Statistics over places come from running counters: per place, plus per agency for
//! what a viewer sees only as its agency's report or assignment (`posko::domain::tally`). Asking the same question with one more
//! filter that excludes nothing (all four severities) forces the fully live count, so the
//! two answers must agree for every caller, every place filter and after every kind of
//! write.

use entity::{dispute_agency_tally, dispute_tally};
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::support::fixtures::{NewDispute, assign, escalate, insert_dispute};
use crate::support::tokens::token;
use crate::support::{Gql, TestApp, spawn_app};

const STATS: &str = "query($filter: DisputeFilterInput) {
  disputeStats(filter: $filter) { total byStatus { key count } byCategory { key count }
    bySeverity { key count } byProvince { key count } byStage { key count } } }";

const TOTAL: &str =
    "query($filter: DisputeFilterInput) { disputes(filter: $filter, first: 1) { totalCount } }";

/// (role, agency) of every kind of caller, PUBLIC as `None`.
const CALLERS: &[Option<(&str, &str)>] = &[
    None,
    Some(("ADMIN", "KESBANGPOL_DKI")),
    Some(("KPU", "KPU_DKI")),
    Some(("KPU", "KPU_RI")),
    Some(("BAWASLU", "BAWASLU_DKI")),
    Some(("POLICE", "POLDA_METRO_JAYA")),
    Some(("POLICE", "POLDA_BANTEN")),
    Some(("POLICE", "MABES_POLRI")),
    Some(("MEMBER", "KEJATI_DKI")),
    Some(("MEMBER", "KODAM_JAYA")),
];

fn place_filters() -> Vec<Value> {
    vec![
        Value::Null,
        json!({ "provinceCodes": ["31"] }),
        json!({ "provinceCodes": ["36"] }),
        json!({ "regencyCodes": ["36.03"] }),
        json!({ "provinceCodes": ["32"], "regencyCodes": ["32.71", "32.76"] }),
        json!({ "provinceCodes": ["31", "32", "36"] }),
    ]
}

/// The same filter plus one that excludes nothing but sends statistics down the live path.
fn live(filter: &Value) -> Value {
    let mut object = filter.as_object().cloned().unwrap_or_default();
    object.insert(
        "severities".into(),
        json!(["LOW", "MEDIUM", "HIGH", "CRITICAL"]),
    );
    Value::Object(object)
}

async fn ask(app: &TestApp, caller: Option<(&str, &str)>, query: &str, filter: &Value) -> Gql {
    let bearer = caller.map(|(role, agency)| token(role, agency));
    let answer = app
        .gql_as(bearer.as_deref(), query, json!({ "filter": filter }))
        .await;
    answer.expect_ok();
    answer
}

/// Every caller and place filter: counters + live remainder == live count.
async fn assert_counters_agree(app: &TestApp, moment: &str) {
    for caller in CALLERS {
        for filter in place_filters() {
            let counted = ask(app, *caller, STATS, &filter).await;
            let recounted = ask(app, *caller, STATS, &live(&filter)).await;
            assert_eq!(
                counted.data("disputeStats"),
                recounted.data("disputeStats"),
                "{moment}: statistics of {caller:?} over {filter}"
            );
            if caller.is_some() {
                let counted = ask(app, *caller, TOTAL, &filter).await;
                let recounted = ask(app, *caller, TOTAL, &live(&filter)).await;
                assert_eq!(
                    counted.data("disputes.totalCount"),
                    recounted.data("disputes.totalCount"),
                    "{moment}: totalCount of {caller:?} over {filter}"
                );
            }
        }
    }
    let drift = posko::domain::tally::drift(&app.db.conn).await.unwrap();
    assert!(drift.is_empty(), "{moment}: counters drifted: {drift:?}");
}

/// Disputes that exercise every part of the scope: inside and outside jurisdictions,
/// districts of a regency split between two police forces, restricted ones with and
/// without escalations, and assignments and own reports outside a jurisdiction.
async fn arrange(app: &TestApp) -> Vec<i32> {
    let db = &app.db.conn;
    let plain = |regency: &'static str, n: usize| NewDispute {
        regency,
        title: format!("Laporan {regency} {n}"),
        severity: ["LOW", "MEDIUM", "HIGH", "CRITICAL"][n % 4],
        category: ["MONEY_POLITICS", "CLASH", "CAMPAIGN_PROPS"][n % 3],
        status: ["REPORTED", "VERIFIED", "RESOLVED"][n % 3],
        stage_code: [Some("KAMPANYE"), Some("MASA_TENANG"), None][n % 3],
        ..Default::default()
    };
    let mut ids = Vec::new();
    for (n, regency) in [
        "31.71", "31.74", "31.01", "32.76", "32.71", "36.71", "36.01",
    ]
    .into_iter()
    .cycle()
    .take(21)
    .enumerate()
    {
        ids.push(insert_dispute(db, plain(regency, n)).await);
    }
    // Kabupaten Tangerang: Teluknaga (Polda Metro Jaya), Tigaraksa (Polda Banten), and one
    // without a district (neither force's).
    for (n, district) in [Some("36.03.13"), Some("36.03.01"), None]
        .into_iter()
        .enumerate()
    {
        ids.push(
            insert_dispute(
                db,
                NewDispute {
                    district,
                    ..plain("36.03", n)
                },
            )
            .await,
        );
    }
    // Restricted in Jakarta: escalated to the police, to Bawaslu, to Gakkumdu, to nobody.
    for (n, target) in [Some("POLICE"), Some("BAWASLU"), Some("GAKKUMDU"), None]
        .into_iter()
        .enumerate()
    {
        let id = insert_dispute(
            db,
            NewDispute {
                restricted: true,
                ..plain("31.72", n)
            },
        )
        .await;
        if let Some(target) = target {
            escalate(db, id, target).await;
        }
        ids.push(id);
    }
    // Escalated to two bodies, each of which then sees it.
    let twice = insert_dispute(
        db,
        NewDispute {
            restricted: true,
            ..plain("31.72", 5)
        },
    )
    .await;
    escalate(db, twice, "BAWASLU").await;
    escalate(db, twice, "POLICE").await;
    ids.push(twice);
    // Outside every Jakarta jurisdiction, but assigned to a Jakarta agency: one open, one
    // restricted.
    let bogor = insert_dispute(db, plain("32.01", 1)).await;
    assign(db, bogor, "KPU_DKI").await;
    let secret = insert_dispute(
        db,
        NewDispute {
            restricted: true,
            ..plain("32.01", 2)
        },
    )
    .await;
    assign(db, secret, "POLDA_METRO_JAYA").await;
    // Reported by Polda Banten in Jakarta (its own report, outside its jurisdiction).
    let own = insert_dispute(
        db,
        NewDispute {
            reported_by: "POLDA_BANTEN",
            ..plain("31.73", 4)
        },
    )
    .await;
    ids.extend([bogor, secret, own]);
    ids
}

#[tokio::test]
async fn counters_agree_with_a_live_count_for_every_caller_and_place() {
    let app = spawn_app().await;
    arrange(&app).await;
    assert_counters_agree(&app, "after loading").await;
}

#[tokio::test]
async fn counters_follow_reports_and_status_changes() {
    let app = spawn_app().await;
    arrange(&app).await;
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    let report = "mutation($input: ReportDisputeInput!) {
      reportDispute(input: $input) { dispute { id version } } }";
    let mut reported = Vec::new();
    for (n, restricted) in [false, false, true].into_iter().enumerate() {
        let regency = ["31.71", "31.75", "31.71"][n];
        let answer = app
            .gql_as(
                Some(&admin),
                report,
                json!({ "input": {
                    "regencyCode": regency,
                    "occurredAt": "2024-11-25T10:00:00+07:00",
                    "category": "QUIET_PERIOD_CAMPAIGNING",
                    "severity": "HIGH",
                    "title": format!("Laporan baru {n}"),
                    "description": "Pembagian sembako saat masa tenang.",
                    "restricted": restricted,
                } }),
            )
            .await;
        answer.expect_ok();
        reported.push((
            answer
                .data("reportDispute.dispute.id")
                .as_str()
                .unwrap()
                .to_owned(),
            answer
                .data("reportDispute.dispute.version")
                .as_i64()
                .unwrap(),
        ));
    }
    assert_counters_agree(&app, "after three reports").await;

    let step = |mutation: &'static str, input_type: &'static str| {
        format!(
            "mutation($input: {input_type}) {{ {mutation}(input: $input) {{ dispute {{ version status }} }} }}"
        )
    };
    let verify = step("verifyDispute", "TransitionInput!");
    let escalate = step("escalateDispute", "EscalateDisputeInput!");
    let dismiss = step("dismissDispute", "ReasonInput!");
    let reopen = step("reopenDispute", "ReasonInput!");
    for (id, version) in &mut reported {
        let answer = app
            .gql_as(
                Some(&admin),
                &verify,
                json!({ "input": { "id": id, "expectedVersion": version } }),
            )
            .await;
        answer.expect_ok();
        *version += 1;
    }
    let (first, second, third) = (&reported[0], &reported[1], &reported[2]);
    app.gql_as(
        Some(&admin),
        &escalate,
        json!({ "input": { "id": first.0, "expectedVersion": first.1, "to": "POLICE",
                           "reason": "Dugaan politik uang" } }),
    )
    .await
    .expect_ok();
    app.gql_as(
        Some(&admin),
        &escalate,
        json!({ "input": { "id": third.0, "expectedVersion": third.1, "to": "BAWASLU",
                           "reason": "Dugaan pelanggaran" } }),
    )
    .await
    .expect_ok();
    app.gql_as(
        Some(&admin),
        &dismiss,
        json!({ "input": { "id": second.0, "expectedVersion": second.1,
                           "reason": "Bukan sengketa" } }),
    )
    .await
    .expect_ok();
    // Escalated again, to the police: the restricted dispute opens to a second body and
    // stays ESCALATED.
    let again = app
        .gql_as(
            Some(&admin),
            &escalate,
            json!({ "input": { "id": third.0, "expectedVersion": third.1 + 1, "to": "POLICE",
                               "reason": "Ancaman kekerasan" } }),
        )
        .await;
    again.expect_ok();
    assert_eq!(again.data("escalateDispute.dispute.status"), "ESCALATED");
    assert_counters_agree(
        &app,
        "after verify, escalate, dismiss and a second escalation",
    )
    .await;
    app.gql_as(
        Some(&admin),
        &reopen,
        json!({ "input": { "id": second.0, "expectedVersion": second.1 + 1,
                           "reason": "Bukti baru" } }),
    )
    .await
    .expect_ok();
    // A refused change (stale version) leaves the counters alone.
    let stale = app
        .gql_as(
            Some(&admin),
            &dismiss,
            json!({ "input": { "id": second.0, "expectedVersion": second.1,
                               "reason": "Versi lama" } }),
        )
        .await;
    assert_eq!(stale.error_codes(), ["CONFLICT"]);
    assert_counters_agree(&app, "after reopen and a conflict").await;
}

/// Assigns (or unassigns) an agency through the API as the Jakarta posko's admin.
async fn reassign(app: &TestApp, mutation: &str, dispute_id: i32, agency: &str) {
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    let id = crate::support::fixtures::gid(dispute_id);
    let current = app
        .gql_as(
            Some(&admin),
            "query($id: ID!) { dispute(id: $id) { version } }",
            json!({ "id": id }),
        )
        .await;
    current.expect_ok();
    let version = current.data("dispute.version").clone();
    app.gql_as(
        Some(&admin),
        &format!(
            "mutation($input: AssignAgencyInput!) {{ {mutation}(input: $input) {{ dispute {{ version }} }} }}"
        ),
        json!({ "input": { "id": id, "expectedVersion": version, "agencyCode": agency } }),
    )
    .await
    .expect_ok();
}

#[tokio::test]
async fn counters_follow_assignments_inside_and_outside_jurisdictions() {
    let app = spawn_app().await;
    let ids = arrange(&app).await;
    // `arrange`'s order: 21 open disputes from Jakarta Pusat (31.71) on, three in Kabupaten
    // Tangerang, then restricted ones in Jakarta Utara escalated to the police, Bawaslu,
    // Gakkumdu and nobody. Fixtures are reported by MABES_POLRI.
    let (open_jakarta, restricted_bawaslu, restricted_alone) = (ids[0], ids[25], ids[27]);
    // Restricted and not opened to the police: Polda Metro Jaya counts it only as assigned.
    reassign(&app, "assignAgency", restricted_alone, "POLDA_METRO_JAYA").await;
    // Outside Polda Banten's jurisdiction: counted for it only as assigned, restricted or
    // not.
    reassign(&app, "assignAgency", restricted_bawaslu, "POLDA_BANTEN").await;
    reassign(&app, "assignAgency", open_jakarta, "POLDA_BANTEN").await;
    // The reporting agency assigned too: still one dispute to it.
    reassign(&app, "assignAgency", open_jakarta, "MABES_POLRI").await;
    assert_counters_agree(&app, "after four assignments").await;
    // Unassigned, the reporter keeps it as its own report; the others lose it.
    reassign(&app, "unassignAgency", open_jakarta, "MABES_POLRI").await;
    reassign(&app, "unassignAgency", restricted_alone, "POLDA_METRO_JAYA").await;
    reassign(&app, "unassignAgency", open_jakarta, "POLDA_BANTEN").await;
    assert_counters_agree(&app, "after three unassignments").await;
}

#[tokio::test]
async fn place_statistics_read_the_counters_and_a_rebuild_repairs_them() {
    let app = spawn_app().await;
    arrange(&app).await;
    let kpu = Some(("KPU", "KPU_DKI"));
    let jakarta = json!({ "provinceCodes": ["31"] });
    let before = ask(&app, kpu, STATS, &jakarta).await;
    let total = before.data("disputeStats.total").as_i64().unwrap();
    let police = Some(("POLICE", "POLDA_METRO_JAYA"));
    let police_before = ask(&app, police, STATS, &Value::Null).await;
    // Tamper with the counters behind Posko's back: the place statistics must show it
    // (they read the counters), the live ones must not, and a recount names the damage.
    app.db
        .conn
        .execute_unprepared(
            "UPDATE dispute_tally SET count = count + 100 \
             WHERE regency_code = '31.71' AND dimension = 'status' AND value = 'REPORTED' \
             AND audience = ''",
        )
        .await
        .unwrap();
    let tampered = ask(&app, kpu, STATS, &jakarta).await;
    assert_eq!(tampered.data("disputeStats.total"), total + 100);
    let live_total = ask(&app, kpu, STATS, &live(&jakarta)).await;
    assert_eq!(live_total.data("disputeStats.total"), total);
    // The same with an agency's counters: Polda Metro Jaya counts the restricted dispute
    // assigned to it in Bogor only there.
    let police_untampered = ask(&app, police, STATS, &Value::Null).await;
    app.db
        .conn
        .execute_unprepared(
            "UPDATE dispute_agency_tally SET count = count + 7 \
             WHERE agency_code = 'POLDA_METRO_JAYA' AND province_code = '32' \
             AND dimension = 'status'",
        )
        .await
        .unwrap();
    let police_tampered = ask(&app, police, STATS, &Value::Null).await;
    assert_eq!(
        police_tampered.data("disputeStats.total"),
        police_untampered
            .data("disputeStats.total")
            .as_i64()
            .unwrap()
            + 7
    );
    let drift = posko::domain::tally::drift(&app.db.conn).await.unwrap();
    let mut damage: Vec<_> = drift
        .iter()
        .map(|d| (d.agency.as_deref(), d.counted - d.actual, d.value.as_str()))
        .collect();
    damage.sort();
    assert_eq!(
        damage,
        [
            (None, 100, "REPORTED"),
            (Some("POLDA_METRO_JAYA"), 7, "RESOLVED")
        ],
        "{drift:?}"
    );

    let rows = posko::domain::tally::rebuild(&app.db.conn).await.unwrap();
    let counters = dispute_tally::Entity::find()
        .count(&app.db.conn)
        .await
        .unwrap()
        + dispute_agency_tally::Entity::find()
            .count(&app.db.conn)
            .await
            .unwrap();
    assert_eq!(rows, counters);
    let repaired = ask(&app, kpu, STATS, &jakarta).await;
    assert_eq!(repaired.data("disputeStats"), before.data("disputeStats"));
    let repaired = ask(&app, police, STATS, &Value::Null).await;
    assert_eq!(
        repaired.data("disputeStats"),
        police_before.data("disputeStats")
    );
    assert_counters_agree(&app, "after a rebuild").await;
}

#[tokio::test]
async fn statistics_over_places_cost_the_same_few_statements_whatever_the_data() {
    let app = spawn_app().await;
    let query = r#"{ disputeStats(filter: { provinceCodes: ["31"] }) { total byStatus { key count } bySeverity { key count } }
      disputes(filter: { provinceCodes: ["31"] }, first: 1) { totalCount } }"#;
    let police = token("POLICE", "POLDA_METRO_JAYA");
    // Warm the caller's jurisdiction cache.
    app.gql_as(Some(&police), query, json!({}))
        .await
        .expect_ok();
    let (empty, _) = app.statements_for_as(Some(&police), query).await;
    arrange(&app).await;
    let (loaded, answer) = app.statements_for_as(Some(&police), query).await;
    answer.expect_ok();
    // `total` and `totalCount` share `byStatus`'s statement; then `bySeverity`, and the
    // page of disputes itself.
    assert_eq!((empty, loaded), (3, 3));
}

#[tokio::test]
async fn concurrent_reports_and_transitions_in_one_place_keep_exact_counts() {
    let app = std::sync::Arc::new(spawn_app().await);
    let admin = std::sync::Arc::new(token("ADMIN", "KESBANGPOL_DKI"));
    let report = |n: usize| {
        let app = app.clone();
        let admin = admin.clone();
        async move {
            let answer = app
                .gql_as(
                    Some(&admin),
                    "mutation($input: ReportDisputeInput!) {
                       reportDispute(input: $input) { dispute { id version } } }",
                    json!({ "input": {
                        "regencyCode": "31.71",
                        "occurredAt": "2024-11-25T10:00:00+07:00",
                        "category": "CLASH",
                        "severity": "MEDIUM",
                        "title": format!("Bentrok pendukung {n}"),
                        "description": "Dua kelompok pendukung saling dorong.",
                    } }),
                )
                .await;
            answer.expect_ok();
            answer
                .data("reportDispute.dispute.id")
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let first: Vec<String> = futures_util::future::join_all((0..20).map(report)).await;
    // Every write touches the same few counter rows of Jakarta Pusat: twenty verifies,
    // twenty stale duplicates of them and ten new reports, all at once.
    let verify = |id: String| {
        let app = app.clone();
        let admin = admin.clone();
        async move {
            app.gql_as(
                Some(&admin),
                "mutation($input: TransitionInput!) { verifyDispute(input: $input) { dispute { status } } }",
                json!({ "input": { "id": id, "expectedVersion": 1 } }),
            )
            .await
            .error_codes()
        }
    };
    let verifies = first.iter().chain(first.iter()).cloned().map(verify);
    let (outcomes, _) = futures_util::join!(
        futures_util::future::join_all(verifies),
        futures_util::future::join_all((20..30).map(report)),
    );
    let won = outcomes.iter().filter(|codes| codes.is_empty()).count();
    let lost = outcomes
        .iter()
        .filter(|codes| codes.as_slice() == ["CONFLICT"])
        .count();
    assert_eq!((won, lost), (20, 20), "{outcomes:?}");

    let jakarta_pusat = json!({ "regencyCodes": ["31.71"] });
    let stats = ask(
        &app,
        Some(("ADMIN", "KESBANGPOL_DKI")),
        STATS,
        &jakarta_pusat,
    )
    .await;
    assert_eq!(
        stats.data("disputeStats.byStatus"),
        &json!([{ "key": "REPORTED", "count": 10 }, { "key": "VERIFIED", "count": 20 }])
    );
    assert_counters_agree(&app, "after concurrent writes").await;
}

#[tokio::test]
async fn the_migration_fills_the_counters_as_a_rebuild_would() {
    use migration::MigratorTrait;
    let app = spawn_app().await;
    arrange(&app).await;
    let before = ask(
        &app,
        Some(("POLICE", "POLDA_METRO_JAYA")),
        STATS,
        &Value::Null,
    )
    .await;
    // Undo and redo the newest counters' migration (the agency counters) over existing
    // disputes: its own backfill must agree with the recount the service does.
    migration::Migrator::down(&app.db.conn, Some(1))
        .await
        .unwrap();
    migration::Migrator::up(&app.db.conn, None).await.unwrap();
    let drift = posko::domain::tally::drift(&app.db.conn).await.unwrap();
    assert!(drift.is_empty(), "{drift:?}");
    let after = ask(
        &app,
        Some(("POLICE", "POLDA_METRO_JAYA")),
        STATS,
        &Value::Null,
    )
    .await;
    assert_eq!(before.data("disputeStats"), after.data("disputeStats"));
}
