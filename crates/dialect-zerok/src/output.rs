//! 00K's catalog responses, in the shapes of the document's examples, and the
//! conversions from the domain.
//!
//! Dates are ISO 8601 in UTC with milliseconds (`2015-06-02T20:33:02.000Z`), money a
//! JSON number in reais (`499.99`), flags `1`/`0`. A product's `externalId` is written
//! as the document's example writes it: a number when it is one (digits, no leading
//! zero, within the integers a JSON client reads exactly), else the text. Values the
//! hub does not keep are written as the example shows them unset (`defaultView` 1,
//! `installments` 0), and `partner` is left out (the store is the key's own).

use entreposto_app::CatalogView;
use entreposto_domain::{
    Brand, Category, Collection, Manufacturer, Product, ProductKind, StockLevel, StockStatus,
};
use entreposto_http::body::Amount;
use entreposto_store::{ImportJob, RowError};
use serde::{Serialize, Serializer};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// A time as 00K writes it.
pub fn zerok_time(t: entreposto_domain::Timestamp) -> String {
    t.to_rfc3339_utc()
}

fn flag(b: bool) -> u8 {
    u8::from(b)
}

/// A product's external id as the document writes it (see the module note).
#[derive(Debug, Clone, Copy)]
pub struct ExternalId<'a>(pub &'a str);

/// Integers a JavaScript client reads exactly (2^53 - 1).
const SAFE_INTEGER: i64 = 9_007_199_254_740_991;

impl Serialize for ExternalId<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.parse::<i64>() {
            Ok(n) if n.to_string() == self.0 && n.abs() <= SAFE_INTEGER => s.serialize_i64(n),
            _ => s.serialize_str(self.0),
        }
    }
}

impl PartialSchema for ExternalId<'_> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Integer, Type::String]))
            .description(Some(
                "The seller's id of the product: a number when it is one (as the document's \
                 example writes it), else the text",
            ))
            .into()
    }
}

impl ToSchema for ExternalId<'_> {}

/// A page of products (`GET /catalog/products/{type}`), or the products of an import
/// (`GET /catalog/products/process/{processId}`, whose `next` is always null: it lists
/// them all).
#[derive(Serialize, ToSchema)]
pub struct ProductPage<'a> {
    /// Products matching the filters, all pages together. A name search counts at
    /// most 1,000: past that `total` is 1000 and `totalExact` false.
    pub total: u64,
    /// An extension, on listings: whether `total` is the exact count (false when a
    /// name search matched more than 1,000 products; `next` still pages through all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_exact: Option<bool>,
    pub items: Vec<ProductOut<'a>>,
    /// The next page's full URL (the same filters, `page` one more), or null on the last.
    pub next: Option<String>,
}

/// A product in the listing's shape.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductOut<'a> {
    pub id: i64,
    pub sku: &'a str,
    pub external_id: Option<ExternalId<'a>>,
    #[serde(rename = "type")]
    #[schema(value_type = crate::wire::Kind)]
    pub kind: &'static str,
    pub info: InfoOut<'a>,
    /// Per location; a kit's or group's is the one its simple products give it (a kit:
    /// as many as its scarcest component allows; a group: its variations' sum), at
    /// location 0, with `status` 1 when they all sell without stock.
    pub stock: Vec<StockOut<'a>>,
    /// The price, one item (empty for a group without one).
    pub price: Vec<PriceOut>,
    pub dimensions: Option<DimensionsOut>,
    pub freight: Option<FreightOut<'a>>,
    pub categories: Vec<CategoryLinkOut<'a>>,
    pub brand: Option<BrandOut<'a>>,
    pub descriptions: Vec<DescriptionOut<'a>>,
    pub documents: Vec<DocumentOut<'a>>,
    pub images: Vec<ImageOut<'a>>,
    pub seo: SeoOut<'a>,
    pub gtins: GtinsOut<'a>,
    pub attribute_groups: Vec<AttributeGroupOut<'a>>,
    pub related: Vec<PartOut<'a>>,
    /// The kits and groups this product is part of.
    pub kits: Vec<PartOut<'a>>,
    /// A kit's components or a group's variations, with the units a kit takes
    /// (`quantity` is an extension of the document's shape); empty for a simple.
    pub simple: Vec<SimpleOut<'a>>,
    /// An extension: the collections the product is in.
    pub collections: Vec<CollectionOut<'a>>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InfoOut<'a> {
    pub name: &'a str,
    pub subtitle: &'a str,
    /// 1 active, 0 inactive.
    pub status: u8,
    /// 1 published, 0 not.
    pub published: u8,
    /// 1 archived, 0 not.
    pub archived: u8,
    #[schema(format = DateTime)]
    pub updated_at: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub model: &'a str,
    /// Always 1: the hub keeps no view setting.
    pub default_view: u8,
    /// Always 0: the hub keeps no installment setting.
    pub installments: u8,
    pub warranty: Option<&'a str>,
    pub item_flag: Option<&'a str>,
}

