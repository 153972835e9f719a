//! Keys published by an identity provider at a URL (`POSKO_JWT_JWKS_URL`): fetched at
//! start, refreshed periodically and when a token names a `kid` not yet known (at most
//! once per `POSKO_JWT_JWKS_MIN_REFRESH_SECS`, so a stream of forged `kid`s cannot make
//! the service hammer the provider), and kept when a refresh fails: a provider's outage
//! must not log every agency out.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use sha2::{Digest, Sha256};

use crate::auth::jwt::{VerifyingKey, keys_from_jwks};

/// Longest JWKS document read.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The remote key set and when it was last asked for.
pub struct RemoteKeys {
    url: String,
    client: reqwest::Client,
    /// The keys, and the SHA-256 of the document they came from: a fetch that brings the
    /// same document keeps the same set, so what was verified under it stays verified
    /// (`verified_tokens`), however often callers with unknown `kid`s force a fetch.
    keys: RwLock<(Arc<Vec<VerifyingKey>>, [u8; 32])>,
    /// Serialises refreshes; holds when the last one was attempted.
    last_attempt: tokio::sync::Mutex<Option<Instant>>,
    min_interval: Duration,
}

impl RemoteKeys {
    /// A key set at `url`, not yet fetched.
    pub fn new(url: String, min_interval: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .context("cannot build the JWKS HTTP client")?;
        Ok(Self {
            url,
            client,
            keys: RwLock::new((Arc::new(Vec::new()), [0; 32])),
            last_attempt: tokio::sync::Mutex::new(None),
            min_interval,
        })
    }

    /// The keys as last fetched.
    pub fn current(&self) -> Arc<Vec<VerifyingKey>> {
        self.keys
            .read()
            .map(|keys| keys.0.clone())
            .unwrap_or_default()
    }

    /// Fetches the set now; an error leaves the last good keys in place.
    pub async fn fetch(&self) -> anyhow::Result<usize> {
        let mut last = self.last_attempt.lock().await;
        *last = Some(Instant::now());
        self.fetch_locked().await
    }

    /// Fetches the set unless one was attempted within the minimum interval or one is under
    /// way; whether the keys were fetched. A request never queues behind a fetch: tokens
    /// with made-up `kid`s must not hold connections for the provider's timeout each.
    pub async fn refresh_if_due(&self) -> bool {
        let Ok(mut last) = self.last_attempt.try_lock() else {
            return false;
        };
        if last.is_some_and(|at| at.elapsed() < self.min_interval) {
            return false;
        }
        *last = Some(Instant::now());
        match self.fetch_locked().await {
            Ok(_) => true,
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), url = %self.url, "JWKS refresh failed; keeping the last good keys");
                false
            }
        }
    }

    async fn fetch_locked(&self) -> anyhow::Result<usize> {
        let response = self
            .client
            .get(&self.url)
            .header("accept", "application/json")
            .send()
            .await
            .with_context(|| format!("POSKO_JWT_JWKS_URL: cannot fetch {}", self.url))?
            .error_for_status()
            .with_context(|| format!("POSKO_JWT_JWKS_URL: {} refused", self.url))?;
        let body = response.bytes().await.context("POSKO_JWT_JWKS_URL: body")?;
        if body.len() > MAX_JWKS_BYTES {
            anyhow::bail!("POSKO_JWT_JWKS_URL: the document is over {MAX_JWKS_BYTES} bytes");
        }
        let text = std::str::from_utf8(&body).context("POSKO_JWT_JWKS_URL: not UTF-8")?;
        let keys = keys_from_jwks(text, "POSKO_JWT_JWKS_URL")?;
        let count = keys.len();
        let digest: [u8; 32] = Sha256::digest(&body).into();
        if let Ok(mut current) = self.keys.write()
            && current.1 != digest
        {
            *current = (Arc::new(keys), digest);
        }
        Ok(count)
    }
}
