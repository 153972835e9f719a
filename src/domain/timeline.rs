//! The dispute timeline's hash chain. Each event's hash covers its content and the previous
//! event's hash, so editing or deleting any event breaks every link after it.

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

/// The hash that the first event of a timeline chains to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hashed content of one event.
pub struct EventContent<'a> {
    pub dispute_id: i32,
    pub seq: i32,
    pub kind: &'a str,
    pub actor_sub: &'a str,
    pub actor_role: &'a str,
    pub actor_agency: Option<&'a str>,
    pub at: DateTime<Utc>,
    pub changes: Option<&'a str>,
    pub note: Option<&'a str>,
    pub audience: Option<&'a str>,
}

/// SHA-256 (hex) over the previous hash and the event's fields, serialised as a JSON array
/// so that no two different contents share an encoding.
pub fn event_hash(prev_hash: &str, event: &EventContent<'_>) -> String {
    let canonical = serde_json::json!([
        prev_hash,
        event.dispute_id,
        event.seq,
        event.kind,
        event.actor_sub,
        event.actor_role,
        event.actor_agency,
        event.at.to_rfc3339_opts(SecondsFormat::Micros, true),
        event.changes,
        event.note,
        event.audience,
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(note: Option<&str>) -> EventContent<'_> {
        EventContent {
            dispute_id: 1,
            seq: 1,
            kind: "REPORTED",
            actor_sub: "petugas-1",
            actor_role: "ADMIN",
            actor_agency: Some("KESBANGPOL_DKI"),
            at: DateTime::from_timestamp(1_732_000_000, 0).unwrap(),
            changes: None,
            note,
            audience: None,
        }
    }

    #[test]
    fn any_change_of_content_or_predecessor_changes_the_hash() {
        let base = event_hash(GENESIS_HASH, &sample(Some("a")));
        assert_eq!(base, event_hash(GENESIS_HASH, &sample(Some("a"))));
        assert_ne!(base, event_hash(GENESIS_HASH, &sample(Some("b"))));
        assert_ne!(base, event_hash(GENESIS_HASH, &sample(None)));
        assert_ne!(base, event_hash(&base, &sample(Some("a"))));
    }
}
