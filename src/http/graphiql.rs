//! GraphiQL, served with all its assets from the binary (the posko's network may be closed
//! to the internet), and in development with `POSKO_GRAPHIQL_TOKENS=true` an "explore as
//! a role" bar that fetches a token from `/graphiql/token`. Production serves neither.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::auth::jwt::Claims;
use crate::auth::policy;
use crate::config::Mode;
use crate::domain::types::Role;
use crate::http::server::AppState;

// Vendored in web/vendor (see its README): the build needs no npm and no network.
const PAGE: &str = include_str!("../../web/graphiql.html");
const REACT: &[u8] = include_bytes!("../../web/vendor/react.production.min.js");
const REACT_DOM: &[u8] = include_bytes!("../../web/vendor/react-dom.production.min.js");
const GRAPHIQL_JS: &[u8] = include_bytes!("../../web/vendor/graphiql.min.js");
const GRAPHIQL_CSS: &[u8] = include_bytes!("../../web/vendor/graphiql.min.css");

/// `GET /graphiql`.
pub async fn page(state: web::Data<AppState>) -> HttpResponse {
    if state.mode == Mode::Production {
        return HttpResponse::NotFound().finish();
    }
    let html = match &state.graphiql_nonce {
        Some(nonce) => PAGE
            .replace("/*POSKO_DEV*/false", "true")
            .replace("/*POSKO_NONCE*/\"\"", &format!("\"{nonce}\"")),
        None => PAGE.to_owned(),
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html)
}

/// `GET /graphiql/assets/{name}`.
pub async fn asset(state: web::Data<AppState>, name: web::Path<String>) -> HttpResponse {
    if state.mode == Mode::Production {
        return HttpResponse::NotFound().finish();
    }
    let (body, content_type) = match name.as_str() {
        "react.js" => (REACT, "text/javascript"),
        "react-dom.js" => (REACT_DOM, "text/javascript"),
        "graphiql.js" => (GRAPHIQL_JS, "text/javascript"),
        "graphiql.css" => (GRAPHIQL_CSS, "text/css"),
        _ => return HttpResponse::NotFound().finish(),
    };
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("cache-control", "public, max-age=86400"))
        .body(body)
}

/// Which role to explore as.
#[derive(Deserialize)]
pub struct RoleQuery {
    role: String,
    agency: String,
}

/// The header in which GraphiQL's page sends back the nonce it was served with.
pub const NONCE_HEADER: &str = "x-posko-graphiql-nonce";

/// Whether a token request comes from a GraphiQL page this server served, on this
/// machine. A loopback peer alone proves nothing behind a reverse proxy on the same host,
/// so the request must also carry the page's nonce (which another origin cannot read: the
/// page is never shared cross-origin) and must not come from another origin.
fn from_own_page(state: &AppState, http: &HttpRequest) -> bool {
    let Some(nonce) = &state.graphiql_nonce else {
        return false;
    };
    let header = |name: &str| http.headers().get(name).and_then(|v| v.to_str().ok());
    let local = crate::http::request_meta::client_of(http).is_some_and(|a| a.is_loopback());
    let nonce_matches = header(NONCE_HEADER).is_some_and(|sent| {
        sent.len() == nonce.len()
            && sent
                .bytes()
                .zip(nonce.bytes())
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    });
    let same_origin = match (header("origin"), header("host")) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority == host),
        (Some(_), None) => false,
    };
    let fetch_site_ok = header("sec-fetch-site").is_none_or(|site| site == "same-origin");
    state.mode == Mode::Development && local && nonce_matches && same_origin && fetch_site_ok
}

/// `GET /graphiql/token?role=…&agency=…`: a one-hour development token, for GraphiQL's
/// own page only (`from_own_page`). Anything else gets the 404 of a server without it.
pub async fn token(
    state: web::Data<AppState>,
    http: HttpRequest,
    query: web::Query<RoleQuery>,
) -> HttpResponse {
    if !from_own_page(&state, &http) {
        return HttpResponse::NotFound().finish();
    }
    let Ok(role) = query.role.parse::<Role>() else {
        return HttpResponse::BadRequest().json(serde_json::json!({ "error": "unknown role" }));
    };
    let access = match state.auth.agency_access(&query.agency).await {
        Ok(Some(access)) => access,
        Ok(None) => {
            return HttpResponse::BadRequest()
                .json(serde_json::json!({ "error": "unknown agency" }));
        }
        Err(_) => return HttpResponse::InternalServerError().finish(),
    };
    if role == Role::Public || !policy::role_fits_agency(role, access.kind) {
        // Say which roles would fit, so the explorer need not know the policy's table.
        let fitting: Vec<&str> = <Role as strum::IntoEnumIterator>::iter()
            .filter(|r| *r != Role::Public && policy::role_fits_agency(*r, access.kind))
            .map(|r| r.as_str())
            .collect();
        return HttpResponse::BadRequest().json(serde_json::json!({
            "error": format!(
                "the role {} does not fit {} (a {} agency); roles that fit it: {}",
                role.as_str(),
                query.agency,
                access.kind.as_ref(),
                fitting.join(", ")
            )
        }));
    }
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or_default();
    let claims = Claims {
        sub: format!("graphiql-{}", role.as_str().to_lowercase()),
        role: role.as_str().to_owned(),
        agency: query.agency.clone(),
        exp: now + 3600,
        iat: Some(now),
        nbf: Some(now),
        iss: None,
        aud: None,
    };
    match state.auth.verifier().mint(&claims) {
        Ok(token) => HttpResponse::Ok().json(serde_json::json!({ "token": token })),
        Err(err) => {
            tracing::warn!(error = %err, "cannot mint a development token");
            HttpResponse::NotFound().finish()
        }
    }
}
