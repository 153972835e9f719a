//! Per-instance rate limits: per agency for callers with a token, per client address for
//! PUBLIC. A limit holds per instance: N instances behind a balancer admit up to N times it.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// The two keyed limiters.
pub struct RateLimits {
    agencies: Option<DefaultKeyedRateLimiter<String>>,
    public: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

impl RateLimits {
    /// Limits of `agency_per_minute` and `public_per_minute` (0 turns one off).
    pub fn new(agency_per_minute: u32, public_per_minute: u32) -> Self {
        Self {
            agencies: limiter(agency_per_minute),
            public: limiter(public_per_minute),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(wait)` when the caller must wait before its next request.
    pub fn check(&self, agency: Option<&str>, address: Option<IpAddr>) -> Result<(), Duration> {
        let outcome = match (agency, address) {
            (Some(agency), _) => self
                .agencies
                .as_ref()
                .map(|l| l.check_key(&agency.to_owned())),
            (None, Some(address)) => self.public.as_ref().map(|l| l.check_key(&address)),
            (None, None) => None,
        };
        match outcome {
            Some(Err(not_until)) => Err(not_until.wait_time_from(self.clock.now())),
            _ => Ok(()),
        }
    }

    /// Forgets keys idle long enough to be full again, bounding memory.
    pub fn shrink(&self) {
        if let Some(l) = &self.agencies {
            l.retain_recent();
        }
        if let Some(l) = &self.public {
            l.retain_recent();
        }
    }
}
