//! Payout statements as the CLI and the native API receive them: CSV with a header row,
//! or a JSON array of objects with the same names, streamed row by row from a source
//! that can be opened more than once (a file, or a body held by the edge).
//!
//! Neither format is ever held whole: CSV is read record by record, and the JSON array
//! element by element through serde_json's streaming deserializer, each member kept as
//! its raw text so a number reaches [`entreposto_domain::Cents::parse_decimal`] exactly
//! as written (`85.50`, `1e2`), never through `f64`.

use std::fmt;
use std::io::{BufRead, BufReader, Read};

use entreposto_domain::FieldError;
use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// The statement's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementFormat {
    Csv,
    Json,
}

/// Where a statement's bytes come from; `open` may be called more than once and must
/// give the same bytes each time.
pub trait StatementSource: Send + Sync {
    fn format(&self) -> StatementFormat;
    fn open(&self) -> std::io::Result<Box<dyn Read + Send>>;
}

/// Calls `row` with each data row's (column, text) pairs, in order, numbers as their
/// decimal text (JSON numbers exact, never through `f64`), `null` members left out.
/// A structural error (not CSV, not a JSON array of objects, a member that is an
/// array or object) stops the read with an error naming the row.
pub fn for_each_row(
    format: StatementFormat,
    input: impl Read,
    row: impl FnMut(u64, &[(String, String)]) -> std::result::Result<(), FieldError>,
) -> std::result::Result<u64, FieldError> {
    let mut input = BufReader::with_capacity(64 * 1024, input);
    // A spreadsheet's UTF-8 byte-order mark is not part of the first column's name.
    let head = input.fill_buf().map_err(|e| structural(0, e))?;
    if head.starts_with(b"\xEF\xBB\xBF") {
        input.consume(3);
    }
    match format {
        StatementFormat::Csv => csv_rows(input, row),
        StatementFormat::Json => json_rows(input, row),
    }
}

fn structural(row: u64, e: impl fmt::Display) -> FieldError {
    if row == 0 {
        FieldError::new("statement", e.to_string())
    } else {
        FieldError::new("statement", format!("row {row}: {e}"))
    }
}

fn csv_rows(
    mut input: BufReader<impl Read>,
    mut row: impl FnMut(u64, &[(String, String)]) -> std::result::Result<(), FieldError>,
) -> std::result::Result<u64, FieldError> {
    // Spreadsheets saved in Brazil separate with `;` (the decimal comma takes `,`).
    let head = input.fill_buf().map_err(|e| structural(0, e))?;
    let first_line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = if !first_line.contains(&b',') && first_line.contains(&b';') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .from_reader(input);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| structural(0, format!("header: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(structural(0, "the header row is missing"));
    }
    let mut record = csv::StringRecord::new();
    // The pairs' strings are reused from row to row (`len` of them are this row's):
    // a statement of a million rows would otherwise allocate two strings a cell.
    let mut pairs: Vec<(String, String)> = Vec::with_capacity(header.len());
    let mut n = 0u64;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(structural(n + 1, e)),
        }
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        n += 1;
        let mut len = 0;
        for (name, cell) in header.iter().zip(record.iter()) {
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            if len == pairs.len() {
                pairs.push((String::new(), String::new()));
            }
            let (k, v) = &mut pairs[len];
            k.clear();
            k.push_str(name);
            v.clear();
            v.push_str(cell);
            len += 1;
        }
        row(n, &pairs[..len])?;
    }
    Ok(n)
}

fn json_rows(
    input: BufReader<impl Read>,
    mut row: impl FnMut(u64, &[(String, String)]) -> std::result::Result<(), FieldError>,
) -> std::result::Result<u64, FieldError> {
    let mut json = serde_json::Deserializer::from_reader(input);
    let mut stopped: Option<FieldError> = None;
    let visitor = Rows {
        row: &mut row,
        stopped: &mut stopped,
    };
    let read = (&mut json)
        .deserialize_seq(visitor)
        .and_then(|n| json.end().map(|_| n));
    match (read, stopped) {
        (_, Some(e)) => Err(e),
        (Ok(n), None) => Ok(n),
        (Err(e), None) => Err(structural(0, e)),
    }
}

/// The array: calls `row` with each element as it is read.
struct Rows<'a, F> {
    row: &'a mut F,
    /// The callback's own error, which ends the read as it is.
    stopped: &'a mut Option<FieldError>,
}

impl<'de, F> Visitor<'de> for Rows<'_, F>
where
    F: FnMut(u64, &[(String, String)]) -> std::result::Result<(), FieldError>,
{
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
        let Rows { row, stopped } = self;
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut n = 0u64;
        loop {
            pairs.clear();
            match seq.next_element_seed(Members { pairs: &mut pairs }) {
                Ok(None) => return Ok(n),
                Ok(Some(())) => {}
                Err(e) => return Err(A::Error::custom(format!("row {}: {e}", n + 1))),
            }
            n += 1;
            if let Err(e) = row(n, &pairs) {
                *stopped = Some(e);
                return Err(A::Error::custom("stopped"));
            }
        }
    }
}

