//! Token verification: every bad token is a 401 with `WWW-Authenticate: Bearer` and an
//! UNAUTHENTICATED body, never data and never a fall-back to PUBLIC.

use jsonwebtoken::Algorithm;
use serde_json::json;

use crate::support::tokens::{claims, fixture, fixture_path, hs256, now, signed, token, unsigned};
use crate::support::{Gql, TEST_SECRET, TestApp, spawn_app, spawn_app_with};

const ME: &str = "{ me { role agency { code } } }";

fn assert_refused(answer: &Gql, case: &str, token_text: &str) {
    assert_eq!(answer.status, 401, "{case}: {:#}", answer.body);
    let challenge = answer.www_authenticate.as_deref().unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{case}: {challenge}"
    );
    assert_eq!(answer.error_codes(), ["UNAUTHENTICATED"], "{case}");
    assert!(
        answer.body.get("data").is_none(),
        "{case}: no data on a 401"
    );
    let body = answer.body.to_string();
    if token_text.len() > 20 {
        assert!(!body.contains(token_text), "{case}: the token is echoed");
        assert!(
            !challenge.contains(token_text),
            "{case}: the token is echoed"
        );
    }
}

async fn me_with(app: &TestApp, token_text: &str) -> Gql {
    app.gql_as(Some(token_text), ME, json!({})).await
}

/// A server that trusts an identity provider's RS256 key, requires `iss` and `aud`, and
/// still accepts Posko's own HS256 tokens.
async fn idp_app() -> TestApp {
    let key = fixture_path("rsa_a.public.pem");
    spawn_app_with(&[
        "--jwt-public-key",
        &key,
        "--jwt-algorithm",
        "RS256",
        "--jwt-issuer",
        "https://sso.jakarta.go.id",
        "--jwt-audience",
        "posko",
    ])
    .await
}

fn idp_claims(role: &str, agency: &str) -> serde_json::Value {
    let mut c = claims(role, agency);
    c["iss"] = json!("https://sso.jakarta.go.id");
    c["aud"] = json!("posko");
    c
}

#[tokio::test]
async fn without_a_header_the_caller_is_public() {
    let app = spawn_app().await;
    let answer = app.gql(ME).await;
    answer.expect_ok();
    assert_eq!(answer.data("me.role"), "PUBLIC");
    assert!(answer.data("me.agency").is_null());
}

#[tokio::test]
async fn a_valid_posko_token_identifies_role_and_agency() {
    let app = spawn_app().await;
    let answer = me_with(&app, &token("POLICE", "POLDA_METRO_JAYA")).await;
    answer.expect_ok();
    assert_eq!(answer.data("me.role"), "POLICE");
    assert_eq!(answer.data("me.agency.code"), "POLDA_METRO_JAYA");
}

#[tokio::test]
async fn every_bad_hs256_token_is_refused() {
    let app = spawn_app().await;
    let secret = TEST_SECRET.as_bytes();
    let mut expired = claims("KPU", "KPU_DKI");
    expired["exp"] = json!(now() - 120);
    let mut early = claims("KPU", "KPU_DKI");
    early["nbf"] = json!(now() + 600);
    let mut no_exp = claims("KPU", "KPU_DKI");
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut no_sub = claims("KPU", "KPU_DKI");
    no_sub.as_object_mut().unwrap().remove("sub");
    let mut huge = claims("KPU", "KPU_DKI");
    huge["padding"] = json!("x".repeat(9 * 1024));
    let mut public_role = claims("PUBLIC", "KPU_DKI");
    public_role["role"] = json!("PUBLIC");

    let cases: Vec<(&str, String)> = vec![
        ("alg none", unsigned(&claims("ADMIN", "KESBANGPOL_DKI"))),
        ("expired beyond the leeway", hs256(&expired, secret)),
        ("nbf in the future", hs256(&early, secret)),
        ("missing exp", hs256(&no_exp, secret)),
        ("missing sub", hs256(&no_sub, secret)),
        (
            "bad signature",
            hs256(
                &claims("KPU", "KPU_DKI"),
                b"another-secret-of-more-than-32-bytes!!",
            ),
        ),
        ("unknown agency", hs256(&claims("KPU", "KPU_MARS"), secret)),
        (
            "role does not fit the agency",
            hs256(&claims("POLICE", "KPU_DKI"), secret),
        ),
        (
            "ADMIN for a police agency",
            hs256(&claims("ADMIN", "POLDA_METRO_JAYA"), secret),
        ),
        (
            "unknown role",
            hs256(&claims("SUPERUSER", "KPU_DKI"), secret),
        ),
        ("PUBLIC is not a token role", hs256(&public_role, secret)),
        ("oversized token", hs256(&huge, secret)),
        ("not a JWT", "not-a-jwt-at-all-but-long-enough".to_owned()),
        (
            "RS256 token the server has no key for",
            signed(
                Algorithm::RS256,
                "rsa_b.private.pem",
                None,
                &claims("KPU", "KPU_DKI"),
            ),
        ),
    ];
    for (case, bad) in cases {
        assert_refused(&me_with(&app, &bad).await, case, &bad);
    }
}

