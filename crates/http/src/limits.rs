//! What a request may be, checked before any handler sees it, and the deadlines it has
//! to meet, each refusal rendered in the envelope of the API that owns the path.
//!
//! `refuse_oversize` (called by the JSON edge) answers 414 (URI), 431 (headers) and
//! 413 (a `Content-Length` over the path's limit, [`crate::MAX_BODY_BYTES`] unless its
//! mount says otherwise, [`crate::Mount::body_limit`]) from the request head
//! alone: no body is read before the answer, so hyper never sends `100 Continue` for
//! one. Our limits sit well below hyper's own (a 64 KiB URI, the listener's read
//! buffer), so that, for everything short of those, it is this module and not hyper
//! that refuses, in JSON. [`within_deadlines`] bounds how long a request's body may
//! take to arrive (408) and how long its handler may take (503 with `Retry-After`).
//! [`raw_refusal`] renders the refusals hyper still writes itself (a request it cannot
//! parse, or over its own limits) so the listener can put JSON on the wire instead.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use http_body::{Frame, SizeHint};

use crate::ApiError;

/// Longest request target (path and query) accepted: the 8 KiB most proxies allow.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Largest total of the request's header lines (names, values and separators).
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Refuses, from the head alone, a request whose URI, headers or declared body are
/// over the limits (the body's is `body_limit`, the path's), rendered by the API that
/// owns the path; else hands it back.
/// Called by the JSON edge, which has that renderer at hand: a layer of its own would
/// cost every request another boxed future.
pub(crate) fn refuse_oversize(
    req: Request,
    render: crate::Renderer,
    body_limit: usize,
) -> Result<Request, Box<Response>> {
    let uri_len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if uri_len > MAX_URI_BYTES {
        Err(Box::new(closing(render(&ApiError::UriTooLong))))
    } else if header_bytes > MAX_HEADER_BYTES {
        Err(Box::new(closing(render(&ApiError::HeadersTooLarge))))
    } else if req.body().size_hint().lower() > body_limit as u64 {
        // hyper's size hint is the validated `Content-Length`.
        let res = closing(render(&ApiError::PayloadTooLarge));
        drain_if_sent(req);
        Err(Box::new(res))
    } else {
        Ok(req)
    }
}

/// Past this much a refused body is not drained: the connection is closed under it.
/// The same bound as [`crate::body::read_limited`]'s.
const DRAIN_BYTES: u64 = 64 * 1024 * 1024;

/// A client that sent `Expect: 100-continue` waits for our answer and sends nothing:
/// dropping the body tells hyper to skip the `100 Continue` and close. Any other
/// client is already sending the body it declared; closing under it would reset the
/// connection before it reads our 413, so the body is read and discarded in the
/// background (as far as [`DRAIN_BYTES`] and the body deadline allow).
fn drain_if_sent(req: Request) {
    let expects = req
        .headers()
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if expects || req.body().size_hint().lower() > DRAIN_BYTES {
        return;
    }
    let mut body = req.into_body().into_data_stream();
    tokio::spawn(async move {
        use futures::StreamExt;
        while let Some(Ok(_)) = body.next().await {}
    });
}

