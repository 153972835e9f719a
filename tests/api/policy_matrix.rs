//! The full role × field matrix, generated from `policy::FIELD_RULES` and checked through
//! HTTP on both fact states (escalated to the police or not). `visibility.rs` checks the
//! same rules against the contract's own sentences.

use posko::auth::policy::{self, DisputeFacts, DisputeField};
use posko::auth::viewer::Viewer;
use posko::domain::types::{EscalationTarget, Role};
use serde_json::json;
use strum::IntoEnumIterator;

use crate::support::fixtures::{NewDispute, NewEvent, append_event, escalate, gid, insert_dispute};
use crate::support::spawn_app;
use crate::support::tokens::token;

/// An agency in Jakarta for each role (PUBLIC has none).
fn agency_for(role: Role) -> Option<&'static str> {
    match role {
        Role::Public => None,
        Role::Member => Some("KODAM_JAYA"),
        Role::Kpu => Some("KPU_DKI"),
        Role::Bawaslu => Some("BAWASLU_DKI"),
        Role::Police => Some("POLDA_METRO_JAYA"),
        Role::Admin => Some("KESBANGPOL_DKI"),
    }
}

fn viewer_with_role(role: Role) -> Viewer {
    let mut viewer = Viewer::public();
    viewer.role = role;
    viewer
}

