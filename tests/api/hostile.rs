//! Hostile and faulty conditions: costly documents, strings the databases disagree on,
//! slow clients, batches, ambiguous credentials, outages, concurrent starts, shutdown.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::hostile::{costly_documents, process_cpu};
use crate::support::tokens::token;
use crate::support::{TestApp, spawn_app, spawn_app_with};

/// POSTs a document and returns the answer and the least process CPU time one answer took
/// over a few tries (other tests share the process: the least is the closest bound).
async fn cpu_of(app: &TestApp, body: &Value) -> (Value, Duration) {
    let client = reqwest::Client::builder()
        // The old code never answered a fragment bomb: fail instead of hanging.
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut least = Duration::MAX;
    let mut answer = Value::Null;
    for _ in 0..3 {
        let before = process_cpu();
        let response = client
            .post(format!("{}/graphql", app.base_url))
            .json(body)
            .send()
            .await
            .expect("the server answers in time");
        answer = response.json().await.unwrap();
        least = least.min(process_cpu() - before);
    }
    (answer, least)
}

#[tokio::test]
async fn costly_documents_are_refused_before_validation_for_little_cpu() {
    let app = spawn_app().await;
    let cases = costly_documents();
    assert!(
        cases[0].1["query"].as_str().unwrap().len() < 1000,
        "the issue's bomb is under 1 KB"
    );
    let mut worst = Duration::ZERO;
    for (case, body) in cases {
        let (answer, cpu) = cpu_of(&app, &body).await;
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
            "{case}: {answer:#}"
        );
        assert!(answer.get("data").is_none(), "{case}: {answer:#}");
        assert!(
            cpu < Duration::from_millis(200),
            "{case}: the refusal took {cpu:?} of CPU"
        );
        eprintln!("{case}: refused for {cpu:?} of CPU");
        worst = worst.max(cpu);
    }
    eprintln!("the costliest refusal took {worst:?} of CPU");
    // The server is still serving.
    app.gql("{ provinces { code } }").await.expect_ok();
}

#[tokio::test]
async fn spreads_of_unknown_or_cyclic_fragments_are_bad_input() {
    let app = spawn_app().await;
    for query in [
        "{ ...Missing }",
        "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
    ] {
        let answer = app.gql(query).await;
        assert_eq!(
            answer.error_codes(),
            ["BAD_USER_INPUT"],
            "{:#}",
            answer.body
        );
    }
}

const INTROSPECTION: &str = include_str!("../fixtures/graphql-js-16-introspection.graphql");

#[tokio::test]
async fn the_standard_introspection_query_passes_and_deep_of_type_nesting_does_not() {
    let app = spawn_app_with(&["--env", "production"]).await;
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    let answer = app.gql_as(Some(&admin), INTROSPECTION, json!({})).await;
    answer.expect_ok();
    assert!(
        answer.data("__schema.types").as_array().unwrap().len() > 50,
        "{:#}",
        answer.body
    );
    let deep = format!(
        "{{ __schema {{ types {{ {}name{} }} }} }}",
        "ofType { ".repeat(50),
        " }".repeat(50)
    );
    let refused = app.gql_as(Some(&admin), &deep, json!({})).await;
    assert_eq!(
        refused.error_codes(),
        ["QUERY_TOO_COMPLEX"],
        "{:#}",
        refused.body
    );
    // PUBLIC follows POSKO_INTROSPECTION: off in production.
    let public = app.gql(INTROSPECTION).await;
    assert!(public.data("__schema").is_null(), "{:#}", public.body);
    // …and on in development.
    spawn_app().await.gql(INTROSPECTION).await.expect_ok();
}

const REPORT: &str = "mutation($input: ReportDisputeInput!) {
  reportDispute(input: $input) { dispute { id } } }";

fn report_input(title: &str) -> Value {
    json!({
        "regencyCode": "31.71",
        "occurredAt": "2024-11-25T10:00:00+07:00",
        "category": "CLASH",
        "severity": "LOW",
        "title": title,
        "description": "Keributan di depan TPS.",
    })
}

#[tokio::test]
async fn a_nul_character_in_any_string_is_bad_input_naming_the_argument() {
    let app = spawn_app().await;
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    let by_variable = app
        .gql_as(
            Some(&admin),
            REPORT,
            json!({ "input": report_input("Ribut\u{0}di TPS") }),
        )
        .await;
    let literal = r#"mutation { reportDispute(input: { regencyCode: "31.71",
        occurredAt: "2024-11-25T10:00:00+07:00", category: CLASH, severity: LOW,
        title: "Ribut\u0000di TPS", description: "Keributan" }) { dispute { id } } }"#;
    let by_literal = app.gql_as(Some(&admin), literal, json!({})).await;
    let public = app
        .gql(r#"{ regency(code: "31.71\u0000") { name } }"#)
        .await;
    let public_variable = app
        .gql_as(
            None,
            "query($c: String!) { regency(code: $c) { name } }",
            json!({ "c": "31\u{0}71" }),
        )
        .await;
    for (case, answer, field) in [
        ("variable", by_variable, "input.title"),
        ("literal", by_literal, "input.title"),
        ("public literal", public, "code"),
        ("public variable", public_variable, "code"),
    ] {
        assert_eq!(
            answer.error_codes(),
            ["BAD_USER_INPUT"],
            "{case}: {:#}",
            answer.body
        );
        assert_eq!(
            answer.body["errors"][0]["extensions"]["field"], field,
            "{case}: {:#}",
            answer.body
        );
    }
    let count = app
        .gql_as(Some(&admin), "{ disputes { totalCount } }", json!({}))
        .await;
    assert_eq!(count.data("disputes.totalCount"), 0, "nothing was stored");
}

