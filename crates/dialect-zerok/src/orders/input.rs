//! The bodies of 00K's order updates, field for field as the document spells them,
//! read into the domain's values: a state, tracking codes, an invoice, an ERP mark.
//!
//! As for the catalog ([`crate::input`]), parsing decides no business rule: it reads
//! each value in the spellings clients use (`serie` and `number` as numbers or
//! strings, the key as `acessKey`, the schema's spelling, or `accessKey`, the
//! example's), parses what the domain has a parser for (the NF-e key part by part,
//! Correios codes with their check digit, the CFOP's digits) and leaves the rest to
//! the use case: whether the move is legal, whether the key's series, number and
//! issuer are the invoice's and the seller's, whether CFOPs are exit codes. Every
//! refusal names its field.

use entreposto_domain::{
    Cents, ErpMark, FieldError, Invoice, InvoiceProduct, NfeAccessKey, OrderState, Timestamp,
    TrackingCode,
};
use entreposto_http::body::Amount;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::wire::{Flag, Kind, Text, When};

fn required(field: &str) -> FieldError {
    FieldError::new(field, "is required")
}

/// The statuses `PUT /orders/{id}/status` sets, with their substatus.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum StatusWord {
    pickandpack,
    shipped,
    delivery,
    cancelled,
}

/// The substatuses: of `pickandpack` (`outofstock`, `separated`, `billed`,
/// `packaged`) and of `delivery` (`notdelivered`, `delivered`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum SubstatusWord {
    outofstock,
    separated,
    billed,
    packaged,
    notdelivered,
    delivered,
}

/// `PUT /orders/{id}/status`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct StatusIn {
    /// `pickandpack` (needs its substatus), `shipped`, `delivery` (needs its
    /// substatus) or `cancelled`.
    #[schema(value_type = StatusWord)]
    pub status: Option<String>,
    /// Required for `pickandpack` and `delivery`; none for the others (null or empty
    /// is none).
    #[schema(value_type = Option<SubstatusWord>)]
    pub substatus: Option<String>,
}

impl StatusIn {
    /// The state asked for.
    pub fn state(self) -> Result<OrderState, FieldError> {
        let status = self.status.ok_or_else(|| required("status"))?;
        let word = status.trim().to_ascii_lowercase();
        if !["pickandpack", "shipped", "delivery", "cancelled"].contains(&word.as_str()) {
            return Err(FieldError::new(
                "status",
                format!(
                    "'{status}' is not a status this API sets (pickandpack, shipped, delivery, cancelled)"
                ),
            ));
        }
        let sub = self
            .substatus
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty());
        OrderState::parse(&word, sub.as_deref())
    }
}

/// `PUT /orders/{id}/tracking`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct TrackingIn {
    /// Correios SRO codes: two letters, eight digits, the check digit, two letters
    /// (`AA123456785BR`). The document's example `XY123456789BR` has a wrong check
    /// digit (its digits give 5), so it is refused.
    #[schema(value_type = Vec<String>, min_items = 1)]
    pub trackings: Option<Vec<Text>>,
}

