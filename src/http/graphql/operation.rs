//! One operation of a request, step by step: the document (sent, or registered by hash),
//! its cost, its strings, then execution within the time limit.

use std::sync::Arc;

use async_graphql::Variables;
use async_graphql::parser::types::{ExecutableDocument, OperationDefinition, OperationType};
use serde_json::{Map, Value};

use crate::auth::policy;
use crate::auth::viewer::Viewer;
use crate::config::Introspection;
use crate::domain::types::Role;
use crate::error::ErrorCode;
use crate::graphql::context::RequestContext;
use crate::http::fanout::Sharing;
use crate::http::graphql::kept_answers::AnswerKey;
use crate::http::graphql::params::Params;
use crate::http::graphql::respond::{Outcome, request_error_body, settle};
use crate::http::limits::{self, Refusal};
use crate::http::persisted::Resolved;
use crate::http::server::AppState;
use crate::http::text;

/// Whether the endpoint's rule lets this role introspect the schema.
pub fn introspection_allowed(rule: Introspection, role: Role) -> bool {
    match rule {
        Introspection::Always => true,
        Introspection::Authenticated => role != Role::Public,
        Introspection::Never => false,
    }
}

/// An operation that passed every check before execution.
pub struct Prepared {
    pub request: async_graphql::Request,
    pub kind: Option<OperationType>,
    pub operation: Option<String>,
    /// Set for a subscription whose pushes other subscribers may share (`fanout`).
    pub sharing: Option<Sharing>,
}

/// Every step before execution, for any transport: the document (sent or registered), its
/// cost, its strings, and the request to execute. A refusal is the outcome to answer.
pub fn prepare(
    state: &AppState,
    context: &Arc<RequestContext>,
    params: Params,
) -> Result<Prepared, Outcome> {
    let document = document(state, context, &params)?;
    prepare_document(state, context, params, document)
}

/// `prepare` once the document is resolved.
fn prepare_document(
    state: &AppState,
    context: &Arc<RequestContext>,
    params: Params,
    document: String,
) -> Result<Prepared, Outcome> {
    let operation = params.operation_name.clone();
    let parsed = match cost(state, &context.viewer, &document, params.variables.as_ref()) {
        Ok(parsed) => parsed,
        Err(refusal) => {
            let (message, code) = match refusal {
                Refusal::TooComplex(message) => (message, ErrorCode::QueryTooComplex),
                Refusal::Invalid(message) => (message, ErrorCode::BadUserInput),
            };
            return Err(Outcome::refused(&message, code, operation));
        }
    };
    let kind = selected_kind(&parsed, params.operation_name.as_deref());
    crate::telemetry::record_operation(
        operation.as_deref(),
        kind.map(|kind| match kind {
            OperationType::Query => "query",
            OperationType::Mutation => "mutation",
            OperationType::Subscription => "subscription",
        }),
    );
    if let Some(field) = text::find_nul(&parsed, params.variables.as_ref()) {
        return Err(Outcome::refused_at(
            "text may not contain the NUL character (U+0000)",
            ErrorCode::BadUserInput,
            &field,
            operation,
        ));
    }
    let sharing = (kind == Some(OperationType::Subscription))
        .then(|| {
            Sharing::of(
                policy::shared_audience(&context.viewer),
                &document,
                &parsed,
                params.variables.as_ref(),
                params.operation_name.as_deref(),
            )
        })
        .flatten();
    let mut request = async_graphql::Request::new(document).data(context.clone());
    // Parsed once: the limits above already needed the tree.
    request.set_parsed_query(parsed);
    if let Some(name) = &params.operation_name {
        request = request.operation_name(name.clone());
    }
    if let Some(variables) = params.variables {
        request = request.variables(Variables::from_json(Value::Object(variables)));
    }
    if !introspection_allowed(state.limits.introspection, context.viewer.role) {
        request = request.disable_introspection();
    }
    Ok(Prepared {
        request,
        kind,
        operation,
        sharing,
    })
}

/// Runs one operation of an HTTP request for its caller.
pub async fn run(
    state: &AppState,
    context: &Arc<RequestContext>,
    params: Params,
    is_get: bool,
) -> Outcome {
    // Resolved once: a registered document's hash is checked and a new one registered
    // here, not again for the kept answer and for execution.
    let document = match document(state, context, &params) {
        Ok(document) => document,
        Err(outcome) => return outcome,
    };
    let key = answer_key(state, context, &params, &document);
    if let Some(outcome) = key
        .as_ref()
        .and_then(|key| kept_answer(state, key, &params))
    {
        return outcome;
    }
    let prepared = match prepare_document(state, context, params, document) {
        Ok(prepared) => prepared,
        Err(outcome) => return outcome,
    };
    if is_get
        && prepared
            .kind
            .is_some_and(|kind| kind != OperationType::Query)
    {
        let mut outcome = Outcome::refused(
            "only queries may use GET; send mutations with POST",
            ErrorCode::BadUserInput,
            prepared.operation,
        );
        outcome.method_not_allowed = true;
        return outcome;
    }
    // Only a query's answer may be kept: a mutation's is the outcome of its write.
    let Some(key) = key.filter(|_| prepared.kind == Some(OperationType::Query)) else {
        return execute(state, prepared).await;
    };
    let outcome = execute(state, prepared).await;
    state.kept_answers.keep(
        key,
        context.as_ref(),
        &outcome.body,
        outcome.request_error || !outcome.codes.is_empty(),
    );
    outcome
}

