//! SkyHub's SAC: the ticket listing with cursor pages, one ticket, its instances, and
//! the chats (list, seller reply, read state). Handlers only translate: the rules are
//! the ticket core's.

use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use entreposto_app::AppError;
use entreposto_domain::{
    Author, Conversation, NewMessage, Party, ReadState, Scope, Ticket, Timestamp,
};
use entreposto_store::TicketFilter;
use serde::{Deserialize, Serialize};

use super::dto::{
    parse_part, Chat, Instance, Instances, Part, ReplyIn, Sac, SacPage, SacStatus, SellerPart,
    StatusIn,
};
use super::{Skyhub, SkyhubAuth};
use entreposto_http::auth::Principal;
use entreposto_http::body::JsonBody;
use entreposto_http::envelope::Failure;
use entreposto_http::query::QueryPairs;
use entreposto_http::reply::SizedJson;
use entreposto_http::signed::TokenKey;
use entreposto_http::{ApiError, AppState};

type Result<T> = std::result::Result<T, Failure<Skyhub>>;

/// Tickets per `/sac` page.
pub const PAGE_SIZE: usize = 50;

/// Room for one rendered SAC (about 220 bytes), so its JSON is written without regrowing.
const SAC_BYTES: usize = 320;

/// What a `next_page` cursor carries: where the page ended and the filters it was
/// made with (a request with a cursor ignores its other filters).
#[derive(Serialize, Deserialize, Default, PartialEq, Debug)]
struct Cursor {
    u: i64,
    i: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    m: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    f: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<i64>,
}

/// Cursors are signed ([`entreposto_http::signed`]) with a key of the credential that
/// listed, so a client cannot page from a position of its own making.
fn cursor_key(state: &AppState, p: &Principal) -> TokenKey {
    TokenKey::new(&p.credential.id, &state.cursor_secret)
}

fn encode_cursor(key: &TokenKey, c: &Cursor) -> String {
    key.seal(&serde_json::to_vec(c).unwrap_or_default())
}

fn decode_cursor(key: &TokenKey, raw: &str) -> std::result::Result<Cursor, ApiError> {
    let bad = || ApiError::invalid("cursor", "is not a cursor this server issued");
    // Some clients append `?` to the `next_page` URL they were given (`?cursor=X?`),
    // some more parameters after it: the cursor is what comes before, since a cursor
    // never holds a `?`.
    let raw = raw.split('?').next().unwrap_or_default();
    let bytes = key.open(raw).ok_or_else(bad)?;
    // Only the objects we issue: serde would also read a struct from an array.
    if bytes.first() != Some(&b'{') {
        return Err(bad());
    }
    serde_json::from_slice(&bytes).map_err(|_| bad())
}

fn read_state(raw: &str, field: &str) -> std::result::Result<ReadState, ApiError> {
    ReadState::parse(&raw.to_ascii_uppercase()).ok_or_else(|| {
        ApiError::invalid(
            field,
            format!("unknown status '{raw}': expected READ, UNREAD or ARCHIVED"),
        )
    })
}

fn part(raw: &str) -> std::result::Result<Conversation, ApiError> {
    parse_part(&raw.to_ascii_uppercase()).ok_or_else(|| {
        ApiError::invalid(
            "parts",
            format!("unknown parts '{raw}': expected CUSTOMER_SELLER, B2W_SELLER or CUSTOMER_B2W"),
        )
    })
}

fn sac_not_found<'a, E: Into<AppError> + 'a>(code: &'a str) -> impl FnOnce(E) -> ApiError + 'a {
    entreposto_http::error::not_found_with(move || format!("SAC '{code}' not found"))
}

async fn ticket(
    state: &AppState,
    scope: &Scope,
    code: &str,
) -> std::result::Result<Ticket, ApiError> {
    state
        .store
        .get_ticket_by_code(scope, code.trim())
        .await
        .map_err(sac_not_found(code))
}

/// The filter of a first page, from the documented query parameters.
fn filter_from_query(q: &QueryPairs) -> std::result::Result<TicketFilter, ApiError> {
    let mut f = TicketFilter::default();
    if let Some(s) = q.get("status") {
        f.read_state = Some(read_state(s, "status")?);
    }
    if let Some(m) = q.get("mediation") {
        f.mediation = Some(match m.to_ascii_lowercase().as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => {
                return Err(ApiError::invalid(
                    "mediation",
                    format!("'{m}' is not true or false"),
                ))
            }
        });
    }
    if let Some(d) = q.get("updated_at") {
        // Clients cut dates to their first 10 characters; accept a longer value the same way.
        let day = d.get(..10).unwrap_or(d);
        let date = NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| {
            ApiError::invalid("updated_at", format!("'{d}' is not a date (YYYY-MM-DD)"))
        })?;
        let (from, to) = Timestamp::brasilia_day_bounds(date)
            .ok_or_else(|| ApiError::invalid("updated_at", format!("'{d}' is out of range")))?;
        f.updated_from = Some(from);
        f.updated_to = Some(to);
    }
    Ok(f)
}

