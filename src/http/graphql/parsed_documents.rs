//! Documents already parsed and measured against the limits, kept so a caller that sends
//! the same document again (every client does: its queries are constants) skips the
//! parser, about a twentieth of a list request's server CPU (BENCHMARKS.md, session 9).
//!
//! A parse and the document limits depend on nothing but the text, so a kept tree is the
//! tree the text would give. Kept per caller (role, agency, subject): whether a document
//! is kept shows in the time of an answer, and a caller must not learn from a clock
//! whether someone else recently sent a document (its literals may name a person). For
//! the same reason PUBLIC callers, who are all one viewer, keep nothing. Bounded by size.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::parser::types::ExecutableDocument;
use moka::sync::Cache;

use crate::auth::viewer::Viewer;

/// At most this many bytes are kept, a tree weighed at `TREE_BYTES_PER_TEXT_BYTE` times
/// its text: a parsed tree keeps a position, a name and a vector for every node, so it is
/// many times the text it came from.
const MAX_BYTES: u64 = 4 * 1024 * 1024;
const TREE_BYTES_PER_TEXT_BYTE: usize = 32;

/// A document unused this long is dropped.
const IDLE: Duration = Duration::from_secs(600);

/// The kept trees.
pub struct ParsedDocuments {
    documents: Cache<Arc<str>, Arc<ExecutableDocument>>,
}

impl Default for ParsedDocuments {
    fn default() -> Self {
        Self {
            documents: Cache::builder()
                .max_capacity(MAX_BYTES)
                .time_to_idle(IDLE)
                .weigher(|key: &Arc<str>, _| {
                    u32::try_from(key.len().saturating_mul(TREE_BYTES_PER_TEXT_BYTE))
                        .unwrap_or(u32::MAX)
                })
                .build(),
        }
    }
}

/// Whose document it is: the key is the caller and the text, never the text alone.
fn key(viewer: &Viewer, document: &str) -> Option<Arc<str>> {
    let subject = viewer.subject.as_deref()?;
    let agency = viewer.agency_code.as_deref().unwrap_or("");
    // Lengths first, so no caller's fields can run into another's document.
    Some(
        format!(
            "{} {} {agency} {} {subject} {document}",
            viewer.role.as_str(),
            agency.len(),
            subject.len()
        )
        .into(),
    )
}

impl ParsedDocuments {
    /// The tree this caller's document gave before, if it is kept.
    pub fn get(&self, viewer: &Viewer, document: &str) -> Option<ExecutableDocument> {
        let key = key(viewer, document)?;
        self.documents.get(&key).map(|tree| (*tree).clone())
    }

    /// Keeps a tree that parsed and passed the limits.
    pub fn keep(&self, viewer: &Viewer, document: &str, tree: &ExecutableDocument) {
        if let Some(key) = key(viewer, document) {
            self.documents.insert(key, Arc::new(tree.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::viewer::Viewer;

    fn tree(document: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(document).expect("parses")
    }

    fn police(subject: &str) -> Viewer {
        let mut viewer = Viewer::public();
        viewer.role = vocabulary::Role::Police;
        viewer.agency_code = Some("POLDA_METRO_JAYA".into());
        viewer.subject = Some(subject.into());
        viewer
    }

    #[test]
    fn a_tree_is_kept_for_its_caller_only_and_never_for_public() {
        let documents = ParsedDocuments::default();
        let text = "{ provinces { code } }";
        let one = police("one");
        let other = police("other");
        documents.keep(&one, text, &tree(text));
        assert!(documents.get(&one, text).is_some());
        assert!(documents.get(&one, "{ provinces { name } }").is_none());
        assert!(documents.get(&other, text).is_none());
        let public = Viewer::public();
        documents.keep(&public, text, &tree(text));
        assert!(documents.get(&public, text).is_none());
    }
}
