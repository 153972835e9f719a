//! `VisibleDispute`: a dispute row that the policy let one viewer see. Only the domain
//! makes one (from rows selected through `policy::visible_disputes`), and its sensitive
//! columns (reporter, classification) are readable only inside the domain, through
//! `projection`, which applies the field rules and logs the read. The GraphQL layer takes
//! nothing else, so a resolver can neither serve a row it read some other way nor read a
//! protected column past the policy: both fail to compile.

use chrono::{DateTime, Utc};
use entity::dispute;
use vocabulary::{DisputeCategory, DisputeStatus, Severity};

/// A dispute the viewer sees.
///
/// Outside the domain nobody can make one, nor read its protected columns; each of these
/// fails to compile:
///
/// ```compile_fail
/// fn forge() -> posko::domain::visible::VisibleDispute {
///     posko::domain::visible::VisibleDispute::new(Default::default())
/// }
/// ```
///
/// ```compile_fail
/// fn leak(d: &posko::domain::visible::VisibleDispute) -> Option<String> {
///     d.row.reporter_name.clone()
/// }
/// ```
///
/// ```compile_fail
/// fn any_id() -> posko::domain::visible::DisputeId {
///     posko::domain::visible::DisputeId(7)
/// }
/// ```
///
/// What it does offer compiles:
///
/// ```
/// fn shown(d: &posko::domain::visible::VisibleDispute) -> (&str, i32) {
///     (d.title(), d.id().raw())
/// }
/// ```
///
/// Cloning one is harmless: a clone is still the dispute this viewer sees.
#[derive(Clone)]
pub struct VisibleDispute {
    pub(in crate::domain) row: dispute::Model,
}

/// The id of a dispute the viewer sees: the only key the loaders of a dispute's timeline,
/// escalations, assignments and parties accept. Only `VisibleDispute::id` makes one.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct DisputeId(i32);

impl DisputeId {
    /// The row id, for the query that loads the dispute's children.
    pub fn raw(self) -> i32 {
        self.0
    }
}

impl VisibleDispute {
    /// Only for rows the viewer's scope selected.
    pub(in crate::domain) fn new(row: dispute::Model) -> Self {
        Self { row }
    }

    pub fn id(&self) -> DisputeId {
        DisputeId(self.row.id)
    }
    /// The id clients see (random).
    pub fn public_id(&self) -> &str {
        &self.row.public_id
    }
    pub fn ref_no(&self) -> &str {
        &self.row.ref_no
    }
    pub fn title(&self) -> &str {
        &self.row.title
    }
    pub fn description(&self) -> &str {
        &self.row.description
    }
    pub fn category(&self) -> DisputeCategory {
        self.row.category
    }
    pub fn severity(&self) -> Severity {
        self.row.severity
    }
    pub fn status(&self) -> DisputeStatus {
        self.row.status
    }
    pub fn restricted(&self) -> bool {
        self.row.restricted
    }
    pub fn occurred_at(&self) -> DateTime<Utc> {
        self.row.occurred_at
    }
    pub fn reported_at(&self) -> DateTime<Utc> {
        self.row.reported_at
    }
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }
    pub fn version(&self) -> i32 {
        self.row.version
    }
    pub fn location_text(&self) -> Option<&str> {
        self.row.location_text.as_deref()
    }
    pub fn district_code(&self) -> Option<&str> {
        self.row.district_code.as_deref()
    }
    pub fn province_code(&self) -> &str {
        &self.row.province_code
    }
    pub fn regency_code(&self) -> &str {
        &self.row.regency_code
    }
    pub fn stage_id(&self) -> Option<i32> {
        self.row.stage_id
    }
    pub fn stage_code(&self) -> Option<&str> {
        self.row.stage_code.as_deref()
    }
    pub fn election_id(&self) -> Option<i32> {
        self.row.election_id
    }
    /// The outcome of a resolution or the reason of a dismissal.
    pub fn outcome(&self) -> Option<&str> {
        self.row.outcome.as_deref()
    }
}

#[cfg(test)]
impl VisibleDispute {
    /// A row as if the policy had let it through, for unit tests of the GraphQL layer's
    /// formatting (test builds only: nothing outside them can call it).
    pub(crate) fn for_test(row: dispute::Model) -> Self {
        Self { row }
    }
}
