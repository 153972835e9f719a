//! The caller of one request, and its jurisdiction as loaded from the database (never from
//! the token, so a change of jurisdiction takes effect without new tokens).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use entity::{agency, agency_jurisdiction, jurisdiction_district, regency};
use moka::future::Cache;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::auth::jwt::{Claims, TokenError, Verifier};
use crate::auth::policy;
use crate::domain::types::{AgencyKind, Coverage, Role};
use crate::error::AppError;

/// Regions an agency covers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegionSet {
    pub provinces: BTreeSet<String>,
    pub regencies: BTreeSet<String>,
    /// PARTIAL coverage: a regency and the districts of it that are covered.
    pub partial: BTreeMap<String, BTreeSet<String>>,
    /// Provinces not granted as such but every regency of which is in `regencies` (Polda
    /// Metro Jaya holds DKI Jakarta regency by regency). Only statistics read it, to know
    /// that a province filter stays inside the jurisdiction; what is granted is above.
    pub provinces_covered_by_regencies: BTreeSet<String>,
}

impl RegionSet {
    /// Whether it covers nothing.
    pub fn is_empty(&self) -> bool {
        self.provinces.is_empty() && self.regencies.is_empty() && self.partial.is_empty()
    }
}

/// Where a viewer's agency has authority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Jurisdiction {
    /// `PUBLIC`, or an agency without jurisdiction rows.
    Nowhere,
    /// A national agency (KPU RI, Bawaslu RI, Mabes Polri).
    Nationwide,
    Regions(RegionSet),
}

/// What one region code in a set takes in memory, about: a `String`'s header and heap
/// buffer, and its share of a B-tree node.
const CODE_BYTES: usize = 64;

impl Jurisdiction {
    /// About how many bytes it holds, for stores that count what they keep.
    pub fn approximate_bytes(&self) -> usize {
        match self {
            Jurisdiction::Nowhere | Jurisdiction::Nationwide => 0,
            Jurisdiction::Regions(set) => {
                let codes = set.provinces.len()
                    + set.regencies.len()
                    + set.provinces_covered_by_regencies.len()
                    + set
                        .partial
                        .values()
                        .map(|districts| 1 + districts.len())
                        .sum::<usize>();
                codes * CODE_BYTES
            }
        }
    }
}

/// What Posko knows of a token's agency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgencyAccess {
    pub kind: AgencyKind,
    /// Shared by every viewer of the agency: a request or an open socket holds a pointer,
    /// not a copy of its region sets.
    pub jurisdiction: Arc<Jurisdiction>,
}

/// The authenticated caller (or `PUBLIC`). Two viewers are equal when every field is:
/// derived, so a field added later takes part in `policy::AnswerAudience` (whose callers
/// may be given one kept answer) without anyone having to remember it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Viewer {
    /// The token's `sub`; `None` for `PUBLIC`.
    pub subject: Option<String>,
    pub role: Role,
    /// The agency code from the token; `None` for `PUBLIC`.
    pub agency_code: Option<String>,
    access: Option<Arc<AgencyAccess>>,
    pub jurisdiction: Arc<Jurisdiction>,
    /// The token's `exp` (seconds since the epoch); `None` for `PUBLIC`. A long-lived
    /// connection ends when it passes.
    pub expires_at: Option<u64>,
}

impl Viewer {
    /// A caller without a token.
    pub fn public() -> Self {
        Self {
            subject: None,
            role: Role::Public,
            agency_code: None,
            access: None,
            jurisdiction: Arc::new(Jurisdiction::Nowhere),
            expires_at: None,
        }
    }

    /// The kind of the viewer's agency.
    pub fn agency_kind(&self) -> Option<AgencyKind> {
        self.access.as_ref().map(|a| a.kind)
    }

