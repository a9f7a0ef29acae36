//! Timestamps and dates on the wire (SPEC §1.1).

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// Microseconds since the Unix epoch: the store's timestamp representation.
pub(crate) type Micros = i64;

/// Truncates to whole microseconds (SPEC §1.1: finer precision is dropped).
pub(crate) fn to_micros(t: DateTime<Utc>) -> Micros {
    t.timestamp_micros()
}

/// The inverse of [`to_micros`].
///
/// A page renders three timestamps per record, and chrono's conversion of
/// a day number to a calendar date (era cycles, year table, ordinal
/// flags) was a fifth of reading a record's fields: dates from 1970 to
/// 2099 are read from a table of them instead, built on first use
/// (48,000 dates, 190 KB, about half a millisecond). (The JSON writer's
/// `civil_from_days` gives the year, month and day, but building a
/// `NaiveDate` from them through `from_ymd_opt` measured slower than
/// chrono's own conversion.)
#[inline]
pub(crate) fn from_micros(m: Micros) -> DateTime<Utc> {
    // Within the table the value is non-negative: unsigned division by
    // constants, no euclidean sign fix-ups (half the instructions).
    if let Ok(u) = u64::try_from(m)
        && let Some(&date) = dates().get((u / MICROS_PER_DAY_U64) as usize)
    {
        // The remainder is below a day's microseconds: both parts are
        // in range.
        let rem = u % MICROS_PER_DAY_U64;
        let (secs, micros) = ((rem / 1_000_000) as u32, (rem % 1_000_000) as u32);
        let time = chrono::NaiveTime::from_num_seconds_from_midnight_opt(secs, micros * 1000)
            .expect("within a day");
        return date.and_time(time).and_utc();
    }
    from_micros_outside(m)
}

/// [`from_micros`] outside the table's days, by chrono.
#[cold]
#[inline(never)]
fn from_micros_outside(m: Micros) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(m).expect("micros come from a valid DateTime")
}

/// The table of [`DATES`], built on first use.
#[inline]
fn dates() -> &'static [NaiveDate] {
    DATES.get_or_init(|| (0..TABLE_DAYS).map(day_to_date).collect())
}

/// [`MICROS_PER_DAY`] for unsigned arithmetic.
const MICROS_PER_DAY_U64: u64 = MICROS_PER_DAY as u64;

/// Days from 1970-01-01 to 2100-01-01: the span of [`DATES`].
const TABLE_DAYS: i32 = 47_482;

/// The dates of days `0..TABLE_DAYS` since 1970-01-01 (see [`from_micros`]).
static DATES: std::sync::OnceLock<Box<[NaiveDate]>> = std::sync::OnceLock::new();

/// Microseconds in a (UTC) day.
pub(crate) const MICROS_PER_DAY: Micros = 86_400_000_000;

/// Days since 1970-01-01 of the UTC calendar date of a timestamp.
pub(crate) fn micros_to_day(m: Micros) -> i32 {
    m.div_euclid(MICROS_PER_DAY) as i32
}

/// Days from 0001-01-01 (day 1 of the proleptic Gregorian era) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Days since 1970-01-01 of a date.
pub(crate) fn date_to_day(d: NaiveDate) -> i32 {
    chrono::Datelike::num_days_from_ce(&d) - EPOCH_DAYS_FROM_CE
}

/// The date `day` days after 1970-01-01 (one calendar conversion; the
/// epoch plus a duration was two).
pub(crate) fn day_to_date(day: i32) -> NaiveDate {
    day.checked_add(EPOCH_DAYS_FROM_CE)
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .expect("days come from a valid NaiveDate")
}

/// Parses RFC 3339 with any offset, converted to UTC and truncated to microseconds.
pub(crate) fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(s.trim())
        .ok()?
        .with_timezone(&Utc);
    Some(truncate(t))
}

/// Drops sub-microsecond precision.
pub(crate) fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// Writes RFC 3339 with `Z`, six fraction digits when non-zero, none otherwise.
pub(crate) fn format_timestamp(t: DateTime<Utc>, out: &mut String) {
    use std::fmt::Write;
    let fmt = if t.timestamp_subsec_micros() == 0 {
        SecondsFormat::Secs
    } else {
        SecondsFormat::Micros
    };
    let _ = write!(out, "{}", t.to_rfc3339_opts(fmt, true));
}

/// Parses a query-parameter date: `YYYY-MM-DD`, month and day with one or two
/// digits (what Python's `strptime('%Y-%m-%d')` accepts).
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let mut it = s.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some()
        || y.len() != 4
        || !(1..=2).contains(&m.len())
        || !(1..=2).contains(&d.len())
        || ![y, m, d]
            .iter()
            .all(|p| p.bytes().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// Parses a record's `billing_period`: strictly `YYYY-MM-DD`.
pub(crate) fn parse_record_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    parse_date(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        let t = parse_timestamp("2025-03-15T12:00:00.2500009+02:00").unwrap();
        let mut s = String::new();
        format_timestamp(t, &mut s);
        assert_eq!(s, "2025-03-15T10:00:00.250000Z");
        s.clear();
        format_timestamp(parse_timestamp("2025-03-15T10:00:00Z").unwrap(), &mut s);
        assert_eq!(s, "2025-03-15T10:00:00Z");
        assert!(parse_timestamp("2025-03-15 10:00").is_none());
    }

    /// The table of dates agrees with chrono on every day it holds, at its
    /// edges, before the epoch and at the extremes chrono accepts.
    #[test]
    fn from_micros_matches_chrono() {
        let day = 86_400_000_000i64;
        let min = DateTime::<Utc>::MIN_UTC.timestamp_micros();
        let max = DateTime::<Utc>::MAX_UTC.timestamp_micros();
        let mut cases = vec![min, max, -1, 0, 1, day - 1, day, -day, -day - 1];
        let edge = i64::from(TABLE_DAYS) * day;
        cases.extend([edge - 1, edge, edge + 1]);
        // Every day of the table, at a time of day that varies with it.
        cases.extend((0..i64::from(TABLE_DAYS)).map(|d| d * day + (d * 7_919_999_983) % day));
        for m in cases {
            assert_eq!(
                from_micros(m),
                DateTime::from_timestamp_micros(m).unwrap(),
                "{m} µs"
            );
        }
    }

    #[test]
    fn days() {
        let t = parse_timestamp("1969-12-31T23:59:59Z").unwrap();
        assert_eq!(micros_to_day(to_micros(t)), -1);
        let d = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
        assert_eq!(day_to_date(date_to_day(d)), d);
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_date("2025-03-01"),
            NaiveDate::from_ymd_opt(2025, 3, 1)
        );
        assert_eq!(parse_date("2025-3-1"), NaiveDate::from_ymd_opt(2025, 3, 1));
        for s in [
            "2025-02-30",
            "25-03-01",
            "2025/03/01",
            "2025-03-01T00:00",
            "x",
            "2025-003-01",
        ] {
            assert_eq!(parse_date(s), None, "{s}");
        }
        assert_eq!(parse_record_date("2025-3-1"), None);
    }
}
