//! A seller's catalog: products (simple, group, kit), categories, brands, manufacturers
//! and collections, with the rules every edge relies on.
//!
//! A product belongs to one seller and is identified there by its SKU (unique per
//! seller) and, optionally, an external id (the seller's own, also unique). A `simple`
//! product is what is stocked and sold; a `group` is a parent whose variations are
//! simples told apart by their attribute values (Tamanho P/M/G); a `kit` bundles
//! simples with quantities. A group or kit names its parts by SKU ([`ProductPart`]):
//! its stock follows from theirs ([`kit_stock`], [`group_stock`]), so what it was sent
//! as its own stock is not kept. Money is centavos; one price per product (the 00K
//! document takes "only the first item" of its price list), stock per location.
//!
//! Drafts ([`ProductDraft`]) are what an import or an update sends: related categories
//! and brands are references to resolve ([`CategoryRef`], [`BrandRef`]), linked when
//! they name an existing one, created otherwise. [`ProductDraft::validate`] checks
//! everything that needs no database, once, whichever edge the draft came through.
//! Storage formats are the backends' (the types carry no serde layout).

use crate::gtin::{check_isbn, Gtin};
use crate::{Cents, FieldError, Timestamp};

/// The three product types of the 00K document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProductKind {
    Simple,
    Group,
    Kit,
}

impl ProductKind {
    pub const ALL: [ProductKind; 3] = [ProductKind::Simple, ProductKind::Group, ProductKind::Kit];

    pub fn as_str(self) -> &'static str {
        match self {
            ProductKind::Simple => "simple",
            ProductKind::Group => "group",
            ProductKind::Kit => "kit",
        }
    }

    pub fn parse(s: &str) -> Result<ProductKind, FieldError> {
        ProductKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                FieldError::new(
                    "type",
                    format!("'{s}' is not a product type (simple, group or kit)"),
                )
            })
    }
}

/// A product's basic data (`info` in 00K).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProductInfo {
    pub name: String,
    /// At most [`SUBTITLE_MAX`] characters.
    pub subtitle: String,
    pub active: bool,
    pub published: bool,
    pub archived: bool,
    pub model: String,
    pub item_flag: Option<String>,
    pub warranty: Option<String>,
}

/// The longest subtitle the document allows, in characters.
pub const SUBTITLE_MAX: usize = 140;

/// Special stock logic (`stock[].info.status`): when set, quantity and minimum are
/// not what decides whether the product sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StockStatus {
    /// 0: no stock, whatever the quantity says.
    NoStock,
    /// 1: sells without stock.
    SellWithoutStock,
    /// 2: pre-sale.
    PreSale,
}

impl StockStatus {
    pub fn code(self) -> i64 {
        match self {
            StockStatus::NoStock => 0,
            StockStatus::SellWithoutStock => 1,
            StockStatus::PreSale => 2,
        }
    }

    pub fn from_code(code: i64) -> Result<StockStatus, FieldError> {
        match code {
            0 => Ok(StockStatus::NoStock),
            1 => Ok(StockStatus::SellWithoutStock),
            2 => Ok(StockStatus::PreSale),
            _ => Err(FieldError::new(
                "status",
                format!(
                    "{code} is not a stock status (0 no stock, 1 sell without stock, 2 pre-sale)"
                ),
            )),
        }
    }
}

/// Where stock is kept. Stock sent with no location is at [`Location::DEFAULT_ID`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    pub id: i64,
    pub name: Option<String>,
}

impl Location {
    pub const DEFAULT_ID: i64 = 0;
}

/// Stock of a product at one location.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StockLevel {
    pub location: Location,
    pub quantity: i64,
    pub minimum: i64,
    pub status: Option<StockStatus>,
}

impl StockLevel {
    /// How many units can be sold from here: the quantity, none under status 0;
    /// `None` (no limit) when the product sells without stock or on pre-sale.
    pub fn sellable(&self) -> Option<i64> {
        match self.status {
            Some(StockStatus::NoStock) => Some(0),
            Some(StockStatus::SellWithoutStock | StockStatus::PreSale) => None,
            None => Some(self.quantity.max(0)),
        }
    }
}

