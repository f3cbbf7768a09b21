//! Building blocks for the APIs' OpenAPI documents: their security schemes (every
//! dialect's credentials are headers) and the schemas of strings the domain
//! constrains (closed vocabularies, the date-times the hub reads), so a document
//! says what the server enforces from the very constants that enforce it.

use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi;

/// Adds to `doc` one security scheme per `(name, header, description)`: a key sent in
/// that header (the dialects' credentials are headers).
pub fn add_header_keys(doc: &mut OpenApi, keys: &[(&str, &str, &str)]) {
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, header, description) in keys {
        components.add_security_scheme(
            *name,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                *header,
                *description,
            ))),
        );
    }
}

/// Adds to `doc` a security scheme `name`: a Bearer token in `Authorization`.
pub fn add_bearer(doc: &mut OpenApi, name: &str, description: &str) {
    doc.components
        .get_or_insert_with(Default::default)
        .add_security_scheme(
            name,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description))
                    .build(),
            ),
        );
}

/// The schema of a string that is one of `words` (null too when `nullable`), for
/// `#[schema(schema_with = ...)]` on fields whose vocabulary is a constant of the
/// domain: the document then lists exactly what the server accepts.
pub fn string_enum<'a>(words: impl IntoIterator<Item = &'a str>, nullable: bool) -> Object {
    let mut values: Vec<serde_json::Value> = words.into_iter().map(Into::into).collect();
    let kind = if nullable {
        values.push(serde_json::Value::Null);
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::Type(Type::String)
    };
    ObjectBuilder::new()
        .schema_type(kind)
        .enum_values(Some(values))
        .build()
}

/// What `Timestamp::parse` reads, as a pattern: a date, optionally a time (`T` or a
/// space, minutes, seconds, a fraction) and a zone (`Z` or an offset). A necessary
/// condition only (`2023-13-45` matches and is refused, naming the field).
const DATE_TIME_TEXT: &str = r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)?\s*$";

/// The schema of a date-time as the hub reads it ([`DATE_TIME_TEXT`]), for
/// `#[schema(schema_with = ...)]`; zone-less is Brasília time.
pub fn date_time_text(nullable: bool) -> Object {
    let kind = if nullable {
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::Type(Type::String)
    };
    ObjectBuilder::new()
        .schema_type(kind)
        .pattern(Some(DATE_TIME_TEXT))
        .max_length(Some(40))
        .description(Some(
            "ISO 8601 (`2023-06-06T21:41:57-03:00`; the seconds, fraction and zone may be \
             left out, a zone-less time is Brasília time)",
        ))
        .build()
}
