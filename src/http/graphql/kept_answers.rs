//! Answers to queries that read nothing but the reference data, kept so the same query is
//! answered again without executing it. Election-night dashboards and public sites ask the
//! same few questions (the provinces, a province's regencies, the schedule) many times a
//! second, and so do agencies' systems, with their tokens.
//!
//! What makes an answer reusable is decided by construction, not by a list of fields:
//! every path to the database in a request goes through `RequestContext::db`, which marks
//! the operation, and every sensitive read is noted for the access log; an unmarked query
//! with no error and nothing to log read only the in-memory reference data and its
//! viewer, so its answer is a function of the document, its variables and operation name,
//! the reference data's version and the viewer, all of which are the key. Who else may be
//! given it is the policy's `AnswerAudience`: every PUBLIC caller (all one viewer), or for
//! a token only a caller that is the same viewer in every respect, so no caller's answer
//! (`me`, a jurisdiction) reaches another, and no caller learns from an answer's time what
//! another asked. A change of reference data moves the version, so an old answer is never
//! served for it.
//!
//! Two stores, each bounded by size, so the many tokens of election night cannot push out
//! the answers every PUBLIC page shares; a caller's answers expire with its token.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::sync::Cache;
use serde_json::{Map, Value};

use crate::auth::policy::{self, AnswerAudience};
use crate::graphql::context::RequestContext;

/// At most this many bytes of PUBLIC answers are kept.
const MAX_PUBLIC_BYTES: u64 = 16 * 1024 * 1024;

/// At most this many bytes of callers' own answers are kept: less than PUBLIC's, since
/// each is one caller's, and the server's memory goal (BENCHMARKS.md) counts both.
const MAX_CALLER_BYTES: u64 = 8 * 1024 * 1024;

/// What one kept answer costs beyond its texts and its audience, about: the store's entry,
/// the key's own fields and the headers of its shared texts.
const ENTRY_BYTES: usize = 256;

/// What an answer depends on, and whom it may be given to.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct AnswerKey {
    audience: AnswerAudience,
    version: i64,
    document: Arc<str>,
    variables: Option<String>,
    operation: Option<String>,
}

impl AnswerKey {
    /// The key of a query for its caller.
    pub fn for_query(
        context: &RequestContext,
        document: &str,
        variables: Option<&Map<String, Value>>,
        operation: Option<&str>,
    ) -> Self {
        Self {
            audience: policy::answer_audience(&context.viewer),
            version: context.reference().version,
            document: document.into(),
            variables: variables.map(|v| Value::Object(v.clone()).to_string()),
            operation: operation.map(str::to_owned),
        }
    }

    /// Whether the answer is PUBLIC's, shared by every caller without a token.
    pub fn is_public(&self) -> bool {
        self.audience.is_everyone()
    }

    /// What the key and its answer weigh against a store's bound.
    fn weight(&self, body: &Arc<str>) -> u32 {
        let bytes = ENTRY_BYTES
            + self.audience.approximate_bytes()
            + self.document.len()
            + self.variables.as_ref().map_or(0, String::len)
            + self.operation.as_ref().map_or(0, String::len)
            + body.len();
        u32::try_from(bytes).unwrap_or(u32::MAX)
    }
}

/// A caller's answer lives no longer than its token: after that no request can be its
/// caller's, so it would only take room.
struct UntilTokenExpires;

impl Expiry<AnswerKey, Arc<str>> for UntilTokenExpires {
    fn expire_after_create(&self, key: &AnswerKey, _: &Arc<str>, _: Instant) -> Option<Duration> {
        let expires_at = key.audience.expires_at()?;
        let now = crate::auth::jwt::unix_now();
        Some(Duration::from_secs(expires_at.saturating_sub(now)))
    }
}

/// What an executed operation reached, as far as keeping its answer is concerned: the
/// request's context answers it; the tests answer it without a database.
pub trait Provenance {
    /// Whether everything the operation read came from the reference data in memory.
    fn read_only_reference_data(&self) -> bool;
    /// Whether a sensitive read was noted for the access log.
    fn has_reads(&self) -> bool;
    /// The version of the reference data the instance holds now.
    fn reference_version(&self) -> i64;
}

impl Provenance for RequestContext {
    fn read_only_reference_data(&self) -> bool {
        RequestContext::read_only_reference_data(self)
    }
    fn has_reads(&self) -> bool {
        RequestContext::has_reads(self)
    }
    fn reference_version(&self) -> i64 {
        self.reference().version
    }
}

/// The kept answers.
pub struct KeptAnswers {
    public: Cache<AnswerKey, Arc<str>>,
    callers: Cache<AnswerKey, Arc<str>>,
}

impl Default for KeptAnswers {
    fn default() -> Self {
        Self {
            public: Cache::builder()
                .max_capacity(MAX_PUBLIC_BYTES)
                .weigher(|key: &AnswerKey, body: &Arc<str>| key.weight(body))
                .build(),
            callers: Cache::builder()
                .max_capacity(MAX_CALLER_BYTES)
                .weigher(|key: &AnswerKey, body: &Arc<str>| key.weight(body))
                .expire_after(UntilTokenExpires)
                .build(),
        }
    }
}

