//! Subscriptions over `graphql-transport-ws`: the protocol and its close codes, the same
//! policy as queries for every pushed event, tokens on open sockets, and delivery across
//! instances (PostgreSQL).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::tokens::{claims, hs256, now, token};
use crate::support::{TEST_SECRET, TestApp, spawn_app, spawn_app_with, spawn_instance_beside};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn open_with(app: &TestApp, protocol: Option<&str>, authorization: Option<&str>) -> Socket {
    let url = app.base_url.replacen("http://", "ws://", 1) + "/graphql";
    let mut request = url.into_client_request().unwrap();
    if let Some(protocol) = protocol {
        request
            .headers_mut()
            .insert("sec-websocket-protocol", protocol.parse().unwrap());
    }
    if let Some(authorization) = authorization {
        request
            .headers_mut()
            .insert("authorization", authorization.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn open(app: &TestApp) -> Socket {
    open_with(app, Some("graphql-transport-ws"), None).await
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next protocol message, or `None` when the server closed (with its code).
async fn next(socket: &mut Socket) -> Result<Value, Option<u16>> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("the server answers within 10 s");
        match frame {
            Some(Ok(Message::Text(text))) => return Ok(serde_json::from_str(&text).unwrap()),
            Some(Ok(Message::Close(frame))) => {
                return Err(frame.map(|f| u16::from(f.code)));
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return Err(None),
        }
    }
}

async fn closed_with(socket: &mut Socket) -> u16 {
    loop {
        match next(socket).await {
            Ok(_) => {}
            Err(code) => return code.expect("a close code"),
        }
    }
}

async fn init(socket: &mut Socket, token: Option<&str>) {
    let payload = token.map_or(
        json!({}),
        |t| json!({ "Authorization": format!("Bearer {t}") }),
    );
    send(
        socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    assert_eq!(next(socket).await.unwrap()["type"], "connection_ack");
}

async fn subscribe(socket: &mut Socket, id: &str, query: &str) {
    send(
        socket,
        json!({ "id": id, "type": "subscribe", "payload": { "query": query } }),
    )
    .await;
}

/// Nothing arrives on the socket for a while.
async fn quiet(socket: &mut Socket, wait: Duration) {
    if let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout(wait, socket.next()).await {
        panic!("unexpected message {text}");
    }
}

/// Police add an intelligence note to a dispute at `version`.
async fn add_intel_note(app: &TestApp, id: &str, version: i64, note: &str) {
    app.gql_as(
        Some(&token("POLICE", "POLDA_METRO_JAYA")),
        "mutation($input: AddIntelNoteInput!) { addIntelNote(input: $input) { dispute { version } } }",
        json!({ "input": { "id": id, "expectedVersion": version, "note": note } }),
    )
    .await
    .expect_ok();
}

/// The access log's rows of one dispute, as ADMIN reads them (`fields` of each).
async fn access_log_of(app: &TestApp, id: &str, fields: &str) -> Vec<Value> {
    app.gql_as(
        Some(&token("ADMIN", "KESBANGPOL_DKI")),
        &format!("query($id: ID) {{ accessLog(filter: {{ disputeId: $id }}) {{ nodes {{ {fields} }} }} }}"),
        json!({ "id": id }),
    )
    .await
    .data("accessLog.nodes")
    .as_array()
    .unwrap()
    .clone()
}

const REPORT: &str = "mutation($input: ReportDisputeInput!) { reportDispute(input: $input) { dispute { id version } } }";

async fn report(app: &TestApp, title: &str, restricted: bool) -> String {
    let answer = app
        .gql_as(
            Some(&token("ADMIN", "KESBANGPOL_DKI")),
            REPORT,
            json!({ "input": {
                "regencyCode": "31.71", "occurredAt": "2024-11-25T10:00:00+07:00",
                "category": "INTIMIDATION", "severity": "HIGH", "title": title,
                "description": "Intimidasi terhadap saksi.", "restricted": restricted,
                "reporter": { "name": "Siti Saksi", "kind": "VOTER" } } }),
        )
        .await;
    answer.expect_ok();
    answer
        .data("reportDispute.dispute.id")
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_protocol_acknowledges_pongs_and_runs_queries_too() {
    let app = spawn_app().await;
    let mut socket = open(&app).await;
    init(&mut socket, None).await;
    send(&mut socket, json!({ "type": "ping" })).await;
    assert_eq!(next(&mut socket).await.unwrap()["type"], "pong");
    subscribe(&mut socket, "q1", "{ provinces { code } }").await;
    let answer = next(&mut socket).await.unwrap();
    assert_eq!(answer["type"], "next");
    assert_eq!(answer["id"], "q1");
    assert_eq!(
        answer["payload"]["data"]["provinces"]
            .as_array()
            .unwrap()
            .len(),
        38
    );
    assert_eq!(
        next(&mut socket).await.unwrap(),
        json!({ "id": "q1", "type": "complete" })
    );
    // The HTTP limits hold on the socket too: a refused document is an `error` message.
    subscribe(&mut socket, "q2", "{ provinces { nosuchfield } }").await;
    let refused = next(&mut socket).await.unwrap();
    assert_eq!(refused["type"], "error");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    let bomb = (1..=16)
        .map(|i| {
            format!(
                "fragment F{i} on Query {{ ...F{p} ...F{p} ...F{p} ...F{p} }} ",
                p = i - 1
            )
        })
        .collect::<String>();
    subscribe(
        &mut socket,
        "q3",
        &format!("query {{ ...F16 }} fragment F0 on Query {{ __typename }} {bomb}"),
    )
    .await;
    let refused = next(&mut socket).await.unwrap();
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "QUERY_TOO_COMPLEX"
    );
}

#[tokio::test]
async fn every_close_code_of_the_protocol() {
    let app = spawn_app_with(&["--ws-init-timeout-ms", "300", "--ws-queue", "1"]).await;
    // 4400: not a protocol message.
    let mut socket = open(&app).await;
    socket.send(Message::Text("not json".into())).await.unwrap();
    assert_eq!(closed_with(&mut socket).await, 4400);
    // 4401: subscribe before the acknowledgement.
    let mut socket = open(&app).await;
    subscribe(&mut socket, "a", "{ me { role } }").await;
    assert_eq!(closed_with(&mut socket).await, 4401);
    // 4403: a refused token, in the payload or in the upgrade's header; never PUBLIC.
    let mut socket = open(&app).await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "authorization": "Bearer not-a-token" } }),
    )
    .await;
    assert_eq!(closed_with(&mut socket).await, 4403);
    let mut socket = open_with(
        &app,
        Some("graphql-transport-ws"),
        Some("Bearer forged.token.here"),
    )
    .await;
    send(&mut socket, json!({ "type": "connection_init" })).await;
    assert_eq!(closed_with(&mut socket).await, 4403);
    // 4406: the sub-protocol was not offered.
    let mut socket = open_with(&app, None, None).await;
    assert_eq!(closed_with(&mut socket).await, 4406);
    // 4408: no connection_init in time.
    let mut socket = open(&app).await;
    assert_eq!(closed_with(&mut socket).await, 4408);
    // 4409: an id already in use.
    let mut socket = open(&app).await;
    init(&mut socket, None).await;
    subscribe(
        &mut socket,
        "s",
        "subscription { disputeStatsUpdated { total } }",
    )
    .await;
    assert_eq!(next(&mut socket).await.unwrap()["type"], "next");
    subscribe(
        &mut socket,
        "s",
        "subscription { disputeStatsUpdated { total } }",
    )
    .await;
    assert_eq!(closed_with(&mut socket).await, 4409);
    // 4429: a second connection_init.
    let mut socket = open(&app).await;
    init(&mut socket, None).await;
    send(&mut socket, json!({ "type": "connection_init" })).await;
    assert_eq!(closed_with(&mut socket).await, 4429);
    // 4500: a consumer behind its queue (one message here) is closed, not buffered.
    let mut socket = open(&app).await;
    init(&mut socket, None).await;
    subscribe(&mut socket, "q", "{ provinces { code } }").await;
    let mut code = None;
    for _ in 0..3 {
        match next(&mut socket).await {
            Ok(_) => {}
            Err(closed) => {
                code = closed;
                break;
            }
        }
    }
    assert_eq!(code, Some(4500));
    // The upgrade's Authorization header is used when the payload has none.
    let admin = format!("Bearer {}", token("ADMIN", "KESBANGPOL_DKI"));
    let app = spawn_app().await;
    let mut socket = open_with(&app, Some("graphql-transport-ws"), Some(&admin)).await;
    init(&mut socket, None).await;
    subscribe(&mut socket, "me", "{ me { role } }").await;
    assert_eq!(
        next(&mut socket).await.unwrap()["payload"]["data"]["me"]["role"],
        "ADMIN"
    );
}

