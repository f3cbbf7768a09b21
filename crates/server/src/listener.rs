//! Serving a router on a TCP listener with the connection-level defences `axum::serve`
//! lacks: a deadline for each request's head, an idle timeout for kept-alive
//! connections, a cap on open connections that a flood of idle or slow sockets cannot
//! use to lock everyone out, JSON for the refusals hyper writes itself, and graceful
//! shutdown (in-flight requests finish; idle connections close).
//!
//! Each connection has a phase, kept in `ConnState`: *head* (connected, or bytes of
//! a new request arrived, and the head is not complete yet), *busy* (a request is in
//! the router) or *idle* (kept alive between requests). Its task closes it when a head
//! phase outlasts `header_timeout` or an idle phase outlasts `idle_timeout`; busy
//! requests are bounded by the body and request deadlines of
//! [`entreposto_http::limits::within_deadlines`], wrapped here around the router. At
//! `max_connections`, a new connection evicts the open connection that has waited
//! longest in the head or idle phase: a socket that has not sent a whole request
//! holds nothing worth keeping, so however many of them a client opens, a client that
//! sends its request at once (a `/health` probe) gets in. Only when every connection
//! has a request in progress does a new one wait, and those are bounded by the
//! request deadline. hyper's own header timeout is off: it starts when hyper waits
//! for the next head, so it cannot tell an idle connection from a slow one.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::Router;
use futures::FutureExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};
use tower::Service;

use crate::config::EdgeSettings;
use entreposto_http::limits::{self, Deadlines, MAX_HEADER_BYTES, MAX_URI_BYTES};
use entreposto_http::Owners;

/// hyper's read buffer, and so the largest head hyper reads before refusing it itself
/// with a bare 431: four times our header limit, so heads between our limits and this
/// get our JSON refusal, while an open connection holds at most this much.
const READ_BUFFER: usize = 4 * (MAX_HEADER_BYTES + MAX_URI_BYTES);

/// How much of a request's start is kept, to pick the envelope of a refusal hyper
/// writes itself (`GET /omnik/HUB/v1/...`).
const HEAD_PREFIX: usize = 64;

/// How often a connection waiting at the cap looks again for one to evict.
const EVICT_RETRY: Duration = Duration::from_millis(50);

