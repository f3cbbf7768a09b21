//! Money as integer centavos.
//!
//! Vendors send and read money as JSON numbers with two decimals (`499.99`, `85.5`).
//! Those arrive as `f64`; we accept a value only if it is within a micro-centavo of a
//! whole number of centavos, so `499.99` (which is `49998.999…` as binary floating
//! point) becomes exactly `49999` and `1.005` is refused instead of silently rounded.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, Sub};

use crate::FieldError;

/// An amount of Brazilian reais in centavos.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Cents(pub i64);

/// Largest amount we accept: a trillion reais, far past any order and well inside the
/// range where `f64` still represents every centavo exactly.
const MAX_CENTS: i64 = 100_000_000_000_000;

impl Cents {
    pub const ZERO: Cents = Cents(0);

    /// Parses a decimal amount as sent on the wire. Rejects NaN, infinities, more than
    /// two decimals and absurd magnitudes. Negative values are allowed here; rules that
    /// forbid them use [`Cents::non_negative`].
    pub fn from_decimal(value: f64) -> Result<Cents, FieldError> {
        if !value.is_finite() {
            return Err(FieldError::new("", "must be a finite number"));
        }
        let scaled = value * 100.0;
        let rounded = scaled.round();
        if (scaled - rounded).abs() > 1e-6 * rounded.abs().max(1.0) {
            return Err(FieldError::new("", "must have at most two decimal places"));
        }
        if rounded.abs() > MAX_CENTS as f64 {
            return Err(FieldError::new("", "is too large"));
        }
        Ok(Cents(rounded as i64))
    }

    /// Same as [`Cents::from_decimal`] but refuses amounts below zero.
    pub fn non_negative(value: f64) -> Result<Cents, FieldError> {
        let c = Self::from_decimal(value)?;
        if c.0 < 0 {
            return Err(FieldError::new("", "must not be negative"));
        }
        Ok(c)
    }

    /// The amount as a JSON-friendly decimal (`49999` -> `499.99`).
    pub fn to_decimal(self) -> f64 {
        self.0 as f64 / 100.0
    }

    pub fn checked_mul(self, n: i64) -> Option<Cents> {
        self.0.checked_mul(n).map(Cents)
    }
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

    #[test]
    fn two_decimals_are_exact() {
        assert_eq!(Cents::from_decimal(499.99).unwrap(), Cents(49999));
        assert_eq!(Cents::from_decimal(85.5).unwrap(), Cents(8550));
        assert_eq!(Cents::from_decimal(0.1 + 0.2).unwrap(), Cents(30));
        assert_eq!(Cents::from_decimal(-15.0).unwrap(), Cents(-1500));
        assert_eq!(Cents::from_decimal(12345678.91).unwrap(), Cents(1234567891));
    }

    #[test]
    fn refuses_fractions_of_centavo_and_garbage() {
        assert!(Cents::from_decimal(1.005).is_err());
        assert!(Cents::from_decimal(f64::NAN).is_err());
        assert!(Cents::from_decimal(f64::INFINITY).is_err());
        assert!(Cents::from_decimal(1e20).is_err());
        assert!(Cents::non_negative(-0.01).is_err());
    }

    #[test]
    fn renders_back() {
        assert_eq!(Cents(49999).to_decimal(), 499.99);
        assert_eq!(Cents(8550).to_string(), "85.50");
        assert_eq!(Cents(-5).to_string(), "-0.05");
    }
}
