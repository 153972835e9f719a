//! Leaks closed by construction (issue "Trust by construction"): each test plays a caller
//! who may not read a value and tries the path by which it used to escape: a hash, an
//! actor, an id, a clock, a public statistic, a directory edit, a re-seed.

use entity::{access_log, dispute_event};
use posko::domain::timeline::{EventContent, GENESIS_HASH, event_hash};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::support::fixtures::{NewDispute, insert_dispute, row_id};
use crate::support::tokens::token;
use crate::support::{Gql, TestApp, spawn_app};

const REPORT: &str = "mutation($input: ReportDisputeInput!) { reportDispute(input: $input) { dispute { id refNo version } } }";

async fn report(app: &TestApp, role: &str, agency: &str, title: &str) -> (String, String) {
    let answer = app
        .gql_as(
            Some(&token(role, agency)),
            REPORT,
            json!({ "input": {
                "regencyCode": "31.71", "occurredAt": "2024-11-25T10:00:00+07:00",
                "category": "MONEY_POLITICS", "severity": "HIGH", "title": title,
                "description": "Serangan fajar di dekat TPS." } }),
        )
        .await;
    answer.expect_ok();
    (
        answer
            .data("reportDispute.dispute.id")
            .as_str()
            .unwrap()
            .to_owned(),
        answer
            .data("reportDispute.dispute.refNo")
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

async fn act(app: &TestApp, role: &str, agency: &str, mutation: &str, input: Value) -> Gql {
    let input_type = match mutation {
        "classifyViolation" => "ClassifyViolationInput!",
        "addIntelNote" => "AddIntelNoteInput!",
        "addNote" => "AddNoteInput!",
        "escalateDispute" => "EscalateDisputeInput!",
        _ => "TransitionInput!",
    };
    let query = format!(
        "mutation($input: {input_type}) {{ {mutation}(input: $input) {{ dispute {{ version }} }} }}"
    );
    let answer = app
        .gql_as(
            Some(&token(role, agency)),
            &query,
            json!({ "input": input }),
        )
        .await;
    answer.expect_ok();
    answer
}

/// A dispute with a hidden classification (4) and a hidden intel note (5) between visible
/// events: REPORTED, VERIFIED, NOTE, CLASSIFIED, INTEL_NOTE, NOTE.
async fn dispute_with_hidden_events(app: &TestApp) -> String {
    let (id, _) = report(app, "ADMIN", "KESBANGPOL_DKI", "Serangan fajar").await;
    act(
        app,
        "ADMIN",
        "KESBANGPOL_DKI",
        "verifyDispute",
        json!({ "id": id, "expectedVersion": 1 }),
    )
    .await;
    act(
        app,
        "ADMIN",
        "KESBANGPOL_DKI",
        "addNote",
        json!({ "id": id, "expectedVersion": 2, "note": "dicek" }),
    )
    .await;
    act(
        app,
        "BAWASLU",
        "BAWASLU_DKI",
        "classifyViolation",
        json!({ "id": id, "expectedVersion": 3, "violation": "ELECTION_CRIME" }),
    )
    .await;
    act(
        app,
        "POLICE",
        "POLDA_METRO_JAYA",
        "addIntelNote",
        json!({ "id": id, "expectedVersion": 4, "note": "massa bayaran dari luar kota" }),
    )
    .await;
    act(
        app,
        "ADMIN",
        "KESBANGPOL_DKI",
        "addNote",
        json!({ "id": id, "expectedVersion": 5, "note": "tindak lanjut" }),
    )
    .await;
    id
}

#[tokio::test]
async fn hashes_are_for_admin_and_confirm_no_guess_of_hidden_content() {
    let app = spawn_app().await;
    let id = dispute_with_hidden_events(&app).await;
    let query = "query($id: ID!) { dispute(id: $id) { timelineIntact events { seq kind hash } } }";
    // MEMBER sees the timeline but no hash: null with FORBIDDEN at each.
    let member = app
        .gql_as(
            Some(&token("MEMBER", "KODAM_JAYA")),
            query,
            json!({ "id": id }),
        )
        .await;
    let events = member.data("dispute.events").as_array().unwrap().clone();
    assert_eq!(events.len(), 4, "{:#}", member.body);
    assert!(events.iter().all(|e| e["hash"].is_null()));
    assert_eq!(
        member.error_at("dispute.events.0.hash").as_deref(),
        Some("FORBIDDEN")
    );
    // ADMIN reads hashes; with the true content and the true previous hash (the best an
    // attacker can guess), the unsalted recomputation matches none of them.
    let admin = app
        .gql_as(
            Some(&token("ADMIN", "KESBANGPOL_DKI")),
            query,
            json!({ "id": id }),
        )
        .await;
    admin.expect_ok();
    assert_eq!(admin.data("dispute.timelineIntact"), true);
    let served: Vec<String> = admin
        .data("dispute.events")
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["hash"].as_str().unwrap().to_owned())
        .collect();
    let stored = dispute_event::Entity::find()
        .filter(dispute_event::Column::DisputeId.eq(row_id(&app.db.conn, &id).await))
        .order_by_asc(dispute_event::Column::Seq)
        .all(&app.db.conn)
        .await
        .unwrap();
    let mut prev = GENESIS_HASH.to_owned();
    for event in &stored {
        let salt = event.salt.clone().expect("every new event is salted");
        assert!(!admin.body.to_string().contains(&salt), "a salt was served");
        // The attacker's best guess: the true content and previous hash, without the salt.
        let guessed = event_hash(
            &prev,
            &EventContent {
                salt: None,
                ..EventContent::of(event)
            },
        );
        assert_ne!(guessed, event.hash, "event {} is confirmable", event.seq);
        assert!(!served.contains(&guessed));
        prev = event.hash.clone();
    }
    // Tampering with a salt still breaks the chain.
    let first = &stored[3];
    app.db
        .conn
        .execute_unprepared(&format!(
            "UPDATE dispute_event SET salt = '00000000000000000000000000000000' WHERE id = {}",
            first.id
        ))
        .await
        .unwrap();
    let after = app
        .gql_as(
            Some(&token("ADMIN", "KESBANGPOL_DKI")),
            query,
            json!({ "id": id }),
        )
        .await;
    assert_eq!(after.data("dispute.timelineIntact"), false);
}

#[tokio::test]
async fn an_actors_user_id_is_for_admin_and_the_acting_agency() {
    let app = spawn_app().await;
    let id = dispute_with_hidden_events(&app).await;
    let query =
        "query($id: ID!) { dispute(id: $id) { events { seq actor actorRole actorAgency } } }";
    let read = |role: &'static str, agency: &'static str| {
        let app = &app;
        let id = id.clone();
        async move {
            app.gql_as(Some(&token(role, agency)), query, json!({ "id": id }))
                .await
        }
    };
    let kpu = read("KPU", "KPU_DKI").await;
    let first = &kpu.data("dispute.events")[0];
    assert!(first["actor"].is_null(), "{:#}", kpu.body);
    assert_eq!(first["actorRole"], "ADMIN");
    assert_eq!(first["actorAgency"], "KESBANGPOL_DKI");
    assert_eq!(
        kpu.error_at("dispute.events.0.actor").as_deref(),
        Some("FORBIDDEN")
    );
    let admin = read("ADMIN", "KESBANGPOL_DKI").await;
    admin.expect_ok();
    assert!(admin.data("dispute.events.0.actor").is_string());
    // Bawaslu reads its own officer's id on the classification, not ADMIN's elsewhere.
    let bawaslu = read("BAWASLU", "BAWASLU_DKI").await;
    let events = bawaslu.data("dispute.events").as_array().unwrap();
    for event in events {
        assert_eq!(
            event["actor"].is_string(),
            event["actorAgency"] == "BAWASLU_DKI",
            "{event}"
        );
    }
}

#[tokio::test]
async fn an_intel_note_read_through_the_timeline_is_in_the_access_log() {
    let app = spawn_app().await;
    let id = dispute_with_hidden_events(&app).await;
    let police = app
        .gql_as(
            Some(&token("POLICE", "POLDA_METRO_JAYA")),
            "query($id: ID!) { dispute(id: $id) { events { kind note } } }",
            json!({ "id": id }),
        )
        .await;
    police.expect_ok();
    assert!(police.body.to_string().contains("massa bayaran"));
    let rows = access_log::Entity::find()
        .filter(access_log::Column::DisputePublicId.eq(id.clone()))
        .all(&app.db.conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].field, "intelNotes");
    assert_eq!(rows[0].agency_code, "POLDA_METRO_JAYA");
}