#[derive(Serialize, ToSchema)]
pub struct StockOut<'a> {
    pub info: StockInfoOut,
    pub location: LocationOut<'a>,
}

#[derive(Serialize, ToSchema)]
pub struct StockInfoOut {
    pub quantity: i64,
    pub minimum: i64,
    /// Only when set: 0 no stock, 1 sells without stock, 2 pre-sale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct LocationOut<'a> {
    pub id: i64,
    pub name: Option<&'a str>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceOut {
    pub list: Amount,
    pub value: Amount,
    #[schema(format = DateTime)]
    pub expire_date: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DimensionsOut {
    pub height: f64,
    pub width: f64,
    pub length: f64,
    /// Grams.
    pub weight: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FreightOut<'a> {
    /// 1 free freight, 0 not.
    pub free: u8,
    pub fixed: Option<Amount>,
    pub additional: Option<Amount>,
    /// Calendar days.
    pub deadline: Option<i64>,
    pub free_range: Option<FreeRangeOut<'a>>,
}

#[derive(Serialize, ToSchema)]
pub struct FreeRangeOut<'a> {
    pub start: &'a str,
    pub end: &'a str,
}

/// A category as a product shows it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryLinkOut<'a> {
    pub id: i64,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub slug: &'a str,
    pub meta_keywords: Option<&'a str>,
    pub image_source: Option<&'a str>,
    pub external_id: Option<&'a str>,
}

#[derive(Serialize, ToSchema)]
pub struct BrandOut<'a> {
    pub info: PartyOut<'a>,
    pub manufacturer: Option<PartyOut<'a>>,
}

/// A brand or manufacturer as a product shows it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartyOut<'a> {
    pub id: i64,
    pub name: &'a str,
    pub image_source: Option<&'a str>,
    pub external_id: Option<&'a str>,
}

#[derive(Serialize, ToSchema)]
pub struct DescriptionOut<'a> {
    /// The description's position among the product's, from 1.
    pub id: usize,
    pub title: &'a str,
    pub text: &'a str,
}

#[derive(Serialize, ToSchema)]
pub struct DocumentOut<'a> {
    /// The document's position among the product's, from 1.
    pub id: usize,
    pub title: &'a str,
    pub src: &'a str,
}

#[derive(Serialize, ToSchema)]
pub struct ImageOut<'a> {
    pub source: &'a str,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeoOut<'a> {
    pub url: Option<&'a str>,
    pub title: Option<&'a str>,
    pub meta_description: Option<&'a str>,
}

#[derive(Serialize, ToSchema)]
pub struct GtinsOut<'a> {
    pub mpn: Option<&'a str>,
    pub ean: Option<&'a str>,
    pub jan: Option<&'a str>,
    pub isbn: Option<&'a str>,
}

#[derive(Serialize, ToSchema)]
pub struct AttributeGroupOut<'a> {
    pub name: &'a str,
    pub attribute: AttributeOut<'a>,
}

#[derive(Serialize, ToSchema)]
pub struct AttributeOut<'a> {
    pub name: &'a str,
    pub value: &'a str,
    #[serde(rename = "type")]
    pub kind: Option<&'a str>,
}

/// Another product, by SKU and type.
#[derive(Serialize, ToSchema)]
pub struct PartOut<'a> {
    pub sku: &'a str,
    #[serde(rename = "type")]
    #[schema(value_type = crate::wire::Kind)]
    pub kind: &'static str,
}

/// A part of a kit or group.
#[derive(Serialize, ToSchema)]
pub struct SimpleOut<'a> {
    pub sku: &'a str,
    #[serde(rename = "type")]
    #[schema(value_type = crate::wire::Kind)]
    pub kind: &'static str,
    /// Units of it in one kit (1 for a group's variation).
    pub quantity: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CollectionOut<'a> {
    pub id: i64,
    pub name: &'a str,
    pub external_id: Option<&'a str>,
}

