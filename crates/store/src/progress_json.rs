//! The stored form of an order's progress, the same on every backend: the columns a
//! listing filters on and the JSON of the rest.
//!
//! [`encode`] splits an [`OrderProgress`] into what `orders` keeps apart from the
//! marketplace's body: the state's name, the flags listings filter on (`has_pendency`,
//! `has_warnings`, `erp_sent`, derived here once for every backend), the pendencies
//! and warnings (their own columns, since every push replaces them and no push may
//! rewrite the rest), and `progress`, the JSON of everything else (history,
//! interactions, invoice, trackings, ERP marks, reservation, shipped and delivered
//! times); the version is a column of its own too. [`decode`] puts them back together.
//! The mirrors below are that JSON, key for key, with short keys because every order
//! holds one: money is centavos and times UTC microseconds, as integers; words are the
//! domain's (`Pendency::as_str`, `InteractionOrigin::as_str`, `ProductKind::as_str`).
//! JSON names its keys: a new field is added with `#[serde(default)]` and needs no
//! version; renaming one is a migration (migration 11 writes `{"hist":[{"to":..,
//! "at":..}]}` in SQL for the orders it found, see [`MIGRATED_PROGRESS`]).

use entreposto_domain::{
    Cents, ErpMark, Interaction, InteractionOrigin, Invoice, InvoiceProduct, NfeAccessKey,
    OrderProgress, OrderState, Pendency, ProductKind, StateChange, StockMove, Timestamp,
    TrackingCode,
};
use serde::{Deserialize, Serialize};

/// What a backend stores of a progress, besides its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProgress {
    /// [`state_name`] of the state.
    pub state: &'static str,
    pub has_pendency: bool,
    pub has_warnings: bool,
    pub erp_sent: bool,
    /// JSON array of pendency words.
    pub pendencies: String,
    /// JSON array of strings.
    pub warnings: String,
    /// The JSON of the rest.
    pub progress: String,
}

/// The progress a migrated order (one without any before migration 11) holds: the
/// shape the migration's SQL writes, here so a test pins that it decodes.
pub const MIGRATED_PROGRESS: &str = r#"{"hist":[{"to":"paid","at":1686102117000000}]}"#;

/// The stored name of a state, the value of `orders.state`.
pub fn state_name(state: OrderState) -> &'static str {
    match state {
        OrderState::AwaitingPayment => "awaiting_payment",
        OrderState::Paid => "paid",
        OrderState::Separated => "separated",
        OrderState::Billed => "billed",
        OrderState::Packaged => "packaged",
        OrderState::OutOfStock => "out_of_stock",
        OrderState::Shipped => "shipped",
        OrderState::Delivered => "delivered",
        OrderState::NotDelivered => "not_delivered",
        OrderState::Cancelled => "cancelled",
    }
}

pub fn state_from_name(name: &str) -> Result<OrderState, String> {
    OrderState::ALL
        .into_iter()
        .find(|s| state_name(*s) == name)
        .ok_or_else(|| format!("unknown order state '{name}'"))
}

/// The columns and JSON to store for `p`.
pub fn encode(p: &OrderProgress) -> StoredProgress {
    let rest = ProgressJson {
        hist: p.history.iter().map(HistJson::from).collect(),
        acts: p.interactions.iter().map(ActJson::from).collect(),
        nfe: p.invoice.as_ref().map(NfeJson::from),
        track: p.trackings.iter().map(|t| t.as_str().to_string()).collect(),
        erp: p.erp.iter().map(ErpJson::from).collect(),
        resv: p.reservation.iter().map(MoveJson::from).collect(),
        shipped: p.shipped_at.map(|t| t.0),
        delivered: p.delivered_at.map(|t| t.0),
    };
    StoredProgress {
        state: state_name(p.state),
        has_pendency: !p.pendencies.is_empty(),
        has_warnings: !p.warnings.is_empty(),
        erp_sent: p.erp_sent(),
        pendencies: encode_pendencies(&p.pendencies),
        warnings: serde_json::to_string(&p.warnings).expect("strings always serialize"),
        progress: serde_json::to_string(&rest).expect("a progress always serializes"),
    }
}

fn encode_pendencies(p: &[Pendency]) -> String {
    let words: Vec<&str> = p.iter().map(|p| p.as_str()).collect();
    serde_json::to_string(&words).expect("words always serialize")
}

