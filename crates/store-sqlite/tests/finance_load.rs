//! A statement of a million rows loads through the application layer on SQLite with
//! bounded memory: both passes stream it (the source generates its bytes as they are
//! read, so the statement itself is never in memory either). Ignored by default (it
//! writes a million lines); run it by hand:
//! `cargo test -p entreposto-store-sqlite --test finance_load -- --ignored --nocapture`.

use std::io::Read;
use std::sync::Arc;

use entreposto_app::finance::{for_each_row, StatementFormat, StatementSource};
use entreposto_app::App;
use entreposto_domain::{Scope, StatementRow};
use entreposto_store::fixtures::world;
use entreposto_store::Store;
use entreposto_store_sqlite::{SqliteOptions, SqliteStore};

/// `rows` release rows over `rows / 2` orders (a SALE and its COMISSION each), dated
/// over January 2018, generated a thousand at a time.
struct Generated {
    rows: u64,
}

struct Reader {
    next: u64,
    rows: u64,
    buf: Vec<u8>,
    pos: usize,
    header: bool,
}

impl Read for Reader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            if !self.header {
                self.header = true;
                self.buf.extend_from_slice(
                    b"orderCode,type,plotNumber,releasedValue,releasedPercentualComission,releasedDate\n",
                );
            }
            let end = (self.next + 1000).min(self.rows);
            for n in self.next..end {
                let (kind, value, percent) = if n % 2 == 0 {
                    ("SALE", "100.00", "")
                } else {
                    ("COMISSION", "16.00", "16")
                };
                self.buf.extend_from_slice(
                    format!(
                        "{:09},{kind},1,{value},{percent},2018-01-{:02}\n",
                        n / 2,
                        n % 28 + 1
                    )
                    .as_bytes(),
                );
            }
            self.next = end;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl StatementSource for Generated {
    fn format(&self) -> StatementFormat {
        StatementFormat::Csv
    }
    fn open(&self) -> std::io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(Reader {
            next: 0,
            rows: self.rows,
            buf: Vec::new(),
            pos: 0,
            header: false,
        }))
    }
}

/// The process's peak resident set (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a million rows: run by hand"]
async fn a_million_row_statement_loads_in_bounded_memory() {
    let dir = std::env::temp_dir().join(format!(
        "entreposto-finance-load-{}",
        entreposto_store::new_id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(dir.join("test.db"), SqliteOptions::default()).expect("open"));
    let w = world(&*store).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let app = App::with_system_clock(store.clone());
    let rows = 1_000_000;
    // The baseline: one plain read of the statement, every row validated.
    let started = std::time::Instant::now();
    let source = Generated { rows };
    let mut valid = 0u64;
    for_each_row(StatementFormat::Csv, source.open().unwrap(), |n, fields| {
        valid += u64::from(StatementRow::parse(n, fields).is_ok());
        Ok(())
    })
    .expect("parse");
    assert_eq!(valid, rows);
    let parse = started.elapsed();
    let started = std::time::Instant::now();
    let load = app
        .load_statement(&scope, "B2W", &Generated { rows }, &|_, _| {})
        .await
        .expect("load");
    let took = started.elapsed();
    let peak = peak_rss_kib();
    eprintln!(
        "{rows} rows: parsed in {parse:?}, loaded in {took:?} ({:.1} × the parse); \
         peak RSS {} MiB; {:?}",
        took.as_secs_f64() / parse.as_secs_f64(),
        peak / 1024,
        load.conciliation
    );
    assert_eq!(load.conciliation.rows, rows);
    assert_eq!(load.conciliation.divergent, rows, "every order is unknown");
    assert!(peak < 256 * 1024, "peak RSS {peak} KiB");
    drop(app);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