fn party_of_brand(b: &Brand) -> PartyOut<'_> {
    PartyOut {
        id: b.id,
        name: &b.name,
        image_source: b.image_source.as_deref(),
        external_id: b.external_id.as_deref(),
    }
}

fn party_of_maker(m: &Manufacturer) -> PartyOut<'_> {
    PartyOut {
        id: m.id,
        name: &m.name,
        image_source: m.image_source.as_deref(),
        external_id: m.external_id.as_deref(),
    }
}

fn category_link(c: &Category) -> CategoryLinkOut<'_> {
    CategoryLinkOut {
        id: c.id,
        name: &c.name,
        description: c.description.as_deref(),
        slug: &c.slug,
        meta_keywords: c.keywords.as_deref(),
        image_source: c.image_source.as_deref(),
        external_id: c.external_id.as_deref(),
    }
}

fn collection(c: &Collection) -> CollectionOut<'_> {
    CollectionOut {
        id: c.id,
        name: &c.name,
        external_id: c.external_id.as_deref(),
    }
}

fn stock_level(l: &StockLevel) -> StockOut<'_> {
    StockOut {
        info: StockInfoOut {
            quantity: l.quantity,
            minimum: l.minimum,
            status: l.status.map(StockStatus::code),
        },
        location: LocationOut {
            id: l.location.id,
            name: l.location.name.as_deref(),
        },
    }
}

/// A kit's or group's stock, from its parts' (`None`: no limit).
fn derived_stock(sellable: Option<i64>) -> StockOut<'static> {
    StockOut {
        info: StockInfoOut {
            quantity: sellable.unwrap_or(0),
            minimum: 0,
            status: sellable
                .is_none()
                .then_some(StockStatus::SellWithoutStock.code()),
        },
        location: LocationOut {
            id: entreposto_domain::Location::DEFAULT_ID,
            name: None,
        },
    }
}