fn page_url(state: &AppState, uri: &axum::http::Uri, cursor: &str) -> String {
    format!("{}{}?cursor={cursor}", state.public_url, uri.path())
}

/// `GET /sac`: tickets with at least one message, newest update first.
#[utoipa::path(get, path = "/sac",
    params(("status" = inline(Option<SacStatus>), Query, description = "Only SACs in this read state"),
           ("mediation" = Option<bool>, Query, description = "Only SACs in (or out of) mediation"),
           ("updated_at" = Option<String>, Query, format = Date, description = "Only SACs updated on this Brasília calendar day (a longer value is cut to its first 10 characters)"),
           ("platform" = Option<String>, Query, description = "Accepted, no effect"),
           ("cursor" = Option<String>, Query, description = "From `next_page`; the other filters are then the cursor's")),
    responses((status = 200, description = "A page of at most 50 SACs with messages, newest update first", body = SacPage<'static>)))]
pub async fn list(
    SkyhubAuth(p): SkyhubAuth,
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    q: QueryPairs,
) -> Result<Response> {
    let key = cursor_key(&state, &p);
    let mut filter = match q.get("cursor") {
        Some(raw) => {
            let c = decode_cursor(&key, raw)?;
            TicketFilter {
                read_state: c
                    .s
                    .as_deref()
                    .map(|s| read_state(s, "cursor"))
                    .transpose()?,
                mediation: c.m,
                updated_from: c.f.map(Timestamp),
                updated_to: c.t.map(Timestamp),
                after: Some((Timestamp(c.u), c.i)),
                ..Default::default()
            }
        }
        None => filter_from_query(&q)?,
    };
    filter.instances = Some(false);
    filter.limit = PAGE_SIZE as u32 + 1;
    let mut tickets = state.store.list_tickets(&p.scope(), &filter).await?;
    let next_page = if tickets.len() > PAGE_SIZE {
        tickets.truncate(PAGE_SIZE);
        tickets.last().map(|last| {
            let c = Cursor {
                u: last.updated_at.0,
                i: last.id,
                s: filter.read_state.map(|s| s.as_str().to_string()),
                m: filter.mediation,
                f: filter.updated_from.map(|t| t.0),
                t: filter.updated_to.map(|t| t.0),
            };
            page_url(&state, &uri, &encode_cursor(&key, &c))
        })
    } else {
        None
    };
    Ok(SizedJson(
        SacPage {
            next_page,
            sacs: tickets.iter().map(Sac::from).collect(),
        },
        SAC_BYTES * tickets.len() + 512,
    )
    .into_response())
}

/// `GET /sac/{code}`: one SAC.
#[utoipa::path(get, path = "/sac/{code}", params(("code" = String, Path, description = "The SAC's code")),
    responses((status = 200, description = "The SAC", body = Sac)))]
pub async fn one(
    SkyhubAuth(p): SkyhubAuth,
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Response> {
    let t = ticket(&state, &p.scope(), &code).await?;
    Ok(SizedJson(Sac::from(&t), SAC_BYTES).into_response())
}

/// `GET /sac/{code}/instances`: the order's tickets opened with no message yet.
#[utoipa::path(get, path = "/sac/{code}/instances", params(("code" = String, Path, description = "A SAC's code")),
    responses((status = 200, description = "The order's SACs opened with no message yet", body = Instances)))]
