//! A webhook receiver on `127.0.0.1`, for the webhook suites: it records every
//! request it is sent and answers with the statuses a test queues (200 when none is
//! queued), or holds a request without answering until its connection goes away.
//! [`verify`] checks a request's signature by the Standard Webhooks algorithm,
//! written here apart from the hub's own signing code.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub user_agent: String,
    pub body: String,
    /// The status answered (0 for a held request).
    pub answered: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    statuses: VecDeque<u16>,
    /// Hold (never answer) the next request whose id this is.
    hold: Option<String>,
}

#[derive(Clone, Default)]
pub struct Receiver {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
}

impl Receiver {
    /// Starts one on a free port of 127.0.0.1.
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let receiver = Receiver {
            inner: Arc::default(),
            url,
        };
        let router = axum::Router::new()
            .route("/{*path}", post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        receiver
    }

    /// Answers the next requests with these statuses, in order.
    pub fn answer(&self, statuses: &[u16]) {
        self.inner.lock().unwrap().statuses.extend(statuses);
    }

    /// Answers every request with `status` from now on (until cleared).
    pub fn answer_always(&self, status: u16) {
        let mut inner = self.inner.lock().unwrap();
        inner.statuses.clear();
        inner.statuses.extend(std::iter::repeat_n(status, 10_000));
    }

    pub fn answer_ok(&self) {
        self.inner.lock().unwrap().statuses.clear();
    }

    /// Holds the next request for message `id` without answering.
    pub fn hold(&self, id: &str) {
        self.inner.lock().unwrap().hold = Some(id.to_string());
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// Waits (polling every 10 ms, at most 20 s) until `f` holds of what was received.
    pub async fn wait_for(&self, what: &str, f: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        for _ in 0..2000 {
            let got = self.received();
            if f(&got) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("receiver: {what} never happened: {:#?}", self.received());
    }
}

async fn receive(
    State(r): State<Receiver>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let h = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let mut got = Received {
        path: uri.path().to_string(),
        id: h("webhook-id"),
        timestamp: h("webhook-timestamp"),
        signature: h("webhook-signature"),
        user_agent: h("user-agent"),
        body: String::from_utf8_lossy(&body).into_owned(),
        answered: 0,
    };
    let held = {
        let mut inner = r.inner.lock().unwrap();
        if inner.hold.as_deref() == Some(got.id.as_str()) {
            inner.hold = None;
            inner.received.push(got.clone());
            true
        } else {
            got.answered = inner.statuses.pop_front().unwrap_or(200);
            inner.received.push(got.clone());
            false
        }
    };
    if held {
        // Until the sender gives up on the connection (its node dies).
        std::future::pending::<()>().await;
    }
    let status = StatusCode::from_u16(got.answered).unwrap_or(StatusCode::OK);
    (status, format!("answered {}", got.answered))
}

/// Whether one of `r`'s signatures is the Standard Webhooks signature of its id,
/// timestamp and body under `secret` (`whsec_...`).
pub fn verify(r: &Received, secret: &str) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
        .expect("base64 key");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
    mac.update(format!("{}.{}.{}", r.id, r.timestamp, r.body).as_bytes());
    let expected = mac.finalize().into_bytes();
    r.signature.split(' ').any(|sig| {
        sig.strip_prefix("v1,")
            .and_then(|b| STANDARD.decode(b).ok())
            .is_some_and(|got| got.as_slice() == expected.as_slice())
    })
}