#[tokio::test]
async fn every_role_and_sensitive_field_resolves_as_the_policy_table_says() {
    let app = spawn_app().await;
    let plain = insert_dispute(
        &app.db.conn,
        NewDispute {
            violation: Some("ADMINISTRATIVE"),
            ..Default::default()
        },
    )
    .await;
    let escalated = insert_dispute(
        &app.db.conn,
        NewDispute {
            violation: Some("ELECTION_CRIME"),
            ..Default::default()
        },
    )
    .await;
    for id in [plain, escalated] {
        append_event(
            &app.db.conn,
            id,
            NewEvent {
                kind: "INTEL_NOTE",
                role: "POLICE",
                note: Some("catatan intel"),
                audience: Some("POLICE"),
            },
        )
        .await;
    }
    escalate(&app.db.conn, escalated, "GAKKUMDU").await;
    let query = "query($id: ID!) { dispute(id: $id) { title reporter { name } intelNotes { note } violation viewerCan { readReporter readIntelNotes readViolation } } }";

    let mut checked = 0;
    for role in Role::iter() {
        for (id, facts) in [
            (plain, DisputeFacts::default()),
            (
                escalated,
                DisputeFacts {
                    escalated_to: vec![EscalationTarget::Gakkumdu],
                },
            ),
        ] {
            let bearer = agency_for(role).map(|agency| token(role.as_str(), agency));
            let answer = app
                .gql_as(bearer.as_deref(), query, json!({ "id": gid(id) }))
                .await;
            if role == Role::Public {
                assert_eq!(
                    answer.error_codes(),
                    ["NOT_FOUND"],
                    "PUBLIC sees no single dispute"
                );
                continue;
            }
            assert_eq!(
                answer.data("dispute.title"),
                "Perusakan alat peraga kampanye"
            );
            for field in DisputeField::iter() {
                let allowed = policy::can_read(&viewer_with_role(role), field, &facts);
                let name = field.as_ref();
                let value = answer.data(&format!("dispute.{name}"));
                let error = answer.error_at(&format!("dispute.{name}"));
                let case = format!(
                    "{} × {name} (escalated: {})",
                    role.as_str(),
                    id == escalated
                );
                if allowed {
                    assert!(
                        !value.is_null(),
                        "{case}: expected a value, got {:#}",
                        answer.body
                    );
                    assert_eq!(error, None, "{case}");
                } else {
                    assert!(value.is_null(), "{case}: expected null");
                    assert_eq!(error.as_deref(), Some("FORBIDDEN"), "{case}");
                }
                let flag = match field {
                    DisputeField::Reporter => "readReporter",
                    DisputeField::IntelNotes => "readIntelNotes",
                    DisputeField::Violation => "readViolation",
                };
                assert_eq!(
                    answer.data(&format!("dispute.viewerCan.{flag}")),
                    allowed,
                    "{case}: viewerCan"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(
        checked,
        5 * 2 * 3,
        "five roles with a token × two fact states × three fields"
    );
}

#[test]
fn the_policy_table_matches_the_contract_literally() {
    use Role::*;
    let none = DisputeFacts::default();
    let to_police = DisputeFacts {
        escalated_to: vec![EscalationTarget::Police],
    };
    let read =
        |role, field, facts: &DisputeFacts| policy::can_read(&viewer_with_role(role), field, facts);
    let readers = |field, facts: &DisputeFacts| -> Vec<Role> {
        Role::iter().filter(|r| read(*r, field, facts)).collect()
    };
    assert_eq!(readers(DisputeField::Reporter, &none), [Bawaslu, Admin]);
    assert_eq!(
        readers(DisputeField::Reporter, &to_police),
        [Bawaslu, Police, Admin]
    );
    assert_eq!(readers(DisputeField::IntelNotes, &to_police), [Police]);
    assert_eq!(
        readers(DisputeField::Violation, &none),
        [Kpu, Bawaslu, Police, Admin]
    );
}

#[test]
fn disputes_and_their_children_are_read_only_through_the_policy_module() {
    // Each way of reading a dispute table, and where it may appear. Everything a request
    // reads goes through `policy::visible_disputes` (disputes) or a loader keyed by
    // `DisputeId` (children), which only a `VisibleDispute` hands out.
    let rules: &[(&str, &[&str])] = &[
        (
            "dispute::Entity::find",
            // The scope itself; the demo loader and the timeline verifier are CLI tools,
            // not request paths; placing disputes again when a stage is called off writes
            // and returns nothing to a caller; the positional row decoder's unit test
            // builds a select's SQL text to check its column order and reads nothing.
            &[
                "src/auth/policy.rs",
                "src/db/demo.rs",
                "src/db/audit_tools.rs",
                "src/db/restage.rs",
                "src/db/dispute_rows.rs",
            ],
        ),
        (
            "dispute_event::Entity::find",
            // The write path reads the previous hash inside its transaction; the loader
            // of a dispute's newest events is keyed by `DisputeId`, like `ChildrenOf`.
            &[
                "src/domain/workflow.rs",
                "src/db/audit_tools.rs",
                "src/graphql/loaders.rs",
            ],
        ),
        (
            "dispute_escalation::Entity::find",
            // The counters read escalations under the row lock of a write.
            &["src/domain/tally.rs"],
        ),
        (
            "dispute_assignment::Entity::find",
            // Assignment checks the current assignments of a dispute it already read; the
            // counters read them under the row lock of a write.
            &["src/domain/workflow.rs", "src/domain/tally.rs"],
        ),
        ("dispute_party::Entity::find", &[]),
        // A generic loader over a dispute table would take raw ids.
        ("ManyBy<dispute", &[]),
        ("OneBy<dispute", &[]),
        ("ManyBy<entity::dispute", &[]),
        ("OneBy<entity::dispute", &[]),
        // Generic reads by entity type: only the loaders, whose dispute children are
        // `ChildrenOf`, keyed by `DisputeId`.
        ("E::find()", &["src/graphql/loaders.rs"]),
    ];
    let root = env!("CARGO_MANIFEST_DIR");
    let mut offenders = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(root).join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            for (pattern, allowed) in rules {
                if text.contains(pattern) && !allowed.contains(&relative.as_str()) {
                    offenders.push(format!("{relative}: {pattern}"));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "dispute tables read outside the policy module: {offenders:?}"
    );
    // The loaders of a dispute's children take `DisputeId`, not a raw integer.
    let loaders = std::fs::read_to_string(format!("{root}/src/graphql/loaders.rs")).unwrap();
    for child in [
        "dispute_event",
        "dispute_escalation",
        "dispute_assignment",
        "dispute_party",
    ] {
        assert!(
            loaders.contains(&format!("DataLoader<ChildrenOf<{child}::Entity>>")),
            "{child} is loaded by something other than ChildrenOf"
        );
    }
}
