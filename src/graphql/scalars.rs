//! Posko's own date scalars. They keep the names clients already use (`DateTime`,
//! `NaiveDate`) and the values chrono's scalars read and write, but describe their wire
//! format in the schema, and `DateTime` refuses a value without an offset during validation
//! (where the error names the argument) instead of during execution.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{NaiveDate, Utc};

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
/// A `DateTime` argument or answer.
pub struct Timestamp(pub chrono::DateTime<Utc>);

/// An instant, as an RFC 3339 date-time with a UTC offset: `2024-11-25T10:00:00+07:00`
/// (Western Indonesia Time, WIB), `2024-11-25T12:00:00+09:00` (WIT) or
/// `2024-11-25T03:00:00Z`. Answers are in UTC (`+00:00`). A date-time without an offset,
/// such as `2024-11-25T10:00:00` (what Python's `datetime.isoformat()` gives for a naive
/// datetime), is refused with BAD_USER_INPUT: Indonesia spans three time zones, so the
/// server never guesses one.
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339"
)]
impl ScalarType for Timestamp {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => Ok(Self(text.parse::<chrono::DateTime<Utc>>()?)),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    // Checked during validation, so that a value without an offset is refused naming the
    // argument (`schema::explain_formats` words the error).
    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(text) if text.parse::<chrono::DateTime<Utc>>().is_ok())
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339())
    }
}

impl From<chrono::DateTime<Utc>> for Timestamp {
    fn from(at: chrono::DateTime<Utc>) -> Self {
        Self(at)
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
/// A `NaiveDate` argument or answer.
pub struct Date(pub NaiveDate);

/// A calendar day without a time or zone, written `YYYY-MM-DD` (ISO 8601), e.g.
/// `2024-11-27`, the day of the 2024 Pilkada vote.
#[Scalar(name = "NaiveDate")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => Ok(Self(NaiveDate::parse_from_str(text, "%Y-%m-%d")?)),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(text) if NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok())
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

impl From<NaiveDate> for Date {
    fn from(day: NaiveDate) -> Self {
        Self(day)
    }
}

/// What each date scalar expects, for the error that refuses a value of the wrong form.
pub const EXPECTED_FORMATS: &[(&str, &str)] = &[
    (
        "DateTime",
        "a DateTime in RFC 3339 with a UTC offset, e.g. 2024-11-25T10:00:00+07:00 or \
         2024-11-25T03:00:00Z (a date-time without an offset names no instant)",
    ),
    ("NaiveDate", "a date as YYYY-MM-DD, e.g. 2024-11-27"),
];
