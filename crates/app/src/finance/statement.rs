//! Payout statements as the CLI and the native API receive them: CSV with a header row,
//! or a JSON array of objects with the same names, streamed row by row from a source
//! that can be opened more than once (a file, or a body held by the edge).

use std::io::Read;

use entreposto_domain::FieldError;

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
    todo!()
}