pub async fn instances(
    SkyhubAuth(p): SkyhubAuth,
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<Instances>> {
    let scope = p.scope();
    let t = ticket(&state, &scope, &code).await?;
    let list = state
        .store
        .list_tickets(
            &scope,
            &TicketFilter {
                order_id: Some(t.order_id),
                instances: Some(true),
                limit: 100,
                ..Default::default()
            },
        )
        .await?;
    Ok(Json(Instances {
        instances: list.iter().map(Instance::from).collect(),
    }))
}

/// The part a chats request is about: from the path, else from `?parts=`, else the
/// part with the latest message (customer-seller when there is none).
fn chosen_part(
    path_part: Option<&str>,
    q: &QueryPairs,
    messages: &[entreposto_domain::TicketMessage],
) -> std::result::Result<Conversation, ApiError> {
    if let Some(raw) = path_part
        .filter(|s| !s.is_empty())
        .or_else(|| q.get("parts"))
    {
        return part(raw);
    }
    Ok(messages
        .iter()
        .max_by_key(|m| (m.created_at, m.id))
        .map_or(Conversation::CustomerSeller, |m| m.conversation))
}

async fn chat(
    p: SkyhubAuth,
    state: AppState,
    code: String,
    path_part: Option<String>,
    q: QueryPairs,
) -> Result<Json<Chat>> {
    let scope = p.0.scope();
    // Validate the part before looking anything up, so a bad part is a 4xx naming it.
    if let Some(raw) = path_part.as_deref().filter(|s| !s.is_empty()) {
        part(raw)?;
    }
    let t = ticket(&state, &scope, &code).await?;
    let messages = state.store.list_messages(&scope, t.id).await?;
    let which = chosen_part(path_part.as_deref(), &q, &messages)?;
    Ok(Json(Chat::of(&t, which, &messages)))
}

/// `GET /sac/{code}/chats`: the chat of the part `?parts=` names, else of the part
/// with the latest message.
#[utoipa::path(get, path = "/sac/{code}/chats",
    params(("code" = String, Path, description = "The SAC's code"),
           ("parts" = inline(Option<Part>), Query, description = "The part; else the part with the latest message")),
    responses((status = 200, description = "The chat of one part", body = Chat)))]
pub async fn chats(
    p: SkyhubAuth,
    State(state): State<AppState>,
    Path(code): Path<String>,
    q: QueryPairs,
) -> Result<Json<Chat>> {
    chat(p, state, code, None, q).await
}

/// `GET /sac/{code}/chats/{parts}`: the chat of one part.
#[utoipa::path(get, path = "/sac/{code}/chats/{parts}",
    params(("code" = String, Path, description = "The SAC's code"), ("parts" = inline(Part), Path)),
    responses((status = 200, description = "The chat of the part", body = Chat)))]
pub async fn chats_part(
    p: SkyhubAuth,
    State(state): State<AppState>,
    Path((code, parts)): Path<(String, String)>,
    q: QueryPairs,
) -> Result<Json<Chat>> {
    chat(p, state, code, Some(parts), q).await
}

async fn do_reply(
    SkyhubAuth(p): SkyhubAuth,
    state: AppState,
    code: String,
    path_part: Option<String>,
    body: ReplyIn,
) -> Result<Json<Chat>> {
    let from_path = path_part
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(part)
        .transpose()?;
    let from_to = match body.message_to.as_deref() {
        None | Some("") => None,
        Some(to) => Some(match to.to_ascii_uppercase().as_str() {
            "TO_CUSTOMER" => Conversation::CustomerSeller,
            "TO_B2W" | "TO_MARKETPLACE" => Conversation::MarketplaceSeller,
            _ => {
                return Err(ApiError::invalid(
                    "messageTo",
                    format!("unknown messageTo '{to}': expected TO_CUSTOMER or TO_B2W"),
                )
                .into())
            }
        }),
    };
    if let Some(kind) = body.message_type.as_deref() {
        if !kind.eq_ignore_ascii_case("TEXT_MESSAGE") {
            return Err(ApiError::invalid(
                "messageType",
                format!("unknown messageType '{kind}': expected TEXT_MESSAGE"),
            )
            .into());
        }
    }
    let conversation = match (from_path, from_to) {
        (Some(a), Some(b)) if a != b => {
            return Err(
                ApiError::invalid("messageTo", "does not match the parts of the URL").into(),
            )
        }
        (Some(a), _) => a,
        (None, Some(b)) => b,
        (None, None) => Conversation::CustomerSeller,
    };
    // The domain rule (the seller is no part of CUSTOMER_B2W), checked before the
    // ticket is read so the error names the URL's `parts`.
    if !conversation.includes(Party::Seller) {
        return Err(ApiError::invalid("parts", "sellers cannot write in CUSTOMER_B2W").into());
    }
    if body.message.trim().is_empty() {
        return Err(ApiError::invalid("message", "is required").into());
    }
    let scope = p.scope();
    let t = ticket(&state, &scope, &code).await?;
    let msg = NewMessage::new(
        conversation,
        Author {
            party: Party::Seller,
            name: None,
            email: p.credential.user_email.clone(),
            code: None,
        },
        body.message,
    );
    let (t, _) = state
        .app
        .add_message(&scope, t.id, &msg)
        .await
        .map_err(|e| match e {
            AppError::Invalid(f) if f.field == "content" => ApiError::invalid("message", f.message),
            e => sac_not_found(&code)(e),
        })?;
    let messages = state.store.list_messages(&scope, t.id).await?;
    Ok(Json(Chat::of(&t, conversation, &messages)))
}

