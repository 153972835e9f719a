//! `POST /graphql`, `GET /graphql` and `GET /graphiql`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::http::GraphiQLSource;
use async_graphql_actix_web::GraphQLRequest;
use tracing_actix_web::RequestId;

use crate::auth::viewer::AuthFailure;
use crate::domain::audit;
use crate::graphql::context::RequestContext;
use crate::http::server::AppState;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// Runs one GraphQL request (from a POST body or a GET query string).
pub async fn graphql(
    state: web::Data<AppState>,
    http: HttpRequest,
    request_id: RequestId,
    request: GraphQLRequest,
) -> HttpResponse {
    let request = request.into_inner();
    if http.method() == actix_web::http::Method::GET && is_mutation(&request) {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "POST"))
            .json(serde_json::json!({
                "errors": [{ "message": "mutations must use POST", "extensions": { "code": "BAD_USER_INPUT" } }]
            }));
    }
    let header = http
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| value.to_str());
    let header = match header {
        None => None,
        Some(Ok(value)) => Some(value),
        Some(Err(_)) => return unauthenticated("the Authorization header is not `Bearer <token>`"),
    };
    let viewer = match state.auth.authenticate(header).await {
        Ok(viewer) => viewer,
        Err(AuthFailure::Token(reason)) => return unauthenticated(reason.reason()),
        Err(AuthFailure::Internal(err)) => {
            tracing::error!(error = ?err, "authentication could not read the agency");
            return internal_error(&request_id.to_string());
        }
    };
    let context = RequestContext::new(
        state.db.clone(),
        viewer,
        request_id.to_string(),
        state.auth.clone(),
    );
    let context = std::sync::Arc::new(context);
    let mut response = state.schema.execute(request.data(context.clone())).await;
    classify_errors(&mut response);
    // No answer leaves without its audit rows: if they cannot be written, the data is
    // withheld.
    let reads = context.take_reads();
    if let Err(err) =
        audit::record(&state.db.conn, &context.viewer, &context.request_id, reads).await
    {
        tracing::error!(error = ?err, "cannot write the access log; answer withheld");
        return internal_error(&context.request_id);
    }
    respond(&http, response)
}

/// A 401 in the GraphQL shape, with a general reason that never echoes the token.
pub fn unauthenticated(reason: &str) -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((
            header::WWW_AUTHENTICATE,
            format!("Bearer error=\"invalid_token\", error_description=\"{reason}\""),
        ))
        .json(serde_json::json!({
            "errors": [{ "message": reason, "extensions": { "code": "UNAUTHENTICATED" } }]
        }))
}

fn internal_error(request_id: &str) -> HttpResponse {
    HttpResponse::InternalServerError().json(serde_json::json!({
        "errors": [{
            "message": "internal error",
            "extensions": { "code": "INTERNAL", "requestId": request_id }
        }]
    }))
}

/// Gives a stable code to errors async-graphql raised itself (parse, validation, limits),
/// and names the offending argument or input field where its message does.
fn classify_errors(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_some() {
            continue;
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
    }
}

/// The first `"…"` that names an argument path in a validation message, e.g.
/// `Invalid value for argument "input.category", …` → `input.category`.
fn quoted_argument(message: &str) -> Option<String> {
    let start = message.find("argument \"")? + "argument \"".len();
    let rest = &message[start..];
    let end = rest.find('"')?;
    Some(rest[..end].to_owned())
}

fn is_mutation(request: &async_graphql::Request) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    document.operations.iter().any(|(name, op)| {
        let selected = match (&request.operation_name, name) {
            (Some(wanted), Some(name)) => wanted.as_str() == name.as_str(),
            (None, _) => true,
            (Some(_), None) => false,
        };
        selected && op.node.ty == async_graphql::parser::types::OperationType::Mutation
    })
}

/// Serialises a response with the media type the client accepts; a request that failed
/// before execution (no `data`) is a 400 (GraphQL over HTTP).
fn respond(http: &HttpRequest, response: async_graphql::Response) -> HttpResponse {
    let accept = http
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media_type = if accept.contains(GRAPHQL_RESPONSE) {
        GRAPHQL_RESPONSE
    } else {
        "application/json"
    };
    let request_failed = response.data == async_graphql::Value::Null && response.is_err();
    let status = if request_failed && media_type == GRAPHQL_RESPONSE {
        actix_web::http::StatusCode::BAD_REQUEST
    } else {
        actix_web::http::StatusCode::OK
    };
    match serde_json::to_vec(&response) {
        Ok(body) => HttpResponse::build(status)
            .content_type(media_type)
            .body(body),
        Err(err) => {
            tracing::error!(error = %err, "cannot serialise a GraphQL response");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// GraphiQL, pointed at this service's endpoint.
pub async fn graphiql() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(GraphiQLSource::build().endpoint("/graphql").finish())
}

/// The SDL of the running schema (the same text as `schema.graphql`).
pub async fn sdl(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(state.schema.sdl())
}
