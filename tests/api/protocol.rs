//! GraphQL over HTTP, CSRF and CORS, limits, rate limits, persisted operations,
//! introspection, GraphiQL, metrics, request ids and logs.

use serde_json::{Value, json};

use crate::support::process::ServerProcess;
use crate::support::tokens::token;
use crate::support::{TestApp, spawn_app, spawn_app_with};

async fn post_raw(
    app: &TestApp,
    content_type: &str,
    accept: Option<&str>,
    body: String,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .header("content-type", content_type)
        .body(body);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    request.send().await.unwrap()
}

fn content_type(response: &reqwest::Response) -> String {
    response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned()
}

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

#[tokio::test]
async fn the_media_type_follows_accept_and_request_errors_are_4xx_under_graphql_response_json() {
    let app = spawn_app().await;
    let ok = json!({ "query": "{ provinces { code } }" }).to_string();
    let response = post_raw(&app, "application/json", Some(GRAPHQL_RESPONSE), ok.clone()).await;
    assert_eq!(
        (response.status().as_u16(), content_type(&response)),
        (200, GRAPHQL_RESPONSE.to_owned())
    );
    let response = post_raw(
        &app,
        "application/json",
        Some("application/json"),
        ok.clone(),
    )
    .await;
    assert_eq!(content_type(&response), "application/json");
    let response = post_raw(&app, "application/json", None, ok.clone()).await;
    assert_eq!(
        content_type(&response),
        "application/json",
        "no Accept: application/json"
    );
    let response = post_raw(&app, "application/json", Some("text/html"), ok.clone()).await;
    assert_eq!(response.status().as_u16(), 406);

    let invalid = json!({ "query": "{ provinces { nosuchfield } }" }).to_string();
    let strict = post_raw(
        &app,
        "application/json",
        Some(GRAPHQL_RESPONSE),
        invalid.clone(),
    )
    .await;
    assert_eq!(strict.status().as_u16(), 400);
    let body: Value = strict.json().await.unwrap();
    assert!(
        body.get("data").is_none(),
        "a request error carries no data key"
    );
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let legacy = post_raw(&app, "application/json", Some("application/json"), invalid).await;
    assert_eq!(
        legacy.status().as_u16(),
        200,
        "application/json keeps 200 for a well-formed request (spec)"
    );
    for (case, body) in [
        ("not JSON", "{ nope".to_owned()),
        ("no query", "{}".to_owned()),
        (
            "variables not an object",
            r#"{"query":"{ me { role } }","variables":"x"}"#.to_owned(),
        ),
    ] {
        for accept in [GRAPHQL_RESPONSE, "application/json"] {
            let response = post_raw(&app, "application/json", Some(accept), body.clone()).await;
            assert_eq!(response.status().as_u16(), 400, "{case} / {accept}");
        }
    }
}

#[tokio::test]
async fn posts_a_web_page_could_send_are_refused_and_large_bodies_are_413() {
    let app = spawn_app_with(&["--max-body-bytes", "2000"]).await;
    let body = json!({ "query": "{ provinces { code } }" }).to_string();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let response = post_raw(&app, content_type, None, body.clone()).await;
        assert_eq!(response.status().as_u16(), 415, "{content_type}");
    }
    let large = json!({ "query": format!("{{ provinces {{ code }} }} # {}", "x".repeat(3000)) })
        .to_string();
    assert_eq!(
        post_raw(&app, "application/json", None, large)
            .await
            .status()
            .as_u16(),
        413
    );
    let charset = post_raw(&app, "application/json; charset=utf-8", None, body).await;
    assert_eq!(charset.status().as_u16(), 200);
}

#[tokio::test]
async fn cors_allows_only_listed_origins() {
    let app = spawn_app_with(&["--cors-origins", "https://dashboard.posko.example"]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/graphql", app.base_url),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type, traceparent, x-request-id, apollographql-client-name",
            )
            .send()
    };
    let allowed = preflight("https://dashboard.posko.example").await.unwrap();
    // The headers tracing and Apollo's clients send are allowed by default.
    assert_eq!(allowed.status().as_u16(), 200, "{:?}", allowed.headers());
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://dashboard.posko.example"
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    // Without a list (the default), no CORS headers at all.
    let closed = spawn_app().await;
    let response = closed
        .client
        .post(format!("{}/graphql", closed.base_url))
        .header("origin", "https://dashboard.posko.example")
        .json(&json!({ "query": "{ me { role } }" }))
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn each_limit_answers_query_too_complex() {
    let app = spawn_app().await;
    let aliases: String = (0..31).map(|n| format!("a{n}: me {{ role }} ")).collect();
    let roots: String = (0..21).map(|_| "__typename ".to_owned()).collect();
    let directives: String = (0..21)
        .map(|_| "__typename @include(if: true) ".to_owned())
        .collect();
    let deep = "{ provinces { regencies { province { regencies { province { regencies { province { regencies { province { regencies { province { regencies { code } } } } } } } } } } } } }";
    let complex = "{ disputes(first: 100) { nodes { events(last: 1000) { seq kind note } } } }";
    let long = format!("{{ me {{ role }} }} #{}", "x".repeat(33 * 1024));
    for (case, query) in [
        ("aliases", format!("{{ {aliases} }}")),
        ("root fields", format!("{{ {roots} }}")),
        ("directives", format!("{{ me {{ {directives} }} }}")),
        ("depth", deep.to_owned()),
        ("complexity", complex.to_owned()),
        ("document length", long),
    ] {
        let answer = app
            .gql_as(Some(&token("ADMIN", "KESBANGPOL_DKI")), &query, json!({}))
            .await;
        assert_eq!(
            answer.error_codes(),
            ["QUERY_TOO_COMPLEX"],
            "{case}: {:#}",
            answer.body
        );
    }
}