const UPDATES: &str = "subscription { disputeUpdated { dispute { id title version reporter { name } } event { seq kind note } } }";

#[tokio::test]
async fn each_event_reaches_only_those_the_policy_allows() {
    let app = spawn_app().await;
    let mut police = open(&app).await;
    init(&mut police, Some(&token("POLICE", "POLDA_METRO_JAYA"))).await;
    subscribe(&mut police, "u", UPDATES).await;
    let mut member = open(&app).await;
    init(&mut member, Some(&token("MEMBER", "KODAM_JAYA"))).await;
    subscribe(&mut member, "u", UPDATES).await;
    let mut bogor = open(&app).await;
    init(&mut bogor, Some(&token("KPU", "KPU_RI"))).await;
    subscribe(
        &mut bogor,
        "u",
        "subscription { disputeUpdated(filter: { regencyCodes: [\"32.71\"] }) { dispute { id } } }",
    )
    .await;
    // PUBLIC may not follow single disputes.
    let mut public = open(&app).await;
    init(&mut public, None).await;
    subscribe(&mut public, "u", UPDATES).await;
    let refused = next(&mut public).await.unwrap();
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A restricted report reaches neither; an open one reaches both, the reporter only
    // as null + FORBIDDEN (not yet escalated to the police; MEMBER never).
    let secret = report(&app, "Ancaman terhadap saksi", true).await;
    let open_one = report(&app, "Intimidasi di TPS", false).await;
    for socket in [&mut police, &mut member] {
        let pushed = next(socket).await.unwrap();
        assert_eq!(pushed["type"], "next");
        let payload = &pushed["payload"];
        assert_eq!(
            payload["data"]["disputeUpdated"]["dispute"]["id"],
            open_one.as_str(),
            "{pushed}"
        );
        assert_eq!(
            payload["data"]["disputeUpdated"]["event"]["kind"],
            "REPORTED"
        );
        assert!(payload["data"]["disputeUpdated"]["dispute"]["reporter"].is_null());
        assert_eq!(payload["errors"][0]["extensions"]["code"], "FORBIDDEN");
        assert!(!pushed.to_string().contains("Siti Saksi"));
    }
    // The filter holds: nothing in Bogor happened.
    quiet(&mut bogor, Duration::from_millis(300)).await;

    // Escalating the restricted dispute to the police opens it (and its reporter) to them.
    let escalate = "mutation($input: EscalateDisputeInput!) { escalateDispute(input: $input) { dispute { version } } }";
    app.gql_as(
        Some(&token("ADMIN", "KESBANGPOL_DKI")),
        escalate,
        json!({ "input": { "id": secret, "expectedVersion": 1, "to": "POLICE", "reason": "ancaman pidana" } }),
    )
    .await
    .expect_ok();
    let pushed = next(&mut police).await.unwrap();
    let update = &pushed["payload"]["data"]["disputeUpdated"];
    assert_eq!(update["dispute"]["id"], secret.as_str());
    assert_eq!(update["dispute"]["version"], 2);
    assert_eq!(update["event"]["kind"], "ESCALATED");
    assert_eq!(update["dispute"]["reporter"]["name"], "Siti Saksi");
    quiet(&mut member, Duration::from_millis(300)).await;

    // An intelligence note reaches the police with its text, and the read is logged.
    add_intel_note(&app, &open_one, 1, "provokator dikenal").await;
    let pushed = next(&mut police).await.unwrap();
    assert_eq!(
        pushed["payload"]["data"]["disputeUpdated"]["event"]["note"],
        "provokator dikenal"
    );
    // MEMBER learns the dispute changed, not what the event was.
    let pushed = next(&mut member).await.unwrap();
    assert_eq!(
        pushed["payload"]["data"]["disputeUpdated"]["dispute"]["version"],
        2
    );
    assert!(
        pushed["payload"]["data"]["disputeUpdated"]["event"].is_null(),
        "{pushed}"
    );
    let nodes = access_log_of(&app, &open_one, "field agencyCode").await;
    assert!(
        nodes
            .iter()
            .any(|n| n["field"] == "intelNotes" && n["agencyCode"] == "POLDA_METRO_JAYA"),
        "{nodes:?}"
    );
}

