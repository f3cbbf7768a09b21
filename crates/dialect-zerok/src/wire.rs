//! The scalars of 00K's request bodies, read as liberally as its clients write them.
//!
//! The document types some values two ways (`status` is `1` or `"ativo"`, `published`
//! is `1` or `"publicado"`) and clients type others as they please (an `externalId` or
//! a SKU as a number or a string, an id as a string of digits). Each such value has a
//! type here whose `Deserialize` accepts every spelling and refuses anything else with
//! a message saying what was expected; the field's path comes from
//! `serde_path_to_error`, so a refusal always names its field. Money is
//! [`entreposto_http::body::Amount`], read exactly from the number's text.

use std::fmt;

use entreposto_domain::{ProductKind, StockStatus, Timestamp};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// The schema of a value of several JSON types, with its description.
fn schema_of(
    types: &[Type],
    description: &str,
    values: Option<Vec<serde_json::Value>>,
) -> RefOr<Schema> {
    let kind = match types {
        [one] => SchemaType::Type(one.clone()),
        many => SchemaType::from_iter(many.iter().cloned()),
    };
    ObjectBuilder::new()
        .schema_type(kind)
        .description(Some(description))
        .enum_values(values)
        .into()
}

/// Text sent as a JSON string or as an integer, shared with the other dialects.
pub use entreposto_http::body::Text;

/// An id: a JSON integer or a string of digits (`215` or `"215"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Id(pub i64);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer id")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Id, E> {
                i64::try_from(v)
                    .map(Id)
                    .map_err(|_| E::custom(format!("{v} is too large for an id")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Id, E> {
                v.trim()
                    .parse()
                    .map(Id)
                    .map_err(|_| E::custom(format!("'{v}' is not an integer id")))
            }
        }
        d.deserialize_any(V)
    }
}

impl PartialSchema for Id {
    fn schema() -> RefOr<Schema> {
        schema_of(
            &[Type::Integer, Type::String],
            "An id: an integer, or a string of its digits",
            None,
        )
    }
}

impl ToSchema for Id {}

/// A whole number: a JSON integer (`15.0` is read as `15`, `15.5` is refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int(pub i64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Int, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Int;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Int, E> {
                Ok(Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Int, E> {
                i64::try_from(v)
                    .map(Int)
                    .map_err(|_| E::custom(format!("{v} is out of range")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Int, E> {
                if v.fract() == 0.0 && v.abs() < 9.0e15 {
                    Ok(Int(v as i64))
                } else {
                    Err(E::custom(format!("expected an integer, found {v}")))
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl PartialSchema for Int {
    fn schema() -> RefOr<Schema> {
        schema_of(&[Type::Integer], "A whole number", None)
    }
}

impl ToSchema for Int {}

/// Reads a two-valued field: `1`/`0`, `true`/`false`, or one of its words (`yes` and
/// `no`, already folded: compared trimmed, case- and accent-insensitive). `expected`
/// words the refusal.
fn two_valued<'de, D: Deserializer<'de>>(
    d: D,
    expected: &'static str,
    yes: &'static [&'static str],
    no: &'static [&'static str],
) -> Result<bool, D::Error> {
    struct V {
        expected: &'static str,
        yes: &'static [&'static str],
        no: &'static [&'static str],
    }
    impl V {
        fn number<E: de::Error>(&self, v: i128) -> Result<bool, E> {
            match v {
                1 => Ok(true),
                0 => Ok(false),
                _ => Err(E::custom(format!("{v} is not {}", self.expected))),
            }
        }
    }
    impl Visitor<'_> for V {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.expected)
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
            self.number(v.into())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
            self.number(v.into())
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
            let folded = entreposto_domain::search::fold(v);
            if folded == "1" || self.yes.contains(&folded.as_str()) {
                Ok(true)
            } else if folded == "0" || self.no.contains(&folded.as_str()) {
                Ok(false)
            } else {
                Err(E::custom(format!("'{v}' is not {}", self.expected)))
            }
        }
    }
    d.deserialize_any(V { expected, yes, no })
}