/// The key an answer to this document would be kept under, made once per operation (for
/// the lookup and for keeping what execution answers).
fn answer_key(
    state: &AppState,
    context: &RequestContext,
    params: &Params,
    document: &str,
) -> Option<AnswerKey> {
    // Nothing longer than a document may be is kept: no key is made for it.
    (document.len() <= state.limits.max_document_bytes).then(|| {
        AnswerKey::for_query(
            context,
            document,
            params.variables.as_ref(),
            params.operation_name.as_deref(),
        )
    })
}

/// A query's kept answer, before any parsing: an answer is kept only for a document that
/// passed every step below with these variables, this operation name and this caller
/// (the key's audience), and every limit is fixed for the life of the process, so the
/// steps would pass again. Parsing is about a third of the CPU of a kept answer
/// (BENCHMARKS.md, session 9).
fn kept_answer(state: &AppState, key: &AnswerKey, params: &Params) -> Option<Outcome> {
    let body = state.kept_answers.get(key)?;
    crate::telemetry::record_operation(params.operation_name.as_deref(), Some("query"));
    state.metrics.answer_reused(key.is_public());
    Some(Outcome::answered(
        body.to_string(),
        params.operation_name.clone(),
    ))
}

/// The document to run: the one sent, or the registered one its hash names.
fn document(
    state: &AppState,
    context: &RequestContext,
    params: &Params,
) -> Result<String, Outcome> {
    let operation = || params.operation_name.clone();
    let sha256 = params
        .extensions
        .as_ref()
        .and_then(|e| e.get("persistedQuery"))
        .and_then(|p| p.get("sha256Hash"))
        .and_then(Value::as_str);
    match state
        .persisted
        .resolve(context.viewer.role, params.query.as_deref(), sha256)
    {
        Resolved::Document(d) if d.trim().is_empty() => {
            let mut outcome = Outcome::refused(
                "a GraphQL document (`query`) is required",
                ErrorCode::BadUserInput,
                operation(),
            );
            outcome.malformed = true;
            Err(outcome)
        }
        Resolved::Document(d) => Ok(d),
        Resolved::NotFound => Err(Outcome::refused(
            "PersistedQueryNotFound",
            ErrorCode::PersistedQueryNotFound,
            operation(),
        )),
        Resolved::HashMismatch => Err(Outcome::refused(
            "the persisted query hash does not match the document",
            ErrorCode::BadUserInput,
            operation(),
        )),
        Resolved::NotReviewed => Err(Outcome::refused(
            "this role may run only reviewed operations",
            ErrorCode::Forbidden,
            operation(),
        )),
    }
}

/// Parses the document and measures it and the variables against the limits. Nothing
/// here is more than linear in the request's size, so a refusal costs little whatever the
/// document would expand to.
fn cost(
    state: &AppState,
    viewer: &Viewer,
    document: &str,
    variables: Option<&Map<String, Value>>,
) -> Result<ExecutableDocument, Refusal> {
    let limits = &state.limits;
    let check_variables = || match variables {
        Some(variables) => limits::check_variables(variables, limits.variables),
        None => Ok(()),
    };
    if document.len() > limits.max_document_bytes {
        return Err(Refusal::TooComplex(format!(
            "the document is longer than {} bytes",
            limits.max_document_bytes
        )));
    }
    if let Some(parsed) = state.parsed_documents.get(viewer, document) {
        check_variables()?;
        return Ok(parsed);
    }
    limits::check_text(document)?;
    let parsed = async_graphql::parser::parse_query(document)
        .map_err(|err| Refusal::Invalid(format!("the document does not parse: {err}")))?;
    limits::check(&parsed, limits.document)?;
    state.parsed_documents.keep(viewer, document, &parsed);
    check_variables()?;
    Ok(parsed)
}

/// The operation the request selects, if the document has it.
pub fn selected<'a>(
    parsed: &'a ExecutableDocument,
    wanted: Option<&str>,
) -> Option<&'a OperationDefinition> {
    parsed
        .operations
        .iter()
        .find(|(name, _)| match (wanted, name) {
            (Some(wanted), Some(name)) => wanted == name.as_str(),
            (None, _) => true,
            (Some(_), None) => false,
        })
        .map(|(_, operation)| &operation.node)
}

/// The type of the operation the request selects, if the document has it.
fn selected_kind(parsed: &ExecutableDocument, wanted: Option<&str>) -> Option<OperationType> {
    selected(parsed, wanted).map(|operation| operation.ty)
}

/// Executes a prepared query or mutation within the time limit.
pub async fn execute(state: &AppState, prepared: Prepared) -> Outcome {
    let Prepared {
        request,
        kind,
        operation,
        ..
    } = prepared;
    let timeout = state.limits.timeout;
    let Ok(mut response) = tokio::time::timeout(timeout, state.schema.execute(request)).await
    else {
        let millis = timeout.as_millis();
        let message = if kind == Some(OperationType::Mutation) {
            format!(
                "the mutation did not finish within {millis} ms and its outcome is unknown; \
                 retry with the same idempotencyKey or expectedVersion to find out"
            )
        } else {
            format!("the operation did not finish within {millis} ms")
        };
        return Outcome::refused(&message, ErrorCode::Timeout, operation);
    };
    let codes = settle(&mut response);
    // A response without data whose errors have no path failed before execution.
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let body = if request_error {
        // Serialised straight to text on the common path; only a request error, whose
        // `data` must be absent rather than null, goes through a JSON tree.
        let mut tree = serde_json::to_value(&response)
            .unwrap_or_else(|_| request_error_body("internal error", ErrorCode::Internal));
        if let Some(object) = tree.as_object_mut() {
            object.remove("data");
        }
        tree.to_string()
    } else {
        serde_json::to_string(&response).unwrap_or_else(|_| {
            request_error_body("internal error", ErrorCode::Internal).to_string()
        })
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
