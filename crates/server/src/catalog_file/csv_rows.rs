//! A catalog as a spreadsheet: one CSV row per product or variation, read into drafts.
//!
//! The columns are fixed names (see [`COLUMNS`] and the README's "Catalog" section)
//! plus one `attr:<group>` column per attribute (`attr:Tamanho`); an unknown column is
//! refused at once, since a misspelt one would otherwise be silently ignored. An empty
//! cell is an absent value. Lists inside a cell are separated by `|`; a category is a
//! path `Parent > Child`; a kit's `components` are `SKU*quantity`. A variation is a
//! simple row whose `parent` names its group's SKU: the group row lists no parts, it
//! gets the rows that name it, so variations are imported before groups and kits
//! (whatever the file's order). Decimals take a point or, as Brazilian spreadsheets
//! write them, a comma; prices are read exactly to the centavo. The separator is `,`,
//! or `;` when the header has semicolons and no commas.
//!
//! Field errors name the column, not the 00K JSON path the domain speaks of.

use std::collections::HashMap;

use entreposto_domain::{
    AttributeGroup, BrandRef, CategoryRef, Cents, Description, Dimensions, Gtin, PartyRef, Price,
    ProductDraft, ProductFields, ProductInfo, ProductKind, ProductPart, Seo, StockLevel,
    StockStatus,
};

use super::Row;

// The words 00K's `info.status` and `info.published` take (folded), read the same here.
const ACTIVE: &[&str] = &["ativo", "active", "true"];
const INACTIVE: &[&str] = &["inativo", "inactive", "false"];
const PUBLISHED: &[&str] = &["publicado", "published", "true"];
const UNPUBLISHED: &[&str] = &["nao publicado", "unpublished", "false"];

/// Every column the importer reads, in the order a fresh file lists them.
pub const COLUMNS: [&str; 26] = [
    "sku",
    "type",
    "parent",
    "externalId",
    "name",
    "subtitle",
    "status",
    "published",
    "model",
    "quantity",
    "minimum",
    "stockStatus",
    "priceList",
    "priceValue",
    "height",
    "width",
    "length",
    "weight",
    "categories",
    "brand",
    "manufacturer",
    "ean",
    "images",
    "description",
    "seoUrl",
    "components",
];

/// The prefix of attribute columns (`attr:Tamanho`).
pub const ATTRIBUTE: &str = "attr:";

/// A CSV file as read: its header, its records with the line each starts on, and the
/// separator (the failed-rows file is written the same way).
pub struct CsvFile {
    pub header: csv::StringRecord,
    pub records: Vec<(u64, csv::StringRecord)>,
    pub delimiter: u8,
}

/// Reads the file's structure; a broken file (a record with a different number of
/// cells, text that is not UTF-8, an unknown column) is an error naming the line.
pub fn read(bytes: &[u8]) -> anyhow::Result<CsvFile> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = if !first_line.contains(&b',') && first_line.contains(&b';') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|e| anyhow::anyhow!("line 1: {e}"))?
        .clone();
    let mut seen = Vec::new();
    for name in header.iter().map(str::trim) {
        if !COLUMNS.contains(&name) && !name.starts_with(ATTRIBUTE) {
            anyhow::bail!(
                "line 1: unknown column '{name}' (columns: {}, and {ATTRIBUTE}<group> for attributes)",
                COLUMNS.join(", ")
            );
        }
        if name.starts_with(ATTRIBUTE) && name[ATTRIBUTE.len()..].trim().is_empty() {
            anyhow::bail!("line 1: column '{name}' names no attribute group ({ATTRIBUTE}Tamanho)");
        }
        if seen.contains(&name) {
            anyhow::bail!("line 1: column '{name}' appears twice");
        }
        seen.push(name);
    }
    if !seen.contains(&"sku") {
        anyhow::bail!("line 1: the header has no 'sku' column");
    }
    let mut records = Vec::new();
    for r in reader.records() {
        let r = r.map_err(|e| match e.position() {
            Some(p) => anyhow::anyhow!("line {}: {e}", p.line()),
            None => anyhow::anyhow!("{e}"),
        })?;
        let line = r.position().map_or(0, |p| p.line());
        // Lines with no text at all (a trailing blank line) are not products.
        if r.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        records.push((line, r));
    }
    Ok(CsvFile {
        header,
        records,
        delimiter,
    })
}

