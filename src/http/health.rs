//! `/healthz` (the process is up) and `/readyz` (the database answers).

use actix_web::{HttpResponse, web};

use crate::http::server::AppState;

/// 200 while the process runs.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// How long `/readyz` waits for the database: orchestrators probe with a timeout of
/// about a second, and a probe that times out says less than a 503.
const PING_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(800);

/// 200 when the database answers, 503 otherwise.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.db.ping(PING_TIMEOUT).await {
        HttpResponse::Ok().content_type("text/plain").body("ready")
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("database unavailable")
    }
}