#[tokio::test]
async fn ids_and_reference_numbers_do_not_count_disputes() {
    let app = spawn_app().await;
    let (first_id, first_ref) = report(&app, "KPU", "KPU_DKI", "Satu").await;
    // Disputes the caller cannot see are filed between its two reports.
    for _ in 0..3 {
        insert_dispute(
            &app.db.conn,
            NewDispute {
                regency: "32.71",
                restricted: true,
                ..Default::default()
            },
        )
        .await;
    }
    let (second_id, second_ref) = report(&app, "KPU", "KPU_DKI", "Dua").await;
    for id in [&first_id, &second_id] {
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    }
    assert_ne!(first_id, second_id);
    let pattern = |r: &str| {
        let parts: Vec<&str> = r.split('-').collect();
        parts.len() == 5
            && parts[0] == "PSK"
            && parts[1] == "31"
            && parts[2] == chrono::Utc::now().format("%Y").to_string()
            && parts[3..].iter().all(|p| {
                p.len() == 5
                    && p.bytes()
                        .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b))
            })
    };
    assert!(
        pattern(&first_ref) && pattern(&second_ref),
        "{first_ref} {second_ref}"
    );
    // The row ids behind them are four apart; nothing served says so.
    let rows = (
        row_id(&app.db.conn, &first_id).await,
        row_id(&app.db.conn, &second_id).await,
    );
    assert_eq!(rows.1 - rows.0, 4);
    // A cursor carries the public id only.
    let page = app
        .gql_as(
            Some(&token("KPU", "KPU_DKI")),
            "{ disputes(first: 1) { edges { cursor } } }",
            json!({}),
        )
        .await;
    let cursor = page.data("disputes.edges.0.cursor").as_str().unwrap();
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .unwrap();
    let decoded = String::from_utf8(decoded).unwrap();
    assert!(
        decoded == format!("dispute:{second_id}") || decoded == format!("dispute:{first_id}"),
        "{decoded}"
    );
}