#[tokio::test]
async fn an_expired_token_closes_the_socket_and_a_fresh_one_keeps_it() {
    let app = spawn_app().await;
    let short = |seconds: i64| {
        let mut c = claims("KPU", "KPU_DKI");
        c["exp"] = json!(now() + seconds);
        hs256(&c, TEST_SECRET.as_bytes())
    };
    let mut socket = open(&app).await;
    init(&mut socket, Some(&short(2))).await;
    let started = std::time::Instant::now();
    assert_eq!(closed_with(&mut socket).await, 4403);
    assert!(started.elapsed() < Duration::from_secs(5));
    // A fresh token sent with a ping extends the socket.
    let mut socket = open(&app).await;
    init(&mut socket, Some(&short(2))).await;
    send(&mut socket, json!({ "type": "ping", "payload": { "Authorization": format!("Bearer {}", short(3600)) } })).await;
    assert_eq!(next(&mut socket).await.unwrap()["type"], "pong");
    quiet(&mut socket, Duration::from_secs(3)).await;
    // A token already expired is refused at init.
    let mut socket = open(&app).await;
    send(&mut socket, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", short(-120)) } })).await;
    assert_eq!(closed_with(&mut socket).await, 4403);
}

#[tokio::test]
async fn public_statistics_are_pushed_when_they_change_and_stay_k_anonymous() {
    let app = spawn_app().await;
    let mut socket = open(&app).await;
    init(&mut socket, None).await;
    subscribe(&mut socket, "s", "subscription { disputeStatsUpdated(filter: { provinceCodes: [\"31\"] }) { total byStatus { key count } } }").await;
    let first = next(&mut socket).await.unwrap();
    assert_eq!(first["payload"]["data"]["disputeStatsUpdated"]["total"], 0);
    // Four reports stay below k = 5: nothing new to publish.
    for n in 0..4 {
        report(&app, &format!("Laporan {n}"), false).await;
    }
    quiet(&mut socket, Duration::from_millis(1_500)).await;
    report(&app, "Laporan 4", false).await;
    let pushed = next(&mut socket).await.unwrap();
    assert_eq!(
        pushed["payload"]["data"]["disputeStatsUpdated"]["total"], 5,
        "{pushed}"
    );
}

#[tokio::test]
async fn a_report_on_one_instance_reaches_a_subscriber_on_another() {
    let app = spawn_app().await;
    if app.db.conn.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        eprintln!("skipped: instances share changes through PostgreSQL (SQLite is one process)");
        return;
    }
    let other = spawn_instance_beside(&app, &[]).await;
    let mut socket = open(&other).await;
    init(&mut socket, Some(&token("POLICE", "POLDA_METRO_JAYA"))).await;
    subscribe(&mut socket, "u", UPDATES).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let id = report(&app, "Laporan dari instans A", false).await;
    let pushed = next(&mut socket).await.unwrap();
    assert_eq!(
        pushed["payload"]["data"]["disputeUpdated"]["dispute"]["id"],
        id.as_str()
    );
    // A rolled-back write is never announced: a conflicting transition sends nothing.
    let stale = app
        .gql_as(
            Some(&token("ADMIN", "KESBANGPOL_DKI")),
            "mutation($input: TransitionInput!) { verifyDispute(input: $input) { dispute { version } } }",
            json!({ "input": { "id": id, "expectedVersion": 7 } }),
        )
        .await;
    assert_eq!(stale.error_codes(), ["CONFLICT"]);
    quiet(&mut socket, Duration::from_millis(500)).await;
}