#[tokio::test]
async fn a_timeout_has_its_own_code_and_a_mutation_is_told_its_outcome_is_unknown() {
    let app = spawn_app_with(&["--execution-timeout-ms", "1"]).await;
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    // Reference data alone is served from memory, faster than the limit; a page of
    // disputes with their timelines (a DataLoader, which waits 1 ms to batch) is not.
    for _ in 0..100 {
        crate::support::fixtures::insert_dispute(
            &app.db.conn,
            crate::support::fixtures::NewDispute::default(),
        )
        .await;
    }
    let query = app
        .gql_as(
            Some(&admin),
            "{ disputes(first: 100) { totalCount nodes { id title regency { name } events { seq } } } }",
            json!({}),
        )
        .await;
    assert_eq!(query.error_codes(), ["TIMEOUT"], "{:#}", query.body);
    // The timeline comes through a DataLoader, which waits 1 ms to batch keys: the answer
    // cannot be ready within the 1 ms limit however fast the write is.
    let mutation = app
        .gql_as(
            Some(&admin),
            "mutation($input: ReportDisputeInput!) { reportDispute(input: $input) { dispute { id events { seq } } } }",
            json!({ "input": report_input("Lambat") }),
        )
        .await;
    assert_eq!(mutation.error_codes(), ["TIMEOUT"], "{:#}", mutation.body);
    let message = mutation.body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("unknown") && message.contains("idempotencyKey"),
        "{message}"
    );
}

#[tokio::test]
async fn each_operation_of_a_batch_sees_the_writes_of_those_before_it() {
    let app = spawn_app().await;
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    let stats = json!({ "query": "{ disputeStats { total } disputes { totalCount } }" });
    let batch = json!([
        stats,
        { "query": REPORT, "variables": { "input": report_input("Dalam batch") } },
        stats,
    ]);
    let answer: Value = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(&admin)
        .json(&batch)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(answer[1].get("errors").is_none(), "{answer:#}");
    let before = answer[0]["data"]["disputeStats"]["total"].as_i64().unwrap();
    assert_eq!(
        answer[2]["data"]["disputeStats"]["total"],
        before + 1,
        "{answer:#}"
    );
    assert_eq!(
        answer[2]["data"]["disputes"]["totalCount"],
        before + 1,
        "{answer:#}"
    );
}

