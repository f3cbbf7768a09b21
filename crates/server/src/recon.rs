//! `entreposto recon load`: a marketplace's payout statement loaded from a file
//! through the same use case as the native API's `POST .../finance/statements`, run
//! in this process with its progress shown.
//!
//! The file is streamed, never held whole: the use case opens it twice (once to check
//! every row, once to apply the valid ones in steps), so a statement of millions of
//! rows loads in bounded memory. Rows that break a field rule are reported and
//! skipped; the same statement loaded again changes nothing and says so
//! (`unchanged`). The summary goes to stdout as JSON; progress to stderr, a bar on a
//! terminal and a line a second otherwise.

use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use entreposto_app::finance::{check_statement, RefusedRow, StatementFormat, StatementSource};
use entreposto_app::{App, AppError};
use entreposto_domain::Scope;
use entreposto_store::Store;

/// What the command was asked to do.
pub struct Options {
    pub file: PathBuf,
    pub seller: String,
    pub channel: String,
    /// The file's format when its extension does not say.
    pub format: Option<StatementFormat>,
    /// Only check the file (parse and validate every row), write nothing.
    pub dry_run: bool,
}

/// A statement file, opened afresh each time the use case reads it.
pub struct FileStatement {
    pub path: PathBuf,
    pub format: StatementFormat,
}

impl StatementSource for FileStatement {
    fn format(&self) -> StatementFormat {
        self.format
    }
    fn open(&self) -> std::io::Result<Box<dyn Read + Send>> {
        let file = std::fs::File::open(&self.path)?;
        Ok(Box::new(std::io::BufReader::with_capacity(1 << 16, file)))
    }
}

/// The format of `path`: by its extension, else by its first bytes.
pub fn detect(path: &std::path::Path) -> anyhow::Result<StatementFormat> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("json") => Ok(StatementFormat::Json),
        Some("csv") => Ok(StatementFormat::Csv),
        _ => {
            let mut start = [0u8; 512];
            let mut file =
                std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
            let n = file.read(&mut start)?;
            Ok(entreposto_api_native::finance::sniff_format(&start[..n]))
        }
    }
}

fn format_word(f: StatementFormat) -> &'static str {
    match f {
        StatementFormat::Csv => "csv",
        StatementFormat::Json => "json",
    }
}

/// Progress on stderr: a bar on a terminal, a plain line a second otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    last_line: Mutex<Instant>,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            bar: crate::progress::rows_bar(0),
            last_line: Mutex::new(Instant::now()),
        }
    }

    fn show(&self, done: u64, total: u64) {
        match &self.bar {
            Some(bar) => {
                bar.set_length(total);
                bar.set_position(done);
            }
            None => {
                let Ok(mut last) = self.last_line.lock() else {
                    return;
                };
                if last.elapsed() >= Duration::from_secs(1) || (total > 0 && done == total) {
                    *last = Instant::now();
                    eprintln!("statement: {done}/{total} rows applied");
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

pub async fn run(store: Arc<dyn Store>, options: Options) -> anyhow::Result<()> {
    let started = Instant::now();
    let seller = store
        .find_seller(&options.seller)
        .await
        .with_context(|| format!("seller {}", options.seller))?;
    let scope = Scope::seller(&seller.operator_id, &seller.id);
    let channel = options.channel.trim().to_string();
    if channel.is_empty() {
        anyhow::bail!("--channel must name the statement's channel");
    }
    std::fs::metadata(&options.file)
        .with_context(|| format!("reading {}", options.file.display()))?;
    let format = match options.format {
        Some(f) => f,
        None => detect(&options.file)?,
    };
    let source = FileStatement {
        path: options.file.clone(),
        format,
    };
    if options.dry_run {
        let checked = tokio::task::spawn_blocking(move || check_statement(&source)).await?;
        let s = match checked {
            Ok(s) => s,
            Err(AppError::Invalid(e)) => {
                anyhow::bail!("{} is not a statement: {e}", options.file.display())
            }
            Err(e) => return Err(anyhow::anyhow!("the statement was not checked: {e}")),
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "seller": seller.id,
                "channel": channel,
                "file": options.file.display().to_string(),
                "format": format_word(format),
                "dryRun": true,
                "period": {"init": s.init.to_rfc3339_utc(), "end": s.end.to_rfc3339_utc()},
                "rows": s.rows,
                "refused": s.refused,
                "firstRefused": refused_json(&s.kept),
                "digest": s.digest,
                "elapsedSeconds": started.elapsed().as_secs_f64(),
            }))?
        );
        return Ok(());
    }
    let app = App::with_system_clock(store.clone());
    let progress = Progress::new();
    let loaded = app
        .load_statement(&scope, &channel, &source, &|done, total| {
            progress.show(done, total)
        })
        .await;
    progress.finish();
    let summary = match loaded {
        Ok(s) => s,
        Err(AppError::Invalid(e)) => {
            anyhow::bail!("{} is not a statement: {e}", options.file.display())
        }
        Err(AppError::Conflict(m)) => anyhow::bail!("the statement was refused: {m}"),
        Err(e) => return Err(anyhow::anyhow!("the statement was not loaded: {e}")),
    };
    let c = &summary.conciliation;
    let refused = refused_json(&summary.refused);
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "seller": seller.id,
            "channel": channel,
            "file": options.file.display().to_string(),
            "format": format_word(format),
            "conciliation": c.id,
            "period": {
                "init": c.init_date.to_rfc3339_utc(),
                "end": c.end_date.to_rfc3339_utc(),
                "close": c.close_date.map(|t| t.to_rfc3339_utc()),
            },
            "rows": c.rows,
            "situations": {
                "CONCILIED": c.concilied,
                "DIVERGENT": c.divergent,
                "partial": c.partial,
            },
            "refused": c.refused,
            "firstRefused": refused,
            "unchanged": summary.unchanged,
            "elapsedSeconds": started.elapsed().as_secs_f64(),
        }))?
    );
    Ok(())
}

/// Refused rows as the summary lists them.
fn refused_json(rows: &[RefusedRow]) -> Vec<serde_json::Value> {
    rows.iter()
        .map(|r| serde_json::json!({"row": r.row, "field": r.error.field, "reason": r.error.message}))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_extension_then_content() {
        let dir = std::env::temp_dir().join(format!("recon-detect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let json = dir.join("extrato.txt");
        std::fs::write(&json, b" [{\"orderCode\": \"1\"}]").unwrap();
        let csv = dir.join("extrato");
        std::fs::write(&csv, b"orderCode,type\n").unwrap();
        assert_eq!(detect(&json).unwrap(), StatementFormat::Json);
        assert_eq!(detect(&csv).unwrap(), StatementFormat::Csv);
        assert_eq!(
            detect(std::path::Path::new("/nowhere/x.csv")).unwrap(),
            StatementFormat::Csv
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