impl<'a> ProductOut<'a> {
    /// `p` in the listing's shape, with what `view` read for its page.
    pub fn of(p: &'a Product, view: &'a CatalogView) -> ProductOut<'a> {
        let d = &p.data;
        let f = &d.fields;
        let stock = match d.kind {
            ProductKind::Simple => f.stock.iter().map(stock_level).collect(),
            _ => vec![derived_stock(
                view.derived_stock.get(&p.id).copied().unwrap_or(Some(0)),
            )],
        };
        let brand = d.brand_id.and_then(|id| view.brand(id)).map(|b| BrandOut {
            info: party_of_brand(b),
            manufacturer: d
                .manufacturer_id
                .or(b.manufacturer_id)
                .and_then(|id| view.manufacturer(id))
                .map(party_of_maker),
        });
        ProductOut {
            id: p.id,
            sku: &d.sku,
            external_id: f.external_id.as_deref().map(ExternalId),
            kind: d.kind.as_str(),
            info: InfoOut {
                name: &f.info.name,
                subtitle: &f.info.subtitle,
                status: flag(f.info.active),
                published: flag(f.info.published),
                archived: flag(f.info.archived),
                updated_at: zerok_time(p.updated_at),
                created_at: zerok_time(p.created_at),
                model: &f.info.model,
                default_view: 1,
                installments: 0,
                warranty: f.info.warranty.as_deref(),
                item_flag: f.info.item_flag.as_deref(),
            },
            stock,
            price: f
                .price
                .iter()
                .map(|pr| PriceOut {
                    list: Amount(pr.list),
                    value: Amount(pr.value),
                    expire_date: pr.expires_at.map(zerok_time),
                })
                .collect(),
            dimensions: f.dimensions.map(|x| DimensionsOut {
                height: x.height,
                width: x.width,
                length: x.length,
                weight: x.weight_grams,
            }),
            freight: f.freight.as_ref().map(|x| FreightOut {
                free: flag(x.free),
                fixed: x.fixed.map(Amount),
                additional: x.additional.map(Amount),
                deadline: x.deadline_days,
                free_range: x.free_range.as_ref().map(|r| FreeRangeOut {
                    start: &r.start,
                    end: &r.end,
                }),
            }),
            categories: d
                .category_ids
                .iter()
                .filter_map(|id| view.category(*id))
                .map(category_link)
                .collect(),
            brand,
            descriptions: f
                .descriptions
                .iter()
                .enumerate()
                .map(|(n, x)| DescriptionOut {
                    id: n + 1,
                    title: &x.title,
                    text: &x.text,
                })
                .collect(),
            documents: f
                .documents
                .iter()
                .enumerate()
                .map(|(n, x)| DocumentOut {
                    id: n + 1,
                    title: &x.title,
                    src: &x.src,
                })
                .collect(),
            images: f.images.iter().map(|s| ImageOut { source: s }).collect(),
            seo: SeoOut {
                url: f.seo.url.as_deref(),
                title: f.seo.title.as_deref(),
                meta_description: f.seo.meta_description.as_deref(),
            },
            gtins: GtinsOut {
                mpn: f.gtins.mpn.as_deref(),
                ean: f.gtins.ean.as_ref().map(|g| g.as_str()),
                jan: f.gtins.jan.as_ref().map(|g| g.as_str()),
                isbn: f.gtins.isbn.as_deref(),
            },
            attribute_groups: f
                .attribute_groups
                .iter()
                .map(|a| AttributeGroupOut {
                    name: &a.name,
                    attribute: AttributeOut {
                        name: &a.attribute_name,
                        value: &a.attribute_value,
                        kind: a.attribute_type.as_deref(),
                    },
                })
                .collect(),
            related: f
                .related
                .iter()
                .map(|r| PartOut {
                    sku: &r.sku,
                    kind: r.kind.as_str(),
                })
                .collect(),
            kits: view
                .containers
                .get(&d.sku)
                .map(|cs| {
                    cs.iter()
                        .map(|(sku, kind)| PartOut {
                            sku,
                            kind: kind.as_str(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            simple: f
                .parts
                .iter()
                .map(|x| SimpleOut {
                    sku: &x.sku,
                    kind: x.kind.as_str(),
                    quantity: x.quantity,
                })
                .collect(),
            collections: d
                .collection_ids
                .iter()
                .filter_map(|id| view.collection(*id))
                .map(collection)
                .collect(),
        }
    }

    /// Every product of `view`, in order.
    pub fn all(view: &'a CatalogView) -> Vec<ProductOut<'a>> {
        view.products
            .iter()
            .map(|p| ProductOut::of(p, view))
            .collect()
    }
}

/// `POST /catalog/import`'s answer (the document spells it `proccessId`).
#[derive(Serialize, ToSchema)]
pub struct ImportAccepted {
    pub data: ProcessId,
}

#[derive(Serialize, ToSchema)]
pub struct ProcessId {
    /// The import's id: read its products at `/catalog/products/process/{processId}`
    /// and its progress at `.../status`.
    #[serde(rename = "proccessId")]
    pub proccess_id: String,
}

/// An extension: where an import is (`GET /catalog/products/process/{processId}/status`).
#[derive(Serialize, ToSchema)]
pub struct ProcessStatus {
    #[serde(rename = "proccessId")]
    pub proccess_id: String,
    /// `pending` (waiting for a worker), `running` or `finished`.
    #[schema(value_type = ImportState)]
    pub state: &'static str,
    /// Products the import holds.
    pub total: u32,
    /// Products read so far (written or failed).
    pub read: u32,
    pub succeeded: u32,
    pub failed: u32,
    /// Products still to read.
    pub pending: u32,
    /// Each failed product with its reasons.
    pub errors: Vec<ItemErrors>,
}

#[derive(ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum ImportState {
    pending,
    running,
    finished,
}

/// One product of an import and why it failed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemErrors {
    /// The product's position in the import, from 0.
    pub item_index: u32,
    pub sku: Option<String>,
    pub errors: Vec<String>,
}

impl From<RowError> for ItemErrors {
    fn from(r: RowError) -> ItemErrors {
        ItemErrors {
            item_index: r.row,
            sku: r.sku,
            errors: r.reasons,
        }
    }
}

impl ProcessStatus {
    pub fn of(job: &ImportJob, errors: Vec<RowError>) -> ProcessStatus {
        ProcessStatus {
            proccess_id: job.id.clone(),
            state: job.state.as_str(),
            total: job.total,
            read: job.processed,
            succeeded: job.succeeded,
            failed: job.failed,
            pending: job.pending(),
            errors: errors.into_iter().map(ItemErrors::from).collect(),
        }
    }
}

/// `DELETE /catalog/products/{type}/{id}`'s answer.
#[derive(Serialize, ToSchema)]
pub struct Deleted {
    pub updated: DeletedProduct,
}

#[derive(Serialize, ToSchema)]
pub struct DeletedProduct {
    #[serde(rename = "type")]
    #[schema(value_type = crate::wire::Kind)]
    pub kind: &'static str,
    /// The deleted product's id, as text (as the document's example writes it).
    pub id: String,
}

/// The answer of a stock or price batch (the document leaves it open): each item
/// applied or refused on its own.
#[derive(Serialize, ToSchema)]
pub struct BatchAnswer {
    /// Items sent.
    pub total: usize,
    /// Items applied.
    pub updated: usize,
    /// Items refused.
    pub failed: usize,
    /// One per item sent, in order.
    pub items: Vec<BatchItemOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchItemOut {
    /// The item's position in the request, from 0.
    pub index: usize,
    /// The product the item named, when found.
    pub id: Option<i64>,
    pub sku: Option<String>,
    #[schema(value_type = BatchStatus)]
    pub status: &'static str,
    /// Why the item was refused (empty when applied).
    pub errors: Vec<String>,
}

#[derive(ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum BatchStatus {
    updated,
    failed,
}

impl BatchItemOut {
    /// An item applied (`error` none) or refused.
    pub fn new(index: usize, id: Option<i64>, sku: Option<String>, error: Option<String>) -> Self {
        BatchItemOut {
            index,
            id,
            sku,
            status: if error.is_none() { "updated" } else { "failed" },
            errors: error.into_iter().collect(),
        }
    }

    pub fn of(o: entreposto_app::catalog::BatchOutcome) -> BatchItemOut {
        BatchItemOut::new(o.index, o.product_id, o.sku, o.error)
    }

    pub fn failed(&self) -> bool {
        !self.errors.is_empty()
    }
}

/// `(total, updated, failed)` of a batch's items.
pub fn batch_counts<'a>(
    items: impl ExactSizeIterator<Item = &'a BatchItemOut>,
) -> (usize, usize, usize) {
    let total = items.len();
    let failed = items.filter(|i| i.failed()).count();
    (total, total - failed, failed)
}

impl BatchAnswer {
    pub fn of(mut items: Vec<BatchItemOut>) -> BatchAnswer {
        items.sort_by_key(|i| i.index);
        let (total, updated, failed) = batch_counts(items.iter());
        BatchAnswer {
            total,
            updated,
            failed,
            items,
        }
    }
}

/// A category (`GET /catalog/categories`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryOut<'a> {
    pub id: i64,
    pub name: &'a str,
    pub description: Option<&'a str>,
    /// The parent category's id; null for a root.
    pub parent: Option<i64>,
    /// The category's slug.
    pub url: &'a str,
    pub keywords: Option<&'a str>,
    pub external_id: Option<&'a str>,
}

impl<'a> From<&'a Category> for CategoryOut<'a> {
    fn from(c: &'a Category) -> CategoryOut<'a> {
        CategoryOut {
            id: c.id,
            name: &c.name,
            description: c.description.as_deref(),
            parent: c.parent_id,
            url: &c.slug,
            keywords: c.keywords.as_deref(),
            external_id: c.external_id.as_deref(),
        }
    }
}

/// A brand (`GET /catalog/brands`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrandListOut<'a> {
    pub id: i64,
    pub name: &'a str,
    pub image_source: Option<&'a str>,
    pub external_id: Option<&'a str>,
}

