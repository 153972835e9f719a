//! Tokens this instance has already verified, so a caller's next request with the same
//! token skips base64, two JSON parses and the signature: a sixth of the server's work
//! for a member's kept answer (BENCHMARKS.md, session 14). Agencies' systems and
//! dashboards send one token for hours.
//!
//! Only what a verification would decide again the same way is reused:
//! - the key is the SHA-256 of the whole token text, so a hit means these exact bytes were
//!   verified (a changed signature, claim or header is another key), and the store never
//!   holds a credential;
//! - only successes are kept (a refused token is verified again each time, so garbage
//!   cannot fill the store: an entry needs a valid signature);
//! - what depends on the clock (`exp`, `nbf`, `iat` with the leeway) is checked again on
//!   every hit by `jwt::check_times`, the same function the full verification ends with;
//! - a token verified while keys come from a URL is reused only while that key set is the
//!   one in force: a fetch that changes the set, a retired key's included, sends every
//!   token through the full verification again (`jwks` keeps the set when a fetch brings
//!   the same document, so a caller that forces refreshes with unknown `kid`s cannot empty
//!   the store). Configured keys never change while running.
//!
//! A hit is faster than a miss, which tells a caller only whether the token it holds was
//! used here recently: nothing about another caller, since only the token's holder can
//! present it.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::sync::Cache;
use sha2::{Digest, Sha256};

use crate::auth::jwt::{Claims, VerifyingKey, unix_now};

/// About this many bytes of verified tokens are kept (some 10 000 callers).
const MAX_BYTES: u64 = 4 * 1024 * 1024;

/// What one entry costs beyond its claims' texts, about: the digest, moka's own entry and
/// its bookkeeping, the claims' fixed fields.
const ENTRY_BYTES: usize = 384;

/// The digest of a token's text.
type TokenDigest = [u8; 32];

/// One verified token.
pub struct Verified {
    pub claims: Claims,
    /// The remote key set in force when it was verified, if keys come from a URL. Weak: an
    /// entry must not keep a replaced set alive, and the allocation it pins keeps the
    /// address from being reused by a later set while the entry lives.
    remote_keys: Option<Weak<Vec<VerifyingKey>>>,
}

impl Verified {
    fn weight(&self) -> u32 {
        let claims = &self.claims;
        let bytes = ENTRY_BYTES
            + claims.sub.len()
            + claims.role.len()
            + claims.agency.len()
            + claims.iss.as_ref().map_or(0, String::len)
            + claims.aud.as_ref().map_or(0, approximate_json_bytes);
        u32::try_from(bytes).unwrap_or(u32::MAX)
    }
}

/// About what a parsed JSON value holds in memory: its text counts for little beside one
/// `Value`, a header and an allocation per node (an `aud` list of one-letter names takes
/// some twenty times its text). Depth is bounded by serde_json's parser (128).
fn approximate_json_bytes(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    const NODE_BYTES: usize = 64;
    match value {
        Value::Array(items) => NODE_BYTES + items.iter().map(approximate_json_bytes).sum::<usize>(),
        Value::Object(fields) => {
            NODE_BYTES
                + fields
                    .iter()
                    .map(|(name, value)| NODE_BYTES + name.len() + approximate_json_bytes(value))
                    .sum::<usize>()
        }
        Value::String(text) => NODE_BYTES + text.len(),
        Value::Null | Value::Bool(_) | Value::Number(_) => NODE_BYTES,
    }
}

/// An entry lives no longer than its token could pass (`exp` plus the leeway): after that
/// it would only take room.
struct UntilTokenExpires {
    leeway: u64,
}

impl Expiry<TokenDigest, Arc<Verified>> for UntilTokenExpires {
    fn expire_after_create(
        &self,
        _: &TokenDigest,
        verified: &Arc<Verified>,
        _: Instant,
    ) -> Option<Duration> {
        let now = unix_now();
        let until = verified.claims.exp.saturating_add(self.leeway);
        Some(Duration::from_secs(until.saturating_sub(now)))
    }
}

/// The store: a synchronous cache (a lookup never waits), bounded by weight rather than
/// by count, since a token's `sub` may be long.
pub struct VerifiedTokens {
    cache: Cache<TokenDigest, Arc<Verified>>,
}

impl VerifiedTokens {
    /// An empty store for a verifier with this leeway.
    pub fn new(leeway: u64) -> Self {
        Self {
            cache: Cache::builder()
                .max_capacity(MAX_BYTES)
                .weigher(|_: &TokenDigest, verified: &Arc<Verified>| verified.weight())
                .expire_after(UntilTokenExpires { leeway })
                .build(),
        }
    }

    /// The digest a token is kept under.
    pub fn digest(token: &str) -> TokenDigest {
        Sha256::digest(token.as_bytes()).into()
    }

    /// The token's claims, if it was verified under the key set in force now (`remote`:
    /// the URL's keys now, if any). The caller still checks the clock.
    pub fn get(
        &self,
        digest: &TokenDigest,
        remote: Option<&Arc<Vec<VerifyingKey>>>,
    ) -> Option<Arc<Verified>> {
        let verified = self.cache.get(digest)?;
        let same_keys = match (&verified.remote_keys, remote) {
            (None, None) => true,
            (Some(then), Some(now)) => std::ptr::eq(then.as_ptr(), Arc::as_ptr(now)),
            _ => false,
        };
        same_keys.then_some(verified)
    }

    /// Keeps a token that passed the full verification under `remote` (the URL's keys
    /// when it was verified, if any).
    pub fn keep(
        &self,
        digest: TokenDigest,
        claims: Claims,
        remote: Option<&Arc<Vec<VerifyingKey>>>,
    ) {
        self.cache.insert(
            digest,
            Arc::new(Verified {
                claims,
                remote_keys: remote.map(Arc::downgrade),
            }),
        );
    }

    /// How many tokens are kept, after the store has applied its pending evictions (for
    /// tests; the settling is what makes the count exact).
    pub fn settled_len(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }
}