#[tokio::test]
async fn malformed_authorization_headers_are_refused() {
    let app = spawn_app().await;
    let good = token("KPU", "KPU_DKI");
    for header in [
        format!("Token {good}"),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        good.clone(),
        "Basic dXNlcjpwYXNz".to_owned(),
    ] {
        let answer = app.gql_with_header(Some(&header), ME, json!({})).await;
        assert_refused(&answer, &format!("header {:.12}…", header), &good);
    }
}

#[tokio::test]
async fn a_token_inside_the_leeway_is_accepted() {
    let app = spawn_app().await;
    let mut recent = claims("KPU", "KPU_DKI");
    recent["exp"] = json!(now() - 10);
    let answer = me_with(&app, &hs256(&recent, TEST_SECRET.as_bytes())).await;
    answer.expect_ok();
    assert_eq!(answer.data("me.role"), "KPU");
}

#[tokio::test]
async fn an_identity_providers_rs256_token_is_accepted_with_its_issuer_and_audience() {
    let app = idp_app().await;
    let good = signed(
        Algorithm::RS256,
        "rsa_a.private.pem",
        None,
        &idp_claims("BAWASLU", "BAWASLU_DKI"),
    );
    let answer = me_with(&app, &good).await;
    answer.expect_ok();
    assert_eq!(answer.data("me.role"), "BAWASLU");
    // Posko's own HS256 tokens still work beside the provider's key…
    let own = hs256(&idp_claims("KPU", "KPU_DKI"), TEST_SECRET.as_bytes());
    me_with(&app, &own).await.expect_ok();
}

#[tokio::test]
async fn the_algorithm_comes_from_the_configuration_not_the_token() {
    let app = idp_app().await;
    let public_pem = fixture("rsa_a.public.pem");
    let mut wrong_iss = idp_claims("KPU", "KPU_DKI");
    wrong_iss["iss"] = json!("https://evil.example");
    let mut wrong_aud = idp_claims("KPU", "KPU_DKI");
    wrong_aud["aud"] = json!("someone-else");
    let cases = vec![
        // The classic confusion: HS256 keyed with the RSA public key's bytes.
        (
            "HS256 signed with the RSA public key",
            hs256(&idp_claims("ADMIN", "KESBANGPOL_DKI"), &public_pem),
        ),
        (
            "wrong issuer",
            signed(Algorithm::RS256, "rsa_a.private.pem", None, &wrong_iss),
        ),
        (
            "wrong audience",
            signed(Algorithm::RS256, "rsa_a.private.pem", None, &wrong_aud),
        ),
        (
            "signed by another RSA key",
            signed(
                Algorithm::RS256,
                "rsa_b.private.pem",
                None,
                &idp_claims("KPU", "KPU_DKI"),
            ),
        ),
        (
            "ES256 the server was not configured for",
            signed(
                Algorithm::ES256,
                "ec.private.pem",
                None,
                &idp_claims("KPU", "KPU_DKI"),
            ),
        ),
        ("alg none", unsigned(&idp_claims("ADMIN", "KESBANGPOL_DKI"))),
    ];
    for (case, bad) in cases {
        assert_refused(&me_with(&app, &bad).await, case, &bad);
    }
}

