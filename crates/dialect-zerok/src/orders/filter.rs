//! The order listing's query (`GET /orders`): each of the document's parameters read
//! into the store's [`OrderFilter`], and the page links.
//!
//! Pages count from 0, 30 orders each. The document's example answers `"next":
//! "?page=2", "previous": "?page=0"` to a request for `page=1`: a page 0 exists before
//! page 1, so the first page is 0 (as in the catalog's listing). Dates (`start`,
//! `end`) are ISO 8601 or its cuts clients send (`yyyy-MM-dd`, `yyyy-MM-dd HH:mm`,
//! zone-less meaning Brasília time); a cut date covers all of what it names, so
//! `end=2014-05-13` and `end=2014-05-13 23:59` take in the whole last day or minute.
//! `end` left out is "the current date", as the document puts it: today, to its last
//! instant in Brasília time. A bound that moves only once a day (rather than with
//! every request's clock) also keeps the query the same from one request to the next,
//! so the store's cached count of the listing answers every page's `total` until the
//! next write. Flags are `true` or `false` (`1`, `0` too). A value outside
//! a parameter's vocabulary is 2.1 naming the parameter; unknown parameters are
//! ignored.

use entreposto_domain::{ErpMark, OrderState, Timestamp};
use entreposto_http::query::QueryPairs;
use entreposto_http::ApiError;
use entreposto_store::OrderFilter;
use utoipa::IntoParams;

use super::origin;

/// Orders on a page of the listing.
pub const PAGE_SIZE: u64 = 30;

/// The listing's filters as the document names them, in the order links repeat them.
pub const FILTERS: [&str; 12] = [
    "external_id",
    "marketplace",
    "start",
    "end",
    "trans_id",
    "marketplace_id",
    "status",
    "with_pendency",
    "erp_sent",
    "erp_type",
    "with_warnings",
    "order_origin",
];

/// The listing's statuses (`status=`), and the states each takes in.
pub const LISTING_STATUSES: [&str; 5] = [
    "awaiting_payment",
    "accepted_payment",
    "pick_and_pack",
    "shipped",
    "delivered",
];

/// What a listing query asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub filter: OrderFilter,
    /// Orders of any of these channels (from `order_origin` naming several); empty
    /// for no such condition.
    pub channels: Vec<String>,
    pub page: u64,
    /// The filters contradict each other (`external_id` and `marketplace_id` naming
    /// two orders, an origin outside `marketplace`, an origin no marketplace has):
    /// nothing matches, without asking the store.
    pub nothing: bool,
    /// No filter was given (paging aside): every order of the store is in the listing
    /// up to the default `end`.
    pub unfiltered: bool,
}

/// A date parameter as an instant: the first one it covers, or with `last` the last.
fn date(q: &QueryPairs, name: &str, last: bool) -> Result<Option<Timestamp>, ApiError> {
    let Some(raw) = q.get(name) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::invalid(
            name,
            format!(
                "'{raw}' is not a date (yyyy-MM-dd, yyyy-MM-dd HH:mm in Brasília time, or ISO 8601)"
            ),
        )
    };
    let s = raw.trim();
    let t = Timestamp::parse(s).map_err(|_| bad())?;
    if !last {
        return Ok(Some(t));
    }
    // How much a cut of the text names: a day, a minute or a second (a fraction or a
    // zone makes it an instant).
    let b = s.as_bytes();
    let cut =
        |n: usize| b.len() == n && b.iter().all(|c| c.is_ascii_digit() || b"-: T".contains(c));
    let span: i64 = if cut(10) {
        86_400_000_000
    } else if cut(16) {
        60_000_000
    } else if cut(19) {
        1_000_000
    } else {
        1
    };
    Ok(Some(Timestamp(t.0 + span - 1)))
}

