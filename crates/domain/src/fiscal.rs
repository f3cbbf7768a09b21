//! Fiscal identifiers of an invoice (NF-e): the 44-digit access key and CFOP codes, and
//! Correios tracking codes (SRO).
//!
//! An access key is checked part by part, so a refusal says which part is wrong:
//! `cUF` (2, an IBGE state code), `AAMM` (4, year and a real month), the issuer's
//! CNPJ (14; a CPF for individual issuers, as `000` and 11 digits) with valid check
//! digits, `mod` (2, 55 for an NF-e or 65 for an NFC-e), `serie` (3), `nNF` (9),
//! `tpEmis` (1, 1 to 9), `cNF` (8) and `cDV` (1), the mod-11 check digit of the 43
//! before it (weights 2 to 9 from the right, cycling; a result of 10 or 11 is 0).

use std::fmt;

use crate::{Document, DocumentKind, FieldError};

/// The IBGE codes of the 27 federative units, the `cUF` an access key starts with.
pub const IBGE_STATE_CODES: [u8; 27] = [
    11, 12, 13, 14, 15, 16, 17, 21, 22, 23, 24, 25, 26, 27, 28, 29, 31, 32, 33, 35, 41, 42, 43, 50,
    51, 52, 53,
];

/// A checked NF-e access key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NfeAccessKey(String);

