//! The progress bar the long-running commands (`catalog import`, `recon load`) draw
//! on stderr when it is a terminal; elsewhere they print a line a second instead,
//! which logs and pipes keep readable.

use std::io::IsTerminal;

/// A bar of `len` rows on stderr, or `None` when stderr is not a terminal.
pub fn rows_bar(len: u64) -> Option<indicatif::ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(len);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} rows ({eta} left) {msg}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    })
}
