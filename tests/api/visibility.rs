//! One hand-written test per sentence of CONTRACT.md's visibility rules (a table-driven
//! test alone would agree with a wrong table; see `policy_matrix.rs` for the table).

use serde_json::json;

use crate::support::fixtures::{
    NewDispute, NewEvent, append_event, assign, escalate, gid, insert_dispute,
};
use crate::support::tokens::token;
use crate::support::{Gql, TestApp, spawn_app, spawn_app_with};

const ONE: &str = "query($id: ID!) { dispute(id: $id) { id title status reporter { name contact kind } intelNotes { note } violation events { kind note audience } viewerCan { readReporter readIntelNotes readViolation transitionTo } } }";

async fn read_as(app: &TestApp, role: &str, agency: &str, id: i32) -> Gql {
    app.gql_as(Some(&token(role, agency)), ONE, json!({ "id": gid(id) }))
        .await
}

async fn sees(app: &TestApp, role: &str, agency: &str, id: i32) -> bool {
    let answer = read_as(app, role, agency, id).await;
    if answer.data("dispute").is_null() {
        assert_eq!(
            answer.error_codes(),
            ["NOT_FOUND"],
            "{role}/{agency}: {:#}",
            answer.body
        );
        assert_eq!(answer.body["errors"][0]["message"], "not found");
        false
    } else {
        true
    }
}

#[tokio::test]
async fn polda_metro_jaya_sees_depok_but_not_bogor_and_kpu_dki_sees_neither() {
    let app = spawn_app().await;
    let depok = insert_dispute(
        &app.db.conn,
        NewDispute {
            regency: "32.76",
            ..Default::default()
        },
    )
    .await;
    let bogor = insert_dispute(
        &app.db.conn,
        NewDispute {
            regency: "32.71",
            ..Default::default()
        },
    )
    .await;
    assert!(sees(&app, "POLICE", "POLDA_METRO_JAYA", depok).await);
    assert!(!sees(&app, "POLICE", "POLDA_METRO_JAYA", bogor).await);
    assert!(!sees(&app, "KPU", "KPU_DKI", depok).await);
    // A national agency covers the whole country.
    assert!(sees(&app, "BAWASLU", "BAWASLU_RI", bogor).await);
}

#[tokio::test]
async fn out_of_scope_and_missing_are_the_same_not_found() {
    let app = spawn_app().await;
    let bogor = insert_dispute(
        &app.db.conn,
        NewDispute {
            regency: "32.71",
            ..Default::default()
        },
    )
    .await;
    let hidden = read_as(&app, "KPU", "KPU_DKI", bogor).await;
    let missing = read_as(&app, "KPU", "KPU_DKI", 987_654).await;
    assert_eq!(
        hidden.body["errors"][0]["message"],
        missing.body["errors"][0]["message"]
    );
    assert_eq!(hidden.error_codes(), missing.error_codes());
    assert_eq!(hidden.body["data"], missing.body["data"]);
}

#[tokio::test]
async fn kabupaten_tangerang_is_split_between_two_poldas_by_district() {
    let app = spawn_app().await;
    let teluknaga = insert_dispute(
        &app.db.conn,
        NewDispute {
            regency: "36.03",
            district: Some("36.03.13"),
            ..Default::default()
        },
    )
    .await;
    let tigaraksa = insert_dispute(
        &app.db.conn,
        NewDispute {
            regency: "36.03",
            district: Some("36.03.03"),
            ..Default::default()
        },
    )
    .await;
    let unknown_district = insert_dispute(
        &app.db.conn,
        NewDispute {
            regency: "36.03",
            district: None,
            ..Default::default()
        },
    )
    .await;
    assert!(sees(&app, "POLICE", "POLDA_METRO_JAYA", teluknaga).await);
    assert!(!sees(&app, "POLICE", "POLDA_METRO_JAYA", tigaraksa).await);
    assert!(sees(&app, "POLICE", "POLDA_BANTEN", tigaraksa).await);
    assert!(!sees(&app, "POLICE", "POLDA_BANTEN", teluknaga).await);
    // Without a district, a PARTIAL grant does not reach the dispute (deny by default).
    assert!(!sees(&app, "POLICE", "POLDA_METRO_JAYA", unknown_district).await);
    assert!(!sees(&app, "POLICE", "POLDA_BANTEN", unknown_district).await);
}

