//! Reconciliation helpers shared by the Koncili, native finance and `recon load`
//! suites: a seller with its Koncili token and the operator's native token, the
//! channel's terms set to known values, orders pushed as Koncili's integrators push
//! them, statements loaded through the native API, and the listings paged as the
//! client in use pages them.

use std::collections::BTreeMap;

use entreposto_domain::{Dialect, Operator, Seller};
use reqwest::Method;
use serde_json::{json, Value};

use super::{bearer, Reply, TestApp};

pub type Headers = BTreeMap<String, String>;

/// The channel the suites reconcile, as Koncili's document names it.
pub const CHANNEL: &str = "B2W";

/// Every field of the document's extract line (and `conciliationCloseDate`, which the
/// client in use reads from listing rows).
pub const LINE_FIELDS: [&str; 40] = [
    "id",
    "oi",
    "channelStatus",
    "internalStatus",
    "orderCode",
    "orderDate",
    "paidDate",
    "invoiceDate",
    "sentDate",
    "cancelDate",
    "orderId",
    "origin",
    "paymentMethod",
    "plotValue",
    "totalValue",
    "plotsQuantity",
    "plotNumber",
    "extractType",
    "expectedValue",
    "releasedValue",
    "expectedPercentualComission",
    "releasedPercentualComission",
    "expectedDate",
    "releasedDate",
    "situation",
    "concilied",
    "observation",
    "conciliationId",
    "channel",
    "resolvedInERP",
    "orderIdHubOrigin",
    "accountName",
    "invoiceNumber",
    "customerName",
    "customerDocumentNumber",
    "conciliationInitDate",
    "conciliationEndDate",
    "conciliationCloseDate",
    "partialConcilied",
    "originalValue",
];

/// An operator (its native token) with a seller and the seller's Koncili token.
pub struct Recon {
    pub op: Operator,
    pub token: Headers,
    pub seller: Seller,
    pub kon: Headers,
}

/// A seller whose [`CHANNEL`] terms are 15% commission, payment 30 days after the
/// invoice, tolerance R$ 0.05 (and no percentage).
pub async fn recon(app: &TestApp, name: &str) -> Recon {
    let (op, token) = app.operator().await;
    recon_of(app, op, bearer(&token), name).await
}

/// Another seller of the same operator, set up as [`recon`]'s.
pub async fn recon_of(app: &TestApp, op: Operator, token: Headers, name: &str) -> Recon {
    let seller = app.seller(&op, name).await;
    let kon = app
        .credential(&op, Some(&seller), Dialect::named("koncili"))
        .await
        .headers;
    let r = Recon {
        op,
        token,
        seller,
        kon,
    };
    let set = set_terms(
        app,
        &r,
        CHANNEL,
        &json!({"commission": {"rate": 15}, "payment": {"base": "invoice", "days": 30},
                "tolerance": {"amount": 0.05, "percent": 0}}),
    )
    .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    r
}

pub async fn set_terms(app: &TestApp, r: &Recon, channel: &str, body: &Value) -> Reply {
    app.put(
        &format!(
            "/api/v1/sellers/{}/finance/channels/{}",
            r.seller.id,
            enc(channel)
        ),
        &r.token,
        body,
    )
    .await
}

/// `text` percent-encoded for a path segment.
pub fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The order of Koncili's document (570.00 in one installment, invoiced
/// 2018-01-02T12:00Z) as WIRE-NOTES's integrators push it, with `code`; `edit`
/// applied.
pub fn koncili_order(code: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let mut v = json!({
        "orderCode": code, "orderId": "01-23456789",
        "orderDate": "2018-01-01T12:00:00.000+0000", "orderStatus": "CONCLUDED",
        "hubName": "B2W", "accountName": "marketplace_account", "channelName": CHANNEL,
        "totalFreightValue": 0, "invoiceNumber": "002569",
        "invoiceDate": "2018-01-02T12:00:00.000+0000", "totalNetValue": 570.00,
        "customer": {"name": "João da Silva", "documentNumber": "529.982.247-25"},
        "items": [{"idInMarketplace": "1", "code": "SKU-1", "quantity": 1, "unitValue": 570.00,
            "freightValue": 0, "sendDate": "2018-01-03T12:00:00.000+0000"}],
        "payments": [{"method": "BILLET", "date": "2018-01-02T10:00:00.000+0000",
            "value": 570.00, "installmentQuantity": 1}]
    });
    edit(&mut v);
    v
}

/// Pushes `body` through `POST /externalapi/order`, expecting success; the order's
/// installments.
pub async fn push(app: &TestApp, kon: &Headers, body: &Value) -> Vec<Value> {
    let r = app.post("/koncili/externalapi/order", kon, body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], 200);
    assert_eq!(r.body["message"], "OK");
    r.body["responseObject"]["installments"]
        .as_array()
        .expect("installments")
        .clone()
}

/// Loads `csv` as a [`CHANNEL`] statement of `r`'s seller through the native API.
pub async fn load(app: &TestApp, r: &Recon, csv: &str) -> Reply {
    load_as(app, r, CHANNEL, "text/csv", csv.as_bytes().to_vec()).await
}