fn flag(q: &QueryPairs, name: &str) -> Result<Option<bool>, ApiError> {
    match q.get(name) {
        None => Ok(None),
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(Some(true)),
            "false" | "0" => Ok(Some(false)),
            _ => Err(ApiError::invalid(
                name,
                format!("'{v}' is not true or false"),
            )),
        },
    }
}

/// The states a listing status takes in.
pub fn listing_states(word: &str) -> Option<Vec<OrderState>> {
    let w = word.trim().to_ascii_lowercase();
    let states: Vec<OrderState> = OrderState::ALL
        .into_iter()
        .filter(|s| s.listing_status() == Some(w.as_str()))
        .collect();
    (!states.is_empty()).then_some(states)
}

/// The last instant of `now`'s day in Brasília time.
pub fn end_of_day(now: Timestamp) -> Timestamp {
    const DAY: i64 = 86_400_000_000;
    let offset = i64::from(entreposto_domain::time::brasilia().local_minus_utc()) * 1_000_000;
    let local = now.0 + offset;
    Timestamp((local.div_euclid(DAY) + 1) * DAY - 1 - offset)
}

/// Reads the listing's query; `end` left out is the end of `now`'s day.
pub fn listing(q: &QueryPairs, now: Timestamp) -> Result<Listing, ApiError> {
    let page = match q.get("page") {
        Some(p) => p
            .trim()
            .parse::<u64>()
            .ok()
            // Offsets are signed in the stores.
            .filter(|n| {
                n.checked_mul(PAGE_SIZE)
                    .is_some_and(|o| o <= i64::MAX as u64)
            })
            .ok_or_else(|| {
                ApiError::invalid("page", format!("'{p}' is not a page number (0, 1, ...)"))
            })?,
        None => 0,
    };
    let mut nothing = false;
    let exact = |name: &str| q.get(name).map(|v| v.trim().to_string());
    let external_id = exact("external_id");
    let marketplace_id = exact("marketplace_id");
    if let (Some(a), Some(b)) = (&external_id, &marketplace_id) {
        nothing |= a != b;
    }
    let placed_from = date(q, "start", false)?;
    let given_end = date(q, "end", true)?;
    if let (Some(from), Some(to)) = (placed_from, given_end) {
        if from > to {
            return Err(ApiError::invalid(
                "end",
                format!(
                    "'{}' is before start '{}'",
                    q.get("end").unwrap_or_default(),
                    q.get("start").unwrap_or_default()
                ),
            ));
        }
    }
    let mut states = Vec::new();
    if let Some(raw) = q.get("status") {
        for word in raw.split(',').filter(|w| !w.trim().is_empty()) {
            states.extend(listing_states(word).ok_or_else(|| {
                ApiError::invalid(
                    "status",
                    format!(
                        "'{word}' is not a listing status ({})",
                        LISTING_STATUSES.join(", ")
                    ),
                )
            })?);
        }
    }
    let erp_type = q
        .get("erp_type")
        .map(|t| ErpMark::parse_erp(t).map_err(|e| ApiError::Invalid(e.under_name("erp_type"))))
        .transpose()?;
    let mut channel = q.get("marketplace").map(origin::channel_named);
    let mut channels = Vec::new();
    if let Some(word) = q.get("order_origin") {
        let named = origin::channels_of(word).ok_or_else(|| {
            ApiError::invalid(
                "order_origin",
                format!(
                    "'{word}' is not an order origin ({})",
                    origin::words().collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
        match (&channel, named) {
            (_, []) => nothing = true,
            (Some(c), named) => {
                nothing |= !named.iter().any(|n| origin::key(n) == origin::key(c));
            }
            (None, [one]) => channel = Some(one.to_string()),
            (None, many) => channels = many.iter().map(|c| c.to_string()).collect(),
        }
    }
    let filter = OrderFilter {
        id: None,
        channel,
        marketplace_order_id: external_id.or(marketplace_id),
        transaction_id: exact("trans_id"),
        placed_from,
        placed_to: Some(given_end.unwrap_or_else(|| end_of_day(now))),
        states,
        with_pendency: flag(q, "with_pendency")?,
        with_warnings: flag(q, "with_warnings")?,
        erp_sent: flag(q, "erp_sent")?,
        erp_type,
        from_position: None,
        offset: page * PAGE_SIZE,
        limit: PAGE_SIZE as u32,
    };
    let unfiltered = given_end.is_none()
        && channels.is_empty()
        && !nothing
        && filter
            == OrderFilter {
                placed_to: filter.placed_to,
                offset: filter.offset,
                limit: filter.limit,
                ..OrderFilter::default()
            };
    Ok(Listing {
        filter,
        channels,
        page,
        nothing,
        unfiltered,
    })
}

/// A link to page `page` of the same listing, relative as the document writes it
/// (`?page=2`), with the filters the request gave.
pub fn page_link(q: &QueryPairs, page: u64) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for name in FILTERS {
        if let Some(v) = q.get(name) {
            query.append_pair(name, v);
        }
    }
    query.append_pair("page", &page.to_string());
    format!("?{}", query.finish())
}

/// Renames a field error of a domain parse to the parameter it came in.
trait UnderName {
    fn under_name(self, name: &str) -> entreposto_domain::FieldError;
}

impl UnderName for entreposto_domain::FieldError {
    fn under_name(mut self, name: &str) -> entreposto_domain::FieldError {
        self.field = name.to_string();
        self
    }
}

/// The listing's query parameters, as the document lists them (unknown ones are
/// ignored).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListQuery {
    /// The order's id at its marketplace (the hub keeps one such id: see `externalId`).
    external_id: Option<String>,
    /// The marketplace's name, as the order's `marketPlace` shows it (compared without
    /// case, accents, spaces or punctuation for the marketplaces `order_origin` names).
    marketplace: Option<String>,
    /// Orders placed from this instant: `yyyy-MM-dd`, `yyyy-MM-dd HH:mm` (Brasília
    /// time) or ISO 8601.
    #[param(
        pattern = r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)?\s*$"
    )]
    start: Option<String>,
    /// Orders placed up to this date, inclusive (a day or minute counts whole); the
    /// current date (today, to its end in Brasília time) when left out.
    #[param(
        pattern = r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)?\s*$"
    )]
    end: Option<String>,
    /// The page, from 0; 30 orders a page.
    #[param(minimum = 0, maximum = 307_445_734_561_825_860i64)]
    page: Option<u64>,
    /// A payment's transaction id.
    trans_id: Option<String>,
    /// The order's id at its marketplace (the same id as `external_id`).
    marketplace_id: Option<String>,
    /// `awaiting_payment` (pending/payment), `accepted_payment` (payment/paid),
    /// `pick_and_pack` (pickandpack/*), `shipped` (shipped, delivery/notdelivered) or
    /// `delivered` (delivery/delivered); several separated by commas.
    #[param(inline, value_type = Option<ListingStatus>)]
    status: Option<String>,
    /// true: only orders with a pendency; false: only orders without.
    with_pendency: Option<bool>,
    /// true: only orders an ERP took (`PUT /orders/{id}/erp`); false: only orders no
    /// ERP has (the ERP's work queue).
    erp_sent: Option<bool>,
    /// Only orders this ERP took.
    #[param(inline, value_type = Option<ErpType>)]
    erp_type: Option<String>,
    /// true: only orders with warnings; false: only orders without.
    with_warnings: Option<bool>,
    /// Only orders from this origin: each word names marketplaces (see the document's
    /// description); `ecommerce` and `sistema` name none the hub receives orders from.
    #[param(inline, value_type = Option<OrderOrigin>)]
    order_origin: Option<String>,
}

