//! `POST /graphql` and `GET /graphql`, following the GraphQL-over-HTTP draft: the media
//! type comes from `Accept` (`application/graphql-response+json` or `application/json`),
//! request errors are 4xx under the former (the latter keeps 200 for a well-formed request,
//! as the spec asks of legacy clients), a mutation over GET is 405, a POST that is not
//! `application/json` is 415 (which also keeps web pages from posting queries with forms),
//! and oversized bodies are 413 (actix's payload limit). The handler parses the body
//! itself rather than using async-graphql-actix-web's extractor, whose responder cannot
//! negotiate media types or status codes.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::parser::types::OperationType;
use async_graphql::{ServerError, Variables};
use serde_json::{Map, Value, json};
use tracing_actix_web::RequestId;

use crate::auth::viewer::{AuthFailure, Viewer};
use crate::config::Introspection;
use crate::domain::audit;
use crate::domain::types::Role;
use crate::graphql::context::RequestContext;
use crate::http::limits::{self, DocumentLimits};
use crate::http::persisted::Resolved;
use crate::http::server::AppState;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// Request-level limits of the endpoint.
#[derive(Clone, Copy, Debug)]
pub struct EndpointLimits {
    pub max_document_bytes: usize,
    pub document: DocumentLimits,
    pub max_batch: usize,
    pub timeout: Duration,
    pub introspection: Introspection,
}

/// The media type chosen for the answer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MediaType {
    GraphqlResponse,
    Json,
}

impl MediaType {
    fn as_str(self) -> &'static str {
        match self {
            Self::GraphqlResponse => GRAPHQL_RESPONSE,
            Self::Json => JSON,
        }
    }
}

/// Picks the answer's media type from `Accept`; `None` when nothing acceptable is offered.
pub fn negotiate(accept: Option<&str>) -> Option<MediaType> {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Some(MediaType::Json);
    };
    let mut best: Option<(f32, MediaType)> = None;
    for part in accept.split(',') {
        let mut pieces = part.split(';').map(str::trim);
        let range = pieces.next().unwrap_or_default().to_ascii_lowercase();
        let quality = pieces
            .find_map(|p| p.strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let media = match range.as_str() {
            GRAPHQL_RESPONSE => MediaType::GraphqlResponse,
            JSON | "application/*" | "*/*" => MediaType::Json,
            _ => continue,
        };
        if quality <= 0.0 {
            continue;
        }
        let better = match best {
            None => true,
            Some((q, m)) => {
                quality > q
                    || (quality == q && m == MediaType::Json && media == MediaType::GraphqlResponse)
            }
        };
        if better {
            best = Some((quality, media));
        }
    }
    best.map(|(_, media)| media)
}

/// The parameters of one GraphQL request.
#[derive(Debug, Default)]
struct Params {
    query: Option<String>,
    variables: Option<Map<String, Value>>,
    operation_name: Option<String>,
    extensions: Option<Map<String, Value>>,
}

fn params_from_json(value: Value) -> Result<Params, &'static str> {
    let Value::Object(mut object) = value else {
        return Err("the request must be a JSON object");
    };
    let query = match object.remove("query") {
        None | Some(Value::Null) => None,
        Some(Value::String(q)) => Some(q),
        Some(_) => return Err("`query` must be a string"),
    };
    let variables = match object.remove("variables") {
        None | Some(Value::Null) => None,
        Some(Value::Object(v)) => Some(v),
        Some(_) => return Err("`variables` must be an object"),
    };
    let operation_name = match object.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(n)) => Some(n),
        Some(_) => return Err("`operationName` must be a string"),
    };
    let extensions = match object.remove("extensions") {
        None | Some(Value::Null) => None,
        Some(Value::Object(e)) => Some(e),
        Some(_) => return Err("`extensions` must be an object"),
    };
    Ok(Params {
        query,
        variables,
        operation_name,
        extensions,
    })
}

fn params_from_query_string(pairs: &[(String, String)]) -> Result<Params, &'static str> {
    let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let json_object =
        |key: &str, message: &'static str| -> Result<Option<Map<String, Value>>, &'static str> {
            match get(key) {
                None => Ok(None),
                Some(text) if text.is_empty() => Ok(None),
                Some(text) => match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(map)) => Ok(Some(map)),
                    Ok(Value::Null) => Ok(None),
                    _ => Err(message),
                },
            }
        };
    Ok(Params {
        query: get("query"),
        variables: json_object("variables", "`variables` must be a JSON object")?,
        operation_name: get("operationName").filter(|n| !n.is_empty()),
        extensions: json_object("extensions", "`extensions` must be a JSON object")?,
    })
}