#[tokio::test]
async fn public_sees_no_single_dispute_but_may_read_statistics() {
    // k = 1 publishes exact counts, to see what PUBLIC's scope counts (k-anonymity has
    // its own tests).
    let app = spawn_app_with(&["--public-stats-k", "1"]).await;
    let id = insert_dispute(&app.db.conn, NewDispute::default()).await;
    insert_dispute(
        &app.db.conn,
        NewDispute {
            restricted: true,
            ..Default::default()
        },
    )
    .await;
    let one = app.gql_as(None, ONE, json!({ "id": gid(id) })).await;
    assert_eq!(one.error_codes(), ["NOT_FOUND"]);
    let list = app.gql("{ disputes { totalCount nodes { id } } }").await;
    assert_eq!(list.error_codes(), ["FORBIDDEN"]);
    let stats = app
        .gql("{ disputeStats { total byStatus { key count } } }")
        .await;
    stats.expect_ok();
    assert_eq!(
        stats.data("disputeStats.total"),
        1,
        "restricted disputes are not counted for PUBLIC"
    );
}

#[tokio::test]
async fn a_restricted_dispute_is_seen_by_admin_and_agencies_assigned_or_escalated_to() {
    let app = spawn_app().await;
    let id = insert_dispute(
        &app.db.conn,
        NewDispute {
            restricted: true,
            ..Default::default()
        },
    )
    .await;
    assert!(sees(&app, "ADMIN", "KESBANGPOL_DKI", id).await);
    for (role, agency) in [
        ("KPU", "KPU_DKI"),
        ("BAWASLU", "BAWASLU_DKI"),
        ("POLICE", "POLDA_METRO_JAYA"),
        ("MEMBER", "KODAM_JAYA"),
    ] {
        assert!(
            !sees(&app, role, agency, id).await,
            "{agency} before assignment or escalation"
        );
    }
    assign(&app.db.conn, id, "KODAM_JAYA").await;
    assert!(sees(&app, "MEMBER", "KODAM_JAYA", id).await);
    assert!(!sees(&app, "MEMBER", "KEJATI_DKI", id).await);
    escalate(&app.db.conn, id, "BAWASLU").await;
    assert!(sees(&app, "BAWASLU", "BAWASLU_DKI", id).await);
    assert!(!sees(&app, "POLICE", "POLDA_METRO_JAYA", id).await);
    escalate(&app.db.conn, id, "GAKKUMDU").await;
    assert!(sees(&app, "POLICE", "POLDA_METRO_JAYA", id).await);
    assert!(
        sees(&app, "MEMBER", "KEJATI_DKI", id).await,
        "prosecutors sit in Gakkumdu"
    );
    assert!(!sees(&app, "KPU", "KPU_DKI", id).await);
}

