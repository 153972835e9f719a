//! Provinces, regencies/cities and districts.

use async_graphql::{Context, ID, Object};
use entity::{district, province, regency};

use super::agency::Posko;
use super::election::Election;
use super::results::{self, RegionResult};
use crate::domain::reference_snapshot::ReferenceSnapshot;
use crate::domain::types::RegencyKind;
use crate::graphql::context::ContextExt;
use crate::graphql::node::{self, Kind};
use crate::graphql::plain::{self, Plain, PlainList, PlainObject};

/// A province (provinsi), by its Kemendagri code such as `"31"`.
pub struct Province(pub province::Model);

/// A province (provinsi), by its Kemendagri code such as `"31"` (DKI Jakarta).
#[Object]
impl Province {
    /// Globally unique and opaque (Relay `Node`); `node(id:)` answers it again.
    pub(crate) async fn id(&self) -> ID {
        node::global_id(Kind::Province, &self.0.code)
    }
    /// Kemendagri code, e.g. `"31"` for DKI Jakarta.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Official name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Its regencies and cities, by code (for complexity, 15 items).
    #[graphql(complexity = "15 * child_complexity")]
    async fn regencies(&self, ctx: &Context<'_>) -> async_graphql::Result<PlainList<Regency>> {
        let reference = ctx.request()?.reference();
        Ok(PlainList(
            reference
                .regencies_of(&self.0.code)
                .into_iter()
                .cloned()
                .map(Regency)
                .collect(),
        ))
    }
    /// Every contest held in the province: its governor's and its regencies'/cities'
    /// (for complexity, 15 items).
    #[graphql(complexity = "15 * child_complexity")]
    async fn elections(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Election>> {
        let reference = ctx.request()?.reference();
        Ok(reference
            .elections_of_province(&self.0.code)
            .into_iter()
            .cloned()
            .map(Election)
            .collect())
    }
    /// The province's posko, if one is registered.
    async fn posko(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Posko>> {
        Ok(ctx
            .request()?
            .reference()
            .posko(&self.0.code)
            .cloned()
            .map(Posko))
    }
}

/// A regency (kabupaten) or city (kota), by its code such as `"32.76"`.
pub struct Regency(pub regency::Model);

/// A regency (kabupaten) or city (kota), by its Kemendagri code such as `"32.76"`
/// (Kota Depok).
#[Object]
impl Regency {
    /// Globally unique and opaque (Relay `Node`); `node(id:)` answers it again.
    pub(crate) async fn id(&self) -> ID {
        node::global_id(Kind::Regency, &self.0.code)
    }
    /// Kemendagri code `PP.NN`; `NN` 01–69 is a kabupaten, 71–99 a kota.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Official name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Regency (kabupaten) or city (kota).
    async fn kind(&self) -> async_graphql::Result<RegencyKind> {
        Ok(self.0.kind)
    }
    /// Jakarta's five kota administrasi and one kabupaten administrasi are not autonomous
    /// and hold no election.
    async fn is_administrative(&self) -> bool {
        self.0.is_administrative
    }
    /// The province it belongs to.
    async fn province(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Province>> {
        Ok(ctx
            .request()?
            .reference()
            .province(&self.0.province_code)
            .cloned()
            .map(Province))
    }
    /// Its own contests (regent or mayor); empty for administrative regions.
    async fn elections(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Election>> {
        let reference = ctx.request()?.reference();
        Ok(reference
            .elections_of_region(&self.0.code)
            .into_iter()
            .cloned()
            .map(Election)
            .collect())
    }
    /// The districts (kecamatan) Posko knows of; only those it needs are loaded.
    async fn districts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<District>> {
        let reference = ctx.request()?.reference();
        Ok(reference
            .districts_of(&self.0.code)
            .into_iter()
            .cloned()
            .map(District)
            .collect())
    }
    /// The official counts made in this regency or city (for Jakarta's cities, the
    /// governor's election counted there), by round.
    async fn results(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RegionResult>> {
        results::of_region(ctx, &self.0.code).await
    }
}

/// The fields of `Province` that are data the province holds (`graphql::plain`).
impl PlainObject for province::Model {
    fn graphql_type_name(&self) -> &'static str {
        "Province"
    }

    fn plain_field<'a>(&'a self, name: &str, _: &'a ReferenceSnapshot) -> Option<Plain<'a>> {
        Some(match name {
            "id" => plain::scalar(node::global_id(Kind::Province, &self.code)),
            "code" => plain::text(&self.code),
            "name" => plain::text(&self.name),
            _ => return None,
        })
    }
}

/// The fields of `Regency` that are data the regency holds, and its province
/// (`graphql::plain`).
impl PlainObject for regency::Model {
    fn graphql_type_name(&self) -> &'static str {
        "Regency"
    }

    fn plain_field<'a>(
        &'a self,
        name: &str,
        reference: &'a ReferenceSnapshot,
    ) -> Option<Plain<'a>> {
        Some(match name {
            "id" => plain::scalar(node::global_id(Kind::Regency, &self.code)),
            "code" => plain::text(&self.code),
            "name" => plain::text(&self.name),
            "kind" => plain::enumeration(self.kind),
            "isAdministrative" => plain::scalar(self.is_administrative),
            "province" => Plain::Object(
                reference
                    .province(&self.province_code)
                    .map(|province| province as &dyn PlainObject),
            ),
            _ => return None,
        })
    }
}

/// `Province` and `Regency` answer plainly as their models do: the snapshot hands out
/// models (a dispute's `province`), the query root and `Province.regencies` the wrappers.
macro_rules! plain_as_its_model {
    ($($wrapper:ty),*) => {$(
        impl PlainObject for $wrapper {
            fn graphql_type_name(&self) -> &'static str {
                self.0.graphql_type_name()
            }

            fn plain_field<'a>(
                &'a self,
                name: &str,
                reference: &'a ReferenceSnapshot,
            ) -> Option<Plain<'a>> {
                self.0.plain_field(name, reference)
            }
        }
    )*};
}

plain_as_its_model!(Province, Regency);

/// A district (kecamatan), by its code such as `"36.03.13"`.
pub struct District(pub district::Model);

/// A district (kecamatan), by its Kemendagri code such as `"36.03.13"`.
#[Object]
impl District {
    /// Globally unique and opaque (Relay `Node`); `node(id:)` answers it again.
    pub(crate) async fn id(&self) -> ID {
        node::global_id(Kind::District, &self.0.code)
    }
    /// Kemendagri code `PP.NN.KK`, e.g. `"36.03.13"`.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Official name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The regency or city it belongs to.
    async fn regency(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Regency>> {
        Ok(ctx
            .request()?
            .reference()
            .regency(&self.0.regency_code)
            .cloned()
            .map(Regency))
    }
}
