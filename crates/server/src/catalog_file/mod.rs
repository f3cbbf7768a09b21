//! Catalog files for `entreposto catalog import`: a 00K import body (JSON, one product
//! or an array, read by the 00K dialect's own parser, so a file imports as the same
//! body posted to `POST /00k/catalog/import` would) or a spreadsheet (CSV,
//! [`csv_rows`]), read into drafts in import order, and the failed rows written back
//! in the input's own format so they can be fixed and imported again.
//!
//! Each [`Row`] remembers which records of the input it came from ([`Source`]), so the
//! failed-rows file holds the rows exactly as they were sent: the original JSON text
//! of each object, or the CSV records under the same header (a failed group with its
//! variation rows, which it cannot be imported without).

pub mod bulk;
pub mod csv_rows;
pub mod import;

use std::path::Path;

use anyhow::Context;
use entreposto_domain::ProductDraft;
use serde_json::value::RawValue;

/// One product of the input, in import order.
#[derive(Debug)]
pub struct Row {
    /// Where it is in the input, as reported: a JSON item's index (from 0, as 00K's
    /// `itemIndex`), a CSV record's line (the header is line 1).
    pub at: u64,
    /// Its SKU as sent, if any.
    pub sku: Option<String>,
    /// The draft, or why the row cannot be imported (each reason `field: message`).
    pub draft: Result<ProductDraft, Vec<String>>,
    /// The input records written to the failed-rows file when this row fails.
    pub sources: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

impl Format {
    /// By the file's extension; else by its first character (`[` or `{` is JSON).
    pub fn detect(path: &Path, bytes: &[u8]) -> Format {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("json") => Format::Json,
            Some("csv") => Format::Csv,
            _ => match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'[' | b'{') => Format::Json,
                _ => Format::Csv,
            },
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }
}

/// The input's records, kept to write the failed ones back.
pub enum Source {
    Json(Vec<Box<RawValue>>),
    Csv(csv_rows::CsvFile),
}

/// A read input: its records and its rows in import order.
pub struct Input {
    pub format: Format,
    pub source: Source,
    pub rows: Vec<Row>,
}

/// Reads `bytes` as `format`. A file whose structure is broken (not JSON, a CSV
/// record with a different number of cells, an unknown column) is an error; a row
/// that breaks a field rule is a [`Row`] with its reasons.
pub fn read(format: Format, bytes: &[u8]) -> anyhow::Result<Input> {
    match format {
        Format::Json => {
            use entreposto_dialect_zerok::input::{item, items, sku_of, ProductIn};
            let items = items(bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
            let rows = items
                .iter()
                .enumerate()
                .map(|(i, raw)| {
                    let draft = item::<ProductIn>(raw)
                        .and_then(ProductIn::draft)
                        .and_then(|d| d.validate().map(|_| d))
                        .map_err(|e| vec![reason(&e)]);
                    let sku = match &draft {
                        Ok(d) => d.sku.clone(),
                        Err(_) => sku_of(raw),
                    };
                    Row {
                        at: i as u64,
                        sku,
                        draft,
                        sources: vec![i],
                    }
                })
                .collect();
            Ok(Input {
                format,
                source: Source::Json(items),
                rows,
            })
        }
        Format::Csv => {
            let file = csv_rows::read(bytes)?;
            let rows = csv_rows::rows(&file);
            Ok(Input {
                format,
                source: Source::Csv(file),
                rows,
            })
        }
    }
}

/// A field error as a row's reason (`field: message`, or the message alone when the
/// whole item is at fault), as 00K's import answers word it.
fn reason(e: &entreposto_domain::FieldError) -> String {
    if e.field.is_empty() {
        e.message.clone()
    } else {
        e.to_string()
    }
}

impl Source {
    /// Writes the records `indices` (in the input's order, each once) to `path`.
    pub fn write_failed(&self, path: &Path, indices: &[usize]) -> anyhow::Result<()> {
        let mut indices = indices.to_vec();
        indices.sort_unstable();
        indices.dedup();
        let file =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut out = std::io::BufWriter::new(file);
        use std::io::Write;
        match self {
            Source::Json(items) => {
                out.write_all(b"[\n")?;
                for (n, i) in indices.iter().enumerate() {
                    if n > 0 {
                        out.write_all(b",\n")?;
                    }
                    out.write_all(items[*i].get().as_bytes())?;
                }
                out.write_all(b"\n]\n")?;
            }
            Source::Csv(file) => csv_rows::write(file, &indices, &mut out)?,
        }
        out.flush()
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }
}