/// `info.status`: `1` or `"ativo"` for an active product, `0` or `"inativo"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Active(pub bool);

impl<'de> Deserialize<'de> for Active {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Active, D::Error> {
        two_valued(
            d,
            "a status: 1 or \"ativo\" (active), 0 or \"inativo\" (inactive)",
            &["ativo", "active", "true"],
            &["inativo", "inactive", "false"],
        )
        .map(Active)
    }
}

impl PartialSchema for Active {
    fn schema() -> RefOr<Schema> {
        schema_of(
            &[Type::Integer, Type::String, Type::Boolean],
            "1 or \"ativo\": active; 0 or \"inativo\": inactive (true and false are read too)",
            Some(vec![
                1.into(),
                0.into(),
                "ativo".into(),
                "inativo".into(),
                true.into(),
                false.into(),
            ]),
        )
    }
}

impl ToSchema for Active {}

/// `info.published`: `1` or `"publicado"`, `0` or `"não publicado"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published(pub bool);

impl<'de> Deserialize<'de> for Published {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Published, D::Error> {
        // Folded, so "não publicado" compares as "nao publicado".
        two_valued(
            d,
            "a published flag: 1 or \"publicado\", 0 or \"não publicado\"",
            &["publicado", "published", "true"],
            &["nao publicado", "unpublished", "false"],
        )
        .map(Published)
    }
}

impl PartialSchema for Published {
    fn schema() -> RefOr<Schema> {
        schema_of(
            &[Type::Integer, Type::String, Type::Boolean],
            "1 or \"publicado\"; 0 or \"não publicado\" (true and false are read too)",
            Some(vec![
                1.into(),
                0.into(),
                "publicado".into(),
                "não publicado".into(),
                true.into(),
                false.into(),
            ]),
        )
    }
}

impl ToSchema for Published {}

/// A yes/no flag sent as `1`/`0` (or `true`/`false`): `archived`, `freight.free`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Flag, D::Error> {
        two_valued(d, "a flag: 1 or 0", &["true"], &["false"]).map(Flag)
    }
}

impl PartialSchema for Flag {
    fn schema() -> RefOr<Schema> {
        schema_of(
            &[Type::Integer, Type::Boolean],
            "1 for yes, 0 for no (true and false are read too)",
            Some(vec![1.into(), 0.into(), true.into(), false.into()]),
        )
    }
}

impl ToSchema for Flag {}

/// A product type: `simple`, `group` or `kit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind(pub ProductKind);

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Kind, D::Error> {
        let s = String::deserialize(d)?;
        ProductKind::parse(s.trim())
            .map(Kind)
            .map_err(|e| de::Error::custom(e.message))
    }
}

impl PartialSchema for Kind {
    fn schema() -> RefOr<Schema> {
        entreposto_http::openapi::string_enum(ProductKind::ALL.map(ProductKind::as_str), false)
            .into()
    }
}

impl ToSchema for Kind {}

/// `stock[].info.status`: 0 no stock, 1 sells without stock, 2 pre-sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockCode(pub StockStatus);

impl<'de> Deserialize<'de> for StockCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<StockCode, D::Error> {
        let Int(code) = Int::deserialize(d)?;
        StockStatus::from_code(code)
            .map(StockCode)
            .map_err(|e| de::Error::custom(e.message))
    }
}

impl PartialSchema for StockCode {
    fn schema() -> RefOr<Schema> {
        schema_of(
            &[Type::Integer],
            "Special stock logic, overriding quantity and minimum: 0 no stock, 1 sells without stock, 2 pre-sale",
            Some(vec![0.into(), 1.into(), 2.into()]),
        )
    }
}

impl ToSchema for StockCode {}

/// A date-time: ISO 8601 (zone-less is Brasília time), or the document's own
/// `2015-06-02T20:33:02:0000Z` (a colon before the fraction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct When(pub Timestamp);

