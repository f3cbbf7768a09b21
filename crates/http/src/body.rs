//! Reading JSON request bodies so that every mistake names its field.
//!
//! `serde_path_to_error` gives the path of the value that failed (`items[0].quantity`);
//! a missing field is reported by serde on its parent, so we append the field's name.
//! A value the JSON grammar accepts but that cannot be read (a number out of range, a
//! raw control character or a bad escape in a string, a NUL) names its field too; the
//! body's structure being broken (unbalanced brackets, text after the value) names
//! `body`. Oversized bodies become [`ApiError::PayloadTooLarge`]. The `Content-Type` is
//! not checked: some vendor clients send none or a wrong one. Money is read with
//! [`Amount`], from the number's text rather than through an `f64`.

use std::marker::PhantomData;

use axum::extract::{FromRequest, Request};
use bytes::Bytes;
use entreposto_domain::{Cents, Rate};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::envelope::{Envelope, Failure};
use crate::ApiError;

/// A JSON object body of type `T`, failures rendered in dialect `D`'s envelope.
/// Top-level arrays and scalars are refused here (serde would otherwise read a struct
/// from an array positionally).
pub struct JsonBody<T, D>(pub T, pub PhantomData<D>);

impl<T, D, S> FromRequest<S> for JsonBody<T, D>
where
    T: DeserializeOwned,
    D: Envelope,
    S: Send + Sync,
{
    type Rejection = Failure<D>;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        read_json(req, b'{', "expected a JSON object")
            .await
            .map(|v| JsonBody(v, PhantomData))
            .map_err(Failure::new)
    }
}

/// The body read as `T`, refused with `expected` unless its first character is
/// `opens` (an empty body goes on to [`parse_json`], which names it).
async fn read_json<T: DeserializeOwned>(
    req: Request,
    opens: u8,
    expected: &str,
) -> Result<T, ApiError> {
    let bytes = read_limited(req).await?;
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b) if *b != opens => Err(ApiError::invalid("body", expected)),
        _ => parse_json(&bytes),
    }
}

/// Past the limit we keep reading (and discarding) up to this much, so the client,
/// which is still sending, can read our 413 instead of seeing a reset connection.
const DRAIN_BYTES: usize = 64 * 1024 * 1024;

/// Reads the body up to the limit of the path it was sent to ([`crate::BodyLimit`], set
/// by the JSON edge; [`crate::MAX_BODY_BYTES`] without one).
pub async fn read_limited(req: Request) -> Result<Bytes, ApiError> {
    let limit = req
        .extensions()
        .get::<crate::BodyLimit>()
        .map_or(crate::MAX_BODY_BYTES, |l| l.0);
    read_body(req.into_body(), limit).await
}

/// Reads `body` whole when it is at most `limit` bytes ([`ApiError::PayloadTooLarge`]
/// otherwise).
pub async fn read_body(body: axum::body::Body, limit: usize) -> Result<Bytes, ApiError> {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut buf = bytes::BytesMut::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|_| ApiError::invalid("body", "could not read the request body"))?;
        seen += chunk.len();
        if seen <= limit {
            buf.extend_from_slice(&chunk);
        } else if seen > DRAIN_BYTES {
            break;
        }
    }
    if seen > limit {
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(buf.freeze())
}

/// Parses `bytes` as `T`, turning serde's error into a field-named [`ApiError`].
/// The body must be exactly one JSON value: text after it (`{...} xyz`, `{...}{...}`)
/// is refused, as a client that sends it is not sending what it thinks.
/// serde_json's message without its " at line L column C" (clients see the field).
fn without_position(e: &serde_json::Error) -> String {
    let mut m = e.to_string();
    if let Some(i) = m.find(" at line ") {
        m.truncate(i);
    }
    m
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::invalid("body", "a JSON body is required"));
    }
    // JSON may spell a NUL character `\u0000`; PostgreSQL cannot store one and no
    // vendor sends one, so refuse it here rather than fail in the database. The scan
    // is cheap; finding the field is not, so it only runs when the scan hits.
    if bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        if let Some(field) = field_with_nul(bytes) {
            return Err(ApiError::invalid(
                field,
                "contains a NUL character (\\u0000)",
            ));
        }
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner();
        let mut message = without_position(inner);
        let mut field = if path == "." { String::new() } else { path };
        if inner.is_eof() || (inner.is_syntax() && !is_value_error(&message)) {
            return ApiError::invalid("body", format!("malformed JSON: {message}"));
        }
        // A body that is no JSON at all (`{} x`) is told so before what its start
        // lacks: the whole is read again only on this error path.
        if inner.is_data() {
            if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                let m = without_position(&e);
                return ApiError::invalid("body", format!("malformed JSON: {m}"));
            }
        }
        let named = |field: &str, name: &str| {
            if field.is_empty() {
                name.to_string()
            } else {
                format!("{field}.{name}")
            }
        };
        if let Some(rest) = message.strip_prefix("missing field `") {
            field = named(&field, rest.split('`').next().unwrap_or_default());
            message = "is required".into();
        } else if let Some(rest) = message.strip_prefix("duplicate field `") {
            field = named(&field, rest.split('`').next().unwrap_or_default());
            message = "is given twice".into();
        }
        if field.is_empty() {
            field = "body".into();
        }
        ApiError::invalid(field, message)
    })?;
    de.end().map_err(|_| {
        ApiError::invalid(
            "body",
            "malformed JSON: text after the JSON value (send exactly one value)",
        )
    })?;
    Ok(value)
}