#[tokio::test]
async fn es256_and_eddsa_keys_work_when_configured() {
    for (algorithm, name, private) in [
        (Algorithm::ES256, "ES256", "ec"),
        (Algorithm::EdDSA, "EdDSA", "ed"),
    ] {
        let key = fixture_path(&format!("{private}.public.pem"));
        let app = spawn_app_with(&["--jwt-public-key", &key, "--jwt-algorithm", name]).await;
        let good = signed(
            algorithm,
            &format!("{private}.private.pem"),
            None,
            &claims("MEMBER", "KODAM_JAYA"),
        );
        let answer = me_with(&app, &good).await;
        answer.expect_ok();
        assert_eq!(answer.data("me.role"), "MEMBER", "{name}");
    }
}

#[tokio::test]
async fn a_jwks_file_chooses_the_key_by_kid_for_rotation() {
    let jwks = fixture_path("jwks.json");
    let app = spawn_app_with(&["--jwt-jwks", &jwks]).await;
    for (kid, private) in [
        ("posko-2026-a", "rsa_jwks1.private.pem"),
        ("posko-2026-b", "rsa_jwks2.private.pem"),
    ] {
        let good = signed(
            Algorithm::RS256,
            private,
            Some(kid),
            &claims("KPU", "KPU_DKI"),
        );
        me_with(&app, &good).await.expect_ok();
    }
    let unknown = signed(
        Algorithm::RS256,
        "rsa_jwks1.private.pem",
        Some("posko-2025-retired"),
        &claims("KPU", "KPU_DKI"),
    );
    assert_refused(&me_with(&app, &unknown).await, "unknown kid", &unknown);
    let crossed = signed(
        Algorithm::RS256,
        "rsa_jwks1.private.pem",
        Some("posko-2026-b"),
        &claims("KPU", "KPU_DKI"),
    );
    assert_refused(
        &me_with(&app, &crossed).await,
        "kid of another key",
        &crossed,
    );
}

#[tokio::test]
async fn a_refused_token_never_reaches_public_data() {
    let app = spawn_app().await;
    let bad = hs256(
        &claims("KPU", "KPU_DKI"),
        b"wrong-secret-wrong-secret-wrong-secret",
    );
    let answer = app
        .gql_as(Some(&bad), "{ provinces { code } }", json!({}))
        .await;
    assert_refused(&answer, "public data with a bad token", &bad);
}

#[tokio::test]
async fn a_configured_issuer_and_audience_are_required_not_only_checked() {
    let app = idp_app().await;
    let mut no_iss = idp_claims("KPU", "KPU_DKI");
    no_iss.as_object_mut().unwrap().remove("iss");
    let mut no_aud = idp_claims("KPU", "KPU_DKI");
    no_aud.as_object_mut().unwrap().remove("aud");
    for (case, claims) in [("no iss", no_iss), ("no aud", no_aud)] {
        let rs = signed(Algorithm::RS256, "rsa_a.private.pem", None, &claims);
        assert_refused(&me_with(&app, &rs).await, case, &rs);
        let hs = hs256(&claims, TEST_SECRET.as_bytes());
        assert_refused(&me_with(&app, &hs).await, case, &hs);
    }
    // An audience given as a list, as some identity providers write it, is accepted.
    let mut listed = idp_claims("KPU", "KPU_DKI");
    listed["aud"] = json!(["other", "posko"]);
    let rs = signed(Algorithm::RS256, "rsa_a.private.pem", None, &listed);
    me_with(&app, &rs).await.expect_ok();
}

#[tokio::test]
async fn a_token_issued_in_the_future_beyond_the_leeway_is_refused() {
    let app = spawn_app().await;
    let mut ahead = claims("KPU", "KPU_DKI");
    ahead["iat"] = json!(now() + 600);
    let text = hs256(&ahead, TEST_SECRET.as_bytes());
    assert_refused(&me_with(&app, &text).await, "iat in the future", &text);
    // Within the leeway (30 s) a skewed clock is tolerated.
    let mut skewed = claims("KPU", "KPU_DKI");
    skewed["iat"] = json!(now() + 10);
    me_with(&app, &hs256(&skewed, TEST_SECRET.as_bytes()))
        .await
        .expect_ok();
}

