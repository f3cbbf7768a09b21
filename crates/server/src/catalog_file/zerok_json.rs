//! One product of a 00K import body (`POST /catalog/import`), read into a draft: the
//! field names and the liberal value forms the 00K document shows (`status` as `1` or
//! `"ativo"`, an `externalId` as a number or a string, only the first price taken).
//!
//! The 00K dialect crate owns the wire format; this reading exists so the command line
//! accepts the same files before the dialect's import parser is reachable from here.
//! [`draft`] is the one entry point, so replacing its body by a call to the dialect's
//! parser changes nothing else.

use entreposto_domain::{
    AttributeGroup, BrandRef, CategoryRef, CepRange, Description, Dimensions, FieldError, Freight,
    Gtin, Gtins, Location, PartyRef, Price, ProductDocument, ProductDraft, ProductFields,
    ProductInfo, ProductKind, ProductPart, Seo, StockLevel, StockStatus, Timestamp,
};
use entreposto_http::body::{parse_json, Amount};
use entreposto_http::ApiError;
use serde::Deserialize;

/// The draft one product's JSON text stands for, or the first field that is wrong.
pub fn draft(json: &str) -> Result<ProductDraft, FieldError> {
    let p: ProductIn = parse_json(json.as_bytes()).map_err(|e| match e {
        ApiError::Invalid(f) => f,
        other => FieldError::new("body", other.message()),
    })?;
    p.into_draft()
}

/// A text or a number (00K's examples send `"externalId": 12345`).
#[derive(Deserialize)]
#[serde(untagged)]
enum Key {
    Text(String),
    Int(i64),
}

impl Key {
    fn text(self) -> String {
        match self {
            Key::Text(s) => s,
            Key::Int(n) => n.to_string(),
        }
    }
}

/// `1`/`0`, `true`/`false`, or the document's words.
#[derive(Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Int(i64),
    Text(String),
}

fn flag(v: Option<Flag>, field: &str, yes: &[&str], no: &[&str]) -> Result<bool, FieldError> {
    match v {
        None => Ok(false),
        Some(Flag::Bool(b)) => Ok(b),
        Some(Flag::Int(1)) => Ok(true),
        Some(Flag::Int(0)) => Ok(false),
        Some(Flag::Int(n)) => Err(FieldError::new(field, format!("{n} is not 0 or 1"))),
        Some(Flag::Text(t)) => {
            let folded = entreposto_domain::search::fold(&t);
            if folded == "1" || yes.contains(&folded.as_str()) {
                Ok(true)
            } else if folded == "0" || no.contains(&folded.as_str()) {
                Ok(false)
            } else {
                Err(FieldError::new(
                    field,
                    format!("'{t}' is not one of 1, 0, {}, {}", yes[0], no[0]),
                ))
            }
        }
    }
}

