//! The stored JSON of catalog data, the same on every backend: a product's body (what
//! no query filters on) and an import job's rows (the drafts as validated).
//!
//! The domain's types carry no serde layout; these mirrors are the stored shape, key
//! for key, with short keys because a large catalog holds millions of bodies. Money is
//! centavos and times UTC microseconds, as integers. A product body leaves out what
//! has columns or tables of its own (stock per location, the price, the links), so
//! writing stock or a price never rewrites a body. JSON names its keys: a new field
//! is added with `#[serde(default)]` and needs no version; renaming one is a migration.

use entreposto_domain::{
    AttributeGroup, BrandRef, CategoryRef, Cents, CepRange, Description, Dimensions, Freight, Gtin,
    Gtins, Location, PartyRef, Price, ProductDocument, ProductDraft, ProductFields, ProductInfo,
    ProductKind, ProductPart, Seo, StockLevel, StockStatus, Timestamp,
};
use serde::{Deserialize, Serialize};

/// The body to store for `fields` (stock and price are stored apart).
pub fn encode_body(fields: &ProductFields) -> String {
    serde_json::to_string(&Body::from(fields)).expect("a product body always serializes")
}

/// The fields a stored body holds, with no stock and no price (the caller adds them).
pub fn decode_body(json: &str) -> Result<ProductFields, String> {
    serde_json::from_str::<Body>(json)
        .map(ProductFields::from)
        .map_err(|e| format!("corrupt product body: {e}"))
}

/// An import row to store.
pub fn encode_draft(draft: &ProductDraft) -> String {
    serde_json::to_string(&Draft::from(draft)).expect("a draft always serializes")
}

pub fn decode_draft(json: &str) -> Result<ProductDraft, String> {
    serde_json::from_str::<Draft>(json)
        .map(ProductDraft::from)
        .map_err(|e| format!("corrupt import row: {e}"))
}

/// The stored name of a product type.
pub fn kind_name(kind: ProductKind) -> &'static str {
    kind.as_str()
}

pub fn kind_from_name(name: &str) -> Result<ProductKind, String> {
    ProductKind::parse(name).map_err(|e| e.message)
}

/// A stock level's stored special status.
pub fn stock_status_code(s: Option<StockStatus>) -> Option<i64> {
    s.map(StockStatus::code)
}

pub fn stock_status_from_code(code: Option<i64>) -> Result<Option<StockStatus>, String> {
    code.map(|c| StockStatus::from_code(c).map_err(|e| e.message))
        .transpose()
}

#[derive(Serialize, Deserialize)]
struct Body {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ext: Option<String>,
    info: Info,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dim: Option<Dim>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    freight: Option<FreightJson>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    desc: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    img: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    docs: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "SeoJson::is_empty")]
    seo: SeoJson,
    #[serde(default, skip_serializing_if = "GtinsJson::is_empty")]
    gtins: GtinsJson,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    attrs: Vec<Attr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    related: Vec<Part>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    parts: Vec<Part>,
}

#[derive(Serialize, Deserialize)]
struct Info {
    name: String,
    sub: String,
    active: bool,
    #[serde(default)]
    published: bool,
    #[serde(default)]
    archived: bool,
    model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    flag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    warranty: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Dim {
    h: f64,
    w: f64,
    l: f64,
    g: i64,
}

#[derive(Serialize, Deserialize)]
struct FreightJson {
    #[serde(default)]
    free: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fixed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    add: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    range: Option<(String, String)>,
}

#[derive(Serialize, Deserialize, Default)]
struct SeoJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    meta: Option<String>,
}

impl SeoJson {
    fn is_empty(&self) -> bool {
        self.url.is_none() && self.title.is_none() && self.meta.is_none()
    }
}

#[derive(Serialize, Deserialize, Default)]
struct GtinsJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mpn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ean: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    isbn: Option<String>,
}

impl GtinsJson {
    fn is_empty(&self) -> bool {
        self.mpn.is_none() && self.ean.is_none() && self.jan.is_none() && self.isbn.is_none()
    }
}

