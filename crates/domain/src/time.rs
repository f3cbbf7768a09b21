//! Instants as UTC microseconds, parsed liberally and rendered per dialect.
//!
//! Clients send ISO 8601 in many cuts: full RFC 3339 with `Z` or an offset (with or
//! without the colon, `+0000` as Koncili writes it), a zone-less `yyyy-MM-ddTHH:mm:ss`
//! with any number of fraction digits, `yyyy-MM-dd HH:mm`, or a bare `yyyy-MM-dd`.
//! Zone-less input is the client's local time, which for every vendor here is Brasília
//! (UTC-3; Brazil has had no daylight saving time since 2019, so a fixed offset is what
//! the vendors themselves render). Inside, everything is UTC.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

use crate::FieldError;

/// Brasília time, the zone vendors render and zone-less input is read in.
pub fn brasilia() -> FixedOffset {
    FixedOffset::west_opt(3 * 3600).expect("valid offset")
}

/// The earliest and latest instants input may name: 1900-01-01T00:00:00Z and
/// 9999-12-31T23:59:59.999999Z. Nothing the hub handles happened before 1900, and past
/// 9999 no rendering has four year digits; PostgreSQL also refuses the year 0 that
/// earlier input could reach once read as a date.
pub const EARLIEST: i64 = -2_208_988_800_000_000;
pub const LATEST: i64 = 253_402_300_799_999_999;
/// The years of [`EARLIEST`] and [`LATEST`], for inputs that name a year or month.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;

/// Whether `s` has ISO 8601's fixed-width shape where chrono is lenient: four year
/// digits with no sign (chrono takes `+002024`, `-0001` and `+10000`), two-digit month
/// and day (it takes `2024-3-1`), and when a time follows (after `T` or a space),
/// two-digit hours, minutes and seconds. Fractions and zones are left to chrono.
fn iso_shaped(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if !(digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10))
    {
        return false;
    }
    match b.get(10) {
        None => true,
        Some(b'T' | b't' | b' ') => {
            digits(11..13)
                && b.get(13) == Some(&b':')
                && digits(14..16)
                && (b.get(16) != Some(&b':') || digits(17..19))
        }
        Some(_) => false,
    }
}

/// A UTC instant with microsecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
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
        if s.is_empty() || s.len() > 40 || !iso_shaped(s) {
            return Err(bad());
        }
        let t = Self::parse_shaped(s, local).ok_or_else(bad)?;
        if !(EARLIEST..=LATEST).contains(&t.0) {
            return Err(FieldError::new(
                "",
                format!("'{raw}' is outside the supported years (1900-01-01 to 9999-12-31 UTC)"),
            ));
        }
        Ok(t)
    }

    /// [`Timestamp::parse_in`] of a string already checked by [`iso_shaped`].
    fn parse_shaped(s: &str, local: FixedOffset) -> Option<Timestamp> {
        if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
            return Some(Self::from_dt(dt.with_timezone(&Utc)));
        }
        for fmt in [
            "%Y-%m-%dT%H:%M:%S%.f%z",
            "%Y-%m-%d %H:%M:%S%.f%z",
            "%Y-%m-%dT%H:%M%z",
        ] {
            if let Ok(dt) = DateTime::parse_from_str(s, fmt) {
                return Some(Self::from_dt(dt.with_timezone(&Utc)));
            }
        }
        for fmt in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
                return Self::from_local(naive, local);
            }
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Self::from_local(d.and_time(NaiveTime::MIN), local);
        }
        None
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

    /// The calendar fields of the instant seen from `offset_seconds` east of UTC.
    fn civil(self, offset_seconds: i32) -> Civil {
        Civil::of(self.0 + offset_seconds as i64 * 1_000_000)
    }

    /// RFC 3339 in UTC with milliseconds, the native API's format
    /// (`2023-06-07T00:41:57.000Z`).
    pub fn to_rfc3339_utc(self) -> String {
        let c = self.civil(0);
        let mut out = Digits::<24>::new();
        out.date_time(&c);
        out.byte(b'.');
        out.num(c.micros / 1000, 3);
        out.byte(b'Z');
        out.into_string()
    }

    /// Seconds precision in `zone`, with the offset (`2023-06-06T21:41:57-03:00`).
    /// Written by hand, as are the other renderings: chrono's formatting machinery
    /// was a visible share of the time spent rendering tickets.
    pub fn to_offset_seconds(self, zone: FixedOffset) -> String {
        self.offset_seconds_text(zone).to_string()
    }

    /// [`Timestamp::to_offset_seconds`] without allocating, for serializers.
    pub fn offset_seconds_text(self, zone: FixedOffset) -> TimeText {
        let off = zone.local_minus_utc();
        let c = self.civil(off);
        let mut out = Digits::<26>::new();
        out.date_time(&c);
        let (sign, off) = if off < 0 { (b'-', -off) } else { (b'+', off) };
        out.byte(sign);
        out.num(off as u32 / 3600, 2);
        out.byte(b':');
        out.num(off as u32 % 3600 / 60, 2);
        TimeText(out)
    }

    /// Zone-less local time in `zone` with six fraction digits
    /// (`2023-06-06T21:41:57.000000`), as Omnik renders times.
    pub fn to_local_micros(self, zone: FixedOffset) -> String {
        self.local_micros_text(zone).to_string()
    }

    /// [`Timestamp::to_local_micros`] without allocating, for serializers.
    pub fn local_micros_text(self, zone: FixedOffset) -> TimeText {
        let c = self.civil(zone.local_minus_utc());
        let mut out = Digits::<26>::new();
        out.date_time(&c);
        out.byte(b'.');
        out.num(c.micros, 6);
        TimeText(out)
    }

    /// The start of the Brasília calendar day `date` and the start of the next one.
    pub fn brasilia_day_bounds(date: NaiveDate) -> Option<(Timestamp, Timestamp)> {
        let start = Self::from_local(date.and_time(NaiveTime::MIN), brasilia())?;
        let next = Self::from_local(date.succ_opt()?.and_time(NaiveTime::MIN), brasilia())?;
        Some((start, next))
    }
}

