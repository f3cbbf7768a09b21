//! Prometheus metrics: request counts and latency per route.
//!
//! Routes are labelled by their matched pattern (`/api/v1/orders/{id}`), never the raw
//! path, so label cardinality stays bounded. The registry is a mutex-guarded map; a
//! request holds the lock for a few nanoseconds to bump counters.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// The series of one route, by (method, status). [`Metrics`] keys these by route
/// pattern, looked up by `&str`, so recording a request allocates nothing once its
/// series exists.
type RouteSeries = HashMap<(axum::http::Method, u16), Series>;

#[derive(Default)]
pub struct Metrics {
    series: Mutex<HashMap<String, RouteSeries>>,
}

impl Metrics {
    pub fn observe(&self, method: &axum::http::Method, route: &str, status: u16, seconds: f64) {
        let Ok(mut map) = self.series.lock() else {
            return;
        };
        if !map.contains_key(route) {
            map.insert(route.to_string(), HashMap::new());
        }
        let Some(by_route) = map.get_mut(route) else {
            return;
        };
        let s = by_route.entry((method.clone(), status)).or_default();
        s.count += 1;
        s.sum += seconds;
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                s.buckets[i] += 1;
            }
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP entreposto_http_requests_total Requests answered, by route and status.\n",
        );
        out.push_str("# TYPE entreposto_http_requests_total counter\n");
        let Ok(map) = self.series.lock() else {
            return out;
        };
        let mut map: Vec<((&str, &str, u16), &Series)> = map
            .iter()
            .flat_map(|(r, by)| {
                by.iter()
                    .map(move |((m, st), s)| ((m.as_str(), r.as_str(), *st), s))
            })
            .collect();
        map.sort_by(|a, b| a.0.cmp(&b.0));
        for &((m, r, st), s) in map.iter() {
            let _ = writeln!(
                out,
                "entreposto_http_requests_total{{method=\"{m}\",route=\"{r}\",status=\"{st}\"}} {}",
                s.count
            );
        }
        out.push_str("# HELP entreposto_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE entreposto_http_request_duration_seconds histogram\n");
        for &((m, r, st), s) in map.iter() {
            let labels = format!("method=\"{m}\",route=\"{r}\",status=\"{st}\"");
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "entreposto_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "entreposto_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "entreposto_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "entreposto_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out
    }
}

/// Middleware recording every request.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let res = next.run(req).await;
    let route = route.as_ref().map_or("unmatched", |m| m.as_str());
    let elapsed = start.elapsed();
    state
        .metrics
        .observe(&method, route, res.status().as_u16(), elapsed.as_secs_f64());
    // One structured line per request at debug level (`log_level = "debug"`); at the
    // default level the check costs a branch.
    tracing::debug!(
        method = %method,
        route,
        status = res.status().as_u16(),
        micros = elapsed.as_micros() as u64,
        "request"
    );
    res
}

/// `GET /metrics` in the Prometheus text format.
pub async fn render(State(state): State<AppState>) -> Response {
    let mut res = state.metrics.render().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    res
}