const HEAD: u8 = 0;
const IDLE: u8 = 1;
const BUSY: u8 = 2;

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets
/// in-flight requests finish and returns once every connection has closed.
pub async fn serve_listener(
    listener: TcpListener,
    app: Router,
    owners: Owners,
    edge: &EdgeSettings,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let deadlines = Deadlines {
        body: edge.body_timeout(),
        request: edge.request_timeout(),
        owners,
    };
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .header_read_timeout(None)
        .max_buf_size(READ_BUFFER);
    let builder = Arc::new(builder);
    let timeouts = Timeouts {
        head: edge.header_timeout(),
        idle: edge.idle_timeout(),
    };
    let registry = Arc::new(Registry::default());
    let permits = Arc::new(Semaphore::new(
        edge.max_connections.min(Semaphore::MAX_PERMITS),
    ));
    let (signal_tx, signal_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    'accept: loop {
        let (stream, _peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // A client that gave up before we accepted it: nothing to wait for.
                Err(e) if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionRefused
                ) => continue,
                Err(e) => {
                    // Out of file descriptors (the cap is above `ulimit -n`): free one
                    // the way the cap does, and give the evicted task a moment.
                    tracing::warn!(error = %e, "accept failed");
                    if matches!(e.raw_os_error(), Some(23 | 24)) {
                        registry.evict_one();
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                // At the cap: evict, and while every connection is busy, keep trying
                // (a busy connection that goes idle is the next to give way).
                let mut wait = pin!(permits.clone().acquire_owned());
                loop {
                    registry.evict_one();
                    tokio::select! {
                        _ = &mut shutdown => break 'accept,
                        p = &mut wait => break p.expect("the semaphore is never closed"),
                        _ = tokio::time::sleep(EVICT_RETRY) => {}
                    }
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let conn = registry.add();
        let task = Connection {
            registry: registry.clone(),
            conn,
            timeouts,
            deadlines,
            signal: signal_rx.clone(),
        };
        let (builder, app) = (builder.clone(), app.clone());
        tokio::spawn(async move {
            task.run(&builder, stream, app).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = signal_tx.send(true);
    drop(signal_rx);
    // Resolves once every connection task has dropped its receiver.
    signal_tx.closed().await;
    Ok(())
}

#[derive(Clone, Copy)]
struct Timeouts {
    head: Duration,
    idle: Duration,
}

/// What a connection's task, its IO and its service share.
struct ConnState {
    id: u64,
    epoch: Instant,
    phase: AtomicU8,
    /// When the phase began, in nanoseconds since `epoch`.
    since: AtomicU64,
    in_flight: AtomicUsize,
    /// HTTP/2 has no head phase: its frames (pings, settings) say nothing of a request.
    h2: AtomicBool,
    evicted: AtomicBool,
    evict: Notify,
}

impl ConnState {
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    fn enter(&self, phase: u8) {
        self.since.store(self.now(), Ordering::Relaxed);
        self.phase.store(phase, Ordering::Release);
    }

    fn phase(&self) -> u8 {
        self.phase.load(Ordering::Acquire)
    }

    fn since(&self) -> Instant {
        self.epoch + Duration::from_nanos(self.since.load(Ordering::Relaxed))
    }
}

/// The open connections, for eviction at the cap.
#[derive(Default)]
struct Registry {
    next: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<ConnState>>>,
}

impl Registry {
    fn add(&self) -> Arc<ConnState> {
        let conn = Arc::new(ConnState {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            epoch: Instant::now(),
            phase: AtomicU8::new(HEAD),
            since: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            h2: AtomicBool::new(false),
            evicted: AtomicBool::new(false),
            evict: Notify::new(),
        });
        if let Ok(mut m) = self.conns.lock() {
            m.insert(conn.id, conn.clone());
        }
        conn
    }

    fn remove(&self, id: u64) {
        if let Ok(mut m) = self.conns.lock() {
            m.remove(&id);
        }
    }

    /// Tells the connection that has waited longest without a request in progress to
    /// close. A scan of the open connections, only ever run at the cap.
    fn evict_one(&self) {
        let Ok(m) = self.conns.lock() else {
            return;
        };
        let victim = m
            .values()
            .filter(|c| c.phase() != BUSY && !c.evicted.load(Ordering::Relaxed))
            .min_by_key(|c| c.since());
        if let Some(c) = victim {
            c.evicted.store(true, Ordering::Relaxed);
            c.evict.notify_one();
        }
    }
}

/// One connection's task.
struct Connection {
    registry: Arc<Registry>,
    conn: Arc<ConnState>,
    timeouts: Timeouts,
    deadlines: Deadlines,
    signal: watch::Receiver<bool>,
}

impl Connection {
    async fn run(
        mut self,
        builder: &hyper_util::server::conn::auto::Builder<TokioExecutor>,
        stream: TcpStream,
        app: Router,
    ) {
        let io = TokioIo::new(EdgeIo::new(
            stream,
            self.conn.clone(),
            self.deadlines.owners,
        ));
        let conn = self.conn.clone();
        let deadlines = self.deadlines;
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let guard = Busy::new(conn.clone());
            let mut app = app.clone();
            limits::within_deadlines(deadlines, req.map(Body::new), move |r| app.call(r)).map(
                move |res| {
                    drop(guard);
                    Ok::<_, Infallible>(res)
                },
            )
        });
        let mut http = pin!(builder.serve_connection(io, service));
        // The phase changes inside hyper's polling (reads, the service's future), so
        // the deadline is recomputed on every poll of the connection. The timer is
        // only moved earlier: an idle deadline that moves later with every request
        // leaves the timer where it was, and when it fires early it is re-armed.
        let mut timer = pin!(tokio::time::sleep(Duration::ZERO));
        let mut armed: Option<Instant> = None;
        let mut evicted = pin!(self.conn.evict.notified());
        let (mut listening, mut was_evicted) = (false, false);
        let mut stop = pin!(self.signal.changed());
        let (mut closing, mut told) = (false, false);
        loop {
            let event = std::future::poll_fn(|cx| {
                if let Poll::Ready(res) = http.as_mut().poll(cx) {
                    return Poll::Ready(Event::Done(res));
                }
                // Once registered, the notification wakes this task (whose waker does
                // not change); it is polled again only when it has been sent.
                if !listening || (!was_evicted && self.conn.evicted.load(Ordering::Relaxed)) {
                    listening = true;
                    if evicted.as_mut().poll(cx).is_ready() {
                        was_evicted = true;
                        return Poll::Ready(Event::Evicted);
                    }
                }
                if !told && stop.as_mut().poll(cx).is_ready() {
                    told = true;
                    return Poll::Ready(Event::Stop);
                }
                if let Some(want) = next_check(&self.conn, self.timeouts, closing) {
                    if armed.is_none_or(|at| want < at) {
                        timer.as_mut().reset(want.into());
                        armed = Some(want);
                    }
                }
                if armed.is_some() && timer.as_mut().poll(cx).is_ready() {
                    armed = None;
                    return Poll::Ready(Event::Timer);
                }
                Poll::Pending
            })
            .await;
            match event {
                Event::Done(res) => {
                    if let Err(e) = res {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    break;
                }
                Event::Timer => {
                    let now = Instant::now();
                    let since = self.conn.since();
                    match self.conn.phase() {
                        HEAD if now >= since + self.timeouts.head => {
                            tracing::debug!("request head timed out, closing");
                            break;
                        }
                        IDLE if !closing && now >= since + self.timeouts.idle => {
                            http.as_mut().graceful_shutdown();
                            closing = true;
                        }
                        // A response the client does not read keeps a closing
                        // connection open: not for longer than another idle timeout.
                        IDLE if now >= since + 2 * self.timeouts.idle => {
                            tracing::debug!("closing connection did not drain, dropping it");
                            break;
                        }
                        _ => {}
                    }
                }
                Event::Evicted => {
                    tracing::debug!("evicted at the connection cap");
                    // Nothing of a request is in progress before its head is whole.
                    if self.conn.phase() == HEAD {
                        break;
                    }
                    http.as_mut().graceful_shutdown();
                    closing = true;
                }
                Event::Stop => {
                    http.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
        self.registry.remove(self.conn.id);
    }
}

enum Event {
    Done(Result<(), Box<dyn std::error::Error + Send + Sync>>),
    Timer,
    Evicted,
    Stop,
}

/// When the connection's phase could next have outlasted its timeout; none while a
/// request is in progress (the request's own deadlines bound it).
fn next_check(conn: &ConnState, t: Timeouts, closing: bool) -> Option<Instant> {
    match conn.phase() {
        HEAD => Some(conn.since() + t.head),
        IDLE if !closing => Some(conn.since() + t.idle),
        IDLE => Some(conn.since() + 2 * t.idle),
        _ => None,
    }
}

/// Holds a connection busy while one of its requests is in the router.
struct Busy(Arc<ConnState>);

impl Busy {
    fn new(conn: Arc<ConnState>) -> Busy {
        // No timestamp: nothing measures how long a connection has been busy (the
        // request deadlines do), and reading the clock is a cost on every request.
        if conn.in_flight.fetch_add(1, Ordering::AcqRel) == 0 {
            conn.phase.store(BUSY, Ordering::Release);
        }
        Busy(conn)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.enter(IDLE);
            // HTTP/2 runs a connection's requests on tasks of their own: one may have
            // begun between the count reaching zero and the store above, and marked
            // the connection busy before this marked it idle. Busy again, then.
            if self.0.in_flight.load(Ordering::Acquire) > 0 {
                self.0.phase.store(BUSY, Ordering::Release);
            }
        }
    }
}

/// The socket as hyper sees it: reads move an idle connection to the head phase, and
/// a refusal hyper writes itself during a head phase (a 400, 414 or 431 head without
/// a body or `Content-Type`; every response of the router has one) is replaced by the
/// same refusal in JSON.
struct EdgeIo {
    inner: TcpStream,
    conn: Arc<ConnState>,
    first_read: bool,
    head: Vec<u8>,
    /// Our replacement for hyper's refusal, still to be written.
    pending: Vec<u8>,
    written: usize,
    /// A refusal was replaced: whatever else hyper writes is dropped.
    replaced: bool,
    /// Whose envelope a replaced refusal is written in.
    owners: Owners,
}

impl EdgeIo {
    fn new(inner: TcpStream, conn: Arc<ConnState>, owners: Owners) -> EdgeIo {
        EdgeIo {
            inner,
            conn,
            first_read: true,
            head: Vec::with_capacity(HEAD_PREFIX),
            pending: Vec::new(),
            written: 0,
            replaced: false,
            owners,
        }
    }

    fn saw(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if std::mem::take(&mut self.first_read) && bytes.starts_with(b"PRI * HTTP/2") {
            self.conn.h2.store(true, Ordering::Relaxed);
            self.conn.enter(IDLE);
            return;
        }
        if self.conn.h2.load(Ordering::Relaxed) {
            return;
        }
        if self.conn.phase() == IDLE {
            self.conn.enter(HEAD);
            self.head.clear();
        }
        if self.conn.phase() == HEAD && self.head.len() < HEAD_PREFIX {
            let n = bytes.len().min(HEAD_PREFIX - self.head.len());
            self.head.extend_from_slice(&bytes[..n]);
        }
    }

    /// Whether `bytes` (the start of a write) are hyper's own bare refusal, and which.
    fn hyper_refusal(&self, bytes: &[u8]) -> Option<u16> {
        if self.conn.phase() != HEAD || self.conn.h2.load(Ordering::Relaxed) {
            return None;
        }
        let status = bytes.strip_prefix(b"HTTP/1.1 ")?.get(..3)?;
        let status = match status {
            b"400" => 400,
            b"414" => 414,
            b"431" => 431,
            _ => return None,
        };
        let end = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or(bytes.len());
        let typed = bytes[..end]
            .windows(14)
            .any(|w| w.eq_ignore_ascii_case(b"\r\ncontent-type"));
        (!typed).then_some(status)
    }

    /// Writes what is left of the replacement; ready once all of it is out.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Takes over a write of hyper's: replaced or swallowed, it counts as written.
    fn intercept(
        &mut self,
        first: &[u8],
        len: usize,
        cx: &mut Context<'_>,
    ) -> Option<Poll<io::Result<usize>>> {
        if !self.replaced {
            let status = self.hyper_refusal(first)?;
            self.pending = limits::raw_refusal(status, &self.head, self.owners)?;
            self.replaced = true;
        }
        match self.poll_pending(cx) {
            Poll::Ready(Err(e)) => Some(Poll::Ready(Err(e))),
            _ => Some(Poll::Ready(Ok(len))),
        }
    }
}

impl AsyncRead for EdgeIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let filled = buf.filled();
        this.saw(&filled[before..]);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for EdgeIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(p) = this.intercept(buf, buf.len(), cx) {
            return p;
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &b[..]);
        let len = bufs.iter().map(|b| b.len()).sum();
        if let Some(p) = this.intercept(first, len, cx) {
            return p;
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}