/// One element: an object whose members become (name, text) pairs.
struct Members<'a> {
    pairs: &'a mut Vec<(String, String)>,
}

impl<'de> DeserializeSeed<'de> for Members<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Members<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(name) = map.next_key::<String>()? {
            let raw: Box<RawValue> = map.next_value()?;
            let text = raw.get().trim();
            let value = match text.as_bytes().first() {
                Some(b'n') => continue,
                Some(b'"') => serde_json::from_str::<String>(text).map_err(M::Error::custom)?,
                Some(b'{') => {
                    return Err(M::Error::custom(format!(
                        "member '{name}' is an object; expected a string or a number"
                    )))
                }
                Some(b'[') => {
                    return Err(M::Error::custom(format!(
                        "member '{name}' is an array; expected a string or a number"
                    )))
                }
                // Numbers as written; `true`/`false` as words.
                _ => text.to_string(),
            };
            self.pairs.push((name, value));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(format: StatementFormat, text: &str) -> Result<Vec<Vec<(String, String)>>, FieldError> {
        let mut out = Vec::new();
        for_each_row(format, text.as_bytes(), |n, pairs| {
            assert_eq!(n as usize, out.len() + 1);
            out.push(pairs.to_vec());
            Ok(())
        })?;
        Ok(out)
    }

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn csv_with_a_bom_and_either_separator() {
        let text =
            "\u{feff}orderCode,type,releasedValue,note\nA,SALE,85.50,\"x, y\"\n\nB,SHIP, 10 ,\n";
        assert_eq!(
            rows(StatementFormat::Csv, text).unwrap(),
            vec![
                p(&[
                    ("orderCode", "A"),
                    ("type", "SALE"),
                    ("releasedValue", "85.50"),
                    ("note", "x, y")
                ]),
                p(&[
                    ("orderCode", "B"),
                    ("type", "SHIP"),
                    ("releasedValue", "10")
                ]),
            ]
        );
        let text = "orderCode;releasedValue\nA;85,50\n";
        assert_eq!(
            rows(StatementFormat::Csv, text).unwrap(),
            vec![p(&[("orderCode", "A"), ("releasedValue", "85,50")])]
        );
        let e = rows(StatementFormat::Csv, "a,b\n1,2,3\n").unwrap_err();
        assert!(e.message.starts_with("row 1:"), "{e}");
    }

    #[test]
    fn json_numbers_keep_their_text() {
        let text = r#"[{"orderCode": "A", "releasedValue": 85.50, "plotNumber": 1, "x": null, "ok": true},
                       {"orderCode": 123, "releasedValue": 1e2, "releasedPercentualComission": 15.25}]"#;
        assert_eq!(
            rows(StatementFormat::Json, text).unwrap(),
            vec![
                p(&[
                    ("orderCode", "A"),
                    ("releasedValue", "85.50"),
                    ("plotNumber", "1"),
                    ("ok", "true")
                ]),
                p(&[
                    ("orderCode", "123"),
                    ("releasedValue", "1e2"),
                    ("releasedPercentualComission", "15.25")
                ]),
            ]
        );
        assert_eq!(rows(StatementFormat::Json, "\u{feff}[]").unwrap().len(), 0);
    }

    #[test]
    fn json_structure_errors_name_the_row() {
        let e = rows(StatementFormat::Json, r#"{"orderCode": "A"}"#).unwrap_err();
        assert_eq!(e.field, "statement");
        let e = rows(StatementFormat::Json, r#"[{"a": 1}, {"a": [1]}]"#).unwrap_err();
        assert!(
            e.message.contains("row 2") && e.message.contains("'a' is an array"),
            "{e}"
        );
        let e = rows(StatementFormat::Json, r#"[{"a": 1}, 5]"#).unwrap_err();
        assert!(e.message.contains("row 2"), "{e}");
        let e = rows(StatementFormat::Json, r#"[{"a": 1}] x"#).unwrap_err();
        assert_eq!(e.field, "statement");
    }

    #[test]
    fn the_callbacks_error_stops_the_read() {
        let mut seen = 0;
        let e = for_each_row(StatementFormat::Json, &b"[{}, {}, {}]"[..], |n, _| {
            seen += 1;
            if n == 2 {
                Err(FieldError::new("x", "enough"))
            } else {
                Ok(())
            }
        })
        .unwrap_err();
        assert_eq!((e.field.as_str(), seen), ("x", 2));
    }
}
