//! Persisted operations: the automatic persisted-query convention
//! (`extensions.persistedQuery.sha256Hash`) and an allow-list of reviewed operations that
//! chosen roles are held to. Registered documents are kept per instance (a client whose
//! hash is unknown to an instance simply sends the document again).

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use moka::sync::Cache;
use sha2::{Digest, Sha256};

use crate::domain::types::Role;

/// The persisted-operation state of one instance.
pub struct PersistedOperations {
    registered: Cache<String, String>,
    reviewed: HashMap<String, String>,
    restricted_roles: Vec<Role>,
}

/// What the client asked for, once resolved.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    /// A document to run.
    Document(String),
    /// A hash this instance does not know: the client should send the document.
    NotFound,
    /// The hash does not match the document sent with it.
    HashMismatch,
    /// The caller's role may run only reviewed operations, and this is not one.
    NotReviewed,
}

/// SHA-256 of a document, in hex.
pub fn hash(document: &str) -> String {
    hex::encode(Sha256::digest(document.as_bytes()))
}

impl PersistedOperations {
    /// Loads the reviewed operations (`{ "<sha256>": "<document>" }`), checking every hash.
    pub fn new(file: Option<&Path>, restricted_roles: &[String]) -> anyhow::Result<Self> {
        let reviewed: HashMap<String, String> = match file {
            None => HashMap::new(),
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("POSKO_PERSISTED_OPERATIONS: cannot read {}", path.display())
                })?;
                let map: HashMap<String, String> =
                    serde_json::from_str(&text).with_context(|| {
                        format!(
                            "POSKO_PERSISTED_OPERATIONS: {} is not a JSON object of strings",
                            path.display()
                        )
                    })?;
                for (key, document) in &map {
                    if hash(document) != key.to_lowercase() {
                        anyhow::bail!(
                            "POSKO_PERSISTED_OPERATIONS: the hash {key} does not match its document"
                        );
                    }
                }
                map.into_iter()
                    .map(|(k, v)| (k.to_lowercase(), v))
                    .collect()
            }
        };
        let mut roles = Vec::new();
        for name in restricted_roles
            .iter()
            .map(|r| r.trim())
            .filter(|r| !r.is_empty())
        {
            roles.push(
                name.parse::<Role>()
                    .map_err(|_| anyhow::anyhow!("POSKO_ALLOWLIST_ROLES: unknown role {name}"))?,
            );
        }
        if !roles.is_empty() && reviewed.is_empty() {
            anyhow::bail!("POSKO_ALLOWLIST_ROLES needs POSKO_PERSISTED_OPERATIONS");
        }
        Ok(Self {
            registered: Cache::builder()
                .max_capacity(10_000)
                .time_to_idle(Duration::from_secs(24 * 3600))
                .build(),
            reviewed,
            restricted_roles: roles,
        })
    }

    /// Resolves a request's document from its `query` and persisted-query hash.
    pub fn resolve(&self, role: Role, query: Option<&str>, sha256: Option<&str>) -> Resolved {
        let sha256 = sha256.map(str::to_lowercase);
        let document = match (query.filter(|q| !q.is_empty()), &sha256) {
            (Some(document), Some(claimed)) => {
                if &hash(document) != claimed {
                    return Resolved::HashMismatch;
                }
                self.registered.insert(claimed.clone(), document.to_owned());
                document.to_owned()
            }
            (Some(document), None) => document.to_owned(),
            (None, Some(claimed)) => match self
                .reviewed
                .get(claimed)
                .cloned()
                .or_else(|| self.registered.get(claimed))
            {
                Some(document) => document,
                None => return Resolved::NotFound,
            },
            (None, None) => return Resolved::Document(String::new()),
        };
        if self.restricted_roles.contains(&role) && !self.reviewed.contains_key(&hash(&document)) {
            return Resolved::NotReviewed;
        }
        Resolved::Document(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_register_and_reviewed_roles_are_held_to_the_list() {
        let reviewed = "{ provinces { code } }";
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ops.json");
        std::fs::write(
            &file,
            serde_json::json!({ hash(reviewed): reviewed }).to_string(),
        )
        .unwrap();
        let ops = PersistedOperations::new(Some(&file), &["KPU".into()]).unwrap();
        let other = "{ me { role } }";
        assert_eq!(
            ops.resolve(Role::Admin, None, Some(&hash(other))),
            Resolved::NotFound
        );
        assert_eq!(
            ops.resolve(Role::Admin, Some(other), Some(&hash(other))),
            Resolved::Document(other.into())
        );
        assert_eq!(
            ops.resolve(Role::Admin, None, Some(&hash(other))),
            Resolved::Document(other.into())
        );
        assert_eq!(
            ops.resolve(Role::Admin, Some(other), Some(&hash(reviewed))),
            Resolved::HashMismatch
        );
        assert_eq!(
            ops.resolve(Role::Kpu, Some(other), None),
            Resolved::NotReviewed
        );
        assert_eq!(
            ops.resolve(Role::Kpu, None, Some(&hash(reviewed))),
            Resolved::Document(reviewed.into())
        );
    }
}
