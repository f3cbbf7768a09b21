//! Request rate limits: how many requests a credential may make per period, and the
//! rule that admits or refuses one (GCRA, the "generic cell rate algorithm").
//!
//! A [`RateLimit`] of N per period P lets a credential send N requests at once and
//! then one every P/N, which is a token bucket of N tokens refilled at N per P. GCRA
//! keeps that bucket as one number per key, the *theoretical arrival time* (TAT): the
//! time at which the bucket would be full again. A request at `now` moves it to
//! `max(tat, now) + P/N`, and is admitted when that is at most `now + P` (the bucket
//! had a token). One number, so a shared store can apply the same rule in one
//! atomic statement ([`RateLimit::admit`] is the rule both the in-memory limiter and
//! the storage backends' statements follow).

use std::fmt;

use crate::FieldError;

const SECOND: i64 = 1_000_000;

/// N requests per period, N at least 1; the period is a second, a minute or an hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    count: u32,
    period_micros: i64,
}

/// What [`RateLimit::admit`] decided about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    pub admitted: bool,
    /// The key's theoretical arrival time after this request (unchanged on a refusal),
    /// in microseconds.
    pub tat: i64,
    /// Requests that could still be sent at once.
    pub remaining: u32,
    /// Microseconds until the bucket is full again.
    pub reset_micros: i64,
    /// On a refusal, microseconds until one request would be admitted.
    pub retry_after_micros: i64,
}

impl RateLimit {
    /// `count` requests a second (at least one).
    pub const fn per_second(count: u32) -> RateLimit {
        RateLimit::new(count, SECOND)
    }

    /// `count` requests a minute (at least one).
    pub const fn per_minute(count: u32) -> RateLimit {
        RateLimit::new(count, 60 * SECOND)
    }

    const fn new(count: u32, period_micros: i64) -> RateLimit {
        RateLimit {
            count: if count == 0 { 1 } else { count },
            period_micros,
        }
    }

