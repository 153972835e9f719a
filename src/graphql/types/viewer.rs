//! `me` and the access log.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::access_log;

use super::agency::Agency;
use super::loaded;
use crate::auth::viewer::{Jurisdiction, Viewer};
use crate::domain::audit::{self, AccessLogPage};
use crate::domain::types::Role;
use crate::graphql::context::ContextExt;

/// The caller as Posko sees it.
pub struct Me(pub Viewer);

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
    async fn agency(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Agency>> {
        let Some(code) = self.0.agency_code.clone() else {
            return Ok(None);
        };
        let row = loaded(ctx.request()?.loaders().agency.load_one(code).await)?;
        Ok(row.map(Agency))
    }
    /// Where the caller's agency has authority, as loaded from the database.
    async fn jurisdiction(&self) -> MyJurisdiction {
        match &self.0.jurisdiction {
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
    pub whole_country: bool,
    pub province_codes: Vec<String>,
    pub regency_codes: Vec<String>,
    /// Regencies covered only in some districts.
    pub partial: Vec<PartialCoverage>,
}

/// The covered districts of a regency.
#[derive(SimpleObject)]
pub struct PartialCoverage {
    pub regency_code: String,
    pub district_codes: Vec<String>,
}

/// One recorded read of a sensitive field (never its value).
pub struct AccessLogEntry(pub access_log::Model);

#[Object]
impl AccessLogEntry {
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// The reader's `sub`.
    async fn subject(&self) -> &str {
        &self.0.viewer_sub
    }
    async fn role(&self) -> &str {
        self.0.viewer_role.as_str()
    }
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

/// A Relay connection over the access log.
pub type AccessLogConnection = Connection<String, AccessLogEntry, EmptyFields>;

/// Builds a connection page.
pub fn access_log_connection(page: AccessLogPage) -> AccessLogConnection {
    let mut connection = Connection::new(page.has_previous_page, page.has_next_page);
    connection.edges.extend(
        page.rows
            .into_iter()
            .map(|row| Edge::new(audit::encode_cursor(row.id), AccessLogEntry(row))),
    );
    connection
}