/// A product's price: list and sale value, optionally until a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Price {
    pub list: Cents,
    pub value: Cents,
    pub expires_at: Option<Timestamp>,
}

/// Dimensions as the seller sends them (centimetres by convention) and weight in grams.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Dimensions {
    pub height: f64,
    pub width: f64,
    pub length: f64,
    pub weight_grams: i64,
}

/// A range of CEPs (postal codes, 8 digits) with free freight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CepRange {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Freight {
    pub free: bool,
    pub fixed: Option<Cents>,
    pub additional: Option<Cents>,
    /// Delivery time in calendar days.
    pub deadline_days: Option<i64>,
    pub free_range: Option<CepRange>,
}

/// A long description: may hold HTML, kept as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    pub title: String,
    pub text: String,
}

/// A document attached to a product (an instruction guide), by URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductDocument {
    pub title: String,
    pub src: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Seo {
    pub url: Option<String>,
    pub title: Option<String>,
    pub meta_description: Option<String>,
}

/// International identifiers; `ean` and `jan` are GTINs with a checked digit, `isbn`
/// an ISBN-10 or -13, `mpn` the manufacturer's free text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Gtins {
    pub mpn: Option<String>,
    pub ean: Option<Gtin>,
    pub jan: Option<Gtin>,
    pub isbn: Option<String>,
}

/// One attribute value of a product (a variation's Tamanho P), in its group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeGroup {
    /// The group's name (`Tamanho`).
    pub name: String,
    pub attribute_name: String,
    pub attribute_value: String,
    /// What the attribute measures (`width`), as sent.
    pub attribute_type: Option<String>,
}

/// Another product, by SKU and type (related products; the parts of a kit or group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductPart {
    pub sku: String,
    pub kind: ProductKind,
    /// Units of the part in a kit; 1 for a group's variation.
    pub quantity: i64,
}

/// A brand's or manufacturer's data as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manufacturer {
    pub id: i64,
    pub seller_id: String,
    pub name: String,
    pub external_id: Option<String>,
    pub image_source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    pub id: i64,
    pub seller_id: String,
    pub name: String,
    pub external_id: Option<String>,
    pub image_source: Option<String>,
    pub manufacturer_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub id: i64,
    pub seller_id: String,
    pub parent_id: Option<i64>,
    pub name: String,
    pub description: Option<String>,
    pub slug: String,
    pub keywords: Option<String>,
    pub image_source: Option<String>,
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub id: i64,
    pub seller_id: String,
    pub name: String,
    pub external_id: Option<String>,
}

/// Everything about a product but its identity and the entities it links to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProductFields {
    pub external_id: Option<String>,
    pub info: ProductInfo,
    /// Stock per location, kept for simples only (see the module note).
    pub stock: Vec<StockLevel>,
    pub price: Option<Price>,
    pub dimensions: Option<Dimensions>,
    pub freight: Option<Freight>,
    pub descriptions: Vec<Description>,
    pub images: Vec<String>,
    pub documents: Vec<ProductDocument>,
    pub seo: Seo,
    pub gtins: Gtins,
    pub attribute_groups: Vec<AttributeGroup>,
    pub related: Vec<ProductPart>,
    /// A kit's components or a group's variations; empty for a simple.
    pub parts: Vec<ProductPart>,
}

/// A product as stored: its fields with the ids of what it links to.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductData {
    pub sku: String,
    pub kind: ProductKind,
    pub fields: ProductFields,
    pub category_ids: Vec<i64>,
    pub brand_id: Option<i64>,
    pub manufacturer_id: Option<i64>,
    pub collection_ids: Vec<i64>,
}

/// A stored product.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: i64,
    pub operator_id: String,
    pub seller_id: String,
    /// Bumped by every write; an update is saved only over the version it read.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub data: ProductData,
}

/// A related category in a draft: an existing one by id or external id (the rest of
/// its data is then ignored, as the 00K document says), else one to create from the
/// data given (a name at least), under its own parent reference.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CategoryRef {
    pub id: Option<i64>,
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub slug: Option<String>,
    pub keywords: Option<String>,
    pub image_source: Option<String>,
    pub parent: Option<Box<CategoryRef>>,
}

