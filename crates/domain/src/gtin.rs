//! Product identifiers with check digits: GTIN (EAN-8, UPC-A, EAN-13, GTIN-14) and ISBN.
//!
//! A GTIN is 8, 12, 13 or 14 digits whose last digit is the mod-10 check of the others,
//! weighted 3 and 1 alternately from the right (GS1's rule). An ISBN is either a
//! 13-digit GTIN (978/979 prefix) or the older 10-character form with a mod-11 check
//! (`X` for ten). Both are kept as the digits sent, so they render back unchanged.

use std::fmt;

use crate::FieldError;

/// A GTIN whose check digit is right.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Gtin(String);

impl Gtin {
    /// Parses `raw` (surrounding spaces ignored); the error says what is wrong.
    pub fn parse(raw: &str) -> Result<Gtin, FieldError> {
        let s = raw.trim();
        if !s.bytes().all(|b| b.is_ascii_digit()) || s.is_empty() {
            return Err(FieldError::new("", format!("'{raw}' must be digits only")));
        }
        if ![8, 12, 13, 14].contains(&s.len()) {
            return Err(FieldError::new(
                "",
                format!("'{raw}' has {} digits; a GTIN has 8, 12, 13 or 14", s.len()),
            ));
        }
        let expected = gtin_check_digit(&s[..s.len() - 1]);
        let given = s.as_bytes()[s.len() - 1] - b'0';
        if expected != given {
            return Err(FieldError::new(
                "",
                format!("'{raw}' has check digit {given}, expected {expected}"),
            ));
        }
        Ok(Gtin(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The GS1 check digit of `body` (the digits before it): weights 3, 1, 3, ... from
/// the rightmost digit of the body.
pub fn gtin_check_digit(body: &str) -> u8 {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// Checks an ISBN-10 or ISBN-13 (hyphens and spaces allowed between digits) and
/// returns it as sent.
pub fn check_isbn(raw: &str) -> Result<(), FieldError> {
    let s: String = raw
        .chars()
        .filter(|c| *c != '-' && *c != ' ')
        .collect::<String>()
        .to_ascii_uppercase();
    match s.len() {
        13 => Gtin::parse(&s).map(|_| ()),
        10 => {
            let b = s.as_bytes();
            if !b[..9].iter().all(u8::is_ascii_digit) || !(b[9].is_ascii_digit() || b[9] == b'X') {
                return Err(FieldError::new(
                    "",
                    format!("'{raw}' is not an ISBN-10 (nine digits and a digit or X)"),
                ));
            }
            let sum: u32 = b
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let v = if *c == b'X' { 10 } else { u32::from(c - b'0') };
                    v * (10 - i as u32)
                })
                .sum();
            if !sum.is_multiple_of(11) {
                return Err(FieldError::new(
                    "",
                    format!("'{raw}' has a wrong ISBN-10 check digit"),
                ));
            }
            Ok(())
        }
        _ => Err(FieldError::new(
            "",
            format!("'{raw}' is neither an ISBN-10 nor an ISBN-13"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_gtins_of_every_length_pass() {
        for ok in [
            "96385074",
            "036000291452",
            "7891000315507",
            "17891000315504",
        ] {
            assert!(Gtin::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn a_wrong_check_digit_is_named() {
        let e = Gtin::parse("7891000315508").unwrap_err();
        assert!(e.message.contains("expected 7"), "{e}");
        assert!(Gtin::parse("789100031550").is_err());
        assert!(Gtin::parse("78910003155a7").is_err());
        assert!(Gtin::parse("1234567")
            .unwrap_err()
            .message
            .contains("8, 12, 13 or 14"));
    }

    #[test]
    fn isbns_of_both_forms() {
        assert!(check_isbn("978-85-359-0277-8").is_ok());
        assert!(check_isbn("0306406152").is_ok());
        assert!(check_isbn("080442957X").is_ok());
        assert!(check_isbn("0306406153").is_err());
        assert!(check_isbn("12345").is_err());
    }
}
