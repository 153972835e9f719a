//! Reading `dispute` rows by position.
//!
//! sea-orm's derived decoder reads each of a row's columns by name, and for every NULL
//! column formats the column's name into an error that the `Option` then discards: a
//! page of 50 disputes cost about a fifth of a list request's server CPU in that decoder
//! (BENCHMARKS.md, session 9). A `Select<dispute::Entity>` lists its columns in the
//! entity's field order, so the same row can be read by position, borrowing the enum
//! columns' text instead of allocating it. Anything that is not that exact row (another
//! backend, a prefix, a different column count) falls back to sea-orm's own decoder, and
//! the tests below hold the column order to the entity's.

use std::str::FromStr;

use entity::dispute;
use sea_orm::sqlx::{self, Row as _};
use sea_orm::{DbErr, FromQueryResult, QueryResult};

/// A `dispute` row read by position where the backend's row allows it.
pub struct DisputeRow {
    row: dispute::Model,
    by_position: bool,
}

impl DisputeRow {
    pub fn into_model(self) -> dispute::Model {
        self.row
    }

    /// Whether it was read by position rather than by sea-orm's decoder (for the tests).
    pub fn by_position(&self) -> bool {
        self.by_position
    }

    fn positional(row: dispute::Model) -> Self {
        Self {
            row,
            by_position: true,
        }
    }
}

/// The columns in the order a `Select<dispute::Entity>` lists them, which is the order
/// `decode!` reads them in.
pub const COLUMNS: [&str; 29] = [
    "id",
    "public_id",
    "ref_no",
    "title",
    "description",
    "category",
    "severity",
    "status",
    "province_code",
    "regency_code",
    "district_code",
    "location_text",
    "election_id",
    "stage_id",
    "stage_code",
    "occurred_at",
    "reported_at",
    "updated_at",
    "restricted",
    "reporter_name",
    "reporter_contact",
    "reporter_kind",
    "violation",
    "outcome",
    "reported_by_agency",
    "reported_by_sub",
    "idempotency_key",
    "request_hash",
    "version",
];

fn vocabulary<T: FromStr>(text: &str, column: &'static str) -> Result<T, sqlx::Error> {
    T::from_str(text).map_err(|_| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: format!("{text:?} is not a known value").into(),
    })
}

fn optional_vocabulary<T: FromStr>(
    text: Option<&str>,
    column: &'static str,
) -> Result<Option<T>, sqlx::Error> {
    text.map(|text| vocabulary(text, column)).transpose()
}

/// Reads one backend's row; a macro rather than a generic function because sqlx's
/// decoding bounds differ per backend and would outweigh the body. Unchecked: sqlx's check
/// that each column's database type suits the Rust type costs more than a tenth of the
/// decoding, and what it would catch (a migration changing a column's type) the
/// by-position-equals-by-name test catches on both backends.
macro_rules! decode {
    ($row:expr) => {{
        let row = $row;
        dispute::Model {
            id: row.try_get_unchecked(0)?,
            public_id: row.try_get_unchecked(1)?,
            ref_no: row.try_get_unchecked(2)?,
            title: row.try_get_unchecked(3)?,
            description: row.try_get_unchecked(4)?,
            category: vocabulary(row.try_get_unchecked::<&str, _>(5)?, COLUMNS[5])?,
            severity: vocabulary(row.try_get_unchecked::<&str, _>(6)?, COLUMNS[6])?,
            status: vocabulary(row.try_get_unchecked::<&str, _>(7)?, COLUMNS[7])?,
            province_code: row.try_get_unchecked(8)?,
            regency_code: row.try_get_unchecked(9)?,
            district_code: row.try_get_unchecked(10)?,
            location_text: row.try_get_unchecked(11)?,
            election_id: row.try_get_unchecked(12)?,
            stage_id: row.try_get_unchecked(13)?,
            stage_code: row.try_get_unchecked(14)?,
            occurred_at: row.try_get_unchecked(15)?,
            reported_at: row.try_get_unchecked(16)?,
            updated_at: row.try_get_unchecked(17)?,
            restricted: row.try_get_unchecked(18)?,
            reporter_name: row.try_get_unchecked(19)?,
            reporter_contact: row.try_get_unchecked(20)?,
            reporter_kind: optional_vocabulary(
                row.try_get_unchecked::<Option<&str>, _>(21)?,
                COLUMNS[21],
            )?,
            violation: optional_vocabulary(
                row.try_get_unchecked::<Option<&str>, _>(22)?,
                COLUMNS[22],
            )?,
            outcome: row.try_get_unchecked(23)?,
            reported_by_agency: row.try_get_unchecked(24)?,
            reported_by_sub: row.try_get_unchecked(25)?,
            idempotency_key: row.try_get_unchecked(26)?,
            request_hash: row.try_get_unchecked(27)?,
            version: row.try_get_unchecked(28)?,
        }
    }};
}

fn from_postgres(row: &sqlx::postgres::PgRow) -> Result<dispute::Model, sqlx::Error> {
    Ok(decode!(row))
}

fn from_sqlite(row: &sqlx::sqlite::SqliteRow) -> Result<dispute::Model, sqlx::Error> {
    Ok(decode!(row))
}

fn decode_error(err: sqlx::Error) -> DbErr {
    DbErr::Type(format!("a dispute row does not decode: {err}"))
}

impl DisputeRow {
    /// Reads by position a row that is exactly the entity's columns followed by `trailing`
    /// more (read by name by whoever added them); anything else by sea-orm's decoder.
    fn read(res: &QueryResult, pre: &str, trailing: usize) -> Result<Self, DbErr> {
        let expected = COLUMNS.len() + trailing;
        if pre.is_empty() {
            if let Some(row) = res.try_as_pg_row()
                && row.len() == expected
            {
                return from_postgres(row)
                    .map(Self::positional)
                    .map_err(decode_error);
            }
            if let Some(row) = res.try_as_sqlite_row()
                && row.len() == expected
            {
                return from_sqlite(row).map(Self::positional).map_err(decode_error);
            }
        }
        dispute::Model::from_query_result(res, pre).map(|row| Self {
            row,
            by_position: false,
        })
    }
}

impl FromQueryResult for DisputeRow {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        Self::read(res, pre, 0)
    }
}

/// A `dispute` row and, after its columns, the bodies it was escalated to
/// (`ESCALATED_TO`: comma-separated, NULL for none).
pub struct DisputeWithEscalations {
    pub row: DisputeRow,
    pub escalated_to: Option<String>,
}

/// The name of the column `DisputeWithEscalations` reads after the row's.
pub const ESCALATED_TO: &str = "escalated_to";

impl FromQueryResult for DisputeWithEscalations {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        Ok(Self {
            row: DisputeRow::read(res, pre, 1)?,
            escalated_to: res.try_get(pre, ESCALATED_TO)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{EntityTrait, IdenStatic, Iterable, QueryTrait};

    use super::*;

    #[test]
    fn the_positions_are_the_entitys_column_order() {
        let entity: Vec<&str> = dispute::Column::iter().map(|c| c.as_str()).collect();
        assert_eq!(entity, COLUMNS);
        // …and a select of the entity lists them in that order.
        let sql = dispute::Entity::find()
            .build(sea_orm::DatabaseBackend::Postgres)
            .to_string();
        let mut at = 0;
        for column in COLUMNS {
            let quoted = format!("\"dispute\".\"{column}\"");
            let found = sql[at..]
                .find(&quoted)
                .unwrap_or_else(|| panic!("{column} out of order in {sql}"));
            at += found + quoted.len();
        }
    }
}