#[tokio::test]
async fn a_narrowed_jurisdiction_applies_to_open_subscriptions() {
    // Jurisdictions are re-read at most every second here (30 s by default).
    let app = spawn_app_with(&["--jurisdiction-cache-secs", "1"]).await;
    let mut kodam = open(&app).await;
    init(&mut kodam, Some(&token("MEMBER", "KODAM_JAYA"))).await;
    subscribe(&mut kodam, "u", UPDATES).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let first = report(&app, "Sebelum", false).await;
    assert_eq!(
        next(&mut kodam).await.unwrap()["payload"]["data"]["disputeUpdated"]["dispute"]["id"],
        first.as_str()
    );
    // Kesbangpol DKI narrows Kodam Jaya inside DKI to Jakarta Timur; reports in Jakarta
    // Pusat no longer reach it.
    app.gql_as(
        Some(&token("ADMIN", "KESBANGPOL_DKI")),
        "mutation($input: SetJurisdictionInput!) { setAgencyJurisdiction(input: $input) { code } }",
        json!({ "input": { "agencyCode": "KODAM_JAYA", "regions": [{ "code": "31.75", "coverage": "FULL" }] } }),
    )
    .await
    .expect_ok();
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    report(&app, "Sesudah", false).await;
    quiet(&mut kodam, Duration::from_millis(800)).await;
}

#[tokio::test]
async fn a_lost_notification_connection_tells_subscribers_to_refetch() {
    let app = spawn_app().await;
    use sea_orm::ConnectionTrait as _;
    if app.db.conn.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        eprintln!("skipped: only PostgreSQL delivers changes over a connection of its own");
        return;
    }
    let mut socket = open(&app).await;
    init(&mut socket, Some(&token("POLICE", "POLDA_METRO_JAYA"))).await;
    subscribe(&mut socket, "u", UPDATES).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Cut this database's LISTEN connection, as a restart or a network fault would.
    app.db
        .conn
        .execute_unprepared(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
        )
        .await
        .unwrap();
    // The next change arrives on a new connection; what happened in between is unknown,
    // so the subscriber is told to refetch.
    let mut reset = None;
    for _ in 0..5 {
        report(&app, "Setelah putus", false).await;
        match next(&mut socket).await {
            Ok(message)
                if message["type"] == "next"
                    && message["payload"]["errors"][0]["extensions"]["code"] == "RESET" =>
            {
                reset = Some(message);
                break;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            Err(code) => panic!("closed with {code:?}"),
        }
    }
    assert!(
        reset.is_some(),
        "no RESET after the listener lost its connection"
    );
    assert_eq!(next(&mut socket).await.unwrap()["type"], "complete");
}

