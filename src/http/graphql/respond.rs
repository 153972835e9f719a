//! What the endpoint answers: the media type negotiated from `Accept`, refusals in the
//! GraphQL shape, the code of each error, and the HTTP status of the whole answer.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use async_graphql::ServerError;
use serde_json::{Value, json};

use crate::error::ErrorCode;

pub const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
pub const JSON: &str = "application/json";

/// How long a client is asked to wait before retrying while the database is unreachable.
const RETRY_AFTER_UNAVAILABLE_SECS: u32 = 5;

/// The media type chosen for the answer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MediaType {
    GraphqlResponse,
    Json,
}

impl MediaType {
    pub fn as_str(self) -> &'static str {
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

/// The media type `Accept` asks for.
pub fn accepted(http: &actix_web::HttpRequest) -> Option<MediaType> {
    negotiate(
        http.headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok()),
    )
}

fn error_json(message: &str, code: ErrorCode) -> Value {
    json!({ "message": message, "extensions": { "code": code.as_str() } })
}

pub fn request_error_body(message: &str, code: ErrorCode) -> Value {
    json!({ "errors": [error_json(message, code)] })
}

/// A whole-request refusal in the GraphQL shape.
pub fn refuse(
    status: StatusCode,
    media: MediaType,
    message: &str,
    code: ErrorCode,
) -> HttpResponse {
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
        .body(request_error_body(reason, ErrorCode::Unauthenticated).to_string())
}

pub fn internal_error(media: MediaType, request_id: &str) -> HttpResponse {
    HttpResponse::InternalServerError().content_type(media.as_str()).body(
        json!({ "errors": [{ "message": "internal error", "extensions": { "code": "INTERNAL", "requestId": request_id } }] })
            .to_string(),
    )
}

/// A 503 with `Retry-After`, for a request the database could not serve.
pub fn service_unavailable(media: MediaType, body: String) -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .insert_header((
            header::RETRY_AFTER,
            RETRY_AFTER_UNAVAILABLE_SECS.to_string(),
        ))
        .content_type(media.as_str())
        .body(body)
}

/// The body of a 503 refusal.
pub fn unavailable_body() -> String {
    request_error_body(
        "the database cannot be reached; retry later",
        ErrorCode::ServiceUnavailable,
    )
    .to_string()
}

/// The outcome of one operation.
pub struct Outcome {
    /// The response object, already serialised.
    pub body: String,
    pub request_error: bool,
    /// Not a GraphQL request at all (no document): 400 whatever the media type.
    pub malformed: bool,
    pub method_not_allowed: bool,
    pub operation: Option<String>,
    pub codes: Vec<String>,
}

impl Outcome {
    /// A successful answer already serialised (kept from an earlier identical query).
    pub fn answered(body: String, operation: Option<String>) -> Self {
        Self {
            body,
            request_error: false,
            malformed: false,
            method_not_allowed: false,
            operation,
            codes: Vec::new(),
        }
    }

    pub fn refused(message: &str, code: ErrorCode, operation: Option<String>) -> Self {
        Self {
            body: request_error_body(message, code).to_string(),
            request_error: true,
            malformed: false,
            method_not_allowed: false,
            operation,
            codes: vec![code.as_str().to_owned()],
        }
    }

    /// A refusal naming the argument at fault in `extensions.field`.
    pub fn refused_at(
        message: &str,
        code: ErrorCode,
        field: &str,
        operation: Option<String>,
    ) -> Self {
        let mut outcome = Self::refused(message, code, operation);
        outcome.body = json!({ "errors": [{
            "message": message,
            "extensions": { "code": code.as_str(), "field": field },
        }] })
        .to_string();
        outcome
    }

    /// Whether the database failed this operation.
    pub fn unavailable(&self) -> bool {
        self.codes
            .iter()
            .any(|c| c == ErrorCode::ServiceUnavailable.as_str())
    }

    /// The outcome's label for metrics.
    pub fn result(&self) -> &'static str {
        if self.request_error {
            "rejected"
        } else if self.codes.is_empty() {
            "ok"
        } else {
            "partial"
        }
    }
}

/// Gives every error of an executed response its code and puts `null` where a field
/// failed; returns the codes (for metrics). Every transport answers through it.
pub fn settle(response: &mut async_graphql::Response) -> Vec<String> {
    let codes = response.errors.iter_mut().map(classify).collect();
    null_at_error_paths(response);
    codes
}

/// Puts `null` where a field failed. async-graphql 7 leaves a failed nullable field out
/// of its object; the GraphQL spec (and CONTRACT.md: "null with an error at its path")
/// wants it present and null, so that clients can tell "forbidden" from "not selected".
pub fn null_at_error_paths(response: &mut async_graphql::Response) {
    use async_graphql::{PathSegment, Value};
    fn at<'a>(node: &'a mut Value, path: &[PathSegment]) -> Option<&'a mut Value> {
        let Some((first, rest)) = path.split_first() else {
            return Some(node);
        };
        let child = match (first, node) {
            (PathSegment::Field(name), Value::Object(object)) => object.get_mut(name.as_str())?,
            (PathSegment::Index(index), Value::List(items)) => items.get_mut(*index)?,
            _ => return None,
        };
        at(child, rest)
    }
    for error in &response.errors {
        let Some((PathSegment::Field(name), parents)) = error.path.split_last() else {
            continue;
        };
        if let Some(Value::Object(object)) = at(&mut response.data, parents) {
            object
                .entry(async_graphql::Name::new(name))
                .or_insert(Value::Null);
        }
    }
}

/// The code of an error from execution. Our resolvers and our own checks attach a code to
/// every error they raise; an error without one can only come from async-graphql's own
/// validation or input coercion, which is the client's document or variables at fault.
pub fn classify(error: &mut ServerError) -> String {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if let Some(async_graphql::Value::String(code)) = extensions.get("code") {
        return code.clone();
    }
    if let Some(code) = crate::graphql::schema::explain_validation_error(error) {
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", code.as_str());
        return code.as_str().to_owned();
    }
    let extensions = error.extensions.get_or_insert_with(Default::default);
    let code = ErrorCode::BadUserInput.as_str();
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

/// The answer to a request of one operation or a batch.
pub fn answer(mut outcomes: Vec<Outcome>, is_batch: bool, media: MediaType) -> HttpResponse {
    if is_batch {
        let items: Vec<String> = outcomes.into_iter().map(|o| o.body).collect();
        return HttpResponse::Ok()
            .content_type(media.as_str())
            .body(format!("[{}]", items.join(",")));
    }
    let Some(outcome) = outcomes.pop() else {
        return HttpResponse::Ok()
            .content_type(media.as_str())
            .body(request_error_body("no operation", ErrorCode::BadUserInput).to_string());
    };
    if outcome.method_not_allowed {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "POST"))
            .content_type(media.as_str())
            .body(outcome.body);
    }
    if outcome.unavailable() {
        return service_unavailable(media, outcome.body);
    }
    let status =
        if outcome.malformed || (outcome.request_error && media == MediaType::GraphqlResponse) {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
    HttpResponse::build(status)
        .content_type(media.as_str())
        .body(outcome.body)
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
