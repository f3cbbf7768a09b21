//! Brazilian taxpayer documents: CPF (people) and CNPJ (companies).
//!
//! A document is accepted only with valid check digits. Punctuation (`529.982.247-25`,
//! `11.222.333/0001-81`) is stripped, so clients may send either form; we store and
//! render bare characters. CNPJs may be alphanumeric (the Receita Federal format in
//! force since July 2026): the first twelve characters are `0-9A-Z`, each valued as its
//! ASCII code minus 48, and the two check digits are computed with the same weights.

use std::fmt;

use crate::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    Cpf,
    Cnpj,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Cpf => "CPF",
            DocumentKind::Cnpj => "CNPJ",
        }
    }

    pub fn parse(s: &str) -> Result<DocumentKind, FieldError> {
        match s.trim().to_ascii_uppercase().as_str() {
            "CPF" => Ok(DocumentKind::Cpf),
            "CNPJ" => Ok(DocumentKind::Cnpj),
            _ => Err(FieldError::new(
                "",
                format!("unknown document type '{s}': expected CPF or CNPJ"),
            )),
        }
    }
}

/// A CPF or CNPJ with valid check digits, stored without punctuation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Document {
    pub kind: DocumentKind,
    pub number: String,
}

impl Document {
    /// `raw` without its punctuation, upper-cased: the form documents are stored in.
    pub fn bare(raw: &str) -> String {
        raw.chars()
            .filter(|c| !matches!(c, '.' | '-' | '/' | ' '))
            .map(|c| c.to_ascii_uppercase())
            .collect()
    }

    /// Parses a document; when `kind` is `None` it is inferred from the length.
    pub fn parse(raw: &str, kind: Option<DocumentKind>) -> Result<Document, FieldError> {
        let number = Document::bare(raw);
        let kind = match kind {
            Some(k) => k,
            None if number.len() == 11 => DocumentKind::Cpf,
            None if number.len() == 14 => DocumentKind::Cnpj,
            None => {
                return Err(FieldError::new(
                    "",
                    "must be a CPF (11 digits) or a CNPJ (14 characters)",
                ))
            }
        };
        let ok = match kind {
            DocumentKind::Cpf => valid_cpf(&number),
            DocumentKind::Cnpj => valid_cnpj(&number),
        };
        if !ok {
            return Err(FieldError::new(
                "",
                format!("'{raw}' is not a valid {}", kind.as_str()),
            ));
        }
        Ok(Document { kind, number })
    }
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.number)
    }
}

fn valid_cpf(s: &str) -> bool {
    let d: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != 11 || s.len() != 11 || d.iter().all(|&x| x == d[0]) {
        return false;
    }
    let dv = |n: usize| {
        let sum: u32 = (0..n).map(|i| d[i] * (n as u32 + 1 - i as u32)).sum();
        let r = (sum * 10) % 11;
        if r == 10 {
            0
        } else {
            r
        }
    };
    dv(9) == d[9] && dv(10) == d[10]
}

fn valid_cnpj(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 14 {
        return false;
    }
    let mut v = [0u32; 14];
    for (i, &c) in b.iter().enumerate() {
        let ok = if i < 12 {
            c.is_ascii_digit() || c.is_ascii_uppercase()
        } else {
            c.is_ascii_digit()
        };
        if !ok {
            return false;
        }
        v[i] = (c - b'0') as u32;
    }
    if v.iter().all(|&x| x == v[0]) {
        return false;
    }
    let dv = |n: usize| {
        // Weights run 2..=9 from the right, wrapping.
        let sum: u32 = (0..n).map(|i| v[i] * (2 + ((n - 1 - i) % 8) as u32)).sum();
        let r = sum % 11;
        if r < 2 {
            0
        } else {
            11 - r
        }
    };
    dv(12) == v[12] && dv(13) == v[13]
}

/// Computes the two check digits for the first nine digits of a CPF. Used by the demo
/// generator to make valid documents.
pub fn cpf_with_check_digits(base9: &[u32; 9]) -> String {
    let mut d: Vec<u32> = base9.to_vec();
    for n in [9usize, 10] {
        let sum: u32 = (0..n).map(|i| d[i] * (n as u32 + 1 - i as u32)).sum();
        let r = (sum * 10) % 11;
        d.push(if r == 10 { 0 } else { r });
    }
    d.iter()
        .map(|x| char::from_digit(*x, 10).unwrap_or('0'))
        .collect()
}

/// Computes the two check digits for the first twelve digits of a numeric CNPJ.
pub fn cnpj_with_check_digits(base12: &[u32; 12]) -> String {
    let mut v: Vec<u32> = base12.to_vec();
    for n in [12usize, 13] {
        let sum: u32 = (0..n).map(|i| v[i] * (2 + ((n - 1 - i) % 8) as u32)).sum();
        let r = sum % 11;
        v.push(if r < 2 { 0 } else { 11 - r });
    }
    v.iter()
        .map(|x| char::from_digit(*x, 10).unwrap_or('0'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpf() {
        assert!(Document::parse("52998224725", None).is_ok());
        assert!(Document::parse("529.982.247-25", Some(DocumentKind::Cpf)).is_ok());
        assert!(Document::parse("52998224724", None).is_err());
        assert!(Document::parse("11111111111", None).is_err());
        assert!(Document::parse("5299822472a", Some(DocumentKind::Cpf)).is_err());
    }

    #[test]
    fn cnpj() {
        assert!(Document::parse("11.222.333/0001-81", None).is_ok());
        assert!(Document::parse("11222333000182", None).is_err());
        // Alphanumeric example published by the Receita Federal.
        assert!(Document::parse("12.ABC.345/01DE-35", Some(DocumentKind::Cnpj)).is_ok());
        assert!(Document::parse("12ABC34501DE36", None).is_err());
        assert!(Document::parse("52998224725", Some(DocumentKind::Cnpj)).is_err());
    }

    #[test]
    fn generators_make_valid_documents() {
        let cpf = cpf_with_check_digits(&[5, 2, 9, 9, 8, 2, 2, 4, 7]);
        assert_eq!(cpf, "52998224725");
        let cnpj = cnpj_with_check_digits(&[1, 1, 2, 2, 2, 3, 3, 3, 0, 0, 0, 1]);
        assert_eq!(cnpj, "11222333000181");
    }
}