fn error_json(message: &str, code: &str) -> Value {
    json!({ "message": message, "extensions": { "code": code } })
}

fn request_error_body(message: &str, code: &str) -> Value {
    json!({ "errors": [error_json(message, code)] })
}

/// A whole-request refusal in the GraphQL shape.
fn refuse(status: StatusCode, media: MediaType, message: &str, code: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(media.as_str())
        .body(request_error_body(message, code).to_string())
}

/// A 401 with a general reason that never echoes the token.
pub fn unauthenticated(reason: &str) -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((
            header::WWW_AUTHENTICATE,
            format!("Bearer error=\"invalid_token\", error_description=\"{reason}\""),
        ))
        .content_type(JSON)
        .body(request_error_body(reason, "UNAUTHENTICATED").to_string())
}

fn internal_error(media: MediaType, request_id: &str) -> HttpResponse {
    HttpResponse::InternalServerError().content_type(media.as_str()).body(
        json!({ "errors": [{ "message": "internal error", "extensions": { "code": "INTERNAL", "requestId": request_id } }] })
            .to_string(),
    )
}

/// The outcome of one operation.
struct Outcome {
    /// The response object, already serialised.
    body: String,
    request_error: bool,
    /// Not a GraphQL request at all (no document): 400 whatever the media type.
    malformed: bool,
    method_not_allowed: bool,
    operation: Option<String>,
    codes: Vec<String>,
}

impl Outcome {
    fn refused(message: &str, code: &str, operation: Option<String>) -> Self {
        Self {
            body: request_error_body(message, code).to_string(),
            request_error: true,
            malformed: false,
            method_not_allowed: false,
            operation,
            codes: vec![code.to_owned()],
        }
    }
}

/// Gives a stable code to errors async-graphql raised itself (validation, limits), and
/// names the offending argument where its message does.
fn classify(error: &mut ServerError) -> String {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if let Some(async_graphql::Value::String(code)) = extensions.get("code") {
        return code.clone();
    }
    let message = error.message.to_lowercase();
    let code = if message.contains("too complex")
        || message.contains("too deep")
        || message.contains("nested too deep")
    {
        "QUERY_TOO_COMPLEX"
    } else {
        "BAD_USER_INPUT"
    };
    extensions.set("code", code);
    if let Some(field) = quoted_argument(&error.message) {
        extensions.set("field", field);
    }
    code.to_owned()
}

/// `Invalid value for argument "input.category", …` → `input.category`.
fn quoted_argument(message: &str) -> Option<String> {
    let start = message.find("argument \"")? + "argument \"".len();
    let rest = &message[start..];
    let end = rest.find('"')?;
    Some(rest[..end].to_owned())
}

