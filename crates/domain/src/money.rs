//! Money as integer centavos.
//!
//! Vendors send and read money as JSON numbers with two decimals (`499.99`, `85.5`).
//! An amount is decided on the number's decimal text, never on an `f64`: binary
//! floating point cannot tell `1.999999999999` from a near-integer or `1.005` from
//! `1.00499…`, so parsing through it rounds some fractions of a centavo silently and
//! refuses others. [`Cents::parse_decimal`] accepts exactly the texts that are a whole
//! number of centavos (`1.50`, `1.500`, `1e2`) and refuses every other one.

use std::fmt;
use std::ops::{Add, Sub};

use crate::FieldError;

/// An amount of Brazilian reais in centavos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cents(pub i64);

/// Largest amount we accept: a trillion reais, far past any order. Every amount up to
/// it has at most 15 significant digits, so rendering it as an `f64`
/// ([`Cents::to_decimal`]) still writes back exactly the centavos stored.
const MAX_CENTS: i64 = 100_000_000_000_000;

impl Cents {
    pub const ZERO: Cents = Cents(0);

    /// Parses the decimal text of a JSON number (`-?digits[.digits][e[+-]digits]`)
    /// exactly. Refuses anything that is not a whole number of centavos and
    /// magnitudes past a trillion reais. Negative values are allowed here; the rules
    /// that forbid them say so with the field's name.
    pub fn parse_decimal(text: &str) -> Result<Cents, FieldError> {
        parse_hundredths(text, MAX_CENTS).map(Cents).map_err(|e| {
            FieldError::new(
                "",
                match e {
                    DecimalError::NotANumber => format!("'{text}' is not a decimal number"),
                    DecimalError::TooPrecise => {
                        format!("'{text}' is not a whole number of centavos (at most two decimals)")
                    }
                    DecimalError::TooLarge => format!("'{text}' is too large"),
                },
            )
        })
    }

    /// The amount as a JSON-friendly decimal (`49999` -> `499.99`).
    pub fn to_decimal(self) -> f64 {
        self.0 as f64 / 100.0
    }

    pub fn checked_mul(self, n: i64) -> Option<Cents> {
        self.0.checked_mul(n).map(Cents)
    }
}

/// Why a decimal text is not a whole number of hundredths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecimalError {
    NotANumber,
    /// A digit below the hundredth is not zero.
    TooPrecise,
    /// The magnitude is past `max`.
    TooLarge,
}

/// The decimal text of a JSON number (`-?digits[.digits][e[+-]digits]`) as an exact
/// count of hundredths, magnitude at most `max`: centavos for [`Cents`], hundredths of
/// a percent for [`crate::Rate`]. Shared so both read numbers the same exact way.
pub(crate) fn parse_hundredths(text: &str, max: i64) -> Result<i64, DecimalError> {
    let s = text.trim().as_bytes();
    let (negative, s) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let digits_end = |s: &[u8]| {
        s.iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(s.len())
    };
    let n = digits_end(s);
    let (int, rest) = s.split_at(n);
    if int.is_empty() {
        return Err(DecimalError::NotANumber);
    }
    let (frac, rest) = match rest.split_first() {
        Some((b'.', after)) => {
            let n = digits_end(after);
            if n == 0 {
                return Err(DecimalError::NotANumber);
            }
            after.split_at(n)
        }
        _ => (&[][..], rest),
    };
    let (exponent, rest) = match rest.split_first() {
        Some((b'e' | b'E', after)) => {
            let (sign, after) = match after.split_first() {
                Some((b'-', a)) => (-1i64, a),
                Some((b'+', a)) => (1, a),
                _ => (1, after),
            };
            let n = digits_end(after);
            if n == 0 {
                return Err(DecimalError::NotANumber);
            }
            // Saturate: any exponent past a few thousand is already far out of
            // range (or, for zero, irrelevant), and this keeps the arithmetic safe.
            let e = after[..n]
                .iter()
                .fold(0i64, |e, d| (e * 10 + i64::from(d - b'0')).min(1_000_000));
            (sign * e, &after[n..])
        }
        _ => (0, rest),
    };
    if !rest.is_empty() {
        return Err(DecimalError::NotANumber);
    }
    // The value is digits(int ++ frac) * 10^(exponent - frac.len()); in hundredths,
    // the power of ten grows by two.
    let digits = || int.iter().chain(frac).map(|d| d - b'0');
    let count = int.len() + frac.len();
    let shift = exponent + 2 - frac.len() as i64;
    if digits().all(|d| d == 0) {
        return Ok(0);
    }
    let kept = if shift < 0 {
        // The digits below the hundredth must all be zeros (`1.500` is exact).
        let dropped = usize::try_from(-shift).unwrap_or(usize::MAX).min(count);
        if digits().skip(count - dropped).any(|d| d != 0) {
            return Err(DecimalError::TooPrecise);
        }
        count - dropped
    } else {
        count
    };
    let mut value: i64 = 0;
    for d in digits().take(kept) {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(d)))
            .filter(|v| *v <= max)
            .ok_or(DecimalError::TooLarge)?;
    }
    for _ in 0..shift.max(0) {
        value = value
            .checked_mul(10)
            .filter(|v| *v <= max)
            .ok_or(DecimalError::TooLarge)?;
    }
    Ok(if negative { -value } else { value })
}

