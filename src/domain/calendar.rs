//! Working days and result announcements for the clocks the law counts in working days
//! (the Constitutional Court's). The calendar is data with its sources
//! (`data/non_working_days.csv`: Indonesia's 2024–2025 national holidays and collective
//! leave days; `data/result_announcements.csv`), embedded at build time like the seed's
//! files. It is not in the database: nobody edits the law's calendar during an election,
//! and the clocks must be pure functions that the `overdue` filter can mirror in SQL.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use serde::Deserialize;

use crate::domain::reference::utc_offset_hours;

const NON_WORKING_DAYS: &str = include_str!("../../data/non_working_days.csv");
const ANNOUNCEMENTS: &str = include_str!("../../data/result_announcements.csv");

/// The row of `result_announcements.csv` for contests without a recorded date.
const NATIONAL: &str = "NATIONAL";

#[derive(Deserialize)]
struct DayRow {
    date: NaiveDate,
}

#[derive(Deserialize)]
struct AnnouncementRow {
    region_code: String,
    announced_on: NaiveDate,
}

/// The embedded calendar.
pub struct Calendar {
    days_off: BTreeSet<NaiveDate>,
    announcements: HashMap<String, NaiveDate>,
    /// For contests without a recorded announcement.
    national_announcement: NaiveDate,
    /// The last day the data covers: counting beyond it would treat unknown holidays as
    /// working days, so the clocks warn in the log (`covers`).
    pub covered_until: NaiveDate,
}

fn parse() -> Result<Calendar, String> {
    let days: Vec<DayRow> = csv::Reader::from_reader(NON_WORKING_DAYS.as_bytes())
        .deserialize()
        .collect::<Result<_, _>>()
        .map_err(|err| format!("non_working_days.csv: {err}"))?;
    let rows: Vec<AnnouncementRow> = csv::Reader::from_reader(ANNOUNCEMENTS.as_bytes())
        .deserialize()
        .collect::<Result<_, _>>()
        .map_err(|err| format!("result_announcements.csv: {err}"))?;
    let mut announcements: HashMap<String, NaiveDate> = rows
        .into_iter()
        .map(|r| (r.region_code, r.announced_on))
        .collect();
    let national_announcement = announcements
        .remove(NATIONAL)
        .ok_or("result_announcements.csv has no NATIONAL row")?;
    let days_off: BTreeSet<NaiveDate> = days.into_iter().map(|d| d.date).collect();
    let covered_until = days_off
        .last()
        .and_then(|d| NaiveDate::from_ymd_opt(d.year(), 12, 31))
        .ok_or("non_working_days.csv is empty")?;
    Ok(Calendar {
        days_off,
        announcements,
        national_announcement,
        covered_until,
    })
}

static CALENDAR: LazyLock<Calendar> = LazyLock::new(|| match parse() {
    Ok(calendar) => calendar,
    // Bundled files are checked by a unit test; reaching this is a build of broken data,
    // and an empty calendar (weekends only) is the safe reading: never a later deadline.
    Err(err) => {
        tracing::error!(error = %err, "the bundled calendar does not parse; counting weekends only");
        Calendar {
            days_off: BTreeSet::new(),
            announcements: HashMap::new(),
            national_announcement: NaiveDate::MIN,
            covered_until: NaiveDate::MIN,
        }
    }
});

/// The embedded calendar.
pub fn calendar() -> &'static Calendar {
    &CALENDAR
}

impl Calendar {
    /// Whether a day is a working day: Monday to Friday, not a national holiday or a
    /// collective leave day.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !self.days_off.contains(&day)
    }

    /// The `n`th working day after `day` (`day` itself is not counted).
    pub fn add_working_days(&self, day: NaiveDate, n: u32) -> NaiveDate {
        let mut current = day;
        let mut left = n;
        while left > 0 {
            current += Duration::days(1);
            if self.is_working_day(current) {
                left -= 1;
            }
        }
        current
    }

    /// The day a contest's result was announced: the recorded date for the province (or
    /// regency) where there is one, else the last day of the national counting stage.
    pub fn announced_on(&self, province_code: &str, regency_code: &str) -> NaiveDate {
        self.announcements
            .get(regency_code)
            .or_else(|| self.announcements.get(province_code))
            .copied()
            .unwrap_or(self.national_announcement)
    }

    /// The regions with a recorded announcement date (province or regency codes).
    pub fn announced_regions(&self) -> impl Iterator<Item = (&str, NaiveDate)> {
        self.announcements.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// The national fallback date.
    pub fn national_announcement(&self) -> NaiveDate {
        self.national_announcement
    }
}

/// The end of a local day (the next local midnight) in a province, as an instant.
pub fn end_of_local_day(day: NaiveDate, province_code: &str) -> DateTime<Utc> {
    (day + Duration::days(1)).and_time(NaiveTime::MIN).and_utc()
        - Duration::hours(utc_offset_hours(province_code))
}

/// The local calendar day of an instant in a province.
pub fn local_day(at: DateTime<Utc>, province_code: &str) -> NaiveDate {
    (at + Duration::hours(utc_offset_hours(province_code))).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_bundled_calendar_parses_and_covers_2024_and_2025() {
        let calendar = parse().unwrap();
        assert_eq!(calendar.covered_until, day(2025, 12, 31));
        assert!(calendar.days_off.contains(&day(2024, 12, 25)));
        assert!(
            calendar.days_off.contains(&day(2024, 12, 26)),
            "collective leave"
        );
        assert_eq!(calendar.announced_on("31", "31.74"), day(2024, 12, 8));
        assert_eq!(calendar.announced_on("32", "32.76"), day(2024, 12, 16));
    }

    #[test]
    fn working_days_skip_weekends_holidays_and_collective_leave() {
        let calendar = parse().unwrap();
        // Jakarta announced Sunday 8 Dec 2024: Mon 9, Tue 10, Wed 11.
        assert_eq!(
            calendar.add_working_days(day(2024, 12, 8), 3),
            day(2024, 12, 11)
        );
        // Tue 24 Dec 2024: 25 (Christmas) and 26 (collective leave) and the weekend are
        // skipped: Fri 27, Mon 30, Tue 31.
        assert_eq!(
            calendar.add_working_days(day(2024, 12, 24), 3),
            day(2024, 12, 31)
        );
        // Mon 16 Dec 2024 (the national fallback): Tue 17, Wed 18, Thu 19.
        assert_eq!(
            calendar.add_working_days(day(2024, 12, 16), 3),
            day(2024, 12, 19)
        );
        assert!(
            !calendar.is_working_day(day(2024, 11, 27)),
            "Pilkada polling day"
        );
    }

    #[test]
    fn a_local_day_ends_at_local_midnight() {
        let end = end_of_local_day(day(2024, 12, 11), "31");
        assert_eq!(end.to_rfc3339(), "2024-12-11T17:00:00+00:00");
        assert_eq!(
            local_day(end - Duration::seconds(1), "31"),
            day(2024, 12, 11)
        );
        assert_eq!(local_day(end, "31"), day(2024, 12, 12));
    }
}