async fn execute(
    state: &AppState,
    context: &Arc<RequestContext>,
    params: Params,
    is_get: bool,
) -> Outcome {
    let operation = params.operation_name.clone();
    let sha256 = params
        .extensions
        .as_ref()
        .and_then(|e| e.get("persistedQuery"))
        .and_then(|p| p.get("sha256Hash"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let document = match state.persisted.resolve(
        context.viewer.role,
        params.query.as_deref(),
        sha256.as_deref(),
    ) {
        Resolved::Document(d) if d.trim().is_empty() => {
            let mut outcome = Outcome::refused(
                "a GraphQL document (`query`) is required",
                "BAD_USER_INPUT",
                operation,
            );
            outcome.malformed = true;
            return outcome;
        }
        Resolved::Document(d) => d,
        Resolved::NotFound => {
            return Outcome::refused(
                "PersistedQueryNotFound",
                "PERSISTED_QUERY_NOT_FOUND",
                operation,
            );
        }
        Resolved::HashMismatch => {
            return Outcome::refused(
                "the persisted query hash does not match the document",
                "BAD_USER_INPUT",
                operation,
            );
        }
        Resolved::NotReviewed => {
            return Outcome::refused(
                "this role may run only reviewed operations",
                "FORBIDDEN",
                operation,
            );
        }
    };
    if document.len() > state.limits.max_document_bytes {
        return Outcome::refused(
            &format!(
                "the document is longer than {} bytes",
                state.limits.max_document_bytes
            ),
            "QUERY_TOO_COMPLEX",
            operation,
        );
    }
    let parsed = match async_graphql::parser::parse_query(&document) {
        Ok(parsed) => parsed,
        Err(err) => {
            return Outcome::refused(
                &format!("the document does not parse: {err}"),
                "BAD_USER_INPUT",
                operation,
            );
        }
    };
    if let Some(message) = limits::check(&parsed, state.limits.document) {
        return Outcome::refused(&message, "QUERY_TOO_COMPLEX", operation);
    }
    let selected =
        parsed
            .operations
            .iter()
            .find(|(name, _)| match (&params.operation_name, name) {
                (Some(wanted), Some(name)) => wanted.as_str() == name.as_str(),
                (None, _) => true,
                (Some(_), None) => false,
            });
    if is_get && selected.is_some_and(|(_, op)| op.node.ty != OperationType::Query) {
        let mut outcome = Outcome::refused(
            "only queries may use GET; send mutations with POST",
            "BAD_USER_INPUT",
            operation,
        );
        outcome.method_not_allowed = true;
        return outcome;
    }
    let mut request = async_graphql::Request::new(document).data(context.clone());
    // Parsed once: the limits above already needed the tree.
    request.set_parsed_query(parsed);
    if let Some(name) = &params.operation_name {
        request = request.operation_name(name.clone());
    }
    if let Some(variables) = params.variables {
        request = request.variables(Variables::from_json(Value::Object(variables)));
    }
    let introspection_allowed = match state.limits.introspection {
        Introspection::Always => true,
        Introspection::Authenticated => context.viewer.role != Role::Public,
        Introspection::Never => false,
    };
    if !introspection_allowed {
        request = request.disable_introspection();
    }
    let mut response =
        match tokio::time::timeout(state.limits.timeout, state.schema.execute(request)).await {
            Ok(response) => response,
            Err(_) => {
                return Outcome::refused(
                    &format!(
                        "execution took longer than {} ms",
                        state.limits.timeout.as_millis()
                    ),
                    "QUERY_TOO_COMPLEX",
                    operation,
                );
            }
        };
    let codes: Vec<String> = response.errors.iter_mut().map(classify).collect();
    // A response without data whose errors have no path failed before execution.
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let body = if request_error {
        // Serialised straight to text on the common path; only a request error, whose
        // `data` must be absent rather than null, goes through a JSON tree.
        let mut tree = serde_json::to_value(&response)
            .unwrap_or_else(|_| request_error_body("internal error", "INTERNAL"));
        if let Some(object) = tree.as_object_mut() {
            object.remove("data");
        }
        tree.to_string()
    } else {
        serde_json::to_string(&response)
            .unwrap_or_else(|_| request_error_body("internal error", "INTERNAL").to_string())
    };
    Outcome {
        body,
        request_error,
        malformed: false,
        method_not_allowed: false,
        operation,
        codes,
    }
}

fn client_address(http: &HttpRequest) -> Option<IpAddr> {
    http.peer_addr().map(|a| a.ip())
}

async fn run(
    state: web::Data<AppState>,
    http: HttpRequest,
    request_id: RequestId,
    batch: Vec<Params>,
    is_batch: bool,
    media: MediaType,
    is_get: bool,
) -> HttpResponse {
    let started = Instant::now();
    let header = match http
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str())
    {
        None => None,
        Some(Ok(value)) => Some(value),
        Some(Err(_)) => return unauthenticated("the Authorization header is not `Bearer <token>`"),
    };
    let viewer: Viewer = match state.auth.authenticate(header).await {
        Ok(viewer) => viewer,
        Err(AuthFailure::Token(reason)) => {
            state.metrics.observe(
                None,
                "unauthenticated",
                started.elapsed().as_secs_f64(),
                &["UNAUTHENTICATED".into()],
            );
            return unauthenticated(reason.reason());
        }
        Err(AuthFailure::Internal(err)) => {
            tracing::error!(error = ?err, "authentication could not read the agency");
            return internal_error(media, &request_id.to_string());
        }
    };
    if let Err(wait) = state
        .rate_limits
        .check(viewer.agency_code.as_deref(), client_address(&http))
    {
        state.metrics.observe(
            None,
            "rate_limited",
            started.elapsed().as_secs_f64(),
            &["RATE_LIMITED".into()],
        );
        let seconds = wait.as_secs() + 1;
        return HttpResponse::TooManyRequests()
            .insert_header((header::RETRY_AFTER, seconds.to_string()))
            .content_type(media.as_str())
            .body(
                request_error_body(
                    &format!("too many requests; retry after {seconds} s"),
                    "RATE_LIMITED",
                )
                .to_string(),
            );
    }
    let context = Arc::new(RequestContext::new(
        state.db.clone(),
        viewer,
        request_id.to_string(),
        state.auth.clone(),
    ));
    let mut outcomes = Vec::with_capacity(batch.len());
    for params in batch {
        outcomes.push(execute(&state, &context, params, is_get).await);
    }
    // No answer leaves without its audit rows: if they cannot be written, the data is
    // withheld.
    let reads = context.take_reads();
    if let Err(err) =
        audit::record(&state.db.conn, &context.viewer, &context.request_id, reads).await
    {
        tracing::error!(error = ?err, "cannot write the access log; answer withheld");
        return internal_error(media, &context.request_id);
    }
    let seconds = started.elapsed().as_secs_f64();
    for outcome in &outcomes {
        let result = if outcome.request_error {
            "rejected"
        } else if outcome.codes.is_empty() {
            "ok"
        } else {
            "partial"
        };
        state.metrics.observe(
            outcome.operation.as_deref(),
            result,
            seconds,
            &outcome.codes,
        );
    }
    if !is_batch && outcomes.first().is_some_and(|o| o.method_not_allowed) {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "POST"))
            .content_type(media.as_str())
            .body(outcomes.remove(0).body);
    }
    let (status, body) = if is_batch {
        let items: Vec<String> = outcomes.into_iter().map(|o| o.body).collect();
        (StatusCode::OK, format!("[{}]", items.join(",")))
    } else {
        let outcome = outcomes.remove(0);
        let status = if outcome.malformed
            || (outcome.request_error && media == MediaType::GraphqlResponse)
        {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        (status, outcome.body)
    };
    HttpResponse::build(status)
        .content_type(media.as_str())
        .body(body)
}

