//! The closed vocabularies of an order's free-looking text fields: payment methods,
//! phone types, genders and countries.
//!
//! Marketplaces send these as strings, but readers (dialects rendering them, filters,
//! reports) need one spelling per meaning, so a typo or a vendor's own word must be
//! refused at the edge, naming the field, rather than stored as sent. Each `parse_*`
//! accepts a word in any letter case and returns its canonical spelling, which is
//! what gets stored; [`crate::OrderData::validate`] checks the stored value is
//! canonical. A dialect whose vendor says `BILLET` maps it to `boleto` itself: vendor
//! words stay in their dialect.

use crate::FieldError;

/// How an order was paid, as the native API documents it (`credit_card`) and the
/// vendor documents show it (00K's `boleto`).
pub const PAYMENT_METHODS: [&str; 8] = [
    "credit_card",
    "debit_card",
    "boleto",
    "pix",
    "bank_transfer",
    "voucher",
    "gift_card",
    "wallet",
];

/// A phone's label, as the native API documents it (00K's orders say `home`).
pub const PHONE_TYPES: [&str; 3] = ["mobile", "home", "work"];

/// A customer's gender as marketplaces report it (00K's orders say `male`); absent
/// when not informed.
pub const GENDERS: [&str; 3] = ["female", "male", "other"];

/// The officially assigned ISO 3166-1 alpha-2 country codes, in order.
pub const COUNTRIES: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

fn one_of(raw: &str, words: &[&'static str], what: &str) -> Result<&'static str, FieldError> {
    let s = raw.trim();
    words
        .iter()
        .copied()
        .find(|w| w.eq_ignore_ascii_case(s))
        .ok_or_else(|| {
            FieldError::new(
                "",
                format!(
                    "unknown {what} '{raw}': expected one of {}",
                    words.join(", ")
                ),
            )
        })
}

/// A payment method in its canonical spelling (`CREDIT_CARD` -> `credit_card`).
pub fn parse_payment_method(raw: &str) -> Result<&'static str, FieldError> {
    one_of(raw, &PAYMENT_METHODS, "payment method")
}

/// A phone type in its canonical spelling (`Mobile` -> `mobile`).
pub fn parse_phone_type(raw: &str) -> Result<&'static str, FieldError> {
    one_of(raw, &PHONE_TYPES, "phone type")
}

/// A gender in its canonical spelling (`MALE` -> `male`).
pub fn parse_gender(raw: &str) -> Result<&'static str, FieldError> {
    one_of(raw, &GENDERS, "gender")
}

/// An ISO 3166-1 alpha-2 country code, upper case (`br` -> `BR`).
pub fn parse_country(raw: &str) -> Result<&'static str, FieldError> {
    let upper = raw.trim().to_ascii_uppercase();
    COUNTRIES
        .binary_search(&upper.as_str())
        .map(|i| COUNTRIES[i])
        .map_err(|_| {
            FieldError::new(
                "",
                format!("'{raw}' is not an ISO 3166-1 alpha-2 country code (e.g. BR)"),
            )
        })
}

/// Checks that `value` is already the canonical spelling `parse` gives it: what a
/// stored order must hold, whichever dialect built it.
pub(crate) fn check_canonical(
    field: &str,
    value: &str,
    parse: fn(&str) -> Result<&'static str, FieldError>,
) -> Result<(), FieldError> {
    let canonical = parse(value).map_err(|e| e.under(field))?;
    if canonical != value {
        return Err(FieldError::new(
            field,
            format!("must be written '{canonical}', not '{value}'"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes_are_sorted_unique_and_two_capitals() {
        assert!(COUNTRIES.windows(2).all(|w| w[0] < w[1]));
        assert!(COUNTRIES
            .iter()
            .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())));
    }

    #[test]
    fn words_are_canonicalised_or_refused() {
        assert_eq!(parse_country("br"), Ok("BR"));
        assert_eq!(parse_country(" PT "), Ok("PT"));
        assert_eq!(parse_country("ZW"), Ok("ZW"));
        assert_eq!(parse_country("AD"), Ok("AD"));
        for bad in ["XX", "BRA", "Brasil", "", "B", "UK"] {
            assert!(parse_country(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_payment_method("CREDIT_CARD"), Ok("credit_card"));
        assert_eq!(parse_payment_method("pix"), Ok("pix"));
        assert!(parse_payment_method("cash").is_err());
        assert!(parse_payment_method("credit card").is_err());
        assert_eq!(parse_phone_type("Mobile"), Ok("mobile"));
        assert!(parse_phone_type("pager").is_err());
        assert_eq!(parse_gender("FEMALE"), Ok("female"));
        let e = parse_gender("banana").unwrap_err();
        assert!(e.message.contains("female, male, other"), "{e}");
    }

    #[test]
    fn stored_values_must_be_canonical() {
        assert!(check_canonical("gender", "male", parse_gender).is_ok());
        assert_eq!(
            check_canonical("gender", "Male", parse_gender)
                .unwrap_err()
                .field,
            "gender"
        );
        assert_eq!(
            check_canonical("a.country", "XX", parse_country)
                .unwrap_err()
                .field,
            "a.country"
        );
    }
}