/// The cells of one record by column name.
struct Cells<'a> {
    columns: &'a HashMap<String, usize>,
    record: &'a csv::StringRecord,
    errors: Vec<String>,
}

impl Cells<'_> {
    fn get(&self, column: &str) -> Option<&str> {
        self.columns
            .get(column)
            .and_then(|i| self.record.get(*i))
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    fn text(&self, column: &str) -> Option<String> {
        self.get(column).map(str::to_string)
    }

    fn fail(&mut self, column: &str, message: impl std::fmt::Display) {
        self.errors.push(format!("{column}: {message}"));
    }

    fn int(&mut self, column: &str) -> Option<i64> {
        let raw = self.get(column)?.to_string();
        match raw.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.fail(column, format!("'{raw}' is not a whole number"));
                None
            }
        }
    }

    fn decimal_text(raw: &str) -> String {
        if raw.contains(',') && !raw.contains('.') {
            raw.replace(',', ".")
        } else {
            raw.to_string()
        }
    }

    fn number(&mut self, column: &str) -> Option<f64> {
        let raw = self.get(column)?.to_string();
        match Self::decimal_text(&raw).parse::<f64>() {
            Ok(n) if n.is_finite() => Some(n),
            _ => {
                self.fail(column, format!("'{raw}' is not a number"));
                None
            }
        }
    }

    fn money(&mut self, column: &str) -> Option<Cents> {
        let raw = self.get(column)?.to_string();
        match Cents::parse_decimal(&Self::decimal_text(&raw)) {
            Ok(c) => Some(c),
            Err(e) => {
                self.fail(column, e.message);
                None
            }
        }
    }

    fn flag(&mut self, column: &str, yes: &[&str], no: &[&str], default: bool) -> bool {
        let Some(raw) = self.get(column).map(str::to_string) else {
            return default;
        };
        let folded = entreposto_domain::search::fold(&raw);
        if folded == "1" || yes.contains(&folded.as_str()) {
            true
        } else if folded == "0" || no.contains(&folded.as_str()) {
            false
        } else {
            self.fail(
                column,
                format!("'{raw}' is not one of 1, 0, {}, {}", yes[0], no[0]),
            );
            default
        }
    }

    fn list(&self, column: &str) -> Vec<String> {
        self.get(column)
            .map(|v| {
                v.split('|')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A category path (`Roupas > Camisetas`) as a reference to its last category, each
/// parent a reference to create or link by name under its own parent.
fn category_path(path: &str) -> Option<CategoryRef> {
    path.split('>')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .fold(None, |parent: Option<CategoryRef>, name| {
            Some(CategoryRef {
                name: Some(name.to_string()),
                parent: parent.map(Box::new),
                ..Default::default()
            })
        })
}

/// A kit's components: `SKU1*2|SKU2` (one unit when no `*n`).
fn components(cells: &mut Cells) -> Vec<ProductPart> {
    let mut parts = Vec::new();
    for item in cells.list("components") {
        let (sku, quantity) = match item.rsplit_once('*') {
            Some((sku, n)) => match n.trim().parse::<i64>() {
                Ok(n) => (sku.trim().to_string(), n),
                Err(_) => {
                    cells.fail(
                        "components",
                        format!("'{item}': the quantity after * is not a whole number"),
                    );
                    continue;
                }
            },
            None => (item.clone(), 1),
        };
        parts.push(ProductPart {
            sku,
            kind: ProductKind::Simple,
            quantity,
        });
    }
    parts
}

/// The draft one record stands for (its group's parts not yet filled) and the group
/// SKU it is a variation of, or the reasons it cannot be read.
fn record_draft(
    columns: &HashMap<String, usize>,
    attributes: &[(String, usize)],
    record: &csv::StringRecord,
) -> (ProductDraft, Option<String>, Vec<String>) {
    let mut c = Cells {
        columns,
        record,
        errors: Vec::new(),
    };
    let kind = match c.get("type") {
        None => Some(ProductKind::Simple),
        Some(t) => match ProductKind::parse(&t.to_ascii_lowercase()) {
            Ok(k) => Some(k),
            Err(e) => {
                let m = e.message;
                c.fail("type", m);
                None
            }
        },
    };
    let quantity = c.int("quantity");
    let minimum = c.int("minimum");
    let stock_status = c.int("stockStatus").and_then(|code| {
        StockStatus::from_code(code)
            .map_err(|e| c.fail("stockStatus", e.message))
            .ok()
    });
    let stock = match (quantity, stock_status) {
        (None, None) => Vec::new(),
        (q, status) => vec![StockLevel {
            quantity: q.unwrap_or(0),
            minimum: minimum.unwrap_or(0),
            status,
            ..Default::default()
        }],
    };
    let list = c.money("priceList");
    let value = c.money("priceValue");
    let price = match (list, value) {
        (None, None) => None,
        // A sale price alone is also the list price, a list price alone the sale price.
        (l, v) => Some(Price {
            list: l.or(v).unwrap_or_default(),
            value: v.or(l).unwrap_or_default(),
            expires_at: None,
        }),
    };
    let dims = [
        ("height", c.number("height")),
        ("width", c.number("width")),
        ("length", c.number("length")),
    ];
    let weight = c.int("weight");
    let dimensions = if dims.iter().all(|(_, v)| v.is_none()) && weight.is_none() {
        None
    } else {
        for (name, v) in dims {
            if v.is_none() && c.get(name).is_none() {
                c.fail(name, "is required with the other dimensions");
            }
        }
        if weight.is_none() && c.get("weight").is_none() {
            c.fail("weight", "is required with the other dimensions (grams)");
        }
        Some(Dimensions {
            height: dims[0].1.unwrap_or(0.0),
            width: dims[1].1.unwrap_or(0.0),
            length: dims[2].1.unwrap_or(0.0),
            weight_grams: weight.unwrap_or(0),
        })
    };
    let ean = c.get("ean").map(str::to_string).and_then(|e| {
        Gtin::parse(&e)
            .map_err(|err| c.fail("ean", err.message))
            .ok()
    });
    let brand = c.text("brand");
    let manufacturer = c.text("manufacturer");
    if brand.is_none() && manufacturer.is_some() {
        c.fail(
            "manufacturer",
            "a manufacturer comes with a brand: fill 'brand'",
        );
    }
    let parts = components(&mut c);
    let parent = c.text("parent");
    match kind {
        Some(ProductKind::Simple) if !parts.is_empty() => {
            c.fail("components", "only a kit lists components")
        }
        Some(ProductKind::Group) if !parts.is_empty() => c.fail(
            "components",
            "a group's variations are the rows that name it in 'parent'",
        ),
        Some(ProductKind::Group | ProductKind::Kit) if parent.is_some() => {
            c.fail("parent", "only a simple product is a variation of a group")
        }
        _ => {}
    }
    let attribute_groups = attributes
        .iter()
        .filter_map(|(group, i)| {
            let v = record.get(*i).map(str::trim).filter(|s| !s.is_empty())?;
            Some(AttributeGroup {
                name: group.clone(),
                attribute_name: v.to_string(),
                attribute_value: v.to_string(),
                attribute_type: None,
            })
        })
        .collect();
    let draft = ProductDraft {
        id: None,
        sku: c.text("sku"),
        kind,
        fields: ProductFields {
            external_id: c.text("externalId"),
            info: ProductInfo {
                name: c.text("name").unwrap_or_default(),
                subtitle: c.text("subtitle").unwrap_or_default(),
                active: c.flag("status", ACTIVE, INACTIVE, true),
                published: c.flag("published", PUBLISHED, UNPUBLISHED, false),
                archived: false,
                model: c.text("model").unwrap_or_default(),
                item_flag: None,
                warranty: None,
            },
            stock,
            price,
            dimensions,
            freight: None,
            descriptions: c
                .text("description")
                .map(|text| {
                    vec![Description {
                        title: "Descrição".into(),
                        text,
                    }]
                })
                .unwrap_or_default(),
            images: c.list("images"),
            documents: Vec::new(),
            seo: Seo {
                url: c.text("seoUrl"),
                ..Default::default()
            },
            gtins: entreposto_domain::Gtins {
                ean,
                ..Default::default()
            },
            attribute_groups,
            related: Vec::new(),
            parts,
        },
        categories: c
            .list("categories")
            .iter()
            .filter_map(|p| category_path(p))
            .collect(),
        brand: brand.map(|b| BrandRef {
            info: PartyRef {
                name: Some(b),
                ..Default::default()
            },
            manufacturer: manufacturer.map(|m| PartyRef {
                name: Some(m),
                ..Default::default()
            }),
        }),
        collections: Vec::new(),
    };
    let errors = c.errors;
    (draft, parent, errors)
}

/// The column a domain field path (`stock[0].info.quantity`) comes from in this format.
pub fn column_of(field: &str, kind: Option<ProductKind>) -> String {
    let head = field.split(['.', '[']).next().unwrap_or(field);
    let column = match (head, field) {
        (_, "info.name") => "name",
        (_, "info.subtitle") => "subtitle",
        (_, "info.model") => "model",
        (_, f) if f.ends_with(".minimum") => "minimum",
        (_, f) if f.ends_with(".status") && head == "stock" => "stockStatus",
        ("stock", _) => "quantity",
        (_, "price[0].list") => "priceList",
        ("price", _) => "priceValue",
        (_, "dimensions.height") => "height",
        (_, "dimensions.width") => "width",
        (_, "dimensions.length") => "length",
        (_, "dimensions.weight") => "weight",
        ("dimensions", _) => "height, width, length, weight",
        ("images", _) => "images",
        ("categories", _) => "categories",
        ("brand", f) if f.starts_with("brand.manufacturer") => "manufacturer",
        ("brand", _) => "brand",
        ("gtins", _) => "ean",
        ("descriptions", _) => "description",
        ("seo", _) => "seoUrl",
        ("attributeGroups", _) => "attr:",
        ("simple", _) if kind == Some(ProductKind::Group) => "parent (no row names this group)",
        ("simple", _) => "components",
        _ => return field.to_string(),
    };
    column.to_string()
}

/// The drafts of a CSV file in import order (simple rows first, then groups and kits,
/// each in the file's order), each with the record(s) it came from.
pub fn rows(file: &CsvFile) -> Vec<Row> {
    let mut columns = HashMap::new();
    let mut attributes = Vec::new();
    for (i, name) in file.header.iter().map(str::trim).enumerate() {
        match name.strip_prefix(ATTRIBUTE) {
            Some(group) => attributes.push((group.trim().to_string(), i)),
            None => {
                columns.insert(name.to_string(), i);
            }
        }
    }
    let mut read: Vec<(ProductDraft, Option<String>, Vec<String>)> = file
        .records
        .iter()
        .map(|(_, r)| record_draft(&columns, &attributes, r))
        .collect();
    // Each variation joins the group row it names.
    let groups: HashMap<String, usize> = read
        .iter()
        .enumerate()
        .filter(|(_, (d, ..))| d.kind == Some(ProductKind::Group))
        .filter_map(|(i, (d, ..))| d.sku.clone().map(|s| (s, i)))
        .collect();
    let mut companions: Vec<Vec<usize>> = vec![Vec::new(); read.len()];
    for i in 0..read.len() {
        let Some(parent) = read[i].1.clone() else {
            continue;
        };
        match groups.get(&parent) {
            Some(&g) => {
                let sku = read[i].0.sku.clone().unwrap_or_default();
                read[g].0.fields.parts.push(ProductPart {
                    sku,
                    kind: ProductKind::Simple,
                    quantity: 1,
                });
                companions[g].push(i);
            }
            None => read[i].2.push(format!(
                "parent: no group row with SKU '{parent}' in the file"
            )),
        }
    }
    let mut rows: Vec<(bool, Row)> = read
        .into_iter()
        .zip(companions)
        .enumerate()
        .map(|(i, ((draft, _, mut errors), companions))| {
            if errors.is_empty() {
                if let Err(e) = draft.validate() {
                    errors.push(format!(
                        "{}: {}",
                        column_of(&e.field, draft.kind),
                        e.message
                    ));
                }
            }
            let simple = draft.kind == Some(ProductKind::Simple);
            let mut sources = vec![i];
            sources.extend(companions);
            let row = Row {
                at: file.records[i].0,
                sku: draft.sku.clone(),
                draft: if errors.is_empty() {
                    Ok(draft)
                } else {
                    Err(errors)
                },
                sources,
            };
            (simple, row)
        })
        .collect();
    // Stable: simples keep their order, then groups and kits keep theirs.
    rows.sort_by_key(|(simple, _)| !*simple);
    rows.into_iter().map(|(_, r)| r).collect()
}

/// Writes `records` of `file` (by index, in the file's order) under its header.
pub fn write(file: &CsvFile, records: &[usize], out: impl std::io::Write) -> anyhow::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(file.delimiter)
        .from_writer(out);
    w.write_record(&file.header)?;
    for i in records {
        w.write_record(&file.records[*i].1)?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "sku,type,parent,name,subtitle,model,quantity,priceValue,height,width,length,weight,categories,brand,manufacturer,attr:Tamanho,components";

    fn file(lines: &[&str]) -> CsvFile {
        let text = format!("{HEADER}\n{}\n", lines.join("\n"));
        read(text.as_bytes()).unwrap()
    }

    #[test]
    fn groups_gather_their_variations_and_come_after_them() {
        let f = file(&[
            "CAM,group,,Camiseta,Algodão,M1,,,2,30,40,250,Roupas > Camisetas,Hering,Cia Hering,,",
            "CAM-P,simple,CAM,Camiseta P,Algodão,M1,7,\"49,90\",2,30,40,250,Roupas > Camisetas,Hering,,P,",
            "CAM-M,,CAM,Camiseta M,Algodão,M1,3,49.90,2,30,40,250,,,,M,",
            "KIT,kit,,Kit,Duas P,M1,,89.90,2,30,40,500,,,,,CAM-P*2|CAM-M",
        ]);
        let rows = rows(&f);
        let skus: Vec<_> = rows.iter().map(|r| r.sku.clone().unwrap()).collect();
        assert_eq!(skus, ["CAM-P", "CAM-M", "CAM", "KIT"]);
        assert_eq!(rows[0].at, 3);
        let group = rows[2].draft.as_ref().unwrap();
        let parts: Vec<_> = group.fields.parts.iter().map(|p| p.sku.as_str()).collect();
        assert_eq!(parts, ["CAM-P", "CAM-M"]);
        assert_eq!(rows[2].sources, [0, 1, 2]);
        let p = rows[0].draft.as_ref().unwrap();
        assert_eq!(p.fields.price.unwrap().value, Cents(4990));
        assert_eq!(p.fields.attribute_groups[0].name, "Tamanho");
        assert_eq!(p.fields.attribute_groups[0].attribute_value, "P");
        let cat = &p.categories[0];
        assert_eq!(cat.name.as_deref(), Some("Camisetas"));
        assert_eq!(cat.parent.as_ref().unwrap().name.as_deref(), Some("Roupas"));
        let kit = rows[3].draft.as_ref().unwrap();
        assert_eq!(kit.fields.parts[0].quantity, 2);
        assert_eq!(kit.fields.parts[1].quantity, 1);
    }

    #[test]
    fn mistakes_name_their_column() {
        let f = file(&[
            "A,simple,,Camiseta,Algodão,M1,,10,2,30,40,250,,,,,",
            "B,simple,,Camiseta,Algodão,M1,1,1.001,2,30,40,250,,,,,",
            "C,simple,NOPE,Camiseta,Algodão,M1,1,10,2,30,40,250,,,,,",
            "D,bundle,,Camiseta,Algodão,M1,1,10,2,30,40,250,,,,,",
            "E,simple,,Camiseta,Algodão,M1,1,10,,30,40,250,,,Fab,,",
            "F,group,,Camiseta,Algodão,M1,,,2,30,40,250,,,,,",
        ]);
        let errors: HashMap<String, Vec<String>> = rows(&f)
            .into_iter()
            .map(|r| (r.sku.unwrap(), r.draft.err().unwrap_or_default()))
            .collect();
        let first = |sku: &str| errors[sku][0].clone();
        assert!(first("A").starts_with("quantity: "), "{errors:?}");
        assert!(first("B").starts_with("priceValue: "), "{errors:?}");
        assert!(first("C").starts_with("parent: no group row"), "{errors:?}");
        assert!(first("D").starts_with("type: "), "{errors:?}");
        assert!(
            errors["E"].iter().any(|e| e.starts_with("height: ")),
            "{errors:?}"
        );
        assert!(
            errors["E"].iter().any(|e| e.starts_with("manufacturer: ")),
            "{errors:?}"
        );
        assert!(
            first("F").starts_with("parent (no row names this group)"),
            "{errors:?}"
        );
    }

    #[test]
    fn unknown_columns_and_semicolons() {
        assert!(read(b"sku,prce\nA,1\n").is_err());
        assert!(read(b"name\nA\n").is_err());
        let f = read("sku;name;priceValue\nA;Camiseta;49,90\n".as_bytes()).unwrap();
        assert_eq!(f.delimiter, b';');
        assert_eq!(&f.records[0].1[2], "49,90");
        let mut out = Vec::new();
        write(&f, &[0], &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "sku;name;priceValue\nA;Camiseta;49,90\n"
        );
    }
}