/// Reads server-sent events until `complete`, or until `want` of them arrived.
async fn events(response: &mut reqwest::Response, want: usize) -> Vec<(String, Value)> {
    let mut text = String::new();
    let mut found = Vec::new();
    while found.len() < want {
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("an event within 10 s")
            .unwrap();
        let Some(chunk) = chunk else { break };
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let kind = block
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap_or_default()
                .to_owned();
            let data = block
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap_or_default();
            let value = serde_json::from_str(data).unwrap_or(Value::Null);
            let complete = kind == "complete";
            found.push((kind, value));
            if complete {
                return found;
            }
        }
    }
    found
}

#[tokio::test]
async fn server_sent_events_carry_queries_and_subscriptions_under_the_same_policy() {
    let app = spawn_app().await;
    let post = |bearer: String, query: &str| {
        app.client
            .post(format!("{}/graphql", app.base_url))
            .header("accept", "text/event-stream")
            .bearer_auth(bearer)
            .json(&json!({ "query": query }))
            .send()
    };
    let mut answer = post(token("KPU", "KPU_DKI"), "{ me { role } }")
        .await
        .unwrap();
    assert_eq!(answer.headers()["content-type"], "text/event-stream");
    let got = events(&mut answer, 2).await;
    assert_eq!(got[0].0, "next");
    assert_eq!(got[0].1["data"]["me"]["role"], "KPU");
    assert_eq!(got[1].0, "complete");

    let mut stream = post(token("MEMBER", "KODAM_JAYA"), UPDATES).await.unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let id = report(&app, "Lewat SSE", false).await;
    let got = events(&mut stream, 1).await;
    assert_eq!(got[0].0, "next");
    let update = &got[0].1["data"]["disputeUpdated"];
    assert_eq!(update["dispute"]["id"], id.as_str());
    assert!(update["dispute"].as_object().unwrap()["reporter"].is_null());
    assert_eq!(got[0].1["errors"][0]["extensions"]["code"], "FORBIDDEN");
    // A refused document is an ordinary 400, not a stream.
    let refused = post(token("KPU", "KPU_DKI"), "{ nosuchfield }")
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 400);
}

#[tokio::test]
async fn operations_on_a_socket_count_against_the_same_rate_limits() {
    let app = spawn_app_with(&["--public-rate-limit-per-minute", "2"]).await;
    let mut socket = open(&app).await;
    init(&mut socket, None).await;
    let mut codes = Vec::new();
    for n in 0..4 {
        subscribe(&mut socket, &format!("q{n}"), "{ provinces { code } }").await;
        let answer = next(&mut socket).await.unwrap();
        if answer["type"] == "error" {
            codes.push(
                answer["payload"][0]["extensions"]["code"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        } else {
            assert_eq!(next(&mut socket).await.unwrap()["type"], "complete");
        }
    }
    assert!(codes.iter().any(|c| c == "RATE_LIMITED"), "{codes:?}");
}

#[tokio::test]
async fn event_streams_count_against_the_same_limits_as_sockets() {
    let app = spawn_app_with(&["--ws-max-connections-per-ip", "1"]).await;
    let stream = |bearer: String| {
        app.client
            .post(format!("{}/graphql", app.base_url))
            .header("accept", "text/event-stream")
            .bearer_auth(bearer)
            .json(&json!({ "query": UPDATES }))
            .send()
    };
    let first = stream(token("KPU", "KPU_DKI")).await.unwrap();
    assert_eq!(first.status().as_u16(), 200);
    let second = stream(token("POLICE", "POLDA_METRO_JAYA")).await.unwrap();
    assert_eq!(second.status().as_u16(), 429);
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    // Closing the first frees its place (the server learns it at its next write: an event
    // here, or its 15 s heartbeat).
    drop(first);
    let mut freed = false;
    for n in 0..10 {
        report(&app, &format!("Membebaskan tempat {n}"), false).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let probe = stream(token("BAWASLU", "BAWASLU_DKI")).await.unwrap();
        if probe.status().as_u16() == 200 {
            freed = true;
            break;
        }
    }
    assert!(freed, "a closed stream's place was never freed");
}

/// `posko_subscription_executions` from `/metrics`.
async fn executions(app: &TestApp) -> i64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("posko_subscription_executions "))
        .and_then(|value| value.trim().parse().ok())
        .expect("the executions gauge")
}