/// The progress stored as these columns.
pub fn decode(
    state: &str,
    version: i64,
    progress: &str,
    pendencies: &str,
    warnings: &str,
) -> Result<OrderProgress, String> {
    let rest: ProgressJson =
        serde_json::from_str(progress).map_err(|e| format!("corrupt progress: {e}"))?;
    let words: Vec<&str> =
        serde_json::from_str(pendencies).map_err(|e| format!("corrupt pendencies: {e}"))?;
    let pendencies = words
        .into_iter()
        .map(|w| {
            Pendency::ALL
                .into_iter()
                .find(|p| p.as_str() == w)
                .ok_or_else(|| format!("unknown pendency '{w}'"))
        })
        .collect::<Result<_, _>>()?;
    let warnings = serde_json::from_str(warnings).map_err(|e| format!("corrupt warnings: {e}"))?;
    Ok(OrderProgress {
        state: state_from_name(state)?,
        version,
        history: rest
            .hist
            .into_iter()
            .map(StateChange::try_from)
            .collect::<Result<_, _>>()?,
        interactions: rest
            .acts
            .into_iter()
            .map(Interaction::try_from)
            .collect::<Result<_, _>>()?,
        invoice: rest.nfe.map(Invoice::try_from).transpose()?,
        trackings: rest
            .track
            .iter()
            .map(|t| TrackingCode::parse(t).map_err(|e| format!("stored tracking code: {e}")))
            .collect::<Result<_, _>>()?,
        erp: rest.erp.into_iter().map(ErpMark::from).collect(),
        pendencies,
        warnings,
        reservation: rest.resv.into_iter().map(StockMove::from).collect(),
        shipped_at: rest.shipped.map(Timestamp),
        delivered_at: rest.delivered.map(Timestamp),
    })
}

#[derive(Serialize, Deserialize, Default)]
struct ProgressJson {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    hist: Vec<HistJson>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    acts: Vec<ActJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nfe: Option<NfeJson>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    track: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    erp: Vec<ErpJson>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resv: Vec<MoveJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shipped: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delivered: Option<i64>,
}

/// A history entry: `from` is absent for the first.
#[derive(Serialize, Deserialize)]
struct HistJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    to: String,
    at: i64,
}

#[derive(Serialize, Deserialize)]
struct ActJson {
    desc: String,
    origin: String,
    action: String,
    at: i64,
}

#[derive(Serialize, Deserialize)]
struct NfeJson {
    series: u32,
    number: u64,
    key: String,
    at: i64,
    value: i64,
    #[serde(default)]
    products: Vec<NfeProductJson>,
}

#[derive(Serialize, Deserialize)]
struct NfeProductJson {
    kind: String,
    sku: String,
    cfop: u32,
}

#[derive(Serialize, Deserialize)]
struct ErpJson {
    erp: String,
    sent: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    at: i64,
}

#[derive(Serialize, Deserialize)]
struct MoveJson {
    product: i64,
    loc: i64,
    delta: i64,
}

impl From<&StateChange> for HistJson {
    fn from(h: &StateChange) -> HistJson {
        HistJson {
            from: h.from.map(|s| state_name(s).to_string()),
            to: state_name(h.to).to_string(),
            at: h.at.0,
        }
    }
}

impl TryFrom<HistJson> for StateChange {
    type Error = String;
    fn try_from(h: HistJson) -> Result<StateChange, String> {
        Ok(StateChange {
            from: h.from.as_deref().map(state_from_name).transpose()?,
            to: state_from_name(&h.to)?,
            at: Timestamp(h.at),
        })
    }
}

impl From<&Interaction> for ActJson {
    fn from(i: &Interaction) -> ActJson {
        ActJson {
            desc: i.description.clone(),
            origin: i.origin.as_str().to_string(),
            action: i.action.clone(),
            at: i.at.0,
        }
    }
}

impl TryFrom<ActJson> for Interaction {
    type Error = String;
    fn try_from(a: ActJson) -> Result<Interaction, String> {
        let origin = [InteractionOrigin::Administration, InteractionOrigin::Api]
            .into_iter()
            .find(|o| o.as_str() == a.origin)
            .ok_or_else(|| format!("unknown interaction origin '{}'", a.origin))?;
        Ok(Interaction {
            description: a.desc,
            origin,
            action: a.action,
            at: Timestamp(a.at),
        })
    }
}

impl From<&Invoice> for NfeJson {
    fn from(i: &Invoice) -> NfeJson {
        NfeJson {
            series: i.series,
            number: i.number,
            key: i.access_key.as_str().to_string(),
            at: i.issued_at.0,
            value: i.value.0,
            products: i
                .products
                .iter()
                .map(|p| NfeProductJson {
                    kind: p.kind.as_str().to_string(),
                    sku: p.sku.clone(),
                    cfop: p.cfop,
                })
                .collect(),
        }
    }
}

