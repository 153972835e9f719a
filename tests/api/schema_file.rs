//! `schema.graphql` is what the server serves. `UPDATE_SCHEMA=1 cargo test` rewrites it.

use crate::support::spawn_app;

#[tokio::test]
async fn schema_file_equals_what_the_server_serves() {
    let app = spawn_app().await;
    let served = app
        .get("/schema.graphql")
        .await
        .text()
        .await
        .expect("SDL text");
    assert_eq!(
        served,
        posko::graphql::schema::sdl(),
        "the served SDL comes from the same builder"
    );
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &served).expect("schema.graphql is writable");
    }
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        checked_in == served,
        "schema.graphql is stale: run `UPDATE_SCHEMA=1 cargo test schema_file` and commit it"
    );
}

/// Every type, field, argument, input field and enum value the server serves says what it
/// means (GraphQL's own `__*` types and standard scalars are described by the spec).
#[tokio::test]
async fn every_part_of_the_served_schema_has_a_description() {
    const INTROSPECT: &str = "{ __schema { types { name kind description
        fields(includeDeprecated: true) { name description args { name description } }
        inputFields { name description }
        enumValues(includeDeprecated: true) { name description } } } }";
    const STANDARD_SCALARS: &[&str] = &["String", "Int", "Float", "Boolean", "ID"];
    let app = spawn_app().await;
    let answer = app.gql(INTROSPECT).await;
    answer.expect_ok();
    let described = |value: &serde_json::Value| {
        value["description"]
            .as_str()
            .is_some_and(|d| !d.trim().is_empty())
    };
    let list = |value: &serde_json::Value| value.as_array().cloned().unwrap_or_default();
    let mut missing = Vec::new();
    let types = list(answer.data("__schema.types"));
    assert!(
        types.len() > 50,
        "the introspection lists the schema's types"
    );
    for ty in &types {
        let name = ty["name"].as_str().unwrap_or_default();
        if name.starts_with("__") || STANDARD_SCALARS.contains(&name) {
            continue;
        }
        if !described(ty) {
            missing.push(format!("type {name}"));
        }
        for field in list(&ty["fields"]) {
            let field_name = field["name"].as_str().unwrap_or_default();
            if !described(&field) {
                missing.push(format!("field {name}.{field_name}"));
            }
            for arg in list(&field["args"]) {
                if !described(&arg) {
                    missing.push(format!(
                        "argument {name}.{field_name}({})",
                        arg["name"].as_str().unwrap_or_default()
                    ));
                }
            }
        }
        for input in list(&ty["inputFields"]) {
            if !described(&input) {
                missing.push(format!(
                    "input field {name}.{}",
                    input["name"].as_str().unwrap_or_default()
                ));
            }
        }
        for value in list(&ty["enumValues"]) {
            if !described(&value) {
                missing.push(format!(
                    "enum value {name}.{}",
                    value["name"].as_str().unwrap_or_default()
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{} parts of the schema have no description:\n{}",
        missing.len(),
        missing.join("\n")
    );
}

/// Scalars say what they look like on the wire.
#[tokio::test]
async fn scalars_state_their_wire_format() {
    let app = spawn_app().await;
    let answer = app
        .gql(r#"{ dateTime: __type(name: "DateTime") { description } date: __type(name: "NaiveDate") { description } }"#)
        .await;
    answer.expect_ok();
    let date_time = answer.data("dateTime.description").as_str().unwrap();
    assert!(
        date_time.contains("RFC 3339") && date_time.contains("+07:00"),
        "DateTime names its format: {date_time}"
    );
    let date = answer.data("date.description").as_str().unwrap();
    assert!(
        date.contains("YYYY-MM-DD"),
        "NaiveDate names its format: {date}"
    );
}
