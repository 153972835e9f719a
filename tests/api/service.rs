//! Start-up, health, migrations and seeding.

use migration::{Migrator, MigratorTrait};
use posko::db::seed;
use posko::http::server::Application;
use sea_orm::EntityTrait;

use crate::support::{TestDb, spawn_app, test_cli, test_cli_with};

#[tokio::test]
async fn health_and_readiness_answer_200() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status().as_u16(), 200);
    assert_eq!(app.get("/readyz").await.status().as_u16(), 200);
}

#[tokio::test]
async fn readiness_follows_the_database() {
    let app = spawn_app().await;
    app.db.conn.clone().close().await.expect("the pool closes");
    assert_eq!(app.get("/readyz").await.status().as_u16(), 503);
    assert_eq!(app.get("/healthz").await.status().as_u16(), 200);
}

#[tokio::test]
async fn an_unreachable_database_stops_the_start_with_a_clear_message() {
    let cli = test_cli("postgres://posko@127.0.0.1:1/posko");
    let Err(err) = Application::build(&cli.config).await else {
        panic!("a server without a database must not start");
    };
    let message = format!("{err:#}");
    assert!(
        message.contains("cannot connect to the database"),
        "{message}"
    );
}

#[tokio::test]
async fn graphiql_is_served() {
    let app = spawn_app().await;
    let page = app.get("/graphiql").await;
    assert_eq!(page.status().as_u16(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("graphiql")
    );
}

#[tokio::test]
async fn a_mutation_over_get_is_405_with_allow_post() {
    let app = spawn_app().await;
    let response = app
        .get("/graphql?query=mutation%20%7B%20__typename%20%7D")
        .await;
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let query = app
        .get("/graphql?query=%7B%20provinces%20%7B%20code%20%7D%20%7D")
        .await;
    assert_eq!(query.status().as_u16(), 200);
}

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    Migrator::up(&db.conn, None).await.expect("up");
    seed::run(&db.conn).await.expect("seed after up");
    Migrator::down(&db.conn, None).await.expect("down");
    assert!(
        entity::province::Entity::find()
            .all(&db.conn)
            .await
            .is_err(),
        "tables are gone after down"
    );
    Migrator::up(&db.conn, None).await.expect("up again");
    let report = seed::run(&db.conn)
        .await
        .expect("seed after up again")
        .expect("a fresh database is seeded");
    assert_eq!(
        (report.provinces, report.regencies, report.elections),
        (38, 514, 545)
    );
}

async fn snapshot(db: &sea_orm::DatabaseConnection) -> Vec<String> {
    use entity::*;
    let mut rows = Vec::new();
    macro_rules! dump {
        ($($table:ident),+) => {$(
            rows.extend($table::Entity::find().all(db).await.expect("readable").into_iter().map(|r| format!("{r:?}")));
        )+};
    }
    dump!(
        province,
        regency,
        district,
        region_alias,
        election,
        election_stage,
        candidate_pair,
        agency,
        agency_jurisdiction,
        jurisdiction_district,
        posko,
        posko_member
    );
    rows.sort();
    rows
}

#[tokio::test]
async fn seeding_twice_changes_nothing() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    db.migrate().await.expect("migrations apply");
    assert!(seed::run(&db.conn).await.expect("first seed").is_some());
    let first = snapshot(&db.conn).await;
    // The upserts themselves change nothing when run again…
    seed::run_all(&db.conn).await.expect("second seed, forced");
    let second = snapshot(&db.conn).await;
    assert!(first.len() > 1_100, "{} rows seeded", first.len());
    assert_eq!(first, second);
    // …and a start on an up-to-date database skips them.
    assert!(seed::run(&db.conn).await.expect("third seed").is_none());
}

/// Requests the server has begun reading when SIGTERM arrives are answered before it
/// exits. Each request sends half its body before the signal and the rest after, so it is
/// in flight by construction, not by a guess at how long a query takes.
#[test]
fn sigterm_lets_in_flight_requests_finish() {
    use std::io::{Read as _, Write as _};
    let server = crate::support::process::ServerProcess::start(&[("POSKO_LOG", "error")], false);
    let body =
        serde_json::json!({ "query": "{ provinces { code regencies { code } } }" }).to_string();
    let (head, tail) = body.split_at(body.len() / 2);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut sockets: Vec<std::net::TcpStream> = Vec::new();
    while sockets.len() < 8 {
        match std::net::TcpStream::connect(("127.0.0.1", server.port)) {
            Ok(mut socket) => {
                write!(
                    socket,
                    "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
                    body.len()
                )
                .unwrap();
                sockets.push(socket);
            }
            Err(_) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the server did not start"
                );
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    }
    // Time for the server to accept the connections and start reading the bodies.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(server.child.id().to_string())
        .status();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let mut answers = Vec::new();
    for socket in &mut sockets {
        socket.write_all(tail.as_bytes()).unwrap();
        let mut response = String::new();
        let _ = socket.read_to_string(&mut response);
        answers.push(response.lines().next().unwrap_or_default().to_owned());
    }
    let mut server = server;
    let status = server.child.wait().unwrap();
    assert!(status.success(), "the server exits cleanly: {status:?}");
    assert!(
        answers.iter().all(|a| a.starts_with("HTTP/1.1 200")),
        "in-flight requests finish: {answers:?}"
    );
}