#[tokio::test]
async fn two_authorization_headers_are_refused() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .header(
            "authorization",
            format!("Bearer {}", token("ADMIN", "KESBANGPOL_DKI")),
        )
        .header(
            "authorization",
            format!("Bearer {}", token("KPU", "KPU_DKI")),
        )
        .json(&json!({ "query": "{ me { role } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(body.get("data").is_none());
}

#[tokio::test]
async fn the_schema_file_follows_the_introspection_rule_of_the_callers_role() {
    let app = spawn_app_with(&["--env", "production"]).await;
    let sdl = |authorization: Option<String>| {
        let mut request = app.client.get(format!("{}/schema.graphql", app.base_url));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        request.send()
    };
    let public = sdl(None).await.unwrap();
    assert_eq!(public.status().as_u16(), 403);
    let body: Value = public.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let member = sdl(Some(format!("Bearer {}", token("KPU", "KPU_DKI"))))
        .await
        .unwrap();
    assert_eq!(member.status().as_u16(), 200);
    assert!(member.text().await.unwrap().contains("type Query"));
    let forged = sdl(Some("Bearer not-a-token".into())).await.unwrap();
    assert_eq!(forged.status().as_u16(), 401);
    let dev = spawn_app().await;
    assert_eq!(dev.get("/schema.graphql").await.status().as_u16(), 200);
}

#[tokio::test]
async fn a_body_that_trickles_in_is_answered_408_and_the_connection_closed() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = spawn_app_with(&["--body-timeout-ms", "300"]).await;
    let address = app.base_url.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let body = json!({ "query": "{ provinces { code } }" }).to_string();
    socket
        .write_all(
            format!(
                "POST /graphql HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let started = Instant::now();
    let (mut reader, mut writer) = socket.into_split();
    // Read while the body trickles in: the answer comes before the body is complete.
    tokio::spawn(async move {
        for byte in body.into_bytes() {
            if writer.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(3), reader.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(read.is_ok(), "the server closes the connection");
    assert!(started.elapsed() < Duration::from_secs(4));
}

/// A TCP proxy in front of the test database that can be cut: then it drops every
/// connection and accepts new ones without ever answering, as an unreachable host would.
struct Proxy {
    address: std::net::SocketAddr,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Proxy {
    async fn start(target: std::net::SocketAddr) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = cut.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let flag = flag.clone();
                tokio::spawn(async move {
                    if flag.load(Ordering::SeqCst) {
                        // Hold the socket open and silent.
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        drop(inbound);
                        return;
                    }
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    let copy = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                    let watch = async {
                        while !flag.load(Ordering::SeqCst) {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    };
                    tokio::select! {
                        _ = copy => {}
                        _ = watch => {}
                    }
                });
            }
        });
        Self { address, cut }
    }

    fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

fn postgres_admin_url() -> Option<String> {
    std::env::var("POSKO_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

#[tokio::test]
async fn while_the_database_is_unreachable_answers_are_quick_and_say_so() {
    let Some(_) = postgres_admin_url() else {
        eprintln!("skipped: needs POSKO_TEST_DATABASE_URL (a PostgreSQL server to cut off)");
        return;
    };
    let test_db = crate::support::TestDb::new().await;
    let url = test_db.url().to_owned();
    let (prefix, rest) = url.split_once("://").unwrap();
    let (userinfo, rest) = rest.rsplit_once('@').unwrap();
    let (host, database) = rest.split_once('/').unwrap();
    let target: std::net::SocketAddr = tokio::net::lookup_host(host).await.unwrap().next().unwrap();
    let proxy = Proxy::start(target).await;
    let proxied = format!("{prefix}://{userinfo}@{}/{database}", proxy.address);
    let cli = crate::support::test_cli_with(&proxied, &["--db-acquire-timeout-ms", "1000"]);
    let app = posko::http::server::Application::build(&cli.config)
        .await
        .unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    let ask = |bearer: Option<String>| {
        let mut request = client
            .post(format!("{base}/graphql"))
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": "{ disputeStats { total } }" }));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        request.send()
    };
    assert_eq!(ask(None).await.unwrap().status().as_u16(), 200);
    assert_eq!(
        client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(100)).await;
    for attempt in 0..3 {
        let started = Instant::now();
        let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
        assert_eq!(ready.status().as_u16(), 503, "attempt {attempt}");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        for bearer in [None, Some(admin.clone())] {
            let started = Instant::now();
            let response = ask(bearer.clone()).await.unwrap();
            let elapsed = started.elapsed();
            let status = response.status().as_u16();
            let retry_after = response.headers().get("retry-after").cloned();
            let content_type = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned();
            let body: Value = response.json().await.unwrap();
            let codes: Vec<&str> = body["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap())
                .collect();
            assert!(
                codes.iter().all(|c| *c == "SERVICE_UNAVAILABLE"),
                "attempt {attempt}, token {}: {body:#}",
                bearer.is_some()
            );
            assert_eq!(status, 503, "{body:#}");
            assert!(retry_after.is_some());
            assert_eq!(content_type, "application/graphql-response+json");
            assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
        }
    }
}

#[tokio::test]
async fn instances_started_together_on_an_empty_postgresql_database_all_start() {
    if postgres_admin_url().is_none() {
        eprintln!("skipped: needs POSKO_TEST_DATABASE_URL (SQLite serialises writers itself)");
        return;
    }
    for round in 0..5 {
        let test_db = crate::support::TestDb::new().await;
        let cli = crate::support::test_cli(test_db.url());
        let builds = (0..3).map(|_| posko::http::server::Application::build(&cli.config));
        for (n, built) in futures_util::future::join_all(builds)
            .await
            .into_iter()
            .enumerate()
        {
            assert!(
                built.is_ok(),
                "round {round}, instance {n}: {:#}",
                built.err().unwrap()
            );
        }
    }
}

#[test]
fn sigterm_ends_the_process_within_the_grace_period_with_a_request_in_flight() {
    use std::io::Write as _;
    let mut server = crate::support::process::ServerProcess::start(
        &[
            ("POSKO_SHUTDOWN_GRACE_SECS", "1"),
            ("POSKO_BODY_TIMEOUT_MS", "60000"),
        ],
        false,
    );
    let (port, child) = (server.port, &mut server.child);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut socket = loop {
        if let Ok(socket) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            break socket;
        }
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(100));
    };
    // A request whose body never completes stays in flight until the grace ends.
    socket
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = child.id().to_string();
    let signalled = Instant::now();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if signalled.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            panic!("still running 5 s after SIGTERM with a 1 s grace period");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("exited {:?} after SIGTERM", signalled.elapsed());
}