#[derive(Serialize, Deserialize)]
struct Attr {
    group: String,
    name: String,
    value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Part {
    sku: String,
    kind: String,
    #[serde(default = "one")]
    qty: i64,
}

fn one() -> i64 {
    1
}

#[derive(Serialize, Deserialize)]
struct Stock {
    loc: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    loc_name: Option<String>,
    qty: i64,
    min: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct PriceJson {
    list: i64,
    value: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires: Option<i64>,
}

#[derive(Serialize, Deserialize, Default)]
struct CategoryJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ext: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    desc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    slug: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kw: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    img: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parent: Option<Box<CategoryJson>>,
}

#[derive(Serialize, Deserialize, Default)]
struct PartyJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ext: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    img: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct BrandJson {
    info: PartyJson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    maker: Option<PartyJson>,
}

#[derive(Serialize, Deserialize)]
struct Draft {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    body: Body,
    #[serde(default)]
    stock: Vec<Stock>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    price: Option<PriceJson>,
    #[serde(default)]
    cats: Vec<CategoryJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    brand: Option<BrandJson>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    colls: Vec<PartyJson>,
}

impl From<&ProductFields> for Body {
    fn from(f: &ProductFields) -> Body {
        let i = &f.info;
        Body {
            ext: f.external_id.clone(),
            info: Info {
                name: i.name.clone(),
                sub: i.subtitle.clone(),
                active: i.active,
                published: i.published,
                archived: i.archived,
                model: i.model.clone(),
                flag: i.item_flag.clone(),
                warranty: i.warranty.clone(),
            },
            dim: f.dimensions.map(|d| Dim {
                h: d.height,
                w: d.width,
                l: d.length,
                g: d.weight_grams,
            }),
            freight: f.freight.as_ref().map(|x| FreightJson {
                free: x.free,
                fixed: x.fixed.map(|c| c.0),
                add: x.additional.map(|c| c.0),
                days: x.deadline_days,
                range: x
                    .free_range
                    .as_ref()
                    .map(|r| (r.start.clone(), r.end.clone())),
            }),
            desc: f
                .descriptions
                .iter()
                .map(|d| (d.title.clone(), d.text.clone()))
                .collect(),
            img: f.images.clone(),
            docs: f
                .documents
                .iter()
                .map(|d| (d.title.clone(), d.src.clone()))
                .collect(),
            seo: SeoJson {
                url: f.seo.url.clone(),
                title: f.seo.title.clone(),
                meta: f.seo.meta_description.clone(),
            },
            gtins: GtinsJson {
                mpn: f.gtins.mpn.clone(),
                ean: f.gtins.ean.as_ref().map(|g| g.as_str().to_string()),
                jan: f.gtins.jan.as_ref().map(|g| g.as_str().to_string()),
                isbn: f.gtins.isbn.clone(),
            },
            attrs: f
                .attribute_groups
                .iter()
                .map(|a| Attr {
                    group: a.name.clone(),
                    name: a.attribute_name.clone(),
                    value: a.attribute_value.clone(),
                    kind: a.attribute_type.clone(),
                })
                .collect(),
            related: f.related.iter().map(Part::from).collect(),
            parts: f.parts.iter().map(Part::from).collect(),
        }
    }
}

impl From<Body> for ProductFields {
    fn from(b: Body) -> ProductFields {
        ProductFields {
            external_id: b.ext,
            info: ProductInfo {
                name: b.info.name,
                subtitle: b.info.sub,
                active: b.info.active,
                published: b.info.published,
                archived: b.info.archived,
                model: b.info.model,
                item_flag: b.info.flag,
                warranty: b.info.warranty,
            },
            stock: Vec::new(),
            price: None,
            dimensions: b.dim.map(|d| Dimensions {
                height: d.h,
                width: d.w,
                length: d.l,
                weight_grams: d.g,
            }),
            freight: b.freight.map(|x| Freight {
                free: x.free,
                fixed: x.fixed.map(Cents),
                additional: x.add.map(Cents),
                deadline_days: x.days,
                free_range: x.range.map(|(start, end)| CepRange { start, end }),
            }),
            descriptions: b
                .desc
                .into_iter()
                .map(|(title, text)| Description { title, text })
                .collect(),
            images: b.img,
            documents: b
                .docs
                .into_iter()
                .map(|(title, src)| ProductDocument { title, src })
                .collect(),
            seo: Seo {
                url: b.seo.url,
                title: b.seo.title,
                meta_description: b.seo.meta,
            },
            gtins: Gtins {
                mpn: b.gtins.mpn,
                // Stored only after validation; a stored one that no longer parses
                // (it cannot) would be dropped rather than fail the read.
                ean: b.gtins.ean.and_then(|g| Gtin::parse(&g).ok()),
                jan: b.gtins.jan.and_then(|g| Gtin::parse(&g).ok()),
                isbn: b.gtins.isbn,
            },
            attribute_groups: b
                .attrs
                .into_iter()
                .map(|a| AttributeGroup {
                    name: a.group,
                    attribute_name: a.name,
                    attribute_value: a.value,
                    attribute_type: a.kind,
                })
                .collect(),
            related: b.related.into_iter().map(ProductPart::from).collect(),
            parts: b.parts.into_iter().map(ProductPart::from).collect(),
        }
    }
}

impl From<&ProductPart> for Part {
    fn from(p: &ProductPart) -> Part {
        Part {
            sku: p.sku.clone(),
            kind: p.kind.as_str().to_string(),
            qty: p.quantity,
        }
    }
}

impl From<Part> for ProductPart {
    fn from(p: Part) -> ProductPart {
        ProductPart {
            sku: p.sku,
            kind: ProductKind::parse(&p.kind).unwrap_or(ProductKind::Simple),
            quantity: p.qty,
        }
    }
}

impl From<&StockLevel> for Stock {
    fn from(s: &StockLevel) -> Stock {
        Stock {
            loc: s.location.id,
            loc_name: s.location.name.clone(),
            qty: s.quantity,
            min: s.minimum,
            status: s.status.map(StockStatus::code),
        }
    }
}

impl From<Stock> for StockLevel {
    fn from(s: Stock) -> StockLevel {
        StockLevel {
            location: Location {
                id: s.loc,
                name: s.loc_name,
            },
            quantity: s.qty,
            minimum: s.min,
            status: s.status.and_then(|c| StockStatus::from_code(c).ok()),
        }
    }
}

impl From<&CategoryRef> for CategoryJson {
    fn from(c: &CategoryRef) -> CategoryJson {
        CategoryJson {
            id: c.id,
            ext: c.external_id.clone(),
            name: c.name.clone(),
            desc: c.description.clone(),
            slug: c.slug.clone(),
            kw: c.keywords.clone(),
            img: c.image_source.clone(),
            parent: c.parent.as_deref().map(|p| Box::new(CategoryJson::from(p))),
        }
    }
}

impl From<CategoryJson> for CategoryRef {
    fn from(c: CategoryJson) -> CategoryRef {
        CategoryRef {
            id: c.id,
            external_id: c.ext,
            name: c.name,
            description: c.desc,
            slug: c.slug,
            keywords: c.kw,
            image_source: c.img,
            parent: c.parent.map(|p| Box::new(CategoryRef::from(*p))),
        }
    }
}

impl From<&PartyRef> for PartyJson {
    fn from(p: &PartyRef) -> PartyJson {
        PartyJson {
            id: p.id,
            ext: p.external_id.clone(),
            name: p.name.clone(),
            img: p.image_source.clone(),
        }
    }
}

impl From<PartyJson> for PartyRef {
    fn from(p: PartyJson) -> PartyRef {
        PartyRef {
            id: p.id,
            external_id: p.ext,
            name: p.name,
            image_source: p.img,
        }
    }
}

impl From<&ProductDraft> for Draft {
    fn from(d: &ProductDraft) -> Draft {
        Draft {
            id: d.id,
            sku: d.sku.clone(),
            kind: d.kind.map(|k| k.as_str().to_string()),
            body: Body::from(&d.fields),
            stock: d.fields.stock.iter().map(Stock::from).collect(),
            price: d.fields.price.map(|p| PriceJson {
                list: p.list.0,
                value: p.value.0,
                expires: p.expires_at.map(|t| t.0),
            }),
            cats: d.categories.iter().map(CategoryJson::from).collect(),
            brand: d.brand.as_ref().map(|b| BrandJson {
                info: PartyJson::from(&b.info),
                maker: b.manufacturer.as_ref().map(PartyJson::from),
            }),
            colls: d.collections.iter().map(PartyJson::from).collect(),
        }
    }
}

impl From<Draft> for ProductDraft {
    fn from(d: Draft) -> ProductDraft {
        let mut fields = ProductFields::from(d.body);
        fields.stock = d.stock.into_iter().map(StockLevel::from).collect();
        fields.price = d.price.map(|p| Price {
            list: Cents(p.list),
            value: Cents(p.value),
            expires_at: p.expires.map(Timestamp),
        });
        ProductDraft {
            id: d.id,
            sku: d.sku,
            kind: d.kind.and_then(|k| ProductKind::parse(&k).ok()),
            fields,
            categories: d.cats.into_iter().map(CategoryRef::from).collect(),
            brand: d.brand.map(|b| BrandRef {
                info: PartyRef::from(b.info),
                manufacturer: b.maker.map(PartyRef::from),
            }),
            collections: d.colls.into_iter().map(PartyRef::from).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::full_product_draft;

    #[test]
    fn a_draft_reads_back_as_written() {
        let d = full_product_draft("SKU-1");
        assert_eq!(decode_draft(&encode_draft(&d)).unwrap(), d);
    }

    #[test]
    fn a_body_keeps_everything_but_stock_and_price() {
        let d = full_product_draft("SKU-1");
        let mut expected = d.fields.clone();
        expected.stock.clear();
        expected.price = None;
        assert_eq!(decode_body(&encode_body(&d.fields)).unwrap(), expected);
    }
}