/// The listing's statuses.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum ListingStatus {
    awaiting_payment,
    accepted_payment,
    pick_and_pack,
    shipped,
    delivered,
}

/// The ERPs the hub tells apart (`erp_type`, `PUT /orders/{id}/erp`'s `type`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum ErpType {
    tiny,
    bling,
    informix,
    sony,
    abacos,
    eccosys,
    millenium,
    softvar,
    sap,
}

/// The document's order origins.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum OrderOrigin {
    ecommerce,
    mercadolivre,
    sistema,
    b2w_shoptime,
    b2w_submarino,
    b2w_americanas,
    cnova,
    b2w_sou_barato,
    wallmart,
    cnova_extra,
    cnova_casas_bahia,
    cnova_ponto_frio,
    cnova_cdiscount,
    cnova_barateiro,
    cnova_ehub,
    b2w,
    mercadoshops,
}

#[cfg(test)]
mod tests {
    use super::*;
    use entreposto_domain::ERP_TYPES;

    fn q(s: &str) -> QueryPairs {
        QueryPairs::parse(s)
    }

    const NOW: Timestamp = Timestamp(1_700_000_000_000_000);

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn every_parameter_of_the_document() {
        let l = listing(
            &q(
                "external_id=123&marketplace=mercado-livre&start=2014-05-12&end=2014-05-13\
                &page=1&trans_id=9098909809808&status=awaiting_payment&with_pendency=true\
                &erp_sent=true&erp_type=abacos&with_warnings=false&unknown=1",
            ),
            NOW,
        )
        .unwrap();
        let f = &l.filter;
        assert_eq!(l.page, 1);
        assert_eq!((f.offset, f.limit), (30, 30));
        assert_eq!(f.marketplace_order_id.as_deref(), Some("123"));
        assert_eq!(f.channel.as_deref(), Some("Mercado Livre"));
        assert_eq!(f.transaction_id.as_deref(), Some("9098909809808"));
        assert_eq!(f.placed_from, Some(at("2014-05-12T00:00:00-03:00")));
        assert_eq!(
            f.placed_to,
            Some(Timestamp(at("2014-05-14T00:00:00-03:00").0 - 1))
        );
        assert_eq!(f.states, [OrderState::AwaitingPayment]);
        assert_eq!(
            (f.with_pendency, f.erp_sent, f.with_warnings),
            (Some(true), Some(true), Some(false))
        );
        assert_eq!(f.erp_type.as_deref(), Some("abacos"));
        assert!(!l.nothing && l.channels.is_empty());
    }