/// Syntax errors that lie inside one value (whose path `serde_path_to_error` knows)
/// rather than in the body's structure, as serde_json words them.
fn is_value_error(message: &str) -> bool {
    [
        "number out of range",
        "invalid number",
        "control character",
        "invalid escape",
        "invalid unicode code point",
        "lone leading surrogate",
        "unexpected end of hex escape",
    ]
    .iter()
    .any(|m| message.starts_with(m))
}

/// The path of the first string holding a NUL (or of the object with such a key), in
/// `serde_path_to_error`'s spelling (`items[0].name`); `None` when there is none (the
/// scan saw an escaped backslash followed by `u0000`) or the body is not JSON.
fn field_with_nul(bytes: &[u8]) -> Option<String> {
    fn walk(v: &serde_json::Value, path: &mut String) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let hit = walk(item, path);
                if !hit {
                    path.truncate(len);
                }
                hit
            }),
            serde_json::Value::Object(map) => map.iter().any(|(k, item)| {
                if k.contains('\0') {
                    return true;
                }
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                let hit = walk(item, path);
                if !hit {
                    path.truncate(len);
                }
                hit
            }),
            _ => false,
        }
    }
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let mut path = String::new();
    walk(&v, &mut path).then(|| if path.is_empty() { "body".into() } else { path })
}

/// An amount of money as a JSON number (`499.99`), read from the number's own text so
/// that it is exact: every value that is a whole number of centavos is accepted (`1e2`
/// and `1.500` too), every other one refused by [`Cents::parse_decimal`], naming the
/// field. Written back as a JSON number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Amount(pub Cents);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        // Only serde_json's text deserializers hand out raw values, which is all
        // request bodies use.
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get().trim();
        let kind = match text.as_bytes().first() {
            Some(b'"') => Some("a string"),
            Some(b'{') => Some("an object"),
            Some(b'[') => Some("an array"),
            Some(b't' | b'f') => Some("a boolean"),
            Some(b'n') => Some("null"),
            _ => None,
        };
        if let Some(kind) = kind {
            return Err(D::Error::custom(format!(
                "expected a decimal number (e.g. 499.99), found {kind}"
            )));
        }
        Cents::parse_decimal(text)
            .map(Amount)
            .map_err(|e| D::Error::custom(e.message))
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0.to_decimal())
    }
}

impl utoipa::PartialSchema for Amount {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Number)
            .description(Some(
                "An amount in reais with at most two decimals (499.99); a fraction of a \
                 centavo is refused.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for Amount {}

/// A percentage as a JSON number (`15`, `15.5`), read from the number's own text so
/// that it is exact: at most two decimals, 0 to 100 ([`Rate::parse_decimal`]), every
/// other value refused naming the field. Written back as a JSON number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Percent(pub Rate);

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Percent, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get().trim();
        if !text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            return Err(D::Error::custom(format!(
                "expected a percentage as a number (e.g. 15.5), found {text}"
            )));
        }
        Rate::parse_decimal(text)
            .map(Percent)
            .map_err(|e| D::Error::custom(e.message))
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0.to_decimal())
    }
}

impl utoipa::PartialSchema for Percent {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Number)
            .minimum(Some(0.0))
            .maximum(Some(100.0))
            .description(Some(
                "A percentage from 0 to 100 with at most two decimals (15.5)",
            ))
            .into()
    }
}

impl utoipa::ToSchema for Percent {}

/// Text sent as a JSON string or as an integer (`"externalId": 12345`), kept as text:
/// vendors' clients type identifiers (SKUs, document and invoice numbers) either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl utoipa::PartialSchema for Text {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{SchemaType, Type};
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Integer]))
            .description(Some("Text; an integer is read as its digits"))
            .into()
    }
}

impl utoipa::ToSchema for Text {}

/// A JSON array body of `T`s (a batch of ids, rows), failures rendered in dialect
/// `D`'s envelope and naming their element (`[3]`). Anything but an array is refused.
pub struct JsonList<T, D>(pub Vec<T>, pub PhantomData<D>);