/// `POST /sac/{code}/chats/{parts}`: the seller replies in a part.
#[utoipa::path(post, path = "/sac/{code}/chats/{parts}", request_body = ReplyIn,
    params(("code" = String, Path, description = "The SAC's code"),
           ("parts" = inline(SellerPart), Path, description = "A part the seller writes in")),
    responses((status = 200, description = "The part's chat, the reply included", body = Chat)))]
pub async fn reply_part(
    p: SkyhubAuth,
    State(state): State<AppState>,
    Path((code, parts)): Path<(String, String)>,
    JsonBody(body, ..): JsonBody<ReplyIn, Skyhub>,
) -> Result<Json<Chat>> {
    do_reply(p, state, code, Some(parts), body).await
}

/// `POST /sac/{code}/chats/`: the part follows from `messageTo`.
#[utoipa::path(post, path = "/sac/{code}/chats", request_body = ReplyIn,
    params(("code" = String, Path, description = "The SAC's code")),
    responses((status = 200, description = "The chat of the part `messageTo` picks, the reply included", body = Chat)))]
pub async fn reply(
    p: SkyhubAuth,
    State(state): State<AppState>,
    Path(code): Path<String>,
    JsonBody(body, ..): JsonBody<ReplyIn, Skyhub>,
) -> Result<Json<Chat>> {
    do_reply(p, state, code, None, body).await
}

async fn do_set_status(
    SkyhubAuth(p): SkyhubAuth,
    state: AppState,
    code: String,
    path_part: Option<String>,
    body: StatusIn,
) -> Result<StatusCode> {
    if let Some(raw) = path_part.as_deref().filter(|s| !s.is_empty()) {
        part(raw)?;
    }
    let status = read_state(&body.status, "status")?;
    let scope = p.scope();
    let t = ticket(&state, &scope, &code).await?;
    state
        .app
        .set_read_state(&scope, t.id, status)
        .await
        .map_err(sac_not_found(&code))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PATCH /sac/{code}/chats/{parts}`: the seller's read state (READ, UNREAD, ARCHIVED).
/// The state is the ticket's: it is what `/sac` lists and filters on.
#[utoipa::path(patch, path = "/sac/{code}/chats/{parts}", request_body = StatusIn,
    params(("code" = String, Path, description = "The SAC's code"), ("parts" = inline(Part), Path)),
    responses((status = 204, description = "Set: no body")))]
pub async fn set_status_part(
    p: SkyhubAuth,
    State(state): State<AppState>,
    Path((code, parts)): Path<(String, String)>,
    JsonBody(body, ..): JsonBody<StatusIn, Skyhub>,
) -> Result<StatusCode> {
    do_set_status(p, state, code, Some(parts), body).await
}

/// `PATCH /sac/{code}/chats`: the read state, as with a part.
#[utoipa::path(patch, path = "/sac/{code}/chats", request_body = StatusIn,
    params(("code" = String, Path, description = "The SAC's code")),
    responses((status = 204, description = "Set: no body")))]
pub async fn set_status(
    p: SkyhubAuth,
    State(state): State<AppState>,
    Path(code): Path<String>,
    JsonBody(body, ..): JsonBody<StatusIn, Skyhub>,
) -> Result<StatusCode> {
    do_set_status(p, state, code, None, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = Cursor {
            u: 5,
            i: 7,
            s: Some("READ".into()),
            m: Some(true),
            f: None,
            t: Some(9),
        };
        let key = TokenKey::new(
            "cred",
            &entreposto_http::signed::server_secret(&[7; 32], None),
        );
        let sealed = encode_cursor(&key, &c);
        assert_eq!(decode_cursor(&key, &sealed).unwrap(), c);
        // A trailing `?`, or parameters a client glued on after one, read the same.
        assert_eq!(decode_cursor(&key, &format!("{sealed}?")).unwrap(), c);
        assert_eq!(
            decode_cursor(&key, &format!("{sealed}?status=READ")).unwrap(),
            c
        );
        assert!(decode_cursor(&key, "not-a-cursor!").is_err());
        assert!(decode_cursor(&key, "").is_err());
        // Signed, but not an object we issue.
        assert!(decode_cursor(&key, &key.seal(b"[1,2]")).is_err());
        // Unsigned: what cursors were before they were signed.
        use base64::Engine;
        let unsigned =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"u":-1,"i":-1}"#);
        assert!(decode_cursor(&key, &unsigned).is_err());
    }
}