    #[test]
    fn what_clients_send_for_the_erp_queue() {
        let l = listing(
            &q("erp_sent=false&status=accepted_payment&with_pendency=false\
                &start=2024-03-01+00:00&end=2024-03-01+23:59&page=0"),
            NOW,
        )
        .unwrap();
        let f = &l.filter;
        assert_eq!(f.states, [OrderState::Paid]);
        assert_eq!(f.erp_sent, Some(false));
        assert_eq!(f.placed_from, Some(at("2024-03-01T00:00:00-03:00")));
        assert_eq!(
            f.placed_to,
            Some(Timestamp(at("2024-03-02T00:00:00-03:00").0 - 1))
        );
        assert_eq!(f.offset, 0);
    }

    #[test]
    fn listing_statuses_take_in_their_states() {
        let pp = listing(&q("status=pick_and_pack"), NOW)
            .unwrap()
            .filter
            .states;
        assert_eq!(pp.len(), 4);
        assert!(pp.iter().all(|s| s.status() == "pickandpack"));
        let shipped = listing(&q("status=shipped"), NOW).unwrap().filter.states;
        assert_eq!(shipped, [OrderState::Shipped, OrderState::NotDelivered]);
        let two = listing(&q("status=shipped,delivered"), NOW)
            .unwrap()
            .filter
            .states;
        assert_eq!(two.len(), 3);
        for w in LISTING_STATUSES {
            assert!(listing_states(w).is_some(), "{w}");
        }
    }

