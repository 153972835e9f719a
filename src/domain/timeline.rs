//! The dispute timeline's hash chain. Each event's hash covers its content, a random salt
//! of its own and the previous event's hash, so editing or deleting any event (or its
//! salt) breaks every link after it. The salt is kept server-side and never served: without
//! it a hash cannot confirm a guess of an event's hidden content (a classification out of
//! five, a guessed note), which an unsalted hash of low-entropy content would.

use chrono::{DateTime, SecondsFormat, Utc};
use entity::dispute_event;
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
    /// `None` only for events written before salts existed.
    pub salt: Option<&'a str>,
}

impl<'a> EventContent<'a> {
    /// The hashed content of a stored event, as the chain committed to it.
    pub fn of(event: &'a dispute_event::Model) -> Self {
        Self {
            dispute_id: event.dispute_id,
            seq: event.seq,
            kind: event.kind.as_str(),
            actor_sub: &event.actor_sub,
            actor_role: event.actor_role.as_str(),
            actor_agency: event.actor_agency.as_deref(),
            at: event.at,
            changes: event.changes.as_deref(),
            note: event.note.as_deref(),
            audience: event.audience.as_deref(),
            salt: event.salt.as_deref(),
        }
    }
}

/// A fresh salt: 128 random bits, hex.
pub fn new_salt() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// SHA-256 (hex) over the previous hash and the event's fields, serialised as a JSON array
/// so that no two different contents share an encoding.
pub fn event_hash(prev_hash: &str, event: &EventContent<'_>) -> String {
    let mut fields = vec![
        serde_json::json!(prev_hash),
        serde_json::json!(event.dispute_id),
        serde_json::json!(event.seq),
        serde_json::json!(event.kind),
        serde_json::json!(event.actor_sub),
        serde_json::json!(event.actor_role),
        serde_json::json!(event.actor_agency),
        serde_json::json!(event.at.to_rfc3339_opts(SecondsFormat::Micros, true)),
        serde_json::json!(event.changes),
        serde_json::json!(event.note),
        serde_json::json!(event.audience),
    ];
    // A salted event's encoding starts with a version mark and the salt; events written
    // before salts existed keep the encoding they were hashed with.
    if let Some(salt) = event.salt {
        fields.splice(0..0, [serde_json::json!("v2"), serde_json::json!(salt)]);
    }
    let canonical = serde_json::Value::Array(fields);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// An event's key in its `DisputeEvent.id`: 128 bits derived from a secret of the event's
/// own and its hash. It names the event without saying where it sits in the timeline (a
/// `seq` would count the events before it that the reader may not see) or how many events
/// exist (the row id would), and, as the secret is never served, it confirms no guess of
/// content. The secret is the salt; an event written before salts existed has random
/// `key_salt` bits instead (migration 12), since its hash alone is computable from guessed
/// content.
pub fn event_key(event: &dispute_event::Model) -> String {
    let secret = event.salt.as_deref().or(event.key_salt.as_deref());
    let material = serde_json::json!(["event-key", secret, event.hash]).to_string();
    hex::encode(&Sha256::digest(material.as_bytes())[..16])
}

/// The `seq` of the first event whose hash or link does not match, if any.
pub fn first_broken_link(events: &[dispute_event::Model]) -> Option<i32> {
    let mut prev = GENESIS_HASH.to_owned();
    for (index, event) in events.iter().enumerate() {
        let expected = event_hash(&prev, &EventContent::of(event));
        let in_order = usize::try_from(event.seq).ok() == Some(index + 1);
        if !in_order || event.prev_hash != prev || event.hash != expected {
            return Some(event.seq);
        }
        prev = event.hash.clone();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(note: Option<&str>) -> EventContent<'_> {
        sample_salted(note, Some("00112233445566778899aabbccddeeff"))
    }

    fn sample_salted<'a>(note: Option<&'a str>, salt: Option<&'a str>) -> EventContent<'a> {
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
            salt,
        }
    }

    #[test]
    fn events_written_before_salts_keep_their_encoding() {
        // The encoding session 2 hashed with, so its chains still verify.
        let event = sample_salted(Some("a"), None);
        let legacy = serde_json::json!([
            GENESIS_HASH,
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
        assert_eq!(
            event_hash(GENESIS_HASH, &event),
            hex::encode(Sha256::digest(legacy.to_string().as_bytes()))
        );
    }

    #[test]
    fn any_change_of_content_or_predecessor_changes_the_hash() {
        let base = event_hash(GENESIS_HASH, &sample(Some("a")));
        assert_eq!(base, event_hash(GENESIS_HASH, &sample(Some("a"))));
        assert_ne!(base, event_hash(GENESIS_HASH, &sample(Some("b"))));
        assert_ne!(base, event_hash(GENESIS_HASH, &sample(None)));
        assert_ne!(base, event_hash(&base, &sample(Some("a"))));
        assert_ne!(
            base,
            event_hash(
                GENESIS_HASH,
                &sample_salted(Some("a"), Some("another salt"))
            )
        );
        assert_ne!(
            base,
            event_hash(GENESIS_HASH, &sample_salted(Some("a"), None))
        );
    }
}