/// A refusal after which the connection cannot be reused (the body was not read):
/// say so, so the client does not send its next request on it.
fn closing(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

/// How long a request may take: its body to arrive, its handler to answer.
#[derive(Clone, Copy, Debug)]
pub struct Deadlines {
    /// From the head being read to the body's last byte.
    pub body: Duration,
    /// From the head being read to the response; the body's time included.
    pub request: Duration,
    /// Whose envelope a refusal of a path is written in.
    pub owners: crate::Owners,
}

/// The state of a request body under a deadline.
const READING: u8 = 0;
const DONE: u8 = 1;
const LATE: u8 = 2;

/// Runs `handle` on `req` under [`Deadlines`] (the listener wraps the whole router in
/// it, with its settings). A body that misses its deadline fails the handler's read;
/// whatever the handler made of that is replaced by a 408, so the client learns it was
/// too slow. A handler past the request deadline is dropped and answered 503 with
/// `Retry-After` (a write it started may still complete: a 503 acknowledges nothing).
///
/// A combinator rather than an `async fn`: the request and the handler's future are
/// each moved once, not again into an outer state machine.
pub fn within_deadlines<F, Fut>(
    d: Deadlines,
    mut req: Request,
    handle: F,
) -> impl Future<Output = Response>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Response, std::convert::Infallible>>,
{
    use futures::FutureExt;
    let render = d.owners.renderer_for(req.uri().path());
    // The body is swapped in place: a request is a few hundred bytes to move.
    let body = (!req.body().is_end_stream()).then(|| {
        let state = Arc::new(AtomicU8::new(READING));
        let timed = TimedBody {
            inner: std::mem::take(req.body_mut()),
            deadline: Box::pin(tokio::time::sleep(d.body)),
            state: state.clone(),
        };
        *req.body_mut() = Body::new(timed);
        state
    });
    tokio::time::timeout(d.request, handle(req)).map(move |res| {
        match (res, body.map(|s| s.load(Ordering::Acquire))) {
            (Ok(_), Some(LATE)) | (Err(_), Some(READING | LATE)) => {
                closing(render(&ApiError::RequestTimeout))
            }
            (Ok(Ok(res)), _) => res,
            (Ok(Err(never)), _) => match never {},
            (Err(_), _) => {
                tracing::warn!("request timed out");
                render(&ApiError::Timeout)
            }
        }
    })
}

/// A request body that fails once its deadline passes before its end.
struct TimedBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
    state: Arc<AtomicU8>,
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            if frame.is_none() || this.inner.is_end_stream() {
                this.state.store(DONE, Ordering::Release);
            }
            return Poll::Ready(frame);
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.state.store(LATE, Ordering::Release);
            return Poll::Ready(Some(Err(axum::Error::new("request body timed out"))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The complete HTTP/1.1 response (head and JSON body, `Connection: close`) for a
/// refusal hyper writes itself, bare, for a request it could not take: 400 (a
/// malformed request line or header), 414 (a URI over hyper's fixed 64 KiB) or 431 (a
/// head over the listener's read buffer). `head` is the start of the refused request,
/// as far as it was read: its path, when one can be read, picks the envelope.
pub fn raw_refusal(status: u16, head: &[u8], owners: crate::Owners) -> Option<Vec<u8>> {
    let err = match status {
        400 => ApiError::BadRequest("the request line or a header could not be parsed".into()),
        414 => ApiError::UriTooLong,
        431 => ApiError::HeadersTooLarge,
        _ => return None,
    };
    let path = head
        .split(|b| *b == b' ')
        .nth(1)
        .and_then(|p| std::str::from_utf8(p).ok())
        .filter(|p| p.starts_with('/'))
        .unwrap_or("/");
    let res = owners.renderer_for(path)(&err);
    let (parts, body) = res.into_parts();
    // The envelope's body is one in-memory buffer: it is ready at once.
    let body = futures::FutureExt::now_or_never(axum::body::to_bytes(body, usize::MAX))?.ok()?;
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(parts.status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(
        parts
            .status
            .canonical_reason()
            .unwrap_or_default()
            .as_bytes(),
    );
    out.extend_from_slice(b"\r\n");
    for (k, v) in &parts.headers {
        if k != header::CONTENT_LENGTH && k != header::CONNECTION {
            out.extend_from_slice(k.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    out.extend_from_slice(b"connection: close\r\n\r\n");
    out.extend_from_slice(&body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mount at `/t` whose errors say whose they are.
    fn mine(e: &ApiError) -> axum::response::Response {
        let body = serde_json::json!({"owner": "t", "kind": e.kind()});
        axum::response::IntoResponse::into_response((e.status(), axum::Json(body)))
    }
    static MOUNTS: [crate::Mount; 1] = [crate::Mount {
        dialect: entreposto_domain::Dialect::named("t"),
        prefix: "/t",
        routes: |_| axum::Router::new(),
        renderer: |_| mine,
        body_limit: crate::mount::default_body_limit,
        credential_headers: |_, _, _| Vec::new(),
        user_email: false,
        secret: |_| None,
        rate_presets: &[],
        scope_headers: &[],
    }];

    #[test]
    fn raw_refusals_are_json_in_the_envelope_of_the_path() {
        let owners = crate::Owners::Prefixed(&MOUNTS);
        let out = raw_refusal(400, b"GET /t/HUB/v1/x HT", owners).expect("400");
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
        assert!(
            text.contains("content-type: application/json\r\n"),
            "{text}"
        );
        assert!(text.contains("connection: close\r\n"), "{text}");
        let body: serde_json::Value =
            serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        // The owner's envelope, not the hub's plain one.
        assert_eq!(body["owner"], "t", "{body}");
        let len: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(len, text.split("\r\n\r\n").nth(1).unwrap().len());

        let plain =
            String::from_utf8(raw_refusal(431, b"\x16\x03garbage", owners).unwrap()).unwrap();
        assert!(plain.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(plain.contains("\"headers_too_large\""), "{plain}");
        assert!(raw_refusal(500, b"", owners).is_none());
        // A longer name that starts with the prefix is not the mount's.
        let longer = raw_refusal(414, b"GET /tx/y HT", owners).unwrap();
        assert!(!String::from_utf8(longer).unwrap().contains("\"owner\""));
        // On a dialect's own listener every path is its own.
        let root = raw_refusal(414, b"GET /anything", crate::Owners::Root(&MOUNTS[0])).unwrap();
        assert!(String::from_utf8(root).unwrap().contains("\"owner\":\"t\""));
    }
}