    #[test]
    fn end_defaults_to_today_and_instants_are_exact() {
        let f = listing(&q(""), NOW).unwrap().filter;
        // NOW is 2023-11-14T22:13:20Z, 19:13:20 in Brasília.
        assert_eq!(
            (f.placed_from, f.placed_to),
            (None, Some(Timestamp(at("2023-11-15T00:00:00-03:00").0 - 1)))
        );
        // Late in Brasília's day is the next day in UTC: still Brasília's day.
        let late = at("2023-11-14T23:30:00-03:00");
        assert_eq!(
            end_of_day(late),
            Timestamp(at("2023-11-15T00:00:00-03:00").0 - 1)
        );
        let midnight = at("2023-11-15T00:00:00-03:00");
        assert_eq!(
            end_of_day(midnight),
            Timestamp(at("2023-11-16T00:00:00-03:00").0 - 1)
        );
        assert_eq!(
            listing(&q(""), NOW).unwrap(),
            listing(&q(""), Timestamp(NOW.0 + 3_600_000_000)).unwrap(),
            "the same query all day"
        );
        let f = listing(&q("end=2024-01-02T03:04:05.000Z"), NOW)
            .unwrap()
            .filter;
        assert_eq!(f.placed_to, Some(at("2024-01-02T03:04:05Z")));
        let f = listing(&q("end=2024-01-02 03:04:05"), NOW).unwrap().filter;
        assert_eq!(
            f.placed_to,
            Some(Timestamp(at("2024-01-02T03:04:06-03:00").0 - 1))
        );
    }

    #[test]
    fn bad_values_name_their_parameter() {
        for (query, field) in [
            ("start=2014-02-30", "start"),
            ("end=2014-13-01", "end"),
            ("start=ontem", "start"),
            ("start=2014-05-13&end=2014-05-12", "end"),
            ("page=-1", "page"),
            ("page=x", "page"),
            ("page=999999999999999999", "page"),
            ("status=cancelled", "status"),
            ("status=paid", "status"),
            ("with_pendency=sim", "with_pendency"),
            ("erp_sent=yes", "erp_sent"),
            ("with_warnings=2", "with_warnings"),
            ("erp_type=totvs", "erp_type"),
            ("order_origin=amazon", "order_origin"),
        ] {
            let e = listing(&q(query), NOW).unwrap_err();
            assert_eq!(e.field(), Some(field), "{query}: {e:?}");
        }
        for erp in ERP_TYPES {
            listing(&q(&format!("erp_type={erp}")), NOW).unwrap();
        }
    }

    #[test]
    fn origins_narrow_to_their_marketplaces() {
        let one = listing(&q("order_origin=b2w_americanas"), NOW).unwrap();
        assert_eq!(one.filter.channel.as_deref(), Some("Lojas Americanas"));
        let group = listing(&q("order_origin=b2w"), NOW).unwrap();
        assert_eq!(group.filter.channel, None);
        assert_eq!(group.channels.len(), 4);
        assert!(listing(&q("order_origin=ecommerce"), NOW).unwrap().nothing);
        let clash = listing(&q("order_origin=mercadolivre&marketplace=Shoptime"), NOW).unwrap();
        assert!(clash.nothing);
        let both = listing(&q("order_origin=b2w&marketplace=shoptime"), NOW).unwrap();
        assert!(!both.nothing);
        assert_eq!(both.filter.channel.as_deref(), Some("Shoptime"));
        assert!(
            listing(&q("external_id=1&marketplace_id=2"), NOW)
                .unwrap()
                .nothing
        );
    }

    #[test]
    fn links_repeat_the_filters() {
        let link = page_link(&q("status=accepted_payment&erp_sent=false&page=1&x=1"), 2);
        assert_eq!(link, "?status=accepted_payment&erp_sent=false&page=2");
        assert_eq!(page_link(&q(""), 0), "?page=0");
    }
}