impl TrackingIn {
    /// The codes, every wrong one named in the refusal.
    pub fn codes(self) -> Result<Vec<TrackingCode>, FieldError> {
        let raw = self.trackings.ok_or_else(|| required("trackings"))?;
        if raw.is_empty() {
            return Err(FieldError::new("trackings", "must list at least one code"));
        }
        let mut codes = Vec::with_capacity(raw.len());
        let mut wrong = Vec::new();
        for (i, Text(code)) in raw.iter().enumerate() {
            match TrackingCode::parse(code) {
                Ok(c) => codes.push(c),
                Err(e) => wrong.push((i, e.message)),
            }
        }
        match wrong.as_slice() {
            [] => Ok(codes),
            [(i, why)] => Err(FieldError::new(format!("trackings[{i}]"), why.clone())),
            _ => Err(FieldError::new(
                "trackings",
                wrong
                    .iter()
                    .map(|(i, why)| format!("trackings[{i}]: {why}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            )),
        }
    }
}

/// `PUT /orders/{id}/invoice`: the order's NF-e.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceIn {
    /// The series (a number or a string of digits); the key's `serie` must be it.
    #[schema(value_type = String, example = "1")]
    pub serie: Option<Text>,
    /// The 44-digit access key, spelled as the document's schema spells it (spaces and
    /// dots between groups of digits are dropped).
    #[schema(value_type = Option<String>, example = "35150810406561000149550010000349861000108001")]
    pub acess_key: Option<Text>,
    /// The access key spelled as the document's example spells it; either is taken
    /// (both must agree).
    #[schema(value_type = Option<String>)]
    pub access_key: Option<Text>,
    /// The invoice's number (a number or a string of digits); the key's `nNF` must be
    /// it.
    #[schema(value_type = String, example = "34986")]
    pub number: Option<Text>,
    /// When the invoice was issued.
    #[schema(value_type = When)]
    pub date: Option<When>,
    /// The invoice's total, in reais.
    #[schema(value_type = Amount)]
    pub value: Option<Amount>,
    /// The invoiced products with their CFOP.
    #[schema(value_type = Vec<InvoiceProductIn>, min_items = 1)]
    pub products: Option<Vec<InvoiceProductIn>>,
}

/// One invoiced product.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct InvoiceProductIn {
    /// `simple` or `kit`.
    #[serde(rename = "type")]
    #[schema(value_type = InvoicedKind)]
    pub kind: Option<Kind>,
    #[schema(value_type = String)]
    pub sku: Option<Text>,
    /// The CFOP: four digits, an exit code (starting with 5, 6 or 7); a number or a
    /// string of digits.
    #[schema(value_type = i64, minimum = 5000, maximum = 7999)]
    pub cfop: Option<Text>,
}

/// The kinds of product an invoice lists.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum InvoicedKind {
    simple,
    kit,
}

/// Digits as a number, the field named when they are not.
fn digits<T: std::str::FromStr>(field: &str, raw: &str) -> Result<T, FieldError> {
    let s = raw.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(field, format!("'{raw}' is not a number")));
    }
    s.parse()
        .map_err(|_| FieldError::new(field, format!("'{raw}' is out of range")))
}

impl InvoiceIn {
    /// The invoice as sent (its key parsed part by part; the rest is checked by the
    /// use case against the order and the seller).
    pub fn invoice(self) -> Result<Invoice, FieldError> {
        let series: u32 = digits("serie", &self.serie.ok_or_else(|| required("serie"))?.0)?;
        let (name, key) = match (self.acess_key, self.access_key) {
            (Some(a), Some(b)) if a.0.trim() != b.0.trim() => {
                return Err(FieldError::new(
                    "accessKey",
                    "acessKey and accessKey are both given and differ",
                ))
            }
            (Some(a), _) => ("acessKey", a.0),
            (None, Some(b)) => ("accessKey", b.0),
            (None, None) => return Err(required("accessKey")),
        };
        let access_key = NfeAccessKey::parse(&key).map_err(|e| e.under(name))?;
        let number: u64 = digits("number", &self.number.ok_or_else(|| required("number"))?.0)?;
        let issued_at: Timestamp = self.date.ok_or_else(|| required("date"))?.0;
        let value: Cents = self.value.ok_or_else(|| required("value"))?.0;
        let products = self.products.ok_or_else(|| required("products"))?;
        let products = products
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let f = |name: &str| format!("products[{i}].{name}");
                let kind = p.kind.ok_or_else(|| required(&f("type")))?.0;
                let sku = p.sku.ok_or_else(|| required(&f("sku")))?.0;
                let cfop = digits(&f("cfop"), &p.cfop.ok_or_else(|| required(&f("cfop")))?.0)?;
                Ok(InvoiceProduct { kind, sku, cfop })
            })
            .collect::<Result<Vec<_>, FieldError>>()?;
        Ok(Invoice {
            series,
            number,
            access_key,
            issued_at,
            value,
            products,
        })
    }
}