/// On PostgreSQL each HTTP worker opens and uses connections of its own (a connection
/// opened by another worker answers only when that worker's event loop turns), and lets
/// them go when it ends; SQLite keeps one pool for the process, whose single writer all
/// workers share.
#[tokio::test]
async fn each_worker_uses_a_postgresql_pool_of_its_own() {
    let test_db = TestDb::new().await;
    let cli = test_cli_with(
        test_db.url(),
        &["--workers", "2", "--db-max-connections", "4"],
    );
    let app = Application::build(&cli.config)
        .await
        .expect("the app builds");
    let url = format!("http://{}/graphql", app.local_addr());
    let db = app.database();
    let stop = app.stop_handle();
    let served = tokio::spawn(app.run_until_stopped());
    let token = crate::support::tokens::token("POLICE", "POLDA_METRO_JAYA");
    let client = reqwest::Client::new();
    let requests = (0..24).map(|_| {
        client
            .post(&url)
            .bearer_auth(&token)
            .json(&serde_json::json!({
                "query": "{ disputes(first: 5) { nodes { id } } provinces { code } }"
            }))
            .send()
    });
    for answer in futures_util::future::join_all(requests).await {
        let body: serde_json::Value = answer
            .expect("the server answers")
            .json()
            .await
            .expect("a JSON body");
        assert!(body.get("errors").is_none(), "{body}");
    }
    let sizes = db.worker_pool_sizes();
    if db.backend() == sea_orm::DatabaseBackend::Postgres {
        assert_eq!(sizes.len(), 2, "one pool per worker: {sizes:?}");
        assert!(
            sizes.iter().sum::<u32>() >= 1,
            "requests went through the workers' pools: {sizes:?}"
        );
        assert!(
            sizes.iter().all(|size| *size <= 2),
            "each worker keeps to its share of the 4 connections: {sizes:?}"
        );
    } else {
        assert!(sizes.is_empty(), "SQLite shares one pool: {sizes:?}");
    }
    stop.stop(true).await;
    served
        .await
        .expect("the server task ends")
        .expect("the server stops cleanly");
    // The workers' threads end after the server stops; their pools go with them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !db.worker_pool_sizes().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        db.worker_pool_sizes().is_empty(),
        "a stopped worker lets its pool go: {:?}",
        db.worker_pool_sizes()
    );
}

/// Every SQLite connection, the readers' and the writer's, keeps one plan per statement
/// whatever values are bound (`db::sqlite_planner`): without it a page's `LIMIT ?` or a
/// dispute's id compiled the statement again on every request.
#[tokio::test]
async fn every_sqlite_connection_plans_a_statement_once() {
    let app = spawn_app().await;
    if app.db.backend() != sea_orm::DatabaseBackend::Sqlite {
        return;
    }
    // A page first, so the connection that served a request is among those checked, not
    // only connections the test opened itself.
    let token = crate::support::tokens::token("POLICE", "POLDA_METRO_JAYA");
    let answer = app
        .gql_as(
            Some(&token),
            "{ disputes(first: 5) { nodes { id } } }",
            serde_json::Value::Null,
        )
        .await;
    assert!(answer.body.get("errors").is_none(), "{}", answer.body);
    let readers = app.db.conn.get_sqlite_connection_pool();
    // Holding as many as the pool has makes it open every one of them.
    let mut held = Vec::new();
    for _ in 0..readers.options().get_max_connections() {
        held.push(readers.acquire().await.expect("a reader connection"));
    }
    for conn in &mut held {
        assert!(
            posko::db::sqlite_planner::is_stable(conn)
                .await
                .expect("the setting reads"),
            "a reader connection without the query planner stability guarantee"
        );
    }
    drop(held);
    let mut writer = app
        .db
        .writer()
        .get_sqlite_connection_pool()
        .acquire()
        .await
        .expect("the writer connection");
    assert!(
        posko::db::sqlite_planner::is_stable(&mut writer)
            .await
            .expect("the setting reads"),
        "the writer connection without the query planner stability guarantee"
    );
}

/// PostgreSQL connections keep one generic plan per prepared statement (`db::connect_options`)
/// unless the URL's own options name the plan cache mode.
#[tokio::test]
async fn postgresql_connections_plan_a_statement_once_unless_the_url_says_otherwise() {
    use sea_orm::ConnectionTrait as _;
    let test_db = TestDb::new().await;
    if !test_db.url().starts_with("postgres") {
        return;
    }
    async fn plan_cache_mode(url: &str) -> String {
        let db = posko::db::Database::connect(url, 1)
            .await
            .expect("the test database answers");
        let row = db
            .conn
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                "SHOW plan_cache_mode",
            ))
            .await
            .expect("SHOW answers")
            .expect("one row");
        row.try_get::<String>("", "plan_cache_mode")
            .expect("the setting")
    }
    assert_eq!(plan_cache_mode(test_db.url()).await, "force_generic_plan");
    let separator = if test_db.url().contains('?') {
        '&'
    } else {
        '?'
    };
    let operator_choice = format!(
        "{}{separator}options=-c%20plan_cache_mode%3Dauto",
        test_db.url()
    );
    assert_eq!(plan_cache_mode(&operator_choice).await, "auto");
}