    /// Reads `N/s`, `N/min` or `N/h` (spaces around the parts allowed; `sec`, `m`,
    /// `hour` and the like too). The error's message says what is wrong; its field is
    /// `field`.
    pub fn parse(text: &str, field: &str) -> Result<RateLimit, FieldError> {
        let bad = |why: &str| {
            FieldError::new(
                field,
                format!("'{text}' is not a rate: {why} (write N/s, N/min or N/h, as in 20/s)"),
            )
        };
        let (n, unit) = text.split_once('/').ok_or_else(|| bad("no '/'"))?;
        let n = n.trim();
        let count: u32 = n
            .parse()
            .map_err(|_| bad("the count must be a whole number"))?;
        if count == 0 {
            return Err(bad(
                "the count must be at least 1 (leave the limit out, or write off, for none)",
            ));
        }
        let period = match unit.trim().to_ascii_lowercase().as_str() {
            "s" | "sec" | "second" => SECOND,
            "m" | "min" | "minute" => 60 * SECOND,
            "h" | "hour" => 3600 * SECOND,
            _ => return Err(bad("the unit must be s, min or h")),
        };
        // Times are whole microseconds: one request a microsecond is the finest rate.
        if i64::from(count) > period {
            return Err(bad("more than one request a microsecond"));
        }
        Ok(RateLimit::new(count, period))
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    pub fn period_micros(&self) -> i64 {
        self.period_micros
    }

    /// The time one request takes out of the bucket: the period over the count.
    pub fn emission_micros(&self) -> i64 {
        (self.period_micros / i64::from(self.count)).max(1)
    }

    /// Decides a request at `now` on a key whose theoretical arrival time is `tat`
    /// (`None`: a key never seen, or forgotten, which is a full bucket). Times in
    /// microseconds.
    pub fn admit(&self, tat: Option<i64>, now: i64) -> Admission {
        let e = self.emission_micros();
        let start = tat.map_or(now, |t| t.max(now));
        let next = start.saturating_add(e);
        if next - now <= self.period_micros {
            Admission {
                admitted: true,
                tat: next,
                remaining: self.remaining(next - now),
                reset_micros: next - now,
                retry_after_micros: 0,
            }
        } else {
            Admission {
                admitted: false,
                tat: start,
                remaining: 0,
                reset_micros: start - now,
                retry_after_micros: (next - now - self.period_micros).max(1),
            }
        }
    }

    /// What a shared store that applied [`RateLimit::admit`] reports, rebuilt from
    /// the one number it keeps: an admitted request's new `tat`, or a refused one's
    /// stored `tat`.
    pub fn outcome(&self, admitted: bool, tat: i64, now: i64) -> Admission {
        if !admitted {
            return self.refusal(tat, now);
        }
        let used = (tat - now).clamp(0, self.period_micros);
        Admission {
            admitted: true,
            tat,
            remaining: self.remaining(used),
            reset_micros: used,
            retry_after_micros: 0,
        }
    }

    /// The refusal a request at `now` gets from a key that was already at `tat`
    /// without a token (a shared store that refused it reports only the stored time).
    pub fn refusal(&self, tat: i64, now: i64) -> Admission {
        let a = self.admit(Some(tat), now);
        if a.admitted {
            // The stored time moved on before we read it: refuse with the least wait.
            Admission {
                admitted: false,
                tat,
                remaining: 0,
                reset_micros: (tat - now).max(0),
                retry_after_micros: 1,
            }
        } else {
            a
        }
    }

    /// Requests that fit in the bucket when `used` microseconds of it are taken.
    fn remaining(&self, used: i64) -> u32 {
        let free = (self.period_micros - used).max(0);
        u32::try_from(free / self.emission_micros()).unwrap_or(u32::MAX)
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.period_micros {
            SECOND => "s",
            p if p == 60 * SECOND => "min",
            _ => "h",
        };
        write!(f, "{}/{unit}", self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_print_back() {
        for (text, shown) in [
            ("20/s", "20/s"),
            (" 3 / min", "3/min"),
            ("90/min", "90/min"),
            ("1000/h", "1000/h"),
            ("5/sec", "5/s"),
            ("7/M", "7/min"),
        ] {
            let r = RateLimit::parse(text, "rate").unwrap();
            assert_eq!(r.to_string(), shown);
            assert_eq!(RateLimit::parse(shown, "rate").unwrap(), r);
        }
        assert_eq!(
            RateLimit::parse("3/min", "x").unwrap().emission_micros(),
            20 * SECOND
        );
    }

    #[test]
    fn bad_rates_say_why() {
        for (text, why) in [
            ("20", "no '/'"),
            ("x/s", "whole number"),
            ("-1/s", "whole number"),
            ("0/s", "at least 1"),
            ("5/day", "unit must be s, min or h"),
            ("5/", "unit must be s, min or h"),
            ("2000000/s", "more than one request a microsecond"),
        ] {
            let e = RateLimit::parse(text, "rate_limits.default").unwrap_err();
            assert_eq!(e.field, "rate_limits.default");
            assert!(e.message.contains(why), "{text}: {}", e.message);
            assert!(e.message.contains(text), "{}", e.message);
        }
    }

    #[test]
    fn a_burst_of_the_count_then_one_per_emission() {
        let r = RateLimit::per_second(4);
        let mut tat = None;
        let now = 1_000 * SECOND;
        for left in [3, 2, 1, 0] {
            let a = r.admit(tat, now);
            assert!(a.admitted);
            assert_eq!(a.remaining, left);
            tat = Some(a.tat);
        }
        let refused = r.admit(tat, now);
        assert!(!refused.admitted);
        assert_eq!(refused.tat, tat.unwrap(), "a refusal takes nothing");
        assert_eq!(refused.retry_after_micros, SECOND / 4);
        assert_eq!(refused.reset_micros, SECOND, "full again after a period");
        // One emission later, one more (and only one).
        let later = now + SECOND / 4;
        let a = r.admit(tat, later);
        assert!(a.admitted);
        assert_eq!(a.remaining, 0);
        assert!(!r.admit(Some(a.tat), later).admitted);
        // A key idle for a period is full again.
        let a = r.admit(Some(a.tat), later + 2 * SECOND);
        assert_eq!(a.remaining, 3);
    }

    #[test]
    fn outcomes_rebuild_what_admit_said() {
        let r = RateLimit::per_minute(3);
        let now = 7 * SECOND;
        let mut tat = None;
        for _ in 0..4 {
            let a = r.admit(tat, now);
            assert_eq!(r.outcome(a.admitted, a.tat, now), a);
            tat = Some(a.tat);
        }
    }

    #[test]
    fn a_refusal_from_a_stored_time_never_admits() {
        let r = RateLimit::per_second(2);
        let now = 50 * SECOND;
        let a = r.refusal(now + SECOND, now);
        assert!(!a.admitted);
        assert_eq!(a.retry_after_micros, SECOND / 2);
        // A stored time already past: still a refusal, with the least wait.
        let b = r.refusal(now - SECOND, now);
        assert!(!b.admitted);
        assert_eq!(b.retry_after_micros, 1);
    }
}