/// `PUT /orders/{id}/erp` (an extension of the document): an ERP took the order, or
/// failed to.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErpIn {
    /// Which ERP.
    #[serde(rename = "type")]
    #[schema(value_type = super::filter::ErpType)]
    pub erp: Option<String>,
    /// true: the ERP has the order; false: it has not (taking it failed).
    #[schema(value_type = bool)]
    pub sent: Option<Flag>,
    /// Why taking the order failed, if it did.
    pub error_message: Option<String>,
}

/// An ERP's report on an order, as the use case takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErpReport {
    pub erp: String,
    pub sent: bool,
    pub error: Option<String>,
}

impl ErpIn {
    pub fn report(self) -> Result<ErpReport, FieldError> {
        let erp = ErpMark::parse_erp(&self.erp.ok_or_else(|| required("type"))?)?;
        let sent = self.sent.ok_or_else(|| required("sent"))?.0;
        Ok(ErpReport {
            erp,
            sent,
            error: self.error_message.filter(|m| !m.trim().is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entreposto_domain::ProductKind;

    fn read<T: serde::de::DeserializeOwned>(json: &str) -> T {
        entreposto_http::body::parse_json::<T>(json.as_bytes()).unwrap()
    }

    fn state(json: &str) -> Result<OrderState, FieldError> {
        read::<StatusIn>(json).state()
    }

    #[test]
    fn statuses_with_and_without_substatus() {
        assert_eq!(
            state(r#"{"status": "pickandpack", "substatus": "billed"}"#),
            Ok(OrderState::Billed)
        );
        assert_eq!(state(r#"{"status": "shipped"}"#), Ok(OrderState::Shipped));
        assert_eq!(
            state(r#"{"status": "shipped", "substatus": null}"#),
            Ok(OrderState::Shipped)
        );
        assert_eq!(
            state(r#"{"status": "Delivery", "substatus": "NotDelivered"}"#),
            Ok(OrderState::NotDelivered)
        );
        assert_eq!(
            state(r#"{"status": "cancelled", "substatus": ""}"#),
            Ok(OrderState::Cancelled)
        );
        for (json, field) in [
            (r#"{"status": "pickandpack"}"#, "substatus"),
            (
                r#"{"status": "delivery", "substatus": "billed"}"#,
                "substatus",
            ),
            (
                r#"{"status": "shipped", "substatus": "billed"}"#,
                "substatus",
            ),
            (r#"{"status": "payment", "substatus": "paid"}"#, "status"),
            (r#"{"status": "lost"}"#, "status"),
            (r#"{}"#, "status"),
        ] {
            assert_eq!(state(json).unwrap_err().field, field, "{json}");
        }
    }

    #[test]
    fn tracking_codes_each_wrong_one_named() {
        let codes = read::<TrackingIn>(r#"{"trackings": ["xy123456785br", "AA000000005BR"]}"#)
            .codes()
            .unwrap();
        assert_eq!(codes[0].as_str(), "XY123456785BR");
        let e =
            read::<TrackingIn>(r#"{"trackings": ["XY123456785BR", "XY123456789BR", "1123456-3"]}"#)
                .codes()
                .unwrap_err();
        assert_eq!(e.field, "trackings");
        assert!(e.message.contains("trackings[1]") && e.message.contains("trackings[2]"));
        assert!(!e.message.contains("trackings[0]"), "{e}");
        assert_eq!(
            read::<TrackingIn>(r#"{"trackings": []}"#)
                .codes()
                .unwrap_err()
                .field,
            "trackings"
        );
        assert_eq!(
            read::<TrackingIn>("{}").codes().unwrap_err().field,
            "trackings"
        );
    }

    /// The document's example, its JavaScript quotes fixed.
    const EXAMPLE: &str = r#"{
        "serie": 1,
        "accessKey": "35150810406561000149550010000349861000108001",
        "number": 34986,
        "date": "2015-08-21T03:00:00.000Z",
        "value": 20.58,
        "products": [{"type": "kit", "sku": "2647", "cfop": 6108}]
    }"#;

    #[test]
    fn the_documents_invoice_reads_whole() {
        let inv = read::<InvoiceIn>(EXAMPLE).invoice().unwrap();
        assert_eq!((inv.series, inv.number), (1, 34986));
        assert_eq!(inv.value, Cents(2058));
        assert_eq!(
            inv.issued_at,
            Timestamp::parse("2015-08-21T03:00:00Z").unwrap()
        );
        assert_eq!(
            inv.products,
            [InvoiceProduct {
                kind: ProductKind::Kit,
                sku: "2647".into(),
                cfop: 6108
            }]
        );
        inv.validate(None).unwrap();
        // The schema's spelling, and numbers as strings.
        let schema = EXAMPLE
            .replace("\"accessKey\"", "\"acessKey\"")
            .replace("\"number\": 34986", "\"number\": \"34986\"")
            .replace("\"serie\": 1", "\"serie\": \"001\"")
            .replace("6108", "\"6108\"");
        let inv = read::<InvoiceIn>(&schema).invoice().unwrap();
        assert_eq!(
            (inv.series, inv.number, inv.products[0].cfop),
            (1, 34986, 6108)
        );
    }

    #[test]
    fn invoice_mistakes_name_their_field_and_the_keys_part() {
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
            match entreposto_http::body::parse_json::<InvoiceIn>(doc.to_string().as_bytes()) {
                Ok(i) => i.invoice().unwrap_err(),
                Err(entreposto_http::ApiError::Invalid(f)) => f,
                Err(e) => panic!("{e:?}"),
            }
        };
        let key = |k: &str| with(&["accessKey"], serde_json::json!(k));
        let e = key("35150810406561000149550010000349861000108002");
        assert_eq!(e.field, "accessKey");
        assert!(e.message.starts_with("cDV"), "{e}");
        let e = key("99150810406561000149550010000349861000108001");
        assert!(e.message.starts_with("cUF"), "{e}");
        for (path, value, field) in [
            (&["serie"][..], serde_json::json!("um"), "serie"),
            (&["serie"][..], serde_json::json!(null), "serie"),
            (&["number"][..], serde_json::json!(-1), "number"),
            (&["date"][..], serde_json::json!("amanhã"), "date"),
            (&["value"][..], serde_json::json!("20.58"), "value"),
            (&["products"][..], serde_json::json!(null), "products"),
            (
                &["products", "0", "type"][..],
                serde_json::json!("bundle"),
                "products[0].type",
            ),
            (
                &["products", "0", "sku"][..],
                serde_json::json!(null),
                "products[0].sku",
            ),
            (
                &["products", "0", "cfop"][..],
                serde_json::json!("61.08"),
                "products[0].cfop",
            ),
            (
                &["products", "0", "cfop"][..],
                serde_json::json!(61.5),
                "products[0].cfop",
            ),
        ] {
            assert_eq!(with(path, value.clone()).field, field, "{path:?} = {value}");
        }
        let both = EXAMPLE.replace(
            "\"number\"",
            "\"acessKey\": \"35150810406561000149550010000349861000108002\", \"number\"",
        );
        assert_eq!(
            read::<InvoiceIn>(&both).invoice().unwrap_err().field,
            "accessKey"
        );
    }

    #[test]
    fn erp_reports() {
        let r = read::<ErpIn>(r#"{"type": "Bling", "sent": true, "errorMessage": null}"#)
            .report()
            .unwrap();
        assert_eq!(
            r,
            ErpReport {
                erp: "bling".into(),
                sent: true,
                error: None
            }
        );
        let failed = read::<ErpIn>(r#"{"type": "tiny", "sent": 0, "errorMessage": "SKU X"}"#)
            .report()
            .unwrap();
        assert_eq!(
            (failed.sent, failed.error.as_deref()),
            (false, Some("SKU X"))
        );
        assert_eq!(
            read::<ErpIn>(r#"{"type": "totvs", "sent": true}"#)
                .report()
                .unwrap_err()
                .field,
            "type"
        );
        assert_eq!(
            read::<ErpIn>(r#"{"type": "sap"}"#)
                .report()
                .unwrap_err()
                .field,
            "sent"
        );
    }
}