#[tokio::test]
async fn the_reporter_is_for_bawaslu_and_admin_and_police_only_after_escalation_to_them() {
    let app = spawn_app().await;
    let id = insert_dispute(&app.db.conn, NewDispute::default()).await;
    for (role, agency) in [("BAWASLU", "BAWASLU_DKI"), ("ADMIN", "KESBANGPOL_DKI")] {
        let answer = read_as(&app, role, agency, id).await;
        assert_eq!(
            answer.data("dispute.reporter.name"),
            "Siti Pelapor",
            "{role}"
        );
        assert_eq!(answer.data("dispute.viewerCan.readReporter"), true);
    }
    for (role, agency) in [
        ("KPU", "KPU_DKI"),
        ("MEMBER", "KODAM_JAYA"),
        ("POLICE", "POLDA_METRO_JAYA"),
    ] {
        let answer = read_as(&app, role, agency, id).await;
        assert!(answer.data("dispute.reporter").is_null(), "{role}");
        assert_eq!(
            answer.error_at("dispute.reporter").as_deref(),
            Some("FORBIDDEN"),
            "{role}"
        );
        assert_eq!(
            answer.data("dispute.title"),
            "Perusakan alat peraga kampanye",
            "siblings are unaffected"
        );
        assert!(
            !answer.body.to_string().contains("Siti Pelapor"),
            "{role}: the name leaks"
        );
    }
    escalate(&app.db.conn, id, "BAWASLU").await;
    let police = read_as(&app, "POLICE", "POLDA_METRO_JAYA", id).await;
    assert_eq!(
        police.error_at("dispute.reporter").as_deref(),
        Some("FORBIDDEN"),
        "escalation to Bawaslu is not enough"
    );
    escalate(&app.db.conn, id, "POLICE").await;
    let police = read_as(&app, "POLICE", "POLDA_METRO_JAYA", id).await;
    assert_eq!(police.data("dispute.reporter.name"), "Siti Pelapor");
    assert_eq!(police.data("dispute.viewerCan.readReporter"), true);
}

/// The bodies a dispute was escalated to, which the field rules need, ride on its row:
/// reading one with its reporter and timeline reads the dispute, then its newest events,
/// then writes the reporter read's access-log row; `node(id:)` reads it the same way.
#[tokio::test]
async fn a_dispute_brings_its_escalations_on_its_own_row() {
    let app = spawn_app().await;
    let id = insert_dispute(&app.db.conn, NewDispute::default()).await;
    escalate(&app.db.conn, id, "BAWASLU").await;
    escalate(&app.db.conn, id, "POLICE").await;
    let police = token("POLICE", "POLDA_METRO_JAYA");
    let fields = "reporter { name } viewerCan { readReporter } events(last: 20) { kind }";
    let by_dispute = format!("{{ dispute(id: \"{}\") {{ {fields} }} }}", gid(id));
    let by_node = format!(
        "{{ node(id: \"{}\") {{ ... on Dispute {{ {fields} }} }} }}",
        gid(id)
    );
    // The first request also loads the agency's jurisdiction, which is then kept.
    app.statements_for_as(Some(&police), &by_dispute).await;
    for (query, at) in [(by_dispute, "dispute"), (by_node, "node")] {
        let (statements, answer) = app.statements_for_as(Some(&police), &query).await;
        answer.expect_ok();
        assert_eq!(answer.data(&format!("{at}.reporter.name")), "Siti Pelapor");
        assert_eq!(answer.data(&format!("{at}.viewerCan.readReporter")), true);
        assert_eq!(statements, 3, "{at}: {:#}", answer.body);
    }
    // Without escalations the aggregate is NULL: the police may not read the reporter.
    let other = insert_dispute(&app.db.conn, NewDispute::default()).await;
    let answer = read_as(&app, "POLICE", "POLDA_METRO_JAYA", other).await;
    assert_eq!(
        answer.error_at("dispute.reporter").as_deref(),
        Some("FORBIDDEN")
    );
}