impl TryFrom<NfeJson> for Invoice {
    type Error = String;
    fn try_from(n: NfeJson) -> Result<Invoice, String> {
        Ok(Invoice {
            series: n.series,
            number: n.number,
            access_key: NfeAccessKey::parse(&n.key)
                .map_err(|e| format!("stored access key: {e}"))?,
            issued_at: Timestamp(n.at),
            value: Cents(n.value),
            products: n
                .products
                .into_iter()
                .map(|p| {
                    Ok(InvoiceProduct {
                        kind: ProductKind::parse(&p.kind).map_err(|e| e.message)?,
                        sku: p.sku,
                        cfop: p.cfop,
                    })
                })
                .collect::<Result<_, String>>()?,
        })
    }
}

impl From<&ErpMark> for ErpJson {
    fn from(m: &ErpMark) -> ErpJson {
        ErpJson {
            erp: m.erp.clone(),
            sent: m.sent,
            error: m.error.clone(),
            at: m.at.0,
        }
    }
}

impl From<ErpJson> for ErpMark {
    fn from(m: ErpJson) -> ErpMark {
        ErpMark {
            erp: m.erp,
            sent: m.sent,
            error: m.error,
            at: Timestamp(m.at),
        }
    }
}

impl From<&StockMove> for MoveJson {
    fn from(m: &StockMove) -> MoveJson {
        MoveJson {
            product: m.product_id,
            loc: m.location_id,
            delta: m.delta,
        }
    }
}

impl From<MoveJson> for StockMove {
    fn from(m: MoveJson) -> StockMove {
        StockMove {
            product_id: m.product,
            location_id: m.loc,
            delta: m.delta,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::full_progress;

    fn round_trip(p: &OrderProgress) -> OrderProgress {
        let s = encode(p);
        decode(s.state, p.version, &s.progress, &s.pendencies, &s.warnings).unwrap()
    }

    #[test]
    fn a_full_progress_reads_back_as_written() {
        let p = full_progress(7);
        assert_eq!(round_trip(&p), p);
        let s = encode(&p);
        assert!(s.has_pendency && s.has_warnings && s.erp_sent);
        assert_eq!(s.state, "shipped");
    }

    #[test]
    fn an_empty_progress_is_small_and_its_flags_are_off() {
        let p = OrderProgress {
            state: OrderState::AwaitingPayment,
            version: 1,
            history: vec![],
            interactions: vec![],
            invoice: None,
            trackings: vec![],
            erp: vec![],
            pendencies: vec![],
            warnings: vec![],
            reservation: vec![],
            shipped_at: None,
            delivered_at: None,
        };
        let s = encode(&p);
        assert_eq!(
            (
                s.progress.as_str(),
                s.pendencies.as_str(),
                s.warnings.as_str()
            ),
            ("{}", "[]", "[]")
        );
        assert!(!s.has_pendency && !s.has_warnings && !s.erp_sent);
        assert_eq!(round_trip(&p), p);
    }

    /// Every state has its own stored name, and it reads back.
    #[test]
    fn every_state_is_stored_by_its_name() {
        let mut names: Vec<&str> = OrderState::ALL.iter().map(|s| state_name(*s)).collect();
        for s in OrderState::ALL {
            assert_eq!(state_from_name(state_name(s)), Ok(s));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), OrderState::ALL.len());
    }

    /// What migration 11 writes for the orders it finds reads as one history entry.
    #[test]
    fn the_migrated_progress_decodes() {
        let p = decode("paid", 1, MIGRATED_PROGRESS, "[]", "[]").unwrap();
        assert_eq!(
            p.history,
            vec![StateChange {
                from: None,
                to: OrderState::Paid,
                at: Timestamp(1_686_102_117_000_000)
            }]
        );
        assert!(p.interactions.is_empty() && p.erp.is_empty() && p.invoice.is_none());
    }

    #[test]
    fn corrupt_columns_are_errors_naming_them() {
        assert!(decode("lost", 1, "{}", "[]", "[]")
            .unwrap_err()
            .contains("state"));
        assert!(decode("paid", 1, "{}", "[\"nope\"]", "[]")
            .unwrap_err()
            .contains("pendency"));
        assert!(decode("paid", 1, "{", "[]", "[]")
            .unwrap_err()
            .contains("progress"));
    }
}
