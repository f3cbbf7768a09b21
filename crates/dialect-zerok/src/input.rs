//! 00K's catalog request bodies, field for field as the document spells them, and their
//! conversion into the domain's drafts, patches and stock and price values.
//!
//! Parsing decides no business rule: it reads each value (in the liberal spellings of
//! [`crate::wire`]), keeps what the document says is kept (only the first `price`
//! item; stock per `location.id`, 0 when none is given) and leaves every rule on the
//! values (required fields, lengths, GTIN and ISBN checks, quantities) to the domain,
//! which the use cases run. The few refusals made here are about the wire itself: a
//! value of the wrong JSON type, a word outside the document's vocabulary, a GTIN that
//! does not parse as one. Every refusal is a [`FieldError`] naming its field as the
//! client wrote it (`stock[0].info.quantity`, `gtins.ean`).

use entreposto_domain::{
    AttributeGroup, BrandRef, CategoryRef, CepRange, Description, Dimensions, FieldError, Freight,
    Gtin, Gtins, InfoPatch, Location, PartyRef, Price, ProductDocument, ProductDraft,
    ProductFields, ProductInfo, ProductKind, ProductPart, ProductPatch, Seo, StockLevel,
};
use entreposto_http::body::{parse_json, Amount};
use serde::Deserialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::wire::{Active, Flag, Id, Int, Kind, Published, StockCode, Text, When};