#[tokio::test]
async fn intelligence_notes_are_for_the_police_only_not_even_admin() {
    let app = spawn_app().await;
    let id = insert_dispute(&app.db.conn, NewDispute::default()).await;
    append_event(
        &app.db.conn,
        id,
        NewEvent {
            kind: "INTEL_NOTE",
            role: "POLICE",
            note: Some("massa bayaran dari luar kota"),
            audience: Some("POLICE"),
        },
    )
    .await;
    let police = read_as(&app, "POLICE", "POLDA_METRO_JAYA", id).await;
    assert_eq!(
        police.data("dispute.intelNotes.0.note"),
        "massa bayaran dari luar kota"
    );
    for (role, agency) in [
        ("ADMIN", "KESBANGPOL_DKI"),
        ("BAWASLU", "BAWASLU_DKI"),
        ("KPU", "KPU_DKI"),
        ("MEMBER", "KODAM_JAYA"),
    ] {
        let answer = read_as(&app, role, agency, id).await;
        assert_eq!(
            answer.error_at("dispute.intelNotes").as_deref(),
            Some("FORBIDDEN"),
            "{role}"
        );
        assert!(
            !answer.body.to_string().contains("massa bayaran"),
            "{role}: the note leaks (timeline included)"
        );
        let kinds: Vec<&str> = answer
            .data("dispute.events")
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert!(!kinds.contains(&"INTEL_NOTE"), "{role}: {kinds:?}");
    }
}

#[tokio::test]
async fn the_violation_is_for_kpu_bawaslu_police_and_admin() {
    let app = spawn_app().await;
    let id = insert_dispute(
        &app.db.conn,
        NewDispute {
            violation: Some("ELECTION_CRIME"),
            ..Default::default()
        },
    )
    .await;
    for (role, agency) in [
        ("KPU", "KPU_DKI"),
        ("BAWASLU", "BAWASLU_DKI"),
        ("POLICE", "POLDA_METRO_JAYA"),
        ("ADMIN", "KESBANGPOL_DKI"),
    ] {
        assert_eq!(
            read_as(&app, role, agency, id)
                .await
                .data("dispute.violation"),
            "ELECTION_CRIME",
            "{role}"
        );
    }
    let member = read_as(&app, "MEMBER", "KODAM_JAYA", id).await;
    assert!(member.data("dispute.violation").is_null());
    assert_eq!(
        member.error_at("dispute.violation").as_deref(),
        Some("FORBIDDEN")
    );
}

#[tokio::test]
async fn timeline_notes_follow_the_audience_they_were_written_for() {
    let app = spawn_app().await;
    let id = insert_dispute(&app.db.conn, NewDispute::default()).await;
    append_event(
        &app.db.conn,
        id,
        NewEvent {
            kind: "NOTE",
            role: "BAWASLU",
            note: Some("saksi kunci: warga RT 05"),
            audience: Some("BAWASLU,ADMIN"),
        },
    )
    .await;
    append_event(
        &app.db.conn,
        id,
        NewEvent {
            kind: "NOTE",
            role: "ADMIN",
            note: Some("rapat koordinasi pukul 19.00"),
            audience: None,
        },
    )
    .await;
    for (role, agency, sees_restricted) in [
        ("BAWASLU", "BAWASLU_DKI", true),
        ("ADMIN", "KESBANGPOL_DKI", true),
        ("POLICE", "POLDA_METRO_JAYA", false),
        ("KPU", "KPU_DKI", false),
        ("MEMBER", "KODAM_JAYA", false),
    ] {
        let answer = read_as(&app, role, agency, id).await;
        let body = answer.data("dispute.events").to_string();
        assert!(
            body.contains("rapat koordinasi"),
            "{role}: a note for everyone"
        );
        assert_eq!(body.contains("saksi kunci"), sees_restricted, "{role}");
    }
}