fn accepted(http: &HttpRequest) -> Option<MediaType> {
    negotiate(
        http.headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok()),
    )
}

fn not_acceptable() -> HttpResponse {
    refuse(
        StatusCode::NOT_ACCEPTABLE,
        MediaType::Json,
        "accept application/graphql-response+json or application/json",
        "BAD_USER_INPUT",
    )
}

/// `POST /graphql`: one operation, or a batch (a JSON array) of at most `max_batch`.
pub async fn post(
    state: web::Data<AppState>,
    http: HttpRequest,
    request_id: RequestId,
    body: web::Bytes,
) -> HttpResponse {
    let Some(media) = accepted(&http) else {
        return not_acceptable();
    };
    let content_type = http
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence != JSON {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            "send GraphQL requests as application/json",
            "BAD_USER_INPUT",
        );
    }
    let value: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(_) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                media,
                "the body is not valid JSON",
                "BAD_USER_INPUT",
            );
        }
    };
    let (items, is_batch) = match value {
        Value::Array(items) => {
            if state.limits.max_batch <= 1 {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    media,
                    "batched requests are turned off",
                    "BAD_USER_INPUT",
                );
            }
            if items.is_empty() || items.len() > state.limits.max_batch {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    media,
                    &format!("a batch holds 1 to {} operations", state.limits.max_batch),
                    "QUERY_TOO_COMPLEX",
                );
            }
            (items, true)
        }
        single => (vec![single], false),
    };
    let mut batch = Vec::with_capacity(items.len());
    for item in items {
        match params_from_json(item) {
            Ok(params) => batch.push(params),
            Err(message) => {
                return refuse(StatusCode::BAD_REQUEST, media, message, "BAD_USER_INPUT");
            }
        }
    }
    run(state, http, request_id, batch, is_batch, media, false).await
}

/// `GET /graphql?query=…`: queries only.
pub async fn get(
    state: web::Data<AppState>,
    http: HttpRequest,
    request_id: RequestId,
) -> HttpResponse {
    let Some(media) = accepted(&http) else {
        return not_acceptable();
    };
    let pairs: Vec<(String, String)> =
        match web::Query::<Vec<(String, String)>>::from_query(http.query_string()) {
            Ok(pairs) => pairs.into_inner(),
            Err(_) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    media,
                    "the query string does not parse",
                    "BAD_USER_INPUT",
                );
            }
        };
    let params = match params_from_query_string(&pairs) {
        Ok(params) => params,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, media, message, "BAD_USER_INPUT"),
    };
    run(state, http, request_id, vec![params], false, media, true).await
}

/// The SDL of the running schema (the same text as `schema.graphql`).
pub async fn sdl(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(state.schema.sdl())
}

#[cfg(test)]
mod tests {
    use super::{MediaType, negotiate};

    #[test]
    fn accept_headers_choose_the_media_type() {
        assert_eq!(negotiate(None), Some(MediaType::Json));
        assert_eq!(negotiate(Some("application/json")), Some(MediaType::Json));
        assert_eq!(negotiate(Some("*/*")), Some(MediaType::Json));
        assert_eq!(
            negotiate(Some(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(MediaType::GraphqlResponse)
        );
        assert_eq!(
            negotiate(Some("application/json, application/graphql-response+json")),
            Some(MediaType::GraphqlResponse)
        );
        assert_eq!(
            negotiate(Some(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            Some(MediaType::Json)
        );
        assert_eq!(negotiate(Some("text/html")), None);
    }
}
