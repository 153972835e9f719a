//! What operators and proxies see of a request: its id and trace context kept and echoed,
//! the client named through trusted proxies only, and one log line that says who asked
//! what and how long it took.

use serde_json::{Value, json};

use crate::support::process::ServerProcess;
use crate::support::tokens::token;
use crate::support::{spawn_app, spawn_app_with};

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

async fn post(
    app: &crate::support::TestApp,
    headers: &[(&str, &str)],
    query: &str,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .json(&json!({ "query": query }));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_callers_request_id_and_trace_context_are_echoed_and_bad_ones_replaced() {
    let app = spawn_app().await;
    let answer = post(
        &app,
        &[
            ("x-request-id", "frontend-42.a"),
            ("traceparent", TRACEPARENT),
        ],
        "{ me { role } }",
    )
    .await;
    assert_eq!(answer.headers()["x-request-id"], "frontend-42.a");
    assert_eq!(answer.headers()["traceparent"], TRACEPARENT);

    // A forged log line, a too-long id and a malformed trace context are not repeated.
    for bad in ["x\"} {\"level\":\"ERROR\"", &"a".repeat(65)] {
        let answer = post(
            &app,
            &[("x-request-id", bad), ("traceparent", "00-zz-00-01")],
            "{ me { role } }",
        )
        .await;
        let id = answer.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_ne!(id, bad);
        assert_eq!(id.len(), 36, "a fresh UUID replaces {bad:.10}: {id}");
        assert!(answer.headers().get("traceparent").is_none());
    }

    // Without one sent, a fresh one is made and echoed.
    let answer = post(&app, &[], "{ me { role } }").await;
    assert_eq!(answer.headers()["x-request-id"].len(), 36);
}

async fn three_statuses(app: &crate::support::TestApp, forwarded: &str) -> Vec<u16> {
    let mut codes = Vec::new();
    for _ in 0..3 {
        let answer = post(app, &[("x-forwarded-for", forwarded)], "{ __typename }").await;
        codes.push(answer.status().as_u16());
    }
    codes
}

/// PUBLIC callers share a bucket per client address; behind a proxy that address must
/// come from the proxy's header, and only when the proxy is trusted.
#[tokio::test]
async fn forwarded_addresses_name_the_client_only_behind_trusted_proxies() {
    // Trusted: each citizen has its own two requests a minute.
    let trusted = spawn_app_with(&[
        "--public-rate-limit-per-minute",
        "2",
        "--trusted-proxies",
        "127.0.0.1/32,::1",
    ])
    .await;
    assert_eq!(
        three_statuses(&trusted, "198.51.100.1").await,
        [200, 200, 429]
    );
    assert_eq!(
        three_statuses(&trusted, "198.51.100.2").await,
        [200, 200, 429]
    );
    // A client cannot choose its bucket by prepending an address: the entry the proxy
    // appended (the right-most) is the one believed.
    assert_eq!(
        three_statuses(&trusted, "203.0.113.9, 198.51.100.1").await,
        [429, 429, 429]
    );

    // Untrusted (the default): the header is ignored and the peer is the client.
    let untrusted = spawn_app_with(&["--public-rate-limit-per-minute", "2"]).await;
    assert_eq!(
        three_statuses(&untrusted, "198.51.100.1").await,
        [200, 200, 429]
    );
    assert_eq!(
        three_statuses(&untrusted, "198.51.100.2").await,
        [429, 429, 429]
    );
}

#[test]
fn an_unparsable_trusted_proxy_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("p.db").display());
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_posko"))
        .arg("serve")
        .env("POSKO_DATABASE_URL", &url)
        .env("POSKO_LISTEN", "127.0.0.1:0")
        .env("POSKO_TRUSTED_PROXIES", "10.0.0.0/33")
        .env("POSKO_LOG", "error")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("POSKO_TRUSTED_PROXIES"), "{stderr}");
}

/// The development log, written to a pipe, has no colour codes, and each request's line
/// names its duration, operation, caller and ids.
#[tokio::test]
async fn the_request_line_says_who_asked_what_and_how_long_it_took() {
    let server = ServerProcess::start(&[("POSKO_LOG", "info,sqlx=off")], true);
    server.ready().await;
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/graphql", server.base_url))
        .bearer_auth(token("BAWASLU", "BAWASLU_DKI"))
        .header("x-request-id", "briefing-0700")
        .header("traceparent", TRACEPARENT)
        .json(&json!({ "query": "query MorningBriefing { me { role } }", "operationName": "MorningBriefing" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["data"]["me"]["role"], "BAWASLU");
    let logs = tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    assert!(
        !logs.contains('\u{1b}'),
        "no ANSI colour codes in a piped log: {logs:.500}"
    );
    let line = logs
        .lines()
        .find(|l| l.contains("request finished") && l.contains("briefing-0700"))
        .unwrap_or_else(|| panic!("no request line with the caller's id: {logs:.3000}"));
    for expected in [
        "request_id=briefing-0700",
        "trace_id=4bf92f3577b34da6a3ce929d0e0e4736",
        "operation=MorningBriefing",
        "operation_type=query",
        "role=BAWASLU",
        "agency=BAWASLU_DKI",
        "status=200",
        "duration_ms=",
        "client=127.0.0.1",
    ] {
        // Text fields are quoted in this format, displayed ones are not.
        assert!(
            line.replace('"', "").contains(expected),
            "{expected} missing from: {line}"
        );
    }
}

/// With `OTEL_EXPORTER_OTLP_ENDPOINT` set, request spans reach an OTLP/HTTP collector,
/// continuing the caller's trace and carrying the operation and caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_over_otlp_continuing_the_callers_trace() {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = received.clone();
    let collector = HttpServer::new(move || {
        let sink = sink.clone();
        App::new().route(
            "/v1/traces",
            web::post().to(move |body: web::Bytes| {
                let sink = sink.clone();
                async move {
                    sink.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&body).into_owned());
                    HttpResponse::Ok().json(json!({}))
                }
            }),
        )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let endpoint = format!("http://{}", collector.addrs()[0]);
    tokio::spawn(collector.run());

    let server = ServerProcess::start(
        &[
            ("POSKO_LOG", "info,sqlx=off"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
        ],
        false,
    );
    server.ready().await;
    let client = reqwest::Client::new();
    let base = server.base_url.clone();
    let answer: Value = client
        .post(format!("{base}/graphql"))
        .bearer_auth(token("KPU", "KPU_DKI"))
        .header("traceparent", TRACEPARENT)
        .json(&json!({ "query": "query Schedule { me { role } }", "operationName": "Schedule" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["data"]["me"]["role"], "KPU");
    // SIGTERM: the server drains and the exporter flushes what it holds.
    let _ = tokio::task::spawn_blocking(move || server.stop()).await;
    let exported = received.lock().unwrap().join("\n");
    assert!(!exported.is_empty(), "nothing reached the collector");
    for expected in [
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
        "\"request\"",
        "Schedule",
        "KPU_DKI",
        "\"posko\"",
    ] {
        assert!(
            exported.contains(expected),
            "{expected} not exported: {exported:.3000}"
        );
    }
}