impl KeptAnswers {
    fn store(&self, key: &AnswerKey) -> &Cache<AnswerKey, Arc<str>> {
        if key.is_public() {
            &self.public
        } else {
            &self.callers
        }
    }

    /// The kept answer for a key.
    pub fn get(&self, key: &AnswerKey) -> Option<Arc<str>> {
        self.store(key).get(key)
    }

    /// Keeps an answer if the operation read only reference data, of the key's version
    /// (the version still current after execution: versions only grow, so no reload
    /// happened in between and no resolver read a newer snapshot), noted nothing for the
    /// access log (a kept answer would leave without its audit row) and had no error.
    pub fn keep(&self, key: AnswerKey, context: &dyn Provenance, body: &str, had_errors: bool) {
        if !had_errors
            && context.read_only_reference_data()
            && !context.has_reads()
            && context.reference_version() == key.version
        {
            self.store(&key).insert(key, body.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::viewer::Viewer;
    use crate::domain::types::Role;

    fn now() -> u64 {
        u64::try_from(chrono::Utc::now().timestamp()).expect("after 1970")
    }

    fn key_for(viewer: &Viewer) -> AnswerKey {
        AnswerKey {
            audience: policy::answer_audience(viewer),
            version: 1,
            document: "{ provinces { code } }".into(),
            variables: None,
            operation: None,
        }
    }

    fn officer(expires_at: u64) -> Viewer {
        let mut viewer = Viewer::public();
        viewer.role = Role::Police;
        viewer.agency_code = Some("POLDA_METRO_JAYA".into());
        viewer.subject = Some("officer-a".into());
        viewer.expires_at = Some(expires_at);
        viewer
    }

    #[test]
    fn a_callers_answer_lives_until_its_token_expires_and_publics_until_pushed_out() {
        let body: Arc<str> = "{}".into();
        let in_an_hour = UntilTokenExpires
            .expire_after_create(&key_for(&officer(now() + 3600)), &body, Instant::now())
            .expect("a caller's answer expires");
        assert!(in_an_hour > Duration::from_secs(3500) && in_an_hour <= Duration::from_secs(3600));
        assert_eq!(
            UntilTokenExpires.expire_after_create(
                &key_for(&officer(now() - 5)),
                &body,
                Instant::now()
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(
            UntilTokenExpires.expire_after_create(
                &key_for(&Viewer::public()),
                &body,
                Instant::now()
            ),
            None
        );

        // The store applies it: an answer kept for a token that has expired is not served.
        let answers = KeptAnswers::default();
        let expired = key_for(&officer(now() - 5));
        answers.callers.insert(expired.clone(), body.clone());
        assert!(answers.get(&expired).is_none());
        let current = key_for(&officer(now() + 3600));
        answers.callers.insert(current.clone(), body.clone());
        assert_eq!(answers.get(&current), Some(body));
    }

    /// What an operation reached, set by hand.
    #[derive(Clone, Copy)]
    struct Reached {
        reference_only: bool,
        reads: bool,
        version: i64,
    }

    impl Provenance for Reached {
        fn read_only_reference_data(&self) -> bool {
            self.reference_only
        }
        fn has_reads(&self) -> bool {
            self.reads
        }
        fn reference_version(&self) -> i64 {
            self.version
        }
    }

    #[test]
    fn an_answer_is_kept_only_when_nothing_but_unchanged_reference_data_was_read_and_nothing_logged()
     {
        let clean = Reached {
            reference_only: true,
            reads: false,
            version: 1,
        };
        let kept = |reached: Reached, had_errors: bool| {
            let answers = KeptAnswers::default();
            for viewer in [Viewer::public(), officer(now() + 3600)] {
                answers.keep(key_for(&viewer), &reached, "{}", had_errors);
            }
            [Viewer::public(), officer(now() + 3600)]
                .map(|viewer| answers.get(&key_for(&viewer)).is_some())
        };
        assert_eq!(kept(clean, false), [true, true]);
        assert_eq!(kept(clean, true), [false, false], "an answer with errors");
        // A read noted for the access log would leave again without its audit row.
        let logged = Reached {
            reads: true,
            ..clean
        };
        assert_eq!(kept(logged, false), [false, false], "a noted read");
        let database = Reached {
            reference_only: false,
            ..clean
        };
        assert_eq!(
            kept(database, false),
            [false, false],
            "the database reached"
        );
        let reloaded = Reached {
            version: 2,
            ..clean
        };
        assert_eq!(
            kept(reloaded, false),
            [false, false],
            "a reload during execution"
        );
    }

    #[test]
    fn a_callers_answer_weighs_its_caller_too() {
        let body: Arc<str> = "{}".into();
        let public = key_for(&Viewer::public()).weight(&body);
        let caller = key_for(&officer(now())).weight(&body);
        assert!(public >= u32::try_from(ENTRY_BYTES).expect("small"));
        assert!(caller > public);
    }
}