impl Add for Cents {
    type Output = Cents;
    fn add(self, rhs: Cents) -> Cents {
        Cents(self.0.saturating_add(rhs.0))
    }
}

impl Sub for Cents {
    type Output = Cents;
    fn sub(self, rhs: Cents) -> Cents {
        Cents(self.0.saturating_sub(rhs.0))
    }
}

impl std::iter::Sum for Cents {
    fn sum<I: Iterator<Item = Cents>>(iter: I) -> Cents {
        iter.fold(Cents::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}{}.{:02}", self.0.abs() / 100, self.0.abs() % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cents(text: &str) -> Result<i64, FieldError> {
        Cents::parse_decimal(text).map(|c| c.0)
    }

    #[test]
    fn whole_centavos_are_exact() {
        assert_eq!(cents("499.99"), Ok(49999));
        assert_eq!(cents("85.5"), Ok(8550));
        assert_eq!(cents("-15.0"), Ok(-1500));
        assert_eq!(cents("12345678.91"), Ok(1234567891));
        assert_eq!(cents("123456789.12"), Ok(12345678912));
        assert_eq!(cents("999999999999.99"), Ok(99999999999999));
        assert_eq!(cents("0"), Ok(0));
        assert_eq!(cents("-0.00"), Ok(0));
        assert_eq!(cents("1.500000"), Ok(150));
        assert_eq!(cents("1e2"), Ok(10000));
        assert_eq!(cents("1E+2"), Ok(10000));
        assert_eq!(cents("15e-1"), Ok(150));
        assert_eq!(cents("1234e-2"), Ok(1234));
        assert_eq!(cents("0e999999999999999999999"), Ok(0));
        assert_eq!(cents("0.0000000000000000000000"), Ok(0));
    }

    #[test]
    fn refuses_fractions_of_centavo_and_garbage() {
        for text in [
            "1.005",
            "123456789.123",
            "1.999999999999",
            "0.001",
            "1e-3",
            "1234e-5",
            "0.0000000000000000000001",
        ] {
            let e = cents(text).unwrap_err();
            assert!(e.message.contains("centavos"), "{text}: {e}");
        }
        for text in [
            "1e20",
            "1000000000000.01",
            "1e999999999999",
            "99999999999999999999999",
        ] {
            let e = cents(text).unwrap_err();
            assert!(e.message.contains("too large"), "{text}: {e}");
        }
        for text in [
            "", "-", "abc", "1.", ".5", "1e", "1e+", "1,5", "\"499\"", "null", "1.5x",
        ] {
            let e = cents(text).unwrap_err();
            assert!(e.message.contains("not a decimal number"), "{text}: {e}");
        }
    }

    #[test]
    fn renders_back() {
        assert_eq!(Cents(49999).to_decimal(), 499.99);
        assert_eq!(Cents(8550).to_string(), "85.50");
        assert_eq!(Cents(-5).to_string(), "-0.05");
    }
}
