//! From the HTTP request to GraphQL parameters: the body read within its time and size
//! limits, then a JSON object (or a batch of them), or the query string of a GET.

use std::time::Duration;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt as _;
use serde_json::{Map, Value};

use crate::error::ErrorCode;
use crate::http::graphql::respond::{JSON, MediaType, refuse};

/// The parameters of one GraphQL request.
#[derive(Debug, Default)]
pub struct Params {
    pub query: Option<String>,
    pub variables: Option<Map<String, Value>>,
    pub operation_name: Option<String>,
    pub extensions: Option<Map<String, Value>>,
}

/// The operations of one request.
pub struct Batch {
    pub items: Vec<Params>,
    /// Sent as a JSON array: answered with an array, whatever its length.
    pub is_batch: bool,
}

/// Why the body could not be read.
pub enum BodyError {
    TooLarge,
    TooSlow,
    Broken,
}

impl BodyError {
    /// The refusal; a slow client's connection is closed, since the rest of its body may
    /// still be on the way.
    pub fn response(&self, media: MediaType, max_bytes: usize) -> HttpResponse {
        match self {
            Self::TooLarge => refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                media,
                &format!("the body is larger than {max_bytes} bytes"),
                ErrorCode::QueryTooComplex,
            ),
            Self::TooSlow => {
                let mut response = refuse(
                    StatusCode::REQUEST_TIMEOUT,
                    media,
                    "the body did not arrive in time",
                    ErrorCode::BadUserInput,
                );
                response
                    .head_mut()
                    .set_connection_type(actix_web::http::ConnectionType::Close);
                response
            }
            Self::Broken => refuse(
                StatusCode::BAD_REQUEST,
                media,
                "the body could not be read",
                ErrorCode::BadUserInput,
            ),
        }
    }
}

/// Reads the whole body, refusing one larger than `max_bytes` (announced or sent) and one
/// that has not fully arrived within `timeout`: actix bounds the time to the headers only,
/// so without this a client trickling a body holds a connection as long as it likes.
pub async fn read_body(
    http: &HttpRequest,
    mut payload: web::Payload,
    max_bytes: usize,
    timeout: Duration,
) -> Result<web::Bytes, BodyError> {
    let announced = http
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > max_bytes) {
        return Err(BodyError::TooLarge);
    }
    let read = async {
        let mut body = web::BytesMut::with_capacity(announced.unwrap_or(0));
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| BodyError::Broken)?;
            if body.len() + chunk.len() > max_bytes {
                return Err(BodyError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or(Err(BodyError::TooSlow))
}

/// Whether a POST's `Content-Type` is JSON (anything else is 415: web pages can post
/// forms and plain text across origins without asking).
pub fn is_json(http: &HttpRequest) -> bool {
    let content_type = http
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .eq_ignore_ascii_case(JSON)
}

/// A POST body: one request object, or an array of at most `max_batch`.
pub fn from_body(body: &[u8], max_batch: usize) -> Result<Batch, (String, ErrorCode)> {
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        (
            "the body is not valid JSON".to_owned(),
            ErrorCode::BadUserInput,
        )
    })?;
    let (items, is_batch) = match value {
        Value::Array(items) => {
            if max_batch <= 1 {
                return Err((
                    "batched requests are turned off".to_owned(),
                    ErrorCode::BadUserInput,
                ));
            }
            if items.is_empty() || items.len() > max_batch {
                return Err((
                    format!("a batch holds 1 to {max_batch} operations"),
                    ErrorCode::QueryTooComplex,
                ));
            }
            (items, true)
        }
        single => (vec![single], false),
    };
    let items = items
        .into_iter()
        .map(from_json)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|message| (message.to_owned(), ErrorCode::BadUserInput))?;
    Ok(Batch { items, is_batch })
}

/// One request object (of a JSON body, or a WebSocket `subscribe` payload).
pub fn from_json(value: Value) -> Result<Params, &'static str> {
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

/// A GET's query string.
pub fn from_query_string(query_string: &str) -> Result<Params, &'static str> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query_string)
        .map_err(|_| "the query string does not parse")?
        .into_inner();
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
