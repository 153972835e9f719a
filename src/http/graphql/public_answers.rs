//! Answers to PUBLIC queries that read nothing but the reference data, kept so the same
//! query is answered again without executing it. Election-night dashboards and public
//! sites ask the same few questions (the provinces, a province's regencies, the schedule)
//! many times a second.
//!
//! What makes an answer reusable is decided by construction, not by a list of fields:
//! every path to the database in a request goes through `RequestContext::db`, which marks
//! the operation; an unmarked PUBLIC query with no error read only the in-memory reference
//! data, so its answer is a function of the document, its variables and operation name,
//! and the reference data's version, all of which are the key. All PUBLIC callers are the
//! same viewer, so no caller's data can reach another. A change of reference data moves
//! the version, so an old answer is never served for it. Bounded by total size.

use std::sync::Arc;

use moka::sync::Cache;
use serde_json::{Map, Value};

use crate::auth::policy;
use crate::graphql::context::RequestContext;

/// At most this many bytes of answers are kept.
const MAX_BYTES: u64 = 16 * 1024 * 1024;

/// What an answer depends on.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct AnswerKey {
    version: i64,
    document: Arc<str>,
    variables: Option<String>,
    operation: Option<String>,
}

impl AnswerKey {
    /// The key of a query, when its caller is PUBLIC (the only viewer whose answers are
    /// shared); `None` otherwise.
    pub fn for_public_query(
        context: &RequestContext,
        document: &str,
        variables: Option<&Map<String, Value>>,
        operation: Option<&str>,
    ) -> Option<Self> {
        policy::answers_are_shared(&context.viewer).then(|| Self {
            version: context.reference().version,
            document: document.into(),
            variables: variables.map(|v| Value::Object(v.clone()).to_string()),
            operation: operation.map(str::to_owned),
        })
    }
}

/// The kept answers.
pub struct PublicAnswers {
    answers: Cache<AnswerKey, Arc<str>>,
}

impl Default for PublicAnswers {
    fn default() -> Self {
        Self {
            answers: Cache::builder()
                .max_capacity(MAX_BYTES)
                .weigher(|key: &AnswerKey, body: &Arc<str>| {
                    u32::try_from(key.document.len() + body.len()).unwrap_or(u32::MAX)
                })
                .build(),
        }
    }
}

impl PublicAnswers {
    /// The kept answer for a key.
    pub fn get(&self, key: &AnswerKey) -> Option<Arc<str>> {
        self.answers.get(key)
    }

    /// Keeps an answer if the operation read only reference data and had no error.
    pub fn keep(&self, key: AnswerKey, context: &RequestContext, body: &str, had_errors: bool) {
        if !had_errors && context.read_only_reference_data() {
            self.answers.insert(key, body.into());
        }
    }
}
