//! GraphiQL's "explore as a role" token helper: off unless configured, never in
//! production, and only for the page this server served (not for any loopback peer).

use serde_json::{Value, json};

use crate::support::{TestApp, spawn_app, spawn_app_with, test_cli_with};

const MINT: &str = "/graphiql/token?role=ADMIN&agency=KESBANGPOL_DKI";

async fn mint(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.client.get(format!("{}{}", app.base_url, path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn nonce_of(page: &str) -> String {
    let start = page.find("window.POSKO_NONCE = \"").unwrap() + "window.POSKO_NONCE = \"".len();
    let end = page[start..].find('"').unwrap();
    page[start..start + end].to_owned()
}

#[tokio::test]
async fn the_token_helper_is_off_unless_configured() {
    let app = spawn_app().await;
    let page = app.get("/graphiql").await.text().await.unwrap();
    assert!(
        page.contains("window.POSKO_DEV = /*POSKO_DEV*/false"),
        "no role bar"
    );
    assert!(
        page.contains("window.POSKO_NONCE = /*POSKO_NONCE*/\"\""),
        "no nonce"
    );
    for headers in [vec![], vec![("x-posko-graphiql-nonce", "")]] {
        assert_eq!(mint(&app, MINT, &headers).await.status().as_u16(), 404);
    }
}

#[tokio::test]
async fn production_refuses_to_start_with_the_token_helper() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("p.db").display());
    let cli = test_cli_with(&url, &["--env", "production", "--graphiql-tokens", "true"]);
    let err = posko::http::server::Application::build(&cli.config)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("POSKO_GRAPHIQL_TOKENS"), "{err}");
}

#[tokio::test]
async fn only_the_served_page_same_origin_gets_a_token() {
    let app = spawn_app_with(&["--graphiql-tokens", "true"]).await;
    let page = app.get("/graphiql").await.text().await.unwrap();
    let nonce = nonce_of(&page);
    assert_eq!(nonce.len(), 32, "the page carries the helper's nonce");
    let host = app.base_url.trim_start_matches("http://").to_owned();
    let own_origin = app.base_url.clone();

    // A loopback peer alone (a reverse proxy on the same host, a script) gets nothing.
    assert_eq!(mint(&app, MINT, &[]).await.status().as_u16(), 404);
    assert_eq!(
        mint(
            &app,
            MINT,
            &[("x-posko-graphiql-nonce", "0".repeat(32).as_str())]
        )
        .await
        .status()
        .as_u16(),
        404
    );
    // Another origin, even with the nonce, gets nothing and no CORS grant.
    for headers in [
        vec![
            ("x-posko-graphiql-nonce", nonce.as_str()),
            ("origin", "http://evil.example"),
        ],
        vec![
            ("x-posko-graphiql-nonce", nonce.as_str()),
            ("sec-fetch-site", "cross-site"),
        ],
    ] {
        let response = mint(&app, MINT, &headers).await;
        assert_eq!(response.status().as_u16(), 404, "{headers:?}");
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
    }
    // The page itself, same-origin, gets a working token.
    let response = mint(
        &app,
        MINT,
        &[
            ("x-posko-graphiql-nonce", nonce.as_str()),
            ("origin", own_origin.as_str()),
            ("host", host.as_str()),
            ("sec-fetch-site", "same-origin"),
        ],
    )
    .await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let minted: Value = response.json().await.unwrap();
    let answer = app
        .gql_as(minted["token"].as_str(), "{ me { role } }", json!({}))
        .await;
    assert_eq!(answer.data("me.role"), "ADMIN");
    // A role that does not fit the agency is refused with a reason.
    let refused = mint(
        &app,
        "/graphiql/token?role=POLICE&agency=KPU_DKI",
        &[("x-posko-graphiql-nonce", nonce.as_str())],
    )
    .await;
    assert_eq!(refused.status().as_u16(), 400);
    let reason: Value = refused.json().await.unwrap();
    assert_eq!(
        reason["error"],
        "the role POLICE does not fit KPU_DKI (a KPU agency); roles that fit it: KPU"
    );
}
