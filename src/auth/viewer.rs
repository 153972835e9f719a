//! The caller of one request, as the rest of the code sees it.

use crate::domain::types::Role;

/// The authenticated caller (or `PUBLIC`).
#[derive(Clone, Debug)]
pub struct Viewer {
    /// The token's `sub`; `None` for `PUBLIC`.
    pub subject: Option<String>,
    pub role: Role,
    /// The agency code from the token; `None` for `PUBLIC`.
    pub agency_code: Option<String>,
}

impl Viewer {
    /// A caller without a token.
    pub fn public() -> Self {
        Self {
            subject: None,
            role: Role::Public,
            agency_code: None,
        }
    }
}
