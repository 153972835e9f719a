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