impl NfeAccessKey {
    /// Parses a key (spaces and dots between groups are dropped, as keys are often
    /// printed in groups of four).
    pub fn parse(raw: &str) -> Result<NfeAccessKey, FieldError> {
        let key: String = raw.chars().filter(|c| !matches!(c, ' ' | '.')).collect();
        let bad = |part: &str, why: String| FieldError::new("", format!("{part}: {why}"));
        if !key.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("access key", "must hold digits only".into()));
        }
        if key.len() != 44 {
            return Err(bad(
                "access key",
                format!("has {} digits; an NF-e access key has 44", key.len()),
            ));
        }
        let n = |a: usize, b: usize| key[a..b].parse::<u32>().unwrap_or(0);
        let cuf = n(0, 2) as u8;
        if !IBGE_STATE_CODES.contains(&cuf) {
            return Err(bad("cUF", format!("{cuf:02} is not an IBGE state code")));
        }
        let month = n(4, 6);
        if !(1..=12).contains(&month) {
            return Err(bad("AAMM", format!("month {month:02} does not exist")));
        }
        let issuer = &key[6..20];
        let issuer_ok = Document::parse(issuer, Some(DocumentKind::Cnpj)).is_ok()
            || (issuer.starts_with("000")
                && Document::parse(&issuer[3..], Some(DocumentKind::Cpf)).is_ok());
        if !issuer_ok {
            return Err(bad(
                "CNPJ",
                format!("{issuer} is neither a valid CNPJ nor a valid CPF of the issuer"),
            ));
        }
        let model = n(20, 22);
        if model != 55 && model != 65 {
            return Err(bad(
                "mod",
                format!("{model} is not 55 (NF-e) or 65 (NFC-e)"),
            ));
        }
        let emission = n(34, 35);
        if emission == 0 {
            return Err(bad("tpEmis", "0 is not an emission type (1 to 9)".into()));
        }
        let expected = mod11_check_digit(&key[..43]);
        let given = key.as_bytes()[43] - b'0';
        if expected != given {
            return Err(bad(
                "cDV",
                format!("check digit {given} is wrong; the key's digits give {expected}"),
            ));
        }
        Ok(NfeAccessKey(key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The issuer's document number inside the key: a CNPJ, or a CPF after `000`.
    pub fn issuer(&self) -> &str {
        let issuer = &self.0[6..20];
        if Document::parse(issuer, Some(DocumentKind::Cnpj)).is_ok() {
            issuer
        } else {
            &issuer[3..]
        }
    }

    pub fn model(&self) -> u32 {
        self.0[20..22].parse().unwrap_or(0)
    }

    pub fn series(&self) -> u32 {
        self.0[22..25].parse().unwrap_or(0)
    }

    pub fn number(&self) -> u64 {
        self.0[25..34].parse().unwrap_or(0)
    }

    /// The key's `AAMM`: the year and month the NF-e was issued in (20YY).
    pub fn year_month(&self) -> (i32, u32) {
        let n = |a: usize, b: usize| self.0[a..b].parse::<u32>().unwrap_or(0);
        (2000 + n(2, 4) as i32, n(4, 6))
    }

    /// Checks the key against the invoice it comes with: the series and number inside
    /// the key must be the invoice's, and the issuer the seller (when the seller's
    /// document is known).
    pub fn check_matches(
        &self,
        series: u32,
        number: u64,
        seller: Option<&Document>,
    ) -> Result<(), FieldError> {
        if self.series() != series {
            return Err(FieldError::new(
                "",
                format!(
                    "serie: the key holds series {}, the invoice says {series}",
                    self.series()
                ),
            ));
        }
        if self.number() != number {
            return Err(FieldError::new(
                "",
                format!(
                    "nNF: the key holds number {}, the invoice says {number}",
                    self.number()
                ),
            ));
        }
        if let Some(doc) = seller {
            if doc.number != self.issuer() {
                return Err(FieldError::new(
                    "",
                    format!(
                        "CNPJ: the key's issuer {} is not the seller's document {}",
                        self.issuer(),
                        doc.number
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl fmt::Display for NfeAccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The NF-e check digit of `body` (43 digits): weights 2..9 from the right, cycling;
/// 11 minus the remainder mod 11, with 10 and 11 giving 0.
pub fn mod11_check_digit(body: &str) -> u8 {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * (2 + (i as u32 % 8)))
        .sum();
    let dv = 11 - sum % 11;
    if dv >= 10 {
        0
    } else {
        dv as u8
    }
}

/// A CFOP for goods leaving (an invoice of a sale): four digits, the first 5 (within
/// the state), 6 (to another state) or 7 (abroad).
pub fn check_exit_cfop(cfop: u32) -> Result<(), FieldError> {
    if !(1000..=9999).contains(&cfop) {
        return Err(FieldError::new(
            "",
            format!("{cfop} is not a CFOP (four digits)"),
        ));
    }
    if !matches!(cfop / 1000, 5..=7) {
        return Err(FieldError::new(
            "",
            format!("{cfop} is not an exit CFOP (it must start with 5, 6 or 7)"),
        ));
    }
    Ok(())
}

/// A Correios tracking code (SRO): two letters, eight digits, a check digit, two
/// letters (`AA123456785BR`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrackingCode(String);

impl TrackingCode {
    /// Parses a code, case and spaces ignored: labels print it grouped
    /// (`AA 123 456 785 BR`), and clients copy it as printed.
    pub fn parse(raw: &str) -> Result<TrackingCode, FieldError> {
        let code: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let b = code.as_bytes();
        let shape = b.len() == 13
            && b[..2].iter().all(u8::is_ascii_uppercase)
            && b[2..11].iter().all(u8::is_ascii_digit)
            && b[11..].iter().all(u8::is_ascii_uppercase);
        if !shape {
            return Err(FieldError::new(
                "",
                format!(
                    "'{raw}' is not a Correios tracking code (two letters, nine digits, two letters)"
                ),
            ));
        }
        let expected = sro_check_digit(&code[2..10]);
        let given = b[10] - b'0';
        if expected != given {
            return Err(FieldError::new(
                "",
                format!("'{raw}' has check digit {given}; its digits give {expected}"),
            ));
        }
        Ok(TrackingCode(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The SRO check digit of eight digits: weights 8, 6, 4, 2, 3, 5, 9, 7; 11 minus the
/// remainder mod 11, a remainder of 0 giving 5 and of 1 giving 0.
pub fn sro_check_digit(digits: &str) -> u8 {
    const W: [u32; 8] = [8, 6, 4, 2, 3, 5, 9, 7];
    let sum: u32 = digits
        .bytes()
        .zip(W)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    match sum % 11 {
        0 => 5,
        1 => 0,
        r => (11 - r) as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 00K document's example key.
    const KEY: &str = "35150810406561000149550010000349861000108001";

    fn with(at: usize, digits: &str) -> String {
        let mut k = KEY.to_string();
        k.replace_range(at..at + digits.len(), digits);
        k
    }

    /// Rewrites the check digit so only the part under test is wrong.
    fn fixed(body43: &str) -> String {
        format!("{}{}", &body43[..43], mod11_check_digit(&body43[..43]))
    }

    #[test]
    fn the_documents_key_passes_and_reads_its_parts() {
        let k = NfeAccessKey::parse(KEY).unwrap();
        assert_eq!((k.series(), k.number(), k.model()), (1, 34986, 55));
        assert_eq!(k.issuer(), "10406561000149");
        k.check_matches(1, 34986, None).unwrap();
    }

    #[test]
    fn each_broken_part_is_named() {
        let cases = [
            (format!("{}x", &KEY[..43]), "access key"),
            (KEY[..43].to_string(), "access key"),
            (fixed(&with(0, "99")), "cUF"),
            (fixed(&with(4, "13")), "AAMM"),
            (fixed(&with(4, "00")), "AAMM"),
            (fixed(&with(6, "10406561000148")), "CNPJ"),
            (fixed(&with(20, "57")), "mod"),
            (fixed(&with(34, "0")), "tpEmis"),
            (with(43, "2"), "cDV"),
        ];
        for (key, part) in cases {
            let e = NfeAccessKey::parse(&key).unwrap_err();
            assert!(e.message.starts_with(part), "{key}: {e}");
        }
    }

    #[test]
    fn a_cpf_issuer_is_accepted() {
        let key = fixed(&with(6, "00052998224725"));
        let k = NfeAccessKey::parse(&key).unwrap();
        assert_eq!(k.issuer(), "52998224725");
    }

    #[test]
    fn the_key_must_be_the_invoices() {
        let k = NfeAccessKey::parse(KEY).unwrap();
        assert!(k
            .check_matches(2, 34986, None)
            .unwrap_err()
            .message
            .starts_with("serie"));
        assert!(k
            .check_matches(1, 1, None)
            .unwrap_err()
            .message
            .starts_with("nNF"));
        let other = Document::parse("11222333000181", None).unwrap();
        assert!(k
            .check_matches(1, 34986, Some(&other))
            .unwrap_err()
            .message
            .starts_with("CNPJ"));
        let own = Document::parse("10406561000149", None).unwrap();
        k.check_matches(1, 34986, Some(&own)).unwrap();
    }

    #[test]
    fn cfops_of_exits_only() {
        check_exit_cfop(5102).unwrap();
        check_exit_cfop(6108).unwrap();
        check_exit_cfop(7101).unwrap();
        assert!(check_exit_cfop(1102).is_err());
        assert!(check_exit_cfop(510).is_err());
    }

    #[test]
    fn tracking_codes_are_checked() {
        // 12345678: sum 204, remainder 6, check digit 5.
        TrackingCode::parse("xy123456785br").unwrap();
        assert_eq!(
            TrackingCode::parse(" AA 123 456 785 BR ").unwrap().as_str(),
            "AA123456785BR"
        );
        assert!(TrackingCode::parse("XY123456789BR")
            .unwrap_err()
            .message
            .contains("give 5"));
        assert!(TrackingCode::parse("XY12345678BR").is_err());
        assert!(TrackingCode::parse("1123456-3").is_err());
        assert_eq!(sro_check_digit("00000000"), 5);
    }
}