/// One product of an import (`POST /catalog/import`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductIn {
    /// The hub's id of an existing product, to replace it (else `sku` names it).
    pub id: Option<Id>,
    /// Required unless `id` is given; a product already of this SKU is replaced.
    pub sku: Option<Text>,
    /// The id in the seller's own system; another way to name the product later.
    pub external_id: Option<Text>,
    #[serde(rename = "type")]
    pub kind: Option<Kind>,
    pub info: Option<InfoIn>,
    /// Stock per location (`location.id`, 0 when left out). Kits and groups keep
    /// none of their own: theirs follows from their simple products.
    pub stock: Option<Vec<StockIn>>,
    /// Only the first item is kept, as the document says.
    pub price: Option<Vec<PriceIn>>,
    pub dimensions: Option<DimensionsIn>,
    pub freight: Option<FreightIn>,
    /// Categories to link (by `id` or `externalId`) or create.
    pub categories: Option<Vec<CategoryIn>>,
    pub images: Option<Vec<ImageIn>>,
    /// The brand and its manufacturer, linked (by `id` or `externalId`) or created.
    pub brand: Option<BrandIn>,
    pub descriptions: Option<Vec<DescriptionIn>>,
    /// Documents attached to the product (as the listing shows them).
    pub documents: Option<Vec<DocumentIn>>,
    pub gtins: Option<GtinsIn>,
    pub seo: Option<SeoIn>,
    pub attribute_groups: Option<Vec<AttributeGroupIn>>,
    pub related: Option<Vec<PartIn>>,
    /// A kit's components or a group's variations: simple products by SKU, with the
    /// units a kit takes (`quantity`, 1 when left out).
    pub simple: Option<Vec<PartIn>>,
    /// An extension: collections to link (by `id`, `externalId` or name) or create,
    /// for the listing's `collection_id` and `collection_name` filters.
    pub collections: Option<Vec<PartyIn>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InfoIn {
    pub name: Option<String>,
    /// At most 140 characters.
    pub subtitle: Option<String>,
    pub status: Option<Active>,
    pub published: Option<Published>,
    pub archived: Option<Flag>,
    pub model: Option<String>,
    pub item_flag: Option<String>,
    pub warranty: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct StockIn {
    pub info: Option<StockInfoIn>,
    pub location: Option<LocationIn>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct StockInfoIn {
    /// Units available; may be left out when `status` is given.
    pub quantity: Option<Int>,
    /// Units to keep; 0 when left out.
    pub minimum: Option<Int>,
    pub status: Option<StockCode>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct LocationIn {
    /// The warehouse; 0 (the default location) when left out.
    pub id: Option<Int>,
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceIn {
    /// The list price; the sale value when left out.
    pub list: Option<Amount>,
    /// The sale price.
    pub value: Option<Amount>,
    pub expire_date: Option<When>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct DimensionsIn {
    pub height: Option<f64>,
    pub width: Option<f64>,
    pub length: Option<f64>,
    /// Grams.
    pub weight: Option<Int>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FreightIn {
    pub free: Option<Flag>,
    pub fixed: Option<Amount>,
    pub additional: Option<Amount>,
    /// Calendar days.
    pub deadline: Option<Int>,
    pub free_range: Option<FreeRangeIn>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct FreeRangeIn {
    /// A CEP, 8 digits.
    pub start: Option<Text>,
    pub end: Option<Text>,
}

/// A category: an existing one by `id` or `externalId` (the rest is then ignored), or
/// one to create, under `parent` (itself linked or created the same way).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryIn {
    pub id: Option<Id>,
    pub external_id: Option<Text>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub slug: Option<String>,
    pub meta_keywords: Option<String>,
    pub image_source: Option<String>,
    #[schema(no_recursion)]
    pub parent: Option<Box<CategoryIn>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ImageIn {
    /// The image's URL.
    pub source: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct BrandIn {
    pub info: Option<PartyIn>,
    pub manufacturer: Option<PartyIn>,
}

/// A brand, manufacturer or collection: linked by `id` or `externalId` (or, failing
/// both, its exact name), created from `name` otherwise.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartyIn {
    pub id: Option<Id>,
    pub external_id: Option<Text>,
    pub name: Option<String>,
    pub image_source: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct DescriptionIn {
    pub title: Option<String>,
    /// May hold HTML.
    pub text: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct DocumentIn {
    pub title: Option<String>,
    /// The document's URL.
    pub src: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct GtinsIn {
    pub mpn: Option<Text>,
    /// A GTIN (8, 12, 13 or 14 digits) whose check digit is right; empty is none.
    pub ean: Option<Text>,
    pub jan: Option<Text>,
    /// An ISBN-10 or ISBN-13.
    pub isbn: Option<Text>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeoIn {
    pub url: Option<String>,
    pub title: Option<String>,
    pub meta_description: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AttributeGroupIn {
    /// The group's name (`Tamanho`).
    pub name: Option<String>,
    pub attribute: Option<AttributeIn>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AttributeIn {
    pub name: Option<String>,
    pub value: Option<Text>,
    /// What the attribute measures (`width`).
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// Another product by SKU.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PartIn {
    pub sku: Option<Text>,
    /// `simple` when left out.
    #[serde(rename = "type")]
    pub kind: Option<Kind>,
    /// Units of the part in a kit; 1 when left out.
    pub quantity: Option<Int>,
}

/// What `POST /catalog/import` takes: one product, or an array of them.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum ImportBody {
    One(Box<ProductIn>),
    Many(Vec<ProductIn>),
}

/// A partial update (`PUT /catalog/import/{campo}/{id}`): every part sent replaces the
/// stored one, every part left out is kept; `info` is merged field by field.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PatchIn {
    pub sku: Option<Text>,
    pub external_id: Option<Text>,
    pub info: Option<InfoIn>,
    pub stock: Option<Vec<StockIn>>,
    /// Only the first item is kept.
    pub price: Option<Vec<PriceIn>>,
    pub dimensions: Option<DimensionsIn>,
    pub freight: Option<FreightIn>,
    /// Categories by id, replacing the product's: one id or an array of them. They
    /// must exist.
    pub categories_id: Option<IdList>,
    /// Categories as in an import (they must exist: linked by `id` or `externalId`).
    pub categories: Option<Vec<CategoryIn>>,
    /// The brand by id; it must exist.
    pub brand_id: Option<Id>,
    pub brand: Option<BrandIn>,
    pub images: Option<Vec<ImageIn>>,
    pub descriptions: Option<Vec<DescriptionIn>>,
    pub documents: Option<Vec<DocumentIn>>,
    pub gtins: Option<GtinsIn>,
    pub seo: Option<SeoIn>,
    pub attribute_groups: Option<Vec<AttributeGroupIn>>,
    pub related: Option<Vec<PartIn>>,
    pub simple: Option<Vec<PartIn>>,
    pub collections: Option<Vec<PartyIn>>,
}

/// One id or an array of ids (`"categoriesId": 15` or `[15, 16]`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IdList(pub Vec<i64>);

impl<'de> Deserialize<'de> for IdList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<IdList, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(Id),
            Many(Vec<Id>),
        }
        match OneOrMany::deserialize(d)
            .map_err(|_| serde::de::Error::custom("expected an id or an array of ids"))?
        {
            OneOrMany::One(Id(id)) => Ok(IdList(vec![id])),
            OneOrMany::Many(ids) => Ok(IdList(ids.into_iter().map(|i| i.0).collect())),
        }
    }
}

impl utoipa::PartialSchema for IdList {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::OneOfBuilder::new()
            .item(Id::schema())
            .item(
                utoipa::openapi::schema::ArrayBuilder::new()
                    .items(Id::schema())
                    .build(),
            )
            .description(Some("One id or an array of ids"))
            .into()
    }
}

impl ToSchema for IdList {}

/// `PUT /catalog/products/stock/{campo}/{id}`: one stock entry.
pub type StockOne = StockIn;

/// One item of `PUT /catalog/products/stock`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StockItemIn {
    pub id: Option<Id>,
    pub sku: Option<Text>,
    pub external_id: Option<Text>,
    pub stock: Option<Vec<StockIn>>,
}

/// One item of `PUT /catalog/products/price`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceItemIn {
    pub id: Option<Id>,
    pub sku: Option<Text>,
    pub external_id: Option<Text>,
    /// Only the first item is kept.
    pub price: Option<Vec<PriceIn>>,
}

/// The keys of a batch item, read alone when the rest of the item does not parse, so
/// the answer can still say which product the item named.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchKeys {
    pub id: Option<Id>,
    pub sku: Option<Text>,
    pub external_id: Option<Text>,
}

fn text(v: Option<Text>) -> Option<String> {
    v.map(|t| t.0)
}

fn list<T>(v: Option<Vec<T>>) -> Vec<T> {
    v.unwrap_or_default()
}

/// A required value that was left out.
fn required(field: &str) -> FieldError {
    FieldError::new(field, "is required")
}

/// Each item of a list converted, its errors named under `field[n]`.
fn each<T, U>(
    field: &str,
    items: Vec<T>,
    f: impl Fn(T, &str) -> Result<U, FieldError>,
) -> Result<Vec<U>, FieldError> {
    items
        .into_iter()
        .enumerate()
        .map(|(n, item)| f(item, &format!("{field}[{n}]")))
        .collect()
}

impl StockIn {
    /// The stock level (errors named from the entry: `info.quantity`).
    pub fn level(self) -> Result<StockLevel, FieldError> {
        let info = self.info.ok_or_else(|| required("info"))?;
        let status = info.status.map(|s| s.0);
        // With a status the quantities are ignored (the document), so they may be left out.
        let quantity = match (info.quantity, status) {
            (Some(q), _) => q.0,
            (None, Some(_)) => 0,
            (None, None) => return Err(required("info.quantity")),
        };
        let location = self.location.unwrap_or_default();
        Ok(StockLevel {
            location: Location {
                id: location.id.map_or(Location::DEFAULT_ID, |i| i.0),
                name: location.name,
            },
            quantity,
            minimum: info.minimum.map_or(0, |m| m.0),
            status,
        })
    }
}

/// The stock levels of a `stock` list, errors named `stock[n]...`.
pub fn levels(items: Vec<StockIn>) -> Result<Vec<StockLevel>, FieldError> {
    each("stock", items, |s, at| s.level().map_err(|e| e.under(at)))
}

impl PriceIn {
    fn price(self) -> Result<Price, FieldError> {
        let value = self.value.ok_or_else(|| required("value"))?;
        Ok(Price {
            list: self.list.unwrap_or(value).0,
            value: value.0,
            expires_at: self.expire_date.map(|w| w.0),
        })
    }
}

/// The price a list carries: its first item (the document keeps only that one).
pub fn first_price(items: Vec<PriceIn>) -> Result<Option<Price>, FieldError> {
    items
        .into_iter()
        .next()
        .map(|p| p.price().map_err(|e| e.under("price[0]")))
        .transpose()
}

impl DimensionsIn {
    fn dimensions(self) -> Result<Dimensions, FieldError> {
        let n =
            |v: Option<f64>, name: &str| v.ok_or_else(|| required(&format!("dimensions.{name}")));
        Ok(Dimensions {
            height: n(self.height, "height")?,
            width: n(self.width, "width")?,
            length: n(self.length, "length")?,
            weight_grams: self.weight.ok_or_else(|| required("dimensions.weight"))?.0,
        })
    }
}

impl FreightIn {
    fn freight(self) -> Result<Freight, FieldError> {
        let free_range = match self.free_range {
            Some(r) => Some(CepRange {
                start: text(r.start).ok_or_else(|| required("freight.freeRange.start"))?,
                end: text(r.end).ok_or_else(|| required("freight.freeRange.end"))?,
            }),
            None => None,
        };
        Ok(Freight {
            free: self.free.is_some_and(|f| f.0),
            fixed: self.fixed.map(|a| a.0),
            additional: self.additional.map(|a| a.0),
            deadline_days: self.deadline.map(|d| d.0),
            free_range,
        })
    }
}

impl CategoryIn {
    pub fn reference(self) -> CategoryRef {
        CategoryRef {
            id: self.id.map(|i| i.0),
            external_id: text(self.external_id),
            name: self.name,
            description: self.description,
            slug: self.slug,
            keywords: self.meta_keywords,
            image_source: self.image_source,
            parent: self.parent.map(|p| Box::new(p.reference())),
        }
    }
}

impl PartyIn {
    pub fn reference(self) -> PartyRef {
        PartyRef {
            id: self.id.map(|i| i.0),
            external_id: text(self.external_id),
            name: self.name,
            image_source: self.image_source,
        }
    }
}

impl BrandIn {
    /// The brand reference; `info` is required (the manufacturer is not).
    pub fn reference(self, at: &str) -> Result<BrandRef, FieldError> {
        let info = self.info.ok_or_else(|| required(&format!("{at}info")))?;
        Ok(BrandRef {
            info: info.reference(),
            manufacturer: self.manufacturer.map(PartyIn::reference),
        })
    }
}

impl GtinsIn {
    fn gtins(self) -> Result<Gtins, FieldError> {
        // Clients send "" for an identifier they do not have.
        let given = |v: Option<Text>| text(v).filter(|s| !s.trim().is_empty());
        let gtin = |v: Option<Text>, field: &str| {
            given(v)
                .map(|s| Gtin::parse(&s).map_err(|e| e.under(field)))
                .transpose()
        };
        Ok(Gtins {
            ean: gtin(self.ean, "gtins.ean")?,
            jan: gtin(self.jan, "gtins.jan")?,
            mpn: given(self.mpn),
            isbn: given(self.isbn),
        })
    }
}

impl SeoIn {
    fn seo(self) -> Seo {
        Seo {
            url: self.url,
            title: self.title,
            meta_description: self.meta_description,
        }
    }
}

fn part(p: PartIn, at: &str) -> Result<ProductPart, FieldError> {
    Ok(ProductPart {
        sku: text(p.sku).ok_or_else(|| required(&format!("{at}.sku")))?,
        kind: p.kind.map_or(ProductKind::Simple, |k| k.0),
        quantity: p.quantity.map_or(1, |q| q.0),
    })
}

fn attribute_group(a: AttributeGroupIn, at: &str) -> Result<AttributeGroup, FieldError> {
    let attr = a
        .attribute
        .ok_or_else(|| required(&format!("{at}.attribute")))?;
    Ok(AttributeGroup {
        name: a.name.unwrap_or_default(),
        attribute_name: attr.name.unwrap_or_default(),
        attribute_value: text(attr.value).unwrap_or_default(),
        attribute_type: attr.kind,
    })
}

fn description(d: DescriptionIn) -> Description {
    Description {
        title: d.title.unwrap_or_default(),
        text: d.text.unwrap_or_default(),
    }
}

fn document(d: DocumentIn) -> ProductDocument {
    ProductDocument {
        title: d.title.unwrap_or_default(),
        src: d.src.unwrap_or_default(),
    }
}

fn image(i: ImageIn, at: &str) -> Result<String, FieldError> {
    i.source.ok_or_else(|| required(&format!("{at}.source")))
}

impl ProductIn {
    /// The draft the import's use case decides on. Rules on the values (what is
    /// required, lengths, quantities) are the domain's, checked by the use case.
    pub fn draft(self) -> Result<ProductDraft, FieldError> {
        let info = self.info.unwrap_or_default();
        let fields = ProductFields {
            external_id: text(self.external_id),
            info: ProductInfo {
                name: info.name.unwrap_or_default(),
                subtitle: info.subtitle.unwrap_or_default(),
                active: info.status.ok_or_else(|| required("info.status"))?.0,
                published: info.published.is_some_and(|p| p.0),
                archived: info.archived.is_some_and(|a| a.0),
                model: info.model.unwrap_or_default(),
                item_flag: info.item_flag,
                warranty: info.warranty,
            },
            stock: levels(list(self.stock))?,
            price: first_price(list(self.price))?,
            dimensions: self.dimensions.map(DimensionsIn::dimensions).transpose()?,
            freight: self.freight.map(FreightIn::freight).transpose()?,
            descriptions: list(self.descriptions)
                .into_iter()
                .map(description)
                .collect(),
            images: each("images", list(self.images), image)?,
            documents: list(self.documents).into_iter().map(document).collect(),
            seo: self.seo.map(SeoIn::seo).unwrap_or_default(),
            gtins: self
                .gtins
                .map(GtinsIn::gtins)
                .transpose()?
                .unwrap_or_default(),
            attribute_groups: each(
                "attributeGroups",
                list(self.attribute_groups),
                attribute_group,
            )?,
            related: each("related", list(self.related), part)?,
            parts: each("simple", list(self.simple), part)?,
        };
        Ok(ProductDraft {
            id: self.id.map(|i| i.0),
            sku: text(self.sku),
            kind: self.kind.map(|k| k.0),
            fields,
            categories: list(self.categories)
                .into_iter()
                .map(CategoryIn::reference)
                .collect(),
            brand: self.brand.map(|b| b.reference("brand.")).transpose()?,
            collections: list(self.collections)
                .into_iter()
                .map(PartyIn::reference)
                .collect(),
        })
    }
}

impl PatchIn {
    pub fn patch(self) -> Result<ProductPatch, FieldError> {
        let info = self.info.unwrap_or_default();
        let mut categories: Option<Vec<CategoryRef>> = self.categories_id.map(|ids| {
            ids.0
                .into_iter()
                .map(|id| CategoryRef {
                    id: Some(id),
                    ..Default::default()
                })
                .collect()
        });
        if let Some(more) = self.categories {
            categories
                .get_or_insert_with(Vec::new)
                .extend(more.into_iter().map(CategoryIn::reference));
        }
        let brand = match (self.brand_id, self.brand) {
            (Some(Id(id)), _) => Some(BrandRef {
                info: PartyRef {
                    id: Some(id),
                    ..Default::default()
                },
                manufacturer: None,
            }),
            (None, Some(b)) => Some(b.reference("brand.")?),
            (None, None) => None,
        };
        Ok(ProductPatch {
            sku: text(self.sku),
            external_id: text(self.external_id),
            info: InfoPatch {
                name: info.name,
                subtitle: info.subtitle,
                active: info.status.map(|s| s.0),
                published: info.published.map(|p| p.0),
                archived: info.archived.map(|a| a.0),
                model: info.model,
                item_flag: info.item_flag,
                warranty: info.warranty,
            },
            stock: self.stock.map(levels).transpose()?,
            price: match self.price {
                Some(p) => first_price(p)?,
                None => None,
            },
            dimensions: self.dimensions.map(DimensionsIn::dimensions).transpose()?,
            freight: self.freight.map(FreightIn::freight).transpose()?,
            descriptions: self
                .descriptions
                .map(|d| d.into_iter().map(description).collect()),
            images: self.images.map(|i| each("images", i, image)).transpose()?,
            documents: self
                .documents
                .map(|d| d.into_iter().map(document).collect()),
            seo: self.seo.map(SeoIn::seo),
            gtins: self.gtins.map(GtinsIn::gtins).transpose()?,
            attribute_groups: self
                .attribute_groups
                .map(|a| each("attributeGroups", a, attribute_group))
                .transpose()?,
            related: self.related.map(|r| each("related", r, part)).transpose()?,
            parts: self.simple.map(|s| each("simple", s, part)).transpose()?,
            categories,
            brand,
            collections: self
                .collections
                .map(|c| c.into_iter().map(PartyIn::reference).collect()),
        })
    }
}

/// The items of a body that is one object or an array of them, each left as its text
/// to be parsed on its own (so one item's mistake is that item's).
pub fn items(bytes: &[u8]) -> Result<Vec<Box<RawValue>>, FieldError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => parse_json::<Vec<Box<RawValue>>>(bytes).map_err(field_error),
        Some(b'{') => parse_json::<Box<RawValue>>(bytes)
            .map(|one| vec![one])
            .map_err(field_error),
        None => Err(FieldError::new("body", "a JSON body is required")),
        Some(_) => Err(FieldError::new(
            "body",
            "expected a JSON object or an array of objects",
        )),
    }
}

/// An item of a body, parsed as `T` (it must be a JSON object).
pub fn item<T: serde::de::DeserializeOwned>(raw: &RawValue) -> Result<T, FieldError> {
    if !raw.get().starts_with('{') {
        return Err(FieldError::new("", "expected a JSON object"));
    }
    parse_json(raw.get().as_bytes()).map_err(|e| match field_error(e) {
        // `parse_json` names the whole text `body`; here it is the item.
        f if f.field == "body" => FieldError::new("", f.message),
        f => f,
    })
}

/// The SKU an item was sent with, read loosely (for naming an item that does not parse).
pub fn sku_of(raw: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct Sku {
        sku: Option<Text>,
    }
    serde_json::from_str::<Sku>(raw.get())
        .ok()
        .and_then(|s| text(s.sku))
}

/// The field error inside an [`entreposto_http::ApiError`] from `parse_json`.
fn field_error(e: entreposto_http::ApiError) -> FieldError {
    match e {
        entreposto_http::ApiError::Invalid(f) => f,
        other => FieldError::new("body", other.message()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entreposto_domain::{Cents, StockStatus};

    /// The document's import example, its JavaScript-style quotes fixed.
    pub(crate) const EXAMPLE: &str = r#"{
        "id": 215, "sku": "99jjs8", "externalId": 12345, "type": "simple",
        "info": {"name": "Produto Teste - Favor não ofertar", "subtitle": "Produto Teste - Não oferte",
                 "status": 1, "published": 0, "model": "3KFD9KK48DFK", "itemFlag": "Flag produto"},
        "stock": [{"info": {"quantity": 15, "minimum": 15}, "location": {"id": 2, "name": "Locality name"}}],
        "price": [{"list": 500, "value": 499.99, "expireDate": "2015-06-02T20:33:02:0000Z"}],
        "dimensions": {"height": 45, "width": 35, "length": 25, "weight": 500},
        "freight": {"free": 1, "fixed": 15.00, "additional": 45, "deadline": 25,
                    "freeRange": {"start": "04688010", "end": "05872130"}},
        "categories": [{"id": 15, "name": "Product X Category", "description": "Category Description",
                        "slug": "product-x-category", "metaKeywords": "meta, descriptions, whatever", "externalId": "450"}],
        "images": [{"source": "http://www.brightlinkprep.com/wp-content/uploads/2014/04/sample.jpg"}],
        "brand": {"info": {"id": 15, "name": "Brand Name", "externalId": "15"},
                  "manufacturer": {"id": 15, "name": "Manufacturer Name", "externalId": "15"}},
        "descriptions": [{"title": "Description Title", "text": "Description Text"}],
        "gtins": {"mpn": "089776987887", "ean": "7891000315507", "jan": "", "isbn": "978-85-359-0277-8"},
        "seo": {"url": "produto-teste-favor-nao-ofertar", "title": "title, separated by comma",
                "metaDescription": "meta description, separated by comma"}
    }"#;

    fn draft(json: &str) -> Result<ProductDraft, FieldError> {
        item::<ProductIn>(&RawValue::from_string(json.to_string()).unwrap())?.draft()
    }

    #[test]
    fn the_documents_example_reads_whole() {
        let d = draft(EXAMPLE).unwrap();
        assert_eq!(d.id, Some(215));
        assert_eq!(d.sku.as_deref(), Some("99jjs8"));
        assert_eq!(d.kind, Some(ProductKind::Simple));
        let f = &d.fields;
        assert_eq!(f.external_id.as_deref(), Some("12345"));
        assert!(f.info.active && !f.info.published);
        assert_eq!(f.stock[0].location.id, 2);
        assert_eq!((f.stock[0].quantity, f.stock[0].minimum), (15, 15));
        let p = f.price.unwrap();
        assert_eq!((p.list, p.value), (Cents(50000), Cents(49999)));
        assert_eq!(
            p.expires_at.unwrap().to_rfc3339_utc(),
            "2015-06-02T20:33:02.000Z"
        );
        assert_eq!(f.dimensions.unwrap().weight_grams, 500);
        let fr = f.freight.as_ref().unwrap();
        assert!(fr.free);
        assert_eq!(fr.fixed, Some(Cents(1500)));
        assert_eq!(fr.free_range.as_ref().unwrap().start, "04688010");
        assert_eq!(d.categories[0].id, Some(15));
        assert_eq!(
            d.categories[0].keywords.as_deref(),
            Some("meta, descriptions, whatever")
        );
        assert_eq!(
            d.brand.as_ref().unwrap().info.external_id.as_deref(),
            Some("15")
        );
        assert_eq!(f.gtins.ean.as_ref().unwrap().as_str(), "7891000315507");
        assert!(f.gtins.jan.is_none(), "an empty GTIN is none");
        assert_eq!(f.images.len(), 1);
        d.validate().unwrap();
    }

    #[test]
    fn each_wire_mistake_names_its_field() {
        let with = |path: &[&str], v: serde_json::Value| {
            let mut doc: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
            let mut at = &mut doc;
            for p in &path[..path.len() - 1] {
                at = match p.parse::<usize>() {
                    Ok(i) => &mut at[i],
                    Err(_) => &mut at[*p],
                };
            }
            at[path[path.len() - 1]] = v;
            draft(&doc.to_string()).unwrap_err()
        };
        for (path, value, field) in [
            (
                &["price", "0", "value"][..],
                serde_json::json!("499.99"),
                "price[0].value",
            ),
            (
                &["price", "0", "value"][..],
                serde_json::json!(1.001),
                "price[0].value",
            ),
            (&["type"][..], serde_json::json!("bundle"), "type"),
            (
                &["info", "status"][..],
                serde_json::json!("sim"),
                "info.status",
            ),
            (
                &["info", "status"][..],
                serde_json::json!(null),
                "info.status",
            ),
            (
                &["info", "published"][..],
                serde_json::json!(3),
                "info.published",
            ),
            (&["externalId"][..], serde_json::json!(1.5), "externalId"),
            (
                &["externalId"][..],
                serde_json::json!({"a": 1}),
                "externalId",
            ),
            (
                &["gtins", "ean"][..],
                serde_json::json!("7891000315508"),
                "gtins.ean",
            ),
            (
                &["gtins", "jan"][..],
                serde_json::json!("12345"),
                "gtins.jan",
            ),
            (
                &["stock", "0", "info", "quantity"][..],
                serde_json::json!("15"),
                "stock[0].info.quantity",
            ),
            (
                &["stock", "0", "info", "quantity"][..],
                serde_json::json!(null),
                "stock[0].info.quantity",
            ),
            (
                &["stock", "0", "info", "status"][..],
                serde_json::json!(7),
                "stock[0].info.status",
            ),
            (
                &["dimensions", "weight"][..],
                serde_json::json!(null),
                "dimensions.weight",
            ),
            (
                &["price", "0", "expireDate"][..],
                serde_json::json!("amanhã"),
                "price[0].expireDate",
            ),
        ] {
            let e = with(path, value.clone());
            assert_eq!(e.field, field, "{path:?} = {value}: {e}");
        }
    }

    #[test]
    fn a_stock_status_makes_the_quantity_optional() {
        let s: StockIn = serde_json::from_str(r#"{"info": {"status": 1}}"#).unwrap();
        let l = s.level().unwrap();
        assert_eq!(l.status, Some(StockStatus::SellWithoutStock));
        assert_eq!(l.location.id, Location::DEFAULT_ID);
    }

    #[test]
    fn only_the_first_price_counts() {
        let p: Vec<PriceIn> =
            serde_json::from_str(r#"[{"value": 10}, {"list": 1, "value": 2}]"#).unwrap();
        assert_eq!(
            first_price(p).unwrap(),
            Some(Price {
                list: Cents(1000),
                value: Cents(1000),
                expires_at: None
            })
        );
    }

    #[test]
    fn bodies_are_one_object_or_an_array() {
        assert_eq!(items(b" {\"sku\":1} ").unwrap().len(), 1);
        assert_eq!(items(b"[{},{}]").unwrap().len(), 2);
        assert_eq!(items(b"[{}] x").unwrap_err().field, "body");
        assert_eq!(items(b"12").unwrap_err().field, "body");
        assert_eq!(items(b"").unwrap_err().field, "body");
        let many = items(b"[1, {\"sku\": 7}]").unwrap();
        assert!(item::<ProductIn>(&many[0]).is_err());
        assert_eq!(sku_of(&many[1]).as_deref(), Some("7"));
    }

    #[test]
    fn a_patch_takes_one_category_id_or_many() {
        let one: PatchIn = serde_json::from_str(r#"{"categoriesId": 15, "brandId": 3}"#).unwrap();
        let p = one.patch().unwrap();
        assert_eq!(p.categories.unwrap()[0].id, Some(15));
        assert_eq!(p.brand.unwrap().info.id, Some(3));
        let many: PatchIn = serde_json::from_str(r#"{"categoriesId": [1, "2"]}"#).unwrap();
        let ids: Vec<_> = many
            .patch()
            .unwrap()
            .categories
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, [Some(1), Some(2)]);
        assert!(serde_json::from_str::<PatchIn>(r#"{"categoriesId": "x"}"#).is_err());
        let none = PatchIn::default().patch().unwrap();
        assert_eq!(none, ProductPatch::default());
    }
}
