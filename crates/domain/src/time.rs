//! Instants as UTC microseconds, parsed liberally and rendered per dialect.
//!
//! Clients send ISO 8601 in many cuts: full RFC 3339 with `Z` or an offset (with or
//! without the colon, `+0000` as Koncili writes it), a zone-less `yyyy-MM-ddTHH:mm:ss`
//! with any number of fraction digits, `yyyy-MM-dd HH:mm`, or a bare `yyyy-MM-dd`.
//! Zone-less input is the client's local time, which for every vendor here is Brasília
//! (UTC-3; Brazil has had no daylight saving time since 2019, so a fixed offset is what
//! the vendors themselves render). Inside, everything is UTC.

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
};
use serde::{Deserialize, Serialize};

use crate::FieldError;

/// Brasília time, the zone vendors render and zone-less input is read in.
pub fn brasilia() -> FixedOffset {
    FixedOffset::west_opt(3 * 3600).expect("valid offset")
}

/// A UTC instant with microsecond precision.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Timestamp {
        Timestamp(Utc::now().timestamp_micros())
    }

    pub fn from_micros(us: i64) -> Timestamp {
        Timestamp(us)
    }

    pub fn micros(self) -> i64 {
        self.0
    }

    pub fn to_utc(self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.0).unwrap_or_default()
    }

    /// Parses any of the accepted cuts; zone-less input is read in `local`.
    pub fn parse_in(raw: &str, local: FixedOffset) -> Result<Timestamp, FieldError> {
        let s = raw.trim();
        let bad = || {
            FieldError::new(
                "",
                format!("'{raw}' is not a date-time (expected ISO 8601, e.g. 2023-06-06T21:41:57-03:00)"),
            )
        };
        if s.is_empty() || s.len() > 40 {
            return Err(bad());
        }
        if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
            return Ok(Self::from_dt(dt.with_timezone(&Utc)));
        }
        for fmt in [
            "%Y-%m-%dT%H:%M:%S%.f%z",
            "%Y-%m-%d %H:%M:%S%.f%z",
            "%Y-%m-%dT%H:%M%z",
        ] {
            if let Ok(dt) = DateTime::parse_from_str(s, fmt) {
                return Ok(Self::from_dt(dt.with_timezone(&Utc)));
            }
        }
        for fmt in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
                return Self::from_local(naive, local).ok_or_else(bad);
            }
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Self::from_local(d.and_time(NaiveTime::MIN), local).ok_or_else(bad);
        }
        Err(bad())
    }

    /// Parses with Brasília as the local zone.
    pub fn parse(raw: &str) -> Result<Timestamp, FieldError> {
        Self::parse_in(raw, brasilia())
    }

    fn from_dt(dt: DateTime<Utc>) -> Timestamp {
        Timestamp(dt.timestamp_micros())
    }

    fn from_local(naive: NaiveDateTime, local: FixedOffset) -> Option<Timestamp> {
        local
            .from_local_datetime(&naive)
            .single()
            .map(|dt| Self::from_dt(dt.with_timezone(&Utc)))
    }

    /// The instant in `zone`.
    pub fn in_zone(self, zone: FixedOffset) -> DateTime<FixedOffset> {
        self.to_utc().with_timezone(&zone)
    }

    /// RFC 3339 in UTC with milliseconds, the native API's format
    /// (`2023-06-07T00:41:57.000Z`).
    pub fn to_rfc3339_utc(self) -> String {
        let dt = self.to_utc();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            dt.timestamp_subsec_millis().min(999)
        )
    }

    /// Seconds precision in `zone`, with the offset (`2023-06-06T21:41:57-03:00`).
    /// Written by hand: chrono's strftime machinery was a visible share of the time
    /// spent rendering listings.
    pub fn to_offset_seconds(self, zone: FixedOffset) -> String {
        let dt = self.in_zone(zone);
        let off = zone.local_minus_utc();
        let (sign, off) = if off < 0 { ('-', -off) } else { ('+', off) };
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            off / 3600,
            off % 3600 / 60
        )
    }

    /// The start of the Brasília calendar day `date` and the start of the next one.
    pub fn brasilia_day_bounds(date: NaiveDate) -> Option<(Timestamp, Timestamp)> {
        let start = Self::from_local(date.and_time(NaiveTime::MIN), brasilia())?;
        let next = Self::from_local(date.succ_opt()?.and_time(NaiveTime::MIN), brasilia())?;
        Some((start, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_cuts_clients_send() {
        let t = Timestamp::parse("2023-06-06T21:41:57-03:00").unwrap();
        assert_eq!(t.to_rfc3339_utc(), "2023-06-07T00:41:57.000Z");
        assert_eq!(Timestamp::parse("2023-06-07T00:41:57Z").unwrap(), t);
        assert_eq!(Timestamp::parse("2023-06-06T21:41:57").unwrap(), t);
        assert_eq!(Timestamp::parse("2023-06-06 21:41:57").unwrap(), t);
        assert_eq!(
            Timestamp::parse("2018-01-01T12:00:00.000+0000")
                .unwrap()
                .to_rfc3339_utc(),
            "2018-01-01T12:00:00.000Z"
        );
        assert_eq!(
            Timestamp::parse("2023-06-06 21:41")
                .unwrap()
                .to_rfc3339_utc(),
            "2023-06-07T00:41:00.000Z"
        );
        assert_eq!(
            Timestamp::parse("2023-06-06").unwrap().to_rfc3339_utc(),
            "2023-06-06T03:00:00.000Z"
        );
        assert_eq!(
            Timestamp::parse("1970-01-01T00:00:00.123456000")
                .unwrap()
                .micros(),
            3 * 3600 * 1_000_000 + 123_456
        );
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "",
            "yesterday",
            "2023-13-01",
            "2023-02-30",
            "06/06/2023",
            "2023-06-06T25:00:00",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn brasilia_rendering_and_days() {
        let t = Timestamp::parse("2023-06-07T00:41:57Z").unwrap();
        assert_eq!(
            t.in_zone(brasilia())
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            "2023-06-06T21:41:57-03:00"
        );
        let (a, b) =
            Timestamp::brasilia_day_bounds(NaiveDate::from_ymd_opt(2023, 6, 6).unwrap()).unwrap();
        assert!(a <= t && t < b);
        assert_eq!(t.to_offset_seconds(brasilia()), "2023-06-06T21:41:57-03:00");
        let utc = FixedOffset::east_opt(0).unwrap();
        assert_eq!(t.to_offset_seconds(utc), "2023-06-07T00:41:57+00:00");
        assert_eq!(
            Timestamp(t.0 + 123_456).to_rfc3339_utc(),
            "2023-06-07T00:41:57.123Z"
        );
    }
}
