//! The events benchmark's webhook receiver (`bench/events.sh`): answers every POST 204
//! and records, per delivery, when it arrived and how long after its event happened
//! (the body's Standard Webhooks `timestamp`, the change's time in milliseconds), one
//! `arrival_us lag_us webhook-id` line per delivery, written to the file named on the
//! command line when the process gets SIGTERM or SIGINT. The benchmark reads the lines
//! for percentiles, the lag over time and duplicate ids.
#![forbid(unsafe_code)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use entreposto_domain::Timestamp;

/// (arrival, lag) in microseconds and the delivery's id, in arrival order.
type Log = Arc<Mutex<Vec<(i64, i64, String)>>>;

async fn receive(State(log): State<Log>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let now = Timestamp::now().0;
    // Only the `timestamp` is read: serde skips the rest without building it.
    #[derive(serde::Deserialize)]
    struct Event<'a> {
        #[serde(borrow)]
        timestamp: std::borrow::Cow<'a, str>,
    }
    let Ok(event) = serde_json::from_slice::<Event<'_>>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let Ok(at) = Timestamp::parse(&event.timestamp) else {
        return StatusCode::BAD_REQUEST;
    };
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    log.lock().expect("log").push((now, now - at.0, id));
    StatusCode::NO_CONTENT
}

// One thread: the receiver stands in for a machine of its own, and on the benchmark's
// shared cores a second runtime thread only adds wake-ups the hub pays for.
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: webhook-sink LISTEN_ADDR OUTPUT_FILE");
        std::process::exit(2);
    };
    let log: Log = Arc::default();
    let app = Router::new()
        .route("/", post(receive))
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    let stop = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await?;
    let mut file = std::io::BufWriter::new(std::fs::File::create(out)?);
    for (arrival, lag, id) in log.lock().expect("log").iter() {
        writeln!(file, "{arrival} {lag} {id}")?;
    }
    file.flush()
}