#[tokio::test]
async fn subscribers_of_one_audience_share_one_execution_and_each_is_logged_under_its_own_name() {
    let app = spawn_app().await;
    let officer = |sub: &str| {
        let mut c = claims("POLICE", "POLDA_METRO_JAYA");
        c["sub"] = json!(sub);
        hs256(&c, TEST_SECRET.as_bytes())
    };
    // Two officers of one agency and a KPU member send the same operation.
    let mut first = open(&app).await;
    init(&mut first, Some(&officer("officer-first"))).await;
    subscribe(&mut first, "u", UPDATES).await;
    let mut second = open(&app).await;
    init(&mut second, Some(&officer("officer-second"))).await;
    subscribe(&mut second, "u", UPDATES).await;
    let mut kpu = open(&app).await;
    init(&mut kpu, Some(&token("KPU", "KPU_DKI"))).await;
    subscribe(&mut kpu, "u", UPDATES).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // One execution for the two officers, one for KPU: sharing never crosses an audience.
    assert_eq!(executions(&app).await, 2);

    let id = report(&app, "Intimidasi di TPS 7", false).await;
    add_intel_note(&app, &id, 1, "koordinator massa dikenal").await;
    for socket in [&mut first, &mut second] {
        assert_eq!(
            next(socket).await.unwrap()["payload"]["data"]["disputeUpdated"]["event"]["kind"],
            "REPORTED"
        );
        let pushed = next(socket).await.unwrap();
        assert_eq!(
            pushed["payload"]["data"]["disputeUpdated"]["event"]["note"],
            "koordinator massa dikenal"
        );
    }
    // KPU's execution is its own: the reporter and the intelligence note stay hidden.
    let reported = next(&mut kpu).await.unwrap();
    assert!(reported["payload"]["data"]["disputeUpdated"]["dispute"]["reporter"].is_null());
    assert_eq!(
        reported["payload"]["errors"][0]["extensions"]["code"],
        "FORBIDDEN"
    );
    let noted = next(&mut kpu).await.unwrap();
    assert!(
        noted["payload"]["data"]["disputeUpdated"]["event"].is_null(),
        "{noted}"
    );
    assert!(!noted.to_string().contains("koordinator"));

    // Each officer's read of the note is in the access log under that officer's name.
    let nodes = access_log_of(&app, &id, "field subject").await;
    for subject in ["officer-first", "officer-second"] {
        assert!(
            nodes
                .iter()
                .any(|n| n["field"] == "intelNotes" && n["subject"] == subject),
            "{subject}: {nodes:?}"
        );
    }
    assert!(
        !nodes.iter().any(|n| n["subject"] == "kpu-officer"),
        "{nodes:?}"
    );

    // The first officer leaves; the second keeps receiving from the same execution.
    first.close(None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let later = report(&app, "Intimidasi di TPS 8", false).await;
    assert_eq!(
        next(&mut second).await.unwrap()["payload"]["data"]["disputeUpdated"]["dispute"]["id"],
        later.as_str()
    );
    // When the last subscriber of an execution leaves, the execution stops.
    second.close(None).await.unwrap();
    kpu.close(None).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while executions(&app).await != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "executions did not stop"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_late_subscriber_to_shared_statistics_gets_the_current_figures_at_once() {
    let app = spawn_app().await;
    const STATS: &str =
        "subscription { disputeStatsUpdated(filter: { provinceCodes: [\"31\"] }) { total } }";
    let mut early = open(&app).await;
    init(&mut early, Some(&token("KPU", "KPU_DKI"))).await;
    subscribe(&mut early, "s", STATS).await;
    assert_eq!(
        next(&mut early).await.unwrap()["payload"]["data"]["disputeStatsUpdated"]["total"],
        0
    );
    report(&app, "Laporan pertama", false).await;
    assert_eq!(
        next(&mut early).await.unwrap()["payload"]["data"]["disputeStatsUpdated"]["total"],
        1
    );
    // A second subscriber joins the same execution and is handed its last figures.
    let mut late = open(&app).await;
    init(&mut late, Some(&token("KPU", "KPU_DKI"))).await;
    subscribe(&mut late, "s", STATS).await;
    assert_eq!(
        next(&mut late).await.unwrap()["payload"]["data"]["disputeStatsUpdated"]["total"],
        1
    );
    assert_eq!(executions(&app).await, 1);
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_is_closed_with_4500_not_buffered() {
    let app = spawn_app_with(&["--ws-queue", "1"]).await;
    // A client whose receive buffer is tiny and which reads nothing: what the server
    // cannot hand to the kernel must stay within the socket's bounded queues.
    let address = app.base_url.trim_start_matches("http://").to_owned();
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(4096).unwrap();
    let stream = tcp.connect(address.parse().unwrap()).await.unwrap();
    let mut request = format!("ws://{address}/graphql")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (socket, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
        .await
        .unwrap();
    let mut socket: Socket = socket;
    init(&mut socket, Some(&token("ADMIN", "KESBANGPOL_DKI"))).await;
    // Each push repeats the description (aliases), so a few dozen pushes outgrow what the
    // kernel's socket buffers and the socket's 32-frame queue hold.
    let aliases: String = (0..20).map(|n| format!(" d{n}: description")).collect();
    subscribe(
        &mut socket,
        "u",
        &format!("subscription {{ disputeUpdated {{ dispute {{ id{aliases} }} }} }}"),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let long = "Uraian panjang kejadian di lapangan. ".repeat(250);
    // What one socket holds before its forwarding blocks is counted in messages: 32 in
    // the socket's queue, up to 64 KB being written at once (about 6 of these pushes),
    // the group's queue (1 here), and the kernel's buffers (about 20). Twice that and
    // more leaves no doubt.
    const REPORTS: usize = 200;
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    for n in 0..REPORTS {
        app.gql_as(
            Some(&admin),
            REPORT,
            json!({ "input": {
                "regencyCode": "31.71", "occurredAt": "2024-11-25T10:00:00+07:00",
                "category": "CLASH", "severity": "LOW", "title": format!("Laporan {n}"),
                "description": long } }),
        )
        .await
        .expect_ok();
    }
    // Reading now drains what the kernel and the queues held, then the close.
    let mut pushes = 0;
    let code = loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next()).await;
        match frame {
            Ok(Some(Ok(Message::Text(_)))) => pushes += 1,
            Ok(Some(Ok(Message::Close(frame)))) => break frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("after {pushes} pushes: {other:?}"),
            Err(_) => panic!("nothing for 10 s after {pushes} pushes"),
        }
    };
    eprintln!("closed with {code:?} after {pushes} of {REPORTS} pushes");
    assert_eq!(code, Some(4500), "after {pushes} pushes");
    assert!(pushes < REPORTS, "every push was buffered: {pushes}");
}

/// A WebSocket client written by hand, for what client libraries will not send: bytes
/// right behind the handshake, fragments, unmasked and oversized frames.
mod raw {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    pub const TEXT: u8 = 0x1;
    pub const CONTINUATION: u8 = 0x0;
    pub const CLOSE: u8 = 0x8;

    /// One frame as a client sends it: masked (unless told not to), final or not.
    pub fn frame(opcode: u8, last: bool, payload: &[u8], masked: bool) -> Vec<u8> {
        let mut bytes = vec![if last { 0x80 | opcode } else { opcode }];
        let mask_bit = if masked { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => bytes.push(mask_bit | n as u8),
            n if n <= 0xFFFF => {
                bytes.push(mask_bit | 126);
                bytes.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                bytes.push(mask_bit | 127);
                bytes.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        if masked {
            let key = [0x37, 0xfa, 0x21, 0x3d];
            bytes.extend_from_slice(&key);
            bytes.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        } else {
            bytes.extend_from_slice(payload);
        }
        bytes
    }

    pub fn handshake(address: &str, path: &str, key: Option<&str>) -> Vec<u8> {
        let key = key.map_or(String::new(), |k| format!("sec-websocket-key: {k}\r\n"));
        format!(
            "GET {path} HTTP/1.1\r\nhost: {address}\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\
             sec-websocket-version: 13\r\n{key}sec-websocket-protocol: graphql-transport-ws\r\n\r\n"
        )
        .into_bytes()
    }

    pub struct Client {
        pub stream: TcpStream,
        buffer: Vec<u8>,
    }

    impl Client {
        /// Sends `bytes` in one write and reads the answer's head (status line and headers).
        pub async fn open(address: &str, bytes: &[u8]) -> (Self, String) {
            let mut stream = TcpStream::connect(address).await.unwrap();
            stream.write_all(bytes).await.unwrap();
            let mut client = Client {
                stream,
                buffer: Vec::new(),
            };
            let head = loop {
                if let Some(end) = client.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8(client.buffer[..end].to_vec()).unwrap();
                    client.buffer.drain(..end + 4);
                    break head;
                }
                client.fill().await;
            };
            (client, head)
        }

        async fn fill(&mut self) {
            let mut chunk = [0u8; 4096];
            let read = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                self.stream.read(&mut chunk),
            )
            .await
            .expect("the server answers within 10 s")
            .unwrap();
            assert!(read > 0, "the server closed the connection");
            self.buffer.extend_from_slice(&chunk[..read]);
        }

        /// The next frame from the server: its opcode and payload.
        pub async fn frame(&mut self) -> (u8, Vec<u8>) {
            loop {
                if self.buffer.len() >= 2 {
                    let (len, start) = match self.buffer[1] & 0x7f {
                        126 if self.buffer.len() >= 4 => (
                            u16::from_be_bytes([self.buffer[2], self.buffer[3]]) as usize,
                            4,
                        ),
                        126 | 127 => (usize::MAX, 0),
                        n => (n as usize, 2),
                    };
                    if len != usize::MAX && self.buffer.len() >= start + len {
                        let opcode = self.buffer[0] & 0x0f;
                        let payload = self.buffer[start..start + len].to_vec();
                        self.buffer.drain(..start + len);
                        return (opcode, payload);
                    }
                }
                self.fill().await;
            }
        }

        /// The close code the server ends with, after any other frames.
        pub async fn close_code(&mut self) -> u16 {
            loop {
                let (opcode, payload) = self.frame().await;
                if opcode == CLOSE {
                    return u16::from_be_bytes([payload[0], payload[1]]);
                }
            }
        }
    }
}

#[tokio::test]
async fn the_socket_reads_frames_as_the_websocket_protocol_has_them() {
    use tokio::io::AsyncWriteExt as _;
    let app = spawn_app_with(&["--max-body-bytes", "2048"]).await;
    let address = app.base_url.trim_start_matches("http://").to_owned();
    let key = Some("dGhlIHNhbXBsZSBub25jZQ==");
    let init = json!({ "type": "connection_init" }).to_string();

    // A connection_init in the same write as the handshake is read, not lost.
    let mut bytes = raw::handshake(&address, "/graphql", key);
    bytes.extend(raw::frame(raw::TEXT, true, init.as_bytes(), true));
    let (mut client, head) = raw::Client::open(&address, &bytes).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // RFC 6455's own example key and answer.
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase().contains("x-request-id: "),
        "{head}"
    );
    let (opcode, payload) = client.frame().await;
    assert_eq!(opcode, raw::TEXT);
    assert_eq!(
        serde_json::from_slice::<Value>(&payload).unwrap()["type"],
        "connection_ack"
    );

    // A message in three fragments is one message; a query over it is answered.
    let query =
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ provinces { code } }" } })
            .to_string();
    let (a, rest) = query.as_bytes().split_at(10);
    let (b, c) = rest.split_at(20);
    let mut fragments = raw::frame(raw::TEXT, false, a, true);
    fragments.extend(raw::frame(raw::CONTINUATION, false, b, true));
    fragments.extend(raw::frame(raw::CONTINUATION, true, c, true));
    client.stream.write_all(&fragments).await.unwrap();
    let (_, payload) = client.frame().await;
    let answer: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(answer["type"], "next", "{answer}");
    assert_eq!(
        answer["payload"]["data"]["provinces"]
            .as_array()
            .unwrap()
            .len(),
        38
    );

    // The client's close is answered with 1000.
    client
        .stream
        .write_all(&raw::frame(raw::CLOSE, true, &1000u16.to_be_bytes(), true))
        .await
        .unwrap();
    assert_eq!(client.close_code().await, 1000);

    // An unmasked client frame breaks the protocol: 1002.
    let mut bytes = raw::handshake(&address, "/graphql", key);
    bytes.extend(raw::frame(raw::TEXT, true, init.as_bytes(), false));
    let (mut client, _) = raw::Client::open(&address, &bytes).await;
    assert_eq!(client.close_code().await, 1002);

    // A message over the body limit (2 048 bytes here), whole or in fragments: 1009.
    let big = vec![b' '; 3000];
    let mut bytes = raw::handshake(&address, "/graphql", key);
    bytes.extend(raw::frame(raw::TEXT, true, &big, true));
    let (mut client, _) = raw::Client::open(&address, &bytes).await;
    assert_eq!(client.close_code().await, 1009);
    let mut bytes = raw::handshake(&address, "/graphql", key);
    bytes.extend(raw::frame(raw::TEXT, false, &big[..1500], true));
    bytes.extend(raw::frame(raw::CONTINUATION, true, &big[1500..], true));
    let (mut client, _) = raw::Client::open(&address, &bytes).await;
    assert_eq!(client.close_code().await, 1009);

    // Text that is not UTF-8: 1007.
    let mut bytes = raw::handshake(&address, "/graphql", key);
    bytes.extend(raw::frame(raw::TEXT, true, &[0xff, 0xfe], true));
    let (mut client, _) = raw::Client::open(&address, &bytes).await;
    assert_eq!(client.close_code().await, 1007);

    // The broken clients above still hold their sockets, and the test server has one
    // worker: it answers on only if a broken socket does not keep it busy.
    // Upgrades anywhere else, or without a key, are refused over HTTP.
    let (_, head) = raw::Client::open(&address, &raw::handshake(&address, "/metrics", key)).await;
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let (_, head) = raw::Client::open(&address, &raw::handshake(&address, "/graphql", None)).await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    // An Authorization header that is not text is refused as over HTTP, never read as
    // absent (which would make the socket PUBLIC's).
    let mut bytes = raw::handshake(&address, "/graphql", key);
    let end = bytes.len() - 2;
    bytes.splice(end..end, b"authorization: Bearer \xff\r\n".iter().copied());
    let (_, head) = raw::Client::open(&address, &bytes).await;
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    // Plain HTTP on the same server is unaffected.
    app.gql("{ provinces { code } }").await.expect_ok();
}