#[tokio::test]
async fn filtering_by_a_field_you_may_not_read_is_forbidden_not_ignored() {
    let app = spawn_app().await;
    insert_dispute(
        &app.db.conn,
        NewDispute {
            violation: Some("ADMINISTRATIVE"),
            ..Default::default()
        },
    )
    .await;
    let member = token("MEMBER", "KODAM_JAYA");
    let by_violation = app
        .gql_as(
            Some(&member),
            "{ disputes(filter: {violations: [ADMINISTRATIVE]}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(by_violation.error_codes(), ["FORBIDDEN"]);
    let by_reporter = app
        .gql_as(
            Some(&token("POLICE", "POLDA_METRO_JAYA")),
            "{ disputes(filter: {reporterKinds: [VOTER]}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        by_reporter.error_codes(),
        ["FORBIDDEN"],
        "POLICE reads reporters only on some disputes"
    );
    let kpu = app
        .gql_as(
            Some(&token("KPU", "KPU_DKI")),
            "{ disputes(filter: {violations: [ADMINISTRATIVE]}) { totalCount } }",
            json!({}),
        )
        .await;
    kpu.expect_ok();
    assert_eq!(kpu.data("disputes.totalCount"), 1);
    for query in [
        r#"{ disputeStats(filter: {search: "kampanye"}) { total } }"#,
        r#"{ disputeStats(filter: {restricted: true}) { total } }"#,
        r#"{ disputeStats(filter: {violations: [ADMINISTRATIVE]}) { total } }"#,
    ] {
        assert_eq!(
            app.gql(query).await.error_codes(),
            ["FORBIDDEN"],
            "PUBLIC: {query}"
        );
    }
}

#[tokio::test]
async fn reads_of_reporter_and_intel_notes_are_in_the_access_log_before_the_answer() {
    let app = spawn_app().await;
    let id = insert_dispute(&app.db.conn, NewDispute::default()).await;
    let bawaslu = read_as(&app, "BAWASLU", "BAWASLU_DKI", id).await;
    assert_eq!(bawaslu.data("dispute.reporter.name"), "Siti Pelapor");
    read_as(&app, "POLICE", "POLDA_METRO_JAYA", id).await;
    // A forbidden attempt is not a read.
    read_as(&app, "KPU", "KPU_DKI", id).await;
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    let log = app
        .gql_as(Some(&admin), "query($id: ID) { accessLog(filter: {disputeId: $id}) { nodes { subject role agencyCode disputeId field } } }", json!({ "id": gid(id) }))
        .await;
    log.expect_ok();
    let entries = log.data("accessLog.nodes").as_array().unwrap().clone();
    let seen: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["agencyCode"].as_str().unwrap().to_owned(),
                e["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        seen.contains(&("BAWASLU_DKI".into(), "reporter".into())),
        "{seen:?}"
    );
    assert!(
        seen.contains(&("POLDA_METRO_JAYA".into(), "intelNotes".into())),
        "{seen:?}"
    );
    assert!(
        !seen.iter().any(|(agency, _)| agency == "KPU_DKI"),
        "{seen:?}"
    );
    assert!(
        !log.body.to_string().contains("Siti Pelapor"),
        "the log never holds the value"
    );
    let not_admin = app
        .gql_as(
            Some(&token("BAWASLU", "BAWASLU_DKI")),
            "{ accessLog { nodes { field } } }",
            json!({}),
        )
        .await;
    assert_eq!(not_admin.error_codes(), ["FORBIDDEN"]);
}

#[tokio::test]
async fn me_tells_role_agency_and_the_jurisdiction_from_the_database() {
    let app = spawn_app().await;
    let answer = app
        .gql_as(Some(&token("POLICE", "POLDA_METRO_JAYA")), "{ me { role subject agency { code } jurisdiction { wholeCountry regencyCodes partial { regencyCode districtCodes } } } }", json!({}))
        .await;
    answer.expect_ok();
    assert_eq!(answer.data("me.role"), "POLICE");
    assert_eq!(answer.data("me.subject"), "police-officer");
    assert!(
        answer
            .data("me.jurisdiction.regencyCodes")
            .as_array()
            .unwrap()
            .contains(&json!("32.76"))
    );
    assert_eq!(
        answer.data("me.jurisdiction.partial.0.regencyCode"),
        "36.03"
    );
    let national = app
        .gql_as(
            Some(&token("KPU", "KPU_RI")),
            "{ me { jurisdiction { wholeCountry } } }",
            json!({}),
        )
        .await;
    assert_eq!(national.data("me.jurisdiction.wholeCountry"), true);
}

#[tokio::test]
async fn a_change_of_jurisdiction_takes_effect_without_a_new_token() {
    use entity::agency_jurisdiction;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let app = spawn_app_with(&["--jurisdiction-cache-secs", "1"]).await;
    let depok = insert_dispute(
        &app.db.conn,
        NewDispute {
            regency: "32.76",
            ..Default::default()
        },
    )
    .await;
    assert!(sees(&app, "POLICE", "POLDA_METRO_JAYA", depok).await);
    agency_jurisdiction::Entity::delete_many()
        .filter(agency_jurisdiction::Column::AgencyCode.eq("POLDA_METRO_JAYA"))
        .filter(agency_jurisdiction::Column::RegionCode.eq("32.76"))
        .exec(&app.db.conn)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    assert!(!sees(&app, "POLICE", "POLDA_METRO_JAYA", depok).await);
}

#[tokio::test]
async fn the_newest_events_are_the_tail_of_the_timeline_each_role_may_see() {
    let app = spawn_app().await;
    // A long history whose newest part is hidden from most roles: notes for everyone,
    // then many intelligence notes (police only), then a note for KPU alone.
    let long = insert_dispute(&app.db.conn, NewDispute::default()).await;
    let short = insert_dispute(&app.db.conn, NewDispute::default()).await;
    let mut events: Vec<NewEvent> = Vec::new();
    for _ in 0..5 {
        events.push(NewEvent {
            kind: "NOTE",
            role: "ADMIN",
            note: Some("mediasi berlanjut"),
            audience: None,
        });
    }
    for _ in 0..25 {
        events.push(NewEvent {
            kind: "INTEL_NOTE",
            role: "POLICE",
            note: Some("pantauan"),
            audience: Some("POLICE"),
        });
    }
    events.push(NewEvent {
        kind: "NOTE",
        role: "ADMIN",
        note: Some("untuk KPU"),
        audience: Some("KPU"),
    });
    for event in events {
        append_event(&app.db.conn, long, event).await;
    }
    append_event(
        &app.db.conn,
        short,
        NewEvent {
            kind: "NOTE",
            role: "ADMIN",
            note: Some("satu catatan"),
            audience: None,
        },
    )
    .await;
    let seqs = |value: &serde_json::Value| -> Vec<i64> {
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_i64().unwrap())
            .collect()
    };
    for (role, agency) in [
        ("ADMIN", "KESBANGPOL_DKI"),
        ("POLICE", "POLDA_METRO_JAYA"),
        ("KPU", "KPU_DKI"),
        ("BAWASLU", "BAWASLU_DKI"),
        ("MEMBER", "KODAM_JAYA"),
    ] {
        for id in [long, short] {
            let all = app
                .gql_as(
                    Some(&token(role, agency)),
                    "query($id: ID!) { dispute(id: $id) { events { seq } } }",
                    json!({ "id": gid(id) }),
                )
                .await;
            let all = seqs(all.data("dispute.events"));
            for last in [0usize, 1, 3, 10, 40] {
                let answer = app
                    .gql_as(
                        Some(&token(role, agency)),
                        "query($id: ID!, $last: Int) { dispute(id: $id) { events(last: $last) { seq } } }",
                        json!({ "id": gid(id), "last": last }),
                    )
                    .await;
                let tail = all[all.len().saturating_sub(last)..].to_vec();
                assert_eq!(
                    seqs(answer.data("dispute.events")),
                    tail,
                    "{role} {id} last {last}"
                );
            }
        }
        // The same through a list, where the newest events of every dispute of the page
        // come in one statement.
        let listed = app
            .gql_as(
                Some(&token(role, agency)),
                "{ disputes(first: 50) { nodes { id events(last: 2) { seq } everything: events { seq } } } }",
                json!({}),
            )
            .await;
        for node in listed.data("disputes.nodes").as_array().unwrap() {
            let all = seqs(&node["everything"]);
            assert_eq!(
                seqs(&node["events"]),
                all[all.len().saturating_sub(2)..].to_vec(),
                "{role}"
            );
        }
    }
}