#[tokio::test]
async fn batches_run_up_to_the_configured_size() {
    let app = spawn_app_with(&["--max-batch", "2"]).await;
    let two =
        json!([{ "query": "{ me { role } }" }, { "query": "{ provinces { code } }" }]).to_string();
    let response = post_raw(&app, "application/json", None, two).await;
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body.as_array().unwrap().len(), 2);
    assert_eq!(body[0]["data"]["me"]["role"], "PUBLIC");
    let three = json!([{ "query": "{ me { role } }" }, { "query": "{ me { role } }" }, { "query": "{ me { role } }" }]).to_string();
    let response = post_raw(&app, "application/json", None, three).await;
    assert_eq!(response.status().as_u16(), 400);
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after_per_agency_and_per_address() {
    let app = spawn_app_with(&[
        "--rate-limit-per-minute",
        "2",
        "--public-rate-limit-per-minute",
        "2",
    ])
    .await;
    let kpu = token("KPU", "KPU_DKI");
    for _ in 0..2 {
        app.gql_as(Some(&kpu), "{ me { role } }", json!({}))
            .await
            .expect_ok();
    }
    let limited = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(&kpu)
        .json(&json!({ "query": "{ me { role } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status().as_u16(), 429);
    assert!(
        limited.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    app.gql_as(
        Some(&token("BAWASLU", "BAWASLU_DKI")),
        "{ me { role } }",
        json!({}),
    )
    .await
    .expect_ok();
    for _ in 0..2 {
        app.gql("{ me { role } }").await.expect_ok();
    }
    assert_eq!(
        app.gql("{ me { role } }").await.status,
        429,
        "PUBLIC is limited per address"
    );
}

#[tokio::test]
async fn persisted_operations_register_by_hash_and_reviewed_roles_keep_to_the_list() {
    use sha2::Digest;
    let reviewed = "{ provinces { code } }";
    let hash = |d: &str| hex::encode(sha2::Sha256::digest(d.as_bytes()));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("operations.json");
    std::fs::write(&file, json!({ hash(reviewed): reviewed }).to_string()).unwrap();
    let app = spawn_app_with(&[
        "--persisted-operations",
        file.to_str().unwrap(),
        "--allowlist-roles",
        "KPU",
    ])
    .await;
    let send = |token: Option<String>, body: Value| {
        let app = &app;
        async move {
            let mut request = app
                .client
                .post(format!("{}/graphql", app.base_url))
                .json(&body);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request.send().await.unwrap().json::<Value>().await.unwrap()
        }
    };
    let other = "{ me { role } }";
    let apq = |query: Option<&str>, document: &str| {
        let mut body = json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash(document) } } });
        if let Some(query) = query {
            body["query"] = json!(query);
        }
        body
    };
    let unknown = send(None, apq(None, other)).await;
    assert_eq!(
        unknown["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );
    assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(
        send(None, apq(Some(other), other)).await["data"]["me"]["role"],
        "PUBLIC"
    );
    assert_eq!(
        send(None, apq(None, other)).await["data"]["me"]["role"],
        "PUBLIC",
        "registered by its hash"
    );
    let kpu = token("KPU", "KPU_DKI");
    let refused = send(Some(kpu.clone()), json!({ "query": other })).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let allowed = send(Some(kpu), apq(None, reviewed)).await;
    assert_eq!(allowed["data"]["provinces"].as_array().unwrap().len(), 38);
}

#[tokio::test]
async fn production_hides_graphiql_introspection_from_public_and_suggestions() {
    let app = spawn_app_with(&["--env", "production"]).await;
    let introspect = "{ __schema { queryType { name } } }";
    let public = app.gql(introspect).await;
    assert!(public.data("__schema").is_null(), "{:#}", public.body);
    let member = app
        .gql_as(Some(&token("KPU", "KPU_DKI")), introspect, json!({}))
        .await;
    member.expect_ok();
    let typo = app.gql("{ provincess { code } }").await;
    assert!(
        !typo.body.to_string().contains("Did you mean"),
        "{:#}",
        typo.body
    );
    for path in [
        "/graphiql",
        "/graphiql/assets/graphiql.js",
        "/graphiql/token?role=ADMIN&agency=KESBANGPOL_DKI",
    ] {
        assert_eq!(app.get(path).await.status().as_u16(), 404, "{path}");
    }
    let dev = spawn_app().await;
    dev.gql(introspect).await.expect_ok();
    assert!(
        dev.gql("{ provincess { code } }")
            .await
            .body
            .to_string()
            .contains("Did you mean")
    );
}

#[tokio::test]
async fn graphiql_serves_its_own_assets() {
    let app = spawn_app().await;
    let page = app.get("/graphiql").await.text().await.unwrap();
    assert!(
        page.contains("/graphiql/assets/graphiql.js"),
        "the page loads local assets"
    );
    assert!(!page.contains("https://"), "no CDN");
    for (asset, kind) in [
        ("react.js", "javascript"),
        ("react-dom.js", "javascript"),
        ("graphiql.js", "javascript"),
        ("graphiql.css", "css"),
    ] {
        let response = app.get(&format!("/graphiql/assets/{asset}")).await;
        assert_eq!(response.status().as_u16(), 200, "{asset}");
        assert!(content_type(&response).contains(kind), "{asset}");
    }
    // The token helper has its own tests (graphiql_tokens.rs).
}

#[tokio::test]
async fn metrics_count_requests_by_operation_and_outcome_and_errors_by_code() {
    let app = spawn_app().await;
    app.client
        .post(format!("{}/graphql", app.base_url))
        .json(&json!({ "query": "query ProvinceList { provinces { code } }", "operationName": "ProvinceList" }))
        .send()
        .await
        .unwrap();
    app.gql("{ disputes { totalCount } }").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains(r#"posko_graphql_requests_total{operation="ProvinceList",outcome="ok"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("posko_graphql_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains(r#"posko_graphql_errors_total{code="FORBIDDEN"} 1"#),
        "{text}"
    );
    assert!(text.contains("posko_db_pool_connections"), "{text}");
    // The process series dashboards expect, with real values.
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{name} missing: {text}"))
    };
    assert!(value("process_resident_memory_bytes") > 1_000_000.0);
    assert!(value("process_open_fds") >= 3.0);
    assert!(value("process_cpu_seconds_total") >= 0.0);
}

#[tokio::test]
async fn every_response_has_a_request_id_and_internal_errors_show_only_it() {
    let app = spawn_app().await;
    let first = app.get("/healthz").await.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let second = app.get("/healthz").await.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(first, second);
    // Sabotage: without the access log, a read of the reporter cannot be audited, so the
    // answer is withheld.
    let id = crate::support::fixtures::insert_dispute(&app.db.conn, Default::default()).await;
    use sea_orm::ConnectionTrait;
    app.db
        .conn
        .execute_unprepared("DROP TABLE access_log")
        .await
        .unwrap();
    let response = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(token("ADMIN", "KESBANGPOL_DKI"))
        .json(&json!({ "query": "query($id: ID!) { dispute(id: $id) { reporter { name } } }", "variables": { "id": crate::support::fixtures::gid(id) } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 500);
    let header_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "INTERNAL");
    assert_eq!(
        body["errors"][0]["extensions"]["requestId"],
        header_id.as_str()
    );
    let text = body.to_string();
    assert!(
        !text.contains("Siti") && !text.contains("access_log") && body.get("data").is_none(),
        "{text}"
    );
}

#[tokio::test]
async fn logs_never_hold_tokens_variables_reporters_or_intel() {
    let server = ServerProcess::start(
        &[
            ("POSKO_ENV", "production"),
            (
                "POSKO_LOG",
                "trace,sqlx=off,posko::sql=off,h2=off,hyper=off",
            ),
        ],
        true,
    );
    server.ready().await;
    let bearer = token("ADMIN", "KESBANGPOL_DKI");
    let client = reqwest::Client::new();
    let base = server.base_url.clone();
    let report = json!({ "query": "mutation($input: ReportDisputeInput!) { reportDispute(input: $input) { dispute { id reporter { name } } } }",
        "variables": { "input": { "regencyCode": "31.71", "occurredAt": "2024-11-20T10:00:00Z", "category": "CLASH", "severity": "LOW",
            "title": "SENTINEL-TITLE", "description": "SENTINEL-DESCRIPTION", "reporter": { "name": "SENTINEL-REPORTER", "kind": "VOTER" } } } });
    let answer: Value = client
        .post(format!("{base}/graphql"))
        .bearer_auth(&bearer)
        .json(&report)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        answer["data"]["reportDispute"]["dispute"]["reporter"]["name"],
        "SENTINEL-REPORTER"
    );
    let get = format!(
        "{base}/graphql?query=%7B%20me%20%7B%20role%20%7D%20%7D&variables=%7B%22x%22%3A%22SENTINEL-GET%22%7D"
    );
    client.get(get).bearer_auth(&bearer).send().await.unwrap();
    let logs = tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    assert!(
        logs.contains("request finished") && logs.contains("request_id"),
        "request lines carry the id: {logs:.2000}"
    );
    assert!(
        logs.lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('{')),
        "JSON lines in production"
    );
    for secret in [
        bearer.as_str(),
        "SENTINEL-REPORTER",
        "SENTINEL-TITLE",
        "SENTINEL-DESCRIPTION",
        "SENTINEL-GET",
    ] {
        assert!(!logs.contains(secret), "the log holds {secret:.20}");
    }
}