pub async fn load_as(
    app: &TestApp,
    r: &Recon,
    channel: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Reply {
    app.send(
        Method::POST,
        &format!(
            "/api/v1/sellers/{}/finance/statements?channel={}",
            r.seller.id,
            enc(channel)
        ),
        &r.token,
        content_type,
        body,
    )
    .await
}

/// Loads `csv`, expecting a new conciliation; its id.
pub async fn loaded(app: &TestApp, r: &Recon, csv: &str) -> i64 {
    let l = load(app, r, csv).await;
    assert_eq!(l.status, 201, "{:?}", l.body);
    assert_eq!(l.body["unchanged"], false);
    l.body["conciliation"]["id"]
        .as_i64()
        .expect("conciliation id")
}

/// The seller's conciliations through the native API, newest first.
pub async fn conciliations(app: &TestApp, r: &Recon, query: &str) -> Vec<Value> {
    let list = app
        .get(
            &format!(
                "/api/v1/sellers/{}/finance/conciliations{query}",
                r.seller.id
            ),
            &r.token,
        )
        .await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    list.body.as_array().expect("conciliations").clone()
}

/// The statement header the suites write.
pub const HEADER: &str =
    "orderCode,type,plotNumber,releasedValue,releasedPercentualComission,releasedDate";

/// The order's extract lines (`{"elements": [...]}`), expecting success.
pub async fn extract(app: &TestApp, kon: &Headers, code: &str) -> Vec<Value> {
    let r = app
        .get(
            &format!("/koncili/externalapi/orderextract/{}/{CHANNEL}", enc(code)),
            kon,
        )
        .await;
    assert_eq!(r.status, 200, "{code}: {:?}", r.body);
    r.body["elements"].as_array().expect("elements").clone()
}

/// The line of `kind` and installment `plot` among `lines`.
#[track_caller]
pub fn line<'a>(lines: &'a [Value], kind: &str, plot: u64) -> &'a Value {
    lines
        .iter()
        .find(|l| l["extractType"] == kind && l["plotNumber"] == plot)
        .unwrap_or_else(|| panic!("no {kind} {plot} in {lines:?}"))
}

/// One page of a listing (`concilieds` or `unresolveds`) with `query`.
pub async fn page(app: &TestApp, kon: &Headers, listing: &str, query: &str) -> Value {
    let r = app
        .get(
            &format!("/koncili/externalapi/orderextract/{listing}{query}"),
            kon,
        )
        .await;
    assert_eq!(r.status, 200, "{listing}{query}: {:?}", r.body);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    r.body
}

/// Every line of a listing as the client in use reads it: once without `offset`,
/// then `ceil(count / limit)` pages, adding `limit` each time. `query` holds the
/// filters (`initDate=...&endDate=...`).
pub async fn page_all(app: &TestApp, kon: &Headers, listing: &str, query: &str) -> Vec<Value> {
    let first = page(app, kon, listing, &format!("?{query}")).await;
    let count = first["page"]["count"].as_u64().expect("count");
    let limit = first["page"]["limit"].as_u64().expect("limit");
    assert_eq!(first["page"]["offset"], 0);
    assert!(limit > 0 && limit <= 100, "{first}");
    let mut all = Vec::new();
    let pages = count.div_ceil(limit);
    for p in 0..pages {
        let offset = p * limit;
        let b = page(app, kon, listing, &format!("?{query}&offset={offset}")).await;
        assert_eq!(b["page"]["offset"], offset);
        assert_eq!(b["page"]["count"], count, "the count holds across pages");
        all.extend(b["content"].as_array().expect("content").iter().cloned());
    }
    assert_eq!(all.len() as u64, count, "{listing}: every line once");
    all
}

/// `PUT /externalapi/orderextract/{which}/batch` with `ids`.
pub async fn batch(app: &TestApp, kon: &Headers, which: &str, ids: &[i64]) -> Reply {
    app.put(
        &format!("/koncili/externalapi/orderextract/{which}/batch"),
        kon,
        &json!(ids),
    )
    .await
}

/// Whether `v` is a date as Koncili's document writes them
/// (`2018-01-01T12:00:00.000+0000`).
pub fn koncili_time(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    let b = s.as_bytes();
    s.len() == 28
        && b[4] == b'-'
        && b[10] == b'T'
        && b[19] == b'.'
        && s.ends_with("+0000")
        && s[20..23].bytes().all(|c| c.is_ascii_digit())
}

/// A valid NF-e access key of series 1 and `number` issued by `cnpj` (state 35,
/// June 2023), its check digit computed.
pub fn nfe_key(cnpj: &str, number: u64) -> String {
    let body = format!("352306{cnpj}55{:03}{number:09}1{:08}", 1, 1234);
    format!(
        "{body}{}",
        entreposto_domain::fiscal::mod11_check_digit(&body)
    )
}

/// An amount on the wire (`570.0`, `85.5`) in centavos.
#[track_caller]
pub fn cents(v: &Value) -> i64 {
    let f = v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"));
    (f * 100.0).round() as i64
}

/// Asserts a Koncili refusal: `status`, JSON, `{"response": ...}` holding every one
/// of `words`.
#[track_caller]
pub fn refused(r: &Reply, status: u16, words: &[&str]) {
    assert_eq!(r.status, status, "{:?}", r.body);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    let m = r.body["response"]
        .as_str()
        .unwrap_or_else(|| panic!("no response in {:?}", r.body));
    for w in words {
        assert!(m.contains(w), "'{w}' not in {m:?}");
    }
}