impl When {
    pub fn parse(raw: &str) -> Result<Timestamp, String> {
        if let Ok(t) = Timestamp::parse(raw) {
            return Ok(t);
        }
        // `yyyy-MM-ddTHH:mm:ss:ffff...`: the fraction after a third colon.
        let s = raw.trim();
        let b = s.as_bytes();
        if b.len() > 20 && b[10] == b'T' && b[19] == b':' {
            let fixed = format!("{}.{}", &s[..19], &s[20..]);
            if let Ok(t) = Timestamp::parse(&fixed) {
                return Ok(t);
            }
        }
        Err(format!(
            "'{raw}' is not a date-time (ISO 8601, e.g. 2015-06-02T20:33:02.000Z)"
        ))
    }
}

impl<'de> Deserialize<'de> for When {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<When, D::Error> {
        let s = String::deserialize(d)?;
        When::parse(&s).map(When).map_err(de::Error::custom)
    }
}

impl PartialSchema for When {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .max_length(Some(40))
            .description(Some(
                "ISO 8601 (`2015-06-02T20:33:02.000Z`; zone-less is Brasília time); the \
                 document's `2015-06-02T20:33:02:0000Z` is read too",
            ))
            .into()
    }
}

impl ToSchema for When {}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, String> {
        entreposto_http::body::parse_json::<T>(json.as_bytes()).map_err(|e| e.message())
    }

    #[test]
    fn texts_and_ids_take_numbers_and_strings() {
        assert_eq!(read::<Text>("12345").unwrap(), Text("12345".into()));
        assert_eq!(read::<Text>("\"AB-1\"").unwrap(), Text("AB-1".into()));
        assert!(read::<Text>("1.5").is_err());
        assert!(read::<Text>("true").is_err());
        assert_eq!(read::<Id>("\"215\"").unwrap(), Id(215));
        assert_eq!(read::<Id>("215").unwrap(), Id(215));
        assert!(read::<Id>("\"x\"").is_err());
    }

    #[test]
    fn status_and_published_in_every_documented_spelling() {
        for (json, want) in [
            ("1", true),
            ("0", false),
            ("\"ativo\"", true),
            ("\" Inativo \"", false),
        ] {
            assert_eq!(read::<Active>(json).unwrap(), Active(want), "{json}");
        }
        for (json, want) in [
            ("1", true),
            ("0", false),
            ("\"publicado\"", true),
            ("\"não publicado\"", false),
            ("\"Nao Publicado\"", false),
        ] {
            assert_eq!(read::<Published>(json).unwrap(), Published(want), "{json}");
        }
        let e = read::<Active>("2").unwrap_err();
        assert!(e.contains("2 is not a status"), "{e}");
        assert!(read::<Active>("\"sim\"").is_err());
        assert!(read::<Published>("\"ativo\"").is_err());
    }

    #[test]
    fn integers_refuse_fractions_and_text() {
        assert_eq!(read::<Int>("15").unwrap(), Int(15));
        assert_eq!(read::<Int>("15.0").unwrap(), Int(15));
        assert!(read::<Int>("15.5").is_err());
        assert!(read::<Int>("\"15\"").is_err());
    }

    #[test]
    fn kinds_and_stock_codes() {
        assert_eq!(read::<Kind>("\"kit\"").unwrap(), Kind(ProductKind::Kit));
        assert!(read::<Kind>("\"bundle\"")
            .unwrap_err()
            .contains("simple, group or kit"));
        assert_eq!(
            read::<StockCode>("2").unwrap(),
            StockCode(StockStatus::PreSale)
        );
        assert!(read::<StockCode>("3").is_err());
    }

    #[test]
    fn dates_in_iso_and_the_documents_own_form() {
        let iso = When::parse("2015-06-02T20:33:02.000Z").unwrap();
        assert_eq!(When::parse("2015-06-02T20:33:02:0000Z").unwrap(), iso);
        assert_eq!(iso.to_rfc3339_utc(), "2015-06-02T20:33:02.000Z");
        assert_eq!(
            When::parse("2015-06-02T17:33:02").unwrap(),
            iso,
            "zone-less is Brasília time"
        );
        assert!(When::parse("02/06/2015").is_err());
        assert!(When::parse("2015-06-02T20:33:02:xxZ").is_err());
    }
}