/// A stand-in identity provider: serves whatever JWKS (and status) the test sets, and
/// counts the fetches.
struct KeyServer {
    url: String,
    served: std::sync::Arc<std::sync::Mutex<(u16, serde_json::Value)>>,
    fetches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl KeyServer {
    fn start(keys: serde_json::Value) -> Self {
        use actix_web::{App, HttpResponse, HttpServer, web};
        let served = std::sync::Arc::new(std::sync::Mutex::new((200u16, keys)));
        let fetches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (s, f) = (served.clone(), fetches.clone());
        let server = HttpServer::new(move || {
            let (s, f) = (s.clone(), f.clone());
            App::new().route(
                "/.well-known/jwks.json",
                web::get().to(move || {
                    let (s, f) = (s.clone(), f.clone());
                    async move {
                        f.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let (status, body) = s.lock().unwrap().clone();
                        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                            .json(body)
                    }
                }),
            )
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let url = format!("http://{}/.well-known/jwks.json", server.addrs()[0]);
        tokio::spawn(server.run());
        Self {
            url,
            served,
            fetches,
        }
    }

    fn serve(&self, status: u16, keys: serde_json::Value) {
        *self.served.lock().unwrap() = (status, keys);
    }

    fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_jwks_url_follows_rotation_rate_limits_refreshes_and_survives_outages() {
    let all: serde_json::Value = serde_json::from_slice(&fixture("jwks.json")).unwrap();
    let (key_a, key_b) = (all["keys"][0].clone(), all["keys"][1].clone());
    let provider = KeyServer::start(json!({ "keys": [key_a] }));
    let app = spawn_app_with(&[
        "--jwt-jwks-url",
        &provider.url,
        "--jwt-jwks-refresh-secs",
        "3600",
        "--jwt-jwks-min-refresh-secs",
        "1",
    ])
    .await;
    assert_eq!(provider.fetches(), 1, "fetched at start");
    let kpu = |private: &str, kid: &str| {
        signed(
            Algorithm::RS256,
            private,
            Some(kid),
            &claims("KPU", "KPU_DKI"),
        )
    };
    let token_a = kpu("rsa_jwks1.private.pem", "posko-2026-a");
    let token_b = kpu("rsa_jwks2.private.pem", "posko-2026-b");
    let token_c = kpu("rsa_jwks1.private.pem", "posko-2027-c");
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(1_100));
    me_with(&app, &token_a).await.expect_ok();

    // An unknown kid makes one fetch; a burst of them within the interval makes none.
    pause().await;
    assert_refused(
        &me_with(&app, &token_b).await,
        "kid not published yet",
        &token_b,
    );
    assert_eq!(provider.fetches(), 2);
    for _ in 0..5 {
        assert_refused(&me_with(&app, &token_b).await, "burst", &token_b);
    }
    assert_eq!(provider.fetches(), 2, "unknown kids are rate-limited");

    // The provider rotates: the new key works at once.
    provider.serve(200, json!({ "keys": [key_a, key_b] }));
    pause().await;
    me_with(&app, &token_b).await.expect_ok();
    assert_eq!(provider.fetches(), 3);

    // The provider fails: the last good keys stay.
    provider.serve(500, json!({ "error": "down" }));
    pause().await;
    assert_refused(
        &me_with(&app, &token_c).await,
        "unknown during outage",
        &token_c,
    );
    assert_eq!(provider.fetches(), 4);
    me_with(&app, &token_a).await.expect_ok();
    me_with(&app, &token_b).await.expect_ok();

    // The provider retires key A: once fetched again, A's tokens are refused.
    provider.serve(200, json!({ "keys": [key_b] }));
    pause().await;
    assert_refused(&me_with(&app, &token_c).await, "still unknown", &token_c);
    assert_eq!(provider.fetches(), 5);
    assert_refused(&me_with(&app, &token_a).await, "retired key", &token_a);
    me_with(&app, &token_b).await.expect_ok();

    // And the periodic refresh runs without any token asking for it.
    let periodic = KeyServer::start(json!({ "keys": [key_b] }));
    let _app = spawn_app_with(&[
        "--jwt-jwks-url",
        &periodic.url,
        "--jwt-jwks-refresh-secs",
        "1",
        "--jwt-jwks-min-refresh-secs",
        "0",
    ])
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    assert!(periodic.fetches() >= 3, "{} fetches", periodic.fetches());
}

#[tokio::test]
async fn an_unreachable_jwks_url_stops_the_start() {
    let cli = crate::support::test_cli_with(
        "sqlite::memory:",
        &["--jwt-jwks-url", "http://127.0.0.1:9/jwks.json"],
    );
    let err = posko::http::server::Application::build(&cli.config)
        .await
        .err()
        .expect("refused");
    assert!(format!("{err:#}").contains("POSKO_JWT_JWKS_URL"), "{err:#}");
}

#[tokio::test]
async fn a_reused_verification_still_expires_on_time_and_never_covers_another_token() {
    let app = spawn_app_with(&["--jwt-leeway", "0"]).await;
    let mut brief = claims("KPU", "KPU_DKI");
    brief["exp"] = json!(now() + 2);
    let text = hs256(&brief, TEST_SECRET.as_bytes());
    // Used twice, so it is kept (the verifier test below checks the keeping).
    me_with(&app, &text).await.expect_ok();
    me_with(&app, &text).await.expect_ok();

    // The same claims under a changed signature, and the same signature under changed
    // claims, are other tokens: each is verified in full and refused.
    let (signed_part, signature) = text.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
    let forged_signature = format!("{signed_part}.{flipped}{}", &signature[1..]);
    assert_refused(
        &me_with(&app, &forged_signature).await,
        "changed signature",
        &forged_signature,
    );
    let mut police = brief.clone();
    police["role"] = json!("POLICE");
    police["agency"] = json!("POLDA_METRO_JAYA");
    let other_key = hs256(&police, b"another-secret-another-secret-0123456");
    let (claims_part, _) = other_key.rsplit_once('.').unwrap();
    let forged_claims = format!("{claims_part}.{signature}");
    assert_refused(
        &me_with(&app, &forged_claims).await,
        "claims under a kept token's signature",
        &forged_claims,
    );

    // Past `exp` (no leeway) the kept verification no longer passes: the kept entry's own
    // lifetime and the clock check on every reuse each stop it (the second is tested
    // against jsonwebtoken's rules in `jwt::tests`).
    let wait = u64::try_from(brief["exp"].as_i64().unwrap() + 1 - now()).unwrap_or(0);
    tokio::time::sleep(std::time::Duration::from_millis(wait * 1000 + 200)).await;
    assert_refused(&me_with(&app, &text).await, "expired after reuse", &text);
}

#[test]
fn a_verifier_keeps_what_passed_and_nothing_that_failed() {
    use posko::auth::jwt::{TokenError, Verifier};
    let cli = crate::support::test_cli_with("sqlite://unused.db", &[]);
    let verifier = Verifier::from_config(&cli.config).unwrap();
    let good = token("KPU", "KPU_DKI");
    assert_eq!(verifier.verify(&good).unwrap().agency, "KPU_DKI");
    assert_eq!(verifier.verified_tokens(), 1);
    assert_eq!(verifier.verify(&good).unwrap().agency, "KPU_DKI");
    assert_eq!(verifier.verified_tokens(), 1, "the same token, kept once");

    let wrong_key = hs256(
        &claims("KPU", "KPU_DKI"),
        b"another-secret-another-secret-0123456",
    );
    assert_eq!(
        verifier.verify(&wrong_key).err(),
        Some(TokenError::BadSignature)
    );
    let mut late = claims("KPU", "KPU_DKI");
    late["exp"] = json!(now() - 3600);
    let expired = hs256(&late, TEST_SECRET.as_bytes());
    assert_eq!(verifier.verify(&expired).err(), Some(TokenError::Expired));
    assert_eq!(
        verifier.verified_tokens(),
        1,
        "refused tokens are never kept"
    );
}
