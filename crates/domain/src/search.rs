//! Text folded for search: what "contained in the name, case- and accent-insensitive"
//! compares.
//!
//! Both backends index the folded text of a name (SQLite's FTS5 trigram index,
//! PostgreSQL's `pg_trgm`) and fold the query the same way, here, so a search for
//! `calcado` finds `Calçado` on either and neither needs a database extension for
//! accents (PostgreSQL's `unaccent` is not immutable, so it cannot feed an index).

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Lowercase, accents removed (canonical decomposition, combining marks dropped),
/// runs of whitespace as one space.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn folds_case_accents_and_spaces() {
        assert_eq!(fold("  Calçado  FEMININO Açaí "), "calcado feminino acai");
        assert_eq!(fold("Pão de Ló"), "pao de lo");
        assert_eq!(fold("ÉÑÜ"), "enu");
    }
}