/// A proleptic Gregorian date and time of day, from a count of microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub micros: u32,
}

impl Civil {
    /// Howard Hinnant's `civil_from_days`: exact for every date, no tables, no zone
    /// database.
    fn of(micros: i64) -> Civil {
        let secs = micros.div_euclid(1_000_000);
        let sub = micros.rem_euclid(1_000_000) as u32;
        let days = secs.div_euclid(86_400);
        let tod = secs.rem_euclid(86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Civil {
            year,
            month,
            day,
            hour: tod / 3600,
            minute: tod % 3600 / 60,
            second: tod % 60,
            micros: sub,
        }
    }
}

/// A fixed-size ASCII buffer the renderings above write digits into.
struct Digits<const N: usize> {
    buf: [u8; N],
    len: usize,
}

// Inlined into each rendering, where the widths are constants and the digit loops
// unroll. Left to the compiler, `date_time` was outlined once two renderings shared
// it: about 600 more instructions for an Omnik case, which renders eight times.
impl<const N: usize> Digits<N> {
    fn new() -> Self {
        Digits {
            buf: [0; N],
            len: 0,
        }
    }

    #[inline(always)]
    fn byte(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }

    /// `n` zero-padded to `width` digits (wider numbers keep their low digits).
    #[inline(always)]
    fn num(&mut self, mut n: u32, width: usize) {
        for i in (0..width).rev() {
            self.buf[self.len + i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        self.len += width;
    }

    /// `yyyy-MM-ddTHH:mm:ss`.
    #[inline(always)]
    fn date_time(&mut self, c: &Civil) {
        self.num(c.year.clamp(0, 9999) as u32, 4);
        self.byte(b'-');
        self.num(c.month, 2);
        self.byte(b'-');
        self.num(c.day, 2);
        self.byte(b'T');
        self.num(c.hour, 2);
        self.byte(b':');
        self.num(c.minute, 2);
        self.byte(b':');
        self.num(c.second, 2);
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits and punctuation are ever written.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }

    fn into_string(self) -> String {
        self.as_str().to_owned()
    }
}

/// A rendered time kept on the stack; reads as a `&str`.
pub struct TimeText(Digits<26>);

impl std::ops::Deref for TimeText {
    type Target = str;
    fn deref(&self) -> &str {
        self.0.as_str()
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
            // chrono's lenient years and fields, refused as ISO 8601 does.
            "+002024-03-01",
            "-0001-01-01",
            "+10000-01-01",
            "2024-3-1",
            "2024-03-01T1:02:03",
            "2024-03-01T01:02:3",
            "2024-03-01X01:02:03",
            // Outside the supported years, however written.
            "0000-01-01",
            "1899-12-31T23:59:59Z",
            "9999-12-31T23:59:59-03:00",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
        // The bounds themselves are accepted.
        assert_eq!(
            Timestamp::parse("1900-01-01T00:00:00Z").unwrap().0,
            EARLIEST
        );
        assert_eq!(
            Timestamp::parse("9999-12-31T23:59:59.999999Z").unwrap().0,
            LATEST
        );
        assert!(Timestamp::parse("2024-03-01t01:02:03z").is_ok());
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

    #[test]
    fn hand_written_renderings_agree_with_chrono() {
        let zone = brasilia();
        let mut t: i64 = -2_208_988_800_000_000; // 1900-01-01
        while t < 4_102_444_800_000_000 {
            // 2100-01-01
            let ts = Timestamp(t);
            let dt = ts.to_utc();
            assert_eq!(
                ts.to_rfc3339_utc(),
                dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
            );
            assert_eq!(
                ts.to_offset_seconds(zone),
                ts.in_zone(zone).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
            );
            assert_eq!(
                ts.to_local_micros(zone),
                ts.in_zone(zone).format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
            );
            t += 86_399_999_937; // a day less 63 µs: walks every time of day and date
        }
    }
}
