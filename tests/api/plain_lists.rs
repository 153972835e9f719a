//! Lists answered in one pass (`graphql::plain`) answer exactly as async-graphql's own
//! resolvers: for every field of `Dispute`, `DisputeEdge` and `DisputeEvent`, for each
//! member role, a plain selection and the same selection behind a fragment (which always
//! goes through async-graphql) give the same body, errors included.

use posko::db::demo::{self, DemoOptions};
use serde_json::{Value, json};

use crate::support::tokens::token;
use crate::support::{TestApp, spawn_app};

const ROLES: [(&str, &str); 4] = [
    ("ADMIN", "KESBANGPOL_DKI"),
    ("POLICE", "POLDA_METRO_JAYA"),
    ("BAWASLU", "BAWASLU_DKI"),
    ("KPU", "KPU_DKI"),
];

/// A selection of every argument-free field of `type_name`, objects two levels deep; a
/// field with required arguments is left out.
async fn full_selection(app: &TestApp, type_name: &str, depth: usize) -> Vec<(String, String)> {
    let answer = app
        .gql_as(
            Some(&token("ADMIN", "KESBANGPOL_DKI")),
            "query($name: String!) { __type(name: $name) { fields { name args { type { kind } }
               type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }",
            json!({ "name": type_name }),
        )
        .await;
    let mut selection = Vec::new();
    for field in answer.data("__type.fields").as_array().unwrap() {
        let name = field["name"].as_str().unwrap().to_owned();
        if field["args"]
            .as_array()
            .unwrap()
            .iter()
            .any(|arg| arg["type"]["kind"] == "NON_NULL")
        {
            continue;
        }
        let mut ty = &field["type"];
        while ty["name"].is_null() {
            ty = &ty["ofType"];
        }
        let text = if ty["kind"] == "OBJECT" || ty["kind"] == "INTERFACE" {
            if depth == 0 {
                format!("{name} {{ __typename }}")
            } else {
                let inner = Box::pin(full_selection(app, ty["name"].as_str().unwrap(), depth - 1))
                    .await
                    .into_iter()
                    .map(|(_, text)| text)
                    .collect::<Vec<_>>()
                    .join(" ");
                format!("{name} {{ __typename {inner} }}")
            }
        } else {
            name.clone()
        };
        selection.push((name, text));
    }
    assert!(!selection.is_empty(), "{type_name} has fields");
    selection
}

async fn demo_app() -> TestApp {
    let app = spawn_app().await;
    demo::run(
        &app.db.conn,
        &DemoOptions {
            disputes: 60,
            seed: 3,
            progress: false,
        },
    )
    .await
    .expect("demo data loads");
    app
}

/// The body for `query`, and for the same query with `{{FIELDS}}` behind a fragment.
async fn both_ways(
    app: &TestApp,
    bearer: &str,
    query: &str,
    fragment_on: &str,
    fields: &str,
    variables: Value,
) -> (Value, Value) {
    let plain = query.replace("{FIELDS}", fields);
    let behind_fragment = format!(
        "{} fragment F on {fragment_on} {{ {fields} }}",
        query.replace("{FIELDS}", "...F")
    );
    let plain = app.gql_as(Some(bearer), &plain, variables.clone()).await;
    let behind_fragment = app.gql_as(Some(bearer), &behind_fragment, variables).await;
    assert_eq!(plain.status, behind_fragment.status);
    (
        without_locations(plain.body),
        without_locations(behind_fragment.body),
    )
}

/// An error's `locations` point into the document, which differs between the two ways.
fn without_locations(mut body: Value) -> Value {
    if let Some(errors) = body["errors"].as_array_mut() {
        for error in errors {
            error.as_object_mut().unwrap().remove("locations");
        }
    }
    body
}

#[tokio::test]
async fn a_plain_page_answers_as_async_graphql_does_for_every_field_and_role() {
    let app = demo_app().await;
    let dispute_fields = full_selection(&app, "Dispute", 2).await;
    let edge_fields = full_selection(&app, "DisputeEdge", 0).await;
    let mut answered = 0;
    for (role, agency) in ROLES {
        let bearer = token(role, agency);
        let page = "{ disputes(first: 50, orderBy: { field: REPORTED_AT, direction: DESC }) { nodes { {FIELDS} } } }";
        for (name, text) in &dispute_fields {
            let (plain, behind_fragment) =
                both_ways(&app, &bearer, page, "Dispute", text, json!({})).await;
            assert_eq!(plain, behind_fragment, "{role} Dispute.{name}");
            answered += plain["data"]["disputes"]["nodes"]
                .as_array()
                .map_or(0, Vec::len);
        }
        // Plain fields under aliases, given twice, with `__typename`, nested.
        let (plain, behind_fragment) = both_ways(
            &app,
            &bearer,
            page,
            "Dispute",
            "__typename again: title title id status reportedAt \
             regency { n: name code province { __typename name } } province { id }",
            json!({}),
        )
        .await;
        assert_eq!(plain, behind_fragment, "{role} aliases");
        let edges = "{ disputes(first: 20) { edges { {FIELDS} } } }";
        for (name, _) in &edge_fields {
            let text = if name == "node" {
                "node { id refNo title status regency { code name province { name } } }"
            } else {
                name.as_str()
            };
            let (plain, behind_fragment) =
                both_ways(&app, &bearer, edges, "DisputeEdge", text, json!({})).await;
            assert_eq!(plain, behind_fragment, "{role} DisputeEdge.{name}");
        }
    }
    // The comparison ran over pages, not over empty lists.
    assert!(answered > 1_000, "{answered} disputes compared");
}

#[tokio::test]
async fn a_plain_timeline_answers_as_async_graphql_does_for_every_field_and_role() {
    let app = demo_app().await;
    let event_fields = full_selection(&app, "DisputeEvent", 0).await;
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    let ids = app
        .gql_as(
            Some(&admin),
            "{ disputes(first: 60) { nodes { id } } }",
            json!({}),
        )
        .await;
    let ids: Vec<String> = ids
        .data("disputes.nodes")
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["id"].as_str().unwrap().to_owned())
        .collect();
    let mut events = 0;
    for (role, agency) in ROLES {
        let bearer = token(role, agency);
        for id in ids.iter().step_by(6) {
            let timeline = "query($id: ID!) { dispute(id: $id) { events { {FIELDS} } } }";
            for (name, text) in &event_fields {
                let (plain, behind_fragment) = both_ways(
                    &app,
                    &bearer,
                    timeline,
                    "DisputeEvent",
                    text,
                    json!({ "id": id }),
                )
                .await;
                assert_eq!(plain, behind_fragment, "{role} DisputeEvent.{name} of {id}");
                events += plain["data"]["dispute"]["events"]
                    .as_array()
                    .map_or(0, Vec::len);
            }
        }
    }
    assert!(events > 500, "{events} events compared");
}

#[tokio::test]
async fn plain_reference_lists_answer_as_async_graphql_does_for_every_field() {
    let app = spawn_app().await;
    let bearer = token("POLICE", "POLDA_METRO_JAYA");
    for (type_name, query) in [
        ("Province", "{ provinces { {FIELDS} } }"),
        ("Regency", "{ provinces { regencies { {FIELDS} } } }"),
    ] {
        for (name, text) in &full_selection(&app, type_name, 1).await {
            let (plain, behind_fragment) =
                both_ways(&app, &bearer, query, type_name, text, json!({})).await;
            assert_eq!(plain, behind_fragment, "{type_name}.{name}");
            assert!(
                plain["data"]["provinces"]
                    .as_array()
                    .is_some_and(|all| all.len() == 38)
            );
        }
    }
}