#[tokio::test]
async fn clocks_and_the_overdue_filter_say_nothing_of_the_classification_to_those_who_may_not_read_it()
 {
    let app = spawn_app().await;
    let (id, _) = report(&app, "ADMIN", "KESBANGPOL_DKI", "Jam hukum").await;
    act(
        &app,
        "ADMIN",
        "KESBANGPOL_DKI",
        "escalateDispute",
        json!({ "id": id, "expectedVersion": 1, "to": "BAWASLU", "reason": "ke Bawaslu" }),
    )
    .await;
    act(
        &app,
        "BAWASLU",
        "BAWASLU_DKI",
        "classifyViolation",
        json!({ "id": id, "expectedVersion": 2, "violation": "ADMINISTRATIVE" }),
    )
    .await;
    let query = "query($id: ID!) { dispute(id: $id) { deadlines { kind met overdue } } }";
    let kinds = |answer: &Gql| -> Vec<String> {
        answer
            .data("dispute.deadlines")
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    let member = app
        .gql_as(
            Some(&token("MEMBER", "KODAM_JAYA")),
            query,
            json!({ "id": id }),
        )
        .await;
    member.expect_ok();
    assert!(
        !kinds(&member).contains(&"BAWASLU_DECISION".to_owned()),
        "{:#}",
        member.body
    );
    let kpu = app
        .gql_as(Some(&token("KPU", "KPU_DKI")), query, json!({ "id": id }))
        .await;
    assert!(kinds(&kpu).contains(&"BAWASLU_DECISION".to_owned()));
    let overdue = "{ disputes(filter: { overdue: true }) { totalCount } }";
    let member_filter = app
        .gql_as(Some(&token("MEMBER", "KODAM_JAYA")), overdue, json!({}))
        .await;
    assert_eq!(member_filter.error_codes(), ["FORBIDDEN"]);
    let public_filter = app
        .gql("{ disputeStats(filter: { overdue: true }) { total } }")
        .await;
    assert_eq!(public_filter.error_codes(), ["FORBIDDEN"]);
    app.gql_as(Some(&token("KPU", "KPU_DKI")), overdue, json!({}))
        .await
        .expect_ok();
}

#[tokio::test]
async fn public_statistics_are_k_anonymous() {
    let app = spawn_app().await;
    // One dispute in Jakarta Timur at a known second, and six in Jakarta Pusat.
    let at = chrono::DateTime::parse_from_rfc3339("2024-11-19T07:41:13Z")
        .unwrap()
        .to_utc();
    insert_dispute(
        &app.db.conn,
        NewDispute {
            regency: "31.75",
            reported_at: at,
            ..Default::default()
        },
    )
    .await;
    for _ in 0..6 {
        insert_dispute(
            &app.db.conn,
            NewDispute {
                category: "CLASH",
                ..Default::default()
            },
        )
        .await;
    }
    // The probe of the issue: a one-second window is refused (whole days only).
    let probe = app
        .gql(r#"{ disputeStats(filter: { regencyCodes: ["31.75"], occurredFrom: "2024-11-19T05:41:13Z", occurredTo: "2024-11-19T05:41:14Z" }) { total byCategory { key count } } }"#)
        .await;
    assert_eq!(probe.error_codes(), ["BAD_USER_INPUT"], "{:#}", probe.body);
    // Whole days: the single dispute is not shown, nor any of its attributes.
    let day = app
        .gql(r#"{ disputeStats(filter: { regencyCodes: ["31.75"], occurredFrom: "2024-11-19T00:00:00Z", occurredTo: "2024-11-20T00:00:00Z" }) { total byCategory { key count } byStatus { key count } bySeverity { key count } byStage { key count } } }"#)
        .await;
    day.expect_ok();
    assert_eq!(day.data("disputeStats.total"), 0);
    for list in ["byCategory", "byStatus", "bySeverity", "byStage"] {
        assert_eq!(
            day.data(&format!("disputeStats.{list}")),
            &json!([]),
            "{list}"
        );
    }
    // Nested filters: every published count is a multiple of k = 5, so no difference of
    // two answers is a count between 1 and 4.
    let mut published = Vec::new();
    for filter in [
        "{}",
        r#"{ provinceCodes: ["31"] }"#,
        r#"{ provinceCodes: ["31"], categories: [CLASH] }"#,
        r#"{ provinceCodes: ["31"], categories: [CAMPAIGN_PROPS, CLASH] }"#,
        r#"{ regencyCodes: ["31.71"] }"#,
        r#"{ regencyCodes: ["31.71", "31.75"] }"#,
    ] {
        let answer = app
            .gql(&format!("{{ disputeStats(filter: {filter}) {{ total byCategory {{ count }} byProvince {{ count }} byStatus {{ count }} }} }}"))
            .await;
        answer.expect_ok();
        published.push(answer.data("disputeStats.total").as_u64().unwrap());
        for list in ["byCategory", "byProvince", "byStatus"] {
            for count in answer
                .data(&format!("disputeStats.{list}"))
                .as_array()
                .unwrap()
            {
                published.push(count["count"].as_u64().unwrap());
            }
        }
    }
    assert!(
        published.iter().all(|n| n % 5 == 0 && *n > 0 || *n == 0),
        "{published:?}"
    );
    assert!(
        published.contains(&5),
        "seven disputes publish as 5: {published:?}"
    );
    // Members keep exact counts.
    let kpu = app
        .gql_as(
            Some(&token("KPU", "KPU_DKI")),
            r#"{ disputeStats(filter: { regencyCodes: ["31.75"] }) { total } }"#,
            json!({}),
        )
        .await;
    assert_eq!(kpu.data("disputeStats.total"), 1);
}

const JURISDICTION: &str =
    "query($code: String!) { agency(code: $code) { jurisdiction { code } } }";

async fn coverage(app: &TestApp, code: &str) -> Vec<String> {
    let answer = app
        .gql_as(None, JURISDICTION, json!({ "code": code }))
        .await;
    answer.expect_ok();
    let mut codes: Vec<String> = answer
        .data("agency.jurisdiction")
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort();
    codes
}

#[tokio::test]
async fn admin_changes_only_the_directory_rows_in_its_jurisdiction_and_the_seed_keeps_them() {
    let app = spawn_app().await;
    let before = coverage(&app, "POLDA_METRO_JAYA").await;
    let outside: Vec<String> = before
        .iter()
        .filter(|c| !c.starts_with("31"))
        .cloned()
        .collect();
    assert!(
        outside.iter().any(|c| c == "32.76"),
        "Depok is Polda Metro Jaya's: {before:?}"
    );
    // Kesbangpol DKI narrows Polda Metro Jaya inside DKI to Jakarta Pusat.
    let set = app
        .gql_as(
            Some(&token("ADMIN", "KESBANGPOL_DKI")),
            "mutation($input: SetJurisdictionInput!) { setAgencyJurisdiction(input: $input) { code } }",
            json!({ "input": { "agencyCode": "POLDA_METRO_JAYA", "regions": [{ "code": "31.71", "coverage": "FULL" }] } }),
        )
        .await;
    set.expect_ok();
    let mut expected = outside.clone();
    expected.push("31.71".into());
    expected.sort();
    assert_eq!(
        coverage(&app, "POLDA_METRO_JAYA").await,
        expected,
        "rows outside DKI are kept"
    );
    // A new data version re-runs the seed: ADMIN's edit wins, nothing comes back.
    app.db
        .conn
        .execute_unprepared("UPDATE seed_state SET fingerprint = 'an older data version'")
        .await
        .unwrap();
    let report = posko::db::seed::run(&app.db.conn)
        .await
        .unwrap()
        .expect("the seed ran");
    assert!(
        report
            .skipped
            .iter()
            .any(|s| s.contains("POLDA_METRO_JAYA")),
        "{:?}",
        report.skipped
    );
    assert_eq!(coverage(&app, "POLDA_METRO_JAYA").await, expected);
    // Agencies nobody edited are still maintained by the seed.
    assert!(!coverage(&app, "KPU_DKI").await.is_empty());
}

#[tokio::test]
async fn a_forbidden_field_is_present_and_null_not_left_out() {
    let app = spawn_app().await;
    let (id, _) = report(&app, "ADMIN", "KESBANGPOL_DKI", "Null, bukan hilang").await;
    let answer = app
        .gql_as(
            Some(&token("KPU", "KPU_DKI")),
            "query($id: ID!) { dispute(id: $id) { title reporter { name } intelNotes { note } } }",
            json!({ "id": id }),
        )
        .await;
    let dispute = answer.body["data"]["dispute"].as_object().unwrap();
    for field in ["reporter", "intelNotes"] {
        assert!(
            dispute.get(field).is_some_and(Value::is_null),
            "{field} must be present and null: {:#}",
            answer.body
        );
    }
    assert_eq!(
        answer.error_at("dispute.reporter").as_deref(),
        Some("FORBIDDEN")
    );
}

/// Events written before salts existed have hashes computable from guessed content. Their
/// public ids must not be derived from those hashes alone: migration 12 gives each such
/// event random bits of its own, and the id changes with them.
#[tokio::test]
async fn ids_of_events_from_before_salts_rest_on_secret_bits() {
    use migration::MigratorTrait as _;
    use sha2::Digest as _;
    let app = spawn_app().await;
    let conn = &app.db.conn;
    let id = insert_dispute(conn, NewDispute::default()).await;
    crate::support::fixtures::append_event(
        conn,
        id,
        crate::support::fixtures::NewEvent {
            kind: "NOTE",
            role: "ADMIN",
            note: Some("catatan lama"),
            audience: None,
        },
    )
    .await;
    // Make both events look as they did before migration 9, then run migration 12 again.
    conn.execute_unprepared(&format!(
        "UPDATE dispute_event SET salt = NULL, key_salt = NULL WHERE dispute_id = {id}"
    ))
    .await
    .unwrap();
    // Roll back to just before migration 12 (whatever came after it too), then forward.
    let from_twelve = u32::try_from(migration::Migrator::migrations().len() - 11).unwrap();
    migration::Migrator::down(conn, Some(from_twelve))
        .await
        .unwrap();
    migration::Migrator::up(conn, None).await.unwrap();

    let events = dispute_event::Entity::find()
        .filter(dispute_event::Column::DisputeId.eq(id))
        .order_by_asc(dispute_event::Column::Seq)
        .all(conn)
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    let mut secrets = std::collections::HashSet::new();
    for event in &events {
        let secret = event.key_salt.clone().expect("migration 12 gave it bits");
        assert!(secret.len() == 32 && secret.bytes().all(|b| b.is_ascii_hexdigit()));
        secrets.insert(secret);
    }
    assert_eq!(secrets.len(), 2, "each event its own bits");

    // The ids served are not what anyone could compute from the (guessable) hash alone.
    let public_id = dispute_public_id(conn, id).await;
    let answer = app
        .gql_as(
            Some(&token("ADMIN", "KESBANGPOL_DKI")),
            "query($id: ID!) { dispute(id: $id) { events { id } } }",
            json!({ "id": public_id }),
        )
        .await;
    let served: Vec<String> = answer.body["data"]["dispute"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(served.len(), 2, "{:#}", answer.body);
    for event in &events {
        let unsalted = serde_json::json!(["event-key", null, event.hash]).to_string();
        let guessable = hex::encode(&sha2::Sha256::digest(unsalted.as_bytes())[..16]);
        let guessable_id = posko::graphql::node::global_id(
            posko::graphql::node::Kind::DisputeEvent,
            &format!("{public_id}:{guessable}"),
        );
        assert!(
            !served.contains(&guessable_id.0),
            "an id from the hash alone"
        );
    }
    // And each still refetches through node(id:).
    for id in &served {
        let node = app
            .gql_as(
                Some(&token("ADMIN", "KESBANGPOL_DKI")),
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(
            node.body["data"]["node"]["id"],
            json!(id),
            "{:#}",
            node.body
        );
    }
}

async fn dispute_public_id(conn: &sea_orm::DatabaseConnection, id: i32) -> String {
    entity::dispute::Entity::find_by_id(id)
        .one(conn)
        .await
        .unwrap()
        .unwrap()
        .public_id
}