    /// About how many bytes a copy of it holds, counting its jurisdiction as its own (a
    /// copy kept long may be the last holder of a jurisdiction since reloaded).
    pub fn approximate_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.subject.as_ref().map_or(0, String::len)
            + self.agency_code.as_ref().map_or(0, String::len)
            + self.jurisdiction.approximate_bytes()
    }

    /// The subject for audit rows (`PUBLIC` never writes any).
    pub fn subject_or_public(&self) -> &str {
        self.subject.as_deref().unwrap_or("public")
    }
}

/// Turns an `Authorization` header into a viewer.
pub struct Authenticator {
    verifier: Verifier,
    db: DatabaseConnection,
    /// `None` when reuse is disabled.
    agencies: Option<Cache<String, Option<Arc<AgencyAccess>>>>,
}

impl Authenticator {
    /// An authenticator over the service's pool; agencies are reused for `ttl`.
    pub fn new(verifier: Verifier, db: DatabaseConnection, ttl: Duration) -> Self {
        Self {
            verifier,
            db,
            agencies: (!ttl.is_zero()).then(|| {
                Cache::builder()
                    .time_to_live(ttl)
                    .max_capacity(10_000)
                    .build()
            }),
        }
    }

    /// The verifier (for development tokens).
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// No header: `PUBLIC`. A header that fails in any way is an error, never `PUBLIC`.
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Viewer, AuthFailure> {
        let Some(header) = header else {
            return Ok(Viewer::public());
        };
        let claims = self
            .verifier
            .verify_header_refreshing(header)
            .await
            .map_err(AuthFailure::Token)?;
        self.viewer_for(claims).await
    }

    async fn viewer_for(&self, claims: Claims) -> Result<Viewer, AuthFailure> {
        let role: Role = claims
            .role
            .parse()
            .ok()
            .filter(|role| *role != Role::Public)
            .ok_or(AuthFailure::Token(TokenError::UnknownRole))?;
        let access = self
            .agency_access(&claims.agency)
            .await
            .map_err(AuthFailure::Internal)?
            .ok_or(AuthFailure::Token(TokenError::UnknownAgency))?;
        if !policy::role_fits_agency(role, access.kind) {
            return Err(AuthFailure::Token(TokenError::RoleDoesNotFitAgency));
        }
        Ok(Viewer {
            subject: Some(claims.sub),
            role,
            agency_code: Some(claims.agency),
            jurisdiction: access.jurisdiction.clone(),
            access: Some(access),
            expires_at: Some(claims.exp),
        })
    }

    /// The same caller with its agency's current jurisdiction (re-read at most as often as
    /// the agency cache allows), for connections that outlive one request: a jurisdiction
    /// an ADMIN narrowed applies to open subscriptions too.
    pub async fn refresh(&self, viewer: &Viewer) -> Result<Viewer, AuthFailure> {
        let Some(agency) = viewer.agency_code.as_deref() else {
            return Ok(viewer.clone());
        };
        let access = self
            .agency_access(agency)
            .await
            .map_err(AuthFailure::Internal)?
            .ok_or(AuthFailure::Token(TokenError::UnknownAgency))?;
        if !policy::role_fits_agency(viewer.role, access.kind) {
            return Err(AuthFailure::Token(TokenError::RoleDoesNotFitAgency));
        }
        Ok(Viewer {
            jurisdiction: access.jurisdiction.clone(),
            access: Some(access),
            ..viewer.clone()
        })
    }

    /// An agency's kind and jurisdiction, from the cache or the database.
    pub async fn agency_access(&self, code: &str) -> Result<Option<Arc<AgencyAccess>>, AppError> {
        let Some(cache) = &self.agencies else {
            return Ok(load_access(&self.db, code).await?.map(Arc::new));
        };
        // The common case, without the two copies of the code and the loader's future that
        // `try_get_with` builds even when the agency is there.
        if let Some(access) = cache.get(code).await {
            return Ok(access);
        }
        let db = self.db.clone();
        let key = code.to_owned();
        cache
            .try_get_with(key.clone(), async move {
                load_access(&db, &key).await.map(|a| a.map(Arc::new))
            })
            .await
            .map_err(|err| match err.as_ref() {
                // The cache shares one error among its waiters; an unreachable database
                // must stay recognisable as such (a 503, not a 500).
                AppError::ServiceUnavailable(cause) => AppError::ServiceUnavailable(cause.clone()),
                _ => AppError::Internal(anyhow::anyhow!("cannot load agency access: {err}")),
            })
    }