impl<'a> From<&'a Brand> for BrandListOut<'a> {
    fn from(b: &'a Brand) -> BrandListOut<'a> {
        BrandListOut {
            id: b.id,
            name: &b.name,
            image_source: b.image_source.as_deref(),
            external_id: b.external_id.as_deref(),
        }
    }
}

/// The id of what was created.
#[derive(Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_are_numbers_when_they_are_numbers() {
        let j = |s: &str| serde_json::to_string(&ExternalId(s)).unwrap();
        assert_eq!(j("12345"), "12345");
        assert_eq!(j("0123"), "\"0123\"");
        assert_eq!(j("ERP-1"), "\"ERP-1\"");
        assert_eq!(j("99999999999999999"), "\"99999999999999999\"");
        assert_eq!(j("-5"), "-5");
    }

    #[test]
    fn derived_stock_without_limit_sells_without_stock() {
        let s = serde_json::to_value(derived_stock(None)).unwrap();
        assert_eq!(
            s["info"],
            serde_json::json!({"quantity": 0, "minimum": 0, "status": 1})
        );
        let s = serde_json::to_value(derived_stock(Some(3))).unwrap();
        assert_eq!(s["info"], serde_json::json!({"quantity": 3, "minimum": 0}));
        assert_eq!(s["location"], serde_json::json!({"id": 0, "name": null}));
    }
}