pub const ACTIVE: &[&str] = &["ativo", "active", "true"];
pub const INACTIVE: &[&str] = &["inativo", "inactive", "false"];
pub const PUBLISHED: &[&str] = &["publicado", "published", "true"];
pub const UNPUBLISHED: &[&str] = &["nao publicado", "unpublished", "false"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductIn {
    id: Option<i64>,
    sku: Option<Key>,
    external_id: Option<Key>,
    #[serde(rename = "type")]
    kind: Option<String>,
    info: InfoIn,
    #[serde(default)]
    stock: Vec<StockIn>,
    #[serde(default)]
    price: Vec<PriceIn>,
    dimensions: Option<DimensionsIn>,
    freight: Option<FreightIn>,
    #[serde(default)]
    categories: Vec<CategoryIn>,
    #[serde(default)]
    images: Vec<ImageIn>,
    brand: Option<BrandIn>,
    #[serde(default)]
    descriptions: Vec<DescriptionIn>,
    #[serde(default)]
    documents: Vec<DocumentIn>,
    gtins: Option<GtinsIn>,
    seo: Option<SeoIn>,
    #[serde(default)]
    attribute_groups: Vec<AttributeGroupIn>,
    #[serde(default)]
    related: Vec<PartIn>,
    #[serde(default)]
    simple: Vec<PartIn>,
    #[serde(default)]
    collections: Vec<PartyIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InfoIn {
    name: String,
    subtitle: String,
    status: Flag,
    published: Option<Flag>,
    archived: Option<Flag>,
    model: String,
    item_flag: Option<String>,
    warranty: Option<String>,
}

#[derive(Deserialize)]
struct StockIn {
    info: StockInfoIn,
    location: Option<LocationIn>,
}

#[derive(Deserialize)]
struct StockInfoIn {
    quantity: i64,
    minimum: i64,
    status: Option<i64>,
}

#[derive(Deserialize)]
struct LocationIn {
    id: Option<i64>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PriceIn {
    list: Amount,
    value: Amount,
    expire_date: Option<String>,
}

#[derive(Deserialize)]
struct DimensionsIn {
    height: f64,
    width: f64,
    length: f64,
    weight: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FreightIn {
    free: Option<Flag>,
    fixed: Option<Amount>,
    additional: Option<Amount>,
    deadline: Option<i64>,
    free_range: Option<RangeIn>,
}

#[derive(Deserialize)]
struct RangeIn {
    start: String,
    end: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CategoryIn {
    id: Option<i64>,
    external_id: Option<Key>,
    name: Option<String>,
    description: Option<String>,
    slug: Option<String>,
    meta_keywords: Option<String>,
    image_source: Option<String>,
    parent: Option<Box<CategoryIn>>,
}

#[derive(Deserialize)]
struct ImageIn {
    source: String,
}

#[derive(Deserialize)]
struct BrandIn {
    info: PartyIn,
    manufacturer: Option<PartyIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PartyIn {
    id: Option<i64>,
    external_id: Option<Key>,
    name: Option<String>,
    image_source: Option<String>,
}

#[derive(Deserialize)]
struct DescriptionIn {
    title: String,
    text: String,
}

#[derive(Deserialize)]
struct DocumentIn {
    title: String,
    src: String,
}

#[derive(Deserialize)]
struct GtinsIn {
    mpn: Option<Key>,
    ean: Option<Key>,
    jan: Option<Key>,
    isbn: Option<Key>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeoIn {
    url: Option<String>,
    title: Option<String>,
    meta_description: Option<String>,
}

#[derive(Deserialize)]
struct AttributeGroupIn {
    name: String,
    attribute: AttributeIn,
}

#[derive(Deserialize)]
struct AttributeIn {
    name: String,
    value: String,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct PartIn {
    sku: Key,
    #[serde(rename = "type")]
    kind: Option<String>,
    quantity: Option<i64>,
}

fn party(p: PartyIn) -> PartyRef {
    PartyRef {
        id: p.id,
        external_id: p.external_id.map(Key::text),
        name: p.name,
        image_source: p.image_source,
    }
}

fn category(c: CategoryIn) -> CategoryRef {
    CategoryRef {
        id: c.id,
        external_id: c.external_id.map(Key::text),
        name: c.name,
        description: c.description,
        slug: c.slug,
        keywords: c.meta_keywords,
        image_source: c.image_source,
        parent: c.parent.map(|p| Box::new(category(*p))),
    }
}

fn parts(list: Vec<PartIn>, field: &str) -> Result<Vec<ProductPart>, FieldError> {
    list.into_iter()
        .enumerate()
        .map(|(n, p)| {
            Ok(ProductPart {
                sku: p.sku.text(),
                kind: match p.kind {
                    Some(k) => {
                        ProductKind::parse(&k).map_err(|e| e.under(&format!("{field}[{n}]")))?
                    }
                    None => ProductKind::Simple,
                },
                quantity: p.quantity.unwrap_or(1),
            })
        })
        .collect()
}

fn gtin(v: Option<Key>, field: &str) -> Result<Option<Gtin>, FieldError> {
    v.map(|k| Gtin::parse(&k.text()).map_err(|e| e.under(field)))
        .transpose()
}

impl ProductIn {
    fn into_draft(self) -> Result<ProductDraft, FieldError> {
        let kind = self.kind.map(|k| ProductKind::parse(&k)).transpose()?;
        let i = self.info;
        let info = ProductInfo {
            active: flag(Some(i.status), "info.status", ACTIVE, INACTIVE)?,
            published: flag(i.published, "info.published", PUBLISHED, UNPUBLISHED)?,
            archived: flag(i.archived, "info.archived", &["true"], &["false"])?,
            name: i.name,
            subtitle: i.subtitle,
            model: i.model,
            item_flag: i.item_flag,
            warranty: i.warranty,
        };
        let stock = self
            .stock
            .into_iter()
            .enumerate()
            .map(|(n, s)| {
                Ok(StockLevel {
                    location: s
                        .location
                        .map(|l| Location {
                            id: l.id.unwrap_or(Location::DEFAULT_ID),
                            name: l.name,
                        })
                        .unwrap_or_default(),
                    quantity: s.info.quantity,
                    minimum: s.info.minimum,
                    status: s
                        .info
                        .status
                        .map(StockStatus::from_code)
                        .transpose()
                        .map_err(|e| {
                            FieldError::new(format!("stock[{n}].info.status"), e.message)
                        })?,
                })
            })
            .collect::<Result<Vec<_>, FieldError>>()?;
        // "Only the first item is considered" (the 00K document).
        let price = match self.price.into_iter().next() {
            Some(p) => Some(Price {
                list: p.list.0,
                value: p.value.0,
                expires_at: p
                    .expire_date
                    .map(|d| Timestamp::parse(&d).map_err(|e| e.under("price[0].expireDate")))
                    .transpose()?,
            }),
            None => None,
        };
        let freight = match self.freight {
            Some(f) => Some(Freight {
                free: flag(f.free, "freight.free", &["true"], &["false"])?,
                fixed: f.fixed.map(|a| a.0),
                additional: f.additional.map(|a| a.0),
                deadline_days: f.deadline,
                free_range: f.free_range.map(|r| CepRange {
                    start: r.start,
                    end: r.end,
                }),
            }),
            None => None,
        };
        let gtins = match self.gtins {
            Some(g) => Gtins {
                mpn: g.mpn.map(Key::text),
                ean: gtin(g.ean, "gtins.ean")?,
                jan: gtin(g.jan, "gtins.jan")?,
                isbn: g.isbn.map(Key::text),
            },
            None => Gtins::default(),
        };
        let seo = self
            .seo
            .map(|s| Seo {
                url: s.url,
                title: s.title,
                meta_description: s.meta_description,
            })
            .unwrap_or_default();
        Ok(ProductDraft {
            id: self.id,
            sku: self.sku.map(Key::text),
            kind,
            fields: ProductFields {
                external_id: self.external_id.map(Key::text),
                info,
                stock,
                price,
                dimensions: self.dimensions.map(|d| Dimensions {
                    height: d.height,
                    width: d.width,
                    length: d.length,
                    weight_grams: d.weight,
                }),
                freight,
                descriptions: self
                    .descriptions
                    .into_iter()
                    .map(|d| Description {
                        title: d.title,
                        text: d.text,
                    })
                    .collect(),
                images: self.images.into_iter().map(|i| i.source).collect(),
                documents: self
                    .documents
                    .into_iter()
                    .map(|d| ProductDocument {
                        title: d.title,
                        src: d.src,
                    })
                    .collect(),
                seo,
                gtins,
                attribute_groups: self
                    .attribute_groups
                    .into_iter()
                    .map(|a| AttributeGroup {
                        name: a.name,
                        attribute_name: a.attribute.name,
                        attribute_value: a.attribute.value,
                        attribute_type: a.attribute.kind,
                    })
                    .collect(),
                related: parts(self.related, "related")?,
                parts: parts(self.simple, "simple")?,
            },
            categories: self.categories.into_iter().map(category).collect(),
            brand: self.brand.map(|b| BrandRef {
                info: party(b.info),
                manufacturer: b.manufacturer.map(party),
            }),
            collections: self.collections.into_iter().map(party).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documents_example_reads() {
        let d = draft(
            r#"{"id": 215, "sku": "99jjs8", "externalId": 12345, "type": "simple",
            "info": {"name": "Produto Teste", "subtitle": "Não oferte", "status": 1,
                "published": 0, "model": "3KFD9KK48DFK", "itemFlag": "Flag produto"},
            "stock": [{"info": {"quantity": 15, "minimum": 15}, "location": {"id": 2, "name": "CD"}}],
            "price": [{"list": 500, "value": 499.99}, {"list": 1, "value": 1}],
            "dimensions": {"height": 45, "width": 35, "length": 25, "weight": 500},
            "freight": {"free": 1, "fixed": 15.00, "deadline": 25,
                "freeRange": {"start": "04688010", "end": "05872130"}},
            "categories": [{"name": "Camisetas", "parent": {"name": "Roupas"}}],
            "images": [{"source": "http://example.com/a.jpg"}],
            "brand": {"info": {"name": "Marca"}, "manufacturer": {"name": "Fabricante"}},
            "gtins": {"ean": "7891234567895"}}"#,
        )
        .unwrap();
        assert_eq!(d.sku.as_deref(), Some("99jjs8"));
        assert_eq!(d.fields.external_id.as_deref(), Some("12345"));
        assert!(d.fields.info.active);
        assert!(!d.fields.info.published);
        assert_eq!(d.fields.price.unwrap().value.0, 49999);
        assert_eq!(d.fields.stock[0].location.id, 2);
        assert_eq!(
            d.categories[0].parent.as_ref().unwrap().name.as_deref(),
            Some("Roupas")
        );
        d.validate().unwrap();
    }

    #[test]
    fn mistakes_name_their_field() {
        let field = |json: &str| draft(json).unwrap_err().field;
        assert_eq!(field(r#"{"sku": "A"}"#), "info");
        assert_eq!(
            field(
                r#"{"sku": "A", "info": {"name": "x", "subtitle": "y", "status": "talvez", "model": "m"}}"#
            ),
            "info.status"
        );
        assert_eq!(
            field(
                r#"{"sku": "A", "info": {"name": "x", "subtitle": "y", "status": 1, "model": "m"}, "price": [{"list": 1, "value": 1.001}]}"#
            ),
            "price[0].value"
        );
    }
}