impl<T, D, S> FromRequest<S> for JsonList<T, D>
where
    T: DeserializeOwned,
    D: Envelope,
    S: Send + Sync,
{
    type Rejection = Failure<D>;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        read_json(req, b'[', "expected a JSON array")
            .await
            .map(|v| JsonList(v, PhantomData))
            .map_err(Failure::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        qty: i64,
        name: String,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
    }

    fn field_of(json: &str) -> String {
        parse_json::<Outer>(json.as_bytes())
            .unwrap_err()
            .field()
            .unwrap()
            .to_string()
    }

    #[test]
    fn names_the_field() {
        assert_eq!(
            field_of(r#"{"items":[{"qty":"x","name":"a"}]}"#),
            "items[0].qty"
        );
        assert_eq!(field_of(r#"{"items":[{"qty":1}]}"#), "items[0].name");
        assert_eq!(field_of(r#"{}"#), "items");
        assert_eq!(field_of(r#"{"items": [}"#), "body");
        // A key given twice is named (at its depth), not the body.
        assert_eq!(field_of(r#"{"items":[],"items":[]}"#), "items");
        assert_eq!(
            field_of(r#"{"items":[{"qty":1,"qty":2,"name":"a"}]}"#),
            "items[0].qty"
        );
        assert_eq!(field_of(""), "body");
    }

    #[test]
    fn values_that_cannot_be_read_name_their_field() {
        for (json, field) in [
            (r#"{"items":[{"qty":1e400,"name":"a"}]}"#, "items[0].qty"),
            (r#"{"items":[{"qty":1e30,"name":"a"}]}"#, "items[0].qty"),
            (
                r#"{"items":[{"qty":99999999999999999999,"name":"a"}]}"#,
                "items[0].qty",
            ),
            (r#"{"items":[{"qty":1.,"name":"a"}]}"#, "items[0].qty"),
            (
                r#"{"items":[{"qty":1,"name":"a\u0000b"}]}"#,
                "items[0].name",
            ),
            (r#"{"items":[{"qty":1,"name":"a\U0000"}]}"#, "items[0].name"),
            (
                "{\"items\":[{\"qty\":1,\"name\":\"a\0b\"}]}",
                "items[0].name",
            ),
            (r#"{"items":[{"qty":1,"name":"\ud800"}]}"#, "items[0].name"),
            (
                r#"{"items":[{"qty":1,"name":"a","x\u0000":1}]}"#,
                "items[0]",
            ),
            (r#"{"a\u0000":1}"#, "body"),
        ] {
            assert_eq!(field_of(json), field, "{json}");
        }
        // An escaped backslash followed by `u0000` is six ordinary characters.
        let ok: Outer = parse_json(br#"{"items":[{"qty":1,"name":"a\\u0000"}]}"#).unwrap();
        assert_eq!(ok.items[0].name, "a\\u0000");
    }

    #[test]
    fn refuses_text_after_the_value() {
        for json in [
            r#"{"items":[]} xyz"#,
            r#"{"items":[]}{"items":[]}"#,
            r#"{"items":[]}]"#,
            r#"{"items":[]} 1"#,
            // What the start lacks is not the first thing to say of a body that is
            // no JSON at all.
            r#"{} xyz"#,
            r#"{"items":[{"qty":1}]} x"#,
        ] {
            assert_eq!(field_of(json), "body", "{json}");
            let e = parse_json::<Outer>(json.as_bytes()).unwrap_err();
            assert!(
                e.message().contains("malformed JSON"),
                "{json}: {}",
                e.message()
            );
        }
        assert!(parse_json::<Outer>(b" {\"items\":[]} \r\n").is_ok());
    }

    #[derive(serde::Deserialize, Debug)]
    struct Priced {
        price: Amount,
        extra: Option<Amount>,
    }

    fn price(json: &str) -> Result<(i64, Option<i64>), ApiError> {
        parse_json::<Priced>(json.as_bytes()).map(|p| (p.price.0 .0, p.extra.map(|a| a.0 .0)))
    }

    #[test]
    fn amounts_are_exact_or_refused_by_name() {
        assert_eq!(price(r#"{"price":499.99}"#).unwrap(), (49999, None));
        assert_eq!(
            price(r#"{"price":123456789.12,"extra":null}"#).unwrap(),
            (12345678912, None)
        );
        assert_eq!(
            price(r#"{"price":1e2,"extra":0.1}"#).unwrap(),
            (10000, Some(10))
        );
        for (json, field) in [
            (r#"{"price":123456789.123}"#, "price"),
            (r#"{"price":1.999999999999}"#, "price"),
            (r#"{"price":1.005}"#, "price"),
            (r#"{"price":1e400}"#, "price"),
            (r#"{"price":"1.00"}"#, "price"),
            (r#"{"price":null}"#, "price"),
            (r#"{"price":1,"extra":0.001}"#, "extra"),
            (r#"{"price":1,"extra":[1]}"#, "extra"),
        ] {
            let e = price(json).unwrap_err();
            assert_eq!(e.field(), Some(field), "{json}: {e:?}");
        }
        assert_eq!(
            serde_json::to_string(&Amount(Cents(12345678912))).unwrap(),
            "123456789.12"
        );
    }
}