    /// Forgets cached agencies so a directory change applies at once on this instance
    /// (other instances pick it up within the cache's lifetime, at most 30 s).
    pub fn invalidate(&self) {
        if let Some(cache) = &self.agencies {
            cache.invalidate_all();
        }
    }
}

/// Why authentication failed.
#[derive(Debug)]
pub enum AuthFailure {
    /// A 401: the token is not acceptable.
    Token(TokenError),
    /// The database could not be asked.
    Internal(AppError),
}

/// The provinces all of whose regencies are among `regencies`.
async fn provinces_covered_by(
    db: &DatabaseConnection,
    regencies: &BTreeSet<String>,
) -> Result<BTreeSet<String>, AppError> {
    if regencies.is_empty() {
        return Ok(BTreeSet::new());
    }
    // Every regency of the provinces the given regencies lie in.
    let touched = sea_orm::sea_query::Query::select()
        .column(regency::Column::ProvinceCode)
        .from(regency::Entity)
        .and_where(regency::Column::Code.is_in(regencies.iter().cloned()))
        .to_owned();
    let mut all_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in regency::Entity::find()
        .filter(regency::Column::ProvinceCode.in_subquery(touched))
        .all(db)
        .await?
    {
        all_of.entry(row.province_code).or_default().push(row.code);
    }
    Ok(all_of
        .into_iter()
        .filter(|(_, codes)| codes.iter().all(|code| regencies.contains(code)))
        .map(|(province, _)| province)
        .collect())
}

async fn load_access(
    db: &DatabaseConnection,
    code: &str,
) -> Result<Option<AgencyAccess>, AppError> {
    let Some(agency) = agency::Entity::find_by_id(code.to_owned()).one(db).await? else {
        return Ok(None);
    };
    let kind: AgencyKind = agency.kind;
    if agency.level.is_national() {
        return Ok(Some(AgencyAccess {
            kind,
            jurisdiction: Arc::new(Jurisdiction::Nationwide),
        }));
    }
    let rows = agency_jurisdiction::Entity::find()
        .filter(agency_jurisdiction::Column::AgencyCode.eq(code))
        .all(db)
        .await?;
    let partial_ids: Vec<i32> = rows
        .iter()
        .filter(|r| r.coverage == Coverage::Partial)
        .map(|r| r.id)
        .collect();
    let districts = if partial_ids.is_empty() {
        Vec::new()
    } else {
        jurisdiction_district::Entity::find()
            .filter(jurisdiction_district::Column::JurisdictionId.is_in(partial_ids))
            .all(db)
            .await?
    };
    let mut set = RegionSet::default();
    for row in rows {
        match (row.coverage == Coverage::Full, row.regency_code) {
            (true, None) => {
                set.provinces.insert(row.region_code);
            }
            (true, Some(regency)) => {
                set.regencies.insert(regency);
            }
            // PARTIAL: only the listed districts of a regency; a PARTIAL province row
            // without districts covers nothing (deny by default).
            (false, Some(regency)) => {
                let covered: BTreeSet<String> = districts
                    .iter()
                    .filter(|d| d.jurisdiction_id == row.id)
                    .map(|d| d.district_code.clone())
                    .collect();
                if !covered.is_empty() {
                    set.partial.entry(regency).or_default().extend(covered);
                }
            }
            (false, None) => {}
        }
    }
    set.provinces_covered_by_regencies = provinces_covered_by(db, &set.regencies).await?;
    Ok(Some(AgencyAccess {
        kind,
        jurisdiction: Arc::new(if set.is_empty() {
            Jurisdiction::Nowhere
        } else {
            Jurisdiction::Regions(set)
        }),
    }))
}