/// A brand or manufacturer in a draft: linked by id, external id or (failing both)
/// exact name; created from the name otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartyRef {
    pub id: Option<i64>,
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub image_source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BrandRef {
    pub info: PartyRef,
    pub manufacturer: Option<PartyRef>,
}

/// A collection in a draft (an extension of 00K's body, which filters on collections
/// but documents no way to fill them): by id, external id or name.
pub type CollectionRef = PartyRef;

/// A product as an import sends it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProductDraft {
    /// The hub's id: names an existing product to replace.
    pub id: Option<i64>,
    /// Required unless `id` is given.
    pub sku: Option<String>,
    pub kind: Option<ProductKind>,
    pub fields: ProductFields,
    pub categories: Vec<CategoryRef>,
    pub brand: Option<BrandRef>,
    pub collections: Vec<CollectionRef>,
}

/// The longest SKU, external id or name we keep.
pub const SKU_MAX: usize = 100;
const NAME_MAX: usize = 500;
const TEXT_MAX: usize = 200_000;
const URL_MAX: usize = 2_000;
/// Most stock locations, images, descriptions... one product may list.
const LIST_MAX: usize = 200;
const QUANTITY_MAX: i64 = 1_000_000_000;

pub(crate) fn text(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    let chars = value.chars().count();
    if chars > max {
        return Err(FieldError::new(
            field,
            format!("has {chars} characters; at most {max}"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

fn optional_text(field: &str, value: &Option<String>, max: usize) -> Result<(), FieldError> {
    match value {
        Some(v) => text(field, v, max),
        None => Ok(()),
    }
}

/// Checks a SKU (or external id) as a key: 1 to [`SKU_MAX`] characters, no control
/// characters, no surrounding spaces (a key that differs by a space is a trap).
pub fn check_key(field: &str, value: &str) -> Result<(), FieldError> {
    text(field, value, SKU_MAX)?;
    if value.trim() != value {
        return Err(FieldError::new(field, "must not start or end with spaces"));
    }
    Ok(())
}

/// An http(s) URL, as far as text can tell.
pub fn check_url(field: &str, value: &str) -> Result<(), FieldError> {
    text(field, value, URL_MAX)?;
    let lower = value.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !value.contains(char::is_whitespace) => Ok(()),
        _ => Err(FieldError::new(
            field,
            format!("'{value}' is not an http(s) URL"),
        )),
    }
}

/// A CEP: eight digits (a hyphen after the fifth is accepted and dropped).
pub fn parse_cep(field: &str, raw: &str) -> Result<String, FieldError> {
    let digits: String = raw.trim().chars().filter(|c| *c != '-').collect();
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(
            field,
            format!("'{raw}' is not a CEP (8 digits)"),
        ));
    }
    Ok(digits)
}

fn count(field: &str, n: usize) -> Result<(), FieldError> {
    if n > LIST_MAX {
        return Err(FieldError::new(
            field,
            format!("has {n} entries; at most {LIST_MAX}"),
        ));
    }
    Ok(())
}

/// Checks a price: list and value not negative.
pub fn check_price(field: &str, p: &Price) -> Result<(), FieldError> {
    if p.list.0 < 0 {
        return Err(FieldError::new(
            format!("{field}.list"),
            "must not be negative",
        ));
    }
    if p.value.0 < 0 {
        return Err(FieldError::new(
            format!("{field}.value"),
            "must not be negative",
        ));
    }
    Ok(())
}

/// Checks one stock level: quantities between 0 and a billion.
pub fn check_stock(field: &str, s: &StockLevel) -> Result<(), FieldError> {
    check_level(s).map_err(|e| e.under(field))
}

/// [`check_stock`] with its fields named from the level itself (`info.quantity`).
fn check_level(s: &StockLevel) -> Result<(), FieldError> {
    for (name, v) in [("quantity", s.quantity), ("minimum", s.minimum)] {
        if v < 0 {
            return Err(FieldError::new(
                format!("info.{name}"),
                "must not be negative",
            ));
        }
        if v > QUANTITY_MAX {
            return Err(FieldError::new(
                format!("info.{name}"),
                format!("must be at most {QUANTITY_MAX}"),
            ));
        }
    }
    if let Some(name) = &s.location.name {
        text("location.name", name, NAME_MAX)?;
    }
    if s.location.id < 0 {
        return Err(FieldError::new("location.id", "must not be negative"));
    }
    Ok(())
}

impl CategoryRef {
    /// Whether this reference names an existing category rather than data to create.
    pub fn is_link(&self) -> bool {
        self.id.is_some() || self.external_id.is_some()
    }

    pub fn validate(&self, field: &str) -> Result<(), FieldError> {
        if self.id.is_none() && self.external_id.is_none() && self.name.is_none() {
            return Err(FieldError::new(
                field,
                "needs an id, an externalId or a name",
            ));
        }
        if let Some(e) = &self.external_id {
            check_key(&format!("{field}.externalId"), e)?;
        }
        optional_text(&format!("{field}.name"), &self.name, NAME_MAX)?;
        optional_text(&format!("{field}.description"), &self.description, TEXT_MAX)?;
        optional_text(&format!("{field}.slug"), &self.slug, NAME_MAX)?;
        optional_text(&format!("{field}.metaKeywords"), &self.keywords, TEXT_MAX)?;
        if let Some(u) = &self.image_source {
            check_url(&format!("{field}.imageSource"), u)?;
        }
        let mut depth = 0;
        let mut parent = &self.parent;
        while let Some(p) = parent {
            depth += 1;
            if depth > 20 {
                return Err(FieldError::new(field, "nests more than 20 parents"));
            }
            parent = &p.parent;
        }
        if let Some(p) = &self.parent {
            p.validate(&format!("{field}.parent"))?;
        }
        Ok(())
    }
}

impl PartyRef {
    pub fn validate(&self, field: &str) -> Result<(), FieldError> {
        if self.id.is_none() && self.external_id.is_none() && self.name.is_none() {
            return Err(FieldError::new(
                field,
                "needs an id, an externalId or a name",
            ));
        }
        if let Some(e) = &self.external_id {
            check_key(&format!("{field}.externalId"), e)?;
        }
        optional_text(&format!("{field}.name"), &self.name, NAME_MAX)?;
        if let Some(u) = &self.image_source {
            check_url(&format!("{field}.imageSource"), u)?;
        }
        Ok(())
    }
}

/// A slug from a name: lowercase ASCII letters and digits joined by hyphens, accents
/// folded (`Calçados Femininos` is `calcados-femininos`).
pub fn slugify(name: &str) -> String {
    let folded = crate::search::fold(name);
    let mut out = String::with_capacity(folded.len());
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// A product's stock levels: at most the list's cap, each valid, no location twice.
fn check_levels(levels: &[StockLevel]) -> Result<(), FieldError> {
    count("stock", levels.len())?;
    for (n, s) in levels.iter().enumerate() {
        check_stock(&format!("stock[{n}]"), s)?;
        if levels[..n].iter().any(|o| o.location.id == s.location.id) {
            return Err(FieldError::new(
                format!("stock[{n}].location.id"),
                format!("location {} is listed twice", s.location.id),
            ));
        }
    }
    Ok(())
}

fn check_images(images: &[String]) -> Result<(), FieldError> {
    count("images", images.len())?;
    for (n, u) in images.iter().enumerate() {
        check_url(&format!("images[{n}].source"), u)?;
    }
    Ok(())
}

fn check_dimensions(d: &Dimensions) -> Result<(), FieldError> {
    for (name, v) in [
        ("height", d.height),
        ("width", d.width),
        ("length", d.length),
    ] {
        if !v.is_finite() || !(0.0..=1_000_000.0).contains(&v) {
            return Err(FieldError::new(
                format!("dimensions.{name}"),
                "must be a number between 0 and 1000000",
            ));
        }
    }
    if d.weight_grams < 0 || d.weight_grams > QUANTITY_MAX {
        return Err(FieldError::new(
            "dimensions.weight",
            "must be between 0 and 1000000000 grams",
        ));
    }
    Ok(())
}

fn check_freight(f: &Freight) -> Result<(), FieldError> {
    for (name, v) in [("fixed", f.fixed), ("additional", f.additional)] {
        if v.is_some_and(|c| c.0 < 0) {
            return Err(FieldError::new(
                format!("freight.{name}"),
                "must not be negative",
            ));
        }
    }
    if f.deadline_days.is_some_and(|d| !(0..=3650).contains(&d)) {
        return Err(FieldError::new(
            "freight.deadline",
            "must be between 0 and 3650 days",
        ));
    }
    if let Some(r) = &f.free_range {
        parse_cep("freight.freeRange.start", &r.start)?;
        parse_cep("freight.freeRange.end", &r.end)?;
        if r.start > r.end {
            return Err(FieldError::new(
                "freight.freeRange",
                "start must not come after end",
            ));
        }
    }
    Ok(())
}

impl ProductFields {
    /// Checks what a product's own fields need no database for. `kind` decides what is
    /// required: stock for a simple, parts for a kit or group.
    pub fn validate(&self, kind: ProductKind) -> Result<(), FieldError> {
        if let Some(e) = &self.external_id {
            check_key("externalId", e)?;
        }
        let i = &self.info;
        text("info.name", &i.name, NAME_MAX)?;
        text("info.subtitle", &i.subtitle, SUBTITLE_MAX)?;
        text("info.model", &i.model, NAME_MAX)?;
        optional_text("info.itemFlag", &i.item_flag, NAME_MAX)?;
        optional_text("info.warranty", &i.warranty, NAME_MAX)?;
        if kind == ProductKind::Simple && self.stock.is_empty() {
            return Err(FieldError::new("stock", "Stock is required"));
        }
        check_levels(&self.stock)?;
        match &self.price {
            Some(p) => check_price("price[0]", p)?,
            None if kind != ProductKind::Group => {
                return Err(FieldError::new("price", "Price is required"))
            }
            None => {}
        }
        match &self.dimensions {
            Some(d) => check_dimensions(d)?,
            None => return Err(FieldError::new("dimensions", "Dimensions are required")),
        }
        if let Some(f) = &self.freight {
            check_freight(f)?;
        }
        count("descriptions", self.descriptions.len())?;
        for (n, d) in self.descriptions.iter().enumerate() {
            text(&format!("descriptions[{n}].title"), &d.title, NAME_MAX)?;
            text(&format!("descriptions[{n}].text"), &d.text, TEXT_MAX)?;
        }
        check_images(&self.images)?;
        count("documents", self.documents.len())?;
        for (n, d) in self.documents.iter().enumerate() {
            text(&format!("documents[{n}].title"), &d.title, NAME_MAX)?;
            check_url(&format!("documents[{n}].src"), &d.src)?;
        }
        optional_text("seo.url", &self.seo.url, NAME_MAX)?;
        optional_text("seo.title", &self.seo.title, NAME_MAX)?;
        optional_text("seo.metaDescription", &self.seo.meta_description, TEXT_MAX)?;
        optional_text("gtins.mpn", &self.gtins.mpn, SKU_MAX)?;
        if let Some(isbn) = &self.gtins.isbn {
            check_isbn(isbn).map_err(|e| e.under("gtins.isbn"))?;
        }
        count("attributeGroups", self.attribute_groups.len())?;
        for (n, a) in self.attribute_groups.iter().enumerate() {
            let f = |x: &str| format!("attributeGroups[{n}].{x}");
            text(&f("name"), &a.name, NAME_MAX)?;
            text(&f("attribute.name"), &a.attribute_name, NAME_MAX)?;
            text(&f("attribute.value"), &a.attribute_value, NAME_MAX)?;
            optional_text(&f("attribute.type"), &a.attribute_type, NAME_MAX)?;
        }
        count("related", self.related.len())?;
        for (n, r) in self.related.iter().enumerate() {
            check_key(&format!("related[{n}].sku"), &r.sku)?;
        }
        self.validate_parts(kind)
    }

    fn validate_parts(&self, kind: ProductKind) -> Result<(), FieldError> {
        count("simple", self.parts.len())?;
        match kind {
            ProductKind::Simple if !self.parts.is_empty() => {
                return Err(FieldError::new(
                    "simple",
                    "only a kit or a group lists simple products",
                ))
            }
            ProductKind::Kit | ProductKind::Group if self.parts.is_empty() => {
                return Err(FieldError::new(
                    "simple",
                    format!("a {} needs at least one simple product", kind.as_str()),
                ))
            }
            _ => {}
        }
        for (n, p) in self.parts.iter().enumerate() {
            check_key(&format!("simple[{n}].sku"), &p.sku)?;
            if p.kind != ProductKind::Simple {
                return Err(FieldError::new(
                    format!("simple[{n}].type"),
                    "a kit or group is made of simple products",
                ));
            }
            if !(1..=10_000).contains(&p.quantity) {
                return Err(FieldError::new(
                    format!("simple[{n}].quantity"),
                    "must be between 1 and 10000",
                ));
            }
            if self.parts[..n].iter().any(|o| o.sku == p.sku) {
                return Err(FieldError::new(
                    format!("simple[{n}].sku"),
                    format!("'{}' is listed twice", p.sku),
                ));
            }
        }
        Ok(())
    }
}

impl ProductDraft {
    /// Checks everything that needs no database: the fields, and that the draft says
    /// which product it is (a SKU, or the id of an existing one) and of what type.
    pub fn validate(&self) -> Result<(), FieldError> {
        match (&self.sku, self.id) {
            (Some(s), _) => check_key("sku", s)?,
            (None, Some(_)) => {}
            (None, None) => return Err(FieldError::new("sku", "sku or id is required")),
        }
        if self.id.is_some_and(|id| id <= 0) {
            return Err(FieldError::new("id", "must be a positive integer"));
        }
        let kind = self
            .kind
            .ok_or_else(|| FieldError::new("type", "type is required (simple, group or kit)"))?;
        self.fields.validate(kind)?;
        if let Some(sku) = &self.sku {
            if self.fields.parts.iter().any(|p| &p.sku == sku) {
                return Err(FieldError::new("simple", "a product cannot contain itself"));
            }
        }
        count("categories", self.categories.len())?;
        for (n, c) in self.categories.iter().enumerate() {
            c.validate(&format!("categories[{n}]"))?;
        }
        if let Some(b) = &self.brand {
            b.info.validate("brand.info")?;
            if let Some(m) = &b.manufacturer {
                m.validate("brand.manufacturer")?;
            }
        }
        count("collections", self.collections.len())?;
        for (n, c) in self.collections.iter().enumerate() {
            c.validate(&format!("collections[{n}]"))?;
        }
        Ok(())
    }
}

/// A kit's sellable stock: for each component the units it has divided by the units
/// a kit takes, the smallest of those; `None` (no limit) when every component sells
/// without stock. `component` gives a component's sellable units by SKU (`Some(0)`
/// for one that does not exist).
pub fn kit_stock(parts: &[ProductPart], component: impl Fn(&str) -> Option<i64>) -> Option<i64> {
    parts
        .iter()
        .filter_map(|p| component(&p.sku).map(|n| n / p.quantity.max(1)))
        .min()
}

/// A group's sellable stock: the sum of its variations'; `None` when any sells
/// without stock.
pub fn group_stock(parts: &[ProductPart], variation: impl Fn(&str) -> Option<i64>) -> Option<i64> {
    let mut total = 0i64;
    for p in parts {
        total = total.saturating_add(variation(&p.sku)?);
    }
    Some(total)
}

/// What a product sells from all its locations: `None` for no limit.
pub fn sellable(levels: &[StockLevel]) -> Option<i64> {
    let mut total = 0i64;
    for l in levels {
        total = total.saturating_add(l.sellable()?);
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn simple_draft(sku: &str) -> ProductDraft {
        ProductDraft {
            sku: Some(sku.into()),
            kind: Some(ProductKind::Simple),
            fields: ProductFields {
                info: ProductInfo {
                    name: "Camiseta".into(),
                    subtitle: "Algodão".into(),
                    active: true,
                    model: "M1".into(),
                    ..Default::default()
                },
                stock: vec![StockLevel {
                    quantity: 3,
                    ..Default::default()
                }],
                price: Some(Price {
                    list: Cents(5000),
                    value: Cents(4999),
                    expires_at: None,
                }),
                dimensions: Some(Dimensions::default()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn a_patch_refuses_the_values_it_sets_before_it_is_applied() {
        ProductPatch::default().validate().unwrap();
        let with = |f: fn(&mut ProductPatch)| {
            let mut p = ProductPatch::default();
            f(&mut p);
            p.validate().map_err(|e| e.field)
        };
        assert_eq!(
            with(|p| p.info.name = Some(String::new())),
            Err("info.name".into())
        );
        assert_eq!(
            with(|p| p.info.subtitle = Some("x".repeat(SUBTITLE_MAX + 1))),
            Err("info.subtitle".into())
        );
        let level = simple_draft("A1").fields.stock[0].clone();
        assert_eq!(
            with(|p| {
                let mut l = simple_draft("A1").fields.stock[0].clone();
                l.quantity = -1;
                p.stock = Some(vec![l]);
            }),
            Err("stock[0].info.quantity".into())
        );
        assert_eq!(
            with(|p| p.dimensions = Some(Dimensions {
                height: -5.0,
                ..Default::default()
            })),
            Err("dimensions.height".into())
        );
        // What it leaves unset is not its to check, and good values pass.
        let mut p = ProductPatch::default();
        p.info.name = Some("Camiseta".into());
        p.stock = Some(vec![level]);
        p.validate().unwrap();
    }

    #[test]
    fn a_complete_simple_passes() {
        simple_draft("A1").validate().unwrap();
    }

    #[test]
    fn each_rule_names_its_field() {
        let mut d = simple_draft("A1");
        d.fields.info.subtitle = "x".repeat(141);
        assert_eq!(d.validate().unwrap_err().field, "info.subtitle");
        let mut d = simple_draft("A1");
        d.fields.stock[0].quantity = -1;
        assert_eq!(d.validate().unwrap_err().field, "stock[0].info.quantity");
        let mut d = simple_draft("A1");
        d.fields.stock.clear();
        assert_eq!(d.validate().unwrap_err().message, "Stock is required");
        let mut d = simple_draft("A1");
        d.kind = None;
        assert_eq!(d.validate().unwrap_err().field, "type");
        let mut d = simple_draft("A1");
        d.sku = None;
        assert_eq!(d.validate().unwrap_err().field, "sku");
        let mut d = simple_draft("A1");
        d.fields.images = vec!["ftp://x".into()];
        assert_eq!(d.validate().unwrap_err().field, "images[0].source");
        let mut d = simple_draft("A1");
        d.kind = Some(ProductKind::Kit);
        assert_eq!(d.validate().unwrap_err().field, "simple");
    }

    #[test]
    fn subtitles_count_characters_not_bytes() {
        let mut d = simple_draft("A1");
        d.fields.info.subtitle = "ç".repeat(140);
        d.validate().unwrap();
    }

    #[test]
    fn kit_and_group_stock_follow_their_parts() {
        let parts = vec![
            ProductPart {
                sku: "a".into(),
                kind: ProductKind::Simple,
                quantity: 2,
            },
            ProductPart {
                sku: "b".into(),
                kind: ProductKind::Simple,
                quantity: 1,
            },
        ];
        let stock = |s: &str| match s {
            "a" => Some(7),
            "b" => Some(5),
            _ => Some(0),
        };
        assert_eq!(kit_stock(&parts, stock), Some(3));
        assert_eq!(group_stock(&parts, stock), Some(12));
        assert_eq!(kit_stock(&parts, |s| (s == "a").then_some(4)), Some(2));
        assert_eq!(group_stock(&parts, |_| None), None);
    }

    #[test]
    fn slugs_fold_accents() {
        assert_eq!(slugify("Calçados  Femininos!"), "calcados-femininos");
    }
}

/// What an update of one product sends: every part present replaces the stored one,
/// every part absent is kept (00K's `PUT /catalog/import/{campo}/{id}` sends only
/// what changes, `sku` and `externalId` included). `info` is merged field by field.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProductPatch {
    pub sku: Option<String>,
    pub external_id: Option<String>,
    pub info: InfoPatch,
    pub stock: Option<Vec<StockLevel>>,
    pub price: Option<Price>,
    pub dimensions: Option<Dimensions>,
    pub freight: Option<Freight>,
    pub descriptions: Option<Vec<Description>>,
    pub images: Option<Vec<String>>,
    pub documents: Option<Vec<ProductDocument>>,
    pub seo: Option<Seo>,
    pub gtins: Option<Gtins>,
    pub attribute_groups: Option<Vec<AttributeGroup>>,
    pub related: Option<Vec<ProductPart>>,
    pub parts: Option<Vec<ProductPart>>,
    pub categories: Option<Vec<CategoryRef>>,
    pub brand: Option<BrandRef>,
    pub collections: Option<Vec<CollectionRef>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InfoPatch {
    pub name: Option<String>,
    pub subtitle: Option<String>,
    pub active: Option<bool>,
    pub published: Option<bool>,
    pub archived: Option<bool>,
    pub model: Option<String>,
    pub item_flag: Option<String>,
    pub warranty: Option<String>,
}

impl ProductPatch {
    /// The fields after the patch (validate them with [`ProductFields::validate`]).
    pub fn apply(&self, stored: &ProductFields) -> ProductFields {
        let mut f = stored.clone();
        if let Some(e) = &self.external_id {
            f.external_id = Some(e.clone());
        }
        let i = &self.info;
        macro_rules! take {
            ($($src:expr => $dst:expr),* $(,)?) => {
                $(if let Some(v) = &$src { $dst = v.clone(); })*
            };
        }
        take!(
            i.name => f.info.name,
            i.subtitle => f.info.subtitle,
            i.active => f.info.active,
            i.published => f.info.published,
            i.archived => f.info.archived,
            i.model => f.info.model,
            self.stock => f.stock,
            self.descriptions => f.descriptions,
            self.images => f.images,
            self.documents => f.documents,
            self.seo => f.seo,
            self.gtins => f.gtins,
            self.attribute_groups => f.attribute_groups,
            self.related => f.related,
            self.parts => f.parts,
        );
        if let Some(v) = &i.item_flag {
            f.info.item_flag = Some(v.clone());
        }
        if let Some(v) = &i.warranty {
            f.info.warranty = Some(v.clone());
        }
        if let Some(p) = self.price {
            f.price = Some(p);
        }
        if let Some(d) = self.dimensions {
            f.dimensions = Some(d);
        }
        if let Some(x) = &self.freight {
            f.freight = Some(x.clone());
        }
        f
    }

    /// Checks what the patch names before it is applied: the keys it sets, its
    /// references, and each value it sets whose rule holds whatever the stored
    /// product is (an empty name, a negative quantity, a price with a fraction of a
    /// centavo), so a batch can refuse such a patch before anything is applied. The
    /// merged fields are checked after, for the rules that depend on the product
    /// (what its kind requires).
    pub fn validate(&self) -> Result<(), FieldError> {
        if let Some(s) = &self.sku {
            check_key("sku", s)?;
        }
        if let Some(e) = &self.external_id {
            check_key("externalId", e)?;
        }
        let i = &self.info;
        optional_text("info.name", &i.name, NAME_MAX)?;
        optional_text("info.subtitle", &i.subtitle, SUBTITLE_MAX)?;
        optional_text("info.model", &i.model, NAME_MAX)?;
        optional_text("info.itemFlag", &i.item_flag, NAME_MAX)?;
        optional_text("info.warranty", &i.warranty, NAME_MAX)?;
        if let Some(levels) = &self.stock {
            check_levels(levels)?;
        }
        if let Some(p) = &self.price {
            check_price("price[0]", p)?;
        }
        if let Some(d) = &self.dimensions {
            check_dimensions(d)?;
        }
        if let Some(f) = &self.freight {
            check_freight(f)?;
        }
        if let Some(images) = &self.images {
            check_images(images)?;
        }
        if let Some(cats) = &self.categories {
            count("categories", cats.len())?;
            for (n, c) in cats.iter().enumerate() {
                c.validate(&format!("categories[{n}]"))?;
            }
        }
        if let Some(b) = &self.brand {
            b.info.validate("brand.info")?;
            if let Some(m) = &b.manufacturer {
                m.validate("brand.manufacturer")?;
            }
        }
        if let Some(cs) = &self.collections {
            for (n, c) in cs.iter().enumerate() {
                c.validate(&format!("collections[{n}]"))?;
            }
        }
        Ok(())
    }
}
