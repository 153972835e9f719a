//! `me` and the access log.

use crate::graphql::scalars::Timestamp;
use async_graphql::connection::PageInfo;
use async_graphql::{Context, ID, Object, SimpleObject};
use entity::access_log;

use super::agency::Agency;
use crate::auth::viewer::{Jurisdiction, Viewer};
use crate::domain::audit::{self, AccessLogPage};
use crate::domain::types::Role;
use crate::graphql::context::ContextExt;

/// The caller as Posko sees it.
pub struct Me(pub Viewer);

/// The caller as Posko sees it: role, agency and jurisdiction.
#[Object]
impl Me {
    /// `PUBLIC` without a token.
    async fn role(&self) -> Role {
        self.0.role
    }
    /// The token's `sub`.
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }
    /// The token's agency; null for PUBLIC.
    async fn agency(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Agency>> {
        let Some(code) = self.0.agency_code.clone() else {
            return Ok(None);
        };
        Ok(ctx
            .request()?
            .reference()
            .agency(&code)
            .cloned()
            .map(Agency))
    }
    /// Where the caller's agency has authority, as loaded from the database.
    async fn jurisdiction(&self) -> MyJurisdiction {
        match self.0.jurisdiction.as_ref() {
            Jurisdiction::Nowhere => MyJurisdiction::default(),
            Jurisdiction::Nationwide => MyJurisdiction {
                whole_country: true,
                ..MyJurisdiction::default()
            },
            Jurisdiction::Regions(set) => MyJurisdiction {
                whole_country: false,
                province_codes: set.provinces.iter().cloned().collect(),
                regency_codes: set.regencies.iter().cloned().collect(),
                partial: set
                    .partial
                    .iter()
                    .map(|(regency, districts)| PartialCoverage {
                        regency_code: regency.clone(),
                        district_codes: districts.iter().cloned().collect(),
                    })
                    .collect(),
            },
        }
    }
}

/// A jurisdiction in codes.
#[derive(SimpleObject, Default)]
pub struct MyJurisdiction {
    /// A national agency: every region.
    pub whole_country: bool,
    /// Whole provinces covered.
    pub province_codes: Vec<String>,
    /// Whole regencies/cities covered (beyond the whole provinces).
    pub regency_codes: Vec<String>,
    /// Regencies covered only in some districts.
    pub partial: Vec<PartialCoverage>,
}

/// The covered districts of a regency.
#[derive(SimpleObject)]
pub struct PartialCoverage {
    /// The regency or city.
    pub regency_code: String,
    /// The districts (kecamatan) covered in it.
    pub district_codes: Vec<String>,
}

/// One recorded read of a sensitive field (never its value).
pub struct AccessLogEntry(pub access_log::Model);

/// One recorded read of a sensitive field (who, when, which dispute, which field; never
/// the value).
#[Object]
impl AccessLogEntry {
    /// When the field was read.
    async fn at(&self) -> Timestamp {
        self.0.at.into()
    }
    /// The reader's `sub`.
    async fn subject(&self) -> &str {
        &self.0.viewer_sub
    }
    /// The reader's role.
    async fn role(&self) -> &str {
        self.0.viewer_role.as_str()
    }
    /// The reader's agency.
    async fn agency_code(&self) -> &str {
        &self.0.agency_code
    }
    /// The dispute's (public) id.
    async fn dispute_id(&self) -> ID {
        ID(self.0.dispute_public_id.clone())
    }
    /// `reporter` or `intelNotes`.
    async fn field(&self) -> &str {
        &self.0.field
    }
    /// The request id, as in the service's logs.
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
}

pub struct AccessLogConnection {
    page_info: PageInfo,
    edges: Vec<AccessLogEntryEdge>,
}

/// A page of the access log: a Relay connection (`edges { cursor node }`, `nodes`,
/// `pageInfo`).
#[Object(name = "AccessLogEntryConnection")]
impl AccessLogConnection {
    /// Whether there are entries before and after this page, and the cursors to continue
    /// from.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
    /// The page's entries with their cursors.
    async fn edges(&self) -> &[AccessLogEntryEdge] {
        &self.edges
    }
    /// The page's entries, without cursors.
    async fn nodes(&self) -> Vec<&AccessLogEntry> {
        self.edges.iter().map(|edge| &edge.node).collect()
    }
}

pub struct AccessLogEntryEdge {
    cursor: String,
    node: AccessLogEntry,
}

/// One entry of an access-log page and its cursor.
#[Object]
impl AccessLogEntryEdge {
    /// An opaque position: pass it as `after` to continue after this entry.
    async fn cursor(&self) -> &str {
        &self.cursor
    }
    /// The entry.
    async fn node(&self) -> &AccessLogEntry {
        &self.node
    }
}

/// Builds a connection page.
pub fn access_log_connection(page: AccessLogPage) -> AccessLogConnection {
    let edges: Vec<AccessLogEntryEdge> = page
        .rows
        .into_iter()
        .map(|row| AccessLogEntryEdge {
            cursor: audit::encode_cursor(row.id),
            node: AccessLogEntry(row),
        })
        .collect();
    AccessLogConnection {
        page_info: PageInfo {
            has_previous_page: page.has_previous_page,
            has_next_page: page.has_next_page,
            start_cursor: edges.first().map(|edge| edge.cursor.clone()),
            end_cursor: edges.last().map(|edge| edge.cursor.clone()),
        },
        edges,
    }
}
